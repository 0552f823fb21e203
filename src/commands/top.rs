//! `rcompose top`: the processes of each running container, in one table
//! as docker compose prints it.

use crate::cli::GlobalOpts;
use crate::engine::{Engine, containers};
use crate::ui::Style;

pub fn run(global: &GlobalOpts, services: &[String], style: &Style) -> anyhow::Result<i32> {
    let ps = crate::engine::processes::Ps::start();
    let project = super::load_or_labels(global, services, style)?;
    let tables = super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let list = super::containers_of(&engine, &project, services, false).await?;
        let ids: Vec<String> = list.iter().map(containers::id).collect();
        // Read here where the engine runs here; else asked of the engine,
        // all at once (each is a round trip into the container's namespace).
        let tops = match crate::engine::processes::top_here(&engine.host, &ids, ps) {
            Some(tables) => tables.into_iter().map(Ok).collect(),
            None => {
                futures::future::join_all(ids.iter().map(|id| containers::top(&engine, id))).await
            }
        };
        let mut out = Vec::new();
        for (c, top) in list.iter().zip(tops) {
            let (titles, rows) = top?;
            out.push((containers::service(c).to_string(), containers::number(c), titles, rows));
        }
        anyhow::Ok(out)
    })?;
    let mut tables = tables;
    // A built-in proxy is a process of this machine: its line from /proc.
    for (service, st) in super::running_proxies(&project, services) {
        if let Some(row) = proxy_process(st.server_pid) {
            let titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"];
            tables.push((service, 1, titles.map(String::from).to_vec(), vec![row]));
        }
    }
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

/// `ps -f`'s columns for a process of this machine, from /proc.
fn proxy_process(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let ppid = after.split_whitespace().nth(1)?.to_string();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|u| u.split_whitespace().next())
        .unwrap_or("?");
    let user = if uid == "0" { "root".to_string() } else { uid.to_string() };
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ").trim().to_string();
    Some(
        [user, pid.to_string(), ppid, "0".into(), "-".into(), "?".into(), "-".into(), cmd].to_vec(),
    )
}
