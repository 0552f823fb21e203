//! The built-in reverse proxy: an nginx configuration served in-process.
//!
//! `conf` reads nginx's syntax, `config` compiles it into servers and
//! locations with nginx's meaning, `vars` evaluates variables; the request
//! phases (server selection, rewrite, location, content) follow nginx.

pub mod auth;
pub mod body;
pub mod cache;
pub mod client;
pub mod conf;
pub mod config;
pub mod ctx;
pub mod directives;
mod fastcgi;
pub mod files;
pub mod forward;
pub mod gzip;
pub mod h2;
pub mod handler;
pub mod http;
pub mod http1;
pub mod limit;
pub mod limit_conn;
pub mod log;
mod not_modified;
mod openssl_names;
mod pinned;
mod ranges;
pub mod rawtext;
pub mod realip;
pub mod request;
pub mod routes;
pub mod send_timeout;
pub mod server;
mod sub_filter;
mod tcpinfo;
pub mod time;
pub mod tls;
mod tunnel;
pub mod upstream;
pub mod vars;
pub mod watch;

/// The maps read on every request hash with foldhash: SipHash's resistance
/// to chosen keys is not needed for keys the configuration and the file
/// system make, and it cost a small file's answer a twentieth of its
/// instructions.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// The bytes that are ASCII letters, digits or one of `punctuation`, as a
/// table: a per-byte search of the punctuation showed in profiles where
/// every request's names and URIs are checked.
#[expect(clippy::cast_possible_truncation, reason = "the index is below 256")]
pub const fn alnum_and(punctuation: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < punctuation.len() {
        t[punctuation[i] as usize] = true;
        i += 1;
    }
    t
}
