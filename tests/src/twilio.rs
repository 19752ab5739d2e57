//! A fake Twilio REST API (2010-04-01) on 127.0.0.1, for the sms and voice tests: `POST
//! /2010-04-01/Accounts/{sid}/Messages.json` and `.../Calls.json`, checking the method, the
//! path's account sid, HTTP Basic `sid:token`, and the form fields as Twilio documents them
//! (`To`, `From` and `Body`; `To`, `From` and `Twiml`), recording every call, and answering as
//! Twilio does: 201 with a message or call resource (its `sid`), and Twilio's error body
//! `{"code", "message", "more_info", "status"}` for a bad credential (401, 20003), a `To` that
//! is not a valid number (400, 21211) and, when scripted, too many requests (429, 20429).

use crate::harness::serve_fake;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde_json::json;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The account the fake knows.
pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
/// Its auth token.
pub const AUTH_TOKEN: &str = "twilio-auth-token-never-logged-7f3a";
/// The account's sending number.
pub const FROM: &str = "+15005550006";
/// A number in E.164 that Twilio refuses as `To` (its magic test number for 21211).
pub const INVALID_TO: &str = "+15005550001";

/// One request the fake got.
#[derive(Debug, Clone)]
pub struct TwilioCall {
    /// `Messages.json` or `Calls.json`.
    pub resource: String,
    /// The account sid in the path.
    pub account_sid: String,
    /// Whether the Basic credential was the account's.
    pub authenticated: bool,
    /// The form fields.
    pub form: BTreeMap<String, String>,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// What the fake answered.
    pub status: u16,
}

impl TwilioCall {
    /// A form field, `""` when absent.
    pub fn field(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }
}

#[derive(Default)]
struct FakeState {
    calls: Vec<TwilioCall>,
    /// Statuses answered to the next requests before any check (429 or 5xx), in order.
    script: VecDeque<u16>,
    created: u64,
}

/// The fake API; `url` is what `[twilio] api_url` takes.
#[derive(Clone)]
pub struct FakeTwilio {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeTwilio {
    /// Starts the fake on a free port.
    pub fn start() -> Self {
        let state: Arc<Mutex<FakeState>> = Arc::default();
        let data = web::Data::new(state.clone());
        let url = serve_fake("fake Twilio", move |routes| {
            routes
                .app_data(data.clone())
                .route(
                    "/2010-04-01/Accounts/{sid}/{resource}",
                    web::post().to(create),
                )
                .default_service(web::to(|| async {
                    twilio_error(404, 20404, "The requested resource was not found")
                }));
        });
        Self { url, state }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<TwilioCall> {
        self.state.lock().expect("fake state").calls.clone()
    }

    /// Answers the next requests with these statuses (429 or 5xx), before any check.
    pub fn script(&self, statuses: &[u16]) {
        self.state
            .lock()
            .expect("fake state")
            .script
            .extend(statuses.iter().copied());
    }
}

/// Twilio's error body.
fn twilio_error(status: u16, code: u32, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).json(
        json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        }),
    )
}

async fn create(
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<BTreeMap<String, String>>,
    state: web::Data<Arc<Mutex<FakeState>>>,
) -> HttpResponse {
    let (account_sid, resource) = path.into_inner();
    let form = form.into_inner();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    let authenticated = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        == Some(expected.as_str());
    let mut state = state.lock().expect("fake state");
    let scripted = state.script.pop_front();
    let to = form.get("To").cloned().unwrap_or_default();
    let (status, response) = if let Some(status) = scripted {
        (status, twilio_error(status, 20429, "Too Many Requests"))
    } else if !authenticated || account_sid != ACCOUNT_SID {
        (401, twilio_error(401, 20003, "Authenticate"))
    } else if let Some(problem) = form_problem(&resource, &form) {
        (400, twilio_error(400, 21604, &problem))
    } else if to == INVALID_TO || !is_e164(&to) {
        let message = format!("The 'To' number {to} is not a valid phone number.");
        (400, twilio_error(400, 21211, &message))
    } else {
        state.created += 1;
        let (prefix, what) = if resource == "Messages.json" {
            ("SM", "queued")
        } else {
            ("CA", "queued")
        };
        let sid = format!("{prefix}{:032x}", state.created);
        (
            201,
            HttpResponse::Created().json(json!({
                "sid": sid,
                "account_sid": account_sid,
                "to": to,
                "from": form.get("From"),
                "status": what,
            })),
        )
    };
    state.calls.push(TwilioCall {
        resource,
        account_sid,
        authenticated,
        form,
        idempotency_key: request
            .headers()
            .get("idempotency-key")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string),
        status,
    });
    response
}

/// What a create is missing, per resource: `From` is the account's number, and a message has
/// a `Body` of at most 1,600 characters, a call a `Twiml` document.
fn form_problem(resource: &str, form: &BTreeMap<String, String>) -> Option<String> {
    if form.get("From").map(String::as_str) != Some(FROM) {
        return Some(format!("'From' must be {FROM}"));
    }
    match resource {
        "Messages.json" => match form.get("Body") {
            Some(body) if !body.is_empty() && body.chars().count() <= 1600 => None,
            _ => Some("A 'Body' of 1 to 1600 characters is required".into()),
        },
        "Calls.json" => match form.get("Twiml") {
            Some(twiml) if twiml.starts_with("<Response>") && twiml.ends_with("</Response>") => {
                None
            }
            _ => Some("A 'Twiml' document is required".into()),
        },
        other => Some(format!("unknown resource {other}")),
    }
}

fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|byte| byte.is_ascii_digit())
    })
}
