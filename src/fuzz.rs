//! The properties the fuzz targets in `fuzz/` check, kept in the library so
//! that `tests/fuzz_corpus.rs` replays the checked-in seeds and every crash
//! found on stable Rust in CI, with the same code the fuzzer ran.
//!
//! Each function takes arbitrary bytes and panics only when a property fails:
//! errors are expected answers to bad input, panics never are.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use crate::compose::load::{LoadOptions, load};
use crate::compose::{dotenv, interpolate, syntax};
use crate::proxy::{conf, config, routes};

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn environ() -> HashMap<String, String> {
    [("HOME", "/home/fuzz"), ("TAG", "1.0"), ("EMPTY", ""), ("PORT", "8080")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn lookup(name: &str) -> Option<String> {
    environ().get(name).cloned()
}

/// A compose file read from standard input, as `rcompose -f - config` reads it.
fn load_text(text: &str) -> Result<crate::compose::load::Loaded, crate::diag::Diagnostics> {
    load(&LoadOptions {
        files: vec!["-".into()],
        stdin: Some(text.to_string()),
        cwd: PathBuf::from("/nonexistent/rcompose-fuzz/project"),
        environ: environ(),
        ..Default::default()
    })
}

/// Loading never panics, and what `config` prints for a loaded project loads
/// again to the same output: the promise that `config` output is a compose file.
pub fn compose_load(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(first) = load_text(text) else { return };
    let args = crate::cli::ConfigArgs {
        format: crate::cli::ConfigFormat::Yaml,
        services: false,
        volumes: false,
        networks: false,
        profiles: false,
        images: false,
        hash: None,
        quiet: false,
        output: None,
        no_interpolate: false,
        service_names: Vec::new(),
    };
    let out =
        crate::commands::config::render(&first.project, &args).expect("a loaded project renders");
    let second = match load_text(&out) {
        Ok(p) => p,
        Err(e) => panic!("config output does not load again:\n{out}\nerrors:\n{e}"),
    };
    let again = crate::commands::config::render(&second.project, &args).expect("renders");
    assert_eq!(out, again, "config output changes when read again");
    // And it describes the same containers: docker compose's hashes agree.
    for (name, svc) in &first.project.services {
        let hash = |s| crate::engine::config_hash::config_hash(s);
        assert_eq!(
            second.project.services.get(name).map(hash),
            Some(hash(svc)),
            "{name}'s config-hash changes when read again"
        );
    }
}

/// Interpolation never panics, leaves text without `$` alone, and undoes the
/// `$` → `$$` escaping that `config` output relies on.
pub fn interpolation(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = interpolate::interpolate(text, &lookup);
    if !text.contains('$') {
        let out = interpolate::interpolate(text, &lookup).expect("text without $ interpolates");
        assert_eq!(out.text, text);
        assert!(out.unset.is_empty());
    }
    let escaped = text.replace('$', "$$");
    let out = interpolate::interpolate(&escaped, &lookup).expect("escaped text interpolates");
    assert_eq!(out.text, text, "escaping $ as $$ does not round-trip");
}

/// `.env` parsing never panics and yields only usable variable names.
pub fn dotenv(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(vars) = dotenv::parse(text, &lookup) {
        for (k, _) in vars {
            assert!(!k.is_empty(), "empty variable name");
            assert!(
                !k.contains('=') && !k.contains(char::is_whitespace),
                "bad variable name {k:?}"
            );
        }
    }
}

/// The short syntaxes (ports, volumes, durations, sizes, restart) never panic;
/// the first byte picks which parser gets the rest.
pub fn compose_syntax(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    let Some(s) = text(rest) else { return };
    match which % 5 {
        0 => {
            if let Ok(ports) = syntax::parse_port(s) {
                for p in ports {
                    assert!(
                        p.protocol == "tcp" || p.protocol == "udp" || p.protocol == "sctp",
                        "protocol {:?}",
                        p.protocol
                    );
                }
            }
        }
        1 => {
            if let Ok(m) = syntax::parse_volume(s, Path::new("/project"), Some("/home/fuzz")) {
                assert!(
                    m.target.starts_with('/') || cfg!(windows) || m.target.contains(':'),
                    "relative target {:?}",
                    m.target
                );
            }
        }
        2 => {
            let _ = syntax::parse_duration(s);
        }
        3 => {
            let _ = syntax::parse_bytes(s);
        }
        _ => {
            let _ = syntax::check_restart(s);
        }
    }
}

/// Includes resolve to nowhere: the fuzzer sees one file.
struct Nowhere;

impl conf::Resolver for Nowhere {
    fn host_path(&self, conf_path: &str) -> PathBuf {
        Path::new("/nonexistent/rcompose-fuzz").join(conf_path.trim_start_matches('/'))
    }
}

/// Parsing and compiling an nginx configuration never panics, nor does routing
/// a few requests through one that compiles.
pub fn nginx_conf(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(directives) =
        conf::parse_text(text, "nginx.conf".into(), Path::new("/etc/nginx"), &Nowhere, 0)
    else {
        return;
    };
    let Ok(compiled) = config::compile(&directives) else { return };
    let local: SocketAddr = "127.0.0.1:80".parse().expect("address");
    for host in ["localhost", "example.com", ""] {
        if let Some(server) = routes::select_server(&compiled, local, host) {
            for uri in ["/", "/index.html", "/api/items/7", "/a/b/../c", "/%2e%2e/x"] {
                if let Ok(path) = routes::normalize(uri) {
                    let _ = routes::find_location(&server.locations, &path);
                }
            }
        }
    }
}

/// A normalized URI is absolute, has no `.`/`..`/empty segment and no NUL,
/// so joined to a root it names nothing above it; normalizing is idempotent
/// when nothing was percent-decoded.
pub fn uri(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    // Compared as the bytes they stand for: a byte the text carries and the
    // same byte as part of a character (a rewrite can join them) are one URI.
    let bytes = |r: Result<String, routes::BadUri>| {
        r.map(|s| crate::proxy::rawtext::to_bytes(&s).into_owned())
    };
    assert_eq!(
        bytes(routes::normalize(raw).map(|n| n.into_owned())),
        bytes(routes::normalize_decoding(raw)),
        "the shortcut disagrees on {raw:?}"
    );
    let Ok(out) = routes::normalize(raw) else { return };
    assert!(out.starts_with('/'), "{out:?} is not absolute");
    assert!(!out.contains('\0'), "{out:?} holds NUL");
    let inner = out.trim_start_matches('/').trim_end_matches('/');
    if !inner.is_empty() {
        for seg in inner.split('/') {
            assert!(!seg.is_empty() && seg != "." && seg != "..", "{out:?} has segment {seg:?}");
        }
    }
    let joined = Path::new("/srv/root").join(out.trim_start_matches('/'));
    assert!(joined.starts_with("/srv/root"));
    assert!(
        joined.components().all(|c| !matches!(c, Component::ParentDir | Component::CurDir)),
        "{joined:?} leaves the root"
    );
    if !raw.contains('%') {
        assert_eq!(
            routes::normalize(&out).as_deref(),
            Ok(&*out),
            "normalizing twice changes {raw:?}"
        );
    }
}

/// An upstream's answer decodes the same however the reads split it: the
/// same status and body, or the same refusal, never a panic, and never a
/// body longer than the bytes that came. The first byte picks the split.
pub fn upstream_answer(data: &[u8]) {
    let Some((&seed, answer)) = data.split_first() else { return };
    let whole = crate::proxy::client::decode_answer(answer, &[]);
    let step = seed as usize % 13 + 1;
    let cuts: Vec<usize> = (step..answer.len()).step_by(step).collect();
    let split = crate::proxy::client::decode_answer(answer, &cuts);
    assert_eq!(whole, split, "the answer decodes differently when read {step} bytes at a time");
    if let Ok((_, body)) = &whole {
        assert!(body.len() <= answer.len());
    }
}

/// A client's request head and body read by the proxy's HTTP/1 codec: the
/// same answer whether the bytes come whole or a few at a time (a head, or
/// the same refusal), never a panic; a request taken has an absolute target
/// and a URI that names nothing above the root; a chunked body decodes the
/// same however it is split, to no more bytes than came. The first byte
/// picks the split.
pub fn http1_request(data: &[u8]) {
    use crate::proxy::http1::{ChunkedDecoder, ChunkedStep, Framing, HeadParser, check_head};
    let Some((&seed, bytes)) = data.split_first() else { return };
    let step = seed as usize % 7 + 1;
    let whole = HeadParser::default().advance(bytes);
    let mut p = HeadParser::default();
    let mut split = Ok(None);
    for end in (step..bytes.len()).step_by(step).chain(std::iter::once(bytes.len())) {
        split = p.advance(&bytes[..end]);
        if !matches!(split, Ok(None)) {
            break;
        }
    }
    assert_eq!(whole, split, "the head parses differently when read {step} bytes at a time");
    let Ok(Some(parsed)) = whole else { return };
    assert!(parsed.len <= bytes.len());
    let head_bytes = bytes::Bytes::copy_from_slice(&bytes[..parsed.len]);
    let Ok(head) = check_head(&parsed, &head_bytes) else { return };
    assert!(head.target.starts_with('/'), "target {:?} is not absolute", head.target);
    assert!(
        head.uri.starts_with('/') && !head.uri.split('/').any(|s| s == ".."),
        "uri {:?}",
        head.uri
    );
    if head.framing != Framing::Chunked {
        return;
    }
    let body = &bytes[parsed.len..];
    let decode = |cut: usize| {
        let mut d = ChunkedDecoder::default();
        let mut pending: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        for piece in body.chunks(cut.max(1)) {
            pending.extend_from_slice(piece);
            loop {
                let (used, s) = d.step(&pending);
                pending.drain(..used);
                match s {
                    ChunkedStep::Data(n) => out.extend(pending.drain(..n)),
                    ChunkedStep::Size(_) => {}
                    ChunkedStep::More => break,
                    ChunkedStep::End => return Some(out),
                    ChunkedStep::Invalid => return None,
                }
            }
        }
        Some(out).filter(|_| d.done())
    };
    let all = decode(body.len());
    assert_eq!(
        all,
        decode(step),
        "the chunked body decodes differently when read {step} bytes at a time"
    );
    if let Some(out) = all {
        assert!(out.len() <= body.len());
    }
}
