//! Progress for long work: indicatif spinners and bars on a terminal, plain
//! lines otherwise (or with `--progress plain`), nothing with `quiet`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How to show progress (`--progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Bars on a terminal, plain lines elsewhere.
    #[default]
    Auto,
    Tty,
    Plain,
    Quiet,
}

/// The states an item goes through, worded as docker compose words them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Building,
    Built,
    Pulling,
    Pulled,
    Pushing,
    Pushed,
    Skipped,
    Creating,
    Created,
    Recreate,
    Recreated,
    Starting,
    Started,
    Running,
    Waiting,
    Healthy,
    Exited,
    Stopping,
    Stopped,
    Removing,
    Removed,
    Killing,
    Killed,
    Pausing,
    Paused,
    Unpausing,
    Unpaused,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Building => "Building",
            State::Built => "Built",
            State::Pulling => "Pulling",
            State::Pulled => "Pulled",
            State::Pushing => "Pushing",
            State::Pushed => "Pushed",
            State::Skipped => "Skipped",
            State::Creating => "Creating",
            State::Created => "Created",
            State::Recreate => "Recreate",
            State::Recreated => "Recreated",
            State::Starting => "Starting",
            State::Started => "Started",
            State::Running => "Running",
            State::Waiting => "Waiting",
            State::Healthy => "Healthy",
            State::Exited => "Exited",
            State::Stopping => "Stopping",
            State::Stopped => "Stopped",
            State::Removing => "Removing",
            State::Removed => "Removed",
            State::Killing => "Killing",
            State::Killed => "Killed",
            State::Pausing => "Pausing",
            State::Paused => "Paused",
            State::Unpausing => "Unpausing",
            State::Unpaused => "Unpaused",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone)]
pub struct Progress {
    kind: Kind,
    bars: Bars,
    color: bool,
}

#[derive(Clone)]
enum Kind {
    Tty(MultiProgress),
    Plain,
    Quiet,
}

type Bars = Arc<Mutex<HashMap<String, ProgressBar>>>;
type Area = (MultiProgress, std::sync::Weak<Mutex<HashMap<String, ProgressBar>>>);

/// The progress areas drawn on the terminal, so that lines printed while one
/// is moving go above it instead of being drawn over.
static AREAS: Mutex<Vec<Area>> = Mutex::new(Vec::new());

/// Runs `print` with the moving progress area (if any) lifted off the
/// terminal and drawn again below what it printed (indicatif's `suspend`).
pub fn above(print: impl FnOnce()) {
    let live = {
        let mut areas = AREAS.lock().unwrap_or_else(|e| e.into_inner());
        areas.retain(|(_, bars)| bars.strong_count() > 0);
        areas
            .iter()
            .rev()
            .find(|(_, bars)| {
                bars.upgrade().is_some_and(|b| {
                    b.lock().unwrap_or_else(|e| e.into_inner()).values().any(|b| !b.is_finished())
                })
            })
            .map(|(m, _)| m.clone())
    };
    match live {
        Some(multi) => multi.suspend(print),
        None => print(),
    }
}

impl Progress {
    pub fn new(mode: Mode, color: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let kind = match mode {
            Mode::Quiet => Kind::Quiet,
            Mode::Plain => Kind::Plain,
            Mode::Tty => Kind::Tty(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            Mode::Auto if tty => {
                Kind::Tty(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
            }
            Mode::Auto => Kind::Plain,
        };
        let bars: Bars = Arc::new(Mutex::new(HashMap::new()));
        if let Kind::Tty(multi) = &kind {
            let mut areas = AREAS.lock().unwrap_or_else(|e| e.into_inner());
            areas.push((multi.clone(), Arc::downgrade(&bars)));
        }
        Progress { kind, bars, color }
    }

    fn mark(&self, ok: bool) -> String {
        match (ok, self.color) {
            (true, true) => "\x1b[32m✔\x1b[0m".into(),
            (true, false) => "✔".into(),
            (false, true) => "\x1b[31m✘\x1b[0m".into(),
            (false, false) => "✘".into(),
        }
    }

    /// An item (`Container web`) moves to a new state (`Creating`, `Started`).
    /// `done` marks the final state of the item.
    pub fn step(&self, item: &str, state: State, done: bool) {
        self.show(item, state.as_str(), done);
    }

    /// A state with words of rcompose's after it (`Started (built-in proxy on ...)`).
    pub fn step_with(&self, item: &str, state: State, words: &str, done: bool) {
        self.show(item, &format!("{state} ({words})"), done);
    }

    fn show(&self, item: &str, state: &str, done: bool) {
        match &self.kind {
            Kind::Quiet => {}
            Kind::Plain => eprintln!(" {item}  {state}"),
            Kind::Tty(multi) => {
                let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
                let bar = bars.entry(item.to_string()).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new_spinner());
                    b.set_style(
                        ProgressStyle::with_template(" {spinner} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    b.enable_steady_tick(Duration::from_millis(100));
                    b
                });
                if done {
                    bar.set_style(
                        ProgressStyle::with_template(" {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.finish_with_message(format!("{} {item}  {state}", self.mark(true)));
                } else {
                    bar.set_message(format!("{item}  {state}"));
                }
            }
        }
    }

    /// What an unfinished item is doing now, on its spinner line only: on a
    /// terminal a long wait says what it waits for, while plain output keeps
    /// one line per state.
    pub fn note(&self, item: &str, state: &str) {
        if let Kind::Tty(_) = &self.kind
            && let Some(bar) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).get(item)
            && !bar.is_finished()
        {
            bar.set_message(format!("{item}  {state}"));
        }
    }

    /// The item failed: shown as such. The reason is the error the command
    /// ends with, printed once there; `why` is kept for the debug log.
    pub fn fail(&self, item: &str, why: &str) {
        crate::ui::debug(&format!("{item} failed: {why}"));
        match &self.kind {
            Kind::Quiet => {}
            Kind::Plain => eprintln!(" {item}  Error"),
            Kind::Tty(_) => {
                let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
                match bars.get(item) {
                    Some(bar) => {
                        bar.set_style(
                            ProgressStyle::with_template(" {msg}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        bar.finish_with_message(format!("{} {item}  Error", self.mark(false)));
                    }
                    None => eprintln!(" {} {item}  Error", self.mark(false)),
                }
            }
        }
    }

    /// Bytes done of a total for an item (an image pull across its layers).
    pub fn bytes(&self, item: &str, done: u64, total: u64) {
        if let Kind::Tty(multi) = &self.kind {
            let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
            let bar =
                bars.entry(item.to_string()).or_insert_with(|| multi.add(ProgressBar::new(total)));
            bar.set_style(
                ProgressStyle::with_template(
                    " {spinner} {prefix} [{bar:30}] {bytes}/{total_bytes}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{item}  Pulling"));
            bar.set_length(total);
            bar.set_position(done.min(total));
        }
    }

    /// A line of output that belongs above the progress display (build output).
    pub fn println(&self, line: &str) {
        // A build's own colours go when rcompose does not colour (NO_COLOR, --ansi never, a pipe).
        let plain;
        let line = if self.color {
            line
        } else {
            plain = crate::ui::strip_ansi(line);
            &plain
        };
        match &self.kind {
            Kind::Quiet => {}
            Kind::Plain => eprintln!("{line}"),
            Kind::Tty(multi) => {
                let _ = multi.println(line);
            }
        }
    }
}
