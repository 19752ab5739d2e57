//! A fake Bitbucket Cloud REST API 2.0 on 127.0.0.1, for the `bitbucket connect` tests: the
//! repository webhook routes (`POST /2.0/repositories/{workspace}/{repo_slug}/hooks`,
//! `DELETE .../hooks/{uid}`), checking method, path, `Authorization` and the JSON body as
//! Bitbucket documents them, recording every call, and answering with Bitbucket's shapes: a
//! `webhook_subscription` on 201, and its error body `{"type": "error", "error": {"message":
//! ..., "detail": ...}}` for a bad token (401), a token without the `webhook` scope (403) and an
//! unknown repository or webhook (404). Faults can be injected ([`FakeBitbucket::fail_next`]):
//! a 5xx, a 429 with `Retry-After`, or a request taken and never answered.

use crate::bitbucket_oauth::{BearerCheck, FakeOAuth};
use crate::harness::serve_fake;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The one repository the fake has.
pub const WORKSPACE: &str = "acme";
/// Its slug.
pub const REPO: &str = "widgets";
/// A repository access token with the `webhook` scope (Bearer).
pub const ACCESS_TOKEN: &str = "ATCTT3xFfGN0-fake-repository-access-token";
/// A username and app password with the `webhook` scope (Basic).
pub const APP_PASSWORD: &str = "hookgate-bot:ATBB-fake-app-password";
/// A valid token that lacks the `webhook` scope: 403.
pub const READ_ONLY_TOKEN: &str = "ATCTT3xFfGN0-fake-read-only-token";

/// The event keys Bitbucket Cloud accepts for repository webhooks.
const BITBUCKET_EVENTS: &[&str] = &[
    "repo:push",
    "repo:fork",
    "repo:updated",
    "repo:transfer",
    "repo:commit_comment_created",
    "repo:commit_status_created",
    "repo:commit_status_updated",
    "issue:created",
    "issue:updated",
    "issue:comment_created",
    "pullrequest:created",
    "pullrequest:updated",
    "pullrequest:changes_request_created",
    "pullrequest:changes_request_removed",
    "pullrequest:approved",
    "pullrequest:unapproved",
    "pullrequest:fulfilled",
    "pullrequest:rejected",
    "pullrequest:comment_created",
    "pullrequest:comment_updated",
    "pullrequest:comment_deleted",
    "pullrequest:comment_resolved",
    "pullrequest:comment_reopened",
];

/// One request the fake got.
#[derive(Debug, Clone)]
pub struct BitbucketCall {
    /// `POST` or `DELETE`.
    pub method: String,
    /// The path as sent (percent-encoded).
    pub raw_path: String,
    /// `workspace`, `repo_slug` and (for a delete) `uid`, decoded.
    pub workspace: String,
    /// Repository slug.
    pub repo: String,
    /// The webhook uuid of a delete, braces included.
    pub hook_uuid: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The JSON body of a create.
    pub body: Value,
    /// What the fake answered.
    pub status: u16,
}

#[derive(Default)]
struct FakeState {
    calls: Vec<BitbucketCall>,
    /// Webhooks by uuid.
    hooks: BTreeMap<String, Value>,
    created: u64,
}

/// The fake API; `url` is what `[bitbucket] api_url` takes.
#[derive(Clone)]
pub struct FakeBitbucket {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<Mutex<FakeState>>,
    /// The OAuth consumer's side (`crate::bitbucket_oauth`); its URL is `url` too.
    pub oauth: FakeOAuth,
    faults: Faults,
}

impl FakeBitbucket {
    /// Starts the fake on a free port.
    pub fn start() -> Self {
        let state: Arc<Mutex<FakeState>> = Arc::default();
        let data = web::Data::new(state.clone());
        let oauth = FakeOAuth::default();
        let oauth_routes = oauth.clone();
        let faults = Faults::default();
        let fault_data = web::Data::new(faults.clone());
        let url = serve_fake("fake Bitbucket", move |routes| {
            oauth_routes.mount(routes);
            routes
                .app_data(data.clone())
                .app_data(fault_data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024))
                .route(
                    "/2.0/repositories/{workspace}/{repo_slug}/hooks",
                    web::post().to(create_hook),
                )
                .route(
                    "/2.0/repositories/{workspace}/{repo_slug}/hooks/{uid}",
                    web::delete().to(delete_hook),
                )
                .default_service(web::to(|| async {
                    bitbucket_error(404, "Resource not found", None)
                }));
        });
        Self {
            url,
            state,
            oauth,
            faults,
        }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<BitbucketCall> {
        self.state.lock().expect("fake state").calls.clone()
    }

    /// The webhooks the repository has now.
    pub fn hooks(&self) -> Vec<Value> {
        let state = self.state.lock().expect("fake state");
        state.hooks.values().cloned().collect()
    }

    /// Deletes every webhook, as an operator might in Bitbucket's settings.
    pub fn delete_all_hooks(&self) {
        self.state.lock().expect("fake state").hooks.clear();
    }
}

/// Bitbucket's error body.
fn bitbucket_error(status: u16, message: &str, detail: Option<Value>) -> HttpResponse {
    let mut error = json!({"message": message});
    if let Some(detail) = detail {
        error["detail"] = detail;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .json(json!({"type": "error", "error": error}))
}

/// An error answer, turned into Bitbucket's error body at the end.
struct Refusal {
    status: u16,
    message: &'static str,
    detail: Option<Value>,
}

impl Refusal {
    fn new(status: u16, message: &'static str, detail: Option<Value>) -> Self {
        Self {
            status,
            message,
            detail,
        }
    }

    fn response(self) -> HttpResponse {
        bitbucket_error(self.status, self.message, self.detail)
    }
}

/// Bitbucket's answer for a request whose credential it does not take, if it does not.
fn check_credentials(request: &HttpRequest) -> Result<(), Refusal> {
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(APP_PASSWORD)
    );
    if authorization == format!("Bearer {ACCESS_TOKEN}") || authorization == basic {
        return Ok(());
    }
    if let Some(oauth) = request.app_data::<web::Data<FakeOAuth>>() {
        match oauth.check_bearer(authorization) {
            BearerCheck::Valid => return Ok(()),
            BearerCheck::Expired => {
                return Err(Refusal::new(401, "Access token expired.", None));
            }
            BearerCheck::Unknown => {}
        }
    }
    if authorization == format!("Bearer {READ_ONLY_TOKEN}") {
        return Err(Refusal::new(
            403,
            "Your credentials lack one or more required privilege scopes.",
            Some(json!({"granted": ["repository"], "required": ["webhook"]})),
        ));
    }
    Err(Refusal::new(
        401,
        "Token is invalid, expired, or not supported for this endpoint.",
        None,
    ))
}

fn repository_missing() -> Refusal {
    Refusal::new(
        404,
        "You may not have access to this repository or it no longer exists in this workspace. \
         If you think this repository exists and you have access, make sure you are \
         authenticated.",
        None,
    )
}

/// What is wrong with a create body, per Bitbucket's `webhook_subscription` schema: exactly
/// `description`, `url`, `active`, `secret` and a non-empty `events` of known keys.
fn body_problem(body: &Value) -> Option<String> {
    let Some(fields) = body.as_object() else {
        return Some("the body is not a JSON object".into());
    };
    let expected = ["active", "description", "events", "secret", "url"];
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    if keys != expected {
        return Some(format!("keys {keys:?}, expected {expected:?}"));
    }
    let text = |key: &str| fields[key].as_str().filter(|text| !text.is_empty());
    if text("description").is_none() || text("secret").is_none() {
        return Some("description and secret must be non-empty strings".into());
    }
    if !text("url").is_some_and(|url| url.starts_with("http://") || url.starts_with("https://")) {
        return Some("url: Enter a valid URL.".into());
    }
    if fields["active"] != true {
        return Some("active must be true".into());
    }
    let events = fields["events"].as_array().cloned().unwrap_or_default();
    if events.is_empty()
        || events.iter().any(|event| {
            !event
                .as_str()
                .is_some_and(|e| BITBUCKET_EVENTS.contains(&e))
        })
    {
        return Some(format!("events: invalid {events:?}"));
    }
    None
}

fn record(state: &Mutex<FakeState>, request: &HttpRequest, body: Value, status: u16) {
    let info = request.match_info();
    state.lock().expect("fake state").calls.push(BitbucketCall {
        method: request.method().to_string(),
        raw_path: request.uri().path().to_string(),
        workspace: info.get("workspace").unwrap_or("").to_string(),
        repo: info.get("repo_slug").unwrap_or("").to_string(),
        hook_uuid: info.get("uid").map(str::to_string),
        authorization: request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string),
        body,
        status,
    });
}

fn known_repository(request: &HttpRequest) -> bool {
    let info = request.match_info();
    info.get("workspace") == Some(WORKSPACE) && info.get("repo_slug") == Some(REPO)
}

async fn create_hook(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<FakeState>>>,
    faults: web::Data<Faults>,
) -> HttpResponse {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(response) = injected_fault(&faults, &state, &request, json.clone()).await {
        return response;
    }
    let answer = (|| {
        check_credentials(&request)?;
        if !known_repository(&request) {
            return Err(repository_missing());
        }
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok());
        if content_type != Some("application/json") {
            return Err(Refusal::new(
                400,
                "Bad request",
                Some(json!(format!("content type {content_type:?}"))),
            ));
        }
        if let Some(problem) = body_problem(&json) {
            return Err(Refusal::new(400, "Bad request", Some(json!(problem))));
        }
        let mut fake = state.lock().expect("fake state");
        fake.created += 1;
        let uuid = format!("{{0b1e7c0a-6ea3-47d0-bb73-{:012x}}}", fake.created);
        let mut hook = Map::new();
        hook.insert("type".into(), json!("webhook_subscription"));
        hook.insert("uuid".into(), json!(uuid));
        for key in ["url", "description", "active", "events"] {
            hook.insert(key.into(), json[key].clone());
        }
        hook.insert("subject_type".into(), json!("repository"));
        hook.insert(
            "subject".into(),
            json!({"type": "repository", "full_name": format!("{WORKSPACE}/{REPO}"),
                   "name": REPO, "uuid": "{3f0c6a9e-0d6e-4b8e-9f3a-5c1d2e4b7a10}"}),
        );
        hook.insert("created_at".into(), json!("2026-11-30T04:00:00.000000Z"));
        hook.insert("secret_set".into(), json!(true));
        let hook = Value::Object(hook);
        fake.hooks.insert(uuid, hook.clone());
        Ok(hook)
    })();
    let (response, status) = match answer {
        Ok(hook) => (HttpResponse::Created().json(hook), 201),
        Err(refusal) => {
            let status = refusal.status;
            (refusal.response(), status)
        }
    };
    record(&state, &request, json, status);
    response
}

async fn delete_hook(
    request: HttpRequest,
    state: web::Data<Arc<Mutex<FakeState>>>,
    faults: web::Data<Faults>,
) -> HttpResponse {
    if let Some(response) = injected_fault(&faults, &state, &request, Value::Null).await {
        return response;
    }
    let answer = (|| {
        check_credentials(&request)?;
        if !known_repository(&request) {
            return Err(repository_missing());
        }
        let uid = request.match_info().get("uid").unwrap_or("").to_string();
        if state
            .lock()
            .expect("fake state")
            .hooks
            .remove(&uid)
            .is_none()
        {
            return Err(Refusal::new(404, "Resource not found", None));
        }
        Ok(())
    })();
    let (response, status) = match answer {
        Ok(()) => (HttpResponse::NoContent().finish(), 204),
        Err(refusal) => {
            let status = refusal.status;
            (refusal.response(), status)
        }
    };
    record(&state, &request, Value::Null, status);
    response
}

/// A fault the fake plays instead of doing what it is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// This 5xx status, with Bitbucket's error body.
    ServerError(u16),
    /// 429 with `Retry-After: <seconds>`, as Bitbucket answers past its rate limit.
    RateLimited(u64),
    /// The request is read and never answered (the client must time out); nothing is done.
    NoAnswer,
}

/// Faults waiting for requests, by method (`POST` creates, `DELETE` deletes).
#[derive(Clone, Default)]
struct Faults(Arc<Mutex<VecDeque<(String, Fault)>>>);

impl FakeBitbucket {
    /// Plays `fault` for the next `times` requests of `method` (`POST` or `DELETE`), after
    /// any faults queued before.
    pub fn fail_next(&self, method: &str, fault: Fault, times: usize) {
        let mut faults = self.faults.0.lock().expect("faults");
        faults.extend(std::iter::repeat_n((method.to_string(), fault), times));
    }

    /// Whether every queued fault has been played.
    pub fn faults_played(&self) -> bool {
        self.faults.0.lock().expect("faults").is_empty()
    }
}

/// The status recorded for a request the fake never answered.
pub const NOT_ANSWERED: u16 = 0;

/// Plays the first fault queued for this request's method, if any: records the call and
/// answers (or, for [`Fault::NoAnswer`], never does).
async fn injected_fault(
    faults: &Faults,
    state: &Mutex<FakeState>,
    request: &HttpRequest,
    body: Value,
) -> Option<HttpResponse> {
    let fault = {
        let mut faults = faults.0.lock().expect("faults");
        let method = request.method().as_str();
        let position = faults.iter().position(|(wanted, _)| wanted == method)?;
        faults.remove(position).map(|(_, fault)| fault)?
    };
    match fault {
        Fault::ServerError(status) => {
            record(state, request, body, status);
            Some(bitbucket_error(
                status,
                "Something went wrong. We've been notified and are looking into it.",
                None,
            ))
        }
        Fault::RateLimited(seconds) => {
            record(state, request, body, 429);
            let mut response =
                bitbucket_error(429, "Rate limit for this resource has been exceeded", None);
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(seconds),
            );
            Some(response)
        }
        Fault::NoAnswer => {
            record(state, request, body, NOT_ANSWERED);
            // Longer than any client waits; the connection is dropped by the client first.
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Some(HttpResponse::GatewayTimeout().finish())
        }
    }
}
