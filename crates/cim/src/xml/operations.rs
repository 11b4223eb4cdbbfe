//! What DSP0200 says about each intrinsic operation that the codec needs:
//! the names, the types of the untyped `IPARAMVALUE`s, and the kind of
//! `IRETURNVALUE` each answers with.

use crate::value::{CimType, ValueType};
use crate::xml::message::IReturnValue;

/// Every intrinsic operation DSP0200 defines (classic and pull), in the
/// spelling of the standard.
///
/// ```
/// assert!(cim::xml::INTRINSIC_OPERATIONS.contains(&"OpenEnumerateInstances"));
/// ```
pub const INTRINSIC_OPERATIONS: &[&str] = &[
    "GetClass",
    "GetInstance",
    "DeleteClass",
    "DeleteInstance",
    "CreateClass",
    "CreateInstance",
    "ModifyClass",
    "ModifyInstance",
    "EnumerateClasses",
    "EnumerateClassNames",
    "EnumerateInstances",
    "EnumerateInstanceNames",
    "ExecQuery",
    "Associators",
    "AssociatorNames",
    "References",
    "ReferenceNames",
    "GetProperty",
    "SetProperty",
    "GetQualifier",
    "SetQualifier",
    "DeleteQualifier",
    "EnumerateQualifiers",
    "OpenEnumerateInstances",
    "OpenEnumerateInstancePaths",
    "OpenAssociatorInstances",
    "OpenAssociatorInstancePaths",
    "OpenReferenceInstances",
    "OpenReferenceInstancePaths",
    "OpenQueryInstances",
    "PullInstancesWithPath",
    "PullInstancePaths",
    "PullInstances",
    "CloseEnumeration",
    "EnumerationCount",
];

/// The canonical spelling of an intrinsic operation name (ASCII case
/// ignored); `None` if DSP0200 defines no such operation.
///
/// ```
/// assert_eq!(cim::xml::intrinsic_operation("getinstance"), Some("GetInstance"));
/// assert_eq!(cim::xml::intrinsic_operation("RequestStateChange"), None);
/// ```
pub fn intrinsic_operation(name: &str) -> Option<&'static str> {
    INTRINSIC_OPERATIONS
        .iter()
        .copied()
        .find(|op| op.eq_ignore_ascii_case(name))
}

const fn scalar(ty: CimType) -> ValueType {
    ValueType {
        ty,
        is_array: false,
    }
}

/// The type of an intrinsic parameter (or pull output parameter) whose
/// value comes as an untyped `VALUE`/`VALUE.ARRAY`; `None` for names that
/// are untyped by nature (`NewValue`) or unknown.
pub(crate) fn iparam_type(name: &str) -> Option<ValueType> {
    const TABLE: &[(&str, ValueType)] = &[
        ("LocalOnly", scalar(CimType::Boolean)),
        ("DeepInheritance", scalar(CimType::Boolean)),
        ("IncludeQualifiers", scalar(CimType::Boolean)),
        ("IncludeClassOrigin", scalar(CimType::Boolean)),
        ("ContinueOnError", scalar(CimType::Boolean)),
        ("ReturnQueryResultClass", scalar(CimType::Boolean)),
        ("EndOfSequence", scalar(CimType::Boolean)),
        ("MaxObjectCount", scalar(CimType::UInt32)),
        ("OperationTimeout", scalar(CimType::UInt32)),
        ("Role", scalar(CimType::String)),
        ("ResultRole", scalar(CimType::String)),
        ("QueryLanguage", scalar(CimType::String)),
        ("Query", scalar(CimType::String)),
        ("FilterQueryLanguage", scalar(CimType::String)),
        ("FilterQuery", scalar(CimType::String)),
        ("EnumerationContext", scalar(CimType::String)),
        ("QualifierName", scalar(CimType::String)),
        ("PropertyName", scalar(CimType::String)),
        (
            "PropertyList",
            ValueType {
                ty: CimType::String,
                is_array: true,
            },
        ),
    ];
    TABLE
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, t)| *t)
}

/// The type of the untyped `VALUE` an operation returns in its
/// `IRETURNVALUE`, when DSP0200 fixes it.
pub(crate) fn return_value_type(operation: &str) -> Option<ValueType> {
    operation
        .eq_ignore_ascii_case("EnumerationCount")
        .then_some(scalar(CimType::UInt64))
}

/// What each operation answers when it has nothing to answer (see [`IReturnValue::empty_for`]).
fn empty_return(operation: &str) -> Option<IReturnValue> {
    use IReturnValue as R;
    let op = intrinsic_operation(operation)?;
    Some(match op {
        "GetClass" | "EnumerateClasses" => R::Classes(Vec::new()),
        "GetInstance" | "OpenQueryInstances" | "PullInstances" => R::Instances(Vec::new()),
        "CreateInstance" | "EnumerateInstanceNames" => R::InstanceNames(Vec::new()),
        "EnumerateClassNames" => R::ClassNames(Vec::new()),
        "EnumerateInstances" => R::NamedInstances(Vec::new()),
        "ExecQuery" | "Associators" | "References" => R::ObjectsWithPath(Vec::new()),
        "AssociatorNames" | "ReferenceNames" => R::ObjectPaths(Vec::new()),
        "GetProperty" | "EnumerationCount" => R::Value(crate::xml::ParamValue::Null),
        "GetQualifier" | "EnumerateQualifiers" => R::QualifierDeclarations(Vec::new()),
        "OpenEnumerateInstances"
        | "OpenAssociatorInstances"
        | "OpenReferenceInstances"
        | "PullInstancesWithPath" => R::InstancesWithPath(Vec::new()),
        "OpenEnumerateInstancePaths"
        | "OpenAssociatorInstancePaths"
        | "OpenReferenceInstancePaths"
        | "PullInstancePaths" => R::InstancePaths(Vec::new()),
        _ => return None,
    })
}

/// An operation's empty answer is DSP0200's table, stated with the others here.
impl IReturnValue {
    /// The empty answer of operation `name` (ASCII case ignored): the
    /// list kind it returns, empty; `None` for operations that return
    /// nothing (DeleteInstance, ModifyInstance, CloseEnumeration, ...) and
    /// for names this crate does not know.
    ///
    /// ```
    /// use cim::xml::IReturnValue;
    ///
    /// assert_eq!(IReturnValue::empty_for("EnumerateInstances"), Some(IReturnValue::NamedInstances(vec![])));
    /// assert_eq!(IReturnValue::empty_for("DeleteInstance"), None);
    /// ```
    pub fn empty_for(name: &str) -> Option<IReturnValue> {
        empty_return(name)
    }
}
