//! Running the built-in proxy for a project's nginx services: in-process in
//! the foreground of `up`, or as a detached process (`up -d`) whose pid, log
//! and addresses live in the project's state directory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use bollard::models::{ContainerSummary, ContainerSummaryStateEnum, PortSummary, PortSummaryTypeEnum};
use serde::{Deserialize, Serialize};

use crate::cli::GlobalOpts;
use crate::compose::Project;
use crate::engine::{Engine, labels};
use crate::proxy::compose::{self as pc, ContainerHosts};
use crate::proxy::server::{self, Running};

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
}

fn files(project: &str, service: &str) -> (PathBuf, PathBuf) {
    let dir = pc::state_dir(project);
    (dir.join(format!("{service}.json")), dir.join(format!("{service}.log")))
}

pub fn log_file(project: &str, service: &str) -> PathBuf {
    files(project, service).1
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z')))
}

impl ProxyState {
    /// The supervisor or the serving process is still there (a serving
    /// child outlives a supervisor that was killed).
    fn alive(&self) -> bool {
        alive(self.pid) || (self.server_pid != 0 && alive(self.server_pid))
    }
}

/// The running detached proxy of a service, if any.
pub fn running(project: &str, service: &str) -> Option<ProxyState> {
    let (state, _) = files(project, service);
    let st: ProxyState = serde_json::from_str(&std::fs::read_to_string(state).ok()?).ok()?;
    st.alive().then_some(st)
}

/// A proxy whose configuration is loaded and checked, not yet listening.
/// Loading needs no container, so a detached proxy does it while the
/// containers start, not after: by then their start-up competes for the CPU.
pub struct Loaded {
    service: String,
    hosts: Arc<ContainerHosts>,
    setup: server::Setup,
    rt: crate::proxy::handler::Runtime,
}

/// Loads the configuration of the proxy for `service`.
pub fn load_in_process(project: &Project, service: &str, lines: crate::proxy::log::LineFn) -> anyhow::Result<Loaded> {
    let svc = project.services.get(service).context("no such service")?;
    let hosts = Arc::new(ContainerHosts::default());
    let setup = pc::setup(svc, hosts.clone(), &pc::state_dir(&project.name), Some(lines)).map_err(anyhow::Error::msg)?;
    let rt =
        server::load(&setup).map_err(|e| anyhow::anyhow!("service {service}: the built-in proxy cannot serve its configuration: {e}"))?;
    pc::check_roots(&rt, service).map_err(anyhow::Error::msg)?;
    Ok(Loaded { service: service.to_string(), hosts, setup, rt })
}

impl Loaded {
    /// Reads the containers' addresses, listens, and keeps the addresses current.
    pub async fn start(self, engine: &Engine, project: &Arc<Project>) -> anyhow::Result<(Running, tokio::task::JoinHandle<()>)> {
        let Loaded { service, hosts, setup, rt } = self;
        hosts.refresh(engine, project).await;
        let running = server::start(setup, rt).map_err(|e| anyhow::anyhow!("service {service}: {e}"))?;
        // Following reads the containers again once subscribed: nothing between is missed.
        Ok((running, hosts.follow(engine.clone(), project.clone())))
    }
}

/// Starts the proxy for `service` inside this process.
pub async fn start_in_process(
    engine: &Engine,
    project: &Arc<Project>,
    service: &str,
    lines: crate::proxy::log::LineFn,
) -> anyhow::Result<(Running, tokio::task::JoinHandle<()>)> {
    load_in_process(project, service, lines)?.start(engine, project).await
}

/// The global options that load this project again in another process.
fn project_args(project: &Project, global: &GlobalOpts) -> Vec<String> {
    let mut a = vec!["-p".to_string(), project.name.clone(), "--project-directory".into(), project.working_dir.display().to_string()];
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
const GATE: &str = "RCOMPOSE_PROXY_GATE";
/// The exit status of a gated proxy whose starter went away without releasing it.
const GATE_CLOSED: i32 = 3;

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
pub fn start_detached(project: &Project, global: &GlobalOpts, service: &str) -> anyhow::Result<Starting> {
    let (state, log) = files(&project.name, service);
    let starting = |gate| Starting { project: project.name.clone(), service: service.to_string(), log: log.clone(), gate };
    if let Some(st) = running(&project.name, service) {
        return Ok(starting(Gate::Running(st)));
    }
    // Checked here, where the error can be shown: the process would only
    // log it, and its supervisor would start it again and again.
    load_in_process(project, service, Arc::new(|_: &str| {}))?;
    let dir = pc::state_dir(&project.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _ = std::fs::remove_file(&state);
    let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).with_context(|| format!("cannot open {}", log.display()))?;
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
                bail!("service {service}: the built-in proxy exited ({status}): {}", last.into_iter().rev().collect::<Vec<_>>().join("\n"));
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                bail!("service {service}: the built-in proxy did not start listening within 20 seconds; see {}", self.log.display());
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
pub fn spawn_detached(project: &Project, global: &GlobalOpts, service: &str) -> anyhow::Result<ProxyState> {
    start_detached(project, global, service)?.release()
}

/// Waits for the starter's `go`; false when it went away without one.
async fn released() -> bool {
    use tokio::io::AsyncBufReadExt;
    let mut line = String::new();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    matches!(stdin.read_line(&mut line).await, Ok(n) if n > 0 && line.trim() == "go")
}

/// Sends `sig` to a process, or to a process group when `pid` is negative.
fn send_signal(pid: i64, sig: libc::c_int) {
    // SAFETY: kill(2) takes a number and a signal; no memory is involved.
    unsafe { libc::kill(pid as libc::pid_t, sig) };
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
    send_signal(if alive(st.pid) { st.pid } else { st.server_pid }.into(), libc::SIGTERM);
    let deadline = std::time::Instant::now() + timeout;
    while st.alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if st.alive() {
        // start_detached made the first process the leader of its own group.
        send_signal(-i64::from(st.pid), libc::SIGKILL);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while st.alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let _ = std::fs::remove_file(files(project, service).0);
    Ok(true)
}

/// Removes a stopped project's proxy state (`down`).
pub fn remove_state(project: &str) {
    let dir = pc::state_dir(project);
    let _ = std::fs::remove_dir_all(dir);
}

/// The nginx services the built-in proxy serves, given the services that
/// have containers: one with a container of its own runs the real nginx
/// (`up` found something only nginx does, or was told `--no-builtin-proxy`),
/// and the commands act on that container instead.
pub fn served<'a>(project: &Project, with_containers: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let real: std::collections::HashSet<&str> = with_containers.into_iter().collect();
    pc::proxy_services(project, false).into_iter().filter(|p| !real.contains(p.as_str())).collect()
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
                let target =
                    svc.ports.iter().find(|p| p.published.as_deref() == Some(&a.port().to_string())).map(|p| p.target).unwrap_or(a.port());
                PortSummary {
                    ip: Some(a.ip().to_string()),
                    private_port: target,
                    public_port: Some(a.port()),
                    typ: Some(PortSummaryTypeEnum::TCP),
                }
            })
            .collect();
        let labels = HashMap::from([(labels::PROJECT.to_string(), project.name.clone()), (labels::SERVICE.to_string(), service.clone())]);
        let (state, status, created) = match &st {
            Some(s) => (
                ContainerSummaryStateEnum::RUNNING,
                format!("Up {} (built-in proxy)", crate::commands::ps::ago(now - s.started).trim_end_matches(" ago")),
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

/// The body of the hidden `proxy-daemon` command. With a restart policy it
/// supervises a serving child and starts it again when it dies; otherwise it
/// serves itself. Either way it stops gracefully on SIGTERM.
pub fn daemon(global: &GlobalOpts, service: &str, child: bool, style: &crate::ui::Style) -> anyhow::Result<i32> {
    let Some(project) = super::load_for(global, &[], style).map(Arc::new) else { return Ok(1) };
    let Some(svc) = project.services.get(service) else { bail!("no such service: {service}") };
    let restart = svc.restart_policy().unwrap_or_default();
    let supervised = !child && (restart == "always" || restart == "unless-stopped" || restart.starts_with("on-failure"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if supervised {
        return runtime.block_on(supervise(service, &restart));
    }
    runtime.block_on(async move {
        let engine = Engine::connect().await?;
        let lines: crate::proxy::log::LineFn = Arc::new(|l: &str| println!("{l}"));
        let loaded = load_in_process(&project, service, lines)?;
        if std::env::var_os(GATE).is_some() && !released().await {
            return Ok(GATE_CLOSED);
        }
        let (running, follow) = loaded.start(&engine, &project).await?;
        let supervisor = std::env::var("RCOMPOSE_PROXY_SUPERVISOR").ok().and_then(|p| p.parse().ok());
        let st = ProxyState {
            pid: supervisor.unwrap_or(std::process::id()),
            server_pid: std::process::id(),
            addrs: running.addrs.iter().map(|a| a.to_string()).collect(),
            started: SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs() as i64,
        };
        let (state, _) = files(&project.name, service);
        let tmp = state.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&st)?)?;
        std::fs::rename(&tmp, &state)?;
        eprintln!("rcompose proxy: serving service {service} on {}", st.addrs.join(", "));
        server::run_until_signal(running, super::proxy::SHUTDOWN_DEADLINE).await;
        follow.abort();
        if supervisor.is_none() {
            let _ = std::fs::remove_file(&state);
        }
        Ok(0)
    })
}

/// Runs the serving child, starting it again when it dies as the restart
/// policy says. Held at the gate, it passes the starter's `go` on to the
/// child of the moment; a child started after that is not gated.
async fn supervise(service: &str, restart: &str) -> anyhow::Result<i32> {
    use tokio::io::AsyncWriteExt;
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let args: Vec<String> = std::env::args().skip(1).chain(["--child".to_string()]).collect();
    let mut failures = 0u32;
    let max = restart.strip_prefix("on-failure:").and_then(|n| n.parse::<u32>().ok());
    let mut gated = std::env::var_os(GATE).is_some();
    let gate = released();
    tokio::pin!(gate);
    loop {
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        cmd.args(&args).env("RCOMPOSE_PROXY_SUPERVISOR", std::process::id().to_string());
        if gated {
            cmd.env(GATE, "1").stdin(Stdio::piped());
        } else {
            cmd.env_remove(GATE).stdin(Stdio::null());
        }
        let mut child = cmd.spawn()?;
        let mut child_gate = child.stdin.take();
        let status = loop {
            tokio::select! {
                status = child.wait() => break status?,
                go = &mut gate, if gated => {
                    gated = false;
                    let child_gate = child_gate.take();
                    if !go {
                        // The starter went away: the child exits at its closed gate.
                        drop(child_gate);
                        let _ = child.wait().await;
                        return Ok(0);
                    }
                    if let Some(mut g) = child_gate {
                        let _ = g.write_all(b"go\n").await;
                    }
                }
                _ = term.recv() => {
                    if let Some(id) = child.id() {
                        send_signal(id.into(), libc::SIGTERM);
                    }
                    let _ = tokio::time::timeout(super::proxy::SHUTDOWN_DEADLINE, child.wait()).await;
                    return Ok(0);
                }
            }
        };
        if status.code() == Some(GATE_CLOSED) {
            return Ok(0);
        }
        if gated {
            // It failed before serving at all (its configuration, say): starting it
            // again cannot help, and the starter waiting at the gate should hear now.
            eprintln!("rcompose proxy: service {service}: the proxy exited before it was released ({status})");
            return Ok(1);
        }
        eprintln!("rcompose proxy: service {service}: the proxy exited ({status})");
        if restart.starts_with("on-failure") && status.success() {
            return Ok(0);
        }
        failures += 1;
        if max.is_some_and(|m| failures > m) {
            return Ok(1);
        }
        eprintln!("rcompose proxy: service {service}: restarting (restart: {restart})");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
