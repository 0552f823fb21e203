//! `rcompose top`: the processes of each running container, in one table
//! as docker compose prints it.

use crate::cli::GlobalOpts;
use crate::engine::{Engine, containers};
use crate::ui::Style;

pub fn run(global: &GlobalOpts, services: &[String], style: &Style) -> anyhow::Result<i32> {
    let project = super::load_or_labels(global, services, style)?;
    let tables = super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let list = super::containers_of(&engine, &project, services, false).await?;
        // All at once: each is a round trip into the container's namespace.
        let tops = futures::future::join_all(
            list.iter().map(|c| async { containers::top(&engine, &containers::id(c)).await }),
        )
        .await;
        let mut out = Vec::new();
        for (c, top) in list.iter().zip(tops) {
            let (titles, rows) = top?;
            out.push((containers::service(c).to_string(), containers::number(c), titles, rows));
        }
        anyhow::Ok(out)
    })?;
    let Some((_, _, titles, _)) = tables.first() else {
        return Ok(0);
    };
    let mut lines = vec![
        ["SERVICE".to_string(), "#".to_string()]
            .into_iter()
            .chain(titles.iter().cloned())
            .collect(),
    ];
    for (service, number, _, rows) in &tables {
        for row in rows {
            let cells: Vec<String> = [service.clone(), number.to_string()]
                .into_iter()
                .chain(row.iter().cloned())
                .collect();
            lines.push(cells);
        }
    }
    print!("{}", crate::ui::container_list::columns(&lines, 4, 2));
    Ok(0)
}
