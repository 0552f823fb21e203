//! `volumes` of a service: short syntax and long.

use super::*;

impl Converter<'_> {
    pub(super) fn mounts(&mut self, n: &Node, path: &str) -> Vec<Mount> {
        let Some(items) = self.list(n, path, "a list of volumes") else { return Vec::new() };
        let mut out: Vec<Mount> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            self.spans.insert(ip.clone(), item.loc.clone());
            match &item.value {
                Value::Str(s) => match syntax::parse_volume(s, &self.base, self.home.as_deref()) {
                    Ok(m) => out.push(m),
                    Err(e) => self.error_hint(
                        &item.loc,
                        &ip,
                        e,
                        "write volumes as SOURCE:TARGET[:ro], for example ./data:/data",
                    ),
                },
                Value::Map(entries) => {
                    if let Some(m) = self.long_mount(entries, item, &ip) {
                        out.push(m);
                    }
                }
                _ => self.expected(item, &ip, "a volume string or a mapping"),
            }
        }
        dedup_keep_last(&mut out, |m| m.target.clone());
        out
    }

    pub(super) fn long_mount(
        &mut self,
        entries: &[(Key, Node)],
        item: &Node,
        ip: &str,
    ) -> Option<Mount> {
        self.check_keys(
            entries,
            ip,
            &["type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"],
            &["image", "npipe"],
        );
        let mut kind = None;
        let mut source = None;
        let mut target = None;
        let mut read_only = false;
        let mut bind = None;
        let mut volume = None;
        let mut tmpfs = None;
        for (k, v) in entries {
            let kp = join(ip, &k.name);
            match k.name.as_str() {
                "type" => match self.string(v, &kp).as_deref() {
                    Some("bind") => kind = Some(MountType::Bind),
                    Some("volume") => kind = Some(MountType::Volume),
                    Some("tmpfs") => kind = Some(MountType::Tmpfs),
                    Some(other) => self.error_hint(
                        &v.loc,
                        &kp,
                        format!("unsupported mount type {other:?}"),
                        "use bind, volume or tmpfs",
                    ),
                    None => {}
                },
                "source" => source = self.text(v, &kp),
                "target" => target = self.text(v, &kp),
                "read_only" => read_only = self.bool(v, &kp).unwrap_or(false),
                // Only Docker Desktop for Mac acted on it; a string all the same.
                "consistency" => drop(self.text(v, &kp)),
                "bind" => bind = self.bind_options(v, &kp).or(bind),
                "volume" => volume = self.volume_options(v, &kp).or(volume),
                "tmpfs" => tmpfs = self.tmpfs_options(v, &kp).or(tmpfs),
                _ => {}
            }
        }
        let Some(kind) = kind else {
            self.error_hint(
                &item.loc,
                ip,
                "`type` is required in the long volume syntax",
                "use type: bind, volume or tmpfs",
            );
            return None;
        };
        let Some(target) = target else {
            self.error(&item.loc, ip, "`target` is required");
            return None;
        };
        if kind == MountType::Bind {
            match &source {
                Some(s) => source = Some(syntax::bind_source(s, &self.base, self.home.as_deref())),
                None => {
                    self.error(&item.loc, ip, "a bind mount needs a `source`");
                    return None;
                }
            }
        }
        if kind == MountType::Tmpfs && source.is_some() {
            self.error(&item.loc, ip, "a tmpfs mount has no `source`");
        }
        if kind == MountType::Volume && volume.is_none() {
            volume = Some(VolumeOptions::default());
        }
        Some(Mount {
            kind,
            source,
            target: syntax::clean_target(&target),
            read_only,
            bind,
            volume,
            tmpfs,
        })
    }

    /// `bind:` of a long mount.
    fn bind_options(&mut self, v: &Node, kp: &str) -> Option<BindOptions> {
        let be = self.map(v, kp)?;
        self.check_keys(be, kp, &["propagation", "create_host_path", "selinux"], &[]);
        let mut b = BindOptions::default();
        for (bk, bv) in be {
            let bp = join(kp, &bk.name);
            match bk.name.as_str() {
                "propagation" => b.propagation = self.text(bv, &bp),
                "create_host_path" => b.create_host_path = self.bool(bv, &bp).unwrap_or(false),
                "selinux" => match self.text(bv, &bp) {
                    Some(l) if l == "z" || l == "Z" => b.selinux = Some(l),
                    Some(l) => self.error_hint(
                        &bv.loc,
                        &bp,
                        format!("invalid SELinux label {l:?}"),
                        "use z (shared) or Z (private)",
                    ),
                    None => {}
                },
                _ => {}
            }
        }
        Some(b)
    }

    /// `volume:` of a long mount.
    fn volume_options(&mut self, v: &Node, kp: &str) -> Option<VolumeOptions> {
        let ve = self.map(v, kp)?;
        self.check_keys(ve, kp, &["nocopy", "subpath"], &["labels"]);
        let mut o = VolumeOptions::default();
        for (vk, vv) in ve {
            let vp = join(kp, &vk.name);
            match vk.name.as_str() {
                "nocopy" => o.nocopy = self.bool(vv, &vp).unwrap_or(false),
                "subpath" => o.subpath = self.text(vv, &vp),
                "labels" if !self.refuse_null(vk, vv, &vp) => drop(self.key_values(vv, &vp)),
                _ => {}
            }
        }
        Some(o)
    }

    /// `tmpfs:` of a long mount.
    fn tmpfs_options(&mut self, v: &Node, kp: &str) -> Option<TmpfsOptions> {
        let te = self.map(v, kp)?;
        self.check_keys(te, kp, &["size", "mode"], &[]);
        let mut o = TmpfsOptions::default();
        for (tk, tv) in te {
            let tp = join(kp, &tk.name);
            match tk.name.as_str() {
                "size" if matches!(tv.value, Value::Float(..)) => {
                    self.expected(tv, &tp, "a whole number of bytes or a size like 64m")
                }
                "size" => match self.string(tv, &tp).map(|s| syntax::parse_bytes(&s)) {
                    Some(Ok(b)) => o.size = Some(b),
                    Some(Err(e)) => self.error(&tv.loc, &tp, e),
                    None => {}
                },
                "mode" => {
                    o.mode = self
                        .number(tv, &tp)
                        .and_then(|_| self.uint(tv, &tp))
                        .and_then(|m| u32::try_from(m).ok())
                }
                _ => {}
            }
        }
        Some(o)
    }
}
