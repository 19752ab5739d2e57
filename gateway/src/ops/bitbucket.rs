//! Connecting a Bitbucket Cloud repository in one step: create an endpoint (provider
//! `bitbucket`, a fresh secret) and register its URL and secret as a repository webhook;
//! disconnecting deletes that webhook and disables the endpoint. The access token is used for
//! the one call and never stored or logged. The endpoint is saved only once Bitbucket has
//! accepted the webhook, so a refused connect leaves nothing behind.

use super::endpoints::{EndpointInput, get, new_endpoint};
use super::{OpsError, Services};
use crate::bitbucket::sealed::{OAuthTokens, TokenSealer};
use crate::bitbucket::{BitbucketError, BitbucketToken, RepositoryWebhooks};
use crate::store::{BitbucketLink, EndpointRecord, StoreError};
use actix_web::http::StatusCode;
use serde_json::json;
use std::sync::Arc;

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
    /// An OAuth connection's tokens, kept sealed with the endpoint for Disconnect.
    pub oauth: Option<OAuthConnection>,
}

/// What an OAuth connect keeps: the tokens, and what seals them.
pub struct OAuthConnection {
    /// The connection's tokens.
    pub tokens: OAuthTokens,
    /// The gateway's sealer.
    pub sealer: Arc<TokenSealer>,
}

impl std::fmt::Debug for OAuthConnection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("OAuthConnection([redacted])")
    }
}

impl From<BitbucketError> for OpsError {
    fn from(error: BitbucketError) -> Self {
        let status = match &error {
            BitbucketError::TokenRefused(_) | BitbucketError::Refused { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            BitbucketError::NotFound(_) => StatusCode::NOT_FOUND,
            BitbucketError::Unavailable(_) => StatusCode::BAD_GATEWAY,
            BitbucketError::NoAnswer(_) => StatusCode::GATEWAY_TIMEOUT,
        };
        tracing::warn!(%error, "Bitbucket refused a connect or disconnect");
        OpsError::Upstream {
            status,
            message: error.to_string(),
        }
    }
}

/// Events Bitbucket Cloud sends to workspace webhooks only (`/2.0/hook_events/workspace`): a
/// repository webhook asking for them is refused, so connect leaves them out of its hook.
pub const WORKSPACE_ONLY_EVENTS: [&str; 2] = ["repo:imported", "repo:deleted"];

/// The URL Bitbucket posts to for an endpoint.
fn hook_url(services: &Services, endpoint: &EndpointRecord) -> String {
    format!("{}/hooks/{}", services.config.public_url, endpoint.id)
}

/// Creates the endpoint and registers its webhook; the endpoint is saved only after Bitbucket
/// accepted the webhook. Answers the saved endpoint (its secret went to Bitbucket only).
pub async fn connect(
    services: &Services,
    webhooks: &dyn RepositoryWebhooks,
    request: ConnectRequest,
) -> Result<EndpointRecord, OpsError> {
    let ConnectRequest {
        workspace,
        repo,
        token,
        endpoint,
        oauth,
    } = request;
    let (mut endpoint, secret) = new_endpoint(services, endpoint)?;
    let hook = json!({
        "description": format!("hookgate: {}", endpoint.name),
        "url": hook_url(services, &endpoint),
        "active": true,
        "secret": secret,
        "events": endpoint
            .events
            .iter()
            .filter(|event| !WORKSPACE_ONLY_EVENTS.contains(&event.as_str()))
            .collect::<Vec<_>>(),
    });
    let hook_uuid = match webhooks.create_hook(&token, &workspace, &repo, hook).await {
        Ok(hook_uuid) => hook_uuid,
        // Bitbucket may have made the webhook without telling us its id: nothing is saved
        // here, and the operator is told where to look.
        Err(BitbucketError::NoAnswer(reason)) => {
            return Err(BitbucketError::NoAnswer(format!(
                "{reason}; no source was saved. Bitbucket may still have created the webhook: \
                 if {workspace}/{repo}'s webhook settings list one for {}, delete it",
                hook_url(services, &endpoint)
            ))
            .into());
        }
        Err(error) => return Err(error.into()),
    };
    let link = BitbucketLink {
        workspace,
        repo,
        hook_uuid,
        oauth: oauth.is_some(),
    };
    endpoint.bitbucket = Some(link.clone());
    // The connection first: an endpoint saved as OAuth-connected always has its tokens.
    let saved = match &oauth {
        Some(connection) => services.store.save_bitbucket_connection(
            &endpoint.id,
            &connection.sealer.seal(&endpoint.id, &connection.tokens),
        ),
        None => Ok(()),
    }
    .and_then(|()| services.store.save_endpoint(&endpoint));
    if let Err(error) = saved {
        if oauth.is_some() {
            let _ = services.store.delete_bitbucket_connection(&endpoint.id);
        }
        // The webhook would post to an endpoint that does not exist: take it back.
        if let Err(cleanup) = webhooks
            .delete_hook(&token, &link.workspace, &link.repo, &link.hook_uuid)
            .await
        {
            tracing::error!(
                workspace = %link.workspace, repo = %link.repo, hook = %link.hook_uuid,
                %cleanup, "the endpoint was not saved and its Bitbucket webhook could not be \
                           removed: delete it in the repository's settings"
            );
        }
        return Err(OpsError::Store(error));
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
    services: &Services,
    webhooks: &dyn RepositoryWebhooks,
    id: &str,
    token: &BitbucketToken,
) -> Result<EndpointRecord, OpsError> {
    let endpoint = get(services, id)?;
    let Some(link) = endpoint.bitbucket else {
        return Err(OpsError::Conflict(format!(
            "endpoint {id} is not connected to a Bitbucket repository"
        )));
    };
    match webhooks
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
    let mut endpoint = get(services, id)?;
    endpoint.bitbucket = None;
    endpoint.enabled = false;
    services.store.save_endpoint(&endpoint)?;
    // The webhook is gone, so are the tokens that could manage it.
    forget_connection(services, id)?;
    tracing::info!(
        endpoint = %id, workspace = %link.workspace, repo = %link.repo, hook = %link.hook_uuid,
        "disconnected a Bitbucket repository"
    );
    Ok(endpoint)
}

/// Deletes an endpoint's stored OAuth connection, if it has one.
pub fn forget_connection(services: &Services, id: &str) -> Result<(), StoreError> {
    if services.store.delete_bitbucket_connection(id)? {
        tracing::info!(endpoint = %id, "deleted the Bitbucket OAuth tokens");
    }
    Ok(())
}
