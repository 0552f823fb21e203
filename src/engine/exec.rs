//! A command run in a running container with the user's streams attached
//! (`rcompose exec`): its output as it comes, the user's input passed on,
//! the terminal's size followed, and its exit status.

use bollard::exec::{StartExecOptions, StartExecResults};

use super::attach::{self, Tty};
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
    let tty = Tty::Exec(created.id.clone());
    attach::pump(engine, &mut output, input, req.interactive, req.tty.then_some(tty)).await?;
    let done = engine.docker.inspect_exec(&created.id).await.map_err(fail)?;
    // Still running: the user detached (the detach keys); as docker, that is success.
    Ok(if done.running == Some(true) { 0 } else { done.exit_code.unwrap_or(0) })
}
