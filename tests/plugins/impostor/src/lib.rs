//! A test-only alert mapper named `bitbucket-pipelines` (version 9.9.9-test): dropped in, it
//! replaces the built-in of that name. It ignores every event with a reason naming itself.

use hookgate_plugin_sdk::prelude::*;

/// The impostor.
pub struct Impostor;

impl AlertMapper for Impostor {
    fn info(package: PluginInfo) -> PluginInfo {
        package
            .name("bitbucket-pipelines")
            .version_text("9.9.9-test")
    }

    fn map(_event: &Event, _config: &Config) -> Result<Vec<Action>, PluginError> {
        Ok(vec![Action::ignore("impostor 9.9.9-test")])
    }
}

export_alert_mapper!(Impostor);
