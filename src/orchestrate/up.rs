//! `up`, from the files to running containers: the built-in proxies checked
//! (and detached ones started, held at their gate) while the engine is
//! asked what exists; images built and pulled; networks and volumes made;
//! then the plan, carried out in dependency order; the proxies released
//! once their dependencies are ready; and `--wait` or the foreground.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::builtin::{self, Reload, Starting};
use super::converge::{Converger, Ids};
use super::follow::{self, FollowOptions};
use super::images::{self, ImagePolicy};
use super::observe::{self, Observed};
use super::plan::{self, Situation, UpOptions};
use super::wait::Waiter;
use crate::compose::Project;
use crate::compose::graph::DepGraph;
use crate::engine::events::EventHub;
use crate::engine::{Engine, containers, networks, spec, volumes};
use crate::failure::Failure;
use crate::ui::Style;
use crate::ui::progress::{Mode, Progress, State};

/// Everything `up` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The services named (none: all).
    pub services: Vec<String>,
    pub no_deps: bool,
    pub detach: bool,
    pub wait: bool,
    pub wait_timeout: Option<Duration>,
    pub plan: UpOptions,
    pub images: ImagePolicy,
    /// `-t`: seconds to stop within, over `stop_grace_period`.
    pub timeout: Option<u64>,
    pub no_builtin_proxy: bool,
    /// How a detached proxy loads the project again.
    pub reload: Reload,
    pub progress: Mode,
    pub follow: FollowOptions,
}

/// The services `up`, `start`, ... act on: all, or the named ones with their dependencies.
pub fn targets(project: &Project, named: &[String], no_deps: bool) -> BTreeSet<String> {
    if named.is_empty() {
        return project.services.keys().cloned().collect();
    }
    if no_deps {
        return named.iter().filter(|n| project.services.contains_key(*n)).cloned().collect();
    }
    DepGraph::new(&project.services).with_dependencies(named.iter().map(String::as_str))
}

/// The networks and volumes this run made.
struct Made {
    networks: Vec<String>,
    volumes: Vec<String>,
}

impl Made {
    /// After a failed `up` that left no container of the project, removes
    /// what this run made, so a failure leaves nothing half-made behind
    /// (docker compose leaves the network). Containers that did start stay,
    /// as in docker compose, and so do the networks they are on.
    async fn undo_if_unused(&self, engine: &Engine, project: &str, progress: &Progress) {
        if !containers::list(engine, project, true).await.is_ok_and(|l| l.is_empty()) {
            return;
        }
        for n in &self.networks {
            if networks::remove(engine, n).await.is_ok() {
                progress.step(&format!("Network {n}"), State::Removed, true);
            }
        }
        for v in &self.volumes {
            if volumes::remove(engine, v).await.is_ok() {
                progress.step(&format!("Volume {v}"), State::Removed, true);
            }
        }
    }
}

/// Proxies whose configuration only nginx can serve, with why.
type ForNginx = Vec<(String, String)>;

/// The nginx services served by the built-in proxy, checked (and detached
/// ones started at their gate): those whose configuration only nginx can
/// serve come back apart, with why, to run in their nginx container.
fn check_proxies(
    project: &Project,
    proxies: &[String],
    spawn: bool,
    reload: &Reload,
) -> anyhow::Result<(Vec<Starting>, ForNginx)> {
    let (mut starting, mut real) = (Vec::new(), Vec::new());
    for p in proxies {
        let done = if spawn {
            builtin::start_detached(project, reload, p).map(|s| starting.push(s))
        } else {
            builtin::load_in_process(project, p, Arc::new(|_: &str| {})).map(drop)
        };
        if let Err(e) = done {
            match e.downcast_ref::<crate::proxy::conf::ConfError>() {
                Some(c) if c.is_unsupported() => {
                    real.push((p.clone(), format!("{}: {}", c.loc, c.message)))
                }
                _ => return Err(e),
            }
        }
    }
    Ok((starting, real))
}

/// Runs `up`; the exit status.
pub async fn run(project: Arc<Project>, o: &Options, style: &Style) -> anyhow::Result<i32> {
    // Ctrl-C before the foreground drops the work in flight: whatever the
    // engine already made carries the project's labels, so `down` removes it.
    tokio::select! {
        r = prepare(project.clone(), o, style) => match r? {
            Ready::Done => Ok(0),
            Ready::Follow(f) => follow::foreground(&project, *f, &o.follow, o.timeout, style).await,
        },
        _ = tokio::signal::ctrl_c() => {
            crate::engine::settle(Duration::from_secs(30)).await;
            Err(Failure::Interrupted("interrupted; `rcompose down` removes what was already created".into()).into())
        }
    }
}

/// How far `up` got before the foreground.
enum Ready {
    Done,
    Follow(Box<follow::Foreground>),
}

/// What `up` works on once the proxies are sorted out.
struct Work {
    engine: Engine,
    progress: Progress,
    proxies: Vec<String>,
    containers: BTreeSet<String>,
    observed: Vec<Observed>,
    image_ids: images::ImageIds,
}

async fn prepare(project: Arc<Project>, o: &Options, style: &Style) -> anyhow::Result<Ready> {
    let began = chrono::Utc::now().fixed_offset();
    let targets = targets(&project, &o.services, o.no_deps);
    let detached = o.detach || o.wait;
    let (work, starting) = sort_out(&project, &targets, o, detached, style).await?;
    let Work { engine, progress, proxies, containers: container_targets, observed, image_ids } =
        work;
    let image_ids =
        images::ensure(&engine, &project, &container_targets, o.images, &progress, image_ids)
            .await?;
    let (made, stopped) = resources(&engine, &project, &progress).await?;
    // Stopped to make a network again: converging starts them like any stopped container.
    let observed: Vec<Observed> = observed
        .into_iter()
        .map(|mut c| {
            if stopped.contains(&c.id) {
                c.state = observe::State::Stopped;
            }
            c
        })
        .collect();
    let loopback_ports = loopback_ports(&project, &proxies)?;
    let hub = Arc::new(EventHub::subscribe(&engine, &project.name));
    // Subscribed before anything starts, so the foreground sees every exit.
    let events = hub.receiver();
    let situation = Situation {
        project: &project,
        targets: &container_targets,
        observed: &observed,
        image_ids: &image_ids,
        loopback_ports: &loopback_ports,
        proxies: &proxies,
    };
    let plan = plan::up(&situation, o.plan)?;
    crate::ui::debug(&format!("plan:\n{plan}"));
    if !plan.orphans_kept.is_empty() {
        eprintln!(
            "{}: found orphan containers ({}) for this project; if you removed or renamed their service in the compose file, run with --remove-orphans to clean them up",
            style.paint("1;33", "warning"),
            plan.orphans_kept.join(", ")
        );
    }
    let wait_timeout = o.wait_timeout.unwrap_or(super::wait::DEFAULT_TIMEOUT);
    let converger = Arc::new(Converger {
        engine: engine.clone(),
        project: project.clone(),
        hub: hub.clone(),
        progress: progress.clone(),
        timeout: o.timeout,
        wait_timeout,
        start: o.plan.start,
        observed: Arc::new(observed),
        image_ids: Arc::new(image_ids),
        loopback_ports: Arc::new(loopback_ports),
    });
    let ids = match converger.run(&plan).await {
        Ok(ids) => ids,
        Err(errors) => {
            made.undo_if_unused(&engine, &project.name, &progress).await;
            return Err(Failure::Each(errors.iter().map(|e| e.to_string()).collect()).into());
        }
    };
    if !o.plan.start {
        return Ok(Ready::Done);
    }
    let waiter = Waiter {
        engine: &engine,
        hub: &hub,
        project: &project,
        timeout: wait_timeout,
        progress: &progress,
    };
    if let Err((p, why)) = proxy_dependencies(&waiter, &proxies, &ids).await {
        anyhow::bail!("service {p}: dependency failed to start: {why}");
    }
    if detached {
        release(&project, &proxies, starting, &progress)?;
    }
    if o.wait {
        let failures = waiter.ready(&ids).await;
        if !failures.is_empty() {
            return Err(Failure::Each(failures.iter().map(|f| f.to_string()).collect()).into());
        }
        return Ok(Ready::Done);
    }
    if detached {
        return Ok(Ready::Done);
    }
    drop(progress);
    let fg = follow::Foreground::start(
        engine,
        project.clone(),
        hub,
        events,
        ids,
        targets,
        container_targets,
        proxies,
        began,
        &o.follow,
        style,
    )
    .await?;
    Ok(Ready::Follow(Box::new(fg)))
}

/// Sorts the proxies out (checked, started at their gate, or sent to their
/// container) while the engine says what exists.
async fn sort_out(
    project: &Arc<Project>,
    targets: &BTreeSet<String>,
    o: &Options,
    detached: bool,
    style: &Style,
) -> anyhow::Result<(Work, Vec<Starting>)> {
    let mut proxies: Vec<String> = builtin::proxy_services(project, o.no_builtin_proxy)
        .into_iter()
        .filter(|p| targets.contains(p))
        .collect();
    let mut container_targets: BTreeSet<String> =
        targets.iter().filter(|t| !proxies.contains(t)).cloned().collect();
    // Loading and spawning take a few milliseconds of CPU: they run beside
    // the first round trips to the engine, not before them. Either way a
    // configuration the proxy cannot serve fails here, before anything is made.
    let checking = {
        let (project, reload, proxies) = (project.clone(), o.reload.clone(), proxies.clone());
        let spawn = detached && o.plan.start;
        tokio::task::spawn_blocking(move || check_proxies(&project, &proxies, spawn, &reload))
    };
    let engine = Engine::connect().await?;
    let progress = Progress::new(o.progress, style.color);
    // The engine answers these together: one round trip, not one per image.
    let wanted = container_targets.iter().map(|t| project.image_for(&project.services[t]));
    let (existing, mut image_ids) = tokio::try_join!(
        observe::containers(&engine, &project.name, true),
        crate::engine::images::ids(&engine, wanted)
    )?;
    let (starting, real) = checking.await??;
    for (p, why) in &real {
        eprintln!(
            "{}: {why}; service {p} runs in its nginx container instead",
            style.paint("1;33", "warning")
        );
        // A proxy serving the configuration as it was would hold the ports.
        tokio::task::block_in_place(|| {
            builtin::stop_detached(&project.name, p, super::stop::DEFAULT_GRACE)
        })?;
    }
    if !real.is_empty() {
        proxies.retain(|p| real.iter().all(|(r, _)| r != p));
        container_targets.extend(real.iter().map(|(p, _)| p.clone()));
        image_ids.extend(
            crate::engine::images::ids(
                &engine,
                real.iter().map(|(p, _)| project.image_for(&project.services[p])),
            )
            .await?,
        );
    }
    // Refused before anything is made, where docker compose refuses only
    // when it reaches the container and leaves its network behind.
    let api = engine.docker.client_version();
    let too_new: Vec<String> = container_targets
        .iter()
        .flat_map(|t| {
            spec::needs_newer_engine(&project.services[t], (api.major_version, api.minor_version))
        })
        .collect();
    if !too_new.is_empty() {
        return Err(Failure::Each(too_new).into());
    }
    // A container left from running the real nginx: the built-in proxy takes its place.
    for c in existing.iter().filter(|c| proxies.contains(&c.service)) {
        super::stop::stop_and_remove(&engine, c, None, o.timeout, &progress).await?;
    }
    let observed = existing.into_iter().filter(|c| !proxies.contains(&c.service)).collect();
    Ok((
        Work { engine, progress, proxies, containers: container_targets, observed, image_ids },
        starting,
    ))
}

/// Networks and volumes: made where missing, networks made again where the
/// file changed them; returns what was made, and the containers stopped to
/// move them to a network made again.
async fn resources(
    engine: &Engine,
    project: &Project,
    progress: &Progress,
) -> anyhow::Result<(Made, BTreeSet<String>)> {
    let (nets, vols) =
        tokio::try_join!(networks::ensure(engine, project), volumes::ensure(engine, project))?;
    let made = Made { networks: nets.created.clone(), volumes: vols.clone() };
    for n in &nets.created {
        progress.step(&format!("Network {n}"), State::Created, true);
    }
    for n in &nets.recreated {
        progress.step(&format!("Network {n}"), State::Recreated, true);
    }
    for v in &vols {
        progress.step(&format!("Volume {v}"), State::Created, true);
    }
    Ok((made, nets.stopped.into_iter().collect()))
}

/// Where container addresses are out of reach, the proxies go through
/// container ports published on loopback: which, by service.
fn loopback_ports(
    project: &Project,
    proxies: &[String],
) -> anyhow::Result<HashMap<String, Vec<u16>>> {
    let mut out: HashMap<String, Vec<u16>> = HashMap::new();
    if !builtin::via_ports() {
        return Ok(out);
    }
    for p in proxies {
        for (svc, ports) in builtin::upstream_ports(project, p).map_err(anyhow::Error::msg)? {
            // The engine publishes no ports for a container on another's network stack or the host's.
            if project.services.get(&svc).is_some_and(|s| s.network_mode.is_some()) {
                continue;
            }
            let entry = out.entry(svc).or_default();
            entry.extend(ports);
            entry.sort();
            entry.dedup();
        }
    }
    Ok(out)
}

/// The proxies start last, once their dependencies meet their conditions.
async fn proxy_dependencies(
    waiter: &Waiter<'_>,
    proxies: &[String],
    ids: &Ids,
) -> Result<(), (String, String)> {
    for p in proxies {
        let waits: Vec<_> = waiter.project.services[p]
            .depends_on
            .iter()
            .map(|(dep, d)| (dep.clone(), d.condition))
            .collect();
        waiter.all_of(&waits, ids).await.map_err(|why| (p.clone(), why))?;
    }
    Ok(())
}

/// Opens the gates of the detached proxies and waits until each listens.
fn release(
    project: &Project,
    proxies: &[String],
    starting: Vec<Starting>,
    progress: &Progress,
) -> anyhow::Result<()> {
    for (p, gate) in proxies.iter().zip(starting) {
        let item = format!("Proxy {}", spec::container_name(project, &project.services[p]));
        // One already serving is reported as docker compose reports a running container.
        let done = if gate.was_running() {
            State::Running
        } else {
            progress.step(&item, State::Starting, false);
            State::Started
        };
        let st = tokio::task::block_in_place(|| gate.release())?;
        progress.step_with(
            &item,
            done,
            &format!("built-in proxy on {}", st.addrs.join(", ")),
            true,
        );
    }
    Ok(())
}

/// Container ids of each service, for the foreground.
pub type ServiceIds = BTreeMap<String, Vec<String>>;
