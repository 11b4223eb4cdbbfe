//! Runs one run of a job as its own process group and reports what it does.
//!
//! [`Runner::spawn`] starts the command in a new process group with stdin `/dev/null` and
//! stdout and stderr on one pipe, whose bytes the run's task appends to the run's log file,
//! created when the work first writes: a run that writes nothing costs no file (creating
//! one can cost a millisecond on a busy ext4, more than starting `/bin/true`). One tokio task per run (no thread, no
//! polling) forwards the work's progress and questions as [`RunnerEvent`]s and, when the
//! leader ends, reports [`RunnerEvent::Exited`], always the run's last event. Signals
//! ([`Runner::signal`]) go to the whole group, so Suspend stops a pipeline, not just its shell.
//!
//! # The progress descriptor
//! The work gets a Unix stream socket on file descriptor 3, also named by the environment
//! variable `CIMJOB_PROGRESS_FD=3`. It writes lines there, and reads answers as lines from the
//! same descriptor. Lines are UTF-8 and at most [`MAX_LINE`] bytes without the newline; longer
//! lines, lines that are not UTF-8 and unknown keywords are ignored with a warning (the run
//! goes on). Blank lines are ignored.
//!
//! - `progress N [text]`: N, a whole number from 0 to 100, becomes `PercentComplete`; the
//!   optional text becomes `JobStatus`.
//! - `query <text>`: the job goes to Query Pending with the text as its question; the answer
//!   (`AnswerQuery`, `cimjob answer`) comes back as one line on the same descriptor.
//!
//! ```sh
//! #!/bin/sh
//! echo "progress 10 Copying files" >&3
//! cp -r /data /backup
//! echo "query Insert volume 2, then answer ok" >&3
//! read answer <&3
//! [ "$answer" = ok ] || exit 1
//! echo "progress 100 Done" >&3
//! ```
//! Work that has nothing to report can ignore descriptor 3.
//!
//! # When the leader ends, the run ends
//! When the process we started (the group leader) exits, the runner reads the lines already
//! written to the progress descriptor, then sends SIGKILL to the rest of the group, then reaps
//! the leader and reports `Exited`. So a background process the work left behind
//! (`sleep 100 &`) dies with the run and no run leaves anything behind; work that wants a
//! process to outlive it must move it out of the group (`setsid`), and then it is not the
//! job's any more. A last line without a newline still counts; lines written by leftovers
//! after the leader's exit are lost.
//!
//! # Invariants
//! - Every child is reaped, and only by this module: it watches the leader with a pidfd
//!   (SIGCHLD where pidfd is missing) and `waitid(WNOWAIT)`, not with `tokio::process`, so the
//!   group is killed while the leader is still an unreaped zombie. Until then the leader's pid,
//!   which is the group's id, cannot be recycled, so no signal of ours reaches a stranger.
//!   This matters: with `pid_max` at 32768 and thousands of runs a second, pids wrap in seconds.
//! - The service keeps no descriptor of the work's: the work's ends of the socket and of the
//!   output pipe are closed in the service once `spawn` returns, so both report EOF when the
//!   work's group is gone, and nothing leaks per run. The output is read and written to the
//!   log before `Exited` is reported.
//! - A run's memory is bounded: one partial line, one answer being written and at most
//!   [`ANSWER_QUEUE`] queued answers.
//! - [`Runner::spawn`] needs a tokio runtime with I/O and signals enabled
//!   (`#[tokio::main]` and `Builder::enable_all` do). If that runtime shuts down while runs
//!   are going, their groups are killed and reaped.

#![warn(missing_docs)]

mod procfs;
mod protocol;
mod spawn;

use std::collections::hash_map::{Entry, HashMap};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use procfs::ExitWatch;
use protocol::{LineError, LineSplitter};

pub use cimjob_rules::run::{
    ExitOutcome, ProcessIdentity, RunAs, RunKey, RunnerEvent, WorkSignal, WorkSpec,
};

pub use protocol::MAX_LINE;

/// The descriptor number the work finds its progress socket on.
pub const PROGRESS_FD: RawFd = 3;

/// The environment variable that names [`PROGRESS_FD`] to the work, so scripts need not
/// hard-code the number.
pub const PROGRESS_FD_ENV: &str = "CIMJOB_PROGRESS_FD";

/// How many answers may wait for a work that does not read them before
/// [`Runner::answer`] refuses more.
pub const ANSWER_QUEUE: usize = 16;

/// Bytes read per wake-up before giving the run's other duties a turn.
const READ_BURST: usize = 64 * 1024;

/// Bytes read after the leader exited: what it wrote is at most a socket buffer; the cap
/// stops a leftover process that keeps writing from delaying the kill for ever.
const MAX_DRAIN: usize = 1024 * 1024;

/// Why a run could not be started. No event is sent for a run that failed to start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// `argv` was empty.
    #[error("cannot start {key}: its command line is empty")]
    EmptyCommand {
        /// The run.
        key: RunKey,
    },
    /// The engine asked for a run that is already going.
    #[error("cannot start {key}: it is already running")]
    AlreadyRunning {
        /// The run.
        key: RunKey,
    },
    /// `spawn` was called outside a tokio runtime.
    #[error("cannot start {command:?}: Runner::spawn was called outside a tokio runtime")]
    NoRuntime {
        /// `argv[0]`.
        command: String,
    },
    /// The log file (or its directory) could not be created or opened.
    #[error("cannot start {command:?}: cannot open its log file {}: {source}", path.display())]
    Log {
        /// `argv[0]`.
        command: String,
        /// [`WorkSpec::log_path`].
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The working directory is missing, not a directory or not accessible.
    #[error("cannot start {command:?} in working directory {}: {source}", path.display())]
    WorkingDirectory {
        /// `argv[0]`.
        command: String,
        /// [`WorkSpec::working_directory`].
        path: PathBuf,
        /// Why: `NotFound`, `PermissionDenied`, or ENOTDIR.
        source: io::Error,
    },
    /// The command could not be executed: not found in `PATH` (ENOENT), not executable
    /// (EACCES), not a program (ENOEXEC), an argument with a NUL byte...
    #[error("cannot run {command:?}: {source}")]
    Command {
        /// `argv[0]`.
        command: String,
        /// Why, from `execvp` (or the fork before it).
        source: io::Error,
    },
    /// The service could not set up what it needs to watch the work (socket, pidfd,
    /// `/proc`). If the command had started, its group was killed.
    #[error("cannot start {command:?}: cannot {what}: {source}")]
    Setup {
        /// `argv[0]`.
        command: String,
        /// What failed.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
}

/// Why a request about a running run was refused.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The run is unknown, has not finished starting, or has ended.
    #[error("{key} is not running")]
    NotRunning {
        /// The run.
        key: RunKey,
    },
    /// `kill(2)` failed for the run's process group.
    #[error("cannot send {signal:?} to the process group of {key}: {source}")]
    Signal {
        /// The run.
        key: RunKey,
        /// What was being sent.
        signal: WorkSignal,
        /// Why.
        source: io::Error,
    },
    /// An answer must be one line: it would arrive at the work as two.
    #[error("answer for {key} contains a newline; an answer must be one line")]
    AnswerHasNewline {
        /// The run.
        key: RunKey,
    },
    /// An answer longer than the work's line limit.
    #[error("answer for {key} is {length} bytes; at most {max} are allowed")]
    AnswerTooLong {
        /// The run.
        key: RunKey,
        /// The answer's length in bytes.
        length: usize,
        /// [`MAX_LINE`].
        max: usize,
    },
    /// The work has not read the answers already given.
    #[error("{key} has not read its last {queued} answers; refusing more")]
    AnswerBacklog {
        /// The run.
        key: RunKey,
        /// [`ANSWER_QUEUE`].
        queued: usize,
    },
}

/// Starts runs as process groups and reports on them. Cheap to clone (one `Arc`); all clones
/// share the same runs and event channel.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use cimjob_runner::{Runner, RunnerEvent, RunKey, WorkSpec};
/// let (events, mut reports) = tokio::sync::mpsc::unbounded_channel();
/// let runner = Runner::new(events);
/// let key = RunKey { job: 7, run: 1 };
/// let script = "echo 'progress 50 Half way' >&3; echo hello";
/// let identity = runner.spawn(key, &WorkSpec::new(["sh", "-c", script], "/tmp/7-1.log"))?;
/// // Store `identity` durably, so a restarted service can kill an orphan.
/// while let Some((key, event)) = reports.recv().await {
///     match event {
///         RunnerEvent::Progress { percent, text } => println!("{key}: {percent}% {text:?}"),
///         RunnerEvent::Query { text } => runner.answer(key, "yes")?,
///         RunnerEvent::Exited(outcome) => break,
///         // only from a supervisor that died; a runner in this process never loses a run
///         RunnerEvent::Lost { reason } => break,
///         // only for runs begun with `runner.start(…)`, which does not block
///         RunnerEvent::Started { result, at } => println!("{key} started: {result:?} at {at:?}"),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    events: mpsc::UnboundedSender<(RunKey, RunnerEvent)>,
    runs: Mutex<HashMap<RunKey, Slot>>,
    /// The queues of [`Runner::start`]'s threads, made by the first call.
    starters: OnceLock<Vec<std::sync::mpsc::Sender<StarterWork>>>,
    /// Set by [`Runner::stop`]: no more runs start, and one that was starting is killed.
    stopping: std::sync::atomic::AtomicBool,
}

enum Slot {
    /// Reserved by a `spawn` still in progress.
    Starting,
    Running(RunHandle),
}

struct RunHandle {
    /// The leader's pid, which is the group's id. Valid while the slot exists: the run's task
    /// removes the slot before it reaps the leader.
    group: Pid,
    answers: mpsc::Sender<Vec<u8>>,
}

impl Inner {
    fn runs(&self) -> MutexGuard<'_, HashMap<RunKey, Slot>> {
        // Nothing panics while holding the lock; if something did, the map is still sound.
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("running", &self.running())
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner that reports every run's events, tagged with its [`RunKey`], on `events`.
    /// If the receiver is dropped, runs still go on and are still reaped; their events are lost.
    pub fn new(events: mpsc::UnboundedSender<(RunKey, RunnerEvent)>) -> Runner {
        Runner {
            inner: Arc::new(Inner {
                events,
                runs: Mutex::new(HashMap::new()),
                starters: OnceLock::new(),
                stopping: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Starts a run. Returns once the command was executed (so a missing command is an
    /// error here, not an event), with the identity to store for [`kill_orphan`].
    ///
    /// Must be called inside a tokio runtime with I/O and signals enabled. It blocks for as
    /// long as `posix_spawnp` takes (no fork: see the `spawn` module).
    pub fn spawn(&self, key: RunKey, spec: &WorkSpec) -> Result<ProcessIdentity, SpawnError> {
        self.spawn_then(key, spec, |_, _| {})
    }

    /// Starts a run without blocking the caller: the work is started on the runner's own
    /// thread, in the order asked, and the outcome arrives as [`RunnerEvent::Started`],
    /// before any other event of the run. `posix_spawnp` waits for the child's `exec`, which
    /// costs hundreds of microseconds; a scheduler that starts many jobs at once must not
    /// spend that time on its own thread.
    ///
    /// A `not_before` in the future holds the start until that instant, measured with the
    /// thread's own precise sleep (tokio's timers tick in milliseconds); later starts sent to
    /// the same thread wait behind it.
    ///
    /// Must be called inside a tokio runtime with I/O and signals enabled.
    pub fn start(&self, key: RunKey, spec: WorkSpec, not_before: Option<std::time::SystemTime>) {
        let starters = self.inner.starters.get_or_init(|| {
            let runtime = tokio::runtime::Handle::current();
            (0..STARTER_THREADS)
                .map(|_| start_thread(Arc::downgrade(&self.inner), runtime.clone()))
                .collect()
        });
        // one thread per job, so a job's runs start in the order asked
        let starter = &starters[(key.job % STARTER_THREADS as u64) as usize];
        let work = StarterWork {
            key,
            spec,
            not_before,
        };
        if starter.send(work).is_err() {
            self.report(
                key,
                Err("the runner's start thread has ended".into()),
                std::time::SystemTime::now(),
            );
        }
    }

    fn report(
        &self,
        key: RunKey,
        result: Result<ProcessIdentity, String>,
        at: std::time::SystemTime,
    ) {
        let _ = self
            .inner
            .events
            .send((key, RunnerEvent::Started { result, at }));
    }

    /// [`Runner::spawn`], calling `started_hook` with the identity and the moment the exec
    /// succeeded once the work runs, and before its task can report anything.
    fn spawn_then(
        &self,
        key: RunKey,
        spec: &WorkSpec,
        started_hook: impl FnOnce(&ProcessIdentity, std::time::SystemTime),
    ) -> Result<ProcessIdentity, SpawnError> {
        let Some(program) = spec.argv.first() else {
            return Err(SpawnError::EmptyCommand { key });
        };
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SpawnError::NoRuntime {
            command: program.clone(),
        })?;
        let mut run = Run::reserve(&self.inner, key)?;
        let started = start(spec, &mut run)?;
        let (answers, answers_rx) = mpsc::channel(ANSWER_QUEUE);
        {
            let mut runs = self.inner.runs();
            if let Some(slot) = runs.get_mut(&key) {
                *slot = Slot::Running(RunHandle {
                    group: started.leader,
                    answers,
                });
            }
            // under the lock `stop` takes: either it saw this run, or this sees it stopping
            if self.stopping() {
                let _ = killpg(started.leader, Signal::SIGKILL);
            }
        }
        let identity = started.identity;
        started_hook(&identity, started.exec_done);
        runtime.spawn(supervise(run, started, answers_rx));
        Ok(identity)
    }

    /// Stops the runner for good, when the service stops: starts not yet begun are refused
    /// (reported as failed), a start under way is killed as soon as its group exists, and
    /// every running group gets SIGKILL. Their tasks still reap them.
    pub fn stop(&self) {
        self.inner
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for slot in self.inner.runs().values() {
            if let Slot::Running(run) = slot {
                let _ = killpg(run.group, Signal::SIGKILL);
            }
        }
    }

    fn stopping(&self) -> bool {
        self.inner
            .stopping
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sends `signal` to the run's whole process group.
    ///
    /// ```no_run
    /// # use cimjob_runner::{Runner, RunKey, WorkSignal};
    /// # fn suspend(runner: &Runner) -> Result<(), Box<dyn std::error::Error>> {
    /// runner.signal(RunKey { job: 7, run: 1 }, WorkSignal::Stop)?; // Suspend
    /// runner.signal(RunKey { job: 7, run: 1 }, WorkSignal::Continue)?; // Start again
    /// # Ok(()) }
    /// ```
    pub fn signal(&self, key: RunKey, signal: WorkSignal) -> Result<(), RunnerError> {
        let runs = self.inner.runs();
        // Signalling under the lock: the run's task cannot reap the leader meanwhile.
        let Some(Slot::Running(run)) = runs.get(&key) else {
            return Err(RunnerError::NotRunning { key });
        };
        let send = |sig: Signal| {
            killpg(run.group, sig).map_err(|errno| RunnerError::Signal {
                key,
                signal,
                source: io::Error::from(errno),
            })
        };
        match signal {
            WorkSignal::Stop => send(Signal::SIGSTOP),
            WorkSignal::Continue => send(Signal::SIGCONT),
            WorkSignal::Terminate => {
                send(Signal::SIGTERM)?;
                send(Signal::SIGCONT)
            }
            WorkSignal::Kill => send(Signal::SIGKILL),
        }
    }

    /// Writes `text` and a newline to the run's progress descriptor, where the work reads
    /// the answer to its `query`. The write itself happens in the run's task, so this never
    /// blocks; answers are delivered in order.
    pub fn answer(&self, key: RunKey, text: &str) -> Result<(), RunnerError> {
        if text.contains('\n') {
            return Err(RunnerError::AnswerHasNewline { key });
        }
        if text.len() > MAX_LINE {
            return Err(RunnerError::AnswerTooLong {
                key,
                length: text.len(),
                max: MAX_LINE,
            });
        }
        let runs = self.inner.runs();
        let Some(Slot::Running(run)) = runs.get(&key) else {
            return Err(RunnerError::NotRunning { key });
        };
        let mut line = Vec::with_capacity(text.len() + 1);
        line.extend_from_slice(text.as_bytes());
        line.push(b'\n');
        run.answers.try_send(line).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => RunnerError::AnswerBacklog {
                key,
                queued: ANSWER_QUEUE,
            },
            mpsc::error::TrySendError::Closed(_) => RunnerError::NotRunning { key },
        })
    }

    /// How many runs have started (or are starting) and not yet reported `Exited`.
    pub fn running(&self) -> usize {
        self.inner.runs().len()
    }
}

/// At start-up, kills (SIGKILL to the group) a process group left by a service that died,
/// if and only if `/proc/<pid>/stat` still shows the same `start_ticks`, so a recycled pid
/// is never hit. Returns true if it killed something.
///
/// If the leader has already ended, its identity cannot be checked and nothing is killed,
/// even if other members of its group are left.
///
/// ```no_run
/// # use cimjob_runner::{kill_orphan, ProcessIdentity};
/// # let stored = ProcessIdentity { pid: 4242, start_ticks: 987654 };
/// if kill_orphan(stored) {
///     // The run was still going when the service died; RecoveryAction decides what next.
/// }
/// ```
pub fn kill_orphan(identity: ProcessIdentity) -> bool {
    procfs::kill_orphan(identity)
}

/// Deletes run logs of a job that is gone, so its output does not outlive it. A log that does
/// not exist (the run wrote nothing) is not an error; any other failure is logged and the
/// rest are still deleted. Returns how many files were deleted.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let written = dir.path().join("7-run-1.log");
/// std::fs::write(&written, "output\n").unwrap();
/// let silent = dir.path().join("7-run-2.log"); // a run that wrote nothing has no file
/// assert_eq!(cimjob_runner::remove_logs(&[written.clone(), silent]), 1);
/// assert!(!written.exists());
/// ```
pub fn remove_logs(paths: &[PathBuf]) -> usize {
    let mut removed = 0;
    for path in paths {
        match std::fs::remove_file(path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(log = %path.display(), error = %e, "run log not deleted"),
        }
    }
    removed
}

/// The one-letter state of a process from `/proc/<pid>/stat` (`'R'` running, `'S'`
/// sleeping, `'T'` stopped, `'Z'` zombie...), `None` if there is no such process. Lets the
/// engine and tests see that a Suspend really stopped the work.
///
/// A stopped group's leader is not always `'T'`: if the SIGSTOP caught it starting a child
/// (shells such as dash use vfork), the child is `'T'` before its exec and the leader waits
/// for it in `'D'` until the group is continued.
pub fn process_state(pid: u32) -> Option<char> {
    procfs::read_stat(pid).map(|stat| stat.state)
}

/// The identity of a live process, as [`Runner::spawn`] returns it for the processes it
/// starts; `None` if there is no such process.
pub fn process_identity(pid: u32) -> Option<ProcessIdentity> {
    procfs::read_stat(pid).map(|stat| ProcessIdentity {
        pid,
        start_ticks: stat.start_ticks,
    })
}

/// Threads that start runs for [`Runner::start`]. A start holds its thread until the child's
/// `exec` is done (`posix_spawn` waits for it), which on a loaded machine can take a
/// millisecond or more; four threads keep one slow exec from delaying the next due starts.
/// A thread waiting for an exec uses no CPU.
const STARTER_THREADS: usize = 4;

/// A run for a start thread to start, not before the instant if one is given.
struct StarterWork {
    key: RunKey,
    spec: WorkSpec,
    not_before: Option<std::time::SystemTime>,
}

/// A thread that starts the runs sent to it, reporting each as [`RunnerEvent::Started`].
/// It holds the runner weakly: it ends when the last [`Runner`] goes and its queue closes.
fn start_thread(
    inner: std::sync::Weak<Inner>,
    runtime: tokio::runtime::Handle,
) -> std::sync::mpsc::Sender<StarterWork> {
    let (tx, rx) = std::sync::mpsc::channel::<StarterWork>();
    std::thread::Builder::new()
        .name("cimjob-starter".into())
        .spawn(move || {
            let _entered = runtime.enter();
            while let Ok(StarterWork {
                key,
                spec,
                not_before,
            }) = rx.recv()
            {
                if let Some(wait) =
                    not_before.and_then(|t| t.duration_since(std::time::SystemTime::now()).ok())
                {
                    std::thread::sleep(wait);
                }
                let Some(inner) = inner.upgrade() else { break };
                let runner = Runner { inner };
                if runner.stopping() {
                    runner.report(
                        key,
                        Err("the service is stopping".into()),
                        std::time::SystemTime::now(),
                    );
                    continue;
                }
                let result = runner.spawn_then(key, &spec, |identity, at| {
                    runner.report(key, Ok(*identity), at);
                });
                if let Err(error) = result {
                    runner.report(key, Err(error.to_string()), std::time::SystemTime::now());
                }
            }
        })
        .expect("the runner's start thread");
    tx
}

/// One run's claim on its slot in the map and on its leader. Dropping it (an early return in
/// `spawn`, or the task dropped because the runtime shuts down) frees the slot and kills and
/// reaps the group, so nothing leaks on any path.
struct Run {
    inner: Arc<Inner>,
    key: RunKey,
    registered: bool,
    /// Set once the leader exists and until it is reaped.
    leader: Option<Pid>,
}

impl Run {
    fn reserve(inner: &Arc<Inner>, key: RunKey) -> Result<Run, SpawnError> {
        match inner.runs().entry(key) {
            Entry::Occupied(_) => return Err(SpawnError::AlreadyRunning { key }),
            Entry::Vacant(slot) => {
                slot.insert(Slot::Starting);
            }
        }
        Ok(Run {
            inner: Arc::clone(inner),
            key,
            registered: true,
            leader: None,
        })
    }

    fn forget(&mut self) {
        if std::mem::take(&mut self.registered) {
            self.inner.runs().remove(&self.key);
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // Slot first: once it is gone nobody else signals the group.
        self.forget();
        if let Some(leader) = self.leader.take() {
            procfs::kill_and_reap_later(leader);
        }
    }
}

/// A started run, handed from `spawn` to its task.
struct Started {
    leader: Pid,
    identity: ProcessIdentity,
    progress: UnixStream,
    exit: ExitWatch,
    /// The read end of the work's stdout and stderr.
    output: tokio::net::unix::pipe::Receiver,
    /// When `posix_spawn` returned: the work's exec had succeeded.
    exec_done: std::time::SystemTime,
    log_path: PathBuf,
    /// Who the log belongs to, if not the service's account.
    log_owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
}

/// The argv to spawn: the work's own, or through the privilege-dropping helper when it must
/// run as another account.
fn argv_as(spec: &WorkSpec) -> io::Result<std::borrow::Cow<'_, [String]>> {
    let Some(run_as) = &spec.run_as else {
        return Ok(std::borrow::Cow::Borrowed(&spec.argv));
    };
    let account = nix::unistd::User::from_name(&run_as.user)
        .map_err(io::Error::from)?
        .ok_or_else(|| io::Error::other(format!("there is no OS account {:?}", run_as.user)))?;
    let euid = nix::unistd::geteuid();
    if account.uid == euid {
        return Ok(std::borrow::Cow::Borrowed(&spec.argv));
    }
    if !euid.is_root() {
        return Err(io::Error::other(format!(
            "only a root service can run work as {:?}",
            run_as.user
        )));
    }
    let mut argv = vec![
        run_as.helper.display().to_string(),
        "internal-exec-as".into(),
        run_as.user.clone(),
        "--".into(),
    ];
    argv.extend(spec.argv.iter().cloned());
    Ok(std::borrow::Cow::Owned(argv))
}

fn start(spec: &WorkSpec, run: &mut Run) -> Result<Started, SpawnError> {
    let program = &spec.argv[0];
    let setup = |what: &'static str| {
        move |source: io::Error| SpawnError::Setup {
            command: program.clone(),
            what,
            source,
        }
    };
    let log_error = |source| SpawnError::Log {
        command: program.clone(),
        path: spec.log_path.clone(),
        source,
    };
    // The directory is made now, so a log that can never be written fails the start; the
    // file itself comes with the first output.
    if let Some(parent) = spec.log_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(log_error)?;
    }
    let (output_read, output_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| setup("create the output pipe")(io::Error::from(e)))?;
    if let Some(dir) = &spec.working_directory {
        // Checked here because exec reports a bad directory and a missing command alike.
        check_directory(dir).map_err(|source| SpawnError::WorkingDirectory {
            command: program.clone(),
            path: dir.clone(),
            source,
        })?;
    }
    let (ours, theirs) =
        std::os::unix::net::UnixStream::pair().map_err(setup("create the progress socket"))?;
    // If the service runs with stdin, stdout or stderr closed, the socket may have got one of
    // those numbers, which the child's own stdio would overwrite: move it to 3 or above.
    // (Holding both ends also keeps descriptor 3 taken while spawn runs, so std's private
    // exec-error pipe can never be 3 and be clobbered by our dup2.)
    // (It must not be 3 itself either: the spawn copies it onto 3, and a copy onto itself
    // would keep its close-on-exec flag.)
    let theirs = if theirs.as_raw_fd() <= 2 || theirs.as_raw_fd() == PROGRESS_FD {
        theirs
            .try_clone()
            .map_err(setup("create the progress socket"))?
    } else {
        theirs
    };
    let their_fd = theirs.as_raw_fd();

    let environment: Vec<(std::ffi::OsString, std::ffi::OsString)> = spec
        .environment
        .iter()
        .map(|(name, value)| (name.into(), value.into()))
        .chain([(PROGRESS_FD_ENV.into(), PROGRESS_FD.to_string().into())])
        .collect();
    let argv = argv_as(spec).map_err(setup("run the work as its owner's OS account"))?;
    let ticks_before = procfs::boot_ticks();
    let leader = spawn::spawn(&spawn::SpawnRequest {
        argv: &argv,
        environment,
        working_directory: spec.working_directory.as_deref(),
        output: output_write.as_raw_fd(),
        progress: their_fd,
        progress_target: PROGRESS_FD,
    })
    .map_err(|source| SpawnError::Command {
        command: program.clone(),
        source,
    })?;
    let exec_done = std::time::SystemTime::now();
    let ticks_after = procfs::boot_ticks();
    run.leader = Some(leader);
    // Close the service's copies of the work's ends of the socket and of the pipe: both must
    // see EOF when the work's group is gone, and no descriptor may outlive the run. The run's
    // task reaps the leader.
    drop(theirs);
    drop(output_write);

    // The start tick is known without reading /proc when the spawn did not cross one (a
    // tick is 10 ms; a spawn takes well under one).
    let start_ticks = if let Some(tick) = ticks_before.filter(|&t| ticks_after == Some(t)) {
        tick
    } else {
        procfs::read_stat(child_id(leader))
            .ok_or_else(|| {
                setup("read the new process's /proc/<pid>/stat")(io::ErrorKind::NotFound.into())
            })?
            .start_ticks
    };
    let exit = ExitWatch::new(leader).map_err(setup("watch the new process for its exit"))?;
    ours.set_nonblocking(true)
        .map_err(setup("register the progress socket"))?;
    let progress = UnixStream::from_std(ours).map_err(setup("register the progress socket"))?;
    let output = tokio::net::unix::pipe::Receiver::from_owned_fd(output_read)
        .map_err(setup("register the output pipe"))?;
    Ok(Started {
        exec_done,
        output,
        log_path: spec.log_path.clone(),
        log_owner: log_owner(spec),
        leader,
        identity: ProcessIdentity {
            pid: child_id(leader),
            start_ticks,
        },
        progress,
        exit,
    })
}

fn child_id(pid: Pid) -> u32 {
    pid.as_raw().unsigned_abs()
}

/// Opens the run's log for appending, creating it; a log of work run as another account is
/// that account's, so its owner can read it without the service.
fn open_log(path: &Path, owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>) -> io::Result<File> {
    if let Some(parent) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)?;
    if let Some((uid, gid)) = owner {
        nix::unistd::fchown(&file, Some(uid), Some(gid)).map_err(io::Error::from)?;
    }
    Ok(file)
}

/// The account a run's log belongs to: the one the work runs as, when it is not the
/// service's (only a root service runs work as another account).
fn log_owner(spec: &WorkSpec) -> Option<(nix::unistd::Uid, nix::unistd::Gid)> {
    let user = nix::unistd::User::from_name(&spec.run_as.as_ref()?.user).ok()??;
    (user.uid != nix::unistd::geteuid()).then_some((user.uid, user.gid))
}

fn check_directory(dir: &Path) -> io::Result<()> {
    if std::fs::metadata(dir)?.is_dir() {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(nix::libc::ENOTDIR))
    }
}

/// The run's task: forwards lines, writes answers, and when the leader exits drains, kills
/// the group, reaps the leader and reports `Exited`, in that order.
async fn supervise(mut run: Run, started: Started, mut answers: mpsc::Receiver<Vec<u8>>) {
    let Started {
        leader,
        progress,
        mut exit,
        output,
        log_path,
        log_owner,
        ..
    } = started;
    let key = run.key;
    let mut log = OutputCopier {
        key,
        path: log_path,
        owner: log_owner,
        file: None,
        closed: false,
        discarding: false,
    };
    let mut reader = ProgressReader {
        key,
        events: run.inner.events.clone(),
        lines: LineSplitter::default(),
        closed: false,
    };
    let mut answer: Vec<u8> = Vec::new();
    let mut written = 0;
    let mut can_write = true;
    let mut answers_open = true;
    loop {
        tokio::select! {
            () = exit.exited(leader) => break,
            ready = progress.readable(), if !reader.closed => match ready {
                Ok(()) => reader.read_available(READ_BURST, |buf| progress.try_read(buf)),
                Err(error) => reader.fail(&error),
            },
            ready = output.readable(), if !log.closed => match ready {
                Ok(()) => log.copy_available(READ_BURST, |buf| output.try_read(buf)),
                Err(error) => log.fail(&error),
            },
            next = answers.recv(), if answers_open && answer.is_empty() => match next {
                Some(line) if can_write => {
                    answer = line;
                    written = 0;
                }
                Some(_) => tracing::warn!(
                    job = key.job, run = key.run,
                    "dropped an answer: the work has closed its progress descriptor"
                ),
                // Not while the slot holds the sender; if it ever did, the arm must not spin.
                None => answers_open = false,
            },
            ready = progress.writable(), if can_write && !answer.is_empty() => {
                match ready.and_then(|()| progress.try_write(&answer[written..])) {
                    Ok(n) => {
                        written += n;
                        if written == answer.len() {
                            answer = Vec::new();
                        }
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) => {
                        tracing::warn!(
                            job = key.job, run = key.run, %error,
                            "cannot write an answer to the work; dropping it"
                        );
                        can_write = false;
                        answer = Vec::new();
                    }
                }
            }
        }
    }
    // Read with plain syscalls: tokio's cached readiness may not yet know about the last
    // bytes the leader wrote.
    reader.read_available(MAX_DRAIN, |buf| {
        nix::unistd::read(progress.as_fd(), buf).map_err(io::Error::from)
    });
    log.copy_available(MAX_DRAIN, |buf| {
        nix::unistd::read(output.as_fd(), buf).map_err(io::Error::from)
    });
    let _ = killpg(leader, Signal::SIGKILL);
    // Nothing in the group can finish a partial line now. (EOF may still be far off: a
    // fork in another thread of the service briefly holds a copy of the work's end.)
    reader.finish();
    run.forget();
    let outcome = procfs::reap(leader);
    run.leader = None;
    // Everything of the run is closed (its output written) before it is reported over.
    drop((progress, output, log, exit, answers));
    let _ = run.inner.events.send((key, RunnerEvent::Exited(outcome)));
}

/// Turns the bytes from the progress socket into events.
struct ProgressReader {
    key: RunKey,
    events: mpsc::UnboundedSender<(RunKey, RunnerEvent)>,
    lines: LineSplitter,
    /// EOF or an error: nothing more will come.
    closed: bool,
}

impl ProgressReader {
    /// Reads until the socket would block, is closed, or `limit` bytes were read.
    fn read_available(&mut self, limit: usize, read: impl FnMut(&mut [u8]) -> io::Result<usize>) {
        if self.closed {
            return;
        }
        let (key, events, lines) = (self.key, &self.events, &mut self.lines);
        match read_burst(limit, read, |chunk| {
            lines.push(chunk, &mut |line| forward(key, events, line))
        }) {
            Burst::More => {}
            Burst::End => self.finish(),
            Burst::Failed(error) => self.fail(&error),
        }
    }

    /// No more bytes will be read: a last line without a newline still counts.
    fn finish(&mut self) {
        if !std::mem::replace(&mut self.closed, true) {
            let (key, events) = (self.key, &self.events);
            self.lines.finish(&mut |line| forward(key, events, line));
        }
    }

    fn fail(&mut self, error: &io::Error) {
        tracing::warn!(
            job = self.key.job, run = self.key.run, %error,
            "cannot read the progress descriptor"
        );
        self.closed = true;
    }
}

/// What a burst of reads came to.
enum Burst {
    /// More may come.
    More,
    /// End of file.
    End,
    /// A read failed.
    Failed(io::Error),
}

/// Reads until `read` would block, `limit` bytes were read, or the end, handing each chunk
/// to `take`: one loop for the progress socket and the output pipe.
fn read_burst(
    limit: usize,
    mut read: impl FnMut(&mut [u8]) -> io::Result<usize>,
    mut take: impl FnMut(&[u8]),
) -> Burst {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    while total < limit {
        match read(&mut buf) {
            Ok(0) => return Burst::End,
            Ok(n) => {
                total += n;
                take(&buf[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Burst::More,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Burst::Failed(error),
        }
    }
    Burst::More
}

/// Appends the work's output to the run's log, creating the file with the first byte.
struct OutputCopier {
    key: RunKey,
    path: PathBuf,
    owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
    file: Option<File>,
    /// EOF, or an error reading: nothing more comes.
    closed: bool,
    /// The log could not be written: output is still read (so the work never blocks on a
    /// full pipe) but thrown away.
    discarding: bool,
}

impl OutputCopier {
    /// Copies what can be read now (at most `limit` bytes).
    fn copy_available(&mut self, limit: usize, read: impl FnMut(&mut [u8]) -> io::Result<usize>) {
        if self.closed {
            return;
        }
        let mut failure = None;
        let (path, owner, file, discarding) =
            (&self.path, self.owner, &mut self.file, self.discarding);
        let burst = read_burst(limit, read, |chunk| {
            if discarding || failure.is_some() {
                return;
            }
            let written = match file {
                Some(f) => f.write_all(chunk),
                None => open_log(path, owner).and_then(|f| file.insert(f).write_all(chunk)),
            };
            if let Err(error) = written {
                failure = Some(error);
            }
        });
        if let Some(error) = failure {
            tracing::warn!(
                job = self.key.job, run = self.key.run, path = %self.path.display(), %error,
                "cannot write the run's log; its further output is discarded"
            );
            self.discarding = true;
        }
        match burst {
            Burst::More => {}
            Burst::End => self.closed = true,
            Burst::Failed(error) => self.fail(&error),
        }
    }

    fn fail(&mut self, error: &io::Error) {
        tracing::warn!(
            job = self.key.job, run = self.key.run, %error,
            "cannot read the work's output"
        );
        self.closed = true;
    }
}

/// Sends the event a line stands for, or says why the line was ignored.
fn forward(
    key: RunKey,
    events: &mpsc::UnboundedSender<(RunKey, RunnerEvent)>,
    line: Result<&[u8], LineError>,
) {
    match line.and_then(protocol::parse_line) {
        Ok(Some(event)) => {
            let _ = events.send((key, event));
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(
            job = key.job, run = key.run, %error,
            "ignored a line on the progress descriptor"
        ),
    }
}
