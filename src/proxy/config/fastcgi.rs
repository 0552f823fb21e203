//! The FastCGI module's directives (PHP-FPM stacks): where requests go with
//! `fastcgi_pass`, which parameters they carry, and how the answer is
//! treated. nginx's buffer and temp-file tuning changes nothing a client
//! sees and is accepted; a FastCGI cache is left to the nginx container.

use std::collections::HashSet;
use std::sync::Arc;

use crate::proxy::conf::{ConfError, Directive};
use crate::proxy::vars::Template;

use super::types::LocConf;
use super::values::{err, flag, ignore_accel_redirect, nargs, one, regex, time, unsupported};

/// Buffering and connection tuning: nginx's memory and disk use, not what
/// the client or the FastCGI server sees.
pub(super) const TUNING: &[&str] = &[
    "fastcgi_buffers",
    "fastcgi_buffer_size",
    "fastcgi_busy_buffers_size",
    "fastcgi_temp_path",
    "fastcgi_temp_file_write_size",
    "fastcgi_max_temp_file_size",
    "fastcgi_buffering",
    "fastcgi_request_buffering",
    "fastcgi_keep_conn",
    "fastcgi_socket_keepalive",
    "fastcgi_limit_rate",
    "fastcgi_force_ranges",
    "fastcgi_catch_stderr",
];

/// The directives [`apply`] takes.
pub(super) const TAKEN: &[&str] = &[
    "fastcgi_param",
    "fastcgi_index",
    "fastcgi_split_path_info",
    "fastcgi_intercept_errors",
    "fastcgi_connect_timeout",
    "fastcgi_read_timeout",
    "fastcgi_send_timeout",
    "fastcgi_hide_header",
    "fastcgi_pass_header",
    "fastcgi_pass_request_headers",
    "fastcgi_pass_request_body",
    "fastcgi_ignore_headers",
    "fastcgi_cache",
    "fastcgi_next_upstream",
    "fastcgi_next_upstream_tries",
    "fastcgi_next_upstream_timeout",
];

/// Applies one of [`TAKEN`] to the level's settings; `cleared` says which
/// array directives this level has already replaced.
pub(super) fn apply(
    conf: &mut LocConf,
    d: &Directive,
    cleared: &mut HashSet<&'static str>,
    template: &dyn Fn(&Directive, &str) -> Result<Template, ConfError>,
) -> Result<(), ConfError> {
    let f = &mut conf.fastcgi;
    match d.name.as_str() {
        "fastcgi_param" => {
            nargs(d, 2..=3)?;
            let if_not_empty = match d.args.get(2).map(String::as_str) {
                None => false,
                Some("if_not_empty") => true,
                Some(other) => return Err(err(d, format!("invalid parameter \"{other}\""))),
            };
            if cleared.insert("fastcgi_param") {
                f.params = Arc::default();
            }
            let value = template(d, &d.args[1])?;
            Arc::make_mut(&mut f.params).push((d.args[0].clone(), value, if_not_empty));
        }
        "fastcgi_index" => f.index = one(d)?.to_string(),
        "fastcgi_split_path_info" => {
            let pattern = one(d)?;
            f.split = Some(regex(d, pattern, false)?);
        }
        "fastcgi_intercept_errors" => f.intercept_errors = flag(d)?,
        "fastcgi_connect_timeout" => f.connect_timeout = time(d)?,
        "fastcgi_read_timeout" => f.read_timeout = time(d)?,
        "fastcgi_send_timeout" => f.send_timeout = time(d)?,
        "fastcgi_hide_header" | "fastcgi_pass_header" => {
            let name = one(d)?.to_ascii_lowercase();
            let (list, key) = if d.name == "fastcgi_hide_header" {
                (&mut f.hide_headers, "fastcgi_hide_header")
            } else {
                (&mut f.pass_headers, "fastcgi_pass_header")
            };
            if cleared.insert(key) {
                *list = Arc::default();
            }
            Arc::make_mut(list).push(name);
        }
        "fastcgi_pass_request_headers" => f.pass_request_headers = flag(d)?,
        "fastcgi_pass_request_body" => f.pass_request_body = flag(d)?,
        "fastcgi_ignore_headers" => f.ignore_accel_redirect = ignore_accel_redirect(d)?,
        name if name.starts_with("fastcgi_next_upstream") => {
            super::values::next_upstream(&mut f.next, d)?;
        }
        "fastcgi_cache" if d.args == ["off"] => {}
        "fastcgi_cache" => {
            return Err(unsupported(d, "the built-in proxy keeps no FastCGI cache"));
        }
        _ => {}
    }
    Ok(())
}
