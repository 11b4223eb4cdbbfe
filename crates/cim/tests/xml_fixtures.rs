//! Literal bodies in the shape real clients and servers send them: pywbem
//! requests (compact, as its `_cim_xml` writes them), OpenPegasus-style
//! responses and indications (one element per line). Each is read into the
//! expected structure; the pywbem requests are also what this crate writes,
//! byte for byte.

use cim::xml::*;
use cim::{CimArray, CimDateTime, CimType, CimValue, KeyValue, ObjectPath};

const LIMITS: Limits = Limits::DEFAULT;

const DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n";
const NS: &str =
    r#"<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH>"#;
const JOB_NAME: &str = r#"<INSTANCENAME CLASSNAME="CIMJOB_ConcreteJob"><KEYBINDING NAME="InstanceID"><KEYVALUE VALUETYPE="string">CIMJOB:1</KEYVALUE></KEYBINDING></INSTANCENAME>"#;

/// A pywbem request body: declaration, envelope, and the method call.
fn pywbem(call: &str) -> String {
    format!(
        r#"{DECL}<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>{call}</SIMPLEREQ></MESSAGE></CIM>"#
    )
}

fn job_name() -> ObjectPath {
    ObjectPath::new(None, "CIMJOB_ConcreteJob").with_key("InstanceID", KeyValue::from("CIMJOB:1"))
}

fn p(name: &str, v: ParamValue) -> (String, ParamValue) {
    (name.to_owned(), v)
}

fn strings(items: &[&str]) -> ParamValue {
    ParamValue::Value(CimValue::Array(
        CimArray::new(
            CimType::String,
            items.iter().map(|s| CimValue::from(*s)).collect(),
        )
        .unwrap(),
    ))
}

/// Reads `body`, compares with `expected`, and checks that writing
/// `expected` gives `body` back exactly.
fn check(body: &str, expected: Request) {
    let read = read_request(body.as_bytes(), &LIMITS).unwrap_or_else(|e| panic!("{e}\n{body}"));
    assert_eq!(read, expected);
    assert_eq!(write_request(&expected), body);
}

#[test]
fn pywbem_get_instance() {
    let body = pywbem(&format!(
        r#"<IMETHODCALL NAME="GetInstance">{NS}<IPARAMVALUE NAME="InstanceName">{JOB_NAME}</IPARAMVALUE><IPARAMVALUE NAME="LocalOnly"><VALUE>FALSE</VALUE></IPARAMVALUE></IMETHODCALL>"#
    ));
    check(
        &body,
        Request::intrinsic(
            "1001",
            "root/cimv2",
            "GetInstance",
            vec![
                p("InstanceName", ParamValue::InstanceName(job_name())),
                p("LocalOnly", ParamValue::Value(false.into())),
            ],
        ),
    );
}

#[test]
fn pywbem_enumerate_instances_with_property_list() {
    let body = pywbem(&format!(
        r#"<IMETHODCALL NAME="EnumerateInstances">{NS}<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ConcreteJob"/></IPARAMVALUE><IPARAMVALUE NAME="DeepInheritance"><VALUE>TRUE</VALUE></IPARAMVALUE><IPARAMVALUE NAME="IncludeClassOrigin"><VALUE>FALSE</VALUE></IPARAMVALUE><IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>InstanceID</VALUE><VALUE>JobState</VALUE><VALUE>PercentComplete</VALUE></VALUE.ARRAY></IPARAMVALUE></IMETHODCALL>"#
    ));
    let expected = Request::intrinsic(
        "1001",
        "root/cimv2",
        "EnumerateInstances",
        vec![
            p("ClassName", ParamValue::ClassName("CIM_ConcreteJob".into())),
            p("DeepInheritance", ParamValue::Value(true.into())),
            p("IncludeClassOrigin", ParamValue::Value(false.into())),
            p(
                "PropertyList",
                strings(&["InstanceID", "JobState", "PercentComplete"]),
            ),
        ],
    );
    check(&body, expected.clone());
    let list = expected
        .call
        .param("propertylist")
        .unwrap()
        .as_string_list();
    assert_eq!(
        list,
        Some(vec!["InstanceID", "JobState", "PercentComplete"])
    );
}

#[test]
fn pywbem_invoke_method_with_uint16_and_datetime_parameters() {
    let body = pywbem(&format!(
        r#"<METHODCALL NAME="RequestStateChange"><LOCALINSTANCEPATH>{NS}{JOB_NAME}</LOCALINSTANCEPATH><PARAMVALUE NAME="RequestedState" PARAMTYPE="uint16"><VALUE>4</VALUE></PARAMVALUE><PARAMVALUE NAME="TimeoutPeriod" PARAMTYPE="datetime"><VALUE>00000000000500.000000:000</VALUE></PARAMVALUE></METHODCALL>"#
    ));
    let mut target = job_name();
    target.namespace = Some("root/cimv2".into());
    let expected = Request::extrinsic(
        "1001",
        target,
        "RequestStateChange",
        vec![
            p("RequestedState", ParamValue::Value(CimValue::UInt16(4))),
            p(
                "TimeoutPeriod",
                ParamValue::Value(CimValue::DateTime(
                    CimDateTime::parse("00000000000500.000000:000").unwrap(),
                )),
            ),
        ],
    );
    check(&body, expected.clone());
    let Call::Extrinsic {
        target,
        target_is_class,
        ..
    } = &expected.call
    else {
        panic!()
    };
    assert!(!target_is_class);
    assert_eq!(
        target.to_string(),
        r#"/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#
    );
}

#[test]
fn pywbem_invoke_static_method_on_a_class() {
    let body = pywbem(&format!(
        r#"<METHODCALL NAME="StartJob"><LOCALCLASSPATH>{NS}<CLASSNAME NAME="CIMJOB_JobService"/></LOCALCLASSPATH><PARAMVALUE NAME="Command" PARAMTYPE="string"><VALUE>/bin/true</VALUE></PARAMVALUE><PARAMVALUE NAME="Args" PARAMTYPE="string"><VALUE.ARRAY><VALUE>-v</VALUE></VALUE.ARRAY></PARAMVALUE></METHODCALL>"#
    ));
    check(
        &body,
        Request::extrinsic(
            "1001",
            ObjectPath::new(Some("root/cimv2"), "CIMJOB_JobService"),
            "StartJob",
            vec![
                p("Command", ParamValue::Value("/bin/true".into())),
                p("Args", strings(&["-v"])),
            ],
        ),
    );
}

#[test]
fn pywbem_modify_instance() {
    let body = pywbem(&format!(
        r#"<IMETHODCALL NAME="ModifyInstance">{NS}<IPARAMVALUE NAME="ModifiedInstance"><VALUE.NAMEDINSTANCE>{JOB_NAME}<INSTANCE CLASSNAME="CIMJOB_ConcreteJob"><PROPERTY NAME="Priority" TYPE="uint32"><VALUE>5</VALUE></PROPERTY><PROPERTY NAME="DeleteOnCompletion" TYPE="boolean"><VALUE>FALSE</VALUE></PROPERTY><PROPERTY NAME="ElementName" TYPE="string"><VALUE>nightly &lt;backup&gt; &amp; sync</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE></IPARAMVALUE><IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>Priority</VALUE><VALUE>DeleteOnCompletion</VALUE><VALUE>ElementName</VALUE></VALUE.ARRAY></IPARAMVALUE></IMETHODCALL>"#
    ));
    let modified = Instance::new("CIMJOB_ConcreteJob")
        .with_property(Property::new("Priority", CimValue::UInt32(5)))
        .with_property(Property::new("DeleteOnCompletion", false))
        .with_property(Property::new("ElementName", "nightly <backup> & sync"));
    check(
        &body,
        Request::intrinsic(
            "1001",
            "root/cimv2",
            "ModifyInstance",
            vec![
                p(
                    "ModifiedInstance",
                    ParamValue::NamedInstance(Box::new(InstanceWithPath::new(
                        job_name(),
                        modified,
                    ))),
                ),
                p(
                    "PropertyList",
                    strings(&["Priority", "DeleteOnCompletion", "ElementName"]),
                ),
            ],
        ),
    );
}

#[test]
fn pywbem_open_enumerate_instances_with_max_object_count() {
    let body = pywbem(&format!(
        r#"<IMETHODCALL NAME="OpenEnumerateInstances">{NS}<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ConcreteJob"/></IPARAMVALUE><IPARAMVALUE NAME="DeepInheritance"><VALUE>TRUE</VALUE></IPARAMVALUE><IPARAMVALUE NAME="OperationTimeout"><VALUE>30</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>100</VALUE></IPARAMVALUE></IMETHODCALL>"#
    ));
    let expected = Request::intrinsic(
        "1001",
        "root/cimv2",
        "OpenEnumerateInstances",
        vec![
            p("ClassName", ParamValue::ClassName("CIM_ConcreteJob".into())),
            p("DeepInheritance", ParamValue::Value(true.into())),
            p("OperationTimeout", ParamValue::Value(CimValue::UInt32(30))),
            p("MaxObjectCount", ParamValue::Value(CimValue::UInt32(100))),
        ],
    );
    check(&body, expected.clone());
    assert_eq!(
        expected.call.param("MaxObjectCount").unwrap().as_u32(),
        Some(100)
    );
}

#[test]
fn pywbem_pull_and_close() {
    let body = pywbem(&format!(
        r#"<IMETHODCALL NAME="PullInstancesWithPath">{NS}<IPARAMVALUE NAME="EnumerationContext"><VALUE>ctx-7</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>0</VALUE></IPARAMVALUE></IMETHODCALL>"#
    ));
    check(
        &body,
        Request::intrinsic(
            "1001",
            "root/cimv2",
            "PullInstancesWithPath",
            vec![
                p("EnumerationContext", ParamValue::Value("ctx-7".into())),
                p("MaxObjectCount", ParamValue::Value(CimValue::UInt32(0))),
            ],
        ),
    );
}

#[test]
fn pywbem_create_instance_in_interop() {
    let body = format!(
        r#"{DECL}<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="CreateInstance"><LOCALNAMESPACEPATH><NAMESPACE NAME="interop"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="CIM_IndicationSubscription"><PROPERTY.REFERENCE NAME="Filter"><VALUE.REFERENCE><INSTANCENAME CLASSNAME="CIM_IndicationFilter"><KEYBINDING NAME="CreationClassName"><KEYVALUE VALUETYPE="string">CIM_IndicationFilter</KEYVALUE></KEYBINDING><KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">jobs</KEYVALUE></KEYBINDING></INSTANCENAME></VALUE.REFERENCE></PROPERTY.REFERENCE><PROPERTY NAME="SubscriptionState" TYPE="uint16"><VALUE>2</VALUE></PROPERTY><PROPERTY.ARRAY NAME="SourceNamespaces" TYPE="string"><VALUE.ARRAY><VALUE>root/cimv2</VALUE></VALUE.ARRAY></PROPERTY.ARRAY></INSTANCE></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"#
    );
    let filter = ObjectPath::new(None, "CIM_IndicationFilter")
        .with_key("CreationClassName", "CIM_IndicationFilter".into())
        .with_key("Name", "jobs".into());
    let new = Instance::new("CIM_IndicationSubscription")
        .with_property(Property::new("Filter", filter))
        .with_property(Property::new("SubscriptionState", CimValue::UInt16(2)))
        .with_property(Property::new(
            "SourceNamespaces",
            CimArray::new(CimType::String, vec!["root/cimv2".into()]).unwrap(),
        ));
    check(
        &body,
        Request::intrinsic(
            "1001",
            "interop",
            "CreateInstance",
            vec![p("NewInstance", new.into())],
        ),
    );
}

/// OpenPegasus writes one element per line, with `xml:lang`-free
/// instances, a space before `>` in INSTANCE, and PROPAGATED/CLASSORIGIN
/// on class-derived properties.
#[test]
fn openpegasus_style_get_instance_response() {
    let body = r#"<?xml version="1.0" encoding="utf-8" ?>
<CIM CIMVERSION="2.0" DTDVERSION="2.0">
<MESSAGE ID="1001" PROTOCOLVERSION="1.0">
<SIMPLERSP>
<IMETHODRESPONSE NAME="GetInstance">
<IRETURNVALUE>
<INSTANCE CLASSNAME="CIMJOB_ConcreteJob" >
<PROPERTY NAME="InstanceID"  CLASSORIGIN="CIM_ManagedElement" TYPE="string">
<VALUE>CIMJOB:1</VALUE>
</PROPERTY>
<PROPERTY NAME="JobState"  CLASSORIGIN="CIM_ConcreteJob" PROPAGATED="true" TYPE="uint16">
<VALUE>7</VALUE>
</PROPERTY>
<PROPERTY.ARRAY NAME="OperationalStatus"  TYPE="uint16">
<VALUE.ARRAY>
<VALUE>2</VALUE>
<VALUE>17</VALUE>
</VALUE.ARRAY>
</PROPERTY.ARRAY>
<PROPERTY NAME="ErrorDescription"  TYPE="string">
</PROPERTY>
<PROPERTY NAME="TimeSubmitted"  TYPE="datetime">
<VALUE>20260314123000.000000+060</VALUE>
</PROPERTY>
</INSTANCE>
</IRETURNVALUE>
</IMETHODRESPONSE>
</SIMPLERSP>
</MESSAGE>
</CIM>
"#;
    let r = read_response(body.as_bytes(), &LIMITS).unwrap();
    let expected = Instance::new("CIMJOB_ConcreteJob")
        .with_property(
            Property::new("InstanceID", "CIMJOB:1").with_class_origin("CIM_ManagedElement"),
        )
        .with_property(Property {
            propagated: true,
            ..Property::new("JobState", CimValue::UInt16(7)).with_class_origin("CIM_ConcreteJob")
        })
        .with_property(Property::new(
            "OperationalStatus",
            CimArray::new(
                CimType::UInt16,
                vec![CimValue::UInt16(2), CimValue::UInt16(17)],
            )
            .unwrap(),
        ))
        .with_property(Property::null("ErrorDescription", CimType::String, false))
        .with_property(Property::new(
            "TimeSubmitted",
            CimDateTime::parse("20260314123000.000000+060").unwrap(),
        ));
    assert_eq!(
        r,
        Response::intrinsic(
            "1001",
            "GetInstance",
            Some(IReturnValue::Instances(vec![expected]))
        )
    );
}

#[test]
fn openpegasus_style_error_with_cim_error_instance() {
    let body = r#"<?xml version="1.0" encoding="utf-8" ?>
<CIM CIMVERSION="2.0" DTDVERSION="2.0">
<MESSAGE ID="1002" PROTOCOLVERSION="1.0">
<SIMPLERSP>
<METHODRESPONSE NAME="RequestStateChange">
<ERROR CODE="4" DESCRIPTION="CIM_ERR_INVALID_PARAMETER: RequestedState">
<INSTANCE CLASSNAME="CIM_Error" >
<PROPERTY NAME="CIMStatusCode"  TYPE="uint32">
<VALUE>4</VALUE>
</PROPERTY>
<PROPERTY NAME="Message"  TYPE="string">
<VALUE>RequestedState 99 is not in the ValueMap</VALUE>
</PROPERTY>
</INSTANCE>
</ERROR>
</METHODRESPONSE>
</SIMPLERSP>
</MESSAGE>
</CIM>
"#;
    let r = read_response(body.as_bytes(), &LIMITS).unwrap();
    let e = r.error().unwrap();
    assert_eq!(e.status(), Some(cim::CimStatusCode::InvalidParameter));
    assert_eq!(
        e.description.as_deref(),
        Some("CIM_ERR_INVALID_PARAMETER: RequestedState")
    );
    assert_eq!(e.instances.len(), 1);
    assert_eq!(
        e.instances[0]
            .value("Message")
            .and_then(PropertyValue::as_cim),
        Some(&CimValue::from("RequestedState 99 is not in the ValueMap"))
    );
}

#[test]
fn openpegasus_style_indication_delivery() {
    let body = r#"<?xml version="1.0" encoding="utf-8" ?>
<CIM CIMVERSION="2.0" DTDVERSION="2.0">
<MESSAGE ID="1000" PROTOCOLVERSION="1.0">
<SIMPLEEXPREQ>
<EXPMETHODCALL NAME="ExportIndication">
<EXPPARAMVALUE NAME="NewIndication">
<INSTANCE CLASSNAME="CIM_InstModification" >
<PROPERTY NAME="IndicationFilterName"  TYPE="string">
<VALUE>root/interop:jobs</VALUE>
</PROPERTY>
<PROPERTY NAME="SourceInstance"  TYPE="string" EmbeddedObject="instance">
<VALUE>&lt;INSTANCE CLASSNAME=&quot;CIMJOB_ConcreteJob&quot; &gt;
&lt;PROPERTY NAME=&quot;JobState&quot;  TYPE=&quot;uint16&quot;&gt;
&lt;VALUE&gt;7&lt;/VALUE&gt;
&lt;/PROPERTY&gt;
&lt;/INSTANCE&gt;
</VALUE>
</PROPERTY>
</INSTANCE>
</EXPPARAMVALUE>
</EXPMETHODCALL>
</SIMPLEEXPREQ>
</MESSAGE>
</CIM>
"#;
    let r = read_export_request(body.as_bytes(), &LIMITS).unwrap();
    assert_eq!(r.method, "ExportIndication");
    let indication = r.indication().unwrap();
    assert_eq!(indication.class_name, "CIM_InstModification");
    let source = indication
        .value("SourceInstance")
        .unwrap()
        .as_instance()
        .unwrap();
    assert_eq!(
        *source,
        Instance::new("CIMJOB_ConcreteJob")
            .with_property(Property::new("JobState", CimValue::UInt16(7)))
    );
    assert_eq!(
        write_export_response(&r.ok_response()),
        format!(
            r#"{DECL}<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1000" PROTOCOLVERSION="1.0"><SIMPLEEXPRSP><EXPMETHODRESPONSE NAME="ExportIndication"><IRETURNVALUE></IRETURNVALUE></EXPMETHODRESPONSE></SIMPLEEXPRSP></MESSAGE></CIM>"#
        )
    );
}

#[test]
fn openpegasus_style_pull_response() {
    let body = r#"<?xml version="1.0" encoding="utf-8" ?>
<CIM CIMVERSION="2.0" DTDVERSION="2.0">
<MESSAGE ID="1003" PROTOCOLVERSION="1.0">
<SIMPLERSP>
<IMETHODRESPONSE NAME="OpenEnumerateInstancePaths">
<IRETURNVALUE>
<INSTANCEPATH>
<NAMESPACEPATH>
<HOST>server.example.com</HOST>
<LOCALNAMESPACEPATH>
<NAMESPACE NAME="root"/>
<NAMESPACE NAME="cimv2"/>
</LOCALNAMESPACEPATH>
</NAMESPACEPATH>
<INSTANCENAME CLASSNAME="CIMJOB_ConcreteJob">
<KEYBINDING NAME="InstanceID">
<KEYVALUE VALUETYPE="string" TYPE="string">CIMJOB:1</KEYVALUE>
</KEYBINDING>
</INSTANCENAME>
</INSTANCEPATH>
</IRETURNVALUE>
<PARAMVALUE NAME="EndOfSequence" PARAMTYPE="boolean">
<VALUE>TRUE</VALUE>
</PARAMVALUE>
<PARAMVALUE NAME="EnumerationContext" PARAMTYPE="string">
<VALUE>0</VALUE>
</PARAMVALUE>
</IMETHODRESPONSE>
</SIMPLERSP>
</MESSAGE>
</CIM>
"#;
    let r = read_response(body.as_bytes(), &LIMITS).unwrap();
    let Reply::Intrinsic {
        result: Ok(result), ..
    } = r.reply
    else {
        panic!()
    };
    let mut path = job_name();
    path.namespace = Some("root/cimv2".into());
    path.host = Some("server.example.com".into());
    assert_eq!(result.value, Some(IReturnValue::InstancePaths(vec![path])));
    assert_eq!(result.end_of_sequence(), Some(true));
    assert_eq!(result.enumeration_context(), Some("0"));
}
