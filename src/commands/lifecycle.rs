//! `rcompose start`, `stop` and `restart`: existing containers, in dependency order.

use std::collections::BTreeSet;

use crate::cli::{GlobalOpts, RestartArgs, ServicesArgs, TimeoutServicesArgs};
use crate::engine::{Engine, containers};
use crate::ui::Style;
use crate::ui::progress::Progress;

/// The targets among the proxies `served` (see [`crate::orchestrate::builtin::served`]).
fn proxies_in(served: &[String], targets: &BTreeSet<String>) -> Vec<String> {
    served.iter().filter(|p| targets.contains(*p)).cloned().collect()
}

fn start_proxies(
    project: &crate::compose::Project,
    global: &GlobalOpts,
    targets: &BTreeSet<String>,
    served: &[String],
    progress: &Progress,
) -> anyhow::Result<()> {
    for p in proxies_in(served, targets) {
        let item = format!("Proxy {}", crate::engine::spec::container_name(project, &project.services[&p]));
        progress.step(&item, "Starting", false);
        tokio::task::block_in_place(|| crate::orchestrate::builtin::spawn_detached(project, &super::reload_of(global), &p))?;
        progress.step(&item, "Started", true);
    }
    Ok(())
}

fn stop_proxies(
    project: &crate::compose::Project,
    targets: &BTreeSet<String>,
    served: &[String],
    timeout: Option<u64>,
    progress: &Progress,
) -> anyhow::Result<()> {
    for p in proxies_in(served, targets) {
        let item = format!("Proxy {}", crate::engine::spec::container_name(project, &project.services[&p]));
        progress.step(&item, "Stopping", false);
        let wait = std::time::Duration::from_secs(timeout.unwrap_or(10));
        tokio::task::block_in_place(|| crate::orchestrate::builtin::stop_detached(&project.name, &p, wait))?;
        progress.step(&item, "Stopped", true);
    }
    Ok(())
}

pub fn start(global: &GlobalOpts, args: &ServicesArgs, style: &Style) -> anyhow::Result<i32> {
    let g = global.clone();
    with_project(global, &args.services, style, move |engine, project, targets, served, progress| async move {
        super::start_services(&engine, &project, &targets, &progress).await?;
        start_proxies(&project, &g, &targets, &served, &progress)?;
        Ok(0)
    })
}

pub fn stop(global: &GlobalOpts, args: &TimeoutServicesArgs, style: &Style) -> anyhow::Result<i32> {
    let timeout = args.timeout;
    with_project(global, &args.services, style, move |engine, project, targets, served, progress| async move {
        // Proxies first: they depend on the containers.
        stop_proxies(&project, &targets, &served, timeout, &progress)?;
        super::stop_services(&engine, &project, &targets, timeout, &progress).await?;
        Ok(0)
    })
}

pub fn restart(global: &GlobalOpts, args: &RestartArgs, style: &Style) -> anyhow::Result<i32> {
    let timeout = args.timeout;
    let g = global.clone();
    let no_deps = args.no_deps;
    with_project(global, &args.services, style, move |engine, project, targets, served, progress| async move {
        let targets = if no_deps { targets } else { with_restart_dependents(&project, targets) };
        stop_proxies(&project, &targets, &served, timeout, &progress)?;
        super::stop_services(&engine, &project, &targets, timeout, &progress).await?;
        super::start_services(&engine, &project, &targets, &progress).await?;
        start_proxies(&project, &g, &targets, &served, &progress)?;
        Ok(0)
    })
}

/// `targets` and, transitively, the services that depend on one of them
/// with `restart: true`: as docker compose, restarting a dependency
/// restarts those after it (the start order puts them after it).
pub fn with_restart_dependents(project: &crate::compose::Project, mut targets: BTreeSet<String>) -> BTreeSet<String> {
    loop {
        let more: Vec<String> = project
            .services
            .iter()
            .filter(|(name, svc)| !targets.contains(*name) && svc.depends_on.iter().any(|(dep, d)| d.restart && targets.contains(dep)))
            .map(|(name, _)| name.clone())
            .collect();
        if more.is_empty() {
            return targets;
        }
        targets.extend(more);
    }
}

fn with_project<F, Fut>(global: &GlobalOpts, services: &[String], style: &Style, f: F) -> anyhow::Result<i32>
where
    F: FnOnce(Engine, crate::compose::Project, BTreeSet<String>, Vec<String>, Progress) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<i32>>,
{
    let Some(project) = super::load_for(global, services, style) else {
        return Ok(1);
    };
    let targets: BTreeSet<String> =
        if services.is_empty() { project.services.keys().cloned().collect() } else { services.iter().cloned().collect() };
    let progress = Progress::new(global.progress, style.color);
    super::runtime()?.block_on(async move {
        let engine = Engine::connect().await?;
        let existing = containers::list(&engine, &project.name, true).await?;
        let served = crate::orchestrate::builtin::served(&project, existing.iter().map(containers::service));
        let proxies = proxies_in(&served, &targets);
        if targets.iter().any(|t| !proxies.contains(t)) && existing.iter().all(|c| !targets.contains(containers::service(c))) {
            anyhow::bail!("no containers of {} to act on; run `rcompose up` first", targets.iter().cloned().collect::<Vec<_>>().join(", "));
        }
        f(engine, project, targets, served, progress).await
    })
}
