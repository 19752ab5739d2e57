//! hookgate's end-to-end tests: one binary, a module per area.

mod abuse;
mod builtins;
mod cli;
mod console;
mod crash;
mod faults;
mod gateway;
mod hot_reload;
mod storage_faults;
mod third_party;
