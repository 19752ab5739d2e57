//! Session tokens: a user trades their email and password for a bearer token
//! (`POST /sessions`, the one API route besides the OpenAPI document that needs no token)
//! and ends it with `DELETE /sessions/current`. Tokens are random, kept in the store as their
//! SHA-256 (so every gateway on a shared database knows them; each process answers from its
//! own copy for [`CACHED_FOR`]) and last [`API_SESSION_TTL`]; a session names its user, whose
//! role is read from the store on every request.
//!
//! [`authenticate`] is the API's bearer check: the admin token (an admin) or a live session
//! token (its user), with wrong ones counted against the client like wrong admin tokens.

use super::ApiRoute;
use super::openapi::ErrorAnswer;
use crate::config::API_SESSION_TTL;
use crate::http::roles::{Principal, user_principal};
use crate::http::ui::session::CACHED_FOR;
use crate::http::{HttpState, TokenCheck, error_response};
use crate::oncall::Role;
use crate::ops::OpsError;
use crate::store::{SessionRecord, SharedStore, now_ms};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute::documented::<__path_start>(|route| route.to(start)),
    ApiRoute::documented::<__path_end>(|route| route.to(end)),
];

/// The path of `POST /sessions`, which needs no token.
pub const START_PATH: &str = "/api/v1/sessions";

/// The API's live session tokens, by their SHA-256: in the store when one is attached
/// ([`ApiSessions::keep_in`]), else in this process only.
pub struct ApiSessions {
    /// Tokens this process started or read, with when it read them.
    cached: Mutex<HashMap<[u8; 32], (Instant, LiveSession)>>,
    store: Option<SharedStore>,
    lifetime: Duration,
}

#[derive(Clone)]
struct LiveSession {
    user: String,
    expires_at: Instant,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Default for ApiSessions {
    fn default() -> Self {
        Self::new(API_SESSION_TTL)
    }
}

impl ApiSessions {
    /// No sessions yet; each lasts `lifetime`.
    pub fn new(lifetime: Duration) -> Self {
        Self {
            cached: Mutex::default(),
            store: None,
            lifetime,
        }
    }

    /// The same, keeping sessions in `store`.
    pub fn keep_in(mut self, store: SharedStore) -> Self {
        self.store = Some(store);
        self
    }

    /// A new token for `user` (and expired ones forgotten); `None` when the store cannot keep
    /// it.
    pub fn start(&self, user: &str) -> Option<String> {
        let token = format!("hgs_{}", crate::ids::random_hex(32));
        let now = Instant::now();
        if let Some(store) = &self.store {
            let record = SessionRecord {
                user: Some(user.to_string()),
                csrf: None,
                expires_at: now_ms().saturating_add(self.lifetime.as_millis() as u64),
            };
            if let Err(error) = store.save_session(&digest(&token), &record) {
                tracing::error!(%error, "storing an API session");
                return None;
            }
        }
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached.retain(|_, (_, session)| session.expires_at > now);
        cached.insert(
            digest(&token),
            (
                now,
                LiveSession {
                    user: user.to_string(),
                    expires_at: now + self.lifetime,
                },
            ),
        );
        Some(token)
    }

    /// The user of a live token.
    pub fn user_of(&self, token: &str) -> Option<String> {
        let key = digest(token);
        let now = Instant::now();
        {
            let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((read_at, session)) = cached.get(&key)
                && session.expires_at > now
                && (self.store.is_none() || read_at.elapsed() < CACHED_FOR)
            {
                return Some(session.user.clone());
            }
        }
        let store = self.store.as_ref()?;
        let record = match store.session(&key, now_ms()) {
            Ok(record) => record,
            Err(error) => {
                tracing::error!(%error, "reading an API session");
                None
            }
        };
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        // A console session's id is no API token.
        let Some((user, record)) = record
            .filter(|record| record.csrf.is_none())
            .and_then(|record| Some((record.user.clone()?, record)))
        else {
            cached.remove(&key);
            return None;
        };
        let session = LiveSession {
            user: user.clone(),
            expires_at: now + Duration::from_millis(record.expires_at.saturating_sub(now_ms())),
        };
        cached.insert(key, (now, session));
        Some(user)
    }

    /// Ends a token.
    pub fn end(&self, token: &str) {
        let key = digest(token);
        self.cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        if let Some(store) = &self.store
            && let Err(error) = store.delete_session(&key)
        {
            tracing::error!(%error, "ending an API session");
        }
    }

    /// How long a session lasts.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
}

/// The principal of `Authorization: Bearer <token>`: the admin token, or a live session whose
/// user still exists. Otherwise the answer: 401, or 429 for a client past its wrong tokens
/// (which is not checked at all).
pub async fn authenticate(
    state: &HttpState,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> Result<Principal, HttpResponse> {
    let presented = bearer(headers).unwrap_or("");
    let throttle = &state.abuse.auth_failures;
    if let Err(wait) = throttle.check(peer) {
        return Err(crate::http::throttled_response(wait));
    }
    if crate::verify::admin_token_matches(&state.admin_token, presented) {
        return Ok(Principal::AdminToken);
    }
    if let Some(user) = state.api_sessions.user_of(presented) {
        let services = state.services.clone();
        match crate::ops::blocking(move || user_principal(&services, &user)).await {
            Ok(Some(principal)) => return Ok(principal),
            // The user was deleted: so is the session.
            Ok(None) => state.api_sessions.end(presented),
            Err(error) => return Err(error.error_response()),
        }
    }
    if !presented.is_empty() {
        tracing::warn!(peer = ?peer, "admin API refused: wrong token");
        throttle.failed(peer);
    }
    Err(crate::http::unauthorized_response())
}

/// `POST /sessions`'s body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SessionInput {
    /// The user's email (without case) or id.
    pub email: String,
    /// Their password.
    #[schema(write_only)]
    pub password: String,
}

/// What a sign-in answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionAnswer {
    /// The session token, for `Authorization: Bearer <token>` (shown this once).
    pub token: String,
    /// The user signed in, `us_<n>`.
    pub user: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// When the token stops working, RFC 3339 UTC.
    pub expires_at: String,
}

/// Signs a user in: their email and password for a session token.
#[utoipa::path(
    post,
    path = "/sessions",
    operation_id = "startSession",
    security(()),
    request_body = SessionInput,
    responses(
        (status = 201, description = "`{token, user, name, role, expires_at}`: use the token as \
         `Authorization: Bearer <token>`; it lasts 12 hours", body = SessionAnswer),
        (status = 400, description = "no email or password", body = ErrorAnswer),
        (status = 401, description = "wrong email or password, or a user without one", body = ErrorAnswer),
        (status = 429, description = "too many wrong tokens or passwords from this address", body = ErrorAnswer),
    )
)]
async fn start(
    state: web::Data<HttpState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OpsError> {
    // Read by hand, so that no parse error can quote the password.
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(email), Some(password)) = (
        input.get("email").and_then(Value::as_str),
        input.get("password").and_then(Value::as_str),
    ) else {
        return Err(OpsError::BadRequest(
            "the body must be {\"email\": \"...\", \"password\": \"...\"}".into(),
        ));
    };
    let peer = request.peer_addr().map(|address| address.ip());
    let principal = match check_password(&state, "admin API", peer, email, password).await? {
        TokenCheck::Valid(principal) => principal,
        TokenCheck::Wrong => {
            return Ok(error_response(
                StatusCode::UNAUTHORIZED,
                "wrong email or password",
            ));
        }
        TokenCheck::Throttled(wait) => return Ok(crate::http::throttled_response(wait)),
    };
    // A password only ever finds a user.
    let user = principal.user_id().unwrap_or_default();
    let Some(token) = state.api_sessions.start(user) else {
        return Ok(error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage unavailable: the session could not be kept",
        ));
    };
    let lifetime = state.api_sessions.lifetime().as_millis() as u64;
    tracing::info!(%user, "admin API session started");
    let mut response = HttpResponse::Created().json(SessionAnswer {
        token,
        user: user.to_string(),
        name: principal.name().to_string(),
        role: principal.role(),
        expires_at: crate::utc::utc_iso(crate::store::now_ms() + lifetime),
    });
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Checks a user's email and password (argon2id, on a blocking thread) for a client that has
/// not used up its wrong tokens; a wrong pair counts against the client like a wrong admin
/// token, and is logged as refused by `surface` without the email or password.
pub async fn check_password(
    state: &HttpState,
    surface: &str,
    peer: Option<IpAddr>,
    email: &str,
    password: &str,
) -> Result<TokenCheck<Principal>, OpsError> {
    let throttle = &state.abuse.auth_failures;
    if let Err(wait) = throttle.check(peer) {
        return Ok(TokenCheck::Throttled(wait));
    }
    let services = state.services.clone();
    let (email, password) = (email.trim().to_string(), password.to_string());
    let user = crate::ops::blocking(move || {
        crate::ops::people::verify_password(&services, &email, &password)
    })
    .await?;
    Ok(match user {
        Some(stored) => TokenCheck::Valid(Principal::User {
            id: stored.id,
            name: stored.user.name,
            role: stored.user.role,
        }),
        None => {
            tracing::warn!(peer = ?peer, "{surface} sign-in refused: wrong email or password");
            throttle.failed(peer);
            TokenCheck::Wrong
        }
    })
}

/// Ends the session whose token this request carries.
#[utoipa::path(
    delete,
    path = "/sessions/current",
    operation_id = "endCurrentSession",
    responses(
        (status = 204, description = "the token no longer works"),
        (status = 409, description = "the admin token is not a session", body = ErrorAnswer),
        (status = 401, description = "no valid token", body = ErrorAnswer),
    )
)]
async fn end(
    state: web::Data<HttpState>,
    request: HttpRequest,
    principal: Principal,
) -> Result<HttpResponse, OpsError> {
    if principal == Principal::AdminToken {
        return Err(OpsError::Conflict(
            "the admin token is not a session, so it cannot be ended".into(),
        ));
    }
    if let Some(token) = bearer(request.headers()) {
        state.api_sessions.end(token);
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_user_until_ended_or_expired() {
        let sessions = ApiSessions::new(Duration::from_secs(60));
        let token = sessions.start("us_1").unwrap();
        assert!(token.len() > 64, "{token}");
        assert_eq!(sessions.user_of(&token).as_deref(), Some("us_1"));
        assert_eq!(sessions.user_of("hgs_other"), None);
        sessions.end(&token);
        assert_eq!(sessions.user_of(&token), None);
        let expired = ApiSessions::new(Duration::ZERO);
        let token = expired.start("us_1").unwrap();
        assert_eq!(expired.user_of(&token), None);
    }
}
