//! A broken or hostile plugin fails its own call with a reason naming the limit or the trap,
//! promptly, and never takes the gateway or the next call down.

use hookgate::runtime::{LoadedPlugin, PluginEngine, PluginSource, RuntimeError};
use hookgate_tests::{commit_status_payload, engine, event, load, patient_engine, plugin_bytes};
use std::time::{Duration, Instant};

fn run_hostile(engine: &PluginEngine, behaviour: &str) -> Result<String, RuntimeError> {
    let plugin = load(engine, "hostile");
    let config = format!(r#"{{"behaviour": "{behaviour}"}}"#);
    let actions = plugin.map_event(&event("repo:push", "{}"), &config)?;
    Ok(serde_json::to_string(&actions).unwrap())
}

/// The next call to a good plugin on the same engine works.
fn assert_good_plugin_still_works(engine: &PluginEngine) {
    let mapper = load(engine, "bitbucket_pipelines");
    let actions = mapper
        .map_event(
            &event(
                "repo:commit_status_updated",
                &commit_status_payload("FAILED"),
            ),
            "{}",
        )
        .expect("a good plugin works after a failing one");
    assert_eq!(actions.len(), 1);
}

#[test]
fn an_endless_loop_is_stopped_at_the_time_limit() {
    // The time limit is what is under test, so the 50 ms default; a loop cannot end any other
    // way, so a busy machine cannot change the reason.
    let engine = engine();
    let started = Instant::now();
    let error = run_hostile(&engine, "loop").unwrap_err();
    assert_eq!(error, RuntimeError::Timeout { limit_ms: 50 });
    assert!(error.to_string().starts_with("timeout"), "{error}");
    // Not before its limit; and liveness, not speed: a loop that were not interrupted would
    // never return.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(50), "stopped after {took:?}");
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
    assert_good_plugin_still_works(&engine);
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let engine = patient_engine();
    let error = run_hostile(&engine, "allocate").unwrap_err();
    assert_eq!(error, RuntimeError::MemoryLimit { limit_mib: 32 });
    assert!(error.to_string().starts_with("memory limit"), "{error}");
    assert_good_plugin_still_works(&engine);
}

#[test]
fn a_panic_is_a_trap_with_its_reason() {
    // Past the 50 ms default: a descheduled call must fail as a trap, not a timeout.
    let engine = patient_engine();
    let error = run_hostile(&engine, "trap").unwrap_err();
    let RuntimeError::Trap(reason) = &error else {
        panic!("not a trap: {error:?}");
    };
    // A Rust panic in wasm ends in `unreachable`: the reason names it.
    assert!(reason.contains("unreachable"), "{reason}");
    assert!(error.to_string().starts_with("trap"), "{error}");
    assert_good_plugin_still_works(&engine);
}

#[test]
fn deep_recursion_is_a_trap() {
    let engine = patient_engine();
    let error = run_hostile(&engine, "recurse").unwrap_err();
    // Rust keeps its stack in linear memory below the data: running off it is an out-of-bounds
    // access; wasmtime's own stack limit gives "stack overflow". Either way, a trap named.
    assert!(
        matches!(&error, RuntimeError::Trap(reason)
            if reason.contains("stack overflow") || reason.contains("out of bounds memory access")),
        "{error:?}"
    );
    assert_good_plugin_still_works(&engine);
}

#[test]
fn output_past_the_limit_is_refused() {
    let engine = patient_engine();
    let error = run_hostile(&engine, "big-output").unwrap_err();
    assert!(
        matches!(error, RuntimeError::OutputTooLarge { size, limit } if size > limit && limit == 1024 * 1024),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("output too large"), "{error}");
}

#[test]
fn a_huge_plugin_error_is_cut_for_the_log() {
    let engine = patient_engine();
    let error = run_hostile(&engine, "huge-error").unwrap_err();
    let RuntimeError::Plugin(message) = &error else {
        panic!("expected the plugin's own error, got {error:?}");
    };
    assert!(
        message.len() <= 1024 + '…'.len_utf8(),
        "{} bytes",
        message.len()
    );
    assert!(message.starts_with("eeee"));
}

#[test]
fn files_environment_and_network_are_denied_inside_the_sandbox() {
    let engine = patient_engine();
    for behaviour in ["read-file", "env", "socket"] {
        let output = run_hostile(&engine, behaviour).expect("the call itself succeeds");
        assert!(
            output.contains(&format!("{behaviour} denied")),
            "{behaviour}: {output}"
        );
    }
    let env = run_hostile(&engine, "env").unwrap();
    assert!(env.contains("(0 vars)"), "{env}");
}

#[test]
fn printing_and_logging_a_lot_is_capped_not_fatal() {
    // On the 50 ms default: a timeout is one of the two accepted ends (the cap itself is
    // measured by `hostile::printing_past_the_cap_logs_exactly_the_first_16_kib`).
    let engine = engine();
    // Prints until stopped: either it finishes within the time limit (output capped) or it is
    // stopped by it; neither may fail in any other way or hang.
    match run_hostile(&engine, "print") {
        Ok(output) => assert!(output.contains("printed")),
        Err(error) => assert!(matches!(error, RuntimeError::Timeout { .. }), "{error:?}"),
    }
    assert_good_plugin_still_works(&engine);
}

#[test]
fn failed_calls_do_not_leak_their_instances() {
    // The pool holds 256 instances: if failed stores leaked theirs, these calls would exhaust it.
    let engine = patient_engine();
    let plugin = load(&engine, "hostile");
    for _ in 0..400 {
        let error = plugin
            .map_event(&event("repo:push", "{}"), r#"{"behaviour": "trap"}"#)
            .unwrap_err();
        assert!(matches!(error, RuntimeError::Trap(_)));
    }
    for _ in 0..3 {
        assert!(matches!(
            plugin.map_event(&event("repo:push", "{}"), r#"{"behaviour": "allocate"}"#),
            Err(RuntimeError::MemoryLimit { .. })
        ));
    }
    assert_good_plugin_still_works(&engine);
}

fn refusal(bytes: &[u8]) -> RuntimeError {
    LoadedPlugin::load(&engine(), bytes, PluginSource::Builtin).unwrap_err()
}

#[test]
fn files_that_are_not_plugins_are_refused_with_a_reason() {
    let corrupt = refusal(b"\0asm\x0d\0\x01\0this is not a component");
    assert!(
        matches!(corrupt, RuntimeError::NotAComponent(_)),
        "{corrupt:?}"
    );
    let text = refusal(b"hello");
    assert!(
        text.to_string().contains("not a WebAssembly file"),
        "{text}"
    );
    let core_module = refusal(b"\0asm\x01\0\0\0");
    assert!(
        core_module.to_string().contains("core WebAssembly module"),
        "{core_module}"
    );

    let mut truncated = plugin_bytes("bitbucket_pipelines");
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(
        refusal(&truncated),
        RuntimeError::NotAComponent(_)
    ));

    let other_world = refusal(&plugin_bytes("other_world"));
    assert!(
        matches!(other_world, RuntimeError::WrongWorld(_)),
        "{other_world:?}"
    );
    assert!(other_world.to_string().contains("greet"), "{other_world}");

    let future = refusal(&plugin_bytes("future_api"));
    assert_eq!(
        future,
        RuntimeError::UnsupportedApiVersion {
            found: "0.9.0".into()
        }
    );
    assert!(future.to_string().contains("0.1.0, 0.2.0"), "{future}");
}
