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

/// A size as docker writes it (go-units' HumanSize: decimal units, three
/// significant digits): `1.98MB`, `500B`, `12.3kB`.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    #[expect(clippy::cast_precision_loss, reason = "three significant digits are shown")]
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let text = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    let text =
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    format!("{text}{}", UNITS[i])
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn sizes_read_as_docker_writes_them() {
        assert_eq!(super::human_size(1_984_172), "1.98MB");
        assert_eq!(super::human_size(500), "500B");
        assert_eq!(super::human_size(1000), "1kB");
        assert_eq!(super::human_size(12_345_678), "12.3MB");
        assert_eq!(super::human_size(123_456_789), "123MB");
    }
}
