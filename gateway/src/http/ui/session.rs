//! Console sign-ins: a random session id in an HttpOnly, SameSite=Strict cookie (`Secure` when
//! the public URL is https), with an expiry, and a CSRF token per session that every form
//! carries. Sessions are kept in the store (under the SHA-256 of their id), so they survive a
//! restart and every gateway on a shared database knows them; each process keeps those it
//! read for [`CACHED_FOR`], so a sign-out reaches the other gateways within that. A session remembers who signed in: the admin token, or a user (whose role the guard
//! reads again on every request).

use crate::http::roles::Principal;
use crate::ids::{random_hex, random_id};
use crate::oncall::people::Role;
use crate::store::{SessionRecord, SharedStore, now_ms};
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use sha2::{Digest, Sha256};
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

/// The key a session is stored under: its id is the secret the cookie carries.
fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
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

/// How long a process answers from its own copy of a session before reading it again.
pub const CACHED_FOR: Duration = Duration::from_secs(1);

/// The console's sessions: in the store when one is attached ([`SessionStore::keep_in`]),
/// else in this process only.
pub struct SessionStore {
    /// Sessions this process started or read, with when it read them.
    cached: Mutex<HashMap<String, (Instant, Session)>>,
    store: Option<SharedStore>,
    lifetime: Duration,
    secure: bool,
}

impl SessionStore {
    /// An empty store whose sessions last `lifetime`; `secure` marks its cookies `Secure`.
    pub fn new(lifetime: Duration, secure: bool) -> Self {
        Self {
            cached: Mutex::default(),
            store: None,
            lifetime,
            secure,
        }
    }

    /// The same, keeping sessions in `store`.
    pub fn keep_in(mut self, store: SharedStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Starts a session for `principal` (and forgets expired ones); `None` when the store
    /// cannot keep it.
    pub fn start(&self, principal: Principal) -> Option<Session> {
        let now = Instant::now();
        let session = Session {
            id: random_id(),
            csrf: random_hex(24),
            principal,
            expires_at: now + self.lifetime,
        };
        if let Some(store) = &self.store {
            let record = SessionRecord {
                user: session.principal.user_id().map(str::to_string),
                csrf: Some(session.csrf.clone()),
                expires_at: now_ms().saturating_add(self.lifetime.as_millis() as u64),
            };
            if let Err(error) = store.save_session(&digest(&session.id), &record) {
                tracing::error!(%error, "storing a console session");
                return None;
            }
        }
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached.retain(|_, (_, session)| session.expires_at > now);
        cached.insert(session.id.clone(), (now, session.clone()));
        Some(session)
    }

    /// The live session with this id.
    pub fn find(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        {
            let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((read_at, session)) = cached.get(id)
                && session.expires_at > now
                && (self.store.is_none() || read_at.elapsed() < CACHED_FOR)
            {
                return Some(session.clone());
            }
        }
        let store = self.store.as_ref()?;
        let record = match store.session(&digest(id), now_ms()) {
            Ok(record) => record,
            Err(error) => {
                tracing::error!(%error, "reading a console session");
                None
            }
        };
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let Some(record) = record.filter(|record| record.csrf.is_some()) else {
            cached.remove(id);
            return None;
        };
        let session = Session {
            id: id.to_string(),
            csrf: record.csrf.unwrap_or_default(),
            // A user's name and role are read again on every request (the guard's
            // `current_principal`).
            principal: match record.user {
                None => Principal::AdminToken,
                Some(user) => Principal::User {
                    id: user,
                    name: String::new(),
                    role: Role::Viewer,
                },
            },
            expires_at: now + Duration::from_millis(record.expires_at.saturating_sub(now_ms())),
        };
        cached.insert(id.to_string(), (now, session.clone()));
        Some(session)
    }

    /// Ends a session (sign-out).
    pub fn end(&self, id: &str) {
        self.cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if let Some(store) = &self.store
            && let Err(error) = store.delete_session(&digest(id))
        {
            tracing::error!(%error, "ending a console session");
        }
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
        let session = store.start(Principal::AdminToken).unwrap();
        assert!(store.find(&session.id).is_some());
        assert!(session.csrf_matches(&session.csrf.clone()));
        assert!(!session.csrf_matches("wrong"));
        assert!(!session.csrf_matches(""));
        store.end(&session.id);
        assert!(store.find(&session.id).is_none());

        let expired = SessionStore::new(Duration::ZERO, false);
        let session = expired.start(Principal::AdminToken).unwrap();
        assert!(expired.find(&session.id).is_none());
    }

    #[test]
    fn cookies_are_secure_when_the_public_url_is_https() {
        let https = SessionStore::new(Duration::from_secs(60), true);
        let session = https.start(Principal::AdminToken).unwrap();
        assert_eq!(https.cookie(&session).secure(), Some(true));
        assert_eq!(https.removal_cookie().secure(), Some(true));
        let http = SessionStore::new(Duration::from_secs(60), false);
        assert_ne!(http.cookie(&session).secure(), Some(true));
    }

    /// Two gateways on one store: a session started on one is known on the other, with its
    /// CSRF token and user; a sign-out on one ends it on the other once its copy is stale.
    #[test]
    fn a_stored_session_is_known_to_every_gateway_on_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore = std::sync::Arc::new(
            crate::store::redb::RedbStore::open(&dir.path().join("db")).unwrap(),
        );
        let one = SessionStore::new(Duration::from_secs(60), false).keep_in(store.clone());
        let other = SessionStore::new(Duration::from_secs(60), false).keep_in(store.clone());
        let user = Principal::User {
            id: "us_7".into(),
            name: "Ada".into(),
            role: Role::Admin,
        };
        let session = one.start(user).unwrap();
        let found = other.find(&session.id).expect("known on the other gateway");
        assert_eq!(found.csrf, session.csrf);
        assert_eq!(found.principal.user_id(), Some("us_7"));
        assert!(other.find("not-a-session").is_none());
        // Never stored under the id the cookie carries.
        assert!(
            store
                .session(&digest(&session.id), now_ms())
                .unwrap()
                .is_some()
        );

        one.end(&session.id);
        assert!(one.find(&session.id).is_none());
        std::thread::sleep(CACHED_FOR);
        assert!(other.find(&session.id).is_none(), "ended on every gateway");
    }
}
