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
            "http2" | "ssl" | "quic" | "proxy_protocol" => {
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
    Ok(match d.args[0].as_str() {
        "off" => Expires::Off,
        "epoch" => Expires::Epoch,
        "max" => Expires::Max,
        s => {
            let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
            let secs = parse_time(s.trim_start_matches('+'))
                .ok_or_else(|| err(d, format!("invalid value \"{}\"", d.args[0])))?
                .as_secs();
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
            Arc::make_mut(&mut v).push((d.args[0].clone(), format));
            AccessLog::Files(v)
        }
        AccessLog::Off => AccessLog::Files(Arc::new(vec![(d.args[0].clone(), format)])),
    }
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
