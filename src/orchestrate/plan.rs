//! What `up` must do, decided from the files and what the engine has, with
//! no engine in reach: a pure function from the project, the containers
//! observed, the images' ids and the options to a list of operations per
//! service, in dependency order. The executor carries it out; the tests
//! below read plans as text, as docker compose's `reconcile_test.go` does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::observe::Observed;
use crate::compose::Project;
use crate::compose::graph::DepGraph;
use crate::compose::model::{Condition, Service};
use crate::engine::{config_hash, spec};

/// When an existing container is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recreate {
    /// When its configuration or image changed (docker compose's default).
    #[default]
    Diverged,
    /// Always (`--force-recreate`).
    Always,
    /// Never (`--no-recreate`).
    Never,
}

/// The choices of `up` that planning depends on.
#[derive(Debug, Clone, Copy)]
pub struct UpOptions {
    pub recreate: Recreate,
    /// Start what is made and what is stopped (not `--no-start`).
    pub start: bool,
    pub remove_orphans: bool,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions { recreate: Recreate::Diverged, start: true, remove_orphans: false }
    }
}

/// Why a container is made again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    Config,
    Image,
    /// It has another name than the file gives it now.
    Name,
    Forced,
    /// It joins a container of this service that this run makes anew.
    Joins(String),
}

/// Why a container goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Its service is no longer in the files.
    Orphan,
    /// Its number is above the service's scale.
    ScaledDown,
    /// A second container with the same number.
    Duplicate,
}

/// One operation on one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        number: u32,
        name: String,
    },
    Recreate {
        number: u32,
        name: String,
        old: String,
        why: Why,
    },
    Start {
        number: u32,
        name: String,
        id: String,
    },
    /// Stopped and started again: a dependency it follows (`restart: true`) was renewed.
    Restart {
        number: u32,
        name: String,
        id: String,
        after: String,
    },
    /// Left as it is.
    Keep {
        number: u32,
        name: String,
        id: String,
        running: bool,
    },
    Remove {
        name: String,
        id: String,
        why: Removal,
    },
}

impl Op {
    /// The container number the op leaves in place, if any.
    pub fn number(&self) -> Option<u32> {
        match self {
            Op::Create { number, .. } | Op::Recreate { number, .. } | Op::Start { number, .. } => {
                Some(*number)
            }
            Op::Restart { number, .. } | Op::Keep { number, .. } => Some(*number),
            Op::Remove { .. } => None,
        }
    }

    /// Whether the op makes a new container or restarts one (what
    /// `restart: true` dependents and joined namespaces follow).
    pub fn renews(&self) -> bool {
        matches!(self, Op::Recreate { .. } | Op::Restart { .. })
    }

    fn makes_new(&self) -> bool {
        matches!(self, Op::Create { .. } | Op::Recreate { .. })
    }
}

/// What happens to one service: the conditions its dependencies must meet
/// first, then the operations on its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub service: String,
    pub waits: Vec<(String, Condition)>,
    pub ops: Vec<Op>,
}

/// What `up` does, in dependency order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Containers of services no longer in the files: removed with
    /// `--remove-orphans`, else only named in a warning.
    pub orphans: Vec<Op>,
    pub orphans_kept: Vec<String>,
    pub steps: Vec<Step>,
    /// nginx services the built-in proxy serves, started last.
    pub proxies: Vec<String>,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "service {service}: it joins the container of service {other:?}, which has none\n  hint: start {other} first"
    )]
    JoinsNothing { service: String, other: String },
}

/// What planning reads: the project, what runs, the images, and which
/// services converge.
pub struct Situation<'a> {
    pub project: &'a Project,
    /// Services whose containers converge (the built-in proxies aside).
    pub targets: &'a BTreeSet<String>,
    pub observed: &'a [Observed],
    /// Image ids by image name, as the engine has them after building and pulling.
    pub image_ids: &'a HashMap<String, Option<String>>,
    /// Container ports published on loopback for the built-in proxy, by service.
    pub loopback_ports: &'a HashMap<String, Vec<u16>>,
    pub proxies: &'a [String],
}

/// What a service's containers must be.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The service as its containers are made: joined namespaces resolved
    /// to the containers they join.
    pub service: Service,
    pub hash: String,
    pub image: String,
    pub image_id: Option<String>,
}

/// The first container of each service, by number.
fn first_containers(observed: &[Observed]) -> BTreeMap<&str, &Observed> {
    let mut out: BTreeMap<&str, &Observed> = BTreeMap::new();
    for c in observed {
        let e = out.entry(c.service.as_str()).or_insert(c);
        if c.number < e.number {
            *e = c;
        }
    }
    out
}

/// The service as its containers are made and hashed, given the container
/// ids of the services whose namespaces or volumes it joins.
pub fn desired(
    project: &Project,
    name: &str,
    joined: &BTreeMap<String, String>,
    s: &Situation<'_>,
) -> Desired {
    let declared = &project.services[name];
    // docker compose hashes and creates with the modes resolved: a new
    // container to join is a new hash, and so a new container here too.
    let (service, hashed) = if joined.is_empty() {
        (declared.clone(), config_hash::config_hash(declared))
    } else {
        (
            declared.with_joined(joined, false),
            config_hash::config_hash(&declared.with_joined(joined, true)),
        )
    };
    // Ports published for the proxy are part of what the container is.
    let hash = match s.loopback_ports.get(name).filter(|p| !p.is_empty()) {
        Some(ports) => {
            format!("{hashed}-{}", ports.iter().map(u16::to_string).collect::<Vec<_>>().join("."))
        }
        None => hashed,
    };
    let image = project.image_for(&service);
    let image_id = s.image_ids.get(&image).cloned().flatten();
    Desired { service, hash, image, image_id }
}

/// Plans `up` for the targets.
pub fn up(s: &Situation<'_>, o: UpOptions) -> Result<Plan, PlanError> {
    let project = s.project;
    let mut plan = Plan { proxies: s.proxies.to_vec(), ..Plan::default() };
    for c in s.observed {
        let known =
            project.services.contains_key(&c.service) || project.disabled.contains_key(&c.service);
        if known {
            continue;
        }
        if o.remove_orphans {
            plan.orphans.push(Op::Remove {
                name: c.name.clone(),
                id: c.id.clone(),
                why: Removal::Orphan,
            });
        } else {
            plan.orphans_kept.push(c.name.clone());
        }
    }
    let firsts = first_containers(s.observed);
    let graph = DepGraph::new(&project.services);
    // Services in dependency order, with what each step renews and makes.
    let mut renewed: BTreeSet<String> = BTreeSet::new();
    let mut made_new: BTreeSet<String> = BTreeSet::new();
    for name in graph.levels(s.targets).concat() {
        let declared = &project.services[&name];
        let mut joined = BTreeMap::new();
        let mut joins_new = None;
        for other in declared.joined_services() {
            match firsts.get(other) {
                Some(c) => {
                    joined.insert(other.to_string(), c.id.clone());
                }
                // Made by this run: its id is known when it exists.
                None if s.targets.contains(other) => {}
                None => {
                    return Err(PlanError::JoinsNothing {
                        service: name.clone(),
                        other: other.to_string(),
                    });
                }
            }
            if made_new.contains(other) {
                joins_new = Some(other.to_string());
            }
        }
        let want = desired(project, &name, &joined, s);
        let follows = declared
            .depends_on
            .iter()
            .find(|(dep, d)| d.restart && renewed.contains(*dep))
            .map(|(dep, _)| dep.clone());
        let ops = service_ops(project, &name, &want, s.observed, o, joins_new, follows);
        if ops.iter().any(Op::renews) {
            renewed.insert(name.clone());
        }
        if ops.iter().any(|op| op.makes_new() && op.number() == Some(1)) {
            made_new.insert(name.clone());
        }
        let waits = if o.start {
            declared
                .depends_on
                .iter()
                .filter(|(_, d)| d.condition != Condition::ServiceStarted)
                .map(|(dep, d)| (dep.clone(), d.condition))
                .collect()
        } else {
            Vec::new()
        };
        plan.steps.push(Step { service: name, waits, ops });
    }
    Ok(plan)
}

/// The operations that make one service's containers match `want`.
fn service_ops(
    project: &Project,
    name: &str,
    want: &Desired,
    observed: &[Observed],
    o: UpOptions,
    joins_new: Option<String>,
    follows: Option<String>,
) -> Vec<Op> {
    let wanted = want.service.replicas();
    let mut mine: Vec<&Observed> = observed.iter().filter(|c| c.service == name).collect();
    mine.sort_by_key(|c| c.number);
    // Each wanted number keeps its container; the others go.
    let mut by_number: BTreeMap<u32, &Observed> = BTreeMap::new();
    let mut ops = Vec::new();
    for c in mine {
        if (1..=wanted).contains(&c.number) && !by_number.contains_key(&c.number) {
            by_number.insert(c.number, c);
        } else {
            let why = if c.number > wanted { Removal::ScaledDown } else { Removal::Duplicate };
            ops.push(Op::Remove { name: c.name.clone(), id: c.id.clone(), why });
        }
    }
    for number in 1..=wanted {
        let cname = spec::replica_name(project, &want.service, number);
        let Some(c) = by_number.get(&number) else {
            ops.push(Op::Create { number, name: cname });
            continue;
        };
        let why = if o.recreate == Recreate::Always {
            Some(Why::Forced)
        } else if o.recreate == Recreate::Never {
            None
        } else if let Some(dep) = &joins_new {
            Some(Why::Joins(dep.clone()))
        } else if c.hash.as_deref() != Some(want.hash.as_str()) {
            Some(Why::Config)
        } else if c.name != cname {
            Some(Why::Name)
        } else if want.image_id.is_some() && c.image_id != want.image_id {
            Some(Why::Image)
        } else {
            None
        };
        let (id, running) = (c.id.clone(), c.is_running());
        ops.push(match (why, &follows) {
            (Some(why), _) => Op::Recreate { number, name: cname, old: id, why },
            (None, Some(dep)) if running && o.start => {
                Op::Restart { number, name: cname, id, after: dep.clone() }
            }
            (None, _) if !running && o.start => Op::Start { number, name: cname, id },
            (None, _) => Op::Keep { number, name: cname, id, running },
        });
    }
    ops
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Config => write!(f, "its configuration changed"),
            Why::Image => write!(f, "its image changed"),
            Why::Name => write!(f, "its name changed"),
            Why::Forced => write!(f, "--force-recreate"),
            Why::Joins(s) => write!(f, "it joins a new container of {s}"),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Create { name, .. } => write!(f, "{name}: create"),
            Op::Recreate { name, why, .. } => write!(f, "{name}: recreate ({why})"),
            Op::Start { name, .. } => write!(f, "{name}: start"),
            Op::Restart { name, after, .. } => write!(f, "{name}: restart (after {after})"),
            Op::Keep { name, running: true, .. } => write!(f, "{name}: keep running"),
            Op::Keep { name, running: false, .. } => write!(f, "{name}: keep stopped"),
            Op::Remove { name, why, .. } => {
                let why = match why {
                    Removal::Orphan => "orphan",
                    Removal::ScaledDown => "scaled down",
                    Removal::Duplicate => "duplicate number",
                };
                write!(f, "{name}: remove ({why})")
            }
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for op in &self.orphans {
            writeln!(f, "{op}")?;
        }
        for name in &self.orphans_kept {
            writeln!(f, "{name}: orphan, left (warning)")?;
        }
        for step in &self.steps {
            for (dep, cond) in &step.waits {
                writeln!(f, "{}: wait for {dep} to be {}", step.service, cond.goal())?;
            }
            for op in &step.ops {
                writeln!(f, "{op}")?;
            }
        }
        for p in &self.proxies {
            writeln!(f, "{p}: start the built-in proxy")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::model::Dependency;
    use crate::orchestrate::observe::State;

    /// A dependency as (service, condition, restart).
    type Dep<'a> = (&'a str, Condition, bool);

    fn project(services: &[(&str, &[Dep])]) -> Project {
        let mut p = Project { name: "p".into(), working_dir: "/p".into(), ..Default::default() };
        for (name, deps) in services {
            let mut s = Service {
                name: name.to_string(),
                image: Some(format!("img/{name}")),
                ..Default::default()
            };
            for (dep, condition, restart) in deps.iter() {
                s.depends_on.insert(
                    dep.to_string(),
                    Dependency { condition: *condition, restart: *restart, required: true },
                );
            }
            p.services.insert(name.to_string(), s);
        }
        p
    }

    /// A container made for the service as the file has it now.
    fn current(p: &Project, service: &str, number: u32, state: State) -> Observed {
        let s = &p.services[service];
        Observed {
            id: format!("{service}{number}"),
            name: spec::replica_name(p, s, number),
            service: service.into(),
            number,
            hash: Some(config_hash::config_hash(s)),
            image_id: Some(format!("sha256:{service}")),
            state,
        }
    }

    fn images(p: &Project) -> HashMap<String, Option<String>> {
        p.services.values().map(|s| (p.image_for(s), Some(format!("sha256:{}", s.name)))).collect()
    }

    fn plan_with(
        p: &Project,
        observed: &[Observed],
        ids: &HashMap<String, Option<String>>,
        o: UpOptions,
    ) -> String {
        let targets: BTreeSet<String> = p.services.keys().cloned().collect();
        let ports = HashMap::new();
        let s = Situation {
            project: p,
            targets: &targets,
            observed,
            image_ids: ids,
            loopback_ports: &ports,
            proxies: &[],
        };
        up(&s, o).unwrap().to_string()
    }

    fn plan(p: &Project, observed: &[Observed], o: UpOptions) -> String {
        plan_with(p, observed, &images(p), o)
    }

    #[test]
    fn a_new_project_is_created_in_dependency_order_with_waits() {
        let p = project(&[
            ("db", &[]),
            ("web", &[("db", Condition::ServiceHealthy, false)]),
            ("job", &[]),
        ]);
        assert_eq!(
            plan(&p, &[], UpOptions::default()),
            "p-db-1: create\np-job-1: create\nweb: wait for db to be healthy\np-web-1: create\n"
        );
        // --no-start: made, not started, nothing waited for.
        assert_eq!(
            plan(&p, &[], UpOptions { start: false, ..Default::default() }),
            "p-db-1: create\np-job-1: create\np-web-1: create\n"
        );
    }

    #[test]
    fn unchanged_containers_are_left_and_stopped_ones_started() {
        let p = project(&[("db", &[]), ("web", &[("db", Condition::ServiceStarted, false)])]);
        let running = [current(&p, "db", 1, State::Running), current(&p, "web", 1, State::Stopped)];
        assert_eq!(
            plan(&p, &running, UpOptions::default()),
            "p-db-1: keep running\np-web-1: start\n"
        );
        assert_eq!(
            plan(&p, &running, UpOptions { start: false, ..Default::default() }),
            "p-db-1: keep running\np-web-1: keep stopped\n"
        );
    }

    #[test]
    fn a_changed_configuration_or_image_recreates_and_the_flags_override() {
        let p = project(&[("web", &[])]);
        let mut old = current(&p, "web", 1, State::Running);
        old.hash = Some("older".into());
        assert_eq!(
            plan(&p, &[old.clone()], UpOptions::default()),
            "p-web-1: recreate (its configuration changed)\n"
        );
        assert_eq!(
            plan(&p, &[old], UpOptions { recreate: Recreate::Never, ..Default::default() }),
            "p-web-1: keep running\n"
        );
        let same = current(&p, "web", 1, State::Running);
        let mut rebuilt = images(&p);
        rebuilt.insert("img/web".into(), Some("sha256:new".into()));
        assert_eq!(
            plan_with(&p, std::slice::from_ref(&same), &rebuilt, UpOptions::default()),
            "p-web-1: recreate (its image changed)\n"
        );
        assert_eq!(
            plan(&p, &[same], UpOptions { recreate: Recreate::Always, ..Default::default() }),
            "p-web-1: recreate (--force-recreate)\n"
        );
    }

    #[test]
    fn scaling_up_and_down_keeps_the_lowest_numbers() {
        let mut p = project(&[("worker", &[])]);
        p.services.get_mut("worker").unwrap().scale = Some(3);
        let one = [current(&p, "worker", 1, State::Running)];
        assert_eq!(
            plan(&p, &one, UpOptions::default()),
            "p-worker-1: keep running\np-worker-2: create\np-worker-3: create\n"
        );
        let five: Vec<Observed> =
            (1..=5).map(|n| current(&p, "worker", n, State::Running)).collect();
        p.services.get_mut("worker").unwrap().scale = Some(2);
        // The hash is the service's, scale included: the survivors match again after rehashing.
        let five: Vec<Observed> = five
            .into_iter()
            .map(|mut c| {
                c.hash = Some(config_hash::config_hash(&p.services["worker"]));
                c
            })
            .collect();
        assert_eq!(
            plan(&p, &five, UpOptions::default()),
            "p-worker-3: remove (scaled down)\np-worker-4: remove (scaled down)\np-worker-5: remove (scaled down)\np-worker-1: keep running\np-worker-2: keep running\n"
        );
    }

    #[test]
    fn orphans_are_named_or_removed() {
        let p = project(&[("web", &[])]);
        let mut gone = current(&p, "web", 1, State::Running);
        gone.service = "old".into();
        gone.name = "p-old-1".into();
        let observed = [gone, current(&p, "web", 1, State::Running)];
        assert_eq!(
            plan(&p, &observed, UpOptions::default()),
            "p-old-1: orphan, left (warning)\np-web-1: keep running\n"
        );
        assert_eq!(
            plan(&p, &observed, UpOptions { remove_orphans: true, ..Default::default() }),
            "p-old-1: remove (orphan)\np-web-1: keep running\n"
        );
    }

    #[test]
    fn a_renewed_dependency_restarts_those_that_follow_it() {
        let p = project(&[
            ("db", &[]),
            ("api", &[("db", Condition::ServiceStarted, true)]),
            ("web", &[("db", Condition::ServiceStarted, false)]),
        ]);
        let mut db = current(&p, "db", 1, State::Running);
        db.hash = Some("older".into());
        let observed =
            [db, current(&p, "api", 1, State::Running), current(&p, "web", 1, State::Running)];
        assert_eq!(
            plan(&p, &observed, UpOptions::default()),
            "p-db-1: recreate (its configuration changed)\np-api-1: restart (after db)\np-web-1: keep running\n"
        );
    }

    #[test]
    fn joined_namespaces_follow_their_container() {
        let mut p = project(&[("vpn", &[]), ("app", &[("vpn", Condition::ServiceStarted, false)])]);
        p.services.get_mut("app").unwrap().network_mode = Some("service:vpn".into());
        let vpn = current(&p, "vpn", 1, State::Running);
        // The app's container was made to join vpn's current container.
        let joined = BTreeMap::from([("vpn".to_string(), vpn.id.clone())]);
        let mut app = current(&p, "app", 1, State::Running);
        app.hash = Some(config_hash::config_hash(&p.services["app"].with_joined(&joined, true)));
        assert_eq!(
            plan(&p, &[vpn.clone(), app.clone()], UpOptions::default()),
            "p-vpn-1: keep running\np-app-1: keep running\n"
        );
        let mut new_vpn = vpn;
        new_vpn.hash = Some("older".into());
        assert_eq!(
            plan(&p, &[new_vpn, app], UpOptions::default()),
            "p-vpn-1: recreate (its configuration changed)\np-app-1: recreate (it joins a new container of vpn)\n"
        );
        // Joining a service outside this run that has no container cannot be planned.
        let targets: BTreeSet<String> = ["app".to_string()].into();
        let (ids, ports) = (images(&p), HashMap::new());
        let s = Situation {
            project: &p,
            targets: &targets,
            observed: &[],
            image_ids: &ids,
            loopback_ports: &ports,
            proxies: &[],
        };
        assert_eq!(
            up(&s, UpOptions::default()).unwrap_err(),
            PlanError::JoinsNothing { service: "app".into(), other: "vpn".into() }
        );
    }

    #[test]
    fn only_the_targets_converge_and_the_proxies_start_last() {
        let p = project(&[
            ("db", &[]),
            ("web", &[("db", Condition::ServiceHealthy, false)]),
            ("nginx", &[("web", Condition::ServiceHealthy, false)]),
        ]);
        // `up --no-deps web`: web alone.
        let targets: BTreeSet<String> = ["web".to_string()].into();
        let (ids, ports) = (images(&p), HashMap::new());
        let proxies = ["nginx".to_string()];
        let s = Situation {
            project: &p,
            targets: &targets,
            observed: &[],
            image_ids: &ids,
            loopback_ports: &ports,
            proxies: &proxies,
        };
        assert_eq!(
            up(&s, UpOptions::default()).unwrap().to_string(),
            "web: wait for db to be healthy\np-web-1: create\nnginx: start the built-in proxy\n"
        );
    }

    #[test]
    fn a_one_shot_job_that_exited_is_started_again() {
        // As docker compose: an exited container of an unchanged service starts again.
        let p = project(&[
            ("migrate", &[]),
            ("api", &[("migrate", Condition::ServiceCompletedSuccessfully, false)]),
        ]);
        let observed =
            [current(&p, "migrate", 1, State::Stopped), current(&p, "api", 1, State::Running)];
        assert_eq!(
            plan(&p, &observed, UpOptions::default()),
            "p-migrate-1: start\napi: wait for migrate to be completed\np-api-1: keep running\n"
        );
    }
}
