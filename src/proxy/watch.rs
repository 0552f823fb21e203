//! Knowing when files may have changed without asking the file system.
//!
//! A static request costs a `stat(2)` per path tried (three for `/` through
//! `try_files $uri $uri/ /index.html`), each walking the whole path in the
//! kernel: a fifth of the proxy's time on small files. Directories that
//! lookups went through are watched with inotify instead, and any event in
//! one of them (a file written and closed, created, removed, renamed, its
//! attributes changed) starts a new *generation*: what was looked up in an
//! older generation is looked up again.
//!
//! The events are read on the lookup's own thread, before the cache is
//! consulted, so a change whose `close(2)` returned before a request arrived
//! is always seen by that request: there is no watcher thread to fall
//! behind. Writes to a file still held open raise no event (that is what
//! keeps a log file next to the pages from invalidating everything); such
//! changes, and any the watches cannot see (network file systems, links
//! into unwatched places), are bounded by the cache's age limit.

use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
use rustix::io::Errno;

const MASK: WatchFlags = WatchFlags::ATTRIB
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::CREATE)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::ONLYDIR);

/// Directories watched at once, at most; past it lookups are not cached.
const MAX_WATCHED: usize = 4096;

pub struct Watcher {
    /// `None` when inotify is unavailable: nothing is ever trusted.
    fd: Option<OwnedFd>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    generation: u64,
    /// Directories with a watch added since the last event.
    watched: HashSet<PathBuf>,
}

impl Default for Watcher {
    fn default() -> Self {
        let fd = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok();
        Watcher { fd, state: Mutex::new(State::default()) }
    }
}

impl Watcher {
    /// The current generation, after taking in every event already queued.
    /// `None` when changes cannot be watched at all.
    pub fn generation(&self) -> Option<u64> {
        let fd = self.fd.as_ref()?;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.take_events(fd);
        Some(st.generation)
    }

    /// Watches each directory (missing ones are skipped: their parent's
    /// watch sees them appear). True when all that exist are watched and no
    /// event came in meanwhile, so a lookup made now may be kept under
    /// `generation`.
    pub fn watch(&self, dirs: &[&Path], generation: u64) -> bool {
        let Some(fd) = self.fd.as_ref() else {
            return false;
        };
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for dir in dirs {
            if st.watched.contains(*dir) {
                continue;
            }
            if st.watched.len() >= MAX_WATCHED {
                return false;
            }
            match inotify::add_watch(fd, *dir, MASK) {
                Ok(_) => {}
                Err(Errno::NOENT | Errno::NOTDIR) => continue,
                Err(_) => return false,
            }
            st.watched.insert(dir.to_path_buf());
        }
        st.take_events(fd);
        st.generation == generation
    }
}

impl State {
    /// Reads every queued event; any starts a new generation.
    fn take_events(&mut self, fd: &OwnedFd) {
        // Uninitialized: this runs on every lookup, and the events are only counted.
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
        let mut any = false;
        while rustix::io::read(fd, &mut buf[..]).is_ok_and(|(read, _)| !read.is_empty()) {
            any = true;
        }
        if any {
            self.generation += 1;
            // A removed directory's watch is gone; one made again at the same
            // path is a new directory. Watches are added afresh when needed.
            self.watched.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_in_watched_directories_start_a_new_generation() {
        let w = Watcher::default();
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("a"), "1").unwrap();
        let g = w.generation().expect("inotify works here");
        assert!(w.watch(&[d.path(), &sub, &sub.join("missing")], g));
        assert_eq!(w.generation(), Some(g), "nothing changed");
        std::fs::write(sub.join("a"), "2").unwrap();
        let g2 = w.generation().unwrap();
        assert!(g2 > g, "a file written and closed");
        assert!(!w.watch(&[&sub], g), "an old generation is refused");
        assert!(w.watch(&[d.path(), &sub], g2));
        std::fs::rename(&sub, d.path().join("moved")).unwrap();
        let g3 = w.generation().unwrap();
        assert!(g3 > g2, "a directory renamed in a watched parent");
        assert!(w.watch(&[d.path()], g3));
        // A file held open and written raises nothing (a log file beside the pages).
        use std::io::Write;
        let mut log = std::fs::File::create(d.path().join("log")).unwrap();
        let g4 = w.generation().unwrap();
        log.write_all(b"line\n").unwrap();
        log.flush().unwrap();
        assert_eq!(w.generation(), Some(g4));
    }
}
