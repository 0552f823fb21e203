//! Terminal output: colors (honouring `--ansi` and `NO_COLOR`) and the
//! rendering of diagnostics.

pub mod container_list;
pub mod progress;
pub mod terminal;
pub mod time;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::diag::{Diagnostic, Severity};

/// When to color output (`--ansi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ansi {
    Never,
    Always,
    #[default]
    Auto,
}

/// Whether to color, decided once from `--ansi`, `NO_COLOR` and the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn new(ansi: Ansi, no_color_env: bool, is_tty: bool) -> Self {
        let color = match ansi {
            Ansi::Always => true,
            Ansi::Never => false,
            Ansi::Auto => is_tty && !no_color_env,
        };
        Style { color }
    }

    /// The style for standard error in this process.
    pub fn for_stderr(ansi: Ansi) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style::new(ansi, no_color, std::io::stderr().is_terminal())
    }

    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    /// `warning: ...` / `error: ...` with the diagnostic's location and hint.
    pub fn diagnostic(&self, d: &Diagnostic) -> String {
        let label = match d.severity {
            Severity::Error => self.paint("1;31", "error"),
            Severity::Warning => self.paint("1;33", "warning"),
        };
        format!("{label}: {d}")
    }
}

/// `text` without terminal escape sequences: CSI (`ESC [ ... letter`),
/// OSC (`ESC ] ... BEL` or `ESC \\`) and two-byte escapes.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

static DEBUG: AtomicBool = AtomicBool::new(false);

/// Turns on the debug lines (`--verbose`, or `RCOMPOSE_DEBUG` set and not empty).
pub fn set_debug(on: bool) {
    let env = std::env::var_os("RCOMPOSE_DEBUG").is_some_and(|v| !v.is_empty() && v != "0");
    DEBUG.store(on || env, Ordering::Relaxed);
}

/// A line of what rcompose sees and decides (engine events, the verdict of
/// each dependency check), for finding out why something waits.
pub fn debug(line: &str) {
    if DEBUG.load(Ordering::Relaxed) {
        let t = chrono::Utc::now().format("%H:%M:%S%.3f");
        eprintln!("debug {t} {line}");
    }
}

/// Prints diagnostics to standard error, warnings first.
pub fn report(style: &Style, diags: &[Diagnostic]) {
    for d in diags.iter().filter(|d| !d.is_error()).chain(diags.iter().filter(|d| d.is_error())) {
        eprintln!("{}", style.diagnostic(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_choice() {
        assert!(Style::new(Ansi::Auto, false, true).color);
        assert!(!Style::new(Ansi::Auto, true, true).color);
        assert!(!Style::new(Ansi::Auto, false, false).color);
        assert!(Style::new(Ansi::Always, true, false).color);
        assert!(!Style::new(Ansi::Never, false, true).color);
        assert_eq!(Style { color: false }.paint("31", "x"), "x");
        assert_eq!(strip_ansi("\x1b[1;31mred\x1b[0m and \x1b]0;title\x07plain"), "red and plain");
        assert_eq!(strip_ansi("no escapes"), "no escapes");
    }
}
