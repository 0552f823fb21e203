//! `limit_req`: nginx's leaky bucket per key, shared by every worker. Each
//! request adds one to its key's excess, which drains at the zone's rate;
//! past `burst` it is refused (`limit_req_status`, 503 by default), within
//! it delayed until the excess drains (unless `nodelay`, or up to `delay=`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A `limit_req_zone`: its key, rate and the state of each key.
#[derive(Debug)]
pub struct Zone {
    pub name: String,
    pub key: super::vars::Template,
    /// Requests per second, times 1000 (nginx's unit: `30r/m` is 500).
    pub rate: u64,
    /// Keys kept at most, from the zone's size (nginx keeps one in 64 bytes).
    pub capacity: usize,
    state: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Requests above the rate, times 1000.
    excess: u64,
    last: Instant,
}

/// One `limit_req` of a location.
#[derive(Debug, Clone)]
pub struct Limit {
    pub zone: String,
    /// `burst`, times 1000.
    pub burst: u64,
    /// Excess (times 1000) let through undelayed: 0 by default, all with `nodelay`.
    pub delay: u64,
}

/// What a zone says of one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Delay(Duration),
    Refuse,
}

impl Zone {
    pub fn new(name: String, key: super::vars::Template, rate: u64, size: u64) -> Zone {
        let capacity = usize::try_from(size / 64).unwrap_or(usize::MAX).max(1);
        Zone { name, key, rate, capacity, state: Mutex::new(HashMap::new()) }
    }

    /// Accounts one request for `key` at `now`, as ngx_http_limit_req_lookup does.
    pub fn account(&self, key: &str, limit: &Limit, now: Instant) -> Verdict {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // The excess a new request would make: what is left after draining, plus one.
        let after = |b: &Bucket| {
            let ms = u64::try_from(now.saturating_duration_since(b.last).as_millis())
                .unwrap_or(u64::MAX);
            (b.excess + 1000).saturating_sub(self.rate.saturating_mul(ms) / 1000)
        };
        if !st.contains_key(key) && st.len() >= self.capacity {
            // Full: forget keys whose excess has drained away, as nginx expires them.
            st.retain(|_, b| after(b) > 1000);
            if st.len() >= self.capacity {
                return Verdict::Refuse;
            }
        }
        let excess = st.get(key).map_or(0, after);
        if excess > limit.burst {
            return Verdict::Refuse;
        }
        st.insert(key.to_string(), Bucket { excess, last: now });
        if excess <= limit.delay {
            return Verdict::Pass;
        }
        Verdict::Delay(Duration::from_millis((excess - limit.delay) * 1000 / self.rate.max(1)))
    }
}

/// `rate=10r/s` or `rate=30r/m`, times 1000 per second.
pub fn parse_rate(s: &str) -> Option<u64> {
    let (n, unit) =
        s.strip_suffix("r/s").map(|n| (n, 1)).or_else(|| s.strip_suffix("r/m").map(|n| (n, 60)))?;
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    Some(n.checked_mul(1000)? / unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_drains_at_the_rate_and_bursts_are_delayed_or_refused() {
        let z = Zone::new(
            "z".into(),
            super::super::vars::Template::parse("$x"),
            parse_rate("2r/s").unwrap(),
            1 << 20,
        );
        let t0 = Instant::now();
        let strict = Limit { zone: "z".into(), burst: 0, delay: 0 };
        assert_eq!(z.account("a", &strict, t0), Verdict::Pass);
        assert_eq!(z.account("a", &strict, t0 + Duration::from_millis(100)), Verdict::Refuse);
        // 2r/s drains one request in 500 ms.
        assert_eq!(z.account("a", &strict, t0 + Duration::from_millis(600)), Verdict::Pass);
        assert_eq!(z.account("b", &strict, t0), Verdict::Pass, "keys apart");
        let burst = Limit { zone: "z".into(), burst: 2000, delay: 0 };
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(z.account("c", &burst, t1), Verdict::Pass);
        assert_eq!(z.account("c", &burst, t1), Verdict::Delay(Duration::from_millis(500)));
        assert_eq!(z.account("c", &burst, t1), Verdict::Delay(Duration::from_millis(1000)));
        assert_eq!(z.account("c", &burst, t1), Verdict::Refuse);
        let nodelay = Limit { zone: "z".into(), burst: 2000, delay: u64::MAX };
        assert_eq!(z.account("d", &nodelay, t1), Verdict::Pass);
        assert_eq!(z.account("d", &nodelay, t1), Verdict::Pass);
        assert_eq!(z.account("d", &nodelay, t1), Verdict::Pass);
        assert_eq!(z.account("d", &nodelay, t1), Verdict::Refuse);
        assert_eq!(parse_rate("30r/m"), Some(500));
        assert_eq!(parse_rate("0r/s"), None);
    }
}
