//! Kubernetes names from compose names: objects are DNS labels, data keys
//! a narrower alphabet. Compose allows `_`, `.` and capitals; Kubernetes
//! does not, so names are folded and clashes are refused, never merged.

use std::collections::BTreeMap;

/// The longest DNS-1035 label Kubernetes accepts (Service names and the like).
const MAX_LABEL: usize = 63;

/// A DNS-1035 label: lowercase letters, digits and `-`, starting with a
/// letter and ending alphanumeric, at most 63 characters. A name too long
/// keeps its start and gets a hash of the whole, so two long names sharing
/// a start stay apart.
pub(super) fn label(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_end_matches('-').to_string();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "x-");
    }
    if out.len() > MAX_LABEL {
        let hash = format!("{:08x}", fnv1a(text));
        out.truncate(MAX_LABEL - hash.len() - 1);
        out = format!("{}-{hash}", out.trim_end_matches('-'));
    }
    out.trim_end_matches('-').to_string()
}

/// A name made of a service's name and a suffix (`web-published`), still a label.
pub(super) fn joined(base: &str, suffix: &str) -> String {
    label(&format!("{base}-{suffix}"))
}

/// A ConfigMap or Secret key: letters, digits, `-`, `_` and `.`.
pub(super) fn data_key(text: &str) -> String {
    let key: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    match key.as_str() {
        "" | "." | ".." => format!("_{key}"),
        _ => key,
    }
}

/// A container port's name: at most 15 characters, with a letter.
pub(super) fn port_name(protocol: &str, port: u16) -> String {
    format!("{}-{port}", protocol.to_ascii_lowercase())
}

/// Names handed out for one kind of object: the same compose name always
/// gets the same label, and two compose names never share one.
#[derive(Default)]
pub(super) struct Registry {
    given: BTreeMap<String, String>,
    by_label: BTreeMap<String, String>,
}

impl Registry {
    /// The label for `name`; a clash with another name is an error that names both.
    pub(super) fn claim(&mut self, what: &str, name: &str) -> Result<String, String> {
        if let Some(l) = self.given.get(name) {
            return Ok(l.clone());
        }
        let l = label(name);
        if let Some(other) = self.by_label.get(&l) {
            return Err(format!(
                "{what}s {other:?} and {name:?} would both be named {l:?} in Kubernetes, which allows only lowercase letters, digits and '-'\n  hint: rename one of them"
            ));
        }
        self.by_label.insert(l.clone(), name.to_string());
        self.given.insert(name.to_string(), l.clone());
        Ok(l)
    }

    /// The label for `name` if no other name has it.
    pub(super) fn try_claim(&mut self, name: &str) -> Option<String> {
        self.claim("name", name).ok()
    }

    /// A fresh label from `wanted`, numbered when taken (for objects rcompose makes up).
    pub(super) fn fresh(&mut self, wanted: &str) -> String {
        let base = label(wanted);
        let mut l = base.clone();
        let mut n = 2;
        while self.by_label.contains_key(&l) {
            l = joined(&base, &n.to_string());
            n += 1;
        }
        self.by_label.insert(l.clone(), wanted.to_string());
        l
    }
}

fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fold_what_kubernetes_refuses() {
        assert_eq!(label("web"), "web");
        assert_eq!(label("Web_App.v2"), "web-app-v2");
        assert_eq!(label("__x__"), "x");
        assert_eq!(label("1st"), "x-1st");
        assert_eq!(label(""), "x");
        let long = "a".repeat(80);
        let l = label(&long);
        assert_eq!(l.len(), 63);
        assert_ne!(l, label(&"a".repeat(81)));
    }

    #[test]
    fn keys_and_ports() {
        assert_eq!(data_key("nginx.conf"), "nginx.conf");
        assert_eq!(data_key("assets/app js"), "assets_app_js");
        assert_eq!(data_key(".."), "_..");
        assert_eq!(port_name("tcp", 65535), "tcp-65535");
    }

    #[test]
    fn clashes_are_refused_and_fresh_names_numbered() {
        let mut r = Registry::default();
        assert_eq!(r.claim("service", "web_app").unwrap(), "web-app");
        assert_eq!(r.claim("service", "web_app").unwrap(), "web-app");
        let e = r.claim("service", "web-app").unwrap_err();
        assert!(e.contains("\"web_app\" and \"web-app\""), "{e}");
        assert_eq!(r.fresh("web-app"), "web-app-2");
        assert_eq!(r.fresh("web-app"), "web-app-3");
    }
}
