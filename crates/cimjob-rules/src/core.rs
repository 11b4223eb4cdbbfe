//! The engine's rules as a plain value (sans-IO, like quinn-proto): every method takes the
//! current time, changes the jobs in memory and returns a [`Step`] — the store batch to make
//! durable, the events to announce once it is, and the process actions to carry out.
//!
//! The async shell (the `cimjob-engine` crate) owns the clock, the store, the runner and the
//! clients; this module owns every decision: which job starts next (priority, then
//! submission order, under the concurrency limit), what a RequestStateChange does, how a run
//! ends (Completed, or Exception and RecoveryAction), retention, and what a restart does
//! with jobs that were running when the service died.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;

use cim::CimValue;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::events::{Event, EventKind};
use crate::model::job::{instance_id, DeferredRequest, QueuedRun, Shutdown, ShutdownGoal};
use crate::model::properties::View;
use crate::model::value_maps::{
    AnswerReturn, JobErrorCode, KillJobReturn, MissedRunPolicy, OverlapPolicy, RecoveryAction,
    RequestedState, StateChangeReturn,
};
use crate::model::{apply, Job, PropertyError, PropertyErrorKind, WriteMode};
use crate::plan::{Plan, SCHEDULE_PROPERTIES};
use crate::record::{Batch, ChangeRecord, JobRecord, RunRecord};
use crate::run::{
    signal_name, ExitOutcome, Held, ProcessIdentity, RunAs, RunKey, WorkSignal, WorkSpec,
};
use crate::state::{request_state_change, Situation, Transition};

mod recovery;
use recovery::RecoveryJobs;

/// The limits and defaults the rules apply. One per node.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// How many jobs may run at once.
    pub max_running: usize,
    /// How many times Re-run Job re-runs a failing job before it gives up.
    pub max_reruns: u32,
    /// The wait before the first re-run; it doubles for each further one.
    pub rerun_backoff: SignedDuration,
    /// The longest wait between re-runs.
    pub rerun_backoff_max: SignedDuration,
    /// Terminate's wait before SIGKILL when the request gives no TimeoutPeriod.
    pub default_terminate_timeout: SignedDuration,
    /// Where per-run log files go: `<log_dir>/<LocalID>-run-<n>.log`.
    pub log_dir: PathBuf,
    /// The OS account jobs run as (the service's own).
    pub run_as_user: String,
    /// The zone "local" schedule times are read in when a job names none.
    pub zone: TimeZone,
    /// The program that drops privileges before a job runs as another OS account (the
    /// service's own binary); `None` where jobs only run as the service's account.
    pub exec_helper: Option<PathBuf>,
    /// How long before a scheduled run is due its start begins: the Starting state is made
    /// durable in that time, and the process is started at the due instant itself
    /// ([`Action::Spawn`]'s `not_before`), so the commit's latency is not the run's.
    pub start_lead: SignedDuration,
    /// This node's name, given to the work as `CIMJOB_NODE`, so a job (and whoever reads its
    /// log) can tell where each run ran once several nodes share one database.
    pub node: String,
    /// Whether several nodes share the store: the core then holds no more ready jobs than it
    /// has free slots (the rest wait in the store for whichever node is free to claim them),
    /// and takes LocalIDs from the blocks the shell grants ([`Core::grant_local_ids`]), since
    /// the store, not one node, knows which are still unused.
    pub shared: bool,
}

impl CoreConfig {
    /// Defaults for a node with `log_dir` whose "local" is `zone` and which runs at most
    /// `max_running` jobs at once (the shell passes the system's zone and a slot per CPU: the
    /// rules read neither): 3 re-runs from 1 s up to 5 min, a 10 s Terminate timeout.
    pub fn new(
        log_dir: PathBuf,
        run_as_user: &str,
        zone: TimeZone,
        max_running: usize,
    ) -> CoreConfig {
        CoreConfig {
            max_running,
            max_reruns: 3,
            rerun_backoff: SignedDuration::from_secs(1),
            rerun_backoff_max: SignedDuration::from_secs(300),
            default_terminate_timeout: SignedDuration::from_secs(10),
            log_dir,
            run_as_user: run_as_user.to_string(),
            zone,
            exec_helper: None,
            start_lead: SignedDuration::from_millis(25),
            node: String::new(),
            shared: false,
        }
    }
}

/// Something to do to a process.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Start a run of a job (only once its Starting state is durable).
    Spawn {
        /// Which run.
        key: RunKey,
        /// What to run.
        spec: WorkSpec,
        /// The planned instant of a scheduled run: not to be started before it.
        not_before: Option<Timestamp>,
    },
    /// Signal a run's process group.
    Signal {
        /// Which run.
        key: RunKey,
        /// Which signal.
        signal: WorkSignal,
    },
    /// Write a line to the work's progress descriptor (the answer to its query).
    Answer {
        /// Which run.
        key: RunKey,
        /// The answer, without newline.
        text: String,
    },
    /// Kill a process group a previous service instance left behind.
    KillOrphan(ProcessIdentity),
    /// Delete a removed job's run logs (those of runs that wrote nothing do not exist): its
    /// output goes with it instead of filling the disk.
    RemoveLogs(Vec<PathBuf>),
}

/// Something an operator should hear of that changes no job property (the core does not
/// log: the shell writes these to its log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The job it is about.
    pub job: u64,
    /// Whether it needs attention (a warning) or is only for the record.
    pub warning: bool,
    /// What happened, in words.
    pub message: String,
}

/// What one call into the core produced.
#[derive(Debug, Default)]
pub struct Step {
    /// Make this durable before anything else below happens (except `now`).
    pub batch: Batch,
    /// Announce these once the batch is durable.
    pub events: Vec<Event>,
    /// Do these at once (signals and answers: the process state is not the store's).
    pub now: Vec<Action>,
    /// Do these once the batch is durable (spawns).
    pub after_commit: Vec<Action>,
    /// Tell the operator these (they need no durability).
    pub notes: Vec<Note>,
    /// Reads of the store the core needs to go on (the next ready jobs, the jobs whose time
    /// comes): do each once what came before is durable and hand its result to
    /// [`Core::read_back`].
    pub reads: Vec<StoreRead>,
    /// Jobs this batch rewrites as they are, at rest at this Generation: let go of them once
    /// it is durable, as of the jobs its events changed.
    pub let_go: Vec<(u64, u64)>,
}

impl Step {
    /// Folds `later` into this step: one transaction with the effect of both in order, their
    /// events, actions and reads in order (a shell that holds a step back, or answers a read
    /// at once, makes one step of two).
    pub fn merge(&mut self, later: Step) {
        self.batch.merge(later.batch);
        self.events.extend(later.events);
        self.now.extend(later.now);
        self.after_commit.extend(later.after_commit);
        self.notes.extend(later.notes);
        self.reads.extend(later.reads);
        self.let_go.extend(later.let_go);
    }
}

/// A read of the store the core asked for ([`Step::reads`]), answered with the jobs it found,
/// in its order, through [`Core::read_back`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreRead {
    /// The next `limit` ready jobs after `after` in (Priority, LocalID) order: the ready
    /// queue beyond the ones the core holds (`Store::ready_after`).
    Ready {
        /// The last ready job the core holds, if any.
        after: Option<(u32, u64)>,
        /// At most this many.
        limit: usize,
    },
    /// The next `limit` jobs with a wake time after `after` in (wake, LocalID) order: those
    /// whose time comes within [`KEEP_IF_DUE_WITHIN`] are taken back (`Store::waking`).
    Waking {
        /// How far the previous reads got.
        after: Option<(Timestamp, u64)>,
        /// Only those due by then (the core keeps what wakes within [`KEEP_IF_DUE_WITHIN`];
        /// a shared store's node claims no more).
        until: Timestamp,
        /// At most this many.
        limit: usize,
    },
    /// One job at rest a rule needs: the held recovery job of a run about to start, or of
    /// one that failed while it rested (`Store::jobs`).
    Job {
        /// Its LocalID.
        id: u64,
    },
}

/// How many ready jobs the core holds at most while more wait in the store (at least twice
/// the slots): the next to start, so a freed slot never waits for a read.
pub const READY_WINDOW: usize = 256;

/// How many jobs one read of waking jobs brings back at most.
pub const WAKING_PAGE: usize = 1000;

/// How long a failed read of the store waits before it is tried again.
const READ_RETRY: SignedDuration = SignedDuration::from_secs(1);

/// The refusal of a RecoveryJob that names no job: a node of a shared store, which cannot
/// know every LocalID given, says it once the store has no such job.
pub fn missing_recovery_job(id: u64) -> PropertyError {
    PropertyError {
        property: "RecoveryJob".into(),
        kind: PropertyErrorKind::InvalidValue,
        message: format!(
            "property RecoveryJob: job {} does not exist; a recovery job must already be queued \
             (submit it held)",
            instance_id(id)
        ),
    }
}

/// The job asked for does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no job CIMJOB:{0}")]
pub struct NotFound(pub u64);

/// Why a DeleteInstance was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeleteError {
    /// No such job.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The job has not finished.
    #[error("job CIMJOB:{id} is {state}; only a finished job (Completed, Terminated, Killed, Exception) can be deleted — terminate it first")]
    NotFinished {
        /// The job.
        id: u64,
        /// Its JobState name.
        state: &'static str,
    },
}

/// Why Run now was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunNowError {
    /// No such job.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The job does not wait for its time: it runs, is ready for a slot, is held or ended.
    #[error("{job} does not wait for its time (it is {state}): only a scheduled job not yet started, or a recurring one between runs, can run now")]
    NotWaiting {
        /// Its InstanceID.
        job: String,
        /// Its JobState.
        state: &'static str,
    },
}

/// Why a ModifyInstance was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModifyError {
    /// No such job.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// A value was refused; nothing changed.
    #[error(transparent)]
    Property(#[from] PropertyError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    /// A scheduled occurrence (the job's NextRunTime).
    Due,
    /// A re-run after backoff (the job's `retry_at`).
    Rerun,
    EscalateKill,
    /// SIGKILL for a run an occurrence replaces (OverlapPolicy Replace) that outlived its
    /// SIGTERM by the default TimeoutPeriod.
    ReplaceKill,
    Removal,
}

/// A job waiting for a time this close is kept in memory: reading it back when it is due
/// would only add to its start's lateness.
pub const KEEP_IF_DUE_WITHIN: SignedDuration = SignedDuration::from_secs(10);

/// The jobs of one node and the rules that move them.
///
/// The core holds the jobs in play (starting, running, held, the first of the ready queue),
/// and the ones at rest — ended for good, ready beyond the first [`READY_WINDOW`], or waiting
/// only for a time (a scheduled run, a re-run after backoff, a removal) — only until the
/// shell lets them go ([`Core::forget_at_rest`], once their last change is durable): those
/// live in the store, so memory follows the work, not the jobs kept. The core reads them
/// back when it needs them ([`Step::reads`]): the next ready jobs when its window runs low,
/// the waiting ones [`KEEP_IF_DUE_WITHIN`] before their time. A call about a job the core
/// does not hold needs it back first ([`Core::admit`]).
pub struct Core {
    config: CoreConfig,
    jobs: BTreeMap<u64, Arc<Job>>,
    /// The head of the ready queue, (Priority, LocalID): the first is the next to run. Every
    /// other ready job (in the store, `ready_beyond`) ranks after all of these.
    ready: BTreeSet<(u32, u64)>,
    /// The store may hold ready jobs beyond `ready`.
    ready_beyond: bool,
    /// A job was placed beyond `ready` since the last read of ready jobs was asked for.
    placed_beyond: bool,
    /// The read of the next ready jobs.
    refill: Reading,
    /// How far the reads of waking jobs got: every job the core let go of since has a later
    /// (wake, LocalID), so the next read starts here.
    wake_cursor: Option<(Timestamp, u64)>,
    /// The earliest wake the store may hold beyond `wake_cursor` (`None`: none).
    store_wake: Option<Timestamp>,
    /// A read of waking jobs is under way.
    waking: bool,
    /// The held recovery jobs read back or kept for the jobs that name them.
    recoveries: RecoveryJobs,
    /// Slots held by jobs from Starting until their process is reaped.
    slots_used: usize,
    timers: BTreeSet<(Timestamp, u64, TimerKind)>,
    last_local_id: u64,
    /// The LocalIDs granted and not yet used, oldest first (a shared store's blocks).
    granted_ids: VecDeque<RangeInclusive<u64>>,
    next_sequence: u64,
    step: Step,
    touched: BTreeSet<u64>,
    /// Starting no more runs: the node is being emptied before it stops.
    draining: bool,
}

/// Where a read the core asked for stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    Idle,
    Underway,
    /// It failed; it is tried again at this time.
    RetryAt(Timestamp),
}

impl Core {
    /// Rebuilds the node from stored jobs after a start or a crash. A run that is still
    /// `held` (its supervisor holds it, or recorded how it ended) is adopted: the job stays as
    /// it was and its run's reports carry on. A run being started that never reached a
    /// supervisor (the holders' account is complete, and none has it) is started again: it
    /// never began. A job that was running without a held run has lost its process: any
    /// orphan is killed and the job ends (Terminated/Killed if it was shutting down, else
    /// Exception with ErrorCode 4 and its RecoveryAction). Nothing is left Running without a
    /// process.
    /// `jobs` are the stored jobs in play (a job stored before the store told settled, ready
    /// and waiting jobs apart may be among them: it is written again, so the store knows); the
    /// ready and waiting ones the core reads as it needs them, the first at once.
    pub fn recover(
        config: CoreConfig,
        jobs: Vec<Job>,
        last_local_id: u64,
        last_change: u64,
        now: Timestamp,
        held: &Held,
    ) -> (Core, Step) {
        let mut core = Core {
            config,
            jobs: BTreeMap::new(),
            ready: BTreeSet::new(),
            // what the store holds is not known yet: read it
            ready_beyond: true,
            placed_beyond: false,
            refill: Reading::Idle,
            wake_cursor: None,
            store_wake: Some(Timestamp::MIN),
            waking: false,
            recoveries: RecoveryJobs::default(),
            slots_used: 0,
            timers: BTreeSet::new(),
            last_local_id: jobs
                .iter()
                .map(|j| j.local_id)
                .max()
                .unwrap_or(0)
                .max(last_local_id),
            granted_ids: VecDeque::new(),
            next_sequence: last_change + 1,
            step: Step::default(),
            touched: BTreeSet::new(),
            draining: false,
        };
        // the head of the ready queue is asked for first: what the start places in the queue
        // meanwhile is read again once written
        core.read_ready();
        for job in jobs {
            core.jobs.insert(job.local_id, Arc::new(job));
        }
        let ids: Vec<u64> = core.jobs.keys().copied().collect();
        for id in ids {
            core.place_recovered(id, now, held);
        }
        core.dispatch(now);
        core.read_waking(now);
        let step = core.take_step();
        (core, step)
    }

    /// Takes over jobs that were in play on a node whose lease lapsed (the store made this
    /// node their holder): as at a start, their runs end as CIM says (ErrorCode 7, node
    /// lost, and their RecoveryAction; a pending Terminate or Kill ends them so), since their
    /// processes were on that node. A job the core already holds is kept as it is.
    pub fn take_over(&mut self, jobs: Vec<Job>, now: Timestamp) -> Step {
        let nothing_held = Held::default();
        for job in jobs {
            let id = job.local_id;
            if self.jobs.contains_key(&id) {
                continue;
            }
            self.jobs.insert(id, Arc::new(job));
            self.place_recovered(id, now, &nothing_held);
        }
        self.dispatch(now);
        self.read_waking(now);
        self.take_step()
    }

    /// Where a job stored in play goes when this node starts or takes it over (see
    /// [`Core::recover`]).
    fn place_recovered(&mut self, id: u64, now: Timestamp, held: &Held) {
        let job = self.jobs[&id].clone();
        let running = job.situation.run_under_way()
            && (job.process.is_some() || job.situation == Situation::Starting);
        let elsewhere = job
            .node
            .as_ref()
            .filter(|node| **node != self.config.node)
            .cloned();
        if running && elsewhere.is_none() && held.runs.contains(&run_key(&job)) {
            self.adopt(id);
            return;
        }
        let never_began = job.situation == Situation::Starting && job.process.is_none();
        if never_began && elsewhere.is_none() && held.complete {
            self.adopt(id);
            let not_before = job.start_time.filter(|at| *at > now);
            let spawn = self.spawn(id, not_before);
            self.step.after_commit.push(spawn);
            return;
        }
        // a process identity from another node names nothing here
        if let Some(identity) = job.process.filter(|_| elsewhere.is_none()) {
            self.step.now.push(Action::KillOrphan(identity));
        }
        match job.situation {
            Situation::Queued | Situation::BetweenRuns => {
                // stored before ready and waiting jobs were told apart: tell the store
                self.touched.insert(id);
                self.resume_waiting(id, now)
            }
            Situation::ShuttingDown => {
                let goal = job.shutdown.map_or(ShutdownGoal::Kill, |s| s.goal);
                self.update(id, now, |j| {
                    j.process = None;
                    j.end_time.get_or_insert(now);
                    end_by_request(j, goal);
                });
                self.after_final(id, now);
            }
            _ if running => {
                self.replacing_done(id, now);
                self.update(id, now, |j| {
                    j.process = None;
                    j.end_time.get_or_insert(now);
                });
                match elsewhere {
                    Some(lost) => {
                        let description = format!(
                            "node {lost} was lost while the job ran there (its lease lapsed); \
                             node {} ended the run",
                            self.config.node
                        );
                        self.fail(id, JobErrorCode::NodeLost, description, now);
                    }
                    None => self.fail(id, JobErrorCode::ProcessLost, LOST_AT_RESTART.into(), now),
                }
            }
            s if s.is_final() => {
                if let Some(due) = job.removal_due {
                    self.timers.insert((due, id, TimerKind::Removal));
                }
                // stored before settled jobs were told apart: store it as settled
                self.touched.insert(id);
            }
            // stored before held jobs were settled: store it so
            _ if settled(&job) => {
                self.touched.insert(id);
            }
            _ => {}
        }
    }

    /// Takes over a run that outlived the previous service: it holds its slot, and the
    /// timers that were running for it (the next occurrence, a Terminate's SIGKILL) run again.
    fn adopt(&mut self, id: u64) {
        let job = self.jobs[&id].clone();
        self.slots_used += 1;
        if let Some(at) = job.next_run_time {
            self.timers.insert(self.due_timer(at, id));
        }
        if let Some(kill_at) = job.shutdown.and_then(|s| s.kill_at) {
            self.timers.insert((kill_at, id, TimerKind::EscalateKill));
        }
        if let Some(kill_at) = job.queued_run.and_then(|q| q.kill_at) {
            self.timers.insert((kill_at, id, TimerKind::ReplaceKill));
        }
    }

    /// How job properties read at `now` in this node's zone, for front ends and the core's
    /// own validation alike.
    pub fn view(&self, now: Timestamp) -> View {
        View::at(now, &self.config.zone)
    }

    /// The zone "local" times are read in when a job names none.
    pub fn zone(&self) -> &TimeZone {
        &self.config.zone
    }

    /// The job with this LocalID.
    pub fn job(&self, id: u64) -> Option<&Arc<Job>> {
        self.jobs.get(&id)
    }

    /// Every job the core holds (all but the settled ones it let go of), in LocalID
    /// (submission) order.
    pub fn jobs(&self) -> impl Iterator<Item = &Arc<Job>> {
        self.jobs.values()
    }

    /// The jobs the core holds with a LocalID above `after`, in LocalID order.
    pub fn jobs_after(&self, after: u64) -> impl Iterator<Item = &Arc<Job>> {
        self.jobs
            .range(after.saturating_add(1)..)
            .map(|(_, job)| job)
    }

    /// Whether `id` may name a job, without asking the store: one node gave every LocalID
    /// up to its highest; with a shared store, any other node may have given it.
    pub fn may_exist(&self, id: u64) -> bool {
        id > 0 && !self.never_given(id)
    }

    /// Takes back a job at rest read from the store for a call about it. A job the core
    /// holds is kept as it is: the core's is never older than the store's. Its timers are
    /// set again; if it is ready, it takes its place in the queue.
    pub fn admit(&mut self, job: Job) {
        let id = job.local_id;
        if self.jobs.contains_key(&id) {
            return;
        }
        for timer in self.timers_of(&job) {
            self.timers.insert(timer);
        }
        let ready = job.ready.then_some((job.priority, id));
        self.jobs.insert(id, Arc::new(job));
        if let Some(key) = ready {
            self.rank(key);
        }
    }

    /// The timers a job at rest waits for, from its own times.
    fn timers_of(&self, job: &Job) -> Vec<(Timestamp, u64, TimerKind)> {
        let id = job.local_id;
        let mut timers = Vec::new();
        if job.situation.is_final() {
            timers.extend(job.removal_due.map(|at| (at, id, TimerKind::Removal)));
        } else if matches!(job.situation, Situation::Queued | Situation::BetweenRuns) {
            timers.extend(job.next_run_time.map(|at| self.due_timer(at, id)));
            timers.extend(job.retry_at.map(|at| (at, id, TimerKind::Rerun)));
        }
        timers
    }

    /// Whether the core may let go of this job at `now`: it is ready beyond the head of the
    /// queue, or it needs the rules again only at a time (a removal, a scheduled run, a
    /// re-run) more than [`KEEP_IF_DUE_WITHIN`] away, or only for a call about it (it ended,
    /// or it is held).
    fn at_rest(&self, job: &Job, now: Timestamp) -> bool {
        let waiting = matches!(job.situation, Situation::Queued | Situation::BetweenRuns);
        if waiting && job.ready {
            return !self.ready.contains(&(job.priority, job.local_id));
        }
        match wake_of(job) {
            Some(at) => at > now.saturating_add(KEEP_IF_DUE_WITHIN).unwrap_or(now),
            None => settled(job) && !self.recoveries.is_pinned(job.local_id),
        }
    }

    /// Lets go of these jobs, each given with the Generation the store is known to hold,
    /// where they are at rest and still at that Generation: a job changed since (its change
    /// not durable yet, or failed) stays, so the core never drops what the store lacks. Their
    /// timers go with them: the store has their times, read back before they come.
    /// Returns the LocalIDs it let go of (a shared store's node gives them back to the
    /// store for any node to claim).
    pub fn forget_at_rest(
        &mut self,
        jobs: impl IntoIterator<Item = (u64, u64)>,
        now: Timestamp,
    ) -> Vec<u64> {
        let mut forgotten = Vec::new();
        for (id, generation) in jobs {
            let Some(job) = self
                .jobs
                .get(&id)
                .filter(|j| j.generation == generation && self.at_rest(j, now))
                .cloned()
            else {
                continue;
            };
            for timer in self.timers_of(&job) {
                self.timers.remove(&timer);
            }
            if let Some(at) = wake_of(&job) {
                self.store_wake = earliest(self.store_wake, Some(at));
            }
            self.unpin(&job);
            self.jobs.remove(&id);
            forgotten.push(id);
        }
        forgotten
    }

    /// The result of a read the core asked for ([`Step::reads`]): the jobs found, in the
    /// read's order, or `Err` if it failed (it is tried again shortly).
    pub fn read_back(
        &mut self,
        read: StoreRead,
        found: Result<Vec<Job>, ()>,
        now: Timestamp,
    ) -> Step {
        let retry = now.saturating_add(READ_RETRY).unwrap_or(now);
        match (read, found) {
            (StoreRead::Ready { .. }, Err(())) => self.refill = Reading::RetryAt(retry),
            (StoreRead::Ready { limit, .. }, Ok(jobs)) => {
                self.refill = Reading::Idle;
                let full = jobs.len() >= limit;
                // the jobs read are the next in the queue: they enter the head in turn
                self.ready_beyond = false;
                for job in jobs {
                    let id = job.local_id;
                    // the core's copy wins: it may have moved on since the read
                    let key = match self.jobs.get(&id) {
                        Some(held) => held.ready.then_some((held.priority, id)),
                        None => Some((job.priority, id)),
                    };
                    let Some(key) = key else { continue };
                    if !self.enters(key) {
                        self.ready_beyond = true;
                        if !self.config.shared {
                            // it stays in the store, beyond
                            break;
                        }
                        // claimed for this node: it goes back to the store once let go of
                        let generation = job.generation;
                        self.jobs.entry(id).or_insert_with(|| Arc::new(job));
                        self.step.let_go.push((id, generation));
                        continue;
                    }
                    self.jobs.entry(id).or_insert_with(|| Arc::new(job));
                    self.rank(key);
                }
                self.ready_beyond |= full || std::mem::take(&mut self.placed_beyond);
            }
            (StoreRead::Waking { .. }, Err(())) => {
                self.waking = false;
                self.store_wake = Some(retry);
            }
            (StoreRead::Waking { limit, .. }, Ok(jobs)) => {
                self.waking = false;
                let horizon = now.saturating_add(KEEP_IF_DUE_WITHIN).unwrap_or(now);
                let mut beyond = None;
                let full = jobs.len() >= limit;
                for job in jobs {
                    let id = job.local_id;
                    let Some(at) = wake_of(&job) else { continue };
                    if at > horizon {
                        beyond = Some(at);
                        break;
                    }
                    self.wake_cursor = Some((at, id));
                    if !self.jobs.contains_key(&id) {
                        self.wake(job, now);
                    }
                }
                let more = beyond.or_else(|| full.then(|| self.wake_cursor.map(|(at, _)| at))?);
                self.store_wake = earliest(self.store_wake, more);
                self.read_waking(now);
            }
            (StoreRead::Job { id }, Ok(jobs)) => {
                for job in jobs.into_iter().filter(|j| j.local_id == id) {
                    // as read: if no rule changes it, it is let go of again
                    self.step.let_go.push((id, job.generation));
                    self.admit(job);
                }
                let waiting = self.recoveries.arrived(id, self.jobs.contains_key(&id));
                for namer in waiting
                    .namers
                    .into_iter()
                    .filter(|n| self.jobs.contains_key(n))
                {
                    self.recoveries.pin(id, namer);
                }
                for (of, description) in waiting.failed {
                    self.start_recovery(id, of, &description, now);
                }
            }
            (StoreRead::Job { id }, Err(())) => {
                for (of, description) in self.recoveries.unreadable(id).failed {
                    let outcome = format!(
                        "recovery job {} could not be started: the store could not be read",
                        instance_id(id)
                    );
                    self.update(of, now, |j| {
                        j.error_description = Some(format!("{description}; {outcome}"))
                    });
                }
            }
        }
        self.dispatch(now);
        self.take_step()
    }

    /// Takes back a job whose time comes: as after a restart, a time that passed while no
    /// node held it is caught up with (see [`Core::resume_waiting`]).
    fn wake(&mut self, job: Job, now: Timestamp) {
        let id = job.local_id;
        let waiting = matches!(job.situation, Situation::Queued | Situation::BetweenRuns);
        if !waiting {
            // a removal: the one timer of a settled job
            self.timers.extend(self.timers_of(&job));
        }
        self.jobs.insert(id, Arc::new(job));
        if waiting {
            self.resume_waiting(id, now);
        }
    }

    /// Asks for the jobs whose time comes within [`KEEP_IF_DUE_WITHIN`], if the store may
    /// hold any and no such read is under way.
    fn read_waking(&mut self, now: Timestamp) {
        let horizon = now.saturating_add(KEEP_IF_DUE_WITHIN).unwrap_or(now);
        if self.waking || self.store_wake.is_none_or(|at| at > horizon) {
            return;
        }
        self.waking = true;
        self.store_wake = None;
        self.step.reads.push(StoreRead::Waking {
            after: self.wake_cursor,
            until: horizon,
            limit: WAKING_PAGE,
        });
    }

    /// How many ready jobs the core holds before the rest wait in the store: with a shared
    /// store, only as many as it has free slots, so a busy node keeps none from a free one.
    fn window(&self) -> usize {
        if self.config.shared {
            self.config.max_running.saturating_sub(self.slots_used)
        } else {
            READY_WINDOW.max(2 * self.config.max_running)
        }
    }

    /// Puts a waiting job in the ready queue: it waits only for a slot now.
    fn make_ready(&mut self, id: u64, now: Timestamp) {
        self.update(id, now, |j| j.ready = true);
        let key = (self.jobs[&id].priority, id);
        self.rank(key);
    }

    /// Takes a job out of the ready queue (it runs, is held, ends or waits for a time).
    fn unready(&mut self, id: u64, now: Timestamp) {
        if let Some(job) = self.jobs.get(&id) {
            self.ready.remove(&(job.priority, id));
            self.update(id, now, |j| j.ready = false);
        }
    }

    /// Places a ready job: in the head the core holds if it ranks before the head's last, or
    /// the head has room and nothing waits beyond it; else beyond, in the store (the core
    /// lets go of it once that is durable). A head grown past its window sends its last
    /// beyond.
    fn rank(&mut self, key: (u32, u64)) {
        if self.ready.contains(&key) {
            return;
        }
        if !self.enters(key) {
            self.ready_beyond = true;
            self.placed_beyond = true;
            return;
        }
        self.ready.insert(key);
        if self.ready.len() > self.window() {
            let (_, out) = self.ready.pop_last().expect("over the window");
            self.ready_beyond = true;
            self.placed_beyond = true;
            // written as it is, so the store surely holds it before the core lets go of it
            self.touched.insert(out);
            self.step.let_go.push((out, self.jobs[&out].generation));
        }
    }

    /// Whether a ready job enters the head: it ranks before the head's last, or the head has
    /// room and nothing waits beyond it (so nothing in the store ranks before it).
    fn enters(&self, key: (u32, u64)) -> bool {
        match self.ready.last() {
            Some(&last) if key < last => true,
            _ => !self.ready_beyond && self.ready.len() < self.window(),
        }
    }

    /// Asks for the next ready jobs when the head runs low and more wait in the store.
    fn read_ready(&mut self) {
        // one node refills at half its window; a shared store's node whenever a slot is
        // free (one claim at a time, so the slots freed meanwhile share the next)
        let low = match self.config.shared {
            true => self.ready.len() < self.window(),
            false => self.ready.len() < self.window() / 2,
        };
        if self.refill == Reading::Idle && self.ready_beyond && low {
            self.refill = Reading::Underway;
            self.placed_beyond = false;
            self.step.reads.push(StoreRead::Ready {
                after: self.ready.last().copied(),
                limit: self.window() - self.ready.len(),
            });
        }
    }

    /// Another node may have changed what waits in the shared store (it let go of ready
    /// jobs, or of ones whose time comes): the core reads again what it has room for.
    pub fn store_changed(&mut self, now: Timestamp) -> Step {
        self.ready_beyond = true;
        if !self.waking {
            self.store_wake = Some(Timestamp::MIN);
        }
        self.read_waking(now);
        self.dispatch(now);
        self.take_step()
    }

    /// How many slots are in use (jobs from Starting until their process is reaped).
    pub fn slots_used(&self) -> usize {
        self.slots_used
    }

    /// Starts no more runs (the node is to stop once the running ones have ended); jobs that
    /// become due stay waiting, for the next start. Irreversible for this core.
    pub fn drain(&mut self) {
        self.draining = true;
    }

    /// When [`Core::fire_timers`] next has something to do.
    pub fn next_timer(&self) -> Option<Timestamp> {
        let read_waking = self
            .store_wake
            .filter(|_| !self.waking)
            .map(|at| at.checked_sub(KEEP_IF_DUE_WITHIN).unwrap_or(at));
        let retry_ready = match self.refill {
            Reading::RetryAt(at) => Some(at),
            _ => None,
        };
        [
            self.timers.first().map(|(at, _, _)| *at),
            read_waking,
            retry_ready,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// A new job from client values (creation-time properties), owned by `owner`. With
    /// `hold`, it is held (Suspended, Dormant) until a Start request. Nothing is stored and no
    /// LocalID is used when a value is refused.
    pub fn submit(
        &mut self,
        values: &[(String, Option<CimValue>)],
        owner: &str,
        hold: bool,
        now: Timestamp,
    ) -> Result<(u64, Step), PropertyError> {
        self.submit_as(values, owner, None, hold, None, now)
    }

    /// As [`Core::submit`], for a job that runs as the OS account `run_as` (its owner's,
    /// when the service runs as root); `None` = the service's own account. A RunAsUser the
    /// client gives must be that account: a job never runs as anyone else.
    /// `in_parameters` is the JobInParameters of a job a method made (SubmitJob: its input
    /// parameters as an embedded instance).
    pub fn submit_as(
        &mut self,
        values: &[(String, Option<CimValue>)],
        owner: &str,
        run_as: Option<&str>,
        hold: bool,
        in_parameters: Option<String>,
        now: Timestamp,
    ) -> Result<(u64, Step), PropertyError> {
        let id = self.next_local_id()?;
        let blank = Job::new(id, owner, now);
        let (mut job, _) = apply(&blank, values, WriteMode::Create, &self.view(now))?;
        self.check_recovery(&job)?;
        Plan::checked(&job, &self.config.zone, now)?;
        let account = run_as.unwrap_or(&self.config.run_as_user).to_string();
        if let Some(asked) = job.run_as_user.as_ref().filter(|asked| **asked != account) {
            return Err(PropertyError {
                property: "RunAsUser".into(),
                kind: PropertyErrorKind::InvalidValue,
                message: format!("property RunAsUser: {asked:?} is refused: jobs of {owner} run as the OS account {account:?}"),
            });
        }
        job.run_as_user = Some(account);
        job.job_in_parameters = in_parameters;
        job.situation = if hold {
            Situation::Held
        } else {
            Situation::Queued
        };
        self.use_local_id(id);
        self.step.batch.last_local_id = Some(id);
        let job = Arc::new(job);
        self.jobs.insert(id, job.clone());
        self.touched.insert(id);
        self.announce(id, now, EventKind::Created, None, Some(job));
        if !hold {
            self.release(id, now);
        }
        self.dispatch(now);
        Ok((id, self.take_step()))
    }

    /// The LocalID the next job gets: one more than the last (one node), or the next of the
    /// granted blocks (a shared store); refused while no block is granted.
    fn next_local_id(&self) -> Result<u64, PropertyError> {
        if !self.config.shared {
            return Ok(self.last_local_id + 1);
        }
        self.granted_ids
            .front()
            .map(|block| *block.start())
            .ok_or_else(|| PropertyError {
                property: "InstanceID".into(),
                kind: PropertyErrorKind::InvalidValue,
                message: "no LocalID is free on this node yet (the store grants them); try again"
                    .into(),
            })
    }

    /// Marks `id` (from [`Core::next_local_id`]) used.
    fn use_local_id(&mut self, id: u64) {
        self.last_local_id = self.last_local_id.max(id);
        if let Some(block) = self.granted_ids.front_mut() {
            if *block.start() == id {
                *block = id + 1..=*block.end();
                if block.is_empty() {
                    self.granted_ids.pop_front();
                }
            }
        }
    }

    /// Grants the LocalIDs `ids` (a block the shared store reserved for this node): the
    /// next jobs take them in order, after those granted before.
    pub fn grant_local_ids(&mut self, ids: RangeInclusive<u64>) {
        if !ids.is_empty() {
            self.granted_ids.push_back(ids);
        }
    }

    /// How many granted LocalIDs are left (a shared store's node asks for another block
    /// before they run out).
    pub fn local_ids_left(&self) -> u64 {
        self.granted_ids
            .iter()
            .map(|block| block.end() - block.start() + 1)
            .sum()
    }

    /// Whether `id` surely names no job: one node knows every LocalID it gave; with a shared
    /// store another node may have given it.
    fn never_given(&self, id: u64) -> bool {
        !self.config.shared && id > self.last_local_id
    }

    fn check_recovery(&self, job: &Job) -> Result<(), PropertyError> {
        let refuse = |property: &str, message: String| PropertyError {
            property: property.to_string(),
            kind: PropertyErrorKind::InvalidValue,
            message,
        };
        match (job.recovery_action, job.recovery_job) {
            (RecoveryAction::RunRecoveryJob, None) => Err(refuse(
                "RecoveryJob",
                "property RecoveryJob must name an existing job when RecoveryAction is Run Recovery Job (5)".into(),
            )),
            // a job the core let go of may still exist: only a LocalID never given is refused
            (RecoveryAction::RunRecoveryJob, Some(r)) if r == 0 || self.never_given(r) => {
                Err(missing_recovery_job(r))
            }
            (action, Some(_)) if action != RecoveryAction::RunRecoveryJob => Err(refuse(
                "RecoveryJob",
                format!("property RecoveryJob is only used with RecoveryAction Run Recovery Job (5), not {action}"),
            )),
            (RecoveryAction::Other, _) if job.other_recovery_action.as_deref().is_none_or(str::is_empty) => Err(refuse(
                "OtherRecoveryAction",
                "property OtherRecoveryAction must describe the action when RecoveryAction is Other (1)".into(),
            )),
            _ => Ok(()),
        }
    }

    /// RequestStateChange(RequestedState, TimeoutPeriod). `timeout` is the TimeoutPeriod
    /// interval; zero or `None` means Terminate waits the configured default before SIGKILL.
    pub fn request_state_change(
        &mut self,
        id: u64,
        requested: u16,
        timeout: Option<SignedDuration>,
        now: Timestamp,
    ) -> Result<(StateChangeReturn, Step), NotFound> {
        let situation = self.jobs.get(&id).ok_or(NotFound(id))?.situation;
        let decision = request_state_change(situation, requested);
        if let Some(t) = decision.transition {
            self.carry_out(id, t, requested, timeout, now);
        }
        self.dispatch(now);
        Ok((decision.code, self.take_step()))
    }

    /// The deprecated KillJob(DeleteOnKill): Kill, and with `delete_on_kill` the job is
    /// deleted as soon as its processes are gone (overriding DeleteOnCompletion and
    /// TimeBeforeRemoval, as the caller asked for exactly that).
    pub fn kill_job(
        &mut self,
        id: u64,
        delete_on_kill: bool,
        now: Timestamp,
    ) -> Result<(KillJobReturn, Step), NotFound> {
        let situation = self.jobs.get(&id).ok_or(NotFound(id))?.situation;
        if situation.is_final() {
            return Ok((KillJobReturn::Failed, Step::default()));
        }
        if delete_on_kill {
            self.update(id, now, |j| j.delete_on_kill = true);
        }
        let decision = request_state_change(situation, RequestedState::Kill.number());
        if let Some(t) = decision.transition {
            self.carry_out(id, t, RequestedState::Kill.number(), None, now);
        }
        self.dispatch(now);
        Ok((KillJobReturn::Success, self.take_step()))
    }

    /// AnswerQuery(Answer): the answer goes to the work as one line and the job runs on.
    pub fn answer(
        &mut self,
        id: u64,
        text: &str,
        now: Timestamp,
    ) -> Result<(AnswerReturn, Step), NotFound> {
        let job = self.jobs.get(&id).ok_or(NotFound(id))?;
        if job.situation != Situation::QueryPending {
            return Ok((AnswerReturn::NotQueryPending, Step::default()));
        }
        if text.contains(['\n', '\r']) || text.len() > 4000 {
            return Ok((AnswerReturn::InvalidParameter, Step::default()));
        }
        let key = run_key(job);
        self.step.now.push(Action::Answer {
            key,
            text: text.to_string(),
        });
        self.update(id, now, |j| {
            j.situation = Situation::Running;
            j.query = None;
        });
        Ok((AnswerReturn::Success, self.take_step()))
    }

    /// ModifyInstance: only Write properties; a queued job moves in the queue when its
    /// Priority changes, and a finished job's removal is re-planned when DeleteOnCompletion
    /// or TimeBeforeRemoval changes.
    pub fn modify(
        &mut self,
        id: u64,
        values: &[(String, Option<CimValue>)],
        now: Timestamp,
    ) -> Result<(Vec<&'static str>, Step), ModifyError> {
        let job = self.jobs.get(&id).ok_or(NotFound(id))?.clone();
        let (next, changed) = apply(&job, values, WriteMode::Modify, &self.view(now))?;
        if changed.is_empty() {
            return Ok((changed, Step::default()));
        }
        let replan = changed.iter().any(|p| SCHEDULE_PROPERTIES.contains(p));
        if replan {
            Plan::checked(&next, &self.config.zone, now)?;
        }
        let requeue = job.ready && next.priority != job.priority;
        if requeue {
            self.unready(id, now);
        }
        self.update(id, now, |j| *j = next);
        if requeue {
            self.make_ready(id, now);
        }
        if job.situation.is_final() {
            self.plan_removal(id, now);
        } else if replan {
            self.replan(id, now);
        }
        self.dispatch(now);
        Ok((changed, self.take_step()))
    }

    /// Runs a job that waits for its time — one scheduled and not yet started, or a recurring
    /// one between runs — now, as one of its runs (it counts toward JobRunTimes): the
    /// operator's "Run now". Its schedule goes on after this run as after any other.
    pub fn run_now(&mut self, id: u64, now: Timestamp) -> Result<Step, RunNowError> {
        let job = self.jobs.get(&id).ok_or(NotFound(id))?.clone();
        let waiting = matches!(job.situation, Situation::Queued | Situation::BetweenRuns)
            && !job.ready
            && job.next_start().is_some_and(|at| at > now);
        if !waiting {
            return Err(RunNowError::NotWaiting {
                job: job.instance_id(),
                state: job.situation.status().job_state.name(),
            });
        }
        self.set_next(id, Some(now), now);
        self.occurrence_due(id, now, now);
        self.dispatch(now);
        Ok(self.take_step())
    }

    /// DeleteInstance: only finished jobs.
    pub fn delete(&mut self, id: u64, now: Timestamp) -> Result<Step, DeleteError> {
        let job = self.jobs.get(&id).ok_or(NotFound(id))?;
        if !job.situation.is_final() {
            return Err(DeleteError::NotFinished {
                id,
                state: job.situation.status().job_state.name(),
            });
        }
        self.remove(id, now);
        Ok(self.take_step())
    }

    /// The runner started a run's process.
    pub fn process_started(
        &mut self,
        key: RunKey,
        identity: ProcessIdentity,
        now: Timestamp,
    ) -> Step {
        if self.current_run(key, &[Situation::Starting]).is_some() {
            let deferred = self.jobs[&key.job].deferred_request;
            self.update(key.job, now, |j| {
                j.process = Some(identity);
                j.situation = Situation::Running;
                j.start_time = Some(now);
                j.deferred_request = None;
            });
            if let Some(DeferredRequest { requested, timeout }) = deferred {
                if let Some(t) = request_state_change(Situation::Running, requested).transition {
                    self.carry_out(key.job, t, requested, timeout, now);
                }
            }
            let job = &self.jobs[&key.job];
            let replacing = job.overlap_policy == Some(OverlapPolicy::Replace)
                && job.situation == Situation::Running
                && job.queued_run.is_some_and(|q| q.kill_at.is_none());
            if replacing {
                // the occurrence that replaces this run came while it was being started
                self.replace_run(key.job, now);
            }
        }
        self.take_step()
    }

    /// The runner could not start a run: the job fails with ErrorCode 3.
    pub fn spawn_failed(&mut self, key: RunKey, message: &str, now: Timestamp) -> Step {
        if self.current_run(key, &[Situation::Starting]).is_some() {
            self.slots_used -= 1;
            let goal =
                self.jobs[&key.job].deferred_request.and_then(
                    |d| match RequestedState::from_number(d.requested) {
                        Some(RequestedState::Terminate) => Some(ShutdownGoal::Terminate),
                        Some(RequestedState::Kill) => Some(ShutdownGoal::Kill),
                        _ => None,
                    },
                );
            self.update(key.job, now, |j| {
                j.end_time = Some(now);
                j.deferred_request = None;
            });
            match goal {
                Some(goal) => {
                    self.update(key.job, now, |j| end_by_request(j, goal));
                    self.after_final(key.job, now);
                }
                None => self.fail(
                    key.job,
                    JobErrorCode::StartFailed,
                    format!("could not start: {message}"),
                    now,
                ),
            }
            self.dispatch(now);
        }
        self.take_step()
    }

    /// The run's processes were lost (whoever held them is gone): any that are left are
    /// killed and the job fails with ErrorCode 4; RecoveryAction decides what next.
    pub fn lost(&mut self, key: RunKey, reason: &str, now: Timestamp) -> Step {
        let Some(job) = self.current_run(key, &[]).cloned() else {
            return self.take_step();
        };
        let holds_slot = job.process.is_some() || job.situation == Situation::Starting;
        if !holds_slot || job.situation.is_final() {
            return self.take_step();
        }
        self.slots_used -= 1;
        if let Some(identity) = job.process {
            self.step.now.push(Action::KillOrphan(identity));
        }
        if let Some(k) = job.shutdown.and_then(|s| s.kill_at) {
            self.timers.remove(&(k, key.job, TimerKind::EscalateKill));
        }
        self.replacing_done(key.job, now);
        self.update(key.job, now, |j| {
            j.process = None;
            j.end_time = Some(now);
            j.query = None;
        });
        match job.shutdown {
            Some(s) if job.situation == Situation::ShuttingDown => {
                self.update(key.job, now, |j| end_by_request(j, s.goal));
                self.after_final(key.job, now);
            }
            _ => self.fail(
                key.job,
                JobErrorCode::ProcessLost,
                format!("the job's processes were lost: {reason}"),
                now,
            ),
        }
        self.dispatch(now);
        self.take_step()
    }

    /// A `progress N [text]` line from the work.
    pub fn progress(
        &mut self,
        key: RunKey,
        percent: u16,
        text: Option<String>,
        now: Timestamp,
    ) -> Step {
        // only while the run's process is there: a report told again after a restart about
        // a run that has ended changes nothing
        if self
            .current_run(key, &[])
            .is_some_and(|j| j.process.is_some())
        {
            self.update(key.job, now, |j| {
                j.percent_complete = Some(percent.min(100));
                if text.is_some() {
                    j.progress_text = text;
                }
            });
        }
        self.take_step()
    }

    /// A `query <text>` line: the job waits in Query Pending for an answer.
    pub fn query(&mut self, key: RunKey, text: String, now: Timestamp) -> Step {
        if self.current_run(key, &[Situation::Running]).is_some() {
            self.update(key.job, now, |j| {
                j.situation = Situation::QueryPending;
                j.query = Some(text);
            });
        }
        self.take_step()
    }

    /// The run's main process ended and was reaped: Completed, Terminated/Killed if asked,
    /// or a failure handled by RecoveryAction.
    pub fn exited(&mut self, key: RunKey, outcome: ExitOutcome, now: Timestamp) -> Step {
        if self.current_run(key, &[]).is_none() || self.jobs[&key.job].process.is_none() {
            return self.take_step();
        }
        self.slots_used -= 1;
        let shutdown = self.jobs[&key.job].shutdown;
        self.update(key.job, now, |j| {
            j.process = None;
            j.end_time = Some(now);
            j.query = None;
            match outcome {
                ExitOutcome::Exited(code) => j.exit_status = Some(code),
                ExitOutcome::Signaled(sig) => j.signal = Some(sig),
            }
        });
        if let Some(k) = shutdown.and_then(|s| s.kill_at) {
            self.timers.remove(&(k, key.job, TimerKind::EscalateKill));
        }
        let replaced_by = self.replacing_done(key.job, now);
        match (shutdown, outcome) {
            (Some(s), _) => {
                self.update(key.job, now, |j| end_by_request(j, s.goal));
                self.after_final(key.job, now);
            }
            (None, ExitOutcome::Exited(0)) => {
                self.update(key.job, now, |j| {
                    j.percent_complete = Some(100);
                    j.error_code = JobErrorCode::NoError;
                    j.error_description = None;
                    j.reruns = 0;
                });
                self.record_run(key.job);
                self.next_or_finish(key.job, now, Situation::Completed);
            }
            (None, failed) => {
                let (code, why) = failure_of(failed);
                match replaced_by {
                    // ended to make way: no failure of the work, and the series goes on
                    Some(q) => {
                        self.update(key.job, now, |j| {
                            j.error_code = code;
                            j.error_description = Some(format!(
                                "replaced by the run due at {:.0} (OverlapPolicy Replace): {why}",
                                q.due
                            ));
                            j.reruns = 0;
                        });
                        self.record_run(key.job);
                        self.next_or_finish(key.job, now, Situation::Completed);
                    }
                    None => self.fail(key.job, code, why, now),
                }
            }
        }
        self.dispatch(now);
        self.take_step()
    }

    /// Does what is due at `now`: re-runs after backoff, SIGKILL after a Terminate's
    /// timeout, removal after TimeBeforeRemoval.
    pub fn fire_timers(&mut self, now: Timestamp) -> Step {
        while let Some(&(at, id, kind)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(job) = self.jobs.get(&id).cloned() else {
                continue;
            };
            match kind {
                TimerKind::Due if job.next_run_time == Some(at + self.config.start_lead) => {
                    self.occurrence_due(id, at + self.config.start_lead, now)
                }
                TimerKind::Rerun
                    if job.retry_at == Some(at)
                        && matches!(job.situation, Situation::Queued | Situation::BetweenRuns) =>
                {
                    self.update(id, now, |j| j.retry_at = None);
                    self.make_ready(id, now);
                }
                TimerKind::EscalateKill if job.shutdown.and_then(|s| s.kill_at) == Some(at) => {
                    self.step.now.push(Action::Signal {
                        key: run_key(&job),
                        signal: WorkSignal::Kill,
                    });
                    self.update(id, now, |j| {
                        j.status_note = Some(
                            "did not exit within the TimeoutPeriod after SIGTERM; sent SIGKILL"
                                .into(),
                        );
                    });
                }
                TimerKind::ReplaceKill
                    if job.queued_run.and_then(|q| q.kill_at) == Some(at)
                        && job.process.is_some() =>
                {
                    self.step.now.push(Action::Signal {
                        key: run_key(&job),
                        signal: WorkSignal::Kill,
                    });
                    self.update(id, now, |j| {
                        j.status_note = Some(
                            "the run being replaced did not exit within the TimeoutPeriod after \
                             SIGTERM; sent SIGKILL"
                                .into(),
                        );
                    });
                }
                TimerKind::Removal if job.situation.is_final() && job.removal_due == Some(at) => {
                    self.remove(id, now)
                }
                _ => {}
            }
        }
        if let Reading::RetryAt(at) = self.refill {
            if at <= now {
                self.refill = Reading::Idle;
            }
        }
        self.read_waking(now);
        self.dispatch(now);
        self.take_step()
    }

    // ----- the rules behind the public calls -----

    fn carry_out(
        &mut self,
        id: u64,
        t: Transition,
        requested: u16,
        timeout: Option<SignedDuration>,
        now: Timestamp,
    ) {
        let job = self.jobs[&id].clone();
        let key = run_key(&job);
        let signal = |core: &mut Core, signal| core.step.now.push(Action::Signal { key, signal });
        match t {
            Transition::Hold => {
                self.unready(id, now);
                self.set_next(id, None, now);
                self.update(id, now, |j| {
                    j.situation = Situation::Held;
                    j.retry_at = None;
                    j.status_note = None;
                    // a held occurrence does not outlive the hold: Start re-plans from now
                    if j.queued_run.take().is_some() {
                        j.skipped_runs += 1;
                    }
                });
            }
            Transition::Release => self.release(id, now),
            Transition::StopProcess => {
                signal(self, WorkSignal::Stop);
                self.update(id, now, |j| j.situation = Situation::Suspended);
            }
            Transition::ContinueProcess if job.process.is_none() => self.release(id, now),
            Transition::ContinueProcess => {
                signal(self, WorkSignal::Continue);
                self.update(id, now, |j| j.situation = Situation::Running);
            }
            Transition::EnterService => {
                if job.situation == Situation::Running {
                    signal(self, WorkSignal::Stop);
                }
                self.update(id, now, |j| j.situation = Situation::InService);
            }
            Transition::ServiceToSuspended => {
                let next = if job.process.is_some() {
                    Situation::Suspended
                } else {
                    Situation::Held
                };
                self.update(id, now, |j| j.situation = next);
            }
            Transition::TerminateNow | Transition::KillNow => {
                self.unready(id, now);
                let goal = if t == Transition::TerminateNow {
                    ShutdownGoal::Terminate
                } else {
                    ShutdownGoal::Kill
                };
                self.update(id, now, |j| {
                    j.next_run_time = None;
                    end_by_request(j, goal);
                });
                self.after_final(id, now);
            }
            Transition::TerminateProcess => {
                self.replacing_done(id, now);
                let wait = timeout
                    .filter(|t| !t.is_zero())
                    .unwrap_or(self.config.default_terminate_timeout);
                let kill_at = now.saturating_add(wait).expect("timeouts are bounded");
                signal(self, WorkSignal::Terminate);
                self.timers.insert((kill_at, id, TimerKind::EscalateKill));
                self.update(id, now, |j| {
                    j.situation = Situation::ShuttingDown;
                    j.shutdown = Some(Shutdown {
                        goal: ShutdownGoal::Terminate,
                        kill_at: Some(kill_at),
                    });
                });
            }
            Transition::KillProcess => {
                self.replacing_done(id, now);
                signal(self, WorkSignal::Kill);
                if let Some(k) = job.shutdown.and_then(|s| s.kill_at) {
                    self.timers.remove(&(k, id, TimerKind::EscalateKill));
                }
                self.update(id, now, |j| {
                    j.situation = Situation::ShuttingDown;
                    j.shutdown = Some(Shutdown {
                        goal: ShutdownGoal::Kill,
                        kill_at: None,
                    });
                });
            }
            Transition::Defer => {
                self.update(id, now, |j| {
                    j.deferred_request = Some(DeferredRequest { requested, timeout })
                });
            }
        }
    }

    /// Puts a job that is not running on its way to its next run: at once, at its next
    /// time, or — when no run is left (JobRunTimes, UntilTime) — to the end of its series.
    fn release(&mut self, id: u64, now: Timestamp) {
        let job = self.jobs[&id].clone();
        let waiting = if job.occurrences == 0 {
            Situation::Queued
        } else {
            Situation::BetweenRuns
        };
        if job.retrying {
            self.update(id, now, |j| j.situation = waiting);
            self.make_ready(id, now);
            return;
        }
        let plan = self.plan(&job);
        let next = if job.occurrences == 0 {
            plan.first_run(now)
        } else if plan.is_recurring() && plan.runs_left(job.occurrences) {
            plan.next_run(now)
        } else {
            None
        };
        match next {
            Some(at) if at <= now => {
                self.set_next(id, None, now);
                self.update(id, now, |j| {
                    j.situation = waiting;
                    j.status_note = None;
                });
                self.make_ready(id, now);
            }
            Some(at) => {
                self.update(id, now, |j| j.situation = waiting);
                self.set_next(id, Some(at), now);
            }
            None => {
                if job.occurrences == 0 {
                    self.update(id, now, |j| {
                        j.status_note = Some("UntilTime passed before the job could run".into())
                    });
                }
                let last = if job.error_code == JobErrorCode::NoError {
                    Situation::Completed
                } else {
                    Situation::Failed
                };
                self.finish_series(id, now, last);
            }
        }
    }

    /// Re-plans a job whose schedule was modified.
    fn replan(&mut self, id: u64, now: Timestamp) {
        let job = self.jobs[&id].clone();
        match job.situation {
            Situation::Queued | Situation::BetweenRuns if !job.retrying => {
                self.unready(id, now);
                self.release(id, now);
            }
            s if !s.is_final() && s != Situation::Held => {
                let plan = self.plan(&job);
                let next = if plan.runs_left(job.occurrences) && plan.is_timed() {
                    plan.next_run(now)
                } else {
                    None
                };
                self.set_next(id, next, now);
            }
            _ => {}
        }
    }

    /// Sets NextRunTime (the next scheduled occurrence) and its timer, and says it in JobStatus
    /// while the job waits.
    fn set_next(&mut self, id: u64, at: Option<Timestamp>, now: Timestamp) {
        let job = self.jobs[&id].clone();
        if let Some(old) = job.next_run_time {
            self.timers.remove(&self.due_timer(old, id));
        }
        if let Some(at) = at {
            self.timers.insert(self.due_timer(at, id));
        }
        let waiting = matches!(job.situation, Situation::Queued | Situation::BetweenRuns);
        self.update(id, now, |j| {
            j.next_run_time = at;
            if waiting {
                j.status_note = at.map(|at| {
                    let verb = if j.occurrences == 0 {
                        "waits until"
                    } else {
                        "next run at"
                    };
                    format!("{verb} {at:.0}")
                });
            }
        });
    }

    /// A scheduled run's timer: it fires [`CoreConfig::start_lead`] before the run is due.
    fn due_timer(&self, due: Timestamp, id: u64) -> (Timestamp, u64, TimerKind) {
        (due - self.config.start_lead, id, TimerKind::Due)
    }

    /// Where a run's output goes: one flat directory, as a directory per job would cost an
    /// inode per job start.
    fn log_path(&self, id: u64, run: u32) -> PathBuf {
        self.config.log_dir.join(format!("{id}-run-{run}.log"))
    }

    /// A scheduled occurrence came: run it, or — if the previous run is still going — do what
    /// OverlapPolicy says: skip it and record that (Skip, the default), hold it until the run
    /// ends (Queue: one at most), or end the run and then start it (Replace). Two runs of one
    /// job never overlap.
    fn occurrence_due(&mut self, id: u64, at: Timestamp, now: Timestamp) {
        let job = self.jobs[&id].clone();
        match job.situation {
            // the held occurrence waits for a slot: this one is skipped, as it would be
            // behind a run
            Situation::Queued | Situation::BetweenRuns if job.queued_run.is_some() => {
                self.skip_occurrence(id, at, now)
            }
            Situation::Queued | Situation::BetweenRuns => {
                // a pending re-run gives way to the new occurrence
                if let Some(r) = job.retry_at {
                    self.timers.remove(&(r, id, TimerKind::Rerun));
                }
                self.update(id, now, |j| {
                    j.retry_at = None;
                    j.retrying = false;
                });
                self.make_ready(id, now);
            }
            Situation::Held => {}
            s if s.is_final() => {}
            Situation::ShuttingDown => self.skip_occurrence(id, at, now),
            _ => {
                let policy = job.overlap_policy.unwrap_or(OverlapPolicy::Skip);
                if policy == OverlapPolicy::Skip || job.queued_run.is_some() {
                    return self.skip_occurrence(id, at, now);
                }
                let plan = self.plan(&job);
                // the held one is an occurrence too: the next comes only if one is left after it
                let next = plan
                    .next_run(at)
                    .filter(|_| plan.runs_left(job.occurrences + 1));
                self.update(id, now, |j| {
                    j.queued_run = Some(QueuedRun {
                        due: at,
                        kill_at: None,
                    })
                });
                self.set_next(id, next, now);
                if policy == OverlapPolicy::Replace && job.process.is_some() {
                    self.replace_run(id, now);
                } else {
                    self.note(
                        id,
                        false,
                        format!("the run due at {at} waits for the previous run to end"),
                    );
                }
            }
        }
    }

    /// The run an occurrence was replacing has ended (or is being ended another way): its
    /// SIGKILL is not needed any more. The occurrence stays held; what it replaced, if
    /// anything, comes back.
    fn replacing_done(&mut self, id: u64, now: Timestamp) -> Option<QueuedRun> {
        let replacing = self
            .jobs
            .get(&id)?
            .queued_run
            .filter(|q| q.kill_at.is_some())?;
        if let Some(k) = replacing.kill_at {
            self.timers.remove(&(k, id, TimerKind::ReplaceKill));
        }
        self.update(id, now, |j| {
            j.queued_run = Some(QueuedRun {
                kill_at: None,
                ..replacing
            })
        });
        Some(replacing)
    }

    /// Skips an occurrence that came while the previous run was going, and counts it.
    fn skip_occurrence(&mut self, id: u64, at: Timestamp, now: Timestamp) {
        let job = self.jobs[&id].clone();
        let next = self.plan(&job).next_run(at);
        self.note(
            id,
            false,
            format!("skipped the run due at {at}: the previous run is still going"),
        );
        self.update(id, now, |j| j.skipped_runs += 1);
        self.set_next(id, next, now);
    }

    /// Ends the running run so the occurrence held in `queued_run` can start (Replace):
    /// SIGTERM now, SIGKILL after the default TimeoutPeriod.
    fn replace_run(&mut self, id: u64, now: Timestamp) {
        let job = self.jobs[&id].clone();
        let kill_at = now
            .saturating_add(self.config.default_terminate_timeout)
            .expect("timeouts are bounded");
        self.step.now.push(Action::Signal {
            key: run_key(&job),
            signal: WorkSignal::Terminate,
        });
        self.timers.insert((kill_at, id, TimerKind::ReplaceKill));
        let due = job.queued_run.map_or(now, |q| q.due);
        self.note(
            id,
            false,
            format!("the run due at {due} replaces the one still going: sent SIGTERM"),
        );
        self.update(id, now, |j| {
            j.queued_run = Some(QueuedRun {
                due,
                kill_at: Some(kill_at),
            })
        });
    }

    /// After a restart: a re-run or occurrence that came while the service was down runs once
    /// now, or — under MissedRunPolicy Skip, for a calendar job — is skipped and counted.
    fn resume_waiting(&mut self, id: u64, now: Timestamp) {
        let job = self.jobs[&id].clone();
        if let Some(at) = job.retry_at {
            self.timers.insert((at, id, TimerKind::Rerun));
        }
        let plan = self.plan(&job);
        match job.next_run_time {
            Some(at)
                if at <= now
                    && job.missed_run_policy == Some(MissedRunPolicy::Skip)
                    && plan.is_timed() =>
            {
                let mut missed = 0u32;
                let mut next = Some(at);
                while let Some(t) = next.filter(|t| *t <= now && missed < 100_000) {
                    missed += 1;
                    next = plan.next_run(t);
                }
                if next.is_some_and(|t| t <= now) {
                    // more than the count can say (every second for days): go on from now
                    next = plan.next_run(now);
                }
                self.update(id, now, |j| j.skipped_runs += missed);
                match next {
                    Some(_) => self.set_next(id, next, now),
                    None => self.finish_series(id, now, Situation::Completed),
                }
            }
            Some(at) => {
                // a past time fires at once: the missed run runs once
                self.timers.insert(self.due_timer(at, id));
            }
            None if job.retry_at.is_none() => self.make_ready(id, now),
            None => {}
        }
    }

    /// After a run that ended OK (or failed under Continue With Next Job): the next
    /// occurrence, or the end of the series in `last`.
    fn next_or_finish(&mut self, id: u64, now: Timestamp, last: Situation) {
        let job = self.jobs[&id].clone();
        if job.queued_run.is_some() {
            // the occurrence that waited for this run (Queue, Replace) starts now
            self.update(id, now, |j| j.situation = Situation::BetweenRuns);
            self.make_ready(id, now);
            return;
        }
        let plan = self.plan(&job);
        if plan.is_recurring() && plan.runs_left(job.occurrences) {
            let next = if plan.is_timed() {
                job.next_run_time
            } else {
                plan.next_run(now)
            };
            if let Some(at) = next {
                self.update(id, now, |j| j.situation = Situation::BetweenRuns);
                if plan.is_timed() {
                    self.set_next(id, Some(at), now);
                } else {
                    self.make_ready(id, now);
                }
                return;
            }
        }
        self.finish_series(id, now, last);
    }

    /// The job will run no more: it ends in `last` (Completed or Exception).
    fn finish_series(&mut self, id: u64, now: Timestamp, last: Situation) {
        self.set_next(id, None, now);
        self.update(id, now, |j| {
            j.situation = last;
            j.retry_at = None;
            j.retrying = false;
        });
        self.after_final(id, now);
    }

    /// The job's plan; a stored plan that no longer reads (a zone gone from the tz database)
    /// runs the job once, at once, and says so in the log.
    fn plan(&mut self, job: &Job) -> Plan {
        Plan::of(job, &self.config.zone).unwrap_or_else(|e| {
            self.note(
                job.local_id,
                true,
                format!("the job's schedule no longer reads ({e}); it runs once"),
            );
            Plan {
                recurrence: None,
                earliest: None,
                until: None,
                runs: 1,
            }
        })
    }

    fn note(&mut self, job: u64, warning: bool, message: String) {
        self.step.notes.push(Note {
            job,
            warning,
            message,
        });
    }

    /// A run failed: record why, then RecoveryAction decides.
    fn fail(&mut self, id: u64, code: JobErrorCode, description: String, now: Timestamp) {
        let job = self.jobs[&id].clone();
        self.update(id, now, |j| {
            j.error_code = code;
            j.error_description = Some(description.clone());
        });
        match job.recovery_action {
            // the occurrence waiting for this run goes instead, as a new occurrence would
            RecoveryAction::ReRunJob if job.queued_run.is_some() => {}
            RecoveryAction::ReRunJob if job.reruns < self.config.max_reruns => {
                let attempt = job.reruns + 1;
                let factor = 1i32 << (attempt - 1).min(20);
                let delay = self
                    .config
                    .rerun_backoff
                    .saturating_mul(factor)
                    .min(self.config.rerun_backoff_max);
                let at = now.saturating_add(delay).expect("bounded backoff");
                let note = format!(
                    "re-run {attempt} of {} due at {at:.0} after: {description}",
                    self.config.max_reruns
                );
                let waiting = if job.occurrences > 1 {
                    Situation::BetweenRuns
                } else {
                    Situation::Queued
                };
                self.update(id, now, |j| {
                    j.reruns = attempt;
                    j.situation = waiting;
                    j.retrying = true;
                    j.retry_at = Some(at);
                    j.status_note = Some(note);
                });
                self.timers.insert((at, id, TimerKind::Rerun));
                self.record_run(id);
                return;
            }
            RecoveryAction::ReRunJob => {
                let max = self.config.max_reruns;
                self.update(id, now, |j| {
                    j.error_description = Some(format!(
                        "{description}; gave up after {max} re-runs (Re-run Job)"
                    ));
                });
            }
            RecoveryAction::RunRecoveryJob => {
                let recovery = job.recovery_job.expect("checked at submission");
                if self.jobs.contains_key(&recovery) || self.recoveries.is_gone(recovery) {
                    self.start_recovery(recovery, id, &description, now);
                } else if self
                    .recoveries
                    .wait_after_failure(recovery, id, description.clone())
                {
                    // a run adopted at a restart, its recovery job still in the store: read
                    // it back, then start it and tell so
                    self.step.reads.push(StoreRead::Job { id: recovery });
                }
            }
            RecoveryAction::Other => {
                let other = job.other_recovery_action.clone().unwrap_or_default();
                self.update(id, now, |j| {
                    j.error_description = Some(format!(
                        "{description}; recovery left to the operator: {other}"
                    ));
                });
            }
            RecoveryAction::DoNotContinue => {
                self.update(id, now, |j| j.status_note = None);
                self.finish_series(id, now, Situation::Failed);
                return;
            }
            RecoveryAction::ContinueWithNextJob | RecoveryAction::Unknown => {}
        }
        // A recurring job goes on with its next run, whatever the action did about this one,
        // unless it is Do Not Continue: one failed night must not silently end a series. The
        // failure stays in the run's history and, while the job waits, in ErrorCode and
        // ErrorDescription; a series whose last run failed ends in Exception.
        self.update(id, now, |j| {
            j.reruns = 0;
            j.status_note = None;
        });
        self.record_run(id);
        self.next_or_finish(id, now, Situation::Failed);
    }

    /// The recovery job a run of `job` may need, if it names one that may still exist.
    fn recovery_of(&self, job: &Job) -> Option<u64> {
        job.recovery_job
            .filter(|_| job.recovery_action == RecoveryAction::RunRecoveryJob)
            .filter(|r| !self.recoveries.is_gone(*r))
    }

    /// `job` leaves memory: the recovery job it kept there may go too.
    fn unpin(&mut self, job: &Job) {
        let Some(recovery) = job.recovery_job else {
            return;
        };
        if self.recoveries.unpin(recovery, job.local_id) {
            if let Some(held) = self.jobs.get(&recovery) {
                self.step.let_go.push((recovery, held.generation));
            }
        }
    }

    /// Starts the held `recovery` job for the failed job `of` (Run Recovery Job), and tells in
    /// the failed job's ErrorDescription what became of it.
    fn start_recovery(&mut self, recovery: u64, of: u64, description: &str, now: Timestamp) {
        let outcome = match self.jobs.get(&recovery).map(|r| r.situation) {
            Some(Situation::Held) => {
                self.update(recovery, now, |r| {
                    r.status_note = Some(format!("started as the recovery job of {}", instance_id(of)));
                });
                self.release(recovery, now);
                format!("recovery job {} started", instance_id(recovery))
            }
            Some(Situation::Queued) => {
                format!("recovery job {} is already queued", instance_id(recovery))
            }
            Some(s) => format!(
                "recovery job {} could not be started: it is {}",
                instance_id(recovery),
                s.status().job_state
            ),
            None => format!(
                "recovery job {} could not be started: it is not held (it waits for its time, has ended, or no longer exists)",
                instance_id(recovery)
            ),
        };
        self.update(of, now, |j| {
            j.error_description = Some(format!("{description}; {outcome}"))
        });
    }

    /// A job reached a final state: record the run and plan its removal.
    fn after_final(&mut self, id: u64, now: Timestamp) {
        self.update(id, now, |j| {
            j.finished_at = Some(now);
            j.shutdown = None;
            j.queued_run = None;
        });
        self.record_run(id);
        self.plan_removal(id, now);
    }

    /// TimeBeforeRemoval after the end, if DeleteOnCompletion (at once after
    /// KillJob(DeleteOnKill)); otherwise the job stays until DeleteInstance.
    fn plan_removal(&mut self, id: u64, now: Timestamp) {
        let job = self.jobs[&id].clone();
        if let Some(old) = job.removal_due {
            self.timers.remove(&(old, id, TimerKind::Removal));
        }
        let finished = job.finished_at.unwrap_or(now);
        let due = if job.delete_on_kill && job.situation == Situation::Killed {
            Some(finished)
        } else if job.delete_on_completion {
            finished.saturating_add(job.time_before_removal).ok()
        } else {
            None
        };
        if let Some(due) = due {
            self.timers.insert((due, id, TimerKind::Removal));
        }
        self.update(id, now, |j| j.removal_due = due);
    }

    fn remove(&mut self, id: u64, now: Timestamp) {
        let Some(job) = self.jobs.remove(&id) else {
            return;
        };
        self.unpin(&job);
        self.timers.retain(|&(_, j, _)| j != id);
        self.ready.remove(&(job.priority, id));
        self.touched.remove(&id);
        self.step.batch.upserts.retain(|r| r.local_id != id);
        self.step.batch.deletes.push(id);
        if job.run_count > 0 {
            let logs = (1..=job.run_count)
                .map(|run| self.log_path(id, run))
                .collect();
            self.step.after_commit.push(Action::RemoveLogs(logs));
        }
        self.announce(id, now, EventKind::Deleted, Some(job), None);
    }

    /// Starts ready jobs while slots are free: lowest Priority first, then submission order.
    fn dispatch(&mut self, now: Timestamp) {
        while !self.draining && self.slots_used < self.config.max_running {
            let Some((_, id)) = self.ready.pop_first() else {
                break;
            };
            let waiting = self.jobs.get(&id).map(|j| (j.situation, j.ready));
            if !matches!(
                waiting,
                Some((Situation::Queued | Situation::BetweenRuns, true))
            ) {
                continue;
            }
            let job = self.jobs[&id].clone();
            if let Some(recovery) = self.recovery_of(&job) {
                if !self.jobs.contains_key(&recovery) && !self.recoveries.starts_unpinned(id) {
                    // a failed run must find its recovery job at once: it comes back from
                    // the store first, and the queue waits for it, in order
                    self.ready.insert((job.priority, id));
                    if self.recoveries.wait_to_start(recovery, id) {
                        self.step.reads.push(StoreRead::Job { id: recovery });
                    }
                    break;
                }
                self.recoveries.pin(recovery, id);
            }
            self.slots_used += 1;
            let new_occurrence = !job.retrying;
            // an occurrence that waited for the run before it is late already: it starts now
            let queued = job.queued_run.filter(|_| new_occurrence);
            let due = match queued {
                Some(_) => now,
                None => job.next_run_time.unwrap_or(now).max(now),
            };
            // a new occurrence may be dispatched up to `start_lead` before it is due
            let starts_at = if new_occurrence { due } else { now };
            let run = job.run_count + 1;
            let log_path = self.log_path(id, run);
            let node = self.config.node.clone();
            self.update(id, now, |j| {
                j.situation = Situation::Starting;
                j.run_count = run;
                j.start_time = Some(starts_at);
                j.end_time = None;
                j.percent_complete = Some(0);
                j.progress_text = None;
                j.exit_status = None;
                j.signal = None;
                j.error_code = JobErrorCode::NoError;
                j.error_description = None;
                j.retry_at = None;
                j.retrying = false;
                j.ready = false;
                j.status_note = None;
                if new_occurrence {
                    j.occurrences += 1;
                    j.queued_run = None;
                }
                j.output_path = Some(log_path.display().to_string());
                j.node = Some(node.clone());
            });
            // the next occurrence is planned now, so one that comes during this run is seen
            // and skipped rather than run on top of it
            let plan = self.plan(&job);
            let next = if queued.is_some() || !new_occurrence {
                // planned when the held occurrence came, or kept for after a re-run
                job.next_run_time
            } else if plan.is_timed() && plan.runs_left(job.occurrences + 1) {
                plan.next_run(due)
            } else {
                None
            };
            self.set_next(id, next, now);
            self.record_run(id);
            let spawn = self.spawn(id, (starts_at > now).then_some(starts_at));
            self.step.after_commit.push(spawn);
        }
    }

    /// Starting job `id`'s current run, not before `not_before`.
    fn spawn(&self, id: u64, not_before: Option<Timestamp>) -> Action {
        let job = &self.jobs[&id];
        let run = job.run_count;
        let log_path = self.log_path(id, run);
        let mut environment: Vec<(String, String)> = job
            .environment
            .iter()
            .filter_map(|e| {
                e.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        environment.push(("CIMJOB_INSTANCE_ID".into(), job.instance_id()));
        environment.push(("CIMJOB_RUN".into(), run.to_string()));
        environment.push(("CIMJOB_NODE".into(), self.config.node.clone()));
        let run_as = job
            .run_as_user
            .as_ref()
            .filter(|u| **u != self.config.run_as_user)
            .zip(self.config.exec_helper.as_ref())
            .map(|(user, helper)| RunAs {
                user: user.clone(),
                helper: helper.clone(),
            });
        let spec = WorkSpec {
            argv: job.command_line.clone(),
            working_directory: job.working_directory.as_ref().map(PathBuf::from),
            environment,
            log_path,
            run_as,
        };
        Action::Spawn {
            key: RunKey { job: id, run },
            spec,
            not_before,
        }
    }

    /// The job `key` names, if it is on that run and (when `situations` is not empty) in one
    /// of them; stale reports from an older run are ignored.
    fn current_run(&self, key: RunKey, situations: &[Situation]) -> Option<&Arc<Job>> {
        self.jobs.get(&key.job).filter(|j| {
            j.run_count == key.run && (situations.is_empty() || situations.contains(&j.situation))
        })
    }

    fn record_run(&mut self, id: u64) {
        let j = &self.jobs[&id];
        let Some(started_at) = j.start_time else {
            return;
        };
        let record = RunRecord {
            local_id: id,
            run_number: j.run_count,
            started_at,
            ended_at: j.end_time,
            exit_status: j.exit_status,
            signal: j.signal,
            error_code: j.error_code.number(),
            error_description: j.error_description.clone(),
            final_state: j.end_time.map(|_| j.situation.status().job_state.number()),
        };
        self.step
            .batch
            .runs
            .retain(|r| (r.local_id, r.run_number) != (id, record.run_number));
        self.step.batch.runs.push(record);
    }

    /// Changes one job; bumps Generation, stamps TimeOfLastStateChange when JobState
    /// changes, and records the event. A change that changes nothing is not one.
    fn update(&mut self, id: u64, now: Timestamp, f: impl FnOnce(&mut Job)) {
        let Some(entry) = self.jobs.get_mut(&id) else {
            return;
        };
        let previous = entry.clone();
        let job = Arc::make_mut(entry);
        f(job);
        if *job == *previous {
            return;
        }
        let kind = if job.situation != previous.situation {
            if job.situation.status().job_state != previous.situation.status().job_state {
                job.time_of_last_state_change = Some(now);
            }
            EventKind::StateChanged
        } else if job.percent_complete != previous.percent_complete
            || job.progress_text != previous.progress_text
        {
            EventKind::Progress
        } else {
            EventKind::Modified
        };
        self.touched.insert(id);
        // Changes of one job made one after the other by one call (a job's end: its exit
        // status, PercentComplete 100, Completed) are one change: one event, one Generation,
        // so watchers and indications see it once, not as a trail of echoes. What is never
        // folded: a creation, and a second change of the situation (so every JobState and
        // OperationalStatus a job passes through is a change of its own). A new job's place in
        // the ready queue is part of its creation.
        let situation_moved = job.situation != previous.situation;
        let queued_only = job.ready != previous.ready && {
            let mut unqueued = job.clone();
            unqueued.ready = previous.ready;
            unqueued == *previous
        };
        if let Some(last) = self.step.events.last_mut().filter(|e| {
            e.job == id
                && (e.kind != EventKind::Created || queued_only)
                && e.current.is_some()
                && !(situation_moved
                    && e.previous.as_ref().map(|p| p.situation)
                        != e.current.as_ref().map(|c| c.situation))
        }) {
            job.generation = previous.generation;
            last.current = Some(entry.clone());
            last.kind = stronger(last.kind, kind);
            return;
        }
        job.generation += 1;
        let current = entry.clone();
        self.announce(id, now, kind, Some(previous), Some(current));
    }

    fn announce(
        &mut self,
        job: u64,
        at: Timestamp,
        kind: EventKind,
        previous: Option<Arc<Job>>,
        current: Option<Arc<Job>>,
    ) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.step.events.push(Event {
            sequence,
            at,
            job,
            kind,
            previous,
            current,
        });
    }

    /// The step so far, with its batch completed: the touched jobs' records and one change
    /// record per event (a job's document serialized once where its latest change and its
    /// record share it).
    fn take_step(&mut self) -> Step {
        self.read_ready();
        let mut step = std::mem::take(&mut self.step);
        let mut latest: BTreeMap<u64, (Arc<Job>, String)> = BTreeMap::new();
        for event in &step.events {
            let document = |job: &Option<Arc<Job>>| {
                job.as_ref().map(|j| {
                    match latest
                        .get(&event.job)
                        .filter(|(known, _)| Arc::ptr_eq(known, j))
                    {
                        Some((_, doc)) => doc.clone(),
                        None => document_of(j),
                    }
                })
            };
            let previous = document(&event.previous);
            let current = document(&event.current);
            if let (Some(job), Some(doc)) = (&event.current, &current) {
                latest.insert(event.job, (job.clone(), doc.clone()));
            }
            step.batch.changes.push(ChangeRecord {
                seq: event.sequence,
                at: event.at,
                job: event.job,
                kind: event.kind.number(),
                previous,
                current,
            });
        }
        for id in std::mem::take(&mut self.touched) {
            if let Some(job) = self.jobs.get(&id) {
                let mut record = record_of_without_document(job);
                record.document = match latest.remove(&id) {
                    Some((known, doc)) if Arc::ptr_eq(&known, job) => doc,
                    _ => document_of(job),
                };
                step.batch.upserts.push(record);
            }
        }
        step
    }
}

/// Why a job that was running at a restart failed when nothing held its run any more.
const LOST_AT_RESTART: &str =
    "its run was not held by any supervisor when the service started (the machine restarted, or the supervisor died); its processes were ended";

/// The store's view of a job: indexed columns plus the JSON document.
pub fn record_of(job: &Job) -> JobRecord {
    JobRecord {
        document: document_of(job),
        ..record_of_without_document(job)
    }
}

fn record_of_without_document(job: &Job) -> JobRecord {
    JobRecord {
        local_id: job.local_id,
        job_state: job.situation.status().job_state.number(),
        priority: job.priority,
        owner: job.owner.clone(),
        document: String::new(),
        settled: settled(job),
        ready: job.ready,
        wake: wake_of(job),
    }
}

/// Whether only a call about the job moves it again (but a removal at its time): it ended,
/// or it is held with no run planned. The store keeps it out of a start's read.
fn settled(job: &Job) -> bool {
    job.situation.is_final() || (job.situation == Situation::Held && job.next_run_time.is_none())
}

/// The earlier of two times, either of which may be missing.
fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    a.into_iter().chain(b).min()
}

/// When a job next needs the rules while no call is about it: a settled job's removal, a
/// waiting one's next start (a scheduled run or a re-run); never for a ready job (it waits
/// for a slot) or one in play.
fn wake_of(job: &Job) -> Option<Timestamp> {
    if job.situation.is_final() {
        job.removal_due
    } else if matches!(job.situation, Situation::Queued | Situation::BetweenRuns) && !job.ready {
        job.next_start()
    } else {
        None
    }
}

/// A job as its stored document.
fn document_of(job: &Job) -> String {
    serde_json::to_string(job).expect("a job always serializes")
}

/// The more telling of two kinds of one change: a state change over progress over any other
/// modification.
fn stronger(a: EventKind, b: EventKind) -> EventKind {
    let rank = |k: EventKind| match k {
        EventKind::StateChanged => 2,
        EventKind::Progress => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// A change as the change record keeps it, back as the event it was.
pub fn event_of(record: &ChangeRecord) -> Result<Event, serde_json::Error> {
    let read = |doc: &Option<String>| -> Result<Option<Arc<Job>>, serde_json::Error> {
        doc.as_deref()
            .map(|d| serde_json::from_str(d).map(Arc::new))
            .transpose()
    };
    Ok(Event {
        sequence: record.seq,
        at: record.at,
        job: record.job,
        kind: EventKind::from_number(record.kind).unwrap_or(EventKind::Modified),
        previous: read(&record.previous)?,
        current: read(&record.current)?,
    })
}

/// Reads a stored job document back.
pub fn job_of(record: &JobRecord) -> Result<Job, serde_json::Error> {
    serde_json::from_str(&record.document)
}

fn run_key(job: &Job) -> RunKey {
    RunKey {
        job: job.local_id,
        run: job.run_count,
    }
}

/// Why a run that did not exit 0 failed: its ErrorCode and ErrorDescription.
fn failure_of(outcome: ExitOutcome) -> (JobErrorCode, String) {
    match outcome {
        ExitOutcome::Exited(code) => (
            JobErrorCode::NonZeroExit,
            format!("the command exited with status {code}"),
        ),
        ExitOutcome::Signaled(sig) => (
            JobErrorCode::EndedBySignal,
            format!(
                "the command was ended by signal {sig} ({})",
                signal_name(sig)
            ),
        ),
    }
}

fn end_by_request(j: &mut Job, goal: ShutdownGoal) {
    let (situation, code) = match goal {
        ShutdownGoal::Terminate => (Situation::Terminated, JobErrorCode::TerminatedByRequest),
        ShutdownGoal::Kill => (Situation::Killed, JobErrorCode::KilledByRequest),
    };
    j.situation = situation;
    j.error_code = code;
    j.error_description = Some(code.name().to_string());
    if j.status_note.is_some()
        && goal == ShutdownGoal::Terminate
        && j.shutdown.is_some_and(|s| s.kill_at.is_some())
    {
        if let Some(note) = j.status_note.take() {
            j.error_description = Some(format!("{}; {note}", code.name()));
        }
    }
    j.status_note = None;
}
