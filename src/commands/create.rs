//! `rcompose create`: `up` without starting anything.

use std::sync::Arc;

use super::up::{apply_scale, pull_policy};
use crate::cli::{CreateArgs, GlobalOpts};
use crate::orchestrate::images::ImagePolicy;
use crate::orchestrate::plan::{Recreate, UpOptions};
use crate::orchestrate::up::{self, Options};
use crate::ui::Style;

pub fn run(global: &GlobalOpts, args: &CreateArgs, style: &Style) -> anyhow::Result<i32> {
    let mut project = super::load_for(global, &args.services, style)?;
    apply_scale(&mut project, &args.scale)?;
    let recreate = match (args.force_recreate, args.no_recreate) {
        (true, _) => Recreate::Always,
        (_, true) => Recreate::Never,
        _ => Recreate::Diverged,
    };
    let options = Options {
        services: args.services.clone(),
        detach: true,
        plan: UpOptions { recreate, start: false, remove_orphans: args.remove_orphans },
        images: ImagePolicy {
            build: args.build,
            no_build: args.no_build,
            pull: args.pull.map(pull_policy),
            quiet_pull: args.quiet_pull,
        },
        reload: super::reload_of(global),
        progress: global.progress.into(),
        ..Default::default()
    };
    super::runtime()?.block_on(up::run(Arc::new(project), &options, style))
}
