//! nginx's `send_timeout`: a client that stops reading is dropped when no
//! byte of the response could be written for that long. Without it a client
//! that never reads holds its connection, the response in the socket
//! buffers and, for a proxied answer, the upstream connection forever.
//!
//! The timeout runs only while a write is waiting, between two writes that
//! made progress, as nginx counts it. It is the location's: the request
//! handler sets it for each response through a [`SendTimeout`] cell.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::http1::Sink;

/// The timeout in force on one connection, set per response, and whether
/// it fired (for the error log).
#[derive(Clone)]
pub struct SendTimeout(Arc<State>);

/// One allocation a connection for both.
struct State {
    millis: AtomicU64,
    fired: AtomicBool,
}

impl SendTimeout {
    pub fn new(d: Duration) -> Self {
        let s = SendTimeout(Arc::new(State {
            millis: AtomicU64::new(0),
            fired: AtomicBool::new(false),
        }));
        s.set(d);
        s
    }

    pub fn set(&self, d: Duration) {
        self.0.millis.store(u64::try_from(d.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn fired(&self) -> bool {
        self.0.fired.load(Ordering::Relaxed)
    }

    fn get(&self) -> Duration {
        Duration::from_millis(self.0.millis.load(Ordering::Relaxed))
    }
}

/// An I/O stream whose writes fail with `TimedOut` once one has waited
/// longer than the send timeout.
pub struct Io<T> {
    inner: T,
    timeout: SendTimeout,
    /// Armed while a write waits.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<T> Io<T> {
    pub fn new(inner: T, timeout: SendTimeout) -> Self {
        Io { inner, timeout, sleep: None }
    }

    /// After a write returned `Pending`: arms the timer, or says it ran out.
    fn waited(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Error> {
        let limit = self.timeout.get();
        if limit.is_zero() {
            return Poll::Pending;
        }
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.timeout.0.fired.store(true, Ordering::Relaxed);
                Poll::Ready(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "client timed out while sending response to client",
                ))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<R>(
        &mut self,
        r: Poll<std::io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<R>> {
        match r {
            Poll::Pending => self.waited(cx).map(Err),
            done => {
                self.sleep = None;
                done
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Io<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Io<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progress(r, cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progress(r, cx)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.progress(r, cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T: Sink> Sink for Io<T> {
    fn can_send_files(&self) -> bool {
        self.inner.can_send_files()
    }
    fn poll_write_more(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = self.inner.poll_write_more(cx, buf);
        self.progress(r, cx)
    }
    fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        file: std::os::fd::BorrowedFd<'_>,
        offset: u64,
        len: usize,
    ) -> Poll<std::io::Result<usize>> {
        let r = self.inner.poll_send_file(cx, file, offset, len);
        self.progress(r, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_stops_is_timed_out_and_one_that_reads_is_not() {
        // A pipe with room for 1 KiB: writes wait once it is full.
        let (a, mut b) = tokio::io::duplex(1024);
        let t = SendTimeout::new(Duration::from_secs(60));
        let mut io = Io::new(a, t.clone());
        let chunk = vec![7u8; 512];
        // The reader drains every 30 s: each wait is shorter than the timeout.
        let reader = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut got = 0;
            let mut buf = vec![0u8; 4096];
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(30)).await;
                got += b.read(&mut buf).await.unwrap();
            }
            (got, b)
        });
        for _ in 0..5 {
            io.write_all(&chunk).await.expect("a slow reader is not a stalled one");
        }
        assert!(!t.fired());
        let (_, b) = reader.await.unwrap();
        // Now it stops reading: the next write that waits fails after 60 s.
        let started = Instant::now();
        let mut err = None;
        for _ in 0..10 {
            // Bounded, so that a missing timeout fails the test instead of hanging it.
            match tokio::time::timeout(Duration::from_secs(3600), io.write_all(&chunk)).await {
                Ok(Err(e)) => {
                    err = Some(e);
                    break;
                }
                Ok(Ok(())) => {}
                Err(_) => break,
            }
        }
        let e = err.expect("a stalled reader is timed out");
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert!(t.fired());
        assert_eq!(started.elapsed().as_secs(), 60);
        drop(b);
    }
}
