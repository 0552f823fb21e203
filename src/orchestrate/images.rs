//! The images a run needs: built where a service builds (and its policy or
//! the missing image says so), pulled where it pulls, as docker compose
//! decides it; shared by `up`, `build` and `pull`.

use std::collections::{BTreeSet, HashMap};

use anyhow::bail;
use futures::future::join_all;

use crate::compose::Project;
use crate::compose::model::{PullPolicy, Service};
use crate::engine::{Engine, images};
use crate::ui::progress::{Mode, Progress, State};

/// Image ids by name, as the engine has them (`None`: not there).
pub type ImageIds = HashMap<String, Option<String>>;

/// What to do about images before containers are made.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImagePolicy {
    /// `--build`: build every service that builds.
    pub build: bool,
    /// `--no-build`: never build; a missing built image is an error.
    pub no_build: bool,
    /// `--pull`, over each service's `pull_policy`.
    pub pull: Option<PullPolicy>,
    pub quiet_pull: bool,
}

/// Builds and pulls what the target services need, given the ids of the
/// images the engine has; returns them once that is done.
pub async fn ensure(
    engine: &Engine,
    project: &Project,
    targets: &BTreeSet<String>,
    policy: ImagePolicy,
    progress: &Progress,
    mut ids: ImageIds,
) -> anyhow::Result<ImageIds> {
    let mut to_pull: Vec<(String, String)> = Vec::new();
    let mut to_build: Vec<&Service> = Vec::new();
    for name in targets {
        let svc = &project.services[name];
        let image = project.image_for(svc);
        let present = ids.get(&image).is_some_and(Option::is_some);
        let own = svc.pull();
        let pull_always = policy.pull == Some(PullPolicy::Always) || own == PullPolicy::Always;
        let never_pull = policy.pull == Some(PullPolicy::Never) || own == PullPolicy::Never;
        if svc.build.is_some() && (policy.build || own == PullPolicy::Build || !present) {
            if policy.no_build {
                if !present {
                    bail!(
                        "service {name}: image {image} is missing and --no-build forbids building it"
                    );
                }
                continue;
            }
            to_build.push(svc);
        } else if svc.build.is_none() && (pull_always || !present) {
            if never_pull {
                if !present {
                    bail!(
                        "service {name}: image {image} is not present and the pull policy is never"
                    );
                }
                continue;
            }
            if !to_pull.iter().any(|(_, i)| *i == image) {
                to_pull.push((name.clone(), image));
            }
        }
    }
    let quiet = Progress::new(Mode::Quiet, false);
    let pull_progress = if policy.quiet_pull { &quiet } else { progress };
    let results = join_all(to_pull.iter().map(|(_, image)| async move {
        images::pull(engine, image, &format!("Image {image}"), pull_progress).await
    }))
    .await;
    for ((service, _), r) in to_pull.iter().zip(results) {
        if let Err(e) = r {
            bail!("service {service}: {e:#}");
        }
    }
    for svc in &to_build {
        let opts = images::BuildOpts { platform: svc.platform.clone(), ..Default::default() };
        build(engine, project, svc, &opts, progress).await?;
    }
    let changed =
        to_pull.into_iter().map(|(_, i)| i).chain(to_build.iter().map(|s| project.image_for(s)));
    ids.extend(images::ids(engine, changed).await?);
    Ok(ids)
}

/// Builds one service's image, its output shown under the service's name.
pub async fn build(
    engine: &Engine,
    project: &Project,
    svc: &Service,
    opts: &images::BuildOpts,
    progress: &Progress,
) -> anyhow::Result<()> {
    let Some(build) = &svc.build else {
        return Ok(());
    };
    let image = project.image_for(svc);
    let item = format!("Image {image}");
    progress.step(&item, State::Building, false);
    let name = svc.name.clone();
    let out = |line: &str| progress.println(&format!("{name}  | {line}"));
    match images::build(engine, build, &image, opts, &out).await {
        Ok(()) => {
            progress.step(&item, State::Built, true);
            Ok(())
        }
        Err(e) => {
            progress.fail(&item, &e.to_string());
            bail!("service {}: build failed: {e:#}", svc.name)
        }
    }
}
