//! `rcompose stats`: the project's containers' resource use, computed and
//! printed as `docker stats` does (the same columns, units and JSON
//! fields); `--no-stream` prints once, else the table is redrawn each
//! second until Ctrl-C.

use std::collections::BTreeMap;

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptions;
use futures::StreamExt;

use crate::cli::{GlobalOpts, StatsArgs};
use crate::engine::{Engine, containers};
use crate::ui::Style;

/// One container's line, in docker's field names (its `--format json`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Line {
    #[serde(rename = "BlockIO")]
    block_io: String,
    #[serde(rename = "CPUPerc")]
    cpu_perc: String,
    container: String,
    #[serde(rename = "ID")]
    id: String,
    mem_perc: String,
    mem_usage: String,
    name: String,
    #[serde(rename = "NetIO")]
    net_io: String,
    #[serde(rename = "PIDs")]
    pids: String,
}

pub fn run(global: &GlobalOpts, args: &StatsArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, &args.services, style)?;
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        loop {
            let list = super::containers_of(&engine, &project, &args.services, args.all).await?;
            // One sample each, side by side: the engine takes a second to have two.
            let samples = futures::future::join_all(list.iter().map(|c| {
                let id = containers::id(c);
                let opts = StatsOptions { stream: false, one_shot: false };
                let mut s = engine.docker.stats(&id, Some(opts));
                async move { s.next().await.and_then(Result::ok) }
            }))
            .await;
            let lines: Vec<Line> = list
                .iter()
                .zip(samples)
                .map(|(c, s)| {
                    line(&containers::id(c), &containers::name(c), s.as_ref(), args.no_trunc)
                })
                .collect();
            let text = render(&lines, args.format.as_deref())?;
            if args.no_stream {
                print!("{text}");
                return Ok(0);
            }
            // Redrawn in place on a terminal, as docker stats does; appended off one.
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                print!("\x1b[2J\x1b[H{text}");
            } else {
                print!("{text}");
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                _ = tokio::signal::ctrl_c() => return Ok(130),
            }
        }
    })
}

fn render(lines: &[Line], format: Option<&str>) -> anyhow::Result<String> {
    let mut out = String::new();
    match format.unwrap_or("table") {
        "json" => {
            for l in lines {
                out.push_str(&serde_json::to_string(l)?);
                out.push('\n');
            }
        }
        "table" => {
            let mut rows = vec![
                [
                    "CONTAINER ID",
                    "NAME",
                    "CPU %",
                    "MEM USAGE / LIMIT",
                    "MEM %",
                    "NET I/O",
                    "BLOCK I/O",
                    "PIDS",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for l in lines {
                rows.push(vec![
                    l.id.clone(),
                    l.name.clone(),
                    l.cpu_perc.clone(),
                    l.mem_usage.clone(),
                    l.mem_perc.clone(),
                    l.net_io.clone(),
                    l.block_io.clone(),
                    l.pids.clone(),
                ]);
            }
            out = crate::ui::container_list::columns(&rows, 10, 3);
        }
        template => {
            let template = template.strip_prefix("table ").unwrap_or(template);
            for l in lines {
                out.push_str(&fill(template, l)?);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// A Go template of docker's fields (`{{.Name}}\t{{.CPUPerc}}`), field by field.
fn fill(template: &str, l: &Line) -> anyhow::Result<String> {
    let fields: BTreeMap<String, String> = match serde_json::to_value(l)? {
        serde_json::Value::Object(m) => {
            m.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string())).collect()
        }
        _ => BTreeMap::new(),
    };
    let mut out = String::new();
    let mut rest = template.replace("\\t", "\t").replace("\\n", "\n");
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            anyhow::bail!("template parsing error: unclosed action in {template:?}");
        };
        let name = rest[start + 2..start + end].trim();
        let value = name.strip_prefix('.').and_then(|n| fields.get(n)).ok_or_else(|| {
            anyhow::anyhow!("template: can't evaluate field {name} in {template:?}")
        })?;
        out.push_str(value);
        rest = rest[start + end + 2..].to_string();
    }
    out.push_str(&rest);
    Ok(out)
}

#[expect(clippy::cast_precision_loss, reason = "percentages and sizes are shown rounded")]
fn line(id: &str, name: &str, s: Option<&ContainerStatsResponse>, no_trunc: bool) -> Line {
    let short = if no_trunc { id.to_string() } else { id.chars().take(12).collect() };
    let Some(s) = s.filter(|s| s.read.is_some() || s.cpu_stats.is_some()) else {
        return Line {
            block_io: "--".into(),
            cpu_perc: "--".into(),
            container: short.clone(),
            id: short,
            mem_perc: "--".into(),
            mem_usage: "-- / --".into(),
            name: name.to_string(),
            net_io: "--".into(),
            pids: "--".into(),
        };
    };
    let cpu = s.cpu_stats.as_ref();
    let pre = s.precpu_stats.as_ref();
    let total = |c: Option<&bollard::models::ContainerCpuStats>| {
        c.and_then(|c| c.cpu_usage.as_ref()).and_then(|u| u.total_usage).unwrap_or(0)
    };
    let system = |c: Option<&bollard::models::ContainerCpuStats>| {
        c.and_then(|c| c.system_cpu_usage).unwrap_or(0)
    };
    let cpus = cpu
        .and_then(|c| c.online_cpus.map(u64::from))
        .or_else(|| {
            cpu.and_then(|c| c.cpu_usage.as_ref())
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len() as u64)
        })
        .unwrap_or(1);
    let cpu_delta = total(cpu).saturating_sub(total(pre)) as f64;
    let sys_delta = system(cpu).saturating_sub(system(pre)) as f64;
    let cpu_perc = if cpu_delta > 0.0 && sys_delta > 0.0 {
        cpu_delta / sys_delta * cpus as f64 * 100.0
    } else {
        0.0
    };
    let mem = s.memory_stats.as_ref();
    let limit = mem.and_then(|m| m.limit).unwrap_or(0);
    // As docker: the page cache that can be dropped is not counted as use.
    let usage = mem.and_then(|m| m.usage).unwrap_or(0);
    let cache = mem
        .and_then(|m| m.stats.as_ref())
        .and_then(|st| st.get("total_inactive_file").or_else(|| st.get("inactive_file")).copied())
        .filter(|c| *c < usage)
        .unwrap_or(0);
    let used = usage - cache;
    let mem_perc = if limit > 0 { used as f64 / limit as f64 * 100.0 } else { 0.0 };
    let (rx, tx) = s.networks.as_ref().map_or((0, 0), |n| {
        n.values()
            .fold((0, 0), |(r, t), v| (r + v.rx_bytes.unwrap_or(0), t + v.tx_bytes.unwrap_or(0)))
    });
    let (read, write) = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
        .map_or((0, 0), |entries| {
            entries.iter().fold((0, 0), |(r, w), e| {
                let v = e.value.unwrap_or(0);
                match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("read") => (r + v, w),
                    Some("write") => (r, w + v),
                    _ => (r, w),
                }
            })
        });
    let decimal = |v: u64| crate::ui::time::human_size(i64::try_from(v).unwrap_or(i64::MAX));
    Line {
        block_io: format!("{} / {}", decimal(read), decimal(write)),
        cpu_perc: format!("{cpu_perc:.2}%"),
        container: short.clone(),
        id: short,
        mem_perc: format!("{mem_perc:.2}%"),
        mem_usage: format!("{} / {}", binary_size(used), binary_size(limit)),
        name: name.to_string(),
        net_io: format!("{} / {}", decimal(rx), decimal(tx)),
        pids: s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0).to_string(),
    }
}

/// go-units' BytesSize: binary units, four significant digits (`1.5MiB`, `7.66GiB`).
#[expect(clippy::cast_precision_loss, reason = "four significant digits are shown")]
fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    // %.4g: four significant digits, trailing zeros dropped.
    let digits = if v >= 1000.0 {
        0
    } else if v >= 100.0 {
        1
    } else if v >= 10.0 {
        2
    } else {
        3
    };
    let text = format!("{v:.digits$}");
    let text =
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    format!("{text}{}", UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units_writes_them() {
        assert_eq!(binary_size(0), "0B");
        assert_eq!(binary_size(1536 * 1024), "1.5MiB");
        assert_eq!(binary_size(8_222_793_728), "7.658GiB");
        assert_eq!(binary_size(512), "512B");
    }

    #[test]
    fn templates_take_docker_field_names() {
        let l = line("0123456789abcdef", "p-web-1", None, false);
        assert_eq!(fill("{{.Name}}\\t{{.ID}}", &l).unwrap(), "p-web-1\t0123456789ab");
        assert!(fill("{{.Nope}}", &l).is_err());
        assert!(
            render(std::slice::from_ref(&l), Some("json")).unwrap().contains("\"CPUPerc\":\"--\"")
        );
    }
}
