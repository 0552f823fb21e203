//! A service as a Deployment, or a StatefulSet when it keeps data in claims
//! of its own; its container as compose would run it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::storage::PodStorage;
use super::{Ctx, env, names, network, storage, wait};
use crate::compose::model::{Healthcheck, Hook, PullPolicy, Service};

/// Makes the workload and Services of one service.
pub(super) fn service(
    ctx: &mut Ctx,
    svc: &Service,
    oneshots: &BTreeSet<String>,
) -> Result<(), String> {
    let name = ctx.name(&svc.name);
    let mut pod = PodStorage::default();
    let ports = network::container_ports(ctx, svc);
    let main = container(ctx, svc, &name, &ports, &mut pod)?;
    let mut init = Vec::new();
    for step in wait::init_steps(ctx, svc, oneshots) {
        init.push(match step {
            wait::Init::Wait(c) => c,
            // No ports: a pod's port names must not repeat, and nothing connects to a one-shot.
            wait::Init::Run(dep) => {
                let name = format!("run-{}", ctx.name(&dep.name));
                container(ctx, dep, &name, &[], &mut pod)?
            }
        });
    }
    let mut spec = pod_spec(ctx, svc, vec![main], &pod);
    if !init.is_empty() {
        spec["initContainers"] = init.into();
    }
    let mut metadata = json!({"labels": ctx.labels(&name)});
    let notes = annotations(ctx, svc);
    if notes.as_object().is_some_and(|m| !m.is_empty()) {
        metadata["annotations"] = notes;
    }
    let template = json!({"metadata": metadata, "spec": spec});
    let mut workload = json!({
        "replicas": svc.replicas(),
        "selector": {"matchLabels": ctx.selector(&name)},
    });
    let kind = if pod.claims.is_empty() {
        workload["template"] = template;
        "Deployment"
    } else {
        workload["serviceName"] = name.clone().into();
        workload["template"] = template;
        workload["volumeClaimTemplates"] = pod.claims.clone().into();
        "StatefulSet"
    };
    let value = json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "labels": ctx.labels(&name)},
        "spec": workload,
    });
    ctx.push(kind, name.clone(), value);
    let proxy = crate::orchestrate::builtin::select::is_builtin_proxy(svc, false);
    network::services(ctx, svc, &name, &ports, proxy);
    if svc.build.is_some() {
        ctx.note(format!(
            "service {}: its image {} is built here; push it where the cluster pulls from (`rcompose build && rcompose push`)",
            svc.name,
            ctx.project.image_for(svc)
        ));
    }
    left_out(ctx, svc);
    Ok(())
}

/// Compose labels go on the pods as annotations: their keys and values
/// are free text, which Kubernetes labels are not.
fn annotations(ctx: &mut Ctx, svc: &Service) -> Value {
    let mut out = Map::new();
    for (k, v) in &svc.labels {
        let name = k.rsplit('/').next().unwrap_or(k);
        if name.is_empty() || name.len() > 63 || k.len() > 253 {
            ctx.note(format!(
                "service {}: label {k:?} is too long for a Kubernetes annotation and is left out",
                svc.name
            ));
            continue;
        }
        out.insert(k.clone(), v.clone().into());
    }
    Value::Object(out)
}

/// The pod around the containers: what compose sets per container but
/// Kubernetes per pod.
fn pod_spec(ctx: &mut Ctx, svc: &Service, containers: Vec<Value>, pod: &PodStorage) -> Value {
    let mut spec = json!({"containers": containers});
    if !pod.volumes.is_empty() {
        spec["volumes"] = pod.volumes.clone().into();
    }
    if let Some(g) = svc.stop_grace_period {
        spec["terminationGracePeriodSeconds"] = seconds(g).into();
    }
    if let Some(h) = &svc.hostname {
        spec["hostname"] = names::label(h).into();
    }
    let mut hosts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in &svc.extra_hosts {
        let (host, ip) =
            entry.split_once('=').or_else(|| entry.split_once(':')).unwrap_or((entry, ""));
        hosts.entry(ip.trim_matches(['[', ']']).to_string()).or_default().push(host.to_string());
    }
    if !hosts.is_empty() {
        let aliases: Vec<Value> =
            hosts.into_iter().map(|(ip, names)| json!({"ip": ip, "hostnames": names})).collect();
        spec["hostAliases"] = aliases.into();
    }
    if !svc.dns.is_empty() || !svc.dns_search.is_empty() || !svc.dns_opt.is_empty() {
        let options: Vec<Value> = svc
            .dns_opt
            .iter()
            .map(|o| match o.split_once(':') {
                Some((n, v)) => json!({"name": n, "value": v}),
                None => json!({"name": o}),
            })
            .collect();
        spec["dnsConfig"] =
            json!({"nameservers": svc.dns, "searches": svc.dns_search, "options": options});
    }
    for (field, mode) in
        [("hostNetwork", &svc.network_mode), ("hostPID", &svc.pid), ("hostIPC", &svc.ipc)]
    {
        if mode.as_deref() == Some("host") {
            spec[field] = true.into();
        }
    }
    if !svc.sysctls.is_empty() {
        let sysctls: Vec<Value> =
            svc.sysctls.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
        spec["securityContext"] = json!({"sysctls": sysctls});
    }
    if svc.network_mode.as_deref().is_some_and(|m| m != "host") {
        ctx.note(format!(
            "service {}: network_mode {:?} is left out; pods share one network",
            svc.name,
            svc.network_mode.as_deref().unwrap_or_default()
        ));
    }
    spec
}

/// The container of a service (also the init container of a one-shot).
pub(super) fn container(
    ctx: &mut Ctx,
    svc: &Service,
    name: &str,
    ports: &[(u16, String)],
    pod: &mut PodStorage,
) -> Result<Value, String> {
    let mut c = json!({"name": name, "image": ctx.project.image_for(svc)});
    c["imagePullPolicy"] = match svc.pull() {
        PullPolicy::Always => "Always",
        PullPolicy::Never => "Never",
        PullPolicy::Missing | PullPolicy::Build => "IfNotPresent",
    }
    .into();
    if let Some(e) = svc.entrypoint.as_ref().filter(|e| !e.is_empty()) {
        c["command"] = e.clone().into();
    }
    if let Some(cmd) = &svc.command {
        c["args"] = cmd.clone().into();
    }
    if let Some(w) = &svc.working_dir {
        c["workingDir"] = w.clone().into();
    }
    let (env, env_from) = env::container_env(ctx, svc);
    if env.as_array().is_some_and(|a| !a.is_empty()) {
        c["env"] = env;
    }
    if env_from.as_array().is_some_and(|a| !a.is_empty()) {
        c["envFrom"] = env_from;
    }
    if !ports.is_empty() {
        let ports: Vec<Value> = ports
            .iter()
            .map(|(p, proto)| json!({"name": names::port_name(proto, *p), "containerPort": p, "protocol": proto}))
            .collect();
        c["ports"] = ports.into();
    }
    let mounts = storage::mounts(ctx, svc, pod)?;
    if !mounts.is_empty() {
        c["volumeMounts"] = mounts.into();
    }
    if let Some(r) = resources(svc) {
        c["resources"] = r;
    }
    if let Some(s) = security(ctx, svc) {
        c["securityContext"] = s;
    }
    if let Some(probe) = svc.healthcheck.as_ref().filter(|_| svc.has_healthcheck()).and_then(probe)
    {
        c["readinessProbe"] = probe;
    }
    let mut lifecycle = Map::new();
    for (key, hooks) in [("postStart", &svc.post_start), ("preStop", &svc.pre_stop)] {
        if let Some(h) = hooks.first() {
            lifecycle.insert(key.into(), json!({"exec": {"command": hook_command(h)}}));
        }
    }
    if !lifecycle.is_empty() {
        c["lifecycle"] = Value::Object(lifecycle);
    }
    if svc.tty {
        c["tty"] = true.into();
    }
    if svc.stdin_open {
        c["stdin"] = true.into();
    }
    Ok(c)
}

/// A hook's command, with its environment and folder set by the shell,
/// which is all an exec handler has.
fn hook_command(h: &Hook) -> Vec<String> {
    if h.environment.is_empty() && h.working_dir.is_none() {
        return h.command.clone();
    }
    let mut script = String::new();
    if let Some(w) = &h.working_dir {
        script.push_str(&format!("cd {} && ", shell_quote(w)));
    }
    for (k, v) in &h.environment {
        script.push_str(&format!("{k}={} ", shell_quote(v)));
    }
    script.push_str("exec \"$@\"");
    let mut out = vec!["/bin/sh".to_string(), "-c".into(), script, "hook".into()];
    out.extend(h.command.iter().cloned());
    out
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Limits and requests from `deploy.resources`, or the older `cpus`/`mem_limit`.
fn resources(svc: &Service) -> Option<Value> {
    let deploy = svc.deploy.as_ref().map(|d| &d.resources);
    let limits = deploy.and_then(|r| r.limits.as_ref());
    let reservations = deploy.and_then(|r| r.reservations.as_ref());
    let mut out = Map::new();
    let mut limit = Map::new();
    if let Some(cpus) = limits.and_then(|l| l.cpus).or(svc.cpus) {
        limit.insert("cpu".into(), millicores(cpus).into());
    }
    if let Some(m) = limits.and_then(|l| l.memory.clone()).or_else(|| svc.mem_limit.clone()) {
        limit.insert("memory".into(), m.into());
    }
    let mut request = Map::new();
    if let Some(cpus) = reservations.and_then(|r| r.cpus) {
        request.insert("cpu".into(), millicores(cpus).into());
    }
    if let Some(m) =
        reservations.and_then(|r| r.memory.clone()).or_else(|| svc.mem_reservation.clone())
    {
        request.insert("memory".into(), m.into());
    }
    if !limit.is_empty() {
        out.insert("limits".into(), Value::Object(limit));
    }
    if !request.is_empty() {
        out.insert("requests".into(), Value::Object(request));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

fn millicores(cpus: f64) -> String {
    format!("{:.0}m", (cpus * 1000.0).max(1.0))
}

/// `user`, `privileged`, capabilities and `read_only`.
fn security(ctx: &mut Ctx, svc: &Service) -> Option<Value> {
    let mut out = Map::new();
    if let Some(user) = &svc.user {
        let (u, g) = user.split_once(':').map_or((user.as_str(), None), |(u, g)| (u, Some(g)));
        match (u.parse::<i64>(), g.map(str::parse::<i64>)) {
            (Ok(u), None) => drop(out.insert("runAsUser".into(), u.into())),
            (Ok(u), Some(Ok(g))) => {
                out.insert("runAsUser".into(), u.into());
                out.insert("runAsGroup".into(), g.into());
            }
            _ => ctx.note(format!(
                "service {}: user {user:?} is a name; Kubernetes takes only numeric ids, so it is left out",
                svc.name
            )),
        }
    }
    if svc.privileged {
        out.insert("privileged".into(), true.into());
    }
    if svc.read_only {
        out.insert("readOnlyRootFilesystem".into(), true.into());
    }
    let caps = |list: &[String]| -> Vec<Value> {
        list.iter().map(|c| c.strip_prefix("CAP_").unwrap_or(c).to_string().into()).collect()
    };
    let mut capabilities = Map::new();
    if !svc.cap_add.is_empty() {
        capabilities.insert("add".into(), caps(&svc.cap_add).into());
    }
    if !svc.cap_drop.is_empty() {
        capabilities.insert("drop".into(), caps(&svc.cap_drop).into());
    }
    if !capabilities.is_empty() {
        out.insert("capabilities".into(), Value::Object(capabilities));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// A healthcheck as a readiness probe: a pod is ready when the container
/// would be healthy, which is what `depends_on: service_healthy` waits
/// for; it is not a liveness probe, as the engine never kills an unhealthy container.
fn probe(h: &Healthcheck) -> Option<Value> {
    let test = h.test.as_ref()?;
    let command: Vec<String> = match test.first().map(String::as_str) {
        Some("CMD") => test[1..].to_vec(),
        Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")],
        _ => return None,
    };
    let mut p = json!({"exec": {"command": command}});
    p["periodSeconds"] = seconds(h.interval.unwrap_or(Duration::from_secs(30))).into();
    p["timeoutSeconds"] = seconds(h.timeout.unwrap_or(Duration::from_secs(30))).into();
    p["failureThreshold"] = h.retries.unwrap_or(3).max(1).into();
    if let Some(start) = h.start_period {
        p["initialDelaySeconds"] = seconds(start).into();
    }
    Some(p)
}

/// Whole seconds, rounded up, at least one (Kubernetes' probes take no less).
fn seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

/// Says which settings have no place in a pod.
fn left_out(ctx: &mut Ctx, svc: &Service) {
    let set: [(&str, bool); 12] = [
        ("devices", !svc.devices.is_empty()),
        ("ulimits", !svc.ulimits.is_empty()),
        ("logging", svc.logging.is_some()),
        ("blkio_config", svc.blkio_config.is_some()),
        ("cgroup_parent", svc.cgroup_parent.is_some()),
        ("security_opt", !svc.security_opt.is_empty()),
        ("links", !svc.links.is_empty()),
        ("external_links", !svc.external_links.is_empty()),
        ("pids_limit", svc.pids_limit.is_some()),
        ("gpus", !svc.gpus.is_empty()),
        ("init", svc.init == Some(true)),
        ("runtime", svc.runtime.is_some()),
    ];
    let names: Vec<&str> = set.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    if !names.is_empty() {
        ctx.note(format!(
            "service {}: {} left out (no Kubernetes field says it)",
            svc.name,
            names.join(", ")
        ));
    }
    if svc.post_start.len() > 1 || svc.pre_stop.len() > 1 {
        ctx.note(format!(
            "service {}: Kubernetes runs one postStart and one preStop hook; the first of each is kept",
            svc.name
        ));
    }
}
