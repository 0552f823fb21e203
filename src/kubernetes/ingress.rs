//! The nginx in front of a project as an Ingress: one rule per server name,
//! one path per location, as the nginx.conf routes them.
//!
//! A location an Ingress can say by itself (a plain `proxy_pass` to one
//! service, the path passed on unchanged, no setting beyond the forwarding
//! headers every ingress controller sends) goes straight to that service.
//! Any other (files, rewrites, regex locations, headers, limits, auth)
//! goes to the nginx itself, kept as a Deployment with its configuration,
//! so the cluster answers as the laptop does. When nothing needs it, the
//! nginx is left out.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};

use super::Ctx;
use crate::compose::model::Service;
use crate::diag::Location as Loc;
use crate::orchestrate::builtin::{hosts::ContainerHosts, select};
use crate::proxy::conf::{self, Directive};
use crate::proxy::config::{Config, Location, Matcher, Server, ServerName};

/// One nginx service's routes.
pub(super) struct Site {
    pub(super) service: String,
    rules: Vec<Rule>,
    /// The port the nginx listens on, for routes that go through it.
    port: u16,
    /// The TLS Secret (and its hosts) where the nginx listens with `ssl`.
    tls: Vec<(Vec<String>, String)>,
}

struct Rule {
    hosts: Vec<String>,
    paths: Vec<Route>,
}

struct Route {
    path: String,
    kind: &'static str,
    /// A service's cluster name and port; `None`: through the nginx.
    direct: Option<(String, u16)>,
}

impl Site {
    /// Some path goes through the nginx, which then runs in the cluster.
    pub(super) fn needs_proxy(&self) -> bool {
        self.rules.iter().flat_map(|r| &r.paths).any(|p| p.direct.is_none())
    }
}

/// The routes of every nginx the built-in proxy would serve.
pub(super) fn read_sites(ctx: &mut Ctx) -> Result<Vec<Site>, String> {
    let project = ctx.project;
    let mut out = Vec::new();
    for name in select::proxy_services(project, false) {
        let svc = &project.services[&name];
        let setup = select::setup(
            svc,
            Arc::new(ContainerHosts::default()),
            &select::state_dir(&project.name),
            None,
        )?;
        let read = conf::parse_file(&setup.conf_path, &setup.conf_prefix, setup.includes.as_ref())
            .and_then(|raw| crate::proxy::config::compile(&raw).map(|c| (raw, c)));
        let (raw, config) = match read {
            Ok(both) => both,
            Err(e) if e.is_unsupported() => {
                ctx.note(format!(
                    "service {name}: the Ingress sends everything to its nginx, whose configuration rcompose does not read in full ({})",
                    e.message
                ));
                out.push(catch_all(svc, &name));
                continue;
            }
            Err(e) => return Err(format!("service {name}: {e}")),
        };
        for (service, ports) in select::ports_reached(project, &config) {
            ctx.proxied_ports.entry(service).or_default().extend(ports);
        }
        out.push(site(ctx, svc, &raw, &config, setup.paths.as_ref())?);
    }
    Ok(out)
}

fn catch_all(svc: &Service, name: &str) -> Site {
    let port = svc.ports.first().map_or(80, |p| p.target);
    let rules = vec![Rule {
        hosts: Vec::new(),
        paths: vec![Route { path: "/".into(), kind: "Prefix", direct: None }],
    }];
    Site { service: name.to_string(), rules, port, tls: Vec::new() }
}

fn site(
    ctx: &mut Ctx,
    svc: &Service,
    raw: &[Directive],
    config: &Config,
    paths: &dyn crate::proxy::request::PathMap,
) -> Result<Site, String> {
    let http =
        raw.iter().find(|d| d.name == "http").and_then(|d| d.block.as_deref()).unwrap_or(&[]);
    let http_plain = http.iter().all(|d| plain_directive(d, HTTP_OK));
    let mut rules = Vec::new();
    let mut tls = Vec::new();
    let mut port = None;
    for server in &config.http.servers {
        let raw_server = raw_server(http, server);
        let server_plain = http_plain
            && raw_server.is_some_and(|b| b.iter().all(|d| plain_directive(d, SERVER_OK)));
        let hosts = hosts(server);
        port = port.or(server.listens.first().map(|l| l.port));
        let mut routes =
            server_routes(ctx, config, server, raw_server.unwrap_or(&[]), server_plain);
        if routes.iter().any(|r| r.direct.is_none()) && !routes.iter().any(|r| r.path == "/") {
            // Paths no location matches: nginx answers them itself.
            routes.push(Route { path: "/".into(), kind: "Prefix", direct: None });
        }
        if (server.listens.iter().any(|l| l.ssl) || server.conf.tls.ssl_on)
            && let Some(secret) = tls_secret(ctx, svc, server, paths)?
        {
            tls.push((hosts.clone(), secret));
        }
        rules.push(Rule { hosts, paths: routes });
    }
    Ok(Site { service: svc.name.clone(), rules, port: port.unwrap_or(80), tls })
}

/// The raw block of a compiled server, found by where its first `listen` was written.
fn raw_server<'a>(http: &'a [Directive], server: &Server) -> Option<&'a [Directive]> {
    let at = &server.listens.first()?.at;
    http.iter().filter(|d| d.name == "server").find_map(|d| {
        let block = d.block.as_deref()?;
        (d.loc == *at || block.iter().any(|c| c.loc == *at)).then_some(block)
    })
}

/// The names an Ingress rule can carry: exact host names and `*.` wildcards.
fn hosts(server: &Server) -> Vec<String> {
    let valid = |h: &str| {
        h.contains('.')
            && h.split('.').all(|p| {
                !p.is_empty()
                    && p.len() <= 63
                    && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !p.starts_with('-')
                    && !p.ends_with('-')
            })
    };
    let mut out = Vec::new();
    for n in &server.names {
        match n {
            ServerName::Exact(h) if valid(h) => out.push(h.clone()),
            ServerName::Suffix(s) if valid(s.trim_start_matches('.')) => {
                out.push(format!("*{s}"));
            }
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

fn server_routes(
    ctx: &mut Ctx,
    config: &Config,
    server: &Server,
    raw: &[Directive],
    plain: bool,
) -> Vec<Route> {
    if server.locations.iter().any(|l| matches!(l.matcher, Matcher::Regex(_))) {
        // Regex locations win over prefixes by order of writing, which
        // an Ingress cannot say: all of it goes through the nginx.
        return vec![Route { path: "/".into(), kind: "Prefix", direct: None }];
    }
    let mut out = Vec::new();
    for l in server.locations.iter().filter(|l| !l.internal) {
        let (path, kind) = match &l.matcher {
            Matcher::Exact(p) => (p.clone(), "Exact"),
            Matcher::Prefix { path, .. } if path.ends_with('/') => (path.clone(), "Prefix"),
            // `location /api` matches `/apis` too; only the controller's own matching says that.
            Matcher::Prefix { path, .. } => (path.clone(), "ImplementationSpecific"),
            Matcher::Regex(_) | Matcher::Named(_) => continue,
        };
        let raw_loc = find_location(raw, &l.at);
        let direct = plain
            .then(|| raw_loc.is_some_and(|b| b.iter().all(|d| plain_directive(d, LOCATION_OK))))
            .filter(|ok| *ok)
            .and_then(|_| direct_backend(ctx, config, l, &path));
        out.push(Route { path, kind, direct });
    }
    out
}

fn find_location<'a>(block: &'a [Directive], at: &Loc) -> Option<&'a [Directive]> {
    block.iter().find_map(|d| {
        let inner = d.block.as_deref()?;
        if d.name == "location" && d.loc == *at {
            return Some(inner);
        }
        find_location(inner, at)
    })
}

/// The service a location sends every request to, unchanged, if it does only that.
fn direct_backend(ctx: &Ctx, config: &Config, l: &Location, path: &str) -> Option<(String, u16)> {
    let p = l.proxy.as_ref()?;
    let same_path = p.uri.as_deref().is_none_or(|u| u == path);
    if !l.steps.is_empty()
        || l.try_files.is_some()
        || !l.children.is_empty()
        || p.fastcgi
        || p.url.is_some()
        || !same_path
    {
        return None;
    }
    let (host, port) = match config.http.upstreams.get(&p.target) {
        Some(u) if u.servers.len() == 1 => (u.servers[0].host.as_str(), u.servers[0].port),
        Some(_) => return None,
        None => (p.host.as_str(), p.port),
    };
    let service = select::service_of(ctx.project, host)?;
    Some((ctx.name(&service), port))
}

/// Directives any context may hold without changing what is answered.
const ANYWHERE_OK: &[&str] = &[
    "access_log",
    "error_log",
    "proxy_http_version",
    "proxy_buffering",
    "proxy_request_buffering",
];
const HTTP_OK: &[&str] = &[
    "include",
    "default_type",
    "log_format",
    "sendfile",
    "tcp_nopush",
    "tcp_nodelay",
    "keepalive_timeout",
    "keepalive_requests",
    "types",
    "types_hash_max_size",
    "types_hash_bucket_size",
    "server_names_hash_bucket_size",
    "server_names_hash_max_size",
    "server_tokens",
    "upstream",
    "server",
    "map",
    "resolver",
    "gzip",
    "gzip_vary",
    "gzip_proxied",
    "gzip_comp_level",
    "gzip_types",
    "gzip_min_length",
    "gzip_buffers",
    "gzip_http_version",
    "ssl_protocols",
    "ssl_ciphers",
    "ssl_prefer_server_ciphers",
    "ssl_session_cache",
    "ssl_session_timeout",
    "ssl_session_tickets",
    "proxy_set_header",
    "proxy_redirect",
    "proxy_cache_bypass",
];
const SERVER_OK: &[&str] = &[
    "listen",
    "server_name",
    "location",
    "error_page",
    "root",
    "index",
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_protocols",
    "ssl_ciphers",
    "ssl_prefer_server_ciphers",
    "ssl_session_cache",
    "ssl_session_timeout",
    "ssl_session_tickets",
    "http2",
    "server_tokens",
    "keepalive_timeout",
    "sendfile",
    "gzip",
    "gzip_types",
    "gzip_proxied",
    "proxy_set_header",
    "proxy_redirect",
    "proxy_cache_bypass",
];
const LOCATION_OK: &[&str] =
    &["proxy_pass", "proxy_set_header", "proxy_redirect", "proxy_cache_bypass"];

/// Whether a directive leaves the answer as an ingress controller gives it.
fn plain_directive(d: &Directive, allowed: &[&str]) -> bool {
    let arg = |i: usize| d.args.get(i).map_or("", String::as_str);
    if !allowed.contains(&d.name.as_str()) && !ANYWHERE_OK.contains(&d.name.as_str()) {
        return false;
    }
    match d.name.as_str() {
        "proxy_set_header" => forwarding_header(arg(0), arg(1)),
        "proxy_redirect" => matches!(arg(0), "off" | "default"),
        "proxy_cache_bypass" => arg(0) == "$http_upgrade",
        _ => true,
    }
}

/// The headers every ingress controller sets as these lines set them.
fn forwarding_header(name: &str, value: &str) -> bool {
    match name.to_ascii_lowercase().as_str() {
        "host" | "x-forwarded-host" => matches!(value, "$host" | "$http_host"),
        "x-real-ip" => value == "$remote_addr",
        "x-forwarded-for" => matches!(value, "$proxy_add_x_forwarded_for" | "$remote_addr"),
        "x-forwarded-proto" | "x-scheme" => value == "$scheme",
        "x-forwarded-port" => value == "$server_port",
        "upgrade" => value == "$http_upgrade",
        "connection" => matches!(
            value.to_ascii_lowercase().as_str(),
            "upgrade" | "$connection_upgrade" | "\"upgrade\""
        ),
        _ => false,
    }
}

/// The certificate and key of a TLS server as a `kubernetes.io/tls` Secret.
fn tls_secret(
    ctx: &mut Ctx,
    svc: &Service,
    server: &Server,
    paths: &dyn crate::proxy::request::PathMap,
) -> Result<Option<String>, String> {
    let (Some((cert, at)), Some((key, _))) =
        (server.conf.tls.certificates.first(), server.conf.tls.keys.first())
    else {
        return Ok(None);
    };
    let name = ctx.data.fresh(&format!("{}-tls", svc.name));
    let (Some(cert_host), Some(key_host)) = (paths.host_path(cert), paths.host_path(key)) else {
        // Kept where no compose file says (a certbot volume, the host's
        // /etc/letsencrypt): the cluster has its own way to them.
        ctx.note(format!(
            "service {}: {cert} is not in a mount of the service, so the Ingress names the Secret {name} for you to make (`kubectl create secret tls {name} --cert=... --key=...`, or cert-manager)",
            svc.name
        ));
        return Ok(Some(name));
    };
    let read = |host: &std::path::Path| -> Result<String, String> {
        std::fs::read(host)
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
            .map_err(|e| format!("{at}: service {}: cannot read {}: {e}", svc.name, host.display()))
    };
    let (cert, key) = (read(&cert_host)?, read(&key_host)?);
    let value = json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": ctx.project_meta(&name),
        "type": "kubernetes.io/tls", "data": {"tls.crt": cert, "tls.key": key},
    });
    ctx.push("Secret", name.clone(), value);
    Ok(Some(name))
}

/// The Ingress of one site.
pub(super) fn emit(ctx: &mut Ctx, site: &Site) {
    let proxy = ctx.name(&site.service);
    let mut rules = Vec::new();
    for rule in &site.rules {
        let paths: Vec<Value> = rule
            .paths
            .iter()
            .map(|r| {
                let (name, port) = r.direct.clone().unwrap_or((proxy.clone(), site.port));
                json!({"path": r.path, "pathType": r.kind,
                       "backend": {"service": {"name": name, "port": {"number": port}}}})
            })
            .collect();
        let http = json!({"paths": paths});
        if rule.hosts.is_empty() {
            rules.push(json!({"http": http}));
        }
        for h in &rule.hosts {
            rules.push(json!({"host": h, "http": http}));
        }
    }
    let mut spec = json!({"rules": rules});
    if !site.tls.is_empty() {
        let tls: Vec<Value> = site
            .tls
            .iter()
            .map(|(hosts, secret)| {
                let mut t = json!({"secretName": secret});
                if !hosts.is_empty() {
                    t["hosts"] = hosts.clone().into();
                }
                t
            })
            .collect();
        spec["tls"] = tls.into();
    }
    let value = json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": proxy, "labels": ctx.labels(&proxy)},
        "spec": spec,
    });
    ctx.push("Ingress", proxy, value);
}
