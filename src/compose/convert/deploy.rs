//! `deploy` and the container limits beside it (`logging`, `blkio_config`,
//! `gpus`, `ulimits`, `devices`).

use super::*;

impl Converter<'_> {
    /// `deploy.resources.reservations.generic_resources`: for a swarm, checked only.
    pub(super) fn generic_resources(&mut self, v: &Node, kp: &str) {
        self.each_map(
            v,
            kp,
            "a list of resources",
            &["discrete_resource_spec"],
            |this, ip, fields, _| {
                for (fk, fv) in fields {
                    let fp = join(ip, &fk.name);
                    let Some(spec) = this.map(fv, &fp) else { continue };
                    this.check_keys(spec, &fp, &["kind", "value"], &[]);
                    for (sk, sv) in spec {
                        let sp = join(&fp, &sk.name);
                        match sk.name.as_str() {
                            "kind" => drop(this.text(sv, &sp)),
                            "value" => drop(this.int(sv, &sp, 0, i64::MAX)),
                            _ => {}
                        }
                    }
                }
            },
        );
    }

    /// `deploy.update_config` or `rollback_config`: for a swarm, checked only.
    pub(super) fn update_config(&mut self, n: &Node, path: &str) {
        let Some(entries) = self.map(n, path) else { return };
        self.check_keys(
            entries,
            path,
            &["parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"],
            &[],
        );
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "parallelism" => drop(self.uint(v, &kp)),
                "delay" | "monitor" => drop(self.text(v, &kp).and_then(|_| self.duration(v, &kp))),
                "failure_action" => drop(self.text(v, &kp)),
                "max_failure_ratio" => match &v.value {
                    Value::Int(_) | Value::Float(..) => {}
                    Value::Str(r) if r.trim().parse::<f64>().is_ok() => {}
                    _ => self.expected(v, &kp, "a number"),
                },
                "order" => match self.text(v, &kp) {
                    Some(o) if o == "start-first" || o == "stop-first" => {}
                    Some(o) => self.error_hint(
                        &v.loc,
                        &kp,
                        format!("invalid order {o:?}"),
                        "use start-first or stop-first",
                    ),
                    None => {}
                },
                _ => {}
            }
        }
    }

    /// `deploy`: its `resources` and `restart_policy` apply to the container;
    /// the rest is for a swarm.
    pub(super) fn deploy(&mut self, n: &Node, path: &str) -> Option<Deploy> {
        let entries = self.map(n, path)?;
        const SWARM: &[&str] =
            &["mode", "labels", "update_config", "rollback_config", "placement", "endpoint_mode"];
        self.check_keys(entries, path, &["resources", "restart_policy", "replicas"], SWARM);
        let mut out = Deploy::default();
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "resources" => out.resources = self.resources(v, &kp),
                "restart_policy" => {
                    out.restart = self.deploy_restart(v, &kp);
                    out.swarm.insert(k.name.clone(), crate::compose::yaml::to_json(v));
                }
                "replicas" => {
                    out.replicas = self.int(v, &kp, 0, 10_000).and_then(|r| u32::try_from(r).ok());
                    out.swarm.insert(k.name.clone(), crate::compose::yaml::to_json(v));
                }
                "placement" => out.placement = self.placement(v, &kp),
                name if SWARM.contains(&name) => {
                    // Kept as written, but checked as docker compose checks them.
                    if name == "labels" && !self.refuse_null(k, v, &kp) {
                        self.key_values(v, &kp);
                    }
                    out.swarm.insert(k.name.clone(), crate::compose::yaml::to_json(v));
                }
                _ => {}
            }
        }
        Some(out)
    }

    /// `deploy.placement`, kept for `config` and the config-hash.
    pub(super) fn placement(&mut self, n: &Node, path: &str) -> Placement {
        let mut out = Placement::default();
        let Some(entries) = self.map(n, path) else { return out };
        self.check_keys(
            entries,
            path,
            &["constraints", "preferences", "max_replicas_per_node"],
            &[],
        );
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "constraints" if !self.refuse_null(k, v, &kp) => {
                    out.constraints = self.strings(v, &kp, false)
                }
                "max_replicas_per_node" => {
                    out.max_replicas_per_node = self.int(v, &kp, 0, i64::MAX).unwrap_or(0) as u64
                }
                "preferences" => {
                    let what = "a list of preferences like `{spread: node.labels.zone}`";
                    self.each_map(v, &kp, what, &["spread"], |this, ip, fields, _| {
                        let spread = fields
                            .iter()
                            .find(|(k, _)| k.name == "spread")
                            .and_then(|(_, v)| this.string(v, &join(ip, "spread")));
                        out.preferences
                            .push(PlacementPreference { spread: spread.unwrap_or_default() });
                    });
                }
                _ => {}
            }
        }
        out
    }

    /// `deploy.resources`: cpus, memory and pids, as limits or reservations.
    pub(super) fn resources(&mut self, n: &Node, path: &str) -> Resources {
        let mut out = Resources::default();
        let Some(entries) = self.map(n, path) else { return out };
        self.check_keys(entries, path, &["limits", "reservations"], &[]);
        for (k, v) in entries {
            let kp = join(path, &k.name);
            let Some(fields) = self.map(v, &kp) else { continue };
            // Only a limit has `pids`; only a reservation has devices.
            if k.name == "limits" {
                self.check_keys(fields, &kp, &["cpus", "memory", "pids"], &[]);
            } else {
                self.check_keys(
                    fields,
                    &kp,
                    &["cpus", "memory"],
                    &["devices", "generic_resources"],
                );
            }
            let mut r = Resource::default();
            for (fk, fv) in fields {
                let fp = join(&kp, &fk.name);
                match fk.name.as_str() {
                    "cpus" => r.cpus = self.cpus(fv, &fp),
                    // A string only, where a service's `mem_limit` may be a number.
                    "memory" => {
                        r.memory = self.text(fv, &fp).and_then(|_| self.bytes(fv, &fp, false))
                    }
                    "pids" => r.pids = self.int(fv, &fp, -1, i64::MAX),
                    _ => {}
                }
            }
            match k.name.as_str() {
                "limits" => out.limits = Some(r),
                "reservations" => out.reservations = Some(r),
                _ => {}
            }
        }
        out
    }

    /// `deploy.restart_policy`, as the engine's restart policy docker compose
    /// makes of it: `none` is `no`, `any` (the default) is `always`.
    pub(super) fn deploy_restart(&mut self, n: &Node, path: &str) -> Option<String> {
        let entries = self.map(n, path)?;
        self.check_keys(entries, path, &["condition", "max_attempts"], &["delay", "window"]);
        let (mut condition, mut attempts) = (None, 0);
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "condition" => match self.string(v, &kp) {
                    Some(c) if matches!(c.as_str(), "none" | "on-failure" | "any") => {
                        condition = Some(c)
                    }
                    Some(c) => self.error_hint(
                        &v.loc,
                        &kp,
                        format!("invalid restart condition {c:?}"),
                        "use none, on-failure or any",
                    ),
                    None => {}
                },
                "max_attempts" => attempts = self.uint(v, &kp).unwrap_or(0),
                _ => {}
            }
        }
        Some(match condition.as_deref().unwrap_or("any") {
            "none" => "no".into(),
            "on-failure" if attempts > 0 => format!("on-failure:{attempts}"),
            "on-failure" => "on-failure".into(),
            _ => "always".into(),
        })
    }

    /// `logging`: a driver and its options, each option's value a string.
    pub(super) fn logging(&mut self, n: &Node, path: &str) -> Option<Logging> {
        let entries = self.map(n, path)?;
        self.check_keys(entries, path, &["driver", "options"], &[]);
        let mut out = Logging::default();
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "driver" => out.driver = self.text(v, &kp),
                "options" => out.options = self.options(v, &kp, true),
                _ => {}
            }
        }
        Some(out)
    }

    /// `devices`: `HOST[:CONTAINER[:PERMISSIONS]]` or `{source, target, permissions}`;
    /// one per target, a later one replacing an earlier one, as docker compose merges them.
    pub(super) fn devices(&mut self, n: &Node, path: &str) -> Vec<Device> {
        let Some(items) = self.list(n, path, "a list of devices") else { return Vec::new() };
        let mut out: Vec<Device> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            let dev = match &item.value {
                Value::Map(entries) => {
                    self.check_keys(entries, &ip, &["source", "target", "permissions"], &[]);
                    let mut d = Device::default();
                    for (k, v) in entries {
                        let kp = join(&ip, &k.name);
                        let text = self.string(v, &kp).unwrap_or_default();
                        match k.name.as_str() {
                            "source" => d.source = text,
                            "target" => d.target = text,
                            "permissions" => d.permissions = text,
                            _ => {}
                        }
                    }
                    if d.target.is_empty() {
                        d.target = d.source.clone();
                    }
                    if d.permissions.is_empty() {
                        d.permissions = "rwm".into();
                    }
                    d
                }
                _ => {
                    let Some(text) = self.text(item, &ip) else { continue };
                    match syntax::parse_device(&text) {
                        Ok((source, target, permissions)) => Device { source, target, permissions },
                        Err(e) => {
                            self.error_hint(
                                &item.loc,
                                &ip,
                                e,
                                "write HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]], like /dev/ttyUSB0:/dev/ttyUSB0:rwm",
                            );
                            continue;
                        }
                    }
                }
            };
            if dev.source.is_empty() {
                self.error(&item.loc, &ip, "a device needs a source path on the host");
                continue;
            }
            match out.iter_mut().find(|d| d.target == dev.target) {
                Some(d) => *d = dev,
                None => out.push(dev),
            }
        }
        out
    }

    /// `blkio_config`: a weight, per-device weights, and per-device limits.
    pub(super) fn blkio(&mut self, n: &Node, path: &str) -> Option<Blkio> {
        let entries = self.map(n, path)?;
        const RATES: &[&str] =
            &["device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops"];
        self.check_keys(
            entries,
            path,
            &[
                "weight",
                "weight_device",
                "device_read_bps",
                "device_read_iops",
                "device_write_bps",
                "device_write_iops",
            ],
            &[],
        );
        let mut out = Blkio::default();
        for (k, v) in entries {
            let kp = join(path, &k.name);
            if k.name == "weight" {
                out.weight = self.int(v, &kp, 10, 1000).and_then(|w| u16::try_from(w).ok());
                continue;
            }
            if self.refuse_null(k, v, &kp) {
                continue;
            }
            let value_key = if k.name == "weight_device" { "weight" } else { "rate" };
            self.each_map(
                v,
                &kp,
                "a list of devices",
                &["path", value_key],
                |this, ip, fields, item| {
                    let device = fields
                        .iter()
                        .find(|(f, _)| f.name == "path")
                        .and_then(|(f, p)| this.text(p, &join(ip, &f.name)));
                    let value = fields
                        .iter()
                        .find(|(f, _)| f.name == value_key)
                        .map(|(f, v)| (join(ip, &f.name), v));
                    let (Some(device), Some((vp, value))) = (device, value) else {
                        this.error_hint(
                            &item.loc,
                            ip,
                            format!("a device needs `path` and `{value_key}`"),
                            format!(
                                "for example {{path: /dev/sda, {value_key}: {}}}",
                                if value_key == "weight" { "300" } else { "10mb" }
                            ),
                        );
                        return;
                    };
                    if k.name == "weight_device" {
                        if let Some(w) = this.int(value, &vp, 10, 1000) {
                            out.weight_device.push(WeightDevice {
                                path: device,
                                weight: u16::try_from(w).unwrap_or(u16::MAX),
                            });
                        }
                        return;
                    }
                    // Operations per second are a plain number; bytes may carry a unit.
                    let rate = if k.name.ends_with("iops") {
                        this.int(value, &vp, 0, i64::MAX).map(|r| r.to_string())
                    } else {
                        this.bytes(value, &vp, false)
                    };
                    let Some(rate) = rate else { return };
                    let throttle = Throttle { path: device, rate };
                    match RATES.iter().position(|r| *r == k.name) {
                        Some(0) => out.device_read_bps.push(throttle),
                        Some(1) => out.device_read_iops.push(throttle),
                        Some(2) => out.device_write_bps.push(throttle),
                        _ => out.device_write_iops.push(throttle),
                    }
                },
            );
        }
        Some(out)
    }

    /// `gpus`: `all`, or device requests.
    pub(super) fn gpus(&mut self, n: &Node, path: &str) -> Vec<DeviceRequest> {
        if let Value::Str(s) = &n.value {
            if s == "all" {
                return vec![DeviceRequest { count: Some(-1), ..Default::default() }];
            }
            self.error_hint(
                &n.loc,
                path,
                format!("invalid gpus {s:?}"),
                "write `all`, or a list like [{driver: nvidia, count: 1}]",
            );
            return Vec::new();
        }
        let mut out = Vec::new();
        let keys = ["capabilities", "driver", "count", "device_ids", "options"];
        self.each_map(
            n,
            path,
            "`all` or a list of device requests",
            &keys,
            |this, ip, fields, _| {
                let mut req = DeviceRequest::default();
                for (k, v) in fields {
                    let kp = join(ip, &k.name);
                    if matches!(k.name.as_str(), "capabilities" | "device_ids" | "options")
                        && this.refuse_null(k, v, &kp)
                    {
                        continue;
                    }
                    match k.name.as_str() {
                        "capabilities" => req.capabilities = this.strings(v, &kp, false),
                        "driver" => req.driver = this.text(v, &kp),
                        "device_ids" => req.device_ids = this.strings(v, &kp, false),
                        "options" => req.options = this.string_map(v, &kp),
                        "count" if v.scalar_text().as_deref() == Some("all") => {
                            req.count = Some(-1)
                        }
                        "count" => req.count = this.int(v, &kp, -1, i64::MAX),
                        _ => {}
                    }
                }
                out.push(req);
            },
        );
        out
    }

    pub(super) fn ulimits(&mut self, n: &Node, path: &str) -> BTreeMap<String, Ulimit> {
        let mut out = BTreeMap::new();
        for (k, v) in self.map(n, path).unwrap_or_default() {
            let kp = join(path, &k.name);
            match &v.value {
                Value::Int(i) => {
                    out.insert(k.name.clone(), Ulimit::Single(*i));
                }
                // Digits as a string, as docker compose takes them.
                Value::Str(s) => match s.trim().parse() {
                    Ok(limit) => drop(out.insert(k.name.clone(), Ulimit::Single(limit))),
                    Err(_) => self.expected(v, &kp, "a number or a mapping with soft and hard"),
                },
                Value::Map(entries) => {
                    self.check_keys(entries, &kp, &["soft", "hard"], &[]);
                    // -1 is "unlimited" to the engine (memlock for Elasticsearch, say).
                    let mut bound =
                        |key| v.get(key).map(|b| self.int(b, &join(&kp, key), -1, i64::MAX));
                    match (bound("soft"), bound("hard")) {
                        (Some(Some(soft)), Some(Some(hard))) => {
                            out.insert(k.name.clone(), Ulimit::Range { soft, hard });
                        }
                        (Some(_), Some(_)) => {} // a bad bound, reported where it stands
                        _ => self.error(
                            &v.loc,
                            &kp,
                            "a ulimit needs both `soft` and `hard`, or a single number",
                        ),
                    }
                }
                _ => self.expected(v, &kp, "a number or a mapping with soft and hard"),
            }
        }
        out
    }
}
