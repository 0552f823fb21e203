//! Between the commands and the engine. Each command *observes* what the
//! engine has of the project ([`observe`]), *plans* what must change as a
//! pure function ([`plan`]), and *executes* the plan ([`converge`]), with one
//! dependency-order traversal ([`deps`]), one way to stop ([`stop`]), one to
//! wait ([`wait`]) and one to follow logs ([`follow`]); and the built-in
//! proxy that stands in for nginx ([`builtin`]).

pub mod builtin;
pub mod converge;
pub mod deps;
pub mod follow;
pub mod from_labels;
pub mod images;
pub mod lifecycle;
pub mod observe;
pub mod plan;
pub mod run;
pub mod stop;
pub mod up;
pub mod wait;
pub mod watch;
