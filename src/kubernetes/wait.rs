//! `depends_on` in a cluster, where nothing starts pods in order: each
//! dependency is waited for by an init container until its name resolves
//! (a headless Service resolves only ready pods: running, or healthy where
//! the healthcheck made a readiness probe), and a one-shot dependency
//! (`service_completed_successfully`) runs as an init container itself,
//! which Kubernetes runs to success before the pod's containers.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Ctx;
use crate::compose::model::{Condition, Service};

/// The image of the waiting containers: the one Kubernetes' own init
/// container example uses, whose `nslookup` follows the pod's search path.
pub(super) const WAIT_IMAGE: &str = "busybox:1.28";

/// Services that others wait to complete: one-shots, not workloads.
pub(super) fn oneshots(project: &crate::compose::Project) -> BTreeSet<String> {
    project
        .services
        .values()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == Condition::ServiceCompletedSuccessfully)
        .map(|(name, _)| name.clone())
        .filter(|name| project.services.contains_key(name))
        .collect()
}

/// One init container of a pod, dependencies of one-shots first.
pub(super) enum Init<'a> {
    /// Waits for a service's name to resolve.
    Wait(Value),
    /// Runs a one-shot service to completion.
    Run(&'a Service),
}

/// The init containers a service's pod needs, in order.
pub(super) fn init_steps<'a>(
    ctx: &mut Ctx<'a>,
    svc: &Service,
    oneshots: &BTreeSet<String>,
) -> Vec<Init<'a>> {
    let mut out = Vec::new();
    let mut done = BTreeSet::new();
    visit(ctx, svc, oneshots, &mut done, &mut out);
    out
}

fn visit<'a>(
    ctx: &mut Ctx<'a>,
    svc: &Service,
    oneshots: &BTreeSet<String>,
    done: &mut BTreeSet<String>,
    out: &mut Vec<Init<'a>>,
) {
    let project = ctx.project;
    for (dep, d) in &svc.depends_on {
        let Some(dep_svc) = project.services.get(dep) else { continue };
        if !done.insert(dep.clone()) {
            continue;
        }
        let name = ctx.name(dep);
        if oneshots.contains(dep) {
            visit(ctx, dep_svc, oneshots, done, out);
            out.push(Init::Run(dep_svc));
            continue;
        }
        if d.condition == Condition::ServiceStarted && dep_svc.has_healthcheck() {
            ctx.note(format!(
                "service {}: waits for {dep} to be ready, which its healthcheck makes healthy, not only started",
                svc.name
            ));
        }
        out.push(Init::Wait(json!({
            "name": super::names::joined("wait-for", &name),
            "image": WAIT_IMAGE,
            "command": ["sh", "-c", format!(
                "until nslookup {name}.$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace).svc.cluster.local; do echo waiting for {name}; sleep 2; done"
            )],
        })));
    }
}
