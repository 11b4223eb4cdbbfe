//! The plain data of a run: which run ([`RunKey`]), what it runs ([`WorkSpec`]), the OS
//! identity of its process group, how it ended, and what it reports ([`RunnerEvent`]).
//!
//! The rules decide with these and the runner carries them out; keeping them here, free of
//! any process or async library, lets both sides share one definition while the rules stay
//! pure.

use std::fmt;
use std::path::PathBuf;

/// What to run: one run of one job.
///
/// ```
/// use cimjob_rules::run::WorkSpec;
/// let spec = WorkSpec {
///     environment: vec![("TAPE".into(), "/dev/nst0".into())],
///     working_directory: Some("/var/backups".into()),
///     ..WorkSpec::new(["tar", "-cf", "/dev/nst0", "."], "/var/log/cimjob/7/1.log")
/// };
/// assert_eq!(spec.argv[0], "tar");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkSpec {
    /// The command and its arguments; `argv[0]` is looked up in `PATH` like `execvp` does
    /// (the `PATH` in [`WorkSpec::environment`] if it sets one).
    pub argv: Vec<String>,
    /// Where the work starts; the service's own working directory if `None`.
    pub working_directory: Option<PathBuf>,
    /// Added to (not replacing) the service's environment; a later pair wins over an earlier
    /// one. The runner always adds `CIMJOB_PROGRESS_FD`.
    pub environment: Vec<(String, String)>,
    /// The run's output: stdout and stderr are both appended here, as the work writes them.
    /// The file is created (mode 0640 less any umask bits) when the first byte comes; missing
    /// parent directories are created when the run starts.
    pub log_path: PathBuf,
    /// The OS account to run as, if not the service's own.
    pub run_as: Option<RunAs>,
}

/// Running a job as another OS account: `posix_spawn` cannot change the user, so the work is
/// started through `helper` (the service's own binary, `helper internal-exec-as USER --
/// ARGV…`), which calls initgroups, setgid and setuid and then execs the command, in the same
/// process group with the same descriptors. Only a root service may do this.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunAs {
    /// The account name.
    pub user: String,
    /// The program that drops to it before exec.
    pub helper: PathBuf,
}

impl WorkSpec {
    /// A spec with no working directory and no extra environment.
    pub fn new<I, S>(argv: I, log_path: impl Into<PathBuf>) -> WorkSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        WorkSpec {
            argv: argv.into_iter().map(Into::into).collect(),
            working_directory: None,
            environment: Vec::new(),
            log_path: log_path.into(),
            run_as: None,
        }
    }
}

/// What the holders of runs (the supervisors) still hold when a node starts, for
/// [`Core::recover`](crate::core::Core::recover).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// The runs held: running, being started, or ended with their end still to be told.
    pub runs: std::collections::BTreeSet<RunKey>,
    /// Whether every holder a start may have been sent to answered. Then a run being
    /// started that none holds never reached one: it never began, and is started again.
    /// Otherwise (a holder is gone, as when the machine restarted) it may have begun, and is
    /// lost like a running one.
    pub complete: bool,
}

/// Identifies one run: the job's local id and the run number, so a recurring job's runs
/// are never mistaken for each other, even in events that arrive late.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct RunKey {
    /// The job's LocalID (as in `CIMJOB:<LocalID>`).
    pub job: u64,
    /// Which run of the job, counted from 1 (`RunCount`).
    pub run: u32,
}

impl fmt::Display for RunKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {} run {}", self.job, self.run)
    }
}

/// The OS identity of a started process group, kept in the store so that a restarted
/// service can find and kill an orphan (the runner's `kill_orphan`). A pid alone is not enough:
/// pids are recycled, the pair (pid, start time) is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessIdentity {
    /// The group leader's pid, which is also the process-group id.
    pub pid: u32,
    /// When the leader started, in clock ticks since boot: field 22 (`starttime`) of
    /// `/proc/<pid>/stat`.
    pub start_ticks: u64,
}

/// What a run reports, tagged with its [`RunKey`] on the channel the runner reports on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RunnerEvent {
    /// From a line `progress N [text]`: becomes PercentComplete and, with text, JobStatus.
    Progress {
        /// 0 to 100.
        percent: u16,
        /// The rest of the line, trimmed; `None` if there was none.
        text: Option<String>,
    },
    /// From a line `query <text>`: the work waits for an answer (the core's `Action::Answer`).
    Query {
        /// The question, trimmed (may be empty).
        text: String,
    },
    /// The leader ended and was reaped, and the rest of its group was killed. Always the
    /// last event of a run, after all its `Progress` and `Query` events.
    Exited(ExitOutcome),
    /// Whoever held the run is gone (its supervisor died): nothing more will come of it, and
    /// what is left of its group must be killed.
    Lost {
        /// Why, for ErrorDescription.
        reason: String,
    },
    /// The answer to a start (the core's `Action::Spawn`): the run's first event, and its only one if the
    /// start failed (the error's message).
    Started {
        /// The identity to store, so a restart can tell an orphan from a recycled pid, or why the run could not start.
        result: Result<ProcessIdentity, String>,
        /// When the work's exec succeeded, or the start was found impossible.
        at: std::time::SystemTime,
    },
}

/// How the leader of a run ended, as `waitpid` told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExitOutcome {
    /// It exited with this status (0 to 255), or with [`ExitOutcome::LOST`].
    Exited(i32),
    /// It was killed by this signal number (9 for SIGKILL, 15 for SIGTERM...).
    Signaled(i32),
}

impl ExitOutcome {
    /// Reported when the status was lost because something else in the service reaped our
    /// child (SIGCHLD set to ignored, or a `waitpid(-1)` elsewhere): -1, which no process
    /// can exit with, so it reads as a failure and is never mistaken for a real status.
    pub const LOST: ExitOutcome = ExitOutcome::Exited(-1);

    /// True for exit status 0, the only outcome that completes a job OK.
    pub fn success(self) -> bool {
        self == ExitOutcome::Exited(0)
    }
}

/// A signal for a run's whole process group: how Suspend, Start (resume), Terminate and Kill
/// reach the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WorkSignal {
    /// SIGSTOP: Suspend. Cannot be caught, so the work is held at once.
    Stop,
    /// SIGCONT: resume a suspended run.
    Continue,
    /// SIGTERM, then SIGCONT, so that a stopped group can act on the TERM: the polite
    /// Terminate, which the work may catch to clean up (or ignore; then follow with `Kill`).
    Terminate,
    /// SIGKILL: Kill, or the end of Terminate's timeout.
    Kill,
}

/// The conventional name of a Linux signal number (SIGTERM for 15…), for error descriptions
/// a reader can act on; "unknown signal" for a number Linux does not define.
///
/// ```
/// assert_eq!(cimjob_rules::run::signal_name(9), "SIGKILL");
/// assert_eq!(cimjob_rules::run::signal_name(99), "unknown signal");
/// ```
pub fn signal_name(signal: i32) -> &'static str {
    // Linux's numbering on every architecture we build for (x86_64, aarch64, riscv64).
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(signal)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("unknown signal")
}
