//! Streaming containers' output with `service  | ` prefixes.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures::StreamExt;

use super::Engine;

/// docker compose's palette for log prefixes, in the order services get it.
pub const PALETTE: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/// Writes lines from several sources to standard output without interleaving
/// inside a line, each with its source's prefix.
#[derive(Clone)]
pub struct LogPrinter {
    inner: Arc<Mutex<Printer>>,
}

struct Printer {
    width: usize,
    color: bool,
    prefix: bool,
    out: Box<dyn Write + Send>,
}

impl LogPrinter {
    pub fn new(width: usize, color: bool, prefix: bool) -> Self {
        Self::to_writer(width, color, prefix, Box::new(std::io::stdout()))
    }

    pub fn to_writer(width: usize, color: bool, prefix: bool, out: Box<dyn Write + Send>) -> Self {
        LogPrinter { inner: Arc::new(Mutex::new(Printer { width, color, prefix, out })) }
    }

    /// The color index for a name, stable within a run: the `index`th service gets `PALETTE[index]`.
    pub fn line(&self, name: &str, color_index: usize, text: &str) {
        let mut p = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let line = if p.prefix {
            let padded = format!("{name:<width$} | ", width = p.width);
            if p.color {
                format!("\x1b[{}m{padded}\x1b[0m{text}\n", PALETTE[color_index % PALETTE.len()])
            } else {
                format!("{padded}{text}\n")
            }
        } else {
            format!("{text}\n")
        };
        crate::ui::progress::above(|| {
            let _ = p.out.write_all(line.as_bytes());
            let _ = p.out.flush();
        });
    }

    /// What happened to a container, not what it said: `web-1 exited with
    /// code 0`, its name in its color and no bar, as docker compose writes it.
    pub fn event(&self, name: &str, color_index: usize, text: &str) {
        let mut p = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let line = if p.color {
            format!("\x1b[{}m{name}\x1b[0m {text}\n", PALETTE[color_index % PALETTE.len()])
        } else {
            format!("{name} {text}\n")
        };
        crate::ui::progress::above(|| {
            let _ = p.out.write_all(line.as_bytes());
            let _ = p.out.flush();
        });
    }

    /// A line of rcompose's own, without a prefix.
    pub fn plain(&self, text: &str) {
        let mut p = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(p.out, "{text}");
        let _ = p.out.flush();
    }
}

/// Options for one container's log stream.
#[derive(Debug, Clone, Default)]
pub struct StreamOpts {
    pub follow: bool,
    pub tail: Option<String>,
    pub since: i64,
    pub until: i64,
    pub timestamps: bool,
    /// Following, lines stamped at or before this are left out: `since` is
    /// whole seconds, and a second is long enough for another run's output.
    pub after: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// How long a followed stream waits for the engine to come back before it gives up.
pub const RECONNECT_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Streams a container's output (stdout and stderr demultiplexed) as prefixed lines until it ends.
///
/// When following, a stream cut while the container still runs (the engine
/// restarting, say) resumes from the last line printed: lines carry the
/// engine's timestamps internally, so nothing is lost or printed twice.
pub async fn stream(
    engine: &Engine,
    container: &str,
    name: &str,
    color_index: usize,
    opts: &StreamOpts,
    printer: &LogPrinter,
) {
    let mut since = opts.since;
    let mut tail = opts.tail.clone().unwrap_or_else(|| "all".into());
    let mut last: Option<chrono::DateTime<chrono::FixedOffset>> = opts.after;
    let began = chrono::Utc::now();
    loop {
        let options = LogsOptions {
            follow: opts.follow,
            stdout: true,
            stderr: true,
            since: i32::try_from(since).unwrap_or(i32::MAX),
            until: i32::try_from(opts.until).unwrap_or(i32::MAX),
            timestamps: opts.timestamps || opts.follow,
            tail: tail.clone(),
        };
        let mut s = engine.docker.logs(container, Some(options));
        let mut partial: Vec<u8> = Vec::new();
        let mut line_time = None;
        while let Some(item) = s.next().await {
            let mut bytes = match item {
                Ok(
                    LogOutput::StdOut { message }
                    | LogOutput::StdErr { message }
                    | LogOutput::Console { message }
                    | LogOutput::StdIn { message },
                ) => message,
                Err(_) => break,
            };
            if opts.follow {
                // Each frame starts with its timestamp: `2026-11-23T00:10:01.123456789Z text`.
                let (time, rest) = split_timestamp(&bytes);
                if time.is_some() && last.is_some() && time <= last {
                    continue;
                }
                if time.is_some() {
                    line_time = time;
                }
                if !opts.timestamps {
                    bytes = rest;
                }
            }
            partial.extend_from_slice(&bytes);
            while let Some(pos) = partial.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = partial.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]);
                printer.line(name, color_index, text.trim_end_matches('\r'));
                last = line_time.or(last);
            }
        }
        if !partial.is_empty() {
            printer.line(name, color_index, &String::from_utf8_lossy(&partial));
            last = line_time.or(last);
        }
        // A container that restarted meanwhile is followed by a new stream
        // (its start event), so only the same run resumes here.
        if !opts.follow
            || still_running(engine, container, name).await.is_none_or(|started| started >= began)
        {
            return;
        }
        if let Some(t) = last {
            since = t.timestamp();
            tail = "all".into();
        }
    }
}

/// The engine timestamp at the start of a frame, and the frame without it.
fn split_timestamp(
    frame: &bytes::Bytes,
) -> (Option<chrono::DateTime<chrono::FixedOffset>>, bytes::Bytes) {
    let Some(space) = frame.iter().take(40).position(|b| *b == b' ') else {
        return (None, frame.clone());
    };
    let time = std::str::from_utf8(&frame[..space])
        .ok()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    match time {
        Some(t) => (Some(t), frame.slice(space + 1..)),
        None => (None, frame.clone()),
    }
}

/// After a followed stream ended: when the container still runs, when its
/// current run started. Waits for an engine that went away to come back.
async fn still_running(
    engine: &Engine,
    container: &str,
    name: &str,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let start = std::time::Instant::now();
    let mut told = false;
    let mut backoff = std::time::Duration::from_millis(100);
    loop {
        match engine
            .docker
            .inspect_container(
                container,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Ok(info) => {
                if told {
                    eprintln!("{name}: the engine is back; resuming its log");
                }
                let state = info.state?;
                if state.running != Some(true) {
                    return None;
                }
                return state
                    .started_at
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.to_utc());
            }
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                return None;
            }
            Err(e) => {
                if start.elapsed() > RECONNECT_LIMIT {
                    eprintln!(
                        "{name}: gave up following the log: the engine at {} is unreachable: {e}",
                        engine.host
                    );
                    return None;
                }
                if !told {
                    eprintln!("{name}: lost the engine at {} ({e}); reconnecting", engine.host);
                    told = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(2));
            }
        }
    }
}
