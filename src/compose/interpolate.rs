//! `${VAR}` interpolation with the operators of the Compose Specification.
//!
//! Applied to string values (never keys) of each file before files are merged,
//! and to values in `.env` files.

use std::fmt;

/// What interpolation did besides producing text: variables it found unset.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub text: String,
    /// Variables used without a default and not set: compose warns and uses "".
    pub unset: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${VAR:?message}` or `${VAR?message}` with the variable missing.
    Required { var: String, message: String },
    /// A `${` that does not form a valid expression.
    Invalid { template: String },
    /// `${` nested in defaults deeper than [`MAX_NESTING`].
    TooDeep,
    /// A result longer than [`MAX_LENGTH`] bytes.
    TooLong,
}

/// How deep `${A:-${B:-...}}` may nest: real files nest two or three
/// levels; a hundred thousand grew memory quadratically and overflowed the stack.
pub const MAX_NESTING: usize = 32;

/// The longest value interpolation makes, 1 MiB: a `.env` whose values
/// double at each line would otherwise need terabytes. (An environment
/// variable of a container is limited to 128 KiB by the kernel anyway.)
pub const MAX_LENGTH: usize = 1 << 20;

impl fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpolationError::Required { var, message } if message.is_empty() => {
                write!(f, "required variable {var} is missing a value")
            }
            InterpolationError::Required { var, message } => {
                write!(f, "required variable {var} is missing a value: {message}")
            }
            InterpolationError::Invalid { template } => {
                write!(f, "invalid interpolation format: {template:?}")
            }
            InterpolationError::TooDeep => {
                write!(f, "interpolation nests `${{` deeper than {MAX_NESTING} levels")
            }
            InterpolationError::TooLong => {
                write!(f, "interpolation makes a value longer than {MAX_LENGTH} bytes (1 MiB)")
            }
        }
    }
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}
fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Interpolates `input`, looking variables up with `lookup`.
pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Outcome, InterpolationError> {
    let mut out = Outcome::default();
    out.text = expand(input, lookup, &mut out.unset, 0)?;
    Ok(out)
}

/// Appends `text` unless the result would grow past [`MAX_LENGTH`].
fn push_bounded(out: &mut String, text: &str) -> Result<(), InterpolationError> {
    if out.len() + text.len() > MAX_LENGTH {
        return Err(InterpolationError::TooLong);
    }
    out.push_str(text);
    Ok(())
}

fn expand(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
) -> Result<String, InterpolationError> {
    if depth > MAX_NESTING {
        return Err(InterpolationError::TooDeep);
    }
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len().min(MAX_LENGTH));
    let mut i = 0;
    let mut literal_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        push_bounded(&mut out, &input[literal_start..i])?;
        match bytes.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => {
                let end = matching_brace(bytes, i + 2)
                    .ok_or_else(|| InterpolationError::Invalid { template: input.to_string() })?;
                let inner = &input[i + 2..end];
                push_bounded(&mut out, &braced(inner, input, lookup, unset, depth)?)?;
                i = end + 1;
            }
            Some(&c) if is_name_start(c) => {
                let mut j = i + 1;
                while j < bytes.len() && is_name_char(bytes[j]) {
                    j += 1;
                }
                let name = &input[i + 1..j];
                match lookup(name) {
                    Some(v) => push_bounded(&mut out, &v)?,
                    None => note_unset(unset, name),
                }
                i = j;
            }
            // A lone `$` is kept as it is, as compose does.
            _ => {
                out.push('$');
                i += 1;
            }
        }
        literal_start = i;
    }
    push_bounded(&mut out, &input[literal_start..])?;
    Ok(out)
}

fn note_unset(unset: &mut Vec<String>, name: &str) {
    if !unset.iter().any(|u| u == name) {
        unset.push(name.to_string());
    }
}

/// Index of the `}` closing a `${` whose body starts at `start`, counting nested `${...}`.
fn matching_brace(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'$' if bytes.get(i + 1) == Some(&b'$') => {
                i += 2;
                continue;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn braced(
    inner: &str,
    whole: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
) -> Result<String, InterpolationError> {
    let b = inner.as_bytes();
    let invalid = || InterpolationError::Invalid { template: whole.to_string() };
    if b.is_empty() || !is_name_start(b[0]) {
        return Err(invalid());
    }
    let mut n = 1;
    while n < b.len() && is_name_char(b[n]) {
        n += 1;
    }
    let name = &inner[..n];
    let rest = &inner[n..];
    let value = lookup(name);
    let expand = |word: &str, unset: &mut Vec<String>| expand(word, lookup, unset, depth + 1);
    if value.as_ref().is_some_and(|v| v.len() > MAX_LENGTH) {
        return Err(InterpolationError::TooLong);
    }
    if rest.is_empty() {
        return Ok(value.unwrap_or_else(|| {
            note_unset(unset, name);
            String::new()
        }));
    }
    let (op, word) = [":-", "-", ":?", "?", ":+", "+"]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|w| (*op, w)))
        .ok_or_else(invalid)?;
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    // The word is only expanded when it is used, as a shell does.
    match op {
        ":-" if non_empty => Ok(value.unwrap_or_default()),
        "-" if set => Ok(value.unwrap_or_default()),
        ":-" | "-" => expand(word, unset),
        ":?" if non_empty => Ok(value.unwrap_or_default()),
        "?" if set => Ok(value.unwrap_or_default()),
        ":?" | "?" => Err(InterpolationError::Required {
            var: name.to_string(),
            message: expand(word, unset)?,
        }),
        ":+" if non_empty => expand(word, unset),
        "+" if set => expand(word, unset),
        _ => Ok(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("val".into()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("8080".into()),
            _ => None,
        }
    }

    fn run(s: &str) -> Result<Outcome, InterpolationError> {
        interpolate(s, &env)
    }
    fn text(s: &str) -> String {
        run(s).unwrap().text
    }

    #[test]
    fn simple_forms() {
        assert_eq!(text("$SET"), "val");
        assert_eq!(text("${SET}"), "val");
        assert_eq!(text("a${SET}b$SET.c"), "avalbval.c");
        assert_eq!(text("${PORT}:80"), "8080:80");
        assert_eq!(text("no vars"), "no vars");
    }

    #[test]
    fn defaults_distinguish_unset_and_empty() {
        assert_eq!(text("${UNSET:-d}"), "d");
        assert_eq!(text("${EMPTY:-d}"), "d");
        assert_eq!(text("${UNSET-d}"), "d");
        assert_eq!(text("${EMPTY-d}"), "");
        assert_eq!(text("${SET:-d}"), "val");
    }

    #[test]
    fn replacements() {
        assert_eq!(text("${SET:+r}"), "r");
        assert_eq!(text("${EMPTY:+r}"), "");
        assert_eq!(text("${EMPTY+r}"), "r");
        assert_eq!(text("${UNSET+r}"), "");
    }

    #[test]
    fn required() {
        assert_eq!(
            run("${UNSET:?need it}").unwrap_err(),
            InterpolationError::Required { var: "UNSET".into(), message: "need it".into() }
        );
        assert!(run("${EMPTY:?x}").is_err());
        assert_eq!(text("${EMPTY?x}"), "");
        assert!(run("${UNSET?x}").unwrap_err().to_string().contains("UNSET"));
    }

    #[test]
    fn nesting_and_escapes() {
        assert_eq!(text("${UNSET:-${SET}}"), "val");
        assert_eq!(text("${UNSET:-${ALSO:-deep}}"), "deep");
        assert_eq!(text("$$SET"), "$SET");
        assert_eq!(text("$${SET}"), "${SET}");
        assert_eq!(text("a $ b"), "a $ b");
        assert_eq!(text("cost: 5$"), "cost: 5$");
    }

    #[test]
    fn unset_is_reported_once_and_empty() {
        let o = run("${NOPE}-$NOPE").unwrap();
        assert_eq!(o.text, "-");
        assert_eq!(o.unset, vec!["NOPE".to_string()]);
        assert!(run("${UNSET:-x}").unwrap().unset.is_empty());
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep = |n: usize| format!("{}x{}", "${UNSET:-".repeat(n), "}".repeat(n));
        assert_eq!(text(&deep(MAX_NESTING)), "x");
        assert_eq!(run(&deep(MAX_NESTING + 1)).unwrap_err(), InterpolationError::TooDeep);
        // A hundred thousand levels: refused, in linear time and bounded stack.
        assert_eq!(run(&deep(100_000)).unwrap_err(), InterpolationError::TooDeep);
        let big = |name: &str| (name == "BIG").then(|| "a".repeat(MAX_LENGTH / 2 + 1));
        assert_eq!(interpolate("${BIG}", &big).unwrap().text.len(), MAX_LENGTH / 2 + 1);
        assert_eq!(interpolate("${BIG}$BIG", &big).unwrap_err(), InterpolationError::TooLong);
        assert_eq!(
            interpolate(&"$BIG".repeat(10_000), &big).unwrap_err(),
            InterpolationError::TooLong
        );
    }

    #[test]
    fn invalid_templates() {
        assert!(matches!(run("${}"), Err(InterpolationError::Invalid { .. })));
        assert!(matches!(run("${SET"), Err(InterpolationError::Invalid { .. })));
        assert!(matches!(run("${1X}"), Err(InterpolationError::Invalid { .. })));
        assert!(matches!(run("${SET!x}"), Err(InterpolationError::Invalid { .. })));
    }
}
