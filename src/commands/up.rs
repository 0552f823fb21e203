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
    super::runtime()?.block_on(up::run(Arc::new(project), &options, style))
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
