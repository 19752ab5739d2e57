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
