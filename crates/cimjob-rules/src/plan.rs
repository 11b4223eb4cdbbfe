//! How a job's scheduling properties become run times. Pure, like [`crate::schedule`].
//!
//! A job runs when its [`Plan`] says: at once (no schedule), at its ScheduledStartTime, or on
//! each occurrence of its calendar rule (RunMonth, RunDay, RunDayOfWeek, RunStartInterval in
//! its zone), never after UntilTime, JobRunTimes times in all (0 = no limit). Without a
//! calendar rule, the runs of a recurring job follow one another.
//!
//! ```
//! use cimjob_rules::plan::Plan;
//! use cimjob_rules::model::Job;
//! let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
//! let job = Job::new(1, "alice", now);
//! let plan = Plan::of(&job, &jiff::tz::TimeZone::UTC).unwrap();
//! assert_eq!(plan.first_run(now), Some(now), "no schedule: at once");
//! ```

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::model::value_maps::LocalOrUtcTime;
use crate::model::{Job, PropertyError, PropertyErrorKind};
use crate::schedule::{calendar_rule, resolve_time, CalendarRule, ScheduleError, ScheduleFields};

/// The names of the properties a [`Plan`] is made from: changing one re-plans the job.
pub const SCHEDULE_PROPERTIES: &[&str] = &[
    "ScheduledStartTime",
    "JobRunTimes",
    "RunMonth",
    "RunDay",
    "RunDayOfWeek",
    "RunStartInterval",
    "LocalOrUtcTime",
    "UntilTime",
    "TimeZone",
    "MissedRunPolicy",
];

/// When a job runs, derived from its properties.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The calendar rule, if any of RunMonth, RunDay, RunDayOfWeek, RunStartInterval is set.
    pub rule: Option<CalendarRule>,
    /// ScheduledStartTime resolved: no run before it.
    pub earliest: Option<Timestamp>,
    /// UntilTime resolved: no run after it (`None` = for ever).
    pub until: Option<Timestamp>,
    /// JobRunTimes (0 = unlimited).
    pub runs: u32,
}

impl Plan {
    /// Reads and checks the job's scheduling properties together; the error names the
    /// property that is wrong.
    pub fn of(job: &Job, service_zone: &TimeZone) -> Result<Plan, ScheduleError> {
        let fields = ScheduleFields {
            run_month: job.run_month,
            run_day: job.run_day,
            run_day_of_week: job.run_day_of_week,
            run_start_interval: job.run_start_interval.as_ref(),
            local_or_utc_time: job.local_or_utc_time.map(LocalOrUtcTime::number),
            time_zone: job.time_zone.as_deref(),
        };
        let rule = calendar_rule(&fields, service_zone)?;
        let earliest = match &job.scheduled_start_time {
            Some(t) if t.is_zero() => None,
            Some(t) => resolve_time("ScheduledStartTime", t, job.time_submitted)?,
            None => None,
        };
        let until = match &job.until_time {
            Some(t) => resolve_time("UntilTime", t, job.time_submitted)?,
            None => None,
        };
        Ok(Plan {
            rule,
            earliest,
            until,
            runs: job.job_run_times,
        })
    }

    /// Reads the plan of a job a client is creating or changing at `now`: as [`Plan::of`],
    /// and the job must still have a run to come.
    pub fn checked(
        job: &Job,
        service_zone: &TimeZone,
        now: Timestamp,
    ) -> Result<Plan, PropertyError> {
        let invalid = |property: &str, message: String| PropertyError {
            property: property.to_string(),
            kind: PropertyErrorKind::InvalidValue,
            message,
        };
        let plan = Plan::of(job, service_zone).map_err(|e| invalid(e.property, e.message))?;
        if let Some(until) = plan.until {
            if until < job.time_submitted {
                return Err(invalid(
                    "UntilTime",
                    format!(
                        "UntilTime {until} is before the job was submitted ({})",
                        job.time_submitted
                    ),
                ));
            }
            if job.occurrences == 0 && plan.first_run(now).is_none() {
                return Err(invalid(
                    "UntilTime",
                    format!(
                        "UntilTime {until} comes before the job's first run: it would never run"
                    ),
                ));
            }
        }
        Ok(plan)
    }

    /// Whether the job runs more than once.
    pub fn is_recurring(&self) -> bool {
        self.runs != 1
    }

    /// Whether another run may start after `done` occurrences.
    pub fn runs_left(&self, done: u32) -> bool {
        self.runs == 0 || done < self.runs
    }

    /// When the first run is due, seen at `now` (`now` itself when it is due already);
    /// `None` if UntilTime comes first.
    pub fn first_run(&self, now: Timestamp) -> Option<Timestamp> {
        let from = self.earliest.map_or(now, |e| e.max(now));
        let at = match &self.rule {
            // an occurrence exactly at `from` counts
            Some(rule) => rule.next_run(from - SignedDuration::from_micros(1))?,
            None => from,
        };
        self.before_until(at)
    }

    /// When the next occurrence after `after` is due: the rule's next one, or `after` itself
    /// for a recurring job without a rule (its runs follow one another); `None` after UntilTime.
    pub fn next_run(&self, after: Timestamp) -> Option<Timestamp> {
        let from = self.earliest.map_or(after, |e| e.max(after));
        let at = match &self.rule {
            Some(rule) => rule.next_run(from)?,
            None => from,
        };
        self.before_until(at)
    }

    /// Up to `n` coming runs after `now`, for people.
    pub fn upcoming(&self, now: Timestamp, n: usize) -> Vec<Timestamp> {
        match &self.rule {
            Some(rule) => {
                let from = self.earliest.map_or(now, |e| e.max(now));
                rule.upcoming(from, n)
                    .into_iter()
                    .filter_map(|t| self.before_until(t))
                    .collect()
            }
            None => self.first_run(now).into_iter().collect(),
        }
    }

    fn before_until(&self, at: Timestamp) -> Option<Timestamp> {
        match self.until {
            Some(until) if at > until => None,
            _ => Some(at),
        }
    }
}
