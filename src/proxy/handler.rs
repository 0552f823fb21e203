//! One request through nginx's phases: server rewrite, location search,
//! location rewrite, content (return, proxy_pass, try_files, static), with
//! `error_page` internal redirects and response headers (add_header, expires).

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};

use super::config::{
    Cond, Expires, FileTest, Flag, LocConf, Location, MapDef, Matcher, Server, Step,
};
use super::ctx::Ctx;
use super::files::{self, Found};
use super::http::{Body, empty, full, plain_status};
use super::request::{Outcome, Peers, Req, Runtime, map_written};
use super::routes::{self, Matched};
use super::vars::{Captures, RequestVars, Template};

/// Where a request target's path ends: at its query or its fragment.
fn split_target(target: &str) -> (&str, &str) {
    let end = target.bytes().position(|b| b == b'?' || b == b'#').unwrap_or(target.len());
    let (path, rest) = target.split_at(end);
    let args = match rest.strip_prefix('?') {
        Some(a) => a.split('#').next().unwrap_or_default(),
        None => "",
    };
    (path, args)
}

/// The variables of a request as far as its head goes.
fn request_vars(
    method: Method,
    target: String,
    protocol: &'static str,
    headers: hyper::HeaderMap,
    peers: Peers,
) -> Box<RequestVars> {
    let Peers { remote, remote_text, local, tls, accepted, fd, pipelined, .. } = peers;
    let (path, args) = split_target(&target);
    let args = args.to_string();
    let path_len = path.len();
    // Boxed once here: the request's futures and the access log move it by
    // pointer, not 1 KB at a time; allocated first, so it is built in place.
    Box::write(
        Box::new_uninit(),
        RequestVars {
            method,
            request_uri: target,
            uri: String::new(),
            args,
            protocol,
            headers,
            authority: None,
            host_name: None,
            remote,
            remote_text,
            local,
            server_name: no_server_name(),
            scheme: if tls.is_some() { "https" } else { "http" },
            tls,
            captures: Captures::default(),
            status: 0,
            body_bytes_sent: 0,
            bytes_sent: 0,
            started: Instant::now(),
            started_wall: SystemTime::now(),
            proxy_host: None,
            proxy_port: None,
            upstream_tries: Default::default(),
            fastcgi: None,
            upstream_cache_status: "",
            limit_req_status: "",
            limit_conn_status: "",
            upstream_headers: None,
            request_body: None,
            document_root: Default::default(),
            request_filename: Default::default(),
            mapped_filename: None,
            realip_peer: None,
            sent_headers: hyper::HeaderMap::new(),
            maps: Default::default(),
            connection: peers.connection,
            connection_requests: peers.requests,
            head_length: 0,
            body_read: None,
            path_len,
            request_line: None,
            raw_headers: Vec::new(),
            accepted,
            fd,
            pipelined,
            completed: false,
            proxy_body: Default::default(),
            cache_validators: None,
        },
    )
}

/// `$server_name` before a server is chosen: one shared empty name, not an allocation a request.
fn no_server_name() -> Arc<str> {
    static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from("")).clone()
}

/// Answers a head the connection refused (a bad request line or header,
/// a method nginx does not serve): nginx's page for the status, logged as
/// nginx logs it, by the server the address (and Host, when read) selects.
pub fn refused(rt: Arc<Runtime>, r: super::http1::Refused, peers: Peers) -> Response<Body> {
    let mut words = r.line.splitn(3, ' ');
    let method =
        words.next().and_then(|m| Method::from_bytes(m.as_bytes()).ok()).unwrap_or(Method::GET);
    let local = peers.local;
    let mut vars = request_vars(method, String::new(), "HTTP/1.1", hyper::HeaderMap::new(), peers);
    vars.request_line = Some(r.line.clone());
    let server = routes::select_server(&rt.config, local, "").cloned();
    if let Some(s) = &server {
        vars.server_name = s.primary_name.clone();
    }
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = plain_status(status);
    resp.extensions_mut().insert(super::http::CloseAfter);
    finish(&rt, server.as_ref().map(|s| &s.conf), vars, resp).0
}

/// Answers one request, with the send_timeout of the location that
/// answered. The access log line is written when the body ends.
pub async fn handle(
    rt: Arc<Runtime>,
    req: Box<super::http1::Request>,
    peers: Peers,
) -> (Response<Body>, Option<std::time::Duration>) {
    let super::http1::Request { head, body, upgrade, gone, .. } = *req;
    let (local, plain_on_tls) = (peers.local, peers.plain_on_tls);
    let mut vars = vars_of(head, peers);
    let method = vars.method.clone();
    let host = vars.authority.as_deref().or(vars.host_name.as_deref()).unwrap_or_default();
    let Some(server) = routes::select_server(&rt.config, local, host).cloned() else {
        return finish(&rt, None, vars, plain_status(StatusCode::NOT_FOUND));
    };
    vars.server_name = server.primary_name.clone();
    let mut r = Req {
        method,
        body: Some(body),
        vars,
        rewritten_break: false,
        if_location: None,
        www_authenticate: None,
        uri_changed: false,
        prefix_location: None,
        on_upgrade: upgrade,
        seen: Default::default(),
        carried: None,
        plain_on_tls,
        close_after: false,
        conn_held: Vec::new(),
        gone,
    };
    let (mut resp, conf) = process(&rt, &server, &mut r).await;
    if r.close_after {
        resp.extensions_mut().insert(super::http::CloseAfter);
    }
    // Counted in limit_conn zones until the whole answer has gone.
    if !r.conn_held.is_empty() {
        let held = std::mem::take(&mut r.conn_held);
        let (parts, body) = resp.into_parts();
        resp = Response::from_parts(parts, super::body::holding(body, held));
    }
    // nginx's filter order: sub_filter's replacing, then gzip's compressing.
    let resp =
        super::sub_filter::maybe(&conf, &Ctx { rv: &r.vars, maps: &rt.config.http.maps }, resp);
    let resp = super::gzip::maybe(&conf, &r.vars.headers, resp);
    finish(&rt, Some(&conf), r.vars, resp)
}

/// The request's variables, made of its head. A plain function: what the
/// head leaves over would otherwise stay in the handler's future, 288
/// bytes copied with it.
fn vars_of(head: super::http1::Head, peers: Peers) -> Box<RequestVars> {
    let mut vars = request_vars(head.method, head.target, head.protocol, head.headers, peers);
    vars.head_length = head.len as u64;
    vars.authority = head.authority;
    vars.host_name = head.host;
    vars.uri = head.uri;
    vars.raw_headers = head.raw_headers;
    vars
}

/// The `Date` header for this second, made once per second per thread:
/// a clone shares its bytes.
fn date_now() -> Option<HeaderValue> {
    thread_local! {
        static DATE: std::cell::RefCell<(u64, Option<HeaderValue>)> = const { std::cell::RefCell::new((u64::MAX, None)) };
    }
    let now = SystemTime::now();
    let secs = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs {
            *d = (
                secs,
                super::time::with_time(now, super::time::TimeFormat::Http, &mut |t| {
                    HeaderValue::from_str(t).ok()
                }),
            );
        }
        d.1.clone()
    })
}

fn finish(
    rt: &Runtime,
    conf: Option<&Arc<LocConf>>,
    mut vars: Box<RequestVars>,
    mut resp: Response<Body>,
) -> (Response<Body>, Option<std::time::Duration>) {
    // server_tokens off: the name without the version, as nginx does.
    let tokens = conf.is_none_or(|c| c.server_tokens);
    let server =
        if tokens { rt.server_header.clone() } else { HeaderValue::from_static("rcompose") };
    resp.headers_mut().insert(header::SERVER, server);
    if !resp.headers().contains_key(header::DATE)
        && let Some(v) = date_now()
    {
        resp.headers_mut().insert(header::DATE, v);
    }
    vars.status = resp.status().as_u16();
    match conf {
        Some(conf) => (rt.logs.wrap(conf, &rt.config.http, vars, resp), Some(conf.send_timeout)),
        None => (resp, None),
    }
}

/// Runs rewrite steps; returns an outcome when they decide the answer.
/// `Some(Ok(true))` means the URI changed and the location must be searched again.
fn run_steps(
    rt: &Runtime,
    steps: &[Step],
    r: &mut Req,
    conf: &LocConf,
) -> Result<bool, Box<Outcome>> {
    let mut research = false;
    Ok(run_level(rt, steps, r, conf, &mut research)?.unwrap_or(research))
}

/// One level of steps (a location's, or an `if` block's inside it);
/// `Some(research)` when processing stops here (`break`, `rewrite ... last`).
fn run_level(
    rt: &Runtime,
    steps: &[Step],
    r: &mut Req,
    conf: &LocConf,
    research: &mut bool,
) -> Result<Option<bool>, Box<Outcome>> {
    let maps = &rt.config.http.maps[..];
    for step in steps {
        match step {
            Step::If { cond, steps, location } => {
                if !holds(rt, cond, r) {
                    continue;
                }
                if let Some(l) = location {
                    r.if_location = Some(l.clone());
                }
                if let Some(stop) = run_level(rt, steps, r, conf, research)? {
                    return Ok(Some(stop));
                }
            }
            Step::Break => {
                // As ngx_http_script_break_code: a changed URI stays in this location.
                if *research {
                    r.rewritten_break = true;
                }
                return Ok(Some(false));
            }
            Step::Return { code, body } => {
                // An answer with text reads what came of the body first (ngx_http_send_response).
                if body.is_some()
                    && let Some(Err(e)) = r.body.as_mut().map(|b| b.discard_arrived())
                {
                    return Err(Box::new(Outcome::Status(e.status())));
                }
                let ctx = Ctx { rv: &r.vars, maps };
                let text = body.as_ref().map(|b| b.eval(&ctx));
                return Err(Box::new(match (code, text) {
                    (301 | 302 | 303 | 307 | 308, Some(url)) => Outcome::Redirect(*code, url),
                    (c, Some(text)) => {
                        // As ngx_http_set_content_type: by the URI's extension.
                        let ty = content_type(conf, std::path::Path::new(&r.vars.uri));
                        let resp = Response::builder()
                            .status(StatusCode::from_u16(*c).unwrap_or(StatusCode::OK))
                            .header(header::CONTENT_TYPE, ty)
                            .header(header::CONTENT_LENGTH, text.len())
                            .body(full(text))
                            .expect("valid response");
                        Outcome::Done(resp)
                    }
                    (c, None) => Outcome::Status(*c),
                }));
            }
            Step::Set { var, value } => {
                let v = value.eval(&Ctx { rv: &r.vars, maps });
                r.vars.maps.insert(var.clone(), v);
            }
            Step::Rewrite { regex, replacement, flag } => {
                let Some(caps) = regex.captures(&r.vars.uri) else {
                    continue;
                };
                r.vars.captures = caps;
                let (new_uri, args, bare) = replacement.eval_rewrite(&Ctx { rv: &r.vars, maps });
                let new_args = match args {
                    Some(a) if bare || r.vars.args.is_empty() => Some(a),
                    Some(a) => Some(format!("{a}&{}", r.vars.args)),
                    None => None,
                };
                let external = new_uri.starts_with("http://") || new_uri.starts_with("https://");
                if external || matches!(flag, Flag::Redirect | Flag::Permanent) {
                    let args = new_args.unwrap_or_else(|| r.vars.args.clone());
                    let location =
                        if args.is_empty() { new_uri } else { format!("{new_uri}?{args}") };
                    return Err(Box::new(Outcome::Redirect(
                        if *flag == Flag::Permanent { 301 } else { 302 },
                        location,
                    )));
                }
                r.vars.uri = new_uri;
                if let Some(a) = new_args {
                    r.vars.args = a;
                }
                r.uri_changed = true;
                match flag {
                    Flag::Last => return Ok(Some(true)),
                    Flag::Break => {
                        r.rewritten_break = true;
                        return Ok(Some(false));
                    }
                    _ => *research = true,
                }
            }
        }
    }
    Ok(None)
}

/// Whether an `if` condition holds for the request; a regular expression
/// that matches sets the captures, as nginx's does.
fn holds(rt: &Runtime, cond: &Cond, r: &mut Req) -> bool {
    let maps = &rt.config.http.maps[..];
    let eval = |t: &super::vars::Template, r: &Req| t.eval(&Ctx { rv: &r.vars, maps });
    match cond {
        Cond::Var(v) => {
            let v = eval(v, r);
            !(v.is_empty() || v == "0")
        }
        Cond::Eq { value, to, negate } => (eval(value, r) == eval(to, r)) != *negate,
        Cond::Match { value, regex, negate } => {
            let v = eval(value, r);
            match regex.captures(&v) {
                Some(c) => {
                    if !*negate {
                        r.vars.captures = Captures::from_regex(&v, &c);
                    }
                    !*negate
                }
                None => *negate,
            }
        }
        Cond::File { path, test, negate } => {
            let path = eval(path, r);
            // A path as nginx's container has it is looked up where it lives here.
            let host = super::request::map_written(&rt.prefix, &*rt.paths, &path)
                .unwrap_or_else(|| std::path::PathBuf::from(&path));
            let meta = std::fs::metadata(&host);
            let yes = match (test, meta) {
                (_, Err(_)) => false,
                (FileTest::Exists, Ok(_)) => true,
                (FileTest::File, Ok(m)) => m.is_file(),
                (FileTest::Dir, Ok(m)) => m.is_dir(),
                (FileTest::Exec, Ok(m)) => {
                    use std::os::unix::fs::PermissionsExt;
                    m.is_file() && m.permissions().mode() & 0o111 != 0
                }
            };
            yes != *negate
        }
    }
}

/// Preaccess (the realip module's location settings, `limit_req`) and
/// access (`auth_basic`), after the rewrites
/// and before content, as nginx orders its phases: the status that
/// refuses the request, if one does.
async fn access_phases(rt: &Runtime, conf: &LocConf, r: &mut Req) -> Option<u16> {
    real_ip(conf, r);
    if !conf.limit_req.is_empty() {
        match limit_req(rt, conf, r) {
            Err(status) => return Some(status),
            Ok(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
            Ok(_) => {}
        }
    }
    if let Some(status) = limit_conn(rt, conf, r) {
        return Some(status);
    }
    // The access module before auth_basic, as nginx runs them (`satisfy all`).
    let client = r.vars.remote.ip();
    let rule =
        conf.access_rules.iter().find(|(_, from)| from.as_ref().is_none_or(|c| c.contains(client)));
    if let Some((false, _)) = rule {
        rt.logs
            .error(&format!("access forbidden by rule, client: {}", r.vars.remote_text.as_str()));
        return Some(403);
    }
    basic_auth(rt, conf, r)
}

/// `limit_conn`: the request counted in each zone of the location; the
/// status when one is full (logged; dry run lets it on).
fn limit_conn(rt: &Runtime, conf: &LocConf, r: &mut Req) -> Option<u16> {
    for l in conf.limit_conn.iter() {
        let Some(zone) = rt.config.http.conn_zones.get(&l.zone) else { continue };
        let key = zone.key.eval(&Ctx { rv: &r.vars, maps: &rt.config.http.maps });
        // An empty key is not counted, as in nginx.
        if key.is_empty() {
            continue;
        }
        match zone.enter(&key, l.max) {
            Some(held) => {
                r.conn_held.push(held);
                r.vars.limit_conn_status = "PASSED";
            }
            None => {
                r.vars.limit_conn_status =
                    if conf.limit_conn_dry_run { "REJECTED_DRY_RUN" } else { "REJECTED" };
                let dry = if conf.limit_conn_dry_run { ", dry run" } else { "" };
                rt.logs.error(&format!(
                    "limiting connections{dry} by zone \"{}\", client: {}",
                    zone.name,
                    r.vars.remote.ip()
                ));
                if !conf.limit_conn_dry_run {
                    return Some(conf.limit_conn_status);
                }
            }
        }
    }
    None
}

/// `limit_req`: every limit of the location accounts the request; the
/// status when one refuses it, else the longest delay one asks for.
fn limit_req(rt: &Runtime, conf: &LocConf, r: &mut Req) -> Result<std::time::Duration, u16> {
    use super::limit::Verdict;
    let now = std::time::Instant::now();
    let mut delay = std::time::Duration::ZERO;
    let mut refused_dry = false;
    let dry = conf.limit_req_dry_run;
    for limit in conf.limit_req.iter() {
        let Some(zone) = rt.config.http.limit_zones.get(&limit.zone) else { continue };
        let key = zone.key.eval(&Ctx { rv: &r.vars, maps: &rt.config.http.maps });
        // An empty key is not limited, as in nginx.
        if key.is_empty() {
            continue;
        }
        match zone.account(&key, limit, now) {
            Verdict::Pass => {}
            Verdict::Delay(d) => delay = delay.max(d),
            Verdict::Refuse => {
                rt.logs.error(&format!(
                    "limiting requests{}, by zone \"{}\", client: {}",
                    if conf.limit_req_dry_run { ", dry run" } else { "" },
                    zone.name,
                    r.vars.remote.ip()
                ));
                if !dry {
                    r.vars.limit_req_status = "REJECTED";
                    return Err(conf.limit_req_status);
                }
                refused_dry = true;
            }
        }
    }
    r.vars.limit_req_status = match (refused_dry, delay.is_zero(), dry) {
        (true, _, _) => "REJECTED_DRY_RUN",
        (false, true, _) => "PASSED",
        (false, false, true) => "DELAYED_DRY_RUN",
        (false, false, false) => "DELAYED",
    };
    Ok(if dry { std::time::Duration::ZERO } else { delay })
}

/// `auth_basic`: the status that refuses the request (401 without valid
/// credentials, 500 when the user file cannot be read), None to let it on.
fn basic_auth(rt: &Runtime, conf: &LocConf, r: &mut Req) -> Option<u16> {
    let (Some(realm), Some(file)) = (&conf.auth_basic, &conf.auth_basic_user_file) else {
        return None;
    };
    let ctx = Ctx { rv: &r.vars, maps: &rt.config.http.maps };
    let realm = realm.eval(&ctx);
    if realm == "off" {
        return None;
    }
    let file = file.eval(&ctx);
    let challenge = || {
        let v = format!("Basic realm=\"{realm}\"");
        header::HeaderValue::from_str(&v).ok()
    };
    let given = r
        .vars
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| super::auth::credentials(v.as_bytes()));
    let Some((user, pass)) = given else {
        r.www_authenticate = challenge();
        return Some(401);
    };
    let host = super::request::map_written(&rt.prefix, &*rt.paths, &file)
        .unwrap_or_else(|| std::path::PathBuf::from(&file));
    let Ok(text) = std::fs::read_to_string(&host) else {
        rt.logs.error(&format!("open() \"{file}\" failed (2: No such file or directory)"));
        return Some(500);
    };
    if super::auth::allowed(&text, &user, &pass) {
        return None;
    }
    rt.logs.error(&format!("user \"{user}\": password mismatch or not found in \"{file}\""));
    r.www_authenticate = challenge();
    Some(401)
}

/// The realip module, once per request: at the server level (nginx's
/// post-read phase), else with the location's settings (its preaccess).
fn real_ip(conf: &LocConf, r: &mut Req) {
    if conf.real_ip_from.is_empty() || r.vars.realip_peer.is_some() {
        return;
    }
    let name = conf.real_ip_header.as_ref();
    let forwarded_for = name.eq_ignore_ascii_case("X-Forwarded-For");
    let values: Vec<&str> =
        r.vars.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    let value = (!values.is_empty()).then(|| values.join(", "));
    let peer = r.vars.remote;
    if let Some(client) = super::realip::real_addr(
        peer,
        &conf.real_ip_from,
        value.as_deref(),
        forwarded_for,
        conf.real_ip_recursive,
    ) {
        r.vars.realip_peer = Some((peer, r.vars.remote_text));
        r.vars.remote = client;
        r.vars.remote_text = super::vars::IpText::new(&client);
    }
}

/// The auto redirect's target: the URI with a slash, and the arguments.
fn with_slash(r: &Req) -> String {
    let mut to = format!("{}/", r.vars.uri);
    if !r.vars.args.is_empty() {
        to.push('?');
        to.push_str(&r.vars.args);
    }
    to
}

/// A location's rewrite steps; the location that answers after them (an
/// `if` whose condition held answers with its own settings, as in nginx).
fn location_steps(
    rt: &Runtime,
    loc: Arc<Location>,
    r: &mut Req,
) -> (Arc<Location>, Result<bool, Box<Outcome>>) {
    r.rewritten_break = false;
    r.if_location = None;
    // Only `if` reads files in the rewrite phase: a rewrite or return alone
    // (the common /api/ location) pays nothing for it.
    if loc.steps.iter().any(|s| matches!(s, Step::If { .. })) {
        r.vars.mapped_filename = document(rt, &loc.conf, Some(&loc), r, &r.vars.uri)
            .map(|(base, rel)| base.join(rel.trim_start_matches('/')));
    }
    let stepped = run_steps(rt, &loc.steps, r, &loc.conf);
    (r.if_location.take().unwrap_or(loc), stepped)
}

/// The phases, with internal redirects (at most ten, as nginx allows).
async fn process(
    rt: &Runtime,
    server: &Arc<Server>,
    r: &mut Req,
) -> (Response<Body>, Arc<LocConf>) {
    let maps = &rt.config.http.maps;
    let mut conf = server.conf.clone();
    let mut error_status: Option<u16> = None;
    let mut named: Option<String> = None;
    let mut outcome = server_phase(rt, server, r);
    for _ in 0..12 {
        if outcome.is_none() {
            // Find the location for the current URI (or the named one).
            let matched: Option<Matched> = match named.take() {
                Some(n) => server
                    .named
                    .get(&n)
                    .map(|l| Matched { location: l.clone(), captures: Captures::default() }),
                None => {
                    if let Some(l) = routes::auto_redirect(&server.locations, &r.vars.uri) {
                        conf = l.conf.clone();
                        outcome = Some(Outcome::Redirect(301, with_slash(r)));
                        continue;
                    }
                    routes::find_location(&server.locations, &r.vars.uri)
                }
            };
            let Some(m) = matched else {
                conf = server.conf.clone();
                outcome = Some(static_content(rt, &conf, None, r).await);
                continue;
            };
            let loc = m.location.clone();
            conf = loc.conf.clone();
            if !m.captures.is_empty() {
                r.vars.captures = m.captures;
            }
            r.prefix_location = match &loc.matcher {
                Matcher::Prefix { .. } | Matcher::Exact(_) => Some(loc.clone()),
                _ => None,
            };
            if loc.internal && error_status.is_none() && !r.uri_changed {
                outcome = Some(Outcome::Status(404));
                continue;
            }
            // Body size limit, for the location that answers.
            if conf.client_max_body_size > 0 && declared_length(r) > conf.client_max_body_size {
                outcome = Some(Outcome::Status(413));
                continue;
            }
            let (loc, stepped) = location_steps(rt, loc, r);
            conf = loc.conf.clone();
            match stepped {
                Err(o) => {
                    outcome = Some(*o);
                    continue;
                }
                Ok(true) => continue,
                Ok(false) => {}
            }
            if let Some(status) = access_phases(rt, &loc.conf, r).await {
                outcome = Some(Outcome::Status(status));
                continue;
            }
            outcome = Some(content(rt, &loc, r).await);
        }
        match outcome.take().expect("set above") {
            Outcome::Done(resp) => {
                let status = error_status.map(|s| StatusCode::from_u16(s).unwrap_or(resp.status()));
                return (decorate(rt, &conf, r, resp, status), conf);
            }
            Outcome::Redirect(code, url) => {
                let location = absolute(r, &url);
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::FOUND);
                let mut resp = plain_status(status);
                if let Ok(v) = HeaderValue::from_str(&location) {
                    resp.headers_mut().insert(header::LOCATION, v);
                }
                return (decorate(rt, &conf, r, resp, None), conf);
            }
            Outcome::Internal(uri) => internal_redirect(r, uri),
            Outcome::Named(n) => named = Some(n),
            Outcome::Status(code) => {
                // An error page has its own type, whatever an X-Accel-Redirect carried.
                if let Some(c) = r.carried.as_mut() {
                    c.remove(header::CONTENT_TYPE);
                }
                if code == 444 {
                    return (plain_status(StatusCode::BAD_REQUEST), conf);
                }
                // nginx ends the connection after these, whatever page answers them.
                r.close_after |= matches!(code, 400 | 413 | 414 | 495..=497 | 500 | 501);
                // error_page, once per request (recursive_error_pages off).
                let page = error_status.is_none().then(|| error_page_for(&conf, code)).flatten();
                match page {
                    Some(p) => {
                        error_status = Some(match p.response {
                            Some(Some(c)) => c,
                            Some(None) => 200,
                            None => code,
                        });
                        outcome = Some(error_page(&p, r, maps));
                    }
                    None => {
                        let own_400 = if (494..=497).contains(&code) { 400 } else { code };
                        let status = StatusCode::from_u16(error_status.unwrap_or(own_400))
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                        let mut resp = plain_status(StatusCode::from_u16(code).unwrap_or(status));
                        *resp.status_mut() = status;
                        if r.method == Method::HEAD {
                            *resp.body_mut() = empty();
                        }
                        return (decorate(rt, &conf, r, resp, None), conf);
                    }
                }
            }
        }
    }
    (plain_status(StatusCode::INTERNAL_SERVER_ERROR), conf)
}

/// The server level's phases: the realip module, then the rewrite steps
/// written in `server`. A plain request on a TLS port is answered before
/// any of them, as nginx's 497.
fn server_phase(rt: &Runtime, server: &Arc<Server>, r: &mut Req) -> Option<Outcome> {
    real_ip(&server.conf, r);
    if r.plain_on_tls {
        return Some(Outcome::Status(497));
    }
    run_steps(rt, &server.steps, r, &server.conf).err().map(|b| *b)
}

fn error_page_for(conf: &LocConf, code: u16) -> Option<super::config::ErrorPage> {
    conf.error_pages.iter().find(|p| p.codes.contains(&code)).cloned()
}

/// An internal redirect to `uri` (with its own arguments, if any).
fn internal_redirect(r: &mut Req, uri: String) {
    let (u, a) = match uri.split_once('?') {
        Some((u, a)) => (u.to_string(), Some(a.to_string())),
        None => (uri, None),
    };
    r.vars.uri = match routes::normalize(&u) {
        Ok(std::borrow::Cow::Owned(n)) => n,
        // Already normal: the string in hand is the URI.
        Ok(std::borrow::Cow::Borrowed(_)) | Err(_) => u,
    };
    if let Some(a) = a {
        r.vars.args = a;
    }
    r.uri_changed = true;
}

/// Where an error page sends the request: a redirect for a URL, a named
/// location, or an internal redirect, made as a GET without its body.
fn error_page(p: &super::config::ErrorPage, r: &mut Req, maps: &[MapDef]) -> Outcome {
    let target = p.uri.eval(&Ctx { rv: &r.vars, maps });
    if r.method != Method::HEAD {
        r.method = Method::GET;
    }
    r.body = None;
    if target.starts_with("http://") || target.starts_with("https://") {
        // `=301` and the other redirect codes stay; any other answer is a 302.
        let code = match p.response {
            Some(Some(c @ (301 | 302 | 303 | 307 | 308))) => c,
            _ => 302,
        };
        Outcome::Redirect(code, target)
    } else if let Some(name) = target.strip_prefix('@') {
        Outcome::Named(name.to_string())
    } else {
        Outcome::Internal(target)
    }
}

/// A header value with each line break and the blanks around it made one space.
fn unfold(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\n', '\r']) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    for (i, line) in value.split(['\n', '\r']).filter(|l| !l.trim().is_empty()).enumerate() {
        if i > 0 {
            out.push(' ');
            out.push_str(line.trim());
        } else {
            out.push_str(line.trim_end());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The body length the client declared, 0 when none.
fn declared_length(r: &Req) -> u64 {
    r.vars
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// nginx's charset filter without recoding: the charset is added to a
/// listed type that has none, or written again where the answer names the
/// same one; an answer in another charset, or encoded, is left as it is.
fn add_charset(h: &mut header::HeaderMap, charset: &str, types: &[String]) {
    if h.get(header::CONTENT_ENCODING).is_some_and(|v| !v.is_empty()) {
        return;
    }
    let Some(ct) = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let (ty, params) = ct.split_once(';').unwrap_or((ct, ""));
    let ty = ty.trim();
    // text/html always, "in addition to" the listed types, as nginx's docs say.
    if !ty.eq_ignore_ascii_case("text/html")
        && !types.iter().any(|t| t == "*" || t.eq_ignore_ascii_case(ty))
    {
        return;
    }
    let given = params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("charset").then(|| v.trim().trim_matches('"'))
    });
    if given.is_some_and(|g| !g.eq_ignore_ascii_case(charset)) {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{ty}; charset={charset}")) {
        h.insert(header::CONTENT_TYPE, v);
    }
}

/// Makes a redirect target absolute as nginx does: `$host`, and the port the
/// server listens on unless it is 80.
pub(super) fn absolute(r: &Req, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") || !url.starts_with('/') {
        return url.to_string();
    }
    let port = r.vars.local.port();
    let host = r.vars.host();
    if port == 80 {
        format!("{}://{host}{url}", r.vars.scheme)
    } else {
        format!("{}://{host}:{port}{url}", r.vars.scheme)
    }
}

async fn content(rt: &Runtime, loc: &Arc<Location>, r: &mut Req) -> Outcome {
    // try_files comes first, as nginx's precontent phase: what it finds goes
    // to the location's proxy_pass or fastcgi_pass, if it has one.
    if let Some(tf) = &loc.try_files {
        return try_files(rt, &loc.conf, loc, tf, r).await;
    }
    if let Some(p) = &loc.proxy {
        // Boxed: the exchange's state is large, and every request's future
        // would otherwise carry (and move) it, static files included.
        return super::pinned::boxed(|| super::forward::forward(rt, loc, p, r)).await;
    }
    static_content(rt, &loc.conf, Some(loc), r).await
}

/// The host folder a root or alias names: from `rt.host_dirs` when it is
/// written without variables (mapped when the configuration loaded).
fn host_dir(rt: &Runtime, r: &Req, t: &Template) -> Option<Arc<Path>> {
    if let Some(lit) = t.literal()
        && let Some(known) = rt
            .host_dirs_by_text
            .get(&super::request::TextAt::of(lit))
            .or_else(|| rt.host_dirs.get(lit))
    {
        return known.clone();
    }
    map_written(&rt.prefix, &*rt.paths, &t.eval(&Ctx { rv: &r.vars, maps: &rt.config.http.maps }))
        .map(Arc::from)
}

/// The host folder a location serves from, and the path of the URI in it.
fn document<'u>(
    rt: &Runtime,
    conf: &LocConf,
    loc: Option<&Arc<Location>>,
    r: &Req,
    uri: &'u str,
) -> Option<(Arc<Path>, Cow<'u, str>)> {
    if let (Some(alias), Some(Matcher::Prefix { path, .. })) =
        (&conf.alias, loc.map(|l| &l.matcher))
    {
        let base = host_dir(rt, r, alias)?;
        let rest = uri.strip_prefix(path.as_str()).unwrap_or(uri);
        // nginx joins the alias and the rest of the URI as strings: with no
        // slash between them (`alias /a/b;` in `location /s/`), `/s/x` is
        // `/a/bx` and `/s/` is the folder `/a/b` with `index.html` glued on.
        // The same here, found in the alias's parent folder.
        let written = alias.eval(&Ctx { rv: &r.vars, maps: &rt.config.http.maps });
        if !written.ends_with('/')
            && !rest.starts_with('/')
            && let (Some(parent), Some(name)) = (base.parent(), base.file_name())
        {
            let rel = format!("/{}{rest}", name.to_string_lossy());
            return Some((Arc::from(parent), Cow::Owned(rel)));
        }
        return Some((base, Cow::Owned(format!("/{}", rest.trim_start_matches('/')))));
    }
    Some((host_dir(rt, r, &conf.root)?, Cow::Borrowed(uri)))
}

/// The type `types` gives the file name's extension (what follows its last
/// dot, as nginx takes it: `.bashrc` has one), else `default_type`.
fn content_type<'a>(conf: &'a LocConf, path: &std::path::Path) -> &'a str {
    // On the bytes: Path's own component parsing and a lossy copy cost more
    // than the lookup itself, on every file served.
    let bytes = path.as_os_str().as_encoded_bytes();
    let name = &bytes[bytes.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1)..];
    let ext = name.iter().rposition(|&b| b == b'.').map(|i| &name[i + 1..]);
    let found = match ext.map(std::str::from_utf8) {
        // Most names are lowercase already: looked up as they are, unallocated.
        Some(Ok(e)) if e.bytes().any(|b| b.is_ascii_uppercase()) => {
            conf.types.get(&e.to_ascii_lowercase())
        }
        Some(Ok(e)) => conf.types.get(e),
        Some(Err(_)) | None => None,
    };
    found.unwrap_or(&conf.default_type)
}

async fn static_content(
    rt: &Runtime,
    conf: &Arc<LocConf>,
    loc: Option<&Arc<Location>>,
    r: &mut Req,
) -> Outcome {
    if !matches!(r.method, Method::GET | Method::HEAD) && r.method != Method::POST {
        return Outcome::Status(405);
    }
    let uri = r.vars.uri.clone();
    let Some((root, rel)) = document(rt, conf, loc, r, &uri) else {
        return Outcome::Status(404);
    };
    r.vars.document_root = Some(root.clone());
    if uri.ends_with('/') {
        for idx in &conf.index {
            // Written without variables (`index index.html`), the name is lent.
            let name = match idx.literal() {
                Some(lit) => Cow::Borrowed(lit),
                None => Cow::Owned(idx.eval(&Ctx { rv: &r.vars, maps: &rt.config.http.maps })),
            };
            if name.starts_with('/') {
                return Outcome::Internal(name.into_owned());
            }
            if let Found::File(..) =
                files::lookup(&root, &[&rel, &*name].concat(), &rt.cache, &r.seen)
            {
                return Outcome::Internal([uri.as_str(), &*name].concat());
            }
        }
        return match files::lookup(&root, &rel, &rt.cache, &r.seen) {
            Found::Dir | Found::Forbidden => Outcome::Status(403),
            _ => Outcome::Status(404),
        };
    }
    match files::lookup(&root, &rel, &rt.cache, &r.seen) {
        Found::File(f) => serve_file(rt, conf, r, f).await,
        Found::Dir => {
            let args =
                if r.vars.args.is_empty() { String::new() } else { format!("?{}", r.vars.args) };
            Outcome::Redirect(301, format!("{}/{args}", routes::escape_uri(&uri)))
        }
        Found::Forbidden => Outcome::Status(403),
        Found::Missing => Outcome::Status(404),
    }
}

/// Answers with a file already looked up (only GET and HEAD read files).
async fn serve_file(rt: &Runtime, conf: &LocConf, r: &mut Req, f: Arc<files::FileAt>) -> Outcome {
    if !matches!(r.method, Method::GET | Method::HEAD) {
        return Outcome::Status(405);
    }
    if let Some(Err(e)) = r.body.as_mut().map(|b| b.discard_arrived()) {
        return Outcome::Status(e.status());
    }
    let ct = content_type(conf, &f.path);
    let resp =
        files::respond(&f.path, &f.meta, ct, &r.method, &r.vars.headers, &rt.cache, conf.sendfile)
            .await;
    r.vars.request_filename = Some(f);
    Outcome::Done(resp)
}

async fn try_files(
    rt: &Runtime,
    conf: &Arc<LocConf>,
    loc: &Arc<Location>,
    list: &[Template],
    r: &mut Req,
) -> Outcome {
    let maps = &rt.config.http.maps;
    let (fallback, candidates) = list.split_last().expect("two or more, checked at load");
    for c in candidates {
        let value = c.eval(&Ctx { rv: &r.vars, maps });
        let Some((root, rel)) = document(rt, conf, Some(loc), r, &value) else {
            continue;
        };
        let Ok(norm) = routes::normalize(&rel) else {
            continue;
        };
        // A folder only for an argument written with a final slash (`$uri/`):
        // `$uri` of `/static/` looks for a file, as in nginx.
        let dir_wanted = c.ends_with_slash();
        match files::lookup(&root, &norm, &rt.cache, &r.seen) {
            Found::Dir if dir_wanted => {
                // A directory asked for without its slash: redirected to add it, as nginx does.
                if !r.vars.uri.ends_with('/') {
                    let args = if r.vars.args.is_empty() {
                        String::new()
                    } else {
                        format!("?{}", r.vars.args)
                    };
                    return Outcome::Redirect(
                        301,
                        format!("{}/{args}", routes::escape_uri(&r.vars.uri)),
                    );
                }
                if let Some(p) = &loc.proxy {
                    return pass_on(rt, loc, p, r, value).await;
                }
                r.vars.uri = value;
                r.uri_changed = true;
                return static_content(rt, conf, Some(loc), r).await;
            }
            Found::File(f) if !dir_wanted && !value.ends_with('/') => {
                if let Some(p) = &loc.proxy {
                    return pass_on(rt, loc, p, r, value).await;
                }
                // Found already: served from here, not looked up a second time.
                r.vars.uri = value;
                r.uri_changed = true;
                r.vars.document_root = Some(root);
                return serve_file(rt, conf, r, f).await;
            }
            _ => {}
        }
    }
    let value = fallback.eval(&Ctx { rv: &r.vars, maps });
    if let Some(code) = value.strip_prefix('=') {
        return Outcome::Status(code.parse().unwrap_or(404));
    }
    if let Some(name) = value.strip_prefix('@') {
        return Outcome::Named(name.to_string());
    }
    Outcome::Internal(value)
}

/// What try_files found, handed to the location's proxy_pass or fastcgi_pass
/// with the URI it found.
async fn pass_on(
    rt: &Runtime,
    loc: &Arc<Location>,
    p: &super::config::ProxyPass,
    r: &mut Req,
    uri: String,
) -> Outcome {
    if uri != r.vars.uri {
        r.vars.uri = uri;
        r.uri_changed = true;
    }
    super::pinned::boxed(|| super::forward::forward(rt, loc, p, r)).await
}

/// add_header and expires, for the statuses nginx adds them to.
fn decorate(
    rt: &Runtime,
    conf: &LocConf,
    r: &Req,
    mut resp: Response<Body>,
    status: Option<StatusCode>,
) -> Response<Body> {
    if let Some(s) = status {
        *resp.status_mut() = s;
        // A status of nginx's own goes out with its own line.
        resp.extensions_mut().remove::<super::http1::Reason>();
    }
    if resp.status() == StatusCode::UNAUTHORIZED
        && let Some(v) = &r.www_authenticate
    {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v.clone());
    }
    if let Some(carried) = &r.carried {
        // nginx sets these before the redirected request runs: its type
        // stands, the others are kept where the answer has none of its own.
        let h = resp.headers_mut();
        for name in carried.keys() {
            if name == header::CONTENT_TYPE {
                h.remove(name);
            } else if name != header::SET_COOKIE && h.contains_key(name) {
                continue;
            }
            for v in carried.get_all(name) {
                h.append(name.clone(), v.clone());
            }
        }
    }
    let code = resp.status().as_u16();
    if code != 200 {
        // As nginx's range filter: only a whole 200 answer offers ranges.
        resp.headers_mut().remove(header::ACCEPT_RANGES);
    }
    let success = matches!(code, 200 | 201 | 204 | 206 | 301 | 302 | 303 | 304 | 307 | 308);
    let from_var;
    let expires = match &conf.expires {
        // Read per answer, with this answer's headers as $sent_http_*.
        Some(Expires::Var(t)) if success => {
            let mut vars = r.vars.clone();
            vars.sent_headers = resp.headers().clone();
            let text = t.eval(&Ctx { rv: &vars, maps: &rt.config.http.maps });
            from_var = super::config::expires_value(&text);
            if from_var.is_none() {
                rt.logs.error(&format!("invalid \"expires\" value \"{text}\""));
            }
            from_var.as_ref()
        }
        e => e.as_ref(),
    };
    if success && let Some(e) = expires {
        let h = resp.headers_mut();
        let now = SystemTime::now();
        let (expires, cc) = match e {
            Expires::Off | Expires::Var(_) => (None, None),
            Expires::Epoch => (Some(SystemTime::UNIX_EPOCH), Some("no-cache".to_string())),
            Expires::Max => (
                Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_147_483_647)),
                Some("max-age=315360000".to_string()),
            ),
            Expires::Seconds(s) if *s < 0 => (
                Some(now - std::time::Duration::from_secs(s.unsigned_abs())),
                Some("no-cache".to_string()),
            ),
            Expires::Seconds(s) => (
                Some(now + std::time::Duration::from_secs(*s as u64)),
                Some(format!("max-age={s}")),
            ),
        };
        if let Some(t) = expires
            && let Ok(v) = HeaderValue::from_str(&super::http::http_date(t))
        {
            h.insert(header::EXPIRES, v);
        }
        if let Some(c) = cc
            && let Ok(v) = HeaderValue::from_str(&c)
        {
            h.insert(header::CACHE_CONTROL, v);
        }
    }
    // nginx's own redirect pages go without a charset (seen from nginx 1.22).
    let redirect_page = matches!(code, 301 | 302 | 303 | 307 | 308)
        && resp.headers().contains_key(header::LOCATION);
    if let Some(cs) = conf.charset.as_ref().filter(|_| !redirect_page) {
        add_charset(resp.headers_mut(), cs, &conf.charset_types);
    }
    if !conf.chunked_transfer_encoding {
        resp.extensions_mut().insert(super::http::Unchunked);
    }
    for ah in &conf.add_headers {
        if !(success || ah.always) {
            continue;
        }
        let value = ah.value.eval(&Ctx { rv: &r.vars, maps: &rt.config.http.maps });
        if value.is_empty() {
            continue;
        }
        // A value written over several lines reaches nginx's clients as folded
        // lines, which HTTP reads as one space each (RFC 9112 5.2): sent unfolded.
        let value = unfold(&value);
        if let (Ok(n), Ok(v)) =
            (header::HeaderName::from_bytes(ah.name.as_bytes()), HeaderValue::from_str(&value))
        {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}
