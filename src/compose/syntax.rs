//! Parsers for the compact string forms compose accepts: port mappings,
//! volume mounts, durations, byte sizes, restart policies, commands.

use std::path::Path;
use std::time::Duration;

use super::model::{BindOptions, Mount, MountType, Port, VolumeOptions};

/// A command written as one string, split into words as docker compose
/// splits it (go-shellwords, not a POSIX shell): quotes group, a backslash
/// takes the next character as it is (inside double quotes too), `#` is an
/// ordinary character, and words end at the first unquoted `;`, `&`, `|`,
/// `<` or `>`. What follows that operator is dropped, as docker compose
/// drops it; the second value is where it was, so the caller can say so.
pub fn split_command(s: &str) -> Result<(Vec<String>, Option<usize>), String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word has begun (an empty pair of quotes makes an empty word).
    let mut started = false;
    let (mut escaped, mut single, mut double, mut back, mut dollar) =
        (false, false, false, false, false);
    let mut cut = None;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            if back || dollar {
                word.push('\\');
            }
            word.push(c);
            started = true;
            continue;
        }
        if c == '\\' {
            if single {
                word.push(c);
            } else {
                escaped = true;
            }
            continue;
        }
        let quoted = single || double || back || dollar;
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if quoted {
                word.push(c);
            } else if started {
                words.push(std::mem::take(&mut word));
                started = false;
            }
            continue;
        }
        match c {
            '`' if !single && !double && !dollar => back = !back,
            ')' if !single && !double && !back => {
                if !dollar {
                    return Err("unbalanced `)`".into());
                }
                dollar = false;
            }
            '(' if !single && !double && !back => {
                if !dollar && word.ends_with('$') {
                    dollar = true;
                } else {
                    return Err("`(` outside quotes".into());
                }
            }
            '"' if !single && !dollar && !back => {
                double = !double;
                started = true;
                continue;
            }
            '\'' if !double && !dollar && !back => {
                single = !single;
                started = true;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if !quoted => {
                // `2>&1`: the descriptor before a redirection goes with it.
                if c == '>' && !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
                    word.clear();
                    started = false;
                }
                cut = Some(i);
                break;
            }
            _ => {}
        }
        word.push(c);
        started = true;
    }
    // A cut happens only outside quotes, so this holds for a cut command too.
    if escaped || single || double || back || dollar {
        return Err("unbalanced quotes".into());
    }
    if started {
        words.push(word);
    }
    Ok((words, cut))
}

/// Parses `[IP:][HOST:]CONTAINER[/PROTO]`, expanding ranges into one entry per port.
pub fn parse_port(spec: &str) -> Result<Vec<Port>, String> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_string()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("unknown protocol {protocol:?} (use tcp, udp or sctp)"));
    }
    let (host_ip, rest) = if let Some(stripped) = rest.strip_prefix('[') {
        let (ip, after) =
            stripped.split_once(']').ok_or("an IPv6 address must be closed with `]`")?;
        let after = after.strip_prefix(':').ok_or("expected `:` after the IPv6 address")?;
        (Some(ip.to_string()), after)
    } else {
        (None, rest)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match (host_ip, parts.as_slice()) {
        (None, [c]) => (None, None, *c),
        (None, [h, c]) => (None, Some(*h), *c),
        (None, [ip, h, c]) => (Some(ip.to_string()), Some(*h), *c),
        (Some(ip), [h, c]) => (Some(ip), Some(*h), *c),
        (Some(ip), [c]) => (Some(ip), None, *c),
        _ => {
            return Err(format!(
                "invalid port mapping {spec:?}; expected [IP:][HOST:]CONTAINER[/PROTOCOL]"
            ));
        }
    };
    if let Some(ip) = &ip
        && !ip.is_empty()
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return Err(format!("invalid IP address {ip:?}"));
    }
    let ip = ip.filter(|i| !i.is_empty());
    let (c_lo, c_hi) = port_range(container, "container")?;
    let host = host.filter(|h| !h.is_empty());
    let host_range = host.map(|h| port_range(h, "host")).transpose()?;
    let count = c_hi - c_lo + 1;
    let mut out = Vec::new();
    for i in 0..count {
        let published = match host_range {
            None => None,
            Some((lo, hi)) if count == 1 => {
                Some(if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
            }
            Some((lo, hi)) if hi - lo + 1 == count => Some((lo + i).to_string()),
            Some(_) => {
                return Err(format!(
                    "host port range and container port range in {spec:?} differ in size"
                ));
            }
        };
        out.push(Port {
            mode: "ingress".into(),
            host_ip: ip.clone(),
            target: c_lo + i,
            published,
            protocol: protocol.clone(),
        });
    }
    Ok(out)
}

fn port_range(s: &str, what: &str) -> Result<(u16, u16), String> {
    // Host port 0 asks the engine to choose one, as `docker run -p 0:80` does.
    if what == "host" && s.trim() == "0" {
        return Ok((0, 0));
    }
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let lo = port_number(lo, what)?;
    let hi = port_number(hi, what)?;
    if hi < lo {
        return Err(format!("invalid {what} port range {s:?}: the end is below the start"));
    }
    Ok((lo, hi))
}

pub fn port_number(s: &str, what: &str) -> Result<u16, String> {
    let n: u64 =
        s.trim().parse().map_err(|_| format!("invalid {what} port {s:?}: not a number"))?;
    if n == 0 || n > 65535 {
        return Err(format!("{what} port {n} is out of range (1-65535)"));
    }
    u16::try_from(n).map_err(|_| format!("{what} port {n} is out of range (1-65535)"))
}

/// Is this volume source a host path (a bind mount) rather than a volume name?
pub fn is_host_path(src: &str) -> bool {
    src.starts_with('/') || src.starts_with('.') || src.starts_with('~')
}

/// Parses `SRC:DST[:OPTIONS]` or a lone `DST` (an anonymous volume).
/// Host paths are resolved against `base`, `~` against `home`.
pub fn parse_volume(spec: &str, base: &Path, home: Option<&str>) -> Result<Mount, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [d] => (None, *d, None),
        [s, d] => (Some(*s), *d, None),
        [s, d, o] => (Some(*s), *d, Some(*o)),
        _ => {
            return Err(format!("invalid volume {spec:?}; expected SOURCE:TARGET[:OPTIONS]"));
        }
    };
    if dst.is_empty() {
        return Err(format!("invalid volume {spec:?}: the target is empty"));
    }
    if !dst.starts_with('/') {
        return Err(format!(
            "invalid volume {spec:?}: the target {dst:?} must be an absolute path in the container"
        ));
    }
    let dst = &clean_target(dst);
    let mut mount = match src.filter(|s| !s.is_empty()) {
        None => Mount {
            kind: MountType::Volume,
            source: None,
            target: dst.into(),
            read_only: false,
            bind: None,
            volume: Some(VolumeOptions::default()),
            tmpfs: None,
        },
        Some(s) if is_host_path(s) => Mount {
            kind: MountType::Bind,
            source: Some(bind_source(s, base, home)),
            target: dst.into(),
            read_only: false,
            bind: Some(BindOptions { create_host_path: true, ..Default::default() }),
            volume: None,
            tmpfs: None,
        },
        Some(s) => Mount {
            kind: MountType::Volume,
            source: Some(s.into()),
            target: dst.into(),
            read_only: false,
            bind: None,
            volume: Some(VolumeOptions::default()),
            tmpfs: None,
        },
    };
    for opt in opts.into_iter().flat_map(|o| o.split(',')) {
        match opt {
            "ro" => mount.read_only = true,
            "rw" => mount.read_only = false,
            "z" | "Z" => match &mut mount.bind {
                Some(b) => b.selinux = Some(opt.into()),
                None => {
                    return Err(format!("option {opt:?} in {spec:?} only applies to bind mounts"));
                }
            },
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => match &mut mount
                .bind
            {
                Some(b) => b.propagation = Some(opt.into()),
                None => {
                    return Err(format!("option {opt:?} in {spec:?} only applies to bind mounts"));
                }
            },
            "nocopy" => match &mut mount.volume {
                Some(v) => v.nocopy = true,
                None => {
                    return Err(format!("option \"nocopy\" in {spec:?} only applies to volumes"));
                }
            },
            "consistent" | "cached" | "delegated" => {}
            "" => {}
            other => {
                return Err(format!(
                    "unknown volume option {other:?} in {spec:?} (use ro, rw, z, Z, nocopy or a propagation mode)"
                ));
            }
        }
    }
    Ok(mount)
}

/// A mount's target as docker compose prints and compares it: cleaned, so
/// `/data/` and `/data` are one mount point when files are merged.
pub fn clean_target(target: &str) -> String {
    if target.starts_with('/') { clean_path(Path::new(target)) } else { target.to_string() }
}

/// A bind mount's source: an absolute path is kept as written, as docker
/// compose keeps it; others are resolved like any host path.
pub fn bind_source(src: &str, base: &Path, home: Option<&str>) -> String {
    if src.starts_with('/') { src.to_string() } else { resolve_host_path(src, base, home) }
}

/// Makes a host path absolute: `~` is the user's home, relative paths hang off `base`.
pub fn resolve_host_path(src: &str, base: &Path, home: Option<&str>) -> String {
    let expanded = match (src.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => src.to_string(),
    };
    let p = Path::new(&expanded);
    let joined = if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    clean_path(&joined)
}

/// Lexically removes `.` and `..` components (the path need not exist).
pub fn clean_path(p: &Path) -> String {
    use std::path::Component;
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => parts.clear(),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Parses Go-style durations (`1m30s`, `500ms`, `1h`, `1.5s`) as compose does.
#[expect(
    clippy::cast_possible_truncation,
    reason = "a float cast saturates, as docker compose does"
)]
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let err =
        || format!("invalid duration {s:?}; use a number with a unit, like 30s, 1m30s or 500ms");
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() {
        return Err(err());
    }
    let mut nanos: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(err)?;
        if num_end == 0 {
            return Err(err());
        }
        let n: f64 = rest[..num_end].parse().map_err(|_| err())?;
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        nanos += n * scale;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// Parses sizes like `64m`, `1gb`, `512` (bytes), 1024-based as docker does.
#[expect(
    clippy::cast_possible_truncation,
    reason = "a float cast saturates, as docker compose does"
)]
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!("invalid size {s:?}; use a number with an optional unit (b, k, m, g)")
    })?;
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(format!("invalid size {s:?}: unknown unit {unit:?} (use b, k, m or g)"));
        }
    };
    Ok((n * mult as f64) as u64)
}

/// A device as `HOST[:CONTAINER[:PERMISSIONS]]`: (source, target, permissions).
pub fn parse_device(s: &str) -> Result<(String, String, String), String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, p) = match parts.as_slice() {
        [src] => (*src, *src, "rwm"),
        [src, dst] => (*src, *dst, "rwm"),
        [src, dst, p] => (*src, *dst, *p),
        _ => return Err(format!("invalid device {s:?}: too many `:`")),
    };
    if p.is_empty() || !p.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(format!(
            "invalid device permissions {p:?} in {s:?}; use a combination of r, w and m"
        ));
    }
    if src.is_empty() || dst.is_empty() {
        return Err(format!("invalid device {s:?}: a path is empty"));
    }
    Ok((src.to_string(), dst.to_string(), p.to_string()))
}

/// Checks a restart policy: `no`, `always`, `on-failure[:N]`, `unless-stopped`.
pub fn check_restart(s: &str) -> Result<(), String> {
    s.parse::<super::model::RestartPolicy>().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_as_docker_compose_splits_them() {
        // Each answer is docker compose 2.40.3's for the same string
        // (tests/fixtures/compat/shellwords has them side by side).
        let cases: &[(&str, &[&str], Option<char>)] = &[
            ("exec sleep 1 < /dev/null > /dev/null", &["exec", "sleep", "1"], Some('<')),
            ("echo hi; echo there", &["echo", "hi"], Some(';')),
            ("echo 1 2>&1", &["echo", "1"], Some('>')),
            (r#"echo "a\"b" "c\\d" "e\qf" x\ty"#, &["echo", "a\"b", "c\\d", "eqf", "xty"], None),
            ("echo $(date) `id -u`", &["echo", "$(date)", "`id -u`"], None),
            ("echo 'it''s' a|b", &["echo", "its", "a"], Some('|')),
            ("echo a12>b", &["echo", "a12"], Some('>')),
            ("echo a#b #c", &["echo", "a#b", "#c"], None),
            ("echo '' \"\"", &["echo", "", ""], None),
            ("  tab\tand\nnewline  ", &["tab", "and", "newline"], None),
        ];
        for (input, words, cut) in cases {
            let (got, at) = split_command(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got, *words, "{input}");
            assert_eq!(at.map(|i| input[i..].chars().next().unwrap()), *cut, "{input}");
        }
        for bad in ["echo (x)", "echo x)", "echo 'open", "echo \"open", "trailing\\", "echo `open"]
        {
            assert!(
                split_command(bad).is_err(),
                "{bad} should be refused, as docker compose refuses it"
            );
        }
    }

    fn one(spec: &str) -> Port {
        let mut v = parse_port(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    #[test]
    fn port_forms() {
        let p = one("1000:80");
        assert_eq!(
            (p.target, p.published.as_deref(), p.host_ip.as_deref(), p.protocol.as_str()),
            (80, Some("1000"), None, "tcp")
        );
        let p = one("80");
        assert_eq!((p.target, p.published), (80, None));
        let p = one("127.0.0.1:8080:80/udp");
        assert_eq!(
            (p.host_ip.as_deref(), p.published.as_deref(), p.protocol.as_str()),
            (Some("127.0.0.1"), Some("8080"), "udp")
        );
        let p = one("[::1]:53:53");
        assert_eq!(p.host_ip.as_deref(), Some("::1"));
        let p = one("127.0.0.1::80");
        assert_eq!((p.host_ip.as_deref(), p.published), (Some("127.0.0.1"), None));
        let p = one("8000-8010:80");
        assert_eq!(p.published.as_deref(), Some("8000-8010"));
        // The engine picks a free host port for 0, as for none at all.
        let p = one("0:80");
        assert_eq!((p.target, p.published.as_deref()), (80, Some("0")));
    }

    #[test]
    fn port_ranges_expand() {
        let v = parse_port("127.0.0.1:8000-8001:9000-9001/udp").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[1].target, v[1].published.as_deref()), (9001, Some("8001")));
        let v = parse_port("9000-9002").unwrap();
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn port_errors() {
        assert!(parse_port("99999:1").unwrap_err().contains("out of range"));
        assert!(parse_port("80:0").unwrap_err().contains("out of range"));
        assert!(parse_port("0-1:80").unwrap_err().contains("out of range"));
        assert!(parse_port("http:80").is_err());
        assert!(parse_port("80/icmp").unwrap_err().contains("protocol"));
        assert!(parse_port("1-3:4-5").unwrap_err().contains("differ"));
        assert!(parse_port("a:b:c:d").is_err());
        assert!(parse_port("300.1.1.1:80:80").unwrap_err().contains("IP"));
    }

    #[test]
    fn volume_forms() {
        let base = Path::new("/proj");
        let m = parse_volume("./nginx/nginx.conf:/etc/nginx/nginx.conf:ro", base, None).unwrap();
        assert_eq!(m.kind, MountType::Bind);
        assert_eq!(m.source.as_deref(), Some("/proj/nginx/nginx.conf"));
        assert!(m.read_only);
        let m = parse_volume("data:/data", base, None).unwrap();
        assert_eq!((m.kind, m.source.as_deref()), (MountType::Volume, Some("data")));
        let m = parse_volume("/tmp/x", base, None).unwrap();
        assert_eq!((m.kind, m.source), (MountType::Volume, None));
        let m = parse_volume("~/code:/code:z", base, Some("/home/u")).unwrap();
        assert_eq!(m.source.as_deref(), Some("/home/u/code"));
        assert_eq!(m.bind.unwrap().selinux.as_deref(), Some("z"));
        // As docker compose 2.40.3 prints them: targets cleaned, absolute
        // sources kept as written, others resolved and cleaned.
        let m = parse_volume("/etc/pihole/:/etc/pihole/", base, None).unwrap();
        assert_eq!((m.source.as_deref(), m.target.as_str()), (Some("/etc/pihole/"), "/etc/pihole"));
        let m = parse_volume("./d1/../d2/./x/:/x/../y/./z//", base, None).unwrap();
        assert_eq!((m.source.as_deref(), m.target.as_str()), (Some("/proj/d2/x"), "/y/z"));
        let m = parse_volume("~/h/:/h/", base, Some("/home/u")).unwrap();
        assert_eq!((m.source.as_deref(), m.target.as_str()), (Some("/home/u/h"), "/h"));
        assert_eq!(parse_volume("/anon/", base, None).unwrap().target, "/anon");
        let m = parse_volume("../up/./x:/x", base, None).unwrap();
        assert_eq!(m.source.as_deref(), Some("/up/x"));
    }

    #[test]
    fn volume_errors() {
        let base = Path::new("/p");
        assert!(parse_volume("a:b:c:d", base, None).is_err());
        assert!(parse_volume("data:relative", base, None).unwrap_err().contains("absolute"));
        assert!(parse_volume("./x:/x:bogus", base, None).unwrap_err().contains("bogus"));
        assert!(parse_volume("data:/x:z", base, None).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn sizes_and_restart() {
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1gb").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512").unwrap(), 512);
        assert!(parse_bytes("12q").is_err());
        assert!(check_restart("on-failure:3").is_ok());
        assert!(check_restart("unless-stopped").is_ok());
        assert!(check_restart("sometimes").is_err());
        assert!(check_restart("on-failure:x").is_err());
    }

    #[test]
    fn devices_as_docker_compose_reads_them() {
        let d = |s: &str| parse_device(s).map(|(a, b, c)| format!("{a} {b} {c}"));
        assert_eq!(d("/dev/fuse").unwrap(), "/dev/fuse /dev/fuse rwm");
        assert_eq!(d("/dev/null:/dev/x").unwrap(), "/dev/null /dev/x rwm");
        assert_eq!(d("/dev/null:/dev/x:r").unwrap(), "/dev/null /dev/x r");
        // Two parts are always source and target, as compose-go splits them.
        assert_eq!(d("/dev/null:r").unwrap(), "/dev/null r rwm");
        assert!(d("/dev/null:/dev/x:rx").unwrap_err().contains("permissions \"rx\""));
        assert!(d("/dev/null:/dev/x:").is_err());
        assert!(d(":/dev/x").unwrap_err().contains("a path is empty"));
        assert!(d("a:b:c:d").unwrap_err().contains("too many"));
    }
}
