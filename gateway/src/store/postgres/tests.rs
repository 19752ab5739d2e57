//! The contract suite on PostgreSQL, and what only this backend promises: migrations, the
//! refusal of a newer schema, claims shared out between stores on one database.

use super::test_cluster::{TestDatabase, with_connection};
use super::{Leases, PostgresStore, SCHEMA_VERSION};
use crate::store::contract::{Subject, append_pending, processed, store_contract_tests};
use crate::store::{Durability, ProcessedBatch, Store, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// A fresh database; a restart opens the same database again.
fn postgres_subject() -> Subject {
    let database = TestDatabase::create();
    let url = database.url.clone();
    let open = move || -> Arc<dyn Store> {
        Arc::new(PostgresStore::open(&url).expect("the test database opens"))
    };
    Subject::new(open, database)
}

store_contract_tests!(postgres_subject);

/// Runs `sql` on the database at `url`.
fn sql(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let sql = sql.to_string();
    with_connection(
        url,
        move |client| async move { client.query(&sql, &[]).await },
    )
    .unwrap()
}

/// Text with U+0000 (which JSONB cannot hold) is stored with U+FFFD in its place, and a body
/// (BYTEA) is kept exactly.
#[test]
fn a_nul_in_a_record_is_stored_as_a_replacement_character() {
    use crate::store::InboundStatus;
    let database = TestDatabase::create();
    let store = PostgresStore::open(&database.url).unwrap();
    let mut record = crate::store::contract::inbound("a", None, InboundStatus::Rejected, 1);
    record.reason = Some("bad\0byte".into());
    record.body = "nul\0body".into();
    let [crate::store::Appended::Logged(id)] = store.append_inbound(vec![record]).unwrap()[..]
    else {
        panic!("a rejected record is logged")
    };
    let stored = store.inbound(id).unwrap().unwrap();
    assert_eq!(stored.reason.as_deref(), Some("bad\u{FFFD}byte"));
    assert_eq!(stored.body, "nul\0body");
    let opened = crate::store::contract::open_alert(&store, "a", "k\0ey");
    assert_eq!(opened.key, "k\u{FFFD}ey");
    assert_eq!(store.open_alert("a", "k\0ey").unwrap(), Some(opened));
}

/// Each migration is applied once and recorded; opening again applies nothing.
#[test]
fn migrations_are_applied_once() {
    let database = TestDatabase::create();
    drop(PostgresStore::open(&database.url).unwrap());
    drop(PostgresStore::open(&database.url).unwrap());
    let rows = sql(
        &database.url,
        "SELECT version, name FROM schema_version ORDER BY version",
    );
    let versions: Vec<(i32, String)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(versions.len(), SCHEMA_VERSION as usize, "{versions:?}");
    assert_eq!(versions[0], (1, "initial".to_string()));
}

/// A database migrated by a newer hookgate is refused, naming both versions; nothing changes.
#[test]
fn a_newer_schema_is_refused_naming_both_versions() {
    let database = TestDatabase::create();
    drop(PostgresStore::open(&database.url).unwrap());
    let newer = SCHEMA_VERSION + 1;
    sql(
        &database.url,
        &format!("INSERT INTO schema_version (version, name) VALUES ({newer}, 'future')"),
    );
    let error = match PostgresStore::open(&database.url) {
        Err(StoreError::Database(message)) => message,
        Err(other) => panic!("a database error is expected, got {other:?}"),
        Ok(_) => panic!("a newer schema is refused"),
    };
    assert!(
        error.contains(&format!("version {newer}"))
            && error.contains(&format!("version {SCHEMA_VERSION}")),
        "{error}"
    );
}

/// A URL that cannot connect is an error naming the URL, with its password replaced.
#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let url = format!("postgres://hookgate:s3cret@127.0.0.1:{port}/hookgate");
    let error = match PostgresStore::open(&url) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("nothing listens on {port}"),
    };
    assert!(!error.contains("s3cret"), "{error}");
    assert!(error.contains("refused"), "the cause is named: {error}");
    assert!(
        error.contains(&format!(
            "postgres://hookgate:***@127.0.0.1:{port}/hookgate"
        )),
        "{error}"
    );
}

/// Two stores on one database, claiming and applying at once over several endpoints, never
/// get the same record, and between them process every one.
#[test]
fn two_stores_never_claim_the_same_record() {
    let database = TestDatabase::create();
    let first = Arc::new(PostgresStore::open(&database.url).unwrap());
    let second = Arc::new(PostgresStore::open(&database.url).unwrap());
    let mut ids = BTreeSet::new();
    for endpoint in ["a", "b", "c", "d"] {
        ids.extend(append_pending(&*first, endpoint, &[1; 50]));
    }
    let workers: Vec<_> = [first.clone(), second.clone()]
        .into_iter()
        .map(|store| {
            std::thread::spawn(move || {
                let mut claimed = Vec::new();
                while store.queue_depth().unwrap() > 0 {
                    let batch = store.claim_queued(7).unwrap();
                    let records = batch
                        .iter()
                        .map(|record| processed(record.id, crate::store::InboundStatus::Processed))
                        .collect();
                    claimed.extend(batch.iter().map(|record| record.id));
                    store
                        .apply_processing(
                            &ProcessedBatch {
                                records,
                                ..ProcessedBatch::default()
                            },
                            Durability::WithNextCommit,
                        )
                        .unwrap();
                }
                claimed
            })
        })
        .collect();
    let claims: Vec<Vec<u64>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let all: Vec<u64> = claims.iter().flatten().copied().collect();
    let unique: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a record was claimed twice");
    assert_eq!(unique, ids, "every record was processed");
    assert!(
        claims.iter().all(|claimed| !claimed.is_empty()),
        "both stores worked"
    );
}

/// Two stores applying batches planned on the same state at once (both expect no open alert
/// for the key and open one): the expectation is checked under a lock held to the commit, so
/// exactly one lands and the other is refused with a conflict, never two open alerts.
#[test]
fn concurrent_batches_on_one_key_conflict_rather_than_both_land() {
    use crate::store::{AlertWrite, contract::new_alert};
    let database = TestDatabase::create();
    let stores = [
        Arc::new(PostgresStore::open(&database.url).unwrap()),
        Arc::new(PostgresStore::open(&database.url).unwrap()),
    ];
    for round in 0..20 {
        let key = format!("k{round}");
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let results: Vec<Result<(), StoreError>> = stores
            .iter()
            .map(|store| {
                let (store, barrier) = (store.clone(), barrier.clone());
                let batch = ProcessedBatch {
                    expected_open: vec![(("a".into(), key.clone()), None)],
                    alerts: vec![AlertWrite::Insert(new_alert(&*store, "a", &key))],
                    ..ProcessedBatch::default()
                };
                std::thread::spawn(move || {
                    barrier.wait();
                    store.apply_processing(&batch, Durability::BeforeAnswer)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect();
        let landed = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(landed, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .any(|result| matches!(result, Err(StoreError::Conflict(_)))),
            "round {round}: {results:?}"
        );
        let open = stores[0].firing_alerts().unwrap();
        assert_eq!(open.iter().filter(|alert| alert.key == key).count(), 1);
    }
}

/// Two stores on one database (two gateways), with claims lasting `leases`.
fn two_stores(url: &str, leases: Leases) -> (PostgresStore, PostgresStore) {
    let open = || PostgresStore::open(url).unwrap().with_leases(leases);
    (open(), open())
}

/// A store's lease on an endpoint keeps another store off its queued records (so one alert
/// key's records are applied in arrival order), not off other endpoints' records; the store
/// that holds it gets them again (as after a conflict). Once the lease expires, the other
/// store takes them over, and the first one's late apply is refused whole.
#[test]
fn a_lease_holds_an_endpoint_until_it_expires_and_a_late_apply_is_refused() {
    let database = TestDatabase::create();
    let (first, second) = two_stores(
        &database.url,
        Leases {
            processing: Duration::from_millis(300),
            ..Leases::default()
        },
    );
    let on_a = append_pending(&first, "a", &[1, 2, 3]);
    let on_b = append_pending(&first, "b", &[4]);
    let claimed = |store: &PostgresStore, limit: usize| -> Vec<u64> {
        store
            .claim_queued(limit)
            .unwrap()
            .iter()
            .map(|record| record.id)
            .collect()
    };
    assert_eq!(claimed(&first, 2), on_a[..2]);
    assert_eq!(
        claimed(&second, 10),
        on_b,
        "endpoint a is leased; b is free"
    );
    assert_eq!(claimed(&first, 2), on_a[..2], "its own records again");

    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        claimed(&second, 10),
        [on_a.clone(), on_b.clone()].concat(),
        "taken over"
    );
    let late = ProcessedBatch {
        records: on_a[..2]
            .iter()
            .map(|id| processed(*id, crate::store::InboundStatus::Processed))
            .collect(),
        ..ProcessedBatch::default()
    };
    assert!(
        matches!(
            first.apply_processing(&late, Durability::WithNextCommit),
            Err(StoreError::ClaimLost(_))
        ),
        "the first store's lease was taken over"
    );
    assert_eq!(
        first.queue_depth().unwrap(),
        4,
        "nothing of the late batch was written"
    );
    second
        .apply_processing(&late, Durability::WithNextCommit)
        .unwrap();
    assert_eq!(second.queue_depth().unwrap(), 2);
    // The second store applied them; a repeat (a replay of the same claim) is refused.
    assert!(matches!(
        second.apply_processing(&late, Durability::WithNextCommit),
        Err(StoreError::ClaimLost(_))
    ));
}

/// A delivery handed out to one store is not handed to another until its attempt is recorded
/// or the claim expires.
#[test]
fn a_due_delivery_goes_to_one_store_at_a_time() {
    use crate::store::contract::{new_delivery, write_deliveries};
    let database = TestDatabase::create();
    let (first, second) = two_stores(
        &database.url,
        Leases {
            delivery: Duration::from_millis(300),
            ..Leases::default()
        },
    );
    let now = crate::store::now_ms();
    let delivery = write_deliveries(&first, vec![new_delivery(&first, "a", None, now)])[0].id;
    let due = |store: &PostgresStore| -> Vec<u64> {
        store
            .due_deliveries(crate::store::now_ms(), 10)
            .unwrap()
            .iter()
            .map(|delivery| delivery.id)
            .collect()
    };
    assert_eq!(due(&first), [delivery]);
    assert!(due(&second).is_empty(), "claimed by the first store");
    assert_eq!(due(&first), [delivery], "the claimer may read it again");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(due(&second), [delivery], "the claim expired");
}

/// The store works when called from inside a tokio runtime's worker threads, as well as from
/// plain threads (it never blocks on the caller's runtime).
#[test]
fn calls_work_from_inside_a_runtime() {
    let database = TestDatabase::create();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = database.url.clone();
    let depth = runtime.block_on(async move {
        let store = PostgresStore::open(&url).unwrap();
        append_pending(&store, "a", &[1, 2]);
        let depth = store.queue_depth().unwrap();
        drop(store);
        depth
    });
    assert_eq!(depth, 2);
}

/// A gateway configured with `[storage] url`, run until `stop` completes; its result.
fn run_gateway(
    url: &str,
    data_dir: &std::path::Path,
    stop: impl FnOnce(std::net::SocketAddr) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
) -> anyhow::Result<()> {
    use crate::config::{DatabaseUrl, GatewayConfig};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let mut config = GatewayConfig {
        listen: address.to_string(),
        data_dir: data_dir.to_path_buf(),
        ..GatewayConfig::default()
    };
    config.storage.url = Some(DatabaseUrl::new(url));
    let config = config.validate().unwrap();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(crate::server::run_until(
            config,
            Some(listener),
            Some("a-test-admin-token-of-32-chars..".into()),
            stop(address),
        ))
}

/// `[storage] url` chooses PostgreSQL: the gateway migrates the database, answers ready and
/// keeps no redb file.
#[test]
fn a_gateway_runs_on_the_configured_database() {
    let database = TestDatabase::create();
    let data_dir = tempfile::tempdir().unwrap();
    let ready = Arc::new(std::sync::Mutex::new(None));
    let seen = ready.clone();
    run_gateway(&database.url, data_dir.path(), move |address| {
        Box::pin(async move {
            let client = reqwest::Client::new();
            for _ in 0..1200 {
                if let Ok(answer) = client.get(format!("http://{address}/readyz")).send().await {
                    *seen.lock().unwrap() = Some(answer.status().as_u16());
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
    })
    .expect("the gateway runs on PostgreSQL");
    assert_eq!(*ready.lock().unwrap(), Some(200));
    assert!(
        !data_dir.path().join(crate::datadir::DATABASE_FILE).exists(),
        "no redb file"
    );
    let versions = sql(&database.url, "SELECT count(*) FROM schema_version");
    assert_eq!(versions[0].get::<_, i64>(0), i64::from(SCHEMA_VERSION));
}

/// A database URL that cannot connect stops the start, naming the URL without its password.
#[test]
fn a_gateway_on_an_unreachable_database_does_not_start() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let data_dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://hookgate:s3cret@127.0.0.1:{port}/hookgate");
    let error = run_gateway(&url, data_dir.path(), |_| Box::pin(std::future::pending()))
        .expect_err("the start stops");
    let error = format!("{error:#}");
    assert!(!error.contains("s3cret"), "{error}");
    assert!(
        error.contains(&format!(
            "postgres://hookgate:***@127.0.0.1:{port}/hookgate"
        )),
        "{error}"
    );
}

/// TLS as libpq's `sslmode` and `sslrootcert` say, against a server that takes TLS with a
/// certificate for `db.internal` from a CA of the test's own (and refuses a hookgate user
/// without TLS, so a connection that opens at all was encrypted).
#[test]
fn tls_follows_sslmode_and_sslrootcert() {
    use super::test_cluster::TestCluster;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

    let authority = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    };
    let ours = authority("hookgate test CA");
    let theirs = authority("some other CA");
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["db.internal".to_string()])
        .unwrap()
        .signed_by(&server_key, &ours)
        .unwrap();
    let cluster = TestCluster::start_with_tls(&server.pem(), &server_key.serialize_pem());
    cluster.execute("CREATE ROLE hookgate LOGIN");
    cluster.execute("CREATE DATABASE tls_test OWNER hookgate");
    let files = tempfile::tempdir().unwrap();
    let (our_ca, their_ca) = (
        files.path().join("ours.pem"),
        files.path().join("theirs.pem"),
    );
    std::fs::write(&our_ca, ours.pem()).unwrap();
    std::fs::write(&their_ca, theirs.pem()).unwrap();

    let port = cluster.port();
    let open = |host: &str, query: &str| {
        PostgresStore::open(&format!(
            "postgres://hookgate@{host}:{port}/tls_test?{query}"
        ))
        .map(|_| ())
        .map_err(|error| error.to_string())
    };
    let by_name = |query: &str| open("db.internal", &format!("hostaddr=127.0.0.1&{query}"));
    let (ours, theirs) = (our_ca.display(), their_ca.display());

    // Without TLS the server refuses the user; with it (unchecked, as libpq) it takes it.
    let refused = open("127.0.0.1", "sslmode=disable").unwrap_err();
    assert!(refused.contains("no encryption"), "{refused}");
    open("127.0.0.1", "").expect("prefer, the default, encrypts when offered");
    open("127.0.0.1", "sslmode=require").expect("require without a root file checks nothing");
    // The chain is checked against the root file; the host name only with verify-full.
    open(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ours}"),
    )
    .expect("verify-ca: our CA signed it, whatever the host is called");
    by_name(&format!("sslmode=verify-full&sslrootcert={ours}"))
        .expect("verify-full: our CA, and the certificate names db.internal");
    let wrong_name = open(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ours}"),
    )
    .unwrap_err();
    assert!(wrong_name.contains("certificate"), "{wrong_name}");
    for query in [
        format!("sslmode=verify-ca&sslrootcert={theirs}"),
        format!("sslmode=verify-full&sslrootcert={theirs}"),
        // As libpq: require with a root file checks the chain.
        format!("sslmode=require&sslrootcert={theirs}"),
    ] {
        let error = by_name(&query).unwrap_err();
        assert!(error.contains("certificate"), "{query}: {error}");
    }
    // The system's roots do not know our CA.
    let error = by_name("sslmode=verify-full").unwrap_err();
    assert!(error.contains("certificate"), "{error}");
    // Settings that cannot work are refused, naming them.
    let error = open("127.0.0.1", "sslmode=sometimes").unwrap_err();
    assert!(error.contains("sslmode=sometimes"), "{error}");
    let error = open(
        "127.0.0.1",
        "sslmode=verify-ca&sslrootcert=/nonexistent.pem",
    )
    .unwrap_err();
    assert!(error.contains("sslrootcert=/nonexistent.pem"), "{error}");
}

/// Each filter of the inbound log's page is served by its index (migration 4), not a scan of
/// the table: the plan of the page's own query, on a log of 20,000 records where each filtered
/// value is rare (analyzed, as autovacuum would), names the index.
#[test]
fn filtered_inbound_pages_use_their_indexes() {
    use crate::store::{InboundFilter, InboundStatus};
    let database = TestDatabase::create();
    let _store = PostgresStore::open(&database.url).unwrap();
    sql(
        &database.url,
        "INSERT INTO inbound (id, endpoint, received_at, status, event, record, body)
         SELECT g,
                CASE WHEN g % 100 = 0 THEN 'rare' ELSE 'ep' || (g % 7) END,
                g,
                CASE WHEN g % 97 = 0 THEN 'failed' ELSE 'processed' END,
                CASE WHEN g % 89 = 0 THEN 'pullrequest:created' ELSE 'repo:push' END,
                '{}'::jsonb, ''::bytea
         FROM generate_series(1, 20000) AS g",
    );
    sql(&database.url, "ANALYZE inbound");
    let cases = [
        (
            Some("rare"),
            Some(InboundStatus::Failed),
            None,
            "inbound_by_endpoint_status",
        ),
        (Some("rare"), None, None, "inbound_by_endpoint"),
        (None, Some(InboundStatus::Failed), None, "inbound_by_status"),
        (None, None, Some("pullrequest:created"), "inbound_by_event"),
    ];
    for (endpoint, status, event, index) in cases {
        let filter = InboundFilter {
            endpoint: endpoint.map(Into::into),
            status,
            event: event.map(Into::into),
            before: None,
            limit: 50,
        };
        let (query, endpoint, status, event) = super::inbound::inbound_page_query(&filter);
        let arguments: Vec<String> = [endpoint, status, event]
            .into_iter()
            .flatten()
            .map(|value| format!("'{value}'"))
            .chain(["9223372036854775807".into(), "51".into()])
            .collect();
        let plan = explain(
            &database.url,
            &format!(
                "PREPARE page AS {query}; \
                 EXPLAIN EXECUTE page({});",
                arguments.join(", ")
            ),
        );
        // An index scan or a bitmap scan of it, never of the whole table.
        let uses_index = plan.contains(&format!("using {index} "))
            || plan.contains(&format!("on {index} "))
            || plan.contains(&format!("on {index}\n"));
        assert!(
            uses_index && !plan.contains("Seq Scan"),
            "{filter:?}: {plan}"
        );
    }
}

/// The plan text of the last statement of `script`, run in one session.
fn explain(url: &str, script: &str) -> String {
    let script = script.to_string();
    with_connection(url, move |client| async move {
        let mut plan = String::new();
        for message in client.simple_query(&script).await? {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                plan.push_str(row.get(0).unwrap_or_default());
                plan.push('\n');
            }
        }
        Ok(plan)
    })
    .unwrap()
}

/// A database of version 3, whose alerts carry their histories inside their records, is
/// migrated: the histories move to their own table and read back whole, the records keep
/// none, and an append adds to the moved history.
#[test]
fn migration_4_moves_the_histories_out_of_the_alert_records() {
    use crate::store::contract::open_alert;
    let database = TestDatabase::create();
    let id = {
        let store = PostgresStore::open(&database.url).unwrap();
        open_alert(&store, "a", "k").id
    };
    sql(
        &database.url,
        &format!(
            "UPDATE alerts SET record = jsonb_set(record, '{{history}}', '[3, 1, 2]') \
             WHERE id = {id}"
        ),
    );
    for undo in [
        "DROP TABLE alert_history",
        "DROP INDEX inbound_by_endpoint_status",
        "DROP INDEX inbound_by_status",
        "DROP INDEX inbound_by_event",
        "DELETE FROM schema_version WHERE version = 4",
    ] {
        sql(&database.url, undo);
    }
    let store = PostgresStore::open(&database.url).unwrap();
    let alert = store.alert(id).unwrap().expect("the alert");
    assert_eq!(alert.history, [1, 2, 3]);
    let inline = sql(
        &database.url,
        &format!("SELECT jsonb_array_length(record -> 'history') FROM alerts WHERE id = {id}"),
    );
    assert_eq!(inline[0].get::<_, i32>(0), 0);
    let mut read = store.open_alert("a", "k").unwrap().expect("open");
    assert_eq!(read.history, [3]);
    read.history.push(9);
    store.update_alert(&read).unwrap();
    assert_eq!(store.alert(id).unwrap().unwrap().history, [1, 2, 3, 9]);
}
