//! `run`: a one-off container of a service, as docker compose makes it:
//! its dependencies up first (and their conditions met), then a container
//! named `PROJECT-SERVICE-run-ID`, labelled `oneoff=True`, with the command
//! and overrides given, attached to the user's streams; its exit status is
//! the command's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Context, bail};
use bollard::query_parameters::{AttachContainerOptions, KillContainerOptions};

use super::images::{self, ImagePolicy};
use super::up;
use super::wait::{DEFAULT_TIMEOUT, Waiter};
use crate::compose::Project;
use crate::compose::graph::DepGraph;
use crate::compose::model::{Condition, Mount, Port, Service};
use crate::engine::attach::{self, Tty};
use crate::engine::events::EventHub;
use crate::engine::spec::{self, OneOff};
use crate::engine::{Engine, config_hash, containers, networks, volumes};
use crate::ui::Style;
use crate::ui::progress::Progress;

/// What `run` is asked for, besides the dependencies' `up`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub service: String,
    /// Replaces the service's command when not empty.
    pub command: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE`; a bare `KEY` is taken from rcompose's environment.
    pub env: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub volumes: Vec<Mount>,
    pub publish: Vec<Port>,
    pub name: Option<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub rm: bool,
    pub detach: bool,
    pub no_deps: bool,
    pub service_ports: bool,
    pub use_aliases: bool,
    pub tty: bool,
    pub interactive: bool,
    pub images: ImagePolicy,
}

/// Runs the one-off container; its exit status.
pub async fn run(
    project: Arc<Project>,
    o: &RunOptions,
    deps_up: &up::Options,
    style: &Style,
) -> anyhow::Result<i32> {
    let Some(declared) = project.services.get(&o.service) else {
        bail!("no such service: {}", o.service);
    };
    let engine = Engine::connect().await?;
    let progress = Progress::new(deps_up.progress, style.color);
    if !o.no_deps && !declared.depends_on.is_empty() {
        start_dependencies(&engine, &project, declared, deps_up, &progress, style).await?;
    }
    let target = BTreeSet::from([o.service.clone()]);
    let image = project.image_for(declared);
    // Four questions to the engine, asked together: each is a round trip
    // on the path to the container's start.
    let (networks, _, ids, mut running) = tokio::try_join!(
        networks::ensure(&engine, &project),
        volumes::ensure(&engine, &project),
        crate::engine::images::ids(&engine, [image.clone()]),
        containers::list(&engine, &project.name, false)
    )?;
    // A network made again stopped its containers: they join nothing now.
    running.retain(|c| !networks.stopped.contains(&containers::id(c)));
    let ids = images::ensure(&engine, &project, &target, o.images, &progress, ids).await?;
    drop(progress);
    let service = one_off_service(&running, declared, o);
    let one_off = OneOff {
        // Attached, rcompose removes it once its exit status is read: the
        // engine's own removal could come before the status is asked for.
        auto_remove: o.rm && o.detach,
        interactive: o.interactive,
        use_aliases: o.use_aliases,
        ..OneOff::new(&project, &service, o.name.clone())
    };
    let hash = config_hash::config_hash(&service);
    let image_id = ids.get(&image).cloned().flatten();
    let create = spec::Create {
        number: 1,
        image: &image,
        image_id: image_id.as_deref(),
        hash: &hash,
        loopback_ports: &[],
        one_off: Some(&one_off),
    };
    let id = containers::create(&engine, &project, &service, &create).await?;
    if o.detach {
        start(&engine, &id).await?;
        println!("{id}");
        return Ok(0);
    }
    let code = attached(&engine, &id, o).await;
    if o.rm {
        containers::remove(&engine, &id, true).await?;
    }
    code
}

/// `up -d` of what the service depends on, then its own conditions met.
async fn start_dependencies(
    engine: &Engine,
    project: &Arc<Project>,
    service: &Service,
    deps_up: &up::Options,
    progress: &Progress,
    style: &Style,
) -> anyhow::Result<()> {
    let graph = DepGraph::new(&project.services);
    let deps: Vec<String> = graph
        .with_dependencies([service.name.as_str()])
        .into_iter()
        .filter(|d| *d != service.name)
        .collect();
    let o = up::Options { services: deps, detach: true, ..deps_up.clone() };
    let code = up::run(project.clone(), &o, style).await?;
    if code != 0 {
        bail!("the dependencies of {} did not start", service.name);
    }
    let hub = EventHub::subscribe(engine, &project.name);
    let running = containers::list(engine, &project.name, true).await?;
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &running {
        ids.entry(containers::service(c).to_string()).or_default().push(containers::id(c));
    }
    let waits: Vec<(String, Condition)> =
        service.depends_on.iter().map(|(d, dep)| (d.clone(), dep.condition)).collect();
    let waiter = Waiter { engine, hub: &hub, project, timeout: DEFAULT_TIMEOUT, progress };
    waiter.all_of(&waits, &ids).await.map_err(|why| anyhow::anyhow!("{why}"))
}

/// The service as the one-off container is made: the options over it, one
/// container, no restart policy, ports only with `--service-ports`.
fn one_off_service(
    running: &[bollard::models::ContainerSummary],
    declared: &Service,
    o: &RunOptions,
) -> Service {
    // Namespaces joined by `service:NAME` go to the project's running
    // containers of that service, the first of each.
    let joined: BTreeMap<String, String> = running
        .iter()
        .filter(|c| containers::number(c) == 1)
        .map(|c| (containers::service(c).to_string(), containers::id(c)))
        .collect();
    let mut s = declared.with_joined(&joined, false);
    if !o.command.is_empty() {
        s.command = Some(o.command.clone());
    }
    if let Some(e) = &o.entrypoint {
        s.entrypoint = Some(e.clone());
        if o.command.is_empty() {
            s.command = Some(Vec::new());
        }
    }
    for e in &o.env {
        match e.split_once('=') {
            Some((k, v)) => drop(s.environment.insert(k.to_string(), Some(v.to_string()))),
            None => {
                if let Ok(v) = std::env::var(e) {
                    s.environment.insert(e.clone(), Some(v));
                }
            }
        }
    }
    s.labels.extend(o.labels.iter().cloned());
    if !o.service_ports {
        s.ports.clear();
    }
    s.ports.extend(o.publish.iter().cloned());
    s.volumes.extend(o.volumes.iter().cloned());
    s.user = o.user.clone().or(s.user);
    s.working_dir = o.workdir.clone().or(s.working_dir);
    s.tty = o.tty;
    s.stdin_open = o.interactive;
    s.container_name = None;
    s.scale = Some(1);
    s.restart = None;
    if let Some(d) = s.deploy.as_mut() {
        d.restart = None;
        d.replicas = Some(1);
    }
    s
}

async fn start(engine: &Engine, id: &str) -> anyhow::Result<()> {
    crate::engine::containers::start(engine, id, "the container").await
}

/// Attached to the user's streams from before it starts; Ctrl-C is passed
/// on to the container as docker compose passes signals on.
async fn attached(engine: &Engine, id: &str, o: &RunOptions) -> anyhow::Result<i32> {
    let opts = AttachContainerOptions {
        stdin: o.interactive,
        stdout: true,
        stderr: true,
        stream: true,
        ..Default::default()
    };
    let attach = engine.docker.attach_container(id, Some(opts)).await.context("cannot attach")?;
    let _raw = if o.tty { Some(crate::ui::terminal::RawMode::enter()?) } else { None };
    start(engine, id).await?;
    let mut output = attach.output;
    let tty = o.tty.then(|| Tty::Container(id.to_string()));
    let pumping = attach::pump(engine, &mut output, attach.input, o.interactive, tty);
    tokio::pin!(pumping);
    let mut interrupts = 0;
    loop {
        tokio::select! {
            r = &mut pumping => { r?; break; }
            _ = tokio::signal::ctrl_c() => {
                interrupts += 1;
                let signal = if interrupts == 1 { "SIGINT" } else { "SIGKILL" };
                let _ = engine.docker.kill_container(id, Some(KillContainerOptions { signal: signal.into() })).await;
            }
        }
    }
    // The output ends when the container does; its status is there to read.
    let code = containers::exit_status(engine, id).await?;
    Ok(i32::try_from(code).unwrap_or(1))
}
