//! `hookgate:plugin@0.2.0` (`wit/`): 0.1 plus severity on alerts, acknowledged and escalated
//! notices with who acknowledged, the step and the ack link, credentials named on HTTP
//! requests, and mails. A notifier is asked through `shape`, which returns both.

use super::{PluginExports, not_in_world};
use crate::runtime::host::HostState;
use crate::runtime::types;
use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

mod generated {
    pub mod provider {
        wasmtime::component::bindgen!({
            world: "hookgate:plugin/provider@0.2.0",
            path: "../wit",
        });
    }

    pub mod alert_mapper {
        wasmtime::component::bindgen!({
            world: "hookgate:plugin/alert-mapper@0.2.0",
            path: "../wit",
            with: {
                "hookgate:plugin/types@0.2.0": super::provider::hookgate::plugin0_2_0::types,
                "hookgate:plugin/log@0.2.0": super::provider::hookgate::plugin0_2_0::log,
            },
        });
    }

    pub mod formatter {
        wasmtime::component::bindgen!({
            world: "hookgate:plugin/formatter@0.2.0",
            path: "../wit",
            with: {
                "hookgate:plugin/types@0.2.0": super::provider::hookgate::plugin0_2_0::types,
                "hookgate:plugin/log@0.2.0": super::provider::hookgate::plugin0_2_0::log,
            },
        });
    }

    pub mod notifier {
        wasmtime::component::bindgen!({
            world: "hookgate:plugin/notifier@0.2.0",
            path: "../wit",
            with: {
                "hookgate:plugin/types@0.2.0": super::provider::hookgate::plugin0_2_0::types,
                "hookgate:plugin/log@0.2.0": super::provider::hookgate::plugin0_2_0::log,
            },
        });
    }
}

use generated::{alert_mapper, formatter, notifier, provider};
pub use provider::hookgate::plugin0_2_0::log;
pub use provider::hookgate::plugin0_2_0::types as wit;

conversions_every_version_shares!();

/// Links 0.2's `log` import.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

/// A 0.2 component, pre-linked and typed by its world.
pub(crate) enum Exports {
    Provider(provider::ProviderPre<HostState>),
    AlertMapper(alert_mapper::AlertMapperPre<HostState>),
    Formatter(formatter::FormatterPre<HostState>),
    Notifier(notifier::NotifierPre<HostState>),
}

impl Exports {
    pub(super) fn new(
        kind: types::PluginKind,
        instance_pre: InstancePre<HostState>,
    ) -> wasmtime::Result<Self> {
        Ok(match kind {
            types::PluginKind::Provider => {
                Self::Provider(provider::ProviderPre::new(instance_pre)?)
            }
            types::PluginKind::AlertMapper => {
                Self::AlertMapper(alert_mapper::AlertMapperPre::new(instance_pre)?)
            }
            types::PluginKind::Formatter => {
                Self::Formatter(formatter::FormatterPre::new(instance_pre)?)
            }
            types::PluginKind::Notifier => {
                Self::Notifier(notifier::NotifierPre::new(instance_pre)?)
            }
        })
    }

    fn kind(&self) -> types::PluginKind {
        match self {
            Self::Provider(_) => types::PluginKind::Provider,
            Self::AlertMapper(_) => types::PluginKind::AlertMapper,
            Self::Formatter(_) => types::PluginKind::Formatter,
            Self::Notifier(_) => types::PluginKind::Notifier,
        }
    }
}

impl PluginExports for Exports {
    fn info(&self, store: &mut Store<HostState>) -> wasmtime::Result<types::PluginInfo> {
        let info = match self {
            Self::Provider(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin0_2_0_provider_api()
                .call_info(&mut *store),
            Self::AlertMapper(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin0_2_0_alert_mapper_api()
                .call_info(&mut *store),
            Self::Formatter(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin0_2_0_formatter_api()
                .call_info(&mut *store),
            Self::Notifier(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin0_2_0_notifier_api()
                .call_info(&mut *store),
        }?;
        Ok(info.into())
    }

    fn describe(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<types::ProviderDescription> {
        let Self::Provider(pre) = self else {
            return Err(not_in_world("describe", self.kind()));
        };
        let description = pre
            .instantiate(&mut *store)?
            .hookgate_plugin0_2_0_provider_api()
            .call_describe(&mut *store)?;
        Ok(description.into())
    }

    fn map_event(
        &self,
        store: &mut Store<HostState>,
        event: &types::PluginEvent,
        config: &str,
    ) -> wasmtime::Result<Result<Vec<types::AlertAction>, String>> {
        let Self::AlertMapper(pre) = self else {
            return Err(not_in_world("map-event", self.kind()));
        };
        let actions = pre
            .instantiate(&mut *store)?
            .hookgate_plugin0_2_0_alert_mapper_api()
            .call_map_event(&mut *store, &wit::Event::from(event), config)?;
        Ok(actions.map(|actions| actions.into_iter().map(Into::into).collect()))
    }

    fn format(
        &self,
        store: &mut Store<HostState>,
        event: &types::PluginEvent,
        config: &str,
    ) -> wasmtime::Result<Result<Option<types::Message>, String>> {
        let Self::Formatter(pre) = self else {
            return Err(not_in_world("format", self.kind()));
        };
        let message = pre
            .instantiate(&mut *store)?
            .hookgate_plugin0_2_0_formatter_api()
            .call_format(&mut *store, &wit::Event::from(event), config)?;
        Ok(message.map(|message| message.map(Into::into)))
    }

    /// 0.2's `shape`: HTTP requests with the credential the plugin named, and mails.
    fn notify(
        &self,
        store: &mut Store<HostState>,
        notification: &types::Notification,
        context: &types::NotificationContext,
        destination: &types::PluginDestination,
    ) -> wasmtime::Result<Result<Vec<types::NotifierOutput>, String>> {
        let Self::Notifier(pre) = self else {
            return Err(not_in_world("shape", self.kind()));
        };
        let outputs = pre
            .instantiate(&mut *store)?
            .hookgate_plugin0_2_0_notifier_api()
            .call_shape(
                &mut *store,
                &notification.into(),
                &context.into(),
                &destination.into(),
            )?;
        Ok(outputs.map(|outputs| outputs.into_iter().map(Into::into).collect()))
    }
}

impl From<wit::Severity> for types::Severity {
    fn from(severity: wit::Severity) -> Self {
        match severity {
            wit::Severity::Critical => Self::Critical,
            wit::Severity::Error => Self::Error,
            wit::Severity::Warning => Self::Warning,
            wit::Severity::Info => Self::Info,
        }
    }
}

impl From<types::Severity> for wit::Severity {
    fn from(severity: types::Severity) -> Self {
        match severity {
            types::Severity::Critical => Self::Critical,
            types::Severity::Error => Self::Error,
            types::Severity::Warning => Self::Warning,
            types::Severity::Info => Self::Info,
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
            severity: alert.severity.into(),
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
            severity: alert.severity.into(),
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

impl From<&types::AlertNotice> for wit::AlertNotice {
    fn from(notice: &types::AlertNotice) -> Self {
        Self {
            id: notice.id.clone(),
            alert: (&notice.alert).into(),
            state: notice.state.into(),
            count: notice.count,
            opened_at: notice.opened_at,
            closed_at: notice.closed_at,
            acknowledged_by: notice.acknowledged_by.clone(),
            escalation_step: notice.escalation_step,
            ack_url: notice.ack_url.clone(),
        }
    }
}

impl From<&types::Notification> for wit::Notification {
    fn from(notification: &types::Notification) -> Self {
        match notification {
            types::Notification::Message(message) => Self::Message(message.into()),
            types::Notification::AlertOpened(notice) => Self::AlertOpened(notice.into()),
            types::Notification::AlertClosed(notice) => Self::AlertClosed(notice.into()),
            types::Notification::AlertAcknowledged(notice) => {
                Self::AlertAcknowledged(notice.into())
            }
            types::Notification::AlertEscalated(notice) => Self::AlertEscalated(notice.into()),
        }
    }
}

impl From<wit::Credential> for types::Credential {
    fn from(credential: wit::Credential) -> Self {
        match credential {
            wit::Credential::Twilio => Self::Twilio,
            wit::Credential::DestinationToken => Self::DestinationToken,
        }
    }
}

impl From<wit::Outbound> for types::NotifierOutput {
    fn from(output: wit::Outbound) -> Self {
        match output {
            wit::Outbound::Http(request) => Self::Http(types::OutboundRequest {
                method: request.method,
                url: request.url,
                headers: request
                    .headers
                    .into_iter()
                    .map(|header| (header.name, header.value))
                    .collect(),
                body: request.body,
                credential: request.credential.map(Into::into),
            }),
            wit::Outbound::Email(email) => Self::Email(types::OutboundEmail {
                to: email.to,
                subject: email.subject,
                text: email.text,
                html: email.html,
            }),
        }
    }
}
