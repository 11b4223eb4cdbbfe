//! The job store: the source of truth that a restart (or, later, another node) rebuilds from.
//!
//! The engine keeps every job in memory and sends each change here as a [`Batch`]; it
//! acknowledges the change to the client and announces it only once the batch's
//! [`CommitTicket`] resolves, that is once the transaction that holds it is durable.
//!
//! # Code map
//! - this module: the backend-neutral contract — [`Store`], [`Batch`], the records, the errors.
//! - [`sqlite`]: [`SqliteStore`](sqlite::SqliteStore), one file in WAL mode with a single writer
//!   thread that group-commits.
//! - `migrations` (private): the versioned schema, in plain SQL that PostgreSQL accepts too.
//!
//! # What must stay true
//! - The store does not know what a job looks like: a job is an opaque JSON document plus the
//!   few columns ([`JobRecord`]) that queries need. Only the engine interprets documents.
//! - Nothing in this module names a database library; a backend's own errors travel boxed
//!   inside [`StoreError::Database`].
//! - Batches take effect, and their tickets resolve, in the order they were submitted.
//! - The LocalID high-water mark never goes down, so a LocalID is never handed out twice.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

mod migrations;
pub mod sqlite;

/// One job as stored: the whole job as JSON, plus the columns the store must be able to search
/// and sort on without parsing JSON.
///
/// The indexed columns duplicate fields of `document`; the engine keeps them in step.
///
/// ```
/// use cimjob_core::store::JobRecord;
/// let job = JobRecord {
///     local_id: 7,
///     job_state: 2, // New
///     priority: 0,
///     owner: "alice".into(),
///     document: r#"{"Name":"backup"}"#.into(),
/// };
/// assert_eq!(job.local_id, 7);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    /// The job's LocalID, the number in its InstanceID `CIMJOB:<LocalID>`; never reused.
    /// The store keeps integers as signed 64-bit, so values above `i64::MAX` are refused.
    pub local_id: u64,
    /// The job's JobState value (e.g. 4 = Running), so a starting node can find what was running.
    pub job_state: u16,
    /// Lower runs first; kept as a column so runnable jobs can be claimed in order.
    pub priority: u32,
    /// The authenticated user who submitted the job; kept as a column for per-user listing.
    pub owner: String,
    /// JSON of the whole job. Must not be empty.
    pub document: String,
}

/// One run of a job, for the run history that a recurring job accumulates.
///
/// Times are kept to the microsecond; anything finer is dropped when stored.
///
/// ```
/// use cimjob_core::store::RunRecord;
/// let run = RunRecord {
///     local_id: 7,
///     run_number: 1,
///     started_at: "2025-01-02T03:04:05Z".parse().unwrap(),
///     ended_at: None,
///     exit_status: None,
///     signal: None,
///     error_code: 0,
///     error_description: None,
///     final_state: None,
/// };
/// assert!(run.ended_at.is_none()); // still running
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// The job this run belongs to; the job must exist when the run is written.
    pub local_id: u64,
    /// 1 for the first run, counting up; `(local_id, run_number)` identifies the run.
    pub run_number: u32,
    /// When the run started.
    pub started_at: jiff::Timestamp,
    /// When the run ended; `None` while it is going.
    pub ended_at: Option<jiff::Timestamp>,
    /// The process's exit status, when it exited.
    pub exit_status: Option<i32>,
    /// The signal that ended the process, when one did.
    pub signal: Option<i32>,
    /// The job's ErrorCode for this run (0 = no error).
    pub error_code: u16,
    /// The job's ErrorDescription for this run.
    pub error_description: Option<String>,
    /// The JobState the run ended in; `None` while it is going.
    pub final_state: Option<u16>,
}

/// Everything one engine step changed, committed as ONE transaction: all of it is durable, or
/// none of it is.
///
/// Within a batch the store applies, in this order: `upserts` (in vector order, so a later
/// upsert of the same job wins), `runs` (same), `deletes`, then raises the LocalID high-water
/// mark. So a job that a batch deletes is gone afterwards whatever else the batch says about
/// it ("delete wins"), and a run may be written in the same batch that first upserts its job.
///
/// ```
/// use cimjob_core::store::{Batch, JobRecord};
/// let mut step = Batch::default();
/// assert!(step.is_empty());
/// step.upserts.push(JobRecord {
///     local_id: 1,
///     job_state: 2,
///     priority: 0,
///     owner: "alice".into(),
///     document: "{}".into(),
/// });
/// step.last_local_id = Some(1);
/// let mut later = Batch::default();
/// later.deletes.push(1);
/// step.merge(later); // one transaction that creates and retires job 1
/// assert_eq!(step.deletes, vec![1]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Jobs to insert or replace whole, keyed by `local_id`.
    pub upserts: Vec<JobRecord>,
    /// LocalIDs of jobs to delete, with their run history.
    pub deletes: Vec<u64>,
    /// Run records to insert or replace, keyed by `(local_id, run_number)`.
    pub runs: Vec<RunRecord>,
    /// The highest LocalID allocated so far. The stored mark only ever rises (a lower value is
    /// ignored) and survives the deletion of every job, so LocalIDs are never reused. The store
    /// also raises it to the highest upserted LocalID, so a forgotten mark cannot cause reuse.
    pub last_local_id: Option<u64>,
}

impl Batch {
    /// Whether committing this batch would change nothing, so a caller can skip it.
    ///
    /// ```
    /// use cimjob_core::store::Batch;
    /// assert!(Batch::default().is_empty());
    /// assert!(!Batch { last_local_id: Some(3), ..Batch::default() }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty()
            && self.deletes.is_empty()
            && self.runs.is_empty()
            && self.last_local_id.is_none()
    }

    /// Folds a later batch into this one, so several engine steps can share one transaction.
    ///
    /// The result has the effect of committing `self` and then `other`: a later upsert of the
    /// same job or run replaces the earlier one, deletes accumulate, and the high-water mark is
    /// the larger of the two. LocalIDs are never reused, so `other` does not upsert a job that
    /// `self` deletes; if it did, the merged batch deletes it (delete wins).
    ///
    /// ```
    /// use cimjob_core::store::Batch;
    /// let mut a = Batch { last_local_id: Some(5), ..Batch::default() };
    /// a.merge(Batch { last_local_id: Some(3), deletes: vec![2], ..Batch::default() });
    /// assert_eq!(a.last_local_id, Some(5));
    /// assert_eq!(a.deletes, vec![2]);
    /// ```
    pub fn merge(&mut self, other: Batch) {
        use std::collections::{HashMap, HashSet};

        let Batch {
            upserts,
            deletes,
            runs,
            last_local_id,
        } = other;

        if !upserts.is_empty() {
            let mut index: HashMap<u64, usize> = self
                .upserts
                .iter()
                .enumerate()
                .map(|(i, job)| (job.local_id, i))
                .collect();
            for job in upserts {
                match index.get(&job.local_id) {
                    Some(&i) => self.upserts[i] = job,
                    None => {
                        index.insert(job.local_id, self.upserts.len());
                        self.upserts.push(job);
                    }
                }
            }
        }

        if !runs.is_empty() {
            let mut index: HashMap<(u64, u32), usize> = self
                .runs
                .iter()
                .enumerate()
                .map(|(i, run)| ((run.local_id, run.run_number), i))
                .collect();
            for run in runs {
                let key = (run.local_id, run.run_number);
                match index.get(&key) {
                    Some(&i) => self.runs[i] = run,
                    None => {
                        index.insert(key, self.runs.len());
                        self.runs.push(run);
                    }
                }
            }
        }

        if !deletes.is_empty() {
            let mut seen: HashSet<u64> = self.deletes.iter().copied().collect();
            for local_id in deletes {
                if seen.insert(local_id) {
                    self.deletes.push(local_id);
                }
            }
        }

        self.last_local_id = match (self.last_local_id, last_local_id) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// The value the stored LocalID high-water mark must reach once this batch is applied:
    /// the declared mark or the highest upserted LocalID, whichever is larger.
    fn local_id_high_water(&self) -> Option<u64> {
        let upserted = self.upserts.iter().map(|job| job.local_id).max();
        match (self.last_local_id, upserted) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What a starting engine rebuilds its in-memory state from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Loaded {
    /// Every stored job, ordered by `local_id`.
    pub jobs: Vec<JobRecord>,
    /// The LocalID high-water mark: the next job gets a larger LocalID than this. At least the
    /// largest stored LocalID, even if the recorded mark were somehow lower.
    pub last_local_id: u64,
}

/// Why the store could not do what was asked. Each message names the database (`location`:
/// a file path, later a PostgreSQL address) and the step that failed, so an operator can act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file-system step failed, e.g. creating the database's directory.
    #[error("job store {location}: {step}: {source}")]
    Io {
        /// The database the step was for.
        location: String,
        /// What was being done.
        step: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The database refused or failed a step: a constraint, a full disk, a lock held too long.
    /// For a batch this fails that batch alone; the others in its group still commit.
    #[error("job store {location}: {step}: {source}")]
    Database {
        /// The database the step was for.
        location: String,
        /// The SQL step that failed, naming the job or run it was for.
        step: String,
        /// The database library's error, boxed so this type names no backend.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database was written by a newer cimjob; opening it with this build could damage it.
    #[error(
        "job store {location}: the schema is at version {found} but this build of cimjob knows \
         versions up to {known}; run a newer cimjob or restore a backup"
    )]
    SchemaTooNew {
        /// The database that was refused.
        location: String,
        /// The highest schema version recorded in the database.
        found: i64,
        /// The highest schema version this build knows.
        known: i64,
    },
    /// A stored value does not fit its record field: the database was changed outside cimjob
    /// or is damaged.
    #[error("job store {location}: stored {what} is {value}, which is out of range")]
    BadValue {
        /// The database the value was read from.
        location: String,
        /// Which value, e.g. `job_state of job 4`.
        what: String,
        /// The value found.
        value: i64,
    },
    /// A value in a batch is too large for the store's signed 64-bit integers.
    #[error(
        "job store {location}: {what} {value} cannot be stored: the largest storable value is \
         {max}",
        max = i64::MAX
    )]
    OutOfRange {
        /// The database the batch was for.
        location: String,
        /// Which value, e.g. `local_id`.
        what: String,
        /// The value refused.
        value: u64,
    },
    /// The batch was submitted after [`Store::close`]; nothing was written.
    #[error("job store {location}: the store is closed; the batch was not written")]
    Closed {
        /// The database that is closed.
        location: String,
    },
    /// The store's writer stopped (it panicked or was torn down) without saying whether the
    /// batch committed; reload before trusting either outcome.
    #[error(
        "job store: the writer stopped before confirming the batch; it may or may not be durable"
    )]
    Unconfirmed,
}

/// Resolves when a committed [`Batch`] is durable, or with why it is not.
///
/// The engine awaits it before acknowledging or announcing a change. Dropping it does not
/// cancel the commit; it only gives up on learning the outcome.
///
/// ```
/// use cimjob_core::store::CommitTicket;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (done, ticket) = CommitTicket::channel();
/// done.complete(Ok(()));
/// assert!(ticket.await.is_ok());
/// # });
/// ```
#[derive(Debug)]
#[must_use = "a change may be acknowledged only after its commit ticket resolves"]
pub struct CommitTicket {
    outcome: oneshot::Receiver<Result<(), StoreError>>,
}

impl CommitTicket {
    /// A ticket and the handle that resolves it, for a backend (or a test double) that completes
    /// commits from its own thread; the handle needs no async runtime.
    pub fn channel() -> (CommitCompletion, CommitTicket) {
        let (sender, outcome) = oneshot::channel();
        (CommitCompletion { sender }, CommitTicket { outcome })
    }

    /// A ticket that is already resolved, for a commit decided without queueing it (e.g. refused
    /// because the store is closed).
    ///
    /// ```
    /// use cimjob_core::store::CommitTicket;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert!(CommitTicket::ready(Ok(())).await.is_ok());
    /// # });
    /// ```
    pub fn ready(outcome: Result<(), StoreError>) -> CommitTicket {
        let (done, ticket) = CommitTicket::channel();
        done.complete(outcome);
        ticket
    }
}

impl Future for CommitTicket {
    type Output = Result<(), StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.outcome)
            .poll(cx)
            .map(|received| received.unwrap_or(Err(StoreError::Unconfirmed)))
    }
}

/// The sending half of a [`CommitTicket`]: the backend resolves it once it knows the outcome.
/// Dropping it unresolved makes the ticket resolve with [`StoreError::Unconfirmed`].
#[derive(Debug)]
pub struct CommitCompletion {
    sender: oneshot::Sender<Result<(), StoreError>>,
}

impl CommitCompletion {
    /// Resolves the ticket. Works from any thread, with or without an async runtime; if the
    /// ticket was dropped, the outcome is discarded.
    pub fn complete(self, outcome: Result<(), StoreError>) {
        // The waiter may have stopped caring; the batch's outcome stands either way.
        let _ = self.sender.send(outcome);
    }
}

/// The source of truth for jobs, shared as `Arc<dyn Store>` by the engine and read-only callers.
///
/// A backend owns its writer: [`Store::commit`] only enqueues, and batches are applied and their
/// tickets resolved strictly in submission order, so the engine may pipeline steps without
/// waiting for each to become durable.
pub trait Store: Send + Sync {
    /// Reads every job and the LocalID high-water mark. Blocking; called once at start-up,
    /// before any commit.
    fn load(&self) -> Result<Loaded, StoreError>;

    /// Queues a batch to be committed in one transaction and returns at once, never blocking.
    /// The ticket resolves once the batch is durable (or failed, alone); batches take effect
    /// and resolve in submission order. After [`Store::close`] the ticket resolves with
    /// [`StoreError::Closed`].
    fn commit(&self, batch: Batch) -> CommitTicket;

    /// Reads one job's run history, ordered by `run_number`. Blocking; sees every batch whose
    /// ticket has resolved.
    fn runs(&self, local_id: u64) -> Result<Vec<RunRecord>, StoreError>;

    /// Writes every batch already queued, resolves their tickets and stops the writer. Blocks
    /// until that is done; calling it again (or from another thread) is harmless.
    fn close(&self);
}

/// Converts a LocalID, run number or similar to the store's signed 64-bit integers.
fn to_stored_integer(value: u64, what: &str, location: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange {
        location: location.to_owned(),
        what: what.to_owned(),
        value,
    })
}

/// Converts a stored integer back to its record field's type, refusing values that do not fit.
fn from_stored_integer<T: TryFrom<i64>>(
    value: i64,
    what: impl FnOnce() -> String,
    location: &str,
) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::BadValue {
        location: location.to_owned(),
        what: what(),
        value,
    })
}

/// Converts a stored microsecond count back to a timestamp.
fn from_stored_micros(
    micros: i64,
    what: impl FnOnce() -> String,
    location: &str,
) -> Result<jiff::Timestamp, StoreError> {
    jiff::Timestamp::from_microsecond(micros).map_err(|_| StoreError::BadValue {
        location: location.to_owned(),
        what: what(),
        value: micros,
    })
}
