//! From the merged YAML tree to the [`Project`] model.
//!
//! Every key is checked against the Compose Specification: keys rcompose acts
//! on are converted (short forms expanded, paths resolved, env files read),
//! keys the specification has but rcompose does not act on yet give a
//! warning, and anything else is an error with a "did you mean" hint. Errors
//! are collected, not returned on the first one, so a user sees them together.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::dotenv;
use super::model::*;
use super::syntax;
use super::yaml::{Key, Node, Value};
use crate::diag::{Diagnostic, Location, did_you_mean};

mod build;
mod deploy;
mod env;
mod mounts;
mod ports;
mod scalars;
mod service;
mod top_level;

/// Where keys were written, by key path, for checks made after conversion.
pub type Spans = HashMap<String, Location>;

pub struct Converter<'a> {
    pub diags: Vec<Diagnostic>,
    pub spans: Spans,
    /// The project directory: relative paths resolve against it.
    pub base: PathBuf,
    /// Variables for `KEY` alone in `environment` and `env_file`.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub home: Option<String>,
    pub project_name: String,
    /// See [`super::LoadOptions::print_only`].
    pub print_only: bool,
    /// Converting a project merged part way, to report what is wrong in a
    /// value itself (see `Converter::project_error`).
    pub partial: bool,
}

/// Where item `i` of a list is, or the value itself when it was a single one.
fn item_loc(n: &Node, i: usize) -> &Location {
    match &n.value {
        Value::Seq(items) => items.get(i).map_or(&n.loc, |item| &item.loc),
        _ => &n.loc,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

impl<'a> Converter<'a> {
    pub(super) fn error(&mut self, loc: &Location, path: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(Some(loc.clone()), path, msg));
    }

    pub(super) fn error_hint(
        &mut self,
        loc: &Location,
        path: &str,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.diags.push(Diagnostic::error(Some(loc.clone()), path, msg).with_hint(hint));
    }

    pub(super) fn warn(&mut self, loc: &Location, path: &str, msg: impl Into<String>) {
        if !self.partial {
            self.diags.push(Diagnostic::warning(Some(loc.clone()), path, msg));
        }
    }

    /// An error that only the whole project can show: a file that is not
    /// there, settings that disagree. docker compose validates the project
    /// after each file merges, but checks these once, at the end, where a
    /// later file may have set things right.
    pub(super) fn project_error(
        &mut self,
        loc: &Location,
        path: &str,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        if !self.partial {
            self.error_hint(loc, path, msg, hint);
        }
    }

    /// Refused where it would be built; only a warning for `config`.
    pub(super) fn build_path_missing(
        &mut self,
        loc: &Location,
        path: &str,
        msg: String,
        hint: &str,
    ) {
        if self.print_only {
            self.warn(loc, path, format!("{msg}; building it will fail"));
        } else {
            self.project_error(loc, path, msg, hint);
        }
    }

    pub(super) fn expected(&mut self, n: &Node, path: &str, what: &str) {
        self.error(&n.loc, path, format!("expected {what}, found {}", n.kind_name()));
    }

    pub(super) fn map<'n>(&mut self, n: &'n Node, path: &str) -> Option<&'n [(Key, Node)]> {
        match &n.value {
            Value::Map(m) => Some(m),
            _ => {
                self.expected(n, path, "a mapping");
                None
            }
        }
    }

    /// Checks the keys of a mapping: known keys pass, specification keys that
    /// rcompose ignores warn, anything else is an error.
    pub(super) fn check_keys(
        &mut self,
        entries: &[(Key, Node)],
        path: &str,
        known: &[&str],
        spec_only: &[&str],
    ) {
        for (k, v) in entries {
            let kp = join(path, &k.name);
            if known.contains(&k.name.as_str()) || k.name.starts_with("x-") {
                continue;
            }
            if spec_only.contains(&k.name.as_str()) {
                let msg = if path.split('.').any(|p| p == "deploy") {
                    format!(
                        "`{}` is for a swarm: `rcompose stack deploy` acts on it, containers run by `up` do not (as with docker compose)",
                        k.name
                    )
                } else {
                    format!(
                        "`{}` is part of the Compose Specification, but rcompose does not act on it yet; it is ignored",
                        k.name
                    )
                };
                self.warn(&k.loc, &kp, msg);
                self.spec_only_shape(k, v, &kp);
                continue;
            }
            let msg = format!("unknown key `{}`", k.name);
            match did_you_mean(&k.name, known.iter().copied()) {
                Some(s) => self.error_hint(&k.loc, &kp, msg, format!("did you mean `{s}`?")),
                None => self.error_hint(
                    &k.loc,
                    &kp,
                    msg,
                    format!("valid keys here: {}", known.join(", ")),
                ),
            }
        }
    }

    /// Holds a key rcompose ignores to the shape docker compose's schema
    /// gives it: ignoring a key is no reason to take what docker compose refuses.
    pub(super) fn spec_only_shape(&mut self, k: &Key, v: &Node, kp: &str) {
        if let Some(check) = Self::spec_only_check(&k.name)
            && !self.refuse_null(k, v, kp)
        {
            check(self, v, kp);
        }
    }

    /// The schema check for a key rcompose ignores, by name; `None` where the
    /// schema takes anything, null included.
    pub(super) fn spec_only_check(name: &str) -> Option<fn(&mut Self, &Node, &str)> {
        let check: fn(&mut Self, &Node, &str) = match name {
            "isolation" | "mode" | "endpoint_mode" | "mac_address" | "interface_name" => {
                |c, v, kp| drop(c.text(v, kp))
            }
            "delay" | "window" => |c, v, kp| {
                c.text(v, kp).and_then(|_| c.duration(v, kp));
            },
            "update_config" | "rollback_config" => Self::update_config,
            // A reservation of devices is written as `gpus` is.
            "devices" => |c, v, kp| drop(c.gpus(v, kp)),
            "generic_resources" => Self::generic_resources,
            "privileged" | "use_api_socket" | "enable_ipv4" => |c, v, kp| {
                c.bool(v, kp);
            },
            // `true`, or BuildKit's attestation options as text.
            "provenance" | "sbom" => |c, v, kp| {
                if !matches!(v.value, Value::Bool(_) | Value::Str(_)) {
                    c.expected(v, kp, "a boolean or a string")
                }
            },
            "cache_to" | "entitlements" => |c, v, kp| drop(c.strings(v, kp, false)),
            "extra_hosts" => |c, v, kp| drop(c.extra_hosts(v, kp)),
            "ulimits" => |c, v, kp| drop(c.ulimits(v, kp)),
            "credential_spec" => |c, v, kp| {
                if let Some(entries) = c.map(v, kp) {
                    c.check_keys(entries, kp, &["config", "file", "registry"], &[]);
                    for (ek, ev) in entries.iter().filter(|(ek, _)| !ek.name.starts_with("x-")) {
                        drop(c.text(ev, &join(kp, &ek.name)));
                    }
                }
            },
            // A build context by name: `name=path` in a list, or a mapping of paths.
            "additional_contexts" => |c, v, kp| match v.as_map() {
                Some(_) => drop(c.text_map(v, kp)),
                None => c.named_items(
                    v,
                    kp,
                    |s| s.contains('='),
                    "build context",
                    "write it as NAME=PATH",
                ),
            },
            // `default`, or `ID=PATH` to a key or socket.
            "ssh" => |c, v, kp| match v.as_map() {
                Some(_) => drop(c.key_values(v, kp)),
                None => c.named_items(
                    v,
                    kp,
                    |s| s == "default" || s.contains('='),
                    "ssh key",
                    "write `default`, or ID=PATH",
                ),
            },
            _ => return None,
        };
        Some(check)
    }
}

fn external_flag(
    c: &mut Converter<'_>,
    v: &Node,
    kp: &str,
    explicit_name: &mut Option<String>,
    only_name: bool,
) -> bool {
    // The obsolete form `external: {name: x}` still works in compose; its schema
    // holds a network's or a volume's to `name`, a secret's or a config's to nothing.
    if let Value::Map(entries) = &v.value {
        if only_name {
            c.check_keys(entries, kp, &["name"], &[]);
        }
        if let Some(n) = v.get("name") {
            *explicit_name = c.string(n, &join(kp, "name"));
        }
        return true;
    }
    c.bool(v, kp).unwrap_or(false)
}

/// Removes earlier entries whose key a later entry repeats, keeping the later one
/// in the earlier one's place, as compose does after merging files.
/// Duplicates (by key) collapse into the first one's place, with the last
/// one's value. Linear: a port range can expand to thousands of entries.
fn dedup_keep_last<T, K: std::hash::Hash + Eq>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut first: HashMap<K, usize> = HashMap::new();
    let mut out: Vec<Option<T>> = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        match first.entry(key(&item)) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = Some(item),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(Some(item));
            }
        }
    }
    items.extend(out.into_iter().flatten());
}

/// The keys a compose file may have at its top level, besides `x-` extensions.
pub const TOP_LEVEL_KEYS: [&str; 9] = [
    "name", "services", "networks", "volumes", "secrets", "configs", "include", "version", "models",
];

/// The error for a top-level key the Compose Specification does not have.
pub fn unknown_top_level(name: &str, loc: &Location) -> crate::diag::Diagnostic {
    let hint = did_you_mean(
        name,
        TOP_LEVEL_KEYS.iter().copied().filter(|k| *k != "version" && *k != "models"),
    )
    .map(|s| format!("did you mean `{s}`?"))
    .unwrap_or_else(|| "extension keys must start with `x-`".into());
    crate::diag::Diagnostic::error(
        Some(loc.clone()),
        name,
        format!("unknown top-level key `{name}`"),
    )
    .with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_later_in_place() {
        let mut v = vec![("a", 1), ("b", 2), ("a", 3)];
        dedup_keep_last(&mut v, |x| x.0);
        assert_eq!(v, vec![("a", 3), ("b", 2)]);
        let mut v = vec![("a", 1), ("b", 2), ("a", 3), ("c", 4), ("a", 5), ("b", 6)];
        dedup_keep_last(&mut v, |x| x.0);
        assert_eq!(v, vec![("a", 5), ("b", 6), ("c", 4)]);
    }

    #[test]
    fn dedup_asks_each_key_once() {
        // Found by fuzzing: "900-9011/udp" expands to 8,112 ports, and a
        // pairwise comparison formatted keys 66 million times.
        let calls = std::cell::Cell::new(0usize);
        let mut v: Vec<u32> = (0..10_000).chain(0..10).collect();
        dedup_keep_last(&mut v, |x| {
            calls.set(calls.get() + 1);
            *x
        });
        assert_eq!(v.len(), 10_000);
        assert_eq!(calls.get(), 10_010);
    }
}
