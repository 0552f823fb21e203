//! The detached proxy process (`rcompose proxy-daemon SERVICE`): serves a
//! project's nginx service, or, with a restart policy, supervises a serving
//! child and starts it again when it dies.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::detached::{GATE, GATE_CLOSED, ProxyState, files, send_signal, start_time};
use super::in_process::load_in_process;
use crate::compose::Project;
use crate::compose::model::RestartPolicy;
use crate::engine::Engine;
use crate::proxy::server;

/// Waits for the starter's `go`; false when it went away without one.
async fn released() -> bool {
    use tokio::io::AsyncBufReadExt;
    let mut line = String::new();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    matches!(stdin.read_line(&mut line).await, Ok(n) if n > 0 && line.trim() == "go")
}

/// The body of the hidden `proxy-daemon` command. With a restart policy it
/// supervises a serving child and starts it again when it dies; otherwise it
/// serves itself. Either way it stops gracefully on SIGTERM.
pub fn daemon(project: Arc<Project>, service: &str, child: bool) -> anyhow::Result<i32> {
    let Some(svc) = project.services.get(service) else {
        anyhow::bail!("no such service: {service}")
    };
    let restart = svc.restart_policy().unwrap_or(RestartPolicy::No);
    let supervised = !child && restart != RestartPolicy::No;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if supervised {
        return runtime.block_on(supervise(service, restart));
    }
    runtime.block_on(async move {
        let engine = Engine::connect().await?;
        // Stamped with when they were written, so `logs --since/--until/-t`
        // treat them as the engine treats a container's lines.
        let lines: crate::proxy::log::LineFn = Arc::new(|l: &str| {
            let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            println!("{at}\t{l}");
        });
        let loaded = load_in_process(&project, service, lines)?;
        if std::env::var_os(GATE).is_some() && !released().await {
            return Ok(GATE_CLOSED);
        }
        let (running, follow) = loaded.start(&engine, &project).await?;
        let supervisor =
            std::env::var("RCOMPOSE_PROXY_SUPERVISOR").ok().and_then(|p| p.parse().ok());
        let st = ProxyState {
            pid: supervisor.unwrap_or(std::process::id()),
            server_pid: std::process::id(),
            addrs: running.addrs.iter().map(|a| a.to_string()).collect(),
            started: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
                .try_into()
                .unwrap_or(i64::MAX),
            pid_start: 0,
            server_start: start_time(std::process::id()),
        };
        let st = ProxyState { pid_start: start_time(st.pid), ..st };
        let (state, _) = files(&project.name, service);
        let tmp = state.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&st)?)?;
        std::fs::rename(&tmp, &state)?;
        eprintln!("rcompose proxy: serving service {service} on {}", st.addrs.join(", "));
        let orphaned =
            tokio::spawn(end_when_orphaned(engine.clone(), project.name.clone(), st.pid));
        server::run_until_signal(running, crate::proxy::server::SHUTDOWN_DEADLINE).await;
        orphaned.abort();
        follow.abort();
        if supervisor.is_none() {
            let _ = std::fs::remove_file(&state);
        }
        Ok(0)
    })
}

/// Stops the proxy (its supervisor, if it has one) once its project is
/// gone: no container and no network left, as another tool's `down`
/// (`docker compose down`) leaves it. Seen twice in a row, so the moment
/// between an `up`'s steps is not taken for the end.
async fn end_when_orphaned(engine: Engine, project: String, stop_pid: u32) {
    let mut seen_gone = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let containers = crate::engine::containers::list(&engine, &project, true).await;
        let networks = crate::engine::networks::list(&engine, &project).await;
        let gone =
            matches!((&containers, &networks), (Ok(c), Ok(n)) if c.is_empty() && n.is_empty());
        seen_gone = if gone { seen_gone + 1 } else { 0 };
        if seen_gone >= 2 {
            eprintln!(
                "rcompose proxy: project {project} has no containers or networks left: stopping"
            );
            send_signal(stop_pid, false, rustix::process::Signal::TERM);
            return;
        }
    }
}

/// Runs the serving child, starting it again when it dies as the restart
/// policy says. Held at the gate, it passes the starter's `go` on to the
/// child of the moment; a child started after that is not gated.
async fn supervise(service: &str, restart: RestartPolicy) -> anyhow::Result<i32> {
    use tokio::io::AsyncWriteExt;
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let args: Vec<String> = std::env::args().skip(1).chain(["--child".to_string()]).collect();
    let mut failures = 0u32;
    let max = match restart {
        RestartPolicy::OnFailure(n) => n,
        _ => None,
    };
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
                        send_signal(id, false, rustix::process::Signal::TERM);
                    }
                    let _ = tokio::time::timeout(crate::proxy::server::SHUTDOWN_DEADLINE, child.wait()).await;
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
            eprintln!(
                "rcompose proxy: service {service}: the proxy exited before it was released ({status})"
            );
            return Ok(1);
        }
        eprintln!("rcompose proxy: service {service}: the proxy exited ({status})");
        if matches!(restart, RestartPolicy::OnFailure(_)) && status.success() {
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
