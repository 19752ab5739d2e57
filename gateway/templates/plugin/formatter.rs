//! `{{name}}`: a formatter. For each verified event it returns a message (text and embeds, in
//! Discord markdown; the gateway's notifier adapts it for Slack) or `None` to post nothing.

use hookgate_plugin_sdk::prelude::*;

/// The formatter.
pub struct {{type}};

impl Formatter for {{type}} {
    fn info(package: PluginInfo) -> PluginInfo {
        package.config_key("colour", "embed colour as a number (default blue)")
    }

    fn format(event: &Event, config: &Config) -> Result<Option<Message>, PluginError> {
        config.deny_unknown_keys(&["colour"])?;
        let Some(repository) = event.json()?.str_at("repository.full_name") else {
            return Ok(None);
        };
        let colour = config.get_u64("colour")?.map_or(colour::BLUE, |value| value as u32);
        let embed = Embed::new()
            .title(format!("{} on {repository}", event.event_key))
            .colour(colour)
            .timestamp(hookgate_plugin_sdk::time::rfc3339_from_millis(event.received_at));
        Ok(Some(Message::with_embed(embed)))
    }
}

export_formatter!({{type}});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_event_and_the_repository() {
        let event = Event::new("push", r#"{"repository": {"full_name": "acme/widgets"}}"#);
        let message = {{type}}::format(&event, &Config::default()).unwrap().unwrap();
        assert_eq!(message.embeds[0].title.as_deref(), Some("push on acme/widgets"));
        assert_eq!({{type}}::format(&Event::new("ping", "{}"), &Config::default()).unwrap(), None);
    }
}
