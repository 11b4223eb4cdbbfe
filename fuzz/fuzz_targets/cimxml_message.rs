//! Any bytes as a CIM-XML body of any kind (operation request or
//! response, export request or response): `read_message` must not panic,
//! `read_request` / `read_response` / `read_export_request` must agree
//! with it, and whatever it accepts must survive `write_message` then
//! `read_message` unchanged.
//!
//! The property itself is `message_round_trips` in `fuzz/properties.rs`, shared with
//! the regression tests in `crates/cim/tests/fuzz_regressions.rs`.

#![no_main]

// Each target uses one of the shared properties.
#[allow(dead_code)]
#[path = "../properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| properties::message_round_trips(data));
