//! A guard under hyper that follows HTTP/1 request framing on the raw bytes,
//! to refuse what nginx refuses but hyper would quietly repair: a request
//! with both Content-Length and Transfer-Encoding, or with Content-Length
//! twice. Such a head is made unparseable, so hyper answers it with 400 and
//! closes the connection. Heads end as httparse ends them, bare line feeds
//! included: a head the guard did not see end would go through unchecked.

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
    /// A head or chunk line that began in an earlier read and has not ended.
    partial: Vec<u8>,
}

impl<T> Guard<T> {
    pub fn new(inner: T) -> Self {
        Guard { inner, state: State::Head, partial: Vec::new() }
    }

    /// Follows framing over newly read bytes, which go up to hyper as they
    /// are, in place, unless a head must be refused. Heads that arrive in one
    /// read (nearly all) are checked where they lie, without a copy.
    fn feed(&mut self, data: &mut [u8]) {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::Through => return,
                State::Body(n) | State::ChunkData(n) => {
                    let take = (n as usize).min(data.len() - i);
                    i += take;
                    let left = n - take as u64;
                    self.state = match self.state {
                        State::Body(_) if left == 0 => State::Head,
                        State::Body(_) => State::Body(left),
                        _ if left == 0 => State::ChunkEnd,
                        _ => State::ChunkData(left),
                    };
                }
                State::Head | State::ChunkSize | State::ChunkEnd | State::Trailers => {
                    // Line-oriented states: find where the line (or head) ends.
                    let limit = if self.state == State::Head { MAX_HEAD } else { 4096 };
                    let (next, refuse, used) = if self.partial.is_empty() {
                        let Some(end) = self.unit_end(&data[i..]) else {
                            self.hold(&data[i..], limit);
                            return;
                        };
                        let (next, refuse) = self.after(&data[i..i + end]);
                        (next, refuse, end)
                    } else {
                        // The unit began in an earlier read: search across the seam
                        // (a terminator is at most three bytes long).
                        let had = self.partial.len();
                        let start = had.saturating_sub(2);
                        self.partial.extend_from_slice(&data[i..]);
                        let Some(end) = self.unit_end(&self.partial[start..]).map(|e| start + e) else {
                            let whole = std::mem::take(&mut self.partial);
                            self.hold(&whole, limit);
                            return;
                        };
                        let unit = std::mem::take(&mut self.partial);
                        let (next, refuse) = self.after(&unit[..end]);
                        (next, refuse, end - had)
                    };
                    i += used;
                    if refuse {
                        // The unit's last byte is in this read: a NUL in its final
                        // line break makes hyper refuse the head with 400 and close.
                        data[i - 1] = 0;
                    }
                    self.state = next;
                }
            }
        }
    }

    /// Keeps the start of a unit that has not ended; one too long to be a
    /// head or chunk line is left for hyper to refuse.
    fn hold(&mut self, bytes: &[u8], limit: usize) {
        if self.partial.len() + bytes.len() > limit {
            self.partial.clear();
            self.state = State::Through;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// Where the unit at the start of `hay` ends, past its terminator.
    fn unit_end(&self, hay: &[u8]) -> Option<usize> {
        if self.state == State::Head { head_end(hay) } else { find(hay, b"\r\n").map(|e| e + 2) }
    }

    /// The state after a complete unit, and whether the unit is refused.
    fn after(&self, unit: &[u8]) -> (State, bool) {
        match self.state {
            // Empty lines before a request, which httparse skips.
            State::Head if unit.iter().all(|&b| b == b'\r' || b == b'\n') => (State::Head, false),
            State::Head => head(unit),
            State::ChunkSize => {
                let line = String::from_utf8_lossy(unit);
                let size = line.trim().split(';').next().and_then(|h| u64::from_str_radix(h.trim(), 16).ok());
                let next = match size {
                    Some(0) => State::Trailers,
                    Some(n) => State::ChunkData(n),
                    None => State::Through,
                };
                (next, false)
            }
            State::ChunkEnd => (State::ChunkSize, false),
            State::Trailers if unit == b"\r\n" => (State::Head, false),
            _ => (State::Trailers, false),
        }
    }
}

/// Where a head ends: at an empty line, after a line ending of `\r\n` or
/// of a bare `\n`, as httparse reads it.
fn head_end(hay: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', hay).find_map(|i| match hay.get(i + 1..) {
        Some([b'\n', ..]) => Some(i + 2),
        Some([b'\r', b'\n', ..]) => Some(i + 3),
        _ => None,
    })
}

/// The framing headers a head has, found without parsing it whole: most
/// requests (a GET) have none, and a full parse of each one showed in profiles.
fn frames_or_upgrades(unit: &[u8]) -> bool {
    unit.starts_with(b"CONNECT ")
        || unit.split(|&b| b == b'\n').skip(1).any(|line| {
            let name = line.split(|&b| b == b':').next().unwrap_or_default().trim_ascii();
            [&b"content-length"[..], b"transfer-encoding", b"upgrade"].iter().any(|n| name.eq_ignore_ascii_case(n))
        })
}

/// Checks one request head: the state for what follows it, and whether it
/// must be refused (both Content-Length and Transfer-Encoding, or
/// Content-Length twice, as nginx refuses them).
fn head(unit: &[u8]) -> (State, bool) {
    if !frames_or_upgrades(unit) {
        return (State::Head, false);
    }
    let mut headers = [const { std::mem::MaybeUninit::uninit() }; 128];
    let mut req = httparse::Request::new(&mut []);
    let Ok(httparse::Status::Complete(_)) = req.parse_with_uninit_headers(unit, &mut headers) else { return (State::Through, false) };
    let te = req.headers.iter().find(|h| h.name.eq_ignore_ascii_case("transfer-encoding")).map(|h| h.value);
    let mut lengths = req.headers.iter().filter(|h| h.name.eq_ignore_ascii_case("content-length")).map(|h| h.value);
    let cl = lengths.next();
    let upgrade = req.headers.iter().any(|h| h.name.eq_ignore_ascii_case("upgrade")) || req.method == Some("CONNECT");
    if (te.is_some() && cl.is_some()) || lengths.next().is_some() {
        return (State::Through, true);
    }
    if upgrade {
        return (State::Through, false);
    }
    if let Some(te) = te {
        let chunked = String::from_utf8_lossy(te).to_ascii_lowercase().trim().ends_with("chunked");
        return (if chunked { State::ChunkSize } else { State::Through }, false);
    }
    let next = match cl.map(|c| String::from_utf8_lossy(c).trim().parse::<u64>()) {
        Some(Ok(0)) | None => State::Head,
        Some(Ok(n)) => State::Body(n),
        Some(Err(_)) => State::Through,
    };
    (next, false)
}

/// memmem, not a window compare at each byte: heads are searched once per
/// request, and the naive search cost a tenth of a small file's answer.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

impl<T: AsyncRead + Unpin> AsyncRead for Guard<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.feed(&mut buf.filled_mut()[before..]);
        }
        polled
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
        let mut out = Vec::new();
        for piece in input {
            let mut piece = piece.to_vec();
            g.feed(&mut piece);
            out.extend_from_slice(&piece);
        }
        (out, g.state)
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
    fn heads_with_both_framings_are_broken_wherever_the_reads_split_them() {
        let head: &[u8] = b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n";
        for cut in 1..head.len() {
            let (out, state) = run(&[&head[..cut], &head[cut..], b"0\r\n\r\n"]);
            assert_eq!(state, State::Through, "cut at {cut}");
            let mut headers = [httparse::EMPTY_HEADER; 8];
            assert!(httparse::Request::new(&mut headers).parse(&out).is_err(), "cut at {cut}: hyper must refuse it");
        }
    }

    /// What hyper does with the guard's output: whether httparse refuses the first head.
    fn refused(out: &[u8]) -> bool {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        httparse::Request::new(&mut headers).parse(out).is_err()
    }

    #[test]
    fn heads_ended_by_bare_line_feeds_are_checked_too() {
        // httparse (and so hyper) ends lines and heads at a bare LF: a guard
        // waiting for CRLF CRLF let these through to be repaired.
        for head in [
            &b"POST / HTTP/1.1\nHost: a\nContent-Length: 4\nTransfer-Encoding: chunked\n\n"[..],
            b"POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nContent-Length: 4\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\nTransfer-Encoding: chunked\r\n\n",
            b"\n\r\n\nPOST / HTTP/1.1\nContent-Length: 4\nTransfer-Encoding: chunked\n\n",
        ] {
            for cut in 1..head.len() {
                let (out, state) = run(&[&head[..cut], &head[cut..], b"0\r\n\r\n"]);
                assert_eq!(state, State::Through, "{:?} cut at {cut}", String::from_utf8_lossy(head));
                let start = out.iter().position(|&b| b != b'\r' && b != b'\n').unwrap();
                assert!(refused(&out[start..]), "{:?} cut at {cut}: hyper must refuse it", String::from_utf8_lossy(head));
            }
        }
        // A body framed by a bare-LF head is followed, and the next head checked.
        let reqs: &[u8] = b"POST / HTTP/1.1\nContent-Length: 3\n\nabcGET / HTTP/1.1\nContent-Length: 1\nTransfer-Encoding: chunked\n\n";
        let (out, state) = run(&[reqs]);
        assert_eq!(state, State::Through);
        assert_eq!(out[..out.len() - 1], reqs[..reqs.len() - 1]);
        assert_eq!(out[out.len() - 1], 0, "the second head is broken");
    }

    #[test]
    fn content_length_twice_is_refused_as_nginx_refuses_it() {
        for head in [
            &b"POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\ncontent-length: 4\r\nHost: a\r\nCONTENT-LENGTH: 5\r\n\r\n",
        ] {
            let (out, state) = run(&[head, b"abcd"]);
            assert_eq!(state, State::Through);
            assert!(refused(&out));
        }
    }

    #[test]
    fn the_shortcut_for_heads_without_framing_agrees_with_a_full_parse() {
        fn parsed(unit: &[u8]) -> (State, bool) {
            let mut headers = [httparse::EMPTY_HEADER; 128];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(unit) {
                Ok(httparse::Status::Complete(_)) => {}
                _ => return (State::Through, false),
            }
            let has = |n: &str| req.headers.iter().any(|h| h.name.eq_ignore_ascii_case(n));
            assert!(!has("content-length") && !has("transfer-encoding") && !has("upgrade") && req.method != Some("CONNECT"));
            (State::Head, false)
        }
        for unit in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"GET /x HTTP/1.1\r\nHost: a\r\nCookie: content-length: 5\r\nUser-Agent: upgrade\r\n\r\n",
            b"GET / HTTP/1.1\nConnection: keep-alive\nContent-Type: text/plain\n\n",
            b"HEAD / HTTP/1.0\r\n\r\n",
        ] {
            assert!(!frames_or_upgrades(unit), "{:?}", String::from_utf8_lossy(unit));
            assert_eq!(head(unit), parsed(unit));
        }
        for unit in [
            &b"GET / HTTP/1.1\r\nupgrade: websocket\r\n\r\n"[..],
            b"CONNECT a:443 HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n",
            b"POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n\r\n",
        ] {
            assert!(frames_or_upgrades(unit), "{:?} takes the full parse", String::from_utf8_lossy(unit));
        }
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
