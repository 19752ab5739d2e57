//! Write hookgate plugins in Rust.
//!
//! A hookgate plugin is a WASI component of one of four kinds — provider, alert mapper,
//! formatter, notifier — built with `cargo build --release --target wasm32-wasip2` and dropped
//! into the gateway's `plugins/` folder. This crate hides the component ABI: implement one trait
//! and call its export macro.
//!
//! ```
//! use hookgate_plugin_sdk::prelude::*;
//!
//! struct Pipelines;
//!
//! impl AlertMapper for Pipelines {
//!     fn map(event: &Event, config: &Config) -> Result<Vec<Action>, PluginError> {
//!         let state = event.json()?.path(config.str_or("status_field", "commit_status^state")?)?;
//!         let key = event.render(config.str_or("key", "{repository.full_name}")?)?;
//!         Ok(match state.as_str() {
//!             Some("FAILED") => vec![Action::open(Alert::new(key, "pipeline failed"))],
//!             Some("SUCCESSFUL") => vec![Action::close(key)],
//!             other => vec![Action::ignore(format!("state {other:?}"))],
//!         })
//!     }
//! }
//!
//! // In a plugin crate (crate-type = ["cdylib", "rlib"]) this line exports the component:
//! // export_alert_mapper!(Pipelines);
//! # let event = Event::new("repo:commit_status_updated",
//! #     r#"{"commit_status": {"state": "FAILED"}, "repository": {"full_name": "acme/widgets"}}"#);
//! # let actions = Pipelines::map(&event, &Config::default()).unwrap();
//! # assert_eq!(actions, vec![Action::open(Alert::new("acme/widgets", "pipeline failed"))]);
//! ```
//!
//! Helpers every plugin needs are here once: JSON access by `a^b^c` / `a.b.c` path
//! ([`JsonPath`]; [`Event::select`] reads only the paths it is given, skipping the rest), key templates ([`render_template`]), typed config access ([`Config`]), an
//! embed builder that keeps to Discord's limits ([`Message`], [`Embed`], [`limits`]) and colour
//! constants ([`colour`]), text helpers ([`truncate`], [`first_line`], [`short_hash`]) and time
//! conversions ([`time`]). See the crate's README for building, testing and dropping in.

#![deny(missing_docs)]

extern crate self as hookgate_plugin_sdk;

mod alert;
#[cfg(any(all(feature = "arena", target_arch = "wasm32"), test))]
mod arena;
#[doc(hidden)]
pub mod bindings;
mod config;
mod convert;
mod error;
mod event;
mod export;
mod info;
mod json;
pub mod log;
mod message;
mod notify;
mod provider;
mod select;
mod text;
pub mod time;

pub use alert::{Action, Alert, Severity};
pub use config::Config;
pub use error::PluginError;
pub use event::Event;
pub use export::{AlertMapper, Formatter, Notifier, Provider};
pub use info::{API_VERSION, PluginInfo};
pub use json::{JsonPath, display_value, render_template};
pub use message::{Embed, EmbedAuthor, EmbedField, Message, colour, limits};
pub use notify::{
    AlertNotice, AlertState, Credential, Destination, Email, HttpRequest, Notification,
    NotificationContext, Outbound,
};
pub use provider::{
    DigestEncoding, EventType, HmacAlgorithm, ProviderDescription, SignatureScheme,
};
pub use select::{select_paths, template_paths};
/// The `serde_json` crate, so plugins need no direct dependency to build or read JSON.
pub use serde_json;
pub use text::{first_line, short_hash, truncate};

/// Everything a plugin usually needs: `use hookgate_plugin_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Action, Alert, AlertMapper, AlertNotice, AlertState, Config, Credential, Destination,
        Email, Embed, Event, EventType, Formatter, HttpRequest, JsonPath, Message, Notification,
        NotificationContext, Notifier, Outbound, PluginError, PluginInfo, Provider,
        ProviderDescription, Severity, SignatureScheme, colour, display_value, export_alert_mapper,
        export_formatter, export_notifier, export_provider, first_line, limits, render_template,
        select_paths, short_hash, template_paths, truncate,
    };
    pub use serde_json::{self, Value, json};
}

/// Used by the export macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::export::{
        AlertMapperExport, FormatterExport, NotifierExport, Package, ProviderExport,
    };
    pub use wit_bindgen;
}
