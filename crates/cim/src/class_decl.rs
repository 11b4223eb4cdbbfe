//! Class, method and parameter declarations ([`ClassDecl`], [`MethodDecl`],
//! [`ParameterDecl`]), and how a class inherits from its superclasses.
//!
//! Why: a WBEM server answers `GetClass`/`EnumerateClasses` from its class
//! definitions, and checks every instance it stores and every method
//! parameter it receives against the same definitions. Declaring each class
//! once, as `'static` data, keeps those two from drifting apart.
//!
//! A [`ClassDecl`] holds only its *local* elements: the properties and
//! methods it defines or overrides. The inherited view (what `GetClass`
//! returns without `LocalOnly`) comes from [`resolve_properties`] and
//! [`resolve_methods`], given the class and its superclasses.
//!
//! ## CLASSORIGIN and PROPAGATED (DSP0004, DSP0201)
//!
//! - An element's **class origin** is the class that *first* declared its
//!   name, walking down from the root: `InstanceID` on `CIM_ConcreteJob` has
//!   origin `CIM_ManagedElement` even though `CIM_ConcreteJob` overrides it
//!   as a Key. (`pywbem_mock` resolves classes the same way.)
//! - An element is **propagated** iff the class itself neither defines nor
//!   overrides it. So an override is *not* propagated, which is what
//!   `LocalOnly` needs (DSP0200: "only elements defined or overridden within
//!   the definition of the class are returned"): `LocalOnly` = drop the
//!   propagated ones. (`pywbem_mock` marks overrides propagated; we do not.)
//! - The **declaration** that applies is the most derived one: the override
//!   (its Key, Required, description) wins over the overridden one.
//!
//! [`PropertyDecl::class_origin`] of a local property names the class where
//! *that* declaration sits, which for an override differs from the
//! CLASSORIGIN above; writers of CIM-XML should take the origin from
//! [`resolve_properties`].
//!
//! ```
//! use cim::{ClassDecl, CimType, PropertyDecl, Qualifiers};
//! use cim::class_decl::resolve_properties;
//!
//! const fn string(class: &'static str, name: &'static str, key: bool) -> PropertyDecl {
//!     PropertyDecl { name, ty: CimType::String, is_array: false, class_origin: class,
//!         qualifiers: Qualifiers { key, ..Qualifiers::NONE }, description: "",
//!         default: None, reference_class: None }
//! }
//! static BASE: ClassDecl = ClassDecl {
//!     is_abstract: true,
//!     properties: &[string("X_Base", "InstanceID", false), string("X_Base", "Caption", false)],
//!     ..ClassDecl::new("X_Base", None, "A root class.")
//! };
//! static JOB: ClassDecl = ClassDecl {
//!     properties: &[string("X_Job", "InstanceID", true)],
//!     ..ClassDecl::new("X_Job", Some("X_Base"), "Overrides InstanceID as the key.")
//! };
//!
//! let all = resolve_properties(&[&JOB, &BASE]);
//! let (decl, origin, propagated) = all[0];
//! assert_eq!((decl.name, decl.qualifiers.key, origin, propagated), ("InstanceID", true, "X_Base", false));
//! let (decl, origin, propagated) = all[1];
//! assert_eq!((decl.name, origin, propagated), ("Caption", "X_Base", true));
//! ```

use std::fmt;

use crate::decl::{DeclError, DeclErrorKind, PropertyDecl, Qualifiers};
use crate::status::CimStatusCode;
use crate::value::{CimType, CimValue};

/// The declaration of one CIM class as its MOF states it: class qualifiers,
/// superclass, and the properties and methods it defines or overrides.
///
/// Everything is `'static` so a class can be a `static` table. A property
/// list computed at start-up (e.g. from a provider's own property table)
/// can live in a `static` [`std::sync::OnceLock`] and be borrowed from
/// there.
///
/// ```
/// use cim::ClassDecl;
///
/// static INDICATION: ClassDecl = ClassDecl {
///     is_abstract: true,
///     is_indication: true,
///     version: Some("2.24.0"),
///     ..ClassDecl::new("CIM_Indication", None, "The root of all indications.")
/// };
/// assert!(INDICATION.property("IndicationTime").is_none());
/// assert!(INDICATION.defects().is_empty());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClassDecl {
    /// The class name, e.g. `"CIM_ConcreteJob"`.
    pub name: &'static str,
    /// The direct superclass; `None` for a root class.
    pub superclass: Option<&'static str>,
    /// The `Description` qualifier.
    pub description: &'static str,
    /// The `Version` qualifier (`M.N.U`), if known.
    pub version: Option<&'static str>,
    /// `Abstract`: no instances of exactly this class exist.
    pub is_abstract: bool,
    /// `Association`: the class relates other instances through reference
    /// properties (only associations may have references).
    pub is_association: bool,
    /// `Indication`: instances are events delivered to listeners, never
    /// stored.
    pub is_indication: bool,
    /// `Exception`: instances describe errors (e.g. `CIM_Error`).
    pub is_exception: bool,
    /// `Deprecated`: the elements that replace this class (empty if not
    /// deprecated).
    pub deprecated: &'static [&'static str],
    /// The properties this class defines or overrides (not the inherited
    /// ones; see [`resolve_properties`]).
    pub properties: &'static [PropertyDecl],
    /// The methods this class defines or overrides.
    pub methods: &'static [MethodDecl],
}

impl ClassDecl {
    /// A concrete, plain class with no qualifiers, properties or methods;
    /// the base for struct-update syntax in `static` tables.
    ///
    /// ```
    /// let c = cim::ClassDecl::new("CIM_ManagedElement", None, "The root.");
    /// assert!(!c.is_abstract && c.properties.is_empty());
    /// ```
    pub const fn new(
        name: &'static str,
        superclass: Option<&'static str>,
        description: &'static str,
    ) -> ClassDecl {
        ClassDecl {
            name,
            superclass,
            description,
            version: None,
            is_abstract: false,
            is_association: false,
            is_indication: false,
            is_exception: false,
            deprecated: &[],
            properties: &[],
            methods: &[],
        }
    }

    /// The local property with this name, ignoring case as CIM does.
    pub fn property(&self, name: &str) -> Option<&PropertyDecl> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The local method with this name, ignoring case.
    pub fn method(&self, name: &str) -> Option<&MethodDecl> {
        self.methods
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(name))
    }

    /// Inconsistencies within this class alone, for table tests: every
    /// property's and method's own defects, names declared twice, Key
    /// properties that are arrays, reference properties outside an
    /// association or without a reference class, and a reference class on
    /// a non-reference. Checks that need other classes (superclass exists,
    /// override types match) belong to whoever holds all the classes.
    pub fn defects(&self) -> Vec<String> {
        let class = self.name;
        let mut out = Vec::new();
        for (i, p) in self.properties.iter().enumerate() {
            let name = p.name;
            out.extend(p.defects().into_iter().map(|d| format!("{class}: {d}")));
            if self.properties[..i]
                .iter()
                .any(|q| q.name.eq_ignore_ascii_case(name))
            {
                out.push(format!("{class}: property {name} is declared twice"));
            }
            if p.qualifiers.key && p.is_array {
                out.push(format!("{class}: Key property {name} is an array"));
            }
            out.extend(reference_defects(
                class,
                "property",
                name,
                p.ty,
                p.reference_class,
            ));
            if p.ty == CimType::Reference && !self.is_association {
                out.push(format!(
                    "{class}: reference property {name} in a class that is not an Association"
                ));
            }
        }
        for (i, m) in self.methods.iter().enumerate() {
            out.extend(m.defects().into_iter().map(|d| format!("{class}: {d}")));
            if self.methods[..i]
                .iter()
                .any(|n| n.name.eq_ignore_ascii_case(m.name))
            {
                out.push(format!("{class}: method {} is declared twice", m.name));
            }
        }
        out
    }
}

/// `reference_class` must be set exactly on reference-typed elements.
fn reference_defects(
    class: &str,
    what: &str,
    name: &str,
    ty: CimType,
    reference_class: Option<&str>,
) -> Option<String> {
    match (ty == CimType::Reference, reference_class) {
        (true, None) => Some(format!(
            "{class}: {what} {name} is a reference without a reference class"
        )),
        (false, Some(c)) => Some(format!(
            "{class}: {what} {name} of type {ty} names reference class {c}"
        )),
        _ => None,
    }
}

/// The declaration of one method: return type, return value map, and
/// parameters.
///
/// ```
/// use cim::{CimType, CimValue, MethodDecl};
///
/// static KILL_JOB: MethodDecl = MethodDecl {
///     name: "KillJob",
///     return_type: CimType::UInt32,
///     description: "Kills the job.",
///     value_map: &["0", "4", ".."],
///     values: &["Success", "Failed", "DMTF Reserved"],
///     deprecated: &["CIM_ConcreteJob.RequestStateChange()"],
///     parameters: &[],
/// };
/// assert_eq!(KILL_JOB.return_value_name(&CimValue::UInt32(4)), Some("Failed"));
/// assert!(KILL_JOB.defects().is_empty());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MethodDecl {
    /// The method name, e.g. `"RequestStateChange"`.
    pub name: &'static str,
    /// The type of the return value (usually `uint32`).
    pub return_type: CimType,
    /// The `Description` qualifier.
    pub description: &'static str,
    /// `ValueMap` of the return value (same forms as
    /// [`Qualifiers::value_map`]).
    pub value_map: &'static [&'static str],
    /// `Values` of the return value, parallel to `value_map`.
    pub values: &'static [&'static str],
    /// `Deprecated`: the elements that replace this method (empty if not).
    pub deprecated: &'static [&'static str],
    /// The parameters, in declaration order.
    pub parameters: &'static [ParameterDecl],
}

impl MethodDecl {
    /// The parameter with this name, ignoring case.
    pub fn parameter(&self, name: &str) -> Option<&ParameterDecl> {
        self.parameters
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The return value seen as a property declaration named after the
    /// method, so the value checks and names of [`PropertyDecl`] apply to
    /// it too.
    pub fn return_decl(&self) -> PropertyDecl {
        PropertyDecl {
            name: self.name,
            ty: self.return_type,
            is_array: false,
            class_origin: "",
            qualifiers: Qualifiers {
                value_map: self.value_map,
                values: self.values,
                deprecated: self.deprecated,
                ..Qualifiers::NONE
            },
            description: self.description,
            default: None,
            reference_class: None,
        }
    }

    /// The `Values` name of a return value, e.g. 4097 → "Invalid State
    /// Transition" (see [`PropertyDecl::value_name`] for the lookup rules).
    pub fn return_value_name(&self, v: &CimValue) -> Option<&'static str> {
        self.return_decl().value_name(v)
    }

    /// Inconsistencies in the declaration, for table tests: the return
    /// map's and every parameter's defects, and parameters declared twice
    /// or neither IN nor OUT.
    pub fn defects(&self) -> Vec<String> {
        let method = self.name;
        let mut out: Vec<String> = self
            .return_decl()
            .defects()
            .into_iter()
            .map(|d| format!("method {method} return value: {d}"))
            .collect();
        for (i, p) in self.parameters.iter().enumerate() {
            out.extend(
                p.defects()
                    .into_iter()
                    .map(|d| format!("method {method}: {d}")),
            );
            if self.parameters[..i]
                .iter()
                .any(|q| q.name.eq_ignore_ascii_case(p.name))
            {
                out.push(format!(
                    "method {method}: parameter {} is declared twice",
                    p.name
                ));
            }
        }
        out
    }
}

/// The declaration of one method parameter with its qualifiers.
///
/// ```
/// use cim::{CimType, CimValue, ParameterDecl};
///
/// static TIMEOUT: ParameterDecl = ParameterDecl {
///     interval: true,
///     ..ParameterDecl::input("TimeoutPeriod", CimType::DateTime, "How long the change may take.")
/// };
/// let five_minutes = CimValue::parse(CimType::DateTime, "00000000000500.000000:000")?;
/// assert!(TIMEOUT.check(Some(&five_minutes)).is_ok());
/// let a_timestamp = CimValue::parse(CimType::DateTime, "20240101120000.000000+000")?;
/// let err = TIMEOUT.check(Some(&a_timestamp)).unwrap_err();
/// assert_eq!(err.parameter(), "TimeoutPeriod");
/// assert!(err.to_string().starts_with("parameter TimeoutPeriod: "));
/// # Ok::<(), cim::ValueError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParameterDecl {
    /// The parameter name, e.g. `"RequestedState"`.
    pub name: &'static str,
    /// The scalar or element type.
    pub ty: CimType,
    /// Whether the parameter is an array of `ty`.
    pub is_array: bool,
    /// For a `reference` parameter: the class it points to
    /// (`CIM_ConcreteJob REF Job`).
    pub reference_class: Option<&'static str>,
    /// `IN`: the client passes it.
    pub is_in: bool,
    /// `OUT`: the method returns it.
    pub is_out: bool,
    /// `Required`: the value must not be NULL.
    pub required: bool,
    /// `EmbeddedInstance("Class")`: a string holding an instance of that
    /// class.
    pub embedded_instance: Option<&'static str>,
    /// `SubType("interval")`: a datetime that must be an interval.
    pub interval: bool,
    /// `ValueMap` (same forms as [`Qualifiers::value_map`]).
    pub value_map: &'static [&'static str],
    /// `Values`, parallel to `value_map`.
    pub values: &'static [&'static str],
    /// The `Description` qualifier.
    pub description: &'static str,
}

impl ParameterDecl {
    /// A plain `[IN]` scalar parameter; the base for struct-update syntax.
    pub const fn input(
        name: &'static str,
        ty: CimType,
        description: &'static str,
    ) -> ParameterDecl {
        ParameterDecl {
            name,
            ty,
            is_array: false,
            reference_class: None,
            is_in: true,
            is_out: false,
            required: false,
            embedded_instance: None,
            interval: false,
            value_map: &[],
            values: &[],
            description,
        }
    }

    /// A plain `[OUT]` scalar parameter; the base for struct-update syntax.
    pub const fn output(
        name: &'static str,
        ty: CimType,
        description: &'static str,
    ) -> ParameterDecl {
        ParameterDecl {
            is_in: false,
            is_out: true,
            ..ParameterDecl::input(name, ty, description)
        }
    }

    /// The parameter seen as a property declaration, so that checking a
    /// parameter value and checking a property value are one piece of code
    /// ([`PropertyDecl::check`]). `class_origin` is empty.
    pub fn as_property_decl(&self) -> PropertyDecl {
        PropertyDecl {
            name: self.name,
            ty: self.ty,
            is_array: self.is_array,
            class_origin: "",
            qualifiers: Qualifiers {
                required: self.required,
                value_map: self.value_map,
                values: self.values,
                embedded_instance: self.embedded_instance,
                interval: self.interval,
                ..Qualifiers::NONE
            },
            description: self.description,
            default: None,
            reference_class: self.reference_class,
        }
    }

    /// Checks a value (`None` = NULL) against this parameter: Required, the
    /// type and array-ness, the `ValueMap`, `SubType("interval")` — the
    /// same rules, in the same order, as [`PropertyDecl::check`].
    ///
    /// ```
    /// use cim::{CimType, CimValue, DeclErrorKind, ParameterDecl};
    ///
    /// static REQUESTED_STATE: ParameterDecl = ParameterDecl {
    ///     value_map: &["2", "3", "4", "5", "6", "7..32767", "32768..65535"],
    ///     values: &["Start", "Suspend", "Terminate", "Kill", "Service", "DMTF Reserved", "Vendor Reserved"],
    ///     ..ParameterDecl::input("RequestedState", CimType::UInt16, "The state to change to.")
    /// };
    /// assert!(REQUESTED_STATE.check(Some(&CimValue::UInt16(4))).is_ok());
    /// let err = REQUESTED_STATE.check(Some(&CimValue::UInt16(1))).unwrap_err();
    /// assert_eq!(err.kind(), &DeclErrorKind::NotInValueMap);
    /// assert_eq!(err.status_code(), cim::CimStatusCode::InvalidParameter);
    /// ```
    pub fn check(&self, value: Option<&CimValue>) -> Result<(), ParameterError> {
        self.as_property_decl().check(value).map_err(ParameterError)
    }

    /// The `Values` name of a value (see [`PropertyDecl::value_name`]).
    pub fn value_name(&self, v: &CimValue) -> Option<&'static str> {
        self.as_property_decl().value_name(v)
    }

    /// Inconsistencies in the declaration, for table tests: those of
    /// [`PropertyDecl::defects`], a parameter that is neither IN nor OUT,
    /// and a reference class on a non-reference (or none on a reference).
    pub fn defects(&self) -> Vec<String> {
        let name = self.name;
        let mut out: Vec<String> = self
            .as_property_decl()
            .defects()
            .into_iter()
            .map(|d| d.replacen("property ", "parameter ", 1))
            .collect();
        if !self.is_in && !self.is_out {
            out.push(format!("parameter {name} is neither IN nor OUT"));
        }
        if let Some(d) = reference_defects("", "parameter", name, self.ty, self.reference_class) {
            out.push(d.trim_start_matches(": ").to_owned());
        }
        out
    }
}

/// A parameter value that breaks its declaration: which parameter, which
/// value, and what rule. It wraps the [`DeclError`] of the same check on a
/// property, and its message says "parameter" where that one says
/// "property".
///
/// ```
/// use cim::{CimType, CimValue, ParameterDecl};
///
/// static ANSWER: ParameterDecl = ParameterDecl {
///     required: true,
///     ..ParameterDecl::input("Answer", CimType::String, "The answer to the job's question.")
/// };
/// let err = ANSWER.check(None).unwrap_err();
/// assert_eq!(err.to_string(), "parameter Answer: value is NULL, but the parameter is Required");
/// let err = ANSWER.check(Some(&CimValue::UInt32(1))).unwrap_err();
/// assert_eq!(err.status_code(), cim::CimStatusCode::TypeMismatch);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ParameterError(DeclError);

impl ParameterError {
    /// The parameter's name.
    pub fn parameter(&self) -> &str {
        self.0.property()
    }

    /// The rule that was broken.
    pub fn kind(&self) -> &DeclErrorKind {
        self.0.kind()
    }

    /// The offending value (the array element for element rules), `None`
    /// for a missing required value.
    pub fn value(&self) -> Option<&CimValue> {
        self.0.value()
    }

    /// The position of the offending element when the parameter is an
    /// array.
    pub fn index(&self) -> Option<usize> {
        self.0.index()
    }

    /// The CIM status to answer with: `CIM_ERR_TYPE_MISMATCH` for a value of
    /// the wrong type, `CIM_ERR_INVALID_PARAMETER` otherwise.
    pub fn status_code(&self) -> CimStatusCode {
        self.0.status_code()
    }

    /// The underlying check error, with the parameter seen as a property
    /// (for its limits and value map).
    pub fn decl_error(&self) -> &DeclError {
        &self.0
    }
}

impl fmt::Display for ParameterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        let prefix = format!("property {}: ", self.0.property());
        let rule = text.strip_prefix(&prefix).unwrap_or(&text);
        let rule = rule.replace("the property is", "the parameter is");
        write!(f, "parameter {}: {rule}", self.0.property())
    }
}

impl std::error::Error for ParameterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Every property of the class `chain[0]`, inherited ones included, given
/// the class and its superclasses **self first, root last**.
///
/// Each entry is `(declaration, class origin, propagated)` under the
/// DSP0004 rules in the [module docs](self): the most derived declaration,
/// the class that first declared the name, and whether `chain[0]` itself
/// does not define or override it. Order: root class properties first, each
/// class's in declaration order; an override keeps the position of the
/// property it overrides. Names compare case-insensitively. An empty chain
/// gives an empty list.
pub fn resolve_properties<'a>(
    chain: &[&'a ClassDecl],
) -> Vec<(&'a PropertyDecl, &'static str, bool)> {
    let Some(this) = chain.first() else {
        return Vec::new();
    };
    let mut out: Vec<(&'a PropertyDecl, &'static str, &'static str)> = Vec::new();
    for class in chain.iter().rev() {
        for p in class.properties.iter() {
            match out
                .iter_mut()
                .find(|e| e.0.name.eq_ignore_ascii_case(p.name))
            {
                Some(entry) => {
                    entry.0 = p;
                    entry.2 = class.name;
                }
                None => out.push((p, class.name, class.name)),
            }
        }
    }
    out.into_iter()
        .map(|(p, origin, defined_in)| (p, origin, defined_in != this.name))
        .collect()
}

/// Every method of the class `chain[0]`, inherited ones included; the same
/// rules and order as [`resolve_properties`].
pub fn resolve_methods<'a>(chain: &[&'a ClassDecl]) -> Vec<(&'a MethodDecl, &'static str, bool)> {
    let Some(this) = chain.first() else {
        return Vec::new();
    };
    let mut out: Vec<(&'a MethodDecl, &'static str, &'static str)> = Vec::new();
    for class in chain.iter().rev() {
        for m in class.methods {
            match out
                .iter_mut()
                .find(|e| e.0.name.eq_ignore_ascii_case(m.name))
            {
                Some(entry) => {
                    entry.0 = m;
                    entry.2 = class.name;
                }
                None => out.push((m, class.name, class.name)),
            }
        }
    }
    out.into_iter()
        .map(|(m, origin, defined_in)| (m, origin, defined_in != this.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn prop(class: &'static str, name: &'static str, q: Qualifiers) -> PropertyDecl {
        PropertyDecl {
            name,
            ty: CimType::String,
            is_array: false,
            class_origin: class,
            qualifiers: q,
            description: "",
            default: None,
            reference_class: None,
        }
    }

    static ROOT: ClassDecl = ClassDecl {
        properties: &[
            prop("T_Root", "InstanceID", Qualifiers::NONE),
            prop("T_Root", "Caption", Qualifiers::NONE),
        ],
        methods: &[MethodDecl {
            name: "Ping",
            return_type: CimType::UInt32,
            description: "",
            value_map: &[],
            values: &[],
            deprecated: &[],
            parameters: &[],
        }],
        ..ClassDecl::new("T_Root", None, "")
    };
    static MIDDLE: ClassDecl = ClassDecl {
        properties: &[
            prop(
                "T_Middle",
                "instanceid",
                Qualifiers {
                    key: true,
                    ..Qualifiers::NONE
                },
            ),
            prop("T_Middle", "Name", Qualifiers::NONE),
        ],
        ..ClassDecl::new("T_Middle", Some("T_Root"), "")
    };
    static LEAF: ClassDecl = ClassDecl {
        properties: &[prop("T_Leaf", "Extra", Qualifiers::NONE)],
        ..ClassDecl::new("T_Leaf", Some("T_Middle"), "")
    };

    #[test]
    fn an_override_keeps_its_origin_and_position_and_is_local_where_declared() {
        let middle = resolve_properties(&[&MIDDLE, &ROOT]);
        let names: Vec<_> = middle.iter().map(|e| (e.0.name, e.1, e.2)).collect();
        assert_eq!(
            names,
            [
                ("instanceid", "T_Root", false),
                ("Caption", "T_Root", true),
                ("Name", "T_Middle", false)
            ]
        );
        assert!(middle[0].0.qualifiers.key, "the override wins");
    }

    #[test]
    fn below_the_override_everything_inherited_is_propagated() {
        let leaf = resolve_properties(&[&LEAF, &MIDDLE, &ROOT]);
        let flags: Vec<_> = leaf.iter().map(|e| (e.0.name, e.1, e.2)).collect();
        assert_eq!(
            flags,
            [
                ("instanceid", "T_Root", true),
                ("Caption", "T_Root", true),
                ("Name", "T_Middle", true),
                ("Extra", "T_Leaf", false)
            ]
        );
        let methods = resolve_methods(&[&LEAF, &MIDDLE, &ROOT]);
        assert_eq!(methods.len(), 1);
        assert_eq!((methods[0].1, methods[0].2), ("T_Root", true));
        assert!(resolve_properties(&[]).is_empty());
    }

    #[test]
    fn class_defects_find_duplicates_array_keys_and_stray_references() {
        static BAD: ClassDecl = ClassDecl {
            properties: &[
                PropertyDecl {
                    is_array: true,
                    ..prop(
                        "T_Bad",
                        "Keys",
                        Qualifiers {
                            key: true,
                            ..Qualifiers::NONE
                        },
                    )
                },
                prop("T_Bad", "KEYS", Qualifiers::NONE),
                PropertyDecl {
                    ty: CimType::Reference,
                    ..prop("T_Bad", "Ref", Qualifiers::NONE)
                },
            ],
            ..ClassDecl::new("T_Bad", None, "")
        };
        let d = BAD.defects();
        assert!(d.iter().any(|d| d.contains("Keys is an array")), "{d:?}");
        assert!(
            d.iter().any(|d| d.contains("KEYS is declared twice")),
            "{d:?}"
        );
        assert!(
            d.iter().any(|d| d.contains("without a reference class")),
            "{d:?}"
        );
        assert!(d.iter().any(|d| d.contains("not an Association")), "{d:?}");
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(ROOT.defects().is_empty());
    }

    #[test]
    fn parameter_defects_read_parameter_and_catch_neither_in_nor_out() {
        static P: ParameterDecl = ParameterDecl {
            is_in: false,
            value_map: &["1", "2"],
            values: &["One"],
            reference_class: Some("CIM_Job"),
            ..ParameterDecl::input("Odd", CimType::UInt16, "")
        };
        let d = P.defects();
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(
            d[0].starts_with("parameter Odd: Values has 1 entries"),
            "{d:?}"
        );
        assert!(d.contains(&"parameter Odd is neither IN nor OUT".to_owned()));
        assert!(
            d.iter()
                .any(|d| d.contains("names reference class CIM_Job")),
            "{d:?}"
        );
    }

    #[test]
    fn parameter_errors_name_the_parameter_and_keep_the_rule() {
        static LIST: ParameterDecl = ParameterDecl {
            is_array: true,
            value_map: &["2", "3"],
            values: &["Two", "Three"],
            ..ParameterDecl::input("States", CimType::UInt16, "")
        };
        let v = CimValue::Array(
            crate::value::CimArray::new(
                CimType::UInt16,
                vec![CimValue::UInt16(2), CimValue::UInt16(9)],
            )
            .unwrap(),
        );
        let err = LIST.check(Some(&v)).unwrap_err();
        assert_eq!(err.parameter(), "States");
        assert_eq!(err.index(), Some(1));
        assert_eq!(err.value(), Some(&CimValue::UInt16(9)));
        assert_eq!(
            err.to_string(),
            "parameter States: element 1 value 9 is not allowed by the ValueMap (allowed: 2, 3)"
        );
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(LIST.value_name(&CimValue::UInt16(3)), Some("Three"));
    }

    #[test]
    fn output_parameters_are_out_only() {
        let p = ParameterDecl::output("Job", CimType::Reference, "");
        assert!(p.is_out && !p.is_in);
        assert_eq!(p.as_property_decl().ty, CimType::Reference);
    }
}
