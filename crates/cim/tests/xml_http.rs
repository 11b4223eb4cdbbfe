//! DSP0200 HTTP header rules: one row per rule, with the HTTP status and
//! `CIMError` header each refusal answers with.

use cim::xml::*;
use cim::{CimValue, KeyValue, ObjectPath};

fn job_path() -> ObjectPath {
    ObjectPath::new(Some("root/cimv2"), "CIMJOB_ConcreteJob")
        .with_key("InstanceID", KeyValue::from("CIMJOB:1"))
        .with_key("Run", KeyValue::Integer(3))
}

fn get_instance() -> Request {
    Request::intrinsic("1", "root/cimv2", "GetInstance", vec![])
}

fn state_change() -> Request {
    Request::extrinsic(
        "2",
        job_path(),
        "RequestStateChange",
        vec![("RequestedState".into(), CimValue::UInt16(4).into())],
    )
}

/// Reads the headers and checks them against `request`.
fn accept(
    method: &str,
    headers: &[(&str, &str)],
    request: &Request,
) -> Result<OperationHeaders, HeaderError> {
    let h = read_operation_headers(method, headers.iter().copied())?;
    check_request(&h, request)?;
    Ok(h)
}

fn answer(e: &HeaderError) -> (u16, &'static str) {
    (e.http_status(), e.cim_error_header().as_str())
}

const MISMATCH: (u16, &str) = (400, "header-mismatch");

type HeaderList = Vec<(&'static str, &'static str)>;
/// (rule, HTTP method, headers, body).
type Accepted = (&'static str, &'static str, HeaderList, Request);
/// (rule, HTTP method, headers, body, kind, (status, CIMError)).
type Refused = (
    &'static str,
    &'static str,
    HeaderList,
    Request,
    HeaderErrorKind,
    (u16, &'static str),
);

#[test]
fn accepted_operation_headers() {
    let rows: Vec<Accepted> = vec![
        (
            "escaped namespace (OpenPegasus)",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "GetInstance"),
                ("CIMObject", "root%2Fcimv2"),
            ],
            get_instance(),
        ),
        (
            "unescaped namespace (pywbem)",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "GetInstance"),
                ("CIMObject", "root/cimv2"),
            ],
            get_instance(),
        ),
        (
            "names and values ignore case and surrounding space",
            "post",
            vec![
                ("cimoperation", " methodcall "),
                ("CIMMETHOD", "getinstance"),
                ("CimObject", " ROOT/CIMV2 "),
            ],
            get_instance(),
        ),
        (
            "leading slash on the namespace",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "GetInstance"),
                ("CIMObject", "%2Froot%2Fcimv2"),
            ],
            get_instance(),
        ),
        (
            "explicit protocol version 1.x",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "GetInstance"),
                ("CIMObject", "root/cimv2"),
                ("CIMProtocolVersion", "1.1"),
            ],
            get_instance(),
        ),
        (
            "escaped method name",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "Request%53tateChange"),
                (
                    "CIMObject",
                    "root%2Fcimv2%3ACIMJOB_ConcreteJob.InstanceID%3D%22CIMJOB%3A1%22%2CRun%3D3",
                ),
            ],
            state_change(),
        ),
        (
            "instance path with keys in another order",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "RequestStateChange"),
                (
                    "CIMObject",
                    r#"root/cimv2:cimjob_concretejob.run=3,instanceid="CIMJOB:1""#,
                ),
            ],
            state_change(),
        ),
        (
            "instance path with a host",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "RequestStateChange"),
                (
                    "CIMObject",
                    r#"//srv/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1",Run=3"#,
                ),
            ],
            state_change(),
        ),
        (
            "class path for a static method",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "StartJob"),
                ("CIMObject", "root/cimv2:CIMJOB_JobService"),
            ],
            Request::extrinsic(
                "3",
                ObjectPath::new(Some("root/cimv2"), "CIMJOB_JobService"),
                "StartJob",
                vec![],
            ),
        ),
        (
            "M-POST with its ns prefix",
            "M-POST",
            vec![
                ("Man", "http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73"),
                ("73-CIMOperation", "MethodCall"),
                ("73-CIMMethod", "GetInstance"),
                ("73-CIMObject", "root%2Fcimv2"),
                ("73-CIMProtocolVersion", "1.0"),
            ],
            get_instance(),
        ),
        (
            "M-POST with a quoted URI among other extensions",
            "M-POST",
            vec![
                (
                    "Man",
                    r#"http://example.com/other; ns=10, "http://www.dmtf.org/cim/mapping/http/v1.0"; ns=42"#,
                ),
                ("42-CIMOperation", "MethodCall"),
                ("42-CIMMethod", "GetInstance"),
                ("42-CIMObject", "root/cimv2"),
            ],
            get_instance(),
        ),
    ];
    for (rule, method, headers, request) in rows {
        if let Err(e) = accept(method, &headers, &request) {
            panic!("{rule}: refused: {e}");
        }
    }
}

#[test]
fn refused_operation_headers() {
    use HeaderErrorKind as K;
    let base =
        |extra: &[(&'static str, &'static str)], skip: &str| -> Vec<(&'static str, &'static str)> {
            let mut h: Vec<(&str, &str)> = vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "GetInstance"),
                ("CIMObject", "root/cimv2"),
            ]
            .into_iter()
            .filter(|(n, _)| *n != skip)
            .collect();
            h.extend_from_slice(extra);
            h
        };
    let rows: Vec<Refused> = vec![
        (
            "CIMOperation missing",
            "POST",
            base(&[], "CIMOperation"),
            get_instance(),
            K::Missing,
            MISMATCH,
        ),
        (
            "CIMOperation not MethodCall",
            "POST",
            vec![
                ("CIMOperation", "MethodResponse"),
                ("CIMMethod", "GetInstance"),
                ("CIMObject", "root/cimv2"),
            ],
            get_instance(),
            K::Invalid,
            MISMATCH,
        ),
        (
            "CIMMethod missing",
            "POST",
            base(&[], "CIMMethod"),
            get_instance(),
            K::Missing,
            MISMATCH,
        ),
        (
            "CIMObject missing",
            "POST",
            base(&[], "CIMObject"),
            get_instance(),
            K::Missing,
            MISMATCH,
        ),
        (
            "CIMMethod with a bad escape",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "Get%ZZInstance"),
                ("CIMObject", "root/cimv2"),
            ],
            get_instance(),
            K::Invalid,
            MISMATCH,
        ),
        (
            "CIMObject that does not unescape to UTF-8",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "GetInstance"),
                ("CIMObject", "root%FF"),
            ],
            get_instance(),
            K::Invalid,
            MISMATCH,
        ),
        (
            "CIMMethod differs from the body",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "GetClass"),
                ("CIMObject", "root/cimv2"),
            ],
            get_instance(),
            K::MethodMismatch,
            MISMATCH,
        ),
        (
            "CIMMethod differs from the extrinsic method",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "KillJob"),
                (
                    "CIMObject",
                    r#"root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1",Run=3"#,
                ),
            ],
            state_change(),
            K::MethodMismatch,
            MISMATCH,
        ),
        (
            "CIMObject names another namespace",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "GetInstance"),
                ("CIMObject", "root%2Finterop"),
            ],
            get_instance(),
            K::ObjectMismatch,
            MISMATCH,
        ),
        (
            "CIMObject names a namespace for an extrinsic call",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "RequestStateChange"),
                ("CIMObject", "root/cimv2"),
            ],
            state_change(),
            K::ObjectMismatch,
            MISMATCH,
        ),
        (
            "CIMObject names another key value",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "RequestStateChange"),
                (
                    "CIMObject",
                    r#"root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:2",Run=3"#,
                ),
            ],
            state_change(),
            K::ObjectMismatch,
            MISMATCH,
        ),
        (
            "CIMObject lacks a key",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "RequestStateChange"),
                (
                    "CIMObject",
                    r#"root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#,
                ),
            ],
            state_change(),
            K::ObjectMismatch,
            MISMATCH,
        ),
        (
            "CIMObject names another class",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "RequestStateChange"),
                (
                    "CIMObject",
                    r#"root/cimv2:CIM_Job.InstanceID="CIMJOB:1",Run=3"#,
                ),
            ],
            state_change(),
            K::ObjectMismatch,
            MISMATCH,
        ),
        (
            "CIMObject names another namespace for the target",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "RequestStateChange"),
                (
                    "CIMObject",
                    r#"interop:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1",Run=3"#,
                ),
            ],
            state_change(),
            K::ObjectMismatch,
            MISMATCH,
        ),
        (
            "CIMObject that is not a path",
            "POST",
            vec![
                ("CIMOperation", "MethodCall"),
                ("CIMMethod", "RequestStateChange"),
                ("CIMObject", "root/cimv2:!!"),
            ],
            state_change(),
            K::ObjectMismatch,
            MISMATCH,
        ),
        (
            "unsupported protocol version",
            "POST",
            base(&[("CIMProtocolVersion", "2.0")], ""),
            get_instance(),
            K::UnsupportedProtocolVersion,
            (501, "unsupported-protocol-version"),
        ),
        (
            "protocol version that is not a version",
            "POST",
            base(&[("CIMProtocolVersion", "1.x")], ""),
            get_instance(),
            K::UnsupportedProtocolVersion,
            (501, "unsupported-protocol-version"),
        ),
        (
            "batched request",
            "POST",
            base(&[("CIMBatch", "")], ""),
            get_instance(),
            K::MultipleRequests,
            (501, "multiple-requests-unsupported"),
        ),
        (
            "M-POST without Man",
            "M-POST",
            base(&[], ""),
            get_instance(),
            K::Missing,
            MISMATCH,
        ),
        (
            "M-POST whose Man names another extension",
            "M-POST",
            base(&[("Man", "http://example.com/ext; ns=12")], ""),
            get_instance(),
            K::Missing,
            MISMATCH,
        ),
        (
            "M-POST whose Man has no ns",
            "M-POST",
            base(&[("Man", "http://www.dmtf.org/cim/mapping/http/v1.0")], ""),
            get_instance(),
            K::Invalid,
            MISMATCH,
        ),
        (
            "M-POST with a prefixed batch",
            "M-POST",
            vec![
                ("Man", "http://www.dmtf.org/cim/mapping/http/v1.0; ns=73"),
                ("73-CIMOperation", "MethodCall"),
                ("73-CIMBatch", ""),
                ("73-CIMMethod", "GetInstance"),
                ("73-CIMObject", "root/cimv2"),
            ],
            get_instance(),
            K::MultipleRequests,
            (501, "multiple-requests-unsupported"),
        ),
        (
            "M-POST with a prefixed mismatch",
            "M-POST",
            vec![
                ("Man", "http://www.dmtf.org/cim/mapping/http/v1.0; ns=73"),
                ("73-CIMOperation", "MethodCall"),
                ("73-CIMMethod", "GetClass"),
                ("73-CIMObject", "root/cimv2"),
            ],
            get_instance(),
            K::MethodMismatch,
            MISMATCH,
        ),
    ];
    for (rule, method, headers, request, kind, expected) in rows {
        match accept(method, &headers, &request) {
            Ok(h) => panic!("{rule}: accepted as {h:?}"),
            Err(e) => {
                assert_eq!(e.kind(), kind, "{rule}: {e}");
                assert_eq!(answer(&e), expected, "{rule}: {e}");
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

#[test]
fn headers_written_by_the_client_side_are_accepted_by_the_server_side() {
    let requests = [
        get_instance(),
        Request::intrinsic("4", "root/PG_InterOp", "OpenEnumerateInstances", vec![]),
        state_change(),
        Request::extrinsic(
            "5",
            ObjectPath::new(Some("interop"), "CIM_IndicationSubscription")
                .with_key(
                    "Filter",
                    ObjectPath::new(Some("interop"), "CIM_IndicationFilter")
                        .with_key("Name", "f \"1\"".into())
                        .into(),
                )
                .with_key(
                    "Handler",
                    ObjectPath::new(Some("interop"), "CIM_ListenerDestinationCIMXML")
                        .with_key("Name", "h".into())
                        .into(),
                ),
            "Ping",
            vec![],
        ),
        Request::extrinsic(
            "6",
            ObjectPath::new(Some("root/cimv2"), "CIMJOB_JobService"),
            "StartJob",
            vec![],
        ),
    ];
    for r in requests {
        let headers = request_headers(&r);
        assert!(headers.contains(&("CIMOperation", "MethodCall".to_owned())));
        assert!(headers.contains(&("Content-Type", CONTENT_TYPE.to_owned())));
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let h = accept("POST", &pairs, &r).unwrap_or_else(|e| panic!("{e}: {headers:?}"));
        assert_eq!(h.protocol_version, "1.0");
    }
    let h = request_headers(&state_change());
    assert!(
        h.contains(&(
            "CIMObject",
            "root%2Fcimv2%3ACIMJOB_ConcreteJob.InstanceID%3D%22CIMJOB%3A1%22%2CRun%3D3".to_owned()
        )),
        "{h:?}"
    );
    assert_eq!(
        response_headers()[1],
        ("CIMOperation", "MethodResponse".to_owned())
    );
}

#[test]
fn export_headers() {
    let request = ExportRequest::export_indication("9", Instance::new("CIM_AlertIndication"));
    let sent = export_request_headers(&request);
    let pairs: Vec<(&str, &str)> = sent.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let h = read_export_headers("POST", pairs).unwrap();
    check_export_request(&h, &request).unwrap();
    assert_eq!(
        export_response_headers()[1],
        ("CIMExport", "MethodResponse".to_owned())
    );

    let refused = |method: &str, headers: &[(&str, &str)], request: &ExportRequest| {
        read_export_headers(method, headers.iter().copied())
            .and_then(|h| check_export_request(&h, request))
            .unwrap_err()
    };
    let e = refused("POST", &[("CIMExportMethod", "ExportIndication")], &request);
    assert_eq!((e.kind(), answer(&e)), (HeaderErrorKind::Missing, MISMATCH));
    let e = refused(
        "POST",
        &[
            ("CIMExport", "MethodResponse"),
            ("CIMExportMethod", "ExportIndication"),
        ],
        &request,
    );
    assert_eq!((e.kind(), answer(&e)), (HeaderErrorKind::Invalid, MISMATCH));
    let e = refused("POST", &[("CIMExport", "MethodRequest")], &request);
    assert_eq!((e.kind(), answer(&e)), (HeaderErrorKind::Missing, MISMATCH));
    let e = refused(
        "POST",
        &[
            ("CIMExport", "MethodRequest"),
            ("CIMExportMethod", "ExportOther"),
        ],
        &request,
    );
    assert_eq!(
        (e.kind(), answer(&e)),
        (HeaderErrorKind::MethodMismatch, MISMATCH)
    );
    let other = ExportRequest {
        method: "ExportOther".into(),
        ..request.clone()
    };
    let e = refused(
        "POST",
        &[
            ("CIMExport", "MethodRequest"),
            ("CIMExportMethod", "ExportOther"),
        ],
        &other,
    );
    assert_eq!(
        (e.kind(), answer(&e)),
        (
            HeaderErrorKind::UnsupportedOperation,
            (501, "unsupported-operation")
        )
    );
    let e = refused(
        "POST",
        &[
            ("CIMExport", "MethodRequest"),
            ("CIMExportMethod", "ExportIndication"),
            ("CIMExportBatch", ""),
        ],
        &request,
    );
    assert_eq!(answer(&e), (501, "multiple-requests-unsupported"));
    let e = refused(
        "POST",
        &[
            ("CIMExport", "MethodRequest"),
            ("CIMExportMethod", "ExportIndication"),
            ("CIMProtocolVersion", "3.0"),
        ],
        &request,
    );
    assert_eq!(answer(&e), (501, "unsupported-protocol-version"));
}

#[test]
fn content_types() {
    for ok in [
        "application/xml",
        "text/xml",
        "application/xml; charset=\"utf-8\"",
        "TEXT/XML;charset=UTF-8",
        CONTENT_TYPE,
    ] {
        assert!(is_cim_xml_content_type(ok), "{ok}");
    }
    for bad in [
        "",
        "application/json",
        "text/plain; charset=utf-8",
        "text/xml; charset=\"iso-8859-1\"",
    ] {
        assert!(!is_cim_xml_content_type(bad), "{bad}");
    }
}

#[test]
fn uri_escaping_round_trips_and_refuses_bad_escapes() {
    for s in ["root/cimv2", r#"ns:C.K="a b%c",N=-1"#, "é😀", ""] {
        assert_eq!(uri_unescape(&uri_escape(s)).unwrap(), s);
    }
    assert_eq!(uri_escape("a b"), "a%20b");
    assert_eq!(uri_unescape("a+b%2b").unwrap(), "a+b+");
    for bad in ["%", "%4", "%G0", "%+1", "%C3"] {
        assert_eq!(
            uri_unescape(bad).unwrap_err().kind(),
            HeaderErrorKind::Invalid,
            "{bad}"
        );
    }
}

#[test]
fn cim_error_header_values() {
    let values: Vec<&str> = CimErrorHeader::ALL.iter().map(|e| e.as_str()).collect();
    assert_eq!(
        values,
        [
            "unsupported-protocol-version",
            "multiple-requests-unsupported",
            "unsupported-cim-version",
            "unsupported-dtd-version",
            "request-not-valid",
            "request-not-well-formed",
            "header-mismatch",
            "unsupported-operation",
        ]
    );
    for e in CimErrorHeader::ALL {
        assert_eq!(
            CimErrorHeader::from_header_value(&e.to_string().to_uppercase()),
            Some(e)
        );
    }
    assert_eq!(
        CimErrorHeader::from_header_value("request-not-loosely-valid"),
        None
    );
    let e = HeaderError::unsupported_operation("ExecQuery");
    assert_eq!(answer(&e), (501, "unsupported-operation"));
}
