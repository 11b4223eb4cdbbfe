//! The SQLite job store against real database files: the store conformance suite
//! (`conformance/`, the same tests as every backend), then what only SQLite has: the file and
//! its directory, WAL, the schema's own history, and a crash of the writing process losing
//! nothing that was acknowledged.

use std::io::Write;
use std::path::{Path, PathBuf};

use cimjob_store::sqlite::SqliteStore;
use cimjob_store::{Batch, CommitCounts, CommitTicket, RunRecord, Store, StoreError};
use tempfile::TempDir;

#[macro_use]
mod conformance;

use conformance::{block_on, commit_ok, job, run, settled, upsert, Backend, Counted};

// ---------------------------------------------------------------------------------------------
// The conformance suite

/// A database file in a directory that does not exist yet, so `open` must create it.
struct Sqlite {
    _dir: TempDir,
    path: PathBuf,
}

/// A transaction holding SQLite's write lock, from another connection.
struct WriteLock(rusqlite::Connection);

impl Drop for WriteLock {
    fn drop(&mut self) {
        self.0.execute_batch("COMMIT").unwrap();
    }
}

impl Backend for Sqlite {
    const LATEST_VERSION: i64 = 5;
    type Store = SqliteStore;
    type Hold = WriteLock;

    fn fresh(_name: &str) -> Sqlite {
        let dir = TempDir::new().unwrap();
        let path = db_path(&dir);
        Sqlite { _dir: dir, path }
    }

    fn open(&self) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(&self.path)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn count(&self, sql: &str) -> i64 {
        count(&self.path, sql)
    }

    fn execute(&self, sql: &str) {
        raw(&self.path).execute_batch(sql).unwrap();
    }

    fn hold_writes(&self) -> WriteLock {
        let connection = raw(&self.path);
        connection.execute_batch("BEGIN IMMEDIATE").unwrap();
        WriteLock(connection)
    }

    fn check_clean_shutdown(&self) {
        let wal = self.path.with_extension("db-wal");
        let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert_eq!(wal_len, 0, "a clean shutdown leaves no WAL to replay");
    }
}

impl Counted for SqliteStore {
    fn counts(&self) -> CommitCounts {
        SqliteStore::counts(self)
    }
}

conformance_tests!(Sqlite);

// ---------------------------------------------------------------------------------------------
// Helpers

/// A database path in a directory that does not exist yet, so `open` must create it.
fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("state").join("jobs.db")
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

fn count(path: &Path, sql: &str) -> i64 {
    raw(path).query_row(sql, [], |row| row.get(0)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Migrations

#[test]
fn opening_creates_the_directory_and_records_every_schema_version() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    store.close();
    drop(store);

    let versions = |path: &Path| -> Vec<i64> {
        let connection = raw(path);
        let mut statement = connection
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(versions(&path), vec![1, 2, 3, 4, 5]);
    let mode: String = raw(&path)
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    // Reopening applies nothing twice.
    drop(SqliteStore::open(&path).unwrap());
    assert_eq!(versions(&path), vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_version_1_database_loses_its_unused_indexes_and_keeps_its_jobs() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    commit_ok(&store, vec![upsert(vec![job(1, 7, "{\"a\":1}")])]);
    store.close();
    drop(store);
    // Put the database back as version 1 left it: its two indexes, no version 2.
    let connection = raw(&path);
    connection
        .execute_batch(
            "CREATE INDEX jobs_by_state ON jobs (job_state, priority, local_id);
             CREATE INDEX jobs_by_owner ON jobs (owner, local_id);
             DELETE FROM schema_migrations WHERE version = 2;",
        )
        .unwrap();
    drop(connection);

    let store = SqliteStore::open(&path).unwrap();
    let indexes = count(
        &path,
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'jobs_by_%'",
    );
    assert_eq!(indexes, 0);
    let loaded = store.load().unwrap();
    assert_eq!(loaded.jobs.len(), 1);
    assert_eq!(loaded.jobs[0].document, "{\"a\":1}");
}

#[test]
fn a_version_3_database_keeps_its_jobs_and_loads_them_all_until_the_engine_settles_them() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    commit_ok(
        &store,
        vec![upsert(vec![
            job(1, 7, "{\"done\":1}"),
            job(2, 2, "{\"new\":2}"),
        ])],
    );
    store.close();
    drop(store);
    // Put the database back as version 3 left it: no settled jobs told apart.
    let connection = raw(&path);
    connection
        .execute_batch(
            "DROP INDEX jobs_in_play; DROP INDEX jobs_ready; DROP INDEX jobs_waking;
             ALTER TABLE jobs DROP COLUMN settled; ALTER TABLE jobs DROP COLUMN ready;
             ALTER TABLE jobs DROP COLUMN wake_us;
             DELETE FROM schema_migrations WHERE version IN (4, 5);",
        )
        .unwrap();
    drop(connection);

    let store = SqliteStore::open(&path).unwrap();
    let loaded = store.load().unwrap();
    let documents: Vec<&str> = loaded.jobs.iter().map(|j| j.document.as_str()).collect();
    assert_eq!(
        documents,
        ["{\"done\":1}", "{\"new\":2}"],
        "both load, neither settled"
    );
    assert!(store.waking(None, 10).unwrap().is_empty());
    // the engine writes the finished one again as settled: the next start skips it
    commit_ok(&store, vec![upsert(vec![settled(1, "{\"done\":1}", None)])]);
    store.close();
    drop(store);
    let loaded = SqliteStore::open(&path).unwrap().load().unwrap();
    assert_eq!(loaded.jobs.len(), 1);
    assert_eq!(loaded.jobs[0].local_id, 2);
}

// ---------------------------------------------------------------------------------------------
// Tickets

#[test]
fn a_ticket_whose_writer_vanished_says_the_outcome_is_unknown() {
    let (done, ticket) = CommitTicket::channel();
    drop(done);
    assert!(matches!(block_on(ticket), Err(StoreError::Unconfirmed)));
    assert!(block_on(CommitTicket::ready(Ok(()))).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Batch::merge

#[test]
fn merge_keeps_the_later_upsert_and_run_accumulates_deletes_and_keeps_the_higher_mark() {
    let mut first = Batch {
        upserts: vec![job(1, 2, "old"), job(2, 2, "{}")],
        runs: vec![run(1, 1)],
        deletes: vec![7],
        last_local_id: Some(9),
        ..Batch::default()
    };
    let rewritten_run = RunRecord {
        exit_status: Some(0),
        ..run(1, 1)
    };
    first.merge(Batch {
        upserts: vec![job(1, 4, "new"), job(3, 2, "{}")],
        runs: vec![rewritten_run.clone(), run(3, 1)],
        deletes: vec![7, 8],
        last_local_id: Some(4),
        ..Batch::default()
    });
    assert_eq!(
        first.upserts,
        vec![job(1, 4, "new"), job(2, 2, "{}"), job(3, 2, "{}")]
    );
    assert_eq!(first.runs, vec![rewritten_run, run(3, 1)]);
    assert_eq!(first.deletes, vec![7, 8]);
    assert_eq!(first.last_local_id, Some(9));

    let mut empty = Batch::default();
    empty.merge(Batch::default());
    assert!(empty.is_empty());
    empty.merge(Batch {
        last_local_id: Some(1),
        ..Batch::default()
    });
    assert_eq!(empty.last_local_id, Some(1));
}

// ---------------------------------------------------------------------------------------------
// Crash durability

const CRASH_DB_ENV: &str = "CIMJOB_STORE_CRASH_DB";
/// How many batches the child keeps submitted but not yet acknowledged.
const CRASH_IN_FLIGHT: u64 = 64;
const CRASH_AFTER_ACKS: u64 = 600;

fn crash_batch(id: u64) -> Batch {
    Batch {
        upserts: vec![job(id, 4, &format!(r#"{{"id":{id}}}"#))],
        runs: vec![run(id, 1)],
        last_local_id: Some(id),
        ..Batch::default()
    }
}

/// Not a test on its own: the child process of the crash test. It keeps
/// [`CRASH_IN_FLIGHT`] batches queued, reports each acknowledgement on stdout, and aborts
/// with batches still queued or mid-transaction.
#[test]
fn crash_child_commits_then_aborts() {
    let Some(path) = std::env::var_os(CRASH_DB_ENV) else {
        return;
    };
    let store = SqliteStore::open(Path::new(&path)).unwrap();
    let mut in_flight: std::collections::VecDeque<(u64, CommitTicket)> = (1..=CRASH_IN_FLIGHT)
        .map(|id| (id, store.commit(crash_batch(id))))
        .collect();
    let mut next = CRASH_IN_FLIGHT + 1;
    block_on(async {
        let mut out = std::io::stdout().lock();
        // libtest has printed "test <name> ... " without a line end; start a fresh line.
        writeln!(out).unwrap();
        while let Some((id, ticket)) = in_flight.pop_front() {
            ticket.await.unwrap();
            writeln!(out, "ACK {id}").unwrap();
            out.flush().unwrap();
            if id == CRASH_AFTER_ACKS {
                writeln!(out, "ABORT").unwrap();
                out.flush().unwrap();
                std::process::abort();
            }
            in_flight.push_back((next, store.commit(crash_batch(next))));
            next += 1;
        }
    });
}

#[test]
fn acknowledged_batches_survive_a_crash_of_the_writing_process() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_commits_then_aborts",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DB_ENV, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the child should have aborted: {stdout}"
    );
    assert!(
        stdout.lines().any(|line| line == "ABORT"),
        "the child did not reach its crash point: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let acknowledged: Vec<u64> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("ACK ")?.parse().ok())
        .collect();
    assert_eq!(acknowledged, (1..=CRASH_AFTER_ACKS).collect::<Vec<_>>());

    let store = SqliteStore::open(&path).unwrap();
    let loaded = store.load().unwrap();
    let stored: Vec<u64> = loaded.jobs.iter().map(|job| job.local_id).collect();
    let durable = stored.len() as u64;
    eprintln!("crash: {CRASH_AFTER_ACKS} acknowledged, {durable} durable");
    // Every acknowledged batch is there, and what is there is a prefix of the submissions.
    assert!(durable >= CRASH_AFTER_ACKS, "only {durable} jobs survived");
    assert!(durable <= CRASH_AFTER_ACKS + CRASH_IN_FLIGHT);
    assert_eq!(stored, (1..=durable).collect::<Vec<_>>());
    assert_eq!(loaded.last_local_id, durable);
    for id in [1, CRASH_AFTER_ACKS / 2, CRASH_AFTER_ACKS] {
        assert_eq!(store.runs(id).unwrap(), vec![run(id, 1)]);
    }
}
