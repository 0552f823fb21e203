//! `rcompose cp`: files between a service's container and this machine, as
//! `docker compose cp` copies them: `SERVICE:SRC DEST` from the first
//! container (or `--index`), `SRC SERVICE:DEST` into every container of
//! the service; `-` for a tar archive on standard input or output. Archives
//! are streamed both ways, never held whole.

use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use futures::StreamExt;
use tokio_util::io::{ReaderStream, StreamReader, SyncIoBridge};

use crate::cli::{CpArgs, GlobalOpts};
use crate::engine::archive::{self, PathKind};
use crate::engine::{Engine, containers};
use crate::failure::Failure;
use crate::ui::Style;

/// `SERVICE:PATH`, or a local path (absolute, `./x:y`, or without a colon).
fn split(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((svc, path)) if !svc.starts_with('.') => (Some(svc), path),
        _ => (None, arg),
    }
}

pub fn run(global: &GlobalOpts, args: &CpArgs, style: &Style) -> anyhow::Result<i32> {
    let (src_svc, src) = split(&args.source);
    let (dst_svc, dst) = split(&args.destination);
    let service = match (src_svc, dst_svc) {
        (Some(_), Some(_)) => anyhow::bail!("copying between services is not supported"),
        (None, None) => anyhow::bail!("unknown copy direction"),
        (Some(s), None) | (None, Some(s)) => s.to_string(),
    };
    let project = super::load_or_labels(global, std::slice::from_ref(&service), style)?;
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let mut list =
            super::containers_of(&engine, &project, std::slice::from_ref(&service), true).await?;
        if !args.all {
            list.retain(|c| containers::label(c, "com.docker.compose.oneoff") != Some("True"));
        }
        list.sort_by_key(containers::number);
        if let Some(i) = args.index {
            list.retain(|c| containers::number(c) == i);
            if list.is_empty() {
                return Err(Failure::Each(vec![format!(
                    "service {service:?} is not running container #{i}"
                )])
                .into());
            }
        }
        if list.is_empty() {
            anyhow::bail!("no container found for service {service:?}");
        }
        if src_svc.is_some() {
            let c = &list[0];
            from_container(&engine, &containers::id(c), &containers::name(c), src, dst, args)
                .await?;
        } else {
            let stdin = if src == "-" { Some(read_stdin().await?) } else { None };
            for c in &list {
                let (id, name) = (containers::id(c), containers::name(c));
                to_container(&engine, &id, &name, src, dst, args, stdin.clone()).await?;
            }
        }
        Ok(0)
    })
}

async fn read_stdin() -> anyhow::Result<bytes::Bytes> {
    let mut buf = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut buf).await?;
    Ok(buf.into())
}

/// Where the source's root lands, as docker's cp places it: inside an
/// existing directory under its own name (its contents, for `SRC/.`), or
/// as the destination itself.
fn landing(
    src_base: &str,
    src_is_dir: bool,
    contents_only: bool,
    dest: &str,
    dest_kind: &PathKind,
) -> anyhow::Result<PathBuf> {
    let dest_path = PathBuf::from(dest);
    Ok(match dest_kind {
        PathKind::Dir if contents_only => dest_path,
        PathKind::Dir => dest_path.join(src_base),
        PathKind::File | PathKind::Link(_) if src_is_dir => {
            anyhow::bail!("cannot copy a directory to a file: {dest}")
        }
        PathKind::File | PathKind::Link(_) => dest_path,
        PathKind::Missing if dest.ends_with('/') && !src_is_dir => {
            anyhow::bail!("destination directory {dest} does not exist")
        }
        PathKind::Missing => dest_path,
    })
}

fn base_name(p: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/.").unwrap_or(trimmed);
    Path::new(trimmed)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".to_string())
}

fn parent_of(p: &str) -> String {
    match Path::new(p.trim_end_matches('/')).parent() {
        Some(d) if !d.as_os_str().is_empty() => d.display().to_string(),
        _ => "/".to_string(),
    }
}

/// Where a link at `link` pointing to `target` leads (relative: from its folder).
fn followed(link: &str, target: &str) -> String {
    if target.starts_with('/') {
        target.to_string()
    } else {
        format!("{}/{target}", parent_of(link))
    }
}

fn local_kind(p: &Path) -> PathKind {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => PathKind::Dir,
        Ok(_) => PathKind::File,
        Err(_) => PathKind::Missing,
    }
}

async fn from_container(
    engine: &Engine,
    id: &str,
    name: &str,
    src: &str,
    dest: &str,
    args: &CpArgs,
) -> anyhow::Result<()> {
    let mut src = src.to_string();
    let mut src_base = base_name(&src);
    // -L: a link is copied as what it points to, under the link's name.
    if args.follow_link
        && let PathKind::Link(target) = archive::kind(engine, id, &src).await?
    {
        src = followed(&src, &target);
    }
    let kind = archive::kind(engine, id, &src).await?;
    if kind == PathKind::Missing {
        anyhow::bail!("Could not find the file {src} in container {name}");
    }
    let stream = archive::download(engine, id, &src);
    if dest == "-" {
        let mut reader = StreamReader::new(stream);
        tokio::io::copy(&mut reader, &mut tokio::io::stdout()).await?;
        return Ok(());
    }
    if !args.follow_link {
        src_base = base_name(&src);
    }
    let dest_abs = std::path::absolute(dest)?;
    let parent = dest_abs.parent().unwrap_or(Path::new("/"));
    let dest_kind = local_kind(&dest_abs);
    if dest_kind == PathKind::Missing && !parent.is_dir() {
        anyhow::bail!("destination directory {} does not exist", parent.display());
    }
    let contents_only = src.ends_with("/.");
    let root = landing(
        &src_base,
        kind == PathKind::Dir,
        contents_only,
        &dest_abs.display().to_string(),
        &dest_kind,
    )?;
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    tokio::task::spawn_blocking(move || extract(reader, &root)).await??;
    Ok(())
}

/// Unpacks an archive whose first path component is the source's root,
/// with that root at `root`. Entries are placed by their own checked
/// names: none climbs out, none is written through a link.
fn extract(reader: impl std::io::Read, root: &Path) -> anyhow::Result<()> {
    let mut tar = tar::Archive::new(reader);
    tar.set_preserve_permissions(true);
    tar.set_preserve_mtime(true);
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let rest: Vec<Component> = path.components().skip(1).collect();
        if rest.iter().any(|c| !matches!(c, Component::Normal(_))) {
            anyhow::bail!("the archive names a path outside the copy: {}", path.display());
        }
        let mut out = root.to_path_buf();
        for c in &rest {
            if out.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
                anyhow::bail!("{} is a link: not written through", out.display());
            }
            out.push(c);
        }
        if let Some(p) = out.parent() {
            std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
        }
        // A link where a file lands is replaced, not written through.
        if out.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(&out)?;
        }
        entry.unpack(&out).with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}

async fn to_container(
    engine: &Engine,
    id: &str,
    name: &str,
    src: &str,
    dest: &str,
    args: &CpArgs,
    stdin: Option<bytes::Bytes>,
) -> anyhow::Result<()> {
    let mut dest = dest.to_string();
    let mut dest_kind = archive::kind(engine, id, &dest).await?;
    if let PathKind::Link(target) = &dest_kind {
        dest = followed(&dest, target);
        dest_kind = archive::kind(engine, id, &dest).await?;
    }
    if let Some(tar) = stdin {
        if dest_kind != PathKind::Dir {
            anyhow::bail!("destination \"{name}:{dest}\" must be a directory");
        }
        let one = futures::stream::once(async move { Ok(tar) });
        return archive::upload(engine, id, &dest, one, args.archive).await;
    }
    let src_abs = std::path::absolute(src)?;
    let src_path =
        if args.follow_link { std::fs::canonicalize(&src_abs)? } else { src_abs.clone() };
    let meta = std::fs::symlink_metadata(&src_path)
        .with_context(|| format!("stat {}: no such file or directory", src_abs.display()))?;
    let contents_only = src.ends_with("/.");
    let root = landing(&base_name(src), meta.is_dir(), contents_only, &dest, &dest_kind)?;
    let root = root.display().to_string();
    let (dir, root_name) = if contents_only && dest_kind == PathKind::Dir {
        (dest.clone(), ".".to_string())
    } else {
        (parent_of(&root), base_name(&root))
    };
    let (reader, writer) = tokio::io::duplex(1 << 16);
    let builder = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut tar = tar::Builder::new(SyncIoBridge::new(writer));
        tar.follow_symlinks(false);
        if meta.is_dir() {
            tar.append_dir_all(&root_name, &src_path)?;
        } else {
            tar.append_path_with_name(&src_path, &root_name)?;
        }
        tar.into_inner()?;
        Ok(())
    });
    let stream = ReaderStream::new(reader).map(|r| r.map_err(std::io::Error::other));
    let sent = archive::upload(engine, id, &dir, stream, args.archive).await;
    builder.await?.with_context(|| format!("cannot read {}", src_abs.display()))?;
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_name_a_service_only_before_a_colon_of_a_relative_path() {
        assert_eq!(split("web:/etc/hosts"), (Some("web"), "/etc/hosts"));
        assert_eq!(split("/abs:path"), (None, "/abs:path"));
        assert_eq!(split("./file:name"), (None, "./file:name"));
        assert_eq!(split("plain"), (None, "plain"));
    }

    #[test]
    fn copies_land_where_docker_cp_puts_them() {
        let at = |base, dir, contents, dest, kind| {
            landing(base, dir, contents, dest, &kind).map(|p| p.display().to_string())
        };
        assert_eq!(at("a.txt", false, false, "/tmp", PathKind::Dir).unwrap(), "/tmp/a.txt");
        assert_eq!(
            at("a.txt", false, false, "/tmp/b.txt", PathKind::Missing).unwrap(),
            "/tmp/b.txt"
        );
        assert_eq!(at("a.txt", false, false, "/tmp/b.txt", PathKind::File).unwrap(), "/tmp/b.txt");
        assert_eq!(at("d", true, false, "/tmp", PathKind::Dir).unwrap(), "/tmp/d");
        assert_eq!(at("d", true, true, "/tmp", PathKind::Dir).unwrap(), "/tmp");
        assert_eq!(at("d", true, false, "/tmp/new", PathKind::Missing).unwrap(), "/tmp/new");
        assert!(at("d", true, false, "/tmp/f", PathKind::File).is_err());
        assert!(at("a.txt", false, false, "/tmp/nodir/", PathKind::Missing).is_err());
        assert_eq!(base_name("/x/dir/."), "dir");
        assert_eq!(base_name("/x/dir/"), "dir");
        assert_eq!(parent_of("/x/dir/"), "/x");
        assert_eq!(parent_of("/x"), "/");
    }
}
