//! From a parsed head to a request the proxy serves, refusing what nginx
//! refuses once the head is read (its `ngx_http_process_request_headers`
//! and `ngx_http_process_request_header`): a second Host or Content-Length
//! (and the other headers it takes once), a Host it cannot use as a name,
//! Content-Length that is not digits, Transfer-Encoding that is not exactly
//! `chunked` (501) or in an HTTP/1.0 request, both framings at once, an
//! HTTP/1.1 request without Host, and the CONNECT and TRACE methods (405).

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Version};

use super::parse::{Parsed, Refusal};

/// How the request's body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// A request head the proxy takes, with what the connection needs of it.
#[derive(Debug)]
pub struct Head {
    pub method: Method,
    pub version: Version,
    /// The protocol as the client wrote it (`HTTP/1.2` is read as 1.1 and
    /// shown as written, as nginx's `$server_protocol`).
    pub protocol: &'static str,
    /// The request target from its path on, as sent (bytes carried as in
    /// [`crate::proxy::rawtext`]).
    pub target: String,
    /// An absolute-form target's host, lowercased, without port or final dot.
    pub authority: Option<String>,
    /// The Host header's name as `$host` takes it (lowercased, without port
    /// or final dot): made once here, where the header is checked.
    pub host: Option<String>,
    pub headers: HeaderMap,
    /// Headers whose values hold control bytes, which nginx passes on and
    /// the header map cannot hold: kept aside, in order, for the upstream.
    pub raw_headers: Vec<(HeaderName, Bytes)>,
    /// The path, decoded and normalized as nginx's `$uri`.
    pub uri: String,
    pub framing: Framing,
    /// The client asked to keep the connection (HTTP/1.1 by default).
    pub keep_alive: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    pub expect_continue: bool,
    /// The head's length in bytes, for `$request_length`.
    pub len: usize,
}

const fn refuse(status: u16, why: &'static str) -> Refusal {
    Refusal::new(status, why)
}

/// Headers nginx takes once: a second one is a bad request.
/// A `match` on the text, not a scan of a list: every header line of
/// every request is asked.
fn is_unique(name: &str) -> bool {
    matches!(
        name,
        "content-length"
            | "transfer-encoding"
            | "if-modified-since"
            | "if-unmodified-since"
            | "if-match"
            | "if-none-match"
            | "content-range"
            | "if-range"
            | "expect"
            | "authorization"
    )
}

fn protocol(p: &Parsed, head: &[u8]) -> &'static str {
    match &head[p.protocol.clone()] {
        b"HTTP/1.1" => "HTTP/1.1",
        b"HTTP/1.0" => "HTTP/1.0",
        b"" => "HTTP/0.9",
        // Rare (HTTP/1.2, HTTP/1.01): leaked once per distinct text, bounded by the grammar.
        other => {
            static SEEN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
            let text = String::from_utf8_lossy(other);
            let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = seen.iter().find(|s| **s == text) {
                return s;
            }
            if seen.len() >= 64 {
                return "HTTP/1.1";
            }
            let s: &'static str = Box::leak(text.into_owned().into_boxed_str());
            seen.push(s);
            s
        }
    }
}

/// Checks a parsed head (`head` holds its bytes) as nginx does after reading it.
pub fn check(p: &Parsed, head: &Bytes) -> Result<Head, Refusal> {
    let version = match p.version() {
        9 => Version::HTTP_09,
        v if v < 1001 => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let method = Method::from_bytes(&head[p.method.clone()])
        .map_err(|_| refuse(400, "client sent invalid method"))?;
    let authority = match &p.host {
        Some(h) => Some(
            server_name(&head[h.clone()])
                .ok_or(refuse(400, "client sent invalid host in request line"))?,
        ),
        None => None,
    };
    let mut target = String::new();
    if p.empty_path {
        target.push('/');
    }
    target.push_str(&crate::proxy::rawtext::from_bytes(&head[p.uri.clone()]));
    // nginx decodes the path as soon as the request line is read, and
    // refuses one that climbs above the root or holds a NUL.
    let path = &target[..target.find(['?', '#']).unwrap_or(target.len())];
    let uri = crate::proxy::routes::normalize(path)
        .map_err(|_| refuse(400, "client sent invalid request"))?
        .into_owned();

    let mut headers = HeaderMap::with_capacity(p.headers.len() + 2);
    let mut raw_headers = Vec::new();
    let mut host = None;
    // Which of the headers looked up below were sent: most requests have
    // none of them, and each lookup hashes.
    let (mut framed, mut connection, mut expect) = (false, false, false);
    for h in &p.headers {
        let name = HeaderName::from_bytes(&head[h.name.clone()])
            .map_err(|_| refuse(400, "client sent invalid header line"))?;
        let raw = &head[h.value.clone()];
        framed |= name == hyper::header::CONTENT_LENGTH || name == hyper::header::TRANSFER_ENCODING;
        connection |= name == hyper::header::CONNECTION;
        expect |= name == hyper::header::EXPECT;
        if name == hyper::header::HOST {
            if host.is_some() {
                return Err(refuse(400, "client sent duplicate host header"));
            }
            host = Some(server_name(raw).ok_or(refuse(400, "client sent invalid host header"))?);
        } else if is_unique(name.as_str()) && headers.contains_key(&name) {
            return Err(refuse(400, "client sent duplicate header line"));
        }
        let value = head.slice(h.value.clone());
        match HeaderValue::from_maybe_shared(value.clone()) {
            Ok(v) => {
                headers.append(name, v);
            }
            // nginx passes control bytes in values on.
            Err(_)
                if name != hyper::header::HOST
                    && !is_unique(name.as_str())
                    && name != hyper::header::CONNECTION =>
            {
                raw_headers.push((name, value));
            }
            Err(_) => return Err(refuse(400, "client sent invalid header line")),
        }
    }
    if host.is_none() && version == Version::HTTP_11 {
        return Err(refuse(400, "client sent HTTP/1.1 request without \"Host\" header"));
    }
    let framing = if framed { framing(&headers, version)? } else { Framing::None };
    let keep_alive =
        if connection { keep_alive(&headers, version) } else { version == Version::HTTP_11 };
    if method == Method::CONNECT {
        return Err(refuse(405, "client sent CONNECT method"));
    }
    if method == Method::TRACE {
        return Err(refuse(405, "client sent TRACE method"));
    }
    let expect_continue = version == Version::HTTP_11
        && expect
        && headers
            .get(hyper::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    Ok(Head {
        method,
        version,
        protocol: protocol(p, head),
        target,
        authority,
        host,
        headers,
        raw_headers,
        uri,
        framing,
        keep_alive,
        expect_continue,
        len: p.len - p.start,
    })
}

/// How the body is framed: by its length, chunked, or absent; refused as
/// nginx refuses a length and a coding together, or a coding it lacks.
fn framing(headers: &HeaderMap, version: Version) -> Result<Framing, Refusal> {
    let mut framing = Framing::None;
    if let Some(cl) = headers.get(hyper::header::CONTENT_LENGTH) {
        let n = atoof(cl.as_bytes())
            .ok_or(refuse(400, "client sent invalid \"Content-Length\" header"))?;
        framing = Framing::Length(n);
    }
    if let Some(te) = headers.get(hyper::header::TRANSFER_ENCODING) {
        if version != Version::HTTP_11 {
            return Err(refuse(
                400,
                "client sent HTTP/1.0 request with \"Transfer-Encoding\" header",
            ));
        }
        if !te.as_bytes().eq_ignore_ascii_case(b"chunked") {
            return Err(refuse(501, "client sent unknown \"Transfer-Encoding\""));
        }
        if framing != Framing::None {
            return Err(refuse(
                400,
                "client sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time",
            ));
        }
        framing = Framing::Chunked;
    }
    Ok(framing)
}

/// Whether the connection is kept after this request.
fn keep_alive(headers: &HeaderMap, version: Version) -> bool {
    // nginx looks for the words anywhere in each value, without regard to
    // case; each Connection line overrides the one before.
    let mut keep_alive = version == Version::HTTP_11;
    for v in headers.get_all(hyper::header::CONNECTION) {
        // Compared without case in place: a lowercased copy was an allocation.
        let value = v.as_bytes();
        let has = |word: &[u8]| value.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
        if has(b"close") {
            keep_alive = false;
        } else if has(b"keep-alive") {
            keep_alive = true;
        }
    }
    keep_alive
}

/// nginx's `ngx_atoof`: decimal digits only, and no overflow.
pub fn atoof(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if n > i64::MAX as u64 {
            return None;
        }
    }
    Some(n)
}

/// A Host value (or an absolute-form host) as nginx takes it
/// (`ngx_http_validate_host`): the name, lowercased, without its port or
/// final dot; `None` when nginx would refuse it.
pub fn server_name(h: &[u8]) -> Option<String> {
    if !crate::proxy::vars::valid_host(h) {
        return None;
    }
    // from_utf8 first: from_utf8_lossy walks its chunks even when all is valid.
    let text = match std::str::from_utf8(h) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(h),
    };
    let name = crate::proxy::vars::without_port(&text);
    let name = name.strip_suffix('.').unwrap_or(name);
    Some(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::http1::parse::HeadParser;

    fn head(raw: &[u8]) -> Result<Head, Refusal> {
        let p = HeadParser::default().advance(raw)?.expect("a whole head");
        check(&p, &Bytes::copy_from_slice(&raw[..p.len]))
    }

    fn status(raw: &[u8]) -> u16 {
        match head(raw) {
            Ok(_) => 0,
            Err(r) => r.status,
        }
    }

    /// A whole header line is taken at once where it can be: the result,
    /// refusals included, is the byte-by-byte parser's on every line here,
    /// alone and after each of the others.
    #[test]
    fn header_lines_parse_alike_whole_and_a_byte_at_a_time() {
        let long = format!("X-Long: {}\r\n", "v".repeat(super::super::parse::MAX_LINE - 10));
        let lines: Vec<&[u8]> = vec![
            b"Host: a\r\n",
            b"Host:a\r\n",
            b"Host:   a  \r\n",
            b"X-Empty:\r\n",
            b"X-Empty:   \r\n",
            b"X-Spaces: a b  c \r\n",
            b"X-Tab: a\tb\t\r\n",
            b"X-Tab:\ta\r\n",
            b"X-Ctl: a\x01\x7f\xffb\r\n",
            b"X-Nul: a\0b\r\n",
            b"X-Bare: lf\n",
            b"X-Cr: a\rb\r\n",
            b"X-CrCr: a\r\r\n",
            b"Under_score: a\r\n",
            b"No-Colon\r\n",
            b"No-Colon-Lf\n",
            b"Sp ace: a\r\n",
            b"Name : a\r\n",
            b": empty name\r\n",
            b" folded\r\n",
            b"\x01bad: a\r\n",
            long.as_bytes(),
        ];
        let parse_both = |raw: &[u8]| {
            let whole = HeadParser::default().advance(raw);
            let mut p = HeadParser::default();
            let mut split = Ok(None);
            for end in 1..=raw.len() {
                split = p.advance(&raw[..end]);
                if !matches!(split, Ok(None)) {
                    break;
                }
            }
            assert_eq!(whole, split, "{:?}", String::from_utf8_lossy(raw));
        };
        for a in &lines {
            for b in &lines {
                let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
                raw.extend_from_slice(a);
                raw.extend_from_slice(b);
                raw.extend_from_slice(b"\r\n");
                parse_both(&raw);
                // And with the final CRLF or the second line's end still to come.
                parse_both(&raw[..raw.len() - 1]);
                parse_both(&raw[..raw.len() - 3]);
            }
        }
    }

    #[test]
    fn framing_as_nginx_reads_it() {
        assert_eq!(
            head(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n").unwrap().framing,
            Framing::Length(5)
        );
        assert_eq!(
            head(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n")
                .unwrap()
                .framing,
            Framing::Chunked
        );
        for (raw, want) in [
            (&b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t5\r\n\r\n"[..], 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n", 501),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n", 501),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
            (b"GET http://a@b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 405),
            (b"CONNECT a:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n", 405),
            // The URI is refused before the headers are looked at.
            (b"CONNECT /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET /../x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x\r\n\r\n", 400),
        ] {
            assert_eq!(status(raw), want, "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn what_nginx_lets_through() {
        let h = head(b"GET  /a%20b?x  HTTP/1.2 \nhost: Example.COM.:80\nUnder_Score: dropped\nX-Empty\nX-Ctl: a\x01b\n\n").unwrap();
        assert_eq!(
            h.raw_headers,
            [(HeaderName::from_static("x-ctl"), Bytes::from_static(b"a\x01b"))]
        );
        assert_eq!(h.uri, "/a b");
        assert_eq!(
            (h.protocol, h.version, h.target.as_str()),
            ("HTTP/1.2", Version::HTTP_11, "/a%20b?x")
        );
        assert!(
            h.headers.get("under_score").is_none()
                && h.headers.get("x-empty").is_some_and(|v| v.is_empty())
        );
        let h = head(b"GET http://Host.Example:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n").unwrap();
        assert_eq!((h.authority.as_deref(), h.target.as_str()), (Some("host.example"), "/p?q"));
        let h = head(b"GET http://[::1]?q HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((h.authority.as_deref(), h.target.as_str()), (Some("[::1]"), "/?q"));
        assert!(
            !head(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").unwrap().keep_alive
        );
        assert!(head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").unwrap().keep_alive);
        assert!(!head(b"GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
        assert!(
            !head(
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
            )
            .unwrap()
            .keep_alive
        );
        assert!(
            head(b"GET / HTTP/1.0\r\nConnection: close\r\nConnection: Keep-Alive\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            head(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n")
                .unwrap()
                .expect_continue
        );
    }
}
