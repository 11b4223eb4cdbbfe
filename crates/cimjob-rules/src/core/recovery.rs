//! What the core keeps about Run Recovery Job while held recovery jobs rest in the store: a
//! failed run must find its recovery job at once, so it is read back before a run that names
//! it starts and kept ("pinned") while such a job is in memory.

use std::collections::{BTreeMap, BTreeSet};

/// The recovery jobs the core reads back or keeps, and for which jobs.
#[derive(Default)]
pub(super) struct RecoveryJobs {
    /// Recovery job → the jobs in memory that name it: while any does, it stays.
    pins: BTreeMap<u64, BTreeSet<u64>>,
    /// Recovery job being read back → the jobs to pin it for once it is back.
    recalling: BTreeMap<u64, BTreeSet<u64>>,
    /// Recovery job being read back → the runs that failed naming it while it rested (a run
    /// adopted at a restart), each with its ErrorDescription so far.
    failed: BTreeMap<u64, Vec<(u64, String)>>,
    /// Recovery jobs read back and found deleted (LocalIDs are never reused).
    gone: BTreeSet<u64>,
    /// Jobs that start without their recovery job pinned: reading it failed.
    unpinned: BTreeSet<u64>,
}

/// What a read of a recovery job was waiting for.
pub(super) struct Waiting {
    /// The jobs to pin it for.
    pub namers: BTreeSet<u64>,
    /// The failed runs to start it for, with their ErrorDescriptions so far.
    pub failed: Vec<(u64, String)>,
}

impl RecoveryJobs {
    /// Whether a job in memory names `id` as its recovery job.
    pub fn is_pinned(&self, id: u64) -> bool {
        self.pins.contains_key(&id)
    }

    /// Whether `id` was read back and found deleted.
    pub fn is_gone(&self, id: u64) -> bool {
        self.gone.contains(&id)
    }

    /// `namer` names `recovery`, which is in memory: it stays while `namer` is.
    pub fn pin(&mut self, recovery: u64, namer: u64) {
        self.pins.entry(recovery).or_default().insert(namer);
    }

    /// `namer` leaves memory; whether `recovery` is now pinned by no job.
    pub fn unpin(&mut self, recovery: u64, namer: u64) -> bool {
        let Some(namers) = self.pins.get_mut(&recovery) else {
            return false;
        };
        namers.remove(&namer);
        let last = namers.is_empty();
        if last {
            self.pins.remove(&recovery);
        }
        last
    }

    /// `namer` waits for `recovery` to be read back before it starts; whether the read must
    /// be asked for (none is under way).
    pub fn wait_to_start(&mut self, recovery: u64, namer: u64) -> bool {
        let ask = self.ask(recovery);
        self.recalling.entry(recovery).or_default().insert(namer);
        ask
    }

    /// The run of `of` failed naming `recovery`, which is in the store; whether the read must
    /// be asked for.
    pub fn wait_after_failure(&mut self, recovery: u64, of: u64, description: String) -> bool {
        let ask = self.ask(recovery);
        self.failed
            .entry(recovery)
            .or_default()
            .push((of, description));
        ask
    }

    fn ask(&self, recovery: u64) -> bool {
        !self.recalling.contains_key(&recovery) && !self.failed.contains_key(&recovery)
    }

    /// The read of `recovery` came back (`found`: it exists): what waited for it. A deleted
    /// one is remembered, so no run waits for it again.
    pub fn arrived(&mut self, recovery: u64, found: bool) -> Waiting {
        if !found {
            self.gone.insert(recovery);
        }
        self.take(recovery)
    }

    /// The read of `recovery` failed: what waited for it; the jobs that were to start start
    /// without it rather than wait on a store that fails.
    pub fn unreadable(&mut self, recovery: u64) -> Waiting {
        let waiting = self.take(recovery);
        self.unpinned.extend(waiting.namers.iter().copied());
        Waiting {
            namers: BTreeSet::new(),
            failed: waiting.failed,
        }
    }

    fn take(&mut self, recovery: u64) -> Waiting {
        Waiting {
            namers: self.recalling.remove(&recovery).unwrap_or_default(),
            failed: self.failed.remove(&recovery).unwrap_or_default(),
        }
    }

    /// Whether `namer` starts without its recovery job (once): reading it failed.
    pub fn starts_unpinned(&mut self, namer: u64) -> bool {
        self.unpinned.remove(&namer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_job_is_asked_for_once_and_pinned_for_the_jobs_that_waited() {
        let mut r = RecoveryJobs::default();
        assert!(r.wait_to_start(7, 1), "the first asks the store");
        assert!(!r.wait_to_start(7, 2), "the second waits for the same read");
        assert!(!r.wait_after_failure(7, 3, "failed".into()));
        let waiting = r.arrived(7, true);
        assert_eq!(waiting.namers, BTreeSet::from([1, 2]));
        assert_eq!(waiting.failed, [(3, "failed".to_string())]);
        r.pin(7, 1);
        r.pin(7, 2);
        assert!(r.is_pinned(7));
        assert!(!r.unpin(7, 1), "job 2 still names it");
        assert!(r.unpin(7, 2), "the last one lets it go");
        assert!(!r.is_pinned(7) && !r.is_gone(7));
        assert!(r.wait_to_start(7, 4), "read again once it was let go");
    }

    #[test]
    fn a_deleted_recovery_job_is_remembered_and_an_unreadable_one_lets_its_jobs_start() {
        let mut r = RecoveryJobs::default();
        r.wait_to_start(7, 1);
        r.arrived(7, false);
        assert!(r.is_gone(7));

        r.wait_to_start(8, 2);
        r.wait_after_failure(8, 3, "failed".into());
        let waiting = r.unreadable(8);
        assert!(waiting.namers.is_empty(), "nothing to pin");
        assert_eq!(waiting.failed.len(), 1, "the failed run is told");
        assert!(r.starts_unpinned(2), "job 2 starts without it");
        assert!(!r.starts_unpinned(2), "once");
    }
}
