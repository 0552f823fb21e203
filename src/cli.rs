//! Command-line definitions (clap only; behaviour lives in `commands`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "rcompose",
    version,
    about = "Run docker-compose projects, faster, with nginx served in-process",
    after_help = "Examples:\n  rcompose up -d                       start the project in the background\n  rcompose -f examples/fastapi-mongo/docker-compose.yml up\n  rcompose logs -f fastapi             follow one service's logs\n  rcompose config --format json        show what would run\n  rcompose down -v                     remove containers, networks and volumes",
    // As docker compose's flags: a single-valued option given twice takes the last.
    args_override_self = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    /// None: print the help, as docker compose does with no command.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalOpts {
    /// Compose file(s) to read, in order; `-` reads standard input [env: COMPOSE_FILE]
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<String>,
    /// Project name [env: COMPOSE_PROJECT_NAME]
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Directory relative paths are resolved against (default: the first file's)
    #[arg(long, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// Env file(s) for interpolation instead of the project's `.env`
    #[arg(long = "env-file", value_name = "PATH")]
    pub env_files: Vec<PathBuf>,
    /// Enable services of a profile [env: COMPOSE_PROFILES]
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// When to color output (NO_COLOR also turns color off)
    #[arg(long, value_enum, default_value_t = Ansi::Auto)]
    pub ansi: Ansi,
    /// How to show progress
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Print what rcompose sees and decides: engine events, each dependency check [env: RCOMPOSE_DEBUG]
    #[arg(long)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Ansi {
    Never,
    Always,
    #[default]
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Progress {
    #[default]
    Auto,
    Tty,
    Plain,
    Quiet,
}

impl From<Ansi> for crate::ui::Ansi {
    fn from(a: Ansi) -> Self {
        match a {
            Ansi::Never => crate::ui::Ansi::Never,
            Ansi::Always => crate::ui::Ansi::Always,
            Ansi::Auto => crate::ui::Ansi::Auto,
        }
    }
}

impl From<Progress> for crate::ui::progress::Mode {
    fn from(p: Progress) -> Self {
        use crate::ui::progress::Mode;
        match p {
            Progress::Auto => Mode::Auto,
            Progress::Tty => Mode::Tty,
            Progress::Plain => Mode::Plain,
            Progress::Quiet => Mode::Quiet,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and start containers (and the built-in proxy)
    #[command(
        after_help = "Examples:\n  rcompose up                 start everything, follow the logs\n  rcompose up -d --wait       start in the background, return once healthy\n  rcompose up --build api     rebuild and start one service with its dependencies\n  rcompose up -d --scale api=3  run three containers of api"
    )]
    Up(UpArgs),
    /// Stop and remove containers and networks
    #[command(after_help = "Examples:\n  rcompose down\n  rcompose down -v --remove-orphans")]
    Down(DownArgs),
    /// Show container output
    #[command(after_help = "Examples:\n  rcompose logs fastapi\n  rcompose logs -f --tail 100")]
    Logs(LogsArgs),
    /// List containers
    #[command(after_help = "Examples:\n  rcompose ps\n  rcompose ps -a --format json")]
    Ps(PsArgs),
    /// Build or rebuild service images
    #[command(after_help = "Examples:\n  rcompose build\n  rcompose build --no-cache fastapi")]
    Build(BuildArgs),
    /// Pull service images
    #[command(after_help = "Examples:\n  rcompose pull\n  rcompose pull -q mongodb")]
    Pull(PullArgs),
    /// Start existing containers
    #[command(after_help = "Examples:\n  rcompose start\n  rcompose start fastapi")]
    Start(ServicesArgs),
    /// Stop running containers without removing them
    #[command(after_help = "Examples:\n  rcompose stop\n  rcompose stop -t 2 fastapi")]
    Stop(TimeoutServicesArgs),
    /// Restart containers
    #[command(
        after_help = "Services that depend on a restarted one with `restart: true` are restarted after it.\n\nExamples:\n  rcompose restart\n  rcompose restart fastapi\n  rcompose restart --no-deps mongo"
    )]
    Restart(RestartArgs),
    /// Validate and show the normalized project
    #[command(
        after_help = "Examples:\n  rcompose config\n  rcompose config --format json\n  rcompose config --services\n  rcompose -f a.yml -f b.yml config -o merged.yml"
    )]
    Config(ConfigArgs),
    /// Convert the project for a cluster (`--to kubernetes`), or print it as `config` does
    #[command(
        after_help = "Without --to, the same as `config` (docker compose's alias).\n\nExamples:\n  rcompose convert --to kubernetes                 manifests on standard output\n  rcompose convert --to kubernetes -o k8s/         one file per object\n  rcompose convert --to kubernetes | kubectl apply -f -"
    )]
    Convert(ConvertArgs),
    /// Deploy the project to a Docker Swarm, and list or remove stacks
    #[command(
        subcommand,
        after_help = "The stack is named after the project (-p).\n\nExamples:\n  rcompose stack deploy               deploy (or update) the project as a stack\n  rcompose stack ps                   its tasks\n  rcompose stack rm                   remove it"
    )]
    Stack(StackCommand),
    /// Serve an nginx.conf with the built-in proxy, as `nginx -c FILE` would
    #[command(
        after_help = "Examples:\n  rcompose proxy -c nginx.conf\n  rcompose proxy -t -c nginx.conf     check the configuration"
    )]
    Proxy(ProxyArgs),
    /// Execute a command in a running container
    #[command(
        after_help = "The command's exit status is rcompose's. A TTY is allocated when standard input and output are a terminal (-T: never).\n\nExamples:\n  rcompose exec mongodb mongosh\n  rcompose exec -T fastapi pytest -q\n  rcompose exec -e DEBUG=1 -u root -w /app fastapi sh\n  rcompose exec --index 2 worker ps aux"
    )]
    Exec(ExecArgs),
    /// Run a one-off command on a service
    #[command(
        after_help = "Its dependencies are started first (--no-deps: not), the container is named PROJECT-SERVICE-run-ID, and the command's exit status is rcompose's.\n\nExamples:\n  rcompose run --rm fastapi pytest\n  rcompose run --rm --no-deps -e DEBUG=1 fastapi python -m app.seed\n  rcompose run -d --name job worker ./job.sh\n  rcompose run --rm --service-ports web"
    )]
    Run(RunArgs),
    /// Force stop service containers
    #[command(after_help = "Examples:\n  rcompose kill\n  rcompose kill -s SIGHUP web")]
    Kill(KillArgs),
    /// Remove stopped service containers
    #[command(
        after_help = "Examples:\n  rcompose rm            asks first\n  rcompose rm -f worker\n  rcompose rm -sfv       stop, then remove with anonymous volumes"
    )]
    Rm(RmArgs),
    /// Pause services
    #[command(after_help = "Examples:\n  rcompose pause\n  rcompose pause worker")]
    Pause(ServicesArgs),
    /// Unpause services
    #[command(after_help = "Examples:\n  rcompose unpause\n  rcompose unpause worker")]
    Unpause(ServicesArgs),
    /// Print the public address and port for a port binding
    #[command(
        after_help = "Examples:\n  rcompose port web 80\n  rcompose port --protocol udp dns 53"
    )]
    Port(PortArgs),
    /// Display the running processes
    #[command(after_help = "Examples:\n  rcompose top\n  rcompose top web")]
    Top(ServicesArgs),
    /// Create containers without starting them
    #[command(
        after_help = "Examples:\n  rcompose create\n  rcompose create --build --scale worker=3"
    )]
    Create(CreateArgs),
    /// Scale services
    #[command(
        after_help = "Examples:\n  rcompose scale worker=3\n  rcompose scale --no-deps web=2 worker=0"
    )]
    Scale(ScaleArgs),
    /// Block until the containers of services stop; the first one's exit status
    #[command(
        after_help = "Examples:\n  rcompose wait migrate\n  rcompose wait --down-project tests"
    )]
    Wait(WaitArgs),
    /// List running compose projects (made by rcompose or docker compose)
    #[command(
        after_help = "Examples:\n  rcompose ls\n  rcompose ls -a --format json\n  rcompose ls --filter name=shop -q"
    )]
    Ls(LsArgs),
    /// List images used by the created containers
    #[command(
        after_help = "Examples:\n  rcompose images\n  rcompose images --format json\n  rcompose images -q"
    )]
    Images(ImagesArgs),
    /// Attach local standard input, output, and error streams to a service's running container
    #[command(
        after_help = "Examples:\n  rcompose attach web\n  rcompose attach --no-stdin --index 2 worker"
    )]
    Attach(AttachArgs),
    /// Receive real time events from containers
    #[command(after_help = "Examples:\n  rcompose events\n  rcompose events --json web")]
    Events(EventsArgs),
    /// Watch the build context for services and rebuild/refresh containers when files are updated
    #[command(
        after_help = "Follows each service's develop.watch rules (sync, sync+restart, sync+exec, restart, rebuild), after `up -d` of those services. Unlike docker compose, services without build: can sync, and initial_sync copies the tree first.\n\nExamples:\n  rcompose watch\n  rcompose watch --no-up web"
    )]
    Watch(WatchArgs),
    /// Copy files/folders between a service container and the local filesystem
    #[command(
        after_help = "SERVICE:SRC DEST copies from the service's first container (--index to choose); SRC SERVICE:DEST copies into every container of the service. `-` reads or writes a tar archive.\n\nExamples:\n  rcompose cp web:/etc/nginx/nginx.conf .\n  rcompose cp ./seed.sql db:/docker-entrypoint-initdb.d/\n  rcompose cp -a ./data/. worker:/srv/data"
    )]
    Cp(CpArgs),
    /// Display a live stream of container(s) resource usage statistics
    #[command(
        after_help = "Examples:\n  rcompose stats\n  rcompose stats --no-stream --format json\n  rcompose stats --no-stream --format \"table {{.Name}}\\t{{.CPUPerc}}\""
    )]
    Stats(StatsArgs),
    /// Push service images
    #[command(
        after_help = "Services that build an image and name it (`build:` with `image:`, and `build.tags`) are pushed; the others are skipped.\n\nExamples:\n  rcompose build && rcompose push\n  rcompose push --ignore-push-failures api"
    )]
    Push(PushArgs),
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  rcompose completions bash > /etc/bash_completion.d/rcompose\n  rcompose completions zsh > ~/.zfunc/_rcompose"
    )]
    Completions(CompletionsArgs),
    /// Serve one service's nginx configuration, detached (started by `up -d`)
    #[command(name = "proxy-daemon", hide = true)]
    ProxyDaemon(ProxyDaemonArgs),
    /// Show the rcompose version
    #[command(after_help = "Examples:\n  rcompose version\n  rcompose version --short")]
    Version(VersionArgs),
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Run in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Watch source code and rebuild/refresh containers when files are updated
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Build images before starting
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Do not build images, even when missing
    #[arg(long)]
    pub no_build: bool,
    /// When to pull images
    #[arg(long, value_enum)]
    pub pull: Option<PullPolicyArg>,
    /// Recreate containers even if unchanged
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// Never recreate existing containers
    #[arg(long)]
    pub no_recreate: bool,
    /// Do not start the named services' dependencies
    #[arg(long)]
    pub no_deps: bool,
    /// Run NUM containers of SERVICE, whatever `scale` or `deploy.replicas` say
    #[arg(long, value_name = "SERVICE=NUM", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
    /// Remove containers of services no longer in the file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Wait until services are running or healthy (implies -d)
    #[arg(long)]
    pub wait: bool,
    /// Seconds to wait with --wait
    #[arg(long, value_name = "SECONDS")]
    pub wait_timeout: Option<u64>,
    /// Shutdown timeout in seconds
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Stop everything when any container stops
    #[arg(long)]
    pub abort_on_container_exit: bool,
    /// Show only these services' output (repeatable)
    #[arg(long, value_name = "SERVICE")]
    pub attach: Vec<String>,
    /// Do not show these services' output (repeatable)
    #[arg(long, value_name = "SERVICE")]
    pub no_attach: Vec<String>,
    /// Show the output of the named services' dependencies too
    #[arg(long)]
    pub attach_dependencies: bool,
    /// Return this service's exit code (implies --abort-on-container-exit)
    #[arg(long, value_name = "SERVICE")]
    pub exit_code_from: Option<String>,
    /// Monochrome output
    #[arg(long)]
    pub no_color: bool,
    /// Do not prefix log lines with the service name
    #[arg(long)]
    pub no_log_prefix: bool,
    /// Show timestamps
    #[arg(long)]
    pub timestamps: bool,
    /// Create containers without starting them
    #[arg(long)]
    pub no_start: bool,
    /// Pull without printing progress
    #[arg(long)]
    pub quiet_pull: bool,
    /// Run a real nginx container instead of serving its configuration in-process
    #[arg(long)]
    pub no_builtin_proxy: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullPolicyArg {
    Always,
    Missing,
    Never,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove named volumes and anonymous volumes
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove images: `local` (built ones) or `all`
    #[arg(long, value_enum)]
    pub rmi: Option<Rmi>,
    /// Remove containers of services no longer in the file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Shutdown timeout in seconds
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Only these services' containers (the network goes once no other uses it)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rmi {
    Local,
    All,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Number of lines from the end of each log (or `all`)
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<String>,
    /// Show logs since a timestamp or relative time (42m)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp or relative time
    #[arg(long)]
    pub until: Option<String>,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Monochrome output
    #[arg(long)]
    pub no_color: bool,
    /// Do not prefix lines with the service name
    #[arg(long)]
    pub no_log_prefix: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show stopped containers too
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only show IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Show service names
    #[arg(long)]
    pub services: bool,
    /// Filter by state (running, exited, ...)
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// Filter services by a property (supported filters: status)
    #[arg(long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Output format: table, json, or a Go template such as
    /// '{{.Name}}\t{{.Status}}' ('table ...' adds a header row)
    #[arg(long, default_value = "table", value_name = "FORMAT")]
    pub format: String,
    #[arg(value_name = "SERVICE")]
    pub service_names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Do not use the cache
    #[arg(long)]
    pub no_cache: bool,
    /// Always try to pull newer base images
    #[arg(long)]
    pub pull: bool,
    /// Build-time variables (KEY=VALUE)
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Go on when an image cannot be pulled
    #[arg(long)]
    pub ignore_pull_failures: bool,
    /// Pull without printing progress
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push what it can and ignore failures
    #[arg(long)]
    pub ignore_push_failures: bool,
    /// Also push images of the services the named ones depend on
    #[arg(long)]
    pub include_deps: bool,
    /// Push without printing progress
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run the command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Set environment variables (KEY=VALUE, or KEY to pass this shell's value)
    #[arg(short = 'e', long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Index of the container if the service has several replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Disable pseudo-TTY allocation
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Give extended privileges to the process
    #[arg(long)]
    pub privileged: bool,
    /// Run the command as this user
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Path to the working directory for the command
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    pub service: String,
    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Build the image before starting the container
    #[arg(long)]
    pub build: bool,
    /// Run the container in the background and print its id
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the image's entrypoint
    #[arg(long, value_name = "COMMAND")]
    pub entrypoint: Option<String>,
    /// Set environment variables (KEY=VALUE, or KEY to pass this shell's value)
    #[arg(short = 'e', long = "env", value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Keep standard input open (on by default)
    #[arg(short = 'i', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub interactive: bool,
    /// Add or override a label
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Name the container
    #[arg(long)]
    pub name: Option<String>,
    /// Disable pseudo-TTY allocation (default: a TTY when there is a terminal)
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    /// Publish a container's port to the host
    #[arg(short = 'p', long = "publish", value_name = "[IP:][HOST:]CONTAINER")]
    pub publish: Vec<String>,
    /// Pull the image before running
    #[arg(long, value_enum)]
    pub pull: Option<PullPolicyArg>,
    /// Pull without printing progress
    #[arg(long)]
    pub quiet_pull: bool,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Run with the service's ports published
    #[arg(short = 'P', long)]
    pub service_ports: bool,
    /// Use the service's network aliases in the networks it joins
    #[arg(long)]
    pub use_aliases: bool,
    /// Run as this user
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Bind-mount a volume
    #[arg(short = 'v', long = "volume", value_name = "SOURCE:TARGET[:MODE]")]
    pub volumes: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    pub service: String,
    /// The command and its arguments (default: the service's)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// The signal to send
    #[arg(short = 's', long, default_value = "SIGKILL")]
    pub signal: String,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Don't ask to confirm removal
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short = 's', long)]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short = 'v', long)]
    pub volumes: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    /// Index of the container if the service has several replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// tcp or udp
    #[arg(long, default_value = "tcp")]
    pub protocol: String,
    pub service: String,
    /// The container's port
    pub private_port: u16,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Build images before creating containers
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Don't build an image, even if it's missing
    #[arg(long)]
    pub no_build: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long)]
    pub no_recreate: bool,
    /// Pull images before creating
    #[arg(long, value_enum)]
    pub pull: Option<PullPolicyArg>,
    /// Pull without printing progress
    #[arg(long)]
    pub quiet_pull: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances
    #[arg(long, value_name = "SERVICE=NUM", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    /// SERVICE=NUM, one or more
    #[arg(required = true, value_name = "SERVICE=NUM", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Drop the project once the first container stops
    #[arg(long)]
    pub down_project: bool,
    #[arg(required = true)]
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Show all stopped Compose projects
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Filter output based on conditions provided (name=TEXT)
    #[arg(long, value_name = "name=TEXT")]
    pub filter: Vec<String>,
    /// Format the output: table or json
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Only display project names
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Format the output: table or json
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Only display image ids
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Index of the container if the service has several replicas
    #[arg(long, default_value_t = 1)]
    pub index: u32,
    /// Do not attach standard input
    #[arg(long)]
    pub no_stdin: bool,
    pub service: String,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Output events as a stream of json objects
    #[arg(long)]
    pub json: bool,
    /// Show all events created since timestamp
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    pub until: Option<String>,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Do not build and start the services before watching
    #[arg(long)]
    pub no_up: bool,
    /// Remove the image a rebuild leaves dangling (`--prune=false` keeps it)
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub prune: bool,
    /// Hide the build output of rebuilds
    #[arg(long)]
    pub quiet: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServicesArgs {
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TimeoutServicesArgs {
    /// Shutdown timeout in seconds
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Shutdown timeout in seconds
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Don't restart services that depend on these with `restart: true`
    #[arg(long)]
    pub no_deps: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ConfigFormat::Yaml)]
    pub format: ConfigFormat,
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Print the network names, one per line
    #[arg(long)]
    pub networks: bool,
    /// Print the profile names, one per line
    #[arg(long)]
    pub profiles: bool,
    /// Print the image of each service, one per line
    #[arg(long)]
    pub images: bool,
    /// Print the config-hash of these services (comma-separated, or "*" for
    /// all), one "SERVICE HASH" per line: the label that decides recreation
    #[arg(long, value_name = "SERVICES")]
    pub hash: Option<String>,
    /// Only validate; print nothing
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Write the output to this file instead of standard output
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Leave ${VAR} as written
    #[arg(long)]
    pub no_interpolate: bool,
    #[arg(value_name = "SERVICE")]
    pub service_names: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum StackCommand {
    /// Deploy the project as a stack, or update it; depends_on is waited for
    Deploy(StackDeployArgs),
    /// List stacks
    Ls,
    /// List the tasks of the stack
    Ps(StackNameArgs),
    /// List the services of the stack
    Services(StackNameArgs),
    /// Remove the stack
    Rm(StackNameArgs),
}

#[derive(Debug, Args)]
pub struct StackDeployArgs {
    /// Run the nginx container instead of rcompose's proxy image
    #[arg(long)]
    pub no_builtin_proxy: bool,
    /// Remove services of the stack no longer in the files
    #[arg(long)]
    pub prune: bool,
    /// Push images built here to this registry (`HOST[:PORT]`) and run them from it
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StackNameArgs {
    /// The stack (default: the project's name)
    pub stack: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// What to convert to: the normalized compose file, or Kubernetes manifests
    #[arg(long, value_enum, default_value_t = ConvertTarget::Compose)]
    pub to: ConvertTarget,
    /// With --to kubernetes, -o names a folder (one file per object) unless it ends in .yaml or .yml
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertTarget {
    Compose,
    Kubernetes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The nginx configuration file
    #[arg(short = 'c', value_name = "FILE", default_value = "/etc/nginx/nginx.conf")]
    pub conf: PathBuf,
    /// Prefix that relative paths in the configuration resolve against
    #[arg(short = 'p', value_name = "PREFIX")]
    pub prefix: Option<PathBuf>,
    /// Check the configuration and exit
    #[arg(short = 't')]
    pub test: bool,
}

#[derive(Debug, Args)]
pub struct ProxyDaemonArgs {
    pub service: String,
    /// Serve directly (the supervisor of a restarting service starts this)
    #[arg(long)]
    pub child: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print only the version number
    #[arg(long)]
    pub short: bool,
    /// Format the output: pretty or json
    #[arg(short = 'f', long, default_value = "pretty")]
    pub format: String,
}

/// `--scale SERVICE=NUM`.
fn parse_scale(s: &str) -> Result<(String, u32), String> {
    let (svc, n) = s.split_once('=').ok_or_else(|| format!("expected SERVICE=NUM, found {s:?}"))?;
    let n: u32 = n.parse().map_err(|_| format!("{n:?} is not a number of containers"))?;
    if svc.is_empty() {
        return Err("the service name is empty".into());
    }
    Ok((svc.to_string(), n))
}

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Include containers created by the run command
    #[arg(long)]
    pub all: bool,
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Index of the container if the service has several replicas
    #[arg(long)]
    pub index: Option<u32>,
    /// SERVICE:SRC_PATH, or a local SRC_PATH (`-`: a tar archive on standard input)
    #[arg(value_name = "SRC")]
    pub source: String,
    /// A local DEST_PATH (`-`: a tar archive on standard output), or SERVICE:DEST_PATH
    #[arg(value_name = "DEST")]
    pub destination: String,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// `table` (the default), `json`, or a Go template of docker's fields
    #[arg(long)]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    pub services: Vec<String>,
}
