//! `rcompose completions SHELL`: the scripts in `completions/` come from here.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs};

/// The completion script for `shell`, as checked in under `completions/`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rcompose", &mut out);
    out
}

/// The file name each shell's script is kept under in `completions/`.
pub fn file_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "rcompose.bash",
        Shell::Zsh => "_rcompose",
        Shell::Fish => "rcompose.fish",
        Shell::PowerShell => "_rcompose.ps1",
        Shell::Elvish => "rcompose.elv",
        _ => "rcompose.unknown",
    }
}

pub fn run(args: &CompletionsArgs) -> anyhow::Result<i32> {
    use std::io::Write;
    std::io::stdout().write_all(&script(args.shell))?;
    Ok(0)
}
