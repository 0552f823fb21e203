//! The fidelity harness: nginx configurations taken from public
//! docker-compose projects (`tests/fidelity/corpus/NAME/nginx.conf`, each
//! with its repository, path and commit in `SOURCE`), checked with
//! `nginx -t` and `rcompose proxy -t`, then served by each in turn and asked
//! the same requests: the answers must match. Whatever rcompose cannot
//! serve must be refused as unsupported (the nginx container then serves
//! it), never as invalid.
//!
//! Each file is used as written; what has to change for it to run on this
//! host is changed mechanically, the same for both: ports to free loopback
//! ports, upstream hosts to one echoing upstream (FastCGI ones to one
//! PHP-FPM pool, with a PHP script that echoes what it was given in each
//! root), absolute paths into a
//! sandbox holding a small site, a certificate and an htpasswd file, and
//! `resolver` (Docker's DNS, absent here) left out. A file
//! of `server` blocks is included from the nginx image's own nginx.conf,
//! as the image includes `conf.d/*.conf`.
//!
//! `cargo test --test fidelity -- --nocapture` prints the table.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Kill, eventually, free_port};

/// A directive as the harness reads it: enough of nginx's grammar to find
/// what has to move (its own reader, not rcompose's, so a bug there is not
/// shared by the harness).
#[derive(Debug)]
struct Dir {
    name: String,
    args: Vec<String>,
    line: usize,
    children: Vec<Dir>,
}

fn tokens(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            '{' | '}' | ';' => {
                out.push((c.to_string(), line));
                chars.next();
            }
            '"' | '\'' => {
                let q = c;
                chars.next();
                let start = line;
                let mut word = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                word.push(n);
                            }
                        }
                        c if c == q => break,
                        '\n' => {
                            line += 1;
                            word.push(c);
                        }
                        c => word.push(c),
                    }
                }
                out.push((word, start));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '{' | '}' | ';') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push((word, line));
            }
        }
    }
    out
}

fn tree(toks: &[(String, usize)], i: &mut usize) -> Vec<Dir> {
    let mut out = Vec::new();
    while *i < toks.len() {
        if toks[*i].0 == "}" {
            *i += 1;
            return out;
        }
        let (name, line) = toks[*i].clone();
        *i += 1;
        let mut args = Vec::new();
        while *i < toks.len() && !matches!(toks[*i].0.as_str(), ";" | "{" | "}") {
            args.push(toks[*i].0.clone());
            *i += 1;
        }
        let children = if *i < toks.len() && toks[*i].0 == "{" {
            *i += 1;
            tree(toks, i)
        } else {
            *i += 1;
            Vec::new()
        };
        out.push(Dir { name, args, line, children });
    }
    out
}

fn walk<'a>(dirs: &'a [Dir], out: &mut Vec<&'a Dir>) {
    for d in dirs {
        out.push(d);
        walk(&d.children, out);
    }
}

/// What a configuration becomes on this host, and what to ask it.
struct Prepared {
    conf: PathBuf,
    /// Each listening port: (port, TLS).
    ports: Vec<(u16, bool)>,
    paths: Vec<String>,
}

/// Absolute paths written in the file, moved under the sandbox.
fn sandboxed(sandbox: &Path, p: &str) -> String {
    if p.starts_with('/') { format!("{}{p}", sandbox.display()) } else { p.to_string() }
}

/// Rewrites `text` (a whole nginx.conf, or `server` blocks for conf.d) to
/// run in `sandbox` against the upstream on `up` (PHP-FPM on `fpm`).
fn prepare(text: &str, sandbox: &Path, up: u16, fpm: u16) -> Prepared {
    let dirs = tree(&tokens(text), &mut 0);
    let full = dirs.iter().any(|d| d.name == "http" || d.name == "events");
    let mut all = Vec::new();
    walk(&dirs, &mut all);
    let upstream_names: BTreeSet<&str> = all
        .iter()
        .filter(|d| d.name == "upstream")
        .filter_map(|d| d.args.first())
        .map(String::as_str)
        .collect();
    // Upstream blocks that fastcgi_pass names: their servers are the PHP-FPM pool.
    let fastcgi_names: BTreeSet<&str> = all
        .iter()
        .filter(|d| d.name == "fastcgi_pass")
        .filter_map(|d| d.args.first())
        .map(String::as_str)
        .collect();
    let fastcgi_servers: BTreeSet<usize> = all
        .iter()
        .filter(|d| {
            d.name == "upstream"
                && d.args.first().is_some_and(|n| fastcgi_names.contains(n.as_str()))
        })
        .flat_map(|d| d.children.iter().filter(|c| c.name == "server").map(|c| c.line))
        .collect();
    let php = !fastcgi_names.is_empty();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut port_map: BTreeMap<String, u16> = BTreeMap::new();
    let mut ports = Vec::new();
    let mut paths = vec![
        "/".to_string(),
        "/index.html".into(),
        "/deep/link".into(),
        "/app.js".into(),
        "/missing.css".into(),
        "/?q=1".into(),
    ];
    let edit = |lines: &mut Vec<String>, line: usize, from: &str, to: &str| {
        if let Some(l) = lines.get_mut(line - 1) {
            *l = l.replacen(from, to, 1);
        }
    };
    for d in &all {
        match d.name.as_str() {
            "listen" => {
                let a = &d.args[0];
                let ssl = d.args.iter().any(|x| x == "ssl");
                if a.starts_with('[') {
                    // The IPv6 twin of an IPv4 listen: one loopback address serves both here.
                    edit(&mut lines, d.line, "listen", "#listen");
                    continue;
                }
                let port_text = a.rsplit(':').next().unwrap_or(a).to_string();
                if !port_text.bytes().all(|b| b.is_ascii_digit()) {
                    // `listen $PORT`, a template's: left as written, for nginx to judge.
                    continue;
                }
                let new = *port_map.entry(port_text.clone()).or_insert_with(free_port);
                if !ports.iter().any(|(p, _)| *p == new) {
                    ports.push((new, ssl));
                }
                edit(&mut lines, d.line, a, &format!("127.0.0.1:{new}"));
            }
            "proxy_pass" | "fastcgi_pass" | "uwsgi_pass" | "scgi_pass" | "grpc_pass" => {
                let url = &d.args[0];
                let rest = ["http://", "https://", "grpc://", "grpcs://"]
                    .iter()
                    .fold(url.as_str(), |u, s| u.strip_prefix(s).unwrap_or(u));
                let host = rest.split('/').next().unwrap_or(rest);
                // A host named by variables is resolved at run time: left as written.
                let to = if d.name == "fastcgi_pass" { fpm } else { up };
                if !upstream_names.contains(host) && !host.contains('$') {
                    edit(&mut lines, d.line, host, &format!("127.0.0.1:{to}"));
                }
            }
            "server" if !d.args.is_empty() && d.children.is_empty() => {
                // An upstream's server line.
                let to = if fastcgi_servers.contains(&d.line) { fpm } else { up };
                edit(&mut lines, d.line, &d.args[0], &format!("127.0.0.1:{to}"));
            }
            "root"
            | "alias"
            | "ssl_certificate"
            | "ssl_certificate_key"
            | "auth_basic_user_file"
            | "include"
            | "access_log"
            | "error_log"
            | "ssl_trusted_certificate" => {
                if let Some(p) = d.args.first().filter(|p| p.starts_with('/')) {
                    edit(&mut lines, d.line, p, &sandboxed(sandbox, p));
                }
            }
            // Each side is told its own pid file and user.
            "user" => edit(&mut lines, d.line, "user", "#user"),
            "pid" => edit(&mut lines, d.line, "pid", "#pid"),
            // Docker's DNS (127.0.0.11) is not on this host: names are not found either way.
            "resolver" => edit(&mut lines, d.line, "resolver", "#resolver"),
            "location" => {
                let path = match d.args.as_slice() {
                    [m, p] if m == "=" || m == "^~" => Some(p.clone()),
                    [p] if !p.starts_with('@') => Some(p.clone()),
                    _ => None,
                };
                if let Some(p) = path {
                    paths.push(p.clone());
                    paths.push(format!(
                        "{}{}probe?x=1",
                        p,
                        if p.ends_with('/') { "" } else { "/" }
                    ));
                    paths.push(format!("{}/redirect", p.trim_end_matches('/')));
                }
            }
            _ => {}
        }
    }
    if php {
        paths.extend(
            ["/index.php", "/index.php/some/path?x=1", "/missing.php", "/sub/page?q=2"]
                .map(String::from),
        );
    }
    // A server without listen listens on 80.
    for d in all.iter().filter(|d| d.name == "server" && !d.children.is_empty()) {
        if !d.children.iter().any(|c| c.name == "listen") {
            let new = *port_map.entry("80".into()).or_insert_with(free_port);
            if !ports.iter().any(|(p, _)| *p == new) {
                ports.push((new, false));
            }
            edit(&mut lines, d.line, "{", &format!("{{ listen 127.0.0.1:{new};"));
        }
    }
    let body = lines.join("\n") + "\n";
    let etc = sandbox.join("etc/nginx");
    std::fs::create_dir_all(etc.join("conf.d")).unwrap();
    // The files nginx ships beside its nginx.conf (mime.types, fastcgi_params, ...).
    for e in std::fs::read_dir("/etc/nginx").unwrap().flatten() {
        if e.path().is_file() && e.file_name() != "nginx.conf" {
            std::fs::copy(e.path(), etc.join(e.file_name())).unwrap();
        }
    }
    let s = sandbox.display();
    let conf = etc.join("nginx.conf");
    if full {
        std::fs::write(&conf, body).unwrap();
    } else {
        // The nginx image's nginx.conf, around conf.d.
        std::fs::write(etc.join("conf.d/default.conf"), body).unwrap();
        std::fs::write(
            &conf,
            format!(
                "worker_processes  auto;\nerror_log  {s}/var/log/nginx/error.log notice;\nevents {{\n    worker_connections  1024;\n}}\nhttp {{\n    include       {s}/etc/nginx/mime.types;\n    default_type  application/octet-stream;\n    log_format  main  '$remote_addr - $remote_user [$time_local] \"$request\" '\n                      '$status $body_bytes_sent \"$http_referer\" '\n                      '\"$http_user_agent\" \"$http_x_forwarded_for\"';\n    access_log  {s}/var/log/nginx/access.log  main;\n    sendfile        on;\n    keepalive_timeout  65;\n    include {s}/etc/nginx/conf.d/*.conf;\n}}\n"
            ),
        )
        .unwrap();
    }
    furnish(sandbox, &all);
    paths.sort();
    paths.dedup();
    Prepared { conf, ports, paths }
}

/// What PHP was given, for configurations that pass `.php` to PHP-FPM.
const ECHO_PHP: &str = r#"<?php
$s = $_SERVER;
foreach (['REQUEST_TIME', 'REQUEST_TIME_FLOAT', 'REMOTE_PORT'] as $k) unset($s[$k]);
ksort($s);
header('Content-Type: application/json');
echo json_encode(['server' => $s, 'body' => file_get_contents('php://input')], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
"#;

/// The files the configuration names: a small site in each root and alias,
/// the certificate and key, an htpasswd, the log folders.
fn furnish(sandbox: &Path, all: &[&Dir]) {
    std::fs::create_dir_all(sandbox.join("var/log/nginx")).unwrap();
    std::fs::create_dir_all(sandbox.join("logs")).unwrap();
    std::fs::create_dir_all(sandbox.join("html")).unwrap();
    for d in all {
        let Some(p) = d.args.first() else { continue };
        let at = PathBuf::from(sandboxed(sandbox, p));
        match d.name.as_str() {
            "root" | "alias" if !p.contains('$') => {
                let dir = if p.starts_with('/') { at } else { sandbox.join(p) };
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("index.html"), format!("<p>index of {p}</p>\n")).unwrap();
                std::fs::write(dir.join("app.js"), "console.log('app');\n").unwrap();
                std::fs::write(dir.join("50x.html"), "<p>error page</p>\n").unwrap();
                std::fs::write(dir.join("index.php"), ECHO_PHP).unwrap();
            }
            "ssl_certificate" | "ssl_certificate_key" => {
                std::fs::create_dir_all(at.parent().unwrap()).unwrap();
                let key = d.name == "ssl_certificate_key";
                let (cert_path, key_path) = (sandbox.join("cert.pem"), sandbox.join("key.pem"));
                if !cert_path.exists() {
                    let ok = Command::new("openssl")
                        .args([
                            "req",
                            "-x509",
                            "-newkey",
                            "rsa:2048",
                            "-nodes",
                            "-days",
                            "2",
                            "-subj",
                            "/CN=localhost",
                        ])
                        .arg("-keyout")
                        .arg(&key_path)
                        .arg("-out")
                        .arg(&cert_path)
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success());
                    assert!(ok, "openssl is needed to make the corpus's certificates");
                }
                std::fs::copy(if key { &key_path } else { &cert_path }, &at).unwrap();
            }
            "auth_basic_user_file" => {
                std::fs::create_dir_all(at.parent().unwrap()).unwrap();
                std::fs::write(&at, "user:{PLAIN}secret\n").unwrap();
            }
            _ => {}
        }
    }
}

/// nginx or `rcompose proxy` on the prepared configuration, with the same
/// prefix; `-t` to check it.
fn side(who: &str, p: &Prepared, sandbox: &Path, test: bool) -> Command {
    let mut cmd = if who == "nginx" {
        let mut c = Command::new(common::ensure_nginx());
        let daemon = if test { "" } else { "daemon off; " };
        c.args(["-g", &format!("user root; {daemon}pid {}/nginx.pid;", sandbox.display())]);
        c
    } else {
        let mut c = common::rcompose();
        c.arg("proxy");
        c
    };
    if test {
        cmd.arg("-t");
    }
    cmd.arg("-c").arg(&p.conf).arg("-p").arg(sandbox);
    cmd
}

/// `nginx -t` or `rcompose proxy -t`: (accepted, what it said).
fn check(who: &str, p: &Prepared, sandbox: &Path) -> (bool, String) {
    let out = side(who, p, sandbox, true).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn serve(who: &str, p: &Prepared, sandbox: &Path) -> Kill {
    let child = side(who, p, sandbox, false).stderr(Stdio::null()).spawn().unwrap();
    let k = Kill(child);
    for (port, _) in &p.ports {
        assert!(
            eventually(15, || TcpStream::connect(("127.0.0.1", *port)).is_ok()),
            "{who} did not listen on {port}"
        );
    }
    k
}

/// One request's answer as compared: status line, the headers that matter, the body.
fn ask(port: u16, tls: bool, method: &str, path: &str, ports: &[(u16, bool)]) -> String {
    let scheme = if tls { "https" } else { "http" };
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sk",
        "-i",
        "--max-time",
        "10",
        "--path-as-is",
        "-H",
        "Host: localhost",
        "-H",
        "User-Agent: fidelity",
    ]);
    if method == "HEAD" {
        cmd.arg("-I");
    } else if method != "GET" {
        cmd.args(["-X", method, "--data-binary", "a=1"]);
    }
    let out = cmd.arg(format!("{scheme}://127.0.0.1:{port}{path}")).output().expect("curl");
    let mut text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    for (i, (p, _)) in ports.iter().enumerate() {
        text = text.replace(&p.to_string(), &format!("PORT{i}"));
    }
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("").trim_end().to_string();
    let page = body.contains("<hr><center>");
    let keep = [
        "content-type",
        "location",
        "cache-control",
        "www-authenticate",
        "content-encoding",
        "vary",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
        "strict-transport-security",
        "permissions-policy",
        "content-security-policy",
        "x-xss-protection",
        "content-length",
        "expires",
    ];
    // Folded lines (a value written over several lines) read as one, a space between.
    let mut unfolded: Vec<String> = Vec::new();
    for l in lines {
        match unfolded.last_mut() {
            Some(prev) if l.starts_with([' ', '\t']) => {
                prev.push(' ');
                prev.push_str(l.trim());
            }
            _ => unfolded.push(l.trim_end().to_string()),
        }
    }
    let html = unfolded.iter().any(|l| l.eq_ignore_ascii_case("content-type: text/html"));
    let mut headers: Vec<String> = unfolded
        .into_iter()
        .map(|l| l.to_ascii_lowercase())
        .filter(|l| keep.iter().any(|k| l.starts_with(&format!("{k}:"))))
        // Pages name their server, so their lengths differ by that much (HEAD has no body to tell).
        .filter(|l| !((page || (html && method == "HEAD")) && l.starts_with("content-length:")))
        // A date a second apart is the same answer.
        .map(|l| if l.starts_with("expires:") { "expires: (a date)".to_string() } else { l })
        .collect();
    headers.sort();
    // Pages name their server (`server_tokens off`: without a version).
    let body = body
        .replace("nginx/1.22.1", "SERVER")
        .replace("<center>nginx</center>", "<center>SERVER</center>")
        .replace("rcompose", "SERVER");
    format!("{method} {path} -> {status}\n{}\n{body}", headers.join("\n"))
}

#[derive(Default)]
struct Tally {
    rows: Vec<String>,
    nginx_accepts: usize,
    served_alike: usize,
    fallbacks: BTreeMap<String, usize>,
    wrong: Vec<String>,
}

#[test]
fn real_configurations_are_served_as_nginx_serves_them_or_handed_to_nginx() {
    let corpus = common::repo_root().join("tests/fidelity/corpus");
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let work = tempfile::tempdir().unwrap();
    let (_up, up) = common::echo_upstream(work.path());
    let (_fpm, fpm) = common::php_fpm(work.path());
    let mut t = Tally::default();
    for dir in &names {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(dir.join("SOURCE")).unwrap_or_default();
        assert!(
            source.contains("repo: ") && source.contains("commit: "),
            "{name}: SOURCE must name the repository and commit"
        );
        let text = std::fs::read_to_string(dir.join("nginx.conf")).unwrap();
        let sandbox = work.path().join(&name);
        let p = prepare(&text, &sandbox, up, fpm);
        let (ng_ok, ng_says) = check("nginx", &p, &sandbox);
        if !ng_ok {
            let why = ng_says.lines().find(|l| l.contains("[emerg]")).unwrap_or("").to_string();
            t.rows.push(format!("{name:<24} nginx refuses   -                 {why}"));
            continue;
        }
        t.nginx_accepts += 1;
        let (rc_ok, rc_says) = check("rc", &p, &sandbox);
        if !rc_ok {
            let first = rc_says.lines().next().unwrap_or("").to_string();
            if rc_says.contains("--no-builtin-proxy") {
                // The reason, without its place and the advice after it.
                let directive = first
                    .split(": ")
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join(": ")
                    .split("; run the real nginx")
                    .next()
                    .unwrap_or("?")
                    .to_string();
                *t.fallbacks.entry(directive.clone()).or_default() += 1;
                t.rows.push(format!("{name:<24} ok              nginx container   {first}"));
            } else {
                t.wrong.push(format!("{name}: rcompose refuses what nginx accepts: {rc_says}"));
                t.rows.push(format!("{name:<24} ok              REFUSED           {first}"));
            }
            continue;
        }
        let mut answers = Vec::new();
        for who in ["nginx", "rc"] {
            let _server = serve(who, &p, &sandbox);
            let mut got = Vec::new();
            for (port, tls) in &p.ports {
                for path in &p.paths {
                    got.push(ask(*port, *tls, "GET", path, &p.ports));
                }
                got.push(ask(*port, *tls, "HEAD", "/", &p.ports));
                got.push(ask(*port, *tls, "POST", "/", &p.ports));
            }
            answers.push(got);
        }
        let total = answers[0].len();
        let differ: Vec<(String, String)> = answers[0]
            .iter()
            .zip(&answers[1])
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect();
        let same = total - differ.len();
        t.rows.push(format!(
            "{name:<24} ok              served            {same}/{total} answers as nginx's"
        ));
        if differ.is_empty() {
            t.served_alike += 1;
        } else {
            for (n, r) in differ.iter().take(3) {
                t.wrong.push(format!("{name}: nginx answered\n{n}\nrcompose answered\n{r}"));
            }
        }
    }
    let mut report = String::new();
    let _ = writeln!(report, "{:<24} {:<15} rcompose", "configuration", "nginx -t");
    for r in &t.rows {
        let _ = writeln!(report, "{r}");
    }
    let _ = writeln!(
        report,
        "\n{} files, nginx accepts {}; served in-process exactly as nginx: {}; handed to the nginx container: {} ({:?}); wrong: {}",
        names.len(),
        t.nginx_accepts,
        t.served_alike,
        t.fallbacks.values().sum::<usize>(),
        t.fallbacks,
        t.wrong.len()
    );
    eprintln!("{report}");
    let _ = std::fs::write(common::repo_root().join("target/fidelity.txt"), &report);
    assert!(t.wrong.is_empty(), "{}\n\n{}", report, t.wrong.join("\n\n"));
}
