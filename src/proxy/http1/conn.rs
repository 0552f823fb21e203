//! One client connection, from its first byte to its close: heads read into
//! one buffer and parsed where they lie, each request answered before the
//! next is read (pipelined ones wait in the buffer), a refused head answered
//! and the connection closed as nginx closes it (lingering, so the answer is
//! read before the close), keep-alive within `keepalive_timeout` and
//! `keepalive_requests`, and the connection handed over after a 101.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use hyper::Response;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::body::{Left, Reader, RequestBody, Shared};
use super::parse::{HeadParser, Refusal};
use super::request::{self, Head};
use super::upgrade::{OnUpgrade, ReadIo, Upgraded, WriteIo};
use super::write::{self, After, Asked};
use crate::proxy::http::Body;

/// A request's body, read from its connection.
pub type ClientBody = RequestBody<ReadIo>;

/// A request to answer.
pub struct Request {
    pub head: Head,
    pub body: ClientBody,
    /// The client's connection after a 101, when the request asked to upgrade.
    pub upgrade: Option<OnUpgrade>,
    /// Requests on this connection so far, this one included.
    pub number: u64,
    /// Its head was already read when the request before it ended.
    pub pipelined: bool,
    /// Cancelled when the client closes its connection while the answer
    /// is still being made (nginx's 499): an upstream wait gives up.
    pub gone: CancellationToken,
}

/// A head refused before it became a request: answered with this status
/// (and logged) by the handler, then the connection closes.
pub struct Refused {
    pub status: u16,
    pub why: &'static str,
    /// The request line as far as it was read.
    pub line: String,
    pub number: u64,
}

pub enum Incoming {
    Request(Box<Request>),
    Refused(Refused),
}

/// A connection's limits, from the server its port belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub keepalive_requests: u64,
}

/// How a refused head is answered: its page, then the close.
const REFUSED: Asked =
    Asked { head: false, http11: true, keep_alive: false, chunked: true, http09: false };

/// The longest a request body left unread is read to keep the connection.
pub const DISCARD_LIMIT: u64 = 1 << 20;

/// Serves one connection. `answer` turns each request (or refused head)
/// into a response and the send_timeout of the location that answered.
pub async fn serve<R, W, F, Fut>(
    read: R,
    write: W,
    limits: Limits,
    draining: CancellationToken,
    mut answer: F,
) where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: super::sink::Sink + 'static,
    F: FnMut(Incoming) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let shared = Arc::new(Mutex::new(Shared {
        reader: Some(Reader { io: Box::new(read) as ReadIo, buf: BytesMut::with_capacity(4096) }),
        left: Left::Done,
        want_continue: false,
        continue_wanted: false,
        continue_asked: Arc::new(tokio::sync::Notify::new()),
    }));
    let mut write: WriteIo = Box::new(write);
    let mut scratch = Vec::with_capacity(512);
    // The list the parser writes each head's headers into, kept between heads.
    let mut headers = Vec::new();
    let mut number = 0u64;
    // One per connection: only one request at a time can be waiting.
    let gone = CancellationToken::new();
    // Kept for all of the connection's heads (see Waits).
    let mut timer = std::pin::pin!(tokio::time::sleep(limits.header_timeout));
    let mut stopping = std::pin::pin!(draining.cancelled());
    loop {
        number += 1;
        let mut reader =
            take_reader(&shared).expect("the connection holds its reader between requests");
        let first = number == 1;
        let pipelined = !first && !reader.buf.is_empty();
        let waits = Waits { timer: timer.as_mut(), stopping: stopping.as_mut() };
        let spare = std::mem::take(&mut headers);
        let parsed = match read_head(&mut reader, limits, first, waits, spare).await {
            HeadRead::Head(p) => p,
            HeadRead::Closed => return,
            HeadRead::Refused(r, line) => {
                let refused = Refused { status: r.status, why: r.why, line, number };
                let resp = answer(Incoming::Refused(refused)).await;
                return refuse(resp, r.http09, reader, write, &mut scratch).await;
            }
        };
        let head_bytes = reader.buf.split_to(parsed.len).freeze();
        let head = match request::check(&parsed, &head_bytes) {
            Ok(h) => h,
            Err(r) => {
                let line =
                    crate::proxy::rawtext::from_bytes(request_line(&head_bytes[parsed.start..]))
                        .into_owned();
                let refused = Refused { status: r.status, why: r.why, line, number };
                let resp = answer(Incoming::Refused(refused)).await;
                return refuse(resp, parsed.version() == 9, reader, write, &mut scratch).await;
            }
        };
        headers = parsed.headers;
        let asked = Asked {
            head: head.method == hyper::Method::HEAD,
            http11: head.version == hyper::Version::HTTP_11,
            keep_alive: head.keep_alive
                && number < limits.keepalive_requests
                && !draining.is_cancelled(),
            chunked: true,
            http09: head.version == hyper::Version::HTTP_09,
        };
        let framing = head.framing;
        let continue_asked = lend_reader(&shared, reader, framing, head.expect_continue);
        let (upgrade_tx, upgrade) =
            upgrade_channel(head.headers.contains_key(hyper::header::UPGRADE));
        let body = RequestBody::new(Some(shared.clone()), framing);
        // Allocated first, so the request is built in its box, not copied in.
        let request = Box::write(
            Box::new_uninit(),
            Request { head, body, upgrade, number, pipelined, gone: gone.clone() },
        );
        let pending = answer(Incoming::Request(request));
        let waiting = Waiting { continue_asked: &continue_asked, shared: &shared, gone: &gone };
        let Some(resp) = answer_continuing(pending, waiting, &mut write).await else {
            return;
        };
        if gone.is_cancelled() {
            // Nobody to answer: the answer is dropped unsent (and logged).
            return;
        }
        let status = resp.status().as_u16();
        let closes = resp.extensions().get::<crate::proxy::http::CloseAfter>().is_some();
        let chunked = resp.extensions().get::<crate::proxy::http::Unchunked>().is_none();
        let asked = Asked { keep_alive: asked.keep_alive && !closes, chunked, ..asked };
        let after = match write::answer(&mut *write, resp, asked, &mut scratch).await {
            Ok(a) => a,
            Err(_) => return,
        };
        let Some(mut reader) = take_reader(&shared) else { return };
        let left = std::mem::replace(
            &mut shared.lock().unwrap_or_else(|e| e.into_inner()).left,
            Left::Done,
        );
        if status == 101
            && let Some(tx) = upgrade_tx
        {
            let early = reader.buf.split().freeze();
            let _ = tx.send(Upgraded { early, read: reader.io, write });
            return;
        }
        if after == After::Close || closes {
            close(reader, write, &left).await;
            return;
        }
        // What the handler did not read of the body is read and dropped,
        // as nginx discards it, to keep the connection.
        if !discard(&mut reader, left).await {
            linger(reader, write).await;
            return;
        }
        shared.lock().unwrap_or_else(|e| e.into_inner()).reader = Some(reader);
    }
}

/// Where the connection goes after a 101, for a request that asks to upgrade.
fn upgrade_channel(
    wanted: bool,
) -> (Option<tokio::sync::oneshot::Sender<Upgraded>>, Option<OnUpgrade>) {
    if !wanted {
        return (None, None);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    (Some(tx), Some(OnUpgrade(rx)))
}

/// Answers a refused head: its page, then the close.
async fn refuse(
    resp: Response<Body>,
    http09: bool,
    reader: Reader<ReadIo>,
    mut write: WriteIo,
    scratch: &mut Vec<u8>,
) {
    let _ = write::answer(&mut *write, resp, Asked { http09, ..REFUSED }, scratch).await;
    linger(reader, write).await;
}

/// Waits for the handler's answer, sending `100 Continue` when it first
/// reads the body, or after, if asked for while the answer was being made:
/// it still goes first, as from nginx. None when the client is gone.
async fn answer_continuing<Fut: Future<Output = Response<Body>>>(
    pending: Fut,
    waiting: Waiting<'_>,
    write: &mut WriteIo,
) -> Option<Response<Body>> {
    let Waiting { continue_asked, shared, gone } = waiting;
    tokio::pin!(pending);
    let mut continued = false;
    let watch = watch_close(shared, gone);
    tokio::pin!(watch);
    let resp = loop {
        tokio::select! {
            biased;
            r = &mut pending => break r,
            () = &mut watch => {}
            _ = continue_asked.notified() => {
                continued = true;
                shared.lock().unwrap_or_else(|e| e.into_inner()).continue_wanted = false;
                write.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.ok()?;
            }
        }
    };
    let late = !continued
        && shared.lock().unwrap_or_else(|e| e.into_inner()).continue_sent_for(continue_asked);
    if late {
        write.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.ok()?;
    }
    Some(resp)
}

/// Hands the reader to the request's body, framed as its head says; the
/// notice returned tells when the body is first asked for (`100 Continue`).
/// A notice of its own for each request: one left from an earlier request
/// must not send a `100 Continue` for this one.
fn lend_reader(
    shared: &Arc<Mutex<Shared<ReadIo>>>,
    reader: Reader<ReadIo>,
    framing: super::request::Framing,
    expect_continue: bool,
) -> Arc<tokio::sync::Notify> {
    let continue_asked = Arc::new(tokio::sync::Notify::new());
    let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
    st.left = Left::of(framing);
    st.want_continue = expect_continue;
    st.continue_wanted = false;
    st.continue_asked = continue_asked.clone();
    st.reader = Some(reader);
    continue_asked
}

/// What a request's answer is awaited with.
struct Waiting<'a> {
    continue_asked: &'a Arc<tokio::sync::Notify>,
    shared: &'a Arc<Mutex<Shared<ReadIo>>>,
    gone: &'a CancellationToken,
}

/// Cancels `gone` when the client closes its connection while its answer
/// is awaited and its body has been read whole (watched from the worker's
/// next tick on, so a quick answer costs no extra read), as nginx's check for a
/// broken connection; bytes that come instead (a pipelined request) stay
/// in the buffer and end the watch. Never completes.
async fn watch_close(shared: &Arc<Mutex<Shared<ReadIo>>>, gone: &CancellationToken) {
    super::tick::next().await;
    loop {
        let lent = {
            let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
            if matches!(st.left, Left::Done) { st.reader.take() } else { None }
        };
        let Some(reader) = lent else {
            // The body is still being read: its reader will see a close.
            super::tick::next().await;
            continue;
        };
        let mut lent = Lent { shared, reader: Some(reader) };
        let read = match lent.reader.as_mut() {
            Some(r) => {
                r.buf.reserve(1024);
                r.io.read_buf(&mut r.buf).await
            }
            None => Ok(1),
        };
        drop(lent);
        if matches!(read, Ok(0) | Err(_)) {
            gone.cancel();
        }
        return std::future::pending().await;
    }
}

/// A reader taken for a watch, put back however the watch ends.
struct Lent<'a> {
    shared: &'a Arc<Mutex<Shared<ReadIo>>>,
    reader: Option<Reader<ReadIo>>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.reader.take() {
            self.shared.lock().unwrap_or_else(|e| e.into_inner()).reader = Some(r);
        }
    }
}

fn take_reader(shared: &Arc<Mutex<Shared<ReadIo>>>) -> Option<Reader<ReadIo>> {
    shared.lock().unwrap_or_else(|e| e.into_inner()).reader.take()
}

/// The first line of a head, without its line break.
fn request_line(head: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let line = &head[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

enum HeadRead {
    Head(super::parse::Parsed),
    Closed,
    Refused(Refusal, String),
}

/// What a head's read waits on besides the client: the connection's timer
/// and the proxy's stop, kept from one request to the next. A later
/// deadline only moves the registered timer's expiry (an atomic store, no
/// lock), where a new `sleep` each request took the timer driver's lock
/// twice, and the stop's waiter stays in its list instead of joining and
/// leaving it every request.
struct Waits<'a, 'b> {
    timer: std::pin::Pin<&'a mut tokio::time::Sleep>,
    stopping: std::pin::Pin<&'a mut tokio_util::sync::WaitForCancellationFuture<'b>>,
}

/// Reads until a whole head is in the buffer. Before its first byte the
/// connection may idle for `keepalive_timeout` (the first request: for
/// `client_header_timeout`); once a head has begun, it must end within
/// `client_header_timeout`. A timeout or a close ends the connection with
/// no answer, as in nginx.
async fn read_head(
    reader: &mut Reader<ReadIo>,
    limits: Limits,
    first: bool,
    waits: Waits<'_, '_>,
    headers: Vec<super::parse::RawHeader>,
) -> HeadRead {
    let Waits { mut timer, mut stopping } = waits;
    let mut parser = HeadParser::with_headers(headers);
    let mut armed = false;
    loop {
        match parser.advance(&reader.buf) {
            Ok(Some(p)) => return HeadRead::Head(p),
            Ok(None) => {}
            Err(r) => {
                let line = request_line(&reader.buf);
                let line = crate::proxy::rawtext::from_bytes(
                    &line[..line.len().min(super::parse::MAX_LINE)],
                )
                .into_owned();
                return HeadRead::Refused(r, line.trim_start_matches(['\r', '\n']).to_string());
            }
        }
        let idle = parser.idle();
        // Set at the first wait and kept: a head begun then must end by it.
        if !armed {
            let wait =
                if idle && !first { limits.keepalive_timeout } else { limits.header_timeout };
            timer.as_mut().reset(tokio::time::Instant::now() + wait);
            armed = true;
        }
        reader.buf.reserve(4096);
        let read = reader.io.read_buf(&mut reader.buf);
        tokio::select! {
            biased;
            r = read => match r {
                Ok(0) | Err(_) => return HeadRead::Closed,
                Ok(_) => {}
            },
            () = timer.as_mut() => return HeadRead::Closed,
            // A connection waiting for its next request closes at once when the proxy stops.
            () = stopping.as_mut(), if idle => return HeadRead::Closed,
        }
    }
}

/// Reads what is left of a body and drops it; false when the connection
/// cannot go on (a broken body, too much of it, or a client too slow).
async fn discard(reader: &mut Reader<ReadIo>, left: Left) -> bool {
    let mut left = left;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut dropped = 0u64;
    loop {
        match &mut left {
            Left::Done => return true,
            Left::Failed(_) | Left::ToEnd => return false,
            Left::Length(n) => {
                let take =
                    usize::try_from(*n).map_or(reader.buf.len(), |n| n.min(reader.buf.len()));
                let _ = reader.buf.split_to(take);
                *n -= take as u64;
                dropped += take as u64;
                if *n == 0 {
                    return true;
                }
            }
            Left::Chunked(d) => loop {
                let (used, step) = d.step(&reader.buf);
                let _ = reader.buf.split_to(used);
                match step {
                    super::chunked::Step::Data(n) => {
                        let _ = reader.buf.split_to(n);
                        dropped += n as u64;
                    }
                    super::chunked::Step::Size(_) => {}
                    super::chunked::Step::End => return true,
                    super::chunked::Step::Invalid => return false,
                    super::chunked::Step::More => break,
                }
            },
        }
        if dropped > DISCARD_LIMIT {
            return false;
        }
        reader.buf.reserve(16 * 1024);
        match tokio::time::timeout_at(deadline, reader.io.read_buf(&mut reader.buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return false,
        }
    }
}

/// Closes after an answer as nginx does (`lingering_close on`): lingering
/// only where the client may still be sending (a body left unread, bytes
/// read past the request, or more waiting on the socket), otherwise at
/// once. A lingering wait on every `Connection: close` cost a timer, a
/// larger buffer and one more wake-up for the client's own close.
async fn close(mut reader: Reader<ReadIo>, mut write: WriteIo, left: &Left) {
    let quiet = matches!(left, Left::Done) && reader.buf.is_empty() && {
        reader.buf.reserve(1);
        // One look without waiting: nginx's `read->ready`.
        match futures::FutureExt::now_or_never(reader.io.read_buf(&mut reader.buf)) {
            None | Some(Ok(0) | Err(_)) => true,
            Some(Ok(_)) => false,
        }
    };
    if quiet {
        let _ = write.shutdown().await;
        return;
    }
    linger(reader, write).await;
}

/// Closes as nginx's lingering close does: the write side first, then
/// what the client still sends is read and dropped for a while, so the
/// answer is not lost to a reset while the client is still writing.
async fn linger(mut reader: Reader<ReadIo>, mut write: WriteIo) {
    let _ = write.shutdown().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // Into the connection's own buffer: a zeroed sink of its own cost more
    // than the rest of a short connection's request.
    loop {
        reader.buf.clear();
        reader.buf.reserve(16 * 1024);
        match tokio::time::timeout(Duration::from_secs(5), reader.io.read_buf(&mut reader.buf))
            .await
        {
            Ok(Ok(n)) if n > 0 && tokio::time::Instant::now() < deadline => {}
            _ => return,
        }
    }
}
