//! rcompose against Podman's Docker-compatible service instead of Docker:
//! the example stack up, listed, logged, exec'd into and down, and a
//! healthy-dependency chain, which Podman cannot run without systemd unless
//! rcompose runs the checks (see src/engine/podman.rs).
//!
//! Podman comes from Debian (installed when missing) and runs as its own
//! service, on its own socket, with its own storage under a temporary
//! folder, so neither Docker nor a Podman the machine already has is
//! touched. Its containers.conf names runc, and default limits this host
//! lets it set: Podman's defaults (1048576) need CAP_SYS_RESOURCE, which a
//! sandbox may not grant. The test images are built by Docker and loaded
//! into Podman (there is no registry to pull from). One test, serially.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::output_text as text;

/// Podman's service for the test's length, and everything it stored.
struct Podman {
    dir: tempfile::TempDir,
    service: std::process::Child,
    socket: PathBuf,
}

impl Podman {
    fn start() -> Podman {
        if Command::new("podman").arg("--version").output().is_err() {
            let _ = Command::new("apt-get").arg("update").output();
            let o =
                Command::new("apt-get").args(["install", "-y", "podman", "runc"]).output().unwrap();
            assert!(o.status.success(), "cannot install podman: {}", text(&o));
        }
        let dir = tempfile::Builder::new().prefix("rcompose-podman").tempdir().unwrap();
        std::fs::write(dir.path().join("containers.conf"), containers_conf()).unwrap();
        let socket = dir.path().join("podman.sock");
        let service = Command::new("podman")
            .args(Self::storage(dir.path()))
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .env("CONTAINERS_CONF", dir.path().join("containers.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("service.log")).unwrap())
            .spawn()
            .expect("podman system service starts");
        let p = Podman { dir, service, socket };
        assert!(
            common::eventually(30, || p.docker(&["version"]).status.success()),
            "podman's service did not answer on {}",
            p.socket.display()
        );
        p
    }

    fn storage(dir: &Path) -> Vec<String> {
        vec![
            "--root".into(),
            dir.join("root").display().to_string(),
            "--runroot".into(),
            dir.join("run").display().to_string(),
        ]
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The docker CLI, talking to Podman.
    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker").env("DOCKER_HOST", self.host()).args(args).output().unwrap()
    }

    /// Copies Docker's images into Podman's storage.
    fn load(&self, images: &[&str]) {
        let script =
            format!("docker save {} | DOCKER_HOST={} docker load", images.join(" "), self.host());
        let o = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }

    fn rc(&self, dir: &Path, args: &[&str]) -> Output {
        common::rcompose()
            .current_dir(dir)
            .env("DOCKER_HOST", self.host())
            .env("NO_COLOR", "1")
            .args(["--progress", "plain"])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Whatever a failed run left: containers first, so their ports go.
        let ids = self.docker(&["ps", "-aq"]);
        let ids: Vec<String> =
            String::from_utf8_lossy(&ids.stdout).split_whitespace().map(String::from).collect();
        if !ids.is_empty() {
            let _ = self.docker(
                &[&["rm", "-f", "-v"][..], &ids.iter().map(String::as_str).collect::<Vec<_>>()]
                    .concat(),
            );
        }
        for net in ["rcpodman_default", "rcpodchain_default"] {
            let _ = self.docker(&["network", "rm", net]);
        }
        let _ = self.service.kill();
        let _ = self.service.wait();
        let _ = Command::new("podman")
            .args(Self::storage(self.dir.path()))
            .args(["system", "reset", "--force"])
            .env("CONTAINERS_CONF", self.dir.path().join("containers.conf"))
            .output();
    }
}

/// runc, and limits within this process's own hard limits (which the
/// service inherits) and the kernel's pid_max, which Podman caps nproc at.
fn containers_conf() -> String {
    let limit = |name: &str| -> u64 {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = limits.lines().find(|l| l.starts_with(name)).unwrap();
        line[name.len()..]
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768);
    let nofile = limit("Max open files").min(1 << 20);
    let nproc = limit("Max processes").min(pid_max) / 2;
    format!(
        "[containers]\ndefault_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc={nproc}:{nproc}\"]\n[engine]\nruntime = \"runc\"\n"
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn the_example_and_a_healthy_chain_run_on_podman() {
    common::ensure_python_image();
    common::ensure_mongo_standin();
    let podman = Podman::start();
    podman.load(&["python:3.11-slim", "mongo:7.0.5", common::BUSYBOX]);
    let work = tempfile::tempdir().unwrap();
    let example = work.path().join("example");
    copy_dir(&common::repo_root().join("examples/fastapi-mongo"), &example);
    let rc = |args: &[&str]| {
        podman.rc(&example, &["-p", "rcpodman"].iter().chain(args).copied().collect::<Vec<_>>())
    };

    // up: built by Podman's builder, started, served by the built-in proxy.
    let o = rc(&["up", "-d"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Proxy proxyserver  Started (built-in proxy on 0.0.0.0:1000"),
        "{}",
        text(&o)
    );
    common::assert_example_answers(1000, 60);
    // Named and labelled as docker compose names them, on Podman too.
    let labels =
        text(&podman.docker(&["inspect", "--format", "{{json .Config.Labels}}", "fastapi"]));
    assert!(labels.contains("\"com.docker.compose.project\":\"rcpodman\""), "{labels}");
    assert!(labels.contains("\"com.docker.compose.service\":\"fastapi\""), "{labels}");

    // ps: the services, with the published ports Podman's list leaves unaddressed.
    let o = rc(&["ps"]);
    let ps = text(&o);
    assert!(o.status.success(), "{ps}");
    for (name, port) in
        [("fastapi", "0.0.0.0:7000->7000/tcp"), ("mongodb", "0.0.0.0:27017->27017/tcp")]
    {
        let line = ps.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{ps}"));
        assert!(line.contains("Up ") && line.contains(port), "{ps}");
    }
    assert!(ps.contains("(built-in proxy)"), "{ps}");

    // logs, and exec with the command's exit code.
    assert!(
        common::eventually(30, || text(&rc(&["logs", "fastapi"]))
            .contains("Application startup complete")),
        "{}",
        text(&rc(&["logs", "fastapi"]))
    );
    let o = rc(&["exec", "-T", "fastapi", "python3", "-c", "print(6 * 7)"]);
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stdout).trim()),
        (Some(0), "42"),
        "{}",
        text(&o)
    );
    let o = rc(&["exec", "-T", "mongodb", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));

    // up again: nothing recreated (docker compose recreates on Podman every time).
    let o = rc(&["up", "-d"]);
    let again = text(&o);
    assert!(o.status.success(), "{again}");
    assert!(again.contains("Container fastapi  Running") && !again.contains("Recreate"), "{again}");

    // A chain: app waits for db to be healthy, which on Podman without
    // systemd happens only because rcompose runs db's checks.
    let chain = work.path().join("chain");
    std::fs::create_dir_all(&chain).unwrap();
    std::fs::write(
        chain.join("compose.yaml"),
        format!(
            "services:\n  db:\n    image: {bb}\n    command: ['sh', '-c', 'sleep 2; touch /tmp/ready; exec sleep 1000']\n    healthcheck: {{test: ['CMD', 'test', '-f', '/tmp/ready'], interval: 1s, retries: 30}}\n  app:\n    image: {bb}\n    command: ['sleep', '1000']\n    depends_on: {{db: {{condition: service_healthy}}}}\n",
            bb = common::BUSYBOX
        ),
    )
    .unwrap();
    let o = podman.rc(&chain, &["-p", "rcpodchain", "up", "-d", "--wait", "--wait-timeout", "60"]);
    let up = text(&o);
    assert!(o.status.success(), "{up}");
    let healthy = up.find("Container rcpodchain-db-1  Healthy").expect(&up);
    assert!(healthy < up.find("Container rcpodchain-app-1  Started").expect(&up), "{up}");
    let health = text(&podman.docker(&[
        "inspect",
        "--format",
        "{{.State.Health.Status}}",
        "rcpodchain-db-1",
    ]));
    assert_eq!(health.trim(), "healthy");

    // down: every container and network of the project gone.
    for (dir, project) in [(&chain, "rcpodchain"), (&example, "rcpodman")] {
        let o = podman.rc(dir, &["-p", project, "down", "-t", "1"]);
        assert!(o.status.success(), "{project}: {}", text(&o));
        let label = format!("label=com.docker.compose.project={project}");
        let left = text(&podman.docker(&["ps", "-aq", "--filter", &label]));
        assert!(left.trim().is_empty(), "{project}: {left}");
        let nets = text(&podman.docker(&["network", "ls", "-q", "--filter", &label]));
        assert!(nets.trim().is_empty(), "{project}: {nets}");
    }
}
