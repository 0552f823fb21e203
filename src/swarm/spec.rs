//! A compose service as a swarm service spec, in the Engine API's JSON, as
//! `docker stack deploy` converts it (its names, labels and defaults).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::compose::Project;
use crate::compose::model::{Healthcheck, MountType, RestartPolicy, Service};
use crate::compose::syntax::parse_duration;

/// The hash of a service's spec, on its containers: which tasks run the
/// spec just deployed, once an update has begun replacing the old ones.
pub(super) const SPEC_HASH: &str = "dev.rcompose.stack.spec-hash";

/// The label docker stack puts on everything it makes.
pub const NAMESPACE: &str = "com.docker.stack.namespace";

/// Whether an image name says the registry it lives in
/// (`registry.example.com/app`, `127.0.0.1:5000/app`, `localhost/app`).
pub fn names_registry(image: &str) -> bool {
    image.split_once('/').is_some_and(|(first, _)| {
        first.contains('.') || first.contains(':') || first == "localhost"
    })
}

/// A list filter for what docker stack labelled: one stack's, or every stack's.
pub(super) fn stack_filter(stack: Option<&str>) -> Option<HashMap<String, Vec<String>>> {
    let value = match stack {
        Some(s) => format!("{NAMESPACE}={s}"),
        None => NAMESPACE.to_string(),
    };
    Some(HashMap::from([("label".to_string(), vec![value])]))
}

/// An engine error as the message the engine gave.
pub(super) fn api(e: bollard::errors::Error) -> anyhow::Error {
    anyhow::anyhow!(crate::engine::engine_message(&e))
}

/// The spec of one service, run from `image`.
pub(super) fn service(
    project: &Project,
    svc: &Service,
    stack: &str,
    image: &str,
    dnsrr: bool,
    notes: &mut Vec<String>,
) -> Result<Value, String> {
    let swarm = svc.deploy.as_ref().map(|d| &d.swarm);
    let get = |k: &str| swarm.and_then(|m| m.get(k));
    let mut labels: Map<String, Value> =
        get("labels").and_then(Value::as_object).cloned().unwrap_or_default();
    labels.insert(NAMESPACE.into(), stack.into());
    labels.insert("com.docker.stack.image".into(), image.into());
    let mut task = json!({"ContainerSpec": container(project, svc, stack, image)?});
    if let Some(r) = resources(svc) {
        task["Resources"] = r;
    }
    task["RestartPolicy"] = restart(svc, get("restart_policy"))?;
    if let Some(p) = svc.deploy.as_ref().map(|d| &d.placement) {
        let mut placement = Map::new();
        if !p.constraints.is_empty() {
            placement.insert("Constraints".into(), json!(p.constraints));
        }
        if !p.preferences.is_empty() {
            let prefs: Vec<Value> = p
                .preferences
                .iter()
                .map(|x| json!({"Spread": {"SpreadDescriptor": x.spread}}))
                .collect();
            placement.insert("Preferences".into(), prefs.into());
        }
        if p.max_replicas_per_node > 0 {
            placement.insert("MaxReplicas".into(), p.max_replicas_per_node.into());
        }
        if !placement.is_empty() {
            task["Placement"] = Value::Object(placement);
        }
    }
    task["Networks"] = networks(project, svc).into();
    if let Some(l) = &svc.logging {
        task["LogDriver"] = json!({"Name": l.driver.clone().unwrap_or_else(|| "json-file".into()),
                                   "Options": l.options});
    }
    let mode = match get("mode").and_then(Value::as_str) {
        Some("global") => json!({"Global": {}}),
        _ => json!({"Replicated": {"Replicas": svc.replicas()}}),
    };
    let mut spec = json!({
        "Name": format!("{stack}_{}", svc.name),
        "Labels": labels,
        "TaskTemplate": task,
        "Mode": mode,
        "EndpointSpec": endpoint(svc, get("endpoint_mode").and_then(Value::as_str), dnsrr, notes),
    });
    for (key, field) in [("update_config", "UpdateConfig"), ("rollback_config", "RollbackConfig")] {
        if let Some(c) = get(key) {
            spec[field] = update_config(c)?;
        }
    }
    for (set, what) in [
        (!svc.depends_on.is_empty(), ""),
        (svc.network_mode.is_some(), "network_mode"),
        (!svc.devices.is_empty(), "devices"),
        (svc.privileged, "privileged"),
        (!svc.links.is_empty(), "links"),
    ] {
        if set && !what.is_empty() {
            notes.push(format!(
                "service {}: {what} has no swarm counterpart and is left out",
                svc.name
            ));
        }
    }
    Ok(spec)
}

fn container(project: &Project, svc: &Service, stack: &str, image: &str) -> Result<Value, String> {
    let mut labels: Map<String, Value> =
        svc.labels.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
    labels.insert(NAMESPACE.into(), stack.into());
    let mut c = json!({"Image": image, "Labels": labels});
    if let Some(e) = &svc.entrypoint {
        c["Command"] = json!(e);
    }
    if let Some(cmd) = &svc.command {
        c["Args"] = json!(cmd);
    }
    let env: Vec<String> = svc
        .environment
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    if !env.is_empty() {
        c["Env"] = env.into();
    }
    let text = |c: &mut Value, field: &str, v: &Option<String>| {
        if let Some(v) = v {
            c[field] = v.clone().into();
        }
    };
    text(&mut c, "Dir", &svc.working_dir);
    text(&mut c, "User", &svc.user);
    text(&mut c, "Hostname", &svc.hostname);
    text(&mut c, "StopSignal", &svc.stop_signal);
    for (field, on) in
        [("TTY", svc.tty), ("OpenStdin", svc.stdin_open), ("ReadOnly", svc.read_only)]
    {
        if on {
            c[field] = true.into();
        }
    }
    if let Some(i) = svc.init {
        c["Init"] = i.into();
    }
    if let Some(g) = svc.stop_grace_period {
        c["StopGracePeriod"] = nanos(g).into();
    }
    if !svc.group_add.is_empty() {
        c["Groups"] = json!(svc.group_add);
    }
    if !svc.cap_add.is_empty() {
        c["CapabilityAdd"] = json!(svc.cap_add);
    }
    if !svc.cap_drop.is_empty() {
        c["CapabilityDrop"] = json!(svc.cap_drop);
    }
    if !svc.sysctls.is_empty() {
        c["Sysctls"] = json!(svc.sysctls);
    }
    if !svc.extra_hosts.is_empty() {
        // "HOST:IP" or "HOST=IP" in compose, "IP HOST" in /etc/hosts' order for the swarm.
        let hosts: Vec<String> = svc
            .extra_hosts
            .iter()
            .map(|h| match h.split_once('=').or_else(|| h.split_once(':')) {
                Some((host, ip)) => format!("{} {host}", ip.trim_matches(['[', ']'])),
                None => h.clone(),
            })
            .collect();
        c["Hosts"] = hosts.into();
    }
    if !svc.dns.is_empty() || !svc.dns_search.is_empty() || !svc.dns_opt.is_empty() {
        c["DNSConfig"] =
            json!({"Nameservers": svc.dns, "Search": svc.dns_search, "Options": svc.dns_opt});
    }
    if let Some(h) = &svc.healthcheck {
        c["HealthCheck"] = health(h);
    }
    let mounts = mounts(project, svc, stack);
    if !mounts.is_empty() {
        c["Mounts"] = mounts.into();
    }
    for (field, refs, default_dir) in
        [("Configs", &svc.configs, "/"), ("Secrets", &svc.secrets, "")]
    {
        let table = if field == "Configs" { &project.configs } else { &project.secrets };
        let out: Vec<Value> = refs
            .iter()
            .map(|r| {
                let target =
                    r.target.clone().unwrap_or_else(|| format!("{default_dir}{}", r.source));
                // A secret's file is named inside /run/secrets, where the swarm puts them all.
                let target = match target.strip_prefix("/run/secrets/") {
                    Some(rel) if field == "Secrets" => rel.to_string(),
                    _ => target,
                };
                let name =
                    table.get(&r.source).map_or_else(|| r.source.clone(), |o| o.name.clone());
                let key = if field == "Configs" { "ConfigName" } else { "SecretName" };
                json!({"File": {"Name": target, "UID": r.uid.clone().unwrap_or_else(|| "0".into()),
                                "GID": r.gid.clone().unwrap_or_else(|| "0".into()),
                                "Mode": r.mode.unwrap_or(0o444)},
                       key: name})
            })
            .collect();
        if !out.is_empty() {
            c[field] = out.into();
        }
    }
    Ok(c)
}

fn mounts(project: &Project, svc: &Service, stack: &str) -> Vec<Value> {
    let ns = json!({ NAMESPACE: stack });
    svc.volumes
        .iter()
        .map(|m| {
            let mut v = json!({"Target": m.target, "ReadOnly": m.read_only});
            match (m.kind, &m.source) {
                (MountType::Bind, Some(s)) => {
                    v["Type"] = "bind".into();
                    v["Source"] = s.clone().into();
                }
                (MountType::Volume, Some(s)) => {
                    v["Type"] = "volume".into();
                    let vol = project.volumes.get(s);
                    v["Source"] = vol.map_or_else(|| s.clone(), |v| v.name.clone()).into();
                    let mut opts = json!({"Labels": ns});
                    if let Some(vol) = vol.filter(|v| v.driver.is_some() || !v.driver_opts.is_empty()) {
                        opts["DriverConfig"] = json!({"Name": vol.driver.clone().unwrap_or_else(|| "local".into()),
                                                      "Options": vol.driver_opts});
                    }
                    if m.volume.as_ref().is_some_and(|o| o.nocopy) {
                        opts["NoCopy"] = true.into();
                    }
                    v["VolumeOptions"] = opts;
                }
                (MountType::Tmpfs, _) => {
                    v["Type"] = "tmpfs".into();
                    if let Some(t) = &m.tmpfs {
                        let mut o = Map::new();
                        if let Some(size) = t.size {
                            o.insert("SizeBytes".into(), size.into());
                        }
                        if let Some(mode) = t.mode {
                            o.insert("Mode".into(), mode.into());
                        }
                        v["TmpfsOptions"] = Value::Object(o);
                    }
                }
                (_, None) => v["Type"] = "volume".into(),
            }
            v
        })
        .collect()
}

fn networks(project: &Project, svc: &Service) -> Vec<Value> {
    svc.networks
        .iter()
        .map(|(key, opts)| {
            let name = project.networks.get(key).map_or_else(|| key.clone(), |n| n.name.clone());
            // container_name answers in compose's DNS; in a swarm it can only be an alias.
            let mut aliases = vec![svc.name.clone()];
            aliases.extend(svc.container_name.iter().filter(|c| **c != svc.name).cloned());
            if let Some(o) = opts {
                aliases.extend(o.aliases.iter().cloned());
            }
            json!({"Target": name, "Aliases": aliases})
        })
        .collect()
}

/// `ports` as the swarm publishes them; without IPVS, on each node (`host`)
/// with DNS round robin, which is all such a swarm can do.
fn endpoint(svc: &Service, mode: Option<&str>, dnsrr: bool, notes: &mut Vec<String>) -> Value {
    let mode = mode.unwrap_or(if dnsrr { "dnsrr" } else { "vip" });
    let host_only = mode == "dnsrr";
    let ports: Vec<Value> = svc
        .ports
        .iter()
        .map(|p| {
            let mut port = json!({"Protocol": p.protocol, "TargetPort": p.target,
                                  "PublishMode": if host_only { "host" } else { p.mode.as_str() }});
            if let Some(n) = p.published_port() {
                port["PublishedPort"] = n.into();
            }
            port
        })
        .collect();
    if host_only && svc.ports.iter().any(|p| p.mode != "host") {
        notes.push(format!(
            "service {}: endpoint_mode dnsrr: its ports are published on the node running each task (mode host)",
            svc.name
        ));
    }
    json!({"Mode": mode, "Ports": ports})
}

fn health(h: &Healthcheck) -> Value {
    if h.disable {
        return json!({"Test": ["NONE"]});
    }
    let mut v = Map::new();
    if let Some(t) = &h.test {
        v.insert("Test".into(), json!(t));
    }
    for (field, d) in [
        ("Interval", h.interval),
        ("Timeout", h.timeout),
        ("StartPeriod", h.start_period),
        ("StartInterval", h.start_interval),
    ] {
        if let Some(d) = d {
            v.insert(field.into(), nanos(d).into());
        }
    }
    if let Some(r) = h.retries {
        v.insert("Retries".into(), r.into());
    }
    Value::Object(v)
}

fn resources(svc: &Service) -> Option<Value> {
    let r = svc.deploy.as_ref().map(|d| &d.resources);
    let cpus = |c: f64| format!("{:.0}", c * 1e9).parse::<i64>().unwrap_or(0);
    let bytes = |m: &Option<String>| m.as_deref().and_then(|m| m.parse::<i64>().ok());
    let mut out = Map::new();
    let mut limits = Map::new();
    if let Some(c) = r.and_then(|r| r.limits.as_ref()).and_then(|l| l.cpus).or(svc.cpus) {
        limits.insert("NanoCPUs".into(), cpus(c).into());
    }
    let mem = r
        .and_then(|r| r.limits.as_ref())
        .map(|l| l.memory.clone())
        .unwrap_or_else(|| svc.mem_limit.clone());
    if let Some(m) = bytes(&mem) {
        limits.insert("MemoryBytes".into(), m.into());
    }
    if let Some(p) = r.and_then(|r| r.limits.as_ref()).and_then(|l| l.pids) {
        limits.insert("Pids".into(), p.into());
    }
    let mut reservations = Map::new();
    if let Some(c) = r.and_then(|r| r.reservations.as_ref()).and_then(|l| l.cpus) {
        reservations.insert("NanoCPUs".into(), cpus(c).into());
    }
    if let Some(m) = bytes(&r.and_then(|r| r.reservations.as_ref()).and_then(|l| l.memory.clone()))
    {
        reservations.insert("MemoryBytes".into(), m.into());
    }
    if !limits.is_empty() {
        out.insert("Limits".into(), Value::Object(limits));
    }
    if !reservations.is_empty() {
        out.insert("Reservations".into(), Value::Object(reservations));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// `deploy.restart_policy`, else `restart` as docker stack reads it.
fn restart(svc: &Service, policy: Option<&Value>) -> Result<Value, String> {
    if let Some(p) = policy {
        let mut out = Map::new();
        if let Some(c) = p.get("condition").and_then(Value::as_str) {
            out.insert("Condition".into(), c.into());
        }
        for (key, field) in [("delay", "Delay"), ("window", "Window")] {
            if let Some(d) = p.get(key).and_then(Value::as_str) {
                out.insert(field.into(), nanos(parse_duration(d)?).into());
            }
        }
        if let Some(n) = p.get("max_attempts").and_then(Value::as_u64) {
            out.insert("MaxAttempts".into(), n.into());
        }
        return Ok(Value::Object(out));
    }
    Ok(match svc.restart.as_deref().and_then(|r| r.parse::<RestartPolicy>().ok()) {
        Some(RestartPolicy::No) => json!({"Condition": "none"}),
        Some(RestartPolicy::OnFailure(n)) => {
            let mut v = json!({"Condition": "on-failure"});
            if let Some(n) = n {
                v["MaxAttempts"] = n.into();
            }
            v
        }
        _ => json!({"Condition": "any"}),
    })
}

fn update_config(c: &Value) -> Result<Value, String> {
    let mut out = Map::new();
    for (key, field) in [("delay", "Delay"), ("monitor", "Monitor")] {
        if let Some(d) = c.get(key).and_then(Value::as_str) {
            out.insert(field.into(), nanos(parse_duration(d)?).into());
        }
    }
    if let Some(n) = c.get("parallelism").and_then(Value::as_u64) {
        out.insert("Parallelism".into(), n.into());
    }
    for (key, field) in [("failure_action", "FailureAction"), ("order", "Order")] {
        if let Some(s) = c.get(key).and_then(Value::as_str) {
            out.insert(field.into(), s.into());
        }
    }
    if let Some(r) = c.get("max_failure_ratio").and_then(Value::as_f64) {
        out.insert("MaxFailureRatio".into(), r.into());
    }
    Ok(Value::Object(out))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
