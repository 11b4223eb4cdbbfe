//! CIM datetime (DSP0004) rules, one table row or property per rule.

use cim::{CimDateTime, CimInterval, CimTimestamp, DateTimeError};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Generators that build the CIM string independently of the crate.

/// Significant digit counts that do not split a field (timestamps).
const TS_PRECISIONS: [usize; 13] = [0, 4, 6, 8, 10, 12, 14, 15, 16, 17, 18, 19, 20];
/// Significant digit counts that do not split a field (intervals).
const IV_PRECISIONS: [usize; 11] = [0, 8, 10, 12, 14, 15, 16, 17, 18, 19, 20];

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Replaces digit positions >= `significant` (of the 20) with `*`.
fn star(s: &str, significant: usize) -> String {
    let mut digit = 0;
    s.chars()
        .enumerate()
        .map(|(pos, c)| {
            if pos == 14 || pos >= 21 {
                return c;
            }
            let out = if digit >= significant { '*' } else { c };
            digit += 1;
            out
        })
        .collect()
}

prop_compose! {
    fn full_timestamp_string()(
        year in 0u32..=9999,
        month in 1u32..=12,
        day_seed in 0u32..31,
        hour in 0u32..=23,
        minute in 0u32..=59,
        second in 0u32..=59,
        micro in 0u32..=999_999,
        negative in any::<bool>(),
        offset in 0u32..=999,
    ) -> String {
        let day = day_seed % days_in_month(year, month) + 1;
        let sign = if negative { '-' } else { '+' };
        format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}.{micro:06}{sign}{offset:03}")
    }
}

prop_compose! {
    fn timestamp_string()(
        s in full_timestamp_string(),
        precision in prop::sample::select(TS_PRECISIONS.to_vec()),
    ) -> String {
        star(&s, precision)
    }
}

prop_compose! {
    fn full_interval_string()(
        days in 0u32..=99_999_999,
        hours in 0u32..=23,
        minutes in 0u32..=59,
        seconds in 0u32..=59,
        micro in 0u32..=999_999,
    ) -> String {
        format!("{days:08}{hours:02}{minutes:02}{seconds:02}.{micro:06}:000")
    }
}

prop_compose! {
    fn interval_string()(
        s in full_interval_string(),
        precision in prop::sample::select(IV_PRECISIONS.to_vec()),
    ) -> String {
        star(&s, precision)
    }
}

proptest! {
    #[test]
    fn timestamp_format_of_parse_is_identity(s in timestamp_string()) {
        let dt = CimDateTime::parse(&s).unwrap();
        prop_assert!(!dt.is_interval());
        prop_assert_eq!(dt.to_string(), s.clone());
        prop_assert_eq!(dt.to_string().len(), 25);
        prop_assert_eq!(dt.offset_minutes(), Some(s[21..].parse::<i16>().unwrap()));
        prop_assert_eq!(usize::from(dt.significant_digits()), s[..21].chars().filter(|c| c.is_ascii_digit()).count());
    }

    #[test]
    fn timestamp_parse_of_format_is_identity(s in timestamp_string()) {
        let dt: CimDateTime = s.parse().unwrap();
        prop_assert_eq!(CimDateTime::parse(&dt.to_string()).unwrap(), dt);
    }

    #[test]
    fn timestamp_fields_read_back(s in timestamp_string()) {
        let CimDateTime::Timestamp(ts) = CimDateTime::parse(&s).unwrap() else { panic!("not a timestamp") };
        let field = |a: usize, b: usize| s[a..b].parse::<u32>().ok();
        prop_assert_eq!(ts.year().map(u32::from), field(0, 4));
        prop_assert_eq!(ts.month().map(u32::from), field(4, 6));
        prop_assert_eq!(ts.day().map(u32::from), field(6, 8));
        prop_assert_eq!(ts.hour().map(u32::from), field(8, 10));
        prop_assert_eq!(ts.minute().map(u32::from), field(10, 12));
        prop_assert_eq!(ts.second().map(u32::from), field(12, 14));
        let micros = &s[15..21];
        let expected_us = (!micros.starts_with('*')).then(|| micros.replace('*', "0").parse::<u32>().unwrap());
        prop_assert_eq!(ts.microsecond(), expected_us);
    }

    #[test]
    fn interval_format_of_parse_is_identity(s in interval_string()) {
        let dt = CimDateTime::parse(&s).unwrap();
        prop_assert!(dt.is_interval());
        prop_assert_eq!(dt.offset_minutes(), None);
        prop_assert_eq!(dt.to_string(), s);
    }

    #[test]
    fn interval_parse_of_format_is_identity(s in interval_string()) {
        let dt = CimDateTime::parse(&s).unwrap();
        prop_assert_eq!(CimDateTime::parse(&dt.to_string()).unwrap(), dt);
    }

    #[test]
    fn interval_duration_counts_starred_fields_as_zero(s in interval_string()) {
        let dt = CimDateTime::parse(&s).unwrap();
        prop_assume!(!dt.is_forever());
        let zeroed = s.replace('*', "0");
        let n = |a: usize, b: usize| zeroed[a..b].parse::<i64>().unwrap();
        let secs = n(0, 8) * 86_400 + n(8, 10) * 3600 + n(10, 12) * 60 + n(12, 14);
        let expected = SignedDuration::new(secs, (n(15, 21) * 1000) as i32);
        prop_assert_eq!(dt.to_duration().unwrap(), expected);
    }

    #[test]
    fn starring_a_timestamp_matches_the_starred_string(
        full in full_timestamp_string(),
        precision in prop::sample::select(TS_PRECISIONS.to_vec()),
    ) {
        let CimDateTime::Timestamp(ts) = CimDateTime::parse(&full).unwrap() else { panic!("not a timestamp") };
        let starred = CimDateTime::from(ts.with_significant_digits(precision as u8).unwrap());
        prop_assert_eq!(starred.to_string(), star(&full, precision));
        prop_assert_eq!(CimDateTime::parse(&star(&full, precision)).unwrap(), starred);
    }

    #[test]
    fn starring_an_interval_matches_the_starred_string(
        full in full_interval_string(),
        precision in prop::sample::select(IV_PRECISIONS.to_vec()),
    ) {
        let CimDateTime::Interval(iv) = CimDateTime::parse(&full).unwrap() else { panic!("not an interval") };
        let starred = CimDateTime::from(iv.with_significant_digits(precision as u8).unwrap());
        prop_assert_eq!(starred.to_string(), star(&full, precision));
        prop_assert_eq!(CimDateTime::parse(&star(&full, precision)).unwrap(), starred);
    }

    #[test]
    fn jiff_timestamp_round_trips_with_microseconds(
        micros in -62_135_596_800_000_000i64..=253_402_207_199_999_999i64,
        offset in -999i16..=999,
    ) {
        // Years 0001..=9999 UTC (up to jiff's maximum instant); a local year
        // outside 0..=9999 would be a documented error.
        let ts = Timestamp::from_microsecond(micros).unwrap();
        match CimDateTime::from_timestamp(ts, offset) {
            Ok(dt) => {
                prop_assert_eq!(dt.offset_minutes(), Some(offset));
                prop_assert_eq!(dt.significant_digits(), 20);
                prop_assert_eq!(dt.to_timestamp().unwrap(), ts);
                prop_assert_eq!(CimDateTime::parse(&dt.to_string()).unwrap(), dt);
            }
            Err(e) => {
                let is_year_error = matches!(e, DateTimeError::YearOutOfRange { .. });
                prop_assert!(is_year_error, "{}", e);
            }
        }
    }

    #[test]
    fn jiff_duration_round_trips(micros in 0i64..=(100_000_000i64 * 86_400 * 1_000_000 - 1)) {
        let d = SignedDuration::from_micros(micros);
        let forever = SignedDuration::from_secs(99_999_999 * 86_400 + 86_399);
        match CimDateTime::from_duration(d) {
            Ok(dt) => {
                prop_assert!(d < forever);
                prop_assert!(dt.is_interval() && !dt.is_forever());
                prop_assert_eq!(CimDateTime::parse(&dt.to_string()).unwrap(), dt);
                prop_assert_eq!(dt.to_duration().unwrap(), d);
            }
            Err(e) => {
                prop_assert!(d >= forever, "{}", e);
                let too_long = matches!(e, DateTimeError::DurationTooLong { .. });
                prop_assert!(too_long);
            }
        }
    }
}

#[test]
fn a_finite_duration_never_becomes_the_forever_sentinel() {
    let just_below = SignedDuration::new(99_999_999 * 86_400 + 86_398, 999_999_000);
    assert_eq!(
        CimDateTime::from_duration(just_below).unwrap().to_string(),
        "99999999235958.999999:000"
    );
    let sentinel = SignedDuration::from_secs(99_999_999 * 86_400 + 86_399);
    assert!(matches!(
        CimDateTime::from_duration(sentinel),
        Err(DateTimeError::DurationTooLong { .. })
    ));
    assert_eq!(
        CimDateTime::forever_interval().to_string(),
        "99999999235959.000000:000"
    );
}

// ---------------------------------------------------------------------------
// Invalid inputs: one row per rule, with the error variant expected.

type Matcher = fn(&DateTimeError) -> bool;

macro_rules! is {
    ($pat:pat) => {
        |e: &DateTimeError| matches!(e, $pat)
    };
}

#[test]
fn invalid_inputs_are_rejected_with_the_right_error() {
    let rows: &[(&str, &str, Matcher)] = &[
        (
            "24 characters",
            "2026010100000.000000+000",
            is!(DateTimeError::WrongLength { len: 24, .. }),
        ),
        (
            "26 characters",
            "202601010000000.000000+000",
            is!(DateTimeError::WrongLength { len: 26, .. }),
        ),
        ("empty", "", is!(DateTimeError::WrongLength { len: 0, .. })),
        (
            "month 13",
            "20261301000000.000000+000",
            is!(DateTimeError::FieldOutOfRange {
                field: "month",
                value: 13,
                ..
            }),
        ),
        (
            "month 00 outside the zero sentinel",
            "20260001000000.000000+000",
            is!(DateTimeError::FieldOutOfRange {
                field: "month",
                value: 0,
                ..
            }),
        ),
        (
            "day 00",
            "20260100000000.000000+000",
            is!(DateTimeError::FieldOutOfRange {
                field: "day",
                value: 0,
                ..
            }),
        ),
        (
            "day 32",
            "20260132000000.000000+000",
            is!(DateTimeError::FieldOutOfRange {
                field: "day",
                value: 32,
                ..
            }),
        ),
        (
            "Feb 30 2023",
            "20230230000000.000000+000",
            is!(DateTimeError::DayNotInMonth {
                day: 30,
                month: 2,
                year: 2023,
                ..
            }),
        ),
        (
            "Feb 29 in common year 2023",
            "20230229000000.000000+000",
            is!(DateTimeError::DayNotInMonth {
                day: 29,
                days_in_month: 28,
                ..
            }),
        ),
        (
            "Feb 29 1900 (century, not leap)",
            "19000229000000.000000+000",
            is!(DateTimeError::DayNotInMonth { .. }),
        ),
        (
            "April 31",
            "20260431000000.000000+000",
            is!(DateTimeError::DayNotInMonth {
                day: 31,
                month: 4,
                ..
            }),
        ),
        (
            "hour 24",
            "20260101240000.000000+000",
            is!(DateTimeError::FieldOutOfRange {
                field: "hour",
                value: 24,
                ..
            }),
        ),
        (
            "minute 60",
            "20260101006000.000000+000",
            is!(DateTimeError::FieldOutOfRange {
                field: "minute",
                value: 60,
                ..
            }),
        ),
        (
            "second 60",
            "20260101000060.000000+000",
            is!(DateTimeError::FieldOutOfRange {
                field: "second",
                value: 60,
                ..
            }),
        ),
        (
            "interval hours 24",
            "00000000240000.000000:000",
            is!(DateTimeError::FieldOutOfRange {
                field: "hours",
                value: 24,
                ..
            }),
        ),
        (
            "interval minutes 60",
            "00000000006000.000000:000",
            is!(DateTimeError::FieldOutOfRange {
                field: "minutes",
                value: 60,
                ..
            }),
        ),
        (
            "interval seconds 60",
            "00000000000060.000000:000",
            is!(DateTimeError::FieldOutOfRange {
                field: "seconds",
                value: 60,
                ..
            }),
        ),
        (
            "non-contiguous asterisks",
            "2026******0000.000000+000",
            is!(DateTimeError::NonContiguousAsterisks { position: 10, .. }),
        ),
        (
            "digit after starred microseconds",
            "20260101000000.12*4**+000",
            is!(DateTimeError::NonContiguousAsterisks { position: 18, .. }),
        ),
        (
            "asterisks not reaching the end",
            "20260101******.000000+000",
            is!(DateTimeError::NonContiguousAsterisks { position: 15, .. }),
        ),
        (
            "half-starred year",
            "20**0101000000.000000+000",
            is!(DateTimeError::NonContiguousAsterisks { .. }),
        ),
        (
            "year split by asterisks",
            "20************.******+000",
            is!(DateTimeError::PartialFieldAsterisks { field: "year", .. }),
        ),
        (
            "month split by asterisks",
            "20260*********.******+000",
            is!(DateTimeError::PartialFieldAsterisks { field: "month", .. }),
        ),
        (
            "second split by asterisks",
            "2026010100000*.******+000",
            is!(DateTimeError::PartialFieldAsterisks {
                field: "second",
                ..
            }),
        ),
        (
            "interval days split",
            "0000001*******.******:000",
            is!(DateTimeError::PartialFieldAsterisks { field: "days", .. }),
        ),
        (
            "asterisk in offset",
            "20260101000000.000000+**0",
            is!(DateTimeError::AsteriskInSuffix { position: 22, .. }),
        ),
        (
            "asterisk as offset sign",
            "20260101000000.000000*000",
            is!(DateTimeError::AsteriskInSuffix { position: 21, .. }),
        ),
        (
            "asterisk in interval suffix",
            "00000000000000.000000:00*",
            is!(DateTimeError::AsteriskInSuffix { position: 24, .. }),
        ),
        (
            "interval suffix :001",
            "00000001000000.000000:001",
            is!(DateTimeError::BadIntervalSuffix { .. }),
        ),
        (
            "suffix without sign",
            "20260101000000.0000000000",
            is!(DateTimeError::BadSuffix { .. }),
        ),
        (
            "letter in offset",
            "20260101000000.000000+0a0",
            is!(DateTimeError::InvalidCharacter {
                position: 23,
                found: 'a',
                ..
            }),
        ),
        (
            "letters in digits",
            "2026O101000000.000000+000",
            is!(DateTimeError::InvalidCharacter {
                position: 4,
                found: 'O',
                ..
            }),
        ),
        (
            "missing dot",
            "20260101000000 000000+000",
            is!(DateTimeError::InvalidCharacter {
                position: 14,
                found: ' ',
                ..
            }),
        ),
        (
            "dot in the wrong place",
            "2026010100000.0000000+000",
            is!(DateTimeError::InvalidCharacter {
                position: 13,
                found: '.',
                ..
            }),
        ),
        (
            "non-ASCII digit",
            "２0260101000000.000000+000",
            is!(DateTimeError::InvalidCharacter { position: 0, .. }),
        ),
        (
            "zero sentinel with a non-zero offset",
            "00000000000000.000000+060",
            is!(DateTimeError::FieldOutOfRange { field: "month", .. }),
        ),
        (
            "nines with a bad suffix",
            "99999999999999.999999:999",
            is!(DateTimeError::BadIntervalSuffix { .. }),
        ),
        (
            "almost all nines",
            "99999999999999.999998+000",
            is!(DateTimeError::FieldOutOfRange {
                field: "month",
                value: 99,
                ..
            }),
        ),
    ];
    for (rule, input, expected) in rows {
        match CimDateTime::parse(input) {
            Ok(v) => panic!("{rule}: {input:?} parsed as {v}"),
            Err(e) => {
                assert!(
                    expected(&e),
                    "{rule}: {input:?} gave the wrong error: {e:?}"
                );
                assert!(
                    e.to_string().contains(&format!("{input:?}")),
                    "{rule}: message does not quote the input: {e}"
                );
            }
        }
    }
}

#[test]
fn error_messages_say_what_and_quote_the_input() {
    let rows = [
        (
            "20261301000000.000000+000",
            r#"invalid CIM datetime "20261301000000.000000+000": month 13 is out of range 1..=12"#,
        ),
        (
            "20230230000000.000000+000",
            r#"invalid CIM datetime "20230230000000.000000+000": day 30 does not exist in 2023-02, which has 28 days"#,
        ),
        (
            "abc",
            r#"invalid CIM datetime "abc": it is 3 characters long, expected 25"#,
        ),
        (
            "00000001000000.000000:001",
            r#"invalid CIM datetime "00000001000000.000000:001": interval suffix ":001" must be ":000""#,
        ),
    ];
    for (input, message) in rows {
        assert_eq!(CimDateTime::parse(input).unwrap_err().to_string(), message);
    }
}

#[test]
fn valid_edge_inputs_parse() {
    let rows = [
        ("Feb 29 in leap year 2024", "20240229000000.000000+000"),
        ("Feb 29 2000 (400-year leap)", "20000229000000.000000+000"),
        ("year 0000", "00000101000000.000000+720"),
        ("DSP0004 example", "19980525133015.000000-300"),
        ("minus zero offset is kept", "20260101000000.000000-000"),
        ("offset 999", "20260101000000.000000+999"),
        ("all asterisks timestamp", "**************.******+000"),
        ("all asterisks interval", "**************.******:000"),
        ("year only", "2026**********.******-060"),
        ("milliseconds", "20180911124613.128***+000"),
        (
            "day of a starred-time timestamp",
            "20240229******.******+000",
        ),
        ("interval ms precision", "00000001132312.125***:000"),
        ("interval of max days", "99999999000000.000000:000"),
        ("DSP0004 interval maximum", "99999999235959.999999:000"),
        ("for ever with offset -000", "99999999999999.999999-000"),
    ];
    for (rule, input) in rows {
        let dt = CimDateTime::parse(input).unwrap_or_else(|e| panic!("{rule}: {e}"));
        assert_eq!(dt.to_string(), input, "{rule}");
    }
}

// ---------------------------------------------------------------------------
// Sentinels

#[test]
fn sentinels_are_recognised_and_round_trip() {
    // (rule, input, is_interval, is_zero, is_forever)
    let rows = [
        (
            "all-zero timestamp",
            "00000000000000.000000+000",
            false,
            true,
            false,
        ),
        (
            "zero interval",
            "00000000000000.000000:000",
            true,
            true,
            false,
        ),
        (
            "all nines, interval suffix",
            "99999999999999.999999:000",
            true,
            false,
            true,
        ),
        (
            "all nines, +000",
            "99999999999999.999999+000",
            false,
            false,
            true,
        ),
        (
            "all nines, -720",
            "99999999999999.999999-720",
            false,
            false,
            true,
        ),
        (
            "infinite duration (2.49)",
            "99999999235959.000000:000",
            true,
            false,
            true,
        ),
        (
            "infinite future (2.49)",
            "99991231115959.999999-720",
            false,
            false,
            true,
        ),
        (
            "an ordinary interval",
            "00000000000500.000000:000",
            true,
            false,
            false,
        ),
        (
            "starred zero interval is not the zero sentinel",
            "00000000******.******:000",
            true,
            false,
            false,
        ),
        (
            "near-infinite future, other offset",
            "99991231115959.999999+720",
            false,
            false,
            false,
        ),
        (
            "DSP0004 interval maximum is not a listed sentinel",
            "99999999235959.999999:000",
            true,
            false,
            false,
        ),
    ];
    for (rule, input, interval, zero, forever) in rows {
        let dt = CimDateTime::parse(input).unwrap_or_else(|e| panic!("{rule}: {e}"));
        assert_eq!(dt.is_interval(), interval, "{rule}: is_interval");
        assert_eq!(dt.is_zero(), zero, "{rule}: is_zero");
        assert_eq!(dt.is_forever(), forever, "{rule}: is_forever");
        assert_eq!(dt.to_string(), input, "{rule}: round trip");
    }
}

#[test]
fn sentinel_constructors_spell_the_sentinels() {
    assert_eq!(
        CimDateTime::zero_interval().to_string(),
        "00000000000000.000000:000"
    );
    assert_eq!(
        CimDateTime::zero_timestamp().to_string(),
        "00000000000000.000000+000"
    );
    assert_eq!(
        CimDateTime::forever_interval().to_string(),
        "99999999235959.000000:000"
    );
    assert_eq!(
        CimDateTime::forever_timestamp().to_string(),
        "99991231115959.999999-720"
    );
    assert_eq!(
        CimDateTime::parse("00000000000000.000000:000").unwrap(),
        CimDateTime::zero_interval()
    );
    assert_eq!(
        CimDateTime::parse("99991231115959.999999-720").unwrap(),
        CimDateTime::forever_timestamp()
    );
}

// ---------------------------------------------------------------------------
// Conversions and their errors

#[test]
fn conversions_refuse_what_has_no_jiff_equivalent() {
    let conv = |s: &str| CimDateTime::parse(s).unwrap();
    let rows: &[(&str, Result<Timestamp, DateTimeError>, Matcher)] = &[
        (
            "interval to timestamp",
            conv("00000000000500.000000:000").to_timestamp(),
            is!(DateTimeError::NotATimestamp { .. }),
        ),
        (
            "starred timestamp",
            conv("20260101******.******+000").to_timestamp(),
            is!(DateTimeError::Imprecise { .. }),
        ),
        (
            "starred microseconds",
            conv("20260101000000.123***+000").to_timestamp(),
            is!(DateTimeError::Imprecise { .. }),
        ),
        (
            "all-zero timestamp",
            conv("00000000000000.000000+000").to_timestamp(),
            is!(DateTimeError::ZeroTimestamp { .. }),
        ),
        (
            "infinite future",
            conv("99991231115959.999999-720").to_timestamp(),
            is!(DateTimeError::Forever { .. }),
        ),
        (
            "all nines",
            conv("99999999999999.999999+000").to_timestamp(),
            is!(DateTimeError::Forever { .. }),
        ),
        (
            "beyond jiff's maximum",
            conv("99991231235959.000000+000").to_timestamp(),
            is!(DateTimeError::OutOfJiffRange {
                target: "Timestamp",
                ..
            }),
        ),
    ];
    for (rule, result, expected) in rows {
        let e = result.as_ref().expect_err(rule);
        assert!(expected(e), "{rule}: {e:?}");
    }

    let rows: &[(&str, Result<SignedDuration, DateTimeError>, Matcher)] = &[
        (
            "timestamp to duration",
            conv("20260101000000.000000+000").to_duration(),
            is!(DateTimeError::NotAnInterval { .. }),
        ),
        (
            "infinite duration",
            conv("99999999235959.000000:000").to_duration(),
            is!(DateTimeError::Forever { .. }),
        ),
        (
            "all-nines interval",
            conv("99999999999999.999999:000").to_duration(),
            is!(DateTimeError::Forever { .. }),
        ),
        (
            "negative duration",
            CimDateTime::from_duration(SignedDuration::from_micros(-1))
                .and_then(|d| d.to_duration()),
            is!(DateTimeError::NegativeDuration { .. }),
        ),
        (
            "100000000 days",
            CimDateTime::from_duration(SignedDuration::from_hours(100_000_000 * 24))
                .and_then(|d| d.to_duration()),
            is!(DateTimeError::DurationTooLong { .. }),
        ),
        (
            "very large duration is not a sentinel",
            CimDateTime::from_duration(SignedDuration::MAX).and_then(|d| d.to_duration()),
            is!(DateTimeError::DurationTooLong { .. }),
        ),
    ];
    for (rule, result, expected) in rows {
        let e = result.as_ref().expect_err(rule);
        assert!(expected(e), "{rule}: {e:?}");
    }
}

#[test]
fn from_timestamp_checks_offset_and_year() {
    let ts: Timestamp = "2026-03-14T15:09:26.535897Z".parse().unwrap();
    assert_eq!(
        CimDateTime::from_timestamp(ts, 0).unwrap().to_string(),
        "20260314150926.535897+000"
    );
    assert_eq!(
        CimDateTime::from_timestamp(ts, 330).unwrap().to_string(),
        "20260314203926.535897+330"
    );
    assert_eq!(
        CimDateTime::from_timestamp(ts, -999).unwrap().to_string(),
        "20260313223026.535897-999"
    );
    assert!(matches!(
        CimDateTime::from_timestamp(ts, 1000),
        Err(DateTimeError::OffsetOutOfRange {
            offset_minutes: 1000
        })
    ));
    let early: Timestamp = "0000-01-01T00:30:00Z".parse().unwrap();
    assert!(matches!(
        CimDateTime::from_timestamp(early, -60),
        Err(DateTimeError::YearOutOfRange { year: -1, .. })
    ));
    // Nanoseconds are truncated towards the past, also before 1970.
    let ns: Timestamp = "1969-12-31T23:59:59.999999999Z".parse().unwrap();
    assert_eq!(
        CimDateTime::from_timestamp(ns, 0).unwrap().to_string(),
        "19691231235959.999999+000"
    );
}

#[test]
fn from_zoned_takes_the_zone_offset() {
    let z: jiff::Zoned = "2026-01-15T08:00:00-05:00[America/New_York]"
        .parse()
        .unwrap();
    assert_eq!(
        CimDateTime::from_zoned(&z).unwrap().to_string(),
        "20260115080000.000000-300"
    );
    let odd_offset = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(75).unwrap());
    let lmt = Timestamp::UNIX_EPOCH.to_zoned(odd_offset);
    assert!(matches!(
        CimDateTime::from_zoned(&lmt),
        Err(DateTimeError::OffsetNotWholeMinutes { offset_seconds: 75 })
    ));
}

#[test]
fn to_span_splits_fields_and_respects_jiff_limits() {
    let span = CimDateTime::parse("00000002030405.678901:000")
        .unwrap()
        .to_span()
        .unwrap();
    assert_eq!(
        (
            span.get_days(),
            span.get_hours(),
            span.get_minutes(),
            span.get_seconds(),
            span.get_microseconds()
        ),
        (2, 3, 4, 5, 678_901)
    );
    let err = CimDateTime::parse("09999999000000.000000:000")
        .unwrap()
        .to_span()
        .unwrap_err();
    assert!(
        matches!(err, DateTimeError::OutOfJiffRange { target: "Span", .. }),
        "{err:?}"
    );
    assert!(matches!(
        CimDateTime::parse("20260101000000.000000+000")
            .unwrap()
            .to_span(),
        Err(DateTimeError::NotAnInterval { .. })
    ));
}

#[test]
fn field_constructors_check_like_the_parser() {
    assert_eq!(
        CimDateTime::from(CimTimestamp::new(2024, 2, 29, 23, 59, 59, 999_999, -720).unwrap())
            .to_string(),
        "20240229235959.999999-720"
    );
    assert!(matches!(
        CimTimestamp::new(2023, 2, 29, 0, 0, 0, 0, 0),
        Err(DateTimeError::DayNotInMonth { .. })
    ));
    assert!(matches!(
        CimTimestamp::new(2026, 200, 1, 0, 0, 0, 0, 0),
        Err(DateTimeError::FieldOutOfRange {
            field: "month",
            value: 200,
            ..
        })
    ));
    assert!(matches!(
        CimTimestamp::new(10_000, 1, 1, 0, 0, 0, 0, 0),
        Err(DateTimeError::FieldOutOfRange { field: "year", .. })
    ));
    assert!(matches!(
        CimTimestamp::new(2026, 1, 1, 0, 0, 0, 1_000_000, 0),
        Err(DateTimeError::FieldOutOfRange {
            field: "microsecond",
            ..
        })
    ));
    assert!(matches!(
        CimTimestamp::new(2026, 1, 1, 0, 0, 0, 0, 1000),
        Err(DateTimeError::OffsetOutOfRange { .. })
    ));
    assert!(matches!(
        CimInterval::new(100_000_000, 0, 0, 0, 0),
        Err(DateTimeError::FieldOutOfRange { field: "days", .. })
    ));
    assert!(matches!(
        CimInterval::new(0, 0, 60, 0, 0),
        Err(DateTimeError::FieldOutOfRange {
            field: "minutes",
            ..
        })
    ));

    let ts = CimTimestamp::new(2026, 3, 14, 15, 9, 26, 535_897, 60).unwrap();
    let rows = [
        (20, "20260314150926.535897+060"),
        (17, "20260314150926.535***+060"),
        (14, "20260314150926.******+060"),
        (8, "20260314******.******+060"),
        (4, "2026**********.******+060"),
        (0, "**************.******+060"),
    ];
    for (n, expected) in rows {
        let starred = CimDateTime::from(ts.with_significant_digits(n).unwrap());
        assert_eq!(starred.to_string(), expected);
        assert_eq!(
            CimDateTime::parse(expected).unwrap(),
            starred,
            "stored value is the parsed one"
        );
    }
    assert!(matches!(
        ts.with_significant_digits(5),
        Err(DateTimeError::PartialFieldAsterisks { field: "month", .. })
    ));
    assert!(CimInterval::new(1, 2, 3, 4, 5)
        .unwrap()
        .with_significant_digits(9)
        .is_err());
}

#[test]
fn equality_is_by_spelling() {
    let a = CimDateTime::parse("20260101000000.000000+000").unwrap();
    let b = CimDateTime::parse("20260101010000.000000+060").unwrap();
    assert_ne!(a, b);
    assert_eq!(a.to_timestamp().unwrap(), b.to_timestamp().unwrap());
    assert_ne!(
        CimDateTime::parse("20260101000000.000000+000").unwrap(),
        CimDateTime::parse("20260101000000.000000-000").unwrap()
    );
}

#[cfg(feature = "serde")]
#[test]
fn serde_uses_the_25_character_string() {
    let dt = CimDateTime::parse("00000000000500.000000:000").unwrap();
    let json = serde_json::to_string(&dt).unwrap();
    assert_eq!(json, r#""00000000000500.000000:000""#);
    assert_eq!(serde_json::from_str::<CimDateTime>(&json).unwrap(), dt);
    let err = serde_json::from_str::<CimDateTime>(r#""20261301000000.000000+000""#).unwrap_err();
    assert!(
        err.to_string().contains("month 13 is out of range 1..=12"),
        "{err}"
    );
    assert!(serde_json::from_str::<CimDateTime>("12").is_err());
}
