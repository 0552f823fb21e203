//! `rcompose start`, `stop` and `restart`: existing containers, in dependency order.

use std::collections::BTreeSet;

use crate::cli::{GlobalOpts, ServicesArgs, TimeoutServicesArgs};
use crate::engine::{Engine, containers};
use crate::ui::Style;
use crate::ui::progress::Progress;

pub fn start(global: &GlobalOpts, args: &ServicesArgs, style: &Style) -> anyhow::Result<i32> {
    with_project(
        global,
        &args.services,
        style,
        |engine, project, targets, progress| async move {
            super::start_services(&engine, &project, &targets, &progress).await?;
            Ok(0)
        },
    )
}

pub fn stop(global: &GlobalOpts, args: &TimeoutServicesArgs, style: &Style) -> anyhow::Result<i32> {
    let timeout = args.timeout;
    with_project(
        global,
        &args.services,
        style,
        move |engine, project, targets, progress| async move {
            super::stop_services(&engine, &project, &targets, timeout, &progress).await?;
            Ok(0)
        },
    )
}

pub fn restart(
    global: &GlobalOpts,
    args: &TimeoutServicesArgs,
    style: &Style,
) -> anyhow::Result<i32> {
    let timeout = args.timeout;
    with_project(
        global,
        &args.services,
        style,
        move |engine, project, targets, progress| async move {
            super::stop_services(&engine, &project, &targets, timeout, &progress).await?;
            super::start_services(&engine, &project, &targets, &progress).await?;
            Ok(0)
        },
    )
}

fn with_project<F, Fut>(
    global: &GlobalOpts,
    services: &[String],
    style: &Style,
    f: F,
) -> anyhow::Result<i32>
where
    F: FnOnce(Engine, crate::compose::Project, BTreeSet<String>, Progress) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<i32>>,
{
    let mut opts = super::load_options(global);
    opts.services = services.to_vec();
    let Some(loaded) = super::load_project(&opts, style) else {
        return Ok(1);
    };
    let project = loaded.project;
    let targets: BTreeSet<String> = if services.is_empty() {
        project.services.keys().cloned().collect()
    } else {
        services.iter().cloned().collect()
    };
    let progress = Progress::new(global.progress, style.color);
    super::runtime()?.block_on(async move {
        let engine = Engine::connect().await?;
        let existing = containers::list(&engine, &project.name, true).await?;
        if existing
            .iter()
            .all(|c| !targets.contains(containers::service(c)))
        {
            anyhow::bail!(
                "no containers of {} to act on; run `rcompose up` first",
                targets.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        f(engine, project, targets, progress).await
    })
}
