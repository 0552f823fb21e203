//! Carrying out an `up` plan: each service once its dependencies have
//! converged and meet their conditions, its operations with progress shown,
//! and failures typed so the root causes come first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::FutureExt;
use futures::future::try_join_all;

use super::deps;
use super::observe::Observed;
use super::plan::{self, Op, Plan, Situation, Step};
use super::stop;
use super::wait::Waiter;
use crate::compose::Project;
use crate::engine::events::EventHub;
use crate::engine::{Engine, containers, spec};
use crate::ui::progress::{Progress, State};

/// Why a service did not converge.
#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    #[error("service {service}: not started because its dependency {dep} failed")]
    DependencyFailed { service: String, dep: String },
    #[error("service {service}: dependency failed to start: {why}")]
    DependencyUnmet { service: String, why: String },
    #[error("service {service}: {error:#}")]
    Failed { service: String, error: anyhow::Error },
}

impl ConvergeError {
    /// A failure of its own, not one passed on from a dependency.
    pub fn is_root(&self) -> bool {
        !matches!(self, ConvergeError::DependencyFailed { .. })
    }
}

/// Each service's container ids, by number.
pub type Ids = BTreeMap<String, Vec<String>>;

type ServiceResult = Result<Vec<String>, Arc<ConvergeError>>;

/// What converging needs besides the plan.
pub struct Converger {
    pub engine: Engine,
    pub project: Arc<Project>,
    pub hub: Arc<EventHub>,
    pub progress: Progress,
    /// `-t`, over the services' `stop_grace_period`.
    pub timeout: Option<u64>,
    pub wait_timeout: std::time::Duration,
    /// Start what is made (not `--no-start`).
    pub start: bool,
    pub observed: Arc<Vec<Observed>>,
    pub image_ids: Arc<HashMap<String, Option<String>>>,
    pub loopback_ports: Arc<HashMap<String, Vec<u16>>>,
}

impl Converger {
    /// Removes the orphans the plan names, then converges its steps; the
    /// container ids of each service, or every failure, root causes first.
    pub async fn run(self: Arc<Self>, plan: &Plan) -> Result<Ids, Vec<Arc<ConvergeError>>> {
        for op in &plan.orphans {
            if let Op::Remove { name, id, .. } = op
                && let Some(c) = self.observed.iter().find(|c| &c.id == id)
                && let Err(e) =
                    stop::stop_and_remove(&self.engine, c, None, self.timeout, &self.progress).await
            {
                return Err(vec![Arc::new(ConvergeError::Failed {
                    service: name.clone(),
                    error: e,
                })]);
            }
        }
        let steps: BTreeMap<String, Step> =
            plan.steps.iter().map(|s| (s.service.clone(), s.clone())).collect();
        let order: Vec<String> = plan.steps.iter().map(|s| s.service.clone()).collect();
        let project = self.project.clone();
        let depends_on = |s: &str| {
            project
                .services
                .get(s)
                .map(|svc| svc.depends_on.keys().cloned().collect())
                .unwrap_or_default()
        };
        let me = self.clone();
        let results = deps::forward(
            &order,
            depends_on,
            move |name, before: BTreeMap<String, ServiceResult>| {
                let (me, step) = (me.clone(), steps[&name].clone());
                async move { me.service(step, before).await.map_err(Arc::new) }.boxed()
            },
        )
        .await;
        let mut ids = Ids::new();
        let mut errors = Vec::new();
        for (name, r) in results {
            match r {
                Ok(v) => {
                    ids.insert(name, v);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            return Ok(ids);
        }
        // Root causes first: the services that failed themselves.
        errors.sort_by_key(|e| !e.is_root());
        Err(errors)
    }

    /// One service: its dependencies' conditions, then its operations.
    async fn service(
        &self,
        step: Step,
        before: BTreeMap<String, ServiceResult>,
    ) -> Result<Vec<String>, ConvergeError> {
        let name = step.service.clone();
        let mut dep_ids = Ids::new();
        for (dep, r) in before {
            match r {
                Ok(ids) => {
                    dep_ids.insert(dep, ids);
                }
                Err(_) => return Err(ConvergeError::DependencyFailed { service: name, dep }),
            }
        }
        let item = format!(
            "Container {}",
            spec::container_name(&self.project, &self.project.services[&name])
        );
        let waiter = Waiter {
            engine: &self.engine,
            hub: &self.hub,
            project: &self.project,
            timeout: self.wait_timeout,
            progress: &self.progress,
        };
        if let Err(why) = waiter.all_of(&step.waits, &dep_ids).await {
            self.progress.fail(&item, &why);
            return Err(ConvergeError::DependencyUnmet { service: name, why });
        }
        self.ops(&step, &dep_ids).await.map_err(|error| {
            self.progress.fail(&item, &error.to_string());
            ConvergeError::Failed { service: name, error }
        })
    }

    /// A service's operations: removals first, then each container.
    async fn ops(&self, step: &Step, dep_ids: &Ids) -> anyhow::Result<Vec<String>> {
        let name = &step.service;
        let declared = &self.project.services[name];
        // The containers it joins: this run's, or ones left running.
        let mut joined = BTreeMap::new();
        for other in declared.joined_services() {
            let first = dep_ids.get(other).and_then(|ids| ids.first()).cloned().or_else(|| {
                self.observed
                    .iter()
                    .filter(|c| c.service == other)
                    .min_by_key(|c| c.number)
                    .map(|c| c.id.clone())
            });
            let Some(id) = first else {
                anyhow::bail!(
                    "it joins the container of service {other:?}, which has none\n  hint: start {other} first"
                );
            };
            joined.insert(other.to_string(), id);
        }
        let targets = Default::default();
        let situation = Situation {
            project: &self.project,
            targets: &targets,
            observed: &self.observed,
            image_ids: &self.image_ids,
            loopback_ports: &self.loopback_ports,
            proxies: &[],
        };
        let want = plan::desired(&self.project, name, &joined, &situation);
        let grace = stop::grace(self.timeout, Some(&want.service));
        let removals = step.ops.iter().filter_map(|op| match op {
            Op::Remove { id, .. } => self.observed.iter().find(|c| &c.id == id),
            _ => None,
        });
        try_join_all(removals.map(|c| {
            stop::stop_and_remove(&self.engine, c, Some(&want.service), grace, &self.progress)
        }))
        .await?;
        let containers = step
            .ops
            .iter()
            .filter(|op| !matches!(op, Op::Remove { .. }))
            .map(|op| self.op(op, &want, grace));
        try_join_all(containers).await
    }

    /// One container's operation; returns its id.
    async fn op(
        &self,
        op: &Op,
        want: &plan::Desired,
        grace: Option<u64>,
    ) -> anyhow::Result<String> {
        let svc = &want.service;
        let loopback = self.loopback_ports.get(&svc.name).cloned().unwrap_or_default();
        let create = |number| spec::Create {
            number,
            image: &want.image,
            image_id: want.image_id.as_deref(),
            hash: &want.hash,
            loopback_ports: &loopback,
            one_off: None,
        };
        match op {
            Op::Create { number, name } => {
                let item = format!("Container {name}");
                self.progress.step(&item, State::Creating, false);
                let id =
                    containers::create(&self.engine, &self.project, svc, &create(*number)).await?;
                self.progress.step(&item, State::Created, !self.start);
                self.start_made(&item, &id, name, svc).await?;
                Ok(id)
            }
            Op::Recreate { number, name, old, .. } => {
                let item = format!("Container {name}");
                self.progress.step(&item, State::Recreate, false);
                let was = self.observed.iter().find(|c| &c.id == old);
                let running = was.is_some_and(Observed::is_running);
                let old_name = was.map_or(name.as_str(), |c| c.name.as_str());
                containers::pre_stop(&self.engine, old, old_name, running, Some(svc)).await?;
                containers::stop(&self.engine, old, grace).await?;
                containers::remove(&self.engine, old, false).await?;
                let id =
                    containers::create(&self.engine, &self.project, svc, &create(*number)).await?;
                self.progress.step(&item, State::Recreated, !self.start);
                self.start_made(&item, &id, name, svc).await?;
                Ok(id)
            }
            Op::Start { name, id, .. } => {
                self.start_made(&format!("Container {name}"), id, name, svc).await?;
                Ok(id.clone())
            }
            Op::Restart { name, id, .. } => {
                let item = format!("Container {name}");
                self.progress.step(&item, State::Stopping, false);
                containers::pre_stop(&self.engine, id, name, true, Some(svc)).await?;
                containers::stop(&self.engine, id, grace).await?;
                self.progress.step(&item, State::Stopped, true);
                self.start_made(&item, id, name, svc).await?;
                Ok(id.clone())
            }
            Op::Keep { name, id, running, .. } => {
                self.progress.step(
                    &format!("Container {name}"),
                    if *running { State::Running } else { State::Created },
                    true,
                );
                Ok(id.clone())
            }
            Op::Remove { id, .. } => Ok(id.clone()),
        }
    }

    /// Starts a container unless `--no-start`, running its `post_start` hooks.
    async fn start_made(
        &self,
        item: &str,
        id: &str,
        name: &str,
        svc: &crate::compose::model::Service,
    ) -> anyhow::Result<()> {
        if !self.start {
            return Ok(());
        }
        self.progress.step(item, State::Starting, false);
        containers::start(&self.engine, id, name).await?;
        containers::post_start(&self.engine, id, svc).await?;
        self.progress.step(item, State::Started, true);
        Ok(())
    }
}
