//! hookgate's end-to-end tests: one binary, a module per area, on the shared harness
//! (`hookgate_tests::harness`).

mod abuse;
mod admin_surface;
mod backup;
mod bitbucket_connect;
mod bitbucket_faults;
mod bitbucket_oauth;
mod builtins;
mod channels;
mod chat_receivers;
mod cli;
mod compile_cache;
mod console;
mod console_oncall;
mod deliveries;
mod destination_health;
mod email;
mod escalation;
mod faults;
mod filters;
mod fuzz;
mod gateway;
mod hostile;
mod hot_reload;
mod metrics;
mod network;
mod on_call;
mod oncall_cli;
mod openapi_clients;
mod outside_tools;
mod people;
mod plugin_versions;
mod postgres;
mod replay;
mod retention;
mod roles;
mod schedules;
mod security;
mod send_test;
mod storage_copy;
mod storage_faults;
mod third_party;

/// The real binary, as the child-process tests start it.
pub(crate) fn hookgate_binary() -> hookgate_tests::harness::GatewayProgram {
    hookgate_tests::harness::GatewayProgram::binary(env!("CARGO_BIN_EXE_hookgate-e2e"))
}
