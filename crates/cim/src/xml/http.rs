//! The DSP0200 HTTP header rules for CIM-XML, as pure functions: no HTTP
//! library, headers in as `(name, value)` pairs, decisions out.
//!
//! A server reads the CIM headers with [`read_operation_headers`], reads
//! the body, then checks that the two agree with [`check_request`]. Each
//! refusal is a [`HeaderError`] that says which HTTP status and which
//! `CIMError` header value to answer with. The reverse direction (a client
//! or an indication sender) builds its headers with [`request_headers`]
//! and [`export_request_headers`].
//!
//! ```
//! use cim::xml::{check_request, read_operation_headers, read_request, Limits};
//!
//! let headers = [
//!     ("Content-Type", "application/xml; charset=\"utf-8\""),
//!     ("CIMOperation", "MethodCall"),
//!     ("CIMMethod", "EnumerateInstanceNames"),
//!     ("CIMObject", "root%2Fcimv2"),
//! ];
//! let h = read_operation_headers("POST", headers)?;
//! assert_eq!(h.protocol_version, "1.0");
//! let body = br#"<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>
//!   <IMETHODCALL NAME="EnumerateInstanceNames"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH>
//!   <IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_Job"/></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"#;
//! let request = read_request(body, &Limits::DEFAULT).unwrap();
//! check_request(&h, &request)?;
//! # Ok::<(), cim::xml::HeaderError>(())
//! ```

use std::fmt;

use crate::path::{KeyValue, ObjectPath};
use crate::xml::error::{XmlError, XmlErrorKind};
use crate::xml::message::{Call, ExportRequest, Request};

/// The `Content-Type` this crate writes on CIM-XML messages.
pub const CONTENT_TYPE: &str = "application/xml; charset=\"utf-8\"";

/// The extension URI an `M-POST` names in its `Man` header.
pub const CIM_MAPPING_URI: &str = "http://www.dmtf.org/cim/mapping/http/v1.0";

/// The values of the `CIMError` HTTP header (DSP0200), sent with an HTTP
/// error status when a request cannot be processed at all.
///
/// ```
/// use cim::xml::CimErrorHeader;
///
/// assert_eq!(CimErrorHeader::HeaderMismatch.as_str(), "header-mismatch");
/// assert_eq!(CimErrorHeader::from_header_value("request-not-valid"), Some(CimErrorHeader::RequestNotValid));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CimErrorHeader {
    /// `unsupported-protocol-version`: a `CIMProtocolVersion` or
    /// `PROTOCOLVERSION` other than 1.x.
    UnsupportedProtocolVersion,
    /// `multiple-requests-unsupported`: `CIMBatch` or `MULTIREQ`.
    MultipleRequestsUnsupported,
    /// `unsupported-cim-version`: `CIMVERSION` other than 2.x.
    UnsupportedCimVersion,
    /// `unsupported-dtd-version`: `DTDVERSION` other than 2.x.
    UnsupportedDtdVersion,
    /// `request-not-valid`: well-formed XML that is not valid CIM-XML.
    RequestNotValid,
    /// `request-not-well-formed`: not well-formed XML.
    RequestNotWellFormed,
    /// `header-mismatch`: a CIM header is missing, malformed, or
    /// disagrees with the body.
    HeaderMismatch,
    /// `unsupported-operation`: an operation or export method the server
    /// does not support.
    UnsupportedOperation,
}

impl CimErrorHeader {
    /// Every value.
    pub const ALL: [CimErrorHeader; 8] = [
        CimErrorHeader::UnsupportedProtocolVersion,
        CimErrorHeader::MultipleRequestsUnsupported,
        CimErrorHeader::UnsupportedCimVersion,
        CimErrorHeader::UnsupportedDtdVersion,
        CimErrorHeader::RequestNotValid,
        CimErrorHeader::RequestNotWellFormed,
        CimErrorHeader::HeaderMismatch,
        CimErrorHeader::UnsupportedOperation,
    ];

    /// The header value, e.g. `"request-not-valid"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CimErrorHeader::UnsupportedProtocolVersion => "unsupported-protocol-version",
            CimErrorHeader::MultipleRequestsUnsupported => "multiple-requests-unsupported",
            CimErrorHeader::UnsupportedCimVersion => "unsupported-cim-version",
            CimErrorHeader::UnsupportedDtdVersion => "unsupported-dtd-version",
            CimErrorHeader::RequestNotValid => "request-not-valid",
            CimErrorHeader::RequestNotWellFormed => "request-not-well-formed",
            CimErrorHeader::HeaderMismatch => "header-mismatch",
            CimErrorHeader::UnsupportedOperation => "unsupported-operation",
        }
    }

    /// The value named by a header (ASCII case and surrounding whitespace
    /// ignored), for clients reading an error.
    pub fn from_header_value(s: &str) -> Option<CimErrorHeader> {
        CimErrorHeader::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for CimErrorHeader {
    /// Writes [`CimErrorHeader::as_str`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with the CIM headers of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderErrorKind {
    /// A required header is absent (`CIMOperation`, `CIMMethod`,
    /// `CIMObject`, `CIMExport`, `CIMExportMethod`, or the `Man` header of
    /// an `M-POST`).
    Missing,
    /// A header has a value that is not allowed or cannot be decoded
    /// (e.g. `CIMOperation: MethodResponse`, a bad `%` escape).
    Invalid,
    /// `CIMMethod` (or `CIMExportMethod`) differs from the body's method name.
    MethodMismatch,
    /// `CIMObject` differs from the body's namespace or target path.
    ObjectMismatch,
    /// `CIMProtocolVersion` other than 1.x.
    UnsupportedProtocolVersion,
    /// `CIMBatch` / `CIMExportBatch`: batched requests.
    MultipleRequests,
    /// An operation or export method that is not supported.
    UnsupportedOperation,
}

/// A request refused for its HTTP headers: what is wrong, and how to
/// answer (status and `CIMError` header).
///
/// ```
/// use cim::xml::{read_operation_headers, HeaderErrorKind};
///
/// let err = read_operation_headers("POST", [("CIMOperation", "MethodCall"), ("CIMMethod", "GetClass"),
///     ("CIMObject", "root/cimv2"), ("CIMProtocolVersion", "2.0")]).unwrap_err();
/// assert_eq!(err.kind(), HeaderErrorKind::UnsupportedProtocolVersion);
/// assert_eq!((err.http_status(), err.cim_error_header().as_str()), (501, "unsupported-protocol-version"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderError {
    kind: HeaderErrorKind,
    message: String,
}

impl HeaderError {
    /// A new error.
    pub fn new(kind: HeaderErrorKind, message: impl Into<String>) -> HeaderError {
        HeaderError {
            kind,
            message: message.into(),
        }
    }

    /// The answer for an intrinsic operation or export method the server
    /// does not implement: 501 with `CIMError: unsupported-operation`.
    ///
    /// ```
    /// let e = cim::xml::HeaderError::unsupported_operation("ExecQuery");
    /// assert_eq!((e.http_status(), e.cim_error_header().as_str()), (501, "unsupported-operation"));
    /// ```
    pub fn unsupported_operation(name: &str) -> HeaderError {
        HeaderError::new(
            HeaderErrorKind::UnsupportedOperation,
            format!("operation {name} is not supported"),
        )
    }

    /// What is wrong.
    pub fn kind(&self) -> HeaderErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status to answer with: 501 for unsupported versions,
    /// batches and operations, 400 otherwise.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            HeaderErrorKind::UnsupportedProtocolVersion
            | HeaderErrorKind::MultipleRequests
            | HeaderErrorKind::UnsupportedOperation => 501,
            _ => 400,
        }
    }

    /// The `CIMError` header value to answer with.
    pub fn cim_error_header(&self) -> CimErrorHeader {
        match self.kind {
            HeaderErrorKind::UnsupportedProtocolVersion => {
                CimErrorHeader::UnsupportedProtocolVersion
            }
            HeaderErrorKind::MultipleRequests => CimErrorHeader::MultipleRequestsUnsupported,
            HeaderErrorKind::UnsupportedOperation => CimErrorHeader::UnsupportedOperation,
            _ => CimErrorHeader::HeaderMismatch,
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HeaderError {}

/// The CIM headers of an operation request, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationHeaders {
    /// `CIMMethod`, URI-unescaped.
    pub method: String,
    /// `CIMObject`, URI-unescaped: a namespace, or an object path without
    /// host (`root/cimv2:CIM_Foo.Name="x"`).
    pub object: String,
    /// `CIMProtocolVersion`, `"1.0"` when absent.
    pub protocol_version: String,
    /// The `NN-` prefix of an `M-POST`'s CIM headers, if any.
    pub prefix: Option<String>,
}

/// The CIM headers of an export request, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportHeaders {
    /// `CIMExportMethod`, URI-unescaped (normally `ExportIndication`).
    pub method: String,
    /// `CIMProtocolVersion`, `"1.0"` when absent.
    pub protocol_version: String,
    /// The `NN-` prefix of an `M-POST`'s CIM headers, if any.
    pub prefix: Option<String>,
}

/// The headers, with the CIM headers found under their `M-POST` prefix.
struct Headers<'h> {
    all: Vec<(&'h str, &'h str)>,
    prefix: Option<String>,
}

impl<'h> Headers<'h> {
    fn new(
        http_method: &str,
        headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    ) -> Result<Headers<'h>, HeaderError> {
        let all: Vec<_> = headers.into_iter().collect();
        let prefix = if http_method.trim().eq_ignore_ascii_case("M-POST") {
            Some(man_prefix(&all)?)
        } else {
            None
        };
        Ok(Headers { all, prefix })
    }

    fn raw(&self, name: &str) -> Option<&'h str> {
        self.all
            .iter()
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// A CIM header: under the `M-POST` prefix if there is one (falling
    /// back to the plain name), else plain.
    fn cim(&self, name: &str) -> Option<&'h str> {
        if let Some(p) = &self.prefix {
            if let Some(v) = self.raw(&format!("{p}{name}")) {
                return Some(v);
            }
        }
        self.raw(name)
    }

    fn required(&self, name: &str) -> Result<&'h str, HeaderError> {
        self.cim(name).ok_or_else(|| {
            HeaderError::new(
                HeaderErrorKind::Missing,
                format!("the {name} header is missing"),
            )
        })
    }

    /// Checks the headers that make this one message of the expected kind:
    /// no `batch` header (we take one request per message) and `kind`
    /// saying `expected`. `what` names the message kind in the errors.
    fn single_message(
        &self,
        batch: &str,
        kind: &str,
        expected: &str,
        what: &str,
    ) -> Result<(), HeaderError> {
        if self.cim(batch).is_some() {
            return Err(HeaderError::new(
                HeaderErrorKind::MultipleRequests,
                format!("{batch}: multiple {what}s in one message are not supported"),
            ));
        }
        let value = self.required(kind)?;
        if !value.eq_ignore_ascii_case(expected) {
            return Err(HeaderError::new(
                HeaderErrorKind::Invalid,
                format!("{kind} is {value:?}; a {what} message must say {expected}"),
            ));
        }
        Ok(())
    }

    fn protocol_version(&self) -> Result<String, HeaderError> {
        let v = self.cim("CIMProtocolVersion").unwrap_or("1.0");
        let mut parts = v.split('.');
        let ok = parts.next() == Some("1")
            && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(HeaderError::new(
                HeaderErrorKind::UnsupportedProtocolVersion,
                format!("CIMProtocolVersion {v:?} is not supported (1.x is)"),
            ));
        }
        Ok(v.to_owned())
    }
}

/// The `NN-` prefix declared by an `M-POST`'s `Man` header for the CIM
/// mapping extension.
fn man_prefix(all: &[(&str, &str)]) -> Result<String, HeaderError> {
    for (_, value) in all
        .iter()
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case("Man"))
    {
        for decl in value.split(',') {
            let mut parts = decl.split(';');
            let uri = parts.next().unwrap_or("").trim().trim_matches('"');
            if !uri.eq_ignore_ascii_case(CIM_MAPPING_URI) {
                continue;
            }
            for param in parts {
                if let Some((k, v)) = param.split_once('=') {
                    let v = v.trim().trim_matches('"');
                    if k.trim().eq_ignore_ascii_case("ns")
                        && !v.is_empty()
                        && v.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Ok(format!("{v}-"));
                    }
                }
            }
            return Err(HeaderError::new(
                HeaderErrorKind::Invalid,
                format!("the Man header {value:?} declares the CIM mapping without ns=NN"),
            ));
        }
    }
    Err(HeaderError::new(
        HeaderErrorKind::Missing,
        format!("an M-POST needs a Man header naming {CIM_MAPPING_URI}; ns=NN"),
    ))
}

/// Reads and checks the CIM headers of an operation request (`POST` or
/// `M-POST`; any other method is read as `POST`).
///
/// Rules: `CIMBatch` is refused (501 `multiple-requests-unsupported`);
/// `CIMOperation` must be `MethodCall`; `CIMMethod` and `CIMObject` must
/// be present and are URI-unescaped; `CIMProtocolVersion` defaults to
/// 1.0 and must be 1.x (501 `unsupported-protocol-version`). An `M-POST`
/// must declare the CIM mapping in `Man` with `ns=NN`; its CIM headers are
/// then read as `NN-CIMOperation` and so on.
///
/// ```
/// use cim::xml::read_operation_headers;
///
/// let h = read_operation_headers("M-POST", [
///     ("Man", "http://www.dmtf.org/cim/mapping/http/v1.0; ns=73"),
///     ("73-CIMOperation", "MethodCall"),
///     ("73-CIMMethod", "GetInstance"),
///     ("73-CIMObject", "root%2Fcimv2"),
/// ])?;
/// assert_eq!((h.method.as_str(), h.object.as_str(), h.prefix.as_deref()), ("GetInstance", "root/cimv2", Some("73-")));
/// # Ok::<(), cim::xml::HeaderError>(())
/// ```
pub fn read_operation_headers<'h>(
    http_method: &str,
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
) -> Result<OperationHeaders, HeaderError> {
    let h = Headers::new(http_method, headers)?;
    h.single_message("CIMBatch", "CIMOperation", "MethodCall", "request")?;
    let protocol_version = h.protocol_version()?;
    let method = uri_unescape(h.required("CIMMethod")?)?;
    let object = uri_unescape(h.required("CIMObject")?)?;
    Ok(OperationHeaders {
        method,
        object,
        protocol_version,
        prefix: h.prefix,
    })
}

/// Checks that the headers agree with the body: `CIMMethod` names the
/// body's operation or method, and `CIMObject` names its namespace
/// (intrinsic) or target path (extrinsic). Names, namespaces and key
/// names compare ignoring ASCII case; keys compare as a set.
///
/// ```
/// use cim::xml::{check_request, HeaderErrorKind, OperationHeaders, Request};
///
/// let h = OperationHeaders { method: "GetInstance".into(), object: "root/interop".into(),
///     protocol_version: "1.0".into(), prefix: None };
/// let r = Request::intrinsic("1", "root/cimv2", "GetInstance", vec![]);
/// assert_eq!(check_request(&h, &r).unwrap_err().kind(), HeaderErrorKind::ObjectMismatch);
/// ```
pub fn check_request(headers: &OperationHeaders, request: &Request) -> Result<(), HeaderError> {
    let body_method = request.call.name();
    if !headers.method.trim().eq_ignore_ascii_case(body_method) {
        return Err(HeaderError::new(
            HeaderErrorKind::MethodMismatch,
            format!(
                "CIMMethod {:?} does not match the method {body_method:?} in the body",
                headers.method
            ),
        ));
    }
    let mismatch = |body: String| {
        HeaderError::new(
            HeaderErrorKind::ObjectMismatch,
            format!(
                "CIMObject {:?} does not match {body} in the body",
                headers.object
            ),
        )
    };
    match &request.call {
        Call::Intrinsic { namespace, .. } => {
            if !same_namespace(Some(&headers.object), Some(namespace)) {
                return Err(mismatch(format!("namespace {namespace:?}")));
            }
        }
        Call::Extrinsic { target, .. } => {
            let shown = || format!("target {}", object_header(target));
            let parsed = ObjectPath::parse(headers.object.trim()).map_err(|_| mismatch(shown()))?;
            if !same_path(&parsed, target) {
                return Err(mismatch(shown()));
            }
        }
    }
    Ok(())
}

fn same_namespace(a: Option<&str>, b: Option<&str>) -> bool {
    let norm = |ns: Option<&str>| {
        ns.unwrap_or("")
            .trim()
            .trim_matches('/')
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// Paths name the same object: namespace, class and keys (as a set),
/// ignoring host and ASCII case of names.
fn same_path(a: &ObjectPath, b: &ObjectPath) -> bool {
    same_namespace(a.namespace.as_deref(), b.namespace.as_deref())
        && a.class_name.eq_ignore_ascii_case(&b.class_name)
        && a.keys.len() == b.keys.len()
        && a.keys
            .iter()
            .all(|(name, v)| b.key(name).is_some_and(|w| same_key(v, w)))
}

fn same_key(a: &KeyValue, b: &KeyValue) -> bool {
    match (a, b) {
        (KeyValue::Reference(x), KeyValue::Reference(y)) => same_path(x, y),
        (KeyValue::Reference(p), KeyValue::String(s))
        | (KeyValue::String(s), KeyValue::Reference(p)) => {
            ObjectPath::parse(s).is_ok_and(|q| same_path(p, &q))
        }
        (KeyValue::String(s), KeyValue::Integer(i))
        | (KeyValue::Integer(i), KeyValue::String(s)) => s.trim() == i.to_string(),
        (x, y) => x == y,
    }
}

/// Reads and checks the CIM headers of an export request: `CIMExport`
/// must be `MethodRequest`, `CIMExportBatch` is refused,
/// `CIMExportMethod` is required, `CIMProtocolVersion` as for operations.
///
/// ```
/// use cim::xml::read_export_headers;
///
/// let h = read_export_headers("POST", [("CIMExport", "MethodRequest"), ("CIMExportMethod", "ExportIndication")])?;
/// assert_eq!(h.method, "ExportIndication");
/// # Ok::<(), cim::xml::HeaderError>(())
/// ```
pub fn read_export_headers<'h>(
    http_method: &str,
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
) -> Result<ExportHeaders, HeaderError> {
    let h = Headers::new(http_method, headers)?;
    h.single_message(
        "CIMExportBatch",
        "CIMExport",
        "MethodRequest",
        "export request",
    )?;
    let protocol_version = h.protocol_version()?;
    let method = uri_unescape(h.required("CIMExportMethod")?)?;
    Ok(ExportHeaders {
        method,
        protocol_version,
        prefix: h.prefix,
    })
}

/// Checks an export request against its headers: `CIMExportMethod` must
/// name the body's method, and the method must be `ExportIndication`, the
/// only export method DSP0200 defines (else 501 `unsupported-operation`).
pub fn check_export_request(
    headers: &ExportHeaders,
    request: &ExportRequest,
) -> Result<(), HeaderError> {
    if !headers.method.trim().eq_ignore_ascii_case(&request.method) {
        return Err(HeaderError::new(
            HeaderErrorKind::MethodMismatch,
            format!(
                "CIMExportMethod {:?} does not match the method {:?} in the body",
                headers.method, request.method
            ),
        ));
    }
    if !request.method.eq_ignore_ascii_case("ExportIndication") {
        return Err(HeaderError::unsupported_operation(&request.method));
    }
    Ok(())
}

/// The `CIMObject` text of a path: `namespace:Class.Key="v"`, no host.
fn object_header(path: &ObjectPath) -> String {
    let local = ObjectPath {
        host: None,
        ..path.clone()
    };
    let s = local.to_string();
    s.strip_prefix('/').map(str::to_owned).unwrap_or(s)
}

/// The headers a client sends with a request: `Content-Type`,
/// `CIMOperation`, `CIMMethod`, `CIMObject` (URI-escaped) and
/// `CIMProtocolVersion`.
///
/// ```
/// use cim::xml::{request_headers, Request};
///
/// let h = request_headers(&Request::intrinsic("1", "root/cimv2", "GetClass", vec![]));
/// assert!(h.contains(&("CIMObject", "root%2Fcimv2".to_owned())));
/// ```
pub fn request_headers(request: &Request) -> Vec<(&'static str, String)> {
    let object = match &request.call {
        Call::Intrinsic { namespace, .. } => namespace.clone(),
        Call::Extrinsic { target, .. } => object_header(target),
    };
    vec![
        ("Content-Type", CONTENT_TYPE.to_owned()),
        ("CIMOperation", "MethodCall".to_owned()),
        ("CIMMethod", uri_escape(request.call.name())),
        ("CIMObject", uri_escape(&object)),
        ("CIMProtocolVersion", request.protocol_version.clone()),
    ]
}

/// The headers a server sends with a CIM-XML response.
pub fn response_headers() -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", CONTENT_TYPE.to_owned()),
        ("CIMOperation", "MethodResponse".to_owned()),
    ]
}

/// The headers a server sends with an export request (indication
/// delivery).
pub fn export_request_headers(request: &ExportRequest) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", CONTENT_TYPE.to_owned()),
        ("CIMExport", "MethodRequest".to_owned()),
        ("CIMExportMethod", uri_escape(&request.method)),
        ("CIMProtocolVersion", request.protocol_version.clone()),
    ]
}

/// The headers a listener sends with an export response.
pub fn export_response_headers() -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", CONTENT_TYPE.to_owned()),
        ("CIMExport", "MethodResponse".to_owned()),
    ]
}

/// Whether a `Content-Type` is one CIM-XML accepts: `application/xml`
/// or `text/xml`, with no charset or a UTF-8 one.
///
/// ```
/// use cim::xml::is_cim_xml_content_type;
///
/// assert!(is_cim_xml_content_type("text/xml; charset=\"utf-8\""));
/// assert!(!is_cim_xml_content_type("application/json"));
/// assert!(!is_cim_xml_content_type("application/xml; charset=latin1"));
/// ```
pub fn is_cim_xml_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/xml") && !media.eq_ignore_ascii_case("text/xml") {
        return false;
    }
    parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            let v = v.trim().trim_matches('"');
            v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    })
}

/// URI-escapes a header value (DSP0200 `CIMMethod`, `CIMObject`): every
/// byte of the UTF-8 form other than letters, digits, `-`, `_`, `.` and
/// `~` becomes `%XX`.
///
/// ```
/// assert_eq!(cim::xml::uri_escape("root/cimv2:CIM_Foo.Name=\"x y\""),
///     "root%2Fcimv2%3ACIM_Foo.Name%3D%22x%20y%22");
/// ```
pub fn uri_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes URI escaping: `%XX` becomes that byte, and the result must be
/// UTF-8. Everything else (including `+`) is kept as is.
///
/// ```
/// use cim::xml::{uri_unescape, HeaderErrorKind};
///
/// assert_eq!(uri_unescape("root%2fcimv2")?, "root/cimv2");
/// assert_eq!(uri_unescape("bad%2").unwrap_err().kind(), HeaderErrorKind::Invalid);
/// # Ok::<(), cim::xml::HeaderError>(())
/// ```
pub fn uri_unescape(s: &str) -> Result<String, HeaderError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    HeaderError::new(
                        HeaderErrorKind::Invalid,
                        format!("{s:?} has a '%' not followed by two hex digits"),
                    )
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        HeaderError::new(
            HeaderErrorKind::Invalid,
            format!("{s:?} does not unescape to UTF-8"),
        )
    })
}

/// The HTTP answer to a body the codec refused: HTTP's concern, so it is stated here and
/// the error itself knows nothing of headers.
impl XmlError {
    /// The HTTP status to answer a request with this problem: 501 for
    /// unsupported versions and batched requests, 413 for a body over
    /// the size limit, 400 otherwise.
    ///
    /// ```
    /// use cim::xml::{XmlError, XmlErrorKind};
    ///
    /// let e = XmlError::new(XmlErrorKind::UnsupportedDtdVersion, "DTDVERSION 3.0", None);
    /// assert_eq!((e.http_status(), e.cim_error_header().as_str()), (501, "unsupported-dtd-version"));
    /// ```
    pub fn http_status(&self) -> u16 {
        match self.kind() {
            XmlErrorKind::UnsupportedCimVersion
            | XmlErrorKind::UnsupportedDtdVersion
            | XmlErrorKind::UnsupportedProtocolVersion
            | XmlErrorKind::MultipleRequestsUnsupported => 501,
            XmlErrorKind::TooLarge => 413,
            _ => 400,
        }
    }

    /// The `CIMError` HTTP header value (DSP0200) for this problem:
    /// `request-not-well-formed` for XML-level problems (syntax, encoding,
    /// DTDs, entities), `request-not-valid` for CIM-XML that breaks the
    /// DTD or the value rules or exceeds a limit (as OpenPegasus answers),
    /// and the version and batch values for those.
    pub fn cim_error_header(&self) -> CimErrorHeader {
        match self.kind() {
            XmlErrorKind::Encoding
            | XmlErrorKind::Syntax
            | XmlErrorKind::Truncated
            | XmlErrorKind::Doctype
            | XmlErrorKind::Entity => CimErrorHeader::RequestNotWellFormed,
            XmlErrorKind::UnsupportedCimVersion => CimErrorHeader::UnsupportedCimVersion,
            XmlErrorKind::UnsupportedDtdVersion => CimErrorHeader::UnsupportedDtdVersion,
            XmlErrorKind::UnsupportedProtocolVersion => CimErrorHeader::UnsupportedProtocolVersion,
            XmlErrorKind::MultipleRequestsUnsupported => {
                CimErrorHeader::MultipleRequestsUnsupported
            }
            _ => CimErrorHeader::RequestNotValid,
        }
    }
}
