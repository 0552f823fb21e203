//! Upstream names (service names, container names, aliases) found as the
//! project's running containers' addresses, kept current through the
//! engine's events and a slow timer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

use futures::future::BoxFuture;

use crate::compose::Project;
use crate::engine::events::Action;
use crate::proxy::upstream::{Addrs, Dns, HostResolver};

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
    pub table: RwLock<crate::proxy::FastMap<String, Vec<IpAddr>>>,
    /// Turns the addresses of a scaled service, so requests go round them as
    /// nginx goes round the addresses a name resolves to.
    turn: std::sync::atomic::AtomicUsize,
    /// (name, container port) -> the loopback addresses published for it,
    /// one per container (a scaled service has several), for `via_ports`.
    pub ports: RwLock<crate::proxy::FastMap<(String, u16), Vec<SocketAddr>>>,
    /// Running container id -> its addresses, as of the last refresh.
    by_id: RwLock<HashMap<String, Reached>>,
    /// The container addresses the table holds now, for [`HostResolver::gone`].
    live: tokio::sync::watch::Sender<Arc<crate::proxy::FastSet<IpAddr>>>,
    /// Every container address the table ever held: those `gone` can vouch for.
    known: RwLock<crate::proxy::FastSet<IpAddr>>,
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
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, Result<Vec<SocketAddr>, String>> {
        match self.known(host, port) {
            Some(known) => Box::pin(async move { known.map(Addrs::into_vec) }),
            // Not a container of the project: an ordinary host name.
            None => self.dns.resolve(host, port),
        }
    }

    fn known(&self, host: &str, port: u16) -> Option<Result<Addrs, String>> {
        if via_ports()
            && let Some(addrs) = self
                .ports
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&(host.to_string(), port))
                .filter(|a| !a.is_empty())
        {
            return Some(Ok(self.turned(addrs, |a| *a)));
        }
        // The addresses are made under the lock: this runs on every proxied request.
        let found: Option<Addrs> = self
            .table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .map(|ips| self.turned(ips, |ip| SocketAddr::new(*ip, port)));
        match found {
            Some(addrs) if !addrs.is_empty() => Some(Ok(addrs)),
            Some(_) => Some(Err(format!("service {host} has no running container"))),
            None => self.dns.known(host, port),
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
    fn turned<T, C: FromIterator<SocketAddr>>(
        &self,
        list: &[T],
        addr: impl Fn(&T) -> SocketAddr,
    ) -> C {
        let first = if list.len() > 1 {
            self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % list.len()
        } else {
            0
        };
        list[first..].iter().chain(&list[..first]).map(addr).collect()
    }

    /// Rebuilds the table from the engine: every running container of the project.
    pub async fn refresh(&self, engine: &crate::engine::Engine, project: &Project) {
        let Ok(list) = crate::engine::containers::list(engine, &project.name, false).await else {
            return;
        };
        let mut table: crate::proxy::FastMap<String, Vec<IpAddr>> = Default::default();
        let mut ports: crate::proxy::FastMap<(String, u16), Vec<SocketAddr>> = Default::default();
        let mut by_id = HashMap::new();
        for c in &list {
            let service = crate::engine::containers::service(c).to_string();
            let mut names = vec![service.clone(), crate::engine::containers::name(c)];
            if let Some(svc) = project.services.get(&service) {
                names.extend(
                    svc.networks.values().flatten().flat_map(|n| n.aliases.iter().cloned()),
                );
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
                    let addrs: &mut Vec<SocketAddr> =
                        ports.entry((n.clone(), *private)).or_default();
                    if !addrs.contains(addr) {
                        addrs.push(*addr);
                    }
                }
            }
            let ip =
                c.network_settings.as_ref().and_then(|n| n.networks.as_ref()).and_then(|nets| {
                    nets.values().find_map(|e| {
                        e.ip_address
                            .as_ref()
                            .filter(|i| !i.is_empty())
                            .and_then(|i| i.parse::<IpAddr>().ok())
                    })
                });
            let Some(ip) = ip else { continue };
            let mut add = |name: &str| {
                let ips = table.entry(name.to_string()).or_default();
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            };
            add(&crate::engine::containers::name(c));
            by_id.insert(
                crate::engine::containers::id(c),
                Reached { ip, published: published.iter().map(|(_, a)| *a).collect() },
            );
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
        let live: crate::proxy::FastSet<IpAddr> = self
            .table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .flatten()
            .copied()
            .collect();
        self.known.write().unwrap_or_else(|e| e.into_inner()).extend(live.iter().copied());
        self.live.send_replace(Arc::new(live));
    }

    /// Every name that led to this container's address now answers "not running".
    /// By id: a replayed event of an earlier container with the same name changes nothing.
    /// `dead`: the container's process is gone (not only signalled), so
    /// connects in flight to its address are told so.
    fn mark_down(&self, id: &str, dead: bool) {
        let Some(Reached { ip, published }) =
            self.by_id.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
        else {
            return;
        };
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
    pub fn follow(
        self: Arc<Self>,
        engine: crate::engine::Engine,
        project: Arc<Project>,
    ) -> tokio::task::JoinHandle<()> {
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
                        if ev.action.ends_run()
                            || matches!(
                                ev.action,
                                Action::Start | Action::Restart | Action::Health(_)
                            ) =>
                    {
                        if ev.action.ends_run() {
                            // At once, before the slower refresh: a request must not be sent to the
                            // released address of a container that has just stopped.
                            self.mark_down(&ev.id, ev.action != Action::Kill);
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

/// Container addresses of the project's services, kept current from the engine.
/// Are container addresses out of reach from this host (Docker Desktop on
/// macOS and Windows)? Then upstreams are reached through loopback ports.
/// `RCOMPOSE_UPSTREAM_VIA=ports` chooses that path on Linux too.
/// Read once: every proxied request asks.
pub fn via_ports() -> bool {
    static VIA_PORTS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VIA_PORTS.get_or_init(|| match std::env::var("RCOMPOSE_UPSTREAM_VIA").as_deref() {
        Ok("ports") => true,
        Ok("direct") => false,
        _ => !cfg!(target_os = "linux"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn requests_go_round_a_scaled_services_containers() {
        let hosts = ContainerHosts::default();
        let ips: Vec<IpAddr> = vec!["172.30.0.7".parse().unwrap(), "172.30.0.8".parse().unwrap()];
        hosts.table.write().unwrap().insert("api".into(), ips.clone());
        hosts
            .by_id
            .write()
            .unwrap()
            .insert("two".into(), Reached { ip: ips[1], published: Vec::new() });
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
        assert!(
            tokio::time::timeout(Duration::from_millis(50), gone.as_mut()).await.is_err(),
            "gone while running"
        );
        // Signalled (docker stop's SIGTERM): what is in flight may still be answered.
        hosts.mark_down("abc", false);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), gone.as_mut()).await.is_err(),
            "gone on a signal alone"
        );
        hosts.mark_down("abc", true);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), gone).await.is_ok(),
            "not told the container stopped"
        );
        // An address the table never held is not the resolver's to call gone.
        let other = hosts.gone("10.9.9.9:80".parse().unwrap());
        assert!(tokio::time::timeout(Duration::from_millis(50), other).await.is_err());
    }
}
