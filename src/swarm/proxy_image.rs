//! rcompose's proxy as an image, so a swarm serves an nginx.conf with the
//! same code a laptop does. Built FROM scratch around this very binary and
//! the shared libraries it loads (nothing is pulled: no registry needed),
//! with the nginx image's layout: `/etc/nginx`, logs to stdout and stderr.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::compose::model::Build;
use crate::engine::{Engine, images};

/// The image for this binary, built when the engine does not have it yet;
/// named after the binary's contents, so a new rcompose gets a new image.
pub async fn ensure(engine: &Engine, out: &(dyn Fn(&str) + Sync)) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("cannot find rcompose's own binary")?;
    let digest = tokio::task::block_in_place(|| digest(&exe))?;
    let tag = format!("rcompose-proxy:{}-{}", env!("CARGO_PKG_VERSION"), &digest[..12]);
    if images::id(engine, &tag).await?.is_some() {
        return Ok(tag);
    }
    let dir = tempfile::tempdir()?;
    tokio::task::block_in_place(|| layout(&exe, dir.path()))?;
    let build = Build {
        context: dir.path().display().to_string(),
        dockerfile: Some("Dockerfile".into()),
        ..Default::default()
    };
    images::build(engine, &build, &tag, &images::BuildOpts::default(), out)
        .await
        .with_context(|| format!("cannot build the proxy image {tag}"))?;
    Ok(tag)
}

fn digest(exe: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(exe).with_context(|| format!("cannot read {}", exe.display()))?;
    Ok(crate::engine::config_hash::sha256_hex(&bytes))
}

/// The build context: a Dockerfile and `root/`, the image's file tree.
fn layout(exe: &Path, dir: &Path) -> anyhow::Result<()> {
    let root = dir.join("root");
    for d in ["etc/nginx/conf.d", "var/log/nginx", "var/run", "var/cache/nginx", "tmp"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    std::fs::copy(exe, root.join("rcompose"))?;
    // Debug symbols are an eighth of the binary; without `strip` they stay.
    let _ =
        std::process::Command::new("strip").arg("--strip-all").arg(root.join("rcompose")).output();
    for lib in shared_libraries(exe)? {
        let inside = root.join(lib.strip_prefix("/").unwrap_or(&lib));
        std::fs::create_dir_all(inside.parent().unwrap_or(&root))?;
        std::fs::copy(&lib, &inside).with_context(|| format!("cannot copy {}", lib.display()))?;
    }
    let nginx = root.join("etc/nginx");
    std::fs::write(nginx.join("mime.types"), crate::proxy::conf::MIME_TYPES)?;
    std::fs::write(
        nginx.join("nginx.conf"),
        crate::orchestrate::builtin::select::DEFAULT_NGINX_CONF,
    )?;
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/sbin/nologin\nnginx:x:101:101:nginx:/nonexistent:/sbin/nologin\n",
    )?;
    std::fs::write(root.join("etc/group"), "root:x:0:\nnginx:x:101:\n")?;
    // As the nginx image: logs written to the files go to the container's output.
    std::os::unix::fs::symlink("/dev/stdout", root.join("var/log/nginx/access.log"))?;
    std::os::unix::fs::symlink("/dev/stderr", root.join("var/log/nginx/error.log"))?;
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY root/ /\nEXPOSE 80\nSTOPSIGNAL SIGQUIT\nENTRYPOINT [\"/rcompose\"]\nCMD [\"proxy\", \"-c\", \"/etc/nginx/nginx.conf\"]\n",
    )?;
    Ok(())
}

/// The libraries the dynamic loader maps for `exe` (none for a static binary), by `ldd`.
fn shared_libraries(exe: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = std::process::Command::new("ldd")
        .arg(exe)
        .output()
        .context("cannot run ldd to find the libraries the proxy image needs")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut libs = Vec::new();
    for line in text.lines() {
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        }
    }
    Ok(libs)
}
