//! `rcompose down`: stop and remove the project's containers in reverse
//! dependency order, then its networks (and volumes, images when asked).
//! Everything is found by labels, so what an older file started goes too.

use std::collections::BTreeSet;

use futures::future::join_all;

use crate::cli::{DownArgs, GlobalOpts, Rmi};
use crate::compose::graph::DepGraph;
use crate::engine::{Engine, containers, images, networks, volumes};
use crate::ui::Style;
use crate::ui::progress::Progress;

pub fn run(global: &GlobalOpts, args: &DownArgs, style: &Style) -> anyhow::Result<i32> {
    let Some(project) = super::load_for(global, &[], style) else {
        return Ok(1);
    };
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let progress = Progress::new(global.progress, style.color);
        // The built-in proxies go first: they were started last.
        for p in crate::orchestrate::builtin::proxy_services(&project, false) {
            let item = format!("Proxy {}", crate::engine::spec::container_name(&project, &project.services[&p]));
            if tokio::task::block_in_place(|| {
                crate::orchestrate::builtin::stop_detached(&project.name, &p, std::time::Duration::from_secs(args.timeout.unwrap_or(10)))
            })? {
                progress.step(&item, "Stopped", true);
            }
        }
        crate::orchestrate::builtin::remove_state(&project.name);
        let all = containers::list(&engine, &project.name, true).await?;
        super::handle_orphans(&engine, &project, &all, args.remove_orphans, &progress, style).await?;
        let known: BTreeSet<String> = project.services.keys().chain(project.disabled.keys()).cloned().collect();
        let mine: Vec<_> = all.into_iter().filter(|c| known.contains(containers::service(c))).collect();
        // Reverse dependency order, each level together.
        let present: BTreeSet<String> = mine.iter().map(|c| containers::service(c).to_string()).collect();
        let mut services = project.services.clone();
        services.extend(project.disabled.clone());
        // Stopping follows the reverse dependency order, each level together;
        // removing needs no order, so it happens all at once afterwards.
        for level in DepGraph::new(&services).teardown_levels(&present) {
            let jobs = mine.iter().filter(|c| level.iter().any(|s| s == containers::service(c))).map(|c| {
                let (engine, progress) = (&engine, &progress);
                let svc = services.get(containers::service(c));
                let timeout = args.timeout.or(svc.and_then(|s| s.stop_grace_period).map(|d| d.as_secs()));
                async move {
                    let item = format!("Container {}", containers::name(c));
                    progress.step(&item, "Stopping", false);
                    containers::pre_stop(engine, c, svc).await?;
                    containers::stop(engine, &containers::id(c), timeout).await?;
                    progress.step(&item, "Stopped", false);
                    anyhow::Ok(())
                }
            });
            for r in join_all(jobs).await {
                r?;
            }
        }
        let removals = mine.iter().map(|c| {
            let (engine, progress) = (&engine, &progress);
            async move {
                let item = format!("Container {}", containers::name(c));
                progress.step(&item, "Removing", false);
                containers::remove(engine, &containers::id(c), args.volumes).await?;
                progress.step(&item, "Removed", true);
                anyhow::Ok(())
            }
        });
        for r in join_all(removals).await {
            r?;
        }
        for net in networks::list(&engine, &project.name).await? {
            let item = format!("Network {net}");
            progress.step(&item, "Removing", false);
            match networks::remove(&engine, &net).await {
                Ok(_) => progress.step(&item, "Removed", true),
                Err(e) => {
                    progress.fail(&item, &e.to_string());
                    eprintln!("{}: {e:#}", style.paint("1;33", "warning"));
                }
            }
        }
        if args.volumes {
            for vol in volumes::list(&engine, &project.name).await? {
                let item = format!("Volume {vol}");
                progress.step(&item, "Removing", false);
                volumes::remove(&engine, &vol).await?;
                progress.step(&item, "Removed", true);
            }
        }
        if let Some(rmi) = args.rmi {
            let mut seen = BTreeSet::new();
            for svc in project.services.values() {
                // `local`: only images built for the project without a name of their own.
                if rmi == Rmi::Local && (svc.image.is_some() || svc.build.is_none()) {
                    continue;
                }
                let image = project.image_for(svc);
                if seen.insert(image.clone()) && images::remove(&engine, &image).await? {
                    progress.step(&format!("Image {image}"), "Removed", true);
                }
            }
        }
        Ok(0)
    })
}
