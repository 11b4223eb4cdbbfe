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
//! SQLite-specific SQL (pragmas) and the SQLite migration list live here and in `migrations`;
//! the statements and what a batch means as row operations are shared with PostgreSQL (`sql`).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::migrations::{self, Migration};
use crate::sql::{self, Op};
use crate::writer::{self, Counters, Pending};
use crate::{
    database_error, lock, to_stored_integer, Batch, ChangeRecord, CommitCounts, CommitTicket,
    JobRecord, Loaded, RunRecord, Store, StoreError, MAX_GROUP,
};

/// How long a connection waits for a lock held by another connection (another process on the
/// same file, or a checkpoint) before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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

    /// What the writer has done so far.
    pub fn counts(&self) -> CommitCounts {
        self.counters.counts()
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        lock(&self.reader)
    }

    /// The jobs a `SELECT_*JOB*` statement reads, as records; a failure names `step`.
    fn records(
        &self,
        statement: &str,
        params: impl rusqlite::Params,
        step: &str,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let location = self.location.as_str();
        read_jobs(&self.reader(), statement, params, location, step)?
            .into_iter()
            .map(|job| job.into_record(location))
            .collect()
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Loaded, StoreError> {
        let location = self.location.as_str();
        let mut connection = self.reader();
        // One read transaction, so the jobs and the marks come from the same snapshot.
        let snapshot = connection
            .transaction()
            .map_err(|e| database_error(location, "begin read transaction", e))?;

        let jobs = read_jobs(
            &snapshot,
            sql::SELECT_JOBS_IN_PLAY,
            [],
            location,
            "read jobs",
        )?;
        let highest_local_id: Option<i64> = snapshot
            .query_row(sql::SELECT_HIGHEST_LOCAL_ID, [], |row| row.get(0))
            .map_err(|e| database_error(location, "read the highest LocalID", e))?;
        let recorded_mark: Option<i64> = snapshot
            .query_row(sql::SELECT_LAST_LOCAL_ID, [], |row| row.get(0))
            .optional()
            .map_err(|e| database_error(location, "read last_local_id", e))?;
        let last_change: Option<i64> = snapshot
            .query_row(sql::SELECT_LAST_CHANGE, [], |row| row.get(0))
            .optional()
            .map_err(|e| database_error(location, "read last_change", e))?;
        drop(snapshot);
        drop(connection);
        let stored = sql::Stored {
            jobs,
            highest_local_id,
            recorded_mark,
            last_change,
        };
        sql::loaded(stored, location)
    }

    fn jobs(&self, local_ids: &[u64]) -> Result<Vec<JobRecord>, StoreError> {
        let location = self.location.as_str();
        let wanted: std::collections::BTreeSet<u64> = local_ids.iter().copied().collect();
        let connection = self.reader();
        let mut jobs = Vec::with_capacity(wanted.len());
        // one prepared statement, run in process for each: as cheap as one query
        for local_id in wanted {
            let key = to_stored_integer(local_id, "local_id", location)?;
            let step = format!("read job {local_id}");
            for job in read_jobs(&connection, sql::SELECT_JOB, [key], location, &step)? {
                jobs.push(job.into_record(location)?);
            }
        }
        Ok(jobs)
    }

    fn jobs_after(&self, after: u64, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        let after = to_stored_integer(after, "local_id", &self.location)?;
        self.records(
            sql::SELECT_JOBS_AFTER,
            params![after, sql::limit_of(limit)],
            "read a page of jobs",
        )
    }

    fn ready_after(
        &self,
        after: Option<(u32, u64)>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let (priority, id) = sql::ready_after_keys(after, &self.location)?;
        self.records(
            sql::SELECT_READY_AFTER,
            params![priority, id, sql::limit_of(limit)],
            "read the next ready jobs",
        )
    }

    fn waking(
        &self,
        after: Option<(jiff::Timestamp, u64)>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let (at, id) = sql::waking_keys(after, &self.location)?;
        self.records(
            sql::SELECT_WAKING,
            params![at, id, sql::limit_of(limit)],
            "read the jobs whose time comes",
        )
    }

    fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        let location = self.location.as_str();
        let after = to_stored_integer(after, "change seq", location)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let connection = self.reader();
        let step = "read changes";
        let rows = query_all(
            &connection,
            sql::SELECT_CHANGES,
            params![after, limit],
            location,
            step,
            |row| {
                Ok(sql::StoredChange {
                    seq: row.get(0)?,
                    at_us: row.get(1)?,
                    job: row.get(2)?,
                    kind: row.get(3)?,
                    docs: row.get(4)?,
                })
            },
        )?;
        rows.into_iter()
            .map(|change| change.into_record(location))
            .collect()
    }

    fn position(&self, consumer: &str) -> Result<Option<u64>, StoreError> {
        let location = self.location.as_str();
        let seq: Option<i64> = self
            .reader()
            .query_row(sql::SELECT_POSITION, [consumer], |row| row.get(0))
            .optional()
            .map_err(|e| database_error(location, format!("read the position of {consumer}"), e))?;
        seq.map(|seq| sql::position(consumer, seq, location))
            .transpose()
    }

    fn census(&self) -> Result<crate::Census, StoreError> {
        let location = self.location.as_str();
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(sql::SELECT_CENSUS)
            .map_err(|e| database_error(location, "prepare the census", e))?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| database_error(location, "count the jobs by state", e))?;
        sql::census(rows, location)
    }

    fn positions(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let location = self.location.as_str();
        let connection = self.reader();
        let mut statement = connection
            .prepare_cached(sql::SELECT_POSITIONS)
            .map_err(|e| database_error(location, "prepare the positions query", e))?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| database_error(location, "read the positions", e))?;
        sql::positions(rows, location)
    }

    fn commit(&self, batch: Batch) -> CommitTicket {
        writer::enqueue(&self.queue, batch, &self.location)
    }

    fn runs(&self, local_id: u64) -> Result<Vec<RunRecord>, StoreError> {
        let location = self.location.as_str();
        let key = to_stored_integer(local_id, "local_id", location)?;
        let connection = self.reader();
        let step = format!("read runs of job {local_id}");
        let rows = query_all(
            &connection,
            sql::SELECT_RUNS,
            [key],
            location,
            &step,
            |row| {
                Ok(sql::StoredRun {
                    run_number: row.get(0)?,
                    started_at_us: row.get(1)?,
                    ended_at_us: row.get(2)?,
                    exit_status: row.get(3)?,
                    signal: row.get(4)?,
                    error_code: row.get(5)?,
                    error_description: row.get(6)?,
                    final_state: row.get(7)?,
                })
            },
        )?;
        drop(connection);
        rows.into_iter()
            .map(|run| run.into_record(local_id, location))
            .collect()
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
                    self.counters.committed(n as u64);
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
        self.counters.failed();
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
        self.counters.transaction();
        tracing::trace!(location, batches = group.len(), "group committed");
        Ok(())
    }
}

/// Applies one batch inside the caller's transaction, as [`sql::plan`] lists its rows.
fn apply_batch(
    connection: &Connection,
    batch: &Batch,
    now_us: i64,
    location: &str,
) -> Result<(), StoreError> {
    for op in sql::plan(batch, now_us, location)? {
        if let Op::Prune = op {
            prune_changes(connection, location)?;
            continue;
        }
        apply_op(connection, &op).map_err(|e| database_error(location, op.step(), e))?;
    }
    Ok(())
}

/// The jobs a `SELECT_*JOB*` statement of [`sql`] reads.
fn read_jobs(
    connection: &Connection,
    statement: &str,
    params: impl rusqlite::Params,
    location: &str,
    step: &str,
) -> Result<Vec<sql::StoredJob>, StoreError> {
    query_all(connection, statement, params, location, step, |row| {
        Ok(sql::StoredJob {
            local_id: row.get(0)?,
            job_state: row.get(1)?,
            priority: row.get(2)?,
            owner: row.get(3)?,
            document: row.get(4)?,
            settled: row.get(5)?,
            ready: row.get(6)?,
            wake_us: row.get(7)?,
        })
    })
}

/// Every row `statement` returns, each read by `read`; a failure names `step`.
fn query_all<T>(
    connection: &Connection,
    statement: &str,
    params: impl rusqlite::Params,
    location: &str,
    step: &str,
    read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection
        .prepare_cached(statement)
        .map_err(|e| database_error(location, format!("prepare: {step}"), e))?;
    let rows = statement
        .query_map(params, read)
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| database_error(location, step, e));
    rows
}

/// Executes one row operation (but [`Op::Prune`], which reads before it writes).
fn apply_op(connection: &Connection, op: &Op<'_>) -> rusqlite::Result<()> {
    let execute = |statement: &str, params: &[&dyn rusqlite::ToSql]| {
        connection
            .prepare_cached(statement)
            .and_then(|mut statement| statement.execute(params))
    };
    match op {
        Op::UpsertJob { row, updated_at } => execute(
            sql::UPSERT_JOB,
            params![
                row.local_id,
                row.job_state,
                row.priority,
                row.owner,
                row.document,
                row.settled,
                row.ready,
                row.wake_us,
                updated_at
            ],
        ),
        Op::UpsertRun(run) => execute(
            sql::UPSERT_RUN,
            params![
                run.local_id,
                run.run_number,
                run.started_at_us,
                run.ended_at_us,
                run.exit_status,
                run.signal,
                run.error_code,
                run.error_description,
                run.final_state,
            ],
        ),
        Op::DeleteJob { local_id } => execute(sql::DELETE_RUNS, params![local_id])
            .and_then(|_| execute(sql::DELETE_JOB, params![local_id])),
        Op::RecordChange(change) => execute(
            sql::INSERT_CHANGE,
            params![
                change.seq,
                change.at_us,
                change.job,
                change.kind,
                change.docs
            ],
        ),
        Op::RaiseLastChange(last) => execute(sql::RAISE_LAST_CHANGE, params![last]),
        Op::SetPosition { consumer, seq } => execute(sql::SET_POSITION, params![consumer, seq]),
        Op::ForgetPosition { consumer } => execute(sql::FORGET_POSITION, params![consumer]),
        Op::RaiseLastLocalId(mark) => execute(sql::RAISE_LAST_LOCAL_ID, params![mark]),
        // one node serves the file: nothing is held from any other
        Op::Prune | Op::Release(_) => Ok(0),
    }
    .map(|_| ())
}

/// Forgets the changes no consumer needs any more (see [`sql::prune_through`]).
fn prune_changes(connection: &Connection, location: &str) -> Result<(), StoreError> {
    let last: i64 = connection
        .query_row(sql::SELECT_LAST_CHANGE, [], |row| row.get(0))
        .map_err(|e| database_error(location, "read last_change", e))?;
    let lowest: Option<i64> = connection
        .query_row(sql::SELECT_LOWEST_POSITION, [], |row| row.get(0))
        .map_err(|e| database_error(location, "read the positions", e))?;
    if let Some(through) = sql::prune_through(last, lowest) {
        connection
            .prepare_cached(sql::PRUNE_CHANGES)
            .and_then(|mut prune| prune.execute([through]))
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

/// Brings the schema up to the newest of [`migrations::SQLITE_MIGRATIONS`], each missing
/// migration in its own transaction, or refuses a database from a newer build.
fn migrate(connection: &mut Connection, location: &str) -> Result<(), StoreError> {
    connection
        .execute_batch(migrations::CREATE_SCHEMA_MIGRATIONS)
        .map_err(|e| database_error(location, "create schema_migrations", e))?;
    let applied: Vec<i64> = connection
        .prepare(migrations::SELECT_APPLIED)
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get(0))?
                .collect::<Result<Vec<i64>, _>>()
        })
        .map_err(|e| database_error(location, "read schema_migrations", e))?;
    for migration in migrations::pending(migrations::SQLITE_MIGRATIONS, &applied, location)? {
        apply_migration(connection, migration, location)?;
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
            migrations::RECORD_APPLIED,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan for `statement` (its parameters bound to 0), one detail per line.
    fn plan_of(connection: &Connection, statement: &str, parameters: usize) -> String {
        let mut explain = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
            .unwrap();
        let zeros = vec![0i64; parameters];
        let rows = explain
            .query_map(rusqlite::params_from_iter(zeros), |row| {
                row.get::<_, String>(3)
            })
            .unwrap();
        rows.collect::<Result<Vec<_>, _>>().unwrap().join("\n")
    }

    #[test]
    fn a_start_the_queue_and_the_wake_times_read_through_their_own_indexes_in_order() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("jobs.db");
        drop(SqliteStore::open(&path).unwrap());
        let connection = Connection::open(&path).unwrap();
        for (statement, parameters, index) in [
            (sql::SELECT_JOBS_IN_PLAY, 0, "jobs_in_play"),
            (sql::SELECT_READY_AFTER, 3, "jobs_ready"),
            (sql::SELECT_WAKING, 3, "jobs_waking"),
        ] {
            let plan = plan_of(&connection, statement, parameters);
            assert!(
                plan.contains(&format!("INDEX {index}")),
                "{statement}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{statement} sorts: {plan}");
        }
    }
}
