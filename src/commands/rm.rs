//! `rcompose rm`: the stopped containers of the services, after asking
//! (`-f`: without), stopping them first with `-s`.

use std::io::{BufRead, Write};

use crate::cli::{GlobalOpts, RmArgs};
use crate::engine::{Engine, containers};
use crate::ui::Style;
use crate::ui::progress::{Progress, State};

pub fn run(global: &GlobalOpts, args: &RmArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, &args.services, style)?;
    let progress = Progress::new(global.progress.into(), style.color);
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let mut list = super::containers_of(&engine, &project, &args.services, true).await?;
        // A built-in proxy is a process with no container to remove: -s stops it, as
        // it stops containers; without -s a running one is left, as running containers are.
        if args.stop {
            for (service, _) in super::running_proxies(&project, &args.services) {
                let item = format!("Proxy {service}");
                progress.step(&item, State::Stopping, false);
                let grace = crate::orchestrate::stop::DEFAULT_GRACE;
                tokio::task::block_in_place(|| {
                    crate::orchestrate::builtin::stop_detached(&project.name, &service, grace)
                })?;
                progress.step(&item, State::Stopped, true);
            }
        }
        if args.stop {
            let running: Vec<_> =
                list.iter().filter(|c| containers::is_running(c)).cloned().collect();
            let observed = crate::orchestrate::observe::containers(&engine, &project.name, true)
                .await?
                .into_iter()
                .filter(|o| running.iter().any(|c| containers::id(c) == o.id))
                .collect::<Vec<_>>();
            let services = observed.iter().map(|o| o.service.clone()).collect();
            crate::orchestrate::stop::stop_services(
                &engine, &project, &observed, &services, None, &progress, false,
            )
            .await?;
            list = super::containers_of(&engine, &project, &args.services, true).await?;
        }
        list.retain(|c| !containers::is_running(c));
        if list.is_empty() {
            eprintln!("No stopped containers");
            return Ok(0);
        }
        let names: Vec<String> = list.iter().map(containers::name).collect();
        if !args.force && !confirm(&format!("Going to remove {}", names.join(", "))) {
            return Ok(0);
        }
        for c in &list {
            let item = format!("Container {}", containers::name(c));
            progress.step(&item, State::Removing, false);
            containers::remove(&engine, &containers::id(c), args.volumes).await?;
            progress.step(&item, State::Removed, true);
        }
        Ok(0)
    })
}

/// Asks, and reads the answer from standard input (a terminal or a pipe,
/// as docker compose reads it); anything but y, or no answer, is no.
fn confirm(what: &str) -> bool {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{what}");
    let _ = write!(err, "Are you sure? [yN] ");
    let _ = err.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}
