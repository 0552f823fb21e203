//! Access and error logs. The access line is rendered from the configured
//! `log_format` with nginx's escaping when the response body has been sent.
//!
//! A worker's access lines wait in a buffer of its own and go out in one
//! write(2) per file when the worker runs out of ready work, before it
//! sleeps (or at 32 KiB): under load that is one write for many requests
//! instead of one each, and an idle worker's lines are on disk within
//! microseconds of its answers, as nginx's unbuffered ones are.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use super::FastMap;
use super::config::{AccessLog, Escape, Http, LocConf, LogFormat, LogTarget};
use super::ctx::Ctx;
use super::http::{Body, BoxError, FileBody, FileSent};
use super::tunnel::TunnelEnd;
use super::vars::{RequestVars, Vars};

/// Maps a log path written in the configuration to a host path.
pub type PathFn = Box<dyn Fn(&str) -> Option<PathBuf> + Send + Sync>;
/// Receives whole log lines.
pub type LineFn = Arc<dyn Fn(&str) + Send + Sync>;

/// Where log lines go.
pub enum Sink {
    /// Files named in the configuration, mapped to host paths.
    Files { map: PathFn },
    /// Every line to one function (the foreground of `up`, or a state log file).
    Lines(LineFn),
}

pub struct Logs {
    sink: Sink,
    /// Log path as written in the configuration -> its open file (`None`
    /// when the path maps to nowhere on this host). Looked up per line, so
    /// keyed by the written path: no mapping or joining on the hot path.
    files: Mutex<FastMap<String, Option<Arc<std::fs::File>>>>,
    error_path: Option<PathBuf>,
    error_file: Mutex<Option<std::fs::File>>,
}

/// A log file opened for appending, its directory made if missing.
fn open_append(p: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = p.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::OpenOptions::new().create(true).append(true).open(p)
}

/// Lines a worker has not written yet, per file; only on threads that
/// asked for it ([`batch_this_thread`]), which flush before they sleep.
#[derive(Default)]
struct Batch {
    files: Vec<(Arc<std::fs::File>, Vec<u8>)>,
    bytes: usize,
}

/// Past this, a batch is written at once, busy worker or not.
const BATCH_LIMIT: usize = 32 * 1024;

impl Batch {
    fn push(&mut self, f: &Arc<std::fs::File>, line: &str) {
        let at = match self.files.iter().position(|(g, _)| Arc::ptr_eq(f, g)) {
            Some(i) => i,
            None => {
                self.files.push((f.clone(), Vec::with_capacity(4096)));
                self.files.len() - 1
            }
        };
        let buf = &mut self.files[at].1;
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        self.bytes += line.len() + 1;
        if self.bytes >= BATCH_LIMIT {
            self.flush();
        }
    }

    /// One write(2) per file; O_APPEND keeps each write whole when workers
    /// write at once, so lines are never torn.
    fn flush(&mut self) {
        for (f, buf) in &mut self.files {
            if !buf.is_empty() {
                let _ = (&**f).write_all(buf);
                buf.clear();
            }
        }
        // Files dropped from the configuration (a reload) are let go.
        self.files.retain(|(f, _)| Arc::strong_count(f) > 1);
        self.bytes = 0;
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.flush();
    }
}

thread_local! {
    static BATCH: RefCell<Option<Batch>> = const { RefCell::new(None) };
}

/// Access lines appended on this thread wait for [`flush_thread`], which
/// the thread must call before it sleeps (a proxy worker's runtime does,
/// on park) and when it ends.
pub fn batch_this_thread() {
    BATCH.with(|b| *b.borrow_mut() = Some(Batch::default()));
}

/// Writes this thread's waiting access lines.
pub fn flush_thread() {
    BATCH.with(|b| {
        if let Ok(mut b) = b.try_borrow_mut()
            && let Some(b) = b.as_mut()
        {
            b.flush();
        }
    });
}

/// Appends a line: to this thread's batch when it keeps one, else at once,
/// one write(2) per line as nginx.
fn append(f: &Arc<std::fs::File>, line: &str) {
    let batched = BATCH.with(|b| {
        let Ok(mut b) = b.try_borrow_mut() else { return false };
        b.as_mut().map(|b| b.push(f, line)).is_some()
    });
    if !batched {
        write_line(f, line.to_string());
    }
}

/// One line in one write(2).
fn write_line(mut f: &std::fs::File, mut line: String) {
    line.push('\n');
    let _ = f.write_all(line.as_bytes());
}

/// nginx's default escaping: `"`, `\` and bytes outside printable ASCII as `\xHH`.
pub fn escape_default(s: &str, out: &mut String) {
    // One table load per byte: every value of every access line passes here.
    const SPECIAL: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = b == b'"' as usize || b == b'\\' as usize || b < 0x20 || b >= 0x7f;
            b += 1;
        }
        t
    };
    let special = |b: u8| SPECIAL[b as usize];
    if !s.bytes().any(special) {
        out.push_str(s);
        return;
    }
    for b in s.bytes() {
        if special(b) {
            out.push_str(&format!("\\x{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
}

pub fn escape_json(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

/// Appends the access line `format` makes of `vars` to `out`.
pub fn render_into(format: &LogFormat, vars: &dyn Vars, out: &mut String) {
    let t = &format.template;
    match format.escape {
        Escape::Default => t.eval_log_into(vars, escape_default, out),
        Escape::Json => t.eval_log_into(vars, escape_json, out),
        Escape::None => t.eval_log_into(vars, |s: &str, out: &mut String| out.push_str(s), out),
    }
}

impl Logs {
    pub fn new(sink: Sink, error_path: Option<PathBuf>) -> Logs {
        Logs {
            sink,
            files: Mutex::new(Default::default()),
            error_path,
            error_file: Mutex::new(None),
        }
    }

    /// Opens every configured log file now, so a bad path fails at start as in nginx.
    pub fn check(&self, http: &Http, confs: &[Arc<LocConf>]) -> Result<(), String> {
        let Sink::Files { map } = &self.sink else {
            return Ok(());
        };
        for c in confs {
            if let AccessLog::Files(list) = &c.access_log {
                for t in list.iter() {
                    if !http.log_formats.contains_key(&t.format) {
                        return Err(format!("unknown log format \"{}\"", t.format));
                    }
                    self.file(&t.path, map).map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// The open file for a log path as written (opened on first use).
    fn file(&self, written: &str, map: &PathFn) -> std::io::Result<Option<Arc<std::fs::File>>> {
        if let Some(f) = self.files.lock().unwrap_or_else(|e| e.into_inner()).get(written) {
            return Ok(f.clone());
        }
        let opened = match map(written) {
            None => None,
            Some(p) => Some(Arc::new(open_append(&p).map_err(|e| {
                std::io::Error::new(e.kind(), format!("open() \"{}\" failed ({e})", p.display()))
            })?)),
        };
        Ok(self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(written.to_string())
            .or_insert(opened)
            .clone())
    }

    /// The open file of a target: found by path once, then kept with it.
    /// A file that failed to open is tried again on the next line.
    fn target_file<'t>(&self, t: &'t LogTarget, map: &PathFn) -> Option<&'t Arc<std::fs::File>> {
        if t.opened.get().is_none() {
            let opened = self.file(&t.path, map).ok()?;
            let _ = t.opened.set(opened);
        }
        t.opened.get()?.as_ref()
    }

    /// Appends one line to the access log `path` names.
    #[cfg(test)]
    fn write(&self, path: &str, line: String) {
        self.write_with(&LogTarget::new(path.into(), "combined".into()), |out| out.push_str(&line));
    }

    /// Appends the line `render` writes to `target`'s file,
    /// rendered into a buffer the thread keeps: a string per line cost an
    /// allocation and a copy each request.
    fn write_with(&self, target: &LogTarget, render: impl FnOnce(&mut String)) {
        thread_local! {
            static LINE: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
        }
        // Taken, not borrowed: a line written meanwhile gets a new buffer.
        let mut line = LINE.take();
        line.clear();
        render(&mut line);
        match &self.sink {
            Sink::Lines(f) => f(&line),
            Sink::Files { map } => {
                if let Some(f) = self.target_file(target, map) {
                    append(f, &line);
                }
            }
        }
        LINE.set(line);
    }

    /// An error log line (upstream failures), nginx-style.
    pub fn error(&self, msg: &str) {
        let line = format!(
            "{} [error] {}#0: {msg}",
            chrono::Local::now().format("%Y/%m/%d %H:%M:%S"),
            std::process::id()
        );
        match (&self.sink, &self.error_path) {
            (Sink::Lines(f), _) => f(&line),
            (Sink::Files { .. }, Some(p)) => {
                let mut file = self.error_file.lock().unwrap_or_else(|e| e.into_inner());
                if file.is_none() {
                    *file = open_append(p).ok();
                }
                if let Some(f) = file.as_ref() {
                    // At once: an error is worth its own write.
                    write_line(f, line);
                }
            }
            (Sink::Files { .. }, None) => eprintln!("{line}"),
        }
    }

    /// Wraps the response so its access line is written when the body ends.
    pub fn wrap(
        self: &Arc<Self>,
        conf: &LocConf,
        http: &Http,
        vars: Box<RequestVars>,
        resp: Response<Body>,
    ) -> Response<Body> {
        let targets = match &conf.access_log {
            AccessLog::Files(list) if !list.is_empty() => list.clone(),
            _ => return resp,
        };
        // The status line ("HTTP/1.1 200 OK\r\n"), the headers, the empty
        // line; the writer's own Connection and framing headers are not here.
        let reason = match resp.extensions().get::<super::http1::Reason>() {
            Some(r) => r.0.len(),
            None => super::http::reason(resp.status().as_u16()).map_or(0, str::len),
        };
        let header_bytes = (13 + reason + 2 + 2) as u64
            + resp.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum::<usize>()
                as u64;
        let mut vars = vars;
        // Copied only when printed: a copy of every header map costs each
        // request several allocations.
        if http.logs_sent_headers {
            vars.sent_headers = resp.headers().clone();
        }
        // `map` results are fixed now: the line is rendered after the configuration is out of reach.
        if !http.maps.is_empty() {
            let computed: Vec<(String, String)> = {
                let ctx = Ctx { rv: &vars, maps: &http.maps };
                http.maps.iter().map(|m| (m.var.clone(), ctx.map_value(m))).collect()
            };
            vars.maps.extend(computed);
        }
        let (parts, body) = resp.into_parts();
        let file = parts.extensions.get::<FileBody>().map(|f| f.sent.clone());
        let tunnel = parts.extensions.get::<Arc<TunnelEnd>>().cloned();
        let logged = LoggedBody {
            tunnel,
            inner: body,
            file,
            polled: false,
            sent: 0,
            header_bytes,
            pending: Some(Pending {
                logs: self.clone(),
                vars,
                targets,
                formats: http.log_formats.clone(),
            }),
        };
        Response::from_parts(parts, logged.boxed())
    }
}

struct Pending {
    logs: Arc<Logs>,
    vars: Box<RequestVars>,
    /// The location's access_log files.
    targets: Arc<Vec<LogTarget>>,
    formats: Arc<FastMap<String, Arc<LogFormat>>>,
}

struct LoggedBody {
    inner: Body,
    /// What went by sendfile(2), where the writer sent the file itself.
    file: Option<Arc<FileSent>>,
    polled: bool,
    sent: u64,
    header_bytes: u64,
    pending: Option<Pending>,
    /// A 101's tunnel, whose close the line waits for.
    tunnel: Option<Arc<TunnelEnd>>,
}

impl LoggedBody {
    /// Writes the line; `completed` unless the client side failed (the
    /// writer stopped taking the body before its end). A 101's line waits
    /// for its tunnel to close, as nginx's does.
    fn done(&mut self, mut completed: bool) {
        if let Some(f) = self.file.as_ref().filter(|f| f.used.load(Relaxed)) {
            self.sent = f.bytes.load(Relaxed);
            completed = f.whole.load(Relaxed);
        }
        let Some(p) = self.pending.take() else {
            return;
        };
        let (sent, header_bytes) = (self.sent, self.header_bytes);
        match self.tunnel.take() {
            Some(end) => {
                end.when_closed(move |through| p.write(completed, sent + through, header_bytes));
            }
            None => p.write(completed, sent, header_bytes),
        }
    }
}

impl Pending {
    fn write(mut self, completed: bool, sent: u64, header_bytes: u64) {
        // 499: the client went before its answer; nothing was sent.
        let closed = self.vars.status == 499;
        self.vars.completed = completed && !closed;
        self.vars.body_bytes_sent = sent;
        self.vars.bytes_sent = if closed { 0 } else { sent + header_bytes };
        // An upstream answer not yet timed (no body, or a tunnel's end
        // already taken) ends now: `-` while its head went out, as in nginx.
        for t in self.vars.upstream_tries.iter().filter_map(|t| t.traffic.as_deref()) {
            t.ends();
        }
        // The request's own variables, which hold the `map` values it
        // evaluated: a Ctx here had no maps of its own to search.
        let vars: &RequestVars = &self.vars;
        // Formats named were checked when the configuration loaded.
        for t in self.targets.iter() {
            if let Some(format) = self.formats.get(&t.format) {
                self.logs.write_with(t, |out| render_into(format, vars, out));
            }
        }
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        // Never read: a body the answer does not carry (HEAD, 204, 304),
        // dropped by the writer once the head went out.
        self.done(!self.polled);
    }
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.polled = true;
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        match &r {
            Poll::Ready(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    self.sent += d.len() as u64;
                }
            }
            // An upstream that broke off still ends the request normally
            // in nginx: only a client that failed leaves it incomplete.
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.done(true),
            Poll::Pending => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_many_threads_stay_whole_and_unmapped_paths_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_path_buf();
        let map: PathFn = Box::new(move |p: &str| {
            (!p.starts_with("/nowhere")).then(|| base.join(p.trim_start_matches('/')))
        });
        let logs = Arc::new(Logs::new(Sink::Files { map }, Some(dir.path().join("e/error.log"))));
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let logs = logs.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        logs.write("/var/log/a.log", format!("{t} {i} {}", "x".repeat(100)));
                        logs.write("/nowhere/b.log", "lost".into());
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join("var/log/a.log")).unwrap();
        assert_eq!(text.lines().count(), 2000);
        assert!(
            text.lines().all(|l| l.len() > 100 && l.ends_with(&"x".repeat(100))),
            "a line was torn"
        );
        assert!(!dir.path().join("nowhere").exists());
        logs.error("upstream boom");
        let errors = std::fs::read_to_string(dir.path().join("e/error.log")).unwrap_or_default();
        assert!(errors.contains("[error]") && errors.ends_with("upstream boom\n"), "{errors:?}");
    }

    #[test]
    fn a_batching_thread_writes_its_lines_when_it_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_path_buf();
        let map: PathFn = Box::new(move |p: &str| Some(base.join(p.trim_start_matches('/'))));
        let logs = Arc::new(Logs::new(Sink::Files { map }, None));
        let path = dir.path().join("a.log");
        let read = move || std::fs::read_to_string(&path).unwrap_or_default();
        let (l, r) = (logs.clone(), read.clone());
        let before = std::thread::spawn(move || {
            batch_this_thread();
            l.write("/a.log", "one".into());
            l.write("/a.log", "two".into());
            let before = r();
            flush_thread();
            before
        })
        .join()
        .unwrap();
        assert_eq!(before, "", "written before the flush");
        assert_eq!(read(), "one\ntwo\n");
        // A full batch goes out without waiting for the flush; the rest when the thread ends.
        let (l, r) = (logs.clone(), read.clone());
        let lines = std::thread::spawn(move || {
            batch_this_thread();
            let line = "x".repeat(1000);
            for _ in 0..40 {
                l.write("/a.log", line.clone());
            }
            r().lines().count()
        })
        .join()
        .unwrap();
        assert!((2..40).contains(&(lines - 2)), "{lines} lines on disk before the end");
        assert_eq!(read().lines().count(), 42);
    }

    #[test]
    fn escaping_like_nginx() {
        let esc = |f: fn(&str, &mut String), s: &str| {
            let mut out = String::from(">");
            f(s, &mut out);
            out
        };
        assert_eq!(esc(escape_default, "a\"b\\c\u{1}é"), ">a\\x22b\\x5Cc\\x01\\xC3\\xA9");
        assert_eq!(esc(escape_default, "plain text"), ">plain text");
        assert_eq!(esc(escape_json, "a\"b\\c\n\u{1}é"), ">a\\\"b\\\\c\\n\\u0001é");
    }
}
