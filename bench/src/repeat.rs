//! Start lateness of recurring work: `n` jobs on RepeatInterval 1 s (`cimjob submit --every
//! 1s`), their first runs spread across one second, each running `runs` times; lateness = a
//! run's start minus the place on the job's grid (ScheduledStartTime + k seconds) it started
//! for, the last one at or before it; an occurrence skipped because the run before it still
//! went (OverlapPolicy Skip) is counted apart (SkippedRuns). Beside the same grid kept by
//! plain tokio timers, each spawning /bin/true when due.

use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Value};

use super::{cim_time, http_client, percentiles, submit_all, wait_all_final, Service};

/// Lateness of every run, in milliseconds, and the occurrences skipped.
async fn service_lateness(n: usize, runs: u32, clients: usize) -> anyhow::Result<(Vec<f64>, u64)> {
    let service = Service::start(n)?;
    let lead = jiff::SignedDuration::from_secs(8);
    let base = jiff::Timestamp::now() + lead;
    let anchor =
        move |i: usize| base + jiff::SignedDuration::from_micros((i * 1_000_000 / n) as i64);
    submit_all(service.url.clone(), n, clients, move |i| {
        json!({"properties": {
            "Name": format!("r{i}"),
            "CommandLine": ["/bin/true"],
            "ScheduledStartTime": cim_time(anchor(i)),
            "RepeatInterval": "00000000000001.000000:000",
            "JobRunTimes": runs,
        }})
    })
    .await?;
    anyhow::ensure!(
        jiff::Timestamp::now() < base,
        "submissions took longer than the {lead} lead"
    );
    tokio::time::sleep(Duration::from_secs(8 + u64::from(runs))).await;
    let jobs = wait_all_final(&service.url, n, Duration::from_secs(1)).await?;
    let http = http_client();
    let mut late = Vec::with_capacity(n * runs as usize);
    let mut skipped = 0;
    for job in &jobs {
        skipped += job["SkippedRuns"].as_u64().unwrap_or(0);
        anyhow::ensure!(
            job["JobState"].as_u64() == Some(7)
                && job["RunCount"].as_u64() == Some(u64::from(runs)),
            "a job did not run {runs} times and complete: {job}"
        );
        let i: usize = job["Name"].as_str().unwrap_or_default()[1..].parse()?;
        let id = job["InstanceID"].as_str().context("an InstanceID")?;
        let number = id.trim_start_matches("CIMJOB:");
        let history: Value = http
            .get(format!("{}/api/v1/jobs/{number}/runs", service.url))
            .send()
            .await?
            .json()
            .await?;
        for run in history["runs"].as_array().context("runs")? {
            let started: jiff::Timestamp =
                run["started_at"].as_str().context("started_at")?.parse()?;
            // the slot it started for: the last at or before its start (one a millisecond
            // early, started ahead by the service's lead, counts for the next)
            let since = started.duration_since(anchor(i)).as_secs_f64();
            let slot = (since + 0.001).floor().max(0.0);
            late.push((since - slot) * 1000.0);
        }
    }
    Ok((late, skipped))
}

/// The same grid with tokio timers: lateness = spawn returned minus due.
async fn baseline_lateness(n: usize, runs: u32) -> anyhow::Result<Vec<f64>> {
    let base = tokio::time::Instant::now() + Duration::from_secs(1);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let first = base + Duration::from_micros((i * 1_000_000 / n) as u64);
            tokio::spawn(async move {
                let mut late = Vec::with_capacity(runs as usize);
                for k in 0..runs {
                    let at = first + Duration::from_secs(u64::from(k));
                    tokio::time::sleep_until(at).await;
                    let mut child = tokio::process::Command::new("/bin/true").spawn()?;
                    late.push(
                        tokio::time::Instant::now().duration_since(at).as_secs_f64() * 1000.0,
                    );
                    child.wait().await?;
                }
                anyhow::Ok(late)
            })
        })
        .collect();
    let mut late = Vec::with_capacity(n * runs as usize);
    for t in tasks {
        late.extend(t.await??);
    }
    Ok(late)
}

/// The table rows: p50, p99 and max.
pub async fn figures(n: usize, runs: u32, clients: usize) -> anyhow::Result<Vec<String>> {
    let (late, skipped) = service_lateness(n, runs, clients).await?;
    let ours = percentiles(late);
    let base = percentiles(baseline_lateness(n, runs).await?);
    let skipped = format!("| occurrences of those skipped because the run before still went (SkippedRuns, of {}) | {skipped} | 0 | – |", n * runs as usize);
    Ok([("p50", ours.0, base.0), ("p99", ours.1, base.1), ("max", ours.2, base.2)]
        .into_iter()
        .map(|(name, o, b)| {
            format!("| start lateness {name}, {n} jobs on --every 1s, {runs} runs each (place on the grid → process started) vs tokio timers spawning /bin/true on the same grid | {o:.2} ms | {b:.2} ms | {:.2}× |", o / b.max(0.001))
        })
        .chain([skipped])
        .collect())
}
