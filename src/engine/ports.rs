//! A published port the engine could not bind: which address, from the
//! engine's message (the one place its wording is read: the conflict has no
//! status code of its own), and what holds it, from /proc.

/// `0.0.0.0:8080` out of "Bind for 0.0.0.0:8080 failed: port is already
/// allocated" or "listen tcp4 127.0.0.1:8080: bind: address already in use".
pub fn conflicting_address(msg: &str) -> Option<String> {
    if let Some(rest) = msg.split("Bind for ").nth(1)
        && msg.contains("port is already allocated")
    {
        return rest.split(" failed").next().map(str::to_string);
    }
    if msg.contains("address already in use") {
        let before = msg.split(": bind: address already in use").next()?;
        return before.rsplit(' ').next().map(str::to_string);
    }
    None
}

/// The process listening on `addr`'s port, as `NAME (pid N)`, when this
/// machine's /proc shows it (a docker-proxy means another container's port).
pub fn holder(addr: &str) -> Option<String> {
    let port: u16 = addr.rsplit(':').next()?.parse().ok()?;
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            let t = target.to_string_lossy();
            if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']'))
                && inodes.iter().any(|i| i == inode)
            {
                let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                return Some(format!("{} (pid {pid})", name.trim()));
            }
        }
    }
    None
}

/// The inodes of sockets listening on `port`, from /proc/net/tcp and tcp6.
fn listening_inodes(port: u16) -> Vec<String> {
    let hex = format!(":{port:04X}");
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address, state 0A (LISTEN), inode.
            if f.len() > 9 && f[1].ends_with(&hex) && f[3] == "0A" {
                out.push(f[9].to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_either_wording() {
        assert_eq!(
            conflicting_address("driver failed programming external connectivity on endpoint x (abc): Bind for 0.0.0.0:8080 failed: port is already allocated").as_deref(),
            Some("0.0.0.0:8080")
        );
        assert_eq!(
            conflicting_address("port driver failed ...: Error starting userland proxy: listen tcp4 127.0.0.1:18555: bind: address already in use").as_deref(),
            Some("127.0.0.1:18555")
        );
        assert_eq!(conflicting_address("no such image"), None);
    }

    #[test]
    fn a_listener_of_this_process_is_found() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let h = holder(&addr).expect("found in /proc");
        assert!(h.contains(&format!("pid {}", std::process::id())), "{h}");
    }
}
