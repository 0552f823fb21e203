//! `rcompose attach`: the user's streams on a service's running container,
//! until it stops; its exit status then.

use bollard::query_parameters::AttachContainerOptions;

use crate::cli::{AttachArgs, GlobalOpts};
use crate::engine::attach::{self, Tty};
use crate::engine::{Engine, containers};
use crate::ui::{Style, terminal};

pub fn run(global: &GlobalOpts, args: &AttachArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, std::slice::from_ref(&args.service), style)?;
    let _services = std::slice::from_ref(&args.service);
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let c = super::running_replica(&engine, &project, &args.service, args.index).await?;
        let id = containers::id(&c);
        let info = engine.docker.inspect_container(&id, None).await?;
        let config = info.config.unwrap_or_default();
        let tty = config.tty.unwrap_or(false) && terminal::interactive();
        let stdin = !args.no_stdin && config.open_stdin.unwrap_or(false);
        let opts = AttachContainerOptions {
            stdin,
            stdout: true,
            stderr: true,
            stream: true,
            ..Default::default()
        };
        let attached = engine.docker.attach_container(&id, Some(opts)).await?;
        let _raw = if tty && stdin { Some(terminal::RawMode::enter()?) } else { None };
        let mut output = attached.output;
        let sizing = tty.then(|| Tty::Container(id.clone()));
        attach::pump(&engine, &mut output, attached.input, stdin, sizing).await?;
        let code = containers::exit_status(&engine, &id).await.unwrap_or(0);
        Ok(i32::try_from(code).unwrap_or(1))
    })
}
