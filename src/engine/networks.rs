//! The project's networks: created before containers, removed by `down`.

use std::collections::HashMap;

use anyhow::{Context, bail};
use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::ListNetworksOptions;

use super::{Engine, engine_message, is_not_found, labels};
use crate::compose::Project;

/// Creates each network the project's services use, unless it exists.
/// External networks must exist already.
pub async fn ensure(engine: &Engine, project: &Project) -> anyhow::Result<Vec<String>> {
    let mut created = Vec::new();
    for (key, net) in &project.networks {
        match engine.docker.inspect_network(&net.name, None::<bollard::query_parameters::InspectNetworkOptions>).await {
            Ok(existing) => {
                let owner = existing.labels.as_ref().and_then(|l| l.get(labels::PROJECT));
                if !net.external && owner.is_some_and(|o| o != &project.name) {
                    bail!(
                        "network {} exists but belongs to project {:?}; remove it or rename this project's network",
                        net.name,
                        owner.unwrap()
                    );
                }
            }
            Err(e) if is_not_found(&e) => {
                if net.external {
                    bail!(
                        "network {} is declared as external, but could not be found\n  hint: create it with `docker network create {}`",
                        net.name,
                        net.name
                    );
                }
                let req = NetworkCreateRequest {
                    name: net.name.clone(),
                    driver: Some(net.driver.clone().unwrap_or_else(|| "bridge".into())),
                    internal: Some(net.internal),
                    attachable: Some(net.attachable),
                    options: Some(net.driver_opts.clone().into_iter().collect()),
                    labels: Some(labels::resource_labels(&project.name, labels::NETWORK, key, &net.labels)),
                    ..Default::default()
                };
                let (docker, name) = (engine.docker.clone(), net.name.clone());
                super::to_completion(
                    async move { docker.create_network(req).await.with_context(|| format!("cannot create network {name}")) },
                )
                .await?;
                created.push(net.name.clone());
            }
            Err(e) => bail!("cannot inspect network {}: {}", net.name, engine_message(&e)),
        }
    }
    Ok(created)
}

/// Names of the networks labelled as the project's.
pub async fn list(engine: &Engine, project: &str) -> anyhow::Result<Vec<String>> {
    let filters = HashMap::from([("label".to_string(), vec![labels::project_filter(project)])]);
    let nets = engine.docker.list_networks(Some(ListNetworksOptions { filters: Some(filters) })).await?;
    Ok(nets.into_iter().filter_map(|n| n.name).collect())
}

/// Removes a network; a network already gone is fine.
pub async fn remove(engine: &Engine, name: &str) -> anyhow::Result<bool> {
    match engine.docker.remove_network(name).await {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => bail!("cannot remove network {name}: {}", engine_message(&e)),
    }
}
