//! What `hookgate storage copy` moves from one store to another: every kind of record a store
//! keeps, each as it is (ids, revisions, times), plus what ties them together (the counters
//! that hand out ids, the request-UUID index, which records are queued). Indexes that follow
//! from the records themselves (open alerts, due timers) are rebuilt by the backend writing
//! them.

use super::{
    AlertRecord, DeliveryRecord, DestinationHealth, DirectoryEntry, EndpointRecord, InboundRecord,
    SessionRecord, StoredPlugin,
};
use std::collections::BTreeMap;

/// A kind of stored record, in the order a copy writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    /// The next id of each record kind.
    Counter,
    /// The gateway's named secret keys (what signs acknowledgement links).
    SecretKey,
    Endpoint,
    /// Users, teams, schedules, escalation policies, maintenance windows.
    DirectoryEntry,
    /// The inbound log, bodies included, each with whether it waits for processing.
    Inbound,
    /// The request-UUID index of accepted records (repeat detection).
    RequestId,
    Alert,
    Delivery,
    DestinationHealth,
    BitbucketConnection,
    Session,
    Plugin,
}

impl RecordKind {
    /// Every kind, in copy order.
    pub const ALL: [RecordKind; 12] = [
        RecordKind::Counter,
        RecordKind::SecretKey,
        RecordKind::Endpoint,
        RecordKind::DirectoryEntry,
        RecordKind::Inbound,
        RecordKind::RequestId,
        RecordKind::Alert,
        RecordKind::Delivery,
        RecordKind::DestinationHealth,
        RecordKind::BitbucketConnection,
        RecordKind::Session,
        RecordKind::Plugin,
    ];

    /// What an operator reads in the copy's report.
    pub fn label(self) -> &'static str {
        match self {
            RecordKind::Counter => "id counters",
            RecordKind::SecretKey => "secret keys",
            RecordKind::Endpoint => "endpoints",
            RecordKind::DirectoryEntry => "on-call directory entries",
            RecordKind::Inbound => "inbound records",
            RecordKind::RequestId => "request ids",
            RecordKind::Alert => "alerts",
            RecordKind::Delivery => "deliveries",
            RecordKind::DestinationHealth => "destination health rows",
            RecordKind::BitbucketConnection => "Bitbucket connections",
            RecordKind::Session => "sessions",
            RecordKind::Plugin => "stored plugins",
        }
    }

    /// Whether a store that holds records of this kind already has an installation in it. A
    /// gateway started once on an empty database makes counters and secret keys on its own;
    /// a copy replaces those with the source's.
    pub fn is_installation(self) -> bool {
        !matches!(self, RecordKind::Counter | RecordKind::SecretKey)
    }
}

/// One copied record.
#[derive(Debug, Clone, PartialEq)]
pub enum CopiedRecord {
    Counter {
        name: String,
        next: u64,
    },
    SecretKey {
        name: String,
        key: Vec<u8>,
    },
    Endpoint(Box<EndpointRecord>),
    DirectoryEntry(DirectoryEntry),
    /// With its body.
    Inbound {
        record: Box<InboundRecord>,
        queued: bool,
    },
    RequestId {
        endpoint: String,
        request_uuid: String,
        inbound_id: u64,
    },
    Alert(Box<AlertRecord>),
    Delivery(Box<DeliveryRecord>),
    DestinationHealth {
        endpoint: String,
        destination: usize,
        health: DestinationHealth,
    },
    BitbucketConnection {
        endpoint: String,
        sealed: Vec<u8>,
    },
    Session {
        digest: [u8; 32],
        session: SessionRecord,
    },
    /// With its component.
    Plugin(StoredPlugin),
}

/// Where a page of one kind resumes: the key of the last record of the previous page. Each
/// backend pages in its own key order and reads the cursor the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyKey {
    Number(u64),
    Text(String),
    Pair(String, String),
    Bytes(Vec<u8>),
}

impl CopiedRecord {
    pub fn kind(&self) -> RecordKind {
        match self {
            CopiedRecord::Counter { .. } => RecordKind::Counter,
            CopiedRecord::SecretKey { .. } => RecordKind::SecretKey,
            CopiedRecord::Endpoint(_) => RecordKind::Endpoint,
            CopiedRecord::DirectoryEntry(_) => RecordKind::DirectoryEntry,
            CopiedRecord::Inbound { .. } => RecordKind::Inbound,
            CopiedRecord::RequestId { .. } => RecordKind::RequestId,
            CopiedRecord::Alert(_) => RecordKind::Alert,
            CopiedRecord::Delivery(_) => RecordKind::Delivery,
            CopiedRecord::DestinationHealth { .. } => RecordKind::DestinationHealth,
            CopiedRecord::BitbucketConnection { .. } => RecordKind::BitbucketConnection,
            CopiedRecord::Session { .. } => RecordKind::Session,
            CopiedRecord::Plugin(_) => RecordKind::Plugin,
        }
    }

    /// The cursor of the page after this record.
    pub fn key(&self) -> CopyKey {
        match self {
            CopiedRecord::Counter { name, .. }
            | CopiedRecord::SecretKey { name, .. }
            | CopiedRecord::Plugin(StoredPlugin { name, .. }) => CopyKey::Text(name.clone()),
            CopiedRecord::Endpoint(endpoint) => CopyKey::Text(endpoint.id.clone()),
            CopiedRecord::DirectoryEntry(entry) => CopyKey::Text(entry.id.clone()),
            CopiedRecord::BitbucketConnection { endpoint, .. } => CopyKey::Text(endpoint.clone()),
            CopiedRecord::Inbound { record, .. } => CopyKey::Number(record.id),
            CopiedRecord::Alert(alert) => CopyKey::Number(alert.id),
            CopiedRecord::Delivery(delivery) => CopyKey::Number(delivery.id),
            CopiedRecord::RequestId {
                endpoint,
                request_uuid,
                ..
            } => CopyKey::Pair(endpoint.clone(), request_uuid.clone()),
            CopiedRecord::DestinationHealth {
                endpoint,
                destination,
                ..
            } => CopyKey::Pair(endpoint.clone(), destination.to_string()),
            CopiedRecord::Session { digest, .. } => CopyKey::Bytes(digest.to_vec()),
        }
    }
}

/// How many records of each kind a store holds (kinds it holds none of may be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordCounts(pub BTreeMap<RecordKind, u64>);

impl RecordCounts {
    pub fn of(&self, kind: RecordKind) -> u64 {
        self.0.get(&kind).copied().unwrap_or(0)
    }
}
