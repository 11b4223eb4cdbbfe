//! Reading back the jobs at rest the core let go of: one job for a call about it, the ones a
//! read the core asked for finds (the next ready jobs, the jobs whose time comes, a held
//! recovery job), or a page
//! of jobs for a read of many, beside the ones the core holds.
//!
//! Each read starts only once every step made before it is durable, so it sees the job as
//! the core last left it; the shell holds on to what it lets go of while a read is under way
//! (see `Shell::let_go`), so a job read back is never older than one the core still held.

use std::sync::Arc;

use cimjob_rules::core::{job_of, StoreRead};
use cimjob_rules::model::Job;
use cimjob_store::{Claim, Claimed, JobRecord, Store};

use crate::EngineError;

/// What a read back brought.
pub(crate) enum ReadBack {
    /// One job, for the calls that waited for it; `None`: no such job (it was deleted).
    Job {
        id: u64,
        job: Result<Option<Box<Job>>, EngineError>,
    },
    /// LocalIDs for the next jobs (a shared store's block).
    LocalIds(Result<std::ops::RangeInclusive<u64>, EngineError>),
    /// The jobs in play of lapsed nodes, now this node's (a shared store's rescue).
    Rescued(Result<Vec<Job>, EngineError>),
    /// What a read the core asked for found, in its order.
    Asked {
        read: StoreRead,
        found: Result<Vec<Job>, EngineError>,
    },
}

/// The jobs the core's `read` finds, claimed for this node (a shared store's: no other node
/// takes them while the core holds them).
pub(crate) fn read_asked(store: &dyn Store, read: StoreRead) -> Result<Vec<Job>, EngineError> {
    let claim = match read {
        StoreRead::Ready { after, limit } => Claim::Ready { after, limit },
        StoreRead::Waking {
            after,
            until,
            limit,
        } => Claim::Waking {
            after,
            until,
            limit,
        },
        StoreRead::Job { id } => Claim::Job { local_id: id },
    };
    match store.claim(claim).map_err(store_error)? {
        Claimed::Here(records) => records.iter().map(parse).collect(),
        Claimed::Elsewhere(node) => Err(EngineError::HeldElsewhere { node }),
    }
}

/// The job `id`, claimed for a call about it: `Err(HeldElsewhere)` if another node holds it.
pub(crate) fn claim_job(store: &dyn Store, id: u64) -> Result<Option<Job>, EngineError> {
    match store
        .claim(Claim::Job { local_id: id })
        .map_err(store_error)?
    {
        Claimed::Here(records) => records.first().map(parse).transpose(),
        Claimed::Elsewhere(node) => Err(EngineError::HeldElsewhere { node }),
    }
}

/// A block of `count` LocalIDs from a shared store.
pub(crate) fn reserve_local_ids(
    store: &dyn Store,
    count: u64,
) -> Result<std::ops::RangeInclusive<u64>, EngineError> {
    store
        .reserve_local_ids(count)
        .map_err(store_error)?
        .ok_or_else(|| EngineError::Store("the store gives no LocalIDs".into()))
}

/// The jobs of lapsed nodes this node took over.
pub(crate) fn rescue(store: &dyn Store) -> Result<Vec<Job>, EngineError> {
    store
        .rescue()
        .map_err(store_error)?
        .iter()
        .map(parse)
        .collect()
}

fn store_error(error: cimjob_store::StoreError) -> EngineError {
    EngineError::Store(error.to_string())
}

/// The job `id` as stored.
pub(crate) fn read_job(store: &dyn Store, id: u64) -> Result<Option<Job>, EngineError> {
    store
        .job(id)
        .map_err(|e| EngineError::Store(e.to_string()))?
        .map(|record| parse(&record))
        .transpose()
}

/// The jobs `ids` name, as stored (those that exist, in LocalID order), in one read.
pub(crate) fn read_jobs(store: &dyn Store, ids: &[u64]) -> Result<Vec<Arc<Job>>, EngineError> {
    store
        .jobs(ids)
        .map_err(|e| EngineError::Store(e.to_string()))?
        .iter()
        .map(|record| parse(record).map(Arc::new))
        .collect()
}

/// The first `limit` jobs after LocalID `after`, in LocalID order: the core's `held` ones
/// (those after `after`, in order, as it held them) merged with the store's page, for the
/// ones it let go of. The core's copy of a job wins: it is never older than the store's.
pub(crate) fn read_page(
    store: &dyn Store,
    held: Vec<Arc<Job>>,
    after: u64,
    limit: usize,
) -> Result<Vec<Arc<Job>>, EngineError> {
    let stored = store
        .jobs_after(after, limit)
        .map_err(|e| EngineError::Store(e.to_string()))?;
    let mut page = Vec::with_capacity(limit);
    let mut held = held.into_iter().peekable();
    let mut stored = stored.into_iter().peekable();
    while page.len() < limit {
        let job = match (held.peek(), stored.peek()) {
            (Some(h), Some(s)) if s.local_id < h.local_id => {
                Arc::new(parse(&stored.next().expect("peeked"))?)
            }
            (Some(h), Some(s)) => {
                if s.local_id == h.local_id {
                    stored.next();
                }
                held.next().expect("peeked")
            }
            (Some(_), None) => held.next().expect("peeked"),
            (None, Some(_)) => Arc::new(parse(&stored.next().expect("peeked"))?),
            (None, None) => break,
        };
        page.push(job);
    }
    Ok(page)
}

fn parse(record: &JobRecord) -> Result<Job, EngineError> {
    job_of(record).map_err(|e| {
        EngineError::Store(format!("stored job {} does not read: {e}", record.local_id))
    })
}
