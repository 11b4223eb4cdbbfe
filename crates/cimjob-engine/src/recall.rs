//! Reading back the settled jobs the core let go of: one job for a call about it (or its due
//! removal), or all of them for a read of every job, beside the ones the core holds.
//!
//! Each read starts only once every step made before it is durable, so it sees the job as
//! the core last left it; the shell holds on to what it lets go of while a read is under way
//! (see `Shell::let_go`), so a job read back is never older than one the core still held.

use std::collections::HashMap;
use std::sync::Arc;

use cimjob_rules::core::job_of;
use cimjob_rules::model::Job;
use cimjob_store::{JobRecord, Store};

use crate::EngineError;

/// How many settled jobs one read of the store brings.
const PAGE: usize = 1000;

/// One job read back, for the calls that waited for it.
pub(crate) struct Recalled {
    pub(crate) id: u64,
    /// `None`: no such job (it was deleted).
    pub(crate) job: Result<Option<Job>, EngineError>,
}

/// The job `id` as stored.
pub(crate) fn read_job(store: &dyn Store, id: u64) -> Result<Option<Job>, EngineError> {
    store
        .job(id)
        .map_err(|e| EngineError::Store(e.to_string()))?
        .map(|record| parse(&record))
        .transpose()
}

/// Every job: the ones the core `held` (as it held them) and the settled ones from the store,
/// in LocalID order. `last_local_id` bounds the pages read.
pub(crate) fn read_all(
    store: &dyn Store,
    held: Vec<Arc<Job>>,
    last_local_id: u64,
) -> Result<Vec<Arc<Job>>, EngineError> {
    let mut settled = Vec::new();
    let mut after = 0;
    // bounded: each page moves past at least one LocalID, and none is above the mark
    for _ in 0..=last_local_id / PAGE as u64 + 1 {
        let page = store
            .settled_after(after, PAGE)
            .map_err(|e| EngineError::Store(e.to_string()))?;
        let Some(last) = page.last() else { break };
        after = last.local_id;
        let full = page.len() == PAGE;
        settled.extend(page);
        if !full {
            break;
        }
    }
    let mut held: HashMap<u64, Arc<Job>> = held.into_iter().map(|j| (j.local_id, j)).collect();
    let mut all = Vec::with_capacity(held.len() + settled.len());
    for record in &settled {
        // the core's own is never older than the store's
        match held.remove(&record.local_id) {
            Some(job) => all.push(job),
            None => all.push(Arc::new(parse(record)?)),
        }
    }
    all.extend(held.into_values());
    all.sort_by_key(|j| j.local_id);
    Ok(all)
}

fn parse(record: &JobRecord) -> Result<Job, EngineError> {
    job_of(record).map_err(|e| {
        EngineError::Store(format!("stored job {} does not read: {e}", record.local_id))
    })
}
