//! `rcompose config --format json` side by side with `docker compose config
//! --format json` (v2) on the same projects: they must agree on what would run.
//!
//! Each folder under `tests/fixtures/compat/` is a project; an `args` file
//! holds extra global arguments (one a line) and an `environ` file variables
//! set for both tools.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The fields the two tools must agree on, per service.
const FIELDS: &[&str] = &[
    "image",
    "build.context",
    "build.dockerfile",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "volumes",
    "depends_on",
    "restart",
    "container_name",
    "healthcheck.test",
    "networks",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "mem_swappiness",
    "cpus",
    "cpu_shares",
    "cpu_period",
    "cpu_quota",
    "cpuset",
    "pids_limit",
    "read_only",
    "tmpfs",
    "sysctls",
    "security_opt",
    "oom_score_adj",
    "oom_kill_disable",
    "dns_search",
    "dns_opt",
    "domainname",
    "group_add",
    "ipc",
    "pid",
    "uts",
    "userns_mode",
    "cgroup",
    "cgroup_parent",
    "runtime",
    "devices",
    "logging",
    "network_mode",
    "secrets",
    "configs",
    "deploy",
    "volumes_from",
    "labels",
    "working_dir",
    "build.args",
    "healthcheck.interval",
    "profiles",
    "links",
    "external_links",
    "scale",
    "shm_size",
    "annotations",
    "device_cgroup_rules",
    "blkio_config",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "gpus",
    "post_start",
    "pre_stop",
    "attach",
    "storage_opt",
    "cpu_count",
    "cpu_percent",
    "ulimits",
    "hostname",
    "platform",
    "user",
    "stop_signal",
    "stop_grace_period",
    "expose",
    "extra_hosts",
    "cap_add",
    "cap_drop",
    "dns",
    "init",
    "privileged",
    "tty",
    "stdin_open",
    "env_file",
    "healthcheck",
    "develop",
];

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).map(|t| t.lines().filter(|l| !l.is_empty()).map(String::from).collect()).unwrap_or_default()
}

fn prepare(mut cmd: Command, dir: &Path, args: &[String], environ: &[String]) -> Command {
    cmd.current_dir(dir);
    for var in ["COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "NO_COLOR"] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", "/home/tester");
    for kv in environ {
        let (k, v) = kv.split_once('=').expect("environ lines are KEY=VALUE");
        cmd.env(k, v);
    }
    cmd.args(args).args(["config", "--format", "json"]);
    cmd
}

fn run_json(mut cmd: Command, who: &str) -> Value {
    let out = cmd.output().unwrap_or_else(|e| panic!("{who}: cannot run: {e}"));
    assert!(out.status.success(), "{who} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{who}: output is not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

fn field<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

/// Equal, counting a missing key and `null` as the same.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().all(|k| same(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        // docker compose writes an empty struct (a network's `ipam`, a watch
        // rule's `exec`) as `{}` or with `null` fields.
        (Value::Object(x), Value::Null) | (Value::Null, Value::Object(x)) => x.values().all(|v| same(v, &Value::Null)),
        _ => a == b,
    }
}

fn compare_case(name: &str, dir: &Path, args: Vec<String>, environ: Vec<String>) -> Vec<String> {
    let ours = run_json(prepare(common::rcompose(), dir, &args, &environ), &format!("rcompose ({name})"));
    let mut docker = Command::new("docker");
    docker.arg("compose");
    let theirs = run_json(prepare(docker, dir, &args, &environ), &format!("docker compose ({name})"));

    let mut problems = Vec::new();
    if ours["name"] != theirs["name"] {
        problems.push(format!("{name}: project name {} != {}", ours["name"], theirs["name"]));
    }
    for top in ["secrets", "configs", "networks"] {
        if !same(&ours[top], &theirs[top]) {
            problems.push(format!("{name}: {top}:\n  rcompose:       {}\n  docker compose: {}", ours[top], theirs[top]));
        }
    }
    let services = |v: &Value| v["services"].as_object().map(|m| m.keys().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
    if services(&ours) != services(&theirs) {
        problems.push(format!("{name}: services {:?} != {:?}", services(&ours), services(&theirs)));
    }
    for svc in services(&ours).intersection(&services(&theirs)) {
        let (a, b) = (&ours["services"][svc], &theirs["services"][svc]);
        for f in FIELDS {
            if !same(field(a, f), field(b, f)) {
                problems.push(format!("{name}: services.{svc}.{f}:\n  rcompose:       {}\n  docker compose: {}", field(a, f), field(b, f)));
            }
        }
    }
    problems
}

#[test]
fn config_agrees_with_docker_compose_v2() {
    common::ensure_compose_v2();
    let root = common::fixtures().join("compat");
    let mut cases: Vec<_> =
        std::fs::read_dir(&root).expect("fixtures").filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 10, "expected the compat fixtures, found {}", cases.len());
    let mut problems = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        problems.extend(compare_case(&name, dir, lines(&dir.join("args")), lines(&dir.join("environ"))));
    }
    // The reference stack, addressed with -f from elsewhere.
    let example = common::repo_root().join("examples/fastapi-mongo/docker-compose.yml");
    problems.extend(compare_case("example", &common::repo_root(), vec!["-f".into(), example.display().to_string()], vec![]));
    assert!(problems.is_empty(), "rcompose and docker compose disagree:\n{}", problems.join("\n"));
}

#[test]
fn config_reads_standard_input_like_docker_compose() {
    common::ensure_compose_v2();
    let text = "services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n";
    let dir = common::fixtures().join("compat/profiles");
    let run = |mut cmd: Command| {
        use std::io::Write;
        cmd.current_dir(&dir)
            .args(["-f", "-", "config", "--format", "json"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let mut docker = Command::new("docker");
    docker.arg("compose");
    let (ours, theirs) = (run(common::rcompose()), run(docker));
    assert_eq!(ours["name"], theirs["name"]);
    assert!(same(&ours["services"]["web"]["ports"], &theirs["services"]["web"]["ports"]));
}
