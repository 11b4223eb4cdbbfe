//! CIM status codes, checked against the DSP0200 / CIM_Error table.

use cim::{CimStatusCode, CimType, CimValue, DeclErrorKind, PropertyDecl, Qualifiers};

#[test]
fn codes_and_names_match_the_table() {
    let table = [
        (1, "CIM_ERR_FAILED"),
        (2, "CIM_ERR_ACCESS_DENIED"),
        (3, "CIM_ERR_INVALID_NAMESPACE"),
        (4, "CIM_ERR_INVALID_PARAMETER"),
        (5, "CIM_ERR_INVALID_CLASS"),
        (6, "CIM_ERR_NOT_FOUND"),
        (7, "CIM_ERR_NOT_SUPPORTED"),
        (8, "CIM_ERR_CLASS_HAS_CHILDREN"),
        (9, "CIM_ERR_CLASS_HAS_INSTANCES"),
        (10, "CIM_ERR_INVALID_SUPERCLASS"),
        (11, "CIM_ERR_ALREADY_EXISTS"),
        (12, "CIM_ERR_NO_SUCH_PROPERTY"),
        (13, "CIM_ERR_TYPE_MISMATCH"),
        (14, "CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED"),
        (15, "CIM_ERR_INVALID_QUERY"),
        (16, "CIM_ERR_METHOD_NOT_AVAILABLE"),
        (17, "CIM_ERR_METHOD_NOT_FOUND"),
        (18, "CIM_ERR_UNEXPECTED_RESPONSE"),
        (19, "CIM_ERR_INVALID_RESPONSE_DESTINATION"),
        (20, "CIM_ERR_NAMESPACE_NOT_EMPTY"),
        (21, "CIM_ERR_INVALID_ENUMERATION_CONTEXT"),
        (22, "CIM_ERR_INVALID_OPERATION_TIMEOUT"),
        (23, "CIM_ERR_PULL_HAS_BEEN_ABANDONED"),
        (24, "CIM_ERR_PULL_CANNOT_BE_ABANDONED"),
        (25, "CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED"),
        (26, "CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED"),
        (27, "CIM_ERR_SERVER_LIMITS_EXCEEDED"),
        (28, "CIM_ERR_SERVER_IS_SHUTTING_DOWN"),
        (29, "CIM_ERR_QUERY_FEATURE_NOT_SUPPORTED"),
    ];
    assert_eq!(CimStatusCode::ALL.len(), table.len());
    for (status, (code, name)) in CimStatusCode::ALL.into_iter().zip(table) {
        assert_eq!(status.code(), code);
        assert_eq!(status.name(), name);
        assert_eq!(CimStatusCode::from_code(code), Some(status));
        assert_eq!(CimStatusCode::from_name(name), Some(status));
        assert_eq!(status.to_string(), format!("{name} ({code})"));
    }
    assert_eq!(
        CimStatusCode::from_code(0),
        None,
        "0 is success, not an error"
    );
    assert_eq!(CimStatusCode::from_code(30), None);
    assert_eq!(CimStatusCode::from_name("CIM_ERR_NOPE"), None);
}

#[test]
fn check_errors_map_to_status_codes() {
    static PERCENT: PropertyDecl = PropertyDecl {
        name: "PercentComplete",
        ty: CimType::UInt16,
        is_array: false,
        class_origin: "CIM_Job",
        qualifiers: Qualifiers {
            min_value: Some(0),
            max_value: Some(101),
            ..Qualifiers::NONE
        },
        description: "",
        default: None,
        reference_class: None,
    };
    let mismatch = PERCENT.check(Some(&CimValue::UInt32(5))).unwrap_err();
    assert!(matches!(
        mismatch.kind(),
        DeclErrorKind::TypeMismatch { .. }
    ));
    assert_eq!(mismatch.status_code(), CimStatusCode::TypeMismatch);
    let too_big = PERCENT.check(Some(&CimValue::UInt16(102))).unwrap_err();
    assert_eq!(too_big.kind(), &DeclErrorKind::AboveMax);
    assert_eq!(too_big.status_code(), CimStatusCode::InvalidParameter);

    assert_eq!(
        CimValue::parse(CimType::UInt16, "x")
            .unwrap_err()
            .status_code(),
        CimStatusCode::InvalidParameter
    );
    assert_eq!(
        CimValue::from_integer(CimType::String, 1)
            .unwrap_err()
            .status_code(),
        CimStatusCode::TypeMismatch
    );
}
