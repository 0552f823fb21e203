//! `rcompose exec`: a command in a service's running container, with the
//! user's terminal or streams, its exit status passed through.

use crate::cli::{ExecArgs, GlobalOpts};
use crate::engine::exec::ExecRequest;
use crate::engine::{Engine, containers};
use crate::failure::Failure;
use crate::ui::{Style, terminal};

pub fn run(global: &GlobalOpts, args: &ExecArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, std::slice::from_ref(&args.service), style)?;
    if !project.services.contains_key(&args.service) {
        return Err(Failure::Each(vec![format!("no such service: {}", args.service)]).into());
    }
    let tty = !args.no_tty && !args.detach && terminal::interactive();
    let req = ExecRequest {
        command: args.command.clone(),
        env: args.env.iter().filter_map(|e| pass_env(e)).collect(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        privileged: args.privileged,
        tty,
        interactive: !args.detach,
        detach: args.detach,
    };
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let running = containers::list(&engine, &project.name, false).await?;
        let Some(c) = running.iter().find(|c| {
            containers::service(c) == args.service && containers::number(c) == args.index
        }) else {
            let served = crate::orchestrate::builtin::served(&project, running.iter().map(containers::service));
            let why = if served.contains(&args.service) {
                format!(
                    "service {:?} is served by the built-in proxy, in rcompose itself: it has no container to run a command in",
                    args.service
                )
            } else if args.index > 1 {
                format!("service {:?} is not running container #{}", args.service, args.index)
            } else {
                format!("service {:?} is not running", args.service)
            };
            return Err(Failure::Each(vec![why]).into());
        };
        // Raw only while attached: the container's TTY echoes and interprets keys.
        let _raw = if tty { Some(terminal::RawMode::enter()?) } else { None };
        let status = crate::engine::exec::run(&engine, &containers::id(c), &req).await?;
        Ok(i32::try_from(status).unwrap_or(1))
    })
}

/// `-e KEY=VALUE` as given; `-e KEY` takes this shell's value, and is left
/// out when it has none, as docker does.
fn pass_env(e: &str) -> Option<String> {
    if e.contains('=') {
        return Some(e.to_string());
    }
    std::env::var(e).ok().map(|v| format!("{e}={v}"))
}
