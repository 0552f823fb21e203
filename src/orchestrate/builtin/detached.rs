//! The built-in proxy as a process of its own (`up -d`): started held at a
//! gate while the containers it fronts start, released once they meet its
//! `depends_on` conditions, and found again by later commands through the
//! state it records (pid, start time, addresses) in the project's state
//! directory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bollard::models::{
    ContainerSummary, ContainerSummaryStateEnum, PortSummary, PortSummaryTypeEnum,
};
use rustix::process::{Pid, Signal, kill_process, kill_process_group};
use serde::{Deserialize, Serialize};

use super::in_process::load_in_process;
use super::select::{proxy_services, state_dir};
use crate::compose::Project;
use crate::engine::labels;

/// What a detached proxy records once it listens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProxyState {
    /// The process to signal: the supervisor when the service restarts.
    pub pid: u32,
    /// The process serving requests.
    #[serde(default)]
    pub server_pid: u32,
    pub addrs: Vec<String>,
    pub started: i64,
    /// When `pid` and `server_pid` began, in clock ticks since boot (`/proc/PID/stat`
    /// field 22): a pid the kernel has since given to another process never matches.
    #[serde(default)]
    pub pid_start: u64,
    #[serde(default)]
    pub server_start: u64,
}

pub(crate) fn files(project: &str, service: &str) -> (PathBuf, PathBuf) {
    let dir = state_dir(project);
    (dir.join(format!("{service}.json")), dir.join(format!("{service}.log")))
}

pub fn log_file(project: &str, service: &str) -> PathBuf {
    files(project, service).1
}

/// A process's state letter and start time, from `/proc/PID/stat`. The
/// command name (field 2) may hold spaces and parentheses, so fields are
/// counted after its last `)`.
fn stat(pid: u32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = s.rsplit_once(") ")?.1.split(' ');
    let state = rest.next()?.chars().next()?;
    // Fields 3.. follow; the start time is field 22.
    let start = rest.nth(22 - 4)?.parse().ok()?;
    Some((state, start))
}

/// When `pid` started, for the state file; 0 when it cannot be read.
pub(crate) fn start_time(pid: u32) -> u64 {
    stat(pid).map_or(0, |(_, start)| start)
}

/// `pid` is a live process, and the one that started at `start` (0: not recorded).
fn alive(pid: u32, start: u64) -> bool {
    pid != 0
        && stat(pid).is_some_and(|(state, began)| state != 'Z' && (start == 0 || began == start))
}

impl ProxyState {
    /// The supervisor or the serving process is still there (a serving
    /// child outlives a supervisor that was killed).
    fn alive(&self) -> bool {
        alive(self.pid, self.pid_start) || alive(self.server_pid, self.server_start)
    }
}

/// Waits up to `timeout` for both processes of `st` to be gone; false if
/// one is still there.
pub fn wait_ended(st: &ProxyState, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while st.alive() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// The running detached proxy of a service, if any.
pub fn running(project: &str, service: &str) -> Option<ProxyState> {
    let (state, _) = files(project, service);
    let st: ProxyState = serde_json::from_str(&std::fs::read_to_string(state).ok()?).ok()?;
    st.alive().then_some(st)
}

/// What loads the project again in another process, besides its files
/// and folder: the profiles and env files it was loaded with.
#[derive(Debug, Clone, Default)]
pub struct Reload {
    pub profiles: Vec<String>,
    pub env_files: Vec<PathBuf>,
}

/// The global options that load this project again in another process.
fn project_args(project: &Project, global: &Reload) -> Vec<String> {
    let mut a = vec![
        "-p".to_string(),
        project.name.clone(),
        "--project-directory".into(),
        project.working_dir.display().to_string(),
    ];
    for f in &project.config_files {
        a.push("-f".into());
        a.push(f.display().to_string());
    }
    for p in &global.profiles {
        a.push("--profile".into());
        a.push(p.clone());
    }
    for e in &global.env_files {
        a.push("--env-file".into());
        a.push(std::env::current_dir().unwrap_or_default().join(e).display().to_string());
    }
    a
}

/// Set for a proxy process that must wait to be released (a line `go` on
/// its standard input) before it reads the containers and listens.
pub(crate) const GATE: &str = "RCOMPOSE_PROXY_GATE";

/// The exit status of a gated proxy whose starter went away without releasing it.
pub(crate) const GATE_CLOSED: i32 = 3;

/// A detached proxy started ahead of its dependencies: its process starts,
/// loads the project and reaches the engine while the containers start, and
/// waits at the gate. Dropped without [`Starting::release`], it exits
/// without ever listening.
pub struct Starting {
    project: String,
    service: String,
    log: PathBuf,
    gate: Gate,
}

enum Gate {
    /// The proxy was running already: nothing to release.
    Running(ProxyState),
    /// The process waits for `go` on this pipe.
    Held(std::process::Child, std::process::ChildStdin),
    Released,
}

/// Starts a detached proxy process for `service`, held at the gate.
pub fn start_detached(
    project: &Project,
    global: &Reload,
    service: &str,
) -> anyhow::Result<Starting> {
    let (state, log) = files(&project.name, service);
    let starting = |gate| Starting {
        project: project.name.clone(),
        service: service.to_string(),
        log: log.clone(),
        gate,
    };
    if let Some(st) = running(&project.name, service) {
        return Ok(starting(Gate::Running(st)));
    }
    // Checked here, where the error can be shown: the process would only
    // log it, and its supervisor would start it again and again.
    load_in_process(project, service, Arc::new(|_: &str| {}))?;
    let dir = state_dir(&project.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _ = std::fs::remove_file(&state);
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let err = out.try_clone()?;
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(project_args(project, global))
        .args(["proxy-daemon", service])
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        .env("NO_COLOR", "1")
        .env(GATE, "1");
    // Its own process group, so Ctrl-C at the terminal does not reach it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().context("cannot start the proxy process")?;
    let gate = child.stdin.take().context("the proxy process has no standard input")?;
    Ok(starting(Gate::Held(child, gate)))
}

impl Starting {
    /// The proxy was serving already: nothing starts.
    pub fn was_running(&self) -> bool {
        matches!(self.gate, Gate::Running(_))
    }

    /// Opens the gate and waits until the proxy listens.
    pub fn release(mut self) -> anyhow::Result<ProxyState> {
        let (mut child, mut gate) = match std::mem::replace(&mut self.gate, Gate::Released) {
            Gate::Running(st) => return Ok(st),
            Gate::Held(child, gate) => (child, gate),
            Gate::Released => bail!("the proxy process was released already"),
        };
        let service = &self.service;
        // A proxy that already exited reads no line; its status says why below.
        let _ = std::io::Write::write_all(&mut gate, b"go\n");
        drop(gate);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = running(&self.project, service) {
                std::thread::spawn(move || child.wait());
                return Ok(st);
            }
            if let Ok(Some(status)) = child.try_wait() {
                let text = std::fs::read_to_string(&self.log).unwrap_or_default();
                let last: Vec<&str> = text.lines().rev().take(3).collect();
                bail!(
                    "service {service}: the built-in proxy exited ({status}): {}",
                    last.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                bail!(
                    "service {service}: the built-in proxy did not start listening within 20 seconds; see {}",
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        // Closing the gate unreleased makes the process exit; reap it when it does.
        if let Gate::Held(mut child, gate) = std::mem::replace(&mut self.gate, Gate::Released) {
            drop(gate);
            std::thread::spawn(move || child.wait());
        }
    }
}

/// Starts a detached proxy process for `service` and waits until it listens.
pub fn spawn_detached(
    project: &Project,
    global: &Reload,
    service: &str,
) -> anyhow::Result<ProxyState> {
    start_detached(project, global, service)?.release()
}

/// Sends `sig` to a process, or to its process group.
pub fn send_signal(pid: u32, group: bool, sig: Signal) {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return;
    };
    // A process already gone is what was wanted.
    let _ = if group { kill_process_group(pid, sig) } else { kill_process(pid, sig) };
}

/// A signal as `kill -s` names it: `SIGHUP`, `HUP` or `1`.
pub fn parse_signal(name: &str) -> Option<Signal> {
    let n = name.trim_start_matches("SIG").to_ascii_uppercase();
    Some(match n.as_str() {
        "HUP" | "1" => Signal::HUP,
        "INT" | "2" => Signal::INT,
        "QUIT" | "3" => Signal::QUIT,
        "KILL" | "9" => Signal::KILL,
        "USR1" | "10" => Signal::USR1,
        "USR2" | "12" => Signal::USR2,
        "TERM" | "15" => Signal::TERM,
        _ => return None,
    })
}

/// Stops a detached proxy gracefully (SIGTERM, then SIGKILL after
/// `timeout`). The kill goes to the process group: a supervisor killed
/// before it passed SIGTERM on would leave its serving child behind.
pub fn stop_detached(project: &str, service: &str, timeout: Duration) -> anyhow::Result<bool> {
    let Some(st) = running(project, service) else {
        let _ = std::fs::remove_file(files(project, service).0);
        return Ok(false);
    };
    // The supervisor passes SIGTERM on; without one, the server takes it.
    let target = if alive(st.pid, st.pid_start) { st.pid } else { st.server_pid };
    send_signal(target, false, Signal::TERM);
    if !wait_ended(&st, timeout) {
        // start_detached made the first process the leader of its own group.
        if alive(st.pid, st.pid_start) {
            send_signal(st.pid, true, Signal::KILL);
        } else if alive(st.server_pid, st.server_start) {
            send_signal(st.server_pid, false, Signal::KILL);
        }
        wait_ended(&st, Duration::from_secs(5));
    }
    let _ = std::fs::remove_file(files(project, service).0);
    Ok(true)
}

/// Removes a stopped project's proxy state (`down`).
pub fn remove_state(project: &str) {
    let dir = state_dir(project);
    let _ = std::fs::remove_dir_all(dir);
}

/// The nginx services the built-in proxy serves, given the services that
/// have containers: one with a container of its own runs the real nginx
/// (`up` found something only nginx does, or was told `--no-builtin-proxy`),
/// and the commands act on that container instead.
pub fn served<'a>(
    project: &Project,
    with_containers: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let real: std::collections::HashSet<&str> = with_containers.into_iter().collect();
    proxy_services(project, false).into_iter().filter(|p| !real.contains(p.as_str())).collect()
}

/// Rows for `ps`, shaped like containers.
pub fn summaries(project: &Project, proxies: &[String], all: bool) -> Vec<ContainerSummary> {
    let now = chrono::Utc::now().timestamp();
    let mut out = Vec::new();
    for service in proxies {
        let svc = &project.services[service];
        let name = crate::engine::spec::container_name(project, svc);
        let st = running(&project.name, service);
        if st.is_none() && !all {
            continue;
        }
        let ports: Vec<PortSummary> = st
            .iter()
            .flat_map(|s| s.addrs.iter())
            .filter_map(|a| a.parse::<std::net::SocketAddr>().ok())
            .map(|a| {
                let target = svc
                    .ports
                    .iter()
                    .find(|p| p.published.as_deref() == Some(&a.port().to_string()))
                    .map(|p| p.target)
                    .unwrap_or(a.port());
                PortSummary {
                    ip: Some(a.ip().to_string()),
                    private_port: target,
                    public_port: Some(a.port()),
                    typ: Some(PortSummaryTypeEnum::TCP),
                }
            })
            .collect();
        let labels = HashMap::from([
            (labels::PROJECT.to_string(), project.name.clone()),
            (labels::SERVICE.to_string(), service.clone()),
        ]);
        let (state, status, created) = match &st {
            Some(s) => (
                ContainerSummaryStateEnum::RUNNING,
                format!(
                    "Up {} (built-in proxy)",
                    crate::ui::time::ago(now - s.started).trim_end_matches(" ago")
                ),
                s.started,
            ),
            None => (ContainerSummaryStateEnum::EXITED, "Exited (built-in proxy)".to_string(), now),
        };
        out.push(ContainerSummary {
            id: Some(format!("rcompose-proxy-{}", st.as_ref().map(|s| s.pid).unwrap_or(0))),
            names: Some(vec![format!("/{name}")]),
            image: svc.image.clone(),
            command: Some("rcompose proxy".into()),
            created: Some(created),
            ports: Some(ports),
            labels: Some(labels),
            state: Some(state),
            status: Some(status),
            ..Default::default()
        });
    }
    out
}
