//! The properties the fuzz targets check, one function per target.
//!
//! Written once and used twice: each target in `fuzz_targets/` calls its
//! function on the fuzzer's input, and `crates/cim/tests/fuzz_regressions.rs`
//! includes this file (`#[path]`) to replay the inputs kept there through
//! the very same check. A change to a property changes both.

use cim::xml::{
    read_export_request, read_message, read_request, read_response, write_message, write_request,
    Limits, Message,
};
use cim::{query, CimDateTime};

const LIMITS: Limits = Limits::DEFAULT;

/// `cimxml_request`: any bytes either fail `read_request` or read into a
/// request that `write_request` writes as a body reading back equal.
pub fn request_round_trips(body: &[u8]) {
    let Ok(request) = read_request(body, &LIMITS) else {
        return;
    };
    let written = write_request(&request);
    match read_request(written.as_bytes(), &LIMITS) {
        Ok(again) => assert_eq!(again, request, "wrote:\n{written}"),
        Err(e) => panic!("written request does not read back: {e}\nwrote:\n{written}"),
    }
}

/// `cimxml_message`: the same for any message (`read_message`,
/// `write_message`), and the typed readers agree with `read_message`,
/// failing the same way too.
pub fn message_round_trips(body: &[u8]) {
    let message = match read_message(body, &LIMITS) {
        Ok(message) => message,
        Err(e) => {
            assert_eq!(read_request(body, &LIMITS).unwrap_err(), e);
            return;
        }
    };
    match &message {
        Message::Request(r) => assert_eq!(&read_request(body, &LIMITS).unwrap(), r),
        Message::Response(r) => assert_eq!(&read_response(body, &LIMITS).unwrap(), r),
        Message::ExportRequest(r) => assert_eq!(&read_export_request(body, &LIMITS).unwrap(), r),
        Message::ExportResponse(_) => {}
    }
    let written = write_message(&message);
    match read_message(written.as_bytes(), &LIMITS) {
        Ok(again) => assert_eq!(again, message, "wrote:\n{written}"),
        Err(e) => panic!("written message does not read back: {e}\nwrote:\n{written}"),
    }
}

/// `datetime`: any text either fails `CimDateTime::parse` or parses into a
/// value whose `Display` parses back equal; the conversions to jiff do not
/// panic, and a fully significant value they accept converts back to
/// itself.
pub fn datetime_round_trips(text: &str) {
    let Ok(value) = CimDateTime::parse(text) else {
        return;
    };
    let printed = value.to_string();
    match CimDateTime::parse(&printed) {
        Ok(again) => assert_eq!(again, value, "{text:?} printed as {printed:?}"),
        Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
    }

    let _ = (value.is_interval(), value.is_forever(), value.is_zero());
    if let Ok(ts) = value.to_timestamp() {
        // Same civil fields and offset; only a `-000` offset (kept as
        // written by parse) comes back as `+000`.
        let offset = value.offset_minutes().expect("a timestamp has an offset");
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
        if let (20, Ok(back)) = (value.significant_digits(), CimDateTime::from_duration(d)) {
            assert_eq!(back, value, "{text:?} -> {d:?}");
        }
    }
    let _ = value.to_span();
}

/// `query`: the first byte picks the language (`% 3`: WQL, DMTF:CQL, one
/// the parser does not know), the rest (UTF-8) is the text; it either
/// fails `query::parse` or parses into a query whose `Display` parses
/// back, in the same language, equal.
pub fn query_round_trips(data: &[u8]) {
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
}
