//! The Docker Engine, through bollard: connection, and the resources a
//! project owns (images, networks, volumes, containers), named and labelled
//! as docker compose v2 does so both tools see each other's work.

pub mod archive;
pub mod attach;
pub mod config_hash;
pub mod containers;
pub mod events;
pub mod exec;
pub mod images;
pub mod labels;
pub mod logs;
pub mod networks;
pub mod podman;
pub mod ports;
pub mod processes;
pub mod spec;
mod unix;
pub mod volumes;

use unix::call_unix;
pub use unix::post_json_unix;

use std::time::Duration;

use bollard::Docker;

/// A connection to the engine, with the address it was made to (for messages).
#[derive(Clone)]
pub struct Engine {
    pub docker: Docker,
    pub host: String,
    /// The engine is Podman's Docker-compatible service: see [`podman`]
    /// for what rcompose does differently there.
    pub podman: bool,
}

/// Where rcompose looks for the engine: `DOCKER_HOST`, else the default socket.
pub fn engine_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

impl Engine {
    /// Connects, checks the engine answers, and negotiates the API version
    /// down to what it speaks (1.41 on Docker 20.10).
    pub async fn connect() -> anyhow::Result<Engine> {
        let host = engine_host();
        let unreachable = |e: &dyn std::fmt::Display| {
            anyhow::anyhow!(
                "cannot reach the Docker Engine at {host}: {e}\n  hint: is dockerd running? check `docker info`, and DOCKER_HOST{}",
                if std::env::var_os("DOCKER_TLS_VERIFY").is_some() {
                    ", DOCKER_CERT_PATH and DOCKER_TLS_VERIFY"
                } else {
                    ""
                }
            )
        };
        if let Some(path) = host.strip_prefix("unix://") {
            // One `/_ping` both proves the engine answers and names its API
            // version (the docker CLI does the same); `/version` costs the
            // engine several milliseconds more on every command.
            let (api, podman) =
                within_deadline(ping_unix(path)).await.map_err(|e| unreachable(&e))?;
            let version = match api {
                Some(v) if v < *bollard::API_DEFAULT_VERSION => v,
                _ => *bollard::API_DEFAULT_VERSION,
            };
            let docker =
                Docker::connect_with_unix(&host, 120, &version).map_err(|e| unreachable(&e))?;
            return Ok(Engine { docker, host, podman });
        }
        let docker = if host.starts_with("tcp://")
            && std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0")
        {
            // bollard reads DOCKER_CERT_PATH for the key, certificate and CA.
            Docker::connect_with_ssl_defaults().map_err(|e| unreachable(&e))?
        } else {
            Docker::connect_with_defaults().map_err(|e| unreachable(&e))?
        };
        // `/version` proves the engine answers and says whether it is Podman;
        // a `/_ping` first would be a third call on every command.
        let v = within_deadline(docker.version()).await.map_err(|e| unreachable(&e))?;
        let docker = docker.negotiate_version().await.map_err(|e| unreachable(&e))?;
        Ok(Engine { docker, host, podman: podman::is_podman_version(&v) })
    }
}

/// The engine's answer to a first call, or why there was none within ten seconds.
async fn within_deadline<T, E: std::fmt::Display>(
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(Duration::from_secs(10), call).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("no answer within 10 seconds".into()),
    }
}

/// `GET /_ping` on a unix socket: the engine's API version from its
/// `Api-Version` header, when it sends one, and whether it is Podman.
async fn ping_unix(path: &str) -> anyhow::Result<(Option<bollard::ClientVersion>, bool)> {
    let req = hyper::Request::get("/_ping")
        .header("host", "docker")
        .body(http_body_util::Full::new(bytes::Bytes::new()))?;
    let (status, headers, body) = call_unix(path, req).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let api = headers.get("api-version").and_then(|v| v.to_str().ok()).and_then(parse_api_version);
    if !status.is_success() {
        anyhow::bail!(
            "the engine answered /_ping with {status}: {}",
            String::from_utf8_lossy(&body).trim()
        );
    }
    Ok((api, podman::is_podman_ping(&headers)))
}

/// `1.41` as a bollard client version.
fn parse_api_version(v: &str) -> Option<bollard::ClientVersion> {
    let (major, minor) = v.trim().split_once('.')?;
    Some(bollard::ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// Is this bollard error the engine's 404?
pub fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// Is this bollard error the engine's 304 (already started / already stopped)?
pub fn is_not_modified(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 304, .. })
}

/// Is this bollard error the engine's 409: for a kill or an exec, the
/// container is not running; for a create, the name is taken; for a forced
/// removal, one is already under way.
pub fn is_conflict(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 409, .. })
}

/// The engine's message, without bollard's wrapping.
pub fn engine_message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Engine calls that make something, still in flight.
static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        IN_FLIGHT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Runs an engine call that creates something to its end even when the
/// caller stops waiting (Ctrl-C): a request dropped half-way may still
/// complete in the engine after rcompose has exited, out of sight of a
/// `down` run right after. With this, [`settle`] knows when all are done.
pub async fn to_completion<T: Send + 'static>(
    call: impl Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    let guard = InFlight::enter();
    let task = tokio::spawn(async move {
        let _guard = guard;
        call.await
    });
    match task.await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => anyhow::bail!("the engine call was cancelled"),
    }
}

/// Waits (up to `limit`) for every call started by [`to_completion`] to end.
pub async fn settle(limit: Duration) {
    let end = tokio::time::Instant::now() + limit;
    while IN_FLIGHT.load(std::sync::atomic::Ordering::SeqCst) > 0
        && tokio::time::Instant::now() < end
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_parse() {
        let v = parse_api_version("1.41").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(parse_api_version("141").is_none());
        assert!(parse_api_version("1.x").is_none());
        assert!(v < *bollard::API_DEFAULT_VERSION);
    }
}
