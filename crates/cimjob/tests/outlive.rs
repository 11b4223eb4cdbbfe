//! Running work outlives the service: a crash, SIGTERM, SIGINT or an upgrade to a new binary
//! leaves the runs to their supervisor, and the next service adopts them — still Running,
//! with the progress written meanwhile, controllable, their exit recorded, one log. Only a
//! machine restart (the supervisor dies too) loses a run (see `service.rs`).

mod common;

use std::path::Path;

use common::{proc_state, read_pid, submit_sh, until, wait_gone, Service};
use nix::sys::signal::Signal;
use serde_json::json;

/// Waits (bounded) for `path` to exist.
fn wait_file(path: &Path) {
    until(&format!("{} to exist", path.display()), || path.exists());
}

/// A script that reports progress 10, then waits for the file `<dir>/phase2` to report 60
/// (touching `<dir>/wrote`), then waits for `<dir>/finish` to exit with status `code`;
/// each phase writes a line to its output. Its shell's pid goes to `<dir>/pid`.
fn phased(dir: &Path, code: i32) -> String {
    let d = dir.display();
    format!(
        "echo $$ > {d}/pid; echo 'progress 10 starting' >&3; echo out-before; \
         while [ ! -f {d}/phase2 ]; do sleep 0.02; done; \
         echo 'progress 60 written while the service was down' >&3; echo out-during; touch {d}/wrote; \
         while [ ! -f {d}/finish ]; do sleep 0.02; done; \
         echo out-after; exit {code}"
    )
}

#[test]
fn running_work_outlives_a_crash_of_the_service_and_is_adopted() {
    let mut s = Service::start(&[]);
    let dir = s.scratch();
    let id = submit_sh(&s, &["--name", "long"], &phased(&dir, 3));
    s.wait_job(id, 10, "at 10%", |j| j["PercentComplete"] == json!(10));
    let leader = read_pid(&dir.join("pid"));

    s.crash();
    assert!(
        proc_state(leader).is_some(),
        "the work goes on without the service"
    );
    std::fs::write(dir.join("phase2"), "").unwrap();
    wait_file(&dir.join("wrote"));
    s.start_again(None);

    let job = s.job(id);
    assert_eq!(
        job["JobState"],
        json!(4),
        "still Running after the restart: {job}"
    );
    assert_eq!(job["OperationalStatus"], json!([2]));
    let job = s.wait_job(id, 10, "at 60%", |j| j["PercentComplete"] == json!(60));
    assert_eq!(
        job["JobStatus"],
        json!("written while the service was down"),
        "the progress line written while nobody listened counts"
    );

    // control acts on the adopted run
    s.ok(&["suspend", &id.to_string()]);
    until("the work stopped", || proc_state(leader) == Some('T'));
    assert_eq!(s.state(id), 5);
    s.ok(&["resume", &id.to_string()]);
    until("the work running again", || proc_state(leader) != Some('T'));
    assert_eq!(s.state(id), 4);

    std::fs::write(dir.join("finish"), "").unwrap();
    let job = s.wait_state(id, 10, 10);
    assert_eq!(job["ErrorCode"], json!(1), "{job}");
    assert_eq!(job["ExitStatus"], json!(3));
    assert_eq!(job["RunCount"], json!(1), "adopted, not run again");
    let log = std::fs::read_to_string(s.data_dir().join(format!("logs/{id}-run-1.log"))).unwrap();
    assert_eq!(
        log, "out-before\nout-during\nout-after\n",
        "one continuous log"
    );
}

#[test]
fn sigterm_and_sigint_stop_the_service_and_leave_running_work_alone() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let mut s = Service::start(&[]);
        let dir = s.scratch();
        let id = submit_sh(
            &s,
            &[],
            &format!("echo $$ > {}/pid; exec sleep 60", dir.display()),
        );
        s.wait_state(id, 4, 10);
        let leader = read_pid(&dir.join("pid"));

        s.signal_and_wait(signal);
        assert!(proc_state(leader).is_some(), "{signal}: the work goes on");
        s.start_again(None);
        assert_eq!(s.state(id), 4, "{signal}: still Running");

        s.ok(&["terminate", &id.to_string()]);
        let job = s.wait_state(id, 8, 10);
        assert_eq!(job["ErrorCode"], json!(5), "{signal}: {job}");
        wait_gone(leader, 10);
    }
}

#[test]
fn a_run_that_ends_while_the_service_is_down_is_recorded_when_it_returns() {
    let mut s = Service::start(&[]);
    let dir = s.scratch();
    let ok = submit_sh(
        &s,
        &[],
        &format!("touch {}/ok-started; sleep 0.5", dir.display()),
    );
    let failing = submit_sh(
        &s,
        &[],
        &format!(
            "echo 'progress 40 nearly' >&3; touch {}/bad-started; sleep 0.5; exit 7",
            dir.display()
        ),
    );
    wait_file(&dir.join("ok-started"));
    wait_file(&dir.join("bad-started"));
    s.crash();
    // both end and, with no service to tell, their supervisor records how and exits
    until("the supervisor to exit", || s.supervisors().is_empty());
    s.start_again(None);

    let job = s.wait_state(ok, 7, 10);
    assert_eq!(
        (job["ErrorCode"].clone(), job["PercentComplete"].clone()),
        (json!(0), json!(100))
    );
    let job = s.wait_state(failing, 10, 10);
    assert_eq!(job["ErrorCode"], json!(1), "{job}");
    assert_eq!(job["ExitStatus"], json!(7));
    assert_eq!(job["PercentComplete"], json!(40));
    until("the exit records to be deleted once durable", || {
        std::fs::read_dir(s.data_dir().join("supervisors/exits"))
            .map(|d| d.count() == 0)
            .unwrap_or(true)
    });
}

#[test]
fn a_run_that_ends_while_the_service_is_down_beside_one_still_running_is_recorded_when_it_returns()
{
    // the supervisor stays (it still holds the long run): the short run's end waits in it,
    // unacknowledged, and the next service must adopt that run and hear its end
    let mut s = Service::start(&[]);
    let dir = s.scratch();
    let short = submit_sh(
        &s,
        &[],
        &format!("touch {}/short-started; sleep 0.5", dir.display()),
    );
    let long = submit_sh(&s, &[], "sleep 60");
    wait_file(&dir.join("short-started"));
    s.wait_state(long, 4, 10);
    s.crash();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(
        s.supervisors().len(),
        1,
        "the supervisor holds the long run"
    );
    s.start_again(None);

    let job = s.wait_state(short, 7, 10);
    assert_eq!(
        (job["ErrorCode"].clone(), job["PercentComplete"].clone()),
        (json!(0), json!(100)),
        "{job}"
    );
    assert_eq!(s.state(long), 4, "the long run is adopted, still Running");
    s.ok(&["kill", &long.to_string()]);
    s.wait_state(long, 9, 10);
}

#[test]
fn an_upgrade_to_a_new_binary_adopts_the_runs_and_the_old_supervisor_retires() {
    let mut s = Service::start(&[]);
    let dir = s.scratch();
    let old = submit_sh(
        &s,
        &[],
        &format!(
            "touch {0}/old; while [ ! -f {0}/finish ]; do sleep 0.02; done",
            dir.display()
        ),
    );
    s.wait_state(old, 4, 10);
    let old_supervisors = s.supervisors();
    assert_eq!(old_supervisors.len(), 1);

    // the upgrade: the service stops, and starts again from another binary
    s.signal_and_wait(Signal::SIGTERM);
    let upgraded = dir.join("cimjob-upgraded");
    std::fs::copy(common::BIN, &upgraded).unwrap();
    s.start_again(Some(&upgraded));
    assert_eq!(s.state(old), 4, "the old run is adopted");
    let new = s.submit(&["--", "sleep", "60"]);
    s.wait_state(new, 4, 10);
    let now = s.supervisors();
    assert_eq!(
        now.len(),
        2,
        "the new binary runs its new jobs in a supervisor of its own"
    );
    assert!(now.contains(&old_supervisors[0]));

    // the old supervisor finishes its run, then exits
    std::fs::write(dir.join("finish"), "").unwrap();
    let job = s.wait_state(old, 7, 10);
    assert_eq!(job["ErrorCode"], json!(0));
    until("the retired supervisor to exit", || {
        !s.supervisors().contains(&old_supervisors[0])
    });
    common::reap(nix::unistd::Pid::from_raw(old_supervisors[0] as i32), 10);
    s.ok(&["kill", &new.to_string()]);
    s.wait_state(new, 9, 10);
}

#[test]
fn serve_drain_starts_nothing_new_and_waits_for_running_work_to_end() {
    let mut s = Service::start(&["--drain", "--max-running", "1"]);
    let dir = s.scratch();
    let running = submit_sh(
        &s,
        &[],
        &format!(
            "while [ ! -f {}/finish ]; do sleep 0.02; done",
            dir.display()
        ),
    );
    s.wait_state(running, 4, 10);
    let queued = s.submit(&["--", "true"]);
    assert_eq!(s.state(queued), 2);

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(s.pid() as i32), Signal::SIGTERM).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(s.running(), "the service waits for the running job");
    assert_eq!(s.state(queued), 2, "and starts nothing new meanwhile");
    std::fs::write(dir.join("finish"), "").unwrap();
    s.signal_and_wait(Signal::SIGTERM);
    until("its supervisor to exit, with nothing to hold", || {
        s.supervisors().is_empty()
    });

    s.start_again(None);
    assert_eq!(s.state(running), 7);
    s.wait_state(queued, 7, 10);
}
