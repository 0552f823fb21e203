//! The compiled configuration: what a request is matched and served against.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use crate::diag::Location as Loc;
use crate::proxy::vars::{Captures, Template};

#[derive(Debug)]
pub struct Config {
    pub workers: usize,
    pub worker_connections: usize,
    pub error_log: Option<String>,
    pub http: Http,
}

#[derive(Debug, Default)]
pub struct Http {
    /// Shared with every access line waiting for its response to end.
    pub log_formats: Arc<crate::proxy::FastMap<String, Arc<LogFormat>>>,
    pub upstreams: HashMap<String, Arc<UpstreamDef>>,
    pub maps: Vec<MapDef>,
    pub servers: Vec<Arc<Server>>,
    pub client_header_timeout: Duration,
    /// `limit_req_zone`s by name.
    pub limit_zones: HashMap<String, Arc<crate::proxy::limit::Zone>>,
    /// `proxy_cache_path` zones by name.
    pub cache_zones: HashMap<String, Arc<crate::proxy::cache::Zone>>,
    /// `limit_conn_zone`s by name.
    pub conn_zones: HashMap<String, Arc<crate::proxy::limit_conn::ConnZone>>,
    /// Some log format, or a `map` one could read, prints `$sent_http_*`:
    /// only then is each response's header map copied for the access log.
    pub logs_sent_headers: bool,
    /// Some template reads `$upstream_http_*` or `$upstream_cookie_*`:
    /// only then are an upstream's answer headers copied for it.
    pub reads_upstream_headers: bool,
    /// Some template reads `$request_body`: only then is a body copied for it.
    pub reads_request_body: bool,
    /// Some template reads `$upstream_bytes_*`, `$upstream_response_length`,
    /// `$upstream_response_time` or `$upstream_connect_time`: only then are
    /// a try's bytes counted and its connection and body's end timed.
    pub counts_upstream_traffic: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    Default,
    Json,
    None,
}

#[derive(Debug, Clone)]
pub struct LogFormat {
    pub template: Template,
    pub escape: Escape,
}

#[derive(Debug, Clone)]
pub struct UpstreamServer {
    /// The address as written (`web`, `127.0.0.1:8001`): what `hash ... consistent` hashes.
    pub written: String,
    pub host: String,
    pub port: u16,
    pub weight: u32,
    pub max_fails: u32,
    pub fail_timeout: Duration,
    pub backup: bool,
    pub down: bool,
}

#[derive(Debug)]
pub struct UpstreamDef {
    pub name: String,
    pub servers: Vec<UpstreamServer>,
    pub keepalive: Keepalive,
    pub balance: Balance,
}

/// How an upstream block chooses a server for each request.
#[derive(Debug, Clone, Default)]
pub enum Balance {
    /// Smooth weighted round robin, nginx's default.
    #[default]
    RoundRobin,
    /// `ip_hash`: a client's requests go to one server (by its /24, or whole IPv6 address).
    IpHash,
    /// `least_conn`: the server with the fewest requests in flight for its weight.
    LeastConn,
    /// `hash KEY [consistent]`: the key's value chooses the server.
    Hash { key: crate::proxy::vars::Template, consistent: bool },
}

/// How connections to an upstream are kept between requests, per worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// `keepalive N`: idle connections kept for the whole upstream block, to
    /// any of its servers, the least recently used closed past it. Without
    /// the directive rcompose still keeps up to `DEFAULT_IDLE` (nginx would
    /// keep none).
    pub idle: usize,
    /// Which idle pool the limit counts in: the upstream block's (the same
    /// across reloads), or none for an address written in `proxy_pass`,
    /// whose pool is its own.
    pub pool: Option<u64>,
    /// `keepalive_timeout`: how long one may stay idle.
    pub timeout: Duration,
    /// `keepalive_requests`: requests on one connection before it is closed.
    pub requests: u64,
    /// `keepalive_time`: how long one connection may be used, in all.
    pub time: Duration,
}

impl Keepalive {
    pub const DEFAULT_IDLE: usize = 1024;
}

impl Default for Keepalive {
    /// nginx's defaults for all but `idle`.
    fn default() -> Self {
        Keepalive {
            idle: Self::DEFAULT_IDLE,
            pool: None,
            timeout: Duration::from_secs(60),
            requests: 1000,
            time: Duration::from_secs(3600),
        }
    }
}

/// The idle pool of the upstream block named `name`: one number per name
/// for the life of the process, so a reload keeps using the pool.
pub(super) fn pool_of(name: &str) -> u64 {
    static POOLS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    let at = pools.iter().position(|n| n == name).unwrap_or_else(|| {
        pools.push(name.to_string());
        pools.len() - 1
    });
    at as u64
}

#[derive(Debug)]
pub struct MapDef {
    pub source: Template,
    pub var: String,
    pub default: Template,
    pub exact: crate::proxy::FastMap<String, Template>,
    pub regexes: Vec<(Regex, Template)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Listen {
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub default_server: bool,
    /// `listen ... ssl`: connections speak TLS.
    pub ssl: bool,
    /// `listen ... http2`: HTTP/2 by ALPN over TLS, by its preface without.
    pub http2: bool,
    /// Where it was written (the server's `{` for the implicit `listen 80`).
    pub at: Loc,
}

#[derive(Debug)]
pub enum ServerName {
    Exact(String),
    /// `*.example.com` or `.example.com`: the suffix, with its leading dot.
    Suffix(String),
    /// `www.example.*`: the prefix, with its trailing dot.
    Prefix(String),
    Regex(Regex),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    None,
    Last,
    Break,
    Redirect,
    Permanent,
}

/// A rewrite's regular expression, with a shortcut for the shape most
/// rewrites have, `^/api(/.*)$`: a prefix test and a scan for a newline give
/// the regex engine's captures without it (it took some 1,100 of the 49,000
/// instructions of a request proxied through the example's `/api/`).
#[derive(Debug)]
pub struct RewriteRegex {
    pub(super) regex: Regex,
    /// `^BEFORE(START.*)$`: the literal before the one group, and the literal it starts with.
    shortcut: Option<(String, String)>,
}

impl RewriteRegex {
    pub(super) fn new(regex: Regex, pattern: &str) -> RewriteRegex {
        RewriteRegex { shortcut: prefix_shape(pattern), regex }
    }

    /// The captures, numbered from the whole match at 0, or `None` without a match.
    pub fn captures(&self, s: &str) -> Option<Captures> {
        if let Some((before, start)) = &self.shortcut {
            let rest = s.strip_prefix(before.as_str())?;
            // `.` stops at a newline, and `$` is the end of the text.
            return (rest.starts_with(start.as_str()) && !rest.contains('\n')).then(|| {
                Captures::from_groups(s, [Some(0..s.len()), Some(before.len()..s.len())])
            });
        }
        Some(Captures::from_regex(s, &self.regex.captures(s)?))
    }
}

/// Recognises `^BEFORE(START.*)$` in the parsed pattern (so flags, escapes
/// and classes are read as the regex engine reads them); anything else,
/// caseless patterns included, goes to the engine.
pub(super) fn prefix_shape(pattern: &str) -> Option<(String, String)> {
    use regex_syntax::hir::{Dot, Hir, HirKind, Look};
    let hir = regex_syntax::parse(pattern).ok()?;
    let literal = |h: &Hir| match h.kind() {
        HirKind::Literal(l) => String::from_utf8(l.0.to_vec()).ok(),
        _ => None,
    };
    let any_but_newline_repeated = |h: &Hir| match h.kind() {
        HirKind::Repetition(r) => {
            r.min == 0 && r.max.is_none() && r.greedy && *r.sub == Hir::dot(Dot::AnyCharExceptLF)
        }
        _ => false,
    };
    let HirKind::Concat(items) = hir.kind() else { return None };
    let (first, last) = (items.first()?, items.last()?);
    if *first.kind() != HirKind::Look(Look::Start) || *last.kind() != HirKind::Look(Look::End) {
        return None;
    }
    let (before, group) = match &items[1..items.len() - 1] {
        [b, g] => (literal(b)?, g),
        [g] => (String::new(), g),
        _ => return None,
    };
    let HirKind::Capture(c) = group.kind() else { return None };
    if c.index != 1 {
        return None;
    }
    let start = match c.sub.kind() {
        HirKind::Concat(inner) => match inner.as_slice() {
            [l, r] if any_but_newline_repeated(r) => literal(l)?,
            _ => return None,
        },
        _ if any_but_newline_repeated(&c.sub) => String::new(),
        _ => return None,
    };
    Some((before, start))
}

#[derive(Debug)]
pub enum Step {
    Rewrite {
        regex: RewriteRegex,
        replacement: Template,
        flag: Flag,
    },
    Return {
        code: u16,
        body: Option<Template>,
    },
    /// `set $VAR VALUE`: a variable of the request, from here on.
    Set {
        var: String,
        value: Template,
    },
    /// `if (COND) { ... }`: its steps when the condition holds; in a
    /// location, its settings (a location of its own, inheriting) then
    /// answer the request, as nginx's "if in location" does.
    If {
        cond: Cond,
        steps: Vec<Step>,
        location: Option<Arc<Location>>,
    },
    /// `break`: no more rewrite-module steps at this level.
    Break,
}

/// An `if` condition, as nginx's rewrite module reads it.
#[derive(Debug)]
pub enum Cond {
    /// `($var)`: true unless empty or "0".
    Var(Template),
    /// `($var = TEXT)`, `!=`.
    Eq { value: Template, to: Template, negate: bool },
    /// `($var ~ RE)`, `~*`, `!~`, `!~*`; captures are set on a match.
    Match { value: Template, regex: Regex, negate: bool },
    /// `(-f PATH)`, `-d`, `-e`, `-x`, and their `!` forms.
    File { path: Template, test: FileTest, negate: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileTest {
    /// `-f`: a regular file.
    File,
    /// `-d`: a directory.
    Dir,
    /// `-e`: anything.
    Exists,
    /// `-x`: an executable file.
    Exec,
}

#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Prefix { path: String, no_regex: bool },
    Regex(Regex),
    Named(String),
}

#[derive(Debug, Clone)]
pub struct ProxyPass {
    /// An upstream block's name, or `host:port`.
    pub target: String,
    pub host: String,
    pub port: u16,
    /// The URI part after the address, if any (`http://up/` has `/`).
    pub uri: Option<String>,
    /// `$proxy_host`: the address as written, without a port of 80.
    pub proxy_host: std::sync::Arc<str>,
    /// `proxy_pass http://$backend:3000$request_uri`: the URL, read per
    /// request (the fields above are then those of the URL read).
    pub url: Option<Template>,
    /// `fastcgi_pass`: the peer speaks FastCGI, not HTTP.
    pub fastcgi: bool,
}

#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub codes: Vec<u16>,
    /// `=CODE` answers with that code; `=` alone with the target's.
    pub response: Option<Option<u16>>,
    pub uri: Template,
}

#[derive(Debug, Clone)]
pub struct AddHeader {
    pub name: String,
    pub value: Template,
    pub always: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expires {
    Off,
    Epoch,
    Max,
    Seconds(i64),
    /// `expires $var`: the value read per answer (a `map` on the content type, say).
    Var(Template),
}

#[derive(Debug, Clone)]
pub enum Redirect {
    Default,
    Off,
    Rules(Vec<(String, Template)>),
}

#[derive(Debug, Clone)]
pub enum AccessLog {
    Off,
    /// Shared with every access line waiting to be written.
    Files(Arc<Vec<LogTarget>>),
}

/// One `access_log` file: its path as written, its format's name, and the
/// file once opened (found by path for every line before: a lock and a
/// hash each request).
#[derive(Debug, Clone)]
pub struct LogTarget {
    pub path: String,
    pub format: String,
    /// None inside: a path that names no file here (see `log::Sink`).
    pub opened: std::sync::OnceLock<Option<Arc<std::fs::File>>>,
}

impl LogTarget {
    pub fn new(path: String, format: String) -> LogTarget {
        LogTarget { path, format, opened: Default::default() }
    }
}

/// Settings inherited down from http to server to location.
#[derive(Debug, Clone)]
pub struct LocConf {
    pub root: Template,
    pub alias: Option<Template>,
    pub index: Vec<Template>,
    pub error_pages: Vec<ErrorPage>,
    pub add_headers: Vec<AddHeader>,
    pub expires: Option<Expires>,
    pub default_type: String,
    pub types: Arc<crate::proxy::FastMap<String, String>>,
    pub access_log: AccessLog,
    pub client_max_body_size: u64,
    pub keepalive_timeout: Duration,
    pub keepalive_requests: u64,
    pub client_body_timeout: Duration,
    pub send_timeout: Duration,
    pub server_tokens: bool,
    pub gzip: bool,
    pub gzip_types: Vec<String>,
    /// `gzip_vary`: `Vary: Accept-Encoding` on answers gzip would compress.
    pub gzip_vary: bool,
    pub gzip_min_length: u64,
    pub tcp_nodelay: bool,
    /// `sendfile`: large files leave from the page cache (off by default, as in nginx).
    pub sendfile: bool,
    pub proxy_set_headers: Vec<(String, Template)>,
    pub fastcgi: FastCgiConf,
    /// `proxy_next_upstream` and its `_tries` and `_timeout`.
    pub proxy_next: NextUpstream,
    pub sub_filter: Arc<SubFilter>,
    pub cache: Arc<CacheConf>,
    pub proxy_http_version: String,
    pub proxy_buffering: bool,
    pub proxy_request_buffering: bool,
    pub proxy_redirect: Redirect,
    pub proxy_connect_timeout: Duration,
    pub proxy_read_timeout: Duration,
    pub proxy_send_timeout: Duration,
    pub proxy_intercept_errors: bool,
    pub proxy_hide_headers: Vec<String>,
    /// `proxy_ignore_headers X-Accel-Redirect`: the upstream's redirect is not followed.
    pub ignore_accel_redirect: bool,
    pub proxy_pass_headers: Vec<String>,
    /// `charset`: added to the Content-Type of `charset_types` answers.
    pub charset: Option<Arc<str>>,
    pub charset_types: Arc<Vec<String>>,
    /// `chunked_transfer_encoding off`: an answer of unknown length ends with the connection.
    pub chunked_transfer_encoding: bool,
    /// `auth_basic REALM` (None: off) and `auth_basic_user_file`.
    pub auth_basic: Option<Template>,
    pub auth_basic_user_file: Option<Template>,
    /// `limit_req`s (an inner level's replace the outer ones), their status, dry run.
    pub limit_req: Arc<Vec<crate::proxy::limit::Limit>>,
    pub limit_req_status: u16,
    pub limit_req_dry_run: bool,
    /// The realip module: trusted peers, the header naming the client, recursion.
    pub real_ip_from: Arc<Vec<crate::proxy::realip::Cidr>>,
    pub real_ip_header: Arc<str>,
    pub real_ip_recursive: bool,
    /// `proxy_cookie_path` and `proxy_cookie_domain` rules: what to find, what to write.
    pub proxy_cookie_path: Arc<Vec<(String, Template)>>,
    pub proxy_cookie_domain: Arc<Vec<(String, Template)>>,
    /// The ssl module's settings (http and server levels).
    pub tls: Arc<TlsConf>,
    /// `limit_conn`s (an inner level's replace the outer ones), their status, dry run.
    pub limit_conn: Arc<Vec<crate::proxy::limit_conn::ConnLimit>>,
    pub limit_conn_status: u16,
    pub limit_conn_dry_run: bool,
    /// `allow` and `deny`, in order (`None`: all); the first that matches decides.
    pub access_rules: Arc<Vec<(bool, Option<crate::proxy::realip::Cidr>)>>,
}

/// `ssl_certificate`s and their keys (paths as written, with where), the
/// protocols offered, and `http2 on` / `ssl on`.
#[derive(Debug, Clone, Default)]
pub struct TlsConf {
    pub certificates: Vec<(String, Loc)>,
    pub keys: Vec<(String, Loc)>,
    /// `ssl_protocols`; empty: nginx's default (TLSv1.2 and TLSv1.3 here,
    /// the two rustls speaks).
    pub protocols: Vec<String>,
    pub http2: bool,
    /// The deprecated `ssl on`: every listen of the server speaks TLS.
    pub ssl_on: bool,
}

/// nginx's default `charset_types`.
const CHARSET_TYPES: [&str; 6] = [
    "text/html",
    "text/xml",
    "text/plain",
    "text/vnd.wap.wml",
    "application/javascript",
    "application/rss+xml",
];

impl Default for LocConf {
    fn default() -> Self {
        LocConf {
            root: Template::parse("html"),
            alias: None,
            index: vec![Template::parse("index.html")],
            error_pages: Vec::new(),
            add_headers: Vec::new(),
            expires: None,
            default_type: "text/plain".into(),
            types: Arc::new(
                [("html", "text/html"), ("gif", "image/gif"), ("jpg", "image/jpeg")]
                    .map(|(e, t)| (e.into(), t.into()))
                    .into_iter()
                    .collect(),
            ),
            access_log: AccessLog::Files(Arc::new(vec![LogTarget::new(
                "logs/access.log".into(),
                "combined".into(),
            )])),
            client_max_body_size: 1 << 20,
            keepalive_timeout: Duration::from_secs(75),
            keepalive_requests: 1000,
            client_body_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            server_tokens: true,
            gzip: false,
            gzip_types: vec!["text/html".into()],
            gzip_vary: false,
            gzip_min_length: 20,
            tcp_nodelay: true,
            sendfile: false,
            proxy_set_headers: Vec::new(),
            fastcgi: Default::default(),
            proxy_next: Default::default(),
            sub_filter: Default::default(),
            cache: Default::default(),
            proxy_http_version: "1.0".into(),
            proxy_buffering: true,
            proxy_request_buffering: true,
            proxy_redirect: Redirect::Default,
            proxy_connect_timeout: Duration::from_secs(60),
            proxy_read_timeout: Duration::from_secs(60),
            proxy_send_timeout: Duration::from_secs(60),
            proxy_intercept_errors: false,
            proxy_hide_headers: Vec::new(),
            ignore_accel_redirect: false,
            proxy_pass_headers: Vec::new(),
            charset: None,
            charset_types: Arc::new(CHARSET_TYPES.iter().map(|t| t.to_string()).collect()),
            chunked_transfer_encoding: true,
            auth_basic: None,
            auth_basic_user_file: None,
            limit_req: Arc::default(),
            limit_req_status: 503,
            limit_req_dry_run: false,
            real_ip_from: Arc::default(),
            real_ip_header: "X-Real-IP".into(),
            real_ip_recursive: false,
            proxy_cookie_path: Arc::default(),
            proxy_cookie_domain: Arc::default(),
            tls: Arc::default(),
            access_rules: Arc::default(),
            limit_conn: Arc::default(),
            limit_conn_status: 503,
            limit_conn_dry_run: false,
        }
    }
}

#[derive(Debug)]
pub struct Location {
    pub matcher: Matcher,
    pub steps: Vec<Step>,
    pub conf: Arc<LocConf>,
    pub children: Vec<Arc<Location>>,
    pub try_files: Option<Vec<Template>>,
    pub proxy: Option<ProxyPass>,
    pub internal: bool,
    /// Where it was written, for messages.
    pub at: Loc,
}

#[derive(Debug)]
pub struct Server {
    pub listens: Vec<Listen>,
    pub names: Vec<ServerName>,
    /// The first name, for `$server_name`.
    pub primary_name: std::sync::Arc<str>,
    pub steps: Vec<Step>,
    pub locations: Vec<Arc<Location>>,
    pub named: crate::proxy::FastMap<String, Arc<Location>>,
    pub conf: Arc<LocConf>,
}

/// The settings of the FastCGI module, inherited as nginx's are.
#[derive(Debug, Clone)]
pub struct FastCgiConf {
    /// `fastcgi_param`: name, value, and `if_not_empty`.
    pub params: Arc<Vec<(String, Template, bool)>>,
    pub index: String,
    /// `fastcgi_split_path_info`: `$fastcgi_script_name` and `$fastcgi_path_info` from its two captures.
    pub split: Option<regex::Regex>,
    pub intercept_errors: bool,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub send_timeout: Duration,
    pub hide_headers: Arc<Vec<String>>,
    pub pass_headers: Arc<Vec<String>>,
    pub pass_request_headers: bool,
    pub pass_request_body: bool,
    pub ignore_accel_redirect: bool,
    pub next: NextUpstream,
}

/// `sub_filter` and its settings.
#[derive(Debug, Clone)]
pub struct SubFilter {
    /// What to find (matched without regard to case) and what to put instead.
    pub pairs: Vec<(Template, Template)>,
    pub once: bool,
    pub types: Vec<String>,
    pub last_modified: bool,
}

impl Default for SubFilter {
    fn default() -> Self {
        SubFilter {
            pairs: Vec::new(),
            once: true,
            types: vec!["text/html".into()],
            last_modified: false,
        }
    }
}

/// When a failed try goes on to the next server (`proxy_next_upstream`).
#[derive(Debug, Clone, PartialEq)]
pub struct NextUpstream {
    pub error: bool,
    pub timeout: bool,
    pub invalid_header: bool,
    /// Statuses that count as failures: http_500, http_502, ...
    pub statuses: Vec<u16>,
    /// POST, LOCK and PATCH go on too once sent.
    pub non_idempotent: bool,
    /// `_tries`: at most this many tries (0: no limit).
    pub tries: u32,
    /// `_timeout`: no new try after this long (zero: no limit).
    pub timeout_total: Duration,
}

impl Default for NextUpstream {
    fn default() -> Self {
        NextUpstream {
            error: true,
            timeout: true,
            invalid_header: false,
            statuses: Vec::new(),
            non_idempotent: false,
            tries: 0,
            timeout_total: Duration::ZERO,
        }
    }
}

impl Default for FastCgiConf {
    fn default() -> Self {
        FastCgiConf {
            params: Arc::default(),
            index: String::new(),
            split: None,
            intercept_errors: false,
            connect_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            hide_headers: Arc::default(),
            pass_headers: Arc::default(),
            pass_request_headers: true,
            pass_request_body: true,
            ignore_accel_redirect: false,
            next: NextUpstream::default(),
        }
    }
}

/// `proxy_cache_path PATH [levels=..] keys_zone=NAME:SIZE [inactive=T] [max_size=S] ...`.
#[derive(Debug, Clone)]
pub struct CachePath {
    pub name: String,
    pub path: std::path::PathBuf,
    /// `levels=1:2`: the widths of the folder levels, from the hash's end.
    pub levels: Vec<usize>,
    pub inactive: Duration,
    pub max_size: Option<u64>,
}

/// A location's cache settings.
#[derive(Debug, Clone)]
pub struct CacheConf {
    /// `proxy_cache ZONE`; None for off.
    pub zone: Option<String>,
    pub key: Template,
    /// `proxy_cache_valid [CODE...|any] TIME`: codes (empty for any) and time.
    pub valid: Vec<(Vec<u16>, Duration)>,
    pub bypass: Vec<Template>,
    pub no_cache: Vec<Template>,
    /// `proxy_cache_use_stale`: error, timeout, http_500, ... (off: empty).
    pub use_stale: Vec<String>,
    pub methods: Vec<String>,
    pub min_uses: u32,
    /// `proxy_ignore_headers`, lower case: what caching does not look at.
    pub ignore: Vec<String>,
    /// `proxy_cache_revalidate`: an expired answer is asked about with
    /// If-Modified-Since / If-None-Match, and a 304 keeps it.
    pub revalidate: bool,
    /// `proxy_cache_lock` and its timeout: one request fills a new entry,
    /// the others wait for it (past the timeout they go on, unkept).
    pub lock: bool,
    pub lock_timeout: Duration,
}

impl Default for CacheConf {
    fn default() -> Self {
        CacheConf {
            zone: None,
            key: Template::parse("$scheme$proxy_host$request_uri"),
            revalidate: false,
            lock: false,
            lock_timeout: Duration::from_secs(5),
            valid: Vec::new(),
            bypass: Vec::new(),
            no_cache: Vec::new(),
            use_stale: Vec::new(),
            methods: vec!["GET".into(), "HEAD".into()],
            min_uses: 1,
            ignore: Vec::new(),
        }
    }
}
