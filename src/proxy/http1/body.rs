//! A client's request body, read from its connection as the handler asks
//! for it, and held to nginx's limits while it is read: the declared length
//! or the chunked framing, `client_max_body_size` (a chunk that would pass
//! it is refused when its size is read, before its data), and
//! `client_body_timeout` between two reads. The connection takes its read
//! side back when the answer has been sent.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::AsyncRead;

use super::chunked::{Decoder, Step};
use super::request::Framing;

/// Why a request body could not be read: each is answered as nginx answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("client intended to send too large body")]
    TooLarge,
    #[error("client sent invalid chunked body")]
    Invalid,
    #[error("client prematurely closed connection")]
    Closed,
    #[error("client timed out")]
    TimedOut,
    #[error("the request body was already taken back by its connection")]
    Gone,
}

impl BodyError {
    /// The status nginx answers with.
    pub fn status(self) -> u16 {
        match self {
            BodyError::TooLarge => 413,
            BodyError::TimedOut => 408,
            _ => 400,
        }
    }
}

/// The read side of a connection: the socket and what was read past the
/// last head.
pub(crate) struct Reader<R> {
    pub io: R,
    pub buf: BytesMut,
}

/// What the body and its connection share.
pub(crate) struct Shared<R> {
    pub reader: Option<Reader<R>>,
    pub left: Left,
    /// The first read asks the connection to send `100 Continue`.
    pub want_continue: bool,
    /// The first read happened and asked for it.
    pub continue_wanted: bool,
    pub continue_asked: Arc<tokio::sync::Notify>,
}

impl<R> Shared<R> {
    /// Whether a `100 Continue` was asked for with this notice (and not sent yet).
    pub(crate) fn continue_sent_for(&mut self, notice: &Arc<tokio::sync::Notify>) -> bool {
        Arc::ptr_eq(notice, &self.continue_asked) && std::mem::take(&mut self.continue_wanted)
    }
}

/// What is left of the body to read.
pub(crate) enum Left {
    Length(u64),
    /// Until the stream ends: an HTTP/2 body sent without a length.
    ToEnd,
    Chunked(Decoder),
    Done,
    Failed(BodyError),
}

impl Left {
    pub(crate) fn of(f: Framing) -> Left {
        match f {
            Framing::None | Framing::Length(0) => Left::Done,
            Framing::Length(n) => Left::Length(n),
            Framing::Chunked => Left::Chunked(Decoder::default()),
        }
    }
}

/// The body of one request, for its handler.
pub struct RequestBody<R> {
    shared: Option<Arc<Mutex<Shared<R>>>>,
    limit: u64,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Body bytes read so far (for limits and `$request_length`).
    read: Arc<AtomicU64>,
    length: Option<u64>,
}

impl<R> RequestBody<R> {
    pub(crate) fn new(shared: Option<Arc<Mutex<Shared<R>>>>, framing: Framing) -> Self {
        let length = match framing {
            Framing::None => Some(0),
            Framing::Length(n) => Some(n),
            Framing::Chunked => None,
        };
        RequestBody {
            shared,
            limit: 0,
            timeout: Duration::from_secs(60),
            sleep: None,
            read: Arc::default(),
            length,
        }
    }

    /// A body with nothing in it.
    pub fn empty() -> Self {
        RequestBody::new(None, Framing::None)
    }

    /// A body read from a stream of its own (an HTTP/2 stream's data): its
    /// declared length, or to the stream's end without one.
    pub fn streamed(io: R, length: Option<u64>) -> Self {
        let framing = length.map_or(Framing::Chunked, Framing::Length);
        let left = match length {
            Some(n) => Left::of(Framing::Length(n)),
            None => Left::ToEnd,
        };
        let shared = Shared {
            reader: Some(Reader { io, buf: BytesMut::new() }),
            left,
            want_continue: false,
            continue_wanted: false,
            continue_asked: Arc::new(tokio::sync::Notify::new()),
        };
        RequestBody::new(Some(Arc::new(Mutex::new(shared))), framing)
    }

    /// The location's `client_max_body_size` (0: none) and `client_body_timeout`.
    pub fn set_limits(&mut self, max_size: u64, timeout: Duration) {
        self.limit = max_size;
        self.timeout = timeout;
    }

    /// The count of body bytes read, shared with whoever logs the request.
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.read.clone()
    }

    /// The length the client declared; `None` for a chunked body.
    pub fn declared(&self) -> Option<u64> {
        self.length
    }
}

impl<R: AsyncRead + Unpin> HttpBody for RequestBody<R> {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        let Some(shared) = &this.shared else { return Poll::Ready(None) };
        let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
        let st = &mut *st;
        // Reading the body is what sends `100 Continue`, as in nginx.
        if std::mem::take(&mut st.want_continue) {
            st.continue_wanted = true;
            st.continue_asked.notify_one();
        }
        loop {
            let Some(reader) = st.reader.as_mut() else {
                return Poll::Ready(match st.left {
                    Left::Done => None,
                    _ => Some(Err(BodyError::Gone)),
                });
            };
            // What the buffer holds of the body.
            match &mut st.left {
                Left::Done => return Poll::Ready(None),
                Left::Failed(e) => return Poll::Ready(Some(Err(*e))),
                Left::Length(n) if !reader.buf.is_empty() => {
                    let take =
                        usize::try_from(*n).map_or(reader.buf.len(), |n| n.min(reader.buf.len()));
                    *n -= take as u64;
                    if *n == 0 {
                        st.left = Left::Done;
                    }
                    let data = reader.buf.split_to(take).freeze();
                    return Poll::Ready(Some(this.counted(data, &mut st.left).map(Frame::data)));
                }
                Left::Length(_) => {}
                Left::ToEnd if !reader.buf.is_empty() => {
                    let data = reader.buf.split().freeze();
                    return Poll::Ready(Some(this.counted(data, &mut st.left).map(Frame::data)));
                }
                Left::ToEnd => {}
                Left::Chunked(d) => {
                    let (used, step) = d.step(&reader.buf);
                    reader.buf.advance(used);
                    match step {
                        Step::Data(n) => {
                            let data = reader.buf.split_to(n).freeze();
                            return Poll::Ready(Some(
                                this.counted(data, &mut st.left).map(Frame::data),
                            ));
                        }
                        Step::Size(n) => {
                            let seen = this.read.load(Ordering::Relaxed);
                            if this.limit > 0 && seen.saturating_add(n) > this.limit {
                                st.left = Left::Failed(BodyError::TooLarge);
                            }
                            continue;
                        }
                        Step::End => {
                            st.left = Left::Done;
                            return Poll::Ready(None);
                        }
                        Step::Invalid => {
                            st.left = Left::Failed(BodyError::Invalid);
                            continue;
                        }
                        Step::More => {}
                    }
                }
            }
            // More bytes from the client, within client_body_timeout.
            reader.buf.reserve(16 * 1024);
            match tokio_util::io::poll_read_buf(Pin::new(&mut reader.io), cx, &mut reader.buf) {
                Poll::Ready(Ok(0)) if matches!(st.left, Left::ToEnd) => {
                    st.left = Left::Done;
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(0)) => {
                    st.left = Left::Failed(BodyError::Closed);
                }
                Poll::Ready(Ok(_)) => this.sleep = None,
                Poll::Ready(Err(_)) => st.left = Left::Failed(BodyError::Closed),
                Poll::Pending => {
                    let timeout = this.timeout;
                    let sleep =
                        this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                    if sleep.as_mut().poll(cx).is_ready() {
                        st.left = Left::Failed(BodyError::TimedOut);
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.shared {
            None => true,
            Some(s) => matches!(s.lock().unwrap_or_else(|e| e.into_inner()).left, Left::Done),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.length {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

impl<R> RequestBody<R> {
    /// Reads and drops what of the body has arrived already, without waiting
    /// for more, as nginx does before it answers with a file or a `return`:
    /// a body already broken (a bad chunk) turns the answer into a 400.
    /// The rest is dropped by the connection after the answer.
    pub fn discard_arrived(&mut self) -> Result<(), BodyError> {
        let Some(shared) = &self.shared else { return Ok(()) };
        let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
        let st = &mut *st;
        // nginx's discard tests Expect too: `100 Continue` goes first.
        if std::mem::take(&mut st.want_continue) {
            st.continue_wanted = true;
            st.continue_asked.notify_one();
        }
        let Some(reader) = st.reader.as_mut() else { return Ok(()) };
        loop {
            match &mut st.left {
                Left::Done => return Ok(()),
                Left::Failed(e) => return Err(*e),
                Left::Length(n) => {
                    let take =
                        usize::try_from(*n).map_or(reader.buf.len(), |n| n.min(reader.buf.len()));
                    reader.buf.advance(take);
                    *n -= take as u64;
                    if *n == 0 {
                        st.left = Left::Done;
                    }
                    return Ok(());
                }
                Left::ToEnd => {
                    reader.buf.clear();
                    return Ok(());
                }
                Left::Chunked(d) => {
                    let (used, step) = d.step(&reader.buf);
                    reader.buf.advance(used);
                    match step {
                        Step::Data(n) => reader.buf.advance(n),
                        Step::Size(_) => {}
                        Step::End => st.left = Left::Done,
                        Step::Invalid => st.left = Left::Failed(BodyError::Invalid),
                        Step::More => return Ok(()),
                    }
                }
            }
        }
    }

    /// Counts data read and holds it to the limit (a declared length over
    /// the limit is refused before the body is read, by the handler).
    fn counted(&self, data: Bytes, left: &mut Left) -> Result<Bytes, BodyError> {
        let n = data.len() as u64;
        let seen = self.read.fetch_add(n, Ordering::Relaxed) + n;
        if self.limit > 0 && seen > self.limit {
            *left = Left::Failed(BodyError::TooLarge);
            return Err(BodyError::TooLarge);
        }
        Ok(data)
    }
}
