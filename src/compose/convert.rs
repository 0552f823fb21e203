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

/// Keys of a service that rcompose acts on.
const SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// Service keys whose value docker compose's schema refuses to be null
/// (`ports:` with nothing after it).
const SERVICE_NOT_NULL: &[&str] = &[
    "annotations",
    "cap_add",
    "cap_drop",
    "configs",
    "depends_on",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "env_file",
    "environment",
    "expose",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "label_file",
    "labels",
    "links",
    "ports",
    "post_start",
    "pre_stop",
    "profiles",
    "secrets",
    "security_opt",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "volumes",
    "volumes_from",
];

/// Keys of a `post_start` or `pre_stop` hook.
const HOOK_KEYS: &[&str] = &["command", "user", "privileged", "working_dir", "environment"];
/// Keys of a service in the Compose Specification that rcompose does not act on yet.
const SERVICE_SPEC_ONLY: &[&str] = &["credential_spec", "isolation", "models", "provider", "use_api_socket"];

const BUILD_KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "dockerfile_inline",
    "args",
    "target",
    "labels",
    "cache_from",
    "no_cache",
    "pull",
    "network",
    "shm_size",
    "tags",
    "platforms",
];
/// Build keys whose value docker compose's schema refuses to be null.
const BUILD_NOT_NULL: &[&str] = &["args", "labels", "cache_from", "tags", "platforms", "secrets"];
/// What only BuildKit does: the engine's classic build API has no place for it.
const BUILD_SPEC_ONLY: &[&str] = &[
    "additional_contexts",
    "cache_to",
    "entitlements",
    "extra_hosts",
    "isolation",
    "privileged",
    "provenance",
    "sbom",
    "secrets",
    "ssh",
    "ulimits",
];

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
    /// value itself (see [`Converter::project_error`]).
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
    fn error(&mut self, loc: &Location, path: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(Some(loc.clone()), path, msg));
    }

    fn error_hint(&mut self, loc: &Location, path: &str, msg: impl Into<String>, hint: impl Into<String>) {
        self.diags.push(Diagnostic::error(Some(loc.clone()), path, msg).with_hint(hint));
    }

    fn warn(&mut self, loc: &Location, path: &str, msg: impl Into<String>) {
        if !self.partial {
            self.diags.push(Diagnostic::warning(Some(loc.clone()), path, msg));
        }
    }

    /// An error that only the whole project can show: a file that is not
    /// there, settings that disagree. docker compose validates the project
    /// after each file merges, but checks these once, at the end, where a
    /// later file may have set things right.
    fn project_error(&mut self, loc: &Location, path: &str, msg: impl Into<String>, hint: impl Into<String>) {
        if !self.partial {
            self.error_hint(loc, path, msg, hint);
        }
    }

    /// Refused where it would be built; only a warning for `config`.
    fn build_path_missing(&mut self, loc: &Location, path: &str, msg: String, hint: &str) {
        if self.print_only {
            self.warn(loc, path, format!("{msg}; building it will fail"));
        } else {
            self.project_error(loc, path, msg, hint);
        }
    }

    fn expected(&mut self, n: &Node, path: &str, what: &str) {
        self.error(&n.loc, path, format!("expected {what}, found {}", n.kind_name()));
    }

    fn map<'n>(&mut self, n: &'n Node, path: &str) -> Option<&'n [(Key, Node)]> {
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
    fn check_keys(&mut self, entries: &[(Key, Node)], path: &str, known: &[&str], spec_only: &[&str]) {
        for (k, v) in entries {
            let kp = join(path, &k.name);
            if known.contains(&k.name.as_str()) || k.name.starts_with("x-") {
                continue;
            }
            if spec_only.contains(&k.name.as_str()) {
                self.warn(
                    &k.loc,
                    &kp,
                    format!("`{}` is part of the Compose Specification, but rcompose does not act on it yet; it is ignored", k.name),
                );
                self.spec_only_shape(k, v, &kp);
                continue;
            }
            let msg = format!("unknown key `{}`", k.name);
            match did_you_mean(&k.name, known.iter().copied()) {
                Some(s) => self.error_hint(&k.loc, &kp, msg, format!("did you mean `{s}`?")),
                None => self.error_hint(&k.loc, &kp, msg, format!("valid keys here: {}", known.join(", "))),
            }
        }
    }

    /// Holds a key rcompose ignores to the shape docker compose's schema
    /// gives it: ignoring a key is no reason to take what docker compose refuses.
    fn spec_only_shape(&mut self, k: &Key, v: &Node, kp: &str) {
        if let Some(check) = Self::spec_only_check(&k.name)
            && !self.refuse_null(k, v, kp)
        {
            check(self, v, kp);
        }
    }

    /// The schema check for a key rcompose ignores, by name; `None` where the
    /// schema takes anything, null included.
    fn spec_only_check(name: &str) -> Option<fn(&mut Self, &Node, &str)> {
        let check: fn(&mut Self, &Node, &str) = match name {
            "isolation" | "mode" | "endpoint_mode" | "mac_address" | "interface_name" => |c, v, kp| drop(c.text(v, kp)),
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
                None => c.named_items(v, kp, |s| s.contains('='), "build context", "write it as NAME=PATH"),
            },
            // `default`, or `ID=PATH` to a key or socket.
            "ssh" => |c, v, kp| match v.as_map() {
                Some(_) => drop(c.key_values(v, kp)),
                None => c.named_items(v, kp, |s| s == "default" || s.contains('='), "ssh key", "write `default`, or ID=PATH"),
            },
            _ => return None,
        };
        Some(check)
    }

    /// `deploy.resources.reservations.generic_resources`: for a swarm, checked only.
    fn generic_resources(&mut self, v: &Node, kp: &str) {
        self.each_map(v, kp, "a list of resources", &["discrete_resource_spec"], |this, ip, fields, _| {
            for (fk, fv) in fields {
                let fp = join(ip, &fk.name);
                let Some(spec) = this.map(fv, &fp) else { continue };
                this.check_keys(spec, &fp, &["kind", "value"], &[]);
                for (sk, sv) in spec {
                    let sp = join(&fp, &sk.name);
                    match sk.name.as_str() {
                        "kind" => drop(this.text(sv, &sp)),
                        "value" => drop(this.int(sv, &sp, 0, i64::MAX)),
                        _ => {}
                    }
                }
            }
        });
    }

    /// `deploy.update_config` or `rollback_config`: for a swarm, checked only.
    fn update_config(&mut self, n: &Node, path: &str) {
        let Some(entries) = self.map(n, path) else { return };
        self.check_keys(entries, path, &["parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"], &[]);
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "parallelism" => drop(self.uint(v, &kp)),
                "delay" | "monitor" => drop(self.text(v, &kp).and_then(|_| self.duration(v, &kp))),
                "failure_action" => drop(self.text(v, &kp)),
                "max_failure_ratio" => match &v.value {
                    Value::Int(_) | Value::Float(..) => {}
                    Value::Str(r) if r.trim().parse::<f64>().is_ok() => {}
                    _ => self.expected(v, &kp, "a number"),
                },
                "order" => match self.text(v, &kp) {
                    Some(o) if o == "start-first" || o == "stop-first" => {}
                    Some(o) => self.error_hint(&v.loc, &kp, format!("invalid order {o:?}"), "use start-first or stop-first"),
                    None => {}
                },
                _ => {}
            }
        }
    }

    /// A list of strings, each of which `ok` must take.
    fn named_items(&mut self, n: &Node, path: &str, ok: fn(&str) -> bool, what: &str, hint: &str) {
        let Some(items) = self.list(n, path, "a mapping or a list of strings") else { return };
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            if let Some(text) = self.text(item, &ip).filter(|t| !ok(t)) {
                self.error_hint(&item.loc, &ip, format!("invalid {what} {text:?}"), hint);
            }
        }
    }

    fn string(&mut self, n: &Node, path: &str) -> Option<String> {
        match &n.value {
            Value::Str(_) | Value::Int(_) | Value::Float(..) | Value::Bool(_) => n.scalar_text(),
            _ => {
                self.expected(n, path, "a string");
                None
            }
        }
    }

    /// A value the Compose Specification's schema types as a string only:
    /// docker compose refuses a number or a boolean there (`hostname: 42`),
    /// so rcompose does too, where `string` would take its text.
    fn text(&mut self, n: &Node, path: &str) -> Option<String> {
        match &n.value {
            Value::Str(_) => n.scalar_text(),
            Value::Int(_) | Value::Float(..) | Value::Bool(_) => {
                let found = n.scalar_text().unwrap_or_default();
                self.error_hint(&n.loc, path, format!("expected a string, found {}", n.kind_name()), format!("quote it: \"{found}\""));
                None
            }
            _ => {
                self.expected(n, path, "a string");
                None
            }
        }
    }

    /// `text` where `""` is no setting (see `set_string`).
    fn set_text(&mut self, n: &Node, path: &str) -> Option<String> {
        self.text(n, path).filter(|s| !s.is_empty())
    }

    /// A key written with no value where docker compose wants one (its schema
    /// takes null only for a few keys: `command`, `deploy`, ...). Reported at
    /// the key, as an empty value's own place is wherever the next token starts.
    fn refuse_null(&mut self, k: &Key, n: &Node, path: &str) -> bool {
        if !n.is_null() {
            return false;
        }
        self.error_hint(&k.loc, path, format!("`{}` has no value", k.name), "give it a value, or remove the key");
        true
    }

    /// A string setting where `""` is no setting, as compose-go's `omitempty`
    /// fields have it (`hostname: "${HOST:-}"` leaves the hostname alone).
    fn set_string(&mut self, n: &Node, path: &str) -> Option<String> {
        self.string(n, path).filter(|s| !s.is_empty())
    }

    fn bool(&mut self, n: &Node, path: &str) -> Option<bool> {
        match &n.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if matches!(s.as_str(), "true" | "True" | "TRUE") => Some(true),
            Value::Str(s) if matches!(s.as_str(), "false" | "False" | "FALSE") => Some(false),
            _ => {
                self.expected(n, path, "true or false");
                None
            }
        }
    }

    fn uint(&mut self, n: &Node, path: &str) -> Option<u64> {
        match &n.value {
            Value::Str(s) if s.parse::<u64>().is_ok() => s.parse().ok(),
            _ => self.int(n, path, 0, i64::MAX).map(|i| i as u64),
        }
    }

    /// A number as YAML writes it, where docker compose's schema takes no
    /// string of digits.
    fn number(&mut self, n: &Node, path: &str) -> Option<()> {
        match n.value {
            Value::Int(_) | Value::Float(..) => Some(()),
            _ => {
                self.expected(n, path, "a number");
                None
            }
        }
    }

    /// A whole number within `min..=max`.
    fn int(&mut self, n: &Node, path: &str, min: i64, max: i64) -> Option<i64> {
        let v = match &n.value {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match v {
            Some(i) if (min..=max).contains(&i) => Some(i),
            Some(i) => {
                let range = if max == i64::MAX { format!("{min} or more") } else { format!("from {min} to {max}") };
                self.error_hint(&n.loc, path, format!("{i} is out of range"), format!("use a whole number {range}"));
                None
            }
            _ if max == i64::MAX => {
                self.expected(n, path, &format!("a whole number, {min} or more"));
                None
            }
            _ => {
                self.expected(n, path, &format!("a whole number from {min} to {max}"));
                None
            }
        }
    }

    /// A size such as `512m`, as a decimal count of bytes; `-1` (unlimited) where allowed.
    fn bytes(&mut self, n: &Node, path: &str, unlimited: bool) -> Option<String> {
        let s = self.string(n, path)?;
        if unlimited && s.trim() == "-1" {
            return Some("-1".into());
        }
        match syntax::parse_bytes(&s) {
            Ok(0) => None,
            Ok(b) => Some(b.to_string()),
            Err(e) => {
                self.error(&n.loc, path, e);
                None
            }
        }
    }

    /// A size where docker compose's schema has "integer or string": a
    /// fraction such as `1.5` is refused there, though `mem_limit` takes one.
    fn whole_bytes(&mut self, n: &Node, path: &str) -> Option<String> {
        if matches!(n.value, Value::Float(..)) {
            self.expected(n, path, "a whole number of bytes or a size like 512m");
            return None;
        }
        self.bytes(n, path, false)
    }

    /// `cpus`: a number of CPUs, fractions allowed (`0.5`, `"1.5"`).
    fn cpus(&mut self, n: &Node, path: &str) -> Option<f64> {
        let text = match &n.value {
            Value::Str(_) | Value::Int(_) | Value::Float(..) => n.scalar_text(),
            _ => None,
        };
        match text.and_then(|t| t.trim().parse::<f64>().ok()) {
            Some(f) if f.is_finite() && f >= 0.0 => (f > 0.0).then_some(f),
            _ => {
                self.expected(n, path, "a number of CPUs, like 0.5 or 2");
                None
            }
        }
    }

    /// `network_mode`, `ipc` or `pid`: a mode as written, noting the service
    /// a `service:NAME` mode joins.
    fn joining_mode(&mut self, n: &Node, path: &str, implied: &mut Vec<(String, Location, bool)>) -> Option<String> {
        let mode = self.set_text(n, path)?;
        if let Some(other) = mode.strip_prefix("service:").filter(|o| !o.is_empty()) {
            implied.push((other.to_string(), n.loc.clone(), true));
        }
        Some(mode)
    }

    /// `deploy`: its `resources` and `restart_policy` apply to the container;
    /// the rest is for a swarm.
    fn deploy(&mut self, n: &Node, path: &str) -> Option<Deploy> {
        let entries = self.map(n, path)?;
        const SWARM: &[&str] = &["mode", "labels", "update_config", "rollback_config", "placement", "endpoint_mode"];
        self.check_keys(entries, path, &["resources", "restart_policy", "replicas"], SWARM);
        let mut out = Deploy::default();
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "resources" => out.resources = self.resources(v, &kp),
                "restart_policy" => {
                    out.restart = self.deploy_restart(v, &kp);
                    out.swarm.insert(k.name.clone(), super::yaml::to_json(v));
                }
                "replicas" => {
                    out.replicas = self.int(v, &kp, 0, 10_000).map(|r| r as u32);
                    out.swarm.insert(k.name.clone(), super::yaml::to_json(v));
                }
                "placement" => out.placement = self.placement(v, &kp),
                name if SWARM.contains(&name) => {
                    // Kept as written, but checked as docker compose checks them.
                    if name == "labels" && !self.refuse_null(k, v, &kp) {
                        self.key_values(v, &kp);
                    }
                    out.swarm.insert(k.name.clone(), super::yaml::to_json(v));
                }
                _ => {}
            }
        }
        Some(out)
    }

    /// `deploy.placement`, kept for `config` and the config-hash.
    fn placement(&mut self, n: &Node, path: &str) -> Placement {
        let mut out = Placement::default();
        let Some(entries) = self.map(n, path) else { return out };
        self.check_keys(entries, path, &["constraints", "preferences", "max_replicas_per_node"], &[]);
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "constraints" if !self.refuse_null(k, v, &kp) => out.constraints = self.strings(v, &kp, false),
                "max_replicas_per_node" => out.max_replicas_per_node = self.int(v, &kp, 0, i64::MAX).unwrap_or(0) as u64,
                "preferences" => {
                    let what = "a list of preferences like `{spread: node.labels.zone}`";
                    self.each_map(v, &kp, what, &["spread"], |this, ip, fields, _| {
                        let spread = fields.iter().find(|(k, _)| k.name == "spread").and_then(|(_, v)| this.string(v, &join(ip, "spread")));
                        out.preferences.push(PlacementPreference { spread: spread.unwrap_or_default() });
                    });
                }
                _ => {}
            }
        }
        out
    }

    /// `deploy.resources`: cpus, memory and pids, as limits or reservations.
    fn resources(&mut self, n: &Node, path: &str) -> Resources {
        let mut out = Resources::default();
        let Some(entries) = self.map(n, path) else { return out };
        self.check_keys(entries, path, &["limits", "reservations"], &[]);
        for (k, v) in entries {
            let kp = join(path, &k.name);
            let Some(fields) = self.map(v, &kp) else { continue };
            // Only a limit has `pids`; only a reservation has devices.
            if k.name == "limits" {
                self.check_keys(fields, &kp, &["cpus", "memory", "pids"], &[]);
            } else {
                self.check_keys(fields, &kp, &["cpus", "memory"], &["devices", "generic_resources"]);
            }
            let mut r = Resource::default();
            for (fk, fv) in fields {
                let fp = join(&kp, &fk.name);
                match fk.name.as_str() {
                    "cpus" => r.cpus = self.cpus(fv, &fp),
                    // A string only, where a service's `mem_limit` may be a number.
                    "memory" => r.memory = self.text(fv, &fp).and_then(|_| self.bytes(fv, &fp, false)),
                    "pids" => r.pids = self.int(fv, &fp, -1, i64::MAX),
                    _ => {}
                }
            }
            match k.name.as_str() {
                "limits" => out.limits = Some(r),
                "reservations" => out.reservations = Some(r),
                _ => {}
            }
        }
        out
    }

    /// `deploy.restart_policy`, as the engine's restart policy docker compose
    /// makes of it: `none` is `no`, `any` (the default) is `always`.
    fn deploy_restart(&mut self, n: &Node, path: &str) -> Option<String> {
        let entries = self.map(n, path)?;
        self.check_keys(entries, path, &["condition", "max_attempts"], &["delay", "window"]);
        let (mut condition, mut attempts) = (None, 0);
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "condition" => match self.string(v, &kp) {
                    Some(c) if matches!(c.as_str(), "none" | "on-failure" | "any") => condition = Some(c),
                    Some(c) => self.error_hint(&v.loc, &kp, format!("invalid restart condition {c:?}"), "use none, on-failure or any"),
                    None => {}
                },
                "max_attempts" => attempts = self.uint(v, &kp).unwrap_or(0),
                _ => {}
            }
        }
        Some(match condition.as_deref().unwrap_or("any") {
            "none" => "no".into(),
            "on-failure" if attempts > 0 => format!("on-failure:{attempts}"),
            "on-failure" => "on-failure".into(),
            _ => "always".into(),
        })
    }

    /// `logging`: a driver and its options, each option's value a string.
    fn logging(&mut self, n: &Node, path: &str) -> Option<Logging> {
        let entries = self.map(n, path)?;
        self.check_keys(entries, path, &["driver", "options"], &[]);
        let mut out = Logging::default();
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "driver" => out.driver = self.text(v, &kp),
                "options" => out.options = self.options(v, &kp, true),
                _ => {}
            }
        }
        Some(out)
    }

    /// `devices`: `HOST[:CONTAINER[:PERMISSIONS]]` or `{source, target, permissions}`;
    /// one per target, a later one replacing an earlier one, as docker compose merges them.
    fn devices(&mut self, n: &Node, path: &str) -> Vec<Device> {
        let Some(items) = self.list(n, path, "a list of devices") else { return Vec::new() };
        let mut out: Vec<Device> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            let dev = match &item.value {
                Value::Map(entries) => {
                    self.check_keys(entries, &ip, &["source", "target", "permissions"], &[]);
                    let mut d = Device::default();
                    for (k, v) in entries {
                        let kp = join(&ip, &k.name);
                        let text = self.string(v, &kp).unwrap_or_default();
                        match k.name.as_str() {
                            "source" => d.source = text,
                            "target" => d.target = text,
                            "permissions" => d.permissions = text,
                            _ => {}
                        }
                    }
                    if d.target.is_empty() {
                        d.target = d.source.clone();
                    }
                    if d.permissions.is_empty() {
                        d.permissions = "rwm".into();
                    }
                    d
                }
                _ => {
                    let Some(text) = self.text(item, &ip) else { continue };
                    match syntax::parse_device(&text) {
                        Ok((source, target, permissions)) => Device { source, target, permissions },
                        Err(e) => {
                            self.error_hint(
                                &item.loc,
                                &ip,
                                e,
                                "write HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]], like /dev/ttyUSB0:/dev/ttyUSB0:rwm",
                            );
                            continue;
                        }
                    }
                }
            };
            if dev.source.is_empty() {
                self.error(&item.loc, &ip, "a device needs a source path on the host");
                continue;
            }
            match out.iter_mut().find(|d| d.target == dev.target) {
                Some(d) => *d = dev,
                None => out.push(dev),
            }
        }
        out
    }

    fn duration(&mut self, n: &Node, path: &str) -> Option<std::time::Duration> {
        let s = self.string(n, path)?;
        match syntax::parse_duration(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(&n.loc, path, e);
                None
            }
        }
    }

    /// A list of strings, or (where `single` is true) one string standing for a list of one.
    fn strings(&mut self, n: &Node, path: &str, single: bool) -> Vec<String> {
        match &n.value {
            Value::Seq(items) => items.iter().enumerate().filter_map(|(i, item)| self.text(item, &index(path, i))).collect(),
            Value::Str(_) | Value::Int(_) | Value::Float(..) | Value::Bool(_) if single => self.text(n, path).into_iter().collect(),
            Value::Null => Vec::new(),
            _ => {
                self.expected(n, path, if single { "a string or a list of strings" } else { "a list of strings" });
                Vec::new()
            }
        }
    }

    /// A list of strings or numbers (`expose`, `group_add`), as text.
    fn strings_or_numbers(&mut self, n: &Node, path: &str) -> Vec<String> {
        let Some(items) = self.list(n, path, "a list of strings or numbers") else { return Vec::new() };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match &item.value {
                Value::Str(_) | Value::Int(_) | Value::Float(..) => out.extend(item.scalar_text()),
                _ => self.expected(item, &index(path, i), "a string or a number"),
            }
        }
        out
    }

    /// `command`/`entrypoint`: a string split like a shell would, or a list.
    fn command(&mut self, n: &Node, path: &str) -> Option<Vec<String>> {
        match &n.value {
            Value::Null => None,
            Value::Str(s) => match super::syntax::split_command(s) {
                Ok((words, cut)) => {
                    if let Some(at) = cut {
                        self.warn(
                            &n.loc,
                            path,
                            format!(
                                "`{}` and what follows is dropped, as docker compose drops it: a command string is not run by a shell; write `[\"sh\", \"-c\", ...]` to use one",
                                &s[at..at + 1]
                            ),
                        );
                    }
                    Some(words)
                }
                Err(why) => {
                    self.error_hint(
                        &n.loc,
                        path,
                        format!("invalid command line ({why})"),
                        "close the quote, or write the command as a list",
                    );
                    None
                }
            },
            Value::Seq(_) => Some(self.strings(n, path, false)),
            _ => {
                self.expected(n, path, "a string or a list of strings");
                None
            }
        }
    }

    /// `environment`, `labels`, `build.args`: a mapping or a list of `KEY=VALUE`.
    fn key_values(&mut self, n: &Node, path: &str) -> Vec<(String, Option<String>, Location)> {
        let mut out = Vec::new();
        match &n.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let kp = join(path, &k.name);
                    let value = match &v.value {
                        Value::Null => None,
                        Value::Seq(_) | Value::Map(_) => {
                            self.expected(v, &kp, "a string, number or boolean");
                            continue;
                        }
                        _ => v.scalar_text(),
                    };
                    out.push((k.name.clone(), value, k.loc.clone()));
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let Some(text) = self.text(item, &index(path, i)) else {
                        continue;
                    };
                    match text.split_once('=') {
                        Some((k, v)) => out.push((k.to_string(), Some(v.to_string()), item.loc.clone())),
                        None => out.push((text, None, item.loc.clone())),
                    }
                }
            }
            Value::Null => {}
            _ => self.expected(n, path, "a mapping or a list of KEY=VALUE"),
        }
        out
    }

    fn string_map(&mut self, n: &Node, path: &str) -> BTreeMap<String, String> {
        self.key_values(n, path).into_iter().map(|(k, v, _)| (k, v.unwrap_or_default())).collect()
    }

    /// A mapping whose values are strings only (`aux_addresses`).
    fn text_map(&mut self, n: &Node, path: &str) -> BTreeMap<String, String> {
        let Value::Map(entries) = &n.value else {
            self.expected(n, path, "a mapping");
            return BTreeMap::new();
        };
        entries.iter().filter_map(|(k, v)| Some((k.name.clone(), self.text(v, &join(path, &k.name))?))).collect()
    }

    /// `driver_opts`, `logging.options`, `storage_opt`: a mapping only (no
    /// `KEY=VALUE` list), its values strings or numbers, null where `null_ok`.
    fn options(&mut self, n: &Node, path: &str, null_ok: bool) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Value::Map(entries) = &n.value else {
            self.expected(n, path, "a mapping");
            return out;
        };
        for (k, v) in entries {
            let text = match &v.value {
                Value::Str(_) | Value::Int(_) | Value::Float(..) => v.scalar_text(),
                Value::Null if null_ok => Some(String::new()),
                _ => {
                    self.expected(v, &join(path, &k.name), if null_ok { "a string, a number or null" } else { "a string or a number" });
                    continue;
                }
            };
            out.insert(k.name.clone(), text.unwrap_or_default());
        }
        out
    }

    /// A name the Compose Specification allows for a service, volume, secret
    /// or config: `[a-zA-Z0-9._-]+`, as docker compose's schema checks it.
    /// (Network names are not held to it, by the schema or the engine.)
    fn valid_name(&mut self, k: &Key, section: &str, what: &str) -> bool {
        let ok = !k.name.is_empty() && k.name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            let shown: String = k.name.chars().flat_map(char::escape_debug).collect();
            self.error_hint(
                &k.loc,
                &format!("{section}.{shown}"),
                format!("invalid {what} name \"{shown}\""),
                "names may hold only letters, digits, `.`, `_` and `-` (ASCII)",
            );
        }
        ok
    }

    pub fn project(&mut self, root: &Node) -> Project {
        let mut project = Project {
            name: self.project_name.clone(),
            services: BTreeMap::new(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            secrets: BTreeMap::new(),
            configs: BTreeMap::new(),
            working_dir: self.base.clone(),
            config_files: Vec::new(),
            disabled: BTreeMap::new(),
            extensions: BTreeMap::new(),
        };
        let Some(entries) = self.map(root, "") else {
            return project;
        };
        for (k, v) in entries {
            match k.name.as_str() {
                // Read for the project name before this; a string to the schema all the same.
                "name" => drop(self.text(v, "name")),
                // Obsolete and ignored, but still a string to docker compose's schema.
                "version" => drop(self.text(v, "version")),
                "services" => {
                    let Value::Map(services) = &v.value else {
                        self.error_hint(
                            &v.loc,
                            "services",
                            format!("services must be a mapping, found {}", v.kind_name()),
                            "write each service as `NAME:` followed by its keys, indented",
                        );
                        continue;
                    };
                    for (sk, sv) in services {
                        let path = format!("services.{}", sk.name);
                        self.spans.insert(path.clone(), sk.loc.clone());
                        if !self.valid_name(sk, "services", "service") {
                            continue;
                        }
                        if let Some(svc) = self.service(&sk.name, sv, &path) {
                            project.services.insert(sk.name.clone(), svc);
                        }
                    }
                }
                "networks" => {
                    for (nk, nv) in self.map(v, "networks").unwrap_or_default() {
                        let path = join("networks", &nk.name);
                        let net = self.network(&nk.name, nv, &path);
                        project.networks.insert(nk.name.clone(), net);
                    }
                }
                "volumes" => {
                    for (vk, vv) in self.map(v, "volumes").unwrap_or_default() {
                        if !self.valid_name(vk, "volumes", "volume") {
                            continue;
                        }
                        let path = join("volumes", &vk.name);
                        let vol = self.volume(&vk.name, vv, &path);
                        project.volumes.insert(vk.name.clone(), vol);
                    }
                }
                "secrets" | "configs" => {
                    let secrets = k.name == "secrets";
                    for (fk, fv) in self.map(v, &k.name).unwrap_or_default() {
                        if !self.valid_name(fk, &k.name, if secrets { "secret" } else { "config" }) {
                            continue;
                        }
                        let path = join(&k.name, &fk.name);
                        self.spans.insert(path.clone(), fk.loc.clone());
                        let obj = self.file_object(fk, fv, &path, secrets);
                        if secrets {
                            project.secrets.insert(fk.name.clone(), obj);
                        } else {
                            project.configs.insert(fk.name.clone(), obj);
                        }
                    }
                }
                "models" => {
                    self.warn(
                        &k.loc,
                        &k.name,
                        format!("`{}` is part of the Compose Specification, but rcompose does not act on it yet; it is ignored", k.name),
                    );
                }
                name if name.starts_with("x-") => {
                    project.extensions.insert(name.to_string(), super::yaml::to_json(v));
                }
                name => {
                    let d = unknown_top_level(name, &k.loc);
                    self.diags.push(d);
                }
            }
        }
        if root.get("services").is_none() && root.get("include").is_none() {
            self.project_error(&root.loc, "services", "no services are defined", "add a `services:` mapping with at least one service");
        }
        project
    }

    fn network(&mut self, key: &str, n: &Node, path: &str) -> Network {
        let mut net = Network { name: format!("{}_{key}", self.project_name), ..Default::default() };
        if n.is_null() {
            return net;
        }
        let Some(entries) = self.map(n, path) else {
            return net;
        };
        self.check_keys(
            entries,
            path,
            &["name", "driver", "driver_opts", "ipam", "external", "internal", "attachable", "enable_ipv6", "labels"],
            &["enable_ipv4"],
        );
        let mut explicit_name = None;
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "name" => explicit_name = self.text(v, &kp),
                "driver" => net.driver = self.text(v, &kp),
                "driver_opts" => net.driver_opts = self.options(v, &kp, false),
                "external" => net.external = external_flag(self, v, &kp, &mut explicit_name, true),
                "internal" => net.internal = self.bool(v, &kp).unwrap_or(false),
                "attachable" => net.attachable = self.bool(v, &kp).unwrap_or(false),
                "enable_ipv6" => net.enable_ipv6 = self.bool(v, &kp),
                "labels" if !self.refuse_null(k, v, &kp) => net.labels = self.string_map(v, &kp),
                "ipam" if !self.refuse_null(k, v, &kp) => net.ipam = self.ipam(v, &kp),
                _ => {}
            }
        }
        if let Some(name) = explicit_name {
            net.name = name;
        } else if net.external {
            net.name = key.to_string();
        }
        net
    }

    /// `ipam`: written as given (docker compose checks no address here; the
    /// engine does, when the network is made).
    fn ipam(&mut self, n: &Node, path: &str) -> Ipam {
        let mut ipam = Ipam::default();
        if n.is_null() {
            return ipam;
        }
        let Some(entries) = self.map(n, path) else { return ipam };
        // docker compose 2.40.3 neither prints nor sends `options`: warned, like it.
        self.check_keys(entries, path, &["driver", "config"], &["options"]);
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "driver" => ipam.driver = self.text(v, &kp),
                "config" => {
                    let keys = ["subnet", "ip_range", "gateway", "aux_addresses"];
                    self.each_map(v, &kp, "a list of subnets", &keys, |this, ip, fields, _| {
                        let mut pool = IpamPool::default();
                        for (fk, fv) in fields {
                            let fp = join(ip, &fk.name);
                            match fk.name.as_str() {
                                "subnet" => pool.subnet = this.text(fv, &fp),
                                "ip_range" => pool.ip_range = this.text(fv, &fp),
                                "gateway" => pool.gateway = this.text(fv, &fp),
                                "aux_addresses" => pool.aux_addresses = this.text_map(fv, &fp),
                                _ => {}
                            }
                        }
                        ipam.config.push(pool);
                    });
                }
                _ => {}
            }
        }
        ipam
    }

    fn volume(&mut self, key: &str, n: &Node, path: &str) -> Volume {
        let mut vol = Volume { name: format!("{}_{key}", self.project_name), ..Default::default() };
        if n.is_null() {
            return vol;
        }
        let Some(entries) = self.map(n, path) else {
            return vol;
        };
        self.check_keys(entries, path, &["name", "driver", "driver_opts", "external", "labels"], &[]);
        let mut explicit_name = None;
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "name" => explicit_name = self.text(v, &kp),
                "driver" => vol.driver = self.text(v, &kp),
                "driver_opts" => vol.driver_opts = self.options(v, &kp, false),
                "external" => vol.external = external_flag(self, v, &kp, &mut explicit_name, true),
                "labels" if !self.refuse_null(k, v, &kp) => vol.labels = self.string_map(v, &kp),
                _ => {}
            }
        }
        if let Some(name) = explicit_name {
            vol.name = name;
        } else if vol.external {
            vol.name = key.to_string();
        }
        vol
    }

    /// A top-level secret or config: exactly one of `file`, `environment`,
    /// `content` (configs only) or `external`.
    fn file_object(&mut self, fk: &Key, n: &Node, path: &str, secret: bool) -> FileObject {
        let key = fk.name.as_str();
        let mut obj = FileObject { name: format!("{}_{key}", self.project_name), ..Default::default() };
        let Some(entries) = self.map(n, path) else {
            return obj;
        };
        let mut env_at = n.loc.clone();
        let known: &[&str] = if secret {
            &["name", "file", "environment", "external", "labels"]
        } else {
            &["name", "file", "environment", "content", "external", "labels"]
        };
        self.check_keys(entries, path, known, &["driver", "driver_opts", "template_driver"]);
        let mut explicit_name = None;
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "name" => explicit_name = self.string(v, &kp),
                "file" => obj.file = self.text(v, &kp).map(|f| syntax::resolve_host_path(&f, &self.base, self.home.as_deref())),
                "environment" => {
                    env_at = v.loc.clone();
                    obj.environment = self.string(v, &kp);
                }
                "content" => obj.content = self.text(v, &kp),
                "external" => obj.external = external_flag(self, v, &kp, &mut explicit_name, false),
                _ => {}
            }
        }
        if let Some(name) = explicit_name {
            obj.name = name;
        } else if obj.external {
            obj.name = key.to_string();
        }
        if obj.environment.as_deref() == Some("") {
            self.error_hint(
                &env_at,
                &join(path, "environment"),
                "the variable's name is empty",
                "name the variable that holds the content, like `environment: TOKEN`",
            );
        } else if let Some(var) = &obj.environment {
            obj.env_value = (self.env)(var);
            if obj.env_value.is_none() {
                self.error_hint(
                    &env_at,
                    path,
                    format!("{key:?} comes from variable {var:?}, which is not set"),
                    format!("set {var} in the environment or in .env"),
                );
            }
        }
        let sources = [obj.file.is_some(), obj.environment.is_some(), obj.content.is_some(), obj.external].iter().filter(|s| **s).count();
        if sources != 1 {
            let what = if secret { "file, environment or external" } else { "file, environment, content or external" };
            self.error_hint(&fk.loc, path, format!("{key:?} needs exactly one source"), format!("give one of {what}"));
        }
        obj
    }

    /// A service's `secrets` or `configs`: names, or `{source, target, uid, gid, mode}`.
    fn file_refs(&mut self, n: &Node, path: &str, secret: bool) -> Vec<FileRef> {
        let Some(items) = self.list(n, path, "a list") else { return Vec::new() };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            // Errors about the reference point at its source name.
            let mut at = item.loc.clone();
            let r = match &item.value {
                Value::Map(entries) => {
                    self.check_keys(entries, &ip, &["source", "target", "uid", "gid", "mode"], &[]);
                    let mut r = FileRef::default();
                    for (k, v) in entries {
                        let kp = join(&ip, &k.name);
                        match k.name.as_str() {
                            "source" => {
                                at = v.loc.clone();
                                r.source = self.text(v, &kp).unwrap_or_default();
                            }
                            // A path: a number here makes docker compose 2.40.3 panic.
                            "target" => r.target = self.text(v, &kp),
                            "uid" => r.uid = self.text(v, &kp),
                            "gid" => r.gid = self.text(v, &kp),
                            "mode" => r.mode = self.int(v, &kp, 0, 0o7777).map(|m| m as u32),
                            _ => {}
                        }
                    }
                    r
                }
                // The short form: a secret lands in /run/secrets, as docker compose writes it out.
                _ => match self.text(item, &ip) {
                    Some(source) => {
                        let target = secret.then(|| format!("/run/secrets/{source}"));
                        FileRef { source, target, ..Default::default() }
                    }
                    None => continue,
                },
            };
            if r.source.is_empty() {
                self.error(&item.loc, &ip, "a source is needed: the name of a top-level entry");
                continue;
            }
            self.spans.insert(ip, at);
            out.push(r);
        }
        out
    }

    fn service(&mut self, name: &str, n: &Node, path: &str) -> Option<Service> {
        let mut svc = Service { name: name.to_string(), ..Default::default() };
        if n.is_null() {
            self.error_hint(&n.loc, path, "the service is empty", "give it at least an `image` or a `build`");
            return None;
        }
        let entries = self.map(n, path)?;
        let mut known: Vec<&str> = SERVICE_KEYS.to_vec();
        known.push("x-rcompose");
        self.check_keys(entries, path, &known, SERVICE_SPEC_ONLY);
        let mut env_files: Vec<(String, Option<String>, Location)> = Vec::new();
        let mut label_files: Vec<(String, Option<String>, Location)> = Vec::new();
        let mut environment: Vec<(String, Option<String>, Location)> = Vec::new();
        let mut has_networks_key = false;
        let mut network_mode_loc: Option<Location> = None;
        // Services this one joins, where it says so, and whether a new container of it restarts this one.
        let mut implied: Vec<(String, Location, bool)> = Vec::new();
        for (k, v) in entries {
            let kp = join(path, &k.name);
            self.spans.insert(kp.clone(), k.loc.clone());
            if SERVICE_NOT_NULL.contains(&k.name.as_str()) && self.refuse_null(k, v, &kp) {
                continue;
            }
            match k.name.as_str() {
                // Null is no setting here, as in docker compose.
                "deploy" | "develop" if v.is_null() => {}
                "image" => svc.image = self.set_text(v, &kp),
                "build" => svc.build = self.build(v, &kp),
                "command" => svc.command = self.command(v, &kp),
                "entrypoint" => svc.entrypoint = self.command(v, &kp),
                "container_name" => {
                    if let Some(c) = self.text(v, &kp) {
                        // docker compose's pattern: two characters at least.
                        let valid = c.len() >= 2
                            && c.chars().next().is_some_and(|f| f.is_ascii_alphanumeric())
                            && c.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'));
                        if valid {
                            svc.container_name = Some(c);
                        } else {
                            self.error_hint(
                                &v.loc,
                                &kp,
                                format!("invalid container name {c:?}"),
                                "use two or more letters, digits, `_`, `.` and `-`, starting with a letter or digit",
                            );
                        }
                    }
                }
                "environment" => {
                    environment = self.key_values(v, &kp);
                    // docker compose refuses `KEY =value`: the name would keep the space.
                    for (k, _, at) in environment.iter().filter(|(k, _, _)| k.ends_with(char::is_whitespace)) {
                        self.error_hint(
                            at,
                            &join(&kp, k.trim_end()),
                            format!("the variable name {k:?} ends with a space"),
                            "write KEY=value, with no space before the =",
                        );
                    }
                }
                "env_file" => env_files = self.env_files(v, &kp, "env"),
                "label_file" => {
                    label_files = self.env_files(v, &kp, "label");
                    let files = self.strings(v, &kp, true);
                    svc.label_file = files.iter().map(|f| syntax::resolve_host_path(f, &self.base, self.home.as_deref())).collect();
                }
                "labels" => svc.labels = self.string_map(v, &kp),
                "ports" => svc.ports = self.ports(v, &kp),
                "volumes" => svc.volumes = self.mounts(v, &kp),
                "depends_on" => svc.depends_on = self.depends_on(v, &kp),
                "restart" => {
                    if let Some(r) = self.set_text(v, &kp) {
                        match syntax::check_restart(&r) {
                            Ok(()) => svc.restart = Some(r),
                            Err(e) => self.error_hint(&v.loc, &kp, e, "use no, always, on-failure, on-failure:N or unless-stopped"),
                        }
                    }
                }
                "healthcheck" => svc.healthcheck = self.healthcheck(v, &kp),
                "profiles" => svc.profiles = self.strings(v, &kp, false),
                "networks" => {
                    has_networks_key = true;
                    svc.networks = self.service_networks(v, &kp);
                }
                "working_dir" => svc.working_dir = self.set_text(v, &kp),
                "user" => svc.user = self.set_text(v, &kp),
                "hostname" => svc.hostname = self.set_text(v, &kp),
                "stop_signal" => svc.stop_signal = self.set_text(v, &kp),
                "stop_grace_period" => svc.stop_grace_period = self.duration(v, &kp),
                "tty" => svc.tty = self.bool(v, &kp).unwrap_or(false),
                "stdin_open" => svc.stdin_open = self.bool(v, &kp).unwrap_or(false),
                "privileged" => svc.privileged = self.bool(v, &kp).unwrap_or(false),
                "init" => svc.init = self.bool(v, &kp),
                "expose" => {
                    svc.expose = self.strings_or_numbers(v, &kp);
                    dedup_keep_last(&mut svc.expose, |s| s.clone());
                }
                "extra_hosts" => svc.extra_hosts = self.extra_hosts(v, &kp),
                "cap_add" => svc.cap_add = self.strings(v, &kp, false),
                "cap_drop" => svc.cap_drop = self.strings(v, &kp, false),
                "dns" => svc.dns = self.strings(v, &kp, true),
                "platform" => svc.platform = self.set_text(v, &kp),
                "shm_size" => {
                    if let Some(s) = self.string(v, &kp) {
                        match syntax::parse_bytes(&s) {
                            // compose-go leaves 0 out (omitempty), from config and the hash.
                            Ok(b) => svc.shm_size = (b != 0).then(|| b.to_string()),
                            Err(e) => self.error(&v.loc, &kp, e),
                        }
                    }
                }
                "ulimits" => svc.ulimits = self.ulimits(v, &kp),
                "mem_limit" => svc.mem_limit = self.bytes(v, &kp, false),
                "mem_reservation" => svc.mem_reservation = self.whole_bytes(v, &kp),
                "memswap_limit" => svc.memswap_limit = self.bytes(v, &kp, true),
                "mem_swappiness" => {
                    // Left out at 0, as docker compose leaves it out: the engine's default applies.
                    svc.mem_swappiness = self.int(v, &kp, 0, 100).filter(|n| *n != 0).map(|n| n.to_string());
                }
                "cpus" => svc.cpus = self.cpus(v, &kp),
                "cpu_shares" => svc.cpu_shares = self.int(v, &kp, 0, i64::MAX),
                "cpu_period" => svc.cpu_period = self.int(v, &kp, 0, i64::MAX),
                "cpu_quota" => svc.cpu_quota = self.int(v, &kp, -1, i64::MAX),
                "pids_limit" => svc.pids_limit = self.int(v, &kp, -1, i64::MAX),
                "scale" => svc.scale = self.int(v, &kp, 0, 10_000).map(|r| r as u32),
                "oom_score_adj" => svc.oom_score_adj = self.int(v, &kp, -1000, 1000),
                "oom_kill_disable" => svc.oom_kill_disable = self.bool(v, &kp).unwrap_or(false),
                "read_only" => svc.read_only = self.bool(v, &kp).unwrap_or(false),
                "cpuset" => svc.cpuset = self.set_text(v, &kp),
                "domainname" => svc.domainname = self.set_text(v, &kp),
                "mac_address" => svc.mac_address = self.set_text(v, &kp),
                "cgroup_parent" => svc.cgroup_parent = self.set_text(v, &kp),
                "runtime" => svc.runtime = self.set_text(v, &kp),
                "userns_mode" => svc.userns_mode = self.set_text(v, &kp),
                "uts" => svc.uts = self.set_text(v, &kp),
                "cgroup" => {
                    if let Some(c) = self.string(v, &kp) {
                        if matches!(c.as_str(), "host" | "private") {
                            svc.cgroup = Some(c);
                        } else {
                            self.error_hint(&v.loc, &kp, format!("invalid cgroup mode {c:?}"), "use host or private");
                        }
                    }
                }
                "ipc" => svc.ipc = self.joining_mode(v, &kp, &mut implied),
                "pid" => svc.pid = self.joining_mode(v, &kp, &mut implied),
                "tmpfs" => {
                    svc.tmpfs = self.strings(v, &kp, true);
                    for (i, t) in svc.tmpfs.iter().enumerate() {
                        if !t.starts_with('/') {
                            self.error_hint(
                                item_loc(v, i),
                                &kp,
                                format!("invalid tmpfs mount {t:?}"),
                                "give an absolute path in the container, like /run or /tmp:size=64m",
                            );
                        }
                    }
                }
                "dns_search" => svc.dns_search = self.strings(v, &kp, true),
                "dns_opt" => svc.dns_opt = self.strings(v, &kp, false),
                "security_opt" => svc.security_opt = self.strings(v, &kp, false),
                "group_add" => svc.group_add = self.strings_or_numbers(v, &kp),
                "sysctls" => svc.sysctls = self.string_map(v, &kp),
                "annotations" => svc.annotations = self.string_map(v, &kp),
                "devices" => svc.devices = self.devices(v, &kp),
                "post_start" => svc.post_start = self.hooks(v, &kp),
                "develop" => svc.develop = self.develop(v, &kp),
                "pre_stop" => svc.pre_stop = self.hooks(v, &kp),
                "device_cgroup_rules" => svc.device_cgroup_rules = self.strings(v, &kp, false),
                "attach" => svc.attach = self.bool(v, &kp),
                "storage_opt" => svc.storage_opt = self.options(v, &kp, true),
                "cpu_count" => svc.cpu_count = self.int(v, &kp, 0, i64::MAX),
                "cpu_percent" => svc.cpu_percent = self.int(v, &kp, 0, 100),
                "cpu_rt_period" => svc.cpu_rt_period = self.int(v, &kp, -1, i64::MAX),
                "cpu_rt_runtime" => svc.cpu_rt_runtime = self.int(v, &kp, -1, i64::MAX),
                "blkio_config" => svc.blkio_config = self.blkio(v, &kp),
                "gpus" => svc.gpus = self.gpus(v, &kp),
                "logging" => svc.logging = self.logging(v, &kp),
                "deploy" => svc.deploy = self.deploy(v, &kp),
                "volumes_from" => {
                    svc.volumes_from = self.strings(v, &kp, false);
                    for (i, entry) in svc.volumes_from.iter().enumerate() {
                        let at = item_loc(v, i).clone();
                        let mode = entry.strip_prefix("container:").unwrap_or(entry).split(':').nth(1);
                        if entry.is_empty() || entry == "container:" || mode.is_some_and(|m| !matches!(m, "ro" | "rw")) {
                            self.error_hint(
                                &at,
                                &index(&kp, i),
                                format!("invalid volumes_from entry {entry:?}"),
                                "write SERVICE[:ro|:rw] or container:NAME[:ro|:rw]",
                            );
                        } else if let Some(other) = volumes_from_service(entry) {
                            implied.push((other.to_string(), at, false));
                        }
                    }
                }
                "links" | "external_links" => {
                    let links = self.strings(v, &kp, false);
                    for (i, link) in links.iter().enumerate() {
                        let at = item_loc(v, i).clone();
                        let mut parts = link.split(':');
                        let (target, alias) = (parts.next().unwrap_or_default(), parts.next());
                        if target.is_empty() || alias.is_some_and(str::is_empty) || parts.next().is_some() {
                            let what = if k.name == "links" { "SERVICE" } else { "CONTAINER" };
                            self.error_hint(&at, &index(&kp, i), format!("invalid link {link:?}"), format!("write {what} or {what}:ALIAS"));
                        } else if k.name == "links" {
                            implied.push((target.to_string(), at, true));
                        }
                    }
                    if k.name == "links" { svc.links = links } else { svc.external_links = links }
                }
                "secrets" => svc.secrets = self.file_refs(v, &kp, true),
                "configs" => svc.configs = self.file_refs(v, &kp, false),
                "network_mode" => {
                    network_mode_loc = Some(v.loc.clone());
                    svc.network_mode = self.joining_mode(v, &kp, &mut implied).filter(|m| {
                        let ok = !m.is_empty() && !matches!(m.as_str(), "service:" | "container:");
                        if !ok {
                            self.error_hint(
                                &v.loc,
                                &kp,
                                format!("invalid network_mode {m:?}"),
                                "use host, none, bridge, service:NAME or container:NAME",
                            );
                        }
                        ok
                    });
                }
                "pull_policy" => {
                    if let Some(p) = self.string(v, &kp) {
                        let ok = matches!(p.as_str(), "always" | "never" | "missing" | "build" | "if_not_present" | "daily" | "weekly")
                            || p.strip_prefix("every_").is_some_and(|d| syntax::parse_duration(d).is_ok());
                        if ok {
                            svc.pull_policy = Some(p);
                        } else {
                            self.error_hint(
                                &v.loc,
                                &kp,
                                format!("invalid pull policy {p:?}"),
                                "use always, never, missing, build, daily, weekly or every_<duration>",
                            );
                        }
                    }
                }
                "x-rcompose" => svc.x_rcompose = self.rcompose_ext(v, &kp),
                _ => {}
            }
        }
        // label_file first, then `labels`, which win.
        for (k, v, _) in label_files {
            svc.labels.entry(k).or_insert_with(|| v.unwrap_or_default());
        }
        // env_file first, then `environment`, which wins.
        for (k, v, loc) in env_files.into_iter().chain(environment) {
            let v = v.or_else(|| (self.env)(&k));
            if k.is_empty() {
                self.error(&loc, &join(path, "environment"), "a variable name is empty");
                continue;
            }
            svc.environment.insert(k, v);
        }
        if let (Some(_), Some(at)) = (&svc.network_mode, &network_mode_loc) {
            if has_networks_key {
                self.project_error(
                    at,
                    &join(path, "network_mode"),
                    format!("service {name:?} has both network_mode and networks, which exclude each other"),
                    "keep one of them",
                );
            }
        } else if !has_networks_key {
            svc.networks.insert("default".into(), None);
        }
        // Joining another service's container needs it first, as docker compose
        // adds this dependency too; a new one of it restarts this one, except
        // for volumes_from.
        // volumes_from's first: its dependency is the one kept when both name a service.
        implied.sort_by_key(|(_, _, restart)| *restart);
        for (other, at, restart) in implied {
            self.spans.entry(format!("{}.{other}", join(path, "depends_on"))).or_insert(at);
            svc.depends_on.entry(other).or_insert(Dependency { condition: Condition::ServiceStarted, restart, required: true });
        }
        // The same limit said twice must say the same, as docker compose requires.
        if let Some(res) = svc.deploy.as_ref().map(|d| &d.resources) {
            fn differ<T: PartialEq>(a: &Option<T>, b: Option<&T>) -> bool {
                matches!((a, b), (Some(a), Some(b)) if a != b)
            }
            let (lim, resv) = (res.limits.as_ref(), res.reservations.as_ref());
            let conflicts = [
                ("mem_limit", "deploy.resources.limits.memory", differ(&svc.mem_limit, lim.and_then(|r| r.memory.as_ref()))),
                (
                    "mem_reservation",
                    "deploy.resources.reservations.memory",
                    differ(&svc.mem_reservation, resv.and_then(|r| r.memory.as_ref())),
                ),
                ("pids_limit", "deploy.resources.limits.pids", differ(&svc.pids_limit, lim.and_then(|r| r.pids.as_ref()))),
                ("cpus", "deploy.resources.limits.cpus", differ(&svc.cpus, lim.and_then(|r| r.cpus.as_ref()))),
            ];
            for (own, deployed, _) in conflicts.into_iter().filter(|c| c.2) {
                let kp = join(path, own);
                let at = self.spans.get(&kp).cloned().unwrap_or_else(|| n.loc.clone());
                self.project_error(
                    &at,
                    &kp,
                    format!("`{own}` and `{deployed}` differ"),
                    "set the limit in one place; docker compose refuses distinct values too",
                );
            }
        }
        if let (Some(scale), Some(replicas)) = (svc.scale, svc.deploy.as_ref().and_then(|d| d.replicas))
            && scale != replicas
        {
            let kp = join(path, "scale");
            let at = self.spans.get(&kp).cloned().unwrap_or_else(|| n.loc.clone());
            self.project_error(&at, &kp, format!("`scale` ({scale}) and `deploy.replicas` ({replicas}) differ"), "set one of them");
        }
        if svc.container_name.is_some() && svc.replicas() > 1 {
            let kp = join(path, "container_name");
            let at = self.spans.get(&kp).cloned().unwrap_or_else(|| n.loc.clone());
            self.project_error(
                &at,
                &kp,
                format!(
                    "service {name:?} runs {} containers, and they cannot all be named {:?}",
                    svc.replicas(),
                    svc.container_name.as_deref().unwrap_or_default()
                ),
                "remove container_name, or run one container",
            );
        }
        if svc.image.is_none() && svc.build.is_none() {
            self.project_error(
                &n.loc,
                path,
                format!("service {name:?} has neither an image nor a build context"),
                "add `image: NAME` or `build: ./DIR`",
            );
        }
        Some(svc)
    }

    fn rcompose_ext(&mut self, n: &Node, path: &str) -> Option<RcomposeExt> {
        let entries = self.map(n, path)?;
        self.check_keys(entries, path, &["builtin_proxy"], &[]);
        let mut ext = RcomposeExt::default();
        for (k, v) in entries {
            if k.name == "builtin_proxy" {
                ext.builtin_proxy = self.bool(v, &join(path, &k.name));
            }
        }
        Some(ext)
    }

    fn build(&mut self, n: &Node, path: &str) -> Option<Build> {
        let mut build = Build::default();
        let mut context_loc = n.loc.clone();
        let mut dockerfile_loc = n.loc.clone();
        match &n.value {
            Value::Str(s) => build.context = s.clone(),
            Value::Map(entries) => {
                self.check_keys(entries, path, BUILD_KEYS, BUILD_SPEC_ONLY);
                build.context = ".".into();
                for (k, v) in entries {
                    let kp = join(path, &k.name);
                    if BUILD_NOT_NULL.contains(&k.name.as_str()) && self.refuse_null(k, v, &kp) {
                        continue;
                    }
                    match k.name.as_str() {
                        "context" => {
                            context_loc = v.loc.clone();
                            build.context = self.text(v, &kp).unwrap_or_default();
                        }
                        "dockerfile" => {
                            dockerfile_loc = v.loc.clone();
                            build.dockerfile = self.text(v, &kp);
                        }
                        "dockerfile_inline" => build.dockerfile_inline = self.text(v, &kp),
                        // Warned about as BuildKit's, but checked: each must name a top-level secret.
                        "secrets" => build.secrets = self.file_refs(v, &kp, true),
                        "target" => build.target = self.text(v, &kp),
                        "args" => {
                            // An arg named alone takes the variable; unset, it is left out, as docker compose leaves it.
                            build.args = self
                                .key_values(v, &kp)
                                .into_iter()
                                .filter_map(|(k, v, _)| v.or_else(|| (self.env)(&k)).map(|v| (k, Some(v))))
                                .collect();
                        }
                        "labels" => build.labels = self.string_map(v, &kp),
                        "cache_from" => {
                            for (i, spec) in self.strings(v, &kp, false).into_iter().enumerate() {
                                if spec.contains('=') {
                                    let at = item_loc(v, i).clone();
                                    self.warn(
                                        &at,
                                        &index(&kp, i),
                                        "a BuildKit cache source; the engine's build API takes only image names, so it is ignored",
                                    );
                                }
                                build.cache_from.push(spec);
                            }
                        }
                        "no_cache" => build.no_cache = self.bool(v, &kp).unwrap_or(false),
                        "pull" => build.pull = self.bool(v, &kp).unwrap_or(false),
                        "network" => build.network = self.set_text(v, &kp),
                        "shm_size" => build.shm_size = self.whole_bytes(v, &kp),
                        "tags" => build.tags = self.strings(v, &kp, false),
                        "platforms" => {
                            build.platforms = self.strings(v, &kp, false);
                            if build.platforms.len() > 1 {
                                self.warn(&v.loc, &kp, "several platforms need buildx; rcompose builds for the first one");
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                self.expected(n, path, "a path or a mapping with `context`");
                return None;
            }
        }
        if build.dockerfile.is_some() && build.dockerfile_inline.is_some() {
            self.project_error(&n.loc, path, "`dockerfile` and `dockerfile_inline` cannot both be set", "keep one of them");
        }
        if build.dockerfile.is_none() && build.dockerfile_inline.is_none() {
            build.dockerfile = Some("Dockerfile".into());
        }
        let remote = build.context.contains("://") || build.context.starts_with("git@") || build.context.starts_with("github.com/");
        if !remote {
            let ctx = syntax::resolve_host_path(&build.context, &self.base, self.home.as_deref());
            let ctx_path = PathBuf::from(&ctx);
            if !ctx_path.is_dir() {
                self.build_path_missing(
                    &context_loc,
                    &join(path, "context"),
                    format!("build context {ctx} does not exist"),
                    "the context is resolved against the project directory",
                );
            } else if let Some(df) = &build.dockerfile {
                let df_path = if Path::new(df).is_absolute() { PathBuf::from(df) } else { ctx_path.join(df) };
                if !df_path.is_file() {
                    self.build_path_missing(
                        &dockerfile_loc,
                        &join(path, "dockerfile"),
                        format!("Dockerfile {} not found", df_path.display()),
                        "`dockerfile` is resolved against the build context",
                    );
                }
            }
            build.context = ctx;
        }
        Some(build)
    }

    /// A list (nothing for null), or an error saying a list was expected.
    fn list<'n>(&mut self, n: &'n Node, path: &str, what: &str) -> Option<&'n [Node]> {
        match &n.value {
            Value::Seq(items) => Some(items),
            Value::Null => Some(&[]),
            _ => {
                self.expected(n, path, what);
                None
            }
        }
    }

    /// A list of mappings with these keys: `each` gets every mapping's path,
    /// entries and node (ones that are not mappings are reported and skipped).
    fn each_map(&mut self, n: &Node, path: &str, what: &str, keys: &[&str], mut each: impl FnMut(&mut Self, &str, &[(Key, Node)], &Node)) {
        let Some(items) = self.list(n, path, what) else { return };
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            let Some(fields) = self.map(item, &ip) else { continue };
            self.check_keys(fields, &ip, keys, &[]);
            each(self, &ip, fields, item);
        }
    }

    /// `post_start` / `pre_stop`: commands with their user, privileges, folder and variables.
    fn hooks(&mut self, n: &Node, path: &str) -> Vec<Hook> {
        let mut out = Vec::new();
        self.each_map(n, path, "a list of hooks", HOOK_KEYS, |this, ip, fields, item| out.extend(this.hook(ip, fields, item)));
        out
    }

    /// One hook's fields (`post_start`, `pre_stop`, a watch rule's `exec`).
    fn hook(&mut self, ip: &str, fields: &[(Key, Node)], item: &Node) -> Option<Hook> {
        let mut hook = Hook::default();
        for (k, v) in fields {
            let kp = join(ip, &k.name);
            match k.name.as_str() {
                "command" => hook.command = self.command(v, &kp).unwrap_or_default(),
                "user" => hook.user = self.text(v, &kp),
                "privileged" => hook.privileged = self.bool(v, &kp).unwrap_or(false),
                "working_dir" => hook.working_dir = self.text(v, &kp),
                "environment" if !self.refuse_null(k, v, &kp) => hook.environment = self.string_map(v, &kp),
                _ => {}
            }
        }
        if hook.command.is_empty() {
            self.error_hint(&item.loc, ip, "a hook needs a `command`", "for example {command: [\"sh\", \"-c\", \"echo ready\"]}");
            return None;
        }
        Some(hook)
    }

    /// `develop.watch`: kept as docker compose keeps it, so `config` and the
    /// config-hash agree; rcompose itself does not watch.
    fn develop(&mut self, n: &Node, path: &str) -> Option<Develop> {
        let entries = self.map(n, path)?;
        self.check_keys(entries, path, &["watch"], &[]);
        let mut out = Develop::default();
        let Some(watch) = n.get("watch") else { return Some(out) };
        let wp = join(path, "watch");
        self.warn(
            &n.loc,
            path,
            "`develop` is kept for `config` and the config-hash, but rcompose does not watch files (`docker compose watch`)",
        );
        let keys = ["path", "action", "target", "exec", "include", "ignore", "initial_sync"];
        self.each_map(watch, &wp, "a list of watch rules", &keys, |this, ip, fields, item| {
            let mut rule = WatchRule::default();
            for (k, v) in fields {
                let kp = join(ip, &k.name);
                match k.name.as_str() {
                    "path" => {
                        rule.path =
                            this.string(v, &kp).map(|p| syntax::resolve_host_path(&p, &this.base, this.home.as_deref())).unwrap_or_default()
                    }
                    "action" => match this.string(v, &kp) {
                        Some(a) if ["sync", "rebuild", "restart", "sync+restart", "sync+exec"].contains(&a.as_str()) => rule.action = a,
                        Some(a) => this.error_hint(
                            &v.loc,
                            &kp,
                            format!("unknown watch action {a:?}"),
                            "use sync, rebuild, restart, sync+restart or sync+exec",
                        ),
                        None => {}
                    },
                    "target" => rule.target = this.set_string(v, &kp),
                    "exec" => {
                        if let Some(hook_fields) = this.map(v, &kp) {
                            this.check_keys(hook_fields, &kp, HOOK_KEYS, &[]);
                            rule.exec = this.hook(&kp, hook_fields, v);
                        }
                    }
                    "include" if !this.refuse_null(k, v, &kp) => rule.include = this.strings(v, &kp, true),
                    "ignore" if !this.refuse_null(k, v, &kp) => rule.ignore = this.strings(v, &kp, true),
                    "initial_sync" => rule.initial_sync = this.bool(v, &kp).unwrap_or(false),
                    _ => {}
                }
            }
            if rule.path.is_empty() || rule.action.is_empty() {
                this.error_hint(
                    &item.loc,
                    ip,
                    "a watch rule needs a `path` and an `action`",
                    "for example {path: ./src, action: sync, target: /app}",
                );
                return;
            }
            out.watch.push(rule);
        });
        Some(out)
    }

    /// `blkio_config`: a weight, per-device weights, and per-device limits.
    fn blkio(&mut self, n: &Node, path: &str) -> Option<Blkio> {
        let entries = self.map(n, path)?;
        const RATES: &[&str] = &["device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops"];
        self.check_keys(
            entries,
            path,
            &["weight", "weight_device", "device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops"],
            &[],
        );
        let mut out = Blkio::default();
        for (k, v) in entries {
            let kp = join(path, &k.name);
            if k.name == "weight" {
                out.weight = self.int(v, &kp, 10, 1000).map(|w| w as u16);
                continue;
            }
            if self.refuse_null(k, v, &kp) {
                continue;
            }
            let value_key = if k.name == "weight_device" { "weight" } else { "rate" };
            self.each_map(v, &kp, "a list of devices", &["path", value_key], |this, ip, fields, item| {
                let device = fields.iter().find(|(f, _)| f.name == "path").and_then(|(f, p)| this.text(p, &join(ip, &f.name)));
                let value = fields.iter().find(|(f, _)| f.name == value_key).map(|(f, v)| (join(ip, &f.name), v));
                let (Some(device), Some((vp, value))) = (device, value) else {
                    this.error_hint(
                        &item.loc,
                        ip,
                        format!("a device needs `path` and `{value_key}`"),
                        format!("for example {{path: /dev/sda, {value_key}: {}}}", if value_key == "weight" { "300" } else { "10mb" }),
                    );
                    return;
                };
                if k.name == "weight_device" {
                    if let Some(w) = this.int(value, &vp, 10, 1000) {
                        out.weight_device.push(WeightDevice { path: device, weight: w as u16 });
                    }
                    return;
                }
                // Operations per second are a plain number; bytes may carry a unit.
                let rate = if k.name.ends_with("iops") {
                    this.int(value, &vp, 0, i64::MAX).map(|r| r.to_string())
                } else {
                    this.bytes(value, &vp, false)
                };
                let Some(rate) = rate else { return };
                let throttle = Throttle { path: device, rate };
                match RATES.iter().position(|r| *r == k.name) {
                    Some(0) => out.device_read_bps.push(throttle),
                    Some(1) => out.device_read_iops.push(throttle),
                    Some(2) => out.device_write_bps.push(throttle),
                    _ => out.device_write_iops.push(throttle),
                }
            });
        }
        Some(out)
    }

    /// `gpus`: `all`, or device requests.
    fn gpus(&mut self, n: &Node, path: &str) -> Vec<DeviceRequest> {
        if let Value::Str(s) = &n.value {
            if s == "all" {
                return vec![DeviceRequest { count: Some(-1), ..Default::default() }];
            }
            self.error_hint(&n.loc, path, format!("invalid gpus {s:?}"), "write `all`, or a list like [{driver: nvidia, count: 1}]");
            return Vec::new();
        }
        let mut out = Vec::new();
        let keys = ["capabilities", "driver", "count", "device_ids", "options"];
        self.each_map(n, path, "`all` or a list of device requests", &keys, |this, ip, fields, _| {
            let mut req = DeviceRequest::default();
            for (k, v) in fields {
                let kp = join(ip, &k.name);
                if matches!(k.name.as_str(), "capabilities" | "device_ids" | "options") && this.refuse_null(k, v, &kp) {
                    continue;
                }
                match k.name.as_str() {
                    "capabilities" => req.capabilities = this.strings(v, &kp, false),
                    "driver" => req.driver = this.text(v, &kp),
                    "device_ids" => req.device_ids = this.strings(v, &kp, false),
                    "options" => req.options = this.string_map(v, &kp),
                    "count" if v.scalar_text().as_deref() == Some("all") => req.count = Some(-1),
                    "count" => req.count = this.int(v, &kp, -1, i64::MAX),
                    _ => {}
                }
            }
            out.push(req);
        });
        out
    }

    /// `env_file` or `label_file` (`what`: `env` or `label`): files of variables.
    fn env_files(&mut self, n: &Node, path: &str, what: &str) -> Vec<(String, Option<String>, Location)> {
        // (path, required, raw format, where, key path)
        let mut specs: Vec<(String, bool, bool, Location, String)> = Vec::new();
        let items: Vec<&Node> = match &n.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => vec![n],
        };
        for (i, item) in items.into_iter().enumerate() {
            let ip = if matches!(n.value, Value::Seq(_)) { index(path, i) } else { path.to_string() };
            match &item.value {
                Value::Map(entries) => {
                    self.check_keys(entries, &ip, &["path", "required", "format"], &[]);
                    let mut p = None;
                    let mut required = true;
                    let mut raw = false;
                    for (k, v) in entries {
                        let kp = join(&ip, &k.name);
                        match k.name.as_str() {
                            "path" => p = self.text(v, &kp),
                            "required" => required = self.bool(v, &kp).unwrap_or(true),
                            "format" => match self.string(v, &kp).as_deref() {
                                Some("raw") => raw = true,
                                Some(other) => self.error_hint(
                                    &v.loc,
                                    &kp,
                                    format!("unknown env_file format {other:?}"),
                                    "leave it out for dotenv, or use `raw`",
                                ),
                                None => {}
                            },
                            _ => {}
                        }
                    }
                    match p {
                        Some(p) => specs.push((p, required, raw, item.loc.clone(), ip)),
                        None => self.error(&item.loc, &ip, "`path` is required"),
                    }
                }
                _ => {
                    if let Some(p) = self.text(item, &ip) {
                        specs.push((p, true, false, item.loc.clone(), ip));
                    }
                }
            }
        }
        let mut out = Vec::new();
        // Read once, for the whole project, as docker compose does.
        if self.partial {
            return out;
        }
        for (p, required, raw, loc, ip) in specs {
            let full = syntax::resolve_host_path(&p, &self.base, self.home.as_deref());
            let text = match crate::userfile::read_text(Path::new(&full), crate::userfile::ENV_LIMIT) {
                Ok(t) => t,
                Err(e) if e.is_not_found() && !required => continue,
                Err(e) if e.is_not_found() => {
                    self.error_hint(
                        &loc,
                        &ip,
                        format!("{what} file {full} not found"),
                        "create it, or write `{path: ..., required: false}` to make it optional",
                    );
                    continue;
                }
                Err(e) => {
                    self.error(&loc, &ip, format!("cannot read {what} file {full}: {e}"));
                    continue;
                }
            };
            if raw {
                // `format: raw`: KEY=VALUE lines taken literally.
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let (k, v) = line.split_once('=').unwrap_or((line, ""));
                    out.push((k.to_string(), Some(v.to_string()), loc.clone()));
                }
                continue;
            }
            // Later env files see the variables of earlier ones, as in compose.
            let env = self.env;
            let earlier = |k: &str| {
                out.iter()
                    .rev()
                    .find(|(n, _, _): &&(String, Option<String>, Location)| n == k)
                    .and_then(|(_, v, _)| v.clone())
                    .or_else(|| env(k))
            };
            match dotenv::parse(&text, &earlier) {
                Ok(vars) => {
                    for (k, v) in vars {
                        out.push((k, Some(v), loc.clone()));
                    }
                }
                Err(e) => {
                    let file_loc = Location { file: full.as_str().into(), line: e.line, col: 1 };
                    self.diags.push(Diagnostic::error(Some(file_loc), "", e.message).with_hint(format!("read as the {what}_file of {ip}")));
                }
            }
        }
        out
    }

    fn ports(&mut self, n: &Node, path: &str) -> Vec<Port> {
        let Some(items) = self.list(n, path, "a list of ports") else { return Vec::new() };
        let mut out: Vec<Port> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            match &item.value {
                Value::Str(s) => match syntax::parse_port(s) {
                    Ok(ports) => out.extend(ports),
                    Err(e) => {
                        self.error_hint(&item.loc, &ip, e, "write ports as [IP:][HOST:]CONTAINER[/PROTOCOL], for example \"8080:80\"")
                    }
                },
                Value::Int(p) => match syntax::port_number(&p.to_string(), "container") {
                    Ok(t) => out.push(Port { mode: "ingress".into(), host_ip: None, target: t, published: None, protocol: "tcp".into() }),
                    Err(e) => self.error(&item.loc, &ip, e),
                },
                Value::Map(entries) => {
                    self.check_keys(entries, &ip, &["target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"], &[]);
                    let mut port = Port { mode: "ingress".into(), host_ip: None, target: 0, published: None, protocol: "tcp".into() };
                    let mut ok = true;
                    for (k, v) in entries {
                        let kp = join(&ip, &k.name);
                        match k.name.as_str() {
                            "target" => match self.string(v, &kp).map(|t| syntax::port_number(&t, "container")) {
                                Some(Ok(t)) => port.target = t,
                                Some(Err(e)) => {
                                    self.error(&v.loc, &kp, e);
                                    ok = false;
                                }
                                None => ok = false,
                            },
                            "published" => {
                                // Empty is unpublished, 0 is a port the engine chooses.
                                if let Some(p) = self.string(v, &kp).filter(|p| !p.is_empty()) {
                                    let check = match p.split_once('-') {
                                        _ if p.trim() == "0" => Ok(0),
                                        Some((a, b)) if !a.is_empty() => syntax::port_number(a, "host").and(syntax::port_number(b, "host")),
                                        _ => syntax::port_number(&p, "host"),
                                    };
                                    match check {
                                        Ok(_) => port.published = Some(p),
                                        Err(e) => {
                                            self.error(&v.loc, &kp, e);
                                            ok = false;
                                        }
                                    }
                                }
                            }
                            "host_ip" => match self.text(v, &kp) {
                                Some(h) if h.parse::<std::net::IpAddr>().is_ok() => port.host_ip = Some(h),
                                Some(h) => self.error_hint(
                                    &v.loc,
                                    &kp,
                                    format!("invalid IP address {h:?}"),
                                    "write an address like 127.0.0.1 or ::1",
                                ),
                                None => {}
                            },
                            "name" | "app_protocol" => drop(self.text(v, &kp)),
                            "protocol" => {
                                if let Some(p) = self.string(v, &kp) {
                                    if matches!(p.as_str(), "tcp" | "udp" | "sctp") {
                                        port.protocol = p;
                                    } else {
                                        self.error(&v.loc, &kp, format!("unknown protocol {p:?} (use tcp, udp or sctp)"));
                                    }
                                }
                            }
                            "mode" => {
                                if let Some(m) = self.text(v, &kp) {
                                    port.mode = m;
                                }
                            }
                            _ => {}
                        }
                    }
                    if port.target == 0 && ok {
                        self.error(&item.loc, &ip, "`target` is required");
                    } else if ok {
                        out.push(port);
                    }
                }
                _ => self.expected(item, &ip, "a port mapping string or a mapping"),
            }
        }
        dedup_keep_last(&mut out, Port::merge_key);
        out
    }

    fn mounts(&mut self, n: &Node, path: &str) -> Vec<Mount> {
        let Some(items) = self.list(n, path, "a list of volumes") else { return Vec::new() };
        let mut out: Vec<Mount> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            self.spans.insert(ip.clone(), item.loc.clone());
            match &item.value {
                Value::Str(s) => match syntax::parse_volume(s, &self.base, self.home.as_deref()) {
                    Ok(m) => out.push(m),
                    Err(e) => self.error_hint(&item.loc, &ip, e, "write volumes as SOURCE:TARGET[:ro], for example ./data:/data"),
                },
                Value::Map(entries) => {
                    if let Some(m) = self.long_mount(entries, item, &ip) {
                        out.push(m);
                    }
                }
                _ => self.expected(item, &ip, "a volume string or a mapping"),
            }
        }
        dedup_keep_last(&mut out, |m| m.target.clone());
        out
    }

    fn long_mount(&mut self, entries: &[(Key, Node)], item: &Node, ip: &str) -> Option<Mount> {
        self.check_keys(
            entries,
            ip,
            &["type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"],
            &["image", "npipe"],
        );
        let mut kind = None;
        let mut source = None;
        let mut target = None;
        let mut read_only = false;
        let mut bind = None;
        let mut volume = None;
        let mut tmpfs = None;
        for (k, v) in entries {
            let kp = join(ip, &k.name);
            match k.name.as_str() {
                "type" => match self.string(v, &kp).as_deref() {
                    Some("bind") => kind = Some(MountType::Bind),
                    Some("volume") => kind = Some(MountType::Volume),
                    Some("tmpfs") => kind = Some(MountType::Tmpfs),
                    Some(other) => self.error_hint(&v.loc, &kp, format!("unsupported mount type {other:?}"), "use bind, volume or tmpfs"),
                    None => {}
                },
                "source" => source = self.text(v, &kp),
                "target" => target = self.text(v, &kp),
                "read_only" => read_only = self.bool(v, &kp).unwrap_or(false),
                // Only Docker Desktop for Mac acted on it; a string all the same.
                "consistency" => drop(self.text(v, &kp)),
                "bind" => {
                    let Some(be) = self.map(v, &kp) else { continue };
                    self.check_keys(be, &kp, &["propagation", "create_host_path", "selinux"], &[]);
                    let mut b = BindOptions::default();
                    for (bk, bv) in be {
                        let bp = join(&kp, &bk.name);
                        match bk.name.as_str() {
                            "propagation" => b.propagation = self.text(bv, &bp),
                            "create_host_path" => b.create_host_path = self.bool(bv, &bp).unwrap_or(false),
                            "selinux" => match self.text(bv, &bp) {
                                Some(l) if l == "z" || l == "Z" => b.selinux = Some(l),
                                Some(l) => {
                                    self.error_hint(&bv.loc, &bp, format!("invalid SELinux label {l:?}"), "use z (shared) or Z (private)")
                                }
                                None => {}
                            },
                            _ => {}
                        }
                    }
                    bind = Some(b);
                }
                "volume" => {
                    let Some(ve) = self.map(v, &kp) else { continue };
                    self.check_keys(ve, &kp, &["nocopy", "subpath"], &["labels"]);
                    let mut o = VolumeOptions::default();
                    for (vk, vv) in ve {
                        let vp = join(&kp, &vk.name);
                        match vk.name.as_str() {
                            "nocopy" => o.nocopy = self.bool(vv, &vp).unwrap_or(false),
                            "subpath" => o.subpath = self.text(vv, &vp),
                            "labels" if !self.refuse_null(vk, vv, &vp) => drop(self.key_values(vv, &vp)),
                            _ => {}
                        }
                    }
                    volume = Some(o);
                }
                "tmpfs" => {
                    let Some(te) = self.map(v, &kp) else { continue };
                    self.check_keys(te, &kp, &["size", "mode"], &[]);
                    let mut o = TmpfsOptions::default();
                    for (tk, tv) in te {
                        let tp = join(&kp, &tk.name);
                        match tk.name.as_str() {
                            "size" if matches!(tv.value, Value::Float(..)) => {
                                self.expected(tv, &tp, "a whole number of bytes or a size like 64m")
                            }
                            "size" => match self.string(tv, &tp).map(|s| syntax::parse_bytes(&s)) {
                                Some(Ok(b)) => o.size = Some(b),
                                Some(Err(e)) => self.error(&tv.loc, &tp, e),
                                None => {}
                            },
                            "mode" => o.mode = self.number(tv, &tp).and_then(|_| self.uint(tv, &tp)).map(|m| m as u32),
                            _ => {}
                        }
                    }
                    tmpfs = Some(o);
                }
                _ => {}
            }
        }
        let Some(kind) = kind else {
            self.error_hint(&item.loc, ip, "`type` is required in the long volume syntax", "use type: bind, volume or tmpfs");
            return None;
        };
        let Some(target) = target else {
            self.error(&item.loc, ip, "`target` is required");
            return None;
        };
        if kind == MountType::Bind {
            match &source {
                Some(s) => source = Some(syntax::bind_source(s, &self.base, self.home.as_deref())),
                None => {
                    self.error(&item.loc, ip, "a bind mount needs a `source`");
                    return None;
                }
            }
        }
        if kind == MountType::Tmpfs && source.is_some() {
            self.error(&item.loc, ip, "a tmpfs mount has no `source`");
        }
        if kind == MountType::Volume && volume.is_none() {
            volume = Some(VolumeOptions::default());
        }
        Some(Mount { kind, source, target: syntax::clean_target(&target), read_only, bind, volume, tmpfs })
    }

    fn depends_on(&mut self, n: &Node, path: &str) -> BTreeMap<String, Dependency> {
        let mut out = BTreeMap::new();
        let started = || Dependency { condition: Condition::ServiceStarted, restart: false, required: true };
        match &n.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(name) = self.string(item, &index(path, i)) {
                        self.spans.insert(join(path, &name), item.loc.clone());
                        out.insert(name, started());
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let kp = join(path, &k.name);
                    self.spans.insert(kp.clone(), k.loc.clone());
                    let mut dep = started();
                    // `db:` with nothing after it is refused by docker compose's schema.
                    if let Some(de) = if self.refuse_null(k, v, &kp) { None } else { self.map(v, &kp) } {
                        self.check_keys(de, &kp, &["condition", "restart", "required"], &[]);
                        if !de.iter().any(|(dk, _)| dk.name == "condition") {
                            self.error_hint(
                                &k.loc,
                                &kp,
                                format!("`{}` has no `condition`", k.name),
                                "add `condition: service_started` (or service_healthy, service_completed_successfully), or list the service by name",
                            );
                        }
                        for (dk, dv) in de {
                            let dp = join(&kp, &dk.name);
                            match dk.name.as_str() {
                                "condition" => match self.string(dv, &dp).as_deref() {
                                    Some("service_started") => dep.condition = Condition::ServiceStarted,
                                    Some("service_healthy") => dep.condition = Condition::ServiceHealthy,
                                    Some("service_completed_successfully") => dep.condition = Condition::ServiceCompletedSuccessfully,
                                    Some(other) => self.error_hint(
                                        &dv.loc,
                                        &dp,
                                        format!("unknown condition {other:?}"),
                                        "use service_started, service_healthy or service_completed_successfully",
                                    ),
                                    None => {}
                                },
                                "restart" => dep.restart = self.bool(dv, &dp).unwrap_or(false),
                                "required" => dep.required = self.bool(dv, &dp).unwrap_or(true),
                                _ => {}
                            }
                        }
                    }
                    out.insert(k.name.clone(), dep);
                }
            }
            Value::Null => {}
            _ => self.expected(n, path, "a list of services or a mapping"),
        }
        out
    }

    fn healthcheck(&mut self, n: &Node, path: &str) -> Option<Healthcheck> {
        let entries = self.map(n, path)?;
        self.check_keys(entries, path, &["test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"], &[]);
        let mut hc = Healthcheck::default();
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "test" => {
                    hc.test = match &v.value {
                        Value::Str(s) => Some(vec!["CMD-SHELL".to_string(), s.clone()]),
                        // No test: the image's own, as docker compose reads `[]`.
                        Value::Seq(items) if items.is_empty() => None,
                        Value::Seq(_) => {
                            let t = self.strings(v, &kp, false);
                            match t.first().map(String::as_str) {
                                Some("CMD" | "CMD-SHELL" | "NONE") => Some(t),
                                _ => {
                                    self.error_hint(
                                        &v.loc,
                                        &kp,
                                        "a healthcheck test list must start with CMD, CMD-SHELL or NONE",
                                        "for example [\"CMD\", \"curl\", \"-f\", \"http://localhost\"]",
                                    );
                                    None
                                }
                            }
                        }
                        _ => {
                            self.expected(v, &kp, "a string or a list");
                            None
                        }
                    }
                }
                "interval" => hc.interval = self.duration(v, &kp),
                "timeout" => hc.timeout = self.duration(v, &kp),
                "start_period" => hc.start_period = self.duration(v, &kp),
                "start_interval" => hc.start_interval = self.duration(v, &kp),
                "retries" => hc.retries = self.uint(v, &kp),
                "disable" => hc.disable = self.bool(v, &kp).unwrap_or(false),
                _ => {}
            }
        }
        Some(hc)
    }

    fn service_networks(&mut self, n: &Node, path: &str) -> BTreeMap<String, Option<ServiceNetwork>> {
        let mut out = BTreeMap::new();
        match &n.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(name) = self.string(item, &index(path, i)) {
                        self.spans.insert(join(path, &name), item.loc.clone());
                        out.insert(name, None);
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let kp = join(path, &k.name);
                    self.spans.insert(kp.clone(), k.loc.clone());
                    if v.is_null() {
                        out.insert(k.name.clone(), None);
                        continue;
                    }
                    let Some(ne) = self.map(v, &kp) else { continue };
                    self.check_keys(
                        ne,
                        &kp,
                        &["aliases", "ipv4_address", "ipv6_address", "priority", "link_local_ips", "driver_opts"],
                        &["mac_address", "gw_priority", "interface_name"],
                    );
                    let mut sn = ServiceNetwork::default();
                    for (nk, nv) in ne {
                        let np = join(&kp, &nk.name);
                        match nk.name.as_str() {
                            "aliases" if !self.refuse_null(nk, nv, &np) => sn.aliases = self.strings(nv, &np, false),
                            "ipv4_address" => sn.ipv4_address = self.text(nv, &np),
                            "ipv6_address" => sn.ipv6_address = self.text(nv, &np),
                            "priority" => sn.priority = self.priority(nv, &np),
                            "gw_priority" => sn.gw_priority = self.priority(nv, &np),
                            "link_local_ips" if !self.refuse_null(nk, nv, &np) => sn.link_local_ips = self.strings(nv, &np, false),
                            "mac_address" => sn.mac_address = self.string(nv, &np),
                            "driver_opts" => sn.driver_opts = self.options(nv, &np, false),
                            "interface_name" => sn.interface_name = self.string(nv, &np),
                            _ => {}
                        }
                    }
                    out.insert(k.name.clone(), Some(sn));
                }
            }
            _ => self.expected(n, path, "a list of networks or a mapping"),
        }
        out
    }

    fn extra_hosts(&mut self, n: &Node, path: &str) -> Vec<String> {
        let mut pairs: Vec<(String, String)> = match &n.value {
            // Each address a string: docker compose refuses `host: 1` and `host:` alike.
            Value::Map(_) => self.text_map(n, path).into_iter().collect(),
            _ => {
                let list = self.strings(n, path, false);
                list.into_iter()
                    .filter_map(|h| match h.split_once('=').or_else(|| h.split_once(':')) {
                        Some((name, ip)) => Some((name.to_string(), ip.to_string())),
                        None => {
                            self.error_hint(&n.loc, path, format!("invalid extra host {h:?}"), "write it as HOST=IP or HOST:IP");
                            None
                        }
                    })
                    .collect()
            }
        };
        // Sorted by host, as docker compose writes them (a map in compose-go);
        // the config-hash relies on this order too.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.into_iter().map(|(h, ip)| format!("{h}={ip}")).collect()
    }

    /// A network's `priority` or `gw_priority`: a whole number, not digits as text.
    fn priority(&mut self, n: &Node, path: &str) -> i64 {
        self.number(n, path).and_then(|_| self.int(n, path, i32::MIN as i64, i32::MAX as i64)).unwrap_or(0)
    }

    fn ulimits(&mut self, n: &Node, path: &str) -> BTreeMap<String, Ulimit> {
        let mut out = BTreeMap::new();
        for (k, v) in self.map(n, path).unwrap_or_default() {
            let kp = join(path, &k.name);
            match &v.value {
                Value::Int(i) => {
                    out.insert(k.name.clone(), Ulimit::Single(*i));
                }
                // Digits as a string, as docker compose takes them.
                Value::Str(s) => match s.trim().parse() {
                    Ok(limit) => drop(out.insert(k.name.clone(), Ulimit::Single(limit))),
                    Err(_) => self.expected(v, &kp, "a number or a mapping with soft and hard"),
                },
                Value::Map(entries) => {
                    self.check_keys(entries, &kp, &["soft", "hard"], &[]);
                    // -1 is "unlimited" to the engine (memlock for Elasticsearch, say).
                    let mut bound = |key| v.get(key).map(|b| self.int(b, &join(&kp, key), -1, i64::MAX));
                    match (bound("soft"), bound("hard")) {
                        (Some(Some(soft)), Some(Some(hard))) => {
                            out.insert(k.name.clone(), Ulimit::Range { soft, hard });
                        }
                        (Some(_), Some(_)) => {} // a bad bound, reported where it stands
                        _ => self.error(&v.loc, &kp, "a ulimit needs both `soft` and `hard`, or a single number"),
                    }
                }
                _ => self.expected(v, &kp, "a number or a mapping with soft and hard"),
            }
        }
        out
    }
}

fn external_flag(c: &mut Converter<'_>, v: &Node, kp: &str, explicit_name: &mut Option<String>, only_name: bool) -> bool {
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
pub const TOP_LEVEL_KEYS: [&str; 9] = ["name", "services", "networks", "volumes", "secrets", "configs", "include", "version", "models"];

/// The error for a top-level key the Compose Specification does not have.
pub fn unknown_top_level(name: &str, loc: &Location) -> crate::diag::Diagnostic {
    let hint = did_you_mean(name, TOP_LEVEL_KEYS.iter().copied().filter(|k| *k != "version" && *k != "models"))
        .map(|s| format!("did you mean `{s}`?"))
        .unwrap_or_else(|| "extension keys must start with `x-`".into());
    crate::diag::Diagnostic::error(Some(loc.clone()), name, format!("unknown top-level key `{name}`")).with_hint(hint)
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
