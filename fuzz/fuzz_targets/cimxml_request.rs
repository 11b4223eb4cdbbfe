//! Any bytes as a CIM-XML request body: `read_request` must not panic, and
//! whatever it accepts must survive `write_request` then `read_request`
//! unchanged.
//!
//! The property itself is `request_round_trips` in `fuzz/properties.rs`, shared with
//! the regression tests in `crates/cim/tests/fuzz_regressions.rs`.

#![no_main]

// Each target uses one of the shared properties.
#[allow(dead_code)]
#[path = "../properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| properties::request_round_trips(data));
