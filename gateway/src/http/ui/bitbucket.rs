//! Connect Bitbucket: a form (workspace, repository, access token, events) that creates a
//! source and registers its webhook in the repository, and the Disconnect form of a connected
//! source. The token is used for the one call: it is never stored, and never rendered back
//! into a page, not even when the form comes back with an error. A source connected with OAuth
//! (`bitbucket_oauth.rs`) disconnects with one click: its stored tokens are used.

use super::sources::provider_events;
use super::{FormFields, Session, page, refused_page, see_other};
use crate::bitbucket::BitbucketToken;
use crate::http::HttpState;
use crate::http::RouteRow;
use crate::http::bitbucket_request::connect_request;
use crate::ops::endpoints::{self, view};
use crate::ops::{OpsError, bitbucket, bitbucket_oauth};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// This page's routes, under `/ui`.
pub const ROUTES: &[RouteRow] = &[
    RouteRow {
        method: Method::GET,
        path: "/sources/connect",
        handler: |route| route.to(connect_form),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/connect",
        handler: |route| route.to(connect),
    },
    RouteRow {
        method: Method::GET,
        path: "/sources/{id}/disconnect",
        handler: |route| route.to(disconnect_form),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/{id}/disconnect",
        handler: |route| route.to(disconnect),
    },
];

/// The connect form's fields as typed (the token is left out on purpose).
fn form_values(fields: &FormFields) -> Value {
    json!({
        "name": fields.get("name"),
        "workspace": fields.get("workspace"),
        "repo": fields.get("repo"),
        "events_mode": fields.get("events_mode"),
    })
}

fn connect_page(
    state: &HttpState,
    session: &Session,
    status: StatusCode,
    form: Value,
    selected: &[&str],
    error: Option<String>,
) -> HttpResponse {
    let plugins = crate::ops::plugins::snapshot(&state.services);
    let events: Vec<Value> = provider_events(&plugins, "bitbucket")
        .into_iter()
        .map(|(key, description)| {
            json!({"key": key, "description": description,
                   "checked": selected.contains(&key.as_str())})
        })
        .collect();
    let mode = form["events_mode"].as_str().unwrap_or("").to_string();
    let mode = if mode.is_empty() { "all".into() } else { mode };
    page(
        state,
        Some(session),
        status,
        "source_connect",
        "Connect Bitbucket",
        "sources",
        json!({"form": form, "events": events, "mode": {mode: true}, "error": error}),
    )
}

async fn connect_form(state: web::Data<HttpState>, session: Session) -> HttpResponse {
    connect_page(&state, &session, StatusCode::OK, json!({}), &[], None)
}

/// Creates the source with the console's defaults for a new source (AlertOps' pipeline
/// mapping and the embeds formatter) and registers its webhook.
async fn connect(
    state: web::Data<HttpState>,
    session: Session,
    fields: web::Form<FormFields>,
) -> HttpResponse {
    let selected = fields.all("event");
    let events = match fields.get("events_mode") {
        "list" => json!(selected),
        "push" => json!("push"),
        _ => json!("all"),
    };
    let mut body = json!({
        "workspace": fields.get("workspace"),
        "repo": fields.get("repo"),
        "token": fields.get("token"),
        "events": events,
        "alerts": {"plugin": "bitbucket-pipelines"},
        "format": {"plugin": "bitbucket-embeds"},
    });
    if !fields.get("name").is_empty() {
        body["name"] = json!(fields.get("name"));
    }
    let result = match connect_request(body) {
        Ok(request) => bitbucket::connect(&state.services, state.bitbucket.as_ref(), request).await,
        Err(error) => Err(error),
    };
    let (status, message) = match result {
        Ok(endpoint) => {
            return page(
                &state,
                Some(&session),
                StatusCode::OK,
                "source_connected",
                "Bitbucket connected",
                "sources",
                json!({"source": view(&state.services, &endpoint)}),
            );
        }
        Err(error @ OpsError::Store(_)) => return refused_page(&state, &session, error),
        Err(error @ OpsError::Upstream { .. }) => (error.status(), error.to_string()),
        Err(error) => (StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
    };
    connect_page(
        &state,
        &session,
        status,
        form_values(&fields),
        &selected,
        Some(message),
    )
}

fn disconnect_page(
    state: &HttpState,
    session: &Session,
    status: StatusCode,
    id: &str,
    error: Option<String>,
) -> HttpResponse {
    let endpoint = match endpoints::get(&state.services, id) {
        Ok(endpoint) => endpoint,
        Err(error) => return refused_page(state, session, error),
    };
    if endpoint.bitbucket.is_none() {
        return refused_page(
            state,
            session,
            OpsError::Conflict(format!(
                "{} is not connected to a Bitbucket repository",
                endpoint.name
            )),
        );
    }
    page(
        state,
        Some(session),
        status,
        "source_disconnect",
        "Disconnect Bitbucket",
        "sources",
        json!({"source": view(&state.services, &endpoint), "error": error}),
    )
}

async fn disconnect_form(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    disconnect_page(&state, &session, StatusCode::OK, &id, None)
}

async fn disconnect(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
    fields: web::Form<FormFields>,
) -> HttpResponse {
    let token = fields.get("token");
    let oauth_connected = endpoints::get(&state.services, &id)
        .is_ok_and(|endpoint| endpoint.bitbucket.is_some_and(|link| link.oauth));
    if token.is_empty() && oauth_connected {
        // One click: the stored tokens delete the webhook.
        return match bitbucket_oauth::disconnect_stored(
            &state.services,
            state.bitbucket.as_ref(),
            state.bitbucket_oauth.as_deref(),
            &id,
        )
        .await
        {
            Ok(_) => see_other("/ui/sources"),
            Err(error @ (OpsError::Upstream { .. } | OpsError::Conflict(_))) => disconnect_page(
                &state,
                &session,
                error.status(),
                &id,
                Some(error.to_string()),
            ),
            Err(error) => refused_page(&state, &session, error),
        };
    }
    if token.is_empty() {
        let message = "the Bitbucket token is required to delete the webhook";
        return disconnect_page(
            &state,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            &id,
            Some(message.into()),
        );
    }
    let token = BitbucketToken::new(token);
    match bitbucket::disconnect(&state.services, state.bitbucket.as_ref(), &id, &token).await {
        Ok(_) => see_other("/ui/sources"),
        Err(error @ OpsError::Upstream { .. }) => disconnect_page(
            &state,
            &session,
            error.status(),
            &id,
            Some(error.to_string()),
        ),
        Err(error) => refused_page(&state, &session, error),
    }
}
