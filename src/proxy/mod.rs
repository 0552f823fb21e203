//! The built-in reverse proxy: an nginx configuration served in-process.
//!
//! `conf` reads nginx's syntax, `config` compiles it into servers and
//! locations with nginx's meaning, `vars` evaluates variables; the request
//! phases (server selection, rewrite, location, content) follow nginx.

pub mod body;
pub mod client;
pub mod compose;
pub mod conf;
pub mod config;
pub mod directives;
pub mod files;
pub mod framing;
pub mod gzip;
pub mod handler;
pub mod log;
pub mod routes;
pub mod send_timeout;
pub mod server;
pub mod upstream;
pub mod vars;
pub mod watch;

/// The maps read on every request hash with foldhash: SipHash's resistance
/// to chosen keys is not needed for keys the configuration and the file
/// system make, and it cost a small file's answer a twentieth of its
/// instructions.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
