//! TLS and HTTP/2 on `listen ... ssl http2`, side by side with Debian's
//! nginx on the same configuration, certificate, files and upstream: curl
//! over HTTP/2 and HTTP/1.1 gets the same answers from both, a plain
//! request on the TLS port gets nginx's 497, and a certificate that
//! cannot be loaded fails the check with its place.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::free_port;

/// A self-signed certificate for localhost, made with openssl.
fn certificate(dir: &Path) {
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "openssl is needed to make the test certificate");
}

/// The test certificate, and a site of one page under `site/`.
fn certificate_and_site(dir: &Path) {
    certificate(dir);
    std::fs::create_dir_all(dir.join("site")).unwrap();
    std::fs::write(dir.join("site/index.html"), "<p>app</p>\n").unwrap();
    // Over sendfile's threshold: over TLS its body is read, not sent by sendfile(2).
    let big: String = (0..20_000).map(|i| format!("line {i:05}\n")).collect();
    std::fs::write(dir.join("site/big.txt"), big).unwrap();
}

fn conf(tls: u16, plain_tls: u16, up: u16) -> String {
    format!(
        r#"events {{ }}
http {{
  access_log off;
  sendfile on;
  ssl_certificate cert.pem;
  ssl_certificate_key key.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:1m;
  ssl_ciphers HIGH:!aNULL:!MD5;
  server {{
    listen 127.0.0.1:{tls} ssl http2;
    server_name localhost;
    root site;
    location /v {{ add_header X-Seen "$scheme|$https|$ssl_protocol|$http2|$server_protocol|$ssl_server_name"; return 200 "v\n"; }}
    location /api/ {{
      proxy_pass http://127.0.0.1:{up}/;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Host $host;
    }}
    location /spa/ {{ try_files $uri /index.html; }}
  }}
  server {{
    listen 127.0.0.1:{plain_tls} ssl;
    server_name localhost;
    error_page 497 =301 https://$host:$server_port$request_uri;
    return 200 "never over plain HTTP\n";
  }}
}}
"#
    )
}

/// curl's answer: the status line, the headers that matter, the body.
fn curl(args: &[&str], url: &str) -> String {
    let out = Command::new("curl")
        .args(["-sk", "-i", "--max-time", "10"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is needed for the TLS tests");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("").trim_end().to_string();
    let mut headers: Vec<String> = lines
        .map(|l| l.to_ascii_lowercase())
        .filter(|l| !l.starts_with("server:") && !l.starts_with("date:"))
        .collect();
    // The servers' own pages name them, so their lengths differ by that much.
    let page = body.contains("<hr><center>");
    headers.retain(|h| !(page && h.starts_with("content-length:")));
    headers.sort();
    let body = body.replace("nginx/1.22.1", "SERVER").replace("rcompose", "SERVER");
    format!("{status}\n{}\n\n{body}", headers.join("\n"))
}

#[test]
fn tls_and_http2_answer_as_nginx_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certificate_and_site(d);
    let (_up, up) = common::echo_upstream(d);
    let mut answers = Vec::new();
    for who in ["rc", "nginx"] {
        let (tls, plain) = (free_port(), free_port());
        let path = d.join(format!("{who}.conf"));
        std::fs::write(&path, conf(tls, plain, up)).unwrap();
        let _server = common::side::start_side(who, &common::ensure_nginx(), &path, d, tls);
        let base = format!("https://localhost:{tls}");
        let mut got = Vec::new();
        for proto in ["--http2", "--http1.1"] {
            for path in [
                "/",
                "/index.html",
                "/v",
                "/spa/deep/link",
                "/missing.css",
                "/api/items?q=1",
                "/big.txt",
            ] {
                got.push(format!("{proto} {path}\n{}", curl(&[proto], &format!("{base}{path}"))));
            }
            got.push(format!(
                "{proto} POST\n{}",
                curl(&[proto, "--data-binary", "a=1&b=two"], &format!("{base}/api/post"))
            ));
            got.push(format!(
                "{proto} HEAD\n{}",
                curl(&[proto, "-I"], &format!("{base}/index.html"))
            ));
        }
        // A body of unknown length over HTTP/2 (no Content-Length sent).
        got.push(format!(
            "h2 chunked\n{}",
            curl(
                &["--http2", "-H", "Transfer-Encoding: chunked", "--data-binary", "streamed"],
                &format!("{base}/api/chunked")
            )
        ));
        // Plain HTTP on TLS ports: the 497 page, and error_page 497 redirecting.
        got.push(curl(&[], &format!("http://localhost:{tls}/v")));
        got.push(curl(&[], &format!("http://localhost:{plain}/x?y=1")));
        answers.push(
            got.join("\n----\n")
                .replace(&tls.to_string(), "TLS")
                .replace(&plain.to_string(), "PLAIN"),
        );
    }
    let (rc, ng) = (&answers[0], &answers[1]);
    for (a, b) in rc.split("\n----\n").zip(ng.split("\n----\n")) {
        assert_eq!(a, b, "rcompose proxy, then nginx");
    }
    assert!(rc.contains("x-seen: https|on|tlsv1.3|h2|http/2.0|localhost"), "{rc}");
    assert!(rc.contains("\"x-forwarded-proto\": \"https\""), "{rc}");
}

#[test]
fn certificates_that_cannot_be_loaded_fail_the_check_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let check = |text: &str| {
        let path = d.join("t.conf");
        std::fs::write(&path, text).unwrap();
        let out = common::rcompose().args(["proxy", "-t", "-c"]).arg(&path).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = check(
        "events {}\nhttp {\n  server {\n    listen 8443 ssl;\n    ssl_certificate missing.pem;\n    ssl_certificate_key missing.key;\n  }\n}\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("t.conf:5") && err.contains("cannot load certificate"), "{err}");
    let (code, err) = check("events {}\nhttp {\n  server {\n    listen 8443 ssl;\n  }\n}\n");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("t.conf:4") && err.contains("no \"ssl_certificate\""), "{err}");
    // Client certificates are nginx's to check: unsupported, so the container serves it.
    certificate(d);
    let (code, err) = check(
        "events {}\nhttp {\n  server {\n    listen 8443 ssl;\n    ssl_certificate cert.pem;\n    ssl_certificate_key key.pem;\n    ssl_verify_client on;\n  }\n}\n",
    );
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("ssl_verify_client"), "{err}");
}

/// The `X-Tls` header of an answer: what the TLS variables read.
fn tls_header(args: &[&str], url: &str) -> String {
    let out = Command::new("curl")
        .args(["-sk", "-D", "-", "-o", "/dev/null"])
        .args(args)
        .arg(url)
        .output();
    let text = String::from_utf8_lossy(&out.expect("curl runs").stdout).to_string();
    text.lines()
        .find_map(|l| {
            l.to_ascii_lowercase().starts_with("x-tls:").then(|| l[6..].trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
fn tls_variables_read_what_nginx_reads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certificate(d);
    let mut seen = Vec::new();
    for who in ["rc", "nginx"] {
        let port = free_port();
        let path = d.join(format!("{who}.conf"));
        let conf = format!(
            "events {{ }}\nhttp {{\n  access_log off;\n  ssl_certificate cert.pem;\n  ssl_certificate_key key.pem;\n  \
             ssl_protocols TLSv1.2 TLSv1.3;\n  server {{\n    listen 127.0.0.1:{port} ssl;\n    \
             location / {{ add_header X-Tls \"$ssl_protocol|$ssl_cipher|$ssl_curve|$ssl_curves|$ssl_ciphers|\
             $ssl_client_verify|[$ssl_early_data]|[$ssl_client_s_dn$ssl_client_serial$ssl_client_cert]|\
             [$ssl_session_id]\"; return 200 ok; }}\n  }}\n}}\n"
        );
        std::fs::write(&path, conf).unwrap();
        let _server = common::side::start_side(who, &common::ensure_nginx(), &path, d, port);
        let url = format!("https://localhost:{port}/");
        for args in [&["--tlsv1.3"][..], &["--tls-max", "1.2"], &["--curves", "secp384r1:X25519"]] {
            seen.push(tls_header(args, &url));
        }
    }
    // A session's id is new on each connection: its form is compared, not its digits.
    let id = regex::Regex::new(r"\[[0-9a-f]{64}\]$").unwrap();
    let masked: Vec<String> = seen.iter().map(|s| id.replace(s, "[ID]").into_owned()).collect();
    let (rc, ng) = masked.split_at(3);
    assert_eq!(rc, ng, "rcompose proxy, then nginx");
    assert!(rc[0].starts_with("TLSv1.3|TLS_AES_256_GCM_SHA384|X25519|"), "{rc:?}");
    assert!(rc[0].contains("|NONE|[]|[]|"), "{rc:?}");
}

#[test]
fn an_unread_http2_body_does_not_cost_the_client_its_answer() {
    // A POST to static files is answered 405 without its body being read:
    // the stream must still carry the answer (it was reset before it, one
    // time in two, when the unread body was dropped).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    certificate_and_site(d);
    let port = free_port();
    let path = d.join("rc.conf");
    let conf = format!(
        "events {{ }}\nhttp {{\n  access_log off;\n  server {{\n    listen 127.0.0.1:{port} ssl http2;\n    \
         ssl_certificate cert.pem;\n    ssl_certificate_key key.pem;\n    root site;\n  }}\n}}\n"
    );
    std::fs::write(&path, conf).unwrap();
    let _server = common::side::start_side("rc", &common::ensure_nginx(), &path, d, port);
    let codes: Vec<String> = (0..20)
        .map(|_| {
            let out = Command::new("curl")
                .args(["-sk", "--http2", "-o", "/dev/null", "-w", "%{http_code}"])
                .args(["--data-binary", "a=1&b=2"])
                .arg(format!("https://localhost:{port}/"))
                .output()
                .expect("curl runs");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect();
    assert!(codes.iter().all(|c| c == "405"), "{codes:?}");
}
