//! Directives to `Config`: nginx's contexts, inheritance and checks.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::proxy::conf::{ConfError, Directive};
use crate::proxy::vars::{Template, is_known};

use super::ignored::*;
use super::types::*;
use super::values::*;

pub(super) struct Compiler {
    /// A template read `$upstream_http_*` or `$upstream_cookie_*`.
    reads_upstream: std::cell::Cell<bool>,
    /// A template read `$request_body`.
    reads_body: std::cell::Cell<bool>,
    counts_traffic: std::cell::Cell<bool>,
    maps: Vec<String>,
    upstream_names: HashSet<String>,
    cache_zones: HashSet<String>,
}

/// An array directive met for the first time at a level replaces what was
/// inherited (nginx's merge of arrays).
fn clear(cleared: &mut HashSet<&'static str>, name: &'static str, conf: &mut LocConf) {
    if cleared.insert(name) {
        match name {
            "error_page" => conf.error_pages.clear(),
            "add_header" => conf.add_headers.clear(),
            "proxy_set_header" => conf.proxy_set_headers.clear(),
            "proxy_hide_header" => conf.proxy_hide_headers.clear(),
            "proxy_pass_header" => conf.proxy_pass_headers.clear(),
            "access_log" => conf.access_log = AccessLog::Files(Default::default()),
            "limit_req" => conf.limit_req = Arc::default(),
            "set_real_ip_from" => conf.real_ip_from = Arc::default(),
            "proxy_cookie_path" => conf.proxy_cookie_path = Arc::default(),
            "proxy_cookie_domain" => conf.proxy_cookie_domain = Arc::default(),
            "allow_deny" => conf.access_rules = Arc::default(),
            "limit_conn" => conf.limit_conn = Arc::default(),
            _ => {}
        }
    }
}

impl Compiler {
    fn template(&self, d: &Directive, s: &str) -> Result<Template, ConfError> {
        let t = Template::parse_checked(s).map_err(|e| err(d, e))?;
        for v in t.variables() {
            if v.starts_with("upstream_http_") || v.starts_with("upstream_cookie_") {
                self.reads_upstream.set(true);
            }
            if v == "request_body" {
                self.reads_body.set(true);
            }
            if matches!(
                v,
                "upstream_bytes_sent"
                    | "upstream_bytes_received"
                    | "upstream_response_length"
                    | "upstream_response_time"
                    | "upstream_connect_time"
            ) {
                self.counts_traffic.set(true);
            }
            if !is_known(v, &self.maps) {
                if crate::proxy::vars::nginx_has(v) {
                    return Err(unsupported(
                        d,
                        format!("the built-in proxy does not provide the \"${v}\" variable"),
                    ));
                }
                return Err(err(d, format!("unknown \"{v}\" variable")));
            }
        }
        Ok(t)
    }

    /// Applies the settings directives of one level. Array directives met at
    /// this level replace what was inherited.
    fn apply(&self, conf: &mut LocConf, directives: &[Directive]) -> Result<(), ConfError> {
        let mut cleared: HashSet<&'static str> = HashSet::new();
        for d in directives {
            match d.name.as_str() {
                "root" => {
                    nargs(d, 1..=1)?;
                    conf.root = self.template(d, &d.args[0])?;
                    conf.alias = None;
                }
                "alias" => {
                    nargs(d, 1..=1)?;
                    conf.alias = Some(self.template(d, &d.args[0])?);
                }
                "index" => {
                    nargs(d, 1..=64)?;
                    conf.index =
                        d.args.iter().map(|a| self.template(d, a)).collect::<Result<_, _>>()?;
                }
                "error_page" => {
                    clear(&mut cleared, "error_page", conf);
                    conf.error_pages.push(self.error_page(d)?);
                }
                "add_header" => {
                    clear(&mut cleared, "add_header", conf);
                    nargs(d, 2..=3)?;
                    let always = d.args.get(2).map(String::as_str) == Some("always");
                    conf.add_headers.push(AddHeader {
                        name: d.args[0].clone(),
                        value: self.template(d, &d.args[1])?,
                        always,
                    });
                }
                "expires" => {
                    let e = expires(d)?;
                    // Checked like any template: its variables must exist.
                    if d.args[0].contains('$') {
                        self.template(d, &d.args[0])?;
                    }
                    conf.expires = Some(e);
                }
                "default_type" => conf.default_type = one(d)?.to_string(),
                "types" => conf.types = Arc::new(types(d)),
                "access_log" => {
                    nargs(d, 1..=8)?;
                    clear(&mut cleared, "access_log", conf);
                    conf.access_log =
                        access_log(std::mem::replace(&mut conf.access_log, AccessLog::Off), d);
                }
                "client_max_body_size" => {
                    nargs(d, 1..=1)?;
                    conf.client_max_body_size = parse_size(&d.args[0])
                        .ok_or_else(|| err(d, format!("invalid value \"{}\"", d.args[0])))?;
                }
                "keepalive_timeout" => conf.keepalive_timeout = time(d)?,
                "keepalive_requests" => conf.keepalive_requests = number(d)?,
                "client_body_timeout" => conf.client_body_timeout = time(d)?,
                "send_timeout" => conf.send_timeout = time(d)?,
                "server_tokens" => conf.server_tokens = one(d)? != "off",
                "gzip" => conf.gzip = flag(d)?,
                "gzip_types" => conf.gzip_types = d.args.clone(),
                "gzip_vary" => conf.gzip_vary = flag(d)?,
                "sub_filter" => {
                    nargs(d, 2..=2)?;
                    let sf = Arc::make_mut(&mut conf.sub_filter);
                    if cleared.insert("sub_filter") {
                        sf.pairs.clear();
                    }
                    sf.pairs.push((self.template(d, &d.args[0])?, self.template(d, &d.args[1])?));
                }
                "sub_filter_once" => Arc::make_mut(&mut conf.sub_filter).once = flag(d)?,
                "sub_filter_last_modified" => {
                    Arc::make_mut(&mut conf.sub_filter).last_modified = flag(d)?;
                }
                "sub_filter_types" => {
                    nargs(d, 1..=64)?;
                    let mut types = d.args.clone();
                    // text/html is always among them, as nginx adds it.
                    types.push("text/html".into());
                    Arc::make_mut(&mut conf.sub_filter).types = types;
                }
                "gzip_min_length" => {
                    nargs(d, 1..=1)?;
                    conf.gzip_min_length = parse_size(&d.args[0])
                        .ok_or_else(|| err(d, format!("invalid value \"{}\"", d.args[0])))?;
                }
                "tcp_nodelay" => conf.tcp_nodelay = flag(d)?,
                "sendfile" => conf.sendfile = flag(d)?,
                "autoindex" if flag(d)? => {
                    return Err(unsupported(
                        d,
                        "\"autoindex on\" is not supported by the built-in proxy",
                    ));
                }
                name if name.starts_with("proxy_") && self.proxy(conf, d, &mut cleared)? => {}
                "charset" | "charset_types" | "source_charset" | "override_charset"
                | "charset_map" => charset(conf, d)?,
                "chunked_transfer_encoding" => conf.chunked_transfer_encoding = flag(d)?,
                "limit_req" => {
                    clear(&mut cleared, "limit_req", conf);
                    Arc::make_mut(&mut conf.limit_req).push(limit_req(d)?);
                }
                name if super::cache::TAKEN.contains(&name) => {
                    let zones = &self.cache_zones;
                    super::cache::apply(conf, d, &mut cleared, zones, &|d, s| self.template(d, s))?;
                }
                name if super::fastcgi::TAKEN.contains(&name) => {
                    super::fastcgi::apply(conf, d, &mut cleared, &|d, s| self.template(d, s))?;
                }
                name if super::tls::TAKEN.contains(&name) => {
                    super::tls::apply(conf, d, &mut cleared)?;
                }
                _ => self.access(conf, d, &mut cleared)?,
            }
        }
        Ok(())
    }

    /// The proxy module's settings; false for a directive that is not one of them.
    fn proxy(
        &self,
        conf: &mut LocConf,
        d: &Directive,
        cleared: &mut HashSet<&'static str>,
    ) -> Result<bool, ConfError> {
        match d.name.as_str() {
            "proxy_set_header" => {
                clear(cleared, "proxy_set_header", conf);
                nargs(d, 2..=2)?;
                let template = self.template(d, &d.args[1])?;
                // A name that is no token cannot go on a header line: left
                // out once here, not skipped on every request.
                if crate::proxy::http::is_token(&d.args[0]) {
                    conf.proxy_set_headers.push((d.args[0].clone(), template));
                }
            }
            "proxy_http_version" => conf.proxy_http_version = http_version(d)?,
            "proxy_buffering" => conf.proxy_buffering = flag(d)?,
            "proxy_request_buffering" => conf.proxy_request_buffering = flag(d)?,
            "proxy_redirect" => {
                conf.proxy_redirect = self.proxy_redirect(&conf.proxy_redirect, d)?;
            }
            "proxy_connect_timeout" => conf.proxy_connect_timeout = time(d)?,
            "proxy_read_timeout" => conf.proxy_read_timeout = time(d)?,
            "proxy_send_timeout" => conf.proxy_send_timeout = time(d)?,
            "proxy_intercept_errors" => conf.proxy_intercept_errors = flag(d)?,
            "proxy_next_upstream" | "proxy_next_upstream_tries" | "proxy_next_upstream_timeout" => {
                next_upstream(&mut conf.proxy_next, d)?;
            }
            "proxy_hide_header" | "proxy_pass_header" => {
                let hide = d.name == "proxy_hide_header";
                clear(cleared, if hide { "proxy_hide_header" } else { "proxy_pass_header" }, conf);
                nargs(d, 1..=1)?;
                let list =
                    if hide { &mut conf.proxy_hide_headers } else { &mut conf.proxy_pass_headers };
                list.push(d.args[0].to_ascii_lowercase());
            }
            "proxy_ignore_headers" => {
                conf.ignore_accel_redirect = ignore_accel_redirect(d)?;
                Arc::make_mut(&mut conf.cache).ignore =
                    d.args.iter().map(|a| a.to_ascii_lowercase()).collect();
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The settings of the access phases: `auth_basic`, `auth_basic_user_file`,
    /// `limit_req_status`, `limit_req_dry_run`, the realip module's.
    fn access(
        &self,
        conf: &mut LocConf,
        d: &Directive,
        cleared: &mut HashSet<&'static str>,
    ) -> Result<(), ConfError> {
        match d.name.as_str() {
            "auth_basic" => {
                let realm = one(d)?;
                conf.auth_basic = (realm != "off").then(|| self.template(d, realm)).transpose()?;
            }
            "auth_basic_user_file" => {
                conf.auth_basic_user_file = Some(self.template(d, one(d)?)?);
            }
            "allow" | "deny" => {
                clear(cleared, "allow_deny", conf);
                let from = one(d)?;
                let rule = match from {
                    "all" => Some(None),
                    // A unix socket peer never reaches the built-in proxy, which listens on TCP.
                    f if f.starts_with("unix:") => None,
                    f => Some(Some(
                        crate::proxy::realip::Cidr::parse(f)
                            .ok_or_else(|| err(d, format!("invalid parameter \"{f}\"")))?,
                    )),
                };
                if let Some(r) = rule {
                    Arc::make_mut(&mut conf.access_rules).push((d.name == "allow", r));
                }
            }
            "limit_conn" => {
                clear(cleared, "limit_conn", conf);
                nargs(d, 2..=2)?;
                let max = d.args[1].parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    err(d, format!("invalid number of connections \"{}\"", d.args[1]))
                })?;
                Arc::make_mut(&mut conf.limit_conn)
                    .push(crate::proxy::limit_conn::ConnLimit { zone: d.args[0].clone(), max });
            }
            "limit_conn_status" => conf.limit_conn_status = status_code(d, 400..=599)?,
            "limit_conn_dry_run" => conf.limit_conn_dry_run = flag(d)?,
            "limit_conn_log_level" => nargs(d, 1..=1)?,
            "limit_req_status" => conf.limit_req_status = status_code(d, 400..=599)?,
            "limit_req_dry_run" => conf.limit_req_dry_run = flag(d)?,
            "set_real_ip_from" => {
                clear(cleared, "set_real_ip_from", conf);
                let from = one(d)?;
                // A unix socket peer never reaches the built-in proxy, which listens on TCP.
                if !from.starts_with("unix:") {
                    let cidr = crate::proxy::realip::Cidr::parse(from)
                        .ok_or_else(|| err(d, format!("invalid parameter \"{from}\"")))?;
                    Arc::make_mut(&mut conf.real_ip_from).push(cidr);
                }
            }
            "proxy_cookie_path" | "proxy_cookie_domain" => {
                let name = if d.name == "proxy_cookie_path" {
                    "proxy_cookie_path"
                } else {
                    "proxy_cookie_domain"
                };
                clear(cleared, name, conf);
                nargs(d, 1..=2)?;
                if d.args[0].starts_with('~') {
                    return Err(unsupported(
                        d,
                        format!("\"{}\" with a regular expression is nginx's to do", d.name),
                    ));
                }
                let rules = if name == "proxy_cookie_path" {
                    &mut conf.proxy_cookie_path
                } else {
                    &mut conf.proxy_cookie_domain
                };
                match d.args.as_slice() {
                    [off] if off == "off" => *rules = Arc::default(),
                    [from, to] => Arc::make_mut(rules).push((from.clone(), self.template(d, to)?)),
                    _ => return Err(err(d, "invalid number of arguments")),
                }
            }
            "real_ip_header" => conf.real_ip_header = one(d)?.into(),
            "real_ip_recursive" => conf.real_ip_recursive = flag(d)?,
            // Anything else is not a setting; the caller checks it is known.
            _ => {}
        }
        Ok(())
    }

    /// `error_page CODE... [=[RESPONSE]] URI`.
    fn error_page(&self, d: &Directive) -> Result<ErrorPage, ConfError> {
        nargs(d, 2..=64)?;
        let mut codes = Vec::new();
        let mut response = None;
        for a in &d.args[..d.args.len() - 1] {
            let invalid = || err(d, format!("invalid value \"{a}\""));
            if let Some(r) = a.strip_prefix('=') {
                response =
                    Some(if r.is_empty() { None } else { Some(r.parse().map_err(|_| invalid())?) });
            } else {
                let c: u16 = a.parse().map_err(|_| invalid())?;
                if !(300..=599).contains(&c) {
                    return Err(err(d, format!("value \"{c}\" must be between 300 and 599")));
                }
                codes.push(c);
            }
        }
        let uri = self.template(d, d.args.last().expect("checked"))?;
        Ok(ErrorPage { codes, response, uri })
    }

    /// `proxy_redirect default|off|REDIRECT REPLACEMENT`; rules add up at one level.
    fn proxy_redirect(&self, current: &Redirect, d: &Directive) -> Result<Redirect, ConfError> {
        nargs(d, 1..=2)?;
        Ok(match (d.args[0].as_str(), d.args.len()) {
            ("default", 1) => Redirect::Default,
            ("off", 1) => Redirect::Off,
            (_, 2) => {
                let mut rules = match current {
                    Redirect::Rules(r) => r.clone(),
                    _ => Vec::new(),
                };
                rules.push((d.args[0].clone(), self.template(d, &d.args[1])?));
                Redirect::Rules(rules)
            }
            _ => return Err(err(d, "invalid \"proxy_redirect\" arguments")),
        })
    }

    fn step(&self, d: &Directive) -> Result<Option<Step>, ConfError> {
        Ok(Some(match d.name.as_str() {
            "rewrite" => {
                nargs(d, 2..=3)?;
                let flag = match d.args.get(2).map(String::as_str) {
                    None => Flag::None,
                    Some("last") => Flag::Last,
                    Some("break") => Flag::Break,
                    Some("redirect") => Flag::Redirect,
                    Some("permanent") => Flag::Permanent,
                    Some(other) => return Err(err(d, format!("invalid parameter \"{other}\""))),
                };
                let regex = RewriteRegex::new(regex(d, &d.args[0], false)?, &d.args[0]);
                Step::Rewrite { regex, replacement: self.template(d, &d.args[1])?, flag }
            }
            "return" => {
                nargs(d, 1..=2)?;
                match d.args[0].parse::<u16>() {
                    Ok(code) if code <= 999 => Step::Return {
                        code,
                        body: d.args.get(1).map(|b| self.template(d, b)).transpose()?,
                    },
                    Ok(_) => return Err(err(d, format!("invalid return code \"{}\"", d.args[0]))),
                    // `return URL` is a 302 redirect.
                    Err(_) if d.args.len() == 1 => {
                        Step::Return { code: 302, body: Some(self.template(d, &d.args[0])?) }
                    }
                    Err(_) => return Err(err(d, format!("invalid return code \"{}\"", d.args[0]))),
                }
            }
            "break" => {
                nargs(d, 0..=0)?;
                Step::Break
            }
            "set" => {
                nargs(d, 2..=2)?;
                let var = d.args[0]
                    .strip_prefix('$')
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| err(d, format!("invalid variable name \"{}\"", d.args[0])))?;
                if crate::proxy::vars::is_builtin(var) {
                    return Err(unsupported(
                        d,
                        format!("setting nginx's own \"${var}\" variable is nginx's to do"),
                    ));
                }
                Step::Set { var: var.to_ascii_lowercase(), value: self.template(d, &d.args[1])? }
            }
            _ => return Ok(None),
        }))
    }

    /// `if (COND) { ... }`. At the server level only rewrite-module
    /// directives may be inside; in a location, settings too, and they make
    /// a location of their own that answers when the condition holds.
    pub(super) fn if_step(
        &self,
        d: &Directive,
        parent: Option<(&LocConf, &Location)>,
    ) -> Result<Step, ConfError> {
        let cond = self.condition(d)?;
        let block =
            d.block.as_deref().ok_or_else(|| err(d, "directive \"if\" has no opening \"{\""))?;
        let Some((parent_conf, parent_loc)) = parent else {
            let mut steps = Vec::new();
            for c in block {
                if c.name == "if" {
                    steps.push(self.if_step(c, None)?);
                } else if let Some(step) = self.step(c)? {
                    steps.push(step);
                } else {
                    return Err(err(c, format!("\"{}\" directive is not allowed here", c.name)));
                }
            }
            return Ok(Step::If { cond, steps, location: None });
        };
        let mut conf = parent_conf.clone();
        self.apply(&mut conf, block)?;
        let mut loc = Location {
            matcher: parent_loc.matcher.clone(),
            steps: Vec::new(),
            conf: Arc::new(conf),
            children: Vec::new(),
            try_files: None,
            proxy: parent_loc.proxy.clone(),
            internal: false,
            at: d.loc.clone(),
        };
        if let Some(c) = block.iter().rfind(|c| is_pass(c)) {
            // No URI part inside `if`, as nginx insists.
            loc.proxy = Some(self.pass(c, true)?);
        }
        let mut steps = Vec::new();
        for c in block {
            if c.name == "if" {
                let conf = loc.conf.clone();
                steps.push(self.if_step(c, Some((&conf, &loc)))?);
            } else if let Some(step) = self.step(c)? {
                steps.push(step);
            } else if matches!(c.name.as_str(), "location" | "try_files" | "internal") {
                return Err(err(c, format!("\"{}\" directive is not allowed here", c.name)));
            } else if !is_pass(c) {
                self.check_known(c, Context::Location)?;
            }
        }
        Ok(Step::If { cond, steps, location: Some(Arc::new(loc)) })
    }

    /// The condition of `if`, with nginx's parentheses and operators.
    fn condition(&self, d: &Directive) -> Result<Cond, ConfError> {
        let invalid = || err(d, "invalid condition");
        let mut args: Vec<&str> = d.args.iter().map(String::as_str).collect();
        let first = args.first_mut().ok_or_else(invalid)?;
        *first = first.strip_prefix('(').ok_or_else(invalid)?;
        let last = args.last_mut().ok_or_else(invalid)?;
        *last = last.strip_suffix(')').ok_or_else(invalid)?;
        args.retain(|a| !a.is_empty());
        let t = |s: &str| self.template(d, s);
        Ok(match args.as_slice() {
            [v] if v.starts_with('$') => Cond::Var(t(v)?),
            [v, op, rhs] if v.starts_with('$') => match *op {
                "=" | "!=" => Cond::Eq { value: t(v)?, to: t(rhs)?, negate: *op == "!=" },
                "~" | "~*" | "!~" | "!~*" => Cond::Match {
                    value: t(v)?,
                    regex: regex(d, rhs, op.ends_with('*'))?,
                    negate: op.starts_with('!'),
                },
                _ => return Err(err(d, format!("unexpected \"{op}\" in condition"))),
            },
            [op, path] => {
                let (negate, test) = match op.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, *op),
                };
                let test = match test {
                    "-f" => FileTest::File,
                    "-d" => FileTest::Dir,
                    "-e" => FileTest::Exists,
                    "-x" => FileTest::Exec,
                    _ => return Err(err(d, format!("unexpected \"{op}\" in condition"))),
                };
                Cond::File { path: t(path)?, test, negate }
            }
            _ => return Err(invalid()),
        })
    }

    /// `proxy_pass` or `fastcgi_pass`, whichever the location's handler is.
    fn pass(&self, d: &Directive, regex_location: bool) -> Result<ProxyPass, ConfError> {
        if d.name == "proxy_pass" {
            return self.proxy_pass(d, regex_location);
        }
        nargs(d, 1..=1)?;
        let addr = &d.args[0];
        if addr.contains('$') || addr.starts_with("unix:") {
            return Err(unsupported(
                d,
                "\"fastcgi_pass\" with variables or to a unix: socket is not supported by the built-in proxy",
            ));
        }
        let mut p = parse_proxy_url(&format!("http://{addr}")).map_err(|(_, m)| err(d, m))?;
        if p.uri.is_some() || (!self.upstream_names.contains(&p.target) && p.host.is_empty()) {
            return Err(err(d, format!("invalid host in upstream \"{addr}\"")));
        }
        // A name without a port that no upstream block defines: nginx wants the port.
        if !addr.contains(':') && !self.upstream_names.contains(addr) {
            return Err(err(d, format!("no port in upstream \"{addr}\"")));
        }
        p.fastcgi = true;
        Ok(p)
    }

    fn proxy_pass(&self, d: &Directive, regex_location: bool) -> Result<ProxyPass, ConfError> {
        nargs(d, 1..=1)?;
        let url = &d.args[0];
        if url.contains('$') {
            // Read per request; the address is found then (nginx's resolver;
            // here container names through the engine, others through the system).
            let template = self.template(d, url)?;
            return Ok(ProxyPass {
                target: String::new(),
                host: String::new(),
                port: 80,
                uri: None,
                proxy_host: "".into(),
                url: Some(template),
                fastcgi: false,
            });
        }
        let p = parse_proxy_url(url).map_err(|(unsupported_, m)| {
            if unsupported_ { unsupported(d, m) } else { err(d, m) }
        })?;
        if p.uri.is_some() && regex_location {
            return Err(err(
                d,
                "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block",
            ));
        }
        if !self.upstream_names.contains(&p.target) && p.host.is_empty() {
            return Err(err(d, format!("no host in upstream \"{url}\"")));
        }
        Ok(p)
    }

    fn location(
        &self,
        d: &Directive,
        parent: &LocConf,
        parent_prefix: Option<&str>,
    ) -> Result<Location, ConfError> {
        let matcher = match (d.args.first().map(String::as_str), d.args.len()) {
            (Some("="), 2) => Matcher::Exact(d.args[1].clone()),
            (Some("^~"), 2) => Matcher::Prefix { path: d.args[1].clone(), no_regex: true },
            (Some("~"), 2) => Matcher::Regex(regex(d, &d.args[1], false)?),
            (Some("~*"), 2) => Matcher::Regex(regex(d, &d.args[1], true)?),
            (Some(p), 1) if p.starts_with('@') => Matcher::Named(p[1..].to_string()),
            (Some(p), 1) => Matcher::Prefix { path: p.to_string(), no_regex: false },
            _ => return Err(err(d, "invalid location")),
        };
        if let (Some(outer), Matcher::Prefix { path, .. } | Matcher::Exact(path)) =
            (parent_prefix, &matcher)
            && !path.starts_with(outer)
        {
            return Err(err(d, format!("location \"{path}\" is outside location \"{outer}\"")));
        }
        let block = d
            .block
            .as_deref()
            .ok_or_else(|| err(d, "directive \"location\" has no opening \"{\""))?;
        let mut conf = parent.clone();
        self.apply(&mut conf, block)?;
        let conf = Arc::new(conf);
        let regexish = matches!(matcher, Matcher::Regex(_) | Matcher::Named(_));
        let mut loc = Location {
            matcher,
            steps: Vec::new(),
            conf: conf.clone(),
            children: Vec::new(),
            try_files: None,
            proxy: None,
            internal: false,
            at: d.loc.clone(),
        };
        let prefix = match &loc.matcher {
            Matcher::Prefix { path, .. } | Matcher::Exact(path) => Some(path.clone()),
            _ => None,
        };
        // nginx merges settings after reading the block: an `if` inherits
        // the proxy_pass written after it as well as one before.
        if let Some(c) = block.iter().rfind(|c| is_pass(c)) {
            loc.proxy = Some(self.pass(c, regexish)?);
        }
        for c in block {
            if c.name == "if" {
                let step = self.if_step(c, Some((&conf, &loc)))?;
                loc.steps.push(step);
                continue;
            }
            if let Some(step) = self.step(c)? {
                loc.steps.push(step);
                continue;
            }
            match c.name.as_str() {
                "location" => {
                    loc.children.push(Arc::new(self.location(c, &conf, prefix.as_deref())?))
                }
                "try_files" => {
                    nargs(c, 2..=64)?;
                    loc.try_files =
                        Some(c.args.iter().map(|a| self.template(c, a)).collect::<Result<_, _>>()?);
                }
                "proxy_pass" | "fastcgi_pass" => {}
                "internal" => loc.internal = true,
                _ => self.check_known(c, Context::Location)?,
            }
        }
        Ok(loc)
    }

    fn check_known(&self, d: &Directive, ctx: Context) -> Result<(), ConfError> {
        const SETTINGS: &[&str] = &[
            "root",
            "alias",
            "index",
            "error_page",
            "add_header",
            "expires",
            "default_type",
            "types",
            "access_log",
            "client_max_body_size",
            "keepalive_timeout",
            "keepalive_requests",
            "client_body_timeout",
            "send_timeout",
            "server_tokens",
            "gzip",
            "gzip_types",
            "gzip_vary",
            "gzip_min_length",
            "sub_filter",
            "sub_filter_once",
            "sub_filter_last_modified",
            "sub_filter_types",
            "tcp_nodelay",
            "sendfile",
            "autoindex",
            "proxy_set_header",
            "proxy_http_version",
            "proxy_buffering",
            "proxy_request_buffering",
            "proxy_redirect",
            "proxy_connect_timeout",
            "proxy_read_timeout",
            "proxy_send_timeout",
            "proxy_intercept_errors",
            "proxy_next_upstream",
            "proxy_next_upstream_tries",
            "proxy_next_upstream_timeout",
            "proxy_hide_header",
            "proxy_ignore_headers",
            "proxy_pass_header",
            "error_log",
            "charset",
            "charset_types",
            "source_charset",
            "override_charset",
            "charset_map",
            "chunked_transfer_encoding",
            "auth_basic",
            "auth_basic_user_file",
            "allow",
            "deny",
            "limit_conn",
            "limit_conn_status",
            "limit_conn_dry_run",
            "limit_conn_log_level",
            "limit_req",
            "limit_req_status",
            "limit_req_dry_run",
            "limit_req_log_level",
            "set_real_ip_from",
            "proxy_cookie_path",
            "proxy_cookie_domain",
            "real_ip_header",
            "real_ip_recursive",
            // Names are resolved through the engine and the system here.
            "resolver",
            "resolver_timeout",
        ];
        let cache = super::cache::TAKEN.contains(&d.name.as_str())
            || super::cache::TUNING.contains(&d.name.as_str());
        let fastcgi = super::fastcgi::TAKEN.contains(&d.name.as_str())
            || super::fastcgi::TUNING.contains(&d.name.as_str());
        let tls = super::tls::TAKEN.contains(&d.name.as_str())
            || super::tls::TUNING.contains(&d.name.as_str());
        if tls && ctx == Context::Location {
            return Err(err(d, format!("\"{}\" directive is not allowed here", d.name)));
        }
        let ok = tls
            || fastcgi
            || cache
            || IGNORED.contains(&d.name.as_str())
            || SETTINGS.contains(&d.name.as_str())
                && !(d.name == "alias" && ctx != Context::Location)
            || (ctx == Context::Http && d.name == "client_header_timeout");
        if ok {
            return Ok(());
        }
        Err(cannot_honour(d, "here"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    Http,
    Server,
    Location,
}

/// `http://HOST[:PORT][/URI]` as proxy_pass takes it; the error says
/// whether only nginx can serve it (true) or nginx refuses it too.
/// The directives that make a location's content handler.
fn is_pass(d: &Directive) -> bool {
    d.name == "proxy_pass" || d.name == "fastcgi_pass"
}

pub fn parse_proxy_url(url: &str) -> Result<ProxyPass, (bool, String)> {
    let rest = if let Some(r) = url.strip_prefix("http://") {
        r
    } else if url.starts_with("https://") {
        return Err((
            true,
            "proxy_pass to https upstreams is not supported by the built-in proxy".into(),
        ));
    } else {
        return Err((false, format!("invalid URL prefix in \"{url}\"")));
    };
    let (authority, uri) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(rest[i..].to_string())),
        None => (rest, None),
    };
    // `[::1]` alone has colons but no port.
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !authority.ends_with(']') => (
            h.to_string(),
            p.parse().map_err(|_| (false, format!("invalid port in upstream \"{authority}\"")))?,
        ),
        _ => (authority.to_string(), 80),
    };
    // As nginx's host_header: the port only when it is not the default.
    let proxy_host =
        if port == 80 { authority.strip_suffix(":80").unwrap_or(authority) } else { authority }
            .into();
    Ok(ProxyPass {
        target: authority.to_string(),
        host,
        port,
        uri,
        proxy_host,
        url: None,
        fastcgi: false,
    })
}

fn upstream(c: &Compiler, d: &Directive) -> Result<UpstreamDef, ConfError> {
    nargs(d, 1..=1)?;
    let keepalive = Keepalive { pool: Some(pool_of(&d.args[0])), ..Keepalive::default() };
    let mut def = UpstreamDef {
        name: d.args[0].clone(),
        servers: Vec::new(),
        keepalive,
        balance: Balance::RoundRobin,
    };
    for s in d.block.as_deref().unwrap_or_default() {
        match s.name.as_str() {
            "server" => {
                nargs(s, 1..=8)?;
                let addr = &s.args[0];
                let (host, port) = match addr.rsplit_once(':') {
                    Some((h, p)) if !addr.ends_with(']') => (
                        h.trim_matches(['[', ']']).to_string(),
                        p.parse().map_err(|_| err(s, format!("invalid port in \"{addr}\"")))?,
                    ),
                    _ => (addr.trim_matches(['[', ']']).to_string(), 80),
                };
                let mut srv = UpstreamServer {
                    written: addr.clone(),
                    host,
                    port,
                    weight: 1,
                    max_fails: 1,
                    fail_timeout: Duration::from_secs(10),
                    backup: false,
                    down: false,
                };
                for opt in &s.args[1..] {
                    let bad = || err(s, format!("invalid parameter \"{opt}\""));
                    if let Some(w) = opt.strip_prefix("weight=") {
                        srv.weight = w.parse().ok().filter(|w| *w > 0).ok_or_else(bad)?;
                    } else if let Some(m) = opt.strip_prefix("max_fails=") {
                        srv.max_fails = m.parse().map_err(|_| bad())?;
                    } else if let Some(f) = opt.strip_prefix("fail_timeout=") {
                        srv.fail_timeout = Duration::from_secs(parse_secs(f).ok_or_else(bad)?);
                    } else if opt == "backup" {
                        srv.backup = true;
                    } else if opt == "down" {
                        srv.down = true;
                    } else {
                        return Err(bad());
                    }
                }
                def.servers.push(srv);
            }
            "keepalive" => {
                nargs(s, 1..=1)?;
                def.keepalive.idle = s.args[0]
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| err(s, "invalid value"))?;
            }
            "keepalive_timeout" => {
                nargs(s, 1..=1)?;
                def.keepalive.timeout = time(s)?;
            }
            "keepalive_time" => {
                nargs(s, 1..=1)?;
                def.keepalive.time = time(s)?;
            }
            "keepalive_requests" => {
                nargs(s, 1..=1)?;
                def.keepalive.requests = s.args[0].parse().map_err(|_| err(s, "invalid value"))?;
            }
            // As nginx, the last balancing method written is the one used.
            "ip_hash" => {
                nargs(s, 0..=0)?;
                def.balance = Balance::IpHash;
            }
            "least_conn" => {
                nargs(s, 0..=0)?;
                def.balance = Balance::LeastConn;
            }
            "hash" => {
                nargs(s, 1..=2)?;
                let consistent = match s.args.get(1).map(String::as_str) {
                    None => false,
                    Some("consistent") => true,
                    Some(other) => return Err(err(s, format!("invalid parameter \"{other}\""))),
                };
                def.balance = Balance::Hash { key: c.template(s, &s.args[0])?, consistent };
            }
            _ => return Err(cannot_honour(s, "in an upstream")),
        }
    }
    let no_backup = matches!(def.balance, Balance::IpHash | Balance::Hash { .. });
    if no_backup && def.servers.iter().any(|s| s.backup) {
        return Err(err(d, "balancing method does not support parameter \"backup\""));
    }
    if def.servers.is_empty() {
        return Err(err(d, format!("no servers are inside upstream \"{}\"", def.name)));
    }
    Ok(def)
}

pub fn compile(directives: &[Directive]) -> Result<Config, ConfError> {
    let (mut config, http_block) = main_level(directives)?;
    let Some(http) = http_block else {
        return Ok(config);
    };
    let block = http.block.as_deref().unwrap_or_default();
    // One error log for the whole process: the http level's when the main level names none.
    if config.error_log.is_none() {
        config.error_log =
            block.iter().find(|d| d.name == "error_log").and_then(|d| d.args.first().cloned());
    }
    // Names known before compiling templates: map variables and upstreams.
    let mut maps: Vec<String> = block
        .iter()
        .filter(|d| d.name == "map" && d.args.len() == 2)
        .map(|d| d.args[1].trim_start_matches('$').to_string())
        .collect();
    // A variable `set` anywhere is known everywhere (empty where not set), as in nginx.
    set_variables(block, &mut maps);
    let upstream_names: HashSet<String> = block
        .iter()
        .filter(|d| d.name == "upstream")
        .filter_map(|d| d.args.first().cloned())
        .collect();
    let cache_zones: HashSet<String> = block
        .iter()
        .filter(|d| d.name == "proxy_cache_path")
        .map(super::cache::cache_path)
        .map(|z| z.map(|z| z.name))
        .collect::<Result<_, _>>()?;
    let c = Compiler {
        reads_upstream: Default::default(),
        reads_body: Default::default(),
        counts_traffic: Default::default(),
        maps,
        upstream_names,
        cache_zones,
    };
    let mut conf = LocConf::default();
    c.apply(&mut conf, block)?;
    Arc::make_mut(&mut config.http.log_formats).insert(
        "combined".into(),
        Arc::new(LogFormat {
            template: Template::parse(
                "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"",
            ),
            escape: Escape::Default,
        }),
    );
    let mut server_blocks = Vec::new();
    for d in block {
        match d.name.as_str() {
            "log_format" => {
                let (name, format) = log_format(&c, d)?;
                Arc::make_mut(&mut config.http.log_formats).insert(name, Arc::new(format));
            }
            "upstream" => {
                let u = upstream(&c, d)?;
                config.http.upstreams.insert(u.name.clone(), Arc::new(u));
            }
            "map" => config.http.maps.push(map(&c, d)?),
            "server" => server_blocks.push(d),
            "client_header_timeout" => config.http.client_header_timeout = time(d)?,
            "proxy_cache_path" => {
                let z = super::cache::cache_path(d)?;
                if config.http.cache_zones.contains_key(&z.name) {
                    return Err(err(d, format!("duplicate zone \"{}\"", z.name)));
                }
                let zone = crate::proxy::cache::Zone::new(z.clone());
                config.http.cache_zones.insert(z.name, Arc::new(zone));
            }
            "limit_req_zone" => {
                let z = limit_req_zone(&c, d)?;
                config.http.limit_zones.insert(z.name.clone(), Arc::new(z));
            }
            "limit_conn_zone" => {
                nargs(d, 2..=2)?;
                let key = c.template(d, &d.args[0])?;
                let (name, _) = d.args[1]
                    .strip_prefix("zone=")
                    .and_then(zone_param)
                    .ok_or_else(|| err(d, format!("invalid parameter \"{}\"", d.args[1])))?;
                let z = crate::proxy::limit_conn::ConnZone::new(name.clone(), key);
                config.http.conn_zones.insert(name, Arc::new(z));
            }
            _ => {
                if c.step(d)?.is_some() {
                    return Err(err(d, format!("\"{}\" directive is not allowed here", d.name)));
                }
                c.check_known(d, Context::Http)?;
            }
        }
    }
    one_default_server_per_address(&server_blocks)?;
    for d in server_blocks {
        config.http.servers.push(Arc::new(server(&c, d, &conf)?));
    }
    config.http.logs_sent_headers = prints_sent_headers(&config.http);
    config.http.reads_upstream_headers = c.reads_upstream.get();
    config.http.reads_request_body = c.reads_body.get();
    config.http.counts_upstream_traffic = c.counts_traffic.get();
    for s in &config.http.servers {
        limit_zones_exist(&s.locations, &config.http)?;
        proxy_targets_exist(&s.locations, &config.http)?;
        proxy_targets_exist(&s.named.values().cloned().collect::<Vec<_>>(), &config.http)?;
    }
    Ok(config)
}

fn set_variables(block: &[Directive], names: &mut Vec<String>) {
    for d in block {
        if d.name == "set"
            && let Some(v) = d.args.first().and_then(|a| a.strip_prefix('$'))
        {
            names.push(v.to_ascii_lowercase());
        }
        set_variables(d.block.as_deref().unwrap_or_default(), names);
    }
}

/// The main level: process settings, `events`, and the one `http` block.
fn main_level(directives: &[Directive]) -> Result<(Config, Option<&Directive>), ConfError> {
    let mut config = Config {
        workers: 1,
        worker_connections: 512,
        error_log: None,
        http: Http { client_header_timeout: Duration::from_secs(60), ..Default::default() },
    };
    let mut http_block = None;
    for d in directives {
        match d.name.as_str() {
            "worker_processes" => {
                nargs(d, 1..=1)?;
                config.workers = if d.args[0] == "auto" {
                    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
                } else {
                    d.args[0]
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| err(d, format!("invalid value \"{}\"", d.args[0])))?
                };
            }
            "error_log" => config.error_log = d.args.first().cloned(),
            "events" => {
                for e in d.block.as_deref().unwrap_or_default() {
                    match e.name.as_str() {
                        "worker_connections" => {
                            nargs(e, 1..=1)?;
                            config.worker_connections = e.args[0]
                                .parse()
                                .ok()
                                .filter(|n| *n > 0)
                                .ok_or_else(|| err(e, "invalid value"))?;
                        }
                        n if IGNORED.contains(&n) => {}
                        _ => return Err(cannot_honour(e, "here")),
                    }
                }
            }
            "http" => {
                if http_block.is_some() {
                    return Err(err(d, "\"http\" directive is duplicate"));
                }
                http_block = Some(d);
            }
            "stream" | "mail" => {
                return Err(unsupported(
                    d,
                    format!("\"{}\" blocks are not supported by the built-in proxy", d.name),
                ));
            }
            n if IGNORED.contains(&n) => {}
            _ => return Err(cannot_honour(d, "here")),
        }
    }
    Ok((config, http_block))
}

/// `log_format NAME [escape=default|json|none] STRING...`.
fn log_format(c: &Compiler, d: &Directive) -> Result<(String, LogFormat), ConfError> {
    nargs(d, 2..=64)?;
    let (escape, rest) = match d.args[1].strip_prefix("escape=") {
        Some("json") => (Escape::Json, &d.args[2..]),
        Some("none") => (Escape::None, &d.args[2..]),
        Some("default") => (Escape::Default, &d.args[2..]),
        Some(other) => {
            return Err(err(d, format!("unknown log format escaping \"{other}\"")));
        }
        None => (Escape::Default, &d.args[1..]),
    };
    Ok((d.args[0].clone(), LogFormat { template: c.template(d, &rest.concat())?, escape }))
}

/// `map SOURCE $VAR { ... }`.
fn map(c: &Compiler, d: &Directive) -> Result<MapDef, ConfError> {
    nargs(d, 2..=2)?;
    let mut m = MapDef {
        source: c.template(d, &d.args[0])?,
        var: d.args[1].trim_start_matches('$').to_string(),
        default: Template::default(),
        exact: Default::default(),
        regexes: Vec::new(),
    };
    for e in d.block.as_deref().unwrap_or_default() {
        let value = e.args.first().map(|v| c.template(e, v)).transpose()?.unwrap_or_default();
        match e.name.as_str() {
            "default" => m.default = value,
            "hostnames" | "volatile" => {}
            k if k.starts_with("~*") => m.regexes.push((regex(e, &k[2..], true)?, value)),
            k if k.starts_with('~') => m.regexes.push((regex(e, &k[1..], false)?, value)),
            k => {
                m.exact.insert(k.trim_start_matches('\\').to_string(), value);
            }
        }
    }
    Ok(m)
}

/// One default server per address, as nginx insists.
fn one_default_server_per_address(server_blocks: &[&Directive]) -> Result<(), ConfError> {
    let mut defaults: HashSet<(Option<IpAddr>, u16)> = HashSet::new();
    for d in server_blocks {
        for x in d.block.as_deref().unwrap_or_default().iter().filter(|x| x.name == "listen") {
            let l = listen(x)?;
            if l.default_server && !defaults.insert((l.addr, l.port)) {
                let addr = match l.addr {
                    Some(IpAddr::V6(a)) => format!("[{a}]:{}", l.port),
                    Some(a) => format!("{a}:{}", l.port),
                    None => format!("0.0.0.0:{}", l.port),
                };
                return Err(err(x, format!("a duplicate default server for {addr}")));
            }
        }
    }
    Ok(())
}

/// Every `limit_req` names a zone, as nginx insists.
fn limit_zones_exist(locs: &[Arc<Location>], http: &Http) -> Result<(), ConfError> {
    for l in locs {
        if let Some(z) = l.conf.limit_req.iter().find(|z| !http.limit_zones.contains_key(&z.zone)) {
            return Err(ConfError::invalid(
                l.at.clone(),
                format!("zero size shared memory zone \"{}\"", z.zone),
            ));
        }
        limit_zones_exist(&l.children, http)?;
    }
    Ok(())
}

/// `limit_req_zone KEY zone=NAME:SIZE rate=RATE`.
/// `NAME:SIZE` of a shared memory zone (at least 8k, as nginx asks).
fn zone_param(z: &str) -> Option<(String, u64)> {
    let (name, size) = z.split_once(':')?;
    let size = parse_size(size).filter(|s| *s >= 8192)?;
    Some((name.to_string(), size))
}

fn limit_req_zone(c: &Compiler, d: &Directive) -> Result<crate::proxy::limit::Zone, ConfError> {
    nargs(d, 3..=4)?;
    let key = c.template(d, &d.args[0])?;
    let (mut zone, mut rate) = (None, None);
    for a in &d.args[1..] {
        let bad = || err(d, format!("invalid value \"{a}\""));
        if let Some(z) = a.strip_prefix("zone=") {
            zone = Some(zone_param(z).ok_or_else(bad)?);
        } else if let Some(r) = a.strip_prefix("rate=") {
            rate = Some(crate::proxy::limit::parse_rate(r).ok_or_else(bad)?);
        } else if a != "sync" {
            return Err(err(d, format!("invalid parameter \"{a}\"")));
        }
    }
    let (name, size) = zone.ok_or_else(|| err(d, "\"zone\" parameter must be specified"))?;
    Ok(crate::proxy::limit::Zone::new(name, key, rate.unwrap_or(1000), size))
}

/// Every proxy_pass names an upstream or an address.
fn proxy_targets_exist(locs: &[Arc<Location>], http: &Http) -> Result<(), ConfError> {
    for l in locs {
        if let Some(p) = &l.proxy
            && p.url.is_none()
            && !http.upstreams.contains_key(&p.target)
            && p.host.is_empty()
        {
            return Err(ConfError::invalid(l.at.clone(), format!("no upstream \"{}\"", p.target)));
        }
        proxy_targets_exist(&l.children, http)?;
    }
    Ok(())
}

pub(super) fn prints_sent_headers(http: &Http) -> bool {
    let mut templates: Vec<&Template> = http.log_formats.values().map(|f| &f.template).collect();
    for m in &http.maps {
        templates.extend([&m.source, &m.default]);
        templates.extend(m.exact.values());
        templates.extend(m.regexes.iter().map(|(_, t)| t));
    }
    templates.iter().any(|t| t.variables().any(|v| v.starts_with("sent_http_")))
}

pub(super) fn server(
    c: &Compiler,
    d: &Directive,
    http_conf: &LocConf,
) -> Result<Server, ConfError> {
    let block = d.block.as_deref().unwrap_or_default();
    let mut conf = http_conf.clone();
    c.apply(&mut conf, block)?;
    let conf = Arc::new(conf);
    let mut s = Server {
        listens: Vec::new(),
        names: Vec::new(),
        primary_name: "".into(),
        steps: Vec::new(),
        locations: Vec::new(),
        named: Default::default(),
        conf: conf.clone(),
    };
    for x in block {
        if x.name == "if" {
            s.steps.push(c.if_step(x, None)?);
            continue;
        }
        if let Some(step) = c.step(x)? {
            s.steps.push(step);
            continue;
        }
        match x.name.as_str() {
            "listen" => s.listens.push(listen(x)?),
            "server_name" => {
                for n in &x.args {
                    if s.primary_name.is_empty() && !n.contains('$') {
                        s.primary_name = n.as_str().into();
                    }
                    if let Some(name) = server_name(x, n)? {
                        s.names.push(name);
                    }
                }
            }
            "location" => {
                let loc = c.location(x, &conf, None)?;
                match &loc.matcher {
                    Matcher::Named(n) => {
                        s.named.insert(n.clone(), Arc::new(loc));
                    }
                    _ => s.locations.push(Arc::new(loc)),
                }
            }
            "try_files" | "proxy_pass" | "fastcgi_pass" => {
                return Err(err(
                    x,
                    format!("\"{}\" directive is not allowed here; put it in a location", x.name),
                ));
            }
            _ => c.check_known(x, Context::Server)?,
        }
    }
    if s.listens.is_empty() {
        s.listens.push(Listen {
            addr: None,
            port: 80,
            default_server: false,
            ssl: false,
            http2: false,
            at: d.loc.clone(),
        });
    }
    no_duplicate_locations(&s.locations)?;
    Ok(s)
}

/// nginx refuses two prefix locations (`^~` or not) or two exact ones with
/// the same path among siblings; regular expressions may repeat.
pub(super) fn no_duplicate_locations(locs: &[Arc<Location>]) -> Result<(), ConfError> {
    let mut seen: HashSet<(bool, &str)> = HashSet::new();
    for l in locs {
        let key = match &l.matcher {
            Matcher::Prefix { path, .. } => (false, path.as_str()),
            Matcher::Exact(path) => (true, path.as_str()),
            _ => continue,
        };
        if !seen.insert(key) {
            return Err(ConfError::invalid(
                l.at.clone(),
                format!("duplicate location \"{}\"", key.1),
            ));
        }
        no_duplicate_locations(&l.children)?;
    }
    Ok(())
}
