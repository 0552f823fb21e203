//! `rcompose watch`: the services' `develop.watch` rules followed
//! ([`crate::orchestrate::watch`]) until Ctrl-C.

use std::sync::Arc;

use crate::cli::{GlobalOpts, WatchArgs};
use crate::orchestrate::up;
use crate::orchestrate::watch::{self, WatchOptions};
use crate::ui::Style;

pub fn run(global: &GlobalOpts, args: &WatchArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_for(global, &args.services, style)?;
    let options = WatchOptions {
        services: args.services.clone(),
        no_up: args.no_up,
        prune: args.prune,
        quiet: args.quiet,
    };
    let up_options = up::Options {
        reload: super::reload_of(global),
        progress: global.progress.into(),
        ..Default::default()
    };
    super::runtime()?.block_on(watch::run(Arc::new(project), &options, &up_options, style))
}
