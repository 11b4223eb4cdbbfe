//! CIM data types ([`CimType`]) and typed values ([`CimValue`], [`CimArray`]).
//!
//! Values keep their declared CIM type (a `uint16` stays a `uint16`), check
//! integer ranges on construction, and read and write the text form that
//! CIM-XML carries inside `<VALUE>` elements.

use std::fmt;

use crate::datetime::{CimDateTime, DateTimeError};
use crate::integer::parse_integer;
use crate::path::{ObjectPath, PathError};
use crate::status::CimStatusCode;

/// A CIM data type (DSP0004), without array-ness.
///
/// Why an enum rather than strings: declarations, values and the CIM-XML
/// `TYPE` attribute must agree exactly, and a typo should not compile.
///
/// ```
/// use cim::CimType;
///
/// assert_eq!(CimType::UInt16.name(), "uint16");
/// assert_eq!(CimType::from_name("DateTime"), Some(CimType::DateTime));
/// assert_eq!(CimType::SInt8.integer_range(), Some((-128, 127)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CimType {
    /// `boolean`
    Boolean,
    /// `char16`: one UCS-2 character.
    Char16,
    /// `string`
    String,
    /// `datetime`: a timestamp or an interval, see [`CimDateTime`].
    DateTime,
    /// `uint8`
    UInt8,
    /// `sint8`
    SInt8,
    /// `uint16`
    UInt16,
    /// `sint16`
    SInt16,
    /// `uint32`
    UInt32,
    /// `sint32`
    SInt32,
    /// `uint64`
    UInt64,
    /// `sint64`
    SInt64,
    /// `real32`: IEEE 754 single precision.
    Real32,
    /// `real64`: IEEE 754 double precision.
    Real64,
    /// `reference`: an object path, see [`ObjectPath`].
    Reference,
    /// `instance`: an embedded instance. [`CimValue`] has no variant of
    /// this type yet; CIM-XML carries embedded instances as strings with
    /// the `EmbeddedInstance` qualifier.
    Instance,
}

impl CimType {
    /// Every CIM type, in declaration order; handy for exhaustive tests.
    ///
    /// ```
    /// assert!(cim::CimType::ALL.iter().all(|t| cim::CimType::from_name(t.name()) == Some(*t)));
    /// ```
    pub const ALL: [CimType; 16] = [
        CimType::Boolean,
        CimType::Char16,
        CimType::String,
        CimType::DateTime,
        CimType::UInt8,
        CimType::SInt8,
        CimType::UInt16,
        CimType::SInt16,
        CimType::UInt32,
        CimType::SInt32,
        CimType::UInt64,
        CimType::SInt64,
        CimType::Real32,
        CimType::Real64,
        CimType::Reference,
        CimType::Instance,
    ];

    /// The DSP0004 / CIM-XML name of the type, as written in MOF and in the
    /// `TYPE` attribute: `"uint16"`, `"datetime"`, `"reference"`,
    /// `"instance"`, ...
    ///
    /// ```
    /// assert_eq!(cim::CimType::Real64.name(), "real64");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            CimType::Boolean => "boolean",
            CimType::Char16 => "char16",
            CimType::String => "string",
            CimType::DateTime => "datetime",
            CimType::UInt8 => "uint8",
            CimType::SInt8 => "sint8",
            CimType::UInt16 => "uint16",
            CimType::SInt16 => "sint16",
            CimType::UInt32 => "uint32",
            CimType::SInt32 => "sint32",
            CimType::UInt64 => "uint64",
            CimType::SInt64 => "sint64",
            CimType::Real32 => "real32",
            CimType::Real64 => "real64",
            CimType::Reference => "reference",
            CimType::Instance => "instance",
        }
    }

    /// The type with this name, ignoring ASCII case (CIM names are case
    /// insensitive); `None` for unknown names.
    ///
    /// ```
    /// use cim::CimType;
    ///
    /// assert_eq!(CimType::from_name("UINT32"), Some(CimType::UInt32));
    /// assert_eq!(CimType::from_name("int"), None);
    /// ```
    pub fn from_name(s: &str) -> Option<CimType> {
        CimType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
    }

    /// Whether this is one of the eight integer types.
    ///
    /// ```
    /// assert!(cim::CimType::SInt64.is_integer());
    /// assert!(!cim::CimType::Real32.is_integer());
    /// ```
    pub fn is_integer(&self) -> bool {
        self.integer_range().is_some()
    }

    /// Whether this is `real32` or `real64`.
    ///
    /// ```
    /// assert!(cim::CimType::Real32.is_real());
    /// ```
    pub fn is_real(&self) -> bool {
        matches!(self, CimType::Real32 | CimType::Real64)
    }

    /// The inclusive range of an integer type, `None` for other types.
    ///
    /// ```
    /// assert_eq!(cim::CimType::UInt16.integer_range(), Some((0, 65_535)));
    /// ```
    pub fn integer_range(&self) -> Option<(i128, i128)> {
        Some(match self {
            CimType::UInt8 => (0, u8::MAX.into()),
            CimType::SInt8 => (i8::MIN.into(), i8::MAX.into()),
            CimType::UInt16 => (0, u16::MAX.into()),
            CimType::SInt16 => (i16::MIN.into(), i16::MAX.into()),
            CimType::UInt32 => (0, u32::MAX.into()),
            CimType::SInt32 => (i32::MIN.into(), i32::MAX.into()),
            CimType::UInt64 => (0, u64::MAX.into()),
            CimType::SInt64 => (i64::MIN.into(), i64::MAX.into()),
            _ => return None,
        })
    }
}

impl fmt::Display for CimType {
    /// Writes [`CimType::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A CIM type together with array-ness: what a property declares and what a
/// value has. Displays as `uint16` or `uint16[]`.
///
/// ```
/// use cim::{CimType, ValueType};
///
/// let t = ValueType { ty: CimType::UInt16, is_array: true };
/// assert_eq!(t.to_string(), "uint16[]");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValueType {
    /// The scalar or element type.
    pub ty: CimType,
    /// Whether it is an array of `ty`.
    pub is_array: bool,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ty.name())?;
        if self.is_array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

/// Why a value could not be built or parsed. Messages name the value, the
/// type and what is allowed.
///
/// ```
/// use cim::{CimType, CimValue, ValueError};
///
/// let err = CimValue::from_integer(CimType::UInt8, 300).unwrap_err();
/// assert!(matches!(err, ValueError::OutOfRange { .. }));
/// assert_eq!(err.to_string(), "300 is out of range for uint8 (0..=255)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// An integer does not fit its type.
    #[error("{value} is out of range for {ty} ({min}..={max})")]
    OutOfRange {
        /// The value as written (may exceed `i128` when parsed from text).
        value: String,
        /// The target type.
        ty: CimType,
        /// Smallest allowed value.
        min: i128,
        /// Largest allowed value.
        max: i128,
    },
    /// An integer was offered for a non-integer type.
    #[error("{ty} is not an integer type, so it cannot hold the integer {value}")]
    NotAnIntegerType {
        /// The requested type.
        ty: CimType,
        /// The integer offered.
        value: i128,
    },
    /// Text that is not an integer literal.
    #[error(
        "{text:?} is not a valid {ty}: expected decimal digits with an optional sign, or 0x and hex digits"
    )]
    InvalidInteger {
        /// The rejected text.
        text: String,
        /// The target type.
        ty: CimType,
    },
    /// Text that is not a real literal.
    #[error("{text:?} is not a valid {ty}: expected a decimal number, INF, -INF or NaN")]
    InvalidReal {
        /// The rejected text.
        text: String,
        /// The target type.
        ty: CimType,
    },
    /// A finite real literal too large for its type.
    #[error("{text} is out of range for {ty} (largest finite magnitude {})", real_max_text(*.ty))]
    RealOutOfRange {
        /// The rejected text.
        text: String,
        /// The target type.
        ty: CimType,
    },
    /// Text that is not `true` or `false`.
    #[error("{text:?} is not a valid boolean: expected true or false (any case)")]
    InvalidBoolean {
        /// The rejected text.
        text: String,
    },
    /// A char16 must be exactly one character.
    #[error("{text:?} is not a valid char16: expected exactly one character, found {len}")]
    Char16Length {
        /// The rejected text.
        text: String,
        /// Its length in characters.
        len: usize,
    },
    /// A char16 must fit in one UTF-16 code unit.
    #[error(
        "{text:?} is not a valid char16: U+{code_point:04X} is outside the Basic Multilingual Plane (U+0000..=U+FFFF) and would need a UTF-16 surrogate pair"
    )]
    Char16NotBmp {
        /// The rejected text.
        text: String,
        /// The character's code point.
        code_point: u32,
    },
    /// Text that is not a CIM datetime.
    #[error(transparent)]
    DateTime(#[from] DateTimeError),
    /// Text that is not a WBEM URI.
    #[error(transparent)]
    Reference(#[from] PathError),
    /// The type has no scalar text form handled here (`instance`).
    #[error("values of type {ty} cannot be parsed from VALUE text; embedded instances are strings with the EmbeddedInstance qualifier")]
    UnsupportedType {
        /// The requested type.
        ty: CimType,
    },
    /// An array element does not have the array's element type.
    #[error("array of {expected}: element {index} ({value}) has type {found}")]
    ArrayElementType {
        /// Zero-based element index.
        index: usize,
        /// The array's element type.
        expected: CimType,
        /// The element's type.
        found: ValueType,
        /// The element, in VALUE text form.
        value: String,
    },
}

impl ValueError {
    /// The CIM status to answer with when this came from client input:
    /// `CIM_ERR_TYPE_MISMATCH` for an array element of the wrong type or a
    /// non-integer type given an integer, `CIM_ERR_INVALID_PARAMETER`
    /// otherwise.
    ///
    /// ```
    /// use cim::{CimStatusCode, CimType, CimValue};
    ///
    /// let err = CimValue::parse(CimType::UInt8, "300").unwrap_err();
    /// assert_eq!(err.status_code(), CimStatusCode::InvalidParameter);
    /// ```
    pub fn status_code(&self) -> CimStatusCode {
        match self {
            ValueError::ArrayElementType { .. } | ValueError::NotAnIntegerType { .. } => {
                CimStatusCode::TypeMismatch
            }
            _ => CimStatusCode::InvalidParameter,
        }
    }
}

/// A homogeneous CIM array: every element has the element type, and no
/// element is itself an array.
///
/// Why a checked type: CIM-XML `VALUE.ARRAY` carries one `TYPE` for all
/// elements, so a mixed array could not be sent.
///
/// ```
/// use cim::{CimArray, CimType, CimValue};
///
/// let a = CimArray::new(CimType::UInt16, vec![CimValue::UInt16(2), CimValue::UInt16(17)])?;
/// assert_eq!(a.items().len(), 2);
/// assert!(CimArray::new(CimType::UInt16, vec![CimValue::UInt8(2)]).is_err());
/// # Ok::<(), cim::ValueError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CimArray {
    elem: CimType,
    items: Vec<CimValue>,
}

impl CimArray {
    /// Builds an array, checking that every item is a scalar of type
    /// `elem`.
    ///
    /// ```
    /// use cim::{CimArray, CimType, CimValue, ValueError};
    ///
    /// let err = CimArray::new(CimType::String, vec!["a".into(), CimValue::Boolean(true)]).unwrap_err();
    /// assert!(matches!(err, ValueError::ArrayElementType { index: 1, .. }));
    /// ```
    pub fn new(elem: CimType, items: Vec<CimValue>) -> Result<CimArray, ValueError> {
        for (index, item) in items.iter().enumerate() {
            if item.is_array() || item.cim_type() != elem {
                return Err(ValueError::ArrayElementType {
                    index,
                    expected: elem,
                    found: item.value_type(),
                    value: item.to_string(),
                });
            }
        }
        Ok(CimArray { elem, items })
    }

    /// The element type.
    ///
    /// ```
    /// let a = cim::CimArray::new(cim::CimType::Boolean, vec![])?;
    /// assert_eq!(a.elem_type(), cim::CimType::Boolean);
    /// # Ok::<(), cim::ValueError>(())
    /// ```
    pub fn elem_type(&self) -> CimType {
        self.elem
    }

    /// The elements, in order (CIM arrays are ordered; `ArrayType("Indexed")`
    /// properties also give positions meaning).
    ///
    /// ```
    /// let a = cim::CimArray::new(cim::CimType::String, vec!["x".into()])?;
    /// assert_eq!(a.items()[0].as_str(), Some("x"));
    /// # Ok::<(), cim::ValueError>(())
    /// ```
    pub fn items(&self) -> &[CimValue] {
        &self.items
    }

    /// Takes the elements out of the array.
    ///
    /// ```
    /// let a = cim::CimArray::new(cim::CimType::String, vec!["x".into()])?;
    /// assert_eq!(a.into_items().len(), 1);
    /// # Ok::<(), cim::ValueError>(())
    /// ```
    pub fn into_items(self) -> Vec<CimValue> {
        self.items
    }
}

/// A non-NULL CIM value with its type. NULL is `Option::None` around it.
///
/// Why typed variants: a `uint16` and a `uint32` holding 4 are different
/// CIM values (CIM-XML sends the type), and range checks belong at the
/// boundary, in [`CimValue::from_integer`] and [`CimValue::parse`].
///
/// ```
/// use cim::{CimType, CimValue};
///
/// let v = CimValue::parse(CimType::UInt16, "4")?;
/// assert_eq!(v, CimValue::UInt16(4));
/// assert_eq!(v.as_u64(), Some(4));
/// assert_eq!(CimValue::Boolean(true).to_string(), "TRUE");
/// # Ok::<(), cim::ValueError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum CimValue {
    /// `boolean`
    Boolean(bool),
    /// `char16`. Must be in the Basic Multilingual Plane;
    /// [`CimValue::parse`] checks that, direct construction does not.
    Char16(char),
    /// `string`
    String(String),
    /// `datetime`
    DateTime(CimDateTime),
    /// `uint8`
    UInt8(u8),
    /// `sint8`
    SInt8(i8),
    /// `uint16`
    UInt16(u16),
    /// `sint16`
    SInt16(i16),
    /// `uint32`
    UInt32(u32),
    /// `sint32`
    SInt32(i32),
    /// `uint64`
    UInt64(u64),
    /// `sint64`
    SInt64(i64),
    /// `real32`
    Real32(f32),
    /// `real64`
    Real64(f64),
    /// `reference`
    Reference(ObjectPath),
    /// An array of any of the above.
    Array(CimArray),
}

impl CimValue {
    /// The CIM type of the value; for an array, its element type.
    ///
    /// ```
    /// use cim::{CimType, CimValue};
    ///
    /// assert_eq!(CimValue::SInt8(-1).cim_type(), CimType::SInt8);
    /// ```
    pub fn cim_type(&self) -> CimType {
        match self {
            CimValue::Boolean(_) => CimType::Boolean,
            CimValue::Char16(_) => CimType::Char16,
            CimValue::String(_) => CimType::String,
            CimValue::DateTime(_) => CimType::DateTime,
            CimValue::UInt8(_) => CimType::UInt8,
            CimValue::SInt8(_) => CimType::SInt8,
            CimValue::UInt16(_) => CimType::UInt16,
            CimValue::SInt16(_) => CimType::SInt16,
            CimValue::UInt32(_) => CimType::UInt32,
            CimValue::SInt32(_) => CimType::SInt32,
            CimValue::UInt64(_) => CimType::UInt64,
            CimValue::SInt64(_) => CimType::SInt64,
            CimValue::Real32(_) => CimType::Real32,
            CimValue::Real64(_) => CimType::Real64,
            CimValue::Reference(_) => CimType::Reference,
            CimValue::Array(a) => a.elem,
        }
    }

    /// Whether the value is an array.
    ///
    /// ```
    /// assert!(!cim::CimValue::Boolean(false).is_array());
    /// ```
    pub fn is_array(&self) -> bool {
        matches!(self, CimValue::Array(_))
    }

    /// Type and array-ness together, e.g. for type-mismatch messages.
    ///
    /// ```
    /// use cim::{CimType, CimValue, ValueType};
    ///
    /// assert_eq!(CimValue::UInt8(1).value_type(), ValueType { ty: CimType::UInt8, is_array: false });
    /// ```
    pub fn value_type(&self) -> ValueType {
        ValueType {
            ty: self.cim_type(),
            is_array: self.is_array(),
        }
    }

    /// Builds an integer value of type `ty`, checking its range.
    ///
    /// Why: property tables and protocol decoders hold integers as wide
    /// numbers; this is the one place that narrows them.
    ///
    /// ```
    /// use cim::{CimType, CimValue};
    ///
    /// assert_eq!(CimValue::from_integer(CimType::SInt8, -128)?, CimValue::SInt8(-128));
    /// let err = CimValue::from_integer(CimType::UInt8, 300).unwrap_err();
    /// assert_eq!(err.to_string(), "300 is out of range for uint8 (0..=255)");
    /// # Ok::<(), cim::ValueError>(())
    /// ```
    pub fn from_integer(ty: CimType, v: i128) -> Result<CimValue, ValueError> {
        let Some((min, max)) = ty.integer_range() else {
            return Err(ValueError::NotAnIntegerType { ty, value: v });
        };
        if !(min..=max).contains(&v) {
            return Err(ValueError::OutOfRange {
                value: v.to_string(),
                ty,
                min,
                max,
            });
        }
        // In range, so every narrowing cast below is exact.
        Ok(match ty {
            CimType::UInt8 => CimValue::UInt8(v as u8),
            CimType::SInt8 => CimValue::SInt8(v as i8),
            CimType::UInt16 => CimValue::UInt16(v as u16),
            CimType::SInt16 => CimValue::SInt16(v as i16),
            CimType::UInt32 => CimValue::UInt32(v as u32),
            CimType::SInt32 => CimValue::SInt32(v as i32),
            CimType::UInt64 => CimValue::UInt64(v as u64),
            CimType::SInt64 => CimValue::SInt64(v as i64),
            _ => unreachable!("integer_range is Some only for integer types"),
        })
    }

    /// Parses the text of a CIM-XML `<VALUE>` element as type `ty`.
    ///
    /// - integers: decimal with optional `+`/`-`, or `0x` hex (sign
    ///   allowed), range-checked;
    /// - reals: decimal or exponent form, `INF`, `-INF`, `NaN`;
    /// - boolean: `true`/`false` in any case;
    /// - char16: exactly one character in the Basic Multilingual Plane;
    /// - datetime: the 25-character form; reference: a WBEM URI;
    /// - string: taken as is.
    ///
    /// Surrounding whitespace is ignored for every type except string and
    /// char16, where it is data.
    ///
    /// ```
    /// use cim::{CimType, CimValue};
    ///
    /// assert_eq!(CimValue::parse(CimType::SInt16, "-0x10")?, CimValue::SInt16(-16));
    /// assert_eq!(CimValue::parse(CimType::Boolean, "False")?, CimValue::Boolean(false));
    /// assert_eq!(CimValue::parse(CimType::Real64, "-INF")?, CimValue::Real64(f64::NEG_INFINITY));
    /// assert!(CimValue::parse(CimType::UInt8, "256").is_err());
    /// # Ok::<(), cim::ValueError>(())
    /// ```
    pub fn parse(ty: CimType, text: &str) -> Result<CimValue, ValueError> {
        let trimmed = text.trim();
        match ty {
            CimType::String => Ok(CimValue::String(text.to_owned())),
            CimType::Char16 => {
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => CimValue::char16(c).map_err(|_| ValueError::Char16NotBmp {
                        text: text.to_owned(),
                        code_point: c.into(),
                    }),
                    _ => Err(ValueError::Char16Length {
                        text: text.to_owned(),
                        len: text.chars().count(),
                    }),
                }
            }
            CimType::Boolean => {
                if trimmed.eq_ignore_ascii_case("true") {
                    Ok(CimValue::Boolean(true))
                } else if trimmed.eq_ignore_ascii_case("false") {
                    Ok(CimValue::Boolean(false))
                } else {
                    Err(ValueError::InvalidBoolean {
                        text: text.to_owned(),
                    })
                }
            }
            CimType::DateTime => Ok(CimValue::DateTime(CimDateTime::parse(trimmed)?)),
            CimType::Reference => Ok(CimValue::Reference(ObjectPath::parse(trimmed)?)),
            CimType::Real32 => Ok(CimValue::Real32(parse_real(trimmed, ty)?)),
            CimType::Real64 => Ok(CimValue::Real64(parse_real(trimmed, ty)?)),
            CimType::Instance => Err(ValueError::UnsupportedType { ty }),
            _ => {
                let v = parse_integer(trimmed).ok_or_else(|| ValueError::InvalidInteger {
                    text: text.to_owned(),
                    ty,
                })?;
                let (min, max) = ty
                    .integer_range()
                    .expect("the remaining types are integers");
                match v {
                    Some(v) => CimValue::from_integer(ty, v),
                    None => Err(ValueError::OutOfRange {
                        value: trimmed.to_owned(),
                        ty,
                        min,
                        max,
                    }),
                }
            }
        }
    }

    /// Builds a `char16`, rejecting characters outside the Basic
    /// Multilingual Plane (they do not fit one UTF-16 code unit).
    ///
    /// ```
    /// assert!(cim::CimValue::char16('é').is_ok());
    /// assert!(cim::CimValue::char16('😀').is_err());
    /// ```
    pub fn char16(c: char) -> Result<CimValue, ValueError> {
        if u32::from(c) > 0xFFFF {
            Err(ValueError::Char16NotBmp {
                text: c.to_string(),
                code_point: c.into(),
            })
        } else {
            Ok(CimValue::Char16(c))
        }
    }

    /// The value as an `i128`, for any integer type.
    ///
    /// ```
    /// assert_eq!(cim::CimValue::UInt64(u64::MAX).as_i128(), Some(u64::MAX.into()));
    /// ```
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            CimValue::UInt8(v) => v.into(),
            CimValue::SInt8(v) => v.into(),
            CimValue::UInt16(v) => v.into(),
            CimValue::SInt16(v) => v.into(),
            CimValue::UInt32(v) => v.into(),
            CimValue::SInt32(v) => v.into(),
            CimValue::UInt64(v) => v.into(),
            CimValue::SInt64(v) => v.into(),
            _ => return None,
        })
    }

    /// The value as a `u64`, for any integer value that is not negative.
    ///
    /// ```
    /// use cim::CimValue;
    ///
    /// assert_eq!(CimValue::SInt8(5).as_u64(), Some(5));
    /// assert_eq!(CimValue::SInt8(-5).as_u64(), None);
    /// ```
    pub fn as_u64(&self) -> Option<u64> {
        self.as_i128().and_then(|v| u64::try_from(v).ok())
    }

    /// The value as an `i64`, for any integer value that fits.
    ///
    /// ```
    /// use cim::CimValue;
    ///
    /// assert_eq!(CimValue::UInt32(7).as_i64(), Some(7));
    /// assert_eq!(CimValue::UInt64(u64::MAX).as_i64(), None);
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        self.as_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// The value as an `f64`, for `real32` and `real64`.
    ///
    /// ```
    /// assert_eq!(cim::CimValue::Real32(0.5).as_f64(), Some(0.5));
    /// ```
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            CimValue::Real32(v) => Some(v.into()),
            CimValue::Real64(v) => Some(v),
            _ => None,
        }
    }

    /// The text of a `string` value.
    ///
    /// ```
    /// assert_eq!(cim::CimValue::from("Running").as_str(), Some("Running"));
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            CimValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The character of a `char16` value.
    ///
    /// ```
    /// assert_eq!(cim::CimValue::Char16('x').as_char(), Some('x'));
    /// ```
    pub fn as_char(&self) -> Option<char> {
        match *self {
            CimValue::Char16(c) => Some(c),
            _ => None,
        }
    }

    /// A `boolean` value.
    ///
    /// ```
    /// assert_eq!(cim::CimValue::Boolean(true).as_bool(), Some(true));
    /// ```
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            CimValue::Boolean(b) => Some(b),
            _ => None,
        }
    }

    /// A `datetime` value.
    ///
    /// ```
    /// let v = cim::CimValue::DateTime(cim::CimDateTime::zero_interval());
    /// assert!(v.as_datetime().unwrap().is_zero());
    /// ```
    pub fn as_datetime(&self) -> Option<&CimDateTime> {
        match self {
            CimValue::DateTime(d) => Some(d),
            _ => None,
        }
    }

    /// A `reference` value.
    ///
    /// ```
    /// let v = cim::CimValue::Reference(cim::ObjectPath::new(None, "CIM_Job"));
    /// assert_eq!(v.as_reference().unwrap().class_name, "CIM_Job");
    /// ```
    pub fn as_reference(&self) -> Option<&ObjectPath> {
        match self {
            CimValue::Reference(p) => Some(p),
            _ => None,
        }
    }

    /// An array value.
    ///
    /// ```
    /// use cim::{CimArray, CimType, CimValue};
    ///
    /// let v = CimValue::Array(CimArray::new(CimType::UInt16, vec![CimValue::UInt16(2)])?);
    /// assert_eq!(v.as_array().unwrap().items().len(), 1);
    /// # Ok::<(), cim::ValueError>(())
    /// ```
    pub fn as_array(&self) -> Option<&CimArray> {
        match self {
            CimValue::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Largest finite magnitude of a real type, for error messages.
fn real_max_text(ty: CimType) -> String {
    if ty == CimType::Real32 {
        format!("{:e}", f32::MAX)
    } else {
        format!("{:e}", f64::MAX)
    }
}

/// Parses a real literal (correctly rounded to `F`); finite literals that
/// round to infinity are an error rather than silently infinite.
fn parse_real<F>(text: &str, ty: CimType) -> Result<F, ValueError>
where
    F: std::str::FromStr + Copy + Into<f64>,
{
    let invalid = || ValueError::InvalidReal {
        text: text.to_owned(),
        ty,
    };
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let is_word = ["inf", "infinity", "nan"]
        .iter()
        .any(|w| unsigned.eq_ignore_ascii_case(w));
    if !is_word
        && (!unsigned.bytes().any(|b| b.is_ascii_digit())
            || !text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E')))
    {
        return Err(invalid());
    }
    // Rust's float parser accepts exactly the remaining forms, including
    // INF/Infinity/NaN in any case.
    let v: F = text.parse().map_err(|_| invalid())?;
    if !is_word && v.into().is_infinite() {
        return Err(ValueError::RealOutOfRange {
            text: text.to_owned(),
            ty,
        });
    }
    Ok(v)
}

/// Writes a real so that parsing it back gives the same bits (shortest
/// round-trip form), with CIM's `INF`, `-INF` and `NaN` spellings.
fn write_real(f: &mut fmt::Formatter<'_>, v: f64, as_f32: Option<f32>) -> fmt::Result {
    if v.is_nan() {
        f.write_str("NaN")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 { "INF" } else { "-INF" })
    } else if let Some(x) = as_f32 {
        write!(f, "{x:?}")
    } else {
        write!(f, "{v:?}")
    }
}

impl fmt::Display for CimValue {
    /// Writes the CIM-XML `<VALUE>` text: `TRUE`/`FALSE`, decimal integers,
    /// shortest round-trip reals (`INF`, `-INF`, `NaN`), the 25-character
    /// datetime, the WBEM URI of a reference. Array elements are joined by
    /// `", "` for people to read (CIM-XML sends one `<VALUE>` per element).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CimValue::Boolean(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            CimValue::Char16(c) => write!(f, "{c}"),
            CimValue::String(s) => f.write_str(s),
            CimValue::DateTime(d) => write!(f, "{d}"),
            CimValue::UInt8(v) => write!(f, "{v}"),
            CimValue::SInt8(v) => write!(f, "{v}"),
            CimValue::UInt16(v) => write!(f, "{v}"),
            CimValue::SInt16(v) => write!(f, "{v}"),
            CimValue::UInt32(v) => write!(f, "{v}"),
            CimValue::SInt32(v) => write!(f, "{v}"),
            CimValue::UInt64(v) => write!(f, "{v}"),
            CimValue::SInt64(v) => write!(f, "{v}"),
            CimValue::Real32(v) => write_real(f, (*v).into(), Some(*v)),
            CimValue::Real64(v) => write_real(f, *v, None),
            CimValue::Reference(p) => write!(f, "{p}"),
            CimValue::Array(a) => {
                for (i, item) in a.items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
        }
    }
}

macro_rules! from_scalar {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for CimValue {
            /// Wraps the Rust value in the CIM variant of the same type.
            fn from(v: $t) -> CimValue {
                CimValue::$variant(v)
            }
        }
    )*};
}

from_scalar! {
    bool => Boolean,
    String => String,
    CimDateTime => DateTime,
    u8 => UInt8,
    i8 => SInt8,
    u16 => UInt16,
    i16 => SInt16,
    u32 => UInt32,
    i32 => SInt32,
    u64 => UInt64,
    i64 => SInt64,
    f32 => Real32,
    f64 => Real64,
    ObjectPath => Reference,
    CimArray => Array,
}

impl From<&str> for CimValue {
    /// A `string` value.
    fn from(v: &str) -> CimValue {
        CimValue::String(v.to_owned())
    }
}

/// A value as JSON carries it between nodes of a cluster: its CIM type and its CIM-XML text
/// (one text per element of an array), read back with [`CimValue::parse`], so that every
/// value, a real's NaN or a reference included, comes back exactly as it went.
#[cfg(feature = "serde")]
mod serde_impl {
    use super::{CimArray, CimType, CimValue};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Wire {
        #[serde(rename = "type")]
        ty: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        array: Option<Vec<String>>,
    }

    impl Serialize for CimValue {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let ty = self.cim_type().name().to_owned();
            let wire = match self {
                CimValue::Array(a) => Wire {
                    ty,
                    value: None,
                    array: Some(a.items().iter().map(CimValue::to_string).collect()),
                },
                scalar => Wire {
                    ty,
                    value: Some(scalar.to_string()),
                    array: None,
                },
            };
            wire.serialize(serializer)
        }
    }

    impl<'de> Deserialize<'de> for CimValue {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CimValue, D::Error> {
            let wire = Wire::deserialize(deserializer)?;
            let ty = CimType::from_name(&wire.ty)
                .ok_or_else(|| D::Error::custom(format!("no CIM type {:?}", wire.ty)))?;
            match (wire.value, wire.array) {
                (Some(text), None) => CimValue::parse(ty, &text).map_err(D::Error::custom),
                (None, Some(texts)) => {
                    let items = texts
                        .iter()
                        .map(|text| CimValue::parse(ty, text))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(D::Error::custom)?;
                    CimArray::new(ty, items)
                        .map(CimValue::Array)
                        .map_err(D::Error::custom)
                }
                _ => Err(D::Error::custom(
                    "a CIM value has a value or an array, one of them",
                )),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_kind_of_value_comes_back_from_json_as_it_went() {
            let values = [
                CimValue::Boolean(true),
                CimValue::Char16('é'),
                CimValue::String(" spaced, \"quoted\"\n".into()),
                CimValue::parse(CimType::DateTime, "20261207141516.123456+060").unwrap(),
                CimValue::parse(CimType::DateTime, "00000001020304.000000:000").unwrap(),
                CimValue::UInt8(255),
                CimValue::SInt8(-128),
                CimValue::UInt16(65535),
                CimValue::SInt16(-1),
                CimValue::UInt32(u32::MAX),
                CimValue::SInt32(i32::MIN),
                CimValue::UInt64(u64::MAX),
                CimValue::SInt64(i64::MIN),
                CimValue::Real32(0.1),
                CimValue::Real64(-1.0e300),
                CimValue::Real64(f64::INFINITY),
                CimValue::parse(
                    CimType::Reference,
                    "/root/cimv2:CIM_ConcreteJob.InstanceID=\"CIMJOB:7\"",
                )
                .unwrap(),
                CimValue::Array(
                    CimArray::new(
                        CimType::String,
                        vec![CimValue::from("a, b"), CimValue::from("")],
                    )
                    .unwrap(),
                ),
                CimValue::Array(CimArray::new(CimType::UInt16, vec![]).unwrap()),
            ];
            for value in values {
                let text = serde_json::to_string(&value).unwrap();
                let back: CimValue = serde_json::from_str(&text).unwrap();
                assert_eq!(back, value, "{text}");
            }
            let nan: CimValue =
                serde_json::from_str(&serde_json::to_string(&CimValue::Real64(f64::NAN)).unwrap())
                    .unwrap();
            assert!(matches!(nan, CimValue::Real64(x) if x.is_nan()));
        }

        #[test]
        fn a_value_that_does_not_fit_its_type_is_refused() {
            for text in [
                r#"{"type":"uint8","value":"256"}"#,
                r#"{"type":"integer","value":"1"}"#,
                r#"{"type":"uint8","value":"1","array":["1"]}"#,
                r#"{"type":"uint8"}"#,
            ] {
                assert!(serde_json::from_str::<CimValue>(text).is_err(), "{text}");
            }
        }
    }
}
