//! One module per subcommand, each orchestrating the parts it needs.

pub mod attach;
pub mod completions;
pub mod config;
pub mod convert;
pub mod cp;
pub mod create;
pub mod down;
pub mod events;
pub mod exec;
pub mod images;
pub mod kill;
pub mod lifecycle;
pub mod logs;
pub mod ls;
pub mod pause;
pub mod port;
pub mod proxy;
pub mod ps;
pub mod push;
pub mod rm;
pub mod run;
pub mod scale;
pub mod stack;
pub mod stats;
pub mod top;
pub mod up;
pub mod version;
pub mod wait;
pub mod watch;

use crate::cli::{Cli, Command, GlobalOpts};
use crate::compose::{LoadOptions, Loaded, Project};
use crate::failure::Failure;
use crate::ui::{self, Style};

/// Runs the parsed command line and returns the process exit status.
pub fn dispatch(cli: Cli) -> i32 {
    let style = Style::for_stderr(cli.global.ansi.into());
    ui::set_debug(cli.global.verbose);
    let Some(command) = cli.command else {
        // No command: the help on standard output and success, as docker compose.
        let mut cmd = <Cli as clap::CommandFactory>::command();
        let _ = cmd.print_help();
        return 0;
    };
    let result = match command {
        Command::Config(args) => config::run(&cli.global, &args, &style),
        Command::Convert(args) => convert::run(&cli.global, &args, &style),
        Command::Stack(cmd) => stack::run(&cli.global, cmd, &style),
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
        Command::ProxyDaemon(args) => load_for(&cli.global, &[], &style).and_then(|project| {
            crate::orchestrate::builtin::daemon::daemon(
                std::sync::Arc::new(project),
                &args.service,
                args.child,
            )
        }),
        Command::Run(args) => run::run(&cli.global, &args, &style),
        Command::Kill(args) => kill::run(&cli.global, &args, &style),
        Command::Rm(args) => rm::run(&cli.global, &args, &style),
        Command::Pause(args) => pause::run(&cli.global, &args.services, true, &style),
        Command::Unpause(args) => pause::run(&cli.global, &args.services, false, &style),
        Command::Port(args) => port::run(&cli.global, &args, &style),
        Command::Top(args) => top::run(&cli.global, &args.services, &style),
        Command::Create(args) => create::run(&cli.global, &args, &style),
        Command::Scale(args) => scale::run(&cli.global, &args, &style),
        Command::Wait(args) => wait::run(&cli.global, &args, &style),
        Command::Ls(args) => ls::run(&args),
        Command::Images(args) => images::list(&cli.global, &args, &style),
        Command::Attach(args) => attach::run(&cli.global, &args, &style),
        Command::Events(args) => events::run(&cli.global, &args, &style),
        Command::Watch(args) => watch::run(&cli.global, &args, &style),
        Command::Exec(args) => exec::run(&cli.global, &args, &style),
        Command::Push(args) => push::run(&cli.global, &args, &style),
        Command::Cp(args) => cp::run(&cli.global, &args, &style),
        Command::Stats(args) => stats::run(&cli.global, &args, &style),
        Command::Completions(args) => completions::run(&args),
        Command::Version(args) => version::run(&args),
    };
    result.unwrap_or_else(|e| crate::failure::report(&e, &style))
}

/// What loads the project again in another process (a detached proxy).
pub fn reload_of(global: &GlobalOpts) -> crate::orchestrate::builtin::Reload {
    crate::orchestrate::builtin::Reload {
        profiles: global.profiles.clone(),
        env_files: global.env_files.clone(),
    }
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
/// whatever their profiles.
pub fn load_for(
    global: &GlobalOpts,
    services: &[String],
    style: &Style,
) -> anyhow::Result<Project> {
    load_project(&options_for(global, services), style).map(|l| l.project)
}

/// The load options for a command that names `services`.
fn options_for(global: &GlobalOpts, services: &[String]) -> LoadOptions {
    let mut opts = load_options(global);
    opts.services = services.to_vec();
    opts
}

/// As [`load_for`], but with `-p NAME` (or `COMPOSE_PROJECT_NAME`) and no
/// compose file to be found, the project is rebuilt from its containers'
/// labels, as docker compose does for the commands that act on what exists.
pub fn load_or_labels(
    global: &GlobalOpts,
    services: &[String],
    style: &Style,
) -> anyhow::Result<Project> {
    let opts = options_for(global, services);
    let name = opts
        .project_name
        .clone()
        .or_else(|| opts.environ.get("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()).cloned());
    if let Some(name) = name
        && !crate::compose::load::finds_files(&opts)
    {
        let found = runtime()?.block_on(async {
            let engine = crate::engine::Engine::connect().await?;
            crate::orchestrate::from_labels::project(&engine, &name).await
        })?;
        return found.ok_or_else(|| {
            anyhow::anyhow!(
                "no compose file found, and no containers of project {name:?} to read it from"
            )
        });
    }
    load_project(&opts, style).map(|l| l.project)
}

/// Loads the project, printing its warnings now; its errors are the
/// caller's to return.
pub fn load_project(opts: &LoadOptions, style: &Style) -> anyhow::Result<Loaded> {
    let loaded = crate::compose::load(opts).map_err(Failure::Load)?;
    ui::report(style, &loaded.warnings);
    Ok(loaded)
}

/// The project's containers of the named services (all when none are
/// named); naming a service the project lacks is an error.
pub async fn containers_of(
    engine: &crate::engine::Engine,
    project: &Project,
    services: &[String],
    all: bool,
) -> anyhow::Result<Vec<bollard::models::ContainerSummary>> {
    let unknown: Vec<String> = services
        .iter()
        .filter(|s| !project.services.contains_key(*s))
        .map(|s| format!("no such service: {s}"))
        .collect();
    if !unknown.is_empty() {
        return Err(Failure::Each(unknown).into());
    }
    let list = crate::engine::containers::list(engine, &project.name, all).await?;
    Ok(list
        .into_iter()
        .filter(|c| {
            services.is_empty()
                || services.iter().any(|s| s == crate::engine::containers::service(c))
        })
        .collect())
}

/// Container `index` of a service, running: `port` and `attach` act on one,
/// and say so as docker compose does when there is none.
pub async fn running_replica(
    engine: &crate::engine::Engine,
    project: &Project,
    service: &str,
    index: u32,
) -> anyhow::Result<bollard::models::ContainerSummary> {
    let list = containers_of(engine, project, &[service.to_string()], false).await?;
    list.into_iter().find(|c| crate::engine::containers::number(c) == index).ok_or_else(|| {
        Failure::Each(vec![format!("service {service:?} is not running container #{index}")]).into()
    })
}

/// The named services (all when none are named) that a running built-in
/// proxy serves, with its state: a process of rcompose's, not a container.
pub fn running_proxies(
    project: &Project,
    services: &[String],
) -> Vec<(String, crate::orchestrate::builtin::ProxyState)> {
    crate::orchestrate::builtin::proxy_services(project, false)
        .into_iter()
        .filter(|s| services.is_empty() || services.contains(s))
        .filter_map(|s| crate::orchestrate::builtin::running(&project.name, &s).map(|st| (s, st)))
        .collect()
}

/// The runtime engine commands run on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
