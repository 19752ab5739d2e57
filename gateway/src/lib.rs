//! hookgate: a webhook gateway with WebAssembly plugins. Bitbucket (and any provider a plugin
//! teaches it) posts webhooks; hookgate verifies and stores each one, hands the verified payload
//! to sandboxed WASI component plugins that turn it into alerts and messages, and delivers them.

#![forbid(unsafe_code)]

pub mod builtin;
pub mod cli;
pub mod config;
pub mod runtime;
pub mod verify;
