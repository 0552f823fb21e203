//! Images: building from a context (sent as a tar honouring `.dockerignore`)
//! and pulling with progress (bytes done across an image's layers).

use crate::ui::progress::State as ProgressState;
use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use bollard::query_parameters::{BuildImageOptions, CreateImageOptions, RemoveImageOptions};
use futures::StreamExt;

use super::{Engine, engine_message, is_not_found};
use crate::compose::model::Build;
use crate::ui::progress::Progress;

/// The image's id, or None when the engine has no such image.
pub async fn id(engine: &Engine, image: &str) -> anyhow::Result<Option<String>> {
    match engine.docker.inspect_image(image).await {
        Ok(i) => Ok(Some(i.id.unwrap_or_default())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => bail!("cannot inspect image {image}: {}", engine_message(&e)),
    }
}

/// The ids of several images, asked all at once.
pub async fn ids(
    engine: &Engine,
    images: impl IntoIterator<Item = String>,
) -> anyhow::Result<HashMap<String, Option<String>>> {
    let unique: std::collections::BTreeSet<String> = images.into_iter().collect();
    let found = futures::future::try_join_all(unique.iter().map(|i| id(engine, i))).await?;
    Ok(unique.into_iter().zip(found).collect())
}

/// Splits `registry/name:tag` into name and tag (`latest` by default); digests stay whole.
pub fn split_reference(image: &str) -> (String, String) {
    if image.contains('@') {
        return (image.to_string(), String::new());
    }
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (image[..slash + i].to_string(), image[slash + i + 1..].to_string()),
        None => (image.to_string(), "latest".to_string()),
    }
}

/// Pulls an image, reporting bytes done of the total across its layers.
pub async fn pull(
    engine: &Engine,
    image: &str,
    label: &str,
    progress: &Progress,
) -> anyhow::Result<()> {
    let (name, tag) = split_reference(image);
    let opts = CreateImageOptions {
        from_image: Some(name),
        tag: (!tag.is_empty()).then_some(tag),
        ..Default::default()
    };
    let mut stream = engine.docker.create_image(Some(opts), None, None);
    let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
    progress.step(label, ProgressState::Pulling, false);
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(i) => i,
            Err(e) => {
                progress.fail(label, &engine_message(&e));
                bail!("cannot pull {image}: {}", engine_message(&e));
            }
        };
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            progress.fail(label, &err);
            bail!("cannot pull {image}: {err}");
        }
        let (Some(id), Some(status)) = (info.id, info.status) else {
            continue;
        };
        let entry = layers.entry(id).or_insert((0, 0));
        match status.as_str() {
            "Downloading" => {
                if let Some(d) = info.progress_detail {
                    entry.0 = d.current.unwrap_or(0).max(0) as u64;
                    entry.1 = d.total.unwrap_or(0).max(0) as u64;
                }
            }
            "Download complete" | "Pull complete" | "Already exists" => entry.0 = entry.1,
            _ => {}
        }
        let (done, total) = layers.values().fold((0, 0), |(d, t), (ld, lt)| (d + ld, t + lt));
        if total > 0 {
            progress.bytes(label, done, total);
        }
    }
    progress.step(label, ProgressState::Pulled, true);
    Ok(())
}

/// Pushes an image to the registry its name says, with the credentials
/// `docker login` left in `~/.docker/config.json` for that registry.
pub async fn push(
    engine: &Engine,
    image: &str,
    label: &str,
    progress: &Progress,
) -> anyhow::Result<()> {
    let (name, tag) = split_reference(image);
    let opts = bollard::query_parameters::PushImageOptions { tag: Some(tag), platform: None };
    let mut stream = engine.docker.push_image(&name, Some(opts), credentials_for(&name));
    progress.step(label, ProgressState::Pushing, false);
    while let Some(item) = stream.next().await {
        let err = match item {
            Ok(info) => info.error_detail.and_then(|d| d.message),
            Err(e) => Some(engine_message(&e)),
        };
        if let Some(err) = err {
            progress.fail(label, &err);
            bail!("cannot push {image}: {err}");
        }
    }
    progress.step(label, ProgressState::Pushed, true);
    Ok(())
}

/// The `auths` entry of `~/.docker/config.json` for the registry `name` is on.
fn credentials_for(name: &str) -> Option<bollard::auth::DockerCredentials> {
    let first = name.split('/').next().unwrap_or_default();
    let registry = if name.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        first.to_string()
    } else {
        "https://index.docker.io/v1/".to_string()
    };
    let home = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")))?;
    let text = std::fs::read_to_string(home.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let auth = config["auths"][&registry]["auth"].as_str()?;
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD.decode(auth).ok()?;
    let (user, pass) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(bollard::auth::DockerCredentials {
        username: Some(user.to_string()),
        password: Some(pass.to_string()),
        serveraddress: Some(registry),
        ..Default::default()
    })
}

/// `.dockerignore` rules: later rules win, `!` re-includes, a rule that
/// matches a directory excludes what is below it.
pub struct IgnoreRules {
    rules: Vec<(glob::Pattern, bool)>,
}

impl IgnoreRules {
    pub fn parse(text: &str) -> Self {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let (neg, pat) = match l.strip_prefix('!') {
                    Some(p) => (true, p.trim()),
                    None => (false, l),
                };
                let pat =
                    pat.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
                glob::Pattern::new(pat).ok().map(|p| (p, neg))
            })
            .collect();
        IgnoreRules { rules }
    }

    pub fn excluded(&self, rel: &str) -> bool {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        let mut excluded = false;
        for (pat, neg) in &self.rules {
            // The path itself or any directory above it.
            let mut matched = pat.matches_with(rel, opts);
            let mut prefix = rel;
            while !matched && let Some(i) = prefix.rfind('/') {
                prefix = &prefix[..i];
                matched = pat.matches_with(prefix, opts);
            }
            if matched {
                excluded = !neg;
            }
        }
        excluded
    }
}

/// The build context as a tar, leaving out what `.dockerignore` excludes
/// (the Dockerfile and `.dockerignore` are always sent, as docker does).
pub fn context_tar(
    context: &Path,
    dockerfile: &str,
    inline: Option<(&str, &str)>,
) -> anyhow::Result<Vec<u8>> {
    let rules = IgnoreRules::parse(
        &std::fs::read_to_string(context.join(".dockerignore")).unwrap_or_default(),
    );
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut stack = vec![context.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel =
                path.strip_prefix(context).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let always = rel == dockerfile || rel == ".dockerignore";
            if !always && rules.excluded(&rel) {
                continue;
            }
            let ft = entry.file_type()?;
            if ft.is_dir() {
                builder.append_dir(&rel, &path)?;
                stack.push(path);
            } else {
                builder.append_path_with_name(&path, &rel).with_context(|| {
                    format!("cannot add {} to the build context", path.display())
                })?;
            }
        }
    }
    if let Some((name, text)) = inline {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, text.as_bytes())?;
    }
    Ok(builder.into_inner()?)
}

/// Options for one build beyond what the compose file says.
#[derive(Debug, Clone, Default)]
pub struct BuildOpts {
    pub no_cache: bool,
    pub pull: bool,
    pub extra_args: HashMap<String, String>,
    /// The service's `platform`, which the build follows.
    pub platform: Option<String>,
}

/// Builds an image and tags it; output lines go to `out` as they come.
pub async fn build(
    engine: &Engine,
    build: &Build,
    tag: &str,
    opts: &BuildOpts,
    out: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<()> {
    const INLINE: &str = ".rcompose.inline.Dockerfile";
    let context = Path::new(&build.context);
    let dockerfile = build.dockerfile.clone().unwrap_or_else(|| INLINE.to_string());
    let inline = build.dockerfile_inline.as_deref().map(|t| (INLINE, t));
    let tar = tokio::task::block_in_place(|| context_tar(context, &dockerfile, inline))?;
    let mut args: HashMap<String, String> =
        build.args.iter().filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))).collect();
    args.extend(opts.extra_args.clone());
    let shmsize = match build.shm_size.as_deref().map(str::parse::<i32>) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            bail!(
                "build.shm_size {} is above what the engine's build API takes (2 GiB)",
                build.shm_size.as_deref().unwrap_or("")
            )
        }
    };
    let cache_from: Vec<String> =
        build.cache_from.iter().filter(|c| !c.contains('=')).cloned().collect();
    let options = BuildImageOptions {
        dockerfile,
        t: Some(tag.to_string()),
        buildargs: Some(args),
        target: build.target.clone().unwrap_or_default(),
        labels: Some(build.labels.clone().into_iter().collect()),
        nocache: opts.no_cache || build.no_cache,
        pull: (opts.pull || build.pull).then(|| "true".to_string()),
        networkmode: build.network.clone(),
        shmsize,
        cachefrom: (!cache_from.is_empty()).then_some(cache_from),
        platform: opts
            .platform
            .clone()
            .or_else(|| build.platforms.first().cloned())
            .unwrap_or_default(),
        rm: true,
        forcerm: true,
        ..Default::default()
    };
    let mut stream = engine.docker.build_image(options, None, Some(bollard::body_full(tar.into())));
    let mut partial = String::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| anyhow::anyhow!("{}", engine_message(&e)))?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            bail!("{}", err.trim_end());
        }
        if let Some(text) = info.stream {
            partial.push_str(&text);
            while let Some(pos) = partial.find('\n') {
                let line: String = partial.drain(..=pos).collect();
                let line = line.trim_end();
                if !line.is_empty() {
                    out(line);
                }
            }
        }
    }
    if !partial.trim().is_empty() {
        out(partial.trim_end());
    }
    for extra in &build.tags {
        let (repo, tag_part) = split_reference(extra);
        let opts =
            bollard::query_parameters::TagImageOptions { repo: Some(repo), tag: Some(tag_part) };
        engine
            .docker
            .tag_image(tag, Some(opts))
            .await
            .map_err(|e| anyhow::anyhow!("cannot tag {tag} as {extra}: {}", engine_message(&e)))?;
    }
    Ok(())
}

pub async fn remove(engine: &Engine, image: &str) -> anyhow::Result<bool> {
    match engine
        .docker
        .remove_image(
            image,
            Some(RemoveImageOptions { force: false, noprune: false, platforms: None }),
            None,
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => bail!("cannot remove image {image}: {}", engine_message(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(split_reference("nginx"), ("nginx".into(), "latest".into()));
        assert_eq!(split_reference("mongo:7.0.5"), ("mongo".into(), "7.0.5".into()));
        assert_eq!(
            split_reference("127.0.0.1:5000/app:1"),
            ("127.0.0.1:5000/app".into(), "1".into())
        );
        assert_eq!(
            split_reference("127.0.0.1:5000/app"),
            ("127.0.0.1:5000/app".into(), "latest".into())
        );
    }

    #[test]
    fn dockerignore_rules() {
        let r = IgnoreRules::parse(
            "# comment\nnode_modules\n*.log\n!keep.log\nbuild/\n**/secret.txt\n",
        );
        assert!(r.excluded("node_modules"));
        assert!(r.excluded("node_modules/x/y.js"));
        assert!(r.excluded("debug.log"));
        assert!(!r.excluded("keep.log"));
        assert!(r.excluded("build/out.bin"));
        assert!(r.excluded("a/b/secret.txt"));
        assert!(!r.excluded("src/main.rs"));
        assert!(!r.excluded("sub/debug.log"), "`*` does not cross directories");
    }

    #[test]
    fn context_tar_honours_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM x\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "Dockerfile\nsecret\n").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/app.py"), "print()").unwrap();
        let tar =
            context_tar(dir.path(), "Dockerfile", Some(("inline.Dockerfile", "FROM y\n"))).unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert!(names.contains(&"Dockerfile".to_string()), "{names:?}");
        assert!(names.contains(&"src/app.py".to_string()), "{names:?}");
        assert!(names.contains(&"inline.Dockerfile".to_string()), "{names:?}");
        assert!(!names.contains(&"secret".to_string()), "{names:?}");
    }
}
