//! A service's files in a cluster: named volumes as claims, bind mounts as
//! ConfigMaps (the files travel with the manifests) or claims (a data
//! folder), configs and secrets as ConfigMaps and Secrets, tmpfs as memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::names::{self, Registry};
use super::{Ctx, Object};
use crate::compose::model::{FileRef, Mount, MountType, Service};

/// What a ConfigMap holds at most: etcd's limit on one object.
const MAX_DATA: u64 = 1024 * 1024;
/// Files taken from one bind-mounted folder at most.
const MAX_FILES: usize = 1000;
/// A claim's size: compose volumes have none, so a modest default.
const CLAIM_SIZE: &str = "1Gi";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Config,
    Secret,
}

/// The volumes of one pod and the claims its StatefulSet makes; one
/// source mounted by two containers of the pod is one volume.
#[derive(Default)]
pub(super) struct PodStorage {
    pub(super) volumes: Vec<Value>,
    pub(super) claims: Vec<Value>,
    by_source: BTreeMap<String, String>,
    names: Registry,
}

impl PodStorage {
    /// The pod's volume for `source`, made by `make` the first time.
    fn volume(&mut self, source: &str, wanted: &str, make: impl FnOnce(&str) -> Value) -> String {
        if let Some(n) = self.by_source.get(source) {
            return n.clone();
        }
        let name = self.names.fresh(wanted);
        let mut v = Map::new();
        v.insert("name".into(), name.clone().into());
        if let Value::Object(rest) = make(&name) {
            v.extend(rest);
        }
        self.volumes.push(Value::Object(v));
        self.by_source.insert(source.to_string(), name.clone());
        name
    }

    fn claim(&mut self, source: &str, wanted: &str) -> String {
        if let Some(n) = self.by_source.get(source) {
            return n.clone();
        }
        let name = self.names.fresh(wanted);
        self.claims.push(json!({
            "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": CLAIM_SIZE}}},
        }));
        self.by_source.insert(source.to_string(), name.clone());
        name
    }
}

/// The project's configs, secrets and shared volumes, made once for all services.
pub(super) fn top_level(ctx: &mut Ctx) -> Result<(), String> {
    let mut users: BTreeMap<&str, usize> = BTreeMap::new();
    for svc in ctx.project.services.values() {
        let mut mine: Vec<&str> = svc
            .volumes
            .iter()
            .filter(|m| m.kind == MountType::Volume)
            .filter_map(|m| m.source.as_deref())
            .collect();
        mine.sort_unstable();
        mine.dedup();
        for v in mine {
            *users.entry(v).or_default() += 1;
        }
    }
    for (key, volume) in &ctx.project.volumes {
        let shared = users.get(key.as_str()).copied().unwrap_or(0) > 1;
        if volume.external {
            ctx.note(format!(
                "volume {key}: external, so the claim {} must exist in the cluster",
                names::label(&volume.name)
            ));
        } else if shared {
            let name = ctx.data.fresh(key);
            let value = json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": ctx.project_meta(&name),
                "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": CLAIM_SIZE}}},
            });
            ctx.push("PersistentVolumeClaim", name, value);
            ctx.note(format!(
                "volume {key}: mounted by several services, so one claim, ReadWriteMany, which the cluster's storage must offer"
            ));
        }
        if shared || volume.external {
            ctx.shared_volumes.insert(key.clone());
        }
    }
    for kind in [Kind::Config, Kind::Secret] {
        let used: std::collections::BTreeSet<String> = ctx
            .project
            .services
            .values()
            .flat_map(|s| refs(s, kind).iter().map(|r| r.source.clone()))
            .collect();
        for source in used {
            file_object(ctx, kind, &source)?;
        }
    }
    Ok(())
}

fn refs(svc: &Service, kind: Kind) -> &[FileRef] {
    match kind {
        Kind::Config => &svc.configs,
        Kind::Secret => &svc.secrets,
    }
}

/// One top-level config or secret as a ConfigMap or Secret of one key.
fn file_object(ctx: &mut Ctx, kind: Kind, source: &str) -> Result<(), String> {
    let table = match kind {
        Kind::Config => &ctx.project.configs,
        Kind::Secret => &ctx.project.secrets,
    };
    let what = if kind == Kind::Config { "config" } else { "secret" };
    let Some(obj) = table.get(source) else {
        return Err(format!("{what} {source:?} is used but not defined"));
    };
    let key = names::data_key(source);
    if obj.external {
        let name = names::label(&obj.name);
        ctx.note(format!("{what} {source}: external, so {name} must exist in the cluster"));
        ctx.file_objects.insert((kind, source.to_string()), (name, key));
        return Ok(());
    }
    let bytes = match (&obj.file, obj.contents()) {
        (Some(file), _) => read_limited(Path::new(file))
            .map_err(|e| format!("{what} {source}: cannot read {file}: {e}"))?,
        (None, Some(text)) => text.as_bytes().to_vec(),
        (None, None) => Vec::new(),
    };
    let name = ctx.data.fresh(source);
    let value = data_object(ctx, kind == Kind::Secret, &name, &[(key.clone(), bytes)]);
    ctx.objects.push(value);
    ctx.file_objects.insert((kind, source.to_string()), (name, key));
    Ok(())
}

fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let len = std::fs::metadata(path)?.len();
    if len > MAX_DATA {
        return Err(std::io::Error::other(format!(
            "{len} bytes, over the 1 MiB a ConfigMap or Secret holds"
        )));
    }
    std::fs::read(path)
}

/// A ConfigMap (text as `data`, the rest as `binaryData`) or a Secret.
fn data_object(ctx: &Ctx, secret: bool, name: &str, files: &[(String, Vec<u8>)]) -> Object {
    let b64 = |b: &[u8]| Value::from(base64::engine::general_purpose::STANDARD.encode(b));
    let mut data = Map::new();
    let mut binary = Map::new();
    for (key, bytes) in files {
        match std::str::from_utf8(bytes) {
            _ if secret => drop(data.insert(key.clone(), b64(bytes))),
            Ok(text) => drop(data.insert(key.clone(), text.into())),
            Err(_) => drop(binary.insert(key.clone(), b64(bytes))),
        }
    }
    let kind = if secret { "Secret" } else { "ConfigMap" };
    let mut value = json!({"apiVersion": "v1", "kind": kind, "metadata": ctx.project_meta(name)});
    if secret {
        value["type"] = "Opaque".into();
    }
    if !data.is_empty() {
        value["data"] = Value::Object(data);
    }
    if !binary.is_empty() {
        value["binaryData"] = Value::Object(binary);
    }
    Object { kind, name: name.to_string(), value }
}

/// The container's `volumeMounts`; the pod's volumes and claims go to `pod`.
pub(super) fn mounts(
    ctx: &mut Ctx,
    svc: &Service,
    pod: &mut PodStorage,
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for m in &svc.volumes {
        if let Some(mount) = mount(ctx, svc, m, pod)? {
            out.push(mount);
        }
    }
    for kind in [Kind::Config, Kind::Secret] {
        for r in refs(svc, kind) {
            out.push(file_ref(ctx, svc, kind, r, pod));
        }
    }
    if let Some(size) = &svc.shm_size {
        let name = pod.volume(
            "shm",
            "shm",
            |_| json!({"emptyDir": {"medium": "Memory", "sizeLimit": size}}),
        );
        out.push(json!({"name": name, "mountPath": "/dev/shm"}));
    }
    if !svc.volumes_from.is_empty() {
        ctx.note(format!(
            "service {}: volumes_from has no Kubernetes counterpart and is left out; mount the volumes by name",
            svc.name
        ));
    }
    Ok(out)
}

fn mount(
    ctx: &mut Ctx,
    svc: &Service,
    m: &Mount,
    pod: &mut PodStorage,
) -> Result<Option<Value>, String> {
    let mut mount = Map::new();
    let name = match (m.kind, m.source.as_deref()) {
        (MountType::Tmpfs, _) => {
            let size = m.tmpfs.as_ref().and_then(|t| t.size);
            pod.volume(&format!("tmpfs:{}", m.target), "tmpfs", |_| {
                let mut dir = json!({"medium": "Memory"});
                if let Some(size) = size {
                    dir["sizeLimit"] = size.to_string().into();
                }
                json!({ "emptyDir": dir })
            })
        }
        (MountType::Volume, None) => {
            pod.volume(&format!("anon:{}", m.target), "scratch", |_| json!({"emptyDir": {}}))
        }
        (MountType::Volume, Some(source)) => {
            if let Some(sub) = m.volume.as_ref().and_then(|v| v.subpath.as_ref()) {
                mount.insert("subPath".into(), sub.clone().into());
            }
            if ctx.shared_volumes.contains(source) {
                let claim = match ctx.project.volumes.get(source) {
                    Some(v) if v.external => names::label(&v.name),
                    _ => names::label(source),
                };
                pod.volume(
                    &format!("volume:{source}"),
                    source,
                    |_| json!({"persistentVolumeClaim": {"claimName": claim}}),
                )
            } else {
                pod.claim(&format!("volume:{source}"), source)
            }
        }
        (MountType::Bind, None) => return Ok(None),
        (MountType::Bind, Some(source)) => match bind(ctx, svc, Path::new(source), m, pod)? {
            Some((name, sub)) => {
                if let Some(sub) = sub {
                    mount.insert("subPath".into(), sub.into());
                }
                name
            }
            None => return Ok(None),
        },
    };
    let mut out = Map::new();
    out.insert("name".into(), name.into());
    out.insert("mountPath".into(), m.target.clone().into());
    out.extend(mount);
    if m.read_only {
        out.insert("readOnly".into(), true.into());
    }
    Ok(Some(Value::Object(out)))
}

/// A bind mount: the pod volume's name and the sub-path to mount, or
/// nothing when the image already has what it mounts.
fn bind(
    ctx: &mut Ctx,
    svc: &Service,
    source: &Path,
    m: &Mount,
    pod: &mut PodStorage,
) -> Result<Option<(String, Option<String>)>, String> {
    let shown = shown(ctx, source);
    let base =
        source.file_name().map_or_else(|| "root".into(), |f| f.to_string_lossy().into_owned());
    if !source.starts_with(&ctx.project.working_dir) {
        ctx.note(format!(
            "service {}: {} is outside the project, so it mounts that path of the node (hostPath)",
            svc.name,
            source.display()
        ));
        let path = source.display().to_string();
        let name =
            pod.volume(&format!("host:{path}"), &base, |_| json!({"hostPath": {"path": path}}));
        return Ok(Some((name, None)));
    }
    if source.is_file() {
        let bytes = read_limited(source).map_err(|e| {
            format!("service {}: cannot take {shown} into a ConfigMap: {e}", svc.name)
        })?;
        let secret = bytes.windows(11).any(|w| w == b"PRIVATE KEY");
        let key = names::data_key(&base);
        let obj = shared_object(ctx, source, secret, vec![(key.clone(), bytes)]);
        let kind = if secret { "secret" } else { "configMap" };
        let name_key = if secret { "secretName" } else { "name" };
        let name = pod.volume(
            &format!("bind:{}", source.display()),
            &base,
            |_| json!({ kind: {name_key: obj, "items": [{"key": key, "path": key}]} }),
        );
        return Ok(Some((name, Some(names::data_key(&base)))));
    }
    let in_context = svc.build.as_ref().is_some_and(|b| source.starts_with(&b.context));
    if in_context && source.is_dir() {
        ctx.note(format!(
            "service {}: {shown} is inside its build context, so the image already has it; the mount (live code on a laptop) is left out",
            svc.name
        ));
        return Ok(None);
    }
    // A folder the container may write to is data (a ConfigMap cannot be
    // written), unless nginx serves it; one mounted `:ro` travels with its files.
    let served = crate::orchestrate::builtin::select::is_builtin_proxy(svc, false);
    let files = if m.read_only || served {
        folder_files(source)
    } else {
        Err("is mounted read-write (`:ro` would carry its files as a ConfigMap)")
    };
    match files {
        Ok(files) => {
            let items: Vec<Value> = files
                .iter()
                .map(|(rel, _)| json!({"key": names::data_key(rel), "path": rel}))
                .collect();
            let data: Vec<(String, Vec<u8>)> =
                files.into_iter().map(|(rel, bytes)| (names::data_key(&rel), bytes)).collect();
            let obj = shared_object(ctx, source, false, data);
            if !m.read_only {
                ctx.note(format!(
                    "service {}: {shown} travels as the ConfigMap {obj}, which nginx reads but cannot write",
                    svc.name
                ));
            }
            let name = pod.volume(
                &format!("bind:{}", source.display()),
                &base,
                |_| json!({"configMap": {"name": obj, "items": items}}),
            );
            Ok(Some((name, None)))
        }
        Err(why) => {
            ctx.note(format!(
                "service {}: {shown} {why}, so it is taken for a data folder: a claim of {CLAIM_SIZE} per replica",
                svc.name
            ));
            Ok(Some((pod.claim(&format!("bind:{}", source.display()), &base), None)))
        }
    }
}

/// The ConfigMap or Secret holding a bind mount's files, made once per host path.
fn shared_object(
    ctx: &mut Ctx,
    source: &Path,
    secret: bool,
    files: Vec<(String, Vec<u8>)>,
) -> String {
    let key = source.display().to_string();
    if let Some(name) = ctx.bind_objects.get(&key) {
        return name.clone();
    }
    let name = ctx.data.fresh(&shown(ctx, source));
    let obj = data_object(ctx, secret, &name, &files);
    ctx.objects.push(obj);
    ctx.bind_objects.insert(key, name.clone());
    name
}

/// A host path as the project names it (`./nginx/nginx.conf`).
pub(super) fn shown(ctx: &Ctx, path: &Path) -> String {
    match path.strip_prefix(&ctx.project.working_dir) {
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => path.display().to_string(),
    }
}

/// The files of a folder to carry in a ConfigMap, by path inside it; or
/// why the folder is not one to carry (a data folder holds nothing yet
/// but a `.gitignore`, or more than a ConfigMap holds).
fn folder_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, &'static str> {
    if !dir.exists() {
        return Err("does not exist here");
    }
    let unreadable = |_| "cannot be read here";
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut visible = false;
    let mut stack: Vec<(PathBuf, usize)> = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d).map_err(unreadable)?.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let meta = std::fs::metadata(&path).map_err(unreadable)?;
            if meta.is_dir() {
                if name != ".git" && depth < 16 {
                    stack.push((path, depth + 1));
                }
                continue;
            }
            total += meta.len();
            if total > MAX_DATA {
                return Err("holds more than the 1 MiB a ConfigMap holds");
            }
            if out.len() >= MAX_FILES {
                return Err("holds more files than rcompose puts in a ConfigMap");
            }
            visible |= !name.starts_with('.');
            let rel = path.strip_prefix(dir).map_err(|_| "cannot be read here")?;
            out.push((
                rel.to_string_lossy().into_owned(),
                std::fs::read(&path).map_err(unreadable)?,
            ));
        }
    }
    out.sort();
    if visible { Ok(out) } else { Err("holds no files (hidden ones aside)") }
}

/// A service's use of a config or secret: one file, mounted where compose puts it.
fn file_ref(ctx: &mut Ctx, svc: &Service, kind: Kind, r: &FileRef, pod: &mut PodStorage) -> Value {
    let (obj, key) = ctx
        .file_objects
        .get(&(kind, r.source.clone()))
        .cloned()
        .unwrap_or_else(|| (names::label(&r.source), names::data_key(&r.source)));
    let target = match (kind, r.target.as_deref()) {
        (Kind::Secret, None) => format!("/run/secrets/{}", r.source),
        (Kind::Secret, Some(t)) if !t.starts_with('/') => format!("/run/secrets/{t}"),
        (Kind::Config, None) => format!("/{}", r.source),
        (Kind::Config, Some(t)) if !t.starts_with('/') => format!("/{t}"),
        (_, Some(t)) => t.to_string(),
    };
    if r.uid.is_some() || r.gid.is_some() {
        ctx.note(format!(
            "service {}: the uid and gid of {} are left out; Kubernetes mounts it as the pod's fsGroup says",
            svc.name, r.source
        ));
    }
    let mut item = json!({"key": key, "path": key});
    if let Some(mode) = r.mode {
        item["mode"] = mode.into();
    }
    let (field, name_key) =
        if kind == Kind::Secret { ("secret", "secretName") } else { ("configMap", "name") };
    let source = format!("{field}:{}:{}", r.source, r.mode.unwrap_or(0));
    let name =
        pod.volume(&source, &r.source, |_| json!({ field: {name_key: obj, "items": [item]} }));
    json!({"name": name, "mountPath": target, "subPath": key, "readOnly": true})
}
