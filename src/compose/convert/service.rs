//! One service: its key table (which keys it has, which refuse null, what
//! each sets) and the checks across keys once all are read.

use super::*;

/// What one key of a service does to the draft: reads `v` (at key path
/// `kp`), sets what it holds, reports what is wrong.
type Apply = fn(&mut Converter<'_>, &mut Draft, &str, &Node, &str);

/// One key of a service: the table drives both the unknown-key check and
/// the conversion, so a key cannot be known and then ignored.
struct Field {
    name: &'static str,
    apply: Apply,
    /// docker compose's schema refuses it null (`ports:` with nothing after it).
    not_null: bool,
    /// Null is no setting, as in docker compose.
    null_is_unset: bool,
}

impl Field {
    const fn new(name: &'static str, apply: Apply) -> Field {
        Field { name, apply, not_null: false, null_is_unset: false }
    }

    const fn not_null(self) -> Field {
        Field { not_null: true, ..self }
    }

    const fn null_is_unset(self) -> Field {
        Field { null_is_unset: true, ..self }
    }
}

/// Entries of `environment`, `env_file` or `label_file`, with where each was written.
type Entries = Vec<(String, Option<String>, Location)>;

/// A service while its keys are read, with what only all of them together
/// decide: which variables win, whether networks and network_mode clash,
/// the services it joins.
#[derive(Default)]
struct Draft {
    svc: Service,
    env_files: super::env::FileEntries,
    label_files: super::env::FileEntries,
    environment: Entries,
    has_networks_key: bool,
    network_mode_loc: Option<Location>,
    /// Services this one joins, where it says so, and whether a new
    /// container of it restarts this one.
    implied: Vec<(String, Location, bool)>,
}

/// The keys of a service rcompose acts on, in order: what each sets, and
/// whether docker compose's schema refuses it null (`ports:` with nothing after it).
static FIELDS: &[Field] = &[
    Field::new("annotations", |c, d, _, v, kp| d.svc.annotations = c.string_map(v, kp)).not_null(),
    Field::new("attach", |c, d, _, v, kp| d.svc.attach = c.bool(v, kp)),
    Field::new("blkio_config", |c, d, _, v, kp| d.svc.blkio_config = c.blkio(v, kp)),
    Field::new("build", |c, d, _, v, kp| d.svc.build = c.build(v, kp)),
    Field::new("cap_add", |c, d, _, v, kp| d.svc.cap_add = c.strings(v, kp, false)).not_null(),
    Field::new("cap_drop", |c, d, _, v, kp| d.svc.cap_drop = c.strings(v, kp, false)).not_null(),
    Field::new("cgroup", cgroup),
    Field::new("cgroup_parent", |c, d, _, v, kp| d.svc.cgroup_parent = c.set_text(v, kp)),
    Field::new("command", |c, d, _, v, kp| d.svc.command = c.command(v, kp)),
    Field::new("configs", |c, d, _, v, kp| d.svc.configs = c.file_refs(v, kp, false)).not_null(),
    Field::new("container_name", container_name),
    Field::new("cpu_count", |c, d, _, v, kp| d.svc.cpu_count = c.int(v, kp, 0, i64::MAX)),
    Field::new("cpu_percent", |c, d, _, v, kp| d.svc.cpu_percent = c.int(v, kp, 0, 100)),
    Field::new("cpu_period", |c, d, _, v, kp| d.svc.cpu_period = c.int(v, kp, 0, i64::MAX)),
    Field::new("cpu_quota", |c, d, _, v, kp| d.svc.cpu_quota = c.int(v, kp, -1, i64::MAX)),
    Field::new("cpu_rt_period", |c, d, _, v, kp| d.svc.cpu_rt_period = c.int(v, kp, -1, i64::MAX)),
    Field::new("cpu_rt_runtime", |c, d, _, v, kp| {
        d.svc.cpu_rt_runtime = c.int(v, kp, -1, i64::MAX)
    }),
    Field::new("cpu_shares", |c, d, _, v, kp| d.svc.cpu_shares = c.int(v, kp, 0, i64::MAX)),
    Field::new("cpus", |c, d, _, v, kp| d.svc.cpus = c.cpus(v, kp)),
    Field::new("cpuset", |c, d, _, v, kp| d.svc.cpuset = c.set_text(v, kp)),
    Field::new("depends_on", |c, d, _, v, kp| d.svc.depends_on = c.depends_on(v, kp)).not_null(),
    Field::new("deploy", |c, d, _, v, kp| d.svc.deploy = c.deploy(v, kp)).null_is_unset(),
    Field::new("develop", |c, d, _, v, kp| d.svc.develop = c.develop(v, kp)).null_is_unset(),
    Field::new("device_cgroup_rules", |c, d, _, v, kp| {
        d.svc.device_cgroup_rules = c.strings(v, kp, false)
    })
    .not_null(),
    Field::new("devices", |c, d, _, v, kp| d.svc.devices = c.devices(v, kp)).not_null(),
    Field::new("dns", |c, d, _, v, kp| d.svc.dns = c.strings(v, kp, true)).not_null(),
    Field::new("dns_opt", |c, d, _, v, kp| d.svc.dns_opt = c.strings(v, kp, false)).not_null(),
    Field::new("dns_search", |c, d, _, v, kp| d.svc.dns_search = c.strings(v, kp, true)).not_null(),
    Field::new("domainname", |c, d, _, v, kp| d.svc.domainname = c.set_text(v, kp)),
    Field::new("entrypoint", |c, d, _, v, kp| d.svc.entrypoint = c.command(v, kp)),
    Field::new("env_file", |c, d, _, v, kp| d.env_files = c.env_files(v, kp, "env")).not_null(),
    Field::new("environment", environment).not_null(),
    Field::new("expose", expose).not_null(),
    Field::new("external_links", links).not_null(),
    Field::new("extra_hosts", |c, d, _, v, kp| d.svc.extra_hosts = c.extra_hosts(v, kp)).not_null(),
    Field::new("gpus", |c, d, _, v, kp| d.svc.gpus = c.gpus(v, kp)).not_null(),
    Field::new("group_add", |c, d, _, v, kp| d.svc.group_add = c.strings_or_numbers(v, kp))
        .not_null(),
    Field::new("healthcheck", |c, d, _, v, kp| d.svc.healthcheck = c.healthcheck(v, kp)),
    Field::new("hostname", |c, d, _, v, kp| d.svc.hostname = c.set_text(v, kp)),
    Field::new("image", |c, d, _, v, kp| d.svc.image = c.set_text(v, kp)),
    Field::new("init", |c, d, _, v, kp| d.svc.init = c.bool(v, kp)),
    Field::new("ipc", |c, d, _, v, kp| d.svc.ipc = c.joining_mode(v, kp, &mut d.implied)),
    Field::new("label_file", label_file).not_null(),
    Field::new("labels", |c, d, _, v, kp| d.svc.labels = c.string_map(v, kp)).not_null(),
    Field::new("links", links).not_null(),
    Field::new("logging", |c, d, _, v, kp| d.svc.logging = c.logging(v, kp)),
    Field::new("mac_address", |c, d, _, v, kp| d.svc.mac_address = c.set_text(v, kp)),
    Field::new("mem_limit", |c, d, _, v, kp| d.svc.mem_limit = c.bytes(v, kp, false)),
    Field::new("mem_reservation", |c, d, _, v, kp| d.svc.mem_reservation = c.whole_bytes(v, kp)),
    Field::new("mem_swappiness", mem_swappiness),
    Field::new("memswap_limit", |c, d, _, v, kp| d.svc.memswap_limit = c.bytes(v, kp, true)),
    Field::new("network_mode", network_mode),
    Field::new("networks", networks),
    Field::new("oom_kill_disable", |c, d, _, v, kp| {
        d.svc.oom_kill_disable = c.bool(v, kp).unwrap_or(false)
    }),
    Field::new("oom_score_adj", |c, d, _, v, kp| d.svc.oom_score_adj = c.int(v, kp, -1000, 1000)),
    Field::new("pid", |c, d, _, v, kp| d.svc.pid = c.joining_mode(v, kp, &mut d.implied)),
    Field::new("pids_limit", |c, d, _, v, kp| d.svc.pids_limit = c.int(v, kp, -1, i64::MAX)),
    Field::new("platform", |c, d, _, v, kp| d.svc.platform = c.set_text(v, kp)),
    Field::new("ports", |c, d, _, v, kp| d.svc.ports = c.ports(v, kp)).not_null(),
    Field::new("post_start", |c, d, _, v, kp| d.svc.post_start = c.hooks(v, kp)).not_null(),
    Field::new("pre_stop", |c, d, _, v, kp| d.svc.pre_stop = c.hooks(v, kp)).not_null(),
    Field::new("privileged", |c, d, _, v, kp| d.svc.privileged = c.bool(v, kp).unwrap_or(false)),
    Field::new("profiles", |c, d, _, v, kp| d.svc.profiles = c.strings(v, kp, false)).not_null(),
    Field::new("pull_policy", pull_policy),
    Field::new("read_only", |c, d, _, v, kp| d.svc.read_only = c.bool(v, kp).unwrap_or(false)),
    Field::new("restart", restart),
    Field::new("runtime", |c, d, _, v, kp| d.svc.runtime = c.set_text(v, kp)),
    Field::new("scale", |c, d, _, v, kp| {
        d.svc.scale = c.int(v, kp, 0, 10_000).and_then(|r| u32::try_from(r).ok())
    }),
    Field::new("secrets", |c, d, _, v, kp| d.svc.secrets = c.file_refs(v, kp, true)).not_null(),
    Field::new("security_opt", |c, d, _, v, kp| d.svc.security_opt = c.strings(v, kp, false))
        .not_null(),
    Field::new("shm_size", shm_size),
    Field::new("stdin_open", |c, d, _, v, kp| d.svc.stdin_open = c.bool(v, kp).unwrap_or(false)),
    Field::new("stop_grace_period", |c, d, _, v, kp| d.svc.stop_grace_period = c.duration(v, kp)),
    Field::new("stop_signal", |c, d, _, v, kp| d.svc.stop_signal = c.set_text(v, kp)),
    Field::new("storage_opt", |c, d, _, v, kp| d.svc.storage_opt = c.options(v, kp, true))
        .not_null(),
    Field::new("sysctls", |c, d, _, v, kp| d.svc.sysctls = c.string_map(v, kp)).not_null(),
    Field::new("tmpfs", tmpfs).not_null(),
    Field::new("tty", |c, d, _, v, kp| d.svc.tty = c.bool(v, kp).unwrap_or(false)),
    Field::new("ulimits", |c, d, _, v, kp| d.svc.ulimits = c.ulimits(v, kp)),
    Field::new("user", |c, d, _, v, kp| d.svc.user = c.set_text(v, kp)),
    Field::new("userns_mode", |c, d, _, v, kp| d.svc.userns_mode = c.set_text(v, kp)),
    Field::new("uts", |c, d, _, v, kp| d.svc.uts = c.set_text(v, kp)),
    Field::new("volumes", |c, d, _, v, kp| d.svc.volumes = c.mounts(v, kp)).not_null(),
    Field::new("volumes_from", volumes_from).not_null(),
    Field::new("working_dir", |c, d, _, v, kp| d.svc.working_dir = c.set_text(v, kp)),
    Field::new("x-rcompose", |c, d, _, v, kp| d.svc.x_rcompose = c.rcompose_ext(v, kp)),
];

fn container_name(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    if let Some(name) = c.text(v, kp) {
        // docker compose's pattern: two characters at least.
        let valid = name.len() >= 2
            && name.chars().next().is_some_and(|f| f.is_ascii_alphanumeric())
            && name.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'));
        if valid {
            d.svc.container_name = Some(name);
        } else {
            c.error_hint(
                &v.loc,
                kp,
                format!("invalid container name {name:?}"),
                "use two or more letters, digits, `_`, `.` and `-`, starting with a letter or digit",
            );
        }
    }
}

fn environment(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    d.environment = c.key_values(v, kp);
    // docker compose refuses `KEY =value`: the name would keep the space.
    for (k, _, at) in d.environment.iter().filter(|(k, _, _)| k.ends_with(char::is_whitespace)) {
        c.error_hint(
            at,
            &join(kp, k.trim_end()),
            format!("the variable name {k:?} ends with a space"),
            "write KEY=value, with no space before the =",
        );
    }
}

fn label_file(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    d.label_files = c.env_files(v, kp, "label");
    let files = c.strings(v, kp, true);
    d.svc.label_file =
        files.iter().map(|f| syntax::resolve_host_path(f, &c.base, c.home.as_deref())).collect();
}

fn restart(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    if let Some(r) = c.set_text(v, kp) {
        match syntax::check_restart(&r) {
            Ok(()) => d.svc.restart = Some(r),
            Err(e) => c.error_hint(
                &v.loc,
                kp,
                e,
                "use no, always, on-failure, on-failure:N or unless-stopped",
            ),
        }
    }
}

fn networks(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    d.has_networks_key = true;
    d.svc.networks = c.service_networks(v, kp);
}

fn expose(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    d.svc.expose = c.strings_or_numbers(v, kp);
    dedup_keep_last(&mut d.svc.expose, |s| s.clone());
}

fn shm_size(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    if let Some(s) = c.string(v, kp) {
        match syntax::parse_bytes(&s) {
            // compose-go leaves 0 out (omitempty), from config and the hash.
            Ok(b) => d.svc.shm_size = (b != 0).then(|| b.to_string()),
            Err(e) => c.error(&v.loc, kp, e),
        }
    }
}

fn mem_swappiness(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    // Left out at 0, as docker compose leaves it out: the engine's default applies.
    d.svc.mem_swappiness = c.int(v, kp, 0, 100).filter(|n| *n != 0).map(|n| n.to_string());
}

fn cgroup(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    if let Some(mode) = c.string(v, kp) {
        if matches!(mode.as_str(), "host" | "private") {
            d.svc.cgroup = Some(mode);
        } else {
            c.error_hint(
                &v.loc,
                kp,
                format!("invalid cgroup mode {mode:?}"),
                "use host or private",
            );
        }
    }
}

fn tmpfs(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    d.svc.tmpfs = c.strings(v, kp, true);
    for (i, t) in d.svc.tmpfs.iter().enumerate() {
        if !t.starts_with('/') {
            c.error_hint(
                item_loc(v, i),
                kp,
                format!("invalid tmpfs mount {t:?}"),
                "give an absolute path in the container, like /run or /tmp:size=64m",
            );
        }
    }
}

fn volumes_from(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    d.svc.volumes_from = c.strings(v, kp, false);
    for (i, entry) in d.svc.volumes_from.iter().enumerate() {
        let at = item_loc(v, i).clone();
        let named = match Join::of(entry) {
            Join::Container(c) => c,
            _ => entry.as_str(),
        };
        let mode = named.split(':').nth(1);
        if named.is_empty() || mode.is_some_and(|m| !matches!(m, "ro" | "rw")) {
            c.error_hint(
                &at,
                &index(kp, i),
                format!("invalid volumes_from entry {entry:?}"),
                "write SERVICE[:ro|:rw] or container:NAME[:ro|:rw]",
            );
        } else if let Some(other) = volumes_from_service(entry) {
            d.implied.push((other.to_string(), at, false));
        }
    }
}

fn links(c: &mut Converter<'_>, d: &mut Draft, key: &str, v: &Node, kp: &str) {
    let links = c.strings(v, kp, false);
    for (i, link) in links.iter().enumerate() {
        let at = item_loc(v, i).clone();
        let mut parts = link.split(':');
        let (target, alias) = (parts.next().unwrap_or_default(), parts.next());
        if target.is_empty() || alias.is_some_and(str::is_empty) || parts.next().is_some() {
            let what = if key == "links" { "SERVICE" } else { "CONTAINER" };
            c.error_hint(
                &at,
                &index(kp, i),
                format!("invalid link {link:?}"),
                format!("write {what} or {what}:ALIAS"),
            );
        } else if key == "links" {
            d.implied.push((target.to_string(), at, true));
        }
    }
    if key == "links" { d.svc.links = links } else { d.svc.external_links = links }
}

fn network_mode(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    d.network_mode_loc = Some(v.loc.clone());
    d.svc.network_mode = c.joining_mode(v, kp, &mut d.implied).filter(|m| {
        let ok = !matches!(Join::of(m), Join::Mode("") | Join::Service("") | Join::Container(""));
        if !ok {
            c.error_hint(
                &v.loc,
                kp,
                format!("invalid network_mode {m:?}"),
                "use host, none, bridge, service:NAME or container:NAME",
            );
        }
        ok
    });
}

fn pull_policy(c: &mut Converter<'_>, d: &mut Draft, _: &str, v: &Node, kp: &str) {
    if let Some(p) = c.string(v, kp) {
        let ok = matches!(
            p.as_str(),
            "always" | "never" | "missing" | "build" | "if_not_present" | "daily" | "weekly"
        ) || p.strip_prefix("every_").is_some_and(|d| syntax::parse_duration(d).is_ok());
        if ok {
            d.svc.pull_policy = Some(p);
        } else {
            c.error_hint(
                &v.loc,
                kp,
                format!("invalid pull policy {p:?}"),
                "use always, never, missing, build, daily, weekly or every_<duration>",
            );
        }
    }
}

/// Keys of a `post_start` or `pre_stop` hook.
const HOOK_KEYS: &[&str] = &["command", "user", "privileged", "working_dir", "environment"];
/// Keys of a service in the Compose Specification that rcompose does not act on yet.
const SERVICE_SPEC_ONLY: &[&str] =
    &["credential_spec", "isolation", "models", "provider", "use_api_socket"];

impl Converter<'_> {
    /// `network_mode`, `ipc` or `pid`: a mode as written, noting the service
    /// a `service:NAME` mode joins.
    pub(super) fn joining_mode(
        &mut self,
        n: &Node,
        path: &str,
        implied: &mut Vec<(String, Location, bool)>,
    ) -> Option<String> {
        let mode = self.set_text(n, path)?;
        if let Some(other) = Join::of(&mode).service().filter(|o| !o.is_empty()) {
            implied.push((other.to_string(), n.loc.clone(), true));
        }
        Some(mode)
    }

    pub(super) fn service(&mut self, name: &str, n: &Node, path: &str) -> Option<Service> {
        if n.is_null() {
            self.error_hint(
                &n.loc,
                path,
                "the service is empty",
                "give it at least an `image` or a `build`",
            );
            return None;
        }
        let entries = self.map(n, path)?;
        let known: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        self.check_keys(entries, path, &known, SERVICE_SPEC_ONLY);
        let mut d = Draft {
            svc: Service { name: name.to_string(), ..Default::default() },
            ..Default::default()
        };
        for (k, v) in entries {
            let kp = join(path, &k.name);
            self.spans.insert(kp.clone(), k.loc.clone());
            let Some(field) = FIELDS.iter().find(|f| f.name == k.name) else { continue };
            if (field.not_null && self.refuse_null(k, v, &kp))
                || (field.null_is_unset && v.is_null())
            {
                continue;
            }
            (field.apply)(self, &mut d, &k.name, v, &kp);
        }
        Some(self.finish(d, n, path))
    }

    /// The service from its draft, with the checks across its keys.
    fn finish(&mut self, d: Draft, n: &Node, path: &str) -> Service {
        let Draft {
            mut svc,
            env_files,
            label_files,
            environment,
            has_networks_key,
            network_mode_loc,
            mut implied,
        } = d;
        let name = svc.name.clone();
        // label_file first, then `labels`, which win.
        for (k, v, ..) in label_files {
            svc.labels.entry(k).or_insert_with(|| v.unwrap_or_default());
        }
        // env_file first, then `environment`, which wins.
        for (.., file) in &env_files {
            if !svc.env_files.contains(file) {
                svc.env_files.push(file.clone());
            }
        }
        let environment = environment.into_iter().map(|(k, v, loc)| (k, v, loc, None));
        let from_files = env_files.into_iter().map(|(k, v, loc, file)| (k, v, loc, Some(file)));
        for (k, v, loc, file) in from_files.chain(environment) {
            let v = v.or_else(|| (self.env)(&k));
            if k.is_empty() {
                self.error(&loc, &join(path, "environment"), "a variable name is empty");
                continue;
            }
            match file {
                Some(file) => svc.env_file_vars.insert(k.clone(), file),
                None => svc.env_file_vars.remove(&k),
            };
            svc.environment.insert(k, v);
        }
        if let (Some(_), Some(at)) = (&svc.network_mode, &network_mode_loc) {
            if has_networks_key {
                self.project_error(
                    at,
                    &join(path, "network_mode"),
                    format!("service {name:?} has both network_mode and networks, which exclude each other"),
                    "keep one of them",
                );
            }
        } else if !has_networks_key {
            svc.networks.insert("default".into(), None);
        }
        // Joining another service's container needs it first, as docker compose
        // adds this dependency too; a new one of it restarts this one, except
        // for volumes_from.
        // volumes_from's first: its dependency is the one kept when both name a service.
        implied.sort_by_key(|(_, _, restart)| *restart);
        for (other, at, restart) in implied {
            self.spans.entry(format!("{}.{other}", join(path, "depends_on"))).or_insert(at);
            svc.depends_on.entry(other).or_insert(Dependency {
                condition: Condition::ServiceStarted,
                restart,
                required: true,
            });
        }
        self.same_limits_agree(&svc, n, path);
        if let (Some(scale), Some(replicas)) =
            (svc.scale, svc.deploy.as_ref().and_then(|d| d.replicas))
            && scale != replicas
        {
            let kp = join(path, "scale");
            let at = self.spans.get(&kp).cloned().unwrap_or_else(|| n.loc.clone());
            self.project_error(
                &at,
                &kp,
                format!("`scale` ({scale}) and `deploy.replicas` ({replicas}) differ"),
                "set one of them",
            );
        }
        if svc.container_name.is_some() && svc.replicas() > 1 {
            let kp = join(path, "container_name");
            let at = self.spans.get(&kp).cloned().unwrap_or_else(|| n.loc.clone());
            self.project_error(
                &at,
                &kp,
                format!(
                    "service {name:?} runs {} containers, and they cannot all be named {:?}",
                    svc.replicas(),
                    svc.container_name.as_deref().unwrap_or_default()
                ),
                "remove container_name, or run one container",
            );
        }
        if svc.image.is_none() && svc.build.is_none() {
            self.project_error(
                &n.loc,
                path,
                format!("service {name:?} has neither an image nor a build context"),
                "add `image: NAME` or `build: ./DIR`",
            );
        }
        svc
    }

    /// The same limit said twice must say the same, as docker compose requires.
    fn same_limits_agree(&mut self, svc: &Service, n: &Node, path: &str) {
        let Some(res) = svc.deploy.as_ref().map(|d| &d.resources) else { return };
        fn differ<T: PartialEq>(a: &Option<T>, b: Option<&T>) -> bool {
            matches!((a, b), (Some(a), Some(b)) if a != b)
        }
        let (lim, resv) = (res.limits.as_ref(), res.reservations.as_ref());
        let conflicts = [
            (
                "mem_limit",
                "deploy.resources.limits.memory",
                differ(&svc.mem_limit, lim.and_then(|r| r.memory.as_ref())),
            ),
            (
                "mem_reservation",
                "deploy.resources.reservations.memory",
                differ(&svc.mem_reservation, resv.and_then(|r| r.memory.as_ref())),
            ),
            (
                "pids_limit",
                "deploy.resources.limits.pids",
                differ(&svc.pids_limit, lim.and_then(|r| r.pids.as_ref())),
            ),
            (
                "cpus",
                "deploy.resources.limits.cpus",
                differ(&svc.cpus, lim.and_then(|r| r.cpus.as_ref())),
            ),
        ];
        for (own, deployed, _) in conflicts.into_iter().filter(|c| c.2) {
            let kp = join(path, own);
            let at = self.spans.get(&kp).cloned().unwrap_or_else(|| n.loc.clone());
            self.project_error(
                &at,
                &kp,
                format!("`{own}` and `{deployed}` differ"),
                "set the limit in one place; docker compose refuses distinct values too",
            );
        }
    }

    pub(super) fn rcompose_ext(&mut self, n: &Node, path: &str) -> Option<RcomposeExt> {
        let entries = self.map(n, path)?;
        self.check_keys(entries, path, &["builtin_proxy"], &[]);
        let mut ext = RcomposeExt::default();
        for (k, v) in entries {
            if k.name == "builtin_proxy" {
                ext.builtin_proxy = self.bool(v, &join(path, &k.name));
            }
        }
        Some(ext)
    }

    /// `post_start` / `pre_stop`: commands with their user, privileges, folder and variables.
    pub(super) fn hooks(&mut self, n: &Node, path: &str) -> Vec<Hook> {
        let mut out = Vec::new();
        self.each_map(n, path, "a list of hooks", HOOK_KEYS, |this, ip, fields, item| {
            out.extend(this.hook(ip, fields, item))
        });
        out
    }

    /// One hook's fields (`post_start`, `pre_stop`, a watch rule's `exec`).
    pub(super) fn hook(&mut self, ip: &str, fields: &[(Key, Node)], item: &Node) -> Option<Hook> {
        let mut hook = Hook::default();
        for (k, v) in fields {
            let kp = join(ip, &k.name);
            match k.name.as_str() {
                "command" => hook.command = self.command(v, &kp).unwrap_or_default(),
                "user" => hook.user = self.text(v, &kp),
                "privileged" => hook.privileged = self.bool(v, &kp).unwrap_or(false),
                "working_dir" => hook.working_dir = self.text(v, &kp),
                "environment" if !self.refuse_null(k, v, &kp) => {
                    hook.environment = self.string_map(v, &kp)
                }
                _ => {}
            }
        }
        if hook.command.is_empty() {
            self.error_hint(
                &item.loc,
                ip,
                "a hook needs a `command`",
                "for example {command: [\"sh\", \"-c\", \"echo ready\"]}",
            );
            return None;
        }
        Some(hook)
    }

    /// `develop.watch`: kept as docker compose keeps it, so `config` and the
    /// config-hash agree; `rcompose watch` follows it.
    pub(super) fn develop(&mut self, n: &Node, path: &str) -> Option<Develop> {
        let entries = self.map(n, path)?;
        self.check_keys(entries, path, &["watch"], &[]);
        let mut out = Develop::default();
        let Some(watch) = n.get("watch") else { return Some(out) };
        let wp = join(path, "watch");
        let keys = ["path", "action", "target", "exec", "include", "ignore", "initial_sync"];
        self.each_map(watch, &wp, "a list of watch rules", &keys, |this, ip, fields, item| {
            let mut rule = WatchRule::default();
            for (k, v) in fields {
                let kp = join(ip, &k.name);
                match k.name.as_str() {
                    "path" => {
                        rule.path = this
                            .string(v, &kp)
                            .map(|p| {
                                syntax::resolve_host_path(&p, &this.base, this.home.as_deref())
                            })
                            .unwrap_or_default()
                    }
                    "action" => match this.string(v, &kp) {
                        Some(a)
                            if ["sync", "rebuild", "restart", "sync+restart", "sync+exec"]
                                .contains(&a.as_str()) =>
                        {
                            rule.action = a
                        }
                        Some(a) => this.error_hint(
                            &v.loc,
                            &kp,
                            format!("unknown watch action {a:?}"),
                            "use sync, rebuild, restart, sync+restart or sync+exec",
                        ),
                        None => {}
                    },
                    "target" => rule.target = this.set_string(v, &kp),
                    "exec" => {
                        if let Some(hook_fields) = this.map(v, &kp) {
                            this.check_keys(hook_fields, &kp, HOOK_KEYS, &[]);
                            rule.exec = this.hook(&kp, hook_fields, v);
                        }
                    }
                    "include" if !this.refuse_null(k, v, &kp) => {
                        rule.include = this.strings(v, &kp, true)
                    }
                    "ignore" if !this.refuse_null(k, v, &kp) => {
                        rule.ignore = this.strings(v, &kp, true)
                    }
                    "initial_sync" => rule.initial_sync = this.bool(v, &kp).unwrap_or(false),
                    _ => {}
                }
            }
            if rule.path.is_empty() || rule.action.is_empty() {
                this.error_hint(
                    &item.loc,
                    ip,
                    "a watch rule needs a `path` and an `action`",
                    "for example {path: ./src, action: sync, target: /app}",
                );
                return;
            }
            out.watch.push(rule);
        });
        Some(out)
    }

    pub(super) fn depends_on(&mut self, n: &Node, path: &str) -> BTreeMap<String, Dependency> {
        let mut out = BTreeMap::new();
        let started =
            || Dependency { condition: Condition::ServiceStarted, restart: false, required: true };
        match &n.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(name) = self.string(item, &index(path, i)) {
                        self.spans.insert(join(path, &name), item.loc.clone());
                        out.insert(name, started());
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let kp = join(path, &k.name);
                    self.spans.insert(kp.clone(), k.loc.clone());
                    let mut dep = started();
                    // `db:` with nothing after it is refused by docker compose's schema.
                    if let Some(de) =
                        if self.refuse_null(k, v, &kp) { None } else { self.map(v, &kp) }
                    {
                        self.check_keys(de, &kp, &["condition", "restart", "required"], &[]);
                        if !de.iter().any(|(dk, _)| dk.name == "condition") {
                            self.error_hint(
                                &k.loc,
                                &kp,
                                format!("`{}` has no `condition`", k.name),
                                "add `condition: service_started` (or service_healthy, service_completed_successfully), or list the service by name",
                            );
                        }
                        for (dk, dv) in de {
                            let dp = join(&kp, &dk.name);
                            match dk.name.as_str() {
                                "condition" => match self.string(dv, &dp).as_deref() {
                                    Some("service_started") => dep.condition = Condition::ServiceStarted,
                                    Some("service_healthy") => dep.condition = Condition::ServiceHealthy,
                                    Some("service_completed_successfully") => dep.condition = Condition::ServiceCompletedSuccessfully,
                                    Some(other) => self.error_hint(
                                        &dv.loc,
                                        &dp,
                                        format!("unknown condition {other:?}"),
                                        "use service_started, service_healthy or service_completed_successfully",
                                    ),
                                    None => {}
                                },
                                "restart" => dep.restart = self.bool(dv, &dp).unwrap_or(false),
                                "required" => dep.required = self.bool(dv, &dp).unwrap_or(true),
                                _ => {}
                            }
                        }
                    }
                    out.insert(k.name.clone(), dep);
                }
            }
            Value::Null => {}
            _ => self.expected(n, path, "a list of services or a mapping"),
        }
        out
    }

    pub(super) fn healthcheck(&mut self, n: &Node, path: &str) -> Option<Healthcheck> {
        let entries = self.map(n, path)?;
        self.check_keys(
            entries,
            path,
            &[
                "test",
                "interval",
                "timeout",
                "retries",
                "start_period",
                "start_interval",
                "disable",
            ],
            &[],
        );
        let mut hc = Healthcheck::default();
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "test" => {
                    hc.test = match &v.value {
                        Value::Str(s) => Some(vec!["CMD-SHELL".to_string(), s.clone()]),
                        // No test: the image's own, as docker compose reads `[]`.
                        Value::Seq(items) if items.is_empty() => None,
                        Value::Seq(_) => {
                            let t = self.strings(v, &kp, false);
                            match t.first().map(String::as_str) {
                                Some("CMD" | "CMD-SHELL" | "NONE") => Some(t),
                                _ => {
                                    self.error_hint(
                                        &v.loc,
                                        &kp,
                                        "a healthcheck test list must start with CMD, CMD-SHELL or NONE",
                                        "for example [\"CMD\", \"curl\", \"-f\", \"http://localhost\"]",
                                    );
                                    None
                                }
                            }
                        }
                        _ => {
                            self.expected(v, &kp, "a string or a list");
                            None
                        }
                    }
                }
                "interval" => hc.interval = self.duration(v, &kp),
                "timeout" => hc.timeout = self.duration(v, &kp),
                "start_period" => hc.start_period = self.duration(v, &kp),
                "start_interval" => hc.start_interval = self.duration(v, &kp),
                "retries" => hc.retries = self.uint(v, &kp),
                "disable" => hc.disable = self.bool(v, &kp).unwrap_or(false),
                _ => {}
            }
        }
        Some(hc)
    }

    pub(super) fn service_networks(
        &mut self,
        n: &Node,
        path: &str,
    ) -> BTreeMap<String, Option<ServiceNetwork>> {
        let mut out = BTreeMap::new();
        match &n.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(name) = self.string(item, &index(path, i)) {
                        self.spans.insert(join(path, &name), item.loc.clone());
                        out.insert(name, None);
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let kp = join(path, &k.name);
                    self.spans.insert(kp.clone(), k.loc.clone());
                    if v.is_null() {
                        out.insert(k.name.clone(), None);
                        continue;
                    }
                    let Some(ne) = self.map(v, &kp) else { continue };
                    self.check_keys(
                        ne,
                        &kp,
                        &[
                            "aliases",
                            "ipv4_address",
                            "ipv6_address",
                            "priority",
                            "link_local_ips",
                            "driver_opts",
                        ],
                        &["mac_address", "gw_priority", "interface_name"],
                    );
                    let mut sn = ServiceNetwork::default();
                    for (nk, nv) in ne {
                        let np = join(&kp, &nk.name);
                        match nk.name.as_str() {
                            "aliases" if !self.refuse_null(nk, nv, &np) => {
                                sn.aliases = self.strings(nv, &np, false)
                            }
                            "ipv4_address" => sn.ipv4_address = self.text(nv, &np),
                            "ipv6_address" => sn.ipv6_address = self.text(nv, &np),
                            "priority" => sn.priority = self.priority(nv, &np),
                            "gw_priority" => sn.gw_priority = self.priority(nv, &np),
                            "link_local_ips" if !self.refuse_null(nk, nv, &np) => {
                                sn.link_local_ips = self.strings(nv, &np, false)
                            }
                            "mac_address" => sn.mac_address = self.string(nv, &np),
                            "driver_opts" => sn.driver_opts = self.options(nv, &np, false),
                            "interface_name" => sn.interface_name = self.string(nv, &np),
                            _ => {}
                        }
                    }
                    out.insert(k.name.clone(), Some(sn));
                }
            }
            _ => self.expected(n, path, "a list of networks or a mapping"),
        }
        out
    }

    /// A network's `priority` or `gw_priority`: a whole number, not digits as text.
    pub(super) fn priority(&mut self, n: &Node, path: &str) -> i64 {
        self.number(n, path)
            .and_then(|_| self.int(n, path, i32::MIN as i64, i32::MAX as i64))
            .unwrap_or(0)
    }
}
