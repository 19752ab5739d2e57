//! Who is asking, and what their role lets them do (SPEC §12): a viewer reads; a responder
//! also acknowledges and closes alerts; an admin does everything, and the admin token is an
//! admin.
//!
//! The rule is one function, [`required_role`], from a request's method and its route
//! pattern (the path as mounted, `{name}` for a parameter, scope included) to the least role
//! that may use it. The admin API's middleware and the console's guard both apply it to every
//! request they pass, before any handler runs, so a route added later is covered by what it
//! is: a read, or a change that only an admin may make, unless it is listed here.
//!
//! A user's role is read from the store on every request ([`user_principal`]), so a changed
//! role or a deleted user takes effect at once.

use crate::oncall::Role;
use crate::ops::{OpsError, Services};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use std::future::{Ready, ready};

/// The changes a responder may make: acknowledging and closing alerts, in the API and in the
/// console.
const RESPONDER_ROUTES: &[(Method, &str)] = &[
    (Method::POST, "/api/v1/alerts/{id}/ack"),
    (Method::POST, "/api/v1/alerts/{id}/close"),
    (Method::POST, "/ui/alerts/{id}/ack"),
    (Method::POST, "/ui/alerts/{id}/close"),
];

/// The changes anyone signed in may make: ending their own session.
const OWN_SESSION_ROUTES: &[(Method, &str)] = &[
    (Method::DELETE, "/api/v1/sessions/current"),
    (Method::POST, "/ui/logout"),
];

/// The least role that may send `method` to the route `pattern` (e.g.
/// `/api/v1/alerts/{id}/ack`): reads need a viewer, acknowledging and closing alerts a
/// responder, ending one's own session anyone, and every other change an admin.
pub fn required_role(method: &Method, pattern: &str) -> Role {
    let listed = |routes: &[(Method, &str)]| {
        routes
            .iter()
            .any(|(listed, path)| listed == method && *path == pattern)
    };
    if method == Method::GET || method == Method::HEAD || listed(OWN_SESSION_ROUTES) {
        Role::Viewer
    } else if listed(RESPONDER_ROUTES) {
        Role::Responder
    } else {
        Role::Admin
    }
}

/// How much a role may do: a viewer least, an admin most.
fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Responder => 1,
        Role::Admin => 2,
    }
}

/// Whether `role` is at least `needed`.
pub fn allows(role: Role, needed: Role) -> bool {
    rank(role) >= rank(needed)
}

/// A role's name as the API spells it.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "viewer",
        Role::Responder => "responder",
        Role::Admin => "admin",
    }
}

/// The refusal of a role that is not enough: `this needs the responder role; you are a viewer`.
pub fn refusal(needed: Role, role: Role) -> String {
    let article = |role| if role == Role::Admin { "an" } else { "a" };
    format!(
        "this needs the {} role; you are {} {}",
        role_name(needed),
        article(role),
        role_name(role)
    )
}

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Whoever holds the admin token: an admin.
    AdminToken,
    /// A user who signed in with their email and password.
    User {
        /// `us_<n>`.
        id: String,
        /// Their name, as pages show it.
        name: String,
        /// Their role, as the store had it when this request came in.
        role: Role,
    },
}

impl Principal {
    /// What this principal may do.
    pub fn role(&self) -> Role {
        match self {
            Principal::AdminToken => Role::Admin,
            Principal::User { role, .. } => *role,
        }
    }

    /// The name pages show: `admin` for the admin token.
    pub fn name(&self) -> &str {
        match self {
            Principal::AdminToken => "admin",
            Principal::User { name, .. } => name,
        }
    }

    /// The user's id, for a user.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Principal::AdminToken => None,
            Principal::User { id, .. } => Some(id),
        }
    }

    /// What an alert's `acknowledged_by` / `closed_by` records when this principal acts: the
    /// user's id (as an acknowledge link records its person), or `operator` for the admin
    /// token, as the API has always recorded it.
    pub fn acts_as(&self) -> &str {
        match self {
            Principal::AdminToken => "operator",
            Principal::User { id, .. } => id,
        }
    }

    /// `None` when this principal may send `method` to `pattern`, else the refusal.
    pub fn refusal_for(&self, method: &Method, pattern: &str) -> Option<String> {
        let needed = required_role(method, pattern);
        (!allows(self.role(), needed)).then(|| refusal(needed, self.role()))
    }
}

/// Handlers behind the API's middleware or the console's guard take the principal they found.
impl FromRequest for Principal {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            request
                .extensions()
                .get::<Principal>()
                .cloned()
                .ok_or_else(|| actix_web::error::ErrorUnauthorized("not signed in")),
        )
    }
}

/// The user `us_<n>` as a principal with the role the store has now; `None` when the user is
/// gone (blocking: call from `ops::blocking`).
pub fn user_principal(services: &Services, id: &str) -> Result<Option<Principal>, OpsError> {
    Ok(
        crate::ops::people::stored_user(services, id)?.map(|stored| Principal::User {
            id: stored.id,
            name: stored.user.name,
            role: stored.user.role,
        }),
    )
}

/// The route pattern a request matched (scope included), or its path when it matched none: a
/// path is never a listed pattern, so an unmatched change needs an admin.
pub fn pattern_of(request: &actix_web::dev::ServiceRequest) -> String {
    request
        .match_pattern()
        .unwrap_or_else(|| request.path().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_a_viewer_alert_actions_a_responder_and_other_changes_an_admin() {
        for (method, pattern, needed) in [
            (Method::GET, "/api/v1/endpoints", Role::Viewer),
            (Method::HEAD, "/ui/alerts", Role::Viewer),
            (Method::POST, "/api/v1/alerts/{id}/ack", Role::Responder),
            (Method::POST, "/ui/alerts/{id}/close", Role::Responder),
            (Method::DELETE, "/api/v1/sessions/current", Role::Viewer),
            (Method::POST, "/ui/logout", Role::Viewer),
            (Method::POST, "/api/v1/inbound/{id}/replay", Role::Admin),
            (Method::PATCH, "/api/v1/users/{id}", Role::Admin),
            (Method::DELETE, "/api/v1/alerts/{id}/ack", Role::Admin),
            // An unmatched request is judged by its path, which no list names.
            (Method::POST, "/api/v1/alerts/al_1/ack", Role::Admin),
        ] {
            assert_eq!(
                required_role(&method, pattern),
                needed,
                "{method} {pattern}"
            );
        }
    }

    #[test]
    fn roles_are_ordered_and_refusals_name_both() {
        assert!(allows(Role::Admin, Role::Responder));
        assert!(allows(Role::Responder, Role::Responder));
        assert!(!allows(Role::Viewer, Role::Responder));
        assert!(!allows(Role::Responder, Role::Admin));
        assert_eq!(
            refusal(Role::Responder, Role::Viewer),
            "this needs the responder role; you are a viewer"
        );
        let responder = Principal::User {
            id: "us_1".into(),
            name: "Ada".into(),
            role: Role::Responder,
        };
        assert_eq!(
            responder.refusal_for(&Method::POST, "/api/v1/plugins/reload"),
            Some("this needs the admin role; you are a responder".into())
        );
        assert_eq!(
            responder.refusal_for(&Method::POST, "/ui/alerts/{id}/ack"),
            None
        );
        assert_eq!(responder.acts_as(), "us_1");
        assert_eq!(Principal::AdminToken.acts_as(), "operator");
        assert_eq!(
            Principal::AdminToken.refusal_for(&Method::DELETE, "/api/v1/users/{id}"),
            None
        );
    }
}
