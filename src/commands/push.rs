//! `rcompose push`: the images of services that build one and name it
//! (`build:` with `image:`, and `build.tags`), pushed to the registries
//! their names say; the others are skipped, as docker compose skips them.

use crate::cli::{GlobalOpts, PushArgs};
use crate::engine::{Engine, images};
use crate::failure::Failure;
use crate::ui::Style;
use crate::ui::progress::{Progress, State};

pub fn run(global: &GlobalOpts, args: &PushArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_for(global, &args.services, style)?;
    let mut wanted: Vec<String> = args.services.clone();
    if args.include_deps {
        let mut i = 0;
        while i < wanted.len() {
            let deps = project
                .services
                .get(&wanted[i])
                .map(|s| s.depends_on.keys().cloned().collect::<Vec<_>>());
            for d in deps.unwrap_or_default() {
                if !wanted.contains(&d) {
                    wanted.push(d);
                }
            }
            i += 1;
        }
    }
    let mode = if args.quiet { crate::ui::progress::Mode::Quiet } else { global.progress.into() };
    let progress = Progress::new(mode, style.color);
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let mut failed = Vec::new();
        for (name, svc) in &project.services {
            if !wanted.is_empty() && !wanted.contains(name) {
                continue;
            }
            let (Some(build), Some(image)) = (&svc.build, &svc.image) else {
                progress.step(&format!("Service {name}"), State::Skipped, true);
                continue;
            };
            for tag in std::iter::once(image).chain(&build.tags) {
                let label = format!("Image {tag}");
                if let Err(e) = images::push(&engine, tag, &label, &progress).await {
                    if !args.ignore_push_failures {
                        return Err(e);
                    }
                    failed.push(format!("{e:#}"));
                }
            }
        }
        for f in &failed {
            eprintln!("{}: {f}", style.paint("1;33", "warning"));
        }
        if failed.is_empty() || args.ignore_push_failures {
            Ok(0)
        } else {
            Err(Failure::Each(failed).into())
        }
    })
}
