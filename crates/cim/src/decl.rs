//! Property declarations with their qualifiers ([`PropertyDecl`],
//! [`Qualifiers`]), and the checks a value must pass against them.
//!
//! Why static tables: a class's properties are fixed by its MOF, so a
//! provider declares them once as `static` data, and everything that needs
//! a property's type, range, value map or write rule (validation, CIM-XML,
//! GetClass, a CLI's value names) reads that one table.
//!
//! ```
//! use cim::{CimType, CimValue, PropertyDecl, Qualifiers};
//!
//! static RUN_DAY: PropertyDecl = PropertyDecl {
//!     name: "RunDay",
//!     ty: CimType::SInt8,
//!     is_array: false,
//!     class_origin: "CIM_Job",
//!     qualifiers: Qualifiers { write: true, min_value: Some(-31), max_value: Some(31), ..Qualifiers::NONE },
//!     description: "The day in the month on which the job should run.",
//!     default: None,
//!     reference_class: None,
//! };
//!
//! assert!(RUN_DAY.check(Some(&CimValue::SInt8(-1))).is_ok());
//! let err = RUN_DAY.check(Some(&CimValue::SInt8(40))).unwrap_err();
//! assert_eq!(err.to_string(), "property RunDay: value 40 is above MaxValue 31");
//! ```

use std::fmt;

use crate::integer::parse_integer;
use crate::status::CimStatusCode;
use crate::value::{CimType, CimValue, ValueError, ValueType};

/// The qualifiers of a property that this crate understands (DSP0004
/// names). All fields are plain `'static` data so tables can be `static`.
///
/// Start from [`Qualifiers::NONE`] and set what the MOF sets:
///
/// ```
/// use cim::Qualifiers;
///
/// const Q: Qualifiers = Qualifiers { required: true, write: true, interval: true, ..Qualifiers::NONE };
/// assert!(Q.write && !Q.key);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Qualifiers {
    /// `Key`: part of the instance's identity. Implies a value is required.
    pub key: bool,
    /// `Required`: the value must not be NULL.
    pub required: bool,
    /// `Write`: clients may modify the property.
    pub write: bool,
    /// `MaxLen(n)`: the most characters a string (each array element) may have.
    pub max_len: Option<u32>,
    /// `MinValue(n)`: the smallest allowed integer.
    pub min_value: Option<i64>,
    /// `MaxValue(n)`: the largest allowed integer.
    pub max_value: Option<i64>,
    /// `ValueMap`: the allowed values, as written in MOF: integers
    /// (`"4"`, `"0x8000"`), ranges (`"13..32767"`, `"0x8000.."`,
    /// `"..5"`), the bare `".."` ("the rest", reserved), or strings for
    /// string properties.
    pub value_map: &'static [&'static str],
    /// `Values`: the display name of each `ValueMap` entry, position by
    /// position (or of each integer 0, 1, ... when there is no `ValueMap`).
    pub values: &'static [&'static str],
    /// `Deprecated`: the elements that replace this property (empty if
    /// not deprecated).
    pub deprecated: &'static [&'static str],
    /// `Units` or `PUnit`, e.g. `"Percent"`.
    pub units: Option<&'static str>,
    /// `EmbeddedInstance("Class")`: a string property holding an instance
    /// of that class.
    pub embedded_instance: Option<&'static str>,
    /// `EmbeddedObject`: a string property holding an embedded object.
    pub embedded_object: bool,
    /// `ArrayType("Indexed")`: positions in the array carry meaning (e.g.
    /// parallel arrays).
    pub array_type_indexed: bool,
    /// `SubType("interval")`: a datetime property that must hold an
    /// interval, never a timestamp.
    pub interval: bool,
}

impl Qualifiers {
    /// No qualifiers set; the base for struct-update syntax in tables.
    ///
    /// ```
    /// assert_eq!(cim::Qualifiers::NONE.value_map.len(), 0);
    /// ```
    pub const NONE: Qualifiers = Qualifiers {
        key: false,
        required: false,
        write: false,
        max_len: None,
        min_value: None,
        max_value: None,
        value_map: &[],
        values: &[],
        deprecated: &[],
        units: None,
        embedded_instance: None,
        embedded_object: false,
        array_type_indexed: false,
        interval: false,
    };
}

impl Default for Qualifiers {
    /// Same as [`Qualifiers::NONE`].
    fn default() -> Qualifiers {
        Qualifiers::NONE
    }
}

/// The declaration of one property of a CIM class, as its MOF states it.
///
/// ```
/// use cim::{CimType, CimValue, PropertyDecl, Qualifiers};
///
/// static JOB_STATE: PropertyDecl = PropertyDecl {
///     name: "JobState",
///     ty: CimType::UInt16,
///     is_array: false,
///     class_origin: "CIM_ConcreteJob",
///     qualifiers: Qualifiers {
///         value_map: &["2", "3", "4", "13..32767", "32768..65535"],
///         values: &["New", "Starting", "Running", "DMTF Reserved", "Vendor Reserved"],
///         ..Qualifiers::NONE
///     },
///     description: "The operational state of the job.",
///     default: None,
///     reference_class: None,
/// };
///
/// assert_eq!(JOB_STATE.value_name(&CimValue::UInt16(4)), Some("Running"));
/// assert!(JOB_STATE.check(Some(&CimValue::UInt16(1))).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PropertyDecl {
    /// The property name, e.g. `"JobState"`.
    pub name: &'static str,
    /// The scalar or element type.
    pub ty: CimType,
    /// Whether the property is an array of `ty`.
    pub is_array: bool,
    /// The class that first declares the property (CIM-XML `CLASSORIGIN`).
    pub class_origin: &'static str,
    /// The qualifiers that constrain or describe the property.
    pub qualifiers: Qualifiers,
    /// The `Description` qualifier.
    pub description: &'static str,
    /// The default value in CIM-XML `VALUE` text form (for arrays: the
    /// elements separated by `,`); `None` for NULL.
    pub default: Option<&'static str>,
    /// For a `reference` property (`ty` is [`CimType::Reference`]): the
    /// class it points to, as the MOF's `CIM_Job REF OwnedElement` says
    /// (CIM-XML `REFERENCECLASS`). `None` for every other type. A value's
    /// path may name this class or any subclass; [`PropertyDecl::check`]
    /// checks only the type, since it cannot know the class hierarchy.
    pub reference_class: Option<&'static str>,
}

/// What rule a value broke; see [`DeclError`] for the property and value.
///
/// ```
/// use cim::{CimType, CimValue, DeclErrorKind, PropertyDecl, Qualifiers};
///
/// static NAME: PropertyDecl = PropertyDecl {
///     name: "Name", ty: CimType::String, is_array: false, class_origin: "CIM_ConcreteJob",
///     qualifiers: Qualifiers { required: true, ..Qualifiers::NONE },
///     description: "", default: None, reference_class: None,
/// };
/// assert_eq!(NAME.check(None).unwrap_err().kind(), &DeclErrorKind::RequiredMissing);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeclErrorKind {
    /// NULL for a `Required` or `Key` property.
    RequiredMissing,
    /// The value's type or array-ness differs from the declaration.
    TypeMismatch {
        /// What the property declares.
        expected: ValueType,
        /// What the value has.
        found: ValueType,
    },
    /// A string is longer than `MaxLen`.
    TooLong {
        /// The `MaxLen` qualifier.
        max_len: u32,
        /// The string's length in characters.
        len: usize,
    },
    /// An integer is below `MinValue` (see [`PropertyDecl::qualifiers`]).
    BelowMin,
    /// An integer is above `MaxValue`.
    AboveMax,
    /// The value is not allowed by the `ValueMap` (or, without a
    /// `ValueMap`, is not an index into `Values`).
    NotInValueMap,
    /// A timestamp for a `SubType("interval")` property.
    NotAnInterval,
    /// A string holds U+0000, which no CIM string may (DSP0004), and which no C program
    /// (a command, an environment) could be given.
    NulCharacter,
}

/// A value that breaks its property's declaration: which property, which
/// value (and array element), and what rule.
///
/// ```
/// use cim::{CimType, CimValue, DeclErrorKind, PropertyDecl, Qualifiers};
///
/// static CAPTION: PropertyDecl = PropertyDecl {
///     name: "Caption", ty: CimType::String, is_array: false, class_origin: "CIM_ManagedElement",
///     qualifiers: Qualifiers { max_len: Some(3), ..Qualifiers::NONE },
///     description: "", default: None, reference_class: None,
/// };
/// let err = CAPTION.check(Some(&CimValue::from("abcd"))).unwrap_err();
/// assert_eq!(err.property(), "Caption");
/// assert_eq!(err.kind(), &DeclErrorKind::TooLong { max_len: 3, len: 4 });
/// assert_eq!(err.to_string(), r#"property Caption: value "abcd" is 4 characters long, above MaxLen 3"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DeclError(Box<DeclErrorInner>);

/// Boxed so `Result<(), DeclError>` stays one pointer wide.
#[derive(Clone, Debug, PartialEq)]
struct DeclErrorInner {
    decl: PropertyDecl,
    value: Option<CimValue>,
    index: Option<usize>,
    kind: DeclErrorKind,
}

impl DeclError {
    /// The property's name.
    pub fn property(&self) -> &str {
        self.0.decl.name
    }

    /// The rule that was broken.
    pub fn kind(&self) -> &DeclErrorKind {
        &self.0.kind
    }

    /// The offending value: the array element for element rules, the whole
    /// value for type mismatches, `None` for a missing required value.
    pub fn value(&self) -> Option<&CimValue> {
        self.0.value.as_ref()
    }

    /// The position of the offending element when the property is an array.
    pub fn index(&self) -> Option<usize> {
        self.0.index
    }

    /// The declaration the value was checked against (for its limits,
    /// value map, ...).
    pub fn decl(&self) -> &PropertyDecl {
        &self.0.decl
    }

    /// The CIM status to answer with: `CIM_ERR_TYPE_MISMATCH` for a value
    /// of the wrong type, `CIM_ERR_INVALID_PARAMETER` for every other rule.
    ///
    /// ```
    /// use cim::{CimStatusCode, CimType, CimValue, PropertyDecl, Qualifiers};
    ///
    /// let d = PropertyDecl { name: "Priority", ty: CimType::UInt32, is_array: false,
    ///     class_origin: "CIM_Job", qualifiers: Qualifiers::NONE, description: "", default: None, reference_class: None };
    /// let err = d.check(Some(&CimValue::from("high"))).unwrap_err();
    /// assert_eq!(err.status_code(), CimStatusCode::TypeMismatch);
    /// ```
    pub fn status_code(&self) -> CimStatusCode {
        match self.0.kind {
            DeclErrorKind::TypeMismatch { .. } => CimStatusCode::TypeMismatch,
            _ => CimStatusCode::InvalidParameter,
        }
    }
}

/// Shows a value in a message: strings quoted, the rest as VALUE text.
fn show(v: &CimValue) -> String {
    match v {
        CimValue::String(s) => format!("{s:?}"),
        CimValue::Char16(c) => format!("{c:?}"),
        v => v.to_string(),
    }
}

impl fmt::Display for DeclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = &self.0.decl.qualifiers;
        write!(f, "property {}: ", self.0.decl.name)?;
        if let Some(i) = self.0.index {
            write!(f, "element {i} ")?;
        }
        let v = self
            .0
            .value
            .as_ref()
            .map(show)
            .unwrap_or_else(|| "NULL".to_owned());
        match &self.0.kind {
            DeclErrorKind::RequiredMissing => {
                let why = if q.key { "Key" } else { "Required" };
                write!(f, "value is NULL, but the property is {why}")
            }
            DeclErrorKind::TypeMismatch { expected, found } => {
                write!(
                    f,
                    "value {v} has type {found}, but the property is {expected}"
                )
            }
            DeclErrorKind::TooLong { max_len, len } => {
                write!(
                    f,
                    "value {v} is {len} characters long, above MaxLen {max_len}"
                )
            }
            DeclErrorKind::BelowMin => {
                write!(
                    f,
                    "value {v} is below MinValue {}",
                    q.min_value.unwrap_or_default()
                )
            }
            DeclErrorKind::AboveMax => {
                write!(
                    f,
                    "value {v} is above MaxValue {}",
                    q.max_value.unwrap_or_default()
                )
            }
            DeclErrorKind::NotInValueMap => {
                write!(f, "value {v} is not allowed by the ValueMap (allowed: ")?;
                if q.value_map.is_empty() {
                    write!(f, "0..={}", q.values.len().saturating_sub(1))?;
                } else {
                    let allowed: Vec<&str> = q
                        .value_map
                        .iter()
                        .copied()
                        .filter(|e| e.trim() != "..")
                        .collect();
                    f.write_str(&allowed.join(", "))?;
                }
                f.write_str(")")
            }
            DeclErrorKind::NotAnInterval => {
                write!(f, "value {v} is a timestamp, but the property is an interval (SubType(\"interval\"))")
            }
            DeclErrorKind::NulCharacter => {
                f.write_str("value holds a NUL character (U+0000), which no CIM string may")
            }
        }
    }
}

impl std::error::Error for DeclError {}

/// One parsed integer `ValueMap` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MapEntry {
    /// `"4"`: exactly this value.
    Exact(i128),
    /// `"a..b"`, `"a.."`, `"..b"`: an inclusive range; an open end is the
    /// type's limit.
    Range(i128, i128),
    /// `".."`: every value not otherwise listed (reserved, not allowed).
    Rest,
    /// Not an integer entry.
    Invalid,
}

fn parse_entry(entry: &str, ty: CimType) -> MapEntry {
    let entry = entry.trim();
    let (type_min, type_max) = ty.integer_range().unwrap_or((i128::MIN, i128::MAX));
    let int = |s: &str| parse_integer(s.trim()).flatten();
    match entry.split_once("..") {
        None => int(entry).map_or(MapEntry::Invalid, MapEntry::Exact),
        Some(("", "")) => MapEntry::Rest,
        Some((lo, hi)) => {
            let lo = if lo.trim().is_empty() {
                Some(type_min)
            } else {
                int(lo)
            };
            let hi = if hi.trim().is_empty() {
                Some(type_max)
            } else {
                int(hi)
            };
            match (lo, hi) {
                (Some(lo), Some(hi)) => MapEntry::Range(lo, hi),
                _ => MapEntry::Invalid,
            }
        }
    }
}

impl PropertyDecl {
    /// Type and array-ness together.
    ///
    /// ```
    /// use cim::{CimType, PropertyDecl, Qualifiers, ValueType};
    ///
    /// let d = PropertyDecl { name: "OperationalStatus", ty: CimType::UInt16, is_array: true,
    ///     class_origin: "CIM_ManagedSystemElement", qualifiers: Qualifiers::NONE, description: "", default: None, reference_class: None };
    /// assert_eq!(d.value_type().to_string(), "uint16[]");
    /// ```
    pub fn value_type(&self) -> ValueType {
        ValueType {
            ty: self.ty,
            is_array: self.is_array,
        }
    }

    /// Checks a value (`None` = NULL) against this declaration.
    ///
    /// Rules, in order: `Required`/`Key` forbid NULL; the type and
    /// array-ness must match exactly (a `uint8` is not a `uint16`; no
    /// [`CimValue`] has type `instance`, so declare embedded instances as
    /// strings with `embedded_instance`); then each string (or array
    /// element) is checked against `MaxLen` (in characters), each integer
    /// against `MinValue`/`MaxValue`, each value against the `ValueMap`,
    /// and each datetime of a `SubType("interval")` property must be an
    /// interval.
    ///
    /// A value is in the `ValueMap` iff it equals an entry or lies in a
    /// range entry (`"a..b"`, or half-open `"a.."`/`"..b"` bounded by the
    /// type); the bare `".."` ("DMTF reserved") allows nothing. Without a
    /// `ValueMap`, a non-empty `Values` on an integer property allows
    /// exactly its indexes 0..len.
    ///
    /// ```
    /// use cim::{CimType, CimValue, DeclErrorKind, PropertyDecl, Qualifiers};
    ///
    /// static HEALTH: PropertyDecl = PropertyDecl {
    ///     name: "HealthState", ty: CimType::UInt16, is_array: false, class_origin: "CIM_ManagedSystemElement",
    ///     qualifiers: Qualifiers { value_map: &["0", "5", "..", "32768..65535"], ..Qualifiers::NONE },
    ///     description: "", default: None, reference_class: None,
    /// };
    /// assert!(HEALTH.check(Some(&CimValue::UInt16(5))).is_ok());
    /// assert!(HEALTH.check(Some(&CimValue::UInt16(40_000))).is_ok());
    /// assert!(HEALTH.check(None).is_ok());
    /// let err = HEALTH.check(Some(&CimValue::UInt16(7))).unwrap_err();
    /// assert_eq!(err.kind(), &DeclErrorKind::NotInValueMap);
    /// ```
    pub fn check(&self, value: Option<&CimValue>) -> Result<(), DeclError> {
        let err = |value: Option<&CimValue>, index, kind| {
            DeclError(Box::new(DeclErrorInner {
                decl: *self,
                value: value.cloned(),
                index,
                kind,
            }))
        };
        let Some(value) = value else {
            return if self.qualifiers.required || self.qualifiers.key {
                Err(err(None, None, DeclErrorKind::RequiredMissing))
            } else {
                Ok(())
            };
        };
        let expected = self.value_type();
        let found = value.value_type();
        if expected != found {
            return Err(err(
                Some(value),
                None,
                DeclErrorKind::TypeMismatch { expected, found },
            ));
        }
        match value {
            CimValue::Array(a) => {
                for (i, item) in a.items().iter().enumerate() {
                    self.check_element(item)
                        .map_err(|kind| err(Some(item), Some(i), kind))?;
                }
                Ok(())
            }
            v => self
                .check_element(v)
                .map_err(|kind| err(Some(v), None, kind)),
        }
    }

    fn check_element(&self, v: &CimValue) -> Result<(), DeclErrorKind> {
        let q = &self.qualifiers;
        if matches!(v, CimValue::String(s) if s.contains('\0')) || *v == CimValue::Char16('\0') {
            return Err(DeclErrorKind::NulCharacter);
        }
        if let (Some(max_len), CimValue::String(s)) = (q.max_len, v) {
            let len = s.chars().count();
            if len > max_len as usize {
                return Err(DeclErrorKind::TooLong { max_len, len });
            }
        }
        if let Some(i) = v.as_i128() {
            if q.min_value.is_some_and(|min| i < i128::from(min)) {
                return Err(DeclErrorKind::BelowMin);
            }
            if q.max_value.is_some_and(|max| i > i128::from(max)) {
                return Err(DeclErrorKind::AboveMax);
            }
        }
        if !self.in_value_map(v) {
            return Err(DeclErrorKind::NotInValueMap);
        }
        if q.interval {
            if let CimValue::DateTime(d) = v {
                if !d.is_interval() {
                    return Err(DeclErrorKind::NotAnInterval);
                }
            }
        }
        Ok(())
    }

    fn in_value_map(&self, v: &CimValue) -> bool {
        let q = &self.qualifiers;
        match v.as_i128() {
            Some(i) if q.value_map.is_empty() => {
                q.values.is_empty() || (0..q.values.len() as i128).contains(&i)
            }
            Some(i) => q.value_map.iter().any(|e| match parse_entry(e, self.ty) {
                MapEntry::Exact(x) => x == i,
                MapEntry::Range(lo, hi) => (lo..=hi).contains(&i),
                MapEntry::Rest | MapEntry::Invalid => false,
            }),
            None if q.value_map.is_empty() => true,
            None => {
                let text = v.to_string();
                q.value_map.iter().any(|e| e.trim() != ".." && *e == text)
            }
        }
    }

    /// The `Values` name of a value, through the `ValueMap`: an exact
    /// entry first, then a range entry, then the bare `".."` entry (so a
    /// reserved value reads e.g. "DMTF Reserved"). Without a `ValueMap`,
    /// an integer indexes `Values` directly. `None` if nothing matches.
    ///
    /// ```
    /// use cim::{CimType, CimValue, PropertyDecl, Qualifiers};
    ///
    /// static STATE: PropertyDecl = PropertyDecl {
    ///     name: "JobState", ty: CimType::UInt16, is_array: false, class_origin: "CIM_ConcreteJob",
    ///     qualifiers: Qualifiers {
    ///         value_map: &["4", "..", "32768..65535"],
    ///         values: &["Running", "DMTF Reserved", "Vendor Reserved"],
    ///         ..Qualifiers::NONE
    ///     },
    ///     description: "", default: None, reference_class: None,
    /// };
    /// assert_eq!(STATE.value_name(&CimValue::UInt16(4)), Some("Running"));
    /// assert_eq!(STATE.value_name(&CimValue::UInt16(40_000)), Some("Vendor Reserved"));
    /// assert_eq!(STATE.value_name(&CimValue::UInt16(99)), Some("DMTF Reserved"));
    /// ```
    pub fn value_name(&self, v: &CimValue) -> Option<&'static str> {
        let q = &self.qualifiers;
        let name = |idx: usize| q.values.get(idx).copied();
        let Some(i) = v.as_i128() else {
            if v.is_array() {
                return None;
            }
            let text = v.to_string();
            return q
                .value_map
                .iter()
                .position(|e| e.trim() != ".." && *e == text)
                .and_then(name);
        };
        if q.value_map.is_empty() {
            return usize::try_from(i).ok().and_then(name);
        }
        let entries: Vec<MapEntry> = q
            .value_map
            .iter()
            .map(|e| parse_entry(e, self.ty))
            .collect();
        let exact = entries.iter().position(|e| *e == MapEntry::Exact(i));
        let range = || {
            entries
                .iter()
                .position(|e| matches!(*e, MapEntry::Range(lo, hi) if (lo..=hi).contains(&i)))
        };
        let rest = || entries.iter().position(|e| *e == MapEntry::Rest);
        exact.or_else(range).or_else(rest).and_then(name)
    }

    /// The default value, parsed from [`PropertyDecl::default`]; `None` if
    /// there is none or it does not parse (see
    /// [`PropertyDecl::try_default_value`] to tell these apart).
    ///
    /// ```
    /// use cim::{CimDateTime, CimType, CimValue, PropertyDecl, Qualifiers};
    ///
    /// static TBR: PropertyDecl = PropertyDecl {
    ///     name: "TimeBeforeRemoval", ty: CimType::DateTime, is_array: false, class_origin: "CIM_ConcreteJob",
    ///     qualifiers: Qualifiers { required: true, write: true, interval: true, ..Qualifiers::NONE },
    ///     description: "", default: Some("00000000000500.000000:000"), reference_class: None,
    /// };
    /// let d = TBR.default_value().unwrap();
    /// assert_eq!(d.as_datetime().unwrap().to_duration()?, jiff::SignedDuration::from_mins(5));
    /// # Ok::<(), cim::DateTimeError>(())
    /// ```
    pub fn default_value(&self) -> Option<CimValue> {
        self.try_default_value().ok().flatten()
    }

    /// The default value, or why the declared default text does not parse
    /// as the property's type. For arrays, the text is split at `,` and
    /// each element is trimmed and parsed; `""` is the empty array.
    ///
    /// ```
    /// use cim::{CimType, PropertyDecl, Qualifiers};
    ///
    /// let bad = PropertyDecl { name: "JobRunTimes", ty: CimType::UInt32, is_array: false,
    ///     class_origin: "CIM_Job", qualifiers: Qualifiers::NONE, description: "", default: Some("-1"), reference_class: None };
    /// assert!(bad.try_default_value().is_err());
    /// ```
    pub fn try_default_value(&self) -> Result<Option<CimValue>, ValueError> {
        let Some(text) = self.default else {
            return Ok(None);
        };
        if !self.is_array {
            return CimValue::parse(self.ty, text).map(Some);
        }
        let items = if text.trim().is_empty() {
            Vec::new()
        } else {
            text.split(',')
                .map(|t| CimValue::parse(self.ty, t.trim()))
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(Some(CimValue::Array(crate::value::CimArray::new(
            self.ty, items,
        )?)))
    }

    /// Inconsistencies in the declaration itself, for table tests: a
    /// default that does not parse or breaks the rules, `ValueMap` entries
    /// that are not integers or ranges on an integer property, `Values`
    /// and `ValueMap` of different lengths, `MinValue` above `MaxValue`,
    /// qualifiers on the wrong type. Empty when the declaration is sound.
    ///
    /// ```
    /// use cim::{CimType, PropertyDecl, Qualifiers};
    ///
    /// let d = PropertyDecl { name: "JobState", ty: CimType::UInt16, is_array: false, class_origin: "CIM_ConcreteJob",
    ///     qualifiers: Qualifiers { value_map: &["2", "3"], values: &["New"], ..Qualifiers::NONE },
    ///     description: "", default: None, reference_class: None };
    /// assert_eq!(d.defects().len(), 1);
    /// ```
    pub fn defects(&self) -> Vec<String> {
        let q = &self.qualifiers;
        let mut out = Vec::new();
        let name = self.name;
        if !q.value_map.is_empty() && q.values.len() != q.value_map.len() {
            out.push(format!(
                "property {name}: Values has {} entries but ValueMap has {}",
                q.values.len(),
                q.value_map.len()
            ));
        }
        if self.ty.is_integer() {
            for e in q.value_map {
                if parse_entry(e, self.ty) == MapEntry::Invalid {
                    out.push(format!(
                        "property {name}: ValueMap entry {e:?} is not an integer or a range of {}",
                        self.ty
                    ));
                }
            }
        }
        if let (Some(min), Some(max)) = (q.min_value, q.max_value) {
            if min > max {
                out.push(format!(
                    "property {name}: MinValue {min} is above MaxValue {max}"
                ));
            }
        }
        if (q.min_value.is_some() || q.max_value.is_some()) && !self.ty.is_integer() {
            out.push(format!(
                "property {name}: MinValue/MaxValue on non-integer type {}",
                self.ty
            ));
        }
        if q.max_len.is_some() && self.ty != CimType::String {
            out.push(format!(
                "property {name}: MaxLen on non-string type {}",
                self.ty
            ));
        }
        if q.interval && self.ty != CimType::DateTime {
            out.push(format!(
                "property {name}: SubType(\"interval\") on non-datetime type {}",
                self.ty
            ));
        }
        if (q.embedded_instance.is_some() || q.embedded_object) && self.ty != CimType::String {
            out.push(format!(
                "property {name}: EmbeddedInstance/EmbeddedObject on non-string type {}",
                self.ty
            ));
        }
        if q.array_type_indexed && !self.is_array {
            out.push(format!(
                "property {name}: ArrayType(\"Indexed\") on a non-array property"
            ));
        }
        match self.try_default_value() {
            Err(e) => out.push(format!(
                "property {name}: default {:?} does not parse: {e}",
                self.default.unwrap_or("")
            )),
            Ok(Some(v)) => {
                if let Err(e) = self.check(Some(&v)) {
                    out.push(format!("default breaks the declaration: {e}"));
                }
            }
            Ok(None) => {}
        }
        out
    }
}
