//! `rcompose up`: the command line turned into `up`'s options; the work is
//! the orchestration layer's ([`crate::orchestrate::up`]).

use std::sync::Arc;
use std::time::Duration;

use crate::cli::{GlobalOpts, PullPolicyArg, UpArgs};
use crate::compose::model::PullPolicy;
use crate::orchestrate::follow::FollowOptions;
use crate::orchestrate::images::ImagePolicy;
use crate::orchestrate::plan::{Recreate, UpOptions};
use crate::orchestrate::up::{self, Options};
use crate::ui::Style;

pub fn run(global: &GlobalOpts, args: &UpArgs, style: &Style) -> anyhow::Result<i32> {
    let mut project = super::load_for(global, &args.services, style)?;
    apply_scale(&mut project, &args.scale)?;
    for name in args.attach.iter().chain(&args.no_attach) {
        if !project.services.contains_key(name) {
            anyhow::bail!("--attach/--no-attach {name}: no such service");
        }
    }
    let options = options(global, args);
    let project = Arc::new(project);
    if !args.watch {
        return super::runtime()?.block_on(up::run(project, &options, style));
    }
    if args.detach {
        anyhow::bail!(
            "--watch follows the files in the foreground: it cannot be combined with --detach"
        );
    }
    super::runtime()?.block_on(with_watch(project, options, style))
}

/// `up --watch`: up in the foreground, and `develop.watch` followed beside
/// it once the watched services' containers run; Ctrl-C ends both.
async fn with_watch(
    project: Arc<crate::compose::Project>,
    options: Options,
    style: &Style,
) -> anyhow::Result<i32> {
    use crate::orchestrate::watch::{self, WatchOptions};
    let watched: Vec<String> = project
        .services
        .iter()
        .filter(|(_, s)| s.develop.as_ref().is_some_and(|d| !d.watch.is_empty()))
        .map(|(n, _)| n.clone())
        .collect();
    if watched.is_empty() {
        eprintln!(
            "{}: none of the services is configured for watch: add a develop.watch section",
            style.paint("1;33", "warning")
        );
        return up::run(project, &options, style).await;
    }
    let watching = {
        let (project, options, style) = (project.clone(), options.clone(), *style);
        tokio::spawn(async move {
            let engine = crate::engine::Engine::connect().await?;
            // Until each watched service has a running container (up is starting them).
            loop {
                let running =
                    crate::engine::containers::list(&engine, &project.name, false).await?;
                if watched
                    .iter()
                    .all(|w| running.iter().any(|c| crate::engine::containers::service(c) == w))
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let o = WatchOptions { services: Vec::new(), no_up: true, prune: true, quiet: false };
            watch::run(project, &o, &options, &style).await
        })
    };
    let code = up::run(project, &options, style).await;
    if watching.is_finished() {
        if let Ok(Err(e)) = watching.await {
            eprintln!("{}: watch: {e:#}", style.paint("1;33", "warning"));
        }
    } else {
        watching.abort();
    }
    code
}

/// `--scale SERVICE=NUM` (also `create --scale` and `scale`), over the file's.
pub fn apply_scale(
    project: &mut crate::compose::Project,
    scale: &[(String, u32)],
) -> anyhow::Result<()> {
    for (name, n) in scale {
        let Some(svc) = project.services.get_mut(name) else {
            anyhow::bail!("--scale {name}={n}: no such service");
        };
        if *n > 1 && svc.container_name.is_some() {
            anyhow::bail!(
                "--scale {name}={n}: service {name} has a container_name, so it runs one container"
            );
        }
        svc.scale = Some(*n);
    }
    Ok(())
}

/// `up`'s flags as the orchestration layer takes them.
fn options(global: &GlobalOpts, args: &UpArgs) -> Options {
    let recreate = if args.force_recreate {
        Recreate::Always
    } else if args.no_recreate {
        Recreate::Never
    } else {
        Recreate::Diverged
    };
    let pull = args.pull.map(pull_policy);
    Options {
        services: args.services.clone(),
        no_deps: args.no_deps,
        detach: args.detach,
        wait: args.wait,
        wait_timeout: args.wait_timeout.map(Duration::from_secs),
        plan: UpOptions { recreate, start: !args.no_start, remove_orphans: args.remove_orphans },
        images: ImagePolicy {
            build: args.build,
            no_build: args.no_build,
            pull,
            quiet_pull: args.quiet_pull,
        },
        timeout: args.timeout,
        no_builtin_proxy: args.no_builtin_proxy,
        reload: super::reload_of(global),
        progress: global.progress.into(),
        follow: FollowOptions {
            services: args.services.clone(),
            attach: args.attach.clone(),
            no_attach: args.no_attach.clone(),
            attach_dependencies: args.attach_dependencies,
            abort_on_container_exit: args.abort_on_container_exit,
            exit_code_from: args.exit_code_from.clone(),
            no_color: args.no_color,
            no_log_prefix: args.no_log_prefix,
            timestamps: args.timestamps,
        },
    }
}

/// `--pull` as the orchestration layer takes it.
pub fn pull_policy(p: PullPolicyArg) -> PullPolicy {
    match p {
        PullPolicyArg::Always => PullPolicy::Always,
        PullPolicyArg::Missing => PullPolicy::Missing,
        PullPolicyArg::Never => PullPolicy::Never,
    }
}
