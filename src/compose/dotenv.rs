//! The `.env` grammar as compose reads it, for the project's `.env` and for
//! `env_file`.
//!
//! `#` comment lines, an optional `export ` prefix, `'single'` quotes taken
//! literally, `"double"` quotes with `\n \t \r \\ \"` escapes and
//! interpolation, unquoted values where ` #` starts a comment, `KEY=` empty
//! and `KEY` alone (taken from the environment, left out when it is unset).

use super::interpolate::{InterpolationError, interpolate};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// Parses `text`; `lookup` answers variables from the environment, which win
/// over variables defined earlier in the same file.
/// What the values of one file may add up to: each is at most 1 MiB, but
/// ten thousand lines of `A=${BIG}` would still need gigabytes.
pub const MAX_TOTAL: usize = 64 << 20;

pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, DotenvError> {
    let mut vars: Vec<(String, String)> = Vec::new();
    // The latest definition of each name, so a lookup is not a walk of the file so far.
    let mut latest: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut total = 0usize;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    // What follows a closing quote is read as more of the file, as docker
    // compose reads it (`A='x'B=2` sets B too; `A='x' ;` is an error).
    let mut carry: Option<(String, usize)> = None;
    loop {
        let (text, lineno, carried) = match carry.take() {
            Some((t, n)) => (t, n, true),
            None if i < lines.len() => {
                i += 1;
                (lines[i - 1].to_string(), i, false)
            }
            None => break,
        };
        let line = text.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let (key, rest) = match line.find('=') {
            Some(eq) => (line[..eq].trim_end(), Some(&line[eq + 1..])),
            None => (line, None),
        };
        if key.is_empty() && carried {
            continue; // `A="a"=`: docker compose reads `a` and lets the rest go
        }
        if key.is_empty() {
            return Err(DotenvError {
                line: lineno,
                message: "a variable name is missing before `=`".into(),
            });
        }
        if let Some(bad) =
            key.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(DotenvError {
                line: lineno,
                message: format!("unexpected character {bad:?} in variable name {key:?}"),
            });
        }
        let lookup_all =
            |name: &str| lookup(name).or_else(|| latest.get(name).map(|&i| vars[i].1.clone()));
        let value = match rest {
            None => match lookup(key) {
                Some(v) => v,
                None => continue,
            },
            Some(rest) => {
                let rest = rest.trim_start();
                let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"');
                match quote {
                    Some(q) => {
                        // A quoted value may run over several lines.
                        let mut body = rest[1..].to_string();
                        let mut close = find_close(&body, q);
                        while close.is_none() && i < lines.len() {
                            body.push('\n');
                            body.push_str(lines[i]);
                            i += 1;
                            close = find_close(&body, q);
                        }
                        let Some(close) = close else {
                            return Err(DotenvError {
                                line: lineno,
                                message: format!("unterminated quoted value for {key}"),
                            });
                        };
                        // The quote closed on line `i`, the last one read.
                        let after = body[close + 1..].trim();
                        if !after.is_empty() && !after.starts_with('#') {
                            carry = Some((after.to_string(), i));
                        }
                        let inner = &body[..close];
                        if q == '\'' {
                            inner.to_string()
                        } else {
                            let escaped = unescape_double(inner);
                            expand(&escaped, &lookup_all, lineno)?
                        }
                    }
                    None => {
                        let value = match rest.find(" #").or_else(|| rest.find("\t#")) {
                            Some(c) => &rest[..c],
                            None => rest,
                        };
                        expand(value.trim_end(), &lookup_all, lineno)?
                    }
                }
            }
        };
        total += value.len();
        if total > MAX_TOTAL {
            return Err(DotenvError {
                line: lineno,
                message: format!(
                    "the values of this file add up to more than {} MiB",
                    MAX_TOTAL >> 20
                ),
            });
        }
        latest.insert(key.to_string(), vars.len());
        vars.push((key.to_string(), value));
    }
    Ok(vars)
}

fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    line: usize,
) -> Result<String, DotenvError> {
    interpolate(text, lookup)
        .map(|o| o.text)
        .map_err(|e: InterpolationError| DotenvError { line, message: e.to_string() })
}

fn find_close(body: &str, q: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if q == '"' && c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        if c == q && !escaped {
            return Some(i);
        }
        escaped = false;
    }
    None
}

/// Resolves backslash escapes; an escaped `$` becomes `$$` so that
/// interpolation afterwards keeps it literal.
fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('$') => out.push_str("$$"),
            Some(other @ ('\\' | '"' | '\'')) => out.push(other),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "HOME").then(|| "/root".to_string())
    }

    fn get(vars: &[(String, String)], k: &str) -> Option<String> {
        vars.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn what_follows_a_closing_quote_is_read_on_as_docker_compose_reads_it() {
        let vars = parse("A='a'B=2\nC=\"c\" d\nE='e'  # note\n", &env).unwrap();
        assert_eq!(
            (get(&vars, "A"), get(&vars, "B"), get(&vars, "C"), get(&vars, "E")),
            (Some("a".into()), Some("2".into()), Some("c".into()), Some("e".into()))
        );
        let err = parse("OK=1\nN='it''s'\n", &env).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("unexpected character '\\''"), "{}", err.message);
        assert_eq!(parse("A='x' ;\n", &env).unwrap_err().line, 1);
        assert!(parse("C=\"c\" d # note\n", &env).is_err());
        assert_eq!(parse("A='multi\nline' ;\n", &env).unwrap_err().line, 2);
    }

    #[test]
    fn grammar() {
        let text = "# comment\n\nA=1\nexport B='x y $HOME'\nC=\"q\\nz\\t\\\"w\\\\\" # c\nD=un quoted # comment\nE=\nHOME\nNOTSET\nF=a#b\nG = spaced \n";
        let v = parse(text, &env).unwrap();
        assert_eq!(get(&v, "A").unwrap(), "1");
        assert_eq!(get(&v, "B").unwrap(), "x y $HOME");
        assert_eq!(get(&v, "C").unwrap(), "q\nz\t\"w\\");
        assert_eq!(get(&v, "D").unwrap(), "un quoted");
        assert_eq!(get(&v, "E").unwrap(), "");
        assert_eq!(get(&v, "HOME").unwrap(), "/root");
        assert_eq!(get(&v, "NOTSET"), None);
        assert_eq!(get(&v, "F").unwrap(), "a#b");
        assert_eq!(get(&v, "G").unwrap(), "spaced");
    }

    #[test]
    fn interpolation_uses_earlier_lines_and_environment() {
        let v = parse("Q=\"a${HOME}b\"\nR=${Q}z\nS=${NOPE:-dflt}\nT='${Q}'\nU=\"\\$HOME\"\n", &env)
            .unwrap();
        assert_eq!(get(&v, "Q").unwrap(), "a/rootb");
        assert_eq!(get(&v, "R").unwrap(), "a/rootbz");
        assert_eq!(get(&v, "S").unwrap(), "dflt");
        assert_eq!(get(&v, "T").unwrap(), "${Q}");
        assert_eq!(get(&v, "U").unwrap(), "$HOME");
    }

    #[test]
    fn multiline_quotes_and_later_wins() {
        let v = parse("K=\"line1\nline2\"\nK2=x\nK2=y\n", &env).unwrap();
        assert_eq!(get(&v, "K").unwrap(), "line1\nline2");
        assert_eq!(get(&v, "K2").unwrap(), "y");
    }

    #[test]
    fn errors_have_lines() {
        let e = parse("A=1\nB=\"open\n", &env).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("A=1\nB C=2\n", &env).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("variable name"));
        let e = parse("X=${REQ:?set REQ}\n", &env).unwrap_err();
        assert!(e.message.contains("REQ"));
    }

    #[test]
    fn values_that_double_at_each_line_are_refused_at_the_line_that_overflows() {
        let mut text = String::from("A0=xxxxxxxxxxxxxxxx\n");
        for i in 1..40 {
            text.push_str(&format!("A{i}=${{A{p}}}${{A{p}}}\n", p = i - 1));
        }
        let e = parse(&text, &|_| None).unwrap_err();
        // 16 bytes doubled 17 times is 2 MiB: past the 1 MiB a value may have.
        assert_eq!(e.line, 18, "{}", e.message);
        assert!(e.message.contains("longer than"), "{}", e.message);
        let many = "A=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
            .repeat(10)
            + &"B${A}${A}${A}${A}${A}${A}${A}${A}\n".replace("B", "B=");
        assert!(parse(&many, &|_| None).is_ok());
    }
}
