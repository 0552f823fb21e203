//! Byte ranges as nginx's range filter reads them: the parser shared by
//! static files and the proxy cache, and the cache's own use of it (a kept
//! answer cut in memory; one being kept cut as it streams, one range only).

use bytes::Bytes;
use hyper::StatusCode;
use hyper::body::{Body as HttpBody, Frame};
use hyper::header::{self, HeaderMap, HeaderValue};

use super::http::{Body, BoxError};

/// What a Range header asks of `len` bytes (a file, or a kept answer), by nginx's rules.
#[derive(Debug, PartialEq)]
pub(super) enum Ranges {
    /// No usable Range header, or ranges adding up to more than the file:
    /// the whole file, 200.
    Whole,
    /// 416: malformed, or no range within the file.
    Unsatisfiable,
    /// Byte ranges [start, end) within the file, in the order asked.
    Parts(Vec<(u64, u64)>),
}

/// nginx's range parser: a malformed list is 416; ranges past the end or
/// backwards are dropped (416 when none is left); a range starting at 0
/// that covers nothing, or ranges longer in all than the file, mean the
/// whole file.
#[expect(
    clippy::cast_possible_truncation,
    reason = "offsets are checked against the file length first"
)]
pub(super) fn parse_ranges(h: &str, len: u64) -> Ranges {
    let Some(spec) =
        h.get(..6).filter(|p| p.eq_ignore_ascii_case("bytes=")).map(|_| &h.as_bytes()[6..])
    else {
        return Ranges::Whole;
    };
    let len = len as i128;
    let mut p = 0;
    let skip_spaces = |p: &mut usize| {
        while spec.get(*p) == Some(&b' ') {
            *p += 1;
        }
    };
    let number = |p: &mut usize| -> Option<i128> {
        let start = *p;
        let mut n: i128 = 0;
        while let Some(d) = spec.get(*p).filter(|c| c.is_ascii_digit()) {
            n = n.checked_mul(10)?.checked_add((d - b'0') as i128)?;
            if n > i64::MAX as i128 {
                return None;
            }
            *p += 1;
        }
        (*p > start).then_some(n)
    };
    let (mut parts, mut size) = (Vec::new(), 0i128);
    loop {
        skip_spaces(&mut p);
        let (start, end) = if spec.get(p) == Some(&b'-') {
            p += 1;
            let Some(n) = number(&mut p) else { return Ranges::Unsatisfiable };
            skip_spaces(&mut p);
            if !matches!(spec.get(p), None | Some(b',')) {
                return Ranges::Unsatisfiable;
            }
            (if n < len { len - n } else { 0 }, len)
        } else {
            let Some(start) = number(&mut p) else { return Ranges::Unsatisfiable };
            skip_spaces(&mut p);
            if spec.get(p) != Some(&b'-') {
                return Ranges::Unsatisfiable;
            }
            p += 1;
            skip_spaces(&mut p);
            if matches!(spec.get(p), None | Some(b',')) {
                (start, len)
            } else {
                let Some(end) = number(&mut p) else { return Ranges::Unsatisfiable };
                skip_spaces(&mut p);
                if !matches!(spec.get(p), None | Some(b',')) {
                    return Ranges::Unsatisfiable;
                }
                (start, if end >= len { len } else { end + 1 })
            }
        };
        if start < end {
            parts.push((start as u64, end as u64));
            size += end - start;
        } else if start == 0 {
            return Ranges::Whole;
        }
        if spec.get(p) != Some(&b',') {
            break;
        }
        p += 1;
    }
    if parts.is_empty() {
        Ranges::Unsatisfiable
    } else if size > len {
        Ranges::Whole
    } else {
        Ranges::Parts(parts)
    }
}

/// The boundary of the next multipart answer: a counter, written as nginx
/// writes its own (twenty digits).
pub(super) fn next_boundary() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    format!("{:020}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Whether the ranges asked for hold for this answer: If-Range names its
/// ETag (strong) or its Last-Modified time exactly.
fn if_range_holds(req: &HeaderMap, answer: &HeaderMap) -> bool {
    let Some(v) = req.get(header::IF_RANGE).map(|v| String::from_utf8_lossy(v.as_bytes())) else {
        return true;
    };
    if v.ends_with('"') {
        return answer.get(header::ETAG).is_some_and(|e| e.as_bytes() == v.as_bytes());
    }
    let time = |s: &str| chrono::DateTime::parse_from_rfc2822(s.trim()).ok().map(|t| t.timestamp());
    let lm = answer.get(header::LAST_MODIFIED).and_then(|l| l.to_str().ok()).and_then(time);
    lm.is_some() && time(&v) == lm
}

/// nginx's range filter on a 200 the cache takes part in, where the
/// upstream said `Accept-Ranges` and the length is known: `whole` is the
/// kept body (several ranges allowed) or `None` for one being kept, whose
/// body is cut as it streams (one range only, as nginx's `single_range`).
/// Returns the answer to send; `Accept-Ranges: bytes` where no range is cut.
pub(super) fn for_cache(
    req: &HeaderMap,
    mut resp: hyper::Response<Body>,
    len: u64,
    whole: Option<&Bytes>,
) -> hyper::Response<Body> {
    resp.headers_mut().insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let asked = req.get(header::RANGE).and_then(|v| v.to_str().ok());
    let Some(asked) = asked.filter(|a| a.len() >= 7 && if_range_holds(req, resp.headers())) else {
        return resp;
    };
    let parts = match parse_ranges(asked, len) {
        Ranges::Whole => return resp,
        Ranges::Unsatisfiable => {
            let mut out = super::http::plain_status(StatusCode::RANGE_NOT_SATISFIABLE);
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                out.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return out;
        }
        Ranges::Parts(parts) if parts.len() > 1 && whole.is_none() => return resp,
        Ranges::Parts(parts) => parts,
    };
    resp.headers_mut().remove(header::ACCEPT_RANGES);
    *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    let content_type = resp.headers_mut().remove(header::CONTENT_TYPE);
    if let [(start, end)] = parts[..] {
        if let Some(t) = content_type {
            resp.headers_mut().insert(header::CONTENT_TYPE, t);
        }
        let h = resp.headers_mut();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", end - 1)) {
            h.insert(header::CONTENT_RANGE, v);
        }
        let body = std::mem::replace(resp.body_mut(), super::http::empty());
        *resp.body_mut() = match whole {
            Some(b) => super::http::full(b.slice(usize_of(start)..usize_of(end))),
            None => http_body_util::BodyExt::boxed(Slice { inner: body, at: 0, start, end }),
        };
        return resp;
    }
    // Several: multipart/byteranges, laid out as nginx lays it out.
    let Some(data) = whole else { return resp };
    let boundary = next_boundary();
    let ct = content_type.map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned());
    let mut out = Vec::new();
    for (s, e) in &parts {
        out.extend_from_slice(part_head(&boundary, ct.as_deref(), (*s, *e), len).as_bytes());
        out.extend_from_slice(&data[usize_of(*s)..usize_of(*e)]);
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(out.len()));
    if let Ok(v) = HeaderValue::from_str(&format!("multipart/byteranges; boundary={boundary}")) {
        h.insert(header::CONTENT_TYPE, v);
    }
    *resp.body_mut() = super::http::full(Bytes::from(out));
    resp
}

/// The head of one part of a multipart/byteranges answer, as nginx writes it.
pub(super) fn part_head(
    boundary: &str,
    content_type: Option<&str>,
    (start, end): (u64, u64),
    len: u64,
) -> String {
    let ct = content_type.map(|t| format!("Content-Type: {t}\r\n")).unwrap_or_default();
    format!("\r\n--{boundary}\r\n{ct}Content-Range: bytes {start}-{}/{len}\r\n\r\n", end - 1)
}

fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The bytes [start, end) of a body, as it streams.
struct Slice {
    inner: Body,
    at: u64,
    start: u64,
    end: u64,
}

impl HttpBody for Slice {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        use std::task::Poll;
        loop {
            if self.at >= self.end {
                // The rest is still read, so that the cache keeps it whole.
                match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
                    Poll::Ready(Some(Ok(_))) => continue,
                    Poll::Ready(_) => return Poll::Ready(None),
                    Poll::Pending => return Poll::Pending,
                }
            }
            let frame = match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(f))) => f,
                other => return other,
            };
            let Ok(data) = frame.into_data() else { continue };
            let (from, to) = (self.at, self.at + data.len() as u64);
            self.at = to;
            let (s, e) = (self.start.max(from), self.end.min(to));
            if s < e {
                return Poll::Ready(Some(Ok(Frame::data(
                    data.slice(usize_of(s - from)..usize_of(e - from)),
                ))));
            }
        }
    }
}
