//! The upstream side of `proxy_pass`: HTTP/1.1 over kept-alive connections,
//! driven by the task that serves the client. A request writes its head (and
//! body), reads the answer's head, and hands the connection to the answer's
//! body, which reads it while the client side writes and gives it back to
//! this worker's pool once the body is whole. There is no connection task,
//! channel or shared pool in between: each of those cost a task switch, a
//! channel send or a lock per request.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{StatusCode, Version};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::config::Keepalive;
use super::http::{Body, BoxError};

/// The largest answer head taken (nginx: "upstream sent too big header").
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
const HEAD_READ: usize = 16 * 1024;
const BODY_READ: usize = 64 * 1024;

/// A connection's life so far, held to its upstream's `keepalive*` limits.
#[derive(Clone, Copy)]
struct Life {
    opened: Instant,
    requests: u64,
    limits: Keepalive,
}

impl Life {
    /// May carry another request after the one it just answered.
    fn goes_on(&self) -> bool {
        self.requests < self.limits.requests && self.opened.elapsed() < self.limits.time
    }
}

/// An idle connection in the pool.
struct Idle {
    stream: TcpStream,
    since: Instant,
    life: Life,
}

impl Idle {
    /// One clock read for the whole pool walk: this runs on every request.
    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.since) >= self.life.limits.timeout
            || now.saturating_duration_since(self.life.opened) >= self.life.limits.time
    }
}

/// Where an idle connection waits: its upstream block's pool, which
/// `keepalive N` bounds for all the block's servers together (as nginx's
/// cache is per block), or its address's own.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum PoolKey {
    Block(u64),
    Addr(SocketAddr),
}

impl PoolKey {
    fn of(addr: SocketAddr, limits: &Keepalive) -> PoolKey {
        limits.pool.map_or(PoolKey::Addr(addr), PoolKey::Block)
    }
}

thread_local! {
    /// Per thread because each proxy worker is a thread with its own runtime:
    /// a connection is registered with the reactor of the worker that opened
    /// it. Least recently used first.
    static POOL: RefCell<super::FastMap<PoolKey, VecDeque<(SocketAddr, Idle)>>> = RefCell::new(Default::default());
}

/// Takes the most recently used idle connection to `addr` that is still
/// open; expired or closed ones to `addr` met on the way are dropped.
fn checkout(addr: SocketAddr, limits: &Keepalive) -> Option<(TcpStream, Life)> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.get_mut(&PoolKey::of(addr, limits))?;
        let now = Instant::now();
        while let Some(i) = idle.iter().rposition(|(a, _)| *a == addr) {
            let (_, c) = idle.remove(i)?;
            if !c.expired(now) && still_open(&c.stream) {
                return Some((c.stream, c.life));
            }
        }
        None
    })
}

/// An idle connection has nothing to read; a FIN, a reset or stray bytes
/// make it unusable. With no readiness event since its last read, tokio
/// answers this without a system call.
fn still_open(s: &TcpStream) -> bool {
    matches!(s.try_read(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

fn checkin(addr: SocketAddr, stream: TcpStream, life: Life) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.entry(PoolKey::of(addr, &life.limits)).or_default();
        let now = Instant::now();
        // Those idle too long go now, so their descriptors do not linger.
        while idle.front().is_some_and(|(_, c)| c.expired(now)) {
            idle.pop_front();
        }
        // As nginx: past `keepalive N`, the least recently used is closed,
        // whichever of the block's servers it goes to.
        while idle.len() >= life.limits.idle.max(1) {
            idle.pop_front();
        }
        idle.push_back((addr, Idle { stream, since: now, life }));
    })
}

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

    /// Timeouts while waiting for an answer are not retried elsewhere: the
    /// request may be in progress there.
    pub fn retry_elsewhere(&self) -> bool {
        !matches!(self, Failure::ReadTimeout | Failure::SendTimeout | Failure::RequestBody(_))
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
}

/// The upstream's answer: its head, and its body or the upgraded connection.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The upstream's X-Accel-Redirect, whether or not it is passed on.
    pub accel_redirect: Option<Bytes>,
    pub body: AnswerBody,
}

pub enum AnswerBody {
    Stream(UpstreamBody),
    /// After a 101: the connection and what was already read from it.
    Upgraded(TcpStream, Bytes),
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
    send(&mut stream, ex).await?;
    // Past this point a retry needs the body, which is gone once sent.
    let replayable = !had_body;
    let mut buf = BytesMut::with_capacity(HEAD_READ);
    let head = match tokio::time::timeout(
        ex.read_timeout,
        read_head(&mut stream, &mut buf, keep, ex.upgrade),
    )
    .await
    {
        Err(_) => return Err((Failure::ReadTimeout, false)),
        Ok(r) => r.map_err(|(f, stale)| (f, stale && replayable))?,
    };
    if head.status == StatusCode::SWITCHING_PROTOCOLS && ex.upgrade {
        return Ok(Answer {
            status: head.status,
            headers: head.headers,
            accel_redirect: None,
            body: AnswerBody::Upgraded(stream, buf.freeze()),
        });
    }
    let no_body = ex.head_request
        || head.status == StatusCode::NO_CONTENT
        || head.status == StatusCode::NOT_MODIFIED;
    let framing = if no_body { Framing::Done } else { head.framing };
    let mut body = UpstreamBody {
        conn: Some(Conn {
            addr,
            stream,
            buf,
            life,
            reusable: head.reusable && framing != Framing::Close && life.goes_on(),
        }),
        decoder: Decoder { framing },
        read_timeout: ex.read_timeout,
        sleep: None,
        failed: None,
    };
    if body.decoder.done() {
        body.finish();
    }
    Ok(Answer {
        status: head.status,
        headers: head.headers,
        accel_redirect: head.accel_redirect,
        body: AnswerBody::Stream(body),
    })
}

/// Writes the head, then the body as it comes, each write within
/// proxy_send_timeout.
async fn send(stream: &mut TcpStream, ex: &mut Exchange<'_>) -> Result<(), (Failure, bool)> {
    let limit = ex.send_timeout;
    write_all(stream, ex.head, limit).await.map_err(|f| (f, true))?;
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
            line.clear();
            let _ = std::io::Write::write_fmt(&mut line, format_args!("{:x}\r\n", data.len()));
            // Size line, data and CRLF in one writev: three writes made three packets.
            let mut parts =
                [io::IoSlice::new(&line), io::IoSlice::new(&data), io::IoSlice::new(b"\r\n")];
            write_vectored(stream, &mut parts, limit).await.map_err(|f| (f, false))?;
        } else {
            write_all(stream, &data, limit).await.map_err(|f| (f, false))?;
        }
    }
    if ex.chunked {
        write_all(stream, b"0\r\n\r\n", limit).await.map_err(|f| (f, false))?;
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

/// How an answer's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked(Chunk),
    /// Until the upstream closes the connection.
    Close,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

struct Head {
    status: StatusCode,
    headers: HeaderMap,
    accel_redirect: Option<Bytes>,
    framing: Framing,
    reusable: bool,
}

/// The answer's head out of the bytes read so far, skipping 1xx answers
/// other than 101; `None` when more bytes are needed.
fn answer_head(
    buf: &mut BytesMut,
    keep: &Keep<'_>,
    upgrade: bool,
) -> Result<Option<Head>, Failure> {
    while !buf.is_empty() {
        match parse_head(buf, keep, upgrade)? {
            Some(head) if head.status == StatusCode::SWITCHING_PROTOCOLS && !upgrade => {
                return Err(Failure::Invalid("invalid header"));
            }
            Some(head)
                if head.status.is_informational()
                    && head.status != StatusCode::SWITCHING_PROTOCOLS =>
            {
                continue;
            }
            Some(head) => return Ok(Some(head)),
            None if buf.len() >= MAX_HEAD => return Err(Failure::TooBig),
            None => break,
        }
    }
    Ok(None)
}

/// Reads until a whole answer head is in `buf`, takes it out and leaves
/// what follows: the body's first bytes.
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    keep: &Keep<'_>,
    upgrade: bool,
) -> Result<Head, (Failure, bool)> {
    let mut answered = false;
    loop {
        answered |= !buf.is_empty();
        if let Some(head) = answer_head(buf, keep, upgrade).map_err(|f| (f, false))? {
            return Ok(head);
        }
        buf.reserve(HEAD_READ);
        match std::future::poll_fn(|cx| {
            tokio_util::io::poll_read_buf(Pin::new(&mut *stream), cx, buf)
        })
        .await
        {
            Ok(0) => return Err((Failure::PrematureClose, !answered)),
            Ok(_) => {}
            Err(e) => return Err((Failure::Recv(e), !answered)),
        }
    }
}

/// Parses a head at the start of `buf`; `None` when it is not whole yet.
fn parse_head(buf: &mut BytesMut, keep: &Keep<'_>, upgrade: bool) -> Result<Option<Head>, Failure> {
    // Left uninitialised: filling a hundred empty headers per answer costs more than parsing six.
    let mut raw = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, buf, &mut raw)
    {
        // However the reads split it, a head this long is refused.
        Ok(httparse::Status::Complete(n)) if n > MAX_HEAD => return Err(Failure::TooBig),
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Failure::TooBig),
        Err(_) => return Err(Failure::Invalid("invalid header")),
    };
    let status = res
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(Failure::Invalid("invalid status line"))?;
    let version = if res.version == Some(0) { Version::HTTP_10 } else { Version::HTTP_11 };
    let start = buf.as_ptr() as usize;
    // Framing and connection options first: they decide which headers are hop-by-hop.
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut encoded = false;
    let mut close = version == Version::HTTP_10;
    let mut named: Vec<&[u8]> = Vec::new();
    for h in res.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(Failure::Invalid("invalid header"))?;
            if length.is_some_and(|l| l != v) {
                return Err(Failure::Invalid("duplicate header line: \"Content-Length\""));
            }
            length = Some(v);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            encoded = true;
            chunked = h
                .value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for t in h.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                if t.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if t.eq_ignore_ascii_case(b"keep-alive") {
                    close = false;
                } else if !t.is_empty() {
                    named.push(t);
                }
            }
        }
    }
    // Which one frames the body is a guess that a client, or the next answer
    // on a kept-alive connection, may guess otherwise: refused, as nginx
    // (1.23 on) refuses it.
    if encoded && length.is_some() {
        return Err(Failure::Invalid(
            "\"Content-Length\" and \"Transfer-Encoding\" headers at the same time",
        ));
    }
    let framing = if encoded {
        if chunked { Framing::Chunked(Chunk::Size) } else { Framing::Close }
    } else {
        match length {
            Some(0) => Framing::Done,
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        }
    };
    let pass_all = status == StatusCode::SWITCHING_PROTOCOLS && upgrade;
    // Names and values by position, so the head can be frozen and values shared, not copied.
    let mut spans: Vec<(HeaderName, usize, usize)> = Vec::with_capacity(res.headers.len());
    let mut accel = None;
    for h in res.headers.iter() {
        let Ok(name) = HeaderName::from_bytes(h.name.as_bytes()) else {
            return Err(Failure::Invalid("invalid header"));
        };
        if name.as_str() == "x-accel-redirect" && !h.value.is_empty() {
            let at = h.value.as_ptr() as usize - start;
            accel = Some((at, at + h.value.len()));
        }
        let hop = super::http::is_hop_by_hop(&name)
            || named.iter().any(|n| n.eq_ignore_ascii_case(name.as_str().as_bytes()));
        if pass_all || (!hop && keep(&name)) {
            let at = h.value.as_ptr() as usize - start;
            spans.push((name, at, at + h.value.len()));
        }
    }
    let head = buf.split_to(len).freeze();
    // Room for the Server and Date the answer gets on its way out, so the map is not grown for them.
    let mut headers = HeaderMap::with_capacity(spans.len() + 2);
    for (name, from, to) in spans {
        let value = HeaderValue::from_maybe_shared(head.slice(from..to))
            .map_err(|_| Failure::Invalid("invalid header"))?;
        headers.append(name, value);
    }
    let accel_redirect = accel.map(|(from, to)| head.slice(from..to));
    Ok(Some(Head { status, headers, accel_redirect, framing, reusable: !close }))
}

struct Conn {
    addr: SocketAddr,
    stream: TcpStream,
    buf: BytesMut,
    life: Life,
    reusable: bool,
}

/// What the decoder made of the bytes read so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    Data(Bytes),
    /// More bytes are needed; at least this many would help.
    More(u64),
    End,
    Invalid(&'static str),
}

/// An answer body's framing as a state machine over the bytes read so far,
/// apart from any I/O: data comes out as frames sharing the read buffer.
#[derive(Debug)]
pub struct Decoder {
    framing: Framing,
}

impl Decoder {
    /// The next piece of the body out of `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Decoded {
        loop {
            match self.framing {
                Framing::Done => return Decoded::End,
                Framing::Length(left) | Framing::Chunked(Chunk::Data(left)) if buf.is_empty() => {
                    return Decoded::More(left);
                }
                Framing::Length(left) => {
                    let data = take(buf, left);
                    let left = left - data.len() as u64;
                    self.framing = if left == 0 { Framing::Done } else { Framing::Length(left) };
                    return Decoded::Data(data);
                }
                Framing::Close if buf.is_empty() => return Decoded::More(BODY_READ as u64),
                Framing::Close => return Decoded::Data(buf.split().freeze()),
                Framing::Chunked(Chunk::Data(left)) => {
                    let data = take(buf, left);
                    let left = left - data.len() as u64;
                    self.framing = Framing::Chunked(if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    });
                    return Decoded::Data(data);
                }
                Framing::Chunked(state) => {
                    let line = match line(buf) {
                        Err(()) => return Decoded::Invalid("invalid chunked response"),
                        Ok(None) => return Decoded::More(1),
                        Ok(Some(line)) => line,
                    };
                    self.framing = match (state, chunk_size(&line)) {
                        (Chunk::DataEnd, _) if line.is_empty() => Framing::Chunked(Chunk::Size),
                        (Chunk::Size, Some(0)) => Framing::Chunked(Chunk::Trailers),
                        (Chunk::Size, Some(n)) => Framing::Chunked(Chunk::Data(n)),
                        (Chunk::Trailers, _) if line.is_empty() => Framing::Done,
                        // Trailers are not passed on, as nginx does not.
                        (Chunk::Trailers, _) => Framing::Chunked(Chunk::Trailers),
                        _ => return Decoded::Invalid("invalid chunked response"),
                    };
                }
            }
        }
    }

    /// The upstream closed the connection: the end only of a body that runs to the close.
    pub fn closed(&mut self) -> Decoded {
        match std::mem::replace(&mut self.framing, Framing::Done) {
            Framing::Close | Framing::Done => Decoded::End,
            _ => Decoded::Invalid("prematurely closed connection"),
        }
    }

    pub fn done(&self) -> bool {
        self.framing == Framing::Done
    }
}

/// Up to `n` bytes from the front of `buf`, as a shared frame.
fn take(buf: &mut BytesMut, n: u64) -> Bytes {
    let n = usize::try_from(n).map_or(buf.len(), |n| n.min(buf.len()));
    buf.split_to(n).freeze()
}

/// One line of chunked framing (a size or a trailer), without its line break.
fn line(buf: &mut BytesMut) -> Result<Option<BytesMut>, ()> {
    match buf.iter().position(|&b| b == b'\n') {
        // However the reads split it, a line this long is refused.
        Some(i) if i > 4096 => Err(()),
        Some(i) => {
            let mut line = buf.split_to(i + 1);
            line.truncate(i);
            if line.last() == Some(&b'\r') {
                line.truncate(i - 1);
            }
            Ok(Some(line))
        }
        None if buf.len() > 4096 => Err(()),
        None => Ok(None),
    }
}

fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.split(|&b| b == b';').next()?.trim_ascii();
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// An answer's body, read from the upstream connection as the client takes
/// it; the connection goes back to the pool when the body is whole, and is
/// closed if the body is dropped before.
pub struct UpstreamBody {
    conn: Option<Conn>,
    decoder: Decoder,
    read_timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The failure, held back one poll (see `fail`).
    failed: Option<String>,
}

impl UpstreamBody {
    fn finish(&mut self) {
        if let Some(c) = self.conn.take()
            && c.reusable
            && c.buf.is_empty()
        {
            checkin(c.addr, c.stream, c.life);
        }
    }

    /// hyper drops what it has buffered when a body fails, often the head
    /// and the data that came with it. nginx has sent those before it closes,
    /// so the error waits one poll: hyper flushes on Pending, then sees it.
    fn fail(
        &mut self,
        cx: &mut Context<'_>,
        why: &str,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.conn = None;
        self.decoder.framing = Framing::Done;
        self.failed = Some(format!("upstream {why} while reading upstream"));
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl HttpBody for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(why) = this.failed.take() {
            return Poll::Ready(Some(Err(why.into())));
        }
        loop {
            let Some(c) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            let want = match this.decoder.decode(&mut c.buf) {
                Decoded::Data(data) => {
                    if this.decoder.done() {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Decoded::End => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Decoded::Invalid(why) => return this.fail(cx, &format!("sent {why}")),
                Decoded::More(want) => want,
            };
            c.buf.reserve(usize::try_from(want).map_or(BODY_READ, |w| w.clamp(4096, BODY_READ)));
            match tokio_util::io::poll_read_buf(Pin::new(&mut c.stream), cx, &mut c.buf) {
                Poll::Pending => {
                    // proxy_read_timeout: the time allowed between two reads.
                    let limit = this.read_timeout;
                    let sleep =
                        this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                    if sleep.as_mut().poll(cx).is_ready() {
                        return this.fail(cx, "timed out (110: Connection timed out)");
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Ok(0)) => match this.decoder.closed() {
                    Decoded::End => {
                        this.conn = None;
                        return Poll::Ready(None);
                    }
                    _ => return this.fail(cx, "prematurely closed connection"),
                },
                Poll::Ready(Ok(_)) => this.sleep = None,
                Poll::Ready(Err(e)) => {
                    return this.fail(cx, &format!("recv() failed ({})", os_error(&e)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed.is_none() && (self.conn.is_none() || self.decoder.done())
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder.framing {
            Framing::Length(n) => SizeHint::with_exact(n),
            Framing::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// Decodes a whole answer from bytes as they might arrive, split at `cuts`:
/// its status, and its body or why it is refused. For the fuzz target.
pub fn decode_answer(data: &[u8], cuts: &[usize]) -> Result<(StatusCode, Vec<u8>), &'static str> {
    let mut pending = BytesMut::new();
    let mut pieces = Vec::new();
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let c = c.clamp(at, data.len());
        pieces.push(&data[at..c]);
        at = c;
    }
    let mut pieces = pieces.into_iter();
    let head = loop {
        if let Some(head) =
            answer_head(&mut pending, &|_| true, false).map_err(|_| "invalid head")?
        {
            break head;
        }
        match pieces.next() {
            Some(p) => pending.extend_from_slice(p),
            None => return Err("no whole head"),
        }
    };
    let mut decoder = Decoder { framing: head.framing };
    let mut body = Vec::new();
    loop {
        match decoder.decode(&mut pending) {
            Decoded::Data(d) => body.extend_from_slice(&d),
            Decoded::End => return Ok((head.status, body)),
            Decoded::Invalid(why) => return Err(why),
            Decoded::More(_) => match pieces.next() {
                Some(p) => pending.extend_from_slice(p),
                None => {
                    return match decoder.closed() {
                        Decoded::End => Ok((head.status, body)),
                        _ => Err("cut short"),
                    };
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b"1A;ext=1"), Some(26));
        assert_eq!(chunk_size(b"0"), Some(0));
        assert_eq!(chunk_size(b""), None);
        assert_eq!(chunk_size(b"zz"), None);
        assert_eq!(chunk_size(b"ffffffffffffffff"), None, "too long to be a size");
    }

    /// What the scripted upstream does after reading a request head.
    enum Step {
        /// Writes these pieces, pausing between them so they arrive apart.
        Answer(Vec<&'static [u8]>),
        /// Writes the pieces, then closes the connection.
        AnswerAndClose(Vec<&'static [u8]>),
        /// Closes the connection (after the request was read).
        Close,
    }

    /// An upstream that answers the requests of each connection in turn
    /// from one shared script; returns its address and how many connections it took.
    async fn upstream(script: Vec<Step>) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut steps = script.into_iter();
            'conns: while let Ok((mut s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                loop {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if s.read(&mut byte).await.unwrap_or(0) == 0 {
                            continue 'conns;
                        }
                        head.push(byte[0]);
                    }
                    let (pieces, close) = match steps.next() {
                        Some(Step::Answer(pieces)) => (pieces, false),
                        Some(Step::AnswerAndClose(pieces)) => (pieces, true),
                        Some(Step::Close) | None => continue 'conns,
                    };
                    for p in pieces {
                        s.write_all(p).await.unwrap();
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    if close {
                        continue 'conns;
                    }
                }
            }
        });
        (addr, accepted)
    }

    fn get(head: &'static [u8]) -> Exchange<'static> {
        Exchange {
            head,
            body: None,
            chunked: false,
            head_request: false,
            upgrade: false,
            connect_timeout: Duration::from_secs(2),
            send_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(2),
            gone: Box::pin(futures::future::pending()),
            keepalive: Keepalive::default(),
            idempotent: true,
        }
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: u\r\n\r\n";

    async fn fetch(
        addr: SocketAddr,
    ) -> Result<(StatusCode, HeaderMap, Result<Bytes, String>), Failure> {
        let a = exchange(addr, get(GET), &|_| true).await?;
        let AnswerBody::Stream(body) = a.body else { panic!("not a stream") };
        let body = body.collect().await.map(|c| c.to_bytes()).map_err(|e| e.to_string());
        Ok((a.status, a.headers, body))
    }

    #[tokio::test]
    async fn request_bodies_without_a_length_go_chunked_whole_even_when_writes_are_partial() {
        use futures::StreamExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Read slowly so the socket fills and writev takes only part of a chunk.
        let got = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            while !all.ends_with(b"0\r\n\r\n") {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before the last chunk");
                all.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await.unwrap();
            all
        });
        let big = Bytes::from(vec![b'x'; 4 << 20]);
        let frames = vec![
            Bytes::from_static(b"hello"),
            big.clone(),
            Bytes::new(),
            Bytes::from_static(b" world"),
        ];
        let stream = futures::stream::iter(frames).map(|b| Ok::<_, BoxError>(Frame::data(b)));
        let mut ex = get(b"POST / HTTP/1.1\r\nHost: u\r\nTransfer-Encoding: chunked\r\n\r\n");
        ex.body = Some(BodyExt::boxed(http_body_util::StreamBody::new(stream)));
        ex.chunked = true;
        let answer = exchange(addr, ex, &|_| true).await.unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        let all = got.await.unwrap();
        let body = &all[all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        let mut want = b"5\r\nhello\r\n".to_vec();
        want.extend_from_slice(format!("{:x}\r\n", big.len()).as_bytes());
        want.extend_from_slice(&big);
        want.extend_from_slice(b"\r\n6\r\n world\r\n0\r\n\r\n");
        assert!(
            body == want.as_slice(),
            "{} bytes, not the {} sent framed",
            body.len(),
            want.len()
        );
    }

    #[tokio::test]
    async fn answers_framed_by_chunks_length_or_close_and_connections_reused() {
        let (addr, accepted) = upstream(vec![
            Step::Answer(vec![
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                b"lo\r\n6;x=y\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
            ]),
            Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Le", b"ngth: 4\r\n\r\nab", b"cd"]),
            Step::Answer(vec![b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"]),
            Step::AnswerAndClose(vec![b"HTTP/1.0 200 OK\r\n\r\nuntil ", b"the end"]),
            Step::Close,
            Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]),
        ])
        .await;
        let (_, h, body) = fetch(addr).await.unwrap();
        assert_eq!(body.unwrap(), "hello world");
        assert!(h.get("transfer-encoding").is_none(), "framing is the client side's to choose");
        assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "abcd");
        assert_eq!(fetch(addr).await.unwrap().0, StatusCode::NO_CONTENT);
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "three answers on one kept-alive connection"
        );
        // Ended by the close: whole, and the connection is not kept.
        assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "until the end");
        // The script closes the next connection at once, unanswered: a
        // fresh connection that fails is the upstream's failure, not staleness.
        assert!(matches!(fetch(addr).await, Err(Failure::PrematureClose)));
        assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "ok");
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            3,
            "the close-delimited answer's connection was not reused"
        );
    }

    /// Serves every connection at once, answering each request it reads
    /// with `ok`; counts the connections.
    async fn ok_server() -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 1024];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                                .await
                                .unwrap();
                        }
                    }
                });
            }
        });
        (addr, accepted)
    }

    #[tokio::test]
    async fn keepalive_counts_idle_connections_for_the_whole_upstream_block() {
        let ((a, to_a), (b, to_b)) = (ok_server().await, ok_server().await);
        let ask = |addr, keepalive| {
            let mut ex = get(GET);
            ex.keepalive = keepalive;
            async move {
                let AnswerBody::Stream(body) = exchange(addr, ex, &|_| true).await.unwrap().body
                else {
                    panic!("not a stream")
                };
                assert_eq!(body.collect().await.unwrap().to_bytes(), "ok");
            }
        };
        let limits = Keepalive { idle: 1, pool: Some(u64::MAX - 7), ..Keepalive::default() };
        // keepalive 1 over two servers: b's idle connection pushes a's out,
        // so going back to a opens a new one, and b's then goes.
        for addr in [a, b, a] {
            ask(addr, limits).await;
        }
        assert_eq!((to_a.load(Ordering::SeqCst), to_b.load(Ordering::SeqCst)), (2, 1));
        let pooled = POOL.with(|p| {
            p.borrow()[&PoolKey::Block(u64::MAX - 7)].iter().map(|(to, _)| *to).collect::<Vec<_>>()
        });
        assert_eq!(pooled, [a]);
        // With room for both, each server's connection is found again.
        let roomy = Keepalive { idle: 2, pool: Some(u64::MAX - 8), ..Keepalive::default() };
        for addr in [a, b, a, b] {
            ask(addr, roomy).await;
        }
        assert_eq!((to_a.load(Ordering::SeqCst), to_b.load(Ordering::SeqCst)), (3, 2));
    }

    #[tokio::test]
    async fn keepalive_limits_the_idle_connections_and_the_requests_on_one() {
        let (addr, accepted) = ok_server().await;
        let limits = Keepalive { idle: 2, requests: 3, ..Keepalive::default() };
        let ask = || {
            let mut ex = get(GET);
            ex.keepalive = limits;
            exchange(addr, ex, &|_| true)
        };
        // keepalive_requests 3: seven one after another take three connections.
        for _ in 0..7 {
            let AnswerBody::Stream(body) = ask().await.unwrap().body else {
                panic!("not a stream")
            };
            assert_eq!(body.collect().await.unwrap().to_bytes(), "ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
        // keepalive 2: four at once open three more (one is idle already);
        // once they are done, two stay idle and the least recently used go.
        let answers = futures::future::join_all((0..4).map(|_| ask())).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 6);
        for a in answers {
            let AnswerBody::Stream(body) = a.unwrap().body else { panic!("not a stream") };
            body.collect().await.unwrap();
        }
        assert_eq!(POOL.with(|p| p.borrow()[&PoolKey::Addr(addr)].len()), 2);
    }

    #[tokio::test]
    async fn a_kept_alive_connection_closed_by_the_upstream_is_replaced_not_failed() {
        let (addr, accepted) = upstream(vec![
            Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"]),
            // The upstream drops the idle connection as the next request arrives.
            Step::Close,
            Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"]),
        ])
        .await;
        assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "a");
        assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "b");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn informational_answers_skipped_hop_by_hop_headers_dropped() {
        let (addr, _) = upstream(vec![Step::Answer(vec![
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nX-Kept: 2\r\nX-Kept: 3\r\nContent-Length: 2\r\n\r\nok",
        ])])
        .await;
        let (status, h, body) = fetch(addr).await.unwrap();
        assert_eq!((status, body.unwrap()), (StatusCode::OK, Bytes::from("ok")));
        let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-kept", "content-length"]);
        assert_eq!(h.get_all("x-kept").iter().count(), 2);
    }

    #[tokio::test]
    async fn cut_and_malformed_answers_are_errors_never_ends() {
        let (addr, _) = upstream(vec![
            Step::AnswerAndClose(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"]),
            Step::AnswerAndClose(vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"]),
            Step::Answer(vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnothex\r\n"]),
            Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"]),
            Step::Answer(vec![b"HTTP/1.1 2x0 OK\r\n\r\n"]),
            Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]),
        ])
        .await;
        assert!(fetch(addr).await.unwrap().2.is_err(), "a body cut short by the close");
        assert!(fetch(addr).await.unwrap().2.is_err(), "a chunked body without its last chunk");
        assert!(fetch(addr).await.unwrap().2.is_err(), "a chunk size that is not hex");
        assert!(matches!(fetch(addr).await, Err(Failure::Invalid(_))), "two different lengths");
        assert!(matches!(fetch(addr).await, Err(Failure::Invalid(_))), "a broken status line");
        // Passed on, its Content-Length cut the chunked body short for the client.
        assert!(matches!(fetch(addr).await, Err(Failure::Invalid(_))), "both a length and chunks");
    }

    #[tokio::test]
    async fn heads_over_the_limit_and_silent_upstreams_fail_as_nginx_says() {
        let big: &'static [u8] = Box::leak(
            format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n", "a".repeat(MAX_HEAD))
                .into_bytes()
                .into_boxed_slice(),
        );
        let (addr, _) = upstream(vec![Step::Answer(vec![big])]).await;
        assert!(matches!(fetch(addr).await, Err(Failure::TooBig)));
        // Refused whole as in pieces: the limit does not depend on how reads fall.
        let whole = decode_answer(big, &[]);
        assert_eq!(whole, decode_answer(big, &[16 * 1024, 32 * 1024, 48 * 1024, 64 * 1024]));
        assert!(whole.is_err());
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = silent.local_addr().unwrap();
        let mut ex = get(GET);
        ex.read_timeout = Duration::from_millis(100);
        let f = exchange(silent_addr, ex, &|_| true).await.err().unwrap();
        assert_eq!((f.status(), f.retry_elsewhere()), (504, false));
        assert!(
            f.describe(&silent_addr)
                .contains("timed out (110: Connection timed out) while reading response header")
        );
        // Its address went away meanwhile: failed then, not at the read timeout.
        let mut ex = get(GET);
        ex.gone = Box::pin(tokio::time::sleep(Duration::from_millis(100)));
        let started = Instant::now();
        let f = exchange(silent_addr, ex, &|_| true).await.err().unwrap();
        assert!(
            matches!(f, Failure::Gone) && started.elapsed() < Duration::from_secs(1),
            "{f:?} after {:?}",
            started.elapsed()
        );
        assert_eq!((f.status(), f.retry_elsewhere()), (502, true));
        drop(silent);
        let f = exchange(silent_addr, get(GET), &|_| true).await.err().unwrap();
        assert_eq!(f.status(), 502);
        assert_eq!(
            f.describe(&silent_addr),
            format!(
                "connect() to {silent_addr} failed (111: Connection refused) while connecting to upstream"
            )
        );
    }
}
