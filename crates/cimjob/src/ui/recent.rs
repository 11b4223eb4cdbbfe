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

    /// The runs of the jobs whose owners `seen` accepts that ended within the hour before
    /// `now`, oldest first.
    fn within_hour(&self, now: Timestamp, seen: &dyn Fn(&str) -> bool) -> Vec<EndedRun> {
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.iter()
            .filter(|r| now.duration_since(r.at) <= WINDOW && seen(&r.owner))
            .cloned()
            .collect()
    }

    /// The last 60 minutes before `now`, oldest first: how many runs (of the jobs whose
    /// owners `seen` accepts) completed and failed.
    pub fn per_minute(&self, now: Timestamp, seen: &dyn Fn(&str) -> bool) -> [Minute; 60] {
        let mut minutes = [Minute::default(); 60];
        for run in self.within_hour(now, seen) {
            let ago = now.duration_since(run.at).as_secs().max(0) / 60;
            let Some(slot) = 59usize.checked_sub(ago as usize) else {
                continue;
            };
            match run.result {
                RunResult::Completed => minutes[slot].completed += 1,
                _ => minutes[slot].failed += 1,
            }
        }
        minutes
    }

    /// How many of the hour's runs (as for [`RecentRuns::per_minute`]) fall in each of
    /// [`DURATION_BOUNDS`].
    pub fn durations(
        &self,
        now: Timestamp,
        seen: &dyn Fn(&str) -> bool,
    ) -> [u32; DURATION_BOUNDS.len()] {
        let mut buckets = [0; DURATION_BOUNDS.len()];
        for duration in self
            .within_hour(now, seen)
            .iter()
            .filter_map(|r| r.duration)
        {
            let secs = duration.as_secs_f64();
            let slot = DURATION_BOUNDS
                .iter()
                .position(|(bound, _)| secs < *bound)
                .unwrap_or(DURATION_BOUNDS.len() - 1);
            buckets[slot] += 1;
        }
        buckets
    }

    /// The hour's latest `n` runs (as for [`RecentRuns::per_minute`]) that did not complete,
    /// newest first.
    pub fn failures(&self, now: Timestamp, n: usize, seen: &dyn Fn(&str) -> bool) -> Vec<EndedRun> {
        let mut failed: Vec<EndedRun> = self
            .within_hour(now, seen)
            .into_iter()
            .filter(|r| r.result != RunResult::Completed)
            .collect();
        failed.reverse();
        failed.truncate(n);
        failed
    }
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
        let minutes = recent.per_minute(now, &alices);
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
        assert_eq!(recent.durations(now, &alices), [1, 0, 1, 0, 0, 1]);
        let failures: Vec<u64> = recent
            .failures(now, 10, &alices)
            .iter()
            .map(|r| r.job)
            .collect();
        assert_eq!(
            failures,
            [3, 2],
            "newest first, completed runs and bob's left out"
        );
        let everyone = |_: &str| true;
        assert_eq!(recent.failures(now, 10, &everyone).len(), 3);
        let later = soon(3700);
        assert_eq!(
            recent.failures(later, 10, &everyone).len(),
            0,
            "an hour on, all aged out"
        );
    }
}
