//! Hostile compose files and nginx configurations (issue 31, items 9-16):
//! each is refused with a located error and a non-zero exit, within bounded
//! memory and time, and leaves nothing behind on the engine. Every input is
//! generated here; each test asserts what docker compose or nginx does with
//! it, or the bound.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{BUSYBOX, TestProject};

/// Runs a command, killing it if it outlives `secs` (a hang is a failure,
/// reported as such rather than as a test run that never ends).
fn bounded(mut cmd: Command, secs: u64) -> Output {
    let child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{cmd:?} did not finish within {secs} s");
        }
    }
}

/// The peak resident memory of a command, in MiB, by GNU time.
fn peak_mib(cmd: &Command) -> (Output, u64) {
    if Command::new("/usr/bin/time").arg("true").output().is_err() {
        let _ = Command::new("apt-get").args(["install", "-y", "time"]).output();
    }
    let mut timed = Command::new("/usr/bin/time");
    timed.args(["-f", "maxrss=%M"]).arg(cmd.get_program()).args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        timed.current_dir(d);
    }
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            timed.env(k, v);
        }
    }
    let out = bounded(timed, 120);
    let err = String::from_utf8_lossy(&out.stderr);
    let kib: u64 = err
        .rsplit("maxrss=")
        .next()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss in {err}"));
    (out, kib / 1024)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `config`, `up -d` and `down` all refuse the project with `needle` in a
/// located error, and the engine holds nothing of it afterwards.
#[track_caller]
fn refused_everywhere(p: &TestProject, needle: &str) {
    for args in [&["config", "-q"][..], &["up", "-d"], &["down"]] {
        let out = bounded(p.rc(args), 60);
        let err = text(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?} accepted it:\n{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            err.contains("docker-compose.yml:") || err.contains(".env:") || err.contains(".yml:"),
            "{args:?}: not located: {err}"
        );
        assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{args:?}: {err}");
    }
    let f = p.label_filter();
    for kind in [&["ps", "-aq"][..], &["network", "ls", "-q"], &["volume", "ls", "-q"]] {
        let mut args = kind.to_vec();
        args.extend(["--filter", &f]);
        assert_eq!(common::docker(&args), "", "{kind:?} left behind");
    }
}

#[test]
fn alias_bombs_are_refused_in_bounded_memory() {
    let mut yml = String::from("x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        yml.push_str(&format!("x-a{i}: &a{i} [{}]\n", vec![p; 10].join(", ")));
    }
    yml.push_str(&format!("services:\n  web:\n    image: {BUSYBOX}\n"));
    let p = TestProject::new("aliasbomb", &yml);
    let (out, mib) = peak_mib(&p.rc(&["config", "-q"]));
    assert!(text(&out.stderr).contains("excessive aliasing"), "{}", text(&out.stderr));
    assert!(mib < 200, "peak {mib} MiB");
    // (docker compose 2.40 expands it: six levels took it over a minute and 1.5 GB.)
    refused_everywhere(&p, "excessive aliasing");
}

#[test]
fn interpolation_is_bounded_in_depth_and_size() {
    let depth = 100_000;
    let yml = format!(
        "services:\n  web:\n    image: {BUSYBOX}\n    environment:\n      A: \"{}x{}\"\n",
        "${A:-".repeat(depth),
        "}".repeat(depth)
    );
    let p = TestProject::new("deepinterp", &yml);
    let (out, mib) = peak_mib(&p.rc(&["config", "-q"]));
    assert!(text(&out.stderr).contains("deeper than 32 levels"), "{}", text(&out.stderr));
    assert!(mib < 200, "peak {mib} MiB");
    refused_everywhere(&p, "deeper than 32 levels");

    // A .env whose values double at each line: refused at the line that passes 1 MiB.
    let q = TestProject::new(
        "doubling",
        &format!("services:\n  web:\n    image: {BUSYBOX}\n    environment: [\"V=${{A39}}\"]\n"),
    );
    let mut env = String::from("A0=0123456789abcdef\n");
    for i in 1..40 {
        env.push_str(&format!("A{i}=${{A{p}}}${{A{p}}}\n", p = i - 1));
    }
    q.write(".env", &env);
    let (out, mib) = peak_mib(&q.rc(&["config", "-q"]));
    let err = text(&out.stderr);
    assert!(err.contains(".env:18:") && err.contains("longer than 1048576 bytes"), "{err}");
    assert!(mib < 200, "peak {mib} MiB");
    refused_everywhere(&q, "longer than 1048576 bytes");
}

#[test]
fn env_files_are_regular_files_only() {
    for (name, source) in [("zero", "/dev/zero"), ("urandom", "/dev/urandom")] {
        let p = TestProject::new(
            &format!("envfile-{name}"),
            &format!("services:\n  web:\n    image: {BUSYBOX}\n    env_file: {source}\n"),
        );
        refused_everywhere(&p, "not a regular file");
    }
    let p = TestProject::new(
        "envfile-fifo",
        &format!("services:\n  web:\n    image: {BUSYBOX}\n    env_file: ./pipe\n"),
    );
    let fifo = p.dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    refused_everywhere(&p, "a named pipe, not a regular file");
    // The project's own .env too, and --env-file.
    let q = TestProject::new("dotenv-fifo", &format!("services:\n  web:\n    image: {BUSYBOX}\n"));
    assert!(Command::new("mkfifo").arg(q.dir.path().join(".env")).status().unwrap().success());
    refused_everywhere(&q, "a named pipe");
    let out = bounded(q.rc(&["--env-file", "/dev/zero", "config", "-q"]), 60);
    assert!(text(&out.stderr).contains("a device, not a regular file"), "{}", text(&out.stderr));
}

#[test]
fn a_hundred_thousand_variables_load_in_linear_time() {
    let mut yml = format!("services:\n  web:\n    image: {BUSYBOX}\n    environment:\n");
    for i in 0..100_000 {
        yml.push_str(&format!("      VARIABLE_{i}: value-{i}\n"));
    }
    let p = TestProject::new("bigenv", &yml);
    // Quadratic, this took minutes (25 s in a release build); linear, about a second.
    let out = bounded(p.rc(&["config", "--format", "json"]), 60);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["services"]["web"]["environment"].as_object().unwrap().len(), 100_000);
}

#[test]
fn names_the_specification_forbids_are_refused_where_they_are_written() {
    for (i, name) in ["a/b", "../../etc", "w\u{e9}b\u{202e}"].iter().enumerate() {
        let p = TestProject::new(
            &format!("badname{i}"),
            &format!("services:\n  \"{name}\":\n    image: {BUSYBOX}\n    command: sleep 1\n"),
        );
        refused_everywhere(&p, "invalid service name");
        let out = bounded(p.rc(&["config", "-q"]), 60);
        assert!(text(&out.stderr).contains("docker-compose.yml:2:3:"), "{}", text(&out.stderr));
        let (code, _, _) = p.compose(&["config", "-q"]);
        assert_ne!(code, 0, "docker compose refuses {name:?} too");
    }
    for section in ["volumes", "secrets", "configs"] {
        let p = TestProject::new(
            &format!("badname-{section}"),
            &format!("services:\n  web:\n    image: {BUSYBOX}\n{section}:\n  \"a/b\": {{}}\n"),
        );
        refused_everywhere(&p, "invalid");
    }
}

#[test]
fn an_included_file_with_a_misspelt_top_level_key_is_refused() {
    let p = TestProject::new(
        "includetypo",
        &format!("include: [other.yml]\nservices:\n  web:\n    image: {BUSYBOX}\n"),
    );
    p.write("other.yml", &format!("servics:\n  db:\n    image: {BUSYBOX}\n"));
    let out = bounded(p.rc(&["config", "-q"]), 60);
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err.contains("other.yml:1:1: servics: unknown top-level key `servics`")
            && err.contains("did you mean `services`"),
        "{err}"
    );
    let (code, _, _) = p.compose(&["config", "-q"]);
    assert_ne!(code, 0, "docker compose refuses it too");
}

/// A project whose nginx service mounts `conf`, so `up` reads it.
fn nginx_project(test: &str, conf: &str) -> TestProject {
    let port = common::free_port();
    let p = TestProject::new(
        test,
        &format!(
            "services:\n  web:\n    image: nginx:1.25\n    ports: [\"127.0.0.1:{port}:80\"]\n    volumes: [\"./nginx.conf:/etc/nginx/nginx.conf:ro\"]\n"
        ),
    );
    p.write("nginx.conf", conf);
    p
}

fn proxy_t(conf: &std::path::Path) -> Output {
    let mut c = common::rcompose();
    c.args(["proxy", "-t", "-c"]).arg(conf);
    bounded(c, 60)
}

#[test]
fn deeply_nested_configurations_are_located_errors_not_crashes() {
    for (i, conf) in [
        format!(
            "events {{}}\nhttp {{ server {{ listen 80; {} }} }}\n",
            "location /a { ".repeat(3850) + &"} ".repeat(3850)
        ),
        format!("events {{}}\n{}", "http {\n".repeat(16_400)),
    ]
    .iter()
    .enumerate()
    {
        let p = nginx_project(&format!("deepconf{i}"), conf);
        let out = proxy_t(&p.dir.path().join("nginx.conf"));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("nginx.conf:") && err.contains("blocks nest deeper than 64 levels"),
            "{err}"
        );
        // Through `up` too: refused before anything is made.
        let out = bounded(p.rc(&["up", "-d"]), 60);
        let err = text(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("deeper than 64"), "{err}");
        assert_eq!(common::docker(&["network", "ls", "-q", "--filter", &p.label_filter()]), "");
    }
}

#[test]
fn includes_of_devices_pipes_and_non_configurations() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    let with = |inc: &str| {
        std::fs::write(&conf, format!("events {{}}\nhttp {{\n  include {inc};\n}}\n")).unwrap();
        let out = proxy_t(&conf);
        (out.status.code(), text(&out.stderr))
    };
    for dev in ["/dev/zero", "/dev/urandom"] {
        let (code, err) = with(dev);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains("nginx.conf:3:3") && err.contains("a device, not a regular file"),
            "{err}"
        );
    }
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (code, err) = with(fifo.to_str().unwrap());
    assert_eq!(code, Some(1));
    assert!(err.contains("named pipe"), "{err}");
    // A password file: where it fails, never what it holds.
    let passwd = dir.path().join("passwd");
    std::fs::write(
        &passwd,
        "root:x:0:0:root:/root:/bin/bash\nadmin:$apr1$QeN1$0123secretHashValue/\n",
    )
    .unwrap();
    let (code, err) = with(passwd.to_str().unwrap());
    assert_eq!(code, Some(1));
    assert!(err.contains(&format!("{}:2:", passwd.display())), "{err}");
    assert!(!err.contains("secretHash") && !err.contains("root:x"), "{err}");
}

#[test]
fn a_hundred_megabyte_comment_costs_about_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    let line = "# ".to_string() + &"x".repeat(98) + "\n";
    let mut text = line.repeat(1_000_000);
    text.push_str("events {}\nhttp { server { listen 127.0.0.1:1; } }\n");
    std::fs::write(&conf, &text).unwrap();
    let mut c = common::rcompose();
    c.args(["proxy", "-t", "-c"]).arg(&conf);
    let (out, mib) = peak_mib(&c);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // nginx 1.22 takes 105 MiB; a copy per character took 807.
    assert!(mib < 250, "peak {mib} MiB for a 100 MB file");
}

#[test]
fn what_nginx_t_refuses_rcompose_proxy_t_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    for (body, want) in [
        (
            "server { listen 127.0.0.1:8080; location /x { } location /x { } }",
            "duplicate location \"/x\"",
        ),
        (
            "server { listen 127.0.0.1:8080 default_server; } server { listen 127.0.0.1:8080 default_server; }",
            "a duplicate default server for 127.0.0.1:8080",
        ),
        ("server { listen :0; }", "invalid port in \":0\" of the \"listen\" directive"),
        (
            "server { listen 8080; return 200 \"${uri\"; }",
            "the closing bracket in \"uri\" variable is missing",
        ),
    ] {
        std::fs::write(&conf, format!("events {{}}\nhttp {{\n{body}\n}}\n")).unwrap();
        let out = proxy_t(&conf);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{body}: {err}");
        assert!(
            err.contains(&format!("{}:3:", conf.display())) && err.contains(want),
            "{body}: {err}"
        );
        let out = Command::new(common::ensure_nginx())
            .args(["-t", "-p"])
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .output()
            .unwrap();
        assert!(
            !out.status.success() && text(&out.stderr).contains(want),
            "nginx: {}",
            text(&out.stderr)
        );
    }
}
