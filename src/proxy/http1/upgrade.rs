//! The client's connection after a `101 Switching Protocols`: handed to the
//! tunnel, with what the client sent behind its request first.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub type ReadIo = Box<dyn AsyncRead + Send + Unpin>;
pub(super) type WriteIo = Box<dyn super::sink::Sink>;

/// The client connection, taken over after a 101.
pub struct Upgraded {
    pub(crate) early: Bytes,
    pub(crate) read: ReadIo,
    pub(crate) write: WriteIo,
}

/// Completes with the client's connection once a 101 has been written to it
/// (an error if the answer was another, or the connection closed first).
pub struct OnUpgrade(pub(crate) tokio::sync::oneshot::Receiver<Upgraded>);

impl std::future::Future for OnUpgrade {
    type Output = Result<Upgraded, tokio::sync::oneshot::error::RecvError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.early.is_empty() {
            let n = self.early.len().min(buf.remaining());
            buf.put_slice(&self.early[..n]);
            self.early.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.write).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.write).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.write).poll_shutdown(cx)
    }
}
