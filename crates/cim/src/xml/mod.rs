//! CIM-XML (DSP0201) for CIM operations over HTTP (DSP0200): the objects
//! that cross the wire, a bounded reader, an exact writer, and the HTTP
//! header rules.
//!
//! What is here, one concern per module:
//!
//! - [`model`]: [`Instance`], [`Property`] (with embedded instances as
//!   [`PropertyValue::Instance`]), [`Class`] (built from the static
//!   [`PropertyDecl`](crate::PropertyDecl) tables by [`Class::from_decls`]),
//!   [`Method`], [`Parameter`], [`QualifierValue`], [`QualifierDeclaration`].
//! - [`message`]: [`Request`] / [`Call`], [`Response`] / [`Reply`],
//!   [`ExportRequest`], [`ExportResponse`], and [`ParamValue`],
//!   [`IReturnValue`], [`CimError`].
//! - [`reader`]: [`read_request`], [`read_response`],
//!   [`read_export_request`], [`read_export_response`],
//!   [`read_message`], bounded by [`Limits`], refusing DTDs and entities.
//! - [`writer`]: [`write_request`], [`write_response`],
//!   [`write_export_request`], [`write_export_response`].
//! - [`http`]: [`read_operation_headers`] and [`check_request`] (the
//!   `CIMOperation`, `CIMMethod`, `CIMObject`, `CIMProtocolVersion` and
//!   `M-POST` rules), with the HTTP status and `CIMError` header of every
//!   refusal.
//!
//! What must stay true: no I/O and no HTTP library (bytes and header
//! pairs in, values and decisions out); everything written reads back
//! equal; every body is read within [`Limits`].
//!
//! A server's round trip, in short:
//!
//! ```
//! use cim::xml::*;
//! use cim::{CimStatusCode, CimValue, KeyValue, ObjectPath};
//!
//! let body = br#"<?xml version="1.0" encoding="utf-8" ?>
//! <CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>
//! <IMETHODCALL NAME="GetInstance"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH>
//! <IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="CIMJOB_ConcreteJob">
//! <KEYBINDING NAME="InstanceID"><KEYVALUE VALUETYPE="string">CIMJOB:1</KEYVALUE></KEYBINDING>
//! </INSTANCENAME></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"#;
//! let request = read_request(body, &Limits::DEFAULT)?;
//! let name = request.call.param("InstanceName").and_then(ParamValue::as_instance_name).unwrap();
//! assert_eq!(name.key("InstanceID"), Some(&KeyValue::from("CIMJOB:1")));
//!
//! let job = Instance::new("CIMJOB_ConcreteJob")
//!     .with_property(Property::new("InstanceID", "CIMJOB:1"))
//!     .with_property(Property::new("JobState", CimValue::UInt16(4)));
//! let response = Response::intrinsic(&request.message_id, "GetInstance",
//!     Some(IReturnValue::Instances(vec![job])));
//! let xml = write_response(&response);
//! assert_eq!(read_response(xml.as_bytes(), &Limits::DEFAULT)?, response);
//! # Ok::<(), cim::xml::XmlError>(())
//! ```

pub mod error;
pub mod http;
pub mod limits;
pub mod message;
pub mod model;
pub mod operations;
pub mod reader;
pub mod writer;

pub use error::{XmlError, XmlErrorKind};
pub use http::{
    check_export_request, check_request, export_request_headers, export_response_headers,
    is_cim_xml_content_type, read_export_headers, read_operation_headers, request_headers,
    response_headers, uri_escape, uri_unescape, CimErrorHeader, ExportHeaders, HeaderError,
    HeaderErrorKind, OperationHeaders, CIM_MAPPING_URI, CONTENT_TYPE,
};
pub use limits::Limits;
pub use message::{
    Call, CimError, ExportRequest, ExportResponse, ExtrinsicResult, IReturnValue, IntrinsicResult,
    Message, ParamValue, Reply, Request, Response, CIM_VERSION, DTD_VERSION, PROTOCOL_VERSION,
};
pub use model::{
    Class, EmbeddedKind, Flavors, Instance, InstanceWithPath, Method, Object, ObjectName,
    ObjectWithPath, Parameter, Property, PropertyValue, QualifierDeclaration, QualifierValue,
    Scopes,
};
pub use operations::{intrinsic_operation, INTRINSIC_OPERATIONS};
pub use reader::{
    read_class, read_export_request, read_export_response, read_instance, read_message,
    read_request, read_response,
};
pub use writer::{
    write_class, write_export_request, write_export_response, write_instance, write_message,
    write_request, write_response, EnumerationWriter,
};
