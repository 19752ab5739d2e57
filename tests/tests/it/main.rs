//! hookgate's end-to-end tests: one binary, a module per area.

mod builtins;
mod cli;
mod crash;
mod faults;
mod gateway;
mod hot_reload;
mod python_plugin;
mod scaffold;
mod third_party;
