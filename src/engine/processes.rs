//! `top` without a round trip to the engine, where the engine runs on this
//! machine: its answer to `top` is this machine's `ps -ef`, kept to the
//! processes in the container's cgroup. Read the same way here, the table
//! is the engine's, less the request, the task lookup and the JSON.

use std::collections::HashSet;
use std::path::PathBuf;

/// A `ps` table: the titles, then one row per process.
pub type Table = (Vec<String>, Vec<Vec<String>>);

/// The tables of these containers (full ids), in order; `None` where this
/// machine cannot say (an engine elsewhere or rootless, a cgroup layout not
/// known here, no `ps`): the engine is asked instead.
pub fn top_here(host: &str, ids: &[String], ps: Ps) -> Option<Vec<Table>> {
    if !host.starts_with("unix://") {
        return None;
    }
    let pids: Vec<HashSet<String>> = ids.iter().map(|id| cgroup_pids(id)).collect::<Option<_>>()?;
    let out = ps.output()?;
    if !out.status.success() {
        return None;
    }
    let (titles, rows) = parse_ps(&String::from_utf8_lossy(&out.stdout))?;
    let pid_at = titles.iter().position(|t| t == "PID")?;
    let tables: Vec<Table> = pids
        .iter()
        .map(|set| {
            let mine = rows.iter().filter(|r| set.contains(&r[pid_at])).cloned().collect();
            (titles.clone(), mine)
        })
        .collect();
    // A pid the cgroup lists that `ps` does not show: another pid namespace.
    let all_seen = pids.iter().zip(&tables).all(|(set, t)| t.1.len() == set.len());
    all_seen.then_some(tables)
}

/// `ps -ef`, started before the engine is asked which containers there
/// are: the table takes as long to make as the question, so the two run
/// side by side. A process the table missed fails the check in
/// [`top_here`], and the engine is asked instead.
pub struct Ps(Option<std::process::Child>);

impl Ps {
    pub fn start() -> Ps {
        // An engine elsewhere: its containers' processes are not here.
        if !super::engine_host().starts_with("unix://") {
            return Ps(None);
        }
        let child = std::process::Command::new("ps")
            .arg("-ef")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn();
        Ps(child.ok())
    }

    fn output(mut self) -> Option<std::process::Output> {
        self.0.take()?.wait_with_output().ok()
    }
}

impl Drop for Ps {
    /// Not needed after all (no container, an engine elsewhere): not left behind.
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The processes of a container's cgroup, under the layouts Docker uses
/// (cgroupfs and systemd drivers, cgroup v1 and v2).
fn cgroup_pids(id: &str) -> Option<HashSet<String>> {
    let candidates = [
        format!("/sys/fs/cgroup/system.slice/docker-{id}.scope/cgroup.procs"),
        format!("/sys/fs/cgroup/docker/{id}/cgroup.procs"),
        format!("/sys/fs/cgroup/pids/docker/{id}/cgroup.procs"),
        format!("/sys/fs/cgroup/pids/system.slice/docker-{id}.scope/cgroup.procs"),
    ];
    let text =
        candidates.iter().map(PathBuf::from).find_map(|p| std::fs::read_to_string(p).ok())?;
    let pids: HashSet<String> = text.split_whitespace().map(str::to_string).collect();
    // Pid 0: a process outside this pid namespace.
    (!pids.is_empty() && !pids.contains("0")).then_some(pids)
}

/// `ps` output as the engine reads it: titles from the first line, and
/// each row's fields split on blanks, the last column taking the rest.
fn parse_ps(text: &str) -> Option<Table> {
    let mut lines = text.lines();
    let titles: Vec<String> = lines.next()?.split_whitespace().map(str::to_string).collect();
    let n = titles.len();
    if n == 0 {
        return None;
    }
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let mut row: Vec<String> = fields.iter().take(n - 1).map(|f| f.to_string()).collect();
            row.push(fields.get(n - 1..).map(|rest| rest.join(" ")).unwrap_or_default());
            row
        })
        .collect();
    Some((titles, rows))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ps_rows_keep_their_command_whole() {
        let text = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                    root           1       0  0 14:32 ?        00:00:01 /sbin/init splash  --x\n\
                    nobody        57       1  3 Dec05 pts/0    1-02:03:04 sleep 1000\n";
        let (titles, rows) = super::parse_ps(text).unwrap();
        assert_eq!(titles, ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
        assert_eq!(rows[0][7], "/sbin/init splash --x");
        assert_eq!(
            rows[1],
            ["nobody", "57", "1", "3", "Dec05", "pts/0", "1-02:03:04", "sleep 1000"]
        );
    }

    #[test]
    fn an_engine_elsewhere_is_asked() {
        let ids = ["abc".to_string()];
        assert!(super::top_here("tcp://10.0.0.1:2375", &ids, super::Ps::start()).is_none());
        let ids = ["no-such-container".to_string()];
        assert!(super::top_here("unix:///var/run/docker.sock", &ids, super::Ps::start()).is_none());
    }
}
