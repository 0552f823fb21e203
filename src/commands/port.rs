//! `rcompose port`: where a container's port is published on the host.

use crate::cli::{GlobalOpts, PortArgs};
use crate::engine::{Engine, containers};
use crate::failure::Failure;
use crate::ui::Style;

pub fn run(global: &GlobalOpts, args: &PortArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, std::slice::from_ref(&args.service), style)?;
    // A built-in proxy answers with the addresses it listens on.
    let proxy = (!super::running_proxies(&project, std::slice::from_ref(&args.service)).is_empty())
        .then(|| {
            crate::orchestrate::builtin::summaries(
                &project,
                std::slice::from_ref(&args.service),
                false,
            )
        })
        .and_then(|l| l.into_iter().next());
    let c = match proxy {
        Some(c) => c,
        None => super::runtime()?.block_on(async {
            let engine = Engine::connect().await?;
            super::running_replica(&engine, &project, &args.service, args.index).await
        })?,
    };
    let ports = c.ports.as_deref().unwrap_or_default();
    let proto = |p: &bollard::models::PortSummary| {
        p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into())
    };
    let found = ports.iter().find(|p| {
        p.private_port == args.private_port && proto(p) == args.protocol && p.public_port.is_some()
    });
    let Some(p) = found else {
        let mut published: Vec<String> = ports
            .iter()
            .filter_map(|p| p.public_port.map(|pp| format!("{pp}/{}", proto(p))))
            .collect();
        // In the engine's order, as docker compose prints them; once each.
        let mut seen = std::collections::HashSet::new();
        published.retain(|p| seen.insert(p.clone()));
        let why = format!(
            "no port {}/{} for container {}: {}",
            args.private_port,
            args.protocol,
            containers::name(&c),
            published.join(", ")
        );
        return Err(Failure::Verbatim(vec![why]).into());
    };
    let ip = p.ip.as_deref().unwrap_or("0.0.0.0");
    let ip = if ip.contains(':') { format!("[{ip}]") } else { ip.to_string() };
    println!("{ip}:{}", p.public_port.unwrap_or_default());
    Ok(0)
}
