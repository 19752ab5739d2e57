//! What every gateway on a shared database must see alike: sign-in sessions and the plugins
//! uploaded through the API.

use serde::{Deserialize, Serialize};

/// A console or API session, stored under the SHA-256 of its secret (the cookie or the
/// bearer token), never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The user who signed in (`us_<n>`); `None` for the admin token.
    pub user: Option<String>,
    /// The CSRF token every form of a console session carries; `None` for an API session.
    pub csrf: Option<String>,
    /// When it ends (ms since the epoch).
    pub expires_at: u64,
}

/// A plugin uploaded through `POST /api/v1/plugins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPlugin {
    /// Its file name without `.wasm`.
    pub name: String,
    /// The SHA-256 of the component, hex: what tells a gateway its copy is current.
    pub digest: String,
    /// When it was stored (ms since the epoch).
    pub stored_at: u64,
    /// The component; empty in listings.
    #[serde(skip)]
    pub wasm: Vec<u8>,
}
