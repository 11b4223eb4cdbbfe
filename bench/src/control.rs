//! Control latency: from sending RequestStateChange(Suspend) over CIM-XML to the job's
//! process group being stopped (its leader in state `T` in `/proc`), beside the same stop done
//! directly with `killpg(SIGSTOP)` on a group the bench started itself.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::json;

use super::{cim_call, http_client, job_path, percentiles, submit_all, Prepared, Service};

/// The state letter of a process, from `/proc/<pid>/stat`.
fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// Spins (bounded) until `pid` is stopped; the moment it was seen stopped.
fn wait_stopped(pid: i32) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if state(pid) == Some('T') {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!("process {pid} did not stop within 10 s");
        }
        std::hint::spin_loop();
    }
}

/// RequestStateChange(`state`) on job `id`, as the `cim` crate writes it.
fn request_state_change(id: u64, state: u16) -> Prepared {
    Prepared::new(&cim::xml::Request::extrinsic(
        "9",
        job_path(id),
        "RequestStateChange",
        vec![(
            "RequestedState".into(),
            cim::xml::ParamValue::Value(cim::CimValue::UInt16(state)),
        )],
    ))
}

/// Waits (bounded) for the pid file a job writes when it starts.
/// The pid the job wrote, once that process has become `sleep`: the job is measured running,
/// not still in its `exec` (a stop during an exec waits for the exec, which on a busy
/// machine takes milliseconds and says nothing about the service).
fn read_pid(path: &Path) -> anyhow::Result<i32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if comm.trim() == "sleep" {
                    return Ok(pid);
                }
            }
        }
        if Instant::now() > deadline {
            bail!("{} did not appear", path.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Suspend → stopped, in milliseconds, for `n` jobs of the service.
async fn service_latencies(n: usize) -> anyhow::Result<Vec<f64>> {
    let service = Service::start(n)?;
    let pids = tempfile::tempdir()?;
    let script = format!(
        "echo $$ > {}/$CIMJOB_RUN-$CIMJOB_INSTANCE_ID.pid; exec sleep 600",
        pids.path().display()
    );
    submit_all(service.url.clone(), n, 4, move |_| {
        json!({"properties": {"Name": "sleeper", "CommandLine": ["sh", "-c", script.clone()]}})
    })
    .await?;
    let http = http_client();
    // every job running before the first is measured, as the baseline's groups are: the
    // figure is the latency of control, not of control during a burst of starts
    let mut leaders = Vec::with_capacity(n);
    for i in 1..=n {
        leaders.push(read_pid(&pids.path().join(format!("1-CIMJOB:{i}.pid")))?);
    }
    let mut latencies = Vec::with_capacity(n);
    for (i, pid) in (1..=n).zip(leaders) {
        let suspend = request_state_change(i as u64, 3);
        let sent = Instant::now();
        // the stop may come before the answer: watch /proc while the request is in flight
        let watcher = tokio::task::spawn_blocking(move || wait_stopped(pid));
        let answer = cim_call(&http, &service.url, &suspend).await?;
        anyhow::ensure!(
            answer.windows(12).any(|w| w == b"<RETURNVALUE"),
            "Suspend answered no return value"
        );
        let stopped = watcher.await??;
        latencies.push(stopped.duration_since(sent).as_secs_f64() * 1000.0);
    }
    service
        .stop()
        .context("stopping the service (it kills its groups)")?;
    Ok(latencies)
}

/// The baseline: `killpg(SIGSTOP)` → stopped, for `n` groups started here.
fn baseline_latencies(n: usize) -> anyhow::Result<Vec<f64>> {
    let mut children = Vec::with_capacity(n);
    for _ in 0..n {
        children.push(
            Command::new("sleep")
                .arg("600")
                .process_group(0)
                .stdin(Stdio::null())
                .spawn()?,
        );
    }
    let mut latencies = Vec::with_capacity(n);
    let result = (|| {
        for child in &children {
            let pid = child.id() as i32;
            let sent = Instant::now();
            killpg(Pid::from_raw(pid), Signal::SIGSTOP)?;
            let stopped = wait_stopped(pid)?;
            latencies.push(stopped.duration_since(sent).as_secs_f64() * 1000.0);
        }
        anyhow::Ok(())
    })();
    for mut child in children {
        let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
        let _ = child.wait();
    }
    result.map(|()| latencies)
}

/// The table rows: p50 and p99.
pub async fn figures(n: usize) -> anyhow::Result<Vec<String>> {
    let ours = percentiles(service_latencies(n).await?);
    let base = percentiles(baseline_latencies(n)?);
    Ok([("p50", ours.0, base.0), ("p99", ours.1, base.1)]
        .into_iter()
        .map(|(name, o, b)| {
            format!("| control latency {name}, CIM-XML RequestStateChange(Suspend) sent → the job's process group stopped ({n} jobs) vs killpg(SIGSTOP) → stopped | {o:.3} ms | {b:.3} ms | {:.1}× |", o / b.max(0.001))
        })
        .collect())
}
