//! Waiting on containers, the one way every command does it: a dependency's
//! `depends_on` condition before what depends on it starts, and `--wait`'s
//! healthy-or-running for everything; shown as docker compose shows it, and
//! on a terminal with why it still waits.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::future::join_all;

use crate::compose::Project;
use crate::compose::model::Condition;
use crate::engine::events::{EventHub, wait_for, wait_stable};
use crate::engine::{Engine, spec};
use crate::ui::progress::{Progress, State};

/// How long `up` waits for a dependency's condition unless `--wait-timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// What `up` needs to wait on containers.
pub struct Waiter<'a> {
    pub engine: &'a Engine,
    pub hub: &'a EventHub,
    pub project: &'a Project,
    pub timeout: Duration,
    pub progress: &'a Progress,
}

impl Waiter<'_> {
    /// Waits until container `number` (`id`) of `dep` meets `cond`.
    pub async fn dependency(
        &self,
        dep: &str,
        number: u32,
        id: &str,
        cond: Condition,
    ) -> Result<(), String> {
        let item = format!(
            "Container {}",
            spec::replica_name(self.project, &self.project.services[dep], number)
        );
        self.progress.step(&item, State::Waiting, false);
        let report =
            |why: &str| self.progress.note(&item, &format!("Waiting to be {}: {why}", cond.goal()));
        wait_for(self.engine, self.hub, id, dep, cond, self.timeout, &report).await?;
        self.progress.step(
            &item,
            if cond == Condition::ServiceHealthy { State::Healthy } else { State::Exited },
            true,
        );
        Ok(())
    }

    /// Waits until every container of each dependency meets its condition
    /// (`service_started` is met by a container this run started); the
    /// first failure.
    pub async fn all_of(
        &self,
        waits: &[(String, Condition)],
        ids: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), String> {
        let each = waits
            .iter()
            .filter(|(_, cond)| *cond != Condition::ServiceStarted)
            .flat_map(|(dep, cond)| {
                ids.get(dep).into_iter().flatten().zip(1..).map(move |(id, n)| (dep, *cond, id, n))
            })
            .map(|(dep, cond, id, n)| self.dependency(dep, n, id, cond));
        for r in join_all(each).await {
            r?;
        }
        Ok(())
    }

    /// `--wait`: every container running, healthy where it has a
    /// healthcheck, completed where something waits on it as such; the
    /// failures, each in words.
    pub async fn ready(&self, ids: &BTreeMap<String, Vec<String>>) -> Vec<String> {
        let project = self.project;
        let completed: BTreeSet<&String> = project
            .services
            .values()
            .flat_map(|s| {
                s.depends_on
                    .iter()
                    .filter(|(_, d)| d.condition == Condition::ServiceCompletedSuccessfully)
                    .map(|(n, _)| n)
            })
            .collect();
        let waits = ids
            .iter()
            .flat_map(|(name, ids)| ids.iter().zip(1..).map(move |(id, n)| (name, id, n)))
            .map(|(name, id, n)| {
                let svc = &project.services[name];
                let cond = if completed.contains(name) {
                    Condition::ServiceCompletedSuccessfully
                } else if svc.has_healthcheck() {
                    Condition::ServiceHealthy
                } else {
                    Condition::ServiceStarted
                };
                let item = format!("Container {}", spec::replica_name(project, svc, n));
                async move {
                    self.progress.step(&item, State::Waiting, false);
                    let report = |why: &str| {
                        self.progress.note(&item, &format!("Waiting to be {}: {why}", cond.goal()))
                    };
                    let r = match wait_for(
                        self.engine,
                        self.hub,
                        id,
                        name,
                        cond,
                        self.timeout,
                        &report,
                    )
                    .await
                    {
                        Ok(()) if cond == Condition::ServiceStarted => {
                            self.stays_up(id, name).await
                        }
                        other => other,
                    };
                    match &r {
                        Ok(()) => self.progress.step(
                            &item,
                            if cond == Condition::ServiceHealthy {
                                State::Healthy
                            } else {
                                State::Started
                            },
                            true,
                        ),
                        Err(why) => self.progress.fail(&item, why),
                    }
                    r
                }
            });
        join_all(waits).await.into_iter().filter_map(Result::err).collect()
    }

    /// A container without a healthcheck is ready once it stays running,
    /// or has exited with status 0.
    async fn stays_up(&self, id: &str, name: &str) -> Result<(), String> {
        wait_stable(self.engine, id, name, self.timeout).await?;
        match exit_code_if_exited(self.engine, id).await {
            Some(code) if code != 0 => Err(format!("{name} exited with code {code}")),
            _ => Ok(()),
        }
    }
}

async fn exit_code_if_exited(engine: &Engine, id: &str) -> Option<i64> {
    let info = engine
        .docker
        .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
        .await
        .ok()?;
    let state = info.state?;
    (!state.running.unwrap_or(false)).then(|| state.exit_code.unwrap_or(0))
}
