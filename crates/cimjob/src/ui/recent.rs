//! The runs that ended in the last hour, as the dashboard's charts and its list of recent
//! failures read them. Fed by the same reading of the changes as the run log and the metrics
//! ([`crate::run_events`]), so the three agree; kept in memory (the charts start empty when the
//! service starts), bounded by the hour and by [`MAX_KEPT`].

use std::collections::VecDeque;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

use crate::run_events::{RunEvent, RunResult};

/// The window the charts show.
pub const WINDOW: SignedDuration = SignedDuration::from_secs(3600);
/// The most runs kept (a busier hour keeps its latest runs).
pub const MAX_KEPT: usize = 200_000;

/// One run that ended.
#[derive(Clone, Debug, PartialEq)]
pub struct EndedRun {
    /// When it ended.
    pub at: Timestamp,
    /// The job's LocalID.
    pub job: u64,
    /// The job's Owner: a user's charts show only their own runs.
    pub owner: String,
    /// Which run.
    pub run: u32,
    /// How it ended.
    pub result: RunResult,
    /// How long it ran, when it got past its exec.
    pub duration: Option<SignedDuration>,
    /// Its command's exit status, if it exited.
    pub exit_status: Option<i32>,
}

/// The last hour's ended runs, oldest first.
#[derive(Default)]
pub struct RecentRuns {
    runs: Mutex<VecDeque<EndedRun>>,
}

/// Completed and failed (Failed, Terminated, Killed) runs in one minute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Minute {
    /// Runs whose command succeeded.
    pub completed: u32,
    /// Runs that did not.
    pub failed: u32,
}

/// The duration buckets of the durations chart: upper bounds in seconds (the last is open).
pub const DURATION_BOUNDS: [(f64, &str); 6] = [
    (0.1, "under 0.1 s"),
    (1.0, "under 1 s"),
    (10.0, "under 10 s"),
    (60.0, "under 1 min"),
    (600.0, "under 10 min"),
    (f64::INFINITY, "10 min or more"),
];

impl RecentRuns {
    /// Notes the end of a run of a job `owner` owns, at `at`; other events are not kept.
    pub fn observe(&self, event: &RunEvent, owner: &str, at: Timestamp) {
        let RunEvent::Ended {
            job,
            run,
            result,
            duration,
            exit_status,
        } = event
        else {
            return;
        };
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.push_back(EndedRun {
            at,
            job: *job,
            owner: owner.to_owned(),
            run: *run,
            result: *result,
            duration: *duration,
            exit_status: *exit_status,
        });
        while runs.len() > MAX_KEPT
            || runs
                .front()
                .is_some_and(|r| at.duration_since(r.at) > WINDOW)
        {
            runs.pop_front();
        }
    }

    /// The charts' and the failure list's reading of the hour before `now`, of the runs of
    /// the jobs whose owners `seen` accepts: one pass over what is kept.
    pub fn summary(&self, now: Timestamp, failures: usize, seen: &dyn Fn(&str) -> bool) -> Summary {
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Summary {
            per_minute: [Minute::default(); 60],
            durations: [0; DURATION_BOUNDS.len()],
            failures: Vec::new(),
        };
        // newest first, so the failures come out in the order they are shown
        for run in runs.iter().rev() {
            if now.duration_since(run.at) > WINDOW || !seen(&run.owner) {
                continue;
            }
            let ago = now.duration_since(run.at).as_secs().max(0) / 60;
            if let Some(slot) = 59usize.checked_sub(ago as usize) {
                match run.result {
                    RunResult::Completed => out.per_minute[slot].completed += 1,
                    _ => out.per_minute[slot].failed += 1,
                }
            }
            if let Some(duration) = run.duration {
                let secs = duration.as_secs_f64();
                let slot = DURATION_BOUNDS
                    .iter()
                    .position(|(bound, _)| secs < *bound)
                    .unwrap_or(DURATION_BOUNDS.len() - 1);
                out.durations[slot] += 1;
            }
            if run.result != RunResult::Completed && out.failures.len() < failures {
                out.failures.push(run.clone());
            }
        }
        out
    }
}

/// The last hour as the overview shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The last 60 minutes, oldest first: how many runs completed and failed in each.
    pub per_minute: [Minute; 60],
    /// How many runs fall in each of [`DURATION_BOUNDS`].
    pub durations: [u32; DURATION_BOUNDS.len()],
    /// The latest runs that did not complete, newest first.
    pub failures: Vec<EndedRun>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(job: u64, result: RunResult, secs: i64) -> RunEvent {
        RunEvent::Ended {
            job,
            run: 1,
            result,
            duration: Some(SignedDuration::from_secs(secs)),
            exit_status: Some(i32::from(result != RunResult::Completed)),
        }
    }

    #[test]
    fn runs_fall_in_their_minute_and_bucket_and_age_out() {
        let recent = RecentRuns::default();
        let start: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        let soon = |s| start + SignedDuration::from_secs(s);
        recent.observe(&ended(1, RunResult::Completed, 0), "alice", start);
        recent.observe(&ended(2, RunResult::Failed, 5), "alice", soon(61));
        recent.observe(&ended(3, RunResult::Killed, 700), "alice", soon(62));
        recent.observe(&ended(5, RunResult::Failed, 1), "bob", soon(63));
        let started = RunEvent::Started {
            job: 4,
            run: 1,
            delay: SignedDuration::ZERO,
        };
        recent.observe(&started, "alice", start);
        let now = soon(90);
        let alices = |owner: &str| owner == "alice";
        let hour = recent.summary(now, 10, &alices);
        let minutes = hour.per_minute;
        assert_eq!(
            minutes[58],
            Minute {
                completed: 1,
                failed: 0
            }
        );
        assert_eq!(
            minutes[59],
            Minute {
                completed: 0,
                failed: 2
            }
        );
        assert_eq!(hour.durations, [1, 0, 1, 0, 0, 1]);
        let failures: Vec<u64> = hour.failures.iter().map(|r| r.job).collect();
        assert_eq!(
            failures,
            [3, 2],
            "newest first, completed runs and bob's left out"
        );
        let everyone = |_: &str| true;
        assert_eq!(recent.summary(now, 10, &everyone).failures.len(), 3);
        let later = soon(3700);
        assert_eq!(
            recent.summary(later, 10, &everyone).failures.len(),
            0,
            "an hour on, all aged out"
        );
    }
}
