//! The parameters a FastCGI request carries, in nginx's order: the
//! `fastcgi_param` ones, then each request header as `HTTP_NAME` (values of
//! one name joined, a header a `fastcgi_param HTTP_...` names left out).

use hyper::header::HeaderName;

use super::record;
use crate::proxy::config::FastCgiConf;
use crate::proxy::ctx::Ctx;

/// `$fastcgi_script_name` and `$fastcgi_path_info` for `uri`: the two
/// captures of `fastcgi_split_path_info` when it matches, else the URI and
/// nothing; `fastcgi_index` added to a script name that ends with a slash.
pub(crate) fn script_name_and_path_info(conf: &FastCgiConf, uri: &str) -> (String, String) {
    let (mut script, info) = match conf.split.as_ref().and_then(|re| re.captures(uri)) {
        Some(c) => (
            c.get(1).map_or("", |m| m.as_str()).to_string(),
            c.get(2).map_or("", |m| m.as_str()).to_string(),
        ),
        None => (uri.to_string(), String::new()),
    };
    if script.ends_with('/') {
        script.push_str(&conf.index);
    }
    (script, info)
}

/// A header's name as a parameter: `HTTP_` and its letters in upper case,
/// `-` as `_`.
fn param_name(name: &HeaderName, out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP_");
    out.extend(
        name.as_str().bytes().map(|b| if b == b'-' { b'_' } else { b.to_ascii_uppercase() }),
    );
}

/// BEGIN_REQUEST, the PARAMS record and the empty one that ends them; Err
/// with the size when the parameters pass the 65535 bytes of one record
/// (nginx: "fastcgi request record is too big", a 500).
pub(crate) fn records(conf: &FastCgiConf, ctx: &Ctx<'_>) -> Result<Vec<u8>, usize> {
    let mut pairs = Vec::with_capacity(1024);
    let mut value = String::new();
    for (name, template, if_not_empty) in conf.params.iter() {
        value.clear();
        template.eval_into(ctx, &mut value);
        if *if_not_empty && value.is_empty() {
            continue;
        }
        record::pair(&mut pairs, name.as_bytes(), &crate::proxy::rawtext::to_bytes(&value));
    }
    if conf.pass_request_headers {
        // Headers a `fastcgi_param HTTP_...` sets are not sent again.
        let set: Vec<String> = conf
            .params
            .iter()
            .filter_map(|(n, ..)| n.strip_prefix("HTTP_"))
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let skipped = |k: &HeaderName| {
            !set.is_empty()
                && set.iter().any(|s| {
                    s.bytes().eq(k.as_str().bytes().map(|b| if b == b'-' { b'_' } else { b }))
                })
        };
        let headers = &ctx.rv.headers;
        let mut name = Vec::with_capacity(64);
        for k in headers.keys() {
            if skipped(k) {
                continue;
            }
            let sep: &[u8] = if k == hyper::header::COOKIE { b"; " } else { b", " };
            let mut joined = Vec::new();
            for (i, v) in headers.get_all(k).iter().enumerate() {
                if i > 0 {
                    joined.extend_from_slice(sep);
                }
                joined.extend_from_slice(v.as_bytes());
            }
            name.clear();
            param_name(k, &mut name);
            record::pair(&mut pairs, &name, &joined);
        }
        for (k, v) in &ctx.rv.raw_headers {
            if skipped(k) {
                continue;
            }
            name.clear();
            param_name(k, &mut name);
            record::pair(&mut pairs, &name, v);
        }
    }
    if pairs.len() > record::MAX_PARAMS {
        return Err(pairs.len());
    }
    let pad = record::padding(pairs.len());
    let mut out = Vec::with_capacity(32 + pairs.len() + pad);
    record::begin(&mut out);
    record::header(&mut out, record::PARAMS, pairs.len(), pad);
    out.extend_from_slice(&pairs);
    out.extend_from_slice(&[0; 8][..pad]);
    record::header(&mut out, record::PARAMS, 0, 0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_path_info_and_index_as_nginx() {
        let mut conf = FastCgiConf { index: "index.php".into(), ..FastCgiConf::default() };
        assert_eq!(script_name_and_path_info(&conf, "/a/"), ("/a/index.php".into(), String::new()));
        conf.split = Some(regex::Regex::new(r"^(.+\.php)(/.+)$").unwrap());
        assert_eq!(
            script_name_and_path_info(&conf, "/index.php/some/path"),
            ("/index.php".into(), "/some/path".into())
        );
        assert_eq!(script_name_and_path_info(&conf, "/x.php"), ("/x.php".into(), String::new()));
    }
}
