//! The engine lifecycle against the real Docker Engine on this machine, on
//! images built locally (busybox): names and labels as docker compose writes
//! them, convergence, dependency conditions, foreground Ctrl-C, orphans,
//! interop with docker compose v2 both ways.

mod common;

use common::{BUSYBOX, TestProject, docker, eventually, free_port};

fn stack(port: u16) -> String {
    format!(
        r#"services:
  db:
    image: {BUSYBOX}
    command: sh -c 'sleep 1; touch /tmp/ready; echo db ready; echo db warns >&2; exec nc -ll -p 7000 -e echo pong'
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 500ms
      retries: 20
  migrate:
    image: {BUSYBOX}
    command: sh -c 'echo migrating; sleep 1; echo migrated'
    depends_on:
      db: {{condition: service_healthy}}
  web:
    build: ./web
    container_name: ${{WEB_NAME:-rct-web}}-{port}
    ports: ["127.0.0.1:{port}:80"]
    environment:
      GREETING: hello
    env_file: web.env
    volumes:
      - data:/data
      - ./web/www:/www:ro
    depends_on:
      migrate: {{condition: service_completed_successfully}}
      db: {{condition: service_healthy}}
    restart: unless-stopped
volumes:
  data:
"#
    )
}

/// A log line with its name's padding squeezed out: `web-1 | text`.
fn bar_padding(line: &str) -> std::borrow::Cow<'_, str> {
    static PAD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PAD.get_or_init(|| regex::Regex::new(r"^(\S+) +\| ").unwrap()).replace(line, "$1 | ")
}

/// Log output as a sorted list of lines without padding or docker
/// compose's line-clearing escapes: the two tools pad and interleave differently.
fn log_lines(s: &str) -> Vec<String> {
    let mut l: Vec<String> =
        s.lines().map(|l| bar_padding(&l.replace("\r\x1b[K", "")).into_owned()).collect();
    l.sort();
    l
}

fn project(test: &str) -> (TestProject, u16) {
    let port = free_port();
    let p = TestProject::new(test, &stack(port));
    p.write("web/Dockerfile", &format!("FROM {BUSYBOX}\nARG FLAVOR=plain\nRUN echo $FLAVOR > /flavor\nCOPY www /www\nCMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n"));
    p.write("web/www/index.html", "<h1>hello</h1>\n");
    p.write("web/secret.txt", "do not ship\n");
    p.write("web/.dockerignore", "secret.txt\n");
    p.write("web.env", "FROM_ENV_FILE=yes\nGREETING=from-file\n");
    (p, port)
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn up_detached_names_labels_and_reaches_services() {
    let (p, port) = project("names");
    let out = p.rc(&["up", "-d"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let web = format!("rct-web-{port}");
    assert_eq!(
        p.containers(),
        vec![format!("{}-db-1", p.name), format!("{}-migrate-1", p.name), web.clone()]
    );

    // Labels as docker compose writes them.
    let labels: serde_json::Value =
        serde_json::from_str(&p.inspect(&web, "{{json .Config.Labels}}")).unwrap();
    assert_eq!(labels["com.docker.compose.project"], p.name.as_str());
    assert_eq!(labels["com.docker.compose.service"], "web");
    assert_eq!(labels["com.docker.compose.oneoff"], "False");
    assert_eq!(labels["com.docker.compose.container-number"], "1");
    // The image's id, not its name: docker compose recreates a container whose image label differs.
    let image_id = docker(&["image", "inspect", "--format", "{{.Id}}", &format!("{}-web", p.name)]);
    assert_eq!(labels["com.docker.compose.image"], image_id.trim());
    assert_eq!(labels["com.docker.compose.project.working_dir"], p.dir.path().to_str().unwrap());
    assert!(
        labels["com.docker.compose.project.config_files"]
            .as_str()
            .unwrap()
            .ends_with("docker-compose.yml")
    );
    assert_eq!(
        labels["com.docker.compose.depends_on"],
        "db:service_healthy:false,migrate:service_completed_successfully:false"
    );
    assert_eq!(labels["com.docker.compose.config-hash"].as_str().unwrap().len(), 64);
    assert!(labels["com.docker.compose.version"].as_str().is_some());
    assert_eq!(
        docker(&[
            "network",
            "inspect",
            "--format",
            "{{index .Labels \"com.docker.compose.network\"}}",
            &format!("{}_default", p.name)
        ]),
        "default"
    );
    assert_eq!(
        docker(&[
            "volume",
            "inspect",
            "--format",
            "{{index .Labels \"com.docker.compose.volume\"}}",
            &format!("{}_data", p.name)
        ]),
        "data"
    );

    // Configuration reaches the container.
    let env = p.inspect(&web, "{{json .Config.Env}}");
    assert!(env.contains("GREETING=hello") && env.contains("FROM_ENV_FILE=yes"), "{env}");
    assert_eq!(p.inspect(&web, "{{.HostConfig.RestartPolicy.Name}}"), "unless-stopped");
    assert!(http_get(port, "/").contains("<h1>hello</h1>"));
    // The build context honoured .dockerignore and the default build arg.
    assert_eq!(docker(&["exec", &web, "cat", "/flavor"]), "plain");
    assert!(!common::docker_ok(&["exec", &web, "test", "-e", "/secret.txt"]));
    // Services reach each other by service name.
    assert_eq!(docker(&["exec", &web, "sh", "-c", "nc db 7000 </dev/null"]), "pong");
    // Ordering: web started after migrate completed, which started after db was healthy.
    let migrate_done = p.inspect(&format!("{}-migrate-1", p.name), "{{.State.FinishedAt}}");
    let web_started = p.inspect(&web, "{{.State.StartedAt}}");
    assert!(
        web_started > migrate_done,
        "web started {web_started} before migrate finished {migrate_done}"
    );
}

#[test]
fn unchanged_containers_are_left_alone_and_changed_ones_recreated() {
    let (p, port) = project("converge");
    p.ok(&["up", "-d"]);
    let web = format!("rct-web-{port}");
    let db = format!("{}-db-1", p.name);
    let (web_id, db_id) = (p.inspect(&web, "{{.Id}}"), p.inspect(&db, "{{.Id}}"));
    let (_, _, err) = p.run(&["up", "-d"]);
    assert!(err.contains(&format!("Container {db}  Running")), "{err}");
    assert_eq!(p.inspect(&web, "{{.Id}}"), web_id);
    assert_eq!(p.inspect(&db, "{{.Id}}"), db_id);

    // A stopped container is started again, not recreated.
    docker(&["stop", "-t", "0", &db]);
    p.ok(&["up", "-d"]);
    assert_eq!(p.inspect(&db, "{{.Id}}"), db_id);
    assert_eq!(p.inspect(&db, "{{.State.Running}}"), "true");

    // A changed service is recreated; the others stay.
    let text = std::fs::read_to_string(p.dir.path().join("docker-compose.yml"))
        .unwrap()
        .replace("GREETING: hello", "GREETING: changed");
    p.write("docker-compose.yml", &text);
    let (_, _, err) = p.run(&["up", "-d"]);
    assert!(err.contains(&format!("Container {web}  Recreate")), "{err}");
    assert_ne!(p.inspect(&web, "{{.Id}}"), web_id);
    assert_eq!(p.inspect(&db, "{{.Id}}"), db_id);
    assert!(p.inspect(&web, "{{json .Config.Env}}").contains("GREETING=changed"));

    // --force-recreate recreates even unchanged ones; --no-recreate never does.
    p.ok(&["up", "-d", "--force-recreate", "db"]);
    assert_ne!(p.inspect(&db, "{{.Id}}"), db_id);
    let db_id = p.inspect(&db, "{{.Id}}");
    let text = text.replace("interval: 500ms", "interval: 600ms");
    p.write("docker-compose.yml", &text);
    p.ok(&["up", "-d", "--no-recreate"]);
    assert_eq!(p.inspect(&db, "{{.Id}}"), db_id);
}

#[test]
fn unhealthy_or_failed_dependencies_stop_up_with_their_name() {
    let p = TestProject::new(
        "unhealthy",
        &format!(
            "services:\n  db:\n    image: {BUSYBOX}\n    command: sleep 1000\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 300ms\n      retries: 2\n  app:\n    image: {BUSYBOX}\n    command: sleep 1000\n    depends_on:\n      db: {{condition: service_healthy}}\n"
        ),
    );
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_ne!(code, 0);
    assert!(err.contains("dependency db is unhealthy"), "{err}");
    assert!(err.contains("service app"), "{err}");
    // What started stays (as docker compose leaves it); app was never created.
    assert_eq!(p.containers(), vec![format!("{}-db-1", p.name)]);

    let q = TestProject::new(
        "failedjob",
        &format!(
            "services:\n  job:\n    image: {BUSYBOX}\n    command: sh -c 'echo migration failed, table items is missing >&2; exit 3'\n  app:\n    image: {BUSYBOX}\n    command: sleep 1000\n    depends_on:\n      job: {{condition: service_completed_successfully}}\n"
        ),
    );
    let (code, _, err) = q.run(&["up", "-d"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("dependency job did not complete successfully: exited with code 3"),
        "{err}"
    );
    assert!(
        err.contains("job | migration failed, table items is missing"),
        "the last output is shown: {err}"
    );

    let r = TestProject::new(
        "nohealth",
        &format!(
            "services:\n  db:\n    image: {BUSYBOX}\n    command: sleep 1000\n  app:\n    image: {BUSYBOX}\n    command: sleep 1000\n    depends_on:\n      db: {{condition: service_healthy}}\n"
        ),
    );
    let (code, _, err) = r.run(&["up", "-d"]);
    assert_ne!(code, 0);
    assert!(err.contains("db has no healthcheck"), "{err}");
}

#[test]
fn wait_returns_when_healthy_and_fails_with_the_reason() {
    let (p, _) = project("wait");
    let (code, _, err) = p.run(&["up", "-d", "--wait"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.inspect(&format!("{}-db-1", p.name), "{{.State.Health.Status}}"), "healthy");

    let q = TestProject::new(
        "waitfail",
        &format!(
            "services:\n  crash:\n    image: {BUSYBOX}\n    command: sh -c 'sleep 1; exit 4'\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 10s\n"
        ),
    );
    let (code, _, err) = q.run(&["up", "-d", "--wait", "--wait-timeout", "20"]);
    assert_eq!(code, 1);
    assert!(err.contains("crash exited with code 4"), "{err}");
}

#[test]
fn port_already_allocated_names_the_port() {
    let port = free_port();
    let _holder = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    let p = TestProject::new(
        "portclash",
        &format!(
            "services:\n  web:\n    image: {BUSYBOX}\n    command: sleep 1000\n    ports: ['{port}:80']\n"
        ),
    );
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_ne!(code, 0);
    assert!(err.contains("service web") && err.contains(&port.to_string()), "{err}");
}

#[test]
fn keys_this_engine_cannot_apply_are_refused_before_anything_is_made() {
    // On API 1.41 docker compose refuses these when it reaches the
    // container; the engine would otherwise drop them without a word.
    let p = TestProject::new(
        "tooold",
        &format!(
            "services:\n  web:\n    image: {BUSYBOX}\n    command: sleep 1000\n    healthcheck:\n      test: [CMD, 'true']\n      start_interval: 1s\n    networks:\n      back:\n        mac_address: 02:42:ac:11:00:99\n        interface_name: eth7\n  db:\n    image: {BUSYBOX}\n    command: sleep 1000\nnetworks:\n  back: {{}}\n"
        ),
    );
    let api = common::docker(&["version", "--format", "{{.Server.APIVersion}}"]);
    let (major, minor) = api.trim().split_once('.').unwrap();
    let api: (u32, u32) = (major.parse().unwrap(), minor.parse().unwrap());
    let (code, _, err) = p.compose(&["up", "-d"]);
    let (rcode, _, rerr) = p.run(&["up", "-d"]);
    if api < (1, 44) {
        assert_ne!(code, 0, "docker compose accepted it: {err}");
        assert!(
            err.contains("start_interval")
                || err.contains("mac-address")
                || err.contains("interface_name"),
            "{err}"
        );
        p.compose(&["down"]);
        assert_eq!(rcode, 1, "{rerr}");
        for key in [
            "healthcheck.start_interval needs Docker Engine v25",
            "networks.back.mac_address needs Docker Engine v25",
            "networks.back.interface_name needs Docker Engine v28.1",
        ] {
            assert!(rerr.contains(&format!("service web: {key}")), "{key}: {rerr}");
        }
        assert!(rerr.contains(&format!("this engine speaks API {}.{}", api.0, api.1)), "{rerr}");
        // Nothing half-made: not db's container, not the network.
        assert!(p.containers().is_empty(), "{:?}", p.containers());
        assert!(!common::docker_ok(&["network", "inspect", &format!("{}_back", p.name)]));
    } else if api < (1, 49) {
        assert!(
            rerr.contains("networks.back.interface_name needs Docker Engine v28.1")
                && !rerr.contains("start_interval needs"),
            "{rerr}"
        );
    }
}

#[test]
fn a_service_mac_address_is_the_containers_as_docker_compose_sets_it() {
    let p = TestProject::new(
        "mac",
        &format!(
            "services:\n  web:\n    image: {BUSYBOX}\n    command: sleep 1000\n    mac_address: 02:42:ac:11:65:99\n"
        ),
    );
    let web = format!("{}-web-1", p.name);
    let fmt = "{{.Config.MacAddress}} {{index .Config.Labels \"com.docker.compose.config-hash\"}}";
    let (code, _, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    let theirs = p.inspect(&web, fmt);
    p.compose(&["down", "-t", "0"]);

    let (code, _, err) = p.run(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("mac_address"), "still warned about as not acted on: {err}");
    assert_eq!(p.inspect(&web, fmt), theirs);
    // The engine gave the interface that address, and docker compose keeps rcompose's container.
    assert_eq!(
        common::docker(&["exec", &web, "cat", "/sys/class/net/eth0/address"]).trim(),
        "02:42:ac:11:65:99"
    );
    let id = p.inspect(&web, "{{.Id}}");
    let (code, _, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        p.inspect(&web, "{{.Id}}"),
        id,
        "docker compose recreated rcompose's container:\n{err}"
    );
}

#[test]
fn networks_get_their_ipam_and_follow_the_file_as_docker_compose_has_them() {
    let file = |gateway: &str| {
        format!(
            "services:\n  web:\n    image: {BUSYBOX}\n    command: sleep 1000\n    networks:\n      front:\n        ipv4_address: 10.213.77.10\nnetworks:\n  front:\n    ipam:\n      config:\n        - subnet: 10.213.77.0/24\n          ip_range: 10.213.77.0/25\n          gateway: {gateway}\n          aux_addresses:\n            spare: 10.213.77.5\n"
        )
    };
    let p = TestProject::new("ipam", &file("10.213.77.254"));
    let net = format!("{}_front", p.name);
    let net_fmt = "{{json .IPAM.Config}} {{index .Labels \"com.docker.compose.config-hash\"}}";
    let (code, _, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    let theirs = common::docker(&["network", "inspect", "--format", net_fmt, &net]);
    p.compose(&["down"]);

    // The same subnet, gateway and range, and the same config-hash label.
    p.ok(&["up", "-d"]);
    assert_eq!(common::docker(&["network", "inspect", "--format", net_fmt, &net]), theirs);
    let addr =
        "{{.State.Status}} {{(index .NetworkSettings.Networks \"NET\").IPAddress}} {{(index .NetworkSettings.Networks \"NET\").Gateway}}"
            .replace("NET", &net);
    let web = format!("{}-web-1", p.name);
    assert_eq!(p.inspect(&web, &addr).trim(), "running 10.213.77.10 10.213.77.254");
    let (code, out, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !format!("{out}{err}").contains("Network"),
        "docker compose remade rcompose's network:\n{out}{err}"
    );

    // A changed gateway makes the network again; the container is kept and
    // comes back with its address, as docker compose does it.
    let id = p.inspect(&web, "{{.Id}}");
    p.write("docker-compose.yml", &file("10.213.77.253"));
    let (_, out, err) = p.run(&["up", "-d"]);
    assert!(format!("{out}{err}").contains(&format!("Network {net}  Recreated")), "{out}{err}");
    assert_eq!(p.inspect(&web, "{{.Id}}"), id);
    assert_eq!(p.inspect(&web, &addr).trim(), "running 10.213.77.10 10.213.77.253");
    let (code, out, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(!format!("{out}{err}").contains("Network"), "{out}{err}");
    p.ok(&["down"]);
    assert!(!common::docker_ok(&["network", "inspect", &net]));
}

#[test]
fn config_hash_prints_the_labels_docker_compose_writes() {
    // env_file is where docker compose's own `config --hash` parts from the
    // label its `up` writes; rcompose prints the label.
    let p = TestProject::new(
        "cfghash",
        &format!(
            "services:\n  app:\n    image: {BUSYBOX}\n    env_file: app.env\n    environment:\n      A: override\n    hostname: \"${{UNSET_HOST:-}}\"\n    volumes:\n      - /etc/hostname/:/host/\n  other:\n    image: {BUSYBOX}\n    command: [sh, -c, 'echo <&>']\n    ulimits:\n      memlock: {{soft: -1, hard: -1}}\n    develop:\n      watch:\n        - {{path: ./src, action: sync+restart, target: /app, ignore: [tmp/]}}\n        - {{path: ./web, action: sync+exec, target: /srv, exec: {{command: [kill, -HUP, '1'], user: root}}}}\n"
        ),
    );
    p.write("app.env", "A=1\nB=two\n");
    let (code, _, err) = p.compose(&["up", "--no-start"]);
    assert_eq!(code, 0, "{err}");
    let labels = common::docker(&[
        "ps",
        "-a",
        "--filter",
        &p.label_filter(),
        "--format",
        "{{.Label \"com.docker.compose.service\"}} {{.Label \"com.docker.compose.config-hash\"}}",
    ]);
    p.compose(&["down"]);
    let mut labels: Vec<&str> = labels.lines().collect();
    labels.sort();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert_eq!(p.ok(&["config", "--hash", "*"]).lines().collect::<Vec<_>>(), labels);
    assert_eq!(p.ok(&["config", "--hash", "other"]).trim(), labels[1]);
    let (code, _, err) = p.run(&["config", "--hash", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("no such service: nope"), "{err}");
}

#[test]
fn build_settings_reach_the_engine() {
    let pid = std::process::id();
    let (image, extra) = (format!("rct-built-{pid}"), format!("rct-extra-{pid}:v1"));
    let p = TestProject::new(
        "buildkeys",
        &format!(
            "services:\n  app:\n    image: {image}\n    build:\n      context: ./app\n      network: none\n      shm_size: 64m\n      no_cache: true\n      tags: [\"{extra}\"]\n      cache_from: [\"{BUSYBOX}\", \"type=local,src=/tmp/nowhere\"]\n      provenance: true\n      sbom: true\n"
        ),
    );
    p.write(
        "app/Dockerfile",
        &format!(
            "FROM {BUSYBOX}\nRUN df -k /dev/shm | tail -1 | awk '{{print $2}}' > /shm\nRUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' ' > /ifaces\n"
        ),
    );
    let (code, _, err) = p.run(&["build"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("BuildKit cache source"),
        "the cache spec rcompose cannot send is named: {err}"
    );
    let run = |file: &str| docker(&["run", "--rm", &image, "cat", file]);
    assert_eq!(run("/shm").trim(), "65536", "shm_size reaches the RUN steps");
    assert_eq!(run("/ifaces").trim(), "lo", "network: none leaves the RUN steps only loopback");
    let id = |name: &str| docker(&["image", "inspect", "--format", "{{.Id}}", name]);
    assert_eq!(id(&extra), id(&image), "tags name the same image");
    // no_cache: the second build reuses no step.
    let (code, out, err) = p.run(&["build"]);
    assert_eq!(code, 0, "{err}");
    assert!(!format!("{out}{err}").contains("Using cache"), "{out}{err}");
    let _ = common::docker_ok(&["rmi", "-f", &image, &extra]);
}

#[test]
fn containers_are_made_as_docker_compose_makes_them() {
    // Field by field beside docker compose's own container for the same file.
    let p = TestProject::new(
        "sidebyside",
        &format!(
            "services:\n  app:\n    image: {BUSYBOX}\n    command: sleep 1000\n    cap_add: [NET_ADMIN, sys_ptrace]\n    cap_drop: [ALL]\n    volumes:\n      - type: bind\n        source: ./made/later\n        target: /later\n      - ./short:/short:ro\n"
        ),
    );
    let app = format!("{}-app-1", p.name);
    let fields = "{{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{.Config.AttachStdout}} {{.Config.AttachStderr}}";
    // docker compose's Binds come in no fixed order; the engine does not go by it.
    let binds = |p: &TestProject| {
        let mut b: Vec<String> =
            serde_json::from_str(&p.inspect(&app, "{{json .HostConfig.Binds}}")).unwrap();
        b.sort();
        b
    };
    let (code, _, err) = p.compose(&["up", "--no-start"]);
    assert_eq!(code, 0, "{err}");
    let theirs = (p.inspect(&app, fields), binds(&p));
    p.compose(&["down"]);
    p.ok(&["up", "--no-start"]);
    assert_eq!((p.inspect(&app, fields), binds(&p)), theirs);
    // The engine makes the long syntax's missing folder, as it does for docker compose.
    p.ok(&["start"]);
    assert!(p.dir.path().join("made/later").is_dir());
    assert_eq!(p.inspect(&app, "{{.State.Status}}").trim(), "running");
    p.ok(&["down"]);
}

#[test]
fn docker_compose_sees_rcompose_projects_and_back() {
    let (p, port) = project("interop");
    p.ok(&["up", "-d"]);
    let (code, out, err) = p.compose(&["ps", "--format", "{{.Service}} {{.State}}"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("web running") && out.contains("db running"), "{out}");
    let (_, logs, _) = p.compose(&["logs", "db"]);
    assert!(logs.contains("db ready"), "{logs}");
    let (code, _, err) = p.compose(&["down", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(p.containers().is_empty());

    // And the other way: docker compose starts, rcompose sees and removes.
    let (code, _, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    let ps = p.ok(&["ps"]);
    assert!(ps.starts_with("NAME"), "{ps}");
    assert!(ps.contains(&format!("rct-web-{port}")) && ps.contains("(healthy)"), "{ps}");
    assert!(p.ok(&["logs", "db"]).contains("db ready"));
    p.ok(&["down", "-v"]);
    assert!(p.containers().is_empty());
    assert!(!common::docker_ok(&["network", "inspect", &format!("{}_default", p.name)]));
    assert!(!common::docker_ok(&["volume", "inspect", &format!("{}_data", p.name)]));
}

#[test]
fn orphans_warn_and_are_removed_on_request() {
    let p = TestProject::new(
        "orphans",
        &format!(
            "services:\n  a:\n    image: {BUSYBOX}\n    command: sleep 1000\n  b:\n    image: {BUSYBOX}\n    command: sleep 1000\n"
        ),
    );
    p.ok(&["up", "-d"]);
    p.write(
        "docker-compose.yml",
        &format!("services:\n  a:\n    image: {BUSYBOX}\n    command: sleep 1000\n"),
    );
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_eq!(code, 0);
    assert!(err.contains("orphan containers") && err.contains(&format!("{}-b-1", p.name)), "{err}");
    assert_eq!(p.containers().len(), 2);
    let (_, _, err) = p.run(&["up", "-d", "--remove-orphans"]);
    assert!(err.contains(&format!("Container {}-b-1  Removed", p.name)), "{err}");
    assert_eq!(p.containers(), vec![format!("{}-a-1", p.name)]);
}

#[test]
fn down_removes_everything_and_succeeds_twice() {
    let (p, _) = project("down");
    p.ok(&["up", "-d"]);
    docker(&["exec", &format!("{}-db-1", p.name), "true"]);
    p.ok(&["down", "-v", "--rmi", "local"]);
    assert!(p.containers().is_empty());
    assert!(!common::docker_ok(&["volume", "inspect", &format!("{}_data", p.name)]));
    assert!(!common::docker_ok(&["image", "inspect", &format!("{}-web", p.name)]));
    p.ok(&["down", "-v"]);
}

#[test]
fn stop_start_restart_in_dependency_order() {
    let (p, port) = project("lifecycle");
    p.ok(&["up", "-d"]);
    let web = format!("rct-web-{port}");
    let db = format!("{}-db-1", p.name);
    let (_, _, err) = p.run(&["stop", "-t", "1"]);
    let (w, d) = (
        err.find(&format!("Container {web}  Stopped")).unwrap(),
        err.find(&format!("Container {db}  Stopped")).unwrap(),
    );
    assert!(w < d, "web must stop before db:\n{err}");
    assert_eq!(p.inspect(&web, "{{.State.Running}}"), "false");
    let (_, _, err) = p.run(&["start"]);
    let (w, d) = (
        err.find(&format!("Container {web}  Started")).unwrap(),
        err.find(&format!("Container {db}  Started")).unwrap(),
    );
    assert!(d < w, "db must start before web:\n{err}");
    let before = p.inspect(&db, "{{.State.StartedAt}}");
    p.ok(&["restart", "-t", "1", "db"]);
    assert_ne!(p.inspect(&db, "{{.State.StartedAt}}"), before);
}

#[test]
fn ps_formats() {
    let (p, port) = project("ps");
    p.ok(&["up", "-d"]);
    let table = p.ok(&["ps"]);
    let header = table.lines().next().unwrap();
    for col in ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(table.contains(&format!("127.0.0.1:{port}->80/tcp")), "{table}");
    assert!(!table.contains("migrate"), "exited containers only with -a:\n{table}");
    assert!(p.ok(&["ps", "-a"]).contains("Exited (0)"));
    assert_eq!(p.ok(&["ps", "--services"]), "db\nweb\n");
    assert_eq!(p.ok(&["ps", "-q"]).lines().count(), 2);
    let json = p.ok(&["ps", "--format", "json", "web"]);
    let row: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(row["Service"], "web");
    assert_eq!(row["State"], "running");
    assert_eq!(p.ok(&["ps", "--status", "exited", "--services"]), "migrate\n");
    // Side by side with docker compose on the same containers: the default
    // table, Go templates with and without `table`, errors, and json rows.
    common::ensure_compose_v2();
    // Ages tick between the two runs (and a column's width with them);
    // everything else must match.
    let ages = regex::Regex::new(r"\d+ seconds?|Less than a second|About a minute").unwrap();
    let padding = regex::Regex::new(r" {2,}").unwrap();
    for format in [
        None,
        Some("{{.Name}}\\t{{.Service}} {{.State}} {{.ExitCode}}"),
        Some(
            "table {{.Name}}\\t{{.Image}}\\t{{.Command}}\\t{{.CreatedAt}}\\t{{.Ports}}\\t{{.State}}\\t{{.Health}}\\t{{.Project}}\\t{{.ID}}",
        ),
        Some("{{json .Publishers}} {{.Networks}} {{.LocalVolumes}}"),
    ] {
        let mut args = vec!["ps", "-a"];
        args.extend(format.iter().flat_map(|f| ["--format", f]));
        let (_, theirs, _) = p.compose(&args);
        let ours = p.ok(&args);
        let no_ages =
            |s: &str| padding.replace_all(&ages.replace_all(s, "N seconds"), "  ").into_owned();
        assert_eq!(no_ages(&ours), no_ages(&theirs), "ps {args:?}");
    }
    let (code, _, err) = p.run(&["ps", "--format", "{{.Nope}}"]);
    assert_eq!(code, 1);
    assert!(err.contains("can't evaluate field Nope"), "{err}");
    let (_, theirs, _) = p.compose(&["ps", "--format", "json", "web"]);
    let theirs: serde_json::Value = serde_json::from_str(theirs.lines().next().unwrap()).unwrap();
    let ours: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    for (k, v) in theirs.as_object().unwrap() {
        // Labels and mounts come in the engine's order, which differs by API call.
        let set = |v: &serde_json::Value| {
            v.as_str()
                .map(|s| s.split(',').map(String::from).collect::<std::collections::BTreeSet<_>>())
        };
        if ["Labels", "Mounts"].contains(&k.as_str()) {
            assert_eq!(set(&ours[k]), set(v), "json field {k}");
        } else if !["RunningFor", "Status"].contains(&k.as_str()) {
            assert_eq!(&ours[k], v, "json field {k}");
        }
    }
}

#[test]
fn logs_prefix_demultiplex_tail_and_follow_restarts() {
    let (p, _) = project("logs");
    p.ok(&["up", "-d", "--wait"]);
    let out = p.ok(&["logs", "db", "migrate"]);
    assert!(out.contains("db-1      | db ready"), "{out}");
    assert!(out.contains("db-1      | db warns"), "stderr too:\n{out}");
    assert!(out.contains("migrate-1 | migrated"), "{out}");
    // The same lines under the same names as docker compose's (which pads
    // each name to its own width, and interleaves the two as they come).
    let (_, theirs, _) = p.compose(&["logs", "--no-color", "db", "migrate"]);
    assert_eq!(log_lines(&out), log_lines(&theirs), "rcompose's logs, then docker compose's");
    assert_eq!(p.ok(&["logs", "--no-log-prefix", "--tail", "1", "migrate"]), "migrated\n");
    assert!(p.ok(&["logs", "-t", "migrate"]).contains("Z migrating"));

    // -f picks up a container that restarts while it runs.
    let mut child = p
        .rc(&["logs", "-f", "--tail", "0", "db"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    docker(&["restart", "-t", "0", &format!("{}-db-1", p.name)]);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let seen = eventually(15, || rx.try_iter().any(|l| l.contains("db ready")));
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen, "logs -f did not show the restarted container's output");
}

#[test]
fn foreground_up_streams_logs_and_ctrl_c_stops_gracefully() {
    let (p, port) = project("foreground");
    let child = p
        .rc(&["up"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let web_running = eventually(60, || {
        p.containers().len() == 3
            && common::docker_ok(&["exec", &format!("{}-db-1", p.name), "true"])
            && {
                let names = p.containers();
                names
                    .iter()
                    .filter(|n| {
                        common::docker(&["inspect", "--format", "{{.State.Running}}", n]) == "true"
                    })
                    .count()
                    == 2
            }
    });
    assert!(web_running, "up did not start the stack");
    std::thread::sleep(std::time::Duration::from_millis(500));
    unsafe_sigint(child.id());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    // As docker compose writes them: `container_name` or the name without the project's.
    let lines: Vec<String> = stdout.lines().map(|l| bar_padding(l).into_owned()).collect();
    assert_eq!(lines[0], format!("Attaching to db-1, migrate-1, rct-web-{port}"), "{stdout}");
    for line in ["db-1 | db ready", "migrate-1 | migrated", "migrate-1 exited with code 0"] {
        assert!(lines.iter().any(|l| l == line), "{line:?} in\n{stdout}");
    }
    assert!(stderr.contains("Gracefully stopping..."), "{stderr}");
    // Stopped, not removed.
    assert_eq!(p.containers().len(), 3);
    for c in p.containers() {
        assert_eq!(p.inspect(&c, "{{.State.Running}}"), "false", "{c} still runs");
    }
}

fn unsafe_sigint(pid: u32) {
    std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
}

#[test]
fn engine_unreachable_is_one_clear_line() {
    let p = TestProject::new("noengine", &format!("services:\n  a:\n    image: {BUSYBOX}\n"));
    let out = p.rc(&["ps"]).env("DOCKER_HOST", "unix:///nonexistent/docker.sock").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the Docker Engine at unix:///nonexistent/docker.sock"),
        "{err}"
    );
    assert!(err.contains("docker info"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn build_flags_no_deps_no_start_and_exit_code_from() {
    let p = TestProject::new(
        "flags",
        &format!(
            r#"services:
  base:
    image: {BUSYBOX}
    command: sleep 1000
  app:
    build:
      context: ./app
      target: final
      args:
        GREETING: from-file
    depends_on: [base]
    command: sh -c 'cat /greeting; exit 7'
"#
        ),
    );
    p.write("app/Dockerfile", &format!("FROM {BUSYBOX} AS first\nRUN echo first > /stage\nFROM {BUSYBOX} AS final\nARG GREETING=default\nRUN echo $GREETING > /greeting\n"));
    let image = format!("{}-app", p.name);

    // --no-start creates without starting.
    p.ok(&["up", "--no-start"]);
    assert_eq!(p.inspect(&format!("{}-app-1", p.name), "{{.State.Status}}"), "created");
    assert_eq!(common::docker(&["run", "--rm", &image, "cat", "/greeting"]), "from-file");
    assert!(
        !common::docker_ok(&["run", "--rm", &image, "test", "-e", "/stage"]),
        "target selects the final stage only"
    );

    // build --build-arg overrides the file; up --build rebuilds.
    p.ok(&["build", "--build-arg", "GREETING=from-flag"]);
    assert_eq!(common::docker(&["run", "--rm", &image, "cat", "/greeting"]), "from-flag");
    let (_, _, err) = p.run(&["up", "-d", "--build", "--no-deps", "app"]);
    assert!(err.contains(&format!("Image {image}  Built")), "{err}");
    assert_eq!(
        p.inspect(&format!("{}-base-1", p.name), "{{.State.Status}}"),
        "created",
        "--no-deps must leave base alone"
    );

    // --exit-code-from returns that service's exit code, in the foreground.
    // Once app has exited, so that up starts it again and its output is new
    // (a foreground up shows what comes after it began, as docker compose).
    assert!(
        eventually(10, || p.inspect(&format!("{}-app-1", p.name), "{{.State.Running}}") == "false")
    );
    let out = p.rc(&["up", "--exit-code-from", "app"]).output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("app-1  | from-file") && stdout.contains("\napp-1 exited with code 7\n"),
        "{stdout}"
    );
    assert_eq!(
        p.inspect(&format!("{}-base-1", p.name), "{{.State.Running}}"),
        "false",
        "abort stops the others"
    );
}

#[test]
fn restarting_a_dependency_restarts_services_that_ask_for_it() {
    // As docker compose (checked by hand with 2.40.3): `restart db` restarts
    // web (depends_on db with restart: true) after db, and leaves other alone.
    let p = TestProject::new(
        "restartdeps",
        &format!(
            "services:\n  db:\n    image: {BUSYBOX}\n    command: sleep 1000\n    environment: {{V: \"${{V:-1}}\"}}\n  web:\n    image: {BUSYBOX}\n    command: sleep 1000\n    depends_on:\n      db: {{condition: service_started, restart: true}}\n  other:\n    image: {BUSYBOX}\n    command: sleep 1000\n    depends_on: [db]\n"
        ),
    );
    p.ok(&["up", "-d"]);
    let c = |s: &str| format!("{}-{s}-1", p.name);
    let started = |s: &str| p.inspect(&c(s), "{{.State.StartedAt}}");
    let (web, other) = (started("web"), started("other"));
    let (_, _, err) = p.run(&["restart", "-t", "0", "db"]);
    assert_ne!(started("web"), web, "web asked to follow db's restarts:\n{err}");
    assert_eq!(started("other"), other, "other did not ask to be restarted");
    let (d, w) = (
        err.find(&format!("Container {}  Started", c("db"))).unwrap(),
        err.find(&format!("Container {}  Started", c("web"))).unwrap(),
    );
    assert!(d < w, "db starts before web:\n{err}");
    let web = started("web");
    p.ok(&["restart", "-t", "0", "--no-deps", "db"]);
    assert_eq!(started("web"), web, "--no-deps restarts db alone");
    // `up` that recreates db restarts web too (docker compose stops web first,
    // then starts it after db), and still leaves other running as it was.
    let other = started("other");
    p.write(".env", "V=2\n");
    let (_, _, err) = p.run(&["up", "-d", "-t", "0"]);
    assert!(err.contains(&format!("Container {}  Recreate", c("db"))), "{err}");
    assert_ne!(started("web"), web, "web follows db's recreation:\n{err}");
    assert_eq!(started("other"), other, "other stays as it was:\n{err}");
    assert!(err.contains(&format!("Container {}  Started", c("web"))), "{err}");
}

/// A service with much of what the Compose file can say, for the config-hash.
fn rich(port: u16) -> String {
    format!(
        r#"services:
  db:
    image: {BUSYBOX}
    command: ["sh", "-c", "trap 'exit 0' TERM; echo ready && sleep 100000 & wait"]
    healthcheck:
      test: ["CMD-SHELL", "test -e /tmp && true"]
      interval: 1m30s
      timeout: 5s
      retries: 3
      start_period: 2s
    volumes:
      - data:/data
      - type: tmpfs
        target: /scratch
        tmpfs: {{ size: 1048576 }}
    networks:
      back:
        aliases: [database, store]
        link_local_ips: [169.254.8.8]
        driver_opts: {{ com.example.opt: "1" }}
      default:
        priority: 100
  web:
    image: {BUSYBOX}
    entrypoint: /bin/sh -c
    command: "exec sleep 100000"
    working_dir: /srv
    user: "0:0"
    hostname: webhost
    environment:
      SHARED: overridden
      EMPTY: ""
      UNSET:
    env_file: web.env
    ports:
      - "127.0.0.1:{port}:80"
      - target: 443
        published: "{port2}"
        protocol: tcp
        mode: host
    expose: ["3000"]
    volumes:
      - ./conf/app.conf:/etc/app.conf:ro
      - data:/data:nocopy
    extra_hosts: ["zeta.local=10.0.0.9", "alpha.local:10.0.0.1"]
    labels: {{ com.example.role: "web & <api>", com.example.empty: "" }}
    ulimits: {{ nofile: {{ soft: 1024, hard: 2048 }}, nproc: 512 }}
    cap_add: [NET_ADMIN]
    dns: 10.0.0.53
    init: true
    tty: true
    stdin_open: true
    restart: unless-stopped
    stop_grace_period: 3s
    stop_signal: SIGINT
    shm_size: 64m
    depends_on:
      db: {{ condition: service_started }}
    networks: [default, back]
  limits:
    image: {BUSYBOX}
    command: ["sleep", "100000"]
    mem_limit: 64m
    mem_reservation: 32m
    memswap_limit: -1
    mem_swappiness: 10
    cpus: 0.5
    cpu_shares: 512
    cpuset: "0"
    pids_limit: 100
    read_only: true
    tmpfs: ["/run", "/tmp:size=1m,mode=1777"]
    sysctls: {{ net.core.somaxconn: 1024 }}
    security_opt: ["no-new-privileges:true"]
    oom_score_adj: 100
    dns_search: example.com
    dns_opt: ["ndots:2"]
    domainname: example.org
    group_add: [audio, "1000"]
    ipc: shareable
    devices: ["/dev/null:/dev/xnull:rw", {{ source: /dev/zero, target: /dev/xzero, permissions: r }}]
    logging: {{ driver: json-file, options: {{ max-size: 1m, max-file: 2 }} }}
  deployed:
    image: {BUSYBOX}
    command: ["sleep", "100000"]
    deploy:
      replicas: 1
      restart_policy: {{ condition: on-failure, max_attempts: 3 }}
      resources:
        limits: {{ cpus: "0.25", memory: 32m, pids: 50 }}
        reservations: {{ memory: 16m }}
      placement: {{ constraints: [node.role == manager], preferences: [{{ spread: node.labels.zone }}] }}
    shm_size: 0
    annotations: {{ com.example.note: "x" }}
  devices:
    image: {BUSYBOX}
    command: ["sleep", "100000"]
    device_cgroup_rules: ["c 1:3 mr", "a 7:* rmw"]
    blkio_config:
      weight: 300
      weight_device: [{{ path: /dev/null, weight: 400 }}]
      device_read_bps: [{{ path: /dev/null, rate: 12mb }}]
      device_write_iops: [{{ path: /dev/null, rate: 30 }}]
    cpu_rt_period: 1400
    cpu_rt_runtime: 400
    cpu_count: 2
    cpu_percent: 50
    label_file: [labels.txt]
    labels: {{ b: from-labels }}
    gpus:
      - {{ driver: nvidia, device_ids: ["0"], capabilities: [compute], options: {{ a: b }} }}
      - {{ count: all }}
  based:
    extends: {{ file: lib/base.yml, service: app }}
    environment: [LOCAL=1]
    links: ["db:database", web]
    external_links: ["outside_thing:thing"]
volumes:
  data:
networks:
  back:
"#,
        port2 = port + 1
    )
}

#[test]
fn docker_compose_and_rcompose_leave_each_others_containers_alone() {
    common::ensure_compose_v2();
    let p = TestProject::new("hash", &rich(free_port()));
    p.write("web.env", "FROM_FILE=1\nSHARED=from-file\n");
    p.write("conf/app.conf", "x\n");
    p.write("labels.txt", "a=1\nb=from-file\n");
    // A base in another folder: its bind mount is relative to that folder.
    p.write(
        "lib/base.yml",
        &format!("services:\n  app:\n    image: {BUSYBOX}\n    command: [sleep, '100000']\n    environment: [BASE=1]\n    volumes: ['./shared:/shared:ro']\n"),
    );
    let ids = || {
        docker(&["ps", "-aq", "--no-trunc", "--filter", &p.label_filter()])
            .lines()
            .map(String::from)
            .collect::<std::collections::BTreeSet<_>>()
    };
    let labels = |id: &str| {
        p.inspect(id, r#"{{index .Config.Labels "com.docker.compose.config-hash"}} {{index .Config.Labels "com.docker.compose.image"}}"#)
    };
    // What the engine was asked for, by service: the set parts of HostConfig, and Domainname.
    let host_configs = || -> std::collections::BTreeMap<String, serde_json::Value> {
        ids()
            .iter()
            .map(|id| {
                let v: serde_json::Value =
                    serde_json::from_str(&p.inspect(id, "{{json .}}")).unwrap();
                let set = |v: &serde_json::Value| {
                    !matches!(v, serde_json::Value::Null | serde_json::Value::Bool(false))
                        && v != &serde_json::json!("")
                        && v != &serde_json::json!(0)
                        && v != &serde_json::json!([])
                        && v != &serde_json::json!({})
                };
                // A mount may be asked for as a bind string or a mount object (docker
                // compose uses both): what counts is what the container gets mounted.
                let mut hc: serde_json::Map<String, serde_json::Value> = v["HostConfig"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(k, v)| set(v) && !matches!(k.as_str(), "Binds" | "Mounts"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                // Lists whose order the engine does not go by; docker compose writes
                // capabilities with their CAP_ prefix and ulimits in Go's map order.
                for key in ["CapAdd", "CapDrop", "ExtraHosts", "Ulimits"] {
                    if let Some(serde_json::Value::Array(items)) = hc.get_mut(key) {
                        for item in items.iter_mut() {
                            if let Some(cap) = item.as_str().and_then(|c| c.strip_prefix("CAP_")) {
                                *item = cap.into();
                            }
                        }
                        items.sort_by_key(|i| i.to_string());
                    }
                }
                let mut mounted: Vec<String> = v["Mounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| {
                        format!(
                            "{} {} {} rw={}",
                            m["Type"],
                            m.get("Name").unwrap_or(&m["Source"]),
                            m["Destination"],
                            m["RW"]
                        )
                    })
                    .collect();
                mounted.sort();
                hc.insert("Mounted".into(), mounted.into());
                hc.insert("Domainname".into(), v["Config"]["Domainname"].clone());
                let own: serde_json::Map<String, serde_json::Value> = v["Config"]["Labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| {
                        !k.starts_with("com.docker.compose.") && *k != "dev.rcompose.version"
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                hc.insert("UserLabels".into(), own.into());
                let links: std::collections::BTreeMap<String, serde_json::Value> =
                    v["NetworkSettings"]["Networks"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(net, e)| {
                            // Every endpoint also has the container's short id as an alias.
                            let short = &v["Id"].as_str().unwrap()[..12];
                            let aliases: Vec<&serde_json::Value> = e["Aliases"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .filter(|a| *a != short)
                                .collect();
                            let parts = serde_json::json!([
                                e["Links"],
                                aliases,
                                e["DriverOpts"],
                                e["IPAMConfig"]["LinkLocalIPs"]
                            ]);
                            (net.clone(), parts)
                        })
                        .collect();
                hc.insert("EndpointLinks".into(), serde_json::to_value(links).unwrap());
                (
                    v["Config"]["Labels"]["com.docker.compose.service"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    serde_json::Value::Object(hc),
                )
            })
            .collect()
    };

    // rcompose creates; docker compose finds nothing to change.
    p.ok(&["up", "--no-start"]);
    let ours = ids();
    assert_eq!(ours.len(), 6);
    let our_host_configs = host_configs();
    let shared = p.dir.path().join("lib/shared");
    assert!(
        our_host_configs["based"]["Mounted"].to_string().contains(&shared.display().to_string()),
        "{:#}",
        our_host_configs["based"]
    );
    assert_eq!(
        our_host_configs["devices"]["DeviceRequests"][1]["Count"], -1,
        "{:#}",
        our_host_configs["devices"]
    );
    assert_eq!(
        our_host_configs["devices"]["CpuRealtimePeriod"], 1400,
        "{:#}",
        our_host_configs["devices"]
    );
    assert_eq!(
        our_host_configs["devices"]["UserLabels"],
        serde_json::json!({"a": "1", "b": "from-labels"})
    );
    let links = our_host_configs["based"]["EndpointLinks"].to_string();
    assert!(
        links.contains(&format!("{}-db-1:database", p.name))
            && links.contains("outside_thing:thing"),
        "{links}"
    );
    assert_eq!(
        our_host_configs["limits"]["NanoCpus"], 500_000_000,
        "{:#}",
        our_host_configs["limits"]
    );
    assert_eq!(
        our_host_configs["deployed"]["NanoCpus"], 250_000_000,
        "{:#}",
        our_host_configs["deployed"]
    );
    assert_eq!(
        our_host_configs["deployed"]["RestartPolicy"]["Name"], "on-failure",
        "{:#}",
        our_host_configs["deployed"]
    );
    let (code, _, err) = p.compose(&["up", "--no-start"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("Recreate"), "docker compose recreated rcompose's containers:\n{err}");
    assert_eq!(ids(), ours, "docker compose replaced rcompose's containers");
    let our_labels: Vec<String> = ours.iter().map(|id| labels(id)).collect();

    // docker compose creates; rcompose finds nothing to change, and the labels are the same.
    let (code, _, err) = p.compose(&["down", "-v"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = p.compose(&["up", "--no-start"]);
    assert_eq!(code, 0, "{err}");
    let theirs = ids();
    let mut their_labels: Vec<String> = theirs.iter().map(|id| labels(id)).collect();
    let their_host_configs = host_configs();
    for (svc, theirs) in &their_host_configs {
        assert_eq!(
            &our_host_configs[svc], theirs,
            "the engine was asked for a different container for {svc}"
        );
    }
    let err = p.rc(&["up", "--no-start"]).output().unwrap();
    let err = String::from_utf8_lossy(&err.stderr).to_string();
    assert!(!err.contains("Recreate"), "rcompose recreated docker compose's containers:\n{err}");
    assert_eq!(ids(), theirs, "rcompose replaced docker compose's containers");
    let mut our_labels = our_labels;
    our_labels.sort();
    their_labels.sort();
    assert_eq!(our_labels, their_labels, "config-hash and image labels differ between the tools");
}

#[test]
fn a_service_on_another_services_namespaces_follows_that_container() {
    common::ensure_compose_v2();
    let p = TestProject::new(
        "netmode",
        &format!(
            "services:
  db:
    image: {BUSYBOX}
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; echo hello > /data/greeting; sleep 100001 & wait\"]
    ipc: shareable
    volumes: [data:/data]
  reader:
    image: {BUSYBOX}
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]
    volumes_from: [\"db:ro\"]
  side:
    image: {BUSYBOX}
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]
    network_mode: service:db
    ipc: service:db
    pid: service:db
  alone:
    image: {BUSYBOX}
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]
    network_mode: none
volumes:
  data:
"
        ),
    );
    let id = |svc: &str| p.inspect(&format!("{}-{svc}-1", p.name), "{{.Id}}");
    let mode = |svc: &str| p.inspect(&format!("{}-{svc}-1", p.name), "{{.HostConfig.NetworkMode}}");
    p.ok(&["up", "-d"]);
    let joined = |svc: &str| {
        p.inspect(
            &format!("{}-{svc}-1", p.name),
            "{{.HostConfig.NetworkMode}} {{.HostConfig.IpcMode}} {{.HostConfig.PidMode}}",
        )
    };
    let db = format!("container:{}", id("db"));
    assert_eq!(joined("side"), format!("{db} {db} {db}"));
    assert_eq!(mode("alone"), "none");
    // One network stack: side sees db's hostname, and alone has only loopback.
    let sh =
        |svc: &str, cmd: &str| docker(&["exec", &format!("{}-{svc}-1", p.name), "sh", "-c", cmd]);
    assert_eq!(sh("side", "hostname"), sh("db", "hostname"));
    assert!(
        sh("side", "ps").contains("sleep 100001"),
        "side sees db's processes (pid: service:db)"
    );
    // volumes_from: db's volume, read-only as written.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sh("reader", "cat /data/greeting 2>/dev/null || true") != "hello" {
        assert!(std::time::Instant::now() < deadline, "reader does not see db's volume");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        sh("reader", "touch /data/x 2>/dev/null && echo writable || echo read-only"),
        "read-only"
    );
    assert!(!sh("alone", "cat /proc/net/dev").contains("eth0"), "network_mode none has no eth0");

    // docker compose agrees on what these containers are (the hash of the resolved mode).
    let (code, _, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("Recreate"), "docker compose recreated rcompose's containers:\n{err}");

    // A new db is a new network stack: side is made again on it.
    p.ok(&["up", "-d", "--force-recreate", "--no-deps", "db"]);
    let out = p.rc(&["up", "-d"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("Container {}-side-1  Recreated", p.name)), "{err}");
    assert!(err.contains(&format!("Container {}-reader-1  Recreated", p.name)), "{err}");
    assert!(!err.contains(&format!("Container {}-alone-1  Recreate", p.name)), "{err}");
    let db = format!("container:{}", id("db"));
    assert_eq!(joined("side"), format!("{db} {db} {db}"));
    assert_eq!(sh("side", "hostname"), sh("db", "hostname"));
}

#[test]
fn secrets_and_configs_reach_the_container_as_docker_compose_puts_them() {
    common::ensure_compose_v2();
    let p = TestProject::new(
        "secrets",
        &format!(
            "services:
  app:
    image: {BUSYBOX}
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]
    secrets:
      - db_password
      - source: db_password
        target: other_name
      - source: api_key
        target: /etc/api_key
        mode: 0400
    configs:
      - app_conf
      - source: app_conf
        target: /etc/app.conf
      - source: inline
        target: /etc/inline.conf
secrets:
  db_password:
    file: ./db_password.txt
  api_key:
    environment: API_KEY
configs:
  app_conf:
    file: ./app.conf
  inline:
    content: |
      listen ${{LISTEN_PORT:-8080}}
"
        ),
    );
    p.write("db_password.txt", "hunter2");
    p.write("app.conf", "k=v\n");
    p.write(".env", "API_KEY=k-123\n");
    let files = "/run/secrets/db_password /run/secrets/other_name /etc/api_key /app_conf /etc/app.conf /etc/inline.conf";
    let seen = || {
        docker(&[
            "exec",
            &format!("{}-app-1", p.name),
            "sh",
            "-c",
            &format!(
                "for f in {files}; do echo \"$f $(stat -c %a $f) $(cat $f | tr '\\n' '|')\"; done"
            ),
        ])
    };
    p.ok(&["up", "-d"]);
    let ours = seen();
    assert!(ours.contains("/run/secrets/db_password 644 hunter2"), "{ours}");
    assert!(ours.contains("/run/secrets/other_name 644 hunter2"), "{ours}");
    assert!(ours.contains("/etc/api_key 400 k-123"), "{ours}");
    assert!(ours.contains("/etc/inline.conf 444 listen 8080|"), "{ours}");
    assert!(ours.contains("/app_conf 644 k=v|"), "{ours}");

    let (code, _, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("Recreate"), "docker compose recreated rcompose's container:\n{err}");

    // docker compose's own container has the same files, and rcompose leaves it alone.
    let (code, _, err) = p.compose(&["up", "-d", "--force-recreate"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(seen(), ours, "docker compose puts the files differently");
    let out = p.rc(&["up", "-d"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success() && !err.contains("Recreate"), "{err}");
}

#[test]
fn a_scaled_service_runs_as_many_containers_as_docker_compose_runs() {
    common::ensure_compose_v2();
    let p = TestProject::new(
        "scale",
        &format!(
            "services:
  a:
    image: {BUSYBOX}
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; echo hello from $$(hostname); sleep 100000 & wait\"]
    scale: 2
  b:
    image: {BUSYBOX}
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]
    deploy: {{ replicas: 3 }}
  c:
    image: {BUSYBOX}
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]
    depends_on: [a]
"
        ),
    );
    let n = &p.name;
    let names = |list: &[&str]| list.iter().map(|s| format!("{n}-{s}")).collect::<Vec<_>>();
    p.ok(&["up", "-d"]);
    assert_eq!(p.containers(), names(&["a-1", "a-2", "b-1", "b-2", "b-3", "c-1"]));
    for (c, number) in [("a-2", "2"), ("b-3", "3")] {
        assert_eq!(
            p.inspect(
                &format!("{n}-{c}"),
                r#"{{index .Config.Labels "com.docker.compose.container-number"}}"#
            ),
            number
        );
    }
    // docker compose finds every replica as it would have made it.
    let ids = docker(&["ps", "-aq", "--no-trunc", "--filter", &p.label_filter()]);
    let (code, _, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("Recreate") && !err.contains("Creat"),
        "docker compose changed rcompose's replicas:\n{err}"
    );
    assert_eq!(docker(&["ps", "-aq", "--no-trunc", "--filter", &p.label_filter()]), ids);
    // Each replica's lines carry its own prefix.
    assert!(
        eventually(10, || {
            let logs = p.ok(&["logs", "a"]);
            (1..=2).all(|i| logs.lines().any(|l| l.starts_with(&format!("a-{i} | hello from "))))
        }),
        "{}",
        p.ok(&["logs", "a"])
    );
    // Scaled down, the highest numbers go; scaled up, new numbers come.
    let (code, _, err) = p.run(&["up", "-d", "--scale", "b=1", "--scale", "a=3"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("Container {n}-b-3  Removed")), "{err}");
    assert_eq!(p.containers(), names(&["a-1", "a-2", "a-3", "b-1", "c-1"]));
    let (code, _, err) = p.run(&["up", "-d", "--scale", "nope=2"]);
    assert_ne!(code, 0);
    assert!(err.contains("--scale nope=2: no such service"), "{err}");
    p.ok(&["down"]);
    assert!(p.containers().is_empty());
}

#[test]
fn post_start_hooks_run_in_the_started_container() {
    common::ensure_compose_v2();
    let p = TestProject::new(
        "hooks",
        &format!(
            "services:
  app:
    image: {BUSYBOX}
    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 100000 & wait\"]
    post_start:
      - command: sh -c \"echo $$GREETING from $$(pwd) as $$(id -u) > /dev/shm/hooked\"
        environment: [GREETING=hello]
        working_dir: /etc
        user: \"1000\"
    volumes: [./out:/out]
    pre_stop:
      - command: sh -c \"echo $$PHASE > /out/stopping\"
        environment: [PHASE=pre-stop]
"
        ),
    );
    std::fs::create_dir_all(p.dir.path().join("out")).unwrap();
    let stopping = p.dir.path().join("out/stopping");
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("pre_stop"), "{err}");
    let app = format!("{}-app-1", p.name);
    assert_eq!(docker(&["exec", &app, "cat", "/dev/shm/hooked"]), "hello from /etc as 1000");
    // docker compose hashes the hooks the same way.
    let (code, _, err) = p.compose(&["up", "-d"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("Recreate"), "{err}");
    // `start` runs them again for a stopped container.
    docker(&["exec", &app, "rm", "/dev/shm/hooked"]);
    // `stop` runs pre_stop in the running container first, as docker compose does.
    assert!(!stopping.exists());
    p.ok(&["stop", "-t", "1"]);
    assert_eq!(std::fs::read_to_string(&stopping).unwrap().trim(), "pre-stop");
    std::fs::remove_file(&stopping).unwrap();
    p.ok(&["start"]);
    assert_eq!(docker(&["exec", &app, "cat", "/dev/shm/hooked"]), "hello from /etc as 1000");
    // A failing hook fails `up` and names it; the container is left running.
    p.write(
        "docker-compose.override.yml",
        "services:\n  app:\n    post_start: [{command: [\"sh\", \"-c\", \"exit 3\"]}]\n",
    );
    let (code, _, err) = p.run(&["up", "-d"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("post_start hook \"sh -c exit 3\" exited with status 3"), "{err}");
    assert_eq!(p.inspect(&app, "{{.State.Running}}"), "true");
    // A failing pre_stop hook fails `stop` and `down`, and leaves the container
    // running, as with docker compose.
    p.write(
        "docker-compose.override.yml",
        "services:\n  app:\n    post_start: []\n    pre_stop: [{command: [\"sh\", \"-c\", \"exit 4\"]}]\n",
    );
    for cmd in ["stop", "down"] {
        let (code, _, err) = p.run(&[cmd, "-t", "1"]);
        assert_eq!(code, 1, "{cmd}: {err}");
        assert!(
            err.contains("pre_stop hook \"sh -c exit 4\" exited with status 4"),
            "{cmd}: {err}"
        );
        assert_eq!(p.inspect(&app, "{{.State.Running}}"), "true", "{cmd}");
    }
    // `down` of a file with a passing hook runs it once and removes the container.
    std::fs::remove_file(p.dir.path().join("docker-compose.override.yml")).unwrap();
    p.ok(&["down", "-t", "1"]);
    assert_eq!(std::fs::read_to_string(&stopping).unwrap().trim(), "pre-stop");
    assert!(p.containers().is_empty());
}

#[test]
fn foreground_up_leaves_out_the_output_of_services_not_attached() {
    let cmd = |word: &str| {
        format!(
            "[\"sh\", \"-c\", \"trap 'exit 0' TERM INT; echo {word} here; sleep 100000 & wait\"]"
        )
    };
    let p = TestProject::new(
        "attach",
        &format!(
            "services:\n  loud:\n    image: {BUSYBOX}\n    command: {}\n  quiet:\n    image: {BUSYBOX}\n    command: {}\n    attach: false\n",
            cmd("loud"),
            cmd("quiet")
        ),
    );
    let child = p
        .rc(&["up"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let quiet = format!("{}-quiet-1", p.name);
    let both_spoke = eventually(60, || {
        p.containers().len() == 2
            && ["loud", "quiet"].iter().all(|s| {
                docker(&["logs", &format!("{}-{s}-1", p.name)]).contains(&format!("{s} here"))
            })
    });
    assert!(both_spoke, "{}", docker(&["logs", &quiet]));
    std::thread::sleep(std::time::Duration::from_millis(500));
    unsafe_sigint(child.id());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("loud-1  | loud here"), "{stdout}");
    assert!(!stdout.contains("quiet here"), "{stdout}");
    // Not attached, but stopped with the others.
    assert_eq!(p.inspect(&quiet, "{{.State.Running}}"), "false");
    // The flags choose instead of the file.
    let child = p
        .rc(&["up", "--attach", "quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(eventually(60, || ["loud", "quiet"]
        .iter()
        .all(|s| p.inspect(&format!("{}-{s}-1", p.name), "{{.State.Running}}") == "true")));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    unsafe_sigint(child.id());
    let stdout = String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).to_string();
    assert!(stdout.contains("quiet-1 | quiet here") && !stdout.contains("loud here"), "{stdout}");
}

#[test]
fn foreground_up_of_named_services_follows_them_as_docker_compose_does() {
    let p = TestProject::new(
        "attachdeps",
        &format!(
            "services:\n  db:\n    image: {BUSYBOX}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; echo db says hi; sleep 100000 & wait\"]\n  web:\n    image: {BUSYBOX}\n    depends_on: [db]\n    command: [\"sh\", \"-c\", \"sleep 1; echo web says hi\"]\n"
        ),
    );
    let db = format!("{}-db-1", p.name);
    for flags in [&["up", "web"][..], &["up", "--attach-dependencies", "web"]] {
        let (code, theirs, err) = p.compose(flags);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            p.inspect(&db, "{{.State.Running}}"),
            "true",
            "docker compose {flags:?} left db running"
        );
        p.compose(&["down", "-t", "0"]);
        let (code, ours, err) = p.run(flags);
        assert_eq!(code, 0, "{err}");
        // Returned when web exited, its dependency still running.
        assert_eq!(p.inspect(&db, "{{.State.Running}}"), "true", "{flags:?}: {err}");
        assert_eq!(
            log_lines(&ours),
            log_lines(&theirs),
            "{flags:?}: rcompose's output, then docker compose's"
        );
        p.ok(&["down", "-t", "0"]);
    }
    // And what the two agreed on, spelled out.
    let (_, out, _) = p.run(&["up", "--attach-dependencies", "web"]);
    assert!(
        log_lines(&out).contains(&"db-1 | db says hi".to_string())
            && out.starts_with("Attaching to db-1, web-1\n"),
        "{out}"
    );
    let (_, out, _) = p.run(&["up", "web"]);
    assert_eq!(out, "Attaching to web-1\nweb-1 | web says hi\nweb-1 exited with code 0\n");
    p.ok(&["down", "-t", "0"]);
}
