//! `rcompose run`: a one-off container of a service
//! ([`crate::orchestrate::run`]), its exit status passed through.

use std::sync::Arc;

use crate::cli::{GlobalOpts, RunArgs};
use crate::compose::syntax;
use crate::failure::Failure;
use crate::orchestrate::images::ImagePolicy;
use crate::orchestrate::run::{self, RunOptions};
use crate::orchestrate::up;
use crate::ui::{Style, terminal};

pub fn run(global: &GlobalOpts, args: &RunArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_for(global, std::slice::from_ref(&args.service), style)?;
    if !project.services.contains_key(&args.service) {
        return Err(Failure::Each(vec![format!("no such service: {}", args.service)]).into());
    }
    let mut bad = Vec::new();
    let mut volumes = Vec::new();
    for v in &args.volumes {
        let home = std::env::var("HOME").ok();
        match syntax::parse_volume(v, &project.working_dir, home.as_deref()) {
            Ok(m) => volumes.push(m),
            Err(e) => bad.push(format!("-v {v}: {e}")),
        }
    }
    let mut publish = Vec::new();
    for p in &args.publish {
        match syntax::parse_port(p) {
            Ok(ports) => publish.extend(ports),
            Err(e) => bad.push(format!("-p {p}: {e}")),
        }
    }
    let mut labels = Vec::new();
    for l in &args.labels {
        match l.split_once('=') {
            Some((k, v)) => labels.push((k.to_string(), v.to_string())),
            None => labels.push((l.clone(), String::new())),
        }
    }
    if !bad.is_empty() {
        return Err(Failure::Each(bad).into());
    }
    let images = ImagePolicy {
        build: args.build,
        no_build: false,
        pull: args.pull.map(super::up::pull_policy),
        quiet_pull: args.quiet_pull,
    };
    let options = RunOptions {
        service: args.service.clone(),
        command: args.command.clone(),
        // As docker compose splits it: go-shellwords (quotes group words), not a shell.
        entrypoint: args
            .entrypoint
            .as_ref()
            .map(|e| crate::compose::syntax::split_command(e).map(|(words, _)| words))
            .transpose()
            .map_err(|e| anyhow::anyhow!("invalid --entrypoint: {e}"))?,
        env: args.env.clone(),
        labels,
        volumes,
        publish,
        name: args.name.clone(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        rm: args.rm,
        detach: args.detach,
        no_deps: args.no_deps,
        service_ports: args.service_ports,
        use_aliases: args.use_aliases,
        tty: !args.no_tty && !args.detach && terminal::interactive(),
        interactive: args.interactive && !args.detach,
        images,
    };
    let deps_up = up::Options {
        images,
        reload: super::reload_of(global),
        progress: global.progress.into(),
        ..Default::default()
    };
    super::runtime()?.block_on(run::run(Arc::new(project), &options, &deps_up, style))
}
