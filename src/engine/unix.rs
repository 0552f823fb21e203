//! Calls on the engine's unix socket that bollard does not make as rcompose
//! needs them: each on a new connection, through hyper.

/// One request on a new connection to the engine's unix socket, for the
/// calls bollard does not make as rcompose needs them.
pub(super) async fn call_unix(
    path: &str,
    req: hyper::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<
    (hyper::StatusCode, hyper::HeaderMap, bytes::Bytes),
    Box<dyn std::error::Error + Send + Sync>,
> {
    use http_body_util::BodyExt;
    let stream = tokio::net::UnixStream::connect(path).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let res = sender.send_request(req).await?;
    let (parts, body) = res.into_parts();
    Ok((parts.status, parts.headers, body.collect().await?.to_bytes()))
}

/// `POST` of a JSON body on the engine's unix socket, answered with JSON:
/// for what bollard's models no longer say (the container-wide
/// `MacAddress` that engines before API 1.44 read). Errors are bollard's,
/// so callers handle them as they handle any other engine call's.
pub async fn post_json_unix(
    path: &str,
    uri: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, bollard::errors::Error> {
    let io = |e: &dyn std::fmt::Display| bollard::errors::Error::IOError {
        err: std::io::Error::other(e.to_string()),
    };
    let req = hyper::Request::post(uri)
        .header("host", "docker")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body.to_string())))
        .map_err(|e| io(&e))?;
    let (status, _, data) = call_unix(path, req).await.map_err(|e| io(&e))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&data)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&data).trim().to_string());
        return Err(bollard::errors::Error::DockerResponseServerError {
            status_code: status.as_u16(),
            message,
        });
    }
    serde_json::from_slice(&data).map_err(|e| io(&e))
}
