//! `rcompose stack deploy|ls|ps|services|rm` on a one-node swarm made for
//! the test (and left after it, so other tests see a plain engine): the
//! example served through rcompose's proxy image, listed by docker's own
//! `docker stack` commands, a healthy-dependency chain started in order,
//! and everything removed. One test, as a swarm is the engine's global state.

mod common;

use std::process::{Command, Output};

use common::output_text as text;

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().unwrap()
}

/// A swarm for the test's length: the node leaves it on drop, unless it was one before.
struct Swarm {
    made: bool,
}

impl Swarm {
    fn init() -> Swarm {
        let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
        if String::from_utf8_lossy(&state.stdout).trim() == "active" {
            return Swarm { made: false };
        }
        let o = docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        assert!(o.status.success(), "{}", text(&o));
        Swarm { made: true }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        if self.made {
            let _ = docker(&["swarm", "leave", "--force"]);
        }
    }
}

fn stack(dir: &std::path::Path, project: &str, args: &[&str]) -> Output {
    common::rcompose().current_dir(dir).args(["-p", project, "stack"]).args(args).output().unwrap()
}

fn ids(args: &[&str]) -> Vec<String> {
    String::from_utf8_lossy(&docker(args).stdout).lines().map(String::from).collect()
}

#[test]
fn stacks_deploy_in_dependency_order_serve_through_rcomposes_proxy_and_go_away() {
    common::ensure_busybox();
    common::ensure_python_image();
    common::ensure_mongo_standin();
    let swarm = Swarm::init();
    let example = common::repo_root().join("examples/fastapi-mongo");

    // The example: /, a deep link and /api/ through the proxy image.
    let o = stack(&example, "rcswarm", &["deploy"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("Creating service rcswarm_nginxproxy"), "{out}");
    assert!(out.contains("served by rcompose's proxy in a container"), "{out}");
    common::assert_example_answers(1000, 60);
    // docker's own commands see the stack, by its labels.
    let ps = text(&docker(&["stack", "ps", "rcswarm"]));
    for name in ["rcswarm_nginxproxy.1", "rcswarm_fastapi.1", "rcswarm_mongodb.1"] {
        assert!(ps.contains(name), "{ps}");
    }
    assert_eq!(ids(&["stack", "services", "-q", "rcswarm"]).len(), 3);
    let ls = text(&stack(&example, "rcswarm", &["ls"]));
    assert!(
        ls.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["rcswarm", "3"]),
        "{ls}"
    );
    let services = text(&stack(&example, "rcswarm", &["services"]));
    assert!(services.contains("rcswarm_nginxproxy") && services.contains("1/1"), "{services}");
    let image = String::from_utf8_lossy(
        &docker(&[
            "service",
            "inspect",
            "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
            "rcswarm_nginxproxy",
        ])
        .stdout,
    )
    .trim()
    .to_string();
    assert!(image.starts_with("rcompose-proxy:"), "{image}");
    let size = String::from_utf8_lossy(
        &docker(&["image", "inspect", "--format", "{{.Size}}", &image]).stdout,
    )
    .trim()
    .to_string();
    eprintln!("proxy image {image}: {size} bytes");

    // A chain: b waits for a to be healthy, which takes a's first passing check.
    let chain = tempfile::tempdir().unwrap();
    std::fs::write(
        chain.path().join("compose.yaml"),
        format!(
            "services:\n  a:\n    image: {bb}\n    command: ['sh', '-c', 'sleep 3; touch /tmp/ready; exec sleep 1000']\n    healthcheck: {{test: ['CMD', 'test', '-f', '/tmp/ready'], interval: 1s, retries: 30}}\n  b:\n    image: {bb}\n    command: ['sleep', '1000']\n    depends_on: {{a: {{condition: service_healthy}}}}\n",
            bb = "local/busybox:latest"
        ),
    )
    .unwrap();
    let o = stack(chain.path(), "rcchain", &["deploy"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let waited = out.find("Waiting for service rcchain_a to be healthy").expect(&out);
    assert!(waited < out.find("Creating service rcchain_b").expect(&out), "{out}");
    let a = ids(&["ps", "-q", "--filter", "label=com.docker.swarm.service.name=rcchain_a"]);
    let log = String::from_utf8_lossy(
        &docker(&["inspect", "--format", "{{json .State.Health.Log}}", &a[0]]).stdout,
    )
    .into_owned();
    let log: serde_json::Value = serde_json::from_str(&log).unwrap();
    let healthy_at = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["ExitCode"] == 0)
        .and_then(|e| e["End"].as_str())
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap())
        .expect("a became healthy");
    let b_task = ids(&["service", "ps", "-q", "rcchain_b"]);
    let created = String::from_utf8_lossy(
        &docker(&["inspect", "--format", "{{json .CreatedAt}}", &b_task[0]]).stdout,
    )
    .trim()
    .to_string();
    let created = chrono::DateTime::parse_from_rfc3339(created.trim_matches('"')).unwrap();
    assert!(created >= healthy_at, "b's task {created} before a was healthy {healthy_at}");

    // Deployed again with a change to a: updated in place, b again only once the new a is healthy.
    let file = chain.path().join("compose.yaml");
    let changed = std::fs::read_to_string(&file)
        .unwrap()
        .replace("    healthcheck:", "    environment: {ROUND: '2'}\n    healthcheck:");
    std::fs::write(&file, changed).unwrap();
    let o = stack(chain.path(), "rcchain", &["deploy"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("Updating service rcchain_a"), "{out}");
    let env = text(&docker(&[
        "service",
        "inspect",
        "--format",
        "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
        "rcchain_a",
    ]));
    assert!(env.contains("ROUND=2"), "{env}");
    let running_a = ids(&["ps", "-q", "--filter", "label=com.docker.swarm.service.name=rcchain_a"]);
    let env = text(&docker(&["inspect", "--format", "{{json .Config.Env}}", &running_a[0]]));
    assert!(env.contains("ROUND=2"), "the new a was not waited for: {env}");

    // A built image whose name says a registry is pushed there, and the swarm runs it from there.
    let registry = common::Registry::start();
    let built = tempfile::tempdir().unwrap();
    std::fs::write(
        built.path().join("compose.yaml"),
        format!(
            "services:\n  app:\n    image: {}/rcpush/app:1\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM local/busybox:latest\n        CMD [\"sleep\", \"1000\"]\n",
            registry.addr
        ),
    )
    .unwrap();
    let o = stack(built.path(), "rcpush", &["deploy"]);
    assert!(o.status.success(), "{}", text(&o));
    let tags = Command::new("curl")
        .args(["-s", "-m", "5"])
        .arg(format!("http://{}/v2/rcpush/app/tags/list", registry.addr))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&tags.stdout).contains("\"1\""), "{}", text(&tags));
    // A registry that does not answer: a clear error before anything is deployed.
    let o = stack(built.path(), "rcnopush", &["deploy", "--registry", "127.0.0.1:9"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("is the registry reachable?"), "{}", text(&o));
    assert!(
        ids(&["service", "ls", "-q", "--filter", "label=com.docker.stack.namespace=rcnopush"])
            .is_empty()
    );

    // Removed, with its networks and configs.
    for (dir, name) in
        [(example.as_path(), "rcswarm"), (chain.path(), "rcchain"), (built.path(), "rcpush")]
    {
        let o = stack(dir, name, &["rm"]);
        assert!(o.status.success(), "{}", text(&o));
        let label = format!("label=com.docker.stack.namespace={name}");
        assert!(ids(&["service", "ls", "-q", "--filter", &label]).is_empty());
        assert!(ids(&["network", "ls", "-q", "--filter", &label]).is_empty());
        assert!(ids(&["config", "ls", "-q", "--filter", &label]).is_empty());
    }
    let again = stack(&example, "rcswarm", &["rm"]);
    assert!(text(&again).contains("Nothing found in stack: rcswarm"), "{}", text(&again));

    // Out of swarm mode: a clear error, nothing made.
    drop(swarm);
    if docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.starts_with(b"inactive") {
        let o = stack(&example, "rcswarm", &["deploy"]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("is not a swarm manager"), "{}", text(&o));
    }
}
