//! `watch`: the `develop.watch` rules of the services followed on the host
//! (inotify, through `notify`), a burst of edits taken as one batch, and
//! each batch carried out as its rule says: `sync` copies the files into
//! the service's containers (and removes what was removed), `sync+restart`
//! and `sync+exec` then restart the containers or run the command in them,
//! `restart` restarts them, `rebuild` builds the image and makes the
//! containers again. Unlike docker compose, services without `build:` can
//! sync, and `initial_sync` copies the whole tree before watching.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bollard::query_parameters::{RestartContainerOptions, UploadToContainerOptions};

use super::up;
use crate::compose::Project;
use crate::compose::model::WatchRule;
use crate::engine::{Engine, containers};
use crate::failure::Failure;
use crate::ui::Style;

/// How long the files must be quiet before a batch is carried out.
const QUIET: Duration = Duration::from_millis(100);

/// Editors' scratch files, never copied (as docker compose leaves them).
const ALWAYS_IGNORED: [&str; 6] = [".git", "*~", "*.swp", "*.swx", "4913", ".#*"];

#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    pub services: Vec<String>,
    /// Do not `up` the services first.
    pub no_up: bool,
    /// Remove the image a rebuild leaves without a name.
    pub prune: bool,
    /// Build without printing the build's output.
    pub quiet: bool,
}

/// One rule of one service, its ignore patterns compiled.
struct Rule {
    service: String,
    rule: WatchRule,
    ignore: Vec<glob::Pattern>,
}

impl Rule {
    /// The path relative to the rule's, when the rule covers it and does not ignore it.
    fn covers(&self, path: &Path) -> Option<PathBuf> {
        let rel = path.strip_prefix(&self.rule.path).ok()?.to_path_buf();
        let ignored = rel.iter().enumerate().any(|(i, part)| {
            let name = part.to_string_lossy();
            let prefix: PathBuf = rel.iter().take(i + 1).collect();
            self.ignore.iter().any(|p| p.matches(&name) || p.matches_path(&prefix))
        });
        (!ignored).then_some(rel)
    }
}

pub async fn run(
    project: Arc<Project>,
    o: &WatchOptions,
    up_options: &up::Options,
    style: &Style,
) -> anyhow::Result<i32> {
    let rules = rules(&project, &o.services)?;
    let services: Vec<String> =
        rules.iter().map(|r| r.service.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    if !o.no_up {
        let mut opts =
            up::Options { services: services.clone(), detach: true, ..up_options.clone() };
        if o.quiet {
            opts.progress = crate::ui::progress::Mode::Quiet;
        }
        let code = up::run(project.clone(), &opts, style).await?;
        if code != 0 {
            return Ok(code);
        }
    }
    let engine = Engine::connect().await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        use notify::EventKind;
        use notify::event::ModifyKind;
        // Changes only: reading the files to copy them must not start another round.
        let Ok(ev) = res else { return };
        let change = match ev.kind {
            EventKind::Create(_) | EventKind::Remove(_) => true,
            EventKind::Modify(m) => !matches!(m, ModifyKind::Metadata(_)),
            _ => false,
        };
        if change {
            for p in ev.paths {
                let _ = tx.send(p);
            }
        }
    })
    .context("cannot watch files")?;
    for r in &rules {
        use notify::Watcher;
        let path = Path::new(&r.rule.path);
        let mode = if path.is_dir() {
            notify::RecursiveMode::Recursive
        } else {
            notify::RecursiveMode::NonRecursive
        };
        watcher.watch(path, mode).with_context(|| format!("cannot watch {}", path.display()))?;
    }
    for r in rules.iter().filter(|r| r.rule.initial_sync && r.rule.action.starts_with("sync")) {
        let all = walk(Path::new(&r.rule.path));
        apply(&engine, &project, r, &all, (up_options, o), style).await?;
    }
    eprintln!("Watch enabled");
    // One listener for the whole run: a Ctrl-C during a batch is not lost.
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let first = tokio::select! {
            p = rx.recv() => p,
            _ = &mut interrupted => return Ok(0),
        };
        let Some(first) = first else { return Ok(0) };
        // A burst of edits is one batch: gathered until the files are quiet.
        let mut batch = BTreeSet::from([first]);
        while let Ok(Some(p)) = tokio::time::timeout(QUIET, rx.recv()).await {
            batch.insert(p);
        }
        for r in &rules {
            let mine: Vec<PathBuf> =
                batch.iter().filter(|p| r.covers(p).is_some()).cloned().collect();
            if mine.is_empty() {
                continue;
            }
            let applied = tokio::select! {
                r = apply(&engine, &project, r, &mine, (up_options, o), style) => r,
                _ = &mut interrupted => return Ok(0),
            };
            if let Err(e) = applied {
                eprintln!("{}: {e:#}", style.paint("1;33", "warning"));
            }
        }
    }
}

fn rules(project: &Project, named: &[String]) -> anyhow::Result<Vec<Rule>> {
    let mut out = Vec::new();
    for (name, svc) in &project.services {
        if !named.is_empty() && !named.contains(name) {
            continue;
        }
        for rule in svc.develop.iter().flat_map(|d| &d.watch) {
            let ignore = ALWAYS_IGNORED
                .iter()
                .map(|s| s.to_string())
                .chain(rule.ignore.iter().map(|i| i.trim_end_matches('/').to_string()))
                .filter_map(|p| glob::Pattern::new(&p).ok())
                .collect();
            out.push(Rule { service: name.clone(), rule: rule.clone(), ignore });
        }
    }
    if out.is_empty() {
        return Err(Failure::Each(vec![
            "none of the selected services is configured for watch, consider setting a 'develop' section".into(),
        ])
        .into());
    }
    Ok(out)
}

/// Every file under `root` (or `root` itself, a file).
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        match std::fs::read_dir(&p) {
            Ok(entries) => stack.extend(entries.flatten().map(|e| e.path())),
            Err(_) => out.push(p),
        }
    }
    out
}

/// Carries out one rule for the paths it covers.
async fn apply(
    engine: &Engine,
    project: &Arc<Project>,
    r: &Rule,
    paths: &[PathBuf],
    (up_options, o): (&up::Options, &WatchOptions),
    style: &Style,
) -> anyhow::Result<()> {
    let action = r.rule.action.as_str();
    if action == "rebuild" {
        eprintln!("Rebuilding service {:?} after changes were detected", r.service);
        let mut opts = up::Options {
            services: vec![r.service.clone()],
            no_deps: true,
            detach: true,
            ..up_options.clone()
        };
        opts.images.build = true;
        if o.quiet {
            opts.progress = crate::ui::progress::Mode::Quiet;
        }
        let image = project.image_for(&project.services[&r.service]);
        let before = crate::engine::images::id(engine, &image).await?;
        up::run(project.clone(), &opts, style).await?;
        // The image the rebuild replaced has no name left: gone, as docker compose prunes it.
        let after = crate::engine::images::id(engine, &image).await?;
        if let (true, Some(old)) = (o.prune, before.filter(|b| Some(b) != after.as_ref())) {
            let _ = crate::engine::images::remove(engine, &old).await;
        }
        return Ok(());
    }
    let list = containers::list(engine, &project.name, false).await?;
    let ids: Vec<String> =
        list.iter().filter(|c| containers::service(c) == r.service).map(containers::id).collect();
    if ids.is_empty() {
        bail!("service {:?} has no running container to update", r.service);
    }
    if action.starts_with("sync") {
        let target = r.rule.target.clone().unwrap_or_default();
        let files: BTreeMap<PathBuf, PathBuf> =
            paths.iter().filter_map(|p| r.covers(p).map(|rel| (p.clone(), rel))).collect();
        eprintln!("Syncing service {:?} after {} changes were detected", r.service, files.len());
        for id in &ids {
            sync(engine, id, &files, &target).await?;
        }
    }
    if action == "restart" || action == "sync+restart" {
        eprintln!("Restarting service {:?} after changes were detected", r.service);
        for id in &ids {
            engine
                .docker
                .restart_container(id, None::<RestartContainerOptions>)
                .await
                .with_context(|| format!("cannot restart {}", r.service))?;
        }
    }
    if let (Some(hook), true) = (&r.rule.exec, action == "sync+exec") {
        for id in &ids {
            let status = containers::exec(engine, id, hook).await?;
            if status != 0 {
                bail!("{:?} exited with status {status}", hook.command.join(" "));
            }
        }
    }
    Ok(())
}

/// Copies the files that exist into the container (one archive, extracted
/// at `/`), and removes the paths that no longer exist.
async fn sync(
    engine: &Engine,
    id: &str,
    files: &BTreeMap<PathBuf, PathBuf>,
    target: &str,
) -> anyhow::Result<()> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut gone = Vec::new();
    for (host, rel) in files {
        let inside = Path::new(target).join(rel);
        let name = inside.strip_prefix("/").unwrap_or(&inside).to_path_buf();
        if host.is_file() {
            tar.append_path_with_name(host, &name)
                .with_context(|| format!("cannot read {}", host.display()))?;
        } else if host.is_dir() {
            tar.append_dir_all(&name, host)
                .with_context(|| format!("cannot read {}", host.display()))?;
        } else if !host.exists() {
            gone.push(inside.display().to_string());
        }
    }
    let bytes = tar.into_inner()?;
    if bytes.len() > 1024 {
        let opts = UploadToContainerOptions { path: "/".into(), ..Default::default() };
        engine
            .docker
            .upload_to_container(id, Some(opts), bollard::body_full(bytes.into()))
            .await
            .map_err(|e| {
            anyhow::anyhow!("cannot copy into the container: {}", crate::engine::engine_message(&e))
        })?;
    }
    if !gone.is_empty() {
        let hook = crate::compose::model::Hook {
            command: ["rm", "-rf"].iter().map(|s| s.to_string()).chain(gone).collect(),
            ..Default::default()
        };
        containers::exec(engine, id, &hook).await?;
    }
    Ok(())
}
