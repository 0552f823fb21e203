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

#[derive(Debug, Clone, PartialEq)]
pub struct ConfError {
    pub loc: Location,
    pub message: String,
}

impl std::fmt::Display for ConfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.loc, self.message)
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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Semi,
    Open,
    Close,
}

/// The character after a backslash, as nginx reads it: quotes, backslash and
/// t/r/n are escapes; anything else keeps its backslash (`\d` stays `\d`).
fn push_escaped(word: &mut String, c: char) {
    match c {
        '"' | '\'' | '\\' => word.push(c),
        't' => word.push('\t'),
        'r' => word.push('\r'),
        'n' => word.push('\n'),
        other => {
            word.push('\\');
            word.push(other);
        }
    }
}

fn tokenize(text: &str, file: &Arc<str>) -> Result<Vec<(Tok, Location)>, ConfError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let loc = |line, col| Location { file: file.clone(), line, col };
    let advance = |c: char, line: &mut usize, col: &mut usize| {
        if c == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            advance(c, &mut line, &mut col);
            i += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
                col += 1;
            }
            continue;
        }
        let start = loc(line, col);
        match c {
            ';' => {
                out.push((Tok::Semi, start));
                i += 1;
                col += 1;
            }
            '{' => {
                out.push((Tok::Open, start));
                i += 1;
                col += 1;
            }
            '}' => {
                out.push((Tok::Close, start));
                i += 1;
                col += 1;
            }
            '"' | '\'' => {
                let q = c;
                i += 1;
                col += 1;
                let mut word = String::new();
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return Err(ConfError { loc: start, message: format!("unexpected end of file, expecting {q}") });
                    };
                    i += 1;
                    advance(ch, &mut line, &mut col);
                    if ch == q {
                        break;
                    }
                    if ch == '\\' {
                        let Some(&next) = chars.get(i) else { continue };
                        i += 1;
                        advance(next, &mut line, &mut col);
                        push_escaped(&mut word, next);
                        continue;
                    }
                    word.push(ch);
                }
                out.push((Tok::Word(word), start));
            }
            _ => {
                let mut word = String::new();
                while let Some(&ch) = chars.get(i) {
                    if ch.is_whitespace() || ch == ';' || ch == '}' {
                        break;
                    }
                    // `{` opens a block unless it is part of `${var}`.
                    if ch == '{' && !word.ends_with('$') {
                        break;
                    }
                    if ch == '{' {
                        // Copy through the closing brace of `${...}`.
                        while let Some(&b) = chars.get(i) {
                            word.push(b);
                            i += 1;
                            col += 1;
                            if b == '}' {
                                break;
                            }
                        }
                        continue;
                    }
                    if ch == '\\' && i + 1 < chars.len() {
                        push_escaped(&mut word, chars[i + 1]);
                        i += 2;
                        col += 2;
                        continue;
                    }
                    word.push(ch);
                    i += 1;
                    col += 1;
                }
                out.push((Tok::Word(word), start));
            }
        }
    }
    Ok(out)
}

/// Parses a configuration file, following `include`s. `prefix` is the
/// directory relative includes resolve against (nginx's conf prefix).
pub fn parse_file(path: &Path, prefix: &Path, resolver: &dyn Resolver) -> Result<Vec<Directive>, ConfError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfError {
        loc: Location { file: path.display().to_string().into(), line: 0, col: 0 },
        message: format!("cannot read the configuration: {e}"),
    })?;
    parse_text(&text, path.display().to_string().into(), prefix, resolver, 0)
}

pub fn parse_text(text: &str, file: Arc<str>, prefix: &Path, resolver: &dyn Resolver, depth: usize) -> Result<Vec<Directive>, ConfError> {
    let toks = tokenize(text, &file)?;
    let mut pos = 0;
    let list = parse_block(&toks, &mut pos, &file, prefix, resolver, depth, true)?;
    Ok(list)
}

fn parse_block(
    toks: &[(Tok, Location)],
    pos: &mut usize,
    file: &Arc<str>,
    prefix: &Path,
    resolver: &dyn Resolver,
    depth: usize,
    top: bool,
) -> Result<Vec<Directive>, ConfError> {
    let mut out = Vec::new();
    loop {
        let Some((tok, loc)) = toks.get(*pos) else {
            if top {
                return Ok(out);
            }
            let loc = toks.last().map(|t| t.1.clone()).unwrap_or(Location { file: file.clone(), line: 1, col: 1 });
            return Err(ConfError { loc, message: "unexpected end of file, expecting \"}\"".into() });
        };
        match tok {
            Tok::Close if !top => {
                *pos += 1;
                return Ok(out);
            }
            Tok::Close => {
                return Err(ConfError { loc: loc.clone(), message: "unexpected \"}\"".into() });
            }
            Tok::Semi => {
                return Err(ConfError { loc: loc.clone(), message: "unexpected \";\"".into() });
            }
            Tok::Open => {
                return Err(ConfError { loc: loc.clone(), message: "unexpected \"{\"".into() });
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
                        Some((Tok::Open, _)) => {
                            *pos += 1;
                            break Some(parse_block(toks, pos, file, prefix, resolver, depth, false)?);
                        }
                        Some((Tok::Close, l)) => {
                            return Err(ConfError {
                                loc: l.clone(),
                                message: format!("unexpected \"}}\" after directive \"{name}\"; is a \";\" missing?"),
                            });
                        }
                        None => {
                            return Err(ConfError {
                                loc: dloc,
                                message: format!("unexpected end of file after directive \"{name}\", expecting \";\" or \"}}\""),
                            });
                        }
                    }
                };
                if name == "include" && block.is_none() {
                    out.extend(include(&args, &dloc, prefix, resolver, depth)?);
                } else {
                    out.push(Directive { name, args, block, loc: dloc });
                }
            }
        }
    }
}

fn include(args: &[String], loc: &Location, prefix: &Path, resolver: &dyn Resolver, depth: usize) -> Result<Vec<Directive>, ConfError> {
    if args.len() != 1 {
        return Err(ConfError { loc: loc.clone(), message: "invalid number of arguments in \"include\" directive".into() });
    }
    if depth > 16 {
        return Err(ConfError { loc: loc.clone(), message: "includes nest too deep (an include loop?)".into() });
    }
    let written = &args[0];
    let conf_path = if Path::new(written).is_absolute() { written.clone() } else { prefix.join(written).display().to_string() };
    let host = resolver.host_path(&conf_path);
    let pattern = host.display().to_string();
    let mut files: Vec<PathBuf> = if pattern.contains(['*', '?', '[']) {
        glob::glob(&pattern)
            .map_err(|e| ConfError { loc: loc.clone(), message: format!("invalid include pattern {written:?}: {e}") })?
            .filter_map(Result::ok)
            .collect()
    } else {
        vec![host.clone()]
    };
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(_) if f.file_name().is_some_and(|n| n == "mime.types") => MIME_TYPES.to_string(),
            // In the nginx image beside mime.types; for what the built-in proxy does not do.
            Err(_)
                if f.file_name().is_some_and(|n| {
                    ["fastcgi_params", "fastcgi.conf", "scgi_params", "uwsgi_params"].contains(&n.to_str().unwrap_or(""))
                }) =>
            {
                return Err(ConfError {
                    loc: loc.clone(),
                    message: format!(
                        "the built-in proxy has no {written:?}: it speaks no FastCGI, SCGI or uWSGI; {}",
                        super::config::DEFAULT_HINT
                    ),
                });
            }
            Err(e) => {
                return Err(ConfError {
                    loc: loc.clone(),
                    message: format!("cannot open included file {written:?} ({}): {e}", f.display()),
                });
            }
        };
        out.extend(parse_text(&text, f.display().to_string().into(), prefix, resolver, depth + 1)?);
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
        let d = parse_text("http { include conf.d/*.conf; include /etc/nowhere/mime.types; }", "t.conf".into(), dir.path(), &AsWritten, 0)
            .unwrap();
        let http = d[0].block.as_ref().unwrap();
        assert_eq!(http[0].name, "server");
        assert_eq!(http[1].block.as_ref().unwrap()[0].args, vec!["2"]);
        assert_eq!(http[2].name, "types");
        assert!(http[2].block.as_ref().unwrap().iter().any(|t| t.name == "text/html"));
        let e = parse_text("include missing.conf;", "t.conf".into(), dir.path(), &AsWritten, 0).unwrap_err();
        assert!(e.message.contains("cannot open included file"), "{e}");
    }
}
