//! Sign-in and sign-out. The sign-in page takes a user's email and password (argon2id, checked
//! on a blocking thread) or the admin token; a wrong one of either counts against the client,
//! and past its allowance the client is answered 429 without a check. A wrong email or
//! password gets one refusal that does not tell which was wrong, or whether the user exists.

use super::{Session, page, see_other};
use crate::http::roles::Principal;
use crate::http::{HttpState, TokenCheck};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

pub(super) async fn login_page(state: web::Data<HttpState>) -> HttpResponse {
    page(
        &state,
        None,
        StatusCode::OK,
        "login",
        "Sign in",
        "",
        json!({}),
    )
}

/// The sign-in form: `email` and `password`, or `token`.
#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn refusal(state: &HttpState, status: StatusCode, error: &str, email: &str) -> HttpResponse {
    page(
        state,
        None,
        status,
        "login",
        "Sign in",
        "",
        json!({"error": error, "email": email}),
    )
}

/// Checks the email and password, or the admin token, and starts a session for whoever it is.
pub(super) async fn login(
    state: web::Data<HttpState>,
    request: actix_web::HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let peer = request.peer_addr().map(|address| address.ip());
    let email = form.email.trim();
    let check = if email.is_empty() {
        match crate::http::check_admin_token(
            &state,
            "console sign-in",
            peer,
            Some(form.token.trim()),
        ) {
            TokenCheck::Valid(()) => TokenCheck::Valid(Principal::AdminToken),
            TokenCheck::Wrong => {
                return refusal(
                    &state,
                    StatusCode::UNAUTHORIZED,
                    "That is not the admin token.",
                    "",
                );
            }
            TokenCheck::Throttled(wait) => TokenCheck::Throttled(wait),
        }
    } else {
        let checked = crate::http::api::sessions::check_password(
            &state,
            "console",
            peer,
            email,
            &form.password,
        )
        .await;
        match checked {
            Ok(check) => check,
            Err(error) => return crate::http::internal_error("console sign-in", error),
        }
    };
    let principal = match check {
        TokenCheck::Valid(principal) => principal,
        TokenCheck::Wrong => {
            return refusal(
                &state,
                StatusCode::UNAUTHORIZED,
                "Wrong email or password.",
                email,
            );
        }
        TokenCheck::Throttled(wait) => {
            let seconds = crate::http::abuse::retry_after_secs(wait);
            let mut response = refusal(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many wrong admin tokens from this address (or wrong passwords); try \
                     again in {seconds} s."
                ),
                email,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return response;
        }
    };
    if let Some(user) = principal.user_id() {
        tracing::info!(%user, "console sign-in");
    }
    let Some(session) = state.console.sessions.start(principal) else {
        return crate::http::error_response(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "storage unavailable: the session could not be kept",
        );
    };
    let mut response = see_other("/ui/sources");
    if let Err(error) = response.add_cookie(&state.console.sessions.cookie(&session)) {
        return crate::http::internal_error("console cookie", error);
    }
    response
}

pub(super) async fn logout(state: web::Data<HttpState>, session: Session) -> HttpResponse {
    state.console.sessions.end(&session.id);
    let mut response = see_other("/ui/login");
    if let Err(error) = response.add_cookie(&state.console.sessions.removal_cookie()) {
        return crate::http::internal_error("console cookie", error);
    }
    response
}
