//! `/api/v1`: the admin API. Every route but the OpenAPI document and `POST /sessions` needs
//! `Authorization: Bearer <token>`: the admin token (compared in constant time) or a user's
//! session token (`sessions.rs`), and the role the route needs (`crate::http::roles`, checked
//! here for every route before its handler runs: 403 when the role is not enough). List
//! answers are `{"items": [...], "next": cursor}`, newest first.
//!
//! Each resource module lists its routes in `ROUTES`, one [`ApiRoute`] per handler; the scope
//! is mounted from those rows and the OpenAPI document (`openapi.rs`) is built from them, so a
//! route is served and documented, or neither. Adding a route is one `#[utoipa::path]` on the
//! handler and one row.

pub mod alerts;
pub mod backup;
pub mod bitbucket;
pub mod deliveries;
pub mod endpoints;
pub mod inbound;
pub mod maintenance;
pub mod openapi;
pub mod people;
pub mod plugins;
pub mod policies;
pub mod schedules;
pub mod sessions;

use super::error_response;
use crate::http::HttpState;
use crate::ops::OpsError;
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpMessage, HttpResponse, web};
use serde::Deserialize;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{HttpMethod, RefOr, Schema};

/// Where the admin API is mounted.
pub const SCOPE: &str = "/api/v1";

/// Every resource's routes, with the tag that groups them in the OpenAPI document (and in
/// clients generated from it).
const RESOURCES: &[(&str, &[ApiRoute])] = &[
    ("meta", openapi::ROUTES),
    ("sessions", sessions::ROUTES),
    ("endpoints", endpoints::ROUTES),
    ("inbound", inbound::ROUTES),
    ("alerts", alerts::ROUTES),
    ("deliveries", deliveries::ROUTES),
    ("plugins", plugins::ROUTES),
    ("bitbucket", bitbucket::ROUTES),
    ("users", people::USER_ROUTES),
    ("teams", people::TEAM_ROUTES),
    ("schedules", schedules::ROUTES),
    ("escalation-policies", policies::ROUTES),
    ("maintenance-windows", maintenance::ROUTES),
    ("backup", backup::ROUTES),
];

/// One admin API route. Its method, path (under [`SCOPE`]) and OpenAPI operation come from the
/// handler's `#[utoipa::path]` — the `__path_<handler>` type that attribute generates — so the
/// served route and its description cannot disagree.
pub struct ApiRoute {
    methods: fn() -> Vec<HttpMethod>,
    path: fn() -> String,
    operation: fn() -> Operation,
    schemas: fn(&mut Vec<(String, RefOr<Schema>)>),
    handler: fn(actix_web::Route) -> actix_web::Route,
}

impl ApiRoute {
    /// The route `Documented` (a handler's `__path_<handler>`) describes, served by `handler`
    /// (`|route| route.to(handler)`).
    pub const fn documented<Documented: utoipa::Path + utoipa::__dev::SchemaReferences>(
        handler: fn(actix_web::Route) -> actix_web::Route,
    ) -> Self {
        Self {
            methods: Documented::methods,
            path: Documented::path,
            operation: Documented::operation,
            // The schemas its bodies name (and those they name), as `#[derive(OpenApi)]`
            // collects them for its `paths(...)`: every answer type lands in the document's
            // components without a list to keep in step.
            schemas: <Documented as utoipa::__dev::SchemaReferences>::schemas,
            handler,
        }
    }

    /// The path under [`SCOPE`], e.g. `/alerts/{id}`.
    pub fn path(&self) -> String {
        (self.path)()
    }

    /// The HTTP methods it answers.
    pub fn methods(&self) -> Vec<Method> {
        (self.methods)().into_iter().map(actix_method).collect()
    }

    /// Its OpenAPI operation.
    pub fn operation(&self) -> Operation {
        (self.operation)()
    }

    /// The schemas its request and answer bodies refer to, by name.
    pub fn schemas(&self) -> Vec<(String, RefOr<Schema>)> {
        let mut schemas = Vec::new();
        (self.schemas)(&mut schemas);
        schemas
    }

    /// The same methods, as OpenAPI names them.
    pub fn openapi_methods(&self) -> Vec<HttpMethod> {
        (self.methods)()
    }

    fn mount(&self, config: &mut web::ServiceConfig) {
        let path = self.path();
        for method in self.methods() {
            config.route(&path, (self.handler)(web::method(method)));
        }
    }
}

fn actix_method(method: HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// Every admin API route.
pub fn routes() -> impl Iterator<Item = &'static ApiRoute> {
    tagged_routes().map(|(_, route)| route)
}

/// Every route with its resource's tag.
pub fn tagged_routes() -> impl Iterator<Item = (&'static str, &'static ApiRoute)> {
    RESOURCES
        .iter()
        .flat_map(|(tag, routes)| routes.iter().map(move |route| (*tag, route)))
}

/// The scope with the token check in front of every route.
pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<EitherBody<BoxBody>>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope(SCOPE)
        .wrap(from_fn(require_token))
        .configure(|config| {
            for route in routes() {
                route.mount(config);
            }
        })
        .default_service(web::to(|| async {
            error_response(StatusCode::NOT_FOUND, "no such route")
        }))
}

/// Who may come in without a token: the API's description (it holds no data, and clients
/// fetch it to learn the API) and the sign-in that hands out session tokens.
pub(crate) fn is_public(method: &Method, path: &str) -> bool {
    (method == Method::GET && path == openapi::DOCUMENT_PATH)
        || (method == Method::POST && path == sessions::START_PATH)
}

async fn require_token(
    request: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    if is_public(request.method(), request.path()) {
        return next
            .call(request)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let Some(state) = request.app_data::<web::Data<HttpState>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError("no state"));
    };
    let peer = request.peer_addr().map(|address| address.ip());
    let principal = match sessions::authenticate(&state, peer, request.headers()).await {
        Ok(principal) => principal,
        Err(response) => return Ok(request.into_response(response).map_into_right_body()),
    };
    let pattern = crate::http::roles::pattern_of(&request);
    if let Some(refusal) = principal.refusal_for(request.method(), &pattern) {
        tracing::info!(method = %request.method(), route = %pattern, "admin API refused: {refusal}");
        let response = error_response(StatusCode::FORBIDDEN, refusal);
        return Ok(request.into_response(response).map_into_right_body());
    }
    request.extensions_mut().insert(principal);
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// `limit` and `before` of list routes.
#[derive(Debug, Deserialize)]
pub struct Paging {
    /// Page size (default 50, at most 500). Text, because query structs that flatten this
    /// one see every value as a string.
    pub limit: Option<String>,
    /// Cursor from the previous page's `next`.
    pub before: Option<String>,
}

impl Paging {
    fn limit(&self) -> usize {
        self.limit
            .as_deref()
            .and_then(|limit| limit.parse().ok())
            .unwrap_or(50)
            .clamp(1, 500)
    }

    fn before(&self) -> Option<u64> {
        self.before
            .as_deref()
            .and_then(|cursor| cursor.parse().ok())
    }
}

/// Parses an enum-valued query filter (`?status=`, `?state=`) by its serde name; a 400 with
/// `expected` when it is not one of them.
fn parse_filter<T: serde::de::DeserializeOwned>(
    text: Option<&str>,
    expected: &str,
) -> Result<Option<T>, OpsError> {
    text.map(|text| {
        serde_json::from_value(serde_json::Value::String(text.to_string()))
            .map_err(|_| OpsError::BadRequest(expected.to_string()))
    })
    .transpose()
}

/// A list answer's type: `{"items": [...], "next": cursor}`, `next` null on the last page.
macro_rules! list_page {
    ($(#[$doc:meta])* $page:ident of $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $page {
            /// This page's items, newest first.
            pub items: Vec<$item>,
            /// Pass as `before` for the next page; null on the last.
            #[schema(required = true)]
            pub next: Option<String>,
        }
    };
}
pub(crate) use list_page;

/// `{"deleted": id}`: what a delete answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletedAnswer {
    /// The id of what is gone.
    pub deleted: String,
}

/// 201 with the created resource's view.
fn created(view: impl Serialize) -> Result<HttpResponse, OpsError> {
    Ok(HttpResponse::Created().json(view))
}

/// 200 with one resource's view.
fn shown(view: impl Serialize) -> Result<HttpResponse, OpsError> {
    Ok(HttpResponse::Ok().json(view))
}

/// A whole list (the directory's lists fit one page): `{"items": [...], "next": null}`.
fn listed(items: Vec<Value>) -> Result<HttpResponse, OpsError> {
    Ok(HttpResponse::Ok().json(json!({"items": items, "next": Value::Null})))
}

/// 200 `{"deleted": id}`.
fn deleted(id: &str) -> Result<HttpResponse, OpsError> {
    Ok(HttpResponse::Ok().json(DeletedAnswer {
        deleted: id.to_string(),
    }))
}
