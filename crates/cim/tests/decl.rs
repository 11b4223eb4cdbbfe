//! Property declarations: each qualifier rule, value names and defaults.

use cim::{
    CimArray, CimDateTime, CimType, CimValue, DeclErrorKind, ObjectPath, PropertyDecl, Qualifiers,
    ValueType,
};

const fn decl(
    name: &'static str,
    ty: CimType,
    is_array: bool,
    qualifiers: Qualifiers,
) -> PropertyDecl {
    PropertyDecl {
        name,
        ty,
        is_array,
        class_origin: "CIM_Test",
        qualifiers,
        description: "A property for tests.",
        default: None,
        reference_class: None,
    }
}

static NAME: PropertyDecl = decl(
    "Name",
    CimType::String,
    false,
    Qualifiers {
        required: true,
        max_len: Some(8),
        ..Qualifiers::NONE
    },
);
static INSTANCE_ID: PropertyDecl = decl(
    "InstanceID",
    CimType::String,
    false,
    Qualifiers {
        key: true,
        ..Qualifiers::NONE
    },
);
static RUN_DAY: PropertyDecl = decl(
    "RunDay",
    CimType::SInt8,
    false,
    Qualifiers {
        write: true,
        min_value: Some(-31),
        max_value: Some(31),
        ..Qualifiers::NONE
    },
);
static JOB_STATE: PropertyDecl = decl(
    "JobState",
    CimType::UInt16,
    false,
    Qualifiers {
        value_map: &[
            "2",
            "3",
            "4",
            "5",
            "6",
            "7",
            "8",
            "9",
            "10",
            "11",
            "12",
            "13..32767",
            "32768..65535",
        ],
        values: &[
            "New",
            "Starting",
            "Running",
            "Suspended",
            "Shutting Down",
            "Completed",
            "Terminated",
            "Killed",
            "Exception",
            "Service",
            "Query Pending",
            "DMTF Reserved",
            "Vendor Reserved",
        ],
        ..Qualifiers::NONE
    },
);
static HEALTH_STATE: PropertyDecl = decl(
    "HealthState",
    CimType::UInt16,
    false,
    Qualifiers {
        value_map: &["0", "5", "10", "..", "0x8000.."],
        values: &[
            "Unknown",
            "OK",
            "Degraded/Warning",
            "DMTF Reserved",
            "Vendor Reserved",
        ],
        ..Qualifiers::NONE
    },
);
static OPERATIONAL_STATUS: PropertyDecl = decl(
    "OperationalStatus",
    CimType::UInt16,
    true,
    Qualifiers {
        value_map: &["0", "2", "17", "..", "0x8000.."],
        values: &[
            "Unknown",
            "OK",
            "Completed",
            "DMTF Reserved",
            "Vendor Reserved",
        ],
        array_type_indexed: true,
        ..Qualifiers::NONE
    },
);
static STATUS: PropertyDecl = decl(
    "Status",
    CimType::String,
    false,
    Qualifiers {
        max_len: Some(10),
        value_map: &["OK", "Error", "Lost Comm"],
        values: &["OK", "Error", "Lost Comm"],
        ..Qualifiers::NONE
    },
);
static RUN_MONTH: PropertyDecl = decl(
    "RunMonth",
    CimType::UInt8,
    false,
    Qualifiers {
        values: &["January", "February", "March"],
        ..Qualifiers::NONE
    },
);
static TIME_BEFORE_REMOVAL: PropertyDecl = PropertyDecl {
    default: Some("00000000000500.000000:000"),
    ..decl(
        "TimeBeforeRemoval",
        CimType::DateTime,
        false,
        Qualifiers {
            required: true,
            write: true,
            interval: true,
            ..Qualifiers::NONE
        },
    )
};
static UNTIL_TIME: PropertyDecl = decl(
    "UntilTime",
    CimType::DateTime,
    false,
    Qualifiers {
        write: true,
        ..Qualifiers::NONE
    },
);
static OWNING_JOB: PropertyDecl = decl("OwningJob", CimType::Reference, false, Qualifiers::NONE);
static EMBEDDED: PropertyDecl = decl("Embedded", CimType::Instance, false, Qualifiers::NONE);
static DESCRIPTIONS: PropertyDecl = decl(
    "StatusDescriptions",
    CimType::String,
    true,
    Qualifiers {
        max_len: Some(3),
        ..Qualifiers::NONE
    },
);

fn array(ty: CimType, items: Vec<CimValue>) -> CimValue {
    CimValue::Array(CimArray::new(ty, items).unwrap())
}

fn dt(s: &str) -> CimValue {
    CimValue::DateTime(CimDateTime::parse(s).unwrap())
}

type Row = (
    &'static str,
    &'static PropertyDecl,
    Option<CimValue>,
    DeclErrorKind,
    Option<usize>,
);

#[test]
fn each_rule_gives_its_error_kind() {
    let scalar = |ty| ValueType {
        ty,
        is_array: false,
    };
    // (rule, declaration, value, expected kind, offending array element)
    let rows: Vec<Row> = vec![
        (
            "Required forbids NULL",
            &NAME,
            None,
            DeclErrorKind::RequiredMissing,
            None,
        ),
        (
            "Key forbids NULL",
            &INSTANCE_ID,
            None,
            DeclErrorKind::RequiredMissing,
            None,
        ),
        (
            "type must match",
            &NAME,
            Some(CimValue::UInt8(1)),
            DeclErrorKind::TypeMismatch {
                expected: scalar(CimType::String),
                found: scalar(CimType::UInt8),
            },
            None,
        ),
        (
            "integer width must match",
            &JOB_STATE,
            Some(CimValue::UInt32(4)),
            DeclErrorKind::TypeMismatch {
                expected: scalar(CimType::UInt16),
                found: scalar(CimType::UInt32),
            },
            None,
        ),
        (
            "array for a scalar",
            &JOB_STATE,
            Some(array(CimType::UInt16, vec![CimValue::UInt16(4)])),
            DeclErrorKind::TypeMismatch {
                expected: scalar(CimType::UInt16),
                found: ValueType {
                    ty: CimType::UInt16,
                    is_array: true,
                },
            },
            None,
        ),
        (
            "scalar for an array",
            &OPERATIONAL_STATUS,
            Some(CimValue::UInt16(2)),
            DeclErrorKind::TypeMismatch {
                expected: ValueType {
                    ty: CimType::UInt16,
                    is_array: true,
                },
                found: scalar(CimType::UInt16),
            },
            None,
        ),
        (
            "string is not a reference",
            &OWNING_JOB,
            Some(CimValue::from("/:CIM_Job.Id=1")),
            DeclErrorKind::TypeMismatch {
                expected: scalar(CimType::Reference),
                found: scalar(CimType::String),
            },
            None,
        ),
        (
            "no value has type instance",
            &EMBEDDED,
            Some(CimValue::from("instance of X {};")),
            DeclErrorKind::TypeMismatch {
                expected: scalar(CimType::Instance),
                found: scalar(CimType::String),
            },
            None,
        ),
        (
            "MaxLen counts characters",
            &NAME,
            Some(CimValue::from("ééééééééé")),
            DeclErrorKind::TooLong { max_len: 8, len: 9 },
            None,
        ),
        (
            "MaxLen applies to each element",
            &DESCRIPTIONS,
            Some(array(CimType::String, vec!["ok".into(), "long".into()])),
            DeclErrorKind::TooLong { max_len: 3, len: 4 },
            Some(1),
        ),
        (
            "MinValue",
            &RUN_DAY,
            Some(CimValue::SInt8(-32)),
            DeclErrorKind::BelowMin,
            None,
        ),
        (
            "MaxValue",
            &RUN_DAY,
            Some(CimValue::SInt8(32)),
            DeclErrorKind::AboveMax,
            None,
        ),
        (
            "value below every ValueMap entry",
            &JOB_STATE,
            Some(CimValue::UInt16(1)),
            DeclErrorKind::NotInValueMap,
            None,
        ),
        (
            "bare .. is not a permission",
            &HEALTH_STATE,
            Some(CimValue::UInt16(7)),
            DeclErrorKind::NotInValueMap,
            None,
        ),
        (
            "ValueMap applies to each element",
            &OPERATIONAL_STATUS,
            Some(array(
                CimType::UInt16,
                vec![
                    CimValue::UInt16(2),
                    CimValue::UInt16(17),
                    CimValue::UInt16(99),
                ],
            )),
            DeclErrorKind::NotInValueMap,
            Some(2),
        ),
        (
            "string ValueMap",
            &STATUS,
            Some(CimValue::from("Fine")),
            DeclErrorKind::NotInValueMap,
            None,
        ),
        (
            "string ValueMap is case-sensitive",
            &STATUS,
            Some(CimValue::from("ok")),
            DeclErrorKind::NotInValueMap,
            None,
        ),
        (
            "Values without ValueMap: index past the end",
            &RUN_MONTH,
            Some(CimValue::UInt8(3)),
            DeclErrorKind::NotInValueMap,
            None,
        ),
        (
            "interval subtype refuses a timestamp",
            &TIME_BEFORE_REMOVAL,
            Some(dt("20260101000000.000000+000")),
            DeclErrorKind::NotAnInterval,
            None,
        ),
        (
            "interval subtype refuses the infinite-future timestamp",
            &TIME_BEFORE_REMOVAL,
            Some(dt("99991231115959.999999-720")),
            DeclErrorKind::NotAnInterval,
            None,
        ),
    ];
    for (rule, decl, value, kind, index) in rows {
        let err = decl.check(value.as_ref()).expect_err(rule);
        assert_eq!(err.kind(), &kind, "{rule}");
        assert_eq!(err.property(), decl.name, "{rule}");
        assert_eq!(err.index(), index, "{rule}");
        assert_eq!(err.decl(), decl, "{rule}");
        assert!(
            err.to_string()
                .starts_with(&format!("property {}: ", decl.name)),
            "{rule}: {err}"
        );
        if index.is_none() {
            assert_eq!(err.value(), value.as_ref(), "{rule}");
        }
    }
}

#[test]
fn values_that_follow_the_rules_pass() {
    let job = ObjectPath::new(Some("root/cimv2"), "CIM_ConcreteJob")
        .with_key("InstanceID", "CIMJOB:1".into());
    let rows: Vec<(&str, &PropertyDecl, Option<CimValue>)> = vec![
        ("NULL for an optional property", &RUN_DAY, None),
        ("MaxLen exactly", &NAME, Some(CimValue::from("éééééééé"))),
        ("MinValue exactly", &RUN_DAY, Some(CimValue::SInt8(-31))),
        ("MaxValue exactly", &RUN_DAY, Some(CimValue::SInt8(31))),
        (
            "exact ValueMap entry",
            &JOB_STATE,
            Some(CimValue::UInt16(4)),
        ),
        (
            "explicit range, low end",
            &JOB_STATE,
            Some(CimValue::UInt16(13)),
        ),
        (
            "explicit range, high end",
            &JOB_STATE,
            Some(CimValue::UInt16(65_535)),
        ),
        (
            "half-open hex range",
            &HEALTH_STATE,
            Some(CimValue::UInt16(0x8000)),
        ),
        (
            "half-open range to the type maximum",
            &HEALTH_STATE,
            Some(CimValue::UInt16(u16::MAX)),
        ),
        (
            "empty array",
            &OPERATIONAL_STATUS,
            Some(array(CimType::UInt16, vec![])),
        ),
        (
            "array of mapped values",
            &OPERATIONAL_STATUS,
            Some(array(
                CimType::UInt16,
                vec![CimValue::UInt16(2), CimValue::UInt16(17)],
            )),
        ),
        (
            "string ValueMap entry",
            &STATUS,
            Some(CimValue::from("Lost Comm")),
        ),
        ("Values index", &RUN_MONTH, Some(CimValue::UInt8(2))),
        (
            "interval",
            &TIME_BEFORE_REMOVAL,
            Some(dt("00000000000500.000000:000")),
        ),
        (
            "infinite-duration interval",
            &TIME_BEFORE_REMOVAL,
            Some(dt("99999999235959.000000:000")),
        ),
        (
            "timestamp where no subtype is declared",
            &UNTIL_TIME,
            Some(dt("99991231115959.999999-720")),
        ),
        (
            "interval where no subtype is declared",
            &UNTIL_TIME,
            Some(dt("99999999235959.000000:000")),
        ),
        ("reference", &OWNING_JOB, Some(CimValue::Reference(job))),
    ];
    for (rule, decl, value) in rows {
        if let Err(e) = decl.check(value.as_ref()) {
            panic!("{rule}: {e}");
        }
    }
}

#[test]
fn messages_name_property_value_and_rule() {
    let rows = [
        (RUN_DAY.check(Some(&CimValue::SInt8(40))), "property RunDay: value 40 is above MaxValue 31"),
        (RUN_DAY.check(Some(&CimValue::SInt8(-40))), "property RunDay: value -40 is below MinValue -31"),
        (NAME.check(None), "property Name: value is NULL, but the property is Required"),
        (INSTANCE_ID.check(None), "property InstanceID: value is NULL, but the property is Key"),
        (
            NAME.check(Some(&CimValue::UInt8(1))),
            "property Name: value 1 has type uint8, but the property is string",
        ),
        (
            NAME.check(Some(&CimValue::from("123456789"))),
            r#"property Name: value "123456789" is 9 characters long, above MaxLen 8"#,
        ),
        (
            HEALTH_STATE.check(Some(&CimValue::UInt16(7))),
            "property HealthState: value 7 is not allowed by the ValueMap (allowed: 0, 5, 10, 0x8000..)",
        ),
        (
            OPERATIONAL_STATUS.check(Some(&array(CimType::UInt16, vec![CimValue::UInt16(2), CimValue::UInt16(3)]))),
            "property OperationalStatus: element 1 value 3 is not allowed by the ValueMap (allowed: 0, 2, 17, 0x8000..)",
        ),
        (
            RUN_MONTH.check(Some(&CimValue::UInt8(5))),
            "property RunMonth: value 5 is not allowed by the ValueMap (allowed: 0..=2)",
        ),
        (
            TIME_BEFORE_REMOVAL.check(Some(&dt("20260101000000.000000+000"))),
            r#"property TimeBeforeRemoval: value 20260101000000.000000+000 is a timestamp, but the property is an interval (SubType("interval"))"#,
        ),
    ];
    for (result, message) in rows {
        assert_eq!(result.unwrap_err().to_string(), message);
    }
}

#[test]
fn value_names_follow_the_value_map() {
    let rows: &[(&PropertyDecl, CimValue, Option<&str>)] = &[
        (&JOB_STATE, CimValue::UInt16(4), Some("Running")),
        (&JOB_STATE, CimValue::UInt16(12), Some("Query Pending")),
        (&JOB_STATE, CimValue::UInt16(20_000), Some("DMTF Reserved")),
        (
            &JOB_STATE,
            CimValue::UInt16(40_000),
            Some("Vendor Reserved"),
        ),
        (&JOB_STATE, CimValue::UInt16(1), None),
        (&HEALTH_STATE, CimValue::UInt16(5), Some("OK")),
        (&HEALTH_STATE, CimValue::UInt16(7), Some("DMTF Reserved")),
        (
            &HEALTH_STATE,
            CimValue::UInt16(0x8001),
            Some("Vendor Reserved"),
        ),
        (&OPERATIONAL_STATUS, CimValue::UInt16(17), Some("Completed")),
        (&STATUS, CimValue::from("Lost Comm"), Some("Lost Comm")),
        (&STATUS, CimValue::from("Fine"), None),
        (&RUN_MONTH, CimValue::UInt8(0), Some("January")),
        (&RUN_MONTH, CimValue::UInt8(3), None),
        (&RUN_DAY, CimValue::SInt8(3), None),
    ];
    for (decl, value, name) in rows {
        assert_eq!(decl.value_name(value), *name, "{} {value}", decl.name);
    }
}

#[test]
fn defaults_parse_as_the_property_type() {
    assert_eq!(
        TIME_BEFORE_REMOVAL.default_value(),
        Some(dt("00000000000500.000000:000"))
    );
    assert_eq!(RUN_DAY.default_value(), None);
    assert_eq!(RUN_DAY.try_default_value(), Ok(None));

    let job_run_times = PropertyDecl {
        default: Some("1"),
        ..decl("JobRunTimes", CimType::UInt32, false, Qualifiers::NONE)
    };
    assert_eq!(job_run_times.default_value(), Some(CimValue::UInt32(1)));

    let bad = PropertyDecl {
        default: Some("-1"),
        ..job_run_times
    };
    assert_eq!(bad.default_value(), None);
    assert!(bad.try_default_value().is_err());

    let list = PropertyDecl {
        default: Some("2, 17"),
        ..OPERATIONAL_STATUS
    };
    assert_eq!(
        list.default_value(),
        Some(array(
            CimType::UInt16,
            vec![CimValue::UInt16(2), CimValue::UInt16(17)]
        ))
    );
    let empty = PropertyDecl {
        default: Some(""),
        ..OPERATIONAL_STATUS
    };
    assert_eq!(empty.default_value(), Some(array(CimType::UInt16, vec![])));
}

#[test]
fn sound_declarations_have_no_defects_and_unsound_ones_are_listed() {
    for d in [
        &NAME,
        &INSTANCE_ID,
        &RUN_DAY,
        &JOB_STATE,
        &HEALTH_STATE,
        &OPERATIONAL_STATUS,
        &STATUS,
        &RUN_MONTH,
        &TIME_BEFORE_REMOVAL,
        &UNTIL_TIME,
        &OWNING_JOB,
        &DESCRIPTIONS,
    ] {
        assert_eq!(d.defects(), Vec::<String>::new(), "{}", d.name);
    }
    let rows: &[(&str, PropertyDecl)] = &[
        (
            "Values/ValueMap lengths",
            decl(
                "A",
                CimType::UInt16,
                false,
                Qualifiers {
                    value_map: &["1", "2"],
                    values: &["One"],
                    ..Qualifiers::NONE
                },
            ),
        ),
        (
            "non-integer entry",
            decl(
                "B",
                CimType::UInt16,
                false,
                Qualifiers {
                    value_map: &["one"],
                    values: &["One"],
                    ..Qualifiers::NONE
                },
            ),
        ),
        (
            "MinValue above MaxValue",
            decl(
                "C",
                CimType::SInt8,
                false,
                Qualifiers {
                    min_value: Some(5),
                    max_value: Some(1),
                    ..Qualifiers::NONE
                },
            ),
        ),
        (
            "MaxLen on an integer",
            decl(
                "D",
                CimType::UInt8,
                false,
                Qualifiers {
                    max_len: Some(5),
                    ..Qualifiers::NONE
                },
            ),
        ),
        (
            "interval on a string",
            decl(
                "E",
                CimType::String,
                false,
                Qualifiers {
                    interval: true,
                    ..Qualifiers::NONE
                },
            ),
        ),
        (
            "default that does not parse",
            PropertyDecl {
                default: Some("x"),
                ..RUN_DAY
            },
        ),
        (
            "default that breaks a rule",
            PropertyDecl {
                default: Some("99"),
                ..RUN_DAY
            },
        ),
        (
            "Indexed on a scalar",
            decl(
                "F",
                CimType::UInt8,
                false,
                Qualifiers {
                    array_type_indexed: true,
                    ..Qualifiers::NONE
                },
            ),
        ),
    ];
    for (rule, d) in rows {
        assert_eq!(d.defects().len(), 1, "{rule}: {:?}", d.defects());
    }
}

#[test]
fn qualifiers_none_is_the_default() {
    assert_eq!(Qualifiers::default(), Qualifiers::NONE);
    assert_eq!(
        TIME_BEFORE_REMOVAL.value_type(),
        ValueType {
            ty: CimType::DateTime,
            is_array: false
        }
    );
}
