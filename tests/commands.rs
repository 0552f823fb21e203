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

/// What `path` holds in `container`, when it is there.
fn cat_in(container: &str, path: &str) -> Option<String> {
    Command::new("docker")
        .args(["exec", container, "cat", path])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The lines of `out`, sorted: for output that comes in the engine's order.
fn sorted_lines(out: &str) -> Vec<String> {
    let mut l: Vec<String> = out.lines().map(String::from).collect();
    l.sort();
    l
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
    let text = in_terminal(&p, "exec web sh -c 'tty; exit 5'");
    assert!(text.contains("/dev/pts/"), "no TTY in the container: {text}");
    assert!(text.contains("status=5"), "the exit status did not pass through: {text}");
    // `run` likewise, with --rm.
    let text = in_terminal(&p, "run --rm --no-deps web sh -c 'tty; exit 6'");
    assert!(text.contains("/dev/pts/"), "no TTY in the run container: {text}");
    assert!(text.contains("status=6"), "the exit status did not pass through: {text}");
}

/// `rcompose ARGS` on a pseudo-terminal `script` makes; what it printed, then `status=N`.
fn in_terminal(p: &TestProject, args: &str) -> String {
    let rc = common::rcompose();
    let line = format!(
        "{} --progress plain -p {} {args}; echo status=$?",
        rc.get_program().to_string_lossy(),
        p.name
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(p.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_stack() -> String {
    format!(
        r#"services:
  db:
    image: {BUSYBOX}
    command: sh -c 'sleep 1; touch /tmp/ready; exec sleep 3600'
    init: true
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 500ms
  web:
    image: {BUSYBOX}
    command: echo default-command
    init: true
    ports: ["127.0.0.1:0:80"]
    restart: always
    environment:
      FROM_FILE: "yes"
    depends_on:
      db: {{condition: service_healthy}}
  side:
    image: {BUSYBOX}
    network_mode: "service:db"
"#
    )
}

/// The one-off containers of the project: (name, labels as JSON, restart policy, port bindings).
fn one_offs(p: &TestProject) -> Vec<(String, serde_json::Value, String, String)> {
    let ids = common::docker(&[
        "ps",
        "-aq",
        "--filter",
        &p.label_filter(),
        "--filter",
        "label=com.docker.compose.oneoff=True",
    ]);
    ids.split_whitespace()
        .map(|id| {
            let name = p.inspect(id, "{{.Name}}").trim().trim_start_matches('/').to_string();
            let labels = serde_json::from_str(&p.inspect(id, "{{json .Config.Labels}}")).unwrap();
            let restart = p.inspect(id, "{{.HostConfig.RestartPolicy.Name}}").trim().to_string();
            let ports = p.inspect(id, "{{json .HostConfig.PortBindings}}").trim().to_string();
            (name, labels, restart, ports)
        })
        .collect()
}

#[test]
fn run_starts_dependencies_and_makes_one_off_containers_as_docker_compose_does() {
    common::ensure_busybox();
    let p = TestProject::new("run", &run_stack());
    let script =
        r#"cat; echo "[$FROM_FILE] [$X]"; ping -c1 -W2 db >/dev/null && echo db-answers; exit 7"#;
    let args = ["run", "--rm", "-T", "-e", "X=1", "web", "sh", "-c", script];
    let (rc, rout, rerr) = with_input(p.rc(&args), "typed\n");
    assert_eq!(rc, 7, "the command's exit status: {rerr}");
    assert_eq!(rout, "typed\n[yes] [1]\ndb-answers\n");
    // The dependency was started and became healthy first.
    assert!(p.inspect(&format!("{}-db-1", p.name), "{{.State.Health.Status}}").contains("healthy"));
    assert!(one_offs(&p).is_empty(), "--rm left {:?}", one_offs(&p));
    let (dc, dout, _) = with_input(docker_compose(&p, &args), "typed\n");
    assert_eq!((dc, dout), (rc, rout), "docker compose run answered otherwise");
    assert!(one_offs(&p).is_empty());

    // `service:db` joins the running db container's network namespace.
    let mac = |out: String| out.trim().to_string();
    let db_mac = mac(p.inspect(
        &format!("{}-db-1", p.name),
        "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}",
    ));
    let side = ["run", "--rm", "-T", "--no-deps", "side", "cat", "/sys/class/net/eth0/address"];
    let (rc, rout, rerr) = p.run(&side);
    assert_eq!((rc, mac(rout)), (0, db_mac.clone()), "{rerr}");
    let (dc, dout, derr) = p.compose(&side);
    assert_eq!((dc, mac(dout)), (0, db_mac), "docker compose: {derr}");

    // Without --rm: the container stays, named and labelled as docker compose's.
    p.ok(&["run", "-T", "--no-deps", "web"]);
    docker_compose(&p, &["run", "-T", "--no-deps", "web"]).output().unwrap();
    let made = one_offs(&p);
    assert_eq!(made.len(), 2, "{made:?}");
    for (name, labels, restart, ports) in &made {
        let slug = labels["com.docker.compose.slug"].as_str().unwrap_or_default();
        assert_eq!(slug.len(), 64, "{name}: {labels}");
        assert_eq!(*name, format!("{}-web-run-{}", p.name, &slug[..12]));
        assert_eq!(labels["com.docker.compose.oneoff"], "True");
        assert_eq!(labels["com.docker.compose.service"], "web");
        assert!(labels.get("com.docker.compose.container-number").is_none(), "{labels}");
        assert!(restart.is_empty() || restart == "no", "{name}: restart {restart}");
        assert!(
            ports == "{}" || ports == "null",
            "{name}: published {ports} without --service-ports"
        );
    }
    // `ps -a` lists them as docker compose does; `down --remove-orphans` removes them.
    let listed = |out: &str| {
        let mut names: Vec<String> =
            out.lines().filter(|l| l.contains("-web-run-")).map(String::from).collect();
        names.sort();
        names
    };
    let (_, dps, _) = p.compose(&["ps", "-a", "--format", "{{.Name}}"]);
    assert_eq!(listed(&p.ok(&["ps", "-a", "--format", "{{.Name}}"])), listed(&dps));
    assert_eq!(listed(&dps).len(), 2, "{dps}");
    p.ok(&["down", "--remove-orphans", "-t", "0"]);
    assert!(one_offs(&p).is_empty(), "{:?}", one_offs(&p));
}

fn small_stack() -> String {
    format!(
        r#"services:
  web:
    image: {BUSYBOX}
    command: sleep 3600
    init: true
    ports: ["127.0.0.1::80", "127.0.0.1::53/udp"]
  worker:
    image: {BUSYBOX}
    command: sleep 3600
    init: true
"#
    )
}

#[test]
fn port_top_pause_kill_and_rm_answer_as_docker_compose_does() {
    common::ensure_busybox();
    let p = TestProject::new("ops", &small_stack());
    p.ok(&["up", "-d"]);
    // port: the same address, the same refusal.
    for args in [
        &["port", "web", "80"][..],
        &["port", "--protocol", "udp", "web", "53"],
        &["port", "web", "81"],
    ] {
        let (rc, rout, rerr) = p.run(args);
        let (dc, dout, derr) = p.compose(args);
        assert_eq!((rc, &rout), (dc, &dout), "{args:?}: {rerr} / {derr}");
        // The ports an error lists come in the engine's order, which is its own each call.
        let listed = |e: &str| {
            let (head, ports) = e.trim().rsplit_once(": ").unwrap_or((e, ""));
            let mut ports: Vec<&str> = ports.split(", ").collect();
            ports.sort();
            format!("{} {ports:?}", head.trim_start_matches("error: "))
        };
        if rc != 0 {
            assert_eq!(listed(&rerr), listed(&derr), "{args:?}");
        }
    }
    // top: the same table, apart from times that move.
    let shape = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                format!("{} {} {}", cells[0], cells[1], cells[cells.len() - 1])
            })
            .collect()
    };
    let (_, dtop, _) = p.compose(&["top"]);
    let rtop = p.ok(&["top"]);
    assert_eq!(shape(&rtop), shape(&dtop));
    assert_eq!(rtop.lines().next(), dtop.lines().next(), "header");
    // pause twice: the second fails, as docker compose's does; unpause brings it back.
    p.ok(&["pause", "web"]);
    assert_eq!(p.inspect(&format!("{}-web-1", p.name), "{{.State.Status}}").trim(), "paused");
    assert_eq!(p.run(&["pause", "web"]).0, p.compose(&["pause", "web"]).0);
    p.ok(&["unpause", "web"]);
    assert_eq!(p.inspect(&format!("{}-web-1", p.name), "{{.State.Status}}").trim(), "running");
    // kill -s: the signal given reaches the container.
    p.ok(&["kill", "-s", "SIGTERM", "worker"]);
    let worker = format!("{}-worker-1", p.name);
    assert!(common::eventually(10, || p.inspect(&worker, "{{.State.Status}}").trim() == "exited"));
    assert_eq!(p.inspect(&worker, "{{.State.ExitCode}}").trim(), "143");
    // rm: asks, and reads no as no; y from a pipe removes; -sf stops first.
    let (_, _, err) = with_input(p.rc(&["rm"]), "n\n");
    assert!(err.contains(&format!("Going to remove {worker}")), "{err}");
    assert!(p.containers().contains(&worker));
    with_input(p.rc(&["rm"]), "y\n");
    assert!(!p.containers().contains(&worker), "{:?}", p.containers());
    p.ok(&["rm", "-sf", "web"]);
    assert!(p.containers().is_empty(), "{:?}", p.containers());
    assert!(p.run(&["rm", "-f", "nope"]).2.contains("no such service: nope"));
}

#[test]
fn create_scale_wait_and_ls_do_what_docker_compose_does() {
    common::ensure_busybox();
    let stack = format!(
        r#"services:
  job:
    image: {BUSYBOX}
    command: sh -c 'sleep 2; exit 3'
  worker:
    image: {BUSYBOX}
    command: sleep 3600
    init: true
"#
    );
    let p = TestProject::new("cswl", &stack);
    // create: containers made, none started.
    p.ok(&["create"]);
    let states = |p: &TestProject| {
        let mut v: Vec<String> = p
            .containers()
            .iter()
            .map(|c| format!("{c} {}", p.inspect(c, "{{.State.Status}}").trim()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        states(&p),
        [format!("{}-job-1 created", p.name), format!("{}-worker-1 created", p.name)]
    );
    // scale: up -d of the service at that number.
    p.ok(&["scale", "worker=2"]);
    assert!(states(&p).contains(&format!("{}-worker-2 running", p.name)), "{:?}", states(&p));
    // ls: the project, as docker compose lists it.
    let mine = |out: &str| {
        out.lines().filter(|l| l.contains(&p.name)).map(String::from).collect::<Vec<_>>()
    };
    let (_, dls, _) = p.compose(&["ls", "--format", "json"]);
    let rls = p.ok(&["ls", "--format", "json"]);
    let pick = |json: &str| -> Vec<serde_json::Value> {
        let v: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
        v.into_iter().filter(|x| x["Name"] == p.name.as_str()).collect()
    };
    assert_eq!(pick(&rls), pick(&dls));
    assert_eq!(mine(&p.ok(&["ls", "-q"])), mine(&p.compose(&["ls", "-q"]).1));
    // wait: the job's exit status, once it stops.
    p.ok(&["start", "job"]);
    let (rc, _, err) = p.run(&["wait", "job"]);
    assert_eq!(rc, 3, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&p.ok(&["version", "--format", "json"])).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn images_lists_what_docker_compose_lists() {
    common::ensure_busybox();
    let p = TestProject::new("images", &small_stack());
    p.ok(&["up", "-d"]);
    // An image built a moment ago may be "2 seconds ago" to one and "3" to the other.
    let sorted = |s: &str| {
        let mut l: Vec<String> = s
            .lines()
            .map(|l| match l.find(" seconds ago") {
                Some(end) => l[..l[..end].rfind(' ').unwrap_or(end)].to_string(),
                None => l.to_string(),
            })
            .collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&p.ok(&["images"])), sorted(&p.compose(&["images"]).1));
    assert_eq!(p.ok(&["images", "-q"]), p.compose(&["images", "-q"]).1);
    let set = |s: &str| {
        let mut v: Vec<serde_json::Value> = serde_json::from_str(s).unwrap();
        v.sort_by_key(|x| x["ContainerName"].to_string());
        v
    };
    assert_eq!(
        set(&p.ok(&["images", "--format", "json"])),
        set(&p.compose(&["images", "--format", "json"]).1)
    );
}

#[test]
fn attach_shows_what_comes_next_and_ends_with_the_container() {
    common::ensure_busybox();
    let stack = format!(
        "services:\n  talk:\n    image: {BUSYBOX}\n    command: sh -c 'sleep 2; echo attached-out; echo attached-err >&2; exit 4'\n"
    );
    let p = TestProject::new("attach", &stack);
    p.ok(&["up", "-d"]);
    let (rc, out, err) = p.run(&["attach", "--no-stdin", "talk"]);
    assert_eq!(rc, 4, "{err}");
    assert_eq!(out, "attached-out\n");
    assert!(err.contains("attached-err"), "{err}");
    assert_eq!(p.run(&["attach", "talk"]).0, 1, "not running: an error");
}

#[test]
fn events_reads_the_projects_container_events_as_docker_compose_does() {
    common::ensure_busybox();
    let p = TestProject::new("events", &small_stack());
    let now =
        || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let since = (now() - 1).to_string();
    p.ok(&["up", "-d", "worker"]);
    p.ok(&["stop", "-t", "0", "worker"]);
    let until = (now() + 1).to_string();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let args = ["events", "--json", "--since", &since, "--until", &until];
    let parse = |out: &str| {
        let mut v: Vec<serde_json::Value> = out
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        v.sort_by_key(|x| format!("{}{}", x["time"], x["action"]));
        v
    };
    let (mine, theirs) = (parse(&p.ok(&args)), parse(&p.compose(&args).1));
    assert!(mine.iter().any(|e| e["action"] == "start" && e["service"] == "worker"), "{mine:?}");
    assert_eq!(mine, theirs);
    let text = p.ok(&["events", "--since", &since, "--until", &until]);
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains(" container create ")
            && first.ends_with(&format!("name={}-worker-1)", p.name)),
        "{text}"
    );
}

#[test]
fn watch_syncs_edits_into_containers_without_a_build_and_leaves_ignored_files() {
    common::ensure_busybox();
    let stack = format!(
        r#"services:
  app:
    image: {BUSYBOX}
    command: sleep 3600
    init: true
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
          initial_sync: true
          ignore: [node_modules/, "*.tmp"]
"#
    );
    let p = TestProject::new("watch", &stack);
    p.write("src/before.txt", "there before\n");
    let mut child = p.rc(&["watch"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let container = format!("{}-app-1", p.name);
    let read = |path: &str| cat_in(&container, path);
    // initial_sync: what was there before watching starts is copied too.
    let synced =
        common::eventually(60, || read("/app/before.txt").as_deref() == Some("there before\n"));
    // A burst of edits, an ignored file, a new folder, then a removal.
    p.write("src/a.txt", "one\n");
    p.write("src/a.txt", "two\n");
    p.write("src/skip.tmp", "no\n");
    p.write("src/node_modules/x.js", "no\n");
    p.write("src/deep/b.txt", "deep\n");
    let edited = common::eventually(20, || {
        read("/app/a.txt").as_deref() == Some("two\n")
            && read("/app/deep/b.txt").as_deref() == Some("deep\n")
    });
    std::fs::remove_file(p.dir.path().join("src/before.txt")).unwrap();
    let removed = common::eventually(20, || read("/app/before.txt").is_none());
    let ignored = read("/app/skip.tmp").is_none() && read("/app/node_modules/x.js").is_none();
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        synced && edited && removed && ignored,
        "synced {synced} edited {edited} removed {removed} ignored {ignored}\n{err}"
    );
    assert!(err.contains("Watch enabled"), "{err}");
    assert_eq!(status.code(), Some(0));
}

/// Names under `dir`, relative and sorted, with a file's text or a link's target.
fn local_tree(dir: &std::path::Path) -> Vec<String> {
    fn walk(root: &std::path::Path, at: &std::path::Path, out: &mut Vec<String>) {
        let Ok(meta) = std::fs::symlink_metadata(at) else { return };
        let rel = at.strip_prefix(root).unwrap().display().to_string();
        if meta.file_type().is_symlink() {
            out.push(format!("{rel} -> {}", std::fs::read_link(at).unwrap().display()));
        } else if meta.is_dir() {
            out.push(format!("{rel}/"));
            for e in std::fs::read_dir(at).unwrap() {
                walk(root, &e.unwrap().path(), out);
            }
        } else {
            out.push(format!("{rel} = {}", std::fs::read_to_string(at).unwrap_or_default().trim()));
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn cp_copies_both_ways_where_docker_compose_puts_things() {
    common::ensure_busybox();
    let p = TestProject::new("cp", &small_stack());
    p.ok(&["up", "-d", "web"]);
    let d = p.dir.path();
    std::fs::create_dir_all(d.join("tree/sub")).unwrap();
    std::fs::write(d.join("tree/a.txt"), "a").unwrap();
    std::fs::write(d.join("tree/sub/b.txt"), "b").unwrap();
    std::os::unix::fs::symlink("a.txt", d.join("tree/link")).unwrap();
    let inside = |tag: &str| {
        let script = format!(
            "cd /tmp/{tag} && find . | sort | while read f; do if [ -L \"$f\" ]; then echo \"$f -> $(readlink \"$f\")\"; elif [ -f \"$f\" ]; then echo \"$f = $(cat \"$f\")\"; else echo \"$f/\"; fi; done"
        );
        p.ok(&["exec", "-T", "web", "sh", "-c", &script])
    };
    let mut seen = Vec::new();
    for tag in ["rc", "dc"] {
        p.ok(&["exec", "-T", "web", "mkdir", "-p", &format!("/tmp/{tag}")]);
        std::fs::create_dir_all(d.join(tag)).unwrap();
        let run = |args: &[&str]| if tag == "rc" { p.run(args) } else { p.compose(args) };
        let t = |s: &str| s.replace("TAG", tag);
        let cases: Vec<Vec<String>> = [
            "cp tree web:/tmp/TAG/t1",
            "cp tree web:/tmp/TAG",
            "cp tree/. web:/tmp/TAG/t1",
            "cp tree/a.txt web:/tmp/TAG/renamed.txt",
            "cp tree/a.txt web:/tmp/TAG/nodir/",
            "cp web:/tmp/TAG/tree TAG/out",
            "cp web:/tmp/TAG/tree TAG",
            "cp web:/tmp/TAG/t1/. TAG/out",
            "cp web:/etc/passwd TAG/passwd",
            "cp web:/tmp/TAG/tree/link TAG/link",
            "cp -L web:/tmp/TAG/tree/link TAG/followed",
            "cp web:/nope TAG/nope",
            "cp tree web:/tmp/TAG/renamed.txt",
        ]
        .iter()
        .map(|c| t(c).split(' ').map(String::from).collect())
        .collect();
        let mut codes = Vec::new();
        for c in &cases {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            codes.push(format!("{}: {}", c.join(" "), run(&args).0).replace(tag, "TAG"));
        }
        // `-` writes the archive itself.
        let archive = if tag == "rc" {
            p.rc(&["cp", "web:/tmp/rc/tree", "-"])
        } else {
            docker_compose(&p, &["cp", "web:/tmp/dc/tree", "-"])
        }
        .output()
        .unwrap();
        let mut names: Vec<String> = tar::Archive::new(&archive.stdout[..])
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        seen.push((codes, inside(tag), local_tree(&d.join(tag)), names));
    }
    assert_eq!(seen[0], seen[1], "rcompose, then docker compose");
    assert!(seen[0].1.contains("./t1/sub/b.txt = b"), "{}", seen[0].1);
}

#[test]
fn stats_prints_docker_compose_columns_and_fields() {
    common::ensure_busybox();
    let p = TestProject::new("stats", &small_stack());
    p.ok(&["up", "-d"]);
    let args = ["stats", "--no-stream", "--format", "{{.Name}} {{.ID}} {{.PIDs}}"];
    assert_eq!(sorted_lines(&p.ok(&args)), sorted_lines(&p.compose(&args).1));
    let header = |out: &str| {
        out.lines()
            .next()
            .unwrap_or("")
            .split("   ")
            .filter(|c| !c.trim().is_empty())
            .map(|c| c.trim().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        header(&p.ok(&["stats", "--no-stream"])),
        header(&p.compose(&["stats", "--no-stream"]).1)
    );
    let keys = |out: &str| -> Vec<Vec<String>> {
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
                k.sort();
                k
            })
            .collect()
    };
    let json = ["stats", "--no-stream", "--format", "json"];
    assert_eq!(keys(&p.ok(&json)), keys(&p.compose(&json).1));
    assert!(p.ok(&json).contains("iB / "), "memory in binary units: {}", p.ok(&json));
}

#[test]
fn logs_follow_ends_with_the_containers_and_ctrl_c_is_130() {
    common::ensure_busybox();
    let stack = format!(
        "services:\n  a:\n    image: {BUSYBOX}\n    command: sh -c 'echo hi; sleep 2; echo bye; exit 3'\n  b:\n    image: {BUSYBOX}\n    command: sh -c 'sleep 3'\n"
    );
    let p = TestProject::new("logs-end", &stack);
    // Nothing to stop or restart yet: done, as docker compose says with exit 0.
    assert_eq!(p.run(&["stop"]).0, 0);
    assert_eq!(p.run(&["restart"]).0, p.compose(&["restart"]).0);
    p.ok(&["up", "-d"]);
    let (code, out, err) = p.run(&["logs", "-f"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("a-1 exited with code 3") && out.contains("b-1 exited with code 0"),
        "{out}"
    );
    assert!(out.find("bye").unwrap() < out.find("a-1 exited").unwrap(), "last lines first: {out}");
    // Ctrl-C while following: 130, as docker compose.
    p.ok(&["up", "-d", "--no-deps", "a"]);
    let mut child = p.rc(&["logs", "-f"]).stdout(Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

#[test]
fn down_of_some_services_and_ps_filter_as_docker_compose() {
    common::ensure_busybox();
    let p = TestProject::new("down-some", &small_stack());
    p.ok(&["up", "-d"]);
    p.ok(&["stop", "-t", "0", "worker"]);
    for args in [
        &["ps", "-a", "--filter", "status=exited", "--format", "{{.Name}}"][..],
        &["ps", "--filter", "status=running", "-q"],
    ] {
        assert_eq!(sorted_lines(&p.ok(args)), sorted_lines(&p.compose(args).1), "{args:?}");
    }
    assert_eq!(p.run(&["ps", "--filter", "name=x"]).0, 1);
    // down web: web's container goes, worker's and the network stay.
    p.ok(&["down", "-t", "0", "web"]);
    let left = p.containers();
    assert!(
        left.iter().all(|c| !c.contains("-web-")) && left.iter().any(|c| c.contains("-worker-")),
        "{left:?}"
    );
    let net = format!("{}_default", p.name);
    assert!(
        Command::new("docker")
            .args(["network", "inspect", &net])
            .output()
            .unwrap()
            .status
            .success()
    );
    // The last one: the network goes with it.
    p.ok(&["down", "-t", "0", "worker"]);
    assert!(p.containers().is_empty());
    assert!(
        !Command::new("docker")
            .args(["network", "inspect", &net])
            .output()
            .unwrap()
            .status
            .success()
    );
}

#[test]
fn commands_on_what_exists_work_from_the_project_name_alone() {
    common::ensure_busybox();
    let p = TestProject::new("by-name", &small_stack());
    p.ok(&["up", "-d"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |tool: &str, args: &[&str]| {
        let mut c = if tool == "rc" { common::rcompose() } else { Command::new("docker") };
        if tool != "rc" {
            c.arg("compose");
        }
        let out = c
            .current_dir(elsewhere.path())
            .env("NO_COLOR", "1")
            .env_remove("COMPOSE_FILE")
            .args(["-p", &p.name])
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    for args in [
        &["ps", "--format", "{{.Name}} {{.Service}} {{.State}}"][..],
        &["ps", "--services"],
        &["exec", "-T", "worker", "echo", "inside"],
        &["images", "-q"],
        &["port", "web", "80"],
    ] {
        let (rc, rout) = run("rc", args);
        let (dc, dout) = run("dc", args);
        assert_eq!((rc, sorted_lines(&rout)), (dc, sorted_lines(&dout)), "{args:?}");
    }
    // Stop, start and down act on the labelled containers.
    assert_eq!(run("rc", &["stop", "-t", "0", "worker"]).0, Some(0));
    assert!(common::eventually(10, || p
        .inspect(&format!("{}-worker-1", p.name), "{{.State.Running}}")
        .trim()
        == "false"));
    assert_eq!(run("rc", &["start", "worker"]).0, Some(0));
    assert_eq!(p.inspect(&format!("{}-worker-1", p.name), "{{.State.Running}}").trim(), "true");
    assert_eq!(run("rc", &["down", "-t", "0"]).0, Some(0));
    assert!(p.containers().is_empty(), "{:?}", p.containers());
    // Nothing left by that name: a clear error.
    let (code, _) = run("rc", &["ps"]);
    assert_eq!(code, Some(1));
}

#[test]
fn a_port_in_use_is_named_once_with_what_holds_it() {
    common::ensure_busybox();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let stack = format!(
        "services:\n  web:\n    image: {BUSYBOX}\n    command: sleep 300\n    ports: [\"127.0.0.1:{port}:80\"]\n"
    );
    let p = TestProject::new("port-held", &stack);
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_eq!(code, 1, "{err}");
    let what = format!("host address 127.0.0.1:{port} is already in use (held by ");
    assert_eq!(err.matches(&what).count(), 1, "{err}");
    assert!(err.contains(&format!("pid {})", std::process::id())), "{err}");
    assert!(err.contains("service web"), "{err}");
    drop(held);
}

/// The lines an 80-column terminal shows at the end of `bytes`: enough of a
/// VT100 for progress bars (`\r`, `\n`, cursor up and down, erase line, the
/// wrap at the last column; colours dropped).
fn screen(bytes: &str) -> Vec<String> {
    const WIDTH: usize = 80;
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = bytes.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                if lines.len() <= row {
                    lines.push(Vec::new());
                }
            }
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut arg = String::new();
                let mut end = ' ';
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        end = c;
                        break;
                    }
                    arg.push(c);
                }
                let n: usize = arg.parse().unwrap_or(1);
                match end {
                    'A' => row = row.saturating_sub(n),
                    'B' => {
                        row += n;
                        while lines.len() <= row {
                            lines.push(Vec::new());
                        }
                    }
                    'K' => lines[row].clear(),
                    _ => {}
                }
            }
            c => {
                if col >= WIDTH {
                    row += 1;
                    col = 0;
                    if lines.len() <= row {
                        lines.push(Vec::new());
                    }
                }
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    lines.into_iter().map(|l| l.into_iter().collect()).collect()
}

#[test]
fn lines_logged_while_stopping_stay_on_the_terminal() {
    common::ensure_busybox();
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to make a terminal with");
        return;
    }
    let svc = |name: &str| {
        format!(
            "  {name}:\n    image: {BUSYBOX}\n    init: true\n    command: [\"sh\", \"-c\", \"trap 'for i in 1 2 3 4 5 6 7 8 9; do echo bye-$$i; sleep 0.2; done; exit 0' TERM; echo ready; while true; do sleep 0.1; done\"]\n"
        )
    };
    let p = TestProject::new("stopping-tty", &format!("services:\n{}{}", svc("a"), svc("b")));
    let rc = common::rcompose();
    let line = format!("timeout -s INT 6 {} -p {} up", rc.get_program().to_string_lossy(), p.name);
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(p.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = screen(&String::from_utf8_lossy(&out.stdout));
    let byes = shown.iter().filter(|l| l.contains("| bye-")).count();
    assert_eq!(byes, 18, "log lines drawn over by the progress area:\n{}", shown.join("\n"));
}

#[test]
fn a_builds_own_colours_go_when_rcompose_does_not_colour() {
    common::ensure_busybox();
    let stack = "services:\n  img:\n    build: ./ctx\n    image: rct-colours:latest\n";
    let p = TestProject::new("build-colours", stack);
    p.write(
        "ctx/Dockerfile",
        &format!("FROM {BUSYBOX}\nRUN printf '\\033[31mred words\\033[0m\\n'\n"),
    );
    let out = p.rc(&["build", "--no-cache", "img"]).env("NO_COLOR", "1").output().unwrap();
    let all = [out.stdout, out.stderr].concat();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&all));
    assert!(
        String::from_utf8_lossy(&all).contains("red words"),
        "{}",
        String::from_utf8_lossy(&all)
    );
    assert!(!all.contains(&0x1b), "{}", String::from_utf8_lossy(&all));
    let _ = Command::new("docker").args(["rmi", "-f", "rct-colours:latest"]).output();
}

#[test]
fn up_watch_runs_the_stack_and_syncs_beside_its_logs() {
    common::ensure_busybox();
    let stack = format!(
        "services:\n  app:\n    image: {BUSYBOX}\n    command: sh -c 'echo app says hi; exec sleep 3600'\n    init: true\n    develop:\n      watch:\n        - path: ./src\n          action: sync\n          target: /app\n"
    );
    let p = TestProject::new("up-watch", &stack);
    p.write("src/keep.txt", "x\n");
    assert_eq!(p.run(&["up", "-d", "--watch"]).0, 1, "--watch needs the foreground");
    let child =
        p.rc(&["up", "--watch"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let container = format!("{}-app-1", p.name);
    let read = |path: &str| cat_in(&container, path);
    let running = common::eventually(60, || {
        Command::new("docker")
            .args(["inspect", "--format", "{{.State.Running}}", &container])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
    });
    // Watching starts once the container runs; an edit then reaches it.
    let mut synced = false;
    for i in 0..40 {
        p.write("src/edit.txt", &format!("edit {i}\n"));
        if common::eventually(1, || read("/app/edit.txt").is_some_and(|t| t.starts_with("edit"))) {
            synced = true;
            break;
        }
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(running && synced, "running {running} synced {synced}\n{stdout}\n{stderr}");
    assert!(stdout.contains("app says hi"), "the logs are followed: {stdout}");
    assert!(stderr.contains("Watch enabled"), "{stderr}");
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(
        p.inspect(&container, "{{.State.Running}}").trim(),
        "false",
        "Ctrl-C stops the stack"
    );
}

#[test]
fn a_watched_rebuild_replaces_the_container_and_prunes_the_old_image() {
    common::ensure_busybox();
    let image = format!("rct-watch-rebuild-{}:latest", std::process::id());
    let stack = format!(
        "services:\n  app:\n    build: ./ctx\n    image: {image}\n    command: sleep 3600\n    init: true\n    develop:\n      watch:\n        - path: ./ctx\n          action: rebuild\n"
    );
    let p = TestProject::new("watch-rebuild", &stack);
    p.write("ctx/Dockerfile", &format!("FROM {BUSYBOX}\nCOPY stamp /stamp\n"));
    p.write("ctx/stamp", "one\n");
    let image_id = || {
        Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", &image])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let mut child =
        p.rc(&["watch", "--quiet"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let container = format!("{}-app-1", p.name);
    let stamp = || cat_in(&container, "/stamp");
    let first = common::eventually(60, || stamp().as_deref() == Some("one\n"));
    let old = image_id();
    std::thread::sleep(std::time::Duration::from_millis(500));
    p.write("ctx/stamp", "two\n");
    let rebuilt = common::eventually(60, || stamp().as_deref() == Some("two\n"));
    let pruned = common::eventually(10, || {
        !Command::new("docker").args(["image", "inspect", &old]).output().unwrap().status.success()
    });
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let _ = child.wait();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    p.ok(&["down", "-t", "0", "--rmi", "all"]);
    assert!(first && rebuilt, "first {first} rebuilt {rebuilt}\n{err}");
    assert!(pruned, "the replaced image {old} is still there\n{err}");
    assert!(!err.contains("Step 1/"), "--quiet shows no build output:\n{err}");
}
