//! The one path from a failed command to the process exit status: commands
//! return errors, and [`report`] renders them (located diagnostics, nginx's
//! own wording for the proxy, one line per failed service) and picks the
//! status, as ripgrep's `main` does.

use crate::diag::Diagnostics;
use crate::ui::{self, Style};

/// Failures that render differently from a plain `error: ...` line.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The project's files did not load; each problem is located.
    #[error("{0}")]
    Load(Diagnostics),
    /// Several independent failures (services that did not converge, say),
    /// root causes first; each is its own `error:` line.
    #[error("{}", .0.join("; "))]
    Each(Vec<String>),
    /// Lines printed as they are: the proxy speaks nginx's `[emerg]` words.
    #[error("{}", .0.join("\n"))]
    Verbatim(Vec<String>),
    /// Ctrl-C: a warning about what is left, and the shell's status 130.
    #[error("{0}")]
    Interrupted(String),
}

/// Prints `e` for the user; the exit status it calls for.
pub fn report(e: &anyhow::Error, style: &Style) -> i32 {
    let error = style.paint("1;31", "error");
    match e.downcast_ref::<Failure>() {
        Some(Failure::Load(diags)) => ui::report(style, &diags.0),
        Some(Failure::Each(list)) => list.iter().for_each(|m| eprintln!("{error}: {m}")),
        Some(Failure::Verbatim(lines)) => lines.iter().for_each(|l| eprintln!("{l}")),
        Some(Failure::Interrupted(why)) => {
            eprintln!("{}: {why}", style.paint("1;33", "warning"));
            return 130;
        }
        None => eprintln!("{error}: {e:#}"),
    }
    1
}
