-- hookgate's PostgreSQL schema, version 1. Each record is kept whole as JSONB (the serde form
-- of the store's record types, as the redb backend keeps it), next to the columns its queries
-- select and order by.

-- Named counters: the next id of each record kind (inbound, alert, delivery, directory kinds).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    next BIGINT NOT NULL
);

CREATE TABLE endpoints (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    record JSONB NOT NULL
);

-- The inbound log; the body apart from the record (processing rewrites the record, never the
-- body, and listing the log never reads bodies). BYTEA: a body may hold a NUL.
CREATE TABLE inbound (
    id BIGINT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    event TEXT,
    record JSONB NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX inbound_by_endpoint ON inbound (endpoint, id);
CREATE INDEX inbound_by_received_at ON inbound (received_at);
CREATE INDEX inbound_rejected ON inbound (id) WHERE status = 'rejected';

-- X-Request-UUID of accepted records, per endpoint (repeat detection).
CREATE TABLE inbound_requests (
    endpoint TEXT NOT NULL,
    request_uuid TEXT NOT NULL,
    inbound_id BIGINT NOT NULL,
    PRIMARY KEY (endpoint, request_uuid)
);
CREATE INDEX inbound_requests_by_inbound ON inbound_requests (inbound_id);

-- The processing queue. A claim marks its records with the claiming store and the time, so
-- another store skips them while the claim is fresh.
CREATE TABLE processing_queue (
    inbound_id BIGINT PRIMARY KEY,
    claimed_by BIGINT,
    claimed_at BIGINT
);

CREATE TABLE alerts (
    id BIGINT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    revision BIGINT NOT NULL,
    -- The escalation's timer (record.escalation.next_due_at).
    next_due_at BIGINT,
    record JSONB NOT NULL
);
CREATE INDEX alerts_by_endpoint ON alerts (endpoint, id);
CREATE INDEX alerts_by_state ON alerts (state, id);
CREATE INDEX alerts_due ON alerts (next_due_at, id) WHERE next_due_at IS NOT NULL;

-- The open (or acknowledged) alert of each endpoint and key.
CREATE TABLE open_alerts (
    endpoint TEXT NOT NULL,
    key TEXT NOT NULL,
    alert_id BIGINT NOT NULL,
    PRIMARY KEY (endpoint, key)
);

CREATE TABLE deliveries (
    id BIGINT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    inbound_id BIGINT,
    status TEXT NOT NULL,
    next_attempt_at BIGINT,
    created_at BIGINT NOT NULL,
    record JSONB NOT NULL
);
CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint, id);
CREATE INDEX deliveries_by_inbound ON deliveries (inbound_id, id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE next_attempt_at IS NOT NULL;

-- Consecutive failures per endpoint destination (no row: healthy).
CREATE TABLE destination_health (
    endpoint TEXT NOT NULL,
    destination INTEGER NOT NULL,
    disabled BOOLEAN NOT NULL,
    record JSONB NOT NULL,
    PRIMARY KEY (endpoint, destination)
);

-- The on-call directory: users, teams, schedules, escalation policies, maintenance windows.
CREATE TABLE directory (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    record JSONB NOT NULL
);
CREATE INDEX directory_by_kind ON directory (kind, created_at, number);

-- The gateway's named secret keys (ack links).
CREATE TABLE secret_keys (
    name TEXT PRIMARY KEY,
    key BYTEA NOT NULL
);

-- One scratch row, rewritten to check that the database takes writes again after a failure.
CREATE TABLE storage_probe (
    id INTEGER PRIMARY KEY,
    bytes BYTEA NOT NULL
);
