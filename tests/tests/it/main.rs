//! hookgate's end-to-end tests: one binary, a module per area.

mod builtins;
mod cli;
mod crash;
mod faults;
mod gateway;
mod hot_reload;
mod third_party;
