//! Every read and write an operator can do, shared by the admin API (`http::api`, JSON), the
//! web console (`http::ui`, HTML) and so the CLI: one file per resource. Handlers parse, call
//! one function here, and render; the views the API and the console show are built here once.
//! Each refusal is an [`OpsError`], which carries its HTTP status.

pub mod ack_links;
pub mod alerts;
pub mod backup;
pub mod bitbucket;
pub mod bitbucket_oauth;
pub mod deliveries;
pub mod destinations;
pub mod directory;
pub mod dry_run;
pub mod endpoints;
pub mod health;
pub mod inbound;
pub mod maintenance;
pub mod people;
pub mod plugins;
pub mod policies;
pub mod schedules;

use crate::config::ValidatedConfig;
use crate::delivery::Outbox;
use crate::http::api::openapi::ErrorAnswer;
use crate::metrics::Metrics;
use crate::pipeline::ProcessingQueue;
use crate::runtime::PluginRegistry;
use crate::store::{SharedStore, StoreError};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::sync::Arc;

/// What the gateway's workers and operator actions share, whatever the storage backend:
/// built by `server.rs`, which only composes.
pub struct Services {
    /// Validated configuration.
    pub config: ValidatedConfig,
    /// The storage backend.
    pub store: SharedStore,
    /// Loaded plugins.
    pub registry: Arc<PluginRegistry>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Records waiting for processing: appends, the backlog count, the worker's wake-up.
    pub queue: Arc<ProcessingQueue>,
    /// The outbox's wake-up.
    pub outbox: Arc<Outbox>,
    /// Held by every write to the on-call directory (and by endpoint writes that name an
    /// escalation policy), so that a write's checks and the write see the same directory: a
    /// delete never races a create that names what it deletes, and two users never get one
    /// email. Never held across hashing or other slow work.
    pub directory_writes: std::sync::Mutex<()>,
}

/// Why an operator action was refused. Its status is [`OpsError::status`]; as an actix
/// [`ResponseError`] it answers JSON `{"error": ...}` (a 500 without detail, logged).
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// No such record (`what` names the kind): 404.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The request is malformed (a filter value, say): 400.
    #[error("{0}")]
    BadRequest(String),
    /// The input is not acceptable: 422.
    #[error("{0}")]
    Invalid(String),
    /// An event key the provider does not know: 422, with the valid ones.
    #[error("{message}")]
    UnknownEvent {
        /// What is wrong.
        message: String,
        /// The provider's event keys.
        valid_events: Vec<String>,
    },
    /// The record is not in a state that allows the action: 409.
    #[error("{0}")]
    Conflict(String),
    /// An upstream service (Bitbucket) refused: its status is given (404, 422 or 502).
    #[error("{message}")]
    Upstream {
        /// The status to answer.
        status: StatusCode,
        /// What it said.
        message: String,
    },
    /// The database failed: 500, detail logged only.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OpsError {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) | Self::UnknownEvent { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Upstream { status, .. } => *status,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What a person may be shown: the message, or "internal error" for a store failure
    /// (whose detail goes to the log).
    pub fn public_message(&self) -> String {
        match self {
            Self::Store(error) => {
                tracing::error!(%error, "store");
                "internal error".into()
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for OpsError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Self::UnknownEvent {
                message,
                valid_events,
            } => ErrorAnswer {
                error: message.clone(),
                valid_events: Some(valid_events.clone()),
            },
            other => ErrorAnswer {
                error: other.public_message(),
                valid_events: None,
            },
        };
        HttpResponse::build(self.status()).json(body)
    }
}

/// Runs blocking store or plugin work off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OpsError> + Send + 'static,
) -> Result<T, OpsError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        OpsError::Store(StoreError::Database(format!("a worker thread: {error}")))
    })?
}
