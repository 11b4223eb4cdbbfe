//! The CIM `datetime` type (DSP0004): timestamps, intervals, asterisks and
//! sentinels.
//!
//! A CIM datetime is always a fixed 25-character string. Two layouts share
//! that length and are told apart by the last four characters:
//!
//! | Kind      | Layout                      | Example                     |
//! |-----------|-----------------------------|-----------------------------|
//! | timestamp | `yyyymmddhhmmss.mmmmmmsutc` | `19980525133015.000000-300` |
//! | interval  | `ddddddddhhmmss.mmmmmm:000` | `00000001132312.000000:000` |
//!
//! `sutc` is the offset from UTC in minutes, positive east of Greenwich
//! (local time = UTC + offset).
//!
//! Fields beyond the precision of the data may be written as `*`. The
//! asterisks form one run from the least significant end (the microseconds,
//! digit by digit) towards more significant fields, which are starred
//! whole. [`CimDateTime`] remembers how many digits are significant, so
//! every valid string survives `parse` then `to_string` unchanged.
//!
//! Sentinels get special treatment because the job model gives them meaning:
//! the all-zero timestamp (`00000000000000.000000+000`, "time unknown"), and
//! three spellings of "for ever" (see [`CimDateTime::is_forever`]).

use std::fmt;
use std::str::FromStr;

use jiff::{civil, tz::Offset, SignedDuration, Span, Timestamp, Zoned};

/// Number of digit positions in every CIM datetime (the 25 characters minus
/// the `.` and the 4-character suffix).
const DIGITS: usize = 20;

/// Largest value of the 8-digit day field of an interval.
const MAX_INTERVAL_DAYS: u32 = 99_999_999;

/// Largest magnitude of the 3-digit UTC offset field.
const MAX_OFFSET_MINUTES: i16 = 999;

/// Why a string is not a CIM datetime, or why a conversion to or from
/// [`CimDateTime`] failed.
///
/// Every variant quotes the offending input, so the message alone is enough
/// to find the bad value in a request or a log:
///
/// ```
/// use cim::{CimDateTime, DateTimeError};
///
/// let err = CimDateTime::parse("20261301000000.000000+000").unwrap_err();
/// assert!(matches!(err, DateTimeError::FieldOutOfRange { field: "month", value: 13, .. }));
/// assert_eq!(
///     err.to_string(),
///     r#"invalid CIM datetime "20261301000000.000000+000": month 13 is out of range 1..=12"#,
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DateTimeError {
    /// The string is not exactly 25 characters long.
    #[error("invalid CIM datetime {input:?}: it is {len} characters long, expected 25")]
    WrongLength {
        /// The rejected string.
        input: String,
        /// Its length in characters.
        len: usize,
    },
    /// A character is not allowed at its position (a letter among the
    /// digits, a missing `.`, a non-digit in the UTC offset, ...).
    #[error(
        "invalid CIM datetime {input:?}: character {found:?} at position {position} is not allowed there (expected {expected})"
    )]
    InvalidCharacter {
        /// The rejected string.
        input: String,
        /// Zero-based character position.
        position: usize,
        /// The character found there.
        found: char,
        /// What the position may hold.
        expected: &'static str,
    },
    /// An asterisk appears in the UTC offset or in the `:000` interval
    /// suffix, which must always be significant.
    #[error(
        "invalid CIM datetime {input:?}: asterisk at position {position}, but the UTC offset and the interval suffix \":000\" must never be asterisked"
    )]
    AsteriskInSuffix {
        /// The rejected string.
        input: String,
        /// Zero-based character position of the asterisk.
        position: usize,
    },
    /// The suffix starts with `:` (an interval) but is not `:000`.
    #[error("invalid CIM datetime {input:?}: interval suffix {suffix:?} must be \":000\"")]
    BadIntervalSuffix {
        /// The rejected string.
        input: String,
        /// The last four characters.
        suffix: String,
    },
    /// The suffix is neither `:000` nor a sign followed by three digits.
    #[error(
        "invalid CIM datetime {input:?}: suffix {suffix:?} is neither \":000\" (interval) nor a sign and three digits of UTC offset in minutes (timestamp)"
    )]
    BadSuffix {
        /// The rejected string.
        input: String,
        /// The last four characters.
        suffix: String,
    },
    /// A digit follows an asterisk: the asterisks do not form one run that
    /// ends at the microseconds.
    #[error(
        "invalid CIM datetime {input:?}: digit at position {position} follows an asterisk; asterisks must form one contiguous run ending at the microseconds"
    )]
    NonContiguousAsterisks {
        /// The rejected string.
        input: String,
        /// Zero-based character position of the first digit after an asterisk.
        position: usize,
    },
    /// The asterisks cover only part of a field other than the
    /// microseconds.
    #[error(
        "invalid CIM datetime {input:?}: the {field} field is only partly asterisked; only the microseconds may be asterisked digit by digit"
    )]
    PartialFieldAsterisks {
        /// The rejected string.
        input: String,
        /// The field, e.g. `"month"`.
        field: &'static str,
    },
    /// A significant field is outside its range, e.g. month 13 or hour 24.
    #[error("invalid CIM datetime {input:?}: {field} {value} is out of range {min}..={max}")]
    FieldOutOfRange {
        /// The rejected string (for constructors: the fields as they would
        /// be written).
        input: String,
        /// The field, e.g. `"month"`.
        field: &'static str,
        /// The value found.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// The day is within 1..=31 but does not exist in that month, e.g.
    /// 30 February or 29 February of a common year.
    #[error(
        "invalid CIM datetime {input:?}: day {day} does not exist in {year:04}-{month:02}, which has {days_in_month} days"
    )]
    DayNotInMonth {
        /// The rejected string.
        input: String,
        /// The year.
        year: u16,
        /// The month, 1..=12.
        month: u8,
        /// The day found.
        day: u8,
        /// How many days the month has in that year.
        days_in_month: u8,
    },
    /// A timestamp was needed but the value is an interval.
    #[error("CIM datetime {value:?} is an interval, not a timestamp")]
    NotATimestamp {
        /// The value, as written.
        value: String,
    },
    /// An interval was needed but the value is a timestamp.
    #[error("CIM datetime {value:?} is a timestamp, not an interval")]
    NotAnInterval {
        /// The value, as written.
        value: String,
    },
    /// The timestamp has asterisked fields, so it does not name one instant.
    #[error(
        "CIM datetime {value:?} has asterisked (insignificant) fields, so it does not name a single instant"
    )]
    Imprecise {
        /// The value, as written.
        value: String,
    },
    /// The all-zero timestamp means "time unknown", not year 0.
    #[error("CIM datetime {value:?} is the all-zero timestamp, which means \"time unknown\", not an instant")]
    ZeroTimestamp {
        /// The value, as written.
        value: String,
    },
    /// The value is a "for ever" sentinel and has no finite equivalent.
    #[error("CIM datetime {value:?} means \"for ever\" and has no finite value")]
    Forever {
        /// The value, as written.
        value: String,
    },
    /// The value is valid CIM but outside what jiff can represent.
    #[error("CIM datetime {value:?} is outside the range of jiff::{target}: {reason}")]
    OutOfJiffRange {
        /// The value, as written.
        value: String,
        /// The jiff type, e.g. `"Timestamp"` or `"Span"`.
        target: &'static str,
        /// jiff's explanation.
        reason: String,
    },
    /// A UTC offset does not fit the three-digit minutes field.
    #[error("UTC offset of {offset_minutes} minutes is out of range -999..=999")]
    OffsetOutOfRange {
        /// The offending offset, in minutes.
        offset_minutes: i64,
    },
    /// A UTC offset has a seconds part, which the minutes field cannot hold.
    #[error("UTC offset of {offset_seconds} seconds is not a whole number of minutes")]
    OffsetNotWholeMinutes {
        /// The offending offset, in seconds.
        offset_seconds: i32,
    },
    /// The local year of a timestamp does not fit the four-digit field.
    #[error(
        "timestamp {timestamp} at UTC offset {offset_minutes} minutes falls in year {year}, outside the CIM range 0..=9999"
    )]
    YearOutOfRange {
        /// The instant, in RFC 3339 form.
        timestamp: String,
        /// The requested offset.
        offset_minutes: i16,
        /// The local year it falls in.
        year: i16,
    },
    /// A CIM interval cannot be negative.
    #[error("duration {duration} is negative, but a CIM interval cannot be")]
    NegativeDuration {
        /// The rejected duration (jiff's friendly format).
        duration: String,
    },
    /// The duration does not fit a finite CIM interval: it reaches
    /// 99999999 days 23:59:59, the "infinite duration" sentinel, or beyond.
    #[error(
        "duration {duration} is too long for a CIM interval: it must be shorter than 99999999 days 23:59:59, which means \"for ever\""
    )]
    DurationTooLong {
        /// The rejected duration (jiff's friendly format).
        duration: String,
    },
}

/// A CIM timestamp: a point in time with a UTC offset, possibly with
/// asterisked (insignificant) trailing fields.
///
/// Why a separate type: callers that only deal in instants can match on
/// [`CimDateTime::Timestamp`] and read fields without re-checking ranges.
/// Fields that are asterisked read as `None`.
///
/// ```
/// use cim::CimDateTime;
///
/// let CimDateTime::Timestamp(ts) = CimDateTime::parse("20260314******.******+060")?
/// else { unreachable!() };
/// assert_eq!(ts.year(), Some(2026));
/// assert_eq!(ts.day(), Some(14));
/// assert_eq!(ts.hour(), None);
/// assert_eq!(ts.offset_minutes(), 60);
/// # Ok::<(), cim::DateTimeError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CimTimestamp {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    /// Starred microsecond digits are stored as 0.
    microsecond: u32,
    /// Absolute value of the offset, 0..=999.
    offset_abs: u16,
    /// The sign character was `-` (kept separately so `-000` round-trips).
    offset_negative: bool,
    /// Number of significant digit positions, 0..=20.
    significant: u8,
}

/// A CIM interval: a non-negative length of time of up to 99999999 days,
/// possibly with asterisked (insignificant) trailing fields.
///
/// ```
/// use cim::CimDateTime;
///
/// let CimDateTime::Interval(iv) = CimDateTime::parse("00000001132312.125***:000")?
/// else { unreachable!() };
/// assert_eq!(iv.days(), Some(1));
/// assert_eq!(iv.hours(), Some(13));
/// assert_eq!(iv.microseconds(), Some(125_000));
/// assert_eq!(iv.significant_digits(), 17);
/// # Ok::<(), cim::DateTimeError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CimInterval {
    days: u32,
    hours: u8,
    minutes: u8,
    seconds: u8,
    /// Starred microsecond digits are stored as 0.
    microseconds: u32,
    /// Number of significant digit positions, 0..=20.
    significant: u8,
}

/// A CIM `datetime` value (DSP0004): either a timestamp or an interval.
///
/// It parses and prints the 25-character CIM form exactly: for every valid
/// string `s`, `CimDateTime::parse(s)?.to_string() == s`, including
/// asterisks and the sentinels. Equality compares spellings, so two
/// timestamps naming the same instant with different offsets are not equal;
/// compare [`CimDateTime::to_timestamp`] results for that.
///
/// ```
/// use cim::CimDateTime;
///
/// let t: CimDateTime = "19980525133015.000000-300".parse()?;
/// assert!(!t.is_interval());
/// assert_eq!(t.offset_minutes(), Some(-300));
/// assert_eq!(t.to_timestamp()?.to_string(), "1998-05-25T18:30:15Z");
///
/// let five_minutes = CimDateTime::parse("00000000000500.000000:000")?;
/// assert_eq!(five_minutes.to_duration()?, jiff::SignedDuration::from_mins(5));
/// # Ok::<(), cim::DateTimeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CimDateTime {
    /// A point in time, `yyyymmddhhmmss.mmmmmmsutc`.
    Timestamp(CimTimestamp),
    /// A length of time, `ddddddddhhmmss.mmmmmm:000`.
    Interval(CimInterval),
}

// ---------------------------------------------------------------------------
// Field layout shared by parsing and formatting

/// Which kind of value, for the layout tables below.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Timestamp,
    Interval,
}

/// One field in the 20-digit space: name, first digit index, width.
type Field = (&'static str, usize, usize);

const TIMESTAMP_FIELDS: [Field; 7] = [
    ("year", 0, 4),
    ("month", 4, 2),
    ("day", 6, 2),
    ("hour", 8, 2),
    ("minute", 10, 2),
    ("second", 12, 2),
    ("microsecond", 14, 6),
];

const INTERVAL_FIELDS: [Field; 5] = [
    ("days", 0, 8),
    ("hours", 8, 2),
    ("minutes", 10, 2),
    ("seconds", 12, 2),
    ("microseconds", 14, 6),
];

impl Kind {
    fn fields(self) -> &'static [Field] {
        match self {
            Kind::Timestamp => &TIMESTAMP_FIELDS,
            Kind::Interval => &INTERVAL_FIELDS,
        }
    }

    /// The field containing digit index `n`, if `n` lies strictly inside a
    /// field other than the microseconds (i.e. asterisks starting at `n`
    /// would split it).
    fn split_field(self, n: usize) -> Option<&'static str> {
        self.fields()
            .iter()
            .find(|(name, start, width)| {
                *name != "microsecond" && *name != "microseconds" && n > *start && n < start + width
            })
            .map(|(name, _, _)| *name)
    }
}

/// Character position in the 25-char string of digit index `i` (0..20).
fn char_pos(i: usize) -> usize {
    if i < 14 {
        i
    } else {
        i + 1
    }
}

fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Writes `value` as `width` zero-padded digits into `out`, replacing every
/// digit at index >= `significant` (in 20-digit space) with `*`.
fn push_field(out: &mut String, value: u64, start: usize, width: usize, significant: usize) {
    let digits = format!("{value:0width$}");
    for (k, c) in digits.chars().enumerate() {
        if start + k >= significant {
            out.push('*');
        } else {
            out.push(c);
        }
    }
}

/// Value of digits `start..start+width` with `*` read as 0.
fn field_value(digits: &[u8; DIGITS], start: usize, width: usize) -> u64 {
    digits[start..start + width].iter().fold(0u64, |acc, &d| {
        acc * 10 + u64::from(if d == b'*' { 0 } else { d - b'0' })
    })
}

fn check_range(
    input: &str,
    field: &'static str,
    value: u64,
    min: u64,
    max: u64,
) -> Result<(), DateTimeError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(DateTimeError::FieldOutOfRange {
            input: input.to_owned(),
            field,
            value,
            min,
            max,
        })
    }
}

// ---------------------------------------------------------------------------
// CimTimestamp

impl CimTimestamp {
    /// Builds a fully significant timestamp from its fields, checking every
    /// range (and that the day exists in that month).
    ///
    /// Why: providers that compute a time from parts need the same checks
    /// as the parser, with the same errors.
    ///
    /// ```
    /// use cim::{CimDateTime, CimTimestamp};
    ///
    /// let ts = CimTimestamp::new(2024, 2, 29, 12, 0, 0, 0, -300)?;
    /// assert_eq!(CimDateTime::Timestamp(ts).to_string(), "20240229120000.000000-300");
    /// assert!(CimTimestamp::new(2023, 2, 29, 12, 0, 0, 0, 0).is_err());
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        microsecond: u32,
        offset_minutes: i16,
    ) -> Result<CimTimestamp, DateTimeError> {
        if offset_minutes.unsigned_abs() > MAX_OFFSET_MINUTES as u16 {
            return Err(DateTimeError::OffsetOutOfRange {
                offset_minutes: offset_minutes.into(),
            });
        }
        let raw = CimTimestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            microsecond,
            offset_abs: offset_minutes.unsigned_abs(),
            offset_negative: offset_minutes < 0,
            significant: DIGITS as u8,
        };
        let text = raw.to_string();
        // Fields too wide for their columns cannot be re-parsed; report them
        // (against the over-long rendering) before parsing.
        check_range(&text, "year", year.into(), 0, 9999)?;
        for (field, value, min, max) in [
            ("month", month, 1, 12),
            ("day", day, 1, 31),
            ("hour", hour, 0, 23),
            ("minute", minute, 0, 59),
            ("second", second, 0, 59),
        ] {
            if value > 99 {
                check_range(&text, field, value.into(), min, max)?;
            }
        }
        check_range(&text, "microsecond", microsecond.into(), 0, 999_999)?;
        match CimDateTime::parse(&text)? {
            CimDateTime::Timestamp(ts) => Ok(ts),
            CimDateTime::Interval(_) => unreachable!("a sign suffix always parses as a timestamp"),
        }
    }

    /// Returns this timestamp with only the first `n` of its 20 digit
    /// positions significant; the rest become asterisks (and read as
    /// `None`).
    ///
    /// Why: to report a time known only to, say, the day or the
    /// millisecond. `n` must not split a field other than the
    /// microseconds: 0, 4, 6, 8, 10, 12 or 14..=20.
    ///
    /// ```
    /// use cim::{CimDateTime, CimTimestamp};
    ///
    /// let ts = CimTimestamp::new(2026, 3, 14, 15, 9, 26, 535_897, 0)?;
    /// let ms = ts.with_significant_digits(17)?;
    /// assert_eq!(CimDateTime::Timestamp(ms).to_string(), "20260314150926.535***+000");
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn with_significant_digits(self, n: u8) -> Result<CimTimestamp, DateTimeError> {
        let mut out = self;
        out.significant = n.min(DIGITS as u8);
        if let Some(field) = Kind::Timestamp.split_field(out.significant.into()) {
            return Err(DateTimeError::PartialFieldAsterisks {
                input: out.to_string(),
                field,
            });
        }
        out.zero_insignificant();
        // Re-check: starring can expose an invalid value, e.g. month 00 of
        // the all-zero sentinel once the day is starred.
        CimDateTime::parse(&out.to_string())?;
        Ok(out)
    }

    /// Sets the numeric value of every asterisked position to 0 (the
    /// storage invariant that makes equality mean "same spelling").
    fn zero_insignificant(&mut self) {
        // A field is starred when the significant digits end at or before
        // its first digit.
        let n = usize::from(self.significant);
        if n == 0 {
            self.year = 0;
        }
        if n <= 4 {
            self.month = 0;
        }
        if n <= 6 {
            self.day = 0;
        }
        if n <= 8 {
            self.hour = 0;
        }
        if n <= 10 {
            self.minute = 0;
        }
        if n <= 12 {
            self.second = 0;
        }
        self.microsecond = truncate_micros(self.microsecond, n);
    }

    fn sig(&self, end: usize) -> bool {
        usize::from(self.significant) >= end
    }

    /// The year, or `None` if asterisked.
    ///
    /// ```
    /// let t = cim::CimDateTime::parse("2026**********.******+000")?;
    /// let cim::CimDateTime::Timestamp(ts) = t else { unreachable!() };
    /// assert_eq!(ts.year(), Some(2026));
    /// assert_eq!(ts.month(), None);
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn year(&self) -> Option<u16> {
        self.sig(4).then_some(self.year)
    }

    /// The month (1..=12; 0 only in the all-zero sentinel, 99 in the
    /// all-nines one), or `None` if asterisked.
    pub fn month(&self) -> Option<u8> {
        self.sig(6).then_some(self.month)
    }

    /// The day of the month, or `None` if asterisked.
    pub fn day(&self) -> Option<u8> {
        self.sig(8).then_some(self.day)
    }

    /// The hour (0..=23), or `None` if asterisked.
    pub fn hour(&self) -> Option<u8> {
        self.sig(10).then_some(self.hour)
    }

    /// The minute (0..=59), or `None` if asterisked.
    pub fn minute(&self) -> Option<u8> {
        self.sig(12).then_some(self.minute)
    }

    /// The second (0..=59), or `None` if asterisked.
    pub fn second(&self) -> Option<u8> {
        self.sig(14).then_some(self.second)
    }

    /// The microseconds, or `None` if all six digits are asterisked.
    /// Asterisked trailing digits count as 0: `.125***` reads as 125000.
    pub fn microsecond(&self) -> Option<u32> {
        self.sig(15).then_some(self.microsecond)
    }

    /// The UTC offset in minutes, positive east of Greenwich.
    ///
    /// ```
    /// let t = cim::CimDateTime::parse("19980525133015.000000-300")?;
    /// assert_eq!(t.offset_minutes(), Some(-300));
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn offset_minutes(&self) -> i16 {
        let abs = self.offset_abs as i16;
        if self.offset_negative {
            -abs
        } else {
            abs
        }
    }

    /// How many of the 20 digit positions are significant (20 = no
    /// asterisks, 0 = all asterisks).
    pub fn significant_digits(&self) -> u8 {
        self.significant
    }

    fn digits_all(&self, d: u64) -> bool {
        let nines = |w: u32| (10u64.pow(w) - 1) / 9 * d;
        self.significant == DIGITS as u8
            && u64::from(self.year) == nines(4)
            && u64::from(self.month) == nines(2)
            && u64::from(self.day) == nines(2)
            && u64::from(self.hour) == nines(2)
            && u64::from(self.minute) == nines(2)
            && u64::from(self.second) == nines(2)
            && u64::from(self.microsecond) == nines(6)
    }

    fn is_zero(&self) -> bool {
        self.digits_all(0) && self.offset_abs == 0 && !self.offset_negative
    }

    fn is_forever(&self) -> bool {
        self.digits_all(9)
            || (self.significant == DIGITS as u8
                && (
                    self.year,
                    self.month,
                    self.day,
                    self.hour,
                    self.minute,
                    self.second,
                    self.microsecond,
                ) == (9999, 12, 31, 11, 59, 59, 999_999)
                && self.offset_minutes() == -720)
    }
}

/// Keeps the first `n - 14` microsecond digits (n in 20-digit space).
fn truncate_micros(us: u32, n: usize) -> u32 {
    let kept = n.saturating_sub(14).min(6) as u32;
    let scale = 10u32.pow(6 - kept);
    us / scale * scale
}

impl fmt::Display for CimTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = usize::from(self.significant);
        let mut s = String::with_capacity(25);
        push_field(&mut s, self.year.into(), 0, 4, n);
        push_field(&mut s, self.month.into(), 4, 2, n);
        push_field(&mut s, self.day.into(), 6, 2, n);
        push_field(&mut s, self.hour.into(), 8, 2, n);
        push_field(&mut s, self.minute.into(), 10, 2, n);
        push_field(&mut s, self.second.into(), 12, 2, n);
        s.push('.');
        push_field(&mut s, self.microsecond.into(), 14, 6, n);
        s.push(if self.offset_negative { '-' } else { '+' });
        push_field(&mut s, self.offset_abs.into(), 0, 3, 3);
        f.write_str(&s)
    }
}

impl fmt::Debug for CimTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CimTimestamp({:?})", self.to_string())
    }
}

// ---------------------------------------------------------------------------
// CimInterval

impl CimInterval {
    /// Builds a fully significant interval from its fields, checking ranges
    /// (days 0..=99999999, hours 0..=23, minutes and seconds 0..=59,
    /// microseconds 0..=999999).
    ///
    /// ```
    /// use cim::{CimDateTime, CimInterval};
    ///
    /// let iv = CimInterval::new(1, 13, 23, 12, 0)?;
    /// assert_eq!(CimDateTime::Interval(iv).to_string(), "00000001132312.000000:000");
    /// assert!(CimInterval::new(0, 24, 0, 0, 0).is_err());
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn new(
        days: u32,
        hours: u8,
        minutes: u8,
        seconds: u8,
        microseconds: u32,
    ) -> Result<CimInterval, DateTimeError> {
        let raw = CimInterval {
            days,
            hours,
            minutes,
            seconds,
            microseconds,
            significant: DIGITS as u8,
        };
        let text = raw.to_string();
        check_range(&text, "days", days.into(), 0, MAX_INTERVAL_DAYS.into())?;
        for (field, value, max) in [
            ("hours", hours, 23),
            ("minutes", minutes, 59),
            ("seconds", seconds, 59),
        ] {
            if value > 99 {
                check_range(&text, field, value.into(), 0, max)?;
            }
        }
        check_range(&text, "microseconds", microseconds.into(), 0, 999_999)?;
        match CimDateTime::parse(&text)? {
            CimDateTime::Interval(iv) => Ok(iv),
            CimDateTime::Timestamp(_) => {
                unreachable!("a \":000\" suffix always parses as an interval")
            }
        }
    }

    /// Returns this interval with only the first `n` of its 20 digit
    /// positions significant; the rest become asterisks.
    ///
    /// `n` must not split a field other than the microseconds: 0, 8, 10,
    /// 12 or 14..=20.
    ///
    /// ```
    /// use cim::{CimDateTime, CimInterval};
    ///
    /// let iv = CimInterval::new(1, 13, 23, 12, 125_400)?.with_significant_digits(17)?;
    /// assert_eq!(CimDateTime::Interval(iv).to_string(), "00000001132312.125***:000");
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn with_significant_digits(self, n: u8) -> Result<CimInterval, DateTimeError> {
        let mut out = self;
        out.significant = n.min(DIGITS as u8);
        if let Some(field) = Kind::Interval.split_field(out.significant.into()) {
            return Err(DateTimeError::PartialFieldAsterisks {
                input: out.to_string(),
                field,
            });
        }
        // A field is starred when the significant digits end at or before
        // its first digit.
        let n = usize::from(out.significant);
        if n == 0 {
            out.days = 0;
        }
        if n <= 8 {
            out.hours = 0;
        }
        if n <= 10 {
            out.minutes = 0;
        }
        if n <= 12 {
            out.seconds = 0;
        }
        out.microseconds = truncate_micros(out.microseconds, n);
        // Re-check: starring the all-nines sentinel exposes hours 99.
        CimDateTime::parse(&out.to_string())?;
        Ok(out)
    }

    fn sig(&self, end: usize) -> bool {
        usize::from(self.significant) >= end
    }

    /// The days (0..=99999999), or `None` if asterisked.
    ///
    /// ```
    /// let t = cim::CimDateTime::parse("00000012******.******:000")?;
    /// let cim::CimDateTime::Interval(iv) = t else { unreachable!() };
    /// assert_eq!(iv.days(), Some(12));
    /// assert_eq!(iv.hours(), None);
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn days(&self) -> Option<u32> {
        self.sig(8).then_some(self.days)
    }

    /// The hours (0..=23), or `None` if asterisked.
    pub fn hours(&self) -> Option<u8> {
        self.sig(10).then_some(self.hours)
    }

    /// The minutes (0..=59), or `None` if asterisked.
    pub fn minutes(&self) -> Option<u8> {
        self.sig(12).then_some(self.minutes)
    }

    /// The seconds (0..=59), or `None` if asterisked.
    pub fn seconds(&self) -> Option<u8> {
        self.sig(14).then_some(self.seconds)
    }

    /// The microseconds, or `None` if all six digits are asterisked.
    /// Asterisked trailing digits count as 0.
    pub fn microseconds(&self) -> Option<u32> {
        self.sig(15).then_some(self.microseconds)
    }

    /// How many of the 20 digit positions are significant.
    pub fn significant_digits(&self) -> u8 {
        self.significant
    }

    fn is_all_nines(&self) -> bool {
        self.significant == DIGITS as u8
            && (
                self.days,
                self.hours,
                self.minutes,
                self.seconds,
                self.microseconds,
            ) == (MAX_INTERVAL_DAYS, 99, 99, 99, 999_999)
    }

    fn is_forever(&self) -> bool {
        self.is_all_nines()
            || (self.significant == DIGITS as u8
                && (
                    self.days,
                    self.hours,
                    self.minutes,
                    self.seconds,
                    self.microseconds,
                ) == (MAX_INTERVAL_DAYS, 23, 59, 59, 0))
    }

    fn is_zero(&self) -> bool {
        self.significant == DIGITS as u8
            && (
                self.days,
                self.hours,
                self.minutes,
                self.seconds,
                self.microseconds,
            ) == (0, 0, 0, 0, 0)
    }
}

impl fmt::Display for CimInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = usize::from(self.significant);
        let mut s = String::with_capacity(25);
        push_field(&mut s, self.days.into(), 0, 8, n);
        push_field(&mut s, self.hours.into(), 8, 2, n);
        push_field(&mut s, self.minutes.into(), 10, 2, n);
        push_field(&mut s, self.seconds.into(), 12, 2, n);
        s.push('.');
        push_field(&mut s, self.microseconds.into(), 14, 6, n);
        s.push_str(":000");
        f.write_str(&s)
    }
}

impl fmt::Debug for CimInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CimInterval({:?})", self.to_string())
    }
}

// ---------------------------------------------------------------------------
// CimDateTime

impl CimDateTime {
    /// Parses the 25-character CIM form (DSP0004), checking layout,
    /// asterisk placement and field ranges.
    ///
    /// Accepted besides ordinary values: the all-zero timestamp
    /// `00000000000000.000000+000` (month and day 00 are allowed only
    /// there) and the all-nines "for ever" spelling with any well-formed
    /// suffix, even though its fields are out of range.
    ///
    /// ```
    /// use cim::{CimDateTime, DateTimeError};
    ///
    /// assert!(CimDateTime::parse("20240229000000.000000+000").is_ok());
    /// let err = CimDateTime::parse("20230229000000.000000+000").unwrap_err();
    /// assert!(matches!(err, DateTimeError::DayNotInMonth { day: 29, .. }));
    /// ```
    pub fn parse(s: &str) -> Result<CimDateTime, DateTimeError> {
        let err_input = || s.to_owned();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 25 {
            return Err(DateTimeError::WrongLength {
                input: err_input(),
                len: chars.len(),
            });
        }

        // The suffix decides the kind; check it first.
        let suffix: String = chars[21..].iter().collect();
        let kind = match chars[21] {
            ':' => {
                if let Some(p) = chars[22..].iter().position(|&c| c == '*') {
                    return Err(DateTimeError::AsteriskInSuffix {
                        input: err_input(),
                        position: 22 + p,
                    });
                }
                if suffix != ":000" {
                    return Err(DateTimeError::BadIntervalSuffix {
                        input: err_input(),
                        suffix,
                    });
                }
                Kind::Interval
            }
            '+' | '-' => {
                for (k, &c) in chars[22..].iter().enumerate() {
                    if c == '*' {
                        return Err(DateTimeError::AsteriskInSuffix {
                            input: err_input(),
                            position: 22 + k,
                        });
                    }
                    if !c.is_ascii_digit() {
                        return Err(DateTimeError::InvalidCharacter {
                            input: err_input(),
                            position: 22 + k,
                            found: c,
                            expected: "a digit of the UTC offset",
                        });
                    }
                }
                Kind::Timestamp
            }
            '*' => {
                return Err(DateTimeError::AsteriskInSuffix {
                    input: err_input(),
                    position: 21,
                })
            }
            _ => {
                return Err(DateTimeError::BadSuffix {
                    input: err_input(),
                    suffix,
                })
            }
        };

        // Digits, asterisks and the dot.
        let mut digits = [0u8; DIGITS];
        for (pos, &c) in chars[..21].iter().enumerate() {
            if pos == 14 {
                if c != '.' {
                    return Err(DateTimeError::InvalidCharacter {
                        input: err_input(),
                        position: pos,
                        found: c,
                        expected: "'.'",
                    });
                }
                continue;
            }
            if !(c.is_ascii_digit() || c == '*') {
                return Err(DateTimeError::InvalidCharacter {
                    input: err_input(),
                    position: pos,
                    found: c,
                    expected: "a digit or '*'",
                });
            }
            digits[if pos < 14 { pos } else { pos - 1 }] = c as u8;
        }

        // One contiguous run of asterisks, ending at the microseconds.
        let significant = digits.iter().position(|&d| d == b'*').unwrap_or(DIGITS);
        if let Some(i) = digits[significant..].iter().position(|&d| d != b'*') {
            return Err(DateTimeError::NonContiguousAsterisks {
                input: err_input(),
                position: char_pos(significant + i),
            });
        }
        if let Some(field) = kind.split_field(significant) {
            return Err(DateTimeError::PartialFieldAsterisks {
                input: err_input(),
                field,
            });
        }

        let all = |d: u8| digits.iter().all(|&x| x == d);
        let all_nines = all(b'9');
        let v = |start, width| field_value(&digits, start, width);

        match kind {
            Kind::Interval => {
                let iv = CimInterval {
                    days: v(0, 8) as u32,
                    hours: v(8, 2) as u8,
                    minutes: v(10, 2) as u8,
                    seconds: v(12, 2) as u8,
                    microseconds: v(14, 6) as u32,
                    significant: significant as u8,
                };
                if !all_nines {
                    let n = significant;
                    if n >= 10 {
                        check_range(s, "hours", iv.hours.into(), 0, 23)?;
                    }
                    if n >= 12 {
                        check_range(s, "minutes", iv.minutes.into(), 0, 59)?;
                    }
                    if n >= 14 {
                        check_range(s, "seconds", iv.seconds.into(), 0, 59)?;
                    }
                }
                Ok(CimDateTime::Interval(iv))
            }
            Kind::Timestamp => {
                let offset_abs = chars[22..]
                    .iter()
                    .fold(0u16, |acc, &c| acc * 10 + (c as u16 - u16::from(b'0')));
                let ts = CimTimestamp {
                    year: v(0, 4) as u16,
                    month: v(4, 2) as u8,
                    day: v(6, 2) as u8,
                    hour: v(8, 2) as u8,
                    minute: v(10, 2) as u8,
                    second: v(12, 2) as u8,
                    microsecond: v(14, 6) as u32,
                    offset_abs,
                    offset_negative: chars[21] == '-',
                    significant: significant as u8,
                };
                if !(all_nines || ts.is_zero()) {
                    let n = significant;
                    if n >= 6 {
                        check_range(s, "month", ts.month.into(), 1, 12)?;
                    }
                    if n >= 8 {
                        check_range(s, "day", ts.day.into(), 1, 31)?;
                        let dim = days_in_month(ts.year, ts.month);
                        if ts.day > dim {
                            return Err(DateTimeError::DayNotInMonth {
                                input: err_input(),
                                year: ts.year,
                                month: ts.month,
                                day: ts.day,
                                days_in_month: dim,
                            });
                        }
                    }
                    if n >= 10 {
                        check_range(s, "hour", ts.hour.into(), 0, 23)?;
                    }
                    if n >= 12 {
                        check_range(s, "minute", ts.minute.into(), 0, 59)?;
                    }
                    if n >= 14 {
                        check_range(s, "second", ts.second.into(), 0, 59)?;
                    }
                }
                Ok(CimDateTime::Timestamp(ts))
            }
        }
    }

    /// Whether this is an interval (suffix `:000`) rather than a timestamp.
    ///
    /// ```
    /// assert!(cim::CimDateTime::zero_interval().is_interval());
    /// ```
    pub fn is_interval(&self) -> bool {
        matches!(self, CimDateTime::Interval(_))
    }

    /// Whether this is one of the three "for ever" spellings the job model
    /// uses for an unbounded `UntilTime`:
    ///
    /// - all 20 digits `9`, with any suffix (CIM 2.41 and earlier);
    /// - the interval `99999999235959.000000:000` ("infinite duration");
    /// - the timestamp `99991231115959.999999-720` ("infinite future").
    ///
    /// ```
    /// use cim::CimDateTime;
    ///
    /// for s in ["99999999999999.999999:000", "99999999999999.999999+060",
    ///           "99999999235959.000000:000", "99991231115959.999999-720"] {
    ///     assert!(CimDateTime::parse(s)?.is_forever(), "{s}");
    /// }
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn is_forever(&self) -> bool {
        match self {
            CimDateTime::Timestamp(ts) => ts.is_forever(),
            CimDateTime::Interval(iv) => iv.is_forever(),
        }
    }

    /// Whether this is the all-zero timestamp `00000000000000.000000+000`
    /// ("time unknown") or the fully significant zero interval
    /// `00000000000000.000000:000`.
    ///
    /// ```
    /// use cim::CimDateTime;
    ///
    /// assert!(CimDateTime::parse("00000000000000.000000+000")?.is_zero());
    /// assert!(CimDateTime::zero_interval().is_zero());
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn is_zero(&self) -> bool {
        match self {
            CimDateTime::Timestamp(ts) => ts.is_zero(),
            CimDateTime::Interval(iv) => iv.is_zero(),
        }
    }

    /// The zero interval `00000000000000.000000:000`, which CIM uses as
    /// "never set" (e.g. TimeOfLastStateChange before any change).
    ///
    /// ```
    /// assert_eq!(cim::CimDateTime::zero_interval().to_string(), "00000000000000.000000:000");
    /// ```
    pub fn zero_interval() -> CimDateTime {
        CimDateTime::Interval(CimInterval {
            days: 0,
            hours: 0,
            minutes: 0,
            seconds: 0,
            microseconds: 0,
            significant: DIGITS as u8,
        })
    }

    /// The all-zero timestamp `00000000000000.000000+000`, which CIM_Job
    /// uses for "the owner cannot report times".
    ///
    /// ```
    /// assert!(cim::CimDateTime::zero_timestamp().is_zero());
    /// ```
    pub fn zero_timestamp() -> CimDateTime {
        CimDateTime::Timestamp(CimTimestamp {
            year: 0,
            month: 0,
            day: 0,
            hour: 0,
            minute: 0,
            second: 0,
            microsecond: 0,
            offset_abs: 0,
            offset_negative: false,
            significant: DIGITS as u8,
        })
    }

    /// The "infinite duration" interval `99999999235959.000000:000`, the
    /// CIM 2.49 spelling of an unbounded UntilTime.
    ///
    /// ```
    /// let f = cim::CimDateTime::forever_interval();
    /// assert!(f.is_forever());
    /// assert_eq!(f.to_string(), "99999999235959.000000:000");
    /// ```
    pub fn forever_interval() -> CimDateTime {
        CimDateTime::Interval(CimInterval {
            days: MAX_INTERVAL_DAYS,
            hours: 23,
            minutes: 59,
            seconds: 59,
            microseconds: 0,
            significant: DIGITS as u8,
        })
    }

    /// The "infinite future" timestamp `99991231115959.999999-720`, the
    /// largest CIM timestamp.
    ///
    /// ```
    /// let f = cim::CimDateTime::forever_timestamp();
    /// assert!(f.is_forever());
    /// assert_eq!(f.to_string(), "99991231115959.999999-720");
    /// ```
    pub fn forever_timestamp() -> CimDateTime {
        CimDateTime::Timestamp(CimTimestamp {
            year: 9999,
            month: 12,
            day: 31,
            hour: 11,
            minute: 59,
            second: 59,
            microsecond: 999_999,
            offset_abs: 720,
            offset_negative: true,
            significant: DIGITS as u8,
        })
    }

    /// Writes an instant as a fully significant CIM timestamp in the given
    /// UTC offset (minutes east, -999..=999). Sub-microsecond digits are
    /// truncated towards the past.
    ///
    /// ```
    /// use cim::CimDateTime;
    ///
    /// let ts: jiff::Timestamp = "1998-05-25T18:30:15.25Z".parse().unwrap();
    /// let t = CimDateTime::from_timestamp(ts, -300)?;
    /// assert_eq!(t.to_string(), "19980525133015.250000-300");
    /// assert_eq!(t.to_timestamp()?, ts);
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn from_timestamp(
        ts: Timestamp,
        offset_minutes: i16,
    ) -> Result<CimDateTime, DateTimeError> {
        if offset_minutes.unsigned_abs() > MAX_OFFSET_MINUTES as u16 {
            return Err(DateTimeError::OffsetOutOfRange {
                offset_minutes: offset_minutes.into(),
            });
        }
        let offset = Offset::from_seconds(i32::from(offset_minutes) * 60)
            .expect("offsets up to 999 minutes are within jiff's range");
        let dt = offset.to_datetime(ts);
        if !(0..=9999).contains(&dt.year()) {
            return Err(DateTimeError::YearOutOfRange {
                timestamp: ts.to_string(),
                offset_minutes,
                year: dt.year(),
            });
        }
        // Civil fields are all in range, so these narrowing casts are exact.
        Ok(CimDateTime::Timestamp(CimTimestamp {
            year: dt.year() as u16,
            month: dt.month() as u8,
            day: dt.day() as u8,
            hour: dt.hour() as u8,
            minute: dt.minute() as u8,
            second: dt.second() as u8,
            microsecond: (dt.subsec_nanosecond() / 1000) as u32,
            offset_abs: offset_minutes.unsigned_abs(),
            offset_negative: offset_minutes < 0,
            significant: DIGITS as u8,
        }))
    }

    /// Writes a zoned time as a fully significant CIM timestamp, using the
    /// zone's offset at that instant. Fails if that offset is not a whole
    /// number of minutes (e.g. some pre-1900 local mean times).
    ///
    /// ```
    /// use cim::CimDateTime;
    ///
    /// let z: jiff::Zoned = "2026-07-01T09:30:00[Europe/Paris]".parse().unwrap();
    /// assert_eq!(CimDateTime::from_zoned(&z)?.to_string(), "20260701093000.000000+120");
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn from_zoned(z: &Zoned) -> Result<CimDateTime, DateTimeError> {
        let offset_seconds = z.offset().seconds();
        if offset_seconds % 60 != 0 {
            return Err(DateTimeError::OffsetNotWholeMinutes { offset_seconds });
        }
        let minutes = offset_seconds / 60;
        let minutes = i16::try_from(minutes).map_err(|_| DateTimeError::OffsetOutOfRange {
            offset_minutes: minutes.into(),
        })?;
        CimDateTime::from_timestamp(z.timestamp(), minutes)
    }

    /// Writes a non-negative duration as a fully significant CIM interval.
    /// Sub-microsecond digits are truncated.
    ///
    /// Durations of 99999999 days 23:59:59 or more are an error: a finite
    /// duration must never come out as the "infinite duration" sentinel
    /// `99999999235959.000000:000` (use [`CimDateTime::forever_interval`]
    /// to say "for ever").
    ///
    /// ```
    /// use cim::CimDateTime;
    /// use jiff::SignedDuration;
    ///
    /// let d = SignedDuration::new(86_400 + 13 * 3600 + 23 * 60 + 12, 500_000_000);
    /// assert_eq!(CimDateTime::from_duration(d)?.to_string(), "00000001132312.500000:000");
    /// assert!(CimDateTime::from_duration(SignedDuration::from_secs(-1)).is_err());
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn from_duration(d: SignedDuration) -> Result<CimDateTime, DateTimeError> {
        if d.is_negative() {
            return Err(DateTimeError::NegativeDuration {
                duration: format!("{d:#}"),
            });
        }
        let secs = d.as_secs();
        if secs >= i64::from(MAX_INTERVAL_DAYS) * 86_400 + 86_399 {
            return Err(DateTimeError::DurationTooLong {
                duration: format!("{d:#}"),
            });
        }
        let rem = secs % 86_400;
        Ok(CimDateTime::Interval(CimInterval {
            days: (secs / 86_400) as u32,
            hours: (rem / 3600) as u8,
            minutes: (rem % 3600 / 60) as u8,
            seconds: (rem % 60) as u8,
            microseconds: d.subsec_micros() as u32,
            significant: DIGITS as u8,
        }))
    }

    /// The instant a timestamp names.
    ///
    /// Errors for an interval, for the "for ever" and all-zero sentinels
    /// (which name no instant), for asterisked fields, and for instants
    /// outside jiff's range.
    ///
    /// ```
    /// use cim::CimDateTime;
    ///
    /// let t = CimDateTime::parse("20260101000000.000000+060")?;
    /// assert_eq!(t.to_timestamp()?.to_string(), "2025-12-31T23:00:00Z");
    /// assert!(CimDateTime::parse("20260101******.******+060")?.to_timestamp().is_err());
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn to_timestamp(&self) -> Result<Timestamp, DateTimeError> {
        let value = || self.to_string();
        let ts = match self {
            CimDateTime::Interval(_) => {
                return Err(DateTimeError::NotATimestamp { value: value() })
            }
            CimDateTime::Timestamp(ts) => ts,
        };
        if ts.is_forever() {
            return Err(DateTimeError::Forever { value: value() });
        }
        if ts.is_zero() {
            return Err(DateTimeError::ZeroTimestamp { value: value() });
        }
        if ts.significant != DIGITS as u8 {
            return Err(DateTimeError::Imprecise { value: value() });
        }
        let jiff_err = |e: jiff::Error| DateTimeError::OutOfJiffRange {
            value: value(),
            target: "Timestamp",
            reason: e.to_string(),
        };
        let dt = civil::DateTime::new(
            ts.year as i16,
            ts.month as i8,
            ts.day as i8,
            ts.hour as i8,
            ts.minute as i8,
            ts.second as i8,
            ts.microsecond as i32 * 1000,
        )
        .map_err(jiff_err)?;
        let offset = Offset::from_seconds(i32::from(ts.offset_minutes()) * 60).map_err(jiff_err)?;
        offset.to_timestamp(dt).map_err(jiff_err)
    }

    /// The length of an interval. Asterisked fields count as 0.
    ///
    /// Errors for a timestamp and for the "for ever" spellings (check
    /// [`CimDateTime::is_forever`] first if that means "no limit" to you).
    ///
    /// ```
    /// use cim::CimDateTime;
    /// use jiff::SignedDuration;
    ///
    /// let iv = CimDateTime::parse("00000001132312.125***:000")?;
    /// assert_eq!(iv.to_duration()?, SignedDuration::new(134_592, 125_000_000));
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn to_duration(&self) -> Result<SignedDuration, DateTimeError> {
        let iv = self.interval_for_conversion()?;
        let secs = i64::from(iv.days) * 86_400
            + i64::from(iv.hours) * 3600
            + i64::from(iv.minutes) * 60
            + i64::from(iv.seconds);
        Ok(SignedDuration::new(secs, iv.microseconds as i32 * 1000))
    }

    /// The interval as a jiff [`Span`] of days, hours, minutes, seconds and
    /// microseconds, for calendar-aware arithmetic (a span day follows
    /// daylight-saving changes when added to a zoned time). Asterisked
    /// fields count as 0.
    ///
    /// Errors for a timestamp, for "for ever", and for more days than a
    /// `Span` holds (about 7.3 million).
    ///
    /// ```
    /// use cim::CimDateTime;
    /// use jiff::ToSpan;
    ///
    /// let span = CimDateTime::parse("00000001132312.000000:000")?.to_span()?;
    /// assert_eq!(span.fieldwise(), 1.day().hours(13).minutes(23).seconds(12));
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn to_span(&self) -> Result<Span, DateTimeError> {
        let iv = self.interval_for_conversion()?;
        let jiff_err = |e: jiff::Error| DateTimeError::OutOfJiffRange {
            value: self.to_string(),
            target: "Span",
            reason: e.to_string(),
        };
        Span::new()
            .try_days(i64::from(iv.days))
            .and_then(|s| s.try_hours(i64::from(iv.hours)))
            .and_then(|s| s.try_minutes(i64::from(iv.minutes)))
            .and_then(|s| s.try_seconds(i64::from(iv.seconds)))
            .and_then(|s| s.try_microseconds(i64::from(iv.microseconds)))
            .map_err(jiff_err)
    }

    fn interval_for_conversion(&self) -> Result<&CimInterval, DateTimeError> {
        match self {
            CimDateTime::Timestamp(_) => Err(DateTimeError::NotAnInterval {
                value: self.to_string(),
            }),
            CimDateTime::Interval(iv) if iv.is_forever() => Err(DateTimeError::Forever {
                value: self.to_string(),
            }),
            CimDateTime::Interval(iv) => Ok(iv),
        }
    }

    /// The UTC offset in minutes (positive east) of a timestamp; `None` for
    /// an interval.
    ///
    /// ```
    /// use cim::CimDateTime;
    ///
    /// assert_eq!(CimDateTime::parse("19980525133015.000000-300")?.offset_minutes(), Some(-300));
    /// assert_eq!(CimDateTime::zero_interval().offset_minutes(), None);
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn offset_minutes(&self) -> Option<i16> {
        match self {
            CimDateTime::Timestamp(ts) => Some(ts.offset_minutes()),
            CimDateTime::Interval(_) => None,
        }
    }

    /// How many of the 20 digit positions are significant (20 means no
    /// asterisks).
    ///
    /// ```
    /// let t = cim::CimDateTime::parse("20260314150926.535***+000")?;
    /// assert_eq!(t.significant_digits(), 17);
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn significant_digits(&self) -> u8 {
        match self {
            CimDateTime::Timestamp(ts) => ts.significant,
            CimDateTime::Interval(iv) => iv.significant,
        }
    }
}

impl fmt::Display for CimDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CimDateTime::Timestamp(ts) => fmt::Display::fmt(ts, f),
            CimDateTime::Interval(iv) => fmt::Display::fmt(iv, f),
        }
    }
}

impl FromStr for CimDateTime {
    type Err = DateTimeError;

    fn from_str(s: &str) -> Result<CimDateTime, DateTimeError> {
        CimDateTime::parse(s)
    }
}

impl From<CimTimestamp> for CimDateTime {
    fn from(ts: CimTimestamp) -> CimDateTime {
        CimDateTime::Timestamp(ts)
    }
}

impl From<CimInterval> for CimDateTime {
    fn from(iv: CimInterval) -> CimDateTime {
        CimDateTime::Interval(iv)
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::CimDateTime;
    use serde::de::{self, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::fmt;

    impl Serialize for CimDateTime {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(self)
        }
    }

    struct CimDateTimeVisitor;

    impl Visitor<'_> for CimDateTimeVisitor {
        type Value = CimDateTime;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a 25-character CIM datetime string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<CimDateTime, E> {
            CimDateTime::parse(v).map_err(E::custom)
        }
    }

    impl<'de> Deserialize<'de> for CimDateTime {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CimDateTime, D::Error> {
            deserializer.deserialize_str(CimDateTimeVisitor)
        }
    }
}
