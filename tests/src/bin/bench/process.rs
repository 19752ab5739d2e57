//! What the bench reads of its servers (child processes started by the harness's
//! `ServerProcess`) from `/proc`, apart from the load generator: CPU time and peak memory.

use hookgate_tests::harness::ServerProcess;
use std::time::Instant;

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// Peak resident memory of `server` so far (VmHWM), bytes.
pub fn peak_rss(server: &ServerProcess) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap_or_default();
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

/// CPU seconds (user + system) `server` has used so far.
fn server_cpu_seconds(server: &ServerProcess) -> f64 {
    cpu_seconds(&format!("/proc/{}/stat", server.pid()))
}

/// CPU seconds (user + system) of process `root` and its children now (a PostgreSQL server:
/// the postmaster and its backends).
pub fn tree_cpu_seconds(root: u32) -> f64 {
    let mut total = cpu_seconds(&format!("/proc/{root}/stat"));
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return total;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if parent == Some(root) {
            total += cpu_seconds(&format!("/proc/{pid}/stat"));
        }
    }
    total
}

/// CPU seconds of this process (the load generator and the receiver).
fn own_cpu_seconds() -> f64 {
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

/// CPU use of a server over a stretch: cores busy on average.
pub struct CpuMeter {
    server_start: f64,
    own_start: f64,
    wall_start: Instant,
}

impl CpuMeter {
    pub fn start(server: &ServerProcess) -> Self {
        Self {
            server_start: server_cpu_seconds(server),
            own_start: own_cpu_seconds(),
            wall_start: Instant::now(),
        }
    }

    /// (server cores, suite cores) since `start`.
    pub fn read(&self, server: &ServerProcess) -> (f64, f64) {
        let wall = self.wall_start.elapsed().as_secs_f64();
        (
            (server_cpu_seconds(server) - self.server_start) / wall,
            (own_cpu_seconds() - self.own_start) / wall,
        )
    }
}
