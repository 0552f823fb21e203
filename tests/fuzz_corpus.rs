//! Replays the fuzz seeds and every input a fuzzer once crashed on
//! (`fuzz/seeds/TARGET/`, `fuzz/regressions/TARGET/`) through the same checks
//! the fuzz targets run, so CI keeps them fixed on stable Rust.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else { continue };
        let mut files: Vec<_> = dir.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{} fails its fuzz check", file.display());
            count += 1;
        }
    }
    assert!(count > 0, "no inputs for fuzz target {target}");
}

#[test]
fn compose_load() {
    replay("compose_load", rcompose::fuzz::compose_load);
}

#[test]
fn interpolation() {
    replay("interpolation", rcompose::fuzz::interpolation);
}

#[test]
fn dotenv() {
    replay("dotenv", rcompose::fuzz::dotenv);
}

#[test]
fn compose_syntax() {
    replay("compose_syntax", rcompose::fuzz::compose_syntax);
}

#[test]
fn nginx_conf() {
    replay("nginx_conf", rcompose::fuzz::nginx_conf);
}

#[test]
fn uri() {
    replay("uri", rcompose::fuzz::uri);
}

#[test]
fn upstream_answer() {
    replay("upstream_answer", rcompose::fuzz::upstream_answer);
}

#[test]
fn http1_request() {
    replay("http1_request", rcompose::fuzz::http1_request);
}
