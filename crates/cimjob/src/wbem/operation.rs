//! The vocabulary every CIM operation shares: one call's parameters read with DSP0200's
//! types and defaults ([`Params`]), what an intrinsic operation answers ([`Answer`]), the
//! errors, and the path conventions of requests and answers.

use cim::xml::{CimError, IReturnValue, ParamValue};
use cim::{CimStatusCode, ObjectPath};
use cimjob_engine::EngineError;
use cimjob_rules::model::properties::View;

use super::classes::{canonical_namespace, repository};
use super::objects::{Item, Pages, Projection};
use crate::auth::Principal;

/// One intrinsic call as the operations see it.
pub struct Call<'a> {
    /// The namespace, canonical.
    pub ns: &'static str,
    /// The namespace as the client wrote it (a created object keeps it in its path).
    pub namespace: &'a str,
    /// The operation's name as the client wrote it.
    pub name: &'a str,
    /// Its parameters.
    pub params: Params<'a>,
    /// Who asks.
    pub principal: &'a Principal,
    /// The moment, and the zone, instances are shown at.
    pub view: View,
}

/// What an intrinsic operation answers.
pub enum Answer {
    /// An IRETURNVALUE, or nothing.
    Value(Option<IReturnValue>),
    /// A pull operation's objects and the context to go on with (`None` at the end).
    Pull {
        /// The objects.
        value: IReturnValue,
        /// The EnumerationContext, unless the enumeration is complete.
        context: Option<String>,
        /// Output parameters besides those two (OpenQueryInstances' QueryResultClass).
        params: Vec<(String, cim::xml::ParamValue)>,
    },
    /// EnumerateInstances or EnumerateInstanceNames: its first page read (so a store that
    /// cannot be read at all is a CIM error), the rest read and rendered while it is sent, so
    /// the jobs never sit in memory all at once, nor as one document.
    Enumerated {
        /// Only the objects' names (EnumerateInstanceNames).
        names_only: bool,
        /// The first page.
        first: Vec<Item>,
        /// The pages after it.
        rest: Box<Pages>,
        /// Which of their properties to show.
        projection: Projection,
    },
}

impl Answer {
    /// An answer with this IRETURNVALUE.
    pub fn value(value: IReturnValue) -> Result<Answer, CimError> {
        Ok(Answer::Value(Some(value)))
    }
}

/// A CIM error with a status code and a description.
pub fn error(code: CimStatusCode, description: impl Into<String>) -> CimError {
    CimError::new(code, description)
}

/// The CIM error for an engine failure.
pub fn engine_error(e: EngineError) -> CimError {
    match e {
        EngineError::NotFound(n) => error(CimStatusCode::NotFound, n.to_string()),
        EngineError::Property(p) => {
            let code = CimStatusCode::from_code(p.cim_status()).unwrap_or(CimStatusCode::Failed);
            error(code, p.message)
        }
        EngineError::WrongState(m) => error(CimStatusCode::Failed, m),
        EngineError::Store(m) => error(CimStatusCode::Failed, m),
        e @ EngineError::HeldElsewhere { .. } => error(CimStatusCode::Failed, e.to_string()),
        EngineError::Stopped => error(
            CimStatusCode::ServerIsShuttingDown,
            "the service is stopping",
        ),
    }
}

/// The parameters of one call, read with DSP0200's types and defaults.
pub struct Params<'a>(pub &'a [(String, ParamValue)]);

impl<'a> Params<'a> {
    /// The parameter, if given and not NULL.
    pub fn get(&self, name: &str) -> Option<&'a ParamValue> {
        self.0
            .iter()
            .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.is_null())
            .map(|(_, v)| v)
    }

    /// The error for a parameter that is missing or of the wrong kind.
    pub fn wrong(name: &str, what: &str) -> CimError {
        error(
            CimStatusCode::InvalidParameter,
            format!("parameter {name} must be {what}"),
        )
    }

    /// A boolean, or `default` when absent.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, CimError> {
        self.get(name).map_or(Ok(default), |v| {
            v.as_bool().ok_or_else(|| Self::wrong(name, "a boolean"))
        })
    }

    /// A uint32, if given.
    pub fn u32(&self, name: &str) -> Result<Option<u32>, CimError> {
        self.get(name)
            .map(|v| v.as_u32().ok_or_else(|| Self::wrong(name, "a uint32")))
            .transpose()
    }

    /// A string, if given.
    pub fn str(&self, name: &str) -> Result<Option<&'a str>, CimError> {
        self.get(name)
            .map(|v| v.as_str().ok_or_else(|| Self::wrong(name, "a string")))
            .transpose()
    }

    /// A class name, if given.
    pub fn class_name(&self, name: &str) -> Result<Option<&'a str>, CimError> {
        self.get(name)
            .map(|v| {
                v.as_class_name()
                    .or_else(|| v.as_str())
                    .ok_or_else(|| Self::wrong(name, "a class name"))
            })
            .transpose()
    }

    /// A class name that must be given.
    pub fn required_class_name(&self, name: &str) -> Result<&'a str, CimError> {
        self.class_name(name)?
            .ok_or_else(|| Self::wrong(name, "given (a class name)"))
    }

    /// An instance name that must be given.
    pub fn instance_name(&self, name: &str) -> Result<&'a ObjectPath, CimError> {
        self.get(name)
            .and_then(ParamValue::as_instance_name)
            .ok_or_else(|| Self::wrong(name, "an instance name"))
    }

    /// PropertyList: `None` = all properties.
    pub fn property_list(&self) -> Result<Option<Vec<String>>, CimError> {
        self.get("PropertyList")
            .map(|v| {
                v.as_string_list()
                    .map(|l| l.into_iter().map(str::to_string).collect())
                    .ok_or_else(|| Self::wrong("PropertyList", "an array of property names"))
            })
            .transpose()
    }
}

/// The namespace a request names, canonical (`root/interop` is `interop`).
pub fn namespace_of(name: &str) -> Result<&'static str, CimError> {
    canonical_namespace(name).ok_or_else(|| {
        error(
            CimStatusCode::InvalidNamespace,
            format!("namespace {name:?} does not exist here: use root/cimv2, or interop (also root/interop)"),
        )
    })
}

/// Refuses with `code` a class the namespace does not hold.
pub fn known_class(
    namespace: &'static str,
    class: &str,
    code: CimStatusCode,
) -> Result<(), CimError> {
    match repository().class(namespace, class) {
        Some(_) => Ok(()),
        None => Err(error(
            code,
            format!("class {class:?} does not exist in {namespace}"),
        )),
    }
}

/// Runs a registry change (a durable SQLite write) off the async workers.
pub async fn blocking<T: Send + 'static>(
    change: impl FnOnce() -> Result<T, CimError> + Send + 'static,
) -> Result<T, CimError> {
    tokio::task::spawn_blocking(change).await.map_err(|e| {
        error(
            CimStatusCode::Failed,
            format!("the change did not complete: {e}"),
        )
    })?
}

/// A path from a request, with the request's namespace when it names none.
pub fn with_namespace(path: &ObjectPath, ns: &str) -> ObjectPath {
    let mut p = path.clone();
    if p.namespace.is_none() {
        p.namespace = Some(ns.to_string());
    }
    p
}

/// A path as INSTANCENAME carries it (no host, no namespace).
pub fn without_namespace(mut path: ObjectPath) -> ObjectPath {
    path.namespace = None;
    path.host = None;
    path
}
