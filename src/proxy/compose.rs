//! The proxy in place of a compose project's nginx container: which services
//! it replaces, how their configuration paths map to host paths (through the
//! service's bind mounts), which host ports `listen` opens (through the
//! service's `ports`), and how upstream names find containers.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use futures::future::BoxFuture;

use super::conf::Resolver;
use super::handler::PathMap;
use super::server::Setup;
use super::upstream::{Dns, HostResolver};
use crate::compose::Project;
use crate::compose::model::{MountType, Service};

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
    if disabled_by_flag || service.x_rcompose.as_ref().and_then(|x| x.builtin_proxy) == Some(false) {
        return false;
    }
    let Some(image) = &service.image else { return false };
    is_nginx_image(image)
        && service
            .volumes
            .iter()
            .any(|m| m.kind == MountType::Bind && (m.target == "/etc/nginx/nginx.conf" || m.target.starts_with("/etc/nginx/conf.d")))
}

/// Services of the project the built-in proxy serves.
pub fn proxy_services(project: &Project, disabled_by_flag: bool) -> Vec<String> {
    project.services.values().filter(|s| is_builtin_proxy(s, disabled_by_flag)).map(|s| s.name.clone()).collect()
}

/// Container paths to host paths through a service's bind mounts (the longest
/// mount target that contains the path wins).
pub struct Mounts {
    binds: Vec<(String, PathBuf)>,
    /// Files rcompose provides itself (the default nginx.conf).
    extra: Vec<(String, PathBuf)>,
}

impl Mounts {
    pub fn of(service: &Service) -> Mounts {
        let mut binds: Vec<(String, PathBuf)> = service
            .volumes
            .iter()
            .filter(|m| m.kind == MountType::Bind)
            .filter_map(|m| m.source.as_ref().map(|s| (m.target.trim_end_matches('/').to_string(), PathBuf::from(s))))
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
        self.map(conf_path).unwrap_or_else(|| PathBuf::from("/nonexistent/rcompose-unmounted").join(conf_path.trim_start_matches('/')))
    }
}

/// Container addresses of the project's services, kept current from the engine.
/// Are container addresses out of reach from this host (Docker Desktop on
/// macOS and Windows)? Then upstreams are reached through loopback ports.
/// `RCOMPOSE_UPSTREAM_VIA=ports` chooses that path on Linux too.
pub fn via_ports() -> bool {
    match std::env::var("RCOMPOSE_UPSTREAM_VIA").as_deref() {
        Ok("ports") => true,
        Ok("direct") => false,
        _ => !cfg!(target_os = "linux"),
    }
}

/// The services (and their container ports) a proxy service's configuration
/// sends requests to, by upstream or proxy_pass address.
pub fn upstream_ports(project: &Project, proxy: &str) -> Result<HashMap<String, Vec<u16>>, String> {
    let svc = project.services.get(proxy).ok_or_else(|| format!("no such service: {proxy}"))?;
    let setup = setup(svc, Arc::new(ContainerHosts::default()), &state_dir(&project.name), Some(Arc::new(|_: &str| {})))?;
    let rt = super::server::load(&setup).map_err(|e| format!("service {proxy}: {e}"))?;
    let service_of = |host: &str| -> Option<String> {
        project
            .services
            .values()
            .find(|s| {
                s.name == host
                    || s.container_name.as_deref() == Some(host)
                    || s.networks.values().flatten().any(|n| n.aliases.iter().any(|a| a == host))
            })
            .map(|s| s.name.clone())
    };
    let mut out: HashMap<String, Vec<u16>> = HashMap::new();
    let mut add = |host: &str, port: u16| {
        if let Some(s) = service_of(host) {
            out.entry(s).or_default().push(port);
        }
    };
    for u in rt.config.http.upstreams.values() {
        for s in &u.servers {
            add(&s.host, s.port);
        }
    }
    fn walk(locs: &[Arc<super::config::Location>], add: &mut dyn FnMut(&str, u16)) {
        for l in locs {
            if let Some(p) = &l.proxy
                && !p.host.is_empty()
            {
                add(&p.host, p.port);
            }
            walk(&l.children, add);
        }
    }
    for s in &rt.config.http.servers {
        walk(&s.locations, &mut add);
        walk(&s.named.values().cloned().collect::<Vec<_>>(), &mut add);
    }
    Ok(out)
}

/// Where a running container is reached: its address on its network, and
/// the loopback addresses its ports are published on.
#[derive(Clone)]
struct Reached {
    ip: IpAddr,
    published: Vec<SocketAddr>,
}

pub struct ContainerHosts {
    /// Service names, container names and aliases -> addresses (several for a
    /// scaled service); none for a service of the project with no running container.
    pub table: RwLock<super::FastMap<String, Vec<IpAddr>>>,
    /// Turns the addresses of a scaled service, so requests go round them as
    /// nginx goes round the addresses a name resolves to.
    turn: std::sync::atomic::AtomicUsize,
    /// (name, container port) -> the loopback addresses published for it,
    /// one per container (a scaled service has several), for `via_ports`.
    pub ports: RwLock<super::FastMap<(String, u16), Vec<SocketAddr>>>,
    /// Running container id -> its addresses, as of the last refresh.
    by_id: RwLock<HashMap<String, Reached>>,
    /// The container addresses the table holds now, for [`HostResolver::gone`].
    live: tokio::sync::watch::Sender<Arc<super::FastSet<IpAddr>>>,
    /// Every container address the table ever held: those `gone` can vouch for.
    known: RwLock<super::FastSet<IpAddr>>,
    dns: Dns,
}

impl Default for ContainerHosts {
    fn default() -> Self {
        ContainerHosts {
            table: Default::default(),
            turn: Default::default(),
            ports: Default::default(),
            by_id: Default::default(),
            live: tokio::sync::watch::channel(Arc::default()).0,
            known: Default::default(),
            dns: Dns::default(),
        }
    }
}

impl HostResolver for ContainerHosts {
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'static, Result<Vec<SocketAddr>, String>> {
        if via_ports()
            && let Some(addrs) = self
                .ports
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&(host.to_string(), port))
                .filter(|a| !a.is_empty())
                .map(|a| self.turned(a, |a| *a))
        {
            return Box::pin(async move { Ok(addrs) });
        }
        // The addresses are made under the lock: this runs on every proxied request.
        let found: Option<Vec<SocketAddr>> =
            self.table.read().unwrap_or_else(|e| e.into_inner()).get(host).map(|ips| self.turned(ips, |ip| SocketAddr::new(*ip, port)));
        match found {
            Some(addrs) if !addrs.is_empty() => Box::pin(async move { Ok(addrs) }),
            Some(_) => {
                let msg = format!("service {host} has no running container");
                Box::pin(async move { Err(msg) })
            }
            // Not a container of the project: an ordinary host name.
            None => self.dns.resolve(host, port),
        }
    }

    fn gone(&self, addr: SocketAddr) -> BoxFuture<'static, ()> {
        if !self.known.read().unwrap_or_else(|e| e.into_inner()).contains(&addr.ip()) {
            return Box::pin(futures::future::pending());
        }
        let mut live = self.live.subscribe();
        Box::pin(async move {
            while live.borrow_and_update().contains(&addr.ip()) {
                if live.changed().await.is_err() {
                    return futures::future::pending().await;
                }
            }
        })
    }
}

impl ContainerHosts {
    /// A name's addresses, starting one further along on each call.
    fn turned<T>(&self, list: &[T], addr: impl Fn(&T) -> SocketAddr) -> Vec<SocketAddr> {
        let first = if list.len() > 1 { self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % list.len() } else { 0 };
        list[first..].iter().chain(&list[..first]).map(addr).collect()
    }

    /// Rebuilds the table from the engine: every running container of the project.
    pub async fn refresh(&self, engine: &crate::engine::Engine, project: &Project) {
        let Ok(list) = crate::engine::containers::list(engine, &project.name, false).await else { return };
        let mut table: super::FastMap<String, Vec<IpAddr>> = Default::default();
        let mut ports: super::FastMap<(String, u16), Vec<SocketAddr>> = Default::default();
        let mut by_id = HashMap::new();
        for c in &list {
            let service = crate::engine::containers::service(c).to_string();
            let mut names = vec![service.clone(), crate::engine::containers::name(c)];
            if let Some(svc) = project.services.get(&service) {
                names.extend(svc.networks.values().flatten().flat_map(|n| n.aliases.iter().cloned()));
            }
            // One address per container port: the engine lists a port published
            // on IPv4 and IPv6 twice, and those are one container, not two.
            let mut published: Vec<(u16, SocketAddr)> = Vec::new();
            for p in c.ports.iter().flatten() {
                let Some(public) = p.public_port else { continue };
                let ip: IpAddr = match p.ip.as_deref().and_then(|i| i.parse::<IpAddr>().ok()) {
                    Some(ip) if !ip.is_unspecified() => ip,
                    Some(ip) if ip.is_ipv6() => IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
                    _ => IpAddr::from([127, 0, 0, 1]),
                };
                if !published.iter().any(|(private, _)| *private == p.private_port) {
                    published.push((p.private_port, SocketAddr::new(ip, public)));
                }
            }
            for n in &names {
                for (private, addr) in &published {
                    let addrs: &mut Vec<SocketAddr> = ports.entry((n.clone(), *private)).or_default();
                    if !addrs.contains(addr) {
                        addrs.push(*addr);
                    }
                }
            }
            let ip = c.network_settings.as_ref().and_then(|n| n.networks.as_ref()).and_then(|nets| {
                nets.values().find_map(|e| e.ip_address.as_ref().filter(|i| !i.is_empty()).and_then(|i| i.parse::<IpAddr>().ok()))
            });
            let Some(ip) = ip else { continue };
            let mut add = |name: &str| {
                let ips = table.entry(name.to_string()).or_default();
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            };
            add(&crate::engine::containers::name(c));
            by_id.insert(crate::engine::containers::id(c), Reached { ip, published: published.iter().map(|(_, a)| *a).collect() });
            if let Some(svc) = project.services.get(&service) {
                for net in svc.networks.values().flatten() {
                    for a in &net.aliases {
                        add(a);
                    }
                }
            }
            add(&service);
        }
        // Services with no running container answer 502 at once, not after a connect timeout.
        for (name, svc) in &project.services {
            table.entry(name.clone()).or_default();
            if let Some(cn) = &svc.container_name {
                table.entry(cn.clone()).or_default();
            }
        }
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = table;
        *self.ports.write().unwrap_or_else(|e| e.into_inner()) = ports;
        *self.by_id.write().unwrap_or_else(|e| e.into_inner()) = by_id;
        self.publish();
    }

    /// Tells connects in flight which container addresses still hold.
    fn publish(&self) {
        let live: super::FastSet<IpAddr> = self.table.read().unwrap_or_else(|e| e.into_inner()).values().flatten().copied().collect();
        self.known.write().unwrap_or_else(|e| e.into_inner()).extend(live.iter().copied());
        self.live.send_replace(Arc::new(live));
    }

    /// Every name that led to this container's address now answers "not running".
    /// By id: a replayed event of an earlier container with the same name changes nothing.
    /// `dead`: the container's process is gone (not only signalled), so
    /// connects in flight to its address are told so.
    fn mark_down(&self, id: &str, dead: bool) {
        let Some(Reached { ip, published }) = self.by_id.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned() else { return };
        for v in self.table.write().unwrap_or_else(|e| e.into_inner()).values_mut() {
            v.retain(|a| *a != ip);
        }
        for v in self.ports.write().unwrap_or_else(|e| e.into_inner()).values_mut() {
            v.retain(|a| !published.contains(a));
        }
        // A container signalled to stop may still finish what it was asked:
        // requests already in flight are left to it.
        if dead {
            self.publish();
        }
    }

    /// Keeps the table current as containers start, stop and restart.
    pub fn follow(self: Arc<Self>, engine: crate::engine::Engine, project: Arc<Project>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let hub = crate::engine::events::EventHub::subscribe(&engine, &project.name);
            let mut rx = hub.receiver();
            self.refresh(&engine, &project).await;
            // Events are a hint: the table is also read again on a slow timer,
            // so a lost event leaves it wrong for seconds, not for good.
            let mut timer = tokio::time::interval(ADDRESS_RECHECK);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer.reset();
            loop {
                let ev = tokio::select! {
                    ev = rx.recv() => ev,
                    _ = timer.tick() => {
                        self.refresh(&engine, &project).await;
                        continue;
                    }
                };
                match ev {
                    Ok(ev)
                        if matches!(ev.action.as_str(), "start" | "die" | "stop" | "kill" | "destroy" | "restart")
                            || ev.action.starts_with("health_status") =>
                    {
                        if matches!(ev.action.as_str(), "die" | "stop" | "kill" | "destroy") {
                            // At once, before the slower refresh: a request must not be sent to the
                            // released address of a container that has just stopped.
                            self.mark_down(&ev.id, ev.action != "kill");
                        }
                        self.refresh(&engine, &project).await;
                        timer.reset();
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        self.refresh(&engine, &project).await;
                        timer.reset();
                    }
                    Err(_) => return,
                }
            }
        })
    }
}

/// How often the proxy reads its upstream addresses again without an event.
const ADDRESS_RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Host sockets for a `listen`, through the service's published ports.
pub fn listen_addrs(service: &Service, addr: Option<IpAddr>, port: u16) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for p in service.ports.iter().filter(|p| p.target == port && p.protocol == "tcp") {
        let Some(published) = p.published.as_deref().and_then(|s| s.split('-').next()).and_then(|s| s.parse::<u16>().ok()) else {
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
    log_lines: Option<super::log::LineFn>,
) -> Result<Setup, String> {
    let mut mounts = Mounts::of(service);
    let conf_path = match mounts.map("/etc/nginx/nginx.conf") {
        Some(p) => p,
        None => {
            std::fs::create_dir_all(state_dir).map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
            let p = state_dir.join(format!("{}.nginx.conf", service.name));
            std::fs::write(&p, DEFAULT_NGINX_CONF).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            mounts.extra.push(("/etc/nginx/nginx.conf".into(), p.clone()));
            p
        }
    };
    if !conf_path.is_file() {
        return Err(format!("service {}: the mounted nginx configuration {} does not exist", service.name, conf_path.display()));
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
pub fn check_roots(rt: &super::handler::Runtime, service: &str) -> Result<(), String> {
    fn walk(locs: &[Arc<super::config::Location>], rt: &super::handler::Runtime, service: &str) -> Result<(), String> {
        for l in locs {
            if l.proxy.is_none() && l.steps.is_empty() {
                let t = l.conf.alias.as_ref().unwrap_or(&l.conf.root);
                if let Some(path) = t.literal() {
                    let full = if path.starts_with('/') { path.to_string() } else { rt.prefix.join(path).display().to_string() };
                    if rt.paths.host_path(&full).is_none() {
                        return Err(format!(
                            "{}: service {service}: {full} is served by this location, but no volume of the service mounts it \
                             (the nginx image may hold it); {}",
                            l.at,
                            super::config::DEFAULT_HINT
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::model::{BindOptions, Mount, Port};
    use std::time::Duration;

    fn svc() -> Service {
        let bind = |s: &str, t: &str| Mount {
            kind: MountType::Bind,
            source: Some(s.into()),
            target: t.into(),
            read_only: false,
            bind: Some(BindOptions::default()),
            volume: None,
            tmpfs: None,
        };
        Service {
            name: "nginxproxy".into(),
            image: Some("nginx:alpine".into()),
            volumes: vec![bind("/p/nginx/nginx.conf", "/etc/nginx/nginx.conf"), bind("/p/frontend", "/usr/share/nginx/html")],
            ports: vec![
                Port { mode: "ingress".into(), host_ip: None, target: 80, published: Some("1000".into()), protocol: "tcp".into() },
                Port {
                    mode: "ingress".into(),
                    host_ip: Some("127.0.0.1".into()),
                    target: 8080,
                    published: Some("2000".into()),
                    protocol: "tcp".into(),
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn detection() {
        let s = svc();
        assert!(is_builtin_proxy(&s, false));
        assert!(!is_builtin_proxy(&s, true));
        for image in ["nginx", "nginx:1.25", "registry.local:5000/nginx:1", "nginxinc/nginx-unprivileged:stable"] {
            assert!(is_builtin_proxy(&Service { image: Some(image.into()), ..s.clone() }, false), "{image}");
        }
        for image in ["nginxx", "my/nginx-proxy", "httpd"] {
            assert!(!is_builtin_proxy(&Service { image: Some(image.into()), ..s.clone() }, false), "{image}");
        }
        let mut off = s.clone();
        off.x_rcompose = Some(crate::compose::model::RcomposeExt { builtin_proxy: Some(false) });
        assert!(!is_builtin_proxy(&off, false));
        let no_conf = Service { volumes: vec![s.volumes[1].clone()], ..s.clone() };
        assert!(!is_builtin_proxy(&no_conf, false));
    }

    #[test]
    fn paths_through_mounts_and_ports() {
        let m = Mounts::of(&svc());
        assert_eq!(m.map("/usr/share/nginx/html/index.html"), Some(PathBuf::from("/p/frontend/index.html")));
        assert_eq!(m.map("/usr/share/nginx/html"), Some(PathBuf::from("/p/frontend")));
        assert_eq!(m.map("/usr/share/nginx/htmlx"), None);
        assert_eq!(m.map("/etc/nginx/nginx.conf"), Some(PathBuf::from("/p/nginx/nginx.conf")));
        let s = svc();
        assert_eq!(listen_addrs(&s, None, 80), vec!["0.0.0.0:1000".parse().unwrap()]);
        assert_eq!(listen_addrs(&s, Some("::".parse().unwrap()), 80), vec!["[::]:1000".parse().unwrap()]);
        assert_eq!(listen_addrs(&s, None, 8080), vec!["127.0.0.1:2000".parse().unwrap()]);
        assert!(listen_addrs(&s, Some("::".parse().unwrap()), 8080).is_empty());
        assert!(listen_addrs(&s, None, 443).is_empty(), "unpublished ports are not opened");
    }

    #[tokio::test]
    async fn requests_go_round_a_scaled_services_containers() {
        let hosts = ContainerHosts::default();
        let ips: Vec<IpAddr> = vec!["172.30.0.7".parse().unwrap(), "172.30.0.8".parse().unwrap()];
        hosts.table.write().unwrap().insert("api".into(), ips.clone());
        hosts.by_id.write().unwrap().insert("two".into(), Reached { ip: ips[1], published: Vec::new() });
        let mut firsts = Vec::new();
        for _ in 0..4 {
            let addrs = hosts.resolve("api", 80).await.unwrap();
            assert_eq!(addrs.len(), 2, "each answer holds every container");
            firsts.push(addrs[0].ip());
        }
        assert_eq!(firsts, vec![ips[0], ips[1], ips[0], ips[1]]);
        // A stopped one leaves the turn; the other takes every request.
        hosts.mark_down("two", true);
        assert_eq!(hosts.resolve("api", 80).await.unwrap(), vec![SocketAddr::new(ips[0], 80)]);
        hosts.mark_down("one-that-is-not-known", true);
        assert_eq!(hosts.resolve("api", 80).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_connect_in_flight_learns_that_its_container_stopped() {
        let hosts = ContainerHosts::default();
        let ip: IpAddr = "172.30.0.7".parse().unwrap();
        hosts.table.write().unwrap().insert("api".into(), vec![ip]);
        hosts.by_id.write().unwrap().insert("abc".into(), Reached { ip, published: Vec::new() });
        hosts.publish();
        let addr = SocketAddr::new(ip, 7000);
        let gone = hosts.gone(addr);
        tokio::pin!(gone);
        assert!(tokio::time::timeout(Duration::from_millis(50), gone.as_mut()).await.is_err(), "gone while running");
        // Signalled (docker stop's SIGTERM): what is in flight may still be answered.
        hosts.mark_down("abc", false);
        assert!(tokio::time::timeout(Duration::from_millis(50), gone.as_mut()).await.is_err(), "gone on a signal alone");
        hosts.mark_down("abc", true);
        assert!(tokio::time::timeout(Duration::from_millis(50), gone).await.is_ok(), "not told the container stopped");
        // An address the table never held is not the resolver's to call gone.
        let other = hosts.gone("10.9.9.9:80".parse().unwrap());
        assert!(tokio::time::timeout(Duration::from_millis(50), other).await.is_err());
    }
}
