//! A service's `build`, short or long.

use super::*;

const BUILD_KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "dockerfile_inline",
    "args",
    "target",
    "labels",
    "cache_from",
    "no_cache",
    "pull",
    "network",
    "shm_size",
    "tags",
    "platforms",
];
/// Build keys whose value docker compose's schema refuses to be null.
const BUILD_NOT_NULL: &[&str] = &["args", "labels", "cache_from", "tags", "platforms", "secrets"];
/// What only BuildKit does: the engine's classic build API has no place for it.
const BUILD_SPEC_ONLY: &[&str] = &[
    "additional_contexts",
    "cache_to",
    "entitlements",
    "extra_hosts",
    "isolation",
    "privileged",
    "provenance",
    "sbom",
    "secrets",
    "ssh",
    "ulimits",
];

impl Converter<'_> {
    pub(super) fn build(&mut self, n: &Node, path: &str) -> Option<Build> {
        let mut build = Build::default();
        let mut context_loc = n.loc.clone();
        let mut dockerfile_loc = n.loc.clone();
        match &n.value {
            Value::Str(s) => build.context = s.clone(),
            Value::Map(entries) => {
                self.check_keys(entries, path, BUILD_KEYS, BUILD_SPEC_ONLY);
                build.context = ".".into();
                for (k, v) in entries {
                    let kp = join(path, &k.name);
                    if BUILD_NOT_NULL.contains(&k.name.as_str()) && self.refuse_null(k, v, &kp) {
                        continue;
                    }
                    match k.name.as_str() {
                        "context" => {
                            context_loc = v.loc.clone();
                            build.context = self.text(v, &kp).unwrap_or_default();
                        }
                        "dockerfile" => {
                            dockerfile_loc = v.loc.clone();
                            build.dockerfile = self.text(v, &kp);
                        }
                        "dockerfile_inline" => build.dockerfile_inline = self.text(v, &kp),
                        // Warned about as BuildKit's, but checked: each must name a top-level secret.
                        "secrets" => build.secrets = self.file_refs(v, &kp, true),
                        "target" => build.target = self.text(v, &kp),
                        "args" => {
                            // An arg named alone takes the variable; unset, it is left out, as docker compose leaves it.
                            build.args = self
                                .key_values(v, &kp)
                                .into_iter()
                                .filter_map(|(k, v, _)| {
                                    v.or_else(|| (self.env)(&k)).map(|v| (k, Some(v)))
                                })
                                .collect();
                        }
                        "labels" => build.labels = self.string_map(v, &kp),
                        "cache_from" => {
                            for (i, spec) in self.strings(v, &kp, false).into_iter().enumerate() {
                                if spec.contains('=') {
                                    let at = item_loc(v, i).clone();
                                    self.warn(
                                        &at,
                                        &index(&kp, i),
                                        "a BuildKit cache source; the engine's build API takes only image names, so it is ignored",
                                    );
                                }
                                build.cache_from.push(spec);
                            }
                        }
                        "no_cache" => build.no_cache = self.bool(v, &kp).unwrap_or(false),
                        "pull" => build.pull = self.bool(v, &kp).unwrap_or(false),
                        "network" => build.network = self.set_text(v, &kp),
                        "shm_size" => build.shm_size = self.whole_bytes(v, &kp),
                        "tags" => build.tags = self.strings(v, &kp, false),
                        "platforms" => {
                            build.platforms = self.strings(v, &kp, false);
                            if build.platforms.len() > 1 {
                                self.warn(&v.loc, &kp, "several platforms need buildx; rcompose builds for the first one");
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                self.expected(n, path, "a path or a mapping with `context`");
                return None;
            }
        }
        if build.dockerfile.is_some() && build.dockerfile_inline.is_some() {
            self.project_error(
                &n.loc,
                path,
                "`dockerfile` and `dockerfile_inline` cannot both be set",
                "keep one of them",
            );
        }
        if build.dockerfile.is_none() && build.dockerfile_inline.is_none() {
            build.dockerfile = Some("Dockerfile".into());
        }
        let remote = build.context.contains("://")
            || build.context.starts_with("git@")
            || build.context.starts_with("github.com/");
        if !remote {
            let ctx = syntax::resolve_host_path(&build.context, &self.base, self.home.as_deref());
            let ctx_path = PathBuf::from(&ctx);
            if !ctx_path.is_dir() {
                self.build_path_missing(
                    &context_loc,
                    &join(path, "context"),
                    format!("build context {ctx} does not exist"),
                    "the context is resolved against the project directory",
                );
            } else if let Some(df) = &build.dockerfile {
                let df_path =
                    if Path::new(df).is_absolute() { PathBuf::from(df) } else { ctx_path.join(df) };
                if !df_path.is_file() {
                    self.build_path_missing(
                        &dockerfile_loc,
                        &join(path, "dockerfile"),
                        format!("Dockerfile {} not found", df_path.display()),
                        "`dockerfile` is resolved against the build context",
                    );
                }
            }
            build.context = ctx;
        }
        Some(build)
    }
}
