//! `extends`: a service built on another one, from the same file or another.
//!
//! Resolved as docker compose resolves it, which is not quite what its
//! documentation says (checked side by side with docker compose 2.40):
//! - each file on its own, before the files are merged, so an override file's
//!   `extends: base` sees only that file's `base`;
//! - `extends.file` is relative to the project directory in the project's own
//!   files, and to the extending file's folder in a file that was extended;
//! - the base's relative paths (build context, env files, bind mounts) keep
//!   pointing where they pointed in its own file;
//! - the local service is merged onto the base by the rules of override files,
//!   and everything is inherited, `depends_on` and `profiles` included.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::merge::merge;
use super::syntax::clean_path;
use super::yaml::{Key, Node, Value};
use crate::diag::{Diagnostic, Diagnostics, Location, did_you_mean};

/// Reads, parses and interpolates a file that is extended, as the loader
/// reads the project's files; `None` once it has said why it could not.
pub type ReadFile<'a> = dyn FnMut(&Path, &Location, &str, &mut Diagnostics) -> Option<Node> + 'a;

/// Resolves `extends` across the files of one load, reading each extended file once.
#[derive(Default)]
pub struct Extender {
    /// The `services:` mapping of each extended file (`None` when it could not be read).
    files: HashMap<PathBuf, Option<Rc<Node>>>,
    /// Cycles already reported, by their members: each member would find the same one.
    cycles: HashSet<Vec<(PathBuf, String)>>,
}

/// The file a service is looked up in.
struct Scope {
    /// Tells the files apart in a cycle.
    id: PathBuf,
    /// What `extends.file` and the base's relative paths are relative to.
    dir: PathBuf,
    services: Rc<Node>,
}

impl Extender {
    /// Replaces every service of `doc` that has `extends` with the resolved service.
    pub fn resolve_file(
        &mut self,
        doc: &mut Node,
        id: &Path,
        dir: &Path,
        read: &mut ReadFile,
        diags: &mut Diagnostics,
    ) {
        let Some(services) = doc.get("services").filter(|s| {
            s.as_map().is_some_and(|m| m.iter().any(|(_, v)| v.get("extends").is_some()))
        }) else {
            return;
        };
        let scope = Scope {
            id: id.to_path_buf(),
            dir: dir.to_path_buf(),
            services: Rc::new(services.clone()),
        };
        let Some(Value::Map(entries)) = map_entry(doc, "services").map(|n| &mut n.value) else {
            return;
        };
        for (key, svc) in entries.iter_mut() {
            if svc.get("extends").is_none() {
                continue;
            }
            if let Some(resolved) = self.service(&scope, &key.name, &mut Vec::new(), read, diags) {
                *svc = resolved;
            }
        }
    }

    /// The service `name` of `scope` with its `extends` resolved, its paths still relative to `scope.dir`.
    fn service(
        &mut self,
        scope: &Scope,
        name: &str,
        chain: &mut Vec<(PathBuf, String)>,
        read: &mut ReadFile,
        diags: &mut Diagnostics,
    ) -> Option<Node> {
        let svc = scope.services.get(name)?;
        let Some(ext) = svc.get("extends") else { return Some(svc.clone()) };
        let path = format!("services.{name}.extends");
        let (file, base) = parse(ext, &path, diags)?;
        chain.push((scope.id.clone(), name.to_string()));
        let based = match file {
            None => self.base(scope, &base, ext, &path, chain, read, diags),
            Some(file) => {
                let file_path = PathBuf::from(clean_path(&scope.dir.join(&file.0)));
                let services =
                    self.services_of(&file_path, &file.1, &format!("{path}.file"), read, diags);
                services.and_then(|services| {
                    let dir = file_path.parent().map(Path::to_path_buf).unwrap_or_default();
                    let other = Scope { id: file_path, dir, services };
                    let node = self.base(&other, &base, ext, &path, chain, read, diags)?;
                    Some(rebase(node, &other.dir))
                })
            }
        };
        chain.pop();
        let mut local = svc.clone();
        if let Value::Map(entries) = &mut local.value {
            entries.retain(|(k, _)| k.name != "extends");
        }
        Some(merge_service(based?, local))
    }

    /// The base service `name` of `scope`, reported at `ext` when it is missing or extends itself.
    #[allow(clippy::too_many_arguments)]
    fn base(
        &mut self,
        scope: &Scope,
        name: &str,
        ext: &Node,
        path: &str,
        chain: &mut Vec<(PathBuf, String)>,
        read: &mut ReadFile,
        diags: &mut Diagnostics,
    ) -> Option<Node> {
        if let Some(start) = chain.iter().position(|(id, n)| *id == scope.id && n == name) {
            let one_file = chain.iter().all(|(id, _)| *id == scope.id);
            let step = |(id, n): &(PathBuf, String)| {
                if one_file { n.clone() } else { format!("{n} ({})", id.display()) }
            };
            let mut members = chain[start..].to_vec();
            members.sort();
            if !self.cycles.insert(members) {
                return None;
            }
            let mut steps: Vec<String> = chain[start..].iter().map(step).collect();
            steps.push(step(&(scope.id.clone(), name.to_string())));
            diags.push(
                Diagnostic::error(
                    Some(ext.loc.clone()),
                    path,
                    format!("circular extends: {}", steps.join(" -> ")),
                )
                .with_hint("one of these services must not extend the next"),
            );
            return None;
        }
        let Some(map) = scope.services.as_map() else {
            let msg =
                format!("cannot extend service {name:?}: {} has no services", scope.id.display());
            diags.push(Diagnostic::error(Some(ext.loc.clone()), path, msg));
            return None;
        };
        if !map.iter().any(|(k, _)| k.name == name) {
            let names = || map.iter().map(|(k, _)| k.name.as_str());
            let hint =
                did_you_mean(name, names()).map(|s| format!("did you mean `{s}`?")).unwrap_or_else(
                    || format!("services there: {}", names().collect::<Vec<_>>().join(", ")),
                );
            let msg = format!(
                "cannot extend service {name:?}: no such service in {}",
                scope.id.display()
            );
            diags.push(Diagnostic::error(Some(ext.loc.clone()), path, msg).with_hint(hint));
            return None;
        }
        self.service(scope, name, chain, read, diags)
    }

    fn services_of(
        &mut self,
        file: &Path,
        loc: &Location,
        key: &str,
        read: &mut ReadFile,
        diags: &mut Diagnostics,
    ) -> Option<Rc<Node>> {
        if let Some(known) = self.files.get(file) {
            return known.clone();
        }
        let services = read(file, loc, key, diags).map(|doc| {
            let empty = Node::new(Value::Map(Vec::new()), doc.loc.clone());
            Rc::new(doc.get("services").cloned().unwrap_or(empty))
        });
        self.files.insert(file.to_path_buf(), services.clone());
        services
    }
}

fn map_entry<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(entries) => entries.iter_mut().find(|(k, _)| k.name == key).map(|(_, v)| v),
        _ => None,
    }
}

/// `extends: NAME` or `extends: {service: NAME, file: PATH}`.
#[allow(clippy::type_complexity)]
fn parse(
    ext: &Node,
    path: &str,
    diags: &mut Diagnostics,
) -> Option<(Option<(String, Location)>, String)> {
    let hint = "write `extends: SERVICE`, or `extends: {file: FILE, service: SERVICE}`";
    let bad = |diags: &mut Diagnostics, loc: &Location, p: &str, msg: String| {
        diags.push(Diagnostic::error(Some(loc.clone()), p, msg).with_hint(hint));
        None
    };
    match &ext.value {
        Value::Str(s) if !s.is_empty() => Some((None, s.clone())),
        Value::Map(entries) => {
            let mut file = None;
            let mut service = None;
            for (k, v) in entries {
                let p = format!("{path}.{}", k.name);
                match (k.name.as_str(), &v.value) {
                    ("service", Value::Str(s)) if !s.is_empty() => service = Some(s.clone()),
                    ("file", Value::Str(s)) if !s.is_empty() => {
                        file = Some((s.clone(), v.loc.clone()))
                    }
                    ("service" | "file", _) => {
                        return bad(
                            diags,
                            &v.loc,
                            &p,
                            format!("`{}` must be a non-empty string", k.name),
                        );
                    }
                    _ => {
                        return bad(
                            diags,
                            &k.loc,
                            &p,
                            format!("unknown key `{}` in extends", k.name),
                        );
                    }
                }
            }
            match service {
                Some(s) => Some((file, s)),
                None => bad(diags, &ext.loc, path, "extends needs `service`".into()),
            }
        }
        _ => bad(
            diags,
            &ext.loc,
            path,
            format!("extends must be a service name or a mapping, found {}", ext.kind_name()),
        ),
    }
}

/// The local service merged onto its base, by the rules of override files.
fn merge_service(base: Node, local: Node) -> Node {
    let wrap = |n: Node| {
        let loc = n.loc.clone();
        let svc = Node::new(
            Value::Map(vec![(Key { name: "s".into(), loc: loc.clone() }, n)]),
            loc.clone(),
        );
        Node::new(Value::Map(vec![(Key { name: "services".into(), loc: loc.clone() }, svc)]), loc)
    };
    let base = if base.is_null() { Node::new(Value::Map(Vec::new()), base.loc) } else { base };
    // Both sides are one-entry mappings, so the merge is one as well.
    let only = |n: Node| match n.value {
        Value::Map(mut entries) if entries.len() == 1 => entries.pop().map(|(_, v)| v),
        _ => None,
    };
    let merged = merge(wrap(base), wrap(local));
    only(merged).and_then(only).expect("a merge of one-entry mappings is one")
}

/// The base's relative paths, made absolute against the folder of the file it came from.
pub(super) fn rebase(mut svc: Node, dir: &Path) -> Node {
    let abs = |s: &mut String| {
        if !s.is_empty() && !s.starts_with('~') && !Path::new(s.as_str()).is_absolute() {
            *s = clean_path(&dir.join(&*s));
        }
    };
    let Value::Map(entries) = &mut svc.value else { return svc };
    for (k, v) in entries.iter_mut() {
        match (k.name.as_str(), &mut v.value) {
            ("build", Value::Str(ctx)) => abs(ctx),
            ("build", Value::Map(_)) => {
                if let Some(Value::Str(ctx)) = map_entry(v, "context").map(|c| &mut c.value)
                    && !(ctx.contains("://")
                        || ctx.starts_with("git@")
                        || ctx.starts_with("github.com/"))
                {
                    abs(ctx);
                }
            }
            ("env_file" | "label_file", Value::Str(f)) => abs(f),
            ("env_file" | "label_file", Value::Seq(items)) => {
                for item in items {
                    match &mut item.value {
                        Value::Str(f) => abs(f),
                        Value::Map(_) => {
                            if let Some(Value::Str(f)) =
                                map_entry(item, "path").map(|p| &mut p.value)
                            {
                                abs(f);
                            }
                        }
                        _ => {}
                    }
                }
            }
            ("volumes", Value::Seq(items)) => {
                for item in items {
                    match &mut item.value {
                        // Short syntax: only a source starting with `.` is a relative folder.
                        Value::Str(spec) if spec.starts_with('.') => {
                            if let Some((src, rest)) = spec.split_once(':') {
                                let mut src = src.to_string();
                                abs(&mut src);
                                *spec = format!("{src}:{rest}");
                            }
                        }
                        Value::Map(m)
                            if m.iter().any(|(k, v)| {
                                k.name == "type" && v.scalar_text().as_deref() == Some("bind")
                            }) =>
                        {
                            if let Some(Value::Str(src)) =
                                map_entry(item, "source").map(|s| &mut s.value)
                            {
                                abs(src);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    svc
}
