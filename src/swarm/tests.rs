//! The stack plan on paper: what `stack deploy` would ask of the swarm,
//! without an engine.

use serde_json::Value;

use super::{PlanOptions, StackPlan, describe, plan};
use crate::compose::{LoadOptions, load};

fn plan_files(files: &[(&str, &str)], opts: PlanOptions) -> StackPlan {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let load_opts = LoadOptions {
        files: vec![dir.path().join(files[0].0).display().to_string()],
        project_name: Some("shop".into()),
        cwd: dir.path().to_path_buf(),
        environ: [("GREETING".to_string(), "hello".to_string())].into(),
        ..Default::default()
    };
    let project = load(&load_opts).unwrap().project;
    plan(&project, &PlanOptions { stack: "shop".into(), ..opts }).unwrap()
}

fn spec<'a>(p: &'a StackPlan, name: &str) -> &'a Value {
    &p.levels.iter().flatten().find(|s| s.service == name).unwrap().spec
}

#[test]
fn a_dependency_chain_deploys_level_by_level_waiting_for_each_condition() {
    let p = plan_files(
        &[(
            "compose.yaml",
            "services:\n  db:\n    image: local/db\n    healthcheck: {test: ['CMD', 'true'], interval: 1s}\n  migrate:\n    image: local/app\n    restart: 'no'\n    depends_on: {db: {condition: service_healthy}}\n  app:\n    image: local/app\n    depends_on:\n      migrate: {condition: service_completed_successfully}\n      db: {condition: service_started}\n",
        )],
        PlanOptions::default(),
    );
    assert_eq!(
        describe(&p),
        "network shop_default\n\
         level 0: service shop_db image local/db, then wait until healthy\n\
         level 1: service shop_migrate image local/app, then wait until completed\n\
         level 2: service shop_app image local/app\n"
    );
    assert_eq!(spec(&p, "migrate")["TaskTemplate"]["RestartPolicy"]["Condition"], "none");
    assert_eq!(spec(&p, "app")["TaskTemplate"]["RestartPolicy"]["Condition"], "any");
    assert_eq!(
        spec(&p, "db")["TaskTemplate"]["ContainerSpec"]["HealthCheck"]["Interval"],
        1_000_000_000u64
    );
}

#[test]
fn names_labels_and_ports_are_docker_stacks() {
    let p = plan_files(
        &[(
            "compose.yaml",
            "services:\n  one:\n    image: local/one\n    container_name: legacy\n  web:\n    image: local/web\n    ports: ['8080:80']\n    deploy:\n      replicas: 2\n      labels: {tier: front}\n      resources: {limits: {cpus: '0.5', memory: 64M}}\n      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3}\n",
        )],
        PlanOptions { dnsrr: true, ..Default::default() },
    );
    let s = spec(&p, "web");
    assert_eq!(s["Name"], "shop_web");
    assert_eq!(s["Labels"]["com.docker.stack.namespace"], "shop");
    assert_eq!(s["Labels"]["tier"], "front");
    assert_eq!(s["Mode"]["Replicated"]["Replicas"], 2);
    assert_eq!(s["EndpointSpec"]["Mode"], "dnsrr");
    assert_eq!(s["EndpointSpec"]["Ports"][0]["PublishMode"], "host");
    assert_eq!(s["EndpointSpec"]["Ports"][0]["PublishedPort"], 8080);
    let t = &s["TaskTemplate"];
    assert_eq!(t["Resources"]["Limits"]["NanoCPUs"], 500_000_000);
    assert_eq!(t["Resources"]["Limits"]["MemoryBytes"], 67_108_864);
    assert_eq!(t["RestartPolicy"]["Delay"], 5_000_000_000u64);
    assert_eq!(t["RestartPolicy"]["MaxAttempts"], 3);
    assert_eq!(t["Networks"][0]["Target"], "shop_default");
    assert_eq!(t["Networks"][0]["Aliases"], serde_json::json!(["web"]));
    let one = &spec(&p, "one")["TaskTemplate"]["Networks"][0]["Aliases"];
    assert_eq!(*one, serde_json::json!(["one", "legacy"]));
    // Serializable as the Engine API takes it.
    let _: bollard::models::ServiceSpec = serde_json::from_value(s.clone()).unwrap();
}

#[test]
fn configs_from_content_and_environment_which_docker_stack_refuses() {
    let p = plan_files(
        &[
            (
                "compose.yaml",
                "services:\n  app:\n    image: x\n    configs: [inline, {source: greeting, target: /etc/greeting, mode: 0440}]\n    secrets: [token]\nconfigs:\n  inline: {content: 'port = 80'}\n  greeting: {environment: GREETING}\nsecrets:\n  token: {file: ./token}\n",
            ),
            ("token", "s3cret"),
        ],
        PlanOptions::default(),
    );
    let blobs: Vec<String> = p
        .configs
        .iter()
        .chain(&p.secrets)
        .map(|b| format!("{}={}", b.name, String::from_utf8_lossy(&b.data)))
        .collect();
    assert_eq!(blobs, ["shop_greeting=hello", "shop_inline=port = 80", "shop_token=s3cret"]);
    let c = &spec(&p, "app")["TaskTemplate"]["ContainerSpec"];
    assert_eq!(c["Configs"][0]["File"]["Name"], "/inline");
    assert_eq!(c["Configs"][1]["File"]["Name"], "/etc/greeting");
    assert_eq!(c["Configs"][1]["File"]["Mode"], 0o440);
    assert_eq!(c["Secrets"][0]["File"]["Name"], "token");
    assert_eq!(c["Secrets"][0]["SecretName"], "shop_token");
}

#[test]
fn the_nginx_runs_as_rcomposes_proxy_with_its_files_as_configs() {
    let p = plan_files(
        &[
            (
                "compose.yaml",
                "services:\n  proxy:\n    image: nginx:alpine\n    ports: ['1000:80']\n    volumes: ['./nginx.conf:/etc/nginx/nginx.conf', './site:/usr/share/nginx/html']\n",
            ),
            (
                "nginx.conf",
                "events {}\nhttp { server { listen 80; root /usr/share/nginx/html; } }\n",
            ),
            ("site/index.html", "<h1>hi</h1>\n"),
            ("site/css/app.css", "h1 {}\n"),
            ("site/.hidden", "x"),
        ],
        PlanOptions { proxy_image: Some("rcompose-proxy:test".into()), ..Default::default() },
    );
    let c = &spec(&p, "proxy")["TaskTemplate"]["ContainerSpec"];
    assert_eq!(c["Image"], "rcompose-proxy:test");
    assert_eq!(c["Args"], serde_json::json!(["proxy", "-c", "/etc/nginx/nginx.conf"]));
    assert!(c.get("Mounts").is_none());
    let targets: Vec<&str> = c["Configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["File"]["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "/etc/nginx/nginx.conf",
            "/usr/share/nginx/html/css/app.css",
            "/usr/share/nginx/html/index.html"
        ]
    );
    // Named after their contents: a changed file is a new config, as swarm configs cannot change.
    assert!(p.configs.iter().all(|b| b.name.starts_with("shop_proxy_") && b.name.len() == 23));
    // Without the proxy image, the nginx container with its bind mounts.
    let p = plan_files(
        &[
            (
                "compose.yaml",
                "services:\n  proxy:\n    image: nginx:alpine\n    volumes: ['./nginx.conf:/etc/nginx/nginx.conf']\n",
            ),
            ("nginx.conf", "events {}\n"),
        ],
        PlanOptions::default(),
    );
    let c = &spec(&p, "proxy")["TaskTemplate"]["ContainerSpec"];
    assert_eq!(c["Image"], "nginx:alpine");
    assert_eq!(c["Mounts"][0]["Type"], "bind");
}

#[test]
fn images_naming_a_registry_are_pushed_there() {
    use super::names_registry;
    assert!(names_registry("127.0.0.1:5000/shop/app:1"));
    assert!(names_registry("registry.example.com/app"));
    assert!(names_registry("localhost/app"));
    assert!(!names_registry("shop-app"));
    assert!(!names_registry("library/nginx:1.25"));
    assert!(!names_registry("me/app"));
}

#[test]
fn a_registry_asked_for_takes_the_place_of_the_one_named() {
    let files = [
        (
            "compose.yaml",
            "services:\n  a:\n    build: .\n  b:\n    image: old.example.com:5000/team/b:2\n    build: .\n",
        ),
        ("Dockerfile", "FROM scratch\n"),
    ];
    let p = plan_files(
        &files,
        PlanOptions { registry: Some("10.0.0.5:5000".into()), ..Default::default() },
    );
    assert_eq!(
        p.builds,
        [
            ("a".to_string(), "10.0.0.5:5000/shop-a".to_string()),
            ("b".to_string(), "10.0.0.5:5000/team/b:2".to_string())
        ]
    );
    assert_eq!(spec(&p, "b")["TaskTemplate"]["ContainerSpec"]["Image"], "10.0.0.5:5000/team/b:2");
}

#[test]
fn the_official_images_templates_travel_rendered() {
    let p = plan_files(
        &[
            (
                "compose.yaml",
                "services:\n  proxy:\n    image: nginx:1.25\n    environment: {BACKEND: 'api:8000'}\n    volumes: ['./templates:/etc/nginx/templates:ro']\n",
            ),
            (
                "templates/default.conf.template",
                "server { location / { proxy_pass http://${BACKEND}; } }\n",
            ),
        ],
        PlanOptions { proxy_image: Some("rcompose-proxy:test".into()), ..Default::default() },
    );
    let c = &spec(&p, "proxy")["TaskTemplate"]["ContainerSpec"];
    assert_eq!(c["Configs"][0]["File"]["Name"], "/etc/nginx/conf.d/default.conf");
    let text = String::from_utf8_lossy(&p.configs[0].data).into_owned();
    assert_eq!(text, "server { location / { proxy_pass http://api:8000; } }\n");
}
