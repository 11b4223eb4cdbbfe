//! What the SQL backends ([`sqlite`](crate::sqlite), [`postgres`](crate::postgres)) share, so
//! that they keep one meaning of a batch and of a stored row:
//! - the statements, written so that SQLite and PostgreSQL both accept them (`$N` parameters,
//!   `ON CONFLICT ... DO UPDATE`, `excluded`);
//! - [`plan`]: what a [`Batch`] means as an ordered list of row operations ([`Op`]), with every
//!   value already converted to the columns' integers, and the step each names in an error;
//! - the conversions of stored rows back into records, refusing values that do not fit;
//! - the change record's retention arithmetic ([`prune_through`]).
//!
//! Each backend only executes: how it binds, pipelines or prepares is its own.

use crate::{
    from_stored_integer, from_stored_micros, to_stored_integer, Batch, ChangeRecord, JobRecord,
    Loaded, RunRecord, StoreError, MAX_RETAINED_CHANGES, RETAINED_CHANGES,
};

/// What a job's upsert replaces of a stored row: every column it writes but the LocalID
/// (a shared store's also replaces the holder).
macro_rules! job_replaced {
    () => {
        "job_state = excluded.job_state, priority = excluded.priority, owner = excluded.owner, \
         document = excluded.document, settled = excluded.settled, ready = excluded.ready, \
         wake_us = excluded.wake_us, updated_at = excluded.updated_at"
    };
}

/// Inserts a job or replaces it whole: `local_id, job_state, priority, owner, document,
/// settled, ready, wake_us, updated_at`.
pub(crate) const UPSERT_JOB: &str = concat!(
    "INSERT INTO jobs (local_id, job_state, priority, owner, document, settled, ready, \
     wake_us, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (local_id) DO UPDATE SET ",
    job_replaced!()
);

/// Inserts a run or replaces it whole, in [`RunRow`]'s order.
pub(crate) const UPSERT_RUN: &str = "\
INSERT INTO job_runs (local_id, run_number, started_at_us, ended_at_us, exit_status, signal,
                      error_code, error_description, final_state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (local_id, run_number) DO UPDATE SET
    started_at_us = excluded.started_at_us,
    ended_at_us = excluded.ended_at_us,
    exit_status = excluded.exit_status,
    signal = excluded.signal,
    error_code = excluded.error_code,
    error_description = excluded.error_description,
    final_state = excluded.final_state";

/// Deletes a job's runs. The schema cascades too; deleting them explicitly keeps "a deleted
/// job has no runs" true even on a connection where foreign keys are not enforced.
pub(crate) const DELETE_RUNS: &str = "DELETE FROM job_runs WHERE local_id = $1";

/// Deletes a job (after [`DELETE_RUNS`]).
pub(crate) const DELETE_JOB: &str = "DELETE FROM jobs WHERE local_id = $1";

/// Raises the LocalID high-water mark to `$1`, never lowering it.
pub(crate) const RAISE_LAST_LOCAL_ID: &str = "\
INSERT INTO meta (key, value) VALUES ('last_local_id', $1)
ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value < excluded.value";

/// The LocalID high-water mark.
pub(crate) const SELECT_LAST_LOCAL_ID: &str = "SELECT value FROM meta WHERE key = 'last_local_id'";

/// Appends one change: `seq, at_us, job, kind, docs` (see [`crate::change_docs`]).
pub(crate) const INSERT_CHANGE: &str = "\
INSERT INTO changes (seq, at_us, job, kind, docs) VALUES ($1, $2, $3, $4, $5)";

/// Raises the last change's number to `$1`, never lowering it.
pub(crate) const RAISE_LAST_CHANGE: &str = "\
UPDATE meta SET value = $1 WHERE key = 'last_change' AND value < $1";

/// The last change's number.
pub(crate) const SELECT_LAST_CHANGE: &str = "SELECT value FROM meta WHERE key = 'last_change'";

/// The changes after `$1`, in order, at most `$2`.
pub(crate) const SELECT_CHANGES: &str = "\
SELECT seq, at_us, job, kind, docs FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2";

/// Records a consumer's position: `consumer, seq`.
pub(crate) const SET_POSITION: &str = "\
INSERT INTO positions (consumer, seq) VALUES ($1, $2)
ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq";

/// Forgets a consumer's position.
pub(crate) const FORGET_POSITION: &str = "DELETE FROM positions WHERE consumer = $1";

/// One consumer's position.
pub(crate) const SELECT_POSITION: &str = "SELECT seq FROM positions WHERE consumer = $1";

/// Every position, unordered: [`positions`] sorts them, so that the order does not depend on a
/// backend's collation.
pub(crate) const SELECT_POSITIONS: &str = "SELECT consumer, seq FROM positions";

/// The jobs in each JobState, and how many of them are ready, in JobState order.
pub(crate) const SELECT_CENSUS: &str =
    "SELECT job_state, COUNT(*), SUM(ready) FROM jobs GROUP BY job_state ORDER BY job_state";

/// The census from [`SELECT_CENSUS`]'s rows of (JobState, jobs, ready jobs).
pub(crate) fn census(
    rows: Vec<(i64, i64, i64)>,
    location: &str,
) -> Result<crate::Census, crate::StoreError> {
    let mut census = crate::Census::default();
    for (state, jobs, ready) in rows {
        let out_of_range = |what: &str, value: i64| crate::StoreError::OutOfRange {
            location: location.to_owned(),
            what: what.to_owned(),
            value: value as u64,
        };
        let state = u16::try_from(state).map_err(|_| out_of_range("job_state", state))?;
        let jobs = u64::try_from(jobs).map_err(|_| out_of_range("a count of jobs", jobs))?;
        census.by_state.push((state, jobs));
        census.ready += u64::try_from(ready).map_err(|_| out_of_range("ready jobs", ready))?;
    }
    Ok(census)
}

/// The position of the consumer furthest behind (NULL when there is none).
pub(crate) const SELECT_LOWEST_POSITION: &str = "SELECT MIN(seq) FROM positions";

/// Forgets the changes up to and including `$1`.
pub(crate) const PRUNE_CHANGES: &str = "DELETE FROM changes WHERE seq <= $1";

/// The columns of a job as [`StoredJob`] reads them; the `SELECT_*JOB*` statements' list.
macro_rules! job_columns {
    () => {
        "SELECT local_id, job_state, priority, owner, document, settled, ready, wake_us FROM jobs"
    };
}

/// Every job in play (not settled, not ready, no wake time), ordered by LocalID: a starting
/// node's jobs.
pub(crate) const SELECT_JOBS_IN_PLAY: &str = concat!(
    job_columns!(),
    " WHERE settled = 0 AND ready = 0 AND wake_us IS NULL ORDER BY local_id"
);

/// The ready jobs after (priority `$1`, LocalID `$2`) in that order, at most `$3`: the next
/// of the queue, through the partial index `jobs_ready`.
pub(crate) const SELECT_READY_AFTER: &str = concat!(
    job_columns!(),
    " WHERE ready = 1 AND (priority, local_id) > ($1, $2) ORDER BY priority, local_id LIMIT $3"
);

/// The jobs with a wake time after (`$1`, LocalID `$2`) in that order, at most `$3`: those
/// whose time comes, through the partial index `jobs_waking`.
pub(crate) const SELECT_WAKING: &str = concat!(
    job_columns!(),
    " WHERE wake_us IS NOT NULL AND (wake_us, local_id) > ($1, $2) ORDER BY wake_us, local_id LIMIT $3"
);

/// One job by LocalID (SQLite's way to read several: once for each, in process).
pub(crate) const SELECT_JOB: &str = concat!(job_columns!(), " WHERE local_id = $1");

/// The jobs whose LocalIDs are in the array `$1`, in LocalID order: PostgreSQL's way to read
/// several in one round trip (SQLite has no arrays; it runs [`SELECT_JOB`] for each).
pub(crate) const SELECT_JOBS_AMONG: &str = concat!(
    job_columns!(),
    " WHERE local_id = ANY($1) ORDER BY local_id"
);

/// The jobs after LocalID `$1`, in LocalID order, at most `$2`: a page of a read.
pub(crate) const SELECT_JOBS_AFTER: &str = concat!(
    job_columns!(),
    " WHERE local_id > $1 ORDER BY local_id LIMIT $2"
);

/// [`SELECT_READY_AFTER`]'s `$1, $2`: before every job when `after` is `None`.
pub(crate) fn ready_after_keys(
    after: Option<(u32, u64)>,
    location: &str,
) -> Result<(i64, i64), StoreError> {
    match after {
        None => Ok((-1, 0)),
        Some((priority, id)) => Ok((
            i64::from(priority),
            to_stored_integer(id, "local_id", location)?,
        )),
    }
}

/// [`SELECT_WAKING`]'s `$1, $2`: before every time when `after` is `None`.
pub(crate) fn waking_keys(
    after: Option<(jiff::Timestamp, u64)>,
    location: &str,
) -> Result<(i64, i64), StoreError> {
    match after {
        None => Ok((i64::MIN, 0)),
        Some((at, id)) => Ok((
            at.as_microsecond(),
            to_stored_integer(id, "local_id", location)?,
        )),
    }
}

/// A limit as the statements bind it.
pub(crate) fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The highest stored LocalID (NULL when there is no job).
pub(crate) const SELECT_HIGHEST_LOCAL_ID: &str = "SELECT MAX(local_id) FROM jobs";

/// One job's runs, ordered by run number, as [`StoredRun`] reads them.
pub(crate) const SELECT_RUNS: &str = "\
SELECT run_number, started_at_us, ended_at_us, exit_status, signal, error_code,
       error_description, final_state
FROM job_runs WHERE local_id = $1 ORDER BY run_number";

/// A job as its row is written: [`UPSERT_JOB`]'s parameters but `updated_at`.
pub(crate) struct JobRow<'a> {
    pub(crate) local_id: i64,
    pub(crate) job_state: i32,
    pub(crate) priority: i64,
    pub(crate) owner: &'a str,
    pub(crate) document: &'a str,
    pub(crate) settled: i32,
    pub(crate) ready: i32,
    pub(crate) wake_us: Option<i64>,
}

/// A run as its row is written: [`UPSERT_RUN`]'s parameters, in order.
pub(crate) struct RunRow<'a> {
    pub(crate) local_id: i64,
    pub(crate) run_number: i64,
    pub(crate) started_at_us: i64,
    pub(crate) ended_at_us: Option<i64>,
    pub(crate) exit_status: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) error_code: i32,
    pub(crate) error_description: Option<&'a str>,
    pub(crate) final_state: Option<i32>,
}

/// A change as its row is written: [`INSERT_CHANGE`]'s parameters, in order.
pub(crate) struct ChangeRow {
    pub(crate) seq: i64,
    pub(crate) at_us: i64,
    pub(crate) job: i64,
    pub(crate) kind: i32,
    pub(crate) docs: Vec<u8>,
}

/// One row operation of a batch, in the order [`plan`] lists them.
pub(crate) enum Op<'a> {
    /// [`UPSERT_JOB`], with the commit's time as `updated_at`.
    UpsertJob { row: JobRow<'a>, updated_at: i64 },
    /// [`UPSERT_RUN`].
    UpsertRun(RunRow<'a>),
    /// [`DELETE_RUNS`] then [`DELETE_JOB`] for this LocalID.
    DeleteJob { local_id: i64 },
    /// [`INSERT_CHANGE`].
    RecordChange(ChangeRow),
    /// [`RAISE_LAST_CHANGE`] to the batch's last change (a shared store numbers the changes
    /// itself and raises it as it appends them).
    RaiseLastChange(i64),
    /// [`SET_POSITION`].
    SetPosition { consumer: &'a str, seq: i64 },
    /// [`FORGET_POSITION`].
    ForgetPosition { consumer: &'a str },
    /// Read [`SELECT_LAST_CHANGE`] and [`SELECT_LOWEST_POSITION`] as they stand at this point,
    /// then [`PRUNE_CHANGES`] through [`prune_through`] of them, if anything.
    Prune,
    /// [`RAISE_LAST_LOCAL_ID`].
    RaiseLastLocalId(i64),
    /// Gives these jobs back to a shared store (their holder is cleared); nothing for one
    /// node's store.
    Release(Vec<i64>),
}

impl Op<'_> {
    /// The step a failure of this operation names, the same in every backend.
    pub(crate) fn step(&self) -> String {
        match self {
            Op::UpsertJob { row, .. } => format!("upsert job {}", row.local_id),
            Op::UpsertRun(run) => {
                format!("write run {} of job {}", run.run_number, run.local_id)
            }
            Op::DeleteJob { local_id } => format!("delete job {local_id}"),
            Op::RecordChange(change) => format!("record change {}", change.seq),
            Op::RaiseLastChange(_) => "raise last_change".into(),
            Op::SetPosition { consumer, .. } | Op::ForgetPosition { consumer } => {
                format!("record the position of {consumer}")
            }
            Op::Prune => "prune the change record".into(),
            Op::RaiseLastLocalId(mark) => format!("raise last_local_id to {mark}"),
            Op::Release(ids) => format!("let go of {} jobs", ids.len()),
        }
    }
}

/// What `batch` means as row operations, in the order [`Batch`] documents: upserts, runs,
/// deletes, the raised `last_change` and the changes, the positions, pruning (when positions
/// moved or the record crossed a multiple of 1,000), the raised LocalID mark, then the jobs
/// let go of.
///
/// Every value is converted first, so a value the store cannot keep
/// ([`StoreError::OutOfRange`]) fails the batch before it touches the database.
pub(crate) fn plan<'a>(
    batch: &'a Batch,
    now_us: i64,
    location: &str,
) -> Result<Vec<Op<'a>>, StoreError> {
    let mut ops = Vec::with_capacity(
        batch.upserts.len()
            + batch.runs.len()
            + batch.deletes.len()
            + batch.changes.len()
            + batch.positions.len()
            + 3,
    );
    for job in &batch.upserts {
        let row = JobRow {
            local_id: to_stored_integer(job.local_id, "local_id", location)?,
            job_state: i32::from(job.job_state),
            priority: i64::from(job.priority),
            owner: &job.owner,
            document: &job.document,
            settled: i32::from(job.settled),
            ready: i32::from(job.ready),
            wake_us: job.wake.map(jiff::Timestamp::as_microsecond),
        };
        ops.push(Op::UpsertJob {
            row,
            updated_at: now_us,
        });
    }
    for run in &batch.runs {
        ops.push(Op::UpsertRun(RunRow {
            local_id: to_stored_integer(run.local_id, "local_id", location)?,
            run_number: i64::from(run.run_number),
            started_at_us: run.started_at.as_microsecond(),
            ended_at_us: run.ended_at.map(jiff::Timestamp::as_microsecond),
            exit_status: run.exit_status,
            signal: run.signal,
            error_code: i32::from(run.error_code),
            error_description: run.error_description.as_deref(),
            final_state: run.final_state.map(i32::from),
        }));
    }
    for &local_id in &batch.deletes {
        ops.push(Op::DeleteJob {
            local_id: to_stored_integer(local_id, "local_id", location)?,
        });
    }
    if let Some(last) = batch.changes.last() {
        ops.push(Op::RaiseLastChange(to_stored_integer(
            last.seq,
            "change seq",
            location,
        )?));
        for change in &batch.changes {
            ops.push(Op::RecordChange(ChangeRow {
                seq: to_stored_integer(change.seq, "change seq", location)?,
                at_us: change.at.as_microsecond(),
                job: to_stored_integer(change.job, "local_id", location)?,
                kind: i32::from(change.kind),
                docs: crate::change_docs::encode(
                    change.previous.as_deref(),
                    change.current.as_deref(),
                ),
            }));
        }
    }
    for (consumer, position) in &batch.positions {
        ops.push(match position {
            Some(seq) => Op::SetPosition {
                consumer,
                seq: to_stored_integer(*seq, "position", location)?,
            },
            None => Op::ForgetPosition { consumer },
        });
    }
    let crossed_a_thousand = batch
        .changes
        .first()
        .zip(batch.changes.last())
        .is_some_and(|(first, last)| first.seq / 1000 != last.seq / 1000 || first.seq % 1000 == 0);
    if !batch.positions.is_empty() || crossed_a_thousand {
        ops.push(Op::Prune);
    }
    if let Some(mark) = batch.local_id_high_water() {
        ops.push(Op::RaiseLastLocalId(to_stored_integer(
            mark,
            "last_local_id",
            location,
        )?));
    }
    if !batch.released.is_empty() {
        let ids = batch.released.iter();
        let ids = ids.map(|&id| to_stored_integer(id, "local_id", location));
        ops.push(Op::Release(ids.collect::<Result<_, _>>()?));
    }
    Ok(ops)
}

/// Through which change the record may be forgotten, given the last change and the lowest
/// consumer position: what every consumer has dealt with, keeping the newest
/// [`RETAINED_CHANGES`] for event streams that resume; and, whatever the consumers, all but the
/// newest [`MAX_RETAINED_CHANGES`] (a consumer that far behind, a listener that has been dead
/// for long, skips the oldest: the record's bound). `None`: nothing to forget.
pub(crate) fn prune_through(last_change: i64, lowest_position: Option<i64>) -> Option<i64> {
    let unneeded = lowest_position
        .unwrap_or(last_change)
        .min(last_change - RETAINED_CHANGES);
    let below = unneeded.max(last_change - MAX_RETAINED_CHANGES);
    (below > 0).then_some(below)
}

/// A job as the `SELECT_*JOB*` statements read it, each integer widened to `i64`.
pub(crate) struct StoredJob {
    pub(crate) local_id: i64,
    pub(crate) job_state: i64,
    pub(crate) priority: i64,
    pub(crate) owner: String,
    pub(crate) document: String,
    pub(crate) settled: i64,
    pub(crate) ready: i64,
    pub(crate) wake_us: Option<i64>,
}

impl StoredJob {
    /// The record, refusing a stored value that does not fit its field.
    pub(crate) fn into_record(self, location: &str) -> Result<JobRecord, StoreError> {
        let local_id: u64 =
            from_stored_integer(self.local_id, || "local_id of a job".into(), location)?;
        Ok(JobRecord {
            local_id,
            job_state: from_stored_integer(
                self.job_state,
                || format!("job_state of job {local_id}"),
                location,
            )?,
            priority: from_stored_integer(
                self.priority,
                || format!("priority of job {local_id}"),
                location,
            )?,
            owner: self.owner,
            document: self.document,
            settled: self.settled != 0,
            ready: self.ready != 0,
            wake: self
                .wake_us
                .map(|us| from_stored_micros(us, || format!("wake_us of job {local_id}"), location))
                .transpose()?,
        })
    }
}

/// What a backend reads for [`loaded`], from one snapshot: [`SELECT_JOBS_IN_PLAY`],
/// [`SELECT_HIGHEST_LOCAL_ID`], [`SELECT_LAST_LOCAL_ID`] and [`SELECT_LAST_CHANGE`].
pub(crate) struct Stored {
    pub(crate) jobs: Vec<StoredJob>,
    pub(crate) highest_local_id: Option<i64>,
    pub(crate) recorded_mark: Option<i64>,
    pub(crate) last_change: Option<i64>,
}

/// What a starting engine gets from the jobs (ordered by LocalID) and the two stored marks,
/// all read from one snapshot. The LocalID mark is at least the highest stored LocalID, even
/// if the recorded one were lower (which is logged).
pub(crate) fn loaded(stored: Stored, location: &str) -> Result<Loaded, StoreError> {
    let Stored {
        jobs,
        highest_local_id,
        recorded_mark,
        last_change,
    } = stored;
    let jobs = jobs
        .into_iter()
        .map(|job| job.into_record(location))
        .collect::<Result<Vec<_>, _>>()?;
    let recorded_mark: u64 = from_stored_integer(
        recorded_mark.unwrap_or(0),
        || "last_local_id".into(),
        location,
    )?;
    let highest_job: u64 = from_stored_integer(
        highest_local_id.unwrap_or(0),
        || "local_id of a job".into(),
        location,
    )?;
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

/// A run as [`SELECT_RUNS`] reads it, each integer widened to `i64` (the process's status
/// and signal stay `i32`, as recorded).
pub(crate) struct StoredRun {
    pub(crate) run_number: i64,
    pub(crate) started_at_us: i64,
    pub(crate) ended_at_us: Option<i64>,
    pub(crate) exit_status: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) error_code: i64,
    pub(crate) error_description: Option<String>,
    pub(crate) final_state: Option<i64>,
}

impl StoredRun {
    /// The record of this run of job `local_id`, refusing a stored value that does not fit.
    pub(crate) fn into_record(
        self,
        local_id: u64,
        location: &str,
    ) -> Result<RunRecord, StoreError> {
        let run_number: u32 = from_stored_integer(
            self.run_number,
            || format!("run_number of a run of job {local_id}"),
            location,
        )?;
        let what = |field: &str| format!("{field} of run {run_number} of job {local_id}");
        Ok(RunRecord {
            local_id,
            run_number,
            started_at: from_stored_micros(self.started_at_us, || what("started_at_us"), location)?,
            ended_at: self
                .ended_at_us
                .map(|us| from_stored_micros(us, || what("ended_at_us"), location))
                .transpose()?,
            exit_status: self.exit_status,
            signal: self.signal,
            error_code: from_stored_integer(self.error_code, || what("error_code"), location)?,
            error_description: self.error_description,
            final_state: self
                .final_state
                .map(|s| from_stored_integer(s, || what("final_state"), location))
                .transpose()?,
        })
    }
}

/// A change as [`SELECT_CHANGES`] reads it, each integer widened to `i64`.
pub(crate) struct StoredChange {
    pub(crate) seq: i64,
    pub(crate) at_us: i64,
    pub(crate) job: i64,
    pub(crate) kind: i64,
    pub(crate) docs: Vec<u8>,
}

impl StoredChange {
    /// The record, its two documents decoded, refusing a stored value that does not read.
    pub(crate) fn into_record(self, location: &str) -> Result<ChangeRecord, StoreError> {
        let seq = self.seq;
        let (previous, current) =
            crate::change_docs::decode(&self.docs).map_err(|e| StoreError::Database {
                location: location.to_string(),
                step: format!("read change {seq}"),
                source: e.into(),
            })?;
        Ok(ChangeRecord {
            seq: from_stored_integer(seq, || "seq of a change".into(), location)?,
            at: from_stored_micros(self.at_us, || format!("time of change {seq}"), location)?,
            job: from_stored_integer(self.job, || format!("job of change {seq}"), location)?,
            kind: from_stored_integer(self.kind, || format!("kind of change {seq}"), location)?,
            previous,
            current,
        })
    }
}

/// A stored position back as the consumer recorded it.
pub(crate) fn position(consumer: &str, seq: i64, location: &str) -> Result<u64, StoreError> {
    from_stored_integer(seq, || format!("position of {consumer}"), location)
}

/// Every stored position, ordered by consumer name (byte order, whatever the collation).
pub(crate) fn positions(
    rows: Vec<(String, i64)>,
    location: &str,
) -> Result<Vec<(String, u64)>, StoreError> {
    let mut positions = rows
        .into_iter()
        .map(|(consumer, seq)| {
            let seq = position(&consumer, seq, location)?;
            Ok((consumer, seq))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    positions.sort_unstable();
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_what_the_slowest_consumer_needs_and_the_newest_retained() {
        // Nothing to forget while the record is young.
        assert_eq!(prune_through(RETAINED_CHANGES, None), None);
        // No consumer: keep the newest RETAINED_CHANGES.
        assert_eq!(prune_through(RETAINED_CHANGES + 5, None), Some(5));
        // A consumer further behind than that keeps its changes.
        assert_eq!(prune_through(RETAINED_CHANGES + 5, Some(3)), Some(3));
        // A consumer ahead of the retained window does not shrink it.
        assert_eq!(
            prune_through(RETAINED_CHANGES + 5, Some(RETAINED_CHANGES)),
            Some(5)
        );
        // A consumer too far behind loses all but the newest MAX_RETAINED_CHANGES.
        assert_eq!(prune_through(MAX_RETAINED_CHANGES + 7, Some(1)), Some(7));
        assert_eq!(prune_through(0, Some(0)), None);
    }

    #[test]
    fn a_batch_plans_its_rows_in_the_documented_order() {
        let job = |local_id| JobRecord {
            local_id,
            job_state: 2,
            priority: 1,
            owner: "alice".into(),
            document: "{}".into(),
            settled: false,
            ready: false,
            wake: None,
        };
        let change = |seq| ChangeRecord {
            seq,
            at: jiff::Timestamp::UNIX_EPOCH,
            job: 1,
            kind: 1,
            previous: None,
            current: Some("{}".into()),
        };
        let batch = Batch {
            upserts: vec![job(1), job(4)],
            deletes: vec![1],
            runs: vec![],
            last_local_id: Some(2),
            changes: vec![change(999), change(1000)],
            positions: vec![("a".into(), Some(3)), ("b".into(), None)],
            released: vec![4],
        };
        let steps: Vec<String> = plan(&batch, 0, "db")
            .unwrap()
            .iter()
            .map(Op::step)
            .collect();
        assert_eq!(
            steps,
            [
                "upsert job 1",
                "upsert job 4",
                "delete job 1",
                "raise last_change",
                "record change 999",
                "record change 1000",
                "record the position of a",
                "record the position of b",
                "prune the change record",
                "raise last_local_id to 4",
                "let go of 1 jobs",
            ]
        );
        assert!(plan(&Batch::default(), 0, "db").unwrap().is_empty());
        let too_big = Batch {
            deletes: vec![u64::MAX],
            ..Batch::default()
        };
        assert!(matches!(
            plan(&too_big, 0, "db"),
            Err(StoreError::OutOfRange {
                value: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn positions_come_back_in_byte_order() {
        let rows = vec![("b".into(), 2), ("B".into(), 1), ("a".into(), 3)];
        assert_eq!(
            positions(rows, "db").unwrap(),
            vec![("B".into(), 1), ("a".into(), 3), ("b".into(), 2)]
        );
        assert!(positions(vec![("x".into(), -1)], "db").is_err());
    }
}
