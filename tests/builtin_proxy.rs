//! The built-in proxy in place of a project's nginx container, end to end on
//! the real engine: the example stack (FastAPI built from its Dockerfile,
//! MongoDB replaced by a busybox stand-in), and smaller busybox stacks.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{BUSYBOX, TestProject, docker, eventually, free_port};

fn get(port: u16, path: &str, extra: &str) -> (u16, String, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new(), String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n{extra}\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn example_stack_end_to_end() {
    common::ensure_python_image();
    common::ensure_mongo_standin();
    let dir = common::repo_root().join("examples/fastapi-mongo");
    let rc = |args: &[&str]| {
        common::rcompose()
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .args(["--progress", "plain"])
            .args(args)
            .output()
            .unwrap()
    };
    struct Down(std::path::PathBuf);
    impl Drop for Down {
        fn drop(&mut self) {
            let _ = common::rcompose().current_dir(&self.0).args(["down", "-t", "1"]).output();
        }
    }
    let _down = Down(dir.clone());
    let out = rc(&["up", "-d", "--build"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("Proxy proxyserver  Started (built-in proxy on 0.0.0.0:1000, [::]:1000)"),
        "{err}"
    );
    assert!(!common::docker_ok(&["inspect", "proxyserver"]), "no nginx container runs");
    // Again: nothing starts, and it says so as docker compose does for a running container.
    let again = rc(&["up", "-d"]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{err}");
    assert!(
        err.contains("Proxy proxyserver  Running (built-in proxy on 0.0.0.0:1000, [::]:1000)"),
        "{err}"
    );
    assert!(!err.contains("Starting") && !err.contains("Started"), "{err}");

    // The single-page app.
    let (s, head, body) = get(1000, "/", "");
    assert_eq!(s, 200);
    assert!(head.contains("content-type: text/html") && body.contains("<title>Items</title>"));
    let (s, _, deep) = get(1000, "/items/some/deep/link", "");
    assert_eq!((s, deep == body), (200, true), "a deep link gives index.html");
    let (s, head, _) = get(1000, "/assets/app.js", "");
    assert_eq!(s, 200);
    assert!(head.contains("content-type: application/javascript"), "{head}");

    // FastAPI behind /api/, with the forwarding headers (its `/` echoes them).
    assert!(
        eventually(60, || get(1000, "/api/", "").0 == 200),
        "FastAPI did not come up: {}",
        docker(&["logs", "fastapi"])
    );
    let (_, _, echo) = get(1000, "/api/", "X-Forwarded-For: 203.0.113.9\r\n");
    let v: serde_json::Value = serde_json::from_str(&echo).unwrap();
    assert_eq!(v["path"], "/");
    assert_eq!(v["headers"]["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert_eq!(v["headers"]["x-real-ip"], "127.0.0.1");
    assert_eq!(v["headers"]["x-forwarded-proto"], "http");
    assert_eq!(v["headers"]["host"], "localhost");

    // /api/items/7 reaches FastAPI as /items/7; the stand-in is no real MongoDB,
    // so FastAPI answers 500, and that 500 is passed through as it is.
    let (s, head, _) = get(1000, "/api/items/7", "");
    assert_eq!(s, 500, "{head}");
    assert!(
        head.contains("content-type: text/plain"),
        "FastAPI's own 500, not the 50x page: {head}"
    );
    assert!(
        eventually(5, || docker(&["logs", "fastapi"]).contains("\"GET /items/7 HTTP/1.1\" 500"))
    );

    // The access log under the name of the nginx container it stands in for.
    let logs = rc(&["logs", "nginxproxy"]);
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(
        logs.contains("proxyserver | 127.0.0.1 - - [")
            && logs.contains("\"GET /api/items/7 HTTP/1.1\" 500"),
        "{logs}"
    );
    let ps = String::from_utf8_lossy(&rc(&["ps"]).stdout).to_string();
    assert!(
        ps.contains("proxyserver")
            && ps.contains("(built-in proxy)")
            && ps.contains("0.0.0.0:1000->80/tcp"),
        "{ps}"
    );

    // The upstream stopped: 502 with the 50x page, within a second.
    docker(&["stop", "-t", "1", "fastapi"]);
    let started = Instant::now();
    let (s, _, body) = get(1000, "/api/items", "");
    assert_eq!(s, 502);
    assert!(body.contains("temporarily unavailable"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(1), "502 took {:?}", started.elapsed());
    // Started again, it is found again.
    docker(&["start", "fastapi"]);
    assert!(
        eventually(60, || get(1000, "/api/", "").0 == 200),
        "the restarted upstream was not found again"
    );

    // down stops the proxy and frees the port.
    let out = rc(&["down", "-t", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(TcpStream::connect(("127.0.0.1", 1000)).is_err(), "port 1000 still answers after down");
}

fn stack(port: u16, conf_mount: &str) -> String {
    format!(
        r#"services:
  web:
    image: nginx:1.25
    depends_on:
      api: {{condition: service_healthy}}
    ports: ["127.0.0.1:{port}:80"]
    volumes:
      - {conf_mount}
      - ./site:/srv/site:ro
  api:
    image: {BUSYBOX}
    command: httpd -f -p 7000 -h /www
    volumes: ["./api:/www"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 500ms
"#
    )
}

const SITE_CONF: &str = "server {\n    listen 80;\n    listen 8443;\n    root /srv/site;\n    location / { try_files $uri /index.html; }\n    location /api/ { proxy_pass http://api:7000/; }\n}\n";

fn site(p: &TestProject) {
    p.write("site/index.html", "<h1>site</h1>\n");
    p.write("api/hello.txt", "hello from api\n");
}

/// An nginx.conf around `SITE_CONF`.
fn nginx_conf() -> String {
    format!("events {{ }}\nhttp {{\n{SITE_CONF}}}\n")
}

/// The site, its api, and an nginx.conf serving both.
fn site_with_nginx_conf(p: &TestProject) {
    site(p);
    p.write("nginx.conf", &nginx_conf());
}

/// A configuration the built-in proxy cannot honour: line 6 is unknown to it.
const UNHONOURED_CONF: &str = "events { }\nhttp {\n  server {\n    listen 80;\n    root /srv/site;\n    bogus_directive on;\n  }\n}\n";

fn assert_names_the_unhonoured_directive(err: &str) {
    assert!(
        err.contains("nginx.conf:6:5") && err.contains("unknown directive \"bogus_directive\""),
        "{err}"
    );
}

#[test]
fn conf_d_files_get_the_default_nginx_conf_and_foreground_logs_interleave() {
    let port = free_port();
    let p = TestProject::new("confd", &stack(port, "./conf.d:/etc/nginx/conf.d:ro"));
    site(&p);
    p.write("conf.d/site.conf", SITE_CONF);
    let mut child = p
        .rc(&["up"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(eventually(60, || get(port, "/api/hello.txt", "").0 == 200), "the proxy did not serve");
    assert_eq!(get(port, "/anything", "").2, "<h1>site</h1>\n");
    assert_eq!(get(port, "/api/hello.txt", "").2, "hello from api\n");
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(out.contains("web-1 | built-in proxy serving on 127.0.0.1:"), "{out}");
    assert!(
        out.contains("web-1 | 127.0.0.1 - - [")
            && out.contains("\"GET /api/hello.txt HTTP/1.1\" 200"),
        "access log interleaved:\n{out}"
    );
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the proxy stopped with up");
}

use std::process::Command;

#[test]
fn detached_proxy_stop_start_and_unpublished_ports() {
    let port = free_port();
    let p = TestProject::new("detached", &stack(port, "./nginx.conf:/etc/nginx/nginx.conf:ro"));
    site_with_nginx_conf(&p);
    p.ok(&["up", "-d"]);
    assert_eq!(get(port, "/", "").0, 200);
    // `listen 8443` is not published by the service, so it is not opened.
    let ps = p.ok(&["ps"]);
    assert!(ps.contains(&format!("127.0.0.1:{port}->80/tcp")) && !ps.contains("8443"), "{ps}");
    p.ok(&["stop", "web"]);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    assert!(p.ok(&["ps", "-a"]).contains("Exited (built-in proxy)"));
    p.ok(&["start", "web"]);
    assert_eq!(get(port, "/", "").0, 200);
    // `ps -q` gives only ids docker can take: none for the proxy, a process.
    let sorted = |s: String| {
        let mut l: Vec<String> = s.lines().map(String::from).collect();
        l.sort();
        l
    };
    assert_eq!(sorted(p.ok(&["ps", "-q"])), sorted(p.compose(&["ps", "-q"]).1));
    p.ok(&["down"]);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn a_detached_proxy_ends_when_another_tool_removes_its_project() {
    let port = free_port();
    let p = TestProject::new("orphaned", &stack(port, "./nginx.conf:/etc/nginx/nginx.conf:ro"));
    site_with_nginx_conf(&p);
    p.ok(&["up", "-d"]);
    assert_eq!(get(port, "/", "").0, 200);
    // docker compose's down knows nothing of the proxy; the proxy notices.
    let (code, _, err) = p.compose(&["down", "-t", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        eventually(20, || TcpStream::connect(("127.0.0.1", port)).is_err()),
        "the proxy kept the port after its project was removed"
    );
}

#[test]
fn roots_must_be_mounted_and_the_real_container_can_be_chosen() {
    let port = free_port();
    let p = TestProject::new("unmounted", &stack(port, "./nginx.conf:/etc/nginx/nginx.conf:ro"));
    site(&p);
    p.write("nginx.conf", "events { }\nhttp {\n  server {\n    listen 80;\n    location / { root /usr/share/nginx/html; }\n  }\n}\n");
    // The nginx image holds what no volume brings: its own container serves it
    // (here its image cannot be pulled: there is no registry).
    let (code, _, err) = p.run(&["up", "-d", "--pull", "never"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("nginx.conf:5:5")
            && err.contains("/usr/share/nginx/html")
            && err.contains("no volume of the service mounts it")
            && err.contains("service web runs in its nginx container instead")
            && err.contains("image nginx:1.25 is not present"),
        "{err}"
    );
    assert!(p.containers().is_empty(), "nothing is created when an image is missing");
    // A directive nginx does not know either is refused before any container starts.
    p.write("nginx.conf", UNHONOURED_CONF);
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_ne!(code, 0);
    assert_names_the_unhonoured_directive(&err);
    assert!(p.containers().is_empty(), "{:?}", p.containers());
    // --no-builtin-proxy runs nginx as a container: its image must come from a registry.
    let (code, _, err) = p.run(&["up", "-d", "--no-builtin-proxy", "--pull", "never"]);
    assert_ne!(code, 0);
    assert!(err.contains("service web: image nginx:1.25 is not present"), "{err}");
}

#[test]
fn a_configuration_with_what_only_nginx_does_runs_in_the_nginx_container() {
    // Something the built-in proxy does not do (SSI here): the service
    // runs as docker compose runs it, in its nginx container. A stand-in
    // image named nginx serves a page of its own.
    let port = free_port();
    let image = format!("rct-fallback/nginx:{}", std::process::id());
    let p = TestProject::new(
        "fallback",
        &format!(
            "services:\n  web:\n    image: {image}\n    build: ./fake\n    ports: [\"127.0.0.1:{port}:80\"]\n    volumes:\n      - ./nginx.conf:/etc/nginx/nginx.conf:ro\n"
        ),
    );
    p.write("fake/Dockerfile", &format!("FROM {BUSYBOX}\nCOPY www /www\nCMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n"));
    p.write("fake/www/index.html", "the nginx container\n");
    p.write(
        "nginx.conf",
        "events { }\nhttp {\n  server {\n    listen 80;\n    location / {\n      ssi on;\n    }\n  }\n}\n",
    );
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("nginx.conf:6:7")
            && err.contains("service web runs in its nginx container instead"),
        "{err}"
    );
    assert!(!err.contains("--no-builtin-proxy"), "rcompose acted on the hint itself: {err}");
    assert!(
        eventually(30, || get(port, "/", "").2 == "the nginx container\n"),
        "the container did not serve"
    );
    let ps = p.ok(&["ps"]);
    assert!(ps.contains(&format!("{}-web-1", p.name)) && !ps.contains("built-in proxy"), "{ps}");
    // Its lifecycle is the container's.
    p.ok(&["stop", "web"]);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    p.ok(&["start", "web"]);
    assert!(eventually(30, || get(port, "/", "").2 == "the nginx container\n"));
    p.ok(&["down"]);
    assert!(p.containers().is_empty());
    let _ = common::docker_ok(&["rmi", "-f", &image]);
}

#[test]
fn detached_proxy_with_restart_always_comes_back_when_killed() {
    let port = free_port();
    let compose = stack(port, "./nginx.conf:/etc/nginx/nginx.conf:ro")
        .replace("    image: nginx:1.25\n", "    image: nginx:1.25\n    restart: always\n");
    let p = TestProject::new("restarting", &compose);
    site_with_nginx_conf(&p);
    p.ok(&["up", "-d"]);
    assert_eq!(get(port, "/", "").0, 200);
    let state_dir =
        std::env::var("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state")).unwrap();
    let state_dir =
        std::env::var("XDG_STATE_HOME").map(std::path::PathBuf::from).unwrap_or(state_dir);
    let state_file = state_dir.join("rcompose").join(&p.name).join("web.json");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let server_pid = state["server_pid"].as_u64().unwrap();
    assert_ne!(server_pid, state["pid"].as_u64().unwrap(), "a supervisor serves through a child");
    Command::new("kill").args(["-KILL", &server_pid.to_string()]).status().unwrap();
    assert!(
        eventually(20, || {
            let now: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap_or_default())
                    .unwrap_or_default();
            now["server_pid"].as_u64().is_some_and(|p| p != server_pid)
                && get(port, "/", "").0 == 200
        }),
        "the proxy did not come back after its process was killed"
    );
    let logs = p.ok(&["logs", "web"]);
    assert!(logs.contains("restarting (restart: always)"), "{logs}");
    // Started again with a configuration it cannot serve: the error, located, at
    // once; not a supervisor restarting a child that fails, nor a timeout.
    p.ok(&["stop", "web"]);
    p.write("nginx.conf", UNHONOURED_CONF);
    let (code, _, err) = p.run(&["start", "web"]);
    assert_ne!(code, 0);
    assert_names_the_unhonoured_directive(&err);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens");
    p.write("nginx.conf", &nginx_conf());
    p.ok(&["start", "web"]);
    assert_eq!(get(port, "/", "").0, 200);
    // The supervisor killed, its serving child goes on alone; down, with no
    // grace at all, still stops it.
    let now: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let pids = [now["pid"].as_u64().unwrap(), now["server_pid"].as_u64().unwrap()];
    Command::new("kill").args(["-KILL", &pids[0].to_string()]).status().unwrap();
    assert_eq!(get(port, "/", "").0, 200, "the orphaned child serves");
    p.ok(&["down", "-t", "0"]);
    let gone = |pid: u64| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    };
    assert!(
        eventually(5, || pids.iter().all(|&p| gone(p))),
        "proxy processes {pids:?} outlived down -t 0"
    );
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// rcompose run as where container addresses are out of reach (Docker Desktop).
fn via_ports(p: &TestProject, args: &[&str]) -> std::process::Output {
    p.rc(args).env("RCOMPOSE_UPSTREAM_VIA", "ports").output().unwrap()
}

#[test]
fn upstreams_through_loopback_ports_where_containers_are_out_of_reach() {
    // Docker Desktop's situation, chosen explicitly on Linux.
    let port = free_port();
    let p = TestProject::new("viaports", &stack(port, "./nginx.conf:/etc/nginx/nginx.conf:ro"));
    site_with_nginx_conf(&p);
    let out = via_ports(&p, &["up", "-d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // api publishes nothing itself; an ephemeral loopback port was published for the proxy.
    let mapping = docker(&["port", &format!("{}-api-1", p.name), "7000/tcp"]);
    assert!(mapping.starts_with("127.0.0.1:"), "{mapping}");
    assert_eq!(get(port, "/api/hello.txt", "").2, "hello from api\n");
    // Stopped, it answers 502 at once here too.
    docker(&["stop", "-t", "0", &format!("{}-api-1", p.name)]);
    assert!(eventually(5, || get(port, "/api/hello.txt", "").0 == 502));
    let out = via_ports(&p, &["down"]);
    assert!(out.status.success());
}

#[test]
fn a_scaled_upstream_through_loopback_ports_goes_round_every_container() {
    let port = free_port();
    let p = TestProject::new("scaledports", &stack(port, "./nginx.conf:/etc/nginx/nginx.conf:ro"));
    scaled_api(&p);
    let out = via_ports(&p, &["up", "-d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for n in 1..=2 {
        let mapping = docker(&["port", &format!("{}-api-{n}", p.name), "7000/tcp"]);
        assert!(mapping.starts_with("127.0.0.1:"), "replica {n}: {mapping}");
    }
    for path in ["/api/who.txt", "/blk/who.txt"] {
        let who: std::collections::BTreeSet<String> =
            (0..6).map(|_| get(port, path, "").2).collect();
        assert_eq!(who.len(), 2, "{path}: one replica took every request: {who:?}");
    }
    // One stopped: its port leaves the turn, and the other takes every request at once.
    docker(&["stop", "-t", "0", &format!("{}-api-2", p.name)]);
    assert!(eventually(5, || (0..4).all(|_| get(port, "/api/who.txt", "").0 == 200)));
    let out = via_ports(&p, &["down"]);
    assert!(out.status.success());
}

#[test]
fn a_proxy_whose_dependency_turns_unhealthy_is_not_started() {
    let port = free_port();
    let compose = stack(port, "./nginx.conf:/etc/nginx/nginx.conf:ro").replace(
        "      test: [\"CMD\", \"true\"]\n",
        "      test: [\"CMD\", \"false\"]\n      retries: 1\n",
    );
    let p = TestProject::new("unhealthydep", &compose);
    site_with_nginx_conf(&p);
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("service web: dependency failed to start") && err.contains("api"),
        "{err}"
    );
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the proxy must not listen");
    assert!(!p.ok(&["ps"]).contains("built-in proxy"), "no proxy process is left running");
    p.ok(&["down", "-t", "0"]);
    assert!(p.containers().is_empty());
}

/// api as two replicas that each serve their own host name at /who.txt,
/// reached by name at /api/ and through an upstream block at /blk/.
fn scaled_api(p: &TestProject) {
    site(p);
    // As the example: a block of one server name, and a name in proxy_pass.
    p.write(
        "nginx.conf",
        &format!(
            "events {{ }}\nhttp {{\nupstream apis {{ server api:7000; }}\n{}}}\n",
            SITE_CONF.replace(
                "location /api/",
                "location /blk/ { proxy_pass http://apis/; }\n    location /api/"
            )
        ),
    );
    // api made two replicas that each serve their own host name.
    p.write(
        "docker-compose.override.yml",
        r#"services:
  api:
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/who.txt && httpd -p 7000 -h /www && trap 'exit 0' TERM && sleep 100000 & wait"]
    volumes: !reset []
    deploy: {replicas: 2}
    healthcheck:
      test: ["CMD", "test", "-e", "/www/who.txt"]
"#,
    );
}

#[test]
fn requests_go_round_the_containers_of_a_scaled_upstream() {
    let port = free_port();
    let p = TestProject::new("scaledapi", &stack(port, "./nginx.conf:/etc/nginx/nginx.conf:ro"));
    scaled_api(&p);
    let out = p.rc(&["up", "-d"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Both replicas were waited for before the proxy started.
    for n in 1..=2 {
        assert_eq!(
            p.inspect(&format!("{}-api-{n}", p.name), "{{.State.Health.Status}}"),
            "healthy",
            "{err}"
        );
    }
    let who: std::collections::BTreeSet<String> =
        (0..6).map(|_| get(port, "/api/who.txt", "").2).collect();
    assert_eq!(who.len(), 2, "one replica took every request: {who:?}");
    let who: std::collections::BTreeSet<String> =
        (0..6).map(|_| get(port, "/blk/who.txt", "").2).collect();
    assert_eq!(who.len(), 2, "through an upstream block too: {who:?}");
    // One that runs but refuses connections: as nginx, the next address is
    // tried, and the failed one is left out for fail_timeout (10s), so it
    // fails once, not on every other request.
    let second = format!("{}-api-2", p.name);
    docker(&["exec", &second, "killall", "httpd"]);
    for path in ["/api/who.txt", "/blk/who.txt"] {
        let answers: Vec<(u16, String, String)> = (0..6).map(|_| get(port, path, "")).collect();
        assert!(answers.iter().all(|a| a.0 == 200), "{path}: {answers:?}");
        assert_eq!(
            answers.iter().map(|a| &a.2).collect::<std::collections::BTreeSet<_>>().len(),
            1,
            "{answers:?}"
        );
    }
    let logs =
        String::from_utf8_lossy(&p.rc(&["logs", "web"]).output().unwrap().stdout).to_string();
    let refused = logs
        .lines()
        .filter(|l| l.contains("connect() to") && l.contains("111: Connection refused"))
        .count();
    assert_eq!(
        refused, 2,
        "one failure per address group (the name, and the block's server):\n{logs}"
    );
    // One stopped, the other takes every request.
    docker(&["stop", "-t", "0", &format!("{}-api-2", p.name)]);
    assert!(eventually(5, || (0..4).all(|_| get(port, "/api/who.txt", "").0 == 200)));
    assert!(p.rc(&["down"]).output().unwrap().status.success());
}

#[test]
fn the_nginx_images_templates_are_rendered_with_the_services_environment() {
    let port = free_port();
    let compose = stack(port, "./templates:/etc/nginx/templates:ro").replace(
        "    ports: [\"127.0.0.1",
        "    environment:\n      API_HOST: api\n      API_PORT: \"7000\"\n    ports: [\"127.0.0.1",
    );
    let p = TestProject::new("templates", &compose);
    site(&p);
    // As the image's docs write it: ${VAR} and $VAR of the environment, nginx's own untouched.
    p.write(
        "templates/default.conf.template",
        "server {\n    listen 80;\n    root /srv/site;\n    set $unused $uri;\n    location / { try_files $uri /index.html; }\n    location /api/ { proxy_pass http://${API_HOST}:$API_PORT/; }\n}\n",
    );
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("built-in proxy"), "served in-process: {err}");
    assert!(eventually(30, || get(port, "/api/hello.txt", "").0 == 200), "{err}");
    assert_eq!(get(port, "/api/hello.txt", "").2, "hello from api\n");
    assert_eq!(get(port, "/deep/link", "").2, "<h1>site</h1>\n");

    // With an entrypoint of its own the service stays an nginx container (not started here:
    // `config` shows the decision without an nginx image).
    let custom = compose.replace(
        "    image: nginx:1.25\n",
        "    image: nginx:1.25\n    entrypoint: [\"/custom.sh\"]\n",
    );
    assert!(!rcompose::orchestrate::builtin::select::is_builtin_proxy(
        &rcompose::compose::load(&rcompose::compose::LoadOptions {
            stdin: Some(custom),
            files: vec!["-".into()],
            project_name: Some("t".into()),
            project_directory: Some(p.dir.path().to_path_buf()),
            ..Default::default()
        })
        .unwrap()
        .project
        .services["web"],
        false
    ));
}

#[test]
fn port_kill_and_pause_know_the_built_in_proxy() {
    let port = free_port();
    let p = TestProject::new("proxy-ops", &stack(port, "./nginx.conf:/etc/nginx/nginx.conf:ro"));
    site_with_nginx_conf(&p);
    p.ok(&["up", "-d"]);
    assert_eq!(get(port, "/", "").0, 200);
    // port: where the proxy listens for the service's port 80.
    assert_eq!(p.ok(&["port", "web", "80"]).trim(), format!("127.0.0.1:{port}"));
    // pause: refused with the reason, and the proxy goes on serving.
    let (code, _, err) = p.run(&["pause", "web"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("served by the built-in proxy") && err.contains("rcompose stop web"),
        "{err}"
    );
    assert_eq!(get(port, "/", "").0, 200);
    // logs: the proxy's lines, held to --since/--until and stamped for -t, as a container's.
    assert!(eventually(5, || p.ok(&["logs", "web"]).contains("\"GET / HTTP/1.1\" 200")));
    let stamped = p.ok(&["logs", "-t", "web"]);
    assert!(stamped.lines().any(|l| l.contains("Z 127.0.0.1 - - [")), "{stamped}");
    assert!(p.ok(&["logs", "--since", "10m", "web"]).contains("GET / HTTP/1.1"));
    assert!(!p.ok(&["logs", "--until", "2000-01-01T00:00:00Z", "web"]).contains("GET / HTTP/1.1"));
    // top: the proxy's process among the containers'.
    let top = p.ok(&["top"]);
    assert!(top.lines().any(|l| l.starts_with("web") && l.contains("proxy-daemon")), "{top}");
    // kill: the signal reaches the proxy, which is gone after it.
    p.ok(&["kill", "web"]);
    assert!(eventually(10, || TcpStream::connect(("127.0.0.1", port)).is_err()), "still serving");
    // rm -s stops it (it has no container to remove).
    p.ok(&["up", "-d"]);
    assert_eq!(get(port, "/", "").0, 200);
    p.ok(&["rm", "-s", "-f", "web"]);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "rm -s left the proxy serving");
    p.ok(&["down"]);
}
