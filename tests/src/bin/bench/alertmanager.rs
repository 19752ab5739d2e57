//! Alertmanager (Debian's `prometheus-alertmanager`) as the yardstick of alert intake: in
//! memory, alerts of about 200 bytes deduplicated into 500 groups, on loopback.

use crate::load::{self, Measured, RequestMaker};
use crate::process::{CpuMeter, peak_rss};
use hookgate_tests::harness::{ServerProcess, free_address};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// Groups (distinct `repo` labels) the alerts fall into, as hookgate's 500 alert keys.
const GROUPS: u64 = 500;

const CONFIG: &str =
    "route:\n  receiver: blackhole\n  group_by: [repo]\nreceivers:\n  - name: blackhole\n";

/// The installed Alertmanager, if any.
pub fn binary() -> Option<PathBuf> {
    ["/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// Its version line.
pub fn version(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .output()
        .ok()
        .and_then(|output| {
            let text = String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr);
            text.lines().next().map(str::to_string)
        })
        .unwrap_or_else(|| "unknown version".into())
}

/// Starts Alertmanager in `work_dir` and drives its alert intake.
pub fn measure(
    binary: &Path,
    work_dir: &Path,
    connections: usize,
    duration: Duration,
) -> (Measured, f64, f64, u64) {
    let config = work_dir.join("alertmanager.yml");
    std::fs::write(&config, CONFIG).expect("writing alertmanager.yml");
    let address = free_address();
    let mut command = Command::new(binary);
    command.args([
        &format!("--config.file={}", config.display()),
        &format!("--storage.path={}", work_dir.join("data").display()),
        &format!("--web.listen-address={address}"),
        "--cluster.listen-address=",
        "--log.level=warn",
    ]);
    let mut server = ServerProcess::spawn(command, address, &work_dir.join("alertmanager.log"));
    server.wait_ready("/-/ready");
    let host = address.to_string();
    let make_request: RequestMaker = Arc::new(move |sequence| {
        let body = format!(
            r#"[{{"labels":{{"alertname":"PipelineFailed","repo":"team/repo-{}","severity":"critical"}},"annotations":{{"summary":"Pipeline #{sequence} failed on main"}},"generatorURL":"http://ci.example/{sequence}"}}]"#,
            sequence % GROUPS
        );
        load::post(&host, "/api/v2/alerts", &[], body.as_bytes())
    });
    let meter = CpuMeter::start(&server);
    let measured = load::drive(address, connections, duration, 200, make_request);
    let (server_cores, suite_cores) = meter.read(&server);
    let peak = peak_rss(&server);
    server.terminate();
    (measured, server_cores, suite_cores, peak)
}
