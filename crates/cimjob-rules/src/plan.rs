//! How a job's scheduling properties become run times. Pure, like [`crate::schedule`].
//!
//! A job runs when its [`Plan`] says: at once (no schedule), at its ScheduledStartTime, or on
//! each occurrence of its [`Recurrence`] (CIM_Job's calendar rule, our RepeatInterval, or our
//! CalendarExpression; one of them at most), never after UntilTime, JobRunTimes times in all
//! (0 = no limit). Without a recurrence, the runs of a recurring job follow one another.
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
use crate::schedule::{
    calendar_rule, repeat_interval, resolve_time, schedule_zone, CalendarExpression, CalendarRule,
    ScheduleError, ScheduleFields,
};

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
    "RepeatInterval",
    "CalendarExpression",
];

/// The CIM calendar's properties: any of them set makes a [`CalendarRule`].
const CIM_CALENDAR: [&str; 4] = ["RunMonth", "RunDay", "RunDayOfWeek", "RunStartInterval"];

/// How a job recurs on its own times: one of three ways, never two.
#[derive(Clone, Debug, PartialEq)]
pub enum Recurrence {
    /// CIM_Job's calendar: RunMonth, RunDay, RunDayOfWeek, RunStartInterval.
    Calendar(CalendarRule),
    /// CalendarExpression (our extension), read in its zone.
    Expression(CalendarExpression, TimeZone),
    /// RepeatInterval (our extension): every `interval` from `anchor` (ScheduledStartTime,
    /// else the submission), so the runs keep to their grid however long each one takes.
    Every {
        /// The first occurrence.
        anchor: Timestamp,
        /// The time between occurrences, at least a second.
        interval: SignedDuration,
    },
}

impl Recurrence {
    /// The first occurrence strictly after `after`; `None` when there is none.
    ///
    /// ```
    /// use cimjob_rules::plan::Recurrence;
    /// use jiff::{SignedDuration, Timestamp};
    /// let anchor: Timestamp = "2027-01-01T00:00:00Z".parse()?;
    /// let every = Recurrence::Every { anchor, interval: SignedDuration::from_mins(15) };
    /// let after: Timestamp = "2027-01-01T00:15:00Z".parse()?;
    /// assert_eq!(every.next_run(after).unwrap().to_string(), "2027-01-01T00:30:00Z");
    /// # Ok::<(), jiff::Error>(())
    /// ```
    pub fn next_run(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Recurrence::Calendar(rule) => rule.next_run(after),
            Recurrence::Expression(e, zone) => e.next_run(after, zone),
            Recurrence::Every { anchor, interval } => {
                if after < *anchor {
                    return Some(*anchor);
                }
                let step = interval.as_nanos();
                let k = after.duration_since(*anchor).as_nanos() / step + 1;
                let offset = SignedDuration::try_from_nanos_i128(k.checked_mul(step)?)?;
                anchor.checked_add(offset).ok()
            }
        }
    }

    /// The occurrences strictly after `after`, `n` at most.
    pub fn upcoming(&self, after: Timestamp, n: usize) -> Vec<Timestamp> {
        std::iter::successors(self.next_run(after), |t| self.next_run(*t))
            .take(n)
            .collect()
    }
}

/// When a job runs, derived from its properties.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// How the job recurs on its own times, if it does.
    pub recurrence: Option<Recurrence>,
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
        let earliest = match &job.scheduled_start_time {
            Some(t) if t.is_zero() => None,
            Some(t) => resolve_time("ScheduledStartTime", t, job.time_submitted)?,
            None => None,
        };
        let until = match &job.until_time {
            Some(t) => resolve_time("UntilTime", t, job.time_submitted)?,
            None => None,
        };
        let way = one_way_to_recur(job)?;
        // checks LocalOrUtcTime and TimeZone whatever the way (they apply to UntilTime too)
        let calendar = calendar_rule(&fields, service_zone)?;
        let recurrence = match way {
            Some("RepeatInterval") => {
                let every = job.repeat_interval.as_ref().expect("set, as checked");
                Some(Recurrence::Every {
                    anchor: earliest.unwrap_or(job.time_submitted),
                    interval: repeat_interval(every)?,
                })
            }
            Some("CalendarExpression") => {
                let text = job.calendar_expression.as_deref().expect("set, as checked");
                Some(Recurrence::Expression(
                    CalendarExpression::parse(text)?,
                    schedule_zone(&fields, service_zone)?,
                ))
            }
            _ => calendar.map(Recurrence::Calendar),
        };
        Ok(Plan {
            recurrence,
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
        if job.occurrences == 0 && plan.until.is_none() && plan.first_run(now).is_none() {
            let property = match &plan.recurrence {
                Some(Recurrence::Expression(..)) => "CalendarExpression",
                Some(Recurrence::Every { .. }) => "RepeatInterval",
                _ => "RunDay",
            };
            return Err(invalid(
                property,
                format!("{property} names no time after {now:.0}: the job would never run"),
            ));
        }
        Ok(plan)
    }

    /// Whether the job waits for its own times between runs (rather than running them one
    /// after another).
    pub fn is_timed(&self) -> bool {
        self.recurrence.is_some()
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
        let at = match &self.recurrence {
            // an occurrence exactly at `from` counts
            Some(r) => r.next_run(from - SignedDuration::from_nanos(1))?,
            None => from,
        };
        self.before_until(at)
    }

    /// When the next occurrence after `after` is due: the rule's next one, or `after` itself
    /// for a recurring job without a rule (its runs follow one another); `None` after UntilTime.
    pub fn next_run(&self, after: Timestamp) -> Option<Timestamp> {
        let at = match &self.recurrence {
            // an occurrence exactly at a ScheduledStartTime still ahead counts
            Some(r) => match self.earliest.filter(|e| *e > after) {
                Some(e) => r.next_run(e - SignedDuration::from_nanos(1))?,
                None => r.next_run(after)?,
            },
            None => self.earliest.map_or(after, |e| e.max(after)),
        };
        self.before_until(at)
    }

    /// Up to `n` coming runs after `now`, for people.
    pub fn upcoming(&self, now: Timestamp, n: usize) -> Vec<Timestamp> {
        match &self.recurrence {
            Some(r) => {
                let from = self.earliest.map_or(now, |e| e.max(now));
                r.upcoming(from - SignedDuration::from_nanos(1), n)
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

/// Which of the three ways to recur the job uses (the property that says it), refusing two:
/// "every 15 minutes" and "at 02:00" together have no one meaning.
fn one_way_to_recur(job: &Job) -> Result<Option<&'static str>, ScheduleError> {
    let cim = [
        job.run_month.is_some(),
        job.run_day.is_some(),
        job.run_day_of_week.is_some(),
        job.run_start_interval.is_some(),
    ];
    let mut set: Vec<&'static str> = CIM_CALENDAR
        .iter()
        .zip(cim)
        .filter_map(|(name, on)| on.then_some(*name))
        .collect();
    let extensions = [
        ("RepeatInterval", job.repeat_interval.is_some()),
        ("CalendarExpression", job.calendar_expression.is_some()),
    ];
    let ours: Vec<&'static str> = extensions
        .iter()
        .filter_map(|(name, on)| on.then_some(*name))
        .collect();
    match ours[..] {
        [] => Ok(None),
        [one] if set.is_empty() => Ok(Some(one)),
        [first, ..] => {
            set.extend(ours.iter().skip(1));
            let others = set.join(", ");
            Err(ScheduleError {
                property: first,
                message: format!(
                    "{first} and {others} both say when the job recurs; a job has one way to \
                     recur: set {first} alone, or the CIM calendar (RunMonth, RunDay, \
                     RunDayOfWeek, RunStartInterval) alone"
                ),
            })
        }
    }
}
