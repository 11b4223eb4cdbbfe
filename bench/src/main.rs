//! `cimjob-bench`: figures of the real service beside baselines measured in the same run,
//! printed as a markdown table (figure, ours, baseline, ratio). These machines are shared and
//! noisy, so the ratio is the figure to compare; each measurement is repeated and the median
//! kept.
//!
//! Run it with `bench/run` (builds release binaries first).

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use futures_util::StreamExt;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Benchmarks cimjob against same-run baselines")]
struct Args {
    /// Jobs per measurement
    #[arg(long, default_value_t = 1000)]
    jobs: usize,
    /// Concurrent submitting clients
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Jobs running at once, in the service and in the baseline [default: CPUs]
    #[arg(long)]
    max_running: Option<usize>,
    /// Repetitions of each measurement (the median is reported)
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

/// A service on a fresh data dir; killed and reaped on drop.
struct Service {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Service {
    fn start(max_running: usize) -> anyhow::Result<Service> {
        let exe = std::env::current_exe()?;
        let bin: PathBuf = exe
            .parent()
            .context("bench binary has no directory")?
            .join("cimjob");
        let dir = tempfile::tempdir()?;
        let child = Command::new(&bin)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--max-running",
                &max_running.to_string(),
                "--data-dir",
            ])
            .arg(dir.path())
            .env("CIMJOB_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {} (build it with `cargo build --release -p cimjob`)",
                    bin.display()
                )
            })?;
        let addr_file = dir.path().join("cimjob.addr");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(addr) = std::fs::read_to_string(&addr_file) {
                if !addr.trim().is_empty() {
                    return Ok(Service {
                        child,
                        url: format!("http://{}", addr.trim()),
                        _dir: dir,
                    });
                }
            }
            if Instant::now() > deadline {
                bail!("the service did not start");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Plain Rust: `workers` threads each spawning and waiting for /bin/true until `n` ran.
fn baseline_spawn_loop(n: usize, workers: usize) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || {
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let status = Command::new("/bin/true").status().expect("spawn /bin/true");
                    assert!(status.success());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("worker");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The service: `n` `/bin/true` jobs submitted by `clients` concurrent HTTP clients, timed
/// from the first submission to the n-th Completed event. Returns (jobs/s completed,
/// submissions/s acknowledged).
async fn service_jobs(n: usize, clients: usize, max_running: usize) -> anyhow::Result<(f64, f64)> {
    let service = Service::start(max_running)?;
    let http = reqwest::Client::new();
    let events = http
        .get(format!("{}/api/v1/events", service.url))
        .send()
        .await?;
    let mut events = eventsource_stream::Eventsource::eventsource(events.bytes_stream());

    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let submitters: Vec<_> = (0..clients)
        .map(|_| {
            let (http, url, next) = (http.clone(), service.url.clone(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let body =
                        json!({"properties": {"Name": "true", "CommandLine": ["/bin/true"]}});
                    let resp = http
                        .post(format!("{url}/api/v1/jobs"))
                        .json(&body)
                        .send()
                        .await?;
                    anyhow::ensure!(
                        resp.status().as_u16() == 201,
                        "submission refused: {}",
                        resp.text().await?
                    );
                }
                anyhow::Ok(())
            })
        })
        .collect();
    let waiter = tokio::spawn(async move {
        let mut completed = HashSet::new();
        while completed.len() < n {
            let event = events.next().await.context("event stream ended")??;
            let value: Value = serde_json::from_str(&event.data)?;
            anyhow::ensure!(value.get("lagged").is_none(), "event stream lagged");
            match value["job"]["JobState"].as_u64() {
                Some(7) => {
                    completed.insert(value["InstanceID"].as_str().unwrap_or_default().to_string());
                }
                Some(8..=10) => bail!("a job did not complete: {value}"),
                _ => {}
            }
        }
        anyhow::Ok(Instant::now())
    });
    for s in submitters {
        s.await??;
    }
    let submitted = start.elapsed();
    let done = tokio::time::timeout(Duration::from_secs(600), waiter).await???;
    let total = done.duration_since(start);
    Ok((
        n as f64 / total.as_secs_f64(),
        n as f64 / submitted.as_secs_f64(),
    ))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let max_running = args
        .max_running
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (mut ours, mut acks, mut base) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.repeat {
        // alternate the order so drift on a shared machine hits both sides
        if round % 2 == 0 {
            base.push(baseline_spawn_loop(args.jobs, max_running));
        }
        let (jobs, subs) = rt.block_on(service_jobs(args.jobs, args.clients, max_running))?;
        ours.push(jobs);
        acks.push(subs);
        if round % 2 == 1 {
            base.push(baseline_spawn_loop(args.jobs, max_running));
        }
        eprintln!(
            "round {}: service {jobs:.0} jobs/s (submissions {subs:.0}/s), baseline {:.0}/s",
            round + 1,
            base.last().unwrap()
        );
    }
    let (ours, acks, base) = (median(ours), median(acks), median(base));
    println!(
        "\n{} `/bin/true` jobs, {} clients, {} running at once, median of {} runs\n",
        args.jobs, args.clients, max_running, args.repeat
    );
    println!("| figure | ours | baseline | ratio |");
    println!("|---|---|---|---|");
    println!("| process jobs completed per second (service, SQLite) vs plain spawn+wait loop | {ours:.0} | {base:.0} | {:.2}× |", ours / base);
    println!("| submissions acknowledged per second while they run | {acks:.0} | – | – |");
    Ok(())
}
