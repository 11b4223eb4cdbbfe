//! The association operations: Associators, AssociatorNames, References, ReferenceNames and
//! their Open* forms, walked over the catalog's association instances.

use cim::xml::{CimError, IReturnValue, Object, ObjectName, ObjectWithPath, ParamValue};
use cim::CimStatusCode;

use super::classes::{canonical_namespace, repository};
use super::objects::{references_of, same_object, Item, Projection};
use super::operation::{known_class, with_namespace, Answer, Call, Params};
use super::pull::{kind_of, Kept, PullFilter};
use super::service::Wbem;

/// Associators, AssociatorNames, References, ReferenceNames.
pub async fn associated(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let associators = c.name.starts_with("Associator");
    let items = walk(w, c, associators).await?;
    if c.name.ends_with("Names") {
        let paths = items
            .iter()
            .map(|i| ObjectName::Instance(w.full_path(i.path())))
            .collect();
        return Answer::value(IReturnValue::ObjectPaths(paths));
    }
    let projection = projection(c)?;
    let objects = items
        .iter()
        .map(|i| ObjectWithPath {
            path: w.full_path(i.path()),
            object: Object::Instance(projection.apply(i.instance(&c.view))),
        })
        .collect();
    Answer::value(IReturnValue::ObjectsWithPath(objects))
}

/// OpenAssociatorInstances(Paths) and OpenReferenceInstances(Paths).
pub async fn open_associated(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let associators = c.name.starts_with("OpenAssociator");
    let wanted = PullFilter::of(c)?;
    let items = wanted.keep(c, walk(w, c, associators).await?)?;
    let kept = items.into_iter().map(Kept::of).collect();
    w.pulls
        .open(&w.engine, c, kept, projection(c)?, None, kind_of(c.name))
        .await
}

/// How associated objects are shown: every class, PropertyList and IncludeClassOrigin as
/// asked.
fn projection(c: &Call<'_>) -> Result<Projection, CimError> {
    Ok(Projection::new(
        c.ns,
        c.params.property_list()?,
        None,
        true,
        false,
        c.params.bool("IncludeClassOrigin", false)?,
    ))
}

/// The objects associated with ObjectName (or the association instances that reference it),
/// filtered by AssocClass/ResultClass/Role/ResultRole.
async fn walk(w: &Wbem, c: &Call<'_>, associators: bool) -> Result<Vec<Item>, CimError> {
    let (ns, p) = (c.ns, &c.params);
    // the classic operations name it ObjectName, the Open* ones InstanceName (DSP0200)
    let object = match p.get("ObjectName").or_else(|| p.get("InstanceName")) {
        Some(ParamValue::InstanceName(path)) => with_namespace(path, ns),
        Some(v) if v.as_class_name().is_some() => return Ok(Vec::new()),
        _ => return Err(Params::wrong("ObjectName", "an instance name")),
    };
    let assoc_class = if associators {
        p.class_name("AssocClass")?
    } else {
        p.class_name("ResultClass")?
    };
    let result_class = if associators {
        p.class_name("ResultClass")?
    } else {
        None
    };
    let role = p.str("Role")?;
    let result_role = if associators {
        p.str("ResultRole")?
    } else {
        None
    };
    for class in [assoc_class, result_class].into_iter().flatten() {
        known_class(ns, class, CimStatusCode::InvalidParameter)?;
    }
    let repo = repository();
    let mut catalog = w.catalog(c.principal);
    catalog.get(&object).await?;
    let mut out: Vec<Item> = Vec::new();
    for association in catalog.associations(ns, &object, assoc_class).await? {
        if assoc_class.is_some_and(|a| !repo.is_subclass_of(ns, association.class_name(), a)) {
            continue;
        }
        let refs = references_of(&association.instance(&c.view));
        let Some((near_role, _)) = refs.iter().find(|(r, path)| {
            same_object(path, &object) && role.is_none_or(|want| want.eq_ignore_ascii_case(r))
        }) else {
            continue;
        };
        if !associators {
            out.push(association.clone());
            continue;
        }
        for (far_role, far) in &refs {
            if far_role == near_role
                || result_role.is_some_and(|want| !want.eq_ignore_ascii_case(far_role))
            {
                continue;
            }
            let Ok(target) = catalog.get(far).await else {
                continue;
            };
            let target_ns = far
                .namespace
                .as_deref()
                .and_then(canonical_namespace)
                .unwrap_or(ns);
            if result_class.is_some_and(|r| !repo.is_subclass_of(target_ns, target.class_name(), r))
            {
                continue;
            }
            if !out.iter().any(|o| same_object(&o.path(), &target.path())) {
                out.push(target);
            }
        }
    }
    Ok(out)
}
