//! Drop-ins are picked up, replaced and removed without a restart and without failing a call in
//! flight; a bad file is refused and the version in use stays. (How fast is not asserted here:
//! the watcher settles for 200 ms, and a loaded machine may take longer to compile.)

use hookgate::builtin::BUILTIN_PLUGINS;
use hookgate::runtime::{AlertAction, PluginRegistry, PluginSource};
use hookgate_tests::{commit_status_payload, drop_in, event, patient_engine, plugin_bytes};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a change may take to be seen before the test gives up: a liveness bound.
const RELOAD_WAIT: Duration = Duration::from_secs(60);

/// Polls until `condition` holds, or panics after [`RELOAD_WAIT`].
fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < RELOAD_WAIT,
            "{what}: not seen within {RELOAD_WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn drop_ins_replace_and_restore_builtins_while_calls_run() {
    let dir = tempfile::tempdir().unwrap();
    let registry =
        PluginRegistry::new(patient_engine(), BUILTIN_PLUGINS, Some(dir.path().into())).unwrap();
    let _watch = registry.watch().unwrap();
    let builtin = registry.get("bitbucket-pipelines").unwrap();
    assert_eq!(builtin.source(), &PluginSource::Builtin);

    // Calls in a loop for the whole test: none may fail, whichever version serves them.
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let impostor_answers = Arc::new(AtomicUsize::new(0));
    let caller = {
        let (registry, stop, calls, impostor_answers) = (
            registry.clone(),
            stop.clone(),
            calls.clone(),
            impostor_answers.clone(),
        );
        std::thread::spawn(move || {
            let failed = event(
                "repo:commit_status_updated",
                &commit_status_payload("FAILED"),
            );
            while !stop.load(Ordering::Relaxed) {
                let plugin = registry
                    .get("bitbucket-pipelines")
                    .expect("always a plugin of that name");
                let actions = plugin
                    .map_event(&failed, "{}")
                    .expect("no call fails during reloads");
                if matches!(&actions[..], [AlertAction::Ignore { reason }] if reason.starts_with("impostor"))
                {
                    impostor_answers.fetch_add(1, Ordering::Relaxed);
                }
                calls.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    drop_in(dir.path(), "pipelines.wasm", &plugin_bytes("impostor"));
    wait_until("the impostor replacing the built-in", || {
        registry.get("bitbucket-pipelines").unwrap().info().version == "9.9.9-test"
    });
    let seen = impostor_answers.load(Ordering::Relaxed);
    wait_until("calls served by the impostor", || {
        impostor_answers.load(Ordering::Relaxed) > seen
    });

    // Replace the drop-in with another build (the built-in's bytes, now as a drop-in).
    drop_in(
        dir.path(),
        "pipelines.wasm",
        &plugin_bytes("bitbucket_pipelines"),
    );
    wait_until("the replacement", || {
        let plugin = registry.get("bitbucket-pipelines").unwrap();
        plugin.info().version != "9.9.9-test" && matches!(plugin.source(), PluginSource::Dropin(_))
    });

    std::fs::remove_file(dir.path().join("pipelines.wasm")).unwrap();
    wait_until("the built-in coming back", || {
        registry.get("bitbucket-pipelines").unwrap().source() == &PluginSource::Builtin
    });

    stop.store(true, Ordering::Relaxed);
    caller.join().expect("the calling thread saw no failure");
    assert!(calls.load(Ordering::Relaxed) > 0);
}

#[test]
fn a_bad_file_is_refused_and_the_version_in_use_stays() {
    let dir = tempfile::tempdir().unwrap();
    drop_in(dir.path(), "mine.wasm", &plugin_bytes("impostor"));
    let registry =
        PluginRegistry::new(patient_engine(), BUILTIN_PLUGINS, Some(dir.path().into())).unwrap();
    assert_eq!(
        registry.get("bitbucket-pipelines").unwrap().info().version,
        "9.9.9-test"
    );

    drop_in(dir.path(), "mine.wasm", b"\0asm garbage");
    drop_in(dir.path(), "other.wasm", &plugin_bytes("other_world"));
    drop_in(dir.path(), "future.wasm", &plugin_bytes("future_api"));
    let set = registry.reload();

    let in_use = set.get("bitbucket-pipelines").unwrap();
    assert_eq!(
        in_use.info().version,
        "9.9.9-test",
        "the last good version stays in use"
    );
    let error_for = |file: &str| {
        set.errors()
            .iter()
            .find(|error| error.file.ends_with(file))
            .unwrap_or_else(|| panic!("no error recorded for {file}: {:?}", set.errors()))
            .error
            .clone()
    };
    assert!(
        error_for("mine.wasm").contains("not a"),
        "{}",
        error_for("mine.wasm")
    );
    assert!(
        error_for("other.wasm").contains("wrong world"),
        "{}",
        error_for("other.wasm")
    );
    assert!(error_for("future.wasm").contains("unsupported WIT API version"));

    // Fixing the file clears its error.
    drop_in(dir.path(), "mine.wasm", &plugin_bytes("impostor"));
    std::fs::remove_file(dir.path().join("other.wasm")).unwrap();
    std::fs::remove_file(dir.path().join("future.wasm")).unwrap();
    assert!(registry.reload().errors().is_empty());
}

#[test]
fn two_drop_ins_with_one_name_keep_the_first() {
    let dir = tempfile::tempdir().unwrap();
    drop_in(dir.path(), "a.wasm", &plugin_bytes("hostile"));
    drop_in(dir.path(), "b.wasm", &plugin_bytes("hostile"));
    let registry =
        PluginRegistry::new(patient_engine(), BUILTIN_PLUGINS, Some(dir.path().into())).unwrap();
    let set = registry.snapshot();
    let hostile = set.get("hostile").unwrap();
    assert!(matches!(hostile.source(), PluginSource::Dropin(path) if path.ends_with("a.wasm")));
    assert!(set.errors().iter().any(|error| error.file.ends_with("b.wasm") && error.error.contains("already provided")));
}

/// What served a record, told apart by its output: the built-in maps a failed pipeline
/// (`Mapped …`), the impostor ignores it naming itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    Builtin,
    Impostor,
}

fn served_by(record: &serde_json::Value) -> Served {
    let outcome = record["outcomes"][0]["outcome"]
        .as_str()
        .unwrap_or_default();
    if outcome.starts_with("Mapped ") {
        Served::Builtin
    } else if outcome == "Ignored: impostor 9.9.9-test" {
        Served::Impostor
    } else {
        panic!("a record served by neither version: {record}")
    }
}

#[test]
fn swapping_a_drop_in_under_signed_traffic_processes_every_record_by_one_version() {
    use hookgate_tests::harness::{TestGateway, wait_for};
    use serde_json::json;

    let gateway = TestGateway::start(|_| {});
    let endpoint = gateway.create_endpoint(json!({
        "name": "pipelines",
        "events": ["repo:commit_status_updated"],
        "alerts": {"plugin": "bitbucket-pipelines"},
    }));
    let url = endpoint["url"].as_str().unwrap().to_string();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let failed = commit_status_payload("FAILED");
    let sequence = AtomicUsize::new(0);
    // Posts one signed webhook; answers its record id (every post must be accepted).
    let post = || {
        let n = sequence.fetch_add(1, Ordering::Relaxed);
        let (status, answer) = gateway.post_hook(
            &url,
            "repo:commit_status_updated",
            &failed,
            Some(&secret),
            &format!("00000000-0000-4000-8000-{n:012}"),
        );
        assert_eq!(status, 202, "{answer}");
        answer["id"].as_str().unwrap().to_string()
    };
    // Posts until the version in use serves a record.
    let wait_until_served_by = |version: Served| {
        wait_for(
            &format!("a record served by {version:?}"),
            RELOAD_WAIT,
            || served_by(&gateway.processed(&post())) == version,
        );
    };
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let posters: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        post();
                        std::thread::sleep(Duration::from_millis(5));
                    }
                })
            })
            .collect();
        wait_until_served_by(Served::Builtin);
        // The impostor replaces the built-in, then is removed and the built-in comes back,
        // all while the posters keep going.
        gateway.install_dropins(&[(
            "bitbucket-pipelines",
            "pipelines.wasm",
            plugin_bytes("impostor"),
        )]);
        wait_until_served_by(Served::Impostor);
        std::fs::remove_file(gateway.data_path().join("plugins/pipelines.wasm")).unwrap();
        wait_until_served_by(Served::Builtin);
        stop.store(true, Ordering::Relaxed);
        for poster in posters {
            poster.join().expect("a poster saw a refusal");
        }
    });

    // Every record accepted is processed — none failed, none lost — by one version or the
    // other, and the versions follow one another in arrival order: the built-in, the
    // impostor, the built-in again.
    let total = sequence.load(Ordering::Relaxed);
    assert!(
        total > 20,
        "too little traffic to overlap the swaps: {total}"
    );
    let mut records = Vec::new();
    wait_for("every record to be processed", RELOAD_WAIT, || {
        records = gateway.all("/inbound");
        records.iter().all(|record| record["status"] != "pending")
    });
    assert_eq!(records.len(), total, "records lost or added");
    records.sort_by_key(|record| {
        record["id"].as_str().unwrap()[3..]
            .parse::<u64>()
            .expect("an in_<n> id")
    });
    let mut runs: Vec<Served> = Vec::new();
    for record in &records {
        assert_eq!(record["status"], "processed", "{record}");
        let version = served_by(record);
        if runs.last() != Some(&version) {
            runs.push(version);
        }
    }
    assert_eq!(
        runs,
        [Served::Builtin, Served::Impostor, Served::Builtin],
        "each record by the version in use when it ran, in order"
    );
}
