//! Between the commands and the engine: what the project's resources are on
//! the engine, what must change to match the files, and doing it in
//! dependency order; and the built-in proxy that stands in for nginx.

pub mod builtin;
