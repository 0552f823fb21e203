//! The realip module: behind a trusted proxy (`set_real_ip_from`), the
//! client's address is the one its header names (`real_ip_header`,
//! X-Real-IP by default; the last of X-Forwarded-For, or the last
//! untrusted one with `real_ip_recursive on`). `$realip_remote_addr`
//! keeps the peer's.

use std::net::{IpAddr, SocketAddr};

/// An address or network of `set_real_ip_from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `::1`, `192.168.1.7`; None where nginx says "invalid parameter".
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { addr, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.bits)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The client's address for a request from `peer` carrying `header`'s
/// `value`, or None to keep the peer's.
pub fn real_addr(
    peer: SocketAddr,
    trusted: &[Cidr],
    value: Option<&str>,
    forwarded_for: bool,
    recursive: bool,
) -> Option<SocketAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer.ip()) {
        return None;
    }
    let value = value?;
    let ip: IpAddr = if forwarded_for {
        let mut found = None;
        for part in value.rsplit(',').map(str::trim) {
            let ip: IpAddr = part.parse().ok()?;
            found = Some(ip);
            if !recursive || !is_trusted(ip) {
                break;
            }
        }
        found?
    } else {
        value.trim().parse().ok()?
    };
    // The port is not known for an address from a header: nginx says 0.
    Some(SocketAddr::new(ip, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_peers_name_the_client() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap(), Cidr::parse("127.0.0.1").unwrap()];
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let ip = |s: Option<SocketAddr>| s.map(|a| a.ip().to_string());
        assert_eq!(
            ip(real_addr(peer, &trusted, Some("1.2.3.4"), false, false)),
            Some("1.2.3.4".into())
        );
        let xff = Some("1.1.1.1, 2.2.2.2, 10.1.1.1");
        assert_eq!(ip(real_addr(peer, &trusted, xff, true, false)), Some("10.1.1.1".into()));
        assert_eq!(ip(real_addr(peer, &trusted, xff, true, true)), Some("2.2.2.2".into()));
        let stranger: SocketAddr = "8.8.8.8:1".parse().unwrap();
        assert_eq!(real_addr(stranger, &trusted, Some("1.2.3.4"), false, false), None);
        assert_eq!(real_addr(peer, &trusted, Some("nonsense"), false, false), None);
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("::1").unwrap().contains("::1".parse().unwrap()));
    }
}
