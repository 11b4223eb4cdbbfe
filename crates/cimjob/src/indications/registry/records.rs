//! What the registry keeps of each object: the plain documents stored under a key, with the
//! value maps of the few numbers they hold.

use cim::{CimValue, KeyValue, ObjectPath};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{FILTER_CLASS, SUBSCRIPTION_CLASS};
use crate::wbem::classes::INTEROP;

/// SubscriptionState values.
pub(super) const ENABLED: u16 = 2;

pub(super) const DISABLED: u16 = 4;

/// OnFatalErrorPolicy values.
pub(super) const IGNORE: u16 = 2;

pub(super) const DISABLE: u16 = 3;

pub(super) const REMOVE: u16 = 4;

/// PersistenceType values.
pub(super) const PERMANENT: u16 = 2;

pub(super) const TRANSIENT: u16 = 3;

/// The four keys of a filter or a destination.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct Keys {
    pub(super) namespace: String,
    pub(super) system_creation_class_name: String,
    pub(super) system_name: String,
    pub(super) creation_class_name: String,
    pub(super) name: String,
}

impl Keys {
    pub(super) fn path(&self) -> ObjectPath {
        ObjectPath::new(Some(&self.namespace), &self.creation_class_name)
            .with_key(
                "CreationClassName",
                KeyValue::from(self.creation_class_name.as_str()),
            )
            .with_key("Name", KeyValue::from(self.name.as_str()))
            .with_key(
                "SystemCreationClassName",
                KeyValue::from(self.system_creation_class_name.as_str()),
            )
            .with_key("SystemName", KeyValue::from(self.system_name.as_str()))
    }

    pub(super) fn values(&self) -> Vec<(String, CimValue)> {
        vec![
            (
                "SystemCreationClassName".into(),
                self.system_creation_class_name.as_str().into(),
            ),
            ("SystemName".into(), self.system_name.as_str().into()),
            (
                "CreationClassName".into(),
                self.creation_class_name.as_str().into(),
            ),
            ("Name".into(), self.name.as_str().into()),
        ]
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct FilterDoc {
    pub(super) keys: Keys,
    pub(super) query: String,
    pub(super) language: String,
    pub(super) source_namespaces: Option<Vec<String>>,
    pub(super) owner: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct DestinationDoc {
    pub(super) keys: Keys,
    pub(super) url: String,
    pub(super) persistence_type: u16,
    pub(super) owner: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct SubscriptionDoc {
    /// The Filter and Handler references as the client wrote them.
    pub(super) filter_ref: String,
    pub(super) handler_ref: String,
    /// The registry keys they resolve to.
    pub(super) filter: String,
    pub(super) handler: String,
    pub(super) state: u16,
    pub(super) on_fatal_error: u16,
    pub(super) duration_secs: Option<u64>,
    pub(super) started: Timestamp,
    pub(super) state_changed: Timestamp,
    pub(super) owner: String,
    /// Its owner is an admin, who hears of every job; a user hears only of their own. (A
    /// subscription stored before this was kept is an admin's: everyone heard of all then.)
    #[serde(default = "admin_by_default")]
    pub(super) owner_sees_all: bool,
    pub(super) last_indication: Option<(String, Timestamp)>,
}

impl SubscriptionDoc {
    pub(super) fn expired(&self, now: Timestamp) -> bool {
        self.duration_secs.is_some_and(|d| {
            now.duration_since(self.started).as_secs() >= i64::try_from(d).unwrap_or(i64::MAX)
        })
    }

    pub(super) fn path(&self) -> ObjectPath {
        // checked at creation to read back; a row that does not is shown by its text as Name
        let reference = |text: &str| {
            KeyValue::Reference(Box::new(ObjectPath::parse(text).unwrap_or_else(|_| {
                ObjectPath::new(Some(INTEROP), FILTER_CLASS).with_key("Name", KeyValue::from(text))
            })))
        };
        // in the namespace the client created it in, which its references carry
        let namespace = ObjectPath::parse(&self.filter_ref)
            .ok()
            .and_then(|p| p.namespace);
        ObjectPath::new(namespace.as_deref(), SUBSCRIPTION_CLASS)
            .with_key("Filter", reference(&self.filter_ref))
            .with_key("Handler", reference(&self.handler_ref))
    }
}

pub(super) fn filter_key(name: &str) -> String {
    format!("filter:{name}")
}

pub(super) fn destination_key(name: &str) -> String {
    format!("destination:{name}")
}

pub(super) fn subscription_key(filter: &str, handler: &str) -> String {
    format!("subscription:{filter}\u{0}{handler}")
}

fn admin_by_default() -> bool {
    true
}
