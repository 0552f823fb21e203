//! Evidence for robustness under repetition and load: many up/down cycles
//! leave nothing behind; many idle connections do not exhaust the proxy.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::{BUSYBOX, TestProject, eventually, free_port};

#[test]
fn fifty_up_down_cycles_leave_nothing_behind() {
    let port = free_port();
    let p = TestProject::new(
        "cycles",
        &format!(
            r#"services:
  web:
    image: nginx:1.25
    depends_on: [api]
    ports: ["127.0.0.1:{port}:80"]
    volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
  api:
    image: {BUSYBOX}
    command: sh -c 'trap "exit 0" TERM; httpd -f -p 7000 -h /www & wait'
    volumes: ["./www:/www", "data:/data"]
volumes:
  data:
"#
        ),
    );
    p.write("www/ok.txt", "ok\n");
    p.write("nginx.conf", "events { }\nhttp { access_log off; server { listen 80; location / { proxy_pass http://api:7000/; } } }\n");
    for cycle in 0..50 {
        p.ok(&["up", "-d"]);
        if cycle % 10 == 0 {
            TcpStream::connect(("127.0.0.1", port)).expect("the proxy listens after up -d");
            // `up -d` waits for the api container to start, not for its
            // httpd to listen: a 502 just after is nginx's answer too.
            let mut last = String::new();
            let answered = eventually(10, || {
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
                last.clear();
                s.write_all(b"GET /ok.txt HTTP/1.0\r\n\r\n").is_ok()
                    && s.read_to_string(&mut last).is_ok()
                    && last.ends_with("ok\n")
            });
            assert!(answered, "cycle {cycle}: {last}");
        }
        p.ok(&["down", "-v", "-t", "1"]);
    }
    let f = p.label_filter();
    assert_eq!(common::docker(&["ps", "-aq", "--filter", &f]), "", "containers left");
    assert_eq!(common::docker(&["network", "ls", "-q", "--filter", &f]), "", "networks left");
    assert_eq!(common::docker(&["volume", "ls", "-q", "--filter", &f]), "", "volumes left");
    let procs = common::proxy_processes(&p.name);
    assert!(procs.is_empty(), "proxy processes left: {procs}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the port is still open");
}

fn raise_fd_limit(n: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    // None is unlimited.
    let (cur, max) = (lim.current.unwrap_or(u64::MAX), lim.maximum.unwrap_or(u64::MAX));
    let want = n.min(max).max(cur);
    let _ = setrlimit(Resource::Nofile, Rlimit { current: Some(want), maximum: lim.maximum });
    want
}

/// The kernel's counts of connections its listen queues dropped.
fn listen_counters() -> String {
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut lines = text.lines();
    let mut out = Vec::new();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
            if n.starts_with("Listen") || n.contains("ookies") || n == "EmbryonicRsts" {
                out.push(format!("{n}={v}"));
            }
        }
    }
    out.join(" ")
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn ten_thousand_idle_keepalive_connections_with_bounded_memory() {
    let limit = raise_fd_limit(40_000);
    // The clients and the proxy are two processes: each holds a little over 10,000 descriptors.
    assert!(limit >= 10_500, "the file-descriptor limit cannot be raised enough here ({limit})");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("index.html"), "hello\n").unwrap();
    std::fs::write(
        dir.path().join("idle.conf"),
        format!(
            "worker_processes 1;\nevents {{ worker_connections 20000; }}\nhttp {{ access_log off; keepalive_timeout 300s; client_header_timeout 300s; server {{ listen 127.0.0.1:{port}; root {}; }} }}\n",
            dir.path().display()
        ),
    )
    .unwrap();
    // The child inherits the raised limit.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = KillOnDrop(
        common::rcompose()
            .args(["proxy", "-c"])
            .arg(dir.path().join("idle.conf"))
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
            .spawn()
            .unwrap(),
    );
    // On a failure, say whether the proxy is still there and what it said.
    let why = |child: &mut KillOnDrop| {
        let state = match child.0.try_wait() {
            Ok(Some(st)) => format!("the proxy exited ({st})"),
            _ => "the proxy is running".to_string(),
        };
        let said = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
        format!("{state}; its stderr:\n{said}")
    };
    assert!(eventually(10, || TcpStream::connect(("127.0.0.1", port)).is_ok()));
    let before = rss_kb(child.0.id());
    let mut conns = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connection {i}: {e}; {}", why(&mut child)));
        if i % 100 == 0 {
            // Some have served a request and sit idle in keep-alive; the rest never sent one.
            let ask = |s: &mut TcpStream| {
                let mut buf = [0u8; 512];
                s.write_all(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
                    .and_then(|()| s.read(&mut buf))
            };
            if let Err(e) = ask(&mut s) {
                // Seen twice (once in CI), not reproduced in dozens of runs:
                // a reset on one of these. A proxy that panicked or is gone
                // fails the test; otherwise the request is asked again on a
                // new connection, up to three times, and every failure is
                // reported with the kernel's listen-queue counters.
                let said = why(&mut child);
                assert!(
                    !said.contains("panicked") && !said.contains("exited"),
                    "connection {i}: {e}; {said}"
                );
                let mut failures = vec![format!("{e} ({:?})", e.kind())];
                let again = (0..3).find_map(|_| {
                    std::thread::sleep(Duration::from_secs(1));
                    let tried = TcpStream::connect(("127.0.0.1", port))
                        .and_then(|mut s| ask(&mut s).map(|_| s));
                    tried.map_err(|e| failures.push(format!("{e} ({:?})", e.kind()))).ok()
                });
                let report = format!(
                    "connection {i}: {failures:?}; kernel: {}; {}",
                    listen_counters(),
                    why(&mut child)
                );
                eprintln!("{report}");
                s = again.unwrap_or_else(|| panic!("{report}"));
            }
        }
        conns.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let held = rss_kb(child.0.id());
    // A new client is still served while the 10,000 wait.
    let out = common::exchange(port, b"GET /index.html HTTP/1.0\r\n\r\n", 5);
    assert!(out.ends_with("hello\n"), "{out}");
    let per_conn = (held.saturating_sub(before)) as f64 / 10_000.0;
    eprintln!(
        "RSS {before} KiB before, {held} KiB with 10,000 idle connections ({per_conn:.1} KiB each)"
    );
    // Bounded: a small constant per connection (hyper's buffers and the task), not growth.
    assert!(per_conn < 32.0, "each idle connection costs {per_conn:.1} KiB");
    drop(conns);
    Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
}
