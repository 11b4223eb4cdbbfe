//! The operator's figures through the real binary: `/metrics` counts the jobs this test ran
//! (by state, by run result, durations, start delays, requests) and Prometheus's own
//! `promtool check metrics` accepts the text; `/healthz` and `/readyz` answer without
//! credentials, `/metrics` only with them.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use common::{http_as, submit_sh, Service, ADMIN_PASSWORD};
use serde_json::Value;

/// The samples of a scrape: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

fn scrape(s: &Service) -> String {
    let (status, body) = http_as(
        Some(("admin", ADMIN_PASSWORD)),
        reqwest::Method::GET,
        &format!("{}/metrics", s.url),
        None,
    );
    assert_eq!(status, 200, "{body}");
    match body {
        Value::String(text) => text,
        other => panic!("the scrape is not text: {other}"),
    }
}

#[test]
fn metrics_count_the_jobs_that_ran_and_promtool_accepts_them() {
    let s = Service::start(&["--max-running", "4"]);
    let ok: Vec<u64> = (0..3).map(|_| submit_sh(&s, &[], "true")).collect();
    let failed = submit_sh(&s, &[], "exit 3");
    let long = submit_sh(&s, &[], "exec sleep 600");
    s.submit(&["--hold", "--", "true"]);
    for &id in &ok {
        s.wait_state(id, 7, 20);
    }
    s.wait_state(failed, 10, 20);
    s.wait_state(long, 4, 20);
    s.request_state(long, 4);
    s.wait_state(long, 8, 20);

    let text = scrape(&s);
    let figures = samples(&text);
    let figure = |series: &str| {
        *figures
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    // every stored job by JobState; the held one is Suspended, none is queued
    assert_eq!(figure(r#"cimjob_jobs{state="completed"}"#), 3.0);
    assert_eq!(figure(r#"cimjob_jobs{state="exception"}"#), 1.0);
    assert_eq!(figure(r#"cimjob_jobs{state="terminated"}"#), 1.0);
    assert_eq!(figure(r#"cimjob_jobs{state="suspended"}"#), 1.0);
    assert_eq!(figure(r#"cimjob_jobs{state="new"}"#), 0.0);
    assert_eq!(figure(r#"cimjob_jobs{state="running"}"#), 0.0);
    assert_eq!(figure("cimjob_queue_depth"), 0.0);
    // every run by result, each with its duration and its start delay
    assert_eq!(figure(r#"cimjob_runs_total{result="completed"}"#), 3.0);
    assert_eq!(figure(r#"cimjob_runs_total{result="failed"}"#), 1.0);
    assert_eq!(figure(r#"cimjob_runs_total{result="terminated"}"#), 1.0);
    assert_eq!(figure("cimjob_run_duration_seconds_count"), 5.0);
    assert_eq!(figure("cimjob_start_delay_seconds_count"), 5.0);
    assert!(figure("cimjob_run_duration_seconds_sum") > 0.0);
    // the six submissions, by route as routed; the build
    assert_eq!(
        figure(r#"cimjob_http_requests_total{method="POST",route="/api/v1/jobs",status="201"}"#),
        6.0
    );
    assert_eq!(
        figure(&format!(
            r#"cimjob_build_info{{version="{}"}}"#,
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    // no series names a job
    assert!(!text.contains("CIMJOB:"), "{text}");
    assert!(!text.contains(&format!("/api/v1/jobs/{long}")), "{text}");

    // Prometheus's own linter accepts the text
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; run-tests installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn the_probes_answer_without_credentials_and_the_figures_only_with_them() {
    let s = Service::start(&[]);
    let get = |path: &str| {
        http_as(
            None,
            reqwest::Method::GET,
            &format!("{}{path}", s.url),
            None,
        )
    };
    assert_eq!(get("/healthz"), (200, Value::String("ok\n".into())));
    assert_eq!(get("/readyz"), (200, Value::String("ready\n".into())));
    assert_eq!(get("/metrics").0, 401);
    // a probe is counted like any request, under its route
    let text = scrape(&s);
    assert!(
        text.contains(r#"cimjob_http_requests_total{method="GET",route="/readyz",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"cimjob_http_requests_total{method="GET",route="/metrics",status="401"} 1"#
        ),
        "{text}"
    );
}
