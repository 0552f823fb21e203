//! `env_file`s as ConfigMaps, or Secrets where they hold credentials: one
//! object per file, shared by every service that reads it, as the file is.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};

use super::Ctx;

/// What an env file became.
#[derive(Debug, Clone)]
pub(super) struct EnvObject {
    pub(super) secret: bool,
    pub(super) name: String,
    pub(super) vars: BTreeMap<String, String>,
}

/// Variable names that say their value is a credential.
const SECRET_WORDS: &[&str] =
    &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE", "CREDENTIAL", "API_KEY", "APIKEY"];

fn is_secret_name(var: &str) -> bool {
    let upper = var.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// Makes the object of every env file a service reads.
pub(super) fn objects(ctx: &mut Ctx) -> Result<(), String> {
    let mut files: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for svc in ctx.project.services.values() {
        for (var, file) in &svc.env_file_vars {
            if let Some(Some(value)) = svc.environment.get(var) {
                files.entry(file.clone()).or_default().entry(var.clone()).or_insert(value.clone());
            }
        }
    }
    for (file, vars) in files {
        let secret = vars.keys().any(|k| is_secret_name(k));
        let base = std::path::Path::new(&file)
            .file_name()
            .map_or_else(|| file.clone(), |f| f.to_string_lossy().into_owned());
        let name = ctx.data.fresh(&base);
        let value = if secret {
            let data: serde_json::Map<String, Value> = vars
                .iter()
                .map(|(k, v)| {
                    (k.clone(), Value::from(base64::engine::general_purpose::STANDARD.encode(v)))
                })
                .collect();
            let shown = super::storage::shown(ctx, std::path::Path::new(&file));
            ctx.note(format!(
                "env file {shown}: names a credential, so it is the Secret {name} (the others are ConfigMaps)"
            ));
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": ctx.project_meta(&name),
                   "type": "Opaque", "data": data})
        } else {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": ctx.project_meta(&name),
                   "data": vars})
        };
        ctx.push(if secret { "Secret" } else { "ConfigMap" }, name.clone(), value);
        ctx.env_files.insert(file, EnvObject { secret, name, vars });
    }
    Ok(())
}

/// A container's `env` and `envFrom`: its env files by reference, in the
/// order compose reads them (a later source wins in both), and each other
/// variable, or one whose value differs from its file's, written out.
pub(super) fn container_env(ctx: &Ctx, svc: &crate::compose::model::Service) -> (Value, Value) {
    let mut from = Vec::new();
    let seen: Vec<&String> = svc.env_files.iter().collect();
    for file in &svc.env_files {
        if let Some(o) = ctx.env_files.get(file) {
            let key = if o.secret { "secretRef" } else { "configMapRef" };
            from.push(json!({ key: {"name": o.name} }));
        }
    }
    let mut env = Vec::new();
    for (var, value) in &svc.environment {
        let Some(value) = value else { continue };
        // Covered when its own file gives this value and no other file read
        // gives the name at all (then envFrom's order would decide).
        let file = svc.env_file_vars.get(var);
        let covered =
            file.and_then(|f| ctx.env_files.get(f)).is_some_and(|o| o.vars.get(var) == Some(value))
                && seen
                    .iter()
                    .filter(|f| Some(**f) != file)
                    .all(|f| ctx.env_files.get(*f).is_none_or(|o| !o.vars.contains_key(var)));
        if !covered {
            env.push(json!({"name": var, "value": value}));
        }
    }
    (Value::from(env), Value::from(from))
}
