//! Conversions between the SDK's types and the generated ABI of `hookgate:plugin@0.2.0`. With
//! `export.rs`, the only code that touches wit-bindgen's types.

use crate::bindings::wit;
use crate::{
    Action, Alert, AlertNotice, AlertState, Credential, DigestEncoding, Email, Embed, EmbedAuthor,
    EmbedField, Event, HmacAlgorithm, HttpRequest, Message, Notification, Outbound, PluginError,
    PluginInfo, ProviderDescription, Severity, SignatureScheme, info::API_VERSION,
};

pub(crate) fn info_to_wit(info: PluginInfo, kind: wit::PluginKind) -> wit::PluginInfo {
    wit::PluginInfo {
        name: info.name,
        version: info.version,
        kind,
        api_version: API_VERSION.to_string(),
        description: info.description,
        config_keys: info
            .config_keys
            .into_iter()
            .map(|(name, description)| wit::ConfigKey { name, description })
            .collect(),
    }
}

pub(crate) fn event_from_wit(event: wit::Event) -> Event {
    Event {
        inbound_id: event.inbound_id,
        endpoint_id: event.endpoint_id,
        provider: event.provider,
        event_key: event.event_key,
        headers: event
            .headers
            .into_iter()
            .map(|header| (header.name, header.value))
            .collect(),
        body: event.body,
        received_at: event.received_at,
        attempt: event.attempt,
        ..Event::default()
    }
}

pub(crate) fn headers_to_wit(headers: Vec<(String, String)>) -> Vec<wit::Header> {
    headers
        .into_iter()
        .map(|(name, value)| wit::Header { name, value })
        .collect()
}

pub(crate) fn alert_to_wit(alert: Alert) -> wit::Alert {
    wit::Alert {
        key: alert.key,
        title: alert.title,
        source_status: alert.source_status,
        url: alert.url,
        description: alert.description,
        commit_hash: alert.commit_hash,
        commit_message: alert.commit_message,
        actor: alert.actor,
        labels: alert.labels,
        severity: match alert.severity {
            Severity::Critical => wit::Severity::Critical,
            Severity::Error => wit::Severity::Error,
            Severity::Warning => wit::Severity::Warning,
            Severity::Info => wit::Severity::Info,
        },
    }
}

pub(crate) fn action_to_wit(action: Action) -> wit::AlertAction {
    match action {
        Action::Open(alert) => wit::AlertAction::Open(alert_to_wit(alert)),
        Action::Close(key) => wit::AlertAction::Close(key),
        Action::Ignore(reason) => wit::AlertAction::Ignore(reason),
    }
}

pub(crate) fn alert_from_wit(alert: wit::Alert) -> Alert {
    Alert {
        key: alert.key,
        title: alert.title,
        source_status: alert.source_status,
        url: alert.url,
        description: alert.description,
        commit_hash: alert.commit_hash,
        commit_message: alert.commit_message,
        actor: alert.actor,
        labels: alert.labels,
        severity: match alert.severity {
            wit::Severity::Critical => Severity::Critical,
            wit::Severity::Error => Severity::Error,
            wit::Severity::Warning => Severity::Warning,
            wit::Severity::Info => Severity::Info,
        },
    }
}

pub(crate) fn message_to_wit(message: Message) -> wit::Message {
    let message = message.within_limits();
    wit::Message {
        text: message.text,
        embeds: message
            .embeds
            .into_iter()
            .map(|embed| wit::Embed {
                title: embed.title,
                description: embed.description,
                url: embed.url,
                colour: embed.colour,
                author: embed.author.map(|author| wit::EmbedAuthor {
                    name: author.name,
                    url: author.url,
                    icon_url: author.icon_url,
                }),
                fields: embed
                    .fields
                    .into_iter()
                    .map(|field| wit::EmbedField {
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

pub(crate) fn message_from_wit(message: wit::Message) -> Message {
    Message {
        text: message.text,
        embeds: message
            .embeds
            .into_iter()
            .map(|embed| Embed {
                title: embed.title,
                description: embed.description,
                url: embed.url,
                colour: embed.colour,
                author: embed.author.map(|author| EmbedAuthor {
                    name: author.name,
                    url: author.url,
                    icon_url: author.icon_url,
                }),
                fields: embed
                    .fields
                    .into_iter()
                    .map(|field| EmbedField {
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

pub(crate) fn notice_from_wit(notice: wit::AlertNotice) -> AlertNotice {
    AlertNotice {
        id: notice.id,
        alert: alert_from_wit(notice.alert),
        state: match notice.state {
            wit::AlertState::Open => AlertState::Open,
            wit::AlertState::Acknowledged => AlertState::Acknowledged,
            wit::AlertState::Closed => AlertState::Closed,
        },
        count: notice.count,
        opened_at: notice.opened_at,
        closed_at: notice.closed_at,
        acknowledged_by: notice.acknowledged_by,
        escalation_step: notice.escalation_step,
        ack_url: notice.ack_url,
    }
}

pub(crate) fn notification_from_wit(notification: wit::Notification) -> Notification {
    match notification {
        wit::Notification::Message(message) => Notification::Message(message_from_wit(message)),
        wit::Notification::AlertOpened(notice) => {
            Notification::AlertOpened(notice_from_wit(notice))
        }
        wit::Notification::AlertClosed(notice) => {
            Notification::AlertClosed(notice_from_wit(notice))
        }
        wit::Notification::AlertAcknowledged(notice) => {
            Notification::AlertAcknowledged(notice_from_wit(notice))
        }
        wit::Notification::AlertEscalated(notice) => {
            Notification::AlertEscalated(notice_from_wit(notice))
        }
    }
}

pub(crate) fn request_to_wit(request: HttpRequest) -> wit::HttpRequest {
    wit::HttpRequest {
        method: request.method,
        url: request.url,
        headers: headers_to_wit(request.headers),
        body: request.body,
        credential: request.credential.map(|credential| match credential {
            Credential::Twilio => wit::Credential::Twilio,
            Credential::DestinationToken => wit::Credential::DestinationToken,
        }),
    }
}

pub(crate) fn outbound_to_wit(output: Outbound) -> wit::Outbound {
    match output {
        Outbound::Http(request) => wit::Outbound::Http(request_to_wit(request)),
        Outbound::Email(email) => wit::Outbound::Email(email_to_wit(email)),
    }
}

pub(crate) fn email_to_wit(email: Email) -> wit::Email {
    wit::Email {
        to: email.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
    }
}

pub(crate) fn description_to_wit(description: ProviderDescription) -> wit::ProviderDescription {
    wit::ProviderDescription {
        event_header: description.event_header,
        delivery_id_header: description.delivery_id_header,
        attempt_header: description.attempt_header,
        signature: description.signature.map(|scheme| match scheme {
            SignatureScheme::Hmac {
                header,
                prefix,
                algorithm,
                encoding,
            } => wit::SignatureScheme::Hmac(wit::HmacSignature {
                header,
                prefix,
                algorithm: match algorithm {
                    HmacAlgorithm::Sha1 => wit::HmacAlgorithm::Sha1,
                    HmacAlgorithm::Sha256 => wit::HmacAlgorithm::Sha256,
                    HmacAlgorithm::Sha512 => wit::HmacAlgorithm::Sha512,
                },
                encoding: match encoding {
                    DigestEncoding::Hex => wit::DigestEncoding::Hex,
                    DigestEncoding::Base64 => wit::DigestEncoding::Base64,
                },
            }),
            SignatureScheme::Token(header) => wit::SignatureScheme::Token(header),
            SignatureScheme::StandardWebhooks => wit::SignatureScheme::StandardWebhooks,
        }),
        events: description
            .events
            .into_iter()
            .map(|event| wit::EventType {
                key: event.key,
                push: event.push,
                description: event.description,
                sample: event.sample,
            })
            .collect(),
    }
}

pub(crate) fn error_text(error: PluginError) -> String {
    error.to_string()
}
