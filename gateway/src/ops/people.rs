//! Users `us_<n>` and teams `tm_<n>` (SPEC §12): create, list, show, change, delete, and the
//! password check the console's sign-in uses.
//!
//! A password is write-only. It is hashed with argon2id (the `argon2` crate's default cost:
//! 19 MiB, 2 passes, 1 lane, a random 16-byte salt) and only the PHC string is kept, as the
//! stored body's `password_hash`; a view says `password_set` instead, and no answer or log
//! carries either. In a change, `"password": "<new>"` sets a new one, `"password": null`
//! removes it (the user can no longer sign in), and leaving it out keeps it.
//!
//! Emails are unique among users, compared without case (they are ASCII: see
//! `oncall::people`), so a sign-in name finds one user.

use super::directory::{self, Directory, input_object, invalid, merge, parse, to_body};
use super::{OpsError, Services};
use crate::oncall::{ContactMethod, NotificationRule, Password, Role, Team, User};
use crate::store::{DirectoryEntry, DirectoryKind, Store, StoreError};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

/// The stored body's key for the PHC string of the user's password.
const PASSWORD_HASH: &str = "password_hash";

/// A user read back from the store.
#[derive(Debug, Clone)]
pub struct StoredUser {
    /// `us_<n>`.
    pub id: String,
    /// The user, without a password.
    pub user: User,
    password_hash: Option<String>,
}

impl StoredUser {
    /// Whether the user has a password (and so can sign in to the console).
    pub fn password_set(&self) -> bool {
        self.password_hash.is_some()
    }
}

/// What a request says about the password: nothing, remove it, or this one.
enum PasswordInput {
    Absent,
    Removed,
    Given(Password),
}

/// Takes the password out of the input before anything else reads it, so that no parse
/// error can quote it; drops the view's `password_set`, so that a view can be sent back.
fn take_password(input: &mut Map<String, Value>) -> Result<PasswordInput, OpsError> {
    input.remove("password_set");
    match input.remove("password") {
        None => Ok(PasswordInput::Absent),
        Some(Value::Null) => Ok(PasswordInput::Removed),
        Some(Value::String(text)) => Ok(PasswordInput::Given(Password::from(text.as_str()))),
        Some(_) => Err(OpsError::Invalid("password: must be a string".into())),
    }
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) of a password.
fn hash_password(password: &Password) -> Result<String, OpsError> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| {
            OpsError::Store(StoreError::Database(format!("hashing a password: {error}")))
        })
}

/// Whether `password` is the one `phc` was made from (argon2's comparison is constant-time).
fn password_matches(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// The user in a stored entry.
fn read_user(entry: &DirectoryEntry) -> Result<StoredUser, OpsError> {
    let mut body = entry.body.as_object().cloned().unwrap_or_default();
    let password_hash = match body.remove(PASSWORD_HASH) {
        Some(Value::String(hash)) => Some(hash),
        _ => None,
    };
    let user = serde_json::from_value(Value::Object(body))
        .map_err(|error| StoreError::Corrupt(format!("user {}: {error}", entry.id)))?;
    Ok(StoredUser {
        id: entry.id.clone(),
        user,
        password_hash,
    })
}

/// The body the store keeps for a user.
fn user_body(user: &User, password_hash: Option<&str>) -> Result<Value, OpsError> {
    let mut body = to_body(user)?;
    if let (Value::Object(map), Some(hash)) = (&mut body, password_hash) {
        map.insert(PASSWORD_HASH.into(), json!(hash));
    }
    Ok(body)
}

/// 422 naming `email` when another user (not `except`) has this email already.
fn check_email_unique(
    directory: &Directory,
    email: &str,
    except: Option<&str>,
) -> Result<(), OpsError> {
    for entry in directory.of_kind(DirectoryKind::User) {
        if Some(entry.id.as_str()) == except {
            continue;
        }
        let theirs = entry.body.get("email").and_then(Value::as_str);
        if theirs.is_some_and(|theirs| theirs.eq_ignore_ascii_case(email)) {
            return Err(OpsError::Invalid(format!(
                "email: {email:?} is already the email of {}",
                entry.id
            )));
        }
    }
    Ok(())
}

/// A user `us_<n>` as the API shows it: never the password or its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserView {
    /// `us_<n>`.
    pub id: String,
    /// Shown on pages and in the console.
    pub name: String,
    /// Their own address (the console sign-in name).
    pub email: String,
    /// IANA zone the console shows their times in.
    pub time_zone: String,
    /// What they may do.
    pub role: Role,
    /// Where pages go.
    pub contact_methods: Vec<ContactMethod>,
    /// When each contact method is used after a page.
    pub notification_rules: Vec<NotificationRule>,
    /// Whether they have a password (and so can sign in to the console).
    pub password_set: bool,
    /// Created, ms.
    pub created_at: u64,
    /// Last changed, ms.
    pub updated_at: u64,
}

/// [`UserView`] of a user entry, as JSON.
pub fn user_view(entry: &DirectoryEntry) -> Result<Value, OpsError> {
    let stored = read_user(entry)?;
    let password_set = stored.password_set();
    // Every field of the type, so one added there cannot be missed here.
    let User {
        name,
        email,
        time_zone,
        role,
        contact_methods,
        notification_rules,
        password: _,
    } = stored.user;
    directory::to_json(UserView {
        id: entry.id.clone(),
        name,
        email,
        time_zone,
        role,
        contact_methods,
        notification_rules,
        password_set,
        created_at: entry.created_at,
        updated_at: entry.updated_at,
    })
}

/// One user's view.
pub fn user(services: &Services, id: &str) -> Result<Value, OpsError> {
    user_view(&directory::get(services, DirectoryKind::User, id)?)
}

/// Every user's view, newest first.
pub fn users(services: &Services) -> Result<Vec<Value>, OpsError> {
    let entries = directory::list(services, DirectoryKind::User)?;
    entries.iter().map(user_view).collect()
}

/// Creates a user; its password, if given, is hashed (blocking: call from `ops::blocking`).
pub fn create_user(services: &Services, input: Value) -> Result<Value, OpsError> {
    let mut input = input_object(DirectoryKind::User, input)?;
    let password = take_password(&mut input)?;
    let mut user: User = parse(DirectoryKind::User, input)?;
    if let PasswordInput::Given(password) = password {
        user.password = Some(password);
    }
    user.validate().map_err(invalid)?;
    let hash = user
        .take_password()
        .as_ref()
        .map(hash_password)
        .transpose()?;
    let body = user_body(&user, hash.as_deref())?;
    let entry = directory::create(services, DirectoryKind::User, |directory| {
        check_email_unique(directory, &user.email, None)?;
        Ok(body)
    })?;
    user_view(&entry)
}

/// Applies the given keys over the user and validates the whole again (blocking: a new
/// password is hashed).
pub fn update_user(services: &Services, id: &str, patch: Value) -> Result<Value, OpsError> {
    let mut patch = input_object(DirectoryKind::User, patch)?;
    let password = take_password(&mut patch)?;
    // Hashed once, before the directory's lock: it takes tens of milliseconds.
    let new_hash = match &password {
        PasswordInput::Given(password) => Some(hash_password(password)?),
        _ => None,
    };
    let entry = directory::update(services, DirectoryKind::User, id, |current, directory| {
        let stored = read_user(current)?;
        // The stored user without its hash: a `password_hash` in the change is refused as
        // an unknown field, never stored.
        let merged = merge(&to_body(&stored.user)?, patch.clone());
        let mut user: User = parse(DirectoryKind::User, merged)?;
        if let PasswordInput::Given(password) = &password {
            user.password = Some(password.clone());
        }
        user.validate().map_err(invalid)?;
        user.take_password();
        check_email_unique(directory, &user.email, Some(id))?;
        let hash = match &password {
            PasswordInput::Absent => stored.password_hash.clone(),
            PasswordInput::Removed => None,
            PasswordInput::Given(_) => new_hash.clone(),
        };
        user_body(&user, hash.as_deref())
    })?;
    user_view(&entry)
}

/// Deletes a user no team, schedule or policy names.
pub fn delete_user(services: &Services, id: &str) -> Result<(), OpsError> {
    directory::delete(services, DirectoryKind::User, id)
}

/// The user `us_<n>` as stored, or `None` when there is none (blocking).
pub fn stored_user(services: &Services, id: &str) -> Result<Option<StoredUser>, OpsError> {
    if DirectoryKind::of_id(id) != Some(DirectoryKind::User) {
        return Ok(None);
    }
    services
        .store
        .directory_entry(id)?
        .as_ref()
        .map(read_user)
        .transpose()
}

/// The user `email_or_id` names (an email, without case, or `us_<n>`) if `password` is theirs:
/// the console's sign-in. A user without a password never signs in. The work is the same
/// whether or not the user exists, so the time taken does not tell (blocking: call from
/// `ops::blocking`).
pub fn verify_password(
    services: &Services,
    email_or_id: &str,
    password: &str,
) -> Result<Option<StoredUser>, OpsError> {
    verify_password_in(&*services.store, email_or_id, password)
}

fn verify_password_in(
    store: &dyn Store,
    email_or_id: &str,
    password: &str,
) -> Result<Option<StoredUser>, OpsError> {
    let entry = if DirectoryKind::of_id(email_or_id) == Some(DirectoryKind::User) {
        store.directory_entry(email_or_id)?
    } else {
        let users = store.directory(DirectoryKind::User)?;
        users.into_iter().find(|entry| {
            (entry.body.get("email").and_then(Value::as_str))
                .is_some_and(|email| email.eq_ignore_ascii_case(email_or_id))
        })
    };
    let user = entry.as_ref().map(read_user).transpose()?;
    let hash = user.as_ref().and_then(|user| user.password_hash.clone());
    let checked_against: &str = match &hash {
        Some(hash) => hash,
        None => stand_in_hash(),
    };
    let matches = password_matches(password, checked_against);
    Ok(user.filter(|_| hash.is_some() && matches))
}

/// A hash no password is checked against for real: a sign-in for nobody verifies against it
/// so that it costs what a real one does.
fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let random = crate::ids::random_hex(16);
        hash_password(&Password::from(random.as_str())).unwrap_or_default()
    })
}

/// A team `tm_<n>` as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamView {
    /// `tm_<n>`.
    pub id: String,
    /// Shown on pages and in the console.
    pub name: String,
    /// Its users, `us_<n>`.
    pub members: Vec<String>,
    /// Created, ms.
    pub created_at: u64,
    /// Last changed, ms.
    pub updated_at: u64,
}

impl TeamView {
    /// The view of a team entry, as JSON.
    pub fn json(entry: &DirectoryEntry) -> Result<Value, OpsError> {
        // Every field of the type, so one added there cannot be missed here.
        let Team { name, members } = directory::body_of(entry)?;
        directory::to_json(Self {
            id: entry.id.clone(),
            name,
            members,
            created_at: entry.created_at,
            updated_at: entry.updated_at,
        })
    }
}

/// One team's view.
pub fn team(services: &Services, id: &str) -> Result<Value, OpsError> {
    TeamView::json(&directory::get(services, DirectoryKind::Team, id)?)
}

/// Every team's view, newest first.
pub fn teams(services: &Services) -> Result<Vec<Value>, OpsError> {
    let entries = directory::list(services, DirectoryKind::Team)?;
    entries.iter().map(TeamView::json).collect()
}

/// A team checked against the directory, as the store keeps it.
fn team_body(input: Map<String, Value>, directory: &Directory) -> Result<Value, OpsError> {
    let team: Team = parse(DirectoryKind::Team, input)?;
    team.validate(|id| directory.has(DirectoryKind::User, id))
        .map_err(invalid)?;
    to_body(&team)
}

/// Creates a team of existing users.
pub fn create_team(services: &Services, input: Value) -> Result<Value, OpsError> {
    let input = input_object(DirectoryKind::Team, input)?;
    let entry = directory::create(services, DirectoryKind::Team, |directory| {
        team_body(input, directory)
    })?;
    TeamView::json(&entry)
}

/// Applies the given keys over the team and validates the whole again.
pub fn update_team(services: &Services, id: &str, patch: Value) -> Result<Value, OpsError> {
    let patch = input_object(DirectoryKind::Team, patch)?;
    let entry = directory::update(services, DirectoryKind::Team, id, |current, directory| {
        team_body(merge(&current.body, patch.clone()), directory)
    })?;
    TeamView::json(&entry)
}

/// Deletes a team no policy names.
pub fn delete_team(services: &Services, id: &str) -> Result<(), OpsError> {
    directory::delete(services, DirectoryKind::Team, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_kept_as_argon2id_phc_strings_only() {
        let hash = hash_password(&Password::from("correct horse")).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(password_matches("correct horse", &hash));
        assert!(!password_matches("correct horsE", &hash));
        assert!(!password_matches("correct horse", "not a PHC string"));
        // Salted: the same password never hashes the same twice.
        assert_ne!(
            hash,
            hash_password(&Password::from("correct horse")).unwrap()
        );
    }

    #[test]
    fn a_view_says_whether_a_password_is_set_and_never_shows_it() {
        let user: User = serde_json::from_value(json!({
            "name": "Ada", "email": "ada@example.com", "role": "admin"
        }))
        .unwrap();
        let entry = |hash: Option<&str>| DirectoryEntry {
            kind: DirectoryKind::User,
            id: "us_1".into(),
            body: user_body(&user, hash).unwrap(),
            revision: 1,
            created_at: 5,
            updated_at: 6,
        };
        let with = entry(Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
        let view = user_view(&with).unwrap();
        assert_eq!(view["password_set"], true);
        assert!(view.get(PASSWORD_HASH).is_none());
        assert!(!view.to_string().contains("argon2"), "{view}");
        assert_eq!(view["time_zone"], "UTC");
        assert_eq!(view["id"], "us_1");
        assert!(read_user(&with).unwrap().password_set());

        let without = entry(None);
        assert_eq!(user_view(&without).unwrap()["password_set"], false);
        assert!(!read_user(&without).unwrap().password_set());
    }

    #[test]
    fn sign_in_finds_the_user_by_email_or_id_and_checks_the_password() {
        let folder = tempfile::tempdir().unwrap();
        let store = crate::store::redb::RedbStore::open(&folder.path().join("db.redb")).unwrap();
        let user = |email: &str| -> User {
            serde_json::from_value(json!({"name": "Ada", "email": email, "role": "responder"}))
                .unwrap()
        };
        let hash = hash_password(&Password::from("s3cret pass")).unwrap();
        let with_password = user_body(&user("ada@example.com"), Some(&hash)).unwrap();
        let ada = store
            .create_directory_entry(DirectoryKind::User, &with_password)
            .unwrap();
        let without = user_body(&user("bob@example.com"), None).unwrap();
        store
            .create_directory_entry(DirectoryKind::User, &without)
            .unwrap();
        let signed_in = |who: &str, password: &str| {
            verify_password_in(&store, who, password)
                .unwrap()
                .map(|user| user.id)
        };
        assert_eq!(
            signed_in("ada@example.com", "s3cret pass"),
            Some(ada.id.clone())
        );
        assert_eq!(
            signed_in("ADA@Example.com", "s3cret pass"),
            Some(ada.id.clone())
        );
        assert_eq!(signed_in(&ada.id, "s3cret pass"), Some(ada.id.clone()));
        assert_eq!(signed_in("ada@example.com", "s3cret pasS"), None);
        assert_eq!(signed_in("ada@example.com", ""), None);
        // No password, no such user, another kind's id: nobody.
        assert_eq!(signed_in("bob@example.com", ""), None);
        assert_eq!(signed_in("bob@example.com", "s3cret pass"), None);
        assert_eq!(signed_in("eve@example.com", "s3cret pass"), None);
        assert_eq!(signed_in("us_9", "s3cret pass"), None);
        assert_eq!(signed_in("tm_1", "s3cret pass"), None);
    }

    #[test]
    fn the_password_leaves_the_input_before_it_is_parsed() {
        let mut input = json!({"name": "Ada", "password": 12345678})
            .as_object()
            .cloned()
            .unwrap();
        let error = take_password(&mut input).err().unwrap();
        assert_eq!(error.to_string(), "password: must be a string");
        assert!(!input.contains_key("password"));
        let mut input = json!({"password": null}).as_object().cloned().unwrap();
        assert!(matches!(
            take_password(&mut input),
            Ok(PasswordInput::Removed)
        ));
        assert!(matches!(
            take_password(&mut input),
            Ok(PasswordInput::Absent)
        ));
    }
}
