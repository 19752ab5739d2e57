//! The real binary as a child process: [`ServerProcess`] runs any server (the gateway, the
//! bench's bare handler, Alertmanager) and waits for it to be ready; [`ChildGateway`] is the
//! gateway on a data dir that survives `kill -9` and restarts on the same address.

use super::{ADMIN_TOKEN, GatewayClient, LIVENESS_FLOOR, free_address};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The longest a server may take to become ready (a debug build on a busy 2-core machine).
const READY_LIMIT: Duration = Duration::from_secs(180);
/// How often readiness is polled: often, since the bench times start-up with it.
const READY_POLL: Duration = Duration::from_millis(2);
/// How long a stopped (SIGTERM) server may take to exit before it is killed (a liveness bound).
const STOP_LIMIT: Duration = LIVENESS_FLOOR;
/// The first argument that makes a bench or soak binary run the gateway instead.
const GATEWAY_MODE: &str = "__gateway";

/// Which program runs the gateway, and the arguments before `serve`.
#[derive(Debug, Clone)]
pub struct GatewayProgram {
    program: PathBuf,
    args: Vec<String>,
}

impl GatewayProgram {
    /// A hookgate binary: the tests pass `env!("CARGO_BIN_EXE_hookgate-e2e")`.
    pub fn binary(path: impl Into<PathBuf>) -> Self {
        Self {
            program: path.into(),
            args: Vec::new(),
        }
    }

    /// This process's own binary in gateway mode, for binaries that start with
    /// [`Self::gateway_mode`] (the bench and the soak, built with the profile they measure).
    pub fn this_binary() -> Self {
        Self {
            program: std::env::current_exe().expect("own path"),
            args: vec![GATEWAY_MODE.into()],
        }
    }

    /// A command running the gateway with `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_under(None, args)
    }

    /// [`Self::command`] under `umask` when given (set by `sh`, which then execs the gateway).
    pub fn command_under(&self, umask: Option<&str>, args: &[&str]) -> Command {
        let mut command = match umask {
            Some(umask) => {
                let mut command = Command::new("sh");
                command
                    .arg("-c")
                    .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
                    .arg(&self.program);
                command
            }
            None => Command::new(&self.program),
        };
        command.args(&self.args).args(args);
        command
    }

    /// When this process was started in gateway mode (see [`Self::this_binary`]), runs the
    /// hookgate CLI on the rest of its arguments and returns its exit code.
    pub fn gateway_mode() -> Option<ExitCode> {
        let args: Vec<String> = std::env::args().collect();
        (args.get(1).map(String::as_str) == Some(GATEWAY_MODE)).then(|| {
            hookgate::cli::main_from(
                std::iter::once("hookgate".to_string()).chain(args[2..].iter().cloned()),
            )
        })
    }
}

/// A server process listening on `address`, its stderr appended to a log file; killed when
/// dropped.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
    spawned_at: Instant,
}

impl ServerProcess {
    /// Spawns `command`, its stdout discarded and its stderr appended to `log`.
    pub fn spawn(mut command: Command, address: SocketAddr, log: &Path) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|error| panic!("log file {}: {error}", log.display()));
        let spawned_at = Instant::now();
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting a server process");
        Self {
            child,
            address,
            spawned_at,
        }
    }

    /// Waits until `GET path` answers 200; returns how long that took from the spawn. Panics
    /// if the process exits first.
    pub fn wait_ready(&mut self, path: &str) -> Duration {
        let url = format!("http://{}{path}", self.address);
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        loop {
            if client
                .get(&url)
                .send()
                .is_ok_and(|response| response.status().as_u16() == 200)
            {
                return self.spawned_at.elapsed();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the server at {} exited while starting: {status}",
                    self.address
                );
            }
            assert!(
                self.spawned_at.elapsed() < READY_LIMIT,
                "{url} never became ready"
            );
            std::thread::sleep(READY_POLL);
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("waiting for a child")
    }

    /// `kill -9`, and reaps it.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops it with SIGTERM (a graceful stop) and waits; kills it if it has not exited within
    /// [`LIVENESS_FLOOR`]. Returns the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_LIMIT;
        while Instant::now() < deadline {
            if let Some(status) = self.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill_9();
        self.child.wait().expect("reaping a child")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// How to run a [`ChildGateway`].
#[derive(Debug, Clone)]
pub struct ChildGatewayConfig {
    /// The program.
    pub program: GatewayProgram,
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// Written to `config_file` and passed as `--config`; `None` runs with the defaults.
    pub config_toml: Option<String>,
    /// Where the config is written.
    pub config_file: PathBuf,
    /// Where stderr is appended, across restarts.
    pub log: PathBuf,
    /// `HOOKGATE_ADMIN_TOKEN`; `None` lets the gateway make `<data-dir>/admin-token`.
    pub admin_token: Option<String>,
    /// `RUST_LOG`.
    pub rust_log: String,
    /// `--listen`, the same across restarts.
    pub listen: SocketAddr,
    /// More environment variables (after `RUST_LOG`, so they may override it).
    pub env: Vec<(String, String)>,
    /// The umask to run under (through `sh`, so this process keeps its own).
    pub umask: Option<String>,
}

impl ChildGatewayConfig {
    /// The test settings: private destinations allowed, a short retry schedule, and plugin
    /// calls of 5 s (a busy machine can deschedule a call past the 50 ms default and fail a
    /// record a test expects processed; tests of the time limit set it).
    pub const TEST_SETTINGS: &str = "[delivery]\nallow_private_destinations = true\n\
        retry_schedule = [\"200ms\", \"400ms\"]\n[plugins]\ntimeout_ms = 5000\n";

    /// `program` in `work_dir`: data in `work_dir/data`, config `work_dir/hookgate.toml` with
    /// [`Self::TEST_SETTINGS`], log `work_dir/gateway.log`, [`ADMIN_TOKEN`], `RUST_LOG=warn`,
    /// a free port.
    pub fn new(program: GatewayProgram, work_dir: &Path) -> Self {
        Self {
            program,
            data_dir: work_dir.join("data"),
            config_toml: Some(Self::TEST_SETTINGS.into()),
            config_file: work_dir.join("hookgate.toml"),
            log: work_dir.join("gateway.log"),
            admin_token: Some(ADMIN_TOKEN.into()),
            rust_log: "warn".into(),
            listen: free_address(),
            env: Vec::new(),
            umask: None,
        }
    }

    fn spawn(&self) -> ServerProcess {
        let listen = self.listen.to_string();
        let mut command = self
            .program
            .command_under(self.umask.as_deref(), &["serve", "--listen", &listen]);
        command.arg("--data-dir").arg(&self.data_dir);
        if let Some(toml) = &self.config_toml {
            std::fs::write(&self.config_file, toml).expect("writing the gateway config");
            command.arg("--config").arg(&self.config_file);
        }
        match &self.admin_token {
            Some(token) => command.env("HOOKGATE_ADMIN_TOKEN", token),
            None => command.env_remove("HOOKGATE_ADMIN_TOKEN"),
        };
        command.env("RUST_LOG", &self.rust_log);
        command.envs(self.env.iter().map(|(name, value)| (name, value)));
        ServerProcess::spawn(command, self.listen, &self.log)
    }

    /// Runs the gateway expecting it to stop by itself within `limit` (a start-up refusal);
    /// returns its exit status and log.
    pub fn run_to_exit(&self, limit: Duration) -> (ExitStatus, String) {
        let mut process = self.spawn();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = process.try_wait() {
                break status;
            }
            if started.elapsed() > limit {
                process.kill_9();
                panic!("hookgate did not stop: {}", read_log(&self.log));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status, read_log(&self.log))
    }
}

/// The gateway as a child process; its [`GatewayClient`] methods are called on it directly.
pub struct ChildGateway {
    config: ChildGatewayConfig,
    process: ServerProcess,
    client: GatewayClient,
    /// How long the last start took until `/readyz` answered 200.
    pub ready_after: Duration,
}

impl ChildGateway {
    /// Starts the gateway and waits until it is ready.
    pub fn start(config: ChildGatewayConfig) -> Self {
        hookgate::install_tls_provider();
        let (process, ready_after) = Self::spawn_ready(&config);
        let token = match &config.admin_token {
            Some(token) => token.clone(),
            None => std::fs::read_to_string(config.data_dir.join("admin-token"))
                .expect("the generated admin token")
                .trim()
                .to_string(),
        };
        let client = GatewayClient::new(format!("http://{}", config.listen), token);
        Self {
            config,
            process,
            client,
            ready_after,
        }
    }

    fn spawn_ready(config: &ChildGatewayConfig) -> (ServerProcess, Duration) {
        let mut process = config.spawn();
        let ready = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            process.wait_ready("/readyz")
        }));
        match ready {
            Ok(ready_after) => (process, ready_after),
            Err(_) => panic!(
                "the gateway did not become ready; its log ({}):\n{}",
                config.log.display(),
                read_log(&config.log)
            ),
        }
    }

    /// `kill -9`.
    pub fn kill_9(&mut self) {
        self.process.kill_9();
    }

    /// Stops it with SIGTERM and returns the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.process.terminate()
    }

    /// `kill -9` (when still running), then starts it again on the same data dir and address
    /// and waits until it is ready.
    pub fn restart(&mut self) {
        self.process.kill_9();
        let (process, ready_after) = Self::spawn_ready(&self.config);
        self.process = process;
        self.ready_after = ready_after;
    }

    /// The running process (for its pid, CPU time and memory).
    pub fn process(&self) -> &ServerProcess {
        &self.process
    }

    /// How it runs.
    pub fn config(&self) -> &ChildGatewayConfig {
        &self.config
    }

    /// Everything it has logged, over every start.
    pub fn log(&self) -> String {
        read_log(&self.config.log)
    }
}

impl Deref for ChildGateway {
    type Target = GatewayClient;

    fn deref(&self) -> &GatewayClient {
        &self.client
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
