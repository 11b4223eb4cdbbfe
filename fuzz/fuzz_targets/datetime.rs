//! Any UTF-8 text as a CIM datetime: `CimDateTime::parse` must not panic,
//! and whatever it accepts must print (`Display`) as text that parses back
//! to an equal value. The conversions to jiff must not panic either, and
//! a fully significant value they accept converts back to itself.

#![no_main]

use cim::CimDateTime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(value) = CimDateTime::parse(text) else {
        return;
    };
    let printed = value.to_string();
    match CimDateTime::parse(&printed) {
        Ok(again) => assert_eq!(again, value, "{text:?} printed as {printed:?}"),
        Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
    }

    let _ = (value.is_interval(), value.is_forever(), value.is_zero());
    let full = value.significant_digits() == 20;
    if let Ok(ts) = value.to_timestamp() {
        let offset = value.offset_minutes().expect("a timestamp has an offset");
        // Same civil fields and offset; only a `-000` offset (kept as
        // written by parse) comes back as `+000`.
        let back = CimDateTime::from_timestamp(ts, offset)
            .unwrap_or_else(|e| panic!("{text:?} -> {ts}, which does not convert back: {e}"));
        assert_eq!(
            back.offset_minutes(),
            Some(offset),
            "{text:?} -> {ts} -> {back}"
        );
        assert_eq!(
            back.to_string()[..21],
            printed[..21],
            "{text:?} -> {ts} -> {back}"
        );
    }
    if let Ok(d) = value.to_duration() {
        // from_duration refuses what would print as a "for ever" interval.
        if let (true, Ok(back)) = (full, CimDateTime::from_duration(d)) {
            assert_eq!(back, value, "{text:?} -> {d:?}");
        }
    }
    let _ = value.to_span();
});
