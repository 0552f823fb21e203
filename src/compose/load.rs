//! Loading a project as docker compose does: find the files, read `.env`,
//! interpolate each file, merge them, name the project, apply profiles and
//! check what refers to what.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::convert::{Converter, Spans};
use super::dotenv;
use super::extends::Extender;
use super::graph::DepGraph;
use super::include;
use super::interpolate::interpolate;
use super::merge::{merge, strip_resets};
use super::model::{MountType, Network, Project};
use super::yaml::{self, Node, Value};
use crate::diag::{Diagnostic, Diagnostics, Location, did_you_mean};

/// File names looked for, in this order, in the working directory and its parents.
pub const DEFAULT_FILES: &[&str] =
    &["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];
pub const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Everything a load depends on, so that tests can give it without touching
/// the process's environment or directory.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files in order; `-` is standard input.
    pub files: Vec<String>,
    pub project_name: Option<String>,
    pub project_directory: Option<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub profiles: Vec<String>,
    /// Services named on the command line: enabled whatever their profiles, with their dependencies.
    pub services: Vec<String>,
    pub cwd: PathBuf,
    /// The process environment.
    pub environ: HashMap<String, String>,
    /// What `-f -` reads.
    pub stdin: Option<String>,
    /// `false` leaves `${...}` as written (`config --no-interpolate`).
    pub no_interpolate: bool,
    /// Only printing (`config`): a missing build context or Dockerfile is a
    /// warning, as docker compose config accepts it; commands that build refuse it.
    pub print_only: bool,
}

impl LoadOptions {
    /// Options from the real process: its directory and environment.
    pub fn from_process() -> Self {
        LoadOptions {
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            environ: std::env::vars().collect(),
            ..Default::default()
        }
    }
}

#[derive(Debug)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<Diagnostic>,
}

/// Loads a project, or returns every error found (with the warnings before them).
pub fn load(opts: &LoadOptions) -> Result<Loaded, Diagnostics> {
    let mut diags = Diagnostics::default();
    let project = load_inner(opts, &mut diags);
    match project {
        Some(p) if !diags.has_errors() => Ok(Loaded { project: p, warnings: diags.0 }),
        _ => Err(diags),
    }
}

/// Whether a compose file would be found (`-f`, `COMPOSE_FILE`, or a
/// default name here or in a parent): without one, commands that act on
/// what exists can work from `-p NAME` and the engine's labels.
pub fn finds_files(opts: &LoadOptions) -> bool {
    config_paths(opts, &mut Diagnostics::default()).is_some()
}

fn display_name(path: &Path, cwd: &Path) -> String {
    match path.strip_prefix(cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

fn file_diag(file: &str, msg: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Some(Location { file: file.into(), line: 0, col: 0 }), "", msg)
}

/// Finds the files to read: `-f`, else `COMPOSE_FILE`, else the default names
/// in the directory or its parents, plus the matching override file.
fn config_paths(opts: &LoadOptions, diags: &mut Diagnostics) -> Option<Vec<PathBuf>> {
    let abs = |p: &str| {
        if p == "-" { PathBuf::from("-") } else { opts.cwd.join(p) }
    };
    if !opts.files.is_empty() {
        return Some(opts.files.iter().map(|f| abs(f)).collect());
    }
    if let Some(list) = opts.environ.get("COMPOSE_FILE").filter(|l| !l.is_empty()) {
        let sep = opts.environ.get("COMPOSE_PATH_SEPARATOR").map(String::as_str).unwrap_or(":");
        return Some(list.split(sep).filter(|s| !s.is_empty()).map(abs).collect());
    }
    let start = opts
        .project_directory
        .as_ref()
        .map(|d| opts.cwd.join(d))
        .unwrap_or_else(|| opts.cwd.clone());
    for dir in start.ancestors() {
        let found: Vec<&&str> = DEFAULT_FILES.iter().filter(|n| dir.join(n).is_file()).collect();
        if let Some(first) = found.first() {
            if found.len() > 1 {
                let names: Vec<&str> = found.iter().map(|s| **s).collect();
                diags.push(Diagnostic::warning(
                    None,
                    "",
                    format!(
                        "found several compose files in {}: {}; using {first}",
                        dir.display(),
                        names.join(", ")
                    ),
                ));
            }
            let mut files = vec![dir.join(first)];
            if let Some(o) = OVERRIDE_FILES.iter().find(|n| dir.join(n).is_file()) {
                files.push(dir.join(o));
            }
            return Some(files);
        }
    }
    diags.push(
        Diagnostic::error(None, "", format!("no compose file found in {} or its parents", start.display()))
            .with_hint("run rcompose in a folder with compose.yaml or docker-compose.yml, or name the file with -f FILE"),
    );
    None
}

/// Is `name` a valid project name (`-p`, `COMPOSE_PROJECT_NAME`, `name:`)?
pub fn valid_project_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Turns a directory name into a project name as compose does.
pub fn normalize_project_name(name: &str) -> String {
    let lower = name.to_lowercase();
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

fn load_inner(opts: &LoadOptions, diags: &mut Diagnostics) -> Option<Project> {
    let paths = config_paths(opts, diags)?;
    let project_dir = match &opts.project_directory {
        Some(d) => opts.cwd.join(d),
        None => match paths.first() {
            Some(p) if p.as_os_str() != "-" => {
                p.parent().map(Path::to_path_buf).unwrap_or_else(|| opts.cwd.clone())
            }
            _ => opts.cwd.clone(),
        },
    };
    let project_dir = PathBuf::from(super::syntax::clean_path(&project_dir));

    // Variables for interpolation: the .env file, with the process environment winning.
    let env = environment(opts, &project_dir, diags)?;
    let lookup = |k: &str| env.get(k).cloned();

    let mut reading = Reading {
        opts,
        unset_seen: BTreeSet::new(),
        failed: false,
        including: paths.clone(),
        steps: Vec::new(),
    };
    let root = reading.files(&paths, &project_dir, &env, diags);
    let root = root.filter(|_| !reading.failed)?;

    let name = project_name(opts, &env, &root, &project_dir, diags)?;
    let home = env.get("HOME").cloned().or_else(|| opts.environ.get("HOME").cloned());
    let mut conv = Converter {
        diags: Vec::new(),
        spans: Spans::new(),
        base: project_dir.clone(),
        env: &lookup,
        home,
        project_name: name,
        print_only: opts.print_only,
        partial: false,
    };
    let mut project = conv.project(&root);
    if !reading.steps.is_empty() {
        diags.0.append(&mut step_errors(&reading.steps, &mut conv));
    }
    diags.0.append(&mut conv.diags);
    project.config_files = paths.iter().filter(|p| p.as_os_str() != "-").cloned().collect();

    let mut profiles: Vec<String> = opts.profiles.clone();
    if let Some(p) = env.get("COMPOSE_PROFILES") {
        profiles.extend(p.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from));
    }
    apply_profiles(&mut project, &profiles, &opts.services, diags);
    validate(&mut project, &conv.spans, diags);
    Some(project)
}

/// Reading a project's files, and the files they include, into one tree.
struct Reading<'a> {
    opts: &'a LoadOptions,
    /// Variables already warned about as unset: one warning each.
    unset_seen: BTreeSet<String>,
    /// An `extends` or `include` failed: what would follow is noise.
    failed: bool,
    /// The project's files, then those being included, outermost first, to catch a cycle.
    including: Vec<PathBuf>,
    /// The project as merged after each document but the last of each list of
    /// files, for [`step_errors`]: docker compose validates each such step.
    steps: Vec<Node>,
}

impl Reading<'_> {
    /// Reads, interpolates (with `env`) and merges `paths`, resolving each
    /// file's `extends` and `include` first; `workdir` is what their relative
    /// paths mean.
    fn files(
        &mut self,
        paths: &[PathBuf],
        workdir: &Path,
        env: &HashMap<String, String>,
        diags: &mut Diagnostics,
    ) -> Option<Node> {
        let lookup = |k: &str| env.get(k).cloned();
        let mut merged: Option<Node> = None;
        let mut empty: Option<String> = None;
        let mut extender = Extender::default();
        let opts = self.opts;
        for path in paths {
            let (name, text) = if path.as_os_str() == "-" {
                ("<stdin>".to_string(), self.opts.stdin.clone().unwrap_or_default())
            } else {
                let name = display_name(path, &self.opts.cwd);
                match crate::userfile::read_text(path, crate::userfile::COMPOSE_LIMIT) {
                    Ok(t) => (name, t),
                    Err(e) => {
                        let hint = if e.is_not_found() {
                            "check the -f path or COMPOSE_FILE"
                        } else {
                            "check the file's permissions"
                        };
                        diags.push(
                            file_diag(&name, format!("cannot read the compose file: {e}"))
                                .with_hint(hint),
                        );
                        continue;
                    }
                }
            };
            let file: Arc<str> = name.as_str().into();
            let docs = match yaml::parse(&text, file.clone()) {
                Ok(d) => d,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            // An empty override is no error to docker compose; an empty project is.
            if docs.iter().all(Node::is_null) {
                empty.get_or_insert(name);
                continue;
            }
            for mut doc in docs {
                if doc.is_null() {
                    continue;
                }
                if !matches!(doc.value, Value::Map(_)) {
                    diags.push(Diagnostic::error(
                        Some(doc.loc.clone()),
                        "",
                        format!(
                            "the top level of a compose file must be a mapping, found {}",
                            doc.kind_name()
                        ),
                    ));
                    continue;
                }
                if !self.opts.no_interpolate {
                    interpolate_tree(&mut doc, "", &lookup, diags, &mut self.unset_seen);
                }
                // Checked in each file, as an override's null elsewhere keeps the base.
                let empty_services = doc.as_map().and_then(|m| {
                    m.iter().find(|(k, v)| k.name == "services" && v.is_null() && v.tag.is_none())
                });
                if let Some((k, _)) = empty_services {
                    let d = Diagnostic::error(
                        Some(k.loc.clone()),
                        "services",
                        "`services` has no value",
                    );
                    diags.push(d.with_hint("list the services under it, or remove the key"));
                    self.failed = true;
                    continue;
                }
                if let Some(v) = doc.get("version") {
                    diags.push(Diagnostic::warning(
                        Some(v.loc.clone()),
                        "version",
                        "the attribute `version` is obsolete and is ignored; remove it",
                    ));
                }
                let unset_seen = &mut self.unset_seen;
                let mut read = |p: &Path, at: &Location, key: &str, d: &mut Diagnostics| {
                    read_extended(p, (at, key), opts, &lookup, d, unset_seen)
                };
                let before = diags.errors().count();
                extender.resolve_file(&mut doc, path, workdir, &mut read, diags);
                self.include(&mut doc, workdir, env, diags);
                // A service whose base or include is missing would only bring follow-on errors.
                self.failed |= diags.errors().count() > before;
                if let Some(m) = &merged {
                    self.steps.push(m.clone());
                }
                merge_into(&mut merged, doc);
            }
        }
        if let (None, Some(name)) = (&merged, empty) {
            diags.push(
                file_diag(&name, "the compose file is empty")
                    .with_hint("a compose file needs at least `services:` with one service"),
            );
        }
        merged
    }

    /// Replaces a file's `include` with what the included projects define.
    fn include(
        &mut self,
        doc: &mut Node,
        workdir: &Path,
        env: &HashMap<String, String>,
        diags: &mut Diagnostics,
    ) {
        let Some(node) = take_key(doc, "include") else { return };
        for entry in include::entries(&node, diags) {
            let paths: Vec<PathBuf> = entry
                .paths
                .iter()
                .map(|(p, _)| PathBuf::from(super::syntax::clean_path(&workdir.join(p))))
                .collect();
            let missing = paths.iter().zip(&entry.paths).find(|(p, _)| !p.is_file());
            if let Some((p, (_, at))) = missing {
                let why = if p.exists() { "not a regular file" } else { "no such file" };
                let msg = format!("cannot include {}: {why}", display_name(p, &self.opts.cwd));
                diags.push(
                    Diagnostic::error(Some(at.clone()), &entry.key, msg)
                        .with_hint("an included path is relative to the project directory"),
                );
                continue;
            }
            if let Some((p, start)) =
                paths.iter().find_map(|p| Some((p, self.including.iter().position(|q| q == p)?)))
            {
                let (_, at) = &entry.paths[0];
                let steps: Vec<String> = self.including[start..]
                    .iter()
                    .chain([p])
                    .map(|q| display_name(q, &self.opts.cwd))
                    .collect();
                let msg = format!("include cycle: {}", steps.join(" -> "));
                diags.push(
                    Diagnostic::error(Some(at.clone()), &entry.key, msg)
                        .with_hint("remove one of these includes"),
                );
                continue;
            }
            // Its own folder (or project_directory), its own .env (or env_file),
            // with the including project's variables winning.
            let dir = match &entry.project_directory {
                Some(d) => PathBuf::from(super::syntax::clean_path(&workdir.join(d))),
                None => paths[0]
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| workdir.to_path_buf()),
            };
            let env_files: Vec<(PathBuf, bool)> = if entry.env_files.is_empty() {
                vec![(dir.join(".env"), false)]
            } else {
                entry.env_files.iter().map(|f| (workdir.join(f), true)).collect()
            };
            let Some(mut inc_env) = read_env_files(&env_files, self.opts, diags) else { continue };
            inc_env.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
            let depth = self.including.len();
            self.including.extend(paths.iter().cloned());
            let tree = self.files(&paths, &dir, &inc_env, diags);
            self.including.truncate(depth);
            // Each included file is a project of its own: a key it misspells
            // would otherwise drop what it holds without a word.
            if let Some(Value::Map(top)) = tree.as_ref().map(|t| &t.value) {
                for (k, _) in top.iter().filter(|(k, _)| {
                    !k.name.starts_with("x-")
                        && !super::convert::TOP_LEVEL_KEYS.contains(&k.name.as_str())
                }) {
                    diags.push(super::convert::unknown_top_level(&k.name, &k.loc));
                    self.failed = true;
                }
            }
            if let Some(tree) = tree {
                include::import(
                    doc,
                    include::rebase(tree, &dir),
                    &display_name(&paths[0], &self.opts.cwd),
                    diags,
                );
            }
        }
    }
}

/// What docker compose's schema refuses in a project merged part way, though
/// the whole project (converted by `conv`) no longer holds it: a base file's
/// `hostname: 42` that an override replaces. Each error once, in file order.
fn step_errors(steps: &[Node], conv: &mut Converter) -> Vec<Diagnostic> {
    let merged = std::mem::take(&mut conv.diags);
    let spans = std::mem::take(&mut conv.spans);
    conv.partial = true;
    let mut found: Vec<Diagnostic> = Vec::new();
    for step in steps {
        conv.project(step);
        for d in conv.diags.drain(..) {
            if !merged.contains(&d) && !found.contains(&d) {
                found.push(d);
            }
        }
    }
    conv.partial = false;
    conv.diags = merged;
    conv.spans = spans;
    found
}

/// Merges the next document of a project onto those before it, as override files merge.
fn merge_into(merged: &mut Option<Node>, doc: Node) {
    *merged = Some(match merged.take() {
        None => strip_resets(doc),
        Some(base) => merge(base, doc),
    });
}

fn take_key(doc: &mut Node, key: &str) -> Option<Node> {
    let Value::Map(entries) = &mut doc.value else { return None };
    let i = entries.iter().position(|(k, _)| k.name == key)?;
    Some(entries.remove(i).1)
}

/// A file named by `extends.file`: read, parsed and interpolated like the
/// project's files, its documents merged.
fn read_extended(
    path: &Path,
    (at, key): (&Location, &str),
    opts: &LoadOptions,
    lookup: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
    unset_seen: &mut BTreeSet<String>,
) -> Option<Node> {
    let name = display_name(path, &opts.cwd);
    let text = match crate::userfile::read_text(path, crate::userfile::COMPOSE_LIMIT) {
        Ok(t) => t,
        Err(e) => {
            let msg = format!("cannot read {name}, the file to extend: {e}");
            let hint = "extends.file is relative to the project directory, or to the folder of the file being extended";
            diags.push(Diagnostic::error(Some(at.clone()), key, msg).with_hint(hint));
            return None;
        }
    };
    let docs = yaml::parse(&text, name.as_str().into()).map_err(|d| diags.push(d)).ok()?;
    let mut merged: Option<Node> = None;
    for mut doc in docs.into_iter().filter(|d| !d.is_null()) {
        if !opts.no_interpolate {
            interpolate_tree(&mut doc, "", lookup, diags, unset_seen);
        }
        merge_into(&mut merged, doc);
    }
    merged.or_else(|| {
        diags.push(Diagnostic::error(
            Some(at.clone()),
            key,
            format!("{name}, the file to extend, is empty"),
        ));
        None
    })
}

fn environment(
    opts: &LoadOptions,
    project_dir: &Path,
    diags: &mut Diagnostics,
) -> Option<HashMap<String, String>> {
    let files: Vec<(PathBuf, bool)> = if opts.env_files.is_empty() {
        vec![(project_dir.join(".env"), false)]
    } else {
        opts.env_files.iter().map(|f| (opts.cwd.join(f), true)).collect()
    };
    let mut env = read_env_files(&files, opts, diags)?;
    env.extend(opts.environ.iter().map(|(k, v)| (k.clone(), v.clone())));
    Some(env)
}

/// Reads `.env`-style files in order, later ones winning; `(path, required)`.
fn read_env_files(
    files: &[(PathBuf, bool)],
    opts: &LoadOptions,
    diags: &mut Diagnostics,
) -> Option<HashMap<String, String>> {
    let mut env: HashMap<String, String> = HashMap::new();
    let os = |k: &str| opts.environ.get(k).cloned();
    let mut ok = true;
    for (path, required) in files {
        let name = display_name(path, &opts.cwd);
        match crate::userfile::read_text(path, crate::userfile::ENV_LIMIT) {
            Ok(text) => match dotenv::parse(&text, &|k| os(k).or_else(|| env.get(k).cloned())) {
                Ok(vars) => env.extend(vars),
                Err(e) => {
                    diags.push(Diagnostic::error(
                        Some(Location { file: name.as_str().into(), line: e.line, col: 1 }),
                        "",
                        e.message,
                    ));
                    ok = false;
                }
            },
            Err(e) if e.is_not_found() && !required => {}
            Err(e) => {
                diags.push(
                    file_diag(&name, format!("cannot read the env file: {e}"))
                        .with_hint("check the --env-file path"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(env)
}

fn project_name(
    opts: &LoadOptions,
    env: &HashMap<String, String>,
    root: &Node,
    dir: &Path,
    diags: &mut Diagnostics,
) -> Option<String> {
    let invalid_hint =
        "use lowercase letters, digits, `-` and `_`, starting with a letter or digit";
    if let Some(p) = &opts.project_name {
        if valid_project_name(p) {
            return Some(p.clone());
        }
        diags.push(
            Diagnostic::error(None, "", format!("invalid project name {p:?} given with -p"))
                .with_hint(invalid_hint),
        );
        return None;
    }
    if let Some(p) = env.get("COMPOSE_PROJECT_NAME").filter(|p| !p.is_empty()) {
        if valid_project_name(p) {
            return Some(p.clone());
        }
        diags.push(
            Diagnostic::error(
                None,
                "",
                format!("invalid project name {p:?} in COMPOSE_PROJECT_NAME"),
            )
            .with_hint(invalid_hint),
        );
        return None;
    }
    if let Some(n) = root.get("name") {
        // docker compose's schema takes a string only: `name: 42` is refused.
        if !matches!(n.value, super::yaml::Value::Str(_)) {
            let msg = format!("expected a string, found {}", n.kind_name());
            diags.push(
                Diagnostic::error(Some(n.loc.clone()), "name", msg)
                    .with_hint("quote it, like name: \"myapp\""),
            );
            return None;
        }
        let text = n.scalar_text().unwrap_or_default();
        if valid_project_name(&text) {
            return Some(text);
        }
        diags.push(
            Diagnostic::error(
                Some(n.loc.clone()),
                "name",
                format!("invalid project name {text:?}"),
            )
            .with_hint(invalid_hint),
        );
        return None;
    }
    let base = dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = normalize_project_name(&base);
    if name.is_empty() {
        diags.push(
            Diagnostic::error(
                None,
                "",
                format!("cannot make a project name from the directory {}", dir.display()),
            )
            .with_hint("give one with -p NAME or `name:` in the file"),
        );
        return None;
    }
    Some(name)
}

/// Interpolates every string value of the tree (never keys), reporting errors where they are.
fn interpolate_tree(
    node: &mut Node,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
    unset_seen: &mut BTreeSet<String>,
) {
    match &mut node.value {
        Value::Str(s) if s.contains('$') => match interpolate(s, lookup) {
            Ok(out) => {
                for var in out.unset {
                    if unset_seen.insert(var.clone()) {
                        diags.push(Diagnostic::warning(
                            Some(node.loc.clone()),
                            path,
                            format!("the {var:?} variable is not set; using an empty string"),
                        ));
                    }
                }
                *s = out.text;
            }
            Err(e) => {
                let hint = match &e {
                    super::interpolate::InterpolationError::Required { var, .. } => {
                        format!("set {var} in the environment or in .env")
                    }
                    super::interpolate::InterpolationError::Invalid { .. } => {
                        "write `$$` for a literal `$`".to_string()
                    }
                    super::interpolate::InterpolationError::TooDeep
                    | super::interpolate::InterpolationError::TooLong => {
                        "check the variables this value uses and their defaults".to_string()
                    }
                };
                diags.push(
                    Diagnostic::error(Some(node.loc.clone()), path, e.to_string()).with_hint(hint),
                );
            }
        },
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(item, &format!("{path}[{i}]"), lookup, diags, unset_seen);
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                let p = if path.is_empty() { k.name.clone() } else { format!("{path}.{}", k.name) };
                interpolate_tree(v, &p, lookup, diags, unset_seen);
            }
        }
        _ => {}
    }
}

fn apply_profiles(
    project: &mut Project,
    profiles: &[String],
    named: &[String],
    diags: &mut Diagnostics,
) {
    let all = profiles.iter().any(|p| p == "*");
    let active = |svc: &super::model::Service| {
        svc.profiles.is_empty() || all || svc.profiles.iter().any(|p| profiles.contains(p))
    };
    // Services named on the command line are enabled with what they need.
    let graph = DepGraph::new(&project.services);
    let needed = graph.with_dependencies(named.iter().map(String::as_str));
    for n in named {
        if !project.services.contains_key(n) {
            let hint = did_you_mean(n, project.services.keys().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "services: {}",
                        project.services.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                });
            diags
                .push(Diagnostic::error(None, "", format!("no such service: {n}")).with_hint(hint));
        }
    }
    let names: Vec<String> = project.services.keys().cloned().collect();
    for name in names {
        let keep = active(&project.services[&name]) || needed.contains(&name);
        if !keep && let Some(svc) = project.services.remove(&name) {
            project.disabled.insert(name, svc);
        }
    }
}

/// Each `depends_on` names a service: an error for a required one that is
/// missing or disabled, a warning (and the entry dropped) otherwise.
fn check_depends_on(
    name: &str,
    svc: &mut crate::compose::model::Service,
    disabled: &std::collections::BTreeMap<String, crate::compose::model::Service>,
    service_names: &[String],
    spans: &Spans,
    diags: &mut Diagnostics,
) {
    let loc = |p: &str| spans.get(p).cloned();
    let path = format!("services.{name}");
    let deps: Vec<String> = svc.depends_on.keys().cloned().collect();
    for dep in deps {
        let dpath = format!("{path}.depends_on.{dep}");
        let required = svc.depends_on[&dep].required;
        if service_names.contains(&dep) {
            continue;
        }
        let (msg, hint) = match disabled.get(&dep) {
            Some(d) => (
                format!("service {name:?} depends on service {dep:?}, which is not enabled"),
                format!(
                    "{dep:?} is in profile {}; enable it with --profile {}",
                    d.profiles.join(", "),
                    d.profiles.first().cloned().unwrap_or_default()
                ),
            ),
            None => (
                format!("service {name:?} depends on undefined service {dep:?}"),
                did_you_mean(&dep, service_names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("defined services: {}", service_names.join(", "))),
            ),
        };
        if required {
            diags.push(Diagnostic::error(loc(&dpath), &dpath, msg).with_hint(hint));
        } else {
            diags.push(Diagnostic::warning(
                loc(&dpath),
                &dpath,
                format!("{msg}; it is not required, so it is skipped"),
            ));
            svc.depends_on.remove(&dep);
        }
    }
}

/// As compose does, networks and volumes no enabled service uses are left out.
fn drop_unused(project: &mut Project) {
    let used_networks: BTreeSet<&String> =
        project.services.values().flat_map(|s| s.networks.keys()).collect();
    let used_volumes: BTreeSet<&String> = project
        .services
        .values()
        .flat_map(|s| {
            s.volumes
                .iter()
                .filter(|m| m.kind == MountType::Volume)
                .filter_map(|m| m.source.as_ref())
        })
        .collect();
    let (keep_n, keep_v): (BTreeSet<String>, BTreeSet<String>) =
        (used_networks.into_iter().cloned().collect(), used_volumes.into_iter().cloned().collect());
    project.networks.retain(|k, _| keep_n.contains(k));
    project.volumes.retain(|k, _| keep_v.contains(k));
}

fn validate(project: &mut Project, spans: &Spans, diags: &mut Diagnostics) {
    let loc = |p: &str| spans.get(p).cloned();
    let service_names: Vec<String> = project.services.keys().cloned().collect();
    let mut uses_default = false;
    let mut container_names: HashMap<String, String> = HashMap::new();
    for name in &service_names {
        let svc = project.services.get_mut(name).expect("listed above");
        let path = format!("services.{name}");
        check_depends_on(name, svc, &project.disabled, &service_names, spans, diags);
        for net in svc.networks.keys() {
            if net == "default" {
                uses_default = true;
                continue;
            }
            if !project.networks.contains_key(net) {
                let npath = format!("{path}.networks.{net}");
                diags.push(
                    Diagnostic::error(
                        loc(&npath),
                        &npath,
                        format!("service {name:?} refers to undefined network {net:?}"),
                    )
                    .with_hint("declare it under the top-level `networks:` key"),
                );
            }
        }
        for (i, m) in svc.volumes.iter().enumerate() {
            if m.kind != MountType::Volume {
                continue;
            }
            if let Some(src) = &m.source
                && !project.volumes.contains_key(src)
            {
                let vpath = format!("{path}.volumes[{i}]");
                diags.push(
                    Diagnostic::error(loc(&vpath), &vpath, format!("service {name:?} refers to undefined volume {src:?}"))
                        .with_hint(format!("declare it under the top-level `volumes:` key, or write ./{src} for a folder of the project")),
                );
            }
        }
        let build_secrets = svc.build.as_ref().map_or(&[][..], |b| &b.secrets[..]);
        let refs = [
            // (what it is, where it stands in the service, the top-level key, ...)
            ("secret", "secrets", "secrets", &svc.secrets[..], &project.secrets),
            ("config", "configs", "configs", &svc.configs[..], &project.configs),
            ("build secret", "build.secrets", "secrets", build_secrets, &project.secrets),
        ];
        for (what, key, top, refs, defined) in refs {
            for (i, r) in refs.iter().enumerate() {
                if defined.contains_key(&r.source) {
                    continue;
                }
                let rpath = format!("{path}.{key}[{i}]");
                diags.push(
                    Diagnostic::error(loc(&rpath), &rpath, format!("service {name:?} refers to undefined {what} {:?}", r.source))
                        .with_hint(format!("declare it under the top-level `{top}:` key, with a file, like `file: ./{}.txt`", r.source)),
                );
            }
        }
        if let Some(cn) = &svc.container_name
            && let Some(other) = container_names.insert(cn.clone(), name.clone())
        {
            let cpath = format!("{path}.container_name");
            diags.push(
                Diagnostic::error(
                    loc(&cpath),
                    &cpath,
                    format!("container name {cn:?} is also used by service {other:?}"),
                )
                .with_hint("container names must be unique"),
            );
        }
    }
    if uses_default && !project.networks.contains_key("default") {
        project.networks.insert(
            "default".into(),
            Network { name: format!("{}_default", project.name), ..Default::default() },
        );
    }
    drop_unused(project);
    if let Some(cycle) = DepGraph::new(&project.services).find_cycle() {
        let p = format!("services.{}.depends_on", cycle[0]);
        diags.push(
            Diagnostic::error(loc(&p), &p, format!("dependency cycle: {}", cycle.join(" -> ")))
                .with_hint("remove one of these depends_on entries"),
        );
    }
}
