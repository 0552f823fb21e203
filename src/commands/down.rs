//! `rcompose down`: the command line turned into `down`'s options; the work
//! is [`crate::orchestrate::lifecycle::down`].

use crate::cli::{DownArgs, GlobalOpts, Rmi};
use crate::engine::Engine;
use crate::orchestrate::lifecycle::{self, DownOptions, RemoveImages};
use crate::ui::Style;
use crate::ui::progress::Progress;

pub fn run(global: &GlobalOpts, args: &DownArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, &args.services, style)?;
    if let Some(s) = args.services.iter().find(|s| !project.services.contains_key(*s)) {
        anyhow::bail!("no such service: {s}");
    }
    let images = args.rmi.map(|r| match r {
        Rmi::Local => RemoveImages::Local,
        Rmi::All => RemoveImages::All,
    });
    let o = DownOptions {
        volumes: args.volumes,
        images,
        remove_orphans: args.remove_orphans,
        timeout: args.timeout,
        services: args.services.clone(),
    };
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let progress = Progress::new(global.progress.into(), style.color);
        lifecycle::down(&engine, &project, o, &progress, style).await?;
        Ok(0)
    })
}
