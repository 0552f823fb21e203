//! `rcompose build`, `rcompose pull`, and `rcompose images`.

use std::collections::HashMap;

use crate::cli::{BuildArgs, GlobalOpts, ImagesArgs, PullArgs};
use crate::engine::{Engine, images};
use crate::ui::Style;
use crate::ui::progress::Progress;

pub fn build(global: &GlobalOpts, args: &BuildArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_for(global, &args.services, style)?;
    let mut extra_args = HashMap::new();
    for a in &args.build_args {
        match a.split_once('=') {
            Some((k, v)) => extra_args.insert(k.to_string(), v.to_string()),
            None => extra_args.insert(a.clone(), std::env::var(a).unwrap_or_default()),
        };
    }
    let bopts =
        images::BuildOpts { no_cache: args.no_cache, pull: args.pull, extra_args, platform: None };
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let progress = Progress::new(global.progress.into(), style.color);
        for (name, svc) in &project.services {
            if !args.services.is_empty() && !args.services.contains(name) {
                continue;
            }
            let bopts = images::BuildOpts { platform: svc.platform.clone(), ..bopts.clone() };
            crate::orchestrate::images::build(&engine, &project, svc, &bopts, &progress).await?;
        }
        Ok(0)
    })
}

pub fn pull(global: &GlobalOpts, args: &PullArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_for(global, &args.services, style)?;
    super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let mode =
            if args.quiet { crate::ui::progress::Mode::Quiet } else { global.progress.into() };
        let progress = Progress::new(mode, style.color);
        let mut seen = std::collections::BTreeSet::new();
        for (name, svc) in &project.services {
            if !args.services.is_empty() && !args.services.contains(name) {
                continue;
            }
            // Images built by the project are not pulled.
            let Some(image) = svc.image.clone().filter(|_| svc.build.is_none()) else {
                continue;
            };
            if !seen.insert(image.clone()) {
                continue;
            }
            if let Err(e) =
                images::pull(&engine, &image, &format!("Image {image}"), &progress).await
            {
                if !args.ignore_pull_failures {
                    return Err(e.context(format!("service {name}")));
                }
                eprintln!("{}: service {name}: {e:#}", style.paint("1;33", "warning"));
            }
        }
        Ok(0)
    })
}

/// `images`: the image of each container of the services, as docker compose lists them.
pub fn list(global: &GlobalOpts, args: &ImagesArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, &args.services, style)?;
    let rows = super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let list = super::containers_of(&engine, &project, &args.services, true).await?;
        let mut rows = Vec::new();
        for c in &list {
            let id = c.image_id.clone().unwrap_or_default();
            let Ok(img) = engine.docker.inspect_image(&id).await else { continue };
            // The name the container was made from, when it is one of the image's tags.
            let named = c.image.as_deref().map(|i| {
                if i.rsplit_once(':').is_some_and(|(_, t)| !t.contains('/')) {
                    i.to_string()
                } else {
                    format!("{i}:latest")
                }
            });
            let tags = img.repo_tags.clone().unwrap_or_default();
            let chosen = named.filter(|n| tags.contains(n)).or_else(|| tags.first().cloned());
            let (repo, tag) = chosen
                .as_deref()
                .and_then(|t| t.rsplit_once(':'))
                .map_or(("<none>".to_string(), "<none>".to_string()), |(r, t)| {
                    (r.to_string(), t.to_string())
                });
            let platform = format!(
                "{}/{}",
                img.os.clone().unwrap_or_default(),
                img.architecture.clone().unwrap_or_default()
            );
            rows.push((crate::engine::containers::name(c), repo, tag, platform, id, img));
        }
        anyhow::Ok(rows)
    })?;
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for (_, _, _, _, id, _) in &rows {
            let id = id.trim_start_matches("sha256:");
            if seen.insert(id.to_string()) {
                println!("{id}");
            }
        }
        return Ok(0);
    }
    let now = chrono::Utc::now().timestamp();
    if args.format == "json" {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, repo, tag, platform, id, img)| {
                serde_json::json!({
                    "ID": id, "ContainerName": name, "Repository": repo, "Tag": tag,
                    "Platform": platform, "Size": img.size.unwrap_or_default(),
                    "LastTagTime": img.metadata.as_ref().and_then(|m| m.last_tag_time.clone()),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
        return Ok(0);
    }
    let mut lines = vec![
        ["CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "SIZE", "CREATED"]
            .map(String::from)
            .to_vec(),
    ];
    for (name, repo, tag, platform, id, img) in rows {
        // When it was last tagged, as docker compose shows it; else when it was made.
        let tagged = img.metadata.as_ref().and_then(|m| m.last_tag_time.clone());
        let created = tagged
            .iter()
            .chain(img.created.iter())
            .filter_map(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            .find(|t| t.timestamp() > 0)
            .map_or_else(String::new, |t| crate::ui::time::ago(now - t.timestamp()));
        let short = id.trim_start_matches("sha256:").chars().take(12).collect();
        let size = crate::ui::time::human_size(img.size.unwrap_or_default());
        lines.push(vec![name, repo, tag, platform, short, size, created]);
    }
    print!("{}", crate::ui::container_list::columns(&lines, 20, 3));
    Ok(0)
}
