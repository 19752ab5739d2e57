//! The bench's one table: a row per measure, printed as it is measured and again at the end.

use crate::load::Measured;
use std::time::Duration;

/// The table printed at the end, in Markdown so it can go into BENCHMARKS.md as it is.
#[derive(Default)]
pub struct Report {
    rows: Vec<[String; 8]>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn row(
        &mut self,
        measure: &str,
        rate: String,
        p50: String,
        p99: String,
        cpu: String,
        memory: String,
        result: String,
        target: &str,
    ) {
        let row = [
            measure.to_string(),
            rate,
            p50,
            p99,
            cpu,
            memory,
            result,
            target.to_string(),
        ];
        println!("  {}", row.join(" | "));
        self.rows.push(row);
    }

    pub fn load(
        &mut self,
        measure: &str,
        measured: &Measured,
        expected: u16,
        cpu: (f64, f64),
        memory: u64,
    ) {
        self.row(
            measure,
            format!("{:.0}/s", measured.rate()),
            millis(measured.percentile(0.50)),
            millis(measured.percentile(0.99)),
            format!("{:.2} + {:.2}", cpu.0, cpu.1),
            mebibytes(memory),
            format!(
                "{} ok, others: {}",
                measured.ok(),
                measured.others(expected)
            ),
            "",
        );
    }

    pub fn print(&self) {
        println!();
        println!(
            "| measure | rate | p50 | p99 | CPU (server + suite cores) | peak RSS | result | target |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for row in &self.rows {
            println!("| {} |", row.join(" | "));
        }
    }
}

pub fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

pub fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

pub fn mebibytes(bytes: u64) -> String {
    if bytes == 0 {
        String::new()
    } else {
        format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}
