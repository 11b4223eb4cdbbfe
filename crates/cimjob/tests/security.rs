//! Who may do what: authentication on every front end, per-client limits on failures, users
//! managed with the CLI, and the owner rule through the JSON API, the CLI and CIM-XML.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{cimjob_user, http_as, until_within, Service, ADMIN_PASSWORD, BIN};
use reqwest::Method;
use serde_json::json;

/// One blocking request: the status, the value of the response header `want`, the body.
fn request(
    method: Method,
    url: &str,
    credentials: Option<(&str, &str)>,
    headers: &[(&str, String)],
    body: Vec<u8>,
    want: &str,
) -> (u16, Option<String>, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut r = reqwest::Client::new().request(method, url).body(body);
        if let Some((user, password)) = credentials {
            r = r.basic_auth(user, Some(password));
        }
        for (name, value) in headers {
            r = r.header(*name, value);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let header = r
            .headers()
            .get(want)
            .map(|v| v.to_str().unwrap().to_string());
        (status, header, r.text().await.unwrap())
    })
}

/// The headers of a CIM-XML intrinsic call of `method` on root/cimv2.
fn cim_headers(method: &str, object: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CIMOperation", "MethodCall".into()),
        ("CIMMethod", method.into()),
        ("CIMObject", object.into()),
        ("Content-Type", "application/xml; charset=\"utf-8\"".into()),
    ]
}

fn add_user_as(s: &Service, name: &str, role: &str, password: &str, os_user: &str) {
    let at = s.users_at();
    let mut args = vec!["add", name, "--role", role, "--os-user", os_user];
    args.extend(at.iter().map(String::as_str));
    cimjob_user(&args, password);
}

fn cli_as(s: &Service, user: &str, password: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("CIMJOB_URL", &s.url)
        .env("CIMJOB_USER", user)
        .env("CIMJOB_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A raw CIM-XML InvokeMethod(RequestStateChange) as `user`; returns (HTTP status, body).
fn cim_suspend(s: &Service, user: &str, password: &str, id: u64) -> (u16, String) {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEREQ><METHODCALL NAME="RequestStateChange"><LOCALINSTANCEPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH><INSTANCENAME CLASSNAME="CIMJOB_ConcreteJob"><KEYBINDING NAME="InstanceID"><KEYVALUE VALUETYPE="string">CIMJOB:{id}</KEYVALUE></KEYBINDING></INSTANCENAME></LOCALINSTANCEPATH><PARAMVALUE NAME="RequestedState" PARAMTYPE="uint16"><VALUE>3</VALUE></PARAMVALUE></METHODCALL></SIMPLEREQ></MESSAGE></CIM>"#
    );
    let object = format!("root%2Fcimv2%3ACIMJOB_ConcreteJob.InstanceID%3D%22CIMJOB%3A{id}%22");
    let (status, _, text) = request(
        Method::POST,
        &format!("{}/cimom", s.url),
        Some((user, password)),
        &cim_headers("RequestStateChange", &object),
        body.into_bytes(),
        "CIMError",
    );
    (status, text)
}

#[test]
fn every_front_end_requires_credentials_and_says_so() {
    let s = Service::start(&[]);
    for path in ["/api/v1/jobs", "/cimom"] {
        let method = if path == "/cimom" {
            Method::POST
        } else {
            Method::GET
        };
        let (status, challenge, _) = request(
            method,
            &format!("{}{path}", s.url),
            None,
            &[],
            Vec::new(),
            "WWW-Authenticate",
        );
        assert_eq!(status, 401, "{path}");
        assert_eq!(
            challenge.as_deref(),
            Some("Basic realm=\"cimjob\""),
            "{path}"
        );
    }
    let (status, _) = http_as(
        Some(("admin", "wrong password")),
        Method::GET,
        &format!("{}/api/v1/jobs", s.url),
        None,
    );
    assert_eq!(status, 401);
    let (status, _) = http_as(None, Method::GET, &format!("{}/", s.url), None);
    assert_eq!(status, 200, "the banner stays open");
    let out = cli_as(&s, "admin", "wrong password", &["list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs credentials"));
}

#[test]
fn repeated_failures_block_the_client_for_a_while() {
    let s = Service::start(&[]);
    let url = format!("{}/api/v1/jobs", s.url);
    for guess in 0..5 {
        let guess = format!("guess {guess}");
        assert_eq!(
            http_as(Some(("admin", &guess)), Method::GET, &url, None).0,
            401
        );
    }
    let (status, retry, _) = request(
        Method::GET,
        &url,
        Some(("admin", ADMIN_PASSWORD)),
        &[],
        Vec::new(),
        "Retry-After",
    );
    assert_eq!(
        (status, retry.is_some()),
        (429, true),
        "blocked even with the right password"
    );
    assert!(
        s.log().contains("authentication failed"),
        "failures are logged"
    );
}

#[test]
fn a_user_guessing_wrong_is_blocked_alone_and_told_so_plainly() {
    let s = Service::start(&[]);
    add_user_as(&s, "alice", "user", "alice-password", "nobody");
    let url = format!("{}/api/v1/jobs", s.url);
    for guess in 0..5 {
        let guess = format!("guess {guess}");
        assert_eq!(
            http_as(Some(("alice", &guess)), Method::GET, &url, None).0,
            401
        );
    }
    assert_eq!(
        http_as(Some(("alice", "alice-password")), Method::GET, &url, None).0,
        429,
        "alice is blocked from this address"
    );
    assert_eq!(
        http_as(Some(("admin", ADMIN_PASSWORD)), Method::GET, &url, None).0,
        200,
        "the admin, on the same address, is not locked out"
    );
    let out = cli_as(&s, "alice", "alice-password", &["list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("too many failed logins for this user name from this address")
            && !stderr.contains('"'),
        "a clear message, not a quoted string: {stderr}"
    );
}

#[test]
fn users_control_their_own_jobs_and_admins_all() {
    let s = Service::start(&[]);
    // both run their jobs as an account every Debian system has (the service may be root)
    add_user_as(&s, "alice", "user", "alice-password", "nobody");
    add_user_as(&s, "bob", "user", "bob-password", "nobody");
    let at = s.users_at();
    let at: Vec<&str> = at.iter().map(String::as_str).collect();
    let listed = s.ok(&[&["user", "list"], &at[..]].concat());
    assert!(
        listed.contains("alice") && listed.contains("bob") && listed.contains("admin"),
        "{listed}"
    );

    let out = cli_as(
        &s,
        "alice",
        "alice-password",
        &["submit", "--", "sleep", "30"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = common::submitted_id(&String::from_utf8_lossy(&out.stdout));
    let job = s.wait_state(id, 4, 10);
    assert_eq!(
        job["Owner"],
        json!("alice"),
        "Owner is the authenticated user"
    );

    // bob neither sees it nor changes it: JSON API, CLI and CIM-XML all answer "no such job"
    let (status, _) = http_as(
        Some(("bob", "bob-password")),
        Method::GET,
        &format!("{}/api/v1/jobs/{id}", s.url),
        None,
    );
    assert_eq!(status, 404);
    let (_, list) = http_as(
        Some(("bob", "bob-password")),
        Method::GET,
        &format!("{}/api/v1/jobs", s.url),
        None,
    );
    assert_eq!(
        list["jobs"],
        json!([]),
        "bob's list holds only his own jobs"
    );
    let (status, body) = http_as(
        Some(("bob", "bob-password")),
        Method::POST,
        &format!("{}/api/v1/jobs/{id}/requeststatechange", s.url),
        Some(json!({"RequestedState": 3})),
    );
    assert_eq!(status, 404, "{body}");
    let out = cli_as(&s, "bob", "bob-password", &["kill", &id.to_string()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("no job CIMJOB:{id}")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, body) = cim_suspend(&s, "bob", "bob-password", id);
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"<ERROR CODE="6""#),
        "CIM_ERR_NOT_FOUND: {body}"
    );
    assert_eq!(s.state(id), 4, "nothing changed");

    // alice may, and so may an admin
    let (_, body) = cim_suspend(&s, "alice", "alice-password", id);
    assert!(body.contains("<VALUE>0</VALUE>"), "{body}");
    assert_eq!(s.state(id), 5);
    s.ok(&["kill", &id.to_string()]);
    s.wait_state(id, 9, 10);

    // a changed password takes effect at once, a removed user is refused
    let mut child = Command::new(BIN)
        .args(["user", "passwd", "alice"])
        .args(&at)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "alice-new-password").unwrap();
    assert!(child.wait().unwrap().success());
    let url = format!("{}/api/v1/jobs", s.url);
    let as_user =
        |user: &str, password: &str| http_as(Some((user, password)), Method::GET, &url, None).0;
    assert_eq!(as_user("alice", "alice-new-password"), 200);
    assert_eq!(as_user("alice", "alice-password"), 401);
    s.ok(&[&["user", "del", "bob"], &at[..]].concat());
    // a request with the removed user's credentials, cached from before, is refused once the
    // service has read the users again: at once from the file, within a second from the
    // database
    until_within(5, "bob is refused", || {
        as_user("bob", "bob-password") == 401
    });
}

#[test]
fn the_first_admin_password_is_generated_private_and_found_by_the_local_cli() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("CIMJOB_ADMIN_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr_file = dir.path().join("cimjob.addr");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(&addr_file).map_or(true, |a| a.trim().is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "service did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let password_file = dir.path().join("admin-password");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&password_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let out = Command::new(BIN)
        .args(["list"])
        .env("CIMJOB_DATA_DIR", dir.path())
        .env_remove("CIMJOB_URL")
        .env_remove("CIMJOB_USER")
        .env_remove("CIMJOB_PASSWORD")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the local CLI finds the admin password: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&out.stderr);
    let password = std::fs::read_to_string(&password_file).unwrap();
    assert!(
        printed.contains(password.trim()),
        "the generated password is printed once"
    );
}

#[test]
fn oversized_bodies_get_413_and_stalled_clients_408() {
    use std::io::Read;
    let s = Service::start(&["--max-body-bytes", "4096", "--request-timeout", "1s"]);
    let big = "x".repeat(10_000);
    let (status, _) = http_as(
        Some(("admin", ADMIN_PASSWORD)),
        Method::POST,
        &format!("{}/api/v1/jobs", s.url),
        Some(json!({"properties": {"Name": big, "CommandLine": ["true"]}})),
    );
    assert_eq!(status, 413);
    let (status, _, _) = request(
        Method::POST,
        &format!("{}/cimom", s.url),
        Some(("admin", ADMIN_PASSWORD)),
        &cim_headers("EnumerateClassNames", "root%2Fcimv2"),
        format!("<?xml version=\"1.0\"?><!-- {big} -->").into_bytes(),
        "CIMError",
    );
    assert_eq!(status, 413, "CIM-XML bodies too");

    // a client that sends its headers and then stalls in the body is cut off
    let addr = s.url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    write!(
        stream,
        "POST /api/v1/jobs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"prop"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // one that never finishes its headers is disconnected too
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET /api/v1/jobs HTTP/1.1\r\nHost: {addr}\r\n").unwrap();
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    assert!(
        read.is_ok(),
        "the server closed the connection instead of waiting: {read:?}"
    );
}

/// A real OS account for the test, removed again when dropped.
struct Account(String);

impl Account {
    fn create() -> Account {
        let name = format!("cjt{}", std::process::id() % 100_000);
        let status = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/usr/sbin/nologin", &name])
            .status()
            .unwrap();
        assert!(status.success(), "useradd {name}");
        Account(name)
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.0).status();
    }
}

#[test]
fn jobs_run_as_their_owners_os_account_and_never_gain_privileges() {
    let s = Service::start(&[]);
    let scratch = s.scratch();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&scratch, std::fs::Permissions::from_mode(0o777)).unwrap();
    let submit = |user: &str, password: &str, properties: serde_json::Value| {
        http_as(
            Some((user, password)),
            Method::POST,
            &format!("{}/api/v1/jobs", s.url),
            Some(json!({ "properties": properties })),
        )
    };
    let script = format!("id -u > {0}/uid; id -un > {0}/name", scratch.display());
    if !nix::unistd::geteuid().is_root() {
        // a service that is not root runs every job as itself, whoever submits it
        add_user_as(&s, "carol", "user", "carol-password", "nobody");
        let (status, job) = submit(
            "carol",
            "carol-password",
            json!({"Name": "who", "CommandLine": ["sh", "-c", script]}),
        );
        assert_eq!(status, 201, "{job}");
        let id = cimjob_rules::model::job::parse_instance_id(job["InstanceID"].as_str().unwrap())
            .unwrap();
        s.wait_state(id, 7, 10);
        assert_eq!(
            std::fs::read_to_string(scratch.join("uid")).unwrap().trim(),
            nix::unistd::geteuid().to_string()
        );
        return;
    }
    let account = Account::create();
    let uid = nix::unistd::User::from_name(&account.0)
        .unwrap()
        .unwrap()
        .uid;
    add_user_as(&s, "carol", "user", "carol-password", &account.0);
    let (status, job) = submit(
        "carol",
        "carol-password",
        json!({"Name": "who", "CommandLine": ["sh", "-c", script]}),
    );
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["RunAsUser"], json!(account.0));
    let id =
        cimjob_rules::model::job::parse_instance_id(job["InstanceID"].as_str().unwrap()).unwrap();
    let done = s.wait_state(id, 7, 15);
    assert_eq!(
        std::fs::read_to_string(scratch.join("uid")).unwrap().trim(),
        uid.to_string(),
        "{done}"
    );
    assert_ne!(uid.as_raw(), 0);
    assert_eq!(
        std::fs::read_to_string(scratch.join("name"))
            .unwrap()
            .trim(),
        account.0
    );

    // asking to run as another account is refused, naming the property
    let (status, body) = submit(
        "carol",
        "carol-password",
        json!({"Name": "x", "CommandLine": ["true"], "RunAsUser": "root"}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["property"], json!("RunAsUser"));

    // a user whose account does not exist cannot run jobs at all
    add_user_as(
        &s,
        "ghost",
        "user",
        "ghost-password",
        "cimjob-no-such-account",
    );
    let (status, body) = submit(
        "ghost",
        "ghost-password",
        json!({"Name": "x", "CommandLine": ["true"]}),
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{body}"
    );
}

#[test]
fn hostile_cim_xml_is_refused_and_memory_stays_bounded() {
    let s = Service::start(&[]);
    let laughs = {
        let mut dtd = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            dtd.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&{prev};").repeat(10)
            ));
        }
        dtd.push(']');
        dtd.push('>');
        format!(
            "<?xml version=\"1.0\"?>{dtd}<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">&lol9;</CIM>"
        )
        .into_bytes()
    };
    let deep = format!(
        "<?xml version=\"1.0\"?>{}{}",
        "<CIM>".repeat(5000),
        "</CIM>".repeat(5000)
    )
    .into_bytes();
    let mut not_utf8 = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE ID=\"".to_vec();
    not_utf8.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    not_utf8.extend_from_slice(b"\" PROTOCOLVERSION=\"1.0\"/></CIM>");
    let wide = format!(
        "<?xml version=\"1.0\"?><CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">{}</CIM>",
        "<X/>".repeat(1_500_000)
    )
    .into_bytes();
    let pid = s.pid();
    for (what, body) in [
        ("billion laughs", laughs),
        ("5000 levels deep", deep),
        ("invalid UTF-8", not_utf8),
        ("1.5 million elements", wide),
    ] {
        for _ in 0..3 {
            let (status, cim_error, _) = request(
                Method::POST,
                &format!("{}/cimom", s.url),
                Some(("admin", ADMIN_PASSWORD)),
                &cim_headers("EnumerateClassNames", "root%2Fcimv2"),
                body.clone(),
                "CIMError",
            );
            assert_eq!(status, 400, "{what}");
            assert!(
                cim_error.is_some_and(|e| e.starts_with("request-not-")),
                "{what}"
            );
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        peak_kib < 512 * 1024,
        "peak RSS {peak_kib} KiB: hostile bodies must not blow memory up"
    );
    assert_eq!(s.get("/api/v1/jobs").0, 200, "the service still answers");
}

#[test]
fn a_jobs_logs_are_its_owners_to_read_and_follow() {
    let s = Service::start(&[]);
    add_user_as(&s, "alice", "user", "alice-password", "nobody");
    add_user_as(&s, "bob", "user", "bob-password", "nobody");
    let dir = s.scratch();
    let go = dir.join("go");
    let script = format!(
        "echo first; while [ ! -f {} ]; do sleep 0.02; done; echo second; exit 4",
        go.display()
    );
    let out = cli_as(
        &s,
        "alice",
        "alice-password",
        &["submit", "--", "sh", "-c", &script],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = common::submitted_id(&String::from_utf8_lossy(&out.stdout));
    s.wait_state(id, 4, 10);

    // -f follows the output until the run ends
    let follower = Command::new(BIN)
        .args(["logs", &id.to_string(), "-f"])
        .env("CIMJOB_URL", &s.url)
        .env("CIMJOB_USER", "alice")
        .env("CIMJOB_PASSWORD", "alice-password")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::write(&go, "").unwrap();
    let followed = follower.wait_with_output().unwrap();
    assert!(followed.status.success());
    assert_eq!(String::from_utf8_lossy(&followed.stdout), "first\nsecond\n");

    let out = cli_as(
        &s,
        "alice",
        "alice-password",
        &["logs", &id.to_string(), "--run", "1"],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\nsecond\n");
    let out = cli_as(&s, "bob", "bob-password", &["logs", &id.to_string()]);
    assert!(!out.status.success(), "bob may not read alice's log");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("no job CIMJOB:{id}")));
    let out = s.cli(&["logs", &id.to_string()]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "first\nsecond\n",
        "an admin may"
    );
    let (status, _) = http_as(
        Some(("alice", "alice-password")),
        Method::GET,
        &format!("{}/api/v1/jobs/{id}/runs/2/log", s.url),
        None,
    );
    assert_eq!(status, 404, "a run that never was");

    // a failed watch shows the end of the output
    let out = cli_as(&s, "alice", "alice-password", &["watch", &id.to_string()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("last lines of its output:\nfirst\nsecond"),
        "{stderr}"
    );
}
