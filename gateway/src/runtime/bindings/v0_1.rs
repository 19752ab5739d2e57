//! `hookgate:plugin@0.1.0`, frozen in `wit/deps/hookgate-plugin@0.1.0/`: what a plugin built
//! for it gets and returns, converted to the gateway's types. What 0.1 lacks is filled in here:
//! alerts are of severity `error`, notifiers are not told of acknowledged or escalated alerts,
//! and their requests get the credential their destination kind has always had.

use super::{PluginExports, not_in_world};
use crate::runtime::host::HostState;
use crate::runtime::types;
use wasmtime::Store;
use wasmtime::component::{HasSelf, InstancePre, Linker};

mod generated {
    pub mod provider {
        wasmtime::component::bindgen!({
            world: "hookgate:plugin/provider@0.1.0",
            path: "../wit",
        });
    }

    pub mod alert_mapper {
        wasmtime::component::bindgen!({
            world: "hookgate:plugin/alert-mapper@0.1.0",
            path: "../wit",
            with: {
                "hookgate:plugin/types@0.1.0": super::provider::hookgate::plugin0_1_0::types,
                "hookgate:plugin/log@0.1.0": super::provider::hookgate::plugin0_1_0::log,
            },
        });
    }

    pub mod formatter {
        wasmtime::component::bindgen!({
            world: "hookgate:plugin/formatter@0.1.0",
            path: "../wit",
            with: {
                "hookgate:plugin/types@0.1.0": super::provider::hookgate::plugin0_1_0::types,
                "hookgate:plugin/log@0.1.0": super::provider::hookgate::plugin0_1_0::log,
            },
        });
    }

    pub mod notifier {
        wasmtime::component::bindgen!({
            world: "hookgate:plugin/notifier@0.1.0",
            path: "../wit",
            with: {
                "hookgate:plugin/types@0.1.0": super::provider::hookgate::plugin0_1_0::types,
                "hookgate:plugin/log@0.1.0": super::provider::hookgate::plugin0_1_0::log,
            },
        });
    }
}

use generated::{alert_mapper, formatter, notifier, provider};
pub use provider::hookgate::plugin0_1_0::log;
pub use provider::hookgate::plugin0_1_0::types as wit;

conversions_every_version_shares!();

/// Links 0.1's `log` import.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

/// A 0.1 component, pre-linked and typed by its world.
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
                .hookgate_plugin0_1_0_provider_api()
                .call_info(&mut *store),
            Self::AlertMapper(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin0_1_0_alert_mapper_api()
                .call_info(&mut *store),
            Self::Formatter(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin0_1_0_formatter_api()
                .call_info(&mut *store),
            Self::Notifier(pre) => pre
                .instantiate(&mut *store)?
                .hookgate_plugin0_1_0_notifier_api()
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
            .hookgate_plugin0_1_0_provider_api()
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
            .hookgate_plugin0_1_0_alert_mapper_api()
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
            .hookgate_plugin0_1_0_formatter_api()
            .call_format(&mut *store, &wit::Event::from(event), config)?;
        Ok(message.map(|message| message.map(Into::into)))
    }

    /// 0.1's `notify`. A notice 0.1 has no case for is not told (nothing is sent), and each
    /// request gets the credential 0.1 cannot name: the one its destination kind was always
    /// sent with.
    fn notify(
        &self,
        store: &mut Store<HostState>,
        notification: &types::Notification,
        context: &types::NotificationContext,
        destination: &types::PluginDestination,
    ) -> wasmtime::Result<Result<Vec<types::NotifierOutput>, String>> {
        let Self::Notifier(pre) = self else {
            return Err(not_in_world("notify", self.kind()));
        };
        let Some(notification) = notification_0_1(notification) else {
            return Ok(Ok(Vec::new()));
        };
        let requests = pre
            .instantiate(&mut *store)?
            .hookgate_plugin0_1_0_notifier_api()
            .call_notify(
                &mut *store,
                &notification,
                &context.into(),
                &destination.into(),
            )?;
        let credential = implied_credential(&destination.kind);
        Ok(requests.map(|requests| {
            requests
                .into_iter()
                .map(|request| {
                    let mut request = types::OutboundRequest::from(request);
                    request.credential = credential;
                    types::NotifierOutput::Http(request)
                })
                .collect()
        }))
    }
}

/// A notification as 0.1 has it; `None` for the kinds it does not know (acknowledged,
/// escalated), which a 0.1 notifier is simply not told about.
fn notification_0_1(notification: &types::Notification) -> Option<wit::Notification> {
    Some(match notification {
        types::Notification::Message(message) => wit::Notification::Message(message.into()),
        types::Notification::AlertOpened(notice) => wit::Notification::AlertOpened(notice.into()),
        types::Notification::AlertClosed(notice) => wit::Notification::AlertClosed(notice.into()),
        types::Notification::AlertAcknowledged(_) | types::Notification::AlertEscalated(_) => {
            return None;
        }
    })
}

/// The credential a 0.1 notifier's requests get: what the destination kind has always been
/// sent with.
fn implied_credential(kind: &str) -> Option<types::Credential> {
    match kind {
        "sms" | "voice" => Some(types::Credential::Twilio),
        "ntfy" => Some(types::Credential::DestinationToken),
        _ => None,
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
            // 0.1 cannot say; every 0.1 alert is an error.
            severity: types::Severity::Error,
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

impl From<&types::AlertNotice> for wit::AlertNotice {
    fn from(notice: &types::AlertNotice) -> Self {
        Self {
            id: notice.id.clone(),
            alert: (&notice.alert).into(),
            state: notice.state.into(),
            count: notice.count,
            opened_at: notice.opened_at,
            closed_at: notice.closed_at,
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
