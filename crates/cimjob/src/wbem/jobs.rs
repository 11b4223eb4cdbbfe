//! CIMJOB_ConcreteJob as CIM-XML: a job as an instance, its path, and a client's instance
//! back as the property values the engine takes. Every property comes from the model's one
//! table.

use cim::xml::{Instance, Property, PropertyValue};
use cim::{CimValue, KeyValue, ObjectPath};
use cimjob_rules::model::job::{instance_id, parse_instance_id};
use cimjob_rules::model::properties::{properties, View, CLASS_NAME};
use cimjob_rules::model::{Job, PropertyError, PropertyErrorKind};

use super::classes::CIMV2;

/// The path of a job: `root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:7"`.
pub fn job_path(local_id: u64) -> ObjectPath {
    ObjectPath::new(Some(CIMV2), CLASS_NAME)
        .with_key("InstanceID", KeyValue::String(instance_id(local_id)))
}

/// The LocalID a path names, if its InstanceID is one of ours (`CIMJOB:<n>`).
pub fn job_id_of(path: &ObjectPath) -> Option<u64> {
    match path.key("InstanceID")? {
        KeyValue::String(id) if id.contains(':') => parse_instance_id(id),
        _ => None,
    }
}

/// A job as a CIMJOB_ConcreteJob instance with every property.
pub fn job_instance(job: &Job, view: &View) -> Instance {
    let mut instance = Instance::new(CLASS_NAME);
    instance.properties = properties()
        .iter()
        .map(|p| Property::from_decl(&p.decl, (p.get)(job, view)))
        .collect();
    instance
}

/// The values of a client's instance (CreateInstance, ModifyInstance, SubmitJob's Template),
/// as the engine takes them. With a PropertyList only those properties count. InstanceID is
/// the server's to assign, so it is left out; an embedded instance where the class has none
/// is a type mismatch naming the property.
pub fn values_of(
    instance: &Instance,
    property_list: Option<&[String]>,
) -> Result<Vec<(String, Option<CimValue>)>, PropertyError> {
    let mut values = Vec::with_capacity(instance.properties.len());
    for p in &instance.properties {
        if p.name.eq_ignore_ascii_case("InstanceID") {
            continue;
        }
        if property_list.is_some_and(|list| !list.iter().any(|n| n.eq_ignore_ascii_case(&p.name))) {
            continue;
        }
        let value = match &p.value {
            None => None,
            Some(PropertyValue::Cim(v)) => Some(v.clone()),
            Some(_) => {
                return Err(PropertyError {
                    property: p.name.clone(),
                    kind: PropertyErrorKind::TypeMismatch,
                    message: format!(
                        "property {}: an embedded instance is not a value this property can hold",
                        p.name
                    ),
                })
            }
        };
        values.push((p.name.clone(), value));
    }
    Ok(values)
}
