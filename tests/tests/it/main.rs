//! hookgate's end-to-end tests: one binary, a module per area.

mod builtins;
mod cli;
mod faults;
mod hot_reload;
