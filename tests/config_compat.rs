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
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| !l.is_empty()).map(String::from).collect())
        .unwrap_or_default()
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
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{who}: output is not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout))
    })
}

fn field<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

/// Equal, counting a missing key and `null` as the same.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .all(|k| same(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        // docker compose writes an empty struct (a network's `ipam`, a watch
        // rule's `exec`) as `{}` or with `null` fields.
        (Value::Object(x), Value::Null) | (Value::Null, Value::Object(x)) => {
            x.values().all(|v| same(v, &Value::Null))
        }
        _ => a == b,
    }
}

fn compare_case(name: &str, dir: &Path, args: Vec<String>, environ: Vec<String>) -> Vec<String> {
    let ours =
        run_json(prepare(common::rcompose(), dir, &args, &environ), &format!("rcompose ({name})"));
    let mut docker = Command::new("docker");
    docker.arg("compose");
    let theirs =
        run_json(prepare(docker, dir, &args, &environ), &format!("docker compose ({name})"));

    let mut problems = Vec::new();
    if ours["name"] != theirs["name"] {
        problems.push(format!("{name}: project name {} != {}", ours["name"], theirs["name"]));
    }
    for top in ["secrets", "configs", "networks"] {
        if !same(&ours[top], &theirs[top]) {
            problems.push(format!(
                "{name}: {top}:\n  rcompose:       {}\n  docker compose: {}",
                ours[top], theirs[top]
            ));
        }
    }
    let services = |v: &Value| {
        v["services"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<BTreeSet<_>>())
            .unwrap_or_default()
    };
    if services(&ours) != services(&theirs) {
        problems.push(format!("{name}: services {:?} != {:?}", services(&ours), services(&theirs)));
    }
    for svc in services(&ours).intersection(&services(&theirs)) {
        let (a, b) = (&ours["services"][svc], &theirs["services"][svc]);
        for f in FIELDS {
            if !same(field(a, f), field(b, f)) {
                problems.push(format!(
                    "{name}: services.{svc}.{f}:\n  rcompose:       {}\n  docker compose: {}",
                    field(a, f),
                    field(b, f)
                ));
            }
        }
    }
    problems
}

#[test]
fn config_agrees_with_docker_compose_v2() {
    common::ensure_compose_v2();
    let root = common::fixtures().join("compat");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "expected the compat fixtures, found {}", cases.len());
    let mut problems = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        problems.extend(compare_case(
            &name,
            dir,
            lines(&dir.join("args")),
            lines(&dir.join("environ")),
        ));
    }
    // The reference stack, addressed with -f from elsewhere.
    let example = common::repo_root().join("examples/fastapi-mongo/docker-compose.yml");
    problems.extend(compare_case(
        "example",
        &common::repo_root(),
        vec!["-f".into(), example.display().to_string()],
        vec![],
    ));
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

fn docker_compose() -> Command {
    let mut cmd = Command::new("docker");
    cmd.arg("compose");
    cmd
}

/// Runs `config` in a fresh project holding `text`; (success, stderr).
fn verdict(cmd: Command, text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker-compose.yml"), text).unwrap();
    let out = prepare(cmd, dir.path(), &[], &[]).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Values docker compose's schema refuses (a number where only a string
/// goes, a key with nothing after it, a list where only a mapping goes) are
/// refused here too, at their place, and the look-alikes it takes are taken.
#[test]
fn values_docker_compose_refuses_are_refused_at_their_place() {
    common::ensure_compose_v2();
    const S: &str = "services:\n  s:\n    image: busybox\n";
    // (what follows `S`, the error rcompose gives, as file:line:col: path: message)
    let refused: &[(&str, &str)] = &[
        (
            "    hostname: 42\n",
            "docker-compose.yml:4:15: services.s.hostname: expected a string, found an integer",
        ),
        (
            "    user: 1000\n",
            "docker-compose.yml:4:11: services.s.user: expected a string, found an integer",
        ),
        (
            "    platform: true\n",
            "docker-compose.yml:4:15: services.s.platform: expected a string, found a boolean",
        ),
        (
            "    command: [echo, 42]\n",
            "docker-compose.yml:4:21: services.s.command[1]: expected a string, found an integer",
        ),
        (
            "    cap_add: [42]\n",
            "docker-compose.yml:4:15: services.s.cap_add[0]: expected a string, found an integer",
        ),
        (
            "    environment: [true]\n",
            "docker-compose.yml:4:19: services.s.environment[0]: expected a string, found a boolean",
        ),
        (
            "    expose: [true]\n",
            "docker-compose.yml:4:14: services.s.expose[0]: expected a string or a number, found a boolean",
        ),
        (
            "    extra_hosts: {db: 1}\n",
            "docker-compose.yml:4:23: services.s.extra_hosts.db: expected a string, found an integer",
        ),
        ("    ports:\n", "docker-compose.yml:4:5: services.s.ports: `ports` has no value"),
        (
            "    environment:\n",
            "docker-compose.yml:4:5: services.s.environment: `environment` has no value",
        ),
        (
            "    logging:\n      options: [max-size=1m]\n",
            "docker-compose.yml:5:16: services.s.logging.options: expected a mapping, found a list",
        ),
        (
            "    logging:\n      options: {max-file: true}\n",
            "docker-compose.yml:5:27: services.s.logging.options.max-file: expected a string, a number or null, found a boolean",
        ),
        (
            "    depends_on:\n      o:\n  o:\n    image: busybox\n",
            "docker-compose.yml:5:7: services.s.depends_on.o: `o` has no value",
        ),
        (
            "    build:\n      context: .\n      target: 2\n",
            "docker-compose.yml:6:15: services.s.build.target: expected a string, found an integer",
        ),
        (
            "networks:\n  n:\n    driver_opts: {mtu: true}\n",
            "docker-compose.yml:6:24: networks.n.driver_opts.mtu: expected a string or a number, found a boolean",
        ),
        (
            "volumes:\n  v:\n    name: 7\n",
            "docker-compose.yml:6:11: volumes.v.name: expected a string, found an integer",
        ),
        (
            "    restart: 5\n",
            "docker-compose.yml:4:14: services.s.restart: expected a string, found an integer",
        ),
        (
            "    depends_on:\n      o: {required: true}\n  o:\n    image: busybox\n",
            "docker-compose.yml:5:7: services.s.depends_on.o: `o` has no `condition`",
        ),
        (
            "    container_name: a\n",
            "docker-compose.yml:4:21: services.s.container_name: invalid container name \"a\"",
        ),
        // Keys rcompose ignores are held to their shape all the same.
        (
            "    isolation: 42\n",
            "docker-compose.yml:4:16: services.s.isolation: expected a string, found an integer",
        ),
        (
            "    credential_spec: {a: 1}\n",
            "docker-compose.yml:4:23: services.s.credential_spec.a: unknown key `a`",
        ),
        (
            "    deploy:\n      update_config:\n        order: abc\n",
            "docker-compose.yml:6:16: services.s.deploy.update_config.order: invalid order \"abc\"",
        ),
        (
            "    build:\n      context: .\n      ssh: [a]\n",
            "docker-compose.yml:6:13: services.s.build.ssh[0]: invalid ssh key \"a\"",
        ),
        (
            "    build:\n      context: .\n      sbom: 42\n",
            "docker-compose.yml:6:13: services.s.build.sbom: expected a boolean or a string, found an integer",
        ),
        (
            "    deploy:\n      resources:\n        reservations:\n          pids: 5\n",
            "docker-compose.yml:7:11: services.s.deploy.resources.reservations.pids: unknown key `pids`",
        ),
        (
            "    ports:\n      - target: 80\n        host_ip: abc\n",
            "docker-compose.yml:6:18: services.s.ports[0].host_ip: invalid IP address \"abc\"",
        ),
        (
            "    logging:\n      driver: 42\n",
            "docker-compose.yml:5:15: services.s.logging.driver: expected a string, found an integer",
        ),
        (
            "    networks:\n      n:\n        priority: \"5\"\nnetworks:\n  n:\n",
            "docker-compose.yml:6:19: services.s.networks.n.priority: expected a number, found a string",
        ),
        (
            "    volumes:\n      - type: volume\n        source: v\n        target: /m\n        volume:\n          labels: abc\nvolumes:\n  v:\n",
            "docker-compose.yml:9:19: services.s.volumes[0].volume.labels: expected a mapping or a list of KEY=VALUE, found a string",
        ),
        (
            "    build:\n      context: .\n      secrets: [{source: x}, nope]\nsecrets:\n  x:\n    file: ./x\n",
            "docker-compose.yml:6:30: services.s.build.secrets[1]: service \"s\" refers to undefined build secret \"nope\"",
        ),
    ];
    let mut problems = Vec::new();
    for (extra, want) in refused {
        let text = format!("{S}{extra}");
        let (theirs, their_err) = verdict(docker_compose(), &text);
        let (ours, our_err) = verdict(common::rcompose(), &text);
        if theirs {
            problems.push(format!("docker compose took what this test says it refuses:\n{text}"));
        } else if ours || !our_err.contains(want) {
            problems.push(format!(
                "{text}docker compose: {their_err}rcompose ({}): {our_err}wanted: {want}\n",
                if ours { "took it" } else { "refused" }
            ));
        }
    }
    // Numbers, booleans and nulls where the schema has room for them.
    let taken = [
        "    expose: [80, \"443\"]\n    group_add: [1000, wheel]\n",
        "    environment: {A: 1, B: true, C: null}\n    labels: {a: 1.5}\n",
        "    logging:\n      options: {max-size: 10m, max-file: 3, tag: null}\n",
        "    storage_opt: {size: null}\n    mem_limit: 1.5\n    cpus: 2\n",
        "    deploy:\n    develop:\n    command:\n",
        // An empty test keeps the image's healthcheck.
        "    healthcheck:\n      test: []\n      interval: 5s\n",
        "networks:\n  n:\n    driver_opts: {mtu: 1400}\n",
        // Port 0 is one the engine chooses; a ulimit may be a string of digits.
        "    ports:\n      - target: 80\n        published: \"0\"\n      - \"0:81\"\n    ulimits: {nofile: \"1024\"}\n",
        "    deploy:\n      update_config: {parallelism: 2, delay: 10s, order: start-first}\n",
        "    build:\n      context: .\n      ssh: [default]\n      additional_contexts: {a: ./x}\n      sbom: true\n",
        "secrets:\n  x:\n    external: {a: 1}\n",
        "    build:\n      context: .\n      secrets: [x, {source: x, target: y}]\nsecrets:\n  x:\n    environment: HOME\n",
    ];
    for extra in taken {
        let text = format!("{S}{extra}");
        let (theirs, their_err) = verdict(docker_compose(), &text);
        let (ours, our_err) = verdict(common::rcompose(), &text);
        if !theirs {
            problems.push(format!(
                "docker compose refused what this test says it takes:\n{text}{their_err}"
            ));
        } else if !ours {
            problems.push(format!("rcompose refused what docker compose takes:\n{text}{our_err}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Runs `config` in a fresh project of a base file and its override; (success, stderr).
fn verdict_with_override(cmd: Command, base: &str, over: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker-compose.yml"), base).unwrap();
    std::fs::write(dir.path().join("docker-compose.override.yml"), over).unwrap();
    let out = prepare(cmd, dir.path(), &[], &[]).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// docker compose checks the project as merged after each file, so a bad
/// value in the base is refused though an override replaces it, while a
/// setting only the whole project can judge (no image yet, network_mode
/// beside networks) waits for the last file. An override's `services:` with
/// nothing after it is refused; an empty override is not.
#[test]
fn override_files_are_checked_as_docker_compose_checks_them() {
    common::ensure_compose_v2();
    // (base, override, the error rcompose gives, or None where both take it)
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "services:\n  s:\n    image: busybox\n    hostname: 42\n",
            "services:\n  s:\n    hostname: web\n",
            Some(
                "docker-compose.yml:4:15: services.s.hostname: expected a string, found an integer",
            ),
        ),
        (
            "services:\n  s:\n    image: busybox\n",
            "services:\n",
            Some("docker-compose.override.yml:1:1: services: `services` has no value"),
        ),
        (
            "services:\n  s:\n    image: busybox\n",
            "services:\n  s:\n    ports:\n",
            Some("docker-compose.override.yml:3:5: services.s.ports: `ports` has no value"),
        ),
        (
            "services:\n  s:\n    environment: {A: 1}\n    network_mode: host\n",
            "services:\n  s:\n    image: busybox\n    network_mode: !reset null\n    networks: [default]\n",
            None,
        ),
        ("services:\n  s:\n    image: busybox\n", "# to be filled in\n", None),
        (
            "services:\n  s:\n    image: busybox\n    depends_on: [t]\n  t:\n    image: busybox\n  u:\n    image: busybox\n",
            "services:\n  s:\n    depends_on: [u]\n",
            None,
        ),
    ];
    let mut problems = Vec::new();
    for (base, over, want) in cases {
        let (theirs, their_err) = verdict_with_override(docker_compose(), base, over);
        let (ours, our_err) = verdict_with_override(common::rcompose(), base, over);
        let shown =
            format!("--- docker-compose.yml\n{base}--- docker-compose.override.yml\n{over}");
        match want {
            Some(want) if theirs => problems
                .push(format!("docker compose took what this test says it refuses:\n{shown}")),
            Some(want) if ours || !our_err.contains(want) => problems.push(format!(
                "{shown}docker compose: {their_err}rcompose ({}): {our_err}wanted: {want}\n",
                if ours { "took it" } else { "refused" }
            )),
            None if !theirs => problems.push(format!(
                "docker compose refused what this test says it takes:\n{shown}{their_err}"
            )),
            None if !ours => problems
                .push(format!("rcompose refused what docker compose takes:\n{shown}{our_err}")),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
