//! `include`: other compose projects whose resources become this project's.
//!
//! As docker compose does it (checked side by side with 2.40): each entry is
//! read as its own project, in the folder of its first file (or its
//! `project_directory`), interpolated with its own `.env` (or `env_file`)
//! under the including project's variables, its files merged as override
//! files. Its services, networks, volumes, secrets and configs are then added
//! to the including file; one defined there too, differently, is an error.

use std::path::Path;

use super::extends;
use super::syntax::clean_path;
use super::yaml::{self, Node, Value};
use crate::diag::{Diagnostic, Diagnostics, Location};

/// One `include` entry: `PATH`, or `{path: PATH | [PATH...], project_directory, env_file}`.
pub struct Entry {
    /// Where it is, as a key path (`include[0]`).
    pub key: String,
    pub paths: Vec<(String, Location)>,
    pub project_directory: Option<String>,
    pub env_files: Vec<String>,
}

const SECTIONS: &[(&str, &str)] = &[
    ("services", "service"),
    ("networks", "network"),
    ("volumes", "volume"),
    ("secrets", "secret"),
    ("configs", "config"),
];

pub fn entries(node: &Node, diags: &mut Diagnostics) -> Vec<Entry> {
    let hint = "write a path, or `{path: FILE, project_directory: DIR, env_file: FILE}`";
    let Value::Seq(items) = &node.value else {
        diags.push(
            Diagnostic::error(
                Some(node.loc.clone()),
                "include",
                format!("include must be a list, found {}", node.kind_name()),
            )
            .with_hint(hint),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("include[{i}]");
        let mut bad = |n: &Node, p: &str, msg: String| {
            diags.push(Diagnostic::error(Some(n.loc.clone()), p, msg).with_hint(hint))
        };
        let strings = |n: &Node| -> Option<Vec<(String, Location)>> {
            match &n.value {
                Value::Str(s) if !s.is_empty() => Some(vec![(s.clone(), n.loc.clone())]),
                Value::Seq(list) if !list.is_empty() => list
                    .iter()
                    .map(|x| match &x.value {
                        Value::Str(s) if !s.is_empty() => Some((s.clone(), x.loc.clone())),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            }
        };
        match &item.value {
            Value::Str(_) => out.push(Entry {
                key: path,
                paths: strings(item).unwrap_or_default(),
                project_directory: None,
                env_files: Vec::new(),
            }),
            Value::Map(fields) => {
                let mut entry = Entry {
                    key: path.clone(),
                    paths: Vec::new(),
                    project_directory: None,
                    env_files: Vec::new(),
                };
                let mut ok = true;
                for (k, v) in fields {
                    let p = format!("{path}.{}", k.name);
                    match k.name.as_str() {
                        "path" => match strings(v) {
                            Some(paths) => entry.paths = paths,
                            None => {
                                bad(v, &p, "`path` must be a file or a list of files".into());
                                ok = false;
                            }
                        },
                        "env_file" => match strings(v) {
                            Some(files) => {
                                entry.env_files = files.into_iter().map(|(f, _)| f).collect()
                            }
                            None => {
                                bad(v, &p, "`env_file` must be a file or a list of files".into());
                                ok = false;
                            }
                        },
                        "project_directory" => match &v.value {
                            Value::Str(d) if !d.is_empty() => {
                                entry.project_directory = Some(d.clone())
                            }
                            _ => {
                                bad(v, &p, "`project_directory` must be a folder".into());
                                ok = false;
                            }
                        },
                        other => {
                            bad(
                                &Node::new(Value::Null, k.loc.clone()),
                                &p,
                                format!("unknown key `{other}` in include"),
                            );
                            ok = false;
                        }
                    }
                }
                if entry.paths.is_empty() && ok {
                    bad(item, &path, "an include entry needs `path`".into());
                } else if ok {
                    out.push(entry);
                }
            }
            _ => bad(
                item,
                &path,
                format!("an include entry must be a path or a mapping, found {}", item.kind_name()),
            ),
        }
    }
    out
}

/// The included tree with its relative paths made absolute against `dir`.
pub fn rebase(mut tree: Node, dir: &Path) -> Node {
    let Value::Map(sections) = &mut tree.value else { return tree };
    for (k, section) in sections.iter_mut() {
        let Value::Map(entries) = &mut section.value else { continue };
        for (_, v) in entries.iter_mut() {
            match k.name.as_str() {
                "services" => {
                    *v = extends::rebase(
                        std::mem::replace(v, Node::new(Value::Null, v.loc.clone())),
                        dir,
                    )
                }
                "secrets" | "configs" => {
                    if let Value::Map(fields) = &mut v.value
                        && let Some((_, file)) = fields.iter_mut().find(|(f, _)| f.name == "file")
                        && let Value::Str(f) = &mut file.value
                        && !f.starts_with('~')
                        && !Path::new(f.as_str()).is_absolute()
                    {
                        *f = clean_path(&dir.join(&*f));
                    }
                }
                _ => {}
            }
        }
    }
    tree
}

/// Adds what `included` (read from `from`) defines to `doc`.
pub fn import(doc: &mut Node, included: Node, from: &str, diags: &mut Diagnostics) {
    let Value::Map(imported) = included.value else { return };
    let Value::Map(entries) = &mut doc.value else { return };
    for (key, section) in imported {
        let Some(&(_, kind)) = SECTIONS.iter().find(|(s, _)| *s == key.name) else { continue };
        let Value::Map(items) = section.value else { continue };
        let target = match entries.iter().position(|(k, _)| k.name == key.name) {
            Some(i) => &mut entries[i].1,
            None => {
                let loc = key.loc.clone();
                entries.push((key.clone(), Node::new(Value::Map(Vec::new()), loc)));
                &mut entries.last_mut().expect("just pushed").1
            }
        };
        if target.is_null() {
            target.value = Value::Map(Vec::new());
        }
        let Value::Map(existing) = &mut target.value else { continue };
        for (name, item) in items {
            match existing.iter().find(|(k, _)| k.name == name.name) {
                Some((k, v)) if yaml::to_json(v) != yaml::to_json(&item) => {
                    let path = format!("{}.{}", key.name, name.name);
                    let msg = format!(
                        "{kind} {:?} is defined here and, differently, in {from}, which is included",
                        name.name
                    );
                    diags.push(
                        Diagnostic::error(Some(k.loc.clone()), path, msg)
                            .with_hint(format!("rename one of them, or define it only in {from}")),
                    );
                }
                Some(_) => {}
                None => existing.push((name, item)),
            }
        }
    }
}
