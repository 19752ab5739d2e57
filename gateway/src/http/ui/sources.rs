//! Sources: the endpoints with their URLs; create and edit (events, alert mapping, format,
//! destinations), rotate the secret (shown once), disable, re-enable a destination disabled
//! after consecutive failures, send one destination a test notification (then its delivery's
//! page shows the attempt), and the template preview.

use super::source_form::{DESTINATION_KINDS, SourceForm};
use super::{FormFields, Session, options, page, refused_page, see_other};
use crate::http::HttpState;
use crate::http::RouteRow;
use crate::ops::OpsError;
use crate::ops::endpoints::{self, EndpointInput, view};
use crate::runtime::{PluginKind, PluginSet};
use crate::store::{EndpointRecord, EventSelection, FormatSpec};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// This page's routes, under `/ui`.
pub const ROUTES: &[RouteRow] = &[
    RouteRow {
        method: Method::GET,
        path: "/sources",
        handler: |route| route.to(list),
    },
    RouteRow {
        method: Method::GET,
        path: "/sources/new",
        handler: |route| route.to(new_form),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/new",
        handler: |route| route.to(create),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/preview",
        handler: |route| route.to(preview),
    },
    RouteRow {
        method: Method::GET,
        path: "/sources/{id}/edit",
        handler: |route| route.to(edit_form),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/{id}/edit",
        handler: |route| route.to(change),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/{id}/rotate-secret",
        handler: |route| route.to(rotate_secret),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/{id}/disable",
        handler: |route| route.to(disable),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/{id}/destinations/{index}/enable",
        handler: |route| route.to(enable_destination),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/{id}/plugins/{name}/release",
        handler: |route| route.to(release_plugin),
    },
    RouteRow {
        method: Method::POST,
        path: "/sources/{id}/destinations/{index}/test",
        handler: |route| route.to(send_test),
    },
];

/// Plugin names of one kind.
fn names(plugins: &PluginSet, kind: PluginKind) -> Vec<String> {
    plugins
        .plugins()
        .filter(|plugin| plugin.info().kind == kind)
        .map(|plugin| plugin.info().name.clone())
        .collect()
}

/// The events a provider declares: `(key, description)`.
pub(super) fn provider_events(plugins: &PluginSet, provider: &str) -> Vec<(String, String)> {
    plugins
        .get_kind(provider, PluginKind::Provider)
        .ok()
        .and_then(|plugin| plugin.description().ok())
        .map(|description| {
            description
                .events
                .iter()
                .map(|event| (event.key.clone(), event.description.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Renders the form, with `error` when a save was refused.
fn form_page(
    state: &HttpState,
    session: &Session,
    status: StatusCode,
    form: SourceForm,
    editing: Option<&str>,
    error: Option<String>,
) -> HttpResponse {
    let plugins = crate::ops::plugins::snapshot(&state.services);
    let notifier_names = names(&plugins, PluginKind::Notifier);
    let events: Vec<Value> = provider_events(&plugins, &form.provider)
        .into_iter()
        .map(|(key, description)| {
            json!({"key": key, "description": description,
                   "checked": form.selected_events.contains(&key)})
        })
        .collect();
    let mut rows: Vec<Value> = form
        .destinations
        .iter()
        .map(|row| {
            json!({
                "url": row.url,
                "to": row.to,
                "secret_set": row.secret_set,
                "notifiers": options(notifier_names.iter().map(String::as_str), &row.notifier),
                "kinds": options(DESTINATION_KINDS, &row.kind),
            })
        })
        .collect();
    // One empty row to add a destination.
    rows.push(json!({
        "url": "",
        "notifiers": options(notifier_names.iter().map(String::as_str), "notifier"),
        "kinds": options(DESTINATION_KINDS, "discord"),
    }));
    let mut mappers = vec![String::new()];
    mappers.extend(names(&plugins, PluginKind::AlertMapper));
    let (heading, action) = match editing {
        Some(id) => (
            format!("Edit {}", form.name),
            format!("/ui/sources/{id}/edit"),
        ),
        None => ("New source".to_string(), "/ui/sources/new".to_string()),
    };
    // A connected source offers Disconnect here too.
    let bitbucket = editing
        .and_then(|id| endpoints::get(&state.services, id).ok())
        .and_then(|endpoint| endpoint.bitbucket);
    let data = json!({
        "heading": heading,
        "action": action,
        "editing": editing.is_some(),
        "source_id": editing,
        "bitbucket": bitbucket,
        "error": error,
        "providers": options(names(&plugins, PluginKind::Provider).iter().map(String::as_str), &form.provider),
        "events": events,
        "mappers": options(mappers.iter().map(String::as_str), &form.alerts_plugin),
        "formatters": options(names(&plugins, PluginKind::Formatter).iter().map(String::as_str), &form.format_plugin),
        "destination_rows": rows,
        "mode": {
            form.events_mode.clone(): true,
            format!("format_{}", form.format_mode): true,
        },
        "form": form,
    });
    page(
        state,
        Some(session),
        status,
        "source_form",
        &heading,
        "sources",
        data,
    )
}

async fn list(state: web::Data<HttpState>, session: Session) -> HttpResponse {
    let endpoints = match endpoints::list(&state.services) {
        Ok(endpoints) => endpoints,
        Err(error) => return refused_page(&state, &session, error),
    };
    let rows: Vec<Value> = endpoints
        .iter()
        .map(|endpoint| {
            let mut row = view(&state.services, endpoint);
            row["events_summary"] = json!(match &endpoint.selection {
                EventSelection::Keyword(word) => format!("{word} ({})", endpoint.events.len()),
                EventSelection::List(list) => list.join(", "),
            });
            row["format_summary"] = json!(match &endpoint.format {
                None => "—".to_string(),
                Some(FormatSpec::Plugin(format)) => format.plugin.clone(),
                Some(FormatSpec::Template { .. }) => "template".to_string(),
            });
            let disabled: Vec<Value> = row["destinations"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, destination)| !destination["disabled_at"].is_null())
                .map(|(index, destination)| {
                    json!({
                        "index": index,
                        "kind": destination["kind"],
                        "disabled_at": destination["disabled_at"],
                        "disabled_reason": destination["disabled_reason"],
                    })
                })
                .collect();
            row["disabled_destinations"] = json!(disabled);
            row["destination_list"] = json!(
                endpoint
                    .destinations
                    .iter()
                    .enumerate()
                    .map(|(index, destination)| json!({"index": index, "kind": destination.kind}))
                    .collect::<Vec<_>>()
            );
            row
        })
        .collect();
    page(
        &state,
        Some(&session),
        StatusCode::OK,
        "sources",
        "Sources",
        "sources",
        json!({"sources": rows, "bitbucket_oauth": state.bitbucket_oauth.is_some()}),
    )
}

async fn new_form(state: web::Data<HttpState>, session: Session) -> HttpResponse {
    form_page(
        &state,
        &session,
        StatusCode::OK,
        SourceForm::new_source(),
        None,
        None,
    )
}

/// The page that shows a secret, this once.
fn secret_page(
    state: &HttpState,
    session: &Session,
    endpoint: &EndpointRecord,
    secret: &str,
    heading: &str,
) -> HttpResponse {
    page(
        state,
        Some(session),
        StatusCode::OK,
        "source_secret",
        heading,
        "sources",
        json!({"heading": heading, "source": view(&state.services, endpoint), "secret": secret}),
    )
}

async fn create(
    state: web::Data<HttpState>,
    session: Session,
    fields: web::Form<FormFields>,
) -> HttpResponse {
    let mut form = SourceForm::from_fields(&fields);
    form.enabled = true;
    let input = form.to_input(None).and_then(|input| {
        serde_json::from_value::<EndpointInput>(Value::Object(input))
            .map_err(|error| format!("invalid source: {error}"))
    });
    let result = input
        .map_err(OpsError::Invalid)
        .and_then(|input| endpoints::create(&state.services, input));
    match result {
        Ok((endpoint, secret)) => {
            secret_page(&state, &session, &endpoint, &secret, "Source created")
        }
        Err(error @ OpsError::Store(_)) => refused_page(&state, &session, error),
        Err(error) => form_page(
            &state,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            None,
            Some(error.to_string()),
        ),
    }
}

async fn edit_form(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    match endpoints::get(&state.services, &id) {
        Ok(endpoint) => form_page(
            &state,
            &session,
            StatusCode::OK,
            SourceForm::from_record(&endpoint),
            Some(&endpoint.id),
            None,
        ),
        Err(error) => refused_page(&state, &session, error),
    }
}

async fn change(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
    fields: web::Form<FormFields>,
) -> HttpResponse {
    let current = match endpoints::get(&state.services, &id) {
        Ok(endpoint) => endpoint,
        Err(error) => return refused_page(&state, &session, error),
    };
    let form = SourceForm::from_fields(&fields);
    let current_config = current
        .alerts
        .as_ref()
        .filter(|alerts| alerts.plugin == form.alerts_plugin)
        .map(|alerts| &alerts.config);
    let result = form
        .to_input(current_config)
        .map_err(OpsError::Invalid)
        .and_then(|input| endpoints::change(&state.services, &id, input));
    match result {
        Ok(_) => see_other("/ui/sources"),
        Err(error @ OpsError::Store(_)) => refused_page(&state, &session, error),
        Err(error) => form_page(
            &state,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            Some(&current.id),
            Some(error.to_string()),
        ),
    }
}

async fn rotate_secret(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    match endpoints::rotate_secret(&state.services, &id) {
        Ok((endpoint, secret)) => {
            secret_page(&state, &session, &endpoint, &secret, "Secret rotated")
        }
        Err(error) => refused_page(&state, &session, error),
    }
}

async fn disable(
    state: web::Data<HttpState>,
    session: Session,
    id: web::Path<String>,
) -> HttpResponse {
    match endpoints::disable(&state.services, &id) {
        Ok(_) => see_other("/ui/sources"),
        Err(error) => refused_page(&state, &session, error),
    }
}

async fn enable_destination(
    state: web::Data<HttpState>,
    session: Session,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, index) = path.into_inner();
    let result = index
        .parse::<usize>()
        .map_err(|_| OpsError::NotFound("destination"))
        .and_then(|index| endpoints::enable_destination(&state.services, &id, index));
    match result {
        Ok(_) => see_other("/ui/sources"),
        Err(error) => refused_page(&state, &session, error),
    }
}

async fn release_plugin(
    state: web::Data<HttpState>,
    session: Session,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, name) = path.into_inner();
    match endpoints::release_plugin(&state.services, &id, &name) {
        Ok(_) => see_other("/ui/sources"),
        Err(error) => refused_page(&state, &session, error),
    }
}

/// One real test notification to the destination; then the delivery's page, with its attempt.
async fn send_test(
    state: web::Data<HttpState>,
    session: Session,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, index) = path.into_inner();
    let Ok(index) = index.parse::<usize>() else {
        return refused_page(&state, &session, OpsError::NotFound("destination"));
    };
    match crate::ops::destinations::send_test(&state.services, &id, index).await {
        Ok(deliveries) => match deliveries.first() {
            Some(delivery) => see_other(&format!(
                "/ui/deliveries/{}",
                crate::ids::format_delivery_id(delivery.id)
            )),
            None => refused_page(
                &state,
                &session,
                OpsError::Invalid("the notifier shaped nothing for this destination".into()),
            ),
        },
        Err(error) => refused_page(&state, &session, error),
    }
}

/// The live preview of a format template on the provider's sample (JSON for the script).
async fn preview(state: web::Data<HttpState>, fields: web::Form<FormFields>) -> HttpResponse {
    let provider = fields.get("provider").to_string();
    let event = fields.get("event").to_string();
    let name = fields.get("name").to_string();
    let template = fields.all("template").first().unwrap_or(&"").to_string();
    let result = web::block(move || {
        crate::ops::dry_run::preview_template(&state.services, &provider, &event, &template, &name)
    })
    .await;
    match result {
        Ok(Ok(message)) => HttpResponse::Ok().json(json!({"message": message})),
        Ok(Err(error)) => HttpResponse::Ok().json(json!({"error": error.to_string()})),
        Err(error) => crate::http::internal_error("template preview", error),
    }
}
