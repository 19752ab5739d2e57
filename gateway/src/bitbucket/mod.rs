//! The Bitbucket Cloud REST API 2.0 client that connecting a repository needs: webhooks are
//! created with `POST {api_url}/2.0/repositories/{workspace}/{repo}/hooks` and deleted by uuid;
//! the repositories a user administers are listed for the console's picker. `oauth` is the
//! OAuth consumer, `sealed` how its tokens are kept.
//! The client follows no redirects, so a credential only ever goes to `api_url`; a token that
//! contains a colon is `user:app_password` (HTTP Basic), any other an access token (Bearer).

pub mod oauth;
pub mod sealed;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// The most pages of repositories the picker reads (100 each).
const MAX_REPOSITORY_PAGES: usize = 50;

/// A repository the signed-in Bitbucket user administers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminRepository {
    /// Workspace slug.
    pub workspace: String,
    /// Repository slug.
    pub repo: String,
    /// `workspace/repo`.
    pub full_name: String,
}

/// The longest Bitbucket error message relayed to the operator.
const MESSAGE_CHARS: usize = 500;
/// A Bitbucket credential: its `Debug` never shows it.
pub struct BitbucketToken {
    token: String,
    /// An OAuth access token: Bearer whatever it holds.
    bearer_only: bool,
}

impl BitbucketToken {
    /// A credential as the operator gave it (`user:app_password` or an access token).
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            bearer_only: false,
        }
    }

    /// An OAuth access token (always Bearer).
    pub fn bearer(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            bearer_only: true,
        }
    }

    /// Adds the matching `Authorization` header.
    pub(crate) fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.token.split_once(':') {
            Some((user, app_password)) if !self.bearer_only => {
                request.basic_auth(user, Some(app_password))
            }
            _ => request.bearer_auth(&self.token),
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
    /// Bitbucket could not be reached, failed (5xx), rate-limited the call (429) or answered
    /// something unreadable: the message says which.
    #[error("{0}")]
    Unavailable(String),
    /// Bitbucket took the request but did not answer in time: it may have carried it out.
    #[error("{0}")]
    NoAnswer(String),
}

/// What connecting a repository needs of a code host: registering and deleting a webhook.
/// [`BitbucketApi`] is Bitbucket Cloud's; a GitHub or GitLab connect can implement it too.
pub trait RepositoryWebhooks: Send + Sync {
    /// Registers a webhook on `workspace/repo`; returns its id.
    fn create_hook<'a>(
        &'a self,
        token: &'a BitbucketToken,
        workspace: &'a str,
        repo: &'a str,
        hook: Value,
    ) -> BoxFuture<'a, Result<String, BitbucketError>>;
    /// Deletes a webhook (`NotFound` when it is already gone).
    fn delete_hook<'a>(
        &'a self,
        token: &'a BitbucketToken,
        workspace: &'a str,
        repo: &'a str,
        hook_uuid: &'a str,
    ) -> BoxFuture<'a, Result<(), BitbucketError>>;
    /// The repositories the token's user administers (every page).
    fn admin_repositories<'a>(
        &'a self,
        token: &'a BitbucketToken,
    ) -> BoxFuture<'a, Result<Vec<AdminRepository>, BitbucketError>>;
}

/// The Bitbucket Cloud REST API at `[bitbucket] api_url`.
pub struct BitbucketApi {
    base: reqwest::Url,
    client: reqwest::Client,
    /// The calls' time limit, named in the error when it runs out.
    timeout: Duration,
}

impl BitbucketApi {
    /// A client for the API at `api_url` (a validated `[bitbucket] api_url`) whose calls
    /// give up after `timeout`. It follows no redirects, so a credential only ever goes to that
    /// address.
    pub fn new(api_url: &str, timeout: Duration) -> Result<Self, url::ParseError> {
        crate::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hookgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("building the Bitbucket API client");
        Ok(Self {
            base: reqwest::Url::parse(api_url)?,
            client,
            timeout,
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
        let (status, body, retry_after) = self.send(token.authorize(request)).await?;
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
        Err(refusal(status, &body, retry_after, || {
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
        let (status, body, retry_after) = self.send(token.authorize(request)).await?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(refusal(status, &body, retry_after, || {
            format!("Bitbucket has no webhook {hook_uuid} in {workspace}/{repo}")
        }))
    }
}

impl BitbucketApi {
    /// `GET {api_url}/2.0/repositories?role=admin`, following `next` while it stays on
    /// `api_url`'s origin (the token goes nowhere else).
    pub async fn admin_repositories(
        &self,
        token: &BitbucketToken,
    ) -> Result<Vec<AdminRepository>, BitbucketError> {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["2.0", "repositories"]);
        }
        url.query_pairs_mut()
            .append_pair("role", "admin")
            .append_pair("pagelen", "100");
        let mut repositories = Vec::new();
        for _ in 0..MAX_REPOSITORY_PAGES {
            let (status, body, retry_after) = self
                .send(token.authorize(self.client.get(url.clone())))
                .await?;
            if status != 200 {
                return Err(refusal(status, &body, retry_after, || {
                    "Bitbucket did not list the repositories".to_string()
                }));
            }
            let page: Value = serde_json::from_slice(&body).map_err(|_| {
                BitbucketError::Unavailable("the repository list is not JSON".into())
            })?;
            for repository in page["values"].as_array().into_iter().flatten() {
                let full_name = repository["full_name"].as_str().unwrap_or("");
                if let Some((workspace, repo)) = full_name.split_once('/') {
                    repositories.push(AdminRepository {
                        workspace: workspace.to_string(),
                        repo: repository["slug"].as_str().unwrap_or(repo).to_string(),
                        full_name: full_name.to_string(),
                    });
                }
            }
            let Some(next) = page["next"].as_str() else {
                return Ok(repositories);
            };
            let next = reqwest::Url::parse(next).map_err(|_| {
                BitbucketError::Unavailable("the repository list's next page is no URL".into())
            })?;
            if next.origin() != self.base.origin() {
                return Err(BitbucketError::Unavailable(
                    "the repository list's next page is on another host".into(),
                ));
            }
            url = next;
        }
        Ok(repositories)
    }
}

impl RepositoryWebhooks for BitbucketApi {
    fn create_hook<'a>(
        &'a self,
        token: &'a BitbucketToken,
        workspace: &'a str,
        repo: &'a str,
        hook: Value,
    ) -> BoxFuture<'a, Result<String, BitbucketError>> {
        Box::pin(BitbucketApi::create_hook(
            self, token, workspace, repo, hook,
        ))
    }

    fn delete_hook<'a>(
        &'a self,
        token: &'a BitbucketToken,
        workspace: &'a str,
        repo: &'a str,
        hook_uuid: &'a str,
    ) -> BoxFuture<'a, Result<(), BitbucketError>> {
        Box::pin(BitbucketApi::delete_hook(
            self, token, workspace, repo, hook_uuid,
        ))
    }

    fn admin_repositories<'a>(
        &'a self,
        token: &'a BitbucketToken,
    ) -> BoxFuture<'a, Result<Vec<AdminRepository>, BitbucketError>> {
        Box::pin(BitbucketApi::admin_repositories(self, token))
    }
}

impl BitbucketApi {
    /// Sends a request; answers Bitbucket's status, body and `Retry-After` (seconds).
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, bytes::Bytes, Option<u64>), BitbucketError> {
        let unavailable = |error: reqwest::Error| {
            if error.is_timeout() {
                return BitbucketError::NoAnswer(format!(
                    "Bitbucket did not answer within {} s ([bitbucket] timeout_secs)",
                    self.timeout.as_secs()
                ));
            }
            // Without the URL: it is ours, and the error text needs no credential-bearing
            // parts. The source chain says why (refused, reset, DNS).
            let error = error.without_url();
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            BitbucketError::Unavailable(format!("could not reach Bitbucket: {text}"))
        };
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok());
        let body = response.bytes().await.map_err(unavailable)?;
        Ok((status, body, retry_after))
    }
}

/// The error for a Bitbucket answer that is not a success; `not_found` says what a 404 means.
fn refusal(
    status: u16,
    body: &[u8],
    retry_after: Option<u64>,
    not_found: impl FnOnce() -> String,
) -> BitbucketError {
    let message = error_message(body);
    match status {
        401 | 403 => BitbucketError::TokenRefused(message),
        404 => BitbucketError::NotFound(format!("{} ({message})", not_found())),
        // Not the operator's fault, and it passes: say when to try again.
        429 => BitbucketError::Unavailable(match retry_after {
            Some(seconds) => {
                format!("Bitbucket is rate limiting (429), try again in {seconds} s: {message}")
            }
            None => format!("Bitbucket is rate limiting (429), try again later: {message}"),
        }),
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
            matches!(refusal(401, body, None, missing), BitbucketError::TokenRefused(m) if m == "nope")
        );
        assert!(matches!(
            refusal(403, body, None, missing),
            BitbucketError::TokenRefused(_)
        ));
        assert_eq!(
            refusal(404, body, None, missing).to_string(),
            "repository not found: no repository w/r (nope)"
        );
        assert!(matches!(
            refusal(400, body, None, missing),
            BitbucketError::Refused { status: 400, .. }
        ));
        assert!(matches!(
            refusal(503, body, None, missing),
            BitbucketError::Unavailable(_)
        ));
        assert_eq!(
            refusal(429, body, Some(30), missing).to_string(),
            "Bitbucket is rate limiting (429), try again in 30 s: nope"
        );
    }

    #[test]
    fn hook_urls_escape_their_parts() {
        let api = BitbucketApi::new("http://127.0.0.1:9/base/", Duration::from_secs(1)).unwrap();
        assert_eq!(
            api.hooks_url("team", "repo", Some("{8f1c-11}")).as_str(),
            "http://127.0.0.1:9/base/2.0/repositories/team/repo/hooks/%7B8f1c-11%7D"
        );
        let api = BitbucketApi::new("https://api.bitbucket.org", Duration::from_secs(1)).unwrap();
        assert_eq!(
            api.hooks_url("team", "repo", None).as_str(),
            "https://api.bitbucket.org/2.0/repositories/team/repo/hooks"
        );
    }
}
