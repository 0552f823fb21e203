//! The built-in proxy inside this process: loaded and checked (no
//! container needed), then started once the containers it fronts run.

use std::sync::Arc;

use anyhow::Context;

use super::hosts::ContainerHosts;
use super::select::{check_roots, setup, state_dir};
use crate::compose::Project;
use crate::engine::Engine;
use crate::proxy::server::{self, Running};

/// A proxy whose configuration is loaded and checked, not yet listening.
/// Loading needs no container, so a detached proxy does it while the
/// containers start, not after: by then their start-up competes for the CPU.
pub struct Loaded {
    service: String,
    hosts: Arc<ContainerHosts>,
    setup: server::Setup,
    rt: crate::proxy::request::Runtime,
}

/// Loads the configuration of the proxy for `service`.
pub fn load_in_process(
    project: &Project,
    service: &str,
    lines: crate::proxy::log::LineFn,
) -> anyhow::Result<Loaded> {
    let svc = project.services.get(service).context("no such service")?;
    let hosts = Arc::new(ContainerHosts::default());
    let setup = setup(svc, hosts.clone(), &state_dir(&project.name), Some(lines))
        .map_err(anyhow::Error::msg)?;
    // Kept typed under the context: `up` tells a configuration only nginx
    // can serve (it runs the nginx container) from a broken one.
    let rt = server::load(&setup).map_err(|e| {
        anyhow::Error::new(e).context(format!(
            "service {service}: the built-in proxy cannot serve its configuration"
        ))
    })?;
    check_roots(&rt, service).map_err(anyhow::Error::new)?;
    Ok(Loaded { service: service.to_string(), hosts, setup, rt })
}

impl Loaded {
    /// Reads the containers' addresses, listens, and keeps the addresses current.
    pub async fn start(
        self,
        engine: &Engine,
        project: &Arc<Project>,
    ) -> anyhow::Result<(Running, tokio::task::JoinHandle<()>)> {
        let Loaded { service, hosts, setup, rt } = self;
        hosts.refresh(engine, project).await;
        let running =
            server::start(setup, rt).map_err(|e| anyhow::anyhow!("service {service}: {e}"))?;
        // Following reads the containers again once subscribed: nothing between is missed.
        Ok((running, hosts.follow(engine.clone(), project.clone())))
    }
}

/// Starts the proxy for `service` inside this process.
pub async fn start_in_process(
    engine: &Engine,
    project: &Arc<Project>,
    service: &str,
    lines: crate::proxy::log::LineFn,
) -> anyhow::Result<(Running, tokio::task::JoinHandle<()>)> {
    load_in_process(project, service, lines)?.start(engine, project).await
}
