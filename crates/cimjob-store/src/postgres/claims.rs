//! What a node of a shared schema takes and gives back: claims of jobs for its core, the
//! rescue of lapsed nodes' jobs, blocks of LocalIDs, and the statements that write a job only
//! while this node holds it.
//!
//! Each job row names its **holder**, the node whose core holds it (NULL: at rest, for any
//! node to claim). A node claims with one statement that checks its own lease first (the
//! [`FENCE`](crate::lease::FENCE) as a `FOR KEY SHARE` sub-query) and takes the rows with
//! `FOR UPDATE SKIP LOCKED`, so two nodes claiming at once take different jobs and a node
//! whose lease lapsed takes none. Claims run on the writer's connection, in order with the
//! batches: a job given back by a batch is claimable by the next claim, and a job claimed is
//! written by the batches after it. A job is written only by its holder
//! ([`UPSERT_HELD_JOB`]: the row is left alone, and the batch fails, when another node holds
//! it).
//!
//! A claim runs in a transaction of its own, so its rows reach this node before its COMMIT is
//! sent: should the connection be lost during that COMMIT, the jobs it may have taken are
//! known ([`Unseen`]) and settled on the next connection, never left held by a node whose
//! core does not know them.

use std::sync::Mutex;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use super::{column, failure, stored_job, Failure, Live, WriteStatements};
use crate::lease::Tenure;
use crate::{Claim, Claimed, JobRecord, StoreError};

/// The columns [`super::stored_job`] reads, of the `jobs` row just updated.
macro_rules! returning_job {
    () => {
        " RETURNING jobs.local_id, jobs.job_state, jobs.priority, jobs.owner, jobs.document, \
         jobs.settled, jobs.ready, jobs.wake_us"
    };
}

/// This incarnation's lease, as a sub-query: `$1` node, `$2` incarnation.
macro_rules! fenced {
    () => {
        "WITH fence AS (SELECT 1 FROM nodes WHERE node = $1 AND incarnation = $2 \
         AND fenced_by IS NULL AND lease_until > now() FOR KEY SHARE) "
    };
}

/// Claims the first `$3` ready jobs no node holds, in (Priority, LocalID) order.
pub(super) const CLAIM_READY: &str = concat!(
    fenced!(),
    ", picked AS (SELECT local_id FROM jobs WHERE ready = 1 AND holder IS NULL \
     AND EXISTS (SELECT 1 FROM fence) ORDER BY priority, local_id LIMIT $3 \
     FOR UPDATE SKIP LOCKED) \
     UPDATE jobs SET holder = $1 FROM picked WHERE jobs.local_id = picked.local_id",
    returning_job!()
);

/// Claims the first `$4` jobs no node holds whose wake time is at most `$3`.
pub(super) const CLAIM_WAKING: &str = concat!(
    fenced!(),
    ", picked AS (SELECT local_id FROM jobs WHERE wake_us IS NOT NULL AND wake_us <= $3 \
     AND holder IS NULL AND EXISTS (SELECT 1 FROM fence) ORDER BY wake_us, local_id LIMIT $4 \
     FOR UPDATE SKIP LOCKED) \
     UPDATE jobs SET holder = $1 FROM picked WHERE jobs.local_id = picked.local_id",
    returning_job!()
);

/// Claims job `$3` if no other node holds it.
pub(super) const CLAIM_JOB: &str = concat!(
    fenced!(),
    ", picked AS (SELECT local_id FROM jobs WHERE local_id = $3 \
     AND (holder IS NULL OR holder = $1) AND EXISTS (SELECT 1 FROM fence) FOR UPDATE) \
     UPDATE jobs SET holder = $1 FROM picked WHERE jobs.local_id = picked.local_id",
    returning_job!()
);

/// The jobs `$1` this node `$2` holds in play, as [`TAKE_IN_PLAY`] returns them.
const HELD_IN_PLAY_OF: &str = "SELECT local_id, job_state, priority, owner, document, settled, \
     ready, wake_us FROM jobs WHERE local_id = ANY($1) AND holder = $2 \
     AND settled = 0 AND ready = 0 AND wake_us IS NULL";

/// Who holds job `$1` (no row: no such job).
pub(super) const HOLDER_OF: &str = "SELECT holder FROM jobs WHERE local_id = $1";

/// Inserts a job or replaces it whole, as [`crate::sql::UPSERT_JOB`] with the writing node
/// `$10` as its holder; a row another node holds is left alone and the statement fails (so
/// the batch does, alone).
pub(super) const UPSERT_HELD_JOB: &str = concat!(
    "WITH written AS (INSERT INTO jobs (local_id, job_state, priority, owner, document, \
     settled, ready, wake_us, updated_at, holder) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (local_id) DO UPDATE SET ",
    job_replaced!(),
    ", holder = excluded.holder \
     WHERE jobs.holder IS NULL OR jobs.holder = excluded.holder RETURNING 1) \
     SELECT CASE WHEN count(*) = 0 THEN cimjob_refuse(format( \
     'job %s is held by another node; nothing was written', $1::bigint)) ELSE 1 END \
     FROM written"
);

/// Gives back the jobs `$1` this node `$2` holds; tells the other nodes (on `$3`, the
/// schema's channel) when a ready one is among them, so a free node claims it at once.
pub(super) const RELEASE: &str = "\
WITH released AS (
    UPDATE jobs SET holder = NULL WHERE local_id = ANY($1) AND holder = $2 RETURNING ready)
SELECT pg_notify($3, 'pool') FROM (SELECT 1 FROM released WHERE ready = 1 LIMIT 1) AS any_ready";

/// Appends a group's changes `($1 at_us, $2 job, $3 kind, $4 docs)[]`, numbered after the
/// record's last, which it raises: the row lock on `last_change` (held to the commit, and
/// taken last) numbers the nodes' changes in commit order, so a reader never sees a number
/// before a lower one.
pub(super) const APPEND_CHANGES: &str = "\
WITH base AS (
    UPDATE meta SET value = value + cardinality($1::bigint[]) WHERE key = 'last_change'
    RETURNING value - cardinality($1::bigint[]) AS last)
INSERT INTO changes (seq, at_us, job, kind, docs)
SELECT base.last + c.n, c.at_us, c.job, c.kind, c.docs
FROM base, unnest($1::bigint[], $2::bigint[], $3::integer[], $4::bytea[])
    WITH ORDINALITY AS c(at_us, job, kind, docs, n)";

/// Reserves `$1` LocalIDs above every one given or stored; the last of them.
pub(super) const RESERVE_LOCAL_IDS: &str = "\
INSERT INTO meta (key, value)
VALUES ('last_local_id', (SELECT coalesce(max(local_id), 0) FROM jobs) + $1)
ON CONFLICT (key) DO UPDATE
SET value = greatest(meta.value, (SELECT coalesce(max(local_id), 0) FROM jobs)) + $1
RETURNING value";

/// Fences the nodes (not `$1`) whose lease lapsed; their names. `FOR UPDATE` waits for
/// their writes in flight (the fence's `FOR KEY SHARE`), so none commits after.
const FENCE_LAPSED: &str = "UPDATE nodes SET fenced_by = $1 WHERE node IN (
     SELECT node FROM nodes WHERE node <> $1 AND fenced_by IS NULL AND lease_until <= now()
     FOR UPDATE) AND lease_until <= now() RETURNING node";

/// Gives back every job of the nodes `$1` that is not in play (at rest, ready, or waiting
/// for a time) for any node to claim.
const RETURN_AT_REST: &str = "UPDATE jobs SET holder = NULL
     WHERE holder = ANY($1) AND NOT (settled = 0 AND ready = 0 AND wake_us IS NULL)";

/// Makes `$2` the holder of the jobs in play of the nodes `$1` (and of any in play that no
/// node holds: a schema one node served before holders were kept).
const TAKE_IN_PLAY: &str = concat!(
    "UPDATE jobs SET holder = $2 WHERE (holder = ANY($1) OR holder IS NULL) \
     AND settled = 0 AND ready = 0 AND wake_us IS NULL",
    returning_job!()
);

/// The claim a caller is waiting for, and where its answer goes.
pub(super) enum ClaimRequest {
    /// [`crate::Store::claim`].
    Claim(Claim, super::Reply<Claimed>),
    /// [`crate::Store::rescue`].
    Rescue(super::Reply<Vec<JobRecord>>),
    /// [`crate::Store::reserve_local_ids`].
    LocalIds(u64, super::Reply<std::ops::RangeInclusive<u64>>),
}

impl ClaimRequest {
    /// Answers the claim with `error`.
    pub(super) fn fail(&self, error: StoreError) {
        // the caller may have stopped waiting
        match self {
            ClaimRequest::Claim(_, reply) => drop(reply.send(Err(error))),
            ClaimRequest::Rescue(reply) => drop(reply.send(Err(error))),
            ClaimRequest::LocalIds(_, reply) => drop(reply.send(Err(error))),
        }
    }
}

/// The jobs a claim or a rescue took in a transaction whose COMMIT went unanswered (the
/// connection was lost during it): taken or not, only the database can say, on the next
/// connection.
#[derive(Debug, Default)]
pub(super) struct Unseen {
    /// Claimed at rest: given back before the next claim, as the core never got them.
    claimed: Vec<i64>,
    /// Rescued in play: read back by the next rescue, for the core to take over.
    rescued: Vec<i64>,
}

/// The LocalIDs of rows that begin with one.
fn ids_of(rows: &[Row]) -> Vec<i64> {
    rows.iter().map(|row| row.get::<_, i64>(0)).collect()
}

/// Runs the claim `statement` in a transaction of its own; should its COMMIT go unanswered,
/// the jobs it returned are noted in `unseen` (see [`Unseen`]). The COMMIT waits for the disk,
/// as every write of the node does: a claim the core acts on survives a server crash.
async fn claimed_alone(
    client: &Client,
    statement: &Statement,
    params: &[&(dyn ToSql + Sync)],
    unseen: &Mutex<Unseen>,
    location: &str,
    step: &str,
) -> Result<Vec<Row>, Failure> {
    let fail = |e| failure(client, location, step, e);
    client.batch_execute("BEGIN").await.map_err(fail)?;
    let rows = match client.query(statement, params).await {
        Ok(rows) => rows,
        Err(error) => {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(fail(error));
        }
    };
    let committed = client.batch_execute("COMMIT").await;
    noted_if_lost(committed.map_err(fail), &rows, unseen, |u| &mut u.claimed)?;
    Ok(rows)
}

/// `committed` as it is; a COMMIT whose answer was lost (the connection went during it) first
/// notes `rows`' jobs in the `unseen` list `which` picks, as taken or not, nobody knows.
fn noted_if_lost(
    committed: Result<(), Failure>,
    rows: &[Row],
    unseen: &Mutex<Unseen>,
    which: impl FnOnce(&mut Unseen) -> &mut Vec<i64>,
) -> Result<(), Failure> {
    if let Err(Failure::Lost(_)) = &committed {
        which(&mut lock(unseen)).extend(ids_of(rows));
    }
    committed
}

fn lock(unseen: &Mutex<Unseen>) -> std::sync::MutexGuard<'_, Unseen> {
    unseen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Gives back the jobs claims took unseen (see [`Unseen`]), before the next claim.
async fn give_back_unseen(
    live: &Live<WriteStatements>,
    node: &String,
    pool: &str,
    unseen: &Mutex<Unseen>,
    location: &str,
) -> Result<(), Failure> {
    let ids = lock(unseen).claimed.clone();
    if ids.is_empty() {
        return Ok(());
    }
    let (client, s) = (&live.client, &live.statements);
    client
        .execute(&s.give_back, &[&ids, node, &pool])
        .await
        .map_err(|e| failure(client, location, "give back the jobs of an unseen claim", e))?;
    tracing::info!(jobs = ids.len(), "gave back the jobs a claim took unseen");
    lock(unseen).claimed.retain(|id| !ids.contains(id));
    Ok(())
}

/// Carries out one claim on the writer's connection, first settling what an earlier one took
/// unseen (see [`Unseen`]).
pub(super) async fn serve(
    live: &Live<WriteStatements>,
    tenure: &Tenure,
    pool: &str,
    schema: Option<&str>,
    request: &ClaimRequest,
    unseen: &Mutex<Unseen>,
    location: &str,
) -> Result<(), Failure> {
    let node = &tenure.membership.node;
    let incarnation = &tenure.incarnation;
    let (client, s) = (&live.client, &live.statements);
    give_back_unseen(live, node, pool, unseen, location).await?;
    let jobs = |rows: Vec<Row>, step: &str| -> Result<Vec<JobRecord>, Failure> {
        rows.iter()
            .map(|row| stored_job(row, location, step)?.into_record(location))
            .collect::<Result<_, _>>()
            .map_err(Failure::Refused)
    };
    match request {
        ClaimRequest::Claim(claim, reply) => {
            let answer = match *claim {
                Claim::Ready { limit, .. } => {
                    let step = "claim ready jobs";
                    let limit = crate::sql::limit_of(limit);
                    let params: [&(dyn ToSql + Sync); 3] = [node, incarnation, &limit];
                    let rows =
                        claimed_alone(client, &s.claim_ready, &params, unseen, location, step)
                            .await?;
                    let mut claimed = jobs(rows, step)?;
                    claimed.sort_by_key(|job| (job.priority, job.local_id));
                    Claimed::Here(claimed)
                }
                Claim::Waking { until, limit, .. } => {
                    let step = "claim the jobs whose time comes";
                    let (until, limit) = (until.as_microsecond(), crate::sql::limit_of(limit));
                    let params: [&(dyn ToSql + Sync); 4] = [node, incarnation, &until, &limit];
                    let rows =
                        claimed_alone(client, &s.claim_waking, &params, unseen, location, step)
                            .await?;
                    let mut claimed = jobs(rows, step)?;
                    claimed.sort_by_key(|job| (job.wake, job.local_id));
                    Claimed::Here(claimed)
                }
                Claim::Job { local_id } => {
                    claim_job(live, tenure, local_id, unseen, location, &jobs).await?
                }
            };
            let _ = reply.send(Ok(answer));
        }
        ClaimRequest::Rescue(reply) => {
            let step = "rescue the jobs of lapsed nodes";
            let rescued = rescue(client, tenure, pool, schema, unseen, location).await?;
            // with what an earlier rescue took unseen, read back: this node holds what it has
            let earlier = {
                let mut unseen = lock(unseen);
                if !unseen.rescued.is_empty() {
                    unseen.rescued.extend(ids_of(&rescued));
                }
                unseen.rescued.clone()
            };
            let rescued = if earlier.is_empty() {
                rescued
            } else {
                let held = client
                    .query(HELD_IN_PLAY_OF, &[&earlier, node])
                    .await
                    .map_err(|e| failure(client, location, step, e))?;
                lock(unseen).rescued.retain(|id| !earlier.contains(id));
                held
            };
            let _ = reply.send(Ok(jobs(rescued, step)?));
        }
        ClaimRequest::LocalIds(count, reply) => {
            let step = "reserve LocalIDs";
            let count_param = i64::try_from(*count).unwrap_or(i64::MAX);
            let row = client
                .query_one(&s.reserve_local_ids, &[&count_param])
                .await
                .map_err(|e| failure(client, location, step, e))?;
            let last: i64 = column(&row, 0, location, step).map_err(Failure::Refused)?;
            let last = u64::try_from(last).unwrap_or(0);
            let _ = reply.send(Ok(last + 1 - count..=last));
        }
    }
    Ok(())
}

/// Claims one job, or says who holds it.
async fn claim_job(
    live: &Live<WriteStatements>,
    tenure: &Tenure,
    local_id: u64,
    unseen: &Mutex<Unseen>,
    location: &str,
    jobs: &impl Fn(Vec<Row>, &str) -> Result<Vec<JobRecord>, Failure>,
) -> Result<Claimed, Failure> {
    let (client, s) = (&live.client, &live.statements);
    let step = format!("claim job {local_id}");
    let key = crate::to_stored_integer(local_id, "local_id", location).map_err(Failure::Refused)?;
    let (node, incarnation) = (&tenure.membership.node, &tenure.incarnation);
    let params: [&(dyn ToSql + Sync); 3] = [node, incarnation, &key];
    let rows = claimed_alone(client, &s.claim_job, &params, unseen, location, &step).await?;
    if !rows.is_empty() {
        return Ok(Claimed::Here(jobs(rows, &step)?));
    }
    let holder = client
        .query_opt(&s.holder_of, &[&key])
        .await
        .map_err(|e| failure(client, location, &step, e))?;
    let Some(row) = holder else {
        return Ok(Claimed::Here(Vec::new()));
    };
    match column::<Option<String>>(&row, 0, location, &step).map_err(Failure::Refused)? {
        Some(other) if other != *node => Ok(Claimed::Elsewhere(other)),
        // free or ours, yet not claimed: this node's lease is gone
        _ => Err(Failure::Refused(StoreError::Fenced {
            location: location.to_owned(),
            node: node.clone(),
            why: "its lease lapsed or another node took over".into(),
        })),
    }
}

/// Fences the lapsed nodes and takes their jobs (see [`take_lapsed`]), if no other node is
/// doing so (the join lock, not waited for): the jobs in play this node now holds.
async fn rescue(
    client: &Client,
    tenure: &Tenure,
    pool: &str,
    schema: Option<&str>,
    unseen: &Mutex<Unseen>,
    location: &str,
) -> Result<Vec<Row>, Failure> {
    let step = "rescue the jobs of lapsed nodes";
    let fail = |e| failure(client, location, step, e);
    client.batch_execute("BEGIN").await.map_err(fail)?;
    let outcome = async {
        let locked = client
            .query_one(
                "SELECT pg_try_advisory_xact_lock($1, hashtext(coalesce($2::text, current_schema())))",
                &[&crate::lease::JOIN_LOCK, &schema],
            )
            .await
            .map_err(fail)?;
        if !column::<bool>(&locked, 0, location, step).map_err(Failure::Refused)? {
            return Ok(Vec::new());
        }
        let token: [&(dyn ToSql + Sync); 2] = [&tenure.membership.node, &tenure.incarnation];
        if client
            .query_opt(crate::lease::FENCE, &token)
            .await
            .map_err(fail)?
            .is_none()
        {
            return Ok(Vec::new());
        }
        take_lapsed(client, &tenure.membership.node, pool, false)
            .await
            .map_err(fail)
    }
    .await;
    let end = if outcome.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    let ended = client.batch_execute(end).await;
    let rows = outcome?;
    noted_if_lost(ended.map_err(fail), &rows, unseen, |u| &mut u.rescued)?;
    Ok(rows)
}

/// Inside a transaction holding the join lock: fences every other node whose lease lapsed,
/// gives their jobs at rest back to the pool and makes `node` the holder of their jobs in
/// play (and of those in play that no node holds), which it returns. At a start, `node`'s own
/// jobs that are not in play go back to the pool too: a starting core holds none of them.
pub(crate) async fn take_lapsed(
    client: &Client,
    node: &String,
    pool: &str,
    starting: bool,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let lost: Vec<String> = client
        .query(FENCE_LAPSED, &[node])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if lost.is_empty() && !starting {
        return Ok(Vec::new());
    }
    let mut givers = lost.clone();
    if starting {
        givers.push(node.clone());
    }
    client.execute(RETURN_AT_REST, &[&givers]).await?;
    let rows = client.query(TAKE_IN_PLAY, &[&lost, node]).await?;
    client
        .execute("SELECT pg_notify($1, 'pool')", &[&pool])
        .await?;
    if !lost.is_empty() {
        tracing::warn!(node = %node, lost = ?lost, jobs_in_play = rows.len(), "took over the jobs of nodes whose lease lapsed");
    }
    Ok(rows)
}
