//! The chaos run at full size (8 clients, 20 kills; see `cimjob_harness::chaos`): its
//! verdict, and what a restart after `kill -9` in the middle of the workload costs beside a
//! start on an empty data dir. A run that finds anything wrong fails the bench.

use std::time::Duration;

use anyhow::Context;
use cimjob_harness::chaos::{self, Config};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The chaos rows.
pub async fn figures() -> anyhow::Result<Vec<String>> {
    let bin = std::env::current_exe()?
        .parent()
        .context("bench binary has no directory")?
        .join("cimjob");
    let config = Config::full(bin);
    let report = chaos::run(&config).await?;
    anyhow::ensure!(
        report.violations.is_empty(),
        "the chaos run (seed {}) found {} problems:\n{}",
        report.seed,
        report.violations.len(),
        report.violations.join("\n")
    );
    let mut restarts: Vec<f64> = report.restarts.iter().copied().map(ms).collect();
    restarts.sort_by(f64::total_cmp);
    let p50 = restarts[restarts.len() / 2];
    let max = restarts.last().copied().unwrap_or(0.0);
    let fresh = ms(report.fresh_start);
    Ok(vec![
        format!(
            "| chaos: {} clients, {} × `kill -9` at random moments (seed {}): {} jobs acknowledged ({} answers lost to a kill, {} of those stored), {} runs, {} long jobs running at a kill, {} controls — every acknowledged job present, none run twice, none stuck, no orphan, every long job completed | 0 problems | – | – |",
            config.clients,
            report.kills,
            report.seed,
            report.acknowledged,
            report.unacknowledged,
            report.unacknowledged_stored,
            report.runs,
            report.long_jobs_at_kills,
            report.controls,
        ),
        format!("| restart after a `kill -9` mid-workload, spawn to serving (adopting the running work), p50 vs a start on an empty data dir | {p50:.0} ms | {fresh:.0} ms | {:.2}× |", p50 / fresh),
        format!("| the slowest of those {} restarts vs the same empty start | {max:.0} ms | {fresh:.0} ms | {:.2}× |", report.kills, max / fresh),
    ])
}
