//! The official nginx image's templates: each `*.template` under
//! `NGINX_ENVSUBST_TEMPLATE_DIR` (default `/etc/nginx/templates`) rendered
//! into `NGINX_ENVSUBST_OUTPUT_DIR` (default `/etc/nginx/conf.d`) with its
//! suffix removed, as the image's `20-envsubst-on-templates.sh` does:
//! `$NAME` and `${NAME}` replaced for the variables the container's
//! environment defines (those matching `NGINX_ENVSUBST_FILTER`, when set),
//! everything else left as written, nginx's own variables included.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compose::model::Service;

/// Where the image reads templates from and writes them to, in the container.
pub struct Dirs {
    pub templates: String,
    pub output: String,
    suffix: String,
    filter: Option<regex::Regex>,
}

impl Dirs {
    pub fn of(service: &Service) -> Dirs {
        let env = |k: &str| service.environment.get(k).cloned().flatten();
        Dirs {
            templates: env("NGINX_ENVSUBST_TEMPLATE_DIR")
                .unwrap_or_else(|| "/etc/nginx/templates".into()),
            output: env("NGINX_ENVSUBST_OUTPUT_DIR").unwrap_or_else(|| "/etc/nginx/conf.d".into()),
            suffix: env("NGINX_ENVSUBST_TEMPLATE_SUFFIX").unwrap_or_else(|| ".template".into()),
            filter: env("NGINX_ENVSUBST_FILTER").and_then(|f| regex::Regex::new(&f).ok()),
        }
    }
}

/// Renders the templates found in `host_templates` into `out` (made
/// afresh); the number rendered.
pub fn render(
    service: &Service,
    dirs: &Dirs,
    host_templates: &Path,
    out: &Path,
) -> Result<usize, String> {
    // The variables the container defines: the service's, and the image's own.
    let mut defined: BTreeMap<String, String> = [
        ("NGINX_VERSION", "1.22.1"),
        ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        ("HOME", "/root"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in &service.environment {
        if let Some(v) = v {
            defined.insert(k.clone(), v.clone());
        }
    }
    if let Some(f) = &dirs.filter {
        defined.retain(|k, _| f.is_match(k));
    }
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut n = 0;
    let mut stack = vec![host_templates.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.to_string_lossy();
            let Some(stem) = name.strip_suffix(dirs.suffix.as_str()) else { continue };
            let rel = Path::new(stem).strip_prefix(host_templates).map_err(|e| e.to_string())?;
            let target: PathBuf = out.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            std::fs::write(&target, envsubst(&text, &defined))
                .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// GNU envsubst with a list of variables: `$NAME` and `${NAME}` of the
/// listed names replaced, anything else kept byte for byte.
pub fn envsubst(text: &str, defined: &BTreeMap<String, String>) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let name_at = |j: usize| {
        let start = j;
        let mut k = j;
        while k < b.len() && (b[k] == b'_' || b[k].is_ascii_alphanumeric()) {
            if k == start && b[k].is_ascii_digit() {
                break;
            }
            k += 1;
        }
        k
    };
    while i < b.len() {
        if b[i] == b'$' {
            let braced = b.get(i + 1) == Some(&b'{');
            let start = if braced { i + 2 } else { i + 1 };
            let end = name_at(start);
            let closed = !braced || b.get(end) == Some(&b'}');
            if end > start
                && closed
                && let Some(v) = defined.get(&text[start..end])
            {
                out.push_str(v);
                i = if braced { end + 1 } else { end };
                continue;
            }
        }
        let ch = text[i..].chars().next().unwrap_or_default();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_defined_variables_are_replaced() {
        let defined: BTreeMap<String, String> = [("API_HOST", "api"), ("PORT", "8000")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let t = "proxy_pass http://${API_HOST}:$PORT; set $x $uri; ${NOPE} $PORTS ${PORT";
        assert_eq!(
            envsubst(t, &defined),
            "proxy_pass http://api:8000; set $x $uri; ${NOPE} $PORTS ${PORT"
        );
    }
}
