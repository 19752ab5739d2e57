//! Connecting Bitbucket with OAuth: the single-use `state` of a consent (bound to the console
//! session that asked, expiring), the grant a callback got (held for that session until the
//! repository is picked), and Disconnect with the stored tokens, refreshed first when the
//! access token has expired. Tokens live sealed in the store and in this process's memory
//! between callback and pick; they are never logged or answered.

use super::bitbucket::{OAuthConnection, disconnect};
use super::endpoints::get;
use super::{OpsError, Services};
use crate::bitbucket::oauth::{BitbucketOAuth, OAuthError};
use crate::bitbucket::sealed::{OAuthTokens, TokenSealer};
use crate::bitbucket::{BitbucketToken, RepositoryWebhooks};
use crate::store::{EndpointRecord, now_ms};
use actix_web::http::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a consent may take, from Connect to the callback.
pub const STATE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// How long a grant waits for its repository to be picked.
pub const GRANT_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// An access token this close to its expiry is refreshed before use.
const EXPIRY_MARGIN_MS: u64 = 60_000;
/// The most consents waiting at once (a flood of Connect clicks cannot grow memory without end).
const MAX_PENDING: usize = 1_000;

impl From<OAuthError> for OpsError {
    fn from(error: OAuthError) -> Self {
        let status = match &error {
            OAuthError::GrantRefused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            OAuthError::ClientRefused(_) | OAuthError::Unavailable(_) => StatusCode::BAD_GATEWAY,
        };
        tracing::warn!(%error, "Bitbucket OAuth refused");
        OpsError::Upstream {
            status,
            message: error.to_string(),
        }
    }
}

/// Why a callback's `state` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateRefused {
    /// Never handed out, or already used.
    #[error("this authorization is unknown or was already used")]
    Unknown,
    /// Handed out longer ago than [`STATE_LIFETIME`].
    #[error("this authorization took too long and expired")]
    Expired,
}

struct Pending<T> {
    value: T,
    since: Instant,
}

#[derive(Default)]
struct Flows {
    /// `state` → the console session it was handed to.
    states: HashMap<String, Pending<String>>,
    /// Console session → the tokens its callback got.
    grants: HashMap<String, Pending<OAuthTokens>>,
}

impl Flows {
    fn forget_expired(&mut self) {
        self.states
            .retain(|_, pending| pending.since.elapsed() < STATE_LIFETIME);
        self.grants
            .retain(|_, pending| pending.since.elapsed() < GRANT_LIFETIME);
    }
}

/// The OAuth consumer, the sealer of its tokens, and the consents under way.
pub struct BitbucketOAuthConnect {
    /// The consumer.
    pub oauth: BitbucketOAuth,
    /// Seals the stored tokens.
    pub sealer: Arc<TokenSealer>,
    flows: Mutex<Flows>,
}

impl BitbucketOAuthConnect {
    /// The connect flow of `oauth`, sealing with `sealer`.
    pub fn new(oauth: BitbucketOAuth, sealer: TokenSealer) -> Self {
        Self {
            oauth,
            sealer: Arc::new(sealer),
            flows: Mutex::default(),
        }
    }

    fn flows(&self) -> std::sync::MutexGuard<'_, Flows> {
        self.flows
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A fresh `state` for `session_id`; the consent URL to send its browser to.
    pub fn begin(&self, session_id: &str) -> String {
        let state = crate::ids::random_id();
        let mut flows = self.flows();
        flows.forget_expired();
        if flows.states.len() >= MAX_PENDING {
            // The oldest consent gives way.
            if let Some(oldest) = flows
                .states
                .iter()
                .min_by_key(|(_, pending)| pending.since)
                .map(|(state, _)| state.clone())
            {
                flows.states.remove(&oldest);
            }
        }
        flows.states.insert(
            state.clone(),
            Pending {
                value: session_id.to_string(),
                since: Instant::now(),
            },
        );
        self.oauth.authorize_url(&state)
    }

    /// Takes a callback's `state` (it works once): the session it was handed to.
    pub fn take_state(&self, state: &str) -> Result<String, StateRefused> {
        let pending = self
            .flows()
            .states
            .remove(state)
            .ok_or(StateRefused::Unknown)?;
        if pending.since.elapsed() >= STATE_LIFETIME {
            return Err(StateRefused::Expired);
        }
        Ok(pending.value)
    }

    /// Holds the tokens a callback got until `session_id` picks a repository.
    pub fn hold_grant(&self, session_id: &str, tokens: OAuthTokens) {
        let mut flows = self.flows();
        flows.forget_expired();
        flows.grants.insert(
            session_id.to_string(),
            Pending {
                value: tokens,
                since: Instant::now(),
            },
        );
    }

    /// The grant `session_id` holds, if it holds a live one.
    pub fn grant(&self, session_id: &str) -> Option<OAuthTokens> {
        let mut flows = self.flows();
        flows.forget_expired();
        flows
            .grants
            .get(session_id)
            .map(|pending| pending.value.clone())
    }

    /// Ends `session_id`'s grant (its repository was connected).
    pub fn end_grant(&self, session_id: &str) {
        self.flows().grants.remove(session_id);
    }

    /// The connection to store with an endpoint made from `tokens`.
    pub fn connection(&self, tokens: OAuthTokens) -> OAuthConnection {
        OAuthConnection {
            tokens,
            sealer: self.sealer.clone(),
        }
    }

    /// An endpoint's stored tokens, refreshed (and stored again) when the access token has
    /// expired or is about to, or when `refresh` says Bitbucket refused it.
    pub async fn fresh_tokens(
        &self,
        services: &Services,
        id: &str,
        refresh: bool,
    ) -> Result<OAuthTokens, OpsError> {
        let Some(sealed) = services.store.bitbucket_connection(id)? else {
            return Err(OpsError::Conflict(format!(
                "endpoint {id} has no stored Bitbucket connection: disconnect it with a token \
                 ({{\"token\": ...}})"
            )));
        };
        let tokens = self.sealer.open(id, &sealed).map_err(|error| {
            tracing::error!(endpoint = %id, %error, "opening a stored Bitbucket connection");
            OpsError::Conflict(format!(
                "{error}: disconnect it with a token ({{\"token\": ...}}), or delete the \
                 webhook in the repository's settings"
            ))
        })?;
        if !refresh && tokens.expires_at_ms > now_ms() + EXPIRY_MARGIN_MS {
            return Ok(tokens);
        }
        let fresh = self.oauth.refresh(&tokens.refresh_token).await?;
        services
            .store
            .save_bitbucket_connection(id, &self.sealer.seal(id, &fresh))?;
        tracing::info!(endpoint = %id, "refreshed the Bitbucket OAuth access token");
        Ok(fresh)
    }
}

/// Disconnects an OAuth-connected endpoint with its stored tokens: the webhook is deleted,
/// then the tokens, and the endpoint disabled.
pub async fn disconnect_stored(
    services: &Services,
    webhooks: &dyn RepositoryWebhooks,
    oauth: Option<&BitbucketOAuthConnect>,
    id: &str,
) -> Result<EndpointRecord, OpsError> {
    let endpoint = get(services, id)?;
    if endpoint.bitbucket.is_none() {
        return Err(OpsError::Conflict(format!(
            "endpoint {id} is not connected to a Bitbucket repository"
        )));
    }
    let Some(oauth) = oauth else {
        return Err(OpsError::Conflict(
            "Bitbucket OAuth is not configured ([bitbucket] oauth_client_id): disconnect with \
             a token ({\"token\": ...})"
                .into(),
        ));
    };
    let tokens = oauth.fresh_tokens(services, id, false).await?;
    let token = BitbucketToken::bearer(tokens.access_token);
    match disconnect(services, webhooks, id, &token).await {
        // Bitbucket refused a token it had not yet expired by our clock (revoked, or its
        // clock runs ahead): refresh once and try again.
        Err(OpsError::Upstream { status, .. }) if status == StatusCode::UNPROCESSABLE_ENTITY => {
            let tokens = oauth.fresh_tokens(services, id, true).await?;
            let token = BitbucketToken::bearer(tokens.access_token);
            disconnect(services, webhooks, id, &token).await
        }
        done => done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BitbucketOAuthSettings, SecretText};

    fn flow() -> BitbucketOAuthConnect {
        BitbucketOAuthConnect::new(
            BitbucketOAuth::new(
                BitbucketOAuthSettings {
                    client_id: "key".into(),
                    client_secret: SecretText::new("secret"),
                    oauth_url: "http://127.0.0.1:9".into(),
                },
                std::time::Duration::from_secs(30),
            ),
            TokenSealer::new(&[3; 32]),
        )
    }

    fn state_of(url: &str) -> String {
        url.split("state=").nth(1).unwrap().to_string()
    }

    #[test]
    fn a_state_works_once_for_its_session_and_expires() {
        let flow = flow();
        let state = state_of(&flow.begin("session-a"));
        assert_eq!(flow.take_state(&state), Ok("session-a".to_string()));
        assert_eq!(flow.take_state(&state), Err(StateRefused::Unknown));
        assert_eq!(flow.take_state("forged"), Err(StateRefused::Unknown));
        assert_eq!(flow.take_state(""), Err(StateRefused::Unknown));

        let late = state_of(&flow.begin("session-b"));
        let handed_out = Instant::now()
            .checked_sub(STATE_LIFETIME + Duration::from_secs(1))
            .expect("the machine has been up longer than a state lives");
        flow.flows().states.get_mut(&late).unwrap().since = handed_out;
        assert_eq!(flow.take_state(&late), Err(StateRefused::Expired));
        assert_eq!(flow.take_state(&late), Err(StateRefused::Unknown));
    }

    #[test]
    fn a_grant_is_its_sessions_until_used() {
        let flow = flow();
        let tokens = OAuthTokens {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at_ms: 1,
        };
        flow.hold_grant("session-a", tokens.clone());
        assert_eq!(flow.grant("session-b"), None);
        assert_eq!(flow.grant("session-a"), Some(tokens));
        flow.end_grant("session-a");
        assert_eq!(flow.grant("session-a"), None);
    }

    #[test]
    fn pending_consents_are_bounded() {
        let flow = flow();
        let first = state_of(&flow.begin("s"));
        for _ in 0..MAX_PENDING {
            flow.begin("s");
        }
        assert_eq!(flow.flows().states.len(), MAX_PENDING);
        assert_eq!(flow.take_state(&first), Err(StateRefused::Unknown));
    }
}
