//! The `com.docker.compose.config-hash` label, computed as docker compose
//! computes it: sha256 of the service as compose-go's `json.Marshal` writes
//! it (struct fields in declaration order, map keys sorted, Go's string
//! escapes), less what does not change the container. With the same hash,
//! `docker compose up` leaves rcompose's containers alone, and the other way
//! round, instead of recreating every one of them.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::compose::model::Service;

/// compose-go's `ServiceConfig` fields, in declaration order. Keys the model
/// has that are not here (extensions such as `x-rcompose`) are not marshalled.
const SERVICE: &[&str] = &[
    "profiles",
    "annotations",
    "attach",
    "build",
    "develop",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup_parent",
    "cgroup",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpus",
    "cpuset",
    "cpu_shares",
    "command",
    "configs",
    "container_name",
    "credential_spec",
    "depends_on",
    "deploy",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "dockerfile",
    "domainname",
    "entrypoint",
    "provider",
    "environment",
    "env_file",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "group_add",
    "gpus",
    "hostname",
    "healthcheck",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "label_file",
    "links",
    "logging",
    "log_driver",
    "log_opt",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "mem_swappiness",
    "mac_address",
    "models",
    "net",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "privileged",
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
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volume_driver",
    "volumes",
    "volumes_from",
    "working_dir",
    "post_start",
    "pre_stop",
];

/// Left out of the hash by docker compose: they do not change the container.
const NOT_HASHED: &[&str] = &["build", "pull_policy", "scale", "depends_on", "profiles"];

/// Written even when empty: compose-go marshals them without `omitempty`,
/// as `null` when unset.
const ALWAYS: &[&str] = &["command", "entrypoint"];

const HEALTHCHECK: &[&str] = &["test", "timeout", "interval", "retries", "start_period", "start_interval", "disable"];
const PORT: &[&str] = &["name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"];
const VOLUME: &[&str] = &["type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"];
const BIND: &[&str] = &["selinux", "propagation", "create_host_path", "recursive"];
const VOLUME_OPTS: &[&str] = &["labels", "nocopy", "subpath"];
const TMPFS: &[&str] = &["size", "mode"];
const NETWORK: &[&str] = &[
    "aliases",
    "driver_opts",
    "gw_priority",
    "interface_name",
    "ipv4_address",
    "ipv6_address",
    "link_local_ips",
    "mac_address",
    "priority",
];
const ULIMIT: &[&str] = &["soft", "hard"];

/// docker compose's config-hash of a service.
pub fn config_hash(service: &Service) -> String {
    let value = serde_json::to_value(service).unwrap_or(Value::Null);
    let mut out = String::with_capacity(1024);
    service_json(&value, &mut out);
    Sha256::digest(out.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The service object as compose-go marshals it for the hash.
fn service_json(v: &Value, out: &mut String) {
    let order = SERVICE.iter().copied().filter(|k| !NOT_HASHED.contains(k));
    fields(v, order, out, |key, value, out| match key {
        "healthcheck" => structure(value, HEALTHCHECK, out),
        "ports" => each(value, out, |p, out| structure(p, PORT, out)),
        "volumes" => each(value, out, |m, out| {
            fields(m, VOLUME.iter().copied(), out, |key, value, out| match key {
                "bind" => structure(value, BIND, out),
                "volume" => structure(value, VOLUME_OPTS, out),
                "tmpfs" => structure(value, TMPFS, out),
                _ => plain(value, out),
            })
        }),
        "networks" => map_of(value, out, |n, out| structure(n, NETWORK, out)),
        "ulimits" => map_of(value, out, |u, out| structure(u, ULIMIT, out)),
        // A map in compose-go (host -> addresses), so written sorted by host.
        "extra_hosts" => {
            let mut hosts: Vec<&Value> = value.as_array().map(|a| a.iter().collect()).unwrap_or_default();
            hosts.sort_by_key(|h| h.as_str().and_then(|s| s.split_once('=')).map(|(h, _)| h.to_string()));
            plain(&Value::Array(hosts.into_iter().cloned().collect()), out);
        }
        _ => plain(value, out),
    });
}

/// A struct: the fields of `order` that the object has, in that order, each
/// value written by `field` (those of [`ALWAYS`] as `null` when missing).
fn fields<'a>(v: &Value, order: impl Iterator<Item = &'a str>, out: &mut String, field: impl Fn(&str, &Value, &mut String)) {
    let Value::Object(map) = v else { return plain(v, out) };
    out.push('{');
    let mut first = true;
    for key in order {
        let value = match map.get(key) {
            Some(v) => v,
            None if ALWAYS.contains(&key) => &Value::Null,
            None => continue,
        };
        if !first {
            out.push(',');
        }
        first = false;
        go_string(key, out);
        out.push(':');
        field(key, value, out);
    }
    out.push('}');
}

/// A struct whose fields hold plain values.
fn structure(v: &Value, order: &[&str], out: &mut String) {
    fields(v, order.iter().copied(), out, |_, value, out| plain(value, out));
}

fn each(v: &Value, out: &mut String, item: impl Fn(&Value, &mut String)) {
    let Value::Array(items) = v else { return plain(v, out) };
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(x, out);
    }
    out.push(']');
}

/// A Go map of structs: keys sorted, each value written by `item`.
fn map_of(v: &Value, out: &mut String, item: impl Fn(&Value, &mut String)) {
    let Value::Object(map) = v else { return plain(v, out) };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_string(k, out);
        out.push(':');
        item(&map[k], out);
    }
    out.push('}');
}

/// Any other value: objects are Go maps, written with sorted keys.
fn plain(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_string(s, out),
        Value::Array(_) => each(v, out, plain),
        Value::Object(_) => map_of(v, out, plain),
    }
}

/// A string as Go's encoding/json writes it: HTML-safe (`<`, `>`, `&` as
/// `\u003c`...), U+2028 and U+2029 escaped, other control characters as
/// `\u00xx` but for the short escapes.
fn go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_go_does() {
        let mut out = String::new();
        go_string("a&b <c> \"d\" \\ \n\t\u{1}\u{2028}é", &mut out);
        assert_eq!(out, r#""a\u0026b \u003cc\u003e \"d\" \\ \n\t\u0001\u2028é""#);
    }

    #[test]
    fn the_hash_of_a_plain_service_is_docker_composes() {
        // docker compose 2.40.3 labelled this service's container with this hash.
        let svc = Service {
            name: "s00".into(),
            image: Some("local/busybox:latest".into()),
            command: Some(vec!["sh".into(), "-c".into(), "trap \"exit 0\" TERM; sleep 100000 & wait".into()]),
            networks: [("default".to_string(), None)].into_iter().collect(),
            ..Default::default()
        };
        assert_eq!(config_hash(&svc), "012926b778916d79c560124d5c0a3a32c3de43bf2b547d8d2ff4e7c5624303ff");
        let mut other = svc.clone();
        other.profiles = vec!["p".into()];
        other.build = Some(Default::default());
        other.pull_policy = Some("always".into());
        assert_eq!(config_hash(&other), config_hash(&svc), "build, profiles and pull_policy are not hashed");
        other.command = None;
        assert_ne!(config_hash(&other), config_hash(&svc));
    }
}
