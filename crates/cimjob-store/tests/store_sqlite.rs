//! The SQLite job store against real database files: what is acknowledged is durable, batches
//! take effect in order and fail alone, many batches share one transaction, the schema is
//! versioned, and a crash of the writing process loses nothing that was acknowledged.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use cimjob_store::sqlite::SqliteStore;
use cimjob_store::{Batch, CommitTicket, JobRecord, Loaded, RunRecord, Store, StoreError};
use proptest::prelude::*;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Helpers

fn job(local_id: u64, job_state: u16, document: &str) -> JobRecord {
    JobRecord {
        local_id,
        job_state,
        priority: (local_id % 7) as u32,
        owner: format!("user{}", local_id % 3),
        document: document.to_owned(),
    }
}

fn at_micros(micros: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(micros).unwrap()
}

fn run(local_id: u64, run_number: u32) -> RunRecord {
    RunRecord {
        local_id,
        run_number,
        started_at: at_micros(1_700_000_000_000_000 + i64::from(run_number) * 1_000_001),
        ended_at: None,
        exit_status: None,
        signal: None,
        error_code: 0,
        error_description: None,
        final_state: None,
    }
}

fn upsert(jobs: Vec<JobRecord>) -> Batch {
    Batch {
        upserts: jobs,
        ..Batch::default()
    }
}

/// A database path in a directory that does not exist yet, so `open` must create it.
fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("state").join("jobs.db")
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// Submits every batch before awaiting any, as a busy engine would.
fn commit_all(store: &dyn Store, batches: Vec<Batch>) -> Vec<Result<(), StoreError>> {
    let tickets: Vec<CommitTicket> = batches.into_iter().map(|b| store.commit(b)).collect();
    block_on(async {
        let mut outcomes = Vec::with_capacity(tickets.len());
        for ticket in tickets {
            outcomes.push(ticket.await);
        }
        outcomes
    })
}

fn commit_ok(store: &dyn Store, batches: Vec<Batch>) {
    for (i, outcome) in commit_all(store, batches).into_iter().enumerate() {
        outcome.unwrap_or_else(|e| panic!("batch {i} failed: {e}"));
    }
}

/// Closes the store and loads what a restarted service would see.
fn reopen_and_load(store: SqliteStore, path: &Path) -> (SqliteStore, Loaded) {
    store.close();
    drop(store);
    let store = SqliteStore::open(path).unwrap();
    let loaded = store.load().unwrap();
    (store, loaded)
}

struct NoWake;

impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// Whether the ticket has resolved already, without waiting.
fn poll_now(ticket: &mut CommitTicket) -> Poll<Result<(), StoreError>> {
    let waker = Waker::from(Arc::new(NoWake));
    Pin::new(ticket).poll(&mut Context::from_waker(&waker))
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
    assert_eq!(versions(&path), vec![1, 2, 3]);
    let mode: String = raw(&path)
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    // Reopening applies nothing twice.
    drop(SqliteStore::open(&path).unwrap());
    assert_eq!(versions(&path), vec![1, 2, 3]);
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
fn a_database_from_a_newer_build_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    drop(SqliteStore::open(&path).unwrap());
    raw(&path)
        .execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (4, 'future', 0)",
            [],
        )
        .unwrap();

    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::SchemaTooNew {
                found: 4,
                known: 3,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("version 4"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// What is committed comes back

#[test]
fn committed_jobs_load_back_after_reopen_with_upserts_replacing_and_deletes_removing() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load().unwrap(), Loaded::default());

    commit_ok(
        &store,
        vec![
            Batch {
                upserts: vec![
                    job(3, 2, r#"{"n":3}"#),
                    job(1, 2, r#"{"n":1}"#),
                    job(2, 2, "{}"),
                ],
                runs: vec![run(1, 1), run(3, 1), run(3, 2)],
                last_local_id: Some(3),
                ..Batch::default()
            },
            Batch {
                upserts: vec![job(2, 4, r#"{"n":2,"running":true}"#)],
                deletes: vec![3],
                ..Batch::default()
            },
        ],
    );

    let (store, loaded) = reopen_and_load(store, &path);
    assert_eq!(
        loaded,
        Loaded {
            jobs: vec![
                job(1, 2, r#"{"n":1}"#),
                job(2, 4, r#"{"n":2,"running":true}"#)
            ],
            last_local_id: 3,
            last_change: 0,
        }
    );
    assert_eq!(store.runs(1).unwrap(), vec![run(1, 1)]);
    assert_eq!(
        store.runs(3).unwrap(),
        vec![],
        "a deleted job's runs go with it"
    );
    assert_eq!(
        count(&path, "SELECT COUNT(*) FROM job_runs WHERE local_id = 3"),
        0
    );
    assert_eq!(
        store.runs(42).unwrap(),
        vec![],
        "an unknown job has no runs"
    );
}

#[test]
fn a_batch_that_upserts_and_deletes_the_same_job_leaves_it_deleted() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    commit_ok(
        &store,
        vec![Batch {
            deletes: vec![5],
            upserts: vec![job(5, 7, "{}")],
            runs: vec![run(5, 1)],
            ..Batch::default()
        }],
    );
    let (_store, loaded) = reopen_and_load(store, &path);
    assert_eq!(loaded.jobs, vec![]);
    assert_eq!(
        loaded.last_local_id, 5,
        "the deleted job's LocalID stays used"
    );
}

#[test]
fn last_local_id_survives_deleting_every_job_and_never_decreases() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    commit_ok(
        &store,
        vec![
            Batch {
                upserts: vec![job(1, 2, "{}"), job(2, 2, "{}"), job(3, 2, "{}")],
                last_local_id: Some(3),
                ..Batch::default()
            },
            Batch {
                last_local_id: Some(10),
                ..Batch::default()
            },
            Batch {
                deletes: vec![1, 2, 3],
                ..Batch::default()
            },
            Batch {
                last_local_id: Some(4),
                ..Batch::default()
            },
        ],
    );
    let (store, loaded) = reopen_and_load(store, &path);
    assert_eq!(loaded.jobs, vec![]);
    assert_eq!(loaded.last_local_id, 10);

    // A job upserted beyond the mark raises it even when the batch forgot to.
    commit_ok(
        &store,
        vec![
            upsert(vec![job(12, 2, "{}")]),
            Batch {
                deletes: vec![12],
                ..Batch::default()
            },
        ],
    );
    let (_store, loaded) = reopen_and_load(store, &path);
    assert_eq!(loaded.last_local_id, 12);
}

#[test]
fn runs_come_back_ordered_by_run_number_and_a_rewritten_run_replaces_the_old() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let finished = RunRecord {
        ended_at: Some(at_micros(1_700_000_123_456_789)),
        exit_status: Some(3),
        signal: Some(15),
        error_code: 1002,
        error_description: Some("exited with status 3".into()),
        final_state: Some(10),
        ..run(1, 2)
    };
    commit_ok(
        &store,
        vec![
            Batch {
                upserts: vec![job(1, 4, "{}")],
                runs: vec![run(1, 3), run(1, 1), run(1, 2)],
                ..Batch::default()
            },
            Batch {
                runs: vec![finished.clone()],
                ..Batch::default()
            },
        ],
    );
    assert_eq!(
        store.runs(1).unwrap(),
        vec![run(1, 1), finished.clone(), run(1, 3)]
    );
    let (store, _) = reopen_and_load(store, &path);
    assert_eq!(store.runs(1).unwrap(), vec![run(1, 1), finished, run(1, 3)]);
}

// ---------------------------------------------------------------------------------------------
// Order, grouping and failure

#[test]
fn tickets_resolve_in_submission_order_and_batches_apply_in_that_order() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let mut tickets: Vec<CommitTicket> = (0..300)
        .map(|step| store.commit(upsert(vec![job(1, 4, &format!(r#"{{"step":{step}}}"#))])))
        .collect();

    let last = tickets.pop().unwrap();
    block_on(last).unwrap();
    for (step, ticket) in tickets.iter_mut().enumerate() {
        assert!(
            matches!(poll_now(ticket), Poll::Ready(Ok(()))),
            "ticket {step} had not resolved when ticket 299 did"
        );
    }
    assert_eq!(
        store.load().unwrap().jobs,
        vec![job(1, 4, r#"{"step":299}"#)]
    );
}

#[test]
fn group_commit_makes_2000_batches_durable_in_few_transactions() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let batches: Vec<Batch> = (1..=2000u64)
        .map(|id| Batch {
            upserts: vec![job(id, 2, &format!(r#"{{"id":{id}}}"#))],
            last_local_id: Some(id),
            ..Batch::default()
        })
        .collect();
    commit_ok(&store, batches);

    let transactions = store.transactions_committed();
    eprintln!(
        "2000 batches committed in {transactions} transactions ({:.1} batches per transaction)",
        2000.0 / transactions as f64
    );
    assert_eq!(store.batches_committed(), 2000);
    assert!(
        transactions <= 200,
        "{transactions} transactions for 2000 batches: group commit is not grouping"
    );

    let (_store, loaded) = reopen_and_load(store, &path);
    assert_eq!(loaded.jobs.len(), 2000);
    assert_eq!(loaded.last_local_id, 2000);
    assert!(loaded
        .jobs
        .iter()
        .zip(1..)
        .all(|(job, id)| job.local_id == id));
}

#[test]
fn a_failing_batch_fails_alone_while_its_neighbours_commit() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();

    // Hold the database's write lock while submitting, so the writer cannot start until every
    // batch is queued: the bad batches are then certainly grouped with good ones.
    let blocker = raw(&path);
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let tickets: Vec<CommitTicket> = (1..=40u64)
        .map(|id| {
            let mut batch = upsert(vec![job(id, 2, "{}")]);
            match id {
                // A run for a job that does not exist: the foreign key refuses it.
                10 => batch.runs.push(run(999, 1)),
                // An empty document: the CHECK refuses it.
                20 => batch.upserts[0].document.clear(),
                // A LocalID beyond what the store can keep.
                30 => batch.upserts.push(job(u64::MAX, 2, "{}")),
                _ => {}
            }
            store.commit(batch)
        })
        .collect();
    blocker.execute_batch("COMMIT").unwrap();
    let outcomes: Vec<Result<(), StoreError>> = block_on(async {
        let mut outcomes = Vec::new();
        for ticket in tickets {
            outcomes.push(ticket.await);
        }
        outcomes
    });

    let failed: Vec<u64> = (1..=40)
        .filter(|&id| outcomes[id as usize - 1].is_err())
        .collect();
    assert_eq!(failed, vec![10, 20, 30]);
    let message = |id: usize| outcomes[id - 1].as_ref().unwrap_err().to_string();
    let location = path.display().to_string();
    assert!(message(10).contains(&location), "{}", message(10));
    assert!(
        message(10).contains("write run 1 of job 999"),
        "{}",
        message(10)
    );
    assert!(message(20).contains("upsert job 20"), "{}", message(20));
    assert!(
        matches!(
            outcomes[29],
            Err(StoreError::OutOfRange {
                value: u64::MAX,
                ..
            })
        ),
        "{:?}",
        outcomes[29]
    );
    assert_eq!(store.batches_failed(), 3);
    assert_eq!(store.batches_committed(), 37);
    // One group split at each bad batch: at most the first batch alone, then four commits.
    assert!(store.transactions_committed() <= 5, "{store:?}");

    let (_store, loaded) = reopen_and_load(store, &path);
    let stored: Vec<u64> = loaded.jobs.iter().map(|job| job.local_id).collect();
    let expected: Vec<u64> = (1..=40).filter(|id| ![10, 20, 30].contains(id)).collect();
    assert_eq!(
        stored, expected,
        "a failed batch leaves nothing behind, its job included"
    );
}

#[test]
fn close_flushes_queued_batches_then_refuses_new_ones() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let mut tickets: Vec<CommitTicket> = (1..=100)
        .map(|id| store.commit(upsert(vec![job(id, 2, "{}")])))
        .collect();
    store.close();
    for (i, ticket) in tickets.iter_mut().enumerate() {
        assert!(
            matches!(poll_now(ticket), Poll::Ready(Ok(()))),
            "ticket {i}"
        );
    }

    let late = block_on(store.commit(upsert(vec![job(101, 2, "{}")])));
    assert!(matches!(late, Err(StoreError::Closed { .. })), "{late:?}");
    store.close(); // harmless twice
    assert_eq!(
        store.load().unwrap().jobs.len(),
        100,
        "reads still work after close"
    );

    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.load().unwrap().jobs.len(), 100);
}

#[test]
fn dropping_the_store_flushes_queued_batches() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let mut tickets: Vec<CommitTicket> = (1..=50)
        .map(|id| store.commit(upsert(vec![job(id, 2, "{}")])))
        .collect();
    drop(store);
    for ticket in &mut tickets {
        assert!(matches!(poll_now(ticket), Poll::Ready(Ok(()))));
    }
    let wal = path.with_extension("db-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len, 0, "a clean shutdown leaves no WAL to replay");
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.load().unwrap().jobs.len(), 50);
}

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

// ---------------------------------------------------------------------------------------------
// The store against a model

#[derive(Clone, Debug)]
enum Op {
    Upsert { id: u64, state: u16, tag: u8 },
    Delete { id: u64 },
    Run { id: u64, number: u32, code: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1..16u64, 0..13u16, any::<u8>()).prop_map(|(id, state, tag)| Op::Upsert { id, state, tag }),
        1 => (1..16u64).prop_map(|id| Op::Delete { id }),
        2 => (1..16u64, 1..4u32, 0..3u16).prop_map(|(id, number, code)| Op::Run { id, number, code }),
    ]
}

/// One engine step: its operations, a declared high-water mark, and whether it is merged into
/// the step before it instead of being committed on its own.
fn step() -> impl Strategy<Value = (Vec<Op>, Option<u64>, bool)> {
    (
        proptest::collection::vec(op(), 0..6),
        proptest::option::of(0..40u64),
        any::<bool>(),
    )
}

#[derive(Default)]
struct Model {
    jobs: BTreeMap<u64, JobRecord>,
    runs: BTreeMap<(u64, u32), RunRecord>,
    deleted: BTreeSet<u64>,
    last_local_id: u64,
}

impl Model {
    /// Builds the batch for a step the way the engine would (never touching a deleted LocalID,
    /// never writing a run for a job that does not exist) and applies it to the model with the
    /// store's documented semantics: upserts, runs, deletes, then the mark.
    fn step(&mut self, ops: &[Op], mark: Option<u64>) -> Batch {
        let mut batch = Batch {
            last_local_id: mark,
            ..Batch::default()
        };
        for op in ops {
            match *op {
                Op::Upsert { id, state, tag } if !self.deleted.contains(&id) => {
                    batch
                        .upserts
                        .push(job(id, state, &format!(r#"{{"tag":{tag}}}"#)));
                }
                Op::Delete { id } => batch.deletes.push(id),
                Op::Run { id, number, code }
                    if !self.deleted.contains(&id)
                        && (self.jobs.contains_key(&id)
                            || batch.upserts.iter().any(|job| job.local_id == id)) =>
                {
                    batch.runs.push(RunRecord {
                        error_code: code,
                        ..run(id, number)
                    });
                }
                _ => {}
            }
        }
        for job in &batch.upserts {
            self.last_local_id = self.last_local_id.max(job.local_id);
            self.jobs.insert(job.local_id, job.clone());
        }
        for run in &batch.runs {
            self.runs
                .insert((run.local_id, run.run_number), run.clone());
        }
        for &id in &batch.deletes {
            self.jobs.remove(&id);
            self.runs.retain(|&(job, _), _| job != id);
            self.deleted.insert(id);
        }
        self.last_local_id = self.last_local_id.max(mark.unwrap_or(0));
        batch
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn the_store_reloads_what_a_model_of_the_same_batches_holds(
        steps in proptest::collection::vec(step(), 1..12),
    ) {
        let dir = TempDir::new().unwrap();
        let path = db_path(&dir);
        let store = SqliteStore::open(&path).unwrap();
        let mut model = Model::default();
        let mut batches: Vec<Batch> = Vec::new();
        for (ops, mark, merge_into_previous) in &steps {
            let batch = model.step(ops, *mark);
            match batches.last_mut() {
                Some(previous) if *merge_into_previous => previous.merge(batch),
                _ => batches.push(batch),
            }
        }
        for (i, outcome) in commit_all(&store, batches).into_iter().enumerate() {
            prop_assert!(outcome.is_ok(), "batch {} failed: {:?}", i, outcome);
        }

        let (store, loaded) = reopen_and_load(store, &path);
        prop_assert_eq!(loaded.jobs, model.jobs.values().cloned().collect::<Vec<_>>());
        prop_assert_eq!(loaded.last_local_id, model.last_local_id);
        for id in 1..16u64 {
            let expected: Vec<RunRecord> = model
                .runs
                .range((id, 0)..=(id, u32::MAX))
                .map(|(_, run)| run.clone())
                .collect();
            prop_assert_eq!(store.runs(id).unwrap(), expected, "runs of job {}", id);
        }
    }
}
