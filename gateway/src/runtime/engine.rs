//! The one wasmtime `Engine`: component model, pooling allocator sized from the limits, epoch
//! interruption driven by a ticker thread, and the on-disk compile cache.

use super::RuntimeError;
use super::bindings;
use super::host::HostState;
use crate::config::PluginLimits;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::Linker;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; a call's deadline is its timeout in ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Plugin instances that may exist at once (calls in flight). Each call holds one for a few
/// microseconds, so this is far above what the worker pool can use; past it, a call fails
/// rather than the process growing.
const MAX_CONCURRENT_INSTANCES: u32 = 256;

/// Pool slots kept warm while unused: room for each of a few plugins (the four built-ins and
/// some drop-ins) on each of the threads that call them at once.
const MAX_UNUSED_WARM_SLOTS: u32 = 32;

/// Linear memory kept resident between calls in a pool slot (only dirty pages are reset).
const KEEP_RESIDENT_BYTES: usize = 4 << 20;
/// Table bytes kept resident likewise.
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// The engine and its epoch ticker. Cloning shares both; the ticker stops with the last clone.
#[derive(Clone)]
pub struct PluginEngine {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    limits: PluginLimits,
    /// The compile cache, kept to read its hit count (the engine holds its own clone).
    cache: Option<wasmtime::Cache>,
    _ticker: Arc<EpochTicker>,
}

impl PluginEngine {
    /// An engine for these limits. With `cache_dir`, compiled code is cached there, keyed by
    /// the module's hash and the engine's configuration, so a restart does not recompile.
    pub fn new(limits: PluginLimits, cache_dir: Option<&Path>) -> Result<Self, RuntimeError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);

        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(MAX_CONCURRENT_INSTANCES);
        // A Rust wasm32-wasip2 component is one main module plus small shims.
        pool.max_core_instances_per_component(16);
        pool.max_memories_per_component(2);
        pool.max_tables_per_component(8);
        pool.total_core_instances(MAX_CONCURRENT_INSTANCES * 16);
        pool.total_memories(MAX_CONCURRENT_INSTANCES * 2);
        pool.total_tables(MAX_CONCURRENT_INSTANCES * 8);
        // Calls are synchronous, so no fiber stack is ever taken from the pool; the default
        // reserves 1,000 of them, each with a guard page that costs two kernel mappings, and a
        // process with a few engines (the tests) ran out of its mapping limit.
        pool.total_stacks(0);
        pool.max_memory_size(limits.memory_bytes);
        // Pages a call touched stay mapped for the next call in the slot: PAGEMAP_SCAN (Linux
        // 6.7+) finds the dirty ones and only those are reset, instead of handing every page
        // back to the kernel and faulting it in again on the next call (most of a small call's
        // cost). Where the ioctl is missing, wasmtime falls back to resetting the low pages.
        pool.pagemap_scan(Enabled::Auto);
        pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES.min(limits.memory_bytes));
        pool.table_keep_resident(KEEP_RESIDENT_TABLE_BYTES);
        // A freed slot stays warm for the plugin that ran in it (its memory image mapped, its
        // touched pages resident), so the next call of that plugin skips mapping it again. With
        // none kept, plugins called in turn (a mapper, then a formatter, then a notifier)
        // evicted each other's slots on every call. Bounded, so the memory kept resident is
        // that of a few slots per plugin, not of every slot ever used.
        pool.max_unused_warm_slots(MAX_UNUSED_WARM_SLOTS);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));

        let mut cache = None;
        if let Some(dir) = cache_dir {
            std::fs::create_dir_all(dir).map_err(|error| {
                RuntimeError::Cache(format!("cannot create {}: {error}", dir.display()))
            })?;
            let mut cache_config = wasmtime::CacheConfig::new();
            cache_config.with_directory(dir);
            let compile_cache = wasmtime::Cache::new(cache_config)
                .map_err(|error| RuntimeError::Cache(error.to_string()))?;
            config.cache(Some(compile_cache.clone()));
            cache = Some(compile_cache);
        }

        let engine =
            Engine::new(&config).map_err(|error| RuntimeError::Engine(error.to_string()))?;
        let linker = Arc::new(host_linker(&engine)?);
        let ticker = EpochTicker::start(engine.clone());
        Ok(Self {
            engine,
            linker,
            limits,
            cache,
            _ticker: Arc::new(ticker),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker every plugin is instantiated with: WASI (with an empty context) and `log`.
    pub(crate) fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// Components read from the compile cache instead of compiled, since the engine started
    /// (0 without a cache). Each load either compiles or reads one cache entry.
    pub fn cache_hits(&self) -> u64 {
        self.cache
            .as_ref()
            .map_or(0, |cache| cache.cache_hits() as u64)
    }

    /// The per-call limits.
    pub fn limits(&self) -> PluginLimits {
        self.limits
    }

    /// The epoch deadline, in ticks, for one call.
    pub(crate) fn deadline_ticks(&self) -> u64 {
        let ticks = self.limits.timeout.as_micros() / EPOCH_TICK.as_micros();
        (ticks as u64).max(1)
    }
}

/// The host side of every world: WASI p2 (what Rust's std needs; the context itself grants
/// nothing) and the one hookgate import, `log`, of every served WIT version.
fn host_linker(engine: &Engine) -> Result<Linker<HostState>, RuntimeError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(|error| RuntimeError::Engine(format!("linking WASI: {error:#}")))?;
    bindings::add_to_linker(&mut linker)
        .map_err(|error| RuntimeError::Engine(format!("linking log: {error:#}")))?;
    Ok(linker)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("hookgate-epoch".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch ticker thread");
        Self { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
