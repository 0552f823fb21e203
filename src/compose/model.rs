//! The normalized project: what would run, after files are merged, values
//! interpolated, short syntax expanded and paths made absolute.
//!
//! Field names and shapes follow what `docker compose config` prints, so that
//! serializing this model is the `config` command's output.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Project {
    pub name: String,
    pub services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, FileObject>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileObject>,
    /// Top-level `x-*` extension keys, passed through as written.
    #[serde(flatten)]
    pub extensions: BTreeMap<String, serde_json::Value>,
    /// The project directory: relative paths in the files are resolved against it.
    #[serde(skip)]
    pub working_dir: PathBuf,
    /// The files the project was read from, in order (labels record them).
    #[serde(skip)]
    pub config_files: Vec<PathBuf>,
    /// Services left out because their profiles are not active.
    #[serde(skip)]
    pub disabled: BTreeMap<String, Service>,
}

impl Project {
    /// The image a service runs: its `image`, or the name compose gives built images.
    pub fn image_for(&self, service: &Service) -> String {
        service.image.clone().unwrap_or_else(|| format!("{}-{}", self.name, service.name))
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Service {
    #[serde(skip)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    /// `false`: `up` in the foreground does not show its output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio_config: Option<Blkio>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    /// Windows' CPU settings, passed on as docker compose passes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// A fraction of CPUs; written as a whole number when it is one, as Go does.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_go_float")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    /// Only `resources` is acted on outside swarm, as docker compose acts on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    /// Rules for the device cgroup (`c 1:3 mr`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Option<String>>,
    /// The variables of `environment` whose value came from an `env_file`,
    /// with that file's path: a cluster keeps such a file as one object.
    #[serde(skip)]
    pub env_file_vars: BTreeMap<String, String>,
    /// The `env_file`s read, in order (a later one wins).
    #[serde(skip)]
    pub env_files: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// `CONTAINER[:ALIAS]`: containers outside the project, reached by an alias.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    /// `gpus: all` is one request for every GPU (`count: -1`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<DeviceRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The `label_file`s, as absolute paths: their labels are in `labels`
    /// already, but docker compose hashes the list too (not printed by `config`).
    #[serde(skip)]
    pub label_file: Vec<String>,
    /// `SERVICE[:ALIAS]`: legacy links, a dependency plus an alias only this service resolves.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// The container's MAC address on its network (the engine's container-wide setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Sizes in bytes, as decimal strings (`-1` is unlimited swap), as docker compose prints them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_swappiness: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<String>,
    /// `host`, `none`, `bridge`, `container:NAME` or `service:NAME`; with it, `networks` is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// Attached networks; `None` is an attachment with no options (`default: null`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Option<ServiceNetwork>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub oom_kill_disable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// Commands run in the container once it has started (`post_start`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<Hook>,
    /// `develop` (what `docker compose watch` follows): printed and hashed
    /// as docker compose does; `rcompose watch` follows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub develop: Option<Develop>,
    /// Commands run in the running container before it is stopped (`pre_stop`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<Hook>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// How many containers the service runs (`scale`; see [`Service::replicas`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_go_duration")]
    pub stop_grace_period: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// Passed to the engine as docker compose passes them; engines before
    /// API 1.43 (this machine's is 1.41) drop them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Storage driver options (`size: 1G`), as the engine takes them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: BTreeMap<String, String>,
    /// `PATH[:OPTIONS]` each, as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// rcompose's own settings for the service (`x-rcompose`).
    #[serde(rename = "x-rcompose", skip_serializing_if = "Option::is_none")]
    pub x_rcompose: Option<RcomposeExt>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RcomposeExt {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builtin_proxy: Option<bool>,
}

/// A command run in a service's container (`post_start`, `pre_stop`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Hook {
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Develop {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<WatchRule>,
}

/// One `develop.watch` entry, in compose-go's order; `path` is absolute.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WatchRule {
    pub path: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<Hook>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub initial_sync: bool,
}

/// A host device made available in the container.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Device {
    pub source: String,
    pub target: String,
    pub permissions: String,
}

/// `blkio_config`. compose-go gives the devices' fields no JSON names, so
/// `config` and the config-hash write them capitalized; so does rcompose.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Blkio {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<WeightDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_bps: Vec<Throttle>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_iops: Vec<Throttle>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_bps: Vec<Throttle>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_iops: Vec<Throttle>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct WeightDevice {
    pub path: String,
    pub weight: u16,
}

/// A rate limit on a device: bytes or operations per second, as a decimal string.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Throttle {
    pub path: String,
    pub rate: String,
}

/// A request for devices from a driver (`gpus`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DeviceRequest {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// `deploy`, as much of it as applies to one engine.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Deploy {
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// Always written, as compose-go writes this struct.
    pub placement: Placement,
    /// The swarm keys (`replicas`, `restart_policy`, ...): except for those two,
    /// warned about and not acted on, but kept as written for `config` and the config-hash, so that
    /// docker compose and rcompose agree on what the service is.
    #[serde(flatten)]
    pub swarm: BTreeMap<String, serde_json::Value>,
    /// `replicas`, also kept in `swarm` as written.
    #[serde(skip)]
    pub replicas: Option<u32>,
    /// `restart_policy` as the engine's restart policy (`on-failure:3`), made at load.
    #[serde(skip)]
    pub restart: Option<String>,
}

/// For a swarm only (warned about), but printed and hashed as compose-go
/// does, so that both tools see the same service.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Placement {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preferences: Vec<PlacementPreference>,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_replicas_per_node: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PlacementPreference {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub spread: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Resource>,
}

impl Resources {
    fn is_empty(&self) -> bool {
        self.limits.is_none() && self.reservations.is_none()
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Resource {
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_go_float")]
    pub cpus: Option<f64>,
    /// Bytes, as a decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

/// The log driver and its options.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl Service {
    /// How many containers it runs: `scale`, else `deploy.replicas`, else one
    /// (the two must agree when both are given; checked at load).
    pub fn replicas(&self) -> u32 {
        self.scale.or_else(|| self.deploy.as_ref().and_then(|d| d.replicas)).unwrap_or(1)
    }

    /// The restart policy the container gets: `deploy.restart_policy` when
    /// given (docker compose lets it win over `restart`), else `restart`.
    pub fn restart_policy(&self) -> Option<RestartPolicy> {
        let text =
            self.deploy.as_ref().and_then(|d| d.restart.as_deref()).or(self.restart.as_deref())?;
        text.parse().ok()
    }

    /// When its image is pulled (or built), as `pull_policy` says.
    pub fn pull(&self) -> PullPolicy {
        match self.pull_policy.as_deref() {
            Some("always") => PullPolicy::Always,
            Some("never") => PullPolicy::Never,
            Some("build") => PullPolicy::Build,
            // daily, weekly, every_<duration> pull when the image is older; missing ones are pulled.
            _ => PullPolicy::Missing,
        }
    }

    /// A healthcheck in the file that is not turned off: `--wait` waits
    /// for it to be healthy (one only the image has is not known here).
    pub fn has_healthcheck(&self) -> bool {
        self.healthcheck.as_ref().is_some_and(|h| {
            !h.disable
                && h.test.as_ref().is_none_or(|t| t.first().map(String::as_str) != Some("NONE"))
        })
    }

    /// The services whose containers this one joins: `network_mode`, `ipc` or
    /// `pid` as `service:NAME`, and the services in `volumes_from`.
    pub fn joined_services(&self) -> Vec<&str> {
        let modes = [&self.network_mode, &self.ipc, &self.pid]
            .into_iter()
            .filter_map(|m| m.as_deref().and_then(|m| Join::of(m).service()));
        let mut out: Vec<&str> =
            modes.chain(self.volumes_from.iter().filter_map(|v| volumes_from_service(v))).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The service with each reference to another service made a reference to
    /// its container, given the container id of each joined service:
    /// `service:NAME` modes become `container:ID`, and `volumes_from` entries
    /// the container's id (with `container:` dropped from the others).
    /// docker compose hashes `volumes_from` without the entries' `:ro`/`:rw`
    /// (`for_hash`), and creates the container with the same list; rcompose
    /// keeps the mode written when creating, so `db:ro` stays read-only.
    pub fn with_joined(&self, ids: &BTreeMap<String, String>, for_hash: bool) -> Service {
        let resolve = |m: &Option<String>| {
            m.as_ref().map(|m| match Join::of(m).service().and_then(|s| ids.get(s)) {
                Some(id) => format!("container:{id}"),
                None => m.clone(),
            })
        };
        let volumes_from = self
            .volumes_from
            .iter()
            .map(|v| match volumes_from_service(v).and_then(|s| ids.get(s)) {
                Some(id) => match v.split_once(':') {
                    Some((_, mode)) if !for_hash => format!("{id}:{mode}"),
                    _ => id.clone(),
                },
                None => match Join::of(v) {
                    Join::Container(c) => c.to_string(),
                    _ => v.clone(),
                },
            })
            .collect();
        Service {
            network_mode: resolve(&self.network_mode),
            ipc: resolve(&self.ipc),
            pid: resolve(&self.pid),
            volumes_from,
            ..self.clone()
        }
    }
}

/// The service a `volumes_from` entry names (`NAME[:MODE]`), unless it names a container.
pub fn volumes_from_service(entry: &str) -> Option<&str> {
    match Join::of(entry) {
        Join::Container(_) => None,
        _ => Some(entry.split(':').next().unwrap_or(entry)),
    }
}

/// How `network_mode`, `ipc` or `pid` (and a `volumes_from` entry) reads:
/// another service's container, a named container, or a mode of its own.
/// The model keeps the text, which is what docker compose hashes and prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join<'a> {
    Service(&'a str),
    Container(&'a str),
    Mode(&'a str),
}

impl<'a> Join<'a> {
    pub fn of(text: &'a str) -> Join<'a> {
        if let Some(s) = text.strip_prefix("service:") {
            Join::Service(s)
        } else if let Some(c) = text.strip_prefix("container:") {
            Join::Container(c)
        } else {
            Join::Mode(text)
        }
    }

    /// The service joined, if any.
    pub fn service(self) -> Option<&'a str> {
        match self {
            Join::Service(s) => Some(s),
            _ => None,
        }
    }
}

/// A top-level secret or config: where its contents come from.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FileObject {
    pub name: String,
    /// A host file, made absolute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The name of a variable holding the contents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The contents themselves (configs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The value of the `environment` source's variable, read at load.
    #[serde(skip)]
    pub env_value: Option<String>,
}

impl FileObject {
    /// The contents copied into the container (a `file` source is mounted instead).
    pub fn contents(&self) -> Option<&str> {
        self.content.as_deref().or(self.env_value.as_deref())
    }
}

/// A service's use of a secret or config.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FileRef {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// Written in octal (`"0400"`), as docker compose prints it.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_octal")]
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Build {
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Images whose layers the build may reuse (BuildKit cache specs warn).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_from: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pull: bool,
    /// The network `RUN` steps use (`host`, `none`, a network's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Bytes, as a decimal string, as docker compose prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<String>,
    /// More names for the built image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    /// The secrets a BuildKit build mounts: the classic builder cannot
    /// mount them, but docker compose still refuses a name the project
    /// does not define, and so does rcompose.
    #[serde(skip)]
    pub secrets: Vec<FileRef>,
}

/// A restart policy, as `restart` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    No,
    Always,
    UnlessStopped,
    /// `on-failure[:N]`: at most N restarts when given.
    OnFailure(Option<u32>),
}

impl RestartPolicy {
    /// Whether the engine starts the container again after it exits with `code`.
    pub fn restarts_after(self, code: i64) -> bool {
        match self {
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(_) => code != 0,
            RestartPolicy::No => false,
        }
    }
}

impl std::str::FromStr for RestartPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "no" => Ok(RestartPolicy::No),
            "always" => Ok(RestartPolicy::Always),
            "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
            "on-failure" => Ok(RestartPolicy::OnFailure(None)),
            _ => match s.strip_prefix("on-failure:") {
                Some(n) => n
                    .parse::<u32>()
                    .map(|n| RestartPolicy::OnFailure(Some(n)))
                    .map_err(|_| format!("invalid restart count {n:?} in {s:?}; expected a whole number, like on-failure:3")),
                None => Err(format!("invalid restart policy {s:?}")),
            },
        }
    }
}

impl std::fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
            RestartPolicy::OnFailure(None) => f.write_str("on-failure"),
            RestartPolicy::OnFailure(Some(n)) => write!(f, "on-failure:{n}"),
        }
    }
}

/// When a service's image is pulled or built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    /// When the image is not there (`missing`, `if_not_present`, and the
    /// periodic ones, whose schedule rcompose does not keep).
    Missing,
    Never,
    /// Built every time.
    Build,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::ServiceStarted => "service_started",
            Condition::ServiceHealthy => "service_healthy",
            Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }

    /// What a container meeting the condition is, in words.
    pub fn goal(self) -> &'static str {
        match self {
            Condition::ServiceStarted => "running",
            Condition::ServiceHealthy => "healthy",
            Condition::ServiceCompletedSuccessfully => "completed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dependency {
    pub condition: Condition,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub restart: bool,
    pub required: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Healthcheck {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_go_duration")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_go_duration")]
    pub interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_go_duration")]
    pub start_period: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_go_duration")]
    pub start_interval: Option<Duration>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceNetwork {
    /// The highest is the network the container is created on; the others
    /// are joined after, in order.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub priority: i64,
    /// Printed and hashed; the engine here (API 1.41) has no gateway priority.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub gw_priority: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    /// Printed and hashed; API 1.41 ignores an endpoint's MAC address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// Printed and hashed; API 1.41 cannot name the interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<String>,
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    pub target: u16,
    /// A port or a range such as `8000-8010`; empty means an ephemeral port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    pub protocol: String,
}

impl Port {
    /// The host port it publishes on: the first of a range; `None` for an ephemeral one.
    pub fn published_port(&self) -> Option<u16> {
        self.published.as_deref()?.split('-').next()?.parse().ok()
    }

    /// The identity compose uses to de-duplicate ports across merged files.
    pub fn merge_key(&self) -> String {
        format!(
            "{}:{}:{}/{}",
            self.host_ip.as_deref().unwrap_or(""),
            self.published.as_deref().unwrap_or(""),
            self.target,
            self.protocol
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: MountType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BindOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub create_host_path: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nocopy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TmpfsOptions {
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_u64_string")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Ulimit {
    Single(i64),
    Range { soft: i64, hard: i64 },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Ipam::is_empty")]
    pub ipam: Ipam,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// As written: an explicit `false` is printed and hashed, as docker compose does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
}

/// A network's address management (`ipam`): the subnets the engine hands
/// addresses from, so `ipv4_address` and fixed gateways can be used.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ipam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
}

impl Ipam {
    pub fn is_empty(&self) -> bool {
        self.driver.is_none() && self.config.is_empty()
    }
}

/// One `ipam.config` entry, in docker compose's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IpamPool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Volume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Formats a duration the way Go prints `time.Duration` (`1m30s`, `500ms`), as compose does.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, div) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", trim_fraction(nanos, div));
    }
    let total_secs = d.as_secs();
    let (h, m) = (total_secs / 3600, (total_secs / 60) % 60);
    let secs = trim_fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, _) => format!("{m}m{secs}s"),
        _ => format!("{h}h{m}m{secs}s"),
    }
}

fn trim_fraction(value: u128, div: u128) -> String {
    let whole = value / div;
    let frac = value % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

fn opt_u64_string<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&v.to_string()),
        None => s.serialize_none(),
    }
}

fn opt_go_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&go_duration(*d)),
        None => s.serialize_none(),
    }
}

fn opt_octal<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(0) => s.serialize_str("0"),
        Some(m) => s.serialize_str(&format!("0{m:o}")),
        None => s.serialize_none(),
    }
}

/// A number as Go's encoding/json writes a float: `2`, not `2.0`.
#[expect(clippy::cast_possible_truncation, reason = "only whole numbers below 1e15 are cast")]
fn opt_go_float<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => s.serialize_i64(*f as i64),
        Some(f) => s.serialize_f64(*f),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }
}
