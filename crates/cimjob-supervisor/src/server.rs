//! The supervisor process (`cimjob supervise`): holds runs for the service, so that they
//! outlive it.
//!
//! It runs the [`Runner`] in a process of its own, in a session of its own (a Ctrl-C at the
//! service's terminal does not reach it), and serves one service at a time on
//! `<dir>/<pid>.sock`. Every event of its runs is numbered and kept until the service says
//! it is durable; a service that connects later is told the runs held and every event not
//! yet acknowledged, so progress written while no service listened is not lost (of the
//! progress lines of one run, only the last is kept meanwhile: it is the one that counts).
//!
//! It exits once it holds no run and no service is connected (or, once retired, when its
//! last run has ended and been acknowledged; or, on SIGTERM or when the trust a node of a
//! cluster gave it ends unrenewed, once it has killed and reaped every run). Events no service has acknowledged by then are
//! written to `<dir>/exits/<job>-<run>.json` first, for the next service to read.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cimjob_rules::run::{ProcessIdentity, RunKey, RunnerEvent};
use cimjob_runner::Runner;
use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use crate::exits::{ExitRecord, EXITS};
use crate::outbox::Outbox;
use crate::protocol::{self, HeldRun, ToService, ToSupervisor, PROTOCOL};

/// How long a supervisor waits for its first service before it gives up, idle.
const FIRST_CONNECTION: Duration = Duration::from_secs(30);

/// Runs the supervisor in `dir` until it has nothing left to hold; the exit status says
/// whether it could serve at all. Call it before any other thread exists.
pub fn main(dir: &Path) -> std::process::ExitCode {
    // its own session: signals for the service's terminal or process group are not ours
    let _ = nix::unistd::setsid();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cimjob supervise: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(dir)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the supervisor stopped");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A connected service: what it sent, and where to write.
struct Connection {
    id: u64,
    greeted: bool,
    /// Its hello, while the connection it replaced still has messages to read.
    waiting_hello: Option<u32>,
    outgoing: Outbox,
}

/// What a connection's reader task hands over: a message, or `None` at its end.
type Incoming = (u64, Option<ToSupervisor>);

struct Supervisor {
    dir: PathBuf,
    runner: Runner,
    /// The runs held: being started (no identity yet) or started.
    runs: BTreeMap<RunKey, Option<ProcessIdentity>>,
    /// Events not yet acknowledged, in order.
    unacked: VecDeque<(u64, RunKey, RunnerEvent)>,
    next_seq: u64,
    retired: bool,
    connection: Option<Connection>,
    /// The connection the current one replaced, until it has been read to its end: what a
    /// service sent before it died (a start, say) is done before the next one is greeted,
    /// so the runs it is told of are all there are.
    replaced: Option<(u64, Instant)>,
    ever_connected: bool,
    /// Told to end (SIGTERM), or its node's trust ended: every run was killed; exit once
    /// they are reaped.
    terminating: bool,
    /// Until when the service's node is trusted, if it is a node of a cluster.
    trusted_until: Option<Instant>,
}

/// How long a replaced connection may take to be read to its end before the new service is
/// greeted anyway.
const REPLACED_DRAIN: Duration = Duration::from_secs(5);

async fn serve(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let socket = dir.join(format!("{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    tracing::info!(socket = %socket.display(), "supervisor serving");
    let (events, mut reports) = mpsc::unbounded_channel();
    let (incoming_tx, mut incoming) = mpsc::unbounded_channel::<Incoming>();
    let mut supervisor = Supervisor {
        dir: dir.to_path_buf(),
        runner: Runner::new(events),
        runs: BTreeMap::new(),
        unacked: VecDeque::new(),
        next_seq: 1,
        retired: false,
        connection: None,
        replaced: None,
        ever_connected: false,
        terminating: false,
        trusted_until: None,
    };
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let began = Instant::now();
    let mut next_connection = 0u64;
    loop {
        if supervisor.done(began.elapsed()) {
            break;
        }
        tokio::select! {
            // the service's requests first: a Suspend must not wait behind a burst of events
            biased;
            Some((id, message)) = incoming.recv() => supervisor.message(id, message),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    next_connection += 1;
                    supervisor.connect(next_connection, stream, incoming_tx.clone());
                }
                Err(e) => tracing::warn!(error = %e, "cannot accept a service"),
            },
            Some((key, event)) = reports.recv() => supervisor.event(key, event),
            () = sleep_until(supervisor.next_deadline(began)) => {
                supervisor.greet_waiting();
                supervisor.end_of_trust();
            }
            _ = terminate.recv() => {
                tracing::warn!(runs = supervisor.runs.len(), "SIGTERM: killing every run held");
                supervisor.terminating = true;
                supervisor.runner.stop();
            }
        }
    }
    supervisor.keep_unacknowledged()?;
    let _ = std::fs::remove_file(&socket);
    tracing::info!("supervisor done: no run left to hold");
    Ok(())
}

impl Supervisor {
    /// Whether nothing is left to hold: no run, and either no service or (retired) nothing
    /// still to acknowledge.
    fn done(&self, alive_for: Duration) -> bool {
        if !self.runs.is_empty() {
            return false;
        }
        if self.terminating || (self.retired && self.unacked.is_empty()) {
            return true;
        }
        self.connection.is_none() && (self.ever_connected || alive_for > FIRST_CONNECTION)
    }

    /// A new service: it replaces the old one (one service per data dir holds its lock, so
    /// the old one is gone), once it has said hello.
    fn connect(&mut self, id: u64, stream: UnixStream, incoming: mpsc::UnboundedSender<Incoming>) {
        let split = stream
            .into_std()
            .and_then(|s| Ok((s.try_clone()?, s)))
            .and_then(|(read, write)| Ok((UnixStream::from_std(read)?, Outbox::new(write)?)));
        let (read, (outgoing, _)) = match split {
            Ok(halves) => halves,
            Err(e) => return tracing::warn!(error = %e, "cannot serve a service"),
        };
        tokio::spawn(read_messages(id, read, incoming, self.runner.clone()));
        if let Some(old) = self.connection.take() {
            self.replaced = Some((old.id, Instant::now()));
        }
        self.connection = Some(Connection {
            id,
            greeted: false,
            waiting_hello: None,
            outgoing,
        });
        self.ever_connected = true;
    }

    fn send(&self, message: &ToService) {
        if let Some(c) = self.connection.as_ref().filter(|c| c.greeted) {
            c.outgoing.send(&protocol::encode(message));
        }
    }

    fn message(&mut self, id: u64, message: Option<ToSupervisor>) {
        let current = self.connection.as_ref().is_some_and(|c| c.id == id);
        let replaced = self.replaced.is_some_and(|(r, _)| r == id);
        if !current && !replaced {
            return; // from a connection long gone
        }
        let Some(message) = message else {
            if replaced {
                self.replaced = None;
                self.greet_waiting();
            } else {
                tracing::info!("the service went away; the runs go on");
                self.connection = None;
            }
            return;
        };
        match message {
            ToSupervisor::Hello { protocol } if current && self.replaced.is_some() => {
                if let Some(c) = self.connection.as_mut() {
                    c.waiting_hello = Some(protocol);
                }
            }
            ToSupervisor::Hello { protocol } if current => self.hello(protocol),
            ToSupervisor::Hello { .. } => {}
            ToSupervisor::Start {
                key,
                spec,
                not_before,
            } => {
                self.runs.insert(key, None);
                self.runner.start(key, spec, not_before);
            }
            // done where they are read (see `read_messages`)
            ToSupervisor::Signal { .. } | ToSupervisor::Answer { .. } => {}
            ToSupervisor::Ack { seq } => {
                while self.unacked.front().is_some_and(|(s, _, _)| *s <= seq) {
                    self.unacked.pop_front();
                }
            }
            ToSupervisor::Retire => self.retired = true,
            ToSupervisor::Trust { for_ms } => {
                self.trusted_until = Some(Instant::now() + Duration::from_millis(for_ms));
            }
        }
    }

    /// Kills every run once the node's trust has ended without renewal: another node may
    /// have taken its jobs over, and a job must not run on two nodes at once.
    fn end_of_trust(&mut self) {
        let ended = self
            .trusted_until
            .is_some_and(|until| Instant::now() >= until);
        if ended && !self.terminating {
            tracing::warn!(
                runs = self.runs.len(),
                "the node's trust ended without renewal: killing every run held"
            );
            self.terminating = true;
            self.runner.stop();
        }
    }

    /// When something is due with no event to wake for it: greeting a service whose hello
    /// waits for a replaced connection, giving up waiting for the first service, or the end
    /// of the node's trust.
    fn next_deadline(&self, began: Instant) -> Option<Instant> {
        let replaced = self.replaced.map(|(_, since)| since + REPLACED_DRAIN);
        let first = (!self.ever_connected).then_some(began + FIRST_CONNECTION);
        let trust = self.trusted_until.filter(|_| !self.terminating);
        replaced.into_iter().chain(first).chain(trust).min()
    }

    /// Greets the current service if its hello waited for the replaced connection, which
    /// has ended, or has taken too long to.
    fn greet_waiting(&mut self) {
        if self
            .replaced
            .is_some_and(|(_, since)| since.elapsed() > REPLACED_DRAIN)
        {
            tracing::warn!("the replaced service's connection did not end; greeting the new one");
            self.replaced = None;
        }
        if self.replaced.is_some() {
            return;
        }
        let waiting = self
            .connection
            .as_mut()
            .and_then(|c| c.waiting_hello.take());
        if let Some(protocol) = waiting {
            self.hello(protocol);
        }
    }

    fn hello(&mut self, protocol: u32) {
        let Some(connection) = self.connection.as_mut() else {
            return;
        };
        if protocol > PROTOCOL {
            let refusal = ToService::Refused {
                reason: format!("this supervisor speaks protocol {PROTOCOL}, not {protocol}"),
            };
            connection.outgoing.send(&protocol::encode(&refusal));
            connection.outgoing.close();
            self.connection = None;
            return;
        }
        connection.greeted = true;
        // a run that ended while no service listened is still this supervisor's to tell of:
        // the new service must adopt it and hear its end, not think it lost
        let mut held = self.runs.clone();
        for (_, key, _) in &self.unacked {
            held.entry(*key).or_insert(None);
        }
        let runs = held
            .into_iter()
            .map(|(key, identity)| HeldRun { key, identity })
            .collect();
        self.send(&ToService::Welcome {
            protocol: PROTOCOL,
            binary: crate::binary_identity(),
            pid: std::process::id(),
            runs,
            retired: self.retired,
        });
        for (seq, key, event) in &self.unacked {
            self.send(&ToService::Event {
                seq: *seq,
                key: *key,
                event: event.clone(),
            });
        }
    }

    fn event(&mut self, key: RunKey, event: RunnerEvent) {
        match &event {
            RunnerEvent::Started { result: Ok(id), .. } => {
                self.runs.insert(key, Some(*id));
            }
            RunnerEvent::Started { result: Err(_), .. } | RunnerEvent::Exited(_) => {
                self.runs.remove(&key);
            }
            _ => {}
        }
        let listening = self.connection.as_ref().is_some_and(|c| c.greeted);
        if !listening && matches!(event, RunnerEvent::Progress { .. }) {
            // nobody listens: of a run's progress lines, the last is the one that counts
            self.unacked
                .retain(|(_, k, e)| *k != key || !matches!(e, RunnerEvent::Progress { .. }));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.send(&ToService::Event {
            seq,
            key,
            event: event.clone(),
        });
        self.unacked.push_back((seq, key, event));
    }

    /// Writes what no service acknowledged, per run, for the next service.
    fn keep_unacknowledged(&self) -> io::Result<()> {
        let mut per_run: BTreeMap<RunKey, Vec<RunnerEvent>> = BTreeMap::new();
        for (_, key, event) in &self.unacked {
            per_run.entry(*key).or_default().push(event.clone());
        }
        for (key, events) in per_run {
            ExitRecord { key, events }.write(&self.dir.join(EXITS))?;
        }
        Ok(())
    }
}

/// Reads one service's messages. Signals and answers are carried out here, at once (a
/// Suspend must not wait behind a burst of events); the rest go to the supervisor's loop.
/// Resolves at `deadline`, or never.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn read_messages(
    id: u64,
    read: UnixStream,
    incoming: mpsc::UnboundedSender<Incoming>,
    runner: Runner,
) {
    let mut reader = BufReader::new(read);
    let mut buffer = Vec::new();
    loop {
        match protocol::read::<_, ToSupervisor>(&mut reader, &mut buffer).await {
            Ok(Some(ToSupervisor::Signal { key, signal })) => {
                if let Err(e) = runner.signal(key, signal) {
                    tracing::debug!(%key, error = %e, "signal not delivered");
                }
            }
            Ok(Some(ToSupervisor::Answer { key, text })) => {
                if let Err(e) = runner.answer(key, &text) {
                    tracing::warn!(%key, error = %e, "answer not delivered");
                }
            }
            Ok(Some(message)) => {
                if incoming.send((id, Some(message))).is_err() {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable message from the service; disconnecting");
                break;
            }
        }
    }
    let _ = incoming.send((id, None));
}

/// Opens the supervisor's log for appending (its stdout and stderr).
pub fn open_log(dir: &Path) -> io::Result<std::fs::File> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(dir.join("supervisor.log"))
}
