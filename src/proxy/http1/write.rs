//! Writing an answer as nginx writes it: `HTTP/1.1` and nginx's reason
//! phrases (`405 Not Allowed`, `302 Moved Temporarily`), an upstream's own
//! reason passed on, `Connection: keep-alive` or `close`, the body framed by
//! its length, in chunks, or by the close; the head and the first data in
//! one write.

use std::io::IoSlice;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use hyper::header::{self, HeaderMap};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::sink::Sink;
use crate::proxy::http::{Body, FileBody};

/// An upstream's reason phrase, passed on with its status as nginx passes
/// on the status line it got.
#[derive(Debug, Clone)]
pub struct Reason(pub Bytes);

/// How the connection goes on after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum After {
    KeepAlive,
    Close,
}

/// What the writer needs to know of the request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asked {
    pub head: bool,
    pub http11: bool,
    /// The connection may stay open after this answer.
    pub keep_alive: bool,
    /// `chunked_transfer_encoding` of the location that answered.
    pub chunked: bool,
    /// An HTTP/0.9 request: the body alone, no head.
    pub http09: bool,
}

/// Headers the writer sets itself: framing and the connection's fate.
fn is_framing(name: &header::HeaderName) -> bool {
    name == header::CONNECTION || name == header::TRANSFER_ENCODING || name == "keep-alive"
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// nginx writes header names as the module that set them spelled them; the
/// names here are lowercase, so the usual ones are given their usual case.
fn canonical(name: &str, out: &mut Vec<u8>) {
    // The usual names as nginx spells them (`ETag`, `WWW-Authenticate` are
    // no capitalized words): one match instead of a pass over the bytes.
    let usual: &[u8] = match name {
        "server" => b"Server",
        "date" => b"Date",
        "content-type" => b"Content-Type",
        "content-length" => b"Content-Length",
        "last-modified" => b"Last-Modified",
        "etag" => b"ETag",
        "accept-ranges" => b"Accept-Ranges",
        "location" => b"Location",
        "www-authenticate" => b"WWW-Authenticate",
        "cache-control" => b"Cache-Control",
        "expires" => b"Expires",
        "vary" => b"Vary",
        "content-encoding" => b"Content-Encoding",
        _ => b"",
    };
    if !usual.is_empty() {
        out.extend_from_slice(usual);
        return;
    }
    let at = out.len();
    out.extend_from_slice(name.as_bytes());
    let mut upper = true;
    for b in &mut out[at..] {
        if upper {
            b.make_ascii_uppercase();
        }
        upper = *b == b'-';
    }
}

/// The head of an answer; returns it with how the body is framed and
/// whether the connection stays open.
fn head(resp: &Response<Body>, asked: Asked, out: &mut Vec<u8>) -> (Frame, After) {
    let status = resp.status();
    let code = status.as_u16();
    let no_body = asked.head || status.is_informational() || code == 204 || code == 304;
    let headers: &HeaderMap = resp.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let exact = if declared.is_none() && !no_body {
        hyper::body::Body::size_hint(resp.body()).exact()
    } else {
        None
    };
    let mut keep = asked.keep_alive && code != 101;
    let frame = if no_body {
        Frame::None
    } else if let Some(n) = declared.or(exact) {
        Frame::Length(n)
    } else if asked.http11 && asked.chunked {
        Frame::Chunked
    } else {
        keep = false;
        Frame::Close
    };
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(itoa::Buffer::new().format(code).as_bytes());
    out.push(b' ');
    match resp.extensions().get::<Reason>() {
        Some(Reason(r)) => out.extend_from_slice(r),
        None => out.extend_from_slice(crate::proxy::http::reason(code).unwrap_or("").as_bytes()),
    }
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if is_framing(name) && code != 101 {
            continue;
        }
        canonical(name.as_str(), out);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let (Some(n), None) = (exact, declared) {
        push_header(out, b"Content-Length", itoa::Buffer::new().format(n).as_bytes());
    }
    if frame == Frame::Chunked {
        push_header(out, b"Transfer-Encoding", b"chunked");
    }
    if code != 101 {
        push_header(out, b"Connection", if keep { b"keep-alive" } else { b"close" });
    }
    out.extend_from_slice(b"\r\n");
    (frame, if keep { After::KeepAlive } else { After::Close })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    None,
    Length(u64),
    Chunked,
    Close,
}

/// Writes an answer: its head (in `scratch`, reused between answers) and
/// its body. An error means the connection must close: the body failed
/// (an upstream that broke off) or the client is gone.
pub(super) async fn answer<W: Sink + ?Sized>(
    io: &mut W,
    mut resp: Response<Body>,
    asked: Asked,
    scratch: &mut Vec<u8>,
) -> std::io::Result<After> {
    scratch.clear();
    let (frame, mut after) = head(&resp, asked, scratch);
    if asked.http09 {
        scratch.clear();
    }
    if frame == Frame::None {
        io.write_all(scratch).await?;
        // A body that would not be sent is dropped unread.
        return Ok(after);
    }
    let mut first = true;
    if let Frame::Length(n) = frame
        && !asked.http09
        && let Some(file) = sendable(io, &resp, n)
    {
        if send_file(io, scratch, file).await? {
            return Ok(after);
        }
        // The head went; the body follows it from memory.
        first = false;
    }
    let body = resp.body_mut();
    let mut sent: u64 = 0;
    let mut size = Vec::with_capacity(18);
    loop {
        let Some(frame_data) = body.frame().await else { break };
        let data = match frame_data {
            Ok(f) => match f.into_data() {
                Ok(d) if !d.is_empty() => d,
                _ => continue,
            },
            Err(e) => {
                // The head and the data so far are the client's; then the close.
                if first {
                    io.write_all(scratch).await?;
                }
                return Err(std::io::Error::other(e.to_string()));
            }
        };
        if let Frame::Length(n) = frame
            && sent + data.len() as u64 > n
        {
            // More than declared: what fits goes, then the connection ends.
            let fits = data.slice(..usize::try_from(n - sent).unwrap_or(usize::MAX));
            write_parts(io, &[if first { scratch } else { &[] }, &fits]).await?;
            return Ok(After::Close);
        }
        sent += data.len() as u64;
        let head: &[u8] = if first { scratch } else { &[] };
        if frame == Frame::Chunked {
            super::chunked::size_line(data.len(), &mut size);
            write_parts(io, &[head, &size, &data, b"\r\n"]).await?;
        } else {
            write_parts(io, &[head, &data]).await?;
        }
        first = false;
    }
    let tail: &[u8] = if frame == Frame::Chunked { b"0\r\n\r\n" } else { b"" };
    write_parts(io, &[if first { scratch } else { &[] }, tail]).await?;
    if let Frame::Length(n) = frame
        && sent < n
    {
        // Fewer than declared: the client must not wait for the rest.
        after = After::Close;
    }
    Ok(after)
}

/// The answer's file, where it may be sent by sendfile(2): a plain socket,
/// and the file's bytes still what the body holds (no filter changed them).
fn sendable<'r, W: Sink + ?Sized>(
    io: &W,
    resp: &'r Response<Body>,
    len: u64,
) -> Option<&'r FileBody> {
    let f = resp.extensions().get::<FileBody>()?;
    let unchanged = hyper::body::Body::size_hint(resp.body()).exact() == Some(len);
    (io.can_send_files() && f.len == len && unchanged).then_some(f)
}

/// The head, then the file from the page cache; the body in memory is
/// dropped unread. False when the file's filesystem refused sendfile(2)
/// before its first byte: the head is out, and the body is to follow.
async fn send_file<W: Sink + ?Sized>(
    io: &mut W,
    mut head: &[u8],
    f: &FileBody,
) -> std::io::Result<bool> {
    use std::os::fd::AsFd;
    use std::sync::atomic::Ordering::Relaxed;
    f.sent.used.store(true, Relaxed);
    while !head.is_empty() {
        let n = std::future::poll_fn(|cx| io.poll_write_more(cx, head)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        head = &head[n..];
    }
    let mut sent = 0;
    while sent < f.len {
        let want = usize::try_from(f.len - sent).unwrap_or(usize::MAX);
        let at = f.offset + sent;
        let n = match std::future::poll_fn(|cx| io.poll_send_file(cx, f.file.as_fd(), at, want))
            .await
        {
            Ok(n) => n,
            Err(e) if sent == 0 && refused(&e) => {
                f.sent.used.store(false, Relaxed);
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            // Cut short since it was opened: the client must not wait for the rest.
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        sent += n as u64;
        f.sent.bytes.store(sent, Relaxed);
    }
    f.sent.whole.store(true, Relaxed);
    Ok(true)
}

/// sendfile(2) does not work on this file (EINVAL, ENOSYS, EOPNOTSUPP:
/// some FUSE and network filesystems).
fn refused(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported)
}

/// All of `parts`, in as few writes as the socket takes.
async fn write_parts<W: AsyncWrite + Unpin + ?Sized, const N: usize>(
    io: &mut W,
    parts: &[&[u8]; N],
) -> std::io::Result<()> {
    // On the stack: a Vec here was an allocation per answer.
    let mut all = [IoSlice::new(&[]); N];
    let mut used = 0;
    for p in parts.iter().filter(|p| !p.is_empty()) {
        all[used] = IoSlice::new(p);
        used += 1;
    }
    let mut slices = &mut all[..used];
    while !slices.is_empty() {
        let n = io.write_vectored(slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::http::full;

    fn written(resp: Response<Body>, asked: Asked) -> (String, After) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let mut out: Vec<u8> = Vec::new();
            let mut scratch = Vec::new();
            let after = answer(&mut out, resp, asked, &mut scratch).await.unwrap();
            (String::from_utf8(out).unwrap(), after)
        })
    }

    const ASKED: Asked =
        Asked { head: false, http11: true, keep_alive: true, chunked: true, http09: false };

    #[test]
    fn header_names_are_spelled_as_nginx_spells_them() {
        let mut r = Response::new(full(""));
        for name in ["etag", "www-authenticate", "content-type", "x-made-here"] {
            r.headers_mut().insert(
                header::HeaderName::from_static(name),
                header::HeaderValue::from_static("v"),
            );
        }
        let (text, _) = written(r, ASKED);
        assert!(
            text.contains(
                "\r\nETag: v\r\nWWW-Authenticate: v\r\nContent-Type: v\r\nX-Made-Here: v\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn reasons_framing_and_connection_as_nginx_writes_them() {
        let mut r = Response::new(full("no"));
        *r.status_mut() = hyper::StatusCode::METHOD_NOT_ALLOWED;
        let (text, after) = written(r, ASKED);
        assert_eq!(
            text,
            "HTTP/1.1 405 Not Allowed\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nno"
        );
        assert_eq!(after, After::KeepAlive);
        let mut r = Response::new(full(""));
        *r.status_mut() = hyper::StatusCode::from_u16(422).unwrap();
        r.extensions_mut().insert(Reason(Bytes::from_static(b"Nope")));
        assert!(written(r, ASKED).0.starts_with("HTTP/1.1 422 Nope\r\n"));
        let stream = futures::stream::iter([Ok::<_, crate::proxy::http::BoxError>(
            hyper::body::Frame::data(Bytes::from("abc")),
        )]);
        let r = Response::new(BodyExt::boxed(http_body_util::StreamBody::new(stream)));
        let (text, _) = written(r, ASKED);
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        );
        let stream = futures::stream::iter([Ok::<_, crate::proxy::http::BoxError>(
            hyper::body::Frame::data(Bytes::from("abc")),
        )]);
        let r = Response::new(BodyExt::boxed(http_body_util::StreamBody::new(stream)));
        let (text, after) = written(r, Asked { http11: false, ..ASKED });
        assert_eq!(
            (text.as_str(), after),
            ("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc", After::Close)
        );
        let (text, _) = written(Response::new(full("abc")), Asked { head: true, ..ASKED });
        assert_eq!(text, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n");
    }

    /// The body in memory says `m` and the file `f`: which one arrived
    /// tells which way the answer went.
    fn sent_over_tcp(resp: Response<Body>) -> (Vec<u8>, std::io::Result<After>) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let reading = tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
                let mut all = Vec::new();
                c.read_to_end(&mut all).await.unwrap();
                all
            });
            let (socket, _) = listener.accept().await.unwrap();
            let (_read, mut write) = socket.into_split();
            let mut scratch = Vec::new();
            let result = answer(&mut write, resp, ASKED, &mut scratch).await;
            drop(write);
            let all = reading.await.unwrap();
            let end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            (all[end..].to_vec(), result)
        })
    }

    fn file_answer(path: &std::path::Path, offset: u64, len: u64) -> (Response<Body>, FileBody) {
        let f = FileBody {
            file: std::sync::Arc::new(std::fs::File::open(path).unwrap()),
            offset,
            len,
            sent: Default::default(),
        };
        let mut r = Response::new(full(vec![b'm'; usize::try_from(len).unwrap()]));
        r.headers_mut().insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
        r.extensions_mut().insert(f.clone());
        (r, f)
    }

    #[test]
    fn a_file_answer_leaves_from_the_file_where_the_socket_and_body_allow() {
        use std::sync::atomic::Ordering::Relaxed;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let mut bytes = vec![b'f'; 3 << 20];
        bytes[0] = b'0';
        std::fs::write(&path, &bytes).unwrap();
        // Larger than the socket buffers: sendfile(2) waits for room.
        let (r, f) = file_answer(&path, 0, 3 << 20);
        assert!(sent_over_tcp(r).0 == bytes, "the whole file, from the file");
        assert_eq!((f.sent.bytes.load(Relaxed), f.sent.whole.load(Relaxed)), (3 << 20, true));
        let (r, f) = file_answer(&path, 1, 10);
        assert_eq!(sent_over_tcp(r).0, b"ffffffffff", "a range from its offset");
        assert!(f.sent.used.load(Relaxed));
        // Cut short since it was opened: what there is, then an error (the close).
        let short = dir.path().join("short.bin");
        std::fs::write(&short, vec![b's'; 100]).unwrap();
        let (r, f) = file_answer(&short, 0, 200);
        let (body, result) = sent_over_tcp(r);
        assert_eq!((body, result.is_err()), (vec![b's'; 100], true));
        assert_eq!((f.sent.bytes.load(Relaxed), f.sent.whole.load(Relaxed)), (100, false));
        // A body a filter changed (its length no longer known): the body.
        let (r, _) = file_answer(&path, 0, 100);
        let (parts, body) = r.into_parts();
        let stream = futures::stream::once(async move {
            body.collect().await.map(|c| hyper::body::Frame::data(c.to_bytes()))
        });
        let r =
            Response::from_parts(parts, BodyExt::boxed(http_body_util::StreamBody::new(stream)));
        assert_eq!(sent_over_tcp(r).0, vec![b'm'; 100]);
        // Not a socket: the body.
        let (r, f) = file_answer(&path, 0, 100);
        let (text, _) = written(r, ASKED);
        assert!(text.ends_with(&"m".repeat(100)));
        assert!(!f.sent.used.load(Relaxed));
        // A filesystem without sendfile(2): the head once, then the body.
        let (r, f) = file_answer(&path, 0, 100);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut out = NoSendfile(Vec::new());
        rt.block_on(answer(&mut out, r, ASKED, &mut Vec::new())).unwrap();
        let text = String::from_utf8(out.0).unwrap();
        assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 1, "{text}");
        assert!(text.ends_with(&format!("\r\n\r\n{}", "m".repeat(100))), "{text}");
        assert!(!f.sent.used.load(Relaxed), "the log counts the body");
    }

    /// A socket whose file's filesystem refuses sendfile(2).
    struct NoSendfile(Vec<u8>);

    impl AsyncWrite for NoSendfile {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.0.extend_from_slice(buf);
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    impl Sink for NoSendfile {
        fn can_send_files(&self) -> bool {
            true
        }
        fn poll_send_file(
            &mut self,
            _cx: &mut std::task::Context<'_>,
            _file: std::os::fd::BorrowedFd<'_>,
            _offset: u64,
            _len: usize,
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Err(std::io::Error::from_raw_os_error(22)))
        }
    }
}
