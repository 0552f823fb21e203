//! The configuration compiled once: servers, locations, upstreams, maps and
//! log formats, with nginx's inheritance (an inner level's array directives
//! such as `proxy_set_header` replace the outer ones entirely).
//!
//! Directives that only matter to the nginx process are accepted and
//! ignored; any directive rcompose cannot honour is an error naming it.

use std::path::Path;

use super::conf::{ConfError, Resolver, parse_file};

mod compile;
mod ignored;
#[cfg(test)]
mod tests;
mod tls;
mod types;
mod values;

mod cache;
mod fastcgi;
pub use compile::{compile, parse_proxy_url};
pub use types::*;
pub use values::{expires_value, parse_size, parse_time};

/// Reads, parses and compiles a configuration file.
pub fn load(path: &Path, prefix: &Path, resolver: &dyn Resolver) -> Result<Config, ConfError> {
    let directives = parse_file(path, prefix, resolver)?;
    compile(&directives)
}
