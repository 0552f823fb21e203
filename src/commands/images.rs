//! `rcompose build` and `rcompose pull`.

use std::collections::HashMap;

use crate::cli::{BuildArgs, GlobalOpts, PullArgs};
use crate::engine::{Engine, images};
use crate::ui::Style;
use crate::ui::progress::Progress;

pub fn build(global: &GlobalOpts, args: &BuildArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_for(global, &args.services, style)?;
    let mut extra_args = HashMap::new();
    for a in &args.build_args {
        match a.split_once('=') {
            Some((k, v)) => extra_args.insert(k.to_string(), v.to_string()),
            None => extra_args.insert(a.clone(), std::env::var(a).unwrap_or_default()),
        };
    }
    let bopts =
        images::BuildOpts { no_cache: args.no_cache, pull: args.pull, extra_args, platform: None };
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let progress = Progress::new(global.progress.into(), style.color);
        for (name, svc) in &project.services {
            if !args.services.is_empty() && !args.services.contains(name) {
                continue;
            }
            let bopts = images::BuildOpts { platform: svc.platform.clone(), ..bopts.clone() };
            crate::orchestrate::images::build(&engine, &project, svc, &bopts, &progress).await?;
        }
        Ok(0)
    })
}

pub fn pull(global: &GlobalOpts, args: &PullArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_for(global, &args.services, style)?;
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let mode =
            if args.quiet { crate::ui::progress::Mode::Quiet } else { global.progress.into() };
        let progress = Progress::new(mode, style.color);
        let mut seen = std::collections::BTreeSet::new();
        for (name, svc) in &project.services {
            if !args.services.is_empty() && !args.services.contains(name) {
                continue;
            }
            // Images built by the project are not pulled.
            let Some(image) = svc.image.clone().filter(|_| svc.build.is_none()) else {
                continue;
            };
            if !seen.insert(image.clone()) {
                continue;
            }
            if let Err(e) =
                images::pull(&engine, &image, &format!("Image {image}"), &progress).await
            {
                if !args.ignore_pull_failures {
                    return Err(e.context(format!("service {name}")));
                }
                eprintln!("{}: service {name}: {e:#}", style.paint("1;33", "warning"));
            }
        }
        Ok(0)
    })
}
