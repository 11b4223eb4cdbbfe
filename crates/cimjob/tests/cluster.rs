//! Nodes of one cluster on the real PostgreSQL server, serving side by side: when a node's
//! lease lapses (a `kill -9`, a freeze) a live node rescues its jobs; the lost node's runs end
//! as CIM says (ErrorCode 7, RecoveryAction, a pending Terminate honoured), and a lost node
//! acts no more: its supervisor kills its runs and its late writes change nothing.

mod common;

use std::time::{Duration, Instant};

use cimjob_harness::postgres::TestSchema;
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;

/// The lease the tests' nodes take: short, so that a takeover comes within seconds.
const LEASE: &str = "2s";

fn node_args<'a>(url: &'a str, name: &'a str) -> Vec<&'a str> {
    vec![
        "--database-url",
        url,
        "--node",
        name,
        "--lease",
        LEASE,
        "--max-running",
        "4",
    ]
}

/// A node of the cluster at `url`, serving.
fn node(url: &str, name: &str) -> Service {
    Service::start(&node_args(url, name))
}

/// A job that writes a marker line per run (its InstanceID, run and node, and its shell's
/// pid) to `markers`, then sleeps; with `opts` for submit.
fn marked_sleeper(s: &Service, markers: &std::path::Path, opts: &[&str]) -> u64 {
    let script = format!(
        "echo \"$CIMJOB_INSTANCE_ID $CIMJOB_RUN $CIMJOB_NODE $$\" >> {}; exec sleep 600",
        markers.display()
    );
    submit_sh(s, opts, &script)
}

/// The marker lines, as (InstanceID, run, node, pid; 0 where the script wrote none).
fn markers(path: &std::path::Path) -> Vec<(String, u32, String, u32)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            (
                f[0].to_owned(),
                f[1].parse().unwrap(),
                f[2].to_owned(),
                f.get(3).map_or(0, |pid| pid.parse().unwrap()),
            )
        })
        .collect()
}

fn pid_alive(pid: u32) -> bool {
    proc_state(pid).is_some_and(|state| state != 'Z')
}

#[test]
fn a_live_node_rescues_a_killed_nodes_jobs_ending_its_runs_as_cim_says() {
    let schema = TestSchema::new("takeover");
    let url = schema.url();
    let mut a = node(&url, "a");
    let b = node(&url, "b");
    let scratch = tempfile::tempdir().unwrap();
    let marks = scratch.path().join("markers");
    let rerun = marked_sleeper(&a, &marks, &["--recovery", "re-run"]);
    let lost = marked_sleeper(&a, &marks, &[]);
    // ignores SIGTERM, so its Terminate is still pending (SIGKILL due in 10 min) when a dies
    let stopping = submit_sh(&a, &[], "trap '' TERM; exec sleep 600");
    for id in [rerun, lost, stopping] {
        a.wait_state(id, 4, 10);
    }
    let (status, body) = a.post(
        &format!("/api/v1/jobs/{stopping}/requeststatechange"),
        json!({"RequestedState": 4, "TimeoutPeriod": "00000000001000.000000:000"}),
    );
    assert_eq!(
        (status, &body["ReturnValue"]),
        (200, &json!(4096)),
        "{body}"
    );
    until_within(10, "two markers", || markers(&marks).len() == 2);
    let first_runs: Vec<u32> = markers(&marks).iter().map(|m| m.3).collect();

    // b serves beside a, which holds its jobs: b sees them run on a, and takes none
    std::thread::sleep(Duration::from_secs(3));
    for id in [rerun, lost] {
        let job = b.job(id);
        assert_eq!(
            (&job["JobState"], &job["RunCount"]),
            (&json!(4), &json!(1)),
            "{job}"
        );
    }

    a.crash(); // kill -9 of the service; its supervisor lives on, and its trust runs out
    let killed_at = Instant::now();
    let rerun_job = b.wait_job(rerun, 30, "run 2 on node b", |j| {
        j["JobState"] == json!(4) && j["RunCount"] == json!(2)
    });
    let rescued_after = killed_at.elapsed();
    eprintln!("kill -9 to the re-run running on b: {rescued_after:?}");
    assert_eq!(
        rerun_job["ErrorCode"],
        json!(0),
        "the re-run started afresh"
    );

    let lost_job = b.job(lost);
    assert_eq!(
        (&lost_job["JobState"], &lost_job["ErrorCode"]),
        (&json!(10), &json!(7)),
        "{lost_job}"
    );
    let description = lost_job["ErrorDescription"].as_str().unwrap();
    assert!(
        description.contains("node a was lost") && description.contains("node b ended the run"),
        "{description}"
    );
    let stopped = b.job(stopping);
    assert_eq!(
        (&stopped["JobState"], &stopped["RunCount"]),
        (&json!(8), &json!(1)),
        "the pending Terminate ended it Terminated, not re-run: {stopped}"
    );
    // a's supervisor killed a's runs when a's trust ended, before b took over
    for pid in first_runs {
        assert!(!pid_alive(pid), "run of node a (pid {pid}) still alive");
    }
    until_within(10, "the re-run's marker", || markers(&marks).len() == 3);
    let mut seen: Vec<(String, u32, String)> = markers(&marks)
        .into_iter()
        .map(|(id, run, node, _)| (id, run, node))
        .collect();
    seen.sort();
    let instance = |id: u64| format!("CIMJOB:{id}");
    assert_eq!(
        seen,
        vec![
            (instance(rerun), 1, "a".to_owned()),
            (instance(rerun), 2, "b".to_owned()),
            (instance(lost), 1, "a".to_owned()),
        ],
        "each run once, the re-run on b"
    );
}

#[test]
fn a_frozen_node_is_taken_over_and_after_it_wakes_changes_nothing_and_runs_nothing() {
    let schema = TestSchema::new("frozen");
    let url = schema.url();
    let mut a = node(&url, "a");
    let b = node(&url, "b");
    let scratch = tempfile::tempdir().unwrap();
    let marks = scratch.path().join("markers");
    let id = marked_sleeper(&a, &marks, &["--recovery", "re-run"]);
    a.wait_state(id, 4, 10);
    until_within(10, "the marker", || markers(&marks).len() == 1);
    let frozen_run = markers(&marks)[0].3;

    let a_pid = Pid::from_raw(a.pid() as i32);
    kill(a_pid, Signal::SIGSTOP).unwrap();
    let frozen_at = Instant::now();
    let job = b.wait_job(id, 30, "run 2 on node b", |j| {
        j["JobState"] == json!(4) && j["RunCount"] == json!(2)
    });
    eprintln!("SIGSTOP to the re-run on b: {:?}", frozen_at.elapsed());
    // the frozen node's run was killed by its supervisor when its trust ended
    assert!(!pid_alive(frozen_run), "the frozen node's run still runs");

    kill(a_pid, Signal::SIGCONT).unwrap();
    let status = a.wait_exit(30);
    assert!(!status.success(), "a stops with an error once awake");
    let log = a.log();
    assert!(log.contains("lost its lease"), "{log}");
    // nothing a did after waking changed the job: it is b's run 2, running
    let after = b.job(id);
    assert_eq!(
        (&after["JobState"], &after["RunCount"], &after["Generation"]),
        (&json!(4), &json!(2), &job["Generation"]),
        "{after}"
    );
    until_within(10, "the re-run's marker", || markers(&marks).len() == 2);
    let runs: Vec<(u32, String)> = markers(&marks)
        .into_iter()
        .map(|(_, run, node, _)| (run, node))
        .collect();
    assert_eq!(runs, vec![(1, "a".to_owned()), (2, "b".to_owned())]);
}

/// `cimjob user ARGS --database-url URL`, with `password` on its standard input; its output.
fn user_in_database(url: &str, args: &[&str], password: &str) -> String {
    let mut args = args.to_vec();
    args.extend(["--database-url", url]);
    cimjob_user(&args, password)
}

#[test]
fn users_live_in_the_database_so_every_node_knows_them() {
    let schema = TestSchema::new("users");
    let url = schema.url();
    let mut a = node(&url, "a");
    let jobs_as = |s: &Service, user: &str, password: &str| {
        let url = format!("{}/api/v1/jobs", s.url);
        http_as(Some((user, password)), reqwest::Method::GET, &url, None).0
    };
    user_in_database(&url, &["add", "carol"], "carol-password");
    assert_eq!(
        jobs_as(&a, "carol", "carol-password"),
        200,
        "a knows carol at once"
    );
    assert!(
        !a.data_dir().join("users.json").exists(),
        "the users are in the database, not in a's data dir"
    );

    let b = node(&url, "b");
    assert_eq!(jobs_as(&b, "carol", "carol-password"), 200, "b knows carol");
    a.crash();
    assert_eq!(jobs_as(&b, "carol", "carol-password"), 200, "b knows carol");
    assert_eq!(jobs_as(&b, "admin", ADMIN_PASSWORD), 200, "and the admin");
    let listed = user_in_database(&url, &["list"], "");
    assert!(
        listed.contains("carol") && listed.contains("admin"),
        "{listed}"
    );

    user_in_database(&url, &["passwd", "carol"], "carol-new-password");
    assert_eq!(jobs_as(&b, "carol", "carol-new-password"), 200);
    user_in_database(&url, &["del", "carol"], "");
    until_within(5, "b refuses the removed carol", || {
        jobs_as(&b, "carol", "carol-new-password") == 401
    });
    let error = std::process::Command::new(BIN)
        .args(["user", "del", "carol", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&error.stderr).contains("no user \"carol\""),
        "{}",
        String::from_utf8_lossy(&error.stderr)
    );
}

#[test]
fn a_lease_too_short_is_refused_naming_it() {
    let stderr = serve_refused(&[
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &cimjob_harness::postgres::test_database_url(),
        "--lease",
        "500ms",
    ]);
    assert!(stderr.contains("--lease 500ms is too short"), "{stderr}");
}

#[test]
fn a_daily_job_on_three_nodes_runs_each_occurrence_once_through_repeated_restarts() {
    let schema = TestSchema::new("daily");
    let url = schema.url();
    let names = ["a", "b", "c"];
    let mut nodes: Vec<Service> = names.iter().map(|name| node(&url, name)).collect();
    let scratch = tempfile::tempdir().unwrap();
    let marks = scratch.path().join("markers");
    let script = format!(
        "echo \"$CIMJOB_INSTANCE_ID $CIMJOB_RUN $CIMJOB_NODE $$\" >> {}",
        marks.display()
    );
    // daily jobs due every 2 s from 6 s on, UTC: each one's first occurrence comes within the
    // takeovers below, its second tomorrow
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let jobs: Vec<u64> = (0..12)
        .map(|i| {
            let at = now
                .checked_add(jiff::SignedDuration::from_secs(6 + 2 * i))
                .unwrap();
            let clock = at.strftime("%H:%M:%S").to_string();
            submit_sh(
                &nodes[i as usize % 3],
                &["--utc", "--time", &clock, "--times", "2"],
                &script,
            )
        })
        .collect();

    // kill -9 of a node every 7 s, in turn: the others rescue its jobs once its lease lapses,
    // and it comes back as a new incarnation
    for turn in 0..4 {
        std::thread::sleep(Duration::from_secs(7));
        let i = turn % 3;
        nodes[i].crash();
        nodes[i] = node(&url, names[i]);
    }
    let serving = &nodes[0];

    for &id in &jobs {
        serving.wait_job(id, 60, "its first occurrence run", |j| {
            j["RunCount"].as_u64() >= Some(1) && j["OperationalStatus"] == json!([15])
        });
    }
    // between runs (Dormant); no further run comes: the next occurrence is tomorrow
    std::thread::sleep(Duration::from_secs(3));
    let seen = markers(&marks);
    for &id in &jobs {
        let job = serving.job(id);
        let instance = format!("CIMJOB:{id}");
        let runs: Vec<u32> = seen
            .iter()
            .filter(|m| m.0 == instance)
            .map(|m| m.1)
            .collect();
        assert_eq!(runs, [1], "{instance} ran once today: {seen:?}");
        assert_eq!(job["RunCount"], json!(1), "{job}");
        assert_eq!(job["SkippedRuns"], json!(0), "{job}");
        assert!(
            job["NextRunTime"].as_str().is_some(),
            "tomorrow's occurrence is planned: {job}"
        );
    }
    drop(nodes);
}

/// A job that writes the node it runs on to `heard` with `.node` appended, and on SIGTERM
/// writes the instant it got it (Unix nanoseconds) to `heard` and ends; else it sleeps.
fn terminable(s: &Service, heard: &std::path::Path) -> u64 {
    let script = format!(
        "trap 'date +%s%N > {heard}; exit 0' TERM; echo $CIMJOB_NODE > {heard}.node; \
         sleep 600 & wait",
        heard = heard.display()
    );
    submit_sh(s, &[], &script)
}

/// Terminates job `id` through node `via` (which does not hold it) and waits (at most
/// `within_s`) until the run heard SIGTERM; how long after the request it did.
fn terminate_through(via: &Service, id: u64, heard: &std::path::Path, within_s: u64) -> Duration {
    let sent = std::time::SystemTime::now();
    let (status, body) = via.post(
        &format!("/api/v1/jobs/{id}/requeststatechange"),
        json!({"RequestedState": 4}),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body["ReturnValue"] == json!(0) || body["ReturnValue"] == json!(4096),
        "the holder's answer code: {body}"
    );
    until_within(within_s, "the run heard SIGTERM", || heard.exists());
    until_within(2, "the instant written", || {
        std::fs::read_to_string(heard).is_ok_and(|t| t.trim().parse::<u128>().is_ok())
    });
    let at: u128 = std::fs::read_to_string(heard)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let sent = sent
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Duration::from_nanos(at.saturating_sub(sent) as u64)
}

#[test]
fn terminate_sent_to_one_node_reaches_the_run_on_another_even_with_its_listen_connections_killed() {
    let schema = TestSchema::new("calls");
    let url = schema.url();
    let a = node(&url, "a");
    let c = node(&url, "c");
    let scratch = tempfile::tempdir().unwrap();
    let heard = |i: usize| scratch.path().join(format!("heard-{i}"));
    // eight runs on a (four at a time: the rest wait there, or on c once it claims them)
    let jobs: Vec<u64> = (0..8).map(|i| terminable(&a, &heard(i))).collect();
    let mut latencies = Vec::new();
    for (i, &id) in jobs.iter().enumerate() {
        a.wait_job(id, 20, "running", |j| j["JobState"] == json!(4));
        let on = scratch.path().join(format!("heard-{i}.node"));
        until_within(10, "the run's node", || {
            std::fs::read_to_string(&on).is_ok_and(|n| n.ends_with('\n'))
        });
        // through the node that does not run it; every second call with the LISTEN
        // connections ended first, so only the polls carry it
        let via = match std::fs::read_to_string(&on).unwrap().trim() {
            "a" => &c,
            _ => &a,
        };
        if i % 2 == 1 {
            let ended = schema
                .psql(&format!(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE query LIKE 'LISTEN %{}%'",
                    schema.name()
                ))
                .unwrap();
            assert_ne!(ended, "0", "LISTEN connections were ended");
        }
        let took = terminate_through(via, id, &heard(i), 10);
        eprintln!("Terminate through the other node, call {i}: SIGTERM after {took:?}");
        latencies.push((i % 2 == 1, took));
        let done = via.wait_job(id, 10, "Terminated", |j| j["JobState"] == json!(8));
        assert_eq!(done["RunCount"], json!(1), "{done}");
    }
    // how fast is the bench's to say (bench/run --only cluster); here, that every call came
    assert_eq!(latencies.len(), jobs.len());
}

/// PATCHes job `id`'s properties through node `via`.
fn modify_through(
    via: &Service,
    id: u64,
    properties: serde_json::Value,
) -> (u16, serde_json::Value) {
    http(
        reqwest::Method::PATCH,
        &format!("{}/api/v1/jobs/{id}", via.url),
        Some(json!({ "properties": properties })),
    )
}

#[test]
fn modify_sent_to_one_node_changes_the_job_another_runs_and_a_refusal_keeps_its_code() {
    let schema = TestSchema::new("modify");
    let url = schema.url();
    let a = node(&url, "a");
    let c = node(&url, "c");
    let scratch = tempfile::tempdir().unwrap();
    let heard = scratch.path().join("heard");
    let id = terminable(&a, &heard);
    a.wait_job(id, 20, "running", |j| j["JobState"] == json!(4));
    let on = scratch.path().join("heard.node");
    until_within(10, "the run's node", || {
        std::fs::read_to_string(&on).is_ok_and(|n| n.ends_with('\n'))
    });
    let (holder, via) = match std::fs::read_to_string(&on).unwrap().trim() {
        "a" => (&a, &c),
        _ => (&c, &a),
    };
    let (status, body) = modify_through(
        via,
        id,
        json!({"Priority": 3, "TimeBeforeRemoval": "00000000000030.000000:000"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], json!(["Priority", "TimeBeforeRemoval"]));
    assert_eq!(body["job"]["Priority"], json!(3), "{body}");
    assert_eq!(holder.job(id)["Priority"], json!(3), "the holder has it");
    assert_eq!(
        holder.job(id)["JobState"],
        json!(4),
        "still running, on its node"
    );
    // a refusal comes back as the holder's engine gave it: the property, the CIM status
    let (status, body) = modify_through(via, id, json!({"Priority": 1, "JobState": 9}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["property"], json!("JobState"), "{body}");
    assert_eq!(body["error"]["cim_status"], json!(1), "{body}");
    let (status, body) = modify_through(via, id, json!({"Priority": "soon"}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["property"], json!("Priority"), "{body}");
    assert_eq!(holder.job(id)["Priority"], json!(3), "nothing changed");
    assert_eq!(via.job(id)["Priority"], json!(3));
    terminate_through(via, id, &heard, 10);
    via.wait_job(id, 10, "Terminated", |j| j["JobState"] == json!(8));
}

/// The final JobStates: Completed, Terminated, Killed, Exception.
const FINAL: [u64; 4] = [7, 8, 9, 10];

#[test]
fn ten_thousand_jobs_through_three_nodes_one_killed_mid_run_each_end_once_and_run_once_per_run() {
    const JOBS: usize = 10_000;
    let schema = TestSchema::new("ten_thousand");
    let url = schema.url();
    let mut nodes: Vec<Service> = ["a", "b", "c"].iter().map(|n| node(&url, n)).collect();
    let scratch = tempfile::tempdir().unwrap();
    let marks = scratch.path().join("markers");
    // a's runs take half a second, so that a always has runs in flight when it is killed
    let script = format!(
        "echo \"$CIMJOB_INSTANCE_ID $CIMJOB_RUN $CIMJOB_NODE\" >> {}; \
         if [ \"$CIMJOB_NODE\" = a ]; then sleep 0.5; fi",
        marks.display()
    );
    // submitted through all three at once, each job re-run if its run is lost; mid-run (a
    // fifth of the runs done) a is killed: its submissions stop there, unacknowledged
    let bases: Vec<String> = nodes.iter().map(|n| n.url.clone()).collect();
    let lines = || {
        std::fs::read_to_string(&marks)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let killed = std::sync::atomic::AtomicBool::new(false);
    let a = &mut nodes[0];
    let submitted: Vec<u64> = std::thread::scope(|scope| {
        let threads: Vec<_> = bases
            .iter()
            .enumerate()
            .map(|(i, base)| {
                let (script, killed) = (&script, &killed);
                scope.spawn(move || {
                    let share = JOBS / 3 + usize::from(i < JOBS % 3);
                    let mut ids = Vec::new();
                    for k in 0..share {
                        if i == 0 && killed.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                        let body = json!({"properties": {
                            "Name": format!("n{i}-{k}"),
                            "CommandLine": ["sh", "-c", script],
                            "RecoveryAction": 4,
                        }});
                        let url = format!("{base}/api/v1/jobs");
                        let answer = std::panic::catch_unwind(|| {
                            http(reqwest::Method::POST, &url, Some(body))
                        });
                        match answer {
                            Ok((201, answer)) => {
                                let iid = answer["InstanceID"].as_str().unwrap();
                                ids.push(
                                    iid.strip_prefix("CIMJOB:").unwrap().parse::<u64>().unwrap(),
                                );
                            }
                            // a's, once it was killed: not acknowledged
                            _ if i == 0 => break,
                            Ok((status, answer)) => panic!("{status} {answer}"),
                            Err(_) => panic!("node {i} did not answer"),
                        }
                    }
                    ids
                })
            })
            .collect();
        until_within(120, "a fifth run", || lines() >= JOBS / 5);
        killed.store(true, std::sync::atomic::Ordering::SeqCst);
        a.crash();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let killed_at = Instant::now();
    let distinct: std::collections::BTreeSet<u64> = submitted.iter().copied().collect();
    assert_eq!(distinct.len(), submitted.len(), "every job its own LocalID");
    assert!(
        submitted.len() > JOBS / 2,
        "{} acknowledged",
        submitted.len()
    );

    // every job ends, once: the two live nodes rescue what a held
    let b = &nodes[1];
    let states = || -> Vec<serde_json::Value> {
        let (status, body) = b.get("/api/v1/jobs");
        assert_eq!(status, 200, "{body}");
        body["jobs"].as_array().cloned().unwrap_or_default()
    };
    let mut jobs = Vec::new();
    until_within(180, "every job in a final state", || {
        jobs = states();
        let listed: std::collections::BTreeSet<u64> = jobs
            .iter()
            .filter_map(|j| {
                j["InstanceID"]
                    .as_str()?
                    .strip_prefix("CIMJOB:")?
                    .parse()
                    .ok()
            })
            .collect();
        distinct.is_subset(&listed)
            && jobs
                .iter()
                .all(|j| FINAL.contains(&j["JobState"].as_u64().unwrap_or(0)))
    });
    eprintln!(
        "kill -9 of a to all {JOBS} jobs ended: {:?}",
        killed_at.elapsed()
    );

    // each run's marker once; the last run of each job completed it
    let mut runs: std::collections::BTreeMap<String, Vec<(u32, String)>> = Default::default();
    for (instance, run, node, _) in markers(&marks) {
        runs.entry(instance).or_default().push((run, node));
    }
    let mut rerun_after_loss = 0;
    for job in &jobs {
        let instance = job["InstanceID"].as_str().unwrap().to_owned();
        assert_eq!(job["JobState"], json!(7), "{job}");
        let count = job["RunCount"].as_u64().unwrap() as u32;
        let seen = runs.get(&instance).cloned().unwrap_or_default();
        let mut numbers: Vec<u32> = seen.iter().map(|(run, _)| *run).collect();
        numbers.sort_unstable();
        let before = numbers.len();
        numbers.dedup();
        assert_eq!(
            before,
            numbers.len(),
            "{instance} ran a run twice: {seen:?}"
        );
        assert!(
            numbers.contains(&count),
            "{instance}'s last run wrote no marker: {seen:?}"
        );
        assert!(count <= 2, "{instance} ran {count} times: {seen:?}");
        if count == 2 {
            rerun_after_loss += 1;
            // its first run was a's, ended as node lost; the re-run ran on a live node
            let (_, history) = b.get(&format!(
                "/api/v1/jobs/{}/runs",
                instance.strip_prefix("CIMJOB:").unwrap()
            ));
            let first = &history["runs"][0];
            assert_eq!(first["error_code"], json!(7), "{instance}: {history}");
            assert!(
                seen.iter().any(|(run, node)| *run == 2 && node != "a"),
                "{instance}: {seen:?}"
            );
        }
    }
    eprintln!("{rerun_after_loss} jobs were re-run after node a was lost");
    assert!(
        rerun_after_loss >= 1,
        "a was killed with runs in flight, yet no job was re-run"
    );
}

#[test]
fn subscriptions_made_on_a_node_that_does_not_deliver_hear_every_change_once() {
    use cim::xml::{Instance, Property};
    use cim::CimValue;
    use common::listener::{create, listen, Heard};

    let schema = TestSchema::new("subscriptions");
    let url = schema.url();
    let a = node(&url, "a");
    until_within(10, "a delivers", || a.log().contains("this node delivers"));
    let b = node(&url, "b");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // through b, which does not deliver: a permanent destination (a delivers to it) and a
    // transient one (which lives on b only, so b delivers to it)
    let (permanent, transient): (Heard, Heard) = Default::default();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let filter = create(
            &http,
            &b.url,
            Instance::new("CIM_IndicationFilter")
                .with_property(Property::new("Name", "jobs"))
                .with_property(Property::new("QueryLanguage", "DMTF:CQL"))
                .with_property(Property::new(
                    "Query",
                    "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob",
                )),
        )
        .await;
        for (name, persistence, heard) in [("kept", 2u16, &permanent), ("passing", 3, &transient)] {
            let listener = listen(heard.clone()).await;
            let destination = create(
                &http,
                &b.url,
                Instance::new("CIM_ListenerDestinationCIMXML")
                    .with_property(Property::new("Name", name))
                    .with_property(Property::new("Destination", listener.as_str()))
                    .with_property(Property::new(
                        "PersistenceType",
                        CimValue::UInt16(persistence),
                    )),
            )
            .await;
            create(
                &http,
                &b.url,
                Instance::new("CIM_IndicationSubscription")
                    .with_property(Property::new("Filter", CimValue::Reference(filter.clone())))
                    .with_property(Property::new("Handler", CimValue::Reference(destination))),
            )
            .await;
        }
    });
    // a (which delivers) reads the new subscriptions within a second
    std::thread::sleep(Duration::from_millis(1500));
    let ids: Vec<u64> = (0..4)
        .map(|i| submit_sh(if i % 2 == 0 { &a } else { &b }, &[], "true"))
        .collect();
    for &id in &ids {
        a.wait_job(id, 20, "Completed", |j| j["JobState"] == json!(7));
    }
    for (name, heard) in [("permanent", &permanent), ("transient", &transient)] {
        let completed = |heard: &Heard| -> Vec<String> {
            heard
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, _, before, after)| *before == 4 && *after == 7)
                .map(|(_, job, _, _)| job.clone())
                .collect()
        };
        until_within(20, "every completion heard", || {
            completed(heard).len() >= ids.len()
        });
        std::thread::sleep(Duration::from_millis(500));
        let mut heard_of = completed(heard);
        heard_of.sort();
        let mut expected: Vec<String> = ids.iter().map(|id| format!("CIMJOB:{id}")).collect();
        expected.sort();
        assert_eq!(
            heard_of, expected,
            "the {name} destination heard each completion once"
        );
    }
    drop(runtime);
}
