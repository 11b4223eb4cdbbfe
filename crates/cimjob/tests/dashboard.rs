//! The dashboard's rules over real HTTP, through the real binary (its pages in a browser are
//! interop/test_dashboard.py's): a user sees and acts on only their own jobs, actions are the
//! engine's own requests with the requester's rights, only the pages' own requests may act,
//! and the pages' assets come from the binary.

mod common;

use common::{cimjob_user, http_as, Service, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

/// A POST as `user` of `body` (of this Content-Type) with these extra headers: the status
/// and the answer's text.
fn post_as(
    user: (&str, &str),
    url: &str,
    (content_type, body): (&str, &str),
    headers: &[(&str, &str)],
) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut request = reqwest::Client::new()
            .post(url)
            .basic_auth(user.0, Some(user.1))
            .header("Content-Type", content_type)
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

/// A form POST as `user`, made as htmx makes it (`htmx`) or not.
fn form_as(user: (&str, &str), url: &str, form: &str, htmx: bool) -> (u16, String) {
    let headers: &[(&str, &str)] = if htmx { &[("HX-Request", "true")] } else { &[] };
    post_as(
        user,
        url,
        ("application/x-www-form-urlencoded", form),
        headers,
    )
}

fn page_as(user: (&str, &str), url: &str) -> (u16, String) {
    match http_as(Some(user), Method::GET, url, None) {
        (status, Value::String(text)) => (status, text),
        (status, other) => (status, other.to_string()),
    }
}

fn submit_as(s: &Service, user: (&str, &str), name: &str) -> u64 {
    let body = json!({"properties": {"Name": name, "CommandLine": ["sleep", "60"]}});
    let (status, job) = http_as(
        Some(user),
        Method::POST,
        &format!("{}/api/v1/jobs", s.url),
        Some(body),
    );
    assert_eq!(status, 201, "{job}");
    job["InstanceID"].as_str().unwrap()["CIMJOB:".len()..]
        .parse()
        .unwrap()
}

#[test]
fn a_user_sees_and_acts_on_only_their_own_jobs_on_the_dashboard() {
    let s = Service::start(&["--max-running", "4"]);
    let at = s.users_at();
    for name in ["alice", "bob"] {
        let mut args = vec!["add", name, "--role", "user", "--os-user", "nobody"];
        args.extend(at.iter().map(String::as_str));
        cimjob_user(&args, &format!("{name}-password"));
    }
    let (alice, bob) = (("alice", "alice-password"), ("bob", "bob-password"));
    let hers = submit_as(&s, alice, "alice-work");
    let his = submit_as(&s, bob, "bob-work");
    s.wait_state(hers, 4, 20);
    s.wait_state(his, 4, 20);

    let (status, jobs) = page_as(alice, &format!("{}/ui/jobs", s.url));
    assert_eq!(status, 200, "{jobs}");
    assert!(jobs.contains(&format!("id=\"job-{hers}\"")), "{jobs}");
    assert!(!jobs.contains(&format!("id=\"job-{his}\"")), "{jobs}");
    assert!(!jobs.contains("bob-work"), "nothing of bob's shows");
    let (status, _) = page_as(alice, &format!("{}/ui/jobs/{his}", s.url));
    assert_eq!(status, 404, "another's job is not found, as in the API");
    let (status, overview) = page_as(alice, &format!("{}/ui", s.url));
    assert_eq!(status, 200);
    assert!(
        overview.contains(r#"<b data-state="Running">1</b>"#),
        "{overview}"
    );

    for page in [
        format!("/ui/jobs/{his}/live"),
        "/ui/schedules".into(),
        "/ui/actions".into(),
    ] {
        let (_, shown) = page_as(alice, &format!("{}{page}", s.url));
        assert!(!shown.contains("bob-work"), "{page}: {shown}");
    }
    let (status, _) = page_as(alice, &format!("{}/ui/jobs/{his}/live", s.url));
    assert_eq!(status, 404);
    // bob's job ticked by alice (a forged form) is refused with the rest done
    let bulk_ids = format!("{}/ui/jobs/bulk", s.url);
    let (_, answer) = form_as(alice, &bulk_ids, &format!("action=suspend&ids={his}"), true);
    assert!(answer.contains("refused"), "{answer}");
    assert_eq!(s.state(his), 4);
    // an action on bob's job is refused and changes nothing
    let act = format!("{}/ui/jobs/{his}/act", s.url);
    let (status, answer) = form_as(alice, &act, "action=kill", true);
    assert_eq!(status, 200);
    assert!(answer.contains("refused"), "{answer}");
    // every job matching the filter, as alice: hers only
    let bulk = format!("{}/ui/jobs/bulk?q=work", s.url);
    let (status, answer) = form_as(alice, &bulk, "action=terminate&all=1", true);
    assert_eq!(status, 200);
    assert!(answer.contains("Terminate of 1 job(s)"), "{answer}");
    s.wait_state(hers, 8, 20);
    assert_eq!(s.state(his), 4, "bob's job runs on");

    // a POST that the pages did not make (no HX-Request: a form on another site) is refused
    let (status, _) = form_as(bob, &act, "action=kill", false);
    assert_eq!(status, 403);
    assert_eq!(s.state(his), 4);
    let (status, answer) = form_as(bob, &act, "action=kill", true);
    assert_eq!((status, answer.contains("Kill")), (200, true), "{answer}");
    s.wait_state(his, 9, 20);
}

#[test]
fn the_pages_assets_come_from_the_binary_and_are_revalidated_by_their_contents() {
    let s = Service::start(&[]);
    let admin = ("admin", ADMIN_PASSWORD);
    let (status, htmx) = page_as(admin, &format!("{}/ui/assets/htmx.min.js", s.url));
    assert_eq!(status, 200);
    assert!(htmx.starts_with("var htmx="), "the vendored htmx");
    let (status, _) = page_as(admin, &format!("{}/ui/assets/nope.js", s.url));
    assert_eq!(status, 404);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tag, revalidated) = rt.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{}/ui/assets/ui.css", s.url);
        let first = client
            .get(&url)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        let tag = first.headers()["etag"].to_str().unwrap().to_owned();
        let again = client
            .get(&url)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("If-None-Match", &tag)
            .send()
            .await
            .unwrap();
        (tag, again.status().as_u16())
    });
    assert_eq!(revalidated, 304, "the same contents under tag {tag}");
    // and every page links only to what the service serves
    let (status, page) = page_as(admin, &format!("{}/ui/jobs", s.url));
    assert_eq!(status, 200, "{page}");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
}

/// An empty JSON POST as `user` with these extra headers: the status.
fn post_with(user: (&str, &str), url: &str, headers: &[(&str, &str)]) -> u16 {
    post_as(user, url, ("application/json", "{}"), headers).0
}

#[test]
fn a_browsers_request_for_another_sites_page_changes_nothing() {
    let s = Service::start(&[]);
    let admin = ("admin", ADMIN_PASSWORD);
    let waiting = s.submit(&["--at", "2099-01-01 00:00", "--", "true"]);
    let run_now = format!("{}/api/v1/jobs/{waiting}/runnow", s.url);
    // what a form on another site would make a signed-in browser send
    assert_eq!(
        post_with(admin, &run_now, &[("Sec-Fetch-Site", "cross-site")]),
        403
    );
    let host = s.url.trim_start_matches("http://").to_owned();
    assert_eq!(
        post_with(
            admin,
            &run_now,
            &[("Origin", "http://evil.example"), ("Host", &host)]
        ),
        403
    );
    let cimom = format!("{}/cimom", s.url);
    assert_eq!(
        post_with(admin, &cimom, &[("Sec-Fetch-Site", "cross-site")]),
        403
    );
    assert_eq!(s.state(waiting), 2, "it still waits for its time");
    // the service's own pages, and clients that are not browsers, are heard
    let own_origin = format!("http://{host}");
    assert_eq!(
        post_with(
            admin,
            &run_now,
            &[("Sec-Fetch-Site", "same-origin"), ("Origin", &own_origin)]
        ),
        204
    );
    s.wait_state(waiting, 7, 20);
}
