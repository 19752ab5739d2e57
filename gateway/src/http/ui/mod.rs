//! `/ui/`: the web console. Server-rendered HTML (Handlebars templates and CSS compiled into the
//! binary); reading works without JavaScript, and a small script adds copy buttons, the live
//! template preview and local times. One module per page; every page uses the same operator
//! actions as the admin API (`crate::ops`).
//!
//! Sign-in takes a user's email and password, or the admin token, and starts a session
//! (`login.rs`, `session.rs`). The guard (`guard.rs`) in front of every route sends requests without a live
//! session to the sign-in page (GET, 303) or refuses them (POST, 403), refuses every POST whose
//! `csrf` field is not the session's token, and refuses (403) what the signed-in role may not
//! do (`crate::http::roles`, the same rule as the admin API's), reading a user's role again on
//! every request.

mod alerts;
mod bitbucket;
mod charts;
mod deliveries;
mod directory_pages;
mod dry_run;
mod guard;
mod inbound;
mod login;
mod maintenance;
mod overview;
mod people;
mod plugins;
mod policies;
mod schedules;
pub mod session;
mod source_form;
mod sources;
mod timeline;

use crate::config::CONSOLE_SESSION_TTL;
use crate::http::HttpState;
use crate::http::RouteRow;
use crate::http::roles::{self, Principal};
use crate::ops::OpsError;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};
use handlebars::{Handlebars, RenderErrorReason};
use serde::Deserialize;
use serde_json::{Map, Value, json};
pub use session::{Session, SessionStore};

/// What the console keeps: its templates and the sessions.
pub struct Console {
    templates: Handlebars<'static>,
    /// Signed-in operators.
    pub sessions: SessionStore,
}

/// Every page template, by name (`{{#> layout}}` wraps each page).
const TEMPLATES: &[(&str, &str)] = &[
    ("layout", include_str!("templates/layout.hbs")),
    ("login", include_str!("templates/login.hbs")),
    ("message", include_str!("templates/message.hbs")),
    ("sources", include_str!("templates/sources.hbs")),
    ("source_form", include_str!("templates/source_form.hbs")),
    ("source_secret", include_str!("templates/source_secret.hbs")),
    (
        "source_connect",
        include_str!("templates/source_connect.hbs"),
    ),
    (
        "source_connected",
        include_str!("templates/source_connected.hbs"),
    ),
    (
        "source_disconnect",
        include_str!("templates/source_disconnect.hbs"),
    ),
    ("inbound", include_str!("templates/inbound.hbs")),
    (
        "inbound_record",
        include_str!("templates/inbound_record.hbs"),
    ),
    ("alerts", include_str!("templates/alerts.hbs")),
    ("alert", include_str!("templates/alert.hbs")),
    ("deliveries", include_str!("templates/deliveries.hbs")),
    ("delivery", include_str!("templates/delivery.hbs")),
    ("plugins", include_str!("templates/plugins.hbs")),
    ("dry_run", include_str!("templates/dry_run.hbs")),
    ("overview", include_str!("templates/overview.hbs")),
    ("people_tabs", include_str!("templates/people_tabs.hbs")),
    ("form_head", include_str!("templates/form_head.hbs")),
    ("users", include_str!("templates/users.hbs")),
    ("users_form", include_str!("templates/users_form.hbs")),
    ("teams", include_str!("templates/teams.hbs")),
    ("teams_form", include_str!("templates/teams_form.hbs")),
    ("schedules", include_str!("templates/schedules.hbs")),
    (
        "schedules_form",
        include_str!("templates/schedules_form.hbs"),
    ),
    ("schedule", include_str!("templates/schedule.hbs")),
    ("policies", include_str!("templates/policies.hbs")),
    ("policies_form", include_str!("templates/policies_form.hbs")),
    ("maintenance", include_str!("templates/maintenance.hbs")),
    (
        "maintenance_form",
        include_str!("templates/maintenance_form.hbs"),
    ),
];

const STYLESHEET: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

impl Console {
    /// Compiles the templates (a broken template is a build mistake: the unit tests render
    /// every one). With `secure_cookie` (the public URL is https), the session cookie is
    /// `Secure`: a browser never sends it over plain HTTP.
    pub fn new(secure_cookie: bool) -> Result<Self, handlebars::TemplateError> {
        let mut templates = Handlebars::new();
        templates.set_strict_mode(false);
        for (name, source) in TEMPLATES {
            templates.register_template_string(name, *source)?;
        }
        templates.register_helper("time", Box::new(time_helper));
        Ok(Self {
            templates,
            sessions: SessionStore::new(CONSOLE_SESSION_TTL, secure_cookie),
        })
    }

    /// The same console, keeping its sessions in `store` (seen by every gateway on it).
    pub fn with_sessions_in(mut self, store: crate::store::SharedStore) -> Self {
        self.sessions = self.sessions.keep_in(store);
        self
    }
}

/// `{{time ms}}`: `<time datetime="ISO">UTC text</time>` (the script shows it in the browser's
/// zone), or a dash. Built from a number only, so nothing needs escaping.
fn time_helper(
    helper: &handlebars::Helper<'_>,
    _: &Handlebars<'_>,
    _: &handlebars::Context,
    _: &mut handlebars::RenderContext<'_, '_>,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    match helper.param(0).and_then(|param| param.value().as_u64()) {
        Some(ms) => out.write(&format!(
            "<time datetime=\"{}\">{} UTC</time>",
            crate::utc::utc_iso(ms),
            crate::utc::utc_text(ms)
        ))?,
        None => out.write("—")?,
    }
    Ok(())
}

/// Where the console is mounted.
pub const SCOPE: &str = "/ui";

/// Sign-in, sign-out, the home redirect and the static files.
const ROUTES: &[RouteRow] = &[
    RouteRow {
        method: Method::GET,
        path: "",
        handler: |route| route.to(home),
    },
    RouteRow {
        method: Method::GET,
        path: "/",
        handler: |route| route.to(home),
    },
    RouteRow {
        method: Method::GET,
        path: "/login",
        handler: |route| route.to(login::login_page),
    },
    RouteRow {
        method: Method::POST,
        path: "/login",
        handler: |route| route.to(login::login),
    },
    RouteRow {
        method: Method::POST,
        path: "/logout",
        handler: |route| route.to(login::logout),
    },
    RouteRow {
        method: Method::GET,
        path: "/static/console.css",
        handler: |route| route.to(stylesheet),
    },
    RouteRow {
        method: Method::GET,
        path: "/static/console.js",
        handler: |route| route.to(script),
    },
];

/// Every page's routes.
const PAGES: &[&[RouteRow]] = &[
    ROUTES,
    overview::ROUTES,
    people::USER_ROUTES,
    people::TEAM_ROUTES,
    // `/schedules/new` before `/schedules/{id}`.
    schedules::FORM_ROUTES,
    schedules::ROUTES,
    policies::ROUTES,
    maintenance::ROUTES,
    bitbucket::ROUTES,
    sources::ROUTES,
    inbound::ROUTES,
    alerts::ROUTES,
    deliveries::ROUTES,
    plugins::ROUTES,
    dry_run::ROUTES,
];

/// Every console route, paths under [`SCOPE`].
pub fn routes() -> impl Iterator<Item = &'static RouteRow> {
    PAGES.iter().flat_map(|page| page.iter())
}

/// The `/ui` scope.
pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope(SCOPE)
        .wrap(from_fn(guard::guard))
        .configure(|config| {
            for row in routes() {
                row.mount(config);
            }
        })
        .default_service(web::to(not_found))
}

/// A urlencoded form (or query) as its pairs, repeated names kept.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.trim())
    }

    /// Every value of `name`, in order, untrimmed.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Whether `name` was sent (a checked checkbox).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }
}

/// A 303 to `location` (after a POST, and for pages that need a session).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Renders a page: `data` (an object) plus `csrf`, `title` and `nav` (the active tab).
pub fn page(
    state: &HttpState,
    session: Option<&Session>,
    status: StatusCode,
    template: &str,
    title: &str,
    nav: &str,
    data: Value,
) -> HttpResponse {
    let mut context = match data {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    context.insert("title".into(), json!(title));
    context.insert("nav".into(), json!({ nav: true }));
    if let Some(session) = session {
        context.insert("csrf".into(), json!(session.csrf));
        context.insert("signed_in".into(), signed_in(&session.principal));
    }
    match state
        .console
        .templates
        .render(template, &Value::Object(context))
    {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(error) => {
            let reason = match error.reason() {
                RenderErrorReason::TemplateNotFound(name) => format!("no template {name}"),
                other => other.to_string(),
            };
            crate::http::internal_error("rendering a console page", reason)
        }
    }
}

/// Who the layout says is signed in: `{name, role, user}` (`user` false for the admin token).
fn signed_in(principal: &Principal) -> Value {
    json!({
        "name": principal.name(),
        "role": roles::role_name(principal.role()),
        "user": principal.user_id().is_some(),
    })
}

/// A page with a title and a sentence (errors, refusals).
pub fn message_page(
    state: &HttpState,
    session: Option<&Session>,
    status: StatusCode,
    title: &str,
    message: &str,
) -> HttpResponse {
    page(
        state,
        session,
        status,
        "message",
        title,
        "",
        json!({"heading": title, "message": message}),
    )
}

/// The page for a refused operator action, with the status [`OpsError`] carries: 404, 400,
/// 422, 409, an upstream's, or 500 without detail.
pub fn refused_page(state: &HttpState, session: &Session, error: OpsError) -> HttpResponse {
    let status = error.status();
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::CONFLICT => "Not possible now",
        StatusCode::INTERNAL_SERVER_ERROR => "Internal error",
        StatusCode::BAD_GATEWAY => "No answer",
        _ => "Not accepted",
    };
    let message = match &error {
        OpsError::Store(_) => {
            error.public_message();
            "The database failed; the gateway log has the detail.".to_string()
        }
        other => other.to_string(),
    };
    message_page(state, Some(session), status, title, &message)
}

/// A list page's "older" link: `path` with the query and `before` set to the cursor.
pub fn next_page_link(path: &str, filters: &[(&str, &str)], next: Option<&str>) -> Value {
    let Some(next) = next else {
        return Value::Null;
    };
    let mut url = reqwest::Url::parse("http://console.invalid/").expect("static URL");
    url.set_path(path);
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in filters.iter().filter(|(_, value)| !value.is_empty()) {
            query.append_pair(name, value);
        }
        query.append_pair("before", next);
    }
    json!(format!("{}?{}", url.path(), url.query().unwrap_or("")))
}

/// The list options of a select: `[{value, selected}]`.
pub fn options<'a>(values: impl IntoIterator<Item = &'a str>, selected: &str) -> Vec<Value> {
    values
        .into_iter()
        .map(|value| json!({"value": value, "selected": value == selected}))
        .collect()
}

async fn home() -> HttpResponse {
    see_other("/ui/sources")
}

async fn not_found(state: web::Data<HttpState>, session: Option<Session>) -> HttpResponse {
    message_page(
        &state,
        session.as_ref(),
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no console page at this address.",
    )
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}

async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_compile_escape_data_and_show_times() {
        let console = Console::new(false).expect("templates compile");
        let html = console
            .templates
            .render(
                "sources",
                &json!({
                    "title": "Sources",
                    "csrf": "token",
                    "sources": [{"id": "abc", "name": "<img src=x onerror=alert(1)>",
                                 "url": "http://h/hooks/abc", "enabled": true,
                                 "created_at": 1_709_210_096_000u64}],
                }),
            )
            .unwrap();
        assert!(
            html.contains("&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;"),
            "{html}"
        );
        assert!(!html.contains("<img src=x"));
        assert!(
            html.contains("<time datetime=\"2024-02-29T12:34:56Z\">2024-02-29 12:34:56 UTC</time>")
        );
        assert!(html.contains("name=\"csrf\" value=\"token\""));
    }

    #[test]
    fn the_overview_draws_its_charts() {
        let console = Console::new(false).expect("templates compile");
        let now = 1_709_210_096_000;
        let counts = charts::count_per_hour(now, [now, now - 1]);
        let html = console
            .templates
            .render(
                "overview",
                &json!({
                    "csrf": "token",
                    "severities": [{"severity": "critical", "count": 3}],
                    "schedules": [{"id": "sc_1", "name": "<b>primary</b>",
                                   "users": [{"id": "us_1", "name": "Ada"}], "until": now}],
                    "webhooks": charts::hourly_bars(now, &counts, "webhooks"),
                    "alerts_opened": charts::hourly_bars(now, &[0; 24], "alerts opened"),
                }),
            )
            .unwrap();
        assert!(html.contains("id=\"webhooks-chart\""), "{html}");
        assert!(html.contains("data-count=\"2\""), "{html}");
        assert!(html.contains("12:00 UTC: 2 webhooks"), "{html}");
        assert!(html.contains("&lt;b&gt;primary&lt;/b&gt;"), "{html}");
        assert!(html.contains(">Ada</a>"), "{html}");
        assert!(html.contains("<span class=\"count\">3</span>"), "{html}");
    }

    #[test]
    fn the_on_call_pages_render() {
        let console = Console::new(false).expect("templates compile");
        let render = |template: &str, data: Value| {
            console
                .templates
                .render(template, &data)
                .unwrap_or_else(|error| panic!("{template}: {error}"))
        };
        let html = render(
            "users",
            json!({"csrf": "t", "tab": {"users": true}, "users": [{"id": "us_1", "name": "Ada",
                   "role": "admin", "contacts": "ntfy", "password_set": true}]}),
        );
        assert!(html.contains("id=\"new-user\""), "{html}");
        for template in [
            "users_form",
            "teams",
            "teams_form",
            "schedules",
            "schedules_form",
            "schedule",
            "policies",
            "policies_form",
            "maintenance",
            "maintenance_form",
        ] {
            let html = render(template, json!({"csrf": "t", "editing": true, "id": "x"}));
            assert!(html.contains("</html>"), "{template}: {html}");
        }
    }

    #[test]
    fn older_links_keep_the_filters() {
        assert_eq!(
            next_page_link(
                "/ui/inbound",
                &[("status", "failed"), ("event", "")],
                Some("42")
            ),
            json!("/ui/inbound?status=failed&before=42")
        );
        assert_eq!(
            next_page_link("/ui/inbound", &[("event", "repo:push&x")], Some("7")),
            json!("/ui/inbound?event=repo%3Apush%26x&before=7")
        );
        assert_eq!(next_page_link("/ui/inbound", &[], None), Value::Null);
    }
}
