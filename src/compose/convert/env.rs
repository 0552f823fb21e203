//! `env_file` and `label_file`: files of KEY=VALUE lines.

use super::*;

/// Variables read from files: name, value, where the file was named, the file.
pub(super) type FileEntries = Vec<(String, Option<String>, Location, String)>;

impl Converter<'_> {
    /// `env_file` or `label_file` (`what`: `env` or `label`): files of
    /// variables, each with where it was written and the file it came from.
    pub(super) fn env_files(&mut self, n: &Node, path: &str, what: &str) -> FileEntries {
        // (path, required, raw format, where, key path)
        let mut specs: Vec<(String, bool, bool, Location, String)> = Vec::new();
        let items: Vec<&Node> = match &n.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => vec![n],
        };
        for (i, item) in items.into_iter().enumerate() {
            let ip =
                if matches!(n.value, Value::Seq(_)) { index(path, i) } else { path.to_string() };
            match &item.value {
                Value::Map(entries) => {
                    self.check_keys(entries, &ip, &["path", "required", "format"], &[]);
                    let mut p = None;
                    let mut required = true;
                    let mut raw = false;
                    for (k, v) in entries {
                        let kp = join(&ip, &k.name);
                        match k.name.as_str() {
                            "path" => p = self.text(v, &kp),
                            "required" => required = self.bool(v, &kp).unwrap_or(true),
                            "format" => match self.string(v, &kp).as_deref() {
                                Some("raw") => raw = true,
                                Some(other) => self.error_hint(
                                    &v.loc,
                                    &kp,
                                    format!("unknown env_file format {other:?}"),
                                    "leave it out for dotenv, or use `raw`",
                                ),
                                None => {}
                            },
                            _ => {}
                        }
                    }
                    match p {
                        Some(p) => specs.push((p, required, raw, item.loc.clone(), ip)),
                        None => self.error(&item.loc, &ip, "`path` is required"),
                    }
                }
                _ => {
                    if let Some(p) = self.text(item, &ip) {
                        specs.push((p, true, false, item.loc.clone(), ip));
                    }
                }
            }
        }
        let mut out = Vec::new();
        // Read once, for the whole project, as docker compose does.
        if self.partial {
            return out;
        }
        for (p, required, raw, loc, ip) in specs {
            let full = syntax::resolve_host_path(&p, &self.base, self.home.as_deref());
            let text =
                match crate::userfile::read_text(Path::new(&full), crate::userfile::ENV_LIMIT) {
                    Ok(t) => t,
                    Err(e) if e.is_not_found() && !required => continue,
                    Err(e) if e.is_not_found() => {
                        self.error_hint(
                        &loc,
                        &ip,
                        format!("{what} file {full} not found"),
                        "create it, or write `{path: ..., required: false}` to make it optional",
                    );
                        continue;
                    }
                    Err(e) => {
                        self.error(&loc, &ip, format!("cannot read {what} file {full}: {e}"));
                        continue;
                    }
                };
            if raw {
                // `format: raw`: KEY=VALUE lines taken literally.
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let (k, v) = line.split_once('=').unwrap_or((line, ""));
                    out.push((k.to_string(), Some(v.to_string()), loc.clone(), full.clone()));
                }
                continue;
            }
            // Later env files see the variables of earlier ones, as in compose.
            let env = self.env;
            let earlier = |k: &str| {
                out.iter()
                    .rev()
                    .find(|(n, ..)| n == k)
                    .and_then(|(_, v, ..)| v.clone())
                    .or_else(|| env(k))
            };
            match dotenv::parse(&text, &earlier) {
                Ok(vars) => {
                    for (k, v) in vars {
                        out.push((k, Some(v), loc.clone(), full.clone()));
                    }
                }
                Err(e) => {
                    let file_loc = Location { file: full.as_str().into(), line: e.line, col: 1 };
                    self.diags.push(
                        Diagnostic::error(Some(file_loc), "", e.message)
                            .with_hint(format!("read as the {what}_file of {ip}")),
                    );
                }
            }
        }
        out
    }
}
