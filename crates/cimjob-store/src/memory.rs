//! [`MemoryStore`]: the [`Store`] contract kept in memory, for tests of what a caller does
//! around durability.
//!
//! It applies a batch exactly as the contract says (upserts, then runs, then deletes, then the
//! LocalID high-water mark) and resolves tickets in submission order, like the SQLite store;
//! it only keeps nothing across a process. What it adds is control over *when* a commit
//! becomes durable: after [`MemoryStore::hold`], batches wait until [`MemoryStore::release`],
//! so a test can look at everything the caller did while its change was not yet durable.
//!
//! ```
//! use cimjob_store::memory::MemoryStore;
//! use cimjob_store::{Batch, Store};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! store.hold();
//! let ticket = store.commit(Batch { last_local_id: Some(4), ..Batch::default() });
//! assert_eq!(store.waiting(), 1); // not durable yet
//! store.release();
//! assert!(ticket.await.is_ok());
//! assert_eq!(store.load().unwrap().last_local_id, 4);
//! # });
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{
    Batch, ChangeRecord, CommitCompletion, CommitTicket, JobRecord, Loaded, RunRecord, Store,
    StoreError,
};

const LOCATION: &str = "memory";

/// A store in memory whose commits a test can hold back; see the [module](self) docs.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: BTreeMap<u64, JobRecord>,
    runs: BTreeMap<(u64, u32), RunRecord>,
    last_local_id: u64,
    changes: BTreeMap<u64, ChangeRecord>,
    positions: HashMap<String, u64>,
    held: bool,
    waiting: VecDeque<(Batch, CommitCompletion)>,
    applied: usize,
    closed: bool,
}

impl Inner {
    fn apply(&mut self, batch: Batch) {
        let mark = batch.local_id_high_water();
        for job in batch.upserts {
            self.jobs.insert(job.local_id, job);
        }
        for run in batch.runs {
            self.runs.insert((run.local_id, run.run_number), run);
        }
        for id in batch.deletes {
            self.jobs.remove(&id);
            self.runs.retain(|&(job, _), _| job != id);
        }
        if let Some(mark) = mark {
            self.last_local_id = self.last_local_id.max(mark);
        }
        for change in batch.changes {
            self.changes.insert(change.seq, change);
        }
        for (consumer, position) in batch.positions {
            match position {
                Some(seq) => self.positions.insert(consumer, seq),
                None => self.positions.remove(&consumer),
            };
        }
        self.applied += 1;
    }

    fn drain(&mut self) {
        while let Some((batch, done)) = self.waiting.pop_front() {
            self.apply(batch);
            done.complete(Ok(()));
        }
    }
}

impl MemoryStore {
    /// An empty store that commits at once.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store holding what `loaded` says, as a restarted service would find it.
    pub fn with(loaded: Loaded) -> MemoryStore {
        let store = MemoryStore::new();
        let mut inner = store.lock();
        inner.last_local_id = loaded.last_local_id;
        inner.jobs = loaded.jobs.into_iter().map(|j| (j.local_id, j)).collect();
        drop(inner);
        store
    }

    /// What a restart finds: a new store holding everything this one made durable (jobs,
    /// runs, the marks, the change record, the positions), committing at once.
    pub fn reopened(&self) -> MemoryStore {
        let inner = self.lock();
        let copy = Inner {
            jobs: inner.jobs.clone(),
            runs: inner.runs.clone(),
            last_local_id: inner.last_local_id,
            changes: inner.changes.clone(),
            positions: inner.positions.clone(),
            ..Inner::default()
        };
        MemoryStore {
            inner: Mutex::new(copy),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on, committed batches wait (not durable, tickets unresolved) until
    /// [`MemoryStore::release`].
    pub fn hold(&self) {
        self.lock().held = true;
    }

    /// Makes every waiting batch durable, in order, resolves their tickets, and commits at
    /// once again.
    pub fn release(&self) {
        let mut inner = self.lock();
        inner.held = false;
        inner.drain();
    }

    /// As [`MemoryStore::release`], but resolves the tickets newest first (the batches still
    /// apply in order). This breaks the contract's order on purpose: it shows that a caller
    /// handles its completions in its own order, whatever order they arrive in.
    pub fn release_newest_first(&self) {
        let mut inner = self.lock();
        inner.held = false;
        let mut done = Vec::new();
        while let Some((batch, completion)) = inner.waiting.pop_front() {
            inner.apply(batch);
            done.push(completion);
        }
        for completion in done.into_iter().rev() {
            completion.complete(Ok(()));
        }
    }

    /// How many batches wait for [`MemoryStore::release`].
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    /// How many batches have been made durable so far.
    pub fn applied(&self) -> usize {
        self.lock().applied
    }
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Loaded, StoreError> {
        let inner = self.lock();
        Ok(Loaded {
            jobs: inner
                .jobs
                .values()
                .filter(|j| !j.settled && !j.ready && j.wake.is_none())
                .cloned()
                .collect(),
            last_local_id: inner
                .jobs
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0)
                .max(inner.last_local_id),
            last_change: inner.changes.keys().next_back().copied().unwrap_or(0),
        })
    }

    fn jobs(&self, local_ids: &[u64]) -> Result<Vec<JobRecord>, StoreError> {
        let wanted: std::collections::BTreeSet<u64> = local_ids.iter().copied().collect();
        let inner = self.lock();
        Ok(wanted
            .into_iter()
            .filter_map(|id| inner.jobs.get(&id).cloned())
            .collect())
    }

    fn jobs_after(&self, after: u64, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .jobs
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, j)| j.clone())
            .collect())
    }

    fn ready_after(
        &self,
        after: Option<(u32, u64)>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let inner = self.lock();
        let mut ready: Vec<&JobRecord> = inner
            .jobs
            .values()
            .filter(|j| j.ready && after.is_none_or(|key| (j.priority, j.local_id) > key))
            .collect();
        ready.sort_by_key(|j| (j.priority, j.local_id));
        Ok(ready.into_iter().take(limit).cloned().collect())
    }

    fn waking(
        &self,
        after: Option<(jiff::Timestamp, u64)>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let inner = self.lock();
        let mut waking: Vec<(jiff::Timestamp, &JobRecord)> = inner
            .jobs
            .values()
            .filter_map(|j| Some((j.wake?, j)))
            .filter(|(at, j)| after.is_none_or(|key| (*at, j.local_id) > key))
            .collect();
        waking.sort_by_key(|(at, j)| (*at, j.local_id));
        Ok(waking
            .into_iter()
            .take(limit)
            .map(|(_, j)| j.clone())
            .collect())
    }

    fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .changes
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, c)| c.clone())
            .collect())
    }

    fn position(&self, consumer: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.lock().positions.get(consumer).copied())
    }

    fn census(&self) -> Result<crate::Census, StoreError> {
        Ok(crate::Census::of(self.lock().jobs.values()))
    }

    fn positions(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .positions
            .iter()
            .map(|(c, s)| (c.clone(), *s))
            .collect())
    }

    fn commit(&self, batch: Batch) -> CommitTicket {
        let mut inner = self.lock();
        if inner.closed {
            return CommitTicket::ready(Err(StoreError::Closed {
                location: LOCATION.into(),
            }));
        }
        let (done, ticket) = CommitTicket::channel();
        inner.waiting.push_back((batch, done));
        if !inner.held {
            inner.drain();
        }
        ticket
    }

    fn runs(&self, local_id: u64) -> Result<Vec<RunRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .runs
            .range((local_id, 0)..=(local_id, u32::MAX))
            .map(|(_, run)| run.clone())
            .collect())
    }

    fn close(&self) {
        let mut inner = self.lock();
        inner.drain();
        inner.closed = true;
    }
}
