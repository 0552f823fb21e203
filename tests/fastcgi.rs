//! `fastcgi_pass` side by side with nginx, both in front of the same
//! PHP-FPM pool (Debian's php-fpm) and the same PHP front controller, with
//! the configuration Laravel and Symfony stacks ship: what PHP sees in
//! `$_SERVER`, statuses, redirects, bodies, uploads, HEAD, PATH_INFO, a
//! missing script, and PHP's stderr in the error log.

mod common;

use std::path::Path;

use common::side::{Answer, on_each_side, parse, raw};

const FRONT: &str = r#"<?php
$s = $_SERVER;
foreach (['REQUEST_TIME', 'REQUEST_TIME_FLOAT', 'REMOTE_PORT', 'SERVER_SOFTWARE', 'PHP_SELF'] as $k) unset($s[$k]);
ksort($s);
header('Content-Type: application/json');
header('X-Powered-By: front');
setcookie('seen', 'yes', ['path' => '/']);
echo json_encode(['server' => $s, 'body' => file_get_contents('php://input'), 'post' => $_POST], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
"#;

fn site(dir: &Path) {
    let public = dir.join("public");
    std::fs::create_dir_all(public.join("assets")).unwrap();
    std::fs::write(public.join("index.php"), FRONT).unwrap();
    std::fs::write(public.join("assets/app.css"), "body { color: red }\n").unwrap();
    let php = [
        ("gone.php", "<?php http_response_code(410); echo \"gone\\n\";"),
        ("moved.php", "<?php header('Location: /landed?from=php'); echo 'moving';"),
        ("created.php", "<?php header('Status: 201 Made Here'); echo 'made';"),
        ("noisy.php", "<?php error_log('hello from php'); echo \"ok\\n\";"),
        ("big.php", "<?php echo str_repeat(\"0123456789abcdef\", 65536);"),
        ("empty.php", "<?php http_response_code(204);"),
    ];
    for (name, text) in php {
        std::fs::write(public.join(name), text).unwrap();
    }
}

/// A Laravel-style server block: static files first, then the front
/// controller; `.php` through PHP-FPM with PATH_INFO split off.
fn conf(dir: &Path, fpm: u16, port: u16) -> String {
    let d = dir.display();
    format!(
        "events {{ }}\nhttp {{\n  access_log off;\n  error_log {d}/error-{port}.log;\n  server {{\n    listen 127.0.0.1:{port};\n    root {d}/public;\n    index index.php index.html;\n    location / {{ try_files $uri $uri/ /index.php?$query_string; }}\n    location ~ \\.php(/|$) {{\n      fastcgi_split_path_info ^(.+\\.php)(/.+)$;\n      fastcgi_pass 127.0.0.1:{fpm};\n      fastcgi_index index.php;\n      include /etc/nginx/fastcgi_params;\n      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n      fastcgi_param PATH_INFO $fastcgi_path_info;\n      fastcgi_param HTTP_PROXY \"\";\n      fastcgi_read_timeout 30;\n      fastcgi_buffers 16 16k;\n      fastcgi_buffer_size 32k;\n    }}\n  }}\n}}\n"
    )
}

/// What a client sees of an answer, with the side's own port written PORT.
fn seen(a: &Answer, port: u16) -> String {
    let mut out = format!("{} {}\n", a.status, a.reason);
    for h in [
        "content-type",
        "location",
        "x-powered-by",
        "set-cookie",
        "content-length",
        "transfer-encoding",
    ] {
        if let Some(v) = a.header(h) {
            out.push_str(&format!("{h}: {v}\n"));
        }
    }
    let body = if a.header("transfer-encoding") == Some("chunked") {
        dechunk(&a.body)
    } else {
        a.body.clone()
    };
    let body = if body.len() > 4096 { format!("{} bytes", body.len()) } else { body };
    out.push_str(&body);
    out.replace(&port.to_string(), "PORT")
}

/// A chunked body's data: each server cuts its chunks where it likes.
fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        text = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn ask(port: u16) -> Vec<String> {
    let get = |path: &str, extra: &str| {
        let a = raw(
            port,
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Test: one\r\nProxy: evil\r\n{extra}\r\n")
                .as_bytes(),
        );
        seen(&parse(&a), port)
    };
    let mut out = vec![
        get("/", ""),
        get("/deep/link?x=1&y=two", "Cookie: a=1; b=2\r\n"),
        get("/index.php/some/path?q=%20z", ""),
        get("/assets/app.css", ""),
        get("/gone.php", ""),
        get("/moved.php", ""),
        get("/created.php", ""),
        get("/noisy.php", ""),
        get("/big.php", ""),
        get("/empty.php", ""),
        get("/missing.php", ""),
        get("/index.php?%E2%9C%93=1", ""),
    ];
    let body = "name=value&other=%C3%A9";
    let post = raw(
        port,
        format!(
            "POST /form/submit HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    out.push(seen(&parse(&post), port));
    let chunked = raw(
        port,
        b"POST /index.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    out.push(seen(&parse(&chunked), port));
    let head =
        raw(port, b"HEAD /index.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    out.push(seen(&parse(&head), port));
    out
}

#[test]
fn php_fpm_behind_rcompose_answers_as_behind_nginx() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    site(d);
    let (_fpm, fpm) = common::php_fpm(d);
    let ports = std::cell::RefCell::new(Vec::new());
    let answers = on_each_side(
        d,
        "php",
        |port| {
            ports.borrow_mut().push(port);
            conf(d, fpm, port)
        },
        ask,
    );
    for (rc, ng) in answers[0].iter().zip(&answers[1]) {
        assert_eq!(rc, ng, "rcompose proxy, then nginx");
    }
    // What PHP saw is there to compare: its view of the request, not an error page.
    let front = &answers[1][1];
    assert!(front.contains("\"REQUEST_URI\": \"/deep/link?x=1&y=two\""), "{front}");
    assert!(front.contains("\"SCRIPT_FILENAME\":"), "{front}");
    assert!(!front.contains("HTTP_PROXY\": \"evil"), "{front}");
    assert!(answers[1][2].contains("\"PATH_INFO\": \"/some/path\""), "{}", answers[1][2]);
    assert!(answers[1][10].starts_with("404"), "{}", answers[1][10]);
    // PHP's stderr, in each side's error log.
    for port in ports.borrow().iter() {
        let log = std::fs::read_to_string(d.join(format!("error-{port}.log"))).unwrap_or_default();
        assert!(
            log.contains("FastCGI sent in stderr: \"PHP message: hello from php\""),
            "error log of {port}: {log}"
        );
    }
}

#[test]
fn fastcgi_params_is_there_when_the_project_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("nginx.conf"),
        "events { }\nhttp { server { listen 127.0.0.1:1; location ~ \\.php$ { include fastcgi_params; fastcgi_pass app:9000; } } }\n",
    )
    .unwrap();
    let out =
        common::rcompose().args(["proxy", "-t", "-c"]).arg(d.join("nginx.conf")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A unix socket is left to the nginx container, with the reason and the place.
    std::fs::write(
        d.join("nginx.conf"),
        "events { }\nhttp { server { listen 127.0.0.1:1; location ~ \\.php$ { fastcgi_pass unix:/run/php.sock; } } }\n",
    )
    .unwrap();
    let out =
        common::rcompose().args(["proxy", "-t", "-c"]).arg(d.join("nginx.conf")).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("unix: socket") && err.contains("nginx.conf:2"),
        "{err}"
    );
}
