//! `rcompose convert`: `config` under docker compose's other name, or with
//! `--to kubernetes` the project as Kubernetes manifests.

use std::path::Path;

use anyhow::Context;

use crate::cli::{ConvertArgs, ConvertTarget, GlobalOpts};
use crate::ui::Style;

pub fn run(global: &GlobalOpts, args: &ConvertArgs, style: &Style) -> anyhow::Result<i32> {
    let c = &args.config;
    if args.to == ConvertTarget::Compose {
        return super::config::run(global, c, style);
    }
    if c.services || c.volumes || c.networks || c.profiles || c.images || c.hash.is_some() {
        anyhow::bail!(
            "--services, --volumes, --networks, --profiles, --images and --hash list the compose project; leave them out with --to kubernetes"
        );
    }
    let project = super::config::load_selected(global, &c.service_names, false, style)?;
    let conversion = crate::kubernetes::convert(&project).map_err(anyhow::Error::msg)?;
    for note in &conversion.notes {
        eprintln!("{}: {note}", style.paint("1;36", "note"));
    }
    if c.quiet {
        return Ok(0);
    }
    match &c.output {
        None => print!("{}", conversion.to_yaml()),
        Some(path) if is_file_name(path) => std::fs::write(path, conversion.to_yaml())
            .with_context(|| format!("cannot write {}", path.display()))?,
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for o in &conversion.objects {
                let file = dir.join(o.file_name());
                std::fs::write(&file, o.to_yaml())
                    .with_context(|| format!("cannot write {}", file.display()))?;
            }
            eprintln!("{} manifests written to {}", conversion.objects.len(), dir.display());
        }
    }
    Ok(0)
}

fn is_file_name(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}
