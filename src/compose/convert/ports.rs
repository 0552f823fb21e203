//! `ports` and `extra_hosts`, short syntax and long.

use super::*;

impl Converter<'_> {
    pub(super) fn ports(&mut self, n: &Node, path: &str) -> Vec<Port> {
        let Some(items) = self.list(n, path, "a list of ports") else { return Vec::new() };
        let mut out: Vec<Port> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            match &item.value {
                Value::Str(s) => match syntax::parse_port(s) {
                    Ok(ports) => out.extend(ports),
                    Err(e) => self.error_hint(
                        &item.loc,
                        &ip,
                        e,
                        "write ports as [IP:][HOST:]CONTAINER[/PROTOCOL], for example \"8080:80\"",
                    ),
                },
                Value::Int(p) => match syntax::port_number(&p.to_string(), "container") {
                    Ok(t) => out.push(Port {
                        mode: "ingress".into(),
                        host_ip: None,
                        target: t,
                        published: None,
                        protocol: "tcp".into(),
                    }),
                    Err(e) => self.error(&item.loc, &ip, e),
                },
                Value::Map(entries) => out.extend(self.long_port(entries, item, &ip)),
                _ => self.expected(item, &ip, "a port mapping string or a mapping"),
            }
        }
        dedup_keep_last(&mut out, Port::merge_key);
        out
    }

    /// A port in the long syntax; None after an error.
    fn long_port(&mut self, entries: &[(Key, Node)], item: &Node, ip: &str) -> Option<Port> {
        self.check_keys(
            entries,
            ip,
            &["target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"],
            &[],
        );
        let mut port = Port {
            mode: "ingress".into(),
            host_ip: None,
            target: 0,
            published: None,
            protocol: "tcp".into(),
        };
        let mut ok = true;
        for (k, v) in entries {
            let kp = join(ip, &k.name);
            match k.name.as_str() {
                "target" => match self.string(v, &kp).map(|t| syntax::port_number(&t, "container"))
                {
                    Some(Ok(t)) => port.target = t,
                    Some(Err(e)) => {
                        self.error(&v.loc, &kp, e);
                        ok = false;
                    }
                    None => ok = false,
                },
                "published" => {
                    // Empty is unpublished, 0 is a port the engine chooses.
                    if let Some(p) = self.string(v, &kp).filter(|p| !p.is_empty()) {
                        let check = match p.split_once('-') {
                            _ if p.trim() == "0" => Ok(0),
                            Some((a, b)) if !a.is_empty() => {
                                syntax::port_number(a, "host").and(syntax::port_number(b, "host"))
                            }
                            _ => syntax::port_number(&p, "host"),
                        };
                        match check {
                            Ok(_) => port.published = Some(p),
                            Err(e) => {
                                self.error(&v.loc, &kp, e);
                                ok = false;
                            }
                        }
                    }
                }
                "host_ip" => match self.text(v, &kp) {
                    Some(h) if h.parse::<std::net::IpAddr>().is_ok() => port.host_ip = Some(h),
                    Some(h) => self.error_hint(
                        &v.loc,
                        &kp,
                        format!("invalid IP address {h:?}"),
                        "write an address like 127.0.0.1 or ::1",
                    ),
                    None => {}
                },
                "name" | "app_protocol" => drop(self.text(v, &kp)),
                "protocol" => {
                    if let Some(p) = self.string(v, &kp) {
                        if matches!(p.as_str(), "tcp" | "udp" | "sctp") {
                            port.protocol = p;
                        } else {
                            self.error(
                                &v.loc,
                                &kp,
                                format!("unknown protocol {p:?} (use tcp, udp or sctp)"),
                            );
                        }
                    }
                }
                "mode" => {
                    if let Some(m) = self.text(v, &kp) {
                        port.mode = m;
                    }
                }
                _ => {}
            }
        }
        if port.target == 0 && ok {
            self.error(&item.loc, ip, "`target` is required");
        }
        (ok && port.target != 0).then_some(port)
    }

    pub(super) fn extra_hosts(&mut self, n: &Node, path: &str) -> Vec<String> {
        let mut pairs: Vec<(String, String)> = match &n.value {
            // Each address a string: docker compose refuses `host: 1` and `host:` alike.
            Value::Map(_) => self.text_map(n, path).into_iter().collect(),
            _ => {
                let list = self.strings(n, path, false);
                list.into_iter()
                    .filter_map(|h| match h.split_once('=').or_else(|| h.split_once(':')) {
                        Some((name, ip)) => Some((name.to_string(), ip.to_string())),
                        None => {
                            self.error_hint(
                                &n.loc,
                                path,
                                format!("invalid extra host {h:?}"),
                                "write it as HOST=IP or HOST:IP",
                            );
                            None
                        }
                    })
                    .collect()
            }
        };
        // Sorted by host, as docker compose writes them (a map in compose-go);
        // the config-hash relies on this order too.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.into_iter().map(|(h, ip)| format!("{h}={ip}")).collect()
    }
}
