-- Schema version 2: several gateways on one database.

-- A queued record carries its endpoint: a gateway claims an endpoint's queued records together
-- (a lease), so the records of one alert key are applied in arrival order whichever gateway
-- received them. The per-record claim columns of version 1 give way to the lease.
ALTER TABLE processing_queue ADD COLUMN endpoint TEXT;
UPDATE processing_queue q SET endpoint = i.endpoint FROM inbound i WHERE i.id = q.inbound_id;
-- Queue rows whose record is gone have nothing to process.
DELETE FROM processing_queue WHERE endpoint IS NULL;
ALTER TABLE processing_queue ALTER COLUMN endpoint SET NOT NULL;
ALTER TABLE processing_queue DROP COLUMN claimed_by, DROP COLUMN claimed_at;
CREATE INDEX processing_queue_by_endpoint ON processing_queue (endpoint, inbound_id);

-- Which gateway (a random id per process) processes an endpoint's queued records, and until
-- when (ms since the epoch): past it, another gateway may take them over.
CREATE TABLE processing_leases (
    endpoint TEXT PRIMARY KEY,
    holder BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- A delivery being attempted is claimed by one gateway until `claimed_until`; recording the
-- attempt clears the claim.
ALTER TABLE deliveries ADD COLUMN claimed_by BIGINT, ADD COLUMN claimed_until BIGINT;

-- Console and API sessions, by the SHA-256 of their secret, seen by every gateway.
CREATE TABLE sessions (
    digest BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    record JSONB NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Plugins uploaded through the API (`POST /api/v1/plugins`), loaded by every gateway.
CREATE TABLE plugins (
    name TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    stored_at BIGINT NOT NULL,
    wasm BYTEA NOT NULL
);
