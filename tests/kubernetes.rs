//! `rcompose convert --to kubernetes`, checked offline against Kubernetes'
//! own schema (`kubernetes-validate --strict`, from PyPI) on the example,
//! on every project under tests/fixtures/compat, and on the real nginx
//! configurations of tests/fidelity/corpus put behind a compose nginx.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn ensure_validator() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let ok = |c: &mut Command| c.output().is_ok_and(|o| o.status.success());
        if ok(Command::new("kubernetes-validate").arg("--version")) {
            return;
        }
        let installed =
            ok(Command::new("python3").args(["-m", "pip", "install", "-q", "kubernetes-validate"]))
                || ok(Command::new("python3").args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--break-system-packages",
                    "kubernetes-validate",
                ]));
        assert!(installed, "cannot install kubernetes-validate from PyPI");
    });
}

/// Validates manifest files strictly (unknown fields refused); the failures, if any.
fn validate(files: &[PathBuf]) -> Result<(), String> {
    ensure_validator();
    let out = Command::new("kubernetes-validate")
        .args(["--strict", "--quiet", "-k", "1.30.0"])
        .args(files)
        .output()
        .expect("kubernetes-validate runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

fn convert(dir: &Path, args: &[String], environ: &[String], out: &Path) -> std::process::Output {
    let mut cmd = common::rcompose();
    cmd.current_dir(dir).env_remove("COMPOSE_FILE").env_remove("COMPOSE_PROJECT_NAME");
    for kv in environ {
        let (k, v) = kv.split_once('=').unwrap();
        cmd.env(k, v);
    }
    cmd.args(args).args(["convert", "--to", "kubernetes", "-o"]).arg(out).output().unwrap()
}

#[test]
fn the_example_converts_to_valid_manifests_with_its_routes_as_an_ingress() {
    let root = common::repo_root();
    let out = tempfile::tempdir().unwrap();
    let k8s = out.path().join("k8s");
    let o = convert(&root.join("examples/fastapi-mongo"), &[], &[], &k8s);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&k8s).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let names: Vec<String> =
        files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for want in [
        "fastapi-deployment.yaml",
        "mongodb-statefulset.yaml",
        "nginxproxy-deployment.yaml",
        "nginxproxy-ingress.yaml",
        "mongodb-env-secret.yaml",
        "frontend-configmap.yaml",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
    validate(&files).unwrap();
    let ingress: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string(k8s.join("nginxproxy-ingress.yaml")).unwrap(),
    )
    .unwrap();
    let paths: Vec<String> = ingress["spec"]["rules"][0]["http"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {}", p["path"].as_str().unwrap(), p["pathType"].as_str().unwrap()))
        .collect();
    assert!(paths.contains(&"/ Prefix".to_string()), "{paths:?}");
    assert!(paths.contains(&"/api/ Prefix".to_string()), "{paths:?}");
    let notes = String::from_utf8_lossy(&o.stderr);
    assert!(
        notes.contains("note: service fastapi: its image fastapi-mongo-fastapi is built here"),
        "{notes}"
    );
}

#[test]
fn every_fixture_project_converts_to_valid_manifests() {
    let root = common::repo_root().join("tests/fixtures/compat");
    let out = tempfile::tempdir().unwrap();
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    let mut files = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let target = out.path().join(format!("{name}.yaml"));
        let o = convert(dir, &lines(&dir.join("args")), &lines(&dir.join("environ")), &target);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        files.push(target);
    }
    assert!(files.len() >= 15, "{} projects", files.len());
    validate(&files).unwrap();
}

/// Host names an nginx.conf sends requests to, to be made services.
fn upstream_hosts(conf: &str) -> Vec<String> {
    let mut out = Vec::new();
    let words: Vec<&str> = conf.split(|c: char| c.is_whitespace() || c == ';').collect();
    for pair in words.windows(2) {
        let host = match pair[0] {
            "proxy_pass" => pair[1]
                .strip_prefix("http://")
                .or_else(|| pair[1].strip_prefix("https://"))
                .unwrap_or(""),
            "server" if pair[1] != "{" => pair[1],
            _ => "",
        };
        let host = host.split(['/', ':']).next().unwrap_or("");
        let is_name = host.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && host.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && host != "localhost";
        if is_name && !out.iter().any(|h| h == host) {
            out.push(host.to_string());
        }
    }
    out
}

#[test]
fn real_nginx_configurations_convert_to_valid_ingresses_or_say_why_not() {
    let corpus = common::repo_root().join("tests/fidelity/corpus");
    let work = tempfile::tempdir().unwrap();
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    let (mut converted, mut refused, mut ingresses, mut kept) = (Vec::new(), Vec::new(), 0, 0);
    for entry in entries {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(conf) = std::fs::read_to_string(entry.join("nginx.conf")) else { continue };
        let dir = work.path().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("nginx.conf"), &conf).unwrap();
        let whole = conf.contains("http {") || conf.contains("http{");
        let target = if whole { "/etc/nginx/nginx.conf" } else { "/etc/nginx/conf.d/default.conf" };
        let mut compose = format!(
            "services:\n  proxy:\n    image: nginx:1.22\n    ports: ['8080:80']\n    volumes: ['./nginx.conf:{target}:ro']\n"
        );
        for host in upstream_hosts(&conf).iter().filter(|h| *h != "proxy") {
            compose.push_str(&format!("  {host:?}:\n    image: local/app\n"));
        }
        std::fs::write(dir.join("compose.yaml"), compose).unwrap();
        let out = dir.join("k8s.yaml");
        let o = convert(&dir, &[], &[], &out);
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        if o.status.success() {
            let text = std::fs::read_to_string(&out).unwrap();
            ingresses += usize::from(text.contains("kind: Ingress"));
            kept += usize::from(text.contains("kind: Deployment\nmetadata:\n  name: proxy\n"));
            converted.push(out);
        } else {
            assert!(stderr.starts_with("error: "), "{name}: {stderr}");
            assert!(!out.exists(), "{name}: output written despite the error");
            refused.push(format!("{name}: {}", stderr.lines().next().unwrap_or_default()));
        }
    }
    eprintln!(
        "{} converted ({ingresses} with an Ingress, {kept} keeping their nginx behind it), {} refused",
        converted.len(),
        refused.len()
    );
    for r in &refused {
        eprintln!("  {r}");
    }
    assert!(refused.is_empty(), "{refused:?}");
    assert!(converted.len() >= 55, "only {} of the corpus converted", converted.len());
    assert_eq!(ingresses, converted.len());
    validate(&converted).unwrap();
}

#[test]
fn convert_without_a_target_is_config_and_bad_projects_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  web_app:\n    image: x\n  web-app:\n    image: x\n",
    )
    .unwrap();
    let run =
        |args: &[&str]| common::rcompose().current_dir(dir.path()).args(args).output().unwrap();
    let config = run(&["config"]);
    let convert = run(&["convert"]);
    assert!(config.status.success());
    assert_eq!(config.stdout, convert.stdout);
    let out = dir.path().join("k8s");
    let o = run(&["convert", "--to", "kubernetes", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("\"web-app\" and \"web_app\" would both be named \"web-app\""),
        "{stderr}"
    );
    assert!(!out.exists());
}
