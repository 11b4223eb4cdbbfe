//! The floor under the process-jobs figure: the least any service must do per job if, as
//! ARCHITECTURE.md's "durable before visible" requires, every state change is durable before it is announced, and a job is
//! recorded as started before its process exists (so a crash never leaves a process that the
//! store does not know of). No HTTP, no engine, no output capture, no progress socket: each
//! worker thread makes one durable SQLite transaction per job (the job before it ended, this
//! one starting; already two changes to one commit, as group commit would), then spawns and
//! waits for `/bin/true`. The rows are stored before the clock starts, so submissions cost it
//! nothing. Whatever the service reaches, it cannot beat this; comparing the two with the
//! plain spawn loop says how much of the gap is durability and how much is the service.

use std::sync::Mutex;

use anyhow::Context;

use super::{run_true, timed_workers};

/// A stored row about the size of the service's (its document is 1,166 bytes).
const DOCUMENT_BYTES: usize = 1166;

/// `n` jobs through `workers` threads as described above: (jobs/s, CPU ms per job, the
/// children's included).
pub fn durable_spawn_loop(n: usize, workers: usize) -> anyhow::Result<(f64, f64)> {
    let dir = tempfile::tempdir()?;
    let mut db = rusqlite::Connection::open(dir.path().join("floor.db"))?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "FULL")?;
    db.execute_batch(
        "CREATE TABLE jobs (local_id BIGINT NOT NULL PRIMARY KEY,
            job_state INTEGER NOT NULL, document TEXT NOT NULL, updated_at BIGINT NOT NULL);",
    )?;
    let document = "x".repeat(DOCUMENT_BYTES);
    let stored = db.transaction()?;
    for id in 0..n {
        stored.execute(
            "INSERT INTO jobs VALUES (?1, 2, ?2, 0)",
            rusqlite::params![id as i64, document],
        )?;
    }
    stored.commit()?;
    let db = Mutex::new(db);
    let measured = timed_workers(n, workers, |next| {
        let mut ended: Option<usize> = None;
        loop {
            let starting = Some(next()).filter(|&id| id < n);
            record(&db, ended, starting)?;
            if starting.is_none() {
                return Ok(());
            }
            run_true()?;
            ended = starting;
        }
    })?;
    let db = db.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let completed: i64 = db
        .query_row("SELECT count(*) FROM jobs WHERE job_state = 7", [], |r| {
            r.get(0)
        })
        .context("counting completed rows")?;
    anyhow::ensure!(completed == n as i64, "{completed} of {n} rows completed");
    Ok(measured)
}

/// One durable transaction: `ended` Completed (7), `starting` Running (4).
fn record(
    db: &Mutex<rusqlite::Connection>,
    ended: Option<usize>,
    starting: Option<usize>,
) -> anyhow::Result<()> {
    if ended.is_none() && starting.is_none() {
        return Ok(());
    }
    let mut db = db.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let now = jiff::Timestamp::now().as_microsecond();
    let txn = db.transaction()?;
    for (id, state) in [(ended, 7), (starting, 4)] {
        if let Some(id) = id {
            txn.execute(
                "UPDATE jobs SET job_state = ?1, updated_at = ?2 WHERE local_id = ?3",
                rusqlite::params![state, now, id as i64],
            )?;
        }
    }
    txn.commit()?;
    Ok(())
}
