//! The project's containers as the engine reports them, found by labels and
//! reduced to what planning decides on.

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};

use crate::engine::{Engine, containers, labels};

/// A container's state, as far as convergence cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    /// Running as far as dependencies go: its restart policy brings it back.
    Restarting,
    Paused,
    /// Created or exited: it can be started.
    Stopped,
}

/// One container of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub id: String,
    pub name: String,
    pub service: String,
    pub number: u32,
    /// The config-hash label it was made with.
    pub hash: Option<String>,
    pub image_id: Option<String>,
    pub state: State,
}

impl Observed {
    pub fn is_running(&self) -> bool {
        matches!(self.state, State::Running | State::Restarting)
    }
}

impl From<&ContainerSummary> for Observed {
    fn from(c: &ContainerSummary) -> Observed {
        let state = match c.state {
            Some(ContainerSummaryStateEnum::RUNNING) => State::Running,
            Some(ContainerSummaryStateEnum::RESTARTING) => State::Restarting,
            Some(ContainerSummaryStateEnum::PAUSED) => State::Paused,
            _ => State::Stopped,
        };
        Observed {
            id: containers::id(c),
            name: containers::name(c),
            service: containers::service(c).to_string(),
            number: containers::number(c),
            hash: containers::label(c, labels::CONFIG_HASH).map(str::to_string),
            image_id: c.image_id.clone(),
            state,
        }
    }
}

/// The project's containers (one-off ones aside), in name order; stopped
/// ones too with `all`.
pub async fn containers(
    engine: &Engine,
    project: &str,
    all: bool,
) -> anyhow::Result<Vec<Observed>> {
    Ok(containers::list(engine, project, all).await?.iter().map(Observed::from).collect())
}
