//! Stopping and removing containers, the one way every command does it:
//! `pre_stop` hooks first, then a stop within the grace period (the
//! command's `-t`, else the service's `stop_grace_period`, else the
//! engine's ten seconds), shown as it goes.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;

use super::deps;
use super::observe::{self, Observed};
use crate::compose::Project;
use crate::compose::model::Service;
use crate::engine::{Engine, containers};
use crate::ui::progress::{Progress, State};

/// How long a stop waits when neither the command nor the service says:
/// the engine's own default, used for the built-in proxies too.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// The grace period for a service's containers: `-t`, else its `stop_grace_period`.
pub fn grace(timeout: Option<u64>, service: Option<&Service>) -> Option<u64> {
    timeout.or(service.and_then(|s| s.stop_grace_period).map(|d| d.as_secs()))
}

/// A service by name, enabled or disabled by a profile (a container of either may run).
fn service<'a>(project: &'a Project, name: &str) -> Option<&'a Service> {
    project.services.get(name).or_else(|| project.disabled.get(name))
}

/// Stops one container; `done` shows `Stopped` as its last state.
pub async fn stop_one(
    engine: &Engine,
    c: &Observed,
    svc: Option<&Service>,
    timeout: Option<u64>,
    progress: &Progress,
    done: bool,
) -> anyhow::Result<()> {
    let item = format!("Container {}", c.name);
    progress.step(&item, State::Stopping, false);
    containers::pre_stop(engine, &c.id, &c.name, c.is_running(), svc).await?;
    containers::stop(engine, &c.id, grace(timeout, svc)).await?;
    progress.step(&item, State::Stopped, done);
    Ok(())
}

/// Stops (running it `pre_stop` hooks) and removes one container.
pub async fn stop_and_remove(
    engine: &Engine,
    c: &Observed,
    svc: Option<&Service>,
    timeout: Option<u64>,
    progress: &Progress,
) -> anyhow::Result<()> {
    let item = format!("Container {}", c.name);
    stop_one(engine, c, svc, timeout, progress, false).await?;
    progress.step(&item, State::Removing, false);
    containers::remove(engine, &c.id, false).await?;
    progress.step(&item, State::Removed, true);
    Ok(())
}

/// Stops the containers of the target services in reverse dependency
/// order, each level together; `done` ends each at `Stopped`.
pub async fn stop_services(
    engine: &Engine,
    project: &Project,
    list: &[Observed],
    targets: &BTreeSet<String>,
    timeout: Option<u64>,
    progress: &Progress,
    done: bool,
) -> anyhow::Result<()> {
    for level in deps::teardown_levels(project, targets) {
        let jobs = list
            .iter()
            .filter(|c| level.contains(&c.service))
            .map(|c| stop_one(engine, c, service(project, &c.service), timeout, progress, done));
        for r in join_all(jobs).await {
            r?;
        }
    }
    Ok(())
}

/// Stops the running containers of the target services (what `stop`,
/// `restart` and a foreground `up`'s Ctrl-C do).
pub async fn stop_running(
    engine: &Engine,
    project: &Project,
    targets: &BTreeSet<String>,
    timeout: Option<u64>,
    progress: &Progress,
) -> anyhow::Result<()> {
    let list = observe::containers(engine, &project.name, false).await?;
    stop_services(engine, project, &list, targets, timeout, progress, true).await
}

/// Removes containers all at once (their order no longer matters once stopped).
pub async fn remove_all(
    engine: &Engine,
    list: &[Observed],
    volumes: bool,
    progress: &Progress,
) -> anyhow::Result<()> {
    let removals = list.iter().map(|c| async move {
        let item = format!("Container {}", c.name);
        progress.step(&item, State::Removing, false);
        containers::remove(engine, &c.id, volumes).await?;
        progress.step(&item, State::Removed, true);
        anyhow::Ok(())
    });
    for r in join_all(removals).await {
        r?;
    }
    Ok(())
}
