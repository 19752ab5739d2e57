//! hookgate: a webhook gateway with WebAssembly plugins. Bitbucket (and any provider a plugin
//! teaches it) posts webhooks; hookgate verifies and stores each one, hands the verified payload
//! to sandboxed WASI component plugins that turn it into alerts and messages, and delivers them.
//!
//! Data flows one way: HTTP in (`http::ingest`) → verify (`verify`) → store (`store`) → queue
//! (`pipeline::queue`) → plugins (`runtime`, `pipeline`) → alert state (`alerts`) → deliveries
//! (`delivery`) → HTTP out.
//!
//! The layers, each importing only its own layer or lower ones (and no two modules importing
//! each other):
//!
//! | layer | modules |
//! |---|---|
//! | 1. composition | `server` (builds the services, starts the workers and the HTTP server), `main`, `cli` (its `serve` starts `server`; the other commands are HTTP clients of the admin API) |
//! | 2. the HTTP surface | `http` (ingest, admin API, console; its own state: admin token, limits, sessions, Bitbucket client) |
//! | 3. operator actions | `ops` (every read and write the API, console and CLI share; [`ops::Services`]; one error type) |
//! | 4. the flow | `pipeline` (processing worker and queue), `alerts` (the alert state machine), `delivery` (the outbox), `bitbucket` (the REST client connect uses), `template` |
//! | 5. foundations | `store` (the backend trait, its records, `store::redb`), `runtime` (wasmtime), `verify`, `netguard` (which addresses deliveries may reach), `datadir` (the data folder and its modes), `config`, `metrics`, `ids`, `utc`, `builtin`, `oncall` (schedules, escalation policies and notification rules, computed; no I/O) |
//!
//! `http` never reaches the store: it calls `ops`. Only `store/redb/` knows redb.

#![forbid(unsafe_code)]

pub mod alerts;
pub mod bitbucket;
pub mod builtin;
pub mod cli;
pub mod config;
pub mod datadir;
pub mod delivery;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod netguard;
pub mod oncall;
pub mod ops;
pub mod pipeline;
pub mod runtime;
pub mod server;
pub mod store;
pub mod template;
pub mod utc;
pub mod verify;

pub use server::{run, run_until};

/// Installs the TLS crypto provider (ring) that HTTP clients need; call before building one.
/// Calling it again is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
