//! The command line itself: help with examples, version, completions kept in
//! sync with the CLI, and commands that have not landed saying so.

mod common;

use rcompose::commands::completions;

const SUBCOMMANDS: &[&str] = &[
    "up",
    "down",
    "logs",
    "ps",
    "build",
    "pull",
    "start",
    "stop",
    "restart",
    "config",
    "proxy",
    "completions",
    "version",
    "cp",
    "stats",
    "push",
];

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in SUBCOMMANDS {
        let out = common::rcompose().args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success(), "{cmd} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: rcompose"), "{cmd}: {text}");
        assert!(text.contains("Examples:\n  rcompose"), "{cmd} --help has no example:\n{text}");
    }
    let out = common::rcompose().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--file",
        "--project-name",
        "--project-directory",
        "--env-file",
        "--profile",
        "--ansi",
        "--progress",
    ] {
        assert!(text.contains(flag), "global {flag} missing from help");
    }
}

#[test]
fn version_prints_the_crate_version() {
    let out = common::rcompose().args(["version", "--short"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), env!("CARGO_PKG_VERSION"));
    let out = common::rcompose().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn checked_in_completions_match_the_cli() {
    use clap_complete::Shell;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell, Shell::Elvish] {
        let path = common::repo_root().join("completions").join(completions::file_name(shell));
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == completions::script(shell),
            "{} is out of date; regenerate it with `cargo run -- completions {shell} > {}`",
            path.display(),
            path.display()
        );
        let out = common::rcompose().args(["completions", &shell.to_string()]).output().unwrap();
        assert_eq!(out.stdout, on_disk, "`rcompose completions {shell}` differs from the file");
    }
}

#[test]
fn an_option_given_twice_takes_the_last_as_docker_compose_does() {
    let dir = common::fixtures().join("compat/profiles");
    let out = common::rcompose()
        .current_dir(&dir)
        .args(["-p", "first", "-p", "second", "config", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "second");
}

#[test]
fn bad_flags_are_usage_errors() {
    let out = common::rcompose().args(["config", "--format", "xml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'xml'"));
}

#[test]
fn config_output_flags() {
    let example = common::repo_root().join("examples/fastapi-mongo/docker-compose.yml");
    let run = |args: &[&str]| {
        let out = common::rcompose().arg("-f").arg(&example).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // Dependencies first, as docker compose lists them.
    assert_eq!(run(&["config", "--services"]), "fastapi\nmongodb\nnginxproxy\n");
    assert_eq!(run(&["config", "--images"]), "fastapi-mongo-fastapi\nmongo:7.0.5\nnginx:alpine\n");
    assert_eq!(run(&["config", "-q"]), "");
    let yaml = run(&["config"]);
    assert!(yaml.starts_with("name: fastapi-mongo\n"), "{yaml}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["config", "--format", "json"])).unwrap();
    assert_eq!(json["services"]["fastapi"]["command"][4], "--host");
    let out = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(run(&["config", "-o", out.path().to_str().unwrap()]), "");
    assert_eq!(std::fs::read_to_string(out.path()).unwrap(), yaml);
    assert_eq!(run(&["config", "--services", "fastapi"]), "fastapi\n");
}

#[test]
fn no_command_prints_help_and_help_names_a_command() {
    // As docker compose: the help on standard output, and success.
    let out = common::rcompose().output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: rcompose"));
    let out = common::rcompose().args(["help", "ps"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: rcompose ps"));
}

#[test]
fn ansi_never_and_no_color_reach_help_and_usage_errors() {
    for args in [
        &["--ansi", "never", "--help"][..],
        &["--ansi=never", "logs", "--bogus"],
        &["--ansi", "never", "bogus"],
    ] {
        let out = common::rcompose().args(args).env_remove("NO_COLOR").output().unwrap();
        let all = [out.stdout, out.stderr].concat();
        assert!(!all.contains(&0x1b), "{args:?} printed escape codes");
    }
    let out = common::rcompose().args(["--ansi", "always", "bogus"]).output().unwrap();
    assert!(out.stderr.contains(&0x1b), "--ansi always colours the error");
    let out = common::rcompose()
        .args(["--ansi", "always", "bogus"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.stderr.contains(&0x1b), "--ansi always wins over NO_COLOR");
    let out = common::rcompose().args(["logs", "--bogus"]).env("NO_COLOR", "1").output().unwrap();
    assert!(!out.stderr.contains(&0x1b));
}

#[test]
fn unknown_commands_never_suggest_one_that_changes_state_for_one_that_reads() {
    let tip = |word: &str| {
        let out = common::rcompose().arg(word).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{word}");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(err.contains(&format!("unrecognized subcommand '{word}'")), "{err}");
        err.lines().find(|l| l.contains("tip:")).map(|l| l.trim().to_string())
    };
    assert_eq!(tip("top2").as_deref(), Some("tip: a similar subcommand exists: 'top'"));
    assert_eq!(tip("stpo").as_deref(), Some("tip: a similar subcommand exists: 'stop'"));
    for word in ["statss", "lgs", "bogus", "upp"] {
        if let Some(t) = tip(word) {
            for changes in ["'stop'", "'start'", "'up'", "'down'", "'rm'", "'kill'", "'restart'"] {
                assert!(!t.contains(changes) || word == "upp", "{word}: {t}");
            }
        }
    }
}
