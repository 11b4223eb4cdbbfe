//! The JSON API as a client of many jobs uses it, through the real binary: every refusal is
//! JSON (axum's and tower's too), the list filters by state, owner and words and pages
//! through what matches, and one bulk request acts on many jobs, each with the requester's
//! rights.

mod common;

use common::{cimjob_user, http, http_as, submit_sh, Service, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

/// One request, raw: its status, headers and JSON body.
fn raw(
    method: Method,
    url: &str,
    credentials: Option<(&str, &str)>,
    body: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new().request(method, url);
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {status} {text:?}"));
        (status, headers, value)
    })
}

#[test]
fn every_refusal_under_the_api_is_json() {
    let s = Service::start(&[]);
    let admin = Some(("admin", ADMIN_PASSWORD));
    let jobs = format!("{}/api/v1/jobs", s.url);
    // a body without `properties`, a body that is not JSON
    let (status, _, body) = raw(Method::POST, &jobs, admin, Some("{}"));
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("properties"),
        "{body}"
    );
    let (status, _, body) = raw(Method::POST, &jobs, admin, Some("{not json"));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["cim_status"], 4, "{body}");
    // a path no route has; a method the route does not take (Allow kept)
    let (status, _, body) = raw(Method::GET, &format!("{}/api/v1/nope", s.url), admin, None);
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["message"], "no API route /api/v1/nope");
    let (status, headers, body) = raw(Method::PUT, &jobs, admin, Some("{}"));
    assert_eq!(status, 405, "{body}");
    assert!(headers.contains_key("allow"), "{headers:?}");
    // no credentials: 401, and the challenge is kept
    let (status, headers, body) = raw(Method::GET, &jobs, None, None);
    assert_eq!(status, 401, "{body}");
    assert!(headers.contains_key("www-authenticate"), "{headers:?}");
    assert_eq!(body["error"]["cim_status"], 2, "{body}");
    // a bad job id in a path
    let (status, _, body) = raw(Method::GET, &format!("{jobs}/CIMJOB:x"), admin, None);
    assert_eq!(status, 400, "{body}");
}

fn ids_of(listed: &Value) -> Vec<u64> {
    listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            j["InstanceID"].as_str().unwrap()["CIMJOB:".len()..]
                .parse()
                .unwrap()
        })
        .collect()
}

#[test]
fn the_list_filters_by_state_owner_and_words_and_pages_through_the_matches() {
    let s = Service::start(&[]);
    let backup = s.submit(&["--name", "nightly backup", "--", "true"]);
    let report = s.submit(&["--name", "report", "--", "true"]);
    let failing = submit_sh(&s, &["--name", "backup check"], "exit 2");
    let held = s.submit(&["--hold", "--name", "held backup", "--", "true"]);
    s.wait_state(backup, 7, 20);
    s.wait_state(report, 7, 20);
    s.wait_state(failing, 10, 20);
    let list = |query: &str| {
        let (status, body) = s.get(&format!("/api/v1/jobs?{query}"));
        assert_eq!(status, 200, "{query}: {body}");
        ids_of(&body)
    };
    assert_eq!(list("state=completed"), vec![backup, report]);
    assert_eq!(list("state=7,exception"), vec![backup, report, failing]);
    assert_eq!(list("state=suspended"), vec![held]);
    assert_eq!(list("q=backup"), vec![backup, failing, held]);
    assert_eq!(list("q=BACKUP+nightly"), vec![backup]);
    // `name` looks in the Name only: "true" is every command here, no Name
    assert_eq!(list("name=Backup"), vec![backup, failing, held]);
    assert_eq!(list("name=true"), Vec::<u64>::new());
    // the words are looked for in the command too
    assert_eq!(list("q=exit+2"), vec![failing]);
    assert_eq!(list("owner=admin&state=completed"), vec![backup, report]);
    assert_eq!(list("owner=nobody"), Vec::<u64>::new());
    // a page of the matches, then the next from where it stopped
    let (_, first) = s.get("/api/v1/jobs?q=backup&limit=2");
    assert_eq!(ids_of(&first), vec![backup, failing]);
    let next = first["next"].as_u64().unwrap();
    assert_eq!(list(&format!("q=backup&limit=2&after={next}")), vec![held]);
    // by Priority (the default is the lowest, 65535)
    let urgent = s.submit(&[
        "--hold",
        "--priority",
        "1",
        "--name",
        "urgent",
        "--",
        "true",
    ]);
    assert_eq!(list("priority=1"), vec![urgent]);
    assert_eq!(list("priority=65535&q=backup"), vec![backup, failing, held]);
    let (status, body) = s.get("/api/v1/jobs?priority=high");
    assert_eq!(status, 400, "{body}");
    // nothing comes after the last LocalID a store can hold; past it is no LocalID at all
    assert_eq!(list("after=9223372036854775807&limit=5"), Vec::<u64>::new());
    let (status, body) = s.get("/api/v1/jobs?after=9223372036854775808");
    assert_eq!(status, 400, "{body}");
    let (status, body) = s.get("/api/v1/jobs?state=sleeping");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"sleeping\""),
        "{body}"
    );
}

#[test]
fn one_bulk_request_acts_on_many_jobs_each_with_the_requesters_rights() {
    let s = Service::start(&["--max-running", "8"]);
    let sleepers: Vec<u64> = (0..5)
        .map(|i| s.submit(&["--name", &format!("sleeper {i}"), "--", "sleep", "600"]))
        .collect();
    for &id in &sleepers {
        s.wait_state(id, 4, 20);
    }
    // Terminate three of the five by id
    let bulk = |body: Value| s.post("/api/v1/jobs/bulk", body);
    let (status, answer) = bulk(
        json!({"action": "terminate", "ids": [sleepers[0], format!("CIMJOB:{}", sleepers[2]), sleepers[4]]}),
    );
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{answer}");
    for result in results {
        assert!(
            result["ReturnValue"] == 0 || result["ReturnValue"] == 4096,
            "{answer}"
        );
    }
    for (i, &id) in sleepers.iter().enumerate() {
        if i % 2 == 0 {
            s.wait_state(id, 8, 20);
        } else {
            assert_eq!(s.state(id), 4, "job {id} still runs");
        }
    }
    // Suspend what a filter selects: the running ones
    let (_, answer) =
        bulk(json!({"action": "suspend", "filter": {"state": "running", "q": "sleeper"}}));
    assert_eq!(answer["results"].as_array().unwrap().len(), 2, "{answer}");
    s.wait_state(sleepers[1], 5, 20);
    s.wait_state(sleepers[3], 5, 20);
    // Kill them; delete every finished one
    let (_, answer) = bulk(json!({"action": "kill", "ids": [sleepers[1], sleepers[3]]}));
    assert_eq!(answer["results"].as_array().unwrap().len(), 2, "{answer}");
    s.wait_state(sleepers[1], 9, 20);
    s.wait_state(sleepers[3], 9, 20);
    let (_, answer) = bulk(json!({"action": "delete", "filter": {"state": "terminated,killed"}}));
    assert_eq!(answer["results"].as_array().unwrap().len(), 5, "{answer}");
    assert!(answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["deleted"] == true));
    let (_, left) = s.get("/api/v1/jobs");
    assert!(ids_of(&left).is_empty(), "{left}");

    // a user acts on their own jobs only: the admin's is as if it did not exist
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    let mut args = vec!["add", "bob", "--role", "user", "--os-user", &me];
    let at = s.users_at();
    args.extend(at.iter().map(String::as_str));
    cimjob_user(&args, "bobs-password");
    let admins = s.submit(&["--", "sleep", "600"]);
    s.wait_state(admins, 4, 20);
    let (status, created) = http_as(
        Some(("bob", "bobs-password")),
        Method::POST,
        &format!("{}/api/v1/jobs", s.url),
        Some(json!({"properties": {"Name": "bobs", "CommandLine": ["sleep", "600"]}})),
    );
    assert_eq!(status, 201, "{created}");
    let bobs: u64 = created["InstanceID"].as_str().unwrap()["CIMJOB:".len()..]
        .parse()
        .unwrap();
    let (status, answer) = http_as(
        Some(("bob", "bobs-password")),
        Method::POST,
        &format!("{}/api/v1/jobs/bulk", s.url),
        Some(json!({"action": "kill", "ids": [admins, bobs]})),
    );
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["error"]["cim_status"], 6, "{answer}");
    assert_eq!(results[1]["ReturnValue"], 0, "{answer}");
    s.wait_state(bobs, 9, 20);
    assert_eq!(s.state(admins), 4, "the admin's job runs on");
    // neither ids nor a filter, or both: refused
    let (status, body) = http(
        Method::POST,
        &format!("{}/api/v1/jobs/bulk", s.url),
        Some(json!({"action": "kill"})),
    );
    assert_eq!(status, 400, "{body}");
}

#[test]
fn the_cli_lists_by_filter_and_acts_on_several_jobs_at_once() {
    let s = Service::start(&["--max-running", "8"]);
    let done = s.submit(&["--name", "nightly backup", "--", "true"]);
    s.wait_state(done, 7, 20);
    let sleepers: Vec<String> = (0..3)
        .map(|i| {
            s.submit(&["--name", &format!("sleeper {i}"), "--", "sleep", "600"])
                .to_string()
        })
        .collect();
    for id in &sleepers {
        s.wait_state(id.parse().unwrap(), 4, 20);
    }
    let listed = |args: &[&str]| -> Vec<u64> {
        let mut all = vec!["list", "--json"];
        all.extend_from_slice(args);
        let jobs: Value = serde_json::from_str(&s.ok(&all)).unwrap();
        ids_of(&json!({ "jobs": jobs }))
    };
    let ids: Vec<u64> = sleepers.iter().map(|i| i.parse().unwrap()).collect();
    assert_eq!(listed(&["--state", "running"]), ids);
    assert_eq!(listed(&["-q", "nightly backup"]), vec![done]);
    assert_eq!(listed(&["--state", "running", "--limit", "2"]), ids[..2]);
    assert_eq!(
        listed(&["--owner", "admin", "--state", "completed"]),
        vec![done]
    );
    // chosen columns, sorted
    let table = s.ok(&[
        "list",
        "--format",
        "id,name,priority",
        "--sort",
        "name",
        "--reverse",
    ]);
    let rows: Vec<&str> = table.lines().collect();
    assert!(
        rows[0].contains("InstanceID") && rows[0].contains("Priority"),
        "{table}"
    );
    assert!(!rows[0].contains("Owner"), "{table}");
    let names: Vec<&str> = rows[1..]
        .iter()
        .filter_map(|row| row.split_whitespace().nth(1))
        .collect();
    assert_eq!(names.first(), Some(&"sleeper"), "{table}");
    assert_eq!(names.last(), Some(&"nightly"), "{table}");
    let out = s.cli(&["list", "--format", "id,colour"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
    let out = s.cli(&["list", "--state", "sleeping"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"sleeping\""));

    // a job by its Name, when no other job has it
    let shown = s.ok(&["show", "nightly backup"]);
    assert!(shown.contains(&format!("CIMJOB:{done}")), "{shown}");
    s.submit(&["--name", "twin", "--", "true"]);
    s.submit(&["--name", "twin", "--", "true"]);
    let out = s.cli(&["show", "twin"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("2 jobs are named \"twin\""), "{said}");
    let out = s.cli(&["suspend", "nobody's job"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no job is named"));
    s.ok(&["suspend", "sleeper 0"]);
    s.wait_state(ids[0], 5, 20);
    s.ok(&["resume", "sleeper 0"]);
    s.wait_state(ids[0], 4, 20);

    // several jobs at once; one that cannot be done fails alone, and says so
    let mut args = vec!["suspend"];
    args.extend(sleepers.iter().map(String::as_str));
    s.ok(&args);
    for &id in &ids {
        s.wait_state(id, 5, 20);
    }
    // every job a filter selects
    assert_eq!(listed(&["--name", "SLEEPER"]), ids);
    s.ok(&[
        "terminate",
        "--timeout",
        "2s",
        "--state",
        "suspended",
        "--name",
        "sleeper",
    ]);
    let out = s.cli(&["kill", "--name", "no such name anywhere"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no job matches"));
    let out = s.cli(&["kill"]);
    assert!(!out.status.success(), "neither jobs nor a filter");
    for &id in &ids {
        s.wait_state(id, 8, 20);
    }
    let mut args = vec!["rm", "999"];
    args.extend(sleepers.iter().map(String::as_str));
    let out = s.cli(&args);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("1 of 4 jobs failed"), "{said}");
    let left = listed(&[]);
    assert!(
        left.contains(&done) && ids.iter().all(|id| !left.contains(id)),
        "the three were deleted: {left:?}"
    );

    // a daily job: its next runs a day apart, and the table says it is scheduled
    let daily = s.submit(&["--utc", "--time", "03:30", "--times", "0", "--", "true"]);
    let next = s.ok(&["next", &daily.to_string(), "-n", "7"]);
    let days: Vec<jiff::Timestamp> = next
        .lines()
        .map(|line| {
            jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S %:z", line)
                .and_then(|t| t.to_timestamp())
                .unwrap_or_else(|e| panic!("{e}: {line:?}"))
        })
        .collect();
    assert_eq!(days.len(), 7, "{next}");
    for pair in days.windows(2) {
        assert_eq!(pair[1].duration_since(pair[0]).as_hours(), 24, "{next}");
    }
    let table = s.ok(&["list", "-q", "true", "--state", "new"]);
    assert!(table.contains("New (scheduled)"), "{table}");
    // `set` takes submit's forms: a time of day, days
    let daily_id = daily.to_string();
    s.ok(&[
        "set",
        &daily_id,
        "RunStartInterval=04:15",
        "TimeBeforeRemoval=7d",
    ]);
    let job = s.job(daily);
    assert_eq!(
        job["RunStartInterval"], "00000000041500.000000:000",
        "{job}"
    );
    assert_eq!(
        job["TimeBeforeRemoval"], "00000007000000.000000:000",
        "{job}"
    );
    let out = s.cli(&["set", &daily_id, "RunStartInterval=4pm"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"4pm\""));
}

#[test]
fn run_now_runs_a_waiting_job_at_once_and_its_schedule_goes_on() {
    let s = Service::start(&[]);
    // daily at a time hours away: it waits
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(6);
    let clock = at
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%H:%M")
        .to_string();
    let daily = s.submit(&["--utc", "--time", &clock, "--times", "3", "--", "true"]);
    let before = s.job(daily);
    assert_eq!(before["RunCount"], 0, "{before}");
    s.ok(&["run-now", &daily.to_string()]);
    // it ran once, and waits again for its next time, which has not moved
    let job = s.wait_job(daily, 20, "one run, waiting again", |j| {
        j["RunCount"] == 1 && j["OperationalStatus"] == json!([15])
    });
    assert_eq!(job["JobState"], 4, "a recurring job between runs: {job}");
    let (_, runs) = s.get(&format!("/api/v1/jobs/{daily}/runs?upcoming=2"));
    let next = cim::CimDateTime::parse(runs["upcoming"][0].as_str().unwrap())
        .unwrap()
        .to_timestamp()
        .unwrap();
    // the planned time, to the minute: still hours away
    assert!(
        next.duration_since(at).abs() < jiff::SignedDuration::from_secs(60),
        "{runs}"
    );
    // a job that does not wait for its time is refused, saying why
    let done = s.submit(&["--", "true"]);
    s.wait_state(done, 7, 20);
    let (status, body) = s.post(&format!("/api/v1/jobs/{done}/runnow"), json!({}));
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not wait for its time"),
        "{body}"
    );
    let out = s.cli(&["run-now", &done.to_string()]);
    assert!(!out.status.success());
}
