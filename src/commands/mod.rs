//! One module per subcommand, each orchestrating the parts it needs.

pub mod completions;
pub mod config;
pub mod version;

use crate::cli::{Cli, Command, GlobalOpts};
use crate::compose::{LoadOptions, Loaded};
use crate::ui::{self, Style};

/// Exit status for a command whose behaviour has not landed yet.
pub const EXIT_NOT_AVAILABLE: i32 = 2;

/// Runs the parsed command line and returns the process exit status.
pub fn dispatch(cli: Cli) -> i32 {
    let style = Style::for_stderr(cli.global.ansi);
    let result = match cli.command {
        Command::Config(args) => config::run(&cli.global, &args, &style),
        Command::Completions(args) => completions::run(&args),
        Command::Version(args) => version::run(&args),
        other => {
            let name = command_name(&other);
            eprintln!(
                "rcompose: `{name}` is not available yet in this build; use `docker compose {name}` for now"
            );
            return EXIT_NOT_AVAILABLE;
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}: {e:#}", style.paint("1;31", "error"));
            1
        }
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Up(_) => "up",
        Command::Down(_) => "down",
        Command::Logs(_) => "logs",
        Command::Ps(_) => "ps",
        Command::Build(_) => "build",
        Command::Pull(_) => "pull",
        Command::Start(_) => "start",
        Command::Stop(_) => "stop",
        Command::Restart(_) => "restart",
        Command::Proxy(_) => "proxy",
        Command::Config(_) => "config",
        Command::Completions(_) => "completions",
        Command::Version(_) => "version",
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
