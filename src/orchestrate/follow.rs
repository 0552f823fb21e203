//! Following containers' output, the one way `up` (in the foreground) and
//! `logs -f` do it: each container's stream under its prefix and color,
//! containers that start meanwhile picked up from the engine's events, and,
//! for `up`, each exit noticed, until they have all exited or Ctrl-C.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::converge::Ids;
use crate::compose::Project;
use crate::engine::events::{Action, ContainerEvent, EventHub};
use crate::engine::logs::{LogPrinter, StreamOpts};
use crate::engine::{Engine, containers, logs};
use crate::proxy::server::Running;
use crate::ui::Style;
use crate::ui::progress::{Mode, Progress};

/// How a foreground `up` shows and ends.
#[derive(Debug, Clone, Default)]
pub struct FollowOptions {
    /// The services named on the command line (whose exit ends `up`).
    pub services: Vec<String>,
    pub attach: Vec<String>,
    pub no_attach: Vec<String>,
    pub attach_dependencies: bool,
    pub abort_on_container_exit: bool,
    pub exit_code_from: Option<String>,
    pub no_color: bool,
    pub no_log_prefix: bool,
    pub timestamps: bool,
}

impl FollowOptions {
    /// Whose exit a foreground `up` waits for: the services named, else all.
    /// As docker compose, `up web` returns when web's containers have
    /// exited, with the dependencies it started still running.
    fn watched(&self, svc: &str) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| s == svc)
    }

    /// `--attach`, `--no-attach`, else `attach: false`: whether a foreground
    /// `up` shows this service's output (it is followed for its exit anyway).
    /// A dependency of the services named is shown with `--attach-dependencies`.
    pub fn attached(&self, project: &Project, svc: &str) -> bool {
        if !self.attach.is_empty() {
            return self.attach.iter().any(|a| a == svc);
        }
        (self.watched(svc) || self.attach_dependencies)
            && !self.no_attach.iter().any(|a| a == svc)
            && project.services.get(svc).is_none_or(|s| s.attach != Some(false))
    }
}

/// Streams containers' logs, one task each, under their prefix and color.
pub struct Streams {
    engine: Engine,
    printer: LogPrinter,
    order: Vec<String>,
    tasks: HashMap<String, tokio::task::JoinHandle<()>>,
}

impl Streams {
    pub fn new(engine: Engine, printer: LogPrinter, order: Vec<String>) -> Streams {
        Streams { engine, printer, order, tasks: HashMap::new() }
    }

    /// The color of a service: its place in the project's order.
    pub fn color_of(&self, svc: &str) -> usize {
        self.order.iter().position(|s| s == svc).unwrap_or(0)
    }

    pub fn printer(&self) -> &LogPrinter {
        &self.printer
    }

    /// Follows one container's output.
    pub fn follow(&mut self, id: &str, service: &str, prefix: String, o: StreamOpts) {
        let (e, p, ci, id2) =
            (self.engine.clone(), self.printer.clone(), self.color_of(service), id.to_string());
        self.tasks.insert(
            id.to_string(),
            tokio::spawn(async move { logs::stream(&e, &id2, &prefix, ci, &o, &p).await }),
        );
    }

    /// Lets a container's last lines out (at most two seconds).
    pub async fn finish(&mut self, id: &str) {
        if let Some(h) = self.tasks.remove(id) {
            let _ = tokio::time::timeout(Duration::from_secs(2), h).await;
        }
    }

    /// Waits for every stream to end.
    pub async fn wait_all(&mut self) {
        for (_, t) in self.tasks.drain() {
            let _ = t.await;
        }
    }
}

/// A foreground `up`, ready to follow.
pub struct Foreground {
    engine: Engine,
    _hub: Arc<EventHub>,
    events: tokio::sync::broadcast::Receiver<ContainerEvent>,
    streams: Streams,
    servers: Vec<(Running, tokio::task::JoinHandle<()>)>,
    ids: Ids,
    targets: BTreeSet<String>,
    container_targets: BTreeSet<String>,
    /// Before any container was started: output from earlier is an earlier
    /// run's (docker compose attaches, and shows only what comes after).
    began: chrono::DateTime<chrono::FixedOffset>,
}

impl Foreground {
    /// Says whose output follows, and starts the in-process proxies.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        engine: Engine,
        project: Arc<Project>,
        hub: Arc<EventHub>,
        events: tokio::sync::broadcast::Receiver<ContainerEvent>,
        ids: Ids,
        targets: BTreeSet<String>,
        container_targets: BTreeSet<String>,
        proxies: Vec<String>,
        began: chrono::DateTime<chrono::FixedOffset>,
        o: &FollowOptions,
        style: &Style,
    ) -> anyhow::Result<Foreground> {
        let width = containers::prefix_width(&project, &targets);
        let printer = LogPrinter::new(width, style.color && !o.no_color, !o.no_log_prefix);
        let order: Vec<String> = targets.iter().cloned().collect();
        // docker compose's first line, naming whose output follows.
        let shown: Vec<String> = targets
            .iter()
            .filter(|t| o.attached(&project, t))
            .flat_map(|t| {
                (1..=ids.get(t.as_str()).map_or(1, Vec::len).try_into().unwrap_or(u32::MAX))
                    .map(|n| containers::replica_prefix(&project, t, n))
            })
            .collect();
        if !shown.is_empty() {
            printer.plain(&format!("Attaching to {}", shown.join(", ")));
        }
        let streams = Streams::new(engine.clone(), printer.clone(), order);
        let mut servers = Vec::new();
        for p in &proxies {
            let ci = streams.color_of(p);
            // Named as the nginx container it stands in for.
            let prefix = containers::replica_prefix(&project, p, 1);
            let (pr, name) = (printer.clone(), prefix.clone());
            let lines: crate::proxy::log::LineFn = Arc::new(move |l: &str| pr.line(&name, ci, l));
            let (running, follow) =
                super::builtin::start_in_process(&engine, &project, p, lines).await?;
            let addrs: Vec<String> = running.addrs.iter().map(|a| a.to_string()).collect();
            printer.line(&prefix, ci, &format!("built-in proxy serving on {}", addrs.join(", ")));
            servers.push((running, follow));
        }
        Ok(Foreground {
            engine,
            _hub: hub,
            events,
            streams,
            servers,
            ids,
            targets,
            container_targets,
            began,
        })
    }
}

/// Follows the services' logs until they all exit, or until Ctrl-C stops
/// them; the exit status.
pub async fn foreground(
    project: &Arc<Project>,
    fg: Foreground,
    o: &FollowOptions,
    timeout: Option<u64>,
    style: &Style,
) -> anyhow::Result<i32> {
    let Foreground {
        engine,
        _hub,
        events: mut rx,
        mut streams,
        servers,
        ids,
        targets,
        container_targets,
        began,
    } = fg;
    let opts = StreamOpts {
        follow: true,
        timestamps: o.timestamps,
        since: began.timestamp(),
        after: Some(began),
        ..Default::default()
    };
    // Running containers of this run, by id, and their services.
    let mut running: HashMap<String, String> = HashMap::new();
    // Events name containers of the project; the hub's replay of the last
    // second may bring ones another run removed just now.
    let ours: HashSet<&String> = ids.values().flatten().collect();
    for (name, ids) in &ids {
        for (id, number) in ids.iter().zip(1..) {
            running.insert(id.clone(), name.clone());
            if o.attached(project, name) {
                streams.follow(
                    id,
                    name,
                    containers::replica_prefix(project, name, number),
                    opts.clone(),
                );
            }
        }
    }
    let abort = o.abort_on_container_exit || o.exit_code_from.is_some();
    let (mut exit_code, mut interrupted, mut events_closed) = (0i32, false, false);
    loop {
        tokio::select! {
            ev = rx.recv(), if !events_closed => {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => {
                        events_closed = true;
                        continue;
                    }
                };
                if !container_targets.contains(&ev.service) || !ours.contains(&ev.id) {
                    continue;
                }
                let prefix = containers::log_prefix(project, &ev.service, &ev.name);
                match ev.action {
                    Action::Start if !running.contains_key(&ev.id) => {
                        running.insert(ev.id.clone(), ev.service.clone());
                        if o.attached(project, &ev.service) {
                            let since = StreamOpts { since: chrono::Utc::now().timestamp(), ..opts.clone() };
                            streams.follow(&ev.id, &ev.service, prefix, since);
                        }
                    }
                    Action::Die => {
                        let code = ev.exit_code.unwrap_or(0);
                        running.remove(&ev.id);
                        // Let the container's last lines out before saying it exited.
                        streams.finish(&ev.id).await;
                        let its_own = o.watched(&ev.service);
                        if its_own || o.attached(project, &ev.service) {
                            streams.printer().event(&prefix, streams.color_of(&ev.service), &format!("exited with code {code}"));
                        }
                        // A dependency: neither its code nor its end is up's.
                        if !its_own {
                            continue;
                        }
                        if o.exit_code_from.as_ref().is_none_or(|from| *from == ev.service) {
                            exit_code = i32::try_from(code).unwrap_or(1);
                        }
                        if abort {
                            eprintln!("Aborting on container exit...");
                            break;
                        }
                        let restarts = project.services[&ev.service].restart_policy().is_some_and(|r| r.restarts_after(code));
                        let any_left = running.values().any(|s| o.watched(s));
                        if !restarts && !any_left && servers.is_empty() {
                            return Ok(if o.exit_code_from.is_some() { exit_code } else { 0 });
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
    stop_all(&engine, project, servers, &container_targets, &targets, timeout, style).await?;
    Ok(if interrupted { 130 } else { exit_code })
}

/// Stops what `up` started, the proxies first (they were started last); a
/// second Ctrl-C kills the containers instead.
async fn stop_all(
    engine: &Engine,
    project: &Arc<Project>,
    servers: Vec<(Running, tokio::task::JoinHandle<()>)>,
    container_targets: &BTreeSet<String>,
    targets: &BTreeSet<String>,
    timeout: Option<u64>,
    style: &Style,
) -> anyhow::Result<()> {
    // The proxies stop first: they were started last.
    for (running, follow) in servers {
        running.shutdown(crate::proxy::server::SHUTDOWN_DEADLINE).await;
        follow.abort();
    }
    let progress = Progress::new(Mode::Auto, style.color);
    let stop = super::stop::stop_running(engine, project, container_targets, timeout, &progress);
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
    Ok(())
}
