//! `start`, `stop`, `restart` and `down` on what exists: containers in
//! dependency order (reverse order to stop), the built-in proxies after the
//! containers they front have started and before they stop.

use std::collections::BTreeSet;

use futures::future::join_all;

use super::builtin::{self, Reload};
use super::observe::{self, Observed};
use super::stop::{self, DEFAULT_GRACE};
use crate::compose::Project;
use crate::compose::graph::DepGraph;
use crate::engine::{Engine, containers, images, networks, spec, volumes};
use crate::ui::Style;
use crate::ui::progress::{Progress, State};

/// The containers and proxies a lifecycle command acts on.
pub struct Scope<'a> {
    pub engine: &'a Engine,
    pub project: &'a Project,
    pub targets: BTreeSet<String>,
    /// The targets among the nginx services the built-in proxy serves.
    pub proxies: Vec<String>,
    pub progress: &'a Progress,
}

impl<'a> Scope<'a> {
    /// The targets: the services named, else all; `None` when none of
    /// them has a container (or a proxy) to act on.
    pub async fn of(
        engine: &'a Engine,
        project: &'a Project,
        named: &[String],
        progress: &'a Progress,
    ) -> anyhow::Result<Option<Scope<'a>>> {
        let targets: BTreeSet<String> = if named.is_empty() {
            project.services.keys().cloned().collect()
        } else {
            named.iter().cloned().collect()
        };
        let existing = observe::containers(engine, &project.name, true).await?;
        let served = builtin::served(project, existing.iter().map(|c| c.service.as_str()));
        let proxies: Vec<String> = served.into_iter().filter(|p| targets.contains(p)).collect();
        if targets.iter().any(|t| !proxies.contains(t))
            && existing.iter().all(|c| !targets.contains(&c.service))
        {
            return Ok(None);
        }
        Ok(Some(Scope { engine, project, targets, proxies, progress }))
    }

    fn proxy_item(&self, p: &str) -> String {
        format!("Proxy {}", spec::container_name(self.project, &self.project.services[p]))
    }

    /// Starts the containers in dependency order, then the proxies.
    pub async fn start(&self, reload: &Reload) -> anyhow::Result<()> {
        start_services(self.engine, self.project, &self.targets, self.progress).await?;
        for p in &self.proxies {
            let item = self.proxy_item(p);
            self.progress.step(&item, State::Starting, false);
            tokio::task::block_in_place(|| builtin::spawn_detached(self.project, reload, p))?;
            self.progress.step(&item, State::Started, true);
        }
        Ok(())
    }

    /// Stops the proxies (they depend on the containers), then the containers in reverse order.
    pub async fn stop(&self, timeout: Option<u64>) -> anyhow::Result<()> {
        for p in &self.proxies {
            let item = self.proxy_item(p);
            self.progress.step(&item, State::Stopping, false);
            let wait = timeout.map_or(DEFAULT_GRACE, std::time::Duration::from_secs);
            tokio::task::block_in_place(|| builtin::stop_detached(&self.project.name, p, wait))?;
            self.progress.step(&item, State::Stopped, true);
        }
        stop::stop_running(self.engine, self.project, &self.targets, timeout, self.progress).await
    }

    /// The targets and, transitively, the services that depend on one of
    /// them with `restart: true`: as docker compose, restarting a dependency
    /// restarts those after it (the start order puts them after it).
    pub fn with_restart_dependents(mut self) -> Self {
        loop {
            let more: Vec<String> = self
                .project
                .services
                .iter()
                .filter(|(name, svc)| {
                    !self.targets.contains(*name)
                        && svc
                            .depends_on
                            .iter()
                            .any(|(dep, d)| d.restart && self.targets.contains(dep))
                })
                .map(|(name, _)| name.clone())
                .collect();
            if more.is_empty() {
                return self;
            }
            self.targets.extend(more);
        }
    }
}

/// Starts the services' existing containers in dependency order, each level together.
pub async fn start_services(
    engine: &Engine,
    project: &Project,
    targets: &BTreeSet<String>,
    progress: &Progress,
) -> anyhow::Result<()> {
    let list = observe::containers(engine, &project.name, true).await?;
    for level in DepGraph::new(&project.services).levels(targets) {
        let jobs = list.iter().filter(|c| level.contains(&c.service)).map(|c| async move {
            let item = format!("Container {}", c.name);
            progress.step(&item, State::Starting, false);
            containers::start(engine, &c.id, &c.name).await?;
            // Hooks run when a container starts, not when it was running already.
            if let Some(svc) = project.services.get(&c.service).filter(|_| !c.is_running()) {
                containers::post_start(engine, &c.id, svc).await?;
            }
            progress.step(&item, State::Started, true);
            anyhow::Ok(())
        });
        for r in join_all(jobs).await {
            r?;
        }
    }
    Ok(())
}

/// Which images `down --rmi` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveImages {
    /// Those built for the project without a name of their own.
    Local,
    All,
}

/// What `down` is asked to remove besides containers and networks.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    pub volumes: bool,
    pub images: Option<RemoveImages>,
    pub remove_orphans: bool,
    pub timeout: Option<u64>,
    /// `down SERVICE...`: only these; empty means the whole project.
    pub services: Vec<String>,
}

/// `down`: the proxies first (they were started last), then the containers
/// in reverse dependency order, then networks, and volumes and images when asked.
/// Everything is found by labels, so what an older file started goes too.
pub async fn down(
    engine: &Engine,
    project: &Project,
    o: DownOptions,
    progress: &Progress,
    style: &Style,
) -> anyhow::Result<()> {
    let named = |s: &str| o.services.is_empty() || o.services.iter().any(|n| n == s);
    for p in builtin::proxy_services(project, false).into_iter().filter(|p| named(p)) {
        let item = format!("Proxy {}", spec::container_name(project, &project.services[&p]));
        let grace = o.timeout.map_or(DEFAULT_GRACE, std::time::Duration::from_secs);
        if tokio::task::block_in_place(|| builtin::stop_detached(&project.name, &p, grace))? {
            progress.step(&item, State::Stopped, true);
        }
    }
    if o.services.is_empty() {
        builtin::remove_state(&project.name);
    }
    let mut all = observe::containers(engine, &project.name, true).await?;
    let others = all.iter().filter(|c| !named(&c.service)).count();
    all.retain(|c| named(&c.service));
    let (mine, orphans): (Vec<Observed>, Vec<Observed>) = all.into_iter().partition(|c| {
        project.services.contains_key(&c.service) || project.disabled.contains_key(&c.service)
    });
    if !o.services.is_empty() {
        // Some services: their containers go; the network stays while others use it.
        let present: BTreeSet<String> = mine.iter().map(|c| c.service.clone()).collect();
        stop::stop_services(engine, project, &mine, &present, o.timeout, progress, false).await?;
        stop::remove_all(engine, &mine, o.volumes, progress).await?;
        if others > 0 {
            return Ok(());
        }
    }
    if o.remove_orphans {
        for c in &orphans {
            stop::stop_and_remove(engine, c, None, None, progress).await?;
        }
        // `run` containers go with the orphans, as docker compose removes them.
        for c in containers::list_one_off(engine, &project.name).await? {
            let item = format!("Container {}", containers::name(&c));
            progress.step(&item, State::Removing, false);
            containers::remove(engine, &containers::id(&c), false).await?;
            progress.step(&item, State::Removed, true);
        }
    } else if !orphans.is_empty() {
        let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
        eprintln!(
            "{}: found orphan containers ({}) for this project; if you removed or renamed their service in the compose file, run with --remove-orphans to clean them up",
            style.paint("1;33", "warning"),
            names.join(", ")
        );
    }
    // Stopping follows the reverse dependency order, each level together;
    // removing needs no order, so it happens all at once afterwards.
    let present: BTreeSet<String> = mine.iter().map(|c| c.service.clone()).collect();
    stop::stop_services(engine, project, &mine, &present, o.timeout, progress, false).await?;
    stop::remove_all(engine, &mine, o.volumes, progress).await?;
    for net in networks::list(engine, &project.name).await? {
        let item = format!("Network {net}");
        progress.step(&item, State::Removing, false);
        match networks::remove(engine, &net).await {
            Ok(_) => progress.step(&item, State::Removed, true),
            Err(e) => {
                progress.fail(&item, &e.to_string());
                eprintln!("{}: {e:#}", style.paint("1;33", "warning"));
            }
        }
    }
    if o.volumes {
        for vol in volumes::list(engine, &project.name).await? {
            let item = format!("Volume {vol}");
            progress.step(&item, State::Removing, false);
            volumes::remove(engine, &vol).await?;
            progress.step(&item, State::Removed, true);
        }
    }
    if let Some(which) = o.images {
        let mut seen = BTreeSet::new();
        for svc in project.services.values() {
            if which == RemoveImages::Local && (svc.image.is_some() || svc.build.is_none()) {
                continue;
            }
            let image = project.image_for(svc);
            if seen.insert(image.clone()) && images::remove(engine, &image).await? {
                progress.step(&format!("Image {image}"), State::Removed, true);
            }
        }
    }
    Ok(())
}
