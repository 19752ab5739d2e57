//! The soak's long form: `cargo run --release -p hookgate-tests --bin soak -- --seconds 600
//! [--kills 2] [--posters 3] [--pause-ms 50] [--keep]`. Starts the gateway as a child of this
//! binary, runs the traffic and faults of `hookgate_tests::soak`, prints the report and exits
//! 1 if a promise broke.

use hookgate_tests::harness::GatewayProgram;
use hookgate_tests::soak::{SoakOptions, run};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    // The gateway runs as a child of this same binary.
    if let Some(exit) = GatewayProgram::gateway_mode() {
        return exit;
    }
    let args: Vec<String> = std::env::args().collect();
    let mut seconds = 600;
    let mut kills = 2;
    let mut posters = 3;
    // About 60 posts/s in a release build: the looping plugin's share (one post in 40, 500 ms of
    // CPU each) then takes under half the cores, so processing keeps up on a 2-core machine.
    let mut pause_ms = 50;
    let mut keep = false;
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            rest.next()
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        let parsed = match arg.as_str() {
            "--seconds" => number("--seconds").map(|value| seconds = value),
            "--kills" => number("--kills").map(|value| kills = value as usize),
            "--posters" => number("--posters").map(|value| posters = value as usize),
            "--pause-ms" => number("--pause-ms").map(|value| pause_ms = value),
            "--keep" => {
                keep = true;
                Ok(())
            }
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(message) = parsed {
            eprintln!(
                "{message}\n\nusage: soak [--seconds 600] [--kills 2] [--posters 3] [--pause-ms 50] [--keep]"
            );
            return ExitCode::from(2);
        }
    }
    let work = tempfile::tempdir().expect("work dir");
    println!(
        "hookgate soak: {seconds} s of traffic, {kills} kills, {posters} posters every {pause_ms} ms; {} cores; work dir {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        work.path().display()
    );
    let report = run(&SoakOptions {
        traffic: Duration::from_secs(seconds),
        kills,
        posters,
        pause: Duration::from_millis(pause_ms),
        program: GatewayProgram::this_binary(),
        work_dir: work.path().to_path_buf(),
        settle_limit: Duration::from_secs(600),
    });
    report.print();
    if keep {
        println!("kept {}", work.keep().display());
    }
    if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
