//! The engine shell's own policy, against an in-memory store whose commits the test holds
//! back and a recording double of the processes: durable before visible, progress folded
//! into the next commit, completions in order.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use cim::{CimArray, CimType, CimValue};
use cimjob_engine::{EngineHandle, Processes, Report, LAZY_COMMIT_WINDOW};
use cimjob_rules::core::CoreConfig;
use cimjob_rules::events::{Event, EventKind};
use cimjob_rules::model::value_maps::JobState;
use cimjob_rules::run::{ExitOutcome, ProcessIdentity, RunKey, RunnerEvent, WorkSignal, WorkSpec};
use cimjob_store::memory::MemoryStore;
use cimjob_store::Store;
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::sync::mpsc::UnboundedSender;

/// What the engine asked of the processes, and how many batches were durable when it did.
#[derive(Clone, Debug, PartialEq)]
enum Call {
    Start { key: RunKey, durable: usize },
    Signal { key: RunKey, signal: WorkSignal },
    Stop,
}

struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    store: Arc<MemoryStore>,
}

impl Recorder {
    fn push(&self, call: Call) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
    }
}

impl Processes for Recorder {
    fn live(&self) -> cimjob_rules::run::Held {
        Default::default()
    }

    fn durable(&mut self, _receipt: u64) {}

    fn start(&mut self, key: RunKey, _spec: WorkSpec, _not_before: Option<SystemTime>) {
        let durable = self.store.applied();
        self.push(Call::Start { key, durable });
    }

    fn signal(&mut self, key: RunKey, signal: WorkSignal) -> Result<(), String> {
        self.push(Call::Signal { key, signal });
        Ok(())
    }

    fn answer(&mut self, _key: RunKey, _text: &str) -> Result<(), String> {
        Ok(())
    }

    fn kill_orphan(&mut self, _identity: ProcessIdentity) -> bool {
        false
    }

    fn remove_logs(&mut self, _paths: Vec<std::path::PathBuf>) {}

    fn stop(&mut self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.push(Call::Stop);
        Box::pin(async {})
    }
}

struct Harness {
    engine: EngineHandle,
    store: Arc<MemoryStore>,
    calls: Arc<Mutex<Vec<Call>>>,
    reports: UnboundedSender<Report>,
}

impl Harness {
    fn new(max_running: usize) -> Harness {
        Harness::on(Arc::new(MemoryStore::new()), max_running)
    }

    /// An engine started on what `store` holds.
    fn on(store: Arc<MemoryStore>, max_running: usize) -> Harness {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (reports, receiver) = tokio::sync::mpsc::unbounded_channel();
        let processes = Recorder {
            calls: calls.clone(),
            store: store.clone(),
        };
        let config = CoreConfig::new(
            "/tmp/cimjob-shell-test-logs".into(),
            "tester",
            jiff::tz::TimeZone::UTC,
            max_running,
        );
        let engine = cimjob_engine::start(
            store.clone() as Arc<dyn Store>,
            config,
            Box::new(processes),
            receiver,
        )
        .expect("the engine starts");
        Harness {
            engine,
            store,
            calls,
            reports,
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn report(&self, job: u64, event: RunnerEvent) {
        let key = RunKey { job, run: 1 };
        let report = Report {
            key,
            event,
            receipt: None,
        };
        self.reports.send(report).expect("the engine reads reports");
    }

    /// Submits a job and waits until its process has been asked for and reported started.
    async fn running_job(&self, name: &str, events: &mut broadcast::Receiver<Event>) -> u64 {
        let id = self
            .engine
            .submit(values(name), "alice", false)
            .await
            .expect("submitted")
            .local_id;
        until(|| {
            self.calls()
                .iter()
                .any(|c| matches!(c, Call::Start { key, .. } if key.job == id))
        })
        .await;
        self.report(
            id,
            RunnerEvent::Started {
                result: Ok(ProcessIdentity {
                    pid: 4242,
                    start_ticks: 1,
                }),
                at: SystemTime::now(),
            },
        );
        next_with_state(events, id, JobState::Running).await;
        id
    }
}

fn values(name: &str) -> Vec<(String, Option<CimValue>)> {
    let argv = CimArray::new(CimType::String, vec!["/bin/true".into()]).expect("strings");
    vec![
        ("Name".into(), Some(name.into())),
        ("CommandLine".into(), Some(CimValue::Array(argv))),
    ]
}

/// Waits (bounded) until `condition` holds; fails the test if it never does.
async fn until(condition: impl Fn() -> bool) {
    for _ in 0..5_000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the condition did not come true within 5 s");
}

/// The next announced event, within 5 s.
async fn next_event(events: &mut broadcast::Receiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event within 5 s")
        .expect("the engine announces")
}

/// The next announced event of job `id` whose JobState is `state`, skipping others.
async fn next_with_state(
    events: &mut broadcast::Receiver<Event>,
    id: u64,
    state: JobState,
) -> Event {
    for _ in 0..1_000 {
        let event = next_event(events).await;
        let reached = event
            .current
            .as_ref()
            .is_some_and(|j| j.situation.status().job_state == state);
        if event.job == id && reached {
            return event;
        }
    }
    panic!("job {id} never reached {state:?}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn nothing_is_answered_announced_or_spawned_before_its_batch_commits() {
    let h = Harness::new(1);
    let mut events = h.engine.subscribe();
    h.store.hold();
    let engine = h.engine.clone();
    let submission = tokio::spawn(async move { engine.submit(values("a"), "alice", false).await });
    until(|| h.store.waiting() == 1).await;
    // time enough for anything premature to happen
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !submission.is_finished(),
        "the client was answered before its job was durable"
    );
    assert_eq!(
        events.try_recv().map(|e| e.kind),
        Err(TryRecvError::Empty),
        "a change was announced before it was durable"
    );
    assert_eq!(
        h.calls(),
        vec![],
        "a process was started before its Starting state was durable"
    );

    h.store.release();
    let job = submission.await.expect("joined").expect("accepted");
    assert_eq!(job.local_id, 1);
    assert_eq!(
        events.recv().await.expect("announced").kind,
        EventKind::Created
    );
    until(|| !h.calls().is_empty()).await;
    assert_eq!(
        h.calls(),
        vec![Call::Start {
            key: RunKey { job: 1, run: 1 },
            durable: 1
        }],
        "the start comes after the one batch that holds the job's Starting state"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_held_progress_step_is_folded_into_the_next_commit() {
    let h = Harness::new(1);
    let mut events = h.engine.subscribe();
    let id = h.running_job("chatty", &mut events).await;
    let before = h.store.applied();

    h.report(
        id,
        RunnerEvent::Progress {
            percent: 50,
            text: Some("half way".into()),
        },
    );
    h.report(id, RunnerEvent::Exited(ExitOutcome::Exited(0)));

    let progress = next_event(&mut events).await;
    assert_eq!(progress.kind, EventKind::Progress);
    assert_eq!(
        progress.current.as_ref().and_then(|j| j.percent_complete),
        Some(50)
    );
    next_with_state(&mut events, id, JobState::Completed).await;
    assert_eq!(
        h.store.applied(),
        before + 1,
        "the progress line and the exit shared one transaction"
    );
    let stored = h.store.job(id).expect("reads").expect("stored");
    assert_eq!(stored.job_state, JobState::Completed.number());
    assert!(stored.settled);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn settled_and_held_jobs_leave_memory_and_every_call_reads_them_back_from_the_store() {
    let h = Harness::new(2);
    let mut events = h.engine.subscribe();
    let done = h.running_job("done", &mut events).await;
    h.report(done, RunnerEvent::Exited(ExitOutcome::Exited(0)));
    next_with_state(&mut events, done, JobState::Completed).await;
    let held = h
        .engine
        .submit(values("held"), "alice", true)
        .await
        .expect("submitted")
        .local_id;
    assert_eq!(
        h.engine.held().await.unwrap(),
        0,
        "an ended job and a held one wait in the store"
    );
    assert!(h.store.job(done).unwrap().unwrap().settled);
    assert!(h.store.job(held).unwrap().unwrap().settled);

    let job = h.engine.get(done).await.expect("read back");
    assert_eq!(job.situation.status().job_state, JobState::Completed);
    let all: Vec<u64> = h
        .engine
        .list()
        .await
        .unwrap()
        .iter()
        .map(|j| j.local_id)
        .collect();
    assert_eq!(all, [done, held]);
    let changed = h
        .engine
        .modify(
            done,
            vec![("DeleteOnCompletion".into(), Some(CimValue::Boolean(true)))],
        )
        .await
        .expect("modified once read back");
    assert_eq!(changed, ["DeleteOnCompletion"]);
    assert!(h.store.job(done).unwrap().unwrap().wake.is_some());
    assert_eq!(h.engine.held().await.unwrap(), 0, "let go of again");
    assert!(matches!(
        h.engine.get(999).await,
        Err(cimjob_engine::EngineError::NotFound(_))
    ));

    h.engine.delete(done).await.expect("deleted once read back");
    assert_eq!(h.store.job(done).unwrap(), None);
    assert!(matches!(
        h.engine.get(done).await,
        Err(cimjob_engine::EngineError::NotFound(_))
    ));
    assert_eq!(h.engine.held().await.unwrap(), 0);

    // a Start request reads the held job back and starts it
    h.engine
        .request_state_change(held, 2, None)
        .await
        .expect("started once read back");
    until(|| {
        h.calls()
            .iter()
            .any(|c| matches!(c, Call::Start { key, .. } if key.job == held))
    })
    .await;
    assert_eq!(h.engine.held().await.unwrap(), 1, "in play while it runs");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_finished_job_stored_before_settled_jobs_were_told_apart_is_written_settled_at_start() {
    let h = Harness::new(1);
    let mut events = h.engine.subscribe();
    let done = h.running_job("done", &mut events).await;
    h.report(done, RunnerEvent::Exited(ExitOutcome::Exited(0)));
    next_with_state(&mut events, done, JobState::Completed).await;
    h.engine.shutdown().await;
    // as a database migrated from before leaves it: every row not settled
    let mut old = h.store.job(done).unwrap().unwrap();
    old.settled = false;
    old.wake = None;
    h.store
        .commit(cimjob_store::Batch {
            upserts: vec![old],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(h.store.load().unwrap().jobs.len(), 1);

    let again = Harness::on(h.store.clone(), 1);
    let job = again.engine.get(done).await.expect("still there");
    assert_eq!(job.situation.status().job_state, JobState::Completed);
    assert!(
        h.store.job(done).unwrap().unwrap().settled,
        "written again, settled"
    );
    assert_eq!(
        h.store.load().unwrap().jobs.len(),
        0,
        "not loaded at the next start"
    );
    assert_eq!(again.engine.held().await.unwrap(), 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_held_progress_step_is_committed_within_the_window_and_announced_once_durable() {
    let h = Harness::new(1);
    let mut events = h.engine.subscribe();
    let id = h.running_job("slow", &mut events).await;
    h.store.hold();

    h.report(
        id,
        RunnerEvent::Progress {
            percent: 30,
            text: None,
        },
    );
    tokio::time::sleep(LAZY_COMMIT_WINDOW / 2).await;
    assert_eq!(
        h.store.waiting(),
        0,
        "held in the shell, not yet sent to the store"
    );
    tokio::time::sleep(LAZY_COMMIT_WINDOW).await;
    assert_eq!(
        h.store.waiting(),
        1,
        "sent to the store once its window passed"
    );
    assert_eq!(
        events.try_recv().map(|e| e.kind),
        Err(TryRecvError::Empty),
        "progress announced before it was durable"
    );

    h.store.release();
    let progress = next_event(&mut events).await;
    assert_eq!(progress.kind, EventKind::Progress);
    assert_eq!(
        progress.current.as_ref().and_then(|j| j.percent_complete),
        Some(30)
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn completions_are_handled_in_order_whatever_order_the_store_resolves_them() {
    let h = Harness::new(1);
    let mut events = h.engine.subscribe();
    h.store.hold();
    let answered = Arc::new(Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for (i, name) in ["first", "second", "third"].into_iter().enumerate() {
        let (engine, answered) = (h.engine.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            let job = engine.submit(values(name), "alice", true).await;
            answered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(job.expect("accepted").local_id);
        }));
        until(|| h.store.waiting() == i + 1).await;
    }

    h.store.release_newest_first();
    for client in clients {
        client.await.expect("joined");
    }
    assert_eq!(
        *answered.lock().unwrap(),
        vec![1, 2, 3],
        "clients answered in order"
    );
    let mut created = Vec::new();
    while let Ok(event) = events.try_recv() {
        if event.kind == EventKind::Created {
            created.push(event.job);
        }
    }
    assert_eq!(
        created,
        vec![1, 2, 3],
        "changes announced in the order they were made"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_signal_goes_out_at_once_while_its_state_change_waits_for_durability() {
    let h = Harness::new(1);
    let mut events = h.engine.subscribe();
    let id = h.running_job("stoppable", &mut events).await;
    h.store.hold();
    let engine = h.engine.clone();
    let request = tokio::spawn(async move { engine.request_state_change(id, 3, None).await });
    until(|| h.store.waiting() == 1).await;
    assert!(
        h.calls().contains(&Call::Signal {
            key: RunKey { job: id, run: 1 },
            signal: WorkSignal::Stop
        }),
        "Suspend stops the group at once"
    );
    assert!(
        !request.is_finished(),
        "but is acknowledged only once durable"
    );
    h.store.release();
    request.await.expect("joined").expect("accepted");
    next_with_state(&mut events, id, JobState::Suspended).await;
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_read_waits_until_what_it_shows_is_durable() {
    let h = Harness::new(1);
    h.store.hold();
    let engine = h.engine.clone();
    let submission = tokio::spawn(async move { engine.submit(values("a"), "alice", true).await });
    until(|| h.store.waiting() == 1).await;
    let engine = h.engine.clone();
    let read = tokio::spawn(async move { engine.get(1).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !read.is_finished(),
        "a job a crash could still undo was shown"
    );
    h.store.release();
    submission.await.expect("joined").expect("accepted");
    let job = read.await.expect("joined").expect("the job");
    assert_eq!(job.local_id, 1);
}
