//! What Discord and Slack check of a webhook body, and how they answer when it fails, so that
//! the capture receiver refuses what they would refuse and a notifier regression fails a test.
//!
//! Discord (<https://discord.com/developers/docs/resources/message#embed-object-embed-limits>):
//! a JSON object with a non-empty `content` or `embeds`; `content` at most 2000 characters; at
//! most 10 embeds, each with a title of at most 256, a description of at most 4096, at most 25
//! fields (name 1–256, value 1–1024), a footer of at most 2048 and an author name of at most 256
//! characters; and at most 6000 characters of embed text in all. It answers 400 with `{"code":
//! 50006, "message": "Cannot send an empty message"}` or `{"code": 50035, "message": "Invalid
//! Form Body", "errors": ...}`.
//!
//! Slack (incoming webhooks): a JSON object with a non-empty `text` or `blocks`; it answers 400
//! with the plain text `invalid_payload` (not JSON, not an object) or `no_text`.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

/// A refused request: the service's answer and, for the test's failure message, why.
pub(super) struct Refusal {
    pub(super) reason: String,
    status: u16,
    body: Value,
}

impl Refusal {
    pub(super) fn response(&self) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(self.status).expect("a status");
        match &self.body {
            // Slack answers its error codes as plain text.
            Value::String(text) => HttpResponse::build(status)
                .content_type("text/plain")
                .body(text.clone()),
            body => HttpResponse::build(status).json(body),
        }
    }
}

/// The service a path stands for.
#[derive(PartialEq)]
enum ChatService {
    Discord,
    Slack,
}

fn service_of(path: &str) -> Option<ChatService> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    if first.starts_with("discord") || path.starts_with("/api/webhooks/") {
        Some(ChatService::Discord)
    } else if first.starts_with("slack") || path.starts_with("/services/") {
        Some(ChatService::Slack)
    } else {
        None
    }
}

/// How the service the request's path stands for would refuse it, if it would.
pub(super) fn refusal(request: &HttpRequest, body: &[u8]) -> Option<Refusal> {
    let service = service_of(request.path())?;
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let parsed = serde_json::from_slice::<Value>(body).ok();
    match service {
        ChatService::Discord => {
            if !content_type.starts_with("application/json") {
                return Some(discord_error(
                    format!("Content-Type {content_type:?}, not application/json"),
                    json!({"code": 50109, "message": "The request body contains invalid JSON."}),
                ));
            }
            let Some(body) = parsed else {
                return Some(discord_error(
                    "the body is not JSON".into(),
                    json!({"code": 50109, "message": "The request body contains invalid JSON."}),
                ));
            };
            discord_refusal(&body).map(|(reason, answer)| discord_error(reason, answer))
        }
        ChatService::Slack => {
            let problem = match parsed {
                None => Some(("the body is not JSON".to_string(), "invalid_payload")),
                Some(body) => slack_refusal(&body),
            };
            problem.map(|(reason, code)| Refusal {
                reason,
                status: 400,
                body: Value::String(code.into()),
            })
        }
    }
}

fn discord_error(reason: String, answer: Value) -> Refusal {
    Refusal {
        reason,
        status: 400,
        body: answer,
    }
}

/// Why Slack refuses this body, and its error code (`invalid_payload`, `no_text`); `None` when
/// it takes it.
pub fn slack_refusal(body: &Value) -> Option<(String, &'static str)> {
    let Some(object) = body.as_object() else {
        return Some(("the body is not a JSON object".into(), "invalid_payload"));
    };
    let text = object.get("text").and_then(Value::as_str).unwrap_or("");
    let blocks = object
        .get("blocks")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if text.trim().is_empty() && blocks == 0 {
        return Some(("neither `text` nor `blocks`".into(), "no_text"));
    }
    if object.get("text").is_some_and(|text| !text.is_string()) {
        return Some(("`text` is not a string".into(), "invalid_payload"));
    }
    None
}

/// A text's length as Discord counts it (characters, not bytes).
fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |text| text.chars().count())
}

/// Why Discord refuses this body, and its error JSON; `None` when it takes it.
pub fn discord_refusal(body: &Value) -> Option<(String, Value)> {
    let Some(object) = body.as_object() else {
        return Some((
            "the body is not a JSON object".into(),
            json!({"code": 50109, "message": "The request body contains invalid JSON."}),
        ));
    };
    let content = object.get("content").unwrap_or(&Value::Null);
    let embeds = object.get("embeds").unwrap_or(&Value::Null);
    if !(content.is_null() || content.is_string()) || !(embeds.is_null() || embeds.is_array()) {
        return Some(invalid_form(
            "`content` is not a string or `embeds` not a list".into(),
            &["content"],
            "BASE_TYPE_STRING",
            "Could not interpret the value as string.",
        ));
    }
    let embeds = embeds.as_array().cloned().unwrap_or_default();
    if content.as_str().is_none_or(|text| text.trim().is_empty()) && embeds.is_empty() {
        return Some((
            "neither `content` nor `embeds`".into(),
            json!({"code": 50006, "message": "Cannot send an empty message"}),
        ));
    }
    if chars(content) > 2000 {
        return Some(too_long(
            "content".into(),
            &["content"],
            chars(content),
            2000,
        ));
    }
    if embeds.len() > 10 {
        return Some(invalid_form(
            format!("{} embeds, more than 10", embeds.len()),
            &["embeds"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 10 or fewer in length.",
        ));
    }
    let mut embed_text = 0;
    for (index, embed) in embeds.iter().enumerate() {
        let at = index.to_string();
        let Some(embed) = embed.as_object() else {
            return Some(invalid_form(
                format!("embed {index} is not an object"),
                &["embeds", &at],
                "MODEL_TYPE_CONVERT",
                "Only dictionaries may be used in a ModelType",
            ));
        };
        let text_of = |key: &str| embed.get(key).cloned().unwrap_or(Value::Null);
        let footer = embed
            .get("footer")
            .map_or(Value::Null, |footer| footer["text"].clone());
        let author = embed
            .get("author")
            .map_or(Value::Null, |author| author["name"].clone());
        for (key, value, limit) in [
            ("title", text_of("title"), 256),
            ("description", text_of("description"), 4096),
            ("footer", footer, 2048),
            ("author", author, 256),
        ] {
            if chars(&value) > limit {
                return Some(too_long(
                    format!("embed {index} {key}"),
                    &["embeds", &at, key],
                    chars(&value),
                    limit,
                ));
            }
            embed_text += chars(&value);
        }
        let fields = embed
            .get("fields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if fields.len() > 25 {
            return Some(invalid_form(
                format!("embed {index} has {} fields, more than 25", fields.len()),
                &["embeds", &at, "fields"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ));
        }
        for (field_index, field) in fields.iter().enumerate() {
            let field_at = field_index.to_string();
            for (key, limit) in [("name", 256), ("value", 1024)] {
                let length = chars(&field[key]);
                if length == 0 || length > limit {
                    return Some(invalid_form(
                        format!("embed {index} field {field_index} {key}: {length} characters"),
                        &["embeds", &at, "fields", &field_at, key],
                        "BASE_TYPE_BAD_LENGTH",
                        &format!("Must be between 1 and {limit} in length."),
                    ));
                }
                embed_text += length;
            }
        }
    }
    if embed_text > 6000 {
        return Some(invalid_form(
            format!("{embed_text} characters of embed text, more than 6000"),
            &["embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        ));
    }
    None
}

fn too_long(what: String, path: &[&str], length: usize, limit: usize) -> (String, Value) {
    invalid_form(
        format!("{what}: {length} characters, more than {limit}"),
        path,
        "BASE_TYPE_MAX_LENGTH",
        &format!("Must be {limit} or fewer in length."),
    )
}

/// Discord's 50035 answer, its `errors` nested along `path` as Discord nests them.
fn invalid_form(reason: String, path: &[&str], code: &str, message: &str) -> (String, Value) {
    let mut errors = json!({"_errors": [{"code": code, "message": message}]});
    for key in path.iter().rev() {
        errors = json!({ *key: errors });
    }
    (
        reason,
        json!({"code": 50035, "message": "Invalid Form Body", "errors": errors}),
    )
}
