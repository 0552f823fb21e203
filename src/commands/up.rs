//! `rcompose up`: images, networks, volumes, then containers in dependency
//! order (independent services together), waiting for depends_on
//! conditions on the engine's event stream; then either return (`-d`,
//! `--wait`) or follow the logs until Ctrl-C.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use bollard::models::ContainerSummary;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared, join_all};

use crate::cli::{GlobalOpts, PullPolicyArg, UpArgs};
use crate::compose::Project;
use crate::compose::graph::DepGraph;
use crate::compose::model::{Condition, Service};
use crate::engine::events::{ContainerEvent, EventHub, wait_for};
use crate::engine::logs::{LogPrinter, StreamOpts};
use crate::engine::{Engine, config_hash, containers, images, labels, logs, networks, spec, volumes};
use crate::orchestrate::builtin::proxy_services;

/// What the foreground follows besides containers: the in-process proxies.
struct Foreground {
    /// Kept alive for the events it feeds.
    _hub: Arc<EventHub>,
    events: tokio::sync::broadcast::Receiver<ContainerEvent>,
    printer: LogPrinter,
    servers: Vec<(crate::proxy::server::Running, tokio::task::JoinHandle<()>)>,
    order: Vec<String>,
    /// Before any container was started: output from earlier is an earlier
    /// run's (docker compose attaches, and shows only what comes after).
    began: chrono::DateTime<chrono::FixedOffset>,
}
use crate::ui::Style;
use crate::ui::progress::Progress;

/// How long `up` waits for a dependency's condition unless `--wait-timeout` says otherwise.
pub const DEFAULT_DEPENDENCY_TIMEOUT: Duration = Duration::from_secs(600);

/// The services `up`, `start`, ... act on: all, or the named ones with their dependencies.
pub fn target_services(project: &Project, named: &[String], no_deps: bool) -> BTreeSet<String> {
    if named.is_empty() {
        return project.services.keys().cloned().collect();
    }
    if no_deps {
        return named.iter().filter(|n| project.services.contains_key(*n)).cloned().collect();
    }
    DepGraph::new(&project.services).with_dependencies(named.iter().map(String::as_str))
}

pub fn run(global: &GlobalOpts, args: &UpArgs, style: &Style) -> anyhow::Result<i32> {
    let Some(mut project) = super::load_for(global, &args.services, style) else {
        return Ok(1);
    };
    for (name, n) in &args.scale {
        let Some(svc) = project.services.get_mut(name) else {
            anyhow::bail!("--scale {name}={n}: no such service");
        };
        if *n > 1 && svc.container_name.is_some() {
            anyhow::bail!("--scale {name}={n}: service {name} has a container_name, so it runs one container");
        }
        svc.scale = Some(*n);
    }
    for name in args.attach.iter().chain(&args.no_attach) {
        if !project.services.contains_key(name) {
            anyhow::bail!("--attach/--no-attach {name}: no such service");
        }
    }
    let project = Arc::new(project);
    super::runtime()?.block_on(up(global, args, style, project))
}

/// What to do about images before containers are created.
#[derive(Debug, Clone, Copy)]
pub struct ImagePolicy {
    pub build: bool,
    pub no_build: bool,
    pub pull: Option<PullPolicyArg>,
    pub quiet_pull: bool,
}

/// Image ids by name, as the engine has them.
pub type ImageIds = HashMap<String, Option<String>>;

/// Builds and pulls what the target services need, given the ids of the
/// images the engine has (from [`images::ids`]); returns them once that is done.
pub async fn ensure_images(
    engine: &Engine,
    project: &Project,
    targets: &BTreeSet<String>,
    policy: ImagePolicy,
    progress: &Progress,
    mut ids: ImageIds,
) -> anyhow::Result<ImageIds> {
    let mut to_pull: Vec<(String, String)> = Vec::new();
    let mut to_build: Vec<&Service> = Vec::new();
    for name in targets {
        let svc = &project.services[name];
        let image = project.image_for(svc);
        let present = ids.get(&image).is_some_and(Option::is_some);
        let service_policy = svc.pull_policy.as_deref();
        let pull_always = matches!(policy.pull, Some(PullPolicyArg::Always)) || service_policy == Some("always");
        let never_pull = matches!(policy.pull, Some(PullPolicyArg::Never)) || service_policy == Some("never");
        if svc.build.is_some() && (policy.build || service_policy == Some("build") || !present) {
            if policy.no_build {
                if !present {
                    bail!("service {name}: image {image} is missing and --no-build forbids building it");
                }
                continue;
            }
            to_build.push(svc);
        } else if svc.build.is_none() && (pull_always || !present) {
            if never_pull {
                if !present {
                    bail!("service {name}: image {image} is not present and the pull policy is never");
                }
                continue;
            }
            if !to_pull.iter().any(|(_, i)| *i == image) {
                to_pull.push((name.clone(), image));
            }
        }
    }
    let quiet = Progress::new(crate::cli::Progress::Quiet, false);
    let pull_progress = if policy.quiet_pull { &quiet } else { progress };
    let results = join_all(
        to_pull.iter().map(|(_, image)| async move { images::pull(engine, image, &format!("Image {image}"), pull_progress).await }),
    )
    .await;
    for ((service, _), r) in to_pull.iter().zip(results) {
        if let Err(e) = r {
            bail!("service {service}: {e:#}");
        }
    }
    for svc in &to_build {
        let opts = images::BuildOpts { platform: svc.platform.clone(), ..Default::default() };
        build_service(engine, project, svc, &opts, progress).await?;
    }
    let changed = to_pull.into_iter().map(|(_, i)| i).chain(to_build.iter().map(|s| project.image_for(s)));
    ids.extend(images::ids(engine, changed).await?);
    Ok(ids)
}

/// Builds one service's image, streaming the output under its name.
pub async fn build_service(
    engine: &Engine,
    project: &Project,
    svc: &Service,
    opts: &images::BuildOpts,
    progress: &Progress,
) -> anyhow::Result<()> {
    let Some(build) = &svc.build else {
        return Ok(());
    };
    let image = project.image_for(svc);
    let item = format!("Image {image}");
    progress.step(&item, "Building", false);
    let name = svc.name.clone();
    let out = |line: &str| progress.println(&format!("{name}  | {line}"));
    match images::build(engine, build, &image, opts, &out).await {
        Ok(()) => {
            progress.step(&item, "Built", true);
            Ok(())
        }
        Err(e) => {
            progress.fail(&item, &e.to_string());
            bail!("service {}: build failed: {e:#}", svc.name)
        }
    }
}

/// Per-run settings for converging one service's container.
#[derive(Clone)]
struct Converge {
    engine: Engine,
    project: Arc<Project>,
    existing: Arc<Vec<ContainerSummary>>,
    image_ids: Arc<ImageIds>,
    hub: Arc<EventHub>,
    progress: Progress,
    force_recreate: bool,
    no_recreate: bool,
    no_start: bool,
    timeout: Option<u64>,
    wait_timeout: Duration,
    /// Container ports to publish on loopback for the built-in proxy, by service.
    loopback_ports: Arc<HashMap<String, Vec<u16>>>,
    /// Services whose container this run replaced or restarted: those that
    /// depend on one with `restart: true` are restarted after it.
    renewed: Arc<std::sync::Mutex<BTreeSet<String>>>,
}

/// The ids of a service's containers, by number.
type ServiceResult = Result<Vec<String>, Arc<String>>;

impl Converge {
    /// Makes the service's containers match the file; returns their ids, by number.
    /// `restart`: a dependency it follows (`restart: true`) was renewed.
    /// `dep_ids`: the container ids of each dependency this run converged.
    async fn service(&self, name: &str, restart: bool, dep_ids: &BTreeMap<String, Vec<String>>) -> anyhow::Result<Vec<String>> {
        let declared = &self.project.services[name];
        // The containers whose namespaces it joins (the first of each
        // service): this run's, or ones left running (`up SERVICE --no-deps`).
        let mut joined = BTreeMap::new();
        for other in declared.joined_services() {
            let first_existing = || {
                self.existing.iter().filter(|c| containers::service(c) == other).min_by_key(|c| containers::number(c)).map(containers::id)
            };
            let id = match dep_ids.get(other).and_then(|ids| ids.first()) {
                Some(id) => id.clone(),
                None => first_existing().ok_or_else(|| {
                    anyhow::anyhow!("it joins the container of service {other:?}, which has none\n  hint: start {other} first")
                })?,
            };
            joined.insert(other.to_string(), id);
        }
        // docker compose hashes and creates with the modes resolved: a new
        // container to join is a new hash, and so a new container here too.
        let resolved = (!joined.is_empty()).then(|| declared.with_joined(&joined, false));
        let svc = resolved.as_ref().unwrap_or(declared);
        let image = self.project.image_for(svc);
        let loopback: Vec<u16> = self.loopback_ports.get(name).cloned().unwrap_or_default();
        let hashed = match &resolved {
            Some(_) => config_hash::config_hash(&declared.with_joined(&joined, true)),
            None => config_hash::config_hash(svc),
        };
        // Ports published for the proxy are part of what the container is.
        let hash = if loopback.is_empty() {
            hashed
        } else {
            format!("{hashed}-{}", loopback.iter().map(u16::to_string).collect::<Vec<_>>().join("."))
        };
        let image_id = self.image_ids.get(&image).cloned().flatten();
        // Each wanted number keeps its container; the others (scaled down,
        // or a second one with the same number) go.
        let wanted = svc.replicas();
        let mut mine: Vec<&ContainerSummary> = self.existing.iter().filter(|c| containers::service(c) == name).collect();
        mine.sort_by_key(|c| containers::number(c));
        let mut by_number: BTreeMap<u32, &ContainerSummary> = BTreeMap::new();
        let mut extra = Vec::new();
        for c in mine {
            let n = containers::number(c);
            if (1..=wanted).contains(&n) && !by_number.contains_key(&n) {
                by_number.insert(n, c);
            } else {
                extra.push(c);
            }
        }
        let grace = self.timeout.or(svc.stop_grace_period.map(|d| d.as_secs()));
        let removals = extra.iter().map(|c| async move {
            let item = format!("Container {}", containers::name(c));
            self.progress.step(&item, "Stopping", false);
            containers::pre_stop(&self.engine, c, Some(svc)).await?;
            containers::stop(&self.engine, &containers::id(c), grace).await?;
            self.progress.step(&item, "Removing", false);
            containers::remove(&self.engine, &containers::id(c), false).await?;
            self.progress.step(&item, "Removed", true);
            anyhow::Ok(())
        });
        futures::future::try_join_all(removals).await?;
        let replicas = (1..=wanted).map(|number| {
            let create = spec::Create { number, image: &image, image_id: image_id.as_deref(), hash: &hash, loopback_ports: &loopback };
            self.replica(name, svc, create, by_number.get(&number).copied(), restart, grace)
        });
        futures::future::try_join_all(replicas).await
    }

    /// Makes one of the service's containers match; returns its id.
    async fn replica(
        &self,
        name: &str,
        svc: &Service,
        create: spec::Create<'_>,
        existing: Option<&ContainerSummary>,
        restart: bool,
        grace: Option<u64>,
    ) -> anyhow::Result<String> {
        let cname = spec::replica_name(&self.project, svc, create.number);
        let item = format!("Container {cname}");
        if let Some(c) = existing {
            let same_config = containers::label(c, labels::CONFIG_HASH) == Some(create.hash) && containers::name(c) == cname;
            let same_image = create.image_id.is_none() || c.image_id.as_deref() == create.image_id;
            if !self.force_recreate && (self.no_recreate || (same_config && same_image)) {
                let id = containers::id(c);
                if containers::is_running(c) && restart && !self.no_start {
                    // Its dependency was renewed and it asked to follow (`restart: true`).
                    self.progress.step(&item, "Stopping", false);
                    containers::pre_stop(&self.engine, c, Some(svc)).await?;
                    containers::stop(&self.engine, &id, grace).await?;
                    self.progress.step(&item, "Stopped", true);
                    self.renewed.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string());
                    self.start_unless_no_start(&item, &id, &cname, svc).await?;
                } else if containers::is_running(c) {
                    self.progress.step(&item, "Running", true);
                } else if !self.no_start {
                    self.start_unless_no_start(&item, &id, &cname, svc).await?;
                } else {
                    self.progress.step(&item, "Created", true);
                }
                return Ok(id);
            }
            self.progress.step(&item, "Recreate", false);
            self.renewed.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string());
            let old = containers::id(c);
            containers::pre_stop(&self.engine, c, Some(svc)).await?;
            containers::stop(&self.engine, &old, grace).await?;
            containers::remove(&self.engine, &old, false).await?;
            let id = containers::create(&self.engine, &self.project, svc, &create).await?;
            self.progress.step(&item, "Recreated", self.no_start);
            self.start_unless_no_start(&item, &id, &cname, svc).await?;
            return Ok(id);
        }
        self.progress.step(&item, "Creating", false);
        let id = containers::create(&self.engine, &self.project, svc, &create).await?;
        self.progress.step(&item, "Created", self.no_start);
        self.start_unless_no_start(&item, &id, &cname, svc).await?;
        Ok(id)
    }

    async fn start_unless_no_start(&self, item: &str, id: &str, cname: &str, svc: &Service) -> anyhow::Result<()> {
        if !self.no_start {
            self.progress.step(item, "Starting", false);
            containers::start(&self.engine, id, cname).await?;
            containers::post_start(&self.engine, id, svc).await?;
            self.progress.step(item, "Started", true);
        }
        Ok(())
    }
}

/// Converges every target service, each as soon as its dependencies meet
/// their conditions. Returns the container ids of each service.
async fn converge_all(c: Converge, targets: &BTreeSet<String>) -> Result<BTreeMap<String, Vec<String>>, Vec<String>> {
    let graph = DepGraph::new(&c.project.services);
    let mut futs: HashMap<String, Shared<BoxFuture<'static, ServiceResult>>> = HashMap::new();
    for name in graph.levels(targets).concat() {
        let svc = &c.project.services[&name];
        let deps: Vec<(String, Condition, Shared<BoxFuture<'static, ServiceResult>>)> =
            svc.depends_on.iter().filter_map(|(d, dep)| futs.get(d).map(|f| (d.clone(), dep.condition, f.clone()))).collect();
        let c2 = c.clone();
        let name2 = name.clone();
        let fut = async move {
            let ids = join_all(deps.iter().map(|(_, _, f)| f.clone())).await;
            for ((dep, _, _), id) in deps.iter().zip(&ids) {
                if id.is_err() {
                    return Err(Arc::new(format!("service {name2}: not started because its dependency {dep} failed")));
                }
            }
            if !c2.no_start {
                // A dependency whose container this run left running or started
                // meets service_started already: asking the engine again is a
                // round trip per dependency on every `up`, a no-op one included.
                // Every container of the dependency must meet the condition.
                let waits = deps
                    .iter()
                    .zip(&ids)
                    .filter(|((_, cond, _), _)| *cond != Condition::ServiceStarted)
                    .flat_map(|((dep, cond, _), ids)| ids.iter().flatten().zip(1..).map(move |(id, n)| (dep, *cond, id, n)))
                    .map(|(dep, cond, id, n)| {
                        let (c3, dep, id) = (c2.clone(), dep.clone(), id.clone());
                        async move {
                            let item = format!("Container {}", spec::replica_name(&c3.project, &c3.project.services[&dep], n));
                            c3.progress.step(&item, "Waiting", false);
                            let report = |why: &str| c3.progress.note(&item, &format!("Waiting to be {}: {why}", cond.goal()));
                            let r = wait_for(&c3.engine, &c3.hub, &id, &dep, cond, c3.wait_timeout, &report).await;
                            if r.is_ok() {
                                c3.progress.step(&item, if cond == Condition::ServiceHealthy { "Healthy" } else { "Exited" }, true);
                            }
                            r
                        }
                    });
                for r in join_all(waits).await {
                    if let Err(why) = r {
                        c2.progress.fail(&format!("Container {}", spec::container_name(&c2.project, &c2.project.services[&name2])), &why);
                        return Err(Arc::new(format!("service {name2}: dependency failed to start: {why}")));
                    }
                }
            }
            let restart = {
                let renewed = c2.renewed.lock().unwrap_or_else(|e| e.into_inner());
                c2.project.services[&name2].depends_on.iter().any(|(dep, d)| d.restart && renewed.contains(dep))
            };
            let dep_ids: BTreeMap<String, Vec<String>> =
                deps.iter().zip(&ids).filter_map(|((d, _, _), id)| id.as_ref().ok().map(|id| (d.clone(), id.clone()))).collect();
            c2.service(&name2, restart, &dep_ids).await.map_err(|e| {
                c2.progress.fail(&format!("Container {}", spec::container_name(&c2.project, &c2.project.services[&name2])), &e.to_string());
                Arc::new(format!("service {name2}: {e:#}"))
            })
        }
        .boxed()
        .shared();
        futs.insert(name, fut);
    }
    let names: Vec<String> = futs.keys().cloned().collect();
    let results = join_all(names.iter().map(|n| futs[n].clone())).await;
    let mut ids = BTreeMap::new();
    let mut errors: Vec<String> = Vec::new();
    for (n, r) in names.into_iter().zip(results) {
        match r {
            Ok(id) => {
                ids.insert(n, id);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    // Root causes first: failures of services that did start their dependencies.
    errors.sort_by_key(|e| e.contains("not started because"));
    if errors.is_empty() { Ok(ids) } else { Err(errors) }
}

/// The networks and volumes this run created.
struct Made {
    networks: Vec<String>,
    volumes: Vec<String>,
}

impl Made {
    /// After a failed `up` that left no container of the project, removes
    /// what this run created, so a failure leaves nothing half-made behind
    /// (docker compose leaves the network). Containers that did start stay,
    /// as in docker compose, and so do the networks they are on.
    async fn undo_if_unused(&self, engine: &Engine, project: &str, progress: &Progress) {
        if !containers::list(engine, project, true).await.is_ok_and(|l| l.is_empty()) {
            return;
        }
        for n in &self.networks {
            if networks::remove(engine, n).await.is_ok() {
                progress.step(&format!("Network {n}"), "Removed", true);
            }
        }
        for v in &self.volumes {
            if volumes::remove(engine, v).await.is_ok() {
                progress.step(&format!("Volume {v}"), "Removed", true);
            }
        }
    }
}

/// How far `up` got before the foreground: done, or logs to follow.
enum Ready {
    Exit(i32),
    Follow(Box<Follow>),
}

struct Follow {
    engine: Engine,
    ids: BTreeMap<String, Vec<String>>,
    container_targets: BTreeSet<String>,
    fg: Foreground,
}

async fn up(global: &GlobalOpts, args: &UpArgs, style: &Style, project: Arc<Project>) -> anyhow::Result<i32> {
    // Ctrl-C before the foreground drops the work in flight: whatever the
    // engine already made carries the project's labels, so `down` removes it.
    let ready = tokio::select! {
        r = prepare(global, args, style, project.clone()) => r?,
        _ = tokio::signal::ctrl_c() => {
            crate::engine::settle(Duration::from_secs(30)).await;
            eprintln!("{}: interrupted; `rcompose down` removes what was already created", style.paint("1;33", "warning"));
            return Ok(130);
        }
    };
    match ready {
        Ready::Exit(code) => Ok(code),
        Ready::Follow(f) => {
            let Follow { engine, ids, container_targets, fg } = *f;
            foreground(&engine, &project, args, style, &ids, &container_targets, fg).await
        }
    }
}

async fn prepare(global: &GlobalOpts, args: &UpArgs, style: &Style, project: Arc<Project>) -> anyhow::Result<Ready> {
    let began = chrono::Utc::now().fixed_offset();
    let targets = target_services(&project, &args.services, args.no_deps);

    // nginx services whose configuration rcompose serves itself: no container.
    let mut proxies: Vec<String> = proxy_services(&project, args.no_builtin_proxy).into_iter().filter(|p| targets.contains(p)).collect();
    let mut container_targets: BTreeSet<String> = targets.iter().filter(|t| !proxies.contains(t)).cloned().collect();
    // Detached proxies start their processes now, while the containers are
    // made, and wait at a gate until their dependencies are ready. Either
    // way a configuration the proxy cannot serve fails here, before anything
    // is created, not after the containers it fronts have started. Loading
    // and spawning take a few milliseconds of CPU: they run beside the first
    // round trips to the engine, not before them.
    let detached = args.detach || args.wait;
    let checking = {
        let (project, reload, proxies) = (project.clone(), super::reload_of(global), proxies.clone());
        let spawn = detached && !args.no_start;
        tokio::task::spawn_blocking(move || {
            // A configuration with something only nginx does runs in the
            // nginx container, as docker compose runs it; others are served here.
            let (mut starting, mut real) = (Vec::new(), Vec::new());
            for p in &proxies {
                let done = if spawn {
                    crate::orchestrate::builtin::start_detached(&project, &reload, p).map(|s| starting.push(s))
                } else {
                    crate::orchestrate::builtin::load_in_process(&project, p, Arc::new(|_: &str| {})).map(drop)
                };
                if let Err(e) = done {
                    match e.downcast_ref::<crate::proxy::conf::ConfError>() {
                        Some(c) if c.is_unsupported() => real.push((p.clone(), format!("{}: {}", c.loc, c.message))),
                        _ => return Err(e),
                    }
                }
            }
            anyhow::Ok((starting, real))
        })
    };
    let engine = Engine::connect().await?;
    let progress = Progress::new(global.progress, style.color);

    // The engine answers these together: one round trip, not one per image.
    let wanted = container_targets.iter().map(|t| project.image_for(&project.services[t]));
    let (existing, mut image_ids) = tokio::try_join!(containers::list(&engine, &project.name, true), images::ids(&engine, wanted))?;
    let (starting, real) = match checking.await? {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e:#}", style.paint("1;31", "error"));
            return Ok(Ready::Exit(1));
        }
    };
    if !real.is_empty() {
        for (p, why) in &real {
            eprintln!("{}: {why}; service {p} runs in its nginx container instead", style.paint("1;33", "warning"));
            // A proxy serving the configuration as it was would hold the ports.
            tokio::task::block_in_place(|| crate::orchestrate::builtin::stop_detached(&project.name, p, Duration::from_secs(10)))?;
        }
        proxies.retain(|p| real.iter().all(|(r, _)| r != p));
        container_targets.extend(real.iter().map(|(p, _)| p.clone()));
        image_ids.extend(images::ids(&engine, real.iter().map(|(p, _)| project.image_for(&project.services[p]))).await?);
    }
    // Refused before anything is made, where docker compose refuses only
    // when it reaches the container and leaves its network behind.
    let api = engine.docker.client_version();
    let too_new: Vec<String> = container_targets
        .iter()
        .flat_map(|t| spec::needs_newer_engine(&project.services[t], (api.major_version, api.minor_version)))
        .collect();
    if !too_new.is_empty() {
        for e in &too_new {
            eprintln!("{}: {e}", style.paint("1;31", "error"));
        }
        return Ok(Ready::Exit(1));
    }
    super::handle_orphans(&engine, &project, &existing, args.remove_orphans, &progress, style).await?;
    for c in existing.iter().filter(|c| proxies.iter().any(|p| p == containers::service(c))) {
        // A container left from running the real nginx: the built-in proxy takes its place.
        let item = format!("Container {}", containers::name(c));
        containers::stop(&engine, &containers::id(c), args.timeout).await?;
        containers::remove(&engine, &containers::id(c), false).await?;
        progress.step(&item, "Removed", true);
    }
    let existing: Vec<ContainerSummary> = existing
        .into_iter()
        .filter(|c| {
            let svc = containers::service(c);
            project.services.contains_key(svc) && !proxies.iter().any(|p| p == svc)
        })
        .collect();

    let policy = ImagePolicy { build: args.build, no_build: args.no_build, pull: args.pull, quiet_pull: args.quiet_pull };
    let image_ids = ensure_images(&engine, &project, &container_targets, policy, &progress, image_ids).await?;
    let (nets, vols) = tokio::try_join!(networks::ensure(&engine, &project), volumes::ensure(&engine, &project))?;
    let made = Made { networks: nets.created.clone(), volumes: vols.clone() };
    for n in nets.created {
        progress.step(&format!("Network {n}"), "Created", true);
    }
    for n in nets.recreated {
        progress.step(&format!("Network {n}"), "Recreated", true);
    }
    // Stopped to make a network again: converge starts them like any stopped container.
    let mut existing = existing;
    for c in existing.iter_mut().filter(|c| c.id.as_ref().is_some_and(|id| nets.stopped.contains(id))) {
        c.state = Some(bollard::models::ContainerSummaryStateEnum::EXITED);
    }
    for v in vols {
        progress.step(&format!("Volume {v}"), "Created", true);
    }

    // Where container addresses are out of reach, the proxies go through loopback ports.
    let mut loopback_ports: HashMap<String, Vec<u16>> = HashMap::new();
    if crate::orchestrate::builtin::via_ports() {
        for p in &proxies {
            for (svc, ports) in crate::orchestrate::builtin::upstream_ports(&project, p).map_err(anyhow::Error::msg)? {
                // The engine publishes no ports for a container on another's network stack or the host's.
                if project.services.get(&svc).is_some_and(|s| s.network_mode.is_some()) {
                    continue;
                }
                let entry = loopback_ports.entry(svc).or_default();
                entry.extend(ports);
                entry.sort();
                entry.dedup();
            }
        }
    }
    let hub = Arc::new(EventHub::subscribe(&engine, &project.name));
    // Subscribed before anything starts, so the foreground sees every exit.
    let events = hub.receiver();
    let wait_timeout = args.wait_timeout.map(Duration::from_secs).unwrap_or(DEFAULT_DEPENDENCY_TIMEOUT);
    let conv = Converge {
        engine: engine.clone(),
        project: project.clone(),
        existing: Arc::new(existing),
        image_ids: Arc::new(image_ids),
        hub: hub.clone(),
        progress: progress.clone(),
        force_recreate: args.force_recreate,
        no_recreate: args.no_recreate,
        no_start: args.no_start,
        timeout: args.timeout,
        wait_timeout,
        loopback_ports: Arc::new(loopback_ports),
        renewed: Default::default(),
    };
    let ids = match converge_all(conv, &container_targets).await {
        Ok(ids) => ids,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}: {e}", style.paint("1;31", "error"));
            }
            made.undo_if_unused(&engine, &project.name, &progress).await;
            return Ok(Ready::Exit(1));
        }
    };
    if args.no_start {
        return Ok(Ready::Exit(0));
    }
    // The proxies start last, once their dependencies meet their conditions
    // (checked together: each check is a round trip to the engine). Started
    // ones are, since converging them succeeded.
    let waits = proxies
        .iter()
        .flat_map(|p| project.services[p].depends_on.iter().map(move |(dep, d)| (p, dep, d.condition)))
        .filter(|(_, _, cond)| *cond != Condition::ServiceStarted)
        .flat_map(|(p, dep, cond)| ids.get(dep).into_iter().flatten().map(move |id| (p, dep, cond, id)))
        .map(|(p, dep, cond, id)| {
            let (engine, hub, progress) = (&engine, &hub, &progress);
            let n = ids[dep].iter().position(|i| i == id).unwrap_or(0) as u32 + 1;
            let item = format!("Container {}", spec::replica_name(&project, &project.services[dep], n));
            async move {
                progress.step(&item, "Waiting", false);
                let report = |why: &str| progress.note(&item, &format!("Waiting to be {}: {why}", cond.goal()));
                wait_for(engine, hub, id, dep, cond, wait_timeout, &report).await.map_err(|why| (p, why))?;
                progress.step(&item, if cond == Condition::ServiceHealthy { "Healthy" } else { "Exited" }, true);
                Ok(())
            }
        });
    // The first failure is reported at once, without waiting for the others.
    if let Err((p, why)) = futures::future::try_join_all(waits).await {
        eprintln!("{}: service {p}: dependency failed to start: {why}", style.paint("1;31", "error"));
        return Ok(Ready::Exit(1));
    }
    if detached {
        for (p, gate) in proxies.iter().zip(starting) {
            let item = format!("Proxy {}", spec::container_name(&project, &project.services[p]));
            // One already serving is reported as docker compose reports a running container.
            let done = if gate.was_running() {
                "Running"
            } else {
                progress.step(&item, "Starting", false);
                "Started"
            };
            let st = tokio::task::block_in_place(|| gate.release())?;
            progress.step(&item, &format!("{done} (built-in proxy on {})", st.addrs.join(", ")), true);
        }
    }
    if args.wait {
        return wait_all(&engine, &project, &hub, &ids, wait_timeout, &progress, style).await.map(Ready::Exit);
    }
    if detached {
        return Ok(Ready::Exit(0));
    }
    drop(progress);
    let width = containers::prefix_width(&project, &targets);
    let printer = LogPrinter::new(width, style.color && !args.no_color, !args.no_log_prefix);
    let order: Vec<String> = targets.iter().cloned().collect();
    // docker compose's first line, naming whose output follows.
    let shown: Vec<String> = targets
        .iter()
        .filter(|t| attached(&project, args, t))
        .flat_map(|t| (1..=ids.get(t).map_or(1, Vec::len) as u32).map(|n| containers::replica_prefix(&project, t, n)))
        .collect();
    if !shown.is_empty() {
        printer.plain(&format!("Attaching to {}", shown.join(", ")));
    }
    let mut servers = Vec::new();
    for p in &proxies {
        let ci = order.iter().position(|s| s == p).unwrap_or(0);
        // Named as the nginx container it stands in for.
        let prefix = containers::replica_prefix(&project, p, 1);
        let (pr, name) = (printer.clone(), prefix.clone());
        let lines: crate::proxy::log::LineFn = Arc::new(move |l: &str| pr.line(&name, ci, l));
        let (running, follow) = crate::orchestrate::builtin::start_in_process(&engine, &project, p, lines).await?;
        let addrs: Vec<String> = running.addrs.iter().map(|a| a.to_string()).collect();
        printer.line(&prefix, ci, &format!("built-in proxy serving on {}", addrs.join(", ")));
        servers.push((running, follow));
    }
    let fg = Foreground { _hub: hub, events, printer, servers, order, began };
    Ok(Ready::Follow(Box::new(Follow { engine, ids, container_targets, fg })))
}

/// `--wait`: every service running, healthy where it has a healthcheck,
/// completed where something waits on it as such.
async fn wait_all(
    engine: &Engine,
    project: &Project,
    hub: &EventHub,
    ids: &BTreeMap<String, Vec<String>>,
    timeout: Duration,
    progress: &Progress,
    style: &Style,
) -> anyhow::Result<i32> {
    let completed: BTreeSet<&String> = project
        .services
        .values()
        .flat_map(|s| s.depends_on.iter().filter(|(_, d)| d.condition == Condition::ServiceCompletedSuccessfully).map(|(n, _)| n))
        .collect();
    let waits = ids.iter().flat_map(|(name, ids)| ids.iter().zip(1..).map(move |(id, n)| (name, id, n))).map(|(name, id, n)| {
        let svc = &project.services[name];
        let cond = if completed.contains(name) {
            Condition::ServiceCompletedSuccessfully
        } else if svc
            .healthcheck
            .as_ref()
            .is_some_and(|h| !h.disable && h.test.as_ref().is_none_or(|t| t.first().map(String::as_str) != Some("NONE")))
        {
            Condition::ServiceHealthy
        } else {
            Condition::ServiceStarted
        };
        let item = format!("Container {}", spec::replica_name(project, svc, n));
        async move {
            progress.step(&item, "Waiting", false);
            let report = |why: &str| progress.note(&item, &format!("Waiting to be {}: {why}", cond.goal()));
            let r = match wait_for(engine, hub, id, name, cond, timeout, &report).await {
                Ok(()) if cond == Condition::ServiceStarted => match crate::engine::events::wait_stable(engine, id, name, timeout).await {
                    Err(why) => Err(why),
                    Ok(()) => match exit_code_if_exited(engine, id).await {
                        Some(code) if code != 0 => Err(format!("{name} exited with code {code}")),
                        _ => Ok(()),
                    },
                },
                other => other,
            };
            match &r {
                Ok(()) => progress.step(&item, if cond == Condition::ServiceHealthy { "Healthy" } else { "Started" }, true),
                Err(why) => progress.fail(&item, why),
            }
            r
        }
    });
    let failures: Vec<String> = join_all(waits).await.into_iter().filter_map(Result::err).collect();
    for f in &failures {
        eprintln!("{}: {f}", style.paint("1;31", "error"));
    }
    Ok(if failures.is_empty() { 0 } else { 1 })
}

async fn exit_code_if_exited(engine: &Engine, id: &str) -> Option<i64> {
    let info = engine.docker.inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>).await.ok()?;
    let state = info.state?;
    (!state.running.unwrap_or(false)).then(|| state.exit_code.unwrap_or(0))
}

/// Will the engine restart this container after it exits with `code`?
fn restarts(svc: &Service, code: i64) -> bool {
    match svc.restart_policy().as_deref() {
        Some("always") | Some("unless-stopped") => true,
        Some(r) if r.starts_with("on-failure") => code != 0,
        _ => false,
    }
}

/// Whose exit a foreground `up` waits for: the services named, else all.
/// As docker compose, `up web` returns when web's containers have exited,
/// with the dependencies it started still running.
fn watched(args: &UpArgs, svc: &str) -> bool {
    args.services.is_empty() || args.services.iter().any(|s| s == svc)
}

/// `--attach`, `--no-attach`, else `attach: false`: whether a foreground
/// `up` shows this service's output (it is followed for its exit anyway).
/// A dependency of the services named is shown with `--attach-dependencies`.
fn attached(project: &Project, args: &UpArgs, svc: &str) -> bool {
    if !args.attach.is_empty() {
        return args.attach.iter().any(|a| a == svc);
    }
    (watched(args, svc) || args.attach_dependencies)
        && !args.no_attach.iter().any(|a| a == svc)
        && project.services.get(svc).is_none_or(|s| s.attach != Some(false))
}

/// Follows the services' logs until they all exit, or until Ctrl-C stops them.
async fn foreground(
    engine: &Engine,
    project: &Arc<Project>,
    args: &UpArgs,
    style: &Style,
    ids: &BTreeMap<String, Vec<String>>,
    targets: &BTreeSet<String>,
    fg: Foreground,
) -> anyhow::Result<i32> {
    let Foreground { _hub, events: mut rx, printer, servers, order, began } = fg;
    let color_of = |svc: &str| order.iter().position(|s| s == svc).unwrap_or(0);
    let opts = StreamOpts { follow: true, timestamps: args.timestamps, since: began.timestamp(), after: Some(began), ..Default::default() };
    // Running containers of this run, by id, and their services.
    let mut running: HashMap<String, String> = HashMap::new();
    // Events name containers of the project; the hub's replay of the last
    // second may bring ones another run removed just now.
    let ours: std::collections::HashSet<&String> = ids.values().flatten().collect();
    let mut streams: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let attached = |svc: &str| attached(project, args, svc);
    let follow = |id: &str, service: &str, prefix: String, o: StreamOpts| {
        let (e, p, ci, id) = (engine.clone(), printer.clone(), color_of(service), id.to_string());
        tokio::spawn(async move { logs::stream(&e, &id, &prefix, ci, &o, &p).await })
    };
    for (name, ids) in ids {
        for (id, number) in ids.iter().zip(1..) {
            running.insert(id.clone(), name.clone());
            if attached(name) {
                streams.insert(id.clone(), follow(id, name, containers::replica_prefix(project, name, number), opts.clone()));
            }
        }
    }
    let abort = args.abort_on_container_exit || args.exit_code_from.is_some();
    let mut exit_code = 0i32;
    let mut interrupted = false;
    let mut events_closed = false;
    loop {
        tokio::select! {
            ev = rx.recv(), if !events_closed => {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        events_closed = true;
                        continue;
                    }
                };
                let ContainerEvent { id, service, action, exit_code: code, name, .. } = ev;
                if !targets.contains(&service) || !ours.contains(&id) { continue; }
                let prefix = || containers::log_prefix(project, &service, &name);
                match action.as_str() {
                    "start" if !running.contains_key(&id) => {
                        running.insert(id.clone(), service.clone());
                        if !attached(&service) {
                            continue;
                        }
                        let o = StreamOpts { since: chrono::Utc::now().timestamp(), ..opts.clone() };
                        streams.insert(id.clone(), follow(&id, &service, prefix(), o));
                    }
                    "die" => {
                        let code = code.unwrap_or(0);
                        running.remove(&id);
                        // Let the container's last lines out before saying it exited.
                        if let Some(h) = streams.remove(&id) {
                            let _ = tokio::time::timeout(Duration::from_secs(2), h).await;
                        }
                        let its_own = watched(args, &service);
                        if its_own || attached(&service) {
                            printer.event(&prefix(), color_of(&service), &format!("exited with code {code}"));
                        }
                        // A dependency: neither its code nor its end is up's.
                        if !its_own {
                            continue;
                        }
                        if let Some(from) = &args.exit_code_from {
                            if *from == service { exit_code = code as i32; }
                        } else {
                            exit_code = code as i32;
                        }
                        if abort {
                            eprintln!("Aborting on container exit...");
                            break;
                        }
                        let svc = &project.services[&service];
                        let any_left = running.values().any(|s| watched(args, s));
                        if !restarts(svc, code) && !any_left && servers.is_empty() {
                            return Ok(if args.exit_code_from.is_some() { exit_code } else { 0 });
                        }
                    }
                    _ => {}
                }
            }
            _ = tokio::signal::ctrl_c() => {
                interrupted = true;
                eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
                break;
            }
        }
    }
    // The proxies stop first: they were started last.
    for (running, follow) in servers {
        running.shutdown(crate::proxy::server::SHUTDOWN_DEADLINE).await;
        follow.abort();
    }
    let progress = Progress::new(crate::cli::Progress::Auto, style.color);
    let stop = super::stop_services(engine, project, targets, args.timeout, &progress);
    tokio::select! {
        r = stop => r?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("Killing...");
            for c in containers::list(engine, &project.name, false).await? {
                if targets.contains(containers::service(&c)) {
                    containers::kill(engine, &containers::id(&c)).await?;
                }
            }
        }
    }
    Ok(if interrupted { 130 } else { exit_code })
}
