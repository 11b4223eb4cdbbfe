//! Reading what a client wrote in a CreateInstance or ModifyInstance: typed property values
//! (CIM_ERR_TYPE_MISMATCH for the wrong type), references that must name interop objects,
//! and listener URLs we can POST to.

use cim::xml::{CimError, Instance};
use cim::{CimStatusCode, CimType, CimValue, KeyValue, ObjectPath};

use super::records::{DISABLED, ENABLED};
use crate::wbem::classes::{canonical_namespace, INTEROP};

pub(super) fn invalid(message: impl Into<String>) -> CimError {
    CimError::new(CimStatusCode::InvalidParameter, message)
}

/// The value of property `name` if it has one; `read` takes it out when it is of the type
/// `what` names, anything else is CIM_ERR_TYPE_MISMATCH.
pub(super) fn typed<T>(
    instance: &Instance,
    name: &str,
    what: &str,
    read: impl Fn(&CimValue) -> Option<T>,
) -> Result<Option<T>, CimError> {
    let Some(value) = instance.value(name).and_then(|v| v.as_cim()) else {
        return Ok(None);
    };
    read(value).map(Some).ok_or_else(|| {
        CimError::new(
            CimStatusCode::TypeMismatch,
            format!("{name} must be a {what}, not {value:?}"),
        )
    })
}

pub(super) fn string_value(instance: &Instance, name: &str) -> Result<Option<String>, CimError> {
    typed(instance, name, "string", |v| match v {
        CimValue::String(s) => Some(s.clone()),
        _ => None,
    })
}

pub(super) fn u16_value(instance: &Instance, name: &str) -> Result<Option<u16>, CimError> {
    typed(instance, name, "uint16", |v| match v {
        CimValue::UInt16(n) => Some(*n),
        _ => None,
    })
}

pub(super) fn u64_value(instance: &Instance, name: &str) -> Result<Option<u64>, CimError> {
    typed(instance, name, "uint64", |v| match v {
        CimValue::UInt64(n) => Some(*n),
        _ => None,
    })
}

/// SubscriptionState as a client may ask for it: 2 (Enabled) or 4 (Disabled).
pub(super) fn requested_state(instance: &Instance) -> Result<Option<u16>, CimError> {
    match u16_value(instance, "SubscriptionState")? {
        Some(other) if !matches!(other, ENABLED | DISABLED) => Err(invalid(format!(
            "SubscriptionState {other} cannot be asked for: use 2 (Enabled) or 4 (Disabled)"
        ))),
        state => Ok(state),
    }
}

pub(super) fn strings_value(
    instance: &Instance,
    name: &str,
) -> Result<Option<Vec<String>>, CimError> {
    match instance.value(name).and_then(|v| v.as_cim()) {
        None => Ok(None),
        Some(CimValue::Array(a)) if a.elem_type() == CimType::String => Ok(Some(
            a.items()
                .iter()
                .filter_map(|v| match v {
                    CimValue::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
        )),
        Some(other) => Err(CimError::new(
            CimStatusCode::TypeMismatch,
            format!("{name} must be an array of strings, not {other:?}"),
        )),
    }
}

pub(super) fn reference_value(instance: &Instance, name: &str) -> Result<ObjectPath, CimError> {
    match instance.value(name).and_then(|v| v.as_cim()) {
        Some(CimValue::Reference(path)) => Ok(path.clone()),
        Some(_) => Err(invalid(format!("{name} must be a reference"))),
        None => Err(invalid(format!(
            "{name} is required: the reference to the subscription's {}",
            if name == "Filter" {
                "CIM_IndicationFilter"
            } else {
                "CIM_ListenerDestinationCIMXML"
            }
        ))),
    }
}

/// A Filter or Handler reference as it will be stored: in the interop namespace, and
/// written so that it reads back the same.
pub(super) fn checked_reference(path: ObjectPath, role: &str) -> Result<ObjectPath, CimError> {
    let in_interop = path
        .namespace
        .as_deref()
        .and_then(canonical_namespace)
        .is_some_and(|ns| ns == INTEROP);
    if !in_interop {
        return Err(invalid(format!(
            "the {role} reference {path} must name an object in the interop namespace"
        )));
    }
    if ObjectPath::parse(&path.to_string()).ok().as_ref() != Some(&path) {
        return Err(invalid(format!(
            "the {role} reference {path} cannot be stored: its text does not read back"
        )));
    }
    Ok(path)
}

/// The Name key of a reference, the only key that tells our objects apart.
pub(super) fn name_of(path: &ObjectPath, role: &str) -> Result<String, CimError> {
    match path.key("Name") {
        Some(KeyValue::String(name)) => Ok(name.clone()),
        _ => Err(invalid(format!(
            "the {role} reference {path} has no Name key"
        ))),
    }
}

/// A URL we can POST to: http or https with a host; a URL without a scheme is http.
pub(super) fn check_destination(url: &str) -> Result<String, CimError> {
    // "host:port" has no scheme; "mailto:x" has one, and it is not ours
    let has_scheme = url.contains("://")
        || url.split_once(':').is_some_and(|(head, tail)| {
            let port = tail.split('/').next().unwrap_or("");
            let is_port = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
            !is_port
                && head.starts_with(|c: char| c.is_ascii_alphabetic())
                && head
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
    let url = if has_scheme {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| invalid(format!("Destination {url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(invalid(format!(
            "Destination {url:?} must be an http:// or https:// URL with a host"
        )));
    }
    Ok(url)
}
