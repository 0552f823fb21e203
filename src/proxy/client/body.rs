//! An answer's body, decoded from the upstream connection as the client
//! takes it.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hyper::StatusCode;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::net::TcpStream;

use crate::proxy::http::BoxError;

use bytes::Buf;

use super::head::answer_head;
use super::*;
use crate::proxy::http1::ChunkedStep;

/// The most read from an upstream at once for a body.
const BODY_READ: usize = 64 * 1024;

pub(super) struct Conn {
    pub(super) addr: SocketAddr,
    pub(super) stream: TcpStream,
    pub(super) buf: BytesMut,
    pub(super) life: Life,
    pub(super) reusable: bool,
}

/// What the decoder made of the bytes read so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    Data(Bytes),
    /// More bytes are needed; at least this many would help.
    More(u64),
    End,
    Invalid(&'static str),
}

/// An answer body's framing as a state machine over the bytes read so far,
/// apart from any I/O: data comes out as frames sharing the read buffer.
#[derive(Debug)]
pub struct Decoder {
    pub(super) framing: Framing,
}

impl Decoder {
    /// The next piece of the body out of `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Decoded {
        match &mut self.framing {
            Framing::Done => Decoded::End,
            Framing::Length(left) if buf.is_empty() => Decoded::More(*left),
            Framing::Length(left) => {
                let data = take(buf, *left);
                *left -= data.len() as u64;
                if *left == 0 {
                    self.framing = Framing::Done;
                }
                Decoded::Data(data)
            }
            Framing::Close if buf.is_empty() => Decoded::More(BODY_READ as u64),
            Framing::Close => Decoded::Data(buf.split().freeze()),
            // The grammar the client side reads request bodies by: nginx
            // parses upstream chunks with the same code.
            Framing::Chunked(chunks) => loop {
                let (used, step) = chunks.step(buf);
                buf.advance(used);
                match step {
                    ChunkedStep::Data(n) => return Decoded::Data(buf.split_to(n).freeze()),
                    ChunkedStep::Size(_) => {}
                    ChunkedStep::More => return Decoded::More(chunks.data_left().max(1)),
                    ChunkedStep::End => {
                        // Trailers are not passed on, as nginx does not.
                        self.framing = Framing::Done;
                        return Decoded::End;
                    }
                    ChunkedStep::Invalid => return Decoded::Invalid("invalid chunked response"),
                }
            },
        }
    }

    /// The upstream closed the connection: the end only of a body that runs to the close.
    pub fn closed(&mut self) -> Decoded {
        match std::mem::replace(&mut self.framing, Framing::Done) {
            Framing::Close | Framing::Done => Decoded::End,
            _ => Decoded::Invalid("prematurely closed connection"),
        }
    }

    pub fn done(&self) -> bool {
        matches!(self.framing, Framing::Done)
    }
}

/// Up to `n` bytes from the front of `buf`, as a shared frame.
pub(super) fn take(buf: &mut BytesMut, n: u64) -> Bytes {
    let n = usize::try_from(n).map_or(buf.len(), |n| n.min(buf.len()));
    buf.split_to(n).freeze()
}

/// An answer's body, read from the upstream connection as the client takes
/// it; the connection goes back to the pool when the body is whole, and is
/// closed if the body is dropped before.
pub struct UpstreamBody {
    pub(super) conn: Option<Conn>,
    pub(super) decoder: Decoder,
    pub(super) read_timeout: Duration,
    pub(super) sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The failure, held back one poll (see `fail`).
    pub(super) failed: Option<Box<str>>,
    pub(super) traffic: Option<std::sync::Arc<super::Traffic>>,
}

impl UpstreamBody {
    /// The body was read whole: its end is timed, its connection kept.
    pub(super) fn finish(&mut self) {
        if let Some(t) = &self.traffic {
            t.ends();
        }
        self.release();
    }

    /// The connection back to the pool, when it may go on. An answer with
    /// no body is released at once, but its end is timed as nginx times
    /// it: once its head has gone out (see `log::LoggedBody`).
    pub(super) fn release(&mut self) {
        if let Some(c) = self.conn.take()
            && c.reusable
            && c.buf.is_empty()
        {
            checkin(c.addr, c.stream, c.life);
        }
    }

    /// hyper drops what it has buffered when a body fails, often the head
    /// and the data that came with it. nginx has sent those before it closes,
    /// so the error waits one poll: hyper flushes on Pending, then sees it.
    pub(super) fn fail(
        &mut self,
        cx: &mut Context<'_>,
        why: &str,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.conn = None;
        self.decoder.framing = Framing::Done;
        self.failed = Some(format!("upstream {why} while reading upstream").into());
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl HttpBody for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(why) = this.failed.take() {
            return Poll::Ready(Some(Err(String::from(why).into())));
        }
        loop {
            let Some(c) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            let want = match this.decoder.decode(&mut c.buf) {
                Decoded::Data(data) => {
                    if this.decoder.done() {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Decoded::End => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Decoded::Invalid(why) => return this.fail(cx, &format!("sent {why}")),
                Decoded::More(want) => want,
            };
            c.buf.reserve(usize::try_from(want).map_or(BODY_READ, |w| w.clamp(4096, BODY_READ)));
            match tokio_util::io::poll_read_buf(Pin::new(&mut c.stream), cx, &mut c.buf) {
                Poll::Pending => {
                    // proxy_read_timeout: the time allowed between two reads.
                    let limit = this.read_timeout;
                    let sleep =
                        this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                    if sleep.as_mut().poll(cx).is_ready() {
                        return this.fail(cx, "timed out (110: Connection timed out)");
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Ok(0)) => match this.decoder.closed() {
                    Decoded::End => {
                        // Read to the close: the connection is not kept.
                        this.finish();
                        return Poll::Ready(None);
                    }
                    _ => return this.fail(cx, "prematurely closed connection"),
                },
                Poll::Ready(Ok(n)) => {
                    this.sleep = None;
                    if let Some(t) = &this.traffic {
                        t.add_received(n);
                    }
                }
                Poll::Ready(Err(e)) => {
                    return this.fail(cx, &format!("recv() failed ({})", os_error(&e)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed.is_none() && (self.conn.is_none() || self.decoder.done())
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder.framing {
            Framing::Length(n) => SizeHint::with_exact(n),
            Framing::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// Decodes a whole answer from bytes as they might arrive, split at `cuts`:
/// its status, and its body or why it is refused. For the fuzz target.
pub fn decode_answer(data: &[u8], cuts: &[usize]) -> Result<(StatusCode, Vec<u8>), &'static str> {
    let mut pending = BytesMut::new();
    let mut pieces = Vec::new();
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let c = c.clamp(at, data.len());
        pieces.push(&data[at..c]);
        at = c;
    }
    let mut pieces = pieces.into_iter();
    let head = loop {
        if let Some(head) =
            answer_head(&mut pending, &|_| true, false).map_err(|_| "invalid head")?
        {
            break head;
        }
        match pieces.next() {
            Some(p) => pending.extend_from_slice(p),
            None => return Err("no whole head"),
        }
    };
    let mut decoder = Decoder { framing: head.framing };
    let mut body = Vec::new();
    loop {
        match decoder.decode(&mut pending) {
            Decoded::Data(d) => body.extend_from_slice(&d),
            Decoded::End => return Ok((head.status, body)),
            Decoded::Invalid(why) => return Err(why),
            Decoded::More(_) => match pieces.next() {
                Some(p) => pending.extend_from_slice(p),
                None => {
                    return match decoder.closed() {
                        Decoded::End => Ok((head.status, body)),
                        _ => Err("cut short"),
                    };
                }
            },
        }
    }
}
