//! The cluster figures (issue 15): one node and three nodes keeping their jobs on the local
//! PostgreSQL beside graphile-worker on the same server at the same concurrency (both running
//! `/bin/true`) and beside our node on SQLite; insert-to-start latency of both; a Terminate
//! sent to a node that does not run the job; the rescue after `kill -9` of a node; what an
//! idle node costs the database.
//!
//! graphile-worker is installed from npm on first use under `target/` (not committed); its
//! side of each figure is `bench/graphile/bench.js`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use cimjob_harness::postgres::{test_database_url, TestSchema};
use serde_json::{json, Value};

use super::{
    http_client, median, parse_cim_time, percentiles, service_jobs, service_jobs_on, submit_all,
    Service,
};

/// The graphile-worker release the figures are measured against.
const GRAPHILE_VERSION: &str = "0.16.6";

/// Our driver of graphile-worker.
const GRAPHILE_DRIVER: &str = include_str!("../graphile/bench.js");

/// Jobs of the latency figures, and how many are added per second.
const LATENCY_JOBS: usize = 200;
const LATENCY_RATE: usize = 20;

/// The directory holding graphile-worker and our driver, installed (once) beside the bench
/// binary's target dir.
fn graphile() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let target = exe
        .parent()
        .and_then(|release| release.parent())
        .context("the bench binary is not in a target dir")?;
    let dir = target.join(format!("graphile-worker-{GRAPHILE_VERSION}"));
    if !dir.join("node_modules/graphile-worker").exists() {
        std::fs::create_dir_all(&dir)?;
        eprintln!(
            "installing graphile-worker {GRAPHILE_VERSION} from npm into {}",
            dir.display()
        );
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(format!("graphile-worker@{GRAPHILE_VERSION}"))
            .stdout(Stdio::null())
            .status()
            .context("npm (Node.js) is needed for the graphile-worker baseline")?;
        anyhow::ensure!(status.success(), "npm install graphile-worker failed");
    }
    std::fs::write(dir.join("bench.js"), GRAPHILE_DRIVER)?;
    Ok(dir)
}

/// One run of the driver (`throughput` or `latency`) in a schema of its own; its JSON line.
fn graphile_run(mode: &str, n: usize, concurrency: usize) -> anyhow::Result<Value> {
    let dir = graphile()?;
    let schema = TestSchema::new("graphile");
    let out = Command::new("node")
        .arg(dir.join("bench.js"))
        .args([
            mode,
            &test_database_url(),
            schema.name(),
            &n.to_string(),
            &concurrency.to_string(),
            &LATENCY_RATE.to_string(),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("node")?;
    anyhow::ensure!(out.status.success(), "graphile-worker's {mode} run failed");
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// A node of ours on a fresh schema of the local PostgreSQL.
fn node_on(schema: &TestSchema, name: &str, max_running: usize) -> anyhow::Result<Service> {
    let url = schema.url();
    Service::start_with(
        tempfile::tempdir()?,
        max_running,
        &["--database-url", &url, "--node", name],
    )
}

/// Submits one job (`properties`) through the JSON API; its InstanceID.
async fn submit(http: &reqwest::Client, url: &str, properties: Value) -> anyhow::Result<String> {
    let job: Value = http
        .post(format!("{url}/api/v1/jobs"))
        .json(&json!({ "properties": properties }))
        .send()
        .await?
        .json()
        .await?;
    Ok(job["InstanceID"]
        .as_str()
        .context("an InstanceID")?
        .to_owned())
}

/// `/bin/true` jobs/s: (one node of ours on PostgreSQL, three nodes on one schema, our node
/// on SQLite, graphile-worker), the medians of `repeat` rounds. The three nodes share the
/// same slots (`max_running` between them) and clients, so the work is the same.
async fn throughput(
    n: usize,
    clients: usize,
    max_running: usize,
    repeat: usize,
) -> anyhow::Result<(f64, f64, f64, f64)> {
    let mut rounds = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..repeat {
        let schema = TestSchema::new("bench_cluster");
        let (pg, _, _) =
            service_jobs_on(node_on(&schema, "bench", max_running)?, n, clients).await?;
        let three = three_nodes(n, clients, max_running).await?;
        let (sqlite, _, _) = service_jobs(n, clients, max_running).await?;
        let gw = graphile_run("throughput", n, max_running)?["jobs_per_s"]
            .as_f64()
            .context("graphile-worker's rate")?;
        eprintln!(
            "cluster round {}: one node on PostgreSQL {pg:.0} jobs/s, three {three:.0}/s, on SQLite {sqlite:.0}/s, graphile-worker {gw:.0}/s",
            round + 1
        );
        rounds.0.push(pg);
        rounds.1.push(three);
        rounds.2.push(sqlite);
        rounds.3.push(gw);
    }
    Ok((
        median(rounds.0),
        median(rounds.1),
        median(rounds.2),
        median(rounds.3),
    ))
}

/// `n` `/bin/true` jobs through three nodes on one schema, each taking a third of the
/// submissions from a third of the `clients` and running up to a third of `max_running`:
/// jobs/s from the first submission to the last job's end. The database counts the ended
/// jobs (no node is loaded by the watching), then one node lists them once.
async fn three_nodes(n: usize, clients: usize, max_running: usize) -> anyhow::Result<f64> {
    let schema = TestSchema::new("bench_three");
    let slots = max_running.div_ceil(3).max(1);
    let nodes = ["a", "b", "c"]
        .iter()
        .map(|name| node_on(&schema, name, slots))
        .collect::<anyhow::Result<Vec<Service>>>()?;
    let started_at = jiff::Timestamp::now();
    let submitting = nodes.iter().enumerate().map(|(i, node)| {
        let share = n / 3 + usize::from(i < n % 3);
        let body = |_| json!({"properties": {"Name": "true", "CommandLine": ["/bin/true"]}});
        submit_all(node.url.clone(), share, clients.div_ceil(3).max(1), body)
    });
    for submitted in futures_util::future::join_all(submitting).await {
        submitted?;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let ended: usize = schema
            .psql("SELECT count(*) FROM jobs WHERE job_state IN (7, 8, 9, 10)")?
            .parse()?;
        if ended == n {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{ended} of {n} jobs ended in ten minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list: Value = http_client()
        .get(format!("{}/api/v1/jobs", nodes[0].url))
        .send()
        .await?
        .json()
        .await?;
    let jobs = list["jobs"].as_array().context("a job list")?;
    anyhow::ensure!(jobs.len() == n, "{} jobs listed, not {n}", jobs.len());
    let mut last_end = started_at;
    for job in jobs {
        anyhow::ensure!(job["JobState"] == json!(7), "a job did not complete: {job}");
        let end = parse_cim_time(job["TimeOfLastStateChange"].as_str().unwrap_or_default())
            .context("a completed job without TimeOfLastStateChange")?;
        last_end = last_end.max(end);
    }
    let ran_on: std::collections::BTreeSet<String> = schema
        .psql("SELECT string_agg(DISTINCT document::json->>'node', ',') FROM jobs")?
        .split(',')
        .map(str::to_owned)
        .collect();
    eprintln!("three nodes: the jobs ran on {ran_on:?}");
    Ok(n as f64 / last_end.duration_since(started_at).as_secs_f64())
}

/// Insert-to-start latency in ms of jobs submitted one at a time, [`LATENCY_RATE`] a second,
/// to a node on PostgreSQL: each job's StartTime less its TimeSubmitted.
async fn our_latencies(max_running: usize) -> anyhow::Result<Vec<f64>> {
    let schema = TestSchema::new("bench_latency");
    let service = node_on(&schema, "bench", max_running)?;
    let http = http_client();
    let gap = Duration::from_secs(1) / LATENCY_RATE as u32;
    let mut ids = Vec::new();
    for _ in 0..LATENCY_JOBS {
        let properties = json!({"Name": "true", "CommandLine": ["/bin/true"]});
        ids.push(submit(&http, &service.url, properties).await?);
        tokio::time::sleep(gap).await;
    }
    let mut latencies = Vec::new();
    for id in ids {
        let path = format!(
            "{}/api/v1/jobs/{}",
            service.url,
            id.trim_start_matches("CIMJOB:")
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let job = loop {
            let job: Value = http.get(&path).send().await?.json().await?;
            if job["StartTime"].is_string() {
                break job;
            }
            if Instant::now() > deadline {
                bail!("{id} did not start within a minute");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let time = |name: &str| {
            parse_cim_time(job[name].as_str().unwrap_or_default())
                .with_context(|| format!("{id} without {name}"))
        };
        let waited = time("StartTime")?.duration_since(time("TimeSubmitted")?);
        latencies.push(waited.as_secs_f64() * 1000.0);
    }
    Ok(latencies)
}

/// From `kill -9` of the node running a Re-run Job job to its lost run running again on the
/// other node, with the default lease.
async fn rescue() -> anyhow::Result<Duration> {
    let schema = TestSchema::new("bench_rescue");
    let mut first = node_on(&schema, "first", 2)?;
    let http = http_client();
    let properties = json!({"Name": "long", "CommandLine": ["sleep", "600"], "RecoveryAction": 4});
    let id = submit(&http, &first.url, properties).await?;
    let path = format!("/api/v1/jobs/{}", id.trim_start_matches("CIMJOB:"));
    let running = |url: String, runs: u64| {
        let (http, path) = (http.clone(), path.clone());
        async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                let job: Value = http
                    .get(format!("{url}{path}"))
                    .send()
                    .await?
                    .json()
                    .await?;
                if job["JobState"] == json!(4) && job["RunCount"] == json!(runs) {
                    return anyhow::Ok(());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            bail!("the job was not running its run {runs} within two minutes")
        }
    };
    running(first.url.clone(), 1).await?;
    let second = node_on(&schema, "second", 2)?;
    first.crash();
    let killed = Instant::now();
    running(second.url.clone(), 2).await?;
    Ok(killed.elapsed())
}

/// Jobs of the Terminate figure (half of them terminated through the node running them, half
/// through the other).
const TERMINATE_JOBS: usize = 60;

/// RequestStateChange(Terminate) round trips in ms, to jobs running on two nodes of one
/// schema: (sent to the node running the job, sent to the other node, which forwards it).
/// The two kinds alternate, so both see the same load.
async fn terminate_latencies() -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let schema = TestSchema::new("bench_terminate");
    let nodes = [
        node_on(&schema, "a", TERMINATE_JOBS)?,
        node_on(&schema, "b", TERMINATE_JOBS)?,
    ];
    let marks = tempfile::tempdir()?;
    let http = http_client();
    let mut ids = Vec::new();
    for i in 0..TERMINATE_JOBS {
        let mark = marks.path().join(i.to_string());
        let script = format!(
            "echo $CIMJOB_NODE > {}.tmp; mv {0}.tmp {0}; exec sleep 600",
            mark.display()
        );
        let properties = json!({"Name": "terminable", "CommandLine": ["sh", "-c", script]});
        ids.push(submit(&http, &nodes[i % 2].url, properties).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut holders = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let mark = marks.path().join(i.to_string());
        let holder = loop {
            if let Ok(node) = std::fs::read_to_string(&mark) {
                break node.trim().to_owned();
            }
            if Instant::now() > deadline {
                bail!("job {id} did not start within two minutes");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        holders.push(usize::from(holder != "a"));
    }
    let (mut here, mut forwarded) = (Vec::new(), Vec::new());
    for (i, id) in ids.iter().enumerate() {
        let through_holder = i % 2 == 0;
        let via = if through_holder {
            holders[i]
        } else {
            1 - holders[i]
        };
        let url = format!(
            "{}/api/v1/jobs/{}/requeststatechange",
            nodes[via].url,
            id.trim_start_matches("CIMJOB:")
        );
        let sent = Instant::now();
        let answer: Value = http
            .post(url)
            .json(&json!({"RequestedState": 4}))
            .send()
            .await?
            .json()
            .await?;
        let took = sent.elapsed().as_secs_f64() * 1000.0;
        if answer["ReturnValue"] != json!(0) && answer["ReturnValue"] != json!(4096) {
            bail!("Terminate of {id} answered {answer}");
        }
        if through_holder {
            here.push(took);
        } else {
            forwarded.push(took);
        }
    }
    Ok((here, forwarded))
}

/// Transactions a second on the test database (pg_stat_database, over `window`): none of
/// ours running, then with one idle serving node.
fn idle_transactions(window: Duration) -> anyhow::Result<(f64, f64)> {
    let schema = TestSchema::new("bench_idle");
    let count = || -> anyhow::Result<f64> {
        let text = schema.psql(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database \
             WHERE datname = current_database()",
        )?;
        Ok(text.parse::<f64>()?)
    };
    let rate = || -> anyhow::Result<f64> {
        let before = count()?;
        std::thread::sleep(window);
        Ok((count()? - before) / window.as_secs_f64())
    };
    let none = rate()?;
    let _node = node_on(&schema, "idle", 2)?;
    // past the start-up's statements, which the server counts up to 10 s late (its idle
    // sessions flush their statistics that seldom)
    std::thread::sleep(Duration::from_secs(15));
    let idle = rate()?;
    Ok((idle, none))
}

/// The cluster rows of the table.
pub async fn figures(
    n: usize,
    clients: usize,
    max_running: usize,
    repeat: usize,
) -> anyhow::Result<Vec<String>> {
    let (on_postgres, three, on_sqlite, graphile) =
        throughput(n, clients, max_running, repeat).await?;
    let ours = percentiles(our_latencies(max_running).await?);
    let theirs: Vec<f64> = graphile_run("latency", LATENCY_JOBS, max_running)?["latencies_ms"]
        .as_array()
        .context("graphile-worker's latencies")?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let theirs = percentiles(theirs);
    let (here, forwarded) = terminate_latencies().await?;
    let (here, forwarded) = (percentiles(here), percentiles(forwarded));
    let rerun = rescue().await?;
    let (idle, none) = idle_transactions(Duration::from_secs(20))?;
    let mut rows = vec![
        format!("| {n} `/bin/true` jobs/s through one node on the local PostgreSQL ({clients} clients, {max_running} running at once) vs graphile-worker {GRAPHILE_VERSION} on the same server at the same concurrency (its jobs queued before it starts) | {on_postgres:.0}/s | {graphile:.0}/s | {:.2}× |", on_postgres / graphile),
        format!("| the same node on PostgreSQL vs our node on SQLite | {on_postgres:.0}/s | {on_sqlite:.0}/s | {:.2}× |", on_postgres / on_sqlite),
        format!("| {n} `/bin/true` jobs/s through three nodes on one schema (a third of the clients and of the slots each) vs graphile-worker, the same concurrency | {three:.0}/s | {graphile:.0}/s | {:.2}× |", three / graphile),
        format!("| the three nodes on PostgreSQL vs our node on SQLite | {three:.0}/s | {on_sqlite:.0}/s | {:.2}× |", three / on_sqlite),
    ];
    for (name, o, t) in [("p50", ours.0, theirs.0), ("p99", ours.1, theirs.1)] {
        rows.push(format!("| insert-to-start latency {name}, {LATENCY_JOBS} jobs added {LATENCY_RATE}/s, node on PostgreSQL vs graphile-worker | {o:.1} ms | {t:.1} ms | {:.2}× |", o / t.max(0.001)));
    }
    for (name, f, h) in [("p50", forwarded.0, here.0), ("p99", forwarded.1, here.1)] {
        rows.push(format!("| Terminate round trip {name} ({} jobs running on two nodes), sent to the node that does not run the job vs to the one that does | {f:.1} ms | {h:.1} ms | {:.2}× |", TERMINATE_JOBS / 2, f / h.max(0.001)));
    }
    rows.push(format!("| `kill -9` of a node → its Re-run Job job running again on the other node (default 15 s lease) | {:.1} s | 15 s lease | {:.2}× |", rerun.as_secs_f64(), rerun.as_secs_f64() / 15.0));
    rows.push(format!("| transactions per second on the database with one idle serving node vs with none (pg_stat_database, 20 s) | {idle:.2}/s | {none:.2}/s | – |"));
    Ok(rows)
}
