//! GetClass and EnumerateClasses answers, built from the class declarations (the one
//! definition of each class) with LocalOnly, IncludeQualifiers, IncludeClassOrigin and
//! PropertyList applied.

use cim::xml::{CimError, Class, IReturnValue, Method, Parameter, QualifierValue};
use cim::{CimStatusCode, ClassDecl, MethodDecl, ParameterDecl, PropertyDecl};

use super::classes::repository;
use super::operation::{error, known_class, Answer, Call, Params};

/// GetClass.
pub fn get_class(call: &Call<'_>) -> Result<Answer, CimError> {
    let p = &call.params;
    let class = p.required_class_name("ClassName")?;
    let options = ClassOptions::read(p, p.property_list()?)?;
    let decl = repository().class(call.ns, class).ok_or_else(|| {
        error(
            CimStatusCode::NotFound,
            format!("class {class:?} does not exist in {}", call.ns),
        )
    })?;
    Answer::value(IReturnValue::Classes(vec![wire_class(
        call.ns, decl, &options,
    )]))
}

/// EnumerateClasses and EnumerateClassNames.
pub fn enumerate_classes(call: &Call<'_>) -> Result<Answer, CimError> {
    let p = &call.params;
    let class = p.class_name("ClassName")?;
    if let Some(c) = class {
        known_class(call.ns, c, CimStatusCode::InvalidClass)?;
    }
    let deep = p.bool("DeepInheritance", false)?;
    let classes = repository().subclasses(call.ns, class, deep);
    if call.name.eq_ignore_ascii_case("EnumerateClassNames") {
        let names = classes.iter().map(|c| c.name.to_string()).collect();
        return Answer::value(IReturnValue::ClassNames(names));
    }
    let options = ClassOptions::read(p, None)?;
    let wire = classes
        .iter()
        .map(|c| wire_class(call.ns, c, &options))
        .collect();
    Answer::value(IReturnValue::Classes(wire))
}

/// What a class answer carries.
pub struct ClassOptions {
    /// Only what the class itself defines or overrides.
    pub local_only: bool,
    /// Class, property, method and parameter qualifiers.
    pub include_qualifiers: bool,
    /// CLASSORIGIN on properties and methods.
    pub include_class_origin: bool,
    /// Only these properties (`None` = all).
    pub property_list: Option<Vec<String>>,
}

impl ClassOptions {
    /// The options a request gives, with DSP0200's defaults.
    fn read(p: &Params<'_>, property_list: Option<Vec<String>>) -> Result<ClassOptions, CimError> {
        Ok(ClassOptions {
            local_only: p.bool("LocalOnly", true)?,
            include_qualifiers: p.bool("IncludeQualifiers", true)?,
            include_class_origin: p.bool("IncludeClassOrigin", false)?,
            property_list,
        })
    }
}

fn class_qualifiers(decl: &ClassDecl) -> Vec<QualifierValue> {
    let mut q = Vec::new();
    if decl.is_abstract {
        q.push(QualifierValue::new("Abstract", true).not_overridable());
    }
    if decl.is_association {
        q.push(QualifierValue::new("Association", true).not_overridable());
    }
    if decl.is_indication {
        q.push(QualifierValue::new("Indication", true).not_overridable());
    }
    if decl.is_exception {
        q.push(QualifierValue::new("Exception", true).not_overridable());
    }
    if !decl.deprecated.is_empty() {
        q.push(QualifierValue::strings("Deprecated", decl.deprecated));
    }
    if !decl.description.is_empty() {
        q.push(QualifierValue::new("Description", decl.description).translatable());
    }
    if let Some(v) = decl.version {
        q.push(QualifierValue::new("Version", v).translatable());
    }
    q
}

fn map_qualifiers(
    q: &mut Vec<QualifierValue>,
    description: &str,
    value_map: &[&str],
    values: &[&str],
    deprecated: &[&str],
) {
    if !deprecated.is_empty() {
        q.push(QualifierValue::strings("Deprecated", deprecated));
    }
    if !description.is_empty() {
        q.push(QualifierValue::new("Description", description).translatable());
    }
    if !value_map.is_empty() {
        q.push(QualifierValue::strings("ValueMap", value_map));
    }
    if !values.is_empty() {
        q.push(QualifierValue::strings("Values", values).translatable());
    }
}

fn parameter(p: &ParameterDecl, include_qualifiers: bool) -> Parameter {
    let mut out = match p.reference_class {
        Some(class) if p.ty == cim::CimType::Reference => Parameter::reference(p.name, Some(class)),
        _ => Parameter::new(p.name, p.ty, p.is_array),
    };
    if include_qualifiers {
        let mut q = Vec::new();
        if p.is_in {
            q.push(QualifierValue::new("In", true).not_overridable());
        }
        if p.is_out {
            q.push(QualifierValue::new("Out", true).not_overridable());
        }
        if p.required {
            q.push(QualifierValue::new("Required", true).not_overridable());
        }
        if let Some(c) = p.embedded_instance {
            q.push(QualifierValue::new("EmbeddedInstance", c));
        }
        map_qualifiers(&mut q, p.description, p.value_map, p.values, &[]);
        out.qualifiers = q;
    }
    out
}

fn method(m: &MethodDecl, origin: &str, propagated: bool, options: &ClassOptions) -> Method {
    let mut out = Method::new(m.name, Some(m.return_type));
    out.propagated = propagated;
    if options.include_class_origin {
        out.class_origin = Some(origin.to_string());
    }
    if options.include_qualifiers {
        let mut q = Vec::new();
        map_qualifiers(&mut q, m.description, m.value_map, m.values, m.deprecated);
        out.qualifiers = q;
    }
    out.parameters = m
        .parameters
        .iter()
        .map(|p| parameter(p, options.include_qualifiers))
        .collect();
    out
}

/// The class `decl` of `namespace` as a CIM-XML class.
pub fn wire_class(namespace: &str, decl: &ClassDecl, options: &ClassOptions) -> Class {
    let repo = repository();
    let listed = |name: &str| {
        options
            .property_list
            .as_ref()
            .is_none_or(|l| l.iter().any(|n| n.eq_ignore_ascii_case(name)))
    };
    let properties: Vec<(&PropertyDecl, &str, bool)> = repo
        .all_properties(namespace, decl.name)
        .into_iter()
        .filter(|(p, _, propagated)| !(options.local_only && *propagated) && listed(p.name))
        .collect();
    let decls: Vec<&PropertyDecl> = properties.iter().map(|(p, _, _)| *p).collect();
    let qualifiers = if options.include_qualifiers {
        class_qualifiers(decl)
    } else {
        Vec::new()
    };
    let mut class = Class::from_decls(decl.name, decl.superclass, &decls, qualifiers);
    for (wire, (_, origin, propagated)) in class.properties.iter_mut().zip(&properties) {
        wire.propagated = *propagated;
        wire.class_origin = options.include_class_origin.then(|| origin.to_string());
        if !options.include_qualifiers {
            wire.qualifiers.clear();
        }
    }
    class.methods = repo
        .all_methods(namespace, decl.name)
        .into_iter()
        .filter(|(_, _, propagated)| !(options.local_only && *propagated))
        .map(|(m, origin, propagated)| method(m, origin, propagated, options))
        .collect();
    class
}
