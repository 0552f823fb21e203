//! The proxy cache (`proxy_cache_path`, `proxy_cache`): answers kept per
//! key for as long as the upstream's headers or `proxy_cache_valid` say,
//! served again with `$upstream_cache_status` HIT, passed by for
//! `proxy_cache_bypass`, and served stale where `proxy_cache_use_stale`
//! allows. Entries live in memory and, where the zone's folder is on this
//! host, are also written there under nginx's levels layout (md5 of the
//! key), in a format of rcompose's own.

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use hyper::StatusCode;
use hyper::body::{Body as HttpBody, Frame};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::config::{CacheConf, CachePath, LocConf, ProxyPass};
use super::ctx::Ctx;
use super::http::{Body, BoxError};
use super::request::{Outcome, Req, Runtime};

/// The largest answer kept.
const MAX_ENTRY: usize = 64 * 1024 * 1024;

/// A kept answer.
#[derive(Debug)]
pub struct Entry {
    pub status: StatusCode,
    pub reason: Option<Bytes>,
    pub headers: HeaderMap,
    pub body: Bytes,
    valid_until: Instant,
    /// The request headers the answer's Vary names, as they were.
    vary: Vec<(HeaderName, Option<HeaderValue>)>,
}

impl Entry {
    /// The same answer, valid for `valid` from now.
    fn renewed(&self, valid: Duration) -> Entry {
        Entry {
            status: self.status,
            reason: self.reason.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            valid_until: Instant::now() + valid,
            vary: self.vary.clone(),
        }
    }
}

struct Slot {
    entry: Option<Arc<Entry>>,
    uses: u32,
    last: Instant,
}

/// One `proxy_cache_path` zone.
pub struct Zone {
    def: CachePath,
    /// Keys a request is filling now (proxy_cache_lock, `updating`), with
    /// what wakes those waiting for it.
    filling: Mutex<HashMap<String, Arc<tokio::sync::Notify>>>,
    /// The zone's folder on this host, where it maps to one.
    dir: OnceLock<Option<PathBuf>>,
    slots: Mutex<HashMap<String, Slot>>,
    looks: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zone").field("def", &self.def).finish()
    }
}

/// What a lookup found.
pub enum Look {
    Hit(Arc<Entry>),
    /// Kept, but past its time: usable only stale.
    Expired(Arc<Entry>),
    Miss,
}

impl Zone {
    pub fn new(def: CachePath) -> Zone {
        Zone {
            def,
            filling: Mutex::default(),
            dir: OnceLock::new(),
            slots: Mutex::default(),
            looks: Default::default(),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.def.path
    }

    /// Where entries are written; set once, when the configuration is
    /// loaded. What an earlier run (or the configuration before a reload)
    /// kept there is taken back, as nginx's cache loader takes it.
    pub fn set_dir(&self, dir: Option<PathBuf>) {
        if let Some(d) = &dir {
            self.load(d);
        }
        let _ = self.dir.set(dir);
    }

    /// Reads back the entries under `dir`, within the zone's max_size.
    fn load(&self, dir: &std::path::Path) {
        let mut files = Vec::new();
        let mut folders = vec![dir.to_path_buf()];
        while let Some(f) = folders.pop() {
            for e in std::fs::read_dir(&f).into_iter().flatten().flatten() {
                match e.file_type() {
                    Ok(t) if t.is_dir() => folders.push(e.path()),
                    Ok(t) if t.is_file() => files.push(e.path()),
                    _ => {}
                }
            }
        }
        let now = Instant::now();
        let mut size = 0u64;
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for file in files {
            let Some((key, entry)) = std::fs::read(&file).ok().and_then(|b| from_disk(&b)) else {
                continue;
            };
            size += entry.body.len() as u64;
            if self.def.max_size.is_some_and(|max| size > max) {
                break;
            }
            slots.insert(key, Slot { entry: Some(Arc::new(entry)), uses: 1, last: now });
        }
    }

    /// Looks `key` up for a request with `headers`, counting the use.
    pub fn look(&self, key: &str, headers: &HeaderMap) -> (Look, u32) {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        // Gone when unused for `inactive`: swept at each store and every
        // 1024 lookups, not at each one.
        let inactive = self.def.inactive;
        if self.looks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1024 == 1023 {
            slots.retain(|_, s| now.duration_since(s.last) < inactive);
        }
        if slots.get(key).is_some_and(|s| now.duration_since(s.last) >= inactive) {
            slots.remove(key);
        }
        let slot = slots.entry(key.to_string()).or_insert_with(|| Slot {
            entry: None,
            uses: 0,
            last: now,
        });
        slot.uses = slot.uses.saturating_add(1);
        slot.last = now;
        let look = match &slot.entry {
            Some(e) if !e.vary.iter().all(|(n, v)| headers.get(n) == v.as_ref()) => Look::Miss,
            Some(e) if e.valid_until > now => Look::Hit(e.clone()),
            Some(e) => Look::Expired(e.clone()),
            None => Look::Miss,
        };
        (look, slot.uses)
    }

    fn store(&self, key: String, entry: Entry) {
        let entry = Arc::new(entry);
        if let Some(Some(dir)) = self.dir.get() {
            let file = self.file(dir, &key);
            let bytes = on_disk(&key, &entry);
            let write = move || write_file(&file, &bytes);
            // Off the worker: a disk write must not hold up requests.
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(write)),
                Err(_) => write(),
            }
        }
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let inactive = self.def.inactive;
        slots.retain(|_, s| now.duration_since(s.last) < inactive);
        let slot = slots.entry(key).or_insert_with(|| Slot { entry: None, uses: 1, last: now });
        slot.entry = Some(entry);
        slot.last = now;
        let Some(max) = self.def.max_size else { return };
        let mut size: u64 =
            slots.values().filter_map(|x| x.entry.as_ref()).map(|e| e.body.len() as u64).sum();
        // Least recently used first, as nginx's cache manager removes them.
        while size > max {
            let Some((oldest, len)) = slots
                .iter()
                .filter_map(|(k, s)| Some((k, s.last, s.entry.as_ref()?.body.len() as u64)))
                .min_by_key(|(_, last, _)| *last)
                .map(|(k, _, len)| (k.clone(), len))
            else {
                break;
            };
            slots.remove(&oldest);
            size -= len;
        }
    }

    /// nginx's file for a key: md5 in hex, under folders cut from its end.
    fn file(&self, dir: &std::path::Path, key: &str) -> PathBuf {
        use md5::Digest;
        let hash: String =
            md5::Md5::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let mut path = dir.to_path_buf();
        let mut end = hash.len();
        for w in &self.def.levels {
            path.push(&hash[end - w..end]);
            end -= w;
        }
        path.push(&hash);
        path
    }
}

/// An entry as a file: its key, until when it is valid (wall clock, so it
/// holds across runs), the request headers its Vary named, then the
/// answer as it came.
fn on_disk(key: &str, e: &Entry) -> Vec<u8> {
    let left = e.valid_until.saturating_duration_since(Instant::now());
    let until =
        (SystemTime::now() + left).duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let mut out = format!("KEY: {key}\nVALID: {}\n", until.as_secs()).into_bytes();
    for (name, value) in &e.vary {
        out.extend_from_slice(format!("VARY: {name}").as_bytes());
        if let Some(v) = value {
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
        }
        out.push(b'\n');
    }
    out.extend_from_slice(format!("HTTP/1.1 {}", e.status.as_u16()).as_bytes());
    if let Some(reason) = &e.reason {
        out.push(b' ');
        out.extend_from_slice(reason);
    }
    out.extend_from_slice(b"\r\n");
    for (k, v) in &e.headers {
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&e.body);
    out
}

/// An entry read back from [`on_disk`]'s form; `None` for anything else.
fn from_disk(data: &[u8]) -> Option<(String, Entry)> {
    let head_end = memchr::memmem::find(data, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&data[..head_end]).ok()?;
    let mut lines = head.split('\n');
    let key = lines.next()?.strip_prefix("KEY: ")?.to_string();
    let until: u64 = lines.next()?.strip_prefix("VALID: ")?.parse().ok()?;
    let mut vary = Vec::new();
    let mut status_line = None;
    for line in lines.by_ref() {
        if let Some(v) = line.strip_prefix("VARY: ") {
            let (name, value) = match v.split_once(": ") {
                Some((n, v)) => (n, Some(HeaderValue::from_str(v).ok()?)),
                None => (v, None),
            };
            vary.push((HeaderName::from_bytes(name.as_bytes()).ok()?, value));
        } else {
            status_line = Some(line.trim_end_matches('\r'));
            break;
        }
    }
    let rest = status_line?.strip_prefix("HTTP/1.1 ")?;
    let (code, reason) = rest.split_once(' ').map_or((rest, None), |(c, r)| (c, Some(r)));
    let status = StatusCode::from_u16(code.parse().ok()?).ok()?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.trim_end_matches('\r').split_once(": ")?;
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_str(value).ok()?,
        );
    }
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(until);
    let left = wall.duration_since(SystemTime::now()).unwrap_or_default();
    let entry = Entry {
        status,
        reason: reason.map(|r| Bytes::copy_from_slice(r.as_bytes())),
        headers,
        body: Bytes::copy_from_slice(&data[head_end + 4..]),
        valid_until: Instant::now() + left,
        vary,
    };
    Some((key, entry))
}

/// Written whole under a temporary name, then renamed, so a reader never
/// sees half a file. A failure costs only the copy on disk.
fn write_file(file: &std::path::Path, bytes: &[u8]) {
    let Some(parent) = file.parent() else { return };
    if std::fs::create_dir_all(parent).is_err() {
        return;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The cache's part in one proxied request: where its answer is kept, and
/// what was kept before (past its time), should the upstream fail.
pub struct Cached {
    zone: Arc<Zone>,
    key: String,
    stale: Option<Arc<Entry>>,
    uses: u32,
    /// This request fills the entry: others wait for it, or take the stale one.
    filling: Option<Filling>,
    /// False past proxy_cache_lock_timeout: the answer is passed on, not kept.
    keep: bool,
}

/// A key being filled, let go (and its waiters woken) when the answer is
/// kept or the request ends without keeping it.
pub struct Filling {
    zone: Arc<Zone>,
    key: String,
}

impl Drop for Filling {
    fn drop(&mut self) {
        let done = self.zone.filling.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.key);
        if let Some(n) = done {
            n.notify_waiters();
        }
    }
}

/// What a key's filling means for a request that finds it.
enum Fill {
    /// Nobody fills it: this request does.
    Mine(Filling),
    /// Another request does.
    Theirs,
}

fn fill(zone: &Arc<Zone>, key: &str) -> Fill {
    let mut filling = zone.filling.lock().unwrap_or_else(|e| e.into_inner());
    if filling.contains_key(key) {
        return Fill::Theirs;
    }
    filling.insert(key.to_string(), Arc::new(tokio::sync::Notify::new()));
    Fill::Mine(Filling { zone: zone.clone(), key: key.to_string() })
}

/// Waits until the request filling `key` is done, or `limit` passes (false).
async fn wait_fill(zone: &Arc<Zone>, key: &str, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let notify = match zone.filling.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
            Some(n) => n.clone(),
            None => return true,
        };
        let woken = notify.notified();
        tokio::pin!(woken);
        // Registered before the filling is looked at again: no wake is missed.
        woken.as_mut().enable();
        if !zone.filling.lock().unwrap_or_else(|e| e.into_inner()).contains_key(key) {
            return true;
        }
        if tokio::time::timeout_at(deadline, woken).await.is_err() {
            return false;
        }
    }
}

/// Looks the request up in its location's cache: `Err` with the kept
/// answer on a hit; `Ok(None)` when the location keeps nothing for it.
/// With proxy_cache_lock a miss waits for a request already filling the
/// entry; with `proxy_cache_use_stale updating` an expired entry another
/// request is refreshing is sent as it is (UPDATING).
pub async fn lookup(
    rt: &Runtime,
    conf: &LocConf,
    p: &ProxyPass,
    r: &mut Req,
) -> Result<Option<Cached>, Box<Outcome>> {
    let c = &conf.cache;
    let Some(zone) = c.zone.as_ref().and_then(|z| rt.config.http.cache_zones.get(z)) else {
        return Ok(None);
    };
    if p.fastcgi || r.on_upgrade.is_some() || !c.methods.iter().any(|m| m == r.method.as_str()) {
        return Ok(None);
    }
    let ctx = Ctx { rv: &r.vars, maps: &rt.config.http.maps };
    let key = c.key.eval(&ctx);
    if says_yes(c.bypass.iter().map(|t| t.eval(&ctx))) {
        r.vars.upstream_cache_status = "BYPASS";
        return Ok(Some(Cached {
            zone: zone.clone(),
            key,
            stale: None,
            uses: u32::MAX,
            filling: None,
            keep: true,
        }));
    }
    let updating = c.use_stale.iter().any(|u| u == "updating");
    let (mut look, mut uses) = zone.look(&key, &r.vars.headers);
    let mut filling = None;
    let mut keep = true;
    match &look {
        Look::Miss if c.lock => match fill(zone, &key) {
            Fill::Mine(f) => filling = Some(f),
            Fill::Theirs => {
                if wait_fill(zone, &key, c.lock_timeout).await {
                    (look, uses) = zone.look(&key, &r.vars.headers);
                } else {
                    keep = false;
                }
            }
        },
        Look::Expired(e) if updating => match fill(zone, &key) {
            Fill::Mine(f) => filling = Some(f),
            Fill::Theirs => {
                r.vars.upstream_cache_status = "UPDATING";
                return Err(Box::new(serve(e, r)));
            }
        },
        _ => {}
    }
    let stale = match look {
        Look::Hit(e) => {
            r.vars.upstream_cache_status = "HIT";
            return Err(Box::new(serve(&e, r)));
        }
        Look::Expired(e) => {
            r.vars.upstream_cache_status = "EXPIRED";
            if c.revalidate {
                let lm = e.headers.get(header::LAST_MODIFIED).cloned();
                let etag = e.headers.get(header::ETAG).cloned();
                if lm.is_some() || etag.is_some() {
                    r.vars.cache_validators = Some(Box::new((lm, etag)));
                }
            }
            Some(e)
        }
        Look::Miss => {
            r.vars.upstream_cache_status = "MISS";
            None
        }
    };
    Ok(Some(Cached { zone: zone.clone(), key, stale, uses, filling, keep }))
}

/// A kept answer, sent again (or the 304 or 412 the client's conditions make of it).
fn serve(e: &Entry, r: &Req) -> Outcome {
    let mut out = hyper::Response::new(super::http::full(e.body.clone()));
    *out.status_mut() = e.status;
    *out.headers_mut() = e.headers.clone();
    if let Some(reason) = &e.reason {
        out.extensions_mut().insert(super::http1::Reason(reason.clone()));
    }
    if e.status == StatusCode::OK {
        match super::not_modified::verdict(&r.vars.headers, &e.headers) {
            Some(StatusCode::NOT_MODIFIED) => {
                let mut head = hyper::Response::new(super::http::empty());
                *head.status_mut() = StatusCode::NOT_MODIFIED;
                *head.headers_mut() = e.headers.clone();
                super::not_modified::make_304(head.headers_mut());
                return Outcome::Done(head);
            }
            Some(status) => return Outcome::Status(status.as_u16()),
            None => {}
        }
        if e.headers.contains_key(header::ACCEPT_RANGES) {
            let len = e.body.len() as u64;
            return Outcome::Done(super::ranges::for_cache(
                &r.vars.headers,
                out,
                len,
                Some(&e.body),
            ));
        }
    }
    Outcome::Done(out)
}

impl Cached {
    /// The kept answer again, where `proxy_cache_use_stale` names this failure.
    fn stale_for(&self, conf: &LocConf, r: &mut Req, why: &str) -> Option<Outcome> {
        let e = self.stale.as_ref()?;
        conf.cache.use_stale.iter().any(|u| u == why).then(|| {
            r.vars.upstream_cache_status = "STALE";
            serve(e, r)
        })
    }

    /// An answer came: `Err` with the stale one where a 5xx may be hidden
    /// by it; else what keeps this answer, if it may be kept.
    pub fn on_answer(
        &mut self,
        conf: &LocConf,
        maps: &[super::config::MapDef],
        r: &mut Req,
        answer: &mut super::client::Answer,
    ) -> Result<Option<Store>, Box<Outcome>> {
        let code = answer.status.as_u16();
        // proxy_cache_revalidate: the upstream says the kept answer still holds.
        if code == 304
            && conf.cache.revalidate
            && let Some(e) = &self.stale
        {
            if let Some(valid) = validity(&conf.cache, answer.status, &answer.headers) {
                self.zone.store(self.key.clone(), e.renewed(valid));
            }
            r.vars.upstream_cache_status = "REVALIDATED";
            return Err(Box::new(serve(e, r)));
        }
        if matches!(code, 500 | 502 | 503 | 504 | 403 | 404 | 429)
            && let Some(stale) = self.stale_for(conf, r, &format!("http_{code}"))
        {
            return Err(Box::new(stale));
        }
        let valid = validity(&conf.cache, answer.status, &answer.headers);
        answer.headers.remove("x-accel-expires");
        let ctx = Ctx { rv: &r.vars, maps };
        let no_cache = says_yes(conf.cache.no_cache.iter().map(|t| t.eval(&ctx)));
        let Some(valid) =
            valid.filter(|_| self.keep && !no_cache && self.uses >= conf.cache.min_uses)
        else {
            return Ok(None);
        };
        if !matches!(
            answer.body,
            super::client::AnswerBody::Stream(_) | super::client::AnswerBody::Other(_)
        ) {
            return Ok(None);
        }
        let vary = if conf.cache.ignore.iter().any(|i| i == "vary") {
            Vec::new()
        } else {
            answer
                .headers
                .get_all(header::VARY)
                .iter()
                .flat_map(|v| v.to_str().unwrap_or("").split(','))
                .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
                .map(|n| {
                    let v = r.vars.headers.get(&n).cloned();
                    (n, v)
                })
                .collect()
        };
        Ok(Some(Store {
            zone: self.zone.clone(),
            key: self.key.clone(),
            valid,
            vary,
            filling: self.filling.take(),
        }))
    }

    /// Every peer failed with `status`: the kept answer, where allowed.
    pub fn on_failure(self, conf: &LocConf, r: &mut Req, status: u16) -> Option<Outcome> {
        let why = if status == 504 { "timeout" } else { "error" };
        self.stale_for(conf, r, why)
    }
}

/// A value of `proxy_cache_bypass` or `proxy_no_cache` that says yes: not empty and not "0".
pub fn says_yes(values: impl IntoIterator<Item = String>) -> bool {
    values.into_iter().any(|v| !v.is_empty() && v != "0")
}

/// How long an answer may be kept, as nginx decides: X-Accel-Expires, then
/// Cache-Control, then Expires, then proxy_cache_valid; None when it may
/// not be kept (no-store, private, a Set-Cookie, Vary: *, no time).
pub fn validity(conf: &CacheConf, status: StatusCode, h: &HeaderMap) -> Option<Duration> {
    let heeds = |name: &str| !conf.ignore.iter().any(|i| i == name);
    if heeds("set-cookie") && h.contains_key(header::SET_COOKIE) {
        return None;
    }
    if heeds("vary") && h.get_all(header::VARY).iter().any(|v| v.as_bytes().trim_ascii() == b"*") {
        return None;
    }
    if heeds("x-accel-expires")
        && let Some(v) = h.get("x-accel-expires").and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if let Some(at) = v.strip_prefix('@') {
            let at: u64 = at.parse().ok()?;
            let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
            return at.checked_sub(now).filter(|s| *s > 0).map(Duration::from_secs);
        }
        let secs: u64 = v.parse().ok()?;
        return (secs > 0).then(|| Duration::from_secs(secs));
    }
    if heeds("cache-control") {
        let mut max_age = None;
        for v in h.get_all(header::CACHE_CONTROL) {
            for part in v.to_str().unwrap_or("").split(',') {
                let part = part.trim().to_ascii_lowercase();
                if part == "no-cache" || part == "no-store" || part == "private" {
                    return None;
                }
                if let Some(n) = part.strip_prefix("s-maxage=").or(part.strip_prefix("max-age=")) {
                    let n: u64 = n.parse().ok()?;
                    if n == 0 {
                        return None;
                    }
                    if part.starts_with("s-maxage") || max_age.is_none() {
                        max_age = Some(n);
                    }
                }
            }
        }
        if let Some(n) = max_age {
            return Some(Duration::from_secs(n));
        }
    }
    if heeds("expires")
        && let Some(v) = h.get(header::EXPIRES).and_then(|v| v.to_str().ok())
    {
        let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        let secs = at.timestamp() - chrono::Utc::now().timestamp();
        return (secs > 0).then(|| Duration::from_secs(secs.unsigned_abs()));
    }
    conf.valid
        .iter()
        .find(|(codes, _)| codes.is_empty() || codes.contains(&status.as_u16()))
        .map(|(_, t)| *t)
        .filter(|t| !t.is_zero())
}

/// An answer on its way to the client, to be kept once whole.
pub struct Store {
    pub zone: Arc<Zone>,
    pub key: String,
    pub valid: Duration,
    /// Names from the answer's Vary, with the request's values of them.
    pub vary: Vec<(HeaderName, Option<HeaderValue>)>,
    /// Let go once the answer is kept (or the body is dropped).
    pub filling: Option<Filling>,
}

impl Store {
    /// Wraps `body` so that, once it has gone whole, the answer is kept.
    pub fn tee(
        self,
        body: Body,
        status: StatusCode,
        reason: Option<Bytes>,
        headers: HeaderMap,
    ) -> Body {
        http_body_util::BodyExt::boxed(Tee {
            inner: body,
            buf: BytesMut::new(),
            pending: Some((self, status, reason, headers)),
        })
    }
}

struct Tee {
    inner: Body,
    buf: BytesMut,
    pending: Option<(Store, StatusCode, Option<Bytes>, HeaderMap)>,
}

impl Tee {
    fn finish(&mut self) {
        if let Some((store, status, reason, headers)) = self.pending.take() {
            let entry = Entry {
                status,
                reason,
                headers,
                body: std::mem::take(&mut self.buf).freeze(),
                valid_until: Instant::now() + store.valid,
                vary: store.vary,
            };
            store.zone.store(store.key, entry);
        }
    }
}

impl HttpBody for Tee {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(f))) => {
                if let Some(d) = f.data_ref()
                    && this.pending.is_some()
                {
                    if this.buf.len() + d.len() > MAX_ENTRY {
                        this.pending = None;
                    } else {
                        this.buf.extend_from_slice(d);
                    }
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(None) => this.finish(),
            // A body cut short is not kept.
            Poll::Ready(Some(Err(_))) => this.pending = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap())
            })
            .collect()
    }

    #[test]
    fn an_entry_reads_back_as_it_was_written() {
        let e = Entry {
            status: StatusCode::NOT_FOUND,
            reason: Some(Bytes::from_static(b"Gone Fishing")),
            headers: headers(&[("content-type", "text/plain"), ("set-thing", "a: b")]),
            body: Bytes::from_static(b"body\r\n\r\nwith blank lines"),
            valid_until: Instant::now() + Duration::from_secs(600),
            vary: vec![
                (
                    HeaderName::from_static("accept-encoding"),
                    Some(HeaderValue::from_static("gzip")),
                ),
                (HeaderName::from_static("x-absent"), None),
            ],
        };
        let (key, back) = from_disk(&on_disk("http://a/b?c", &e)).expect("reads back");
        assert_eq!(key, "http://a/b?c");
        assert_eq!(
            (back.status, &back.reason, &back.headers, &back.body),
            (e.status, &e.reason, &e.headers, &e.body)
        );
        assert_eq!(back.vary, e.vary);
        let left = back.valid_until.saturating_duration_since(Instant::now()).as_secs();
        assert!((598..=600).contains(&left), "{left}");
        assert!(from_disk(b"not a cache file").is_none());
    }

    #[test]
    fn validity_follows_nginx_order() {
        let mut conf = CacheConf::default();
        let ok = StatusCode::OK;
        assert_eq!(validity(&conf, ok, &headers(&[])), None, "no time given");
        conf.valid = vec![(vec![200, 301, 302], Duration::from_secs(60))];
        assert_eq!(validity(&conf, ok, &headers(&[])), Some(Duration::from_secs(60)));
        assert_eq!(validity(&conf, StatusCode::NOT_FOUND, &headers(&[])), None);
        let cc = headers(&[("cache-control", "public, max-age=5")]);
        assert_eq!(validity(&conf, ok, &cc), Some(Duration::from_secs(5)));
        assert_eq!(validity(&conf, ok, &headers(&[("cache-control", "private")])), None);
        assert_eq!(validity(&conf, ok, &headers(&[("set-cookie", "a=1")])), None);
        assert_eq!(
            validity(
                &conf,
                ok,
                &headers(&[("x-accel-expires", "7"), ("cache-control", "no-store")])
            ),
            Some(Duration::from_secs(7))
        );
        conf.ignore = vec!["set-cookie".into()];
        assert_eq!(
            validity(&conf, ok, &headers(&[("set-cookie", "a=1")])),
            Some(Duration::from_secs(60))
        );
        assert!(
            says_yes(["".to_string(), "1".into()]) && !says_yes(["0".to_string(), String::new()])
        );
    }

    #[test]
    fn files_are_laid_out_as_nginx_lays_them_out() {
        let zone = Zone::new(CachePath {
            name: "z".into(),
            path: "/c".into(),
            levels: vec![1, 2],
            inactive: Duration::from_secs(600),
            max_size: None,
        });
        // levels=1:2: the last hex digit, then the two before it.
        let f = zone.file(std::path::Path::new("/c"), "k");
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let tail = &name[name.len() - 3..];
        assert_eq!(f, PathBuf::from(format!("/c/{}/{}/{name}", &tail[2..], &tail[..2])));
    }
}
