//! Waiting on dependencies never hangs (issue 37). The engine stamps each
//! event before it takes the lock that orders them, so two containers'
//! events can arrive out of time order; rcompose once dropped an event
//! stamped earlier than one it had passed on, and a `die` or `health_status`
//! lost that way left `up -d` waiting out its 600 s timeout for a dependency
//! that was already met.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{BUSYBOX, TestProject, docker};

/// Busy loops on every core, killed when dropped: the hang was a race,
/// seen on a loaded machine.
struct CpuHog(Vec<Child>);

impl CpuHog {
    fn start() -> CpuHog {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        CpuHog(
            (0..n)
                .map(|_| {
                    Command::new("sh").args(["-c", "while :; do :; done"]).spawn().expect("sh runs")
                })
                .collect(),
        )
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every event the engine sends reaches the hub's receivers, also the ones
/// that arrive out of time order under concurrent load.
#[test]
fn the_event_hub_passes_on_every_event_of_concurrent_containers() {
    common::ensure_busybox();
    let name = format!("rct-hub-{}", std::process::id());
    let containers: Vec<String> = (0..6).map(|i| format!("{name}-{i}")).collect();
    for c in &containers {
        docker(&[
            "run",
            "-d",
            "--name",
            c,
            "--label",
            &format!("com.docker.compose.project={name}"),
            BUSYBOX,
            "sleep",
            "300",
        ]);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rounds = 60;
    let counted = rt.block_on(async {
        let engine = rcompose::engine::Engine::connect().await.unwrap();
        let hub = rcompose::engine::events::EventHub::subscribe(&engine, &name);
        let mut rx = hub.receiver();
        // The hub's stream connects while the first execs run: those come from its replay.
        let load = tokio::task::spawn_blocking({
            let containers = containers.clone();
            move || {
                for _ in 0..rounds {
                    let running: Vec<Child> = containers
                        .iter()
                        .map(|c| Command::new("docker").args(["exec", c, "true"]).spawn().unwrap())
                        .collect();
                    for mut r in running {
                        assert!(r.wait().unwrap().success());
                    }
                }
            }
        });
        let mut dies: BTreeMap<String, usize> = BTreeMap::new();
        let want = rounds * containers.len();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while dies.values().sum::<usize>() < want {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(ev)) if ev.action == "exec_die" => *dies.entry(ev.name).or_default() += 1,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("the hub's channel failed: {e}"),
                Err(_) => break,
            }
        }
        load.await.unwrap();
        dies
    });
    for c in &containers {
        let _ = Command::new("docker").args(["rm", "-f", c]).output();
    }
    for c in &containers {
        assert_eq!(
            counted.get(c).copied().unwrap_or(0),
            rounds,
            "exec_die events of {c} passed on: {counted:?}"
        );
    }
}

fn lifecycle_stack() -> String {
    format!(
        r#"services:
  web:
    image: {BUSYBOX}
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 20
  init:
    image: {BUSYBOX}
    command: ["sh", "-c", "sleep 1; echo done > /state/init.txt"]
    volumes: [state:/state]
  app:
    build: ./app
    environment:
      GREETING: ${{GREETING:-hello}}
    depends_on:
      web: {{condition: service_healthy}}
      init: {{condition: service_completed_successfully}}
    restart: unless-stopped
    volumes: [state:/state]
volumes:
  state: {{}}
"#
    )
}

/// The sequence of issue 37, in a loop, with the machine loaded: every
/// command finishes, none waits out a timeout. `RCOMPOSE_STRESS_ROUNDS`
/// runs it longer (the hang was seen once in some twenty rounds).
#[test]
fn up_detached_never_hangs_on_a_met_dependency_under_load() {
    let p = TestProject::new("lifecycle", &lifecycle_stack());
    p.write(
        "app/Dockerfile",
        &format!(
            "FROM {BUSYBOX}\nCMD [\"sh\", \"-c\", \"cat /state/init.txt; exec sleep 3600\"]\n"
        ),
    );
    let rounds: usize =
        std::env::var("RCOMPOSE_STRESS_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let _hog = CpuHog::start();
    let mut longest = (Duration::ZERO, String::new());
    for round in 0..rounds {
        let greeting = format!("round{round}");
        for step in
            ["up -d", "up -d", "up -d GREETING", "stop", "start", "down -t 2", "up -d", "down -t 2"]
        {
            let mut args: Vec<&str> = step.split(' ').filter(|w| *w != "GREETING").collect();
            // A bound far above any real wait, below the 600 s a lost event cost.
            args.extend(["--wait-timeout", "90"].iter().filter(|_| step.starts_with("up")));
            let mut cmd = p.rc(&args);
            if step.ends_with("GREETING") {
                cmd.env("GREETING", &greeting);
            }
            let began = Instant::now();
            let out = cmd.output().unwrap();
            let took = began.elapsed();
            assert!(
                out.status.success(),
                "round {round}, `{step}` failed after {took:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            if took > longest.0 {
                longest = (took, format!("round {round}, `{step}`"));
            }
        }
    }
    eprintln!(
        "{rounds} rounds of the lifecycle under load; longest step {:.1}s ({})",
        longest.0.as_secs_f64(),
        longest.1
    );
}
