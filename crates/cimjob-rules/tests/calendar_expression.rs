//! Calendar expressions checked against a second implementation: systemd's own
//! (`systemd-analyze calendar`, from Debian's systemd; `run-tests` installs it).
//!
//! The two agree on every instant but two kinds. By design (see `schedule::expression`): a
//! local time that a DST gap skips is moved forward by the gap and runs once here, where
//! systemd skips it. And a local time that happens twice runs here at its first instant,
//! always; systemd 252 takes the first for most expressions but the second for some (with
//! `~` days). So each comparison asks that every instant systemd names is ours too, or the
//! second instant of a local time whose first is ours, and that each other instant only we
//! name lies within a gap's length after a gap: a moved one.
//! The table names those moved runs exactly, across the DST changes of Europe/Berlin,
//! America/New_York and Australia/Lord_Howe (whose changes are 30 minutes).

use std::process::Command;

use cimjob_rules::plan::Recurrence;
use cimjob_rules::schedule::CalendarExpression;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

/// systemd's next `n` instants of `expr` in `zone` after `base`.
fn systemd(expr: &str, zone: &str, base: Timestamp, n: usize) -> Vec<Timestamp> {
    let output = Command::new("systemd-analyze")
        .env("TZ", "UTC")
        .arg("calendar")
        .arg(format!("--base-time=@{}", base.as_second()))
        .arg(format!("--iterations={n}"))
        .arg(format!("{expr} {zone}"))
        .output()
        .expect("systemd-analyze runs (Debian's systemd package; run-tests installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "systemd-analyze refused {expr:?} in {zone}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .filter(|l| l.contains("Next elapse:") || l.contains("Iter. #"))
        .filter(|l| !l.contains("never"))
        .map(|l| {
            // "    Next elapse: Sun 2027-03-28 01:00:00 UTC"
            let fields: Vec<&str> = l.split_whitespace().collect();
            let n = fields.len();
            format!("{}T{}Z", fields[n - 3], fields[n - 2])
                .parse()
                .unwrap_or_else(|e| panic!("systemd-analyze said {l:?}: {e}"))
        })
        .collect()
}

/// Compares ours with systemd's; the instants only we name, each checked to be moved by a gap.
fn moved_runs(expr: &str, zone_name: &str, base: Timestamp, n: usize) -> Vec<Timestamp> {
    let zone = TimeZone::get(zone_name).unwrap();
    let theirs = systemd(expr, zone_name, base, n);
    let e = match CalendarExpression::parse(expr) {
        Ok(e) => e,
        Err(err) => {
            // refused as naming no date at all: systemd must find none either
            assert!(err.message.contains("names no date"), "{expr:?}: {err}");
            assert_eq!(
                theirs,
                [],
                "{expr:?} in {zone_name}: systemd finds runs we refuse"
            );
            return Vec::new();
        }
    };
    let ours = Recurrence::Expression(e, zone.clone()).upcoming(base, n);
    let horizon = match (ours.last(), theirs.last()) {
        (Some(a), Some(b)) => *a.min(b),
        _ => {
            assert_eq!(ours, theirs, "{expr:?} in {zone_name} after {base}");
            return Vec::new();
        }
    };
    let ours: Vec<Timestamp> = ours.into_iter().filter(|t| *t <= horizon).collect();
    let theirs: Vec<Timestamp> = theirs.into_iter().filter(|t| *t <= horizon).collect();
    // a local time that happens twice: its first instant (ours, always), and its second
    // (systemd 252 takes it for some expressions: `*-*~01 *:6/15` on 2027-10-31 in Berlin,
    // where `*:6/15` takes the first)
    let first_pass = |t: &Timestamp| {
        let wall = zone.to_datetime(*t);
        zone.to_ambiguous_timestamp(wall).earlier().ok()
    };
    let mut second_passes = Vec::new();
    for t in &theirs {
        let first = first_pass(t).filter(|f| f != t && ours.contains(f));
        assert!(
            ours.contains(t) || first.is_some(),
            "{expr:?} in {zone_name} after {base}: systemd runs at {t}, we do not\nours:   {ours:?}\nsystemd: {theirs:?}"
        );
        second_passes.extend(first);
    }
    let moved: Vec<Timestamp> = ours
        .iter()
        .filter(|t| !theirs.contains(t) && !second_passes.contains(t))
        .copied()
        .collect();
    for t in &moved {
        let gap = zone
            .preceding(*t + SignedDuration::from_nanos(1))
            .next()
            .filter(|tr| {
                let before = zone.to_offset(tr.timestamp() - SignedDuration::from_nanos(1));
                let len = tr.offset().duration_since(before);
                len.is_positive() && *t < tr.timestamp() + len
            });
        assert!(
            gap.is_some(),
            "{expr:?} in {zone_name} after {base}: we run at {t} and systemd does not, but no DST gap moved it\nours:   {ours:?}\nsystemd: {theirs:?}"
        );
    }
    moved
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Each row: an expression, a zone, where to start, how many runs, and the runs a DST gap
/// moved (systemd skips them).
#[test]
fn next_runs_across_dst_changes_agree_with_systemd() {
    let table: &[(&str, &str, &str, usize, &[&str])] = &[
        // Europe/Berlin: 2027-03-28 02:00 CET → 03:00 CEST; 2027-10-31 03:00 CEST → 02:00 CET
        (
            "*-*-* 02:30",
            "Europe/Berlin",
            "2027-03-26T12:00:00Z",
            5,
            &["2027-03-28T01:30:00Z"],
        ),
        (
            "*-*-* 02:30",
            "Europe/Berlin",
            "2027-10-29T12:00:00Z",
            5,
            &[],
        ),
        ("*:0/15", "Europe/Berlin", "2027-03-28T00:00:00Z", 12, &[]),
        ("*:0/30", "Europe/Berlin", "2027-10-30T23:00:00Z", 12, &[]),
        ("hourly", "Europe/Berlin", "2027-10-30T22:00:00Z", 8, &[]),
        (
            "Mon,Thu 02:00",
            "Europe/Berlin",
            "2027-03-20T00:00:00Z",
            6,
            &[],
        ),
        (
            "Sun 02:45",
            "Europe/Berlin",
            "2027-03-20T00:00:00Z",
            3,
            &["2027-03-28T01:45:00Z"],
        ),
        (
            "*-*-* 02,03:10,50",
            "Europe/Berlin",
            "2027-03-27T12:00:00Z",
            8,
            &[],
        ),
        ("*:*:0/20", "Europe/Berlin", "2027-03-28T01:00:30Z", 6, &[]),
        ("*:*:0/20", "Europe/Berlin", "2027-10-31T00:59:30Z", 9, &[]),
        (
            "*-*~01 *:6/15",
            "Europe/Berlin",
            "2027-10-31T00:00:00Z",
            8,
            &[],
        ),
        // two-digit years: 19YY from 70, else 20YY, each end on its own
        (
            "99..28-02-29 12:00",
            "Europe/Berlin",
            "2027-01-01T00:00:00Z",
            3,
            &[],
        ),
        // America/New_York: 2027-03-14 02:00 EST → 03:00 EDT; 2027-11-07 02:00 EDT → 01:00 EST
        (
            "Mon..Fri 18:30",
            "America/New_York",
            "2027-03-10T00:00:00Z",
            6,
            &[],
        ),
        (
            "*-*-* 02:30",
            "America/New_York",
            "2027-03-12T12:00:00Z",
            4,
            &["2027-03-14T07:30:00Z"],
        ),
        (
            "*-*-* 01:30",
            "America/New_York",
            "2027-11-05T12:00:00Z",
            4,
            &[],
        ),
        (
            "*:0/20",
            "America/New_York",
            "2027-11-07T04:00:00Z",
            12,
            &[],
        ),
        (
            "Sun *-*-1..7 02:15",
            "America/New_York",
            "2027-02-01T00:00:00Z",
            3,
            &[],
        ),
        (
            "*-*~1 23:00",
            "America/New_York",
            "2027-01-15T00:00:00Z",
            4,
            &[],
        ),
        // Australia/Lord_Howe: 2027-04-04 02:00 → 01:30 (+11 → +10:30);
        // 2027-10-03 02:00 → 02:30 (+10:30 → +11)
        (
            "*-*-* 01:45",
            "Australia/Lord_Howe",
            "2027-04-02T00:00:00Z",
            4,
            &[],
        ),
        (
            "*:0/15",
            "Australia/Lord_Howe",
            "2027-04-03T14:00:00Z",
            10,
            &[],
        ),
        (
            "*-*-* 02:15",
            "Australia/Lord_Howe",
            "2027-10-01T00:00:00Z",
            4,
            &["2027-10-02T15:45:00Z"],
        ),
        (
            "*:0/10",
            "Australia/Lord_Howe",
            "2027-10-02T15:00:00Z",
            8,
            &[],
        ),
        (
            "Sat,Sun 02:20",
            "Australia/Lord_Howe",
            "2027-09-28T00:00:00Z",
            3,
            &["2027-10-02T15:50:00Z"],
        ),
    ];
    for (expr, zone, base, n, expected) in table {
        let moved = moved_runs(expr, zone, at(base), *n);
        let expected: Vec<Timestamp> = expected.iter().map(|s| at(s)).collect();
        assert_eq!(
            moved, expected,
            "{expr:?} in {zone} after {base}: the runs a gap moved"
        );
    }
}

/// Minute steps that divide the hour.
const DIVIDE_THE_HOUR: &[u8] = &[1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];

/// Expressions as people write them: weekday lists and ranges, dates with steps and `~`,
/// lists of hours and minute steps, the shorthands.
fn expression() -> impl Strategy<Value = String> {
    let weekdays = prop_oneof![
        Just(String::new()),
        Just("Mon ".to_string()),
        Just("Mon,Thu ".to_string()),
        Just("Mon..Fri ".to_string()),
        Just("Sat,Sun ".to_string()),
        Just("Tue..Thu,Sun ".to_string()),
    ];
    let date = prop_oneof![
        Just(String::new()),
        Just("*-*-* ".to_string()),
        (1..=28u8).prop_map(|d| format!("*-*-{d:02} ")),
        (1..=12u8, 1..=31u8).prop_map(|(m, d)| format!("*-{m:02}-{d:02} ")),
        (1..=7u8).prop_map(|d| format!("*-*~{d:02} ")),
        (1..=6u8, 2..=4u8).prop_map(|(m, s)| format!("*-{m}/{s}-01 ")),
        (1..=15u8).prop_map(|d| format!("*-*-{d}..{} ", d + 6)),
        (2027..=2030u16, 1..=12u8).prop_map(|(y, m)| format!("{y}-{m:02}-* ")),
    ];
    let time = prop_oneof![
        (0..24u8, 0..60u8).prop_map(|(h, m)| format!("{h:02}:{m:02}")),
        (0..24u8, 0..24u8, 0..60u8).prop_map(|(a, b, m)| format!("{a},{b}:{m:02}")),
        // steps that divide the hour: systemd 252 skips local midnight for the others
        // (see a_minute_step_runs_at_midnight_where_systemd_252_skips_it)
        prop::sample::select(DIVIDE_THE_HOUR).prop_map(|s| format!("*:0/{s}")),
        (0..20u8, 1..=4u8, prop::sample::select(DIVIDE_THE_HOUR))
            .prop_map(|(h, w, s)| format!("{h}..{}:0/{s}", h + w)),
        (0..60u8, prop::sample::select(DIVIDE_THE_HOUR))
            .prop_map(|(m, s)| format!("*:{}/{s}", m % s)),
        (0..24u8, 0..60u8, 0..60u8).prop_map(|(h, m, s)| format!("{h}:{m}:{s}")),
        Just("*:*:0/20".to_string()),
    ];
    prop_oneof![
        8 => (weekdays, date, time).prop_map(|(w, d, t)| format!("{w}{d}{t}")),
        1 => prop_oneof![
            Just("hourly".to_string()),
            Just("daily".to_string()),
            Just("weekly".to_string()),
            Just("monthly".to_string()),
            Just("quarterly".to_string()),
            Just("minutely".to_string()),
        ],
    ]
}

proptest! {
    // A fixed seed, so a quirk of systemd's that no run has met yet cannot fail a CI run at
    // random; `PROPTEST_RNG_SEED=N` explores others (random seeds found the two above).
    #![proptest_config(ProptestConfig {
        cases: 160,
        failure_persistence: None,
        rng_seed: std::env::var("PROPTEST_RNG_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(proptest::test_runner::RngSeed::Fixed(20_270_328)),
        ..ProptestConfig::default()
    })]

    /// Any expression, in any of the zones, from any moment of 2027–2029 (DST changes and
    /// all): systemd's runs are ours, and ours that systemd lacks were moved by a gap.
    #[test]
    fn any_expression_agrees_with_systemd(
        expr in expression(),
        zone in prop_oneof![
            Just("Europe/Berlin"),
            Just("America/New_York"),
            Just("Australia/Lord_Howe"),
            Just("UTC"),
        ],
        base in 1_798_761_600i64..1_893_456_000,
    ) {
        moved_runs(&expr, zone, Timestamp::from_second(base).unwrap(), 24);
    }
}

/// `*:0/16` names minutes 0, 16, 32 and 48 of every hour, midnight's too. systemd 252 skips
/// local midnight for such steps (from 23:30 UTC it gives 23:32, 23:48, 00:16), so this is
/// checked here, not against it.
#[test]
fn a_minute_step_runs_at_midnight_where_systemd_252_skips_it() {
    let e = CalendarExpression::parse("*:0/16").unwrap();
    let runs: Vec<String> = Recurrence::Expression(e.clone(), TimeZone::UTC)
        .upcoming(at("2028-08-24T23:30:00Z"), 4)
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(
        runs,
        [
            "2028-08-24T23:32:00Z",
            "2028-08-24T23:48:00Z",
            "2028-08-25T00:00:00Z",
            "2028-08-25T00:16:00Z"
        ]
    );
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    let midnight = e.next_run(at("2028-08-24T21:50:00Z"), &berlin).unwrap();
    assert_eq!(midnight.to_string(), "2028-08-24T22:00:00Z", "00:00 CEST");
}

#[test]
fn a_bad_expression_is_refused_naming_what_is_wrong() {
    for (expr, says) in [
        ("", "is empty"),
        ("Mon 25:00", "hour 25"),
        ("*-13-01", "month 13"),
        ("*-02-30..29", "backwards"),
        ("Mon..Sun,Funday", "weekday"),
        ("*:0/0", "step"),
        ("12:00 Europe/Berlin", "TimeZone"),
        ("12:00 UTC", "TimeZone"),
        ("12:00:00.5", "fractional"),
        ("2027-02-29", "no date"),
        ("1969-01-01", "1969"),
        ("2200-01-01", "2200"),
        ("30..99-01-01", "backwards"),
        ("12:00 extra", "\"extra\""),
        ("*-*-* 12", "HOUR:MINUTE"),
    ] {
        let err = CalendarExpression::parse(expr).expect_err(expr);
        assert_eq!(err.property, "CalendarExpression");
        assert!(err.message.contains(says), "{expr:?}: {}", err.message);
        assert!(
            err.message.contains(&format!("{expr:?}")),
            "{}",
            err.message
        );
    }
}
