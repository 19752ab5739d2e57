//! The OAuth 2.0 side of the fake Bitbucket Cloud ([`crate::bitbucket::FakeBitbucket`] mounts
//! it): the consent page `GET /site/oauth2/authorize` (checking `client_id` and
//! `response_type=code`; Grant access sends the browser to the consumer's callback URL with a
//! `code` and the `state`, Deny with `error=access_denied`), `POST /site/oauth2/access_token`
//! for the `authorization_code` and `refresh_token` grants (HTTP Basic with the consumer's key
//! and secret; `unauthorized_client` without it, `invalid_client` for a wrong one,
//! `invalid_grant` for a used or unknown code or a revoked refresh token), access tokens that
//! expire, and `GET /2.0/repositories?role=admin`, paginated with `next`, for a valid Bearer
//! access token only. As Bitbucket does, the callback URL is the consumer's setting, not a
//! request parameter.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The fake consumer's key.
pub const CLIENT_ID: &str = "hookgate-fake-consumer";
/// Its secret.
pub const CLIENT_SECRET: &str = "fake-consumer-secret-5b7f0e2c";
/// Every access token the fake issues starts so, for scans of logs and pages.
pub const ACCESS_TOKEN_PREFIX: &str = "fake-oauth-access-";
/// Every refresh token likewise.
pub const REFRESH_TOKEN_PREFIX: &str = "fake-oauth-refresh-";
/// The repositories the user administers, in listing order (the first is the fake's one
/// repository with webhooks, `acme/widgets`).
pub const ADMIN_REPOSITORIES: &[&str] = &["acme/widgets", "acme/gadgets", "acme/gizmos"];
/// The most repositories on one page (small, so the listing has a `next`).
const PAGE_CAP: usize = 2;
/// How long a code may wait for its exchange.
const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// One call to the token endpoint.
#[derive(Debug, Clone)]
pub struct GrantCall {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// What the fake answered.
    pub status: u16,
    /// The error of a refusal.
    pub error: Option<String>,
}

#[derive(Default)]
struct OAuthState {
    callback_url: Option<String>,
    access_token_lifetime: Option<Duration>,
    issued: u64,
    codes: HashMap<String, Instant>,
    access_tokens: BTreeMap<String, Instant>,
    refresh_tokens: BTreeSet<String>,
    grants: Vec<GrantCall>,
    /// `Authorization` headers of the repository listings, in order.
    listings: Vec<Option<String>>,
}

/// What the fake makes of a Bearer token on the API.
pub(crate) enum BearerCheck {
    /// Not one the OAuth fake issued.
    Unknown,
    /// Issued and live.
    Valid,
    /// Issued and expired (or revoked).
    Expired,
}

/// The OAuth half of the fake, shared with its handlers.
#[derive(Clone, Default)]
pub struct FakeOAuth {
    state: Arc<Mutex<OAuthState>>,
}

impl FakeOAuth {
    fn lock(&self) -> std::sync::MutexGuard<'_, OAuthState> {
        self.state.lock().expect("fake OAuth state")
    }

    /// Mounts the OAuth routes and the repository listing.
    pub(crate) fn mount(&self, routes: &mut web::ServiceConfig) {
        routes
            .app_data(web::Data::new(self.clone()))
            .route("/site/oauth2/authorize", web::get().to(consent_page))
            .route("/site/oauth2/authorize/decide", web::get().to(decide))
            .route("/site/oauth2/access_token", web::post().to(access_token))
            .route("/2.0/repositories", web::get().to(admin_repositories));
    }

    /// The consumer's callback URL, as its owner sets it in Bitbucket.
    pub fn set_callback_url(&self, url: &str) {
        self.lock().callback_url = Some(url.to_string());
    }

    /// Access tokens issued from now on last this long (Bitbucket's last two hours).
    pub fn set_access_token_lifetime(&self, lifetime: Duration) {
        self.lock().access_token_lifetime = Some(lifetime);
    }

    /// Every access token issued so far expires now.
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for expires in self.lock().access_tokens.values_mut() {
            *expires = now;
        }
    }

    /// The user takes back consent: every token issued so far stops working.
    pub fn revoke_consent(&self) {
        let mut state = self.lock();
        state.refresh_tokens.clear();
        state.access_tokens.clear();
    }

    /// Every token endpoint call so far.
    pub fn grants(&self) -> Vec<GrantCall> {
        self.lock().grants.clone()
    }

    /// Every token the fake issued (access and refresh), for scans.
    pub fn issued_tokens(&self) -> Vec<String> {
        let state = self.lock();
        state
            .access_tokens
            .keys()
            .chain(state.refresh_tokens.iter())
            .cloned()
            .collect()
    }

    /// The `Authorization` headers of the repository listing's calls.
    pub fn listings(&self) -> Vec<Option<String>> {
        self.lock().listings.clone()
    }

    /// Checks an API call's `Authorization` against the access tokens issued.
    pub(crate) fn check_bearer(&self, authorization: &str) -> BearerCheck {
        let Some(token) = authorization.strip_prefix("Bearer ") else {
            return BearerCheck::Unknown;
        };
        if !token.starts_with(ACCESS_TOKEN_PREFIX) {
            return BearerCheck::Unknown;
        }
        match self.lock().access_tokens.get(token) {
            Some(expires) if *expires > Instant::now() => BearerCheck::Valid,
            _ => BearerCheck::Expired,
        }
    }

    fn issue(&self, state: &mut OAuthState, refresh_token: Option<String>) -> Value {
        state.issued += 1;
        let access = format!("{ACCESS_TOKEN_PREFIX}{:08x}{:x}", state.issued, rand_tail());
        let lifetime = state
            .access_token_lifetime
            .unwrap_or(Duration::from_secs(7200));
        state
            .access_tokens
            .insert(access.clone(), Instant::now() + lifetime);
        let refresh = refresh_token.unwrap_or_else(|| {
            format!(
                "{REFRESH_TOKEN_PREFIX}{:08x}{:x}",
                state.issued,
                rand_tail()
            )
        });
        state.refresh_tokens.insert(refresh.clone());
        json!({
            "access_token": access,
            "scopes": "repository:admin webhook",
            "expires_in": lifetime.as_secs(),
            "token_type": "bearer",
            "state": "authorization_code",
            "refresh_token": refresh,
        })
    }
}

/// Some unpredictability in tokens (time-based is enough for a fake).
fn rand_tail() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}

fn html(status: u16, body: String) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn query(request: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(request.query_string())
        .map(|query| query.into_inner())
        .unwrap_or_default()
}

/// The consent page: what Bitbucket shows a signed-in user (the fake's user is always signed
/// in), with Grant access and Deny.
async fn consent_page(request: HttpRequest, oauth: web::Data<FakeOAuth>) -> HttpResponse {
    let query = query(&request);
    if query.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return html(400, "<h1>Invalid client_id</h1>".into());
    }
    if query.get("response_type").map(String::as_str) != Some("code") {
        return html(400, "<h1>Unsupported response_type</h1>".into());
    }
    if oauth.lock().callback_url.is_none() {
        return html(400, "<h1>This consumer has no callback URL</h1>".into());
    }
    let state = query.get("state").cloned().unwrap_or_default();
    let encoded = |decision: &str| {
        let mut url = reqwest::Url::parse("http://fake/site/oauth2/authorize/decide").unwrap();
        url.query_pairs_mut()
            .append_pair("decision", decision)
            .append_pair("state", &state);
        format!("{}?{}", url.path(), url.query().unwrap_or(""))
    };
    html(
        200,
        format!(
            "<!doctype html><title>Authorize hookgate</title><h1>hookgate wants access</h1>\
             <p>Repositories: admin; webhooks: read and write.</p>\
             <a id=\"grant\" href=\"{}\">Grant access</a> <a id=\"deny\" href=\"{}\">Deny</a>",
            encoded("grant"),
            encoded("deny")
        ),
    )
}

/// The user's choice: back to the callback URL with a code, or with `error=access_denied`.
async fn decide(request: HttpRequest, oauth: web::Data<FakeOAuth>) -> HttpResponse {
    let query = query(&request);
    let mut state = oauth.lock();
    let Some(callback) = state.callback_url.clone() else {
        return html(400, "<h1>This consumer has no callback URL</h1>".into());
    };
    let mut url = reqwest::Url::parse(&callback).expect("callback URL");
    {
        let mut pairs = url.query_pairs_mut();
        if query.get("decision").map(String::as_str) == Some("grant") {
            state.issued += 1;
            let code = format!("fake-code-{:08x}{:x}", state.issued, rand_tail());
            state.codes.insert(code.clone(), Instant::now());
            pairs.append_pair("code", &code);
        } else {
            pairs.append_pair("error", "access_denied");
            pairs.append_pair("error_description", "The user denied access.");
        }
        if let Some(given) = query.get("state").filter(|given| !given.is_empty()) {
            pairs.append_pair("state", given);
        }
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.to_string()))
        .finish()
}

fn oauth_error(status: u16, error: &str, description: &str) -> (u16, Value) {
    (
        status,
        json!({"error": error, "error_description": description}),
    )
}

async fn access_token(
    request: HttpRequest,
    body: web::Bytes,
    oauth: web::Data<FakeOAuth>,
) -> HttpResponse {
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let form: HashMap<String, String> = std::str::from_utf8(&body)
        .ok()
        .and_then(|text| web::Query::<HashMap<String, String>>::from_query(text).ok())
        .map(|form| form.into_inner())
        .unwrap_or_default();
    let grant_type = form.get("grant_type").cloned().unwrap_or_default();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let mut state = oauth.lock();
    let (status, answer) = match authorization.as_deref() {
        None => oauth_error(
            400,
            "unauthorized_client",
            "Client credentials missing; this request needs to be authenticated with the \
             OAuth client id and secret.",
        ),
        Some(given) if given != basic => {
            oauth_error(401, "invalid_client", "Invalid OAuth client credentials")
        }
        Some(_) => match grant_type.as_str() {
            "authorization_code" => {
                let code = form.get("code").cloned().unwrap_or_default();
                match state.codes.remove(&code) {
                    Some(issued) if issued.elapsed() < CODE_LIFETIME => {
                        (200, oauth.issue(&mut state, None))
                    }
                    _ => oauth_error(400, "invalid_grant", "The authorization code is invalid."),
                }
            }
            "refresh_token" => {
                let refresh = form.get("refresh_token").cloned().unwrap_or_default();
                if state.refresh_tokens.contains(&refresh) {
                    // Bitbucket keeps the refresh token and issues a new access token.
                    (200, oauth.issue(&mut state, Some(refresh)))
                } else {
                    oauth_error(400, "invalid_grant", "Invalid refresh_token")
                }
            }
            _ => oauth_error(400, "unsupported_grant_type", "Unsupported grant type"),
        },
    };
    state.grants.push(GrantCall {
        grant_type,
        authorization,
        status,
        error: answer["error"].as_str().map(str::to_string),
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).json(answer)
}

/// `GET /2.0/repositories?role=admin[&page=n]`: the user's repositories, [`PAGE_CAP`] a page.
async fn admin_repositories(request: HttpRequest, oauth: web::Data<FakeOAuth>) -> HttpResponse {
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    oauth.lock().listings.push(authorization.clone());
    let refuse = |status: u16, message: &str| {
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
            .json(json!({"type": "error", "error": {"message": message}}))
    };
    match oauth.check_bearer(authorization.as_deref().unwrap_or("")) {
        BearerCheck::Valid => {}
        BearerCheck::Expired => return refuse(401, "Access token expired."),
        BearerCheck::Unknown => {
            return refuse(
                401,
                "Token is invalid, expired, or not supported for this endpoint.",
            );
        }
    }
    let query = query(&request);
    if query.get("role").map(String::as_str) != Some("admin") {
        return refuse(400, "this fake lists role=admin only");
    }
    let pagelen = query
        .get("pagelen")
        .and_then(|len| len.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(1, PAGE_CAP);
    let page = query
        .get("page")
        .and_then(|page| page.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let start = (page - 1) * pagelen;
    let values: Vec<Value> = ADMIN_REPOSITORIES
        .iter()
        .skip(start)
        .take(pagelen)
        .map(|full_name| {
            let (workspace, slug) = full_name.split_once('/').unwrap();
            json!({"type": "repository", "full_name": full_name, "slug": slug,
                   "name": slug, "workspace": {"type": "workspace", "slug": workspace}})
        })
        .collect();
    let mut answer = json!({"pagelen": pagelen, "page": page, "size": ADMIN_REPOSITORIES.len(),
                            "values": values});
    if start + pagelen < ADMIN_REPOSITORIES.len() {
        let host = request.connection_info().host().to_string();
        answer["next"] = json!(format!(
            "http://{host}/2.0/repositories?role=admin&pagelen={pagelen}&page={}",
            page + 1
        ));
    }
    HttpResponse::Ok().json(answer)
}
