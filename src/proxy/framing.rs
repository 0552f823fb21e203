//! A guard under hyper that follows HTTP/1 request framing on the raw bytes,
//! to refuse what nginx refuses but hyper would quietly repair: a request
//! with both Content-Length and Transfer-Encoding. Such a head is made
//! unparseable, so hyper answers it with 400 and closes the connection.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Heads longer than this are left for hyper to refuse.
const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug, PartialEq)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    /// After an Upgrade or something unparsed: bytes pass untouched.
    Through,
}

pub struct Guard<T> {
    inner: T,
    state: State,
    /// Bytes of the current head or chunk line not yet complete.
    partial: Vec<u8>,
    /// Bytes checked and ready for hyper.
    ready: Vec<u8>,
    ready_pos: usize,
}

/// Reads land in a fresh uninitialized buffer of this size (zeroing one for
/// every read showed in profiles; keeping one would cost idle connections).
const READ_SIZE: usize = 16 * 1024;

impl<T> Guard<T> {
    pub fn new(inner: T) -> Self {
        Guard { inner, state: State::Head, partial: Vec::new(), ready: Vec::new(), ready_pos: 0 }
    }

    /// Follows framing over newly read bytes, moving them to `ready`.
    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                State::Through => {
                    self.ready.extend_from_slice(data);
                    return;
                }
                State::Body(n) => {
                    let take = (n as usize).min(data.len());
                    self.ready.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    self.state = if n as usize == take { State::Head } else { State::Body(n - take as u64) };
                }
                State::ChunkData(n) => {
                    let take = (n as usize).min(data.len());
                    self.ready.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    self.state = if n as usize == take { State::ChunkEnd } else { State::ChunkData(n - take as u64) };
                }
                State::Head | State::ChunkSize | State::ChunkEnd | State::Trailers => {
                    // Line-oriented states: gather until the line (or head) ends.
                    let (terminator, limit): (&[u8], usize) =
                        if self.state == State::Head { (b"\r\n\r\n", MAX_HEAD) } else { (b"\r\n", 4096) };
                    let start = self.partial.len().saturating_sub(terminator.len() - 1);
                    self.partial.extend_from_slice(data);
                    let Some(end) = find(&self.partial[start..], terminator).map(|i| start + i + terminator.len()) else {
                        if self.partial.len() > limit {
                            self.state = State::Through;
                            let p = std::mem::take(&mut self.partial);
                            self.ready.extend_from_slice(&p);
                        }
                        return;
                    };
                    let mut unit: Vec<u8> = self.partial.drain(..end).collect();
                    let rest = std::mem::take(&mut self.partial);
                    self.state = match self.state {
                        State::Head if unit == b"\r\n" || unit == b"\r\n\r\n" => State::Head,
                        State::Head => self.head(&mut unit),
                        State::ChunkSize => {
                            let line = String::from_utf8_lossy(&unit);
                            let size = line.trim().split(';').next().and_then(|h| u64::from_str_radix(h.trim(), 16).ok());
                            match size {
                                Some(0) => State::Trailers,
                                Some(n) => State::ChunkData(n),
                                None => State::Through,
                            }
                        }
                        State::ChunkEnd => State::ChunkSize,
                        State::Trailers if unit == b"\r\n" => State::Head,
                        _ => State::Trailers,
                    };
                    self.ready.extend_from_slice(&unit);
                    // What followed the unit goes through the machine again.
                    let again = rest;
                    self.feed(&again);
                    return;
                }
            }
        }
    }

    /// Checks one request head; returns the state for what follows it.
    fn head(&mut self, unit: &mut [u8]) -> State {
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut req = httparse::Request::new(&mut headers);
        let Ok(httparse::Status::Complete(_)) = req.parse(unit) else { return State::Through };
        let te = req.headers.iter().find(|h| h.name.eq_ignore_ascii_case("transfer-encoding")).map(|h| h.value.to_vec());
        let cl = req
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string());
        let upgrade = req.headers.iter().any(|h| h.name.eq_ignore_ascii_case("upgrade")) || req.method == Some("CONNECT");
        if te.is_some() && cl.is_some() {
            // Make the head unparseable: hyper answers 400 and closes, as nginx refuses it.
            if let Some(pos) = find_ci(unit, b"\r\ntransfer-encoding") {
                unit[pos + 2] = 0;
            }
            return State::Through;
        }
        if upgrade {
            return State::Through;
        }
        if let Some(te) = te {
            return if String::from_utf8_lossy(&te).to_ascii_lowercase().trim().ends_with("chunked") {
                State::ChunkSize
            } else {
                State::Through
            };
        }
        match cl.map(|c| c.parse::<u64>()) {
            Some(Ok(0)) | None => State::Head,
            Some(Ok(n)) => State::Body(n),
            Some(Err(_)) => State::Through,
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

impl<T: AsyncRead + Unpin> AsyncRead for Guard<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        loop {
            if self.ready_pos < self.ready.len() {
                let n = (self.ready.len() - self.ready_pos).min(buf.remaining());
                let start = self.ready_pos;
                buf.put_slice(&self.ready[start..start + n]);
                self.ready_pos += n;
                if self.ready_pos == self.ready.len() {
                    self.ready.clear();
                    self.ready_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            let mut scratch = Vec::with_capacity(READ_SIZE);
            let mut rb = ReadBuf::uninit(&mut scratch.spare_capacity_mut()[..READ_SIZE]);
            let polled = Pin::new(&mut self.inner).poll_read(cx, &mut rb);
            let n = rb.filled().len();
            // SAFETY: the read initialized the first n bytes of the spare capacity.
            unsafe { scratch.set_len(n) };
            if let Poll::Ready(Ok(())) = polled
                && n > 0
            {
                self.feed(&scratch);
                continue;
            }
            match polled {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    // End of stream: whatever was held back goes up as it is.
                    let rest = std::mem::take(&mut self.partial);
                    if rest.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                    self.ready.extend_from_slice(&rest);
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guard<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[&[u8]]) -> (Vec<u8>, State) {
        let mut g = Guard::new(());
        for piece in input {
            g.feed(piece);
        }
        (g.ready.clone(), g.state)
    }

    #[test]
    fn passes_ordinary_requests_through_unchanged() {
        let reqs: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /z HTTP/1.1\r\n\r\n";
        let (out, state) = run(&[reqs]);
        assert_eq!(out, reqs);
        assert_eq!(state, State::Head);
        // Split at every byte boundary.
        let pieces: Vec<&[u8]> = reqs.chunks(1).collect();
        let (out, state) = run(&pieces);
        assert_eq!(out, reqs);
        assert_eq!(state, State::Head);
    }

    #[test]
    fn breaks_heads_with_both_framings() {
        let (out, state) = run(&[b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"]);
        assert_eq!(state, State::Through);
        let mut headers = [httparse::EMPTY_HEADER; 8];
        assert!(httparse::Request::new(&mut headers).parse(&out).is_err(), "hyper must refuse it");
    }

    #[test]
    fn body_bytes_that_look_like_heads_are_not_heads() {
        let reqs: &[u8] =
            b"POST / HTTP/1.1\r\nContent-Length: 59\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: x\r\n\r\n";
        let (out, state) = run(&[reqs]);
        assert_eq!(out, reqs, "a body is never rewritten");
        assert_eq!(state, State::Head);
    }
}
