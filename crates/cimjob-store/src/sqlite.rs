//! The SQLite backend: one database file in WAL mode, for a single node.
//!
//! # Shape
//! - One **writer thread** owns the only write connection. [`SqliteStore::commit`] sends the
//!   batch to it over a channel and returns at once. The thread takes the first waiting batch,
//!   then every batch already queued behind it (up to [`MAX_GROUP`]), applies them all in one
//!   transaction and commits with `synchronous=FULL`, then resolves their tickets in
//!   submission order. One fsync thus covers many batches (group commit).
//! - If a grouped transaction fails, it is rolled back and no ticket is resolved yet. When the
//!   failure came from batch `i`, the batches before it (which applied cleanly) are committed
//!   together, batch `i` fails alone (it failed on exactly the state it would see alone), and
//!   the rest are tried again as a group; a failure of the COMMIT itself falls back to one
//!   transaction per batch. So one bad batch never fails its neighbours.
//! - **Reads** (`load`, `runs`) use a second, read-only connection behind a mutex; WAL lets it
//!   read committed data while the writer writes.
//! - The thread stops, after writing everything queued, on [`Store::close`] or when the store
//!   is dropped.
//!
//! SQLite-specific SQL (pragmas) lives only here; the schema is in the portable `migrations`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::migrations::{self, Migration};
use crate::{
    from_stored_integer, from_stored_micros, to_stored_integer, Batch, ChangeRecord,
    CommitCompletion, CommitTicket, JobRecord, Loaded, RunRecord, Store, StoreError,
};

/// How many of the newest changes are kept even when every consumer has dealt with them, so
/// an event stream that reconnects can resume.
pub const RETAINED_CHANGES: i64 = 10_000;

/// The most changes the record keeps: a consumer further behind loses the oldest.
pub const MAX_RETAINED_CHANGES: i64 = 1_000_000;

/// The most batches one transaction takes, so a long queue still commits (and acknowledges) in
/// bounded steps rather than one unbounded transaction.
pub const MAX_GROUP: usize = 512;

/// How long a connection waits for a lock held by another connection (another process on the
/// same file, or a checkpoint) before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const UPSERT_JOB: &str = "\
INSERT INTO jobs (local_id, job_state, priority, owner, document, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (local_id) DO UPDATE SET
    job_state = excluded.job_state,
    priority = excluded.priority,
    owner = excluded.owner,
    document = excluded.document,
    updated_at = excluded.updated_at";

const UPSERT_RUN: &str = "\
INSERT INTO job_runs (local_id, run_number, started_at_us, ended_at_us, exit_status, signal,
                      error_code, error_description, final_state)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (local_id, run_number) DO UPDATE SET
    started_at_us = excluded.started_at_us,
    ended_at_us = excluded.ended_at_us,
    exit_status = excluded.exit_status,
    signal = excluded.signal,
    error_code = excluded.error_code,
    error_description = excluded.error_description,
    final_state = excluded.final_state";

// The schema cascades too; deleting runs explicitly keeps "a deleted job has no runs" true even
// on a connection where foreign keys are not enforced.
const DELETE_RUNS: &str = "DELETE FROM job_runs WHERE local_id = ?1";
const DELETE_JOB: &str = "DELETE FROM jobs WHERE local_id = ?1";

const RAISE_LAST_LOCAL_ID: &str = "\
INSERT INTO meta (key, value) VALUES ('last_local_id', ?1)
ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value < excluded.value";

const SELECT_LAST_LOCAL_ID: &str = "SELECT value FROM meta WHERE key = 'last_local_id'";

const INSERT_CHANGE: &str = "\
INSERT INTO changes (seq, at_us, job, kind, docs) VALUES (?1, ?2, ?3, ?4, ?5)";

const RAISE_LAST_CHANGE: &str = "\
UPDATE meta SET value = ?1 WHERE key = 'last_change' AND value < ?1";

const SELECT_LAST_CHANGE: &str = "SELECT value FROM meta WHERE key = 'last_change'";

const SELECT_CHANGES: &str = "\
SELECT seq, at_us, job, kind, docs FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2";

const SET_POSITION: &str = "\
INSERT INTO positions (consumer, seq) VALUES (?1, ?2)
ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq";

const FORGET_POSITION: &str = "DELETE FROM positions WHERE consumer = ?1";

const SELECT_POSITION: &str = "SELECT seq FROM positions WHERE consumer = ?1";

const SELECT_POSITIONS: &str = "SELECT consumer, seq FROM positions ORDER BY consumer";

const SELECT_LOWEST_POSITION: &str = "SELECT MIN(seq) FROM positions";

const PRUNE_CHANGES: &str = "DELETE FROM changes WHERE seq <= ?1";

const SELECT_JOBS: &str = "\
SELECT local_id, job_state, priority, owner, document FROM jobs ORDER BY local_id";

const SELECT_RUNS: &str = "\
SELECT run_number, started_at_us, ended_at_us, exit_status, signal, error_code,
       error_description, final_state
FROM job_runs WHERE local_id = ?1 ORDER BY run_number";

/// A job store in one SQLite file, for a single node.
///
/// ```no_run
/// use std::sync::Arc;
/// use cimjob_store::{sqlite::SqliteStore, Batch, Store};
/// # async fn demo() -> Result<(), cimjob_store::StoreError> {
/// let store: Arc<dyn Store> = Arc::new(SqliteStore::open("/var/lib/cimjob/jobs.db".as_ref())?);
/// let loaded = store.load()?;
/// store
///     .commit(Batch { last_local_id: Some(loaded.last_local_id + 1), ..Batch::default() })
///     .await?; // durable from here on
/// store.close();
/// # Ok(()) }
/// ```
pub struct SqliteStore {
    path: PathBuf,
    location: String,
    reader: Mutex<Connection>,
    /// `None` once closed; dropping the sender is what tells the writer to finish.
    queue: Mutex<Option<mpsc::Sender<Pending>>>,
    /// Held while joining, so every `close` returns only after the flush.
    writer: Mutex<Option<thread::JoinHandle<()>>>,
    counters: Arc<Counters>,
}

/// A batch waiting for the writer, with the handle that resolves its ticket.
struct Pending {
    batch: Batch,
    done: CommitCompletion,
}

/// What the writer has done, for tests and metrics.
#[derive(Default)]
struct Counters {
    transactions: AtomicU64,
    batches_committed: AtomicU64,
    batches_failed: AtomicU64,
}

impl SqliteStore {
    /// Opens (creating if needed, with its directory) the database at `path`, brings its schema
    /// up to date, and starts the writer thread.
    ///
    /// Refuses a database whose schema is newer than this build knows
    /// ([`StoreError::SchemaTooNew`]) and a file system where WAL cannot be enabled.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let location = path.display().to_string();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                location: location.clone(),
                step: format!("create directory {}", dir.display()),
                source,
            })?;
        }

        let mut write_connection = open_writer(path, &location)?;
        migrate(&mut write_connection, &location)?;
        let reader = open_reader(path, &location)?;

        let counters = Arc::new(Counters::default());
        let (sender, receiver) = mpsc::channel();
        let writer = Writer {
            connection: write_connection,
            location: location.clone(),
            counters: Arc::clone(&counters),
        };
        let handle = thread::Builder::new()
            .name("cimjob-store-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|source| StoreError::Io {
                location: location.clone(),
                step: "start the writer thread".into(),
                source,
            })?;

        Ok(SqliteStore {
            path: path.to_path_buf(),
            location,
            reader: Mutex::new(reader),
            queue: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(handle)),
            counters,
        })
    }

    /// The database file, for log lines and diagnostics.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many SQL transactions the writer has committed. Far fewer than
    /// [`batches_committed`](Self::batches_committed) under load: that is group commit at work.
    pub fn transactions_committed(&self) -> u64 {
        self.counters.transactions.load(Ordering::Relaxed)
    }

    /// How many batches have been made durable and acknowledged.
    pub fn batches_committed(&self) -> u64 {
        self.counters.batches_committed.load(Ordering::Relaxed)
    }

    /// How many batches were refused or failed (each alone).
    pub fn batches_failed(&self) -> u64 {
        self.counters.batches_failed.load(Ordering::Relaxed)
    }

    fn closed(&self) -> StoreError {
        StoreError::Closed {
            location: self.location.clone(),
        }
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        lock(&self.reader)
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("transactions_committed", &self.transactions_committed())
            .field("batches_committed", &self.batches_committed())
            .field("batches_failed", &self.batches_failed())
            .finish_non_exhaustive()
    }
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Loaded, StoreError> {
        let location = self.location.as_str();
        let mut connection = self.reader();
        // One read transaction, so the jobs and the mark come from the same snapshot.
        let snapshot = connection
            .transaction()
            .map_err(|e| database_error(location, "begin read transaction", e))?;

        let rows = {
            let mut statement = snapshot
                .prepare_cached(SELECT_JOBS)
                .map_err(|e| database_error(location, "prepare job query", e))?;
            let rows = statement
                .query_map([], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| database_error(location, "read jobs", e))?;
            rows
        };
        let recorded_mark: Option<i64> = snapshot
            .query_row(SELECT_LAST_LOCAL_ID, [], |row| row.get(0))
            .optional()
            .map_err(|e| database_error(location, "read last_local_id", e))?;
        let last_change: Option<i64> = snapshot
            .query_row(SELECT_LAST_CHANGE, [], |row| row.get(0))
            .optional()
            .map_err(|e| database_error(location, "read last_change", e))?;
        drop(snapshot);
        drop(connection);

        let mut jobs = Vec::with_capacity(rows.len());
        for (local_id, job_state, priority, owner, document) in rows {
            let local_id: u64 =
                from_stored_integer(local_id, || "local_id of a job".into(), location)?;
            jobs.push(JobRecord {
                local_id,
                job_state: from_stored_integer(
                    job_state,
                    || format!("job_state of job {local_id}"),
                    location,
                )?,
                priority: from_stored_integer(
                    priority,
                    || format!("priority of job {local_id}"),
                    location,
                )?,
                owner,
                document,
            });
        }
        let recorded_mark: u64 = from_stored_integer(
            recorded_mark.unwrap_or(0),
            || "last_local_id".into(),
            location,
        )?;
        let highest_job = jobs.last().map_or(0, |job| job.local_id);
        if highest_job > recorded_mark {
            tracing::warn!(
                location,
                recorded_mark,
                highest_job,
                "stored last_local_id is below a stored job's LocalID; using the job's"
            );
        }
        Ok(Loaded {
            jobs,
            last_local_id: recorded_mark.max(highest_job),
            last_change: from_stored_integer(
                last_change.unwrap_or(0),
                || "last_change".into(),
                location,
            )?,
        })
    }

    fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        let location = self.location.as_str();
        let after = to_stored_integer(after, "change seq", location)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(SELECT_CHANGES)
            .map_err(|e| database_error(location, "prepare change query", e))?;
        let rows = statement
            .query_map(params![after, limit], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, Vec<u8>>(4)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| database_error(location, "read changes", e))?;
        rows.into_iter()
            .map(|(seq, at, job, kind, docs)| {
                let (previous, current) =
                    crate::change_docs::decode(&docs).map_err(|e| StoreError::Database {
                        location: location.to_string(),
                        step: format!("read change {seq}"),
                        source: e.into(),
                    })?;
                Ok(ChangeRecord {
                    seq: from_stored_integer(seq, || "seq of a change".into(), location)?,
                    at: from_stored_micros(at, || format!("time of change {seq}"), location)?,
                    job: from_stored_integer(job, || format!("job of change {seq}"), location)?,
                    kind: from_stored_integer(kind, || format!("kind of change {seq}"), location)?,
                    previous,
                    current,
                })
            })
            .collect()
    }

    fn position(&self, consumer: &str) -> Result<Option<u64>, StoreError> {
        let location = self.location.as_str();
        let seq: Option<i64> = self
            .reader()
            .query_row(SELECT_POSITION, [consumer], |row| row.get(0))
            .optional()
            .map_err(|e| database_error(location, format!("read the position of {consumer}"), e))?;
        seq.map(|s| from_stored_integer(s, || format!("position of {consumer}"), location))
            .transpose()
    }

    fn positions(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let location = self.location.as_str();
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(SELECT_POSITIONS)
            .map_err(|e| database_error(location, "prepare the positions query", e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| database_error(location, "read the positions", e))?;
        rows.into_iter()
            .map(|(consumer, seq)| {
                let seq = from_stored_integer(seq, || format!("position of {consumer}"), location)?;
                Ok((consumer, seq))
            })
            .collect()
    }

    fn commit(&self, batch: Batch) -> CommitTicket {
        let (done, ticket) = CommitTicket::channel();
        let queue = lock(&self.queue);
        match queue.as_ref() {
            Some(sender) => {
                if let Err(mpsc::SendError(refused)) = sender.send(Pending { batch, done }) {
                    // The writer is gone (it panicked); the batch never reached it.
                    refused.done.complete(Err(self.closed()));
                }
            }
            None => done.complete(Err(self.closed())),
        }
        ticket
    }

    fn runs(&self, local_id: u64) -> Result<Vec<RunRecord>, StoreError> {
        let location = self.location.as_str();
        let key = to_stored_integer(local_id, "local_id", location)?;
        let rows = {
            let connection = self.reader();
            let mut statement = connection
                .prepare_cached(SELECT_RUNS)
                .map_err(|e| database_error(location, "prepare run query", e))?;
            let rows = statement
                .query_map([key], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, Option<i64>>(2)?,
                        row.get::<_, Option<i32>>(3)?,
                        row.get::<_, Option<i32>>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, Option<String>>(6)?,
                        row.get::<_, Option<i64>>(7)?,
                    ))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| database_error(location, format!("read runs of job {local_id}"), e))?;
            rows
        };

        let mut runs = Vec::with_capacity(rows.len());
        for (run_number, started, ended, exit_status, signal, error_code, description, state) in
            rows
        {
            let run_number: u32 = from_stored_integer(
                run_number,
                || format!("run_number of a run of job {local_id}"),
                location,
            )?;
            let what = |field: &str| format!("{field} of run {run_number} of job {local_id}");
            runs.push(RunRecord {
                local_id,
                run_number,
                started_at: from_stored_micros(started, || what("started_at_us"), location)?,
                ended_at: ended
                    .map(|us| from_stored_micros(us, || what("ended_at_us"), location))
                    .transpose()?,
                exit_status,
                signal,
                error_code: from_stored_integer(error_code, || what("error_code"), location)?,
                error_description: description,
                final_state: state
                    .map(|s| from_stored_integer(s, || what("final_state"), location))
                    .transpose()?,
            });
        }
        Ok(runs)
    }

    fn close(&self) {
        // Dropping the only sender lets the writer drain the queue and then stop.
        drop(lock(&self.queue).take());
        let mut writer = lock(&self.writer);
        if let Some(handle) = writer.take() {
            if handle.join().is_err() {
                tracing::error!(
                    location = %self.location,
                    "the job store's writer thread panicked; unacknowledged batches may be lost"
                );
            }
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread's state: the only connection that writes.
struct Writer {
    connection: Connection,
    location: String,
    counters: Arc<Counters>,
}

/// Why a grouped transaction did not commit.
enum GroupFailure {
    /// Applying the batch at this position in the group failed.
    Batch { index: usize, error: StoreError },
    /// Beginning or committing the transaction failed; no batch is to blame.
    Transaction(StoreError),
}

impl Writer {
    fn run(mut self, queue: mpsc::Receiver<Pending>) {
        // `recv` fails only once every sender is gone and the queue is empty: that is the flush.
        while let Ok(first) = queue.recv() {
            let mut group = VecDeque::with_capacity(16);
            group.push_back(first);
            while group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(next) => group.push_back(next),
                    Err(_) => break,
                }
            }
            self.commit_group(group);
        }
        tracing::debug!(location = %self.location, "job store writer stopped");
    }

    /// Commits the group, resolving every ticket in order, each failing batch alone.
    fn commit_group(&mut self, mut group: VecDeque<Pending>) {
        // How many batches from the front the next transaction takes.
        let mut take = group.len();
        let mut one_by_one = false;
        while !group.is_empty() {
            let n = if one_by_one { 1 } else { take.min(group.len()) };
            let attempt = self.apply_in_one_transaction(&group.make_contiguous()[..n]);
            match attempt {
                Ok(()) => {
                    self.counters
                        .batches_committed
                        .fetch_add(n as u64, Ordering::Relaxed);
                    for pending in group.drain(..n) {
                        pending.done.complete(Ok(()));
                    }
                    take = group.len();
                }
                Err(GroupFailure::Batch { index: 0, error }) => {
                    // It failed on the committed state, exactly as it would alone.
                    self.fail(group.pop_front(), error);
                    take = group.len();
                }
                Err(GroupFailure::Batch { index, error }) => {
                    tracing::debug!(
                        location = %self.location,
                        index,
                        %error,
                        "grouped commit failed; committing the batches before the failing one"
                    );
                    take = index;
                }
                Err(GroupFailure::Transaction(error)) if n == 1 => {
                    self.fail(group.pop_front(), error);
                }
                Err(GroupFailure::Transaction(error)) => {
                    tracing::warn!(
                        location = %self.location,
                        batches = n,
                        %error,
                        "grouped commit failed; retrying one batch per transaction"
                    );
                    one_by_one = true;
                }
            }
        }
    }

    fn fail(&self, pending: Option<Pending>, error: StoreError) {
        tracing::warn!(location = %self.location, %error, "job store batch failed");
        self.counters.batches_failed.fetch_add(1, Ordering::Relaxed);
        if let Some(pending) = pending {
            pending.done.complete(Err(error));
        }
    }

    /// Applies the batches, in order, in one transaction and commits it durably.
    fn apply_in_one_transaction(&mut self, group: &[Pending]) -> Result<(), GroupFailure> {
        if group.iter().all(|pending| pending.batch.is_empty()) {
            return Ok(());
        }
        let location = self.location.as_str();
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| GroupFailure::Transaction(database_error(location, "begin", e)))?;
        let now = jiff::Timestamp::now().as_microsecond();
        for (index, pending) in group.iter().enumerate() {
            apply_batch(&transaction, &pending.batch, now, location)
                .map_err(|error| GroupFailure::Batch { index, error })?;
        }
        transaction
            .commit()
            .map_err(|e| GroupFailure::Transaction(database_error(location, "commit", e)))?;
        self.counters.transactions.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(location, batches = group.len(), "group committed");
        Ok(())
    }
}

/// Applies one batch inside the caller's transaction, in the order [`Batch`] documents.
fn apply_batch(
    connection: &Connection,
    batch: &Batch,
    now_us: i64,
    location: &str,
) -> Result<(), StoreError> {
    if !batch.upserts.is_empty() {
        let mut upsert = connection
            .prepare_cached(UPSERT_JOB)
            .map_err(|e| database_error(location, "prepare job upsert", e))?;
        for job in &batch.upserts {
            let local_id = to_stored_integer(job.local_id, "local_id", location)?;
            upsert
                .execute(params![
                    local_id,
                    job.job_state,
                    job.priority,
                    job.owner,
                    job.document,
                    now_us
                ])
                .map_err(|e| database_error(location, format!("upsert job {}", job.local_id), e))?;
        }
    }

    if !batch.runs.is_empty() {
        let mut upsert = connection
            .prepare_cached(UPSERT_RUN)
            .map_err(|e| database_error(location, "prepare run upsert", e))?;
        for run in &batch.runs {
            let local_id = to_stored_integer(run.local_id, "local_id", location)?;
            upsert
                .execute(params![
                    local_id,
                    run.run_number,
                    run.started_at.as_microsecond(),
                    run.ended_at.map(jiff::Timestamp::as_microsecond),
                    run.exit_status,
                    run.signal,
                    run.error_code,
                    run.error_description,
                    run.final_state,
                ])
                .map_err(|e| {
                    let step = format!("write run {} of job {}", run.run_number, run.local_id);
                    database_error(location, step, e)
                })?;
        }
    }

    if !batch.deletes.is_empty() {
        let mut delete_runs = connection
            .prepare_cached(DELETE_RUNS)
            .map_err(|e| database_error(location, "prepare run delete", e))?;
        let mut delete_job = connection
            .prepare_cached(DELETE_JOB)
            .map_err(|e| database_error(location, "prepare job delete", e))?;
        for &local_id in &batch.deletes {
            let key = to_stored_integer(local_id, "local_id", location)?;
            delete_runs
                .execute([key])
                .and_then(|_| delete_job.execute([key]))
                .map_err(|e| database_error(location, format!("delete job {local_id}"), e))?;
        }
    }

    if let Some(last) = batch.changes.last() {
        let mut insert = connection
            .prepare_cached(INSERT_CHANGE)
            .map_err(|e| database_error(location, "prepare change insert", e))?;
        for change in &batch.changes {
            let seq = to_stored_integer(change.seq, "change seq", location)?;
            let job = to_stored_integer(change.job, "local_id", location)?;
            insert
                .execute(params![
                    seq,
                    change.at.as_microsecond(),
                    job,
                    change.kind,
                    crate::change_docs::encode(
                        change.previous.as_deref(),
                        change.current.as_deref()
                    )
                ])
                .map_err(|e| {
                    database_error(location, format!("record change {}", change.seq), e)
                })?;
        }
        let last = to_stored_integer(last.seq, "change seq", location)?;
        connection
            .prepare_cached(RAISE_LAST_CHANGE)
            .and_then(|mut raise| raise.execute([last]))
            .map_err(|e| database_error(location, "raise last_change", e))?;
    }

    for (consumer, position) in &batch.positions {
        let result = match position {
            Some(seq) => {
                let seq = to_stored_integer(*seq, "position", location)?;
                connection
                    .prepare_cached(SET_POSITION)
                    .and_then(|mut set| set.execute(params![consumer, seq]))
            }
            None => connection
                .prepare_cached(FORGET_POSITION)
                .and_then(|mut forget| forget.execute([consumer])),
        };
        result.map_err(|e| {
            database_error(location, format!("record the position of {consumer}"), e)
        })?;
    }
    let crossed_a_thousand = batch
        .changes
        .first()
        .zip(batch.changes.last())
        .is_some_and(|(first, last)| first.seq / 1000 != last.seq / 1000 || first.seq % 1000 == 0);
    if !batch.positions.is_empty() || crossed_a_thousand {
        prune_changes(connection, location)?;
    }

    if let Some(mark) = batch.local_id_high_water() {
        let value = to_stored_integer(mark, "last_local_id", location)?;
        connection
            .prepare_cached(RAISE_LAST_LOCAL_ID)
            .and_then(|mut raise| raise.execute([value]))
            .map_err(|e| database_error(location, format!("raise last_local_id to {mark}"), e))?;
    }
    Ok(())
}

/// Forgets the changes no consumer needs any more: those every consumer has dealt with,
/// keeping the newest [`RETAINED_CHANGES`] for event streams that resume; and, whatever the
/// consumers, all but the newest [`MAX_RETAINED_CHANGES`] (a consumer that far behind, a
/// listener that has been dead for long, skips the oldest: the record's bound).
fn prune_changes(connection: &Connection, location: &str) -> Result<(), StoreError> {
    let last: i64 = connection
        .query_row(SELECT_LAST_CHANGE, [], |row| row.get(0))
        .map_err(|e| database_error(location, "read last_change", e))?;
    let lowest: Option<i64> = connection
        .query_row(SELECT_LOWEST_POSITION, [], |row| row.get(0))
        .map_err(|e| database_error(location, "read the positions", e))?;
    let unneeded = lowest.unwrap_or(last).min(last - RETAINED_CHANGES);
    let below = unneeded.max(last - MAX_RETAINED_CHANGES);
    if below > 0 {
        connection
            .prepare_cached(PRUNE_CHANGES)
            .and_then(|mut prune| prune.execute([below]))
            .map_err(|e| database_error(location, "prune the change record", e))?;
    }
    Ok(())
}

/// The write connection: WAL so readers never block the writer, `synchronous=FULL` so a
/// committed transaction survives power loss, foreign keys so runs cannot outlive their job.
fn open_writer(path: &Path, location: &str) -> Result<Connection, StoreError> {
    let connection =
        Connection::open(path).map_err(|e| database_error(location, "open for writing", e))?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| database_error(location, "set busy_timeout", e))?;
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| database_error(location, "set journal_mode=WAL", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(database_error(
            location,
            "set journal_mode=WAL",
            format!("SQLite kept journal_mode={mode}; WAL needs a local file system"),
        ));
    }
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(|e| database_error(location, "set synchronous=FULL", e))?;
    connection
        .pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| database_error(location, "set foreign_keys=ON", e))?;
    Ok(connection)
}

/// The read connection; read-only so a bug in a read path cannot write behind the writer.
fn open_reader(path: &Path, location: &str) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(path, flags)
        .map_err(|e| database_error(location, "open for reading", e))?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| database_error(location, "set busy_timeout", e))?;
    Ok(connection)
}

/// Brings the schema up to [`migrations::LATEST_VERSION`], each missing migration in its own
/// transaction, or refuses a database from a newer build.
fn migrate(connection: &mut Connection, location: &str) -> Result<(), StoreError> {
    connection
        .execute_batch(migrations::CREATE_SCHEMA_MIGRATIONS)
        .map_err(|e| database_error(location, "create schema_migrations", e))?;
    let applied: Vec<i64> = connection
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get(0))?
                .collect::<Result<Vec<i64>, _>>()
        })
        .map_err(|e| database_error(location, "read schema_migrations", e))?;
    if let Some(&found) = applied.last() {
        if found > migrations::LATEST_VERSION {
            return Err(StoreError::SchemaTooNew {
                location: location.to_owned(),
                found,
                known: migrations::LATEST_VERSION,
            });
        }
    }
    for migration in migrations::MIGRATIONS {
        if !applied.contains(&migration.version) {
            apply_migration(connection, migration, location)?;
        }
    }
    Ok(())
}

fn apply_migration(
    connection: &mut Connection,
    migration: &Migration,
    location: &str,
) -> Result<(), StoreError> {
    let version = migration.version;
    let step = |what: &str| format!("migration {version} ({}): {what}", migration.description);
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| database_error(location, step("begin"), e))?;
    // Another process may have applied it between our check and our lock.
    let already: bool = transaction
        .query_row(
            "SELECT COUNT(*) > 0 FROM schema_migrations WHERE version = ?1",
            [version],
            |row| row.get(0),
        )
        .map_err(|e| database_error(location, step("check"), e))?;
    if already {
        return Ok(());
    }
    for (i, statement) in migration.statements.iter().enumerate() {
        transaction
            .execute_batch(statement)
            .map_err(|e| database_error(location, step(&format!("statement {}", i + 1)), e))?;
    }
    transaction
        .execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
            params![
                version,
                migration.description,
                jiff::Timestamp::now().as_microsecond()
            ],
        )
        .map_err(|e| database_error(location, step("record"), e))?;
    transaction
        .commit()
        .map_err(|e| database_error(location, step("commit"), e))?;
    tracing::info!(
        location,
        version,
        description = migration.description,
        "applied schema migration"
    );
    Ok(())
}

fn database_error(
    location: &str,
    step: impl Into<String>,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Database {
        location: location.to_owned(),
        step: step.into(),
        source: source.into(),
    }
}

/// Locks a mutex, carrying on after a panic elsewhere: the guarded values (a connection, a
/// sender, a join handle) stay valid even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
