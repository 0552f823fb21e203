//! The client connection's write side. A plain socket can also take a
//! file's bytes by sendfile(2), from the page cache, without the copy
//! through the proxy's memory that a write makes: for a large file that
//! copy is most of the work of answering.

use std::io;
use std::os::fd::BorrowedFd;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncWrite, Interest};
use tokio::net::TcpStream;

/// Where an answer is written.
pub trait Sink: AsyncWrite + Send + Unpin {
    /// Whether [`Sink::poll_send_file`] works here (a plain socket, not TLS).
    fn can_send_files(&self) -> bool {
        false
    }

    /// Writes `buf` with more to follow at once (`MSG_MORE`), so that the
    /// head of a file answer leaves in one packet with its first bytes.
    fn poll_write_more(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(self).poll_write(cx, buf)
    }

    /// Sends up to `len` bytes of `file` from `offset`; 0 at its end.
    fn poll_send_file(
        &mut self,
        _cx: &mut Context<'_>,
        _file: BorrowedFd<'_>,
        _offset: u64,
        _len: usize,
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
    }
}

impl Sink for tokio::net::tcp::OwnedWriteHalf {
    fn can_send_files(&self) -> bool {
        true
    }
    fn poll_write_more(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let s: &TcpStream = self.as_ref();
        use rustix::net::SendFlags;
        when_writable(s, cx, || rustix::net::send(s, buf, SendFlags::MORE | SendFlags::NOSIGNAL))
    }
    fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        file: BorrowedFd<'_>,
        offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        let s: &TcpStream = self.as_ref();
        when_writable(s, cx, || {
            let mut at = offset;
            rustix::fs::sendfile(s, file, Some(&mut at), len)
        })
    }
}

/// TLS: its bytes are the cipher's, written from memory.
impl<T: tokio::io::AsyncRead + AsyncWrite + Send> Sink for tokio::io::WriteHalf<T> {}

/// For tests: an answer written into memory.
#[cfg(test)]
impl Sink for Vec<u8> {}

/// Runs `op` once the socket has room, waiting again when it had none.
fn when_writable(
    s: &TcpStream,
    cx: &mut Context<'_>,
    mut op: impl FnMut() -> rustix::io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        ready!(s.poll_write_ready(cx))?;
        match s.try_io(Interest::WRITABLE, || op().map_err(io::Error::from)) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            done => return Poll::Ready(done),
        }
    }
}
