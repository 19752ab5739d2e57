//! Host bindings, one module per WIT version the gateway serves: [`v0_1`] for
//! `hookgate:plugin@0.1.0` (`wit/deps/hookgate-plugin@0.1.0/`, frozen) and [`v0_2`] for
//! `hookgate:plugin@0.2.0` (`wit/`). Each is generated from those files (the only source of the
//! ABI) and converts to and from the gateway's own types in `types.rs`; the rest of the gateway
//! sees only those types and [`PluginExports`], never a version.

#![allow(missing_docs)]

use super::host::HostState;
use super::types::{
    AlertAction, Message, Notification, NotificationContext, NotifierOutput, PluginDestination,
    PluginEvent, PluginInfo, PluginKind, ProviderDescription,
};
use serde::Serialize;
use wasmtime::Store;
use wasmtime::component::{InstancePre, Linker};

/// The conversions of the records every version has unchanged (plugin info, events, provider
/// descriptions, messages, notification contexts and destinations), written once and expanded in
/// each version's module, where `wit` names that version's generated types and `types` the
/// gateway's. What a version changed is converted by hand beside it.
macro_rules! conversions_every_version_shares {
    () => {
        impl From<wit::PluginKind> for types::PluginKind {
            fn from(kind: wit::PluginKind) -> Self {
                match kind {
                    wit::PluginKind::Provider => Self::Provider,
                    wit::PluginKind::AlertMapper => Self::AlertMapper,
                    wit::PluginKind::Formatter => Self::Formatter,
                    wit::PluginKind::Notifier => Self::Notifier,
                }
            }
        }

        impl From<wit::PluginInfo> for types::PluginInfo {
            fn from(info: wit::PluginInfo) -> Self {
                Self {
                    name: info.name,
                    version: info.version,
                    kind: info.kind.into(),
                    api_version: info.api_version,
                    description: info.description,
                    config_keys: info
                        .config_keys
                        .into_iter()
                        .map(|key| types::ConfigKey {
                            name: key.name,
                            description: key.description,
                        })
                        .collect(),
                }
            }
        }

        impl From<&types::PluginEvent> for wit::Event {
            fn from(event: &types::PluginEvent) -> Self {
                Self {
                    inbound_id: event.inbound_id.clone(),
                    endpoint_id: event.endpoint_id.clone(),
                    provider: event.provider.clone(),
                    event_key: event.event_key.clone(),
                    headers: event
                        .headers
                        .iter()
                        .map(|(name, value)| wit::Header {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                    body: event.body.clone(),
                    received_at: event.received_at,
                    attempt: event.attempt,
                }
            }
        }

        impl From<wit::ProviderDescription> for types::ProviderDescription {
            fn from(description: wit::ProviderDescription) -> Self {
                Self {
                    event_header: description.event_header,
                    delivery_id_header: description.delivery_id_header,
                    attempt_header: description.attempt_header,
                    signature: description.signature.map(|scheme| match scheme {
                        wit::SignatureScheme::Hmac(hmac) => types::SignatureScheme::Hmac {
                            header: hmac.header,
                            prefix: hmac.prefix,
                            algorithm: match hmac.algorithm {
                                wit::HmacAlgorithm::Sha1 => types::HmacAlgorithm::Sha1,
                                wit::HmacAlgorithm::Sha256 => types::HmacAlgorithm::Sha256,
                                wit::HmacAlgorithm::Sha512 => types::HmacAlgorithm::Sha512,
                            },
                            encoding: match hmac.encoding {
                                wit::DigestEncoding::Hex => types::DigestEncoding::Hex,
                                wit::DigestEncoding::Base64 => types::DigestEncoding::Base64,
                            },
                        },
                        wit::SignatureScheme::Token(header) => {
                            types::SignatureScheme::Token { header }
                        }
                        wit::SignatureScheme::StandardWebhooks => {
                            types::SignatureScheme::StandardWebhooks
                        }
                    }),
                    events: description
                        .events
                        .into_iter()
                        .map(|event| types::EventType {
                            key: event.key,
                            push: event.push,
                            description: event.description,
                            sample: event.sample,
                        })
                        .collect(),
                }
            }
        }

        impl From<wit::Message> for types::Message {
            fn from(message: wit::Message) -> Self {
                Self {
                    text: message.text,
                    embeds: message
                        .embeds
                        .into_iter()
                        .map(|embed| types::Embed {
                            title: embed.title,
                            description: embed.description,
                            url: embed.url,
                            colour: embed.colour,
                            author: embed.author.map(|author| types::EmbedAuthor {
                                name: author.name,
                                url: author.url,
                                icon_url: author.icon_url,
                            }),
                            fields: embed
                                .fields
                                .into_iter()
                                .map(|field| types::EmbedField {
                                    name: field.name,
                                    value: field.value,
                                    inline: field.inline,
                                })
                                .collect(),
                            footer: embed.footer,
                            timestamp: embed.timestamp,
                        })
                        .collect(),
                }
            }
        }

        impl From<&types::Message> for wit::Message {
            fn from(message: &types::Message) -> Self {
                Self {
                    text: message.text.clone(),
                    embeds: message
                        .embeds
                        .iter()
                        .map(|embed| wit::Embed {
                            title: embed.title.clone(),
                            description: embed.description.clone(),
                            url: embed.url.clone(),
                            colour: embed.colour,
                            author: embed.author.as_ref().map(|author| wit::EmbedAuthor {
                                name: author.name.clone(),
                                url: author.url.clone(),
                                icon_url: author.icon_url.clone(),
                            }),
                            fields: embed
                                .fields
                                .iter()
                                .map(|field| wit::EmbedField {
                                    name: field.name.clone(),
                                    value: field.value.clone(),
                                    inline: field.inline,
                                })
                                .collect(),
                            footer: embed.footer.clone(),
                            timestamp: embed.timestamp.clone(),
                        })
                        .collect(),
                }
            }
        }

        impl From<types::AlertState> for wit::AlertState {
            fn from(state: types::AlertState) -> Self {
                match state {
                    types::AlertState::Open => Self::Open,
                    types::AlertState::Acknowledged => Self::Acknowledged,
                    types::AlertState::Closed => Self::Closed,
                }
            }
        }

        impl From<&types::NotificationContext> for wit::NotificationContext {
            fn from(context: &types::NotificationContext) -> Self {
                Self {
                    endpoint_id: context.endpoint_id.clone(),
                    endpoint_name: context.endpoint_name.clone(),
                    event_key: context.event_key.clone(),
                    inbound_id: context.inbound_id.clone(),
                    delivery_id: context.delivery_id.clone(),
                }
            }
        }

        impl From<&types::PluginDestination> for wit::Destination {
            fn from(destination: &types::PluginDestination) -> Self {
                Self {
                    kind: destination.kind.clone(),
                    url: destination.url.clone(),
                    config: destination.config.clone(),
                }
            }
        }

        impl From<log::Level> for crate::runtime::host::LogLevel {
            fn from(level: log::Level) -> Self {
                match level {
                    log::Level::Trace => Self::Trace,
                    log::Level::Debug => Self::Debug,
                    log::Level::Info => Self::Info,
                    log::Level::Warn => Self::Warn,
                    log::Level::Error => Self::Error,
                }
            }
        }

        impl log::Host for crate::runtime::host::HostState {
            fn log(&mut self, level: log::Level, message: String) {
                self.log_line(level.into(), message);
            }
        }
    };
}

mod v0_1;
mod v0_2;

/// A version of `hookgate:plugin` the gateway serves, as a component's exports and its info
/// name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ApiVersion {
    /// `0.1.0`: the first; notifiers shape HTTP requests only.
    #[serde(rename = "0.1.0")]
    V0_1,
    /// `0.2.0`: severity, acknowledged and escalated notices, credentials named on requests,
    /// mails.
    #[serde(rename = "0.2.0")]
    V0_2,
}

impl ApiVersion {
    /// Every served version, oldest first.
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V0_1, ApiVersion::V0_2];
    /// The newest, which the SDK and `hookgate plugin new` build for.
    pub const LATEST: ApiVersion = ApiVersion::V0_2;

    /// `0.1.0`, `0.2.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V0_1 => "0.1.0",
            ApiVersion::V0_2 => "0.2.0",
        }
    }

    /// The served version of this name, if it is one.
    pub fn parse(version: &str) -> Option<ApiVersion> {
        ApiVersion::ALL
            .into_iter()
            .find(|served| served.as_str() == version)
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a plugin's exports answer, in the gateway's types, whichever version it was built
/// for. One implementation per version, over that version's pre-linked world; the caller has
/// checked the plugin's kind, so a call to another kind's function is refused as a bug.
pub(crate) trait PluginExports: Send + Sync {
    /// `info`, which every kind exports.
    fn info(&self, store: &mut Store<HostState>) -> wasmtime::Result<PluginInfo>;

    /// A provider's `describe`.
    fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<ProviderDescription>;

    /// An alert mapper's `map-event`.
    fn map_event(
        &self,
        store: &mut Store<HostState>,
        event: &PluginEvent,
        config: &str,
    ) -> wasmtime::Result<Result<Vec<AlertAction>, String>>;

    /// A formatter's `format`.
    fn format(
        &self,
        store: &mut Store<HostState>,
        event: &PluginEvent,
        config: &str,
    ) -> wasmtime::Result<Result<Option<Message>, String>>;

    /// What a notifier sends for `notification` (0.1's `notify`, 0.2's `shape`).
    fn notify(
        &self,
        store: &mut Store<HostState>,
        notification: &Notification,
        context: &NotificationContext,
        destination: &PluginDestination,
    ) -> wasmtime::Result<Result<Vec<NotifierOutput>, String>>;
}

/// The typed exports of a component of `kind` built for `version`; an error when the component
/// does not match that world's functions and types.
pub(crate) fn plugin_exports(
    version: ApiVersion,
    kind: PluginKind,
    instance_pre: InstancePre<HostState>,
) -> wasmtime::Result<Box<dyn PluginExports>> {
    Ok(match version {
        ApiVersion::V0_1 => Box::new(v0_1::Exports::new(kind, instance_pre)?),
        ApiVersion::V0_2 => Box::new(v0_2::Exports::new(kind, instance_pre)?),
    })
}

/// Links the one hookgate import, `log`, of every served version.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    v0_1::add_to_linker(linker)?;
    v0_2::add_to_linker(linker)
}

/// The error of calling a function the plugin's world does not have. The runtime checks the
/// kind before every call, so this names a bug rather than a plugin's fault.
fn not_in_world(function: &str, kind: PluginKind) -> wasmtime::Error {
    wasmtime::Error::msg(format!(
        "{function} called on a {kind}, whose world lacks it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_versions_are_the_bindings_modules() {
        let names: Vec<&str> = ApiVersion::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(names, crate::runtime::SUPPORTED_API_VERSIONS);
        assert_eq!(ApiVersion::parse("0.2.0"), Some(ApiVersion::V0_2));
        assert_eq!(ApiVersion::parse("0.9.0"), None);
        assert_eq!(ApiVersion::LATEST, *ApiVersion::ALL.last().unwrap());
    }
}
