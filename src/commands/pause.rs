//! `rcompose pause` and `unpause`: the running containers of the services.

use futures::future::join_all;

use crate::cli::GlobalOpts;
use crate::engine::{Engine, containers};
use crate::failure::Failure;
use crate::ui::Style;
use crate::ui::progress::{Progress, State};

pub fn run(
    global: &GlobalOpts,
    services: &[String],
    pause: bool,
    style: &Style,
) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, services, style)?;
    if let Some((service, st)) = super::running_proxies(&project, services).first() {
        // Paused, it would hold its port and answer nothing; nginx's container would too,
        // but the built-in proxy is a process of rcompose's, which the engine cannot freeze.
        anyhow::bail!(
            "{service} is served by the built-in proxy (pid {}), not a container: it cannot be paused; stop it with `rcompose stop {service}`, or run the nginx container with `up --no-builtin-proxy`",
            st.pid
        );
    }
    let progress = Progress::new(global.progress.into(), style.color);
    let (doing, done) =
        if pause { (State::Pausing, State::Paused) } else { (State::Unpausing, State::Unpaused) };
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let list = super::containers_of(&engine, &project, services, false).await?;
        let acts = list.iter().map(|c| async {
            let item = format!("Container {}", containers::name(c));
            progress.step(&item, doing, false);
            let r = containers::set_paused(&engine, &containers::id(c), pause).await;
            match &r {
                Ok(()) => progress.step(&item, done, true),
                Err(e) => progress.fail(&item, &format!("{e:#}")),
            }
            r.map_err(|e| format!("{e:#}"))
        });
        let failed: Vec<String> =
            join_all(acts).await.into_iter().filter_map(Result::err).collect();
        if !failed.is_empty() {
            return Err(Failure::Each(failed).into());
        }
        Ok(0)
    })
}
