//! A container's files as tar archives, streamed both ways: what `cp`
//! reads from a container and writes into one.

use anyhow::Context;
use bollard::query_parameters::{DownloadFromContainerOptions, UploadToContainerOptions};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};

use super::Engine;

/// What a path in a container is, read from the first entry of its archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKind {
    Missing,
    Dir,
    File,
    Link(String),
}

/// The archive of `path` in container `id`, as the engine streams it.
pub fn download(
    engine: &Engine,
    id: &str,
    path: &str,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let opts = DownloadFromContainerOptions { path: path.to_string() };
    engine.docker.download_from_container(id, Some(opts)).map_err(|e| {
        std::io::Error::other(if super::is_not_found(&e) {
            "no such file or directory".to_string()
        } else {
            super::engine_message(&e)
        })
    })
}

/// What `path` is in the container: only the archive's first header is
/// read, then the stream is dropped (a directory is not sent whole for it).
pub async fn kind(engine: &Engine, id: &str, path: &str) -> anyhow::Result<PathKind> {
    let opts = DownloadFromContainerOptions { path: path.to_string() };
    let mut stream = engine.docker.download_from_container(id, Some(opts));
    let mut head = Vec::with_capacity(512);
    while head.len() < 512 {
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(e)) if super::is_not_found(&e) => return Ok(PathKind::Missing),
            Some(Err(e)) => anyhow::bail!("{}", super::engine_message(&e)),
            None => return Ok(PathKind::Missing),
        }
    }
    let header = tar::Header::from_byte_slice(&head[..512]);
    Ok(match header.entry_type() {
        tar::EntryType::Directory => PathKind::Dir,
        tar::EntryType::Symlink => PathKind::Link(
            header.link_name().ok().flatten().map(|l| l.display().to_string()).unwrap_or_default(),
        ),
        _ => PathKind::File,
    })
}

/// Extracts `archive` into directory `dir` of container `id`; `-a` keeps
/// the archive's owners.
pub async fn upload(
    engine: &Engine,
    id: &str,
    dir: &str,
    archive: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    keep_owners: bool,
) -> anyhow::Result<()> {
    let opts = UploadToContainerOptions {
        path: dir.to_string(),
        copy_uidgid: keep_owners.then(|| "1".to_string()),
        no_overwrite_dir_non_dir: Some("1".to_string()),
    };
    engine
        .docker
        .upload_to_container(id, Some(opts), bollard::body_try_stream(archive))
        .await
        .map_err(|e| anyhow::anyhow!("{}", super::engine_message(&e)))
        .with_context(|| format!("cannot copy into {dir}"))
}
