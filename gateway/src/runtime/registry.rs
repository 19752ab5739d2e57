//! The loaded plugins: the built-ins compiled into the binary, overlaid by drop-ins from
//! `<data-dir>/plugins/*.wasm`. The current set sits behind an atomically swapped pointer, so a
//! reload never blocks a call and a call never sees half a reload; a call keeps the `Arc` of the
//! plugin it started with.

use super::engine::PluginEngine;
use super::plugin::{LoadedPlugin, PluginSource};
use super::{PluginKind, RuntimeError};
use arc_swap::ArcSwap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A plugin uploaded through the API, as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComponent {
    /// The name it was stored under.
    pub name: String,
    /// The SHA-256 of `bytes`, hex.
    pub digest: String,
    /// The component.
    pub bytes: Vec<u8>,
}

/// The pseudo-path prefix of a plugin uploaded through the API.
const STORED_PREFIX: &str = "stored:";

/// How long the drop-in folder must be quiet before a reload, so that a file being copied is
/// read once, whole.
const RELOAD_SETTLE: Duration = Duration::from_millis(200);

/// A plugin compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPlugin {
    /// The file it was built as, for messages.
    pub file_name: &'static str,
    /// The component.
    pub bytes: &'static [u8],
}

/// How the registry's loads got their machine code: compiled, or read from the engine's
/// compile cache (`<data-dir>/cache`). A gateway restarted on the same data dir compiles none
/// of its built-ins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CompileCounts {
    /// Loads that compiled the component.
    pub compiled: u64,
    /// Loads that read it from the compile cache.
    pub from_cache: u64,
}

#[derive(Default)]
struct CompileCounters {
    compiled: AtomicU64,
    from_cache: AtomicU64,
}

impl CompileCounters {
    /// Loads a plugin and counts where its code came from, by the engine's cache hits before
    /// and after (loads on one registry never overlap: built-ins load before any reload, and
    /// reloads take the drop-in lock).
    fn load(
        &self,
        engine: &PluginEngine,
        bytes: &[u8],
        source: PluginSource,
    ) -> Result<LoadedPlugin, RuntimeError> {
        let hits_before = engine.cache_hits();
        let loaded = LoadedPlugin::load(engine, bytes, source)?;
        let counter = if engine.cache_hits() > hits_before {
            &self.from_cache
        } else {
            &self.compiled
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(loaded)
    }

    fn read(&self) -> CompileCounts {
        CompileCounts {
            compiled: self.compiled.load(Ordering::Relaxed),
            from_cache: self.from_cache.load(Ordering::Relaxed),
        }
    }
}

/// A file that could not be loaded, and why. The plugin previously loaded from it, if any,
/// stays in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadError {
    /// The file.
    pub file: PathBuf,
    /// Why it was refused.
    pub error: String,
    /// When, in ms since the Unix epoch.
    pub at: u64,
}

/// One drop-in file as last seen.
#[derive(Clone)]
struct DropinFile {
    sha256: String,
    /// The plugin in use from this file: the last version that loaded.
    plugin: Option<Arc<LoadedPlugin>>,
    /// The error of the current bytes, if they did not load.
    error: Option<LoadError>,
}

/// A consistent view of the loaded plugins.
#[derive(Clone, Default)]
pub struct PluginSet {
    by_name: BTreeMap<String, Arc<LoadedPlugin>>,
    errors: Vec<LoadError>,
}

impl PluginSet {
    /// The plugin with this name.
    pub fn get(&self, name: &str) -> Option<&Arc<LoadedPlugin>> {
        self.by_name.get(name)
    }

    /// The plugin with this name and kind, or an error saying what is there instead.
    pub fn get_kind(
        &self,
        name: &str,
        kind: PluginKind,
    ) -> Result<&Arc<LoadedPlugin>, RuntimeError> {
        let plugin = self
            .get(name)
            .ok_or_else(|| RuntimeError::NotFound(name.to_string()))?;
        if plugin.kind() != kind {
            return Err(RuntimeError::WrongKind {
                plugin: name.to_string(),
                expected: kind,
                actual: plugin.kind(),
            });
        }
        Ok(plugin)
    }

    /// Every plugin in use, by name.
    pub fn plugins(&self) -> impl Iterator<Item = &Arc<LoadedPlugin>> {
        self.by_name.values()
    }

    /// Files that were refused at the last reload.
    pub fn errors(&self) -> &[LoadError] {
        &self.errors
    }
}

/// The registry: built-ins, drop-ins, and the current [`PluginSet`].
pub struct PluginRegistry {
    engine: PluginEngine,
    builtins: Vec<Arc<LoadedPlugin>>,
    dropin_dir: Option<PathBuf>,
    dropins: Mutex<BTreeMap<PathBuf, DropinFile>>,
    /// Plugins uploaded through the API, under the pseudo-path `stored:<name>` (after every
    /// absolute drop-in path, so a drop-in file keeps a name it claims).
    stored: Mutex<BTreeMap<PathBuf, StoredComponent>>,
    current: ArcSwap<PluginSet>,
    compile_counters: CompileCounters,
}

impl PluginRegistry {
    /// Loads the built-ins and, when `dropin_dir` is given, the drop-ins in it (creating it
    /// when missing). A built-in that does not load is an error: it is a broken build.
    pub fn new(
        engine: PluginEngine,
        builtins: &[BuiltinPlugin],
        dropin_dir: Option<PathBuf>,
    ) -> Result<Arc<Self>, RuntimeError> {
        let compile_counters = CompileCounters::default();
        let builtins = builtins
            .iter()
            .map(|builtin| {
                compile_counters
                    .load(&engine, builtin.bytes, PluginSource::Builtin)
                    .map(Arc::new)
                    .map_err(|error| {
                        RuntimeError::NotAComponent(format!(
                            "built-in {}: {error}",
                            builtin.file_name
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let counts = compile_counters.read();
        tracing::info!(
            compiled = counts.compiled,
            from_cache = counts.from_cache,
            "built-in plugins loaded"
        );
        if let Some(dir) = &dropin_dir {
            std::fs::create_dir_all(dir).map_err(|error| RuntimeError::Io {
                path: dir.display().to_string(),
                reason: error.to_string(),
            })?;
        }
        let registry = Arc::new(Self {
            engine,
            builtins,
            dropin_dir,
            dropins: Mutex::new(BTreeMap::new()),
            stored: Mutex::new(BTreeMap::new()),
            current: ArcSwap::from_pointee(PluginSet::default()),
            compile_counters,
        });
        registry.reload();
        Ok(registry)
    }

    /// The current set. Hold it (or a plugin from it) for the length of a call.
    pub fn snapshot(&self) -> Arc<PluginSet> {
        self.current.load_full()
    }

    /// The plugin with this name in the current set.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.current.load().get(name).cloned()
    }

    /// The engine plugins run on.
    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    /// Plugin loads so far (built-ins and drop-ins), by where their code came from.
    pub fn compile_counts(&self) -> CompileCounts {
        self.compile_counters.read()
    }

    /// The drop-in folder.
    pub fn dropin_dir(&self) -> Option<&Path> {
        self.dropin_dir.as_deref()
    }

    /// Rescans the drop-in folder and swaps in the new set. Unchanged files are not reloaded;
    /// a file that fails keeps the version loaded before from it, if any. Returns the new set.
    pub fn reload(&self) -> Arc<PluginSet> {
        // One reload at a time; calls are never blocked by this lock.
        let mut dropins = match self.dropins.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut files = self.scan_dropin_dir();
        let stored = self
            .stored
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        files.extend(
            stored
                .into_iter()
                .map(|(path, component)| (path, Ok(component.bytes))),
        );
        let mut next: BTreeMap<PathBuf, DropinFile> = BTreeMap::new();
        for (path, read) in files {
            let bytes = match read {
                Ok(bytes) => bytes,
                Err(reason) => {
                    let known = dropins.get(&path).and_then(|file| file.error.as_ref());
                    if known.is_none_or(|known| known.error != reason) {
                        tracing::warn!(file = %path.display(), %reason, "plugin file refused");
                    }
                    let previous = dropins.get(&path).and_then(|file| file.plugin.clone());
                    next.insert(
                        path.clone(),
                        DropinFile {
                            sha256: String::new(),
                            plugin: previous,
                            error: Some(load_error(&path, reason)),
                        },
                    );
                    continue;
                }
            };
            let sha256 = sha256_hex(&bytes);
            if let Some(known) = dropins.get(&path).filter(|file| file.sha256 == sha256) {
                next.insert(path, known.clone());
                continue;
            }
            let previous = dropins.get(&path).and_then(|file| file.plugin.clone());
            let source = match path
                .to_str()
                .and_then(|path| path.strip_prefix(STORED_PREFIX))
            {
                Some(name) => PluginSource::Stored(name.to_string()),
                None => PluginSource::Dropin(path.clone()),
            };
            let loaded = self.compile_counters.load(&self.engine, &bytes, source);
            let file = match loaded {
                Ok(plugin) => DropinFile {
                    sha256,
                    plugin: Some(Arc::new(plugin)),
                    error: None,
                },
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "plugin refused");
                    DropinFile {
                        sha256,
                        plugin: previous,
                        error: Some(load_error(&path, error.to_string())),
                    }
                }
            };
            next.insert(path, file);
        }
        for path in dropins.keys().filter(|path| !next.contains_key(*path)) {
            tracing::info!(file = %path.display(), "drop-in removed");
        }
        let set = self.compose(&next);
        *dropins = next;
        let set = Arc::new(set);
        let previous = self.current.swap(set.clone());
        log_changes(&previous, &set);
        set
    }

    /// Built-ins by name, overlaid by drop-ins by name (files in path order; a second file
    /// claiming a name already taken by a drop-in is refused).
    fn compose(&self, dropins: &BTreeMap<PathBuf, DropinFile>) -> PluginSet {
        let mut by_name: BTreeMap<String, Arc<LoadedPlugin>> = self
            .builtins
            .iter()
            .map(|plugin| (plugin.name().to_string(), plugin.clone()))
            .collect();
        let mut errors = Vec::new();
        let mut claimed: BTreeMap<String, &Path> = BTreeMap::new();
        for (path, file) in dropins {
            if let Some(error) = &file.error {
                errors.push(error.clone());
            }
            let Some(plugin) = &file.plugin else { continue };
            if let Some(owner) = claimed.get(plugin.name()) {
                errors.push(load_error(
                    path,
                    format!(
                        "plugin name {:?} is already provided by {}",
                        plugin.name(),
                        owner.display()
                    ),
                ));
                continue;
            }
            claimed.insert(plugin.name().to_string(), path);
            by_name.insert(plugin.name().to_string(), plugin.clone());
        }
        PluginSet { by_name, errors }
    }

    /// Replaces the plugins uploaded through the API and reloads; returns the new set. Blocks
    /// (compiles what changed).
    pub fn set_stored(&self, plugins: Vec<StoredComponent>) -> Arc<PluginSet> {
        *self
            .stored
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = plugins
            .into_iter()
            .map(|component| {
                (
                    PathBuf::from(format!("{STORED_PREFIX}{}", component.name)),
                    component,
                )
            })
            .collect();
        self.reload()
    }

    /// The plugins uploaded through the API as loaded now.
    pub fn stored(&self) -> Vec<StoredComponent> {
        self.stored
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The `.wasm` files of the drop-in folder in path order, each read whole or refused: a
    /// file past `[plugins] max_file_mib` (checked before reading) or a link leading out of
    /// the folder.
    fn scan_dropin_dir(&self) -> Vec<(PathBuf, Result<Vec<u8>, String>)> {
        let Some(dir) = &self.dropin_dir else {
            return Vec::new();
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "cannot read the plugin folder");
                return Vec::new();
            }
        };
        // Links are compared with the folder as the kernel resolves it.
        let real_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
        let max_bytes = self.engine.limits().dropin_file_bytes;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm") && path.is_file())
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let read = read_dropin(&path, &real_dir, max_bytes);
                (path, read)
            })
            .collect()
    }

    /// Watches the drop-in folder and reloads within [`RELOAD_SETTLE`] of the last change.
    /// Stops when the returned handle or the registry is dropped.
    pub fn watch(self: &Arc<Self>) -> Result<WatchHandle, RuntimeError> {
        use notify::Watcher;
        let Some(dir) = self.dropin_dir.clone() else {
            return Ok(WatchHandle { _watcher: None });
        };
        let (changes, changed) = mpsc::channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok() {
                    let _ = changes.send(());
                }
            })
            .map_err(|error| RuntimeError::Io {
                path: dir.display().to_string(),
                reason: format!("cannot watch: {error}"),
            })?;
        watcher
            .watch(&dir, notify::RecursiveMode::NonRecursive)
            .map_err(|error| RuntimeError::Io {
                path: dir.display().to_string(),
                reason: format!("cannot watch: {error}"),
            })?;
        let registry: Weak<Self> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("hookgate-plugin-watch".into())
            .spawn(move || {
                // Each change starts a quiet period; reload when it passes without another.
                while changed.recv().is_ok() {
                    loop {
                        match changed.recv_timeout(RELOAD_SETTLE) {
                            Ok(()) => continue,
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    let Some(registry) = registry.upgrade() else {
                        return;
                    };
                    registry.reload();
                }
            })
            .map_err(|error| RuntimeError::Io {
                path: dir.display().to_string(),
                reason: format!("cannot start the watcher thread: {error}"),
            })?;
        Ok(WatchHandle {
            _watcher: Some(Box::new(watcher)),
        })
    }
}

/// Keeps the drop-in folder watched while alive.
pub struct WatchHandle {
    _watcher: Option<Box<dyn notify::Watcher + Send>>,
}

/// Reads one drop-in: through a link only when the file it leads to is inside `real_dir`
/// (else a link could load any file the gateway may read as a plugin), and only when its size,
/// from its metadata, is within `max_bytes` (a huge file would be read whole on every reload).
fn read_dropin(path: &Path, real_dir: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let target = std::fs::canonicalize(path).map_err(|error| error.to_string())?;
    if !target.starts_with(real_dir) {
        return Err(format!(
            "links to {}, outside the plugins folder; links are followed only within it",
            target.display()
        ));
    }
    let file = std::fs::File::open(&target).map_err(|error| error.to_string())?;
    let size = file.metadata().map_err(|error| error.to_string())?.len();
    let too_big = |size: u64| {
        format!(
            "is {size} bytes; the limit is {max_bytes} bytes ([plugins] max_file_mib = {})",
            max_bytes / (1024 * 1024)
        )
    };
    if size > max_bytes {
        return Err(too_big(size));
    }
    // The file may grow after its size was read: read at most one byte past the limit.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| error.to_string())?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

fn load_error(path: &Path, error: String) -> LoadError {
    LoadError {
        file: path.to_path_buf(),
        error,
        at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as u64),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Logs what a reload changed: plugins added, replaced (and whether a drop-in now shadows a
/// built-in), removed.
fn log_changes(previous: &PluginSet, next: &PluginSet) {
    for plugin in next.plugins() {
        let before = previous.get(plugin.name());
        if before.is_some_and(|before| Arc::ptr_eq(before, plugin)) {
            continue;
        }
        let info = plugin.info();
        match (before, plugin.source()) {
            (Some(before), PluginSource::Dropin(path))
                if *before.source() == PluginSource::Builtin =>
            {
                tracing::info!(plugin = %info.name, version = %info.version, file = %path.display(), "drop-in replaces the built-in plugin");
            }
            (Some(_), _) => {
                tracing::info!(plugin = %info.name, version = %info.version, source = plugin.source().as_str(), "plugin replaced");
            }
            (None, _) => {
                tracing::info!(plugin = %info.name, version = %info.version, kind = %info.kind, source = plugin.source().as_str(), "plugin loaded");
            }
        }
    }
    for plugin in previous.plugins() {
        if next.get(plugin.name()).is_none() {
            tracing::info!(plugin = %plugin.name(), "plugin removed");
        }
    }
}
