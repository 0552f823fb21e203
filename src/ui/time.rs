//! Times as docker prints them.

/// `2 minutes ago`, as docker prints ages (go-units' HumanDuration: hours
/// rounded to the nearest, "About a minute" for the second minute).
pub fn ago(secs: i64) -> String {
    let s = secs.max(0);
    let hours = (s + 1800) / 3600;
    let d = match s {
        0 => "Less than a second".to_string(),
        1 => "1 second".to_string(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "About a minute".to_string(),
        120..=3599 => format!("{} minutes", s / 60),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", s / 3600 / 24 / 365),
    };
    d + " ago"
}
