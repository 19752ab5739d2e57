//! The compile cache (`<data-dir>/cache`): a gateway restarted on the same data dir loads every
//! built-in plugin from it without compiling. Asserted from the registry's counts of compiles
//! and cache reads (wasmtime's cache hit count around each load), never from timing.

use hookgate::builtin::BUILTIN_PLUGINS;
use hookgate::config::PluginLimits;
use hookgate::runtime::{PluginEngine, PluginRegistry};
use hookgate_tests::harness::{ChildGateway, ChildGatewayConfig};

/// `(compiled, from_cache)` of the `built-in plugins loaded` line of each start in `log`.
fn builtin_loads(log: &str) -> Vec<(u64, u64)> {
    strip_ansi(log)
        .lines()
        .filter(|line| line.contains("built-in plugins loaded"))
        .map(|line| (field(line, "compiled"), field(line, "from_cache")))
        .collect()
}

fn field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
}

/// The log without terminal colour codes (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn a_gateway_restarted_on_its_data_dir_compiles_no_built_in_plugin() {
    let work = tempfile::tempdir().unwrap();
    let mut gateway = ChildGateway::start(ChildGatewayConfig {
        rust_log: "warn,hookgate::runtime=info".into(),
        ..ChildGatewayConfig::new(crate::hookgate_binary(), work.path())
    });
    gateway.restart();
    let builtins = BUILTIN_PLUGINS.len() as u64;
    assert_eq!(
        builtin_loads(&gateway.log()),
        [(builtins, 0), (0, builtins)],
        "the first start compiles every built-in, the restart reads each from the cache"
    );
    gateway.kill_9();
}

#[test]
fn a_registry_on_a_warm_cache_reads_every_built_in_from_it() {
    let cache = tempfile::tempdir().unwrap();
    let compile_counts = || {
        let engine = PluginEngine::new(PluginLimits::default(), Some(cache.path())).unwrap();
        let registry = PluginRegistry::new(engine, BUILTIN_PLUGINS, None).unwrap();
        let counts = registry.compile_counts();
        (counts.compiled, counts.from_cache)
    };
    let builtins = BUILTIN_PLUGINS.len() as u64;
    assert_eq!(compile_counts(), (builtins, 0), "a cold cache");
    assert_eq!(compile_counts(), (0, builtins), "a warm cache");
}
