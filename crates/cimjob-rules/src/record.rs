//! The plain data the rules hand to a store: a job as stored ([`JobRecord`]), one run of its
//! history ([`RunRecord`]), everything one step changed ([`Batch`]) and what a starting node
//! reads back ([`Loaded`]).
//!
//! A store keeps these without interpreting them (a job is an opaque document plus the
//! columns queries need); only the rules read documents. They live here, with the rules that
//! make them, so that no store backend is needed to test a rule.

/// One job as stored: the whole job as JSON, plus the columns the store must be able to search
/// and sort on without parsing JSON.
///
/// The indexed columns duplicate fields of `document`; the engine keeps them in step.
///
/// ```
/// use cimjob_rules::record::JobRecord;
/// let job = JobRecord {
///     local_id: 7,
///     job_state: 2, // New
///     priority: 0,
///     owner: "alice".into(),
///     document: r#"{"Name":"backup"}"#.into(),
///     settled: false,
///     ready: false,
///     wake: None,
/// };
/// assert_eq!(job.local_id, 7);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    /// The job's LocalID, the number in its InstanceID `CIMJOB:<LocalID>`; never reused.
    /// The store keeps integers as signed 64-bit, so values above `i64::MAX` are refused.
    pub local_id: u64,
    /// The job's JobState value (e.g. 4 = Running), so a starting node can find what was running.
    pub job_state: u16,
    /// Lower runs first; kept as a column so runnable jobs can be claimed in order.
    pub priority: u32,
    /// The authenticated user who submitted the job; kept as a column for per-user listing.
    pub owner: String,
    /// JSON of the whole job. Must not be empty.
    pub document: String,
    /// Only a call about the job moves it again (but a removal at its `wake`): it has ended
    /// (Completed, Exception, Terminated, Killed), or it is held until a Start request. A
    /// starting node does not load it and the engine lets it go from memory; it is read from
    /// the store when asked for.
    pub settled: bool,
    /// The job waits only for a free slot: a node reads the next ones to start from the
    /// store, in (`priority`, `local_id`) order, instead of holding them all.
    pub ready: bool,
    /// When a job the engine may let go of next needs the rules: a waiting job's next start
    /// (a scheduled run, a re-run after backoff) or a settled one's removal. A node reads
    /// the jobs whose time comes, in (`wake`, `local_id`) order, instead of holding them.
    pub wake: Option<jiff::Timestamp>,
}

/// One run of a job, for the run history that a recurring job accumulates.
///
/// Times are kept to the microsecond; anything finer is dropped when stored.
///
/// ```
/// use cimjob_rules::record::RunRecord;
/// let run = RunRecord {
///     local_id: 7,
///     run_number: 1,
///     started_at: "2025-01-02T03:04:05Z".parse().unwrap(),
///     ended_at: None,
///     exit_status: None,
///     signal: None,
///     error_code: 0,
///     error_description: None,
///     final_state: None,
/// };
/// assert!(run.ended_at.is_none()); // still running
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// The job this run belongs to; the job must exist when the run is written.
    pub local_id: u64,
    /// 1 for the first run, counting up; `(local_id, run_number)` identifies the run.
    pub run_number: u32,
    /// When the run started.
    pub started_at: jiff::Timestamp,
    /// When the run ended; `None` while it is going.
    pub ended_at: Option<jiff::Timestamp>,
    /// The process's exit status, when it exited.
    pub exit_status: Option<i32>,
    /// The signal that ended the process, when one did.
    pub signal: Option<i32>,
    /// The job's ErrorCode for this run (0 = no error).
    pub error_code: u16,
    /// The job's ErrorDescription for this run.
    pub error_description: Option<String>,
    /// The JobState the run ended in; `None` while it is going.
    pub final_state: Option<u16>,
}

/// Everything one engine step changed, committed as ONE transaction: all of it is durable, or
/// none of it is.
///
/// Within a batch the store applies, in this order: `upserts` (in vector order, so a later
/// upsert of the same job wins), `runs` (same), `deletes`, then raises the LocalID high-water
/// mark. So a job that a batch deletes is gone afterwards whatever else the batch says about
/// it ("delete wins"), and a run may be written in the same batch that first upserts its job.
///
/// ```
/// use cimjob_rules::record::{Batch, JobRecord};
/// let mut step = Batch::default();
/// assert!(step.is_empty());
/// step.upserts.push(JobRecord {
///     local_id: 1,
///     job_state: 2,
///     priority: 0,
///     owner: "alice".into(),
///     document: "{}".into(),
///     settled: false,
///     ready: false,
///     wake: None,
/// });
/// step.last_local_id = Some(1);
/// let mut later = Batch::default();
/// later.deletes.push(1);
/// step.merge(later); // one transaction that creates and retires job 1
/// assert_eq!(step.deletes, vec![1]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Jobs to insert or replace whole, keyed by `local_id`.
    pub upserts: Vec<JobRecord>,
    /// LocalIDs of jobs to delete, with their run history.
    pub deletes: Vec<u64>,
    /// Run records to insert or replace, keyed by `(local_id, run_number)`.
    pub runs: Vec<RunRecord>,
    /// The highest LocalID allocated so far. The stored mark only ever rises (a lower value is
    /// ignored) and survives the deletion of every job, so LocalIDs are never reused. The store
    /// also raises it to the highest upserted LocalID, so a forgotten mark cannot cause reuse.
    pub last_local_id: Option<u64>,
    /// Changes to append to the change record, in order (their `seq` increasing by one).
    pub changes: Vec<ChangeRecord>,
    /// Consumers' positions in the change record to set (`Some`: the last change the consumer
    /// has dealt with) or to forget (`None`: the consumer is gone).
    pub positions: Vec<(String, Option<u64>)>,
    /// LocalIDs of jobs this node let go of, given back to a shared store for any node to
    /// claim (applied after the upserts: a job is let go of as it was last written; a store
    /// that one node serves ignores them).
    pub released: Vec<u64>,
}

/// One change of one job, as the change record keeps it: what every consumer (indications,
/// Notify, event streams) reads from the position it keeps, so none skips a change however
/// slow it is, and a restart resumes where each stopped.
///
/// ```
/// use cimjob_rules::record::ChangeRecord;
/// let created = ChangeRecord {
///     seq: 1,
///     at: "2026-12-01T02:00:00Z".parse().unwrap(),
///     job: 7,
///     kind: 1,
///     previous: None,
///     current: Some(r#"{"Name":"backup"}"#.into()),
/// };
/// assert!(created.previous.is_none()); // a creation has no previous state
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeRecord {
    /// Its place in the record: from 1, one more for each change, never reused.
    pub seq: u64,
    /// When the change was made.
    pub at: jiff::Timestamp,
    /// The job's LocalID.
    pub job: u64,
    /// What kind of change ([`crate::events::EventKind::number`]).
    pub kind: u8,
    /// The job before, as its stored document (`None` for a creation).
    pub previous: Option<String>,
    /// The job after (`None` for a deletion).
    pub current: Option<String>,
}

impl Batch {
    /// Whether committing this batch would change nothing, so a caller can skip it.
    ///
    /// ```
    /// use cimjob_rules::record::Batch;
    /// assert!(Batch::default().is_empty());
    /// assert!(!Batch { last_local_id: Some(3), ..Batch::default() }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty()
            && self.deletes.is_empty()
            && self.runs.is_empty()
            && self.last_local_id.is_none()
            && self.changes.is_empty()
            && self.positions.is_empty()
            && self.released.is_empty()
    }

    /// Folds a later batch into this one, so several engine steps can share one transaction.
    ///
    /// The result has the effect of committing `self` and then `other`: a later upsert of the
    /// same job or run replaces the earlier one, deletes accumulate, and the high-water mark is
    /// the larger of the two. LocalIDs are never reused, so `other` does not upsert a job that
    /// `self` deletes; if it did, the merged batch deletes it (delete wins).
    ///
    /// ```
    /// use cimjob_rules::record::Batch;
    /// let mut a = Batch { last_local_id: Some(5), ..Batch::default() };
    /// a.merge(Batch { last_local_id: Some(3), deletes: vec![2], ..Batch::default() });
    /// assert_eq!(a.last_local_id, Some(5));
    /// assert_eq!(a.deletes, vec![2]);
    /// ```
    pub fn merge(&mut self, other: Batch) {
        use std::collections::{HashMap, HashSet};

        let Batch {
            upserts,
            deletes,
            runs,
            last_local_id,
            changes,
            positions,
            released,
        } = other;
        self.changes.extend(changes);
        self.positions.extend(positions);
        // a job let go of and then written again is this node's once more
        self.released
            .retain(|id| !upserts.iter().any(|job| job.local_id == *id));
        self.released.extend(released);

        if !upserts.is_empty() {
            let mut index: HashMap<u64, usize> = self
                .upserts
                .iter()
                .enumerate()
                .map(|(i, job)| (job.local_id, i))
                .collect();
            for job in upserts {
                match index.get(&job.local_id) {
                    Some(&i) => self.upserts[i] = job,
                    None => {
                        index.insert(job.local_id, self.upserts.len());
                        self.upserts.push(job);
                    }
                }
            }
        }

        if !runs.is_empty() {
            let mut index: HashMap<(u64, u32), usize> = self
                .runs
                .iter()
                .enumerate()
                .map(|(i, run)| ((run.local_id, run.run_number), i))
                .collect();
            for run in runs {
                let key = (run.local_id, run.run_number);
                match index.get(&key) {
                    Some(&i) => self.runs[i] = run,
                    None => {
                        index.insert(key, self.runs.len());
                        self.runs.push(run);
                    }
                }
            }
        }

        if !deletes.is_empty() {
            let mut seen: HashSet<u64> = self.deletes.iter().copied().collect();
            for local_id in deletes {
                if seen.insert(local_id) {
                    self.deletes.push(local_id);
                }
            }
        }

        self.last_local_id = match (self.last_local_id, last_local_id) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// The value the stored LocalID high-water mark must reach once this batch is applied:
    /// the declared mark or the highest upserted LocalID, whichever is larger.
    pub fn local_id_high_water(&self) -> Option<u64> {
        let upserted = self.upserts.iter().map(|job| job.local_id).max();
        match (self.last_local_id, upserted) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// How many stored jobs are in each JobState, and how many of them wait ready for a free
/// slot: what an operator's metrics show, counted by the store rather than read job by job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// (JobState number, how many jobs), in JobState order; states no job is in are left out.
    pub by_state: Vec<(u16, u64)>,
    /// The jobs ready to start, waiting only for a slot (the queue's depth).
    pub ready: u64,
}

impl Census {
    /// The census of `records`, for a store that holds them all at hand.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a JobRecord>) -> Census {
        let mut by_state = std::collections::BTreeMap::<u16, u64>::new();
        let mut ready = 0;
        for record in records {
            *by_state.entry(record.job_state).or_default() += 1;
            ready += u64::from(record.ready);
        }
        Census {
            by_state: by_state.into_iter().collect(),
            ready,
        }
    }
}

/// What a starting engine rebuilds its in-memory state from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Loaded {
    /// Every stored job in play, ordered by `local_id`: not settled, not `ready` and with no
    /// `wake` (those the engine reads when it needs them).
    pub jobs: Vec<JobRecord>,
    /// The LocalID high-water mark: the next job gets a larger LocalID than this. At least the
    /// largest stored LocalID, even if the recorded mark were somehow lower.
    pub last_local_id: u64,
    /// The last change in the change record: the next change is numbered one more.
    pub last_change: u64,
}
