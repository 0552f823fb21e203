//! URI normalization and routing: which server answers a request, and which
//! location inside it, by nginx's rules.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use super::config::{Config, Location, Matcher, Server, ServerName};
use super::vars::Captures;

/// Why a request target is refused before routing (answered with 400).
#[derive(Debug, PartialEq, Eq)]
pub struct BadUri;

/// Decodes a path once, merges slashes and resolves `.` and `..`, as nginx
/// does; a path that climbs above the root or holds NUL is refused.
pub fn normalize(raw: &str) -> Result<Cow<'_, str>, BadUri> {
    // Most URIs are already in normal form: nothing to decode, no empty,
    // `.` or `..` segment. They are their own answer, lent, not copied.
    match shape(raw) {
        Shape::Plain => Ok(Cow::Borrowed(raw)),
        Shape::Slashes => Ok(Cow::Owned(merge_slashes(raw))),
        Shape::Other => normalize_decoding(raw).map(Cow::Owned),
    }
}

/// What a path needs to be normal, told in one pass.
enum Shape {
    Plain,
    /// Only runs of slashes to merge: `try_files $uri/` makes
    /// `//index.html` of every SPA request.
    Slashes,
    /// Decoding, dot segments, or a refusal: the full pass.
    Other,
}

/// Plain: absolute, nothing percent-encoded, no NUL, and no empty (but a
/// final), `.` or `..` segment. One pass over the bytes, looking after each
/// slash: splitting on '/' went through the generic char searcher, some
/// 1,300 instructions of a 35,000-instruction static request.
fn shape(raw: &str) -> Shape {
    let b = raw.as_bytes();
    if b.first() != Some(&b'/') {
        return Shape::Other;
    }
    let mut slashes = false;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'%' | 0 => return Shape::Other,
            b'/' => match &b[i + 1..] {
                [b'/', ..] => slashes = true,
                [b'.'] | [b'.', b'/', ..] | [b'.', b'.'] | [b'.', b'.', b'/', ..] => {
                    return Shape::Other;
                }
                _ => {}
            },
            _ => {}
        }
    }
    if slashes { Shape::Slashes } else { Shape::Plain }
}

/// Runs of slashes merged, the text between them pushed as it is.
fn merge_slashes(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut from = 0;
    for (i, &c) in raw.as_bytes().iter().enumerate() {
        if c == b'/' {
            out.push_str(&raw[from..i]);
            if !out.ends_with('/') {
                out.push('/');
            }
            from = i + 1;
        }
    }
    out.push_str(&raw[from..]);
    out
}

/// The whole normalization: percent-decoding, then segments resolved.
/// One pass into the output, no list of segments: `try_files $uri/` makes
/// `//index.html` of every SPA request, so this is on the hot path too.
pub fn normalize_decoding(raw: &str) -> Result<String, BadUri> {
    if !raw.starts_with('/') {
        return Err(BadUri);
    }
    // The path's bytes (raw bytes of the request come carried, see rawtext).
    let bytes = super::rawtext::to_bytes(raw);
    let decoded = percent_decode(&bytes)?;
    if decoded.contains(&0) {
        return Err(BadUri);
    }
    // Bytes that are no UTF-8 (`%ff`) are carried, so they go on as they came.
    let text = super::rawtext::from_bytes(&decoded);
    let trailing = text.ends_with('/') || text.ends_with("/.") || text.ends_with("/..");
    let mut out = String::with_capacity(text.len() + 1);
    out.push('/');
    // Segments found by byte: `str::split` goes through the generic char
    // searcher, which cost more than the rest of this function.
    let mut start = 0;
    while start <= text.len() {
        let end = text.as_bytes()[start..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(text.len(), |i| start + i);
        let seg = &text[start..end];
        start = end + 1;
        match seg {
            "" | "." => {}
            ".." if out.len() == 1 => return Err(BadUri),
            ".." => {
                let cut = out.rfind('/').unwrap_or(0);
                out.truncate(cut.max(1));
            }
            s => {
                if out.len() > 1 {
                    out.push('/');
                }
                out.push_str(s);
            }
        }
    }
    if trailing && out.len() > 1 {
        out.push('/');
    }
    Ok(out)
}

/// `%XX` escapes decoded; lent back when there are none.
fn percent_decode(bytes: &[u8]) -> Result<Cow<'_, [u8]>, BadUri> {
    if !bytes.contains(&b'%') {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(BadUri)?;
            let s = std::str::from_utf8(hex).map_err(|_| BadUri)?;
            let v = u8::from_str_radix(s, 16).map_err(|_| BadUri)?;
            decoded.push(v);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    Ok(Cow::Owned(decoded))
}

/// Escapes a normalized URI for sending upstream (as nginx escapes `$uri`).
pub fn escape_uri(uri: &str) -> String {
    let mut out = String::with_capacity(uri.len());
    const KEPT: [bool; 256] = super::alnum_and(b"/-._~!$&'()*+,;=:@");
    for b in uri.bytes() {
        if KEPT[b as usize] {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes a URI's bytes as nginx's `ngx_escape_uri(NGX_ESCAPE_URI)` does
/// for a proxied request: space, `"`, `#`, `%`, `<`, `>`, `?`, `\`, `^`,
/// backquote, `{`, `|`, `}`, control bytes and bytes from 0x7F. Carried
/// bytes (see [`crate::proxy::rawtext`]) are escaped as the bytes they are.
pub fn escape_for_upstream(uri: &str) -> String {
    const ESCAPED: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = b < 0x20 || b >= 0x7f;
            b += 1;
        }
        let list = b" \"#%<>?\\^`{|}";
        let mut i = 0;
        while i < list.len() {
            t[list[i] as usize] = true;
            i += 1;
        }
        t
    };
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = super::rawtext::to_bytes(uri);
    let mut out = String::with_capacity(bytes.len() + 8);
    for &b in bytes.iter() {
        if ESCAPED[b as usize] {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        } else {
            out.push(b as char);
        }
    }
    out
}

/// The server for a connection's local address and Host header.
pub fn select_server<'a>(
    config: &'a Config,
    local: SocketAddr,
    host: &str,
) -> Option<&'a Arc<Server>> {
    let port = local.port();
    // Walked again for each kind of name, not collected: this runs on every request.
    let candidates = || {
        config.http.servers.iter().filter(move |s| {
            s.listens.iter().any(|l| {
                l.port == port && l.addr.is_none_or(|a| a == local.ip() || a.is_unspecified())
            })
        })
    };
    // One server on the port (most projects): it answers whatever the Host.
    let mut all = candidates();
    let first = all.next()?;
    if all.next().is_none() {
        return Some(first);
    }
    let lowered;
    let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
        lowered = host.to_ascii_lowercase();
        lowered.as_str()
    } else {
        host
    };
    let host = host.trim_end_matches('.');
    // Exact names, then leading wildcards (longest), then trailing wildcards, then regexes.
    let exact = candidates()
        .find(|s| s.names.iter().any(|n| matches!(n, ServerName::Exact(e) if e == host)));
    if let Some(s) = exact {
        return Some(s);
    }
    let suffix = candidates()
        .filter_map(|s| {
            s.names
                .iter()
                .filter_map(|n| match n {
                    ServerName::Suffix(sfx)
                        if host.ends_with(sfx.as_str()) || host == &sfx[1..] =>
                    {
                        Some(sfx.len())
                    }
                    _ => None,
                })
                .max()
                .map(|l| (l, s))
        })
        .max_by_key(|(l, _)| *l);
    if let Some((_, s)) = suffix {
        return Some(s);
    }
    if let Some(s) = candidates().find(|s| {
        s.names.iter().any(|n| matches!(n, ServerName::Prefix(p) if host.starts_with(p.as_str())))
    }) {
        return Some(s);
    }
    if let Some(s) = candidates()
        .find(|s| s.names.iter().any(|n| matches!(n, ServerName::Regex(r) if r.is_match(host))))
    {
        return Some(s);
    }
    candidates()
        .find(|s| s.listens.iter().any(|l| l.port == port && l.default_server))
        .or_else(|| candidates().next())
}

/// A matched location with the captures of its regular expression, if any.
#[derive(Debug, Clone)]
pub struct Matched {
    pub location: Arc<Location>,
    pub captures: Captures,
}

fn regex_match(loc: &Arc<Location>, uri: &str) -> Option<Matched> {
    let Matcher::Regex(re) = &loc.matcher else {
        return None;
    };
    let caps = re.captures(uri)?;
    Some(Matched { location: loc.clone(), captures: Captures::from_regex(uri, &caps) })
}

/// nginx's auto redirect: a request for `/api` where a location `/api/`
/// proxies (and no location is named `/api`) is answered 301 to `/api/`,
/// before any regular expression is tried. The location whose settings
/// the redirect is made with.
pub fn auto_redirect(locations: &[Arc<Location>], uri: &str) -> Option<Arc<Location>> {
    fn path(l: &Location) -> Option<&str> {
        match &l.matcher {
            Matcher::Exact(p) | Matcher::Prefix { path: p, .. } => Some(p.as_str()),
            _ => None,
        }
    }
    if locations.iter().any(|l| path(l) == Some(uri)) {
        return None;
    }
    let slashed = |p: &str| p.len() == uri.len() + 1 && p.starts_with(uri) && p.ends_with('/');
    if let Some(l) = locations.iter().find(|l| l.proxy.is_some() && path(l).is_some_and(slashed)) {
        return Some(l.clone());
    }
    // Nested in the longest prefix that holds the URI, as nginx's tree is searched.
    let outer = locations
        .iter()
        .filter(|l| matches!(&l.matcher, Matcher::Prefix { path, .. } if uri.starts_with(path.as_str())))
        .max_by_key(|l| path(l).map_or(0, str::len))?;
    auto_redirect(&outer.children, uri)
}

/// nginx's location search: an exact match wins; otherwise the longest
/// prefix, unless it is `^~`, yields to the first matching regular
/// expression (those nested in that prefix first, then the others in order).
pub fn find_location(locations: &[Arc<Location>], uri: &str) -> Option<Matched> {
    let mut best: Option<&Arc<Location>> = None;
    for l in locations {
        match &l.matcher {
            Matcher::Exact(p) if p == uri => {
                return Some(Matched { location: l.clone(), captures: Captures::default() });
            }
            Matcher::Prefix { path, .. }
                if uri.starts_with(path.as_str())
                    && best.is_none_or(|b| matches!(&b.matcher, Matcher::Prefix { path: bp, .. } if bp.len() < path.len())) =>
            {
                best = Some(l);
            }
            _ => {}
        }
    }
    if let Some(b) = best {
        if let Some(inner) = find_location(&b.children, uri)
            && (matches!(inner.location.matcher, Matcher::Regex(_) | Matcher::Exact(_))
                || !matches!(&b.matcher, Matcher::Prefix { no_regex: false, .. }))
        {
            return Some(inner);
        }
        if matches!(&b.matcher, Matcher::Prefix { no_regex: true, .. }) {
            return Some(Matched { location: b.clone(), captures: Captures::default() });
        }
    }
    for l in locations {
        if let Some(m) = regex_match(l, uri) {
            return Some(m);
        }
    }
    if let Some(b) = best {
        if let Some(inner) = find_location(&b.children, uri) {
            return Some(inner);
        }
        return Some(Matched { location: b.clone(), captures: Captures::default() });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The segment-list normalization this module had before the one-pass
    /// one: kept as the reference the one-pass version must agree with.
    fn by_segments(raw: &str) -> Result<String, BadUri> {
        if !raw.starts_with('/') {
            return Err(BadUri);
        }
        let bytes = crate::proxy::rawtext::to_bytes(raw);
        let decoded = percent_decode(&bytes)?;
        if decoded.contains(&0) {
            return Err(BadUri);
        }
        let text = crate::proxy::rawtext::from_bytes(&decoded);
        let mut parts: Vec<&str> = Vec::new();
        let trailing = text.ends_with('/') || text.ends_with("/.") || text.ends_with("/..");
        for seg in text.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    parts.pop().ok_or(BadUri)?;
                }
                s => parts.push(s),
            }
        }
        let mut out = String::from("/");
        out.push_str(&parts.join("/"));
        if trailing && !parts.is_empty() {
            out.push('/');
        }
        Ok(out)
    }

    #[test]
    fn one_pass_normalization_agrees_with_the_segment_list() {
        let mut paths = vec![String::new()];
        for _ in 0..7 {
            paths = paths
                .iter()
                .flat_map(|p| ['/', '.', 'a', '%', '2', 'e', '\u{e9}'].map(|c| format!("{p}{c}")))
                .collect();
            for raw in &paths {
                assert_eq!(normalize_decoding(raw), by_segments(raw), "{raw:?}");
            }
        }
    }

    #[test]
    fn the_plain_path_shortcut_agrees_with_full_normalization() {
        for raw in [
            "/",
            "/index.html",
            "/a/b/",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/a/.",
            "/a/..",
            "/..",
            "/.",
            "/...",
            "/a/.../b",
            "/a.b/c.",
            "/%2e%2e/x",
            "/a%2Fb",
            "/caf\u{e9}",
            "relative",
            "",
            "/a/b/..c",
            "/a/.b/",
        ] {
            assert_eq!(normalize(raw).map(Cow::into_owned), normalize_decoding(raw), "{raw:?}");
        }
        // Every path of up to seven characters from the ones that matter.
        let mut paths = vec![String::new()];
        for _ in 0..7 {
            paths = paths
                .iter()
                .flat_map(|p| ['/', '.', 'a', '%', '\0'].map(|c| format!("{p}{c}")))
                .collect();
            for raw in &paths {
                assert_eq!(normalize(raw).map(Cow::into_owned), normalize_decoding(raw), "{raw:?}");
            }
        }
    }

    #[test]
    fn escaping_keeps_what_nginx_keeps() {
        for b in 0..=255u8 {
            let kept = b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b);
            let text = String::from_utf8_lossy(&[b]).into_owned();
            let want: String = if kept {
                text.clone()
            } else {
                text.bytes().map(|x| format!("%{x:02X}")).collect()
            };
            assert_eq!(escape_uri(&text), want, "byte {b:#x}");
        }
    }
    use crate::proxy::conf::{AsWritten, parse_text};
    use crate::proxy::config::compile;

    #[test]
    fn normalization() {
        assert_eq!(normalize("/a//b/./c/../d").unwrap(), "/a/b/d");
        assert_eq!(normalize("/a/%2e%2e/b").unwrap(), "/b");
        assert_eq!(normalize("/a%2fb").unwrap(), "/a/b");
        assert_eq!(normalize("/%252e%252e/x").unwrap(), "/%2e%2e/x", "decoded once only");
        assert_eq!(normalize("/dir/").unwrap(), "/dir/");
        assert_eq!(normalize("/a\\..\\b").unwrap(), "/a\\..\\b", "backslash is not a separator");
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("/..").unwrap_err(), BadUri);
        assert_eq!(normalize("/a/../../etc/passwd").unwrap_err(), BadUri);
        assert_eq!(normalize("/%2e%2e/%2e%2e/etc/passwd").unwrap_err(), BadUri);
        assert_eq!(normalize("/a%00b").unwrap_err(), BadUri);
        assert_eq!(normalize("/a%zz").unwrap_err(), BadUri);
        assert_eq!(normalize("/a%2").unwrap_err(), BadUri);
        assert_eq!(normalize("relative").unwrap_err(), BadUri);
        assert_eq!(escape_uri("/a b/ü"), "/a%20b/%C3%BC");
    }

    fn routes(text: &str) -> Config {
        compile(
            &parse_text(text, "t.conf".into(), std::path::Path::new("/"), &AsWritten, 0).unwrap(),
        )
        .unwrap()
    }

    fn which(c: &Config, uri: &str) -> String {
        let m = find_location(&c.http.servers[0].locations, uri).unwrap();
        m.location.at.line.to_string()
    }

    #[test]
    fn location_order_like_nginx() {
        let c = routes(
            "http { server {\nlocation = / { }\nlocation / { }\nlocation /images/ { }\nlocation ^~ /static/ { }\nlocation ~* \\.(gif|jpg)$ { }\nlocation /documents/ { location ~ \\.pdf$ { } }\n} }",
        );
        assert_eq!(which(&c, "/"), "2");
        assert_eq!(which(&c, "/index.html"), "3");
        assert_eq!(which(&c, "/images/a.txt"), "4");
        assert_eq!(which(&c, "/images/a.GIF"), "6", "regex beats a plain prefix");
        assert_eq!(which(&c, "/static/a.gif"), "5", "^~ stops the regex search");
        assert_eq!(which(&c, "/documents/a.pdf"), "7", "nested regex");
        assert_eq!(which(&c, "/documents/a.txt"), "7");
    }

    #[test]
    fn server_selection() {
        let c = routes(
            "http { server { listen 80; server_name a.example.com; } server { listen 80 default_server; server_name _; } server { listen 80; server_name *.example.com; } server { listen 80; server_name ~^api\\d+\\.; } server { listen 81; } }",
        );
        let s = |host: &str, port: u16| {
            let srv = select_server(&c, SocketAddr::from(([127, 0, 0, 1], port)), host).unwrap();
            c.http.servers.iter().position(|x| Arc::ptr_eq(x, srv)).unwrap()
        };
        assert_eq!(s("a.example.com", 80), 0);
        assert_eq!(s("A.Example.com.", 80), 0);
        assert_eq!(s("b.example.com", 80), 2);
        assert_eq!(s("api7.x", 80), 3);
        assert_eq!(s("other", 80), 1, "default_server");
        assert_eq!(s("a.example.com", 81), 4);
    }
}
