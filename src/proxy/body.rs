//! A client's request body read whole before the upstream is contacted, as
//! nginx does with `proxy_request_buffering on` (its default): a body that
//! breaks a limit or the framing is refused before any byte of it reaches
//! an upstream, and a body in hand can be sent again to the next server.
//! Small bodies stay in memory; larger ones go to an unlinked file.

use std::io::{Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use super::http::{Body, BoxError};
use super::http1::{BodyError, ClientBody};

/// Bodies up to this size are kept in memory.
const IN_MEMORY: u64 = 1 << 20;
/// What is read from a spilled body at a time.
const FILE_CHUNK: usize = 64 * 1024;

/// A request body read whole.
#[derive(Debug)]
pub struct Buffered {
    memory: Vec<Bytes>,
    file: Option<std::sync::Mutex<std::fs::File>>,
    len: u64,
}

impl Buffered {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the whole body; the error carries the status nginx answers.
    pub async fn read(mut body: ClientBody) -> Result<Buffered, BodyError> {
        let mut out = Buffered { memory: Vec::new(), file: None, len: 0 };
        let mut file: Option<std::fs::File> = None;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else { continue };
            out.len += data.len() as u64;
            match &mut file {
                Some(f) => f.write_all(&data).map_err(|_| BodyError::Closed)?,
                None if out.len > IN_MEMORY => {
                    let mut f = tempfile::tempfile().map_err(|_| BodyError::Closed)?;
                    for part in std::mem::take(&mut out.memory) {
                        f.write_all(&part).map_err(|_| BodyError::Closed)?;
                    }
                    f.write_all(&data).map_err(|_| BodyError::Closed)?;
                    file = Some(f);
                }
                None => out.memory.push(data),
            }
        }
        out.file = file.map(std::sync::Mutex::new);
        Ok(out)
    }

    /// The body, when it was kept in memory (`$request_body`).
    pub fn in_memory(&self) -> Option<Bytes> {
        match self.memory.as_slice() {
            _ if self.file.is_some() => None,
            [one] => Some(one.clone()),
            parts => Some(parts.concat().into()),
        }
    }

    /// The body to send, from its start (for each try at an upstream).
    pub fn body(self: &Arc<Self>) -> Body {
        Replay { from: self.clone(), part: 0, offset: 0 }.boxed()
    }
}

struct Replay {
    from: Arc<Buffered>,
    /// The next part in memory, then the offset in the file.
    part: usize,
    offset: u64,
}

impl HttpBody for Replay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(part) = self.from.memory.get(self.part) {
            let part = part.clone();
            self.part += 1;
            return Poll::Ready(Some(Ok(Frame::data(part))));
        }
        let from = self.from.clone();
        let Some(file) = &from.file else { return Poll::Ready(None) };
        // A local file read in pieces of 64 KiB: short enough not to stall the worker.
        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
        let mut buf = vec![0u8; FILE_CHUNK];
        let n = f.seek(SeekFrom::Start(self.offset)).and_then(|_| f.read(&mut buf));
        match n {
            Ok(0) => Poll::Ready(None),
            Ok(n) => {
                buf.truncate(n);
                self.offset += n as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
            }
            Err(e) => Poll::Ready(Some(Err(Box::new(e)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.from.len == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.from.len)
    }
}

/// A body that keeps `held` (limit_conn counts) until it is dropped, which
/// is once it has been sent or the client is gone.
pub fn holding(body: super::http::Body, held: Vec<super::limit_conn::Held>) -> super::http::Body {
    use http_body_util::BodyExt;
    Holding { inner: body, _held: held }.boxed()
}

struct Holding {
    inner: super::http::Body,
    _held: Vec<super::limit_conn::Held>,
}

impl hyper::body::Body for Holding {
    type Data = bytes::Bytes;
    type Error = super::http::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
