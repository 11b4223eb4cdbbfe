//! The service with its jobs in the real PostgreSQL server (`--database-url`): what one node
//! keeps there outlives it, and a second node on the same database stands by until the
//! first one's lease lapses (`cluster.rs` has the takeovers). (`CIMJOB_TEST_STORE=postgres`
//! runs the service tests on it too.)

mod common;

use cimjob_harness::postgres::TestSchema;
use common::*;

#[test]
fn a_node_keeps_its_jobs_in_postgres_and_a_second_node_stands_by_until_it_is_gone() {
    let schema = TestSchema::new("two_nodes");
    let url = schema.url();
    let node = |name: &'static str| {
        let url = url.clone();
        move || {
            Service::start_within(
                &["--database-url", &url, "--node", name, "--lease", "2s"],
                60,
            )
        }
    };
    let mut first = node("first")();
    let id = submit_sh(&first, &["--name", "kept"], "echo \"ran on $CIMJOB_NODE\"");
    let job = first.wait_state(id, 7, 10);
    assert_eq!(
        std::fs::read_to_string(job["OutputPath"].as_str().unwrap()).unwrap(),
        "ran on first\n"
    );
    // the job is a row of the schema, not of the data dir's SQLite file
    assert_eq!(schema.psql("SELECT count(*) FROM jobs").unwrap(), "1");
    assert!(!first.data_dir().join("cimjob.db").exists());

    // a second node with a data dir of its own, on the same database: it stands by
    let second = std::thread::spawn(node("second"));
    let after = first.submit(&["--", "true"]);
    first.wait_state(after, 7, 10);
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        !second.is_finished(),
        "the second node serves beside the first"
    );

    // once the first has stopped and its lease lapsed, the second serves the same jobs
    first.stop();
    let replacement = second.join().expect("the second node took over");
    let kept = replacement.job(id);
    assert_eq!(kept["Name"], serde_json::json!("kept"));
    assert_eq!(kept["JobState"], serde_json::json!(7));
    let next = replacement.submit(&["--", "true"]);
    assert!(
        next > after,
        "LocalIDs go on from the database's mark: {next} after {after}"
    );
    assert_eq!(
        schema
            .psql("SELECT string_agg(node || ':' || (fenced_by IS NOT NULL), ',' ORDER BY node) FROM nodes")
            .unwrap(),
        "first:true,second:false",
        "the second fenced the first when it took over"
    );
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
