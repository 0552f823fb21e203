//! Carries out a stack plan on a swarm manager: networks, configs and
//! secrets first, then services level by level, each level waiting for
//! what the next one's `depends_on` asks (running, healthy, completed),
//! which `docker stack deploy` does not do.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use bollard::models::{ConfigSpec, NetworkCreateRequest, SecretSpec, ServiceSpec, TaskState};
use bollard::query_parameters::{
    ListConfigsOptions, ListNetworksOptions, ListSecretsOptions, ListServicesOptions,
    ListTasksOptions, UpdateServiceOptions,
};
use serde_json::Value;

use super::plan::{ServicePlan, StackPlan};
use super::spec::{NAMESPACE, SPEC_HASH, api, stack_filter};
use crate::compose::model::Condition;
use crate::engine::{Engine, engine_message};

/// How long one level may take to be running (or healthy, or done).
pub const LEVEL_TIMEOUT: Duration = Duration::from_secs(180);

/// Refuses an engine that is not a swarm manager, saying how to make one.
pub async fn check_manager(engine: &Engine) -> anyhow::Result<()> {
    let info = engine.docker.info().await.map_err(api)?;
    let swarm = info.swarm.unwrap_or_default();
    if swarm.control_available != Some(true) {
        bail!(
            "the engine at {} is not a swarm manager\n  hint: `docker swarm init` makes this node one (on one machine: `docker swarm init --advertise-addr 127.0.0.1`)",
            engine.host
        );
    }
    Ok(())
}

/// Deploys the plan; `say` gets one line per action.
pub async fn deploy(
    engine: &Engine,
    plan: &StackPlan,
    prune: bool,
    say: &dyn Fn(&str),
) -> anyhow::Result<()> {
    let d = &engine.docker;
    let existing: Vec<String> = d
        .list_networks(Some(ListNetworksOptions { filters: stack_filter(Some(&plan.stack)) }))
        .await
        .map_err(api)?
        .into_iter()
        .filter_map(|n| n.name)
        .collect();
    for (name, body) in &plan.networks {
        if existing.contains(name) {
            continue;
        }
        say(&format!("Creating network {name}"));
        let req: NetworkCreateRequest = serde_json::from_value(body.clone())?;
        d.create_network(req)
            .await
            .map_err(|e| anyhow::anyhow!("cannot create network {name}: {}", engine_message(&e)))?;
    }
    let configs = blobs(engine, plan, true, say).await?;
    let secrets = blobs(engine, plan, false, say).await?;
    let services: HashMap<String, (String, i64)> = d
        .list_services(Some(ListServicesOptions {
            filters: stack_filter(Some(&plan.stack)),
            status: None,
        }))
        .await
        .map_err(api)?
        .into_iter()
        .filter_map(|s| {
            let name = s.spec.as_ref()?.name.clone()?;
            Some((name, (s.id?, s.version?.index? as i64)))
        })
        .collect();
    for level in &plan.levels {
        for s in level {
            let spec = with_ids(&s.spec, &configs, &secrets)?;
            match services.get(&s.name) {
                Some((id, version)) => {
                    say(&format!("Updating service {} (id: {id})", s.name));
                    let opts = UpdateServiceOptions {
                        version: i32::try_from(*version).unwrap_or(i32::MAX),
                        ..Default::default()
                    };
                    d.update_service(id, spec, opts, None).await.map_err(|e| {
                        anyhow::anyhow!("cannot update service {}: {}", s.name, engine_message(&e))
                    })?;
                }
                None => {
                    say(&format!("Creating service {}", s.name));
                    d.create_service(spec, None).await.map_err(|e| {
                        anyhow::anyhow!("cannot create service {}: {}", s.name, engine_message(&e))
                    })?;
                }
            }
        }
        for s in level.iter().filter(|s| s.wait.is_some()) {
            wait_for(engine, s, say).await?;
        }
    }
    if prune {
        let wanted: Vec<&str> = plan.levels.iter().flatten().map(|s| s.name.as_str()).collect();
        for (name, (id, _)) in services.iter().filter(|(n, _)| !wanted.contains(&n.as_str())) {
            say(&format!("Removing service {name}"));
            d.delete_service(id).await.map_err(api)?;
        }
    }
    Ok(())
}

/// Makes the configs (or secrets) the swarm lacks; returns the id of each by name.
async fn blobs(
    engine: &Engine,
    plan: &StackPlan,
    configs: bool,
    say: &dyn Fn(&str),
) -> anyhow::Result<HashMap<String, String>> {
    let d = &engine.docker;
    let mut ids: HashMap<String, String> = HashMap::new();
    if configs {
        for c in d.list_configs(None::<ListConfigsOptions>).await.map_err(api)? {
            if let (Some(id), Some(name)) = (c.id, c.spec.and_then(|s| s.name)) {
                ids.insert(name, id);
            }
        }
    } else {
        for s in d.list_secrets(None::<ListSecretsOptions>).await.map_err(api)? {
            if let (Some(id), Some(name)) = (s.id, s.spec.and_then(|s| s.name)) {
                ids.insert(name, id);
            }
        }
    }
    let list = if configs { &plan.configs } else { &plan.secrets };
    let labels = HashMap::from([(NAMESPACE.to_string(), plan.stack.clone())]);
    for b in list {
        if ids.contains_key(&b.name) {
            continue;
        }
        let data = base64::engine::general_purpose::STANDARD.encode(&b.data);
        let what = if configs { "config" } else { "secret" };
        say(&format!("Creating {what} {}", b.name));
        let id = if configs {
            let spec = ConfigSpec {
                name: Some(b.name.clone()),
                labels: Some(labels.clone()),
                data: Some(data),
                ..Default::default()
            };
            d.create_config(spec).await.map(|r| r.id)
        } else {
            let spec = SecretSpec {
                name: Some(b.name.clone()),
                labels: Some(labels.clone()),
                data: Some(data),
                ..Default::default()
            };
            d.create_secret(spec).await.map(|r| r.id)
        }
        .map_err(|e| anyhow::anyhow!("cannot create {what} {}: {}", b.name, engine_message(&e)))?;
        ids.insert(b.name.clone(), id);
    }
    Ok(ids)
}

/// The spec with each config and secret named by its id, as the API wants it.
fn with_ids(
    spec: &Value,
    configs: &HashMap<String, String>,
    secrets: &HashMap<String, String>,
) -> anyhow::Result<ServiceSpec> {
    let mut spec = spec.clone();
    let c = &mut spec["TaskTemplate"]["ContainerSpec"];
    for (field, name_key, id_key, ids) in [
        ("Configs", "ConfigName", "ConfigID", configs),
        ("Secrets", "SecretName", "SecretID", secrets),
    ] {
        if let Some(refs) = c.get_mut(field).and_then(Value::as_array_mut) {
            for r in refs {
                let name = r[name_key].as_str().unwrap_or_default().to_string();
                let id = ids.get(&name).with_context(|| {
                    format!(
                        "{} {name} does not exist in the swarm (external ones must be made first)",
                        &field[..field.len() - 1].to_lowercase()
                    )
                })?;
                r[id_key] = id.clone().into();
            }
        }
    }
    Ok(serde_json::from_value(spec)?)
}

/// Waits until a service's tasks are what its dependents wait for.
async fn wait_for(engine: &Engine, s: &ServicePlan, say: &dyn Fn(&str)) -> anyhow::Result<()> {
    let Some(cond) = s.wait else { return Ok(()) };
    say(&format!("Waiting for service {} to be {}", s.name, cond.goal()));
    let started = Instant::now();
    let filters = HashMap::from([("service".to_string(), vec![s.name.clone()])]);
    let mut last_error = String::new();
    loop {
        let tasks = engine
            .docker
            .list_tasks(Some(ListTasksOptions { filters: Some(filters.clone()) }))
            .await
            .map_err(api)?;
        let mut met = false;
        for t in &tasks {
            // After an update the old task still runs: only tasks of this
            // spec count, by the hash the plan put on it.
            let hash = t
                .spec
                .as_ref()
                .and_then(|x| x.container_spec.as_ref())
                .and_then(|c| c.labels.as_ref())
                .and_then(|l| l.get(SPEC_HASH).cloned());
            if hash.as_deref() != Some(s.hash.as_str()) {
                continue;
            }
            let status = t.status.clone().unwrap_or_default();
            let state = status.state.unwrap_or(TaskState::NEW);
            if let Some(e) = status.err.filter(|e| !e.is_empty()) {
                last_error = e;
            }
            met |= match (cond, state) {
                (Condition::ServiceStarted, TaskState::RUNNING) => true,
                (Condition::ServiceCompletedSuccessfully, TaskState::COMPLETE) => true,
                (Condition::ServiceCompletedSuccessfully, TaskState::FAILED) => {
                    bail!("service {} did not complete successfully: {last_error}", s.name)
                }
                (Condition::ServiceHealthy, TaskState::RUNNING) => {
                    let id = status.container_status.and_then(|c| c.container_id);
                    healthy(engine, id.as_deref()).await
                }
                _ => false,
            };
        }
        if met {
            return Ok(());
        }
        if started.elapsed() > LEVEL_TIMEOUT {
            bail!(
                "service {} is not {} after {}s{}",
                s.name,
                cond.goal(),
                LEVEL_TIMEOUT.as_secs(),
                if last_error.is_empty() { String::new() } else { format!(": {last_error}") }
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A task's container is healthy (asked of this node's engine, where a one-node swarm runs it).
async fn healthy(engine: &Engine, container: Option<&str>) -> bool {
    let Some(id) = container else { return false };
    let Ok(c) = engine.docker.inspect_container(id, None).await else { return false };
    c.state
        .and_then(|s| s.health)
        .and_then(|h| h.status)
        .is_some_and(|s| s == bollard::models::HealthStatusEnum::HEALTHY)
}
