//! `rcompose ps`: the project's containers, as docker compose lists them.

use bollard::models::ContainerSummary;

use crate::cli::{GlobalOpts, PsArgs};
use crate::engine::{Engine, containers};
use crate::failure::Failure;
use crate::ui::Style;
use crate::ui::container_list::{Listing, render};

pub fn run(global: &GlobalOpts, args: &PsArgs, style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, &[], style)?;
    let mut status = args.status.clone();
    for f in &args.filter {
        match f.split_once('=') {
            Some(("status", v)) => status.push(v.to_string()),
            _ => anyhow::bail!("invalid filter {f:?}: ps filters by status=STATE only"),
        }
    }
    let list = super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let all = args.all || !status.is_empty();
        let (mut list, one_off) = tokio::try_join!(
            containers::list(&engine, &project.name, all),
            containers::list_one_off(&engine, &project.name)
        )?;
        // `run` containers too, as docker compose lists them (stopped ones with -a).
        list.extend(one_off.into_iter().filter(|c| all || containers::is_running(c)));
        list.sort_by_key(containers::name);
        anyhow::Ok(list)
    })?;
    let mut list = list;
    let proxies =
        crate::orchestrate::builtin::served(&project, list.iter().map(containers::service));
    // A built-in proxy is a process, not a container: `ps -q` lists ids a
    // script may hand to docker, so it has none to give for one.
    if !args.quiet {
        list.extend(crate::orchestrate::builtin::summaries(&project, &proxies, args.all));
    }
    let list: Vec<ContainerSummary> = list
        .into_iter()
        .filter(|c| {
            args.service_names.is_empty()
                || args.service_names.iter().any(|s| s == containers::service(c))
        })
        .filter(|c| {
            status.is_empty()
                || status.iter().any(|s| c.state.map(|st| st.to_string()) == Some(s.clone()))
        })
        .collect();
    let listing = if args.services {
        Listing::Services
    } else if args.quiet {
        Listing::Ids
    } else {
        Listing::Format(&args.format)
    };
    let out = render(&list, listing, chrono::Utc::now().timestamp())
        .map_err(|e| Failure::Verbatim(vec![e]))?;
    print!("{out}");
    Ok(0)
}
