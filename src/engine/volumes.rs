//! The project's named volumes: created before containers, removed by `down -v`.

use std::collections::HashMap;

use anyhow::{Context, bail};
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions};

use super::{Engine, engine_message, is_not_found, labels};
use crate::compose::Project;

/// Creates each named volume the project's services use, unless it exists.
pub async fn ensure(engine: &Engine, project: &Project) -> anyhow::Result<Vec<String>> {
    let mut created = Vec::new();
    for (key, vol) in &project.volumes {
        match engine.docker.inspect_volume(&vol.name).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {
                if vol.external {
                    bail!(
                        "volume {} is declared as external, but could not be found\n  hint: create it with `docker volume create {}`",
                        vol.name,
                        vol.name
                    );
                }
                let req = VolumeCreateRequest {
                    name: Some(vol.name.clone()),
                    driver: vol.driver.clone(),
                    driver_opts: Some(vol.driver_opts.clone().into_iter().collect()),
                    labels: Some(labels::resource_labels(
                        &project.name,
                        labels::VOLUME,
                        key,
                        &vol.labels,
                    )),
                    ..Default::default()
                };
                let (docker, name) = (engine.docker.clone(), vol.name.clone());
                super::to_completion(async move {
                    docker
                        .create_volume(req)
                        .await
                        .with_context(|| format!("cannot create volume {name}"))
                })
                .await?;
                created.push(vol.name.clone());
            }
            Err(e) => bail!("cannot inspect volume {}: {}", vol.name, engine_message(&e)),
        }
    }
    Ok(created)
}

/// Names of the volumes labelled as the project's.
pub async fn list(engine: &Engine, project: &str) -> anyhow::Result<Vec<String>> {
    let filters = HashMap::from([("label".to_string(), vec![labels::project_filter(project)])]);
    let resp =
        engine.docker.list_volumes(Some(ListVolumesOptions { filters: Some(filters) })).await?;
    Ok(resp.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect())
}

pub async fn remove(engine: &Engine, name: &str) -> anyhow::Result<bool> {
    match engine.docker.remove_volume(name, Some(RemoveVolumeOptions { force: false })).await {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => bail!("cannot remove volume {name}: {}", engine_message(&e)),
    }
}
