//! `rcompose events`: the engine's container events of the project, as
//! docker compose prints them (text, or JSON with `--json`).

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::EventsOptions;
use futures::StreamExt;

use crate::cli::{EventsArgs, GlobalOpts};
use crate::engine::{Engine, engine_message, labels};
use crate::ui::Style;

pub fn run(global: &GlobalOpts, args: &EventsArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, &args.services, style)?;
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("label".to_string(), vec![labels::project_filter(&project.name)]),
        ]);
        let opts = EventsOptions {
            since: args.since.clone(),
            until: args.until.clone(),
            filters: Some(filters),
        };
        let mut stream = engine.docker.events(Some(opts));
        while let Some(ev) = stream.next().await {
            let ev = ev.map_err(|e| anyhow::anyhow!("{}", engine_message(&e)))?;
            let actor = ev.actor.unwrap_or_default();
            let all = actor.attributes.unwrap_or_default();
            let service = all.get(labels::SERVICE).cloned().unwrap_or_default();
            if !args.services.is_empty() && !args.services.contains(&service) {
                continue;
            }
            // Compose's labels are left out, as docker compose leaves them (other labels stay).
            let attributes: BTreeMap<String, String> =
                all.into_iter().filter(|(k, _)| !k.starts_with("com.docker.compose.")).collect();
            let nanos = ev.time_nano.unwrap_or_default();
            let time = chrono::DateTime::from_timestamp_nanos(nanos);
            let id = actor.id.unwrap_or_default();
            let action = ev.action.unwrap_or_default();
            if args.json {
                let mut t = time.format("%Y-%m-%dT%H:%M:%S%.9f").to_string();
                // RFC 3339 with nanoseconds, trailing zeros dropped, as Go writes it.
                while t.ends_with('0') {
                    t.pop();
                }
                let t = format!("{}Z", t.trim_end_matches('.'));
                let v = serde_json::json!({
                    "action": action, "attributes": attributes, "id": id,
                    "service": service, "time": t, "type": "container",
                });
                println!("{v}");
            } else {
                let attrs: Vec<String> =
                    attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
                // docker compose prints a line and then an empty one.
                println!(
                    "{} container {action} {id} ({})\n",
                    time.format("%Y-%m-%d %H:%M:%S%.6f"),
                    attrs.join(", ")
                );
            }
        }
        Ok(0)
    })
}
