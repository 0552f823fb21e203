//! From a compose service to the engine's container create request.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, HostConfigCgroupnsModeEnum, HostConfigLogConfig, Mount as EngineMount,
    MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions,
    MountType as EngineMountType, MountVolumeOptions, NetworkingConfig, PortBinding,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};

use super::labels;
use crate::compose::Project;
use crate::compose::model::{FileObject, FileRef, Healthcheck, Mount, MountType, Service, Ulimit};

/// The container name a service's first container gets.
pub fn container_name(project: &Project, service: &Service) -> String {
    replica_name(project, service, 1)
}

/// The name of the service's container number `n` (from 1), as docker compose names it.
pub fn replica_name(project: &Project, service: &Service, n: u32) -> String {
    service
        .container_name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-{n}", project.name, service.name))
}

/// What one container of a service is made with, besides the service.
pub struct Create<'a> {
    /// Its container number, from 1.
    pub number: u32,
    pub image: &'a str,
    /// Goes in the image label; the image's name when not known.
    pub image_id: Option<&'a str>,
    pub hash: &'a str,
    /// Ports the built-in proxy reaches through loopback.
    pub loopback_ports: &'a [u16],
    /// A one-off container (`run`) rather than one of the service's replicas.
    pub one_off: Option<&'a OneOff>,
}

/// What makes a `run` container, as docker compose makes it: its own name,
/// `oneoff=True` and a slug instead of a number, no restart policy.
#[derive(Debug, Clone)]
pub struct OneOff {
    pub name: String,
    /// 64 hex digits; the name carries the first 12.
    pub slug: String,
    /// `--rm`: the engine removes it when it exits.
    pub auto_remove: bool,
    /// Standard input kept open and attached.
    pub interactive: bool,
    /// `--use-aliases`: the service's network aliases too.
    pub use_aliases: bool,
}

impl OneOff {
    /// The container's name for a `run` of `service`: `PROJECT-SERVICE-run-SLUG12`.
    pub fn new(project: &Project, service: &Service, name: Option<String>) -> OneOff {
        let slug: String = (0..4).map(|_| format!("{:016x}", rand_u64())).collect();
        let name = name
            .unwrap_or_else(|| format!("{}-{}-run-{}", project.name, service.name, &slug[..12]));
        OneOff { name, slug, auto_remove: false, interactive: true, use_aliases: false }
    }
}

/// A random number from the standard library's per-process hasher keys.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// The engine name of a project network (`default` -> `proj_default`).
pub fn network_name(project: &Project, key: &str) -> String {
    project
        .networks
        .get(key)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| format!("{}_{key}", project.name))
}

/// The networks a service joins, in a stable order, the first one at creation.
/// The service's networks in the order docker compose joins them: the
/// highest `priority` first (the one the container is created on), then by name.
pub fn service_networks(service: &Service) -> Vec<String> {
    let priority =
        |n: &String| service.networks.get(n).and_then(|o| o.as_ref()).map_or(0, |o| o.priority);
    let mut names: Vec<String> = service.networks.keys().cloned().collect();
    names.sort_by_key(|n| std::cmp::Reverse(priority(n)));
    names
}

/// Legacy links of the service's container `number`, as docker compose
/// writes them on every network: for each linked service's container, its
/// alias, `SERVICE-N` and `PROJECT-SERVICE-N` (N is this container's number,
/// not the linked one's, as docker compose has it); then the external links.
pub fn links(project: &Project, service: &Service, number: u32) -> Vec<String> {
    let mut out = Vec::new();
    for link in &service.links {
        let (target, alias) = link.split_once(':').unwrap_or((link, link));
        // A linked service that is not enabled has no container, as docker compose skips it.
        let Some(linked) = project.services.get(target) else { continue };
        for n in 1..=linked.replicas() {
            let name = replica_name(project, linked, n);
            out.push(format!("{name}:{alias}"));
            out.push(format!("{name}:{target}-{number}"));
            out.push(format!("{name}:{}-{target}-{number}", project.name));
        }
    }
    for link in &service.external_links {
        let (target, alias) = link.split_once(':').unwrap_or((link, link));
        out.push(format!("{target}:{alias}"));
    }
    out
}

/// What docker compose refuses to create on an engine too old to apply it
/// (rather than have the engine drop it unseen): each key, with the engine
/// it needs. `api` is the version this engine speaks, as (major, minor).
pub fn needs_newer_engine(service: &Service, api: (usize, usize)) -> Vec<String> {
    let needs = |key: String, min: (usize, usize), engine: &str| {
        (api < min).then(|| {
            format!(
                "service {}: {key} needs Docker Engine {engine} or later (API {}.{}); this engine speaks API {}.{}\n  hint: remove {key}, or run a newer engine (docker compose refuses it here too)",
                service.name, min.0, min.1, api.0, api.1
            )
        })
    };
    let mut out = Vec::new();
    if service.healthcheck.as_ref().is_some_and(|h| h.start_interval.is_some()) {
        out.extend(needs("healthcheck.start_interval".into(), (1, 44), "v25"));
    }
    for (net, opts) in &service.networks {
        let Some(opts) = opts else { continue };
        if opts.mac_address.is_some() {
            out.extend(needs(format!("networks.{net}.mac_address"), (1, 44), "v25"));
        }
        if opts.interface_name.is_some() {
            out.extend(needs(format!("networks.{net}.interface_name"), (1, 49), "v28.1"));
        }
    }
    out
}

/// Endpoint settings for one network of container `number`: aliases so
/// others reach the service by name, and its links, driver options and
/// link-local addresses.
pub fn endpoint(project: &Project, service: &Service, number: u32, key: &str) -> EndpointSettings {
    let opts = service.networks.get(key).cloned().flatten().unwrap_or_default();
    // docker compose 2.40.3's order: the container's name, the service's, the file's.
    let mut aliases = vec![replica_name(project, service, number), service.name.clone()];
    aliases.extend(opts.aliases.iter().cloned());
    let ipam = (opts.ipv4_address.is_some()
        || opts.ipv6_address.is_some()
        || !opts.link_local_ips.is_empty())
    .then(|| EndpointIpamConfig {
        ipv4_address: opts.ipv4_address.clone(),
        ipv6_address: opts.ipv6_address.clone(),
        link_local_ips: some(&opts.link_local_ips),
    });
    let links = links(project, service, number);
    EndpointSettings {
        aliases: Some(aliases),
        ipam_config: ipam,
        links: (!links.is_empty()).then_some(links),
        driver_opts: some_map(&opts.driver_opts),
        ..Default::default()
    }
}

fn restart_policy(p: Option<crate::compose::model::RestartPolicy>) -> Option<RestartPolicy> {
    use crate::compose::model::RestartPolicy as R;
    let (name, count) = match p? {
        R::No => (RestartPolicyNameEnum::NO, None),
        R::Always => (RestartPolicyNameEnum::ALWAYS, None),
        R::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
        R::OnFailure(n) => (RestartPolicyNameEnum::ON_FAILURE, n.map(i64::from)),
    };
    Some(RestartPolicy { name: Some(name), maximum_retry_count: count })
}

fn nanos(d: Option<std::time::Duration>) -> Option<i64> {
    d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A list for the engine, or none when empty: docker compose leaves those unset.
fn some<T: Clone>(list: &[T]) -> Option<Vec<T>> {
    (!list.is_empty()).then(|| list.to_vec())
}

/// A map for the engine, or none when empty.
fn some_map(map: &std::collections::BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!map.is_empty()).then(|| map.clone().into_iter().collect())
}

/// blkio rate limits as the engine takes them; none for an empty list.
fn throttles(
    list: Option<&Vec<crate::compose::model::Throttle>>,
) -> Option<Vec<bollard::models::ThrottleDevice>> {
    let list = list.filter(|l| !l.is_empty())?;
    Some(
        list.iter()
            .map(|t| bollard::models::ThrottleDevice {
                path: Some(t.path.clone()),
                rate: t.rate.parse().ok(),
            })
            .collect(),
    )
}

/// A size the model keeps as a decimal string of bytes.
fn bytes(s: Option<&str>) -> Option<i64> {
    s.and_then(|s| s.parse().ok())
}

/// Binds for bind mounts that may create their host path (as `docker run -v`
/// does), engine mounts for everything else.
fn mounts(project: &Project, service: &Service) -> (Vec<String>, Vec<EngineMount>) {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &service.volumes {
        match m.kind {
            // As docker compose sends them: a bind with no options (the long
            // syntax without `bind:`) is a Bind too, so the engine makes a
            // missing host folder, as it does for docker compose.
            MountType::Bind if m.bind.as_ref().is_none_or(|b| b.create_host_path) => {
                binds.push(bind_string(m))
            }
            MountType::Bind => mounts.push(EngineMount {
                typ: Some(EngineMountType::BIND),
                source: m.source.clone(),
                target: Some(m.target.clone()),
                read_only: Some(m.read_only),
                bind_options: m.bind.as_ref().and_then(|b| b.propagation.as_deref()).map(|p| {
                    MountBindOptions { propagation: propagation(p), ..Default::default() }
                }),
                ..Default::default()
            }),
            MountType::Volume => mounts.push(EngineMount {
                typ: Some(EngineMountType::VOLUME),
                source: m.source.as_ref().map(|s| {
                    project.volumes.get(s).map(|v| v.name.clone()).unwrap_or_else(|| s.clone())
                }),
                target: Some(m.target.clone()),
                read_only: Some(m.read_only),
                volume_options: m.volume.as_ref().filter(|v| v.nocopy || v.subpath.is_some()).map(
                    |v| MountVolumeOptions {
                        no_copy: Some(v.nocopy),
                        subpath: v.subpath.clone(),
                        ..Default::default()
                    },
                ),
                ..Default::default()
            }),
            MountType::Tmpfs => mounts.push(EngineMount {
                typ: Some(EngineMountType::TMPFS),
                target: Some(m.target.clone()),
                tmpfs_options: m.tmpfs.as_ref().map(|t| MountTmpfsOptions {
                    size_bytes: t.size.map(|s| s as i64),
                    mode: t.mode.map(i64::from),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
    }
    // File-based secrets and configs are the host file, mounted read-only, as
    // docker compose mounts them outside swarm.
    for (r, obj, secret) in file_refs(project, service) {
        let Some(file) = obj.and_then(|o| o.file.clone()) else { continue };
        mounts.push(EngineMount {
            typ: Some(EngineMountType::BIND),
            source: Some(file),
            target: Some(file_target(r, secret)),
            read_only: Some(true),
            ..Default::default()
        });
    }
    (binds, mounts)
}

/// Secrets and configs given by value (`environment`, `content`), as a tar
/// archive to copy to the container's `/` before it starts; `None` when there
/// are none. Mode 0444 unless given, owned by `uid`/`gid` (default root).
pub fn file_contents(project: &Project, service: &Service) -> anyhow::Result<Option<Vec<u8>>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut any = false;
    for (r, obj, secret) in file_refs(project, service) {
        if obj.is_some_and(|o| o.external) {
            let kind = if secret { "secret" } else { "config" };
            anyhow::bail!(
                "{kind} {:?} is external: external {kind}s live in a swarm, which rcompose does not use\n  hint: give it a `file` instead",
                r.source
            );
        }
        let Some(value) = obj.and_then(FileObject::contents) else { continue };
        let id = |v: &Option<String>, what: &str| -> anyhow::Result<u64> {
            v.as_deref().map_or(Ok(0), |s| {
                s.parse()
                    .map_err(|_| anyhow::anyhow!("{:?}: {what} {s:?} is not a number", r.source))
            })
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(value.len() as u64);
        header.set_mode(r.mode.unwrap_or(0o444));
        header.set_uid(id(&r.uid, "uid")?);
        header.set_gid(id(&r.gid, "gid")?);
        header.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        let target = file_target(r, secret);
        builder.append_data(&mut header, target.trim_start_matches('/'), value.as_bytes())?;
        any = true;
    }
    Ok(any.then(|| builder.into_inner()).transpose()?)
}

/// The service's secrets and configs, each with its top-level entry and
/// whether it is a secret.
fn file_refs<'a>(
    project: &'a Project,
    service: &'a Service,
) -> impl Iterator<Item = (&'a FileRef, Option<&'a FileObject>, bool)> {
    let secrets = service.secrets.iter().map(|r| (r, project.secrets.get(&r.source), true));
    secrets.chain(service.configs.iter().map(|r| (r, project.configs.get(&r.source), false)))
}

/// Where a secret or config appears in the container: secrets under
/// /run/secrets unless the target is absolute, configs at /SOURCE by default.
pub fn file_target(r: &FileRef, secret: bool) -> String {
    match (&r.target, secret) {
        (Some(t), _) if t.starts_with('/') => t.clone(),
        (Some(t), true) => format!("/run/secrets/{t}"),
        (None, true) => format!("/run/secrets/{}", r.source),
        (Some(t), false) => format!("/{t}"),
        (None, false) => format!("/{}", r.source),
    }
}

fn propagation(p: &str) -> Option<MountBindOptionsPropagationEnum> {
    Some(match p {
        "private" => MountBindOptionsPropagationEnum::PRIVATE,
        "rprivate" => MountBindOptionsPropagationEnum::RPRIVATE,
        "shared" => MountBindOptionsPropagationEnum::SHARED,
        "rshared" => MountBindOptionsPropagationEnum::RSHARED,
        "slave" => MountBindOptionsPropagationEnum::SLAVE,
        "rslave" => MountBindOptionsPropagationEnum::RSLAVE,
        _ => return None,
    })
}

/// Capability names as docker compose sends them: `CAP_NET_ADMIN` for
/// `NET_ADMIN` (or `net_admin`); `ALL` stays.
fn capabilities(caps: &[String]) -> Vec<String> {
    caps.iter()
        .map(|c| {
            let c = c.to_ascii_uppercase();
            if c == "ALL" || c.starts_with("CAP_") { c } else { format!("CAP_{c}") }
        })
        .collect()
}

fn bind_string(m: &Mount) -> String {
    let mut opts = vec![if m.read_only { "ro" } else { "rw" }.to_string()];
    if let Some(b) = &m.bind {
        opts.extend(b.selinux.clone());
        opts.extend(b.propagation.clone());
    }
    format!("{}:{}:{}", m.source.as_deref().unwrap_or_default(), m.target, opts.join(","))
}

/// The full create request for one of a service's containers.
pub fn create_body(project: &Project, service: &Service, c: &Create) -> ContainerCreateBody {
    let Create { number, image, image_id, hash, loopback_ports, one_off } = *c;
    let env: Vec<String> = service
        .environment
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    let (port_bindings, exposed) = ports(service, loopback_ports);
    let (binds, engine_mounts) = mounts(project, service);
    let healthcheck = service.healthcheck.as_ref().map(healthcheck);
    let networks = service_networks(service);
    // `service:NAME` modes come resolved to `container:ID` (Service::with_joined).
    let network_mode =
        service.network_mode.clone().or_else(|| networks.first().map(|n| network_name(project, n)));
    let endpoints = networks.first().map(|n| {
        HashMap::from([(network_name(project, n), endpoint(project, service, number, n))])
    });
    let host_config = HostConfig {
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!engine_mounts.is_empty()).then_some(engine_mounts),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        restart_policy: restart_policy(service.restart_policy()),
        network_mode,
        init: service.init,
        cap_add: some(&capabilities(&service.cap_add)),
        cap_drop: some(&capabilities(&service.cap_drop)),
        privileged: Some(service.privileged),
        dns: some(&service.dns),
        // The engine wants host:ip.
        extra_hosts: (!service.extra_hosts.is_empty())
            .then(|| service.extra_hosts.iter().map(|h| h.replacen('=', ":", 1)).collect()),
        shm_size: service.shm_size.as_ref().and_then(|s| s.parse().ok()),
        ipc_mode: service.ipc.clone(),
        pid_mode: service.pid.clone(),
        uts_mode: service.uts.clone(),
        userns_mode: service.userns_mode.clone(),
        cgroup_parent: service.cgroup_parent.clone(),
        cgroupns_mode: service.cgroup.as_deref().map(|c| {
            if c == "host" {
                HostConfigCgroupnsModeEnum::HOST
            } else {
                HostConfigCgroupnsModeEnum::PRIVATE
            }
        }),
        runtime: service.runtime.clone(),
        volumes_from: some(&service.volumes_from),
        log_config: service.logging.as_ref().map(|l| HostConfigLogConfig {
            typ: Some(l.driver.clone().unwrap_or_default()),
            config: Some(l.options.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        }),
        ..resources(service)
    };
    let mut body = ContainerCreateBody {
        // docker compose creates every container attached to its output streams.
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        image: Some(image.to_string()),
        env: Some(env),
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        working_dir: service.working_dir.clone(),
        user: service.user.clone(),
        hostname: service.hostname.clone(),
        domainname: service.domainname.clone(),
        stop_signal: service.stop_signal.clone(),
        stop_timeout: service.stop_grace_period.map(|d| d.as_secs() as i64),
        tty: Some(service.tty),
        open_stdin: Some(service.stdin_open),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck,
        labels: Some(labels::container_labels(
            project,
            service,
            number,
            image_id.unwrap_or(image),
            hash,
        )),
        host_config: Some(host_config),
        networking_config: endpoints.map(|e| NetworkingConfig { endpoints_config: Some(e) }),
        ..Default::default()
    };
    if let Some(o) = one_off {
        as_one_off(&mut body, o);
    }
    body
}

/// Turns a replica's create request into a `run` container's.
pub fn as_one_off(body: &mut ContainerCreateBody, o: &OneOff) {
    if let Some(l) = body.labels.as_mut() {
        l.remove(labels::CONTAINER_NUMBER);
        l.insert(labels::ONEOFF.into(), "True".into());
        l.insert(labels::SLUG.into(), o.slug.clone());
    }
    body.attach_stdin = Some(o.interactive);
    body.open_stdin = Some(o.interactive);
    body.stdin_once = Some(o.interactive);
    if let Some(h) = body.host_config.as_mut() {
        h.auto_remove = Some(o.auto_remove);
        h.restart_policy = None;
    }
    if !o.use_aliases
        && let Some(eps) = body.networking_config.as_mut().and_then(|n| n.endpoints_config.as_mut())
    {
        for ep in eps.values_mut() {
            ep.aliases = None;
        }
    }
}

/// Published and exposed ports, and the loopback ports the built-in proxy
/// reaches where container addresses are out of reach.
/// The engine's `PortBindings`: bindings by `PORT/PROTOCOL`.
type PortMap = HashMap<String, Option<Vec<PortBinding>>>;

fn ports(service: &Service, loopback_ports: &[u16]) -> (PortMap, Vec<String>) {
    let mut port_bindings = PortMap::new();
    let mut exposed: Vec<String> = Vec::new();
    for p in &service.ports {
        let key = format!("{}/{}", p.target, p.protocol);
        let binding = PortBinding {
            host_ip: p.host_ip.clone(),
            host_port: Some(p.published.clone().unwrap_or_default()),
        };
        port_bindings
            .entry(key.clone())
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
        if !exposed.contains(&key) {
            exposed.push(key);
        }
    }
    for port in loopback_ports {
        let key = format!("{port}/tcp");
        if port_bindings.contains_key(&key) {
            continue;
        }
        port_bindings.insert(
            key.clone(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(String::new()),
            }]),
        );
        if !exposed.contains(&key) {
            exposed.push(key);
        }
    }
    for e in &service.expose {
        let key = if e.contains('/') { e.clone() } else { format!("{e}/tcp") };
        if !exposed.contains(&key) {
            exposed.push(key);
        }
    }
    (port_bindings, exposed)
}

fn healthcheck(h: &Healthcheck) -> HealthConfig {
    HealthConfig {
        test: if h.disable { Some(vec!["NONE".into()]) } else { h.test.clone() },
        interval: nanos(h.interval),
        timeout: nanos(h.timeout),
        retries: h.retries.map(|r| r as i64),
        start_period: nanos(h.start_period),
        start_interval: nanos(h.start_interval),
    }
}

/// The limits a container runs under: memory, CPUs, pids, devices, block I/O, ulimits.
#[expect(clippy::cast_possible_truncation, reason = "a float cast saturates: CPUs as nanoseconds")]
fn resources(service: &Service) -> HostConfig {
    let resources = service.deploy.as_ref().map(|d| &d.resources);
    let limits = resources.and_then(|r| r.limits.as_ref());
    let blkio = service.blkio_config.as_ref();
    let reservations = resources.and_then(|r| r.reservations.as_ref());
    let ulimits: Vec<ResourcesUlimits> = service
        .ulimits
        .iter()
        .map(|(name, u)| {
            let (soft, hard) = match u {
                Ulimit::Single(v) => (*v, *v),
                Ulimit::Range { soft, hard } => (*soft, *hard),
            };
            ResourcesUlimits { name: Some(name.clone()), soft: Some(soft), hard: Some(hard) }
        })
        .collect();
    HostConfig {
        ulimits: (!ulimits.is_empty()).then_some(ulimits),
        // deploy.resources where the service's own keys leave it unset, as docker compose does.
        memory: bytes(service.mem_limit.as_deref())
            .or_else(|| bytes(limits.and_then(|r| r.memory.as_deref()))),
        memory_reservation: bytes(service.mem_reservation.as_deref())
            .or_else(|| bytes(reservations.and_then(|r| r.memory.as_deref()))),
        memory_swap: bytes(service.memswap_limit.as_deref()),
        memory_swappiness: bytes(service.mem_swappiness.as_deref()),
        nano_cpus: service.cpus.or(limits.and_then(|r| r.cpus)).map(|c| (c * 1e9).round() as i64),
        cpu_shares: service.cpu_shares,
        cpu_period: service.cpu_period,
        cpu_quota: service.cpu_quota,
        cpuset_cpus: service.cpuset.clone(),
        pids_limit: service.pids_limit.or(limits.and_then(|r| r.pids)),
        oom_score_adj: service.oom_score_adj,
        oom_kill_disable: service.oom_kill_disable.then_some(true),
        readonly_rootfs: service.read_only.then_some(true),
        // `PATH[:OPTIONS]`: the engine wants the options by path.
        tmpfs: (!service.tmpfs.is_empty()).then(|| {
            service
                .tmpfs
                .iter()
                .map(|t| {
                    t.split_once(':')
                        .map_or((t.clone(), String::new()), |(p, o)| (p.into(), o.into()))
                })
                .collect()
        }),
        sysctls: some_map(&service.sysctls),
        annotations: some_map(&service.annotations),
        security_opt: some(&service.security_opt),
        dns_search: some(&service.dns_search),
        dns_options: some(&service.dns_opt),
        group_add: some(&service.group_add),
        devices: (!service.devices.is_empty()).then(|| {
            service
                .devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.source.clone()),
                    path_in_container: Some(d.target.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect()
        }),
        device_cgroup_rules: some(&service.device_cgroup_rules),
        // As docker compose asks: every request also wants the `gpu` capability.
        device_requests: (!service.gpus.is_empty()).then(|| {
            service
                .gpus
                .iter()
                .map(|g| {
                    let mut caps = g.capabilities.clone();
                    caps.push("gpu".into());
                    bollard::models::DeviceRequest {
                        driver: Some(g.driver.clone().unwrap_or_default()),
                        count: Some(g.count.unwrap_or_default()),
                        device_ids: some(&g.device_ids),
                        capabilities: Some(vec![caps]),
                        options: some_map(&g.options),
                    }
                })
                .collect()
        }),
        cpu_count: service.cpu_count,
        cpu_percent: service.cpu_percent,
        storage_opt: some_map(&service.storage_opt),
        cpu_realtime_period: service.cpu_rt_period,
        cpu_realtime_runtime: service.cpu_rt_runtime,
        blkio_weight: blkio.and_then(|b| b.weight),
        blkio_weight_device: blkio.filter(|b| !b.weight_device.is_empty()).map(|b| {
            b.weight_device
                .iter()
                .map(|d| bollard::models::ResourcesBlkioWeightDevice {
                    path: Some(d.path.clone()),
                    weight: Some(d.weight as usize),
                })
                .collect()
        }),
        blkio_device_read_bps: throttles(blkio.map(|b| &b.device_read_bps)),
        blkio_device_read_iops: throttles(blkio.map(|b| &b.device_read_iops)),
        blkio_device_write_bps: throttles(blkio.map(|b| &b.device_write_bps)),
        blkio_device_write_iops: throttles(blkio.map(|b| &b.device_write_iops)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::model::{BindOptions, Port};

    #[test]
    fn links_name_the_linking_containers_number_as_docker_compose_does() {
        // docker compose 2.40.3 gave container lnks-web-2 (links: ["db:database"],
        // db with one container) these links.
        let db = Service { name: "db".into(), ..Default::default() };
        let web = Service {
            name: "web".into(),
            links: vec!["db:database".into()],
            external_links: vec!["old".into()],
            ..Default::default()
        };
        let project = Project {
            name: "lnks".into(),
            services: [("db".to_string(), db), ("web".to_string(), web.clone())]
                .into_iter()
                .collect(),
            working_dir: "/p".into(),
            ..Default::default()
        };
        assert_eq!(
            links(&project, &web, 2),
            vec!["lnks-db-1:database", "lnks-db-1:db-2", "lnks-db-1:lnks-db-2", "old:old"]
        );
    }

    #[test]
    fn binds_and_ports() {
        let project = Project {
            name: "p".into(),
            services: Default::default(),
            working_dir: "/p".into(),
            ..Default::default()
        };
        let svc = Service {
            name: "web".into(),
            image: Some("nginx".into()),
            ports: vec![Port {
                mode: "ingress".into(),
                host_ip: Some("127.0.0.1".into()),
                target: 80,
                published: Some("1000".into()),
                protocol: "tcp".into(),
            }],
            volumes: vec![Mount {
                kind: MountType::Bind,
                source: Some("/p/conf".into()),
                target: "/etc/conf".into(),
                read_only: true,
                bind: Some(BindOptions {
                    create_host_path: true,
                    selinux: Some("z".into()),
                    ..Default::default()
                }),
                volume: None,
                tmpfs: None,
            }],
            restart: Some("on-failure:3".into()),
            networks: [("default".to_string(), None)].into(),
            ..Default::default()
        };
        let body = create_body(
            &project,
            &svc,
            &Create {
                number: 1,
                image: "nginx",
                image_id: None,
                hash: "h",
                loopback_ports: &[7000],
                one_off: None,
            },
        );
        let hc = body.host_config.unwrap();
        assert_eq!(hc.binds.unwrap(), vec!["/p/conf:/etc/conf:ro,z"]);
        let pb = hc.port_bindings.unwrap();
        let b = &pb["80/tcp"].as_ref().unwrap()[0];
        assert_eq!(
            (b.host_ip.as_deref(), b.host_port.as_deref()),
            (Some("127.0.0.1"), Some("1000"))
        );
        let lb = &pb["7000/tcp"].as_ref().unwrap()[0];
        assert_eq!(
            (lb.host_ip.as_deref(), lb.host_port.as_deref()),
            (Some("127.0.0.1"), Some("")),
            "an ephemeral loopback port"
        );
        assert_eq!(hc.restart_policy.unwrap().maximum_retry_count, Some(3));
        assert_eq!(hc.network_mode.as_deref(), Some("p_default"));
        let labels = body.labels.unwrap();
        assert_eq!(labels[labels::SERVICE], "web");
        assert_eq!(labels[labels::ONEOFF], "False");
        let ep = &body.networking_config.unwrap().endpoints_config.unwrap()["p_default"];
        assert_eq!(
            ep.aliases.as_deref().unwrap(),
            ["p-web-1", "web"],
            "the container's name, then the service's"
        );
    }

    #[test]
    fn a_run_container_is_labelled_one_off_with_its_slug_and_no_restart_or_aliases() {
        let project = Project { name: "p".into(), working_dir: "/p".into(), ..Default::default() };
        let svc = Service {
            name: "web".into(),
            image: Some("busybox".into()),
            restart: Some("always".into()),
            networks: [("default".to_string(), None)].into(),
            ..Default::default()
        };
        let o = OneOff { auto_remove: true, ..OneOff::new(&project, &svc, None) };
        assert_eq!(o.slug.len(), 64);
        assert_eq!(o.name, format!("p-web-run-{}", &o.slug[..12]));
        let c = Create {
            number: 1,
            image: "busybox",
            image_id: None,
            hash: "h",
            loopback_ports: &[],
            one_off: Some(&o),
        };
        let body = create_body(&project, &svc, &c);
        let labels = body.labels.as_ref().unwrap();
        assert_eq!(labels[labels::ONEOFF], "True");
        assert_eq!(labels[labels::SLUG], o.slug);
        assert!(!labels.contains_key(labels::CONTAINER_NUMBER));
        let hc = body.host_config.as_ref().unwrap();
        assert_eq!((hc.auto_remove, hc.restart_policy.is_none()), (Some(true), true));
        assert_eq!((body.open_stdin, body.stdin_once), (Some(true), Some(true)));
        let eps = body.networking_config.unwrap().endpoints_config.unwrap();
        assert!(eps.values().all(|e| e.aliases.is_none()), "aliases only with --use-aliases");
    }
}
