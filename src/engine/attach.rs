//! The user's streams attached to a container's (`exec`, `run`): output
//! written as it comes, input passed on until it ends, the terminal's size
//! followed.

use std::io::Write;
use std::pin::Pin;

use anyhow::Context;
use bollard::container::LogOutput;
use bollard::query_parameters::{ResizeContainerTTYOptions, ResizeExecOptions};
use futures::{Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::Engine;

/// The TTY whose size follows the terminal's.
#[derive(Debug, Clone)]
pub enum Tty {
    Exec(String),
    Container(String),
}

/// Writes the container's output until it ends, feeding it the user's
/// input meanwhile when `interactive`.
pub async fn pump(
    engine: &Engine,
    output: &mut Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
    input: Pin<Box<dyn AsyncWrite + Send>>,
    interactive: bool,
    tty: Option<Tty>,
) -> anyhow::Result<()> {
    if let Some(t) = &tty {
        resize(engine, t).await;
    }
    let feeding = interactive.then(|| tokio::spawn(feed_stdin(input)));
    let resizing = tty.map(|t| {
        let engine = engine.clone();
        tokio::spawn(async move { follow_resizes(&engine, &t).await })
    });
    let result = write_output(output).await;
    for task in [feeding, resizing].into_iter().flatten() {
        task.abort();
    }
    result
}

async fn write_output(
    output: &mut Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
) -> anyhow::Result<()> {
    while let Some(chunk) = output.next().await {
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
    Ok(())
}

/// Passes the user's input on as it is typed, then closes the command's
/// input, as `docker exec -i` does. A thread of its own reads: a blocking
/// read of standard input must not hold the runtime up when the command ends.
async fn feed_stdin(mut input: Pin<Box<dyn AsyncWrite + Send>>) {
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

async fn resize(engine: &Engine, tty: &Tty) {
    let Some((rows, cols)) = crate::ui::terminal::size() else { return };
    let (h, w) = (i32::from(rows), i32::from(cols));
    let _ = match tty {
        Tty::Exec(id) => engine.docker.resize_exec(id, ResizeExecOptions { h, w }).await,
        Tty::Container(id) => {
            engine.docker.resize_container_tty(id, ResizeContainerTTYOptions { h, w }).await
        }
    };
}

/// The container's TTY follows the terminal's size (SIGWINCH).
async fn follow_resizes(engine: &Engine, tty: &Tty) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut changes) = signal(SignalKind::window_change()) else { return };
    while changes.recv().await.is_some() {
        resize(engine, tty).await;
    }
}
