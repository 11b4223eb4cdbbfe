//! Any UTF-8 text as a CIM datetime: `CimDateTime::parse` must not panic,
//! and whatever it accepts must print (`Display`) as text that parses back
//! to an equal value. The conversions to jiff must not panic either, and
//! a fully significant value they accept converts back to itself.
//!
//! The property itself is `datetime_round_trips` in `fuzz/properties.rs`, shared with
//! the regression tests in `crates/cim/tests/fuzz_regressions.rs`.

#![no_main]

// Each target uses one of the shared properties.
#[allow(dead_code)]
#[path = "../properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| properties::datetime_round_trips(data));
