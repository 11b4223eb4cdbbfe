//! CIM status codes (DSP0200 `ERROR CODE`, CIM_Error.CIMStatusCode).
//!
//! Why here: every WBEM provider answers failed operations with one of these
//! numbers, and the checks in this crate know which one fits (a value of the
//! wrong type is `CIM_ERR_TYPE_MISMATCH`, a value out of range
//! `CIM_ERR_INVALID_PARAMETER`).

use std::fmt;

/// A CIM status code, 1..=29. Success (0) is not an error and has no variant.
///
/// ```
/// use cim::CimStatusCode;
///
/// let s = CimStatusCode::InvalidParameter;
/// assert_eq!(s.code(), 4);
/// assert_eq!(s.name(), "CIM_ERR_INVALID_PARAMETER");
/// assert_eq!(CimStatusCode::from_code(6), Some(CimStatusCode::NotFound));
/// assert_eq!(s.to_string(), "CIM_ERR_INVALID_PARAMETER (4)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum CimStatusCode {
    /// 1 `CIM_ERR_FAILED`: a general error not covered by another code.
    Failed = 1,
    /// 2 `CIM_ERR_ACCESS_DENIED`
    AccessDenied = 2,
    /// 3 `CIM_ERR_INVALID_NAMESPACE`
    InvalidNamespace = 3,
    /// 4 `CIM_ERR_INVALID_PARAMETER`: a parameter or property value is not valid.
    InvalidParameter = 4,
    /// 5 `CIM_ERR_INVALID_CLASS`
    InvalidClass = 5,
    /// 6 `CIM_ERR_NOT_FOUND`
    NotFound = 6,
    /// 7 `CIM_ERR_NOT_SUPPORTED`
    NotSupported = 7,
    /// 8 `CIM_ERR_CLASS_HAS_CHILDREN`
    ClassHasChildren = 8,
    /// 9 `CIM_ERR_CLASS_HAS_INSTANCES`
    ClassHasInstances = 9,
    /// 10 `CIM_ERR_INVALID_SUPERCLASS`
    InvalidSuperclass = 10,
    /// 11 `CIM_ERR_ALREADY_EXISTS`
    AlreadyExists = 11,
    /// 12 `CIM_ERR_NO_SUCH_PROPERTY`
    NoSuchProperty = 12,
    /// 13 `CIM_ERR_TYPE_MISMATCH`: a value is incompatible with its type.
    TypeMismatch = 13,
    /// 14 `CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED`
    QueryLanguageNotSupported = 14,
    /// 15 `CIM_ERR_INVALID_QUERY`
    InvalidQuery = 15,
    /// 16 `CIM_ERR_METHOD_NOT_AVAILABLE`
    MethodNotAvailable = 16,
    /// 17 `CIM_ERR_METHOD_NOT_FOUND`
    MethodNotFound = 17,
    /// 18 `CIM_ERR_UNEXPECTED_RESPONSE` (CIM_Error only; not in pywbem)
    UnexpectedResponse = 18,
    /// 19 `CIM_ERR_INVALID_RESPONSE_DESTINATION` (CIM_Error only; not in pywbem)
    InvalidResponseDestination = 19,
    /// 20 `CIM_ERR_NAMESPACE_NOT_EMPTY`
    NamespaceNotEmpty = 20,
    /// 21 `CIM_ERR_INVALID_ENUMERATION_CONTEXT`
    InvalidEnumerationContext = 21,
    /// 22 `CIM_ERR_INVALID_OPERATION_TIMEOUT`
    InvalidOperationTimeout = 22,
    /// 23 `CIM_ERR_PULL_HAS_BEEN_ABANDONED`
    PullHasBeenAbandoned = 23,
    /// 24 `CIM_ERR_PULL_CANNOT_BE_ABANDONED`
    PullCannotBeAbandoned = 24,
    /// 25 `CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED`
    FilteredEnumerationNotSupported = 25,
    /// 26 `CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED`
    ContinuationOnErrorNotSupported = 26,
    /// 27 `CIM_ERR_SERVER_LIMITS_EXCEEDED`
    ServerLimitsExceeded = 27,
    /// 28 `CIM_ERR_SERVER_IS_SHUTTING_DOWN`
    ServerIsShuttingDown = 28,
    /// 29 `CIM_ERR_QUERY_FEATURE_NOT_SUPPORTED` (CIM_Error only; not in pywbem)
    QueryFeatureNotSupported = 29,
}

impl CimStatusCode {
    /// Every status code, in numeric order.
    ///
    /// ```
    /// assert_eq!(cim::CimStatusCode::ALL.len(), 29);
    /// ```
    pub const ALL: [CimStatusCode; 29] = [
        CimStatusCode::Failed,
        CimStatusCode::AccessDenied,
        CimStatusCode::InvalidNamespace,
        CimStatusCode::InvalidParameter,
        CimStatusCode::InvalidClass,
        CimStatusCode::NotFound,
        CimStatusCode::NotSupported,
        CimStatusCode::ClassHasChildren,
        CimStatusCode::ClassHasInstances,
        CimStatusCode::InvalidSuperclass,
        CimStatusCode::AlreadyExists,
        CimStatusCode::NoSuchProperty,
        CimStatusCode::TypeMismatch,
        CimStatusCode::QueryLanguageNotSupported,
        CimStatusCode::InvalidQuery,
        CimStatusCode::MethodNotAvailable,
        CimStatusCode::MethodNotFound,
        CimStatusCode::UnexpectedResponse,
        CimStatusCode::InvalidResponseDestination,
        CimStatusCode::NamespaceNotEmpty,
        CimStatusCode::InvalidEnumerationContext,
        CimStatusCode::InvalidOperationTimeout,
        CimStatusCode::PullHasBeenAbandoned,
        CimStatusCode::PullCannotBeAbandoned,
        CimStatusCode::FilteredEnumerationNotSupported,
        CimStatusCode::ContinuationOnErrorNotSupported,
        CimStatusCode::ServerLimitsExceeded,
        CimStatusCode::ServerIsShuttingDown,
        CimStatusCode::QueryFeatureNotSupported,
    ];

    /// The number sent in `<ERROR CODE="...">`.
    ///
    /// ```
    /// assert_eq!(cim::CimStatusCode::TypeMismatch.code(), 13);
    /// ```
    pub fn code(self) -> u16 {
        self as u16
    }

    /// The status with this number; `None` for 0 (success) and unknown
    /// numbers.
    ///
    /// ```
    /// assert_eq!(cim::CimStatusCode::from_code(0), None);
    /// ```
    pub fn from_code(code: u16) -> Option<CimStatusCode> {
        CimStatusCode::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The DSP0200 symbolic name, e.g. `"CIM_ERR_NOT_FOUND"`.
    ///
    /// ```
    /// assert_eq!(cim::CimStatusCode::NotFound.name(), "CIM_ERR_NOT_FOUND");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            CimStatusCode::Failed => "CIM_ERR_FAILED",
            CimStatusCode::AccessDenied => "CIM_ERR_ACCESS_DENIED",
            CimStatusCode::InvalidNamespace => "CIM_ERR_INVALID_NAMESPACE",
            CimStatusCode::InvalidParameter => "CIM_ERR_INVALID_PARAMETER",
            CimStatusCode::InvalidClass => "CIM_ERR_INVALID_CLASS",
            CimStatusCode::NotFound => "CIM_ERR_NOT_FOUND",
            CimStatusCode::NotSupported => "CIM_ERR_NOT_SUPPORTED",
            CimStatusCode::ClassHasChildren => "CIM_ERR_CLASS_HAS_CHILDREN",
            CimStatusCode::ClassHasInstances => "CIM_ERR_CLASS_HAS_INSTANCES",
            CimStatusCode::InvalidSuperclass => "CIM_ERR_INVALID_SUPERCLASS",
            CimStatusCode::AlreadyExists => "CIM_ERR_ALREADY_EXISTS",
            CimStatusCode::NoSuchProperty => "CIM_ERR_NO_SUCH_PROPERTY",
            CimStatusCode::TypeMismatch => "CIM_ERR_TYPE_MISMATCH",
            CimStatusCode::QueryLanguageNotSupported => "CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED",
            CimStatusCode::InvalidQuery => "CIM_ERR_INVALID_QUERY",
            CimStatusCode::MethodNotAvailable => "CIM_ERR_METHOD_NOT_AVAILABLE",
            CimStatusCode::MethodNotFound => "CIM_ERR_METHOD_NOT_FOUND",
            CimStatusCode::UnexpectedResponse => "CIM_ERR_UNEXPECTED_RESPONSE",
            CimStatusCode::InvalidResponseDestination => "CIM_ERR_INVALID_RESPONSE_DESTINATION",
            CimStatusCode::NamespaceNotEmpty => "CIM_ERR_NAMESPACE_NOT_EMPTY",
            CimStatusCode::InvalidEnumerationContext => "CIM_ERR_INVALID_ENUMERATION_CONTEXT",
            CimStatusCode::InvalidOperationTimeout => "CIM_ERR_INVALID_OPERATION_TIMEOUT",
            CimStatusCode::PullHasBeenAbandoned => "CIM_ERR_PULL_HAS_BEEN_ABANDONED",
            CimStatusCode::PullCannotBeAbandoned => "CIM_ERR_PULL_CANNOT_BE_ABANDONED",
            CimStatusCode::FilteredEnumerationNotSupported => {
                "CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED"
            }
            CimStatusCode::ContinuationOnErrorNotSupported => {
                "CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED"
            }
            CimStatusCode::ServerLimitsExceeded => "CIM_ERR_SERVER_LIMITS_EXCEEDED",
            CimStatusCode::ServerIsShuttingDown => "CIM_ERR_SERVER_IS_SHUTTING_DOWN",
            CimStatusCode::QueryFeatureNotSupported => "CIM_ERR_QUERY_FEATURE_NOT_SUPPORTED",
        }
    }

    /// The status with this symbolic name (ASCII case ignored).
    ///
    /// ```
    /// use cim::CimStatusCode;
    ///
    /// assert_eq!(CimStatusCode::from_name("cim_err_failed"), Some(CimStatusCode::Failed));
    /// ```
    pub fn from_name(name: &str) -> Option<CimStatusCode> {
        CimStatusCode::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for CimStatusCode {
    /// Writes `NAME (code)`, e.g. `CIM_ERR_NOT_FOUND (6)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}
