//! The service's log as an operator reads it: plain text with no colour codes when stderr is
//! a file, one JSON object per line with `--log-format json`, and a line for every run's start
//! and end.

mod common;

use common::{submit_sh, Service};

#[test]
fn every_run_start_and_end_is_logged_as_json_lines_with_no_colour() {
    let s = Service::start(&["--log-format", "json"]);
    let ok = submit_sh(&s, &[], "true");
    let failed = submit_sh(&s, &[], "exit 3");
    s.wait_state(ok, 7, 20);
    s.wait_state(failed, 10, 20);
    common::until("both ends logged", || {
        s.log().matches("run ended").count() >= 2
    });
    let log = s.log();
    assert!(
        !log.contains('\u{1b}'),
        "no terminal escapes in a file:\n{log}"
    );
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let about = |id: u64, message: &str| {
        lines
            .iter()
            .filter(|l| l["fields"]["message"] == message && l["fields"]["job"] == id)
            .cloned()
            .collect::<Vec<_>>()
    };
    for (id, result, exit) in [(ok, "completed", 0), (failed, "failed", 3)] {
        assert_eq!(about(id, "run started").len(), 1, "{log}");
        let ended = about(id, "run ended");
        assert_eq!(ended.len(), 1, "{log}");
        assert_eq!(ended[0]["fields"]["result"], result, "{log}");
        assert_eq!(ended[0]["fields"]["exit_status"], exit, "{log}");
        assert_eq!(ended[0]["fields"]["run"], 1, "{log}");
    }
}

#[test]
fn the_text_log_has_no_colour_when_it_goes_to_a_file() {
    let s = Service::start(&[]);
    let id = submit_sh(&s, &[], "true");
    s.wait_state(id, 7, 20);
    common::until("the end logged", || s.log().contains("run ended"));
    let log = s.log();
    assert!(!log.contains('\u{1b}'), "{log}");
    assert!(log.contains(&format!("job={id}")), "{log}");
}
