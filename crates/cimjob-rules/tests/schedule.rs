//! The calendar rules of CIM_Job (RunMonth, RunDay, RunDayOfWeek, RunStartInterval,
//! LocalOrUtcTime, TimeZone) and the ends (ScheduledStartTime, UntilTime), as the README's
//! "Scheduling" and "Our reading of the standard" read them. One table row per rule, named after it;
//! then property tests that check `next_run` against a brute-force reading of the rule's words.

use std::collections::HashMap;

use cim::CimDateTime;
use cimjob_rules::schedule::{
    calendar_rule, resolve_time, CalendarRule, ScheduleError, ScheduleFields,
};
use jiff::civil::Date;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Helpers

/// A job's calendar properties, as a client would set them.
#[derive(Clone, Copy, Debug, Default)]
struct Words {
    /// RunMonth.
    month: Option<u8>,
    /// RunDay.
    day: Option<i8>,
    /// RunDayOfWeek.
    dow: Option<i8>,
    /// RunStartInterval, in minutes after midnight.
    start: Option<u32>,
    /// "" = UTC (LocalOrUtcTime 2); otherwise the job's TimeZone with LocalOrUtcTime 1.
    zone: &'static str,
}

const fn hm(h: u32, m: u32) -> Option<u32> {
    Some(h * 60 + m)
}

fn interval(minutes: u32) -> CimDateTime {
    CimDateTime::from_duration(SignedDuration::from_mins(i64::from(minutes))).unwrap()
}

fn build(w: Words) -> Result<Option<CalendarRule>, ScheduleError> {
    let start = w.start.map(interval);
    let fields = ScheduleFields {
        run_month: w.month,
        run_day: w.day,
        run_day_of_week: w.dow,
        run_start_interval: start.as_ref(),
        local_or_utc_time: Some(if w.zone.is_empty() { 2 } else { 1 }),
        time_zone: (!w.zone.is_empty()).then_some(w.zone),
    };
    calendar_rule(&fields, &TimeZone::UTC)
}

fn rule(w: Words) -> CalendarRule {
    build(w)
        .unwrap_or_else(|e| panic!("{w:?} refused: {e}"))
        .unwrap_or_else(|| panic!("{w:?} is not a calendar rule"))
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn zone(name: &str) -> TimeZone {
    if name.is_empty() {
        TimeZone::UTC
    } else {
        TimeZone::get(name).unwrap()
    }
}

// ---------------------------------------------------------------------------
// next_run / upcoming: exact instants

const MONTH_DAY_31: Words = Words {
    month: None,
    day: Some(31),
    dow: None,
    start: None,
    zone: "",
};
const DAILY_0230: Words = Words {
    month: None,
    day: None,
    dow: None,
    start: hm(2, 30),
    zone: "",
};
const DAILY_0130: Words = Words {
    start: hm(1, 30),
    ..DAILY_0230
};
const LAST_SUNDAY_OF_MARCH: Words = Words {
    month: Some(2),
    day: Some(-1),
    dow: Some(-1),
    start: None,
    zone: "",
};

#[test]
fn next_runs_follow_the_rule() {
    // (rule, words, after, the next runs strictly after it)
    let cases: &[(&str, Words, &str, &[&str])] = &[
        (
            "31st of every month skips February, April, June, September and November",
            MONTH_DAY_31,
            "2027-01-31T00:00:00Z",
            &[
                "2027-03-31T00:00:00Z",
                "2027-05-31T00:00:00Z",
                "2027-07-31T00:00:00Z",
                "2027-08-31T00:00:00Z",
                "2027-10-31T00:00:00Z",
                "2027-12-31T00:00:00Z",
                "2028-01-31T00:00:00Z",
            ],
        ),
        (
            "29 February runs in leap years only (2027 has none)",
            Words { month: Some(1), day: Some(29), ..Words::default() },
            "2027-01-01T00:00:00Z",
            &["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"],
        ),
        (
            "after 29 February 2028 the next is 29 February 2032",
            Words { month: Some(1), day: Some(29), ..Words::default() },
            "2028-02-29T00:00:00Z",
            &["2032-02-29T00:00:00Z"],
        ),
        (
            "RunDay -1 is the last day, the 29th in February 2028",
            Words { day: Some(-1), ..Words::default() },
            "2028-01-31T00:00:00Z",
            &["2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z", "2028-04-30T00:00:00Z"],
        ),
        (
            "RunDay -1 is the last day, the 28th in February 2027",
            Words { day: Some(-1), ..Words::default() },
            "2027-01-31T00:00:00Z",
            &["2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z"],
        ),
        (
            "RunDay -3 counts from the end of the month",
            Words { day: Some(-3), ..Words::default() },
            "2028-01-01T00:00:00Z",
            &["2028-01-29T00:00:00Z", "2028-02-27T00:00:00Z", "2028-03-29T00:00:00Z"],
        ),
        (
            "last Sunday of March (RunMonth 2, RunDay -1, -Sunday) in 2027 and 2028",
            LAST_SUNDAY_OF_MARCH,
            "2027-01-01T00:00:00Z",
            &["2027-03-28T00:00:00Z", "2028-03-26T00:00:00Z", "2029-03-25T00:00:00Z"],
        ),
        (
            "first Saturday on or after the 15th",
            Words { day: Some(15), dow: Some(7), ..Words::default() },
            "2027-07-31T00:00:00Z",
            &["2027-08-21T00:00:00Z", "2027-09-18T00:00:00Z"],
        ),
        (
            "on or after includes RunDay itself (15 May 2027 is a Saturday)",
            Words { day: Some(15), dow: Some(7), ..Words::default() },
            "2027-04-30T00:00:00Z",
            &["2027-05-15T00:00:00Z"],
        ),
        (
            "Saturday on or before the 20th",
            Words { day: Some(20), dow: Some(-7), ..Words::default() },
            "2027-07-31T00:00:00Z",
            &["2027-08-14T00:00:00Z", "2027-09-18T00:00:00Z"],
        ),
        (
            "on or before includes RunDay itself (20 March 2027 is a Saturday)",
            Words { day: Some(20), dow: Some(-7), ..Words::default() },
            "2027-02-28T00:00:00Z",
            &["2027-03-20T00:00:00Z"],
        ),
        (
            "weekday without RunDay: the first Monday of the month",
            Words { dow: Some(2), ..Words::default() },
            "2027-01-01T00:00:00Z",
            &["2027-01-04T00:00:00Z", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z", "2027-04-05T00:00:00Z"],
        ),
        (
            "weekday with RunDay 0: the first Monday of the month",
            Words { day: Some(0), dow: Some(2), ..Words::default() },
            "2027-01-01T00:00:00Z",
            &["2027-01-04T00:00:00Z", "2027-02-01T00:00:00Z"],
        ),
        (
            "negative weekday without RunDay: the last Friday of the month",
            Words { dow: Some(-6), ..Words::default() },
            "2027-01-01T00:00:00Z",
            &["2027-01-29T00:00:00Z", "2027-02-26T00:00:00Z", "2027-03-26T00:00:00Z", "2027-04-30T00:00:00Z"],
        ),
        (
            "on-or-after that would spill into the next month has no run (Sunday on or after the 30th)",
            Words { day: Some(30), dow: Some(1), ..Words::default() },
            "2027-01-01T00:00:00Z",
            &["2027-01-31T00:00:00Z", "2027-05-30T00:00:00Z", "2027-10-31T00:00:00Z", "2028-01-30T00:00:00Z"],
        ),
        (
            "on-or-before that would fall before the 1st has no run (Sunday on or before the 1st)",
            Words { day: Some(1), dow: Some(-1), ..Words::default() },
            "2027-01-01T00:00:00Z",
            &["2027-08-01T00:00:00Z", "2028-10-01T00:00:00Z"],
        ),
        (
            "RunDayOfWeek 0 without RunDay: every day",
            Words { dow: Some(0), start: hm(6, 0), ..Words::default() },
            "2027-02-27T12:00:00Z",
            &["2027-02-28T06:00:00Z", "2027-03-01T06:00:00Z"],
        ),
        (
            "RunMonth without a day: every day of that month",
            Words { month: Some(1), ..Words::default() },
            "2027-02-27T00:00:00Z",
            &["2027-02-28T00:00:00Z", "2028-02-01T00:00:00Z", "2028-02-02T00:00:00Z"],
        ),
        (
            "daily at 02:00 for ever is RunStartInterval alone",
            Words { start: hm(2, 0), ..Words::default() },
            "2027-12-30T03:00:00Z",
            &["2027-12-31T02:00:00Z", "2028-01-01T02:00:00Z", "2028-01-02T02:00:00Z"],
        ),
        (
            "strictly after: after exactly on a run gives the next one",
            Words { start: hm(2, 0), ..Words::default() },
            "2027-01-02T02:00:00Z",
            &["2027-01-03T02:00:00Z"],
        ),
        (
            "strictly after: a nanosecond before a run gives that run",
            Words { start: hm(2, 0), ..Words::default() },
            "2027-01-02T01:59:59.999999999Z",
            &["2027-01-02T02:00:00Z"],
        ),
        (
            "America/New_York spring forward: 02:30 does not exist on 2027-03-14, runs at 03:30 EDT",
            Words { zone: "America/New_York", ..DAILY_0230 },
            "2027-03-12T12:00:00Z",
            &["2027-03-13T07:30:00Z", "2027-03-14T07:30:00Z", "2027-03-15T06:30:00Z"],
        ),
        (
            "America/New_York fall back: 01:30 happens twice on 2027-11-07, runs once at the earlier (EDT)",
            Words { zone: "America/New_York", ..DAILY_0130 },
            "2027-11-06T12:00:00Z",
            &["2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"],
        ),
        (
            "Europe/Berlin spring forward: 02:30 does not exist on 2027-03-28, runs at 03:30 CEST",
            Words { zone: "Europe/Berlin", ..DAILY_0230 },
            "2027-03-26T12:00:00Z",
            &["2027-03-27T01:30:00Z", "2027-03-28T01:30:00Z", "2027-03-29T00:30:00Z"],
        ),
        (
            "Europe/Berlin fall back: 02:30 happens twice on 2027-10-31, runs once at the earlier (CEST)",
            Words { zone: "Europe/Berlin", ..DAILY_0230 },
            "2027-10-30T12:00:00Z",
            &["2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"],
        ),
        (
            "last Sunday of March at 02:30 in Berlin is always in the gap: 03:30 CEST",
            Words { start: hm(2, 30), zone: "Europe/Berlin", ..LAST_SUNDAY_OF_MARCH },
            "2027-01-01T00:00:00Z",
            &["2027-03-28T01:30:00Z", "2028-03-26T01:30:00Z"],
        ),
        (
            "a UTC rule is unaffected by daylight saving",
            DAILY_0230,
            "2027-03-13T12:00:00Z",
            &["2027-03-14T02:30:00Z", "2027-03-15T02:30:00Z"],
        ),
        (
            "local midnight in New York is 05:00Z in winter and 04:00Z in summer",
            Words { day: Some(1), zone: "America/New_York", ..Words::default() },
            "2027-02-15T00:00:00Z",
            &["2027-03-01T05:00:00Z", "2027-04-01T04:00:00Z"],
        ),
    ];
    for (name, words, after, expected) in cases {
        let got: Vec<String> = rule(*words)
            .upcoming(ts(after), expected.len())
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(got, *expected, "{name}");
        assert_eq!(
            rule(*words)
                .next_run(ts(after))
                .map(|t| t.to_string())
                .as_deref(),
            Some(expected[0]),
            "{name}: next_run"
        );
    }
}

/// (rule, words, (year, month 1..=12), the day it runs on).
type MonthCase = (&'static str, Words, (i16, i8), Option<i8>);

#[test]
fn day_in_month_names_the_day_or_none() {
    let cases: &[MonthCase] = &[
        ("31st: April has none", MONTH_DAY_31, (2027, 4), None),
        ("31st: February has none", MONTH_DAY_31, (2027, 2), None),
        ("31st: May has one", MONTH_DAY_31, (2027, 5), Some(31)),
        (
            "29 February: 2027 has none",
            Words {
                month: Some(1),
                day: Some(29),
                ..Words::default()
            },
            (2027, 2),
            None,
        ),
        (
            "29 February: 2028 has one",
            Words {
                month: Some(1),
                day: Some(29),
                ..Words::default()
            },
            (2028, 2),
            Some(29),
        ),
        (
            "RunMonth 1 is February only",
            Words {
                month: Some(1),
                day: Some(29),
                ..Words::default()
            },
            (2028, 3),
            None,
        ),
        (
            "-1 in February 2028 is the 29th",
            Words {
                day: Some(-1),
                ..Words::default()
            },
            (2028, 2),
            Some(29),
        ),
        (
            "-1 in February 2027 is the 28th",
            Words {
                day: Some(-1),
                ..Words::default()
            },
            (2027, 2),
            Some(28),
        ),
        (
            "-31 in April has none",
            Words {
                day: Some(-31),
                ..Words::default()
            },
            (2027, 4),
            None,
        ),
        (
            "-31 in May is the 1st",
            Words {
                day: Some(-31),
                ..Words::default()
            },
            (2027, 5),
            Some(1),
        ),
        (
            "last Sunday of March 2027",
            LAST_SUNDAY_OF_MARCH,
            (2027, 3),
            Some(28),
        ),
        (
            "last Sunday of March 2028",
            LAST_SUNDAY_OF_MARCH,
            (2028, 3),
            Some(26),
        ),
        (
            "first Saturday on or after the 15th, August 2027",
            Words {
                day: Some(15),
                dow: Some(7),
                ..Words::default()
            },
            (2027, 8),
            Some(21),
        ),
        (
            "Saturday on or before the 20th, August 2027",
            Words {
                day: Some(20),
                dow: Some(-7),
                ..Words::default()
            },
            (2027, 8),
            Some(14),
        ),
        (
            "Sunday on or after the 30th spills out of February 2027",
            Words {
                day: Some(30),
                dow: Some(1),
                ..Words::default()
            },
            (2027, 2),
            None,
        ),
        (
            "Sunday on or after the 30th spills out of April 2027 (the 30th is a Friday)",
            Words {
                day: Some(30),
                dow: Some(1),
                ..Words::default()
            },
            (2027, 4),
            None,
        ),
        (
            "Sunday on or before the 1st falls before February 2027 (the 1st is a Monday)",
            Words {
                day: Some(1),
                dow: Some(-1),
                ..Words::default()
            },
            (2027, 2),
            None,
        ),
        (
            "RunDay 31 with -Saturday in April: the anchor day does not exist",
            Words {
                day: Some(31),
                dow: Some(-7),
                ..Words::default()
            },
            (2027, 4),
            None,
        ),
        (
            "first Monday, March 2027",
            Words {
                dow: Some(2),
                ..Words::default()
            },
            (2027, 3),
            Some(1),
        ),
        (
            "last Friday, April 2027",
            Words {
                dow: Some(-6),
                ..Words::default()
            },
            (2027, 4),
            Some(30),
        ),
        (
            "every day: the first is the 1st",
            Words {
                start: hm(2, 0),
                ..Words::default()
            },
            (2027, 4),
            Some(1),
        ),
        ("month 13 does not exist", MONTH_DAY_31, (2027, 13), None),
    ];
    for (name, words, (year, month), expected) in cases {
        assert_eq!(
            rule(*words).day_in_month(*year, *month),
            *expected,
            "{name}"
        );
    }
}

#[test]
fn runs_on_covers_every_day_rules() {
    let daily = rule(Words {
        start: hm(2, 0),
        ..Words::default()
    });
    let date = |y, m, d| Date::new(y, m, d).unwrap();
    assert!(daily.runs_on(date(2027, 4, 30)));
    assert!(daily.runs_on(date(2028, 2, 29)));
    let last_sunday = rule(LAST_SUNDAY_OF_MARCH);
    assert!(last_sunday.runs_on(date(2027, 3, 28)));
    assert!(!last_sunday.runs_on(date(2027, 3, 21)));
    assert!(!last_sunday.runs_on(date(2027, 4, 25)));
}

#[test]
fn the_zone_is_utc_the_jobs_or_the_services() {
    let new_york = TimeZone::get("America/New_York").unwrap();
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    let two = interval(120);
    let base = ScheduleFields {
        run_start_interval: Some(&two),
        ..Default::default()
    };
    let zone_of =
        |fields: ScheduleFields<'_>| calendar_rule(&fields, &new_york).unwrap().unwrap().zone;
    let cases: &[(&str, ScheduleFields<'_>, &TimeZone)] = &[
        (
            "LocalOrUtcTime NULL, no TimeZone: the service's zone",
            base,
            &new_york,
        ),
        (
            "LocalOrUtcTime 1 (Local Time), no TimeZone: the service's zone",
            ScheduleFields {
                local_or_utc_time: Some(1),
                ..base
            },
            &new_york,
        ),
        (
            "LocalOrUtcTime 1 with a TimeZone: the job's zone",
            ScheduleFields {
                local_or_utc_time: Some(1),
                time_zone: Some("Europe/Berlin"),
                ..base
            },
            &berlin,
        ),
        (
            "LocalOrUtcTime 2 (UTC Time): UTC, even with a TimeZone",
            ScheduleFields {
                local_or_utc_time: Some(2),
                time_zone: Some("Europe/Berlin"),
                ..base
            },
            &TimeZone::UTC,
        ),
    ];
    for (name, fields, expected) in cases {
        assert_eq!(zone_of(*fields), **expected, "{name}");
    }
}

// ---------------------------------------------------------------------------
// calendar_rule: what is accepted, what is refused

#[test]
fn calendar_rule_accepts_and_reads_the_defaults() {
    assert_eq!(
        calendar_rule(&ScheduleFields::default(), &TimeZone::UTC),
        Ok(None),
        "no calendar property at all: not a calendar job"
    );
    assert_eq!(
        calendar_rule(
            &ScheduleFields {
                local_or_utc_time: Some(2),
                time_zone: Some("Europe/Berlin"),
                ..Default::default()
            },
            &TimeZone::UTC
        ),
        Ok(None),
        "LocalOrUtcTime and TimeZone alone do not make a calendar job"
    );
    let r = rule(Words {
        month: Some(0),
        ..Words::default()
    });
    assert_eq!(
        r.start,
        SignedDuration::ZERO,
        "RunStartInterval unset is midnight"
    );
    assert_eq!((r.month, r.day, r.day_of_week), (Some(0), None, None));

    let two_hours_starred = CimDateTime::parse("0000000002****.******:000").unwrap();
    let fields = ScheduleFields {
        run_start_interval: Some(&two_hours_starred),
        ..Default::default()
    };
    assert_eq!(
        calendar_rule(&fields, &TimeZone::UTC)
            .unwrap()
            .unwrap()
            .start,
        SignedDuration::from_hours(2),
        "asterisked minutes and seconds count as 0"
    );
    let almost_a_day = CimDateTime::parse("00000000235959.999999:000").unwrap();
    let fields = ScheduleFields {
        run_start_interval: Some(&almost_a_day),
        ..Default::default()
    };
    assert!(
        calendar_rule(&fields, &TimeZone::UTC).unwrap().is_some(),
        "23:59:59.999999 is within the day"
    );
    for (day, dow) in [
        (Some(0), Some(2)),
        (None, Some(0)),
        (Some(31), None),
        (Some(-31), Some(-7)),
        (Some(29), Some(1)),
    ] {
        assert!(
            build(Words {
                day,
                dow,
                ..Words::default()
            })
            .unwrap()
            .is_some(),
            "{day:?} {dow:?}"
        );
    }
    // 29 February on or after, a Monday: only some leap years (2044 is the next), but some.
    let rare = rule(Words {
        month: Some(1),
        day: Some(29),
        dow: Some(2),
        ..Words::default()
    });
    assert_eq!(
        rare.next_run(ts("2027-01-01T00:00:00Z")),
        Some(ts("2044-02-29T00:00:00Z"))
    );
}

#[test]
fn calendar_rule_refuses_bad_values_naming_the_property() {
    let timestamp = CimDateTime::parse("20270101020000.000000+000").unwrap();
    let one_day = CimDateTime::parse("00000001000000.000000:000").unwrap();
    let forever = CimDateTime::parse("99999999235959.000000:000").unwrap();
    let hours_starred = CimDateTime::parse("00000000******.******:000").unwrap();
    let two = interval(120);
    let f = ScheduleFields::default();
    // (rule, fields, property named, fragment of the message)
    let cases: &[(&str, ScheduleFields<'_>, &str, &str)] = &[
        (
            "RunMonth above 11",
            ScheduleFields { run_month: Some(12), ..f },
            "RunMonth",
            "RunMonth 12 is out of range 0..=11 (0 = January)",
        ),
        ("RunDay above 31", ScheduleFields { run_day: Some(32), ..f }, "RunDay", "RunDay 32 is out of range -31..=31"),
        ("RunDay below -31", ScheduleFields { run_day: Some(-32), ..f }, "RunDay", "RunDay -32 is out of range -31..=31"),
        ("RunDay 0 alone", ScheduleFields { run_day: Some(0), ..f }, "RunDay", "RunDay 0 names no day"),
        (
            "RunDay 0 with RunDayOfWeek 0",
            ScheduleFields { run_day: Some(0), run_day_of_week: Some(0), ..f },
            "RunDay",
            "RunDay 0 names no day",
        ),
        (
            "RunDayOfWeek above 7",
            ScheduleFields { run_day_of_week: Some(8), ..f },
            "RunDayOfWeek",
            "RunDayOfWeek 8 is out of range -7..=7",
        ),
        (
            "RunDayOfWeek below -7",
            ScheduleFields { run_day_of_week: Some(-8), ..f },
            "RunDayOfWeek",
            "RunDayOfWeek -8 is out of range -7..=7",
        ),
        (
            "RunStartInterval that is a timestamp",
            ScheduleFields { run_start_interval: Some(&timestamp), ..f },
            "RunStartInterval",
            "RunStartInterval 20270101020000.000000+000 is a timestamp",
        ),
        (
            "RunStartInterval of 24 hours",
            ScheduleFields { run_start_interval: Some(&one_day), ..f },
            "RunStartInterval",
            "RunStartInterval 00000001000000.000000:000 is 24 hours or more",
        ),
        (
            "RunStartInterval \"for ever\"",
            ScheduleFields { run_start_interval: Some(&forever), ..f },
            "RunStartInterval",
            "is 24 hours or more",
        ),
        (
            "RunStartInterval with its hours asterisked",
            ScheduleFields { run_start_interval: Some(&hours_starred), ..f },
            "RunStartInterval",
            "has its days or hours asterisked",
        ),
        (
            "LocalOrUtcTime 0",
            ScheduleFields { run_start_interval: Some(&two), local_or_utc_time: Some(0), ..f },
            "LocalOrUtcTime",
            "LocalOrUtcTime 0 is not 1 (Local Time) or 2 (UTC Time)",
        ),
        (
            "LocalOrUtcTime 3, even without calendar properties",
            ScheduleFields { local_or_utc_time: Some(3), ..f },
            "LocalOrUtcTime",
            "LocalOrUtcTime 3 is not 1",
        ),
        (
            "unknown TimeZone",
            ScheduleFields { run_start_interval: Some(&two), time_zone: Some("Mars/Olympus_Mons"), ..f },
            "TimeZone",
            "TimeZone \"Mars/Olympus_Mons\" is not a known IANA time zone",
        ),
        (
            "30 February never occurs",
            ScheduleFields { run_month: Some(1), run_day: Some(30), ..f },
            "RunDay",
            "RunDay 30 never occurs in RunMonth 1 (February), which has at most 29 days",
        ),
        (
            "-30 in February never occurs",
            ScheduleFields { run_month: Some(1), run_day: Some(-30), ..f },
            "RunDay",
            "RunDay -30 never occurs in RunMonth 1 (February)",
        ),
        (
            "31 April never occurs",
            ScheduleFields { run_month: Some(3), run_day: Some(31), ..f },
            "RunDay",
            "RunDay 31 never occurs in RunMonth 3 (April), which has at most 30 days",
        ),
        (
            "31 November never occurs, whatever the weekday",
            ScheduleFields { run_month: Some(10), run_day: Some(31), run_day_of_week: Some(-7), ..f },
            "RunDay",
            "RunDay 31 with RunDayOfWeek -7 (Saturday on or before it) never occurs in RunMonth 10 (November)",
        ),
    ];
    for (name, fields, property, fragment) in cases {
        let err = calendar_rule(fields, &TimeZone::UTC).expect_err(name);
        assert_eq!(err.property, *property, "{name}: {err}");
        assert!(
            err.to_string().contains(fragment),
            "{name}: {err:?} lacks {fragment:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// resolve_time: ScheduledStartTime and UntilTime

#[test]
fn resolve_time_reads_absolute_interval_and_for_ever() {
    let submitted = ts("2027-01-01T12:00:00Z");
    // (rule, property, value, instant or None for "for ever")
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        (
            "an absolute time with its UTC offset",
            "ScheduledStartTime",
            "20270314023000.000000-300",
            Some("2027-03-14T07:30:00Z"),
        ),
        (
            "an absolute UntilTime",
            "UntilTime",
            "20271231235959.000000+060",
            Some("2027-12-31T22:59:59Z"),
        ),
        (
            "an interval counts from submission",
            "UntilTime",
            "00000001023000.000000:000",
            Some("2027-01-02T14:30:00Z"),
        ),
        (
            "the zero interval is the submission time",
            "ScheduledStartTime",
            "00000000000000.000000:000",
            Some("2027-01-01T12:00:00Z"),
        ),
        (
            "for ever: all nines (CIM 2.41 and earlier)",
            "UntilTime",
            "99999999999999.999999:000",
            None,
        ),
        (
            "for ever: all nines as a timestamp",
            "UntilTime",
            "99999999999999.999999+000",
            None,
        ),
        (
            "for ever: infinite duration (CIM 2.49)",
            "UntilTime",
            "99999999235959.000000:000",
            None,
        ),
        (
            "for ever: infinite future (CIM 2.49)",
            "UntilTime",
            "99991231115959.999999-720",
            None,
        ),
    ];
    for (name, property, value, expected) in cases {
        let property: &'static str = match *property {
            "UntilTime" => "UntilTime",
            _ => "ScheduledStartTime",
        };
        let v = CimDateTime::parse(value).unwrap();
        let got = resolve_time(property, &v, submitted).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.map(|t| t.to_string()).as_deref(), *expected, "{name}");
    }
}

#[test]
fn resolve_time_refuses_unusable_values_naming_the_property() {
    let submitted = ts("2027-01-01T12:00:00Z");
    // (rule, property, value, fragment of the message)
    let cases: &[(&str, &'static str, &str, &str)] = &[
        (
            "an asterisked timestamp",
            "UntilTime",
            "20270314******.******+000",
            "UntilTime 20270314******.******+000 has asterisked",
        ),
        (
            "an asterisked interval",
            "ScheduledStartTime",
            "00000001******.******:000",
            "ScheduledStartTime 00000001******.******:000 has asterisked",
        ),
        (
            "asterisked microseconds",
            "UntilTime",
            "20270314023000.123***+000",
            "has asterisked",
        ),
        (
            "the all-zero timestamp",
            "ScheduledStartTime",
            "00000000000000.000000+000",
            "names no instant",
        ),
    ];
    for (name, property, value, fragment) in cases {
        let v = CimDateTime::parse(value).unwrap();
        let err = resolve_time(property, &v, submitted).expect_err(name);
        assert_eq!(err.property, *property, "{name}");
        assert!(
            err.message.contains(fragment),
            "{name}: {err:?} lacks {fragment:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Properties: next_run against a brute-force reading of the rule's words

/// Whether the rule's words pick `date`, decided without `day_in_month`: list every day of
/// the month and pick by the words (the RunDay-th from the start or the end; the first
/// such weekday at or after it, or the last at or before it).
fn words_pick(w: &Words, date: Date) -> bool {
    if w.month
        .is_some_and(|m| i16::from(m) + 1 != i16::from(date.month()))
    {
        return false;
    }
    let month: Vec<Date> = (1..=31)
        .filter_map(|d| Date::new(date.year(), date.month(), d).ok())
        .collect();
    let nth = |d: i8| -> Option<Date> {
        if d > 0 {
            month.get(d as usize - 1).copied()
        } else {
            month
                .len()
                .checked_sub(d.unsigned_abs() as usize)
                .map(|i| month[i])
        }
    };
    let is_weekday = |x: &&Date, w: i8| x.weekday().to_sunday_one_offset() == w.abs();
    let picked = match (w.day.unwrap_or(0), w.dow.unwrap_or(0)) {
        (0, 0) => return true, // every day
        (d, 0) => nth(d),
        (0, dow) if dow > 0 => month.iter().find(|x| is_weekday(x, dow)).copied(),
        (0, dow) => month.iter().rev().find(|x| is_weekday(x, dow)).copied(),
        (d, dow) => nth(d).and_then(|anchor| {
            if dow > 0 {
                month
                    .iter()
                    .filter(|x| **x >= anchor)
                    .find(|x| is_weekday(x, dow))
                    .copied()
            } else {
                month
                    .iter()
                    .filter(|x| **x <= anchor)
                    .rev()
                    .find(|x| is_weekday(x, dow))
                    .copied()
            }
        }),
    };
    picked == Some(date)
}

/// Decides "is this instant a run of the rule?" from the words, minute by minute.
///
/// Daylight saving, deliberately: a run is "local date D at wall-clock time S". We ask the
/// zone what S on D is (`to_ambiguous_timestamp(..).offset()`, not the `compatible()` the code
/// under test uses) and restate RFC 5545's rule ourselves:
/// - S exists once: the run is S at that offset;
/// - S is skipped (spring-forward gap): read S with the offset in force *before* the gap,
///   which lands the gap's length later on the wall clock (02:30 → 03:30 EDT);
/// - S happens twice (fall-back fold): read S with the offset *before* the transition,
///   which is the earlier of the two instants, so the later one is not a run.
///
/// A run shifted forward by a gap can cross local midnight, so both the instant's local
/// date and the day before are candidates for D. The expected instant of each date is
/// memoised, since the brute force asks about every minute.
struct Oracle {
    words: Words,
    zone: TimeZone,
    expected: HashMap<Date, Option<Timestamp>>,
    /// The last local date asked about and the runs of it and the day before: consecutive
    /// minutes share a date, so most questions are answered here.
    last: Option<(Date, [Option<Timestamp>; 2])>,
}

impl Oracle {
    fn new(words: Words) -> Oracle {
        Oracle {
            words,
            zone: zone(words.zone),
            expected: HashMap::new(),
            last: None,
        }
    }

    fn run_on(&mut self, date: Date) -> Option<Timestamp> {
        let (words, zone) = (self.words, &self.zone);
        *self.expected.entry(date).or_insert_with(|| {
            if !words_pick(&words, date) {
                return None;
            }
            let minutes = words.start.unwrap_or(0);
            let wall = date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
            let offset = match zone.to_ambiguous_timestamp(wall).offset() {
                AmbiguousOffset::Unambiguous { offset } => offset,
                AmbiguousOffset::Gap { before, .. } => before,
                AmbiguousOffset::Fold { before, .. } => before,
            };
            Some(offset.to_timestamp(wall).unwrap())
        })
    }

    fn matches(&mut self, instant: Timestamp) -> bool {
        let local = self.zone.to_datetime(instant).date();
        let runs = match self.last {
            Some((date, runs)) if date == local => runs,
            _ => {
                let runs = [self.run_on(local), self.run_on(local.yesterday().unwrap())];
                self.last = Some((local, runs));
                runs
            }
        };
        runs.contains(&Some(instant))
    }
}

const ZONES: [&str; 3] = ["", "America/New_York", "Europe/Berlin"];

/// The days daylight saving changes in New York and Berlin, 2026–2029 (all Sundays).
const TRANSITIONS: [(&str, &str); 16] = [
    ("America/New_York", "2026-03-08"),
    ("America/New_York", "2026-11-01"),
    ("America/New_York", "2027-03-14"),
    ("America/New_York", "2027-11-07"),
    ("America/New_York", "2028-03-12"),
    ("America/New_York", "2028-11-05"),
    ("America/New_York", "2029-03-11"),
    ("America/New_York", "2029-11-04"),
    ("Europe/Berlin", "2026-03-29"),
    ("Europe/Berlin", "2026-10-25"),
    ("Europe/Berlin", "2027-03-28"),
    ("Europe/Berlin", "2027-10-31"),
    ("Europe/Berlin", "2028-03-26"),
    ("Europe/Berlin", "2028-10-29"),
    ("Europe/Berlin", "2029-03-25"),
    ("Europe/Berlin", "2029-10-28"),
];

/// Longest stretch brute-forced minute by minute (a little over a year). A result further
/// away (29 February on a Monday, say) is checked to have no match in this window.
const WINDOW: SignedDuration = SignedDuration::from_hours(24 * 370);

fn words_strategy() -> impl Strategy<Value = Words> {
    (
        prop_oneof![2 => Just(None), 1 => (0u8..12).prop_map(Some)],
        prop_oneof![1 => Just(None), 3 => (-31i8..=31).prop_map(Some)],
        prop_oneof![2 => Just(None), 1 => Just(Some(0)), 3 => (-7i8..=7).prop_map(Some)],
        // Whole minutes; half of them between 01:00 and 04:00, where the transitions are.
        prop_oneof![
            (0u32..1440).prop_map(Some),
            (60u32..240).prop_map(Some),
            Just(None)
        ],
        prop::sample::select(&ZONES[..]),
    )
        .prop_map(|(month, day, dow, start, zone)| Words {
            month,
            day,
            dow,
            start,
            zone,
        })
}

fn after_strategy() -> impl Strategy<Value = Timestamp> {
    let uniform = (
        ts("2026-01-01T00:00:00Z").as_second()..ts("2030-01-01T00:00:00Z").as_second(),
        0i32..1_000_000_000,
    )
        .prop_map(|(s, ns)| Timestamp::new(s, ns).unwrap());
    // Up to three days before a transition, so daily rules cross it.
    let near_transition =
        (prop::sample::select(&TRANSITIONS[..]), 0i64..3 * 86_400).prop_map(|((_, day), back)| {
            ts(&format!("{day}T00:00:00Z")) - SignedDuration::from_secs(back)
        });
    prop_oneof![uniform, near_transition]
}

/// The first whole minute strictly after `t`.
fn next_minute(t: Timestamp) -> Timestamp {
    Timestamp::from_second((t.as_second().div_euclid(60) + 1) * 60).unwrap()
}

/// Every whole minute in (`after`, `until`) is not a run.
fn assert_no_run_between(
    oracle: &mut Oracle,
    after: Timestamp,
    until: Timestamp,
) -> Result<(), TestCaseError> {
    let mut t = next_minute(after);
    while t < until {
        prop_assert!(
            !oracle.matches(t),
            "{:?}: {} was skipped (after {})",
            oracle.words,
            t,
            after
        );
        t += SignedDuration::from_mins(1);
    }
    Ok(())
}

/// The three properties of `next_run` for a valid rule: (1) strictly after `after`; (2) a
/// run of the rule's words; (3) no run skipped in between (within [`WINDOW`]).
fn check_next_run(
    rule: &CalendarRule,
    words: Words,
    after: Timestamp,
) -> Result<(), TestCaseError> {
    let next = rule.next_run(after);
    prop_assert!(
        next.is_some(),
        "{words:?}: a valid rule always has a next run"
    );
    let next = next.unwrap();
    let mut oracle = Oracle::new(words);
    // (1) strictly after
    prop_assert!(next > after, "{words:?}: {next} is not after {after}");
    // (2) matches the rule's words, at a whole minute
    prop_assert_eq!(next.subsec_nanosecond(), 0);
    prop_assert_eq!(
        next.as_second().rem_euclid(60),
        0,
        "{} is not a whole minute",
        next
    );
    prop_assert!(oracle.matches(next), "{words:?}: {next} is not a run");
    // (3) nothing skipped
    assert_no_run_between(&mut oracle, after, next.min(after + WINDOW))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// For valid rules: the next run is strictly after `after`, is a run of the rule, and no
    /// run lies between them.
    #[test]
    fn next_run_is_the_first_match_strictly_after(words in words_strategy(), after in after_strategy()) {
        let built = build(words);
        prop_assume!(matches!(built, Ok(Some(_))), "refused: {:?}", built);
        check_next_run(&built.unwrap().unwrap(), words, after)?;
    }


    /// Rules whose run can fall on a daylight-saving change (every day, that day of the
    /// month, the first or last Sunday), started 00:00–05:00 local, asked about from up to
    /// two days before the change: the gap and the fold are crossed deliberately.
    #[test]
    fn runs_across_daylight_saving_changes(
        (zone_name, day) in prop::sample::select(&TRANSITIONS[..]),
        kind in 0usize..4,
        start in 0u32..300,
        back in 0i64..2 * 86_400,
    ) {
        let date: Date = day.parse().unwrap();
        let base = match kind {
            0 => Words::default(),
            1 => Words { day: Some(date.day()), ..Words::default() },
            2 => Words { dow: Some(1), ..Words::default() },
            _ => Words { day: Some(-1), dow: Some(-1), ..Words::default() },
        };
        let words = Words { start: Some(start), zone: zone_name, ..base };
        let after = ts(&format!("{day}T12:00:00Z")) - SignedDuration::from_secs(back);
        check_next_run(&rule(words), words, after)?;
    }
}

proptest! {
    // Fewer cases: a rule with no run is brute-forced over a whole year, minute by minute.
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// Rules written down directly, many of them impossible (the 30th of February, the 31st
    /// of a 30-day month): `next_run` is `None` exactly when `calendar_rule` refuses them, and
    /// then no minute of a year matches; otherwise the result is the first match.
    #[test]
    fn impossible_rules_have_no_run(
        month in prop::sample::select(vec![1u8, 3, 5, 8, 10]),
        day in prop::sample::select(vec![29i8, 30, 31, -29, -30, -31]),
        dow in prop_oneof![Just(None), (-7i8..=7).prop_map(Some)],
        start in 0u32..1440,
        zone_name in prop::sample::select(&ZONES[..]),
        after in after_strategy(),
    ) {
        let words = Words { month: Some(month), day: Some(day), dow, start: Some(start), zone: zone_name };
        let rule = CalendarRule {
            month: Some(month),
            day: Some(day),
            day_of_week: dow,
            start: SignedDuration::from_mins(i64::from(start)),
            zone: zone(zone_name),
        };
        let mut oracle = Oracle::new(words);
        match rule.next_run(after) {
            None => {
                let err = build(words).expect_err("a rule with no run is refused");
                prop_assert_eq!(err.property, "RunDay");
                prop_assert!(err.message.contains("never occurs"), "{}", err);
                assert_no_run_between(&mut oracle, after, after + SignedDuration::from_hours(24 * 366))?;
            }
            Some(next) => {
                prop_assert_eq!(build(words).map(|r| r.is_some()), Ok(true));
                prop_assert!(next > after);
                prop_assert!(oracle.matches(next), "{words:?}: {next} is not a run");
                assert_no_run_between(&mut oracle, after, next.min(after + WINDOW))?;
            }
        }
    }
}

#[test]
fn upcoming_is_next_run_repeated() {
    let r = rule(Words {
        day: Some(-1),
        dow: Some(-1),
        start: hm(2, 30),
        zone: "Europe/Berlin",
        ..Words::default()
    });
    let after = ts("2027-01-01T00:00:00Z");
    let runs = r.upcoming(after, 24);
    assert_eq!(runs.len(), 24);
    let mut last = after;
    for run in &runs {
        assert_eq!(r.next_run(last), Some(*run));
        last = *run;
    }
    assert!(r.upcoming(after, 0).is_empty());
}

#[test]
fn a_rule_with_no_date_has_no_run() {
    let feb30 = CalendarRule {
        month: Some(1),
        day: Some(30),
        day_of_week: None,
        start: SignedDuration::ZERO,
        zone: TimeZone::UTC,
    };
    assert_eq!(feb30.next_run(ts("2027-01-01T00:00:00Z")), None);
    assert!(feb30.upcoming(ts("2027-01-01T00:00:00Z"), 3).is_empty());
    let bad_start = CalendarRule {
        month: None,
        day: None,
        start: SignedDuration::from_hours(24),
        ..feb30
    };
    assert_eq!(
        bad_start.next_run(ts("2027-01-01T00:00:00Z")),
        None,
        "a start of 24 h is outside the day"
    );
}
