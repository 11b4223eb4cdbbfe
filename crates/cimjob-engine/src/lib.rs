//! The engine's async shell: one task that owns the [`Core`] and feeds it from clients, the
//! runner and its timers, makes each [`Step`] durable through the [`Store`], and only then
//! announces its events, answers the client and starts processes.
//!
//! Steps are committed in order and their completions are handled in order (the store
//! completes batches in submission order), so events reach watchers in the order the core
//! made them, and many clients' changes share one transaction (group commit) without any
//! client seeing an acknowledgement before its change is durable.
//!
//! A progress line's step, which nobody waits for, is held for up to [`LAZY_COMMIT_WINDOW`]
//! and folded into the next step's transaction: work that reports progress many times a
//! second costs a commit per window, not per line. Its events are still announced only once
//! durable, and a step that someone waits for (a client, a spawn) takes it along at once.
//! (A start is not held: it records the process's identity, which a restart after a crash
//! needs to kill the orphan.)

#![warn(missing_docs)]

mod changes;
mod forward;
mod recall;

use std::collections::{HashMap, VecDeque};
use std::ops::ControlFlow;
use std::sync::Arc;

use cim::CimValue;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{broadcast, mpsc, oneshot};

use cimjob_rules::core::{
    job_of, Action, Core, CoreConfig, DeleteError, ModifyError, NotFound, Note, RunNowError, Step,
    StoreRead,
};
use cimjob_rules::events::Event;
use cimjob_rules::model::properties::View;
use cimjob_rules::model::value_maps::{AnswerReturn, KillJobReturn, StateChangeReturn};
use cimjob_rules::model::{Job, PropertyError};
use cimjob_rules::run::{Held, ProcessIdentity, RunKey, RunnerEvent, WorkSignal, WorkSpec};
use cimjob_store::{Batch, CommitTicket, RunRecord, Store, StoreError};

use changes::Announced;
pub use changes::Changes;

/// Why an engine call failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum EngineError {
    /// No such job.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// A property value was refused; nothing changed.
    #[error(transparent)]
    Property(#[from] PropertyError),
    /// The job is not in a state that allows the call: DeleteInstance of an unfinished job,
    /// Run now of one that does not wait for its time.
    #[error("{0}")]
    WrongState(String),
    /// The store could not make the change durable.
    #[error("the job store failed: {0}")]
    Store(String),
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
    /// Another node of the cluster holds the job (it runs it, or is about to).
    #[error("job is held by node {node} of the cluster")]
    HeldElsewhere {
        /// The node that holds it.
        node: String,
    },
}

impl From<DeleteError> for EngineError {
    fn from(e: DeleteError) -> Self {
        match e {
            DeleteError::NotFound(n) => EngineError::NotFound(n),
            e @ DeleteError::NotFinished { .. } => EngineError::WrongState(e.to_string()),
        }
    }
}

impl From<RunNowError> for EngineError {
    fn from(e: RunNowError) -> Self {
        match e {
            RunNowError::NotFound(n) => EngineError::NotFound(n),
            e @ RunNowError::NotWaiting { .. } => EngineError::WrongState(e.to_string()),
        }
    }
}

impl From<ModifyError> for EngineError {
    fn from(e: ModifyError) -> Self {
        match e {
            ModifyError::NotFound(n) => EngineError::NotFound(n),
            ModifyError::Property(p) => EngineError::Property(p),
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// What the engine does to processes: the supervisors that hold runs in the service, a
/// recording double in the shell's tests. Each call returns at once; what comes of a start,
/// and everything a run reports, arrives as [`Report`]s on the channel given to [`start`].
pub trait Processes: Send {
    /// The runs held when the engine starts (they outlived the previous service): their jobs
    /// are adopted, not failed, and their reports carry on; and whether that account is
    /// complete (see [`Held`]).
    fn live(&self) -> Held;
    /// Starts a run (its Starting state is durable), not before `not_before`; the outcome
    /// comes back as the run's [`RunnerEvent::Started`].
    fn start(&mut self, key: RunKey, spec: WorkSpec, not_before: Option<std::time::SystemTime>);
    /// Signals a run's process group; the error says why it could not be (the run has ended).
    fn signal(&mut self, key: RunKey, signal: WorkSignal) -> Result<(), String>;
    /// Writes an answer line to a run's progress descriptor.
    fn answer(&mut self, key: RunKey, text: &str) -> Result<(), String>;
    /// Kills a process group a previous service left behind, if it is still that group;
    /// whether one was killed.
    fn kill_orphan(&mut self, identity: ProcessIdentity) -> bool;
    /// Deletes a removed job's run logs (may take long: not on the engine's task).
    fn remove_logs(&mut self, paths: Vec<std::path::PathBuf>);
    /// Every report up to the one with this receipt is durable: whoever keeps them until then
    /// (a supervisor, while the service may die) may forget them.
    fn durable(&mut self, receipt: u64);
    /// The engine is stopping: let go of the runs (a supervisor keeps them for the next
    /// service); resolves once what was said to them (the last acknowledgements) is out.
    fn stop(&mut self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
}

/// One thing a run did, as the engine hears of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Which run.
    pub key: RunKey,
    /// What it did.
    pub event: RunnerEvent,
    /// Given back through [`Processes::durable`] once the change it caused is durable;
    /// increasing. `None` for a report nobody needs to hear back about.
    pub receipt: Option<u64>,
}

/// The report channel [`Processes`] answer on.
pub type Reports = mpsc::UnboundedReceiver<Report>;

/// How many jobs [`EngineHandle::list`] reads at a time.
const LIST_PAGE: usize = 1000;

/// How many LocalIDs a node of a shared store reserves at a time; it asks for the next block
/// when a quarter is left, so a submission seldom waits for one.
const LOCAL_ID_BLOCK: u64 = 256;

/// How often, at least, a node of a shared store looks again at what waits there (what other
/// nodes gave back, what comes due) and for lapsed nodes to rescue; each wait is jittered
/// between this and twice this, so the nodes' looks spread out.
const SHARED_POLL: std::time::Duration = std::time::Duration::from_millis(1000);

/// How long a progress step may be held to share a later step's transaction. Its events
/// reach watchers at most this late.
pub const LAZY_COMMIT_WINDOW: std::time::Duration = std::time::Duration::from_millis(10);

enum Command {
    Submit {
        values: Vec<(String, Option<CimValue>)>,
        owner: String,
        run_as: Option<String>,
        hold: bool,
        in_parameters: Option<String>,
        reply: Reply<Arc<Job>>,
    },
    RequestStateChange {
        id: u64,
        requested: u16,
        timeout: Option<SignedDuration>,
        reply: Reply<StateChangeReturn>,
    },
    KillJob {
        id: u64,
        delete_on_kill: bool,
        reply: Reply<KillJobReturn>,
    },
    Answer {
        id: u64,
        text: String,
        reply: Reply<AnswerReturn>,
    },
    Modify {
        id: u64,
        values: Vec<(String, Option<CimValue>)>,
        reply: Reply<Vec<&'static str>>,
    },
    Delete {
        id: u64,
        reply: Reply<()>,
    },
    RunNow {
        id: u64,
        reply: Reply<()>,
    },
    Get {
        id: u64,
        reply: Reply<Arc<Job>>,
    },
    Page {
        after: u64,
        limit: usize,
        reply: Reply<Vec<Arc<Job>>>,
    },
    Held {
        reply: oneshot::Sender<usize>,
    },
    Drain {
        reply: oneshot::Sender<()>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

impl Command {
    /// The job a call is about, which the core must hold to carry it out (a Get reads the
    /// store's copy instead, see `Shell::command`).
    fn job(&self) -> Option<u64> {
        match self {
            Command::RequestStateChange { id, .. }
            | Command::KillJob { id, .. }
            | Command::Answer { id, .. }
            | Command::Modify { id, .. }
            | Command::Delete { id, .. }
            | Command::RunNow { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// Answers the call with `error`, doing nothing.
    fn refuse(self, error: EngineError) {
        match self {
            Command::Submit { reply, .. } | Command::Get { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Command::RequestStateChange { reply, .. } => drop(reply.send(Err(error))),
            Command::KillJob { reply, .. } => drop(reply.send(Err(error))),
            Command::Answer { reply, .. } => drop(reply.send(Err(error))),
            Command::Modify { reply, .. } => drop(reply.send(Err(error))),
            Command::Delete { reply, .. } | Command::RunNow { reply, .. } => {
                drop(reply.send(Err(error)))
            }
            Command::Page { reply, .. } => drop(reply.send(Err(error))),
            Command::Drain { reply } | Command::Shutdown { reply } => drop(reply.send(())),
            Command::Held { reply } => drop(reply.send(0)),
        }
    }
}

/// The jobs after a LocalID, read a page at a time ([`EngineHandle::pages`]).
pub struct JobPages {
    engine: EngineHandle,
    /// The jobs after this LocalID come next; `None` once they ended (or a read failed).
    after: Option<u64>,
    size: usize,
}

impl JobPages {
    /// The next page, in LocalID order, or `None` once the jobs have ended; after an error
    /// there is nothing more. Each full page moves past `size` LocalIDs, so the pages end.
    pub async fn next(&mut self) -> Option<Result<Vec<Arc<Job>>, EngineError>> {
        let after = self.after.take()?;
        let page = match self.engine.page(after, self.size).await {
            Ok(page) => page,
            Err(e) => return Some(Err(e)),
        };
        if page.len() == self.size {
            self.after = page.last().map(|j| j.local_id);
        }
        Some(Ok(page))
    }
}

/// How clients reach the engine. Cheap to clone; every front end holds one.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    store: Arc<dyn Store>,
    zone: jiff::tz::TimeZone,
    announced: Announced,
    stopped: tokio::sync::watch::Receiver<bool>,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The jobs at rest a start reads (the head of the ready queue, what wakes soon) could not
    /// be read.
    #[error("the jobs at rest could not be read: {0}")]
    Read(String),
    /// A stored job could not be read back.
    #[error("stored job {local_id} is unreadable: {error}")]
    BadDocument {
        /// Which job.
        local_id: u64,
        /// Why.
        error: String,
    },
}

/// Starts the engine on `store`, acting on `processes` (which report on `reports`): loads
/// every job, resolves the ones a dead service left running, and begins dispatching. Must be
/// called inside a tokio runtime.
pub fn start(
    store: Arc<dyn Store>,
    config: CoreConfig,
    processes: Box<dyn Processes>,
    reports: Reports,
) -> Result<EngineHandle, StartError> {
    let loaded = store.load()?;
    let mut jobs = Vec::with_capacity(loaded.jobs.len());
    for record in &loaded.jobs {
        jobs.push(job_of(record).map_err(|e| StartError::BadDocument {
            local_id: record.local_id,
            error: e.to_string(),
        })?);
    }
    let zone = config.zone.clone();
    let mut config = config;
    config.shared = store.shared();
    let live = processes.live();
    let announced = Announced::default();
    let (stopped_tx, stopped) = tokio::sync::watch::channel(false);
    announced.raise(loaded.last_change);
    let now = Timestamp::now();
    let (mut core, mut first_step) = Core::recover(
        config,
        jobs,
        loaded.last_local_id,
        loaded.last_change,
        now,
        &live,
    );
    // its first reads at once, as the load: the head of the ready queue and what wakes soon
    // are known before the first call (the reads they lead to are the shell's)
    for read in std::mem::take(&mut first_step.reads) {
        let found =
            recall::read_asked(&*store, read).map_err(|e| StartError::Read(e.to_string()))?;
        let step = core.read_back(read, Ok(found), now);
        first_step.merge(step);
    }
    let (commands, command_rx) = mpsc::channel(1024);
    let (recalled_tx, recalled_rx) = mpsc::unbounded_channel();
    if store.shared() {
        let ids = recall::reserve_local_ids(&*store, LOCAL_ID_BLOCK)
            .map_err(|e| StartError::Read(e.to_string()))?;
        core.grant_local_ids(ids);
    }
    // what a start loaded that is at rest (waiting for its time) goes with the first commit
    let loaded: Vec<(u64, u64)> = core.jobs().map(|j| (j.local_id, j.generation)).collect();
    let (events, _) = broadcast::channel(16384);
    let shell = Shell {
        core,
        store: store.clone(),
        processes,
        events: events.clone(),
        pending: VecDeque::new(),
        held: None,
        receipt: None,
        drained: Vec::new(),
        announced: announced.clone(),
        stopped: stopped_tx,
        recalls: HashMap::new(),
        asked: 0,
        recalled: recalled_tx,
        let_go: loaded,
        shared: store.shared(),
        waiting_for_ids: Vec::new(),
        reserving_ids: false,
        rescuing: false,
    };
    tokio::spawn(shell.run(first_step, command_rx, reports, recalled_rx));
    let handle = EngineHandle {
        commands,
        events,
        store,
        zone,
        announced,
        stopped,
    };
    if handle.store.shared() {
        tokio::spawn(forward::serve(handle.clone()));
    }
    Ok(handle)
}

impl EngineHandle {
    /// How job properties read at `now` in the service's zone: what every front end shows.
    pub fn view(&self, now: Timestamp) -> View {
        View::at(now, &self.zone)
    }

    /// The service's zone: "local" for schedules that name none, and for shown times.
    pub fn zone(&self) -> &jiff::tz::TimeZone {
        &self.zone
    }

    /// Sends a command to the engine task and waits for its answer;
    /// `Stopped` when the task has gone.
    async fn ask<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<R>) -> Command,
    ) -> Result<R, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)
    }

    /// [`Self::ask`] for the commands whose answer may itself be an error.
    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, EngineError> {
        self.ask(make).await?
    }

    /// Submits a job from creation-time property values; once durable, returns the job as
    /// that change left it (a client answering with the new job needs no second call).
    pub async fn submit(
        &self,
        values: Vec<(String, Option<CimValue>)>,
        owner: &str,
        hold: bool,
    ) -> Result<Arc<Job>, EngineError> {
        self.submit_as(values, owner, None, hold).await
    }

    /// As [`EngineHandle::submit`], for a job that runs as the OS account `run_as`
    /// (`None` = the service's own).
    pub async fn submit_as(
        &self,
        values: Vec<(String, Option<CimValue>)>,
        owner: &str,
        run_as: Option<&str>,
        hold: bool,
    ) -> Result<Arc<Job>, EngineError> {
        self.submit_by_method(values, owner, run_as, hold, None)
            .await
    }

    /// As [`EngineHandle::submit_as`], for a job a method made: `in_parameters` becomes its
    /// JobInParameters (and its creation is announced as that method's call, too).
    pub async fn submit_by_method(
        &self,
        values: Vec<(String, Option<CimValue>)>,
        owner: &str,
        run_as: Option<&str>,
        hold: bool,
        in_parameters: Option<String>,
    ) -> Result<Arc<Job>, EngineError> {
        if self.store.shared() {
            self.check_recovery_job_stored(&values).await?;
        }
        let owner = owner.to_string();
        let run_as = run_as.map(str::to_string);
        self.call(|reply| Command::Submit {
            values,
            owner,
            run_as,
            hold,
            in_parameters,
            reply,
        })
        .await
    }

    /// Refuses a RecoveryJob that names no stored job: on a shared store the core cannot tell
    /// a LocalID no node gave from one another node gave, so the store is asked.
    async fn check_recovery_job_stored(
        &self,
        values: &[(String, Option<CimValue>)],
    ) -> Result<(), EngineError> {
        let named = values
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("RecoveryJob"))
            .and_then(|(_, value)| value.as_ref()?.as_str())
            .and_then(cimjob_rules::model::job::parse_instance_id);
        match named {
            Some(id) if self.stored(vec![id]).await?.is_empty() => Err(EngineError::Property(
                cimjob_rules::core::missing_recovery_job(id),
            )),
            _ => Ok(()),
        }
    }

    /// RequestStateChange(RequestedState, TimeoutPeriod).
    pub async fn request_state_change(
        &self,
        id: u64,
        requested: u16,
        timeout: Option<SignedDuration>,
    ) -> Result<StateChangeReturn, EngineError> {
        let timeout_us = timeout.map(|t| i64::try_from(t.as_micros()).unwrap_or(i64::MAX));
        let call = forward::Call::RequestStateChange {
            id,
            requested,
            timeout_us,
        };
        forward::code(self.wherever(call).await?, StateChangeReturn::from_number)
    }

    /// KillJob(DeleteOnKill).
    pub async fn kill_job(
        &self,
        id: u64,
        delete_on_kill: bool,
    ) -> Result<KillJobReturn, EngineError> {
        let call = forward::Call::KillJob { id, delete_on_kill };
        forward::code(self.wherever(call).await?, KillJobReturn::from_number)
    }

    /// AnswerQuery(Answer).
    pub async fn answer(&self, id: u64, text: &str) -> Result<AnswerReturn, EngineError> {
        let call = forward::Call::Answer {
            id,
            text: text.to_string(),
        };
        forward::code(self.wherever(call).await?, AnswerReturn::from_number)
    }

    /// ModifyInstance; returns the names of the properties that changed.
    pub async fn modify(
        &self,
        id: u64,
        values: Vec<(String, Option<CimValue>)>,
    ) -> Result<Vec<String>, EngineError> {
        forward::changed(self.wherever(forward::Call::Modify { id, values }).await?)
    }

    /// Runs a job that waits for its time now (see [`Core::run_now`]).
    pub async fn run_now(&self, id: u64) -> Result<(), EngineError> {
        match self.wherever(forward::Call::RunNow { id }).await? {
            forward::Answer::Refused(refusal) => Err(refusal.into()),
            _ => Ok(()),
        }
    }

    /// DeleteInstance.
    pub async fn delete(&self, id: u64) -> Result<(), EngineError> {
        match self.wherever(forward::Call::Delete { id }).await? {
            forward::Answer::Refused(refusal) => Err(refusal.into()),
            _ => Ok(()),
        }
    }

    /// The job as the engine holds it now.
    pub async fn get(&self, id: u64) -> Result<Arc<Job>, EngineError> {
        self.call(|reply| Command::Get { id, reply }).await
    }

    /// Every job, in LocalID order, read page by page (see [`EngineHandle::each_page`]).
    pub async fn list(&self) -> Result<Vec<Arc<Job>>, EngineError> {
        let mut all = Vec::new();
        self.each_page(0, LIST_PAGE, |page| {
            all.extend(page);
            ControlFlow::<()>::Continue(())
        })
        .await?;
        Ok(all)
    }

    /// Reads the jobs after LocalID `after` a page of `size` at a time (see
    /// [`EngineHandle::page`]), handing each page to `visit` until it breaks (its value is
    /// returned) or the jobs end: what every reader of many jobs does, holding one page.
    pub async fn each_page<B>(
        &self,
        after: u64,
        size: usize,
        mut visit: impl FnMut(Vec<Arc<Job>>) -> ControlFlow<B>,
    ) -> Result<Option<B>, EngineError> {
        let mut pages = self.pages(after, size);
        // bounded: the pages end once the jobs do
        while let Some(page) = pages.next().await {
            if let ControlFlow::Break(value) = visit(page?) {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// The jobs after LocalID `after`, `size` at a time, as a cursor of its own: for a reader
    /// that goes on reading while it sends what it read (an enumeration's answer).
    pub fn pages(&self, after: u64, size: usize) -> JobPages {
        JobPages {
            engine: self.clone(),
            after: Some(after),
            size: size.max(1),
        }
    }

    /// The first `limit` jobs after LocalID `after`, in LocalID order, once what came before
    /// is durable: a read of many jobs, one page at a time, so neither the engine nor the
    /// store holds them all at once (the ones the engine let go of come from the store).
    pub async fn page(&self, after: u64, limit: usize) -> Result<Vec<Arc<Job>>, EngineError> {
        self.call(|reply| Command::Page {
            after,
            limit,
            reply,
        })
        .await
    }

    /// The jobs `ids` name, as the store keeps them (one that is gone is left out), without
    /// going through the engine: for an open enumeration that names the finished jobs it will
    /// show by LocalID rather than holding them. What the store keeps is durable, and for a
    /// finished job the latest but for a modification still being committed.
    pub async fn stored(&self, ids: Vec<u64>) -> Result<Vec<Arc<Job>>, EngineError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || recall::read_jobs(&*store, &ids))
            .await
            .map_err(|e| EngineError::Store(e.to_string()))?
    }

    /// How many jobs the engine holds in memory: those still in play, and those at rest only
    /// until their last change is durable (the rest are read from the store when asked for),
    /// so an operator can see memory follow the work, not the jobs kept.
    pub async fn held(&self) -> Result<usize, EngineError> {
        self.ask(|reply| Command::Held { reply }).await
    }

    /// How many jobs are in each JobState and how many wait ready, as the store counts them
    /// (every node's, on a shared store): an operator's figures, without reading the jobs.
    pub async fn census(&self) -> Result<cimjob_store::Census, EngineError> {
        forward::blocking(self.store.clone(), |store| store.census()).await
    }

    /// Whether the store answers a read now: a readiness probe's question, cheap enough to
    /// ask every few seconds.
    pub async fn store_answers(&self) -> Result<(), EngineError> {
        forward::blocking(self.store.clone(), |store| {
            store.position("cimjob:ready?").map(drop)
        })
        .await
    }

    /// A job's run history, from the store.
    pub async fn runs(&self, id: u64) -> Result<Vec<RunRecord>, EngineError> {
        forward::blocking(self.store.clone(), move |store| store.runs(id)).await
    }

    /// Every change from now on, after it is durable, as the engine announces it (a receiver
    /// that lags loses changes: consumers that must not read [`EngineHandle::changes_after`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Every durable change after `position` (a consumer's), in order, none skipped.
    pub fn changes_after(&self, position: u64) -> Changes {
        Changes::new(
            self.store.clone(),
            self.events.subscribe(),
            self.stopped.clone(),
            position,
        )
    }

    /// Every durable change from now on, in order, none skipped.
    pub fn changes_from_now(&self) -> Changes {
        let live = self.events.subscribe();
        Changes::new(
            self.store.clone(),
            live,
            self.stopped.clone(),
            self.announced.get(),
        )
    }

    /// The last change announced (durable).
    pub fn last_change(&self) -> u64 {
        self.announced.get()
    }

    /// The position `consumer` last saved in the change record, if it has one.
    pub async fn position(&self, consumer: &str) -> Result<Option<u64>, EngineError> {
        let consumer = consumer.to_string();
        forward::blocking(self.store.clone(), move |store| store.position(&consumer)).await
    }

    /// Every consumer's saved position.
    pub async fn positions(&self) -> Result<Vec<(String, u64)>, EngineError> {
        forward::blocking(self.store.clone(), |store| store.positions()).await
    }

    /// Saves (`Some`) or forgets (`None`) `consumer`'s position, durably: the change record
    /// keeps what the slowest consumer has not dealt with yet.
    pub async fn save_position(
        &self,
        consumer: &str,
        position: Option<u64>,
    ) -> Result<(), EngineError> {
        let batch = Batch {
            positions: vec![(consumer.to_string(), position)],
            ..Batch::default()
        };
        self.store
            .commit(batch)
            .await
            .map_err(|e| EngineError::Store(e.to_string()))
    }

    /// Starts no more runs and resolves once every running one has ended (the jobs that come
    /// due meanwhile wait for the next start): `serve --drain`, before a machine is retired.
    pub async fn drain(&self) {
        // an engine that has stopped has nothing running either
        let _ = self.ask(|reply| Command::Drain { reply }).await;
    }

    /// Stops the engine: makes every change durable, ends the readers of changes once they
    /// have read the last, and lets go of the processes (running work goes on, held by its
    /// supervisor, and the next start adopts it). The store stays open for its owner to close.
    pub async fn shutdown(&self) {
        // An engine that has already stopped has nothing left to flush.
        let _ = self.ask(|reply| Command::Shutdown { reply }).await;
    }
}

type Completion = Box<dyn FnOnce(Result<(), EngineError>) + Send>;

/// A step whose batch is being made durable.
struct Pending {
    ticket: Option<CommitTicket>,
    events: Vec<Event>,
    after_commit: Vec<Action>,
    completion: Option<Completion>,
    /// The last report this step's change answers, to give back once durable.
    receipt: Option<u64>,
    /// The jobs this step changed, with the Generation it wrote: once it is durable the core
    /// may let go of those still at that Generation and at rest.
    written: Vec<(u64, u64)>,
}

struct Shell {
    core: Core,
    store: Arc<dyn Store>,
    processes: Box<dyn Processes>,
    events: broadcast::Sender<Event>,
    pending: VecDeque<Pending>,
    /// Steps nobody waits for, not yet sent to the store, and when they must be.
    held: Option<(Step, tokio::time::Instant)>,
    /// The last report whose step is not yet in a pending commit.
    receipt: Option<u64>,
    /// Who waits for the running work to end (see [`EngineHandle::drain`]).
    drained: Vec<oneshot::Sender<()>>,
    announced: Announced,
    /// Told once the engine has stopped, so readers of changes end.
    stopped: tokio::sync::watch::Sender<bool>,
    /// The jobs being read back, and the calls that wait for each.
    recalls: HashMap<u64, Vec<Command>>,
    /// How many reads the core asked for are under way.
    asked: usize,
    recalled: mpsc::UnboundedSender<recall::ReadBack>,
    /// Jobs the core may let go of where they are at rest, held on to while a read back is
    /// under way: a job read back from before such a change could otherwise replace the core's
    /// newer one.
    let_go: Vec<(u64, u64)>,
    /// Whether several nodes share the store (see [`CoreConfig::shared`]).
    shared: bool,
    /// Submissions waiting for LocalIDs (a shared store's node whose block ran out).
    waiting_for_ids: Vec<Command>,
    /// A block of LocalIDs is being reserved.
    reserving_ids: bool,
    /// A rescue of lapsed nodes' jobs is under way.
    rescuing: bool,
}

/// Resolves when the oldest pending step is durable; never while none is pending.
async fn oldest_durable(pending: &mut VecDeque<Pending>) -> Result<(), StoreError> {
    match pending.front_mut() {
        None => std::future::pending().await,
        Some(Pending {
            ticket: Some(ticket),
            ..
        }) => ticket.await,
        Some(_) => Ok(()),
    }
}

/// Writes the core's notes to the log.
fn log_notes(notes: &[Note]) {
    for note in notes {
        if note.warning {
            tracing::warn!(job = note.job, "{}", note.message);
        } else {
            tracing::info!(job = note.job, "{}", note.message);
        }
    }
}

/// `base` to twice `base`, varying from call to call.
fn jittered(base: std::time::Duration) -> std::time::Duration {
    base + base.mul_f64(fastrand::f64())
}

fn reply<T: Send + 'static>(tx: Reply<T>, value: T) -> Completion {
    Box::new(move |result: Result<(), EngineError>| {
        let _ = tx.send(result.map(|()| value));
    })
}

impl Shell {
    async fn run(
        mut self,
        first_step: Step,
        mut commands: mpsc::Receiver<Command>,
        mut runner_events: Reports,
        mut recalled: mpsc::UnboundedReceiver<recall::ReadBack>,
    ) {
        self.handle(first_step, None);
        let mut poll_at = tokio::time::Instant::now() + jittered(SHARED_POLL);
        let mut pool = self.store.notices().map(|n| n.pool);
        loop {
            if !self.drained.is_empty() && self.core.slots_used() == 0 && self.pending.is_empty() {
                for waiter in self.drained.drain(..) {
                    let _ = waiter.send(());
                }
            }
            let timer = self.core.next_timer().map(|at| {
                let wait = at
                    .duration_since(Timestamp::now())
                    .max(SignedDuration::ZERO);
                tokio::time::Instant::now() + wait.unsigned_abs()
            });
            tokio::select! {
                biased;
                // first: a due start must not wait behind a busy queue of other work
                _ = async { tokio::time::sleep_until(timer.expect("guarded")).await }, if timer.is_some() => {
                    let step = self.core.fire_timers(Timestamp::now());
                    self.handle(step, None);
                }
                _ = async { tokio::time::sleep_until(self.held.as_ref().expect("guarded").1).await }, if self.held.is_some() => {
                    self.handle(Step::default(), None);
                }
                _ = tokio::time::sleep_until(poll_at), if self.shared => {
                    poll_at = tokio::time::Instant::now() + jittered(SHARED_POLL);
                    self.look_again();
                }
                // another node gave ready jobs back: a free slot claims them now
                Ok(()) = async { pool.as_mut().expect("guarded").changed().await }, if pool.is_some() => {
                    let step = self.core.store_changed(Timestamp::now());
                    self.handle(step, None);
                }
                done = oldest_durable(&mut self.pending) => self.committed(done),
                // a client's request before the runs' reports: a burst of reports (a
                // supervisor telling what it kept) must not hold up a Suspend
                command = commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        self.stop().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(command) => self.command(command),
                    None => {
                        self.stop().await;
                        return;
                    }
                },
                Some(job) = recalled.recv() => self.recalled(job),
                Some(report) = runner_events.recv() => self.runner_event(report),
            }
        }
    }

    /// A client's call; one about a job the core let go of waits until it is back.
    fn command(&mut self, command: Command) {
        match command {
            // a read needs no core: the store's copy, once what came before is durable
            Command::Get { id, reply } if self.let_go_of(id) => {
                let store = self.store.clone();
                self.after_pending(move || {
                    tokio::task::spawn_blocking(move || {
                        let job = recall::read_job(&*store, id).and_then(|job| {
                            job.map(Arc::new).ok_or(EngineError::NotFound(NotFound(id)))
                        });
                        drop(reply.send(job));
                    });
                });
            }
            command => match command.job() {
                Some(id) if self.let_go_of(id) => self.recall(id, command),
                _ => self.execute(command),
            },
        }
    }

    /// Whether `id` may name a job the core let go of (one it never had is not asked for).
    fn let_go_of(&self, id: u64) -> bool {
        self.core.job(id).is_none() && self.core.may_exist(id)
    }

    /// A shared store's node looks again at what waits in the store, and rescues the jobs of
    /// nodes whose lease lapsed.
    fn look_again(&mut self) {
        let step = self.core.store_changed(Timestamp::now());
        self.handle(step, None);
        if !self.rescuing {
            self.rescuing = true;
            let (store, recalled) = (self.store.clone(), self.recalled.clone());
            tokio::task::spawn_blocking(move || {
                let _ = recalled.send(recall::ReadBack::Rescued(recall::rescue(&*store)));
            });
        }
    }

    /// Reserves the next block of LocalIDs, unless that is under way.
    fn reserve_ids(&mut self) {
        if self.reserving_ids {
            return;
        }
        self.reserving_ids = true;
        let (store, recalled) = (self.store.clone(), self.recalled.clone());
        tokio::task::spawn_blocking(move || {
            let ids = recall::reserve_local_ids(&*store, LOCAL_ID_BLOCK);
            let _ = recalled.send(recall::ReadBack::LocalIds(ids));
        });
    }

    /// Reads the job `id` back for `command`, once every step made so far is durable.
    fn recall(&mut self, id: u64, command: Command) {
        let queue = self.recalls.entry(id).or_default();
        queue.push(command);
        if queue.len() > 1 {
            return;
        }
        let store = self.store.clone();
        let recalled = self.recalled.clone();
        let shared = self.shared;
        self.after_pending(move || {
            tokio::task::spawn_blocking(move || {
                let job = match shared {
                    true => recall::claim_job(&*store, id),
                    false => recall::read_job(&*store, id),
                };
                let job = job.map(|job| job.map(Box::new));
                let _ = recalled.send(recall::ReadBack::Job { id, job });
            });
        });
    }

    /// Does a read the core asked for, once every step made so far is durable.
    fn ask(&mut self, read: StoreRead) {
        self.asked += 1;
        let store = self.store.clone();
        let recalled = self.recalled.clone();
        self.after_pending(move || {
            tokio::task::spawn_blocking(move || {
                let found = recall::read_asked(&*store, read);
                let _ = recalled.send(recall::ReadBack::Asked { read, found });
            });
        });
    }

    /// What a read back brought: a job for the calls that waited for it (the core takes it,
    /// they go on, and it is let go of again), or what a read the core asked for found.
    fn recalled(&mut self, read_back: recall::ReadBack) {
        match read_back {
            recall::ReadBack::Job { id, job } => {
                let commands = self.recalls.remove(&id).unwrap_or_default();
                let stored = match job {
                    Ok(Some(job)) => {
                        let stored = (id, job.generation);
                        self.core.admit(*job);
                        Some(stored)
                    }
                    Ok(None) => None,
                    Err(error) => {
                        match &error {
                            EngineError::HeldElsewhere { .. } => {
                                tracing::debug!(job = id, %error, "a call about a job another node holds")
                            }
                            _ => {
                                tracing::error!(job = id, %error, "a job at rest could not be read back")
                            }
                        }
                        for command in commands {
                            command.refuse(error.clone());
                        }
                        return self.let_go(None);
                    }
                };
                for command in commands {
                    self.execute(command);
                }
                // as read back: a call that changed it lets it go once that change is durable
                self.let_go(stored);
            }
            recall::ReadBack::LocalIds(ids) => {
                self.reserving_ids = false;
                match ids {
                    Ok(ids) => self.core.grant_local_ids(ids),
                    Err(error) => {
                        tracing::error!(%error, "no LocalIDs could be reserved; the submissions waiting are refused");
                        for command in self.waiting_for_ids.drain(..) {
                            command.refuse(error.clone());
                        }
                    }
                }
                for command in std::mem::take(&mut self.waiting_for_ids) {
                    self.execute(command);
                }
            }
            recall::ReadBack::Rescued(jobs) => {
                self.rescuing = false;
                match jobs {
                    Ok(jobs) if jobs.is_empty() => {}
                    Ok(jobs) => {
                        let step = self.core.take_over(jobs, Timestamp::now());
                        self.handle(step, None);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "the jobs of lapsed nodes could not be rescued yet")
                    }
                }
            }
            recall::ReadBack::Asked { read, found } => {
                self.asked -= 1;
                let found = found.map_err(|error| {
                    tracing::error!(%error, ?read, "the store could not be read; trying again");
                });
                let step = self.core.read_back(read, found, Timestamp::now());
                self.handle(step, None);
                self.let_go(None);
            }
        }
    }

    /// Lets the core drop jobs at rest, once no read back is under way; a shared store gets
    /// them back, for any node to claim.
    fn let_go(&mut self, jobs: impl IntoIterator<Item = (u64, u64)>) {
        self.let_go.extend(jobs);
        if self.recalls.is_empty() && self.asked == 0 {
            let released = self
                .core
                .forget_at_rest(self.let_go.drain(..), Timestamp::now());
            if self.shared && !released.is_empty() {
                let ticket = self.store.commit(Batch {
                    released,
                    ..Batch::default()
                });
                tokio::spawn(async move {
                    if let Err(error) = ticket.await {
                        tracing::warn!(%error, "jobs let go of could not be given back; they stay this node's until it starts again");
                    }
                });
            }
        }
    }

    fn execute(&mut self, command: Command) {
        let now = Timestamp::now();
        match command {
            command @ Command::Submit { .. } if self.shared && self.core.local_ids_left() == 0 => {
                self.waiting_for_ids.push(command);
                self.reserve_ids();
            }
            Command::Submit {
                values,
                owner,
                run_as,
                hold,
                in_parameters,
                reply,
            } => {
                if self.shared && self.core.local_ids_left() <= LOCAL_ID_BLOCK / 4 {
                    self.reserve_ids();
                }
                let result = self
                    .core
                    .submit_as(&values, &owner, run_as.as_deref(), hold, in_parameters, now)
                    .map(|(id, step)| (self.core.job(id).expect("just submitted").clone(), step));
                self.respond(reply, result);
            }
            Command::RequestStateChange {
                id,
                requested,
                timeout,
                reply,
            } => {
                let result = self.core.request_state_change(id, requested, timeout, now);
                self.respond(reply, result);
            }
            Command::KillJob {
                id,
                delete_on_kill,
                reply,
            } => {
                let result = self.core.kill_job(id, delete_on_kill, now);
                self.respond(reply, result);
            }
            Command::Answer { id, text, reply } => {
                let result = self.core.answer(id, &text, now);
                self.respond(reply, result);
            }
            Command::Modify { id, values, reply } => {
                let result = self.core.modify(id, &values, now);
                self.respond(reply, result);
            }
            Command::Delete { id, reply } => {
                let result = self.core.delete(id, now).map(|step| ((), step));
                self.respond(reply, result);
            }
            Command::RunNow { id, reply } => {
                let result = self.core.run_now(id, now).map(|step| ((), step));
                self.respond(reply, result);
            }
            Command::Drain { reply } => {
                self.core.drain();
                self.drained.push(reply);
            }
            // answered once every change already made is durable (a held progress step goes
            // to the store with it): what a reader sees is never undone by a crash
            Command::Get { id, reply } => {
                let job = self
                    .core
                    .job(id)
                    .cloned()
                    .ok_or(EngineError::NotFound(NotFound(id)));
                self.after_pending(move || drop(reply.send(job)));
            }
            Command::Page {
                after,
                limit,
                reply,
            } => {
                let held: Vec<Arc<Job>> =
                    self.core.jobs_after(after).take(limit).cloned().collect();
                let store = self.store.clone();
                self.after_pending(move || {
                    tokio::task::spawn_blocking(move || {
                        drop(reply.send(recall::read_page(&*store, held, after, limit)));
                    });
                });
            }
            Command::Held { reply } => drop(reply.send(self.core.jobs().count())),
            Command::Shutdown { .. } => unreachable!("handled by the loop"),
        }
    }

    /// Runs `answer` once the steps already made are durable (at once if all are).
    fn after_pending(&mut self, answer: impl FnOnce() + Send + 'static) {
        self.handle(Step::default(), Some(Box::new(move |_| answer())));
    }

    /// Answers a client: a refusal at once, an accepted change once its step is durable.
    fn respond<T: Send + 'static, E: Into<EngineError>>(
        &mut self,
        tx: Reply<T>,
        result: Result<(T, Step), E>,
    ) {
        match result {
            Ok((value, step)) => self.handle(step, Some(reply(tx, value))),
            Err(e) => drop(tx.send(Err(e.into()))),
        }
    }

    fn runner_event(
        &mut self,
        Report {
            key,
            event,
            receipt,
        }: Report,
    ) {
        let now = Timestamp::now();
        if receipt.is_some() {
            self.receipt = receipt;
        }
        // nobody waits on a progress line: its step may share a later commit
        let lazy = matches!(event, RunnerEvent::Progress { .. });
        let step = match event {
            RunnerEvent::Progress { percent, text } => self.core.progress(key, percent, text, now),
            RunnerEvent::Query { text } => self.core.query(key, text, now),
            RunnerEvent::Exited(outcome) => self.core.exited(key, outcome, now),
            RunnerEvent::Lost { reason } => self.core.lost(key, &reason, now),
            RunnerEvent::Started { result, at } => {
                // the moment the work began, not the later one this loop got to it
                let at = Timestamp::try_from(at).unwrap_or(now);
                match result {
                    Ok(identity) => self.core.process_started(key, identity, at),
                    Err(message) => self.core.spawn_failed(key, &message, at),
                }
            }
        };
        if lazy {
            self.hold(step);
        } else {
            self.handle(step, None);
        }
    }

    /// Holds a step nobody waits for (see [`LAZY_COMMIT_WINDOW`]); one that must start a
    /// process goes on at once.
    fn hold(&mut self, mut step: Step) {
        if !step.after_commit.is_empty() {
            return self.handle(step, None);
        }
        for action in std::mem::take(&mut step.now) {
            self.act(action);
        }
        log_notes(&std::mem::take(&mut step.notes));
        match &mut self.held {
            Some((held, _)) => held.merge(step),
            None => {
                self.held = Some((step, tokio::time::Instant::now() + LAZY_COMMIT_WINDOW));
            }
        }
    }

    /// Carries out a step: immediate actions now, the rest once its batch (with any held
    /// step's before it) is durable.
    fn handle(&mut self, mut step: Step, completion: Option<Completion>) {
        for action in std::mem::take(&mut step.now) {
            self.act(action);
        }
        log_notes(&step.notes);
        if let Some((mut held, _)) = self.held.take() {
            held.merge(step);
            step = held;
        }
        let written: Vec<(u64, u64)> = step
            .events
            .iter()
            .filter_map(|e| Some((e.job, e.current.as_ref()?.generation)))
            .chain(step.let_go.iter().copied())
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let ticket = (!step.batch.is_empty()).then(|| self.store.commit(step.batch));
        let receipt = self.receipt.take();
        let nothing_waits = step.events.is_empty() && step.after_commit.is_empty();
        if ticket.is_none() && self.pending.is_empty() && nothing_waits {
            if let Some(r) = receipt {
                self.processes.durable(r);
            }
            if let Some(c) = completion {
                c(Ok(()));
            }
        } else {
            self.pending.push_back(Pending {
                ticket,
                events: step.events,
                after_commit: step.after_commit,
                completion,
                receipt,
                written,
            });
        }
        for read in step.reads {
            self.ask(read);
        }
    }

    /// The oldest pending step is durable (or failed): announce, answer, start processes.
    fn committed(&mut self, result: Result<(), StoreError>) {
        let pending = self.pending.pop_front().expect("a pending step completed");

        if let Err(e) = &result {
            tracing::error!(error = %e, "a change could not be made durable; the client is told");
        }
        let result = result.map_err(|e| EngineError::Store(e.to_string()));
        if result.is_ok() {
            self.announce(pending.events);
            if let Some(r) = pending.receipt {
                self.processes.durable(r);
            }
            self.let_go(pending.written);
        }
        if let Some(c) = pending.completion {
            c(result.clone());
        }
        for action in pending.after_commit {
            self.act(action);
        }
    }

    /// Tells everyone listening of durable changes.
    fn announce(&mut self, events: Vec<Event>) {
        for event in events {
            self.announced.raise(event.sequence);
            let _ = self.events.send(event);
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Spawn {
                key,
                spec,
                not_before,
            } => self
                .processes
                .start(key, spec, not_before.map(std::time::SystemTime::from)),
            Action::Signal { key, signal } => {
                if let Err(e) = self.processes.signal(key, signal) {
                    tracing::debug!(job = key.job, run = key.run, error = %e, "signal not delivered");
                }
            }
            Action::Answer { key, text } => {
                if let Err(e) = self.processes.answer(key, &text) {
                    tracing::warn!(job = key.job, error = %e, "answer not delivered");
                }
            }
            Action::KillOrphan(identity) => {
                if self.processes.kill_orphan(identity) {
                    tracing::warn!(
                        pid = identity.pid,
                        "killed a process group left by a previous service"
                    );
                }
            }
            Action::RemoveLogs(paths) => self.processes.remove_logs(paths),
        }
    }

    /// Flushes pending steps, then kills every running group.
    async fn stop(&mut self) {
        if self.held.is_some() {
            self.handle(Step::default(), None);
        }
        while !self.pending.is_empty() {
            let done = oldest_durable(&mut self.pending).await;
            let pending = self.pending.pop_front().expect("non-empty");
            if done.is_ok() {
                self.announce(pending.events);
                if let Some(r) = pending.receipt {
                    self.processes.durable(r);
                }
            }
            if let Some(c) = pending.completion {
                c(done.map_err(|e| EngineError::Store(e.to_string())));
            }
        }
        // the runs go on, held by their supervisor, for the next service to adopt
        self.processes.stop().await;
        // the store stays open: consumers of the changes still save their positions; its
        // owner closes it
        let _ = self.stopped.send(true);
    }
}

impl Drop for Shell {
    /// A held step still reaches the store when the engine ends without `shutdown` (an error
    /// exit): the writer applies what is queued before it stops.
    fn drop(&mut self) {
        if let Some((held, _)) = self.held.take() {
            if !held.batch.is_empty() {
                drop(self.store.commit(held.batch));
            }
        }
    }
}
