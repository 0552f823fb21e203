//! Directive argument parsers: times, sizes, flags, listen addresses, names.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use crate::proxy::conf::{ConfError, Directive};

use super::types::*;

pub(super) fn err(d: &Directive, msg: impl Into<String>) -> ConfError {
    ConfError::invalid(d.loc.clone(), msg)
}

pub(super) fn unsupported(d: &Directive, msg: impl Into<String>) -> ConfError {
    ConfError::unsupported(d.loc.clone(), msg)
}

pub(super) fn nargs(
    d: &Directive,
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), ConfError> {
    if range.contains(&d.args.len()) {
        Ok(())
    } else {
        Err(err(d, format!("invalid number of arguments in \"{}\" directive", d.name)))
    }
}

/// The one argument of a directive that takes a number.
pub(super) fn number(d: &Directive) -> Result<u64, ConfError> {
    one(d)?.parse().map_err(|_| err(d, "invalid number"))
}

/// The one argument of a directive that takes one.
pub(super) fn one(d: &Directive) -> Result<&str, ConfError> {
    nargs(d, 1..=1)?;
    Ok(&d.args[0])
}

pub(super) fn flag(d: &Directive) -> Result<bool, ConfError> {
    nargs(d, 1..=1)?;
    match d.args[0].as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(err(
            d,
            format!(
                "invalid value \"{other}\" in \"{}\" directive, it must be \"on\" or \"off\"",
                d.name
            ),
        )),
    }
}

/// nginx's `ngx_parse_time`: units from years down, each at most once and
/// in order, spaces between; a number without a unit is seconds. `in_secs`
/// for directives taking seconds (`expires`, `fail_timeout`: `y` and `M`
/// allowed, `ms` not), else milliseconds (`ms` allowed, `y` and `M` not).
/// The value in the directive's unit; None where nginx says "invalid value".
fn ngx_time(s: &str, in_secs: bool) -> Option<u64> {
    #[derive(PartialEq, PartialOrd)]
    enum Step {
        Start,
        Year,
        Month,
        Week,
        Day,
        Hour,
        Min,
        Sec,
        Msec,
        Last,
    }
    const MAX: u64 = i64::MAX as u64;
    let b = s.as_bytes();
    let (mut value, mut total, mut valid) = (0u64, 0u64, false);
    let mut step = if in_secs { Step::Start } else { Step::Month };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() {
            value =
                value.checked_mul(10)?.checked_add(u64::from(c - b'0')).filter(|v| *v <= MAX)?;
            valid = true;
            continue;
        }
        let (next, scale): (Step, u64) = match c {
            b'y' if step == Step::Start => (Step::Year, 365 * 86_400),
            b'M' if step < Step::Month => (Step::Month, 30 * 86_400),
            b'w' if step < Step::Week => (Step::Week, 7 * 86_400),
            b'd' if step < Step::Day => (Step::Day, 86_400),
            b'h' if step < Step::Hour => (Step::Hour, 3600),
            b'm' if b.get(i) == Some(&b's') => {
                if in_secs || step >= Step::Msec {
                    return None;
                }
                i += 1;
                (Step::Msec, 1)
            }
            b'm' if step < Step::Min => (Step::Min, 60),
            b's' if step < Step::Sec => (Step::Sec, 1),
            b' ' if step < Step::Sec => (Step::Last, 1),
            _ => return None,
        };
        let scale = if next != Step::Msec && !in_secs { scale * 1000 } else { scale };
        step = next;
        value = value.checked_mul(scale).filter(|v| *v <= MAX)?;
        total = total.checked_add(value).filter(|t| *t <= MAX)?;
        value = 0;
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
    }
    if !valid {
        return None;
    }
    let value = if in_secs { value } else { value.checked_mul(1000)? };
    total.checked_add(value).filter(|t| *t <= MAX)
}

/// A time in a directive that takes milliseconds (`keepalive_timeout`,
/// `proxy_read_timeout`, ...), as nginx reads it.
pub fn parse_time(s: &str) -> Option<Duration> {
    ngx_time(s, false).map(Duration::from_millis)
}

/// A time in a directive that takes seconds (`expires`, `fail_timeout`).
pub(super) fn parse_secs(s: &str) -> Option<u64> {
    ngx_time(s, true)
}

pub(super) fn time(d: &Directive) -> Result<Duration, ConfError> {
    nargs(d, 1..=2)?;
    parse_time(&d.args[0]).ok_or_else(|| {
        err(d, format!("invalid time \"{}\" in \"{}\" directive", d.args[0], d.name))
    })
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

pub(super) fn regex(d: &Directive, pattern: &str, caseless: bool) -> Result<Regex, ConfError> {
    let p = if caseless { format!("(?i){pattern}") } else { pattern.to_string() };
    Regex::new(&p).map_err(|e| err(d, format!("invalid regular expression \"{pattern}\": {e}")))
}

pub(super) fn listen(d: &Directive) -> Result<Listen, ConfError> {
    nargs(d, 1..=16)?;
    let a = &d.args[0];
    let (addr, port) = if let Some(rest) = a.strip_prefix('[') {
        let (ip, after) =
            rest.split_once(']').ok_or_else(|| err(d, format!("invalid address \"{a}\"")))?;
        let ip: IpAddr =
            ip.parse().map_err(|_| err(d, format!("invalid IPv6 address \"{ip}\"")))?;
        let port = after
            .strip_prefix(':')
            .map_or(Ok(80), |p| p.parse())
            .map_err(|_| err(d, format!("invalid port in \"{a}\"")))?;
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
                p.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                    err(d, format!("invalid port in \"{a}\" of the \"listen\" directive"))
                })?,
            ),
            None => (a.as_str(), 80),
        };
        let ip = match host {
            "*" => None,
            "localhost" => Some(IpAddr::from([127, 0, 0, 1])),
            h => Some(h.parse().map_err(|_| {
                err(d, format!("host not found in \"{a}\" of the \"listen\" directive"))
            })?),
        };
        (ip, port)
    };
    for opt in &d.args[1..] {
        match opt.as_str() {
            "default_server" | "default" | "reuseport" | "deferred" | "bind" => {}
            o if o.starts_with("backlog=")
                || o.starts_with("ipv6only=")
                || o.starts_with("so_keepalive=") => {}
            "http2" | "ssl" => {}
            "quic" | "proxy_protocol" => {
                return Err(unsupported(
                    d,
                    format!("\"listen ... {opt}\" is not supported by the built-in proxy"),
                ));
            }
            other => return Err(err(d, format!("invalid parameter \"{other}\""))),
        }
    }
    Ok(Listen {
        addr,
        port,
        default_server: d.args[1..].iter().any(|o| o == "default_server" || o == "default"),
        ssl: d.args[1..].iter().any(|o| o == "ssl"),
        http2: d.args[1..].iter().any(|o| o == "http2"),
        at: d.loc.clone(),
    })
}

pub(super) fn server_name(d: &Directive, n: &str) -> Result<Option<ServerName>, ConfError> {
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

/// `expires off|epoch|max|[-|+]TIME`.
pub(super) fn expires(d: &Directive) -> Result<Expires, ConfError> {
    nargs(d, 1..=2)?;
    if d.args.len() == 2 && d.args[0] != "modified" {
        return Err(err(d, "invalid value"));
    }
    // Times from the file's modification or at a time of day: nginx's to do.
    if d.args.len() == 2 || d.args[0].starts_with('@') {
        return Err(unsupported(
            d,
            format!("\"expires {}\" is not supported by the built-in proxy", d.args.join(" ")),
        ));
    }
    if d.args[0].contains('$') {
        return Ok(Expires::Var(crate::proxy::vars::Template::parse(&d.args[0])));
    }
    expires_value(&d.args[0]).ok_or_else(|| err(d, format!("invalid value \"{}\"", d.args[0])))
}

/// `off`, `epoch`, `max` or `[-|+]TIME`, as `expires` takes it (also from a variable).
pub fn expires_value(v: &str) -> Option<Expires> {
    Some(match v {
        "off" => Expires::Off,
        "epoch" => Expires::Epoch,
        "max" => Expires::Max,
        s => {
            let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
            let secs = parse_secs(s.trim_start_matches('+'))?;
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            Expires::Seconds(if neg { -secs } else { secs })
        }
    })
}

/// `access_log off|PATH [FORMAT [...]]` onto what this level has so far:
/// several files log the same request, `off` logs nothing.
pub(super) fn access_log(so_far: AccessLog, d: &Directive) -> AccessLog {
    if d.args[0] == "off" {
        return AccessLog::Off;
    }
    let format =
        d.args.get(1).filter(|f| !f.contains('=')).cloned().unwrap_or_else(|| "combined".into());
    match so_far {
        AccessLog::Files(mut v) => {
            Arc::make_mut(&mut v).push(LogTarget::new(d.args[0].clone(), format));
            AccessLog::Files(v)
        }
        AccessLog::Off => {
            AccessLog::Files(Arc::new(vec![LogTarget::new(d.args[0].clone(), format)]))
        }
    }
}

/// `proxy_next_upstream`, `_tries` or `_timeout` (and fastcgi's), onto `next`.
pub(super) fn next_upstream(next: &mut NextUpstream, d: &Directive) -> Result<(), ConfError> {
    if d.name.ends_with("_tries") {
        next.tries = one(d)?.parse().map_err(|_| err(d, "invalid value"))?;
        return Ok(());
    }
    if d.name.ends_with("_timeout") {
        next.timeout_total = time(d)?;
        return Ok(());
    }
    nargs(d, 1..=16)?;
    let mut n = NextUpstream {
        error: false,
        timeout: false,
        tries: next.tries,
        timeout_total: next.timeout_total,
        ..NextUpstream::default()
    };
    for a in &d.args {
        match a.as_str() {
            "off" => {}
            "error" => n.error = true,
            "timeout" => n.timeout = true,
            "invalid_header" => n.invalid_header = true,
            "non_idempotent" => n.non_idempotent = true,
            code => {
                let status = code
                    .strip_prefix("http_")
                    .and_then(|c| c.parse().ok())
                    .filter(|c| [500, 502, 503, 504, 403, 404, 429].contains(c))
                    .ok_or_else(|| err(d, format!("invalid value \"{code}\"")))?;
                n.statuses.push(status);
            }
        }
    }
    if d.args.iter().any(|a| a == "off") && d.args.len() > 1 {
        return Err(err(d, "invalid value \"off\""));
    }
    *next = n;
    Ok(())
}

/// `proxy_ignore_headers NAME...`: whether `X-Accel-Redirect` is among them.
/// There is no proxy cache here: what the others change is caching.
pub(super) fn ignore_accel_redirect(d: &Directive) -> Result<bool, ConfError> {
    nargs(d, 1..=usize::MAX)?;
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
    Ok(d.args.iter().any(|a| a.eq_ignore_ascii_case("X-Accel-Redirect")))
}

/// `types { TYPE EXTENSION...; ... }`: types by lowercase extension.
pub(super) fn types(d: &Directive) -> crate::proxy::FastMap<String, String> {
    let mut map = crate::proxy::FastMap::default();
    for t in d.block.as_deref().unwrap_or_default() {
        for ext in &t.args {
            map.insert(ext.to_ascii_lowercase(), t.name.clone());
        }
    }
    map
}

/// `proxy_http_version 1.0|1.1`.
pub(super) fn http_version(d: &Directive) -> Result<String, ConfError> {
    nargs(d, 1..=1)?;
    if !matches!(d.args[0].as_str(), "1.0" | "1.1") {
        return Err(err(d, "proxy_http_version must be 1.0 or 1.1"));
    }
    Ok(d.args[0].clone())
}

/// `charset`, `charset_types`, and the recoding directives, which are
/// nginx's to do unless they name the charset the answers are already in.
pub(super) fn charset(conf: &mut LocConf, d: &Directive) -> Result<(), ConfError> {
    nargs(d, 1..=usize::MAX)?;
    match d.name.as_str() {
        "charset" => {
            if d.args[0].contains('$') {
                return Err(unsupported(d, "a charset from a variable is nginx's to set"));
            }
            conf.charset = (d.args[0] != "off").then(|| d.args[0].as_str().into());
        }
        "charset_types" => {
            conf.charset_types = Arc::new(if d.args.iter().any(|a| a == "*") {
                vec!["*".into()]
            } else {
                d.args.iter().map(|a| a.to_ascii_lowercase()).collect()
            });
        }
        _ => {
            let same = d.name == "source_charset"
                && conf.charset.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&d.args[0]))
                || d.name == "override_charset" && flag(d) == Ok(false);
            if !same {
                return Err(unsupported(
                    d,
                    format!("\"{}\" recodes answers: nginx's to do", d.name),
                ));
            }
        }
    }
    Ok(())
}

/// `limit_req zone=NAME [burst=N] [nodelay | delay=N]`.
pub(super) fn limit_req(d: &Directive) -> Result<crate::proxy::limit::Limit, ConfError> {
    nargs(d, 1..=3)?;
    let (mut zone, mut burst, mut delay) = (None, 0u64, 0u64);
    let thousands = |a: &str, v: &str| {
        v.parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(1000))
            .ok_or_else(|| err(d, format!("invalid value \"{a}\"")))
    };
    for a in &d.args {
        if let Some(z) = a.strip_prefix("zone=") {
            zone = Some(z.to_string());
        } else if let Some(b) = a.strip_prefix("burst=") {
            burst = thousands(a, b)?;
        } else if let Some(n) = a.strip_prefix("delay=") {
            delay = thousands(a, n)?;
        } else if a == "nodelay" {
            delay = u64::MAX;
        } else {
            return Err(err(d, format!("invalid parameter \"{a}\"")));
        }
    }
    let zone = zone.ok_or_else(|| err(d, "\"zone\" parameter must be specified"))?;
    Ok(crate::proxy::limit::Limit { zone, burst, delay })
}

/// A status code argument within `range`.
pub(super) fn status_code(
    d: &Directive,
    range: std::ops::RangeInclusive<u16>,
) -> Result<u16, ConfError> {
    let v = one(d)?;
    v.parse().ok().filter(|c| range.contains(c)).ok_or_else(|| {
        err(d, format!("value must be between {} and {}", range.start(), range.end()))
    })
}
