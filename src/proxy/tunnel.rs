//! A 101's tunnel: the client's and the upstream's connections joined
//! until either closes. nginx writes such a request's access line when the
//! tunnel closes, its times and byte counts covering the whole tunnel; the
//! [`TunnelEnd`] in the answer's extensions lets the access log wait for it.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::client::Traffic;
use super::http1::OnUpgrade;

type Waiter = Box<dyn FnOnce(u64) + Send>;

/// Where a tunnel's end meets the access line waiting for it, in either
/// order: the line may be ready before or after the tunnel closes.
#[derive(Default)]
pub(super) struct TunnelEnd(Mutex<End>);

#[derive(Default)]
enum End {
    #[default]
    Open,
    Waiting(Waiter),
    /// Closed, with the bytes sent to the client through it.
    Closed(u64),
}

impl TunnelEnd {
    /// Runs `then` with the bytes the tunnel sent to the client, once it
    /// has closed (at once if it has).
    pub(super) fn when_closed(&self, then: impl FnOnce(u64) + Send + 'static) {
        let mut end = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match *end {
            End::Closed(sent) => {
                drop(end);
                then(sent);
            }
            _ => *end = End::Waiting(Box::new(then)),
        }
    }

    fn closed(&self, sent: u64) {
        let mut end = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let End::Waiting(then) = std::mem::replace(&mut *end, End::Closed(sent)) {
            drop(end);
            then(sent);
        }
    }
}

/// How long a tunnel waits: `proxy_read_timeout` with nothing moving
/// either way, and each side's send timeout for a write.
#[derive(Clone, Copy)]
pub(super) struct Timeouts {
    pub idle: Duration,
    pub to_client: Duration,
    pub to_upstream: Duration,
}

/// Joins the client's connection, once the 101 has reached it, to the
/// upstream's; `early` is what the upstream sent right behind its 101.
/// `hold` lives as long as the tunnel (a `least_conn` count).
pub(super) fn spawn<H: Send + 'static>(
    client: OnUpgrade,
    upstream: tokio::net::TcpStream,
    early: bytes::Bytes,
    traffic: Option<Arc<Traffic>>,
    timeouts: Timeouts,
    hold: H,
) -> Arc<TunnelEnd> {
    let end = Arc::new(TunnelEnd::default());
    let closing = Closing { end: end.clone(), traffic, sent: 0 };
    tokio::spawn(async move {
        let mut closing = closing;
        let Ok(mut down) = client.await else {
            return;
        };
        let (to_client, to_upstream) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let (from_upstream, activity) = (AtomicUsize::new(0), Activity::new());
        if write(&mut down, &early, timeouts.to_client).await {
            to_client.store(early.len(), Relaxed);
            let (mut down_read, mut down_write) = tokio::io::split(down);
            let (mut up_read, mut up_write) = upstream.into_split();
            // As nginx does: the tunnel ends when either side has closed
            // and what it sent has been passed on, not at a half-close.
            tokio::select! {
                () = pump(&mut down_read, &mut up_write, &activity, timeouts.to_upstream, &to_upstream, None) => {}
                () = pump(&mut up_read, &mut down_write, &activity, timeouts.to_client, &to_client, Some(&from_upstream)) => {}
                () = activity.idle_for(timeouts.idle) => {}
            }
        }
        closing.sent = to_client.load(Relaxed) as u64;
        if let Some(t) = &closing.traffic {
            t.add_sent(to_upstream.load(Relaxed));
            t.add_received(from_upstream.load(Relaxed));
        }
        drop(hold);
    });
    end
}

/// Copies one way until the source closes or fails, or a write takes
/// longer than `send`; `moved` counts what was written, `read` what was read.
async fn pump<R, W>(
    from: &mut R,
    to: &mut W,
    activity: &Activity,
    send: Duration,
    moved: &AtomicUsize,
    read: Option<&AtomicUsize>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        activity.touch();
        if let Some(read) = read {
            read.fetch_add(n, Relaxed);
        }
        if !write(to, &buf[..n], send).await {
            return;
        }
        moved.fetch_add(n, Relaxed);
        activity.touch();
    }
}

/// Writes all of `bytes` within `limit`: false if it could not.
async fn write<W: AsyncWrite + Unpin>(to: &mut W, bytes: &[u8], limit: Duration) -> bool {
    let all = async {
        to.write_all(bytes).await?;
        to.flush().await
    };
    matches!(tokio::time::timeout(limit, all).await, Ok(Ok(())))
}

/// When anything last moved through the tunnel, either way.
struct Activity {
    start: Instant,
    /// Milliseconds from `start`.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity { start: Instant::now(), last: AtomicU64::new(0) }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Relaxed);
    }

    /// Completes once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last.load(Relaxed));
            let quiet = last.elapsed();
            if quiet >= limit {
                return;
            }
            tokio::time::sleep(limit - quiet).await;
        }
    }
}

/// Ends the tunnel's timing and wakes its access line, also where the
/// task stopped early (the 101 never reached the client).
struct Closing {
    end: Arc<TunnelEnd>,
    traffic: Option<Arc<Traffic>>,
    sent: u64,
}

impl Drop for Closing {
    fn drop(&mut self) {
        if let Some(t) = &self.traffic {
            t.ends();
        }
        self.end.closed(self.sent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_waits_for_the_close_in_either_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = |seen: &Arc<Mutex<Vec<u64>>>| {
            let seen = seen.clone();
            move |n| seen.lock().unwrap().push(n)
        };
        let end = TunnelEnd::default();
        end.when_closed(log(&seen));
        assert!(seen.lock().unwrap().is_empty(), "not before the tunnel closes");
        end.closed(18);
        let closed_first = TunnelEnd::default();
        closed_first.closed(5);
        closed_first.when_closed(log(&seen));
        assert_eq!(*seen.lock().unwrap(), [18, 5]);
    }
}
