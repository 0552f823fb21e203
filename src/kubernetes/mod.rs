//! `convert --to kubernetes`: the project as Kubernetes manifests, so the
//! compose file a team runs on laptops is also what it applies to a cluster.
//!
//! A pure function of the loaded project and the files it names: it reads
//! bind-mounted files, env files and nginx configurations, and talks to no
//! engine and no cluster. Where compose and Kubernetes differ, the choice
//! made is said in a note, not hidden:
//! - every service is a Deployment, or a StatefulSet when it keeps data in
//!   a volume of its own; a headless Service gives it its compose name, so
//!   other services reach it as they did (any port, all replicas);
//! - published ports are a LoadBalancer Service; the nginx a project runs
//!   in front is an Ingress (`ingress.rs`), plus the nginx itself where its
//!   configuration does more than an Ingress can say;
//! - `depends_on` waits in init containers (`wait.rs`); a one-shot service
//!   others wait to complete runs as an init container of each of them.

mod env;
mod ingress;
mod names;
mod network;
mod storage;
mod wait;
mod workload;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::compose::Project;
use names::Registry;

/// One manifest.
#[derive(Debug, Clone)]
pub struct Object {
    pub kind: &'static str,
    pub name: String,
    pub value: Value,
}

/// The manifests, and what the reader should know about how they were made.
#[derive(Debug, Default)]
pub struct Conversion {
    pub objects: Vec<Object>,
    pub notes: Vec<String>,
}

impl Conversion {
    /// All manifests as one YAML stream, as `kubectl apply -f -` reads it.
    pub fn to_yaml(&self) -> String {
        let docs: Vec<String> = self.objects.iter().map(Object::to_yaml).collect();
        docs.join("---\n")
    }
}

impl Object {
    pub fn to_yaml(&self) -> String {
        yaml::document(&self.value)
    }

    /// The file it is written to in an output folder (`web-deployment.yaml`).
    pub fn file_name(&self) -> String {
        format!("{}-{}.yaml", self.name, self.kind.to_ascii_lowercase())
    }
}

/// The project as manifests.
pub fn convert(project: &Project) -> Result<Conversion, String> {
    let mut ctx = Ctx::new(project)?;
    let sites = ingress::read_sites(&mut ctx)?;
    let oneshots = wait::oneshots(project);
    env::objects(&mut ctx)?;
    storage::top_level(&mut ctx)?;
    for svc in project.services.values() {
        if oneshots.contains(&svc.name) {
            ctx.note(format!(
                "service {}: others wait for it to complete, so it runs as an init container of each of them",
                svc.name
            ));
            continue;
        }
        if sites.iter().any(|s| s.service == svc.name && !s.needs_proxy()) {
            ctx.note(format!(
                "service {}: its nginx.conf only routes to services, so the Ingress takes its place",
                svc.name
            ));
            continue;
        }
        workload::service(&mut ctx, svc, &oneshots)?;
    }
    for site in &sites {
        ingress::emit(&mut ctx, site);
    }
    Ok(ctx.finish())
}

/// What one conversion has made so far.
struct Ctx<'a> {
    project: &'a Project,
    /// Each compose service's name in the cluster.
    names: BTreeMap<String, String>,
    /// Names of workloads and Services.
    workloads: Registry,
    /// Names of ConfigMaps, Secrets and volume claims.
    data: Registry,
    /// Ports an nginx.conf reaches a service on, beyond its `ports` and `expose`.
    proxied_ports: BTreeMap<String, BTreeSet<u16>>,
    /// The object each env file became: (kind, name, variables).
    env_files: BTreeMap<String, env::EnvObject>,
    /// The object each top-level config or secret became: its name and key.
    file_objects: BTreeMap<(storage::Kind, String), (String, String)>,
    /// The ConfigMap or Secret made for each bind-mounted host path.
    bind_objects: BTreeMap<String, String>,
    /// Volumes more than one service mounts: a claim of their own.
    shared_volumes: BTreeSet<String>,
    objects: Vec<Object>,
    notes: Vec<String>,
}

impl<'a> Ctx<'a> {
    fn new(project: &'a Project) -> Result<Ctx<'a>, String> {
        let mut workloads = Registry::default();
        let mut names = BTreeMap::new();
        for name in project.services.keys() {
            names.insert(name.clone(), workloads.claim("service", name)?);
        }
        Ok(Ctx {
            project,
            names,
            workloads,
            data: Registry::default(),
            proxied_ports: BTreeMap::new(),
            env_files: BTreeMap::new(),
            file_objects: BTreeMap::new(),
            bind_objects: BTreeMap::new(),
            shared_volumes: BTreeSet::new(),
            objects: Vec::new(),
            notes: Vec::new(),
        })
    }

    fn name(&self, service: &str) -> String {
        self.names.get(service).cloned().unwrap_or_else(|| names::label(service))
    }

    fn note(&mut self, text: String) {
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }

    fn push(&mut self, kind: &'static str, name: String, value: Value) {
        self.objects.push(Object { kind, name, value });
    }

    /// The labels every object of a service carries; the first two select its pods.
    fn labels(&self, name: &str) -> Value {
        json!({
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": names::label(&self.project.name),
            "app.kubernetes.io/managed-by": "rcompose",
        })
    }

    fn selector(&self, name: &str) -> Value {
        json!({
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": names::label(&self.project.name),
        })
    }

    /// Metadata for an object of the project that no one service owns.
    fn project_meta(&self, name: &str) -> Value {
        json!({
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": names::label(&self.project.name),
                "app.kubernetes.io/managed-by": "rcompose",
            },
        })
    }

    /// The objects in the order `kubectl apply` wants them: data before
    /// what mounts it, Services before what they front.
    fn finish(mut self) -> Conversion {
        const ORDER: &[&str] = &[
            "ConfigMap",
            "Secret",
            "PersistentVolumeClaim",
            "Service",
            "Deployment",
            "StatefulSet",
            "Ingress",
        ];
        let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
        self.objects.sort_by(|a, b| rank(a.kind).cmp(&rank(b.kind)).then(a.name.cmp(&b.name)));
        Conversion { objects: self.objects, notes: self.notes }
    }
}

#[cfg(test)]
mod tests;
