//! hookgate's end-to-end tests: one binary, a module per area.

mod abuse;
mod admin_surface;
mod bitbucket_connect;
mod builtins;
mod cli;
mod console;
mod crash;
mod destination_health;
mod faults;
mod fuzz;
mod gateway;
mod hostile;
mod hot_reload;
mod metrics;
mod network;
mod security;
mod storage_faults;
mod third_party;
