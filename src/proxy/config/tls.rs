//! The ssl and http2 modules' directives, at the http and server levels.
//! What rustls cannot do the same way (client certificates, encrypted
//! keys, certificates named by variables) is refused as unsupported, so the
//! nginx container serves such a configuration.

use std::collections::HashSet;
use std::sync::Arc;

use crate::proxy::conf::{ConfError, Directive};

use super::types::LocConf;
use super::values::{err, flag, nargs, unsupported};

/// Settings that tune OpenSSL or nginx's HTTP/2 buffers: rustls and hyper
/// choose their own, and a client sees the same protocol either way.
pub(super) const TUNING: &[&str] = &[
    "ssl_ciphers",
    "ssl_prefer_server_ciphers",
    "ssl_session_cache",
    "ssl_session_timeout",
    "ssl_session_tickets",
    "ssl_session_ticket_key",
    "ssl_dhparam",
    "ssl_ecdh_curve",
    "ssl_stapling",
    "ssl_stapling_verify",
    "ssl_stapling_file",
    "ssl_stapling_responder",
    "ssl_trusted_certificate",
    "ssl_buffer_size",
    "ssl_early_data",
    "ssl_reject_handshake",
    "ssl_conf_command",
    "ssl_crl",
    "ssl_ocsp",
    "ssl_ocsp_cache",
    "ssl_ocsp_responder",
    "http2_max_concurrent_streams",
    "http2_max_field_size",
    "http2_max_header_size",
    "http2_max_requests",
    "http2_recv_buffer_size",
    "http2_recv_timeout",
    "http2_idle_timeout",
    "http2_body_preread_size",
    "http2_chunk_size",
    "http2_push",
    "http2_push_preload",
    "http2_streams_index_size",
];

/// The directives [`apply`] takes.
pub(super) const TAKEN: &[&str] = &[
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_protocols",
    "ssl_password_file",
    "ssl_verify_client",
    "ssl_client_certificate",
    "ssl_verify_depth",
    "http2",
    "ssl",
];

const PROTOCOLS: [&str; 6] = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// Applies one of [`TAKEN`] to the level's settings; `cleared` says which
/// array directives this level has already replaced.
pub(super) fn apply(
    conf: &mut LocConf,
    d: &Directive,
    cleared: &mut HashSet<&'static str>,
) -> Result<(), ConfError> {
    let tls = Arc::make_mut(&mut conf.tls);
    match d.name.as_str() {
        "ssl_certificate" | "ssl_certificate_key" => {
            nargs(d, 1..=1)?;
            let path = &d.args[0];
            if path.contains('$') || path.starts_with("data:") || path.starts_with("engine:") {
                return Err(unsupported(
                    d,
                    format!(
                        "\"{}\" with variables, data: or engine: is not supported by the built-in proxy",
                        d.name
                    ),
                ));
            }
            let (list, name) = if d.name == "ssl_certificate" {
                (&mut tls.certificates, "ssl_certificate")
            } else {
                (&mut tls.keys, "ssl_certificate_key")
            };
            // An array directive: the first at a level replaces what was inherited.
            if cleared.insert(name) {
                list.clear();
            }
            list.push((path.clone(), d.loc.clone()));
        }
        "ssl_protocols" => {
            nargs(d, 1..=6)?;
            for p in &d.args {
                if !PROTOCOLS.contains(&p.as_str()) {
                    return Err(err(d, format!("invalid value \"{p}\"")));
                }
            }
            if !d.args.iter().any(|p| p == "TLSv1.2" || p == "TLSv1.3") {
                return Err(unsupported(
                    d,
                    "the built-in proxy speaks TLSv1.2 and TLSv1.3 only; \"ssl_protocols\" names neither",
                ));
            }
            tls.protocols = d.args.clone();
        }
        "http2" => tls.http2 = flag(d)?,
        "ssl" => tls.ssl_on = flag(d)?,
        "ssl_verify_client" => {
            nargs(d, 1..=1)?;
            if d.args[0] != "off" {
                return Err(unsupported(
                    d,
                    "client certificates (\"ssl_verify_client\") are not supported by the built-in proxy",
                ));
            }
        }
        "ssl_password_file" => {
            return Err(unsupported(
                d,
                "encrypted keys (\"ssl_password_file\") are not supported by the built-in proxy",
            ));
        }
        // Only read when clients are verified, which is refused above.
        "ssl_client_certificate" | "ssl_verify_depth" => nargs(d, 1..=1)?,
        _ => {}
    }
    Ok(())
}
