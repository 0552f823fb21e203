//! `sub_filter`: strings in an answer's body replaced, matched without
//! regard to case, the first of each only (`sub_filter_once on`, nginx's
//! default) or every one; for the `sub_filter_types` (text/html unless
//! told). As nginx's filter, the answer loses its Content-Length, and its
//! Last-Modified and ETag unless `sub_filter_last_modified on` (then the
//! ETag is made weak). The body is read whole, then replaced.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use hyper::header::{self, HeaderValue};

use super::config::LocConf;
use super::ctx::Ctx;
use super::http::{Body, BoxError};

/// The answer with its body's strings replaced, where the location asks.
pub(super) fn maybe(conf: &LocConf, ctx: &Ctx<'_>, resp: Response<Body>) -> Response<Body> {
    let sf = &conf.sub_filter;
    if sf.pairs.is_empty() {
        return resp;
    }
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let listed = sf.types.iter().any(|t| t == "*" || t.eq_ignore_ascii_case(&ct));
    let empty = resp.headers().get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() == b"0");
    if !listed || empty {
        return resp;
    }
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = sf
        .pairs
        .iter()
        .map(|(from, to)| {
            (from.eval(ctx).to_ascii_lowercase().into_bytes(), to.eval(ctx).into_bytes())
        })
        .filter(|(from, _)| !from.is_empty())
        .collect();
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    // The bytes sent are no longer the file's.
    parts.extensions.remove::<super::http::FileBody>();
    if sf.last_modified {
        if let Some(tag) =
            parts.headers.get(header::ETAG).filter(|t| !t.as_bytes().starts_with(b"W/"))
            && let Ok(weak) = HeaderValue::from_bytes(&[b"W/", tag.as_bytes()].concat())
        {
            parts.headers.insert(header::ETAG, weak);
        }
    } else {
        parts.headers.remove(header::LAST_MODIFIED);
        parts.headers.remove(header::ETAG);
    }
    let once = sf.once;
    let replaced = futures::stream::once(async move {
        let whole = body.collect().await?.to_bytes();
        Ok::<_, BoxError>(hyper::body::Frame::data(Bytes::from(replace(&whole, &pairs, once))))
    });
    Response::from_parts(parts, BodyExt::boxed(http_body_util::StreamBody::new(replaced)))
}

/// Replaces, left to right, the leftmost match of any string (the first
/// written, where two start at one place); with `once`, each string once.
fn replace(text: &[u8], pairs: &[(Vec<u8>, Vec<u8>)], once: bool) -> Vec<u8> {
    let lower = text.to_ascii_lowercase();
    let mut used = vec![false; pairs.len()];
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        let found = (0..pairs.len())
            .filter(|&i| !(once && used[i]))
            .filter_map(|i| memchr::memmem::find(&lower[at..], &pairs[i].0).map(|p| (at + p, i)))
            .min_by_key(|&(p, i)| (p, i));
        let Some((p, i)) = found else { break };
        out.extend_from_slice(&text[at..p]);
        out.extend_from_slice(&pairs[i].1);
        at = p + pairs[i].0.len();
        used[i] = true;
    }
    out.extend_from_slice(&text[at.min(text.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        list.iter()
            .map(|(a, b)| (a.to_ascii_lowercase().into_bytes(), b.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn replaces_without_regard_to_case_once_or_every_time() {
        let p = pairs(&[("HREF=\"/", "href=\"/app/"), ("x", "y")]);
        let text = b"<a href=\"/a\"><A HREF=\"/b\"> x x";
        assert_eq!(replace(text, &p, true), b"<a href=\"/app/a\"><A HREF=\"/b\"> y x".to_vec());
        assert_eq!(
            replace(text, &p, false),
            b"<a href=\"/app/a\"><A href=\"/app/b\"> y y".to_vec()
        );
        assert_eq!(replace(b"", &p, false), b"".to_vec());
    }
}
