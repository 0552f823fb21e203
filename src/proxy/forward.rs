//! Forwarding a request to its upstream, as nginx's proxy module does: the
//! URI mapped as nginx maps it, the head with proxy_set_header and without
//! hop-by-hop headers, the body read whole first (or streamed), peers tried
//! in turn with their failures counted, 502 and 504 through error_page,
//! X-Accel-Redirect followed, proxy_redirect applied, Upgrade tunnelled.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Response};

use super::client;
use super::config::Balance;
use super::config::{Location, ProxyPass, Redirect};
use super::ctx::Ctx;
use super::http::{connection_named, is_hop_by_hop};
use super::request::{Outcome, Req, Runtime};
use super::upstream::Addrs;
use super::upstream::{Busy, Group, HashTries};
use super::vars::{ProxyBody, UpstreamPeer, UpstreamTry};

/// The URI sent upstream, as nginx's proxy module makes it: the request
/// target as the client sent it while the URI is unchanged and proxy_pass
/// names no URI; otherwise the location's prefix replaced by proxy_pass's
/// URI (unless `rewrite ... break` left the location), the rest of `$uri`
/// escaped when the client's URI was percent-encoded or the URI was
/// rewritten (else its bytes as they are), then `?` and `$args`.
pub fn upstream_uri(p: &ProxyPass, r: &Req) -> String {
    // A URI read from variables goes as it reads, whatever the location.
    if p.url.is_some()
        && let Some(u) = &p.uri
    {
        return u.clone();
    }
    if p.uri.is_none()
        && !r.uri_changed
        && r.vars.authority.as_deref().is_none_or(|_| r.vars.request_uri.starts_with('/'))
    {
        return r.vars.request_uri.clone();
    }
    let valid_location = !r.rewritten_break;
    let (prefix, loc_len) = match (&p.uri, r.matched_prefix()) {
        (Some(part), Some(m)) if valid_location && r.vars.uri.starts_with(m) => {
            (part.as_str(), m.len())
        }
        (Some(part), _) if valid_location => (part.as_str(), 0),
        _ => ("", 0),
    };
    let rest = &r.vars.uri[loc_len..];
    let quoted = r.vars.request_uri[..r.vars.path_len].contains('%');
    let mut out = String::with_capacity(prefix.len() + rest.len() + r.vars.args.len() + 8);
    out.push_str(prefix);
    if quoted || r.uri_changed {
        out.push_str(&super::routes::escape_for_upstream(rest));
    } else {
        out.push_str(rest);
    }
    if !r.vars.args.is_empty() {
        out.push('?');
        out.push_str(&r.vars.args);
    }
    out
}

/// Headers of an upstream's answer nginx does not pass on unless
/// proxy_pass_header (fastcgi_pass_header) names them. A match on the
/// text: it runs for every header of every answer.
fn hidden_by_default(fastcgi: bool, name: &str) -> bool {
    match name {
        "x-accel-expires" | "x-accel-redirect" | "x-accel-limit-rate" | "x-accel-buffering"
        | "x-accel-charset" => true,
        "date" | "server" | "x-pad" => !fastcgi,
        "status" => fastcgi,
        _ => false,
    }
}

/// `$fastcgi_script_name`, `$fastcgi_path_info`, and `$document_root` as
/// the FastCGI server knows it: the root as written (its path in the
/// containers), not the host folder it maps to here.
fn fastcgi_vars(rt: &Runtime, conf: &super::config::LocConf, r: &mut Req) {
    let split = super::fastcgi::script_name_and_path_info(&conf.fastcgi, &r.vars.uri);
    r.vars.fastcgi = Some(Box::new(split));
    let ctx = Ctx { rv: &r.vars, maps: &rt.config.http.maps };
    let root = conf.alias.as_ref().unwrap_or(&conf.root).eval(&ctx);
    r.vars.document_root = Some(std::path::Path::new(&root).into());
}

/// Logs a FastCGI server's STDERR as nginx does.
fn stderr_log(rt: &Runtime, r: &Req, addr: SocketAddr) -> super::fastcgi::Stderr {
    let logs = rt.logs.clone();
    let tail = format!(
        "client: {}, request: \"{} {}\", upstream: \"fastcgi://{addr}\"",
        r.vars.remote.ip(),
        r.vars.method,
        r.vars.request_uri
    );
    Arc::new(move |text: &str, phase: &str| {
        let text = text.trim_end_matches(['\n', '\r', '.', ' ']);
        logs.error(&format!("FastCGI sent in stderr: \"{text}\" while {phase}, {tail}"));
    })
}

/// A header value with no line breaks or other control characters.
fn is_field_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || !b.is_ascii_control())
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// How the request's body goes upstream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sending {
    None,
    /// Read whole first: sent with its length, as nginx sends it.
    Length(u64),
    /// Streamed as the client sends it, in chunks.
    Chunked,
    /// Streamed with the length the client declared.
    Declared,
}

/// The request head sent upstream, written as nginx orders it: Host, the
/// proxy_set_header headers, then the client's own less hop-by-hop ones and
/// those proxy_set_header replaces. Upgrade and Connection reach the
/// upstream only through proxy_set_header, as in nginx: a client's Upgrade
/// is no reason to switch protocols where the configuration did not ask.
fn request_head(
    rt: &Runtime,
    conf: &super::config::LocConf,
    r: &Req,
    method: &str,
    uri: &str,
    sending: Sending,
) -> Vec<u8> {
    let ctx = Ctx { rv: &r.vars, maps: &rt.config.http.maps };
    let mut out = Vec::with_capacity(256 + 64 * r.vars.headers.len());
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(&super::rawtext::to_bytes(uri));
    let version_at = out.len();
    out.extend_from_slice(b" HTTP/1.1\r\n");
    // Room for an address list or a Host: grown once, not from nothing.
    let mut value = String::with_capacity(64);
    match conf.proxy_set_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("host")) {
        Some((_, t)) => t.eval_into(&ctx, &mut value),
        None => value.push_str(r.vars.proxy_host.as_deref().unwrap_or_default()),
    }
    if !value.is_empty() && is_field_value(&value) {
        push_header(&mut out, b"Host", &super::rawtext::to_bytes(&value));
    }
    let mut upgrades = false;
    for (name, t) in &conf.proxy_set_headers {
        if name.eq_ignore_ascii_case("host") {
            continue;
        }
        value.clear();
        t.eval_into(&ctx, &mut value);
        // An empty value means the header is not sent at all.
        if !value.is_empty() && is_field_value(&value) {
            upgrades |= name.eq_ignore_ascii_case("upgrade");
            push_header(&mut out, name.as_bytes(), &super::rawtext::to_bytes(&value));
        }
    }
    // Where the location caches, the client's conditions and ranges stay
    // here (the cache answers them), and an expired answer is asked about.
    let caching = conf.cache.zone.is_some();
    let set = |n: &HeaderName| {
        conf.proxy_set_headers.iter().any(|(s, _)| s.eq_ignore_ascii_case(n.as_str()))
    };
    if let Some((lm, etag)) = r.vars.cache_validators.as_deref().filter(|_| caching) {
        for (name, v) in [(header::IF_MODIFIED_SINCE, lm), (header::IF_NONE_MATCH, etag)] {
            if let Some(v) = v.as_ref().filter(|_| !set(&name)) {
                push_header(&mut out, name.as_str().as_bytes(), v.as_bytes());
            }
        }
    }
    let named = connection_named(&r.vars.headers);
    for (k, v) in &r.vars.headers {
        if k == header::HOST
            || is_hop_by_hop(k)
            || (caching && CACHE_KEEPS.contains(k))
            || named.contains(k)
            || (k == header::CONTENT_LENGTH && sending != Sending::Declared)
            || conf.proxy_set_headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(k.as_str()))
        {
            continue;
        }
        push_header(&mut out, k.as_str().as_bytes(), v.as_bytes());
    }
    for (k, v) in &r.vars.raw_headers {
        if is_hop_by_hop(k)
            || named.contains(k)
            || conf.proxy_set_headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(k.as_str()))
        {
            continue;
        }
        push_header(&mut out, k.as_str().as_bytes(), v);
    }
    match sending {
        Sending::Length(n) => {
            push_header(&mut out, b"Content-Length", itoa::Buffer::new().format(n).as_bytes())
        }
        Sending::Chunked => push_header(&mut out, b"Transfer-Encoding", b"chunked"),
        Sending::None | Sending::Declared => {}
    }
    // An upgrade asked of an upstream spoken to in HTTP/1.0 (nginx's
    // default proxy_http_version) is asked in HTTP/1.0, as nginx asks it.
    if upgrades && conf.proxy_http_version != "1.1" {
        out[version_at..version_at + 9].copy_from_slice(b" HTTP/1.0");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Request headers nginx does not pass where the location caches: the
/// cache answers conditions and cuts ranges itself.
const CACHE_KEEPS: [HeaderName; 6] = [
    header::IF_MODIFIED_SINCE,
    header::IF_UNMODIFIED_SINCE,
    header::IF_NONE_MATCH,
    header::IF_MATCH,
    header::RANGE,
    header::IF_RANGE,
];

/// The URL of a `proxy_pass` with variables, read for this request; `None`
/// (logged, answered 500) when it is not one nginx could use.
fn from_variables(rt: &Runtime, t: &super::vars::Template, r: &Req) -> Option<ProxyPass> {
    let text = t.eval(&Ctx { rv: &r.vars, maps: &rt.config.http.maps });
    // `http://host?x` has a URI of `/?x`, as nginx reads it.
    let text = match text.split_once("://") {
        Some((scheme, rest))
            if rest.find(['/', '?']).is_some_and(|i| rest.as_bytes()[i] == b'?') =>
        {
            let i = rest.find('?').unwrap_or(rest.len());
            format!("{scheme}://{}/{}", &rest[..i], &rest[i..])
        }
        _ => text,
    };
    match super::config::parse_proxy_url(&text) {
        Ok(mut p) if !p.host.is_empty() => {
            p.url = Some(t.clone());
            Some(p)
        }
        Ok(_) | Err(_) => {
            rt.logs.error(&format!(
                "invalid URL prefix in \"{text}\", client: {}",
                r.vars.remote.ip()
            ));
            None
        }
    }
}

pub async fn forward(rt: &Runtime, loc: &Arc<Location>, p: &ProxyPass, r: &mut Req) -> Outcome {
    let conf = &loc.conf;
    let read;
    let p = match &p.url {
        Some(t) => match from_variables(rt, t, r) {
            Some(concrete) => {
                read = concrete;
                &read
            }
            None => return Outcome::Status(500),
        },
        None => p,
    };
    if p.fastcgi {
        fastcgi_vars(rt, conf, r);
    }
    let uri = if p.fastcgi { String::new() } else { upstream_uri(p, r) };
    r.vars.proxy_host = Some(p.proxy_host.clone());
    r.vars.proxy_port = Some(p.port);
    let cached = match super::cache::lookup(rt, conf, p, r).await {
        Ok(c) => c,
        Err(hit) => return *hit,
    };
    // FastCGI takes the body read whole (fastcgi_request_buffering off is
    // still sent with its length, as CGI needs one).
    let (buffered, streamed) = match take_body(conf, r, p.fastcgi).await {
        Ok(b) => b,
        Err(status) => return Outcome::Status(status),
    };
    if rt.config.http.reads_request_body {
        r.vars.request_body = buffered.as_ref().and_then(|b| b.in_memory());
    }
    let sending = match (&buffered, &streamed) {
        (Some(b), _) if b.is_empty() && !r.vars.headers.contains_key(header::CONTENT_LENGTH) => {
            Sending::None
        }
        (Some(b), _) => Sending::Length(b.len()),
        (None, Some(b)) if b.declared().is_some() => Sending::Declared,
        (None, Some(_)) => Sending::Chunked,
        (None, None) => Sending::None,
    };
    r.vars.proxy_body = match sending {
        _ if p.fastcgi => ProxyBody::Unknown,
        Sending::Length(n) => ProxyBody::Length(n),
        Sending::Declared => streamed
            .as_ref()
            .and_then(|b| b.declared())
            .map_or(ProxyBody::Unknown, ProxyBody::Length),
        Sending::Chunked => ProxyBody::Chunked,
        Sending::None => ProxyBody::Unknown,
    };
    // A HEAD that may be cached goes upstream as GET, as nginx sends it.
    let method =
        if cached.is_some() && r.method == Method::HEAD { Method::GET } else { r.method.clone() };
    let head = if p.fastcgi {
        match super::fastcgi::records(
            &conf.fastcgi,
            &Ctx { rv: &r.vars, maps: &rt.config.http.maps },
        ) {
            Ok(records) => records,
            Err(len) => {
                rt.logs.error(&format!("fastcgi request record is too big: {len}"));
                return Outcome::Status(500);
            }
        }
    } else {
        request_head(rt, conf, r, method.as_str(), &uri, sending)
    };
    let mut ask =
        Ask { p, uri: &uri, head: &head, buffered, streamed, sending, method, traffic: None };
    try_peers(rt, conf, r, &mut ask, cached).await
}

/// One request's parts, ready for each peer tried.
struct Ask<'a> {
    p: &'a ProxyPass,
    uri: &'a str,
    head: &'a [u8],
    buffered: Option<Arc<super::body::Buffered>>,
    streamed: Option<super::http1::ClientBody>,
    sending: Sending,
    method: Method,
    /// The current try's byte counts, where they are read.
    traffic: Option<Arc<client::Traffic>>,
}

/// Which of an answer's headers go on to the client: not those hidden by
/// default (unless passed) nor those the configuration hides.
fn answer_headers_kept(
    conf: &super::config::LocConf,
    fastcgi: bool,
    caching: bool,
) -> impl Fn(&HeaderName) -> bool + Sync + '_ {
    let (passed, hide): (&[String], &[String]) = if fastcgi {
        (&conf.fastcgi.pass_headers, &conf.fastcgi.hide_headers)
    } else {
        (&conf.proxy_pass_headers, &conf.proxy_hide_headers)
    };
    move |k: &HeaderName| {
        let k = k.as_str();
        // X-Accel-Expires is read by the cache, which then drops it.
        (caching && k == "x-accel-expires")
            || !((hidden_by_default(fastcgi, k) && !passed.iter().any(|p| p == k))
                || hide.iter().any(|h| h.eq_ignore_ascii_case(k)))
    }
}

/// Tries the peers in turn until one answers, as nginx's upstream module.
async fn try_peers(
    rt: &Runtime,
    conf: &super::config::LocConf,
    r: &mut Req,
    ask: &mut Ask<'_>,
    mut cached: Option<super::cache::Cached>,
) -> Outcome {
    let p = ask.p;
    // A body in hand can go again to the next server; one streamed cannot.
    let replayable = ask.streamed.is_none();
    let keep = answer_headers_kept(conf, p.fastcgi, cached.is_some());
    let mut peers = Peers::new(rt, p);
    // A second pass (after an internal redirect) lists its own peers.
    r.vars.upstream_tries.clear();
    let started = Instant::now();
    let mut status = 502;
    let next = if p.fastcgi { &conf.fastcgi.next } else { &conf.proxy_next };
    let mut tries = 0u32;
    // An answer whose status proxy_next_upstream lists: the client gets it
    // if no server is left to try.
    let mut held: Option<client::Answer> = None;
    let idempotent = !matches!(r.method.as_str(), "POST" | "LOCK" | "PATCH");
    // The answer that goes to the client leaves the loop and is sent from
    // one place: the state the loop and the sending keep is not kept twice.
    let (answer, store) = loop {
        let addr = match peers.pick(r).await {
            Pick::Addr(a) => a,
            Pick::Unavailable if replayable => continue,
            Pick::Unavailable | Pick::Exhausted => match held.take() {
                Some(answer) => break (answer, None),
                None => return failed(conf, r, cached, status),
            },
        };
        held = None;
        tries += 1;
        let try_started = Instant::now();
        // Whether a failed try may go on to the next server, as nginx decides.
        let go_on = |wanted: bool, sent: bool| {
            wanted
                && (replayable || p.fastcgi)
                && (next.tries == 0 || tries < next.tries)
                && (next.timeout_total.is_zero() || started.elapsed() < next.timeout_total)
                && (!sent || next.non_idempotent || idempotent)
        };
        r.vars.upstream_tries.push(UpstreamTry {
            peer: UpstreamPeer::Addr(addr),
            status: None,
            header: None,
            time: None,
            traffic: None,
        });
        let Some(tried) = exchange_unless_gone(rt, conf, r, ask, addr, &peers, &keep).await else {
            // The client went while the upstream was asked: nginx logs 499
            // (and `-` for the try's status and time).
            return Outcome::Status(499);
        };
        match tried {
            Ok(answer) if go_on(next.statuses.contains(&answer.status.as_u16()), true) => {
                passed_over(r, answer.status.as_u16(), try_started, true);
                // 403 and 404 are answers, not failures of the server.
                if !matches!(answer.status.as_u16(), 403 | 404) {
                    peers.fail_quietly(addr);
                }
                held = Some(answer);
            }
            Ok(mut answer) => {
                peers.succeeded(addr);
                answered(r, answer.status.as_u16(), try_started);
                let store = match &mut cached {
                    Some(c) => match c.on_answer(conf, &rt.config.http.maps, r, &mut answer) {
                        Ok(store) => store,
                        Err(stale) => return *stale,
                    },
                    None => None,
                };
                break (answer, store);
            }
            // The client's body broke a limit while streaming: nginx's answer, not the upstream's fault.
            Err(client::Failure::RequestBody(e))
                if e.downcast_ref::<super::http1::BodyError>().is_some() =>
            {
                return Outcome::Status(
                    e.downcast_ref::<super::http1::BodyError>().map_or(400, |e| e.status()),
                );
            }
            Err(f) => {
                status = f.status();
                passed_over(r, status, try_started, false);
                peers.failed(addr, &f.describe(&addr), r, ask.uri);
                let wanted = match f.kind() {
                    client::FailureKind::Timeout => next.timeout,
                    client::FailureKind::InvalidHeader => next.invalid_header,
                    client::FailureKind::Error => next.error,
                    client::FailureKind::ClientBody => false,
                };
                if go_on(wanted, f.request_sent()) {
                    continue;
                }
                return failed(conf, r, cached, status);
            }
        }
    };
    respond(rt, conf, p, r, answer, peers.busy.take(), store).await
}

/// No server answered: a stale cached answer where the cache may serve
/// one for `status`, else `status`.
fn failed(
    conf: &super::config::LocConf,
    r: &mut Req,
    cached: Option<super::cache::Cached>,
    status: u16,
) -> Outcome {
    cached.and_then(|c| c.on_failure(conf, r, status)).unwrap_or(Outcome::Status(status))
}

/// One try at one peer, counted where its bytes are read; `None` when the
/// client closes its connection before the answer's head comes.
fn exchange_unless_gone<'a, 'b: 'a>(
    rt: &'a Runtime,
    conf: &'a super::config::LocConf,
    r: &mut Req,
    ask: &mut Ask<'b>,
    addr: SocketAddr,
    peers: &Peers<'_>,
    keep: &'a client::Keep<'a>,
) -> UnlessGone<impl Future<Output = Result<client::Answer, client::Failure>> + Send + use<'a>> {
    ask.traffic = rt.config.http.counts_upstream_traffic.then(Default::default);
    if let Some(t) = r.vars.upstream_tries.last_mut() {
        t.traffic.clone_from(&ask.traffic);
    }
    let gone = r.gone.clone().cancelled_owned();
    UnlessGone { answer: exchange(rt, conf, r, ask, addr, peers, keep), gone }
}

pin_project_lite::pin_project! {
    /// An exchange that ends with `None` when the client goes first. A
    /// struct, not `select!`: the macro copied the 2 KB exchange future into
    /// its own tuple on every proxied request.
    struct UnlessGone<F> {
        #[pin]
        answer: F,
        #[pin]
        gone: tokio_util::sync::WaitForCancellationFutureOwned,
    }
}

impl<F: Future> Future for UnlessGone<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The answer first: one that is ready is taken even if the client just went.
        if let Poll::Ready(t) = this.answer.poll(cx) {
            return Poll::Ready(Some(t));
        }
        this.gone.poll(cx).map(|()| None)
    }
}

/// One try at one peer, in the peer's protocol. Built before it runs, so
/// the future holds nothing of the request (which is not `Sync`); not boxed,
/// as it runs for every proxied request.
fn exchange<'a, 'b: 'a>(
    rt: &'a Runtime,
    conf: &'a super::config::LocConf,
    r: &Req,
    ask: &mut Ask<'b>,
    addr: SocketAddr,
    peers: &Peers<'_>,
    keep: &'a client::Keep<'a>,
) -> impl Future<Output = Result<client::Answer, client::Failure>> + Send + use<'a> {
    let head_request = r.method == Method::HEAD && ask.method == Method::HEAD;
    if ask.p.fastcgi {
        let f = &conf.fastcgi;
        let fcgi = super::fastcgi::Ask {
            records: ask.head,
            body: ask.buffered.clone().filter(|b| !b.is_empty() && f.pass_request_body),
            head_request,
            connect_timeout: f.connect_timeout,
            send_timeout: f.send_timeout,
            read_timeout: f.read_timeout,
            gone: rt.upstreams.resolver.gone(addr),
            stderr: stderr_log(rt, r, addr),
            traffic: ask.traffic.take(),
        };
        return futures::future::Either::Left(super::fastcgi::exchange(addr, fcgi, keep));
    }
    let body: Option<super::http::Body> = match (&ask.buffered, ask.streamed.take()) {
        (Some(b), _) if !b.is_empty() => Some(b.body()),
        (_, Some(s)) => {
            Some(BodyExt::boxed(BodyExt::map_err(s, |e| -> super::http::BoxError { Box::new(e) })))
        }
        _ => None,
    };
    let exchange = client::Exchange {
        head: ask.head,
        body,
        chunked: ask.sending == Sending::Chunked,
        head_request,
        upgrade: r.on_upgrade.is_some(),
        connect_timeout: conf.proxy_connect_timeout,
        send_timeout: conf.proxy_send_timeout,
        read_timeout: conf.proxy_read_timeout,
        gone: rt.upstreams.resolver.gone(addr),
        keepalive: peers.group.map(|g| g.def.keepalive).unwrap_or_default(),
        idempotent: !matches!(r.method.as_str(), "POST" | "LOCK" | "PATCH"),
        traffic: ask.traffic.take(),
    };
    futures::future::Either::Right(client::exchange(addr, exchange, keep))
}

/// The request body: read whole before any upstream is contacted (nginx's
/// proxy_request_buffering on), or left to stream as it comes. Err is the
/// status a broken body is answered with.
async fn take_body(
    conf: &super::config::LocConf,
    r: &mut Req,
    whole: bool,
) -> Result<(Option<Arc<super::body::Buffered>>, Option<super::http1::ClientBody>), u16> {
    let Some(mut b) = r.body.take() else {
        return Ok((None, None));
    };
    b.set_limits(conf.client_max_body_size, conf.client_body_timeout);
    r.vars.body_read = Some(b.counter());
    if whole || conf.proxy_request_buffering || hyper::body::Body::is_end_stream(&b) {
        match super::body::Buffered::read(b).await {
            Ok(whole) => Ok((Some(Arc::new(whole)), None)),
            Err(e) => Err(e.status()),
        }
    } else {
        Ok((None, Some(b)))
    }
}

/// What the next try goes to.
enum Pick {
    Addr(SocketAddr),
    /// This peer cannot be reached (its name does not resolve); another may.
    Unavailable,
    /// Every peer was tried.
    Exhausted,
}

/// The peers of one proxied request, in the order nginx tries them: an
/// upstream block's servers as its balancer picks them, or the one address
/// written. A name with several addresses (a scaled service) is, as in
/// nginx, a group of them: the live ones after the first are tried next, in
/// turn, and each failure counts against its address, not the name.
struct Peers<'a> {
    rt: &'a Runtime,
    p: &'a ProxyPass,
    group: Option<&'a Arc<Group>>,
    /// Inline for the few tries a request makes: one each, usually.
    tried: smallvec::SmallVec<[usize; 4]>,
    alternates: std::collections::VecDeque<SocketAddr>,
    spread: bool,
    idx: usize,
    /// A hashing balancer's tries so far.
    hash: HashTries,
    /// This request's place at a `least_conn` peer.
    busy: Option<Busy>,
}

impl<'a> Peers<'a> {
    fn new(rt: &'a Runtime, p: &'a ProxyPass) -> Self {
        let group = rt.upstreams.groups.get(&p.target);
        Peers {
            rt,
            p,
            group,
            tried: smallvec::SmallVec::new(),
            alternates: Default::default(),
            spread: false,
            idx: 0,
            hash: HashTries::default(),
            busy: None,
        }
    }

    fn peer(&self) -> (&'a str, u16) {
        match self.group {
            Some(g) => (g.def.servers[self.idx].host.as_str(), g.def.servers[self.idx].port),
            None => (self.p.host.as_str(), self.p.port),
        }
    }

    fn no_live(&self, r: &Req) {
        self.rt.logs.error(&format!(
            "no live upstreams while connecting to upstream \"{}\", client: {}",
            self.p.target,
            r.vars.remote.ip()
        ));
    }

    async fn pick(&mut self, r: &mut Req) -> Pick {
        loop {
            let next = self.alternates.pop_front();
            if next.is_none() {
                self.idx = match self.group {
                    Some(g) => match g.choose(
                        &self.tried,
                        r.vars.remote.ip(),
                        || hash_key(self.rt, g, r),
                        &mut self.hash,
                        &mut self.busy,
                    ) {
                        Some(i) => i,
                        None => {
                            if self.tried.is_empty() {
                                self.no_live(r);
                            }
                            return Pick::Exhausted;
                        }
                    },
                    None if self.tried.is_empty() => 0,
                    None => return Pick::Exhausted,
                };
                self.tried.push(self.idx);
            }
            let (host, port) = self.peer();
            let resolver = &self.rt.upstreams.resolver;
            let resolved = match next {
                Some(a) => Ok(smallvec::smallvec![a]),
                None => match resolver.known(host, port) {
                    Some(known) => known,
                    None => resolver.resolve(host, port).await.map(Addrs::from_vec),
                },
            };
            return match resolved {
                Ok(a) if next.is_some() => Pick::Addr(a[0]),
                Ok(a) if a.len() > 1 => {
                    self.spread = true;
                    let live = self.rt.upstreams.live(&self.p.target, &a);
                    let Some((first, rest)) = live.split_first() else {
                        self.no_live(r);
                        continue;
                    };
                    self.alternates.extend(rest);
                    Pick::Addr(*first)
                }
                Ok(a) if !a.is_empty() => {
                    self.spread = false;
                    Pick::Addr(a[0])
                }
                other => {
                    self.spread = false;
                    let why = other.err().unwrap_or_else(|| "no address".into());
                    r.vars.upstream_tries.push(UpstreamTry {
                        peer: UpstreamPeer::Named(format!("{host}:{port}").into()),
                        status: Some(502),
                        header: None,
                        time: Some(Duration::ZERO),
                        traffic: None,
                    });
                    let what = format!("upstream \"{host}:{port}\" is unavailable ({why})");
                    log_failure(self.rt, &what, r, None);
                    if let Some(g) = self.group {
                        g.failed(self.idx);
                    }
                    Pick::Unavailable
                }
            };
        }
    }

    fn succeeded(&self, addr: SocketAddr) {
        if self.spread {
            self.rt.upstreams.addr_succeeded(&self.p.target, addr);
        }
        if let Some(g) = self.group {
            g.succeeded(self.idx);
        }
    }

    /// Counts a failure against the peer: its address in a name's group of
    /// addresses, else its server in the upstream block. Unlogged, as nginx
    /// counts a status proxy_next_upstream lists.
    fn fail_quietly(&self, addr: SocketAddr) {
        if self.spread {
            // nginx's defaults for the address a proxy_pass names, or the server's.
            let (max_fails, fail_timeout) = match self.group {
                Some(g) => {
                    (g.def.servers[self.idx].max_fails, g.def.servers[self.idx].fail_timeout)
                }
                None => (1, Duration::from_secs(10)),
            };
            self.rt.upstreams.addr_failed(&self.p.target, addr, max_fails, fail_timeout);
        } else if let Some(g) = self.group {
            g.failed(self.idx);
        }
    }

    /// A failed try: logged as nginx logs it, and counted.
    fn failed(&self, addr: SocketAddr, what: &str, r: &Req, uri: &str) {
        log_failure(self.rt, what, r, Some((&addr, uri)));
        self.fail_quietly(addr);
    }
}

/// The value of a `hash` block's key for this request.
fn hash_key(rt: &Runtime, g: &Group, r: &Req) -> String {
    match &g.def.balance {
        Balance::Hash { key, .. } => key.eval(&Ctx { rv: &r.vars, maps: &rt.config.http.maps }),
        _ => String::new(),
    }
}

/// The try whose answer goes to the client: its status and the time to its
/// head (`$upstream_header_time`); its response time runs to the body's end.
fn answered(r: &mut Req, status: u16, since: Instant) {
    if let Some(t) = r.vars.upstream_tries.last_mut() {
        t.status = Some(status);
        t.header = Some(since.elapsed());
    }
}

/// A try that failed, or whose answer is passed over for the next server:
/// its status, and its time as nginx takes it when it moves on. A failed
/// try has no header time (`-`), as in nginx.
fn passed_over(r: &mut Req, status: u16, since: Instant, head: bool) {
    if let Some(t) = r.vars.upstream_tries.last_mut() {
        let at = since.elapsed();
        t.status = Some(status);
        t.header = head.then_some(at);
        t.time = Some(at);
    }
}

/// Logs a failed attempt at a peer, as nginx words it.
fn log_failure(rt: &Runtime, what: &str, r: &Req, upstream: Option<(&SocketAddr, &str)>) {
    let mut line = format!(
        "{what}, client: {}, request: \"{} {}\"",
        r.vars.remote.ip(),
        r.vars.method,
        r.vars.request_uri
    );
    if let Some((addr, uri)) = upstream {
        line.push_str(&format!(", upstream: \"http://{addr}{uri}\""));
    }
    rt.logs.error(&line);
}

/// The headers of an answer that follow its X-Accel-Redirect, as nginx's.
const CARRIED: [HeaderName; 6] = [
    header::CONTENT_TYPE,
    header::SET_COOKIE,
    header::CONTENT_DISPOSITION,
    header::CACHE_CONTROL,
    header::EXPIRES,
    header::ACCEPT_RANGES,
];

/// X-Accel-Redirect: the answer's body is dropped (and its connection
/// closed) and the request goes on, as a GET, at the URI or named
/// location the upstream gave, internal ones included.
fn accel_redirect(r: &mut Req, target: &[u8], headers: &HeaderMap) -> Outcome {
    let mut carried = HeaderMap::new();
    for name in &CARRIED {
        for v in headers.get_all(name) {
            carried.append(name.clone(), v.clone());
        }
    }
    r.carried = Some(carried);
    if r.method != Method::HEAD {
        r.method = Method::GET;
    }
    r.body = None;
    let target = String::from_utf8_lossy(target);
    if let Some(name) = target.strip_prefix('@') {
        return Outcome::Named(name.to_string());
    }
    let (path, _) = target.split_once('?').unwrap_or((&target, ""));
    // nginx takes no URI that climbs, even within the root, and none that
    // normalization refuses (relative, above the root, NUL): "unsafe URI", 404.
    let climbs = path.split('/').any(|seg| seg == "..");
    if climbs || super::routes::normalize(path).is_err() {
        return Outcome::Status(404);
    }
    Outcome::Internal(target.into_owned())
}

async fn respond(
    rt: &Runtime,
    conf: &super::config::LocConf,
    p: &ProxyPass,
    r: &mut Req,
    answer: client::Answer,
    busy: Option<Busy>,
    store: Option<super::cache::Store>,
) -> Outcome {
    let status = answer.status;
    if rt.config.http.reads_upstream_headers {
        r.vars.upstream_headers = Some(Box::new(answer.headers.clone()));
    }
    let (intercept, ignore_accel) = if p.fastcgi {
        (conf.fastcgi.intercept_errors, conf.fastcgi.ignore_accel_redirect)
    } else {
        (conf.proxy_intercept_errors, conf.ignore_accel_redirect)
    };
    if intercept
        && status.as_u16() >= 300
        && conf.error_pages.iter().any(|e| e.codes.contains(&status.as_u16()))
    {
        return Outcome::Status(status.as_u16());
    }
    if let Some(target) = answer.accel_redirect.as_ref().filter(|_| !ignore_accel) {
        return accel_redirect(r, target, &answer.headers);
    }
    let mut out = Response::new(super::http::empty());
    *out.status_mut() = status;
    *out.headers_mut() = answer.headers;
    if let Some(reason) = answer.reason {
        out.extensions_mut().insert(super::http1::Reason(reason));
    }
    let body = match answer.body {
        client::AnswerBody::Upgraded(upstream, early) => {
            let timeouts = super::tunnel::Timeouts {
                idle: conf.proxy_read_timeout,
                to_client: conf.send_timeout,
                to_upstream: conf.proxy_send_timeout,
            };
            return tunnel(r, out, (upstream, early), timeouts, busy);
        }
        client::AnswerBody::Stream(body) => {
            rewrite_location(rt, conf, p, r, out.headers_mut());
            if !conf.proxy_cookie_path.is_empty() || !conf.proxy_cookie_domain.is_empty() {
                rewrite_cookies(rt, conf, r, out.headers_mut());
            }
            body
        }
        // No proxy_redirect for FastCGI, and a relative Location stays as
        // it is (nginx's header filter leaves an upstream's alone).
        client::AnswerBody::Other(body) => body,
    };
    // An answer that may be kept meets the client's conditions here.
    let verdict = match &store {
        Some(_) if status == hyper::StatusCode::OK => {
            super::not_modified::verdict(&r.vars.headers, out.headers())
        }
        _ => None,
    };
    if verdict == Some(hyper::StatusCode::PRECONDITION_FAILED) {
        // nginx's own 412 page; the answer is not kept.
        return Outcome::Status(412);
    }
    if let Some(v) = verdict {
        *out.status_mut() = v;
        super::not_modified::make_304(out.headers_mut());
        out.extensions_mut().remove::<super::http1::Reason>();
    }
    // A HEAD sent upstream as GET for the cache, or an answer the client
    // has already: the body is read in, and kept.
    let drain = store.is_some() && (r.method == Method::HEAD || verdict.is_some());
    let kept = store.is_some();
    let body = match store {
        Some(s) => s.tee(body, status, reason_of(&out), out.headers().clone()),
        None => body,
    };
    let body = match busy {
        // Counted at its peer until the body has gone or is dropped.
        Some(busy) => BodyExt::boxed(body.map_frame(move |f| {
            let _ = &busy;
            f
        })),
        None => body,
    };
    if drain {
        // A body that follows at once is kept before the answer goes, so
        // the next request finds it, as with nginx (which reads it before
        // it is done with the request); a longer one is read after.
        let mut collect = Box::pin(async move { BodyExt::collect(body).await.map(|_| ()) });
        let soon = tokio::time::timeout(Duration::from_millis(100), collect.as_mut()).await;
        if soon.is_err() {
            tokio::spawn(collect);
        }
    } else {
        *out.body_mut() = body;
        // An answer being kept is cut as it streams, where its upstream
        // said it takes ranges and its length is known (one range only).
        let length =
            out.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
        if let Some(len) = length.filter(|_| {
            kept && status == hyper::StatusCode::OK
                && out.headers().contains_key(header::ACCEPT_RANGES)
        }) {
            out = super::ranges::for_cache(&r.vars.headers, out, len, None);
        }
    }
    Outcome::Done(out)
}

/// A 101 from the upstream: the client gets it, then both connections are
/// joined until either closes; the access line waits for the close.
fn tunnel(
    r: &mut Req,
    mut out: Response<super::http::Body>,
    (upstream, early): (tokio::net::TcpStream, bytes::Bytes),
    timeouts: super::tunnel::Timeouts,
    busy: Option<Busy>,
) -> Outcome {
    let Some(client_upgrade) = r.on_upgrade.take() else {
        return Outcome::Status(502);
    };
    let traffic = r.vars.upstream_tries.last().and_then(|t| t.traffic.clone());
    let end = super::tunnel::spawn(client_upgrade, upstream, early, traffic, timeouts, busy);
    out.extensions_mut().insert(end);
    Outcome::Done(out)
}

/// The upstream's own reason phrase an answer carries, if any.
fn reason_of(out: &Response<super::http::Body>) -> Option<bytes::Bytes> {
    out.extensions().get::<super::http1::Reason>().map(|r| r.0.clone())
}

/// proxy_cookie_path and proxy_cookie_domain on each Set-Cookie: the first
/// rule whose path is a prefix of the cookie's `path=` (whose domain is its
/// `domain=`, without case or a leading dot) writes it anew.
fn rewrite_cookies(rt: &Runtime, conf: &super::config::LocConf, r: &Req, h: &mut HeaderMap) {
    let ctx = Ctx { rv: &r.vars, maps: &rt.config.http.maps };
    let cookies: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
    if cookies.is_empty() {
        return;
    }
    h.remove(header::SET_COOKIE);
    for c in cookies {
        let Ok(text) = c.to_str() else {
            h.append(header::SET_COOKIE, c);
            continue;
        };
        let parts: Vec<String> = text
            .split(';')
            .map(|part| {
                let (name, value) = part.split_once('=').unwrap_or((part, ""));
                let attr = name.trim();
                if attr.eq_ignore_ascii_case("path") {
                    for (from, to) in conf.proxy_cookie_path.iter() {
                        if let Some(rest) = value.strip_prefix(from.as_str()) {
                            return format!("{name}={}{rest}", to.eval(&ctx));
                        }
                    }
                } else if attr.eq_ignore_ascii_case("domain") {
                    let bare = |d: &str| d.trim_start_matches('.').to_ascii_lowercase();
                    for (from, to) in conf.proxy_cookie_domain.iter() {
                        if bare(value) == bare(from) {
                            // The cookie's own leading dot stays, as nginx keeps it.
                            let dot = if value.starts_with('.') { "." } else { "" };
                            return format!(
                                "{name}={dot}{}",
                                to.eval(&ctx).trim_start_matches('.')
                            );
                        }
                    }
                }
                part.to_string()
            })
            .collect();
        match HeaderValue::from_str(&parts.join(";")) {
            Ok(v) => h.append(header::SET_COOKIE, v),
            Err(_) => h.append(header::SET_COOKIE, c),
        };
    }
}

/// proxy_redirect: `default` maps the proxied URL back to the location (the
/// address alone to `/` when proxy_pass names no URI), as nginx's default
/// does; then a Location that starts with `/` is made absolute, as nginx's
/// header filter makes it (absolute_redirect on).
fn rewrite_location(
    rt: &Runtime,
    conf: &super::config::LocConf,
    p: &ProxyPass,
    r: &Req,
    h: &mut HeaderMap,
) {
    let Some(loc) = h.get(header::LOCATION).and_then(|v| v.to_str().ok()).map(String::from) else {
        return;
    };
    let rules: Vec<(String, String)> = match &conf.proxy_redirect {
        Redirect::Off => Vec::new(),
        // nginx has no default rewrite for a URL read from variables.
        Redirect::Default if p.url.is_some() => Vec::new(),
        Redirect::Default => match (&p.uri, r.matched_prefix()) {
            (Some(part), Some(prefix)) => {
                vec![(format!("http://{}{part}", p.proxy_host), prefix.to_string())]
            }
            (None, _) => vec![(format!("http://{}/", p.proxy_host), "/".into())],
            (Some(_), None) => Vec::new(),
        },
        Redirect::Rules(rules) => rules
            .iter()
            .map(|(from, to)| {
                (from.clone(), to.eval(&Ctx { rv: &r.vars, maps: &rt.config.http.maps }))
            })
            .collect(),
    };
    let rewritten = rules
        .iter()
        .find_map(|(from, to)| loc.strip_prefix(from.as_str()).map(|rest| format!("{to}{rest}")));
    let out = rewritten.as_deref().unwrap_or(&loc);
    let out = if out.starts_with('/') { super::handler::absolute(r, out) } else { out.to_string() };
    if out != loc
        && let Ok(v) = HeaderValue::from_str(&out)
    {
        h.insert(header::LOCATION, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::http::{is_hop_by_hop, is_token};

    #[test]
    fn tokens_are_rfc_9110_tokens() {
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            let s = String::from_utf8_lossy(&[b]).into_owned();
            assert_eq!(is_token(&s), want && s.len() == 1, "byte {b:#x}");
        }
        assert!(
            is_token("X-Forwarded-For")
                && !is_token("")
                && !is_token("Bad Name")
                && !is_token("a:b")
        );
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_removed() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, X-Trace , close"),
            ("connection", "x-other"),
            ("keep-alive", "timeout=5"),
            ("x-trace", "1"),
            ("x-other", "2"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-connection", "keep-alive"),
            ("trailer", "x"),
            ("x-kept", "3"),
            ("content-type", "text/plain"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let named = connection_named(&h);
        let left: Vec<&str> = h
            .keys()
            .filter(|k| !is_hop_by_hop(k) && !named.contains(k))
            .map(|k| k.as_str())
            .collect();
        assert_eq!(left, ["x-kept", "content-type"]);
    }
}
