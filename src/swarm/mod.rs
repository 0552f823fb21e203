//! `stack deploy|ls|ps|services|rm`: the same compose files onto a Docker
//! Swarm, through the Engine API, named and labelled as `docker stack`
//! names them, so either tool lists and removes what the other deployed.
//!
//! Beyond docker stack: `depends_on` is honoured (levels deployed in order,
//! each waiting for what the next needs), configs come from `content` and
//! `environment` too, and the nginx a project runs in front is served by
//! rcompose's own proxy in a container ([`proxy_image`]) with its files as
//! swarm configs, as it is served on a laptop.

mod deploy;
mod list;
mod plan;
pub mod proxy_image;
mod spec;

pub use deploy::{LEVEL_TIMEOUT, check_manager, deploy};
pub use list::{list_services, ls, ps, rm};
pub use plan::{PlanOptions, StackPlan, describe, plan};
pub use spec::{NAMESPACE, names_registry};

/// Whether this machine's kernel routes a swarm's virtual IPs (IPVS). A
/// swarm without it serves only DNS round robin and ports published on
/// the node; an engine elsewhere is assumed to have it.
pub fn local_kernel_lacks_ipvs(engine_host: &str) -> bool {
    engine_host.starts_with("unix://") && !std::path::Path::new("/proc/net/ip_vs").exists()
}

#[cfg(test)]
mod tests;
