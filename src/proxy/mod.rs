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
