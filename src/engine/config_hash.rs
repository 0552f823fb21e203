//! The `com.docker.compose.config-hash` label, computed as docker compose
//! computes it: sha256 of the service as compose-go's `json.Marshal` writes
//! it (struct fields in declaration order, map keys sorted, Go's string
//! escapes), less what does not change the container. With the same hash,
//! `docker compose up` leaves rcompose's containers alone, and the other way
//! round, instead of recreating every one of them.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::compose::model::{Network, Service};

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

const HEALTHCHECK: &[&str] =
    &["test", "timeout", "interval", "retries", "start_period", "start_interval", "disable"];
const PORT: &[&str] =
    &["name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"];
const VOLUME: &[&str] =
    &["type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"];
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
const DEVICE: &[&str] = &["source", "target", "permissions"];
const LOGGING: &[&str] = &["driver", "options"];
const WATCH_RULE: &[&str] =
    &["path", "action", "target", "exec", "include", "ignore", "initial_sync"];
const HOOK: &[&str] = &["command", "user", "privileged", "working_dir", "environment"];
const BLKIO: &[&str] = &[
    "weight",
    "weight_device",
    "device_read_bps",
    "device_read_iops",
    "device_write_bps",
    "device_write_iops",
];
const DEVICE_REQUEST: &[&str] = &["capabilities", "driver", "count", "device_ids", "options"];
const FILE_REF: &[&str] = &["source", "target", "uid", "gid", "mode"];
const DEPLOY: &[&str] = &[
    "mode",
    "replicas",
    "labels",
    "update_config",
    "rollback_config",
    "resources",
    "restart_policy",
    "placement",
    "endpoint_mode",
];
const RESOURCES: &[&str] = &["limits", "reservations"];
const PLACEMENT: &[&str] = &["constraints", "preferences", "max_replicas_per_node"];
const RESOURCE: &[&str] = &["cpus", "memory", "pids", "devices", "generic_resources"];

/// docker compose's config-hash of a service.
pub fn config_hash(service: &Service) -> String {
    let mut value = serde_json::to_value(service).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value
        && !service.label_file.is_empty()
    {
        map.insert("label_file".into(), service.label_file.clone().into());
    }
    sha256(&go_escapes(&serde_json::to_string(&in_go_order(&value)).unwrap_or_default()))
}

/// compose-go's `NetworkConfig` and its `ipam` parts, in declaration order.
const NETWORK_CONFIG: &[&str] = &[
    "name",
    "driver",
    "driver_opts",
    "ipam",
    "external",
    "internal",
    "attachable",
    "labels",
    "enable_ipv4",
    "enable_ipv6",
];
const IPAM: &[&str] = &["driver", "config"];
const IPAM_POOL: &[&str] = &["subnet", "gateway", "ip_range", "aux_addresses"];

/// docker compose's config-hash of a network it creates: with it, each tool
/// sees when the other's network no longer matches the file.
pub fn network_hash(net: &Network) -> String {
    let mut value = serde_json::to_value(net).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        // A struct, so never left out: `{}` when the file has no `ipam`.
        map.entry("ipam").or_insert_with(|| Value::Object(Default::default()));
    }
    let ordered = fields(&value, NETWORK_CONFIG.iter().copied(), |key, value| match key {
        "ipam" => fields(value, IPAM.iter().copied(), |key, value| match key {
            "config" => each(value, |p| structure(p, IPAM_POOL)),
            _ => sorted(value),
        }),
        _ => sorted(value),
    });
    sha256(&go_escapes(&serde_json::to_string(&ordered).unwrap_or_default()))
}

fn sha256(text: &str) -> String {
    sha256_hex(text.as_bytes())
}

/// SHA-256 in lowercase hex, as the engine and compose write digests.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The service as compose-go holds it: struct fields in declaration order,
/// map keys sorted. serde_json keeps the order objects are built in.
fn in_go_order(v: &Value) -> Value {
    let order = SERVICE.iter().copied().filter(|k| !NOT_HASHED.contains(k));
    fields(v, order, |key, value| match key {
        "healthcheck" => structure(value, HEALTHCHECK),
        "ports" => each(value, |p| structure(p, PORT)),
        "volumes" => each(value, |m| {
            fields(m, VOLUME.iter().copied(), |key, value| match key {
                "bind" => structure(value, BIND),
                "volume" => structure(value, VOLUME_OPTS),
                "tmpfs" => structure(value, TMPFS),
                _ => sorted(value),
            })
        }),
        "networks" => map_of(value, |n| structure(n, NETWORK)),
        "ulimits" => map_of(value, |u| structure(u, ULIMIT)),
        "devices" => each(value, |d| structure(d, DEVICE)),
        "logging" => structure(value, LOGGING),
        // Its devices' fields are capitalized (no JSON names in compose-go), so sorted is Go's order.
        "blkio_config" => structure(value, BLKIO),
        "post_start" | "pre_stop" => each(value, |h| structure(h, HOOK)),
        "develop" => fields(value, ["watch"].into_iter(), |_, watch| {
            each(watch, |rule| {
                // `exec` is a struct, never left out, and its command is `null` when unset.
                let mut rule = rule.clone();
                if let Value::Object(r) = &mut rule {
                    r.entry("exec").or_insert_with(|| serde_json::json!({ "command": null }));
                }
                fields(&rule, WATCH_RULE.iter().copied(), |key, value| match key {
                    "exec" => structure(value, HOOK),
                    _ => sorted(value),
                })
            })
        }),
        "gpus" => each(value, |g| structure(g, DEVICE_REQUEST)),
        "secrets" | "configs" => each(value, |r| structure(r, FILE_REF)),
        "deploy" => {
            // docker compose leaves replicas out (scaling is not a new container)
            // and always writes resources, a struct, `{}` when empty.
            let mut deploy = value.clone();
            if let Value::Object(d) = &mut deploy {
                d.remove("replicas");
                d.entry("resources").or_insert_with(|| Value::Object(Default::default()));
            }
            fields(&deploy, DEPLOY.iter().copied(), |key, value| match key {
                "resources" => {
                    fields(value, RESOURCES.iter().copied(), |_, r| structure(r, RESOURCE))
                }
                "placement" => fields(value, PLACEMENT.iter().copied(), |key, p| match key {
                    "preferences" => each(p, |x| structure(x, &["spread"])),
                    _ => sorted(p),
                }),
                _ => sorted(value),
            })
        }
        // extra_hosts, a map in compose-go, comes from the loader sorted by host already.
        _ => sorted(value),
    })
}

/// A struct: the fields of `order` that the object has, in that order, each
/// value made by `field` (those of [`ALWAYS`] as `null` when missing).
fn fields<'a>(
    v: &Value,
    order: impl Iterator<Item = &'a str>,
    field: impl Fn(&str, &Value) -> Value,
) -> Value {
    let Value::Object(map) = v else { return sorted(v) };
    let mut out = serde_json::Map::new();
    for key in order {
        match map.get(key) {
            Some(value) => out.insert(key.to_string(), field(key, value)),
            None if ALWAYS.contains(&key) => out.insert(key.to_string(), Value::Null),
            None => continue,
        };
    }
    Value::Object(out)
}

/// A struct whose fields hold plain values.
fn structure(v: &Value, order: &[&str]) -> Value {
    fields(v, order.iter().copied(), |_, value| sorted(value))
}

fn each(v: &Value, item: impl Fn(&Value) -> Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(item).collect()),
        other => sorted(other),
    }
}

/// A Go map of structs: keys sorted, each value made by `item`.
fn map_of(v: &Value, item: impl Fn(&Value) -> Value) -> Value {
    let Value::Object(map) = v else { return sorted(v) };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    Value::Object(keys.into_iter().map(|k| (k.clone(), item(&map[k]))).collect())
}

/// Any other value: objects are Go maps, with sorted keys.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Array(_) => each(v, sorted),
        Value::Object(_) => map_of(v, sorted),
        other => other.clone(),
    }
}

/// serde_json's text with the escapes Go's encoding/json adds: HTML-safe
/// `<`, `>`, `&`, and U+2028, U+2029. Those characters can only stand
/// inside strings, so replacing them in the whole text is exact.
fn go_escapes(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_go_does() {
        let out =
            go_escapes(&serde_json::to_string("a&b <c> \"d\" \\ \n\t\u{1}\u{2028}é").unwrap());
        assert_eq!(out, r#""a\u0026b \u003cc\u003e \"d\" \\ \n\t\u0001\u2028é""#);
    }

    #[test]
    fn the_hash_of_a_plain_service_is_docker_composes() {
        // docker compose 2.40.3 labelled this service's container with this hash.
        let svc = Service {
            name: "s00".into(),
            image: Some("local/busybox:latest".into()),
            command: Some(vec![
                "sh".into(),
                "-c".into(),
                "trap \"exit 0\" TERM; sleep 100000 & wait".into(),
            ]),
            networks: [("default".to_string(), None)].into_iter().collect(),
            ..Default::default()
        };
        assert_eq!(
            config_hash(&svc),
            "012926b778916d79c560124d5c0a3a32c3de43bf2b547d8d2ff4e7c5624303ff"
        );
        let mut other = svc.clone();
        other.profiles = vec!["p".into()];
        other.build = Some(Default::default());
        other.pull_policy = Some("always".into());
        assert_eq!(
            config_hash(&other),
            config_hash(&svc),
            "build, profiles and pull_policy are not hashed"
        );
        other.command = None;
        assert_ne!(config_hash(&other), config_hash(&svc));
    }

    #[test]
    fn network_hashes_are_docker_composes() {
        use crate::compose::model::{Ipam, IpamPool};
        let map =
            |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        // docker compose 2.40.3 labelled these networks with these hashes.
        let plain = Network { name: "nh2_default".into(), ..Default::default() };
        assert_eq!(
            network_hash(&plain),
            "1c4492e3fa72ff5addfd59303502ac1ceebd3d8da29a552d1aa7f8613ac8776c"
        );
        let pool = IpamPool {
            subnet: Some("10.77.0.0/16".into()),
            gateway: Some("10.77.0.254".into()),
            ip_range: Some("10.77.0.0/24".into()),
            aux_addresses: map(&[("h1", "10.77.0.5")]),
        };
        let front = Network {
            name: "ipx_front".into(),
            ipam: Ipam { driver: None, config: vec![pool] },
            enable_ipv6: Some(false),
            ..Default::default()
        };
        assert_eq!(
            network_hash(&front),
            "a9f899cf0f0f9969cf81ee14e89975d523587dd2e950c827de06afa9ee737ccd"
        );
        let full = Network {
            name: "nh_default".into(),
            driver: Some("bridge".into()),
            driver_opts: map(&[("com.docker.network.bridge.name", "br-x"), ("a", "b")]),
            ipam: Ipam {
                driver: Some("default".into()),
                config: vec![IpamPool {
                    subnet: Some("10.78.0.0/16".into()),
                    aux_addresses: map(&[("b", "10.78.0.3"), ("a", "10.78.0.2")]),
                    ..Default::default()
                }],
            },
            attachable: true,
            labels: map(&[("z", "1"), ("a", "2")]),
            enable_ipv6: Some(false),
            ..Default::default()
        };
        assert_eq!(
            network_hash(&full),
            "32a262fdd95f42fb9d4d4065014ca8b03d57bea4c7917b48619d94a6a676af5d"
        );
        assert_ne!(
            network_hash(&Network { enable_ipv6: None, ..full.clone() }),
            network_hash(&full)
        );
    }
}
