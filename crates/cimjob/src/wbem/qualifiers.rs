//! The qualifier declarations of the qualifiers our classes carry (DSP0004's standard
//! qualifiers, as the DMTF schema's qualifiers.mof declares them, and our `SubType`), for
//! GetQualifier and
//! EnumerateQualifiers: clients such as pywbemcli read them to filter classes (`class
//! enumerate --association`) and to tell what a qualifier means. The declarations are fixed,
//! like the classes: SetQualifier and DeleteQualifier are refused.

use cim::xml::{CimError, Flavors, IReturnValue, QualifierDeclaration, Scopes};
use cim::{CimStatusCode, CimType, CimValue};

use super::operation::{error, Answer, Call};

/// Where one declaration may be used.
const CLASSES: Scopes = Scopes {
    class: true,
    association: true,
    indication: true,
    ..Scopes::NONE
};
const ELEMENTS: Scopes = Scopes {
    property: true,
    method: true,
    parameter: true,
    ..Scopes::NONE
};
const CLASSES_AND_INDICATIONS: Scopes = Scopes {
    class: true,
    indication: true,
    ..Scopes::NONE
};
const PARAMETERS: Scopes = Scopes {
    parameter: true,
    ..Scopes::NONE
};
const ONLY_PROPERTIES: Scopes = Scopes {
    property: true,
    ..Scopes::NONE
};
const PROPERTIES: Scopes = Scopes {
    property: true,
    reference: true,
    ..Scopes::NONE
};

/// Flavor shorthands: qualifiers.mof's `DisableOverride`, `Restricted`, `Translatable`.
const DISABLE_OVERRIDE: Flavors = Flavors {
    overridable: false,
    ..Flavors::DEFAULT
};
const RESTRICTED: Flavors = Flavors {
    to_subclass: false,
    ..Flavors::DEFAULT
};
const TRANSLATABLE: Flavors = Flavors {
    translatable: true,
    ..Flavors::DEFAULT
};

/// One declaration.
fn declare(
    name: &str,
    ty: CimType,
    is_array: bool,
    value: Option<CimValue>,
    scopes: Scopes,
    flavors: Flavors,
) -> QualifierDeclaration {
    QualifierDeclaration {
        name: name.to_owned(),
        ty,
        is_array,
        array_size: None,
        value,
        scopes,
        flavors,
    }
}

/// Every qualifier our classes, properties, methods and parameters carry, and `Experimental`
/// (none of ours is, but clients ask for its declaration to filter by it), in name order.
pub fn declarations() -> Vec<QualifierDeclaration> {
    use CimType::{Boolean, SInt64, String as Str, UInt32};
    let no = || Some(CimValue::Boolean(false));
    let mut all = vec![
        declare("Abstract", Boolean, false, no(), CLASSES, RESTRICTED),
        declare(
            "ArrayType",
            Str,
            false,
            Some("Bag".into()),
            Scopes {
                property: true,
                parameter: true,
                ..Scopes::NONE
            },
            DISABLE_OVERRIDE,
        ),
        declare(
            "Association",
            Boolean,
            false,
            no(),
            Scopes {
                association: true,
                ..Scopes::NONE
            },
            DISABLE_OVERRIDE,
        ),
        declare("Deprecated", Str, true, None, Scopes::ANY, RESTRICTED),
        declare("Description", Str, false, None, Scopes::ANY, TRANSLATABLE),
        declare(
            "EmbeddedInstance",
            Str,
            false,
            None,
            ELEMENTS,
            Flavors::DEFAULT,
        ),
        declare(
            "EmbeddedObject",
            Boolean,
            false,
            no(),
            ELEMENTS,
            DISABLE_OVERRIDE,
        ),
        declare(
            "Exception",
            Boolean,
            false,
            no(),
            CLASSES_AND_INDICATIONS,
            DISABLE_OVERRIDE,
        ),
        declare(
            "In",
            Boolean,
            false,
            Some(CimValue::Boolean(true)),
            PARAMETERS,
            DISABLE_OVERRIDE,
        ),
        declare(
            "Experimental",
            Boolean,
            false,
            no(),
            Scopes::ANY,
            RESTRICTED,
        ),
        declare(
            "Indication",
            Boolean,
            false,
            no(),
            CLASSES_AND_INDICATIONS,
            DISABLE_OVERRIDE,
        ),
        declare("Key", Boolean, false, no(), PROPERTIES, DISABLE_OVERRIDE),
        declare("MaxLen", UInt32, false, None, ELEMENTS, Flavors::DEFAULT),
        declare("MaxValue", SInt64, false, None, ELEMENTS, Flavors::DEFAULT),
        declare("MinValue", SInt64, false, None, ELEMENTS, Flavors::DEFAULT),
        declare("Out", Boolean, false, no(), PARAMETERS, DISABLE_OVERRIDE),
        declare(
            "Required",
            Boolean,
            false,
            no(),
            Scopes {
                method: true,
                parameter: true,
                ..PROPERTIES
            },
            DISABLE_OVERRIDE,
        ),
        // ours: a datetime property that holds an interval, never a timestamp
        declare(
            "SubType",
            Str,
            false,
            None,
            Scopes {
                property: true,
                parameter: true,
                ..Scopes::NONE
            },
            Flavors::DEFAULT,
        ),
        declare("Units", Str, false, None, ELEMENTS, TRANSLATABLE),
        declare("ValueMap", Str, true, None, ELEMENTS, Flavors::DEFAULT),
        declare("Values", Str, true, None, ELEMENTS, TRANSLATABLE),
        declare(
            "Version",
            Str,
            false,
            None,
            CLASSES,
            Flavors {
                translatable: true,
                ..RESTRICTED
            },
        ),
        declare(
            "Write",
            Boolean,
            false,
            no(),
            ONLY_PROPERTIES,
            Flavors::DEFAULT,
        ),
    ];
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

/// The declaration `QualifierName` names (ASCII case ignored), or NOT_FOUND.
fn declared(c: &Call<'_>) -> Result<QualifierDeclaration, CimError> {
    let name = c
        .params
        .str("QualifierName")?
        .ok_or_else(|| super::operation::Params::wrong("QualifierName", "given"))?;
    declarations()
        .into_iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            error(
                CimStatusCode::NotFound,
                format!("no qualifier {name:?} is declared in {}", c.ns),
            )
        })
}

/// GetQualifier: the declaration `QualifierName` names, or NOT_FOUND.
pub fn get_qualifier(c: &Call<'_>) -> Result<Answer, CimError> {
    Answer::value(IReturnValue::QualifierDeclarations(vec![declared(c)?]))
}

/// EnumerateQualifiers: every declaration.
pub fn enumerate_qualifiers(_: &Call<'_>) -> Result<Answer, CimError> {
    Answer::value(IReturnValue::QualifierDeclarations(declarations()))
}

/// SetQualifier and DeleteQualifier: the declarations are this server's own and fixed
/// (NOT_SUPPORTED); deleting one that is not declared is NOT_FOUND.
pub fn change_qualifier(c: &Call<'_>) -> Result<Answer, CimError> {
    if c.name == "DeleteQualifier" {
        declared(c)?;
    }
    Err(error(
        CimStatusCode::NotSupported,
        format!(
            "{}: the qualifier declarations of this server are fixed, like its classes",
            c.name
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_qualifier_a_class_carries_is_declared() {
        let declared: Vec<String> = declarations().into_iter().map(|d| d.name).collect();
        let repo = super::super::classes::repository();
        for ns in [super::super::classes::CIMV2, super::super::classes::INTEROP] {
            for decl in repo.subclasses(ns, None, true) {
                let options = super::super::class_ops::ClassOptions {
                    local_only: false,
                    include_qualifiers: true,
                    include_class_origin: false,
                    property_list: None,
                };
                let class = super::super::class_ops::wire_class(ns, decl, &options);
                let used = class
                    .qualifiers
                    .iter()
                    .chain(class.properties.iter().flat_map(|p| &p.qualifiers))
                    .chain(class.methods.iter().flat_map(|m| {
                        m.qualifiers
                            .iter()
                            .chain(m.parameters.iter().flat_map(|p| &p.qualifiers))
                    }));
                for q in used {
                    assert!(
                        declared.contains(&q.name),
                        "{}: qualifier {} is not declared",
                        decl.name,
                        q.name
                    );
                }
            }
        }
    }
}
