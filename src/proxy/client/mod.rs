//! The upstream side of `proxy_pass`: HTTP/1.1 over kept-alive connections,
//! driven by the task that serves the client. A request writes its head (and
//! body), reads the answer's head, and hands the connection to the answer's
//! body, which reads it while the client side writes and gives it back to
//! this worker's pool once the body is whole. There is no connection task,
//! channel or shared pool in between: each of those cost a task switch, a
//! channel send or a lock per request.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use hyper::StatusCode;
use hyper::body::Body as HttpBody;
use hyper::header::{HeaderMap, HeaderName};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::proxy::config::Keepalive;
use crate::proxy::http::{Body, BoxError};

mod body;
mod head;
mod pool;
#[cfg(test)]
mod tests;

use body::Conn;
pub use body::{Decoded, Decoder, UpstreamBody, decode_answer};
use head::{Framing, HEAD_READ, read_head};
use pool::{Life, checkin, checkout};

/// Which of an answer's headers to pass on.
pub type Keep<'a> = dyn Fn(&HeaderName) -> bool + Sync + 'a;

/// Why an exchange failed, worded as nginx words it in the error log.
#[derive(Debug)]
pub enum Failure {
    Connect(io::Error),
    ConnectTimeout,
    Send(io::Error),
    SendTimeout,
    /// The request body failed (a client limit or a client gone).
    RequestBody(BoxError),
    ReadTimeout,
    /// The resolver learnt that the address went away (its container stopped).
    Gone,
    Recv(io::Error),
    PrematureClose,
    Invalid(&'static str),
    TooBig,
}

impl Failure {
    /// The status nginx answers with.
    pub fn status(&self) -> u16 {
        match self {
            Failure::ConnectTimeout | Failure::SendTimeout | Failure::ReadTimeout => 504,
            _ => 502,
        }
    }

    /// Which of proxy_next_upstream's cases this failure is.
    pub fn kind(&self) -> FailureKind {
        match self {
            Failure::ConnectTimeout | Failure::SendTimeout | Failure::ReadTimeout => {
                FailureKind::Timeout
            }
            Failure::Invalid(_) | Failure::TooBig => FailureKind::InvalidHeader,
            Failure::RequestBody(_) => FailureKind::ClientBody,
            Failure::Connect(_)
            | Failure::Send(_)
            | Failure::Recv(_)
            | Failure::PrematureClose
            | Failure::Gone => FailureKind::Error,
        }
    }

    /// The request reached the server (so a POST is not sent again elsewhere).
    pub fn request_sent(&self) -> bool {
        !matches!(self, Failure::Connect(_) | Failure::ConnectTimeout | Failure::Gone)
    }

    /// The error log's text, without the client part.
    pub fn describe(&self, addr: &SocketAddr) -> String {
        match self {
            Failure::Connect(e) => format!("connect() to {addr} failed ({}) while connecting to upstream", os_error(e)),
            Failure::ConnectTimeout => "upstream timed out (110: Connection timed out) while connecting to upstream".into(),
            Failure::Send(e) => format!("writev() failed ({}) while sending request to upstream", os_error(e)),
            Failure::SendTimeout => "upstream timed out (110: Connection timed out) while sending request to upstream".into(),
            Failure::RequestBody(e) => format!("client request body failed ({e}) while sending request to upstream"),
            Failure::ReadTimeout => "upstream timed out (110: Connection timed out) while reading response header from upstream".into(),
            Failure::Gone => "upstream's container stopped while connecting to upstream or reading its response header".into(),
            Failure::Recv(e) => format!("recv() failed ({}) while reading response header from upstream", os_error(e)),
            Failure::PrematureClose => "upstream prematurely closed connection while reading response header from upstream".into(),
            Failure::Invalid(what) => format!("upstream sent {what} while reading response header from upstream"),
            Failure::TooBig => "upstream sent too big header while reading response header from upstream".into(),
        }
    }
}

/// "111: Connection refused", as nginx prints errno.
fn os_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let text = e.to_string();
            let text =
                text.strip_suffix(&format!(" (os error {code})")).unwrap_or(&text).to_string();
            format!("{code}: {text}")
        }
        None => e.to_string(),
    }
}

/// The cases `proxy_next_upstream` names, and the client's own failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Error,
    Timeout,
    InvalidHeader,
    ClientBody,
}

/// Bytes one upstream try sent and received (`$upstream_bytes_sent`,
/// `$upstream_bytes_received`), where its answer's body began
/// (`$upstream_response_length`), when its connection was ready
/// (`$upstream_connect_time`) and when the body ended
/// (`$upstream_response_time`, which nginx measures to the body's end, not
/// its head). Shared with the access log, which reads it when the body has
/// gone to the client.
#[derive(Debug)]
pub struct Traffic {
    sent: AtomicU64,
    received: AtomicU64,
    head: AtomicU64,
    started: Instant,
    /// Nanoseconds from `started` to the connection in hand, plus one (0: none).
    connected: AtomicU64,
    /// Nanoseconds from `started` to the body's end, plus one (0: not yet).
    ended: AtomicU64,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            head: AtomicU64::new(0),
            started: Instant::now(),
            connected: AtomicU64::new(0),
            ended: AtomicU64::new(0),
        }
    }
}

impl Traffic {
    /// From the try's start to the end of its answer's body, once it ended.
    pub fn time(&self) -> Option<Duration> {
        mark(&self.ended)
    }

    /// From the try's start to a connection in hand (a kept-alive one at
    /// once); none if no connection was made.
    pub fn connect_time(&self) -> Option<Duration> {
        mark(&self.connected)
    }

    /// The answer's body was read whole, or the access line is being
    /// written (a body cut short, none at all, a 101): the first call holds
    /// the time.
    pub(crate) fn ends(&self) {
        let n = self.since_start();
        let _ = self.ended.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// A connection is in hand: the last one counts (a stale kept-alive
    /// connection is followed by a new one).
    pub(crate) fn connected(&self) {
        self.connected.store(self.since_start(), Ordering::Relaxed);
    }

    fn since_start(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// What was read after the answer's head (a chunked body with its framing, as nginx counts it).
    pub fn body(&self) -> u64 {
        self.received().saturating_sub(self.head.load(Ordering::Relaxed))
    }

    pub(crate) fn add_sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_received(&self, n: usize) {
        self.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The answer's head ended here: what is received after it is its body.
    pub(crate) fn head_ends(&self, rest_in_hand: usize) {
        self.head.store(self.received().saturating_sub(rest_in_hand as u64), Ordering::Relaxed);
    }

    /// A new connection's count starts again, as nginx counts per connection.
    fn restart(&self) {
        self.sent.store(0, Ordering::Relaxed);
        self.received.store(0, Ordering::Relaxed);
        self.head.store(0, Ordering::Relaxed);
    }
}

/// A time kept as nanoseconds plus one, 0 standing for none.
fn mark(at: &AtomicU64) -> Option<Duration> {
    match at.load(Ordering::Relaxed) {
        0 => None,
        n => Some(Duration::from_nanos(n - 1)),
    }
}

/// One request to send upstream.
pub struct Exchange<'a> {
    /// The request line and headers, ending with the empty line.
    pub head: &'a [u8],
    /// The body, if any; sent chunked when `chunked`.
    pub body: Option<Body>,
    pub chunked: bool,
    /// A HEAD request: the answer has no body, whatever it declares.
    pub head_request: bool,
    /// An Upgrade was asked for: a 101 hands over the connection.
    pub upgrade: bool,
    pub connect_timeout: Duration,
    pub send_timeout: Duration,
    pub read_timeout: Duration,
    /// Completes if the address stops being valid before the answer's head
    /// arrives: a connect to a stopped container's address waits for nothing.
    pub gone: futures::future::BoxFuture<'static, ()>,
    /// How the connection may be kept afterwards.
    pub keepalive: Keepalive,
    /// The method may be sent again after it reached an upstream.
    pub idempotent: bool,
    /// Counted where a template reads the figures.
    pub traffic: Option<Arc<Traffic>>,
}

/// The upstream's answer: its head, and its body or the upgraded connection.
pub struct Answer {
    pub status: StatusCode,
    /// The upstream's own reason phrase, when it is not the usual one.
    pub reason: Option<Bytes>,
    pub headers: HeaderMap,
    /// The upstream's X-Accel-Redirect, whether or not it is passed on.
    pub accel_redirect: Option<Bytes>,
    pub body: AnswerBody,
}

pub enum AnswerBody {
    /// An HTTP upstream's body, boxed as it is sent on: the answer is moved
    /// through every try and check, and stays small for it.
    Stream(Body),
    /// After a 101: the connection and what was already read from it.
    Upgraded(TcpStream, Bytes),
    /// A body read by another protocol (FastCGI's STDOUT records).
    Other(Body),
}

/// Sends `ex` to `addr` and reads the answer's head. Headers for which
/// `keep` is false are left out of the answer (hop-by-hop ones always are,
/// except on a 101). A kept-alive connection the upstream closed before it
/// answered is not a failure: the request goes again on a new connection,
/// as long as its body has not been sent.
pub async fn exchange(
    addr: SocketAddr,
    mut ex: Exchange<'_>,
    keep: &Keep<'_>,
) -> Result<Answer, Failure> {
    let gone = std::mem::replace(&mut ex.gone, Box::pin(futures::future::pending()));
    tokio::select! {
        answer = exchange_with(addr, ex, keep) => answer,
        _ = gone => Err(Failure::Gone),
    }
}

async fn exchange_with(
    addr: SocketAddr,
    mut ex: Exchange<'_>,
    keep: &Keep<'_>,
) -> Result<Answer, Failure> {
    if let Some((stream, mut life)) = checkout(addr, &ex.keepalive) {
        // The limits in force now (a reload may have changed them).
        life.limits = ex.keepalive;
        match attempt(addr, stream, life, &mut ex, keep).await {
            // Stale: closed before a byte of an answer, with the body still
            // here; sent again only if it may be, as nginx resends (not a
            // POST, LOCK or PATCH once sent).
            Err((_, true)) if ex.idempotent => {}
            other => return other.map_err(|(f, _)| f),
        }
    }
    let stream = match tokio::time::timeout(ex.connect_timeout, TcpStream::connect(addr)).await {
        Err(_) => return Err(Failure::ConnectTimeout),
        Ok(Err(e)) => return Err(Failure::Connect(e)),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    let life = Life { opened: Instant::now(), requests: 0, limits: ex.keepalive };
    attempt(addr, stream, life, &mut ex, keep).await.map_err(|(f, _)| f)
}

/// One try on one connection. The flag says the connection failed before
/// anything of an answer arrived (so a kept-alive one may have gone stale).
async fn attempt(
    addr: SocketAddr,
    mut stream: TcpStream,
    mut life: Life,
    ex: &mut Exchange<'_>,
    keep: &Keep<'_>,
) -> Result<Answer, (Failure, bool)> {
    life.requests += 1;
    let had_body = ex.body.is_some();
    if let Some(t) = &ex.traffic {
        t.restart();
        t.connected();
    }
    send(&mut stream, ex).await?;
    // Past this point a retry needs the body, which is gone once sent.
    let replayable = !had_body;
    let mut buf = BytesMut::with_capacity(HEAD_READ);
    let head = match tokio::time::timeout(
        ex.read_timeout,
        read_head(&mut stream, &mut buf, keep, ex.upgrade, ex.traffic.as_deref()),
    )
    .await
    {
        Err(_) => return Err((Failure::ReadTimeout, false)),
        Ok(r) => r.map_err(|(f, stale)| (f, stale && replayable))?,
    };
    if head.status == StatusCode::SWITCHING_PROTOCOLS && ex.upgrade {
        return Ok(Answer {
            status: head.status,
            reason: head.reason.clone(),
            headers: head.headers,
            accel_redirect: None,
            body: AnswerBody::Upgraded(stream, buf.freeze()),
        });
    }
    let no_body = ex.head_request
        || head.status == StatusCode::NO_CONTENT
        || head.status == StatusCode::NOT_MODIFIED;
    let framing = if no_body { Framing::Done } else { head.framing };
    let body_start = buf.len();
    let mut body = UpstreamBody {
        conn: Some(Conn {
            addr,
            stream,
            buf,
            life,
            reusable: head.reusable && !matches!(framing, Framing::Close) && life.goes_on(),
        }),
        decoder: Decoder { framing },
        read_timeout: ex.read_timeout,
        sleep: None,
        failed: None,
        traffic: ex.traffic.clone(),
    };
    if let Some(t) = &ex.traffic {
        t.head_ends(body_start);
    }
    if body.decoder.done() {
        body.release();
    }
    Ok(Answer {
        status: head.status,
        reason: head.reason.clone(),
        headers: head.headers,
        accel_redirect: head.accel_redirect,
        body: AnswerBody::Stream(http_body_util::BodyExt::boxed(body)),
    })
}

/// Writes the head, then the body as it comes, each write within
/// proxy_send_timeout.
async fn send(stream: &mut TcpStream, ex: &mut Exchange<'_>) -> Result<(), (Failure, bool)> {
    let limit = ex.send_timeout;
    let count = |n: usize| {
        if let Some(t) = &ex.traffic {
            t.add_sent(n);
        }
    };
    write_all(stream, ex.head, limit).await.map_err(|f| (f, true))?;
    count(ex.head.len());
    let Some(mut body) = ex.body.take() else {
        return Ok(());
    };
    let mut line = Vec::with_capacity(16);
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| (Failure::RequestBody(e), false))?;
        let Ok(data) = frame.into_data() else { continue };
        if data.is_empty() {
            continue;
        }
        if ex.chunked {
            crate::proxy::http1::chunk_size_line(data.len(), &mut line);
            // Size line, data and CRLF in one writev: three writes made three packets.
            let mut parts =
                [io::IoSlice::new(&line), io::IoSlice::new(&data), io::IoSlice::new(b"\r\n")];
            write_vectored(stream, &mut parts, limit).await.map_err(|f| (f, false))?;
            count(line.len() + data.len() + 2);
        } else {
            write_all(stream, &data, limit).await.map_err(|f| (f, false))?;
            count(data.len());
        }
    }
    if ex.chunked {
        write_all(stream, b"0\r\n\r\n", limit).await.map_err(|f| (f, false))?;
        count(5);
    }
    Ok(())
}

/// A write within proxy_send_timeout, its failure worded as nginx's.
async fn timed<T>(
    limit: Duration,
    write: impl Future<Output = io::Result<T>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(limit, write).await {
        Err(_) => Err(Failure::SendTimeout),
        Ok(Err(e)) => Err(Failure::Send(e)),
        Ok(Ok(v)) => Ok(v),
    }
}

/// All of `data` (one send for a head, as most are).
async fn write_all(s: &mut TcpStream, data: &[u8], limit: Duration) -> Result<(), Failure> {
    timed(limit, s.write_all(data)).await
}

/// All of `parts`, in as few writev calls as the socket takes; each call
/// within proxy_send_timeout, as nginx times each write.
async fn write_vectored(
    s: &mut TcpStream,
    parts: &mut [io::IoSlice<'_>],
    limit: Duration,
) -> Result<(), Failure> {
    let mut parts = parts;
    while !parts.is_empty() {
        let n = timed(limit, s.write_vectored(parts)).await?;
        if n == 0 {
            return Err(Failure::Send(io::ErrorKind::WriteZero.into()));
        }
        io::IoSlice::advance_slices(&mut parts, n);
    }
    Ok(())
}
