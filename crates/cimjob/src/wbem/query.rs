//! Queries over instances: ExecQuery, the FilterQuery of pull operations, and
//! indication filters all test instances through this one [`Subject`] implementation.

use cim::query::{self, Query, Selection, Subject};
use cim::xml::{CimError, Instance, PropertyValue};
use cim::{CimStatusCode, CimValue};

use super::classes::repository;

/// An instance as the query evaluator sees it: its class ancestry from the repository, its
/// properties, and its embedded instances (SourceInstance, PreviousInstance) as subjects too.
pub struct InstanceSubject<'a> {
    namespace: &'static str,
    instance: &'a Instance,
    embedded: Vec<(&'a str, InstanceSubject<'a>)>,
}

impl<'a> InstanceSubject<'a> {
    /// A subject over `instance`, read in `namespace`.
    pub fn new(namespace: &'static str, instance: &'a Instance) -> InstanceSubject<'a> {
        let embedded = instance
            .properties
            .iter()
            .filter_map(|p| match &p.value {
                Some(PropertyValue::Instance(inner)) => {
                    Some((p.name.as_str(), InstanceSubject::new(namespace, inner)))
                }
                _ => None,
            })
            .collect();
        InstanceSubject {
            namespace,
            instance,
            embedded,
        }
    }
}

impl Subject for InstanceSubject<'_> {
    fn class_name(&self) -> &str {
        &self.instance.class_name
    }

    fn property(&self, name: &str) -> Option<Option<CimValue>> {
        let p = self.instance.property(name)?;
        Some(p.cim_value().cloned())
    }

    fn is_a(&self, class: &str) -> bool {
        repository().is_subclass_of(self.namespace, &self.instance.class_name, class)
    }

    fn embedded(&self, name: &str) -> Option<&dyn Subject> {
        self.embedded
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| s as &dyn Subject)
    }
}

fn query_error(e: cim::QueryError) -> CimError {
    CimError::new(e.status_code(), e.to_string())
}

/// Parses a query for `namespace`; its FROM class must exist there.
pub fn parse_filter(
    namespace: &'static str,
    language: &str,
    text: &str,
) -> Result<Query, CimError> {
    let q = query::parse(language, text).map_err(query_error)?;
    if repository().class(namespace, &q.from_class).is_none() {
        return Err(CimError::new(
            CimStatusCode::InvalidQuery,
            format!(
                "the query's FROM class {:?} does not exist in {namespace}",
                q.from_class
            ),
        ));
    }
    Ok(q)
}

/// Parses the query of an indication filter: its FROM class must be an indication class
/// (the class of what the filter selects, not of the instance it is about).
pub fn parse_indication_filter(language: &str, text: &str) -> Result<Query, CimError> {
    let q = query::parse(language, text).map_err(query_error)?;
    if !repository().is_subclass_of(super::classes::INTEROP, &q.from_class, "CIM_Indication") {
        return Err(CimError::new(
            CimStatusCode::InvalidQuery,
            format!(
                "a filter selects indications: its FROM class {:?} is not an indication class (use CIM_InstCreation, CIM_InstModification, CIM_InstDeletion or CIM_InstMethodCall, with SourceInstance ISA the class you watch)",
                q.from_class
            ),
        ));
    }
    Ok(q)
}

/// Whether `instance` is in the query's result (its class ISA the FROM class and the WHERE
/// condition holds).
pub fn filter(namespace: &'static str, q: &Query, instance: &Instance) -> Result<bool, CimError> {
    q.accepts(&InstanceSubject::new(namespace, instance))
        .map_err(query_error)
}

/// The query's select list, applied to each result.
pub struct Selected(Option<Vec<String>>);

impl Selected {
    /// The select list of `q`.
    pub fn of(q: &Query) -> Selected {
        match &q.select {
            Selection::All => Selected(None),
            Selection::Properties(names) => Selected(Some(names.clone())),
        }
    }

    /// The selected property names; `None` for `SELECT *`.
    pub fn names(&self) -> Option<&[String]> {
        self.0.as_deref()
    }

    /// Keeps only the selected properties.
    pub fn apply(&self, mut instance: Instance) -> Instance {
        if let Some(names) = &self.0 {
            instance
                .properties
                .retain(|p| names.iter().any(|n| n.eq_ignore_ascii_case(&p.name)));
        }
        instance
    }
}
