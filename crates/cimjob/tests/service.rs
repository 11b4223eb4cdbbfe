//! End-to-end: the real binary, real processes and signals, a real SQLite file, HTTP on
//! loopback, driven through the CLI and the JSON API.

mod common;

use common::{
    proc_state, read_pid, serve_refused, submit_sh, until, until_within, wait_gone, Service,
};
use serde_json::{json, Value};

#[test]
fn a_job_reports_progress_and_completes_with_every_property_right() {
    let s = Service::start(&[]);
    // follow the job's events from before it starts, to see its progress
    let script = "echo out; echo err >&2; sleep 0.3; \
                  echo 'progress 50 half way' >&$CIMJOB_PROGRESS_FD; sleep 0.3; \
                  echo 'progress 90 nearly' >&3; sleep 0.3";
    let id = submit_sh(&s, &["--name", "progress-demo", "--hold"], script);
    let held = s.job(id);
    assert_eq!(held["JobState"], json!(5), "held before its first start");
    assert_eq!(held["OperationalStatus"], json!([15]));

    let (connected_tx, connected) = std::sync::mpsc::channel();
    let events = std::thread::spawn({
        let url = s.url.clone();
        move || collect_percentages(&url, id, connected_tx)
    });
    connected
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("event stream connected");
    s.ok(&["resume", &id.to_string()]);
    let watch = s.cli(&["watch", &id.to_string()]);
    assert!(
        watch.status.success(),
        "watch exits 0 on Completed: {}",
        String::from_utf8_lossy(&watch.stderr)
    );

    let job = s.job(id);
    assert_eq!(job["JobState"], json!(7));
    assert_eq!(job["OperationalStatus"], json!([17, 2]));
    assert_eq!(job["StatusDescriptions"], json!(["Completed", "OK"]));
    assert_eq!(job["Status"], json!("OK"));
    assert_eq!(job["HealthState"], json!(5));
    assert_eq!(job["PrimaryStatus"], json!(1));
    assert_eq!(job["PercentComplete"], json!(100));
    assert_eq!(job["ErrorCode"], json!(0));
    assert_eq!(job["ErrorDescription"], Value::Null);
    assert_eq!(job["ExitStatus"], json!(0));
    assert_eq!(job["JobStatus"], json!("nearly"));
    assert_eq!(job["Name"], json!("progress-demo"));
    assert_eq!(job["InstanceID"], json!(format!("CIMJOB:{id}")));
    assert_eq!(job["RunCount"], json!(1));
    assert_eq!(job["JobRunTimes"], json!(1));
    assert_eq!(job["TimeBeforeRemoval"], json!("00000000000500.000000:000"));
    let elapsed = job["ElapsedTime"].as_str().unwrap();
    assert!(
        elapsed.ends_with(":000") && elapsed >= "00000000000000.900000:000",
        "ElapsedTime {elapsed}"
    );
    for t in ["TimeSubmitted", "StartTime", "TimeOfLastStateChange"] {
        let v = job[t].as_str().unwrap();
        assert!(
            !v.ends_with(":000") && v.len() == 25,
            "{t} is a timestamp: {v}"
        );
    }
    let log = std::fs::read_to_string(job["OutputPath"].as_str().unwrap()).unwrap();
    assert!(
        log.contains("out") && log.contains("err"),
        "stdout and stderr in the run log: {log:?}"
    );

    let seen = events.join().unwrap();
    for p in [0, 50, 90, 100] {
        assert!(
            seen.contains(&p),
            "PercentComplete {p} announced; saw {seen:?}"
        );
    }
    let show = s.ok(&["show", &id.to_string()]);
    assert!(show.contains("7 (Completed)"), "{show}");
    assert!(show.contains("[17 (Completed), 2 (OK)]"), "{show}");
}

/// PercentComplete values announced on the job's event stream until it completes; signals
/// `connected` once the stream has delivered the job's first snapshot.
fn collect_percentages(url: &str, id: u64, connected: std::sync::mpsc::Sender<()>) -> Vec<u64> {
    let mut seen = Vec::new();
    follow_events(url, id, connected, |job| {
        if let Some(p) = job["PercentComplete"].as_u64() {
            if seen.last() != Some(&p) {
                seen.push(p);
            }
        }
        job["JobState"] == json!(7)
    });
    seen
}

/// Feeds each job snapshot announced on the job's event stream to `until` until it answers
/// true (then returns that snapshot) or 30 s pass (then `None`); signals `connected` once the
/// stream has delivered the job's first snapshot.
fn follow_events(
    url: &str,
    id: u64,
    connected: std::sync::mpsc::Sender<()>,
    mut until: impl FnMut(&Value) -> bool,
) -> Option<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use futures_util::StreamExt;
        let resp = reqwest::Client::new()
            .get(format!("{url}/api/v1/jobs/{id}/events"))
            .basic_auth("admin", Some(common::ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        let mut body = resp.bytes_stream();
        let mut buffer = String::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                for line in event.lines() {
                    if let Some(data) = line.strip_prefix("data:") {
                        let job: Value = serde_json::from_str(data.trim()).unwrap();
                        let _ = connected.send(());
                        if until(&job) {
                            return Some(job);
                        }
                    }
                }
            }
        }
        None
    })
}

/// A watcher that connects while progress is being made durable gets the job as it is, then
/// only later changes: the Generation it sees never goes back.
#[test]
fn a_watcher_joining_mid_progress_never_sees_the_job_go_back() {
    let s = Service::start(&[]);
    let script = "for i in $(seq 1 99); do echo \"progress $i\" >&3; sleep 0.01; done";
    let id = submit_sh(&s, &["--hold"], script);
    s.ok(&["resume", &id.to_string()]);
    let watchers: Vec<_> = (0..12)
        .map(|n| {
            let url = s.url.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(60 * n));
                let mut generations = Vec::new();
                let (connected, _) = std::sync::mpsc::channel();
                follow_events(&url, id, connected, |job| {
                    generations.push(job["Generation"].as_u64().unwrap());
                    job["JobState"] == json!(7)
                });
                generations
            })
        })
        .collect();
    for watcher in watchers {
        let generations = watcher.join().unwrap();
        assert!(
            generations.windows(2).all(|w| w[0] < w[1]),
            "Generation went back: {generations:?}"
        );
        assert!(
            generations.len() > 1,
            "saw changes after joining: {generations:?}"
        );
    }
    s.wait_state(id, 7, 30);
}

/// Nobody waits on a progress line, so the engine may hold its commit briefly to share a
/// later one; it must still announce it (and Running) while the work runs, not only when it
/// ends. The work here does not end until the test has seen both.
#[test]
fn running_and_progress_are_announced_while_the_work_still_runs() {
    let s = Service::start(&[]);
    let go = s.scratch().join("go");
    let script = format!(
        "echo 'progress 40 waiting for go' >&3; \
         for i in $(seq 1 400); do [ -e '{}' ] && break; sleep 0.05; done",
        go.display()
    );
    let id = submit_sh(&s, &["--hold"], &script);
    let (connected_tx, connected) = std::sync::mpsc::channel();
    let seen = std::thread::spawn({
        let url = s.url.clone();
        move || {
            follow_events(&url, id, connected_tx, |job| {
                job["JobState"] == json!(4) && job["PercentComplete"] == json!(40)
            })
        }
    });
    connected
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("event stream connected");
    s.ok(&["resume", &id.to_string()]);
    let seen = seen.join().unwrap();
    // announced in time only if the work is still waiting for the go now
    let still = s.job(id);
    std::fs::write(&go, b"").unwrap();
    let seen = seen.expect("Running with PercentComplete 40 announced");
    assert_eq!(seen["JobStatus"], json!("waiting for go"));
    assert_eq!(
        still["JobState"],
        json!(4),
        "announced only once the work had ended"
    );
    s.wait_state(id, 7, 30);
}

#[test]
fn a_failing_job_ends_in_exception_with_its_exit_status() {
    let s = Service::start(&[]);
    let id = submit_sh(&s, &[], "exit 3");
    let watch = s.cli(&["watch", &id.to_string()]);
    assert_eq!(
        watch.status.code(),
        Some(1),
        "watch exits 1 when the job failed"
    );
    let job = s.job(id);
    assert_eq!(job["JobState"], json!(10));
    assert_eq!(job["OperationalStatus"], json!([17, 6]));
    assert_eq!(job["Status"], json!("Error"));
    assert_eq!(job["PrimaryStatus"], json!(3));
    assert_eq!(job["HealthState"], json!(20));
    assert_eq!(job["ErrorCode"], json!(1));
    assert_eq!(job["ExitStatus"], json!(3));
    assert!(job["ErrorDescription"]
        .as_str()
        .unwrap()
        .contains("status 3"));
    let show = s.ok(&["show", &id.to_string()]);
    assert!(show.contains("10 (Exception)"), "{show}");
    assert!(show.contains("Runs:"), "{show}");

    // a command that does not exist fails to start: ErrorCode 3
    let id = s.submit(&["--", "/nonexistent/command"]);
    let job = s.wait_state(id, 10, 10);
    assert_eq!(job["ErrorCode"], json!(3));
    assert!(
        job["ErrorDescription"]
            .as_str()
            .unwrap()
            .contains("could not start"),
        "{job}"
    );
}

#[test]
fn suspend_stops_the_process_group_and_resume_continues_it() {
    let s = Service::start(&[]);
    let pid_file = s.scratch().join("pid");
    let id = submit_sh(
        &s,
        &[],
        &format!("echo $$ > {}; exec sleep 30", pid_file.display()),
    );
    s.wait_state(id, 4, 10);
    let pid = read_pid(&pid_file);
    assert_ne!(proc_state(pid), Some('T'));

    s.ok(&["suspend", &id.to_string()]);
    let job = s.job(id);
    assert_eq!(
        (job["JobState"].clone(), job["OperationalStatus"].clone()),
        (json!(5), json!([10]))
    );
    // the signal is sent before the answer; the kernel stops the process when it next runs
    until_within(5, "SIGSTOP reached the process", || {
        proc_state(pid) == Some('T')
    });
    // suspending again is not a valid transition
    assert_eq!(s.request_state(id, 3), 4097);

    s.ok(&["resume", &id.to_string()]);
    assert_eq!(s.state(id), 4);
    until_within(5, "SIGCONT reached the process", || {
        proc_state(pid) != Some('T')
    });
    assert_eq!(s.request_state(id, 2), 4097, "Start of a running job");

    let out = s.ok(&["kill", &id.to_string()]);
    assert!(out.contains("4096"), "{out}");
    let job = s.wait_state(id, 9, 10);
    assert_eq!(job["OperationalStatus"], json!([14]));
    assert_eq!(job["ErrorCode"], json!(6));
    assert_eq!(job["Signal"], json!(9));
    wait_gone(pid, 5);
    assert_eq!(
        s.request_state(id, 2),
        4097,
        "no transition out of a final state"
    );
}

#[test]
fn terminate_kills_a_job_that_ignores_sigterm_after_the_timeout() {
    let s = Service::start(&[]);
    let pid_file = s.scratch().join("pid");
    let id = submit_sh(
        &s,
        &[],
        &format!(
            "trap '' TERM; echo $$ > {}; while true; do sleep 0.1; done",
            pid_file.display()
        ),
    );
    s.wait_state(id, 4, 10);
    let pid = read_pid(&pid_file);
    let started = std::time::Instant::now();
    let out = s.ok(&["terminate", "--timeout", "1s", &id.to_string()]);
    assert!(
        out.contains("4096"),
        "Terminate of running work has started: {out}"
    );
    let job = s.job(id);
    assert_eq!(
        (job["JobState"].clone(), job["OperationalStatus"].clone()),
        (json!(6), json!([9]))
    );
    assert!(proc_state(pid).is_some(), "it ignores SIGTERM");
    let job = s.wait_state(id, 8, 10);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "SIGKILL waited for the TimeoutPeriod"
    );
    assert_eq!(job["OperationalStatus"], json!([10]));
    assert_eq!(job["ErrorCode"], json!(5));
    assert!(
        job["ErrorDescription"]
            .as_str()
            .unwrap()
            .contains("SIGKILL"),
        "{job}"
    );
    wait_gone(pid, 5);

    // a job that honours SIGTERM ends Terminated without waiting for the timeout
    let id = s.submit(&["--", "sleep", "30"]);
    s.wait_state(id, 4, 10);
    assert_eq!(s.request_state(id, 4), 4096);
    let job = s.wait_state(id, 8, 5);
    assert_eq!(job["Signal"], json!(15));
}

#[test]
fn the_work_knows_its_job_its_run_and_its_node() {
    let s = Service::start(&["--node", "alpha-1"]);
    let id = submit_sh(
        &s,
        &[],
        "echo \"$CIMJOB_INSTANCE_ID run $CIMJOB_RUN on $CIMJOB_NODE\"",
    );
    let job = s.wait_state(id, 7, 10);
    let log = std::fs::read_to_string(job["OutputPath"].as_str().unwrap()).unwrap();
    assert_eq!(log, format!("CIMJOB:{id} run 1 on alpha-1\n"));
    // a node's name is refused when it could not be passed to the work
    let stderr = serve_refused(&["--node", "a=b", "--listen", "127.0.0.1:0"]);
    assert!(stderr.contains("--node \"a=b\""), "{stderr}");
}

#[test]
fn a_query_waits_for_an_answer_that_reaches_the_work() {
    let s = Service::start(&[]);
    let id = submit_sh(
        &s,
        &[],
        "echo 'query Load paper, then answer' >&3; read a <&3; echo \"got $a\"",
    );
    let job = s.wait_state(id, 12, 10);
    assert_eq!(job["JobStatus"], json!("Load paper, then answer"));
    assert_eq!(job["OperationalStatus"], json!([2]));
    let out = s.ok(&["answer", &id.to_string(), "paper loaded"]);
    assert!(out.contains("AnswerQuery"), "{out}");
    let job = s.wait_state(id, 7, 10);
    let log = std::fs::read_to_string(job["OutputPath"].as_str().unwrap()).unwrap();
    assert!(log.contains("got paper loaded"), "{log:?}");
    // answering a job that does not wait is refused
    let out = s.cli(&["answer", &id.to_string(), "again"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("4097"));
}

#[test]
fn priority_decides_the_order_then_submission() {
    let s = Service::start(&["--max-running", "1"]);
    let order = s.scratch().join("order");
    let go = s.scratch().join("go");
    let blocker = submit_sh(
        &s,
        &[],
        &format!("while [ ! -f {} ]; do sleep 0.02; done", go.display()),
    );
    s.wait_state(blocker, 4, 10);
    let mut ids = Vec::new();
    for (name, priority) in [("a", "10"), ("b", "5"), ("c", "5"), ("d", "1")] {
        ids.push(submit_sh(
            &s,
            &["--priority", priority],
            &format!("echo {name} >> {}", order.display()),
        ));
    }
    for id in &ids {
        assert_eq!(s.state(*id), 2, "queued behind the blocker (max-running 1)");
        assert_eq!(s.job(*id)["OperationalStatus"], json!([15]));
    }
    std::fs::write(&go, "").unwrap();
    for id in &ids {
        s.wait_state(*id, 7, 20);
    }
    assert_eq!(std::fs::read_to_string(&order).unwrap(), "d\nb\nc\na\n");
}

#[test]
fn retention_deletes_only_with_delete_on_completion() {
    let s = Service::start(&[]);
    let gone = submit_sh(
        &s,
        &["--delete-on-completion", "--time-before-removal", "1s"],
        "echo gone",
    );
    let kept = submit_sh(&s, &["--time-before-removal", "1s"], "echo kept");
    s.wait_state(kept, 7, 10);
    let kept_log = std::path::PathBuf::from(s.job(kept)["OutputPath"].as_str().unwrap());
    // the gone job's log sits beside the kept one's, named the same way
    let gone_log = kept_log.with_file_name(format!("{gone}-run-1.log"));
    assert_eq!(std::fs::read_to_string(&kept_log).unwrap(), "kept\n");
    until("the DeleteOnCompletion job removed", || {
        s.get(&format!("/api/v1/jobs/{gone}")).0 == 404
    });
    until("the removed job's log deleted", || !gone_log.exists());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(s.state(kept), 7, "without DeleteOnCompletion it stays");
    assert!(kept_log.exists(), "a kept job keeps its log");
    s.ok(&["rm", &kept.to_string()]);
    assert_eq!(s.get(&format!("/api/v1/jobs/{kept}")).0, 404);
    until("a deleted job's log deleted", || !kept_log.exists());

    // an unfinished job cannot be deleted
    let running = s.submit(&["--", "sleep", "30"]);
    let out = s.cli(&["rm", &running.to_string()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only a finished job"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // KillJob(DeleteOnKill) deletes it once killed
    s.ok(&["kill", "--delete", &running.to_string()]);
    until("the KillJob(DeleteOnKill) job removed", || {
        s.get(&format!("/api/v1/jobs/{running}")).0 == 404
    });
}

#[test]
fn modifying_retention_replans_removal() {
    let s = Service::start(&[]);
    let id = s.submit(&["--", "true"]);
    s.wait_state(id, 7, 10);
    let (status, body) = common::http(
        reqwest::Method::PATCH,
        &format!("{}/api/v1/jobs/{id}", s.url),
        Some(
            json!({"properties": {"DeleteOnCompletion": true, "TimeBeforeRemoval": "00000000000000.500000:000"}}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["changed"],
        json!(["DeleteOnCompletion", "TimeBeforeRemoval"])
    );
    until("modified retention removed the job", || {
        s.get(&format!("/api/v1/jobs/{id}")).0 == 404
    });
    // read-only properties are refused by name and nothing changes
    let id = s.submit(&["--priority", "7", "--", "true"]);
    let (status, body) = common::http(
        reqwest::Method::PATCH,
        &format!("{}/api/v1/jobs/{id}", s.url),
        Some(json!({"properties": {"Priority": 1, "JobState": 9}})),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["property"], json!("JobState"));
    assert_eq!(body["error"]["cim_status"], json!(1));
    assert_eq!(s.job(id)["Priority"], json!(7), "nothing changed");
}

#[test]
fn recovery_actions_rerun_and_recovery_job() {
    let s = Service::start(&["--rerun-backoff", "100ms", "--max-reruns", "2"]);
    let scratch = s.scratch();
    // fails once, then succeeds on its re-run
    let marker = scratch.join("marker");
    let id = submit_sh(
        &s,
        &["--recovery", "re-run"],
        &format!("test -f {0} && exit 0; touch {0}; exit 1", marker.display()),
    );
    let job = s.wait_state(id, 7, 20);
    assert_eq!(job["RunCount"], json!(2));
    let (_, runs) = s.get(&format!("/api/v1/jobs/{id}/runs"));
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (
            runs[0]["exit_status"].clone(),
            runs[0]["error_code"].clone()
        ),
        (json!(1), json!(1))
    );
    assert_eq!(runs[1]["final_state"], json!(7));

    // always fails: 1 run + 2 re-runs, then Exception
    let id = submit_sh(&s, &["--recovery", "4"], "exit 2");
    let job = s.wait_state(id, 10, 20);
    assert_eq!(job["RunCount"], json!(3));
    assert!(
        job["ErrorDescription"]
            .as_str()
            .unwrap()
            .contains("gave up after 2 re-runs"),
        "{job}"
    );

    // Run Recovery Job starts the held job it names
    let done = scratch.join("recovered");
    let recovery = submit_sh(
        &s,
        &["--hold", "--name", "cleanup"],
        &format!("touch {}", done.display()),
    );
    let failing = submit_sh(
        &s,
        &[
            "--recovery",
            "run-recovery-job",
            "--recovery-job",
            &format!("CIMJOB:{recovery}"),
        ],
        "exit 1",
    );
    let job = s.wait_state(failing, 10, 10);
    assert!(
        job["ErrorDescription"]
            .as_str()
            .unwrap()
            .contains("started"),
        "{job}"
    );
    s.wait_state(recovery, 7, 10);
    assert!(done.exists());

    // a recovery job must already exist
    let out = s.cli(&[
        "submit",
        "--recovery",
        "run-recovery-job",
        "--recovery-job",
        "999",
        "--",
        "true",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CIMJOB:999 does not exist"));
}

#[test]
fn a_second_service_on_the_same_data_dir_is_refused_and_the_first_goes_on() {
    let s = Service::start(&[]);
    let before = s.submit(&["--", "true"]);
    s.wait_state(before, 7, 10);
    let mut second = std::process::Command::new(common::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(s.data_dir())
        .env("CIMJOB_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut status = None;
    until("the second service exits", || {
        status = second.try_wait().unwrap();
        status.is_some()
    });
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.unwrap().success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another cimjob service (pid {}) is already serving the data dir",
            s.pid()
        )),
        "{stderr}"
    );
    // the first one still serves its jobs, from the store the second never touched
    assert_eq!(s.state(before), 7);
    let after = s.submit(&["--", "true"]);
    s.wait_state(after, 7, 10);
}

#[test]
fn a_crash_loses_nothing_and_leaves_nothing_running() {
    let mut s = Service::start(&["--max-running", "3", "--rerun-backoff", "100ms"]);
    let scratch = s.scratch();
    let done = s.submit(&["--name", "done", "--", "true"]);
    s.wait_state(done, 7, 10);
    let pid_a = scratch.join("a");
    let a = submit_sh(
        &s,
        &["--name", "lost"],
        &format!("echo $$ > {}; exec sleep 60", pid_a.display()),
    );
    let rerun_marker = scratch.join("b-ran-before");
    let b = submit_sh(
        &s,
        &["--name", "rerun", "--recovery", "re-run"],
        &format!(
            "test -f {0} && exit 0; touch {0}; exec sleep 60",
            rerun_marker.display()
        ),
    );
    let held = s.submit(&["--hold", "--name", "held", "--", "true"]);
    s.wait_state(a, 4, 10);
    s.wait_state(b, 4, 10);
    let orphan = read_pid(&pid_a);

    // the machine restarts: the service and its supervisor die, the work's processes live on
    s.crash_with_supervisors();
    assert!(
        proc_state(orphan).is_some(),
        "the job's process outlives the crashed service and supervisor"
    );
    s.restart();

    let job = s.wait_state(a, 10, 10);
    assert_eq!(job["ErrorCode"], json!(4));
    assert_eq!(job["OperationalStatus"], json!([17, 6]));
    wait_gone(orphan, 5);
    let job = s.wait_state(b, 7, 20);
    assert_eq!(
        job["RunCount"],
        json!(2),
        "Re-run Job ran it again after the restart"
    );
    assert_eq!(s.state(done), 7);
    assert_eq!(s.state(held), 5);
    let (_, list) = s.get("/api/v1/jobs");
    let list = list["jobs"].as_array().unwrap().clone();
    assert_eq!(list.len(), 4, "nothing lost");
    for job in &list {
        let state = job["JobState"].as_u64().unwrap();
        assert!(
            ![3, 4, 6, 12].contains(&state),
            "nothing left running: {job}"
        );
    }

    // LocalIDs are never reused, even after deleting the newest job and restarting (a node
    // of a shared store takes them from a block it reserves there: the next block, then)
    s.ok(&["resume", &held.to_string()]);
    s.wait_state(held, 7, 10);
    s.ok(&["rm", &held.to_string()]);
    s.restart();
    let next = s.submit(&["--", "true"]);
    assert!(next > held, "{next} after {held}");
    if !common::on_postgres() {
        assert_eq!(next, held + 1);
    }
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let s = Service::start(&[]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["submit", "--recovery", "bogus", "--", "true"],
            "\"bogus\" is not a RecoveryAction",
        ),
        (&["show", "job-x"], "no job is named \"job-x\""),
        (
            &["submit", "--cwd", "relative", "--", "true"],
            "WorkingDirectory \"relative\" is not an absolute path",
        ),
        (
            &["submit", "--env", "NOEQUALS", "--", "true"],
            "Environment entry \"NOEQUALS\"",
        ),
        (
            &["submit", "--caption", &"c".repeat(65), "--", "true"],
            "Caption",
        ),
        (
            &["submit", "--time-before-removal", "soon", "--", "true"],
            "\"soon\" is not a duration",
        ),
        (&["suspend", "999"], "no job CIMJOB:999"),
        (&["terminate", "--timeout=-5s", "1"], "is negative"),
    ];
    for (args, expected) in cases {
        let out = s.cli(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr:?}"
        );
    }
    // a schedule value out of range is refused by name
    let (status, body) = s.post(
        "/api/v1/jobs",
        json!({"properties": {"Name": "x", "CommandLine": ["true"], "RunMonth": 12}}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["property"], json!("RunMonth"));
    // RequestStateChange parameters: undefined state, TimeoutPeriod that is not an interval
    let id = s.submit(&["--hold", "--", "true"]);
    assert_eq!(s.request_state(id, 7), 5);
    let (_, body) = s.post(
        &format!("/api/v1/jobs/{id}/requeststatechange"),
        json!({"RequestedState": 4, "TimeoutPeriod": "20260101000000.000000+000"}),
    );
    assert_eq!(body["ReturnValue"], json!(5));
    assert_eq!(s.state(id), 5, "a refused request changed nothing");
    let (_, list) = s.get("/api/v1/jobs");
    assert_eq!(
        list["jobs"].as_array().unwrap().len(),
        1,
        "no refused submission was stored"
    );
    let (status, body) = s.get("/");
    assert_eq!(status, 200);
    assert!(body.as_str().unwrap().contains("cimjob"));
}

#[test]
fn list_shows_a_readable_table_and_json() {
    let s = Service::start(&[]);
    let id = s.submit(&["--name", "listed", "--", "true"]);
    s.wait_state(id, 7, 10);
    let table = s.ok(&["list"]);
    assert!(
        table.contains("InstanceID") && table.contains("listed") && table.contains("Completed"),
        "{table}"
    );
    let json: Value = serde_json::from_str(&s.ok(&["list", "--json"])).unwrap();
    assert_eq!(json[0]["Name"], json!("listed"));
}

/// The HTTP status the service answers a job submission announcing `length` bytes of JSON
/// with only its headers sent: a client writing a huge body may see its connection closed
/// before it reads the answer, so the body is never sent.
fn status_of_headers_only(s: &Service, length: usize) -> u16 {
    use base64::Engine as _;
    use std::io::{BufRead, Write};
    let address = s.url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("admin:{}", common::ADMIN_PASSWORD));
    write!(
        stream,
        "POST /api/v1/jobs HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {credentials}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    .unwrap();
    let mut status_line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut status_line)
        .unwrap();
    status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {status_line:?}"))
}

#[test]
fn hostile_json_is_refused_naming_the_property_and_memory_stays_bounded() {
    let s = Service::start(&[]);
    let nul = "a\u{0}b";
    let cases = [
        (
            "CommandLine",
            json!({"Name": "x", "CommandLine": ["sh", nul]}),
        ),
        ("Name", json!({"Name": nul, "CommandLine": ["true"]})),
        (
            "Environment",
            json!({"Name": "x", "CommandLine": ["true"], "Environment": [format!("A={nul}")]}),
        ),
    ];
    for (property, properties) in cases {
        let (status, body) = s.post("/api/v1/jobs", json!({ "properties": properties }));
        assert_eq!(status, 400, "{property}: {body}");
        assert_eq!(body["error"]["property"], json!(property), "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("NUL"),
            "{body}"
        );
    }
    // past the documented limits: 4,096 arguments, 4 MiB of JSON
    let many: Vec<&str> = vec!["x"; 100_000];
    let (status, body) = s.post(
        "/api/v1/jobs",
        json!({"properties": {"Name": "many", "CommandLine": many}}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["property"], json!("CommandLine"));
    assert!(
        body["error"]["message"].as_str().unwrap().contains("4096"),
        "{body}"
    );
    for _ in 0..3 {
        assert_eq!(
            status_of_headers_only(&s, 6_000_000),
            413,
            "a body over 4 MiB is refused unread: the answer comes before a byte of it"
        );
    }
    let (_, list) = s.get("/api/v1/jobs");
    assert_eq!(list["jobs"], json!([]), "nothing was stored");
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert!(
        rss_kib < 200 * 1024,
        "the service's peak RSS stayed bounded: {rss_kib} KiB"
    );
}

#[test]
fn the_job_list_pages_through_waiting_and_finished_jobs_alike_and_survives_a_restart() {
    let mut s = Service::start(&[]);
    let ids: Vec<u64> = (0..7)
        .map(|_| s.submit(&["--hold", "--", "/bin/true"]))
        .collect();
    // three finish (Terminated without a run): they leave the service's memory
    for id in [ids[0], ids[3], ids[6]] {
        assert_eq!(s.request_state(id, 4), 0);
    }
    let pages = |s: &Service| {
        let mut seen = Vec::new();
        let mut after = 0;
        for _ in 0..10 {
            let (status, page) = s.get(&format!("/api/v1/jobs?limit=3&after={after}"));
            assert_eq!(status, 200, "{page}");
            let jobs = page["jobs"].as_array().unwrap();
            assert!(jobs.len() <= 3);
            seen.extend(jobs.iter().map(|j| {
                (
                    j["InstanceID"].as_str().unwrap().to_string(),
                    j["JobState"].as_u64().unwrap(),
                )
            }));
            match page["next"].as_u64() {
                Some(next) => after = next,
                None => break,
            }
        }
        seen
    };
    let expected: Vec<(String, u64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("CIMJOB:{id}"), if i % 3 == 0 { 8 } else { 5 }))
        .collect();
    assert_eq!(pages(&s), expected, "every job once, in order, as it is");
    let (_, all) = s.get("/api/v1/jobs");
    assert_eq!(all["jobs"].as_array().unwrap().len(), 7);
    s.restart();
    assert_eq!(
        pages(&s),
        expected,
        "the same after a start that loaded only four"
    );
    assert_eq!(s.job(ids[3])["JobState"], json!(8));

    let (status, refused) = s.get("/api/v1/jobs?limit=0");
    assert_eq!(status, 400);
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("limit 0"), "{refused}");
    let (status, refused) = s.get("/api/v1/jobs?after=soon");
    assert_eq!(status, 400);
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("after"),
        "a JSON refusal naming it: {refused}"
    );
}
