//! The configuration compiled once: servers, locations, upstreams, maps and
//! log formats, with nginx's inheritance (an inner level's array directives
//! such as `proxy_set_header` replace the outer ones entirely).
//!
//! Directives that only matter to the nginx process are accepted and
//! ignored; any directive rcompose cannot honour is an error naming it.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use super::conf::{ConfError, Directive, Resolver, parse_file};
use super::vars::{Template, is_known};
use crate::diag::Location as Loc;

/// Directives nginx needs for itself; they change nothing here.
const IGNORED: &[&str] = &[
    "user",
    "pid",
    "worker_rlimit_nofile",
    "worker_cpu_affinity",
    "worker_priority",
    "worker_shutdown_timeout",
    "daemon",
    "master_process",
    "pcre_jit",
    "env",
    "lock_file",
    "timer_resolution",
    "use",
    "multi_accept",
    "accept_mutex",
    "accept_mutex_delay",
    "tcp_nopush",
    "server_names_hash_bucket_size",
    "server_names_hash_max_size",
    "types_hash_max_size",
    "types_hash_bucket_size",
    "variables_hash_max_size",
    "variables_hash_bucket_size",
    "map_hash_max_size",
    "map_hash_bucket_size",
    "reset_timedout_connection",
    "open_file_cache",
    "open_file_cache_valid",
    "open_file_cache_min_uses",
    "open_file_cache_errors",
    "gzip_vary",
    "gzip_proxied",
    "gzip_comp_level",
    "gzip_min_length",
    "gzip_buffers",
    "gzip_http_version",
    "gzip_disable",
    "proxy_buffers",
    "proxy_buffer_size",
    "proxy_busy_buffers_size",
    "proxy_max_temp_file_size",
    "proxy_temp_path",
    "proxy_temp_file_write_size",
    "client_body_buffer_size",
    "client_header_buffer_size",
    "large_client_header_buffers",
    "client_body_temp_path",
    "log_not_found",
    "sendfile_max_chunk",
    "output_buffers",
    "aio",
    "directio",
    "ssl_protocols",
    "ssl_prefer_server_ciphers",
];

/// A directive the built-in proxy does not do: nginx's (the nginx container
/// can serve the configuration), or unknown to nginx too, as nginx says it.
fn cannot_honour(d: &Directive, place: &str) -> ConfError {
    if super::directives::is_nginx_directive(&d.name) {
        unsupported(d, format!("the built-in proxy cannot honour the \"{}\" directive {place}", d.name))
    } else {
        err(d, format!("unknown directive \"{}\"", d.name))
    }
}

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
    pub log_formats: Arc<super::FastMap<String, Arc<LogFormat>>>,
    pub upstreams: HashMap<String, Arc<UpstreamDef>>,
    pub maps: Vec<MapDef>,
    pub servers: Vec<Arc<Server>>,
    pub client_header_timeout: Duration,
    /// Some log format, or a `map` one could read, prints `$sent_http_*`:
    /// only then is each response's header map copied for the access log.
    pub logs_sent_headers: bool,
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
fn pool_of(name: &str) -> u64 {
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
    pub exact: super::FastMap<String, Template>,
    pub regexes: Vec<(Regex, Template)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Listen {
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub default_server: bool,
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
    regex: Regex,
    /// `^BEFORE(START.*)$`: the literal before the one group, and the literal it starts with.
    shortcut: Option<(String, String)>,
}

impl RewriteRegex {
    fn new(regex: Regex, pattern: &str) -> RewriteRegex {
        RewriteRegex { shortcut: prefix_shape(pattern), regex }
    }

    /// The captures, numbered from the whole match at 0, or `None` without a match.
    pub fn captures(&self, s: &str) -> Option<Vec<Option<String>>> {
        if let Some((before, start)) = &self.shortcut {
            let rest = s.strip_prefix(before.as_str())?;
            // `.` stops at a newline, and `$` is the end of the text.
            return (rest.starts_with(start.as_str()) && !rest.contains('\n')).then(|| vec![Some(s.to_string()), Some(rest.to_string())]);
        }
        let caps = self.regex.captures(s)?;
        Some(caps.iter().map(|m| m.map(|m| m.as_str().to_string())).collect())
    }
}

/// Recognises `^BEFORE(START.*)$` in the parsed pattern (so flags, escapes
/// and classes are read as the regex engine reads them); anything else,
/// caseless patterns included, goes to the engine.
fn prefix_shape(pattern: &str) -> Option<(String, String)> {
    use regex_syntax::hir::{Dot, Hir, HirKind, Look};
    let hir = regex_syntax::parse(pattern).ok()?;
    let literal = |h: &Hir| match h.kind() {
        HirKind::Literal(l) => String::from_utf8(l.0.to_vec()).ok(),
        _ => None,
    };
    let any_but_newline_repeated = |h: &Hir| match h.kind() {
        HirKind::Repetition(r) => r.min == 0 && r.max.is_none() && r.greedy && *r.sub == Hir::dot(Dot::AnyCharExceptLF),
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
    Rewrite { regex: RewriteRegex, replacement: Template, flag: Flag },
    Return { code: u16, body: Option<Template> },
}

#[derive(Debug)]
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
    /// (path, format name); shared with every access line waiting to be written.
    Files(Arc<Vec<(String, String)>>),
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
    pub types: Arc<super::FastMap<String, String>>,
    pub access_log: AccessLog,
    pub client_max_body_size: u64,
    pub keepalive_timeout: Duration,
    pub keepalive_requests: u64,
    pub client_body_timeout: Duration,
    pub send_timeout: Duration,
    pub server_tokens: bool,
    pub gzip: bool,
    pub gzip_types: Vec<String>,
    pub tcp_nodelay: bool,
    pub proxy_set_headers: Vec<(String, Template)>,
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
}

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
            access_log: AccessLog::Files(Arc::new(vec![("logs/access.log".into(), "combined".into())])),
            client_max_body_size: 1 << 20,
            keepalive_timeout: Duration::from_secs(75),
            keepalive_requests: 1000,
            client_body_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            server_tokens: true,
            gzip: false,
            gzip_types: vec!["text/html".into()],
            tcp_nodelay: true,
            proxy_set_headers: Vec::new(),
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
    pub named: super::FastMap<String, Arc<Location>>,
    pub conf: Arc<LocConf>,
}

fn err(d: &Directive, msg: impl Into<String>) -> ConfError {
    ConfError::invalid(d.loc.clone(), msg)
}

fn unsupported(d: &Directive, msg: impl Into<String>) -> ConfError {
    ConfError::unsupported(d.loc.clone(), msg)
}

fn nargs(d: &Directive, range: std::ops::RangeInclusive<usize>) -> Result<(), ConfError> {
    if range.contains(&d.args.len()) { Ok(()) } else { Err(err(d, format!("invalid number of arguments in \"{}\" directive", d.name))) }
}

fn flag(d: &Directive) -> Result<bool, ConfError> {
    nargs(d, 1..=1)?;
    match d.args[0].as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(err(d, format!("invalid value \"{other}\" in \"{}\" directive, it must be \"on\" or \"off\"", d.name))),
    }
}

/// nginx time: `60`, `60s`, `1m`, `500ms`, `1h30m`.
pub fn parse_time(s: &str) -> Option<Duration> {
    if let Ok(n) = s.parse::<u64>() {
        return Some(Duration::from_secs(n));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: u64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let (unit, len) = if rest.starts_with("ms") {
            (Duration::from_millis(1), 2)
        } else {
            (
                Duration::from_secs(match rest.chars().next()? {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    'd' => 86400,
                    'w' => 604_800,
                    _ => return None,
                }),
                1,
            )
        };
        // Out of range is an invalid time, as in nginx, not a wrapped or panicking one.
        total = total.checked_add(unit.checked_mul(u32::try_from(n).ok()?)?)?;
        rest = &rest[len..];
    }
    Some(total)
}

fn time(d: &Directive) -> Result<Duration, ConfError> {
    nargs(d, 1..=2)?;
    parse_time(&d.args[0]).ok_or_else(|| err(d, format!("invalid time \"{}\" in \"{}\" directive", d.args[0], d.name)))
}

/// nginx size: `1m`, `512k`, `0` (no limit).
pub fn parse_size(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (num, mult) = match lower.chars().last()? {
        'k' => (&lower[..lower.len() - 1], 1u64 << 10),
        'm' => (&lower[..lower.len() - 1], 1 << 20),
        'g' => (&lower[..lower.len() - 1], 1 << 30),
        _ => (lower.as_str(), 1),
    };
    // Out of range is an invalid size, not a wrapped one (found by fuzzing).
    num.parse::<u64>().ok()?.checked_mul(mult)
}

fn regex(d: &Directive, pattern: &str, caseless: bool) -> Result<Regex, ConfError> {
    let p = if caseless { format!("(?i){pattern}") } else { pattern.to_string() };
    Regex::new(&p).map_err(|e| err(d, format!("invalid regular expression \"{pattern}\": {e}")))
}

struct Compiler {
    maps: Vec<String>,
    upstream_names: HashSet<String>,
}

impl Compiler {
    fn template(&self, d: &Directive, s: &str) -> Result<Template, ConfError> {
        let t = Template::parse_checked(s).map_err(|e| err(d, e))?;
        for v in t.variables() {
            if !is_known(v, &self.maps) {
                return Err(err(d, format!("unknown \"{v}\" variable")));
            }
        }
        Ok(t)
    }

    /// Applies the settings directives of one level. Array directives met at
    /// this level replace what was inherited.
    fn apply(&self, conf: &mut LocConf, directives: &[Directive]) -> Result<(), ConfError> {
        let mut cleared: HashSet<&str> = HashSet::new();
        let mut clear = |name: &'static str, conf: &mut LocConf| {
            if cleared.insert(name) {
                match name {
                    "error_page" => conf.error_pages.clear(),
                    "add_header" => conf.add_headers.clear(),
                    "proxy_set_header" => conf.proxy_set_headers.clear(),
                    "proxy_hide_header" => conf.proxy_hide_headers.clear(),
                    "proxy_pass_header" => conf.proxy_pass_headers.clear(),
                    "access_log" => conf.access_log = AccessLog::Files(Default::default()),
                    _ => {}
                }
            }
        };
        for d in directives {
            match d.name.as_str() {
                "root" => {
                    nargs(d, 1..=1)?;
                    conf.root = self.template(d, &d.args[0])?;
                    conf.alias = None;
                }
                "alias" => {
                    nargs(d, 1..=1)?;
                    conf.alias = Some(self.template(d, &d.args[0])?);
                }
                "index" => {
                    nargs(d, 1..=64)?;
                    conf.index = d.args.iter().map(|a| self.template(d, a)).collect::<Result<_, _>>()?;
                }
                "error_page" => {
                    clear("error_page", conf);
                    nargs(d, 2..=64)?;
                    let mut codes = Vec::new();
                    let mut response = None;
                    for a in &d.args[..d.args.len() - 1] {
                        if let Some(r) = a.strip_prefix('=') {
                            response = Some(if r.is_empty() {
                                None
                            } else {
                                Some(r.parse().map_err(|_| err(d, format!("invalid value \"{a}\"")))?)
                            });
                        } else {
                            let c: u16 = a.parse().map_err(|_| err(d, format!("invalid value \"{a}\"")))?;
                            if !(300..=599).contains(&c) {
                                return Err(err(d, format!("value \"{c}\" must be between 300 and 599")));
                            }
                            codes.push(c);
                        }
                    }
                    conf.error_pages.push(ErrorPage { codes, response, uri: self.template(d, d.args.last().expect("checked"))? });
                }
                "add_header" => {
                    clear("add_header", conf);
                    nargs(d, 2..=3)?;
                    let always = d.args.get(2).map(String::as_str) == Some("always");
                    conf.add_headers.push(AddHeader { name: d.args[0].clone(), value: self.template(d, &d.args[1])?, always });
                }
                "expires" => {
                    nargs(d, 1..=2)?;
                    conf.expires = Some(match d.args[0].as_str() {
                        "off" => Expires::Off,
                        "epoch" => Expires::Epoch,
                        "max" => Expires::Max,
                        s => {
                            let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
                            let secs = parse_time(s.trim_start_matches('+'))
                                .ok_or_else(|| err(d, format!("invalid value \"{}\"", d.args[0])))?
                                .as_secs() as i64;
                            Expires::Seconds(if neg { -secs } else { secs })
                        }
                    });
                }
                "default_type" => {
                    nargs(d, 1..=1)?;
                    conf.default_type = d.args[0].clone();
                }
                "types" => {
                    let mut map = super::FastMap::default();
                    for t in d.block.as_deref().unwrap_or_default() {
                        for ext in &t.args {
                            map.insert(ext.to_ascii_lowercase(), t.name.clone());
                        }
                    }
                    conf.types = Arc::new(map);
                }
                "access_log" => {
                    nargs(d, 1..=8)?;
                    if d.args[0] == "off" {
                        clear("access_log", conf);
                        conf.access_log = AccessLog::Off;
                    } else {
                        clear("access_log", conf);
                        let format = d.args.get(1).filter(|f| !f.contains('=')).cloned().unwrap_or_else(|| "combined".into());
                        match &mut conf.access_log {
                            AccessLog::Files(v) => Arc::make_mut(v).push((d.args[0].clone(), format)),
                            AccessLog::Off => conf.access_log = AccessLog::Files(Arc::new(vec![(d.args[0].clone(), format)])),
                        }
                    }
                }
                "client_max_body_size" => {
                    nargs(d, 1..=1)?;
                    conf.client_max_body_size = parse_size(&d.args[0]).ok_or_else(|| err(d, format!("invalid value \"{}\"", d.args[0])))?;
                }
                "keepalive_timeout" => conf.keepalive_timeout = time(d)?,
                "keepalive_requests" => {
                    nargs(d, 1..=1)?;
                    conf.keepalive_requests = d.args[0].parse().map_err(|_| err(d, "invalid number"))?;
                }
                "client_body_timeout" => conf.client_body_timeout = time(d)?,
                "send_timeout" => conf.send_timeout = time(d)?,
                "server_tokens" => {
                    nargs(d, 1..=1)?;
                    conf.server_tokens = d.args[0] != "off";
                }
                "gzip" => conf.gzip = flag(d)?,
                "gzip_types" => conf.gzip_types = d.args.clone(),
                "tcp_nodelay" => conf.tcp_nodelay = flag(d)?,
                "sendfile" | "autoindex" => {
                    let on = flag(d)?;
                    if d.name == "autoindex" && on {
                        return Err(unsupported(d, "\"autoindex on\" is not supported by the built-in proxy"));
                    }
                }
                "proxy_set_header" => {
                    clear("proxy_set_header", conf);
                    nargs(d, 2..=2)?;
                    conf.proxy_set_headers.push((d.args[0].clone(), self.template(d, &d.args[1])?));
                }
                "proxy_http_version" => {
                    nargs(d, 1..=1)?;
                    if !matches!(d.args[0].as_str(), "1.0" | "1.1") {
                        return Err(err(d, "proxy_http_version must be 1.0 or 1.1"));
                    }
                    conf.proxy_http_version = d.args[0].clone();
                }
                "proxy_buffering" => conf.proxy_buffering = flag(d)?,
                "proxy_request_buffering" => conf.proxy_request_buffering = flag(d)?,
                "proxy_redirect" => {
                    nargs(d, 1..=2)?;
                    conf.proxy_redirect = match (d.args[0].as_str(), d.args.len()) {
                        ("default", 1) => Redirect::Default,
                        ("off", 1) => Redirect::Off,
                        (_, 2) => {
                            let mut rules = match &conf.proxy_redirect {
                                Redirect::Rules(r) => r.clone(),
                                _ => Vec::new(),
                            };
                            rules.push((d.args[0].clone(), self.template(d, &d.args[1])?));
                            Redirect::Rules(rules)
                        }
                        _ => return Err(err(d, "invalid \"proxy_redirect\" arguments")),
                    };
                }
                "proxy_connect_timeout" => conf.proxy_connect_timeout = time(d)?,
                "proxy_read_timeout" => conf.proxy_read_timeout = time(d)?,
                "proxy_send_timeout" => conf.proxy_send_timeout = time(d)?,
                "proxy_intercept_errors" => conf.proxy_intercept_errors = flag(d)?,
                "proxy_hide_header" => {
                    clear("proxy_hide_header", conf);
                    nargs(d, 1..=1)?;
                    conf.proxy_hide_headers.push(d.args[0].to_ascii_lowercase());
                }
                "proxy_ignore_headers" => {
                    nargs(d, 1..=usize::MAX)?;
                    // There is no proxy cache here: what the others change is caching.
                    const NAMES: [&str; 9] = [
                        "X-Accel-Redirect",
                        "X-Accel-Expires",
                        "X-Accel-Limit-Rate",
                        "X-Accel-Buffering",
                        "X-Accel-Charset",
                        "Expires",
                        "Cache-Control",
                        "Set-Cookie",
                        "Vary",
                    ];
                    if let Some(bad) = d.args.iter().find(|a| !NAMES.iter().any(|n| n.eq_ignore_ascii_case(a))) {
                        return Err(err(d, format!("invalid value \"{bad}\" in \"proxy_ignore_headers\"")));
                    }
                    conf.ignore_accel_redirect = d.args.iter().any(|a| a.eq_ignore_ascii_case("X-Accel-Redirect"));
                }
                "proxy_pass_header" => {
                    clear("proxy_pass_header", conf);
                    nargs(d, 1..=1)?;
                    conf.proxy_pass_headers.push(d.args[0].to_ascii_lowercase());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn step(&self, d: &Directive) -> Result<Option<Step>, ConfError> {
        Ok(Some(match d.name.as_str() {
            "rewrite" => {
                nargs(d, 2..=3)?;
                let flag = match d.args.get(2).map(String::as_str) {
                    None => Flag::None,
                    Some("last") => Flag::Last,
                    Some("break") => Flag::Break,
                    Some("redirect") => Flag::Redirect,
                    Some("permanent") => Flag::Permanent,
                    Some(other) => return Err(err(d, format!("invalid parameter \"{other}\""))),
                };
                let regex = RewriteRegex::new(regex(d, &d.args[0], false)?, &d.args[0]);
                Step::Rewrite { regex, replacement: self.template(d, &d.args[1])?, flag }
            }
            "return" => {
                nargs(d, 1..=2)?;
                match d.args[0].parse::<u16>() {
                    Ok(code) if code <= 999 => Step::Return { code, body: d.args.get(1).map(|b| self.template(d, b)).transpose()? },
                    Ok(_) => return Err(err(d, format!("invalid return code \"{}\"", d.args[0]))),
                    // `return URL` is a 302 redirect.
                    Err(_) if d.args.len() == 1 => Step::Return { code: 302, body: Some(self.template(d, &d.args[0])?) },
                    Err(_) => return Err(err(d, format!("invalid return code \"{}\"", d.args[0]))),
                }
            }
            _ => return Ok(None),
        }))
    }

    fn proxy_pass(&self, d: &Directive, regex_location: bool) -> Result<ProxyPass, ConfError> {
        nargs(d, 1..=1)?;
        let url = &d.args[0];
        if url.contains('$') {
            return Err(unsupported(d, "proxy_pass with variables is not supported by the built-in proxy"));
        }
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(unsupported(d, "proxy_pass to https upstreams is not supported by the built-in proxy"));
        } else {
            return Err(err(d, format!("invalid URL prefix in \"{url}\"")));
        };
        let (authority, uri) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(rest[i..].to_string())),
            None => (rest, None),
        };
        if uri.is_some() && regex_location {
            return Err(err(
                d,
                "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block",
            ));
        }
        // `[::1]` alone has colons but no port.
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !authority.ends_with(']') => {
                (h.to_string(), p.parse().map_err(|_| err(d, format!("invalid port in upstream \"{authority}\"")))?)
            }
            _ => (authority.to_string(), 80),
        };
        if !self.upstream_names.contains(authority) && host.is_empty() {
            return Err(err(d, format!("no host in upstream \"{url}\"")));
        }
        // As nginx's host_header: the port only when it is not the default.
        let proxy_host = if port == 80 { authority.strip_suffix(":80").unwrap_or(authority) } else { authority }.into();
        Ok(ProxyPass { target: authority.to_string(), host, port, uri, proxy_host })
    }

    fn location(&self, d: &Directive, parent: &LocConf, parent_prefix: Option<&str>) -> Result<Location, ConfError> {
        let matcher = match (d.args.first().map(String::as_str), d.args.len()) {
            (Some("="), 2) => Matcher::Exact(d.args[1].clone()),
            (Some("^~"), 2) => Matcher::Prefix { path: d.args[1].clone(), no_regex: true },
            (Some("~"), 2) => Matcher::Regex(regex(d, &d.args[1], false)?),
            (Some("~*"), 2) => Matcher::Regex(regex(d, &d.args[1], true)?),
            (Some(p), 1) if p.starts_with('@') => Matcher::Named(p[1..].to_string()),
            (Some(p), 1) => Matcher::Prefix { path: p.to_string(), no_regex: false },
            _ => return Err(err(d, "invalid location")),
        };
        if let (Some(outer), Matcher::Prefix { path, .. } | Matcher::Exact(path)) = (parent_prefix, &matcher)
            && !path.starts_with(outer)
        {
            return Err(err(d, format!("location \"{path}\" is outside location \"{outer}\"")));
        }
        let block = d.block.as_deref().ok_or_else(|| err(d, "directive \"location\" has no opening \"{\""))?;
        let mut conf = parent.clone();
        self.apply(&mut conf, block)?;
        let conf = Arc::new(conf);
        let regexish = matches!(matcher, Matcher::Regex(_) | Matcher::Named(_));
        let mut loc = Location {
            matcher,
            steps: Vec::new(),
            conf: conf.clone(),
            children: Vec::new(),
            try_files: None,
            proxy: None,
            internal: false,
            at: d.loc.clone(),
        };
        let prefix = match &loc.matcher {
            Matcher::Prefix { path, .. } | Matcher::Exact(path) => Some(path.clone()),
            _ => None,
        };
        for c in block {
            if let Some(step) = self.step(c)? {
                loc.steps.push(step);
                continue;
            }
            match c.name.as_str() {
                "location" => loc.children.push(Arc::new(self.location(c, &conf, prefix.as_deref())?)),
                "try_files" => {
                    nargs(c, 2..=64)?;
                    loc.try_files = Some(c.args.iter().map(|a| self.template(c, a)).collect::<Result<_, _>>()?);
                }
                "proxy_pass" => loc.proxy = Some(self.proxy_pass(c, regexish)?),
                "internal" => loc.internal = true,
                _ => self.check_known(c, Context::Location)?,
            }
        }
        Ok(loc)
    }

    fn check_known(&self, d: &Directive, ctx: Context) -> Result<(), ConfError> {
        const SETTINGS: &[&str] = &[
            "root",
            "alias",
            "index",
            "error_page",
            "add_header",
            "expires",
            "default_type",
            "types",
            "access_log",
            "client_max_body_size",
            "keepalive_timeout",
            "keepalive_requests",
            "client_body_timeout",
            "send_timeout",
            "server_tokens",
            "gzip",
            "gzip_types",
            "tcp_nodelay",
            "sendfile",
            "autoindex",
            "proxy_set_header",
            "proxy_http_version",
            "proxy_buffering",
            "proxy_request_buffering",
            "proxy_redirect",
            "proxy_connect_timeout",
            "proxy_read_timeout",
            "proxy_send_timeout",
            "proxy_intercept_errors",
            "proxy_hide_header",
            "proxy_ignore_headers",
            "proxy_pass_header",
            "error_log",
        ];
        let ok = IGNORED.contains(&d.name.as_str())
            || SETTINGS.contains(&d.name.as_str()) && !(d.name == "alias" && ctx != Context::Location)
            || (ctx == Context::Http && d.name == "client_header_timeout");
        if ok {
            return Ok(());
        }
        Err(cannot_honour(d, "here"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Http,
    Server,
    Location,
}

fn listen(d: &Directive) -> Result<Listen, ConfError> {
    nargs(d, 1..=16)?;
    let a = &d.args[0];
    let (addr, port) = if let Some(rest) = a.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or_else(|| err(d, format!("invalid address \"{a}\"")))?;
        let ip: IpAddr = ip.parse().map_err(|_| err(d, format!("invalid IPv6 address \"{ip}\"")))?;
        let port = after.strip_prefix(':').map_or(Ok(80), |p| p.parse()).map_err(|_| err(d, format!("invalid port in \"{a}\"")))?;
        (Some(ip), port)
    } else if let Ok(p) = a.parse::<u16>() {
        if p == 0 {
            return Err(err(d, format!("invalid port in \"{a}\" of the \"listen\" directive")));
        }
        (None, p)
    } else {
        let (host, port) = match a.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse().ok().filter(|p| *p > 0).ok_or_else(|| err(d, format!("invalid port in \"{a}\" of the \"listen\" directive")))?,
            ),
            None => (a.as_str(), 80),
        };
        let ip = match host {
            "*" => None,
            "localhost" => Some(IpAddr::from([127, 0, 0, 1])),
            h => Some(h.parse().map_err(|_| err(d, format!("host not found in \"{a}\" of the \"listen\" directive")))?),
        };
        (ip, port)
    };
    for opt in &d.args[1..] {
        match opt.as_str() {
            "default_server" | "default" | "reuseport" | "deferred" | "bind" => {}
            o if o.starts_with("backlog=") || o.starts_with("ipv6only=") || o.starts_with("so_keepalive=") => {}
            "http2" | "ssl" | "quic" | "proxy_protocol" => {
                return Err(unsupported(d, format!("\"listen ... {opt}\" is not supported by the built-in proxy")));
            }
            other => return Err(err(d, format!("invalid parameter \"{other}\""))),
        }
    }
    Ok(Listen { addr, port, default_server: d.args[1..].iter().any(|o| o == "default_server" || o == "default") })
}

fn server_name(d: &Directive, n: &str) -> Result<Option<ServerName>, ConfError> {
    // Names with variables (`$host:1000`) match nothing, as in nginx.
    if n.contains('$') || n.is_empty() {
        return Ok(None);
    }
    Ok(Some(if let Some(r) = n.strip_prefix('~') {
        ServerName::Regex(regex(d, r, true)?)
    } else if let Some(s) = n.strip_prefix("*.") {
        ServerName::Suffix(format!(".{}", s.to_ascii_lowercase()))
    } else if n.starts_with('.') {
        ServerName::Suffix(n.to_ascii_lowercase())
    } else if let Some(p) = n.strip_suffix(".*") {
        ServerName::Prefix(format!("{}.", p.to_ascii_lowercase()))
    } else {
        ServerName::Exact(n.to_ascii_lowercase())
    }))
}

fn upstream(d: &Directive) -> Result<UpstreamDef, ConfError> {
    nargs(d, 1..=1)?;
    let keepalive = Keepalive { pool: Some(pool_of(&d.args[0])), ..Keepalive::default() };
    let mut def = UpstreamDef { name: d.args[0].clone(), servers: Vec::new(), keepalive };
    for s in d.block.as_deref().unwrap_or_default() {
        match s.name.as_str() {
            "server" => {
                nargs(s, 1..=8)?;
                let addr = &s.args[0];
                let (host, port) = match addr.rsplit_once(':') {
                    Some((h, p)) if !addr.ends_with(']') => {
                        (h.trim_matches(['[', ']']).to_string(), p.parse().map_err(|_| err(s, format!("invalid port in \"{addr}\"")))?)
                    }
                    _ => (addr.trim_matches(['[', ']']).to_string(), 80),
                };
                let mut srv = UpstreamServer {
                    host,
                    port,
                    weight: 1,
                    max_fails: 1,
                    fail_timeout: Duration::from_secs(10),
                    backup: false,
                    down: false,
                };
                for opt in &s.args[1..] {
                    let bad = || err(s, format!("invalid parameter \"{opt}\""));
                    if let Some(w) = opt.strip_prefix("weight=") {
                        srv.weight = w.parse().ok().filter(|w| *w > 0).ok_or_else(bad)?;
                    } else if let Some(m) = opt.strip_prefix("max_fails=") {
                        srv.max_fails = m.parse().map_err(|_| bad())?;
                    } else if let Some(f) = opt.strip_prefix("fail_timeout=") {
                        srv.fail_timeout = parse_time(f).ok_or_else(bad)?;
                    } else if opt == "backup" {
                        srv.backup = true;
                    } else if opt == "down" {
                        srv.down = true;
                    } else {
                        return Err(bad());
                    }
                }
                def.servers.push(srv);
            }
            "keepalive" => {
                nargs(s, 1..=1)?;
                def.keepalive.idle = s.args[0].parse().ok().filter(|n| *n > 0).ok_or_else(|| err(s, "invalid value"))?;
            }
            "keepalive_timeout" => {
                nargs(s, 1..=1)?;
                def.keepalive.timeout = time(s)?;
            }
            "keepalive_time" => {
                nargs(s, 1..=1)?;
                def.keepalive.time = time(s)?;
            }
            "keepalive_requests" => {
                nargs(s, 1..=1)?;
                def.keepalive.requests = s.args[0].parse().map_err(|_| err(s, "invalid value"))?;
            }
            _ => return Err(cannot_honour(s, "in an upstream")),
        }
    }
    if def.servers.is_empty() {
        return Err(err(d, format!("no servers are inside upstream \"{}\"", def.name)));
    }
    Ok(def)
}

/// Reads, parses and compiles a configuration file.
pub fn load(path: &Path, prefix: &Path, resolver: &dyn Resolver) -> Result<Config, ConfError> {
    let directives = parse_file(path, prefix, resolver)?;
    compile(&directives)
}

pub fn compile(directives: &[Directive]) -> Result<Config, ConfError> {
    let mut config = Config {
        workers: 1,
        worker_connections: 512,
        error_log: None,
        http: Http { client_header_timeout: Duration::from_secs(60), ..Default::default() },
    };
    let mut http_block = None;
    for d in directives {
        match d.name.as_str() {
            "worker_processes" => {
                nargs(d, 1..=1)?;
                config.workers = if d.args[0] == "auto" {
                    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
                } else {
                    d.args[0].parse().ok().filter(|n| *n > 0).ok_or_else(|| err(d, format!("invalid value \"{}\"", d.args[0])))?
                };
            }
            "error_log" => config.error_log = d.args.first().cloned(),
            "events" => {
                for e in d.block.as_deref().unwrap_or_default() {
                    match e.name.as_str() {
                        "worker_connections" => {
                            nargs(e, 1..=1)?;
                            config.worker_connections = e.args[0].parse().ok().filter(|n| *n > 0).ok_or_else(|| err(e, "invalid value"))?;
                        }
                        n if IGNORED.contains(&n) => {}
                        _ => return Err(cannot_honour(e, "here")),
                    }
                }
            }
            "http" => {
                if http_block.is_some() {
                    return Err(err(d, "\"http\" directive is duplicate"));
                }
                http_block = Some(d);
            }
            "stream" | "mail" => {
                return Err(unsupported(d, format!("\"{}\" blocks are not supported by the built-in proxy", d.name)));
            }
            n if IGNORED.contains(&n) => {}
            _ => return Err(cannot_honour(d, "here")),
        }
    }
    let Some(http) = http_block else {
        return Ok(config);
    };
    let block = http.block.as_deref().unwrap_or_default();
    // One error log for the whole process: the http level's when the main level names none.
    if config.error_log.is_none() {
        config.error_log = block.iter().find(|d| d.name == "error_log").and_then(|d| d.args.first().cloned());
    }
    // Names known before compiling templates: map variables and upstreams.
    let maps: Vec<String> =
        block.iter().filter(|d| d.name == "map" && d.args.len() == 2).map(|d| d.args[1].trim_start_matches('$').to_string()).collect();
    let upstream_names: HashSet<String> = block.iter().filter(|d| d.name == "upstream").filter_map(|d| d.args.first().cloned()).collect();
    let c = Compiler { maps, upstream_names };
    let mut conf = LocConf::default();
    c.apply(&mut conf, block)?;
    Arc::make_mut(&mut config.http.log_formats).insert(
        "combined".into(),
        Arc::new(LogFormat {
            template: Template::parse(
                "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"",
            ),
            escape: Escape::Default,
        }),
    );
    let mut server_blocks = Vec::new();
    for d in block {
        match d.name.as_str() {
            "log_format" => {
                nargs(d, 2..=64)?;
                let (escape, rest) = match d.args[1].strip_prefix("escape=") {
                    Some("json") => (Escape::Json, &d.args[2..]),
                    Some("none") => (Escape::None, &d.args[2..]),
                    Some("default") => (Escape::Default, &d.args[2..]),
                    Some(other) => {
                        return Err(err(d, format!("unknown log format escaping \"{other}\"")));
                    }
                    None => (Escape::Default, &d.args[1..]),
                };
                Arc::make_mut(&mut config.http.log_formats)
                    .insert(d.args[0].clone(), Arc::new(LogFormat { template: c.template(d, &rest.concat())?, escape }));
            }
            "upstream" => {
                let u = upstream(d)?;
                config.http.upstreams.insert(u.name.clone(), Arc::new(u));
            }
            "map" => {
                nargs(d, 2..=2)?;
                let mut m = MapDef {
                    source: c.template(d, &d.args[0])?,
                    var: d.args[1].trim_start_matches('$').to_string(),
                    default: Template::default(),
                    exact: Default::default(),
                    regexes: Vec::new(),
                };
                for e in d.block.as_deref().unwrap_or_default() {
                    let value = e.args.first().map(|v| c.template(e, v)).transpose()?.unwrap_or_default();
                    match e.name.as_str() {
                        "default" => m.default = value,
                        "hostnames" | "volatile" => {}
                        k if k.starts_with("~*") => m.regexes.push((regex(e, &k[2..], true)?, value)),
                        k if k.starts_with('~') => m.regexes.push((regex(e, &k[1..], false)?, value)),
                        k => {
                            m.exact.insert(k.trim_start_matches('\\').to_string(), value);
                        }
                    }
                }
                config.http.maps.push(m);
            }
            "server" => server_blocks.push(d),
            "client_header_timeout" => config.http.client_header_timeout = time(d)?,
            _ => {
                if c.step(d)?.is_some() {
                    return Err(err(d, format!("\"{}\" directive is not allowed here", d.name)));
                }
                c.check_known(d, Context::Http)?;
            }
        }
    }
    // One default server per address, as nginx insists.
    let mut defaults: HashSet<(Option<IpAddr>, u16)> = HashSet::new();
    for d in server_blocks {
        for x in d.block.as_deref().unwrap_or_default().iter().filter(|x| x.name == "listen") {
            let l = listen(x)?;
            if l.default_server && !defaults.insert((l.addr, l.port)) {
                let addr = match l.addr {
                    Some(IpAddr::V6(a)) => format!("[{a}]:{}", l.port),
                    Some(a) => format!("{a}:{}", l.port),
                    None => format!("0.0.0.0:{}", l.port),
                };
                return Err(err(x, format!("a duplicate default server for {addr}")));
            }
        }
        config.http.servers.push(Arc::new(server(&c, d, &conf)?));
    }
    config.http.logs_sent_headers = prints_sent_headers(&config.http);
    // Every proxy_pass must name an upstream or an address.
    for s in &config.http.servers {
        fn walk(locs: &[Arc<Location>], http: &Http) -> Result<(), ConfError> {
            for l in locs {
                if let Some(p) = &l.proxy
                    && !http.upstreams.contains_key(&p.target)
                    && p.host.is_empty()
                {
                    return Err(ConfError::invalid(l.at.clone(), format!("no upstream \"{}\"", p.target)));
                }
                walk(&l.children, http)?;
            }
            Ok(())
        }
        walk(&s.locations, &config.http)?;
        walk(&s.named.values().cloned().collect::<Vec<_>>(), &config.http)?;
    }
    Ok(config)
}

fn prints_sent_headers(http: &Http) -> bool {
    let mut templates: Vec<&Template> = http.log_formats.values().map(|f| &f.template).collect();
    for m in &http.maps {
        templates.extend([&m.source, &m.default]);
        templates.extend(m.exact.values());
        templates.extend(m.regexes.iter().map(|(_, t)| t));
    }
    templates.iter().any(|t| t.variables().any(|v| v.starts_with("sent_http_")))
}

fn server(c: &Compiler, d: &Directive, http_conf: &LocConf) -> Result<Server, ConfError> {
    let block = d.block.as_deref().unwrap_or_default();
    let mut conf = http_conf.clone();
    c.apply(&mut conf, block)?;
    let conf = Arc::new(conf);
    let mut s = Server {
        listens: Vec::new(),
        names: Vec::new(),
        primary_name: "".into(),
        steps: Vec::new(),
        locations: Vec::new(),
        named: Default::default(),
        conf: conf.clone(),
    };
    for x in block {
        if let Some(step) = c.step(x)? {
            s.steps.push(step);
            continue;
        }
        match x.name.as_str() {
            "listen" => s.listens.push(listen(x)?),
            "server_name" => {
                for n in &x.args {
                    if s.primary_name.is_empty() && !n.contains('$') {
                        s.primary_name = n.as_str().into();
                    }
                    if let Some(name) = server_name(x, n)? {
                        s.names.push(name);
                    }
                }
            }
            "location" => {
                let loc = c.location(x, &conf, None)?;
                match &loc.matcher {
                    Matcher::Named(n) => {
                        s.named.insert(n.clone(), Arc::new(loc));
                    }
                    _ => s.locations.push(Arc::new(loc)),
                }
            }
            "try_files" | "proxy_pass" => {
                return Err(err(x, format!("\"{}\" directive is not allowed here; put it in a location", x.name)));
            }
            _ => c.check_known(x, Context::Server)?,
        }
    }
    if s.listens.is_empty() {
        s.listens.push(Listen { addr: None, port: 80, default_server: false });
    }
    no_duplicate_locations(&s.locations)?;
    Ok(s)
}

/// nginx refuses two prefix locations (`^~` or not) or two exact ones with
/// the same path among siblings; regular expressions may repeat.
fn no_duplicate_locations(locs: &[Arc<Location>]) -> Result<(), ConfError> {
    let mut seen: HashSet<(bool, &str)> = HashSet::new();
    for l in locs {
        let key = match &l.matcher {
            Matcher::Prefix { path, .. } => (false, path.as_str()),
            Matcher::Exact(path) => (true, path.as_str()),
            _ => continue,
        };
        if !seen.insert(key) {
            return Err(ConfError::invalid(l.at.clone(), format!("duplicate location \"{}\"", key.1)));
        }
        no_duplicate_locations(&l.children)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::conf::{AsWritten, parse_text};

    pub fn compile_str(text: &str) -> Result<Config, ConfError> {
        let d = parse_text(text, "nginx.conf".into(), Path::new("/etc/nginx"), &AsWritten, 0)?;
        compile(&d)
    }

    #[test]
    fn example_configuration_compiles() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fastapi-mongo/nginx/nginx.conf")).unwrap();
        let c = compile_str(&text).unwrap();
        assert_eq!(c.worker_connections, 128);
        let s = &c.http.servers[0];
        assert_eq!(s.listens.len(), 2);
        assert_eq!(s.listens[1].addr, Some("::".parse().unwrap()));
        assert!(s.names.is_empty(), "`$host:1000` matches no name");
        let api = s.locations.iter().find(|l| matches!(&l.matcher, Matcher::Prefix { path, .. } if path == "/api/")).unwrap();
        let p = api.proxy.as_ref().unwrap();
        assert_eq!((p.target.as_str(), p.uri.as_deref()), ("docker-fastapi", Some("/")));
        assert!(!api.conf.proxy_buffering);
        assert_eq!(api.conf.proxy_set_headers.len(), 5);
        assert_eq!(api.conf.types.get("js").map(String::as_str), Some("application/javascript"));
        assert_eq!(c.http.upstreams["docker-fastapi"].servers[0].port, 7000);
        assert_eq!(s.conf.error_pages[0].codes, vec![500, 502, 503, 504]);
        assert_eq!(s.conf.keepalive_timeout, Duration::from_secs(500));
    }

    #[test]
    fn proxy_ignore_headers_takes_nginx_names_and_is_inherited() {
        let c = compile_str(
            "http { proxy_ignore_headers x-accel-redirect Expires; server { location /a/ { proxy_pass http://b/; } \
             location /b/ { proxy_ignore_headers Vary; proxy_pass http://b/; } } }",
        )
        .unwrap();
        let ignored: Vec<bool> = c.http.servers[0].locations.iter().map(|l| l.conf.ignore_accel_redirect).collect();
        assert_eq!(ignored, vec![true, false]);
        let e = compile_str("http { server { location / { proxy_ignore_headers X-Accel-Redirect Bogus; } } }").unwrap_err();
        assert!(e.to_string().contains("invalid value \"Bogus\" in \"proxy_ignore_headers\""), "{e}");
    }

    #[test]
    fn proxy_host_keeps_the_port_only_when_it_is_not_80() {
        let c = compile_str(
            "http { upstream backend { server 127.0.0.1:81; } server { location /a/ { proxy_pass http://[::1]/; } \
             location /b/ { proxy_pass http://[::1]:8080/; } location /c/ { proxy_pass http://example.com:80/; } \
             location /d/ { proxy_pass http://example.com:81; } location /e/ { proxy_pass http://backend/; } } }",
        )
        .unwrap();
        let hosts: Vec<&str> = c.http.servers[0].locations.iter().map(|l| &*l.proxy.as_ref().unwrap().proxy_host).collect();
        assert_eq!(hosts, vec!["[::1]", "[::1]:8080", "example.com", "example.com:81", "backend"]);
    }

    #[test]
    fn inheritance_replaces_arrays() {
        let c = compile_str(
            "http { proxy_set_header A 1; add_header X y; server { location / { proxy_set_header B 2; } location /keep/ { } } }",
        )
        .unwrap();
        let s = &c.http.servers[0];
        assert_eq!(s.locations[0].conf.proxy_set_headers.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(), vec!["B"]);
        assert_eq!(s.locations[1].conf.proxy_set_headers.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(), vec!["A"]);
        assert_eq!(s.locations[0].conf.add_headers.len(), 1);
    }

    #[test]
    fn errors_name_directive_file_and_line() {
        let e = compile_str("http {\n  server {\n    listen 80;\n    ssl_certificate x.pem;\n  }\n}\n").unwrap_err();
        assert_eq!(e.loc.line, 4);
        assert!(e.message.contains("\"ssl_certificate\"") && e.is_unsupported() && e.to_string().contains("--no-builtin-proxy"), "{e}");
        let e = compile_str("http { server { location ~ ^/a { proxy_pass http://b/x; } } }").unwrap_err();
        assert!(e.message.contains("cannot have URI part"), "{e}");
        let e = compile_str("http { server { location / { root $nosuchvar; } } }").unwrap_err();
        assert!(e.message.contains("unknown \"nosuchvar\" variable"), "{e}");
        let e = compile_str("http { upstream u { server a:99999; } }").unwrap_err();
        assert!(e.message.contains("invalid port"), "{e}");
        let e = compile_str("http { server { location / { proxy_pass http://:80; } } }").unwrap_err();
        assert!(e.message.contains("no host"), "{e}");
    }

    #[test]
    fn ignored_directives_and_values() {
        let c = compile_str("user nobody; pid /run/x.pid; worker_processes 3; events { use epoll; worker_connections 64; } http { tcp_nopush on; client_max_body_size 2m; upstream u { server a:1 weight=3 max_fails=2 fail_timeout=5s; server b backup; keepalive 16; } }").unwrap();
        assert_eq!((c.workers, c.worker_connections), (3, 64));
        let u = &c.http.upstreams["u"];
        assert_eq!((u.servers[0].weight, u.servers[0].max_fails, u.servers[0].fail_timeout), (3, 2, Duration::from_secs(5)));
        assert!(u.servers[1].backup && u.servers[1].port == 80);
        assert_eq!(u.keepalive, Keepalive { idle: 16, pool: Some(pool_of("u")), ..Keepalive::default() });
        let c = compile_str(
            "events {} http { upstream u { server a; keepalive 2; keepalive_timeout 5s; keepalive_requests 3; keepalive_time 1m; } }",
        )
        .unwrap();
        let limits =
            Keepalive { idle: 2, pool: Some(pool_of("u")), timeout: Duration::from_secs(5), requests: 3, time: Duration::from_secs(60) };
        assert_eq!(c.http.upstreams["u"].keepalive, limits);
        let two = compile_str("events {} http { upstream u { server a; } upstream v { server a; } }").unwrap();
        assert_ne!(two.http.upstreams["u"].keepalive.pool, two.http.upstreams["v"].keepalive.pool, "one pool per block");
        assert!(compile_str("events {} http { upstream u { server a; keepalive 0; } }").is_err(), "nginx refuses 0");
        assert_eq!(parse_time("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_size("2m"), Some(2 << 20));
        assert_eq!(parse_size("3980433795905195568k"), None, "overflows");
        assert_eq!(parse_size("17179869184g"), None, "overflows");
        assert_eq!(parse_size("16777215g"), Some(16777215 << 30));
        assert_eq!(parse_time("5000000000s"), None, "more seconds than fit");
        assert_eq!(
            parse_time("4294967295w4294967295w4294967295w4294967295w4294967295w"),
            Some(Duration::from_secs(5 * 604_800 * 4294967295))
        );
    }

    #[test]
    fn a_rewrite_takes_the_shortcut_only_where_it_gives_the_engines_captures() {
        use super::{RewriteRegex, prefix_shape};
        assert_eq!(prefix_shape("^/api(/.*)$"), Some(("/api".into(), "/".into())));
        assert_eq!(prefix_shape("^(.*)$"), Some((String::new(), String::new())));
        assert_eq!(prefix_shape("^/a\\.b(.*)$"), Some(("/a.b".into(), String::new())));
        for other in
            ["^/api(/.*)", "/api(/.*)$", "^/api(/.+)$", "^/api(/.*?)$", "(?i)^/api(/.*)$", "^/(a)(.*)$", "^/api(/[^x]*)$", "^/api(?s:/.*)$"]
        {
            assert_eq!(prefix_shape(other), None, "{other}");
        }
        let patterns = ["^/api(/.*)$", "^(.*)$", "^/a\\.b(.*)$", "^/x(y.*)$", "^/api(/.+)$", "(?i)^/API(/.*)$", "^/(a)(.*)$"];
        let subjects = [
            "/api/items",
            "/api",
            "/api/",
            "/apix",
            "/api/a\nb",
            "/api/a\n",
            "/API/items",
            "/a.b",
            "/a.bc",
            "/axb",
            "/xy",
            "/x",
            "",
            "/",
            "/api/\u{e9}t\u{e9}",
        ];
        for p in patterns {
            let r = RewriteRegex::new(regex::Regex::new(p).unwrap(), p);
            for s in subjects {
                let engine = r.regex.captures(s).map(|c| c.iter().map(|m| m.map(|m| m.as_str().to_string())).collect::<Vec<_>>());
                assert_eq!(r.captures(s), engine, "{p} on {s:?}");
            }
        }
    }

    #[test]
    fn what_nginx_t_refuses_is_refused_in_its_words() {
        let refused = |body: &str| compile_str(&format!("http {{ server {{ listen 8080; {body} }} }}")).unwrap_err().message;
        assert_eq!(refused("location /x { } location /x { }"), "duplicate location \"/x\"");
        assert_eq!(refused("location = /x { } location = /x { }"), "duplicate location \"/x\"");
        assert_eq!(refused("location /x { } location ^~ /x { }"), "duplicate location \"/x\"");
        assert_eq!(refused("location /a { location /a/b { } location /a/b { } }"), "duplicate location \"/a/b\"");
        assert_eq!(refused("listen :0;"), "invalid port in \":0\" of the \"listen\" directive");
        assert_eq!(refused("listen 0;"), "invalid port in \"0\" of the \"listen\" directive");
        assert_eq!(refused("return 200 \"${uri\";"), "the closing bracket in \"uri\" variable is missing");
        assert_eq!(refused("return 200 \"${ uri}\";"), "the closing bracket in \"\" variable is missing");
        assert_eq!(refused("return 200 \"a$\";"), "invalid variable name");
        assert_eq!(refused("return 200 \"${}\";"), "invalid variable name");
        // What nginx takes: repeated regexes and named locations, one default per address.
        assert!(compile_str("http { server { location ~ a { } location ~ a { } location @n { } location @n { } } }").is_ok());
        assert!(compile_str("http { server { listen 80 default_server; } server { listen 127.0.0.1:80 default_server; } }").is_ok());
        let e = compile_str("http { server { listen 80 default_server; } server { listen 80 default_server; } }").unwrap_err();
        assert_eq!(e.message, "a duplicate default server for 0.0.0.0:80");
    }
}
