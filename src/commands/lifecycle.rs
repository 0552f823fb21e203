//! `rcompose start`, `stop` and `restart`: existing containers, in
//! dependency order ([`crate::orchestrate::lifecycle`]).

use crate::cli::{GlobalOpts, RestartArgs, ServicesArgs, TimeoutServicesArgs};
use crate::engine::Engine;
use crate::orchestrate::lifecycle::Scope;
use crate::ui::Style;
use crate::ui::progress::Progress;

/// What each command does to the scope it acts on.
enum Act {
    Start,
    Stop(Option<u64>),
    Restart { timeout: Option<u64>, no_deps: bool },
}

pub fn start(global: &GlobalOpts, args: &ServicesArgs, style: &Style) -> anyhow::Result<i32> {
    act(global, &args.services, style, Act::Start)
}

pub fn stop(global: &GlobalOpts, args: &TimeoutServicesArgs, style: &Style) -> anyhow::Result<i32> {
    act(global, &args.services, style, Act::Stop(args.timeout))
}

pub fn restart(global: &GlobalOpts, args: &RestartArgs, style: &Style) -> anyhow::Result<i32> {
    act(
        global,
        &args.services,
        style,
        Act::Restart { timeout: args.timeout, no_deps: args.no_deps },
    )
}

fn act(global: &GlobalOpts, services: &[String], style: &Style, what: Act) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, services, style)?;
    let reload = super::reload_of(global);
    let progress = Progress::new(global.progress.into(), style.color);
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let Some(scope) = Scope::of(&engine, &project, services, &progress).await? else {
            // docker compose: nothing to stop is done (exit 0); nothing to start is an error.
            if !matches!(what, Act::Start) {
                return Ok(0);
            }
            let named = if services.is_empty() {
                project.services.keys().cloned().collect()
            } else {
                services.to_vec()
            };
            anyhow::bail!(
                "no containers of {} to act on; run `rcompose up` first",
                named.join(", ")
            );
        };
        match what {
            Act::Start => scope.start(&reload).await?,
            Act::Stop(timeout) => scope.stop(timeout).await?,
            Act::Restart { timeout, no_deps } => {
                let scope = if no_deps { scope } else { scope.with_restart_dependents() };
                scope.stop(timeout).await?;
                scope.start(&reload).await?;
            }
        }
        Ok(0)
    })
}
