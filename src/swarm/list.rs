//! `stack ls`, `services`, `ps` and `rm`, by the labels docker stack uses,
//! so stacks either tool deployed show in both.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bollard::models::{Service, Task, TaskState};
use bollard::query_parameters::{
    ListConfigsOptions, ListNetworksOptions, ListNodesOptions, ListSecretsOptions,
    ListServicesOptions, ListTasksOptions,
};

use super::spec::{NAMESPACE, api, stack_filter};
use crate::engine::{Engine, engine_message};

async fn services(engine: &Engine, stack: Option<&str>) -> anyhow::Result<Vec<Service>> {
    let opts = ListServicesOptions { filters: stack_filter(stack), status: None };
    engine.docker.list_services(Some(opts)).await.map_err(api)
}

async fn tasks(engine: &Engine, stack: &str) -> anyhow::Result<Vec<Task>> {
    let opts = ListTasksOptions { filters: stack_filter(Some(stack)) };
    engine.docker.list_tasks(Some(opts)).await.map_err(api)
}

fn service_stack(s: &Service) -> Option<String> {
    s.spec.as_ref()?.labels.as_ref()?.get(NAMESPACE).cloned()
}

/// `NAME SERVICES`, as `docker stack ls`.
pub async fn ls(engine: &Engine) -> anyhow::Result<String> {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for s in services(engine, None).await? {
        if let Some(stack) = service_stack(&s) {
            *count.entry(stack).or_default() += 1;
        }
    }
    let rows: Vec<Vec<String>> = count.into_iter().map(|(n, c)| vec![n, c.to_string()]).collect();
    Ok(table(&["NAME", "SERVICES"], &rows))
}

/// `ID NAME MODE REPLICAS IMAGE PORTS`, as `docker stack services`.
pub async fn list_services(engine: &Engine, stack: &str) -> anyhow::Result<String> {
    let all = tasks(engine, stack).await?;
    let mut rows = Vec::new();
    for s in services(engine, Some(stack)).await? {
        let id = s.id.clone().unwrap_or_default();
        let spec = s.spec.clone().unwrap_or_default();
        let running = all
            .iter()
            .filter(|t| t.service_id.as_deref() == Some(&id))
            .filter(|t| t.status.as_ref().and_then(|st| st.state) == Some(TaskState::RUNNING))
            .count();
        let mode = spec.mode.clone().unwrap_or_default();
        let (mode, replicas) = match mode.replicated.and_then(|r| r.replicas) {
            Some(n) => ("replicated", format!("{running}/{n}")),
            None => ("global", running.to_string()),
        };
        let image = spec
            .task_template
            .and_then(|t| t.container_spec)
            .and_then(|c| c.image)
            .unwrap_or_default();
        let ports: Vec<String> = spec
            .endpoint_spec
            .and_then(|e| e.ports)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                format!(
                    "*:{}->{}/{}",
                    p.published_port.unwrap_or_default(),
                    p.target_port.unwrap_or_default(),
                    p.protocol.map_or("tcp".into(), |x| x.to_string())
                )
            })
            .collect();
        rows.push(vec![
            id.chars().take(12).collect(),
            spec.name.unwrap_or_default(),
            mode.into(),
            replicas,
            image,
            ports.join(", "),
        ]);
    }
    rows.sort_by(|a, b| a[1].cmp(&b[1]));
    Ok(table(&["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"], &rows))
}

/// `ID NAME IMAGE NODE DESIRED STATE CURRENT STATE ERROR`, as `docker stack ps`.
pub async fn ps(engine: &Engine, stack: &str) -> anyhow::Result<String> {
    let names: HashMap<String, String> = services(engine, Some(stack))
        .await?
        .into_iter()
        .filter_map(|s| Some((s.id?, s.spec?.name?)))
        .collect();
    let nodes: HashMap<String, String> = engine
        .docker
        .list_nodes(None::<ListNodesOptions>)
        .await
        .map_err(api)?
        .into_iter()
        .filter_map(|n| Some((n.id?, n.description?.hostname?)))
        .collect();
    let mut rows = Vec::new();
    for t in tasks(engine, stack).await? {
        let service =
            t.service_id.as_ref().and_then(|id| names.get(id)).cloned().unwrap_or_default();
        let status = t.status.clone().unwrap_or_default();
        let state = status.state.map_or(String::new(), |s| s.to_string());
        rows.push(vec![
            t.id.clone().unwrap_or_default().chars().take(12).collect(),
            format!("{service}.{}", t.slot.unwrap_or_default()),
            t.spec
                .as_ref()
                .and_then(|s| s.container_spec.as_ref())
                .and_then(|c| c.image.clone())
                .unwrap_or_default(),
            t.node_id.as_ref().and_then(|n| nodes.get(n)).cloned().unwrap_or_default(),
            t.desired_state.map_or(String::new(), |s| capitalized(&s.to_string())),
            capitalized(&state),
            status.err.unwrap_or_default(),
        ]);
    }
    rows.sort_by(|a, b| a[1].cmp(&b[1]));
    Ok(table(&["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR"], &rows))
}

/// Removes a stack's services, then (once their tasks are gone) its
/// networks, configs and secrets; says what it removed.
pub async fn rm(engine: &Engine, stack: &str, say: &dyn Fn(&str)) -> anyhow::Result<bool> {
    let d = &engine.docker;
    let found = services(engine, Some(stack)).await?;
    let mut any = !found.is_empty();
    for s in found {
        let name = s.spec.and_then(|x| x.name).unwrap_or_default();
        say(&format!("Removing service {name}"));
        d.delete_service(&s.id.unwrap_or_default()).await.map_err(api)?;
    }
    // Networks refuse removal while tasks are still attached to them.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !tasks(engine, stack).await?.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for c in d
        .list_configs(Some(ListConfigsOptions { filters: stack_filter(Some(stack)) }))
        .await
        .map_err(api)?
    {
        say(&format!("Removing config {}", c.spec.and_then(|s| s.name).unwrap_or_default()));
        d.delete_config(&c.id.unwrap_or_default()).await.map_err(api)?;
        any = true;
    }
    for s in d
        .list_secrets(Some(ListSecretsOptions { filters: stack_filter(Some(stack)) }))
        .await
        .map_err(api)?
    {
        say(&format!("Removing secret {}", s.spec.and_then(|s| s.name).unwrap_or_default()));
        d.delete_secret(&s.id.unwrap_or_default()).await.map_err(api)?;
        any = true;
    }
    for n in d
        .list_networks(Some(ListNetworksOptions { filters: stack_filter(Some(stack)) }))
        .await
        .map_err(api)?
    {
        let name = n.name.unwrap_or_default();
        say(&format!("Removing network {name}"));
        let mut tries = 0;
        while let Err(e) = d.remove_network(&n.id.clone().unwrap_or_default()).await {
            tries += 1;
            if tries > 50 {
                anyhow::bail!("cannot remove network {name}: {}", engine_message(&e));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        any = true;
    }
    Ok(any)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}   "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}
