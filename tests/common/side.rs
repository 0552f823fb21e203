//! Serving one configuration with rcompose proxy and with nginx, and
//! asking each the same: the helpers the side-by-side proxy tests share.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Kill, eventually, free_port};

pub(crate) fn listening(port: u16) -> bool {
    eventually(15, || TcpStream::connect(("127.0.0.1", port)).is_ok())
}

/// A raw HTTP/1.1 exchange: the request bytes as given, the answer as read.
pub(crate) fn raw(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    /// The status line after the code.
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub(crate) fn get(port: u16, path: &str, extra: &str) -> Answer {
    let text = raw(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n")
            .as_bytes(),
    );
    parse(&text)
}

pub(crate) fn parse(text: &str) -> Answer {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let line = lines.next().unwrap_or_default();
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let reason = line.splitn(3, ' ').nth(2).unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer { status, reason, headers, body: body.to_string() }
}

pub(crate) fn start_rcompose(conf_path: &Path, port: u16) -> Kill {
    let child = super::rcompose()
        .args(["proxy", "-c"])
        .arg(conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let k = Kill(child);
    assert!(listening(port), "rcompose proxy did not listen on {port}");
    k
}

/// rcompose proxy, then nginx, each serving the configuration `conf` makes
/// for a free port; what `ask` makes of each.
pub(crate) fn on_each_side<T>(
    dir: &Path,
    name: &str,
    conf: impl Fn(u16) -> String,
    ask: impl Fn(u16) -> T,
) -> Vec<T> {
    let nginx = super::ensure_nginx();
    ["rc", "nginx"]
        .into_iter()
        .map(|who| {
            let port = free_port();
            let path = dir.join(format!("{who}-{name}.conf"));
            std::fs::write(&path, conf(port)).unwrap();
            let _server = start_side(who, &nginx, &path, dir, port);
            ask(port)
        })
        .collect()
}

/// rcompose proxy (`who` is "rc") or nginx on `conf`, listening on `port`;
/// nginx keeps its pid and error log in `dir`.
pub(crate) fn start_side(who: &str, nginx: &str, conf: &Path, dir: &Path, port: u16) -> Kill {
    if who == "rc" {
        return start_rcompose(conf, port);
    }
    let d = dir.display();
    let child = Command::new(nginx)
        .arg("-c")
        .arg(conf)
        .arg("-p")
        .arg(dir)
        .args(["-g", &format!("daemon off; pid {d}/nginx.pid; error_log {d}/e.log;")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let k = Kill(child);
    assert!(listening(port), "nginx did not start");
    k
}
