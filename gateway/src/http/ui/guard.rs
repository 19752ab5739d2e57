//! The guard in front of every console route: a live session (GET without one: 303 to
//! sign-in; POST: 403), the session's CSRF token on every POST, and the signed-in role (the
//! rule of `crate::http::roles`, read again from the store for a user) on every request; and
//! the security headers on every answer.

use super::{FormFields, Session, message_page, see_other, session};
use crate::http::HttpState;
use crate::http::roles;
use crate::ops::OpsError;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

/// Sessions and CSRF for every route but sign-in and the static files; security headers on
/// every answer.
pub(super) async fn guard(
    mut request: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = request.app_data::<web::Data<HttpState>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError("no state"));
    };
    let path = request.path();
    // The OAuth callback arrives cross-site, without the SameSite=Strict cookie: its `state`
    // names the session instead (`bitbucket_oauth.rs`).
    let public = path == "/ui/login"
        || path.starts_with("/ui/static/")
        || path == super::bitbucket_oauth::CALLBACK_PATH;
    if !public {
        let session = request
            .cookie(session::COOKIE)
            .and_then(|cookie| state.console.sessions.find(cookie.value()));
        let session = match session {
            Some(session) => match current_principal(&state, session).await {
                Ok(session) => session,
                Err(error) => {
                    let response = crate::http::internal_error("console: reading the user", error);
                    return Ok(with_headers(request.into_response(response)));
                }
            },
            None => None,
        };
        let Some(session) = session else {
            let response = if request.method() == Method::GET || request.method() == Method::HEAD {
                see_other("/ui/login")
            } else {
                message_page(
                    &state,
                    None,
                    StatusCode::FORBIDDEN,
                    "Not signed in",
                    "This action needs a signed-in session, and this request has none (or it \
                     expired). Sign in and try again.",
                )
            };
            return Ok(with_headers(request.into_response(response)));
        };
        if request.method() == Method::POST {
            let body = request.extract::<web::Bytes>().await?;
            let presented = std::str::from_utf8(&body)
                .ok()
                .and_then(|text| web::Query::<FormFields>::from_query(text).ok())
                .map(|fields| fields.get("csrf").to_string())
                .unwrap_or_default();
            if !session.csrf_matches(&presented) {
                tracing::warn!(path = %request.path(), "console form refused: no valid CSRF token");
                let response = message_page(
                    &state,
                    Some(&session),
                    StatusCode::FORBIDDEN,
                    "Form refused",
                    "This form did not carry this session's CSRF token, so it was refused: it \
                     may come from another site, or from a page opened before you signed in \
                     again. Reload the page and submit it again.",
                );
                return Ok(with_headers(request.into_response(response)));
            }
            request.set_payload(body.into());
        }
        let pattern = roles::pattern_of(&request);
        if let Some(refusal) = session.principal.refusal_for(request.method(), &pattern) {
            tracing::info!(method = %request.method(), route = %pattern, "console refused: {refusal}");
            let response = message_page(
                &state,
                Some(&session),
                StatusCode::FORBIDDEN,
                "Not allowed",
                &format!("Not allowed: {refusal}."),
            );
            return Ok(with_headers(request.into_response(response)));
        }
        request.extensions_mut().insert(session.principal.clone());
        request.extensions_mut().insert(session);
    }
    Ok(with_headers(next.call(request).await?))
}

/// The session with its user's role as the store has it now; `None` (and the session ended)
/// when the user was deleted.
async fn current_principal(
    state: &HttpState,
    mut session: Session,
) -> Result<Option<Session>, OpsError> {
    let Some(id) = session.principal.user_id().map(str::to_string) else {
        return Ok(Some(session));
    };
    let services = state.services.clone();
    match crate::ops::blocking(move || roles::user_principal(&services, &id)).await? {
        Some(principal) => {
            session.principal = principal;
            Ok(Some(session))
        }
        None => {
            state.console.sessions.end(&session.id);
            Ok(None)
        }
    }
}

fn with_headers(mut response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages can show a secret once; keep them out of caches.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
