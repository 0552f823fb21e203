//! The FastCGI side of `fastcgi_pass` (PHP-FPM): the request as records,
//! the answer's CGI headers read into an HTTP head (`Status:`, a
//! `Location:` alone meaning 302, as nginx reads them), its body streamed
//! from STDOUT records, and STDERR written to the error log as nginx writes
//! it. One request per connection, as nginx without `fastcgi_keep_conn`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::body::Buffered;
use super::client::{Answer, AnswerBody, Failure, Keep};

mod params;
mod record;

pub(crate) use params::{records, script_name_and_path_info};

/// Where STDERR goes: the error log, with the phase nginx names.
pub(crate) type Stderr = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// One request to send to a FastCGI server.
pub(crate) struct Ask<'a> {
    /// BEGIN_REQUEST and the PARAMS records, from [`records`].
    pub(crate) records: &'a [u8],
    pub(crate) body: Option<Arc<Buffered>>,
    pub(crate) head_request: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) send_timeout: Duration,
    pub(crate) read_timeout: Duration,
    pub(crate) gone: futures::future::BoxFuture<'static, ()>,
    pub(crate) stderr: Stderr,
    pub(crate) traffic: Option<Arc<super::client::Traffic>>,
}

/// The most of an answer's headers read before it is "too big".
const MAX_HEAD: usize = 64 * 1024;

/// Sends `ask` to `addr` and reads the answer's head.
pub(crate) async fn exchange(
    addr: SocketAddr,
    mut ask: Ask<'_>,
    keep: &Keep<'_>,
) -> Result<Answer, Failure> {
    let gone = std::mem::replace(&mut ask.gone, Box::pin(futures::future::pending()));
    tokio::select! {
        answer = exchange_with(addr, ask, keep) => answer,
        _ = gone => Err(Failure::Gone),
    }
}

async fn exchange_with(addr: SocketAddr, ask: Ask<'_>, keep: &Keep<'_>) -> Result<Answer, Failure> {
    let mut stream = match tokio::time::timeout(ask.connect_timeout, TcpStream::connect(addr)).await
    {
        Err(_) => return Err(Failure::ConnectTimeout),
        Ok(Err(e)) => return Err(Failure::Connect(e)),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    if let Some(t) = &ask.traffic {
        t.connected();
    }
    let traffic = ask.traffic.clone();
    let count = move |sent: bool, n: usize| {
        if let Some(t) = &traffic {
            if sent { t.add_sent(n) } else { t.add_received(n) }
        }
    };
    send(&mut stream, ask.records, ask.body.as_ref(), ask.send_timeout, &count).await?;
    let mut buf = BytesMut::with_capacity(8192);
    let mut head = Vec::new();
    let (status, reason, headers, accel, rest) = loop {
        match record::take(&mut buf).map_err(Failure::Invalid)? {
            Some(r) if r.kind == record::STDERR => {
                (ask.stderr)(
                    &String::from_utf8_lossy(&r.content),
                    "reading response header from upstream",
                );
            }
            Some(r) if r.kind == record::STDOUT => {
                head.extend_from_slice(&r.content);
                if let Some(parsed) = parse_head(&head, keep)? {
                    break parsed;
                }
                if head.len() > MAX_HEAD {
                    return Err(Failure::TooBig);
                }
            }
            Some(_) => return Err(Failure::PrematureClose),
            None => {
                let n =
                    match tokio::time::timeout(ask.read_timeout, stream.read_buf(&mut buf)).await {
                        Err(_) => return Err(Failure::ReadTimeout),
                        Ok(Err(e)) => return Err(Failure::Recv(e)),
                        Ok(Ok(n)) => n,
                    };
                if n == 0 {
                    return Err(Failure::PrematureClose);
                }
                count(false, n);
            }
        }
    };
    if let Some(t) = &ask.traffic {
        t.head_ends(buf.len() + rest.len());
    }
    let no_body =
        ask.head_request || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let body = if no_body {
        super::http::empty()
    } else {
        stdout_body(stream, buf, rest, ask.read_timeout, ask.stderr, ask.traffic)
    };
    Ok(Answer { status, reason, headers, accel_redirect: accel, body: AnswerBody::Other(body) })
}

/// BEGIN_REQUEST and PARAMS, then the body in STDIN records and the empty
/// one that ends it; each write within fastcgi_send_timeout.
async fn send(
    stream: &mut TcpStream,
    records: &[u8],
    body: Option<&Arc<Buffered>>,
    limit: Duration,
    count: &(dyn Fn(bool, usize) + Sync),
) -> Result<(), Failure> {
    let mut out = records.to_vec();
    if let Some(b) = body {
        let mut body = b.body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(Failure::RequestBody)?;
            let Ok(data) = frame.into_data() else { continue };
            for part in data.chunks(record::STDIN_PART) {
                let pad = record::padding(part.len());
                record::header(&mut out, record::STDIN, part.len(), pad);
                out.extend_from_slice(part);
                out.extend_from_slice(&[0; 8][..pad]);
                if out.len() >= 4 * record::STDIN_PART {
                    let full = std::mem::take(&mut out);
                    write(stream, &full, limit).await?;
                    count(true, full.len());
                }
            }
        }
    }
    record::header(&mut out, record::STDIN, 0, 0);
    write(stream, &out, limit).await?;
    count(true, out.len());
    Ok(())
}

/// One write within fastcgi_send_timeout, its failure worded as nginx's.
async fn write(stream: &mut TcpStream, data: &[u8], limit: Duration) -> Result<(), Failure> {
    match tokio::time::timeout(limit, stream.write_all(data)).await {
        Err(_) => Err(Failure::SendTimeout),
        Ok(Err(e)) => Err(Failure::Send(e)),
        Ok(Ok(())) => Ok(()),
    }
}

type Head = (StatusCode, Option<Bytes>, HeaderMap, Option<Bytes>, Bytes);

/// The CGI head, once STDOUT holds all of it: the status (from `Status:`,
/// else 302 with a `Location:`, else 200), the headers to pass on, the
/// X-Accel-Redirect, and what of the body came with it.
fn parse_head(data: &[u8], keep: &Keep<'_>) -> Result<Option<Head>, Failure> {
    let mut slots = [httparse::EMPTY_HEADER; 100];
    let (used, lines) = match httparse::parse_headers(data, &mut slots) {
        Ok(httparse::Status::Complete((used, lines))) => (used, lines),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Failure::TooBig),
        Err(_) => return Err(Failure::Invalid("invalid header")),
    };
    let mut status = None;
    let mut reason = None;
    let mut accel = None;
    let mut location = false;
    let mut headers = HeaderMap::with_capacity(lines.len());
    for h in lines.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| Failure::Invalid("invalid header"))?;
        let value =
            HeaderValue::from_bytes(h.value).map_err(|_| Failure::Invalid("invalid header"))?;
        if name.as_str() == "status" {
            let text = h.value;
            let code = text
                .get(..3)
                .and_then(|c| std::str::from_utf8(c).ok())
                .and_then(|c| c.parse::<u16>().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or(Failure::Invalid("invalid status"))?;
            status = Some(code);
            // "404 Not Found": nginx sends the line as given.
            let phrase = text.get(4..).unwrap_or_default();
            if text.len() > 3 && !phrase.is_empty() {
                reason = Some(Bytes::copy_from_slice(phrase));
            }
            continue;
        }
        if name == hyper::header::LOCATION {
            location = true;
        }
        if name.as_str() == "x-accel-redirect" {
            accel = Some(Bytes::copy_from_slice(h.value));
        }
        if super::http::is_hop_by_hop(&name) || !keep(&name) {
            continue;
        }
        headers.append(name, value);
    }
    let status = status.unwrap_or(if location { StatusCode::FOUND } else { StatusCode::OK });
    if reason.is_none() && status == StatusCode::FOUND && location {
        reason = Some(Bytes::from_static(b"Moved Temporarily"));
    }
    Ok(Some((status, reason, headers, accel, Bytes::copy_from_slice(&data[used..]))))
}

/// The answer's body: what came with the head, then each STDOUT record's
/// content until END_REQUEST. A connection closed before END_REQUEST ends
/// the body in error, so the client sees it cut short, as with nginx.
fn stdout_body(
    stream: TcpStream,
    buf: BytesMut,
    first: Bytes,
    read_timeout: Duration,
    stderr: Stderr,
    traffic: Option<Arc<super::client::Traffic>>,
) -> super::http::Body {
    struct State {
        stream: TcpStream,
        buf: BytesMut,
        first: Option<Bytes>,
        done: bool,
        /// Told when the body ends, read whole or dropped.
        ends: Option<Arc<super::client::Traffic>>,
    }
    impl Drop for State {
        fn drop(&mut self) {
            if let Some(t) = &self.ends {
                t.ends();
            }
        }
    }
    let state = State {
        stream,
        buf,
        first: Some(first).filter(|b| !b.is_empty()),
        done: false,
        ends: traffic.clone(),
    };
    let chunks = futures::stream::unfold(state, move |mut st| {
        let stderr = stderr.clone();
        let traffic = traffic.clone();
        async move {
            if let Some(first) = st.first.take() {
                return Some((Ok(first), st));
            }
            if st.done {
                return None;
            }
            loop {
                match record::take(&mut st.buf) {
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e.into()), st));
                    }
                    Ok(Some(r)) if r.kind == record::STDOUT && !r.content.is_empty() => {
                        return Some((Ok(r.content.freeze()), st));
                    }
                    Ok(Some(r)) if r.kind == record::STDERR => {
                        stderr(&String::from_utf8_lossy(&r.content), "reading upstream");
                    }
                    Ok(Some(r)) if r.kind == record::END_REQUEST => return None,
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        let read = st.stream.read_buf(&mut st.buf);
                        let why = match tokio::time::timeout(read_timeout, read).await {
                            Ok(Ok(n)) if n > 0 => {
                                if let Some(t) = &traffic {
                                    t.add_received(n);
                                }
                                continue;
                            }
                            Ok(Ok(_)) => "upstream prematurely closed FastCGI stdout",
                            Ok(Err(_)) => "recv() failed while reading upstream",
                            Err(_) => "upstream timed out while reading upstream",
                        };
                        st.done = true;
                        return Some((Err(why.into()), st));
                    }
                }
            }
        }
    });
    let frames = futures::StreamExt::map(chunks, |c: Result<Bytes, super::http::BoxError>| {
        c.map(hyper::body::Frame::data)
    });
    BodyExt::boxed(http_body_util::StreamBody::new(frames))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A record as a FastCGI server writes it.
    fn rec(kind: u8, content: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let pad = record::padding(content.len());
        record::header(&mut out, kind, content.len(), pad);
        out.extend_from_slice(content);
        out.extend_from_slice(&[0; 8][..pad]);
        out
    }

    /// Serves `wire` once, in pieces of `cut` bytes, to whoever connects;
    /// then the exchange's answer (status and body, or the failure).
    async fn against(wire: Vec<u8>, cut: usize) -> (Result<(u16, Vec<u8>), String>, Vec<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            // The request ends with an empty STDIN record.
            let mut got = Vec::new();
            while !got.ends_with(&[1, record::STDIN, 0, 1, 0, 0, 0, 0]) {
                let n = s.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            for piece in wire.chunks(cut.max(1)) {
                let _ = s.write_all(piece).await;
                tokio::task::yield_now().await;
            }
        });
        let logged = Arc::new(Mutex::new(Vec::new()));
        let log = logged.clone();
        let mut records = Vec::new();
        record::begin(&mut records);
        record::header(&mut records, record::PARAMS, 0, 0);
        let ask = Ask {
            records: &records,
            body: None,
            head_request: false,
            connect_timeout: Duration::from_secs(2),
            send_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(2),
            gone: Box::pin(futures::future::pending()),
            stderr: Arc::new(move |t: &str, _: &str| log.lock().unwrap().push(t.to_string())),
            traffic: None,
        };
        let answer = match exchange(addr, ask, &|_| true).await {
            Ok(a) => {
                let AnswerBody::Other(body) = a.body else { panic!("not a body") };
                match body.collect().await {
                    Ok(b) => Ok((a.status.as_u16(), b.to_bytes().to_vec())),
                    Err(e) => Err(format!("body: {e}")),
                }
            }
            Err(f) => Err(f.describe(&addr)),
        };
        let logged = logged.lock().unwrap().clone();
        (answer, logged)
    }

    #[tokio::test]
    async fn records_cut_anywhere_and_stderr_between_read_as_one_answer() {
        let mut wire = rec(record::STDERR, b"PHP Notice: one\n");
        wire.extend(rec(
            record::STDOUT,
            b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nhel",
        ));
        wire.extend(rec(record::STDERR, b"two"));
        wire.extend(rec(record::STDOUT, b"lo"));
        wire.extend(rec(record::STDOUT, b""));
        wire.extend(rec(record::END_REQUEST, &[0; 8]));
        for cut in [1, 3, 7, 8, 9, 4096] {
            let (answer, logged) = against(wire.clone(), cut).await;
            assert_eq!(answer, Ok((404, b"hello".to_vec())), "cut {cut}");
            assert_eq!(logged, ["PHP Notice: one\n", "two"], "cut {cut}");
        }
    }

    #[tokio::test]
    async fn hostile_servers_get_nginx_s_failures_not_a_panic() {
        // Closed before any head: a premature close.
        let (a, _) = against(Vec::new(), 1).await;
        assert!(a.unwrap_err().contains("prematurely closed"));
        // Another protocol's bytes.
        let (a, _) = against(b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), 4096).await;
        assert!(a.unwrap_err().contains("unsupported FastCGI protocol version"));
        // END_REQUEST before any head.
        let (a, _) = against(rec(record::END_REQUEST, &[0; 8]), 4096).await;
        assert!(a.unwrap_err().contains("prematurely closed"));
        // A head without its end, growing past the limit.
        let mut wire = rec(record::STDOUT, b"X-A: b\r\n");
        for _ in 0..MAX_HEAD / 60_000 + 2 {
            wire.extend(rec(record::STDOUT, &[b'x'; 60_000]));
        }
        let (a, _) = against(wire, 4096).await;
        assert!(a.unwrap_err().contains("too big header"));
        // A body cut off before END_REQUEST: the body fails, so the client sees it cut.
        let wire = rec(record::STDOUT, b"Content-Type: text/html\r\n\r\npartial");
        let (a, _) = against(wire, 4096).await;
        assert!(a.unwrap_err().starts_with("body:"));
        // A bad status.
        let (a, _) = against(rec(record::STDOUT, b"Status: x\r\n\r\n"), 4096).await;
        assert!(a.is_err());
    }

    #[test]
    fn status_location_and_hidden_headers_are_read_as_nginx_reads_them() {
        let keep = |n: &HeaderName| n.as_str() != "x-accel-redirect";
        let (s, reason, h, _, rest) =
            parse_head(b"Status: 404 Not Found\r\nX-Powered-By: PHP\r\n\r\nbody", &keep)
                .unwrap()
                .unwrap();
        assert_eq!((s.as_u16(), reason.as_deref()), (404, Some(&b"Not Found"[..])));
        assert_eq!(h.get("x-powered-by").unwrap(), "PHP");
        assert!(h.get("status").is_none());
        assert_eq!(&rest[..], b"body");
        // Bare LF lines, as CGI scripts write them; a Location alone is a 302.
        let (s, reason, h, accel, _) =
            parse_head(b"Location: /next\nX-Accel-Redirect: /x\n\n", &keep).unwrap().unwrap();
        assert_eq!((s.as_u16(), reason.as_deref()), (302, Some(&b"Moved Temporarily"[..])));
        assert_eq!(h.get("location").unwrap(), "/next");
        assert!(h.get("x-accel-redirect").is_none());
        assert_eq!(accel.as_deref(), Some(&b"/x"[..]));
        let (s, reason, ..) = parse_head(b"Status: 201\r\n\r\n", &keep).unwrap().unwrap();
        assert_eq!((s.as_u16(), reason), (201, None));
        assert!(parse_head(b"Content-Type: text/html\r\n", &keep).unwrap().is_none());
        assert!(parse_head(b"Status: abc\r\n\r\n", &keep).is_err());
    }
}
