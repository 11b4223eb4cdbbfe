//! Inputs the fuzz targets in `fuzz/` found to break a property, kept as
//! regression tests. The properties are the targets' own: this file
//! includes `fuzz/properties.rs`, which each target calls (see there for
//! what each one checks).
//!
//! Every file under `tests/fuzz_regressions/<target>/` is fed, as it is, to
//! its target's property (a crash artifact copied there is a regression
//! test at once); the named tests below also pin down what each fix does.

use std::path::PathBuf;

use cim::xml::{read_request, Class, EmbeddedKind, Limits, ParamValue, XmlErrorKind};
use cim::{CimDateTime, CimType};

#[path = "../../../fuzz/properties.rs"]
mod properties;

use properties::{
    datetime_round_trips, message_round_trips, query_round_trips, request_round_trips,
};

const LIMITS: Limits = Limits::DEFAULT;

/// The files kept for one target, sorted by name.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        // Git keeps no empty folder: a target with nothing kept yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn every_kept_cimxml_request_input_round_trips() {
    let kept = inputs("cimxml_request");
    assert!(!kept.is_empty());
    for (path, bytes) in kept {
        eprintln!("{}", path.display());
        request_round_trips(&bytes);
    }
}

#[test]
fn every_kept_cimxml_message_input_round_trips() {
    // The request inputs are messages too.
    for target in ["cimxml_request", "cimxml_message"] {
        for (path, bytes) in inputs(target) {
            eprintln!("{}", path.display());
            message_round_trips(&bytes);
        }
    }
}

#[test]
fn every_kept_datetime_input_round_trips() {
    for (path, bytes) in inputs("datetime") {
        eprintln!("{}", path.display());
        // The target skips what is not UTF-8, and so does this.
        if let Ok(text) = std::str::from_utf8(&bytes) {
            datetime_round_trips(text);
        }
    }
}

#[test]
fn every_kept_query_input_round_trips() {
    for (path, bytes) in inputs("query") {
        eprintln!("{}", path.display());
        query_round_trips(&bytes);
    }
}

/// A request whose only `IPARAMVALUE` holds `param`.
fn request_with(namespace: &str, param: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?>
<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="0" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="CreateClass"><LOCALNAMESPACEPATH>{namespace}</LOCALNAMESPACEPATH><IPARAMVALUE NAME="NewClass">{param}</IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"#
    )
}

/// Reads a request carrying `class` (a `CLASS` element), checks the
/// round trip, and returns the class as read.
fn class_read(class: &str) -> Class {
    let body = request_with("", class);
    request_round_trips(body.as_bytes());
    let request = read_request(body.as_bytes(), &LIMITS).unwrap();
    match request.call.param("NewClass") {
        Some(ParamValue::Class(c)) => (**c).clone(),
        other => panic!("{other:?}"),
    }
}

// Found by `cimxml_request` (seconds in, from the pywbem seeds): a raw NUL
// byte inside an attribute value was accepted, and came back from the
// writer as U+FFFD. Fixed in `xml/reader.rs` (`check_body`): a NUL byte
// anywhere makes the body not well-formed, as XML 1.0 has no NUL.
#[test]
fn a_raw_nul_byte_is_not_well_formed() {
    let kept = include_bytes!("fuzz_regressions/cimxml_request/nul-in-iparamvalue-name.xml");
    assert!(kept.contains(&0));
    let err = read_request(kept, &LIMITS).unwrap_err();
    assert_eq!(err.kind(), XmlErrorKind::Syntax);
    assert!(err.to_string().contains("NUL"), "{err}");

    for body in [
        request_with("", "<CLASS NAME=\"a\0b\"/>"),
        request_with(r#"<NAMESPACE NAME="root"/>"#, "<CLASS NAME=\"a\"/>\0"),
    ] {
        let err = read_request(body.as_bytes(), &LIMITS).unwrap_err();
        assert_eq!(err.kind(), XmlErrorKind::Syntax, "{err}");
        assert_eq!(err.position(), body.find('\0').map(|at| at as u64));
    }
    // The character reference was already refused by quick-xml.
    let body = request_with("", r#"<CLASS NAME="a&#0;b"/>"#);
    assert!(read_request(body.as_bytes(), &LIMITS).is_err());
}

// Found by `cimxml_request`: `<NAMESPACE NAME="A//2"/>` read as namespace
// "A//2", which the writer (dropping empty segments) wrote as "A/2".
// Fixed in `xml/reader.rs` (`local_namespace_path`): each NAMESPACE name is
// split at '/' and its segments are trimmed, empty ones dropped.
#[test]
fn empty_and_padded_namespace_segments_are_dropped() {
    let kept = include_bytes!("fuzz_regressions/cimxml_request/empty-namespace-segment.xml");
    request_round_trips(kept);

    for (namespaces, expected) in [
        (r#"<NAMESPACE NAME="A//2"/>"#, "A/2"),
        (r#"<NAMESPACE NAME="/root/ cimv2 /"/>"#, "root/cimv2"),
        (
            r#"<NAMESPACE NAME="root/"/><NAMESPACE NAME="/"/><NAMESPACE NAME=" cimv2"/>"#,
            "root/cimv2",
        ),
        (
            r#"<NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/>"#,
            "root/cimv2",
        ),
    ] {
        let body = request_with(namespaces, r#"<CLASS NAME="c"/>"#);
        request_round_trips(body.as_bytes());
        let request = read_request(body.as_bytes(), &LIMITS).unwrap();
        assert_eq!(request.call.namespace(), expected, "{namespaces}");
    }
}

// Found by `cimxml_request`: `<PROPERTY NAME="" REFERENCECLASS="t"/>` in a
// class kept REFERENCECLASS, which the writer puts on PROPERTY.REFERENCE
// only. The same held for ARRAYSIZE outside PROPERTY.ARRAY and for the
// PARAMETER elements, and for EmbeddedObject (a property typed uint8 with
// EmbeddedObject came back as a string; one on PROPERTY.REFERENCE came
// back as a string property): those three were found by reading the
// reader after the first, and are kept here with it. Fixed in
// `xml/reader.rs` (`property`, `parameter`): attributes DSP0201 does not
// define on an element are ignored there, and an embedded object's
// property is a string whatever its TYPE says.
#[test]
fn attributes_an_element_does_not_define_are_ignored() {
    let kept =
        include_bytes!("fuzz_regressions/cimxml_request/referenceclass-on-plain-property.xml");
    request_round_trips(kept);

    let class = class_read(r#"<CLASS NAME="c"><PROPERTY NAME="p" REFERENCECLASS="t"/></CLASS>"#);
    assert_eq!(class.properties[0].reference_class, None);
    assert_eq!(class.properties[0].ty, CimType::String);

    let class = class_read(r#"<CLASS NAME="c"><PROPERTY NAME="p" ARRAYSIZE="3"/></CLASS>"#);
    assert_eq!(class.properties[0].array_size, None);

    let class = class_read(
        r#"<CLASS NAME="c"><PROPERTY.REFERENCE NAME="r" REFERENCECLASS="CIM_Job" ARRAYSIZE="2"/><PROPERTY.ARRAY NAME="a" TYPE="uint16" ARRAYSIZE="4" REFERENCECLASS="t"/></CLASS>"#,
    );
    assert_eq!(class.properties[0].ty, CimType::Reference);
    assert_eq!(
        class.properties[0].reference_class.as_deref(),
        Some("CIM_Job")
    );
    assert_eq!(class.properties[0].array_size, None);
    assert_eq!(class.properties[1].array_size, Some(4));
    assert_eq!(class.properties[1].reference_class, None);

    let class = class_read(
        r#"<CLASS NAME="c"><METHOD NAME="m" TYPE="uint8"><PARAMETER NAME="a" TYPE="uint8" REFERENCECLASS="X" ARRAYSIZE="2"/><PARAMETER.REFARRAY NAME="b" REFERENCECLASS="CIM_Job" ARRAYSIZE="3"/><PARAMETER.REFERENCE NAME="c" REFERENCECLASS="CIM_Job" ARRAYSIZE="3"/></METHOD></CLASS>"#,
    );
    let params = &class.methods[0].parameters;
    assert_eq!(
        (params[0].reference_class.as_deref(), params[0].array_size),
        (None, None)
    );
    assert_eq!(
        (params[1].reference_class.as_deref(), params[1].array_size),
        (Some("CIM_Job"), Some(3))
    );
    assert_eq!(
        (params[2].reference_class.as_deref(), params[2].array_size),
        (Some("CIM_Job"), None)
    );
}

#[test]
fn an_embedded_object_property_is_a_string() {
    let class = class_read(
        r#"<CLASS NAME="c"><PROPERTY NAME="p" TYPE="uint8" EmbeddedObject="instance"/><PROPERTY.ARRAY NAME="a" TYPE="sint64" EmbeddedObject="object"/></CLASS>"#,
    );
    assert_eq!(class.properties[0].ty, CimType::String);
    assert_eq!(
        class.properties[0].embedded_object,
        Some(EmbeddedKind::Instance)
    );
    assert_eq!(class.properties[1].ty, CimType::String);
    assert_eq!(
        class.properties[1].embedded_object,
        Some(EmbeddedKind::Object)
    );

    let class = class_read(
        r#"<CLASS NAME="c"><PROPERTY.REFERENCE NAME="r" EmbeddedObject="instance"/></CLASS>"#,
    );
    assert_eq!(class.properties[0].ty, CimType::Reference);
    assert_eq!(class.properties[0].embedded_object, None);
}

// Found by `datetime` once it also checked the jiff conversions: a `-000`
// offset, which parse keeps as written (so the text round trip is exact),
// comes back from `from_timestamp` as `+000`. Not a bug: the property
// claimed too much and now compares fields and offset; kept so the
// distinction stays deliberate.
#[test]
fn a_minus_zero_offset_converts_back_as_plus_zero() {
    let text = include_str!("fuzz_regressions/datetime/minus-zero-offset");
    datetime_round_trips(text);
    let value = CimDateTime::parse(text).unwrap();
    assert_eq!(value.to_string(), "20180711021029.129999-000");
    let back = CimDateTime::from_timestamp(value.to_timestamp().unwrap(), 0).unwrap();
    assert_eq!(back.to_string(), "20180711021029.129999+000");
    assert_ne!(back, value);
}
