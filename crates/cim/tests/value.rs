//! CIM types and values: ranges, VALUE text parsing and printing, arrays.

use cim::{CimArray, CimDateTime, CimType, CimValue, KeyValue, ObjectPath, ValueError, ValueType};
use proptest::prelude::*;

const INTEGER_TYPES: [(CimType, i128, i128); 8] = [
    (CimType::UInt8, 0, 255),
    (CimType::SInt8, -128, 127),
    (CimType::UInt16, 0, 65_535),
    (CimType::SInt16, -32_768, 32_767),
    (CimType::UInt32, 0, 4_294_967_295),
    (CimType::SInt32, -2_147_483_648, 2_147_483_647),
    (CimType::UInt64, 0, 18_446_744_073_709_551_615),
    (
        CimType::SInt64,
        -9_223_372_036_854_775_808,
        9_223_372_036_854_775_807,
    ),
];

#[test]
fn integer_boundaries_are_inclusive_and_one_past_is_rejected() {
    for (ty, min, max) in INTEGER_TYPES {
        assert_eq!(ty.integer_range(), Some((min, max)), "{ty}");
        assert!(ty.is_integer());
        for v in [min, max] {
            let value = CimValue::from_integer(ty, v).unwrap_or_else(|e| panic!("{ty} {v}: {e}"));
            assert_eq!(value.cim_type(), ty);
            assert_eq!(value.as_i128(), Some(v));
            assert_eq!(value.to_string(), v.to_string());
            // The same boundary through the text form, decimal and hex.
            assert_eq!(
                CimValue::parse(ty, &v.to_string()).unwrap(),
                value,
                "{ty} {v}"
            );
            let hex = if v < 0 {
                format!("-0x{:X}", v.unsigned_abs())
            } else {
                format!("0x{v:x}")
            };
            assert_eq!(CimValue::parse(ty, &hex).unwrap(), value, "{ty} {hex}");
        }
        for v in [min - 1, max + 1] {
            let err = CimValue::from_integer(ty, v).unwrap_err();
            assert_eq!(
                err,
                ValueError::OutOfRange {
                    value: v.to_string(),
                    ty,
                    min,
                    max
                },
                "{ty} {v}"
            );
            assert_eq!(
                err.to_string(),
                format!("{v} is out of range for {ty} ({min}..={max})")
            );
            assert!(
                matches!(
                    CimValue::parse(ty, &v.to_string()),
                    Err(ValueError::OutOfRange { .. })
                ),
                "{ty} {v}"
            );
        }
    }
}

#[test]
fn the_documented_range_message() {
    assert_eq!(
        CimValue::from_integer(CimType::UInt8, 300)
            .unwrap_err()
            .to_string(),
        "300 is out of range for uint8 (0..=255)"
    );
}

#[test]
fn from_integer_refuses_non_integer_types() {
    for ty in CimType::ALL.into_iter().filter(|t| !t.is_integer()) {
        assert!(ty.integer_range().is_none());
        assert_eq!(
            CimValue::from_integer(ty, 1),
            Err(ValueError::NotAnIntegerType { ty, value: 1 })
        );
    }
}

#[test]
fn type_names_follow_dsp0004() {
    let rows = [
        (CimType::Boolean, "boolean"),
        (CimType::Char16, "char16"),
        (CimType::String, "string"),
        (CimType::DateTime, "datetime"),
        (CimType::UInt8, "uint8"),
        (CimType::SInt8, "sint8"),
        (CimType::UInt16, "uint16"),
        (CimType::SInt16, "sint16"),
        (CimType::UInt32, "uint32"),
        (CimType::SInt32, "sint32"),
        (CimType::UInt64, "uint64"),
        (CimType::SInt64, "sint64"),
        (CimType::Real32, "real32"),
        (CimType::Real64, "real64"),
        (CimType::Reference, "reference"),
        (CimType::Instance, "instance"),
    ];
    assert_eq!(rows.len(), CimType::ALL.len());
    for (ty, name) in rows {
        assert_eq!(ty.name(), name);
        assert_eq!(ty.to_string(), name);
        assert_eq!(CimType::from_name(name), Some(ty));
        assert_eq!(
            CimType::from_name(&name.to_uppercase()),
            Some(ty),
            "names are case-insensitive"
        );
    }
    assert_eq!(CimType::from_name("int32"), None);
    assert_eq!(CimType::from_name(""), None);
}

#[test]
fn parse_reads_each_type() {
    let job = ObjectPath::new(Some("root/cimv2"), "CIMJOB_ConcreteJob")
        .with_key("InstanceID", KeyValue::from("CIMJOB:1"));
    let rows: Vec<(CimType, &str, CimValue)> = vec![
        (CimType::Boolean, "true", CimValue::Boolean(true)),
        (CimType::Boolean, "TRUE", CimValue::Boolean(true)),
        (CimType::Boolean, " False ", CimValue::Boolean(false)),
        (CimType::Char16, "x", CimValue::Char16('x')),
        (CimType::Char16, " ", CimValue::Char16(' ')),
        (CimType::Char16, "\u{FFFF}", CimValue::Char16('\u{FFFF}')),
        (
            CimType::String,
            "  as is  ",
            CimValue::String("  as is  ".into()),
        ),
        (CimType::String, "", CimValue::String(String::new())),
        (
            CimType::DateTime,
            "00000000000500.000000:000",
            CimValue::DateTime("00000000000500.000000:000".parse().unwrap()),
        ),
        (CimType::UInt8, "+7", CimValue::UInt8(7)),
        (CimType::UInt8, "007", CimValue::UInt8(7)),
        (CimType::UInt8, "-0", CimValue::UInt8(0)),
        (CimType::SInt8, "-0x80", CimValue::SInt8(-128)),
        (CimType::UInt16, "0XFFFF", CimValue::UInt16(65_535)),
        (CimType::SInt16, " -5 ", CimValue::SInt16(-5)),
        (CimType::UInt32, "4096", CimValue::UInt32(4096)),
        (CimType::SInt32, "-1", CimValue::SInt32(-1)),
        (
            CimType::UInt64,
            "18446744073709551615",
            CimValue::UInt64(u64::MAX),
        ),
        (
            CimType::SInt64,
            "-9223372036854775808",
            CimValue::SInt64(i64::MIN),
        ),
        (CimType::Real32, "1.5", CimValue::Real32(1.5)),
        (CimType::Real32, "-INF", CimValue::Real32(f32::NEG_INFINITY)),
        (CimType::Real32, "3.4028235e38", CimValue::Real32(f32::MAX)),
        (CimType::Real64, "2.5E-3", CimValue::Real64(0.0025)),
        (CimType::Real64, "INF", CimValue::Real64(f64::INFINITY)),
        (CimType::Real64, "+INF", CimValue::Real64(f64::INFINITY)),
        (CimType::Real64, "-1e308", CimValue::Real64(-1e308)),
        (
            CimType::Reference,
            r#"/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#,
            CimValue::Reference(job),
        ),
    ];
    for (ty, text, expected) in rows {
        let got = CimValue::parse(ty, text).unwrap_or_else(|e| panic!("{ty} {text:?}: {e}"));
        assert_eq!(got, expected, "{ty} {text:?}");
        assert_eq!(got.cim_type(), ty);
    }
    let nan = CimValue::parse(CimType::Real64, "NaN").unwrap();
    assert!(nan.as_f64().unwrap().is_nan());
    assert_eq!(nan.to_string(), "NaN");
}

type Matcher = fn(&ValueError) -> bool;

macro_rules! is {
    ($pat:pat) => {
        |e: &ValueError| matches!(e, $pat)
    };
}

#[test]
fn parse_rejects_bad_text_with_the_right_error() {
    let rows: &[(&str, CimType, &str, Matcher)] = &[
        (
            "empty integer",
            CimType::UInt8,
            "",
            is!(ValueError::InvalidInteger { .. }),
        ),
        (
            "sign only",
            CimType::SInt8,
            "-",
            is!(ValueError::InvalidInteger { .. }),
        ),
        (
            "hex prefix only",
            CimType::UInt16,
            "0x",
            is!(ValueError::InvalidInteger { .. }),
        ),
        (
            "letters",
            CimType::UInt32,
            "four",
            is!(ValueError::InvalidInteger { .. }),
        ),
        (
            "real for an integer",
            CimType::UInt32,
            "1.0",
            is!(ValueError::InvalidInteger { .. }),
        ),
        (
            "double sign",
            CimType::SInt32,
            "--1",
            is!(ValueError::InvalidInteger { .. }),
        ),
        (
            "inner space",
            CimType::SInt32,
            "1 2",
            is!(ValueError::InvalidInteger { .. }),
        ),
        (
            "negative unsigned",
            CimType::UInt64,
            "-1",
            is!(ValueError::OutOfRange { .. }),
        ),
        (
            "beyond i128",
            CimType::UInt64,
            "999999999999999999999999999999999999999999",
            is!(ValueError::OutOfRange { .. }),
        ),
        (
            "real32 overflow",
            CimType::Real32,
            "1e39",
            is!(ValueError::RealOutOfRange {
                ty: CimType::Real32,
                ..
            }),
        ),
        (
            "real64 overflow",
            CimType::Real64,
            "1e309",
            is!(ValueError::RealOutOfRange {
                ty: CimType::Real64,
                ..
            }),
        ),
        (
            "real words",
            CimType::Real64,
            "one",
            is!(ValueError::InvalidReal { .. }),
        ),
        (
            "real empty",
            CimType::Real64,
            "",
            is!(ValueError::InvalidReal { .. }),
        ),
        (
            "real dot only",
            CimType::Real64,
            ".",
            is!(ValueError::InvalidReal { .. }),
        ),
        (
            "real hex",
            CimType::Real64,
            "0x10",
            is!(ValueError::InvalidReal { .. }),
        ),
        (
            "boolean yes",
            CimType::Boolean,
            "yes",
            is!(ValueError::InvalidBoolean { .. }),
        ),
        (
            "boolean 1",
            CimType::Boolean,
            "1",
            is!(ValueError::InvalidBoolean { .. }),
        ),
        (
            "char16 empty",
            CimType::Char16,
            "",
            is!(ValueError::Char16Length { len: 0, .. }),
        ),
        (
            "char16 two chars",
            CimType::Char16,
            "ab",
            is!(ValueError::Char16Length { len: 2, .. }),
        ),
        (
            "char16 outside the BMP",
            CimType::Char16,
            "😀",
            is!(ValueError::Char16NotBmp {
                code_point: 0x1F600,
                ..
            }),
        ),
        (
            "char16 combining pair",
            CimType::Char16,
            "e\u{301}",
            is!(ValueError::Char16Length { len: 2, .. }),
        ),
        (
            "bad datetime",
            CimType::DateTime,
            "20261301000000.000000+000",
            is!(ValueError::DateTime(_)),
        ),
        (
            "bad reference",
            CimType::Reference,
            "/root/cimv2:",
            is!(ValueError::Reference(_)),
        ),
        (
            "instance has no text form",
            CimType::Instance,
            "x",
            is!(ValueError::UnsupportedType {
                ty: CimType::Instance
            }),
        ),
    ];
    for (rule, ty, text, expected) in rows {
        match CimValue::parse(*ty, text) {
            Ok(v) => panic!("{rule}: {text:?} parsed as {v:?}"),
            Err(e) => assert!(expected(&e), "{rule}: wrong error {e:?}"),
        }
    }
}

#[test]
fn parse_error_messages_name_value_type_and_rule() {
    let rows = [
        (
            CimType::UInt8,
            "abc",
            r#""abc" is not a valid uint8: expected decimal digits with an optional sign, or 0x and hex digits"#,
        ),
        (
            CimType::Real32,
            "1e39",
            "1e39 is out of range for real32 (largest finite magnitude 3.4028235e38)",
        ),
        (
            CimType::Boolean,
            "yes",
            r#""yes" is not a valid boolean: expected true or false (any case)"#,
        ),
        (
            CimType::UInt16,
            "65536",
            "65536 is out of range for uint16 (0..=65535)",
        ),
        (
            CimType::Char16,
            "😀",
            r#""😀" is not a valid char16: U+1F600 is outside the Basic Multilingual Plane (U+0000..=U+FFFF) and would need a UTF-16 surrogate pair"#,
        ),
    ];
    for (ty, text, message) in rows {
        assert_eq!(CimValue::parse(ty, text).unwrap_err().to_string(), message);
    }
}

#[test]
fn char16_rules() {
    assert_eq!(CimValue::char16('A').unwrap(), CimValue::Char16('A'));
    assert_eq!(
        CimValue::char16('\u{D7FF}').unwrap(),
        CimValue::Char16('\u{D7FF}')
    );
    assert_eq!(
        CimValue::char16('\u{E000}').unwrap(),
        CimValue::Char16('\u{E000}')
    );
    assert_eq!(CimValue::char16('\0').unwrap(), CimValue::Char16('\0'));
    assert!(matches!(
        CimValue::char16('\u{10000}'),
        Err(ValueError::Char16NotBmp {
            code_point: 0x10000,
            ..
        })
    ));
    // Surrogates cannot occur in a Rust `char`/`&str`, so "not a surrogate"
    // reduces to "in the BMP".
    assert!(char::from_u32(0xD800).is_none());
    assert_eq!(CimValue::Char16('é').as_char(), Some('é'));
}

#[test]
fn display_writes_cim_xml_value_text() {
    let array = CimArray::new(
        CimType::UInt16,
        vec![CimValue::UInt16(2), CimValue::UInt16(17)],
    )
    .unwrap();
    let rows = [
        (CimValue::Boolean(true), "TRUE"),
        (CimValue::Boolean(false), "FALSE"),
        (CimValue::SInt8(-5), "-5"),
        (CimValue::UInt64(u64::MAX), "18446744073709551615"),
        (CimValue::Real32(f32::INFINITY), "INF"),
        (CimValue::Real64(f64::NEG_INFINITY), "-INF"),
        (CimValue::Real64(f64::NAN), "NaN"),
        (CimValue::Real64(0.1), "0.1"),
        (CimValue::Real32(0.1), "0.1"),
        (CimValue::Real64(1e300), "1e300"),
        (
            CimValue::DateTime(CimDateTime::zero_interval()),
            "00000000000000.000000:000",
        ),
        (CimValue::Array(array), "2, 17"),
        (
            CimValue::Reference(
                ObjectPath::new(Some("root/cimv2"), "CIM_Job").with_key("Id", 3u8.into()),
            ),
            "/root/cimv2:CIM_Job.Id=3",
        ),
    ];
    for (value, text) in rows {
        assert_eq!(value.to_string(), text, "{value:?}");
    }
}

#[test]
fn arrays_hold_one_element_type() {
    let ok = CimArray::new(CimType::String, vec!["a".into(), "b".into()]).unwrap();
    assert_eq!(ok.elem_type(), CimType::String);
    assert_eq!(ok.items().len(), 2);
    let v = CimValue::Array(ok.clone());
    assert!(v.is_array());
    assert_eq!(
        v.cim_type(),
        CimType::String,
        "an array's cim_type is its element type"
    );
    assert_eq!(
        v.value_type(),
        ValueType {
            ty: CimType::String,
            is_array: true
        }
    );
    assert_eq!(v.as_array(), Some(&ok));

    for ty in CimType::ALL {
        assert!(CimArray::new(ty, vec![]).is_ok(), "empty {ty} array");
    }

    let err = CimArray::new(
        CimType::UInt16,
        vec![CimValue::UInt16(1), CimValue::UInt32(2)],
    )
    .unwrap_err();
    assert_eq!(
        err,
        ValueError::ArrayElementType {
            index: 1,
            expected: CimType::UInt16,
            found: ValueType {
                ty: CimType::UInt32,
                is_array: false
            },
            value: "2".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "array of uint16: element 1 (2) has type uint32"
    );

    let nested = CimArray::new(CimType::UInt16, vec![CimValue::UInt16(1)]).unwrap();
    let err = CimArray::new(CimType::UInt16, vec![CimValue::Array(nested)]).unwrap_err();
    assert!(
        matches!(
            err,
            ValueError::ArrayElementType {
                index: 0,
                found: ValueType { is_array: true, .. },
                ..
            }
        ),
        "arrays do not nest: {err:?}"
    );
}

#[test]
fn accessors_return_only_matching_kinds() {
    assert_eq!(CimValue::UInt16(4).as_u64(), Some(4));
    assert_eq!(CimValue::SInt64(-1).as_u64(), None);
    assert_eq!(CimValue::SInt64(-1).as_i64(), Some(-1));
    assert_eq!(CimValue::UInt64(u64::MAX).as_i64(), None);
    assert_eq!(CimValue::UInt64(u64::MAX).as_u64(), Some(u64::MAX));
    assert_eq!(
        CimValue::Real64(1.0).as_u64(),
        None,
        "reals are not integers"
    );
    assert_eq!(CimValue::from("x").as_u64(), None);
    assert_eq!(CimValue::from("x").as_str(), Some("x"));
    assert_eq!(CimValue::Char16('x').as_str(), None);
    assert_eq!(CimValue::Boolean(true).as_bool(), Some(true));
    assert_eq!(CimValue::from("true").as_bool(), None);
    let dt = CimDateTime::zero_interval();
    assert_eq!(CimValue::DateTime(dt).as_datetime(), Some(&dt));
    assert_eq!(CimValue::UInt8(0).as_datetime(), None);
    assert_eq!(CimValue::UInt8(0).as_array(), None);
    assert_eq!(CimValue::from(7u32), CimValue::UInt32(7));
    assert_eq!(CimValue::from(-7i8), CimValue::SInt8(-7));
}

// ---------------------------------------------------------------------------
// parse(display(v)) == v for every type

fn identifier() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

fn object_path() -> impl Strategy<Value = ObjectPath> {
    (
        prop::option::of("[a-z0-9.-]{1,12}(:[0-9]{1,5})?"),
        prop::option::of("[a-z][a-z0-9_]{0,6}(/[a-z][a-zA-Z0-9_]{0,6}){0,2}"),
        identifier(),
        prop::collection::vec(
            (
                identifier(),
                prop_oneof![
                    any::<String>().prop_map(KeyValue::String),
                    any::<i64>().prop_map(|i| KeyValue::Integer(i.into())),
                    any::<bool>().prop_map(KeyValue::Boolean),
                ],
            ),
            0..4,
        ),
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

fn datetime() -> impl Strategy<Value = CimDateTime> {
    prop_oneof![
        (0i64..=253_402_207_199_999_999, -999i16..=999).prop_map(|(us, off)| {
            CimDateTime::from_timestamp(jiff::Timestamp::from_microsecond(us).unwrap(), off)
                .unwrap()
        }),
        (0i64..=8_639_999_999_999_999_999).prop_map(|us| {
            CimDateTime::from_duration(jiff::SignedDuration::from_micros(us)).unwrap()
        }),
    ]
}

fn bmp_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("BMP only", |c| u32::from(*c) <= 0xFFFF)
}

fn scalar() -> impl Strategy<Value = CimValue> {
    prop_oneof![
        any::<bool>().prop_map(CimValue::Boolean),
        bmp_char().prop_map(CimValue::Char16),
        any::<String>().prop_map(CimValue::String),
        datetime().prop_map(CimValue::DateTime),
        any::<u8>().prop_map(CimValue::UInt8),
        any::<i8>().prop_map(CimValue::SInt8),
        any::<u16>().prop_map(CimValue::UInt16),
        any::<i16>().prop_map(CimValue::SInt16),
        any::<u32>().prop_map(CimValue::UInt32),
        any::<i32>().prop_map(CimValue::SInt32),
        any::<u64>().prop_map(CimValue::UInt64),
        any::<i64>().prop_map(CimValue::SInt64),
        any::<f32>().prop_map(CimValue::Real32),
        any::<f64>().prop_map(CimValue::Real64),
        object_path().prop_map(CimValue::Reference),
    ]
}

/// Equality that treats NaN as equal to NaN and tells 0.0 from -0.0.
fn same(a: &CimValue, b: &CimValue) -> bool {
    match (a, b) {
        (CimValue::Real32(x), CimValue::Real32(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (CimValue::Real64(x), CimValue::Real64(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    }
}

proptest! {
    #[test]
    fn parse_of_display_is_identity_for_every_type(v in scalar()) {
        let text = v.to_string();
        let back = CimValue::parse(v.cim_type(), &text).unwrap();
        prop_assert!(same(&back, &v), "{:?} -> {:?} -> {:?}", v, text, back);
    }

    #[test]
    fn integer_text_round_trips_through_any_wide_value(v in any::<i64>(), ty in prop::sample::select(INTEGER_TYPES.to_vec())) {
        let (ty, min, max) = ty;
        let result = CimValue::parse(ty, &v.to_string());
        if (min..=max).contains(&i128::from(v)) {
            prop_assert_eq!(result.unwrap().as_i128(), Some(i128::from(v)));
        } else {
            let is_range_error = matches!(result, Err(ValueError::OutOfRange { .. }));
            prop_assert!(is_range_error);
        }
    }
}
