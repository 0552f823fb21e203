//! `rcompose proxy` on the host, side by side with Debian's nginx on the same
//! configuration, the same files and the same upstream: the answers must
//! match. Then what nginx guarantees and a hostile client tries: traversal,
//! smuggling shapes, oversized and slow requests, limits, reload, shutdown.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::side::{Answer, get, listening, on_each_side, parse, raw, start_rcompose, start_side};
use common::{Kill, eventually, free_port};

const UPSTREAM: &str = r#"
import http.server, json, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        if self.headers.get("Transfer-Encoding") == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline(); break
                body += self.rfile.read(size).decode(); self.rfile.readline()
        if self.path.startswith("/boom"):
            status, out = 500, b"upstream says boom"
        elif self.path.startswith("/slow"):
            time.sleep(3); status, out = 200, b"late"
        elif self.path.startswith("/accel/"):
            to = {"file": "/protected/a.css", "named": "@named", "climb": "/protected/../../secret.txt", "args": "/text?name=accel", "missing": "/protected/nothere.css"}[self.path[7:]]
            self.send_response(200); self.send_header("X-Accel-Redirect", to); self.send_header("Content-Type", "text/x-carried")
            self.send_header("Set-Cookie", "s=1"); self.send_header("Content-Disposition", "attachment"); self.send_header("X-Other", "dropped")
            self.send_header("Content-Length", "7"); self.end_headers(); self.wfile.write(b"ignored"); return
        elif self.path.startswith("/cookies"):
            self.send_response(200); self.send_header("Content-Length", "0")
            self.send_header("Set-Cookie", "a=1; Path=/app/x; Domain=.Backend.Internal; HttpOnly")
            self.send_header("Set-Cookie", "b=2; path=/other"); self.send_header("Set-Cookie", "c=3")
            self.end_headers(); return
        elif self.path.startswith("/drip"):
            self.send_response(200); self.send_header("Content-Length", "8"); self.end_headers(); self.wfile.flush()
            for part in (b"drip", b"drop"):
                time.sleep(0.4); self.wfile.write(part); self.wfile.flush()
            return
        elif self.path.startswith("/cut"):
            self.send_response(200); self.send_header("Content-Length", "100"); self.end_headers()
            self.wfile.write(b"part"); self.wfile.flush(); self.close_connection = True; return
        elif self.path.startswith("/redirect"):
            self.send_response(302); self.send_header("Location", "http://backend/v2/elsewhere"); self.send_header("Content-Length", "0"); self.end_headers(); return
        else:
            status, out = 200, json.dumps({"path": self.path, "method": self.command, "body": body, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_HEAD = answer
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

fn upstream(dir: &Path) -> (Kill, u16) {
    let port = free_port();
    (common::python_server(dir, "upstream.py", UPSTREAM, port), port)
}

fn conf(dir: &Path, root: &Path, port: u16, up: u16, who: &str) -> String {
    format!(
        r#"user root;
worker_processes 1;
error_log {dir}/error-{who}.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format main '$remote_addr "$request" $status $body_bytes_sent "$http_x_forwarded_for" $uri $sent_http_content_type';
    access_log {dir}/access-{who}.log main;
    client_max_body_size 1k;
    client_header_timeout 2s;
    sendfile on;
    gzip on;
    gzip_types text/css application/json;
    upstream backend {{ server 127.0.0.1:{up}; }}
    limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;
    limit_req_zone $arg_k zone=two:1m rate=30r/m;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        error_page 404 /404.html;
        error_page 500 502 503 504 /50x.html;
        location = /50x.html {{ }}
        location / {{ index index.html; try_files $uri $uri/ /index.html; }}
        location /files/ {{ }}
        location /api/ {{
            rewrite ^/api(/.*)$ $1 break;
            proxy_pass http://backend/;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1s;
        }}
        location /v1/ {{ proxy_pass http://backend/v2/; }}
        location /raw/ {{ proxy_pass http://backend; }}
        location /redirect/ {{ proxy_pass http://backend; }}
        location /cs/ {{ charset utf-8; alias {root}/files/; }}
        location /ck/ {{
            proxy_pass http://backend/;
            proxy_cookie_path /app/ /ck/;
            proxy_cookie_domain backend.internal $host;
        }}
        location /realip/ {{
            set_real_ip_from 127.0.0.0/8;
            real_ip_header X-Forwarded-For;
            real_ip_recursive on;
            proxy_pass http://backend/;
            proxy_set_header X-Real-IP $remote_addr;
        }}
        location /realip-off/ {{ set_real_ip_from 10.0.0.0/8; proxy_pass http://backend/; proxy_set_header X-Real-IP $remote_addr; }}
        location /limited/ {{ limit_req zone=one nodelay; alias {root}/files/; }}
        location /limited429/ {{ limit_req zone=two burst=1 nodelay; limit_req_status 429; alias {root}/files/; }}
        location /private/ {{ auth_basic "Staff only"; auth_basic_user_file {dir}/htpasswd; alias {root}/files/; }}
        location /private/open/ {{ auth_basic off; alias {root}/files/; }}
        if ($http_x_server_block) {{ return 418; }}
        location /if/ {{
            if ($request_method = OPTIONS) {{ add_header Access-Control-Allow-Origin *; add_header X-Test pre; return 204; }}
            if ($http_x_block) {{ return 403; }}
            if ($arg_go ~ ^(\w+)$) {{ return 302 /gone/$1; }}
            if (!-f $request_filename) {{ return 200 "no file $uri"; }}
            alias {root}/files/;
        }}
        location /if-api/ {{
            if ($http_x_mode = up) {{ add_header X-Test yes always; }}
            proxy_pass http://backend/;
        }}
        location /if-raw/ {{
            if ($http_x_mode ~* ^UP$) {{ add_header X-Test raw; }}
            proxy_pass http://backend;
        }}
        location /if-break/ {{ set $x a; if ($x) {{ set $y b; break; set $y c; }} return 200 "y=$y"; }}
        location /if-try/ {{ try_files $uri /index.html; if ($arg_q) {{ add_header X-Test q; }} }}
        location /set/ {{ set $a "x$arg_q"; set $b $a-$request_method; return 200 "a=$a b=$b u=$unset_here"; }}
        location /set-then/ {{ set $unset_here later; rewrite ^ /set/ last; }}
        location /cs-json/ {{ charset utf-8; charset_types application/json; alias {root}/files/; }}
        location /nochunk/ {{ chunked_transfer_encoding off; alias {root}/files/; }}
        location /intercept/ {{ proxy_pass http://backend/; proxy_intercept_errors on; }}
        location /old {{ return 301 /new; }}
        location /text {{ return 200 "hello $arg_name"; }}
        location ~ ^/re/(\w+)$ {{ return 200 "re $1"; }}
        location /rw/ {{ rewrite ^/rw/(.*)$ /text?name=$1 last; }}
        location /static/ {{ alias {root}/files/; }}
        location /hdr/ {{ add_header X-Test yes; expires 1h; }}
        location /gone/ {{ return 410; }}
        location /protected/ {{ internal; alias {root}/files/; }}
        location @named {{ return 200 "named $uri"; }}
        location /noaccel/ {{ proxy_pass http://backend/; proxy_ignore_headers X-Accel-Redirect X-Accel-Expires; }}
    }}
}}
"#,
        dir = dir.display(),
        root = root.display()
    )
}

fn huge_text() -> String {
    (0..300_000).map(|i| format!("line {i:06}\n")).collect()
}

fn site(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("site");
    std::fs::create_dir_all(root.join("files/sub")).unwrap();
    std::fs::create_dir_all(root.join("noindex")).unwrap();
    std::fs::create_dir_all(root.join("hdr")).unwrap();
    std::fs::write(root.join("index.html"), "<h1>app</h1>\n").unwrap();
    std::fs::write(root.join("404.html"), "custom not found\n").unwrap();
    std::fs::write(root.join("50x.html"), "custom 50x\n").unwrap();
    std::fs::write(root.join("files/a.css"), "body{}\n").unwrap();
    std::fs::write(root.join("files/data.json"), "{\"a\":1}\n").unwrap();
    std::fs::write(root.join("files/sub/index.html"), "sub index\n").unwrap();
    std::fs::write(root.join("hdr/x.txt"), "x\n").unwrap();
    std::fs::write(root.join("files/big.bin"), vec![7u8; 300_000]).unwrap();
    // Over the in-memory limit (2 MiB): streamed from disk in chunks.
    std::fs::write(root.join("files/huge.txt"), huge_text()).unwrap();
    std::fs::write(root.join("files/big.css"), "body { color: red; }\n".repeat(300)).unwrap();
    std::fs::write(dir.join("secret.txt"), "TOP-SECRET-OUTSIDE-ROOT\n").unwrap();
    // `openssl passwd -apr1 -salt abcdefgh secret`, and {SHA} of "secret".
    std::fs::write(
        dir.join("htpasswd"),
        "# users\nalice:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\nbob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), root.join("files/escape.txt")).unwrap();
    root
}

/// The body with a multipart boundary (each server numbers its own) written as BOUNDARY.
fn boundless(x: &Answer) -> String {
    match x.header("content-type").and_then(|t| t.split("boundary=").nth(1)) {
        Some(b) => x.body.replace(b, "BOUNDARY"),
        None => x.body.clone(),
    }
}

/// rcompose proxy and nginx on the same configuration, site and upstream.
struct SideBySide {
    _up: Kill,
    _rc: Kill,
    _ng: Kill,
    /// rcompose's port and nginx's.
    pr: u16,
    pn: u16,
}

fn side_by_side(dir: &Path) -> SideBySide {
    let nginx = common::ensure_nginx();
    let root = site(dir);
    let (_up, up) = upstream(dir);
    let (pr, pn) = (free_port(), free_port());
    std::fs::write(dir.join("rc.conf"), conf(dir, &root, pr, up, "rc")).unwrap();
    std::fs::write(dir.join("nginx.conf"), conf(dir, &root, pn, up, "nginx")).unwrap();
    let _rc = start_rcompose(&dir.join("rc.conf"), pr);
    let ng = Command::new(&nginx)
        .args(["-c"])
        .arg(dir.join("nginx.conf"))
        .args(["-p"])
        .arg(dir)
        .args(["-g", &format!("daemon off; pid {}/nginx.pid;", dir.display())])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ng = Kill(ng);
    assert!(listening(pn), "nginx did not start");
    SideBySide { _up, _rc, _ng, pr, pn }
}

#[test]
fn hostile_heads_are_answered_as_nginx_answers_them() {
    let dir = tempfile::tempdir().unwrap();
    let sides = side_by_side(dir.path());
    let status = |port: u16, req: &[u8]| parse(&raw(port, req)).status;
    // Each must get nginx's status.
    let same: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a..b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: .\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a.:80\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n",
        b"GET http://other/ HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"get / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcdXX0\r\n\r\n",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-4\r\nabcd\r\n0\r\n\r\n",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4;ext=1\r\nabcd\r\n0\r\n\r\n",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4 4\r\n\r\nabcd",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Y: a\x00b\r\n\r\n",
        b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /api/%2e%2e/%2e%2e/ HTTP/1.1\r\nHost: a\r\n\r\n",
        // hyper refused these (400) where nginx answers 501 or 505 or takes them.
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.2\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\t4\r\n\r\nabcd",
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n",
        b"GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nUnder_Score: ignored\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Y: a\x01b\r\nConnection: close\r\n\r\n",
    ];
    let mut diffs = Vec::new();
    for req in same {
        let (a, b) = (status(sides.pr, req), status(sides.pn, req));
        if a != b {
            diffs.push(format!("{:?}: {a} vs nginx's {b}", String::from_utf8_lossy(req)));
        }
    }
    assert!(
        diffs.is_empty(),
        "rcompose proxy and nginx answered differently:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn answers_like_nginx_on_the_same_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let SideBySide { pr, pn, .. } = &side_by_side(dir.path());
    let (pr, pn) = (*pr, *pn);

    let cases: &[(&str, &str)] = &[
        ("/", ""),
        ("/index.html", ""),
        ("/deep/link/in/the/app", ""),
        ("/files/a.css", ""),
        ("/files/data.json", ""),
        ("/files/sub/", ""),
        ("/files/sub", ""),
        ("/files/missing.txt", ""),
        ("/noindex/", ""),
        ("/api/items/7?x=1&y=2", "X-Forwarded-For: 10.1.2.3\r\n"),
        ("/api/boom", ""),
        ("/api/slow", ""),
        ("/v1/things?q=1", ""),
        ("/raw/thing%20one?a=b", ""),
        ("/intercept/boom", ""),
        ("/v1/redirect", ""),
        // proxy_redirect default without a URI in proxy_pass, then made absolute.
        ("/redirect/x", ""),
        // A proxying location ending in `/`, asked for without it: 301.
        ("/v1", ""),
        ("/redirect?a=1", ""),
        ("/old", ""),
        ("/text?name=world", ""),
        ("/re/abc", ""),
        ("/re/a-b", ""),
        ("/rw/rewritten", ""),
        ("/static/a.css", ""),
        ("/hdr/x.txt", ""),
        ("/gone/", ""),
        ("/api/accel/file", ""),
        ("/api/accel/named", ""),
        ("/api/accel/climb", ""),
        ("/api/accel/args", ""),
        ("/api/accel/missing", ""),
        ("/noaccel/accel/file", ""),
        ("/protected/a.css", ""),
        ("/a/../files/a.css", ""),
        ("/files//a.css", ""),
        ("/%2e%2e/%2e%2e/etc/passwd", ""),
        ("/files/a.css", "If-None-Match: \"nonsense\"\r\n"),
        ("/files/big.bin", "Range: bytes=100-199\r\n"),
        ("/files/big.bin", "Range: bytes=999999-\r\n"),
        ("/files/data.json", "Range: bytes=0-1,5-6\r\n"),
        ("/files/big.bin", "Range: bytes=0-9, 100-119,-5\r\n"),
        ("/files/huge.txt", "Range: bytes=10-19,2000000-2000009\r\n"),
        ("/files/a.css", "Range: bytes=x\r\n"),
        ("/files/a.css", "Range: bytes=5-2\r\n"),
        ("/files/a.css", "Range: bytes=2-1,3-4\r\n"),
        ("/files/a.css", "Range: bytes=0-100000,1-2\r\n"),
        ("/files/data.json", "Range: bytes=0-1\r\nIf-Range: \"not-this-one\"\r\n"),
        ("/files/data.json", "Range: bytes=0-1\r\nIf-Range: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
        ("/files/big.css", "Accept-Encoding: gzip\r\n"),
        ("/files/big.bin?whole", ""),
        ("/files/huge.txt?whole", ""),
        ("/files/huge.txt?ranged", "Range: bytes=100000-2500000\r\n"),
        ("/files/a.css", "Accept-Encoding: gzip\r\n"),
        ("/files/big.bin", "Accept-Encoding: gzip\r\n"),
        ("/index.html", "Accept-Encoding: gzip\r\n"),
        ("/cs/sub/index.html", ""),
        ("/ck/cookies", ""),
        ("/realip/x", "X-Forwarded-For: 1.2.3.4, 127.0.0.9\r\n"),
        ("/realip/x", "X-Forwarded-For: nonsense\r\n"),
        ("/realip-off/x", "X-Real-IP: 1.2.3.4\r\n"),
        // At 1r/s the second at once is refused; per $arg_k, a burst of one more.
        ("/limited/a.css", ""),
        ("/limited/a.css", ""),
        ("/limited429/a.css?k=x", ""),
        ("/limited429/a.css?k=x", ""),
        ("/limited429/a.css?k=x", ""),
        ("/limited429/a.css?k=y", ""),
        ("/limited429/a.css", ""),
        ("/limited429/a.css", ""),
        ("/private/a.css", ""),
        // alice:secret, bob:secret, alice:wrong, carol:secret, not Basic.
        ("/private/a.css", "Authorization: Basic YWxpY2U6c2VjcmV0\r\n"),
        ("/private/a.css", "Authorization: Basic Ym9iOnNlY3JldA==\r\n"),
        ("/private/a.css", "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n"),
        ("/private/a.css", "Authorization: Basic Y2Fyb2w6c2VjcmV0\r\n"),
        ("/private/a.css", "Authorization: Bearer abc\r\n"),
        ("/private/open/a.css", ""),
        ("/if/a.css", ""),
        ("/if/missing.css", ""),
        ("/if/a.css", "X-Block: 1\r\n"),
        ("/if/a.css?go=abc", ""),
        ("/if/a.css?go=a-b", ""),
        ("/", "X-Server-Block: yes\r\n"),
        ("/if-api/items/7", "X-Mode: up\r\n"),
        ("/if-api/items/7", ""),
        ("/if-raw/items/8?z=1", "X-Mode: Up\r\n"),
        ("/if-break/", ""),
        ("/if-try/nothing", ""),
        ("/if-try/nothing?q=1", ""),
        ("/set/?q=7", ""),
        ("/set-then/?q=8", ""),
        ("/cs/a.css", ""),
        ("/cs-json/data.json", ""),
        ("/cs-json/sub/index.html", ""),
        ("/nochunk/big.css", "Accept-Encoding: gzip\r\n"),
        ("/files/big.css", "Accept-Encoding: gzip\r\n"),
    ];
    let mut diffs = Vec::new();
    for (path, extra) in cases {
        let (a, b) = (get(pr, path, extra), get(pn, path, extra));
        let ct = |x: &Answer| {
            x.header("content-type").unwrap_or("").split(';').next().unwrap_or("").to_string()
        };
        let location =
            |x: &Answer, p: u16| x.header("location").map(|l| l.replace(&format!(":{p}"), ":PORT"));
        let mut why = Vec::new();
        if a.status != b.status {
            why.push(format!("status {} vs {}", a.status, b.status));
        }
        if a.reason != b.reason {
            why.push(format!("reason {:?} vs {:?}", a.reason, b.reason));
        }
        if ct(&a) != ct(&b) {
            why.push(format!("type {:?} vs {:?}", ct(&a), ct(&b)));
        }
        if location(&a, pr) != location(&b, pn) {
            why.push(format!("location {:?} vs {:?}", a.header("location"), b.header("location")));
        }
        // Built-in error pages name their server; everything else must be the same bytes.
        let builtin_page = b.body.contains("<center>nginx");
        let upstream_echo = b.body.starts_with("{\"path\"");
        if upstream_echo {
            let (ja, jb): (serde_json::Value, serde_json::Value) = (
                serde_json::from_str(&a.body).unwrap_or_default(),
                serde_json::from_str(&b.body).unwrap_or_default(),
            );
            for k in ["path", "method"] {
                if ja[k] != jb[k] {
                    why.push(format!("upstream saw {k} {} vs {}", ja[k], jb[k]));
                }
            }
            for h in ["host", "x-real-ip", "x-forwarded-for"] {
                if ja["headers"][h] != jb["headers"][h] {
                    why.push(format!(
                        "upstream saw {h} {} vs {}",
                        ja["headers"][h], jb["headers"][h]
                    ));
                }
            }
        } else if a.header("content-encoding").is_some() || b.header("content-encoding").is_some() {
            if a.header("content-encoding") != b.header("content-encoding") {
                why.push(format!(
                    "content-encoding {:?} vs {:?}",
                    a.header("content-encoding"),
                    b.header("content-encoding")
                ));
            }
        } else if !builtin_page && boundless(&a) != boundless(&b) {
            why.push(format!(
                "body {:?} vs {:?}",
                a.body.chars().take(60).collect::<String>(),
                b.body.chars().take(60).collect::<String>()
            ));
        }
        if a.header("content-type").is_some_and(|t| t.starts_with("multipart/"))
            && a.header("content-length") != b.header("content-length")
        {
            why.push(format!(
                "content-length {:?} vs {:?}",
                a.header("content-length"),
                b.header("content-length")
            ));
        }
        // The charset filter's work is the whole Content-Type; an answer of
        // unknown length is chunked unless chunked_transfer_encoding is off.
        if path.starts_with("/cs") && a.header("content-type") != b.header("content-type") {
            why.push(format!(
                "content-type {:?} vs {:?}",
                a.header("content-type"),
                b.header("content-type")
            ));
        }
        let cookies = |x: &Answer| -> Vec<String> {
            x.headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                .map(|(_, v)| v.clone())
                .collect()
        };
        if cookies(&a) != cookies(&b) {
            why.push(format!("set-cookie {:?} vs {:?}", cookies(&a), cookies(&b)));
        }
        if a.header("www-authenticate") != b.header("www-authenticate") {
            why.push(format!(
                "www-authenticate {:?} vs {:?}",
                a.header("www-authenticate"),
                b.header("www-authenticate")
            ));
        }
        if a.header("transfer-encoding") != b.header("transfer-encoding") {
            why.push(format!(
                "transfer-encoding {:?} vs {:?}",
                a.header("transfer-encoding"),
                b.header("transfer-encoding")
            ));
        }
        for h in [
            "www-authenticate",
            "x-test",
            "cache-control",
            "content-range",
            "etag",
            "accept-ranges",
            "set-cookie",
            "content-disposition",
            "x-other",
        ] {
            if a.header(h).is_some() != b.header(h).is_some() {
                why.push(format!("header {h}: {:?} vs {:?}", a.header(h), b.header(h)));
            }
        }
        if !why.is_empty() {
            diffs.push(format!("{path}: {}", why.join("; ")));
        }
    }
    let errors = std::fs::read_to_string(dir.path().join("error-rc.log")).unwrap_or_default();
    assert!(
        diffs.is_empty(),
        "rcompose proxy and nginx answered differently:\n{}\nrcompose error log:\n{errors}",
        diffs.join("\n")
    );

    // The access log lines have the same shape.
    let rc_log = std::fs::read_to_string(dir.path().join("access-rc.log")).unwrap();
    let ng_log = std::fs::read_to_string(dir.path().join("access-nginx.log")).unwrap();
    // The upstream echoes the headers it got (nginx adds Connection: close), so the byte count differs.
    let line = |log: &str| {
        let l = log.lines().find(|l| l.contains("/api/items/7")).unwrap_or_default();
        let mut words: Vec<&str> = l.split(' ').collect();
        if words.len() > 5 {
            words[5] = "N";
        }
        words.join(" ")
    };
    assert_eq!(line(&rc_log), line(&ng_log));
    // Files sent by sendfile(2) are counted as nginx counts them.
    for path in ["/files/big.bin?whole ", "/files/huge.txt?whole ", "/files/huge.txt?ranged "] {
        let line =
            |log: &str| log.lines().find(|l| l.contains(path)).unwrap_or_default().to_string();
        assert_eq!(line(&rc_log), line(&ng_log));
        assert!(line(&rc_log).contains(" 200 ") || line(&rc_log).contains(" 206 "));
    }
    assert!(
        line(&rc_log).ends_with(" application/json"),
        "no $sent_http_content_type in {:?}",
        line(&rc_log)
    );
}

/// The access lines rcompose proxy and then nginx write for the same
/// requests. `http` gives the inside of the http block for a log path and
/// the port to listen on; `send` makes the `lines` requests to that port.
fn logged_by_each(
    dir: &Path,
    lines: usize,
    http: impl Fn(&Path, u16) -> String,
    send: impl Fn(u16),
) -> Vec<String> {
    let nginx = common::ensure_nginx();
    let mut logs = Vec::new();
    for who in ["rc", "nginx"] {
        let port = free_port();
        let log = dir.join(format!("{who}.log"));
        let conf = dir.join(format!("{who}.conf"));
        std::fs::write(&conf, format!("events {{ }}\nhttp {{\n{}\n}}\n", http(&log, port)))
            .unwrap();
        let _server = start_side(who, &nginx, &conf, dir, port);
        send(port);
        assert!(
            eventually(5, || std::fs::read_to_string(&log)
                .is_ok_and(|t| t.lines().count() == lines)),
            "{who} did not log {lines} lines"
        );
        logs.push(std::fs::read_to_string(&log).unwrap());
    }
    logs
}

#[test]
fn connection_variables_read_as_nginx_logs_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, up) = upstream(dir.path());
    let http = |log: &Path, port: u16| {
        format!(
            "  log_format v '$connection $connection_requests $request_length $hostname \"$request\"';\n  \
             access_log {} v;\n  server {{ listen 127.0.0.1:{port}; location / {{ return 200 ok; }}\n  \
             location /up/ {{ proxy_pass http://127.0.0.1:{up}/; }} }}",
            log.display()
        )
    };
    let logs = logged_by_each(dir.path(), 4, http, |port| {
        // Two requests on one connection (the second with a body nobody reads), then one on
        // another, then a body read to pass it upstream.
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 4096];
        s.write_all(b"GET /a?x=1 HTTP/1.1\r\nHost: here\r\nUser-Agent: test/1\r\n\r\n").unwrap();
        let _ = s.read(&mut buf).unwrap();
        s.write_all(b"POST /b HTTP/1.1\r\nHost: here\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        let _ = s.read(&mut buf).unwrap();
        drop(s);
        raw(port, b"GET /c HTTP/1.1\r\nHost: here\r\nConnection: close\r\n\r\n");
        raw(port, b"POST /up/d HTTP/1.1\r\nHost: here\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    });
    for log in &logs {
        let serials: Vec<&str> = log.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert!(
            serials[0] == serials[1] && serials[1] != serials[2] && serials[2] != serials[3],
            "{log}"
        );
    }
    // Serial numbers are each server's own; the rest must match.
    let rest = |log: &str| {
        log.lines().map(|l| l.split_once(' ').unwrap().1.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(rest(&logs[0]), rest(&logs[1]));
}

#[test]
fn upstream_variables_list_every_peer_tried_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, up) = upstream(dir.path());
    // Nothing listens here: the first peer refuses, the request goes on to the second.
    let dead = free_port();
    let http = |log: &Path, port: u16| {
        format!(
            "  log_format u '$upstream_addr|$upstream_status|$upstream_response_time|$upstream_connect_time|$upstream_header_time|$proxy_host|$proxy_port|$status \"$request\"';\n  \
             access_log {} u;\n  upstream pool {{ server 127.0.0.1:{dead}; server 127.0.0.1:{up}; }}\n  \
             server {{ listen 127.0.0.1:{port}; location / {{ return 200 ok; }}\n  \
             location /pool/ {{ proxy_pass http://pool/; add_header X-T \"$upstream_connect_time|$upstream_header_time|$upstream_response_time\"; }}\n  \
             location /direct/ {{ proxy_pass http://127.0.0.1:{up}/; }} }}",
            log.display()
        )
    };
    let heads = std::cell::RefCell::new(Vec::new());
    let requests = [("GET", "/pool/a"), ("GET", "/pool/b"), ("GET", "/direct/c"), ("GET", "/d")];
    // An answer with no body: its response time too is `-` while the head goes out.
    let requests = [requests.as_slice(), &[("HEAD", "/pool/e")]].concat();
    let logs = logged_by_each(dir.path(), requests.len(), http, |port| {
        for (method, path) in &requests {
            let answer = raw(
                port,
                format!("{method} {path} HTTP/1.1\r\nHost: here\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            let x_t = answer.lines().find(|l| l.to_ascii_lowercase().starts_with("x-t:"));
            heads.borrow_mut().push(x_t.map(str::to_string));
        }
    });
    // The first request tried both peers: both are listed, in order, with ", " between.
    assert!(logs[1].lines().next().unwrap().contains(", "), "nginx did not retry: {}", logs[1]);
    // Times differ run to run: one per try, each as seconds with three decimals.
    let times = regex::Regex::new(r"\b\d+\.\d{3}\b").unwrap();
    let shape = |log: &str| times.replace_all(log, "T").into_owned();
    assert_eq!(shape(&logs[0]), shape(&logs[1]));
    // The refused peer made no connection and sent no head: `-` for both
    // of its times; its response time is when the next was tried.
    assert!(shape(&logs[0]).lines().next().unwrap().contains("|T, T|-, T|-, T|"), "{}", logs[0]);
    // While the head goes out, the answer's response time is not yet known.
    let heads: Vec<String> = heads.borrow().iter().map(|h| shape(&format!("{h:?}"))).collect();
    let n = requests.len();
    assert_eq!(heads[..n], heads[n..], "X-T, rcompose then nginx");
    assert!(heads[0].contains("-, T|-, T|T, -"), "{heads:?}");
    assert!(heads[4].contains("T|T|-"), "{heads:?}");
    assert!(shape(&logs[0]).lines().nth(4).unwrap().contains("|T|T|T|"), "{}", logs[0]);
}

#[test]
fn upstream_response_time_runs_to_the_end_of_the_body_as_nginx_measures_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, up) = upstream(dir.path());
    let http = |log: &Path, port: u16| {
        format!(
            "  log_format u '$upstream_header_time|$upstream_response_time|$upstream_response_length|$status';\n  \
             access_log {} u;\n  \
             server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://127.0.0.1:{up}; }} }}",
            log.display()
        )
    };
    // The head comes at once, the body's two halves 0.4 s apart each.
    let logs = logged_by_each(dir.path(), 1, http, |port| {
        raw(port, b"GET /drip HTTP/1.1\r\nHost: here\r\nConnection: close\r\n\r\n");
    });
    for (who, log) in ["rcompose", "nginx"].iter().zip(&logs) {
        let f: Vec<&str> = log.trim().split('|').collect();
        let secs = |s: &str| s.parse::<f64>().unwrap_or_else(|_| panic!("{who}: {log}"));
        assert!(secs(f[0]) < 0.35, "{who}: the head came at once: {log}");
        assert!(secs(f[1]) >= 0.75, "{who}: the whole answer took 0.8 s: {log}");
        assert_eq!(f[2..], ["8", "200"], "{who}: {log}");
    }
}

#[test]
fn upstream_header_cookie_and_request_body_variables_log_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, up) = upstream(dir.path());
    let http = |log: &Path, port: u16| {
        format!(
            "  log_format u '$status|$upstream_http_content_type|$upstream_http_x_missing|$upstream_cookie_b|$upstream_cookie_zz|$request_body|\"$request\"';\n  \
             access_log {} u;\n  \
             server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://127.0.0.1:{up}; add_header X-Up-Type $upstream_http_content_type; }} }}",
            log.display()
        )
    };
    let answers = std::cell::RefCell::new(Vec::new());
    let logs = logged_by_each(dir.path(), 3, http, |port| {
        answers.borrow_mut().push(get(port, "/cookies", "").header("x-up-type").map(String::from));
        answers.borrow_mut().push(get(port, "/json", "").header("x-up-type").map(String::from));
        let body = "name=va\"lue&x=\u{e9}";
        raw(
            port,
            format!(
                "POST /form HTTP/1.1\r\nHost: here\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    });
    assert_eq!(logs[0], logs[1], "rcompose proxy, then nginx");
    assert!(logs[1].contains("|b=2|") || logs[1].contains("|2|"), "{}", logs[1]);
    let a = answers.borrow();
    assert_eq!(a[..2], a[2..], "X-Up-Type, rcompose then nginx");
    assert_eq!(a[1].as_deref(), Some("application/json"));
}

#[test]
fn proxy_next_upstream_goes_on_where_nginx_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (_a, a) = upstream(dir.path());
    let (_b, b) = upstream(dir.path());
    let http = |log: &Path, port: u16| {
        format!(
            "  log_format u '$status|$upstream_status \"$request\"';\n  access_log {} u;\n  \
             upstream pool {{ server 127.0.0.1:{a} max_fails=0; server 127.0.0.1:{b} max_fails=0; }}\n  \
             server {{ listen 127.0.0.1:{port}; proxy_read_timeout 1s;\n  \
             location /a/ {{ proxy_pass http://pool/; }}\n  \
             location /b/ {{ proxy_pass http://pool/; proxy_next_upstream error timeout http_500; }}\n  \
             location /o/ {{ proxy_pass http://pool/; proxy_next_upstream off; }}\n  \
             location /t/ {{ proxy_pass http://pool/; proxy_next_upstream_tries 1; }}\n  \
             location /n/ {{ proxy_pass http://pool/; proxy_next_upstream error timeout non_idempotent; }} }}",
            log.display()
        )
    };
    let logs = logged_by_each(dir.path(), 7, http, |port| {
        for (method, path) in [
            ("GET", "/a/slow"),
            ("POST", "/a/slow"),
            ("GET", "/b/boom"),
            ("GET", "/a/boom"),
            ("GET", "/o/slow"),
            ("GET", "/t/slow"),
            ("POST", "/n/slow"),
        ] {
            raw(
                port,
                format!("{method} {path} HTTP/1.1\r\nHost: here\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    assert_eq!(logs[0], logs[1], "rcompose proxy, then nginx");
    // A GET that timed out went on to the other server; a POST did not.
    assert!(logs[1].lines().next().unwrap().starts_with("504|504, 504"), "{}", logs[1]);
    assert!(logs[1].lines().nth(1).unwrap().starts_with("504|504 "), "{}", logs[1]);
}

#[test]
fn limit_status_and_msie_variables_log_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let http = |log: &Path, port: u16| {
        format!(
            "  log_format u '$status|$limit_req_status|$limit_conn_status|$msie|$limit_rate \"$request\"';\n  access_log {} u;\n  \
             limit_req_zone $binary_remote_addr zone=r:1m rate=1r/m;\n  limit_req_zone $binary_remote_addr zone=d:1m rate=1r/m;\n  \
             limit_conn_zone $binary_remote_addr zone=c:1m;\n  \
             server {{ listen 127.0.0.1:{port};\n  \
             location /a/ {{ limit_req zone=r; limit_conn c 5; try_files $uri =204; }}\n  \
             location /dry/ {{ limit_req zone=d; limit_req_dry_run on; try_files $uri =204; }}\n  \
             location /n/ {{ try_files $uri =204; }} }}",
            log.display()
        )
    };
    let logs = logged_by_each(dir.path(), 6, http, |port| {
        for (path, agent) in [
            ("/a/", "curl"),
            ("/a/", "curl"),
            ("/dry/", "curl"),
            ("/dry/", "curl"),
            ("/n/", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"),
            ("/n/", "Mozilla/5.0"),
        ] {
            raw(
                port,
                format!("GET {path} HTTP/1.1\r\nHost: here\r\nUser-Agent: {agent}\r\nConnection: close\r\n\r\n").as_bytes(),
            );
        }
    });
    assert_eq!(logs[0], logs[1], "rcompose proxy, then nginx");
    assert!(logs[1].contains("503|REJECTED|"), "{}", logs[1]);
    assert!(logs[1].contains("REJECTED_DRY_RUN"), "{}", logs[1]);
}

fn one_proxy(extra_http: &str, location_block: &str) -> (tempfile::TempDir, Kill, u16, Kill) {
    let dir = tempfile::tempdir().unwrap();
    let root = site(dir.path());
    let (up_kill, up) = upstream(dir.path());
    let port = free_port();
    let extra_http = extra_http.replace("@DIR@", &dir.path().display().to_string());
    let text = format!(
        "events {{ worker_connections 64; }}\nhttp {{\n  include /etc/nginx/mime.types;\n  access_log {d}/access.log;\n  client_max_body_size 1k;\n  client_header_timeout 1s;\n  {extra_http}\n  upstream backend {{ server 127.0.0.1:{up}; }}\n  server {{\n    listen 127.0.0.1:{port};\n    root {r};\n    location / {{ }}\n    location /api/ {{ proxy_pass http://backend/; }}\n    {location_block}\n  }}\n}}\n",
        d = dir.path().display(),
        r = root.display()
    );
    std::fs::write(dir.path().join("p.conf"), text).unwrap();
    let k = start_rcompose(&dir.path().join("p.conf"), port);
    (dir, k, port, up_kill)
}

#[test]
fn traversal_never_leaves_the_root() {
    let (_dir, _k, port, _up) = one_proxy("", "");
    let attempts = [
        "/../secret.txt",
        "/files/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/files/%2e%2e/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/files%2f..%2f..%2fsecret.txt",
        "/%252e%252e/secret.txt",
        "/..%5csecret.txt",
        "/files\\..\\..\\secret.txt",
        "/files/escape.txt",
        "/secret.txt%00.html",
        "/./../secret.txt",
        "//../secret.txt",
        "/files/./../../../../../../etc/passwd",
        "/%c0%ae%c0%ae/secret.txt",
    ];
    for a in attempts {
        let ans = get(port, a, "");
        assert!(!ans.body.contains("TOP-SECRET"), "{a} leaked the file outside the root");
        assert!(!ans.body.contains("root:x:0:0"), "{a} leaked /etc/passwd");
        assert!([400, 403, 404].contains(&ans.status), "{a} answered {}", ans.status);
    }
}

#[test]
fn smuggling_shapes_and_limits_are_refused() {
    let (_dir, _k, port, _up) = one_proxy("", "");
    let te_cl = raw(port, b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert!(te_cl.starts_with("HTTP/1.1 400"), "CL+TE: {te_cl}");
    let two_cl = raw(
        port,
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
    );
    assert!(two_cl.starts_with("HTTP/1.1 400"), "two lengths: {two_cl}");
    // Lines may end in a bare LF (nginx and hyper both read them so): the same shapes are refused.
    let te_cl_lf = raw(port, b"POST /api/x HTTP/1.1\nHost: a\nContent-Length: 4\nTransfer-Encoding: chunked\n\n0\r\n\r\n");
    assert!(te_cl_lf.starts_with("HTTP/1.1 400"), "CL+TE with bare line feeds: {te_cl_lf}");
    let same_cl = raw(
        port,
        b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd",
    );
    assert!(same_cl.starts_with("HTTP/1.1 400"), "the same length twice: {same_cl}");
    let folded = raw(port, b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n");
    assert!(folded.starts_with("HTTP/1.1 400"), "obsolete line folding: {folded}");
    let big_body = raw(
        port,
        format!("POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n{}", "x".repeat(2000)).as_bytes(),
    );
    assert!(big_body.starts_with("HTTP/1.1 413"), "body over client_max_body_size: {big_body}");
    let huge_header = raw(
        port,
        format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n", "y".repeat(100_000)).as_bytes(),
    );
    assert!(
        huge_header.starts_with("HTTP/1.1 431")
            || huge_header.starts_with("HTTP/1.1 400")
            || huge_header.is_empty(),
        "oversized header: {huge_header:.60}"
    );
    let long_uri = raw(
        port,
        format!("GET /{} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "u".repeat(9000))
            .as_bytes(),
    );
    assert!(long_uri.starts_with("HTTP/1.1 414"), "oversized request line: {long_uri:.60}");
    let many = (0..40).map(|i| format!("X-H{i}: {}\r\n", "z".repeat(1000))).collect::<String>();
    let many_headers = raw(
        port,
        format!("GET / HTTP/1.1\r\nHost: a\r\n{many}Connection: close\r\n\r\n").as_bytes(),
    );
    // nginx's 494: a 400 with a page of its own.
    assert!(many_headers.starts_with("HTTP/1.1 400"), "headers over 32k: {many_headers:.60}");
    assert!(
        many_headers.contains("<title>400 Request Header Or Cookie Too Large</title>"),
        "{many_headers}"
    );
    // Still serving after all that.
    assert_eq!(get(port, "/index.html", "").status, 200);
}

#[test]
fn slow_clients_are_dropped_while_others_are_served() {
    let (_dir, _k, port, _up) = one_proxy("", "");
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap();
    // Others are served meanwhile.
    for _ in 0..5 {
        assert_eq!(get(port, "/index.html", "").status, 200);
    }
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    let n = slow.read(&mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "the slow client got {text:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the slow client was not dropped by the header timeout"
    );
}

#[test]
fn clients_that_stop_reading_are_dropped_after_send_timeout() {
    // Written from memory, and sent from the file by sendfile(2).
    for sendfile in ["off", "on"] {
        stalled_client_is_dropped(sendfile);
    }
}

fn stalled_client_is_dropped(sendfile: &str) {
    let http = format!("send_timeout 1s; sendfile {sendfile};\n  error_log @DIR@/error.log;");
    let (dir, _k, port, _up) = one_proxy(&http, "");
    // Far more than the socket buffers on both sides hold.
    let size: u64 = 256 << 20;
    let big = dir.path().join("site").join("stall.bin");
    std::fs::File::create(&big).unwrap().set_len(size).unwrap();
    let mut stalled = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stalled.write_all(b"GET /stall.bin HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    // Others are served while it stalls.
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..3 {
        assert_eq!(get(port, "/index.html", "").status, 200);
    }
    std::thread::sleep(Duration::from_secs(3));
    stalled.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut got: u64 = 0;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match stalled.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n as u64,
        }
    }
    assert!(
        got > 0 && got < size,
        "sendfile {sendfile}: the stalled client received {got} of {size} bytes: it was not cut off"
    );
    let text = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
    assert!(text.contains("client timed out"), "error log: {text:?}");
}

#[test]
fn files_sent_by_sendfile_keep_the_connection_framed() {
    let (_dir, _k, port, _up) = one_proxy("sendfile on;", "");
    // Two large answers, a range and a small one on one connection: each
    // must end where its length says for the next to be read.
    let text = raw(
        port,
        b"GET /files/big.bin HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /files/huge.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=1000-200999\r\n\r\n\
          HEAD /files/huge.txt HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /files/a.css HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let first = parse(&text);
    assert_eq!((first.status, first.header("content-length")), (200, Some("300000")));
    let (body, rest) = first.body.split_at(300_000);
    assert!(body.bytes().all(|b| b == 7), "big.bin whole");
    let second = parse(rest);
    assert_eq!(second.status, 206, "{}", &rest[..rest.len().min(200)]);
    let (body, rest) = second.body.split_at(200_000);
    assert!(body == &huge_text()[1000..201_000], "the range from its offset");
    let third = parse(rest);
    assert_eq!(third.status, 200);
    let fourth = parse(&third.body);
    assert_eq!((fourth.status, fourth.body.as_str()), (200, "body{}\n"));
}

#[test]
fn static_files_conditional_range_head_and_dirs() {
    let (_dir, _k, port, _up) = one_proxy("", "location /noindex/ { }");
    let a = get(port, "/files/a.css", "");
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("text/css"));
    let etag = a.header("etag").unwrap().to_string();
    let lm = a.header("last-modified").unwrap().to_string();
    let not_modified = get(port, "/files/a.css", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(not_modified.status, 304);
    // nginx 1.22's 304 for a file: its validators, no type, length or ranges.
    let carried = ["content-type", "content-length", "accept-ranges", "etag", "last-modified"]
        .map(|h| not_modified.header(h).is_some());
    assert_eq!(carried, [false, false, false, true, true]);
    assert_eq!(get(port, "/files/a.css", &format!("If-Modified-Since: {lm}\r\n")).status, 304);
    let r = get(port, "/files/big.bin", "Range: bytes=10-19\r\n");
    assert_eq!(
        (r.status, r.header("content-range"), r.body.len()),
        (206, Some("bytes 10-19/300000"), 10)
    );
    assert_eq!(get(port, "/files/big.bin", "Range: bytes=400000-\r\n").status, 416);
    // If-Range: the range holds for the current ETag or Last-Modified only.
    let plain = get(port, "/files/big.bin", "Range: bytes=0-0\r\n");
    let (tag, modified) = (
        plain.header("etag").unwrap().to_string(),
        plain.header("last-modified").unwrap().to_string(),
    );
    for current in [&tag, &modified] {
        let r =
            get(port, "/files/big.bin", &format!("Range: bytes=10-19\r\nIf-Range: {current}\r\n"));
        assert_eq!((r.status, r.body.len()), (206, 10), "If-Range: {current}");
    }
    assert_eq!(
        get(port, "/files/big.bin", "Range: bytes=10-19\r\nIf-Range: \"old\"\r\n").status,
        200
    );
    let whole = raw(port, b"GET /files/big.bin HTTP/1.0\r\n\r\n");
    assert_eq!(parse(&whole).body.len(), 300_000, "a large file streams whole");
    let text = huge_text();
    let whole = raw(port, b"GET /files/huge.txt HTTP/1.0\r\n\r\n");
    assert!(parse(&whole).body == text, "a file over the memory limit streams whole and unchanged");
    let r = get(port, "/files/huge.txt", "Range: bytes=2000000-2300009\r\n");
    assert_eq!(
        (r.status, r.header("content-range")),
        (206, Some(format!("bytes 2000000-2300009/{}", text.len()).as_str()))
    );
    assert!(r.body == text[2_000_000..2_300_010], "a range deep in a streamed file");
    let head = raw(port, b"HEAD /files/a.css HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .to_ascii_lowercase();
    assert!(head.contains("content-length: 7") && head.ends_with("\r\n\r\n"), "{head}");
    assert_eq!(get(port, "/noindex/", "").status, 403);
    assert_eq!(get(port, "/missing", "").status, 404);
    // A file edited on disk is served fresh (the in-memory cache checks it).
    std::fs::write(_dir.path().join("site/files/a.css"), "body{color:red}\n").unwrap();
    assert_eq!(get(port, "/files/a.css", "").body, "body{color:red}\n");
}

#[test]
fn check_mode_reports_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.conf"),
        "events { }\nhttp {\n  server {\n    listen 80;\n    lua_code_cache off;\n  }\n}\n",
    )
    .unwrap();
    let out = common::rcompose()
        .args(["proxy", "-t", "-c"])
        .arg(dir.path().join("bad.conf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.conf:5:5")
            && err.contains("\"lua_code_cache\"")
            && err.contains("test failed"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("good.conf"),
        "events { }\nhttp { server { listen 8080; location / { return 200 ok; } } }\n",
    )
    .unwrap();
    let out = common::rcompose()
        .args(["proxy", "-t", "-c"])
        .arg(dir.path().join("good.conf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("test is successful"));
}

#[test]
fn sighup_reloads_and_keeps_the_old_configuration_on_error_sigterm_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let write = |body: &str| {
        std::fs::write(
            dir.path().join("r.conf"),
            format!(
                "events {{ }}\nhttp {{ access_log off; server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"{body}\"; }} }} }}\n"
            ),
        )
        .unwrap()
    };
    write("one");
    let child = common::rcompose()
        .args(["proxy", "-c"])
        .arg(dir.path().join("r.conf"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut k = Kill(child);
    assert!(listening(port));
    // A connection kept open across the reload.
    let mut keep = TcpStream::connect(("127.0.0.1", port)).unwrap();
    keep.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let mut buf = [0u8; 512];
    let n = keep.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).ends_with("one"));
    write("two");
    Command::new("kill").args(["-HUP", &k.0.id().to_string()]).status().unwrap();
    assert!(eventually(5, || get(port, "/", "").body == "two"), "reload did not apply");
    std::fs::write(dir.path().join("r.conf"), "http { server { listen 1; bogus_directive; } }")
        .unwrap();
    Command::new("kill").args(["-HUP", &k.0.id().to_string()]).status().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(get(port, "/", "").body, "two", "a bad configuration must not replace the good one");
    keep.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let n = keep.read(&mut buf).unwrap();
    assert!(n > 0, "the kept connection survived the reloads");
    Command::new("kill").args(["-TERM", &k.0.id().to_string()]).status().unwrap();
    let status = k.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

const UPGRADE_UPSTREAM: &str = r#"
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
def handle(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(1024)
        if not chunk: return
        data += chunk
    if b"upgrade: echo" not in data.lower():
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"); c.close(); return
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
    while True:
        d = c.recv(1024)
        if not d: break
        c.sendall(d.upper())
while True:
    c, _ = s.accept(); threading.Thread(target=handle, args=(c,), daemon=True).start()
"#;

/// UPGRADE_UPSTREAM, listening.
fn upgrade_upstream(dir: &Path) -> (Kill, u16) {
    let up = free_port();
    std::fs::write(dir.join("ws.py"), UPGRADE_UPSTREAM).unwrap();
    let k =
        Kill(Command::new("python3").arg(dir.join("ws.py")).arg(up.to_string()).spawn().unwrap());
    assert!(listening(up));
    (k, up)
}

#[test]
fn upgrade_requests_are_tunnelled_after_101() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, up) = upgrade_upstream(dir.path());
    let port = free_port();
    std::fs::write(
        dir.path().join("ws.conf"),
        format!(
            "events {{ }}\nhttp {{ access_log off; server_tokens off; server {{ listen 127.0.0.1:{port};
             location /ws/ {{ proxy_pass http://127.0.0.1:{up}; proxy_http_version 1.1;
                 proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\"; }}
             location /plain/ {{ proxy_pass http://127.0.0.1:{up}; }} }} }}\n"
        ),
    )
    .unwrap();
    let _k = start_rcompose(&dir.path().join("ws.conf"), port);
    // Without the configuration asking for it, the client's Upgrade goes no
    // further, as in nginx: the upstream answers as to any request.
    let plain = raw(port, b"GET /plain/chat HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade, close\r\n\r\n");
    assert!(plain.starts_with("HTTP/1.1 400"), "{plain}");
    let (mut s, head) = upgraded(port, "/ws/chat");
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("server: rcompose\r\n"), "server_tokens off hides the version: {head}");
    for msg in ["ping", "second message"] {
        s.write_all(msg.as_bytes()).unwrap();
        let mut buf = vec![0u8; msg.len()];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(String::from_utf8_lossy(&buf), msg.to_uppercase());
    }
}

/// Opens a tunnel through `port` at `path`: the connection after the 101's
/// head, and the head.
fn upgraded(port: u16, path: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    (s, head)
}

#[test]
fn a_tunnel_is_logged_when_it_closes_and_closes_when_idle_as_in_nginx() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, up) = upgrade_upstream(dir.path());
    let http = |log: &Path, port: u16| {
        let pass = format!(
            "proxy_pass http://127.0.0.1:{up}; proxy_http_version 1.1; \
             proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection upgrade;"
        );
        format!(
            "  log_format u '$status|$request_time|$upstream_response_time|$upstream_header_time|\
             $body_bytes_sent|$upstream_bytes_received|$upstream_bytes_sent';\n  \
             access_log {} u;\n  server {{ listen 127.0.0.1:{port};\n  \
             location /ws/ {{ {pass} }}\n  location /idle/ {{ {pass} proxy_read_timeout 1s; }} }}",
            log.display()
        )
    };
    let side = std::cell::Cell::new(0);
    let logs = logged_by_each(dir.path(), 2, http, |port| {
        let log = dir.path().join(["rc.log", "nginx.log"][side.replace(side.get() + 1)]);
        let (mut s, _) = upgraded(port, "/ws/chat");
        for (i, msg) in ["ping", "second message"].into_iter().enumerate() {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(500));
            }
            s.write_all(msg.as_bytes()).unwrap();
            let mut buf = vec![0u8; msg.len()];
            s.read_exact(&mut buf).unwrap();
        }
        std::thread::sleep(Duration::from_millis(200));
        let early = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(early, "", "no line while the tunnel is open");
        // The client closes; the upstream, which holds its side, is closed for it.
        drop(s);
        assert!(eventually(5, || std::fs::read_to_string(&log).is_ok_and(|t| !t.is_empty())));
        // Nothing moves either way: proxy_read_timeout closes the tunnel.
        let (mut idle, _) = upgraded(port, "/idle/chat");
        let started = Instant::now();
        let mut rest = Vec::new();
        let _ = idle.read_to_end(&mut rest);
        let waited = started.elapsed();
        assert!(
            waited > Duration::from_millis(800) && waited < Duration::from_secs(4),
            "{waited:?}"
        );
    });
    for (who, log) in ["rcompose", "nginx"].iter().zip(&logs) {
        let lines: Vec<Vec<&str>> = log.lines().map(|l| l.split('|').collect()).collect();
        let secs = |s: &str| s.parse::<f64>().unwrap_or_else(|_| panic!("{who}: {log}"));
        let (open, idle) = (&lines[0], &lines[1]);
        assert_eq!(open[0], "101", "{who}: {log}");
        assert!(secs(open[1]) >= 0.5 && secs(open[2]) >= 0.5, "{who}: the tunnel's time: {log}");
        assert!(secs(open[3]) < 0.3, "{who}: the head came at once: {log}");
        // The 18 bytes each way through the tunnel, and the head before them.
        assert_eq!(open[4..], ["18", "90", "102"], "{who}: {log}");
        assert!(secs(idle[1]) >= 0.9 && secs(idle[2]) >= 0.9, "{who}: {log}");
        assert_eq!(idle[4..], ["0", "72", "86"], "{who}: {log}");
    }
}

#[test]
fn gzip_compresses_listed_types_for_clients_that_accept_it() {
    let (dir, _k, port, _up) = one_proxy("gzip on; gzip_types text/css;", "");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /files/big.css HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip") && !head.contains("content-length"), "{head}");
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&out[split + 4..]).read_to_string(&mut plain).unwrap();
    assert_eq!(plain, std::fs::read_to_string(dir.path().join("site/files/big.css")).unwrap());
    assert!(out.len() - split < plain.len() / 5, "compressed");
    let identity = get(port, "/files/big.css", "");
    assert!(identity.header("content-encoding").is_none() && identity.body.len() == plain.len());
}

/// A proxy whose every answer is `200 ok`, with `http_extra` in its http block.
fn return_ok_proxy(http_extra: &str) -> (tempfile::TempDir, Kill, u16) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("ok.conf");
    std::fs::write(
        &conf,
        format!("events {{ }}\nhttp {{ access_log off; {http_extra} server {{ listen 127.0.0.1:{port}; location / {{ return 200 ok; }} }} }}\n"),
    )
    .unwrap();
    let k = start_rcompose(&conf, port);
    (dir, k, port)
}

#[test]
fn keepalive_timeout_and_requests_limit_connections() {
    let (_dir, _k, port) = return_ok_proxy("keepalive_timeout 1s; keepalive_requests 2;");
    let read_answer = |s: &mut TcpStream| {
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase()
    };
    // The second request on a connection is its last.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert!(!read_answer(&mut s).contains("connection: close"));
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert!(read_answer(&mut s).contains("connection: close"));
    assert_eq!(read_answer(&mut s), "", "closed after keepalive_requests");
    // An idle connection is closed after keepalive_timeout.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert!(read_answer(&mut idle).starts_with("http/1.1 200"));
    let started = std::time::Instant::now();
    assert_eq!(read_answer(&mut idle), "");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );
}

/// A `Connection: close` answer to a request whose body was not read:
/// the proxy lingers, reading and dropping the rest of the body, so the
/// client gets its whole answer and can finish sending, as with nginx (a
/// close with the body unread would reset the connection under it).
/// Where nothing more is coming, the close is at once.
#[test]
fn a_close_lingers_while_the_client_is_still_sending() {
    let (_dir, _k, port) = return_ok_proxy("");
    const BODY: usize = 600 * 1024;
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = s.try_clone().unwrap();
    w.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: {BODY}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    // The body goes out while the answer comes back.
    let writer = std::thread::spawn(move || {
        for _ in 0..BODY / 4096 {
            w.write_all(&[b'x'; 4096])?;
            std::thread::sleep(Duration::from_millis(1));
        }
        w.write_all(&[b'x'; BODY % 4096])
    });
    let mut answer = Vec::new();
    let read = (&s).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(
        read.is_ok() && text.starts_with("HTTP/1.1 200") && text.ends_with("ok"),
        "{read:?} {text}"
    );
    writer.join().unwrap().expect("the whole body is taken while the proxy lingers");
    // Nothing more to come: the answer, then the close, with no wait on the client.
    let answer =
        common::exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 10);
    assert!(answer.ends_with("ok"), "{answer}");
}

#[test]
fn streamed_bodies_are_held_to_the_size_limit() {
    let (_dir, _k, port, _up) = one_proxy("", "");
    // Chunked, so no length is declared: the limit applies as the body streams.
    let chunk = format!("{:x}\r\n{}\r\n", 800, "a".repeat(800));
    let req = format!(
        "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}{chunk}0\r\n\r\n"
    );
    let answer = raw(port, req.as_bytes());
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "1600 bytes against client_max_body_size 1k: {answer:.80}"
    );
    let small = format!(
        "POST /api/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}0\r\n\r\n"
    );
    let answer = raw(port, small.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.80}");
    // Read whole first (proxy_request_buffering on), it goes with its length, as from nginx.
    assert!(
        answer.contains("\"content-length\": \"800\"") && !answer.contains("transfer-encoding"),
        "{answer:.400}"
    );
    // Streamed, it goes as it came: in chunks.
    let (_dir, _k, port, _up) = one_proxy("proxy_request_buffering off;", "");
    let answer = raw(port, small.as_bytes());
    assert!(answer.contains("\"transfer-encoding\": \"chunked\""), "{answer:.300}");
    let answer = raw(port, req.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "streamed, the limit holds too: {answer:.80}");
}

/// An upstream that misbehaves on purpose, by path: resets before or in the
/// middle of an answer, stalls, or is restarted. Keeps connections alive.
struct BadUpstream {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Weak, so that a connection its handler drops really closes.
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::sync::Weak<TcpStream>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BadUpstream {
    fn start(port: u16) -> BadUpstream {
        let mut u =
            BadUpstream { port, stop: Default::default(), conns: Default::default(), thread: None };
        u.listen();
        u
    }

    fn listen(&mut self) {
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        self.stop.store(false, std::sync::atomic::Ordering::SeqCst);
        let (stop, conns) = (self.stop.clone(), self.conns.clone());
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok((s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                s.set_nonblocking(false).unwrap();
                let s = std::sync::Arc::new(s);
                conns.lock().unwrap().push(std::sync::Arc::downgrade(&s));
                std::thread::spawn(move || Self::serve(s));
            }
        }));
    }

    fn serve(s: std::sync::Arc<TcpStream>) {
        let reset = |s: std::sync::Arc<TcpStream>| {
            // SO_LINGER 0: close with RST, not FIN.
            socket2::SockRef::from(&*s).set_linger(Some(Duration::ZERO)).unwrap();
            drop(s);
        };
        loop {
            let mut buf = Vec::new();
            let mut byte = [0u8; 1];
            while !buf.ends_with(b"\r\n\r\n") {
                match (&*s).read(&mut byte) {
                    Ok(1) => buf.push(byte[0]),
                    _ => return,
                }
            }
            let head = String::from_utf8_lossy(&buf).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let big = vec![b'x'; 64 * 1024];
            match path.as_str() {
                "/reset-before" => return reset(s),
                "/reset-mid" => {
                    let _ = (&*s).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
                    let _ = (&*s).write_all(&big);
                    std::thread::sleep(Duration::from_millis(100));
                    return reset(s);
                }
                "/close-early" => {
                    // Head and part of the body in one write, then FIN: the client is
                    // read before the close is, as when an app dies mid-answer.
                    let _ = (&*s).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello");
                    return;
                }
                "/chunked-cut" => {
                    let _ = (&*s).write_all(
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                    );
                    std::thread::sleep(Duration::from_millis(100));
                    return;
                }
                "/stall-before" => {
                    std::thread::sleep(Duration::from_secs(5));
                    return;
                }
                "/stall-mid" => {
                    let _ = (&*s).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
                    let _ = (&*s).write_all(&big);
                    std::thread::sleep(Duration::from_secs(5));
                    return;
                }
                _ => {
                    let body = format!("ok {path}");
                    let answer =
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                    if (&*s).write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// The upstream restarts: its listener and every connection go, then it listens again.
    fn restart(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        for c in self.conns.lock().unwrap().drain(..).filter_map(|w| w.upgrade()) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
        std::thread::sleep(Duration::from_millis(200));
        self.listen();
    }
}

impl Drop for BadUpstream {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads an answer until the connection ends; returns (status, declared length, body bytes read).
fn read_answer(port: u16, path: &str) -> (u16, Option<usize>, usize, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(out.len());
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let a = parse(&head);
    let declared = a.header("content-length").and_then(|v| v.parse().ok());
    let chunked_complete = out.ends_with(b"0\r\n\r\n");
    (a.status, declared, out.len() - split, chunked_complete)
}

#[test]
fn upstream_resets_stalls_and_restarts_mid_stream() {
    let dir = tempfile::tempdir().unwrap();
    let root = site(dir.path());
    let up = free_port();
    let mut upstream = BadUpstream::start(up);
    let port = free_port();
    let text = format!(
        "events {{ }}\nhttp {{\n  access_log off;\n  error_log {d}/error.log;\n  upstream backend {{ server 127.0.0.1:{up}; }}\n  server {{\n    listen 127.0.0.1:{port};\n    root {r};\n    location / {{ }}\n    location /api/ {{ proxy_pass http://backend/; proxy_read_timeout 1s; }}\n  }}\n}}\n",
        d = dir.path().display(),
        r = root.display()
    );
    std::fs::write(dir.path().join("p.conf"), text).unwrap();
    let _k = start_rcompose(&dir.path().join("p.conf"), port);
    let mut faults = 0;

    // Reset before any answer: the client gets a 502, not a hang or a dropped connection.
    assert_eq!(get(port, "/api/reset-before", "").status, 502);
    faults += 1;
    // Reset in the middle of a body: the answer is cut short and the connection closed,
    // never passed off as complete.
    let (status, declared, got, _) = read_answer(port, "/api/reset-mid");
    assert_eq!((status, declared), (200, Some(1_000_000)));
    assert!(got < 1_000_000, "a cut body was passed off as whole ({got} bytes)");
    faults += 1;
    // Closed right after part of the body, read in one go with the head: as nginx,
    // the client gets the head and what came, then the close.
    // The loss was a race with hyper's flush, so it is tried several times.
    for _ in 0..10 {
        let (status, declared, got, _) = read_answer(port, "/api/close-early");
        assert_eq!((status, declared, got), (200, Some(100), 5));
        faults += 1;
    }
    // A chunked answer whose upstream closes before the last chunk: no final chunk sent.
    let (status, _, _, complete) = read_answer(port, "/api/chunked-cut");
    assert_eq!(status, 200);
    assert!(!complete, "a cut chunked body was ended as if complete");
    faults += 1;
    // Stalls: 504 before the header, a cut body after it, both after proxy_read_timeout,
    // while other clients are served meanwhile.
    let stalled = std::thread::spawn(move || {
        (get(port, "/api/stall-before", "").status, read_answer(port, "/api/stall-mid"))
    });
    std::thread::sleep(Duration::from_millis(200));
    let t = std::time::Instant::now();
    assert_eq!(get(port, "/index.html", "").status, 200);
    assert_eq!(get(port, "/api/fine", "").body, "ok /fine");
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "other clients waited on the stalled upstream"
    );
    let (before, (status, _, got, _)) = stalled.join().unwrap();
    assert_eq!(before, 504);
    assert_eq!(status, 200);
    assert!(got < 1_000_000);
    faults += 2;
    // Restarts: a pooled connection the upstream dropped is not a 502 for the next client.
    for round in 0..5 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Warm a kept-alive upstream connection, then restart the upstream under it.
        s.write_all(b"GET /api/warm HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with("ok /warm"), "round {round}");
        upstream.restart();
        faults += 1;
        let a = get(port, &format!("/api/after-restart-{round}"), "");
        assert_eq!(
            (a.status, a.body.as_str()),
            (200, format!("ok /after-restart-{round}").as_str()),
            "round {round}"
        );
        // Restarted in the middle of a stream: cut short, and the next request is fine.
        let cut = std::thread::spawn(move || read_answer(port, "/api/stall-mid"));
        std::thread::sleep(Duration::from_millis(300));
        upstream.restart();
        faults += 1;
        let (status, _, got, _) = cut.join().unwrap();
        assert_eq!(status, 200);
        assert!(got < 1_000_000);
        assert_eq!(get(port, "/api/next", "").body, "ok /next", "round {round}");
    }
    eprintln!("upstream faults injected: {faults}; wrong answers: 0");
}

#[test]
fn several_workers_serve_together_and_drain_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, up) = upstream(dir.path());
    let port = free_port();
    std::fs::write(
        dir.path().join("w.conf"),
        format!(
            "worker_processes 2;\nevents {{ worker_connections 64; }}\nhttp {{ access_log off;\n  server {{ listen 127.0.0.1:{port};\n    location / {{ return 200 \"ok\"; }}\n    location /api/ {{ proxy_pass http://127.0.0.1:{up}/; }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let mut k = start_rcompose(&dir.path().join("w.conf"), port);
    let pid = k.0.id();
    let names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    for w in ["proxy-worker-0", "proxy-worker-1"] {
        assert!(names.iter().any(|n| n == w), "no worker thread {w} in {names:?}");
    }
    // Many connections at once, each with several requests on it.
    let clients: Vec<_> = (0..40)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                let mut buf = [0u8; 1024];
                for _ in 0..10 {
                    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
                    let n = s.read(&mut buf).unwrap();
                    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    // A request in flight when SIGTERM arrives is answered; new ones are not taken.
    let slow = std::thread::spawn(move || get(port, "/api/slow", ""));
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(
        eventually(5, || TcpStream::connect(("127.0.0.1", port)).is_err()),
        "still accepting after SIGTERM"
    );
    let answer = slow.join().unwrap();
    assert_eq!((answer.status, answer.body.as_str()), (200, "late"));
    assert_eq!(k.0.wait().unwrap().code(), Some(0));
}

#[test]
fn if_answers_a_cors_preflight_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let SideBySide { pr, pn, .. } = &side_by_side(dir.path());
    let ask = |port: u16| {
        parse(&raw(
            port,
            b"OPTIONS /if/a.css HTTP/1.1\r\nHost: localhost\r\nOrigin: http://x\r\nConnection: close\r\n\r\n",
        ))
    };
    let (a, b) = (ask(*pr), ask(*pn));
    assert_eq!((a.status, &a.reason, &a.body), (b.status, &b.reason, &b.body));
    for h in ["access-control-allow-origin", "x-test", "content-type", "content-length"] {
        assert_eq!(a.header(h), b.header(h), "{h}");
    }
}

#[test]
fn ip_hash_sends_each_client_to_the_server_nginx_sends_it_to() {
    let dir = tempfile::tempdir().unwrap();
    let ups: Vec<(Kill, u16)> = (0..3).map(|_| upstream(dir.path())).collect();
    let chosen = on_each_side(
        dir.path(),
        "hash",
        |port| {
            format!(
                "events {{ }}\nhttp {{\n  access_log off;\n  upstream hashed {{ ip_hash; server 127.0.0.1:{}; server 127.0.0.1:{} weight=2; server 127.0.0.1:{}; }}\n  server {{\n    listen 127.0.0.1:{port};\n    set_real_ip_from 127.0.0.1;\n    location / {{ proxy_pass http://hashed; add_header X-Up $upstream_addr; }}\n  }}\n}}\n",
                ups[0].1, ups[1].1, ups[2].1
            )
        },
        |port| {
            // Clients told apart by X-Real-IP, trusted from loopback: /24s and IPv6 alike.
            let picks: Vec<String> = (0..48)
                .map(|i| {
                    let client = if i % 4 == 3 {
                        format!("2001:db8::{i:x}")
                    } else {
                        format!("10.{}.{}.{}", i % 7, i * 13 % 251, i)
                    };
                    let a = get(port, "/x", &format!("X-Real-IP: {client}\r\n"));
                    format!("{client} -> {}", a.header("x-up").unwrap_or("none"))
                })
                .collect();
            picks
        },
    );
    assert_eq!(chosen[0], chosen[1], "rcompose proxy, then nginx");
    assert!(
        chosen[1].iter().any(|l| l.ends_with(&ups[0].1.to_string())),
        "a spread: {:?}",
        chosen[1]
    );
}

#[test]
fn hash_and_consistent_hash_choose_the_server_nginx_chooses() {
    let dir = tempfile::tempdir().unwrap();
    let ups: Vec<(Kill, u16)> = (0..4).map(|_| upstream(dir.path())).collect();
    let chosen = on_each_side(
        dir.path(),
        "keyhash",
        |port| {
            let servers = format!(
                "server 127.0.0.1:{}; server 127.0.0.1:{} weight=3; server 127.0.0.1:{} down; server 127.0.0.1:{};",
                ups[0].1, ups[1].1, ups[2].1, ups[3].1
            );
            format!(
                "events {{ }}\nhttp {{\n  access_log off;\n  upstream plain {{ hash $arg_k; {servers} }}\n  upstream ring {{ hash $arg_k consistent; {servers} }}\n  server {{\n    listen 127.0.0.1:{port};\n    location /plain/ {{ proxy_pass http://plain; add_header X-Up $upstream_addr; }}\n    location /ring/ {{ proxy_pass http://ring; add_header X-Up $upstream_addr; }}\n  }}\n}}\n"
            )
        },
        |port| {
            // Keys that land on the down server hash again (plain) or walk the ring.
            let mut picks = Vec::new();
            for way in ["plain", "ring"] {
                for i in 0..40 {
                    let a = get(port, &format!("/{way}/x?k=user{i}"), "");
                    picks.push(format!("{way} {i} -> {}", a.header("x-up").unwrap_or("none")));
                }
            }
            picks
        },
    );
    assert_eq!(chosen[0], chosen[1], "rcompose proxy, then nginx");
    for (_, port) in &ups {
        let hits = chosen[1].iter().filter(|l| l.ends_with(&port.to_string())).count();
        assert_eq!(hits == 0, *port == ups[2].1, "{port}: {hits} in {:?}", chosen[1]);
    }
}

#[test]
fn least_conn_sends_requests_where_nginx_sends_them() {
    let dir = tempfile::tempdir().unwrap();
    let ups: Vec<(Kill, u16)> = (0..3).map(|_| upstream(dir.path())).collect();
    let chosen = on_each_side(
        dir.path(),
        "least",
        |port| {
            format!(
                "events {{ }}\nhttp {{\n  access_log off;\n  upstream few {{ least_conn; server 127.0.0.1:{}; server 127.0.0.1:{} weight=2; server 127.0.0.1:{}; }}\n  server {{\n    listen 127.0.0.1:{port};\n    location / {{ proxy_pass http://few; add_header X-Up $upstream_addr; }}\n  }}\n}}\n",
                ups[0].1, ups[1].1, ups[2].1
            )
        },
        |port| {
            // Two requests held at their servers (the upstream's /slow takes 3 s)
            // while others come one by one: those go round the servers left.
            let slow: Vec<_> = (0..2)
                .map(|_| {
                    let t = std::thread::spawn(move || {
                        get(port, "/slow", "").header("x-up").map(str::to_string)
                    });
                    std::thread::sleep(Duration::from_millis(400));
                    t
                })
                .collect();
            let mut picks: Vec<String> = (0..6)
                .map(|_| get(port, "/x", "").header("x-up").unwrap_or("none").to_string())
                .collect();
            for t in slow {
                picks.insert(0, format!("slow {}", t.join().unwrap().unwrap_or_default()));
            }
            picks.push(get(port, "/x", "").header("x-up").unwrap_or("none").to_string());
            picks
        },
    );
    assert_eq!(chosen[0], chosen[1], "rcompose proxy, then nginx");
    let slow: Vec<&String> = chosen[1].iter().filter(|l| l.starts_with("slow")).collect();
    assert_ne!(slow[0], slow[1], "two held requests on two servers: {:?}", chosen[1]);
}

#[test]
fn proxy_cache_hits_misses_and_bypasses_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_up, up) = upstream(d);
    // The stale upstream is started and stopped by each side's questions.
    let stale_up = free_port();
    let seen = on_each_side(
        d,
        "cache",
        |port| {
            format!(
                "user root;\nevents {{ }}\nhttp {{\n  access_log off;\n  proxy_temp_path {dir}/tmp-{port};\n  proxy_cache_path {dir}/cache-{port} levels=1:2 keys_zone=api:1m inactive=1h max_size=10m;\n  map $arg_m $nomap {{ default 0; x 1; }}\n  server {{\n    listen 127.0.0.1:{port};\n    add_header X-Cache $upstream_cache_status always;\n    location /c/ {{ proxy_pass http://127.0.0.1:{up}/; proxy_cache api; proxy_cache_valid 200 10m; proxy_cache_valid 404 1m; proxy_cache_bypass $arg_nocache $http_x_bypass; proxy_no_cache $arg_nostore $nomap; }}\n    location /s/ {{ proxy_pass http://127.0.0.1:{stale_up}/; proxy_cache api; proxy_cache_valid 1s; proxy_cache_use_stale error timeout http_500; }}\n    location /n/ {{ proxy_pass http://127.0.0.1:{up}/; proxy_cache api; }}\n  }}\n}}\n",
                dir = d.display()
            )
        },
        |port| {
            let ask = |path: &str, extra: &str| {
                let a = get(port, path, extra);
                // Not the body: the upstream echoes its request, and rcompose
                // keeps the connection nginx closes.
                format!("{path} {extra:?} -> {} {}", a.status, a.header("x-cache").unwrap_or("-"))
            };
            let mut out = vec![
                ask("/c/a", ""),
                ask("/c/a", ""),
                ask("/c/a?nocache=1", ""),
                ask("/c/a", "X-Bypass: 1\r\n"),
                ask("/c/a", ""),
                ask("/c/b?nostore=1", ""),
                ask("/c/b?nostore=1", ""),
                // proxy_no_cache read through a map.
                ask("/c/m?m=x", ""),
                ask("/c/m?m=x", ""),
                ask("/c/cookies", ""),
                ask("/c/cookies", ""),
                ask("/c/boom", ""),
                ask("/c/boom", ""),
                // No proxy_cache_valid and no caching headers: nothing kept.
                ask("/n/x", ""),
                ask("/n/x", ""),
            ];
            // A HEAD goes upstream as GET, and what it brings is kept for the GET after it.
            let head =
                raw(port, b"HEAD /c/h HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            out.push(format!("HEAD -> {}", parse(&head).header("x-cache").unwrap_or("-")));
            std::thread::sleep(Duration::from_millis(200));
            out.push(ask("/c/h", ""));
            let running = common::python_server(d, "stale-up.py", UPSTREAM, stale_up);
            out.push(ask("/s/x", ""));
            out.push(ask("/s/x", ""));
            // nginx counts validity in whole seconds: 1s may last up to 2.
            std::thread::sleep(Duration::from_millis(2200));
            drop(running);
            // Expired, and the upstream is gone: the kept answer, stale.
            out.push(ask("/s/x", ""));
            out
        },
    );
    assert_eq!(seen[0], seen[1], "rcompose proxy, then nginx");
    let statuses: Vec<&str> = seen[1]
        .iter()
        .map(|l| l.split(" -> ").nth(1).unwrap_or("").split(' ').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(&statuses[..5], ["MISS", "HIT", "BYPASS", "BYPASS", "HIT"], "{:?}", seen[1]);
    assert_eq!(statuses.last(), Some(&"STALE"), "{:?}", seen[1]);
    let head = seen[1].iter().position(|l| l == "HEAD -> MISS").expect("a HEAD miss");
    assert!(seen[1][head + 1].ends_with("200 HIT"), "{:?}", seen[1]);
    // Kept on disk too, as nginx lays it out: levels=1:2 is the md5's last
    // hex digit, then the two before it.
    let files = walk_files(&d.join(format!("cache-{}", first_port(&d.join("rc-cache.conf")))));
    assert!(!files.is_empty(), "nothing written under the cache folder");
    for f in &files {
        let rel: Vec<String> =
            f.iter().rev().take(3).map(|c| c.to_string_lossy().into_owned()).collect();
        assert!(
            rel[0].len() == 32
                && rel[0].ends_with(&format!("{}{}", rel[1], rel[2]))
                && (rel[1].len(), rel[2].len()) == (2, 1),
            "{f:?}"
        );
    }
}

/// The files under `dir`, at any depth.
fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The first port a configuration listens on.
fn first_port(conf: &Path) -> u16 {
    let text = std::fs::read_to_string(conf).unwrap();
    let at = text.find("listen 127.0.0.1:").unwrap() + "listen 127.0.0.1:".len();
    text[at..].split(';').next().unwrap().parse().unwrap()
}

#[test]
fn sub_filter_replaces_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("www")).unwrap();
    std::fs::write(
        d.join("www/index.html"),
        "<html><HEAD><title>x</title></head><body>API_URL and api_url; x x x</body></html>\n",
    )
    .unwrap();
    std::fs::write(d.join("www/style.css"), "body { x: x }\n").unwrap();
    let (_up, up) = upstream(d);
    let seen = on_each_side(
        d,
        "sub",
        |port| {
            format!(
                "events {{ }}\nhttp {{\n  access_log off;\n  include /etc/nginx/mime.types;\n  server {{\n    listen 127.0.0.1:{port};\n    location / {{ root {r}/www; sub_filter '<head>' '<head><base href=\"/app/\">'; sub_filter 'API_URL' '$scheme://$host/api'; sub_filter_once off; }}\n    location /once/ {{ alias {r}/www/; sub_filter 'x' 'Y'; }}\n    location /lm/ {{ alias {r}/www/; sub_filter 'x' 'Y'; sub_filter_last_modified on; }}\n    location /api/ {{ proxy_pass http://127.0.0.1:{up}/; sub_filter_types application/json; sub_filter '\"method\"' '\"METHOD\"'; }}\n  }}\n}}\n",
                r = d.display()
            )
        },
        |port| {
            ["/", "/once/", "/lm/", "/once/style.css", "/api/x"]
                .iter()
                .map(|path| {
                    let a = get(port, path, "");
                    let mut out = format!(
                        "{path} -> {} {}\n",
                        a.status,
                        a.header("content-type").unwrap_or("-")
                    );
                    for h in ["content-length", "last-modified", "etag", "transfer-encoding"] {
                        let v = a.header(h).map(|v| if h == "etag" { &v[..2] } else { "set" });
                        out.push_str(&format!("{h}: {}\n", v.unwrap_or("-")));
                    }
                    let body = if *path == "/api/x" {
                        // The upstream's echo differs in what each sends it; the replaced key does not.
                        format!("{}", a.body.contains("\"METHOD\""))
                    } else {
                        a.body.clone()
                    };
                    out + &body
                })
                .collect::<Vec<_>>()
        },
    );
    for (rc, ng) in seen[0].iter().zip(&seen[1]) {
        assert_eq!(rc, ng, "rcompose proxy, then nginx");
    }
    assert!(seen[1][0].contains("<head><base href=\"/app/\">"), "{}", seen[1][0]);
    // Once: the first x only (the title's).
    assert!(
        seen[1][1].contains("<title>Y</title>") && seen[1][1].contains("x x x"),
        "{}",
        seen[1][1]
    );
}

#[test]
fn allow_and_deny_answer_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for p in ["a", "b", "c", "d", "e"] {
        std::fs::create_dir_all(d.join("www").join(p)).unwrap();
        std::fs::write(d.join("www").join(p).join("index.html"), format!("{p}\n")).unwrap();
    }
    std::fs::write(d.join("htp"), "u:{PLAIN}p\n").unwrap();
    let seen = on_each_side(
        d,
        "access",
        |port| {
            format!(
                "events {{ }}\nhttp {{\n  access_log off;\n  root {r}/www;\n  deny 192.0.2.1;\n  server {{\n    listen 127.0.0.1:{port};\n    location /a/ {{ deny all; auth_basic \"x\"; auth_basic_user_file {r}/htp; }}\n    location /b/ {{ allow 10.0.0.0/8; deny all; }}\n    location /c/ {{ allow 127.0.0.1; deny all; }}\n    location /d/ {{ deny 127.0.0.0/24; allow all; }}\n    location /e/ {{ }}\n  }}\n}}\n",
                r = d.display()
            )
        },
        |port| {
            let answers: Vec<(u16, String)> = ["a", "b", "c", "d", "e"]
                .iter()
                .map(|p| {
                    let a = get(port, &format!("/{p}/"), "");
                    (a.status, a.body.replace("nginx/1.22.1", "S").replace("rcompose", "S"))
                })
                .collect();
            answers
        },
    );
    assert_eq!(seen[0], seen[1], "rcompose proxy, then nginx");
    assert_eq!(seen[1].iter().map(|a| a.0).collect::<Vec<_>>(), [403, 403, 200, 403, 200]);
}

#[test]
fn proxy_pass_with_variables_sends_what_nginx_sends() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_up, up) = upstream(d);
    let seen = on_each_side(
        d,
        "vars",
        |port| {
            format!(
                "events {{ }}\nhttp {{\n  access_log off;\n  server {{\n    listen 127.0.0.1:{port};\n    set $up 127.0.0.1:{up};\n    location /v/ {{ proxy_pass http://$up$request_uri; }}\n    location /w/ {{ proxy_pass http://$up; }}\n    location /x/ {{ proxy_pass http://$up/fixed?k=1; }}\n    location ~ ^/r/(.*)$ {{ proxy_pass http://127.0.0.1:{up}/re/$1; }}\n    location /bad/ {{ set $u \"ftp://x\"; proxy_pass $u; }}\n    location /redirect/ {{ proxy_pass http://$up; }}\n  }}\n}}\n"
            )
        },
        |port| {
            let answers: Vec<String> = [
                "/v/a%20b?q=1",
                "/w/deep/x?y=2",
                "/x/anything",
                "/r/one/two",
                "/bad/x",
                "/redirect",
            ]
            .iter()
            .map(|p| {
                let a = get(port, p, "");
                let body = a
                    .body
                    .replace(&port.to_string(), "PORT")
                    .replace("nginx/1.22.1", "S")
                    .replace("rcompose", "S");
                let body = if a.status == 200 {
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    format!("{} {}", v["path"], v["headers"]["host"])
                } else {
                    body
                };
                let location = a.header("location").map(|l| l.replace(&port.to_string(), "PORT"));
                format!("{p}: {} {body} {location:?}", a.status)
            })
            .collect();
            answers
        },
    );
    assert_eq!(seen[0], seen[1], "rcompose proxy, then nginx");
    assert!(seen[1][0].contains("\"/v/a%20b?q=1\""), "{:?}", seen[1]);
}

#[test]
fn limit_conn_refuses_what_nginx_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_up, up) = upstream(d);
    let seen = on_each_side(
        d,
        "conn",
        |port| {
            format!(
                "events {{ }}\nhttp {{\n  access_log off;\n  limit_conn_zone $binary_remote_addr zone=addr:10m;\n  server {{\n    listen 127.0.0.1:{port};\n    location /slow {{ limit_conn addr 1; proxy_pass http://127.0.0.1:{up}; }}\n    location /other {{ limit_conn addr 1; limit_conn_status 429; proxy_pass http://127.0.0.1:{up}; }}\n  }}\n}}\n"
            )
        },
        |port| {
            // One slow request in flight; a second from the same address is refused, then
            // the count goes back down once the first has been answered.
            let first = std::thread::spawn(move || get(port, "/slow", "").status);
            std::thread::sleep(Duration::from_millis(500));
            let second = get(port, "/slow", "").status;
            let third = get(port, "/other", "").status;
            let first = first.join().unwrap();
            let after = get(port, "/other", "").status;
            (first, second, third, after)
        },
    );
    assert_eq!(seen[0], seen[1], "rcompose proxy, then nginx");
    assert_eq!(seen[1], (200, 503, 429, 200));
}

#[test]
fn pipelining_completion_and_upstream_byte_counts_read_as_nginx_logs_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, up) = upstream(dir.path());
    // Larger than what the sockets buffer: a client that stops reading and goes cuts it.
    let big = dir.path().join("big");
    std::fs::create_dir(&big).unwrap();
    std::fs::write(big.join("file"), vec![b'x'; 32 << 20]).unwrap();
    let http = |log: &Path, port: u16| {
        format!(
            "  log_format b '$pipe $request_completion|$upstream_bytes_sent|$upstream_bytes_received|\
             $upstream_response_length|$proxy_internal_body_length|$proxy_internal_chunked|\
             $ssl_client_verify|$ssl_ciphers|$proxy_protocol_addr|$upstream_trailer_x $status \"$request\"';\n  \
             log_format t '$connection_time $tcpinfo_rtt $tcpinfo_rttvar $tcpinfo_snd_cwnd $tcpinfo_rcv_space';\n  \
             access_log {log} b;\n  access_log {log}.t t;\n  \
             upstream pool {{ server 127.0.0.1:{up}; keepalive 2; }}\n  \
             server {{ listen 127.0.0.1:{port}; location / {{ return 200 ok; }}\n  \
             proxy_http_version 1.1; proxy_set_header Connection \"\";\n  \
             location /up/ {{ proxy_pass http://pool/; proxy_set_header X-Len $proxy_internal_body_length; proxy_set_header Connection \"\"; }}\n  \
             location /stream/ {{ proxy_pass http://pool/; proxy_request_buffering off; }}\n  \
             location /big/ {{ alias {big}/; }} }}",
            log = log.display(),
            big = big.display(),
        )
    };
    let logs = logged_by_each(dir.path(), 9, http, |port| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /big/file HTTP/1.1\r\nHost: here\r\n\r\n").unwrap();
        let _ = s.read(&mut [0u8; 100]);
        std::thread::sleep(Duration::from_millis(200));
        drop(s);
        // Two requests in one write: the second was in hand when the first ended.
        raw(
            port,
            b"GET /a HTTP/1.1\r\nHost: here\r\n\r\nGET /b HTTP/1.1\r\nHost: here\r\nConnection: close\r\n\r\n",
        );
        raw(port, b"GET /up/c?q=1 HTTP/1.1\r\nHost: here\r\nConnection: close\r\n\r\n");
        raw(port, b"POST /up/d HTTP/1.1\r\nHost: here\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        raw(
            port,
            b"GET /up/e HTTP/1.1\r\nHost: here\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        // A body still coming when the request goes upstream goes chunked.
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"POST /stream/f HTTP/1.1\r\nHost: here\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        s.write_all(b"0\r\n\r\n").unwrap();
        let _ = s.read_to_end(&mut Vec::new());
        drop(s);
        // An answer cut off by the upstream is still complete to nginx.
        raw(port, b"GET /up/cut HTTP/1.1\r\nHost: here\r\nConnection: close\r\n\r\n");
        // The client goes while the upstream thinks: 499, not complete.
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /up/slow HTTP/1.1\r\nHost: here\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        drop(s);
    });
    // Sorted: a connection's line may be written as it closes.
    let sorted = |log: &str| {
        let mut lines: Vec<&str> = log.lines().collect();
        lines.sort();
        lines.join("\n")
    };
    assert_eq!(sorted(&logs[0]), sorted(&logs[1]), "rcompose's lines, then nginx's");
    assert!(logs[1].contains("POST /stream/f"), "{}", logs[1]);
    assert!(
        logs[1].lines().any(|l| l.starts_with(". |") && l.contains("499 \"GET /up/slow")),
        "a client that went while the upstream thought: {}",
        logs[1]
    );
    assert!(
        logs[1].lines().any(|l| l.starts_with(". |") && l.contains("/big/file")),
        "a client that went is not a completion: {}",
        logs[1]
    );
    // Times and the kernel's figures differ run to run: their form must not.
    let form = regex::Regex::new(r"^\d+\.\d{3} \d+ \d+ \d+ \d+$").unwrap();
    for who in ["rc", "nginx"] {
        let t = std::fs::read_to_string(dir.path().join(format!("{who}.log.t"))).unwrap();
        assert_eq!(t.lines().count(), 9, "{who}: {t}");
        assert!(t.lines().all(|l| form.is_match(l)), "{who}: {t}");
    }
}

/// An upstream whose answers carry validators, answering 304 to an
/// If-None-Match that names its version; it notes the conditions it was sent.
const VALIDATING: &str = r#"
import http.server, os, sys
seen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seen-%s.log" % sys.argv[1])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if "slow" in self.path:
            import time; time.sleep(1)
        with open(seen, "a") as f:
            f.write("%s inm=%s ims=%s\n" % (self.path, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")))
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304); self.send_header("ETag", '"v1"'); self.send_header("Cache-Control", "max-age=1")
            self.send_header("Content-Length", "0"); self.end_headers(); return
        body = b"version one\n"
        self.send_response(200); self.send_header("ETag", '"v1"')
        self.send_header("Last-Modified", "Sat, 01 Jan 2000 00:00:00 GMT"); self.send_header("Cache-Control", "max-age=1")
        self.send_header("Content-Type", "text/plain"); self.send_header("Content-Length", str(len(body)))
        if "ranged" in self.path:
            self.send_header("Accept-Ranges", "bytes")
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

/// [`VALIDATING`] on a free port, and the file it notes what it was sent in.
fn validating_upstream(d: &Path) -> (Kill, u16, std::path::PathBuf) {
    let up = free_port();
    let kill = common::python_server(d, "validating.py", VALIDATING, up);
    (kill, up, d.join(format!("seen-{up}.log")))
}

#[test]
fn proxy_cache_revalidates_and_meets_conditions_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_up, up, seen_log) = validating_upstream(d);
    let seen = on_each_side(
        d,
        "reval",
        |port| {
            format!(
                "user root;\nevents {{ }}\nhttp {{\n  access_log off;\n  proxy_temp_path {dir}/tmp-{port};\n  proxy_cache_path {dir}/cache-{port} keys_zone=z:1m;\n  \
                 log_format v '$upstream_cache_status [$upstream_cache_etag] [$upstream_cache_last_modified]';\n  \
                 server {{\n    listen 127.0.0.1:{port};\n    add_header X-Cache $upstream_cache_status always;\n    \
                 location /r/ {{ proxy_pass http://127.0.0.1:{up}/; proxy_cache z; proxy_cache_revalidate on; \
                 add_header X-V \"[$upstream_cache_etag][$upstream_cache_last_modified]\" always; \
                 add_header X-Cache $upstream_cache_status always; }}\n    \
                 location /p/ {{ proxy_pass http://127.0.0.1:{up}/; proxy_cache z; }}\n  }}\n}}\n",
                dir = d.display()
            )
        },
        |port| {
            let boundary = regex::Regex::new(r"\d{20}").unwrap();
            let before = std::fs::read_to_string(&seen_log).unwrap_or_default().len();
            let ask = |path: &str, extra: &str| {
                let a = get(port, path, extra);
                format!(
                    "{path} {extra:?} -> {} {} {} {:?}",
                    a.status,
                    a.header("x-cache").unwrap_or("-"),
                    a.header("x-v").unwrap_or("-"),
                    boundary
                        .replace_all(&a.body, "BOUNDARY")
                        .replace("nginx/1.22.1", "SERVER")
                        .replace("rcompose", "SERVER")
                )
            };
            let inm = "If-None-Match: \"v1\"\r\n";
            let mut out = vec![
                ask("/r/a", ""),
                // Kept: the cache answers the client's condition itself.
                ask("/r/a", inm),
                ask("/r/a", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n"),
                ask("/r/a", "If-Match: \"v0\"\r\n"),
                // The client's condition is not passed on: the upstream answers whole, and it is kept.
                ask("/p/b", inm),
                ask("/p/b", ""),
                // Ranges are cut by the cache where the upstream takes them:
                // as the answer streams (one range), then from the kept one.
                ask("/p/ranged", "Range: bytes=0-3\r\n"),
                ask("/p/ranged", "Range: bytes=0-3,-3\r\n"),
                ask("/p/ranged", "Range: bytes=99-\r\n"),
                ask("/p/ranged", "Range: bytes=1-2\r\nIf-Range: \"v0\"\r\n"),
                ask("/p/ranged", "Range: bytes=1-2\r\nIf-Range: \"v1\"\r\n"),
                ask("/p/ranged2", "Range: bytes=0-3,5-6\r\n"),
                // An upstream that says nothing of ranges: the whole answer.
                ask("/p/b", "Range: bytes=0-3\r\n"),
            ];
            // Past max-age=1 (nginx counts whole seconds).
            std::thread::sleep(Duration::from_millis(2200));
            out.push(ask("/r/a", ""));
            out.push(ask("/r/a", ""));
            std::thread::sleep(Duration::from_millis(2200));
            out.push(ask("/p/b", ""));
            let all = std::fs::read_to_string(&seen_log).unwrap_or_default();
            out.push(format!("upstream saw:\n{}", &all[before..]));
            out
        },
    );
    assert_eq!(seen[0], seen[1], "rcompose proxy, then nginx");
    let text = seen[1].join("\n");
    assert!(text.contains("REVALIDATED"), "{text}");
    assert!(text.contains("bytes=0-3\\r\\n\" -> 206 MISS - \"vers\""), "{text}");
    assert!(text.contains("Content-Range: bytes 9-11/12") && text.contains("-> 416"), "{text}");
    assert!(text.contains("/a inm=\"v1\" ims=Sat, 01 Jan 2000 00:00:00 GMT"), "{text}");
}

/// A finished cache file (not a temporary one) somewhere under `dir`.
fn cache_file_written(dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            return cache_file_written(&p);
        }
        let name = e.file_name().to_string_lossy().into_owned();
        name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[test]
fn a_kept_answer_outlives_a_restart_as_with_nginx() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_up, up) = upstream(d);
    let nginx = common::ensure_nginx();
    let mut seen = Vec::new();
    for who in ["rc", "nginx"] {
        let port = free_port();
        let path = d.join(format!("{who}-restart.conf"));
        std::fs::write(
            &path,
            format!(
                // Workers as root, temporary files in the test's folder: with
                // nginx's default user (nobody) and temporary folder, shared
                // with the tests whose nginx runs as root, its workers could
                // not write the answer there and sent nothing (status 0).
                "user root;\nevents {{ }}\nhttp {{\n  access_log off;\n  proxy_temp_path {dir}/tmp-{who};\n  proxy_cache_path {dir}/kept-{who} levels=1:2 keys_zone=k:1m;\n  \
                 server {{\n    listen 127.0.0.1:{port};\n    add_header X-Cache $upstream_cache_status always;\n    \
                 location / {{ proxy_pass http://127.0.0.1:{up}/; proxy_cache k; proxy_cache_valid 200 10m; }}\n  }}\n}}\n",
                dir = d.display()
            ),
        )
        .unwrap();
        let ask = || {
            let a = get(port, "/kept?x=1", "");
            format!("{} {}", a.status, a.header("x-cache").unwrap_or("-"))
        };
        let first = common::side::start_side(who, &nginx, &path, d, port);
        seen.push(format!("{who}: {}", ask()));
        // The file is written off the request's path: waited for, not a fixed
        // sleep, which a loaded machine outran.
        let kept = d.join(format!("kept-{who}"));
        eventually(10, || cache_file_written(&kept));
        drop(first);
        let _again = common::side::start_side(who, &nginx, &path, d, port);
        seen.push(format!("{who}: {} {}", ask(), ask()));
    }
    assert_eq!(
        seen,
        ["rc: 200 MISS", "rc: 200 HIT 200 HIT", "nginx: 200 MISS", "nginx: 200 HIT 200 HIT"]
    );
}

#[test]
fn proxy_cache_lock_and_updating_hold_back_concurrent_misses_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_up, up, seen_log) = validating_upstream(d);
    let seen = on_each_side(
        d,
        "lock",
        |port| {
            format!(
                "user root;\nevents {{ }}\nhttp {{\n  access_log off;\n  proxy_temp_path {dir}/tmp-{port};\n  proxy_cache_path {dir}/lock-{port} keys_zone=z:1m;\n  \
                 server {{\n    listen 127.0.0.1:{port};\n    add_header X-Cache $upstream_cache_status always;\n    \
                 location /l/ {{ proxy_pass http://127.0.0.1:{up}/; proxy_cache z; proxy_cache_lock on; }}\n    \
                 location /u/ {{ proxy_pass http://127.0.0.1:{up}/; proxy_cache z; proxy_cache_use_stale updating; }}\n  }}\n}}\n",
                dir = d.display()
            )
        },
        |port| {
            let before = std::fs::read_to_string(&seen_log).unwrap_or_default().len();
            // Three at once, the first a little ahead: the upstream takes a second.
            let together = |path: &'static str| {
                let asks: Vec<_> = (0..3)
                    .map(|i| {
                        std::thread::sleep(Duration::from_millis(if i == 0 { 0 } else { 150 }));
                        std::thread::spawn(move || {
                            let a = get(port, path, "");
                            format!("{} {}", a.status, a.header("x-cache").unwrap_or("-"))
                        })
                    })
                    .collect();
                asks.into_iter().map(|t| t.join().unwrap()).collect::<Vec<_>>().join(", ")
            };
            let mut out = vec![format!("lock: {}", together("/l/slow1"))];
            out.push(format!("fill: {}", together("/u/slow2")));
            // Past max-age=1: one request refreshes, the others get the kept answer.
            std::thread::sleep(Duration::from_millis(2200));
            out.push(format!("updating: {}", together("/u/slow2")));
            let all = std::fs::read_to_string(&seen_log).unwrap_or_default();
            out.push(format!("upstream saw:\n{}", &all[before..]));
            out
        },
    );
    assert_eq!(seen[0], seen[1], "rcompose proxy, then nginx");
    assert_eq!(seen[1][0], "lock: 200 MISS, 200 HIT, 200 HIT", "{:?}", seen[1]);
    assert_eq!(seen[1][2], "updating: 200 EXPIRED, 200 UPDATING, 200 UPDATING", "{:?}", seen[1]);
}
