//! Upstream peers: the names and addresses requests go to, weighted round
//! robin with max_fails/fail_timeout and backup servers, and the addresses
//! of a scaled service taken in turn, each failure counted against it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::config::{Balance, Http, UpstreamDef};

/// A name's addresses; one or two without an allocation.
pub type Addrs = smallvec::SmallVec<[SocketAddr; 2]>;

/// Finds addresses for upstream host names.
pub trait HostResolver: Send + Sync {
    fn resolve(&self, host: &str, port: u16)
    -> BoxFuture<'static, Result<Vec<SocketAddr>, String>>;

    /// The addresses when they are known without waiting (a literal
    /// address, a name looked up lately, a container's): every proxied
    /// request asks, so no future and no allocation. `None`: ask `resolve`.
    fn known(&self, _host: &str, _port: u16) -> Option<Result<Addrs, String>> {
        None
    }

    /// Completes when an address this resolver gave out stops being valid
    /// (its container stopped): a connect to it would only wait for its
    /// timeout. Never, for addresses the resolver cannot vouch for.
    fn gone(&self, _addr: SocketAddr) -> BoxFuture<'static, ()> {
        Box::pin(futures::future::pending())
    }
}

/// An IPv4 address in the form std accepts (four decimal parts, no
/// leading zeros), read in one pass: every proxied request to an address
/// written as one asks, and std's general parser cost it 270 instructions.
fn dotted_quad(s: &str) -> Option<std::net::Ipv4Addr> {
    let b = s.as_bytes();
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let (mut part, mut value, mut digits) = (0usize, 0u32, 0u32);
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                // "0" alone is a part; "01" is not, as std reads it.
                if digits == 1 && value == 0 {
                    return None;
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && part < 3 && i + 1 < b.len() => {
                octets[part] = u8::try_from(value).ok()?;
                (part, value, digits) = (part + 1, 0, 0);
            }
            _ => return None,
        }
    }
    if part != 3 || digits == 0 {
        return None;
    }
    octets[3] = u8::try_from(value).ok()?;
    Some(std::net::Ipv4Addr::from(octets))
}

/// The system resolver (as `nginx -c` on this host would resolve). Answers
/// are kept for a few seconds: nginx resolves upstream names once, at start.
#[derive(Default)]
pub struct Dns {
    cache: DnsCache,
}

/// host -> (port, addresses, when they were looked up); by host alone, so
/// a lookup needs no key made.
type DnsCache =
    Arc<std::sync::RwLock<super::FastMap<String, Vec<(u16, Vec<SocketAddr>, Instant)>>>>;

const DNS_TTL: Duration = Duration::from_secs(10);

impl HostResolver for Dns {
    fn known(&self, host: &str, port: u16) -> Option<Result<Addrs, String>> {
        if let Some(ip) = dotted_quad(host) {
            return Some(Ok(smallvec::smallvec![SocketAddr::new(ip.into(), port)]));
        }
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
            return Some(Ok(smallvec::smallvec![SocketAddr::new(ip, port)]));
        }
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        let (_, addrs, _) =
            cache.get(host)?.iter().find(|(p, _, at)| *p == port && at.elapsed() < DNS_TTL)?;
        Some(Ok(addrs.iter().copied().collect()))
    }

    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, Result<Vec<SocketAddr>, String>> {
        if let Some(known) = self.known(host, port) {
            return Box::pin(async move { known.map(Addrs::into_vec) });
        }
        let target = format!("{host}:{port}");
        let (host, cache) = (host.to_string(), self.cache.clone());
        Box::pin(async move {
            match tokio::net::lookup_host(&target).await {
                Ok(addrs) => {
                    let addrs: Vec<SocketAddr> = addrs.collect();
                    let mut cache = cache.write().unwrap_or_else(|e| e.into_inner());
                    let entries = cache.entry(host).or_default();
                    entries.retain(|(p, _, _)| *p != port);
                    entries.push((port, addrs.clone(), Instant::now()));
                    Ok(addrs)
                }
                Err(e) => Err(format!("{target}: {e}")),
            }
        })
    }
}

#[derive(Debug, Default, Clone)]
struct PeerState {
    current: i64,
    /// Requests in flight (counted for `least_conn` only).
    conns: u32,
    fails: u32,
    down_until: Option<Instant>,
}

impl PeerState {
    /// Counts a failure: at `max_fails` (0: never) the peer is out for `fail_timeout`.
    fn failed(&mut self, max_fails: u32, fail_timeout: Duration) {
        self.fails += 1;
        if max_fails > 0 && self.fails >= max_fails {
            self.down_until = Some(Instant::now() + fail_timeout);
            self.fails = 0;
        }
    }
}

pub(crate) struct Group {
    pub(crate) def: Arc<UpstreamDef>,
    state: Mutex<Vec<PeerState>>,
    /// `hash ... consistent`'s ring: (point, server index), by point.
    ring: Vec<(u32, usize)>,
}

/// Where a hashing balancer is between the tries of one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HashTries {
    hash: u32,
    rehash: u32,
    tries: u32,
    started: bool,
}

impl Default for HashTries {
    fn default() -> Self {
        // ip_hash starts from 89, as nginx's.
        HashTries { hash: 89, rehash: 0, tries: 0, started: false }
    }
}

/// A request in flight at a `least_conn` peer, counted until dropped (with
/// the answer's body, so a long download counts as long as it lasts).
pub(crate) struct Busy {
    group: Arc<Group>,
    idx: usize,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut st = self.group.state.lock().unwrap_or_else(|e| e.into_inner());
        st[self.idx].conns = st[self.idx].conns.saturating_sub(1);
    }
}

/// `hash ... consistent`'s points, as ngx_http_upstream_update_chash makes
/// them: 160 per unit of weight, crc32 of `HOST \0 PORT` and the previous
/// point, sorted, duplicates dropped.
fn ring(def: &UpstreamDef) -> Vec<(u32, usize)> {
    if !matches!(def.balance, Balance::Hash { consistent: true, .. }) {
        return Vec::new();
    }
    let mut points = Vec::new();
    for (i, s) in def.servers.iter().enumerate() {
        let w = s.written.as_bytes();
        let (host, port): (&[u8], &[u8]) = match w.strip_prefix(b"unix:") {
            Some(path) => (path, b""),
            None => {
                let digits = w.iter().rev().take_while(|c| c.is_ascii_digit()).count();
                match w.len().checked_sub(digits + 1).filter(|&c| w[c] == b':') {
                    Some(colon) => (&w[..colon], &w[colon + 1..]),
                    None => (w, b""),
                }
            }
        };
        let mut base = crc32fast::Hasher::new();
        base.update(host);
        base.update(b"\0");
        base.update(port);
        let mut prev = 0u32;
        for _ in 0..s.weight * 160 {
            let mut h = base.clone();
            h.update(&prev.to_le_bytes());
            prev = h.finalize();
            points.push((prev, i));
        }
    }
    points.sort_by_key(|p| p.0);
    points.dedup_by_key(|p| p.0);
    points
}

impl Group {
    fn new(def: Arc<UpstreamDef>) -> Group {
        let n = def.servers.len();
        Group { ring: ring(&def), def, state: Mutex::new(vec![PeerState::default(); n]) }
    }

    /// The server for the next try of a request, by the block's balancing
    /// method; `busy` holds the request's place at a `least_conn` peer.
    pub(crate) fn choose(
        self: &Arc<Self>,
        exclude: &[usize],
        client: std::net::IpAddr,
        key: impl FnOnce() -> String,
        tries: &mut HashTries,
        busy: &mut Option<Busy>,
    ) -> Option<usize> {
        match &self.def.balance {
            Balance::RoundRobin => self.pick(exclude),
            Balance::IpHash => self.pick_hashed(exclude, client, tries),
            Balance::Hash { consistent: false, .. } => self.pick_by_key(exclude, &key(), tries),
            Balance::Hash { consistent: true, .. } => self.pick_on_ring(exclude, &key(), tries),
            Balance::LeastConn => {
                *busy = None;
                let i = self.pick_least(exclude)?;
                *busy = Some(Busy { group: self.clone(), idx: i });
                Some(i)
            }
        }
    }

    /// A server that can take a try now.
    fn usable(&self, st: &[PeerState], i: usize, exclude: &[usize], now: Instant) -> bool {
        !exclude.contains(&i)
            && !self.def.servers[i].down
            && st[i].down_until.is_none_or(|t| t <= now)
    }

    /// `least_conn`, as ngx_http_upstream_get_least_conn_peer: the fewest
    /// requests in flight for the weight; equals by smooth weighted round
    /// robin; backups the same way when no primary is left.
    fn pick_least(&self, exclude: &[usize]) -> Option<usize> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let servers = &self.def.servers;
        for backup in [false, true] {
            let usable: Vec<usize> = (0..servers.len())
                .filter(|&i| servers[i].backup == backup && self.usable(&st, i, exclude, now))
                .collect();
            let ratio = |i: usize, b: usize| {
                (u64::from(st[i].conns) * u64::from(servers[b].weight))
                    .cmp(&(u64::from(st[b].conns) * u64::from(servers[i].weight)))
            };
            let Some(mut best) = usable
                .iter()
                .copied()
                .reduce(|b, i| if ratio(i, b) == std::cmp::Ordering::Less { i } else { b })
            else {
                continue;
            };
            let equals: Vec<usize> = usable
                .iter()
                .copied()
                .filter(|&i| i >= best && ratio(i, best) == std::cmp::Ordering::Equal)
                .collect();
            if equals.len() > 1 {
                let mut total = 0;
                for &i in &equals {
                    st[i].current += i64::from(servers[i].weight);
                    total += i64::from(servers[i].weight);
                    if st[i].current > st[best].current {
                        best = i;
                    }
                }
                st[best].current -= total;
            }
            st[best].conns += 1;
            return Some(best);
        }
        None
    }

    /// `hash KEY`, as ngx_http_upstream_get_hash_peer: the top bits of
    /// crc32 of the key (then of the try number and the key) summed, taken
    /// modulo the total weight; after 20 tries, round robin decides.
    fn pick_by_key(&self, exclude: &[usize], key: &str, t: &mut HashTries) -> Option<usize> {
        let servers = &self.def.servers;
        if t.tries > 20 || servers.len() < 2 || key.is_empty() {
            return self.pick(exclude);
        }
        let total: u32 = servers.iter().map(|s| s.weight).sum();
        let now = Instant::now();
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !t.started {
            *t = HashTries { hash: 0, rehash: 0, tries: 0, started: true };
        }
        loop {
            let mut h = crc32fast::Hasher::new();
            if t.rehash > 0 {
                h.update(itoa::Buffer::new().format(t.rehash).as_bytes());
            }
            h.update(key.as_bytes());
            t.hash = t.hash.wrapping_add((h.finalize() >> 16) & 0x7fff);
            t.rehash += 1;
            let mut w = t.hash % total.max(1);
            let mut p = 0;
            while w >= servers[p].weight {
                w -= servers[p].weight;
                p += 1;
            }
            if self.usable(&st, p, exclude, now) {
                return Some(p);
            }
            t.tries += 1;
            if t.tries > 20 {
                drop(st);
                return self.pick(exclude);
            }
        }
    }

    /// `hash KEY consistent`, as ngx_http_upstream_get_chash_peer: the
    /// first point of the ring at or after crc32 of the key, then the next
    /// points in turn; after 20 tries, round robin decides.
    fn pick_on_ring(&self, exclude: &[usize], key: &str, t: &mut HashTries) -> Option<usize> {
        if t.tries > 20 || self.def.servers.len() < 2 || key.is_empty() || self.ring.is_empty() {
            return self.pick(exclude);
        }
        if !t.started {
            let h = crc32fast::hash(key.as_bytes());
            let at = self.ring.partition_point(|p| p.0 < h);
            let hash = u32::try_from(at).unwrap_or_default();
            *t = HashTries { hash, rehash: 0, tries: 0, started: true };
        }
        let now = Instant::now();
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let p = self.ring[t.hash as usize % self.ring.len()].1;
            if self.usable(&st, p, exclude, now) {
                return Some(p);
            }
            t.hash = t.hash.wrapping_add(1);
            t.tries += 1;
            if t.tries > 20 {
                drop(st);
                return self.pick(exclude);
            }
        }
    }

    /// Smooth weighted round robin over servers that are up; backups when none is.
    pub(crate) fn pick(&self, exclude: &[usize]) -> Option<usize> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let n = self.def.servers.len();
        // Walked twice rather than collected: this runs on every request.
        let available = |st: &[PeerState], i: usize, backup: bool| {
            let s = &self.def.servers[i];
            s.backup == backup
                && !s.down
                && !exclude.contains(&i)
                && st[i].down_until.is_none_or(|t| t <= now)
        };
        for backup in [false, true] {
            let mut total: i64 = 0;
            for i in 0..n {
                if available(&st, i, backup) {
                    st[i].current += self.def.servers[i].weight as i64;
                    total += self.def.servers[i].weight as i64;
                }
            }
            // The first of equals wins, as in nginx.
            let mut best: Option<usize> = None;
            for i in (0..n).filter(|&i| available(&st, i, backup)) {
                if best.is_none_or(|b| st[i].current > st[b].current) {
                    best = Some(i);
                }
            }
            let Some(best) = best else { continue };
            st[best].current -= total;
            return Some(best);
        }
        None
    }

    /// `ip_hash`, as ngx_http_upstream_get_ip_hash_peer: the client's /24
    /// (IPv4) or address (IPv6) hashed onto the servers by weight; a server
    /// that is down or already tried hashes again, and after 20 tries round
    /// robin decides. `hash` carries on between the tries of one request.
    fn pick_hashed(
        &self,
        exclude: &[usize],
        client: std::net::IpAddr,
        hash: &mut HashTries,
    ) -> Option<usize> {
        let servers = &self.def.servers;
        if servers.len() == 1 || hash.tries > 20 {
            return self.pick(exclude);
        }
        let bytes: Vec<u8> = match client {
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets()[..3].to_vec(),
                None => v6.octets().to_vec(),
            },
            std::net::IpAddr::V4(v4) => v4.octets()[..3].to_vec(),
        };
        let total: u32 = servers.iter().map(|s| s.weight).sum();
        let now = Instant::now();
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (mut h, mut tries) = (hash.hash, hash.tries);
        loop {
            for b in &bytes {
                h = (h * 113 + u32::from(*b)) % 6271;
            }
            let mut w = h % total.max(1);
            let mut p = 0;
            while w >= servers[p].weight {
                w -= servers[p].weight;
                p += 1;
            }
            let usable = !exclude.contains(&p)
                && !servers[p].down
                && st[p].down_until.is_none_or(|t| t <= now);
            if usable {
                (hash.hash, hash.tries) = (h, tries);
                return Some(p);
            }
            tries += 1;
            if tries > 20 {
                drop(st);
                (hash.hash, hash.tries) = (h, tries);
                return self.pick(exclude);
            }
        }
    }

    pub(crate) fn failed(&self, i: usize) {
        // As nginx: with a single server, max_fails and fail_timeout are ignored.
        if self.def.servers.len() == 1 {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let s = &self.def.servers[i];
        st[i].failed(s.max_fails, s.fail_timeout);
    }

    pub(crate) fn succeeded(&self, i: usize) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st[i].fails = 0;
        st[i].down_until = None;
    }
}

pub struct Upstreams {
    pub(crate) groups: super::FastMap<String, Arc<Group>>,
    pub resolver: Arc<dyn HostResolver>,
    /// Failures of single addresses of a name that resolves to several (a
    /// scaled service), by upstream block or proxy_pass target: nginx makes
    /// a peer of each address in that group, so one that fails is left out
    /// of the group for `fail_timeout` while the others serve.
    marks: Mutex<super::FastMap<String, super::FastMap<SocketAddr, PeerState>>>,
}

impl Upstreams {
    pub fn new(http: &Http, resolver: Arc<dyn HostResolver>) -> Upstreams {
        let groups = http
            .upstreams
            .iter()
            .map(|(name, def)| (name.clone(), Arc::new(Group::new(def.clone()))))
            .collect();
        Upstreams { groups, resolver, marks: Default::default() }
    }

    /// The addresses not left out after failing, in the order given. When
    /// every one failed lately, none, and all are live again for the next
    /// request (nginx: "mark them as live for quick recovery").
    pub(crate) fn live(&self, set: &str, addrs: &[SocketAddr]) -> Vec<SocketAddr> {
        let mut all = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        let Some(marks) = all.get_mut(set).filter(|m| !m.is_empty()) else {
            return addrs.to_vec();
        };
        let now = Instant::now();
        marks.retain(|_, m| m.down_until.is_none_or(|t| t > now) || m.fails > 0);
        let live: Vec<SocketAddr> = addrs
            .iter()
            .copied()
            .filter(|a| marks.get(a).is_none_or(|m| m.down_until.is_none()))
            .collect();
        if live.is_empty() {
            for a in addrs {
                marks.remove(a);
            }
        }
        live
    }

    pub(crate) fn addr_failed(
        &self,
        set: &str,
        addr: SocketAddr,
        max_fails: u32,
        fail_timeout: Duration,
    ) {
        let mut all = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(set.to_string())
            .or_default()
            .entry(addr)
            .or_default()
            .failed(max_fails, fail_timeout);
    }

    pub(crate) fn addr_succeeded(&self, set: &str, addr: SocketAddr) {
        let mut all = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(marks) = all.get_mut(set) {
            marks.remove(&addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::config::UpstreamServer;

    #[test]
    fn dotted_quads_are_read_as_std_reads_them() {
        let mut cases: Vec<String> = [
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.4",
            "10.20.30.40",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3.",
            ".1.2.3",
            "1..2.3",
            "1.2.3.4 ",
            "a.b.c.d",
            "1.2.3.-4",
            "1.2.3.4:80",
            "1000.1.1.1",
            "0.00.0.0",
            "99.99.99.999",
            "web",
            "::1",
            "[::1]",
            "1.2.3.4a",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every address of a few octets, and every nearby malformed form.
        for a in [0u32, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255, 256, 300, 999] {
            cases.push(format!("{a}.1.{a}.0"));
            cases.push(format!("0{a}.1.1.1"));
        }
        for c in &cases {
            assert_eq!(dotted_quad(c), c.parse::<std::net::Ipv4Addr>().ok(), "{c:?}");
        }
    }

    #[test]
    fn a_failed_address_of_a_name_is_left_out_of_its_group_only() {
        let u = Upstreams::new(&Http::default(), Arc::new(Dns::default()));
        let (a, b): (SocketAddr, SocketAddr) =
            ("10.0.0.1:80".parse().unwrap(), "10.0.0.2:80".parse().unwrap());
        assert_eq!(u.live("api:80", &[a, b]), [a, b]);
        u.addr_failed("api:80", b, 1, Duration::from_secs(10));
        assert_eq!(u.live("api:80", &[b, a]), [a], "down for fail_timeout");
        assert_eq!(u.live("apis", &[b, a]), [b, a], "another group's peer is its own");
        // max_fails=2: the first failure only counts.
        u.addr_failed("apis", a, 2, Duration::from_secs(10));
        assert_eq!(u.live("apis", &[b, a]), [b, a]);
        u.addr_failed("apis", a, 2, Duration::from_secs(10));
        assert_eq!(u.live("apis", &[b, a]), [b]);
        // All failed lately: none for this request, all live for the next.
        u.addr_failed("api:80", a, 1, Duration::from_secs(10));
        assert_eq!(u.live("api:80", &[a, b]), []);
        assert_eq!(u.live("api:80", &[a, b]), [a, b]);
        // A success clears the count; a past fail_timeout lets it back in.
        u.addr_failed("api:80", a, 1, Duration::ZERO);
        assert_eq!(u.live("api:80", &[a, b]), [a, b]);
        u.addr_failed("api:80", b, 2, Duration::from_secs(10));
        u.addr_succeeded("api:80", b);
        u.addr_failed("api:80", b, 2, Duration::from_secs(10));
        assert_eq!(u.live("api:80", &[a, b]), [a, b]);
    }

    fn group(weights: &[(u32, bool)]) -> Group {
        let servers = weights
            .iter()
            .enumerate()
            .map(|(i, (w, backup))| UpstreamServer {
                written: format!("s{i}"),
                host: format!("s{i}"),
                port: 80,
                weight: *w,
                max_fails: 1,
                fail_timeout: Duration::from_secs(10),
                backup: *backup,
                down: false,
            })
            .collect::<Vec<_>>();
        Group::new(Arc::new(UpstreamDef {
            name: "u".into(),
            servers,
            keepalive: Default::default(),
            balance: Balance::RoundRobin,
        }))
    }

    #[test]
    fn weighted_round_robin_and_backup() {
        let g = group(&[(2, false), (1, false), (1, true)]);
        let picks: Vec<usize> = (0..6).map(|_| g.pick(&[]).unwrap()).collect();
        assert_eq!(picks.iter().filter(|&&p| p == 0).count(), 4);
        assert_eq!(picks.iter().filter(|&&p| p == 1).count(), 2);
        g.failed(0);
        g.failed(1);
        assert_eq!(g.pick(&[]), Some(2), "backup once the primaries are down");
        g.succeeded(0);
        assert_eq!(g.pick(&[]), Some(0));
    }
}
