//! Why a CIM-XML body was refused ([`XmlError`], [`XmlErrorKind`]).

use std::fmt;

use crate::status::CimStatusCode;

/// What kind of problem a CIM-XML body has. Each kind maps to one HTTP
/// answer ([`XmlError::http_status`], [`XmlError::cim_error_header`], which
/// the HTTP rules of `xml::http` define).
///
/// ```
/// use cim::xml::{read_request, Limits, XmlErrorKind};
///
/// let err = read_request(b"<CIM", &Limits::DEFAULT).unwrap_err();
/// assert_eq!(err.kind(), XmlErrorKind::Truncated);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XmlErrorKind {
    /// The body is larger than [`Limits::max_body_bytes`](crate::xml::Limits).
    TooLarge,
    /// Elements nest deeper than `max_depth`.
    TooDeep,
    /// More elements than `max_elements`.
    TooManyElements,
    /// An attribute value longer than `max_attribute_len`.
    AttributeTooLong,
    /// An element with more attributes than `max_attributes`.
    TooManyAttributes,
    /// The body is not UTF-8, or declares another encoding.
    Encoding,
    /// Not well-formed XML: bad syntax, mismatched tags, duplicate
    /// attributes, content outside the root element.
    Syntax,
    /// The body ends before the document does.
    Truncated,
    /// A `<!DOCTYPE>`: DTDs (and so entity declarations) are refused.
    Doctype,
    /// An entity reference other than the five predefined ones and numeric
    /// character references.
    Entity,
    /// An element where it is not allowed, including the wrong root.
    UnexpectedElement,
    /// Non-whitespace text where only elements are allowed.
    UnexpectedText,
    /// A required child element is missing.
    MissingElement,
    /// A required attribute is missing.
    MissingAttribute,
    /// An attribute value that is not allowed (an unknown `TYPE`,
    /// `VALUETYPE`, `EmbeddedObject`, a boolean that is not true/false).
    InvalidAttribute,
    /// Text that does not parse as its type: a `VALUE` of a typed
    /// property or parameter, a `KEYVALUE`, an `ERROR CODE`.
    InvalidValue,
    /// A value of the wrong type for where it is used (see
    /// [`ParamValue::to_cim_value`](crate::xml::ParamValue::to_cim_value)).
    TypeMismatch,
    /// `CIMVERSION` other than 2.x.
    UnsupportedCimVersion,
    /// `DTDVERSION` other than 2.x.
    UnsupportedDtdVersion,
    /// `PROTOCOLVERSION` other than 1.x.
    UnsupportedProtocolVersion,
    /// `MULTIREQ` / `MULTIEXPREQ`: batched requests.
    MultipleRequestsUnsupported,
    /// Valid CIM-XML this codec does not represent: NULL array elements,
    /// an `INSTANCENAME` with an unnamed key, an embedded class.
    Unsupported,
}

/// Why a CIM-XML body could not be read: what kind of problem, a message
/// naming the element, attribute or value, and the byte offset in the body.
///
/// ```
/// use cim::xml::{read_request, Limits, XmlErrorKind};
///
/// let body = br#"<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE PROTOCOLVERSION="1.0"/></CIM>"#;
/// let err = read_request(body, &Limits::DEFAULT).unwrap_err();
/// assert_eq!(err.kind(), XmlErrorKind::MissingAttribute);
/// assert_eq!(err.http_status(), 400);
/// assert_eq!(err.cim_error_header().as_str(), "request-not-valid");
/// assert!(err.to_string().contains("MESSAGE"), "{err}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlError {
    kind: XmlErrorKind,
    message: String,
    position: Option<u64>,
}

impl XmlError {
    /// A new error; `position` is the byte offset in the body, if known.
    pub fn new(kind: XmlErrorKind, message: impl Into<String>, position: Option<u64>) -> XmlError {
        XmlError {
            kind,
            message: message.into(),
            position,
        }
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> XmlErrorKind {
        self.kind
    }

    /// The message, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte offset in the body near which the problem was found.
    pub fn position(&self) -> Option<u64> {
        self.position
    }

    /// The CIM status that fits when the problem is reported inside a
    /// CIM-XML answer instead (e.g. by an indication listener, or for a
    /// parameter a server coerces itself): `CIM_ERR_INVALID_PARAMETER`
    /// for bad values, `CIM_ERR_TYPE_MISMATCH`, `CIM_ERR_NOT_SUPPORTED`
    /// for unsupported features, `CIM_ERR_SERVER_LIMITS_EXCEEDED` for
    /// limits, `CIM_ERR_FAILED` otherwise.
    pub fn status_code(&self) -> CimStatusCode {
        match self.kind {
            XmlErrorKind::InvalidValue | XmlErrorKind::InvalidAttribute => {
                CimStatusCode::InvalidParameter
            }
            XmlErrorKind::TypeMismatch => CimStatusCode::TypeMismatch,
            XmlErrorKind::Unsupported
            | XmlErrorKind::UnsupportedCimVersion
            | XmlErrorKind::UnsupportedDtdVersion
            | XmlErrorKind::UnsupportedProtocolVersion
            | XmlErrorKind::MultipleRequestsUnsupported => CimStatusCode::NotSupported,
            XmlErrorKind::TooLarge
            | XmlErrorKind::TooDeep
            | XmlErrorKind::TooManyElements
            | XmlErrorKind::AttributeTooLong
            | XmlErrorKind::TooManyAttributes => CimStatusCode::ServerLimitsExceeded,
            _ => CimStatusCode::Failed,
        }
    }
}

impl fmt::Display for XmlError {
    /// The message, then ` (at byte N)` when the position is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(p) = self.position {
            write!(f, " (at byte {p})")?;
        }
        Ok(())
    }
}

impl std::error::Error for XmlError {}
