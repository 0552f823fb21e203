//! The everyday commands beside docker compose on the same project:
//! output, streams and exit codes compared.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{BUSYBOX, TestProject};

fn stack() -> String {
    format!(
        r#"services:
  web:
    image: {BUSYBOX}
    command: sleep 3600
    init: true
    environment:
      FROM_FILE: "yes"
  worker:
    image: {BUSYBOX}
    command: sleep 3600
    init: true
    scale: 2
"#
    )
}

/// Runs `cmd` with `input` on its standard input: (status, stdout, stderr).
fn with_input(mut cmd: Command, input: &str) -> (i32, String, String) {
    let mut child = cmd
        .env("FOO", "from-shell")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn docker_compose(p: &TestProject, args: &[&str]) -> Command {
    common::ensure_compose_v2();
    let mut c = Command::new("docker");
    c.current_dir(p.dir.path()).args(["compose", "-p", &p.name]).args(args);
    c
}

#[test]
fn exec_passes_streams_input_and_exit_codes_as_docker_compose_does() {
    common::ensure_busybox();
    let p = TestProject::new("exec", &stack());
    p.ok(&["up", "-d"]);
    let script =
        r#"cat; echo "[$FOO] [$X] [$FROM_FILE] $(id -u) $(pwd)"; echo to-stderr >&2; exit 3"#;
    let cases: &[&[&str]] = &[
        &["exec", "-T", "web", "sh", "-c", script],
        &[
            "exec", "-T", "-e", "FOO", "-e", "X=1", "-u", "1000", "-w", "/tmp", "web", "sh", "-c",
            script,
        ],
        &["exec", "-T", "--index", "2", "worker", "hostname"],
        &["exec", "-T", "--index", "3", "worker", "true"],
        &["exec", "-T", "nope", "true"],
    ];
    for args in cases {
        let (rc, rout, rerr) = with_input(p.rc(args), "line one\n");
        let (dc, dout, derr) = with_input(docker_compose(&p, args), "line one\n");
        assert_eq!(rc, dc, "{args:?}: exit {rc} vs docker compose {dc}\n{rerr}\n{derr}");
        // Container ids (hostname) differ per container, not per tool.
        assert_eq!(rout, dout, "{args:?}: stdout");
        if rc == 3 {
            assert_eq!(rerr, derr, "{args:?}: stderr, apart from stdout");
        }
    }
    // Detached: started and left to run; its work is seen afterwards.
    p.ok(&["exec", "-d", "web", "sh", "-c", "touch /tmp/detached"]);
    assert!(common::eventually(10, || p
        .run(&["exec", "-T", "web", "test", "-f", "/tmp/detached"])
        .0
        == 0));
    // Not running: an error, exit 1, both.
    p.ok(&["stop", "-t", "0", "web"]);
    let (rc, _, rerr) = p.run(&["exec", "-T", "web", "true"]);
    let (dc, _, _) = docker_compose(&p, &["exec", "-T", "web", "true"])
        .output()
        .map(|o| (o.status.code().unwrap_or(-1), (), ()))
        .unwrap();
    assert_eq!((rc, dc), (1, 1), "{rerr}");
    assert!(rerr.contains("service \"web\" is not running"), "{rerr}");
}

#[test]
fn exec_hands_a_terminal_on_when_it_has_one() {
    common::ensure_busybox();
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to make a terminal with");
        return;
    }
    let p = TestProject::new("exec-tty", &stack());
    p.ok(&["up", "-d", "web"]);
    // `script` gives the command a pseudo-terminal: exec allocates a TTY in the container.
    let rc = common::rcompose();
    let line = format!(
        "{} --progress plain -p {} exec web sh -c 'tty; exit 5'; echo status=$?",
        rc.get_program().to_string_lossy(),
        p.name
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(p.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/dev/pts/"), "no TTY in the container: {text}");
    assert!(text.contains("status=5"), "the exit status did not pass through: {text}");
}
