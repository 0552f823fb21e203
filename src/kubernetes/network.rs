//! How services find each other and the world: a headless Service per
//! service, so its compose name resolves to its pods as compose's DNS
//! resolves it to its containers (any port, every replica), and a
//! LoadBalancer Service for the ports compose publishes on the host.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Ctx, names};
use crate::compose::model::Service;

/// The most ports one `expose` or `ports` range becomes.
const MAX_RANGE: u32 = 100;

/// The container ports a service listens on, as far as the project says:
/// `ports`, `expose`, and those an nginx.conf sends requests to.
pub(super) fn container_ports(ctx: &mut Ctx, svc: &Service) -> Vec<(u16, String)> {
    let mut out: BTreeSet<(u16, String)> = BTreeSet::new();
    for p in &svc.ports {
        out.insert((p.target, p.protocol.to_ascii_uppercase()));
    }
    for e in &svc.expose {
        let (range, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        match (lo.parse::<u16>(), hi.parse::<u16>()) {
            (Ok(lo), Ok(hi)) if lo <= hi && u32::from(hi - lo) < MAX_RANGE => {
                for p in lo..=hi {
                    out.insert((p, proto.to_ascii_uppercase()));
                }
            }
            _ => ctx.note(format!(
                "service {}: expose {e:?} is left out (a range of at most {MAX_RANGE} ports is taken)",
                svc.name
            )),
        }
    }
    if let Some(ports) = ctx.proxied_ports.get(&svc.name) {
        out.extend(ports.iter().map(|p| (*p, "TCP".to_string())));
    }
    out.into_iter().collect()
}

/// The Services of one service: its name in the cluster, and its published ports.
pub(super) fn services(
    ctx: &mut Ctx,
    svc: &Service,
    name: &str,
    ports: &[(u16, String)],
    proxy: bool,
) {
    let spec_ports: Vec<Value> = ports
        .iter()
        .map(|(p, proto)| {
            json!({"name": names::port_name(proto, *p), "port": p, "targetPort": p, "protocol": proto})
        })
        .collect();
    let mut spec = json!({"clusterIP": "None", "selector": ctx.selector(name)});
    if !spec_ports.is_empty() {
        spec["ports"] = spec_ports.into();
    }
    let mut aliases: Vec<&str> = svc.container_name.iter().map(String::as_str).collect();
    aliases
        .extend(svc.networks.values().flatten().flat_map(|n| n.aliases.iter().map(String::as_str)));
    let mut all = vec![name.to_string()];
    for a in aliases {
        all.extend(alias(ctx, svc, a));
    }
    for (i, service_name) in all.into_iter().enumerate() {
        let value = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": service_name, "labels": ctx.labels(name)},
            "spec": spec,
        });
        if i > 0 {
            ctx.note(format!(
                "service {}: also reachable as {service_name}, as compose's DNS answers that name",
                svc.name
            ));
        }
        ctx.push("Service", service_name, value);
    }
    if svc.name != name {
        ctx.note(format!(
            "service {}: named {name} in the cluster (Kubernetes names are lowercase letters, digits and '-'): other services reach it by that name",
            svc.name
        ));
    }
    published(ctx, svc, name, proxy);
}

/// Another name compose's DNS gives the service (`container_name`, a
/// network alias): a Service of its own over the same pods.
fn alias(ctx: &mut Ctx, svc: &Service, alias: &str) -> Option<String> {
    if ctx.project.services.contains_key(alias)
        || ctx.names.get(&svc.name).is_some_and(|n| n == alias)
    {
        return None;
    }
    let l = ctx.workloads.try_claim(alias);
    if l.is_none() {
        ctx.note(format!(
            "service {}: the name {alias} is taken in the cluster by another object, so it is not an alias there",
            svc.name
        ));
    }
    l
}

/// A LoadBalancer for the ports compose publishes on the host; a proxy's
/// are the Ingress's to take.
fn published(ctx: &mut Ctx, svc: &Service, name: &str, proxy: bool) {
    let mut seen = BTreeSet::new();
    let mut ports = Vec::new();
    for p in &svc.ports {
        let published = p.published_port().unwrap_or(p.target);
        let proto = p.protocol.to_ascii_uppercase();
        if !seen.insert((published, proto.clone())) {
            continue;
        }
        if p.host_ip.is_some() {
            ctx.note(format!(
                "service {}: the host address of port {published} is left out; a LoadBalancer listens where the cluster puts it",
                svc.name
            ));
        }
        ports.push(json!({"name": names::port_name(&proto, published), "port": published,
                          "targetPort": p.target, "protocol": proto}));
    }
    if ports.is_empty() {
        return;
    }
    if proxy {
        ctx.note(format!(
            "service {}: its published ports are left to the Ingress in front of it",
            svc.name
        ));
        return;
    }
    let lb = ctx.workloads.fresh(&names::joined(name, "published"));
    let value = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": lb, "labels": ctx.labels(name)},
        "spec": {"type": "LoadBalancer", "selector": ctx.selector(name), "ports": ports},
    });
    ctx.push("Service", lb, value);
}
