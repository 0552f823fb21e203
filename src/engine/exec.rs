//! A command run in a running container with the user's streams attached
//! (`rcompose exec`): its output as it comes, the user's input passed on,
//! the terminal's size followed, and its exit status.

use std::io::Write;

use anyhow::Context;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::query_parameters::ResizeExecOptions;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{Engine, engine_message};

/// What to run, and how (docker compose exec's flags).
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub privileged: bool,
    /// A pseudo-TTY: output comes as one stream, input is the terminal's.
    pub tty: bool,
    /// The user's input is passed on (closed at its end).
    pub interactive: bool,
    /// Started and left to run: nothing is attached.
    pub detach: bool,
}

/// Runs `req` in container `id`; the command's exit status (0 when detached).
pub async fn run(engine: &Engine, id: &str, req: &ExecRequest) -> anyhow::Result<i64> {
    let attach = !req.detach;
    let config = bollard::models::ExecConfig {
        attach_stdin: Some(attach && req.interactive),
        attach_stdout: Some(attach),
        attach_stderr: Some(attach),
        tty: Some(req.tty),
        cmd: Some(req.command.clone()),
        env: (!req.env.is_empty()).then(|| req.env.clone()),
        user: req.user.clone(),
        working_dir: req.workdir.clone(),
        privileged: Some(req.privileged),
        ..Default::default()
    };
    let fail = |e: bollard::errors::Error| anyhow::anyhow!("{}", engine_message(&e));
    let created = engine.docker.create_exec(id, config).await.map_err(fail)?;
    let options = StartExecOptions { detach: req.detach, tty: req.tty, output_capacity: None };
    let started = engine.docker.start_exec(&created.id, Some(options)).await.map_err(fail)?;
    let StartExecResults::Attached { mut output, input } = started else {
        return Ok(0);
    };
    if req.tty {
        resize(engine, &created.id).await;
    }
    let feeding = req.interactive.then(|| tokio::spawn(feed_stdin(input)));
    let resizing = req.tty.then(|| {
        let (engine, exec) = (engine.clone(), created.id.clone());
        tokio::spawn(async move { follow_resizes(&engine, &exec).await })
    });
    while let Some(chunk) = output.next().await {
        use bollard::container::LogOutput;
        match chunk.context("the container's output broke off")? {
            LogOutput::StdErr { message } => {
                let mut err = std::io::stderr().lock();
                err.write_all(&message)?;
                err.flush()?;
            }
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                let mut out = std::io::stdout().lock();
                out.write_all(&message)?;
                out.flush()?;
            }
            LogOutput::StdIn { .. } => {}
        }
    }
    for task in [feeding.map(|t| t.abort_handle()), resizing.map(|t| t.abort_handle())]
        .into_iter()
        .flatten()
    {
        task.abort();
    }
    let done = engine.docker.inspect_exec(&created.id).await.map_err(fail)?;
    // Still running: the user detached (the detach keys); as docker, that is success.
    Ok(if done.running == Some(true) { 0 } else { done.exit_code.unwrap_or(0) })
}

/// Passes the user's input on as it is typed, then closes the command's
/// input, as `docker exec -i` does. A thread of its own reads: a blocking
/// read of standard input must not hold the runtime up when the command ends.
async fn feed_stdin(mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        loop {
            match std::io::Read::read(&mut std::io::stdin().lock(), &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    while let Some(chunk) = rx.recv().await {
        if input.write_all(&chunk).await.is_err() || input.flush().await.is_err() {
            return;
        }
    }
    let _ = input.shutdown().await;
}

async fn resize(engine: &Engine, exec: &str) {
    if let Some((height, width)) = crate::ui::terminal::size() {
        let _ = engine
            .docker
            .resize_exec(exec, ResizeExecOptions { h: i32::from(height), w: i32::from(width) })
            .await;
    }
}

/// The container's TTY follows the terminal's size (SIGWINCH).
async fn follow_resizes(engine: &Engine, exec: &str) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut changes) = signal(SignalKind::window_change()) else { return };
    while changes.recv().await.is_some() {
        resize(engine, exec).await;
    }
}
