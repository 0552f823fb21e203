//! nginx variables: templates such as `$scheme://$host$request_uri` are
//! compiled once and evaluated per request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use hyper::HeaderMap;

/// A value with variables, compiled.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(String),
    Capture(usize),
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
                Err(_) => parts.push(Part::Var(name.to_ascii_lowercase())),
            }
            i = next;
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Template { parts }
    }

    pub fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Lit(s)] => Some(s),
            _ => None,
        }
    }

    pub fn has_variables(&self) -> bool {
        self.literal().is_none()
    }

    /// Variable names used, for checking them when the configuration loads.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| if let Part::Var(v) = p { Some(v.as_str()) } else { None })
    }

    /// Evaluates for a log line: variable values go through `escape`, and a
    /// variable with no value prints `-`, as nginx writes them.
    pub fn eval_log(&self, vars: &dyn Vars, escape: &dyn Fn(&str, &mut String)) -> String {
        let mut out = String::with_capacity(256);
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    if !vars.with_var(v, &mut |val| escape(val, &mut out)) {
                        out.push('-');
                    }
                }
                Part::Capture(n) => escape(&vars.capture(*n).unwrap_or_default(), &mut out),
            }
        }
        out
    }

    pub fn eval(&self, vars: &dyn Vars) -> String {
        let mut out = String::new();
        self.eval_into(vars, &mut out);
        out
    }

    /// Appends the value to `out`, so a caller can reuse one buffer.
    pub fn eval_into(&self, vars: &dyn Vars, out: &mut String) {
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    vars.with_var(v, &mut |val| out.push_str(val));
                }
                Part::Capture(n) => out.push_str(&vars.capture(*n).unwrap_or_default()),
            }
        }
    }
}

/// Something that answers variables.
pub trait Vars {
    fn var(&self, name: &str) -> Option<String>;
    fn capture(&self, n: usize) -> Option<String>;

    /// Hands the value of `name` to `f`; false when it has none. Values
    /// that already exist as text are lent, not copied (templates and log
    /// lines ask for a dozen per request).
    fn with_var(&self, name: &str, f: &mut dyn FnMut(&str)) -> bool {
        match self.var(name) {
            Some(v) => {
                f(&v);
                true
            }
            None => false,
        }
    }
}

/// Variables every request has, known at load time so typos are caught.
pub fn is_known(name: &str, maps: &[String]) -> bool {
    const FIXED: &[&str] = &[
        "host",
        "http_host",
        "remote_addr",
        "remote_port",
        "remote_user",
        "scheme",
        "request",
        "request_method",
        "request_uri",
        "uri",
        "document_uri",
        "args",
        "query_string",
        "is_args",
        "server_name",
        "server_port",
        "server_addr",
        "server_protocol",
        "status",
        "body_bytes_sent",
        "bytes_sent",
        "request_time",
        "request_length",
        "time_local",
        "time_iso8601",
        "msec",
        "proxy_host",
        "proxy_port",
        "proxy_add_x_forwarded_for",
        "upstream_addr",
        "upstream_status",
        "upstream_response_time",
        "document_root",
        "realpath_root",
        "content_type",
        "content_length",
        "connection",
        "connection_requests",
        "pid",
        "hostname",
        "nginx_version",
        "request_filename",
    ];
    FIXED.contains(&name)
        || name.starts_with("http_")
        || name.starts_with("arg_")
        || name.starts_with("cookie_")
        || name.starts_with("sent_http_")
        || maps.iter().any(|m| m == name)
}

/// Everything the per-request variables are computed from.
#[derive(Debug, Clone)]
pub struct RequestVars {
    pub method: String,
    pub request_uri: String,
    pub uri: String,
    pub args: String,
    pub protocol: String,
    pub headers: HeaderMap,
    pub remote: SocketAddr,
    pub local: SocketAddr,
    pub server_name: String,
    pub scheme: &'static str,
    pub captures: Vec<Option<String>>,
    pub status: u16,
    pub body_bytes_sent: u64,
    pub bytes_sent: u64,
    pub started: Instant,
    pub started_wall: SystemTime,
    pub proxy_host: String,
    pub proxy_port: String,
    pub upstream_addr: String,
    pub upstream_status: String,
    pub upstream_response_time: String,
    pub document_root: std::path::PathBuf,
    pub request_filename: std::path::PathBuf,
    pub sent_headers: HeaderMap,
    pub maps: HashMap<String, String>,
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    let mut values = h.get_all(name).iter().filter_map(|v| v.to_str().ok());
    let mut out = values.next()?.to_string();
    // Repeated headers join as nginx does: cookies with "; ", others with ", ".
    for v in values {
        out.push_str(if name.eq_ignore_ascii_case("cookie") { "; " } else { ", " });
        out.push_str(v);
    }
    Some(out)
}

fn format_ip(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) => ipv4_text(v4.ip()),
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => ipv4_text(&v4),
            None => v6.ip().to_string(),
        },
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
    let mut len = 0;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf[len] = b'.';
            len += 1;
        }
        let mut digits = itoa::Buffer::new();
        let d = digits.format(octet).as_bytes();
        buf[len..len + d.len()].copy_from_slice(d);
        len += d.len();
    }
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

/// Seconds with milliseconds, `1.234`, as nginx prints `$request_time`:
/// whole milliseconds, truncated (and without float formatting, which cost
/// a proxied request a thousand instructions).
pub fn secs_millis(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    let mut out = String::with_capacity(8);
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
    out
}

/// `host:port` text of an address, IPv4 without the formatting machinery.
pub fn addr_text(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) => {
            let mut out = ipv4_text(v4.ip());
            out.push(':');
            out.push_str(itoa::Buffer::new().format(v4.port()));
            out
        }
        SocketAddr::V6(_) => a.to_string(),
    }
}

/// The time strings nginx formats once per second and reuses.
#[derive(Clone, Copy)]
pub enum TimeFormat {
    /// `Date`, `Last-Modified`: `Sun, 06 Nov 1994 08:49:37 GMT`.
    Http,
    /// `$time_local`.
    Local,
    /// `$time_iso8601`.
    Iso8601,
}

fn format_now(t: SystemTime, f: TimeFormat) -> String {
    match f {
        TimeFormat::Http => chrono::DateTime::<chrono::Utc>::from(t).format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        TimeFormat::Local => chrono::DateTime::<chrono::Local>::from(t).format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        TimeFormat::Iso8601 => chrono::DateTime::<chrono::Local>::from(t).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
    }
}

#[cfg(test)]
thread_local! {
    static FORMATTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `t` formatted, from a small per-thread cache of recent seconds (the same
/// second is asked for again and again: the time now, the same files'
/// mtimes). Least recently used goes first: keyed by second modulo the size,
/// a file's mtime and the clock shared a slot one second in four and pushed
/// each other out on every request.
pub fn format_time(t: SystemTime, f: TimeFormat) -> String {
    with_time(t, f, &mut |s| s.to_string())
}

/// Hands `t` formatted to `use_it`, lent from the cache (log lines take
/// `$time_local` on every request; a copy is an allocation each time).
pub fn with_time<R>(t: SystemTime, f: TimeFormat, use_it: &mut dyn FnMut(&str) -> R) -> R {
    use std::cell::RefCell;
    /// (second, text, last use) per format.
    type Row = [(u64, String, u64); 4];
    thread_local! {
        static CACHE: RefCell<([Row; 3], u64)> = const { RefCell::new(([const { [const { (u64::MAX, String::new(), 0) }; 4] }; 3], 0)) };
    }
    let Ok(secs) = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()) else {
        return use_it(&format_now(t, f));
    };
    CACHE.with(|c| {
        let (rows, clock) = &mut *c.borrow_mut();
        *clock += 1;
        let row = &mut rows[f as usize];
        let i = match row.iter().position(|s| s.0 == secs) {
            Some(i) => i,
            None => {
                let i = (0..row.len()).min_by_key(|&i| row[i].2).unwrap_or(0);
                #[cfg(test)]
                FORMATTED.with(|n| n.set(n.get() + 1));
                row[i] = (secs, format_now(t, f), 0);
                i
            }
        };
        row[i].2 = *clock;
        use_it(&row[i].1)
    })
}

impl RequestVars {
    pub fn host(&self) -> String {
        // $host: the Host header without its port, lowercased, else the server name.
        match header(&self.headers, "host") {
            Some(h) if !h.is_empty() => {
                let h = h.to_ascii_lowercase();
                if h.starts_with('[') {
                    h.split(']').next().map(|s| format!("{s}]")).unwrap_or(h)
                } else {
                    h.split(':').next().unwrap_or_default().to_string()
                }
            }
            _ => self.server_name.clone(),
        }
    }

    fn arg(&self, name: &str) -> Option<String> {
        self.args.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            k.eq_ignore_ascii_case(name).then(|| v.to_string())
        })
    }
}

impl Vars for RequestVars {
    fn capture(&self, n: usize) -> Option<String> {
        self.captures.get(n).cloned().flatten()
    }

    fn with_var(&self, name: &str, f: &mut dyn FnMut(&str)) -> bool {
        let lend = |v: &str, f: &mut dyn FnMut(&str)| {
            f(v);
            true
        };
        // What is not lent below is computed, as `var` computes it.
        let owned = |f: &mut dyn FnMut(&str)| self.var(name).map(|v| f(&v)).is_some();
        if !self.maps.is_empty() && self.maps.contains_key(name) {
            return owned(f);
        }
        match name {
            "request_uri" => lend(&self.request_uri, f),
            "uri" | "document_uri" => lend(&self.uri, f),
            "request_method" => lend(&self.method, f),
            "args" | "query_string" => lend(&self.args, f),
            "scheme" => lend(self.scheme, f),
            "time_local" => with_time(self.started_wall, TimeFormat::Local, &mut |t| lend(t, f)),
            "time_iso8601" => with_time(self.started_wall, TimeFormat::Iso8601, &mut |t| lend(t, f)),
            "server_protocol" => lend(&self.protocol, f),
            "remote_user" => false,
            "remote_addr" => match self.remote {
                SocketAddr::V4(v4) => lend(ipv4_into(v4.ip(), &mut [0u8; 15]), f),
                _ => owned(f),
            },
            "body_bytes_sent" => lend(itoa::Buffer::new().format(self.body_bytes_sent), f),
            "bytes_sent" => lend(itoa::Buffer::new().format(self.bytes_sent), f),
            "host" => {
                // Already lowercase, one value, no IPv6 brackets: $host is a
                // slice of it. Anything else takes the full rules.
                let mut values = self.headers.get_all(hyper::header::HOST).iter();
                match (values.next().and_then(|v| v.to_str().ok()), values.next()) {
                    (Some(h), None) if !h.is_empty() && !h.starts_with('[') && !h.bytes().any(|b| b.is_ascii_uppercase()) => {
                        lend(h.split(':').next().unwrap_or_default(), f)
                    }
                    _ => owned(f),
                }
            }
            // Three digits or more: as `{:03}` writes it.
            "status" if self.status >= 100 => lend(itoa::Buffer::new().format(self.status), f),
            n if n.starts_with("http_") && n.len() <= 69 => {
                // The header name: `_` read as `-`, without allocating it.
                let mut buf = [0u8; 64];
                let src = &n.as_bytes()[5..];
                for (d, &c) in buf.iter_mut().zip(src) {
                    *d = if c == b'_' { b'-' } else { c };
                }
                let Ok(hname) = std::str::from_utf8(&buf[..src.len()]) else { return false };
                let mut values = self.headers.get_all(hname).iter().filter_map(|v| v.to_str().ok());
                match (values.next(), values.next()) {
                    (None, _) => false,
                    (Some(one), None) => lend(one, f),
                    _ => owned(f),
                }
            }
            _ => owned(f),
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        if let Some(v) = if self.maps.is_empty() { None } else { self.maps.get(name) } {
            return Some(v.clone());
        }
        Some(match name {
            "host" => self.host(),
            "http_host" => header(&self.headers, "host")?,
            "remote_addr" => format_ip(&self.remote),
            "remote_port" => self.remote.port().to_string(),
            "remote_user" => return None,
            "scheme" => self.scheme.to_string(),
            "request" => [self.method.as_str(), " ", &self.request_uri, " ", &self.protocol].concat(),
            "request_method" => self.method.clone(),
            "request_uri" => self.request_uri.clone(),
            "uri" | "document_uri" => self.uri.clone(),
            "args" | "query_string" => self.args.clone(),
            "is_args" => {
                if self.args.is_empty() {
                    String::new()
                } else {
                    "?".into()
                }
            }
            "server_name" => self.server_name.clone(),
            "server_port" => self.local.port().to_string(),
            "server_addr" => format_ip(&self.local),
            "server_protocol" => self.protocol.clone(),
            "status" => format!("{:03}", self.status),
            "body_bytes_sent" => self.body_bytes_sent.to_string(),
            "bytes_sent" => self.bytes_sent.to_string(),
            "request_time" => secs_millis(self.started.elapsed()),
            "time_local" => format_time(self.started_wall, TimeFormat::Local),
            "time_iso8601" => format_time(self.started_wall, TimeFormat::Iso8601),
            "msec" => secs_millis(self.started_wall.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default()),
            "proxy_host" => self.proxy_host.clone(),
            "proxy_port" => self.proxy_port.clone(),
            "proxy_add_x_forwarded_for" => match header(&self.headers, "x-forwarded-for") {
                Some(x) => format!("{x}, {}", format_ip(&self.remote)),
                None => format_ip(&self.remote),
            },
            "upstream_addr" => self.upstream_addr.clone(),
            "upstream_status" => self.upstream_status.clone(),
            "upstream_response_time" => self.upstream_response_time.clone(),
            "document_root" | "realpath_root" => self.document_root.display().to_string(),
            "request_filename" => self.request_filename.display().to_string(),
            "content_type" => header(&self.headers, "content-type")?,
            "content_length" => header(&self.headers, "content-length")?,
            "pid" => std::process::id().to_string(),
            "nginx_version" => "1.22.1".into(),
            n if n.starts_with("http_") => header(&self.headers, &n[5..].replace('_', "-"))?,
            n if n.starts_with("sent_http_") => header(&self.sent_headers, &n[10..].replace('_', "-"))?,
            n if n.starts_with("arg_") => self.arg(&n[4..])?,
            n if n.starts_with("cookie_") => {
                let cookies = header(&self.headers, "cookie")?;
                cookies.split(';').find_map(|c| {
                    let (k, v) = c.trim().split_once('=')?;
                    (k == &n[7..]).then(|| v.to_string())
                })?
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_and_an_mtime_four_seconds_apart_are_formatted_once_each() {
        let mtime = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let now = mtime + std::time::Duration::from_secs(4);
        let before = FORMATTED.with(|n| n.get());
        for _ in 0..100 {
            assert_eq!(format_time(now, TimeFormat::Http), format_now(now, TimeFormat::Http));
            assert_eq!(format_time(mtime, TimeFormat::Http), format_now(mtime, TimeFormat::Http));
        }
        assert_eq!(FORMATTED.with(|n| n.get()) - before, 2);
    }

    #[test]
    fn lent_values_match_the_owned_ones() {
        let mut headers = HeaderMap::new();
        let mut rv = vars();
        for (host, remote) in
            [("Example.COM:8080", "10.1.2.3:5"), ("example.com:80", "127.0.0.1:9"), ("[::1]:80", "[::1]:7"), ("", "1.2.3.4:1")]
        {
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
            ] {
                let mut lent = None;
                rv.with_var(name, &mut |v| lent = Some(v.to_string()));
                assert_eq!(lent, rv.var(name), "{name} with Host {host:?} from {remote}");
            }
        }
    }

    #[test]
    fn times_are_whole_milliseconds_as_nginx_prints_them() {
        use std::time::Duration;
        for (d, text) in
            [(0, "0.000"), (999, "0.000"), (1_000, "0.001"), (1_234_999, "1.234"), (60_010_000, "60.010"), (7_000_000_000, "7000.000")]
        {
            assert_eq!(secs_millis(Duration::from_micros(d)), text);
        }
    }

    #[test]
    fn addresses_read_as_display_writes_them() {
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
    }

    pub fn vars() -> RequestVars {
        let mut headers = HeaderMap::new();
        headers.insert("host", "Example.COM:1000".parse().unwrap());
        headers.insert("x-forwarded-for", "10.0.0.1".parse().unwrap());
        headers.insert("user-agent", "curl/8".parse().unwrap());
        headers.insert("cookie", "a=1; sid=xyz".parse().unwrap());
        RequestVars {
            method: "GET".into(),
            request_uri: "/api/items/7?x=1&Y=2".into(),
            uri: "/api/items/7".into(),
            args: "x=1&Y=2".into(),
            protocol: "HTTP/1.1".into(),
            headers,
            remote: "192.168.1.5:5555".parse().unwrap(),
            local: "0.0.0.0:1000".parse().unwrap(),
            server_name: "".into(),
            scheme: "http",
            captures: vec![Some("/api/items/7".into()), Some("/items/7".into())],
            status: 200,
            body_bytes_sent: 12,
            bytes_sent: 100,
            started: Instant::now(),
            started_wall: SystemTime::UNIX_EPOCH,
            proxy_host: "docker-fastapi".into(),
            proxy_port: "80".into(),
            upstream_addr: String::new(),
            upstream_status: String::new(),
            upstream_response_time: String::new(),
            document_root: Default::default(),
            request_filename: Default::default(),
            sent_headers: HeaderMap::new(),
            maps: HashMap::new(),
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
        assert!(Template::parse("plain").literal().is_some());
        assert!(Template::parse("$uri").has_variables());
    }
}
