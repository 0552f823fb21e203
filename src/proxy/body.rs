//! The client's request body on its way upstream, held to nginx's limits
//! while it streams: client_max_body_size for bodies whose length was not
//! declared, and client_body_timeout between reads.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};

use super::handler::BoxError;

/// Why a body was cut short: the status nginx answers with.
#[derive(Clone, Default)]
pub struct Verdict(Arc<AtomicU16>);

impl Verdict {
    pub fn status(&self) -> Option<u16> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }
}

pub struct Limited {
    inner: Incoming,
    limit: u64,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    verdict: Verdict,
    /// Bytes read so far: held to the limit, and shown by `$request_length`.
    read: Arc<AtomicU64>,
}

impl Limited {
    pub fn new(inner: Incoming, limit: u64, timeout: Duration, verdict: Verdict, read: Arc<AtomicU64>) -> Self {
        Limited { inner, limit, timeout, sleep: None, verdict, read }
    }

    fn fail(&self, status: u16, msg: &str) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.verdict.0.store(status, Ordering::SeqCst);
        Poll::Ready(Some(Err(msg.into())))
    }
}

impl HttpBody for Limited {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending => {
                // client_body_timeout: the time allowed between two reads.
                let timeout = self.timeout;
                let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if sleep.as_mut().poll(cx).is_ready() {
                    return self.fail(408, "client_body_timeout expired");
                }
                Poll::Pending
            }
            Poll::Ready(Some(Ok(frame))) => {
                self.sleep = None;
                if let Some(d) = frame.data_ref() {
                    let n = d.len() as u64;
                    let seen = self.read.fetch_add(n, Ordering::Relaxed) + n;
                    if self.limit > 0 && seen > self.limit {
                        return self.fail(413, "client_max_body_size exceeded");
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            // A broken chunked body, or a client gone mid-body: nginx answers 400, not 502.
            Poll::Ready(Some(Err(e))) => {
                self.verdict.0.store(400, Ordering::SeqCst);
                Poll::Ready(Some(Err(Box::new(e))))
            }
            Poll::Ready(None) => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
