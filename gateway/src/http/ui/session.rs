//! Console sign-ins: a random session id in an HttpOnly, SameSite=Strict cookie (`Secure` when
//! the public URL is https), held in memory
//! with an expiry (a restart signs everyone out), and a CSRF token per session that every form
//! carries. A session remembers who signed in: the admin token, or a user (whose role the guard
//! reads again on every request).

use crate::http::roles::Principal;
use crate::ids::{random_hex, random_id};
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use std::collections::HashMap;
use std::future::{Ready, ready};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "hookgate_session";

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie value.
    pub id: String,
    /// The token every state-changing form of this session carries.
    pub csrf: String,
    /// Who signed in.
    pub principal: Principal,
    expires_at: Instant,
}

impl Session {
    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        presented.len() == self.csrf.len()
            && bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

/// Handlers under `/ui` take the session the guard found (it answers for requests without one).
impl FromRequest for Session {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            request
                .extensions()
                .get::<Session>()
                .cloned()
                .ok_or_else(|| actix_web::error::ErrorForbidden("not signed in")),
        )
    }
}

/// The sessions of this process.
pub struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    lifetime: Duration,
    secure: bool,
}

impl SessionStore {
    /// An empty store whose sessions last `lifetime`; `secure` marks its cookies `Secure`.
    pub fn new(lifetime: Duration, secure: bool) -> Self {
        Self {
            sessions: Mutex::default(),
            lifetime,
            secure,
        }
    }

    /// Starts a session for `principal` (and forgets expired ones).
    pub fn start(&self, principal: Principal) -> Session {
        let now = Instant::now();
        let session = Session {
            id: random_id(),
            csrf: random_hex(24),
            principal,
            expires_at: now + self.lifetime,
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, session| session.expires_at > now);
        sessions.insert(session.id.clone(), session.clone());
        session
    }

    /// The live session with this id.
    pub fn find(&self, id: &str) -> Option<Session> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .get(id)
            .filter(|session| session.expires_at > Instant::now())
            .cloned()
    }

    /// Ends a session (sign-out).
    pub fn end(&self, id: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.remove(id);
    }

    /// The cookie that carries a session.
    pub fn cookie(&self, session: &Session) -> Cookie<'static> {
        Cookie::build(COOKIE, session.id.clone())
            .path("/ui")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .max_age(time::Duration::seconds(self.lifetime.as_secs() as i64))
            .finish()
    }

    /// The cookie that removes it.
    pub fn removal_cookie(&self) -> Cookie<'static> {
        let mut cookie = Cookie::build(COOKIE, "")
            .path("/ui")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .finish();
        cookie.make_removal();
        cookie
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_end() {
        let store = SessionStore::new(Duration::from_secs(60), false);
        let session = store.start(Principal::AdminToken);
        assert!(store.find(&session.id).is_some());
        assert!(session.csrf_matches(&session.csrf.clone()));
        assert!(!session.csrf_matches("wrong"));
        assert!(!session.csrf_matches(""));
        store.end(&session.id);
        assert!(store.find(&session.id).is_none());

        let expired = SessionStore::new(Duration::ZERO, false);
        let session = expired.start(Principal::AdminToken);
        assert!(expired.find(&session.id).is_none());
    }

    #[test]
    fn cookies_are_secure_when_the_public_url_is_https() {
        let https = SessionStore::new(Duration::from_secs(60), true);
        let session = https.start(Principal::AdminToken);
        assert_eq!(https.cookie(&session).secure(), Some(true));
        assert_eq!(https.removal_cookie().secure(), Some(true));
        let http = SessionStore::new(Duration::from_secs(60), false);
        assert_ne!(http.cookie(&session).secure(), Some(true));
    }
}
