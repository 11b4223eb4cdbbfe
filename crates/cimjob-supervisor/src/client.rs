//! The service's side: [`Supervisors`], the engine's [`Processes`] when runs are held by
//! supervisor processes.
//!
//! At start it connects to every supervisor left in the folder (their runs are adopted, the
//! events they kept are replayed), keeps the one that runs this very binary for new runs (or
//! starts one), tells the others to retire (they were started by an older binary: they keep
//! their runs to the end, then exit), and reads the exit records of supervisors that exited
//! while no service listened. A report is acknowledged to its supervisor only once the
//! engine says the change it caused is durable, so a crash of the service between the two
//! loses nothing: the next service is told again.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use cimjob_engine::{Processes, Report, Reports};
use cimjob_rules::run::{Held, ProcessIdentity, RunKey, RunnerEvent, WorkSignal, WorkSpec};
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use crate::exits::{ExitRecord, EXITS};
use crate::outbox::Outbox;
use crate::protocol::{self, ToService, ToSupervisor, PROTOCOL};

/// How long a supervisor may take to answer hello, or a new one to start serving.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The supervisors of one data dir, as the engine's [`Processes`].
pub struct Supervisors {
    shared: Arc<Mutex<Shared>>,
    live: Held,
}

/// One supervisor the service talks to.
struct Link {
    pid: u32,
    /// `None` once the supervisor is gone or the service stops.
    outgoing: Option<Outbox>,
    /// The task writing what `outgoing` could not write at once, to wait for at the end.
    writer: Option<tokio::task::JoinHandle<()>>,
}

/// What a report's receipt stands for once it is durable.
enum Receipt {
    /// Acknowledge the event to its supervisor.
    Ack { link: usize, seq: u64 },
    /// Delete the exit record it came from.
    File(PathBuf),
}

struct Shared {
    dir: PathBuf,
    program: PathBuf,
    reports: mpsc::UnboundedSender<Report>,
    links: Vec<Link>,
    /// The link new runs go to; `None` while a new supervisor is being started.
    current: Option<usize>,
    /// Which link holds each run.
    routes: HashMap<RunKey, usize>,
    book: VecDeque<(u64, Receipt)>,
    next_receipt: u64,
    /// Starts asked for while no supervisor takes them.
    waiting: Vec<(RunKey, ToSupervisor)>,
    stopping: bool,
    /// The node's trust as last granted (see [`Trust`]), for supervisors greeted later.
    trusted_until: Option<Instant>,
}

type Greeted = (
    BufReader<UnixStream>,
    (Outbox, tokio::task::JoinHandle<()>),
    ToService,
);

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn send(&self, link: usize, message: &ToSupervisor) -> bool {
        self.links[link]
            .outgoing
            .as_ref()
            .is_some_and(|o| o.send(&protocol::encode(message)))
    }

    /// Hands a report to the engine with a receipt that stands for `receipt`.
    fn report(&mut self, key: RunKey, event: RunnerEvent, receipt: Receipt) {
        let number = self.next_receipt;
        self.next_receipt += 1;
        self.book.push_back((number, receipt));
        let _ = self.reports.send(Report {
            key,
            event,
            receipt: Some(number),
        });
    }

    /// Adds a greeted supervisor; returns its link and the runs it holds.
    fn add(
        &mut self,
        shared: &Arc<Mutex<Shared>>,
        (reader, writer, welcome): Greeted,
    ) -> (usize, Vec<RunKey>, bool) {
        let ToService::Welcome {
            pid,
            runs,
            binary,
            retired,
            ..
        } = welcome
        else {
            unreachable!("greet returns only a welcome");
        };
        let link = self.links.len();
        let (outgoing, writer) = writer;
        tokio::spawn(read_events(link, reader, shared.clone()));
        self.links.push(Link {
            pid,
            outgoing: Some(outgoing),
            writer: Some(writer),
        });
        if let Some(until) = self.trusted_until {
            self.send(link, &trust_message(until));
        }
        let keys: Vec<RunKey> = runs.iter().map(|r| r.key).collect();
        for key in &keys {
            self.routes.insert(*key, link);
        }
        let reusable = !retired && binary == crate::binary_identity();
        (link, keys, reusable)
    }

    /// Makes `link` take new runs, and sends it the starts that waited.
    fn take_new_runs(&mut self, link: usize) {
        self.current = Some(link);
        for (key, start) in std::mem::take(&mut self.waiting) {
            self.routes.insert(key, link);
            self.send(link, &start);
        }
    }
}

/// Passes a node's trust in its lease on to the supervisors, so that the runs they hold end
/// when it ends — even if the service is frozen or dead and cannot say so.
#[derive(Clone)]
pub struct Trust {
    shared: Arc<Mutex<Shared>>,
}

impl Trust {
    /// The node is trusted until `until` (this machine's monotonic clock).
    pub fn grant(&self, until: Instant) {
        let mut state = lock(&self.shared);
        state.trusted_until = Some(until);
        let message = trust_message(until);
        for link in 0..state.links.len() {
            state.send(link, &message);
        }
    }
}

/// The message that grants trust until `until`.
fn trust_message(until: Instant) -> ToSupervisor {
    let left = until.saturating_duration_since(Instant::now());
    ToSupervisor::Trust {
        for_ms: u64::try_from(left.as_millis()).unwrap_or(u64::MAX),
    }
}

impl Supervisors {
    /// Connects to the supervisors in `dir` (starting one with `program supervise` if none
    /// runs this binary) and returns the engine's processes, the channel their reports come
    /// on, and the handle through which a node of a cluster passes on its trust; the reports
    /// the supervisors kept, and the exit records, are already queued.
    pub async fn connect(
        dir: &Path,
        program: &Path,
    ) -> io::Result<(Box<dyn Processes>, Reports, Trust)> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let (reports, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared {
            dir: dir.to_path_buf(),
            program: program.to_path_buf(),
            reports,
            links: Vec::new(),
            current: None,
            routes: HashMap::new(),
            book: VecDeque::new(),
            next_receipt: 1,
            waiting: Vec::new(),
            stopping: false,
            trusted_until: None,
        }));
        // complete unless a supervisor is gone or does not answer: a start sent to it may
        // have begun
        let mut live = Held {
            runs: BTreeSet::new(),
            complete: true,
        };
        let mut retiring = Vec::new();
        for socket in sockets(dir) {
            match greet(&socket).await {
                Ok(greeted) => {
                    let (link, runs, reusable) = lock(&shared).add(&shared, greeted);
                    live.runs.extend(runs);
                    let mut state = lock(&shared);
                    if reusable && state.current.is_none() {
                        state.current = Some(link);
                    } else {
                        retiring.push(link);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
                    ) =>
                {
                    // its supervisor is gone; the file is all that is left of it
                    if e.kind() == io::ErrorKind::ConnectionRefused {
                        live.complete = false;
                    }
                    let _ = std::fs::remove_file(&socket);
                }
                Err(e) => {
                    live.complete = false;
                    tracing::warn!(socket = %socket.display(), error = %e, "a supervisor does not answer; its runs cannot be adopted")
                }
            }
        }
        for link in retiring {
            let state = lock(&shared);
            tracing::info!(
                pid = state.links[link].pid,
                "a supervisor of another binary keeps its runs and retires"
            );
            state.send(link, &ToSupervisor::Retire);
        }
        if lock(&shared).current.is_none() {
            let greeted = start_supervisor(dir, program).await?;
            let mut state = lock(&shared);
            let (link, _, _) = state.add(&shared, greeted);
            state.current = Some(link);
        }
        // runs that ended while no service listened, recorded by supervisors since gone
        let mut state = lock(&shared);
        for (path, record) in ExitRecord::read_all(&dir.join(EXITS)) {
            if state.routes.contains_key(&record.key) || record.events.is_empty() {
                continue;
            }
            live.runs.insert(record.key);
            let last = record.events.len() - 1;
            for (i, event) in record.events.into_iter().enumerate() {
                let receipt = if i == last {
                    Receipt::File(path.clone())
                } else {
                    Receipt::File(PathBuf::new())
                };
                state.report(record.key, event, receipt);
            }
        }
        drop(state);
        let trust = Trust {
            shared: Arc::clone(&shared),
        };
        Ok((Box::new(Supervisors { shared, live }), receiver, trust))
    }
}

/// The sockets of the supervisors of `dir`.
fn sockets(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sock"))
        .collect();
    found.sort();
    found
}

/// Connects to a supervisor and says hello; its welcome comes back with the connection.
async fn greet(socket: &Path) -> io::Result<Greeted> {
    let stream = UnixStream::connect(socket).await?.into_std()?;
    let read = UnixStream::from_std(stream.try_clone()?)?;
    let (outbox, writer) = Outbox::new(stream)?;
    outbox.send(&protocol::encode(&ToSupervisor::Hello {
        protocol: PROTOCOL,
    }));
    let write = (outbox, writer);
    let mut reader = BufReader::new(read);
    let mut buffer = Vec::new();
    let answer = tokio::time::timeout(HANDSHAKE, protocol::read(&mut reader, &mut buffer))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no welcome"))??;
    match answer {
        Some(welcome @ ToService::Welcome { .. }) => Ok((reader, write, welcome)),
        Some(ToService::Refused { reason }) => Err(io::Error::other(reason)),
        Some(_) | None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the supervisor did not say welcome",
        )),
    }
}

/// Starts a supervisor of this binary in `dir` and greets it.
async fn start_supervisor(dir: &Path, program: &Path) -> io::Result<Greeted> {
    let log = crate::server::open_log(dir)?;
    let mut child = tokio::process::Command::new(program)
        .arg("supervise")
        .arg("--dir")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let pid = child.id().unwrap_or_default();
    // it outlives the service; while the service lives, the service reaps it
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    let socket = dir.join(format!("{pid}.sock"));
    let deadline = tokio::time::Instant::now() + HANDSHAKE;
    loop {
        match greet(&socket).await {
            Ok(greeted) => {
                tracing::info!(pid, "started a supervisor");
                return Ok(greeted);
            }
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "the supervisor {} did not start serving: {e}",
                        socket.display()
                    ),
                ))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// Starts a supervisor for new runs after the current one was lost, then sends it what
/// waited; if it cannot be started, the waiting starts fail.
fn replace_current(shared: Arc<Mutex<Shared>>) {
    tokio::spawn(async move {
        let (dir, program) = {
            let state = lock(&shared);
            (state.dir.clone(), state.program.clone())
        };
        match start_supervisor(&dir, &program).await {
            Ok(greeted) => {
                let mut state = lock(&shared);
                let (link, _, _) = state.add(&shared, greeted);
                state.take_new_runs(link);
            }
            Err(e) => {
                let mut state = lock(&shared);
                tracing::error!(error = %e, "cannot start a supervisor; runs cannot start");
                for (key, _) in std::mem::take(&mut state.waiting) {
                    let failed = RunnerEvent::Started {
                        result: Err(format!("no supervisor could be started: {e}")),
                        at: SystemTime::now(),
                    };
                    let _ = state.reports.send(Report {
                        key,
                        event: failed,
                        receipt: None,
                    });
                }
            }
        }
    });
}

/// Forwards a supervisor's events to the engine; when it goes away (it died), its runs are
/// reported lost and, if it took new runs, another is started.
async fn read_events(link: usize, mut reader: BufReader<UnixStream>, shared: Arc<Mutex<Shared>>) {
    let mut buffer = Vec::new();
    let why = loop {
        match protocol::read::<_, ToService>(&mut reader, &mut buffer).await {
            Ok(Some(ToService::Event { seq, key, event })) => {
                let mut state = lock(&shared);
                let ended = matches!(
                    event,
                    RunnerEvent::Exited(_) | RunnerEvent::Started { result: Err(_), .. }
                );
                if ended && state.routes.get(&key) == Some(&link) {
                    state.routes.remove(&key);
                }
                state.report(key, event, Receipt::Ack { link, seq });
            }
            Ok(Some(_)) => {}
            Ok(None) => break "it exited".to_string(),
            Err(e) => break format!("its connection failed: {e}"),
        }
    };
    let mut state = lock(&shared);
    state.links[link].outgoing = None;
    if state.stopping {
        return;
    }
    let pid = state.links[link].pid;
    let lost: Vec<RunKey> = state
        .routes
        .iter()
        .filter(|(_, l)| **l == link)
        .map(|(k, _)| *k)
        .collect();
    if !lost.is_empty() || state.current == Some(link) {
        tracing::error!(
            pid,
            runs = lost.len(),
            "a supervisor went away ({why}); its runs are lost"
        );
    }
    for key in lost {
        state.routes.remove(&key);
        let reason = format!("the supervisor (pid {pid}) that held them went away: {why}");
        let _ = state.reports.send(Report {
            key,
            event: RunnerEvent::Lost { reason },
            receipt: None,
        });
    }
    if state.current == Some(link) {
        state.current = None;
        drop(state);
        replace_current(shared);
    }
}

impl Processes for Supervisors {
    fn live(&self) -> Held {
        self.live.clone()
    }

    fn start(&mut self, key: RunKey, spec: WorkSpec, not_before: Option<SystemTime>) {
        let start = ToSupervisor::Start {
            key,
            spec,
            not_before,
        };
        let mut state = lock(&self.shared);
        match state.current {
            Some(link) => {
                state.routes.insert(key, link);
                state.send(link, &start);
            }
            None => state.waiting.push((key, start)),
        }
    }

    fn signal(&mut self, key: RunKey, signal: WorkSignal) -> Result<(), String> {
        let state = lock(&self.shared);
        match state.routes.get(&key) {
            Some(&link) if state.send(link, &ToSupervisor::Signal { key, signal }) => Ok(()),
            _ => Err(format!("{key} is not held by any supervisor")),
        }
    }

    fn answer(&mut self, key: RunKey, text: &str) -> Result<(), String> {
        let state = lock(&self.shared);
        let answer = ToSupervisor::Answer {
            key,
            text: text.to_string(),
        };
        match state.routes.get(&key) {
            Some(&link) if state.send(link, &answer) => Ok(()),
            _ => Err(format!("{key} is not held by any supervisor")),
        }
    }

    fn kill_orphan(&mut self, identity: ProcessIdentity) -> bool {
        cimjob_runner::kill_orphan(identity)
    }

    fn remove_logs(&mut self, paths: Vec<PathBuf>) {
        // a job that ran every minute for a year has half a million logs: off the engine
        drop(tokio::task::spawn_blocking(move || {
            cimjob_runner::remove_logs(&paths)
        }));
    }

    fn durable(&mut self, receipt: u64) {
        let mut state = lock(&self.shared);
        let mut acks: HashMap<usize, u64> = HashMap::new();
        while state.book.front().is_some_and(|(n, _)| *n <= receipt) {
            match state.book.pop_front().map(|(_, r)| r) {
                Some(Receipt::Ack { link, seq }) => {
                    let last = acks.entry(link).or_default();
                    *last = (*last).max(seq);
                }
                Some(Receipt::File(path)) if !path.as_os_str().is_empty() => {
                    let _ = std::fs::remove_file(path);
                }
                _ => {}
            }
        }
        for (link, seq) in acks {
            state.send(link, &ToSupervisor::Ack { seq });
        }
    }

    fn stop(&mut self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let mut state = lock(&self.shared);
        state.stopping = true;
        let writers: Vec<_> = state
            .links
            .iter_mut()
            .filter_map(|link| {
                if let Some(outbox) = link.outgoing.take() {
                    outbox.close();
                }
                link.writer.take()
            })
            .collect();
        Box::pin(async move {
            for writer in writers {
                // bounded: a supervisor that stopped reading must not hold the service up
                let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
            }
        })
    }
}
