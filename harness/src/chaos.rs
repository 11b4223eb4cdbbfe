//! The chaos run: a mixed workload from several clients while the service is killed with
//! SIGKILL at random moments, then the verdict on what it left. What must hold, whatever the
//! moment of each kill:
//!
//! - every job whose submission was acknowledged (201) is there, once, with its name; one
//!   whose answer was lost to a kill is there at most once;
//! - no run of any job ran twice (each run writes its number to a file as it starts; nothing
//!   here re-runs a job, so each run number appears once, and as many as RunCount says; a
//!   Terminated job's last run may lack it, as the Terminate can come before the shell writes);
//! - nothing is stuck: once the workload ends, every job reaches a final state;
//! - every job ends as its work says (a run that was going on at a kill is adopted, so the
//!   long jobs running at each kill complete with ErrorCode 0 and 100 %), none with
//!   ErrorCode 4 (process lost: the supervisors are never killed here);
//! - nothing is left behind: no process of the run's jobs is alive once they have all ended,
//!   nor after the service and its supervisors have stopped.
//!
//! [`Config::small`] is the test suite's size, [`Config::full`] the bench's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::Signal;
use serde_json::{json, Value};

use crate::process;

/// How big a run is.
#[derive(Clone, Debug)]
pub struct Config {
    /// The `cimjob` binary.
    pub bin: PathBuf,
    /// Clients submitting and controlling jobs at once.
    pub clients: usize,
    /// How many times the service is killed.
    pub kills: usize,
    /// Each kill comes after a random pause in this range (the service serving meanwhile).
    pub between_kills: (Duration, Duration),
    /// The most operations one client makes (the workload ends with the kills, or here).
    pub max_ops_per_client: usize,
    /// A long job is ten steps of this length, reporting progress after each.
    pub long_step: Duration,
    /// How long, after the last kill, every job has to reach a final state.
    pub settle: Duration,
    /// Seeds the clients' and the killer's choices: a failure is repeated with its seed.
    pub seed: u64,
}

impl Config {
    /// The test suite's size: 8 clients, 4 kills.
    pub fn small(bin: impl Into<PathBuf>) -> Config {
        Config {
            bin: bin.into(),
            clients: 8,
            kills: 4,
            between_kills: (Duration::from_millis(400), Duration::from_millis(1200)),
            max_ops_per_client: 200,
            long_step: Duration::from_millis(200),
            settle: Duration::from_secs(60),
            seed: seed_from_env(),
        }
    }

    /// The bench's size: 8 clients, 20 kills.
    pub fn full(bin: impl Into<PathBuf>) -> Config {
        Config {
            kills: 20,
            max_ops_per_client: 2_000,
            long_step: Duration::from_millis(300),
            settle: Duration::from_secs(180),
            ..Config::small(bin)
        }
    }
}

/// `$CIMJOB_CHAOS_SEED` (to repeat a run), else a fresh one.
fn seed_from_env() -> u64 {
    std::env::var("CIMJOB_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..))
}

/// What a run did and what it found wrong.
#[derive(Debug, Default)]
pub struct Report {
    /// The seed it ran with.
    pub seed: u64,
    /// Times the service was killed.
    pub kills: usize,
    /// Submissions answered 201.
    pub acknowledged: usize,
    /// Submissions whose answer a kill took; and of those, how many were stored anyway.
    pub unacknowledged: usize,
    /// Of the unacknowledged submissions, those the service had made durable.
    pub unacknowledged_stored: usize,
    /// Runs started, over all jobs.
    pub runs: usize,
    /// Distinct long jobs that were running at a kill.
    pub long_jobs_at_kills: usize,
    /// Control requests (suspend, resume, terminate) answered.
    pub controls: usize,
    /// From spawn to serving, on an empty data dir.
    pub fresh_start: Duration,
    /// From spawn to serving, after each kill.
    pub restarts: Vec<Duration>,
    /// Each thing that must hold and did not; empty when all is well.
    pub violations: Vec<String>,
}

/// What a submission was meant to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `true`: Completed, ErrorCode 0.
    Short,
    /// `exit 3`: Exception.
    Failing,
    /// One second of sleep: Completed, unless a client terminated it; suspended and resumed.
    Medium,
    /// Ten steps with progress: Completed, ErrorCode 0, PercentComplete 100.
    Long,
    /// Three back-to-back runs (JobRunTimes 3): Completed, RunCount 3.
    Recurring,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Short => "short",
            Kind::Failing => "failing",
            Kind::Medium => "medium",
            Kind::Long => "long",
            Kind::Recurring => "recurring",
        }
    }
}

/// One submission a client made.
struct Submission {
    name: String,
    kind: Kind,
    /// Its LocalID, when the submission was acknowledged.
    id: Option<u64>,
    /// A client asked to terminate it (it may have ended first).
    terminate_asked: bool,
}

/// What the clients and the killer record as they go.
#[derive(Default)]
struct Ledger {
    submissions: Vec<Submission>,
    long_at_kills: BTreeSet<u64>,
    controls: usize,
    violations: Vec<String>,
}

/// Shared by the clients: where the service is, what they record, when to stop.
struct Shared {
    url: String,
    http: reqwest::Client,
    ledger: Mutex<Ledger>,
    stop: AtomicBool,
    /// The file every run appends "InstanceID run" to as it starts.
    marks: PathBuf,
    /// In every job's command line, to find its processes.
    token: String,
    long_step: Duration,
}

impl Shared {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn violation(&self, what: String) {
        self.ledger().violations.push(what);
    }
}

/// The admin password of the service a chaos run starts.
const PASSWORD: &str = "chaos-admin-password";

/// Jobs running at once (enough that the long ones do not hold up the rest).
const MAX_RUNNING: usize = 16;

/// The JobStates that end a job: Completed, Terminated, Killed, Exception.
fn is_final(state: u64) -> bool {
    (7..=10).contains(&state)
}

const SUSPENDED: u64 = 5;
const COMPLETED: u64 = 7;
const TERMINATED: u64 = 8;
const EXCEPTION: u64 = 10;

/// Runs the workload and the kills as `config` says; see the [module](self) docs. An error
/// is a failure to run at all (the service would not start); what the run found wrong is in
/// [`Report::violations`].
pub async fn run(config: &Config) -> anyhow::Result<Report> {
    process::become_subreaper();
    let scratch = tempfile::tempdir()?;
    let data_dir = scratch.path().join("data");
    std::fs::create_dir_all(&data_dir)?;
    let mut service = ChaosService {
        bin: config.bin.clone(),
        data_dir: data_dir.clone(),
        port: free_port()?,
        log: scratch.path().join("service.log"),
        child: None,
    };
    let mut report = Report {
        seed: config.seed,
        ..Report::default()
    };
    report.fresh_start = service.start().await?;
    let shared = Arc::new(Shared {
        url: service.url(),
        http: http_client()?,
        ledger: Mutex::default(),
        stop: AtomicBool::new(false),
        marks: scratch.path().join("marks"),
        token: format!("chaos-{}-{}", std::process::id(), config.seed),
        long_step: config.long_step,
    });

    let clients: Vec<_> = (0..config.clients)
        .map(|n| {
            let (shared, ops) = (shared.clone(), config.max_ops_per_client);
            let rng = fastrand::Rng::with_seed(config.seed.wrapping_add(1 + n as u64));
            tokio::spawn(client(shared, n, rng, ops))
        })
        .collect();
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let (low, high) = config.between_kills;
    for _ in 0..config.kills {
        tokio::time::sleep(low + (high - low).mul_f64(rng.f64())).await;
        let running_long = running_long_jobs(&shared).await;
        service.crash();
        report.kills += 1;
        shared.ledger().long_at_kills.extend(running_long);
        tokio::time::sleep(Duration::from_millis(rng.u64(0..200))).await;
        report
            .restarts
            .push(service.start().await.context("restarting after a kill")?);
    }
    shared.stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await?;
    }

    let jobs = settle(&shared, config.settle).await;
    judge(&shared, &jobs, &mut report);
    leftovers(&shared, "once every job had ended");
    if let Err(e) = service.stop() {
        shared.violation(format!("the service did not stop cleanly: {e}"));
    }
    process::end_supervisors(&data_dir, Signal::SIGTERM)?;
    leftovers(&shared, "after the service and its supervisors stopped");

    let ledger = shared.ledger();
    report.violations.extend(ledger.violations.iter().cloned());
    report.long_jobs_at_kills = ledger.long_at_kills.len();
    report.controls = ledger.controls;
    drop(ledger);
    drop(service);
    if !report.violations.is_empty() {
        // kept for a look: the data dir, the service's log, the marks
        let kept = scratch.keep();
        report.violations.push(format!(
            "seed {}; the data dir, service.log and marks are kept in {}",
            config.seed,
            kept.display()
        ));
    }
    Ok(report)
}

/// One client: submits a mix of jobs, and suspends, resumes or terminates its own medium
/// ones, until told to stop or `ops` operations are done.
async fn client(shared: Arc<Shared>, n: usize, mut rng: fastrand::Rng, ops: usize) {
    let mut mediums: Vec<u64> = Vec::new();
    for op in 0..ops {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let roll = rng.u32(0..100);
        let kind = match roll {
            0..35 => Some(Kind::Short),
            35..47 => Some(Kind::Failing),
            47..62 => Some(Kind::Medium),
            62..74 => Some(Kind::Long),
            74..80 => Some(Kind::Recurring),
            _ => None,
        };
        match kind {
            Some(kind) => {
                let name = format!("{}-{n}-{op}", kind.tag());
                if let Some(id) = submit(&shared, name, kind).await {
                    if kind == Kind::Medium {
                        mediums.push(id);
                        if mediums.len() > 4 {
                            mediums.remove(0);
                        }
                    }
                }
            }
            None if mediums.is_empty() => {}
            None => {
                let id = mediums[rng.usize(..mediums.len())];
                if roll < 94 {
                    suspend_and_resume(&shared, id, &mut rng).await;
                } else {
                    terminate(&shared, id).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(0..40))).await;
    }
}

/// Submits one job of `kind`; its LocalID if the submission was acknowledged.
async fn submit(shared: &Shared, name: String, kind: Kind) -> Option<u64> {
    let mark = format!(
        "echo \"$CIMJOB_INSTANCE_ID $CIMJOB_RUN\" >> '{}'",
        shared.marks.display()
    );
    let step = shared.long_step.as_secs_f64();
    let work = match kind {
        Kind::Short => "true".to_string(),
        Kind::Failing => "exit 3".to_string(),
        Kind::Medium => "sleep 1".to_string(),
        Kind::Long => format!(
            "for i in 1 2 3 4 5 6 7 8 9 10; do sleep {step}; echo \"progress $((i * 10))\" >&3; done"
        ),
        Kind::Recurring => "sleep 0.1".to_string(),
    };
    let mut properties = json!({
        "Name": name,
        "CommandLine": ["sh", "-c", format!("{mark}; {work}"), shared.token],
    });
    if kind == Kind::Recurring {
        properties["JobRunTimes"] = json!(3);
    }
    let answer = post(shared, "/api/v1/jobs", json!({ "properties": properties })).await;
    let id = match answer {
        Ok((201, body)) => {
            let id = body["InstanceID"]
                .as_str()
                .and_then(|iid| iid.strip_prefix("CIMJOB:")?.parse().ok());
            if id.is_none() {
                shared.violation(format!("a 201 without an InstanceID: {body}"));
            }
            id
        }
        Ok((status, body)) => {
            shared.violation(format!("submitting {name}: {status} {body}"));
            return None;
        }
        // the service was killed before it answered: stored or not, unknown
        Err(_) => None,
    };
    shared.ledger().submissions.push(Submission {
        name,
        kind,
        id,
        terminate_asked: false,
    });
    id
}

/// Suspends job `id`, then makes sure it is resumed: whatever kills come between, the job is
/// never left Suspended (that would be this client's doing, not the service's).
async fn suspend_and_resume(shared: &Shared, id: u64, rng: &mut fastrand::Rng) {
    let path = format!("/api/v1/jobs/{id}/requeststatechange");
    if post(shared, &path, json!({"RequestedState": 3}))
        .await
        .is_ok()
    {
        shared.ledger().controls += 1;
    }
    tokio::time::sleep(Duration::from_millis(rng.u64(50..300))).await;
    for _ in 0..600 {
        match get(shared, &format!("/api/v1/jobs/{id}")).await {
            Ok(job) if job["JobState"].as_u64() == Some(SUSPENDED) => {
                if post(shared, &path, json!({"RequestedState": 2}))
                    .await
                    .is_ok()
                {
                    shared.ledger().controls += 1;
                }
            }
            Ok(_) => return,
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shared.violation(format!("CIMJOB:{id} could not be resumed within 60 s"));
}

/// Asks to terminate job `id` (it may have ended already).
async fn terminate(shared: &Shared, id: u64) {
    let path = format!("/api/v1/jobs/{id}/requeststatechange");
    if let Some(s) = shared
        .ledger()
        .submissions
        .iter_mut()
        .find(|s| s.id == Some(id))
    {
        s.terminate_asked = true;
    }
    if post(shared, &path, json!({"RequestedState": 4}))
        .await
        .is_ok()
    {
        shared.ledger().controls += 1;
    }
}

/// The long jobs running now, as the service says (empty if it cannot be asked).
async fn running_long_jobs(shared: &Shared) -> Vec<u64> {
    let Ok(list) = get(shared, "/api/v1/jobs").await else {
        return Vec::new();
    };
    jobs_of(&list)
        .into_iter()
        .filter(|j| j["JobState"].as_u64() == Some(4))
        .filter(|j| j["Name"].as_str().is_some_and(|n| n.starts_with("long-")))
        .filter_map(|j| local_id(&j))
        .collect()
}

/// Waits (bounded) until every job has ended; the jobs as they are then. A job still not
/// final is a violation ("stuck").
async fn settle(shared: &Shared, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    let mut last = Vec::new();
    while Instant::now() < deadline {
        if let Ok(list) = get(shared, "/api/v1/jobs").await {
            last = jobs_of(&list);
            if last
                .iter()
                .all(|j| j["JobState"].as_u64().is_some_and(is_final))
            {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for job in &last {
        if !job["JobState"].as_u64().is_some_and(is_final) {
            shared.violation(format!(
                "stuck: {} {} still in JobState {} {within:?} after the last kill",
                job["InstanceID"], job["Name"], job["JobState"]
            ));
        }
    }
    last
}

/// Checks what the service holds against what the clients did; see the [module](self) docs.
fn judge(shared: &Shared, jobs: &[Value], report: &mut Report) {
    let marks = std::fs::read_to_string(&shared.marks).unwrap_or_default();
    let mut runs: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for line in marks.lines() {
        let mut words = line.split_whitespace();
        let id = words
            .next()
            .and_then(|w| w.strip_prefix("CIMJOB:")?.parse().ok());
        let run = words.next().and_then(|w| w.parse().ok());
        match (id, run) {
            (Some(id), Some(run)) => runs.entry(id).or_default().push(run),
            _ => shared.violation(format!("a run wrote an unreadable mark: {line:?}")),
        }
    }
    report.runs = runs.values().map(Vec::len).sum();
    let by_id: BTreeMap<u64, &Value> = jobs
        .iter()
        .filter_map(|j| Some((local_id(j)?, j)))
        .collect();
    let mut by_name: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for job in jobs {
        by_name
            .entry(job["Name"].as_str().unwrap_or(""))
            .or_default()
            .push(job);
    }
    let mut problems = Vec::new();
    for (name, same) in &by_name {
        if same.len() > 1 {
            problems.push(format!("{} jobs are named {name}", same.len()));
        }
    }
    let ledger = shared.ledger();
    for s in &ledger.submissions {
        let job = match s.id {
            Some(id) => match by_id.get(&id) {
                Some(job) if job["Name"].as_str() == Some(s.name.as_str()) => *job,
                Some(job) => {
                    problems.push(format!(
                        "CIMJOB:{id} was submitted as {} but is {}",
                        s.name,
                        summary(job)
                    ));
                    continue;
                }
                None => {
                    problems.push(format!("acknowledged CIMJOB:{id} ({}) is missing", s.name));
                    continue;
                }
            },
            None => match by_name.get(s.name.as_str()) {
                Some(found) => {
                    report.unacknowledged_stored += 1;
                    found[0]
                }
                None => continue,
            },
        };
        problems.extend(outcome_problems(s, job, &runs));
    }
    report.acknowledged = ledger.submissions.iter().filter(|s| s.id.is_some()).count();
    report.unacknowledged = ledger.submissions.len() - report.acknowledged;
    for id in &ledger.long_at_kills {
        if let Some(job) = by_id.get(id) {
            if job["JobState"].as_u64() != Some(COMPLETED) || job["ErrorCode"].as_u64() != Some(0) {
                problems.push(format!(
                    "was running at a kill and ended as {}",
                    summary(job)
                ));
            }
        }
    }
    drop(ledger);
    for p in problems {
        shared.violation(p);
    }
}

/// What is wrong with how `job` (submitted as `s`) ended and how often it ran.
fn outcome_problems(s: &Submission, job: &Value, runs: &BTreeMap<u64, Vec<u64>>) -> Vec<String> {
    let mut problems = Vec::new();
    let id = local_id(job).unwrap_or(0);
    let state = job["JobState"].as_u64().unwrap_or(0);
    let error_code = job["ErrorCode"].as_u64();
    let run_count = job["RunCount"].as_u64().unwrap_or(0);
    let mut numbers = runs.get(&id).cloned().unwrap_or_default();
    numbers.sort_unstable();
    let expected: Vec<u64> = (1..=run_count).collect();
    // a Terminate can reach a run's shell before its first command, the mark: then the last
    // run (and only it) has none
    let terminated_before_its_mark =
        state == TERMINATED && run_count > 0 && numbers[..] == expected[..expected.len() - 1];
    if numbers != expected && !terminated_before_its_mark {
        problems.push(format!(
            "CIMJOB:{id} ({}) has RunCount {run_count} but its runs started as {numbers:?}",
            s.name
        ));
    }
    if error_code == Some(4) {
        problems.push(format!("lost its process: {}", summary(job)));
    }
    let as_expected = match s.kind {
        Kind::Short => state == COMPLETED && error_code == Some(0),
        Kind::Failing => state == EXCEPTION,
        Kind::Medium if s.terminate_asked => state == COMPLETED || state == TERMINATED,
        Kind::Medium => state == COMPLETED && error_code == Some(0),
        Kind::Long => {
            state == COMPLETED
                && error_code == Some(0)
                && job["PercentComplete"].as_u64() == Some(100)
        }
        Kind::Recurring => state == COMPLETED && run_count == 3,
    };
    if !as_expected {
        problems.push(format!("ended not as its work says: {}", summary(job)));
    }
    problems
}

/// Any process of this run's jobs still alive is a violation.
fn leftovers(shared: &Shared, when: &str) {
    for pid in process::processes() {
        if process::alive(pid)
            && process::command_line(pid).is_some_and(|c| c.contains(&shared.token))
        {
            shared.violation(format!(
                "process {pid} ({}) is alive {when}",
                process::command_line(pid).unwrap_or_default()
            ));
        }
    }
}

/// The service a chaos run kills and restarts: one data dir, one port.
struct ChaosService {
    bin: PathBuf,
    data_dir: PathBuf,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl ChaosService {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts it and waits until it serves; how long that took.
    async fn start(&mut self) -> anyhow::Result<Duration> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut serve = Command::new(&self.bin);
        serve
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--max-running", &MAX_RUNNING.to_string()])
            .args(["--https-listen", "off"])
            .env("CIMJOB_ADMIN_PASSWORD", PASSWORD)
            .env("CIMJOB_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let data_dir = self.data_dir.clone();
        let launched = tokio::task::spawn_blocking(move || {
            process::launch(serve, &data_dir, Duration::from_secs(60))
        })
        .await??;
        self.child = Some(launched.child);
        Ok(launched.started_in)
    }

    /// SIGKILL, and reap it.
    fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, and wait (bounded) for a clean exit.
    fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            Signal::SIGTERM,
        )?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                anyhow::ensure!(status.success(), "it exited with {status}");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        anyhow::bail!("it did not stop within 30 s of SIGTERM")
    }
}

impl Drop for ChaosService {
    fn drop(&mut self) {
        self.crash();
        let _ = process::end_supervisors(&self.data_dir, Signal::SIGTERM);
    }
}

/// A loopback port free now (the service binds it again after each kill).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()?)
}

/// POSTs `body` as the admin: the status and the JSON answer; an error when the request
/// went out and no answer came (the service was killed meanwhile). While the service is down
/// (the connection is refused: nothing was sent) it tries again, for up to 10 s, as a
/// client would.
async fn post(shared: &Shared, path: &str, body: Value) -> reqwest::Result<(u16, Value)> {
    let mut tries = 0;
    let answer = loop {
        let sent = shared
            .http
            .post(format!("{}{path}", shared.url))
            .basic_auth("admin", Some(PASSWORD))
            .json(&body)
            .send()
            .await;
        match sent {
            Err(e) if e.is_connect() && tries < 200 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            sent => break sent?,
        }
    };
    let status = answer.status().as_u16();
    let body = answer.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// GETs `path` as the admin: the JSON of a 200 answer; an error otherwise.
async fn get(shared: &Shared, path: &str) -> anyhow::Result<Value> {
    let answer = shared
        .http
        .get(format!("{}{path}", shared.url))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await?
        .error_for_status()?;
    Ok(answer.json().await?)
}

fn jobs_of(list: &Value) -> Vec<Value> {
    list["jobs"].as_array().cloned().unwrap_or_default()
}

/// The few properties that tell how a job ended, for a message.
fn summary(job: &Value) -> String {
    format!(
        "{} {}: JobState {}, ErrorCode {}, {:?}, RunCount {}, PercentComplete {}",
        job["InstanceID"].as_str().unwrap_or("?"),
        job["Name"].as_str().unwrap_or("?"),
        job["JobState"],
        job["ErrorCode"],
        job["ErrorDescription"].as_str().unwrap_or(""),
        job["RunCount"],
        job["PercentComplete"]
    )
}

fn local_id(job: &Value) -> Option<u64> {
    job["InstanceID"]
        .as_str()?
        .strip_prefix("CIMJOB:")?
        .parse()
        .ok()
}
