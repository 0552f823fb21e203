//! nginx variables: templates such as `$scheme://$host$request_uri` are
//! compiled once and evaluated per request. Each variable's name is resolved
//! to what it reads when the template is compiled, so a request never
//! matches names (an access line asks for a dozen variables).

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use super::time::{TimeFormat, format_time, with_time};

use hyper::HeaderMap;
use hyper::header::{self, HeaderName};

/// A value with variables, compiled.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(Var),
    Capture(usize),
}

/// A variable, by name and by what it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    name: String,
    kind: Kind,
}

/// What a variable reads. `Other` is a name only `map` or nothing defines.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// `$ssl_protocol`, `$ssl_cipher`, `$ssl_server_name`, `$ssl_alpn_protocol`,
    /// `$ssl_session_reused`, `$http2`.
    Tls(TlsVar),
    Host,
    RemoteAddr,
    RemotePort,
    RemoteUser,
    Scheme,
    Request,
    RequestMethod,
    RequestUri,
    Uri,
    Args,
    IsArgs,
    ServerName,
    ServerPort,
    ServerAddr,
    ServerProtocol,
    Status,
    BodyBytesSent,
    BytesSent,
    RequestTime,
    RequestLength,
    TimeLocal,
    TimeIso8601,
    Msec,
    ProxyHost,
    ProxyPort,
    ProxyAddXForwardedFor,
    UpstreamAddr,
    UpstreamStatus,
    UpstreamResponseTime,
    UpstreamCacheStatus,
    LimitReqStatus,
    LimitConnStatus,
    LimitRate,
    /// "1" for a User-Agent with "MSIE" in it.
    Msie,
    UpstreamHttp(HeaderName),
    UpstreamCookie(String),
    RequestBody,
    FastcgiScriptName,
    FastcgiPathInfo,
    /// The request's Content-Length; for a chunked body read whole, its length.
    ContentLength,
    DocumentRoot,
    RequestFilename,
    Connection,
    ConnectionRequests,
    Pid,
    Hostname,
    NginxVersion,
    /// The client address as 4 or 16 bytes (a `limit_req_zone` or `map` key).
    BinaryRemoteAddr,
    /// 32 hex digits, the same for the whole request.
    RequestId,
    /// "on" over TLS, else empty: the built-in proxy serves plain HTTP.
    Https,
    /// Without the realip module's header rules the address is the peer's.
    RealipRemoteAddr,
    RealipRemotePort,
    UpstreamResponseLength,
    UpstreamBytesSent,
    UpstreamBytesReceived,
    ConnectionTime,
    Pipe,
    RequestCompletion,
    /// `$tcpinfo_rtt`, `_rttvar`, `_snd_cwnd`, `_rcv_space`: index 0 to 3.
    TcpInfo(u8),
    ProxyInternalBodyLength,
    ProxyInternalChunked,
    /// `$upstream_cache_last_modified` (0) and `$upstream_cache_etag` (1):
    /// an expired answer's, while proxy_cache_revalidate asks about it.
    CacheValidator(u8),
    /// `$ssl_client_verify`: "NONE" over TLS (client certificates are not asked for).
    SslClientVerify,
    UpstreamConnectTime,
    UpstreamHeaderTime,
    /// Variables of modules whose work is not done here, so never set, as
    /// nginx leaves them when its module did nothing: `$upstream_cache_status`
    /// without a cache, `$gzip_ratio` for an answer sent as it came.
    NotFound,
    /// `$http_*`, `$content_type`, `$content_length`: a request header.
    Http(HeaderName),
    /// `$sent_http_*`: a response header.
    SentHttp(HeaderName),
    Arg(String),
    Cookie(String),
    Other,
}

impl Kind {
    /// Values made here of numbers, addresses and times: nothing in them
    /// is ever escaped, so an access line copies them as they are.
    fn clean(&self) -> bool {
        matches!(
            self,
            Kind::RemoteAddr
                | Kind::RemotePort
                | Kind::ServerPort
                | Kind::ServerAddr
                | Kind::Status
                | Kind::BodyBytesSent
                | Kind::BytesSent
                | Kind::RequestTime
                | Kind::RequestLength
                | Kind::TimeLocal
                | Kind::TimeIso8601
                | Kind::Msec
                | Kind::UpstreamStatus
                | Kind::UpstreamResponseTime
                | Kind::UpstreamConnectTime
                | Kind::UpstreamHeaderTime
                | Kind::UpstreamResponseLength
                | Kind::UpstreamBytesSent
                | Kind::UpstreamBytesReceived
                | Kind::Connection
                | Kind::ConnectionRequests
                | Kind::ConnectionTime
                | Kind::Pid
                | Kind::RequestId
                | Kind::Pipe
                | Kind::RequestCompletion
                | Kind::TcpInfo(_)
        )
    }

    fn of(name: &str) -> Kind {
        let header = |n: &str| HeaderName::from_bytes(n.replace('_', "-").as_bytes()).ok();
        match name {
            "host" => Kind::Host,
            "remote_addr" => Kind::RemoteAddr,
            "remote_port" => Kind::RemotePort,
            "remote_user" => Kind::RemoteUser,
            "scheme" => Kind::Scheme,
            "request" => Kind::Request,
            "request_method" => Kind::RequestMethod,
            "request_uri" => Kind::RequestUri,
            "uri" | "document_uri" => Kind::Uri,
            "args" | "query_string" => Kind::Args,
            "is_args" => Kind::IsArgs,
            "server_name" => Kind::ServerName,
            "server_port" => Kind::ServerPort,
            "server_addr" => Kind::ServerAddr,
            "server_protocol" => Kind::ServerProtocol,
            "status" => Kind::Status,
            "body_bytes_sent" => Kind::BodyBytesSent,
            "bytes_sent" => Kind::BytesSent,
            "request_time" => Kind::RequestTime,
            "request_length" => Kind::RequestLength,
            "time_local" => Kind::TimeLocal,
            "time_iso8601" => Kind::TimeIso8601,
            "msec" => Kind::Msec,
            "proxy_host" => Kind::ProxyHost,
            "proxy_port" => Kind::ProxyPort,
            "proxy_add_x_forwarded_for" => Kind::ProxyAddXForwardedFor,
            "upstream_addr" => Kind::UpstreamAddr,
            "upstream_status" => Kind::UpstreamStatus,
            "upstream_response_time" => Kind::UpstreamResponseTime,
            "document_root" | "realpath_root" => Kind::DocumentRoot,
            "request_filename" => Kind::RequestFilename,
            "connection" => Kind::Connection,
            "connection_requests" => Kind::ConnectionRequests,
            "pid" => Kind::Pid,
            "hostname" => Kind::Hostname,
            "nginx_version" => Kind::NginxVersion,
            "binary_remote_addr" => Kind::BinaryRemoteAddr,
            "request_id" => Kind::RequestId,
            "https" => Kind::Https,
            "http2" => Kind::Tls(TlsVar::Http2),
            "realip_remote_addr" => Kind::RealipRemoteAddr,
            "realip_remote_port" => Kind::RealipRemotePort,
            "upstream_response_length" => Kind::UpstreamResponseLength,
            "upstream_connect_time" => Kind::UpstreamConnectTime,
            "upstream_header_time" => Kind::UpstreamHeaderTime,
            "gzip_ratio" => Kind::NotFound,
            "upstream_bytes_sent" => Kind::UpstreamBytesSent,
            "upstream_bytes_received" => Kind::UpstreamBytesReceived,
            "connection_time" => Kind::ConnectionTime,
            "pipe" => Kind::Pipe,
            "request_completion" => Kind::RequestCompletion,
            "tcpinfo_rtt" => Kind::TcpInfo(0),
            "tcpinfo_rttvar" => Kind::TcpInfo(1),
            "tcpinfo_snd_cwnd" => Kind::TcpInfo(2),
            "tcpinfo_rcv_space" => Kind::TcpInfo(3),
            "proxy_internal_body_length" => Kind::ProxyInternalBodyLength,
            "proxy_internal_chunked" => Kind::ProxyInternalChunked,
            // Set only by `listen ... proxy_protocol`, which nginx serves itself
            // (trailers: neither proxy_pass nor fastcgi_pass keeps them in nginx 1.22).
            "proxy_protocol_addr"
            | "proxy_protocol_port"
            | "proxy_protocol_server_addr"
            | "proxy_protocol_server_port" => Kind::NotFound,
            "upstream_cache_last_modified" => Kind::CacheValidator(0),
            "upstream_cache_etag" => Kind::CacheValidator(1),
            "upstream_cache_status" => Kind::UpstreamCacheStatus,
            "fastcgi_script_name" => Kind::FastcgiScriptName,
            "fastcgi_path_info" => Kind::FastcgiPathInfo,
            "content_type" => Kind::Http(header::CONTENT_TYPE),
            "content_length" => Kind::ContentLength,
            "request_body" => Kind::RequestBody,
            "limit_req_status" => Kind::LimitReqStatus,
            "limit_conn_status" => Kind::LimitConnStatus,
            // No limit_rate here: the rate is never limited.
            "limit_rate" => Kind::LimitRate,
            "msie" => Kind::Msie,
            n => {
                if let Some(k) = tls_kind(n) {
                    k
                } else if n.starts_with("upstream_trailer_") || n.starts_with("sent_trailer_") {
                    Kind::NotFound
                } else if let Some(h) = n.strip_prefix("sent_http_").and_then(header) {
                    Kind::SentHttp(h)
                } else if let Some(h) = n.strip_prefix("upstream_http_").and_then(header) {
                    Kind::UpstreamHttp(h)
                } else if let Some(c) = n.strip_prefix("upstream_cookie_") {
                    Kind::UpstreamCookie(c.to_string())
                } else if let Some(h) = n.strip_prefix("http_").and_then(header) {
                    Kind::Http(h)
                } else if let Some(a) = n.strip_prefix("arg_") {
                    Kind::Arg(a.to_string())
                } else if let Some(c) = n.strip_prefix("cookie_") {
                    Kind::Cookie(c.to_string())
                } else {
                    Kind::Other
                }
            }
        }
    }
}

/// The ssl module's variables.
fn tls_kind(name: &str) -> Option<Kind> {
    Some(match name {
        "ssl_protocol" => Kind::Tls(TlsVar::Protocol),
        "ssl_cipher" => Kind::Tls(TlsVar::Cipher),
        "ssl_server_name" => Kind::Tls(TlsVar::ServerName),
        "ssl_alpn_protocol" => Kind::Tls(TlsVar::Alpn),
        "ssl_session_reused" => Kind::Tls(TlsVar::Reused),
        "ssl_client_verify" => Kind::SslClientVerify,
        "ssl_ciphers" => Kind::Tls(TlsVar::Ciphers),
        "ssl_curve" => Kind::Tls(TlsVar::Curve),
        "ssl_curves" => Kind::Tls(TlsVar::Curves),
        "ssl_session_id" => Kind::Tls(TlsVar::SessionId),
        "ssl_early_data" => Kind::Tls(TlsVar::EarlyData),
        // Empty over TLS without a client certificate, not found on plain HTTP.
        "ssl_client_cert"
        | "ssl_client_raw_cert"
        | "ssl_client_escaped_cert"
        | "ssl_client_s_dn"
        | "ssl_client_i_dn"
        | "ssl_client_s_dn_legacy"
        | "ssl_client_i_dn_legacy"
        | "ssl_client_serial"
        | "ssl_client_fingerprint"
        | "ssl_client_v_start"
        | "ssl_client_v_end"
        | "ssl_client_v_remain" => Kind::Tls(TlsVar::NoClientCert),
        _ => return None,
    })
}

impl Var {
    /// The variable `name` (lowercase, without `$`).
    pub fn named(name: &str) -> Var {
        Var { name: name.to_string(), kind: Kind::of(name) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Template {
    pub fn parse(s: &str) -> Template {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                let ch = s[i..].chars().next().unwrap_or_default();
                lit.push(ch);
                i += ch.len_utf8();
                continue;
            }
            let (name, next) = if b.get(i + 1) == Some(&b'{') {
                match s[i + 2..].find('}') {
                    Some(end) => (&s[i + 2..i + 2 + end], i + 3 + end),
                    None => ("", i + 1),
                }
            } else {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                (&s[i + 1..j], j)
            };
            if name.is_empty() {
                lit.push('$');
                i += 1;
                continue;
            }
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            match name.parse::<usize>() {
                Ok(n) => parts.push(Part::Capture(n)),
                Err(_) => parts.push(Part::Var(Var::named(&name.to_ascii_lowercase()))),
            }
            i = next;
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Template { parts }
    }

    /// Parses a value nginx compiles as a script, refusing what its script
    /// compiler refuses: a `$` with no name after it, or `${name` with no
    /// closing bracket (in nginx's words).
    pub fn parse_checked(s: &str) -> Result<Template, String> {
        let b = s.as_bytes();
        let mut i = 0;
        while let Some(at) = memchr::memchr(b'$', &b[i..]) {
            let start = i + at + 1;
            if b.get(start) == Some(&b'{') {
                let name_len = b[start + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                let name = &s[start + 1..start + 1 + name_len];
                if b.get(start + 1 + name_len) != Some(&b'}') {
                    return Err(format!("the closing bracket in \"{name}\" variable is missing"));
                }
                if name.is_empty() {
                    return Err("invalid variable name".into());
                }
                i = start + name_len + 2;
            } else {
                let name_len = b[start..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                if name_len == 0 {
                    return Err("invalid variable name".into());
                }
                i = start + name_len;
            }
        }
        Ok(Template::parse(s))
    }

    pub fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Whether the text as written ends with `/` (try_files' mark of a folder).
    pub fn ends_with_slash(&self) -> bool {
        matches!(self.parts.last(), Some(Part::Lit(l)) if l.ends_with('/'))
    }

    pub fn has_variables(&self) -> bool {
        self.literal().is_none()
    }

    /// Variable names used, for checking them when the configuration loads.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .filter_map(|p| if let Part::Var(v) = p { Some(v.name.as_str()) } else { None })
    }

    /// Evaluates for a log line: variable values go through `escape`, and a
    /// variable with no value prints `-`, as nginx writes them.
    /// Appended to `out`: a worker renders its access lines into one
    /// buffer it keeps, not a new string each.
    pub fn eval_log_into(
        &self,
        vars: &dyn Vars,
        escape: impl Fn(&str, &mut String),
        out: &mut String,
    ) {
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    let found = if v.kind.clean() {
                        vars.with_var(v, &mut |val| out.push_str(val))
                    } else {
                        vars.with_var(v, &mut |val| escape(val, out))
                    };
                    if !found {
                        out.push('-');
                    }
                }
                Part::Capture(n) => escape(vars.capture(*n).unwrap_or_default(), out),
            }
        }
    }

    pub fn eval(&self, vars: &dyn Vars) -> String {
        // Room for a usual value from the start: grown from nothing, a path
        // like `$uri/` took three allocations instead of one.
        let mut out = String::with_capacity(64);
        self.eval_into(vars, &mut out);
        out
    }

    /// Evaluates a rewrite's replacement: the URI, and the arguments after
    /// the first `?` written in the replacement (a `?` a capture or a
    /// variable brings is part of the URI, as in nginx). The flag says the
    /// replacement ended with that `?`: the request's own arguments are dropped.
    pub fn eval_rewrite(&self, vars: &dyn Vars) -> (String, Option<String>, bool) {
        let mut uri = String::new();
        let mut args: Option<String> = None;
        for p in &self.parts {
            if let (Part::Lit(s), None) = (p, &args)
                && let Some(i) = s.find('?')
            {
                uri.push_str(&s[..i]);
                args = Some(s[i + 1..].to_string());
                continue;
            }
            let out = args.as_mut().unwrap_or(&mut uri);
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    vars.with_var(v, &mut |val| out.push_str(val));
                }
                Part::Capture(n) => out.push_str(vars.capture(*n).unwrap_or_default()),
            }
        }
        let bare = matches!(self.parts.last(), Some(Part::Lit(s)) if s.ends_with('?'));
        if bare
            && let Some(a) = &mut args
            && a.ends_with('?')
        {
            a.pop();
        }
        (uri, args, bare)
    }

    /// Appends the value to `out`, so a caller can reuse one buffer.
    pub fn eval_into(&self, vars: &dyn Vars, out: &mut String) {
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    vars.with_var(v, &mut |val| out.push_str(val));
                }
                Part::Capture(n) => out.push_str(vars.capture(*n).unwrap_or_default()),
            }
        }
    }
}

/// Something that answers variables.
pub trait Vars {
    fn var(&self, v: &Var) -> Option<String>;
    /// A regex capture of the location or rewrite that matched, lent.
    fn capture(&self, n: usize) -> Option<&str>;

    /// Hands the value of `v` to `f`, in one piece or in several that make
    /// it up in order; false when it has none. Values that already exist as
    /// text are lent, not copied.
    fn with_var(&self, v: &Var, f: &mut dyn FnMut(&str)) -> bool {
        match self.var(v) {
            Some(v) => {
                f(&v);
                true
            }
            None => false,
        }
    }
}

/// Variables every request has, known at load time so typos are caught.
/// One of the variables rcompose computes itself (`$uri`, `$http_*`, ...).
pub fn is_builtin(name: &str) -> bool {
    Kind::of(&name.to_ascii_lowercase()) != Kind::Other
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsVar {
    Protocol,
    Cipher,
    ServerName,
    Alpn,
    Reused,
    Http2,
    Ciphers,
    Curve,
    Curves,
    SessionId,
    EarlyData,
    NoClientCert,
}

impl RequestVars {
    /// A TLS variable: empty (not found) on a plain connection, as nginx's.
    fn tls_var(&self, v: TlsVar) -> Option<String> {
        if v == TlsVar::Http2 {
            let h2 = self.protocol == "HTTP/2.0";
            return Some(
                match (h2, self.tls.is_some()) {
                    (true, true) => "h2",
                    (true, false) => "h2c",
                    _ => "",
                }
                .to_string(),
            );
        }
        let t = self.tls.as_ref()?;
        Some(match v {
            TlsVar::Protocol => t.protocol.to_string(),
            TlsVar::Cipher => t.cipher.to_string(),
            TlsVar::ServerName => t.server_name.as_deref()?.to_string(),
            TlsVar::Alpn => if t.h2 { "h2" } else { "http/1.1" }.to_string(),
            // Sessions are not resumed across connections here.
            TlsVar::Reused => ".".to_string(),
            TlsVar::Ciphers => super::openssl_names::suites(&t.offered_suites),
            TlsVar::Curve => t.group.map(super::openssl_names::group).unwrap_or_default(),
            TlsVar::Curves => super::openssl_names::groups(&t.offered_groups),
            TlsVar::SessionId => t.session_id.clone(),
            // Early data is not accepted (no ssl_early_data here).
            TlsVar::EarlyData | TlsVar::NoClientCert | TlsVar::Http2 => String::new(),
        })
    }
}

pub fn is_known(name: &str, maps: &[String]) -> bool {
    Kind::of(name) != Kind::Other || maps.iter().any(|m| m == name)
}

/// Everything the per-request variables are computed from.
#[derive(Debug, Clone)]
pub struct RequestVars {
    pub method: hyper::Method,
    pub request_uri: String,
    pub uri: String,
    pub args: String,
    pub protocol: &'static str,
    pub headers: HeaderMap,
    pub remote: SocketAddr,
    /// `remote` as `$remote_addr` prints it.
    pub remote_text: IpText,
    /// The peer's own address where the realip module replaced `remote`.
    pub realip_peer: Option<(SocketAddr, IpText)>,
    pub local: SocketAddr,
    pub server_name: std::sync::Arc<str>,
    pub scheme: &'static str,
    /// What the connection's TLS negotiated; `None` on plain HTTP.
    pub tls: Option<std::sync::Arc<super::http::TlsInfo>>,
    pub captures: Captures,
    pub status: u16,
    pub body_bytes_sent: u64,
    pub bytes_sent: u64,
    pub started: Instant,
    pub started_wall: SystemTime,
    /// `$proxy_host` and `$proxy_port`, once a proxy_pass is reached.
    pub proxy_host: Option<std::sync::Arc<str>>,
    pub proxy_port: Option<u16>,
    /// The upstreams tried, in order: `$upstream_addr`, `$upstream_status`
    /// and `$upstream_response_time` list them, written out only where a
    /// template reads them (inline for the usual one try).
    pub upstream_tries: smallvec::SmallVec<[UpstreamTry; 1]>,
    /// `$fastcgi_script_name` and `$fastcgi_path_info`, set where `fastcgi_pass` handles the request.
    pub fastcgi: Option<Box<(String, String)>>,
    /// `$upstream_cache_status`: MISS, HIT, BYPASS, EXPIRED, STALE; empty without a cache.
    pub upstream_cache_status: &'static str,
    /// `$limit_req_status` and `$limit_conn_status`: PASSED, DELAYED,
    /// REJECTED (and their _DRY_RUN); empty where no limit applied.
    pub limit_req_status: &'static str,
    pub limit_conn_status: &'static str,
    /// The upstream's answer headers, kept where `$upstream_http_*` or
    /// `$upstream_cookie_*` are read.
    pub upstream_headers: Option<Box<HeaderMap>>,
    /// The request body read whole, for `$request_body`.
    pub request_body: Option<bytes::Bytes>,
    pub document_root: Option<std::sync::Arc<std::path::Path>>,
    pub request_filename: Option<std::sync::Arc<super::files::FileAt>>,
    /// The file the URI names in the location's root or alias, before it
    /// is looked up: `$request_filename` in the rewrite phase (`if (-f ...)`).
    pub mapped_filename: Option<std::path::PathBuf>,
    pub sent_headers: HeaderMap,
    pub maps: super::FastMap<String, String>,
    /// The connection's serial number and this request's number on it.
    pub connection: u64,
    pub connection_requests: u64,
    /// Bytes of the request head.
    pub head_length: u64,
    /// Bytes of the body read so far (nginx counts only what it reads).
    pub body_read: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// An absolute-form target's host, which nginx takes over Host.
    pub authority: Option<String>,
    /// `$host` from the Host header, as the head's check made it.
    pub host_name: Option<String>,
    /// Where the path ends in `request_uri` (its query or fragment follows).
    pub path_len: usize,
    /// The request line as sent, when it is not `METHOD URI PROTOCOL`
    /// (a refused head logs what was read of it).
    pub request_line: Option<String>,
    /// Headers with control bytes in their values, passed upstream as nginx passes them.
    pub raw_headers: Vec<(HeaderName, bytes::Bytes)>,
    /// When the connection was accepted (`$connection_time`).
    pub accepted: Instant,
    /// The client socket, for `$tcpinfo_*`.
    pub fd: Option<std::os::fd::RawFd>,
    /// `$pipe`: the head was in hand when the request before it ended.
    pub pipelined: bool,
    /// `$request_completion`: the answer went out whole.
    pub completed: bool,
    /// How the request body goes upstream, for `$proxy_internal_body_length`
    /// and `$proxy_internal_chunked`.
    pub proxy_body: ProxyBody,
    /// An expired cached answer's Last-Modified and ETag, while
    /// proxy_cache_revalidate asks the upstream about it.
    pub cache_validators: Option<Box<CacheValidators>>,
}

/// Last-Modified and ETag of a kept answer.
pub type CacheValidators = (Option<hyper::header::HeaderValue>, Option<hyper::header::HeaderValue>);

/// How `proxy_pass` sends a request's body: with this length, chunked, or
/// with none declared (not found, as nginx's `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyBody {
    #[default]
    Unknown,
    Length(u64),
    Chunked,
}

/// A header's value as text: bytes beyond ASCII, which nginx passes on as
/// they are, are carried (see [`super::rawtext`]).
fn value_text(v: &hyper::header::HeaderValue) -> std::borrow::Cow<'_, str> {
    match v.to_str() {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => super::rawtext::from_bytes(v.as_bytes()),
    }
}

fn header(h: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut values = h.get_all(name).iter().map(value_text);
    let mut out = values.next()?.into_owned();
    // Repeated headers join as nginx does: cookies with "; ", others with ", ".
    for v in values {
        out.push_str(if name == header::COOKIE { "; " } else { ", " });
        out.push_str(&v);
    }
    Some(out)
}

fn format_ip(a: &SocketAddr) -> String {
    match as_ipv4(a) {
        Some(v4) => ipv4_text(&v4),
        None => a.ip().to_string(),
    }
}

/// The IPv4 address, plain or mapped into IPv6, that nginx prints as one.
fn as_ipv4(a: &SocketAddr) -> Option<std::net::Ipv4Addr> {
    match a {
        SocketAddr::V4(v4) => Some(*v4.ip()),
        SocketAddr::V6(v6) => v6.ip().to_ipv4_mapped(),
    }
}

/// A client address as text, written once per connection: every access
/// log line, X-Real-IP and X-Forwarded-For of each request on it need it.
/// Inline, so that what carries it stays `Copy`.
#[derive(Clone, Copy)]
pub struct IpText {
    buf: [u8; 45],
    len: u8,
}

impl std::fmt::Debug for IpText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl IpText {
    pub fn new(a: &SocketAddr) -> IpText {
        // IPv4 in place: a String first cost an allocation a connection.
        let mut quad = [0u8; 15];
        let v6;
        let text = match as_ipv4(a) {
            Some(ip) => ipv4_into(&ip, &mut quad),
            None => {
                v6 = a.ip().to_string();
                v6.as_str()
            }
        };
        let mut buf = [0u8; 45];
        // An IPv6 address is at most 45 characters, its mapped IPv4 form included.
        let len = text.len().min(buf.len());
        buf[..len].copy_from_slice(&text.as_bytes()[..len]);
        IpText { buf, len: u8::try_from(len).unwrap_or(0) }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or_default()
    }
}

/// Dotted quad text, as `Display` writes it but without the formatting
/// machinery (it showed in profiles: client addresses go into every log
/// line and X-Forwarded-For).
pub fn ipv4_text(ip: &std::net::Ipv4Addr) -> String {
    let mut buf = [0u8; 15];
    ipv4_into(ip, &mut buf).to_string()
}

/// Dotted quad text written into `buf`.
fn ipv4_into<'a>(ip: &std::net::Ipv4Addr, buf: &'a mut [u8; 15]) -> &'a str {
    // Digit by digit: itoa's buffer and copy per octet cost three times this.
    let mut len = 0;
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf[len] = b'.';
            len += 1;
        }
        if o >= 100 {
            buf[len] = b'0' + o / 100;
            len += 1;
        }
        if o >= 10 {
            buf[len] = b'0' + o / 10 % 10;
            len += 1;
        }
        buf[len] = b'0' + o % 10;
        len += 1;
    }
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

/// Seconds with milliseconds, `1.234`, as nginx prints `$request_time`:
/// whole milliseconds, truncated (and without float formatting, which cost
/// a proxied request a thousand instructions).
pub fn secs_millis(d: std::time::Duration) -> String {
    let mut out = String::with_capacity(8);
    secs_millis_into(d, &mut out);
    out
}

/// [`secs_millis`], appended to `out`.
fn secs_millis_into(d: std::time::Duration, out: &mut String) {
    let ms = d.as_millis();
    out.push_str(itoa::Buffer::new().format(ms / 1000));
    out.push('.');
    let frac = ms % 1000;
    out.push_str(if frac < 10 {
        "00"
    } else if frac < 100 {
        "0"
    } else {
        ""
    });
    out.push_str(itoa::Buffer::new().format(frac));
}

/// `host:port` text of an address, IPv4 without the formatting machinery.
pub fn addr_text(a: &SocketAddr) -> String {
    let mut out = String::with_capacity(21);
    addr_into(a, &mut out);
    out
}

/// One upstream tried for a request.
#[derive(Debug, Clone)]
pub struct UpstreamTry {
    pub peer: UpstreamPeer,
    /// None: no answer came (the client left first), written `-` as nginx writes it.
    pub status: Option<u16>,
    /// To the answer's head; none if no head came.
    pub header: Option<std::time::Duration>,
    /// To when the try was passed over (failed, or its answer not taken);
    /// the answer taken times its body's end instead (see `Traffic`).
    pub time: Option<std::time::Duration>,
    /// Its bytes, connect and body's end, where a template reads them.
    pub traffic: Option<std::sync::Arc<super::client::Traffic>>,
}

/// Who was tried: an address, or a name that gave none.
#[derive(Debug, Clone)]
pub enum UpstreamPeer {
    Addr(SocketAddr),
    Named(Box<str>),
}

impl UpstreamTry {
    /// `$upstream_response_time`'s entry: a try passed over, to when it
    /// was; the answer, to its body's end (`-` before, as nginx has it while
    /// the head goes out). Without counted traffic the head's time stands in.
    fn response_time(&self) -> Option<Duration> {
        self.time.or_else(|| match &self.traffic {
            Some(t) => t.time(),
            None => self.header,
        })
    }

    /// `$upstream_connect_time`'s entry: to a connection in hand, `-`
    /// where none was made.
    fn connect_time(&self) -> Option<Duration> {
        match &self.traffic {
            Some(t) => t.connect_time(),
            None => self.header,
        }
    }

    fn addr_into(&self, out: &mut String) {
        match &self.peer {
            UpstreamPeer::Addr(a) => addr_into(a, out),
            UpstreamPeer::Named(n) => out.push_str(n),
        }
    }

    fn status_into(&self, out: &mut String) {
        match self.status {
            Some(s) => out.push_str(itoa::Buffer::new().format(s)),
            None => out.push('-'),
        }
    }
}

/// A time as `$upstream_*_time` lists it: seconds with milliseconds, or `-`.
fn secs_or_dash(d: Option<std::time::Duration>, out: &mut String) {
    match d {
        Some(d) => secs_millis_into(d, out),
        None => out.push('-'),
    }
}

/// [`addr_text`], appended to `out`.
pub fn addr_into(a: &SocketAddr, out: &mut String) {
    match a {
        SocketAddr::V4(v4) => {
            out.push_str(ipv4_into(v4.ip(), &mut [0u8; 15]));
            out.push(':');
            out.push_str(itoa::Buffer::new().format(v4.port()));
        }
        SocketAddr::V6(_) => {
            let _ = std::fmt::Write::write_fmt(out, format_args!("{a}"));
        }
    }
}

impl RequestVars {
    fn request_length(&self) -> u64 {
        self.head_length
            + self.body_read.as_ref().map_or(0, |r| r.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn host(&self) -> String {
        // $host: an absolute-form target's host, else the Host header
        // without its port, lowercased, else the server name.
        if let Some(a) = self.authority.as_ref().or(self.host_name.as_ref()) {
            return a.clone();
        }
        match header(&self.headers, &header::HOST) {
            Some(h) if !h.is_empty() => {
                let lower = h.to_ascii_lowercase();
                let name = without_port(&lower);
                name.strip_suffix('.').unwrap_or(name).to_string()
            }
            _ => self.server_name.to_string(),
        }
    }

    /// `$proxy_add_x_forwarded_for`: the client's X-Forwarded-For with its
    /// address added, lent without a copy when there is none.
    fn with_forwarded_for<R>(&self, f: &mut dyn FnMut(&str) -> R) -> R {
        // Made when compiled: a name built at run time costs a parse a request.
        const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
        match header(&self.headers, &XFF) {
            Some(x) => f(&format!("{x}, {}", self.remote_text.as_str())),
            None => f(self.remote_text.as_str()),
        }
    }

    /// One entry per upstream tried, joined with ", " as nginx joins them;
    /// not found (`-` in a log) without an upstream.
    fn tries(&self, entry: impl Fn(&UpstreamTry, &mut String)) -> Option<String> {
        joined(&self.upstream_tries, entry)
    }

    /// One time per try, `-` where it has none.
    fn try_times(&self, time: impl Fn(&UpstreamTry) -> Option<Duration>) -> Option<String> {
        self.tries(|t, out| secs_or_dash(time(t), out))
    }

    /// The tries whose traffic was counted (a template reads the figures).
    fn traffic(&self) -> impl Iterator<Item = &super::client::Traffic> {
        self.upstream_tries.iter().filter_map(|t| t.traffic.as_deref())
    }

    /// One figure per counted try, joined as `$upstream_status` is.
    fn traffic_list(&self, figure: impl Fn(&super::client::Traffic) -> u64) -> Option<String> {
        joined(self.traffic(), |t, out| out.push_str(itoa::Buffer::new().format(figure(t))))
    }

    fn arg(&self, name: &str) -> Option<String> {
        self.args.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            k.eq_ignore_ascii_case(name).then(|| v.to_string())
        })
    }
}

/// Entries joined with ", " as nginx joins its per-upstream lists; not
/// found (`-` in a log) when there are none.
fn joined<I: IntoIterator>(items: I, entry: impl Fn(I::Item, &mut String)) -> Option<String> {
    let mut items = items.into_iter();
    let first = items.next()?;
    let mut out = String::new();
    entry(first, &mut out);
    for t in items {
        out.push_str(", ");
        entry(t, &mut out);
    }
    Some(out)
}

/// A Host value without its port: `[::1]:80` keeps its brackets.
pub fn without_port(host: &str) -> &str {
    // A byte scan: `find`/`split` on a char went through the generic
    // searcher, some 800 instructions a proxied request for three calls.
    let b = host.as_bytes();
    let end = if b.first() == Some(&b'[') {
        b.iter()
            .position(|&c| c == b']')
            .map_or_else(|| b.iter().position(|&c| c == b':').unwrap_or(b.len()), |e| e + 1)
    } else {
        b.iter().position(|&c| c == b':').unwrap_or(b.len())
    };
    &host[..end]
}

/// Whether nginx takes a Host value as a name (ngx_http_validate_host): no
/// two dots in a row, no slash, no control character or space, and
/// something left once the port and a final dot are taken off.
pub fn valid_host(h: &[u8]) -> bool {
    let (mut dot, mut end, mut literal, mut rest) = (None, h.len(), false, false);
    for (i, &c) in h.iter().enumerate() {
        match c {
            b'.' if dot.is_some_and(|d| d + 1 == i) => return false,
            b'.' => dot = Some(i),
            b':' if !literal && !rest => {
                end = i;
                rest = true;
            }
            b'[' if i == 0 => literal = true,
            b']' if literal && !rest => {
                end = i + 1;
                rest = true;
                literal = false;
            }
            b'/' | 0..=0x20 | 0x7f => return false,
            _ => {}
        }
    }
    if dot.is_some_and(|d| d + 1 == end) {
        end -= 1;
    }
    end > 0
}

/// A header's value, lent when it has one, joined (and so copied) when repeated.
fn lend_header(map: &HeaderMap, h: &HeaderName, lend: &mut dyn FnMut(&str) -> bool) -> bool {
    let mut values = map.get_all(h).iter();
    match (values.next(), values.next()) {
        (None, _) => false,
        (Some(one), None) => lend(&value_text(one)),
        _ => header(map, h).is_some_and(|all| lend(&all)),
    }
}

/// `$request_id`: unique per request across the process's life and its
/// restarts (a random key per process), without a random draw per request.
fn request_id(connection: u64, request: u64) -> String {
    unique_hex(&[connection, request], 2)
}

/// `16 * words` hex digits that no other `of` gives in this process's life
/// or its restarts (a random key per process, no random draw per call):
/// `$request_id`, `$ssl_session_id`.
pub(super) fn unique_hex(of: &[u64], words: u64) -> String {
    use std::hash::{BuildHasher, Hasher};
    static KEY: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(foldhash::quality::RandomState::default);
    let mut out = String::with_capacity(64);
    for salt in 1..=words {
        let mut h = key.build_hasher();
        h.write_u64(salt);
        for w in of {
            h.write_u64(*w);
        }
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// Whether nginx 1.22 (with the modules of the official image) has this
/// variable: one it has that the built-in proxy does not set is a reason to
/// serve the configuration with nginx itself, not an error.
pub fn nginx_has(name: &str) -> bool {
    const PREFIXES: [&str; 6] =
        ["arg_", "cookie_", "http_", "sent_http_", "proxy_protocol_tlv_", "geoip_"];
    const NAMES: &[&str] = &[
        "ancient_browser",
        "connections_active",
        "connections_reading",
        "connections_waiting",
        "connections_writing",
        "date_gmt",
        "date_local",
        "http3",
        "invalid_referer",
        "is_request_port",
        "modern_browser",
        "proxy_add_via",
        "request_body_file",
        "request_port",
        "secure_link",
        "secure_link_expires",
        "uid_got",
        "uid_reset",
        "uid_set",
        "memcached_key",
    ];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// This machine's name, as `$hostname` gives it.
fn hostname() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| rustix::system::uname().nodename().to_string_lossy().into_owned())
}

impl RequestVars {
    /// The variables of a request passed to an upstream (proxy, FastCGI, cache).
    /// Connection figures, upstream byte counts and what the cache and TLS
    /// say of this request.
    fn figure(&self, kind: &Kind) -> Option<String> {
        Some(match kind {
            Kind::LimitReqStatus => {
                return Some(self.limit_req_status).filter(|s| !s.is_empty()).map(str::to_string);
            }
            Kind::LimitConnStatus => {
                return Some(self.limit_conn_status).filter(|s| !s.is_empty()).map(str::to_string);
            }
            Kind::LimitRate => "0".to_string(),
            Kind::Msie => {
                let ua =
                    self.headers.get(header::USER_AGENT).map(|v| v.as_bytes()).unwrap_or_default();
                if memchr::memmem::find(ua, b"MSIE ").is_some() { "1" } else { "" }.to_string()
            }
            Kind::UpstreamBytesSent | Kind::UpstreamBytesReceived => {
                return self.traffic_list(|t| match kind {
                    Kind::UpstreamBytesSent => t.sent(),
                    _ => t.received(),
                });
            }
            Kind::ConnectionTime => secs_millis(self.accepted.elapsed()),
            Kind::Pipe => if self.pipelined { "p" } else { "." }.to_string(),
            Kind::RequestCompletion => if self.completed { "OK" } else { "" }.to_string(),
            Kind::TcpInfo(i) => {
                let Some(t) = self.fd.and_then(super::tcpinfo::read) else {
                    return Some(String::new());
                };
                [t.rtt, t.rttvar, t.snd_cwnd, t.rcv_space][usize::from(*i)].to_string()
            }
            Kind::ProxyInternalBodyLength => match self.proxy_body {
                ProxyBody::Length(n) => n.to_string(),
                ProxyBody::Chunked | ProxyBody::Unknown => return None,
            },
            Kind::ProxyInternalChunked => match self.proxy_body {
                ProxyBody::Chunked => "chunked".to_string(),
                _ => return None,
            },
            // nginx reads them only while the answer's status is EXPIRED.
            Kind::CacheValidator(_) if self.upstream_cache_status != "EXPIRED" => return None,
            Kind::CacheValidator(i) => {
                let (lm, etag) = self.cache_validators.as_deref()?;
                let v = if *i == 0 { lm } else { etag };
                return v.as_ref().map(|v| value_text(v).into_owned());
            }
            Kind::SslClientVerify => {
                self.tls.as_ref()?;
                "NONE".to_string()
            }
            _ => return None,
        })
    }

    fn passed_var(&self, kind: &Kind) -> Option<String> {
        Some(match kind {
            Kind::UpstreamHttp(h) => header(self.upstream_headers.as_deref()?, h)?,
            // Set-Cookie's `NAME=value`, up to its first `;`.
            Kind::UpstreamCookie(c) => {
                self.upstream_headers.as_deref()?.get_all(header::SET_COOKIE).iter().find_map(
                    |v| {
                        let (k, rest) = v.to_str().ok()?.split_once('=')?;
                        (k.trim() == c).then(|| rest.split(';').next().unwrap_or("").to_string())
                    },
                )?
            }
            Kind::RequestBody => {
                String::from_utf8_lossy(self.request_body.as_ref().filter(|b| !b.is_empty())?)
                    .into_owned()
            }
            Kind::UpstreamCacheStatus if self.upstream_cache_status.is_empty() => return None,
            Kind::UpstreamCacheStatus => self.upstream_cache_status.to_string(),
            Kind::FastcgiScriptName => {
                self.fastcgi.as_ref().map_or_else(String::new, |f| f.0.clone())
            }
            Kind::FastcgiPathInfo => {
                self.fastcgi.as_ref().map_or_else(String::new, |f| f.1.clone())
            }
            _ => return None,
        })
    }
}

/// A regular expression's groups, numbered from the whole match at 0: the
/// text matched once and each group's place in it, so a match costs one
/// allocation, not one per group. Small, as every request's variables carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    text: String,
    /// Byte ranges; `NONE` for a group that took no part.
    spans: smallvec::SmallVec<[(u32, u32); 2]>,
}

const NONE: (u32, u32) = (u32::MAX, u32::MAX);

impl Captures {
    /// Groups of `text` by their byte ranges; `None` for a group that took no part.
    pub fn from_groups(
        text: &str,
        groups: impl IntoIterator<Item = Option<std::ops::Range<usize>>>,
    ) -> Captures {
        let span = |r: std::ops::Range<usize>| {
            Some((u32::try_from(r.start).ok()?, u32::try_from(r.end).ok()?))
        };
        let spans = groups.into_iter().map(|g| g.and_then(span).unwrap_or(NONE)).collect();
        Captures { text: text.to_string(), spans }
    }

    /// The groups of a regex engine's match of `text`.
    pub fn from_regex(text: &str, caps: &regex::Captures<'_>) -> Captures {
        Captures::from_groups(text, caps.iter().map(|m| m.map(|m| m.range())))
    }

    /// Group `n`, `None` past the last or for one that took no part.
    pub fn get(&self, n: usize) -> Option<&str> {
        let &(from, to) = self.spans.get(n)?;
        self.text.get(usize::try_from(from).ok()?..usize::try_from(to).ok()?)
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

impl Vars for RequestVars {
    fn capture(&self, n: usize) -> Option<&str> {
        self.captures.get(n)
    }

    fn with_var(&self, v: &Var, f: &mut dyn FnMut(&str)) -> bool {
        let mut lend = |s: &str| {
            f(s);
            true
        };
        if !self.maps.is_empty()
            && let Some(m) = self.maps.get(&v.name)
        {
            return lend(m);
        }
        match &v.kind {
            Kind::RequestUri => lend(&self.request_uri),
            Kind::Uri => lend(&self.uri),
            Kind::RequestMethod => lend(self.method.as_str()),
            Kind::Args => lend(&self.args),
            Kind::Scheme => lend(self.scheme),
            Kind::Request => {
                if let Some(line) = &self.request_line {
                    return lend(line);
                }
                for piece in [self.method.as_str(), " ", &self.request_uri, " ", self.protocol] {
                    f(piece);
                }
                true
            }
            Kind::TimeLocal => with_time(self.started_wall, TimeFormat::Local, &mut |t| lend(t)),
            Kind::TimeIso8601 => {
                with_time(self.started_wall, TimeFormat::Iso8601, &mut |t| lend(t))
            }
            Kind::ServerProtocol => lend(self.protocol),
            Kind::Other | Kind::NotFound => false,
            Kind::RemoteAddr => lend(self.remote_text.as_str()),
            Kind::RealipRemoteAddr => {
                lend(self.realip_peer.as_ref().map_or(&self.remote_text, |p| &p.1).as_str())
            }
            Kind::ProxyAddXForwardedFor => self.with_forwarded_for(&mut lend),
            Kind::BodyBytesSent => lend(itoa::Buffer::new().format(self.body_bytes_sent)),
            Kind::BytesSent => lend(itoa::Buffer::new().format(self.bytes_sent)),
            Kind::Connection => lend(itoa::Buffer::new().format(self.connection)),
            Kind::ConnectionRequests => lend(itoa::Buffer::new().format(self.connection_requests)),
            Kind::RequestLength => lend(itoa::Buffer::new().format(self.request_length())),
            Kind::Hostname => lend(hostname()),
            // Not found (nginx logs `-`) until a proxy_pass is reached.
            Kind::ProxyHost => self.proxy_host.as_deref().is_some_and(&mut lend),
            Kind::Host => match self.authority.as_ref().or(self.host_name.as_ref()) {
                Some(a) => lend(a),
                // A refused request's head was not checked: the full rules.
                None => lend(&self.host()),
            },
            // Three digits or more: as `{:03}` writes it.
            Kind::Status if self.status >= 100 => lend(itoa::Buffer::new().format(self.status)),
            Kind::Http(h) => lend_header(&self.headers, h, &mut lend),
            Kind::SentHttp(h) => lend_header(&self.sent_headers, h, &mut lend),
            _ => self.var(v).is_some_and(|s| lend(&s)),
        }
    }

    fn var(&self, v: &Var) -> Option<String> {
        if let Some(m) = if self.maps.is_empty() { None } else { self.maps.get(&v.name) } {
            return Some(m.clone());
        }
        Some(match &v.kind {
            Kind::Host => self.host(),
            Kind::RemoteAddr => self.remote_text.as_str().to_string(),
            Kind::RemotePort => self.remote.port().to_string(),
            Kind::RealipRemoteAddr => {
                self.realip_peer.as_ref().map_or(&self.remote_text, |p| &p.1).as_str().to_string()
            }
            Kind::RealipRemotePort => {
                self.realip_peer.as_ref().map_or(self.remote, |p| p.0).port().to_string()
            }
            Kind::Other | Kind::NotFound => return None,
            // From any Basic credentials sent, checked or not, as nginx takes it.
            Kind::RemoteUser => {
                let v = self.headers.get(header::AUTHORIZATION)?;
                super::auth::credentials(v.as_bytes())?.0
            }
            Kind::BinaryRemoteAddr => match self.remote.ip() {
                std::net::IpAddr::V4(a) => super::rawtext::from_bytes(&a.octets()).into_owned(),
                std::net::IpAddr::V6(a) => super::rawtext::from_bytes(&a.octets()).into_owned(),
            },
            Kind::RequestId => request_id(self.connection, self.connection_requests),
            Kind::Https => if self.tls.is_some() { "on" } else { "" }.to_string(),
            Kind::Tls(v) => return self.tls_var(*v),
            // The body as it came; what the client got once gzip is off.
            // Counted: what each try read after the answer's head.
            Kind::UpstreamResponseLength if self.traffic().next().is_some() => {
                return self.traffic_list(|t| t.body());
            }
            Kind::UpstreamResponseLength if !self.upstream_tries.is_empty() => {
                self.body_bytes_sent.to_string()
            }
            Kind::UpstreamResponseLength => return None,
            Kind::UpstreamConnectTime => return self.try_times(UpstreamTry::connect_time),
            Kind::UpstreamHeaderTime => return self.try_times(|t| t.header),
            Kind::Scheme => self.scheme.to_string(),
            Kind::Request => match &self.request_line {
                Some(line) => line.clone(),
                None => [self.method.as_str(), " ", &self.request_uri, " ", self.protocol].concat(),
            },
            Kind::RequestMethod => self.method.to_string(),
            Kind::RequestUri => self.request_uri.clone(),
            Kind::Uri => self.uri.clone(),
            Kind::Args => self.args.clone(),
            Kind::IsArgs => {
                if self.args.is_empty() {
                    String::new()
                } else {
                    "?".into()
                }
            }
            Kind::ServerName => self.server_name.to_string(),
            Kind::ServerPort => self.local.port().to_string(),
            Kind::ServerAddr => format_ip(&self.local),
            Kind::ServerProtocol => self.protocol.to_string(),
            Kind::Status => format!("{:03}", self.status),
            Kind::BodyBytesSent => self.body_bytes_sent.to_string(),
            Kind::BytesSent => self.bytes_sent.to_string(),
            Kind::RequestTime => secs_millis(self.started.elapsed()),
            Kind::RequestLength => self.request_length().to_string(),
            Kind::TimeLocal => format_time(self.started_wall, TimeFormat::Local),
            Kind::TimeIso8601 => format_time(self.started_wall, TimeFormat::Iso8601),
            Kind::Msec => secs_millis(
                self.started_wall.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default(),
            ),
            Kind::ProxyHost => return self.proxy_host.as_deref().map(str::to_string),
            Kind::ProxyPort => return self.proxy_port.map(|p| p.to_string()),
            Kind::ProxyAddXForwardedFor => self.with_forwarded_for(&mut |x: &str| x.to_string()),
            // Not found without an upstream, as in nginx.
            Kind::UpstreamAddr => return self.tries(UpstreamTry::addr_into),
            Kind::UpstreamStatus => return self.tries(UpstreamTry::status_into),
            Kind::UpstreamResponseTime => return self.try_times(UpstreamTry::response_time),
            k @ (Kind::UpstreamHttp(_)
            | Kind::UpstreamCookie(_)
            | Kind::RequestBody
            | Kind::UpstreamCacheStatus
            | Kind::FastcgiScriptName
            | Kind::FastcgiPathInfo) => return self.passed_var(k),
            Kind::DocumentRoot => {
                self.document_root.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
            }
            Kind::RequestFilename => match (&self.request_filename, &self.mapped_filename) {
                (Some(f), _) => f.path.display().to_string(),
                (None, Some(p)) => p.display().to_string(),
                (None, None) => String::new(),
            },
            Kind::Connection => self.connection.to_string(),
            Kind::ConnectionRequests => self.connection_requests.to_string(),
            Kind::Pid => std::process::id().to_string(),
            Kind::Hostname => hostname().to_string(),
            Kind::NginxVersion => "1.22.1".into(),
            Kind::Http(h) => header(&self.headers, h)?,
            Kind::ContentLength => match header(&self.headers, &header::CONTENT_LENGTH) {
                Some(v) => v,
                None if self.headers.contains_key(header::TRANSFER_ENCODING) => {
                    self.body_read.as_ref()?.load(std::sync::atomic::Ordering::Relaxed).to_string()
                }
                None => return None,
            },
            Kind::SentHttp(h) => header(&self.sent_headers, h)?,
            Kind::Arg(a) => self.arg(a)?,
            Kind::Cookie(c) => {
                let cookies = header(&self.headers, &header::COOKIE)?;
                cookies.split(';').find_map(|kv| {
                    let (k, v) = kv.trim().split_once('=')?;
                    (k == c).then(|| v.to_string())
                })?
            }
            k => return self.figure(k),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_keep_each_group_of_the_text_matched() {
        let re = regex::Regex::new(r"^/api(/(x)|/(.*))$").unwrap();
        let text = "/api/items";
        let c = Captures::from_regex(text, &re.captures(text).unwrap());
        assert_eq!(c.get(0), Some("/api/items"));
        assert_eq!(c.get(1), Some("/items"));
        assert_eq!(c.get(2), None, "a group that took no part");
        assert_eq!(c.get(3), Some("items"));
        assert_eq!(c.get(4), None, "past the last group");
        assert!(!c.is_empty() && Captures::default().is_empty());
    }

    #[test]
    fn lent_values_match_the_owned_ones() {
        let mut headers = HeaderMap::new();
        let mut rv = vars();
        for (host, remote) in [
            ("Example.COM:8080", "10.1.2.3:5"),
            ("example.com:80", "127.0.0.1:9"),
            ("[::1]:80", "[::1]:7"),
            ("", "1.2.3.4:1"),
        ] {
            headers.clear();
            headers.insert(hyper::header::HOST, host.parse().unwrap());
            rv.headers = headers.clone();
            rv.remote = remote.parse().unwrap();
            rv.body_bytes_sent = 1234567;
            rv.bytes_sent = 0;
            for name in [
                "host",
                "remote_addr",
                "body_bytes_sent",
                "bytes_sent",
                "status",
                "http_host",
                "uri",
                "remote_user",
                "time_local",
                "time_iso8601",
                "request",
                "http_cookie",
                "connection_requests",
                "nope",
            ] {
                let var = Var::named(name);
                let mut lent: Option<String> = None;
                rv.with_var(&var, &mut |v| lent.get_or_insert_default().push_str(v));
                assert_eq!(lent, rv.var(&var), "{name} with Host {host:?} from {remote}");
            }
        }
    }

    #[test]
    fn values_copied_unescaped_into_access_lines_never_need_escaping() {
        let mut rv = vars();
        rv.headers.insert(hyper::header::USER_AGENT, "a \"quoted\" agent".parse().unwrap());
        rv.remote = "[2001:db8::1]:65535".parse().unwrap();
        rv.status = 499;
        let clean = [
            "remote_addr",
            "remote_port",
            "server_port",
            "server_addr",
            "status",
            "body_bytes_sent",
            "bytes_sent",
            "request_time",
            "request_length",
            "time_local",
            "time_iso8601",
            "msec",
            "upstream_status",
            "upstream_response_time",
            "upstream_connect_time",
            "upstream_header_time",
            "upstream_response_length",
            "upstream_bytes_sent",
            "upstream_bytes_received",
            "connection",
            "connection_requests",
            "connection_time",
            "pid",
            "request_id",
            "pipe",
            "request_completion",
            "tcpinfo_rtt",
        ];
        for name in clean {
            let var = Var::named(name);
            assert!(var.kind.clean(), "{name}");
            rv.with_var(&var, &mut |v| {
                let mut escaped = String::new();
                crate::proxy::log::escape_default(v, &mut escaped);
                assert_eq!(escaped, v, "{name}");
            });
        }
        // A value from the client is still escaped.
        let t = Template::parse("$status \"$http_user_agent\"");
        let mut line = String::new();
        t.eval_log_into(&rv, crate::proxy::log::escape_default, &mut line);
        assert_eq!(line, "499 \"a \\x22quoted\\x22 agent\"");
    }

    #[test]
    fn times_are_whole_milliseconds_as_nginx_prints_them() {
        use std::time::Duration;
        for (d, text) in [
            (0, "0.000"),
            (999, "0.000"),
            (1_000, "0.001"),
            (1_234_999, "1.234"),
            (60_010_000, "60.010"),
            (7_000_000_000, "7000.000"),
        ] {
            assert_eq!(secs_millis(Duration::from_micros(d)), text);
        }
    }

    #[test]
    fn addresses_read_as_display_writes_them() {
        for o in 0..=255u8 {
            let v4 = std::net::Ipv4Addr::new(o, 255 - o, o / 2, o.wrapping_mul(7));
            assert_eq!(ipv4_text(&v4), v4.to_string());
        }
        for ip in ["0.0.0.0", "127.0.0.1", "10.200.3.45", "255.255.255.255", "1.22.100.9"] {
            let v4: std::net::Ipv4Addr = ip.parse().unwrap();
            assert_eq!(ipv4_text(&v4), ip);
            for port in [0u16, 7, 80, 65535] {
                let a = SocketAddr::from((v4, port));
                assert_eq!(addr_text(&a), a.to_string());
            }
        }
        let v6: SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(addr_text(&v6), "[::1]:8080");
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:1".parse().unwrap();
        assert_eq!(format_ip(&mapped), "10.0.0.1");
        // The text kept per connection: the longest IPv6 form fits whole.
        assert_eq!(IpText::new(&mapped).as_str(), "10.0.0.1");
        for v4 in ["0.0.0.0:1", "255.255.255.255:2", "127.0.0.1:3", "10.20.3.40:4"] {
            let a: SocketAddr = v4.parse().unwrap();
            assert_eq!(IpText::new(&a).as_str(), a.ip().to_string());
        }
        let longest: SocketAddr =
            "[ffff:ffff:ffff:ffff:ffff:fffe:255.255.255.255]:1".parse().unwrap();
        assert_eq!(IpText::new(&longest).as_str(), "ffff:ffff:ffff:ffff:ffff:fffe:ffff:ffff");
        let long_v6: SocketAddr = "[1111:2222:3333:4444:5555:6666:7777:8888]:1".parse().unwrap();
        assert_eq!(IpText::new(&long_v6).as_str(), "1111:2222:3333:4444:5555:6666:7777:8888");
    }

    #[test]
    fn hosts_are_taken_as_nginx_takes_them() {
        for h in [
            "a",
            "example.com",
            "a.:80",
            "EXAMPLE.com:1000",
            "[::1]",
            "[::1]:80",
            ".a",
            "a\\b",
            "a:b:c",
            "xn--caf-dma.fr",
        ] {
            assert!(valid_host(h.as_bytes()), "{h:?} is a name to nginx");
        }
        for h in
            ["", ".", ":80", "a..b", "a/b", "a b", "a\tb", "a\u{7f}", "..", "a.:80..", "[::1]..:80"]
        {
            assert!(!valid_host(h.as_bytes()), "{h:?} is refused by nginx");
        }
    }

    pub(super) fn vars() -> RequestVars {
        let mut headers = HeaderMap::new();
        headers.insert("host", "Example.COM:1000".parse().unwrap());
        headers.insert("x-forwarded-for", "10.0.0.1".parse().unwrap());
        headers.insert("user-agent", "curl/8".parse().unwrap());
        headers.insert("cookie", "a=1; sid=xyz".parse().unwrap());
        RequestVars {
            method: hyper::Method::GET,
            request_uri: "/api/items/7?x=1&Y=2".into(),
            uri: "/api/items/7".into(),
            args: "x=1&Y=2".into(),
            protocol: "HTTP/1.1",
            headers,
            remote: "192.168.1.5:5555".parse().unwrap(),
            remote_text: IpText::new(&"192.168.1.5:5555".parse().unwrap()),
            local: "0.0.0.0:1000".parse().unwrap(),
            server_name: "".into(),
            scheme: "http",
            tls: None,
            captures: Captures::from_groups("/api/items/7", [Some(0..12), Some(4..12)]),
            status: 200,
            body_bytes_sent: 12,
            bytes_sent: 100,
            started: Instant::now(),
            started_wall: SystemTime::UNIX_EPOCH,
            proxy_host: Some("docker-fastapi".into()),
            proxy_port: Some(80),
            upstream_tries: Default::default(),
            fastcgi: None,
            upstream_cache_status: "",
            limit_req_status: "",
            limit_conn_status: "",
            upstream_headers: None,
            request_body: None,
            document_root: Default::default(),
            request_filename: Default::default(),
            mapped_filename: None,
            realip_peer: None,
            sent_headers: HeaderMap::new(),
            maps: Default::default(),
            connection: 3,
            connection_requests: 2,
            head_length: 77,
            body_read: None,
            authority: None,
            host_name: None,
            path_len: "/api/items/7".len(),
            request_line: None,
            raw_headers: Vec::new(),
            accepted: Instant::now(),
            fd: None,
            pipelined: false,
            completed: false,
            proxy_body: ProxyBody::Unknown,
            cache_validators: None,
        }
    }

    #[test]
    fn templates_and_variables() {
        let v = vars();
        let t = |s: &str| Template::parse(s).eval(&v);
        assert_eq!(t("$host"), "example.com");
        assert_eq!(t("$http_host"), "Example.COM:1000");
        assert_eq!(t("$scheme://${host}x"), "http://example.comx");
        assert_eq!(t("$1"), "/items/7");
        assert_eq!(t("$remote_addr:$remote_port"), "192.168.1.5:5555");
        assert_eq!(t("$proxy_add_x_forwarded_for"), "10.0.0.1, 192.168.1.5");
        assert_eq!(t("$arg_x $arg_y"), "1 2");
        assert_eq!(t("$http_user_agent"), "curl/8");
        assert_eq!(t("$cookie_sid"), "xyz");
        assert_eq!(t("$request"), "GET /api/items/7?x=1&Y=2 HTTP/1.1");
        assert_eq!(t("$status $nope."), "200 .");
        assert_eq!(t("cost $ 5"), "cost $ 5");
        assert_eq!(t("$msec"), "0.000");
        assert_eq!(t("$connection $connection_requests $request_length"), "3 2 77");
        assert_eq!(t("$content_type|$sent_http_x|$http_cookie|$cookie_a"), "||a=1; sid=xyz|1");
        assert!(!t("$hostname").is_empty());
        assert!(Template::parse("plain").literal().is_some());
        assert!(Template::parse("$uri").has_variables());
    }

    #[test]
    fn a_host_loses_its_port_and_keeps_its_brackets() {
        for (host, bare) in [
            ("example.com:1000", "example.com"),
            ("example.com", "example.com"),
            ("[::1]:80", "[::1]"),
            ("[::1]", "[::1]"),
            ("[::1", "["),
            (":80", ""),
            ("", ""),
            ("h\u{e9}:1", "h\u{e9}"),
        ] {
            assert_eq!(super::without_port(host), bare, "{host:?}");
        }
    }
}
