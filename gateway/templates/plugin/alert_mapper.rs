//! `{{name}}`: an alert mapper. For each verified event it returns actions: open an alert (the
//! gateway appends a repeat to the open alert with the same key), close one, or ignore the
//! event with a reason.

use hookgate_plugin_sdk::prelude::*;

/// The mapper.
pub struct {{type}};

impl AlertMapper for {{type}} {
    fn info(package: PluginInfo) -> PluginInfo {
        package
            .config_key("status_field", "JSON path of the status (default status)")
            .config_key("key", "alert key template (default {repository.full_name})")
    }

    fn map(event: &Event, config: &Config) -> Result<Vec<Action>, PluginError> {
        config.deny_unknown_keys(&["status_field", "key"])?;
        let status = event.json()?.path(config.str_or("status_field", "status")?)?;
        let key = event.render(config.str_or("key", "{repository.full_name}")?)?;
        Ok(match status.as_str() {
            Some("failed") => {
                let title = event.render("Build failed — {repository.full_name}")?;
                vec![Action::open(Alert::new(key, title).source_status("failed"))]
            }
            Some("succeeded") => vec![Action::close(key)],
            other => vec![Action::ignore(format!("status {other:?}"))],
        })
    }
}

export_alert_mapper!({{type}});

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: &str) -> Vec<Action> {
        let body = format!(r#"{{"repository": {{"full_name": "acme/widgets"}}, "status": "{status}"}}"#);
        {{type}}::map(&Event::new("build", body), &Config::default()).unwrap()
    }

    #[test]
    fn failed_opens_and_succeeded_closes_the_same_key() {
        assert!(matches!(&map("failed")[..], [Action::Open(alert)] if alert.key == "acme/widgets"));
        assert_eq!(map("succeeded"), vec![Action::close("acme/widgets")]);
        assert_eq!(map("running"), vec![Action::ignore("status Some(\"running\")")]);
    }
}
