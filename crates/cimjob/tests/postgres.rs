//! The service with its jobs in the real PostgreSQL server (`--database-url`): what one node
//! keeps there outlives it, and a second node on the same database serves beside it
//! (`cluster.rs` has the rescues and the calls between nodes). (`CIMJOB_TEST_STORE=postgres`
//! runs the service tests on it too.)

mod common;

use cimjob_harness::postgres::TestSchema;
use common::*;

#[test]
fn a_node_keeps_its_jobs_in_postgres_and_a_second_node_serves_them_beside_it() {
    let schema = TestSchema::new("two_nodes");
    let url = schema.url();
    let node =
        |name: &str| Service::start(&["--database-url", &url, "--node", name, "--lease", "2s"]);
    let mut first = node("first");
    let id = submit_sh(&first, &["--name", "kept"], "echo \"ran on $CIMJOB_NODE\"");
    let job = first.wait_state(id, 7, 10);
    assert_eq!(
        std::fs::read_to_string(job["OutputPath"].as_str().unwrap()).unwrap(),
        "ran on first\n"
    );
    // the job is a row of the schema, not of the data dir's SQLite file
    assert_eq!(schema.psql("SELECT count(*) FROM jobs").unwrap(), "1");
    assert!(!first.data_dir().join("cimjob.db").exists());

    // a second node with a data dir of its own, on the same database, serves at once: it
    // knows the first's jobs, and its own get LocalIDs no node gave
    let second = node("second");
    let kept = second.job(id);
    assert_eq!(
        (&kept["Name"], &kept["JobState"]),
        (&serde_json::json!("kept"), &serde_json::json!(7))
    );
    let after = first.submit(&["--", "true"]);
    let beside = submit_sh(&second, &[], "echo \"ran on $CIMJOB_NODE\"");
    second.wait_state(beside, 7, 10);
    first.wait_state(after, 7, 10);
    assert_ne!(beside, after);
    assert_eq!(
        std::fs::read_to_string(second.job(beside)["OutputPath"].as_str().unwrap()).unwrap(),
        "ran on second\n"
    );

    // once the first has stopped, the second serves the same jobs
    first.stop();
    assert_eq!(second.job(after)["JobState"], serde_json::json!(7));
    let next = second.submit(&["--", "true"]);
    assert!(
        next > after.max(beside),
        "LocalIDs are never given twice: {next} after {after} and {beside}"
    );
    second.wait_state(next, 7, 10);
}

#[test]
fn a_database_url_that_cannot_be_used_is_refused_naming_it() {
    let stderr = serve_refused(&[
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        "postgres://postgres:secret@127.0.0.1:5432/test?search_path=no-dashes",
    ]);
    assert!(stderr.contains("search_path \"no-dashes\""), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password is not shown: {stderr}"
    );
}

#[test]
fn a_restart_and_a_crash_of_the_database_under_load_lose_no_acknowledged_job_and_run_none_twice() {
    use cimjob_harness::postgres::PrivateServer;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const JOBS: usize = 300;
    let server = PrivateServer::start().expect("a PostgreSQL server of the test's own");
    let schema = server.schema("restart");
    let url = schema.url();
    let s = Service::start(&[
        "--database-url",
        &url,
        "--node",
        "solo",
        "--max-running",
        "4",
    ]);
    let marks = s.scratch().join("markers");
    let script = format!(
        "echo \"$CIMJOB_INSTANCE_ID $CIMJOB_RUN\" >> {}",
        marks.display()
    );

    // one client submits while the server restarts under it; what it was told is what counts
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let submitter = {
        let (api, script, acknowledged) = (s.url.clone(), script.clone(), acknowledged.clone());
        std::thread::spawn(move || {
            let mut ids = Vec::new();
            let mut refused = 0;
            for n in 0..JOBS {
                let properties = serde_json::json!({
                    "Name": format!("load-{n}"),
                    "CommandLine": ["sh", "-c", &script],
                });
                let (status, body) = http(
                    reqwest::Method::POST,
                    &format!("{api}/api/v1/jobs"),
                    Some(serde_json::json!({ "properties": properties })),
                );
                if status == 201 {
                    ids.push(body["InstanceID"].as_str().unwrap().to_owned());
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                } else {
                    refused += 1;
                }
            }
            (ids, refused)
        })
    };
    // a restart (fast: sessions ended) at a third, a crash (immediate) at two thirds
    type Outage = fn(&PrivateServer) -> anyhow::Result<()>;
    let outages: [(usize, Outage); 2] = [
        (JOBS / 3, PrivateServer::stop),
        (2 * JOBS / 3, PrivateServer::crash),
    ];
    for (at, stop) in outages {
        until_within(60, "jobs acknowledged", || {
            acknowledged.load(Ordering::Relaxed) >= at
        });
        stop(&server).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(1));
        server.start_again().unwrap();
    }
    let (ids, refused) = submitter.join().unwrap();
    eprintln!("{} acknowledged, {refused} refused", ids.len());
    assert!(
        ids.len() > 2 * JOBS / 3,
        "submissions went on after the restarts"
    );

    for id in &ids {
        let local = cimjob_rules::model::job::parse_instance_id(id).unwrap();
        s.wait_state(local, 7, 120);
    }
    let mut seen: Vec<String> = std::fs::read_to_string(&marks)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    seen.sort();
    let total = seen.len();
    seen.dedup();
    assert_eq!(total, seen.len(), "a run ran twice");
    for id in &ids {
        assert!(
            seen.contains(&format!("{id} 1")),
            "acknowledged job {id} never ran"
        );
    }
    // every run ran once, and those of jobs whose acknowledgement was lost at most once too
    assert!(seen.iter().all(|line| line.ends_with(" 1")), "{seen:?}");
    let stored: usize = schema
        .psql("SELECT count(*) FROM jobs")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        stored >= ids.len(),
        "{stored} stored, {} acknowledged",
        ids.len()
    );
    // the node reconnected and goes on serving
    let after = submit_sh(&s, &[], "true");
    s.wait_state(after, 7, 30);
    assert!(
        s.log().contains("connected to PostgreSQL again"),
        "{}",
        s.log()
    );
}
