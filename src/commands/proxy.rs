//! `rcompose proxy -c FILE [-p PREFIX] [-t]`: serves an nginx configuration
//! on this host as `nginx -c FILE` would (listen addresses, roots and
//! upstream names as written).

use crate::cli::ProxyArgs;
use crate::failure::Failure;
use crate::proxy::server::{self, Setup};

pub fn run(args: &ProxyArgs) -> anyhow::Result<i32> {
    let setup = Setup::standalone(&args.conf, args.prefix.as_deref());
    let shown = setup.conf_path.display().to_string();
    let rt = server::load(&setup).map_err(|e| {
        let mut lines = vec![format!("rcompose proxy: [emerg] {e}")];
        if args.test {
            lines.push(format!("rcompose proxy: configuration file {shown} test failed"));
        }
        Failure::Verbatim(lines)
    })?;
    if args.test {
        eprintln!("rcompose proxy: the configuration file {shown} syntax is ok");
        eprintln!("rcompose proxy: configuration file {shown} test is successful");
        return Ok(0);
    }
    let workers = rt.config.workers;
    // The workers have runtimes of their own; this one only waits for signals.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let running = server::start(setup, rt)
            .map_err(|e| Failure::Verbatim(vec![format!("rcompose proxy: [emerg] {e}")]))?;
        let addrs: Vec<String> = running.addrs.iter().map(|a| a.to_string()).collect();
        eprintln!(
            "rcompose proxy: serving {shown} on {} with {workers} worker thread(s)",
            addrs.join(", ")
        );
        server::run_until_signal(running, server::SHUTDOWN_DEADLINE).await;
        Ok(0)
    })
}
