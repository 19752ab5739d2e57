//! hookgate's end-to-end tests: one binary, a module per area.

mod builtins;
mod cli;
mod crash;
mod faults;
mod fuzz;
mod gateway;
mod hostile;
mod hot_reload;
mod network;
