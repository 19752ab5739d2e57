//! `GET /api/v1/openapi.json`: the OpenAPI 3 description of the admin API, built from the same
//! route rows the scope is mounted from (each handler's `#[utoipa::path]`). Served without the
//! token: it describes the API and holds no data. Each operation a viewer may not use says
//! which role it needs (its 403), from the same rule the middleware applies
//! (`crate::http::roles`).

use super::ApiRoute;
use crate::http::internal_error;
use crate::http::roles;
use crate::oncall::Role;
use actix_web::HttpResponse;
use serde::Serialize;
use std::sync::OnceLock;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::RefOr;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::Ref;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document's own path, one of the two admin API routes that need no token (the other is
/// `POST /sessions`).
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[ApiRoute::documented::<__path_document>(|route| {
    route.to(document)
})];

/// Every refusal's body.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorAnswer {
    /// Why, for people (it names the field at fault).
    pub error: String,
    /// The events the endpoint's provider knows, when the refusal is an unknown event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_events: Option<Vec<String>>,
}

/// The name of the bearer token's security scheme (`ApiDocument`'s `security` repeats it).
const ADMIN_TOKEN_SCHEME: &str = "admin_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookgate admin API",
        description = "Endpoints, the inbound log, alerts, deliveries, plugins and the on-call \
                       directory (users, teams, schedules, escalation policies, maintenance \
                       windows) of a hookgate gateway. Every route but this document and \
                       `POST /sessions` needs `Authorization: Bearer <token>`: the admin token \
                       (`HOOKGATE_ADMIN_TOKEN` or `<data-dir>/admin-token`), an admin, or a \
                       user's session token from `POST /sessions`, with the user's role; \
                       without one, 401. A viewer reads; a responder also acknowledges and \
                       closes alerts; an admin does everything: a role that is not enough is \
                       answered 403. Errors are `{\"error\": \"...\"}`. Lists are `{\"items\": [...], \
                       \"next\": cursor}`, newest first."
    ),
    servers((url = "/api/v1")),
    security(("admin_token" = [])),
    modifiers(&AdminTokenScheme),
    components(schemas(
        ErrorAnswer,
        super::sessions::SessionInput,
        crate::ops::endpoints::EndpointInput,
        super::endpoints::TestInput,
        crate::store::EventSelection,
        crate::store::PluginRef,
        crate::store::FormatSpec,
        crate::store::Destination,
        crate::config::RateLimit,
        crate::store::InboundStatus,
        crate::store::AlertState,
        crate::store::DeliveryStatus,
        crate::oncall::User,
        crate::oncall::Role,
        crate::oncall::ContactMethod,
        crate::oncall::ContactKind,
        crate::oncall::NotificationRule,
        crate::oncall::Team,
        crate::oncall::Schedule,
        crate::oncall::Layer,
        crate::oncall::Restriction,
        crate::oncall::Override,
        crate::oncall::EscalationPolicy,
        crate::oncall::EscalationStep,
        crate::oncall::Target,
        crate::oncall::TargetKind,
        crate::ops::maintenance::MaintenanceWindow,
    ))
)]
struct ApiDocument;

/// Declares the bearer token scheme the document's `security` names.
struct AdminTokenScheme;

impl Modify for AdminTokenScheme {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            ADMIN_TOKEN_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "the admin token, or a session token from `POST /sessions`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of every admin API route, paths relative to the `/api/v1` server.
pub fn openapi() -> Document {
    let mut document = ApiDocument::openapi();
    for (tag, route) in super::tagged_routes() {
        let mut operation = route.operation();
        operation.tags = Some(vec![tag.to_string()]);
        // Handlers say "no valid admin token"; a session token is as good.
        if let Some(RefOr::T(unauthorized)) = operation.responses.responses.get_mut("401") {
            unauthorized.description = "no valid admin token or session token".into();
        }
        for method in route.methods() {
            let full_path = format!("{}{}", super::SCOPE, route.path());
            let needed = roles::required_role(&method, &full_path);
            if needed != Role::Viewer && !super::is_public(&method, &full_path) {
                operation
                    .responses
                    .responses
                    .insert("403".into(), forbidden(needed).into());
            }
        }
        let components = document.components.get_or_insert_with(Default::default);
        for (name, schema) in route.schemas() {
            components.schemas.entry(name).or_insert(schema);
        }
        document
            .paths
            .add_path_operation(route.path(), route.openapi_methods(), operation);
    }
    document
}

/// The 403 of an operation that needs `role`.
fn forbidden(role: Role) -> Response {
    ResponseBuilder::new()
        .description(format!("this needs the {} role", roles::role_name(role)))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorAnswer")))
                .build(),
        )
        .build()
}

/// The OpenAPI 3 description of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApiDocument",
    security(()),
    responses((status = 200, description = "this document", content_type = "application/json", body = Object))
)]
async fn document() -> HttpResponse {
    static TEXT: OnceLock<Result<String, String>> = OnceLock::new();
    match TEXT.get_or_init(|| openapi().to_json().map_err(|error| error.to_string())) {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/json")
            .body(text.clone()),
        Err(error) => internal_error("rendering the OpenAPI document", error),
    }
}
