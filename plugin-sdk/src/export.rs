//! The bridge between the SDK's traits and the generated ABI: the `export_*!` macros point the
//! generated exports here, and `convert.rs` turns the values (with this module, the only code
//! that touches wit-bindgen's types).

use crate::bindings::wit;
use crate::convert::{
    action_to_wit, description_to_wit, error_text, event_from_wit, info_to_wit, message_to_wit,
    notification_from_wit, outbound_to_wit, request_to_wit,
};
use crate::{
    Action, Config, Destination, Event, Message, Notification, NotificationContext, Outbound,
    PluginError, PluginInfo, ProviderDescription,
};
use std::marker::PhantomData;

/// Describes a webhook source. Export it with [`export_provider!`](crate::export_provider).
pub trait Provider {
    /// Who the plugin is; `package` comes from the crate's `Cargo.toml`.
    fn info(package: PluginInfo) -> PluginInfo {
        package
    }

    /// The provider's headers, signature scheme and events.
    fn describe() -> ProviderDescription;
}

/// Turns events into alert actions. Export it with
/// [`export_alert_mapper!`](crate::export_alert_mapper).
pub trait AlertMapper {
    /// Who the plugin is; `package` comes from the crate's `Cargo.toml`.
    fn info(package: PluginInfo) -> PluginInfo {
        package
    }

    /// The actions for one event, given the endpoint's `alerts.config`.
    fn map(event: &Event, config: &Config) -> Result<Vec<Action>, PluginError>;
}

/// Turns events into messages. Export it with [`export_formatter!`](crate::export_formatter).
pub trait Formatter {
    /// Who the plugin is; `package` comes from the crate's `Cargo.toml`.
    fn info(package: PluginInfo) -> PluginInfo {
        package
    }

    /// The message for one event, or `None` to post nothing, given the endpoint's
    /// `format.config`. The message is cut to Discord's limits on the way out.
    fn format(event: &Event, config: &Config) -> Result<Option<Message>, PluginError>;
}

/// Turns notifications into HTTP requests and mails. Export it with
/// [`export_notifier!`](crate::export_notifier).
pub trait Notifier {
    /// Who the plugin is; `package` comes from the crate's `Cargo.toml`.
    fn info(package: PluginInfo) -> PluginInfo {
        package
    }

    /// What delivers `notification` to `destination`: [`HttpRequest`]s (each naming the
    /// [`Credential`] the gateway adds, if any) and [`Email`]s, as [`Outbound`]s
    /// (`request.into()`, `email.into()`). The gateway asks through the WIT `shape` function;
    /// the `notify` function WIT 0.1 had is exported too and answers the HTTP requests only.
    fn notify(
        notification: &Notification,
        context: &NotificationContext,
        destination: &Destination,
    ) -> Result<Vec<Outbound>, PluginError>;
}

/// The plugin crate's package metadata, filled in by the export macros.
#[doc(hidden)]
pub trait Package {
    const NAME: &'static str;
    const VERSION: &'static str;
    const DESCRIPTION: &'static str;
}

fn package_info<P: Package>() -> PluginInfo {
    PluginInfo::new(P::NAME, P::VERSION).description(P::DESCRIPTION)
}

/// Implements the provider world's exports for `T`.
#[doc(hidden)]
pub struct ProviderExport<T, P>(PhantomData<(T, P)>);

impl<T: Provider, P: Package>
    crate::bindings::provider::exports::hookgate::plugin0_2_0::provider_api::Guest
    for ProviderExport<T, P>
{
    fn info() -> wit::PluginInfo {
        info_to_wit(T::info(package_info::<P>()), wit::PluginKind::Provider)
    }

    fn describe() -> wit::ProviderDescription {
        description_to_wit(T::describe())
    }
}

/// Implements the alert-mapper world's exports for `T`.
#[doc(hidden)]
pub struct AlertMapperExport<T, P>(PhantomData<(T, P)>);

impl<T: AlertMapper, P: Package>
    crate::bindings::alert_mapper::exports::hookgate::plugin0_2_0::alert_mapper_api::Guest
    for AlertMapperExport<T, P>
{
    fn info() -> wit::PluginInfo {
        info_to_wit(T::info(package_info::<P>()), wit::PluginKind::AlertMapper)
    }

    fn map_event(event: wit::Event, config: String) -> Result<Vec<wit::AlertAction>, String> {
        let config = Config::from_json(&config).map_err(error_text)?;
        let actions = T::map(&event_from_wit(event), &config).map_err(error_text)?;
        Ok(actions.into_iter().map(action_to_wit).collect())
    }
}

/// Implements the formatter world's exports for `T`.
#[doc(hidden)]
pub struct FormatterExport<T, P>(PhantomData<(T, P)>);

impl<T: Formatter, P: Package>
    crate::bindings::formatter::exports::hookgate::plugin0_2_0::formatter_api::Guest
    for FormatterExport<T, P>
{
    fn info() -> wit::PluginInfo {
        info_to_wit(T::info(package_info::<P>()), wit::PluginKind::Formatter)
    }

    fn format(event: wit::Event, config: String) -> Result<Option<wit::Message>, String> {
        let config = Config::from_json(&config).map_err(error_text)?;
        let message = T::format(&event_from_wit(event), &config).map_err(error_text)?;
        Ok(message.map(message_to_wit))
    }
}

/// Implements the notifier world's exports for `T`.
#[doc(hidden)]
pub struct NotifierExport<T, P>(PhantomData<(T, P)>);

impl<T: Notifier, P: Package>
    crate::bindings::notifier::exports::hookgate::plugin0_2_0::notifier_api::Guest
    for NotifierExport<T, P>
{
    fn info() -> wit::PluginInfo {
        info_to_wit(T::info(package_info::<P>()), wit::PluginKind::Notifier)
    }

    fn notify(
        notification: wit::Notification,
        context: wit::NotificationContext,
        destination: wit::Destination,
    ) -> Result<Vec<wit::HttpRequest>, String> {
        // What a 0.1-style caller can take: the requests; mails have no place in its answer.
        let outputs = notify_with::<T>(notification, context, destination)?;
        Ok(outputs
            .into_iter()
            .filter_map(|output| match output {
                Outbound::Http(request) => Some(request_to_wit(request)),
                Outbound::Email(_) => None,
            })
            .collect())
    }

    fn shape(
        notification: wit::Notification,
        context: wit::NotificationContext,
        destination: wit::Destination,
    ) -> Result<Vec<wit::Outbound>, String> {
        let outputs = notify_with::<T>(notification, context, destination)?;
        Ok(outputs.into_iter().map(outbound_to_wit).collect())
    }
}

/// Converts a notifier call's arguments and runs `T::notify` on them.
fn notify_with<T: Notifier>(
    notification: wit::Notification,
    context: wit::NotificationContext,
    destination: wit::Destination,
) -> Result<Vec<Outbound>, String> {
    let context = NotificationContext {
        endpoint_id: context.endpoint_id,
        endpoint_name: context.endpoint_name,
        event_key: context.event_key,
        inbound_id: context.inbound_id,
        delivery_id: context.delivery_id,
    };
    let destination = Destination {
        kind: destination.kind,
        url: destination.url,
        config: Config::from_json(&destination.config).map_err(error_text)?,
    };
    T::notify(&notification_from_wit(notification), &context, &destination).map_err(error_text)
}

/// Shared body of the four export macros.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    ($plugin:ty, $adapter:ident, $world:ident, $world_macro:ident) => {
        // Only a wasm32 build is a component; native builds (the plugin's unit tests) link the
        // plugin's logic without the component exports, whose names no native linker accepts.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct HookgatePackage;
            impl $crate::__private::Package for HookgatePackage {
                const NAME: &'static str = env!("CARGO_PKG_NAME");
                const VERSION: &'static str = env!("CARGO_PKG_VERSION");
                const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");
            }
            type HookgateExport = $crate::__private::$adapter<$plugin, HookgatePackage>;
            $crate::__private::bindings::$world::$world_macro!(
                HookgateExport with_types_in $crate::__private::bindings::$world
            );
        };
    };
}

/// Exports a [`Provider`] as this crate's component.
///
/// ```ignore
/// struct Acme;
/// impl Provider for Acme { fn describe() -> ProviderDescription { /* ... */ } }
/// export_provider!(Acme);
/// ```
#[macro_export]
macro_rules! export_provider {
    ($plugin:ty) => {
        $crate::__export_plugin!($plugin, ProviderExport, provider, export_provider_world);
    };
}

/// Exports an [`AlertMapper`] as this crate's component.
///
/// ```ignore
/// struct Pipelines;
/// impl AlertMapper for Pipelines { fn map(event: &Event, config: &Config) -> Result<Vec<Action>, PluginError> { /* ... */ } }
/// export_alert_mapper!(Pipelines);
/// ```
#[macro_export]
macro_rules! export_alert_mapper {
    ($plugin:ty) => {
        $crate::__export_plugin!(
            $plugin,
            AlertMapperExport,
            alert_mapper,
            export_alert_mapper_world
        );
    };
}

/// Exports a [`Formatter`] as this crate's component.
///
/// ```ignore
/// struct Embeds;
/// impl Formatter for Embeds { fn format(event: &Event, config: &Config) -> Result<Option<Message>, PluginError> { /* ... */ } }
/// export_formatter!(Embeds);
/// ```
#[macro_export]
macro_rules! export_formatter {
    ($plugin:ty) => {
        $crate::__export_plugin!($plugin, FormatterExport, formatter, export_formatter_world);
    };
}

/// Exports a [`Notifier`] as this crate's component.
///
/// ```ignore
/// struct Chat;
/// impl Notifier for Chat { fn notify(n: &Notification, c: &NotificationContext, d: &Destination) -> Result<Vec<Outbound>, PluginError> { /* ... */ } }
/// export_notifier!(Chat);
/// ```
#[macro_export]
macro_rules! export_notifier {
    ($plugin:ty) => {
        $crate::__export_plugin!($plugin, NotifierExport, notifier, export_notifier_world);
    };
}
