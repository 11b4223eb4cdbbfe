//! Calendar expressions in systemd's OnCalendar syntax (systemd.time(7), "Calendar Events"):
//! `Mon,Thu 02:00`, `Mon..Fri 18:30`, `hourly`, `*:0/15`, `*-*~1 23:00` (the last day of each
//! month). Pure, like the rest of [`crate::schedule`].
//!
//! Why this syntax and not cron's: it is the one a Linux operator already writes in timer
//! units, it reads as a date and a time (`*-*-01 04:00`) rather than five positional fields,
//! it has seconds and "days from the end of the month", and its weekday and day-of-month
//! parts combine with AND (cron's OR of the two surprises people). And systemd itself is a
//! second implementation to check ours against (`systemd-analyze calendar`, in the tests).
//! No well-kept Rust crate parses it (the cron crates take cron's syntax and semantics), so
//! the parser is here, small.
//!
//! What is taken, exactly as systemd 252 takes it:
//! - `[WEEKDAYS] [DATE] [TIME]`, at least one of them. WEEKDAYS: names (`Mon` or `Monday`,
//!   any case) in a comma list, with ranges `Mon..Fri`. DATE: `[YEAR-]MONTH-DAY`, or
//!   `[YEAR-]MONTH~DAY` to count DAY from the month's end (`~1` = the last day); a year is
//!   1970 to 2199, and two digits are 19YY from 70, else 20YY. TIME: `HOUR:MINUTE[:SECOND]`. A missing DATE is every day, a missing TIME
//!   midnight, a missing SECOND 0.
//! - Each date or time field: `*`, or a comma list of `N`, `A..B` and `N/STEP` (N, N+STEP, …).
//! - The shorthands `minutely`, `hourly`, `daily`, `weekly` (Monday), `monthly`, `yearly` /
//!   `annually`, `quarterly`, `semiannually`.
//!
//! What is refused, with why: a time zone after the time (the job's TimeZone and
//! LocalOrUtcTime say the zone, as for the CIM calendar; one place only), fractional seconds,
//! and an expression that names no instant at all (`2027-02-29`).
//!
//! DST, as for the CIM calendar ([`super::CalendarRule`]): the expression is read in the
//! job's zone; a local time skipped by a gap runs at the same distance after the gap starts
//! (02:30 in a 02:00–03:00 gap runs at 03:30), once, where systemd skips it; a local time that
//! happens twice runs at the first of the two instants, once, as in systemd.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use super::{ScheduleError, GREGORIAN_CYCLE_YEARS};

/// The property a calendar expression is written in.
pub const PROPERTY: &str = "CalendarExpression";

/// The earliest and latest year an expression may name: systemd's own limits.
const YEARS: (i16, i16) = (1970, 2199);

/// A parsed calendar expression: which local date-times it names.
///
/// ```
/// use cimjob_rules::schedule::CalendarExpression;
/// use jiff::{tz::TimeZone, Timestamp};
///
/// let e = CalendarExpression::parse("Mon,Thu 02:00")?;
/// let after: Timestamp = "2027-01-01T00:00:00Z".parse()?; // a Friday
/// let next = e.next_run(after, &TimeZone::UTC).unwrap();
/// assert_eq!(next.to_string(), "2027-01-04T02:00:00Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarExpression {
    /// The text as the client wrote it, trimmed: what GetInstance gives back.
    text: String,
    /// Bit 0 = Monday … bit 6 = Sunday.
    weekdays: u64,
    /// `None` = every year.
    years: Option<Vec<Item>>,
    /// Bits 1..=12.
    months: u64,
    /// Bits 1..=31: days counted from the start of the month, or from its end (`~`).
    days: u64,
    from_end: bool,
    /// Bits 0..=23, 0..=59, 0..=59.
    hours: u64,
    minutes: u64,
    seconds: u64,
}

/// One item of a field's comma list: `N`, `A..B` or `N/STEP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Range(i32, i32),
    Every(i32, i32),
}

impl Item {
    fn contains(self, v: i32) -> bool {
        match self {
            Item::Range(a, b) => (a..=b).contains(&v),
            Item::Every(start, step) => v >= start && (v - start) % step == 0,
        }
    }
}

impl CalendarExpression {
    /// Reads an expression; the error names [`PROPERTY`], the expression and the part at fault.
    ///
    /// ```
    /// use cimjob_rules::schedule::CalendarExpression;
    /// let err = CalendarExpression::parse("Mon 25:00").unwrap_err();
    /// assert_eq!(err.property, "CalendarExpression");
    /// assert!(err.message.contains("hour 25"), "{}", err.message);
    /// ```
    pub fn parse(text: &str) -> Result<CalendarExpression, ScheduleError> {
        let text = text.trim();
        let err = |why: String| {
            ScheduleError::new(
                PROPERTY,
                format!("CalendarExpression {text:?} {why} (systemd OnCalendar syntax, e.g. \"Mon,Thu 02:00\", \"*:0/15\", \"hourly\")"),
            )
        };
        let spelled = match text.to_ascii_lowercase().as_str() {
            "minutely" => "*-*-* *:*:00",
            "hourly" => "*-*-* *:00:00",
            "daily" => "*-*-* 00:00:00",
            "weekly" => "Mon *-*-* 00:00:00",
            "monthly" => "*-*-01 00:00:00",
            "yearly" | "annually" => "*-01-01 00:00:00",
            "quarterly" => "*-01,04,07,10-01 00:00:00",
            "semiannually" => "*-01,07-01 00:00:00",
            _ => text,
        };
        let mut parts = spelled.split_whitespace().peekable();
        if parts.peek().is_none() {
            return Err(err("is empty".into()));
        }
        let mut e = CalendarExpression {
            text: text.to_string(),
            weekdays: 0b111_1111,
            years: None,
            months: bits(1, 12),
            days: bits(1, 31),
            from_end: false,
            hours: 1,
            minutes: 1,
            seconds: 1,
        };
        let first = parts.peek().copied().unwrap_or_default();
        if !first.contains(['-', '~', ':']) && first.chars().next().is_some_and(char::is_alphabetic)
        {
            e.weekdays = weekdays(first).map_err(err)?;
            parts.next();
        }
        if let Some(date) = parts.next_if(|p| p.contains(['-', '~']) && !p.contains(':')) {
            e.date(date).map_err(err)?;
        }
        if let Some(time) = parts.next_if(|p| p.contains(':')) {
            e.time(time).map_err(err)?;
        }
        if let Some(rest) = parts.next() {
            let why = if TimeZone::get(rest).is_ok() || rest.eq_ignore_ascii_case("utc") {
                format!(
                    "names the time zone {rest:?}: set the job's TimeZone (or LocalOrUtcTime \
                     2 for UTC) instead, so the zone is said in one place"
                )
            } else {
                format!(
                    "has {rest:?} where nothing more was expected (the parts are [WEEKDAYS] \
                     [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]], in that order)"
                )
            };
            return Err(err(why));
        }
        if e.first_after(
            DateTime::constant(YEARS.0, 1, 1, 0, 0, 0, 0),
            &TimeZone::UTC,
        )
        .is_none()
        {
            return Err(err("names no date that exists".into()));
        }
        Ok(e)
    }

    /// The expression as the client wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first instant strictly after `after` that the expression names, read in `zone`;
    /// `None` when it names none (its years are past).
    pub fn next_run(&self, after: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let local = zone.to_datetime(after);
        // Local times from `after`'s own on map to instants in order, so the search starts
        // there, unless `after` is within a gap's length after the gap: a local time in the
        // gap, moved forward by it, can land after `after`, so it starts at the gap.
        let just_after = after.checked_add(SignedDuration::from_nanos(1)).ok()?;
        let gap_start = zone.preceding(just_after).next().and_then(|t| {
            let before = zone.to_offset(
                t.timestamp()
                    .checked_sub(SignedDuration::from_nanos(1))
                    .ok()?,
            );
            let length = t.offset().duration_since(before);
            // a local time in this gap runs up to its length after it
            (length.is_positive() && after < t.timestamp().checked_add(length).ok()?)
                .then(|| zone.to_datetime(t.timestamp()).checked_sub(length).ok())
                .flatten()
        });
        let from = gap_start.map_or(local, |start| start.min(local));
        self.search(
            from,
            |wall| {
                let ambiguous = zone.to_ambiguous_timestamp(wall);
                let shift = match ambiguous.offset() {
                    AmbiguousOffset::Gap { before, after } => after.duration_since(before),
                    _ => SignedDuration::ZERO,
                };
                ambiguous.compatible().ok().map(|t| (t, shift))
            },
            after,
        )
    }

    /// The first local date-time at or after `from` (used to check that one exists).
    fn first_after(&self, from: DateTime, zone: &TimeZone) -> Option<Timestamp> {
        let before = zone
            .to_timestamp(from)
            .ok()?
            .checked_sub(SignedDuration::from_nanos(1))
            .ok()?;
        self.search(
            from,
            |wall| {
                zone.to_timestamp(wall)
                    .ok()
                    .map(|t| (t, SignedDuration::ZERO))
            },
            before,
        )
    }

    /// Walks the named local date-times from `from` on, in order, and gives the earliest
    /// instant after `after`. `instant` maps a local time to its instant and how far a gap
    /// moved it: an instant moved by a gap may come after later local times' instants, so
    /// the walk goes on for that distance before it answers.
    fn search(
        &self,
        from: DateTime,
        instant: impl Fn(DateTime) -> Option<(Timestamp, SignedDuration)>,
        after: Timestamp,
    ) -> Option<Timestamp> {
        let mut best: Option<(Timestamp, DateTime)> = None;
        let start_month = i32::from(from.year()) * 12 + i32::from(from.month()) - 1;
        // named years end the search; otherwise one Gregorian cycle holds every weekday and
        // date the expression can name
        let last_year = match self.years {
            Some(_) => self.last_year(),
            None => from.year().saturating_add(GREGORIAN_CYCLE_YEARS as i16),
        }
        .min(YEARS.1);
        let end_month = i32::from(last_year) * 12 + 11;
        for index in start_month..=end_month {
            let year = i16::try_from(index.div_euclid(12)).ok()?;
            let month = (index.rem_euclid(12) + 1) as i8;
            if !self.year_matches(year) || self.months & (1 << month) == 0 {
                continue;
            }
            let first = Date::new(year, month, 1).ok()?;
            let dim = first.days_in_month();
            let first_day = if index == start_month { from.day() } else { 1 };
            for day in first_day..=dim {
                let date = Date::new(year, month, day).ok()?;
                if !self.date_matches(date, dim) {
                    continue;
                }
                for hour in set_bits(self.hours) {
                    if date.at(hour as i8, 59, 59, 999_999_999) < from {
                        continue;
                    }
                    for minute in set_bits(self.minutes) {
                        if date.at(hour as i8, minute as i8, 59, 999_999_999) < from {
                            continue;
                        }
                        for second in set_bits(self.seconds) {
                            let wall = date.at(hour as i8, minute as i8, second as i8, 0);
                            if wall < from {
                                continue;
                            }
                            if let Some((_, limit)) = best {
                                if wall > limit {
                                    return best.map(|(t, _)| t);
                                }
                            }
                            let Some((t, shift)) = instant(wall) else {
                                continue;
                            };
                            if t <= after || best.is_some_and(|(b, _)| b <= t) {
                                continue;
                            }
                            if shift.is_zero() && best.is_none() {
                                return Some(t);
                            }
                            // moved by a gap: a later local time may still come first
                            let limit = wall.checked_add(shift).unwrap_or(DateTime::MAX);
                            let limit = best.map_or(limit, |(_, l)| l.min(limit));
                            best = Some((t, limit));
                        }
                    }
                }
            }
        }
        best.map(|(t, _)| t)
    }

    fn last_year(&self) -> i16 {
        match &self.years {
            None => YEARS.1,
            Some(items) => items
                .iter()
                .map(|i| match *i {
                    Item::Range(_, b) => b as i16,
                    Item::Every(..) => YEARS.1,
                })
                .max()
                .unwrap_or(YEARS.1),
        }
    }

    fn year_matches(&self, year: i16) -> bool {
        self.years
            .as_ref()
            .is_none_or(|items| items.iter().any(|i| i.contains(i32::from(year))))
    }

    fn date_matches(&self, date: Date, dim: i8) -> bool {
        let day = if self.from_end {
            dim + 1 - date.day()
        } else {
            date.day()
        };
        let weekday = date.weekday().to_monday_zero_offset();
        self.days & (1 << day) != 0 && self.weekdays & (1 << weekday) != 0
    }

    /// `[YEAR-]MONTH-DAY` or `[YEAR-]MONTH~DAY`.
    fn date(&mut self, text: &str) -> Result<(), String> {
        let Some(i) = text.rfind(['-', '~']) else {
            return Err(format!("has the date {text:?}; write [YEAR-]MONTH-DAY"));
        };
        let (head, day, from_end) = (&text[..i], &text[i + 1..], text.as_bytes()[i] == b'~');
        let (year, month) = match head.split_once('-') {
            Some((y, m)) => (Some(y), m),
            None => (None, head),
        };
        if let Some(year) = year {
            if year != "*" {
                // two digits are 19YY from 70, else 20YY, each end on its own, as in systemd
                let century = |y: i32| match y {
                    0..70 => y + 2000,
                    70..100 => y + 1900,
                    _ => y,
                };
                let items = items(year, "year", (0, YEARS.1.into()), century)?;
                for i in &items {
                    let (Item::Range(a, _) | Item::Every(a, _)) = *i;
                    if a < YEARS.0.into() {
                        return Err(format!("names the year {a}, before {}", YEARS.0));
                    }
                }
                self.years = Some(items);
            }
        }
        self.months = mask(month, "month", (1, 12))?;
        self.days = mask(day, "day", (1, 31))?;
        self.from_end = from_end;
        Ok(())
    }

    /// `HOUR:MINUTE[:SECOND]`.
    fn time(&mut self, text: &str) -> Result<(), String> {
        let fields: Vec<&str> = text.split(':').collect();
        let (hour, minute, second) = match fields[..] {
            [h, m] => (h, m, "0"),
            [h, m, s] => (h, m, s),
            _ => return Err(format!("has the time {text:?}; write HOUR:MINUTE[:SECOND]")),
        };
        if second.contains('.') {
            return Err(format!(
                "has fractional seconds in {text:?}; runs start on whole seconds"
            ));
        }
        self.hours = mask(hour, "hour", (0, 23))?;
        self.minutes = mask(minute, "minute", (0, 59))?;
        self.seconds = mask(second, "second", (0, 59))?;
        Ok(())
    }
}

/// A field's comma list as a bit mask over `range`; `*` is all of it.
fn mask(text: &str, what: &str, range: (i32, i32)) -> Result<u64, String> {
    if text == "*" {
        return Ok(bits(range.0, range.1));
    }
    let mut m = 0;
    for item in items(text, what, range, |v| v)? {
        for v in range.0..=range.1 {
            if item.contains(v) {
                m |= 1 << v;
            }
        }
    }
    Ok(m)
}

/// A field's comma list, each value checked against `range` as written, then read by `read`
/// (a year's two digits name a century).
fn items(
    text: &str,
    what: &str,
    range: (i32, i32),
    read: impl Fn(i32) -> i32,
) -> Result<Vec<Item>, String> {
    let number = |s: &str| -> Result<i32, String> {
        let v: i32 = s
            .parse()
            .ok()
            .filter(|_| !s.starts_with(['+', '-']))
            .ok_or_else(|| format!("has {s:?} where a {what} number was expected"))?;
        if !(range.0..=range.1).contains(&v) {
            return Err(format!("has {what} {v}, outside {}..{}", range.0, range.1));
        }
        Ok(read(v))
    };
    text.split(',')
        .map(|item| {
            if let Some((a, b)) = item.split_once("..") {
                let (a, b) = (number(a)?, number(b)?);
                if a > b {
                    return Err(format!(
                        "has the {what} range {item:?}, which runs backwards"
                    ));
                }
                Ok(Item::Range(a, b))
            } else if let Some((a, step)) = item.split_once('/') {
                let step: i32 = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    format!("has the {what} step {item:?}; a step is a whole number above 0")
                })?;
                Ok(Item::Every(number(a)?, step))
            } else {
                let v = number(item)?;
                Ok(Item::Range(v, v))
            }
        })
        .collect()
}

/// `Mon,Wed..Fri` as bits (0 = Monday).
fn weekdays(text: &str) -> Result<u64, String> {
    const NAMES: [(&str, &str); 7] = [
        ("mon", "monday"),
        ("tue", "tuesday"),
        ("wed", "wednesday"),
        ("thu", "thursday"),
        ("fri", "friday"),
        ("sat", "saturday"),
        ("sun", "sunday"),
    ];
    let day = |s: &str| {
        let s = s.to_ascii_lowercase();
        NAMES
            .iter()
            .position(|(short, long)| s == *short || s == *long)
            .ok_or_else(|| format!("has {s:?} where a weekday (Mon … Sun) was expected"))
    };
    let mut m = 0;
    for item in text.split(',') {
        let (a, b) = match item.split_once("..") {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(item)?, day(item)?),
        };
        if a > b {
            return Err(format!(
                "has the weekday range {item:?}, which runs backwards (Mon..Sun is the week)"
            ));
        }
        m |= bits(a as i32, b as i32);
    }
    Ok(m)
}

fn bits(lo: i32, hi: i32) -> u64 {
    (lo..=hi).fold(0, |m, v| m | 1 << v)
}

fn set_bits(mask: u64) -> impl Iterator<Item = u32> {
    (0..64).filter(move |b| mask & (1 << b) != 0)
}
