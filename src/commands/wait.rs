//! `rcompose wait`: blocks until the services' containers stop; the exit
//! status of the first to stop, and with `--down-project`, `down` then.

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::cli::{GlobalOpts, WaitArgs};
use crate::engine::{Engine, containers};
use crate::orchestrate::lifecycle::{DownOptions, down};
use crate::ui::Style;
use crate::ui::progress::Progress;

pub fn run(global: &GlobalOpts, args: &WaitArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, &args.services, style)?;
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let list = super::containers_of(&engine, &project, &args.services, true).await?;
        let mut exits: FuturesUnordered<_> = list
            .iter()
            .map(|c| {
                let id = containers::id(c);
                let engine = engine.clone();
                async move { containers::exit_status(&engine, &id).await.unwrap_or(0) }
            })
            .collect();
        let Some(first) = exits.next().await else {
            return Ok(0);
        };
        let code = if args.down_project {
            let progress = Progress::new(global.progress.into(), style.color);
            down(&engine, &project, DownOptions::default(), &progress, style).await?;
            first
        } else {
            // Every container stopped is what `wait` waits for; the first one's status is the answer.
            while exits.next().await.is_some() {}
            first
        };
        Ok(i32::try_from(code).unwrap_or(1))
    })
}
