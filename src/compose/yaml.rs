//! The only module that knows which YAML crate is in use.
//!
//! It turns YAML text into a tree of [`Node`]s that remember where they came
//! from (file, line, column), so that every later stage (interpolation,
//! merging, conversion to the model) can report problems at the real place in
//! the user's file. Anchors, aliases, `<<` merge keys and the `!reset` /
//! `!override` tags of the Compose Specification are resolved or kept here.

use std::collections::HashMap;
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diag::{Diagnostic, Location};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// The float and the text it was written as (so `3.10` stays `3.10`).
    Float(f64, String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub loc: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Location,
    /// A local tag such as `reset` or `override` (without the `!`).
    pub tag: Option<String>,
}

impl Node {
    pub fn new(value: Value, loc: Location) -> Self {
        Node { value, loc, tag: None }
    }

    pub fn as_map(&self) -> Option<&Vec<(Key, Node)>> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The scalar as text, as compose reads a scalar where it wants a string.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(_, raw) => Some(raw.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(..) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Writes data as YAML text (the `config` command's output).
///
/// libyaml takes U+0085, U+2028 and U+2029 for line breaks, as YAML 1.1
/// did, and folds them with indentation into quoted strings, which a YAML
/// 1.2 reader (ours) then reads as part of the text. Strings holding one
/// stand in the tree as placeholders and are written double-quoted, with
/// those characters escaped.
pub fn to_string(value: &serde_json::Value) -> Result<String, String> {
    let mut value = value.clone();
    // A placeholder no text of the document contains.
    let whole = value.to_string();
    let mut tag = String::from("rcompose-held");
    while whole.contains(&tag) {
        tag.push('x');
    }
    let mut held = Vec::new();
    hold_breaks(&mut value, &tag, &mut held);
    let mut text = serde_yaml::to_string(&value).map_err(|e| e.to_string())?;
    // In reverse, so `-1` is not found inside `-12`.
    for (i, s) in held.iter().enumerate().rev() {
        text = text.replace(&format!("{tag}-{i}"), &double_quoted(s));
    }
    Ok(text)
}

fn has_break(s: &str) -> bool {
    s.contains(['\u{85}', '\u{2028}', '\u{2029}'])
}

fn hold_breaks(v: &mut serde_json::Value, tag: &str, held: &mut Vec<String>) {
    use serde_json::Value as J;
    let hold = |s: String, held: &mut Vec<String>| {
        held.push(s);
        format!("{tag}-{}", held.len() - 1)
    };
    match v {
        J::String(s) if has_break(s) => *s = hold(std::mem::take(s), held),
        J::Array(items) => items.iter_mut().for_each(|x| hold_breaks(x, tag, held)),
        J::Object(map) => {
            let entries: Vec<(String, J)> = std::mem::take(map).into_iter().collect();
            for (k, mut x) in entries {
                hold_breaks(&mut x, tag, held);
                let k = if has_break(&k) { hold(k, held) } else { k };
                map.insert(k, x);
            }
        }
        _ => {}
    }
}

/// A YAML double-quoted scalar with every character that needs it escaped.
fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The node as plain data (for extension keys, which are passed through).
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f, raw) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or_else(|| J::String(raw.clone())),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => {
            J::Object(entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect())
        }
    }
}

/// Parses one file. Each YAML document becomes one node; an empty file gives none.
pub fn parse(text: &str, file: Arc<str>) -> Result<Vec<Node>, Diagnostic> {
    // A byte order mark is no part of the text (editors on Windows write one).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(d) = control_character(text, &file) {
        return Err(d);
    }
    let mut builder = Builder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        error: None,
        nodes: 0,
        aliased: 0,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let m = e.marker();
        let info = e.info().to_string();
        return Err(Diagnostic::error(
            Some(loc_of(&file, m)),
            "",
            format!("YAML syntax error: {info}"),
        ));
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs)
}

/// YAML allows only printable characters (tab and line breaks aside); the
/// parser here would take a NUL inside a plain scalar as text, where docker
/// compose stops with "control characters are not allowed". So does this.
fn control_character(text: &str, file: &Arc<str>) -> Option<Diagnostic> {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || c >= '\u{10000}'
    };
    let (at, c) = text.char_indices().find(|&(_, c)| !printable(c))?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    let mut d = Diagnostic::error(
        Some(Location { file: file.clone(), line, col }),
        "",
        format!("YAML syntax error: control character U+{:04X} is not allowed", c as u32),
    );
    d.hint = Some(
        "YAML files hold printable text only; remove the character or write it as an escape in a double-quoted string, like \"\\x00\""
            .into(),
    );
    Some(d)
}

fn loc_of(file: &Arc<str>, m: &Marker) -> Location {
    Location { file: file.clone(), line: m.line(), col: m.col() + 1 }
}

enum Frame {
    Seq {
        node: Node,
        anchor: usize,
        items: Vec<Node>,
    },
    /// `lines` has each key's line, to refuse a key written twice without
    /// walking the entries for each new one (quadratic on big mappings).
    Map {
        node: Node,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
        merges: Vec<Node>,
        lines: HashMap<String, usize>,
    },
}

struct Builder {
    file: Arc<str>,
    stack: Vec<Frame>,
    /// Each anchored node, with how many nodes it holds.
    anchors: HashMap<usize, (Node, usize)>,
    docs: Vec<Node>,
    error: Option<Diagnostic>,
    /// Nodes made so far, and how many of them are copies made for aliases.
    nodes: usize,
    aliased: usize,
}

/// How many nodes `n` holds, itself included.
fn size(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(items) => items.iter().map(size).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| size(v)).sum(),
        _ => 0,
    }
}

/// The share of a document's nodes that may come from aliases, as Go's
/// yaml.v3 (and so docker compose) allows it: nearly all in a small
/// document, a tenth in a huge one. Beyond it, aliases nested in aliases
/// ("billion laughs") would fill memory from a few lines.
fn aliasing_allowed(nodes: usize, aliased: usize) -> bool {
    const LOW: f64 = 400_000.0;
    const HIGH: f64 = 4_000_000.0;
    if aliased <= 100 || nodes <= 1000 {
        return true;
    }
    let n = nodes as f64;
    let ratio = if n <= LOW {
        0.99
    } else if n >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * (n - LOW) / (HIGH - LOW)
    };
    aliased as f64 / n <= ratio
}

impl Builder {
    fn fail(&mut self, d: Diagnostic) {
        if self.error.is_none() {
            self.error = Some(d);
        }
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let n = size(&node);
            self.anchors.insert(anchor, (node.clone(), n));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, pending_key, merges, lines, .. }) => {
                match pending_key.take() {
                    None => {
                        let name = match &node.value {
                            Value::Null => String::new(),
                            Value::Seq(_) | Value::Map(_) => {
                                let d = Diagnostic::error(
                                    Some(node.loc.clone()),
                                    "",
                                    "a mapping key must be a plain value, not a list or mapping",
                                );
                                self.fail(d);
                                return;
                            }
                            _ => node.scalar_text().unwrap_or_default(),
                        };
                        if name != "<<" {
                            if let Some(prev) = lines.get(&name) {
                                let d = Diagnostic::error(
                                    Some(node.loc.clone()),
                                    "",
                                    format!(
                                        "mapping key \"{name}\" already defined at line {prev}"
                                    ),
                                );
                                self.fail(d);
                                return;
                            }
                            lines.insert(name.clone(), node.loc.line);
                        }
                        *pending_key = Some(Key { name, loc: node.loc });
                    }
                    Some(key) if key.name == "<<" && node.tag.is_none() => merges.push(node),
                    Some(key) => entries.push((key, node)),
                }
            }
        }
    }
}

fn local_tag(tag: &Option<Tag>) -> (Option<String>, bool) {
    match tag {
        Some(t) if t.handle == "!" => (Some(t.suffix.clone()), false),
        Some(t) if t.suffix == "str" || t.suffix.ends_with(":str") => (None, true),
        _ => (None, false),
    }
}

/// Resolves a plain scalar by YAML 1.2's core schema, as compose's YAML library does.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY, s.into());
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY, s.into()),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN, s.into()),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // A leading zero is octal, as Go's yaml.v3 (and so docker compose) reads
        // it: `mode: 0400` is r--------, `A: 0123` is 83. `0089` stays decimal.
        if digits.len() > 1
            && digits.starts_with('0')
            && digits.bytes().all(|b| b < b'8')
            && let Ok(i) = i64::from_str_radix(digits, 8)
        {
            return Value::Int(if s.starts_with('-') { -i } else { i });
        }
        if let Ok(i) = s.parse::<i64>() {
            return Value::Int(i);
        }
    } else if let Some(hex) = s.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    } else if let Some(oct) = s.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    if looks_like_float(digits)
        && let Ok(f) = s.parse::<f64>()
    {
        return Value::Float(f, s.into());
    }
    Value::Str(s.into())
}

fn looks_like_float(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && digits(int) && exp.is_some(),
    };
    let exp_ok = match exp {
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        }
        None => true,
    };
    mantissa_ok && exp_ok
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let loc = loc_of(&self.file, &mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                self.nodes += 1;
                let (local, forced_str) = local_tag(&tag);
                let value = if forced_str || style != TScalarStyle::Plain {
                    Value::Str(text)
                } else {
                    resolve_plain(&text)
                };
                let node = Node { value, loc, tag: local };
                self.finish(node, anchor);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((n, count)) => {
                    // Counted before the copy is made, so a refused one costs nothing.
                    self.nodes += count;
                    self.aliased += count;
                    if !aliasing_allowed(self.nodes, self.aliased) {
                        let d = Diagnostic::error(
                            Some(loc),
                            "",
                            format!("the document has excessive aliasing: aliases would expand to {} of its {} values", self.aliased, self.nodes),
                        )
                        .with_hint("an alias copies its anchor's whole value; aliases of aliases multiply (docker compose refuses such a file too)");
                        self.fail(d);
                        return;
                    }
                    let n = n.clone();
                    self.finish(n, 0);
                }
                None => {
                    self.fail(Diagnostic::error(Some(loc), "", "alias refers to an unknown anchor"))
                }
            },
            Event::SequenceStart(anchor, tag) => {
                self.nodes += 1;
                let node = Node { value: Value::Null, loc, tag: local_tag(&tag).0 };
                self.stack.push(Frame::Seq { node, anchor, items: Vec::new() });
            }
            Event::MappingStart(anchor, tag) => {
                self.nodes += 1;
                let node = Node { value: Value::Null, loc, tag: local_tag(&tag).0 };
                self.stack.push(Frame::Map {
                    node,
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                    merges: Vec::new(),
                    lines: HashMap::new(),
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { mut node, anchor, items }) = self.stack.pop() {
                    node.value = Value::Seq(items);
                    self.finish(node, anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    mut node, anchor, mut entries, merges, mut lines, ..
                }) = self.stack.pop()
                {
                    // `<<: *base` adds the keys the mapping does not set itself.
                    for merge in merges {
                        let sources = match merge.value {
                            Value::Map(_) => vec![merge],
                            Value::Seq(items) => items,
                            _ => {
                                self.fail(Diagnostic::error(
                                    Some(merge.loc),
                                    "",
                                    "the value of a `<<` merge key must be a mapping or a list of mappings",
                                ));
                                return;
                            }
                        };
                        for src in sources {
                            let Value::Map(src_entries) = src.value else {
                                self.fail(Diagnostic::error(
                                    Some(src.loc),
                                    "",
                                    "the value of a `<<` merge key must be a mapping or a list of mappings",
                                ));
                                return;
                            };
                            for (k, v) in src_entries {
                                if !lines.contains_key(&k.name) {
                                    lines.insert(k.name.clone(), k.loc.line);
                                    entries.push((k, v));
                                }
                            }
                        }
                    }
                    node.value = Value::Map(entries);
                    self.finish(node, anchor);
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        parse(text, "t.yml".into()).unwrap().remove(0)
    }

    #[test]
    fn line_separators_are_written_so_they_read_back() {
        // Found by fuzzing: libyaml folded U+2028 into a single-quoted string
        // with indentation, which read back as eight more spaces.
        let value = serde_json::json!({"env": {"A": "\u{2028}", "B": "x\u{2029}y\u{85}\"\\", "k\u{2028}": "plain", "C": "rcompose-held-0"}});
        let text = to_string(&value).unwrap();
        let node = parse(&text, "t".into()).unwrap().remove(0);
        assert_eq!(to_json(&node), value, "{text}");
    }

    #[test]
    fn scalars_resolve_like_core_schema() {
        let n = one("a: 1\nb: '1'\nc: true\nd: yes\ne: ~\nf: 3.10\ng: 8080:80\nh:\ni: 0x10\n");
        assert_eq!(n.get("a").unwrap().value, Value::Int(1));
        assert_eq!(n.get("b").unwrap().value, Value::Str("1".into()));
        assert_eq!(n.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(n.get("d").unwrap().value, Value::Str("yes".into()));
        assert_eq!(n.get("e").unwrap().value, Value::Null);
        assert_eq!(n.get("f").unwrap().scalar_text().unwrap(), "3.10");
        assert_eq!(n.get("g").unwrap().value, Value::Str("8080:80".into()));
        assert!(n.get("h").unwrap().is_null());
        assert_eq!(n.get("i").unwrap().value, Value::Int(16));
        // Leading zeros are octal, as in Go's yaml.v3, unless a digit is 8 or 9.
        let n = one("m: 0400\nn: 0089\no: 00\np: 0\n");
        assert_eq!(n.get("m").unwrap().value, Value::Int(0o400));
        assert_eq!(n.get("n").unwrap().value, Value::Int(89));
        assert_eq!(n.get("o").unwrap().value, Value::Int(0));
        assert_eq!(n.get("p").unwrap().value, Value::Int(0));
    }

    #[test]
    fn locations_are_one_based_and_real() {
        let n = one("services:\n  web:\n    image: x\n");
        let web = n.get("services").unwrap().get("web").unwrap();
        let img = web.get("image").unwrap();
        assert_eq!((img.loc.line, img.loc.col), (3, 12));
        let key = &web.as_map().unwrap()[0].0;
        assert_eq!((key.loc.line, key.loc.col), (3, 5));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n =
            one("x: &base\n  restart: always\n  image: a\ny:\n  <<: *base\n  image: b\nz: *base\n");
        let y = n.get("y").unwrap();
        assert_eq!(y.get("image").unwrap().value, Value::Str("b".into()));
        assert_eq!(y.get("restart").unwrap().value, Value::Str("always".into()));
        assert_eq!(n.get("z").unwrap().get("image").unwrap().value, Value::Str("a".into()));
    }

    #[test]
    fn aliases_of_aliases_are_refused_before_they_fill_memory() {
        // Nine levels of ten aliases: a billion values from a dozen lines.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse(&text, "t.yml".into()).unwrap_err();
        assert!(err.message.contains("excessive aliasing"), "{err}");
        assert!(err.location.unwrap().line <= 6, "at the alias that went over");
        // Ordinary reuse, many times over, is fine.
        let mut text = String::from(
            "x-base: &base {image: a, restart: always, environment: {A: 1, B: 2}}\nservices:\n",
        );
        for i in 0..500 {
            text.push_str(&format!("  s{i}: *base\n"));
        }
        assert!(parse(&text, "t.yml".into()).is_ok());
    }

    #[test]
    fn tags_are_kept() {
        let n = one("a: !reset []\nb: !override {x: 1}\nc: !!str 5\n");
        assert_eq!(n.get("a").unwrap().tag.as_deref(), Some("reset"));
        assert_eq!(n.get("b").unwrap().tag.as_deref(), Some("override"));
        assert_eq!(n.get("c").unwrap().value, Value::Str("5".into()));
    }

    #[test]
    fn syntax_error_has_real_line() {
        let err =
            parse("services:\n  web:\n    image: x\n   bad: [\n", "t.yml".into()).unwrap_err();
        let loc = err.location.clone().unwrap();
        assert!(loc.line >= 4, "{err}");
        assert!(err.message.starts_with("YAML syntax error"));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a:\n  image: x\n  image: y\n", "t.yml".into()).unwrap_err();
        assert!(err.message.contains("already defined at line 2"), "{err}");
        assert_eq!(err.location.unwrap().line, 3);
    }

    #[test]
    fn empty_file_has_no_document() {
        assert!(parse("", "t.yml".into()).unwrap().is_empty());
        assert!(parse("# only a comment\n", "t.yml".into()).unwrap().is_empty());
    }
}
