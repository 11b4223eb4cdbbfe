//! Any bytes as a CIM-XML body of any kind (operation request or
//! response, export request or response): `read_message` must not panic,
//! `read_request` / `read_response` / `read_export_request` must agree
//! with it, and whatever it accepts must survive `write_message` then
//! `read_message` unchanged.

#![no_main]

use cim::xml::{
    read_export_request, read_message, read_request, read_response, write_message, Limits, Message,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::DEFAULT;
    let read = read_message(data, &limits);
    let message = match read {
        Ok(message) => message,
        Err(e) => {
            // The typed readers fail the same way.
            assert_eq!(read_request(data, &limits).unwrap_err(), e);
            return;
        }
    };
    match &message {
        Message::Request(r) => assert_eq!(&read_request(data, &limits).unwrap(), r),
        Message::Response(r) => assert_eq!(&read_response(data, &limits).unwrap(), r),
        Message::ExportRequest(r) => assert_eq!(&read_export_request(data, &limits).unwrap(), r),
        Message::ExportResponse(_) => {}
    }
    let written = write_message(&message);
    match read_message(written.as_bytes(), &limits) {
        Ok(again) => assert_eq!(
            again, message,
            "round trip changed the message; wrote:\n{written}"
        ),
        Err(e) => panic!("written message does not read back: {e}\nwrote:\n{written}"),
    }
});
