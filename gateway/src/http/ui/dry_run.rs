//! Test: a dry run of an endpoint on the provider's sample or a pasted body, showing the alert
//! actions, the message and the requests that would be sent. Nothing is stored or sent.

use super::{FormFields, Session, page, refused_page};
use crate::http::HttpState;
use crate::http::RouteRow;
use crate::ops::OpsError;
use crate::runtime::PluginKind;
use crate::store::EndpointRecord;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// This page's routes, under `/ui`.
pub const ROUTES: &[RouteRow] = &[
    RouteRow {
        method: Method::GET,
        path: "/test",
        handler: |route| route.to(form),
    },
    RouteRow {
        method: Method::POST,
        path: "/test",
        handler: |route| route.to(run),
    },
];

/// A request's headers as `[{name, value}]`, from pairs or an object.
fn header_rows(headers: &Value) -> Value {
    let row = |name: &Value, value: &Value| json!({"name": name, "value": value});
    match headers {
        Value::Array(pairs) => pairs.iter().map(|pair| row(&pair[0], &pair[1])).collect(),
        Value::Object(map) => map
            .iter()
            .map(|(name, value)| row(&json!(name), value))
            .collect(),
        _ => json!([]),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The form, with the result of a run when there is one.
fn test_page(
    state: &HttpState,
    session: &Session,
    status: StatusCode,
    chosen: (&str, &str, &str),
    result: Option<Value>,
    error: Option<String>,
) -> HttpResponse {
    let (endpoint_id, event, body) = chosen;
    let endpoints: Vec<EndpointRecord> = match crate::ops::endpoints::list(&state.services) {
        Ok(endpoints) => endpoints,
        Err(error) => return refused_page(state, session, error),
    };
    let selected = endpoints
        .iter()
        .find(|endpoint| endpoint.id == endpoint_id)
        .or(endpoints.first());
    let events: Vec<Value> = selected
        .and_then(|endpoint| {
            let plugins = crate::ops::plugins::snapshot(&state.services);
            let provider = plugins
                .get_kind(&endpoint.provider, PluginKind::Provider)
                .ok()?;
            let description = provider.description().ok()?;
            Some(
                endpoint
                    .events
                    .iter()
                    .map(|key| {
                        let has_sample = description
                            .event(key)
                            .is_some_and(|event| !event.sample.is_empty());
                        json!({"value": key, "selected": key == event, "has_sample": has_sample})
                    })
                    .collect(),
            )
        })
        .unwrap_or_default();
    let endpoint_options: Vec<Value> = endpoints
        .iter()
        .map(|endpoint| {
            json!({"value": endpoint.id, "name": endpoint.name,
                   "selected": selected.is_some_and(|s| s.id == endpoint.id)})
        })
        .collect();
    page(
        state,
        Some(session),
        status,
        "dry_run",
        "Test",
        "test",
        json!({
            "endpoints": endpoint_options,
            "events": events,
            "body": body,
            "result": result,
            "error": error,
        }),
    )
}

async fn form(
    state: web::Data<HttpState>,
    session: Session,
    query: web::Query<FormFields>,
) -> HttpResponse {
    let chosen = (query.get("endpoint"), query.get("event"), "");
    test_page(&state, &session, StatusCode::OK, chosen, None, None)
}

async fn run(
    state: web::Data<HttpState>,
    session: Session,
    fields: web::Form<FormFields>,
) -> HttpResponse {
    let endpoint = fields.get("endpoint").to_string();
    let event = fields.get("event").to_string();
    let body = fields.get("body").to_string();
    let pasted = (!body.is_empty()).then(|| body.clone());
    let result = {
        let (state, endpoint, event) = (state.clone(), endpoint.clone(), event.clone());
        web::block(move || crate::ops::dry_run::dry_run(&state.services, &endpoint, event, pasted))
            .await
    };
    let chosen = (endpoint.as_str(), event.as_str(), body.as_str());
    match result {
        Ok(Ok(run)) => {
            let requests: Vec<Value> = run["requests"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut request| {
                    let body_text = request["body"].as_str().unwrap_or("").to_string();
                    request["header_rows"] = header_rows(&request["headers"]);
                    request["body_pretty"] = json!(
                        serde_json::from_str::<Value>(&body_text)
                            .map(|body| pretty(&body))
                            .unwrap_or(body_text)
                    );
                    request
                })
                .collect();
            let actions: Vec<Value> = run["actions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|action| json!({"action": action["action"], "json": pretty(&action)}))
                .collect();
            let result = json!({
                "actions": actions,
                "outcomes": run["outcomes"],
                "message": run["message"],
                "message_pretty": (!run["message"].is_null()).then(|| pretty(&run["message"])),
                "requests": requests,
                "errors": run["errors"],
            });
            test_page(&state, &session, StatusCode::OK, chosen, Some(result), None)
        }
        Ok(Err(error @ OpsError::Store(_))) => refused_page(&state, &session, error),
        Ok(Err(error)) => test_page(
            &state,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            chosen,
            None,
            Some(error.to_string()),
        ),
        Err(error) => crate::http::internal_error("dry run", error),
    }
}
