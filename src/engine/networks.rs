//! The project's networks: created before containers, removed by `down`.

use std::collections::HashMap;

use anyhow::{Context, bail};
use bollard::models::{
    Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};
use bollard::query_parameters::ListNetworksOptions;

use super::config_hash::network_hash;
use super::{Engine, engine_message, is_not_found, labels};
use crate::compose::Project;
use crate::compose::model::Network;

/// What [`ensure`] did: networks made, networks made again because the
/// file changed them, and the containers it stopped to do so.
#[derive(Debug, Default)]
pub struct Ensured {
    pub created: Vec<String>,
    pub recreated: Vec<String>,
    pub stopped: Vec<String>,
}

/// Creates each network the project's services use, unless it exists.
/// External networks must exist already. One whose config-hash label no
/// longer matches the file is made again, as docker compose does: its
/// containers are stopped and disconnected, then connected to the new one,
/// for `up` to start them.
pub async fn ensure(engine: &Engine, project: &Project) -> anyhow::Result<Ensured> {
    let mut done = Ensured::default();
    for (key, net) in &project.networks {
        match engine
            .docker
            .inspect_network(&net.name, None::<bollard::query_parameters::InspectNetworkOptions>)
            .await
        {
            Ok(existing) => {
                let labels = existing.labels.unwrap_or_default();
                let owner = labels.get(labels::PROJECT);
                if !net.external && owner.is_some_and(|o| o != &project.name) {
                    bail!(
                        "network {} exists but belongs to project {:?}; remove it or rename this project's network",
                        net.name,
                        owner.unwrap()
                    );
                }
                // No label (an older docker compose, or made by hand): left alone, as docker compose does.
                if net.external
                    || labels.get(labels::CONFIG_HASH).is_none_or(|h| *h == network_hash(net))
                {
                    continue;
                }
                let attached: Vec<String> =
                    existing.containers.unwrap_or_default().into_keys().collect();
                for id in &attached {
                    super::containers::stop(engine, id, None).await?;
                    disconnect(engine, &net.name, id).await?;
                }
                remove(engine, &net.name).await?;
                create(engine, project, key, net).await?;
                for id in &attached {
                    connect(engine, project, key, net, id).await?;
                }
                done.stopped.extend(attached);
                done.recreated.push(net.name.clone());
            }
            Err(e) if is_not_found(&e) => {
                if net.external {
                    bail!(
                        "network {} is declared as external, but could not be found\n  hint: create it with `docker network create {}`",
                        net.name,
                        net.name
                    );
                }
                create(engine, project, key, net).await?;
                done.created.push(net.name.clone());
            }
            Err(e) => bail!("cannot inspect network {}: {}", net.name, engine_message(&e)),
        }
    }
    Ok(done)
}

async fn create(
    engine: &Engine,
    project: &Project,
    key: &str,
    net: &Network,
) -> anyhow::Result<()> {
    let mut labels = labels::resource_labels(&project.name, labels::NETWORK, key, &net.labels);
    labels.insert(labels::CONFIG_HASH.into(), network_hash(net));
    let req = NetworkCreateRequest {
        name: net.name.clone(),
        driver: Some(net.driver.clone().unwrap_or_else(|| "bridge".into())),
        internal: Some(net.internal),
        attachable: Some(net.attachable),
        enable_ipv6: net.enable_ipv6,
        ipam: (!net.ipam.is_empty()).then(|| ipam(&net.ipam)),
        options: Some(net.driver_opts.clone().into_iter().collect()),
        labels: Some(labels),
        ..Default::default()
    };
    let (docker, name) = (engine.docker.clone(), net.name.clone());
    super::to_completion(async move {
        docker.create_network(req).await.with_context(|| format!("cannot create network {name}"))
    })
    .await?;
    Ok(())
}

async fn disconnect(engine: &Engine, network: &str, container: &str) -> anyhow::Result<()> {
    let req = NetworkDisconnectRequest { container: container.to_string(), force: Some(true) };
    match engine.docker.disconnect_network(network, req).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => {
            bail!("cannot disconnect {container} from network {network}: {}", engine_message(&e))
        }
    }
}

/// Connects a container again, with the aliases and addresses of its service
/// when it is one of the project's.
async fn connect(
    engine: &Engine,
    project: &Project,
    key: &str,
    net: &Network,
    id: &str,
) -> anyhow::Result<()> {
    let info = engine
        .docker
        .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
        .await;
    let labels = info.ok().and_then(|i| i.config).and_then(|c| c.labels).unwrap_or_default();
    let service = labels
        .get(labels::SERVICE)
        .filter(|_| labels.get(labels::PROJECT) == Some(&project.name))
        .and_then(|s| project.services.get(s));
    let number = labels.get(labels::CONTAINER_NUMBER).and_then(|n| n.parse().ok()).unwrap_or(1);
    let endpoint_config = service.map(|svc| super::spec::endpoint(project, svc, number, key));
    let req = NetworkConnectRequest { container: id.to_string(), endpoint_config };
    engine.docker.connect_network(&net.name, req).await.map_err(|e| {
        anyhow::anyhow!("cannot connect {id} to network {}: {}", net.name, engine_message(&e))
    })
}

fn ipam(ipam: &crate::compose::model::Ipam) -> Ipam {
    let map = |m: &std::collections::BTreeMap<String, String>| {
        (!m.is_empty()).then(|| m.clone().into_iter().collect())
    };
    Ipam {
        driver: Some(ipam.driver.clone().unwrap_or_else(|| "default".into())),
        config: Some(
            ipam.config
                .iter()
                .map(|p| IpamConfig {
                    subnet: p.subnet.clone(),
                    ip_range: p.ip_range.clone(),
                    gateway: p.gateway.clone(),
                    auxiliary_addresses: map(&p.aux_addresses),
                })
                .collect(),
        ),
        options: None,
    }
}

/// Names of the networks labelled as the project's.
pub async fn list(engine: &Engine, project: &str) -> anyhow::Result<Vec<String>> {
    let filters = HashMap::from([("label".to_string(), vec![labels::project_filter(project)])]);
    let nets =
        engine.docker.list_networks(Some(ListNetworksOptions { filters: Some(filters) })).await?;
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
