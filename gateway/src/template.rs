//! Custom templates (SPEC §5.5): Handlebars rendered by the host over the event's JSON, plus
//! `event_key` and `endpoint`. A template that renders JSON with `embeds` is taken as a full
//! message; anything else is the message text.

use crate::runtime::{Message, PluginEvent};
use crate::store::EndpointRecord;
use handlebars::Handlebars;
use serde_json::{Value, json};

/// Checks that a template compiles; the error names the line.
pub fn check(template: &str) -> Result<(), String> {
    handlebars::Template::compile(template)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// Renders a template for an event.
pub fn render(
    template: &str,
    endpoint: &EndpointRecord,
    event: &PluginEvent,
) -> Result<Message, String> {
    let mut data: Value = serde_json::from_str(&event.body).map_err(|error| error.to_string())?;
    if let Value::Object(map) = &mut data {
        map.insert("event_key".into(), json!(event.event_key));
        map.insert(
            "endpoint".into(),
            json!({"id": endpoint.id, "name": endpoint.name}),
        );
    }
    let mut renderer = Handlebars::new();
    // Output goes to chat and JSON, not HTML.
    renderer.register_escape_fn(handlebars::no_escape);
    let text = renderer
        .render_template(template, &data)
        .map_err(|error| format!("template: {error}"))?;
    let trimmed = text.trim();
    if trimmed.starts_with('{')
        && let Ok(message) = serde_json::from_str::<Message>(trimmed)
        && !message.embeds.is_empty()
    {
        return Ok(message);
    }
    Ok(Message {
        text: trimmed.to_string(),
        embeds: Vec::new(),
    })
}
