//! CIM-XML round trips: everything the writer produces reads back equal,
//! element kind by element kind, response form by response form, and for
//! every intrinsic operation of DSP0200.

use cim::xml::*;
use cim::{
    CimArray, CimDateTime, CimStatusCode, CimType, CimValue, KeyValue, ObjectPath, PropertyDecl,
    Qualifiers,
};

const LIMITS: Limits = Limits::DEFAULT;

fn rt_request(r: &Request) {
    let xml = write_request(r);
    let back = read_request(xml.as_bytes(), &LIMITS).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(&back, r, "\n{xml}");
}

fn rt_response(r: &Response) -> String {
    let xml = write_response(r);
    let back = read_response(xml.as_bytes(), &LIMITS).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(&back, r, "\n{xml}");
    xml
}

fn rt_instance(i: &Instance) -> String {
    let xml = write_instance(i);
    let back = read_instance(&xml, &LIMITS).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(&back, i, "\n{xml}");
    // And inside a message, where it is nested deeper.
    rt_response(&Response::intrinsic(
        "1",
        "GetInstance",
        Some(IReturnValue::Instances(vec![i.clone()])),
    ));
    xml
}

fn job_path() -> ObjectPath {
    ObjectPath::new(Some("root/cimv2"), "CIMJOB_ConcreteJob")
        .with_key("InstanceID", KeyValue::from("CIMJOB:1"))
}

fn job() -> Instance {
    Instance::new("CIMJOB_ConcreteJob")
        .with_property(
            Property::new("InstanceID", "CIMJOB:1").with_class_origin("CIM_ManagedElement"),
        )
        .with_property(Property::new("JobState", CimValue::UInt16(4)))
        .with_property(Property::new(
            "TimeBeforeRemoval",
            CimDateTime::parse("00000000000500.000000:000").unwrap(),
        ))
        .with_property(Property::null("ElapsedTime", CimType::DateTime, false))
}

fn dt(s: &str) -> CimValue {
    CimValue::DateTime(CimDateTime::parse(s).unwrap())
}

fn array(ty: CimType, items: Vec<CimValue>) -> CimValue {
    CimValue::Array(CimArray::new(ty, items).unwrap())
}

/// One or more values of every scalar type, edge values included.
fn scalars() -> Vec<CimValue> {
    vec![
        CimValue::Boolean(true),
        CimValue::Boolean(false),
        CimValue::Char16('x'),
        CimValue::Char16('<'),
        CimValue::Char16('&'),
        CimValue::Char16(' '),
        CimValue::Char16('\r'),
        CimValue::Char16('é'),
        CimValue::from(""),
        CimValue::from("plain"),
        CimValue::from("markup <a href=\"x\">&amp;</a> 'quoted' ]]>"),
        CimValue::from("  leading and trailing  "),
        CimValue::from("line\r\nbreaks\rand\ttabs\n"),
        CimValue::from("unicode é 😀 \u{FFFD}"),
        CimValue::from("control \u{1} \u{1F} chars"),
        dt("20260314123000.123456-300"),
        dt("00000001132312.000000:000"),
        dt("20260314******.******+060"),
        dt("99991231115959.999999-720"),
        CimValue::UInt8(0),
        CimValue::UInt8(u8::MAX),
        CimValue::SInt8(i8::MIN),
        CimValue::SInt8(i8::MAX),
        CimValue::UInt16(u16::MAX),
        CimValue::SInt16(i16::MIN),
        CimValue::UInt32(u32::MAX),
        CimValue::SInt32(i32::MIN),
        CimValue::UInt64(u64::MAX),
        CimValue::SInt64(i64::MIN),
        CimValue::Real32(0.1),
        CimValue::Real32(f32::MAX),
        CimValue::Real32(f32::MIN_POSITIVE),
        CimValue::Real32(-1.5e-40),
        CimValue::Real32(f32::INFINITY),
        CimValue::Real64(0.1),
        CimValue::Real64(-123456.789e200),
        CimValue::Real64(5e-324),
        CimValue::Real64(f64::MAX),
        CimValue::Real64(f64::NEG_INFINITY),
        CimValue::Reference(ObjectPath::new(None, "CIM_Foo").with_key("Id", 7u32.into())),
        CimValue::Reference(job_path()),
        CimValue::Reference(job_path().with_host("srv.example.com:5989")),
    ]
}

#[test]
fn every_scalar_type_round_trips_as_a_property() {
    for v in scalars() {
        rt_instance(&Instance::new("T_Values").with_property(Property::new("P", v)));
    }
}

#[test]
fn every_type_round_trips_as_an_array_and_as_an_empty_array() {
    for v in scalars() {
        let ty = v.cim_type();
        let two = array(ty, vec![v.clone(), v.clone()]);
        let empty = array(ty, vec![]);
        rt_instance(
            &Instance::new("T_Arrays")
                .with_property(Property::new("Two", two))
                .with_property(Property::new("Empty", empty)),
        );
    }
}

#[test]
fn null_properties_of_every_type_round_trip() {
    let mut i = Instance::new("T_Nulls");
    for (n, ty) in CimType::ALL
        .iter()
        .filter(|t| **t != CimType::Instance)
        .enumerate()
    {
        i.set_property(Property::null(&format!("S{n}"), *ty, false));
        i.set_property(Property::null(&format!("A{n}"), *ty, true));
    }
    rt_instance(&i);
}

#[test]
fn nan_round_trips_as_nan() {
    let i = Instance::new("T")
        .with_property(Property::new("D", CimValue::Real64(f64::NAN)))
        .with_property(Property::new("F", CimValue::Real32(f32::NAN)));
    let back = read_instance(&write_instance(&i), &LIMITS).unwrap();
    assert!(back
        .property("D")
        .unwrap()
        .cim_value()
        .unwrap()
        .as_f64()
        .unwrap()
        .is_nan());
    assert!(back
        .property("F")
        .unwrap()
        .cim_value()
        .unwrap()
        .as_f64()
        .unwrap()
        .is_nan());
}

#[test]
fn values_are_written_in_dsp0201_text_form() {
    let i = Instance::new("T")
        .with_property(Property::new("B", true))
        .with_property(Property::new("R", CimValue::Real64(0.1)))
        .with_property(Property::new("D", dt("20260314123000.123456-300")))
        .with_property(Property::new("S", "a<b&c>\"d\""));
    assert_eq!(
        write_instance(&i),
        concat!(
            r#"<INSTANCE CLASSNAME="T">"#,
            r#"<PROPERTY NAME="B" TYPE="boolean"><VALUE>TRUE</VALUE></PROPERTY>"#,
            r#"<PROPERTY NAME="R" TYPE="real64"><VALUE>0.1</VALUE></PROPERTY>"#,
            r#"<PROPERTY NAME="D" TYPE="datetime"><VALUE>20260314123000.123456-300</VALUE></PROPERTY>"#,
            r#"<PROPERTY NAME="S" TYPE="string"><VALUE>a&lt;b&amp;c&gt;"d"</VALUE></PROPERTY>"#,
            r#"</INSTANCE>"#
        )
    );
}

#[test]
fn references_are_written_in_the_path_form_their_parts_allow() {
    let name = ObjectPath::new(None, "CIM_Foo").with_key("Id", 7u32.into());
    let local = job_path();
    let full = job_path().with_host("srv:5989");
    let xml = write_instance(
        &Instance::new("T")
            .with_property(Property::new("N", name))
            .with_property(Property::new("L", local))
            .with_property(Property::new("F", full)),
    );
    assert!(xml.contains(r#"<PROPERTY.REFERENCE NAME="N"><VALUE.REFERENCE><INSTANCENAME CLASSNAME="CIM_Foo"><KEYBINDING NAME="Id"><KEYVALUE VALUETYPE="numeric">7</KEYVALUE></KEYBINDING></INSTANCENAME></VALUE.REFERENCE></PROPERTY.REFERENCE>"#), "{xml}");
    assert!(xml.contains(r#"<PROPERTY.REFERENCE NAME="L"><VALUE.REFERENCE><LOCALINSTANCEPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH>"#), "{xml}");
    assert!(xml.contains(r#"<PROPERTY.REFERENCE NAME="F"><VALUE.REFERENCE><INSTANCEPATH><NAMESPACEPATH><HOST>srv:5989</HOST><LOCALNAMESPACEPATH>"#), "{xml}");
}

#[test]
fn instance_names_with_every_kind_of_key_round_trip() {
    let target = ObjectPath::new(Some("root/interop"), "CIM_IndicationFilter")
        .with_key("Name", "f<1>".into());
    let names = vec![
        ObjectPath::new(None, "T_String").with_key("Id", "a \"quoted\" & <tagged> key".into()),
        ObjectPath::new(None, "T_Empty").with_key("Id", "".into()),
        ObjectPath::new(None, "T_Int")
            .with_key("Small", KeyValue::Integer(-5))
            .with_key("Big", KeyValue::from(u64::MAX)),
        ObjectPath::new(None, "T_Bool")
            .with_key("Yes", true.into())
            .with_key("No", false.into()),
        ObjectPath::new(None, "CIM_IndicationSubscription")
            .with_key("Filter", target.clone().into())
            .with_key(
                "Handler",
                ObjectPath::new(None, "CIM_ListenerDestinationCIMXML")
                    .with_key("Name", "h".into())
                    .into(),
            ),
        ObjectPath::new(None, "T_Singleton"),
    ];
    rt_response(&Response::intrinsic(
        "2",
        "EnumerateInstanceNames",
        Some(IReturnValue::InstanceNames(names.clone())),
    ));
    let with_paths: Vec<ObjectPath> = names
        .into_iter()
        .map(|mut p| {
            p.namespace = Some("root/cimv2".into());
            p.host = Some("srv".into());
            p
        })
        .collect();
    rt_response(&Response::pull(
        "3",
        "OpenEnumerateInstancePaths",
        IReturnValue::InstancePaths(with_paths),
        "ctx",
        true,
    ));
}

#[test]
fn embedded_instances_are_written_as_escaped_strings_and_read_back() {
    let error = Instance::new("CIM_Error")
        .with_property(Property::new("Message", "disk <full> & \"gone\""))
        .with_property(Property::new("CIMStatusCode", CimValue::UInt32(1)));
    let nested = Instance::new("CIM_InstModification")
        .with_property(Property::embedded_instance("SourceInstance", job()))
        .with_property(Property::embedded_instance(
            "PreviousInstance",
            job().with_property(Property::embedded_instance("Inner", error.clone())),
        ))
        .with_property(Property::embedded_instances(
            "Errors",
            vec![error.clone(), error.clone()],
        ))
        .with_property(Property::embedded_instances("NoErrors", vec![]))
        .with_property(Property {
            embedded_object: Some(EmbeddedKind::Object),
            ..Property::embedded_instance("AsObject", error.clone())
        })
        .with_property(Property {
            embedded_object: Some(EmbeddedKind::Instance),
            ..Property::null("NullEmbedded", CimType::String, false)
        });
    let xml = rt_instance(&nested);
    assert!(
        xml.contains(r#"<PROPERTY NAME="SourceInstance" TYPE="string" EmbeddedObject="instance"><VALUE>&lt;INSTANCE CLASSNAME="CIMJOB_ConcreteJob"&gt;&lt;PROPERTY NAME="InstanceID" TYPE="string" CLASSORIGIN="CIM_ManagedElement"&gt;"#),
        "{xml}"
    );
    assert!(xml.contains(r#"EmbeddedObject="object""#), "{xml}");
    // Doubly embedded text is escaped twice.
    assert!(
        xml.contains("&amp;lt;INSTANCE CLASSNAME=\"CIM_Error\""),
        "{xml}"
    );
}

#[test]
fn embedded_instances_are_also_read_as_instance_elements() {
    // The typed form: an INSTANCE element instead of escaped text, in a
    // PROPERTY's VALUE, directly in a PROPERTY, in a PARAMVALUE, and as
    // CDATA text.
    let xml = r#"<INSTANCE CLASSNAME="CIM_InstModification">
        <PROPERTY NAME="SourceInstance" TYPE="string" EmbeddedObject="instance">
          <VALUE><INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="Message" TYPE="string"><VALUE>m</VALUE></PROPERTY></INSTANCE></VALUE>
        </PROPERTY>
        <PROPERTY NAME="Direct" TYPE="string"><INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="Message" TYPE="string"><VALUE>m</VALUE></PROPERTY></INSTANCE></PROPERTY>
        <PROPERTY NAME="CData" TYPE="string" EMBEDDEDOBJECT="instance"><VALUE><![CDATA[<INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="Message" TYPE="string"><VALUE>m</VALUE></PROPERTY></INSTANCE>]]></VALUE></PROPERTY>
      </INSTANCE>"#;
    let error = Instance::new("CIM_Error").with_property(Property::new("Message", "m"));
    let i = read_instance(xml, &LIMITS).unwrap();
    for name in ["SourceInstance", "Direct", "CData"] {
        let p = i.property(name).unwrap();
        assert_eq!(p.value, Some(PropertyValue::from(error.clone())), "{name}");
        assert_eq!(p.embedded_object, Some(EmbeddedKind::Instance), "{name}");
        assert_eq!(p.ty, CimType::String, "{name}");
    }

    let body = format!(
        r#"<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP>
        <METHODRESPONSE NAME="GetError"><RETURNVALUE PARAMTYPE="uint32"><VALUE>0</VALUE></RETURNVALUE>
        <PARAMVALUE NAME="Typed">{}</PARAMVALUE>
        <PARAMVALUE NAME="Escaped" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>{}</VALUE></PARAMVALUE>
        </METHODRESPONSE></SIMPLERSP></MESSAGE></CIM>"#,
        write_instance(&error),
        write_instance(&error)
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    );
    let r = read_response(body.as_bytes(), &LIMITS).unwrap();
    let Reply::Extrinsic {
        result: Ok(out), ..
    } = &r.reply
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        out.param("Typed").and_then(ParamValue::as_instance),
        Some(&error)
    );
    assert_eq!(
        out.param("Escaped").and_then(ParamValue::as_instance),
        Some(&error)
    );
}

#[test]
fn instances_with_qualifiers_and_property_attributes_round_trip() {
    let i = Instance {
        class_name: "T_Attrs".into(),
        qualifiers: vec![QualifierValue::new("Description", "instance-level")],
        properties: vec![
            Property {
                class_origin: Some("CIM_Job".into()),
                propagated: true,
                qualifiers: vec![
                    QualifierValue::new("Key", true).not_overridable(),
                    QualifierValue {
                        propagated: true,
                        flavors: Flavors {
                            overridable: false,
                            to_subclass: false,
                            to_instance: true,
                            translatable: true,
                        },
                        ..QualifierValue::new("Odd", CimValue::SInt64(-3))
                    },
                    QualifierValue::strings("ValueMap", &["2", "3", ".."]),
                    QualifierValue {
                        value: None,
                        ..QualifierValue::new("NullQ", "x")
                    },
                ],
                ..Property::new("Name", "n")
            },
            Property {
                reference_class: Some("CIM_Job".into()),
                ..Property::new("Ref", job_path())
            },
            Property {
                array_size: Some(4),
                ..Property::null("Fixed", CimType::UInt8, true)
            },
        ],
    };
    rt_instance(&i);
}

fn sample_class() -> Class {
    Class {
        name: "CIMJOB_ConcreteJob".into(),
        superclass: Some("CIM_ConcreteJob".into()),
        qualifiers: vec![
            QualifierValue::new("Description", "A job <run> by cimjob.").translatable(),
            QualifierValue::new("Version", "1.0.0"),
            QualifierValue::new("Abstract", false),
        ],
        properties: vec![
            Property {
                class_origin: Some("CIM_ManagedElement".into()),
                propagated: true,
                qualifiers: vec![
                    QualifierValue::new("Key", true).not_overridable(),
                    QualifierValue::new("MaxLen", CimValue::UInt32(256)),
                ],
                ..Property::null("InstanceID", CimType::String, false)
            },
            Property {
                class_origin: Some("CIM_ManagedSystemElement".into()),
                qualifiers: vec![QualifierValue::strings("ValueMap", &["0", "2"])],
                ..Property::new(
                    "OperationalStatus",
                    array(CimType::UInt16, vec![CimValue::UInt16(2)]),
                )
            },
            Property {
                array_size: Some(3),
                ..Property::null("Triple", CimType::Real64, true)
            },
            Property {
                reference_class: Some("CIM_Job".into()),
                ..Property::null("Owner", CimType::Reference, false)
            },
            Property {
                qualifiers: vec![QualifierValue::new("EmbeddedInstance", "CIM_Error")],
                embedded_object: Some(EmbeddedKind::Instance),
                ..Property::null("LastError", CimType::String, false)
            },
            Property::new("Priority", CimValue::UInt32(0)).with_class_origin("CIM_Job"),
        ],
        methods: vec![
            Method::new("RequestStateChange", Some(CimType::UInt32))
                .with_class_origin("CIM_ConcreteJob")
                .with_qualifier(QualifierValue::strings("ValueMap", &["0", "4096"]))
                .with_parameter(
                    Parameter::new("RequestedState", CimType::UInt16, false)
                        .with_qualifier(QualifierValue::new("In", true)),
                )
                .with_parameter(Parameter::new("TimeoutPeriod", CimType::DateTime, false))
                .with_parameter(Parameter::reference("Job", Some("CIM_ConcreteJob")))
                .with_parameter(Parameter {
                    array_size: Some(2),
                    ..Parameter::new("Names", CimType::String, true)
                })
                .with_parameter(Parameter {
                    is_array: true,
                    ..Parameter::reference("Jobs", None)
                })
                .with_parameter(
                    Parameter::new("Errors", CimType::String, true)
                        .with_qualifier(QualifierValue::new("Out", true))
                        .with_qualifier(QualifierValue::new("EmbeddedInstance", "CIM_Error")),
                ),
            Method {
                propagated: true,
                ..Method::new("Void", None)
            },
        ],
    }
}

#[test]
fn classes_with_qualifiers_properties_methods_and_parameters_round_trip() {
    let c = sample_class();
    let xml = write_class(&c);
    assert_eq!(read_class(&xml, &LIMITS).unwrap(), c, "{xml}");
    assert!(
        xml.contains(r#"<PARAMETER.REFERENCE NAME="Job" REFERENCECLASS="CIM_ConcreteJob"></PARAMETER.REFERENCE>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<PARAMETER.REFARRAY NAME="Jobs"></PARAMETER.REFARRAY>"#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<PARAMETER.ARRAY NAME="Names" TYPE="string" ARRAYSIZE="2"></PARAMETER.ARRAY>"#
        ),
        "{xml}"
    );
    assert!(xml.contains(r#"<QUALIFIER NAME="Key" TYPE="boolean" OVERRIDABLE="false"><VALUE>TRUE</VALUE></QUALIFIER>"#), "{xml}");
    for op in ["GetClass", "EnumerateClasses"] {
        rt_response(&Response::intrinsic(
            "4",
            op,
            Some(IReturnValue::Classes(vec![
                c.clone(),
                Class::new("CIM_Empty", None),
            ])),
        ));
    }
}

static INSTANCE_ID: PropertyDecl = PropertyDecl {
    name: "InstanceID",
    ty: CimType::String,
    is_array: false,
    class_origin: "CIM_ManagedElement",
    qualifiers: Qualifiers {
        key: true,
        max_len: Some(256),
        ..Qualifiers::NONE
    },
    description: "Opaque & unique.",
    default: None,
    reference_class: None,
};

static JOB_STATE: PropertyDecl = PropertyDecl {
    name: "JobState",
    ty: CimType::UInt16,
    is_array: false,
    class_origin: "CIMJOB_ConcreteJob",
    qualifiers: Qualifiers {
        required: true,
        value_map: &["2", "4", ".."],
        values: &["New", "Running", "DMTF Reserved"],
        ..Qualifiers::NONE
    },
    description: "",
    default: Some("2"),
    reference_class: None,
};

static LAST_ERROR: PropertyDecl = PropertyDecl {
    name: "LastError",
    ty: CimType::String,
    is_array: false,
    class_origin: "CIMJOB_ConcreteJob",
    qualifiers: Qualifiers {
        embedded_instance: Some("CIM_Error"),
        interval: false,
        write: true,
        units: Some("None"),
        deprecated: &["CIMJOB_ConcreteJob.GetErrors"],
        ..Qualifiers::NONE
    },
    description: "",
    default: None,
    reference_class: None,
};

static TIMEOUT: PropertyDecl = PropertyDecl {
    name: "Timeout",
    ty: CimType::DateTime,
    is_array: true,
    class_origin: "CIMJOB_ConcreteJob",
    qualifiers: Qualifiers {
        interval: true,
        array_type_indexed: true,
        min_value: None,
        ..Qualifiers::NONE
    },
    description: "",
    default: Some("00000000000500.000000:000,00000000000000.000000:000"),
    reference_class: None,
};

static OWNER: PropertyDecl = PropertyDecl {
    name: "Owner",
    ty: CimType::Reference,
    is_array: false,
    class_origin: "CIMJOB_ConcreteJob",
    qualifiers: Qualifiers::NONE,
    description: "",
    default: None,
    reference_class: Some("CIM_Job"),
};

#[test]
fn class_from_decls_answers_get_class_from_the_one_definition() {
    let c = Class::from_decls(
        "CIMJOB_ConcreteJob",
        Some("CIM_ConcreteJob"),
        &[&INSTANCE_ID, &JOB_STATE, &LAST_ERROR, &TIMEOUT, &OWNER],
        vec![QualifierValue::new("Version", "1.0.0")],
    );
    assert_eq!(c.superclass.as_deref(), Some("CIM_ConcreteJob"));
    assert_eq!(c.qualifier("version").unwrap().value, Some("1.0.0".into()));

    let id = c.property("InstanceID").unwrap();
    assert_eq!(
        (id.ty, id.is_array, id.propagated),
        (CimType::String, false, true)
    );
    assert_eq!(id.class_origin.as_deref(), Some("CIM_ManagedElement"));
    let key = id.qualifier("Key").unwrap();
    assert_eq!(
        (key.value.clone(), key.flavors.overridable),
        (Some(true.into()), false)
    );
    assert_eq!(
        id.qualifier("MaxLen").unwrap().value,
        Some(CimValue::UInt32(256))
    );
    let desc = id.qualifier("Description").unwrap();
    assert_eq!(
        (desc.value.clone(), desc.flavors.translatable),
        (Some("Opaque & unique.".into()), true)
    );

    let state = c.property("JobState").unwrap();
    assert!(!state.propagated);
    assert_eq!(state.cim_value(), Some(&CimValue::UInt16(2)), "the default");
    assert!(state.qualifier("Required").is_some());
    assert_eq!(
        state.qualifier("ValueMap").unwrap().value,
        Some(array(
            CimType::String,
            vec!["2".into(), "4".into(), "..".into()]
        ))
    );
    assert!(state.qualifier("Values").unwrap().flavors.translatable);
    assert!(
        state.qualifier("Description").is_none(),
        "empty descriptions are left out"
    );

    let err = c.property("LastError").unwrap();
    assert_eq!(err.embedded_object, Some(EmbeddedKind::Instance));
    assert_eq!(
        err.qualifier("EmbeddedInstance").unwrap().value,
        Some("CIM_Error".into())
    );
    assert!(err.qualifier("Write").is_some());
    assert_eq!(err.qualifier("Units").unwrap().value, Some("None".into()));
    assert!(err.qualifier("Deprecated").is_some());

    let timeout = c.property("Timeout").unwrap();
    assert!(timeout.is_array);
    assert_eq!(
        timeout.qualifier("SubType").unwrap().value,
        Some("interval".into())
    );
    assert_eq!(
        timeout.qualifier("ArrayType").unwrap().value,
        Some("Indexed".into())
    );
    assert_eq!(
        timeout
            .cim_value()
            .unwrap()
            .as_array()
            .unwrap()
            .items()
            .len(),
        2
    );

    let owner = c.property("Owner").unwrap();
    assert_eq!(owner.reference_class.as_deref(), Some("CIM_Job"));

    let xml = write_class(&c);
    assert_eq!(read_class(&xml, &LIMITS).unwrap(), c, "{xml}");
    assert!(xml.contains(r#"<PROPERTY NAME="InstanceID" TYPE="string" CLASSORIGIN="CIM_ManagedElement" PROPAGATED="true">"#), "{xml}");
    assert!(xml.contains(r#"<PROPERTY NAME="LastError" TYPE="string" CLASSORIGIN="CIMJOB_ConcreteJob" EmbeddedObject="instance">"#), "{xml}");
    assert!(xml.contains(r#"<PROPERTY.REFERENCE NAME="Owner" REFERENCECLASS="CIM_Job" CLASSORIGIN="CIMJOB_ConcreteJob"></PROPERTY.REFERENCE>"#), "{xml}");
}

#[test]
fn property_from_decl_and_instance_path_use_the_declaration() {
    let i = Instance::new("CIMJOB_ConcreteJob")
        .with_property(Property::from_decl(&INSTANCE_ID, Some("CIMJOB:7".into())))
        .with_property(Property::from_decl(&JOB_STATE, None));
    assert_eq!(i.property("JobState").unwrap().ty, CimType::UInt16);
    assert_eq!(
        i.path(Some("root/cimv2"), &["InstanceID"]),
        Some(
            ObjectPath::new(Some("root/cimv2"), "CIMJOB_ConcreteJob")
                .with_key("InstanceID", "CIMJOB:7".into())
        )
    );
    assert_eq!(i.path(None, &["JobState"]), None, "NULL keys give no path");
    rt_instance(&i);
}

fn error_instance() -> Instance {
    Instance::new("CIM_Error")
        .with_property(Property::new("CIMStatusCode", CimValue::UInt32(6)))
        .with_property(Property::new("Message", "no job CIMJOB:9"))
        .with_property(Property::new("ErrorSource", job_path()))
        .with_property(Property::new("PerceivedSeverity", CimValue::UInt16(2)))
}

#[test]
fn errors_with_and_without_cim_error_instances_round_trip() {
    let plain = CimError::new(
        CimStatusCode::NotFound,
        "no job \"CIMJOB:9\"\n(second line)",
    );
    let xml = rt_response(&Response::intrinsic_error(
        "5",
        "GetInstance",
        plain.clone(),
    ));
    assert!(
        xml.contains(
            r#"<ERROR CODE="6" DESCRIPTION="no job &quot;CIMJOB:9&quot;&#10;(second line)"/>"#
        ),
        "{xml}"
    );
    rt_response(&Response::extrinsic_error(
        "6",
        "RequestStateChange",
        CimError::new(CimStatusCode::InvalidParameter, "RequestedState 99")
            .with_instance(error_instance())
            .with_instance(error_instance()),
    ));
    rt_response(&Response::intrinsic_error(
        "7",
        "EnumerateInstances",
        CimError {
            code: 12345,
            description: None,
            instances: vec![],
        },
    ));
    let req = Request::intrinsic("8", "root/cimv2", "DeleteClass", vec![]);
    let resp = req.error_response(plain.clone());
    assert_eq!(resp.error(), Some(&plain));
    rt_response(&resp);
}

fn sample_qualifier_declarations() -> Vec<QualifierDeclaration> {
    vec![
        QualifierDeclaration {
            name: "Key".into(),
            ty: CimType::Boolean,
            is_array: false,
            array_size: None,
            value: Some(false.into()),
            scopes: Scopes {
                property: true,
                reference: true,
                ..Scopes::NONE
            },
            flavors: Flavors {
                overridable: false,
                ..Flavors::DEFAULT
            },
        },
        QualifierDeclaration {
            name: "ValueMap".into(),
            ty: CimType::String,
            is_array: true,
            array_size: None,
            value: None,
            scopes: Scopes::ANY,
            flavors: Flavors::DEFAULT,
        },
        QualifierDeclaration {
            name: "Fixed".into(),
            ty: CimType::UInt8,
            is_array: true,
            array_size: Some(2),
            value: Some(array(
                CimType::UInt8,
                vec![CimValue::UInt8(1), CimValue::UInt8(2)],
            )),
            scopes: Scopes::NONE,
            flavors: Flavors {
                translatable: true,
                to_subclass: false,
                ..Flavors::DEFAULT
            },
        },
    ]
}

#[test]
fn every_ireturnvalue_form_round_trips() {
    let named = InstanceWithPath::new(
        ObjectPath::new(None, "CIMJOB_ConcreteJob").with_key("InstanceID", "CIMJOB:1".into()),
        job(),
    );
    let with_path = InstanceWithPath::new(job_path().with_host("srv"), job());
    let class_path = ObjectPath::new(Some("root/cimv2"), "CIM_ConcreteJob").with_host("srv");
    let cases: Vec<(&str, IReturnValue)> = vec![
        (
            "EnumerateClassNames",
            IReturnValue::ClassNames(vec!["CIM_Job".into(), "CIM_ConcreteJob".into()]),
        ),
        (
            "CreateInstance",
            IReturnValue::InstanceNames(vec![named.path.clone()]),
        ),
        (
            "EnumerationCount",
            IReturnValue::Value(ParamValue::Value(CimValue::UInt64(42))),
        ),
        (
            "GetProperty",
            IReturnValue::Value(ParamValue::Text("Running".into())),
        ),
        (
            "GetProperty",
            IReturnValue::Value(ParamValue::TextArray(vec!["2".into(), "17".into()])),
        ),
        (
            "GetProperty",
            IReturnValue::Value(ParamValue::Value(CimValue::Reference(job_path()))),
        ),
        (
            "Associators",
            IReturnValue::ObjectsWithPath(vec![
                ObjectWithPath {
                    path: with_path.path.clone(),
                    object: Object::Instance(job()),
                },
                ObjectWithPath {
                    path: class_path.clone(),
                    object: Object::Class(sample_class()),
                },
            ]),
        ),
        (
            "References",
            IReturnValue::ObjectsWithLocalPath(vec![
                ObjectWithPath {
                    path: job_path(),
                    object: Object::Instance(job()),
                },
                ObjectWithPath {
                    path: ObjectPath::new(Some("root/cimv2"), "CIM_Job"),
                    object: Object::Class(Class::new("CIM_Job", None)),
                },
            ]),
        ),
        (
            "ExecQuery",
            IReturnValue::Objects(vec![Object::Instance(job()), Object::Class(sample_class())]),
        ),
        (
            "AssociatorNames",
            IReturnValue::ObjectPaths(vec![
                ObjectName::Instance(with_path.path.clone()),
                ObjectName::Class(class_path.clone()),
            ]),
        ),
        (
            "EnumerateQualifiers",
            IReturnValue::QualifierDeclarations(sample_qualifier_declarations()),
        ),
        ("GetClass", IReturnValue::Classes(vec![sample_class()])),
        ("GetInstance", IReturnValue::Instances(vec![job()])),
        (
            "PullInstancePaths",
            IReturnValue::InstancePaths(vec![with_path.path.clone()]),
        ),
        (
            "EnumerateInstances",
            IReturnValue::NamedInstances(vec![named.clone(), named.clone()]),
        ),
        (
            "PullInstancesWithPath",
            IReturnValue::InstancesWithPath(vec![with_path.clone()]),
        ),
    ];
    for (op, value) in cases {
        rt_response(&Response::intrinsic("9", op, Some(value)));
    }
}

#[test]
fn empty_answers_read_back_as_the_operations_empty_list() {
    for op in INTRINSIC_OPERATIONS {
        let r = Response::intrinsic("10", op, IReturnValue::empty_for(op));
        let xml = rt_response(&r);
        match IReturnValue::empty_for(op) {
            Some(_) => assert!(xml.contains("<IRETURNVALUE></IRETURNVALUE>"), "{op}: {xml}"),
            None => assert!(
                xml.contains(&format!(
                    "<IMETHODRESPONSE NAME=\"{op}\"></IMETHODRESPONSE>"
                )),
                "{op}: {xml}"
            ),
        }
    }
}

#[test]
fn pull_responses_carry_enumeration_context_and_end_of_sequence() {
    let r = Response::pull(
        "11",
        "OpenEnumerateInstances",
        IReturnValue::InstancesWithPath(vec![InstanceWithPath::new(job_path(), job())]),
        "enum-ctx-1",
        false,
    );
    let xml = rt_response(&r);
    assert!(xml.contains(r#"</IRETURNVALUE><PARAMVALUE NAME="EnumerationContext" PARAMTYPE="string"><VALUE>enum-ctx-1</VALUE></PARAMVALUE><PARAMVALUE NAME="EndOfSequence" PARAMTYPE="boolean"><VALUE>FALSE</VALUE></PARAMVALUE></IMETHODRESPONSE>"#), "{xml}");
    let back = read_response(xml.as_bytes(), &LIMITS).unwrap();
    let Reply::Intrinsic {
        result: Ok(result), ..
    } = back.reply
    else {
        panic!()
    };
    assert_eq!(result.enumeration_context(), Some("enum-ctx-1"));
    assert_eq!(result.end_of_sequence(), Some(false));

    for (op, value) in [
        (
            "OpenEnumerateInstancePaths",
            IReturnValue::InstancePaths(vec![job_path().with_host("h")]),
        ),
        (
            "OpenAssociatorInstances",
            IReturnValue::InstancesWithPath(vec![]),
        ),
        (
            "OpenAssociatorInstancePaths",
            IReturnValue::InstancePaths(vec![]),
        ),
        (
            "OpenReferenceInstances",
            IReturnValue::InstancesWithPath(vec![]),
        ),
        (
            "OpenReferenceInstancePaths",
            IReturnValue::InstancePaths(vec![]),
        ),
        ("OpenQueryInstances", IReturnValue::Instances(vec![job()])),
        (
            "PullInstancesWithPath",
            IReturnValue::InstancesWithPath(vec![]),
        ),
        ("PullInstancePaths", IReturnValue::InstancePaths(vec![])),
        ("PullInstances", IReturnValue::Instances(vec![])),
    ] {
        rt_response(&Response::pull("12", op, value, "", true));
    }
    // Untyped output parameters (as some servers send them) are typed by name.
    let body = r#"<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP>
      <IMETHODRESPONSE NAME="PullInstancesWithPath"><IRETURNVALUE/>
      <PARAMVALUE NAME="EndOfSequence"><VALUE>true</VALUE></PARAMVALUE>
      <PARAMVALUE NAME="EnumerationContext"><VALUE>c</VALUE></PARAMVALUE>
      </IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>"#;
    let r = read_response(body.as_bytes(), &LIMITS).unwrap();
    let Reply::Intrinsic {
        result: Ok(result), ..
    } = r.reply
    else {
        panic!()
    };
    assert_eq!(result.value, Some(IReturnValue::InstancesWithPath(vec![])));
    assert_eq!(
        result.param("EndOfSequence"),
        Some(&ParamValue::Value(true.into()))
    );
    assert_eq!(result.enumeration_context(), Some("c"));
}

#[test]
fn extrinsic_responses_with_return_code_references_and_embedded_instances_round_trip() {
    let r = Response::extrinsic(
        "13",
        "RequestStateChange",
        CimValue::UInt32(4096),
        vec![
            (
                "Job".into(),
                ParamValue::Value(CimValue::Reference(job_path().with_host("srv:5989"))),
            ),
            (
                "Error".into(),
                ParamValue::Instance(Box::new(error_instance())),
            ),
            (
                "Errors".into(),
                ParamValue::Instances(vec![error_instance(), error_instance()]),
            ),
            ("NoErrors".into(), ParamValue::Instances(vec![])),
            (
                "When".into(),
                ParamValue::Value(dt("20260314123000.000000+000")),
            ),
            (
                "Names".into(),
                ParamValue::Value(array(CimType::String, vec!["a".into(), "b".into()])),
            ),
            (
                "Jobs".into(),
                ParamValue::Value(array(
                    CimType::Reference,
                    vec![CimValue::Reference(job_path())],
                )),
            ),
            ("Missing".into(), ParamValue::Null),
        ],
    );
    let xml = rt_response(&r);
    assert!(
        xml.contains(r#"<RETURNVALUE PARAMTYPE="uint32"><VALUE>4096</VALUE></RETURNVALUE>"#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<PARAMVALUE NAME="Job" PARAMTYPE="reference"><VALUE.REFERENCE><INSTANCEPATH>"#
        ),
        "{xml}"
    );
    assert!(xml.contains(r#"<PARAMVALUE NAME="Error" PARAMTYPE="string" EmbeddedObject="instance"><VALUE>&lt;INSTANCE CLASSNAME="CIM_Error"&gt;"#), "{xml}");
    assert!(xml.contains(r#"<PARAMVALUE NAME="Names" PARAMTYPE="string"><VALUE.ARRAY><VALUE>a</VALUE><VALUE>b</VALUE></VALUE.ARRAY></PARAMVALUE>"#), "{xml}");

    // No return value, no output parameters.
    rt_response(&Response {
        message_id: "14".into(),
        protocol_version: "1.0".into(),
        reply: Reply::Extrinsic {
            name: "Void".into(),
            result: Ok(ExtrinsicResult {
                return_value: None,
                params: vec![],
            }),
        },
    });
    // An embedded instance as the return value.
    rt_response(&Response {
        message_id: "15".into(),
        protocol_version: "1.1".into(),
        reply: Reply::Extrinsic {
            name: "GetError".into(),
            result: Ok(ExtrinsicResult {
                return_value: Some(ParamValue::Instance(Box::new(error_instance()))),
                params: vec![],
            }),
        },
    });
}

#[test]
fn export_requests_and_responses_round_trip() {
    let indication = Instance::new("CIM_InstModification")
        .with_property(Property::new("IndicationIdentifier", "cimjob:42"))
        .with_property(Property::new(
            "IndicationTime",
            dt("20260314123000.000000+000"),
        ))
        .with_property(Property::embedded_instance("SourceInstance", job()))
        .with_property(Property::embedded_instance("PreviousInstance", job()));
    let req = ExportRequest::export_indication("1001", indication.clone());
    let xml = write_export_request(&req);
    let back = read_export_request(xml.as_bytes(), &LIMITS).unwrap();
    assert_eq!(back, req);
    assert_eq!(back.indication(), Some(&indication));
    assert!(xml.contains(r#"<SIMPLEEXPREQ><EXPMETHODCALL NAME="ExportIndication"><EXPPARAMVALUE NAME="NewIndication"><INSTANCE CLASSNAME="CIM_InstModification">"#), "{xml}");

    let ok = req.ok_response();
    let xml = write_export_response(&ok);
    assert_eq!(read_export_response(xml.as_bytes(), &LIMITS).unwrap(), ok);
    let failed = ExportResponse {
        result: Err(CimError::new(CimStatusCode::Failed, "listener is full")),
        ..ok
    };
    let xml = write_export_response(&failed);
    assert_eq!(
        read_export_response(xml.as_bytes(), &LIMITS).unwrap(),
        failed
    );
    assert_eq!(
        read_message(xml.as_bytes(), &LIMITS).unwrap(),
        Message::ExportResponse(failed.clone())
    );
    assert_eq!(write_message(&Message::ExportResponse(failed)), xml);
}

fn p(name: &str, v: ParamValue) -> (String, ParamValue) {
    (name.to_owned(), v)
}

fn b(v: bool) -> ParamValue {
    ParamValue::Value(CimValue::Boolean(v))
}

fn s(v: &str) -> ParamValue {
    ParamValue::Value(CimValue::from(v))
}

fn u32v(v: u32) -> ParamValue {
    ParamValue::Value(CimValue::UInt32(v))
}

fn class(name: &str) -> ParamValue {
    ParamValue::ClassName(name.to_owned())
}

fn property_list(names: &[&str]) -> ParamValue {
    ParamValue::Value(array(
        CimType::String,
        names.iter().map(|n| CimValue::from(*n)).collect(),
    ))
}

fn instance_name() -> ParamValue {
    ParamValue::InstanceName(
        ObjectPath::new(None, "CIMJOB_ConcreteJob").with_key("InstanceID", "CIMJOB:1".into()),
    )
}

fn pull_selectors() -> Vec<(String, ParamValue)> {
    vec![
        p("FilterQueryLanguage", s("DMTF:CQL")),
        p(
            "FilterQuery",
            s("SELECT * FROM CIM_ConcreteJob WHERE JobState = 4"),
        ),
        p("OperationTimeout", u32v(30)),
        p("ContinueOnError", b(false)),
        p("MaxObjectCount", u32v(100)),
    ]
}

/// The IPARAMVALUEs of every intrinsic operation (DSP0200 and the spec digest §5d).
fn every_intrinsic_call() -> Vec<(&'static str, Vec<(String, ParamValue)>)> {
    let assoc = |names: bool| {
        let mut v = vec![
            p("ObjectName", instance_name()),
            p("AssocClass", class("CIM_OwningJobElement")),
            p("ResultClass", class("CIM_ComputerSystem")),
            p("Role", s("OwnedElement")),
            p("ResultRole", s("OwningElement")),
        ];
        if !names {
            v.extend([
                p("IncludeQualifiers", b(false)),
                p("IncludeClassOrigin", b(true)),
                p("PropertyList", property_list(&["Name"])),
            ]);
        }
        v
    };
    let refs = |names: bool| {
        let mut v = vec![
            p("ObjectName", class("CIM_ConcreteJob")),
            p("ResultClass", class("CIM_OwningJobElement")),
            p("Role", s("OwnedElement")),
        ];
        if !names {
            v.extend([
                p("IncludeQualifiers", b(true)),
                p("IncludeClassOrigin", b(false)),
                p("PropertyList", property_list(&[])),
            ]);
        }
        v
    };
    let with = |mut first: Vec<(String, ParamValue)>, rest: Vec<(String, ParamValue)>| {
        first.extend(rest);
        first
    };
    vec![
        (
            "GetInstance",
            vec![
                p("InstanceName", instance_name()),
                p("LocalOnly", b(false)),
                p("IncludeQualifiers", b(false)),
                p("IncludeClassOrigin", b(true)),
                p("PropertyList", property_list(&["InstanceID", "JobState"])),
            ],
        ),
        (
            "EnumerateInstances",
            vec![
                p("ClassName", class("CIM_ConcreteJob")),
                p("LocalOnly", b(false)),
                p("DeepInheritance", b(true)),
                p("IncludeQualifiers", b(false)),
                p("IncludeClassOrigin", b(false)),
                p("PropertyList", property_list(&["JobState"])),
            ],
        ),
        (
            "EnumerateInstanceNames",
            vec![p("ClassName", class("CIM_ConcreteJob"))],
        ),
        (
            "GetClass",
            vec![
                p("ClassName", class("CIMJOB_ConcreteJob")),
                p("LocalOnly", b(true)),
                p("IncludeQualifiers", b(true)),
                p("IncludeClassOrigin", b(true)),
                p("PropertyList", ParamValue::Null),
            ],
        ),
        (
            "EnumerateClasses",
            vec![
                p("DeepInheritance", b(true)),
                p("LocalOnly", b(false)),
                p("IncludeQualifiers", b(true)),
                p("IncludeClassOrigin", b(false)),
            ],
        ),
        (
            "EnumerateClassNames",
            vec![
                p("ClassName", class("CIM_Job")),
                p("DeepInheritance", b(false)),
            ],
        ),
        (
            "CreateInstance",
            vec![p("NewInstance", ParamValue::Instance(Box::new(job())))],
        ),
        (
            "ModifyInstance",
            vec![
                p(
                    "ModifiedInstance",
                    ParamValue::NamedInstance(Box::new(InstanceWithPath::new(
                        ObjectPath::new(None, "CIMJOB_ConcreteJob")
                            .with_key("InstanceID", "CIMJOB:1".into()),
                        Instance::new("CIMJOB_ConcreteJob")
                            .with_property(Property::new("Priority", CimValue::UInt32(5))),
                    ))),
                ),
                p("IncludeQualifiers", b(false)),
                p("PropertyList", property_list(&["Priority"])),
            ],
        ),
        ("DeleteInstance", vec![p("InstanceName", instance_name())]),
        ("Associators", assoc(false)),
        ("AssociatorNames", assoc(true)),
        ("References", refs(false)),
        ("ReferenceNames", refs(true)),
        (
            "ExecQuery",
            vec![
                p("QueryLanguage", s("WQL")),
                p(
                    "Query",
                    s("SELECT * FROM CIM_ConcreteJob WHERE Name <> 'x' AND JobState > 3"),
                ),
            ],
        ),
        (
            "CreateClass",
            vec![p("NewClass", ParamValue::Class(Box::new(sample_class())))],
        ),
        (
            "ModifyClass",
            vec![p(
                "ModifiedClass",
                ParamValue::Class(Box::new(Class::new("CIM_Foo", None))),
            )],
        ),
        ("DeleteClass", vec![p("ClassName", class("CIM_Foo"))]),
        (
            "GetProperty",
            vec![
                p("InstanceName", instance_name()),
                p("PropertyName", s("JobState")),
            ],
        ),
        (
            "SetProperty",
            vec![
                p("InstanceName", instance_name()),
                p("PropertyName", s("Priority")),
                p("NewValue", ParamValue::Text("7".into())),
            ],
        ),
        ("GetQualifier", vec![p("QualifierName", s("Key"))]),
        (
            "SetQualifier",
            vec![p(
                "QualifierDeclaration",
                ParamValue::QualifierDeclaration(Box::new(
                    sample_qualifier_declarations().remove(0),
                )),
            )],
        ),
        ("DeleteQualifier", vec![p("QualifierName", s("Fixed"))]),
        ("EnumerateQualifiers", vec![]),
        (
            "OpenEnumerateInstances",
            with(
                vec![
                    p("ClassName", class("CIM_ConcreteJob")),
                    p("DeepInheritance", b(true)),
                    p("IncludeClassOrigin", b(false)),
                    p("PropertyList", property_list(&["JobState", "Name"])),
                ],
                pull_selectors(),
            ),
        ),
        (
            "OpenEnumerateInstancePaths",
            with(
                vec![p("ClassName", class("CIM_ConcreteJob"))],
                pull_selectors(),
            ),
        ),
        (
            "OpenAssociatorInstances",
            with(
                vec![
                    p("InstanceName", instance_name()),
                    p("AssocClass", class("CIM_OwningJobElement")),
                    p("ResultClass", class("CIM_ComputerSystem")),
                    p("Role", s("OwnedElement")),
                    p("ResultRole", s("OwningElement")),
                    p("IncludeClassOrigin", b(false)),
                    p("PropertyList", property_list(&["Name"])),
                ],
                pull_selectors(),
            ),
        ),
        (
            "OpenAssociatorInstancePaths",
            with(
                vec![
                    p("InstanceName", instance_name()),
                    p("AssocClass", class("CIM_OwningJobElement")),
                ],
                pull_selectors(),
            ),
        ),
        (
            "OpenReferenceInstances",
            with(
                vec![
                    p("InstanceName", instance_name()),
                    p("ResultClass", class("CIM_OwningJobElement")),
                    p("Role", s("OwnedElement")),
                    p("IncludeClassOrigin", b(true)),
                ],
                pull_selectors(),
            ),
        ),
        (
            "OpenReferenceInstancePaths",
            with(vec![p("InstanceName", instance_name())], pull_selectors()),
        ),
        (
            "OpenQueryInstances",
            vec![
                p("FilterQueryLanguage", s("DMTF:CQL")),
                p("FilterQuery", s("SELECT * FROM CIM_ConcreteJob")),
                p("ReturnQueryResultClass", b(false)),
                p("OperationTimeout", ParamValue::Null),
                p("ContinueOnError", b(false)),
                p("MaxObjectCount", u32v(0)),
            ],
        ),
        (
            "PullInstancesWithPath",
            vec![
                p("EnumerationContext", s("ctx-1")),
                p("MaxObjectCount", u32v(50)),
            ],
        ),
        (
            "PullInstancePaths",
            vec![
                p("EnumerationContext", s("ctx-2")),
                p("MaxObjectCount", u32v(50)),
            ],
        ),
        (
            "PullInstances",
            vec![
                p("EnumerationContext", s("ctx-3")),
                p("MaxObjectCount", u32v(u32::MAX)),
            ],
        ),
        (
            "CloseEnumeration",
            vec![p("EnumerationContext", s("ctx-1"))],
        ),
        (
            "EnumerationCount",
            vec![p("EnumerationContext", s("ctx-1"))],
        ),
    ]
}

#[test]
fn requests_of_every_intrinsic_operation_round_trip() {
    let calls = every_intrinsic_call();
    for op in INTRINSIC_OPERATIONS {
        assert!(calls.iter().any(|(n, _)| n == op), "no request for {op}");
    }
    for (op, params) in calls {
        for ns in ["root/cimv2", "interop", "root/PG_InterOp"] {
            rt_request(&Request::intrinsic("1001", ns, op, params.clone()));
        }
    }
}

#[test]
fn extrinsic_calls_round_trip() {
    let params = vec![
        p("RequestedState", ParamValue::Value(CimValue::UInt16(4))),
        p(
            "TimeoutPeriod",
            ParamValue::Value(dt("00000000000500.000000:000")),
        ),
        p("Job", ParamValue::Value(CimValue::Reference(job_path()))),
        p("Input", ParamValue::Instance(Box::new(error_instance()))),
        p("Inputs", ParamValue::Instances(vec![error_instance()])),
        p("Names", property_list(&["a", "b"])),
        p("Untyped", ParamValue::Text("17".into())),
        p(
            "UntypedArray",
            ParamValue::TextArray(vec!["1".into(), "2".into()]),
        ),
        p("Nothing", ParamValue::Null),
        p("Name", instance_name()),
        p("Class", class("CIM_Job")),
        p("Flag", b(true)),
        p("Scale", ParamValue::Value(CimValue::Real32(1.5))),
    ];
    rt_request(&Request::extrinsic(
        "1",
        job_path(),
        "RequestStateChange",
        params.clone(),
    ));
    // A static method on a class, and a method on a singleton instance.
    let class_call = Request::extrinsic(
        "2",
        ObjectPath::new(Some("root/cimv2"), "CIMJOB_ConcreteJob"),
        "Create",
        params,
    );
    assert!(matches!(
        class_call.call,
        Call::Extrinsic {
            target_is_class: true,
            ..
        }
    ));
    let xml = write_request(&class_call);
    assert!(xml.contains("<LOCALCLASSPATH>"), "{xml}");
    rt_request(&class_call);
    let singleton = Request {
        message_id: "3".into(),
        protocol_version: "1.0".into(),
        call: Call::Extrinsic {
            target: ObjectPath::new(Some("root/interop"), "CIM_ObjectManager"),
            target_is_class: false,
            method: "Ping".into(),
            params: vec![],
        },
    };
    let xml = write_request(&singleton);
    assert!(xml.contains(r#"<LOCALINSTANCEPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="interop"/></LOCALNAMESPACEPATH><INSTANCENAME CLASSNAME="CIM_ObjectManager"></INSTANCENAME></LOCALINSTANCEPATH>"#), "{xml}");
    rt_request(&singleton);
}

#[test]
fn untyped_parameters_are_typed_by_their_declaration() {
    let t = |ty, is_array| cim::ValueType { ty, is_array };
    assert_eq!(
        ParamValue::Text("4".into())
            .to_cim_value(t(CimType::UInt16, false))
            .unwrap(),
        Some(CimValue::UInt16(4))
    );
    assert_eq!(
        ParamValue::TextArray(vec!["1".into(), "2".into()])
            .to_cim_value(t(CimType::UInt8, true))
            .unwrap(),
        Some(array(
            CimType::UInt8,
            vec![CimValue::UInt8(1), CimValue::UInt8(2)]
        ))
    );
    assert_eq!(
        ParamValue::Null
            .to_cim_value(t(CimType::String, false))
            .unwrap(),
        None
    );
    assert_eq!(
        instance_name()
            .to_cim_value(t(CimType::Reference, false))
            .unwrap(),
        Some(CimValue::Reference(
            ObjectPath::new(None, "CIMJOB_ConcreteJob").with_key("InstanceID", "CIMJOB:1".into())
        ))
    );
    let err = ParamValue::Text("300".into())
        .to_cim_value(t(CimType::UInt8, false))
        .unwrap_err();
    assert_eq!(err.kind(), XmlErrorKind::InvalidValue);
    assert_eq!(err.status_code(), CimStatusCode::InvalidParameter);
    let err = ParamValue::Value(CimValue::UInt8(3))
        .to_cim_value(t(CimType::UInt8, true))
        .unwrap_err();
    assert_eq!(err.kind(), XmlErrorKind::TypeMismatch);
    assert_eq!(err.status_code(), CimStatusCode::TypeMismatch);
}

#[test]
fn the_reader_is_tolerant_of_what_real_clients_vary() {
    // Attribute order, whitespace, attribute-name case, KEYVALUE without
    // TYPE or VALUETYPE, CORRELATOR, comments, processing instructions, a
    // BOM, single quotes, a namespace given as one NAMESPACE with a slash.
    let body = "\u{FEFF}<?xml version='1.0' encoding='UTF-8'?>\n<!-- client -->\n\
      <CIM DTDVERSION='2.4' CIMVERSION='2.6'>\n  <MESSAGE PROTOCOLVERSION='1.4' ID='77'>\n\
      <SIMPLEREQ>\n <CORRELATOR NAME='c' TYPE='string'><VALUE>x</VALUE></CORRELATOR>\n\
      <?pi ignored?>\n\
      <IMETHODCALL NAME='GetInstance'>\n\
        <LOCALNAMESPACEPATH>\n <NAMESPACE NAME='root/cimv2'/>\n </LOCALNAMESPACEPATH>\n\
        <IPARAMVALUE NAME='InstanceName'>\n\
          <INSTANCENAME CLASSNAME='CIMJOB_ConcreteJob'>\n\
            <KEYBINDING NAME='InstanceID'><KEYVALUE>CIMJOB:1</KEYVALUE></KEYBINDING>\n\
            <KEYBINDING NAME='Num'><KEYVALUE VALUETYPE='NUMERIC' TYPE='uint16'> 0x10 </KEYVALUE></KEYBINDING>\n\
            <KEYBINDING NAME='On'><KEYVALUE valuetype='boolean'>true</KEYVALUE></KEYBINDING>\n\
          </INSTANCENAME>\n\
        </IPARAMVALUE>\n\
        <IPARAMVALUE NAME='localonly'><VALUE> false </VALUE></IPARAMVALUE>\n\
      </IMETHODCALL>\n</SIMPLEREQ>\n</MESSAGE>\n</CIM>\n";
    let r = read_request(body.as_bytes(), &LIMITS).unwrap();
    assert_eq!(r.message_id, "77");
    assert_eq!(r.protocol_version, "1.4");
    assert_eq!(r.call.namespace(), "root/cimv2");
    let name = r
        .call
        .param("InstanceName")
        .unwrap()
        .as_instance_name()
        .unwrap();
    assert_eq!(name.key("InstanceID"), Some(&KeyValue::from("CIMJOB:1")));
    assert_eq!(name.key("Num"), Some(&KeyValue::Integer(16)));
    assert_eq!(name.key("On"), Some(&KeyValue::Boolean(true)));
    assert_eq!(r.call.param("LocalOnly"), Some(&b(false)));
}

#[test]
fn text_survives_xml_line_end_and_attribute_normalization() {
    // Literal CR LF in text is a line end (read as LF); &#13; is a CR.
    let i = read_instance(
        "<INSTANCE CLASSNAME='T'><PROPERTY NAME='S' TYPE='string'><VALUE>a\r\nb&#13;c</VALUE></PROPERTY></INSTANCE>",
        &LIMITS,
    )
    .unwrap();
    assert_eq!(
        i.property("S").unwrap().cim_value(),
        Some(&CimValue::from("a\nb\rc"))
    );
    // Whitespace characters in attributes are normalized to spaces unless
    // written as character references, as the writer does.
    let body = "<CIM CIMVERSION='2.0' DTDVERSION='2.0'><MESSAGE ID='1' PROTOCOLVERSION='1.0'><SIMPLERSP>\
      <IMETHODRESPONSE NAME='GetClass'><ERROR CODE='1' DESCRIPTION='a\tb\nc&#10;d'/></IMETHODRESPONSE>\
      </SIMPLERSP></MESSAGE></CIM>";
    let r = read_response(body.as_bytes(), &LIMITS).unwrap();
    assert_eq!(r.error().unwrap().description.as_deref(), Some("a b c\nd"));
}
