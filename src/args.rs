//! From the command line to [`crate::cli::Cli`]: clap colours its help and
//! errors as `--ansi`/`NO_COLOR` say (it is asked before the flags are
//! parsed), and an unknown command is answered with a suggestion that never
//! puts a command that changes state where one that reads may have been meant.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ColorChoice, CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// Commands that only read: suggested freely for a mistyped word.
const READS: &[&str] = &[
    "ps",
    "logs",
    "config",
    "top",
    "port",
    "images",
    "ls",
    "events",
    "version",
    "completions",
    "help",
    "stats",
    "wait",
    "attach",
];

/// The parsed command line, or the exit status once clap has printed why not.
pub(crate) fn parse(args: Vec<OsString>) -> Result<Cli, i32> {
    let color = color_choice(&args);
    let matches = match Cli::command().color(color).try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::InvalidSubcommand => {
            return Err(unknown_command(&e, color));
        }
        Err(e) => {
            let _ = e.print();
            return Err(e.exit_code());
        }
    };
    Cli::from_arg_matches(&matches).map_err(|e| {
        let _ = e.print();
        e.exit_code()
    })
}

/// `--ansi never|always` wherever it is given, then NO_COLOR, else clap's own test.
fn color_choice(args: &[OsString]) -> ColorChoice {
    let mut choice = None;
    let mut words = args.iter().filter_map(|a| a.to_str());
    while let Some(w) = words.next() {
        let value = match w.strip_prefix("--ansi") {
            Some("") => words.next(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        match value {
            Some("never") => choice = Some(ColorChoice::Never),
            Some("always") => choice = Some(ColorChoice::Always),
            Some(_) => choice = Some(ColorChoice::Auto),
            None => {}
        }
        if w == "--" {
            break;
        }
    }
    choice.unwrap_or_else(|| {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            ColorChoice::Never
        } else {
            ColorChoice::Auto
        }
    })
}

/// `error: unrecognized subcommand`, with a neighbour only where it is safe.
fn unknown_command(e: &clap::Error, color: ColorChoice) -> i32 {
    let word = match e.get(ContextKind::InvalidSubcommand) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let names: Vec<String> = Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .chain(std::iter::once("help".to_string()))
        .collect();
    let style = crate::ui::Style::for_stderr(match color {
        ColorChoice::Never => crate::ui::Ansi::Never,
        ColorChoice::Always => crate::ui::Ansi::Always,
        ColorChoice::Auto => crate::ui::Ansi::Auto,
    });
    let mut text = format!("{} unrecognized subcommand '{word}'\n", style.paint("1;31", "error:"));
    if let Some(n) = suggestion(&word, &names) {
        text.push_str(&format!("\n  tip: a similar subcommand exists: '{n}'\n"));
    }
    text.push_str("\nUsage: rcompose [OPTIONS] [COMMAND]\n\nFor more information, try '--help'.\n");
    eprint!("{text}");
    2
}

/// The closest command to `word`: a reading one when it is near enough; a
/// command that changes state only when `word` is one slip away from it.
pub(crate) fn suggestion<'a>(word: &str, names: &'a [String]) -> Option<&'a str> {
    let near = |n: &String| strsim::jaro_winkler(word, n) >= 0.8;
    let best_read = names
        .iter()
        .filter(|n| READS.contains(&n.as_str()) && near(n))
        .max_by(|a, b| strsim::jaro_winkler(word, a).total_cmp(&strsim::jaro_winkler(word, b)));
    let slip = names
        .iter()
        .filter(|n| !READS.contains(&n.as_str()))
        .find(|n| strsim::osa_distance(word, n) <= 1 && word.len() >= 3);
    slip.or(best_read).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        Cli::command().get_subcommands().map(|c| c.get_name().to_string()).collect()
    }

    #[test]
    fn readers_are_never_answered_with_a_command_that_changes_state() {
        let names = names();
        // A slip of one key on a command that changes state is that command.
        assert_eq!(suggestion("stpo", &names), Some("stop"));
        assert_eq!(suggestion("unpaus", &names), Some("unpause"));
        assert_eq!(suggestion("dwon", &names), Some("down"));
        // Words further off get a command that reads, or nothing.
        assert_eq!(suggestion("top2", &names), Some("top"));
        assert_eq!(suggestion("statz", &names), Some("stats"));
        assert_eq!(suggestion("lgs", &names), Some("logs"));
        for w in ["bogus", "cpp", "stat", "upp", "remove"] {
            let s = suggestion(w, &names);
            assert!(
                s.is_none_or(|s| READS.contains(&s) || strsim::osa_distance(w, s) <= 1),
                "{w}: {s:?}"
            );
        }
    }

    #[test]
    fn ansi_is_read_before_the_rest() {
        let a = |v: &[&str]| color_choice(&v.iter().map(OsString::from).collect::<Vec<_>>());
        assert_eq!(a(&["rcompose", "--ansi", "never", "--help"]), ColorChoice::Never);
        assert_eq!(a(&["rcompose", "--ansi=always", "bogus"]), ColorChoice::Always);
        assert_eq!(a(&["rcompose", "exec", "web", "--", "--ansi", "never"]), a(&["rcompose"]));
    }
}
