//! The HTTP pieces every part of the proxy shares, and that depend on no
//! other part: the body type, nginx's status lines and error pages, the
//! hop-by-hop header names, HTTP dates. A leaf, so the proxy's modules
//! import it rather than each other.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::header::{self, HeaderMap, HeaderName};
use hyper::{Response, StatusCode};
use std::time::SystemTime;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub type Body = http_body_util::combinators::BoxBody<Bytes, BoxError>;

pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into()).map_err(|never| match never {}).boxed()
}

pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

const STATUS_TEXT_FOOTER: &str = "<hr><center>rcompose</center>\r\n</body>\r\n</html>\r\n";

/// nginx's built-in page for an error status, titled in its words.
pub fn default_page(status: StatusCode) -> String {
    page_text(&page_title(status))
}

/// The title of nginx's page for a status: its status line, but for the
/// two pages nginx titles otherwise.
fn page_title(status: StatusCode) -> String {
    match status.as_u16() {
        302 => "302 Found".to_string(),
        401 => "401 Authorization Required".to_string(),
        _ => status_line(status),
    }
}

fn page_text(title: &str) -> String {
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n{STATUS_TEXT_FOOTER}"
    )
}

pub(crate) fn page_response(status: StatusCode, title: &str) -> Response<Body> {
    let page = page_text(title);
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html")
        .header(header::CONTENT_LENGTH, page.len())
        .body(full(page))
        .expect("valid response");
    // nginx closes the connection after the pages of these errors.
    if matches!(status.as_u16(), 400 | 413 | 414 | 500 | 501) {
        resp.extensions_mut().insert(CloseAfter);
    }
    resp
}

pub fn plain_status(status: StatusCode) -> Response<Body> {
    if let Some(resp) = own_400(status.as_u16()) {
        return resp;
    }
    if !has_page(status.as_u16()) {
        // nginx has no page for it: the head alone, with an empty body.
        let mut resp = Response::new(empty());
        *resp.status_mut() = status;
        // 204 and 304 go without a length at all, as nginx's header filter sends them.
        if !matches!(status.as_u16(), 204 | 304) {
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, header::HeaderValue::from_static("0"));
        }
        return resp;
    }
    page_response(status, &page_title(status))
}

/// What a connection negotiated, for `$ssl_*`, `$https` and `$http2`.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    pub protocol: &'static str,
    pub cipher: &'static str,
    pub server_name: Option<Box<str>>,
    pub h2: bool,
    /// What the client offered: suites and groups, as code points.
    pub offered_suites: Box<[u16]>,
    pub offered_groups: Box<[u16]>,
    /// The key exchange group agreed.
    pub group: Option<u16>,
    /// `$ssl_session_id`: 32 bytes in hex, one per connection (sessions
    /// are not resumed here, so each connection's is new).
    pub session_id: String,
}

/// nginx's own 400s (494 to 497): sent as 400 with a page saying which,
/// then the close.
pub fn own_400(code: u16) -> Option<Response<Body>> {
    let why = match code {
        494 => "Request Header Or Cookie Too Large",
        495 => "The SSL certificate error",
        496 => "No required SSL certificate was sent",
        497 => "The plain HTTP request was sent to HTTPS port",
        _ => return None,
    };
    let page = format!(
        "<html>\r\n<head><title>400 {why}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>{why}</center>\r\n{STATUS_TEXT_FOOTER}"
    );
    let mut resp = Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header(header::CONTENT_TYPE, "text/html")
        .header(header::CONTENT_LENGTH, page.len())
        .body(full(page))
        .expect("valid response");
    resp.extensions_mut().insert(CloseAfter);
    Some(resp)
}

/// The codes nginx has a page of its own for (`ngx_http_error_pages`).
fn has_page(code: u16) -> bool {
    matches!(code, 301..=303 | 307 | 308 | 400..=416 | 421 | 429 | 494..=498 | 500..=505 | 507)
}

/// nginx's reason phrase for a status it writes itself; `None` for those
/// it writes as a bare code (`HTTP/1.1 422 `).
pub fn reason(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Time-out",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Large",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        421 => "Misdirected Request",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => return None,
    })
}

/// The status line and reason of a status for a page: nginx's words.
pub fn status_line(status: StatusCode) -> String {
    match reason(status.as_u16()) {
        Some(r) => format!("{} {r}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// Marks an answer after which nginx closes the connection: the error pages
/// it writes for 400, 413, 414, 500 and 501.
#[derive(Clone, Copy, Debug)]
pub struct CloseAfter;

/// Marks an answer not to be sent chunked (`chunked_transfer_encoding
/// off`): without a length, its end is the connection's.
#[derive(Clone, Copy, Debug)]
pub struct Unchunked;

/// A file answer that a plain socket may send with sendfile(2), straight
/// from the page cache, instead of copying the body held in memory: nginx's
/// `sendfile on`. The body stays the answer for every other writer (TLS,
/// HTTP/2), and a filter that changes the bytes (gzip, sub_filter) drops
/// this mark.
#[derive(Clone, Debug)]
pub struct FileBody {
    /// Opened when the answer was made (a file that cannot be read is
    /// answered 403 then, before any head goes).
    pub file: std::sync::Arc<std::fs::File>,
    pub offset: u64,
    pub len: u64,
    /// What the writer sent this way, for the access log.
    pub sent: std::sync::Arc<FileSent>,
}

/// Whether a [`FileBody`] was sent by sendfile(2), and how much of it.
#[derive(Debug, Default)]
pub struct FileSent {
    pub used: std::sync::atomic::AtomicBool,
    pub bytes: std::sync::atomic::AtomicU64,
    /// All of it went.
    pub whole: std::sync::atomic::AtomicBool,
}

/// Names the Connection header lists: hop-by-hop for this message too
/// ("close" and "keep-alive" are options, not names worth a lookup).
pub(crate) fn connection_named(h: &HeaderMap) -> Vec<HeaderName> {
    h.get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| {
            let t = t.trim();
            (!t.eq_ignore_ascii_case("close") && !t.eq_ignore_ascii_case("keep-alive"))
                .then(|| HeaderName::from_bytes(t.as_bytes()).ok())?
        })
        .collect()
}

/// Hop-by-hop by name: never passed from one connection to the next.
/// The one list of them, matched on the text rather than compared as
/// `HeaderName`s one by one: it runs for every header of every request and answer.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// An HTTP date (formatted once per second).
pub fn http_date(t: SystemTime) -> String {
    super::time::format_time(t, super::time::TimeFormat::Http)
}

/// An HTTP token, as header names must be.
pub fn is_token(s: &str) -> bool {
    const TOKEN: [bool; 256] = super::alnum_and(b"!#$%&'*+-.^_`|~");
    !s.is_empty() && s.bytes().all(|b| TOKEN[b as usize])
}
