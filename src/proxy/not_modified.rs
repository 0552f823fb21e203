//! nginx's not-modified filter for answers the cache takes part in (kept
//! ones, and those an upstream sent that may be kept): the client's
//! If-None-Match and If-Modified-Since make a 200 a 304, and a failed
//! If-Match or If-Unmodified-Since a 412. Answers that may not be kept are
//! passed on as the upstream sent them (nginx's `disable_not_modified`),
//! as the upstream saw the client's own conditions.

use hyper::StatusCode;
use hyper::header::{self, HeaderMap};

/// What the client's conditions make of a 200 with these headers: 304,
/// 412, or `None` to send it as it is.
pub(super) fn verdict(req: &HeaderMap, answer: &HeaderMap) -> Option<StatusCode> {
    let text = |h: &HeaderMap, n: header::HeaderName| {
        h.get(n).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let etag = text(answer, header::ETAG);
    let last_modified = text(answer, header::LAST_MODIFIED).and_then(|v| http_time(&v));
    if let Some(iums) = text(req, header::IF_UNMODIFIED_SINCE)
        && last_modified.is_none_or(|lm| http_time(&iums).is_none_or(|t| t < lm))
    {
        return Some(StatusCode::PRECONDITION_FAILED);
    }
    if let Some(im) = text(req, header::IF_MATCH)
        && !matches(&im, etag.as_deref(), false)
    {
        return Some(StatusCode::PRECONDITION_FAILED);
    }
    let ims = text(req, header::IF_MODIFIED_SINCE);
    let inm = text(req, header::IF_NONE_MATCH);
    if ims.is_none() && inm.is_none() {
        return None;
    }
    // if_modified_since exact (nginx's default): the very same time.
    if let Some(ims) = ims
        && (last_modified.is_none() || http_time(&ims) != last_modified)
    {
        return None;
    }
    if let Some(inm) = inm
        && !matches(&inm, etag.as_deref(), true)
    {
        return None;
    }
    Some(StatusCode::NOT_MODIFIED)
}

/// Makes `resp` the 304 nginx sends: no type, length, ranges or encoding.
pub(super) fn make_304(headers: &mut HeaderMap) {
    for h in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::ACCEPT_RANGES,
        header::CONTENT_ENCODING,
    ] {
        headers.remove(h);
    }
}

/// Whether a list of entity tags names `etag` (ngx_http_test_if_match):
/// `*` names any; `weak` compares without the `W/` marks.
fn matches(list: &str, etag: Option<&str>, weak: bool) -> bool {
    let Some(mut etag) = etag else { return false };
    if list == "*" {
        return true;
    }
    if weak {
        etag = etag.strip_prefix("W/").unwrap_or(etag);
    }
    list.split(',').any(|item| {
        let item = item.trim_start_matches([' ', '\t']);
        let item = if weak { item.strip_prefix("W/").unwrap_or(item) } else { item };
        item.strip_prefix(etag).is_some_and(|rest| rest.trim_matches([' ', '\t']).is_empty())
    })
}

/// Seconds since the epoch of an HTTP date (RFC 1123, the form servers send).
fn http_time(v: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(v.trim()).ok().map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect()
    }

    #[test]
    fn conditions_are_read_as_nginx_reads_them() {
        let answer = h(&[("etag", "\"v1\""), ("last-modified", "Sat, 01 Jan 2000 00:00:00 GMT")]);
        let v = |req: &[(&str, &str)]| verdict(&h(req), &answer).map(|s| s.as_u16());
        assert_eq!(v(&[]), None);
        assert_eq!(v(&[("if-none-match", "\"v1\"")]), Some(304));
        assert_eq!(v(&[("if-none-match", "\"v0\", W/\"v1\"")]), Some(304));
        assert_eq!(v(&[("if-none-match", "*")]), Some(304));
        assert_eq!(v(&[("if-none-match", "\"v2\"")]), None);
        assert_eq!(v(&[("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT")]), Some(304));
        // Exact: a later time is not the same version to nginx.
        assert_eq!(v(&[("if-modified-since", "Sun, 02 Jan 2000 00:00:00 GMT")]), None);
        // Both sent: both must hold.
        let both =
            [("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT"), ("if-none-match", "\"x\"")];
        assert_eq!(v(&both), None);
        assert_eq!(v(&[("if-match", "\"v2\"")]), Some(412));
        assert_eq!(v(&[("if-match", "W/\"v1\"")]), Some(412), "If-Match is strong");
        assert_eq!(v(&[("if-match", "\"v1\"")]), None);
        assert_eq!(v(&[("if-unmodified-since", "Fri, 31 Dec 1999 00:00:00 GMT")]), Some(412));
        assert_eq!(v(&[("if-unmodified-since", "Sat, 01 Jan 2000 00:00:00 GMT")]), None);
        assert_eq!(verdict(&h(&[("if-none-match", "\"v1\"")]), &HeaderMap::new()), None);
    }
}
