-- Version 3: each Bitbucket OAuth connection's tokens, sealed by the gateway
-- (XChaCha20-Poly1305 under a key that is not in the database), one row per endpoint.
CREATE TABLE bitbucket_connections (
    endpoint TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL
);
