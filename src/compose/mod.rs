//! Reading compose projects: YAML with positions, interpolation, dotenv,
//! merging, conversion to the model, validation and the dependency graph.

pub mod convert;
pub mod dotenv;
pub mod extends;
pub mod graph;
pub mod include;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod model;
pub mod syntax;
pub mod yaml;

pub use load::{LoadOptions, Loaded, load};
pub use model::Project;
