//! The runner against real processes and signals. Every wait is bounded by a tokio timeout,
//! and every process a test starts is reaped (by the runner, or by the test itself).

use std::collections::HashSet;
use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use cimjob_runner::{
    kill_orphan, process_identity, process_state, ExitOutcome, ProcessIdentity, RunKey, Runner,
    RunnerError, RunnerEvent, SpawnError, WorkSignal, WorkSpec, MAX_LINE,
};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc::{error::TryRecvError, UnboundedReceiver};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

/// Tests share the process's descriptor table (and each tokio runtime holds descriptors); the
/// test that counts descriptors runs alone.
static FD_TABLE: RwLock<()> = RwLock::new(());

/// Runs a test body on its own current-thread runtime, alongside the other tests.
fn run<F: Future>(body: F) -> F::Output {
    let _shared = FD_TABLE.read().unwrap_or_else(PoisonError::into_inner);
    // A local, so the runtime (and its descriptors) is gone before the guard is released.
    let runtime = runtime(&mut tokio::runtime::Builder::new_current_thread());
    let output = runtime.block_on(body);
    drop(runtime);
    output
}

fn runtime(builder: &mut tokio::runtime::Builder) -> tokio::runtime::Runtime {
    builder.enable_all().build().expect("a tokio runtime")
}

struct Harness {
    runner: Runner,
    events: UnboundedReceiver<(RunKey, RunnerEvent)>,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let (sender, events) = tokio::sync::mpsc::unbounded_channel();
        Harness {
            runner: Runner::new(sender),
            events,
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn log(&self, key: RunKey) -> PathBuf {
        self.dir
            .path()
            .join(format!("logs/{}/{}.log", key.job, key.run))
    }

    fn sh(&self, key: RunKey, script: &str) -> WorkSpec {
        WorkSpec::new(["sh", "-c", script], self.log(key))
    }

    fn start(&self, key: RunKey, script: &str) -> ProcessIdentity {
        self.runner
            .spawn(key, &self.sh(key, script))
            .unwrap_or_else(|error| panic!("spawn {key}: {error}"))
    }

    async fn next(&mut self) -> (RunKey, RunnerEvent) {
        timeout(LIMIT, self.events.recv())
            .await
            .expect("an event within the time limit")
            .expect("the runner keeps the channel open")
    }

    /// The next event, which must be for `key`.
    async fn next_of(&mut self, key: RunKey) -> RunnerEvent {
        let (got, event) = self.next().await;
        assert_eq!(got, key, "event {event:?} is for another run");
        event
    }

    /// All events of `key` up to and including `Exited`.
    async fn until_exit(&mut self, key: RunKey) -> Vec<RunnerEvent> {
        let mut events = Vec::new();
        loop {
            let event = self.next_of(key).await;
            let last = matches!(event, RunnerEvent::Exited(_));
            events.push(event);
            if last {
                return events;
            }
        }
    }

    async fn outcome(&mut self, key: RunKey) -> ExitOutcome {
        match self.until_exit(key).await.pop() {
            Some(RunnerEvent::Exited(outcome)) => outcome,
            other => unreachable!("until_exit ends with Exited, got {other:?}"),
        }
    }

    /// Waits for the `progress 1 ready` line a script writes once its traps are set.
    async fn ready(&mut self, key: RunKey) {
        assert_eq!(self.next_of(key).await, progress(1, Some("ready")));
    }

    fn read_log(&self, key: RunKey) -> String {
        std::fs::read_to_string(self.log(key)).expect("the run's log")
    }

    /// Nothing more was reported and nothing is left running.
    fn assert_quiet(&mut self) {
        assert_eq!(self.events.try_recv().unwrap_err(), TryRecvError::Empty);
        assert_eq!(self.runner.running(), 0);
    }
}

fn key(job: u64) -> RunKey {
    RunKey { job, run: 1 }
}

fn progress(percent: u16, text: Option<&str>) -> RunnerEvent {
    RunnerEvent::Progress {
        percent,
        text: text.map(str::to_owned),
    }
}

/// Polls `condition` every 10 ms until it holds; fails after the time limit.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let poll = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    timeout(LIMIT, poll)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

/// Gone, or a zombie waiting for init to reap it: either way it no longer runs.
fn is_dead(pid: u32) -> bool {
    matches!(process_state(pid), None | Some('Z'))
}

/// Reports `progress 1 ready`, then waits (for ever) in the shell's `wait`, which a trapped
/// signal interrupts. The child is forked before "ready": a group SIGSTOP that lands while
/// dash is vfork-ing a child leaves the leader in state 'D' (in vfork), not 'T'.
const READY_THEN_WAIT: &str = "sleep 100 & echo 'progress 1 ready' >&3; wait";

#[test]
fn progress_lines_become_events_in_order_with_their_text() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        // The last line has no newline: it still counts, because the work closed its end.
        h.start(
            run,
            "echo 'progress 10 Copying files' >&3; echo 'progress 50' >&3; \
             echo 'bogus line' >&3; echo 'progress 101 too much' >&3; echo >&3; \
             printf 'progress 100 Done' >&3",
        );
        assert_eq!(
            h.until_exit(run).await,
            vec![
                progress(10, Some("Copying files")),
                progress(50, None),
                progress(100, Some("Done")),
                RunnerEvent::Exited(ExitOutcome::Exited(0)),
            ]
        );
        h.assert_quiet();
    });
}

#[test]
fn a_line_longer_than_the_limit_is_ignored_and_the_run_goes_on() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        let script = format!(
            "head -c {} /dev/zero | tr '\\0' x >&3; echo >&3; echo 'progress 5 after' >&3",
            MAX_LINE * 3
        );
        h.start(run, &script);
        assert_eq!(
            h.until_exit(run).await,
            vec![
                progress(5, Some("after")),
                RunnerEvent::Exited(ExitOutcome::Exited(0))
            ]
        );
    });
}

#[test]
fn exit_status_is_reported() {
    run(async {
        let mut h = Harness::new();
        for (job, script, expected) in [
            (1, "exit 0", ExitOutcome::Exited(0)),
            (2, "exit 3", ExitOutcome::Exited(3)),
            (3, "kill -TERM $$", ExitOutcome::Signaled(15)),
        ] {
            h.start(key(job), script);
            assert_eq!(h.outcome(key(job)).await, expected, "script {script:?}");
        }
        h.assert_quiet();
    });
}

#[test]
fn kill_ends_the_run_with_signal_9() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        let identity = h.start(run, READY_THEN_WAIT);
        h.ready(run).await;
        h.runner.signal(run, WorkSignal::Kill).expect("kill");
        assert_eq!(h.outcome(run).await, ExitOutcome::Signaled(9));
        assert_eq!(process_state(identity.pid), None, "the leader was reaped");
        assert!(matches!(
            h.runner.signal(run, WorkSignal::Kill),
            Err(RunnerError::NotRunning { key }) if key == run
        ));
        h.assert_quiet();
    });
}

#[test]
fn stop_stops_the_work_and_continue_resumes_it() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        let identity = h.start(run, "exec sleep 100");
        h.runner.signal(run, WorkSignal::Stop).expect("stop");
        eventually("the leader is stopped", || {
            process_state(identity.pid) == Some('T')
        })
        .await;
        h.runner
            .signal(run, WorkSignal::Continue)
            .expect("continue");
        eventually("the leader runs again", || {
            !matches!(process_state(identity.pid), Some('T') | None)
        })
        .await;
        h.runner.signal(run, WorkSignal::Kill).expect("kill");
        assert_eq!(h.outcome(run).await, ExitOutcome::Signaled(9));
        h.assert_quiet();
    });
}

#[test]
fn terminate_lets_a_work_that_traps_it_exit_cleanly_even_when_stopped() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        let identity = h.start(run, &format!("trap 'exit 0' TERM; {READY_THEN_WAIT}"));
        h.ready(run).await;
        // A suspended run can still be terminated: Terminate sends SIGCONT after SIGTERM.
        h.runner.signal(run, WorkSignal::Stop).expect("stop");
        eventually("the leader is stopped", || {
            process_state(identity.pid) == Some('T')
        })
        .await;
        h.runner
            .signal(run, WorkSignal::Terminate)
            .expect("terminate");
        assert_eq!(h.outcome(run).await, ExitOutcome::Exited(0));
        h.assert_quiet();
    });
}

#[test]
fn terminate_is_not_enough_for_a_work_that_ignores_it() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        let identity = h.start(run, &format!("trap '' TERM; {READY_THEN_WAIT}"));
        h.ready(run).await;
        h.runner
            .signal(run, WorkSignal::Terminate)
            .expect("terminate");
        let nothing = timeout(Duration::from_millis(500), h.events.recv()).await;
        assert!(
            nothing.is_err(),
            "no event after an ignored TERM: {nothing:?}"
        );
        assert!(!is_dead(identity.pid), "still alive after an ignored TERM");
        assert_eq!(h.runner.running(), 1);
        h.runner.signal(run, WorkSignal::Kill).expect("kill");
        assert_eq!(h.outcome(run).await, ExitOutcome::Signaled(9));
        h.assert_quiet();
    });
}

#[test]
fn a_query_is_answered_on_the_same_descriptor() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        h.start(
            run,
            "echo 'query Load paper in tray 2?' >&3; read answer <&3; echo \"answer=$answer\"",
        );
        assert_eq!(
            h.next_of(run).await,
            RunnerEvent::Query {
                text: "Load paper in tray 2?".into()
            }
        );
        h.runner.answer(run, "loaded, go on").expect("answer");
        assert_eq!(h.outcome(run).await, ExitOutcome::Exited(0));
        assert_eq!(h.read_log(run), "answer=loaded, go on\n");
        h.assert_quiet();
    });
}

#[test]
fn answers_that_cannot_be_delivered_are_refused() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        assert!(matches!(
            h.runner.answer(run, "yes"),
            Err(RunnerError::NotRunning { .. })
        ));
        h.start(run, READY_THEN_WAIT);
        h.ready(run).await;
        assert!(matches!(
            h.runner.answer(run, "two\nlines"),
            Err(RunnerError::AnswerHasNewline { .. })
        ));
        assert!(matches!(
            h.runner.answer(run, &"x".repeat(MAX_LINE + 1)),
            Err(RunnerError::AnswerTooLong { length, max, .. }) if length == MAX_LINE + 1 && max == MAX_LINE
        ));
        // The work never reads: after the queue is full, more answers are refused, not buffered.
        let refused = (0..100)
            .map(|_| h.runner.answer(run, &"y".repeat(MAX_LINE)))
            .find_map(Result::err);
        assert!(
            matches!(refused, Some(RunnerError::AnswerBacklog { .. })),
            "{refused:?}"
        );
        h.runner.signal(run, WorkSignal::Kill).expect("kill");
        assert_eq!(h.outcome(run).await, ExitOutcome::Signaled(9));
        h.assert_quiet();
    });
}

#[test]
fn a_run_whose_log_cannot_be_written_still_runs_to_its_end() {
    run(async {
        let mut h = Harness::new();
        let key = RunKey { job: 3, run: 1 };
        // the log path is a directory: opening it for writing fails at the first byte
        let log = h.log(key);
        std::fs::create_dir_all(&log).unwrap();
        // more than a pipe holds: a work whose output nobody read would block for ever
        let spec = WorkSpec::new(["sh", "-c", "head -c 300000 /dev/zero"], &log);
        h.runner.spawn(key, &spec).expect("the run starts");
        assert_eq!(h.outcome(key).await, ExitOutcome::Exited(0));
        assert!(log.is_dir(), "nothing was written over the directory");
    });
}

#[test]
fn stop_kills_every_group_and_refuses_later_starts() {
    run(async {
        let mut h = Harness::new();
        let running = RunKey { job: 5, run: 1 };
        h.start(running, "sleep 60");
        h.runner.stop();
        assert_eq!(h.outcome(running).await, ExitOutcome::Signaled(9));
        let later = RunKey { job: 6, run: 1 };
        h.runner.start(later, h.sh(later, "true"), None);
        match h.next_of(later).await {
            RunnerEvent::Started {
                result: Err(why), ..
            } => assert!(why.contains("stopping"), "{why}"),
            other => panic!("expected a refused start, got {other:?}"),
        }
    });
}

#[test]
fn a_silent_run_leaves_no_log_file() {
    run(async {
        let mut h = Harness::new();
        let key = RunKey { job: 4, run: 1 };
        h.start(key, "exit 0");
        assert_eq!(h.outcome(key).await, ExitOutcome::Exited(0));
        assert!(!h.log(key).exists());
    });
}

#[test]
fn stdout_and_stderr_are_appended_to_the_log() {
    run(async {
        let mut h = Harness::new();
        let first = RunKey { job: 1, run: 1 };
        let second = RunKey { job: 1, run: 2 };
        let log = h.log(first);
        let spec = h.sh(first, "echo out; echo err >&2");
        h.runner.spawn(first, &spec).expect("first run");
        assert_eq!(h.outcome(first).await, ExitOutcome::Exited(0));
        h.runner
            .spawn(second, &WorkSpec::new(["sh", "-c", "echo again >&2"], &log))
            .expect("second run, same log");
        assert_eq!(h.outcome(second).await, ExitOutcome::Exited(0));
        assert_eq!(h.read_log(first), "out\nerr\nagain\n");
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o600,
            0o600,
            "the service reads and writes it: {mode:o}"
        );
        assert_eq!(
            mode & 0o137,
            0,
            "no execute, no group write, nothing for others: {mode:o}"
        );
        h.assert_quiet();
    });
}

#[test]
fn a_background_process_dies_when_the_leader_exits() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        h.start(run, "sleep 100 & echo \"background=$!\"; exit 0");
        assert_eq!(h.outcome(run).await, ExitOutcome::Exited(0));
        let log = h.read_log(run);
        let pid: u32 = log
            .trim()
            .strip_prefix("background=")
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("log {log:?}"));
        eventually("the background sleep is dead", || is_dead(pid)).await;
        h.assert_quiet();
    });
}

#[test]
fn a_run_that_cannot_start_is_an_error_and_no_event() {
    run(async {
        let mut h = Harness::new();
        let not_executable = h.dir.path().join("not-executable");
        std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
        let a_file = h.dir.path().join("a-file");
        std::fs::write(&a_file, "").unwrap();
        let log = h.log(key(1));
        let with_dir = |dir: PathBuf| WorkSpec {
            working_directory: Some(dir),
            ..WorkSpec::new(["true"], &log)
        };

        let no_such_command = h
            .runner
            .spawn(key(1), &WorkSpec::new(["cimjob-no-such-command"], &log));
        assert!(
            matches!(&no_such_command, Err(SpawnError::Command { command, source })
                if command == "cimjob-no-such-command" && source.kind() == std::io::ErrorKind::NotFound),
            "{no_such_command:?}"
        );
        let no_such_path = h
            .runner
            .spawn(key(2), &WorkSpec::new(["/nonexistent/cimjob"], &log));
        assert!(
            matches!(&no_such_path, Err(SpawnError::Command { source, .. }) if source.kind() == std::io::ErrorKind::NotFound),
            "{no_such_path:?}"
        );
        let not_allowed = h.runner.spawn(
            key(3),
            &WorkSpec::new([not_executable.to_str().unwrap()], &log),
        );
        assert!(
            matches!(&not_allowed, Err(SpawnError::Command { source, .. }) if source.kind() == std::io::ErrorKind::PermissionDenied),
            "{not_allowed:?}"
        );
        for (job, dir) in [(4, h.dir.path().join("missing")), (5, a_file.clone())] {
            let bad_directory = h.runner.spawn(key(job), &with_dir(dir.clone()));
            assert!(
                matches!(&bad_directory, Err(SpawnError::WorkingDirectory { path, .. }) if *path == dir),
                "{bad_directory:?}"
            );
        }
        let bad_log = h
            .runner
            .spawn(key(6), &WorkSpec::new(["true"], a_file.join("x.log")));
        assert!(
            matches!(&bad_log, Err(SpawnError::Log { .. })),
            "{bad_log:?}"
        );
        let empty = h
            .runner
            .spawn(key(7), &WorkSpec::new(Vec::<String>::new(), &log));
        assert!(
            matches!(&empty, Err(SpawnError::EmptyCommand { .. })),
            "{empty:?}"
        );
        // Every message names the command.
        assert!(no_such_command
            .unwrap_err()
            .to_string()
            .contains("cimjob-no-such-command"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        h.assert_quiet();
    });
}

#[test]
fn the_same_run_cannot_be_started_twice_at_once() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        h.start(run, READY_THEN_WAIT);
        assert!(matches!(
            h.runner.spawn(run, &h.sh(run, "true")),
            Err(SpawnError::AlreadyRunning { key }) if key == run
        ));
        h.ready(run).await;
        h.runner.signal(run, WorkSignal::Kill).expect("kill");
        assert_eq!(h.outcome(run).await, ExitOutcome::Signaled(9));
        h.assert_quiet();
    });
}

#[test]
fn the_identity_is_the_leaders_pid_and_start_time() {
    run(async {
        let mut h = Harness::new();
        // many starts, so some cross a clock tick and the start time is read from /proc
        for n in 1..=60 {
            let run = key(n);
            let identity = h.start(run, "exec sleep 100");
            assert_eq!(process_identity(identity.pid), Some(identity), "run {n}");
            h.runner.signal(run, WorkSignal::Kill).expect("kill");
            assert_eq!(h.outcome(run).await, ExitOutcome::Signaled(9));
        }
    });
}

#[test]
fn kill_orphan_kills_only_the_group_it_started() {
    run(async {
        // An orphan left by an earlier service: a group whose leader has a background child.
        let mut orphan = tokio::process::Command::new("sh")
            .args(["-c", "sleep 100 & echo $!; wait"])
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("orphan");
        let leader = orphan.id().expect("running");
        let mut stdout = tokio::io::BufReader::new(orphan.stdout.take().unwrap());
        let mut line = String::new();
        timeout(LIMIT, stdout.read_line(&mut line))
            .await
            .expect("the orphan says its child's pid")
            .unwrap();
        let background: u32 = line.trim().parse().expect("a pid");
        let identity = process_identity(leader).expect("the orphan runs");

        let recycled = ProcessIdentity {
            start_ticks: identity.start_ticks + 1,
            ..identity
        };
        assert!(!kill_orphan(recycled), "another start time: not ours");
        assert!(!is_dead(leader));
        assert!(!is_dead(background));

        assert!(kill_orphan(identity));
        let status = timeout(LIMIT, orphan.wait())
            .await
            .expect("the orphan dies")
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));
        eventually("the orphan's background child is dead", || {
            is_dead(background)
        })
        .await;
        assert!(!kill_orphan(identity), "nothing left to kill");
    });
}

#[test]
fn the_environment_and_working_directory_are_given_to_the_work() {
    run(async {
        let mut h = Harness::new();
        let run = key(1);
        let workdir = h.dir.path().join("work");
        std::fs::create_dir(&workdir).unwrap();
        let spec = WorkSpec {
            environment: vec![
                ("CIMJOB_TEST_GREETING".into(), "hello world".into()),
                ("CIMJOB_PROGRESS_FD".into(), "7".into()),
            ],
            working_directory: Some(workdir.clone()),
            ..h.sh(
                run,
                "echo \"greeting=$CIMJOB_TEST_GREETING\"; echo \"fd=$CIMJOB_PROGRESS_FD\"; \
                 echo \"path=${PATH:+inherited}\"; pwd",
            )
        };
        h.runner.spawn(run, &spec).expect("spawn");
        assert_eq!(h.outcome(run).await, ExitOutcome::Exited(0));
        assert_eq!(
            h.read_log(run),
            format!(
                "greeting=hello world\nfd=3\npath=inherited\n{}\n",
                workdir.display()
            )
        );
    });
}

#[test]
fn many_runs_at_once_all_report_and_leave_nothing_behind() {
    // Alone, so that every descriptor opened or closed meanwhile is the runner's.
    let _alone = FD_TABLE.write().unwrap_or_else(PoisonError::into_inner);
    let descriptors = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let runtime = runtime(tokio::runtime::Builder::new_multi_thread().worker_threads(2));
    runtime.block_on(async {
        let mut h = Harness::new();
        let log = h.dir.path().join("true.log");
        std::fs::write(&log, "").unwrap();
        let before = descriptors();
        for job in 0..200 {
            h.runner
                .spawn(key(job), &WorkSpec::new(["/bin/true"], &log))
                .expect("spawn /bin/true");
        }
        let mut exited = HashSet::new();
        while exited.len() < 200 {
            match h.next().await {
                (run, RunnerEvent::Exited(outcome)) => {
                    assert_eq!(outcome, ExitOutcome::Exited(0), "{run}");
                    assert!(exited.insert(run), "{run} reported twice");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(h.runner.running(), 0);
        assert_eq!(descriptors(), before, "no descriptor outlives its run");
        h.assert_quiet();
    });
}

#[test]
fn a_runner_can_be_shared_between_tasks_and_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Runner>();
    fn key_like<T: Copy + Eq + std::hash::Hash + std::fmt::Debug>() {}
    key_like::<RunKey>();
}

#[test]
fn spawn_outside_a_runtime_is_an_error() {
    let _shared = FD_TABLE.read().unwrap_or_else(PoisonError::into_inner);
    let (sender, _events) = tokio::sync::mpsc::unbounded_channel();
    let runner = Runner::new(sender);
    let dir = tempfile::tempdir().unwrap();
    let result = runner.spawn(key(1), &WorkSpec::new(["true"], dir.path().join("log")));
    assert!(
        matches!(result, Err(SpawnError::NoRuntime { .. })),
        "{result:?}"
    );
    assert_eq!(runner.running(), 0);
}
