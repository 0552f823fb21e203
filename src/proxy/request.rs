//! What answering a request works with: the running configuration
//! ([`Runtime`]), one request's state as it moves through the phases
//! ([`Req`]), and what a phase decides ([`Outcome`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::header::HeaderValue;
use hyper::{Method, Response};

use super::config::Config;
use super::files;
use super::http::Body;
use super::log::Logs;
use super::upstream::Upstreams;
use super::vars::RequestVars;

/// Maps paths written in the configuration (roots, aliases) to host paths.
pub trait PathMap: Send + Sync {
    fn host_path(&self, conf_path: &str) -> Option<PathBuf>;
}

pub struct Identity;

impl PathMap for Identity {
    fn host_path(&self, conf_path: &str) -> Option<PathBuf> {
        Some(PathBuf::from(conf_path))
    }
}

/// Everything a running proxy needs to answer requests.
pub struct Runtime {
    pub config: Config,
    pub prefix: PathBuf,
    pub paths: Arc<dyn PathMap>,
    pub upstreams: Upstreams,
    pub logs: Arc<Logs>,
    pub cache: files::Cache,
    pub server_header: HeaderValue,
    /// Certificates and ALPN for the `listen ... ssl` ports.
    pub tls: super::tls::Tls,
    /// Roots and aliases written without variables, mapped to the host once.
    pub host_dirs: super::FastMap<String, Option<Arc<Path>>>,
    /// The same, by where the configuration holds the text: a request asks
    /// for its root three or four times, and a path's text is hashed whole.
    pub host_dirs_by_text: super::FastMap<TextAt, Option<Arc<Path>>>,
}

/// Where a text of the loaded configuration lies (address and length):
/// the configuration is not changed while a runtime holds it, so no other
/// live text has that place. A text elsewhere (a copy) is not found by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TextAt(usize, usize);

impl TextAt {
    pub fn of(s: &str) -> TextAt {
        TextAt(s.as_ptr() as usize, s.len())
    }
}

/// A path written in the configuration (root, alias, log) mapped to the
/// host: relative ones are under the prefix.
pub fn map_written(prefix: &Path, paths: &dyn PathMap, value: &str) -> Option<PathBuf> {
    let written = if value.starts_with('/') {
        value.to_string()
    } else {
        prefix.join(value).display().to_string()
    };
    paths.host_path(&written)
}

/// What a phase decided.
pub enum Outcome {
    /// A finished response (a file, an upstream's answer, a `return` with text).
    Done(Response<Body>),
    /// An error or status to answer, through `error_page` where configured.
    Status(u16),
    /// An external redirect.
    Redirect(u16, String),
    /// Continue with another URI in the same server (index, try_files).
    Internal(String),
    /// Continue in a named location.
    Named(String),
}

/// The state of one request as it moves through the phases.
pub struct Req {
    pub method: Method,
    pub body: Option<super::http1::ClientBody>,
    pub vars: Box<RequestVars>,
    /// The URI was changed by `rewrite ... break` in the current location.
    pub rewritten_break: bool,
    /// `auth_basic`'s challenge, sent with a 401 however it is answered.
    pub www_authenticate: Option<hyper::header::HeaderValue>,
    /// The `if` block (in the current location) whose condition held last.
    pub if_location: Option<std::sync::Arc<super::config::Location>>,
    /// The URI is no longer the client's (rewrite, index, try_files, error_page).
    pub uri_changed: bool,
    /// The location matched by prefix or exactly (`proxy_pass` with a URI
    /// replaces that part); held, not its path copied.
    pub prefix_location: Option<std::sync::Arc<super::config::Location>>,
    /// The client side of an Upgrade, for tunnelling after a 101.
    pub on_upgrade: Option<super::http1::OnUpgrade>,
    /// The file system as this request sees it.
    pub seen: files::Seen,
    /// What an upstream's X-Accel-Redirect carries to the answer it redirects to.
    pub carried: Option<hyper::HeaderMap>,
    /// A plain HTTP request on a TLS port (answered 497).
    pub plain_on_tls: bool,
    /// An error nginx closes the connection after was met on the way.
    pub close_after: bool,
    /// The `limit_conn` counts this request holds until its answer is sent.
    pub conn_held: Vec<super::limit_conn::Held>,
    /// Cancelled when the client has closed its connection (nginx's 499).
    pub gone: tokio_util::sync::CancellationToken,
}

impl Req {
    /// The path of the location matched by prefix or exactly, if one was.
    pub fn matched_prefix(&self) -> Option<&str> {
        match &self.prefix_location.as_deref()?.matcher {
            super::config::Matcher::Prefix { path, .. } | super::config::Matcher::Exact(path) => {
                Some(path)
            }
            _ => None,
        }
    }
}

/// Where a request came from and went to, and its place on its connection.
#[derive(Clone)]
pub struct Peers {
    /// What the connection's TLS negotiated; `None` on plain HTTP.
    pub tls: Option<Arc<super::http::TlsInfo>>,
    /// A plain HTTP request on a TLS port: answered 497 (nginx's "The plain
    /// HTTP request was sent to HTTPS port"), through `error_page`.
    pub plain_on_tls: bool,
    pub remote: SocketAddr,
    pub remote_text: super::vars::IpText,
    pub local: SocketAddr,
    /// The connection's serial number.
    pub connection: u64,
    /// Requests on the connection so far, this one included.
    pub requests: u64,
    /// When the connection was accepted (`$connection_time`).
    pub accepted: std::time::Instant,
    /// The client socket, for `$tcpinfo_*`; read while the connection is open.
    pub fd: Option<std::os::fd::RawFd>,
    /// This request's head was in hand when the one before it ended (`$pipe`).
    pub pipelined: bool,
}
