//! A list of containers as `docker compose ps` prints it: a table, JSON
//! lines, or a Go-style `--format` template.

use std::collections::BTreeSet;

use bollard::models::ContainerSummary;
use serde_json::json;

use crate::engine::containers;

/// What to print of each container.
#[derive(Debug, Clone, Copy)]
pub enum Listing<'a> {
    /// The services' names, once each (`--services`).
    Services,
    /// The container ids (`-q`).
    Ids,
    /// `table`, `json` or a template (`--format`).
    Format(&'a str),
}

/// The text `ps` prints for these containers; a bad `--format` template is
/// an error, worded as docker compose words it.
pub fn render(list: &[ContainerSummary], listing: Listing<'_>, now: i64) -> Result<String, String> {
    let format = match listing {
        Listing::Services => {
            let names: BTreeSet<&str> = list.iter().map(containers::service).collect();
            return Ok(names.into_iter().map(|n| format!("{n}\n")).collect());
        }
        Listing::Ids => {
            return Ok(list.iter().map(|c| format!("{}\n", containers::id(c))).collect());
        }
        Listing::Format(f) => f,
    };
    match format {
        // docker compose's own default, through the same writer.
        "table" => templated(
            list,
            "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}",
            now,
        ),
        "json" => Ok(list.iter().map(|c| format!("{}\n", json_row(c, now))).collect()),
        template => templated(list, template, now),
    }
}

/// One piece of a `--format` template.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    /// `{{.Field}}`
    Field(String),
    /// `{{json .}}` or `{{json .Field}}`
    Json(Option<String>),
}

/// Parses the subset of Go templates `ps --format` is used with: text,
/// `{{.Field}}` and `{{json .}}` / `{{json .Field}}`; `table` in front asks
/// for a header row and aligned columns. `\t` and `\n` are read as docker reads them.
/// `.Name` -> `Name`.
fn field_name(s: &str) -> Option<&str> {
    s.strip_prefix('.')
        .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

fn parse_template(format: &str) -> Result<(bool, Vec<Piece>), String> {
    let (table, body) = match format.strip_prefix("table") {
        Some(rest) if rest.is_empty() || rest.starts_with(' ') => (true, rest),
        _ => (false, format),
    };
    let body = body.trim_matches(' ').replace("\\t", "\t").replace("\\n", "\n");
    let mut pieces = Vec::new();
    let mut rest = body.as_str();
    let mut col = 1;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        col += open;
        let Some(close) = rest[open..].find("}}") else {
            return Err("template parsing error: template: :1: unclosed action".into());
        };
        let action = rest[open + 2..open + close].trim();
        let piece = match action.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["json", "."] => Piece::Json(None),
            ["json", f] if field_name(f).is_some() => Piece::Json(field_name(f).map(String::from)),
            [f] if field_name(f).is_some() => {
                Piece::Field(field_name(f).unwrap_or_default().to_string())
            }
            _ => {
                return Err(format!(
                    "template parsing error: template: :1:{}: unsupported action {{{{{action}}}}}",
                    col + 2
                ));
            }
        };
        pieces.push(piece);
        rest = &rest[open + close + 2..];
        col += close + 2;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok((table, pieces))
}

/// A field of docker compose's container context, as its formatter prints it.
fn field(c: &ContainerSummary, name: &str, now: i64) -> Option<String> {
    let created = c.created.unwrap_or(now);
    Some(match name {
        "ID" => containers::id(c).chars().take(12).collect(),
        "Name" | "Names" => containers::name(c),
        "Service" => containers::service(c).to_string(),
        "Project" => {
            containers::label(c, crate::engine::labels::PROJECT).unwrap_or_default().to_string()
        }
        "Image" => c.image.clone().unwrap_or_default(),
        "Command" => format!("\"{}\"", truncate(c.command.as_deref().unwrap_or_default(), 20)),
        "State" => c.state.map(|s| s.to_string()).unwrap_or_default(),
        "Status" => c.status.clone().unwrap_or_default(),
        "Health" => health(c),
        "ExitCode" => exit_code(c).to_string(),
        "Ports" => ports(c),
        "Publishers" => publishers(c).to_string(),
        "CreatedAt" => chrono::DateTime::from_timestamp(created, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
            .unwrap_or_default(),
        "RunningFor" => crate::ui::time::ago(now - created),
        "Labels" => {
            let mut l: Vec<String> =
                c.labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
            l.sort();
            l.join(",")
        }
        "Networks" => {
            let nets = c.network_settings.as_ref().and_then(|n| n.networks.as_ref());
            nets.map(|n| n.keys().cloned().collect::<Vec<_>>().join(",")).unwrap_or_default()
        }
        "Mounts" => c
            .mounts
            .iter()
            .flatten()
            .map(|m| {
                truncate(
                    m.name
                        .as_deref()
                        .filter(|n| !n.is_empty())
                        .or(m.source.as_deref())
                        .unwrap_or_default(),
                    15,
                )
            })
            .collect::<Vec<_>>()
            .join(","),
        "LocalVolumes" => c
            .mounts
            .iter()
            .flatten()
            .filter(|m| m.driver.as_deref() == Some("local"))
            .count()
            .to_string(),
        _ => return None,
    })
}

/// healthy, unhealthy, starting, or nothing: from the list entry where the
/// engine gives it, else from its status text ("Up 5 seconds (healthy)"), as
/// API 1.41 lists no health.
fn health(c: &ContainerSummary) -> String {
    if let Some(h) = c
        .health
        .as_ref()
        .and_then(|h| h.status)
        .map(|s| s.to_string())
        .filter(|s| s != "none" && !s.is_empty())
    {
        return h;
    }
    let status = c.status.as_deref().unwrap_or_default();
    for (shown, health) in
        [("(healthy)", "healthy"), ("(unhealthy)", "unhealthy"), ("(health: starting)", "starting")]
    {
        if status.ends_with(shown) {
            return health.into();
        }
    }
    String::new()
}

/// The exit code an exited container's status shows, else 0.
fn exit_code(c: &ContainerSummary) -> i64 {
    let status = c.status.as_deref().unwrap_or_default();
    status
        .strip_prefix("Exited (")
        .and_then(|s| s.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The header docker compose's table prints for a field ("<no value>" where it has none).
fn header(name: &str) -> &'static str {
    match name {
        "ID" => "CONTAINER ID",
        "Name" => "NAME",
        "Names" => "NAMES",
        "Service" => "SERVICE",
        "Project" => "PROJECT",
        "Image" => "IMAGE",
        "Command" => "COMMAND",
        "State" => "STATE",
        "Status" => "STATUS",
        "Ports" => "PORTS",
        "CreatedAt" => "CREATED AT",
        "RunningFor" => "CREATED",
        "Labels" => "LABELS",
        "Networks" => "NETWORKS",
        "Mounts" => "MOUNTS",
        "LocalVolumes" => "LOCAL VOLUMES",
        _ => "<no value>",
    }
}

fn templated(list: &[ContainerSummary], format: &str, now: i64) -> Result<String, String> {
    let (table, pieces) = parse_template(format)?;
    let render_one = |c: &ContainerSummary| -> Result<String, String> {
        let mut out = String::new();
        for p in &pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) | Piece::Json(Some(f)) => {
                    let v = field(c, f, now).ok_or_else(|| {
                        format!("template parsing error: template: :1: executing \"\" at <.{f}>: can't evaluate field {f} in type *formatter.ContainerContext")
                    })?;
                    match p {
                        Piece::Json(_) if f == "Publishers" => out.push_str(&v),
                        Piece::Json(_) => out.push_str(&serde_json::Value::String(v).to_string()),
                        _ => out.push_str(&v),
                    }
                }
                Piece::Json(None) => out.push_str(&json_row(c, now).to_string()),
            }
        }
        Ok(out)
    };
    let mut lines = Vec::new();
    if table {
        let mut head = String::new();
        for p in &pieces {
            match p {
                Piece::Text(t) => head.push_str(t),
                Piece::Field(f) | Piece::Json(Some(f)) => head.push_str(header(f)),
                Piece::Json(None) => head.push_str("<no value>"),
            }
        }
        lines.push(head);
    }
    for c in list {
        lines.push(render_one(c)?);
    }
    if !table {
        return Ok(lines.into_iter().map(|l| l + "\n").collect());
    }
    Ok(aligned(&lines))
}

/// Tab-separated cells aligned as docker's tabwriter aligns them (width at
/// least 10, 3 spaces of padding, the last cell of a line as it is).
/// Cells in columns as Go's tabwriter writes them for docker compose: each
/// column as wide as its widest cell plus `pad`, at least `min`; the last
/// column is not padded. `top` uses (4, 2), `ls` (20, 3), `ps` (10, 3).
pub fn columns(rows: &[Vec<String>], min: usize, pad: usize) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate().take(r.len().saturating_sub(1)) {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max((cell.chars().count() + pad).max(min));
        }
    }
    let mut out = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

/// Tab-separated lines in columns, as docker's table formatter writes them
/// (minimum width 10, padding 3).
fn aligned(lines: &[String]) -> String {
    let rows: Vec<Vec<String>> =
        lines.iter().map(|l| l.split('\t').map(String::from).collect()).collect();
    columns(&rows, 10, 3)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
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

/// The publishers of a container: its published ports, as compose lists them.
fn publishers(c: &ContainerSummary) -> serde_json::Value {
    c.ports
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|p| json!({"URL": p.ip.clone().unwrap_or_default(), "TargetPort": p.private_port, "PublishedPort": p.public_port.unwrap_or(0), "Protocol": p.typ.map(|t| t.to_string()).unwrap_or_default()}))
        .collect()
}

/// One container as `ps --format json` prints it: docker compose's fields,
/// the same text as `--format '{{.Field}}'` gives (ExitCode a number).
fn json_row(c: &ContainerSummary, now: i64) -> serde_json::Value {
    const FIELDS: [&str; 17] = [
        "Command",
        "CreatedAt",
        "Health",
        "ID",
        "Image",
        "Labels",
        "LocalVolumes",
        "Mounts",
        "Name",
        "Names",
        "Networks",
        "Ports",
        "Project",
        "RunningFor",
        "Service",
        "State",
        "Status",
    ];
    let mut row = serde_json::Map::new();
    for f in FIELDS {
        row.insert(f.to_string(), field(c, f, now).unwrap_or_default().into());
    }
    row.insert("ExitCode".into(), exit_code(c).into());
    row.insert("Publishers".into(), publishers(c));
    row.insert("Size".into(), "0B".into());
    serde_json::Value::Object(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_as_docker_reads_them() {
        let (table, pieces) = parse_template("table {{.Name}}\\t{{ json .Publishers }}").unwrap();
        assert!(table);
        assert_eq!(
            pieces,
            [
                Piece::Field("Name".into()),
                Piece::Text("\t".into()),
                Piece::Json(Some("Publishers".into()))
            ]
        );
        let (table, pieces) = parse_template("tablet {{json .}}").unwrap();
        assert!(!table);
        assert_eq!(pieces, [Piece::Text("tablet ".into()), Piece::Json(None)]);
        assert!(parse_template("{{.Name").unwrap_err().contains("unclosed action"));
        assert!(
            parse_template("{{printf \"%s\" .Name}}").unwrap_err().contains("unsupported action")
        );
        assert_eq!(
            aligned(&["NAME\tSERVICE\tSTATUS".into(), "rdep-other-1\tother\tUp".into()]),
            "NAME           SERVICE   STATUS\nrdep-other-1   other     Up\n"
        );
    }

    #[test]
    fn ages() {
        assert_eq!(crate::ui::time::ago(0), "Less than a second ago");
        assert_eq!(crate::ui::time::ago(1), "1 second ago");
        assert_eq!(crate::ui::time::ago(5), "5 seconds ago");
        assert_eq!(crate::ui::time::ago(60), "About a minute ago");
        assert_eq!(crate::ui::time::ago(119), "About a minute ago");
        assert_eq!(crate::ui::time::ago(150), "2 minutes ago");
        assert_eq!(crate::ui::time::ago(3599), "59 minutes ago");
        assert_eq!(crate::ui::time::ago(3600), "About an hour ago");
        assert_eq!(crate::ui::time::ago(5399), "About an hour ago");
        assert_eq!(crate::ui::time::ago(5400), "2 hours ago");
        assert_eq!(crate::ui::time::ago(47 * 3600), "47 hours ago");
        assert_eq!(crate::ui::time::ago(48 * 3600), "2 days ago");
        assert_eq!(crate::ui::time::ago(14 * 86_400), "2 weeks ago");
        assert_eq!(crate::ui::time::ago(60 * 86_400), "2 months ago");
        assert_eq!(crate::ui::time::ago(730 * 86_400), "2 years ago");
    }
}
