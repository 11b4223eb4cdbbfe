//! Calendar scheduling end to end: the real binary, the CLI's human forms, restarts.

mod common;

use common::Service;
use serde_json::{json, Value};

fn timestamp(v: &Value) -> jiff::Timestamp {
    cim::CimDateTime::parse(v.as_str().unwrap())
        .unwrap()
        .to_timestamp()
        .unwrap()
}

#[test]
fn a_job_scheduled_seconds_ahead_waits_then_runs_when_due() {
    let s = Service::start(&[]);
    let (id, out) = s.submit_out(&["--at", "2s", "--", "true"]);
    assert!(
        out.contains("ScheduledStartTime = 00000000000002.000000:000"),
        "{out}"
    );
    let waiting = s.job(id);
    assert_eq!(
        (
            waiting["JobState"].clone(),
            waiting["OperationalStatus"].clone()
        ),
        (json!(2), json!([15]))
    );
    let planned = timestamp(&waiting["NextRunTime"]);
    assert!(
        waiting["JobStatus"]
            .as_str()
            .unwrap()
            .starts_with("waits until"),
        "{waiting}"
    );
    let done = s.wait_state(id, 7, 15);
    let started = timestamp(&done["StartTime"]);
    assert!(
        started >= planned,
        "not before its time: started {started}, planned {planned}"
    );
    assert!(
        started.duration_since(planned) < jiff::SignedDuration::from_secs(3),
        "started {started}, planned {planned}"
    );
}

#[test]
fn a_recurring_job_runs_job_run_times_times_and_a_machine_restart_keeps_its_count() {
    let mut s = Service::start(&["--rerun-backoff", "100ms"]);
    let log = s.scratch().join("runs");
    let script = format!("echo run >> {}; sleep 0.5", log.display());
    let out = s.ok(&[
        "submit",
        "--times",
        "3",
        "--recovery",
        "re-run",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    let id = common::submitted_id(&out);
    // the machine restarts while the second run is going: its supervisor dies too
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::fs::read_to_string(&log).map_or(0, |t| t.lines().count()) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    s.crash_with_supervisors();
    s.restart();
    let job = s.wait_state(id, 7, 20);
    // runs 1 and 2 (lost in the crash), run 2 again (Re-run Job), run 3
    assert_eq!(job["RunCount"], json!(4), "{job}");
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 4);
    let (_, runs) = s.get(&format!("/api/v1/jobs/{id}/runs"));
    let errors: Vec<u64> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error_code"].as_u64().unwrap())
        .collect();
    assert_eq!(
        errors,
        [0, 4, 0, 0],
        "the lost run is recorded with ErrorCode 4"
    );
}

#[test]
fn a_calendar_job_waits_between_runs_and_a_restart_keeps_its_place() {
    let mut s = Service::start(&[]);
    // the next whole minute, in UTC, so the first run comes within a minute
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let soon = now.checked_add(jiff::SignedDuration::from_secs(3)).unwrap();
    let clock = soon.strftime("%H:%M:%S").to_string();
    let out = s.ok(&[
        "submit", "--utc", "--time", &clock, "--times", "2", "--", "true",
    ]);
    let id = common::submitted_id(&out);
    assert!(out.contains("LocalOrUtcTime = 2 (UTC Time)"), "{out}");
    let job = s.wait_job(id, 15, "between runs", |j| {
        j["RunCount"] == json!(1) && j["OperationalStatus"] == json!([15])
    });
    assert_eq!(
        job["JobState"],
        json!(4),
        "Running while it waits for its next run"
    );
    let next = timestamp(&job["NextRunTime"]);
    assert_eq!(
        next.duration_since(timestamp(&job["StartTime"])).as_secs() / 3600,
        23,
        "tomorrow at the same time"
    );
    assert!(
        job["JobStatus"]
            .as_str()
            .unwrap()
            .starts_with("next run at"),
        "{job}"
    );
    s.restart();
    let again = s.job(id);
    assert_eq!(
        (
            again["RunCount"].clone(),
            again["NextRunTime"].clone(),
            again["JobState"].clone()
        ),
        (json!(1), job["NextRunTime"].clone(), json!(4))
    );
    let show = s.ok(&["show", &id.to_string()]);
    assert!(show.contains("Next runs:"), "{show}");
    // Terminate ends the series
    assert_eq!(s.request_state(id, 4), 0);
    assert_eq!(s.state(id), 8);
}

#[test]
fn human_forms_map_to_cim_values_and_show_lists_the_next_runs() {
    let s = Service::start(&[]);
    // last Sunday of March at 02:00 in Berlin: in 2027 that is the spring-forward gap
    let out = s.ok(&[
        "submit",
        "--month",
        "mar",
        "--day",
        "-1",
        "--weekday",
        "-sun",
        "--time",
        "02:00",
        "--tz",
        "Europe/Berlin",
        "--times",
        "0",
        "--",
        "true",
    ]);
    for expected in [
        "RunMonth = 2 (March)",
        "RunDay = -1",
        "RunDayOfWeek = -1 (-Sunday)",
        "RunStartInterval = 00000000020000.000000:000",
        "LocalOrUtcTime = 1 (Local Time)",
        "TimeZone = Europe/Berlin",
        "JobRunTimes = 0",
    ] {
        assert!(out.contains(expected), "{expected:?} in {out}");
    }
    let id = common::submitted_id(&out);
    let job = s.job(id);
    // 02:00 does not exist on 2027-03-28 in Berlin: shifted forward by the gap to 03:00 CEST = 01:00Z
    assert_eq!(
        timestamp(&job["NextRunTime"]),
        "2027-03-28T01:00:00Z".parse::<jiff::Timestamp>().unwrap()
    );
    let (_, runs) = s.get(&format!("/api/v1/jobs/{id}/runs"));
    let upcoming: Vec<jiff::Timestamp> = runs["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(timestamp)
        .collect();
    assert_eq!(upcoming.len(), 5);
    assert_eq!(
        upcoming[1],
        "2028-03-26T01:00:00Z".parse::<jiff::Timestamp>().unwrap()
    );
    let show = s.ok(&["show", &id.to_string()]);
    assert!(
        show.contains("Next runs:") && show.contains("2027-03-"),
        "{show}"
    );
}

#[test]
fn bad_schedules_get_errors_that_name_the_value() {
    let s = Service::start(&[]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["submit", "--month", "13", "--", "true"],
            "month 13 is not 1..12",
        ),
        (
            &["submit", "--month", "ju", "--", "true"],
            "\"ju\" is not a month",
        ),
        (
            &["submit", "--weekday", "funday", "--", "true"],
            "\"funday\" is not a weekday",
        ),
        (
            &["submit", "--time", "25:00", "--", "true"],
            "\"25:00\" is not a time of day",
        ),
        (
            &["submit", "--day", "32", "--", "true"],
            "\"32\" is not a day of the month",
        ),
        (
            &[
                "submit",
                "--tz",
                "Mars/Olympus",
                "--time",
                "01:00",
                "--",
                "true",
            ],
            "\"Mars/Olympus\" is not an IANA time zone",
        ),
        (
            &["submit", "--until", "2001-01-01 00:00", "--", "true"],
            "UntilTime",
        ),
        (
            &["submit", "--month", "feb", "--day", "30", "--", "true"],
            "RunDay",
        ),
        (
            &["submit", "--at", "someday", "--", "true"],
            "\"someday\" is not a time",
        ),
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
    let (_, list) = s.get("/api/v1/jobs");
    assert_eq!(list["jobs"].as_array().unwrap().len(), 0, "nothing stored");
}

#[test]
fn set_changes_the_schedule_of_a_waiting_job_and_refuses_read_only_ones() {
    let s = Service::start(&[]);
    let id = s.submit(&["--utc", "--time", "02:00", "--", "true"]);
    let before = timestamp(&s.job(id)["NextRunTime"]);
    let out = s.ok(&[
        "set",
        &id.to_string(),
        "RunStartInterval=00000000033000.000000:000",
        "Priority=7",
    ]);
    assert!(out.contains("changed Priority, RunStartInterval"), "{out}");
    let after = timestamp(&s.job(id)["NextRunTime"]);
    // 02:00 -> 03:30: the next 03:30 UTC is the same day as the next 02:00, or the day
    // before it when the test runs between the two.
    let moved = after.duration_since(before).as_secs();
    assert!(
        moved == 90 * 60 || moved == 90 * 60 - 24 * 3600,
        "{before} -> {after}"
    );
    let utc = after.to_zoned(jiff::tz::TimeZone::UTC);
    assert_eq!(
        (utc.hour(), utc.minute(), utc.second()),
        (3, 30, 0),
        "{after}"
    );
    assert_eq!(s.job(id)["Priority"], json!(7));
    let out = s.cli(&["set", &id.to_string(), "Name=renamed"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("property Name can only be set when the job is created"));
    let out = s.cli(&["set", &id.to_string(), "RunDayOfWeek=9"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("RunDayOfWeek"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        timestamp(&s.job(id)["NextRunTime"]),
        after,
        "a refused change changes nothing"
    );
}

#[test]
fn a_failed_run_does_not_end_a_recurring_series_and_stays_on_record() {
    let s = Service::start(&[]);
    let out = s.ok(&[
        "submit",
        "--times",
        "3",
        "--",
        "sh",
        "-c",
        "[ \"$CIMJOB_RUN\" != 2 ] || exit 5",
    ]);
    let id = common::submitted_id(&out);
    let job = s.wait_state(id, 7, 20);
    assert_eq!(
        (job["RunCount"].clone(), job["ErrorCode"].clone()),
        (json!(3), json!(0)),
        "the series went on past the failed run 2: {job}"
    );
    let (_, runs) = s.get(&format!("/api/v1/jobs/{id}/runs"));
    let codes: Vec<(u64, Value)> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["error_code"].as_u64().unwrap(), r["exit_status"].clone()))
        .collect();
    assert_eq!(
        codes,
        [(0, json!(0)), (1, json!(5)), (0, json!(0))],
        "the failure is in the run's history"
    );
}

/// The next runs the API previews, as instants.
fn upcoming(s: &Service, id: u64, n: usize) -> Vec<jiff::Timestamp> {
    let (_, runs) = s.get(&format!("/api/v1/jobs/{id}/runs?upcoming={n}"));
    runs["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(timestamp)
        .collect()
}

#[test]
fn every_n_seconds_runs_on_its_grid_and_replace_ends_a_run_that_overlaps() {
    let s = Service::start(&[]);
    let (id, out) = s.submit_out(&["--every", "1s", "--times", "3", "--", "true"]);
    assert!(
        out.contains("RepeatInterval = 00000000000001.000000:000"),
        "{out}"
    );
    let done = s.wait_state(id, 7, 20);
    assert_eq!(done["RunCount"], json!(3), "{done}");
    let first = timestamp(&done["TimeSubmitted"]);
    let (_, runs) = s.get(&format!("/api/v1/jobs/{id}/runs"));
    for (k, run) in runs["runs"].as_array().unwrap().iter().enumerate() {
        let started: jiff::Timestamp = run["started_at"].as_str().unwrap().parse().unwrap();
        let due = first + jiff::SignedDuration::from_secs(k as i64);
        assert!(started >= due, "run {k} started {started}, before {due}");
    }
    // a run that outlasts its interval is replaced by the next occurrence (SIGTERM)
    let id = s.submit(&[
        "--every",
        "1s",
        "--times",
        "2",
        "--overlap",
        "replace",
        "--",
        "sleep",
        "30",
    ]);
    let job = s.wait_job(id, 20, "the second run", |j| j["RunCount"] == json!(2));
    assert_eq!(job["OverlapPolicy"], json!(4));
    let (_, runs) = s.get(&format!("/api/v1/jobs/{id}/runs"));
    let replaced = &runs["runs"][0];
    assert!(
        replaced["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("replaced by the run due at")),
        "{runs}"
    );
    // 4096: the Terminate is under way (SIGTERM sent)
    assert_eq!(s.request_state(id, 4), 4096, "Terminate the second run");
    s.wait_state(id, 8, 20);
}

#[test]
fn a_calendar_expression_previews_its_runs_in_its_zone_and_one_way_to_recur_is_enforced() {
    let s = Service::start(&[]);
    let (id, out) = s.submit_out(&[
        "--calendar",
        "Mon,Thu 02:00",
        "--tz",
        "Europe/Berlin",
        "--overlap",
        "queue",
        "--",
        "true",
    ]);
    for expected in [
        "CalendarExpression = Mon,Thu 02:00",
        "JobRunTimes = 0",
        "OverlapPolicy = 3 (Queue)",
        "TimeZone = Europe/Berlin",
    ] {
        assert!(out.contains(expected), "{expected:?} in {out}");
    }
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let runs = upcoming(&s, id, 6);
    assert_eq!(runs.len(), 6);
    for t in &runs {
        let local = t.to_zoned(berlin.clone());
        assert!(
            matches!(
                local.weekday(),
                jiff::civil::Weekday::Monday | jiff::civil::Weekday::Thursday
            ) && (local.hour(), local.minute()) == (2, 0),
            "{local}"
        );
    }
    assert_eq!(timestamp(&s.job(id)["NextRunTime"]), runs[0]);
    let next = s.ok(&["next", &id.to_string(), "-n", "4"]);
    assert_eq!(next.lines().count(), 4, "{next}");
    // changed to hourly by `cimjob set`: the preview follows
    s.ok(&["set", &id.to_string(), "CalendarExpression=hourly"]);
    let hourly = upcoming(&s, id, 3);
    assert_eq!(hourly[1].duration_since(hourly[0]).as_secs(), 3600);

    // a second way to recur: the CLI names both options, the API both properties
    let out = s.cli(&[
        "submit",
        "--calendar",
        "hourly",
        "--time",
        "02:00",
        "--",
        "true",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--calendar") && stderr.contains("--time"),
        "{stderr}"
    );
    let (status, body) = s.post(
        "/api/v1/jobs",
        json!({"properties": {
            "Name": "both",
            "CommandLine": ["true"],
            "RepeatInterval": "00000000001500.000000:000",
            "RunStartInterval": "00000000020000.000000:000",
        }}),
    );
    let message = body.to_string();
    assert_eq!(status, 400, "{body}");
    assert!(
        message.contains("RepeatInterval") && message.contains("RunStartInterval"),
        "{message}"
    );
    for (args, says) in [
        (&["--calendar", "Mon 25:00"][..], "hour 25"),
        (&["--calendar", "12:00 Europe/Berlin"][..], "TimeZone"),
        (&["--every", "0s"][..], "RepeatInterval"),
        (
            &["--overlap", "sometimes"][..],
            "\"sometimes\" is not an OverlapPolicy",
        ),
    ] {
        let mut argv = vec!["submit"];
        argv.extend_from_slice(args);
        argv.extend(["--", "true"]);
        let out = s.cli(&argv);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
    let (_, list) = s.get("/api/v1/jobs");
    assert_eq!(
        list["jobs"].as_array().unwrap().len(),
        1,
        "only the first was stored"
    );
}

#[test]
fn overlap_queue_starts_the_held_occurrence_as_the_run_before_it_ends() {
    let s = Service::start(&[]);
    // runs of 1.3 s on a 1 s grid: each occurrence that comes during a run waits for it (under
    // Skip the next run would start at the next slot, 0.7 s after the end)
    let id = s.submit(&[
        "--every",
        "1s",
        "--times",
        "3",
        "--overlap",
        "queue",
        "--",
        "sleep",
        "1.3",
    ]);
    let done = s.wait_state(id, 7, 30);
    assert_eq!(done["RunCount"], json!(3), "{done}");
    let (_, runs) = s.get(&format!("/api/v1/jobs/{id}/runs"));
    let runs = runs["runs"].as_array().unwrap();
    let at =
        |run: &Value, key: &str| -> jiff::Timestamp { run[key].as_str().unwrap().parse().unwrap() };
    for pair in runs.windows(2) {
        let (ended, started) = (at(&pair[0], "ended_at"), at(&pair[1], "started_at"));
        assert!(started >= ended, "never two runs at once: {runs:?}");
        assert!(
            started.duration_since(ended) < jiff::SignedDuration::from_millis(500),
            "the held occurrence starts as the run before it ends, not at a later slot: {runs:?}"
        );
    }
}

#[test]
fn missed_runs_of_an_every_job_are_skipped_and_counted_across_a_restart() {
    let mut s = Service::start(&[]);
    let id = s.submit(&["--every", "1s", "--missed", "skip", "--", "true"]);
    s.wait_job(id, 10, "a first run", |j| j["RunCount"].as_u64() >= Some(1));
    s.stop();
    std::thread::sleep(std::time::Duration::from_secs(4));
    s.restart();
    let job = s.job(id);
    assert!(
        job["SkippedRuns"].as_u64() >= Some(3),
        "the runs due while it was down are skipped and counted: {job}"
    );
    let next = timestamp(&job["NextRunTime"]);
    assert!(
        next > jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1),
        "back on its grid: {next}"
    );
    // 0 between runs, 4096 if a run is going: either way the series ends
    assert!(matches!(s.request_state(id, 4), 0 | 4096));
    s.wait_state(id, 8, 20);
}
