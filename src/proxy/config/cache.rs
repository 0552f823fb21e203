//! The proxy cache's directives: `proxy_cache_path` at the http level makes
//! a zone; `proxy_cache` and its settings choose, per location, what is
//! kept, for how long, and when the cache is passed by.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::proxy::conf::{ConfError, Directive};
use crate::proxy::vars::Template;

use super::types::{CachePath, LocConf};
use super::values::{err, nargs, one, parse_size, parse_time};

/// Settings of a cache that change nothing a client sees here: one
/// request at a time refreshes an entry either way.
pub(super) const TUNING: &[&str] = &[
    // The age after which a second request may fill: one request at a
    // time either way, and a fill here never outlives its request.
    "proxy_cache_lock_age",
    "proxy_cache_convert_head",
    "proxy_cache_max_range_offset",
];

/// The location-level directives [`apply`] takes.
pub(super) const TAKEN: &[&str] = &[
    "proxy_cache",
    "proxy_cache_key",
    "proxy_cache_valid",
    "proxy_cache_bypass",
    "proxy_no_cache",
    "proxy_cache_use_stale",
    "proxy_cache_methods",
    "proxy_cache_min_uses",
    "proxy_cache_revalidate",
    "proxy_cache_lock",
    "proxy_cache_lock_timeout",
    "proxy_cache_background_update",
];

/// Applies one of [`TAKEN`]; `zones` are the names proxy_cache_path made.
pub(super) fn apply(
    conf: &mut LocConf,
    d: &Directive,
    cleared: &mut HashSet<&'static str>,
    zones: &HashSet<String>,
    template: &dyn Fn(&Directive, &str) -> Result<Template, ConfError>,
) -> Result<(), ConfError> {
    let c = Arc::make_mut(&mut conf.cache);
    match d.name.as_str() {
        "proxy_cache" => {
            let name = one(d)?;
            if name == "off" {
                c.zone = None;
            } else if name.contains('$') {
                return Err(super::values::unsupported(
                    d,
                    "\"proxy_cache\" with variables is not supported by the built-in proxy",
                ));
            } else if !zones.contains(name) {
                return Err(err(d, format!("\"proxy_cache\" zone \"{name}\" is unknown")));
            } else {
                c.zone = Some(name.to_string());
            }
        }
        "proxy_cache_key" => c.key = template(d, one(d)?)?,
        "proxy_cache_revalidate" => c.revalidate = super::values::flag(d)?,
        "proxy_cache_lock" => c.lock = super::values::flag(d)?,
        "proxy_cache_lock_timeout" => {
            let t = one(d)?;
            c.lock_timeout =
                parse_time(t).ok_or_else(|| err(d, format!("invalid time value \"{t}\"")))?;
        }
        "proxy_cache_background_update" if super::values::flag(d)? => {
            return Err(super::values::unsupported(
                d,
                "\"proxy_cache_background_update\" is not supported by the built-in proxy",
            ));
        }
        "proxy_cache_background_update" => {}
        "proxy_cache_valid" => {
            nargs(d, 1..=64)?;
            if cleared.insert("proxy_cache_valid") {
                c.valid.clear();
            }
            let (time, codes) = d.args.split_last().expect("one or more");
            let time =
                parse_time(time).ok_or_else(|| err(d, format!("invalid time value \"{time}\"")))?;
            let mut list = Vec::new();
            for code in codes {
                if code == "any" {
                    list.clear();
                    break;
                }
                let n: u16 = code
                    .parse()
                    .ok()
                    .filter(|n| (100..=599).contains(n))
                    .ok_or_else(|| err(d, format!("invalid status \"{code}\"")))?;
                list.push(n);
            }
            // A time alone is for 200, 301 and 302.
            if codes.is_empty() {
                list = vec![200, 301, 302];
            }
            c.valid.push((list, time));
        }
        "proxy_cache_bypass" | "proxy_no_cache" => {
            nargs(d, 1..=64)?;
            let (list, key) = if d.name == "proxy_cache_bypass" {
                (&mut c.bypass, "proxy_cache_bypass")
            } else {
                (&mut c.no_cache, "proxy_no_cache")
            };
            if cleared.insert(key) {
                list.clear();
            }
            for a in &d.args {
                list.push(template(d, a)?);
            }
        }
        "proxy_cache_use_stale" => {
            nargs(d, 1..=16)?;
            const KNOWN: [&str; 12] = [
                "off",
                "error",
                "timeout",
                "invalid_header",
                "updating",
                "http_500",
                "http_502",
                "http_503",
                "http_504",
                "http_403",
                "http_404",
                "http_429",
            ];
            if let Some(bad) = d.args.iter().find(|a| !KNOWN.contains(&a.as_str())) {
                return Err(err(d, format!("invalid value \"{bad}\"")));
            }
            c.use_stale = d.args.iter().filter(|a| *a != "off").cloned().collect();
        }
        "proxy_cache_methods" => {
            nargs(d, 1..=8)?;
            c.methods = d.args.iter().map(|m| m.to_ascii_uppercase()).collect();
            // GET and HEAD are always among them, as nginx adds them.
            for m in ["GET", "HEAD"] {
                if !c.methods.iter().any(|x| x == m) {
                    c.methods.push(m.into());
                }
            }
        }
        "proxy_cache_min_uses" => {
            c.min_uses = one(d)?.parse().map_err(|_| err(d, "invalid number"))?;
        }
        _ => {}
    }
    Ok(())
}

/// `proxy_cache_path`.
pub(super) fn cache_path(d: &Directive) -> Result<CachePath, ConfError> {
    nargs(d, 2..=16)?;
    let mut out = CachePath {
        name: String::new(),
        path: PathBuf::from(&d.args[0]),
        levels: Vec::new(),
        inactive: Duration::from_secs(600),
        max_size: None,
    };
    for a in &d.args[1..] {
        let bad = || err(d, format!("invalid {a}"));
        let (k, v) = a.split_once('=').unwrap_or((a, ""));
        match k {
            "levels" => {
                let widths: Option<Vec<usize>> = v.split(':').map(|w| w.parse().ok()).collect();
                let widths =
                    widths.filter(|w| w.len() <= 3 && w.iter().all(|n| (1..=2).contains(n)));
                out.levels = widths.ok_or_else(bad)?;
            }
            "keys_zone" => {
                let (name, size) = v.split_once(':').ok_or_else(bad)?;
                parse_size(size).filter(|s| *s >= 8192).ok_or_else(bad)?;
                out.name = name.to_string();
            }
            "inactive" => out.inactive = parse_time(v).ok_or_else(bad)?,
            "max_size" => out.max_size = Some(parse_size(v).ok_or_else(bad)?),
            "use_temp_path" | "min_free" | "loader_files" | "loader_sleep" | "loader_threshold"
            | "manager_files" | "manager_sleep" | "manager_threshold" | "purger" => {}
            _ => return Err(err(d, format!("invalid parameter \"{a}\""))),
        }
    }
    if out.name.is_empty() {
        return Err(err(d, "\"proxy_cache_path\" must have \"keys_zone\" parameter"));
    }
    Ok(out)
}
