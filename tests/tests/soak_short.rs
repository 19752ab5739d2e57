//! The soak's short form (about a minute): mixed signed traffic on four endpoints while the
//! receiver cycles through 500, 429, slow and down (the SMTP relay answering 451 during the 500
//! spell), two plugins loop and exhaust memory, and
//! the real binary is killed with `kill -9` twice; nothing accepted is lost or applied twice,
//! and no notification vanishes. A test binary of its own, so its load and kills never overlap
//! the other tests (cargo runs test binaries one after another). `cargo run --release -p hookgate-tests --bin soak --
//! --seconds 600` is the long form (see RELIABILITY.md).

use hookgate_tests::harness::GatewayProgram;
use hookgate_tests::soak::{SoakOptions, run};
use std::time::Duration;

#[test]
fn a_minute_of_faults_and_kills_loses_nothing() {
    let work = tempfile::tempdir().unwrap();
    let report = run(&SoakOptions {
        traffic: Duration::from_secs(40),
        kills: 2,
        posters: 3,
        // The long form's default: 20 ms saturates processing on two cores (RELIABILITY §1).
        pause: Duration::from_millis(50),
        program: GatewayProgram::binary(env!("CARGO_BIN_EXE_hookgate-e2e")),
        work_dir: work.path().to_path_buf(),
        settle_limit: Duration::from_secs(180),
    });
    report.print();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert!(
        report.healthy_failed.is_empty(),
        "healthy records failed: {:?}",
        report.healthy_failed
    );
    assert_eq!(report.kills, 2);
    assert_eq!(
        (
            report.records_lost,
            report.duplicate_alert_applications,
            report.deliveries_lost,
            report.duplicate_deliveries
        ),
        (0, 0, 0, 0)
    );
    // The soak did what it says: traffic was accepted, every fault happened.
    assert!(report.accepted >= 100, "only {} accepted", report.accepted);
    for fault in ["http 500", "http 429", "smtp 451", "timeout", "refused"] {
        assert!(
            report.attempts.get(fault).copied().unwrap_or(0) > 0,
            "no {fault} attempt: {:?}",
            report.attempts
        );
    }
    for fault in ["timeout", "memory limit"] {
        assert!(
            report.plugin_faults.get(fault).copied().unwrap_or(0) > 0,
            "no hostile {fault}: {:?}",
            report.plugin_faults
        );
    }
    assert!(report.receiver_distinct > 0);
    assert!(report.mails_distinct > 0, "no mail reached the relay");
    // A liveness bound for a busy 2-core CI machine, not a performance figure.
    assert!(
        report.ingest_p99 < Duration::from_secs(2),
        "healthy ingest p99 {:?} while the hostile plugins ran",
        report.ingest_p99
    );
}
