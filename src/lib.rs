//! rcompose runs docker-compose projects: it reads compose files as docker
//! compose does, drives the Docker Engine, and serves nginx configurations
//! with its own in-process reverse proxy.
//!
//! The binary is a thin shell around [`run`]; everything is reachable from
//! tests through this library.

pub mod alloc;
pub mod cli;
pub mod commands;
pub mod compose;
pub mod diag;
pub mod engine;
pub mod failure;
#[doc(hidden)]
pub mod fuzz;
pub mod kubernetes;
pub mod orchestrate;
pub mod proxy;
pub mod swarm;
pub mod ui;
pub mod userfile;

mod args;

/// Parses the command line and runs it; returns the process exit status.
pub fn run() -> i32 {
    match args::parse(std::env::args_os().collect()) {
        Ok(cli) => commands::dispatch(cli),
        Err(code) => code,
    }
}
