//! One module per subcommand, each orchestrating the parts it needs.

pub mod completions;
pub mod config;
pub mod down;
pub mod images;
pub mod lifecycle;
pub mod logs;
pub mod proxy;
pub mod ps;
pub mod up;
pub mod version;

use std::collections::BTreeSet;

use bollard::models::ContainerSummary;
use futures::future::join_all;

use crate::compose::Project;
use crate::compose::graph::DepGraph;
use crate::engine::{Engine, containers};
use crate::ui::progress::Progress;

use crate::cli::{Cli, Command, GlobalOpts};
use crate::compose::{LoadOptions, Loaded};
use crate::ui::{self, Style};

/// Runs the parsed command line and returns the process exit status.
pub fn dispatch(cli: Cli) -> i32 {
    let style = Style::for_stderr(cli.global.ansi);
    ui::set_debug(cli.global.verbose);
    let result = match cli.command {
        Command::Config(args) => config::run(&cli.global, &args, &style),
        Command::Up(args) => up::run(&cli.global, &args, &style),
        Command::Down(args) => down::run(&cli.global, &args, &style),
        Command::Ps(args) => ps::run(&cli.global, &args, &style),
        Command::Logs(args) => logs::run(&cli.global, &args, &style),
        Command::Start(args) => lifecycle::start(&cli.global, &args, &style),
        Command::Stop(args) => lifecycle::stop(&cli.global, &args, &style),
        Command::Restart(args) => lifecycle::restart(&cli.global, &args, &style),
        Command::Build(args) => images::build(&cli.global, &args, &style),
        Command::Pull(args) => images::pull(&cli.global, &args, &style),
        Command::Proxy(args) => proxy::run(&args),
        Command::ProxyDaemon(args) => match load_for(&cli.global, &[], &style) {
            Some(project) => crate::orchestrate::builtin::daemon::daemon(std::sync::Arc::new(project), &args.service, args.child),
            None => Ok(1),
        },
        Command::Completions(args) => completions::run(&args),
        Command::Version(args) => version::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}: {e:#}", style.paint("1;31", "error"));
            1
        }
    }
}

/// What loads the project again in another process (a detached proxy).
pub fn reload_of(global: &GlobalOpts) -> crate::orchestrate::builtin::Reload {
    crate::orchestrate::builtin::Reload { profiles: global.profiles.clone(), env_files: global.env_files.clone() }
}

/// Load options from the global flags and the process.
pub fn load_options(global: &GlobalOpts) -> LoadOptions {
    let mut opts = LoadOptions::from_process();
    opts.files = global.files.clone();
    opts.project_name = global.project_name.clone();
    opts.project_directory = global.project_directory.clone();
    opts.env_files = global.env_files.clone();
    opts.profiles = global.profiles.clone();
    if opts.files.iter().any(|f| f == "-") {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("rcompose: cannot read standard input: {e}");
        }
        opts.stdin = Some(text);
    }
    opts
}

/// Loads the project a command acts on; services it names are enabled
/// whatever their profiles. Problems are printed; `None` means exit 1.
pub fn load_for(global: &GlobalOpts, services: &[String], style: &Style) -> Option<Project> {
    let mut opts = load_options(global);
    opts.services = services.to_vec();
    load_project(&opts, style).map(|l| l.project)
}

/// Loads the project, printing warnings; on errors prints them all and returns `None`.
pub fn load_project(opts: &LoadOptions, style: &Style) -> Option<Loaded> {
    match crate::compose::load(opts) {
        Ok(loaded) => {
            ui::report(style, &loaded.warnings);
            Some(loaded)
        }
        Err(diags) => {
            ui::report(style, &diags.0);
            None
        }
    }
}

/// The runtime engine commands run on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Containers of the project whose service is no longer in the file: a
/// warning, or removal with `--remove-orphans`.
pub async fn handle_orphans(
    engine: &Engine,
    project: &Project,
    existing: &[ContainerSummary],
    remove: bool,
    progress: &Progress,
    style: &Style,
) -> anyhow::Result<()> {
    let orphans: Vec<&ContainerSummary> = existing
        .iter()
        .filter(|c| !project.services.contains_key(containers::service(c)) && !project.disabled.contains_key(containers::service(c)))
        .collect();
    if orphans.is_empty() {
        return Ok(());
    }
    if !remove {
        let names: Vec<String> = orphans.iter().map(|c| containers::name(c)).collect();
        eprintln!(
            "{}: found orphan containers ({}) for this project; if you removed or renamed their service in the compose file, run with --remove-orphans to clean them up",
            style.paint("1;33", "warning"),
            names.join(", ")
        );
        return Ok(());
    }
    for c in orphans {
        let item = format!("Container {}", containers::name(c));
        progress.step(&item, "Removing", false);
        containers::stop(engine, &containers::id(c), None).await?;
        containers::remove(engine, &containers::id(c), false).await?;
        progress.step(&item, "Removed", true);
    }
    Ok(())
}

/// Stops the services' containers in reverse dependency order, each level together.
pub async fn stop_services(
    engine: &Engine,
    project: &Project,
    targets: &BTreeSet<String>,
    timeout: Option<u64>,
    progress: &Progress,
) -> anyhow::Result<()> {
    let list = containers::list(engine, &project.name, false).await?;
    for level in DepGraph::new(&project.services).teardown_levels(targets) {
        let jobs = list.iter().filter(|c| level.iter().any(|s| s == containers::service(c))).map(|c| async move {
            let item = format!("Container {}", containers::name(c));
            let svc_timeout = project.services.get(containers::service(c)).and_then(|s| s.stop_grace_period).map(|d| d.as_secs());
            progress.step(&item, "Stopping", false);
            containers::pre_stop(engine, c, project.services.get(containers::service(c))).await?;
            containers::stop(engine, &containers::id(c), timeout.or(svc_timeout)).await?;
            progress.step(&item, "Stopped", true);
            anyhow::Ok(())
        });
        for r in join_all(jobs).await {
            r?;
        }
    }
    Ok(())
}

/// Starts the services' existing containers in dependency order, each level together.
pub async fn start_services(engine: &Engine, project: &Project, targets: &BTreeSet<String>, progress: &Progress) -> anyhow::Result<()> {
    let list = containers::list(engine, &project.name, true).await?;
    for level in DepGraph::new(&project.services).levels(targets) {
        let jobs = list.iter().filter(|c| level.iter().any(|s| s == containers::service(c))).map(|c| async move {
            let name = containers::name(c);
            let item = format!("Container {name}");
            progress.step(&item, "Starting", false);
            containers::start(engine, &containers::id(c), &name).await?;
            // Hooks run when a container starts, not when it was running already.
            if let Some(svc) = project.services.get(containers::service(c)).filter(|_| !containers::is_running(c)) {
                containers::post_start(engine, &containers::id(c), svc).await?;
            }
            progress.step(&item, "Started", true);
            anyhow::Ok(())
        });
        for r in join_all(jobs).await {
            r?;
        }
    }
    Ok(())
}
