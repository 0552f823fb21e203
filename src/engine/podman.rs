//! What Podman's Docker-compatible service does differently, in one place.
//!
//! rcompose drives Podman through the same Engine API calls as Docker, with
//! the same names and labels. The differences that matter:
//!
//! - Podman runs healthchecks from systemd timers. Where there is no
//!   systemd (a container, WSL, a CI runner), no check ever runs and a
//!   container's health stays `starting`, so `depends_on: service_healthy`
//!   (and `up --wait`) would wait until they time out, as docker compose
//!   does there. While rcompose waits on a Podman container's health, it
//!   runs each check that is due itself, through libpod's
//!   `/containers/{id}/healthcheck`, which records the result as a timer's
//!   run would. A check a timer already ran is not run again.
//! - Podman sets `nofile` and `nproc` to 1048576 in every container unless
//!   told otherwise; a host that does not let it raise them refuses every
//!   start. The error gets a hint naming the setting.
//! - Its container list leaves out the address of a port published on all
//!   of them, which docker then shows as unpublished (`8080/tcp`, where
//!   Docker shows `0.0.0.0:18080->8080/tcp`); rcompose fills it in, so
//!   `ps` and `port` say where the port is.
//! - Image names come back fully qualified (`docker.io/library/x:latest`,
//!   `localhost/x:latest`); docker compose shows them so too, and so does
//!   rcompose.

use std::time::Duration;

use bollard::models::{
    ContainerInspectResponse, ContainerSummary, HealthStatusEnum, SystemVersion,
};

use super::unix::call_unix;

/// A `/_ping` answer from Podman names its libpod API version.
pub(super) fn is_podman_ping(headers: &hyper::HeaderMap) -> bool {
    headers.contains_key("libpod-api-version")
}

/// A `/version` answer from Podman names its engine component so.
pub(super) fn is_podman_version(v: &SystemVersion) -> bool {
    v.components.iter().flatten().any(|c| c.name.starts_with("Podman"))
}

/// A list entry as Docker's would be: a published port with no address
/// is published on all of them.
pub(super) fn complete_summary(c: &mut ContainerSummary) {
    for p in c.ports.iter_mut().flatten() {
        if p.public_port.is_some() && p.ip.as_deref().is_none_or(str::is_empty) {
            p.ip = Some("0.0.0.0".into());
        }
    }
}

/// Docker's (and Podman's) default healthcheck interval.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// Whether a check of this container's health is due and nothing ran it:
/// its health is `starting` and the last check (or the start, before any)
/// is at least an interval ago.
pub fn health_check_due(
    info: &ContainerInspectResponse,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let Some(state) = info.state.as_ref() else { return false };
    if state.running != Some(true) {
        return false;
    }
    let Some(health) = state.health.as_ref() else { return false };
    if health.status != Some(HealthStatusEnum::STARTING) {
        return false;
    }
    let interval = info
        .config
        .as_ref()
        .and_then(|c| c.healthcheck.as_ref())
        .and_then(|h| h.interval)
        .and_then(|ns| u64::try_from(ns).ok())
        .filter(|ns| *ns > 0)
        .map_or(DEFAULT_INTERVAL, Duration::from_nanos);
    let last = health
        .log
        .iter()
        .flatten()
        .filter_map(|r| r.end.as_deref())
        .chain(state.started_at.as_deref())
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc())
        .max();
    last.and_then(|t| (now - t).to_std().ok()).is_some_and(|since| since >= interval)
}

/// Runs the container's healthcheck once, now, as Podman's timer would
/// (`podman healthcheck run`); Podman records the result in its state.
pub async fn run_health_check(socket: &str, id: &str) -> Result<(), String> {
    let req = hyper::Request::get(format!("/v4.0.0/libpod/containers/{id}/healthcheck"))
        .header("host", "podman")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .map_err(|e| e.to_string())?;
    let (status, _, body) = call_unix(socket, req).await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&body).trim()))
    }
}

/// A hint for an engine error Podman gives when the host does not let it
/// raise a container's limits to its defaults.
pub fn hint(message: &str) -> Option<&'static str> {
    (message.contains("rlimit") && message.contains("not permitted")).then_some(
        "hint: Podman raises nofile and nproc to 1048576 in every container unless told otherwise, and this host does not allow that: set default_ulimits in containers.conf (e.g. [\"nofile=20000:20000\", \"nproc=30000:30000\"], within `ulimit -Hn` and `ulimit -Hu`) and restart `podman system service`, or give each service ulimits",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ContainerConfig, ContainerState, Health, HealthConfig, HealthcheckResult,
    };

    fn container(started: &str, interval: Option<i64>, ends: &[&str]) -> ContainerInspectResponse {
        let log = ends
            .iter()
            .map(|e| HealthcheckResult {
                end: Some((*e).into()),
                exit_code: Some(1),
                ..Default::default()
            })
            .collect();
        ContainerInspectResponse {
            state: Some(ContainerState {
                running: Some(true),
                started_at: Some(started.into()),
                health: Some(Health {
                    status: Some(HealthStatusEnum::STARTING),
                    log: Some(log),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            config: Some(ContainerConfig {
                healthcheck: Some(HealthConfig { interval, ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn at(t: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc()
    }

    #[test]
    fn a_check_is_due_an_interval_after_the_last_one_or_the_start() {
        let second = Some(1_000_000_000);
        let c = container("2026-01-01T00:00:00Z", second, &[]);
        assert!(!health_check_due(&c, at("2026-01-01T00:00:00.5Z")));
        assert!(health_check_due(&c, at("2026-01-01T00:00:01Z")));
        let c = container("2026-01-01T00:00:00Z", second, &["2026-01-01T00:00:05Z"]);
        assert!(!health_check_due(&c, at("2026-01-01T00:00:05.9Z")));
        assert!(health_check_due(&c, at("2026-01-01T00:00:06Z")));
        // No interval given: Podman's default, 30 s.
        let c = container("2026-01-01T00:00:00Z", None, &[]);
        assert!(!health_check_due(&c, at("2026-01-01T00:00:29Z")));
        assert!(health_check_due(&c, at("2026-01-01T00:00:30Z")));
    }

    #[test]
    fn only_a_running_container_still_starting_is_checked() {
        let mut c = container("2026-01-01T00:00:00Z", Some(1), &[]);
        let later = at("2026-01-01T01:00:00Z");
        assert!(health_check_due(&c, later));
        c.state.as_mut().unwrap().health.as_mut().unwrap().status = Some(HealthStatusEnum::HEALTHY);
        assert!(!health_check_due(&c, later));
        let mut c = container("2026-01-01T00:00:00Z", Some(1), &[]);
        c.state.as_mut().unwrap().running = Some(false);
        assert!(!health_check_due(&c, later));
        c.state.as_mut().unwrap().health = None;
        assert!(!health_check_due(&c, later));
    }

    #[test]
    fn a_port_published_on_every_address_says_so() {
        use bollard::models::PortSummary as Port;
        let mut c = ContainerSummary {
            ports: Some(vec![
                Port { private_port: 8080, public_port: Some(18080), ..Default::default() },
                Port { private_port: 9000, ..Default::default() },
            ]),
            ..Default::default()
        };
        complete_summary(&mut c);
        let ports = c.ports.unwrap();
        assert_eq!(ports[0].ip.as_deref(), Some("0.0.0.0"));
        assert_eq!(ports[1].ip, None);
    }

    #[test]
    fn podmans_rlimit_refusal_gets_a_hint() {
        let m = "runc create failed: error setting rlimits for ready process: error setting rlimit type 6: operation not permitted: OCI permission denied";
        assert!(hint(m).unwrap().contains("default_ulimits"));
        assert!(hint("no such image").is_none());
    }
}
