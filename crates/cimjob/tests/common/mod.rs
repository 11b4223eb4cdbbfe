//! Starts the real `cimjob` binary on a temporary data dir and a free loopback port, and
//! drives it through its CLI and its HTTP API.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cimjob_harness::process;

pub mod listener;
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_cimjob");

/// The admin password every test service is started with.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// A running service; killed (and reaped) on drop.
pub struct Service {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub url: String,
    extra: Vec<String>,
    /// The binary `serve` runs from (another copy stands for an upgrade).
    bin: PathBuf,
    /// The service's schema in the real PostgreSQL server, when the tests run against it.
    pub schema: Option<cimjob_harness::postgres::TestSchema>,
}

/// Set `CIMJOB_TEST_STORE=postgres` to run the service tests with their jobs in the real
/// PostgreSQL server (a schema each) instead of the data dir's SQLite file.
pub fn on_postgres() -> bool {
    std::env::var("CIMJOB_TEST_STORE").is_ok_and(|store| store == "postgres")
}

impl Service {
    /// Starts a service with extra `serve` arguments.
    pub fn start(extra: &[&str]) -> Service {
        Service::start_within(extra, 20)
    }

    /// Starts a service and waits up to `secs` until it serves.
    pub fn start_within(extra: &[&str], secs: u64) -> Service {
        become_subreaper();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let chosen = extra.iter().any(|arg| arg == "--database-url");
        let schema = (on_postgres() && !chosen).then(|| {
            let schema = cimjob_harness::postgres::TestSchema::new("service");
            extra.extend(["--database-url".to_string(), schema.url()]);
            schema
        });
        let mut s = Service {
            dir,
            child: None,
            url: String::new(),
            extra,
            bin: PathBuf::from(BIN),
            schema,
        };
        s.launch_within(Duration::from_secs(secs));
        s
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The arguments that point `cimjob user` at this service's users: its data dir, and its
    /// database when it has one.
    pub fn users_at(&self) -> Vec<String> {
        let mut at = vec![
            "--data-dir".to_owned(),
            self.dir.path().display().to_string(),
        ];
        if let Some(i) = self.extra.iter().position(|a| a == "--database-url") {
            at.extend(self.extra[i..=i + 1].iter().cloned());
        }
        at
    }

    /// A scratch directory for the test's jobs.
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn launch(&mut self) {
        self.launch_within(Duration::from_secs(20));
    }

    fn launch_within(&mut self, within: Duration) {
        let log = std::fs::File::create(
            self.dir
                .path()
                .join(format!("service-{}.log", std::process::id())),
        )
        .unwrap();
        let mut serve = Command::new(&self.bin);
        serve
            .arg("serve")
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(&self.extra)
            .env("CIMJOB_LOG", "debug,tokio_postgres=info")
            .env("CIMJOB_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        match process::launch(serve, self.dir.path(), within) {
            Ok(launched) => {
                self.url = launched.url;
                self.child = Some(launched.child);
            }
            Err(e) => panic!("{e:#}; log:\n{}", self.log()),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(
            self.dir
                .path()
                .join(format!("service-{}.log", std::process::id())),
        )
        .unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGKILL the service (a crash) and reap it.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM the service and wait for it to stop.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            )
            .unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while c.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "service did not stop on SIGTERM");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts the service again on the same data dir.
    pub fn restart(&mut self) {
        self.crash();
        self.launch();
    }

    /// Starts the service again after it has stopped, from `bin` (the test binary if
    /// `None`), with the same arguments.
    pub fn start_again(&mut self, bin: Option<&Path>) {
        assert!(self.child.is_none(), "the service is still running");
        if let Some(bin) = bin {
            self.bin = bin.to_path_buf();
        }
        self.launch();
    }

    /// Sends `signal` to the service and waits (bounded) for it to exit.
    pub fn signal_and_wait(&mut self, signal: nix::sys::signal::Signal) {
        if let Some(mut c) = self.child.take() {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), signal).unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            while c.try_wait().unwrap().is_none() {
                assert!(
                    Instant::now() < deadline,
                    "service did not stop on {signal}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Waits (at most `secs`) for the service to exit by itself; how it exited.
    pub fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("the service runs");
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!(
                    "the service did not exit within {secs} s; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the service process is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// Runs the CLI against this service.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("CIMJOB_URL", &self.url)
            .env("CIMJOB_USER", "admin")
            .env("CIMJOB_PASSWORD", ADMIN_PASSWORD)
            .stdin(Stdio::null())
            .output()
            .expect("run cimjob CLI")
    }

    /// Runs the CLI and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "cimjob {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Submits through the CLI; returns the LocalID.
    pub fn submit(&self, args: &[&str]) -> u64 {
        self.submit_out(args).0
    }

    /// Submits through the CLI; returns the LocalID and what the CLI printed.
    pub fn submit_out(&self, args: &[&str]) -> (u64, String) {
        let mut all = vec!["submit"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        (submitted_id(&out), out)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        http(reqwest::Method::GET, &format!("{}{}", self.url, path), None)
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        http(
            reqwest::Method::POST,
            &format!("{}{}", self.url, path),
            Some(body),
        )
    }

    pub fn job(&self, id: u64) -> Value {
        let (status, body) = self.get(&format!("/api/v1/jobs/{id}"));
        assert_eq!(status, 200, "GET job {id}: {body}");
        body
    }

    pub fn state(&self, id: u64) -> u64 {
        self.job(id)["JobState"].as_u64().unwrap()
    }

    /// Polls the job until `done` holds (bounded: at most `secs` seconds).
    pub fn wait_job(&self, id: u64, secs: u64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let job = self.job(id);
            if done(&job) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} never became {what}; last: {job:#}\nservice log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn wait_state(&self, id: u64, state: u64, secs: u64) -> Value {
        self.wait_job(id, secs, &format!("JobState {state}"), |j| {
            j["JobState"] == json!(state)
        })
    }

    pub fn request_state(&self, id: u64, requested: u16) -> u64 {
        let (status, body) = self.post(
            &format!("/api/v1/jobs/{id}/requeststatechange"),
            json!({"RequestedState": requested}),
        );
        assert_eq!(status, 200, "{body}");
        body["ReturnValue"].as_u64().unwrap()
    }
}

impl Service {
    /// The pids of the supervisors serving this data dir (from their sockets' names).
    pub fn supervisors(&self) -> Vec<u32> {
        process::supervisors(self.dir.path())
    }

    /// What a machine restart does: the service and every supervisor die at once (SIGKILL),
    /// and their runs lose whoever held them. The supervisors are reaped; their runs' processes
    /// are left (the next service kills them, knowing them by pid and start time).
    pub fn crash_with_supervisors(&mut self) {
        self.crash();
        process::end_supervisors(self.dir.path(), nix::sys::signal::Signal::SIGKILL).unwrap();
    }

    /// Ends every supervisor of this data dir and their runs (SIGTERM), and reaps them: they
    /// are this test's children once their service has gone (see [`become_subreaper`]).
    pub fn end_supervisors(&self) {
        process::end_supervisors(self.dir.path(), nix::sys::signal::Signal::SIGTERM).unwrap();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // what the service said is what a failed test needs most
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(200).collect();
            eprintln!("--- the service's log, last {} lines ---", tail.len());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
        self.stop();
        self.end_supervisors();
        reap_orphans();
    }
}

/// Reaps the processes that ended as this test's children after their parents died (a job
/// whose supervisor was killed, say). Only under nextest, where each test is a process of its
/// own: in a multi-threaded test binary another test's child could be taken from it.
pub fn reap_orphans() {
    if std::env::var_os("NEXTEST").is_some() {
        process::reap_ended_children();
    }
}

pub use process::become_subreaper;

/// Waits (bounded) for a child of this process to exit, and reaps it; a process that is not
/// our child is waited for until it is gone.
pub fn reap(pid: nix::unistd::Pid, secs: u64) {
    process::reap(pid, Duration::from_secs(secs)).unwrap();
}

/// `-- sh -c SCRIPT`, the tail of a `submit` command line.
pub fn sh(script: &str) -> Vec<String> {
    vec!["--".into(), "sh".into(), "-c".into(), script.into()]
}

/// Submits `sh -c SCRIPT` with the `submit` options `opts`; its LocalID.
pub fn submit_sh(s: &Service, opts: &[&str], script: &str) -> u64 {
    let mut args: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    args.extend(sh(script));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    s.submit(&refs)
}

/// The LocalID of the job `cimjob submit` printed (`CIMJOB:7 submitted …`).
pub fn submitted_id(out: &str) -> u64 {
    out.split_whitespace()
        .next()
        .and_then(cimjob_rules::model::job::parse_instance_id)
        .unwrap_or_else(|| panic!("unexpected submit output {out:?}"))
}

/// One blocking HTTP request as the admin.
pub fn http(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    http_as(Some(("admin", ADMIN_PASSWORD)), method, url, body)
}

/// One blocking HTTP request with these credentials, or none (a fresh current-thread
/// runtime keeps tests synchronous).
pub fn http_as(
    credentials: Option<(&str, &str)>,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client.request(method, url);
        if let Some((user, password)) = credentials {
            req = req.basic_auth(user, Some(password));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("HTTP request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    })
}

/// Reads a pid a job wrote to a file (waits until it is there).
pub fn read_pid(path: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The one-letter state of a process ('T' = stopped), None once it is gone (or a zombie).
pub fn proc_state(pid: u32) -> Option<char> {
    process::state(pid).filter(|c| *c != 'Z')
}

/// Polls `done` every 20 ms for up to `secs` seconds; fails naming `what` if it never holds.
pub fn until_within(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "never within {secs} s: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`until_within`] ten seconds, the bound of most waits here.
pub fn until(what: &str, done: impl FnMut() -> bool) {
    until_within(10, what, done)
}

/// Waits (bounded) until a process is gone.
pub fn wait_gone(pid: u32, secs: u64) {
    reap(nix::unistd::Pid::from_raw(pid as i32), secs);
}

/// Runs `cimjob serve ARGS` that is expected to refuse to start; returns its stderr.
pub fn serve_refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("cimjob serve {args:?} did not refuse to start (still running after 20s)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        !status.success(),
        "cimjob serve {args:?} exited 0: {stderr}"
    );
    assert!(
        !dir.path().join("cimjob.addr").exists(),
        "it served anyway: {stderr}"
    );
    stderr
}

/// `cimjob user ARGS` with `password` on its standard input (one line); fails the test
/// unless it succeeds, and returns what it printed.
pub fn cimjob_user(args: &[&str], password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("user")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cimjob user {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
