//! Values of one kind: text, numbers, sizes, durations, lists and
//! mappings of strings, each refused with its location when it is not one.

use super::*;

impl Converter<'_> {
    /// A list of strings, each of which `ok` must take.
    pub(super) fn named_items(
        &mut self,
        n: &Node,
        path: &str,
        ok: fn(&str) -> bool,
        what: &str,
        hint: &str,
    ) {
        let Some(items) = self.list(n, path, "a mapping or a list of strings") else { return };
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            if let Some(text) = self.text(item, &ip).filter(|t| !ok(t)) {
                self.error_hint(&item.loc, &ip, format!("invalid {what} {text:?}"), hint);
            }
        }
    }

    pub(super) fn string(&mut self, n: &Node, path: &str) -> Option<String> {
        match &n.value {
            Value::Str(_) | Value::Int(_) | Value::Float(..) | Value::Bool(_) => n.scalar_text(),
            _ => {
                self.expected(n, path, "a string");
                None
            }
        }
    }

    /// A value the Compose Specification's schema types as a string only:
    /// docker compose refuses a number or a boolean there (`hostname: 42`),
    /// so rcompose does too, where `string` would take its text.
    pub(super) fn text(&mut self, n: &Node, path: &str) -> Option<String> {
        match &n.value {
            Value::Str(_) => n.scalar_text(),
            Value::Int(_) | Value::Float(..) | Value::Bool(_) => {
                let found = n.scalar_text().unwrap_or_default();
                self.error_hint(
                    &n.loc,
                    path,
                    format!("expected a string, found {}", n.kind_name()),
                    format!("quote it: \"{found}\""),
                );
                None
            }
            _ => {
                self.expected(n, path, "a string");
                None
            }
        }
    }

    /// `text` where `""` is no setting (see `set_string`).
    pub(super) fn set_text(&mut self, n: &Node, path: &str) -> Option<String> {
        self.text(n, path).filter(|s| !s.is_empty())
    }

    /// A key written with no value where docker compose wants one (its schema
    /// takes null only for a few keys: `command`, `deploy`, ...). Reported at
    /// the key, as an empty value's own place is wherever the next token starts.
    pub(super) fn refuse_null(&mut self, k: &Key, n: &Node, path: &str) -> bool {
        if !n.is_null() {
            return false;
        }
        self.error_hint(
            &k.loc,
            path,
            format!("`{}` has no value", k.name),
            "give it a value, or remove the key",
        );
        true
    }

    /// A string setting where `""` is no setting, as compose-go's `omitempty`
    /// fields have it (`hostname: "${HOST:-}"` leaves the hostname alone).
    pub(super) fn set_string(&mut self, n: &Node, path: &str) -> Option<String> {
        self.string(n, path).filter(|s| !s.is_empty())
    }

    pub(super) fn bool(&mut self, n: &Node, path: &str) -> Option<bool> {
        match &n.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if matches!(s.as_str(), "true" | "True" | "TRUE") => Some(true),
            Value::Str(s) if matches!(s.as_str(), "false" | "False" | "FALSE") => Some(false),
            _ => {
                self.expected(n, path, "true or false");
                None
            }
        }
    }

    pub(super) fn uint(&mut self, n: &Node, path: &str) -> Option<u64> {
        match &n.value {
            Value::Str(s) if s.parse::<u64>().is_ok() => s.parse().ok(),
            _ => self.int(n, path, 0, i64::MAX).map(|i| i as u64),
        }
    }

    /// A number as YAML writes it, where docker compose's schema takes no
    /// string of digits.
    pub(super) fn number(&mut self, n: &Node, path: &str) -> Option<()> {
        match n.value {
            Value::Int(_) | Value::Float(..) => Some(()),
            _ => {
                self.expected(n, path, "a number");
                None
            }
        }
    }

    /// A whole number within `min..=max`.
    pub(super) fn int(&mut self, n: &Node, path: &str, min: i64, max: i64) -> Option<i64> {
        let v = match &n.value {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match v {
            Some(i) if (min..=max).contains(&i) => Some(i),
            Some(i) => {
                let range = if max == i64::MAX {
                    format!("{min} or more")
                } else {
                    format!("from {min} to {max}")
                };
                self.error_hint(
                    &n.loc,
                    path,
                    format!("{i} is out of range"),
                    format!("use a whole number {range}"),
                );
                None
            }
            _ if max == i64::MAX => {
                self.expected(n, path, &format!("a whole number, {min} or more"));
                None
            }
            _ => {
                self.expected(n, path, &format!("a whole number from {min} to {max}"));
                None
            }
        }
    }

    /// A size such as `512m`, as a decimal count of bytes; `-1` (unlimited) where allowed.
    pub(super) fn bytes(&mut self, n: &Node, path: &str, unlimited: bool) -> Option<String> {
        let s = self.string(n, path)?;
        if unlimited && s.trim() == "-1" {
            return Some("-1".into());
        }
        match syntax::parse_bytes(&s) {
            Ok(0) => None,
            Ok(b) => Some(b.to_string()),
            Err(e) => {
                self.error(&n.loc, path, e);
                None
            }
        }
    }

    /// A size where docker compose's schema has "integer or string": a
    /// fraction such as `1.5` is refused there, though `mem_limit` takes one.
    pub(super) fn whole_bytes(&mut self, n: &Node, path: &str) -> Option<String> {
        if matches!(n.value, Value::Float(..)) {
            self.expected(n, path, "a whole number of bytes or a size like 512m");
            return None;
        }
        self.bytes(n, path, false)
    }

    /// `cpus`: a number of CPUs, fractions allowed (`0.5`, `"1.5"`).
    pub(super) fn cpus(&mut self, n: &Node, path: &str) -> Option<f64> {
        let text = match &n.value {
            Value::Str(_) | Value::Int(_) | Value::Float(..) => n.scalar_text(),
            _ => None,
        };
        match text.and_then(|t| t.trim().parse::<f64>().ok()) {
            Some(f) if f.is_finite() && f >= 0.0 => (f > 0.0).then_some(f),
            _ => {
                self.expected(n, path, "a number of CPUs, like 0.5 or 2");
                None
            }
        }
    }

    pub(super) fn duration(&mut self, n: &Node, path: &str) -> Option<std::time::Duration> {
        let s = self.string(n, path)?;
        match syntax::parse_duration(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(&n.loc, path, e);
                None
            }
        }
    }

    /// A list of strings, or (where `single` is true) one string standing for a list of one.
    pub(super) fn strings(&mut self, n: &Node, path: &str, single: bool) -> Vec<String> {
        match &n.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.text(item, &index(path, i)))
                .collect(),
            Value::Str(_) | Value::Int(_) | Value::Float(..) | Value::Bool(_) if single => {
                self.text(n, path).into_iter().collect()
            }
            Value::Null => Vec::new(),
            _ => {
                self.expected(
                    n,
                    path,
                    if single { "a string or a list of strings" } else { "a list of strings" },
                );
                Vec::new()
            }
        }
    }

    /// A list of strings or numbers (`expose`, `group_add`), as text.
    pub(super) fn strings_or_numbers(&mut self, n: &Node, path: &str) -> Vec<String> {
        let Some(items) = self.list(n, path, "a list of strings or numbers") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match &item.value {
                Value::Str(_) | Value::Int(_) | Value::Float(..) => out.extend(item.scalar_text()),
                _ => self.expected(item, &index(path, i), "a string or a number"),
            }
        }
        out
    }

    /// `command`/`entrypoint`: a string split like a shell would, or a list.
    pub(super) fn command(&mut self, n: &Node, path: &str) -> Option<Vec<String>> {
        match &n.value {
            Value::Null => None,
            Value::Str(s) => match super::syntax::split_command(s) {
                Ok((words, cut)) => {
                    if let Some(at) = cut {
                        self.warn(
                            &n.loc,
                            path,
                            format!(
                                "`{}` and what follows is dropped, as docker compose drops it: a command string is not run by a shell; write `[\"sh\", \"-c\", ...]` to use one",
                                &s[at..at + 1]
                            ),
                        );
                    }
                    Some(words)
                }
                Err(why) => {
                    self.error_hint(
                        &n.loc,
                        path,
                        format!("invalid command line ({why})"),
                        "close the quote, or write the command as a list",
                    );
                    None
                }
            },
            Value::Seq(_) => Some(self.strings(n, path, false)),
            _ => {
                self.expected(n, path, "a string or a list of strings");
                None
            }
        }
    }

    /// `environment`, `labels`, `build.args`: a mapping or a list of `KEY=VALUE`.
    pub(super) fn key_values(
        &mut self,
        n: &Node,
        path: &str,
    ) -> Vec<(String, Option<String>, Location)> {
        let mut out = Vec::new();
        match &n.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let kp = join(path, &k.name);
                    let value = match &v.value {
                        Value::Null => None,
                        Value::Seq(_) | Value::Map(_) => {
                            self.expected(v, &kp, "a string, number or boolean");
                            continue;
                        }
                        _ => v.scalar_text(),
                    };
                    out.push((k.name.clone(), value, k.loc.clone()));
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let Some(text) = self.text(item, &index(path, i)) else {
                        continue;
                    };
                    match text.split_once('=') {
                        Some((k, v)) => {
                            out.push((k.to_string(), Some(v.to_string()), item.loc.clone()))
                        }
                        None => out.push((text, None, item.loc.clone())),
                    }
                }
            }
            Value::Null => {}
            _ => self.expected(n, path, "a mapping or a list of KEY=VALUE"),
        }
        out
    }

    pub(super) fn string_map(&mut self, n: &Node, path: &str) -> BTreeMap<String, String> {
        self.key_values(n, path).into_iter().map(|(k, v, _)| (k, v.unwrap_or_default())).collect()
    }

    /// A mapping whose values are strings only (`aux_addresses`).
    pub(super) fn text_map(&mut self, n: &Node, path: &str) -> BTreeMap<String, String> {
        let Value::Map(entries) = &n.value else {
            self.expected(n, path, "a mapping");
            return BTreeMap::new();
        };
        entries
            .iter()
            .filter_map(|(k, v)| Some((k.name.clone(), self.text(v, &join(path, &k.name))?)))
            .collect()
    }

    /// `driver_opts`, `logging.options`, `storage_opt`: a mapping only (no
    /// `KEY=VALUE` list), its values strings or numbers, null where `null_ok`.
    pub(super) fn options(
        &mut self,
        n: &Node,
        path: &str,
        null_ok: bool,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Value::Map(entries) = &n.value else {
            self.expected(n, path, "a mapping");
            return out;
        };
        for (k, v) in entries {
            let text = match &v.value {
                Value::Str(_) | Value::Int(_) | Value::Float(..) => v.scalar_text(),
                Value::Null if null_ok => Some(String::new()),
                _ => {
                    self.expected(
                        v,
                        &join(path, &k.name),
                        if null_ok { "a string, a number or null" } else { "a string or a number" },
                    );
                    continue;
                }
            };
            out.insert(k.name.clone(), text.unwrap_or_default());
        }
        out
    }

    /// A list (nothing for null), or an error saying a list was expected.
    pub(super) fn list<'n>(&mut self, n: &'n Node, path: &str, what: &str) -> Option<&'n [Node]> {
        match &n.value {
            Value::Seq(items) => Some(items),
            Value::Null => Some(&[]),
            _ => {
                self.expected(n, path, what);
                None
            }
        }
    }

    /// A list of mappings with these keys: `each` gets every mapping's path,
    /// entries and node (ones that are not mappings are reported and skipped).
    pub(super) fn each_map(
        &mut self,
        n: &Node,
        path: &str,
        what: &str,
        keys: &[&str],
        mut each: impl FnMut(&mut Self, &str, &[(Key, Node)], &Node),
    ) {
        let Some(items) = self.list(n, path, what) else { return };
        for (i, item) in items.iter().enumerate() {
            let ip = index(path, i);
            let Some(fields) = self.map(item, &ip) else { continue };
            self.check_keys(fields, &ip, keys, &[]);
            each(self, &ip, fields, item);
        }
    }
}
