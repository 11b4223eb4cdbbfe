//! A query language chosen by the first byte (`WQL`, `DMTF:CQL`, or one
//! the parser does not know) and the rest as query text: `query::parse`
//! must not panic, and a parsed query printed (`Display`) must parse back,
//! in the same language, to an equal `Query`.
//!
//! The property itself is `query_round_trips` in `fuzz/properties.rs`, shared with
//! the regression tests in `crates/cim/tests/fuzz_regressions.rs`.

#![no_main]

// Each target uses one of the shared properties.
#[allow(dead_code)]
#[path = "../properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| properties::query_round_trips(data));
