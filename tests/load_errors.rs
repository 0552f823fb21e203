//! Every kind of mistake in a project gets a located error (file, line,
//! column, key path) with a hint where one helps; loading never panics.

mod common;

use std::collections::HashMap;
use std::path::Path;

use rcompose::compose::{LoadOptions, Loaded, load};
use rcompose::diag::{Diagnostic, Diagnostics};
use tempfile::TempDir;

fn project(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::Builder::new().prefix("rc-load").tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn opts(dir: &Path) -> LoadOptions {
    LoadOptions {
        cwd: dir.to_path_buf(),
        environ: HashMap::from([("HOME".to_string(), "/home/u".to_string())]),
        ..Default::default()
    }
}

fn load_dir(dir: &Path) -> Result<Loaded, Diagnostics> {
    load(&opts(dir))
}

fn errors(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    let dir = project(files);
    match load_dir(dir.path()) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d.errors().cloned().collect(),
    }
}

/// Finds the error whose message contains `msg` and checks where it points.
#[track_caller]
fn expect(errs: &[Diagnostic], msg: &str, line: usize, col: usize, path: &str) -> Diagnostic {
    let d = errs
        .iter()
        .find(|d| d.message.contains(msg))
        .unwrap_or_else(|| panic!("no error containing {msg:?} in:\n{}", render(errs)));
    let loc = d.location.as_ref().expect("a location");
    assert_eq!((loc.line, loc.col), (line, col), "location of {d}");
    assert_eq!(d.path, path, "key path of {d}");
    d.clone()
}

fn render(errs: &[Diagnostic]) -> String {
    errs.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
}

const DC: &str = "docker-compose.yml";

#[test]
fn yaml_syntax_error_points_at_the_real_line() {
    let errs =
        errors(&[(DC, "services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\n")]);
    let d = &errs[0];
    assert!(d.message.starts_with("YAML syntax error"), "{d}");
    let loc = d.location.as_ref().unwrap();
    assert_eq!(&*loc.file, DC);
    assert!(loc.line >= 5, "{d}");
    assert!(d.to_string().starts_with("docker-compose.yml:"), "{d}");
}

#[test]
fn wrong_types() {
    let errs =
        errors(&[(DC, "services:\n  web:\n    image: [nginx]\n    ports: 80\n    tty: maybe\n")]);
    expect(&errs, "expected a string, found a list", 3, 12, "services.web.image");
    expect(&errs, "expected a list of ports, found an integer", 4, 12, "services.web.ports");
    expect(&errs, "expected true or false", 5, 10, "services.web.tty");
}

#[test]
fn unknown_keys_suggest_the_right_one() {
    let errs =
        errors(&[(DC, "services:\n  web:\n    image: nginx\n    prots: ['80:80']\nservice: {}\n")]);
    let d = expect(&errs, "unknown key `prots`", 4, 5, "services.web.prots");
    assert_eq!(d.hint.as_deref(), Some("did you mean `ports`?"));
    let d = expect(&errs, "unknown top-level key `service`", 5, 1, "service");
    assert_eq!(d.hint.as_deref(), Some("did you mean `services`?"));
}

#[test]
fn port_out_of_range() {
    let errs = errors(&[(
        DC,
        "services:\n  web:\n    image: nginx\n    ports:\n      - \"8080:80\"\n      - \"99999:80\"\n",
    )]);
    let d =
        expect(&errs, "host port 99999 is out of range (1-65535)", 6, 9, "services.web.ports[1]");
    assert!(d.to_string().starts_with("docker-compose.yml:6:9: services.web.ports[1]: "), "{d}");
}

#[test]
fn bad_restart_value() {
    let errs = errors(&[(DC, "services:\n  web:\n    image: nginx\n    restart: sometimes\n")]);
    let d = expect(&errs, "invalid restart policy \"sometimes\"", 4, 14, "services.web.restart");
    assert!(d.hint.unwrap().contains("unless-stopped"));
}

#[test]
fn depends_on_undefined_service() {
    let errs = errors(&[(
        DC,
        "services:\n  web:\n    image: nginx\n    depends_on:\n      - ap\n  api:\n    image: api\n",
    )]);
    let d =
        expect(&errs, "depends on undefined service \"ap\"", 5, 9, "services.web.depends_on.ap");
    assert_eq!(d.hint.as_deref(), Some("did you mean `api`?"));
}

#[test]
fn dependency_cycle_is_spelled_out() {
    let errs = errors(&[(
        DC,
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n",
    )]);
    expect(&errs, "dependency cycle: a -> b -> c -> a", 4, 5, "services.a.depends_on");
}

#[test]
fn missing_env_file_unless_optional() {
    let errs = errors(&[(
        DC,
        "services:\n  web:\n    image: nginx\n    env_file:\n      - ./missing.env\n",
    )]);
    let d = expect(&errs, "missing.env not found", 5, 9, "services.web.env_file[0]");
    assert!(d.hint.unwrap().contains("required: false"));

    let dir = project(&[(
        DC,
        "services:\n  web:\n    image: nginx\n    env_file:\n      - path: ./missing.env\n        required: false\n",
    )]);
    assert!(load_dir(dir.path()).is_ok());
}

#[test]
fn env_file_syntax_error_points_into_the_env_file() {
    let errs = errors(&[
        (DC, "services:\n  web:\n    image: nginx\n    env_file: app.env\n"),
        ("app.env", "A=1\nB=\"unterminated\n"),
    ]);
    let d = errs.iter().find(|d| d.message.contains("unterminated")).expect("dotenv error");
    let loc = d.location.as_ref().unwrap();
    assert!(loc.file.ends_with("app.env"));
    assert_eq!(loc.line, 2);
}

#[test]
fn a_variable_name_with_a_trailing_space_is_refused_as_docker_compose_refuses_it() {
    let errs = errors(&[(
        DC,
        "services:\n  web:\n    image: x\n    environment:\n      - OK=1\n      - SPACED = value\n",
    )]);
    expect(
        &errs,
        "the variable name \"SPACED \" ends with a space",
        6,
        9,
        "services.web.environment.SPACED",
    );
}

#[test]
fn missing_build_context_or_dockerfile() {
    let errs = errors(&[(DC, "services:\n  web:\n    build: ./nowhere\n")]);
    expect(&errs, "nowhere does not exist", 3, 12, "services.web.build.context");

    let errs = errors(&[
        (
            DC,
            "services:\n  web:\n    build:\n      context: ./app\n      dockerfile: Dockerfile.prod\n",
        ),
        ("app/Dockerfile", "FROM x\n"),
    ]);
    expect(&errs, "Dockerfile.prod not found", 5, 19, "services.web.build.dockerfile");

    // `config` only prints, and docker compose config accepts both: warnings, in place.
    let dir = project(&[
        (DC, "services:\n  web:\n    build: ./nowhere\n  api:\n    build: ./app\n"),
        ("app/x", ""),
    ]);
    let loaded =
        load(&LoadOptions { print_only: true, ..opts(dir.path()) }).expect("config loads it");
    let warnings: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
    assert!(
        warnings.iter().any(
            |w| w.contains("docker-compose.yml:3:12: ") && w.contains("nowhere does not exist")
        ),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("docker-compose.yml:5:12: ") && w.contains("Dockerfile not found")),
        "{warnings:?}"
    );
}

#[test]
fn required_variable_unset() {
    let errs =
        errors(&[(DC, "services:\n  web:\n    image: \"nginx:${TAG:?set TAG to the release}\"\n")]);
    let d = expect(
        &errs,
        "required variable TAG is missing a value: set TAG to the release",
        3,
        12,
        "services.web.image",
    );
    assert!(d.hint.unwrap().contains("TAG"));
}

#[test]
fn unset_variable_warns_and_is_empty() {
    let dir = project(&[(DC, "services:\n  web:\n    image: \"nginx${NOPE}\"\n")]);
    let loaded = load_dir(dir.path()).unwrap();
    assert_eq!(loaded.project.services["web"].image.as_deref(), Some("nginx"));
    let w = loaded
        .warnings
        .iter()
        .find(|w| w.message.contains("\"NOPE\" variable is not set"))
        .expect("warning");
    assert_eq!(w.location.as_ref().unwrap().line, 3);
}

#[test]
fn empty_file() {
    let errs = errors(&[(DC, "")]);
    assert!(errs[0].message.contains("empty"), "{}", errs[0]);
    assert!(errs[0].to_string().starts_with("docker-compose.yml: "), "{}", errs[0]);
    let errs = errors(&[(DC, "# nothing but a comment\n")]);
    assert!(errs[0].message.contains("empty"));
}

#[test]
fn services_not_a_mapping() {
    let errs = errors(&[(DC, "services:\n  - web\n  - db\n")]);
    expect(&errs, "services must be a mapping, found a list", 2, 3, "services");
}

#[test]
fn duplicate_keys() {
    let errs = errors(&[(DC, "services:\n  web:\n    image: a\n    image: b\n")]);
    expect(&errs, "mapping key \"image\" already defined at line 3", 4, 5, "");
}

#[test]
fn several_problems_reported_together() {
    let errs = errors(&[(
        DC,
        "services:\n  web:\n    image: nginx\n    restart: sometimes\n    ports: ['70000:80']\n  db:\n    imag: postgres\n",
    )]);
    assert!(errs.len() >= 3, "{}", render(&errs));
    expect(&errs, "invalid restart policy", 4, 14, "services.web.restart");
    expect(&errs, "out of range", 5, 13, "services.web.ports[0]");
    expect(&errs, "unknown key `imag`", 7, 5, "services.db.imag");
}

#[test]
fn undefined_volume_and_network() {
    let errs = errors(&[(
        DC,
        "services:\n  web:\n    image: nginx\n    volumes: ['data:/data']\n    networks: [back]\n",
    )]);
    expect(&errs, "undefined volume \"data\"", 4, 15, "services.web.volumes[0]");
    expect(&errs, "undefined network \"back\"", 5, 16, "services.web.networks.back");
}

#[test]
fn invalid_project_names() {
    let dir = project(&[(DC, "services:\n  web:\n    image: nginx\n")]);
    let mut o = opts(dir.path());
    o.project_name = Some("Bad Name".into());
    let err = load(&o).unwrap_err();
    assert!(err.to_string().contains("invalid project name \"Bad Name\""), "{err}");

    let dir = project(&[(DC, "name: UPPER\nservices:\n  web:\n    image: nginx\n")]);
    let errs: Vec<_> = load_dir(dir.path()).unwrap_err().errors().cloned().collect();
    expect(&errs, "invalid project name \"UPPER\"", 1, 7, "name");
}

#[test]
fn project_name_precedence_and_normalization() {
    let dir =
        project(&[("My_App.Dir/docker-compose.yml", "services:\n  web:\n    image: nginx\n")]);
    let sub = dir.path().join("My_App.Dir");
    assert_eq!(load_dir(&sub).unwrap().project.name, "my_appdir");
    let mut o = opts(&sub);
    o.environ.insert("COMPOSE_PROJECT_NAME".into(), "from-env".into());
    assert_eq!(load(&o).unwrap().project.name, "from-env");
    o.project_name = Some("from-flag".into());
    assert_eq!(load(&o).unwrap().project.name, "from-flag");

    let dir = project(&[(DC, "name: from-file\nservices:\n  web:\n    image: nginx\n")]);
    assert_eq!(load_dir(dir.path()).unwrap().project.name, "from-file");
}

#[test]
fn discovery_walks_up_and_adds_the_override() {
    let dir = project(&[
        ("compose.yaml", "services:\n  web:\n    image: nginx\n"),
        ("compose.override.yaml", "services:\n  web:\n    image: nginx:override\n"),
        ("deep/er/.keep", ""),
    ]);
    let loaded = load_dir(&dir.path().join("deep/er")).unwrap();
    assert_eq!(loaded.project.services["web"].image.as_deref(), Some("nginx:override"));
    assert_eq!(loaded.project.config_files.len(), 2);
    assert_eq!(loaded.project.working_dir, dir.path());
}

#[test]
fn compose_file_variable_lists_files() {
    let dir = project(&[
        ("a.yml", "services:\n  web:\n    image: a\n"),
        ("b.yml", "services:\n  web:\n    image: b\n"),
    ]);
    let mut o = opts(dir.path());
    o.environ.insert("COMPOSE_FILE".into(), "a.yml:b.yml".into());
    assert_eq!(load(&o).unwrap().project.services["web"].image.as_deref(), Some("b"));
}

#[test]
fn no_compose_file_found() {
    let dir = project(&[("README", "")]);
    let err = load_dir(dir.path()).unwrap_err();
    let d = err.errors().next().unwrap();
    assert!(d.message.contains("no compose file found"), "{d}");
    assert!(d.hint.as_ref().unwrap().contains("-f"));
}

#[test]
fn obsolete_version_and_unsupported_keys_warn() {
    let dir = project(&[(
        DC,
        "version: '3.8'\nservices:\n  web:\n    image: nginx\n    deploy:\n      mode: global\n",
    )]);
    let loaded = load_dir(dir.path()).unwrap();
    let msgs: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    assert!(msgs.iter().any(|m| m.contains("`version` is obsolete")), "{msgs:?}");
    assert!(
        msgs.iter().any(|m| m.starts_with("docker-compose.yml:6:7: services.web.deploy.mode: `mode` is for a swarm: `rcompose stack deploy` acts on it")),
        "{msgs:?}"
    );
}

#[test]
fn profiles_leave_services_out_unless_named_or_enabled() {
    let files = [(
        DC,
        "services:\n  app:\n    image: app\n  debug:\n    image: debug\n    profiles: [debug]\n",
    )];
    let dir = project(&files);
    let p = load_dir(dir.path()).unwrap().project;
    assert!(p.services.contains_key("app") && !p.services.contains_key("debug"));
    let mut o = opts(dir.path());
    o.profiles = vec!["debug".into()];
    assert!(load(&o).unwrap().project.services.contains_key("debug"));
    let mut o = opts(dir.path());
    o.services = vec!["debug".into()];
    assert!(load(&o).unwrap().project.services.contains_key("debug"));
    let mut o = opts(dir.path());
    o.environ.insert("COMPOSE_PROFILES".into(), "debug".into());
    assert!(load(&o).unwrap().project.services.contains_key("debug"));
}

#[test]
fn dependency_on_a_disabled_service_names_the_profile() {
    let errs = errors(&[(
        DC,
        "services:\n  app:\n    image: app\n    depends_on: [tools]\n  tools:\n    image: t\n    profiles: [dev]\n",
    )]);
    let d = expect(
        &errs,
        "depends on service \"tools\", which is not enabled",
        4,
        18,
        "services.app.depends_on.tools",
    );
    assert!(d.hint.unwrap().contains("--profile dev"));
}

#[test]
fn invalid_interpolation_syntax() {
    let errs = errors(&[(DC, "services:\n  web:\n    image: \"nginx:${TAG\"\n")]);
    let d = expect(&errs, "invalid interpolation format", 3, 12, "services.web.image");
    assert!(d.hint.unwrap().contains("$$"));
}

#[test]
fn cli_reports_errors_with_exit_status_and_no_panic() {
    let dir = project(&[(
        DC,
        "services:\n  web:\n    image: nginx\n    ports: ['99999:80']\n    restart: sometimes\n",
    )]);
    let out = common::rcompose()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "error: docker-compose.yml:4:13: services.web.ports[0]: host port 99999 is out of range"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("error: docker-compose.yml:5:14: services.web.restart:"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("\x1b["), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn control_characters_are_refused_where_they_stand_as_docker_compose_does() {
    // A NUL in a plain scalar; docker compose: "yaml: control characters are not allowed".
    let errs = errors(&[(
        DC,
        "services:\n  web:\n    image: busybox\n    ports:\n      - 3 - 38125 \0\0x\n",
    )]);
    let d = expect(&errs, "control character U+0000 is not allowed", 5, 19, "");
    assert!(d.hint.is_some(), "{d}");
    let errs = errors(&[(DC, "services:\n  web:\n    image: busy\u{1b}box\n")]);
    expect(&errs, "control character U+001B", 3, 16, "");
    // Escapes in quoted strings, a leading byte order mark and other text are fine.
    let dir = project(&[(
        DC,
        "\u{feff}services:\n  web:\n    image: \"busy\\x00box\"\n    environment:\n      A: caf\u{e9} \u{2603}\n",
    )]);
    assert!(load_dir(dir.path()).is_ok());
}

#[test]
fn resource_and_kernel_settings_are_checked_where_written() {
    let text = "services:
  web:
    image: nginx
    mem_limit: 512q
    cpus: lots
    oom_score_adj: 5000
    mem_swappiness: 101
    tmpfs: [run]
    cgroup: shared
    devices:
      - /dev/null:/dev/xnull:rwx
      - \"\"
";
    let errs = errors(&[(DC, text)]);
    expect(&errs, "unknown unit \"q\"", 4, 16, "services.web.mem_limit");
    expect(&errs, "expected a number of CPUs", 5, 11, "services.web.cpus");
    let d = expect(&errs, "5000 is out of range", 6, 20, "services.web.oom_score_adj");
    assert_eq!(d.hint.as_deref(), Some("use a whole number from -1000 to 1000"));
    expect(&errs, "101 is out of range", 7, 21, "services.web.mem_swappiness");
    let d = expect(&errs, "invalid tmpfs mount \"run\"", 8, 13, "services.web.tmpfs");
    assert!(d.hint.unwrap().contains("absolute path"));
    expect(&errs, "invalid cgroup mode \"shared\"", 9, 13, "services.web.cgroup");
    let d = expect(&errs, "invalid device permissions \"rwx\"", 11, 9, "services.web.devices[0]");
    assert!(d.hint.unwrap().contains("HOST_PATH"));
    expect(&errs, "a path is empty", 12, 9, "services.web.devices[1]");
    // None of them is a warning that lets the file through.
    assert!(!render(&errs).contains("does not act on it yet"), "{}", render(&errs));
}

#[test]
fn network_mode_excludes_networks_and_names_a_real_service() {
    let text = "services:
  web:
    image: nginx
    network_mode: host
    networks: [default]
  side:
    image: nginx
    network_mode: service:wbe
";
    let errs = errors(&[(DC, text)]);
    let d = expect(&errs, "has both network_mode and networks", 4, 19, "services.web.network_mode");
    assert_eq!(d.hint.as_deref(), Some("keep one of them"));
    // The dependency docker compose adds for it is reported where it comes from.
    let d = expect(
        &errs,
        "depends on undefined service \"wbe\"",
        8,
        19,
        "services.side.depends_on.wbe",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `web`?"));

    let text = "services:\n  web:\n    image: nginx\n    volumes_from: [\"web2:rx\", ghost]\n  web2:\n    image: nginx\n";
    let errs = errors(&[(DC, text)]);
    let d = expect(
        &errs,
        "invalid volumes_from entry \"web2:rx\"",
        4,
        20,
        "services.web.volumes_from[0]",
    );
    assert!(d.hint.unwrap().contains("SERVICE[:ro|:rw]"));
    expect(&errs, "depends on undefined service \"ghost\"", 4, 31, "services.web.depends_on.ghost");
}

#[test]
fn secrets_and_configs_name_what_is_missing() {
    let text = "services:
  web:
    image: nginx
    secrets: [db_pasword]
    configs:
      - source: site
secrets:
  db_password:
    file: ./pw.txt
  token:
    environment: NO_SUCH_VARIABLE
configs:
  both:
    file: ./a.conf
    content: x
";
    let errs = errors(&[(DC, text)]);
    let d = expect(
        &errs,
        "refers to undefined secret \"db_pasword\"",
        4,
        15,
        "services.web.secrets[0]",
    );
    assert!(d.hint.unwrap().contains("top-level `secrets:`"));
    expect(&errs, "refers to undefined config \"site\"", 6, 17, "services.web.configs[0]");
    let d = expect(
        &errs,
        "comes from variable \"NO_SUCH_VARIABLE\", which is not set",
        11,
        18,
        "secrets.token",
    );
    assert!(d.hint.unwrap().contains("NO_SUCH_VARIABLE"));
    expect(&errs, "\"both\" needs exactly one source", 13, 3, "configs.both");
}

#[test]
fn deploy_resources_and_restart_policy_are_checked() {
    let text = "services:
  web:
    image: nginx
    deploy:
      restart_policy:
        condition: sometimes
      resources:
        limits:
          memory: 1z
";
    let errs = errors(&[(DC, text)]);
    let d = expect(
        &errs,
        "invalid restart condition \"sometimes\"",
        6,
        20,
        "services.web.deploy.restart_policy.condition",
    );
    assert_eq!(d.hint.as_deref(), Some("use none, on-failure or any"));
    expect(&errs, "unknown unit \"z\"", 9, 19, "services.web.deploy.resources.limits.memory");

    let text = "services:\n  web:\n    image: nginx\n    cpus: 0.5\n    mem_limit: 32m\n    deploy:\n      resources:\n        limits: {cpus: '0.25', memory: 32M}\n";
    let errs = errors(&[(DC, text)]);
    let d = expect(
        &errs,
        "`cpus` and `deploy.resources.limits.cpus` differ",
        4,
        5,
        "services.web.cpus",
    );
    assert!(d.hint.unwrap().contains("one place"));
    assert_eq!(errs.len(), 1, "the same memory said twice is fine: {}", render(&errs));
}

#[test]
fn extends_names_the_missing_base_and_the_cycle_once() {
    let text = "services:
  web:
    extends: wbe
  wbe2:
    image: nginx
  api:
    extends: {file: common.yml, service: nope}
  job:
    extends: {file: missing.yml, service: x}
  a:
    extends: b
  b:
    extends: {service: a}
  odd:
    extends: {service: a, files: x}
  num:
    extends: 3
";
    let errs = errors(&[(DC, text), ("common.yml", "services:\n  base:\n    image: x\n")]);
    let d = expect(
        &errs,
        "cannot extend service \"wbe\": no such service",
        3,
        14,
        "services.web.extends",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `wbe2`?"));
    let d = expect(
        &errs,
        "cannot extend service \"nope\": no such service",
        7,
        14,
        "services.api.extends",
    );
    assert_eq!(d.hint.as_deref(), Some("services there: base"));
    expect(
        &errs,
        "cannot read missing.yml, the file to extend",
        9,
        21,
        "services.job.extends.file",
    );
    let d = expect(&errs, "circular extends: ", 13, 14, "services.b.extends");
    assert!(d.message.ends_with("a -> b -> a"), "{d}");
    expect(&errs, "unknown key `files` in extends", 15, 27, "services.odd.extends.files");
    expect(
        &errs,
        "extends must be a service name or a mapping, found an integer",
        17,
        14,
        "services.num.extends",
    );
    // One error each; a service with no base brings no follow-on errors.
    assert_eq!(errs.len(), 6, "{}", render(&errs));
}

#[test]
fn an_error_in_an_extended_file_points_into_that_file() {
    let base = "services:\n  app:\n    image: x\n    ports: ['99999:80']\n";
    let errs = errors(&[
        (DC, "services:\n  web:\n    extends: {file: lib/base.yml, service: app}\n"),
        ("lib/base.yml", base),
    ]);
    let d = expect(&errs, "99999", 4, 13, "services.web.ports[0]");
    assert_eq!(&*d.location.unwrap().file, "lib/base.yml");
}

#[test]
fn links_are_checked_and_name_their_service() {
    let text = "services:
  web:
    image: nginx
    links: [\"db:\", cahce, \"a:b:c\"]
    external_links: [\":x\"]
  cache:
    image: redis
";
    let errs = errors(&[(DC, text)]);
    let d = expect(&errs, "invalid link \"db:\"", 4, 13, "services.web.links[0]");
    assert_eq!(d.hint.as_deref(), Some("write SERVICE or SERVICE:ALIAS"));
    expect(&errs, "invalid link \"a:b:c\"", 4, 27, "services.web.links[2]");
    let d = expect(
        &errs,
        "depends on undefined service \"cahce\"",
        4,
        20,
        "services.web.depends_on.cahce",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `cache`?"));
    let d = expect(&errs, "invalid link \":x\"", 5, 22, "services.web.external_links[0]");
    assert_eq!(d.hint.as_deref(), Some("write CONTAINER or CONTAINER:ALIAS"));
}

#[test]
fn include_names_what_is_missing_clashing_or_circular() {
    let text = "include:
  - nope.yml
  - lib/one.yml
  - path: lib/loop.yml
  - {path: lib/one.yml, dir: x}
  - 3
services:
  cache:
    image: mine
";
    let errs = errors(&[
        (DC, text),
        ("lib/one.yml", "services:\n  cache:\n    image: theirs\n"),
        ("lib/loop.yml", "include: [back.yml]\nservices:\n  l:\n    image: l\n"),
        ("lib/back.yml", "include: [loop.yml]\n"),
    ]);
    let d = expect(&errs, "cannot include nope.yml: no such file", 2, 5, "include[0]");
    assert_eq!(d.hint.as_deref(), Some("an included path is relative to the project directory"));
    let d = expect(
        &errs,
        "service \"cache\" is defined here and, differently, in lib/one.yml",
        8,
        3,
        "services.cache",
    );
    assert_eq!(d.hint.as_deref(), Some("rename one of them, or define it only in lib/one.yml"));
    let d = expect(
        &errs,
        "include cycle: lib/loop.yml -> lib/back.yml -> lib/loop.yml",
        1,
        11,
        "include[0]",
    );
    assert_eq!(&*d.location.unwrap().file, "lib/back.yml");
    expect(&errs, "unknown key `dir` in include", 5, 25, "include[3].dir");
    expect(
        &errs,
        "an include entry must be a path or a mapping, found an integer",
        6,
        5,
        "include[4]",
    );
    assert_eq!(errs.len(), 5, "{}", render(&errs));
}

#[test]
fn an_included_project_reads_its_own_env_under_the_including_one() {
    let dir = project(&[
        (DC, "include: [lib/compose.yml]\nservices:\n  web:\n    image: web\n"),
        (".env", "A=main\n"),
        (
            "lib/compose.yml",
            "services:\n  lib:\n    image: lib:${A}-${B}\n    volumes: ['./data:/data']\n",
        ),
        ("lib/.env", "A=lib\nB=lib\n"),
    ]);
    let loaded = load_dir(dir.path()).unwrap_or_else(|e| panic!("{}", render(&e.0)));
    let lib = &loaded.project.services["lib"];
    assert_eq!(lib.image.as_deref(), Some("lib:main-lib"));
    let src = lib.volumes[0].source.clone().unwrap();
    assert_eq!(Path::new(&src), dir.path().join("lib/data"));
}

#[test]
fn scale_must_agree_with_replicas_and_leave_container_names_alone() {
    let text = "services:
  web:
    image: nginx
    scale: 2
    deploy:
      replicas: 3
  db:
    image: postgres
    container_name: db
    deploy: {replicas: 2}
  job:
    image: busybox
    scale: -1
";
    let errs = errors(&[(DC, text)]);
    expect(&errs, "`scale` (2) and `deploy.replicas` (3) differ", 4, 5, "services.web.scale");
    let d = expect(
        &errs,
        "service \"db\" runs 2 containers, and they cannot all be named \"db\"",
        9,
        5,
        "services.db.container_name",
    );
    assert_eq!(d.hint.as_deref(), Some("remove container_name, or run one container"));
    let d = expect(&errs, "-1 is out of range", 13, 12, "services.job.scale");
    assert_eq!(d.hint.as_deref(), Some("use a whole number from 0 to 10000"));
    assert_eq!(errs.len(), 3, "{}", render(&errs));
}

#[test]
fn blkio_gpus_and_label_files_are_checked_where_written() {
    let text = "services:
  web:
    image: nginx
    blkio_config:
      weight: 5
      device_read_bps: [{path: /dev/sda}]
      device_write_bps: [{path: /dev/sda, rate: 10q}]
    gpus: some
    label_file: missing.labels
  job:
    image: busybox
    gpus: [{count: many, drivr: x}]
";
    let errs = errors(&[(DC, text)]);
    let d = expect(&errs, "5 is out of range", 5, 15, "services.web.blkio_config.weight");
    assert_eq!(d.hint.as_deref(), Some("use a whole number from 10 to 1000"));
    let d = expect(
        &errs,
        "a device needs `path` and `rate`",
        6,
        25,
        "services.web.blkio_config.device_read_bps[0]",
    );
    assert_eq!(d.hint.as_deref(), Some("for example {path: /dev/sda, rate: 10mb}"));
    expect(
        &errs,
        "invalid size \"10q\"",
        7,
        49,
        "services.web.blkio_config.device_write_bps[0].rate",
    );
    expect(&errs, "invalid gpus \"some\"", 8, 11, "services.web.gpus");
    expect(&errs, "label file", 9, 17, "services.web.label_file");
    expect(&errs, "expected a whole number", 12, 20, "services.job.gpus[0].count");
    let d = expect(&errs, "unknown key `drivr`", 12, 26, "services.job.gpus[0].drivr");
    assert_eq!(d.hint.as_deref(), Some("did you mean `driver`?"));
}

#[test]
fn a_hook_needs_a_command() {
    let text = "services:
  web:
    image: nginx
    post_start:
      - user: root
      - {command: [x], usr: root}
";
    let errs = errors(&[(DC, text)]);
    let d = expect(&errs, "a hook needs a `command`", 5, 13, "services.web.post_start[0]");
    assert!(d.hint.unwrap().contains("command"));
    let d = expect(&errs, "unknown key `usr`", 6, 24, "services.web.post_start[1].usr");
    assert_eq!(d.hint.as_deref(), Some("did you mean `user`?"));
}
