//! The conversion as a plan on paper: projects written here, manifests
//! read back by kind and name. Offline validation against Kubernetes'
//! schema is in tests/kubernetes.rs.

use serde_json::Value;

use super::{Conversion, convert};
use crate::compose::{LoadOptions, load};

/// Converts a project made of these files (the first is the compose file).
fn convert_files(files: &[(&str, &str)]) -> Result<Conversion, String> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let opts = LoadOptions {
        files: vec![dir.path().join(files[0].0).display().to_string()],
        project_name: Some("shop".into()),
        cwd: dir.path().to_path_buf(),
        print_only: true,
        ..Default::default()
    };
    let project = load(&opts).map_err(|d| format!("{d:?}"))?.project;
    convert(&project)
}

fn get<'a>(c: &'a Conversion, kind: &str, name: &str) -> &'a Value {
    let found = c.objects.iter().find(|o| o.kind == kind && o.name == name);
    &found.unwrap_or_else(|| panic!("no {kind} {name} in {:?}", kinds(c))).value
}

fn kinds(c: &Conversion) -> Vec<String> {
    c.objects.iter().map(|o| format!("{} {}", o.kind, o.name)).collect()
}

fn container(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn a_routing_only_nginx_becomes_an_ingress() {
    let c = convert_files(&[
        (
            "compose.yaml",
            "services:\n  proxy:\n    image: nginx:1.25\n    ports: ['8080:80']\n    volumes: ['./nginx.conf:/etc/nginx/nginx.conf:ro']\n  web:\n    image: local/web\n  api:\n    image: local/api\n",
        ),
        (
            "nginx.conf",
            "events {}\nhttp {\n  server {\n    listen 80;\n    server_name shop.example.com;\n    location / { proxy_pass http://web:3000; proxy_set_header Host $host; }\n    location /api/ { proxy_pass http://api:8000; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }\n  }\n}\n",
        ),
    ])
    .unwrap();
    assert_eq!(
        kinds(&c),
        ["Service api", "Service web", "Deployment api", "Deployment web", "Ingress proxy"]
    );
    let ingress = get(&c, "Ingress", "proxy");
    let rule = &ingress["spec"]["rules"][0];
    assert_eq!(rule["host"], "shop.example.com");
    let routes: Vec<String> = rule["http"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = &p["backend"]["service"];
            format!("{} {} {}:{}", p["pathType"], p["path"], s["name"], s["port"]["number"])
        })
        .collect();
    assert_eq!(routes, [r#""Prefix" "/" "web":3000"#, r#""Prefix" "/api/" "api":8000"#]);
    // The ports nginx reaches them on are their Services' ports.
    assert_eq!(get(&c, "Service", "web")["spec"]["ports"][0]["port"], 3000);
    assert_eq!(get(&c, "Service", "api")["spec"]["clusterIP"], "None");
}

#[test]
fn files_and_rewrites_keep_the_nginx_behind_the_ingress() {
    let c = convert_files(&[
        (
            "compose.yaml",
            "services:\n  proxy:\n    image: nginx:alpine\n    ports: ['1000:80']\n    volumes: ['./nginx.conf:/etc/nginx/nginx.conf', './site:/usr/share/nginx/html']\n  api:\n    image: local/api\n",
        ),
        (
            "nginx.conf",
            "events {}\nhttp {\n  server {\n    listen 80;\n    location / { root /usr/share/nginx/html; try_files $uri /index.html; }\n    location /api/ { rewrite ^/api(/.*)$ $1 break; proxy_pass http://api:7000; }\n    location /plain/ { proxy_pass http://api:7000; add_header X-Frame-Options DENY; }\n  }\n}\n",
        ),
        ("site/index.html", "<h1>shop</h1>\n"),
        ("site/assets/app.js", "app()\n"),
    ])
    .unwrap();
    let ingress = get(&c, "Ingress", "proxy");
    let paths = ingress["spec"]["rules"][0]["http"]["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 3);
    for p in paths {
        assert_eq!(p["backend"]["service"]["name"], "proxy", "{p}");
        assert_eq!(p["backend"]["service"]["port"]["number"], 80);
    }
    let nginx = get(&c, "Deployment", "proxy");
    let volumes = &nginx["spec"]["template"]["spec"]["volumes"];
    assert_eq!(volumes[0]["configMap"]["items"][0]["key"], "nginx.conf");
    assert_eq!(volumes[1]["configMap"]["items"][0]["path"], "assets/app.js");
    let site = get(&c, "ConfigMap", "site");
    assert_eq!(site["data"]["index.html"], "<h1>shop</h1>\n");
    // Published by the Ingress, not by a LoadBalancer of its own.
    assert!(!kinds(&c).contains(&"Service proxy-published".to_string()));
    assert!(c.notes.iter().any(|n| n.contains("left to the Ingress")), "{:?}", c.notes);
}

#[test]
fn dependencies_wait_and_one_shots_run_first() {
    let c = convert_files(&[(
        "compose.yaml",
        "services:\n  app:\n    image: local/app\n    depends_on:\n      db: {condition: service_healthy}\n      migrate: {condition: service_completed_successfully}\n  migrate:\n    image: local/app\n    command: ['migrate']\n    depends_on: [db]\n  db:\n    image: postgres:16\n    healthcheck:\n      test: ['CMD-SHELL', 'pg_isready -U app']\n      interval: 5s\n      timeout: 1500ms\n      retries: 10\n",
    )])
    .unwrap();
    assert!(!kinds(&c).contains(&"Deployment migrate".to_string()), "{:?}", kinds(&c));
    let app = get(&c, "Deployment", "app");
    let init: Vec<&str> = app["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(init, ["wait-for-db", "run-migrate"]);
    assert_eq!(app["spec"]["template"]["spec"]["initContainers"][1]["args"][0], "migrate");
    let probe = &container(get(&c, "Deployment", "db"))["readinessProbe"];
    assert_eq!(probe["exec"]["command"][2], "pg_isready -U app");
    assert_eq!(probe["periodSeconds"], 5);
    assert_eq!(probe["timeoutSeconds"], 2);
    assert_eq!(probe["failureThreshold"], 10);
}

#[test]
fn names_kubernetes_refuses_are_folded_and_clashes_refused() {
    let c = convert_files(&[(
        "compose.yaml",
        "services:\n  Web_App:\n    image: x\n    container_name: legacy_web\n",
    )])
    .unwrap();
    assert_eq!(kinds(&c), ["Service legacy-web", "Service web-app", "Deployment web-app"]);
    let e = convert_files(&[(
        "compose.yaml",
        "services:\n  web_app:\n    image: x\n  web-app:\n    image: x\n",
    )])
    .unwrap_err();
    assert!(e.contains("\"web-app\" and \"web_app\""), "{e}");
}

#[test]
fn volumes_of_one_service_are_its_claims_and_shared_ones_a_claim_of_their_own() {
    let c = convert_files(&[(
        "compose.yaml",
        "services:\n  db:\n    image: postgres\n    volumes: ['data:/var/lib/postgresql/data', 'logs:/logs']\n  shipper:\n    image: x\n    volumes: ['logs:/in:ro', {type: tmpfs, target: /tmp, tmpfs: {size: 1000}}]\nvolumes:\n  data:\n  logs:\n",
    )])
    .unwrap();
    let db = get(&c, "StatefulSet", "db");
    assert_eq!(db["spec"]["volumeClaimTemplates"][0]["metadata"]["name"], "data");
    assert_eq!(db["spec"]["serviceName"], "db");
    let logs = get(&c, "PersistentVolumeClaim", "logs");
    assert_eq!(logs["spec"]["accessModes"][0], "ReadWriteMany");
    let shipper = get(&c, "Deployment", "shipper");
    let vols = &shipper["spec"]["template"]["spec"]["volumes"];
    assert_eq!(vols[0]["persistentVolumeClaim"]["claimName"], "logs");
    assert_eq!(vols[1]["emptyDir"]["sizeLimit"], "1000");
    assert_eq!(container(shipper)["volumeMounts"][0]["readOnly"], true);
}

#[test]
fn env_files_are_shared_objects_and_overrides_stay_in_env() {
    let c = convert_files(&[
        (
            "compose.yaml",
            "services:\n  a:\n    image: x\n    env_file: [common.env]\n    environment: {MODE: a-mode, EXTRA: '1'}\n  b:\n    image: x\n    env_file: [common.env, secret.env]\n",
        ),
        ("common.env", "MODE=shared\nDEBUG=yes\n"),
        ("secret.env", "DB_PASSWORD=hunter2\n"),
    ])
    .unwrap();
    let common = get(&c, "ConfigMap", "common-env");
    assert_eq!(common["data"]["DEBUG"], "yes");
    assert_eq!(common["data"]["MODE"], "shared");
    assert_eq!(get(&c, "Secret", "secret-env")["data"]["DB_PASSWORD"], "aHVudGVyMg==");
    let a = container(get(&c, "Deployment", "a"));
    assert_eq!(a["envFrom"][0]["configMapRef"]["name"], "common-env");
    let env: Vec<String> = a["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}={}", e["name"], e["value"]))
        .collect();
    assert_eq!(env, [r#""EXTRA"="1""#, r#""MODE"="a-mode""#]);
    let b = container(get(&c, "Deployment", "b"));
    assert_eq!(b["envFrom"][1]["secretRef"]["name"], "secret-env");
    assert!(b.get("env").is_none(), "{b}");
    // kubectl reads YAML 1.1: `yes` must come back a string.
    assert!(c.to_yaml().contains("DEBUG: \"yes\""));
}

#[test]
fn configs_and_secrets_are_mounted_where_compose_puts_them() {
    let c = convert_files(&[
        (
            "compose.yaml",
            "services:\n  app:\n    image: x\n    configs: [app_conf]\n    secrets: [{source: token, mode: 0400}]\nconfigs:\n  app_conf: {file: ./app.conf}\nsecrets:\n  token: {file: ./token.txt}\n",
        ),
        ("app.conf", "port = 80\n"),
        ("token.txt", "s3cret"),
    ])
    .unwrap();
    assert_eq!(get(&c, "ConfigMap", "app-conf")["data"]["app_conf"], "port = 80\n");
    assert_eq!(get(&c, "Secret", "token")["data"]["token"], "czNjcmV0");
    let app = get(&c, "Deployment", "app");
    let mounts = &container(app)["volumeMounts"];
    assert_eq!(mounts[0]["mountPath"], "/app_conf");
    assert_eq!(mounts[1]["mountPath"], "/run/secrets/token");
    assert_eq!(mounts[1]["subPath"], "token");
    assert_eq!(app["spec"]["template"]["spec"]["volumes"][1]["secret"]["items"][0]["mode"], 256);
}

#[test]
fn tls_servers_get_their_certificate_as_a_tls_secret() {
    let c = convert_files(&[
        (
            "compose.yaml",
            "services:\n  proxy:\n    image: nginx\n    ports: ['443:443']\n    volumes: ['./nginx.conf:/etc/nginx/nginx.conf', './certs:/etc/nginx/certs']\n  web:\n    image: x\n",
        ),
        (
            "nginx.conf",
            "events {}\nhttp {\n  server {\n    listen 443 ssl;\n    server_name www.example.org *.shop.example.org;\n    ssl_certificate /etc/nginx/certs/site.crt;\n    ssl_certificate_key /etc/nginx/certs/site.key;\n    location / { proxy_pass http://web:80; }\n  }\n}\n",
        ),
        ("certs/site.crt", "CERT"),
        ("certs/site.key", "KEY"),
    ])
    .unwrap();
    let secret = get(&c, "Secret", "proxy-tls");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(secret["data"]["tls.crt"], "Q0VSVA==");
    let ingress = get(&c, "Ingress", "proxy");
    assert_eq!(ingress["spec"]["tls"][0]["secretName"], "proxy-tls");
    assert_eq!(ingress["spec"]["tls"][0]["hosts"][0], "*.shop.example.org");
    assert_eq!(ingress["spec"]["rules"][1]["host"], "www.example.org");
}

#[test]
fn a_bind_mount_is_carried_kept_out_or_claimed_as_its_contents_say() {
    let c = convert_files(&[
        (
            "compose.yaml",
            "services:\n  app:\n    build: ./app\n    volumes: ['./app/src:/code/src', './data:/data', './seed:/seed:ro', '/var/run/docker.sock:/var/run/docker.sock', './empty:/empty:ro']\n",
        ),
        ("app/Dockerfile", "FROM scratch\n"),
        ("app/src/main.py", "print()\n"),
        ("data/.gitignore", "*\n"),
        ("data/written-by-a-run", "x"),
        ("empty/.gitkeep", ""),
        ("seed/rows.csv", "1,2\n"),
    ])
    .unwrap();
    let app = get(&c, "StatefulSet", "app");
    let mounts: Vec<String> = container(app)["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{} {}", m["name"], m["mountPath"]))
        .collect();
    assert_eq!(
        mounts,
        [
            r#""data" "/data""#,
            r#""seed" "/seed""#,
            r#""docker-sock" "/var/run/docker.sock""#,
            r#""empty" "/empty""#
        ]
    );
    assert_eq!(app["spec"]["volumeClaimTemplates"][0]["metadata"]["name"], "data");
    assert_eq!(get(&c, "ConfigMap", "seed")["data"]["rows.csv"], "1,2\n");
    let notes = c.notes.join("\n");
    assert!(notes.contains("./app/src is inside its build context"), "{notes}");
    assert!(notes.contains("./data is mounted read-write"), "{notes}");
    assert!(notes.contains("hostPath"), "{notes}");
    assert!(notes.contains("./empty holds no files (hidden ones aside)"), "{notes}");
}
