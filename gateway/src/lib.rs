//! hookgate: a webhook gateway with WebAssembly plugins. Bitbucket (and any provider a plugin
//! teaches it) posts webhooks; hookgate verifies and stores each one, hands the verified payload
//! to sandboxed WASI component plugins that turn it into alerts and messages, and delivers them.
//!
//! Data flows one way: HTTP in (`http::ingest`) → verify (`verify`) → store (`store`,
//! `committer`) → queue → plugins (`runtime`, `pipeline`) → alert state (`alerts`) →
//! deliveries (`delivery`) → HTTP out.

#![forbid(unsafe_code)]

pub mod admin;
pub mod alerts;
pub mod bitbucket_connect;
pub mod builtin;
pub mod cli;
pub mod committer;
pub mod config;
pub mod datadir;
pub mod delivery;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod netguard;
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
