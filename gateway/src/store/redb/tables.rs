//! Every redb table, in one place. Values are JSON (serde) so records can grow fields without
//! a migration; keys are what the queries need to range over.

use redb::TableDefinition;

/// Endpoint id → endpoint record.
pub const ENDPOINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("endpoints");
/// Inbound sequence number → inbound record. Sequence order is arrival order.
pub const INBOUND: TableDefinition<u64, &[u8]> = TableDefinition::new("inbound");
/// Inbound sequence → the raw body, apart from the record: processing rewrites the small
/// record (status, outcomes) and never the body, and listing the log never reads bodies.
pub const INBOUND_BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("inbound_bodies");
/// `endpoint \n X-Request-UUID` → inbound sequence, for accepted records (repeat detection).
pub const INBOUND_BY_REQUEST: TableDefinition<&str, u64> =
    TableDefinition::new("inbound_by_request");
/// Inbound sequences of rejected records, so retention counts and prunes them apart from the
/// others without reading the log.
pub const INBOUND_REJECTED: TableDefinition<u64, ()> = TableDefinition::new("inbound_rejected");
/// `(endpoint, sequence)` of every settled inbound record (one no longer in the processing
/// queue): the endpoint filter of the log reads only its own records. A queued record is
/// pending by definition and a filtered page finds it through the queue, so ingest's commit
/// writes none of these four trees: a record is indexed once, when processing settles it, by
/// the write that settles it (and unindexed by requeue and prune, in their own writes).
pub const INBOUND_BY_ENDPOINT: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("settled_by_endpoint");
/// `(endpoint, status, sequence)`: the endpoint and status filters together (`failed` of one
/// endpoint) read only matching records.
pub const INBOUND_BY_ENDPOINT_STATUS: TableDefinition<(&str, &str, u64), ()> =
    TableDefinition::new("settled_by_endpoint_status");
/// `(status, sequence)`: the status filter alone.
pub const INBOUND_BY_STATUS: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("settled_by_status");
/// `(event key, sequence)` of records with an event key: the event filter alone.
pub const INBOUND_BY_EVENT: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("settled_by_event");
/// The names of the filter indexes before they left queued records out (they indexed every
/// record at append): a file that has them is reindexed once at open and they are dropped.
pub const FORMER_FILTER_INDEXES: [&str; 4] = [
    "inbound_by_endpoint",
    "inbound_by_endpoint_status",
    "inbound_by_status",
    "inbound_by_event",
];
/// The durable processing queue: inbound sequences still to run through the plugins.
pub const PROCESSING_QUEUE: TableDefinition<u64, ()> = TableDefinition::new("processing_queue");
/// Alert sequence → alert record.
pub const ALERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts");
/// `endpoint \n key` → sequence of the open (or acknowledged) alert with that key.
pub const OPEN_ALERTS: TableDefinition<&str, u64> = TableDefinition::new("open_alerts");
/// `(alert sequence, inbound sequence)` for each inbound record in an alert's history, apart
/// from the alert record (stored with an empty history): an append adds one row and never
/// rewrites the history, and a page of it reads only its own rows.
pub const ALERT_HISTORY: TableDefinition<(u64, u64), ()> = TableDefinition::new("alert_history");
/// Sequences of the acknowledged alerts (a subset of `open_alerts`' values): `/metrics` counts
/// open and acknowledged alerts from the two tables' lengths, reading no alert.
pub const ACKNOWLEDGED_ALERTS: TableDefinition<u64, ()> =
    TableDefinition::new("acknowledged_alerts");
/// `(due at ms, alert sequence)` for alerts whose escalation has a step due: kept in step with
/// the alert's `escalation.next_due_at` by every alert write.
pub const DUE_ESCALATIONS: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("due_escalations");
/// Delivery sequence → delivery record (with its attempts).
pub const DELIVERIES: TableDefinition<u64, &[u8]> = TableDefinition::new("deliveries");
/// `(due at ms, delivery sequence)` for deliveries waiting for their next attempt.
pub const DUE_DELIVERIES: TableDefinition<(u64, u64), ()> = TableDefinition::new("due_deliveries");
/// `endpoint \n destination index` → its consecutive failures and whether they disabled it
/// (no row: healthy).
pub const DESTINATION_HEALTH: TableDefinition<&str, &[u8]> =
    TableDefinition::new("destination_health");
/// `prefix/id` (`us/us_3`) → on-call directory entry (users, teams, schedules, escalation
/// policies, maintenance windows).
pub const DIRECTORY: TableDefinition<&str, &[u8]> = TableDefinition::new("directory");
/// Key name → the gateway's secret key of that name (ack links).
pub const SECRET_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("secret_keys");
/// Endpoint id → its sealed Bitbucket OAuth connection.
pub const BITBUCKET_CONNECTIONS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("bitbucket_connections");
/// SHA-256 of a session's secret → the session (console and API sign-ins).
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");
/// Plugin name → the plugin as uploaded through the API, without its component.
pub const PLUGINS: TableDefinition<&str, &[u8]> = TableDefinition::new("plugins");
/// Plugin name → the component (`.wasm`) uploaded through the API.
pub const PLUGIN_COMPONENTS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("plugin_components");
/// Named counters: the next sequence of each record kind.
pub const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// One scratch row, rewritten to check that the disk takes writes again after a failure.
pub const STORAGE_PROBE: TableDefinition<u64, &[u8]> = TableDefinition::new("storage_probe");
