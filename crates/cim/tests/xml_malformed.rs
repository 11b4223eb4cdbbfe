//! Malformed CIM-XML bodies: one table row per rule, each with the error
//! kind the reader must give, and the HTTP answer each kind maps to.

use cim::xml::*;
use cim::CimStatusCode;

const NS: &str =
    r#"<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH>"#;

fn envelope(inner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0">{inner}</MESSAGE></CIM>"#
    )
}

/// A request whose IMETHODCALL holds `params` after the namespace.
fn intrinsic(name: &str, params: &str) -> String {
    envelope(&format!(
        r#"<SIMPLEREQ><IMETHODCALL NAME="{name}">{NS}{params}</IMETHODCALL></SIMPLEREQ>"#
    ))
}

/// A request calling RequestStateChange with `params`.
fn extrinsic(params: &str) -> String {
    envelope(&format!(
        r#"<SIMPLEREQ><METHODCALL NAME="RequestStateChange"><LOCALINSTANCEPATH>{NS}<INSTANCENAME CLASSNAME="CIMJOB_ConcreteJob"><KEYBINDING NAME="InstanceID"><KEYVALUE VALUETYPE="string">CIMJOB:1</KEYVALUE></KEYBINDING></INSTANCENAME></LOCALINSTANCEPATH>{params}</METHODCALL></SIMPLEREQ>"#
    ))
}

/// A GetInstance request whose instance name holds `keybindings`.
fn with_keys(keybindings: &str) -> String {
    intrinsic(
        "GetInstance",
        &format!(
            r#"<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="CIMJOB_ConcreteJob">{keybindings}</INSTANCENAME></IPARAMVALUE>"#
        ),
    )
}

/// A CreateInstance request whose new instance holds `properties`.
fn with_properties(properties: &str) -> String {
    intrinsic(
        "CreateInstance",
        &format!(
            r#"<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="CIMJOB_ConcreteJob">{properties}</INSTANCE></IPARAMVALUE>"#
        ),
    )
}

fn good() -> String {
    intrinsic(
        "EnumerateInstanceNames",
        r#"<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ConcreteJob"/></IPARAMVALUE>"#,
    )
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="&lol9;" PROTOCOLVERSION="1.0"><SIMPLEREQ/></MESSAGE></CIM>"#;

/// References nested in keys, `levels` deep: each level is KEYBINDING >
/// VALUE.REFERENCE > INSTANCENAME, all valid CIM-XML.
fn nested_references(levels: usize) -> String {
    let mut name = r#"<INSTANCENAME CLASSNAME="C"/>"#.to_owned();
    for _ in 0..levels {
        name = format!(
            r#"<INSTANCENAME CLASSNAME="C"><KEYBINDING NAME="K"><VALUE.REFERENCE>{name}</VALUE.REFERENCE></KEYBINDING></INSTANCENAME>"#
        );
    }
    intrinsic(
        "GetInstance",
        &format!(r#"<IPARAMVALUE NAME="InstanceName">{name}</IPARAMVALUE>"#),
    )
}

/// Embedded instances nested `levels` deep, each escaped once more.
fn nested_embedded(levels: usize) -> String {
    let mut inst = Instance::new("C");
    for _ in 0..levels {
        inst = Instance::new("C").with_property(Property::embedded_instance("E", inst));
    }
    write_request(&Request::intrinsic(
        "1",
        "root/cimv2",
        "CreateInstance",
        vec![("NewInstance".into(), inst.into())],
    ))
}

struct Case {
    rule: &'static str,
    body: Vec<u8>,
    limits: Limits,
    kind: XmlErrorKind,
}

fn case(rule: &'static str, body: impl Into<Vec<u8>>, kind: XmlErrorKind) -> Case {
    Case {
        rule,
        body: body.into(),
        limits: Limits::DEFAULT,
        kind,
    }
}

fn limited(
    rule: &'static str,
    body: impl Into<Vec<u8>>,
    limits: Limits,
    kind: XmlErrorKind,
) -> Case {
    Case {
        rule,
        body: body.into(),
        limits,
        kind,
    }
}

fn cases() -> Vec<Case> {
    use XmlErrorKind as K;
    let good = good();
    let mut invalid_utf8 = good.clone().into_bytes();
    let at = good.find("CIM_ConcreteJob").unwrap();
    invalid_utf8[at] = 0xFF;
    let mut huge = good.clone();
    huge.push_str(&" ".repeat(Limits::DEFAULT.max_body_bytes));
    vec![
        // XML level
        case("not XML", "hello, world", K::Syntax),
        case("empty body", "", K::Syntax),
        case(
            "truncated inside an element",
            &good[..good.len() / 2],
            K::Truncated,
        ),
        case(
            "truncated inside a tag",
            &good[..good.find("<IPARAMVALUE").unwrap() + 5],
            K::Truncated,
        ),
        case(
            "mismatched end tag",
            good.replace("</SIMPLEREQ>", "</SIMPLERSP>"),
            K::Syntax,
        ),
        case("two root elements", format!("{good}<CIM/>"), K::Syntax),
        case("text after the root", format!("{good}trailing"), K::Syntax),
        case(
            "duplicate attribute",
            good.replace(r#"ID="1001""#, r#"ID="1" ID="2""#),
            K::Syntax,
        ),
        case("invalid UTF-8", invalid_utf8, K::Encoding),
        case(
            "declared encoding other than UTF-8",
            good.replace("utf-8", "ISO-8859-1"),
            K::Encoding,
        ),
        case(
            "DOCTYPE",
            good.replacen(
                "<CIM ",
                r#"<!DOCTYPE CIM SYSTEM "http://www.dmtf.org/cim/mapping/dtd/v2.0/cim.dtd"><CIM "#,
                1,
            ),
            K::Doctype,
        ),
        case("billion laughs", BILLION_LAUGHS, K::Doctype),
        case(
            "undeclared entity in text",
            with_keys(r#"<KEYBINDING NAME="InstanceID"><KEYVALUE>&lol9;</KEYVALUE></KEYBINDING>"#),
            K::Entity,
        ),
        case(
            "undeclared entity in an attribute",
            good.replace(r#"ID="1001""#, r#"ID="&lol9;""#),
            K::Entity,
        ),
        case(
            "NUL character reference",
            with_keys(r#"<KEYBINDING NAME="InstanceID"><KEYVALUE>a&#0;b</KEYVALUE></KEYBINDING>"#),
            K::Syntax,
        ),
        // limits
        case("body over the size limit", huge, K::TooLarge),
        limited(
            "body over a small size limit",
            good.clone(),
            Limits {
                max_body_bytes: 100,
                ..Limits::DEFAULT
            },
            K::TooLarge,
        ),
        case(
            "references nested past the depth limit",
            nested_references(30),
            K::TooDeep,
        ),
        case(
            "embedded instances nested past the depth limit",
            nested_embedded(25),
            K::TooDeep,
        ),
        limited(
            "depth over a small limit",
            good.clone(),
            Limits {
                max_depth: 4,
                ..Limits::DEFAULT
            },
            K::TooDeep,
        ),
        limited(
            "too many elements",
            good.clone(),
            Limits {
                max_elements: 6,
                ..Limits::DEFAULT
            },
            K::TooManyElements,
        ),
        limited(
            "embedded elements count too",
            nested_embedded(3),
            Limits {
                max_elements: 12,
                ..Limits::DEFAULT
            },
            K::TooManyElements,
        ),
        limited(
            "attribute over the length limit",
            good.clone(),
            Limits {
                max_attribute_len: 8,
                ..Limits::DEFAULT
            },
            K::AttributeTooLong,
        ),
        limited(
            "too many attributes",
            good.replace("<CLASSNAME ", r#"<CLASSNAME A="1" B="2" C="3" "#),
            Limits {
                max_attributes: 3,
                ..Limits::DEFAULT
            },
            K::TooManyAttributes,
        ),
        // envelope
        case("wrong root", "<FOO/>", K::UnexpectedElement),
        case(
            "wrong root with CIM inside",
            format!("<FOO>{}</FOO>", &good[good.find("<CIM").unwrap()..]),
            K::UnexpectedElement,
        ),
        case(
            "missing MESSAGE ID",
            good.replace(r#" ID="1001""#, ""),
            K::MissingAttribute,
        ),
        case(
            "missing PROTOCOLVERSION",
            good.replace(r#" PROTOCOLVERSION="1.0""#, ""),
            K::MissingAttribute,
        ),
        case(
            "missing MESSAGE",
            r#"<CIM CIMVERSION="2.0" DTDVERSION="2.0"></CIM>"#,
            K::MissingElement,
        ),
        case(
            "unsupported protocol version",
            good.replace(r#"PROTOCOLVERSION="1.0""#, r#"PROTOCOLVERSION="2.0""#),
            K::UnsupportedProtocolVersion,
        ),
        case(
            "unsupported CIM version",
            good.replace(r#"CIMVERSION="2.0""#, r#"CIMVERSION="3.0""#),
            K::UnsupportedCimVersion,
        ),
        case(
            "unsupported DTD version",
            good.replace(r#"DTDVERSION="2.0""#, r#"DTDVERSION="1.1""#),
            K::UnsupportedDtdVersion,
        ),
        case(
            "multiple requests",
            good.replace("SIMPLEREQ", "MULTIREQ"),
            K::MultipleRequestsUnsupported,
        ),
        case(
            "a response where a request is expected",
            envelope(r#"<SIMPLERSP><IMETHODRESPONSE NAME="GetClass"/></SIMPLERSP>"#),
            K::UnexpectedElement,
        ),
        case(
            "missing method name",
            good.replace(r#" NAME="EnumerateInstanceNames""#, ""),
            K::MissingAttribute,
        ),
        case("missing namespace", good.replace(NS, ""), K::MissingElement),
        case(
            "two calls in one SIMPLEREQ",
            good.replace(
                "</SIMPLEREQ>",
                &format!(r#"<IMETHODCALL NAME="GetClass">{NS}</IMETHODCALL></SIMPLEREQ>"#),
            ),
            K::UnexpectedElement,
        ),
        case(
            "missing method target",
            envelope(r#"<SIMPLEREQ><METHODCALL NAME="KillJob"/></SIMPLEREQ>"#),
            K::MissingElement,
        ),
        // parameters and values
        case(
            "unknown element where a value is expected",
            intrinsic(
                "GetInstance",
                r#"<IPARAMVALUE NAME="LocalOnly"><BOGUS>FALSE</BOGUS></IPARAMVALUE>"#,
            ),
            K::UnexpectedElement,
        ),
        case(
            "element inside a VALUE",
            intrinsic(
                "GetInstance",
                r#"<IPARAMVALUE NAME="LocalOnly"><VALUE><B>FALSE</B></VALUE></IPARAMVALUE>"#,
            ),
            K::UnexpectedElement,
        ),
        case(
            "two values in one parameter",
            intrinsic(
                "GetInstance",
                r#"<IPARAMVALUE NAME="LocalOnly"><VALUE>TRUE</VALUE><VALUE>FALSE</VALUE></IPARAMVALUE>"#,
            ),
            K::UnexpectedElement,
        ),
        case(
            "text where elements are expected",
            with_properties("stray text"),
            K::UnexpectedText,
        ),
        case(
            "boolean intrinsic parameter that is not a boolean",
            intrinsic(
                "GetInstance",
                r#"<IPARAMVALUE NAME="LocalOnly"><VALUE>yes</VALUE></IPARAMVALUE>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "negative MaxObjectCount",
            intrinsic(
                "OpenEnumerateInstances",
                r#"<IPARAMVALUE NAME="MaxObjectCount"><VALUE>-1</VALUE></IPARAMVALUE>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "parameter given twice",
            intrinsic(
                "GetInstance",
                r#"<IPARAMVALUE NAME="LocalOnly"><VALUE>TRUE</VALUE></IPARAMVALUE><IPARAMVALUE NAME="localonly"><VALUE>TRUE</VALUE></IPARAMVALUE>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "VALUE of the wrong type for a typed PARAMVALUE",
            extrinsic(
                r#"<PARAMVALUE NAME="RequestedState" PARAMTYPE="uint16"><VALUE>Terminate</VALUE></PARAMVALUE>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "VALUE out of range for a typed PARAMVALUE",
            extrinsic(
                r#"<PARAMVALUE NAME="RequestedState" PARAMTYPE="uint8"><VALUE>300</VALUE></PARAMVALUE>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "datetime PARAMVALUE that is not a datetime",
            extrinsic(
                r#"<PARAMVALUE NAME="TimeoutPeriod" PARAMTYPE="datetime"><VALUE>5 minutes</VALUE></PARAMVALUE>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "typed array element of the wrong type",
            extrinsic(
                r#"<PARAMVALUE NAME="States" PARAMTYPE="uint16"><VALUE.ARRAY><VALUE>1</VALUE><VALUE>x</VALUE></VALUE.ARRAY></PARAMVALUE>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "unknown PARAMTYPE",
            extrinsic(
                r#"<PARAMVALUE NAME="RequestedState" PARAMTYPE="int"><VALUE>4</VALUE></PARAMVALUE>"#,
            ),
            K::InvalidAttribute,
        ),
        case(
            "unknown EmbeddedObject kind",
            extrinsic(
                r#"<PARAMVALUE NAME="E" PARAMTYPE="string" EmbeddedObject="blob"><VALUE>x</VALUE></PARAMVALUE>"#,
            ),
            K::InvalidAttribute,
        ),
        case(
            "embedded instance text that is not XML",
            extrinsic(
                r#"<PARAMVALUE NAME="E" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>not xml</VALUE></PARAMVALUE>"#,
            ),
            K::Syntax,
        ),
        case(
            "embedded text that is not an INSTANCE",
            extrinsic(
                r#"<PARAMVALUE NAME="E" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>&lt;CIM/&gt;</VALUE></PARAMVALUE>"#,
            ),
            K::UnexpectedElement,
        ),
        case(
            "embedded class",
            extrinsic(
                r#"<PARAMVALUE NAME="E" PARAMTYPE="string" EmbeddedObject="object"><VALUE>&lt;CLASS NAME="C"/&gt;</VALUE></PARAMVALUE>"#,
            ),
            K::Unsupported,
        ),
        case(
            "embedded DOCTYPE",
            extrinsic(
                r#"<PARAMVALUE NAME="E" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>&lt;!DOCTYPE x&gt;&lt;INSTANCE CLASSNAME="C"/&gt;</VALUE></PARAMVALUE>"#,
            ),
            K::Doctype,
        ),
        case(
            "NULL array element",
            extrinsic(
                r#"<PARAMVALUE NAME="States" PARAMTYPE="uint16"><VALUE.ARRAY><VALUE>1</VALUE><VALUE.NULL/></VALUE.ARRAY></PARAMVALUE>"#,
            ),
            K::Unsupported,
        ),
        // keys
        case(
            "KEYVALUE with a bad integer",
            with_keys(
                r#"<KEYBINDING NAME="Id"><KEYVALUE VALUETYPE="numeric">12a</KEYVALUE></KEYBINDING>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "KEYVALUE out of its TYPE's range",
            with_keys(
                r#"<KEYBINDING NAME="Id"><KEYVALUE VALUETYPE="numeric" TYPE="uint8">300</KEYVALUE></KEYBINDING>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "KEYVALUE with a bad boolean",
            with_keys(
                r#"<KEYBINDING NAME="On"><KEYVALUE VALUETYPE="boolean">maybe</KEYVALUE></KEYBINDING>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "KEYVALUE with an unknown VALUETYPE",
            with_keys(
                r#"<KEYBINDING NAME="Id"><KEYVALUE VALUETYPE="blob">1</KEYVALUE></KEYBINDING>"#,
            ),
            K::InvalidAttribute,
        ),
        case(
            "KEYVALUE with a real TYPE",
            with_keys(
                r#"<KEYBINDING NAME="Id"><KEYVALUE VALUETYPE="numeric" TYPE="real32">1.5</KEYVALUE></KEYBINDING>"#,
            ),
            K::Unsupported,
        ),
        case(
            "key bound twice",
            with_keys(
                r#"<KEYBINDING NAME="Id"><KEYVALUE>1</KEYVALUE></KEYBINDING><KEYBINDING NAME="ID"><KEYVALUE>2</KEYVALUE></KEYBINDING>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "unnamed key",
            with_keys(r#"<KEYVALUE>1</KEYVALUE>"#),
            K::Unsupported,
        ),
        case(
            "KEYBINDING without a value",
            with_keys(r#"<KEYBINDING NAME="Id"/>"#),
            K::MissingElement,
        ),
        // properties
        case(
            "property VALUE of the wrong type",
            with_properties(
                r#"<PROPERTY NAME="Priority" TYPE="uint32"><VALUE>high</VALUE></PROPERTY>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "unknown property TYPE",
            with_properties(
                r#"<PROPERTY NAME="Priority" TYPE="integer"><VALUE>1</VALUE></PROPERTY>"#,
            ),
            K::InvalidAttribute,
        ),
        case(
            "array value in a scalar property",
            with_properties(
                r#"<PROPERTY NAME="P" TYPE="uint8"><VALUE.ARRAY><VALUE>1</VALUE></VALUE.ARRAY></PROPERTY>"#,
            ),
            K::UnexpectedElement,
        ),
        case(
            "scalar value in an array property",
            with_properties(
                r#"<PROPERTY.ARRAY NAME="P" TYPE="uint8"><VALUE>1</VALUE></PROPERTY.ARRAY>"#,
            ),
            K::UnexpectedElement,
        ),
        case(
            "PROPAGATED that is not a boolean",
            with_properties(r#"<PROPERTY NAME="P" TYPE="uint8" PROPAGATED="yes"/>"#),
            K::InvalidAttribute,
        ),
        case(
            "qualifier without TYPE",
            with_properties(
                r#"<PROPERTY NAME="P" TYPE="uint8"><QUALIFIER NAME="Key"><VALUE>TRUE</VALUE></QUALIFIER></PROPERTY>"#,
            ),
            K::MissingAttribute,
        ),
        case(
            "unknown element in an INSTANCE",
            with_properties(r#"<METHOD NAME="M"/>"#),
            K::UnexpectedElement,
        ),
        // responses
        case(
            "ERROR CODE that is not a number",
            envelope(
                r#"<SIMPLERSP><IMETHODRESPONSE NAME="GetClass"><ERROR CODE="six"/></IMETHODRESPONSE></SIMPLERSP>"#,
            ),
            K::InvalidValue,
        ),
        case(
            "IRETURNVALUE mixing element kinds",
            envelope(
                r#"<SIMPLERSP><IMETHODRESPONSE NAME="EnumerateClassNames"><IRETURNVALUE><CLASSNAME NAME="A"/><INSTANCENAME CLASSNAME="B"/></IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP>"#,
            ),
            K::UnexpectedElement,
        ),
        case(
            "ERROR together with a return value",
            envelope(
                r#"<SIMPLERSP><METHODRESPONSE NAME="M"><ERROR CODE="1"/><RETURNVALUE><VALUE>0</VALUE></RETURNVALUE></METHODRESPONSE></SIMPLERSP>"#,
            ),
            K::UnexpectedElement,
        ),
        case(
            "VALUE.NAMEDINSTANCE without its INSTANCE",
            envelope(
                r#"<SIMPLERSP><IMETHODRESPONSE NAME="EnumerateInstances"><IRETURNVALUE><VALUE.NAMEDINSTANCE><INSTANCENAME CLASSNAME="C"/></VALUE.NAMEDINSTANCE></IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP>"#,
            ),
            K::MissingElement,
        ),
    ]
}

#[test]
fn malformed_bodies_are_refused_with_the_right_kind() {
    let mut failures = Vec::new();
    for c in cases() {
        match read_request(&c.body, &c.limits) {
            Ok(m) => failures.push(format!("{}: accepted as {m:?}", c.rule)),
            Err(e) if e.kind() != c.kind => failures.push(format!(
                "{}: expected {:?}, got {:?}: {e}",
                c.rule,
                c.kind,
                e.kind()
            )),
            Err(e) => assert!(!e.message().is_empty(), "{}", c.rule),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_good_body_used_by_the_table_is_accepted() {
    // Guards the table: its rows break this body in one way each.
    let r = read_request(good().as_bytes(), &Limits::DEFAULT).unwrap();
    assert_eq!(r.call.name(), "EnumerateInstanceNames");
    read_request(nested_references(10).as_bytes(), &Limits::DEFAULT).unwrap();
    read_request(nested_embedded(10).as_bytes(), &Limits::DEFAULT).unwrap();
    read_request(extrinsic("").as_bytes(), &Limits::DEFAULT).unwrap();
    read_request(with_properties("").as_bytes(), &Limits::DEFAULT).unwrap();
    read_request(with_keys("").as_bytes(), &Limits::DEFAULT).unwrap();
}

#[test]
fn reading_a_message_of_the_wrong_kind_is_refused() {
    let response = write_response(&Response::intrinsic("1", "DeleteInstance", None));
    let err = read_request(response.as_bytes(), &Limits::DEFAULT).unwrap_err();
    assert_eq!(err.kind(), XmlErrorKind::UnexpectedElement);
    assert!(err.to_string().contains("SIMPLERSP"), "{err}");
    assert!(read_export_request(response.as_bytes(), &Limits::DEFAULT).is_err());
    assert!(read_export_response(good().as_bytes(), &Limits::DEFAULT).is_err());
    assert!(read_response(good().as_bytes(), &Limits::DEFAULT).is_err());
}

#[test]
fn errors_say_where_and_what() {
    let body = with_keys(
        r#"<KEYBINDING NAME="Id"><KEYVALUE VALUETYPE="numeric">12a</KEYVALUE></KEYBINDING>"#,
    );
    let err = read_request(body.as_bytes(), &Limits::DEFAULT).unwrap_err();
    let at = body.find("<KEYVALUE").unwrap() as u64;
    assert_eq!(err.position(), Some(at));
    assert_eq!(
        err.to_string(),
        format!(r#"KEYVALUE of key Id: "12a" is not a valid integer (at byte {at})"#)
    );

    let body = extrinsic(
        r#"<PARAMVALUE NAME="RequestedState" PARAMTYPE="uint8"><VALUE>300</VALUE></PARAMVALUE>"#,
    );
    let err = read_request(body.as_bytes(), &Limits::DEFAULT).unwrap_err();
    assert!(
        err.message()
            .starts_with("parameter RequestedState: 300 is out of range for uint8"),
        "{err}"
    );

    let err = read_request(nested_embedded(25).as_bytes(), &Limits::DEFAULT).unwrap_err();
    assert!(err.message().contains("embedded instance"), "{err}");
}

#[test]
fn each_kind_maps_to_an_http_answer() {
    use XmlErrorKind as K;
    let answer = |kind| {
        let e = XmlError::new(kind, "x", None);
        (e.http_status(), e.cim_error_header().as_str())
    };
    for kind in [K::Syntax, K::Truncated, K::Encoding, K::Doctype, K::Entity] {
        assert_eq!(answer(kind), (400, "request-not-well-formed"), "{kind:?}");
    }
    for kind in [
        K::UnexpectedElement,
        K::UnexpectedText,
        K::MissingElement,
        K::MissingAttribute,
        K::InvalidAttribute,
        K::InvalidValue,
        K::TypeMismatch,
        K::Unsupported,
        K::TooDeep,
        K::TooManyElements,
        K::AttributeTooLong,
        K::TooManyAttributes,
    ] {
        assert_eq!(answer(kind), (400, "request-not-valid"), "{kind:?}");
    }
    assert_eq!(answer(K::TooLarge), (413, "request-not-valid"));
    assert_eq!(
        answer(K::UnsupportedProtocolVersion),
        (501, "unsupported-protocol-version")
    );
    assert_eq!(
        answer(K::UnsupportedCimVersion),
        (501, "unsupported-cim-version")
    );
    assert_eq!(
        answer(K::UnsupportedDtdVersion),
        (501, "unsupported-dtd-version")
    );
    assert_eq!(
        answer(K::MultipleRequestsUnsupported),
        (501, "multiple-requests-unsupported")
    );

    let status = |kind| XmlError::new(kind, "x", None).status_code();
    assert_eq!(status(K::InvalidValue), CimStatusCode::InvalidParameter);
    assert_eq!(status(K::TypeMismatch), CimStatusCode::TypeMismatch);
    assert_eq!(status(K::Unsupported), CimStatusCode::NotSupported);
    assert_eq!(
        status(K::TooManyElements),
        CimStatusCode::ServerLimitsExceeded
    );
    assert_eq!(status(K::Syntax), CimStatusCode::Failed);
}
