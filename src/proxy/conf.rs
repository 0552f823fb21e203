//! nginx's configuration syntax: words, quoted strings with escapes, `;`,
//! blocks, `#` comments and `include` (globs, relative to the prefix).
//! The result is a tree of directives that remember where they were written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::Location;

#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub block: Option<Vec<Directive>>,
    pub loc: Location,
}

/// Whether a configuration is wrong (nginx refuses it too) or asks for
/// something only nginx does (the nginx container can serve it instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfErrorKind {
    Invalid,
    Unsupported,
}

/// What to do about a configuration the built-in proxy cannot serve.
pub const DEFAULT_HINT: &str = "run the real nginx container instead (`rcompose up --no-builtin-proxy`, or `x-rcompose: {builtin_proxy: false}` on the service)";

/// A problem with a configuration, where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfError {
    pub loc: Location,
    /// What is wrong, without the hint an unsupported directive gets.
    pub message: String,
    pub kind: ConfErrorKind,
}

impl ConfError {
    pub fn invalid(loc: Location, message: impl Into<String>) -> ConfError {
        ConfError { loc, message: message.into(), kind: ConfErrorKind::Invalid }
    }

    pub fn unsupported(loc: Location, message: impl Into<String>) -> ConfError {
        ConfError { loc, message: message.into(), kind: ConfErrorKind::Unsupported }
    }

    /// Something only nginx does: the nginx container can serve it.
    pub fn is_unsupported(&self) -> bool {
        self.kind == ConfErrorKind::Unsupported
    }
}

impl std::fmt::Display for ConfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.loc, self.message)?;
        if self.is_unsupported() {
            write!(f, "; {DEFAULT_HINT}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfError {}

/// Where `include` finds files: maps a path as written to one on this host.
pub trait Resolver {
    /// The host path for a path in the configuration (relative paths are
    /// already joined to the prefix).
    fn host_path(&self, conf_path: &str) -> PathBuf;
}

/// Paths are taken as written (as `nginx -c` on this host would).
pub struct AsWritten;

impl Resolver for AsWritten {
    fn host_path(&self, conf_path: &str) -> PathBuf {
        PathBuf::from(conf_path)
    }
}

/// The standard `mime.types`, shipped in the binary for `include mime.types`
/// when the file is not there (an nginx image has it; this host may not).
pub const MIME_TYPES: &str = include_str!("mime.types");

/// The image's `fastcgi_params`, shipped likewise.
const FASTCGI_PARAMS: &str = include_str!("fastcgi/fastcgi_params");

/// The image's `fastcgi.conf`: `fastcgi_params` with SCRIPT_FILENAME.
fn fastcgi_conf() -> String {
    format!(
        "fastcgi_param  SCRIPT_FILENAME    $document_root$fastcgi_script_name;\n{FASTCGI_PARAMS}"
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Semi,
    Open,
    Close,
}

/// The byte after a backslash, as nginx reads it: quotes, backslash and
/// t/r/n are escapes; anything else keeps its backslash (`\d` stays `\d`).
fn push_escaped(word: &mut Vec<u8>, c: u8) {
    match c {
        b'"' | b'\'' | b'\\' => word.push(c),
        b't' => word.push(b'\t'),
        b'r' => word.push(b'\r'),
        b'n' => word.push(b'\n'),
        other => {
            word.push(b'\\');
            word.push(other);
        }
    }
}

/// Blanks as nginx's tokenizer knows them (not Unicode's spaces).
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A word as text: the file is UTF-8 and words are split at ASCII bytes only.
fn word_text(w: Vec<u8>) -> String {
    String::from_utf8(w).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Splits the file into tokens in one pass over its bytes, holding no copy
/// of it (a `Vec<char>` of a 100 MB file took 400 MB).
fn tokenize(text: &str, file: &Arc<str>) -> Result<Vec<(Tok, Location)>, ConfError> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let loc = |line, col| Location { file: file.clone(), line, col };
    // Columns count characters: a UTF-8 continuation byte is no new column.
    let advance = |b: u8, line: &mut usize, col: &mut usize| {
        if b == b'\n' {
            *line += 1;
            *col = 1;
        } else if b & 0xC0 != 0x80 {
            *col += 1;
        }
    };
    while i < bytes.len() {
        let c = bytes[i];
        if is_blank(c) {
            advance(c, &mut line, &mut col);
            i += 1;
            continue;
        }
        if c == b'#' {
            i += memchr::memchr(b'\n', &bytes[i..]).unwrap_or(bytes.len() - i);
            continue;
        }
        let start = loc(line, col);
        match c {
            b';' | b'{' | b'}' => {
                out.push((
                    match c {
                        b';' => Tok::Semi,
                        b'{' => Tok::Open,
                        _ => Tok::Close,
                    },
                    start,
                ));
                i += 1;
                col += 1;
            }
            b'"' | b'\'' => {
                let q = c;
                i += 1;
                col += 1;
                let mut word = Vec::new();
                loop {
                    let Some(&ch) = bytes.get(i) else {
                        return Err(ConfError::invalid(
                            start,
                            format!("unexpected end of file, expecting {}", q as char),
                        ));
                    };
                    i += 1;
                    advance(ch, &mut line, &mut col);
                    if ch == q {
                        break;
                    }
                    if ch == b'\\' {
                        let Some(&next) = bytes.get(i) else { continue };
                        i += 1;
                        advance(next, &mut line, &mut col);
                        push_escaped(&mut word, next);
                        continue;
                    }
                    word.push(ch);
                }
                out.push((Tok::Word(word_text(word)), start));
            }
            _ => {
                let mut word = Vec::new();
                while let Some(&ch) = bytes.get(i) {
                    if is_blank(ch) || ch == b';' || ch == b'}' {
                        break;
                    }
                    // `{` opens a block unless it is part of `${var}`.
                    if ch == b'{' && word.last() != Some(&b'$') {
                        break;
                    }
                    if ch == b'{' {
                        // Copy through the closing brace of `${...}`.
                        while let Some(&b) = bytes.get(i) {
                            word.push(b);
                            i += 1;
                            advance(b, &mut line, &mut col);
                            if b == b'}' {
                                break;
                            }
                        }
                        continue;
                    }
                    if ch == b'\\' && i + 1 < bytes.len() {
                        push_escaped(&mut word, bytes[i + 1]);
                        advance(bytes[i + 1], &mut line, &mut col);
                        i += 2;
                        col += 1;
                        continue;
                    }
                    word.push(ch);
                    i += 1;
                    advance(ch, &mut line, &mut col);
                }
                out.push((Tok::Word(word_text(word)), start));
            }
        }
    }
    Ok(out)
}

/// Parses a configuration file, following `include`s. `prefix` is the
/// directory relative includes resolve against (nginx's conf prefix).
pub fn parse_file(
    path: &Path,
    prefix: &Path,
    resolver: &dyn Resolver,
) -> Result<Vec<Directive>, ConfError> {
    let text = crate::userfile::read_text(path, crate::userfile::NGINX_LIMIT).map_err(|e| {
        ConfError::invalid(
            Location { file: path.display().to_string().into(), line: 0, col: 0 },
            format!("cannot read the configuration: {e}"),
        )
    })?;
    parse_text(&text, path.display().to_string().into(), prefix, resolver, 0)
}

/// How deep blocks may nest, includes counted in: real configurations nest
/// four or five; thousands overflowed the stack of every later stage.
pub const MAX_NESTING: usize = 64;

pub fn parse_text(
    text: &str,
    file: Arc<str>,
    prefix: &Path,
    resolver: &dyn Resolver,
    depth: usize,
) -> Result<Vec<Directive>, ConfError> {
    parse_nested(text, file, prefix, resolver, depth, 0)
}

/// Parses `text`, found inside `nesting` blocks (of the including file).
fn parse_nested(
    text: &str,
    file: Arc<str>,
    prefix: &Path,
    resolver: &dyn Resolver,
    depth: usize,
    nesting: usize,
) -> Result<Vec<Directive>, ConfError> {
    let toks = tokenize(text, &file)?;
    let mut pos = 0;
    let at = Nest { file: &file, prefix, resolver, depth };
    parse_block(&toks, &mut pos, &at, nesting, true)
}

/// What every block of one file shares.
struct Nest<'a> {
    file: &'a Arc<str>,
    prefix: &'a Path,
    resolver: &'a dyn Resolver,
    /// Includes followed to reach this file.
    depth: usize,
}

fn parse_block(
    toks: &[(Tok, Location)],
    pos: &mut usize,
    at: &Nest<'_>,
    nesting: usize,
    top: bool,
) -> Result<Vec<Directive>, ConfError> {
    let Nest { file, prefix, resolver, depth } = *at;
    let mut out = Vec::new();
    loop {
        let Some((tok, loc)) = toks.get(*pos) else {
            if top {
                return Ok(out);
            }
            let loc = toks.last().map(|t| t.1.clone()).unwrap_or(Location {
                file: file.clone(),
                line: 1,
                col: 1,
            });
            return Err(ConfError::invalid(loc, "unexpected end of file, expecting \"}\""));
        };
        match tok {
            Tok::Close if !top => {
                *pos += 1;
                return Ok(out);
            }
            Tok::Close => {
                return Err(ConfError::invalid(loc.clone(), "unexpected \"}\""));
            }
            Tok::Semi => {
                return Err(ConfError::invalid(loc.clone(), "unexpected \";\""));
            }
            Tok::Open => {
                return Err(ConfError::invalid(loc.clone(), "unexpected \"{\""));
            }
            Tok::Word(name) => {
                let dloc = loc.clone();
                let name = name.clone();
                *pos += 1;
                let mut args = Vec::new();
                let block = loop {
                    match toks.get(*pos) {
                        Some((Tok::Word(w), _)) => {
                            args.push(w.clone());
                            *pos += 1;
                        }
                        Some((Tok::Semi, _)) => {
                            *pos += 1;
                            break None;
                        }
                        Some((Tok::Open, l)) => {
                            if nesting >= MAX_NESTING {
                                return Err(ConfError::invalid(
                                    l.clone(),
                                    format!("blocks nest deeper than {MAX_NESTING} levels"),
                                ));
                            }
                            *pos += 1;
                            break Some(parse_block(toks, pos, at, nesting + 1, false)?);
                        }
                        Some((Tok::Close, l)) => {
                            return Err(ConfError::invalid(
                                l.clone(),
                                format!(
                                    "unexpected \"}}\" after directive \"{name}\"; is a \";\" missing?"
                                ),
                            ));
                        }
                        // Located only, as nginx says it: the "directive" may be
                        // a line of a file that is no configuration (a password file).
                        None => {
                            let loc = toks.last().map_or(dloc, |t| t.1.clone());
                            return Err(ConfError::invalid(
                                loc,
                                "unexpected end of file, expecting \";\" or \"}\"",
                            ));
                        }
                    }
                };
                if name == "include" && block.is_none() {
                    out.extend(include(&args, &dloc, prefix, resolver, depth, nesting)?);
                } else {
                    out.push(Directive { name, args, block, loc: dloc });
                }
            }
        }
    }
}

fn include(
    args: &[String],
    loc: &Location,
    prefix: &Path,
    resolver: &dyn Resolver,
    depth: usize,
    nesting: usize,
) -> Result<Vec<Directive>, ConfError> {
    if args.len() != 1 {
        return Err(ConfError::invalid(
            loc.clone(),
            "invalid number of arguments in \"include\" directive",
        ));
    }
    if depth > 16 {
        return Err(ConfError::invalid(loc.clone(), "includes nest too deep (an include loop?)"));
    }
    let written = &args[0];
    let conf_path = if Path::new(written).is_absolute() {
        written.clone()
    } else {
        prefix.join(written).display().to_string()
    };
    let host = resolver.host_path(&conf_path);
    let pattern = host.display().to_string();
    let mut files: Vec<PathBuf> = if pattern.contains(['*', '?', '[']) {
        glob::glob(&pattern)
            .map_err(|e| {
                ConfError::invalid(loc.clone(), format!("invalid include pattern {written:?}: {e}"))
            })?
            .filter_map(Result::ok)
            .collect()
    } else {
        vec![host.clone()]
    };
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = match crate::userfile::read_text(&f, crate::userfile::NGINX_LIMIT) {
            Ok(t) => t,
            // In the nginx image beside nginx.conf.
            Err(e) if e.is_not_found() && f.file_name().is_some_and(|n| n == "mime.types") => {
                MIME_TYPES.to_string()
            }
            Err(e) if e.is_not_found() && f.file_name().is_some_and(|n| n == "fastcgi_params") => {
                FASTCGI_PARAMS.to_string()
            }
            Err(e) if e.is_not_found() && f.file_name().is_some_and(|n| n == "fastcgi.conf") => {
                fastcgi_conf()
            }
            // For what the built-in proxy does not do.
            Err(_)
                if f.file_name().is_some_and(|n| {
                    ["scgi_params", "uwsgi_params"].contains(&n.to_str().unwrap_or(""))
                }) =>
            {
                return Err(ConfError::unsupported(
                    loc.clone(),
                    format!("the built-in proxy has no {written:?}: it speaks no SCGI or uWSGI"),
                ));
            }
            Err(e) => {
                return Err(ConfError::invalid(
                    loc.clone(),
                    format!("cannot open included file {written:?} ({}): {e}", f.display()),
                ));
            }
        };
        out.extend(parse_nested(
            &text,
            f.display().to_string().into(),
            prefix,
            resolver,
            depth + 1,
            nesting,
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Directive> {
        parse_text(text, "t.conf".into(), Path::new("/nonexistent"), &AsWritten, 0).unwrap()
    }

    fn err(text: &str) -> ConfError {
        parse_text(text, "t.conf".into(), Path::new("/nonexistent"), &AsWritten, 0).unwrap_err()
    }

    #[test]
    fn words_quotes_blocks_comments() {
        let d = parse(
            "user nginx; # comment\nhttp {\n  log_format main '$a \"q\"' \"b\\\"c\";\n  location ~ ^/api(/.*)$ { return 200 ${x}y; }\n}\n",
        );
        assert_eq!(d[0].name, "user");
        assert_eq!(d[0].args, vec!["nginx"]);
        let http = d[1].block.as_ref().unwrap();
        assert_eq!(http[0].args, vec!["main", "$a \"q\"", "b\"c"]);
        assert_eq!(http[0].loc.line, 3);
        let loc = &http[1];
        assert_eq!(loc.args, vec!["~", "^/api(/.*)$"]);
        assert_eq!(loc.block.as_ref().unwrap()[0].args, vec!["200", "${x}y"]);
    }

    #[test]
    fn backslashes_kept_unless_escaping() {
        assert_eq!(parse("server_name ~^api\\d+\\.;")[0].args, vec!["~^api\\d+\\."]);
        assert_eq!(parse("a b\\;c;")[0].args, vec!["b\\;c"]);
    }

    #[test]
    fn errors_are_located() {
        let e = err("http {\n  server {\n    listen 80\n  }\n");
        assert_eq!(e.loc.line, 4, "{e}");
        assert!(e.message.contains("\";\" missing"), "{e}");
        let e = err("events { worker_connections 10; }\n}\n");
        assert_eq!((e.loc.line, e.message.as_str()), (2, "unexpected \"}\""));
        let e = err("http {\n");
        assert!(e.message.contains("end of file"), "{e}");
        let e = err("a 'open;\n");
        assert!(e.message.contains("expecting '"), "{e}");
    }

    #[test]
    fn includes_globs_and_builtin_mime_types() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(dir.path().join("conf.d/a.conf"), "server { listen 1; }\n").unwrap();
        std::fs::write(dir.path().join("conf.d/b.conf"), "server { listen 2; }\n").unwrap();
        let d = parse_text(
            "http { include conf.d/*.conf; include /etc/nowhere/mime.types; }",
            "t.conf".into(),
            dir.path(),
            &AsWritten,
            0,
        )
        .unwrap();
        let http = d[0].block.as_ref().unwrap();
        assert_eq!(http[0].name, "server");
        assert_eq!(http[1].block.as_ref().unwrap()[0].args, vec!["2"]);
        assert_eq!(http[2].name, "types");
        assert!(http[2].block.as_ref().unwrap().iter().any(|t| t.name == "text/html"));
        let e = parse_text("include missing.conf;", "t.conf".into(), dir.path(), &AsWritten, 0)
            .unwrap_err();
        assert!(e.message.contains("cannot open included file"), "{e}");
    }

    #[test]
    fn deep_nesting_is_a_located_error_not_a_stack_overflow() {
        let deep = |n: usize| {
            format!("http {{ server {{ {} }} }}", "location /a { ".repeat(n) + &"} ".repeat(n))
        };
        assert!(
            parse_text(&deep(MAX_NESTING - 2), "t.conf".into(), Path::new("/"), &AsWritten, 0)
                .is_ok()
        );
        let e = err(&deep(4000));
        assert!(e.message.contains("deeper than 64"), "{e}");
        // "http { server { " then 14 characters a location, its brace the 13th.
        assert_eq!(
            (e.loc.line, e.loc.col),
            (1, 16 + 14 * (MAX_NESTING - 2) + 13),
            "at the brace that went over"
        );
        let e = err(&"http {".repeat(20_000));
        assert!(e.message.contains("deeper than 64"), "{e}");
    }

    #[test]
    fn includes_take_only_regular_files_and_never_echo_them() {
        let dir = tempfile::tempdir().unwrap();
        let inc = |what: &str| {
            parse_text(
                &format!("http {{ include {what}; }}"),
                "t.conf".into(),
                dir.path(),
                &AsWritten,
                0,
            )
        };
        for dev in ["/dev/zero", "/dev/urandom"] {
            let e = inc(dev).unwrap_err();
            assert!(e.message.contains("not a regular file"), "{e}");
        }
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600))
            .unwrap();
        assert!(inc(fifo.to_str().unwrap()).unwrap_err().message.contains("named pipe"));
        let secret = "admin:$apr1$Qxk1$secrethashvalue";
        std::fs::write(
            dir.path().join("passwd"),
            format!("root:x:0:0:root:/root:/bin/bash\n{secret}\n"),
        )
        .unwrap();
        let e = inc("passwd").unwrap_err();
        assert!(!e.to_string().contains("secrethash") && !e.to_string().contains("root:x"), "{e}");
        assert_eq!(e.loc.line, 2, "{e}");
    }

    #[test]
    fn a_large_comment_only_file_is_read_in_one_pass() {
        let text = "# a comment line of some length, repeated many times over\n".repeat(200_000);
        assert!(parse(&text).is_empty());
    }
}
