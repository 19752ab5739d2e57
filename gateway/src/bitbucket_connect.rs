//! Connecting a Bitbucket Cloud repository in one step: create an endpoint (provider
//! `bitbucket`, a fresh secret) and register its URL and secret as a repository webhook through
//! the Bitbucket Cloud REST API 2.0 (`POST {api_url}/2.0/repositories/{workspace}/{repo}/hooks`);
//! disconnecting deletes that webhook and disables the endpoint.
//!
//! The access token is used for the one call and never stored or logged: a token that contains
//! a colon is `user:app_password` (HTTP Basic), any other a repository, project or workspace
//! access token (Bearer). The endpoint is saved only once Bitbucket has accepted the webhook, so
//! a refused connect leaves nothing behind.

use crate::admin::{self, AdminError, EndpointInput};
use crate::config::BITBUCKET_API_TIMEOUT;
use crate::server::AppState;
use crate::store::{BitbucketLink, EndpointRecord};
use serde_json::{Map, Value, json};

/// The longest Bitbucket error message relayed to the operator.
const MESSAGE_CHARS: usize = 500;
/// The longest workspace or repository slug accepted.
const SLUG_CHARS: usize = 100;

/// A Bitbucket credential: its `Debug` never shows it.
pub struct BitbucketToken(String);

impl BitbucketToken {
    /// A credential as the operator gave it (`user:app_password` or an access token).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// Adds the matching `Authorization` header.
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.0.split_once(':') {
            Some((user, app_password)) => request.basic_auth(user, Some(app_password)),
            None => request.bearer_auth(&self.0),
        }
    }
}

impl std::fmt::Debug for BitbucketToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("BitbucketToken([redacted])")
    }
}

/// Why Bitbucket did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BitbucketError {
    /// 401 or 403: a wrong or expired token, or one without the `webhook` scope.
    #[error("Bitbucket refused the token: {0}")]
    TokenRefused(String),
    /// 404: no such repository (or webhook), or none this token may see.
    #[error("repository not found: {0}")]
    NotFound(String),
    /// Another 4xx: Bitbucket did not accept the request.
    #[error("Bitbucket refused the request ({status}): {message}")]
    Refused {
        /// Bitbucket's status.
        status: u16,
        /// Bitbucket's message.
        message: String,
    },
    /// Bitbucket could not be reached, failed (5xx) or answered something unreadable.
    #[error("Bitbucket did not answer usefully: {0}")]
    Unavailable(String),
}

/// Why a connect or disconnect did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The request or the endpoint is not acceptable, or the store failed.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// Bitbucket refused or failed.
    #[error(transparent)]
    Bitbucket(#[from] BitbucketError),
}

/// The Bitbucket Cloud REST API at `[bitbucket] api_url`.
pub struct BitbucketApi {
    base: reqwest::Url,
    client: reqwest::Client,
}

impl BitbucketApi {
    /// A client for the API at `api_url` (a validated `[bitbucket] api_url`). It follows no
    /// redirects, so a credential only ever goes to that address.
    pub fn new(api_url: &str) -> Result<Self, url::ParseError> {
        crate::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(BITBUCKET_API_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hookgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("building the Bitbucket API client");
        Ok(Self {
            base: reqwest::Url::parse(api_url)?,
            client,
        })
    }

    /// `{api_url}/2.0/repositories/{workspace}/{repo}/hooks[/{uuid}]`, each part escaped.
    fn hooks_url(&self, workspace: &str, repo: &str, hook_uuid: Option<&str>) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["2.0", "repositories", workspace, repo, "hooks"])
                .extend(hook_uuid);
        }
        url
    }

    /// Registers a repository webhook; returns its uuid (braces included, as Bitbucket gives it).
    pub async fn create_hook(
        &self,
        token: &BitbucketToken,
        workspace: &str,
        repo: &str,
        hook: Value,
    ) -> Result<String, BitbucketError> {
        let request = self
            .client
            .post(self.hooks_url(workspace, repo, None))
            .json(&hook);
        let (status, body) = send(token.authorize(request)).await?;
        if status == 201 || status == 200 {
            return serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|hook| hook["uuid"].as_str().map(str::to_string))
                .filter(|uuid| !uuid.is_empty())
                .ok_or_else(|| {
                    BitbucketError::Unavailable(format!(
                        "Bitbucket answered {status} without the new webhook's uuid"
                    ))
                });
        }
        Err(refusal(status, &body, || {
            format!("Bitbucket has no repository {workspace}/{repo} that this token can see")
        }))
    }

    /// Deletes a repository webhook.
    pub async fn delete_hook(
        &self,
        token: &BitbucketToken,
        workspace: &str,
        repo: &str,
        hook_uuid: &str,
    ) -> Result<(), BitbucketError> {
        let request = self
            .client
            .delete(self.hooks_url(workspace, repo, Some(hook_uuid)));
        let (status, body) = send(token.authorize(request)).await?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(refusal(status, &body, || {
            format!("Bitbucket has no webhook {hook_uuid} in {workspace}/{repo}")
        }))
    }
}

/// Sends a request; answers Bitbucket's status and body.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, bytes::Bytes), BitbucketError> {
    let unavailable = |error: reqwest::Error| {
        // Without the URL: it is ours, and the error text needs no credential-bearing parts.
        BitbucketError::Unavailable(error.without_url().to_string())
    };
    let response = request.send().await.map_err(unavailable)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(unavailable)?;
    Ok((status, body))
}

/// The error for a Bitbucket answer that is not a success; `not_found` says what a 404 means.
fn refusal(status: u16, body: &[u8], not_found: impl FnOnce() -> String) -> BitbucketError {
    let message = error_message(body);
    match status {
        401 | 403 => BitbucketError::TokenRefused(message),
        404 => BitbucketError::NotFound(format!("{} ({message})", not_found())),
        400..=499 => BitbucketError::Refused { status, message },
        _ => BitbucketError::Unavailable(format!("Bitbucket answered {status}: {message}")),
    }
}

/// The message of Bitbucket's error body, `{"type": "error", "error": {"message": ...,
/// "detail": ...}}`, with its detail (a text, or the scopes a token lacks); shortened.
fn error_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().map(|body| &body["error"]);
    let message = error.and_then(|error| error["message"].as_str());
    let text = match message {
        Some(message) => {
            let detail = error.map_or(Value::Null, |error| error["detail"].clone());
            match detail {
                Value::String(detail) if !detail.is_empty() => format!("{message} ({detail})"),
                Value::Object(detail) => match detail.get("required").and_then(Value::as_array) {
                    Some(required) => format!(
                        "{message} (required scopes: {})",
                        required
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => format!("{message} ({})", Value::Object(detail)),
                },
                _ => message.to_string(),
            }
        }
        None if body.is_empty() => "no message".to_string(),
        None => String::from_utf8_lossy(body).trim().to_string(),
    };
    text.chars().take(MESSAGE_CHARS).collect()
}

/// A connect request: where, with what credential, and the endpoint to create.
#[derive(Debug)]
pub struct ConnectRequest {
    /// Workspace slug.
    pub workspace: String,
    /// Repository slug.
    pub repo: String,
    /// The credential, used for this one call.
    pub token: BitbucketToken,
    /// The endpoint (provider `bitbucket`, no secret: one is generated).
    pub endpoint: EndpointInput,
}

impl ConnectRequest {
    /// Reads `{workspace, repo, token, events?, name?, alerts?, format?, destinations?, ...}`:
    /// the keys of an endpoint create besides the secret. `events` is `push`, `all` (the
    /// default), a list, or event keys separated by commas; `name` defaults to
    /// `workspace/repo`.
    pub fn from_json(body: Value) -> Result<Self, AdminError> {
        let Value::Object(mut fields) = body else {
            return Err(AdminError::Invalid(
                "the connect request must be a JSON object".into(),
            ));
        };
        let workspace = slug("workspace", take_text(&mut fields, "workspace")?)?;
        let repo = slug("repo", take_text(&mut fields, "repo")?)?;
        let token = BitbucketToken::new(take_text(&mut fields, "token")?);
        if fields.contains_key("secret") {
            return Err(AdminError::Invalid(
                "connect generates the endpoint's secret and gives it to Bitbucket; send none"
                    .into(),
            ));
        }
        match fields.get("provider") {
            None => {
                fields.insert("provider".into(), json!("bitbucket"));
            }
            Some(provider) if provider == "bitbucket" => {}
            Some(_) => {
                return Err(AdminError::Invalid(
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
            .map_err(|error| AdminError::Invalid(format!("invalid connect request: {error}")))?;
        Ok(Self {
            workspace,
            repo,
            token,
            endpoint,
        })
    }
}

/// Removes a required non-empty text field.
fn take_text(fields: &mut Map<String, Value>, key: &str) -> Result<String, AdminError> {
    match fields.remove(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim().to_string()),
        _ => Err(AdminError::Invalid(format!(
            "{key} is required (a non-empty string)"
        ))),
    }
}

/// A workspace or repository slug, or a `{uuid}`: letters, digits, `-`, `_`, `.`, braces.
fn slug(key: &str, text: String) -> Result<String, AdminError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.{}".contains(c);
    if text.len() > SLUG_CHARS || !text.chars().all(allowed) || text == "." || text == ".." {
        return Err(AdminError::Invalid(format!(
            "{key} {text:?} is not a Bitbucket slug (letters, digits, -, _ and ., or a {{uuid}})"
        )));
    }
    Ok(text)
}

/// The URL Bitbucket posts to for an endpoint.
fn hook_url(state: &AppState, endpoint: &EndpointRecord) -> String {
    format!("{}/hooks/{}", state.config.public_url, endpoint.id)
}

/// Creates the endpoint and registers its webhook; the endpoint is saved only after Bitbucket
/// accepted the webhook. Answers the saved endpoint (its secret went to Bitbucket only).
pub async fn connect(
    state: &AppState,
    request: ConnectRequest,
) -> Result<EndpointRecord, ConnectError> {
    let ConnectRequest {
        workspace,
        repo,
        token,
        endpoint,
    } = request;
    let (mut endpoint, secret) = admin::new_endpoint(state, endpoint)?;
    let hook = json!({
        "description": format!("hookgate: {}", endpoint.name),
        "url": hook_url(state, &endpoint),
        "active": true,
        "secret": secret,
        "events": endpoint.events,
    });
    let hook_uuid = state
        .bitbucket
        .create_hook(&token, &workspace, &repo, hook)
        .await?;
    let link = BitbucketLink {
        workspace,
        repo,
        hook_uuid,
    };
    endpoint.bitbucket = Some(link.clone());
    if let Err(error) = state.store.save_endpoint(&endpoint) {
        // The webhook would post to an endpoint that does not exist: take it back.
        if let Err(cleanup) = state
            .bitbucket
            .delete_hook(&token, &link.workspace, &link.repo, &link.hook_uuid)
            .await
        {
            tracing::error!(
                workspace = %link.workspace, repo = %link.repo, hook = %link.hook_uuid,
                %cleanup, "the endpoint was not saved and its Bitbucket webhook could not be \
                           removed: delete it in the repository's settings"
            );
        }
        return Err(AdminError::Store(error).into());
    }
    tracing::info!(
        endpoint = %endpoint.id, workspace = %link.workspace, repo = %link.repo,
        hook = %link.hook_uuid, "connected a Bitbucket repository"
    );
    Ok(endpoint)
}

/// Deletes a connected endpoint's webhook in Bitbucket (one already gone counts as deleted)
/// and disables the endpoint; its history is kept.
pub async fn disconnect(
    state: &AppState,
    id: &str,
    token: &BitbucketToken,
) -> Result<EndpointRecord, ConnectError> {
    let endpoint = admin::endpoint(state, id)?;
    let Some(link) = endpoint.bitbucket else {
        return Err(AdminError::Conflict(format!(
            "endpoint {id} is not connected to a Bitbucket repository"
        ))
        .into());
    };
    match state
        .bitbucket
        .delete_hook(token, &link.workspace, &link.repo, &link.hook_uuid)
        .await
    {
        Ok(()) => {}
        Err(BitbucketError::NotFound(reason)) => {
            tracing::info!(endpoint = %id, %reason, "the Bitbucket webhook was already gone");
        }
        Err(error) => return Err(error.into()),
    }
    // Read again: the endpoint may have changed while Bitbucket answered.
    let mut endpoint = admin::endpoint(state, id)?;
    endpoint.bitbucket = None;
    endpoint.enabled = false;
    state
        .store
        .save_endpoint(&endpoint)
        .map_err(AdminError::from)?;
    tracing::info!(
        endpoint = %id, workspace = %link.workspace, repo = %link.repo, hook = %link.hook_uuid,
        "disconnected a Bitbucket repository"
    );
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitbucket_error_bodies_become_messages() {
        let scopes = br#"{"type": "error", "error": {"message": "Your credentials lack one or more required privilege scopes.", "detail": {"granted": ["repository"], "required": ["webhook"]}}}"#;
        assert_eq!(
            error_message(scopes),
            "Your credentials lack one or more required privilege scopes. (required scopes: webhook)"
        );
        let detail =
            br#"{"type": "error", "error": {"message": "Bad request", "detail": "url: invalid"}}"#;
        assert_eq!(error_message(detail), "Bad request (url: invalid)");
        assert_eq!(error_message(b""), "no message");
        assert_eq!(error_message(b"Bad Gateway"), "Bad Gateway");
        assert_eq!(error_message(&[b'x'; 2000]).len(), MESSAGE_CHARS);
    }

    #[test]
    fn statuses_map_to_clear_errors() {
        let body = br#"{"type": "error", "error": {"message": "nope"}}"#;
        let missing = || "no repository w/r".to_string();
        assert!(
            matches!(refusal(401, body, missing), BitbucketError::TokenRefused(m) if m == "nope")
        );
        assert!(matches!(
            refusal(403, body, missing),
            BitbucketError::TokenRefused(_)
        ));
        assert_eq!(
            refusal(404, body, missing).to_string(),
            "repository not found: no repository w/r (nope)"
        );
        assert!(matches!(
            refusal(400, body, missing),
            BitbucketError::Refused { status: 400, .. }
        ));
        assert!(matches!(
            refusal(503, body, missing),
            BitbucketError::Unavailable(_)
        ));
    }

    #[test]
    fn hook_urls_escape_their_parts() {
        let api = BitbucketApi::new("http://127.0.0.1:9/base/").unwrap();
        assert_eq!(
            api.hooks_url("team", "repo", Some("{8f1c-11}")).as_str(),
            "http://127.0.0.1:9/base/2.0/repositories/team/repo/hooks/%7B8f1c-11%7D"
        );
        let api = BitbucketApi::new("https://api.bitbucket.org").unwrap();
        assert_eq!(
            api.hooks_url("team", "repo", None).as_str(),
            "https://api.bitbucket.org/2.0/repositories/team/repo/hooks"
        );
    }

    #[test]
    fn connect_requests_are_checked() {
        let request = ConnectRequest::from_json(json!({
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
            assert!(ConnectRequest::from_json(bad.clone()).is_err(), "{bad}");
        }
    }
}
