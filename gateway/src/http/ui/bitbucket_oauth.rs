//! Connect Bitbucket with OAuth: Connect (a link: the console's `form-action 'self'` would stop
//! a form's redirect to Bitbucket; a cross-site request carries no SameSite=Strict cookie, so
//! only the signed-in console itself can start it) sends the browser to Bitbucket's consent
//! page with a single-use `state` bound to the session; Bitbucket sends it
//! back to the callback, which exchanges the code and hands the browser on to the repository
//! picker; submitting the picker creates the source and registers its webhook.
//!
//! The callback sits outside the session guard: the session cookie is SameSite=Strict, so the
//! cross-site redirect from Bitbucket arrives without it. The `state` names the session
//! instead, and the callback answers a tiny page that moves on with a same-site navigation,
//! which carries the cookie again, to the picker inside the guard.

use super::sources::provider_events;
use super::{FormFields, Session, message_page, page, refused_page};
use crate::bitbucket::BitbucketToken;
use crate::http::HttpState;
use crate::http::RouteRow;
use crate::http::bitbucket_request::connect_request;
use crate::ops::OpsError;
use crate::ops::bitbucket;
use crate::ops::bitbucket_oauth::BitbucketOAuthConnect;
use crate::ops::endpoints::view;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// The callback's path (the OAuth consumer's callback URL is `{public_url}` + this).
pub const CALLBACK_PATH: &str = "/ui/bitbucket/callback";
/// The picker's path.
const PICKER_PATH: &str = "/ui/bitbucket/repositories";

/// This page's routes, under `/ui`.
pub const ROUTES: &[RouteRow] = &[
    RouteRow {
        method: Method::GET,
        path: "/bitbucket/authorize",
        handler: |route| route.to(authorize),
    },
    RouteRow {
        method: Method::GET,
        path: "/bitbucket/callback",
        handler: |route| route.to(callback),
    },
    RouteRow {
        method: Method::GET,
        path: "/bitbucket/repositories",
        handler: |route| route.to(picker),
    },
    RouteRow {
        method: Method::POST,
        path: "/bitbucket/repositories",
        handler: |route| route.to(pick),
    },
];

fn not_configured(state: &HttpState, session: &Session) -> HttpResponse {
    message_page(
        state,
        Some(session),
        StatusCode::NOT_FOUND,
        "Bitbucket OAuth is not configured",
        "Set [bitbucket] oauth_client_id and HOOKGATE_BITBUCKET_OAUTH_SECRET to connect with \
         OAuth, or connect with an access token.",
    )
}

/// 303 to Bitbucket's consent page.
async fn authorize(state: web::Data<HttpState>, session: Session) -> HttpResponse {
    let Some(oauth) = state.bitbucket_oauth.as_deref() else {
        return not_configured(&state, &session);
    };
    let url = oauth.begin(&session.id);
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url))
        .finish()
}

/// A refused callback: a clear page, never the code or the state.
fn callback_refused(state: &HttpState, message: &str) -> HttpResponse {
    message_page(
        state,
        None,
        StatusCode::BAD_REQUEST,
        "Bitbucket connection refused",
        &format!("{message} Go to Sources and click Connect Bitbucket again."),
    )
}

/// Bitbucket's redirect back: `?code=…&state=…` (or `?error=…`).
async fn callback(state: web::Data<HttpState>, query: web::Query<FormFields>) -> HttpResponse {
    let Some(oauth) = state.bitbucket_oauth.as_deref() else {
        return callback_refused(&state, "Bitbucket OAuth is not configured on this gateway.");
    };
    // The state is taken first, whatever else the callback says: it works once.
    let session_id = match oauth.take_state(query.get("state")) {
        Ok(session_id) => session_id,
        Err(refused) => {
            tracing::warn!(%refused, "Bitbucket OAuth callback refused");
            return callback_refused(
                &state,
                &format!(
                    "This answer from Bitbucket does not belong to a Connect started here: \
                     {refused}."
                ),
            );
        }
    };
    if state.console.sessions.find(&session_id).is_none() {
        return callback_refused(&state, "The console session that started it has ended.");
    }
    if !query.get("error").is_empty() {
        let reason = query.get("error_description");
        let reason = if reason.is_empty() {
            query.get("error")
        } else {
            reason
        };
        let reason: String = reason.chars().take(200).collect();
        return callback_refused(&state, &format!("Bitbucket did not authorize: {reason}."));
    }
    let code = query.get("code");
    if code.is_empty() {
        return callback_refused(&state, "Bitbucket's answer has no authorization code.");
    }
    match oauth.oauth.exchange_code(code).await {
        Ok(tokens) => oauth.hold_grant(&session_id, tokens),
        Err(error) => {
            tracing::warn!(%error, "exchanging a Bitbucket authorization code");
            return callback_refused(&state, &error.to_string());
        }
    }
    // A same-site navigation, so the browser sends the session cookie again.
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"refresh\" content=\"0;url={PICKER_PATH}\">\
             <title>Bitbucket connected</title></head><body>\
             <p>Bitbucket authorized hookgate. <a id=\"continue\" href=\"{PICKER_PATH}\">\
             Choose the repository</a>.</p></body></html>"
        ))
}

/// The picker's values as typed, for showing it again after an error.
fn picked(fields: &FormFields) -> Value {
    json!({
        "repository": fields.get("repository"),
        "name": fields.get("name"),
        "events_mode": fields.get("events_mode"),
        "alerts": fields.get("alerts"),
        "destination_kind": fields.get("destination_kind"),
        "destination_url": fields.get("destination_url"),
    })
}

async fn picker_page(
    state: &HttpState,
    session: &Session,
    oauth: &BitbucketOAuthConnect,
    status: StatusCode,
    form: Value,
    selected: &[&str],
    error: Option<String>,
) -> HttpResponse {
    let Some(tokens) = oauth.grant(&session.id) else {
        return message_page(
            state,
            Some(session),
            StatusCode::CONFLICT,
            "No Bitbucket authorization",
            "This session holds no Bitbucket authorization (it was used or expired). Go to \
             Sources and click Connect Bitbucket.",
        );
    };
    let token = BitbucketToken::bearer(tokens.access_token);
    let repositories = match state.bitbucket.admin_repositories(&token).await {
        Ok(repositories) => repositories,
        Err(error) => return refused_page(state, session, error.into()),
    };
    let chosen = form["repository"].as_str().unwrap_or("").to_string();
    let repositories: Vec<Value> = repositories
        .into_iter()
        .map(|repository| {
            json!({"full_name": repository.full_name,
                   "checked": repository.full_name == chosen})
        })
        .collect();
    let plugins = crate::ops::plugins::snapshot(&state.services);
    let events: Vec<Value> = provider_events(&plugins, "bitbucket")
        .into_iter()
        .map(|(key, description)| {
            json!({"key": key, "description": description,
                   "checked": selected.contains(&key.as_str())})
        })
        .collect();
    let mode = match form["events_mode"].as_str() {
        Some(mode) if !mode.is_empty() => mode.to_string(),
        _ => "all".to_string(),
    };
    let alerts = match form["alerts"].as_str() {
        Some(alerts) if !alerts.is_empty() => alerts.to_string(),
        _ => "bitbucket-pipelines".to_string(),
    };
    let kind = match form["destination_kind"].as_str() {
        Some(kind) if !kind.is_empty() => kind.to_string(),
        _ => "discord".to_string(),
    };
    page(
        state,
        Some(session),
        status,
        "bitbucket_repositories",
        "Choose a repository",
        "sources",
        json!({"repositories": repositories, "form": form, "events": events,
               "mode": {mode: true}, "alerts": {alerts: true}, "kind": {kind: true},
               "error": error}),
    )
}

async fn picker(state: web::Data<HttpState>, session: Session) -> HttpResponse {
    let Some(oauth) = state.bitbucket_oauth.as_deref() else {
        return not_configured(&state, &session);
    };
    picker_page(
        &state,
        &session,
        oauth,
        StatusCode::OK,
        json!({}),
        &[],
        None,
    )
    .await
}

/// Creates the source and registers its webhook with the session's grant; the grant's tokens
/// are then kept sealed with the source, for Disconnect.
async fn pick(
    state: web::Data<HttpState>,
    session: Session,
    fields: web::Form<FormFields>,
) -> HttpResponse {
    let Some(oauth) = state.bitbucket_oauth.as_deref() else {
        return not_configured(&state, &session);
    };
    let selected = fields.all("event");
    let again = |status: StatusCode, message: String| {
        picker_page(
            &state,
            &session,
            oauth,
            status,
            picked(&fields),
            &selected,
            Some(message),
        )
    };
    let Some(tokens) = oauth.grant(&session.id) else {
        return again(StatusCode::CONFLICT, String::new()).await;
    };
    let Some((workspace, repo)) = fields.get("repository").split_once('/') else {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "repository: choose one of the repositories".into(),
        )
        .await;
    };
    let events = match fields.get("events_mode") {
        "list" => json!(selected),
        "push" => json!("push"),
        _ => json!("all"),
    };
    let mut body = json!({
        "workspace": workspace,
        "repo": repo,
        // Replaced below by the grant's access token (Bearer): the request reader wants one.
        "token": "oauth",
        "events": events,
        "format": {"plugin": "bitbucket-embeds"},
    });
    if fields.get("alerts") != "none" {
        body["alerts"] = json!({"plugin": "bitbucket-pipelines"});
    }
    if !fields.get("name").is_empty() {
        body["name"] = json!(fields.get("name"));
    }
    let url = fields.get("destination_url");
    if !url.is_empty() {
        body["destinations"] = json!([{"kind": fields.get("destination_kind"), "url": url}]);
    }
    let request = connect_request(body).map(|mut request| {
        request.token = BitbucketToken::bearer(tokens.access_token.clone());
        request.oauth = Some(oauth.connection(tokens));
        request
    });
    let result = match request {
        Ok(request) => bitbucket::connect(&state.services, state.bitbucket.as_ref(), request).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(endpoint) => {
            oauth.end_grant(&session.id);
            page(
                &state,
                Some(&session),
                StatusCode::OK,
                "source_connected",
                "Bitbucket connected",
                "sources",
                json!({"source": view(&state.services, &endpoint)}),
            )
        }
        Err(error @ OpsError::Store(_)) => refused_page(&state, &session, error),
        Err(error @ OpsError::Upstream { .. }) => again(error.status(), error.to_string()).await,
        Err(error) => again(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()).await,
    }
}
