//! Reading a Bitbucket connect request (API JSON, or the console form turned into the same
//! JSON): where, with what credential, and the endpoint to create.

use crate::bitbucket::BitbucketToken;
use crate::ops::OpsError;
use crate::ops::bitbucket::ConnectRequest;
use serde_json::{Map, Value, json};

/// The longest workspace or repository slug accepted.
const SLUG_CHARS: usize = 100;

/// Reads `{workspace, repo, token, events?, name?, alerts?, format?, destinations?, ...}`: the
/// keys of an endpoint create besides the secret. `events` is `push`, `all` (the default), a
/// list, or event keys separated by commas; `name` defaults to `workspace/repo`.
pub fn connect_request(body: Value) -> Result<ConnectRequest, OpsError> {
    let Value::Object(mut fields) = body else {
        return Err(OpsError::Invalid(
            "the connect request must be a JSON object".into(),
        ));
    };
    let workspace = slug("workspace", take_text(&mut fields, "workspace")?)?;
    let repo = slug("repo", take_text(&mut fields, "repo")?)?;
    let token = BitbucketToken::new(take_text(&mut fields, "token")?);
    if fields.contains_key("secret") {
        return Err(OpsError::Invalid(
            "connect generates the endpoint's secret and gives it to Bitbucket; send none".into(),
        ));
    }
    match fields.get("provider") {
        None => {
            fields.insert("provider".into(), json!("bitbucket"));
        }
        Some(provider) if provider == "bitbucket" => {}
        Some(_) => {
            return Err(OpsError::Invalid(
                "connect makes Bitbucket endpoints: provider must be \"bitbucket\"".into(),
            ));
        }
    }
    if fields.get("name").is_none_or(Value::is_null) {
        fields.insert("name".into(), json!(format!("{workspace}/{repo}")));
    }
    if let Some(Value::String(events)) = fields.get("events")
        && events.contains(',')
    {
        let keys: Vec<&str> = events
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .collect();
        fields.insert("events".into(), json!(keys));
    }
    let endpoint = serde_json::from_value(Value::Object(fields))
        .map_err(|error| OpsError::Invalid(format!("invalid connect request: {error}")))?;
    Ok(ConnectRequest {
        workspace,
        repo,
        token,
        endpoint,
        oauth: None,
    })
}

/// Removes a required non-empty text field.
fn take_text(fields: &mut Map<String, Value>, key: &str) -> Result<String, OpsError> {
    match fields.remove(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim().to_string()),
        _ => Err(OpsError::Invalid(format!(
            "{key} is required (a non-empty string)"
        ))),
    }
}

/// A workspace or repository slug, or a `{uuid}`: letters, digits, `-`, `_`, `.`, braces.
fn slug(key: &str, text: String) -> Result<String, OpsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.{}".contains(c);
    if text.len() > SLUG_CHARS || !text.chars().all(allowed) || text == "." || text == ".." {
        return Err(OpsError::Invalid(format!(
            "{key} {text:?} is not a Bitbucket slug (letters, digits, -, _ and ., or a {{uuid}})"
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_requests_are_checked() {
        let request = connect_request(json!({
            "workspace": "team", "repo": "widgets", "token": "user:app-password",
            "events": "repo:push, pullrequest:created",
        }))
        .unwrap();
        assert_eq!(request.endpoint.name, "team/widgets");
        assert_eq!(request.endpoint.provider, "bitbucket");
        assert_eq!(
            request.endpoint.events,
            crate::store::EventSelection::List(vec![
                "repo:push".into(),
                "pullrequest:created".into()
            ])
        );
        assert!(!format!("{request:?}").contains("app-password"));
        for bad in [
            json!({"repo": "r", "token": "t"}),
            json!({"workspace": "w", "repo": "../x", "token": "t"}),
            json!({"workspace": "w", "repo": "r", "token": ""}),
            json!({"workspace": "w", "repo": "r", "token": "t", "secret": "s"}),
            json!({"workspace": "w", "repo": "r", "token": "t", "provider": "github"}),
            json!({"workspace": "w", "repo": "r", "token": "t", "colour": "red"}),
        ] {
            assert!(connect_request(bad.clone()).is_err(), "{bad}");
        }
    }
}
