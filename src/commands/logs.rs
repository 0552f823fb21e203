//! `rcompose logs`: containers' output with service prefixes; with `-f` it
//! follows, and picks up containers that start or restart meanwhile.

use std::collections::BTreeSet;

use crate::cli::{GlobalOpts, LogsArgs};
use crate::compose::syntax::parse_duration;
use crate::engine::events::{Action, EventHub};
use crate::engine::logs::{LogPrinter, StreamOpts};
use crate::engine::{Engine, containers};
use crate::orchestrate::follow::Streams;
use crate::ui::Style;

/// How long `logs -f` waits, once every container it follows has exited,
/// for one to be started again before it ends.
const RESTART_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// `--since`/`--until`: RFC 3339, a Unix time, or a duration ago (`42m`).
#[expect(
    clippy::cast_possible_truncation,
    reason = "a float cast saturates, as a timestamp should"
)]
pub fn parse_time(s: &str, now: i64) -> anyhow::Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Ok(secs as i64);
    }
    if let Ok(d) = parse_duration(s) {
        return Ok(now - d.as_secs() as i64);
    }
    anyhow::bail!(
        "invalid time {s:?}: use a timestamp like 2026-01-02T15:04:05Z, a Unix time, or a duration like 42m"
    )
}

pub fn run(global: &GlobalOpts, args: &LogsArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, &[], style)?;
    let now = chrono::Utc::now().timestamp();
    let since = args.since.as_deref().map(|s| parse_time(s, now)).transpose()?.unwrap_or(0);
    let until = args.until.as_deref().map(|s| parse_time(s, now)).transpose()?.unwrap_or(0);
    let wanted: BTreeSet<String> = if args.services.is_empty() {
        project.services.keys().cloned().collect()
    } else {
        args.services.iter().cloned().collect()
    };
    for s in &wanted {
        if !project.services.contains_key(s) {
            anyhow::bail!("no such service: {s}");
        }
    }
    let order: Vec<String> = project.services.keys().cloned().collect();
    let sopts = StreamOpts {
        follow: args.follow,
        tail: args.tail.clone(),
        since,
        until,
        timestamps: args.timestamps,
        after: None,
    };
    super::runtime()?.block_on(async move {
        let engine = Engine::connect().await?;
        let hub = args.follow.then(|| EventHub::subscribe(&engine, &project.name));
        let listed_at = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        let list = containers::list(&engine, &project.name, true).await?;
        let listed: std::collections::HashSet<String> = list.iter().map(containers::id).collect();
        let (shown, proxies) = sources(&project, &list, &wanted);
        // Wide enough for what runs now (a `--scale` may have made more than
        // the file says) and for what the file says may start.
        let width = shown
            .iter()
            .map(|s| s.2.len())
            .chain(proxies.iter().map(|p| p.1.len()))
            .fold(containers::prefix_width(&project, &wanted), usize::max);
        let printer = LogPrinter::new(width, style.color && !args.no_color, !args.no_log_prefix);
        let mut streams = Streams::new(engine.clone(), printer.clone(), order);
        for (id, svc, prefix) in shown {
            streams.follow(&id, &svc, prefix, sopts.clone());
        }
        let mut files = Vec::new();
        for (svc, prefix) in proxies {
            let path = crate::orchestrate::builtin::log_file(&project.name, &svc);
            let (p, o, ci) = (printer.clone(), sopts.clone(), streams.color_of(&svc));
            files.push(tokio::spawn(async move { tail_file(&path, &prefix, ci, &o, &p).await }));
        }
        let Some(hub) = hub else {
            streams.wait_all().await;
            for t in files {
                let _ = t.await;
            }
            return Ok(0);
        };
        // As docker compose: -f ends once every followed container has exited
        // (a built-in proxy, a process of its own, keeps it going), and says
        // how each ended.
        let mut running: std::collections::HashSet<String> = list
            .iter()
            .filter(|c| wanted.contains(containers::service(c)) && containers::is_running(c))
            .map(containers::id)
            .collect();
        if running.is_empty() && files.is_empty() {
            streams.wait_all().await;
            return Ok(0);
        }
        let mut rx = hub.receiver();
        // Once the last one has exited: a moment for a restart (a policy's,
        // or `docker restart`) to start it again before following ends.
        let mut ending: Option<tokio::time::Instant> = None;
        loop {
            let until = ending.unwrap_or_else(|| tokio::time::Instant::now() + std::time::Duration::from_secs(3600));
            tokio::select! {
                _ = tokio::time::sleep_until(until), if ending.is_some() => return Ok(0),
                ev = rx.recv() => {
                    let ev = match ev {
                        Ok(ev) => ev,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        // The hub reconnects by itself; closed means it is gone for good.
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => anyhow::bail!("the engine's event stream ended"),
                    };
                    // The hub replays the last second: what happened before the
                    // list to a listed container is in the list already.
                    let replayed = ev.time_nano <= listed_at && listed.contains(&ev.id);
                    if !wanted.contains(&ev.service) || replayed {
                        continue;
                    }
                    match ev.action {
                        Action::Start => {
                            ending = None;
                            running.insert(ev.id.clone());
                            let o = StreamOpts { since: chrono::Utc::now().timestamp(), tail: None, ..sopts.clone() };
                            let prefix = containers::log_prefix(&project, &ev.service, &ev.name);
                            streams.follow(&ev.id, &ev.service, prefix, o);
                        }
                        Action::Die if running.remove(&ev.id) => {
                            // The container's last lines go out before its end is told.
                            streams.finish(&ev.id).await;
                            let name = containers::log_prefix(&project, &ev.service, &ev.name);
                            let code = ev.exit_code.unwrap_or(0);
                            streams.printer().event(&name, streams.color_of(&ev.service), &format!("exited with code {code}"));
                            if running.is_empty() && files.is_empty() {
                                ending = Some(tokio::time::Instant::now() + RESTART_GRACE);
                            }
                        }
                        _ => {}
                    }
                }
                _ = tokio::signal::ctrl_c() => return Ok(130),
            }
        }
    })
}

/// The containers to show (id, service, prefix) and the built-in proxies
/// (service, prefix), which log to a file in the project's state directory
/// under the name of the nginx container they stand in for.
#[expect(clippy::type_complexity, reason = "two lists of plain tuples, named where used")]
fn sources(
    project: &crate::compose::Project,
    list: &[bollard::models::ContainerSummary],
    wanted: &BTreeSet<String>,
) -> (Vec<(String, String, String)>, Vec<(String, String)>) {
    let shown: Vec<(String, String, String)> = list
        .iter()
        .filter(|c| wanted.contains(containers::service(c)))
        .map(|c| {
            let service = containers::service(c);
            let prefix = containers::log_prefix(project, service, &containers::name(c));
            (containers::id(c), service.to_string(), prefix)
        })
        .collect();
    let proxies = crate::orchestrate::builtin::served(project, shown.iter().map(|c| c.1.as_str()))
        .into_iter()
        .filter(|s| wanted.contains(s))
        .map(|s| {
            let prefix = containers::replica_prefix(project, &s, 1);
            (s, prefix)
        })
        .collect();
    (shown, proxies)
}

/// One line of a proxy's log file: `TIME<TAB>text` (a line without a time,
/// such as one written before times were kept, is always shown), held to
/// `--since`/`--until` and shown with its time for `-t`, as a container's.
fn file_line(name: &str, color: usize, line: &str, opts: &StreamOpts, printer: &LogPrinter) {
    let stamped = line
        .split_once('\t')
        .and_then(|(t, rest)| chrono::DateTime::parse_from_rfc3339(t).ok().map(|at| (t, at, rest)));
    let Some((text_time, at, rest)) = stamped else {
        printer.line(name, color, line);
        return;
    };
    let secs = at.timestamp();
    if (opts.since > 0 && secs < opts.since) || (opts.until > 0 && secs >= opts.until) {
        return;
    }
    if opts.timestamps {
        printer.line(name, color, &format!("{text_time} {rest}"));
    } else {
        printer.line(name, color, rest);
    }
}

/// Prints a log file's lines (the last `tail` of them), then follows it as it grows.
async fn tail_file(
    path: &std::path::Path,
    name: &str,
    color: usize,
    opts: &StreamOpts,
    printer: &LogPrinter,
) {
    let text = tokio::fs::read_to_string(path).await.unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let skip = match opts.tail.as_deref().and_then(|t| t.parse::<usize>().ok()) {
        Some(n) => lines.len().saturating_sub(n),
        None => 0,
    };
    for l in &lines[skip..] {
        file_line(name, color, l, opts, printer);
    }
    if !opts.follow {
        return;
    }
    // A file has no event stream; follow it by its length.
    let mut offset = text.len() as u64;
    let mut partial = String::new();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let Ok(meta) = tokio::fs::metadata(path).await else { continue };
        if meta.len() < offset {
            offset = 0;
        }
        if meta.len() == offset {
            continue;
        }
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let Ok(mut f) = tokio::fs::File::open(path).await else { continue };
        if f.seek(std::io::SeekFrom::Start(offset)).await.is_err() {
            continue;
        }
        let mut buf = String::new();
        if f.read_to_string(&mut buf).await.is_err() {
            continue;
        }
        offset += buf.len() as u64;
        partial.push_str(&buf);
        while let Some(pos) = partial.find('\n') {
            let line: String = partial.drain(..=pos).collect();
            file_line(name, color, line.trim_end_matches('\n'), opts, printer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("2026-01-02T00:00:00Z", 0).unwrap(), 1_767_312_000);
        assert_eq!(parse_time("1000", 0).unwrap(), 1000);
        assert_eq!(parse_time("42m", 10_000).unwrap(), 10_000 - 42 * 60);
        assert!(parse_time("yesterday", 0).is_err());
    }
}
