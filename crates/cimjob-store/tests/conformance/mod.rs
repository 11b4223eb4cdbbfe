//! The store contract, one suite for every backend: what is acknowledged comes back after a
//! reopen, batches take effect in order and fail alone, many batches share one transaction,
//! the change record and the positions are kept and pruned, and a newer schema is refused.
//!
//! Each test is a function generic over [`Backend`]; a test binary instantiates all of them
//! as `#[test]`s for its backend with [`conformance_tests!`].

// Each test binary uses its own part of the helpers.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use cimjob_store::{
    Batch, Census, ChangeRecord, CommitCounts, CommitTicket, JobRecord, Loaded, RunRecord, Store,
    StoreError, RETAINED_CHANGES,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// What a test needs of a backend: a fresh database of its own, a store on it (again after a
/// close), and a look inside the database at what the contract does not show.
pub trait Backend: Send + Sync + Sized + 'static {
    /// The newest schema version the backend knows (PostgreSQL has versions of its own).
    const LATEST_VERSION: i64;
    /// The store under test.
    type Store: Store + Counted + std::fmt::Debug;
    /// While it lives, the store's writer cannot write (another connection holds a lock).
    type Hold;
    /// A fresh, empty database for the test `name`, gone again when this is dropped.
    fn fresh(name: &str) -> Self;
    /// A store on this database.
    fn open(&self) -> Result<Self::Store, StoreError>;
    /// The database as the store's error messages name it.
    fn location(&self) -> String;
    /// The single integer `sql` returns, read outside the store.
    fn count(&self, sql: &str) -> i64;
    /// Runs `sql` outside the store.
    fn execute(&self, sql: &str);
    /// Blocks the store's writes until the hold is dropped.
    fn hold_writes(&self) -> Self::Hold;
    /// Checks what a clean shutdown leaves behind.
    fn check_clean_shutdown(&self) {}
}

/// What the writer has done, as each backend counts it.
pub trait Counted {
    fn counts(&self) -> CommitCounts;
}

/// Instantiates every conformance test as a `#[test]` for the backend type given.
macro_rules! conformance_tests {
    ($backend:ty) => {
        conformance_tests!(@each $backend;
            a_fresh_database_records_every_schema_version_once,
            a_database_from_a_newer_build_is_refused,
            committed_jobs_load_back_after_reopen_with_upserts_replacing_and_deletes_removing,
            a_batch_that_upserts_and_deletes_the_same_job_leaves_it_deleted,
            last_local_id_survives_deleting_every_job_and_never_decreases,
            settled_jobs_stay_in_the_store_and_come_back_one_by_one_or_by_pages,
            the_ready_queue_and_the_wake_times_are_read_in_order_a_page_at_a_time,
            runs_come_back_ordered_by_run_number_and_a_rewritten_run_replaces_the_old,
            tickets_resolve_in_submission_order_and_batches_apply_in_that_order,
            group_commit_makes_2000_batches_durable_in_few_transactions,
            a_failing_batch_fails_alone_while_its_neighbours_commit,
            close_flushes_queued_batches_then_refuses_new_ones,
            dropping_the_store_flushes_queued_batches,
            changes_come_back_in_order_after_a_position_with_both_documents,
            positions_are_set_replaced_and_forgotten,
            the_census_counts_every_stored_job_by_state_and_the_ready_ones,
            the_change_record_keeps_what_consumers_need_and_prunes_the_rest,
            the_store_works_from_inside_an_async_runtime,
            the_store_reloads_what_a_model_of_the_same_batches_holds,
        );
    };
    (@each $backend:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                conformance::$name::<$backend>(stringify!($name));
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Helpers

pub fn job(local_id: u64, job_state: u16, document: &str) -> JobRecord {
    JobRecord {
        local_id,
        job_state,
        priority: (local_id % 7) as u32,
        owner: format!("user{}", local_id % 3),
        document: document.to_owned(),
        settled: false,
        ready: false,
        wake: None,
    }
}

/// A settled job (Completed), removed at `removal_due` (its wake time) if given.
pub fn settled(local_id: u64, document: &str, removal_due: Option<i64>) -> JobRecord {
    JobRecord {
        settled: true,
        wake: removal_due.map(at_micros),
        ..job(local_id, 7, document)
    }
}

pub fn at_micros(micros: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(micros).unwrap()
}

pub fn run(local_id: u64, run_number: u32) -> RunRecord {
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

pub fn upsert(jobs: Vec<JobRecord>) -> Batch {
    Batch {
        upserts: jobs,
        ..Batch::default()
    }
}

pub fn change(seq: u64, previous: Option<&str>, current: Option<&str>) -> ChangeRecord {
    ChangeRecord {
        seq,
        at: at_micros(1_700_000_000_000_000 + seq as i64 * 1_001),
        job: seq % 5 + 1,
        kind: (seq % 4) as u8,
        previous: previous.map(str::to_owned),
        current: current.map(str::to_owned),
    }
}

pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Submits every batch before awaiting any, as a busy engine would.
pub fn commit_all(store: &dyn Store, batches: Vec<Batch>) -> Vec<Result<(), StoreError>> {
    let tickets: Vec<CommitTicket> = batches.into_iter().map(|b| store.commit(b)).collect();
    block_on(async {
        let mut outcomes = Vec::with_capacity(tickets.len());
        for ticket in tickets {
            outcomes.push(ticket.await);
        }
        outcomes
    })
}

pub fn commit_ok(store: &dyn Store, batches: Vec<Batch>) {
    for (i, outcome) in commit_all(store, batches).into_iter().enumerate() {
        outcome.unwrap_or_else(|e| panic!("batch {i} failed: {e}"));
    }
}

/// Closes the store and loads what a restarted service would see.
pub fn reopen_and_load<B: Backend>(db: &B, store: B::Store) -> (B::Store, Loaded) {
    store.close();
    drop(store);
    let store = db.open().unwrap();
    let loaded = store.load().unwrap();
    (store, loaded)
}

struct NoWake;

impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// Whether the ticket has resolved already, without waiting.
pub fn poll_now(ticket: &mut CommitTicket) -> Poll<Result<(), StoreError>> {
    let waker = Waker::from(Arc::new(NoWake));
    Pin::new(ticket).poll(&mut Context::from_waker(&waker))
}

// ---------------------------------------------------------------------------------------------
// Migrations

pub fn a_fresh_database_records_every_schema_version_once<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let latest = B::LATEST_VERSION;
    let versions =
        format!("SELECT COUNT(*) FROM schema_migrations WHERE version BETWEEN 1 AND {latest}");
    let store = db.open().unwrap();
    store.close();
    drop(store);
    assert_eq!(db.count(&versions), latest);
    assert_eq!(db.count("SELECT COUNT(*) FROM schema_migrations"), latest);

    // Reopening applies nothing twice.
    drop(db.open().unwrap());
    assert_eq!(db.count("SELECT COUNT(*) FROM schema_migrations"), latest);
}

pub fn a_database_from_a_newer_build_is_refused<B: Backend>(name: &str) {
    let db = B::fresh(name);
    drop(db.open().unwrap());
    let future = B::LATEST_VERSION + 1;
    db.execute(&format!(
        "INSERT INTO schema_migrations (version, description, applied_at) VALUES ({future}, 'future', 0)"
    ));

    let error = db.open().unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::SchemaTooNew { found, known, .. }
                if found == future && known == B::LATEST_VERSION
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&db.location()), "{message}");
    assert!(message.contains(&format!("version {future}")), "{message}");
}

// ---------------------------------------------------------------------------------------------
// What is committed comes back

pub fn committed_jobs_load_back_after_reopen_with_upserts_replacing_and_deletes_removing<
    B: Backend,
>(
    name: &str,
) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
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

    let (store, loaded) = reopen_and_load(&db, store);
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
        db.count("SELECT COUNT(*) FROM job_runs WHERE local_id = 3"),
        0
    );
    assert_eq!(
        store.runs(42).unwrap(),
        vec![],
        "an unknown job has no runs"
    );
}

pub fn a_batch_that_upserts_and_deletes_the_same_job_leaves_it_deleted<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
    commit_ok(
        &store,
        vec![Batch {
            deletes: vec![5],
            upserts: vec![job(5, 7, "{}")],
            runs: vec![run(5, 1)],
            ..Batch::default()
        }],
    );
    let (_store, loaded) = reopen_and_load(&db, store);
    assert_eq!(loaded.jobs, vec![]);
    assert_eq!(
        loaded.last_local_id, 5,
        "the deleted job's LocalID stays used"
    );
}

pub fn last_local_id_survives_deleting_every_job_and_never_decreases<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
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
    let (store, loaded) = reopen_and_load(&db, store);
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
    let (_store, loaded) = reopen_and_load(&db, store);
    assert_eq!(loaded.last_local_id, 12);
}

pub fn settled_jobs_stay_in_the_store_and_come_back_one_by_one_or_by_pages<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
    let mut jobs: Vec<JobRecord> = (1..=2500)
        .map(|id| match id % 3 {
            0 => job(id, 4, r#"{"running":true}"#),
            1 => settled(id, r#"{"done":true}"#, None),
            _ => settled(
                id,
                r#"{"done":"and removed later"}"#,
                Some(id as i64 * 1000),
            ),
        })
        .collect();
    commit_ok(&store, vec![upsert(jobs.clone())]);
    // a job that settles later, and the last one (settled) deleted
    jobs[2].settled = true;
    commit_ok(
        &store,
        vec![
            upsert(vec![jobs[2].clone()]),
            Batch {
                deletes: vec![2500],
                ..Batch::default()
            },
        ],
    );
    jobs.pop();

    let (store, loaded) = reopen_and_load(&db, store);
    let unsettled: Vec<JobRecord> = jobs.iter().filter(|j| !j.settled).cloned().collect();
    assert_eq!(loaded.jobs, unsettled, "only what is still in play loads");
    let mut removals: Vec<&JobRecord> = jobs.iter().filter(|j| j.wake.is_some()).collect();
    removals.sort_by_key(|j| (j.wake, j.local_id));
    let waking = store.waking(None, 10_000).unwrap();
    assert_eq!(waking.iter().collect::<Vec<_>>(), removals, "removals wake");
    assert_eq!(
        loaded.last_local_id, 2500,
        "the deleted job's LocalID stays used"
    );

    assert_eq!(store.job(3).unwrap().as_ref(), Some(&jobs[2]));
    assert_eq!(store.job(4).unwrap().as_ref(), Some(&jobs[3]));
    assert_eq!(store.job(2500).unwrap(), None, "deleted");
    assert_eq!(store.job(9999).unwrap(), None, "never was");
    let some = store.jobs(&[9999, 4, 3, 2500, 4, 1]).unwrap();
    assert_eq!(
        some,
        [jobs[0].clone(), jobs[2].clone(), jobs[3].clone()],
        "in one read: those that exist, each once, in LocalID order"
    );

    let mut paged = Vec::new();
    let mut after = 0;
    for _ in 0..10 {
        let page = store.jobs_after(after, 1000).unwrap();
        assert!(page.len() <= 1000);
        let Some(last) = page.last() else { break };
        after = last.local_id;
        paged.extend(page);
    }
    assert_eq!(paged, jobs, "every job once, in LocalID order");
}

pub fn the_ready_queue_and_the_wake_times_are_read_in_order_a_page_at_a_time<B: Backend>(
    name: &str,
) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
    // 3,000 jobs: ready ones at priorities 0..7 (`job` gives priority id % 7), waiting ones
    // with wake times that repeat (so LocalID breaks ties), and jobs in play
    let jobs: Vec<JobRecord> = (1..=3000u64)
        .map(|id| match id % 3 {
            0 => JobRecord {
                ready: true,
                ..job(id, 2, r#"{"ready":true}"#)
            },
            1 => JobRecord {
                wake: Some(at_micros(((id * 7919) % 500) as i64 * 1_000_000)),
                ..job(id, 2, r#"{"waits":true}"#)
            },
            _ => job(id, 4, r#"{"running":true}"#),
        })
        .collect();
    commit_ok(&store, vec![upsert(jobs.clone())]);
    let (store, loaded) = reopen_and_load(&db, store);
    let in_play: Vec<JobRecord> = jobs
        .iter()
        .filter(|j| !j.ready && j.wake.is_none())
        .cloned()
        .collect();
    assert_eq!(loaded.jobs, in_play, "a start reads only the jobs in play");

    let mut ready: Vec<JobRecord> = jobs.iter().filter(|j| j.ready).cloned().collect();
    ready.sort_by_key(|j| (j.priority, j.local_id));
    let mut read = Vec::new();
    let mut after = None;
    for _ in 0..100 {
        let page = store.ready_after(after, 150).unwrap();
        assert!(page.len() <= 150);
        let Some(last) = page.last() else { break };
        after = Some((last.priority, last.local_id));
        read.extend(page);
    }
    assert_eq!(read, ready, "lower Priority first, then LocalID, each once");

    let mut waking: Vec<JobRecord> = jobs.iter().filter(|j| j.wake.is_some()).cloned().collect();
    waking.sort_by_key(|j| (j.wake, j.local_id));
    let mut read = Vec::new();
    let mut after = None;
    for _ in 0..100 {
        let page = store.waking(after, 150).unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.wake.unwrap(), last.local_id));
        read.extend(page);
    }
    assert_eq!(read, waking, "earliest wake first, then LocalID, each once");

    // a job that starts leaves the queue; one that comes due joins it
    let started = JobRecord {
        ready: false,
        ..ready[0].clone()
    };
    let due = JobRecord {
        ready: true,
        wake: None,
        ..waking[0].clone()
    };
    commit_ok(&store, vec![upsert(vec![started.clone(), due.clone()])]);
    let head = store.ready_after(None, 3).unwrap();
    assert!(!head.contains(&ready[0]) && !head.contains(&started));
    assert!(store
        .ready_after(None, 10_000)
        .unwrap()
        .iter()
        .any(|j| j == &due));
    assert_eq!(store.waking(None, 1).unwrap(), [waking[1].clone()]);
}

pub fn runs_come_back_ordered_by_run_number_and_a_rewritten_run_replaces_the_old<B: Backend>(
    name: &str,
) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
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
    let (store, _) = reopen_and_load(&db, store);
    assert_eq!(store.runs(1).unwrap(), vec![run(1, 1), finished, run(1, 3)]);
}

// ---------------------------------------------------------------------------------------------
// Order, grouping and failure

pub fn tickets_resolve_in_submission_order_and_batches_apply_in_that_order<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
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

pub fn group_commit_makes_2000_batches_durable_in_few_transactions<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
    let batches: Vec<Batch> = (1..=2000u64)
        .map(|id| Batch {
            upserts: vec![job(id, 2, &format!(r#"{{"id":{id}}}"#))],
            last_local_id: Some(id),
            ..Batch::default()
        })
        .collect();
    commit_ok(&store, batches);

    let transactions = store.counts().transactions;
    eprintln!(
        "2000 batches committed in {transactions} transactions ({:.1} batches per transaction)",
        2000.0 / transactions as f64
    );
    assert_eq!(store.counts().batches_committed, 2000);
    assert!(
        transactions <= 200,
        "{transactions} transactions for 2000 batches: group commit is not grouping"
    );

    let (_store, loaded) = reopen_and_load(&db, store);
    assert_eq!(loaded.jobs.len(), 2000);
    assert_eq!(loaded.last_local_id, 2000);
    assert!(loaded
        .jobs
        .iter()
        .zip(1..)
        .all(|(job, id)| job.local_id == id));
}

pub fn a_failing_batch_fails_alone_while_its_neighbours_commit<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();

    // Hold the database's writes while submitting, so the writer cannot start until every
    // batch is queued: the bad batches are then certainly grouped with good ones.
    let hold = db.hold_writes();
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
    drop(hold);
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
    let location = db.location();
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
    assert_eq!(store.counts().batches_failed, 3);
    assert_eq!(store.counts().batches_committed, 37);
    // One group split at each bad batch: at most the first batch alone, then four commits.
    assert!(store.counts().transactions <= 5, "{store:?}");

    let (_store, loaded) = reopen_and_load(&db, store);
    let stored: Vec<u64> = loaded.jobs.iter().map(|job| job.local_id).collect();
    let expected: Vec<u64> = (1..=40).filter(|id| ![10, 20, 30].contains(id)).collect();
    assert_eq!(
        stored, expected,
        "a failed batch leaves nothing behind, its job included"
    );
}

pub fn close_flushes_queued_batches_then_refuses_new_ones<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store: Arc<dyn Store> = Arc::new(db.open().unwrap());
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
    let reopened = db.open().unwrap();
    assert_eq!(reopened.load().unwrap().jobs.len(), 100);
}

pub fn dropping_the_store_flushes_queued_batches<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
    let mut tickets: Vec<CommitTicket> = (1..=50)
        .map(|id| store.commit(upsert(vec![job(id, 2, "{}")])))
        .collect();
    drop(store);
    for ticket in &mut tickets {
        assert!(matches!(poll_now(ticket), Poll::Ready(Ok(()))));
    }
    db.check_clean_shutdown();
    let reopened = db.open().unwrap();
    assert_eq!(reopened.load().unwrap().jobs.len(), 50);
}

// ---------------------------------------------------------------------------------------------
// The change record and the positions

pub fn changes_come_back_in_order_after_a_position_with_both_documents<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
    // A large document too: the two are kept compressed together.
    let large = format!(r#"{{"output":"{}"}}"#, "x".repeat(200_000));
    let changes = vec![
        change(1, None, Some(r#"{"n":1}"#)),
        change(2, Some(r#"{"n":1}"#), Some(&large)),
        change(3, Some(&large), None),
        change(4, None, Some("")),
        change(5, None, None),
    ];
    commit_ok(
        &store,
        vec![
            Batch {
                upserts: vec![job(1, 2, "{}")],
                changes: changes[..3].to_vec(),
                ..Batch::default()
            },
            Batch {
                changes: changes[3..].to_vec(),
                ..Batch::default()
            },
        ],
    );
    assert_eq!(store.changes_after(0, 100).unwrap(), changes);
    assert_eq!(store.changes_after(2, 2).unwrap(), changes[2..4].to_vec());
    assert_eq!(store.changes_after(5, 10).unwrap(), vec![]);
    assert_eq!(store.changes_after(0, 0).unwrap(), vec![]);
    assert_eq!(store.load().unwrap().last_change, 5);

    let (store, loaded) = reopen_and_load(&db, store);
    assert_eq!(loaded.last_change, 5);
    assert_eq!(store.changes_after(0, usize::MAX).unwrap(), changes);
}

pub fn the_census_counts_every_stored_job_by_state_and_the_ready_ones<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
    assert_eq!(store.census().unwrap(), Census::default(), "an empty store");
    let ready = |id| JobRecord {
        ready: true,
        ..job(id, 2, "{}")
    };
    let settled = |id, state| JobRecord {
        settled: true,
        ..job(id, state, "{}")
    };
    commit_ok(
        &store,
        vec![
            upsert(vec![ready(1), ready(2), job(3, 2, "{}"), job(4, 4, "{}")]),
            upsert(vec![job(5, 4, "{}"), settled(6, 7), settled(7, 10)]),
            // one ready job starts, one finished job goes
            Batch {
                upserts: vec![job(2, 4, "{}")],
                deletes: vec![7],
                ..Batch::default()
            },
        ],
    );
    assert_eq!(
        store.census().unwrap(),
        Census {
            by_state: vec![(2, 2), (4, 3), (7, 1)],
            ready: 1,
        }
    );
}

pub fn positions_are_set_replaced_and_forgotten<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
    let position = |consumer: &str, seq: Option<u64>| (consumer.to_owned(), seq);
    commit_ok(
        &store,
        vec![
            Batch {
                changes: (1..=5).map(|seq| change(seq, None, Some("{}"))).collect(),
                positions: vec![position("notify", Some(3)), position("lane:a", Some(1))],
                ..Batch::default()
            },
            Batch {
                positions: vec![position("Zed", Some(2)), position("lane:b", Some(4))],
                ..Batch::default()
            },
        ],
    );
    assert_eq!(store.position("notify").unwrap(), Some(3));
    assert_eq!(store.position("nobody").unwrap(), None);
    // Ordered by name, byte by byte: upper case first.
    assert_eq!(
        store.positions().unwrap(),
        vec![
            ("Zed".into(), 2),
            ("lane:a".into(), 1),
            ("lane:b".into(), 4),
            ("notify".into(), 3)
        ]
    );

    commit_ok(
        &store,
        vec![Batch {
            positions: vec![
                position("notify", Some(5)),
                position("lane:a", None),
                position("never-set", None),
            ],
            ..Batch::default()
        }],
    );
    let expected: Vec<(String, u64)> = vec![
        ("Zed".into(), 2),
        ("lane:b".into(), 4),
        ("notify".into(), 5),
    ];
    assert_eq!(store.positions().unwrap(), expected);
    let (store, _) = reopen_and_load(&db, store);
    assert_eq!(store.positions().unwrap(), expected);
    assert_eq!(store.position("lane:a").unwrap(), None);
}

pub fn the_change_record_keeps_what_consumers_need_and_prunes_the_rest<B: Backend>(name: &str) {
    let db = B::fresh(name);
    let store = db.open().unwrap();
    let first_kept = |store: &B::Store| store.changes_after(0, 1).unwrap()[0].seq;
    let changes = |from: u64, to: u64| Batch {
        changes: (from..=to)
            .map(|seq| change(seq, None, Some(r#"{"n":1}"#)))
            .collect(),
        ..Batch::default()
    };
    let position = |seq: Option<u64>| Batch {
        positions: vec![("slow".to_owned(), seq)],
        ..Batch::default()
    };
    let retained = RETAINED_CHANGES as u64;

    // A consumer that has dealt with nothing keeps every change, however many.
    let mut batches = vec![position(Some(0))];
    batches.extend((0..11).map(|k| changes(k * 1000 + 1, (k + 1) * 1000)));
    commit_ok(&store, batches);
    assert_eq!(first_kept(&store), 1);

    // Once it moves on, what it has dealt with goes, but not the newest RETAINED_CHANGES.
    commit_ok(&store, vec![position(Some(700))]);
    assert_eq!(first_kept(&store), 701);
    commit_ok(&store, vec![position(None)]);
    assert_eq!(first_kept(&store), 11_000 - retained + 1);

    // Without consumers moving, pruning waits for the record to cross a multiple of 1,000.
    commit_ok(&store, vec![changes(11_001, 11_500)]);
    assert_eq!(first_kept(&store), 11_000 - retained + 1);
    commit_ok(&store, vec![changes(11_501, 12_000)]);
    assert_eq!(first_kept(&store), 12_000 - retained + 1);

    let (store, loaded) = reopen_and_load(&db, store);
    assert_eq!(loaded.last_change, 12_000);
    let kept = store.changes_after(0, usize::MAX).unwrap();
    assert_eq!(kept.len() as u64, retained);
    assert_eq!(kept.last().map(|c| c.seq), Some(12_000));
}

pub fn the_store_works_from_inside_an_async_runtime<B: Backend>(name: &str) {
    let db = Arc::new(B::fresh(name));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let on_a_worker = Arc::clone(&db);
    let task = runtime.spawn(async move {
        // Every blocking call, made on a runtime's worker thread.
        let store = on_a_worker.open().unwrap();
        store
            .commit(Batch {
                upserts: vec![job(1, 4, "{}")],
                runs: vec![run(1, 1)],
                ..Batch::default()
            })
            .await
            .unwrap();
        assert_eq!(store.load().unwrap().jobs, vec![job(1, 4, "{}")]);
        assert_eq!(store.runs(1).unwrap(), vec![run(1, 1)]);
        assert_eq!(store.positions().unwrap(), vec![]);
        store.close();
    });
    runtime.block_on(task).unwrap();
    drop(runtime);
    assert_eq!(db.open().unwrap().load().unwrap().jobs.len(), 1);
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

pub fn the_store_reloads_what_a_model_of_the_same_batches_holds<B: Backend>(name: &str) {
    let config = Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let steps = proptest::collection::vec(step(), 1..12);
    let outcome = runner.run(&steps, |steps| {
        let db = B::fresh(name);
        let store = db.open().unwrap();
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

        let (store, loaded) = reopen_and_load(&db, store);
        prop_assert_eq!(
            loaded.jobs,
            model.jobs.values().cloned().collect::<Vec<_>>()
        );
        prop_assert_eq!(loaded.last_local_id, model.last_local_id);
        for id in 1..16u64 {
            let expected: Vec<RunRecord> = model
                .runs
                .range((id, 0)..=(id, u32::MAX))
                .map(|(_, run)| run.clone())
                .collect();
            prop_assert_eq!(store.runs(id).unwrap(), expected, "runs of job {}", id);
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
