//! `rcompose kill`: a signal (SIGKILL unless `-s` says) to the running
//! containers of the services, all at once.

use futures::future::join_all;
use rustix::process::Signal;

use crate::cli::{GlobalOpts, KillArgs};
use crate::engine::{Engine, containers};
use crate::failure::Failure;
use crate::ui::Style;
use crate::ui::progress::{Progress, State};

pub fn run(global: &GlobalOpts, args: &KillArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, &args.services, style)?;
    let progress = Progress::new(global.progress.into(), style.color);
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let list = super::containers_of(&engine, &project, &args.services, false).await?;
        if args.remove_orphans {
            for c in containers::list(&engine, &project.name, true).await? {
                if !project.services.contains_key(containers::service(&c)) {
                    containers::remove(&engine, &containers::id(&c), false).await?;
                }
            }
        }
        // A built-in proxy is a process: the signal goes to it.
        let proxies = super::running_proxies(&project, &args.services);
        for (service, st) in &proxies {
            let item = format!("Proxy {service}");
            let signal = crate::orchestrate::builtin::parse_signal(&args.signal)
                .ok_or_else(|| anyhow::anyhow!("invalid signal: {}", args.signal))?;
            progress.step(&item, State::Killing, false);
            // Ending signals go to the group (a supervisor would start it again);
            // the others (HUP reloads) to the serving process alone.
            let ends = [Signal::KILL, Signal::TERM, Signal::INT, Signal::QUIT].contains(&signal);
            let (pid, group) = if ends { (st.pid, true) } else { (st.server_pid, false) };
            crate::orchestrate::builtin::send_signal(pid, group, signal);
            // As a container's SIGKILL: gone when the command returns, so an
            // `up` straight after starts it again instead of finding it dying.
            if signal == Signal::KILL {
                crate::orchestrate::builtin::wait_ended(st, std::time::Duration::from_secs(5));
            }
            progress.step(&item, State::Killed, true);
        }
        if list.is_empty() {
            if proxies.is_empty() {
                // As docker compose: said, and not a failure.
                eprintln!("no container to kill");
            }
            return Ok(0);
        }
        let kills = list.iter().map(|c| async {
            let item = format!("Container {}", containers::name(c));
            progress.step(&item, State::Killing, false);
            match containers::signal(&engine, &containers::id(c), &args.signal).await {
                Ok(()) => {
                    progress.step(&item, State::Killed, true);
                    Ok(())
                }
                Err(e) => {
                    progress.fail(&item, "Error while Killing");
                    Err(format!("{e:#}"))
                }
            }
        });
        let failed: Vec<String> =
            join_all(kills).await.into_iter().filter_map(Result::err).collect();
        if !failed.is_empty() {
            return Err(Failure::Each(failed).into());
        }
        Ok(0)
    })
}
