//! The registry's objects as CIM instances, typed by their class declarations.

use cim::xml::InstanceWithPath;
use cim::{CimArray, CimDateTime, CimType, CimValue, KeyValue, ObjectPath};
use jiff::Timestamp;

use super::records::{DestinationDoc, FilterDoc, SubscriptionDoc};
use super::{DESTINATION_CLASS, FILTER_CLASS, SUBSCRIPTION_CLASS};
use crate::wbem::classes::INTEROP;

pub(super) fn datetime(t: Timestamp) -> CimValue {
    CimValue::DateTime(CimDateTime::from_timestamp(t, 0).expect("the clock is within year 9999"))
}

pub(super) fn render(
    namespace: &str,
    class: &str,
    path: ObjectPath,
    values: Vec<(String, CimValue)>,
) -> InstanceWithPath {
    let instance = crate::wbem::classes::fixed(namespace, class, values);
    InstanceWithPath::new(path, instance)
}

pub(super) fn filter_instance(doc: &FilterDoc) -> InstanceWithPath {
    let mut values = doc.keys.values();
    values.push(("Query".into(), doc.query.as_str().into()));
    values.push(("QueryLanguage".into(), doc.language.as_str().into()));
    values.push((
        "IndividualSubscriptionSupported".into(),
        CimValue::Boolean(true),
    ));
    if let Some(list) = &doc.source_namespaces {
        let items = list.iter().map(|n| CimValue::String(n.clone())).collect();
        values.push((
            "SourceNamespaces".into(),
            CimValue::Array(CimArray::new(CimType::String, items).expect("strings")),
        ));
    }
    render(INTEROP, FILTER_CLASS, doc.keys.path(), values)
}

pub(super) fn destination_instance(doc: &DestinationDoc) -> InstanceWithPath {
    let mut values = doc.keys.values();
    values.push(("Destination".into(), doc.url.as_str().into()));
    values.push((
        "PersistenceType".into(),
        CimValue::UInt16(doc.persistence_type),
    ));
    values.push(("Protocol".into(), CimValue::UInt16(2)));
    render(INTEROP, DESTINATION_CLASS, doc.keys.path(), values)
}

pub(super) fn subscription_instance(doc: &SubscriptionDoc, now: Timestamp) -> InstanceWithPath {
    let path = doc.path();
    let reference = |role: &str| match path.key(role) {
        Some(KeyValue::Reference(p)) => CimValue::Reference((**p).clone()),
        _ => unreachable!("a subscription path has both references"),
    };
    let mut values = vec![
        ("Filter".to_string(), reference("Filter")),
        ("Handler".to_string(), reference("Handler")),
        (
            "OnFatalErrorPolicy".into(),
            CimValue::UInt16(doc.on_fatal_error),
        ),
        ("SubscriptionState".into(), CimValue::UInt16(doc.state)),
        ("TimeOfLastStateChange".into(), datetime(doc.state_changed)),
        ("SubscriptionStartTime".into(), datetime(doc.started)),
    ];
    if let Some(d) = doc.duration_secs {
        values.push(("SubscriptionDuration".into(), CimValue::UInt64(d)));
        let elapsed = u64::try_from(now.duration_since(doc.started).as_secs()).unwrap_or(0);
        values.push((
            "SubscriptionTimeRemaining".into(),
            CimValue::UInt64(d.saturating_sub(elapsed)),
        ));
    }
    if let Some((id, at)) = &doc.last_indication {
        values.push(("LastIndicationIdentifier".into(), id.as_str().into()));
        values.push(("LastIndicationProductionDateTime".into(), datetime(*at)));
    }
    render(INTEROP, SUBSCRIPTION_CLASS, path, values)
}
