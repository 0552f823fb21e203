//! What `stack deploy` will ask of the swarm, as a pure function of the
//! project: the Engine API's own JSON for each network, config, secret and
//! service, and the order services start in. Tested as text, without an engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use super::spec::{self, NAMESPACE};
use crate::compose::Project;
use crate::compose::graph::DepGraph;
use crate::compose::model::{Condition, MountType, Service};
use crate::engine::config_hash::sha256_hex as sha256;
use crate::orchestrate::builtin::templates;

/// The largest file a swarm config holds.
const MAX_CONFIG: u64 = 500 * 1024;

/// How a deployment is made.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub stack: String,
    /// The image of rcompose's proxy, for the nginx services it serves; `None`: run nginx.
    pub proxy_image: Option<String>,
    /// The kernel has no IPVS: services resolve by DNS round robin and
    /// publish on the node, as a swarm without IPVS can.
    pub dnsrr: bool,
    /// Images built here are pushed to this registry and run from it.
    pub registry: Option<String>,
}

/// A config or secret to make: its name, labels, data and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Blob {
    pub name: String,
    pub data: Vec<u8>,
}

/// One service: its name and spec, and what its dependents wait for.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub service: String,
    pub name: String,
    pub spec: Value,
    /// The strictest condition a dependent waits for; `None`: nobody waits.
    pub wait: Option<Condition>,
    /// The spec's hash, also on its containers' labels.
    pub hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct StackPlan {
    pub stack: String,
    pub networks: Vec<(String, Value)>,
    pub configs: Vec<Blob>,
    pub secrets: Vec<Blob>,
    /// Services by dependency level: each level waits for the one before.
    pub levels: Vec<Vec<ServicePlan>>,
    /// Images built here, and the name they run under in the swarm.
    pub builds: Vec<(String, String)>,
    pub notes: Vec<String>,
}

/// Plans the stack; reads the files configs, secrets and the proxy's mounts name.
pub fn plan(project: &Project, opts: &PlanOptions) -> Result<StackPlan, String> {
    let mut p = StackPlan { stack: opts.stack.clone(), ..Default::default() };
    for (key, net) in &project.networks {
        if net.external || !used_network(project, key) {
            continue;
        }
        let driver = match net.driver.as_deref() {
            None | Some("bridge" | "overlay") => "overlay",
            Some(other) => other,
        };
        if net.driver.as_deref() == Some("bridge") {
            p.notes.push(format!(
                "network {key}: a bridge is one node's; in the swarm it is an overlay"
            ));
        }
        let mut labels = json!(net.labels);
        labels[NAMESPACE] = opts.stack.clone().into();
        let mut body = json!({"Name": net.name, "Driver": driver, "Labels": labels,
                              "Attachable": net.attachable, "Internal": net.internal});
        if !net.driver_opts.is_empty() {
            body["Options"] = json!(net.driver_opts);
        }
        p.networks.push((net.name.clone(), body));
    }
    for (kind, table, out) in
        [("config", &project.configs, &mut p.configs), ("secret", &project.secrets, &mut p.secrets)]
    {
        for (key, obj) in table.iter().filter(|(k, o)| !o.external && used_file(project, kind, k)) {
            let data = match (&obj.file, obj.contents()) {
                (Some(f), _) => {
                    std::fs::read(f).map_err(|e| format!("{kind} {key}: cannot read {f}: {e}"))?
                }
                (None, Some(t)) => t.as_bytes().to_vec(),
                (None, None) => Vec::new(),
            };
            out.push(Blob { name: obj.name.clone(), data });
        }
    }
    let waits = waited_conditions(project);
    let all: BTreeSet<String> = project.services.keys().cloned().collect();
    for level in DepGraph::new(&project.services).levels(&all) {
        let mut plans = Vec::new();
        for name in level {
            let svc = &project.services[&name];
            let (mut spec, extra) = service_spec(project, svc, opts, &mut p)?;
            p.configs.extend(extra);
            let hash = sha256(serde_json::to_string(&spec).unwrap_or_default().as_bytes());
            spec["TaskTemplate"]["ContainerSpec"]["Labels"][spec::SPEC_HASH] = hash.clone().into();
            plans.push(ServicePlan {
                service: name.clone(),
                name: format!("{}_{name}", opts.stack),
                spec,
                wait: waits.get(&name).copied(),
                hash,
            });
        }
        p.levels.push(plans);
    }
    Ok(p)
}

fn service_spec(
    project: &Project,
    svc: &Service,
    opts: &PlanOptions,
    p: &mut StackPlan,
) -> Result<(Value, Vec<Blob>), String> {
    let proxied = opts.proxy_image.is_some()
        && crate::orchestrate::builtin::select::is_builtin_proxy(svc, false);
    let mut image = project.image_for(svc);
    if svc.build.is_some() {
        let runs_as = match &opts.registry {
            // The registry the name says gives way to the one asked for.
            Some(r) => {
                let path = match image.split_once('/') {
                    Some((_, rest)) if spec::names_registry(&image) => rest,
                    _ => image.as_str(),
                };
                format!("{}/{path}", r.trim_end_matches('/'))
            }
            None => image.clone(),
        };
        p.builds.push((svc.name.clone(), runs_as.clone()));
        image = runs_as;
    }
    let mut extra = Vec::new();
    if proxied {
        image = opts.proxy_image.clone().unwrap_or_default();
        extra = proxy_files(svc, &opts.stack)?;
        p.notes.push(format!(
            "service {}: served by rcompose's proxy in a container ({image}), its files as swarm configs",
            svc.name
        ));
    }
    let mut s = spec::service(project, svc, &opts.stack, &image, opts.dnsrr, &mut p.notes)?;
    if proxied {
        let c = &mut s["TaskTemplate"]["ContainerSpec"];
        c["Args"] = json!(["proxy", "-c", "/etc/nginx/nginx.conf"]);
        if let Some(o) = c.as_object_mut() {
            o.remove("Command");
            o.remove("Mounts");
        }
        let refs: Vec<Value> = extra
            .iter()
            .map(|(b, target)| {
                json!({"File": {"Name": target, "UID": "0", "GID": "0", "Mode": 0o444},
                                      "ConfigName": b.name})
            })
            .collect();
        c["Configs"] = refs.into();
    }
    Ok((s, extra.into_iter().map(|(b, _)| b).collect()))
}

/// The proxy's bind-mounted files as configs, named by their contents
/// (a swarm config cannot change), each with where it is mounted.
fn proxy_files(svc: &Service, stack: &str) -> Result<Vec<(Blob, String)>, String> {
    let dirs = templates::Dirs::of(svc);
    let mut out = Vec::new();
    for m in svc.volumes.iter().filter(|m| m.kind == MountType::Bind) {
        let Some(source) = m.source.as_deref() else { continue };
        let mut files = Vec::new();
        // The image renders its templates before nginx starts; rcompose's
        // proxy image has no such step, so they travel rendered.
        let rendered = tempfile::tempdir().map_err(|e| e.to_string())?;
        if m.target.trim_end_matches('/') == dirs.templates.trim_end_matches('/')
            && Path::new(source).is_dir()
        {
            templates::render(svc, &dirs, Path::new(source), rendered.path())
                .map_err(|e| format!("service {}: {e}", svc.name))?;
            collect(rendered.path(), &dirs.output, &mut files)?;
        } else {
            collect(Path::new(source), &m.target, &mut files)?;
        }
        for (path, target) in files {
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if len > MAX_CONFIG {
                return Err(format!(
                    "service {}: {} is {len} bytes, over the 500 KiB a swarm config holds\n  hint: deploy with --no-builtin-proxy to run nginx with its bind mounts",
                    svc.name,
                    path.display()
                ));
            }
            let data = std::fs::read(&path).map_err(|e| {
                format!("service {}: cannot read {}: {e}", svc.name, path.display())
            })?;
            let digest = sha256(&data);
            let name = format!("{stack}_{}_{}", svc.name, &digest[..12]);
            out.push((Blob { name, data }, target));
        }
    }
    Ok(out)
}

fn collect(
    path: &Path,
    target: &str,
    out: &mut Vec<(std::path::PathBuf, String)>,
) -> Result<(), String> {
    if path.is_file() {
        out.push((path.to_path_buf(), target.to_string()));
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .flatten()
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        collect(&e.path(), &format!("{}/{name}", target.trim_end_matches('/')), out)?;
    }
    Ok(())
}

fn used_network(project: &Project, key: &str) -> bool {
    project.services.values().any(|s| s.networks.contains_key(key))
}

fn used_file(project: &Project, kind: &str, key: &str) -> bool {
    project.services.values().any(|s| {
        let refs = if kind == "config" { &s.configs } else { &s.secrets };
        refs.iter().any(|r| r.source == key)
    })
}

/// For each service others depend on, the strictest condition they wait for.
fn waited_conditions(project: &Project) -> BTreeMap<String, Condition> {
    let rank = |c: Condition| match c {
        Condition::ServiceStarted => 0,
        Condition::ServiceCompletedSuccessfully => 1,
        Condition::ServiceHealthy => 2,
    };
    let mut out: BTreeMap<String, Condition> = BTreeMap::new();
    for s in project.services.values() {
        for (dep, d) in &s.depends_on {
            let e = out.entry(dep.clone()).or_insert(d.condition);
            if rank(d.condition) > rank(*e) {
                *e = d.condition;
            }
        }
    }
    out
}

/// The plan as text: one line per action, as `stack deploy` takes them.
pub fn describe(p: &StackPlan) -> String {
    let mut out = String::new();
    for (name, _) in &p.networks {
        out.push_str(&format!("network {name}\n"));
    }
    for b in &p.configs {
        out.push_str(&format!("config {} ({} bytes)\n", b.name, b.data.len()));
    }
    for b in &p.secrets {
        out.push_str(&format!("secret {} ({} bytes)\n", b.name, b.data.len()));
    }
    for (i, level) in p.levels.iter().enumerate() {
        for s in level {
            let wait = s.wait.map_or(String::new(), |c| format!(", then wait until {}", c.goal()));
            out.push_str(&format!(
                "level {i}: service {} image {}{wait}\n",
                s.name,
                s.spec["TaskTemplate"]["ContainerSpec"]["Image"].as_str().unwrap_or("")
            ));
        }
    }
    out
}
