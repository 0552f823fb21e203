//! A project known only by its name: rebuilt from the labels docker compose
//! and rcompose put on its containers, so that `ps`, `logs`, `stop`,
//! `down` and the others work with `-p NAME` away from its compose file,
//! as docker compose's do. Each service gets its image, its number of
//! containers and its `depends_on` (from `com.docker.compose.depends_on`),
//! which is all those commands read.

use std::collections::BTreeMap;

use crate::compose::Project;
use crate::compose::model::{Condition, Dependency, Service};
use crate::engine::{Engine, containers, labels};

/// The project's services as its containers describe them; `None` when no
/// container carries the project's name.
pub async fn project(engine: &Engine, name: &str) -> anyhow::Result<Option<Project>> {
    let list = containers::list(engine, name, true).await?;
    if list.is_empty() {
        return Ok(None);
    }
    let mut services: BTreeMap<String, Service> = BTreeMap::new();
    let mut working_dir = None;
    for c in &list {
        let svc_name = containers::service(c).to_string();
        if working_dir.is_none() {
            working_dir = containers::label(c, labels::WORKING_DIR).map(std::path::PathBuf::from);
        }
        let svc = services.entry(svc_name.clone()).or_insert_with(|| Service {
            name: svc_name.clone(),
            image: c.image.clone(),
            depends_on: depends_on(containers::label(c, labels::DEPENDS_ON).unwrap_or_default()),
            ..Default::default()
        });
        // As many replicas as containers, so prefixes and widths come out as docker compose's.
        let n = containers::number(c);
        svc.scale = Some(svc.scale.unwrap_or(0).max(n));
    }
    Ok(Some(Project {
        name: name.to_string(),
        services,
        working_dir: working_dir.unwrap_or_default(),
        ..Default::default()
    }))
}

/// `db:service_healthy:false,cache:service_started:true`, as the label holds it.
fn depends_on(label: &str) -> BTreeMap<String, Dependency> {
    label
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(':');
            let name = parts.next().filter(|n| !n.is_empty())?;
            let condition = match parts.next() {
                Some("service_healthy") => Condition::ServiceHealthy,
                Some("service_completed_successfully") => Condition::ServiceCompletedSuccessfully,
                _ => Condition::ServiceStarted,
            };
            let restart = parts.next() == Some("true");
            Some((name.to_string(), Dependency { condition, restart, required: true }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_read_back_from_their_label() {
        let d = depends_on("db:service_healthy:false,cache:service_started:true");
        assert_eq!(d["db"].condition, Condition::ServiceHealthy);
        assert!(d["cache"].restart && !d["db"].restart);
        assert!(depends_on("").is_empty());
    }
}
