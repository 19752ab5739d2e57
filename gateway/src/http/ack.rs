//! The page an acknowledge link opens (`/a/{token}`): the alert's title and state, and
//! Acknowledge and Close buttons that work without signing in, acting as the person the link
//! was sent to. A link whose alert closed only says so.

use super::HttpState;
use crate::ops::{OpsError, ack_links, alerts};
use crate::store::AlertState;
use actix_web::{HttpResponse, http::header::ContentType, web};
use serde::Deserialize;

/// `GET /a/{token}`.
pub async fn show(
    state: web::Data<HttpState>,
    token: web::Path<String>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    let token = token.into_inner();
    let page = crate::ops::blocking(move || {
        let (id, user) = ack_links::resolve(&services, &token)?;
        let alert = alerts::get(&services, &crate::ids::format_alert_id(id))?;
        let person = alerts::display_name(&services, &user);
        Ok(render(&alert, &person, &token, None))
    })
    .await?;
    Ok(html(page))
}

/// The form's button.
#[derive(Debug, Deserialize)]
pub struct AckForm {
    /// `acknowledge` or `close`.
    action: String,
}

/// `POST /a/{token}`: acknowledges or closes the alert as the link's person.
pub async fn act(
    state: web::Data<HttpState>,
    token: web::Path<String>,
    form: web::Form<AckForm>,
) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    let token = token.into_inner();
    let action = form.into_inner().action;
    crate::ops::blocking(move || {
        let (id, user) = ack_links::resolve(&services, &token)?;
        let alert_id = crate::ids::format_alert_id(id);
        let current = alerts::get(&services, &alert_id)?;
        if current.state == AlertState::Closed {
            return Err(OpsError::Conflict(
                "the alert is closed; this link no longer works".into(),
            ));
        }
        let done = match action.as_str() {
            "acknowledge" => alerts::acknowledge(&services, &alert_id, &user)?,
            "close" => alerts::close(&services, &alert_id, &user)?,
            other => {
                return Err(OpsError::BadRequest(format!(
                    "action: {other:?} is not acknowledge or close"
                )));
            }
        };
        tracing::info!(alert = %alert_id, %user, %action, "acted on through an acknowledge link");
        let person = alerts::display_name(&services, &user);
        Ok(render(&done, &person, &token, Some(&action)))
    })
    .await
    .map(html)
}

fn html(page: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(("cache-control", "no-store"))
        .body(page)
}

fn render(
    alert: &crate::store::AlertRecord,
    person: &str,
    token: &str,
    done: Option<&str>,
) -> String {
    let escape = |text: &str| handlebars::html_escape(text);
    let state = match alert.state {
        AlertState::Open => "open",
        AlertState::Acknowledged => "acknowledged",
        AlertState::Closed => "closed",
    };
    let note = match done {
        Some("acknowledge") => "<p class=\"done\">Acknowledged. Nobody else will be paged.</p>",
        Some(_) => "<p class=\"done\">Closed.</p>",
        None => "",
    };
    let buttons = match alert.state {
        AlertState::Closed => "<p>This alert is closed; this link no longer works.</p>".to_string(),
        AlertState::Acknowledged => format!(
            "<form method=\"post\" action=\"/a/{token}\"><button name=\"action\" value=\"close\">Close</button></form>",
            token = escape(token)
        ),
        AlertState::Open => format!(
            "<form method=\"post\" action=\"/a/{token}\">\
             <button name=\"action\" value=\"acknowledge\" class=\"primary\">Acknowledge</button> \
             <button name=\"action\" value=\"close\">Close</button></form>",
            token = escape(token)
        ),
    };
    let link = alert
        .alert
        .url
        .as_deref()
        .map(|url| format!("<p><a href=\"{0}\">{0}</a></p>", escape(url)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>hookgate: {title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}\
         button{{font-size:1.1rem;padding:.6rem 1.2rem;margin:.3rem 0}}.primary{{font-weight:bold}}\
         .done{{color:#1e8449}}</style></head><body>\
         <h1>{title}</h1><p>State: <strong id=\"state\">{state}</strong> · severity {severity} · \
         seen {count} time(s)</p>{link}{note}{buttons}\
         <p><small>For {person}. Acting here records your name.</small></p></body></html>",
        title = escape(&alert.alert.title),
        severity = alert.alert.severity.as_str(),
        count = alert.count,
        person = escape(person),
    )
}
