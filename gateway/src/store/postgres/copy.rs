//! Copying an installation out of and into a PostgreSQL database (`crate::store::copy`): each
//! kind's table paged in key order (keyset pages, so a page costs the same at the end of a
//! large log as at the start); alerts and deliveries are written by processing's own writers,
//! so their columns and indexes follow.

use super::alerts::write_alert;
use super::deliveries::write_delivery;
use super::inbound::insert_inbound;
use super::{Failure, PostgresStore, decode, encode, int, text, uint};
use crate::store::{
    CopiedRecord, CopyKey, InboundRecord, RecordCounts, RecordKind, StoreError, StoredPlugin,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

fn wrong_cursor(kind: RecordKind) -> Failure {
    Failure(StoreError::Database(format!(
        "a copy cursor that is not one of {}",
        kind.label()
    )))
}

/// A query parameter of a page's cursor.
type Parameter = Box<dyn ToSql + Send + Sync>;

/// The query of a page of `kind` and its two cursor parameters (`NULL` for the first page).
fn page_query(
    kind: RecordKind,
    after: Option<&CopyKey>,
) -> Result<(&'static str, Parameter, Parameter), Failure> {
    let none = || -> Parameter { Box::new(None::<String>) };
    let by_text = |sql| match after {
        None => Ok((sql, none(), none())),
        Some(CopyKey::Text(key)) => Ok((sql, Box::new(Some(key.clone())) as _, none())),
        Some(_) => Err(wrong_cursor(kind)),
    };
    let by_number = |sql| match after {
        None => Ok((sql, Box::new(None::<i64>) as _, none())),
        Some(CopyKey::Number(id)) => Ok((sql, Box::new(Some(int(*id))) as _, none())),
        Some(_) => Err(wrong_cursor(kind)),
    };
    let by_pair = |sql| match after {
        None => Ok((sql, none(), none())),
        Some(CopyKey::Pair(first, second)) => Ok((
            sql,
            Box::new(Some(first.clone())) as _,
            Box::new(Some(second.clone())) as _,
        )),
        Some(_) => Err(wrong_cursor(kind)),
    };
    match kind {
        RecordKind::Counter => by_text(
            "SELECT name, next FROM counters WHERE ($1::TEXT IS NULL OR name > $1)
             AND $2::TEXT IS NULL ORDER BY name LIMIT $3",
        ),
        RecordKind::SecretKey => by_text(
            "SELECT name, key FROM secret_keys WHERE ($1::TEXT IS NULL OR name > $1)
             AND $2::TEXT IS NULL ORDER BY name LIMIT $3",
        ),
        RecordKind::Endpoint => by_text(
            "SELECT record FROM endpoints WHERE ($1::TEXT IS NULL OR id > $1)
             AND $2::TEXT IS NULL ORDER BY id LIMIT $3",
        ),
        RecordKind::DirectoryEntry => by_text(
            "SELECT record FROM directory WHERE ($1::TEXT IS NULL OR id > $1)
             AND $2::TEXT IS NULL ORDER BY id LIMIT $3",
        ),
        RecordKind::Inbound => by_number(
            "SELECT i.record, i.body, q.inbound_id IS NOT NULL FROM inbound i
             LEFT JOIN processing_queue q ON q.inbound_id = i.id
             WHERE ($1::BIGINT IS NULL OR i.id > $1) AND $2::TEXT IS NULL
             ORDER BY i.id LIMIT $3",
        ),
        RecordKind::RequestId => by_pair(
            "SELECT endpoint, request_uuid, inbound_id FROM inbound_requests
             WHERE ($1::TEXT IS NULL OR (endpoint, request_uuid) > ($1, $2::TEXT))
             ORDER BY endpoint, request_uuid LIMIT $3",
        ),
        RecordKind::Alert => by_number(
            "SELECT a.record, ARRAY(SELECT h.inbound_id FROM alert_history h
             WHERE h.alert_id = a.id ORDER BY h.inbound_id) FROM alerts a
             WHERE ($1::BIGINT IS NULL OR a.id > $1) AND $2::TEXT IS NULL ORDER BY a.id LIMIT $3",
        ),
        RecordKind::Delivery => by_number(
            "SELECT record FROM deliveries WHERE ($1::BIGINT IS NULL OR id > $1)
             AND $2::TEXT IS NULL ORDER BY id LIMIT $3",
        ),
        RecordKind::DestinationHealth => by_pair(
            "SELECT endpoint, destination, record FROM destination_health
             WHERE ($1::TEXT IS NULL OR (endpoint, destination) > ($1, $2::TEXT::INTEGER))
             ORDER BY endpoint, destination LIMIT $3",
        ),
        RecordKind::BitbucketConnection => by_text(
            "SELECT endpoint, sealed FROM bitbucket_connections
             WHERE ($1::TEXT IS NULL OR endpoint > $1) AND $2::TEXT IS NULL
             ORDER BY endpoint LIMIT $3",
        ),
        RecordKind::Session => match after {
            None => Ok((
                "SELECT digest, record FROM sessions WHERE ($1::BYTEA IS NULL OR digest > $1)
                 AND $2::TEXT IS NULL ORDER BY digest LIMIT $3",
                Box::new(None::<Vec<u8>>) as _,
                none(),
            )),
            Some(CopyKey::Bytes(digest)) => Ok((
                "SELECT digest, record FROM sessions WHERE ($1::BYTEA IS NULL OR digest > $1)
                 AND $2::TEXT IS NULL ORDER BY digest LIMIT $3",
                Box::new(Some(digest.clone())) as _,
                none(),
            )),
            Some(_) => Err(wrong_cursor(kind)),
        },
        RecordKind::Plugin => by_text(
            "SELECT name, digest, stored_at, wasm FROM plugins
             WHERE ($1::TEXT IS NULL OR name > $1) AND $2::TEXT IS NULL
             ORDER BY name LIMIT $3",
        ),
    }
}

/// One row of a page of `kind` as its record.
fn copied(kind: RecordKind, row: &Row) -> Result<CopiedRecord, Failure> {
    Ok(match kind {
        RecordKind::Counter => CopiedRecord::Counter {
            name: row.try_get(0)?,
            next: uint(row.try_get(1)?),
        },
        RecordKind::SecretKey => CopiedRecord::SecretKey {
            name: row.try_get(0)?,
            key: row.try_get(1)?,
        },
        RecordKind::Endpoint => CopiedRecord::Endpoint(Box::new(decode("endpoint", row, 0)?)),
        RecordKind::DirectoryEntry => {
            CopiedRecord::DirectoryEntry(decode("directory entry", row, 0)?)
        }
        RecordKind::Inbound => {
            let mut record: InboundRecord = decode("inbound", row, 0)?;
            let body: Vec<u8> = row.try_get(1)?;
            record.body = String::from_utf8_lossy(&body).into_owned();
            CopiedRecord::Inbound {
                record: Box::new(record),
                queued: row.try_get(2)?,
            }
        }
        RecordKind::RequestId => CopiedRecord::RequestId {
            endpoint: row.try_get(0)?,
            request_uuid: row.try_get(1)?,
            inbound_id: uint(row.try_get(2)?),
        },
        RecordKind::Alert => {
            let mut alert: crate::store::AlertRecord = decode("alert", row, 0)?;
            let history: Vec<i64> = row.try_get(1)?;
            alert.history = history.into_iter().map(uint).collect();
            CopiedRecord::Alert(Box::new(alert))
        }
        RecordKind::Delivery => CopiedRecord::Delivery(Box::new(decode("delivery", row, 0)?)),
        RecordKind::DestinationHealth => CopiedRecord::DestinationHealth {
            endpoint: row.try_get(0)?,
            destination: usize::try_from(row.try_get::<_, i32>(1)?).unwrap_or(0),
            health: decode("destination health", row, 2)?,
        },
        RecordKind::BitbucketConnection => CopiedRecord::BitbucketConnection {
            endpoint: row.try_get(0)?,
            sealed: row.try_get(1)?,
        },
        RecordKind::Session => {
            let digest: Vec<u8> = row.try_get(0)?;
            CopiedRecord::Session {
                digest: digest
                    .try_into()
                    .map_err(|_| Failure(StoreError::Corrupt("a session digest".into())))?,
                session: decode("session", row, 1)?,
            }
        }
        RecordKind::Plugin => CopiedRecord::Plugin(StoredPlugin {
            name: row.try_get(0)?,
            digest: row.try_get(1)?,
            stored_at: uint(row.try_get(2)?),
            wasm: row.try_get(3)?,
        }),
    })
}

impl PostgresStore {
    pub(super) fn copy_page(
        &self,
        kind: RecordKind,
        after: Option<&CopyKey>,
        limit: usize,
    ) -> Result<Vec<CopiedRecord>, StoreError> {
        let pool = self.pool.clone();
        let after = after.cloned();
        self.run(async move {
            let (sql, first, second) = page_query(kind, after.as_ref())?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = pool
                .get()
                .await?
                .query(sql, &[first.as_ref(), second.as_ref(), &limit])
                .await?;
            rows.iter().map(|row| copied(kind, row)).collect()
        })
    }

    pub(super) fn copy_in(&self, records: Vec<CopiedRecord>) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            for record in records {
                match record {
                    CopiedRecord::Counter { name, next } => {
                        txn.execute(
                            "INSERT INTO counters (name, next) VALUES ($1, $2)
                             ON CONFLICT (name) DO UPDATE SET next = EXCLUDED.next",
                            &[&name, &int(next)],
                        )
                        .await?;
                    }
                    CopiedRecord::SecretKey { name, key } => {
                        txn.execute(
                            "INSERT INTO secret_keys (name, key) VALUES ($1, $2)
                             ON CONFLICT (name) DO UPDATE SET key = EXCLUDED.key",
                            &[&name, &key],
                        )
                        .await?;
                    }
                    CopiedRecord::Endpoint(endpoint) => {
                        txn.execute(
                            "INSERT INTO endpoints (id, created_at, record) VALUES ($1, $2, $3)",
                            &[&endpoint.id, &int(endpoint.created_at), &encode(&endpoint)],
                        )
                        .await?;
                    }
                    CopiedRecord::DirectoryEntry(entry) => {
                        let number: i64 = entry
                            .id
                            .rsplit_once('_')
                            .and_then(|(_, number)| number.parse().ok())
                            .unwrap_or(0);
                        txn.execute(
                            "INSERT INTO directory (id, kind, number, created_at, record)
                             VALUES ($1, $2, $3, $4, $5)",
                            &[
                                &entry.id,
                                &entry.kind.prefix(),
                                &number,
                                &int(entry.created_at),
                                &encode(&entry),
                            ],
                        )
                        .await?;
                    }
                    CopiedRecord::Inbound { record, queued } => {
                        let (id, endpoint) = (record.id, record.endpoint.clone());
                        insert_inbound(&txn, *record).await?;
                        if queued {
                            txn.execute(
                                "INSERT INTO processing_queue (inbound_id, endpoint)
                                 VALUES ($1, $2)",
                                &[&int(id), &endpoint],
                            )
                            .await?;
                        }
                    }
                    CopiedRecord::RequestId {
                        endpoint,
                        request_uuid,
                        inbound_id,
                    } => {
                        txn.execute(
                            "INSERT INTO inbound_requests (endpoint, request_uuid, inbound_id)
                             VALUES ($1, $2, $3)",
                            &[&endpoint, &request_uuid, &int(inbound_id)],
                        )
                        .await?;
                    }
                    CopiedRecord::Alert(alert) => {
                        // As new, through processing's writer (which bumps the revision back
                        // to the copied one).
                        let mut unwritten = *alert;
                        unwritten.revision = unwritten.revision.saturating_sub(1);
                        write_alert(&txn, &unwritten, true).await?;
                    }
                    CopiedRecord::Delivery(delivery) => {
                        let taken = txn
                            .query_opt(
                                "SELECT 1 FROM deliveries WHERE id = $1",
                                &[&int(delivery.id)],
                            )
                            .await?;
                        if taken.is_some() {
                            return Err(Failure(StoreError::Conflict(format!(
                                "delivery {} is already in the target",
                                delivery.id
                            ))));
                        }
                        write_delivery(&txn, &delivery).await?;
                    }
                    CopiedRecord::DestinationHealth {
                        endpoint,
                        destination,
                        health,
                    } => {
                        txn.execute(
                            "INSERT INTO destination_health (endpoint, destination, disabled,
                             record) VALUES ($1, $2, $3, $4)",
                            &[
                                &text(&endpoint),
                                &i32::try_from(destination).unwrap_or(i32::MAX),
                                &health.is_disabled(),
                                &encode(&health),
                            ],
                        )
                        .await?;
                    }
                    CopiedRecord::BitbucketConnection { endpoint, sealed } => {
                        txn.execute(
                            "INSERT INTO bitbucket_connections (endpoint, sealed) VALUES ($1, $2)",
                            &[&endpoint, &sealed],
                        )
                        .await?;
                    }
                    CopiedRecord::Session { digest, session } => {
                        txn.execute(
                            "INSERT INTO sessions (digest, expires_at, record) VALUES ($1, $2, $3)",
                            &[
                                &digest.as_slice(),
                                &int(session.expires_at),
                                &encode(&session),
                            ],
                        )
                        .await?;
                    }
                    CopiedRecord::Plugin(plugin) => {
                        txn.execute(
                            "INSERT INTO plugins (name, digest, stored_at, wasm)
                             VALUES ($1, $2, $3, $4)",
                            &[
                                &plugin.name,
                                &plugin.digest,
                                &int(plugin.stored_at),
                                &plugin.wasm,
                            ],
                        )
                        .await?;
                    }
                }
            }
            txn.commit().await?;
            Ok(())
        })?;
        self.shared.everything_changed();
        Ok(())
    }

    pub(super) fn record_counts(&self) -> Result<RecordCounts, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_one(
                    "SELECT (SELECT count(*) FROM counters), (SELECT count(*) FROM secret_keys),
                     (SELECT count(*) FROM endpoints), (SELECT count(*) FROM directory),
                     (SELECT count(*) FROM inbound), (SELECT count(*) FROM inbound_requests),
                     (SELECT count(*) FROM alerts), (SELECT count(*) FROM deliveries),
                     (SELECT count(*) FROM destination_health),
                     (SELECT count(*) FROM bitbucket_connections),
                     (SELECT count(*) FROM sessions), (SELECT count(*) FROM plugins)",
                    &[],
                )
                .await?;
            let mut counts = RecordCounts::default();
            for (column, kind) in RecordKind::ALL.into_iter().enumerate() {
                counts.0.insert(kind, uint(row.try_get(column)?));
            }
            Ok(counts)
        })
    }

    /// How many connections gateways have open to this database now (a copy out of or into
    /// it while a gateway runs would miss or clash with that gateway's writes). The copy's
    /// own store opens under another application name ([`PostgresStore::open_named`]).
    pub fn gateway_connections(&self) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            let row = pool
                .get()
                .await?
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND application_name = $1",
                    &[&super::APPLICATION_NAME],
                )
                .await?;
            Ok(uint(row.try_get(0)?))
        })
    }
}
