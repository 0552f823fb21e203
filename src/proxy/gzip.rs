//! `gzip on`: responses of the listed types compressed as they stream, for
//! clients that accept it, as nginx's gzip filter does.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::BodyExt;
use hyper::Response;
use hyper::body::{Body as HttpBody, Frame};
use hyper::header::{self, HeaderMap, HeaderValue};

use super::config::LocConf;
use super::http::{Body, BoxError};

fn accepts_gzip(req: &HeaderMap) -> bool {
    req.get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.trim().split(';');
            let name = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}

/// Compresses the response when the configuration, the client and the
/// response allow, as nginx's gzip filter: answers 200, 403 and 404 of the
/// listed types and of `gzip_min_length` or more (HEAD too: nginx learns
/// there is no body only after this filter); those get `Vary:
/// Accept-Encoding` with `gzip_vary`, whether this client takes gzip or not.
pub fn maybe(conf: &LocConf, req: &HeaderMap, mut resp: Response<Body>) -> Response<Body> {
    if !conf.gzip
        || !matches!(resp.status().as_u16(), 200 | 403 | 404)
        || resp.headers().contains_key(header::CONTENT_ENCODING)
    {
        return resp;
    }
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let listed = ct == "text/html"
        || conf.gzip_types.iter().any(|t| t == "*" || t.eq_ignore_ascii_case(&ct));
    let length = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if !listed || length.is_some_and(|l| l < conf.gzip_min_length) {
        return resp;
    }
    if conf.gzip_vary {
        resp.headers_mut().append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if !accepts_gzip(req) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    // The bytes sent are no longer the file's.
    parts.extensions.remove::<super::http::FileBody>();
    parts.headers.remove(header::ACCEPT_RANGES);
    parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    // A weak validator: the bytes sent are not the file's.
    let weak = parts
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|e| !e.starts_with("W/"))
        .map(|e| format!("W/{e}"));
    if let Some(v) = weak.and_then(|e| HeaderValue::from_str(&e).ok()) {
        parts.headers.insert(header::ETAG, v);
    }
    let gz = GzBody { inner: body, encoder: Some(GzEncoder::new(Vec::new(), Compression::new(1))) };
    Response::from_parts(parts, gz.boxed())
}

struct GzBody {
    inner: Body,
    encoder: Option<GzEncoder<Vec<u8>>>,
}

impl HttpBody for GzBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            if self.encoder.is_none() {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else { continue };
                    let encoder = self.encoder.as_mut().expect("checked above");
                    if let Err(e) = encoder.write_all(&data).and_then(|_| encoder.flush()) {
                        return Poll::Ready(Some(Err(Box::new(e))));
                    }
                    let out = std::mem::take(encoder.get_mut());
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                    }
                }
                Poll::Ready(None) => {
                    let encoder = self.encoder.take().expect("checked above");
                    return match encoder.finish() {
                        Ok(rest) if rest.is_empty() => Poll::Ready(None),
                        Ok(rest) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(rest))))),
                        Err(e) => Poll::Ready(Some(Err(Box::new(e)))),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            m
        };
        assert!(accepts_gzip(&h("gzip, deflate, br")));
        assert!(accepts_gzip(&h("br;q=1.0, gzip;q=0.8")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
