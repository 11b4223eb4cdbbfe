//! Durable submissions acknowledged per second, with 1 and with many concurrent clients, beside
//! a plain rusqlite loop that inserts the same row into the same table with the same
//! durability (WAL, `synchronous=FULL`, one transaction per row): the cost of everything the
//! service adds (HTTP, authentication, validation, the engine) against what group commit
//! saves.

use std::time::Instant;

use super::service_with_held_jobs;
use anyhow::Context;

/// Submissions per second of `n` held jobs from `clients` concurrent clients, and one stored
/// row of them (job_state, priority, owner, document) for the baseline.
async fn service_rate(
    n: usize,
    clients: usize,
) -> anyhow::Result<(f64, (i64, i64, String, String))> {
    let (service, took) = service_with_held_jobs(n, clients).await?;
    let rate = n as f64 / took.as_secs_f64();
    let dir = service.stop()?;
    let db = rusqlite::Connection::open(dir.path().join("cimjob.db"))?;
    let row = db
        .query_row(
            "SELECT job_state, priority, owner, document FROM jobs ORDER BY local_id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .context("a stored job")?;
    Ok((rate, row))
}

/// The baseline: `n` inserts of `row`, each its own durable transaction.
fn rusqlite_rate(n: usize, row: &(i64, i64, String, String)) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let db = rusqlite::Connection::open(dir.path().join("baseline.db"))?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "FULL")?;
    db.execute_batch(
        "CREATE TABLE jobs (
            local_id BIGINT NOT NULL PRIMARY KEY, job_state INTEGER NOT NULL,
            priority BIGINT NOT NULL, owner TEXT NOT NULL, document TEXT NOT NULL,
            updated_at BIGINT NOT NULL);",
    )?;
    let mut insert = db.prepare(
        "INSERT INTO jobs (local_id, job_state, priority, owner, document, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let start = Instant::now();
    for i in 0..n {
        insert.execute(rusqlite::params![
            i as i64, row.0, row.1, row.2, row.3, i as i64
        ])?;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// The table rows: one per client count.
pub async fn figures(n: usize, client_counts: &[usize]) -> anyhow::Result<Vec<String>> {
    let mut rows = Vec::new();
    for &clients in client_counts {
        let (ours, row) = service_rate(n, clients).await?;
        let base = rusqlite_rate(n, &row)?;
        rows.push(format!(
            "| durable submissions acknowledged per second, {n} held jobs from {clients} client(s) vs a plain rusqlite loop inserting the same {} B row (WAL, synchronous=FULL, a transaction each) | {ours:.0}/s | {base:.0}/s | {:.2}× |",
            row.3.len(),
            ours / base
        ));
    }
    Ok(rows)
}
