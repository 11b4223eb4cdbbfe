//! CIM-XML messages (DSP0200): operation requests and responses, export
//! (indication delivery) requests and responses, and the parameter and
//! return values they carry.
//!
//! ```
//! use cim::xml::{Call, ParamValue, Request};
//! use cim::{KeyValue, ObjectPath};
//!
//! let path = ObjectPath::new(None, "CIMJOB_ConcreteJob").with_key("InstanceID", KeyValue::from("CIMJOB:1"));
//! let req = Request::intrinsic("1001", "root/cimv2", "GetInstance", vec![
//!     ("InstanceName".into(), ParamValue::InstanceName(path.clone())),
//! ]);
//! assert_eq!(req.call.name(), "GetInstance");
//! assert_eq!(req.call.param("instancename").and_then(ParamValue::as_instance_name), Some(&path));
//! ```

use std::fmt;

use crate::path::ObjectPath;
use crate::status::CimStatusCode;
use crate::value::{CimArray, CimType, CimValue, ValueType};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::model::{
    Class, Instance, InstanceWithPath, Object, ObjectName, ObjectWithPath, QualifierDeclaration,
};

/// The `CIMVERSION` written on every message.
pub const CIM_VERSION: &str = "2.0";
/// The `DTDVERSION` written on every message.
pub const DTD_VERSION: &str = "2.0";
/// The `PROTOCOLVERSION` written by default, and assumed when the
/// `CIMProtocolVersion` header is absent.
pub const PROTOCOL_VERSION: &str = "1.0";

/// The value of one `IPARAMVALUE`, `PARAMVALUE`, `EXPPARAMVALUE` or
/// `RETURNVALUE`: every form DSP0201 allows there.
///
/// Typing: `PARAMVALUE PARAMTYPE="uint16"` gives [`ParamValue::Value`] of
/// that type. `IPARAMVALUE` has no type attribute; the reader types the
/// intrinsic parameters DSP0200 defines (`LocalOnly` and the other flags
/// as booleans, `MaxObjectCount` and `OperationTimeout` as uint32,
/// `PropertyList` as a string array, query and role parameters as
/// strings) and leaves any other untyped `VALUE` as [`ParamValue::Text`]
/// / [`ParamValue::TextArray`], for the receiver to type with
/// [`ParamValue::to_cim_value`].
///
/// Embedded instances read the same whether they came as an escaped
/// string with `EmbeddedObject="instance"` or as an `INSTANCE` element.
///
/// ```
/// use cim::xml::ParamValue;
/// use cim::{CimType, CimValue, ValueType};
///
/// assert_eq!(ParamValue::Value(CimValue::Boolean(true)).as_bool(), Some(true));
/// let untyped = ParamValue::Text("4".into());
/// let t = ValueType { ty: CimType::UInt16, is_array: false };
/// assert_eq!(untyped.to_cim_value(t)?, Some(CimValue::UInt16(4)));
/// # Ok::<(), cim::xml::XmlError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// No value: an empty element, or `VALUE.NULL`.
    Null,
    /// A typed value: scalar, array (`VALUE.ARRAY`), reference
    /// (`VALUE.REFERENCE`) or reference array (`VALUE.REFARRAY`).
    Value(CimValue),
    /// A `VALUE` without type information, as sent.
    Text(String),
    /// A `VALUE.ARRAY` without type information.
    TextArray(Vec<String>),
    /// An `INSTANCENAME` (`InstanceName`, `ObjectName`).
    InstanceName(ObjectPath),
    /// A `CLASSNAME` (`ClassName`, `AssocClass`, `ResultClass`, `ObjectName`).
    ClassName(String),
    /// An instance (`NewInstance`, `NewIndication`, an embedded instance).
    Instance(Box<Instance>),
    /// An array of embedded instances (e.g. GetErrors' `Errors`).
    Instances(Vec<Instance>),
    /// A `VALUE.NAMEDINSTANCE` (ModifyInstance's `ModifiedInstance`).
    NamedInstance(Box<InstanceWithPath>),
    /// A `CLASS` (`NewClass`, `ModifiedClass`).
    Class(Box<Class>),
    /// A `QUALIFIER.DECLARATION` (SetQualifier's `QualifierDeclaration`).
    QualifierDeclaration(Box<QualifierDeclaration>),
}

impl ParamValue {
    /// Whether it is [`ParamValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, ParamValue::Null)
    }

    /// A boolean: a typed boolean, or untyped text `true`/`false` (any case).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            ParamValue::Value(v) => v.as_bool(),
            ParamValue::Text(t) => CimValue::parse(CimType::Boolean, t).ok()?.as_bool(),
            _ => None,
        }
    }

    /// A `u32` (e.g. `MaxObjectCount`): any typed integer that fits, or
    /// untyped decimal text.
    pub fn as_u32(&self) -> Option<u32> {
        match self {
            ParamValue::Value(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()),
            ParamValue::Text(t) => CimValue::parse(CimType::UInt32, t)
                .ok()?
                .as_u64()?
                .try_into()
                .ok(),
            _ => None,
        }
    }

    /// A string: a typed string or untyped text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Value(v) => v.as_str(),
            ParamValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// A list of strings (e.g. `PropertyList`): a typed string array or an
    /// untyped value array.
    ///
    /// ```
    /// use cim::xml::ParamValue;
    ///
    /// let p = ParamValue::TextArray(vec!["JobState".into()]);
    /// assert_eq!(p.as_string_list(), Some(vec!["JobState"]));
    /// ```
    pub fn as_string_list(&self) -> Option<Vec<&str>> {
        match self {
            ParamValue::Value(CimValue::Array(a)) => {
                a.items().iter().map(CimValue::as_str).collect()
            }
            ParamValue::TextArray(v) => Some(v.iter().map(String::as_str).collect()),
            _ => None,
        }
    }

    /// An instance path: an `INSTANCENAME` or a reference value.
    pub fn as_instance_name(&self) -> Option<&ObjectPath> {
        match self {
            ParamValue::InstanceName(p) | ParamValue::Value(CimValue::Reference(p)) => Some(p),
            _ => None,
        }
    }

    /// A class name.
    pub fn as_class_name(&self) -> Option<&str> {
        match self {
            ParamValue::ClassName(c) => Some(c),
            _ => None,
        }
    }

    /// An instance (direct or embedded).
    pub fn as_instance(&self) -> Option<&Instance> {
        match self {
            ParamValue::Instance(i) => Some(i),
            _ => None,
        }
    }

    /// A named instance.
    pub fn as_named_instance(&self) -> Option<&InstanceWithPath> {
        match self {
            ParamValue::NamedInstance(n) => Some(n),
            _ => None,
        }
    }

    /// A class.
    pub fn as_class(&self) -> Option<&Class> {
        match self {
            ParamValue::Class(c) => Some(c),
            _ => None,
        }
    }

    /// The value as a [`CimValue`] of type `ty`: `None` for NULL; a typed
    /// value must have exactly that type; untyped text is parsed as `ty`;
    /// an `INSTANCENAME` is accepted for a reference.
    ///
    /// Why: method parameters arrive typed by `PARAMTYPE` only if the
    /// client sent one; the method's declaration is the authority.
    ///
    /// Errors: [`XmlErrorKind::InvalidValue`] for text that does not
    /// parse, [`XmlErrorKind::TypeMismatch`] for anything else.
    ///
    /// ```
    /// use cim::xml::{ParamValue, XmlErrorKind};
    /// use cim::{CimType, CimValue, ValueType};
    ///
    /// let u16_t = ValueType { ty: CimType::UInt16, is_array: false };
    /// let err = ParamValue::Value(CimValue::UInt32(4)).to_cim_value(u16_t).unwrap_err();
    /// assert_eq!(err.kind(), XmlErrorKind::TypeMismatch);
    /// let err = ParamValue::Text("x".into()).to_cim_value(u16_t).unwrap_err();
    /// assert_eq!(err.kind(), XmlErrorKind::InvalidValue);
    /// ```
    pub fn to_cim_value(&self, ty: ValueType) -> Result<Option<CimValue>, XmlError> {
        let invalid = |e: crate::value::ValueError| {
            XmlError::new(XmlErrorKind::InvalidValue, e.to_string(), None)
        };
        match self {
            ParamValue::Null => Ok(None),
            ParamValue::Value(v) if v.value_type() == ty => Ok(Some(v.clone())),
            ParamValue::Text(t) if !ty.is_array => {
                CimValue::parse(ty.ty, t).map(Some).map_err(invalid)
            }
            ParamValue::TextArray(items) if ty.is_array => {
                let items = items
                    .iter()
                    .map(|t| CimValue::parse(ty.ty, t))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(invalid)?;
                Ok(Some(CimValue::Array(
                    CimArray::new(ty.ty, items).map_err(invalid)?,
                )))
            }
            ParamValue::InstanceName(p) if ty.ty == CimType::Reference && !ty.is_array => {
                Ok(Some(CimValue::Reference(p.clone())))
            }
            other => Err(XmlError::new(
                XmlErrorKind::TypeMismatch,
                format!("expected a value of type {ty}, found {}", other.describe()),
                None,
            )),
        }
    }

    /// A short description of the form, for messages.
    fn describe(&self) -> String {
        match self {
            ParamValue::Null => "NULL".into(),
            ParamValue::Value(v) => format!("a {}", v.value_type()),
            ParamValue::Text(_) => "an untyped VALUE".into(),
            ParamValue::TextArray(_) => "an untyped VALUE.ARRAY".into(),
            ParamValue::InstanceName(_) => "an INSTANCENAME".into(),
            ParamValue::ClassName(_) => "a CLASSNAME".into(),
            ParamValue::Instance(_) => "an INSTANCE".into(),
            ParamValue::Instances(_) => "an array of embedded instances".into(),
            ParamValue::NamedInstance(_) => "a VALUE.NAMEDINSTANCE".into(),
            ParamValue::Class(_) => "a CLASS".into(),
            ParamValue::QualifierDeclaration(_) => "a QUALIFIER.DECLARATION".into(),
        }
    }
}

impl From<CimValue> for ParamValue {
    /// A typed value.
    fn from(v: CimValue) -> ParamValue {
        ParamValue::Value(v)
    }
}

impl From<Instance> for ParamValue {
    /// An instance.
    fn from(i: Instance) -> ParamValue {
        ParamValue::Instance(Box::new(i))
    }
}

/// Finds a parameter by name, ignoring ASCII case.
fn find_param<'p>(params: &'p [(String, ParamValue)], name: &str) -> Option<&'p ParamValue> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The operation a request asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// An intrinsic operation (`IMETHODCALL`): GetInstance, OpenEnumerateInstances, ...
    Intrinsic {
        /// The target namespace, e.g. `"root/cimv2"` (from
        /// `LOCALNAMESPACEPATH`; empty if that names no `NAMESPACE`, which a
        /// server answers with `CIM_ERR_INVALID_NAMESPACE`).
        namespace: String,
        /// The operation name, e.g. `"GetInstance"`.
        name: String,
        /// The `IPARAMVALUE`s, in order.
        params: Vec<(String, ParamValue)>,
    },
    /// An extrinsic method call (`METHODCALL`), e.g. RequestStateChange.
    Extrinsic {
        /// The instance path (`LOCALINSTANCEPATH`) or class path
        /// (`LOCALCLASSPATH`), with its namespace.
        target: ObjectPath,
        /// Whether the target is a class path (a static method call). A
        /// keyless `LOCALINSTANCEPATH` (a singleton) is `false`.
        target_is_class: bool,
        /// The method name.
        method: String,
        /// The `PARAMVALUE`s, in order.
        params: Vec<(String, ParamValue)>,
    },
}

impl Call {
    /// The operation or method name (what the `CIMMethod` header carries).
    pub fn name(&self) -> &str {
        match self {
            Call::Intrinsic { name, .. } => name,
            Call::Extrinsic { method, .. } => method,
        }
    }

    /// The target namespace (`""` when an extrinsic target has none).
    pub fn namespace(&self) -> &str {
        match self {
            Call::Intrinsic { namespace, .. } => namespace,
            Call::Extrinsic { target, .. } => target.namespace.as_deref().unwrap_or(""),
        }
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[(String, ParamValue)] {
        match self {
            Call::Intrinsic { params, .. } | Call::Extrinsic { params, .. } => params,
        }
    }

    /// The parameter named `name` (ASCII case ignored).
    pub fn param(&self, name: &str) -> Option<&ParamValue> {
        find_param(self.params(), name)
    }

    /// Whether it is an intrinsic operation.
    pub fn is_intrinsic(&self) -> bool {
        matches!(self, Call::Intrinsic { .. })
    }
}

/// A CIM operation request: `<MESSAGE ID PROTOCOLVERSION><SIMPLEREQ>`
/// with one `IMETHODCALL` or `METHODCALL`.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// `MESSAGE ID`, echoed in the response.
    pub message_id: String,
    /// `MESSAGE PROTOCOLVERSION`, e.g. `"1.0"`.
    pub protocol_version: String,
    /// The operation.
    pub call: Call,
}

impl Request {
    /// An intrinsic operation request with protocol version 1.0.
    pub fn intrinsic(
        message_id: &str,
        namespace: &str,
        name: &str,
        params: Vec<(String, ParamValue)>,
    ) -> Request {
        Request {
            message_id: message_id.to_owned(),
            protocol_version: PROTOCOL_VERSION.to_owned(),
            call: Call::Intrinsic {
                namespace: namespace.trim_matches('/').to_owned(),
                name: name.to_owned(),
                params,
            },
        }
    }

    /// An extrinsic method call on an instance (or, if `target` has no
    /// keys, on a class) with protocol version 1.0.
    ///
    /// ```
    /// use cim::xml::Request;
    /// use cim::{CimValue, ObjectPath};
    ///
    /// let target = ObjectPath::new(Some("root/cimv2"), "CIMJOB_ConcreteJob").with_key("InstanceID", "CIMJOB:1".into());
    /// let r = Request::extrinsic("7", target, "RequestStateChange",
    ///     vec![("RequestedState".into(), CimValue::UInt16(4).into())]);
    /// assert_eq!(r.call.namespace(), "root/cimv2");
    /// ```
    pub fn extrinsic(
        message_id: &str,
        target: ObjectPath,
        method: &str,
        params: Vec<(String, ParamValue)>,
    ) -> Request {
        Request {
            message_id: message_id.to_owned(),
            protocol_version: PROTOCOL_VERSION.to_owned(),
            call: Call::Extrinsic {
                target_is_class: target.keys.is_empty(),
                target,
                method: method.to_owned(),
                params,
            },
        }
    }

    /// The error response to this request: same message ID, same
    /// operation or method name.
    ///
    /// ```
    /// use cim::xml::{CimError, Request};
    /// use cim::CimStatusCode;
    ///
    /// let r = Request::intrinsic("9", "root/cimv2", "DeleteClass", vec![]);
    /// let resp = r.error_response(CimError::new(CimStatusCode::NotSupported, "classes are fixed"));
    /// assert_eq!(resp.message_id, "9");
    /// ```
    pub fn error_response(&self, error: CimError) -> Response {
        let name = self.call.name().to_owned();
        Response {
            message_id: self.message_id.clone(),
            protocol_version: self.protocol_version.clone(),
            reply: if self.call.is_intrinsic() {
                Reply::Intrinsic {
                    name,
                    result: Err(error),
                }
            } else {
                Reply::Extrinsic {
                    name,
                    result: Err(error),
                }
            },
        }
    }
}

/// A CIM error (`<ERROR CODE DESCRIPTION>`), optionally with embedded
/// CIM_Error instances.
///
/// `code` is kept as a number so that codes this crate does not know
/// still read; [`CimError::status`] names the known ones.
///
/// ```
/// use cim::xml::{CimError, Instance};
/// use cim::CimStatusCode;
///
/// let e = CimError::new(CimStatusCode::NotFound, "no job CIMJOB:9")
///     .with_instance(Instance::new("CIM_Error"));
/// assert_eq!(e.status(), Some(CimStatusCode::NotFound));
/// assert_eq!(e.to_string(), "CIM_ERR_NOT_FOUND (6): no job CIMJOB:9");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CimError {
    /// `CODE`: the CIM status code.
    pub code: u32,
    /// `DESCRIPTION`, if any.
    pub description: Option<String>,
    /// Embedded CIM_Error instances.
    pub instances: Vec<Instance>,
}

impl CimError {
    /// An error with a status and description, without instances.
    pub fn new(status: CimStatusCode, description: impl Into<String>) -> CimError {
        CimError {
            code: status.code().into(),
            description: Some(description.into()),
            instances: Vec::new(),
        }
    }

    /// Returns the error with a CIM_Error instance appended.
    pub fn with_instance(mut self, instance: Instance) -> CimError {
        self.instances.push(instance);
        self
    }

    /// The status code, if it is one this crate knows.
    pub fn status(&self) -> Option<CimStatusCode> {
        u16::try_from(self.code)
            .ok()
            .and_then(CimStatusCode::from_code)
    }
}

impl fmt::Display for CimError {
    /// `NAME (code): description`, or `CIM error code N` for unknown codes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status() {
            Some(s) => write!(f, "{s}")?,
            None => write!(f, "CIM error code {}", self.code)?,
        }
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CimError {}

/// What an `IRETURNVALUE` holds. Each variant is one of the element lists
/// DSP0201 allows; the comment names the operations that answer with it.
///
/// An empty `IRETURNVALUE` reads as the empty list of the kind the named
/// operation answers with (see [`IReturnValue::empty_for`]).
#[derive(Clone, Debug, PartialEq)]
pub enum IReturnValue {
    /// `CLASSNAME*`: EnumerateClassNames.
    ClassNames(Vec<String>),
    /// `INSTANCENAME*`: EnumerateInstanceNames; CreateInstance (one).
    InstanceNames(Vec<ObjectPath>),
    /// `VALUE?` / `VALUE.ARRAY?` / `VALUE.REFERENCE?`: GetProperty,
    /// EnumerationCount. Only the value forms of [`ParamValue`] belong
    /// here (`Null`, `Value`, `Text`, `TextArray`, and `InstanceName`,
    /// written as a reference); the writer writes nothing for the others.
    Value(ParamValue),
    /// `VALUE.OBJECTWITHPATH*`: Associators, References, ExecQuery.
    ObjectsWithPath(Vec<ObjectWithPath>),
    /// `VALUE.OBJECTWITHLOCALPATH*`.
    ObjectsWithLocalPath(Vec<ObjectWithPath>),
    /// `VALUE.OBJECT*`.
    Objects(Vec<Object>),
    /// `OBJECTPATH*`: AssociatorNames, ReferenceNames.
    ObjectPaths(Vec<ObjectName>),
    /// `QUALIFIER.DECLARATION*`: GetQualifier (one), EnumerateQualifiers.
    QualifierDeclarations(Vec<QualifierDeclaration>),
    /// `CLASS*`: GetClass (one), EnumerateClasses.
    Classes(Vec<Class>),
    /// `INSTANCE*`: GetInstance (one), OpenQueryInstances, PullInstances.
    Instances(Vec<Instance>),
    /// `INSTANCEPATH*`: Open*InstancePaths, PullInstancePaths.
    InstancePaths(Vec<ObjectPath>),
    /// `VALUE.NAMEDINSTANCE*`: EnumerateInstances.
    NamedInstances(Vec<InstanceWithPath>),
    /// `VALUE.INSTANCEWITHPATH*`: OpenEnumerateInstances,
    /// OpenAssociatorInstances, OpenReferenceInstances,
    /// PullInstancesWithPath.
    InstancesWithPath(Vec<InstanceWithPath>),
}

impl IReturnValue {
    /// Whether the list (or value) is empty.
    pub fn is_empty(&self) -> bool {
        match self {
            IReturnValue::ClassNames(v) => v.is_empty(),
            IReturnValue::InstanceNames(v) | IReturnValue::InstancePaths(v) => v.is_empty(),
            IReturnValue::Value(v) => v.is_null(),
            IReturnValue::ObjectsWithPath(v) | IReturnValue::ObjectsWithLocalPath(v) => {
                v.is_empty()
            }
            IReturnValue::Objects(v) => v.is_empty(),
            IReturnValue::ObjectPaths(v) => v.is_empty(),
            IReturnValue::QualifierDeclarations(v) => v.is_empty(),
            IReturnValue::Classes(v) => v.is_empty(),
            IReturnValue::Instances(v) => v.is_empty(),
            IReturnValue::NamedInstances(v) | IReturnValue::InstancesWithPath(v) => v.is_empty(),
        }
    }
}

/// The successful outcome of an intrinsic operation.
#[derive(Clone, Debug, PartialEq)]
pub struct IntrinsicResult {
    /// The `IRETURNVALUE`; `None` when the response has none (operations
    /// that return nothing).
    pub value: Option<IReturnValue>,
    /// Output `PARAMVALUE`s: `EnumerationContext` and `EndOfSequence` for
    /// Open* and Pull* operations.
    pub params: Vec<(String, ParamValue)>,
}

impl IntrinsicResult {
    /// The output parameter named `name` (ASCII case ignored).
    pub fn param(&self, name: &str) -> Option<&ParamValue> {
        find_param(&self.params, name)
    }

    /// `EndOfSequence` of a pull response.
    pub fn end_of_sequence(&self) -> Option<bool> {
        self.param("EndOfSequence").and_then(ParamValue::as_bool)
    }

    /// `EnumerationContext` of a pull response.
    pub fn enumeration_context(&self) -> Option<&str> {
        self.param("EnumerationContext")
            .and_then(ParamValue::as_str)
    }
}

/// The successful outcome of an extrinsic method call.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtrinsicResult {
    /// The `RETURNVALUE` (usually a uint32 return code); `None` when the
    /// response has none.
    pub return_value: Option<ParamValue>,
    /// Output parameters, e.g. `Job` (a reference) or `Error` (an
    /// embedded CIM_Error).
    pub params: Vec<(String, ParamValue)>,
}

impl ExtrinsicResult {
    /// The output parameter named `name` (ASCII case ignored).
    pub fn param(&self, name: &str) -> Option<&ParamValue> {
        find_param(&self.params, name)
    }
}

/// The body of a response: which kind of call it answers, its name, and
/// the outcome.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `IMETHODRESPONSE`.
    Intrinsic {
        /// The operation name.
        name: String,
        /// The outcome.
        result: Result<IntrinsicResult, CimError>,
    },
    /// `METHODRESPONSE`.
    Extrinsic {
        /// The method name.
        name: String,
        /// The outcome.
        result: Result<ExtrinsicResult, CimError>,
    },
}

/// A CIM operation response: `<MESSAGE ID PROTOCOLVERSION><SIMPLERSP>`.
///
/// ```
/// use cim::xml::{IReturnValue, Instance, Response};
///
/// let r = Response::intrinsic("1001", "GetInstance", Some(IReturnValue::Instances(vec![Instance::new("CIM_Foo")])));
/// let p = Response::pull("1002", "OpenEnumerateInstances", IReturnValue::InstancesWithPath(vec![]), "ctx-1", true);
/// # let _ = (r, p);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// `MESSAGE ID`, the request's.
    pub message_id: String,
    /// `MESSAGE PROTOCOLVERSION`.
    pub protocol_version: String,
    /// The outcome.
    pub reply: Reply,
}

impl Response {
    /// A successful intrinsic response without output parameters.
    pub fn intrinsic(message_id: &str, name: &str, value: Option<IReturnValue>) -> Response {
        Response::new(
            message_id,
            Reply::Intrinsic {
                name: name.to_owned(),
                result: Ok(IntrinsicResult {
                    value,
                    params: Vec::new(),
                }),
            },
        )
    }

    /// A successful Open* or Pull* response: the objects, then the
    /// `EnumerationContext` (string) and `EndOfSequence` (boolean) output
    /// parameters. Both are always written, because pywbem requires both.
    pub fn pull(
        message_id: &str,
        name: &str,
        value: IReturnValue,
        enumeration_context: &str,
        end_of_sequence: bool,
    ) -> Response {
        Response::new(
            message_id,
            Reply::Intrinsic {
                name: name.to_owned(),
                result: Ok(IntrinsicResult {
                    value: Some(value),
                    params: vec![
                        (
                            "EnumerationContext".to_owned(),
                            ParamValue::Value(enumeration_context.into()),
                        ),
                        (
                            "EndOfSequence".to_owned(),
                            ParamValue::Value(end_of_sequence.into()),
                        ),
                    ],
                }),
            },
        )
    }

    /// The response with these output parameters added to a successful answer (an
    /// OpenQueryInstances' `QueryResultClass` beside the pull parameters); a refusal stays
    /// as it is.
    pub fn with_params(mut self, more: Vec<(String, ParamValue)>) -> Response {
        match &mut self.reply {
            Reply::Intrinsic {
                result: Ok(result), ..
            } => result.params.extend(more),
            Reply::Extrinsic {
                result: Ok(result), ..
            } => result.params.extend(more),
            _ => {}
        }
        self
    }

    /// A successful extrinsic response: the return value (typically a
    /// uint32 code) and output parameters.
    pub fn extrinsic(
        message_id: &str,
        method: &str,
        return_value: impl Into<CimValue>,
        params: Vec<(String, ParamValue)>,
    ) -> Response {
        Response::new(
            message_id,
            Reply::Extrinsic {
                name: method.to_owned(),
                result: Ok(ExtrinsicResult {
                    return_value: Some(ParamValue::Value(return_value.into())),
                    params,
                }),
            },
        )
    }

    /// An intrinsic error response.
    pub fn intrinsic_error(message_id: &str, name: &str, error: CimError) -> Response {
        Response::new(
            message_id,
            Reply::Intrinsic {
                name: name.to_owned(),
                result: Err(error),
            },
        )
    }

    /// An extrinsic error response.
    pub fn extrinsic_error(message_id: &str, method: &str, error: CimError) -> Response {
        Response::new(
            message_id,
            Reply::Extrinsic {
                name: method.to_owned(),
                result: Err(error),
            },
        )
    }

    fn new(message_id: &str, reply: Reply) -> Response {
        Response {
            message_id: message_id.to_owned(),
            protocol_version: PROTOCOL_VERSION.to_owned(),
            reply,
        }
    }

    /// The error, if the response is one.
    pub fn error(&self) -> Option<&CimError> {
        match &self.reply {
            Reply::Intrinsic { result: Err(e), .. } | Reply::Extrinsic { result: Err(e), .. } => {
                Some(e)
            }
            _ => None,
        }
    }
}

/// An export request (`SIMPLEEXPREQ` / `EXPMETHODCALL`): how a WBEM server
/// delivers an indication to a listener.
///
/// ```
/// use cim::xml::{ExportRequest, Instance};
///
/// let r = ExportRequest::export_indication("42", Instance::new("CIM_InstModification"));
/// assert_eq!(r.method, "ExportIndication");
/// assert_eq!(r.indication().unwrap().class_name, "CIM_InstModification");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ExportRequest {
    /// `MESSAGE ID`.
    pub message_id: String,
    /// `MESSAGE PROTOCOLVERSION`.
    pub protocol_version: String,
    /// `EXPMETHODCALL NAME`, normally `"ExportIndication"`.
    pub method: String,
    /// The `EXPPARAMVALUE`s.
    pub params: Vec<(String, ParamValue)>,
}

impl ExportRequest {
    /// An `ExportIndication` request carrying `indication` as `NewIndication`.
    pub fn export_indication(message_id: &str, indication: Instance) -> ExportRequest {
        ExportRequest {
            message_id: message_id.to_owned(),
            protocol_version: PROTOCOL_VERSION.to_owned(),
            method: "ExportIndication".to_owned(),
            params: vec![(
                "NewIndication".to_owned(),
                ParamValue::Instance(Box::new(indication)),
            )],
        }
    }

    /// The `NewIndication` instance, if present.
    pub fn indication(&self) -> Option<&Instance> {
        find_param(&self.params, "NewIndication").and_then(ParamValue::as_instance)
    }

    /// The success response to this request.
    pub fn ok_response(&self) -> ExportResponse {
        ExportResponse {
            message_id: self.message_id.clone(),
            protocol_version: self.protocol_version.clone(),
            method: self.method.clone(),
            result: Ok(()),
        }
    }
}

/// An export response (`SIMPLEEXPRSP` / `EXPMETHODRESPONSE`): an empty
/// `IRETURNVALUE` on success, or an `ERROR`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportResponse {
    /// `MESSAGE ID`, the request's.
    pub message_id: String,
    /// `MESSAGE PROTOCOLVERSION`.
    pub protocol_version: String,
    /// `EXPMETHODRESPONSE NAME`.
    pub method: String,
    /// Success, or the error.
    pub result: Result<(), CimError>,
}

/// Any CIM-XML message, for a reader that does not know in advance what
/// it will get (see [`read_message`](crate::xml::read_message)).
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// `SIMPLEREQ`.
    Request(Request),
    /// `SIMPLERSP`.
    Response(Response),
    /// `SIMPLEEXPREQ`.
    ExportRequest(ExportRequest),
    /// `SIMPLEEXPRSP`.
    ExportResponse(ExportResponse),
}
