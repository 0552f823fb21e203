//! The engine's event stream for a project, and waiting on it for
//! depends_on conditions (running, healthy, completed) without polling.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};
use bollard::query_parameters::{EventsOptions, InspectContainerOptions};
use futures::StreamExt;
use tokio::sync::broadcast;

use super::{Engine, engine_message, labels, podman};
use crate::compose::model::Condition;

/// One container event of the project.
#[derive(Debug, Clone)]
pub struct ContainerEvent {
    pub id: String,
    pub name: String,
    pub service: String,
    pub action: Action,
    pub exit_code: Option<i64>,
    /// When the engine says it happened, in nanoseconds since the epoch.
    pub time_nano: i64,
}

/// What happened to a container, as the engine's event names it; those
/// the commands act on have their own variant, the rest keep their text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Create,
    Start,
    Restart,
    Die,
    Stop,
    Kill,
    Destroy,
    /// `health_status: healthy` and the like, with the status.
    Health(String),
    Other(String),
}

impl Action {
    pub fn parse(s: &str) -> Action {
        match s {
            "create" => Action::Create,
            "start" => Action::Start,
            "restart" => Action::Restart,
            "die" => Action::Die,
            "stop" => Action::Stop,
            "kill" => Action::Kill,
            "destroy" => Action::Destroy,
            _ => match s.strip_prefix("health_status:") {
                Some(status) => Action::Health(status.trim().to_string()),
                None => Action::Other(s.to_string()),
            },
        }
    }

    /// Whether the container stops running with it (or is gone).
    pub fn ends_run(&self) -> bool {
        matches!(self, Action::Die | Action::Stop | Action::Kill | Action::Destroy)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Action::Create => "create",
            Action::Start => "start",
            Action::Restart => "restart",
            Action::Die => "die",
            Action::Stop => "stop",
            Action::Kill => "kill",
            Action::Destroy => "destroy",
            Action::Health(status) => return write!(f, "health_status: {status}"),
            Action::Other(s) => s,
        };
        f.write_str(s)
    }
}

/// Compared with the engine's own name for it.
impl PartialEq<&str> for Action {
    fn eq(&self, other: &&str) -> bool {
        *self == Action::parse(other)
    }
}

/// A subscription to the project's container events, shared by waiters.
pub struct EventHub {
    tx: broadcast::Sender<ContainerEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EventHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EventHub {
    /// Subscribes from a moment ago, so events of containers started right
    /// after this call are not missed while the stream connects.
    pub fn subscribe(engine: &Engine, project: &str) -> EventHub {
        let (tx, _) = broadcast::channel(1024);
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("label".to_string(), vec![labels::project_filter(project)]),
        ]);
        let docker = engine.docker.clone();
        let sender = tx.clone();
        let task = tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut since = (chrono::Utc::now().timestamp() - 1) * 1_000_000_000;
            let mut backoff = Duration::from_millis(100);
            loop {
                let from = format!(
                    "{}.{:09}",
                    since.div_euclid(1_000_000_000),
                    since.rem_euclid(1_000_000_000)
                );
                crate::ui::debug(&format!("events: subscribing since {from}"));
                let opts = EventsOptions {
                    since: Some(from),
                    until: None,
                    filters: Some(filters.clone()),
                };
                let mut stream = docker.events(Some(opts));
                while let Some(item) = stream.next().await {
                    let ev = match item {
                        Ok(ev) => ev,
                        Err(e) => {
                            crate::ui::debug(&format!("events: stream failed: {e}"));
                            break;
                        }
                    };
                    backoff = Duration::from_millis(100);
                    let nanos =
                        ev.time_nano.unwrap_or_else(|| ev.time.unwrap_or(0) * 1_000_000_000);
                    let actor = ev.actor.unwrap_or_default();
                    let attrs = actor.attributes.unwrap_or_default();
                    let event = ContainerEvent {
                        id: actor.id.unwrap_or_default(),
                        name: attrs.get("name").cloned().unwrap_or_default(),
                        service: attrs.get(labels::SERVICE).cloned().unwrap_or_default(),
                        action: Action::parse(ev.action.as_deref().unwrap_or_default()),
                        exit_code: attrs.get("exitCode").and_then(|c| c.parse().ok()),
                        time_nano: nanos,
                    };
                    if !seen.first_time(&event) {
                        continue;
                    }
                    crate::ui::debug(&format!(
                        "events: {} {} ({}) at {nanos}",
                        event.action,
                        event.name,
                        short(&event.id)
                    ));
                    let _ = sender.send(event);
                }
                // Resumed a little before the newest event passed on: the engine
                // may have stamped an event earlier than one it sent before it.
                since = seen.resume_from().unwrap_or(since);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        });
        EventHub { tx, task }
    }

    pub fn receiver(&self) -> broadcast::Receiver<ContainerEvent> {
        self.tx.subscribe()
    }
}

/// The events already passed on, to recognise them when a resumed stream
/// replays them. Not by time alone: the engine stamps an event before it
/// takes the lock that orders them, so two containers' events can arrive
/// out of time order, and a `die` stamped a microsecond before another
/// container's `health_status` must still count (dropping it once left
/// `up -d` waiting out its whole timeout for a job that had completed).
#[derive(Default)]
struct Seen {
    keys: std::collections::HashSet<(i64, String, Action)>,
    order: std::collections::VecDeque<(i64, String, Action)>,
    newest: i64,
}

impl Seen {
    /// How far before the newest event a resumed stream starts.
    const MARGIN: i64 = 2_000_000_000;
    /// How long keys are kept: longer than the margin, so what a replay brings is known.
    const KEEP: i64 = 10_000_000_000;

    /// Whether this event has not been passed on before.
    fn first_time(&mut self, ev: &ContainerEvent) -> bool {
        if ev.time_nano == 0 {
            return true;
        }
        let key = (ev.time_nano, ev.id.clone(), ev.action.clone());
        if self.keys.contains(&key) {
            return false;
        }
        self.newest = self.newest.max(ev.time_nano);
        while self.order.front().is_some_and(|k| k.0 < self.newest - Self::KEEP) {
            if let Some(old) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
        self.keys.insert(key.clone());
        self.order.push_back(key);
        true
    }

    /// Where a stream that broke off resumes.
    fn resume_from(&self) -> Option<i64> {
        (self.newest > 0).then(|| self.newest - Self::MARGIN)
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// What a container's state says about a condition.
#[derive(Debug)]
enum Verdict {
    Met,
    Failed(String),
    Waiting(String),
}

async fn check(engine: &Engine, id: &str, service: &str, condition: Condition) -> Verdict {
    let inspect = || engine.docker.inspect_container(id, None::<InspectContainerOptions>);
    let mut info = match inspect().await {
        Ok(i) => i,
        Err(e) => return Verdict::Failed(format!("{service}: {}", engine_message(&e))),
    };
    if engine.podman
        && condition == Condition::ServiceHealthy
        && podman::health_check_due(&info, chrono::Utc::now())
        && let Some(socket) = engine.host.strip_prefix("unix://")
    {
        // No timer may run it (see engine::podman): the check that is due, now.
        match podman::run_health_check(socket, id).await {
            Ok(()) => info = inspect().await.unwrap_or(info),
            Err(e) => crate::ui::debug(&format!("podman healthcheck run {}: {e}", short(id))),
        }
    }
    let state = info.state.unwrap_or_default();
    let status = state.status.unwrap_or(ContainerStateStatusEnum::EMPTY);
    let exit = state.exit_code.unwrap_or(0);
    let exited =
        matches!(status, ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD);
    let restarts = info.restart_count.unwrap_or(0);
    let healthy = state.health.as_ref().and_then(|h| h.status) == Some(HealthStatusEnum::HEALTHY);
    // A container its restart policy keeps bringing back can wait forever
    // without ever failing: after a few restarts, call it what it is.
    if condition != Condition::ServiceStarted
        && restarts >= CRASH_LOOP_RESTARTS
        && exit != 0
        && !healthy
    {
        return Verdict::Failed(crash_loop(service, exit, restarts));
    }
    match condition {
        Condition::ServiceStarted => match status {
            ContainerStateStatusEnum::RUNNING
            | ContainerStateStatusEnum::RESTARTING
            | ContainerStateStatusEnum::EXITED => Verdict::Met,
            other => Verdict::Waiting(format!("it is {other}")),
        },
        Condition::ServiceHealthy => {
            let health = state.health.and_then(|h| h.status);
            if exited && health != Some(HealthStatusEnum::HEALTHY) {
                return Verdict::Failed(format!(
                    "dependency {service} exited with code {exit} before it was healthy"
                ));
            }
            match health {
                None | Some(HealthStatusEnum::NONE) | Some(HealthStatusEnum::EMPTY) => {
                    Verdict::Failed(format!(
                        "{service} has no healthcheck, so it can never be healthy\n  hint: add a healthcheck to {service}, or use condition: service_started"
                    ))
                }
                Some(HealthStatusEnum::HEALTHY) => Verdict::Met,
                Some(HealthStatusEnum::UNHEALTHY)
                    if status == ContainerStateStatusEnum::RESTARTING
                        || restarts > 0 && exit != 0 =>
                {
                    Verdict::Failed(format!(
                        "dependency {service} is unhealthy: it exited with code {exit} and is being restarted"
                    ))
                }
                Some(HealthStatusEnum::UNHEALTHY) => {
                    Verdict::Failed(format!("dependency {service} is unhealthy"))
                }
                Some(HealthStatusEnum::STARTING) => {
                    Verdict::Waiting("its health is starting".into())
                }
            }
        }
        Condition::ServiceCompletedSuccessfully => match status {
            ContainerStateStatusEnum::EXITED if exit == 0 => Verdict::Met,
            ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD => {
                Verdict::Failed(format!(
                    "dependency {service} did not complete successfully: exited with code {exit}"
                ))
            }
            other => Verdict::Waiting(format!("it is {other}")),
        },
    }
}

/// Restarts after which a container that keeps exiting with an error is
/// reported as crash-looping (the engine's back-off makes this about 3 s).
pub const CRASH_LOOP_RESTARTS: i64 = 5;

fn crash_loop(service: &str, exit: i64, restarts: i64) -> String {
    format!(
        "{service} is crash-looping: it exited with code {exit} and was restarted {restarts} times"
    )
}

/// `--wait` for a service without healthcheck: running, and still running
/// (same run) a second after it started, so a container that dies at once
/// and is restarted by its policy is not taken for a running one.
pub async fn wait_stable(
    engine: &Engine,
    id: &str,
    service: &str,
    timeout: Duration,
) -> Result<(), String> {
    const SETTLE: Duration = Duration::from_secs(1);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let info = engine
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| engine_message(&e))?;
        let restarts = info.restart_count.unwrap_or(0);
        let state = info.state.unwrap_or_default();
        let exit = state.exit_code.unwrap_or(0);
        let running = state.running == Some(true) && state.restarting != Some(true);
        if !running && state.restarting != Some(true) {
            // Exited for good: the caller judges by the exit code.
            return Ok(());
        }
        if restarts >= CRASH_LOOP_RESTARTS && exit != 0 {
            return Err(
                with_last_lines(engine, id, service, crash_loop(service, exit, restarts)).await
            );
        }
        let up_for = state
            .started_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| (chrono::Utc::now() - t.to_utc()).to_std().ok())
            .unwrap_or_default();
        if running && up_for >= SETTLE {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "timed out after {}s waiting for {service} to stay running",
                timeout.as_secs()
            ));
        }
        let pause =
            if running { SETTLE.saturating_sub(up_for) } else { Duration::from_millis(200) };
        tokio::time::sleep(pause.max(Duration::from_millis(50))).await;
    }
}

/// The failure, with the container's last lines of output (why it exited, usually).
async fn with_last_lines(engine: &Engine, id: &str, service: &str, why: String) -> String {
    use bollard::container::LogOutput;
    let opts = bollard::query_parameters::LogsOptions {
        stdout: true,
        stderr: true,
        tail: "5".into(),
        ..Default::default()
    };
    let mut stream = engine.docker.logs(id, Some(opts));
    let mut text = String::new();
    while let Ok(Some(Ok(chunk))) =
        tokio::time::timeout(Duration::from_secs(2), stream.next()).await
    {
        if let LogOutput::StdOut { message }
        | LogOutput::StdErr { message }
        | LogOutput::Console { message } = chunk
        {
            text.push_str(&String::from_utf8_lossy(&message));
        }
    }
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("    {service} | {l}"))
        .collect();
    if lines.is_empty() { why } else { format!("{why}; its last output:\n{}", lines.join("\n")) }
}

/// How often a waited container's state is asked for even without an
/// event about it: the events are a hint, the engine's state is the truth,
/// and an event lost on the way costs at most this delay.
pub const RECHECK: Duration = Duration::from_millis(1500);

/// Waits until the container meets `condition`, re-checking on each event
/// about it and every [`RECHECK`]; `report` hears why it still waits, with
/// the time waited so far, after each check.
pub async fn wait_for(
    engine: &Engine,
    hub: &EventHub,
    id: &str,
    service: &str,
    condition: Condition,
    timeout: Duration,
    report: &(dyn Fn(&str) + Sync),
) -> Result<(), String> {
    let mut rx = hub.receiver();
    let began = tokio::time::Instant::now();
    let deadline = began + timeout;
    loop {
        let verdict = check(engine, id, service, condition).await;
        crate::ui::debug(&format!(
            "wait: {service} ({}) {}: {verdict:?}",
            short(id),
            condition.as_str()
        ));
        let last = match verdict {
            Verdict::Met => return Ok(()),
            Verdict::Failed(why) => return Err(with_last_lines(engine, id, service, why).await),
            Verdict::Waiting(why) => why,
        };
        report(&format!("{last}, {}s", began.elapsed().as_secs()));
        // Sleep until an event about this container arrives, the re-check
        // is due, or time runs out.
        let recheck = (tokio::time::Instant::now() + RECHECK).min(deadline);
        loop {
            match tokio::time::timeout_at(recheck, rx.recv()).await {
                Err(_) if tokio::time::Instant::now() >= deadline => {
                    let what = condition.goal();
                    return Err(format!(
                        "timed out after {}s waiting for {service} to be {what} ({last})",
                        timeout.as_secs()
                    ));
                }
                Err(_) => break,
                Ok(Ok(ev)) if ev.id == id => break,
                Ok(Ok(_)) => continue,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => break,
                // The hub is gone (never while its owner waits): the timer alone then.
                Ok(Err(broadcast::error::RecvError::Closed)) => {
                    tokio::time::sleep_until(recheck).await;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_and_print_as_the_engine_names_them() {
        for s in [
            "start",
            "die",
            "destroy",
            "health_status: healthy",
            "exec_die",
            "exec_create: sh -c true",
        ] {
            assert_eq!(Action::parse(s).to_string(), s);
        }
        assert_eq!(Action::parse("health_status: unhealthy"), Action::Health("unhealthy".into()));
        assert!(Action::parse("kill").ends_run() && !Action::parse("restart").ends_run());
    }

    fn ev(id: &str, action: &str, time_nano: i64) -> ContainerEvent {
        ContainerEvent {
            id: id.into(),
            name: id.into(),
            service: id.into(),
            action: Action::parse(action),
            exit_code: None,
            time_nano,
        }
    }

    #[test]
    fn events_out_of_time_order_all_pass_and_a_replay_passes_none_again() {
        let mut seen = Seen::default();
        // As the engine can send them: web's probe stamped after init's exit, sent first.
        let live = [
            ev("web", "exec_die", 1_000_000_500),
            ev("init", "die", 1_000_000_400),
            ev("web", "health_status: healthy", 1_000_000_600),
        ];
        for e in &live {
            assert!(seen.first_time(e), "{} {} dropped", e.id, e.action);
        }
        // The stream broke: it resumes before the newest, and what it replays is known.
        let from = seen.resume_from().unwrap();
        assert!(from < 1_000_000_400, "resumes before the events that may have come out of order");
        for e in &live {
            assert!(!seen.first_time(e), "{} {} passed twice", e.id, e.action);
        }
        assert!(seen.first_time(&ev("init", "destroy", 1_000_000_700)));
        // Same container and time, another action: another event.
        assert!(seen.first_time(&ev("init", "stop", 1_000_000_400)));
        // Engines that give no nanoseconds: nothing can be told apart, all pass.
        assert!(seen.first_time(&ev("x", "die", 0)) && seen.first_time(&ev("x", "die", 0)));
    }

    #[test]
    fn keys_are_kept_for_a_window_only() {
        let mut seen = Seen::default();
        for i in 0..1000 {
            assert!(seen.first_time(&ev("a", "exec_die", i * 100_000_000)));
        }
        assert!(
            seen.keys.len() <= usize::try_from(Seen::KEEP / 100_000_000 + 1).unwrap(),
            "{} keys kept",
            seen.keys.len()
        );
        assert_eq!(seen.keys.len(), seen.order.len());
    }
}
