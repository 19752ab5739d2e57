//! Bitbucket Cloud's OAuth 2.0 authorization-code flow, as the consumer `[bitbucket]
//! oauth_client_id` (secret from `HOOKGATE_BITBUCKET_OAUTH_SECRET`): the consent URL
//! `{oauth_url}/site/oauth2/authorize`, and `{oauth_url}/site/oauth2/access_token` for the
//! `authorization_code` and `refresh_token` grants, the consumer authenticating with HTTP
//! Basic. No redirect is followed, so the secret and the tokens only ever go to `oauth_url`.

use super::sealed::OAuthTokens;
use crate::config::BitbucketOAuthSettings;
use crate::store::now_ms;
use serde_json::Value;
use std::time::Duration;

/// Why Bitbucket gave no tokens.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// `invalid_grant`: the code was used or expired, or the refresh token was revoked (the
    /// user took back consent). Only connecting again helps.
    #[error(
        "Bitbucket no longer accepts this connection's authorization ({0}): connect the \
         repository again"
    )]
    GrantRefused(String),
    /// `unauthorized_client` or `invalid_client`: the consumer's key or secret is wrong.
    #[error(
        "Bitbucket refused hookgate's OAuth consumer ({0}): check [bitbucket] oauth_client_id \
         and HOOKGATE_BITBUCKET_OAUTH_SECRET"
    )]
    ClientRefused(String),
    /// Bitbucket failed, could not be reached, or answered something unreadable.
    #[error("Bitbucket's OAuth did not answer usefully: {0}")]
    Unavailable(String),
}

/// The OAuth consumer.
pub struct BitbucketOAuth {
    settings: BitbucketOAuthSettings,
    client: reqwest::Client,
}

impl BitbucketOAuth {
    /// A client for the consumer in `settings` whose calls give up after `timeout`
    /// (`[bitbucket] timeout_secs`).
    pub fn new(settings: BitbucketOAuthSettings, timeout: Duration) -> Self {
        crate::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hookgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("building the Bitbucket OAuth client");
        Self { settings, client }
    }

    /// Where the browser goes to consent: `{oauth_url}/site/oauth2/authorize?client_id=…&
    /// response_type=code&state=…`. Bitbucket sends it back to the consumer's callback URL.
    pub fn authorize_url(&self, state: &str) -> String {
        let mut url = reqwest::Url::parse(&format!(
            "{}/site/oauth2/authorize",
            self.settings.oauth_url
        ))
        .expect("a checked oauth_url");
        url.query_pairs_mut()
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("response_type", "code")
            .append_pair("state", state);
        url.into()
    }

    /// Exchanges an authorization code for tokens.
    pub async fn exchange_code(&self, code: &str) -> Result<OAuthTokens, OAuthError> {
        self.grant(&[("grant_type", "authorization_code"), ("code", code)])
            .await
    }

    /// New tokens for a refresh token (Bitbucket may hand out a new refresh token too).
    pub async fn refresh(&self, refresh_token: &str) -> Result<OAuthTokens, OAuthError> {
        let mut tokens = self
            .grant(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .await?;
        if tokens.refresh_token.is_empty() {
            tokens.refresh_token = refresh_token.to_string();
        }
        Ok(tokens)
    }

    async fn grant(&self, form: &[(&str, &str)]) -> Result<OAuthTokens, OAuthError> {
        let response = self
            .client
            .post(format!(
                "{}/site/oauth2/access_token",
                self.settings.oauth_url
            ))
            .basic_auth(
                &self.settings.client_id,
                Some(self.settings.client_secret.expose()),
            )
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
            .send()
            .await
            .map_err(|error| OAuthError::Unavailable(error.without_url().to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| OAuthError::Unavailable(error.without_url().to_string()))?;
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status == 200 {
            return tokens_of(&parsed).ok_or_else(|| {
                OAuthError::Unavailable("Bitbucket answered 200 without the tokens".into())
            });
        }
        // RFC 6749 §5.2 errors; the description is Bitbucket's text, never a token.
        let error = parsed["error"].as_str().unwrap_or("");
        let description = parsed["error_description"]
            .as_str()
            .unwrap_or(error)
            .chars()
            .take(300)
            .collect::<String>();
        Err(match error {
            "invalid_grant" => OAuthError::GrantRefused(description),
            "unauthorized_client" | "invalid_client" => OAuthError::ClientRefused(description),
            _ => OAuthError::Unavailable(format!("Bitbucket answered {status}: {description}")),
        })
    }
}

/// The tokens of a successful grant's answer.
fn tokens_of(answer: &Value) -> Option<OAuthTokens> {
    let access_token = answer["access_token"].as_str().filter(|t| !t.is_empty())?;
    let expires_in = answer["expires_in"].as_u64().unwrap_or(0);
    Some(OAuthTokens {
        access_token: access_token.to_string(),
        refresh_token: answer["refresh_token"].as_str().unwrap_or("").to_string(),
        expires_at_ms: now_ms().saturating_add(expires_in.saturating_mul(1000)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretText;

    #[test]
    fn the_consent_url_carries_the_client_and_the_state() {
        let oauth = BitbucketOAuth::new(
            BitbucketOAuthSettings {
                client_id: "key 1".into(),
                client_secret: SecretText::new("secret"),
                oauth_url: "http://127.0.0.1:9".into(),
            },
            Duration::from_secs(30),
        );
        assert_eq!(
            oauth.authorize_url("st&ate"),
            "http://127.0.0.1:9/site/oauth2/authorize?client_id=key+1&response_type=code&state=st%26ate"
        );
    }

    #[test]
    fn grant_answers_become_tokens() {
        let tokens = tokens_of(&serde_json::json!({
            "access_token": "a", "refresh_token": "r", "expires_in": 7200,
            "token_type": "bearer", "scopes": "webhook repository:admin",
        }))
        .unwrap();
        assert_eq!(tokens.access_token, "a");
        assert_eq!(tokens.refresh_token, "r");
        assert!(tokens.expires_at_ms >= now_ms() + 7_100_000);
        assert!(tokens_of(&serde_json::json!({"access_token": ""})).is_none());
    }
}
