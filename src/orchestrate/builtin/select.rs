//! Which services the built-in proxy serves in place of their nginx
//! container, and how it is set up for one: the configuration and files
//! through the service's mounts, the host ports `listen` opens through its
//! `ports`, and which container ports it reaches.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::hosts::ContainerHosts;
use super::mounts::Mounts;
use crate::compose::Project;
use crate::compose::model::{MountType, Service};
use crate::proxy::conf::ConfError;
use crate::proxy::config::Location;
use crate::proxy::request::Runtime;
use crate::proxy::server::Setup;

/// nginx's stock `nginx.conf`, assumed around files mounted under `conf.d/`.
pub const DEFAULT_NGINX_CONF: &str = "worker_processes auto;\nevents { worker_connections 1024; }\nhttp {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n    log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n                    '$status $body_bytes_sent \"$http_referer\" '\n                    '\"$http_user_agent\" \"$http_x_forwarded_for\"';\n    access_log /var/log/nginx/access.log main;\n    sendfile on;\n    keepalive_timeout 65;\n    include /etc/nginx/conf.d/*.conf;\n}\n";

fn is_nginx_image(image: &str) -> bool {
    let without_digest = image.split('@').next().unwrap_or(image);
    let slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    let name_tag = &without_digest[slash..];
    let name = name_tag.split(':').next().unwrap_or(name_tag);
    let path = &without_digest[..slash];
    name == "nginx" || (name == "nginx-unprivileged" && path.ends_with("nginxinc/"))
}

/// Does this service run nginx with a configuration the built-in proxy can serve?
pub fn is_builtin_proxy(service: &Service, disabled_by_flag: bool) -> bool {
    if disabled_by_flag || service.x_rcompose.as_ref().and_then(|x| x.builtin_proxy) == Some(false)
    {
        return false;
    }
    let Some(image) = &service.image else { return false };
    let templates = super::templates::Dirs::of(service).templates;
    is_nginx_image(image)
        && runs_nginx_itself(service)
        && service.volumes.iter().any(|m| {
            m.kind == MountType::Bind
                && (m.target == "/etc/nginx/nginx.conf"
                    || m.target.starts_with("/etc/nginx/conf.d")
                    || m.target.starts_with(templates.as_str()))
        })
}

/// The container would run nginx as the image does: no entrypoint of its
/// own, no scripts added to `/docker-entrypoint.d`, a command (if any)
/// that is nginx itself. Anything else stays a container.
fn runs_nginx_itself(service: &Service) -> bool {
    let nginx_command = service
        .command
        .as_ref()
        .is_none_or(|c| c.first().is_some_and(|w| matches!(w.as_str(), "nginx" | "nginx-debug")));
    service.entrypoint.is_none()
        && nginx_command
        && !service.volumes.iter().any(|m| m.target.starts_with("/docker-entrypoint.d"))
}

/// Services of the project the built-in proxy serves.
pub fn proxy_services(project: &Project, disabled_by_flag: bool) -> Vec<String> {
    project
        .services
        .values()
        .filter(|s| is_builtin_proxy(s, disabled_by_flag))
        .map(|s| s.name.clone())
        .collect()
}

/// The services (and their container ports) a proxy service's configuration
/// sends requests to, by upstream or proxy_pass address.
pub fn upstream_ports(project: &Project, proxy: &str) -> Result<HashMap<String, Vec<u16>>, String> {
    let svc = project.services.get(proxy).ok_or_else(|| format!("no such service: {proxy}"))?;
    let setup = setup(
        svc,
        Arc::new(ContainerHosts::default()),
        &state_dir(&project.name),
        Some(Arc::new(|_: &str| {})),
    )?;
    let rt = crate::proxy::server::load(&setup).map_err(|e| format!("service {proxy}: {e}"))?;
    Ok(ports_reached(project, &rt.config))
}

/// The service a host name in an nginx configuration reaches: by service
/// name, container name or network alias, as compose's DNS answers.
pub fn service_of(project: &Project, host: &str) -> Option<String> {
    project
        .services
        .values()
        .find(|s| {
            s.name == host
                || s.container_name.as_deref() == Some(host)
                || s.networks.values().flatten().any(|n| n.aliases.iter().any(|a| a == host))
        })
        .map(|s| s.name.clone())
}

/// The services (and their container ports) a configuration sends requests
/// to, by upstream or proxy_pass address.
pub fn ports_reached(
    project: &Project,
    config: &crate::proxy::config::Config,
) -> HashMap<String, Vec<u16>> {
    let mut out: HashMap<String, Vec<u16>> = HashMap::new();
    let mut add = |host: &str, port: u16| {
        if let Some(s) = service_of(project, host) {
            out.entry(s).or_default().push(port);
        }
    };
    for u in config.http.upstreams.values() {
        for s in &u.servers {
            add(&s.host, s.port);
        }
    }
    fn walk(locs: &[Arc<crate::proxy::config::Location>], add: &mut dyn FnMut(&str, u16)) {
        for l in locs {
            if let Some(p) = &l.proxy
                && !p.host.is_empty()
            {
                add(&p.host, p.port);
            }
            walk(&l.children, add);
        }
    }
    for s in &config.http.servers {
        walk(&s.locations, &mut add);
        walk(&s.named.values().cloned().collect::<Vec<_>>(), &mut add);
    }
    out
}

/// Host sockets for a `listen`, through the service's published ports.
pub fn listen_addrs(service: &Service, addr: Option<IpAddr>, port: u16) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for p in service.ports.iter().filter(|p| p.target == port && p.protocol == "tcp") {
        let Some(published) = p.published_port() else {
            continue;
        };
        let host_ip: Option<IpAddr> = p.host_ip.as_deref().and_then(|h| h.parse().ok());
        let want_v6 = addr.is_some_and(|a| a.is_ipv6());
        match host_ip {
            Some(ip) if ip.is_ipv6() == want_v6 => out.push(SocketAddr::new(ip, published)),
            Some(_) => {}
            None if want_v6 => out.push(SocketAddr::new(IpAddr::from([0u16; 8]), published)),
            None => out.push(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), published)),
        }
    }
    out
}

/// The proxy setup for one service of a project.
pub fn setup(
    service: &Service,
    hosts: Arc<ContainerHosts>,
    state_dir: &Path,
    log_lines: Option<crate::proxy::log::LineFn>,
) -> Result<Setup, String> {
    let mut mounts = Mounts::of(service);
    // The image renders its templates before nginx starts: so does rcompose.
    let dirs = super::templates::Dirs::of(service);
    if let Some(host) = mounts.map(&dirs.templates).filter(|p| p.is_dir())
        && mounts.map(&dirs.output).is_none()
    {
        let out = state_dir.join(format!("{}.templates", service.name));
        super::templates::render(service, &dirs, &host, &out)?;
        mounts.extra.push((dirs.output.trim_end_matches('/').to_string(), out));
    }
    let conf_path = match mounts.map("/etc/nginx/nginx.conf") {
        Some(p) => p,
        None => {
            std::fs::create_dir_all(state_dir)
                .map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
            let p = state_dir.join(format!("{}.nginx.conf", service.name));
            std::fs::write(&p, DEFAULT_NGINX_CONF)
                .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            mounts.extra.push(("/etc/nginx/nginx.conf".into(), p.clone()));
            p
        }
    };
    if !conf_path.is_file() {
        return Err(format!(
            "service {}: the mounted nginx configuration {} does not exist",
            service.name,
            conf_path.display()
        ));
    }
    let mounts = Arc::new(mounts);
    let svc = service.clone();
    Ok(Setup {
        conf_path,
        conf_prefix: PathBuf::from("/etc/nginx"),
        prefix: PathBuf::from("/etc/nginx"),
        includes: mounts.clone(),
        paths: mounts,
        hosts,
        listen: Arc::new(move |l| listen_addrs(&svc, l.addr, l.port)),
        log_lines,
    })
}

/// Checks that every root and alias the configuration serves files from is
/// provided by a mount; names the first that is not.
pub fn check_roots(rt: &Runtime, service: &str) -> Result<(), ConfError> {
    fn walk(locs: &[Arc<Location>], rt: &Runtime, service: &str) -> Result<(), ConfError> {
        for l in locs {
            if l.proxy.is_none() && l.steps.is_empty() {
                let t = l.conf.alias.as_ref().unwrap_or(&l.conf.root);
                if let Some(path) = t.literal() {
                    let full = if path.starts_with('/') {
                        path.to_string()
                    } else {
                        rt.prefix.join(path).display().to_string()
                    };
                    if rt.paths.host_path(&full).is_none() {
                        return Err(ConfError::unsupported(
                            l.at.clone(),
                            format!(
                                "service {service}: {full} is served by this location, but no volume of the service mounts it \
                                 (the nginx image may hold it)"
                            ),
                        ));
                    }
                }
            }
            walk(&l.children, rt, service)?;
        }
        Ok(())
    }
    for s in &rt.config.http.servers {
        walk(&s.locations, rt, service)?;
    }
    Ok(())
}

/// Where rcompose keeps a project's detached proxies (pid, log, ports).
pub fn state_dir(project: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("rcompose").join(project)
}
