//! The `com.docker.compose.*` labels, written as docker compose v2 writes
//! them, and the configuration hash that decides when to recreate.

use std::collections::HashMap;

use crate::compose::Project;
use crate::compose::model::Service;

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const VERSION: &str = "com.docker.compose.version";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const ENVIRONMENT_FILE: &str = "com.docker.compose.project.environment_file";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
/// A `run` container's random id, the first 12 digits of which end its name.
pub const SLUG: &str = "com.docker.compose.slug";
pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
pub const IMAGE: &str = "com.docker.compose.image";
pub const NETWORK: &str = "com.docker.compose.network";
pub const VOLUME: &str = "com.docker.compose.volume";
/// rcompose's own mark on what it created (docker compose ignores it).
pub const RCOMPOSE_VERSION: &str = "dev.rcompose.version";

/// The compose version rcompose writes: the docker compose v2 release whose
/// labels and names it reproduces.
pub const COMPOSE_VERSION: &str = "2.40.3";

pub fn project_filter(project: &str) -> String {
    format!("{PROJECT}={project}")
}

/// Labels for a network or volume of the project.
pub fn resource_labels(
    project: &str,
    kind_label: &str,
    key: &str,
    extra: &std::collections::BTreeMap<String, String>,
) -> HashMap<String, String> {
    let mut l: HashMap<String, String> =
        extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    l.insert(PROJECT.into(), project.into());
    l.insert(kind_label.into(), key.into());
    l.insert(VERSION.into(), COMPOSE_VERSION.into());
    l
}

/// Labels for a service's container; `image` is the image id, as docker compose labels it.
pub fn container_labels(
    project: &Project,
    service: &Service,
    number: u32,
    image: &str,
    hash: &str,
) -> HashMap<String, String> {
    let mut l: HashMap<String, String> =
        service.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let files: Vec<String> = project.config_files.iter().map(|p| p.display().to_string()).collect();
    let deps: Vec<String> = service
        .depends_on
        .iter()
        .map(|(name, d)| format!("{name}:{}:{}", d.condition.as_str(), d.restart))
        .collect();
    for (k, v) in [
        (PROJECT, project.name.clone()),
        (SERVICE, service.name.clone()),
        (VERSION, COMPOSE_VERSION.to_string()),
        (WORKING_DIR, project.working_dir.display().to_string()),
        (CONFIG_FILES, files.join(",")),
        (ONEOFF, "False".to_string()),
        (CONFIG_HASH, hash.to_string()),
        (CONTAINER_NUMBER, number.to_string()),
        (DEPENDS_ON, deps.join(",")),
        (IMAGE, image.to_string()),
        (RCOMPOSE_VERSION, env!("CARGO_PKG_VERSION").to_string()),
    ] {
        l.insert(k.to_string(), v);
    }
    l
}
