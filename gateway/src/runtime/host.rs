//! What one plugin call's `Store` holds: an empty WASI context, the memory limiter, the log
//! import and captured stdout/stderr. Built fresh for every call, so nothing leaks between
//! events.

use bytes::Bytes;
use std::sync::{Arc, Mutex};
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Bytes of stdout (and of stderr) kept per call; the rest is dropped, not an error, so a chatty
/// plugin is cut off by its timeout rather than failing on its first long print.
const CAPTURED_OUTPUT_BYTES: usize = 16 * 1024;
/// Log lines per call, and the longest line kept.
const LOG_LINES_PER_CALL: usize = 64;
const LOG_LINE_BYTES: usize = 4096;

/// The state of one call.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    plugin_name: Arc<str>,
    log_lines_left: usize,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
}

impl HostState {
    /// Fresh state for one call of `plugin_name` with this memory limit.
    pub fn new(plugin_name: Arc<str>, memory_bytes: usize) -> Self {
        let stdout = CapturedOutput::default();
        let stderr = CapturedOutput::default();
        // Deny by default: WasiCtxBuilder starts with stdin closed, no env, no args, no
        // preopens and every socket address refused; we only redirect the output streams.
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                limit_bytes: memory_bytes,
                hit: false,
            },
            plugin_name,
            log_lines_left: LOG_LINES_PER_CALL,
            stdout,
            stderr,
        }
    }

    /// The limiter, for `Store::limiter`.
    pub fn limiter(&mut self) -> &mut MemoryLimiter {
        &mut self.limiter
    }

    /// Whether the call tried to grow memory past the limit.
    pub fn memory_limit_hit(&self) -> bool {
        self.limiter.hit
    }

    /// Writes what the plugin printed to the gateway log, tagged with its name.
    pub fn flush_output(&self) {
        for (stream, output) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let bytes = output.take();
            if bytes.is_empty() {
                continue;
            }
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                tracing::info!(plugin = %self.plugin_name, stream, "{line}");
            }
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The level of a plugin's log line, whichever WIT version's `log` it came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl HostState {
    /// One line of the plugin's `log` import, within the per-call budget, tagged with its name.
    pub(crate) fn log_line(&mut self, level: LogLevel, message: String) {
        if self.log_lines_left == 0 {
            return;
        }
        self.log_lines_left -= 1;
        let mut message = message;
        if message.len() > LOG_LINE_BYTES {
            let mut cut = LOG_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let plugin = &*self.plugin_name;
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
        if self.log_lines_left == 0 {
            tracing::warn!(
                plugin,
                "log budget of {LOG_LINES_PER_CALL} lines per call spent; further lines dropped"
            );
        }
    }
}

/// Refuses memory growth past the configured limit and remembers that it did, so the failure
/// is reported as `memory limit` rather than as whatever trap the guest's allocator raises.
pub struct MemoryLimiter {
    limit_bytes: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any honest plugin.
        Ok(desired <= 1_000_000)
    }
}

/// A capped in-memory stdout/stderr: keeps the first bytes, drops the rest silently.
#[derive(Clone, Default)]
struct CapturedOutput {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedOutput {
    fn take(&self) -> Vec<u8> {
        self.buffer
            .lock()
            .map(|mut buffer| std::mem::take(&mut *buffer))
            .unwrap_or_default()
    }

    fn append(&self, bytes: &[u8]) {
        if let Ok(mut buffer) = self.buffer.lock() {
            let room = CAPTURED_OUTPUT_BYTES.saturating_sub(buffer.len());
            buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.append(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
