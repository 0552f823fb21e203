//! `rcompose scale SERVICE=NUM...`: `up -d` of those services at that scale.

use std::sync::Arc;

use super::up::apply_scale;
use crate::cli::{GlobalOpts, ScaleArgs};
use crate::orchestrate::up::{self, Options};
use crate::ui::Style;

pub fn run(global: &GlobalOpts, args: &ScaleArgs, style: &Style) -> anyhow::Result<i32> {
    let services: Vec<String> = args.scale.iter().map(|(s, _)| s.clone()).collect();
    let mut project = super::load_for(global, &services, style)?;
    apply_scale(&mut project, &args.scale)?;
    let options = Options {
        services,
        no_deps: args.no_deps,
        detach: true,
        reload: super::reload_of(global),
        progress: global.progress.into(),
        ..Default::default()
    };
    super::runtime()?.block_on(up::run(Arc::new(project), &options, style))
}
