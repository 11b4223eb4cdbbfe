//! Reading the change record from a position: a consumer that falls far behind the
//! announcements still gets every change, in order; one that saved its position resumes
//! there after a restart.

use std::sync::Arc;

use cim::{CimArray, CimType, CimValue};
use cimjob_engine::{EngineHandle, Processes, Report, Reports};
use cimjob_rules::core::CoreConfig;
use cimjob_rules::events::EventKind;
use cimjob_rules::run::{ProcessIdentity, RunKey, WorkSignal, WorkSpec};
use cimjob_store::memory::MemoryStore;
use cimjob_store::Store;

/// Processes that start nothing: these tests only submit held jobs.
struct NoProcesses;

impl Processes for NoProcesses {
    fn live(&self) -> cimjob_rules::run::Held {
        Default::default()
    }
    fn start(&mut self, _: RunKey, _: WorkSpec, _: Option<std::time::SystemTime>) {}
    fn signal(&mut self, _: RunKey, _: WorkSignal) -> Result<(), String> {
        Ok(())
    }
    fn answer(&mut self, _: RunKey, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn kill_orphan(&mut self, _: ProcessIdentity) -> bool {
        false
    }
    fn remove_logs(&mut self, _: Vec<std::path::PathBuf>) {}
    fn durable(&mut self, _: u64) {}
    fn stop(&mut self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async {})
    }
}

fn engine(store: Arc<MemoryStore>) -> EngineHandle {
    let config = CoreConfig::new(
        "/tmp/cimjob-changes-test".into(),
        "tester",
        jiff::tz::TimeZone::UTC,
        1,
    );
    let (_reports, receiver): (_, Reports) = tokio::sync::mpsc::unbounded_channel::<Report>();
    cimjob_engine::start(
        store as Arc<dyn Store>,
        config,
        Box::new(NoProcesses),
        receiver,
    )
    .expect("the engine starts")
}

fn held_job() -> Vec<(String, Option<CimValue>)> {
    let argv = CimArray::new(CimType::String, vec!["/bin/true".into()]).unwrap();
    vec![
        ("Name".into(), Some("held".into())),
        ("CommandLine".into(), Some(CimValue::Array(argv))),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_far_behind_the_announcements_still_gets_every_change_in_order() {
    let store = Arc::new(MemoryStore::new());
    let engine = engine(store);
    let mut changes = engine.changes_after(0);
    // more than the announcements hold for a consumer that does not read (16,384)
    let n = 20_000u64;
    for _ in 0..n {
        engine.submit(held_job(), "alice", true).await.unwrap();
    }
    for expected in 1..=n {
        let event = changes.next().await.expect("a change");
        assert_eq!(event.sequence, expected, "in order, none skipped");
        assert_eq!((event.kind, event.job), (EventKind::Created, expected));
    }
    assert_eq!(changes.position(), n);
    engine.shutdown().await;
    assert!(
        changes.next().await.is_none(),
        "the changes end with the engine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_resumes_after_a_restart_where_it_saved_its_position() {
    let store = Arc::new(MemoryStore::new());
    let first = engine(store.clone());
    for _ in 0..5 {
        first.submit(held_job(), "alice", true).await.unwrap();
    }
    let mut changes = first.changes_after(0);
    for _ in 0..3 {
        changes.next().await.unwrap();
    }
    first
        .save_position("reader", Some(changes.position()))
        .await
        .unwrap();
    first.shutdown().await;

    let second = engine(Arc::new(store.reopened()));
    assert_eq!(second.position("reader").await.unwrap(), Some(3));
    assert_eq!(
        second.last_change(),
        5,
        "numbering goes on across the restart"
    );
    let mut resumed = second.changes_after(3);
    second.submit(held_job(), "alice", true).await.unwrap();
    let seen: Vec<(u64, u64)> = [
        resumed.next().await.unwrap(),
        resumed.next().await.unwrap(),
        resumed.next().await.unwrap(),
    ]
    .iter()
    .map(|e| (e.sequence, e.job))
    .collect();
    assert_eq!(seen, [(4, 4), (5, 5), (6, 6)]);
}
