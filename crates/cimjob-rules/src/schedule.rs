//! When a scheduled job runs next: CIM_Job's calendar properties read as a rule. Pure: no
//! I/O, no clock (the current time is always a parameter), deterministic.
//!
//! CIM_Job describes a recurring schedule with four properties and says how to read them:
//!
//! | property | meaning | unset |
//! |---|---|---|
//! | RunMonth | 0 = January … 11 = December | every month |
//! | RunDay | 1..=31 from the start of the month, -1..=-31 from its end (-1 = last day) | every day |
//! | RunDayOfWeek | 0 = exactly RunDay; 1 = Sunday … 7 = Saturday on or after RunDay; -1 … -7 on or before it | exactly RunDay |
//! | RunStartInterval | time after midnight (an interval) | midnight |
//!
//! read in UTC when LocalOrUtcTime is 2, otherwise in the job's `TimeZone` or the service's
//! zone (README, "Scheduling", and "Our reading of the standard"). [`calendar_rule`] checks the raw values
//! together and yields a [`CalendarRule`]; [`CalendarRule::next_run`] answers "when next?".
//! [`resolve_time`] turns ScheduledStartTime and UntilTime (absolute, an interval counted from
//! submission, or "for ever") into an instant.
//!
//! ```
//! use cimjob_rules::schedule::{calendar_rule, ScheduleFields};
//! use jiff::{tz::TimeZone, Timestamp};
//!
//! // The last Sunday of March, at 02:30 local time in New York.
//! let start = cim::CimDateTime::parse("00000000023000.000000:000")?;
//! let fields = ScheduleFields {
//!     run_month: Some(2),
//!     run_day: Some(-1),
//!     run_day_of_week: Some(-1),
//!     run_start_interval: Some(&start),
//!     time_zone: Some("America/New_York"),
//!     ..Default::default()
//! };
//! let rule = calendar_rule(&fields, &TimeZone::UTC)?.expect("a calendar job");
//! let after: Timestamp = "2027-01-01T00:00:00Z".parse()?;
//! assert_eq!(rule.next_run(after).unwrap().to_string(), "2027-03-28T06:30:00Z");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod expression;

pub use expression::CalendarExpression;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Years after which the Gregorian calendar repeats itself exactly, weekdays included
/// (400 years are 146 097 days, a whole number of weeks). A rule that names no date in one
/// such cycle names none ever.
const GREGORIAN_CYCLE_YEARS: i32 = 400;

/// How many months [`CalendarRule::next_run`] looks at: one full Gregorian cycle, plus the
/// month in progress and the one before it (a run from the previous local day can still be
/// ahead; see `next_run`).
const SEARCH_MONTHS: i32 = GREGORIAN_CYCLE_YEARS * 12 + 2;

/// The length of a day, the exclusive upper bound of RunStartInterval.
const DAY: SignedDuration = SignedDuration::from_secs(86_400);

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A calendar rule from CIM_Job's RunMonth, RunDay, RunDayOfWeek, RunStartInterval and the
/// zone they are read in.
///
/// It exists so that the engine, `cimjob show` and the tests ask one value "when next?"
/// instead of re-reading four nullable properties. Build it with [`calendar_rule`], which
/// checks the client's values; the fields are public so a rule can also be written down
/// directly (in which case [`CalendarRule::next_run`] copes with rules that never match by
/// returning `None`).
///
/// Each month has either no run, one run (on [`CalendarRule::day_in_month`]), or, when no
/// day is constrained, a run every day. A run happens at `start` local time on its day, in
/// `zone`; a local time skipped by a daylight-saving gap is moved forward by the gap's
/// length, and one that happens twice runs at the earlier instant, once.
///
/// ```
/// use cimjob_rules::schedule::CalendarRule;
/// use jiff::{tz::TimeZone, SignedDuration, Timestamp};
///
/// // The 31st of every month, at midnight UTC: April has none.
/// let rule = CalendarRule {
///     month: None,
///     day: Some(31),
///     day_of_week: None,
///     start: SignedDuration::ZERO,
///     zone: TimeZone::UTC,
/// };
/// let after: Timestamp = "2027-03-31T00:00:00Z".parse()?;
/// assert_eq!(rule.next_run(after).unwrap().to_string(), "2027-05-31T00:00:00Z");
/// # Ok::<(), jiff::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarRule {
    /// RunMonth: 0..=11 (0 = January); `None` = every month.
    pub month: Option<u8>,
    /// RunDay: -31..=31, positive from the start of the month, negative from its end
    /// (-1 = last day); `None` (or 0 together with a weekday) = no day constraint.
    pub day: Option<i8>,
    /// RunDayOfWeek: -7..=7 (1 = Sunday … 7 = Saturday; negative = on or before RunDay;
    /// 0 = exactly RunDay).
    pub day_of_week: Option<i8>,
    /// RunStartInterval: time after midnight, `0 <= start < 24h`; midnight when unset.
    pub start: SignedDuration,
    /// The zone the rule is read in: UTC when LocalOrUtcTime = 2, otherwise the job's
    /// TimeZone or the service's zone.
    pub zone: TimeZone,
}

/// Which days of one month a rule runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MonthRuns {
    /// The month has no run (wrong month, or the day asked for does not exist in it).
    NoRun,
    /// One run, on this day of the month.
    Day(i8),
    /// No day constraint: every day of the month, up to this many.
    EveryDay(i8),
}

impl CalendarRule {
    /// The first run strictly after `after`, or `None` if the rule names no date.
    ///
    /// "Strictly after" lets a caller ask again with the run it just made and get the next
    /// one, never the same one twice.
    ///
    /// **Bound of the search**: one full 400-year Gregorian cycle of months (4 802 months,
    /// starting the month before `after`'s local date). The calendar repeats exactly every
    /// 400 years, weekdays included, so a rule with no run in that window has none at all:
    /// `None` means "never", not "not soon". `None` is also returned when `start` is outside
    /// `0..24h`, or when the next run would lie past jiff's last representable instant
    /// (the year 9999). [`calendar_rule`] refuses rules that never match, so for a rule it
    /// built, `None` only happens near the year 9999.
    ///
    /// ```
    /// use cimjob_rules::schedule::CalendarRule;
    /// use jiff::{tz::TimeZone, SignedDuration, Timestamp};
    ///
    /// // 29 February only: from the 2028 one, the next is in 2032.
    /// let rule = CalendarRule {
    ///     month: Some(1),
    ///     day: Some(29),
    ///     day_of_week: None,
    ///     start: SignedDuration::ZERO,
    ///     zone: TimeZone::UTC,
    /// };
    /// let leap_day: Timestamp = "2028-02-29T00:00:00Z".parse()?;
    /// assert_eq!(rule.next_run(leap_day).unwrap().to_string(), "2032-02-29T00:00:00Z");
    /// # Ok::<(), jiff::Error>(())
    /// ```
    pub fn next_run(&self, after: Timestamp) -> Option<Timestamp> {
        let start = start_time(self.start)?;
        // Start one local day early: a run whose wall-clock time falls in a gap is moved
        // forward, possibly past midnight, so the previous day's run can still be ahead.
        let first_day = self.zone.to_datetime(after).date().yesterday().ok()?;
        let (year0, month0) = (i32::from(first_day.year()), i32::from(first_day.month()));
        for k in 0..SEARCH_MONTHS {
            let index = year0 * 12 + (month0 - 1) + k;
            let year = i16::try_from(index.div_euclid(12)).ok()?;
            let month = (index.rem_euclid(12) + 1) as i8;
            let days = match self.month_runs(year, month) {
                MonthRuns::NoRun => continue,
                MonthRuns::Day(d) => d..=d,
                MonthRuns::EveryDay(dim) => 1..=dim,
            };
            for day in days {
                let date = Date::new(year, month, day).ok()?;
                if date < first_day {
                    continue;
                }
                let run = self
                    .zone
                    .to_ambiguous_timestamp(date.to_datetime(start))
                    .compatible()
                    .ok()?;
                if run > after {
                    return Some(run);
                }
            }
        }
        None
    }

    /// The next `n` runs strictly after `after`, in order (for `cimjob show`).
    ///
    /// Fewer than `n` when the rule runs out (see [`CalendarRule::next_run`]).
    ///
    /// ```
    /// use cimjob_rules::schedule::CalendarRule;
    /// use jiff::{tz::TimeZone, SignedDuration, Timestamp};
    ///
    /// // Daily at 02:00 UTC.
    /// let rule = CalendarRule {
    ///     month: None,
    ///     day: None,
    ///     day_of_week: None,
    ///     start: SignedDuration::from_hours(2),
    ///     zone: TimeZone::UTC,
    /// };
    /// let after: Timestamp = "2027-01-01T02:00:00Z".parse()?;
    /// let runs: Vec<String> = rule.upcoming(after, 2).iter().map(|t| t.to_string()).collect();
    /// assert_eq!(runs, ["2027-01-02T02:00:00Z", "2027-01-03T02:00:00Z"]);
    /// # Ok::<(), jiff::Error>(())
    /// ```
    pub fn upcoming(&self, after: Timestamp, n: usize) -> Vec<Timestamp> {
        let mut runs = Vec::with_capacity(n.min(1024));
        let mut last = after;
        while runs.len() < n {
            match self.next_run(last) {
                Some(run) => {
                    runs.push(run);
                    last = run;
                }
                None => break,
            }
        }
        runs
    }

    /// The day of month this rule runs on in (`year`, `month` 1..=12), or `None` if that
    /// month has no run.
    ///
    /// This is the rule's calendar words in one place: RunMonth picks the month, RunDay the
    /// anchor day (counted from the end when negative), RunDayOfWeek the weekday on or after
    /// (positive) or on or before (negative) the anchor, or the first / last such weekday of
    /// the month when there is no RunDay. A month that lacks the day asked for (the 31st of
    /// April, 30 February, an on-or-after weekday that would spill into the next month, an
    /// on-or-before that would fall before the 1st) has no run.
    ///
    /// A rule with no day constraint runs on every day of an allowed month; for it this
    /// returns the first, `Some(1)`. Use [`CalendarRule::runs_on`] to ask about one date.
    /// `None` too for a `month` outside 1..=12 or a year jiff cannot represent.
    ///
    /// ```
    /// use cimjob_rules::schedule::CalendarRule;
    /// use jiff::{tz::TimeZone, SignedDuration};
    ///
    /// // The Saturday on or before the 20th.
    /// let rule = CalendarRule {
    ///     month: None,
    ///     day: Some(20),
    ///     day_of_week: Some(-7),
    ///     start: SignedDuration::ZERO,
    ///     zone: TimeZone::UTC,
    /// };
    /// assert_eq!(rule.day_in_month(2027, 3), Some(20)); // 2027-03-20 is a Saturday
    /// assert_eq!(rule.day_in_month(2027, 4), Some(17));
    /// ```
    pub fn day_in_month(&self, year: i16, month: i8) -> Option<i8> {
        match self.month_runs(year, month) {
            MonthRuns::NoRun => None,
            MonthRuns::Day(d) => Some(d),
            MonthRuns::EveryDay(_) => Some(1),
        }
    }

    /// Whether the rule runs on this (local) date.
    ///
    /// The general form of [`CalendarRule::day_in_month`], which also covers rules that run
    /// every day.
    ///
    /// ```
    /// use cimjob_rules::schedule::CalendarRule;
    /// use jiff::{civil::date, tz::TimeZone, SignedDuration};
    ///
    /// // Every day of February.
    /// let rule = CalendarRule {
    ///     month: Some(1),
    ///     day: None,
    ///     day_of_week: None,
    ///     start: SignedDuration::ZERO,
    ///     zone: TimeZone::UTC,
    /// };
    /// assert!(rule.runs_on(date(2028, 2, 29)));
    /// assert!(!rule.runs_on(date(2028, 3, 1)));
    /// ```
    pub fn runs_on(&self, date: Date) -> bool {
        match self.month_runs(date.year(), date.month()) {
            MonthRuns::NoRun => false,
            MonthRuns::Day(d) => d == date.day(),
            MonthRuns::EveryDay(_) => true,
        }
    }

    fn month_runs(&self, year: i16, month: i8) -> MonthRuns {
        if let Some(m) = self.month {
            if i16::from(m) + 1 != i16::from(month) {
                return MonthRuns::NoRun;
            }
        }
        let Ok(first) = Date::new(year, month, 1) else {
            return MonthRuns::NoRun;
        };
        let dim = first.days_in_month();
        let day = self.day.unwrap_or(0);
        let weekday = self.day_of_week.unwrap_or(0);
        if weekday == 0 {
            // Exactly RunDay, or every day when there is no RunDay.
            return match day {
                0 => MonthRuns::EveryDay(dim),
                d => match anchor(d, dim) {
                    Some(a) => MonthRuns::Day(a),
                    None => MonthRuns::NoRun,
                },
            };
        }
        let Ok(target) = Weekday::from_sunday_one_offset(weekday.saturating_abs()) else {
            return MonthRuns::NoRun; // |RunDayOfWeek| > 7: no such weekday
        };
        let anchor_day = match day {
            // Without RunDay: the first (positive) or last (negative) such weekday.
            0 if weekday > 0 => 1,
            0 => dim,
            d => match anchor(d, dim) {
                Some(a) => a,
                None => return MonthRuns::NoRun,
            },
        };
        let anchor_weekday = first.weekday().wrapping_add(anchor_day - 1);
        let found = if weekday > 0 {
            anchor_day + anchor_weekday.until(target)
        } else {
            anchor_day - anchor_weekday.since(target)
        };
        if (1..=dim).contains(&found) {
            MonthRuns::Day(found)
        } else {
            MonthRuns::NoRun
        }
    }
}

/// The day RunDay names in a month of `dim` days (`-1` = the last), if the month has it.
fn anchor(day: i8, dim: i8) -> Option<i8> {
    let a = if day > 0 {
        day
    } else {
        dim.checked_add(1)?.checked_add(day)?
    };
    (1..=dim).contains(&a).then_some(a)
}

/// RunStartInterval as a wall-clock time, if it is within one day.
fn start_time(start: SignedDuration) -> Option<Time> {
    if start.is_negative() || start >= DAY {
        return None;
    }
    let secs = start.as_secs();
    Time::new(
        (secs / 3600) as i8,
        (secs % 3600 / 60) as i8,
        (secs % 60) as i8,
        start.subsec_nanos(),
    )
    .ok()
}

/// The raw CIM values a client gave for a job's calendar (any may be NULL), to be checked
/// together by [`calendar_rule`].
///
/// The properties depend on each other (RunDay 0 is fine with a weekday and meaningless
/// without one; RunDay 30 is fine except in February), so they are checked as one value
/// rather than one by one.
///
/// ```
/// use cimjob_rules::schedule::ScheduleFields;
///
/// // "The 15th of every month, in UTC".
/// let fields = ScheduleFields { run_day: Some(15), local_or_utc_time: Some(2), ..Default::default() };
/// assert!(fields.run_month.is_none());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ScheduleFields<'a> {
    /// RunMonth (uint8): 0 = January … 11 = December.
    pub run_month: Option<u8>,
    /// RunDay (sint8): -31..=31.
    pub run_day: Option<i8>,
    /// RunDayOfWeek (sint8): -7..=7.
    pub run_day_of_week: Option<i8>,
    /// RunStartInterval (datetime): an interval below one day.
    pub run_start_interval: Option<&'a cim::CimDateTime>,
    /// LocalOrUtcTime (uint16): 1 = Local Time, 2 = UTC Time. NULL reads as Local Time.
    pub local_or_utc_time: Option<u16>,
    /// TimeZone (our extension, string): an IANA zone name for "local".
    pub time_zone: Option<&'a str>,
}

/// Why a job's schedule values were refused: which property, and what was wrong with which
/// value.
///
/// The front ends turn it into CIM_ERR_INVALID_PARAMETER / a 400 naming `property`; the
/// message alone is enough for a user to fix the request.
///
/// ```
/// use cimjob_rules::schedule::{calendar_rule, ScheduleFields};
///
/// let fields = ScheduleFields { run_month: Some(12), ..Default::default() };
/// let err = calendar_rule(&fields, &jiff::tz::TimeZone::UTC).unwrap_err();
/// assert_eq!(err.property, "RunMonth");
/// assert_eq!(err.to_string(), "RunMonth 12 is out of range 0..=11 (0 = January)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScheduleError {
    /// The CIM property at fault, as the class spells it (`RunDay`, `UntilTime`, ...).
    pub property: &'static str,
    /// What was wrong: names the property, the value and what is allowed.
    pub message: String,
}

impl ScheduleError {
    fn new(property: &'static str, message: impl Into<String>) -> Self {
        ScheduleError {
            property,
            message: message.into(),
        }
    }
}

/// Checks a job's calendar values together and turns them into a [`CalendarRule`].
///
/// `Ok(None)` when RunMonth, RunDay, RunDayOfWeek and RunStartInterval are all NULL: the job
/// is not a calendar job (it runs when a slot is free, or at ScheduledStartTime).
/// LocalOrUtcTime and TimeZone are checked even then, since they also apply to UntilTime.
///
/// Refused, each with the property named: RunMonth above 11; RunDay outside -31..=31;
/// RunDayOfWeek outside -7..=7; RunDay 0 with RunDayOfWeek 0 or NULL (no day at all);
/// RunStartInterval that is a timestamp, has its days or hours asterisked, or is 24 h or
/// more (asterisked minutes, seconds or microseconds count as 0); LocalOrUtcTime other than
/// 1 or 2; a TimeZone that is not a known IANA zone; and a rule that names no date in any
/// year (30 February, the 31st of a 30-day month), checked over the full 400-year Gregorian
/// cycle.
///
/// The zone is UTC when LocalOrUtcTime is 2; otherwise (1 or NULL) the job's TimeZone, or
/// `service_zone` when it has none.
///
/// ```
/// use cimjob_rules::schedule::{calendar_rule, ScheduleFields};
/// use jiff::{tz::TimeZone, SignedDuration};
///
/// // "Daily at 02:00" is RunStartInterval alone.
/// let two = cim::CimDateTime::parse("00000000020000.000000:000")?;
/// let fields = ScheduleFields { run_start_interval: Some(&two), ..Default::default() };
/// let rule = calendar_rule(&fields, &TimeZone::UTC)?.unwrap();
/// assert_eq!(rule.start, SignedDuration::from_hours(2));
///
/// let feb30 = ScheduleFields { run_month: Some(1), run_day: Some(30), ..Default::default() };
/// assert_eq!(calendar_rule(&feb30, &TimeZone::UTC).unwrap_err().property, "RunDay");
/// assert_eq!(calendar_rule(&ScheduleFields::default(), &TimeZone::UTC)?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn calendar_rule(
    fields: &ScheduleFields<'_>,
    service_zone: &TimeZone,
) -> Result<Option<CalendarRule>, ScheduleError> {
    if let Some(m) = fields.run_month {
        if m > 11 {
            return Err(ScheduleError::new(
                "RunMonth",
                format!("RunMonth {m} is out of range 0..=11 (0 = January)"),
            ));
        }
    }
    if let Some(d) = fields.run_day {
        if !(-31..=31).contains(&d) {
            return Err(ScheduleError::new(
                "RunDay",
                format!(
                    "RunDay {d} is out of range -31..=31 (1 = first day of the month, \
                     -1 = last day)"
                ),
            ));
        }
    }
    if let Some(w) = fields.run_day_of_week {
        if !(-7..=7).contains(&w) {
            return Err(ScheduleError::new(
                "RunDayOfWeek",
                format!(
                    "RunDayOfWeek {w} is out of range -7..=7 (1 = Sunday … 7 = Saturday on or \
                     after RunDay, -1 … -7 on or before it, 0 = exactly RunDay)"
                ),
            ));
        }
    }
    let start = match fields.run_start_interval {
        None => SignedDuration::ZERO,
        Some(value) => start_interval(value)?,
    };
    let zone = schedule_zone(fields, service_zone)?;
    if fields.run_month.is_none()
        && fields.run_day.is_none()
        && fields.run_day_of_week.is_none()
        && fields.run_start_interval.is_none()
    {
        return Ok(None);
    }
    if fields.run_day == Some(0) && fields.run_day_of_week.unwrap_or(0) == 0 {
        return Err(ScheduleError::new(
            "RunDay",
            "RunDay 0 names no day: with RunDayOfWeek 0 (ExactDayOfMonth) or NULL, RunDay must \
             be 1..=31 or -31..=-1; leave RunDay NULL to run every day",
        ));
    }

    let rule = CalendarRule {
        month: fields.run_month,
        day: fields.run_day,
        day_of_week: fields.run_day_of_week,
        start,
        zone,
    };
    if !ever_runs(&rule) {
        return Err(never_error(&rule));
    }
    Ok(Some(rule))
}

/// The zone a job's local schedule times are read in: UTC when LocalOrUtcTime is 2,
/// otherwise (1 or NULL) the job's TimeZone, or `service_zone` when it has none. The CIM
/// calendar and the calendar expression share it, so both read "local" the same way.
///
/// ```
/// use cimjob_rules::schedule::{schedule_zone, ScheduleFields};
/// use jiff::tz::TimeZone;
/// let fields = ScheduleFields { time_zone: Some("Mars/Olympus"), ..Default::default() };
/// assert_eq!(schedule_zone(&fields, &TimeZone::UTC).unwrap_err().property, "TimeZone");
/// ```
pub fn schedule_zone(
    fields: &ScheduleFields<'_>,
    service_zone: &TimeZone,
) -> Result<TimeZone, ScheduleError> {
    let utc = match fields.local_or_utc_time {
        None | Some(1) => false,
        Some(2) => true,
        Some(v) => {
            return Err(ScheduleError::new(
                "LocalOrUtcTime",
                format!("LocalOrUtcTime {v} is not 1 (Local Time) or 2 (UTC Time)"),
            ))
        }
    };
    let job_zone = match fields.time_zone {
        None => None,
        Some(name) => Some(TimeZone::get(name).map_err(|e| {
            ScheduleError::new(
                "TimeZone",
                format!("TimeZone {name:?} is not a known IANA time zone: {e}"),
            )
        })?),
    };
    Ok(if utc {
        TimeZone::UTC
    } else {
        job_zone.unwrap_or_else(|| service_zone.clone())
    })
}

/// RepeatInterval as a duration: an interval, fully significant, of one second or more.
///
/// ```
/// use cimjob_rules::schedule::repeat_interval;
/// let fifteen = cim::CimDateTime::parse("00000000001500.000000:000")?;
/// assert_eq!(repeat_interval(&fifteen)?.as_secs(), 900);
/// let zero = cim::CimDateTime::parse("00000000000000.000000:000")?;
/// assert_eq!(repeat_interval(&zero).unwrap_err().property, "RepeatInterval");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn repeat_interval(value: &cim::CimDateTime) -> Result<SignedDuration, ScheduleError> {
    let err =
        |why: &str| ScheduleError::new("RepeatInterval", format!("RepeatInterval {value} {why}"));
    if !value.is_interval() {
        return Err(err(
            "is a timestamp; it must be an interval, e.g. 00000000001500.000000:000 for every \
             15 minutes",
        ));
    }
    if value.significant_digits() < 20 {
        return Err(err("has asterisked (insignificant) fields; an interval to repeat at must be fully significant"));
    }
    match value.to_duration() {
        Ok(d) if d >= SignedDuration::from_secs(1) => Ok(d),
        _ => Err(err(
            "is below one second; the shortest is 00000000000001.000000:000",
        )),
    }
}

/// RunStartInterval as a time after midnight.
fn start_interval(value: &cim::CimDateTime) -> Result<SignedDuration, ScheduleError> {
    let err = |why: &str| {
        ScheduleError::new(
            "RunStartInterval",
            format!("RunStartInterval {value} {why}"),
        )
    };
    if !value.is_interval() {
        return Err(err(
            "is a timestamp; it must be an interval giving the time after midnight, \
             e.g. 00000000020000.000000:000 for 02:00",
        ));
    }
    // Digits 0..8 are the days, 8..10 the hours.
    if value.significant_digits() < 10 {
        return Err(err(
            "has its days or hours asterisked; the time after midnight must give at least \
             the hour",
        ));
    }
    match value.to_duration() {
        Ok(d) if d < DAY => Ok(d),
        _ => Err(err(
            "is 24 hours or more; it must be a time after midnight, below \
             00000001000000.000000:000",
        )),
    }
}

/// Whether the rule names at least one date. One Gregorian cycle decides it for all years.
fn ever_runs(rule: &CalendarRule) -> bool {
    (2000..2000 + GREGORIAN_CYCLE_YEARS as i16)
        .any(|year| (1..=12).any(|month| rule.month_runs(year, month) != MonthRuns::NoRun))
}

fn never_error(rule: &CalendarRule) -> ScheduleError {
    let day = rule.day.unwrap_or(0);
    let mut what = format!("RunDay {day}");
    if let Some(w) = rule.day_of_week.filter(|&w| w != 0) {
        let name = WEEKDAY_NAMES[usize::from(w.unsigned_abs() - 1)];
        let side = if w > 0 { "on or after" } else { "on or before" };
        what.push_str(&format!(" with RunDayOfWeek {w} ({name} {side} it)"));
    }
    let message = match rule.month {
        Some(m) => {
            // 2000 is a leap year, so this is the most days the month ever has.
            let most = Date::new(2000, m as i8 + 1, 1)
                .map(|d| d.days_in_month())
                .unwrap_or(31);
            format!(
                "{what} never occurs in RunMonth {m} ({}), which has at most {most} days; \
                 no date in any year matches",
                MONTH_NAMES[usize::from(m)]
            )
        }
        None => format!("{what} never occurs; no date in any year matches"),
    };
    ScheduleError::new("RunDay", message)
}

/// ScheduledStartTime or UntilTime as an instant: an absolute time as written, an interval
/// counted from `submitted`, and `None` for the "for ever" spellings.
///
/// The three "for ever" spellings the schema versions use are all accepted (README,
/// "Our reading of the standard"): all nines (`99999999999999.999999:000`, CIM 2.41 and earlier), the infinite
/// duration `99999999235959.000000:000` and the infinite future `99991231115959.999999-720`.
/// A CIM timestamp carries its own UTC offset, so LocalOrUtcTime does not change the instant
/// it names.
///
/// Refused, naming `property`: asterisked (imprecise) values, since a start or an end needs
/// an instant; the all-zero timestamp ("time unknown"); and instants jiff cannot represent.
///
/// ```
/// use cim::CimDateTime;
/// use cimjob_rules::schedule::resolve_time;
/// use jiff::Timestamp;
///
/// let submitted: Timestamp = "2027-01-01T12:00:00Z".parse()?;
/// let in_a_day = CimDateTime::parse("00000001000000.000000:000")?;
/// assert_eq!(
///     resolve_time("UntilTime", &in_a_day, submitted)?.unwrap().to_string(),
///     "2027-01-02T12:00:00Z",
/// );
/// let forever = CimDateTime::parse("99991231115959.999999-720")?;
/// assert_eq!(resolve_time("UntilTime", &forever, submitted)?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_time(
    property: &'static str,
    value: &cim::CimDateTime,
    submitted: Timestamp,
) -> Result<Option<Timestamp>, ScheduleError> {
    if value.is_forever() {
        return Ok(None);
    }
    let err = |why: String| ScheduleError::new(property, format!("{property} {value} {why}"));
    if value.significant_digits() < 20 {
        return Err(err(
            "has asterisked (insignificant) fields; a start or end time must be fully \
             significant"
                .into(),
        ));
    }
    if value.is_interval() {
        let duration = value
            .to_duration()
            .map_err(|e| err(format!("is unusable: {e}")))?;
        return submitted.checked_add(duration).map(Some).map_err(|e| {
            err(format!(
                "is too far after the submission time {submitted}: {e}"
            ))
        });
    }
    if value.is_zero() {
        return Err(err(
            "is the all-zero timestamp (\"time unknown\"), which names no instant".into(),
        ));
    }
    value
        .to_timestamp()
        .map(Some)
        .map_err(|e| err(format!("is unusable: {e}")))
}
