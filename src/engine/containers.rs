//! Finding, creating, starting, stopping and removing the project's containers.

use std::collections::HashMap;

use anyhow::bail;
use bollard::models::{ContainerSummary, NetworkConnectRequest};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StartContainerOptions, StopContainerOptions,
};

use super::{Engine, engine_message, is_not_found, is_not_modified, labels, spec};
use crate::compose::Project;
use crate::compose::model::Service;

/// The project's containers (one-off containers excluded), found by label.
pub async fn list(
    engine: &Engine,
    project: &str,
    all: bool,
) -> anyhow::Result<Vec<ContainerSummary>> {
    list_where(engine, project, all, false).await
}

/// The project's one-off containers (`run`), running or not.
pub async fn list_one_off(engine: &Engine, project: &str) -> anyhow::Result<Vec<ContainerSummary>> {
    list_where(engine, project, true, true).await
}

async fn list_where(
    engine: &Engine,
    project: &str,
    all: bool,
    one_off: bool,
) -> anyhow::Result<Vec<ContainerSummary>> {
    let oneoff = if one_off { "True" } else { "False" };
    let filters = HashMap::from([(
        "label".to_string(),
        vec![labels::project_filter(project), format!("{}={oneoff}", labels::ONEOFF)],
    )]);
    let opts = ListContainersOptions { all, filters: Some(filters), ..Default::default() };
    let mut list = engine
        .docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| anyhow::anyhow!("cannot list containers: {}", engine_message(&e)))?;
    if engine.podman {
        list.iter_mut().for_each(super::podman::complete_summary);
    }
    list.sort_by_key(name);
    Ok(list)
}

pub fn name(c: &ContainerSummary) -> String {
    c.names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

pub fn label<'a>(c: &'a ContainerSummary, key: &str) -> Option<&'a str> {
    c.labels.as_ref().and_then(|l| l.get(key)).map(String::as_str)
}

pub fn service(c: &ContainerSummary) -> &str {
    label(c, labels::SERVICE).unwrap_or_default()
}

/// Its container number (`com.docker.compose.container-number`); 0 when unlabelled.
pub fn number(c: &ContainerSummary) -> u32 {
    label(c, labels::CONTAINER_NUMBER).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The prefix of a container's log lines, as docker compose writes it: the
/// container's name without the project's (`web-1`), or the whole name when
/// `container_name` chose it.
pub fn log_prefix(project: &Project, service: &str, container_name: &str) -> String {
    let default = container_name
        .strip_prefix(project.name.as_str())
        .and_then(|r| r.strip_prefix('-'))
        .filter(|r| {
            r.strip_prefix(service)
                .and_then(|n| n.strip_prefix('-'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
    default.unwrap_or(container_name).to_string()
}

/// The log prefix of the service's container `number`, by the name it is
/// (or would be) created with.
pub fn replica_prefix(project: &Project, service: &str, number: u32) -> String {
    match project.services.get(service) {
        Some(svc) => log_prefix(project, service, &spec::replica_name(project, svc, number)),
        None => service.to_string(),
    }
}

/// The width of the widest log prefix of these services' containers, from
/// one to the number each runs.
pub fn prefix_width<'a>(
    project: &Project,
    services: impl IntoIterator<Item = &'a String>,
) -> usize {
    // The last container's name is the longest.
    let width = |s: &String| {
        replica_prefix(project, s, project.services.get(s).map_or(1, |svc| svc.replicas().max(1)))
            .len()
    };
    services.into_iter().map(width).max().unwrap_or(0)
}

pub fn id(c: &ContainerSummary) -> String {
    c.id.clone().unwrap_or_default()
}

pub fn is_running(c: &ContainerSummary) -> bool {
    matches!(
        c.state,
        Some(bollard::models::ContainerSummaryStateEnum::RUNNING)
            | Some(bollard::models::ContainerSummaryStateEnum::RESTARTING)
    )
}

/// A create request rcompose sends itself: bollard's body plus the
/// container-wide `MacAddress`, on the engine's unix socket.
struct OwnCreate {
    socket: String,
    mac: String,
}

/// A service's `mac_address`, placed as docker compose places it: on the
/// first network's endpoint from API 1.44, where the engine reads it there
/// (unless that network names its own); before, in the container-wide
/// field, which bollard's models no longer have, so the create is rcompose's own.
fn mac_address(
    engine: &Engine,
    service: &Service,
    body: &mut bollard::models::ContainerCreateBody,
) -> anyhow::Result<Option<OwnCreate>> {
    let Some(mac) = service.mac_address.clone() else {
        return Ok(None);
    };
    let api = engine.docker.client_version();
    if (api.major_version, api.minor_version) >= (1, 44) {
        if let Some(ep) = body
            .networking_config
            .as_mut()
            .and_then(|n| n.endpoints_config.as_mut())
            .and_then(|e| e.values_mut().next())
        {
            ep.mac_address.get_or_insert(mac);
        }
        return Ok(None);
    }
    let Some(socket) = engine.host.strip_prefix("unix://") else {
        bail!(
            "service {}: mac_address on an engine before API 1.44 (this one speaks {}.{}) can only be sent over a unix socket, not {}\n  hint: remove mac_address, or reach the engine by its socket",
            service.name,
            api.major_version,
            api.minor_version,
            engine.host
        );
    };
    Ok(Some(OwnCreate { socket: socket.to_string(), mac }))
}

/// `POST /containers/create` with the container-wide `MacAddress` added to
/// what bollard would send; returns the new container's id.
async fn own_create(
    own: &OwnCreate,
    docker: &bollard::Docker,
    name: &str,
    opts: &CreateContainerOptions,
    body: &bollard::models::ContainerCreateBody,
) -> Result<String, bollard::errors::Error> {
    let api = docker.client_version();
    let mut uri = format!(
        "/v{}.{}/containers/create?name={}",
        api.major_version,
        api.minor_version,
        query_escape(name)
    );
    if !opts.platform.is_empty() {
        uri.push_str(&format!("&platform={}", query_escape(&opts.platform)));
    }
    let mut value = serde_json::to_value(body)
        .map_err(|e| bollard::errors::Error::IOError { err: std::io::Error::other(e) })?;
    value["MacAddress"] = serde_json::Value::String(own.mac.clone());
    let answer = super::post_json_unix(&own.socket, &uri, &value).await?;
    answer.get("Id").and_then(|i| i.as_str()).map(str::to_string).ok_or_else(|| {
        bollard::errors::Error::IOError {
            err: std::io::Error::other(format!("the engine's create answer has no Id: {answer}")),
        }
    })
}

/// Percent-escapes all but unreserved bytes, for a query value.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Creates a service's container and joins its other networks; returns its id.
pub async fn create(
    engine: &Engine,
    project: &Project,
    service: &Service,
    c: &spec::Create<'_>,
) -> anyhow::Result<String> {
    let name = match c.one_off {
        Some(o) => o.name.clone(),
        None => spec::replica_name(project, service, c.number),
    };
    let mut body = spec::create_body(project, service, c);
    let opts = CreateContainerOptions {
        name: Some(name.clone()),
        platform: service.platform.clone().unwrap_or_default(),
    };
    let extra: Vec<(String, bollard::models::EndpointSettings)> = spec::service_networks(service)
        .iter()
        .skip(1)
        .map(|net| {
            let mut ep = spec::endpoint(project, service, c.number, net);
            if c.one_off.is_some_and(|o| !o.use_aliases) {
                ep.aliases = None;
            }
            (spec::network_name(project, net), ep)
        })
        .collect();
    let files = spec::file_contents(project, service)?;
    let docker = engine.docker.clone();
    let own = mac_address(engine, service, &mut body)?;
    // Created and connected as one step, so an interruption leaves a whole container or none.
    super::to_completion(async move {
        let made = match own {
            Some(own) => own_create(&own, &docker, &name, &opts, &body).await,
            None => docker.create_container(Some(opts), body).await.map(|c| c.id),
        };
        let created = match made {
            Ok(c) => c,
            Err(e) => {
                let msg = engine_message(&e);
                if super::is_conflict(&e) {
                    bail!(
                        "container name {name:?} is already in use by a container that is not this project's\n  hint: remove it with `docker rm -f {name}`, or change container_name"
                    );
                }
                bail!("cannot create container {name}: {msg}");
            }
        };
        if let Some(tar) = files {
            let opts = bollard::query_parameters::UploadToContainerOptions { path: "/".into(), ..Default::default() };
            if let Err(e) = docker.upload_to_container(&created, Some(opts), bollard::body_full(tar.into())).await {
                let _ = docker.remove_container(&created, None::<bollard::query_parameters::RemoveContainerOptions>).await;
                bail!("cannot copy secrets and configs into {name}: {}", engine_message(&e));
            }
        }
        for (net_name, endpoint) in extra {
            let req = NetworkConnectRequest { container: created.clone(), endpoint_config: Some(endpoint) };
            if let Err(e) = docker.connect_network(&net_name, req).await {
                bail!("cannot connect {name} to network {net_name}: {}", engine_message(&e));
            }
        }
        Ok(created)
    })
    .await
}

/// A lifecycle hook the engine would not run; the engine's error is kept
/// so callers can tell a container that went away from a real failure.
#[derive(Debug, thiserror::Error)]
#[error("cannot run {command:?}: {}", engine_message(.engine))]
pub struct HookError {
    command: String,
    engine: bollard::errors::Error,
}

/// Runs a hook in a running container and waits for it; returns its exit status.
pub async fn exec(
    engine: &Engine,
    id: &str,
    hook: &crate::compose::model::Hook,
) -> anyhow::Result<i64> {
    use futures::StreamExt;
    let config = bollard::models::ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(hook.command.clone()),
        env: (!hook.environment.is_empty())
            .then(|| hook.environment.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        user: hook.user.clone(),
        privileged: Some(hook.privileged),
        working_dir: hook.working_dir.clone(),
        ..Default::default()
    };
    let fail = |e: bollard::errors::Error| HookError { command: hook.command.join(" "), engine: e };
    let created = engine.docker.create_exec(id, config).await.map_err(fail)?;
    // Its output is the container's business, as with docker compose: drained, not shown.
    if let bollard::exec::StartExecResults::Attached { mut output, .. } =
        engine.docker.start_exec(&created.id, None).await.map_err(fail)?
    {
        while output.next().await.is_some() {}
    }
    let done = engine.docker.inspect_exec(&created.id).await.map_err(fail)?;
    Ok(done.exit_code.unwrap_or(-1))
}

/// Runs the service's `post_start` hooks in turn, as docker compose does
/// after starting a container: a failing one is an error (the container is
/// left running).
pub async fn post_start(engine: &Engine, id: &str, service: &Service) -> anyhow::Result<()> {
    for hook in &service.post_start {
        let status = exec(engine, id, hook).await?;
        if status != 0 {
            bail!("post_start hook {:?} exited with status {status}", hook.command.join(" "));
        }
    }
    Ok(())
}

/// Runs the service's `pre_stop` hooks in a running container, as docker
/// compose does before it stops one: a failing hook is an error, and the
/// container is left running. One that stops meanwhile needs none.
pub async fn pre_stop(
    engine: &Engine,
    id: &str,
    name: &str,
    running: bool,
    service: Option<&Service>,
) -> anyhow::Result<()> {
    let Some(service) = service.filter(|s| !s.pre_stop.is_empty() && running) else {
        return Ok(());
    };
    for hook in &service.pre_stop {
        let status = match exec(engine, id, hook).await {
            Ok(s) => s,
            // The container stopped or went meanwhile: nothing left to run the hook in.
            Err(e)
                if e.downcast_ref::<HookError>()
                    .is_some_and(|e| is_not_found(&e.engine) || super::is_conflict(&e.engine)) =>
            {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if status != 0 {
            bail!(
                "service {}: pre_stop hook {:?} exited with status {status}; {name} is left running",
                service.name,
                hook.command.join(" ")
            );
        }
    }
    Ok(())
}

/// Starts a container; one already running is fine. Port conflicts name the port.
pub async fn start(engine: &Engine, id_or_name: &str, display: &str) -> anyhow::Result<()> {
    match engine.docker.start_container(id_or_name, None::<StartContainerOptions>).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_modified(&e) => Ok(()),
        Err(e) => {
            let msg = engine_message(&e);
            if let Some(addr) = super::ports::conflicting_address(&msg) {
                let holder = super::ports::holder(&addr)
                    .map(|h| format!(" (held by {h})"))
                    .unwrap_or_default();
                bail!(
                    "cannot start {display}: host address {addr} is already in use{holder}\n  hint: stop what holds it, or publish another host port"
                );
            }
            match super::podman::hint(&msg).filter(|_| engine.podman) {
                Some(hint) => bail!("cannot start {display}: {msg}\n  {hint}"),
                None => bail!("cannot start {display}: {msg}"),
            }
        }
    }
}

/// Stops a container within `timeout` seconds (then the engine kills it).
pub async fn stop(engine: &Engine, id_or_name: &str, timeout: Option<u64>) -> anyhow::Result<()> {
    let opts = StopContainerOptions {
        t: timeout.map(|t| i32::try_from(t).unwrap_or(i32::MAX)),
        signal: None,
    };
    match engine.docker.stop_container(id_or_name, Some(opts)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_modified(&e) || is_not_found(&e) => Ok(()),
        Err(e) => bail!("cannot stop {id_or_name}: {}", engine_message(&e)),
    }
}

pub async fn kill(engine: &Engine, id_or_name: &str) -> anyhow::Result<()> {
    match engine
        .docker
        .kill_container(id_or_name, Some(KillContainerOptions { signal: "SIGKILL".into() }))
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) if super::is_conflict(&e) => Ok(()),
        Err(e) => bail!("cannot kill {id_or_name}: {}", engine_message(&e)),
    }
}

/// The exit status of a container once it is not running (at once when it
/// has stopped already): what `run`, `attach` and `wait` answer with.
pub async fn exit_status(engine: &Engine, id: &str) -> anyhow::Result<i64> {
    use futures::StreamExt;
    let opts = bollard::query_parameters::WaitContainerOptions { condition: "not-running".into() };
    match engine.docker.wait_container(id, Some(opts)).next().await {
        Some(Ok(r)) => Ok(r.status_code),
        // bollard reports a non-zero status as an error carrying it.
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => bail!("cannot wait for the container: {}", engine_message(&e)),
        None => Ok(0),
    }
}

/// Sends `signal` to a running container (`kill -s`).
pub async fn signal(engine: &Engine, id_or_name: &str, signal: &str) -> anyhow::Result<()> {
    let opts = KillContainerOptions { signal: signal.to_string() };
    engine
        .docker
        .kill_container(id_or_name, Some(opts))
        .await
        .map_err(|e| anyhow::anyhow!("cannot kill {id_or_name}: {}", engine_message(&e)))
}

/// Pauses (`true`) or unpauses a container, in the engine's words when it cannot.
pub async fn set_paused(engine: &Engine, id_or_name: &str, paused: bool) -> anyhow::Result<()> {
    let r = if paused {
        engine.docker.pause_container(id_or_name).await
    } else {
        engine.docker.unpause_container(id_or_name).await
    };
    r.map_err(|e| anyhow::anyhow!("{}", engine_message(&e)))
}

/// The processes of a running container, as `ps -ef` lists them: titles, rows.
pub async fn top(engine: &Engine, id: &str) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let opts = bollard::query_parameters::TopOptions { ps_args: "-ef".into() };
    let t = engine
        .docker
        .top_processes(id, Some(opts))
        .await
        .map_err(|e| anyhow::anyhow!("{}", engine_message(&e)))?;
    Ok((t.titles.unwrap_or_default(), t.processes.unwrap_or_default()))
}

/// Removes a container (with its anonymous volumes when `volumes`).
pub async fn remove(engine: &Engine, id_or_name: &str, volumes: bool) -> anyhow::Result<()> {
    let opts = RemoveContainerOptions { v: volumes, force: true, link: false };
    match engine.docker.remove_container(id_or_name, Some(opts)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) if super::is_conflict(&e) => Ok(()),
        Err(e) => bail!("cannot remove {id_or_name}: {}", engine_message(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_keep_only_unreserved_bytes() {
        assert_eq!(query_escape("proj-web_1.a~"), "proj-web_1.a~");
        assert_eq!(query_escape("linux/arm64/v8"), "linux%2Farm64%2Fv8");
        assert_eq!(query_escape("a b&c=\u{e9}"), "a%20b%26c%3D%C3%A9");
    }

    #[test]
    fn log_prefixes_are_docker_composes_names() {
        let svc = |name: &str, container_name: Option<&str>, scale: Option<u32>| Service {
            name: name.into(),
            container_name: container_name.map(String::from),
            scale,
            ..Default::default()
        };
        let project = Project {
            name: "lp".into(),
            services: [
                svc("web", None, Some(12)),
                svc("custom", Some("lp-custom"), None),
                svc("db", None, None),
            ]
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect(),
            working_dir: "/p".into(),
            ..Default::default()
        };
        assert_eq!(log_prefix(&project, "web", "lp-web-1"), "web-1");
        assert_eq!(log_prefix(&project, "web", "lp-web-12"), "web-12");
        // A chosen name is kept whole, even one that starts as a default would.
        assert_eq!(log_prefix(&project, "custom", "lp-custom"), "lp-custom");
        assert_eq!(log_prefix(&project, "web", "lp-web-x"), "lp-web-x");
        let names = ["web", "custom", "db"].map(String::from);
        assert_eq!(prefix_width(&project, &names), "web-12".len().max("lp-custom".len()));
        assert_eq!(prefix_width(&project, &names[2..]), "db-1".len());
    }
}
