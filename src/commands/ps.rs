//! `rcompose ps`: the project's containers, as docker compose lists them.

use std::collections::BTreeSet;

use bollard::models::ContainerSummary;
use serde_json::json;

use crate::cli::{GlobalOpts, PsArgs, PsFormat};
use crate::engine::{Engine, containers};
use crate::ui::Style;

pub fn run(global: &GlobalOpts, args: &PsArgs, style: &Style) -> anyhow::Result<i32> {
    let Some(project) = super::load_for(global, &[], style) else {
        return Ok(1);
    };
    let list = super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        containers::list(&engine, &project.name, args.all || !args.status.is_empty()).await
    })?;
    let mut list = list;
    list.extend(super::builtin::summaries(&project, &crate::proxy::compose::proxy_services(&project, false), args.all));
    let list: Vec<ContainerSummary> = list
        .into_iter()
        .filter(|c| args.service_names.is_empty() || args.service_names.iter().any(|s| s == containers::service(c)))
        .filter(|c| args.status.is_empty() || args.status.iter().any(|s| c.state.map(|st| st.to_string()) == Some(s.clone())))
        .collect();
    print!("{}", render(&list, args, chrono::Utc::now().timestamp()));
    Ok(0)
}

/// The text `ps` prints for these containers.
pub fn render(list: &[ContainerSummary], args: &PsArgs, now: i64) -> String {
    if args.services {
        let names: BTreeSet<&str> = list.iter().map(containers::service).collect();
        return names.into_iter().map(|n| format!("{n}\n")).collect();
    }
    if args.quiet {
        return list.iter().map(|c| format!("{}\n", containers::id(c))).collect();
    }
    if args.format == PsFormat::Json {
        return list.iter().map(|c| format!("{}\n", json_row(c))).collect();
    }
    let headers = ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"];
    let rows: Vec<[String; 7]> = list
        .iter()
        .map(|c| {
            [
                containers::name(c),
                c.image.clone().unwrap_or_default(),
                format!("\"{}\"", truncate(c.command.as_deref().unwrap_or_default(), 20)),
                containers::service(c).to_string(),
                ago(now - c.created.unwrap_or(now)),
                c.status.clone().unwrap_or_default(),
                ports(c),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}   "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&headers.map(String::from));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).collect::<String>() + "…" }
}

/// `2 minutes ago`, as docker prints ages.
pub fn ago(secs: i64) -> String {
    let s = secs.max(0);
    let (n, unit) = match s {
        0..=59 => (s, "second"),
        60..=3599 => (s / 60, "minute"),
        3600..=86_399 => (s / 3600, "hour"),
        86_400..=1_209_599 => (s / 86_400, "day"),
        _ => (s / 604_800, "week"),
    };
    match n {
        0 | 1 if unit == "second" => "Less than a second ago".into(),
        1 if unit == "hour" => "About an hour ago".into(),
        1 => format!("1 {unit} ago"),
        _ => format!("{n} {unit}s ago"),
    }
}

/// `0.0.0.0:1000->80/tcp, :::1000->80/tcp`.
pub fn ports(c: &ContainerSummary) -> String {
    let mut items: Vec<String> = c
        .ports
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let proto = p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into());
            match (p.ip.as_deref(), p.public_port) {
                (Some(ip), Some(public)) => {
                    let ip = if ip.contains(':') { format!("[{ip}]") } else { ip.to_string() };
                    format!("{ip}:{public}->{}/{proto}", p.private_port)
                }
                _ => format!("{}/{proto}", p.private_port),
            }
        })
        .collect();
    items.sort();
    items.dedup();
    items.join(", ")
}

fn json_row(c: &ContainerSummary) -> serde_json::Value {
    let publishers: Vec<serde_json::Value> = c
        .ports
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|p| json!({"URL": p.ip, "TargetPort": p.private_port, "PublishedPort": p.public_port.unwrap_or(0), "Protocol": p.typ.map(|t| t.to_string())}))
        .collect();
    json!({
        "ID": containers::id(c),
        "Name": containers::name(c),
        "Image": c.image,
        "Command": c.command,
        "Project": containers::label(c, crate::engine::labels::PROJECT),
        "Service": containers::service(c),
        "Created": c.created,
        "State": c.state.map(|s| s.to_string()),
        "Status": c.status,
        "Health": c.health.as_ref().and_then(|h| h.status).map(|s| s.to_string()).unwrap_or_default(),
        "Ports": ports(c),
        "Publishers": publishers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(ago(0), "Less than a second ago");
        assert_eq!(ago(5), "5 seconds ago");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(150), "2 minutes ago");
        assert_eq!(ago(3600), "About an hour ago");
        assert_eq!(ago(7200), "2 hours ago");
    }
}
