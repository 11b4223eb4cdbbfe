//! The engine's rules, driven deterministically: explicit times, no processes, no store.
//! Each test reads like one rule of the README's reading of the standard.

use cim::{CimArray, CimType, CimValue};
use cimjob_rules::core::{job_of, record_of, Action, Core, CoreConfig, Step, StoreRead};
use cimjob_rules::events::EventKind;
use cimjob_rules::model::value_maps::{JobErrorCode, KillJobReturn, StateChangeReturn};
use cimjob_rules::model::Job;
use cimjob_rules::record::JobRecord;
use cimjob_rules::run::{ExitOutcome, Held, ProcessIdentity, RunKey, WorkSignal};
use cimjob_rules::state::Situation;
use jiff::{SignedDuration, Timestamp};

/// What the store holds, as the steps so far left it: the core reads its jobs at rest back
/// from here ([`Step::reads`]).
#[derive(Default)]
struct Shelf {
    jobs: std::collections::BTreeMap<u64, JobRecord>,
}

impl Shelf {
    fn put(&mut self, job: &Job) {
        self.jobs.insert(job.local_id, record_of(job));
    }

    fn apply(&mut self, step: &Step) {
        for record in &step.batch.upserts {
            self.jobs.insert(record.local_id, record.clone());
        }
        for id in &step.batch.deletes {
            self.jobs.remove(id);
        }
    }

    fn read(&self, read: StoreRead) -> Vec<Job> {
        let mut found: Vec<(jiff::Timestamp, u32, u64, &JobRecord)> = match read {
            StoreRead::Ready { after, .. } => self
                .jobs
                .values()
                .filter(|r| r.ready && after.is_none_or(|a| (r.priority, r.local_id) > a))
                .map(|r| (Timestamp::MIN, r.priority, r.local_id, r))
                .collect(),
            StoreRead::Waking { after, .. } => self
                .jobs
                .values()
                .filter_map(|r| Some((r.wake?, r)))
                .filter(|(at, r)| after.is_none_or(|a| (*at, r.local_id) > a))
                .map(|(at, r)| (at, 0, r.local_id, r))
                .collect(),
            StoreRead::Job { id } => self
                .jobs
                .get(&id)
                .map(|r| (Timestamp::MIN, 0, id, r))
                .into_iter()
                .collect(),
        };
        found.sort_by_key(|(at, priority, id, _)| (*at, *priority, *id));
        let limit = match read {
            StoreRead::Ready { limit, .. } | StoreRead::Waking { limit, .. } => limit,
            StoreRead::Job { .. } => 1,
        };
        found
            .into_iter()
            .take(limit)
            .map(|(_, _, _, r)| job_of(r).unwrap())
            .collect()
    }

    /// Answers every read `step` asks for (and those the answers ask for), folding what the
    /// core did with them into `step`.
    fn answer(&mut self, core: &mut Core, step: &mut Step, now: Timestamp) {
        self.apply(step);
        for _ in 0..100 {
            let Some(read) = step.reads.pop() else { return };
            let found = self.read(read);
            let next = core.read_back(read, Ok(found), now);
            self.apply(&next);
            step.merge(next);
        }
        panic!("reads without end");
    }
}

/// [`Core::recover`] with a store that holds no job at rest but those it writes itself: the
/// step is the start's with the reads it asked for answered.
fn recovered(
    config: CoreConfig,
    jobs: Vec<Job>,
    last_local_id: u64,
    last_change: u64,
    now: Timestamp,
    held: &Held,
) -> (Core, Step) {
    let (mut core, mut step) = Core::recover(config, jobs, last_local_id, last_change, now, held);
    Shelf::default().answer(&mut core, &mut step, now);
    (core, step)
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn config(max_running: usize) -> CoreConfig {
    let mut c = CoreConfig::new(
        "/tmp/cimjob-test-logs".into(),
        "tester",
        jiff::tz::TimeZone::UTC,
        2,
    );
    c.max_running = max_running;
    c
}

fn node_config(node: &str) -> CoreConfig {
    let mut config = config(3);
    config.node = node.into();
    config
}

fn values(name: &str, extra: &[(&str, CimValue)]) -> Vec<(String, Option<CimValue>)> {
    let argv = CimArray::new(CimType::String, vec![CimValue::String("true".into())]).unwrap();
    let mut v = vec![
        ("Name".to_string(), Some(CimValue::String(name.into()))),
        ("CommandLine".to_string(), Some(CimValue::Array(argv))),
    ];
    v.extend(
        extra
            .iter()
            .map(|(k, val)| (k.to_string(), Some(val.clone()))),
    );
    v
}

fn spawned(step: &Step) -> Vec<RunKey> {
    step.after_commit
        .iter()
        .filter_map(|a| match a {
            Action::Spawn { key, .. } => Some(*key),
            _ => None,
        })
        .collect()
}

fn removed_logs(step: &Step) -> Vec<String> {
    step.after_commit
        .iter()
        .filter_map(|a| match a {
            Action::RemoveLogs(paths) => Some(paths),
            _ => None,
        })
        .flatten()
        .map(|p| p.display().to_string())
        .collect()
}

fn signals(step: &Step) -> Vec<WorkSignal> {
    step.now
        .iter()
        .filter_map(|a| match a {
            Action::Signal { signal, .. } => Some(*signal),
            _ => None,
        })
        .collect()
}

fn identity(pid: u32) -> ProcessIdentity {
    ProcessIdentity {
        pid,
        start_ticks: 1,
    }
}

/// A one-slot UTC core at 01:00 on day 0 with the job `name` (with `rule`) submitted.
fn submitted_at_one_am(name: &str, rule: &[(&str, CimValue)]) -> (Core, u64) {
    let (core, id, _) = submitted_at(name, rule, day(0, 1, 0));
    (core, id)
}

/// A one-slot UTC core started at `now` with the job `name` (with `rule`) submitted then;
/// the submission's step.
fn submitted_at(name: &str, rule: &[(&str, CimValue)], now: Timestamp) -> (Core, u64, Step) {
    let mut core = recovered(utc_config(1), Vec::new(), 0, 0, now, &Default::default()).0;
    let (id, step) = core
        .submit(&values(name, rule), "alice", false, now)
        .unwrap();
    (core, id, step)
}

/// Submits, at t(0), a job whose ScheduledStartTime is 5 s after its submission.
fn submit_due_in_five_seconds(core: &mut Core) -> (u64, Step) {
    core.submit(
        &values(
            "later",
            &[("ScheduledStartTime", dt("00000000000005.000000:000"))],
        ),
        "alice",
        false,
        t(0),
    )
    .unwrap()
}

fn empty_core(max_running: usize) -> Core {
    recovered(
        config(max_running),
        Vec::new(),
        0,
        0,
        t(0),
        &Default::default(),
    )
    .0
}

/// The interval of 100 seconds, as a CIM value.
fn hundred_seconds() -> CimValue {
    CimValue::DateTime(cim::CimDateTime::parse("00000000000100.000000:000").unwrap())
}

/// Submits and starts a job with DeleteOnCompletion and a TimeBeforeRemoval of 100 s.
fn removed_100_s_after_its_end(core: &mut Core, name: &str, now: Timestamp) -> (u64, RunKey) {
    let removal = [
        ("DeleteOnCompletion", CimValue::Boolean(true)),
        ("TimeBeforeRemoval", hundred_seconds()),
    ];
    running(core, name, &removal, now)
}

/// ModifyInstance(DeleteOnCompletion = TRUE) of job `id`: its step.
fn delete_on_completion(core: &mut Core, id: u64, now: Timestamp) -> Step {
    let value = [("DeleteOnCompletion".into(), Some(CimValue::Boolean(true)))];
    core.modify(id, &value, now).unwrap().1
}

/// Submits and starts a job; returns its id and run key.
fn running(
    core: &mut Core,
    name: &str,
    extra: &[(&str, CimValue)],
    now: Timestamp,
) -> (u64, RunKey) {
    let (id, step) = core
        .submit(&values(name, extra), "alice", false, now)
        .unwrap();
    let key = spawned(&step)[0];
    core.process_started(key, identity(1000 + id as u32), now);
    assert_eq!(core.job(id).unwrap().situation, Situation::Running);
    (id, key)
}

#[test]
fn submission_is_one_durable_batch_with_an_event_and_a_spawn_after_commit() {
    let mut core = empty_core(2);
    let (id, step) = core
        .submit(&values("a", &[]), "alice", false, t(0))
        .unwrap();
    assert_eq!(id, 1);
    assert_eq!(step.batch.last_local_id, Some(1));
    assert_eq!(
        step.batch.upserts.len(),
        1,
        "one row per touched job, however many changes"
    );
    assert_eq!(step.batch.upserts[0].job_state, 3, "stored as Starting");
    assert_eq!(spawned(&step), [RunKey { job: 1, run: 1 }]);
    assert!(
        step.now.is_empty(),
        "nothing starts before the batch is durable"
    );
    let kinds: Vec<_> = step.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Created, EventKind::StateChanged]);
    assert!(step
        .events
        .windows(2)
        .all(|w| w[0].sequence < w[1].sequence));
    let job = core.job(id).unwrap();
    assert_eq!(job.owner, "alice");
    assert_eq!(job.run_as_user.as_deref(), Some("tester"));
}

#[test]
fn a_refused_submission_uses_no_local_id() {
    let mut core = empty_core(1);
    let bad = values("a", &[("Priority", CimValue::String("high".into()))]);
    assert!(core.submit(&bad, "alice", false, t(0)).is_err());
    let (id, _) = core
        .submit(&values("b", &[]), "alice", false, t(0))
        .unwrap();
    assert_eq!(id, 1);
    assert_eq!(core.jobs().count(), 1);
}

#[test]
fn lower_priority_first_then_submission_order_under_the_limit() {
    let mut core = empty_core(1);
    let (blocker, key) = running(&mut core, "blocker", &[], t(0));
    let mut order = Vec::new();
    for (name, p) in [("a", 10u32), ("b", 5), ("c", 5), ("d", 1)] {
        let (id, step) = core
            .submit(
                &values(name, &[("Priority", CimValue::UInt32(p))]),
                "alice",
                false,
                t(1),
            )
            .unwrap();
        assert!(spawned(&step).is_empty(), "no free slot");
        order.push((name, id));
    }
    let mut started = Vec::new();
    let mut step = core.exited(key, ExitOutcome::Exited(0), t(2));
    assert_eq!(core.job(blocker).unwrap().situation, Situation::Completed);
    for _ in 0..4 {
        let key = spawned(&step)[0];
        started.push(core.job(key.job).unwrap().name.clone());
        core.process_started(key, identity(1), t(3));
        step = core.exited(key, ExitOutcome::Exited(0), t(4));
    }
    assert_eq!(started, ["d", "b", "c", "a"]);
}

#[test]
fn completion_sets_percent_100_and_error_code_0() {
    let mut core = empty_core(1);
    let (id, key) = running(&mut core, "a", &[], t(0));
    core.progress(key, 40, Some("reading".into()), t(1));
    assert_eq!(core.job(id).unwrap().percent_complete, Some(40));
    assert_eq!(core.job(id).unwrap().job_status(), Some("reading"));
    let step = core.exited(key, ExitOutcome::Exited(0), t(5));
    let job = core.job(id).unwrap();
    assert_eq!(job.situation, Situation::Completed);
    assert_eq!(job.percent_complete, Some(100));
    assert_eq!(job.error_code, JobErrorCode::NoError);
    assert_eq!(job.time_of_last_state_change, Some(t(5)));
    assert_eq!(step.batch.runs.len(), 1);
    assert_eq!(step.batch.runs[0].ended_at, Some(t(5)));
    assert_eq!(step.batch.runs[0].final_state, Some(7));
}

#[test]
fn time_of_last_state_change_moves_only_with_job_state() {
    let mut core = empty_core(1);
    let (id, key) = running(&mut core, "a", &[], t(0));
    let before = core.job(id).unwrap().time_of_last_state_change;
    core.progress(key, 10, None, t(3));
    assert_eq!(
        core.job(id).unwrap().time_of_last_state_change,
        before,
        "progress is not a state change"
    );
    let (code, step) = core.request_state_change(id, 2, None, t(4)).unwrap();
    assert_eq!(code, StateChangeReturn::InvalidStateTransition);
    assert!(
        step.batch.is_empty() && step.events.is_empty(),
        "a rejected request changes nothing"
    );
    assert_eq!(core.job(id).unwrap().time_of_last_state_change, before);
    core.request_state_change(id, 3, None, t(6)).unwrap();
    assert_eq!(core.job(id).unwrap().time_of_last_state_change, Some(t(6)));
}

#[test]
fn suspend_and_start_signal_the_group() {
    let mut core = empty_core(1);
    let (id, _) = running(&mut core, "a", &[], t(0));
    let (code, step) = core.request_state_change(id, 3, None, t(1)).unwrap();
    assert_eq!(
        (code, signals(&step)),
        (
            StateChangeReturn::CompletedWithNoError,
            vec![WorkSignal::Stop]
        )
    );
    assert_eq!(core.job(id).unwrap().situation, Situation::Suspended);
    let (code, step) = core.request_state_change(id, 2, None, t(2)).unwrap();
    assert_eq!(
        (code, signals(&step)),
        (
            StateChangeReturn::CompletedWithNoError,
            vec![WorkSignal::Continue]
        )
    );
}

#[test]
fn suspending_a_queued_job_holds_it_until_start() {
    let mut core = empty_core(1);
    let (_, key) = running(&mut core, "blocker", &[], t(0));
    let (id, _) = core
        .submit(&values("queued", &[]), "alice", false, t(1))
        .unwrap();
    core.request_state_change(id, 3, None, t(2)).unwrap();
    assert_eq!(core.job(id).unwrap().situation, Situation::Held);
    let step = core.exited(key, ExitOutcome::Exited(0), t(3));
    assert!(spawned(&step).is_empty(), "a held job does not start");
    let (_, step) = core.request_state_change(id, 2, None, t(4)).unwrap();
    assert_eq!(spawned(&step), [RunKey { job: id, run: 1 }]);
}

#[test]
fn terminate_escalates_to_sigkill_after_the_timeout() {
    let mut core = empty_core(1);
    let (id, key) = running(&mut core, "a", &[], t(0));
    let (code, step) = core
        .request_state_change(id, 4, Some(SignedDuration::from_secs(3)), t(10))
        .unwrap();
    assert_eq!(code, StateChangeReturn::TransitionStarted);
    assert_eq!(signals(&step), [WorkSignal::Terminate]);
    assert_eq!(core.job(id).unwrap().situation, Situation::ShuttingDown);
    assert_eq!(core.next_timer(), Some(t(13)));
    assert!(signals(&core.fire_timers(t(12))).is_empty());
    assert_eq!(signals(&core.fire_timers(t(13))), [WorkSignal::Kill]);
    core.exited(key, ExitOutcome::Signaled(9), t(13));
    let job = core.job(id).unwrap();
    assert_eq!(job.situation, Situation::Terminated);
    assert_eq!(job.error_code, JobErrorCode::TerminatedByRequest);
    assert!(job
        .error_description
        .as_deref()
        .unwrap()
        .contains("SIGKILL"));
}

#[test]
fn terminate_without_timeout_waits_the_default_ten_seconds() {
    let mut core = empty_core(1);
    let (id, _) = running(&mut core, "a", &[], t(0));
    core.request_state_change(id, 4, None, t(0)).unwrap();
    assert_eq!(core.next_timer(), Some(t(10)));
}

#[test]
fn requests_while_starting_are_applied_once_started() {
    let mut core = empty_core(1);
    let (id, step) = core
        .submit(&values("a", &[]), "alice", false, t(0))
        .unwrap();
    let key = spawned(&step)[0];
    let (code, _) = core.request_state_change(id, 5, None, t(0)).unwrap();
    assert_eq!(code, StateChangeReturn::TransitionStarted);
    let step = core.process_started(key, identity(5), t(1));
    assert_eq!(signals(&step), [WorkSignal::Kill]);
    core.exited(key, ExitOutcome::Signaled(9), t(1));
    assert_eq!(core.job(id).unwrap().situation, Situation::Killed);
}

#[test]
fn rerun_backs_off_and_gives_up() {
    let mut cfg = config(1);
    cfg.max_reruns = 2;
    cfg.rerun_backoff = SignedDuration::from_secs(1);
    let mut core = recovered(cfg, Vec::new(), 0, 0, t(0), &Default::default()).0;
    let (id, key) = running(
        &mut core,
        "a",
        &[("RecoveryAction", CimValue::UInt16(4))],
        t(0),
    );
    core.exited(key, ExitOutcome::Exited(1), t(10));
    let job = core.job(id).unwrap();
    assert_eq!(job.situation, Situation::Queued);
    assert_eq!(job.next_start(), Some(t(11)));
    assert!(job.job_status().unwrap().starts_with("re-run 1 of 2"));
    assert!(spawned(&core.fire_timers(t(10))).is_empty());
    let key = spawned(&core.fire_timers(t(11)))[0];
    assert_eq!(key.run, 2);
    core.process_started(key, identity(2), t(11));
    core.exited(key, ExitOutcome::Exited(1), t(20));
    assert_eq!(
        core.job(id).unwrap().next_start(),
        Some(t(22)),
        "backoff doubles"
    );
    let key = spawned(&core.fire_timers(t(22)))[0];
    core.process_started(key, identity(3), t(22));
    core.exited(key, ExitOutcome::Exited(1), t(30));
    let job = core.job(id).unwrap();
    assert_eq!(job.situation, Situation::Failed);
    assert_eq!(job.run_count, 3);
    assert!(job
        .error_description
        .as_deref()
        .unwrap()
        .contains("gave up after 2 re-runs"));
}

#[test]
fn other_recovery_actions_end_in_exception() {
    for action in [0u16, 2, 3] {
        let mut core = empty_core(1);
        let (id, key) = running(
            &mut core,
            "a",
            &[("RecoveryAction", CimValue::UInt16(action))],
            t(0),
        );
        core.exited(key, ExitOutcome::Signaled(11), t(1));
        let job = core.job(id).unwrap();
        assert_eq!(
            (job.situation, job.error_code),
            (Situation::Failed, JobErrorCode::EndedBySignal),
            "action {action}"
        );
        assert!(job
            .error_description
            .as_deref()
            .unwrap()
            .contains("SIGSEGV"));
    }
    let mut core = empty_core(1);
    let other = [
        ("RecoveryAction", CimValue::UInt16(1)),
        (
            "OtherRecoveryAction",
            CimValue::String("page the on-call".into()),
        ),
    ];
    let (id, key) = running(&mut core, "a", &other, t(0));
    core.exited(key, ExitOutcome::Exited(2), t(1));
    assert!(core
        .job(id)
        .unwrap()
        .error_description
        .as_deref()
        .unwrap()
        .contains("page the on-call"));
    // Other without its description is refused at submission
    assert!(core
        .submit(
            &values("b", &[("RecoveryAction", CimValue::UInt16(1))]),
            "alice",
            false,
            t(2)
        )
        .is_err());
}

#[test]
fn run_recovery_job_releases_the_held_recovery_job() {
    let mut core = empty_core(1);
    let (recovery, _) = core
        .submit(&values("cleanup", &[]), "alice", true, t(0))
        .unwrap();
    let extra = [
        ("RecoveryAction", CimValue::UInt16(5)),
        (
            "RecoveryJob",
            CimValue::String(format!("CIMJOB:{recovery}")),
        ),
    ];
    let (id, key) = running(&mut core, "main", &extra, t(1));
    let step = core.exited(key, ExitOutcome::Exited(1), t(2));
    assert_eq!(core.job(id).unwrap().situation, Situation::Failed);
    assert_eq!(
        spawned(&step),
        [RunKey {
            job: recovery,
            run: 1
        }]
    );
}

/// Lets the core go of job `id` as the store holds it now; the job as it was.
fn let_go(core: &mut Core, id: u64, now: Timestamp) -> Job {
    let job = core.job(id).unwrap().as_ref().clone();
    core.forget_at_rest([(id, job.generation)], now);
    job
}

#[test]
fn a_held_job_rests_in_the_store_and_comes_back_before_a_run_that_names_it_for_recovery_starts() {
    let mut core = empty_core(1);
    let (recovery, step) = core
        .submit(&values("cleanup", &[]), "alice", true, t(0))
        .unwrap();
    let record = &step.batch.upserts[0];
    assert!(
        record.settled && !record.ready && record.wake.is_none(),
        "held: only a call moves it, so a start does not load it"
    );
    let held = let_go(&mut core, recovery, t(0));
    assert!(core.job(recovery).is_none(), "a held job is let go of");
    let mut shelf = Shelf::default();
    shelf.put(&held);

    let names_it = |r: u64| {
        [
            ("RecoveryAction", CimValue::UInt16(5)),
            ("RecoveryJob", CimValue::String(format!("CIMJOB:{r}"))),
        ]
    };
    let (id, mut step) = core
        .submit(&values("main", &names_it(recovery)), "alice", false, t(1))
        .unwrap();
    assert_eq!(step.reads, [StoreRead::Job { id: recovery }]);
    assert!(
        spawned(&step).is_empty(),
        "not before its recovery job is back"
    );
    shelf.answer(&mut core, &mut step, t(1));
    let key = spawned(&step)[0];
    assert_eq!(key.job, id);
    core.forget_at_rest([(recovery, held.generation)], t(1));
    assert!(
        core.job(recovery).is_some(),
        "kept while a run that names it may fail"
    );

    core.process_started(key, identity(1000), t(1));
    let step = core.exited(key, ExitOutcome::Exited(1), t(2));
    assert!(step.reads.is_empty(), "it is at hand");
    assert_eq!(
        spawned(&step),
        [RunKey {
            job: recovery,
            run: 1
        }]
    );
    let failed = core.job(id).unwrap();
    assert_eq!(failed.situation, Situation::Failed);
    assert!(failed
        .error_description
        .as_deref()
        .unwrap()
        .ends_with(&format!("; recovery job CIMJOB:{recovery} started")));

    // a recovery job deleted while it rested: the run starts without it, and its failure
    // says so
    let mut core = empty_core(1);
    let (gone, _) = core
        .submit(&values("gone", &[]), "alice", true, t(0))
        .unwrap();
    let_go(&mut core, gone, t(0));
    let (id, mut step) = core
        .submit(&values("main", &names_it(gone)), "alice", false, t(1))
        .unwrap();
    Shelf::default().answer(&mut core, &mut step, t(1));
    let key = spawned(&step)[0];
    core.process_started(key, identity(1000), t(1));
    let step = core.exited(key, ExitOutcome::Exited(1), t(2));
    assert!(step.reads.is_empty() && spawned(&step).is_empty());
    assert!(core
        .job(id)
        .unwrap()
        .error_description
        .as_deref()
        .unwrap()
        .contains(&format!(
            "recovery job CIMJOB:{gone} could not be started: it is not held"
        )));
}

#[test]
fn retention_deletes_after_time_before_removal_only_with_delete_on_completion() {
    let mut core = empty_core(2);
    let (gone, k1) = removed_100_s_after_its_end(&mut core, "gone", t(0));
    let (kept, k2) = running(
        &mut core,
        "kept",
        &[("TimeBeforeRemoval", hundred_seconds())],
        t(0),
    );
    core.exited(k1, ExitOutcome::Exited(0), t(10));
    core.exited(k2, ExitOutcome::Exited(0), t(10));
    assert!(core.fire_timers(t(69)).batch.deletes.is_empty());
    let step = core.fire_timers(t(70));
    assert_eq!(step.batch.deletes, [gone]);
    assert_eq!(step.events.last().unwrap().kind, EventKind::Deleted);
    assert_eq!(
        removed_logs(&step),
        [format!("/tmp/cimjob-test-logs/{gone}-run-1.log")],
        "its output goes with it, once the deletion is durable"
    );
    assert!(core.job(kept).is_some());
    // turning DeleteOnCompletion on re-plans the removal from the end time
    let step = delete_on_completion(&mut core, kept, t(80));
    assert!(step.batch.deletes.is_empty());
    assert_eq!(
        core.fire_timers(t(80)).batch.deletes,
        [kept],
        "already past end + TimeBeforeRemoval"
    );
}

#[test]
fn a_settled_job_is_let_go_of_and_its_removal_asks_for_it_back() {
    let mut core = empty_core(3);
    let (gone, k1) = removed_100_s_after_its_end(&mut core, "gone", t(0));
    let (kept, k2) = running(&mut core, "kept", &[], t(0));
    let (waiting, _) = running(&mut core, "busy", &[], t(0));
    let step = core.exited(k1, ExitOutcome::Exited(0), t(10));
    let record = step
        .batch
        .upserts
        .iter()
        .find(|r| r.local_id == gone)
        .unwrap();
    assert!(record.settled, "the store is told the job is settled");
    assert_eq!(record.wake, Some(t(70)), "it wakes for its removal");
    core.exited(k2, ExitOutcome::Exited(0), t(10));
    let ended_gone = core.job(gone).unwrap().as_ref().clone();
    let ended_kept = core.job(kept).unwrap().as_ref().clone();

    let generation = |core: &Core, id| core.job(id).unwrap().generation;
    let older = (kept, generation(&core, kept) - 1);
    core.forget_at_rest([older], t(10));
    assert!(
        core.job(kept).is_some(),
        "a change the store may lack keeps it"
    );
    let all = [gone, kept, waiting].map(|id| (id, generation(&core, id)));
    core.forget_at_rest(all, t(10));
    assert!(core.job(gone).is_none() && core.job(kept).is_none());
    assert!(
        core.job(waiting).is_some(),
        "a job still in play is never let go of"
    );

    // the removal comes near: the core reads back what wakes within 10 s, and removes it
    // at its time
    assert_eq!(core.next_timer(), Some(t(60)));
    let mut shelf = Shelf::default();
    shelf.put(&ended_gone);
    shelf.put(&ended_kept);
    let mut step = core.fire_timers(t(60));
    assert!(matches!(
        step.reads[..],
        [StoreRead::Waking { after: None, .. }]
    ));
    assert!(core.fire_timers(t(61)).reads.is_empty(), "asked for once");
    shelf.answer(&mut core, &mut step, t(61));
    assert!(core.job(gone).is_some(), "back for its removal");
    assert!(
        core.job(kept).is_none(),
        "nothing planned for it: it stays in the store"
    );
    assert!(step.batch.deletes.is_empty());
    assert_eq!(core.next_timer(), Some(t(70)), "nothing else wakes");
    let step = core.fire_timers(t(70));
    assert_eq!(step.batch.deletes, [gone]);
    assert_eq!(step.events.last().unwrap().kind, EventKind::Deleted);

    // a call about a settled job works on it once it is back
    core.admit(ended_kept.clone());
    let step = delete_on_completion(&mut core, kept, t(80));
    assert_eq!(step.batch.upserts[0].wake, Some(t(310)), "end + 5 min");
    // what the core holds wins over an older copy read back
    core.admit(ended_kept);
    assert!(core.job(kept).unwrap().delete_on_completion);
}

#[test]
fn a_job_waiting_for_its_time_is_let_go_of_and_its_timer_brings_it_back_to_run() {
    let mut core = empty_core(2);
    let soon = submit_due_in_five_seconds(&mut core).0;
    let in_a_minute = ("ScheduledStartTime", dt("00000000000100.000000:000"));
    let (id, _) = core
        .submit(&values("later", &[in_a_minute]), "alice", false, t(0))
        .unwrap();
    let generation = |core: &Core, id| core.job(id).unwrap().generation;
    let waiting = core.job(id).unwrap().as_ref().clone();
    let both = [(soon, generation(&core, soon)), (id, waiting.generation)];
    core.forget_at_rest(both, t(0));
    assert!(
        core.job(id).is_none(),
        "it waits only for a time: the store holds it"
    );
    assert!(
        core.job(soon).is_some(),
        "due within 10 s: kept, to start on time"
    );

    core.fire_timers(t(5));
    assert_eq!(
        core.next_timer(),
        Some(t(50)),
        "read back 10 s before its time"
    );
    let mut step = core.fire_timers(t(50));
    assert!(spawned(&step).is_empty());
    let mut shelf = Shelf::default();
    shelf.put(&waiting);
    shelf.answer(&mut core, &mut step, t(50));
    assert!(core.job(id).is_some(), "back before its time");
    assert!(spawned(&step).is_empty(), "not yet due");
    assert_eq!(
        spawned(&core.fire_timers(t(60))),
        [RunKey { job: id, run: 1 }],
        "it runs at its time"
    );
    core.forget_at_rest([(id, generation(&core, id))], t(60));
    assert!(core.job(id).is_some(), "a job starting is never let go of");
}

#[test]
fn kill_job_answers_with_its_own_map() {
    let mut core = empty_core(1);
    let (id, key) = running(&mut core, "a", &[], t(0));
    let (code, step) = core.kill_job(id, true, t(1)).unwrap();
    assert_eq!(
        (code, signals(&step)),
        (KillJobReturn::Success, vec![WorkSignal::Kill])
    );
    let step = core.exited(key, ExitOutcome::Signaled(9), t(2));
    assert!(step.batch.deletes.is_empty(), "removal is a timer");
    assert_eq!(
        core.fire_timers(t(2)).batch.deletes,
        [id],
        "DeleteOnKill: deleted once killed"
    );
    let (id2, key2) = running(&mut core, "b", &[], t(3));
    core.exited(key2, ExitOutcome::Exited(0), t(4));
    assert_eq!(
        core.kill_job(id2, false, t(5)).unwrap().0,
        KillJobReturn::Failed
    );
    assert!(core.kill_job(99, false, t(5)).is_err());
}

#[test]
fn a_restart_ends_jobs_that_lost_their_process() {
    let mut core = empty_core(3);
    let (lost, _) = running(&mut core, "lost", &[], t(0));
    let (rerun, _) = running(
        &mut core,
        "rerun",
        &[("RecoveryAction", CimValue::UInt16(4))],
        t(0),
    );
    let (stopping, _) = running(&mut core, "stopping", &[], t(0));
    core.request_state_change(stopping, 4, None, t(1)).unwrap();
    let (held, _) = core
        .submit(&values("held", &[]), "alice", true, t(1))
        .unwrap();
    let stored: Vec<_> = core.jobs().map(|j| (**j).clone()).collect();

    let (core, step) = recovered(config(3), stored, 4, 0, t(100), &Default::default());
    let orphans = step
        .now
        .iter()
        .filter(|a| matches!(a, Action::KillOrphan(_)))
        .count();
    assert_eq!(orphans, 3, "every recorded process group is killed");
    let lost = core.job(lost).unwrap();
    assert_eq!(
        (lost.situation, lost.error_code),
        (Situation::Failed, JobErrorCode::ProcessLost)
    );
    assert_eq!(
        core.job(rerun).unwrap().situation,
        Situation::Queued,
        "Re-run Job after backoff"
    );
    assert_eq!(
        core.job(stopping).unwrap().situation,
        Situation::Terminated,
        "its Terminate completed"
    );
    assert_eq!(core.job(held).unwrap().situation, Situation::Held);
    for j in core.jobs() {
        assert!(j.process.is_none());
    }
}

#[test]
fn a_node_that_takes_over_ends_the_lost_nodes_runs_as_node_lost_without_touching_its_pids() {
    // node "a" ran three jobs and was lost; node "b" takes over the same stored jobs, and
    // its own supervisors hold a run with the same key (the key means nothing across nodes)
    let mut a = recovered(node_config("a"), Vec::new(), 0, 0, t(0), &Held::default()).0;
    let (rerun, rerun_key) = running(
        &mut a,
        "rerun",
        &[("RecoveryAction", CimValue::UInt16(4))],
        t(0),
    );
    let (lost, _) = running(&mut a, "lost", &[], t(0));
    let (stopping, _) = running(&mut a, "stopping", &[], t(0));
    a.request_state_change(stopping, 4, None, t(1)).unwrap();
    let stored: Vec<_> = a.jobs().map(|j| (**j).clone()).collect();
    assert!(stored.iter().all(|j| j.node.as_deref() == Some("a")));

    let held = Held {
        runs: [rerun_key].into_iter().collect(),
        complete: true,
    };
    let (b, step) = recovered(node_config("b"), stored, 3, 0, t(100), &held);
    assert!(
        !step.now.iter().any(|a| matches!(a, Action::KillOrphan(_))),
        "a process identity of node a names nothing on node b: {:?}",
        step.now
    );
    let lost = b.job(lost).unwrap();
    assert_eq!(
        (lost.situation, lost.error_code),
        (Situation::Failed, JobErrorCode::NodeLost)
    );
    let description = lost.error_description.as_deref().unwrap_or_default();
    assert!(
        description.contains("node a was lost") && description.contains("node b"),
        "{description}"
    );
    let rerun = b.job(rerun).unwrap();
    assert_eq!(
        (rerun.situation, rerun.error_code, rerun.reruns),
        (Situation::Queued, JobErrorCode::NodeLost, 1),
        "Re-run Job: run again after the backoff, here"
    );
    assert_eq!(
        b.job(stopping).unwrap().situation,
        Situation::Terminated,
        "a Terminate pending for the lost run ends it Terminated, never re-run"
    );
    assert_eq!(b.slots_used(), 0, "no run of node a holds a slot on node b");
}

#[test]
fn a_start_that_never_reached_a_supervisor_is_sent_again_only_when_the_account_is_complete() {
    // the service committed Starting and was killed before its start reached a supervisor
    let mut core = empty_core(3);
    let (id, step) = core
        .submit(&values("a", &[]), "alice", false, t(0))
        .unwrap();
    let key = spawned(&step)[0];
    let stored: Vec<_> = core.jobs().map(|j| (**j).clone()).collect();

    // every supervisor answered and none holds it: it never began, so it is started again,
    // the same run (RunCount unchanged, nothing run twice)
    let complete = Held {
        runs: Default::default(),
        complete: true,
    };
    let (mut again, step) = recovered(config(3), stored.clone(), 1, 0, t(5), &complete);
    assert_eq!(spawned(&step), [key]);
    let job = again.job(id).unwrap();
    assert_eq!((job.situation, job.run_count), (Situation::Starting, 1));
    assert_eq!(again.slots_used(), 1);
    again.process_started(key, identity(7), t(6));
    again.exited(key, ExitOutcome::Exited(0), t(7));
    let job = again.job(id).unwrap();
    assert_eq!(
        (job.situation, job.error_code),
        (Situation::Completed, JobErrorCode::NoError)
    );

    // a supervisor is gone (the machine restarted): the start may have begun, so it is lost
    let (lost, step) = recovered(config(3), stored, 1, 0, t(5), &Held::default());
    assert!(spawned(&step).is_empty());
    let job = lost.job(id).unwrap();
    assert_eq!(
        (job.situation, job.error_code),
        (Situation::Failed, JobErrorCode::ProcessLost)
    );
}

#[test]
fn query_pending_until_answered() {
    let mut core = empty_core(1);
    let (id, key) = running(&mut core, "a", &[], t(0));
    core.query(key, "insert volume 2".into(), t(1));
    assert_eq!(core.job(id).unwrap().situation, Situation::QueryPending);
    assert_eq!(core.job(id).unwrap().job_status(), Some("insert volume 2"));
    let (code, _) = core.answer(id, "two\nlines", t(2)).unwrap();
    assert_eq!(code.number(), 5);
    let (code, step) = core.answer(id, "done", t(2)).unwrap();
    assert_eq!(code.number(), 0);
    assert!(matches!(&step.now[0], Action::Answer { text, .. } if text == "done"));
    assert_eq!(core.job(id).unwrap().situation, Situation::Running);
    assert_eq!(core.answer(id, "again", t(3)).unwrap().0.number(), 4097);
}

// ----- calendar scheduling, recurrence and their ends -----

fn dt(text: &str) -> CimValue {
    CimValue::DateTime(cim::CimDateTime::parse(text).unwrap())
}

/// 2027-01-15T08:00:00Z is t(0); days from there, at `hh:mm` UTC.
fn day(d: i64, hh: i64, mm: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 - 8 * 3600 + d * 86_400 + hh * 3600 + mm * 60).unwrap()
}

fn utc_config(max_running: usize) -> CoreConfig {
    let mut c = config(max_running);
    c.zone = jiff::tz::TimeZone::UTC;
    c
}

/// Starts the due job and ends its run with `outcome`; returns the run key.
fn run_once(core: &mut Core, step: &Step, at: Timestamp, outcome: ExitOutcome) -> RunKey {
    let key = spawned(step)[0];
    core.process_started(key, identity(key.run), at);
    core.exited(key, outcome, at + SignedDuration::from_secs(60));
    key
}

#[test]
fn scheduled_start_time_as_an_interval_from_submission() {
    let mut core = empty_core(1);
    let (id, step) = submit_due_in_five_seconds(&mut core);
    assert!(spawned(&step).is_empty());
    let job = core.job(id).unwrap();
    assert_eq!(
        (job.situation, job.next_run_time),
        (Situation::Queued, Some(t(5)))
    );
    assert!(job.job_status().unwrap().starts_with("waits until"));
    assert!(spawned(&core.fire_timers(t(4))).is_empty());
    assert_eq!(
        spawned(&core.fire_timers(t(5))),
        [RunKey { job: id, run: 1 }]
    );
}

#[test]
fn a_job_ending_is_one_event_with_one_generation_not_a_trailing_echo() {
    let mut core = empty_core(1);
    let (id, key) = running(
        &mut core,
        "a",
        &[("DeleteOnCompletion", CimValue::Boolean(true))],
        t(0),
    );
    let step = core.exited(key, ExitOutcome::Exited(0), t(1));
    let events: Vec<_> = step.events.iter().filter(|e| e.job == id).collect();
    let last = events.last().unwrap();
    assert_eq!(last.kind, EventKind::StateChanged, "nothing trails the end");
    let after = last.current.as_ref().unwrap();
    assert_eq!(after.situation, Situation::Completed);
    assert!(
        after.removal_due.is_some(),
        "the bookkeeping is in the same event"
    );
    let generations: Vec<_> = events
        .iter()
        .map(|e| e.current.as_ref().unwrap().generation)
        .collect();
    assert!(
        generations.windows(2).all(|w| w[1] == w[0] + 1),
        "one Generation per event: {generations:?}"
    );
    assert_eq!(core.job(id).unwrap().generation, after.generation);
}

#[test]
fn a_scheduled_start_is_made_durable_ahead_and_the_process_starts_at_the_due_instant() {
    let mut core = empty_core(1);
    let lead = config(1).start_lead;
    assert!(lead > SignedDuration::ZERO);
    let (id, _) = submit_due_in_five_seconds(&mut core);
    assert_eq!(core.next_timer(), Some(t(5) - lead), "wakes a lead early");
    let early = t(5) - lead;
    let step = core.fire_timers(early);
    let not_before: Vec<_> = step
        .after_commit
        .iter()
        .filter_map(|a| match a {
            Action::Spawn { not_before, .. } => Some(*not_before),
            _ => None,
        })
        .collect();
    assert_eq!(not_before, [Some(t(5))], "held until the planned instant");
    let job = core.job(id).unwrap();
    assert_eq!(job.situation, Situation::Starting);
    assert_eq!(job.start_time, Some(t(5)));
    let started = t(5) + SignedDuration::from_micros(300);
    core.process_started(RunKey { job: id, run: 1 }, identity(7), started);
    assert_eq!(
        core.job(id).unwrap().start_time,
        Some(started),
        "StartTime is when the work began"
    );
}

#[test]
fn a_rerun_is_not_held_for_the_next_occurrence() {
    let rule = [
        ("RunStartInterval", dt("00000000020000.000000:000")),
        ("RecoveryAction", CimValue::UInt16(4)),
    ];
    let (mut core, id) = submitted_at_one_am("nightly", &rule);
    let step = core.fire_timers(day(0, 2, 0));
    run_once(&mut core, &step, day(0, 2, 0), ExitOutcome::Exited(1));
    let job = core.job(id).unwrap();
    let retry_at = job.retry_at.expect("a re-run is planned");
    let holds: Vec<_> = core
        .fire_timers(retry_at)
        .after_commit
        .iter()
        .filter_map(|a| match a {
            Action::Spawn { not_before, .. } => Some(*not_before),
            _ => None,
        })
        .collect();
    assert_eq!(holds, [None], "a re-run starts when its backoff ends");
}

#[test]
fn daily_at_two_runs_job_run_times_times_then_completes() {
    let rule = [
        ("RunStartInterval", dt("00000000020000.000000:000")),
        ("JobRunTimes", CimValue::UInt32(3)),
    ];
    let (mut core, id) = submitted_at_one_am("nightly", &rule);
    assert_eq!(core.job(id).unwrap().next_run_time, Some(day(0, 2, 0)));
    for n in 0..3 {
        let step = core.fire_timers(day(n, 2, 0));
        run_once(&mut core, &step, day(n, 2, 0), ExitOutcome::Exited(0));
        let job = core.job(id).unwrap();
        if n < 2 {
            assert_eq!(job.situation, Situation::BetweenRuns, "run {n}");
            assert_eq!(
                job.situation.status().job_state.number(),
                4,
                "Running between runs"
            );
            assert_eq!(job.next_run_time, Some(day(n + 1, 2, 0)));
            assert!(job.job_status().unwrap().starts_with("next run at"));
        }
    }
    let job = core.job(id).unwrap();
    assert_eq!(
        (job.situation, job.occurrences, job.run_count),
        (Situation::Completed, 3, 3)
    );
    assert_eq!(job.next_run_time, None);
}

#[test]
fn an_occurrence_during_a_run_is_skipped_and_counted() {
    let rule = [
        ("RunStartInterval", dt("00000000020000.000000:000")),
        ("JobRunTimes", CimValue::UInt32(0)),
    ];
    let (mut core, id) = submitted_at_one_am("slow", &rule);
    let key = spawned(&core.fire_timers(day(0, 2, 0)))[0];
    core.process_started(key, identity(1), day(0, 2, 0));
    let step = core.fire_timers(day(1, 2, 0));
    assert!(spawned(&step).is_empty(), "never two runs at once");
    let job = core.job(id).unwrap();
    assert_eq!(
        (job.skipped_runs, job.next_run_time),
        (1, Some(day(2, 2, 0)))
    );
    core.exited(key, ExitOutcome::Exited(0), day(1, 5, 0));
    assert_eq!(core.job(id).unwrap().situation, Situation::BetweenRuns);
}

#[test]
fn until_time_ends_the_series() {
    let mut core = recovered(
        utc_config(1),
        Vec::new(),
        0,
        0,
        day(0, 1, 0),
        &Default::default(),
    )
    .0;
    let until = CimValue::DateTime(cim::CimDateTime::from_timestamp(day(1, 3, 0), 0).unwrap());
    let rule = [
        ("RunStartInterval", dt("00000000020000.000000:000")),
        ("JobRunTimes", CimValue::UInt32(0)),
        ("UntilTime", until),
    ];
    let (id, _) = core
        .submit(&values("until", &rule), "alice", false, day(0, 1, 0))
        .unwrap();
    for n in 0..2 {
        let step = core.fire_timers(day(n, 2, 0));
        run_once(&mut core, &step, day(n, 2, 0), ExitOutcome::Exited(0));
    }
    let job = core.job(id).unwrap();
    assert_eq!(
        (job.situation, job.occurrences),
        (Situation::Completed, 2),
        "no run after UntilTime"
    );
}

#[test]
fn until_time_before_submission_is_refused_naming_it() {
    let mut core = empty_core(1);
    let past = CimValue::DateTime(cim::CimDateTime::from_timestamp(t(-10), 0).unwrap());
    let e = core
        .submit(&values("x", &[("UntilTime", past)]), "alice", false, t(0))
        .unwrap_err();
    assert_eq!(e.property, "UntilTime");
    let e = core
        .submit(
            &values(
                "x",
                &[
                    ("RunDay", CimValue::SInt8(0)),
                    ("RunDayOfWeek", CimValue::SInt8(0)),
                ],
            ),
            "alice",
            false,
            t(0),
        )
        .unwrap_err();
    assert_eq!(e.property, "RunDay", "{}", e.message);
    assert_eq!(core.jobs().count(), 0);
}

#[test]
fn recurring_without_a_calendar_runs_back_to_back() {
    let mut core = empty_core(1);
    let (id, mut step) = core
        .submit(
            &values("thrice", &[("JobRunTimes", CimValue::UInt32(3))]),
            "alice",
            false,
            t(0),
        )
        .unwrap();
    for n in 0..3 {
        let key = spawned(&step)[0];
        assert_eq!(key.run, n + 1);
        core.process_started(key, identity(1), t(n as i64));
        step = core.exited(key, ExitOutcome::Exited(0), t(n as i64));
    }
    assert!(spawned(&step).is_empty());
    assert_eq!(core.job(id).unwrap().situation, Situation::Completed);
}

#[test]
fn suspend_holds_future_runs_and_terminate_ends_the_series() {
    let rule = [
        ("RunStartInterval", dt("00000000020000.000000:000")),
        ("JobRunTimes", CimValue::UInt32(0)),
    ];
    let (mut core, id) = submitted_at_one_am("nightly", &rule);
    let step = core.fire_timers(day(0, 2, 0));
    run_once(&mut core, &step, day(0, 2, 0), ExitOutcome::Exited(0));
    let (code, _) = core
        .request_state_change(id, 3, None, day(0, 4, 0))
        .unwrap();
    assert_eq!(code, StateChangeReturn::CompletedWithNoError);
    assert_eq!(
        (
            core.job(id).unwrap().situation,
            core.job(id).unwrap().next_run_time
        ),
        (Situation::Held, None)
    );
    assert!(
        spawned(&core.fire_timers(day(1, 2, 0))).is_empty(),
        "held: no run"
    );
    core.request_state_change(id, 2, None, day(3, 12, 0))
        .unwrap();
    let job = core.job(id).unwrap();
    assert_eq!(
        (job.situation, job.next_run_time),
        (Situation::BetweenRuns, Some(day(4, 2, 0))),
        "replanned from now"
    );
    core.request_state_change(id, 4, None, day(3, 13, 0))
        .unwrap();
    assert_eq!(core.job(id).unwrap().situation, Situation::Terminated);
    assert!(spawned(&core.fire_timers(day(4, 2, 0))).is_empty());
}

#[test]
fn modifying_the_schedule_of_a_waiting_job_replans_it() {
    let mut core = recovered(
        utc_config(1),
        Vec::new(),
        0,
        0,
        day(0, 1, 0),
        &Default::default(),
    )
    .0;
    let (id, _) = core
        .submit(
            &values(
                "n",
                &[("RunStartInterval", dt("00000000020000.000000:000"))],
            ),
            "alice",
            false,
            day(0, 1, 0),
        )
        .unwrap();
    core.modify(
        id,
        &[(
            "RunStartInterval".into(),
            Some(dt("00000000033000.000000:000")),
        )],
        day(0, 1, 30),
    )
    .unwrap();
    assert_eq!(core.job(id).unwrap().next_run_time, Some(day(0, 3, 30)));
    assert!(
        spawned(&core.fire_timers(day(0, 2, 0))).is_empty(),
        "the old time no longer fires"
    );
    assert_eq!(spawned(&core.fire_timers(day(0, 3, 30))).len(), 1);
    let e = core
        .modify(
            id,
            &[("RunMonth".into(), Some(CimValue::UInt8(13)))],
            day(0, 4, 0),
        )
        .unwrap_err();
    assert!(e.to_string().contains("RunMonth"));
}

#[test]
fn missed_runs_run_once_at_restart_or_are_skipped() {
    for (policy, expect_run, expect_skipped) in [(None, true, 0u32), (Some(3u16), false, 3)] {
        let mut core = recovered(
            utc_config(1),
            Vec::new(),
            0,
            0,
            day(0, 1, 0),
            &Default::default(),
        )
        .0;
        let mut rule = vec![
            ("RunStartInterval", dt("00000000020000.000000:000")),
            ("JobRunTimes", CimValue::UInt32(0)),
        ];
        if let Some(p) = policy {
            rule.push(("MissedRunPolicy", CimValue::UInt16(p)));
        }
        let (id, _) = core
            .submit(&values("n", &rule), "alice", false, day(0, 1, 0))
            .unwrap();
        let stored: Vec<_> = core.jobs().map(|j| (**j).clone()).collect();
        // down from day 0 01:00 until day 2 12:00: the runs of days 0, 1 and 2 were missed
        let (mut core, _) = recovered(
            utc_config(1),
            stored,
            1,
            0,
            day(2, 12, 0),
            &Default::default(),
        );
        let step = core.fire_timers(day(2, 12, 0));
        assert_eq!(!spawned(&step).is_empty(), expect_run, "policy {policy:?}");
        let job = core.job(id).unwrap();
        assert_eq!(job.skipped_runs, expect_skipped);
        assert_eq!(
            job.next_run_time,
            Some(day(3, 2, 0)),
            "then back on schedule"
        );
    }
}

#[test]
fn continue_with_next_job_goes_on_after_a_failed_run() {
    let rule = [
        ("RunStartInterval", dt("00000000020000.000000:000")),
        ("JobRunTimes", CimValue::UInt32(2)),
        ("RecoveryAction", CimValue::UInt16(3)),
    ];
    let (mut core, id) = submitted_at_one_am("n", &rule);
    let step = core.fire_timers(day(0, 2, 0));
    run_once(&mut core, &step, day(0, 2, 0), ExitOutcome::Exited(4));
    let job = core.job(id).unwrap();
    assert_eq!(
        (job.situation, job.error_code),
        (Situation::BetweenRuns, JobErrorCode::NonZeroExit)
    );
    let step = core.fire_timers(day(1, 2, 0));
    run_once(&mut core, &step, day(1, 2, 0), ExitOutcome::Exited(4));
    assert_eq!(
        core.job(id).unwrap().situation,
        Situation::Failed,
        "the last run failed"
    );
}

/// A nightly job (02:00, three nights) with `recovery`, whose runs end as `outcomes` say; the
/// job after each night, and the run records of the last step.
fn three_nights(
    recovery: Option<u16>,
    outcomes: [ExitOutcome; 3],
) -> Vec<(Situation, JobErrorCode)> {
    let mut rule = vec![
        ("RunStartInterval", dt("00000000020000.000000:000")),
        ("JobRunTimes", CimValue::UInt32(3)),
    ];
    if let Some(action) = recovery {
        rule.push(("RecoveryAction", CimValue::UInt16(action)));
    }
    let (mut core, id) = submitted_at_one_am("nightly", &rule);
    let mut seen = Vec::new();
    for (night, outcome) in outcomes.into_iter().enumerate() {
        let job = core.job(id).unwrap();
        if job.situation.is_final() {
            break;
        }
        let at = day(night as i64, 2, 0);
        let step = core.fire_timers(at);
        run_once(&mut core, &step, at, outcome);
        let job = core.job(id).unwrap();
        seen.push((job.situation, job.error_code));
    }
    seen
}

#[test]
fn a_recurring_job_goes_on_after_a_failed_run_by_default() {
    let nights = three_nights(
        None,
        [
            ExitOutcome::Exited(0),
            ExitOutcome::Exited(3),
            ExitOutcome::Exited(0),
        ],
    );
    assert_eq!(
        nights,
        [
            (Situation::BetweenRuns, JobErrorCode::NoError),
            (Situation::BetweenRuns, JobErrorCode::NonZeroExit),
            (Situation::Completed, JobErrorCode::NoError),
        ],
        "the failed night is recorded and the series goes on"
    );
}

#[test]
fn every_recovery_action_but_do_not_continue_keeps_a_series_going() {
    let failing_first = [
        ExitOutcome::Exited(1),
        ExitOutcome::Exited(0),
        ExitOutcome::Exited(0),
    ];
    // Other needs its text, Run Recovery Job an existing job: Unknown and Continue stand for
    // the rest here (Re-run Job re-runs first, tested on its own)
    for action in [0, 3] {
        let nights = three_nights(Some(action), failing_first);
        assert_eq!(nights.len(), 3, "RecoveryAction {action}: {nights:?}");
        assert_eq!(nights[2], (Situation::Completed, JobErrorCode::NoError));
    }
    assert_eq!(
        three_nights(Some(2), failing_first),
        [(Situation::Failed, JobErrorCode::NonZeroExit)],
        "Do Not Continue ends the series at its first failure"
    );
}

#[test]
fn a_series_whose_last_run_failed_ends_in_exception_not_completed() {
    let nights = three_nights(
        None,
        [
            ExitOutcome::Exited(0),
            ExitOutcome::Exited(0),
            ExitOutcome::Signaled(9),
        ],
    );
    assert_eq!(nights[2], (Situation::Failed, JobErrorCode::EndedBySignal));
}

#[test]
fn delete_on_completion_keeps_a_failed_job_for_its_time_before_removal_like_a_completed_one() {
    let mut core = empty_core(1);
    let (failed, key) = removed_100_s_after_its_end(&mut core, "failed", t(0));
    core.exited(key, ExitOutcome::Exited(7), t(10));
    assert_eq!(core.job(failed).unwrap().situation, Situation::Failed);
    assert!(
        core.fire_timers(t(69)).batch.deletes.is_empty(),
        "the only record of the failure stays its whole TimeBeforeRemoval"
    );
    assert_eq!(core.fire_timers(t(70)).batch.deletes, [failed]);
}

#[test]
fn the_ready_queue_beyond_its_head_waits_in_the_store_and_comes_back_in_priority_order() {
    let window = cimjob_rules::core::READY_WINDOW;
    let mut core = empty_core(1);
    let mut shelf = Shelf::default();
    let (_, first) = running(&mut core, "first", &[], t(0));
    // more queued jobs than the head holds, all at Priority 5
    let priority = |p: u32| [("Priority", CimValue::UInt32(p))];
    let mut queued = Vec::new();
    for n in 0..window + 100 {
        let (id, step) = core
            .submit(
                &values(&format!("q{n}"), &priority(5)),
                "alice",
                false,
                t(1),
            )
            .unwrap();
        shelf.apply(&step);
        let record = step
            .batch
            .upserts
            .iter()
            .find(|r| r.local_id == id)
            .unwrap();
        assert!(record.ready, "the store knows it waits only for a slot");
        let generation = core.job(id).unwrap().generation;
        core.forget_at_rest([(id, generation)], t(1));
        queued.push(id);
    }
    let held = |core: &Core| queued.iter().filter(|id| core.job(**id).is_some()).count();
    assert_eq!(
        held(&core),
        window,
        "the head of the queue stays, the rest is let go of"
    );
    // one submitted later at a lower Priority runs first, before every queued one
    let (urgent, step) = core
        .submit(&values("urgent", &priority(1)), "alice", false, t(2))
        .unwrap();
    shelf.apply(&step);
    assert!(core.job(urgent).is_some());
    let evicted = *queued[..window].last().unwrap();
    assert!(
        step.let_go.iter().any(|(id, _)| *id == evicted),
        "the head's last makes room, written as it is to be let go of"
    );
    let generation = core.job(evicted).unwrap().generation;
    core.forget_at_rest([(evicted, generation)], t(2));
    assert_eq!(held(&core), window - 1);

    // every slot frees in turn: the order is Priority, then submission, across the store
    let mut started = Vec::new();
    let mut key = first;
    for n in 0..window + 200 {
        let mut step = core.exited(key, ExitOutcome::Exited(0), t(10 + n as i64));
        shelf.answer(&mut core, &mut step, t(10 + n as i64));
        let Some(&next) = spawned(&step).first() else {
            break;
        };
        core.process_started(next, identity(1), t(10 + n as i64));
        started.push(next.job);
        key = next;
    }
    let mut expected = vec![urgent];
    expected.extend(&queued);
    assert_eq!(started, expected, "each once, Priority first, none skipped");
}

#[test]
fn a_job_waiting_in_the_store_whose_priority_is_raised_moves_to_the_head() {
    let window = cimjob_rules::core::READY_WINDOW;
    let mut core = empty_core(1);
    let (_, first) = running(&mut core, "first", &[], t(0));
    let mut last = None;
    for n in 0..window + 10 {
        let (id, step) = core
            .submit(&values(&format!("q{n}"), &[]), "alice", false, t(1))
            .unwrap();
        let generation = core.job(id).unwrap().generation;
        core.forget_at_rest([(id, generation)], t(1));
        last = Some((id, step));
    }
    let (id, step) = last.unwrap();
    assert!(core.job(id).is_none(), "beyond the head: in the store");
    let stored = job_of(&step.batch.upserts[0]).unwrap();
    core.admit(stored);
    core.modify(id, &[("Priority".into(), Some(CimValue::UInt32(0)))], t(2))
        .unwrap();
    let step = core.exited(first, ExitOutcome::Exited(0), t(3));
    assert_eq!(spawned(&step)[0].job, id, "Priority 0 runs next");
}

// ----- RepeatInterval, CalendarExpression, OverlapPolicy (our extensions) -----

fn every(interval: &str, extra: &[(&'static str, CimValue)]) -> Vec<(&'static str, CimValue)> {
    let mut rule = vec![
        ("RepeatInterval", dt(interval)),
        ("JobRunTimes", CimValue::UInt32(0)),
    ];
    rule.extend(extra.iter().cloned());
    rule
}

#[test]
fn a_repeat_interval_keeps_to_its_grid_from_the_first_run_within_job_run_times() {
    let rule = [
        ("RepeatInterval", dt("00000000001500.000000:000")),
        ("JobRunTimes", CimValue::UInt32(3)),
    ];
    let (mut core, id, step) = submitted_at("q", &rule, day(0, 1, 0));
    // the first run at once, the next on the grid however long the run took
    run_once(&mut core, &step, day(0, 1, 0), ExitOutcome::Exited(0));
    assert_eq!(core.job(id).unwrap().next_run_time, Some(day(0, 1, 15)));
    let step = core.fire_timers(day(0, 1, 15));
    run_once(&mut core, &step, day(0, 1, 15), ExitOutcome::Exited(0));
    assert_eq!(core.job(id).unwrap().next_run_time, Some(day(0, 1, 30)));
    let step = core.fire_timers(day(0, 1, 30));
    run_once(&mut core, &step, day(0, 1, 30), ExitOutcome::Exited(0));
    let job = core.job(id).unwrap();
    assert_eq!((job.situation, job.occurrences), (Situation::Completed, 3));
}

#[test]
fn a_calendar_expression_runs_on_the_days_and_times_it_names() {
    // day 0 is Friday 2027-01-15; Mon,Thu 02:00 UTC is day 3, then day 6, then day 10
    let rule = [
        (
            "CalendarExpression",
            CimValue::String("Mon,Thu 02:00".into()),
        ),
        ("JobRunTimes", CimValue::UInt32(0)),
        ("LocalOrUtcTime", CimValue::UInt16(2)),
    ];
    let (mut core, id) = submitted_at_one_am("twice-weekly", &rule);
    assert_eq!(core.job(id).unwrap().next_run_time, Some(day(3, 2, 0)));
    let step = core.fire_timers(day(3, 2, 0));
    run_once(&mut core, &step, day(3, 2, 0), ExitOutcome::Exited(0));
    assert_eq!(core.job(id).unwrap().next_run_time, Some(day(6, 2, 0)));
    let step = core.fire_timers(day(6, 2, 0));
    run_once(&mut core, &step, day(6, 2, 0), ExitOutcome::Exited(0));
    assert_eq!(core.job(id).unwrap().next_run_time, Some(day(10, 2, 0)));
}

#[test]
fn two_ways_to_recur_are_refused_naming_both_and_nothing_changes() {
    let mut core = empty_core(1);
    let quarter = dt("00000000001500.000000:000");
    let two = dt("00000000020000.000000:000");
    let hourly = CimValue::String("hourly".into());
    for (rule, first, other) in [
        (
            vec![
                ("RepeatInterval", quarter.clone()),
                ("RunStartInterval", two.clone()),
            ],
            "RepeatInterval",
            "RunStartInterval",
        ),
        (
            vec![
                ("CalendarExpression", hourly.clone()),
                ("RunDay", CimValue::SInt8(1)),
            ],
            "CalendarExpression",
            "RunDay",
        ),
        (
            vec![
                ("RepeatInterval", quarter.clone()),
                ("CalendarExpression", hourly.clone()),
            ],
            "RepeatInterval",
            "CalendarExpression",
        ),
    ] {
        let err = core
            .submit(&values("both", &rule), "alice", false, t(0))
            .unwrap_err();
        assert_eq!(err.property, first);
        assert!(err.message.contains(other), "{}", err.message);
    }
    assert_eq!(core.jobs().count(), 0, "no job was made");
    // a modify that adds a second way is refused too, and the job keeps its schedule
    let (id, _) = core
        .submit(
            &values(
                "daily",
                &[
                    ("RunStartInterval", two),
                    ("JobRunTimes", CimValue::UInt32(0)),
                ],
            ),
            "alice",
            false,
            t(0),
        )
        .unwrap();
    let before = core.job(id).unwrap().clone();
    let err = core
        .modify(id, &[("RepeatInterval".into(), Some(quarter))], t(1))
        .unwrap_err();
    assert!(err.to_string().contains("RunStartInterval"), "{err}");
    assert_eq!(core.job(id).unwrap().next_run_time, before.next_run_time);
    assert_eq!(core.job(id).unwrap().repeat_interval, None);
}

#[test]
fn a_bad_repeat_interval_or_expression_is_refused_naming_the_property() {
    let mut core = empty_core(1);
    for (rule, property, says) in [
        (
            vec![("RepeatInterval", dt("00000000000000.000000:000"))],
            "RepeatInterval",
            "below one second",
        ),
        (
            vec![("RepeatInterval", dt("20270101000000.000000+000"))],
            "RepeatInterval",
            "timestamp",
        ),
        (
            vec![("CalendarExpression", CimValue::String("Mon 26:00".into()))],
            "CalendarExpression",
            "hour 26",
        ),
        (
            vec![(
                "CalendarExpression",
                CimValue::String("2020-01-01 00:00".into()),
            )],
            "CalendarExpression",
            "no time after",
        ),
    ] {
        let err = core
            .submit(&values("bad", &rule), "alice", false, t(0))
            .unwrap_err();
        assert_eq!(err.property, property);
        assert!(err.message.contains(says), "{}", err.message);
    }
}

/// A one-slot UTC core at t(0) with a job recurring every minute (with `extra`), its first
/// run being started: the core, the job, that run.
fn every_minute(extra: &[(&'static str, CimValue)]) -> (Core, u64, RunKey) {
    let rule = every("00000000000100.000000:000", extra);
    let (core, id, step) = submitted_at("every-minute", &rule, t(0));
    (core, id, spawned(&step)[0])
}

#[test]
fn overlap_queue_holds_one_occurrence_and_starts_it_when_the_run_ends() {
    let (mut core, id, first) = every_minute(&[("OverlapPolicy", CimValue::UInt16(3))]);
    core.process_started(first, identity(1), t(0));
    let step = core.fire_timers(t(60));
    assert!(spawned(&step).is_empty(), "never two runs at once");
    assert_eq!(core.job(id).unwrap().queued_run.map(|q| q.due), Some(t(60)));
    // a second one while one waits: skipped, as Queue holds one
    core.fire_timers(t(120));
    let job = core.job(id).unwrap();
    assert_eq!((job.skipped_runs, job.next_run_time), (1, Some(t(180))));
    let step = core.exited(first, ExitOutcome::Exited(0), t(150));
    let second = spawned(&step);
    assert_eq!(
        second,
        [RunKey { job: id, run: 2 }],
        "the held one starts at once"
    );
    let job = core.job(id).unwrap();
    assert_eq!(
        (job.occurrences, job.queued_run, job.next_run_time),
        (2, None, Some(t(180)))
    );
    assert_eq!(job.start_time, Some(t(150)));
}

#[test]
fn overlap_replace_ends_the_run_and_starts_the_new_one_without_a_failure() {
    let (mut core, id, first) = every_minute(&[
        ("OverlapPolicy", CimValue::UInt16(4)),
        ("RecoveryAction", CimValue::UInt16(4)),
    ]);
    core.process_started(first, identity(1), t(0));
    let step = core.fire_timers(t(60));
    assert_eq!(signals(&step), [WorkSignal::Terminate]);
    // it does not go: SIGKILL after the default TimeoutPeriod (10 s)
    assert!(signals(&core.fire_timers(t(69))).is_empty());
    assert_eq!(signals(&core.fire_timers(t(70))), [WorkSignal::Kill]);
    let step = core.exited(first, ExitOutcome::Signaled(9), t(70));
    assert_eq!(spawned(&step), [RunKey { job: id, run: 2 }]);
    let run = step
        .batch
        .runs
        .iter()
        .find(|r| r.run_number == 1)
        .expect("run 1 recorded");
    assert!(
        run.error_description
            .as_deref()
            .is_some_and(|d| d.contains("replaced by the run due at")),
        "{run:?}"
    );
    let job = core.job(id).unwrap();
    assert_eq!(
        job.situation,
        Situation::Starting,
        "the replaced run was not re-run (Re-run Job) and the series goes on"
    );
    assert_eq!(job.next_run_time, Some(t(120)));
}

#[test]
fn overlap_replace_waits_for_a_run_still_starting_then_ends_it() {
    let (mut core, _, first) = every_minute(&[("OverlapPolicy", CimValue::UInt16(4))]);
    assert!(
        signals(&core.fire_timers(t(60))).is_empty(),
        "nothing to signal yet"
    );
    let step = core.process_started(first, identity(1), t(61));
    assert_eq!(signals(&step), [WorkSignal::Terminate]);
}

#[test]
fn missed_runs_of_a_repeat_interval_are_counted_and_it_goes_on_from_now() {
    let rule = every(
        "00000000010000.000000:000",
        &[("MissedRunPolicy", CimValue::UInt16(3))],
    );
    let (mut core, id, step) = submitted_at("h", &rule, t(0));
    run_once(&mut core, &step, t(0), ExitOutcome::Exited(0));
    let stored: Vec<_> = core.jobs().map(|j| (**j).clone()).collect();
    // down from t(60) until 5 h 30 min: the runs at 1 h … 5 h were missed
    let (mut core, _) = recovered(
        utc_config(1),
        stored,
        1,
        0,
        t(5 * 3600 + 1800),
        &Default::default(),
    );
    let step = core.fire_timers(t(5 * 3600 + 1800));
    assert!(spawned(&step).is_empty());
    let job = core.job(id).unwrap();
    assert_eq!(
        (job.skipped_runs, job.next_run_time),
        (5, Some(t(6 * 3600)))
    );
}

#[test]
fn a_run_lost_while_being_replaced_gives_way_to_the_held_occurrence_and_no_sigkill_follows() {
    let (mut core, id, first) = every_minute(&[
        ("OverlapPolicy", CimValue::UInt16(4)),
        ("RecoveryAction", CimValue::UInt16(4)),
    ]);
    core.process_started(first, identity(1), t(0));
    assert_eq!(signals(&core.fire_timers(t(60))), [WorkSignal::Terminate]);
    let step = core.lost(first, "its supervisor died", t(61));
    assert_eq!(
        spawned(&step),
        [RunKey { job: id, run: 2 }],
        "the held occurrence, not a re-run"
    );
    let second = spawned(&step)[0];
    core.process_started(second, identity(2), t(61));
    let job = core.job(id).unwrap();
    assert_eq!((job.occurrences, job.reruns), (2, 0));
    assert!(
        signals(&core.fire_timers(t(75))).is_empty(),
        "the SIGKILL meant for the lost run never reaches the new one"
    );
}

#[test]
fn a_terminate_during_a_replace_keeps_the_clients_timeout_and_ends_the_series() {
    let (mut core, id, first) = every_minute(&[("OverlapPolicy", CimValue::UInt16(4))]);
    core.process_started(first, identity(1), t(0));
    core.fire_timers(t(60));
    let (answer, _) = core
        .request_state_change(id, 4, Some(SignedDuration::from_secs(30)), t(61))
        .unwrap();
    assert_eq!(answer, StateChangeReturn::TransitionStarted);
    assert!(
        signals(&core.fire_timers(t(80))).is_empty(),
        "no SIGKILL before the TimeoutPeriod asked for"
    );
    assert_eq!(signals(&core.fire_timers(t(91))), [WorkSignal::Kill]);
    let step = core.exited(first, ExitOutcome::Signaled(9), t(91));
    assert!(spawned(&step).is_empty(), "Terminate ends the series");
    let job = core.job(id).unwrap();
    assert_eq!(
        (job.situation, job.queued_run),
        (Situation::Terminated, None)
    );
}

#[test]
fn a_repeat_interval_starts_exactly_at_a_scheduled_start_time_still_ahead() {
    let rule = every(
        "00000000001500.000000:000",
        &[("ScheduledStartTime", dt("00000000010000.000000:000"))],
    );
    let (core, id) = submitted_at_one_am("later", &rule);
    let job = core.job(id).unwrap().clone();
    assert_eq!(job.next_run_time, Some(day(0, 2, 0)));
    let plan = cimjob_rules::plan::Plan::of(&job, &jiff::tz::TimeZone::UTC).unwrap();
    assert_eq!(plan.next_run(day(0, 1, 30)), Some(day(0, 2, 0)));
    assert_eq!(plan.next_run(day(0, 2, 0)), Some(day(0, 2, 15)));
}
