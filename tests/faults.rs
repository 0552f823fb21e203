//! Orchestration under faults: Ctrl-C at each phase of `up`, a container
//! that crash-loops, the engine going away under `logs -f`.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{BUSYBOX, Registry, TestProject, docker, free_port};

/// Nothing of the project is left: containers, networks, volumes, the
/// built image, the detached proxy and its port.
#[track_caller]
fn assert_nothing_left(p: &TestProject, port: u16, what: &str) {
    let f = p.label_filter();
    assert_eq!(docker(&["ps", "-aq", "--filter", &f]), "", "{what}: containers left");
    assert_eq!(docker(&["network", "ls", "-q", "--filter", &f]), "", "{what}: networks left");
    assert_eq!(docker(&["volume", "ls", "-q", "--filter", &f]), "", "{what}: volumes left");
    assert_eq!(
        docker(&["images", "-q", &format!("{}-built", p.name)]),
        "",
        "{what}: built image left"
    );
    let procs = common::proxy_processes(&p.name);
    assert!(procs.is_empty(), "{what}: proxy process left: {procs}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "{what}: the proxy port is still open"
    );
}

fn sigint(pid: u32) {
    // A child this test started and has not yet reaped: the pid is still its.
    let pid = rustix::process::Pid::from_raw(pid.try_into().unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
}

/// Runs `up -d` and sends SIGINT when a progress line contains `marker`;
/// returns the exit code, stderr, and whether the marker was seen.
fn up_interrupted_at(p: &TestProject, nonce: &str, marker: &str) -> (i32, String, bool) {
    let mut child = p
        .rc(&["up", "-d"])
        .env("NONCE", nonce)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = false;
    let mut text = String::new();
    let end = Instant::now() + Duration::from_secs(120);
    while Instant::now() < end {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                if !seen && line.contains(marker) {
                    seen = true;
                    sigint(child.id());
                }
                text.push_str(&line);
                text.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    (status.code().unwrap_or(-1), text, seen)
}

#[test]
fn ctrl_c_at_each_phase_of_up_leaves_nothing_down_cannot_remove() {
    let registry = Registry::start();
    let remote = registry.publish(BUSYBOX, "rcompose-fault:1");
    let port = free_port();
    let p = TestProject::new(
        "ctrlc",
        &format!(
            r#"services:
  pulled:
    image: {remote}
    command: sleep 1000
  built:
    build:
      context: ./app
      args: {{NONCE: "${{NONCE}}"}}
    command: sleep 1000
  slow:
    image: {BUSYBOX}
    command: sh -c 'sleep 2; touch /tmp/ready; exec sleep 1000'
    healthcheck: {{test: [CMD, test, -f, /tmp/ready], interval: 300ms, retries: 100}}
    volumes: [data:/data]
  api:
    image: {BUSYBOX}
    command: httpd -f -p 7000 -h /
    depends_on:
      slow: {{condition: service_healthy}}
      built: {{condition: service_started}}
      pulled: {{condition: service_started}}
  web:
    image: nginx:1.25
    depends_on: [api]
    ports: ["127.0.0.1:{port}:80"]
    volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
volumes:
  data:
"#
        ),
    );
    // A build argument that changes each round defeats the build cache, so every round builds.
    p.write(
        "app/Dockerfile",
        &format!("FROM {BUSYBOX}\nARG NONCE\nRUN echo $NONCE > /nonce && sleep 2\n"),
    );
    p.write(
        "nginx.conf",
        "events { }\nhttp { server { listen 80; location / { proxy_pass http://api:7000/; } } }\n",
    );
    let phases = [
        ("pull", format!("Image {remote}  Pulling")),
        ("build", "Building".to_string()),
        ("create", "Creating".to_string()),
        ("start", "Starting".to_string()),
        ("health wait", "Waiting".to_string()),
    ];
    let mut injected = 0;
    for round in 0..2 {
        for (phase, marker) in &phases {
            let what = format!("round {round}, Ctrl-C at {phase}");
            let _ = Command::new("docker").args(["rmi", "-f", &remote]).output();
            let nonce = format!("{round}-{phase}");
            let (code, err, seen) = up_interrupted_at(&p, &nonce, marker);
            assert!(seen, "{what}: the phase never showed ({marker:?}):\n{err}");
            assert_eq!(code, 130, "{what}: exit code:\n{err}");
            assert!(err.contains("interrupted"), "{what}: no word of the interruption:\n{err}");
            injected += 1;
            let (code, _, derr) = p.run(&["down", "-v", "-t", "0", "--rmi", "local"]);
            assert_eq!(code, 0, "{what}: down failed:\n{derr}");
            assert_nothing_left(&p, port, &what);
        }
    }
    // The same project comes up whole afterwards: the interruptions broke nothing.
    let _ = Command::new("docker").args(["rmi", "-f", &remote]).output();
    let out = p.rc(&["up", "-d", "--wait"]).env("NONCE", "whole").output().unwrap();
    assert!(
        out.status.success(),
        "up after the interruptions:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.ok(&["down", "-v", "-t", "0", "--rmi", "local"]);
    assert_nothing_left(&p, port, "after a whole up and down");
    eprintln!("faults injected: {injected} interruptions; resources left behind: 0");
}

/// A stand-in for the engine's socket that can go away and come back, as
/// the engine does when it restarts (containers kept running, as with
/// live-restore): it relays to the real socket until cut.
struct EngineRelay {
    path: std::path::PathBuf,
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::os::unix::net::UnixStream>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl EngineRelay {
    fn start(path: &std::path::Path) -> EngineRelay {
        let mut r = EngineRelay {
            path: path.to_path_buf(),
            conns: Default::default(),
            stop: Default::default(),
            accept: None,
        };
        r.listen();
        r
    }

    fn listen(&mut self) {
        use std::os::unix::net::{UnixListener, UnixStream};
        let _ = std::fs::remove_file(&self.path);
        let listener = UnixListener::bind(&self.path).unwrap();
        listener.set_nonblocking(true).unwrap();
        self.stop.store(false, std::sync::atomic::Ordering::SeqCst);
        let (conns, stop) = (self.conns.clone(), self.stop.clone());
        self.accept = Some(std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(engine) = UnixStream::connect("/var/run/docker.sock") else { continue };
                conns
                    .lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), engine.try_clone().unwrap()]);
                let (mut c2, mut e2) = (client.try_clone().unwrap(), engine.try_clone().unwrap());
                let (mut c1, mut e1) = (client, engine);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c1, &mut e1);
                    let _ = e1.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut e2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Write);
                });
            }
        }));
    }

    /// The engine goes away: every connection is cut and the socket is gone.
    fn cut(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            t.join().unwrap();
        }
        let _ = std::fs::remove_file(&self.path);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for EngineRelay {
    fn drop(&mut self) {
        self.cut();
    }
}

#[test]
fn logs_follow_survives_the_engine_going_away_and_loses_no_line() {
    let p = TestProject::new(
        "engine-restart",
        &format!(
            "services:\n  counter:\n    image: {BUSYBOX}\n    command: sh -c 'i=0; while true; do i=$$((i+1)); echo line $$i; sleep 0.05; done'\n"
        ),
    );
    p.ok(&["up", "-d"]);
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("engine.sock");
    let mut relay = EngineRelay::start(&sock);
    let mut child = p
        .rc(&["logs", "-f", "--no-log-prefix"])
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let highest = |rx: &mpsc::Receiver<String>, seen: &mut Vec<u64>| {
        while let Ok(l) = rx.try_recv() {
            seen.push(
                l.trim_start_matches("line ")
                    .parse()
                    .unwrap_or_else(|_| panic!("unexpected line {l:?}")),
            );
        }
        seen.last().copied().unwrap_or(0)
    };
    let mut seen = Vec::new();
    let mut outages = 0;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_secs(2));
        let before = highest(&rx, &mut seen);
        assert!(before > 0, "logs -f printed nothing");
        relay.cut();
        outages += 1;
        std::thread::sleep(Duration::from_secs(3));
        relay.listen();
        // Lines written during the outage arrive once the engine is back.
        let deadline = Instant::now() + Duration::from_secs(20);
        while highest(&rx, &mut seen) < before + 60 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            seen.last().copied().unwrap_or(0) >= before + 60,
            "logs -f did not resume after the engine came back"
        );
    }
    sigint(child.id());
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    reader.join().unwrap();
    highest(&rx, &mut seen);
    // Ctrl-C ends a follow with 130, as docker compose's.
    assert_eq!(status.code(), Some(130), "logs -f exit: {status:?}\n{err}");
    assert!(
        err.contains("reconnecting") && err.contains("resuming"),
        "no word of the lost engine:\n{err}"
    );
    // Every line exactly once, in order: 1, 2, 3, ...
    let expected: Vec<u64> = (1..=seen.len() as u64).collect();
    let first_bad = seen.iter().zip(&expected).position(|(a, b)| a != b);
    assert_eq!(
        first_bad,
        None,
        "lines lost or repeated around {:?}",
        first_bad.map(|i| &seen[i.saturating_sub(3)..(i + 3).min(seen.len())])
    );
    eprintln!(
        "engine outages injected: {outages}; lines followed: {}; lost: 0; repeated: 0",
        seen.len()
    );
}

#[test]
fn a_crash_looping_container_is_reported_with_its_exit_code_and_last_lines() {
    let p = TestProject::new(
        "crashloop",
        &format!(
            r#"services:
  crashy:
    image: {BUSYBOX}
    command: [sh, -c, 'echo booting; echo "fatal: cannot read /etc/app.conf" >&2; exit 3']
    restart: always
  steady:
    image: {BUSYBOX}
    command: sleep 1000
    restart: always
  migrate:
    image: {BUSYBOX}
    command: [sh, -c, 'echo "migration failed: no database" >&2; exit 4']
    restart: on-failure
    profiles: [job]
  app:
    image: {BUSYBOX}
    command: sleep 1000
    depends_on:
      migrate: {{condition: service_completed_successfully}}
    profiles: [job]
"#
        ),
    );
    // --wait does not take a container that dies at once and is restarted for a running one.
    let (code, _, err) = p.run(&["up", "-d", "--wait", "--wait-timeout", "60"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("crashy is crash-looping: it exited with code 3"), "{err}");
    assert!(err.contains("crashy | fatal: cannot read /etc/app.conf"), "{err}");
    assert!(
        err.contains("steady-1  Started") && !err.contains("steady is"),
        "the steady service: {err}"
    );
    let ps = p.ok(&["ps", "-a"]);
    assert!(ps.lines().any(|l| l.contains("crashy") && l.contains("Restarting (3)")), "{ps}");
    // A job its policy keeps restarting fails the dependent instead of holding up for ever.
    let start = Instant::now();
    let (code, _, err) = p.run(&["--profile", "job", "up", "-d", "app"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("migrate is crash-looping: it exited with code 4"), "{err}");
    assert!(err.contains("migrate | migration failed: no database"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(60), "up waited out its timeout instead");
}
