//! Any bytes as a CIM-XML request body: `read_request` must not panic, and
//! whatever it accepts must survive `write_request` then `read_request`
//! unchanged.

#![no_main]

use cim::xml::{read_request, write_request, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = read_request(data, &Limits::DEFAULT) else {
        return;
    };
    let written = write_request(&request);
    match read_request(written.as_bytes(), &Limits::DEFAULT) {
        Ok(again) => assert_eq!(
            again, request,
            "round trip changed the request; wrote:\n{written}"
        ),
        Err(e) => panic!("written request does not read back: {e}\nwrote:\n{written}"),
    }
});
