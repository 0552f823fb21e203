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
        let _ = p.out.write_all(line.as_bytes());
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
}

/// Streams a container's output (stdout and stderr demultiplexed) as prefixed lines until it ends.
pub async fn stream(engine: &Engine, container: &str, name: &str, color_index: usize, opts: &StreamOpts, printer: &LogPrinter) {
    let options = LogsOptions {
        follow: opts.follow,
        stdout: true,
        stderr: true,
        since: opts.since as i32,
        until: opts.until as i32,
        timestamps: opts.timestamps,
        tail: opts.tail.clone().unwrap_or_else(|| "all".into()),
    };
    let mut s = engine.docker.logs(container, Some(options));
    let mut partial: Vec<u8> = Vec::new();
    while let Some(item) = s.next().await {
        let bytes = match item {
            Ok(
                LogOutput::StdOut { message }
                | LogOutput::StdErr { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message },
            ) => message,
            Err(_) => break,
        };
        partial.extend_from_slice(&bytes);
        while let Some(pos) = partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = partial.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            printer.line(name, color_index, text.trim_end_matches('\r'));
        }
    }
    if !partial.is_empty() {
        printer.line(name, color_index, &String::from_utf8_lossy(&partial));
    }
}
