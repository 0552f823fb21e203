//! Static files: streamed from disk (small hot files cached in memory and
//! re-read when they change), with Content-Type, Last-Modified, ETag,
//! conditional requests, byte ranges (several as multipart/byteranges) and
//! HEAD. Nothing outside the root is ever served, symlinks included.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::TryStreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

use super::ranges::{Ranges, next_boundary, parse_ranges};

use super::http::{Body, full};

/// Files up to this size are kept in memory after the first read: every
/// request for them then shares one buffer, with no read and no copy.
const CACHE_MAX_FILE: u64 = 2 * 1024 * 1024;
const CACHE_MAX_ENTRIES: usize = 4096;
/// Bytes of file contents the cache may hold in all.
const CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;

use super::FastMap as Map;

#[derive(Default)]
struct Entries {
    /// Keyed by the path's bytes (a `Path` hashes component by component).
    files: Map<OsString, (SystemTime, u64, Bytes)>,
    bytes: u64,
}

/// How long an answer about the file system is kept even when no event says
/// it changed: the bound on changes the watches cannot see (see `watch`), and
/// without inotify the only bound.
const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// Answers kept while they are recent: made in the current watch generation
/// and less than `FRESH_FOR` ago.
struct Recent<K, V>(std::sync::RwLock<Map<K, Stamped<V>>>);

/// An answer, with the watch generation it was made in and when it expires.
struct Stamped<V> {
    value: V,
    generation: Option<u64>,
    expires: std::time::Instant,
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent(Default::default())
    }
}

impl<K: Eq + std::hash::Hash, V: Clone> Recent<K, V> {
    /// The answer kept for `key` if it is still good at `now` (the caller's
    /// clock reading: a request reads it once for all its lookups).
    fn get<Q: Eq + std::hash::Hash + ?Sized>(
        &self,
        key: &Q,
        generation: Option<u64>,
        now: std::time::Instant,
    ) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        let s = map.get(key)?;
        (s.generation == generation && now < s.expires).then(|| s.value.clone())
    }

    fn put(&self, key: K, v: V, generation: Option<u64>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CACHE_MAX_ENTRIES {
            map.clear();
        }
        let expires = std::time::Instant::now() + FRESH_FOR;
        map.insert(key, Stamped { value: v, generation, expires });
    }
}

#[derive(Default)]
pub struct Cache {
    entries: Mutex<Entries>,
    /// Path -> its real path (resolving links costs a system call per path component).
    real: Recent<OsString, PathBuf>,
    /// (root, path) -> what a lookup found.
    looked: Recent<Vec<u8>, Found>,
    watcher: super::watch::Watcher,
}

impl Cache {
    /// The real path (links resolved), from the cache while it is recent.
    fn real_path(&self, p: &Path, generation: Option<u64>) -> Option<PathBuf> {
        if let Some(real) = self.real.get(p.as_os_str(), generation, std::time::Instant::now()) {
            return Some(real);
        }
        let real = std::fs::canonicalize(p).ok()?;
        self.real.put(p.as_os_str().to_owned(), real.clone(), generation);
        Some(real)
    }

    fn get(&self, path: &Path, mtime: SystemTime, len: u64) -> Option<Bytes> {
        let e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        e.files
            .get(path.as_os_str())
            .filter(|(m, l, _)| *m == mtime && *l == len)
            .map(|(_, _, b)| b.clone())
    }

    fn put(&self, path: OsString, mtime: SystemTime, len: u64, data: Bytes) {
        let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if e.files.len() >= CACHE_MAX_ENTRIES || e.bytes + len > CACHE_MAX_BYTES {
            e.files.clear();
            e.bytes = 0;
        }
        e.bytes += len;
        if let Some((_, old, _)) = e.files.insert(path, (mtime, len, data)) {
            e.bytes -= old;
        }
    }
}

/// A file found, shared: lookups are answered from a cache, and a clone
/// is then a reference count, not a path and a `stat` copied.
#[derive(Debug)]
pub struct FileAt {
    pub path: PathBuf,
    pub meta: std::fs::Metadata,
}

/// What looking a path up on disk found.
#[derive(Clone)]
pub enum Found {
    File(Arc<FileAt>),
    Dir,
    /// Exists but may not be served (outside the root through a link, unreadable).
    Forbidden,
    Missing,
}

/// The watch generation one request goes by, taken at its first lookup:
/// every change whose events were queued before then is in it. The three
/// lookups of `try_files $uri $uri/ /index.html` then cost one read of the
/// events, not three. A change made while the request is served may or may
/// not be seen by it, as with any server. The clock is read then too, once
/// for all of the request's lookups.
#[derive(Default)]
pub struct Seen(std::cell::OnceCell<Option<(u64, std::time::Instant)>>);

/// Looks `rel` (a normalized URI path) up under `root`, refusing anything
/// whose real path leaves the root. Answers are reused while no watched
/// directory on the way has changed (and for at most `FRESH_FOR`).
pub fn lookup(root: &Path, rel: &str, cache: &Cache, seen: &Seen) -> Found {
    use std::os::unix::ffi::OsStrExt;
    // The URI's bytes name the file, as in nginx (raw bytes come carried).
    let path = || {
        root.join(std::ffi::OsStr::from_bytes(&super::rawtext::to_bytes(
            rel.trim_start_matches('/'),
        )))
    };
    let seen =
        seen.0.get_or_init(|| cache.watcher.generation().map(|g| (g, std::time::Instant::now())));
    let Some((g, now)) = *seen else {
        return look(root, &path(), cache, None).0;
    };
    // The key is made in a buffer kept per thread: most lookups are hits.
    thread_local! {
        static KEY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let key = |k: &mut Vec<u8>| {
        k.clear();
        k.extend_from_slice(root.as_os_str().as_bytes());
        k.push(0);
        k.extend_from_slice(rel.as_bytes());
    };
    let hit = KEY.with(|k| {
        let mut k = k.borrow_mut();
        key(&mut k);
        cache.looked.get(k.as_slice(), Some(g), now)
    });
    if let Some(found) = hit {
        return found;
    }
    let path = path();
    // Watched before looking, so that a change made after the look is seen.
    let watched = cache.watcher.watch(&dirs_on_the_way(root, &path), g);
    let (found, real) = look(root, &path, cache, Some(g));
    // A link's target lives elsewhere: its directory is watched too.
    let keep = watched
        && match real.as_deref().filter(|r| *r != path).and_then(Path::parent) {
            Some(dir) => cache.watcher.watch(&[dir], g),
            None => true,
        };
    if keep {
        let mut k = Vec::new();
        key(&mut k);
        cache.looked.put(k, found.clone(), Some(g));
    }
    found
}

/// The root's parent (it sees the root replaced), the root, and every
/// directory from there down to `path`'s own.
fn dirs_on_the_way<'a>(root: &'a Path, path: &'a Path) -> Vec<&'a Path> {
    let mut dirs: Vec<&Path> =
        path.ancestors().skip(1).take_while(|d| d.starts_with(root)).collect();
    dirs.extend(root.parent());
    dirs.reverse();
    dirs
}

fn look(
    root: &Path,
    path: &Path,
    cache: &Cache,
    generation: Option<u64>,
) -> (Found, Option<PathBuf>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return (Found::Forbidden, None);
        }
        Err(_) => return (Found::Missing, None),
    };
    // Links may point anywhere: the real path must stay inside the real root.
    let (Some(real), Some(real_root)) =
        (cache.real_path(path, generation), cache.real_path(root, generation))
    else {
        return (Found::Missing, None);
    };
    if !real.starts_with(&real_root) {
        return (Found::Forbidden, Some(real));
    }
    let found = if meta.is_dir() {
        Found::Dir
    } else if meta.is_file() {
        Found::File(Arc::new(FileAt { path: path.to_path_buf(), meta }))
    } else {
        Found::Forbidden
    };
    (found, Some(real))
}

/// A file version's validators and length, and the headers made of them.
struct Version {
    tag: String,
    last_modified: String,
    len: u64,
    /// The headers of a whole answer of this version, for the content type
    /// it was first served as: cloned, they cost a fraction of five inserts.
    whole: std::sync::OnceLock<(String, HeaderMap)>,
}

impl Version {
    /// Content-Type, Last-Modified, ETag, Accept-Ranges and Content-Length
    /// of a whole answer.
    fn whole_headers(&self, content_type: &str) -> HeaderMap {
        if let Some((t, h)) = self.whole.get()
            && t == content_type
        {
            return h.clone();
        }
        // Room for Server and Date, added on the way out.
        let mut h = HeaderMap::with_capacity(8);
        for (name, value) in [
            (header::CONTENT_TYPE, content_type_value(content_type)),
            (header::LAST_MODIFIED, HeaderValue::from_str(&self.last_modified).ok()),
            (header::ETAG, HeaderValue::from_str(&self.tag).ok()),
            (header::ACCEPT_RANGES, Some(HeaderValue::from_static("bytes"))),
            (header::CONTENT_LENGTH, Some(HeaderValue::from(self.len))),
        ] {
            if let Some(value) = value {
                h.insert(name, value);
            }
        }
        let _ = self.whole.set((content_type.to_string(), h.clone()));
        h
    }
}

/// A few dozen answers kept per thread: a linear search of so few beats
/// hashing, and once full, entries are replaced in turn (a miss costs what
/// every answer cost before).
struct Memo<K, V> {
    slots: Vec<(K, V)>,
    next: usize,
}

impl<K, V: Clone> Memo<K, V> {
    const SLOTS: usize = 64;

    const fn new() -> Self {
        Memo { slots: Vec::new(), next: 0 }
    }

    fn get_or_make<Q: PartialEq + ?Sized>(&mut self, key: &Q, make: impl FnOnce() -> (K, V)) -> V
    where
        K: std::borrow::Borrow<Q>,
    {
        if let Some((_, v)) = self.slots.iter().find(|(k, _)| k.borrow() == key) {
            return v.clone();
        }
        let (k, v) = make();
        if self.slots.len() < Self::SLOTS {
            self.slots.push((k, v.clone()));
        } else {
            self.slots[self.next] = (k, v.clone());
            self.next = (self.next + 1) % Self::SLOTS;
        }
        v
    }
}

/// The validators of a file version (its mtime and length), made once per
/// version and thread: formatting them and copying each into a header cost
/// a small file's answer four allocations and some thousand instructions.
/// A clone of a header value shares its bytes.
fn version(mtime: SystemTime, len: u64) -> Arc<Version> {
    thread_local! {
        static MEMO: std::cell::RefCell<Memo<(SystemTime, u64), Arc<Version>>> = const { std::cell::RefCell::new(Memo::new()) };
    }
    MEMO.with(|m| {
        m.borrow_mut().get_or_make(&(mtime, len), || {
            let (tag, last_modified) = (etag(mtime, len), super::http::http_date(mtime));
            let v = Version { len, whole: std::sync::OnceLock::new(), tag, last_modified };
            ((mtime, len), Arc::new(v))
        })
    })
}

/// A Content-Type as a header value, made once per type and thread.
fn content_type_value(t: &str) -> Option<HeaderValue> {
    thread_local! {
        static TYPES: std::cell::RefCell<Memo<String, Option<HeaderValue>>> = const { std::cell::RefCell::new(Memo::new()) };
    }
    TYPES.with(|types| {
        types.borrow_mut().get_or_make(t, || (t.to_string(), HeaderValue::from_str(t).ok()))
    })
}

fn etag(mtime: SystemTime, len: u64) -> String {
    // Written by hand: formatting machinery took a tenth of a small file's answer.
    fn hex(mut n: u64, out: &mut String) {
        let mut buf = [0u8; 16];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b"0123456789abcdef"[(n & 15) as usize];
            n >>= 4;
            if n == 0 {
                break;
            }
        }
        out.extend(buf[i..].iter().map(|&b| b as char));
    }
    let secs = mtime.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let mut tag = String::with_capacity(24);
    tag.push('"');
    hex(secs, &mut tag);
    tag.push('-');
    hex(len, &mut tag);
    tag.push('"');
    tag
}

/// The request headers a file's answer depends on, each its first value.
#[derive(Default)]
struct Conditions<'a> {
    if_none_match: Option<&'a HeaderValue>,
    if_modified_since: Option<&'a HeaderValue>,
    if_range: Option<&'a HeaderValue>,
    range: Option<&'a HeaderValue>,
}

impl<'a> Conditions<'a> {
    /// One pass over the request's headers (most send none of these)
    /// instead of four lookups, each hashing its name.
    fn of(req: &'a HeaderMap) -> Conditions<'a> {
        let mut c = Conditions::default();
        for (name, value) in req {
            let slot = if name == header::IF_NONE_MATCH {
                &mut c.if_none_match
            } else if name == header::IF_MODIFIED_SINCE {
                &mut c.if_modified_since
            } else if name == header::IF_RANGE {
                &mut c.if_range
            } else if name == header::RANGE {
                &mut c.range
            } else {
                continue;
            };
            slot.get_or_insert(value);
        }
        c
    }
}

/// Answers a request for a file that exists.
#[expect(clippy::cast_possible_truncation, reason = "offsets into a file held in memory fit usize")]
pub async fn respond(
    path: &Path,
    meta: &std::fs::Metadata,
    content_type: &str,
    method: &Method,
    req: &HeaderMap,
    cache: &Cache,
    sendfile: bool,
) -> Response<Body> {
    let len = meta.len();
    let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
    let v = version(mtime, len);
    let (tag, last_modified) = (v.tag.as_str(), v.last_modified.as_str());
    let mut b = Head { status: StatusCode::OK, headers: v.whole_headers(content_type) };
    let asked = Conditions::of(req);
    let inm = asked.if_none_match.and_then(|v| v.to_str().ok());
    let ims = asked.if_modified_since.and_then(|v| v.to_str().ok());
    let not_modified = match inm {
        Some(list) => list.split(',').any(|t| {
            t.trim() == tag || t.trim() == "*" || t.trim().strip_prefix("W/") == Some(tag)
        }),
        None => ims == Some(last_modified),
    };
    if not_modified {
        // As nginx's not_modified filter: no type, length or ranges.
        super::not_modified::make_304(&mut b.headers);
        b.status = StatusCode::NOT_MODIFIED;
        return b.body(super::http::empty());
    }
    // If-Range: the ranges hold only for the version the client has (a
    // strong ETag or the exact Last-Modified), else the whole file.
    let if_range = asked.if_range.map(|v| v.to_str().unwrap_or(""));
    let current =
        if_range.is_none_or(|v| if v.starts_with('"') { v == tag } else { v == last_modified });
    let ranges = match asked.range.and_then(|v| v.to_str().ok()) {
        Some(r) if current => parse_ranges(r, len),
        _ => Ranges::Whole,
    };
    let (status, parts) = match ranges {
        Ranges::Unsatisfiable => {
            // nginx's own 416 page, without the file's headers.
            let mut resp = super::http::plain_status(StatusCode::RANGE_NOT_SATISFIABLE);
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes */{len}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return resp;
        }
        Ranges::Parts(parts) => {
            // As nginx: a partial answer does not advertise ranges again.
            b.headers.remove(header::ACCEPT_RANGES);
            (StatusCode::PARTIAL_CONTENT, parts)
        }
        Ranges::Whole => (StatusCode::OK, vec![(0, len)]),
    };
    if parts.len() > 1 {
        return multipart(b, path, content_type, len, mtime, &parts, method, cache).await;
    }
    let (start, end_excl) = parts[0];
    if status == StatusCode::PARTIAL_CONTENT {
        b.set(header::CONTENT_RANGE, &format!("bytes {start}-{}/{len}", end_excl - 1));
    }
    let end = end_excl.saturating_sub(1);
    let body_len = end_excl - start;
    b.status = status;
    if body_len != len {
        b.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    }
    if method == Method::HEAD || body_len == 0 {
        return b.body(super::http::empty());
    }
    if sendfile && body_len >= SENDFILE_MIN {
        return match open_part(path, start, body_len) {
            Ok(part) => {
                let file = part.file.clone();
                let mut resp = b.body(part.boxed());
                resp.extensions_mut().insert(super::http::FileBody {
                    file,
                    offset: start,
                    len: body_len,
                    sent: Default::default(),
                });
                resp
            }
            Err(status) => super::http::plain_status(status),
        };
    }
    if len <= CACHE_MAX_FILE {
        let Some(data) = contents(path, mtime, len, cache).await else {
            return super::http::plain_status(StatusCode::INTERNAL_SERVER_ERROR);
        };
        return b.body(full(data.slice(start as usize..=end as usize)));
    }
    // Large files: streamed in chunks, never read whole.
    match open_part(path, start, body_len) {
        Ok(part) => b.body(streamed([Segment::File(part)].into())),
        Err(status) => super::http::plain_status(status),
    }
}

/// From this size on, `sendfile on` sends a file from the page cache: below
/// it, opening the file costs more than copying the bytes held in memory.
/// Such files are not kept in memory either: a plain socket never needs
/// their bytes there.
const SENDFILE_MIN: u64 = 64 * 1024;

/// A file's bytes from `offset`, read as they are asked for: a part of a
/// multipart answer, a file too large to keep in memory, and the body of a
/// `sendfile on` answer where sendfile(2) cannot go (TLS, HTTP/2, a filter
/// over it). Its exact length is what tells the writer no filter changed it.
struct FileStream {
    file: Arc<std::fs::File>,
    offset: u64,
    left: u64,
}

impl FileStream {
    /// The next chunk, read in the event loop: from the page cache that is
    /// faster than handing each chunk to a blocking thread (and a thread
    /// per request). Empty at the file's end or the part's.
    #[expect(clippy::cast_possible_truncation, reason = "a chunk is CHUNK bytes at most")]
    fn next_chunk(&mut self) -> std::io::Result<Bytes> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; self.left.min(CHUNK as u64) as usize];
        let n = if buf.is_empty() { 0 } else { self.file.read_at(&mut buf, self.offset)? };
        buf.truncate(n);
        self.offset += n as u64;
        self.left -= n as u64;
        Ok(Bytes::from(buf))
    }
}

impl hyper::body::Body for FileStream {
    type Data = Bytes;
    type Error = super::http::BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return std::task::Poll::Ready(None);
        }
        let r = match this.next_chunk() {
            Ok(b) if b.is_empty() => Err("the file is shorter than when it was opened".into()),
            Ok(b) => Ok(Frame::data(b)),
            Err(e) => Err(Box::new(e) as super::http::BoxError),
        };
        std::task::Poll::Ready(Some(r))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.left)
    }
}

/// A small file's bytes, from the cache or read (and kept) now; `None`
/// when it cannot be read whole.
async fn contents(path: &Path, mtime: SystemTime, len: u64, cache: &Cache) -> Option<Bytes> {
    let data = match cache.get(path, mtime, len) {
        Some(d) => d,
        None => {
            let d = Bytes::from(tokio::fs::read(path).await.ok()?);
            cache.put(path.as_os_str().to_owned(), mtime, len, d.clone());
            d
        }
    };
    (data.len() as u64 == len).then_some(data)
}

/// `len` bytes of a file from `start`, to stream; else the status to
/// answer, as nginx's for a file it found but cannot open.
fn open_part(path: &Path, start: u64, len: u64) -> Result<FileStream, StatusCode> {
    let file = std::fs::File::open(path).map_err(|_| StatusCode::FORBIDDEN)?;
    Ok(FileStream { file: Arc::new(file), offset: start, left: len })
}

/// Several ranges: a multipart/byteranges answer laid out byte for byte as
/// nginx lays it out, parts in the order asked, read from memory for small
/// files and streamed for large ones.
#[allow(clippy::too_many_arguments)]
#[expect(clippy::cast_possible_truncation, reason = "offsets into a file held in memory fit usize")]
async fn multipart(
    mut b: Head,
    path: &Path,
    content_type: &str,
    len: u64,
    mtime: SystemTime,
    parts: &[(u64, u64)],
    method: &Method,
    cache: &Cache,
) -> Response<Body> {
    let boundary = next_boundary();
    let heads: Vec<Bytes> = parts
        .iter()
        .map(|part| {
            Bytes::from(super::ranges::part_head(&boundary, Some(content_type), *part, len))
        })
        .collect();
    let tail = Bytes::from(format!("\r\n--{boundary}--\r\n"));
    let total: u64 = heads.iter().map(|h| h.len() as u64).sum::<u64>()
        + parts.iter().map(|(s, e)| e - s).sum::<u64>()
        + tail.len() as u64;
    b.status = StatusCode::PARTIAL_CONTENT;
    b.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    b.set(header::CONTENT_TYPE, &format!("multipart/byteranges; boundary={boundary}"));
    if method == Method::HEAD {
        return b.body(super::http::empty());
    }
    if len <= CACHE_MAX_FILE {
        let Some(data) = contents(path, mtime, len, cache).await else {
            return super::http::plain_status(StatusCode::INTERNAL_SERVER_ERROR);
        };
        let mut out = Vec::with_capacity(total as usize);
        for (head, (s, e)) in heads.iter().zip(parts) {
            out.extend_from_slice(head);
            out.extend_from_slice(&data[*s as usize..*e as usize]);
        }
        out.extend_from_slice(&tail);
        return b.body(full(Bytes::from(out)));
    }
    // Large files: each part's bytes streamed from its own reader.
    let mut segments = std::collections::VecDeque::new();
    for (head, (s, e)) in heads.into_iter().zip(parts) {
        match open_part(path, *s, e - s) {
            Ok(part) => segments.extend([Segment::Data(head), Segment::File(part)]),
            Err(status) => return super::http::plain_status(status),
        }
    }
    segments.push_back(Segment::Data(tail));
    b.body(streamed(segments))
}

/// A response's status and headers, filled in straight (a `Builder` moves
/// the whole response through every `header` call).
struct Head {
    status: StatusCode,
    headers: HeaderMap,
}

impl Head {
    /// Sets a header; a value no header may carry is left out.
    fn set(&mut self, name: header::HeaderName, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
    }

    fn body(self, body: Body) -> Response<Body> {
        let mut resp = Response::new(body);
        *resp.status_mut() = self.status;
        *resp.headers_mut() = self.headers;
        resp
    }
}

/// A piece of a streamed answer: bytes made here, or a part of a file.
enum Segment {
    Data(Bytes),
    File(FileStream),
}

/// The segments as a body, files read in chunks as nginx reads them.
fn streamed(segments: std::collections::VecDeque<Segment>) -> Body {
    let stream = futures::stream::unfold(segments, |mut segments| async move {
        loop {
            match segments.pop_front()? {
                Segment::Data(b) => return Some((Ok(b), segments)),
                Segment::File(mut part) => match part.next_chunk() {
                    Ok(b) if b.is_empty() => continue,
                    Ok(b) => {
                        segments.push_front(Segment::File(part));
                        return Some((Ok(b), segments));
                    }
                    Err(e) => return Some((Err(e), std::collections::VecDeque::new())),
                },
            }
        }
    });
    StreamBody::new(stream.map_ok(Frame::data).map_err(|e| Box::new(e) as super::http::BoxError))
        .boxed()
}

/// How much of a large file is read at a time.
const CHUNK: usize = 128 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_read_as_nginx_writes_them() {
        for (secs, len) in
            [(0u64, 0u64), (1, 15), (1_700_000_000, 4096), (u32::MAX as u64, u64::MAX)]
        {
            assert_eq!(
                etag(UNIX_EPOCH + std::time::Duration::from_secs(secs), len),
                format!("\"{secs:x}-{len:x}\"")
            );
        }
    }

    #[test]
    fn http_dates_stay_right_through_the_cache() {
        let at = |s: u64| UNIX_EPOCH + std::time::Duration::from_secs(s);
        for _ in 0..2 {
            assert_eq!(
                crate::proxy::http::http_date(at(784111777)),
                "Sun, 06 Nov 1994 08:49:37 GMT"
            );
            // Same slot, another second.
            assert_eq!(
                crate::proxy::http::http_date(at(784111781)),
                "Sun, 06 Nov 1994 08:49:41 GMT"
            );
            assert_eq!(crate::proxy::http::http_date(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        }
    }

    #[test]
    fn ranges() {
        use Ranges::*;
        // Each case as nginx 1.22 answered it for a 36-byte file.
        let cases: &[(&str, Ranges)] = &[
            ("bytes=0-9", Parts(vec![(0, 10)])),
            ("bytes=30-", Parts(vec![(30, 36)])),
            ("bytes=-10", Parts(vec![(26, 36)])),
            ("bytes=20-500", Parts(vec![(20, 36)])),
            ("bytes= 0-1", Parts(vec![(0, 2)])),
            ("bytes=0-1 ", Parts(vec![(0, 2)])),
            ("BYTES=0-1", Parts(vec![(0, 2)])),
            ("bytes=36-", Unsatisfiable),
            ("bytes=40-50,60-", Unsatisfiable),
            ("bytes=x", Unsatisfiable),
            ("bytes=5-2", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=,0-1", Unsatisfiable),
            ("bytes=0-1,", Unsatisfiable),
            ("bytes=0-1,x", Unsatisfiable),
            ("items=0-1", Whole),
            ("bytes=0-30,5-20", Whole),
            ("bytes=0-1,5-6", Parts(vec![(0, 2), (5, 7)])),
            ("bytes=0-1, 3-4", Parts(vec![(0, 2), (3, 5)])),
            ("bytes=-3,0-0", Parts(vec![(33, 36), (0, 1)])),
            ("bytes=0-1,40-50", Parts(vec![(0, 2)])),
            ("bytes=2-1,3-4", Parts(vec![(3, 5)])),
            ("bytes=0-0,-0", Parts(vec![(0, 1)])),
            ("bytes=0-1,0-1", Parts(vec![(0, 2), (0, 2)])),
            ("bytes=99999999999999999999-", Unsatisfiable),
        ];
        for (h, want) in cases {
            assert_eq!(&parse_ranges(h, 36), want, "{h}");
        }
        // An empty file: a range from 0 means the whole (empty) file.
        assert_eq!(parse_ranges("bytes=0-", 0), Whole);
        assert_eq!(parse_ranges("bytes=-5", 0), Whole);
    }

    #[test]
    fn lookup_refuses_links_out_of_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("ok.txt"), "ok").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link"))
            .unwrap();
        std::fs::create_dir(root.path().join("d")).unwrap();
        let c = Cache::default();
        assert!(matches!(lookup(root.path(), "/ok.txt", &c, &Seen::default()), Found::File(..)));
        assert!(matches!(lookup(root.path(), "/d", &c, &Seen::default()), Found::Dir));
        assert!(matches!(lookup(root.path(), "/link", &c, &Seen::default()), Found::Forbidden));
        assert!(
            matches!(lookup(root.path(), "/link", &c, &Seen::default()), Found::Forbidden),
            "cached verdicts too"
        );
        assert!(matches!(lookup(root.path(), "/nope", &c, &Seen::default()), Found::Missing));
    }

    /// Cached lookups see every change at once, with no wait: each of these
    /// would be answered from the cache for up to a second if an event were
    /// missed.
    #[test]
    fn cached_lookups_follow_changes_at_once() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("a/b")).unwrap();
        std::fs::write(r.join("a/b/page.html"), "one").unwrap();
        let c = Cache::default();
        let len = |f: Found| match f {
            Found::File(f) => Some(f.meta.len()),
            _ => None,
        };
        for _ in 0..2 {
            assert_eq!(len(lookup(r, "/a/b/page.html", &c, &Seen::default())), Some(3));
        }
        std::fs::write(r.join("a/b/page.html"), "second").unwrap();
        assert_eq!(len(lookup(r, "/a/b/page.html", &c, &Seen::default())), Some(6), "rewritten");
        std::fs::remove_file(r.join("a/b/page.html")).unwrap();
        assert!(
            matches!(lookup(r, "/a/b/page.html", &c, &Seen::default()), Found::Missing),
            "removed"
        );
        assert!(matches!(lookup(r, "/a/b/new.html", &c, &Seen::default()), Found::Missing));
        assert!(matches!(lookup(r, "/a/c/deep.html", &c, &Seen::default()), Found::Missing));
        std::fs::write(r.join("a/b/new.html"), "n").unwrap();
        assert_eq!(len(lookup(r, "/a/b/new.html", &c, &Seen::default())), Some(1), "created");
        std::fs::create_dir(r.join("a/c")).unwrap();
        std::fs::write(r.join("a/c/deep.html"), "dd").unwrap();
        assert_eq!(
            len(lookup(r, "/a/c/deep.html", &c, &Seen::default())),
            Some(2),
            "created under a directory that was missing"
        );
        // A file swapped for a link out of the root is refused at once.
        std::os::unix::fs::symlink(outside.path().join("secret"), r.join("a/b/tmp")).unwrap();
        std::fs::rename(r.join("a/b/tmp"), r.join("a/b/new.html")).unwrap();
        assert!(
            matches!(lookup(r, "/a/b/new.html", &c, &Seen::default()), Found::Forbidden),
            "replaced by a link"
        );
        // A directory on the way renamed.
        std::fs::rename(r.join("a"), r.join("z")).unwrap();
        assert!(
            matches!(lookup(r, "/a/c/deep.html", &c, &Seen::default()), Found::Missing),
            "parent renamed"
        );
        assert_eq!(len(lookup(r, "/z/c/deep.html", &c, &Seen::default())), Some(2));
        // Permissions changed (as root they do not forbid, but the answer is fresh).
        std::fs::set_permissions(
            r.join("z/c/deep.html"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        match lookup(r, "/z/c/deep.html", &c, &Seen::default()) {
            Found::File(f) => assert_eq!(
                std::os::unix::fs::PermissionsExt::mode(&f.meta.permissions()) & 0o777,
                0o600
            ),
            _ => panic!("still a file"),
        }
    }

    #[test]
    fn sendfile_on_marks_large_answers_and_their_body_reads_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let answer = |range: &str, sendfile: bool| {
            let mut req = HeaderMap::new();
            if !range.is_empty() {
                req.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
            }
            let c = Cache::default();
            rt.block_on(respond(&path, &meta, "x/y", &Method::GET, &req, &c, sendfile))
        };
        for (range, from, to) in [("", 0, 200_000), ("bytes=1000-150999", 1000, 151_000)] {
            let resp = answer(range, true);
            let f = resp.extensions().get::<super::super::http::FileBody>().expect("marked");
            assert_eq!((f.offset, f.len), (from as u64, (to - from) as u64));
            assert_eq!(hyper::body::Body::size_hint(resp.body()).exact(), Some(f.len));
            // The body, for TLS and HTTP/2: the same bytes, in chunks.
            let got = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
            assert!(got == bytes[from..to], "{range:?}");
        }
        // Off, or too small to gain from it, or several ranges: not marked.
        assert!(answer("", false).extensions().get::<super::super::http::FileBody>().is_none());
        let small = answer("bytes=0-99", true);
        assert!(small.extensions().get::<super::super::http::FileBody>().is_none());
        let multi = answer("bytes=0-99999,100000-199999", true);
        assert!(multi.extensions().get::<super::super::http::FileBody>().is_none());
    }
}
