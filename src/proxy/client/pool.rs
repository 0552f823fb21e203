//! This worker's idle upstream connections, held to their upstream's
//! `keepalive*` limits.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::net::TcpStream;

use crate::proxy::config::Keepalive;

/// A connection's life so far, held to its upstream's `keepalive*` limits.
#[derive(Clone, Copy)]
pub(super) struct Life {
    pub(super) opened: Instant,
    pub(super) requests: u64,
    pub(super) limits: Keepalive,
}

impl Life {
    /// May carry another request after the one it just answered.
    pub(super) fn goes_on(&self) -> bool {
        self.requests < self.limits.requests && self.opened.elapsed() < self.limits.time
    }
}

/// An idle connection in the pool.
pub(super) struct Idle {
    pub(super) stream: TcpStream,
    pub(super) since: Instant,
    pub(super) life: Life,
}

impl Idle {
    /// One clock read for the whole pool walk: this runs on every request.
    pub(super) fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.since) >= self.life.limits.timeout
            || now.saturating_duration_since(self.life.opened) >= self.life.limits.time
    }
}

/// Where an idle connection waits: its upstream block's pool, which
/// `keepalive N` bounds for all the block's servers together (as nginx's
/// cache is per block), or its address's own.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum PoolKey {
    Block(u64),
    Addr(SocketAddr),
}

impl PoolKey {
    pub(super) fn of(addr: SocketAddr, limits: &Keepalive) -> PoolKey {
        limits.pool.map_or(PoolKey::Addr(addr), PoolKey::Block)
    }
}

thread_local! {
    /// Per thread because each proxy worker is a thread with its own runtime:
    /// a connection is registered with the reactor of the worker that opened
    /// it. Least recently used first.
    pub(super) static POOL: RefCell<crate::proxy::FastMap<PoolKey, VecDeque<(SocketAddr, Idle)>>> = RefCell::new(Default::default());
}

/// Takes the most recently used idle connection to `addr` that is still
/// open; expired or closed ones to `addr` met on the way are dropped.
pub(super) fn checkout(addr: SocketAddr, limits: &Keepalive) -> Option<(TcpStream, Life)> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.get_mut(&PoolKey::of(addr, limits))?;
        let now = Instant::now();
        while let Some(i) = idle.iter().rposition(|(a, _)| *a == addr) {
            let (_, c) = idle.remove(i)?;
            if !c.expired(now) && still_open(&c.stream) {
                return Some((c.stream, c.life));
            }
        }
        None
    })
}

/// An idle connection has nothing to read; a FIN, a reset or stray bytes
/// make it unusable. With no readiness event since its last read, tokio
/// answers this without a system call.
pub(super) fn still_open(s: &TcpStream) -> bool {
    matches!(s.try_read(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

pub(super) fn checkin(addr: SocketAddr, stream: TcpStream, life: Life) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let idle = p.entry(PoolKey::of(addr, &life.limits)).or_default();
        let now = Instant::now();
        // Those idle too long go now, so their descriptors do not linger.
        while idle.front().is_some_and(|(_, c)| c.expired(now)) {
            idle.pop_front();
        }
        // As nginx: past `keepalive N`, the least recently used is closed,
        // whichever of the block's servers it goes to.
        while idle.len() >= life.limits.idle.max(1) {
            idle.pop_front();
        }
        idle.push_back((addr, Idle { stream, since: now, life }));
    })
}
