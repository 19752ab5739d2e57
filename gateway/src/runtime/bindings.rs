//! Host bindings for WIT `hookgate:plugin@0.1.0`, generated from `wit/` (the only source of the
//! ABI), and conversions to the gateway's own types in `types.rs`. A future WIT version gets a
//! sibling module; the rest of the gateway keeps using `types.rs`.

#![allow(missing_docs)]

use super::types;

pub mod provider {
    wasmtime::component::bindgen!({
        world: "provider",
        path: "../wit",
    });
}

pub mod alert_mapper {
    wasmtime::component::bindgen!({
        world: "alert-mapper",
        path: "../wit",
        with: {
            "hookgate:plugin/types": super::provider::hookgate::plugin::types,
            "hookgate:plugin/log": super::provider::hookgate::plugin::log,
        },
    });
}

pub mod formatter {
    wasmtime::component::bindgen!({
        world: "formatter",
        path: "../wit",
        with: {
            "hookgate:plugin/types": super::provider::hookgate::plugin::types,
            "hookgate:plugin/log": super::provider::hookgate::plugin::log,
        },
    });
}

pub mod notifier {
    wasmtime::component::bindgen!({
        world: "notifier",
        path: "../wit",
        with: {
            "hookgate:plugin/types": super::provider::hookgate::plugin::types,
            "hookgate:plugin/log": super::provider::hookgate::plugin::log,
        },
    });
}

pub use provider::hookgate::plugin::log;
pub use provider::hookgate::plugin::types as wit;

// ---- conversions between WIT 0.1 and the gateway's types ------------------------------------

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
                wit::SignatureScheme::Token(header) => types::SignatureScheme::Token { header },
                wit::SignatureScheme::StandardWebhooks => types::SignatureScheme::StandardWebhooks,
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

impl From<wit::Alert> for types::Alert {
    fn from(alert: wit::Alert) -> Self {
        Self {
            key: alert.key,
            title: alert.title,
            source_status: alert.source_status,
            url: alert.url,
            description: alert.description,
            commit_hash: alert.commit_hash,
            commit_message: alert.commit_message,
            actor: alert.actor,
            labels: alert.labels,
            // 0.1 alerts carry none.
            severity: types::Severity::default(),
        }
    }
}

impl From<&types::Alert> for wit::Alert {
    fn from(alert: &types::Alert) -> Self {
        Self {
            key: alert.key.clone(),
            title: alert.title.clone(),
            source_status: alert.source_status.clone(),
            url: alert.url.clone(),
            description: alert.description.clone(),
            commit_hash: alert.commit_hash.clone(),
            commit_message: alert.commit_message.clone(),
            actor: alert.actor.clone(),
            labels: alert.labels.clone(),
        }
    }
}

impl From<wit::AlertAction> for types::AlertAction {
    fn from(action: wit::AlertAction) -> Self {
        match action {
            wit::AlertAction::Open(alert) => Self::Open {
                alert: alert.into(),
            },
            wit::AlertAction::Close(key) => Self::Close { key },
            wit::AlertAction::Ignore(reason) => Self::Ignore { reason },
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

impl From<&types::AlertNotice> for wit::AlertNotice {
    fn from(notice: &types::AlertNotice) -> Self {
        Self {
            id: notice.id.clone(),
            alert: (&notice.alert).into(),
            state: match notice.state {
                types::AlertState::Open => wit::AlertState::Open,
                types::AlertState::Acknowledged => wit::AlertState::Acknowledged,
                types::AlertState::Closed => wit::AlertState::Closed,
            },
            count: notice.count,
            opened_at: notice.opened_at,
            closed_at: notice.closed_at,
        }
    }
}

/// A notification as WIT 0.1 has it; `None` for the kinds 0.1 does not know (acknowledged,
/// escalated), which a 0.1 notifier is simply not told about.
pub fn notification_0_1(notification: &types::Notification) -> Option<wit::Notification> {
    Some(match notification {
        types::Notification::Message(message) => wit::Notification::Message(message.into()),
        types::Notification::AlertOpened(notice) => wit::Notification::AlertOpened(notice.into()),
        types::Notification::AlertClosed(notice) => wit::Notification::AlertClosed(notice.into()),
        types::Notification::AlertAcknowledged(_) | types::Notification::AlertEscalated(_) => {
            return None;
        }
    })
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

impl From<wit::HttpRequest> for types::OutboundRequest {
    fn from(request: wit::HttpRequest) -> Self {
        Self {
            method: request.method,
            url: request.url,
            headers: request
                .headers
                .into_iter()
                .map(|header| (header.name, header.value))
                .collect(),
            body: request.body,
            credential: None,
        }
    }
}
