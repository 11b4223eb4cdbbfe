//! A query language chosen by the first byte (`WQL`, `DMTF:CQL`, or one
//! the parser does not know) and the rest as query text: `query::parse`
//! must not panic, and a parsed query printed (`Display`) must parse back,
//! in the same language, to an equal `Query`.

#![no_main]

use cim::query;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let language = match selector % 3 {
        0 => "WQL",
        1 => "DMTF:CQL",
        _ => "SQL-92",
    };
    let Ok(parsed) = query::parse(language, text) else {
        return;
    };
    let printed = parsed.to_string();
    match query::parse(language, &printed) {
        Ok(again) => assert_eq!(again, parsed, "{text:?} printed as {printed:?}"),
        Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
    }
});
