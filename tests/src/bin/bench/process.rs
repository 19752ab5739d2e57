//! Servers under test run as child processes of the suite (the suite's own binary in another
//! mode), so their CPU time and peak memory are read from `/proc` apart from the load generator.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// A running server process.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
}

impl Server {
    /// Starts `program args`, with its stderr in `log`, listening on `address`.
    pub fn start(mut command: Command, address: SocketAddr, log: &Path) -> Self {
        let log = std::fs::File::create(log).expect("server log file");
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting a server process");
        Self { child, address }
    }

    /// Waits until `GET path` answers 200; returns how long that took from `since`.
    pub fn wait_ready(&mut self, path: &str, since: Instant) -> Duration {
        let url = format!("http://{}{path}", self.address);
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(response) = client.get(&url).send()
                && response.status().as_u16() == 200
            {
                return since.elapsed();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the server at {} exited while starting: {status}",
                    self.address
                );
            }
            assert!(Instant::now() < deadline, "{url} never became ready");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// CPU seconds (user + system) the process has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Peak resident memory so far (VmHWM), bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib * 1024)
    }

    /// Stops the process with SIGTERM (a graceful stop) and waits for it.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds of this process (the load generator and the receiver).
pub fn own_cpu_seconds() -> f64 {
    cpu_seconds("/proc/self/stat")
}

fn cpu_seconds(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&index| fields.get(index)?.parse::<f64>().ok())
        .sum();
    ticks / TICKS_PER_SECOND
}

/// A free loopback port (bound and released: the child binds it next).
pub fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// CPU use of `server` over a stretch: cores busy on average.
pub struct CpuMeter {
    server_start: f64,
    own_start: f64,
    wall_start: Instant,
}

impl CpuMeter {
    pub fn start(server: &Server) -> Self {
        Self {
            server_start: server.cpu_seconds(),
            own_start: own_cpu_seconds(),
            wall_start: Instant::now(),
        }
    }

    /// (server cores, suite cores) since `start`.
    pub fn read(&self, server: &Server) -> (f64, f64) {
        let wall = self.wall_start.elapsed().as_secs_f64();
        (
            (server.cpu_seconds() - self.server_start) / wall,
            (own_cpu_seconds() - self.own_start) / wall,
        )
    }
}
