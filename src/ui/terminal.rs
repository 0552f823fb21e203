//! The user's terminal, for commands that hand it to a container (`exec`):
//! raw mode while the container's TTY is attached, and its size.

use std::io::IsTerminal;

use rustix::termios::{OptionalActions, Termios, tcgetattr, tcgetwinsize, tcsetattr};

/// Standard input and output are both a terminal: a TTY can be handed on.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// The terminal's size as (rows, columns), if standard output is one.
pub fn size() -> Option<(u16, u16)> {
    let ws = tcgetwinsize(std::io::stdout()).ok()?;
    (ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Standard input in raw mode (keys go through as typed, Ctrl-C included:
/// the container's TTY interprets them) until dropped, when the settings
/// it found are put back, on every path out.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub fn enter() -> std::io::Result<RawMode> {
        let saved = tcgetattr(std::io::stdin())?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(std::io::stdin(), OptionalActions::Now, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}
