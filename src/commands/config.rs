//! `rcompose config`: validate the project and print it normalized, as
//! `docker compose config` does.

use std::collections::BTreeSet;

use anyhow::Context;
use serde_json::Value;

use crate::cli::{ConfigArgs, ConfigFormat, GlobalOpts};
use crate::compose::Project;
use crate::compose::graph::DepGraph;
use crate::ui::Style;

pub fn run(global: &GlobalOpts, args: &ConfigArgs, style: &Style) -> anyhow::Result<i32> {
    let mut project = load_selected(global, &args.service_names, args.no_interpolate, style)?;
    for name in crate::orchestrate::builtin::proxy_services(&project, false) {
        if let Some(svc) = project.services.get_mut(&name) {
            svc.x_rcompose.get_or_insert_with(Default::default).builtin_proxy = Some(true);
        }
    }
    if args.quiet {
        return Ok(0);
    }
    let text = render(&project, args)?;
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(0)
}

/// The project to print or convert: the named services (all when none
/// are) and their dependencies, with build contexts not required to exist.
pub fn load_selected(
    global: &GlobalOpts,
    services: &[String],
    no_interpolate: bool,
    style: &Style,
) -> anyhow::Result<Project> {
    let mut opts = super::load_options(global);
    opts.services = services.to_vec();
    opts.no_interpolate = no_interpolate;
    opts.print_only = true;
    let mut project = super::load_project(&opts, style)?.project;
    if !services.is_empty() {
        let keep =
            DepGraph::new(&project.services).with_dependencies(services.iter().map(String::as_str));
        project.services.retain(|name, _| keep.contains(name));
    }
    Ok(project)
}

/// The text `config` prints for these flags.
pub fn render(project: &Project, args: &ConfigArgs) -> anyhow::Result<String> {
    let lines = |items: Vec<String>| items.into_iter().map(|s| s + "\n").collect::<String>();
    if args.services {
        let all: BTreeSet<String> = project.services.keys().cloned().collect();
        return Ok(lines(DepGraph::new(&project.services).levels(&all).concat()));
    }
    if args.volumes {
        return Ok(lines(project.volumes.keys().cloned().collect()));
    }
    if args.networks {
        return Ok(lines(project.networks.keys().cloned().collect()));
    }
    if let Some(wanted) = args.hash.as_deref().filter(|h| !h.is_empty()) {
        let names: BTreeSet<&str> = if wanted == "*" {
            project.services.keys().map(String::as_str).collect()
        } else {
            wanted.split(',').map(str::trim).collect()
        };
        let mut out = Vec::new();
        for name in names {
            let svc = project
                .services
                .get(name)
                .ok_or_else(|| anyhow::anyhow!("no such service: {name}"))?;
            out.push(format!("{name} {}", crate::engine::config_hash::config_hash(svc)));
        }
        return Ok(lines(out));
    }
    if args.images {
        return Ok(lines(project.services.values().map(|s| project.image_for(s)).collect()));
    }
    if args.profiles {
        let all: BTreeSet<String> = project
            .services
            .values()
            .chain(project.disabled.values())
            .flat_map(|s| s.profiles.iter().cloned())
            .collect();
        return Ok(lines(all.into_iter().collect()));
    }
    let value = to_value(project)?;
    Ok(match args.format {
        ConfigFormat::Json => serde_json::to_string_pretty(&value)? + "\n",
        ConfigFormat::Yaml => {
            crate::compose::yaml::to_string(&value).map_err(anyhow::Error::msg)?
        }
    })
}

/// The project as data, with `$` escaped as `$$` so the output can be read again.
pub fn to_value(project: &Project) -> anyhow::Result<Value> {
    let mut v = serde_json::to_value(project)?;
    escape_dollars(&mut v);
    Ok(v)
}

fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Array(items) => items.iter_mut().for_each(escape_dollars),
        Value::Object(map) => map.values_mut().for_each(escape_dollars),
        _ => {}
    }
}
