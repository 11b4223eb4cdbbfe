//! Object paths in the untyped WBEM URI form (DSP0207).

use cim::{KeyValue, ObjectPath, PathError};
use proptest::prelude::*;

fn job(id: &str) -> ObjectPath {
    ObjectPath::new(Some("root/cimv2"), "CIMJOB_ConcreteJob")
        .with_key("InstanceID", KeyValue::from(id))
}

#[test]
fn display_writes_the_standard_form() {
    let rows = [
        (
            "host and namespace",
            job("CIMJOB:1").with_host("host"),
            r#"//host/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#,
        ),
        (
            "namespace only",
            job("CIMJOB:1"),
            r#"/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#,
        ),
        (
            "no namespace",
            ObjectPath::new(None, "CIM_Job").with_key("Id", 1u8.into()),
            "/:CIM_Job.Id=1",
        ),
        (
            "host, no namespace",
            ObjectPath::new(None, "CIM_Job").with_host("h:5989"),
            "//h:5989/:CIM_Job",
        ),
        (
            "quote and backslash escaped",
            job(r#"a"b\c"#),
            r#"/root/cimv2:CIMJOB_ConcreteJob.InstanceID="a\"b\\c""#,
        ),
        (
            "several keys of each kind",
            ObjectPath::new(Some("interop"), "CIM_X")
                .with_key("S", "s".into())
                .with_key("N", (-5i32).into())
                .with_key("B", true.into()),
            r#"/interop:CIM_X.S="s",N=-5,B=TRUE"#,
        ),
        (
            "reference key",
            ObjectPath::new(Some("root/cimv2"), "CIM_OwningJobElement")
                .with_key("OwnedElement", job("CIMJOB:2").into()),
            r#"/root/cimv2:CIM_OwningJobElement.OwnedElement="/root/cimv2:CIMJOB_ConcreteJob.InstanceID=\"CIMJOB:2\"""#,
        ),
    ];
    for (rule, path, text) in rows {
        assert_eq!(path.to_string(), text, "{rule}");
        assert_eq!(
            ObjectPath::parse(text).unwrap(),
            path,
            "{rule}: parse(display(p)) == p"
        );
    }
}

#[test]
fn parse_accepts_other_spellings() {
    let rows = [
        (
            "http scheme",
            r#"http://host/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#,
            job("CIMJOB:1").with_host("host"),
        ),
        (
            "https scheme with port",
            r#"https://h:5989/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#,
            job("CIMJOB:1").with_host("h:5989"),
        ),
        (
            "historical, no leading slash",
            r#"root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#,
            job("CIMJOB:1"),
        ),
        ("class only", "CIM_Job", ObjectPath::new(None, "CIM_Job")),
        (
            "keys without namespace",
            "CIM_Job.Id=0x10",
            ObjectPath::new(None, "CIM_Job").with_key("Id", 16u8.into()),
        ),
        (
            "lower-case boolean",
            "/:C.B=false",
            ObjectPath::new(None, "C").with_key("B", false.into()),
        ),
        (
            "explicit plus",
            "/:C.N=+7",
            ObjectPath::new(None, "C").with_key("N", 7u8.into()),
        ),
        (
            "colon and dot inside a value",
            r#"/ns:C.K="a.b:c=d,e""#,
            ObjectPath::new(Some("ns"), "C").with_key("K", "a.b:c=d,e".into()),
        ),
        (
            "empty string value",
            r#"/:C.K="""#,
            ObjectPath::new(None, "C").with_key("K", "".into()),
        ),
        (
            "string that is not an instance path",
            r#"/:C.K="/var/lib:x""#,
            ObjectPath::new(None, "C").with_key("K", "/var/lib:x".into()),
        ),
    ];
    for (rule, text, expected) in rows {
        assert_eq!(
            ObjectPath::parse(text).unwrap_or_else(|e| panic!("{rule}: {e}")),
            expected,
            "{rule}"
        );
    }
    let p: ObjectPath = "/:C.K=1".parse().unwrap();
    assert_eq!(p.key("k"), Some(&KeyValue::Integer(1)));
}

#[test]
fn a_quoted_instance_path_reads_as_a_reference() {
    // The untyped form cannot tell a string that happens to be an instance
    // path from a reference; like pywbem, we read it as a reference.
    let p = ObjectPath::parse(r#"/:C.K="/:D.Id=1""#).unwrap();
    assert_eq!(
        p.key("K"),
        Some(&KeyValue::Reference(Box::new(
            ObjectPath::new(None, "D").with_key("Id", 1u8.into())
        )))
    );
}

#[test]
fn keys_are_found_ignoring_case_and_replaced_in_place() {
    let p = ObjectPath::new(None, "C")
        .with_key("InstanceID", "a".into())
        .with_key("Other", 1u8.into());
    assert_eq!(p.key("instanceid"), Some(&KeyValue::from("a")));
    assert_eq!(p.key("INSTANCEID"), Some(&KeyValue::from("a")));
    assert_eq!(p.key("missing"), None);
    let p = p.with_key("INSTANCEID", "b".into());
    assert_eq!(p.keys.len(), 2);
    assert_eq!(p.keys[0], ("INSTANCEID".to_owned(), KeyValue::from("b")));
}

#[test]
fn new_normalises_the_namespace() {
    assert_eq!(
        ObjectPath::new(Some("/root/cimv2/"), "C")
            .namespace
            .as_deref(),
        Some("root/cimv2")
    );
    assert_eq!(ObjectPath::new(Some(""), "C").namespace, None);
    assert_eq!(ObjectPath::new(Some("/"), "C").namespace, None);
}

type Matcher = fn(&PathError) -> bool;

macro_rules! is {
    ($pat:pat) => {
        |e: &PathError| matches!(e, $pat)
    };
}

#[test]
fn invalid_uris_are_rejected_with_the_right_error() {
    let rows: &[(&str, &str, Matcher)] = &[
        ("empty", "", is!(PathError::Empty { .. })),
        (
            "host without path",
            "//host",
            is!(PathError::InvalidHost { .. }),
        ),
        (
            "empty host",
            "///root:C",
            is!(PathError::InvalidHost { .. }),
        ),
        (
            "namespace without colon",
            "/root/cimv2",
            is!(PathError::MissingColon { .. }),
        ),
        (
            "empty namespace segment",
            "/root//cimv2:C",
            is!(PathError::InvalidNamespace { .. }),
        ),
        (
            "space in namespace",
            "/root cimv2:C",
            is!(PathError::InvalidNamespace { .. }),
        ),
        (
            "missing class",
            "/root/cimv2:",
            is!(PathError::InvalidClassName { .. }),
        ),
        (
            "class starting with a digit",
            "/:1C",
            is!(PathError::InvalidClassName { .. }),
        ),
        (
            "class with a space",
            "/:C D",
            is!(PathError::InvalidClassName { .. }),
        ),
        (
            "dot without keys",
            "/:C.",
            is!(PathError::InvalidKeyName { .. }),
        ),
        (
            "bad key name",
            "/:C.1a=1",
            is!(PathError::InvalidKeyName { .. }),
        ),
        (
            "trailing comma",
            "/:C.a=1,",
            is!(PathError::InvalidKeyName { .. }),
        ),
        (
            "key without value",
            "/:C.a",
            is!(PathError::MissingKeyValue { .. }),
        ),
        (
            "key with empty value",
            "/:C.a=",
            is!(PathError::MissingKeyValue { .. }),
        ),
        (
            "unterminated string",
            r#"/:C.a="x"#,
            is!(PathError::UnterminatedString { .. }),
        ),
        (
            "backslash at the end",
            r#"/:C.a="x\"#,
            is!(PathError::UnterminatedString { .. }),
        ),
        (
            "unknown escape",
            r#"/:C.a="x\n""#,
            is!(PathError::InvalidEscape { found: 'n', .. }),
        ),
        (
            "unquoted word",
            "/:C.a=abc",
            is!(PathError::InvalidKeyValue { .. }),
        ),
        (
            "real number",
            "/:C.a=1.5",
            is!(PathError::InvalidKeyValue { .. }),
        ),
        (
            "integer beyond i128",
            "/:C.a=999999999999999999999999999999999999999999",
            is!(PathError::InvalidKeyValue { .. }),
        ),
        (
            "text after a quoted value",
            r#"/:C.a="x"y"#,
            is!(PathError::TrailingCharacters { .. }),
        ),
        (
            "duplicate key",
            "/:C.a=1,A=2",
            is!(PathError::DuplicateKey { .. }),
        ),
    ];
    for (rule, uri, expected) in rows {
        match ObjectPath::parse(uri) {
            Ok(p) => panic!("{rule}: {uri:?} parsed as {p:?}"),
            Err(e) => {
                assert!(expected(&e), "{rule}: wrong error {e:?}");
                assert!(
                    e.to_string().contains(&format!("{uri:?}")),
                    "{rule}: message does not quote the input: {e}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------

fn identifier() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

fn plain_path(
    keys: impl Strategy<Value = KeyValue> + 'static,
) -> impl Strategy<Value = ObjectPath> {
    (
        prop::option::of("[a-z0-9.-]{1,12}(:[0-9]{1,5})?"),
        prop::option::of("[a-z][a-z0-9_-]{0,6}(/[A-Za-z0-9_]{1,6}){0,2}"),
        identifier(),
        prop::collection::vec((identifier(), keys), 1..4),
    )
        .prop_map(|(host, ns, class, keys)| {
            let mut p = ObjectPath::new(ns.as_deref(), &class);
            p.host = host;
            for (k, v) in keys {
                p = p.with_key(&k, v);
            }
            p
        })
}

fn scalar_key() -> impl Strategy<Value = KeyValue> {
    prop_oneof![
        any::<String>().prop_map(KeyValue::String),
        any::<i128>().prop_map(KeyValue::Integer),
        any::<bool>().prop_map(KeyValue::Boolean),
    ]
}

fn any_key() -> impl Strategy<Value = KeyValue> {
    prop_oneof![
        3 => scalar_key(),
        1 => plain_path(scalar_key()).prop_map(|p| KeyValue::Reference(Box::new(p))),
    ]
}

proptest! {
    #[test]
    fn parse_of_display_is_identity(p in plain_path(any_key())) {
        let text = p.to_string();
        prop_assert_eq!(ObjectPath::parse(&text).unwrap(), p);
    }

    #[test]
    fn display_of_parse_is_identity(p in plain_path(any_key())) {
        let text = p.to_string();
        prop_assert_eq!(ObjectPath::parse(&text).unwrap().to_string(), text);
    }

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = ObjectPath::parse(&s);
    }
}
