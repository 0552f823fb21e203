//! Manifests as YAML that Kubernetes reads back as written. serde_yaml
//! writes YAML 1.2, where `yes`, `on` and `y` are plain strings; kubectl's
//! YAML 1.1 reads them as booleans, so an env file's `DEBUG=yes` would be
//! refused. Any string that is not plainly a word is quoted here.

use serde_json::Value;

/// One document, in kubectl's layout (lists at their key's indentation).
pub(super) fn document(v: &Value) -> String {
    let mut out = String::new();
    for line in lines(v) {
        out.push_str(line.trim_end_matches(' '));
        out.push('\n');
    }
    out
}

fn lines(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let key = scalar_text(k);
                value_lines(&format!("{key}:"), v, true, &mut out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                value_lines("-", item, false, &mut out);
            }
        }
        other => out.push(inline(other)),
    }
    out
}

/// `head` (`key:` or `-`) and the value after it; a key's list stays at
/// the key's indentation, anything else nested goes two deeper.
fn value_lines(head: &str, v: &Value, is_key: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let inner = lines(v);
            if is_key {
                out.push(head.to_string());
                out.extend(inner.into_iter().map(|l| format!("  {l}")));
            } else {
                let mut it = inner.into_iter();
                out.push(format!("{head} {}", it.next().unwrap_or_default()));
                out.extend(it.map(|l| format!("  {l}")));
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let inner = lines(v);
            if is_key {
                out.push(head.to_string());
                out.extend(inner);
            } else {
                let mut it = inner.into_iter();
                out.push(format!("{head} {}", it.next().unwrap_or_default()));
                out.extend(it.map(|l| format!("  {l}")));
            }
        }
        Value::String(s) if block_safe(s) => {
            let trailing = s.len() - s.trim_end_matches('\n').len();
            let chomp = match trailing {
                0 => "-",
                1 => "",
                _ => "+",
            };
            out.push(format!("{head} |{chomp}"));
            for line in s.trim_end_matches('\n').split('\n') {
                out.push(if line.is_empty() { String::new() } else { format!("  {line}") });
            }
            out.extend(std::iter::repeat_n(String::new(), trailing.saturating_sub(1)));
        }
        other => out.push(format!("{head} {}", inline(other))),
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::String(s) => scalar_text(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

/// A multi-line text that a literal block keeps exactly.
fn block_safe(s: &str) -> bool {
    s.contains('\n')
        && s.trim_end_matches('\n').contains(|c: char| c != '\n')
        && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
        && s.split('\n').find(|l| !l.is_empty()).is_some_and(|l| !l.starts_with([' ', '\t']))
        && !s.split('\n').any(|l| l.ends_with([' ', '\t']))
}

/// A string as a plain word when YAML 1.1 and 1.2 both read it back as that
/// string, else double-quoted (JSON's escapes are YAML's).
fn scalar_text(s: &str) -> String {
    if plain_safe(s) { s.to_string() } else { serde_json::to_string(s).unwrap_or_default() }
}

fn plain_safe(s: &str) -> bool {
    const WORDS: &[&str] =
        &["y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", "nan", "inf"];
    let mut chars = s.chars();
    let Some(first) = chars.next() else { return false };
    let start_ok = first.is_ascii_alphabetic()
        || first == '/'
        || first == '_'
        || (first == '-' && chars.next().is_some_and(|c| c == '-' || c.is_ascii_alphabetic()));
    start_ok
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "/_.-:@=+,%".contains(c) || c == ' ')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with([' ', ':'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_words_are_quoted() {
        let doc = document(&json!({"data": {"A": "yes", "B": "on", "C": "8080:80", "D": "0.0.0.0",
            "E": "--port", "F": "plain word", "G": "", "H": "a: b", "I": "x #y", "J": "-"}}));
        assert_eq!(
            doc,
            "data:\n  A: \"yes\"\n  B: \"on\"\n  C: \"8080:80\"\n  D: \"0.0.0.0\"\n  E: --port\n  F: plain word\n  G: \"\"\n  H: \"a: b\"\n  I: \"x #y\"\n  J: \"-\"\n"
        );
    }

    #[test]
    fn layout_is_kubectls() {
        let doc = document(&json!({"spec": {"containers": [{"name": "web", "args": ["a", 1]}],
            "empty": {}, "none": [], "num": 3, "ok": true}}));
        assert_eq!(
            doc,
            "spec:\n  containers:\n  - name: web\n    args:\n    - a\n    - 1\n  empty: {}\n  none: []\n  num: 3\n  ok: true\n"
        );
    }

    #[test]
    fn texts_keep_their_ends() {
        let text = |s: &str| document(&json!({"t": s}));
        assert_eq!(text("a\nb\n"), "t: |\n  a\n  b\n");
        assert_eq!(text("a\nb"), "t: |-\n  a\n  b\n");
        assert_eq!(text("a\n\nb\n\n"), "t: |+\n  a\n\n  b\n\n");
        assert_eq!(text("  indented\nx"), "t: \"  indented\\nx\"\n");
        assert_eq!(text("trailing \nx"), "t: \"trailing \\nx\"\n");
    }

    #[test]
    fn parses_back_as_written() {
        let v = json!({"a": ["yes", "no", "1", "1.5", "null", "~", "x: y", "line\nnext\n", "tab\there"],
                       "b": {"c": [{"d": "e\n\n"}]}});
        let back: Value = serde_yaml::from_str(&document(&v)).unwrap();
        assert_eq!(back, v);
    }
}
