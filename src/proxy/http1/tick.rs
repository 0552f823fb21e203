//! A coarse clock a worker's connections share, for waits whose length only
//! needs to be about right (when to start watching a client for a close).
//!
//! Why not a `sleep` per request: registering a timer earlier than the
//! runtime's next wake-up makes tokio wake its own driver through an
//! eventfd, a write(2) and an extra epoll round on most requests of a busy
//! keep-alive connection. One timer a worker, running only while something
//! waits on it, costs that once per tick instead.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// How long a tick is.
pub(super) const TICK: Duration = Duration::from_millis(50);

struct Ticks {
    epoch: AtomicU64,
    waiting: AtomicUsize,
    ticked: Notify,
    wanted: Notify,
    /// False once the task that ticks has ended (its runtime went away).
    alive: AtomicBool,
}

thread_local! {
    static TICKS: RefCell<Option<Arc<Ticks>>> = const { RefCell::new(None) };
}

/// This thread's clock, started on the runtime the caller runs on.
fn ticks() -> Arc<Ticks> {
    TICKS.with(|t| {
        let mut t = t.borrow_mut();
        match &*t {
            Some(ticks) if ticks.alive.load(Ordering::Acquire) => ticks.clone(),
            _ => {
                let ticks = Arc::new(Ticks {
                    epoch: AtomicU64::new(0),
                    waiting: AtomicUsize::new(0),
                    ticked: Notify::new(),
                    wanted: Notify::new(),
                    alive: AtomicBool::new(true),
                });
                tokio::spawn(run(ticks.clone()));
                *t = Some(ticks.clone());
                ticks
            }
        }
    })
}

/// Ticks while anyone waits; sleeps on `wanted` otherwise.
async fn run(ticks: Arc<Ticks>) {
    struct Ended(Arc<Ticks>);
    impl Drop for Ended {
        fn drop(&mut self) {
            self.0.alive.store(false, Ordering::Release);
        }
    }
    let ended = Ended(ticks);
    let ticks = &ended.0;
    loop {
        if ticks.waiting.load(Ordering::Acquire) == 0 {
            ticks.wanted.notified().await;
            continue;
        }
        tokio::time::sleep(TICK).await;
        ticks.epoch.fetch_add(1, Ordering::AcqRel);
        ticks.ticked.notify_waiters();
    }
}

/// Completes at the next tick: between no time and one tick from now.
pub(super) async fn next() {
    struct Waiting(Arc<Ticks>);
    impl Drop for Waiting {
        fn drop(&mut self) {
            self.0.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let ticks = ticks();
    if ticks.waiting.fetch_add(1, Ordering::AcqRel) == 0 {
        ticks.wanted.notify_one();
    }
    let waiting = Waiting(ticks);
    let start = waiting.0.epoch.load(Ordering::Acquire);
    loop {
        // Made before the check, so a tick between the two is not missed.
        let ticked = waiting.0.ticked.notified();
        if waiting.0.epoch.load(Ordering::Acquire) != start {
            return;
        }
        ticked.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_within_a_tick_and_the_clock_stops_when_nobody_waits() {
        let began = tokio::time::Instant::now();
        next().await;
        assert!(began.elapsed() <= TICK);
        next().await;
        let t = ticks();
        assert_eq!(t.waiting.load(Ordering::Acquire), 0);
        // Nobody waits: after the tick already under way, no tick goes by.
        tokio::time::sleep(TICK * 2).await;
        let epoch = t.epoch.load(Ordering::Acquire);
        tokio::time::sleep(TICK * 10).await;
        assert_eq!(t.epoch.load(Ordering::Acquire), epoch);
        // Many waiters share one tick.
        let waits: Vec<_> = (0..100).map(|_| tokio::spawn(next())).collect();
        for w in waits {
            w.await.unwrap();
        }
        assert!(t.epoch.load(Ordering::Acquire) <= epoch + 2);
    }
}
