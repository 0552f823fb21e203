//! An answer's head: parsed, its hop-by-hop and hidden headers dropped,
//! and how its body is framed.

use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{StatusCode, Version};
use tokio::net::TcpStream;

use super::*;
use crate::proxy::http1::ChunkedDecoder;

/// The largest answer head taken (nginx: "upstream sent too big header").
pub(super) const MAX_HEAD: usize = 64 * 1024;
pub(super) const MAX_HEADERS: usize = 100;
pub(super) const HEAD_READ: usize = 16 * 1024;

/// How an answer's body ends.
#[derive(Debug, Clone)]
pub(super) enum Framing {
    Length(u64),
    Chunked(ChunkedDecoder),
    /// Until the upstream closes the connection.
    Close,
    Done,
}

pub(super) struct Head {
    pub(super) status: StatusCode,
    /// The upstream's reason phrase where it is not the usual one for its
    /// status: nginx passes the status line on as it came.
    pub(super) reason: Option<Bytes>,
    pub(super) headers: HeaderMap,
    pub(super) accel_redirect: Option<Bytes>,
    pub(super) framing: Framing,
    pub(super) reusable: bool,
}

/// The answer's head out of the bytes read so far, skipping 1xx answers
/// other than 101; `None` when more bytes are needed.
pub(super) fn answer_head(
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
pub(super) async fn read_head(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    keep: &Keep<'_>,
    upgrade: bool,
    traffic: Option<&Traffic>,
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
            Ok(n) => {
                if let Some(t) = traffic {
                    t.add_received(n);
                }
            }
            Err(e) => return Err((Failure::Recv(e), !answered)),
        }
    }
}

/// Parses a head at the start of `buf`; `None` when it is not whole yet.
pub(super) fn parse_head(
    buf: &mut BytesMut,
    keep: &Keep<'_>,
    upgrade: bool,
) -> Result<Option<Head>, Failure> {
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
    let reason = res
        .reason
        .filter(|r| !r.is_empty() && crate::proxy::http::reason(status.as_u16()) != Some(*r))
        .map(|r| (r.as_ptr() as usize - start, r.len()));
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
        if chunked { Framing::Chunked(ChunkedDecoder::default()) } else { Framing::Close }
    } else {
        match length {
            Some(0) => Framing::Done,
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        }
    };
    let pass_all = status == StatusCode::SWITCHING_PROTOCOLS && upgrade;
    // Names and values by position, so the head can be frozen and values
    // shared, not copied; in a list the thread keeps, not a new one an answer.
    let mut spans = SPANS.take();
    spans.clear();
    spans.reserve(res.headers.len());
    let mut accel = None;
    for h in res.headers.iter() {
        let Some(name) = header_name(h.name.as_bytes()) else {
            return Err(Failure::Invalid("invalid header"));
        };
        if name.as_str() == "x-accel-redirect" && !h.value.is_empty() {
            let at = h.value.as_ptr() as usize - start;
            accel = Some((at, at + h.value.len()));
        }
        let hop = crate::proxy::http::is_hop_by_hop(&name)
            || named.iter().any(|n| n.eq_ignore_ascii_case(name.as_str().as_bytes()));
        if pass_all || (!hop && keep(&name)) {
            let at = h.value.as_ptr() as usize - start;
            spans.push((name, at, at + h.value.len()));
        }
    }
    let head = buf.split_to(len).freeze();
    // Room for the Server and Date the answer gets on its way out, so the map is not grown for them.
    let mut headers = HeaderMap::with_capacity(spans.len() + 2);
    for (name, from, to) in spans.drain(..) {
        let value = HeaderValue::from_maybe_shared(head.slice(from..to))
            .map_err(|_| Failure::Invalid("invalid header"))?;
        headers.append(name, value);
    }
    SPANS.set(spans);
    let accel_redirect = accel.map(|(from, to)| head.slice(from..to));
    let reason = reason.map(|(at, len)| head.slice(at..at + len));
    Ok(Some(Head { status, reason, headers, accel_redirect, framing, reusable: !close }))
}

thread_local! {
    /// Kept headers by name and value position, between answers.
    static SPANS: std::cell::Cell<Vec<(HeaderName, usize, usize)>> =
        const { std::cell::Cell::new(Vec::new()) };
}

/// A header name by its bytes as the upstream sent them. The same dozen
/// names come in every answer; finding one in a small table a thread keeps
/// costs less than reading it again (case, the standard names' table, and
/// an allocation for one not among them).
fn header_name(raw: &[u8]) -> Option<HeaderName> {
    const SLOTS: usize = 64;
    /// A name read, by the bytes it was read from.
    type Slot = Option<(Box<[u8]>, HeaderName)>;
    thread_local! {
        static SEEN: std::cell::RefCell<Vec<Slot>> = std::cell::RefCell::new(vec![None; SLOTS]);
    }
    let (&first, &last) = (raw.first()?, raw.last()?);
    let slot = (raw.len() * 31 + usize::from(first) * 7 + usize::from(last)) % SLOTS;
    SEEN.with_borrow_mut(|seen| {
        if let Some((bytes, name)) = &seen[slot]
            && **bytes == *raw
        {
            return Some(name.clone());
        }
        let name = HeaderName::from_bytes(raw).ok()?;
        seen[slot] = Some((raw.into(), name.clone()));
        Some(name)
    })
}

#[cfg(test)]
mod name_tests {
    #[test]
    fn names_read_from_the_table_are_the_names_read_anew() {
        // Twice each: the second comes from the table, colliding slots included.
        let names = [
            "Content-Type",
            "content-type",
            "X-Powered-By",
            "ETag",
            "etag",
            "Set-Cookie",
            "X-A",
            "x-b",
            "Vary",
            "vary",
            "Server",
            "X-Custom-Header-With-A-Long-Name",
        ];
        for _ in 0..2 {
            for n in names {
                let read = super::header_name(n.as_bytes()).unwrap();
                assert_eq!(
                    read,
                    hyper::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    "{n}"
                );
            }
        }
        assert!(super::header_name(b"").is_none());
        assert!(super::header_name(b"bad name").is_none());
    }
}
