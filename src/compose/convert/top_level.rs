//! The top level: services, networks, volumes, secrets and configs.

use super::*;

impl Converter<'_> {
    /// A name the Compose Specification allows for a service, volume, secret
    /// or config: `[a-zA-Z0-9._-]+`, as docker compose's schema checks it.
    /// (Network names are not held to it, by the schema or the engine.)
    pub(super) fn valid_name(&mut self, k: &Key, section: &str, what: &str) -> bool {
        let ok = !k.name.is_empty()
            && k.name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            let shown: String = k.name.chars().flat_map(char::escape_debug).collect();
            self.error_hint(
                &k.loc,
                &format!("{section}.{shown}"),
                format!("invalid {what} name \"{shown}\""),
                "names may hold only letters, digits, `.`, `_` and `-` (ASCII)",
            );
        }
        ok
    }

    pub fn project(&mut self, root: &Node) -> Project {
        let mut project = Project {
            name: self.project_name.clone(),
            services: BTreeMap::new(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            secrets: BTreeMap::new(),
            configs: BTreeMap::new(),
            working_dir: self.base.clone(),
            config_files: Vec::new(),
            disabled: BTreeMap::new(),
            extensions: BTreeMap::new(),
        };
        let Some(entries) = self.map(root, "") else {
            return project;
        };
        for (k, v) in entries {
            match k.name.as_str() {
                // Read for the project name before this; a string to the schema all the same.
                "name" => drop(self.text(v, "name")),
                // Obsolete and ignored, but still a string to docker compose's schema.
                "version" => drop(self.text(v, "version")),
                "services" => {
                    let Value::Map(services) = &v.value else {
                        self.error_hint(
                            &v.loc,
                            "services",
                            format!("services must be a mapping, found {}", v.kind_name()),
                            "write each service as `NAME:` followed by its keys, indented",
                        );
                        continue;
                    };
                    for (sk, sv) in services {
                        let path = format!("services.{}", sk.name);
                        self.spans.insert(path.clone(), sk.loc.clone());
                        if !self.valid_name(sk, "services", "service") {
                            continue;
                        }
                        if let Some(svc) = self.service(&sk.name, sv, &path) {
                            project.services.insert(sk.name.clone(), svc);
                        }
                    }
                }
                "networks" => {
                    for (nk, nv) in self.map(v, "networks").unwrap_or_default() {
                        let path = join("networks", &nk.name);
                        let net = self.network(&nk.name, nv, &path);
                        project.networks.insert(nk.name.clone(), net);
                    }
                }
                "volumes" => {
                    for (vk, vv) in self.map(v, "volumes").unwrap_or_default() {
                        if !self.valid_name(vk, "volumes", "volume") {
                            continue;
                        }
                        let path = join("volumes", &vk.name);
                        let vol = self.volume(&vk.name, vv, &path);
                        project.volumes.insert(vk.name.clone(), vol);
                    }
                }
                "secrets" | "configs" => {
                    let secrets = k.name == "secrets";
                    for (fk, fv) in self.map(v, &k.name).unwrap_or_default() {
                        if !self.valid_name(fk, &k.name, if secrets { "secret" } else { "config" })
                        {
                            continue;
                        }
                        let path = join(&k.name, &fk.name);
                        self.spans.insert(path.clone(), fk.loc.clone());
                        let obj = self.file_object(fk, fv, &path, secrets);
                        if secrets {
                            project.secrets.insert(fk.name.clone(), obj);
                        } else {
                            project.configs.insert(fk.name.clone(), obj);
                        }
                    }
                }
                "models" => {
                    self.warn(
                        &k.loc,
                        &k.name,
                        format!("`{}` is part of the Compose Specification, but rcompose does not act on it yet; it is ignored", k.name),
                    );
                }
                name if name.starts_with("x-") => {
                    project.extensions.insert(name.to_string(), crate::compose::yaml::to_json(v));
                }
                name => {
                    let d = unknown_top_level(name, &k.loc);
                    self.diags.push(d);
                }
            }
        }
        if root.get("services").is_none() && root.get("include").is_none() {
            self.project_error(
                &root.loc,
                "services",
                "no services are defined",
                "add a `services:` mapping with at least one service",
            );
        }
        project
    }

    pub(super) fn network(&mut self, key: &str, n: &Node, path: &str) -> Network {
        let mut net =
            Network { name: format!("{}_{key}", self.project_name), ..Default::default() };
        if n.is_null() {
            return net;
        }
        let Some(entries) = self.map(n, path) else {
            return net;
        };
        self.check_keys(
            entries,
            path,
            &[
                "name",
                "driver",
                "driver_opts",
                "ipam",
                "external",
                "internal",
                "attachable",
                "enable_ipv6",
                "labels",
            ],
            &["enable_ipv4"],
        );
        let mut explicit_name = None;
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "name" => explicit_name = self.text(v, &kp),
                "driver" => net.driver = self.text(v, &kp),
                "driver_opts" => net.driver_opts = self.options(v, &kp, false),
                "external" => net.external = external_flag(self, v, &kp, &mut explicit_name, true),
                "internal" => net.internal = self.bool(v, &kp).unwrap_or(false),
                "attachable" => net.attachable = self.bool(v, &kp).unwrap_or(false),
                "enable_ipv6" => net.enable_ipv6 = self.bool(v, &kp),
                "labels" if !self.refuse_null(k, v, &kp) => net.labels = self.string_map(v, &kp),
                "ipam" if !self.refuse_null(k, v, &kp) => net.ipam = self.ipam(v, &kp),
                _ => {}
            }
        }
        if let Some(name) = explicit_name {
            net.name = name;
        } else if net.external {
            net.name = key.to_string();
        }
        net
    }

    /// `ipam`: written as given (docker compose checks no address here; the
    /// engine does, when the network is made).
    pub(super) fn ipam(&mut self, n: &Node, path: &str) -> Ipam {
        let mut ipam = Ipam::default();
        if n.is_null() {
            return ipam;
        }
        let Some(entries) = self.map(n, path) else { return ipam };
        // docker compose 2.40.3 neither prints nor sends `options`: warned, like it.
        self.check_keys(entries, path, &["driver", "config"], &["options"]);
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "driver" => ipam.driver = self.text(v, &kp),
                "config" => {
                    let keys = ["subnet", "ip_range", "gateway", "aux_addresses"];
                    self.each_map(v, &kp, "a list of subnets", &keys, |this, ip, fields, _| {
                        let mut pool = IpamPool::default();
                        for (fk, fv) in fields {
                            let fp = join(ip, &fk.name);
                            match fk.name.as_str() {
                                "subnet" => pool.subnet = this.text(fv, &fp),
                                "ip_range" => pool.ip_range = this.text(fv, &fp),
                                "gateway" => pool.gateway = this.text(fv, &fp),
                                "aux_addresses" => pool.aux_addresses = this.text_map(fv, &fp),
                                _ => {}
                            }
                        }
                        ipam.config.push(pool);
                    });
                }
                _ => {}
            }
        }
        ipam
    }

    pub(super) fn volume(&mut self, key: &str, n: &Node, path: &str) -> Volume {
        let mut vol = Volume { name: format!("{}_{key}", self.project_name), ..Default::default() };
        if n.is_null() {
            return vol;
        }
        let Some(entries) = self.map(n, path) else {
            return vol;
        };
        self.check_keys(
            entries,
            path,
            &["name", "driver", "driver_opts", "external", "labels"],
            &[],
        );
        let mut explicit_name = None;
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "name" => explicit_name = self.text(v, &kp),
                "driver" => vol.driver = self.text(v, &kp),
                "driver_opts" => vol.driver_opts = self.options(v, &kp, false),
                "external" => vol.external = external_flag(self, v, &kp, &mut explicit_name, true),
                "labels" if !self.refuse_null(k, v, &kp) => vol.labels = self.string_map(v, &kp),
                _ => {}
            }
        }
        if let Some(name) = explicit_name {
            vol.name = name;
        } else if vol.external {
            vol.name = key.to_string();
        }
        vol
    }

    /// A top-level secret or config: exactly one of `file`, `environment`,
    /// `content` (configs only) or `external`.
    pub(super) fn file_object(
        &mut self,
        fk: &Key,
        n: &Node,
        path: &str,
        secret: bool,
    ) -> FileObject {
        let key = fk.name.as_str();
        let mut obj =
            FileObject { name: format!("{}_{key}", self.project_name), ..Default::default() };
        let Some(entries) = self.map(n, path) else {
            return obj;
        };
        let mut env_at = n.loc.clone();
        let known: &[&str] = if secret {
            &["name", "file", "environment", "external", "labels"]
        } else {
            &["name", "file", "environment", "content", "external", "labels"]
        };
        self.check_keys(entries, path, known, &["driver", "driver_opts", "template_driver"]);
        let mut explicit_name = None;
        for (k, v) in entries {
            let kp = join(path, &k.name);
            match k.name.as_str() {
                "name" => explicit_name = self.string(v, &kp),
                "file" => {
                    obj.file = self
                        .text(v, &kp)
                        .map(|f| syntax::resolve_host_path(&f, &self.base, self.home.as_deref()))
                }
                "environment" => {
                    env_at = v.loc.clone();
                    obj.environment = self.string(v, &kp);
                }
                "content" => obj.content = self.text(v, &kp),
                "external" => obj.external = external_flag(self, v, &kp, &mut explicit_name, false),
                _ => {}
            }
        }
        if let Some(name) = explicit_name {
            obj.name = name;
        } else if obj.external {
            obj.name = key.to_string();
        }
        if obj.environment.as_deref() == Some("") {
            self.error_hint(
                &env_at,
                &join(path, "environment"),
                "the variable's name is empty",
                "name the variable that holds the content, like `environment: TOKEN`",
            );
        } else if let Some(var) = &obj.environment {
            obj.env_value = (self.env)(var);
            if obj.env_value.is_none() {
                self.error_hint(
                    &env_at,
                    path,
                    format!("{key:?} comes from variable {var:?}, which is not set"),
                    format!("set {var} in the environment or in .env"),
                );
            }
        }
        let sources =
            [obj.file.is_some(), obj.environment.is_some(), obj.content.is_some(), obj.external]
                .iter()
                .filter(|s| **s)
                .count();
        if sources != 1 {
            let what = if secret {
                "file, environment or external"
            } else {
                "file, environment, content or external"
            };
            self.error_hint(
                &fk.loc,
                path,
                format!("{key:?} needs exactly one source"),
                format!("give one of {what}"),
            );
        }
        obj
    }

    /// A service's `secrets` or `configs`: names, or `{source, target, uid, gid, mode}`.
    pub(super) fn file_refs(&mut self, n: &Node, path: &str, secret: bool) -> Vec<FileRef> {
        let Some(items) = self.list(n, path, "a list") else { return Vec::new() };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            // Errors about the reference point at its source name.
            let mut at = item.loc.clone();
            let r = match &item.value {
                Value::Map(entries) => {
                    self.check_keys(entries, &ip, &["source", "target", "uid", "gid", "mode"], &[]);
                    let mut r = FileRef::default();
                    for (k, v) in entries {
                        let kp = join(&ip, &k.name);
                        match k.name.as_str() {
                            "source" => {
                                at = v.loc.clone();
                                r.source = self.text(v, &kp).unwrap_or_default();
                            }
                            // A path: a number here makes docker compose 2.40.3 panic.
                            "target" => r.target = self.text(v, &kp),
                            "uid" => r.uid = self.text(v, &kp),
                            "gid" => r.gid = self.text(v, &kp),
                            "mode" => {
                                r.mode =
                                    self.int(v, &kp, 0, 0o7777).and_then(|m| u32::try_from(m).ok())
                            }
                            _ => {}
                        }
                    }
                    r
                }
                // The short form: a secret lands in /run/secrets, as docker compose writes it out.
                _ => match self.text(item, &ip) {
                    Some(source) => {
                        let target = secret.then(|| format!("/run/secrets/{source}"));
                        FileRef { source, target, ..Default::default() }
                    }
                    None => continue,
                },
            };
            if r.source.is_empty() {
                self.error(&item.loc, &ip, "a source is needed: the name of a top-level entry");
                continue;
            }
            self.spans.insert(ip, at);
            out.push(r);
        }
        out
    }
}
