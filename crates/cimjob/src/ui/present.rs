//! Values as an operator reads them: times local with their zone and relative to now
//! ("in 5 min"), durations in words, numbers with their value-map names.

use cim::{CimDateTime, CimValue, PropertyDecl};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// A moment as the page shows it: local time with the zone, and how far from now.
pub fn moment(at: Timestamp, zone: &TimeZone, now: Timestamp) -> String {
    let local = at.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S %Z");
    format!("{local} ({})", relative(at, now))
}

/// "in 5 min", "3 h ago", "now".
pub fn relative(at: Timestamp, now: Timestamp) -> String {
    let secs = at.duration_since(now).as_secs();
    if secs.abs() < 1 {
        return "now".into();
    }
    let words = span(SignedDuration::from_secs(secs.abs()));
    if secs > 0 {
        format!("in {words}")
    } else {
        format!("{words} ago")
    }
}

/// A length of time in its largest unit: "42 s", "5 min", "3 h", "2 days".
pub fn span(d: SignedDuration) -> String {
    let secs = d.as_secs().abs();
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86400 => format!("{} h", secs / 3600),
        _ if secs < 2 * 86400 => "1 day".into(),
        _ => format!("{} days", secs / 86400),
    }
}

/// A property's value for people: NULL, a value-map name beside its number, a timestamp as a
/// [`moment`], an interval also in words, an array's items joined.
pub fn value(
    decl: &PropertyDecl,
    value: Option<&CimValue>,
    zone: &TimeZone,
    now: Timestamp,
) -> String {
    let Some(value) = value else {
        return "NULL".into();
    };
    match value {
        CimValue::Array(items) => items
            .items()
            .iter()
            .map(|item| one(decl, item, zone, now))
            .collect::<Vec<_>>()
            .join(", "),
        item => one(decl, item, zone, now),
    }
}

fn one(decl: &PropertyDecl, value: &CimValue, zone: &TimeZone, now: Timestamp) -> String {
    if let Some(name) = decl.value_name(value) {
        return format!("{name} ({value})");
    }
    match value {
        CimValue::DateTime(d) => datetime(d, zone, now),
        other => other.to_string(),
    }
}

fn datetime(d: &CimDateTime, zone: &TimeZone, now: Timestamp) -> String {
    if d.is_interval() {
        return match d.to_duration() {
            Ok(length) => format!("{} ({d})", span(length)),
            Err(_) => d.to_string(),
        };
    }
    match d.to_timestamp() {
        Ok(at) => moment(at, zone, now),
        Err(_) => d.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_local_and_relative() {
        let now: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        let soon = now + SignedDuration::from_secs(300);
        assert_eq!(
            moment(soon, &zone, now),
            "2026-12-07 11:05:00 CET (in 5 min)"
        );
        assert_eq!(
            relative(now - SignedDuration::from_secs(7200), now),
            "2 h ago"
        );
        assert_eq!(relative(now, now), "now");
        assert_eq!(span(SignedDuration::from_secs(3 * 86400)), "3 days");
    }
}
