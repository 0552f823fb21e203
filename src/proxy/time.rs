//! Times as nginx writes them (`Date`, `$time_local`, `$time_iso8601`),
//! formatted once per second and reused.

use std::time::SystemTime;

/// The time strings nginx formats once per second and reuses.
#[derive(Clone, Copy)]
pub enum TimeFormat {
    /// `Date`, `Last-Modified`: `Sun, 06 Nov 1994 08:49:37 GMT`.
    Http,
    /// `$time_local`.
    Local,
    /// `$time_iso8601`.
    Iso8601,
}

fn format_now(t: SystemTime, f: TimeFormat) -> String {
    match f {
        TimeFormat::Http => {
            chrono::DateTime::<chrono::Utc>::from(t).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
        }
        TimeFormat::Local => {
            chrono::DateTime::<chrono::Local>::from(t).format("%d/%b/%Y:%H:%M:%S %z").to_string()
        }
        TimeFormat::Iso8601 => {
            chrono::DateTime::<chrono::Local>::from(t).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Formattings made, for the tests that count them.
    pub(crate) static FORMATTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `t` formatted, from a small per-thread cache of recent seconds (the same
/// second is asked for again and again: the time now, the same files'
/// mtimes). Least recently used goes first: keyed by second modulo the size,
/// a file's mtime and the clock shared a slot one second in four and pushed
/// each other out on every request.
pub fn format_time(t: SystemTime, f: TimeFormat) -> String {
    with_time(t, f, &mut |s| s.to_string())
}

/// Hands `t` formatted to `use_it`, lent from the cache (log lines take
/// `$time_local` on every request; a copy is an allocation each time).
pub fn with_time<R>(t: SystemTime, f: TimeFormat, use_it: &mut dyn FnMut(&str) -> R) -> R {
    use std::cell::RefCell;
    /// (second, text, last use) per format.
    type Row = [(u64, String, u64); 4];
    thread_local! {
        static CACHE: RefCell<([Row; 3], u64)> = const { RefCell::new(([const { [const { (u64::MAX, String::new(), 0) }; 4] }; 3], 0)) };
    }
    let Ok(secs) = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()) else {
        return use_it(&format_now(t, f));
    };
    CACHE.with(|c| {
        let (rows, clock) = &mut *c.borrow_mut();
        *clock += 1;
        let row = &mut rows[f as usize];
        let i = match row.iter().position(|s| s.0 == secs) {
            Some(i) => i,
            None => {
                let i = (0..row.len()).min_by_key(|&i| row[i].2).unwrap_or(0);
                #[cfg(test)]
                FORMATTED.with(|n| n.set(n.get() + 1));
                row[i] = (secs, format_now(t, f), 0);
                i
            }
        };
        row[i].2 = *clock;
        use_it(&row[i].1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_and_an_mtime_four_seconds_apart_are_formatted_once_each() {
        let mtime = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let now = mtime + std::time::Duration::from_secs(4);
        let before = FORMATTED.with(|n| n.get());
        for _ in 0..100 {
            assert_eq!(format_time(now, TimeFormat::Http), format_now(now, TimeFormat::Http));
            assert_eq!(format_time(mtime, TimeFormat::Http), format_now(mtime, TimeFormat::Http));
        }
        assert_eq!(FORMATTED.with(|n| n.get()) - before, 2);
    }
}
