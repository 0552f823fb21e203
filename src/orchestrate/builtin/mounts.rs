//! The paths an nginx configuration names, found on this host through the
//! service's bind mounts, as the nginx container would see them.

use std::path::PathBuf;

use crate::compose::model::{MountType, Service};
use crate::proxy::conf::Resolver;
use crate::proxy::request::PathMap;

/// Container paths to host paths through a service's bind mounts (the longest
/// mount target that contains the path wins).
pub struct Mounts {
    binds: Vec<(String, PathBuf)>,
    /// Files rcompose provides itself (the default nginx.conf).
    pub(super) extra: Vec<(String, PathBuf)>,
}

impl Mounts {
    pub fn of(service: &Service) -> Mounts {
        let mut binds: Vec<(String, PathBuf)> = service
            .volumes
            .iter()
            .filter(|m| m.kind == MountType::Bind)
            .filter_map(|m| {
                m.source
                    .as_ref()
                    .map(|s| (m.target.trim_end_matches('/').to_string(), PathBuf::from(s)))
            })
            .collect();
        binds.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Mounts { binds, extra: Vec::new() }
    }

    pub fn map(&self, container_path: &str) -> Option<PathBuf> {
        for (target, host) in self.extra.iter().chain(&self.binds) {
            if container_path == target {
                return Some(host.clone());
            }
            if let Some(rest) = container_path.strip_prefix(target.as_str())
                && rest.starts_with('/')
            {
                return Some(host.join(rest.trim_start_matches('/')));
            }
        }
        None
    }
}

impl PathMap for Mounts {
    fn host_path(&self, conf_path: &str) -> Option<PathBuf> {
        self.map(conf_path)
    }
}

impl Resolver for Mounts {
    fn host_path(&self, conf_path: &str) -> PathBuf {
        // Not mounted: a path that does not exist (mime.types then comes built in).
        self.map(conf_path).unwrap_or_else(|| {
            PathBuf::from("/nonexistent/rcompose-unmounted").join(conf_path.trim_start_matches('/'))
        })
    }
}
