//! `rcompose ls`: the compose projects on this engine, by the labels both
//! tools write, with their containers' states and files.

use std::collections::BTreeMap;

use crate::cli::LsArgs;
use crate::engine::{Engine, labels};
use crate::failure::Failure;

pub fn run(args: &LsArgs) -> anyhow::Result<i32> {
    let mut name_filters = Vec::new();
    for f in &args.filter {
        match f.split_once('=') {
            Some(("name", v)) => name_filters.push(v.to_string()),
            _ => {
                return Err(Failure::Each(vec![format!(
                    "invalid filter {f:?}: only name=TEXT is known"
                )])
                .into());
            }
        }
    }
    let list = super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let filters = std::collections::HashMap::from([(
            "label".to_string(),
            vec![labels::PROJECT.to_string()],
        )]);
        let opts = bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        engine
            .docker
            .list_containers(Some(opts))
            .await
            .map_err(|e| anyhow::anyhow!("{}", crate::engine::engine_message(&e)))
    })?;
    // Project -> state -> count, and the config files its containers name.
    let mut projects: BTreeMap<String, (BTreeMap<String, usize>, Vec<String>)> = BTreeMap::new();
    for c in &list {
        let l = c.labels.clone().unwrap_or_default();
        let Some(name) = l.get(labels::PROJECT) else { continue };
        // Without -a, as docker compose: only running containers are counted at all.
        let running = c.state == Some(bollard::models::ContainerSummaryStateEnum::RUNNING);
        if !args.all && !running {
            continue;
        }
        let e = projects.entry(name.clone()).or_default();
        let state = c.state.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into());
        *e.0.entry(state).or_default() += 1;
        for f in l.get(labels::CONFIG_FILES).into_iter().flat_map(|f| f.split(',')) {
            if !f.is_empty() && !e.1.iter().any(|x| x == f) {
                e.1.push(f.to_string());
            }
        }
    }
    let rows: Vec<(String, String, String)> = projects
        .into_iter()
        .filter(|(name, _)| name_filters.iter().all(|f| name.contains(f.as_str())))
        .map(|(name, (states, files))| {
            let status: Vec<String> = states.iter().map(|(s, n)| format!("{s}({n})")).collect();
            (name, status.join(", "), files.join(","))
        })
        .collect();
    if args.quiet {
        for (name, _, _) in &rows {
            println!("{name}");
        }
    } else if args.format == "json" {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(n, s, f)| serde_json::json!({ "Name": n, "Status": s, "ConfigFiles": f }))
            .collect();
        println!("{}", serde_json::Value::Array(v));
    } else {
        let mut lines = vec![vec!["NAME".to_string(), "STATUS".into(), "CONFIG FILES".into()]];
        lines.extend(rows.into_iter().map(|(n, s, f)| vec![n, s, f]));
        print!("{}", crate::ui::container_list::columns(&lines, 20, 3));
    }
    Ok(0)
}
