//! `rcompose proxy -c FILE [-p PREFIX] [-t]`: serves an nginx configuration
//! on this host as `nginx -c FILE` would (listen addresses, roots and
//! upstream names as written).

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::ProxyArgs;
use crate::proxy::conf::AsWritten;
use crate::proxy::request::Identity;
use crate::proxy::server::{self, Setup};
use crate::proxy::upstream::Dns;

pub fn setup(args: &ProxyArgs) -> Setup {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let conf_path = cwd.join(&args.conf);
    let conf_prefix = conf_path.parent().map(PathBuf::from).unwrap_or_else(|| cwd.clone());
    let prefix = args.prefix.as_ref().map(|p| cwd.join(p)).unwrap_or_else(|| conf_prefix.clone());
    Setup {
        conf_path,
        conf_prefix,
        prefix,
        includes: Arc::new(AsWritten),
        paths: Arc::new(Identity),
        hosts: Arc::new(Dns::default()),
        listen: Arc::new(|l| vec![std::net::SocketAddr::new(l.addr.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])), l.port)]),
        log_lines: None,
    }
}

pub fn run(args: &ProxyArgs) -> anyhow::Result<i32> {
    let setup = setup(args);
    let shown = setup.conf_path.display().to_string();
    let rt = match server::load(&setup) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rcompose proxy: [emerg] {e}");
            if args.test {
                eprintln!("rcompose proxy: configuration file {shown} test failed");
            }
            return Ok(1);
        }
    };
    if args.test {
        eprintln!("rcompose proxy: the configuration file {shown} syntax is ok");
        eprintln!("rcompose proxy: configuration file {shown} test is successful");
        return Ok(0);
    }
    let workers = rt.config.workers;
    // The workers have runtimes of their own; this one only waits for signals.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let running = match server::start(setup, rt) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("rcompose proxy: [emerg] {e}");
                return Ok(1);
            }
        };
        let addrs: Vec<String> = running.addrs.iter().map(|a| a.to_string()).collect();
        eprintln!("rcompose proxy: serving {shown} on {} with {workers} worker thread(s)", addrs.join(", "));
        server::run_until_signal(running, server::SHUTDOWN_DEADLINE).await;
        Ok(0)
    })
}
