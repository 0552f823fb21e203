//! `limit_conn_zone` and `limit_conn`: how many requests with one key
//! (`$binary_remote_addr`, say) are being answered at once; one more is
//! refused with `limit_conn_status` (503), as nginx's module counts them,
//! from the access phase until the answer has been sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::vars::Template;

/// A `limit_conn_zone`: its key and the count per key in flight.
#[derive(Debug)]
pub struct ConnZone {
    pub name: String,
    pub key: Template,
    counts: Mutex<HashMap<String, u32>>,
}

/// One `limit_conn ZONE N`.
#[derive(Debug, Clone)]
pub struct ConnLimit {
    pub zone: String,
    pub max: u32,
}

/// A request counted in a zone; dropping it (with the answer's body) ends the count.
#[derive(Debug)]
pub struct Held {
    zone: Arc<ConnZone>,
    key: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut counts = self.zone.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

impl ConnZone {
    pub fn new(name: String, key: Template) -> ConnZone {
        ConnZone { name, key, counts: Mutex::default() }
    }

    /// Counts one more request for `key`; `None` when `max` are in flight already.
    pub fn enter(self: &Arc<Self>, key: &str, max: u32) -> Option<Held> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(key.to_string()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Held { zone: self.clone(), key: key.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_go_up_to_the_limit_and_down_with_each_answer() {
        let z = Arc::new(ConnZone::new("a".into(), Template::parse("$remote_addr")));
        let one = z.enter("k", 2).unwrap();
        let two = z.enter("k", 2).unwrap();
        assert!(z.enter("k", 2).is_none());
        assert!(z.enter("other", 2).is_some());
        drop(one);
        assert!(z.enter("k", 2).is_some());
        drop(two);
    }
}
