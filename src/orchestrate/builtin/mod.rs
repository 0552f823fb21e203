//! The built-in proxy in a compose project: which nginx services it serves
//! in place of their containers ([`select`]), how it finds the paths and
//! containers they name ([`mounts`], [`hosts`]), and how it runs: inside
//! this process ([`in_process`]) or as a process of its own that later
//! commands find again ([`detached`], [`daemon`]).

pub mod daemon;
pub mod detached;
pub mod hosts;
pub mod in_process;
pub mod mounts;
pub mod select;
pub mod templates;

pub use detached::{
    ProxyState, Reload, Starting, log_file, parse_signal, remove_state, running, send_signal,
    served, spawn_detached, start_detached, stop_detached, summaries, wait_ended,
};
pub use hosts::via_ports;
pub use in_process::{Loaded, load_in_process, start_in_process};
pub use select::{proxy_services, state_dir, upstream_ports};

#[cfg(test)]
mod tests;
