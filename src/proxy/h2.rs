//! HTTP/2 on the client side, with hyper's h2 server: each stream's request
//! is made into the head the HTTP/1 side makes (path normalized and
//! checked the same way, `:authority` as Host, cookies joined as nginx
//! joins them), so routing, variables, limits and the access log are one
//! code path whichever protocol the client spoke.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::TryStreamExt;
use hyper::body::Body as _;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::handler;
use super::http::{Body, empty, is_hop_by_hop};
use super::http1::{self, Framing, Head, ReadIo, RequestBody};
use super::request::{Peers, Runtime};

/// The client preface that opens an HTTP/2 connection without TLS.
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the connection opens with the HTTP/2 preface (h2c by prior
/// knowledge, on a `listen ... http2` port without `ssl`); nothing is read.
pub async fn starts_with_preface(stream: &TcpStream, buf: &mut [u8; 24], wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(buf)).await {
            Ok(Ok(n)) => n,
            _ => return false,
        };
        if n == 0 || buf[..n] != PREFACE[..n] {
            return false;
        }
        if n == PREFACE.len() {
            return true;
        }
        // Part of the preface: wait a moment for the rest.
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Serves one HTTP/2 connection until the client closes it, or until the
/// proxy drains (a GOAWAY, then the streams in flight finish).
pub async fn serve<IO>(
    io: IO,
    peers: Peers,
    current: Arc<RwLock<Arc<Runtime>>>,
    draining: CancellationToken,
) where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let number = Arc::new(AtomicU64::new(0));
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let rt = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut peers = peers.clone();
        peers.requests = number.fetch_add(1, Ordering::Relaxed) + 1;
        async move { Ok::<_, Infallible>(answer(rt, req, peers).await) }
    });
    let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = draining.cancelled() => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// One stream's answer, through the handler the HTTP/1 side uses.
async fn answer(rt: Arc<Runtime>, req: hyper::Request<Incoming>, peers: Peers) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let is_head = parts.method == Method::HEAD;
    let number = peers.requests;
    let head = match head_of(parts) {
        Ok(h) => h,
        Err((status, why, line)) => {
            let refused = http1::Refused { status, why, line, number };
            return handler::refused(rt, refused, peers);
        }
    };
    let body = if body.is_end_stream() {
        RequestBody::empty()
    } else {
        let data = http_body_util::BodyDataStream::new(Discarding(Some(body)))
            .map_err(std::io::Error::other);
        let io: ReadIo = Box::new(tokio_util::io::StreamReader::new(data));
        let declared = match head.framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };
        RequestBody::streamed(io, declared)
    };
    let req = http1::Request {
        head,
        body,
        upgrade: None,
        number,
        pipelined: false,
        gone: CancellationToken::new(),
    };
    let (mut resp, _) = handler::handle(rt, Box::new(req), peers).await;
    // HTTP/2 has no connection-level headers: its framing says what they said.
    let hop: Vec<_> = resp.headers().keys().filter(|k| is_hop_by_hop(k)).cloned().collect();
    for h in hop {
        resp.headers_mut().remove(h);
    }
    if is_head {
        *resp.body_mut() = empty();
    }
    resp
}

/// A stream's request body that, dropped before its end, is read to its
/// end on a task of its own (up to a limit), as nginx discards a body it
/// does not need. Dropped unread, hyper resets the stream at once, often
/// before the answer has gone: the client then sees no answer at all.
struct Discarding(Option<Incoming>);

/// How long an unread body is read to keep its stream (at most
/// [`http1::DISCARD_LIMIT`] of it, as on an HTTP/1 connection).
const DISCARD_TIME: Duration = Duration::from_secs(10);

impl hyper::body::Body for Discarding {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, hyper::Error>>> {
        match self.0.as_mut() {
            Some(b) => std::pin::Pin::new(b).poll_frame(cx),
            None => std::task::Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(|b| b.is_end_stream())
    }
}

impl Drop for Discarding {
    fn drop(&mut self) {
        let Some(mut body) = self.0.take().filter(|b| !b.is_end_stream()) else { return };
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        rt.spawn(tokio::time::timeout(DISCARD_TIME, async move {
            let mut read = 0;
            while let Some(Ok(frame)) = http_body_util::BodyExt::frame(&mut body).await {
                read += frame.data_ref().map_or(0, |d| d.len() as u64);
                if read > http1::DISCARD_LIMIT {
                    break;
                }
            }
        }));
    }
}

type Refusal = (u16, &'static str, String);

/// The head the HTTP/1 side would have made of this request; refused as
/// nginx's HTTP/2 module refuses it.
fn head_of(parts: hyper::http::request::Parts) -> Result<Head, Refusal> {
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let line = format!("{} {target} HTTP/2.0", parts.method);
    let refuse = |status: u16, why: &'static str| (status, why, line.clone());
    if parts.method == Method::CONNECT || parts.method == Method::TRACE {
        return Err(refuse(405, "client sent a method HTTP/2 does not take here"));
    }
    let path = &target[..target.find(['?', '#']).unwrap_or(target.len())];
    let uri = super::routes::normalize(path)
        .map_err(|_| refuse(400, "client sent invalid :path header"))?
        .into_owned();
    let mut headers = parts.headers;
    let authority = match parts.uri.authority() {
        Some(a) => Some(
            http1::server_name(a.host().as_bytes())
                .ok_or_else(|| refuse(400, "client sent invalid :authority header"))?,
        ),
        None => None,
    };
    // `:authority` stands for Host; nginx makes a Host header of it.
    if let (Some(a), false) = (parts.uri.authority(), headers.contains_key(header::HOST))
        && let Ok(v) = HeaderValue::from_str(a.as_str())
    {
        headers.insert(header::HOST, v);
    }
    let host = match headers.get(header::HOST) {
        Some(h) => Some(
            http1::server_name(h.as_bytes())
                .ok_or_else(|| refuse(400, "client sent invalid host header"))?,
        ),
        None => None,
    };
    // Cookies may come one per field; nginx joins them with "; ".
    if headers.get_all(header::COOKIE).iter().count() > 1 {
        let joined: Vec<&[u8]> =
            headers.get_all(header::COOKIE).iter().map(|v| v.as_bytes()).collect();
        if let Ok(v) = HeaderValue::from_bytes(&joined.join(&b"; "[..])) {
            headers.insert(header::COOKIE, v);
        }
    }
    let framing = match headers.get(header::CONTENT_LENGTH) {
        Some(v) => Framing::Length(
            http1::atoof(v.as_bytes())
                .ok_or_else(|| refuse(400, "client sent invalid \"Content-Length\" header"))?,
        ),
        None => Framing::Chunked,
    };
    let len =
        line.len() + headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum::<usize>();
    Ok(Head {
        method: parts.method,
        version: Version::HTTP_2,
        protocol: "HTTP/2.0",
        target,
        authority,
        host,
        headers,
        raw_headers: Vec::new(),
        uri,
        framing,
        keep_alive: true,
        expect_continue: false,
        len,
    })
}
