//! The subscriptions: CIM_IndicationFilter, CIM_ListenerDestinationCIMXML and
//! CIM_IndicationSubscription instances, as clients create them with the intrinsic operations
//! in the interop namespace.
//!
//! Each is checked when created (a query that does not parse, a destination that is not an
//! http(s) URL and a subscription whose Filter or Handler does not exist are refused with the
//! CIM status code that says so), belongs to the user who created it (only that user or an
//! admin may modify or delete it), and is kept in `<data-dir>/indications.db`, so it survives
//! a restart. Transient destinations (PersistenceType 3, what pywbem's "owned" destinations
//! are) and their subscriptions live only as long as the service: that is what Transient
//! means. The same database keeps the indications still queued at shutdown (the outbox) and
//! a bounded record of delivery outcomes.
//!
//! References are answered exactly as the client wrote them (namespace as named, no host):
//! pywbem finds its subscriptions again by comparing those paths.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cim::query::Query;
use cim::xml::{CimError, Instance, InstanceWithPath};
use cim::{CimArray, CimDateTime, CimStatusCode, CimType, CimValue, KeyValue, ObjectPath};
use jiff::{SignedDuration, Timestamp};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::indications::delivery::{Outcome, Outgoing, Target};
use crate::wbem::classes::{canonical_namespace, repository, INTEROP};
use crate::wbem::query::parse_indication_filter;

/// The filter class.
pub const FILTER_CLASS: &str = "CIM_IndicationFilter";
/// The destination class we deliver to.
pub const DESTINATION_CLASS: &str = "CIM_ListenerDestinationCIMXML";
/// The subscription class.
pub const SUBSCRIPTION_CLASS: &str = "CIM_IndicationSubscription";

/// At most this many filters, destinations and subscriptions each, so the registry (and the
/// work done per job event) stays bounded.
pub const MAX_OBJECTS: usize = 1_000;

/// How many delivery outcomes are kept.
pub const MAX_OUTCOMES: i64 = 10_000;

/// SubscriptionState values.
const ENABLED: u16 = 2;
const DISABLED: u16 = 4;
/// OnFatalErrorPolicy values.
const IGNORE: u16 = 2;
const DISABLE: u16 = 3;
const REMOVE: u16 = 4;
/// PersistenceType values.
const PERMANENT: u16 = 2;
const TRANSIENT: u16 = 3;

/// The four keys of a filter or a destination.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Keys {
    namespace: String,
    system_creation_class_name: String,
    system_name: String,
    creation_class_name: String,
    name: String,
}

impl Keys {
    fn path(&self) -> ObjectPath {
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

    fn values(&self) -> Vec<(String, CimValue)> {
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
struct FilterDoc {
    keys: Keys,
    query: String,
    language: String,
    source_namespaces: Option<Vec<String>>,
    owner: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct DestinationDoc {
    keys: Keys,
    url: String,
    persistence_type: u16,
    owner: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SubscriptionDoc {
    /// The Filter and Handler references as the client wrote them.
    filter_ref: String,
    handler_ref: String,
    /// The registry keys they resolve to.
    filter: String,
    handler: String,
    state: u16,
    on_fatal_error: u16,
    duration_secs: Option<u64>,
    started: Timestamp,
    state_changed: Timestamp,
    owner: String,
    last_indication: Option<(String, Timestamp)>,
}

impl SubscriptionDoc {
    fn expired(&self, now: Timestamp) -> bool {
        self.duration_secs.is_some_and(|d| {
            now.duration_since(self.started).as_secs() >= i64::try_from(d).unwrap_or(i64::MAX)
        })
    }

    fn path(&self) -> ObjectPath {
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

struct Filter {
    doc: FilterDoc,
    query: Arc<Query>,
}

#[derive(Default)]
struct State {
    filters: BTreeMap<String, Filter>,
    destinations: BTreeMap<String, DestinationDoc>,
    subscriptions: BTreeMap<String, SubscriptionDoc>,
    /// What [`Registry::active`] answers, made once per change rather than once per job
    /// event; `None` after a change.
    active: Option<Arc<[Active]>>,
    /// The earliest moment a subscription's SubscriptionDuration runs out, while `active`
    /// is current.
    next_expiry: Option<Timestamp>,
}

impl State {
    /// Whether the destination `handler` outlives the service (PersistenceType Permanent),
    /// and with it its subscriptions and undelivered indications.
    fn persistent(&self, handler: &str) -> bool {
        self.destinations
            .get(handler)
            .is_some_and(|d| d.persistence_type == PERMANENT)
    }
}

/// One enabled subscription, as the producer of indications needs it.
#[derive(Clone)]
pub struct Active {
    /// The subscription's registry key.
    pub key: String,
    /// Its filter's Name (IndicationFilterName).
    pub filter_name: String,
    /// The filter's query.
    pub query: Arc<Query>,
    /// The namespaces the filter watches; `None` = all.
    pub source_namespaces: Option<Vec<String>>,
    /// Where its indications go.
    pub target: Target,
}

/// The registry of filters, destinations and subscriptions.
pub struct Registry {
    state: Mutex<State>,
    db: Mutex<Connection>,
    /// A second connection for delivery outcomes, with `synchronous=NORMAL`: an outcome is a
    /// record, not a promise to a client, and must not cost a disk flush per indication.
    outcomes: Mutex<Connection>,
    host: String,
}

fn failed(what: &str, e: impl std::fmt::Display) -> CimError {
    CimError::new(
        CimStatusCode::Failed,
        format!("the subscription store could not {what}: {e}"),
    )
}

fn invalid(message: impl Into<String>) -> CimError {
    CimError::new(CimStatusCode::InvalidParameter, message)
}

/// The value of property `name` if it has one; `read` takes it out when it is of the type
/// `what` names, anything else is CIM_ERR_TYPE_MISMATCH.
fn typed<T>(
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

fn string_value(instance: &Instance, name: &str) -> Result<Option<String>, CimError> {
    typed(instance, name, "string", |v| match v {
        CimValue::String(s) => Some(s.clone()),
        _ => None,
    })
}

fn u16_value(instance: &Instance, name: &str) -> Result<Option<u16>, CimError> {
    typed(instance, name, "uint16", |v| match v {
        CimValue::UInt16(n) => Some(*n),
        _ => None,
    })
}

fn u64_value(instance: &Instance, name: &str) -> Result<Option<u64>, CimError> {
    typed(instance, name, "uint64", |v| match v {
        CimValue::UInt64(n) => Some(*n),
        _ => None,
    })
}

/// SubscriptionState as a client may ask for it: 2 (Enabled) or 4 (Disabled).
fn requested_state(instance: &Instance) -> Result<Option<u16>, CimError> {
    match u16_value(instance, "SubscriptionState")? {
        Some(other) if !matches!(other, ENABLED | DISABLED) => Err(invalid(format!(
            "SubscriptionState {other} cannot be asked for: use 2 (Enabled) or 4 (Disabled)"
        ))),
        state => Ok(state),
    }
}

fn strings_value(instance: &Instance, name: &str) -> Result<Option<Vec<String>>, CimError> {
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

fn reference_value(instance: &Instance, name: &str) -> Result<ObjectPath, CimError> {
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

fn datetime(t: Timestamp) -> CimValue {
    CimValue::DateTime(CimDateTime::from_timestamp(t, 0).expect("the clock is within year 9999"))
}

/// Refuses a new object that exists already (`what`, CIM_ERR_ALREADY_EXISTS) or that would
/// take its kind (`kind`, with `count` now) beyond [`MAX_OBJECTS`].
fn admit(exists: bool, count: usize, what: &str, kind: &str) -> Result<(), CimError> {
    if exists {
        return Err(CimError::new(
            CimStatusCode::AlreadyExists,
            format!("{what} already exists"),
        ));
    }
    if count >= MAX_OBJECTS {
        return Err(CimError::new(
            CimStatusCode::Failed,
            format!("there are already {MAX_OBJECTS} {kind}; delete some first"),
        ));
    }
    Ok(())
}

fn filter_key(name: &str) -> String {
    format!("filter:{name}")
}

fn destination_key(name: &str) -> String {
    format!("destination:{name}")
}

fn subscription_key(filter: &str, handler: &str) -> String {
    format!("subscription:{filter}\u{0}{handler}")
}

/// A Filter or Handler reference as it will be stored: in the interop namespace, and
/// written so that it reads back the same.
fn checked_reference(path: ObjectPath, role: &str) -> Result<ObjectPath, CimError> {
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
fn name_of(path: &ObjectPath, role: &str) -> Result<String, CimError> {
    match path.key("Name") {
        Some(KeyValue::String(name)) => Ok(name.clone()),
        _ => Err(invalid(format!(
            "the {role} reference {path} has no Name key"
        ))),
    }
}

fn apply_policy_name(policy: u16) -> &'static str {
    match policy {
        DISABLE => "disabled",
        REMOVE => "removed",
        _ => "kept (Ignore)",
    }
}

/// A URL we can POST to: http or https with a host; a URL without a scheme is http.
fn check_destination(url: &str) -> Result<String, CimError> {
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

impl Registry {
    /// Opens (or creates) the registry's database at `path` and loads what it holds. `host`
    /// is the SystemName given to objects created without one.
    pub fn open(path: &Path, host: &str) -> anyhow::Result<Registry> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS outbox (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, destination TEXT NOT NULL,
                 subscription TEXT NOT NULL, indication_id TEXT NOT NULL,
                 produced TEXT NOT NULL, body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS outcomes (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
                 destination TEXT NOT NULL, subscription TEXT NOT NULL,
                 indication_id TEXT NOT NULL, outcome TEXT NOT NULL,
                 attempts INTEGER NOT NULL, error TEXT);",
        )?;
        let mut state = State::default();
        {
            let mut rows = db.prepare("SELECT key, doc FROM objects ORDER BY key")?;
            let rows =
                rows.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (key, doc) = row?;
                if key.starts_with("filter:") {
                    let doc: FilterDoc = serde_json::from_str(&doc)?;
                    let query = match parse_indication_filter(&doc.language, &doc.query) {
                        Ok(query) => query,
                        Err(e) => {
                            tracing::warn!(filter = %key, error = ?e.description, "a stored filter's query is no longer accepted; it is ignored");
                            continue;
                        }
                    };
                    state.filters.insert(
                        key,
                        Filter {
                            doc,
                            query: Arc::new(query),
                        },
                    );
                } else if key.starts_with("destination:") {
                    state.destinations.insert(key, serde_json::from_str(&doc)?);
                } else if key.starts_with("subscription:") {
                    state.subscriptions.insert(key, serde_json::from_str(&doc)?);
                }
            }
        }
        let outcomes = Connection::open(path)?;
        outcomes.pragma_update(None, "synchronous", "NORMAL")?;
        outcomes.busy_timeout(std::time::Duration::from_secs(5))?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Registry {
            state: Mutex::new(state),
            db: Mutex::new(db),
            outcomes: Mutex::new(outcomes),
            host: host.to_string(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, for a change: what `active` answered is made again.
    fn change(&self) -> MutexGuard<'_, State> {
        let mut state = self.state();
        state.active = None;
        state
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn save(&self, key: &str, doc: &impl Serialize) -> Result<(), CimError> {
        let doc = serde_json::to_string(doc).map_err(|e| failed("encode", e))?;
        self.db()
            .execute(
                "INSERT INTO objects (key, doc) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET doc = excluded.doc",
                params![key, doc],
            )
            .map_err(|e| failed("save", e))?;
        Ok(())
    }

    fn erase(&self, key: &str) -> Result<(), CimError> {
        self.db()
            .execute("DELETE FROM objects WHERE key = ?1", params![key])
            .map_err(|e| failed("delete", e))?;
        Ok(())
    }

    /// The four keys of a new filter or destination, defaults filled in.
    fn keys(&self, namespace: &str, class: &str, instance: &Instance) -> Result<Keys, CimError> {
        let name = string_value(instance, "Name")?
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid(format!("Name is required to create a {class}")))?;
        Ok(Keys {
            namespace: namespace.to_string(),
            system_creation_class_name: string_value(instance, "SystemCreationClassName")?
                .unwrap_or_else(|| "CIM_ComputerSystem".into()),
            system_name: string_value(instance, "SystemName")?.unwrap_or_else(|| self.host.clone()),
            creation_class_name: string_value(instance, "CreationClassName")?
                .unwrap_or_else(|| class.into()),
            name,
        })
    }

    /// CreateInstance of a filter, destination or subscription in the interop namespace
    /// (`namespace` as the client named it); returns the new instance's path.
    pub fn create(
        &self,
        namespace: &str,
        instance: &Instance,
        owner: &Principal,
    ) -> Result<ObjectPath, CimError> {
        let repo = repository();
        let class = instance.class_name.as_str();
        if repo.is_subclass_of(INTEROP, class, SUBSCRIPTION_CLASS) {
            self.create_subscription(namespace, instance, owner)
        } else if repo.is_subclass_of(INTEROP, class, FILTER_CLASS) {
            self.create_filter(namespace, instance, owner)
        } else if repo.is_subclass_of(INTEROP, class, DESTINATION_CLASS) {
            self.create_destination(namespace, instance, owner)
        } else {
            Err(CimError::new(
                CimStatusCode::NotSupported,
                format!("CreateInstance of {class} is not supported in the interop namespace: create {FILTER_CLASS}, {DESTINATION_CLASS} or {SUBSCRIPTION_CLASS}"),
            ))
        }
    }

    fn create_filter(
        &self,
        namespace: &str,
        instance: &Instance,
        owner: &Principal,
    ) -> Result<ObjectPath, CimError> {
        let keys = self.keys(namespace, FILTER_CLASS, instance)?;
        let query = string_value(instance, "Query")?
            .ok_or_else(|| invalid("Query is required to create a CIM_IndicationFilter"))?;
        let language = string_value(instance, "QueryLanguage")?.ok_or_else(|| {
            invalid("QueryLanguage is required to create a CIM_IndicationFilter: WQL or DMTF:CQL")
        })?;
        let parsed = parse_indication_filter(&language, &query)?;
        let mut source_namespaces = strings_value(instance, "SourceNamespaces")?;
        if source_namespaces.is_none() {
            source_namespaces = string_value(instance, "SourceNamespace")?.map(|n| vec![n]);
        }
        for ns in source_namespaces.iter().flatten() {
            if canonical_namespace(ns).is_none() {
                return Err(invalid(format!(
                    "SourceNamespaces names {ns:?}, which does not exist here: use root/cimv2"
                )));
            }
        }
        let key = filter_key(&keys.name);
        let doc = FilterDoc {
            keys,
            query,
            language,
            source_namespaces,
            owner: owner.name.clone(),
        };
        let path = doc.keys.path();
        let mut state = self.change();
        admit(
            state.filters.contains_key(&key),
            state.filters.len(),
            &format!("a CIM_IndicationFilter named {:?}", doc.keys.name),
            "filters",
        )?;
        self.save(&key, &doc)?;
        state.filters.insert(
            key,
            Filter {
                doc,
                query: Arc::new(parsed),
            },
        );
        Ok(path)
    }

    fn create_destination(
        &self,
        namespace: &str,
        instance: &Instance,
        owner: &Principal,
    ) -> Result<ObjectPath, CimError> {
        let keys = self.keys(namespace, DESTINATION_CLASS, instance)?;
        let url = string_value(instance, "Destination")?.ok_or_else(|| {
            invalid("Destination is required: the listener's URL, e.g. http://127.0.0.1:5990")
        })?;
        let url = check_destination(&url)?;
        match u16_value(instance, "Protocol")? {
            None | Some(2) => {}
            Some(other) => {
                return Err(CimError::new(
                    CimStatusCode::NotSupported,
                    format!(
                    "Protocol {other} is not supported: indications are delivered in CIM-XML (2)"
                ),
                ))
            }
        }
        let persistence_type = match u16_value(instance, "PersistenceType")? {
            None => PERMANENT,
            Some(p @ (PERMANENT | TRANSIENT)) => p,
            Some(other) => {
                return Err(invalid(format!(
                    "PersistenceType {other} is not supported: use 2 (Permanent) or 3 (Transient)"
                )))
            }
        };
        let key = destination_key(&keys.name);
        let doc = DestinationDoc {
            keys,
            url,
            persistence_type,
            owner: owner.name.clone(),
        };
        let path = doc.keys.path();
        let mut state = self.change();
        admit(
            state.destinations.contains_key(&key),
            state.destinations.len(),
            &format!("a listener destination named {:?}", doc.keys.name),
            "listener destinations",
        )?;
        if persistence_type == PERMANENT {
            self.save(&key, &doc)?;
        }
        state.destinations.insert(key, doc);
        Ok(path)
    }

    fn create_subscription(
        &self,
        namespace: &str,
        instance: &Instance,
        owner: &Principal,
    ) -> Result<ObjectPath, CimError> {
        let with_namespace = |mut path: ObjectPath| {
            if path.namespace.is_none() {
                path.namespace = Some(namespace.to_string());
            }
            path.host = None;
            path
        };
        let filter_ref = checked_reference(
            with_namespace(reference_value(instance, "Filter")?),
            "Filter",
        )?;
        let handler_ref = checked_reference(
            with_namespace(reference_value(instance, "Handler")?),
            "Handler",
        )?;
        let filter = filter_key(&name_of(&filter_ref, "Filter")?);
        let handler = destination_key(&name_of(&handler_ref, "Handler")?);
        let state_value = requested_state(instance)?.unwrap_or(ENABLED);
        let on_fatal_error = match u16_value(instance, "OnFatalErrorPolicy")? {
            None => IGNORE,
            Some(p @ (IGNORE | DISABLE | REMOVE)) => p,
            Some(other) => {
                return Err(CimError::new(
                    CimStatusCode::NotSupported,
                    format!("OnFatalErrorPolicy {other} is not supported: use 2 (Ignore), 3 (Disable) or 4 (Remove)"),
                ))
            }
        };
        let now = Timestamp::now();
        let doc = SubscriptionDoc {
            filter_ref: filter_ref.to_string(),
            handler_ref: handler_ref.to_string(),
            filter: filter.clone(),
            handler: handler.clone(),
            state: state_value,
            on_fatal_error,
            duration_secs: u64_value(instance, "SubscriptionDuration")?,
            started: now,
            state_changed: now,
            owner: owner.name.clone(),
            last_indication: None,
        };
        let key = subscription_key(&filter, &handler);
        let mut state = self.change();
        if !state.filters.contains_key(&filter) {
            return Err(invalid(format!(
                "the Filter {filter_ref} does not exist: create the CIM_IndicationFilter first"
            )));
        }
        let Some(destination) = state.destinations.get(&handler) else {
            return Err(invalid(format!(
                "the Handler {handler_ref} does not exist: create the CIM_ListenerDestinationCIMXML first"
            )));
        };
        let persistent = destination.persistence_type == PERMANENT;
        admit(
            state.subscriptions.contains_key(&key),
            state.subscriptions.len(),
            "a subscription of this filter to this destination",
            "subscriptions",
        )?;
        let path = doc.path();
        if persistent {
            self.save(&key, &doc)?;
        }
        state.subscriptions.insert(key, doc);
        Ok(path)
    }

    /// The key and kind of the object `path` names, if it is one of ours.
    fn key_of(path: &ObjectPath) -> Option<String> {
        let repo = repository();
        let class = path.class_name.as_str();
        if repo.is_subclass_of(INTEROP, class, SUBSCRIPTION_CLASS) {
            let filter = match path.key("Filter") {
                Some(KeyValue::Reference(p)) => name_of(p, "Filter").ok()?,
                _ => return None,
            };
            let handler = match path.key("Handler") {
                Some(KeyValue::Reference(p)) => name_of(p, "Handler").ok()?,
                _ => return None,
            };
            Some(subscription_key(
                &filter_key(&filter),
                &destination_key(&handler),
            ))
        } else if repo.is_subclass_of(INTEROP, class, FILTER_CLASS) {
            name_of(path, "filter").ok().map(|n| filter_key(&n))
        } else if repo.is_subclass_of(INTEROP, class, "CIM_ListenerDestination") {
            name_of(path, "destination")
                .ok()
                .map(|n| destination_key(&n))
        } else {
            None
        }
    }

    /// Whether `path` names a class this registry holds (so it, not the fixed objects,
    /// answers for it).
    pub fn holds_class(class: &str) -> bool {
        let repo = repository();
        [SUBSCRIPTION_CLASS, FILTER_CLASS, "CIM_ListenerDestination"]
            .iter()
            .any(|c| repo.is_subclass_of(INTEROP, class, c))
    }

    /// DeleteInstance. A filter or destination still used by a subscription is refused
    /// (CIM_ERR_FAILED naming it); returns the destination key whose queue should go, if any.
    pub fn delete(
        &self,
        path: &ObjectPath,
        principal: &Principal,
    ) -> Result<Option<String>, CimError> {
        let not_found = || CimError::new(CimStatusCode::NotFound, format!("no instance {path}"));
        let key = Self::key_of(path).ok_or_else(not_found)?;
        let mut state = self.change();
        let owner = if let Some(f) = state.filters.get(&key) {
            f.doc.owner.clone()
        } else if let Some(d) = state.destinations.get(&key) {
            d.owner.clone()
        } else if let Some(s) = state.subscriptions.get(&key) {
            s.owner.clone()
        } else {
            return Err(not_found());
        };
        if !principal.may_control(&owner) {
            return Err(CimError::new(
                CimStatusCode::AccessDenied,
                format!("user {} may not delete {path}, which belongs to {owner}; only its owner or an admin may", principal.name),
            ));
        }
        if let Some(used) = state
            .subscriptions
            .values()
            .find(|s| s.filter == key || s.handler == key)
        {
            return Err(CimError::new(
                CimStatusCode::Failed,
                format!(
                    "{path} is used by the subscription {}; delete the subscription first",
                    used.path()
                ),
            ));
        }
        self.erase(&key)?;
        state.filters.remove(&key);
        state.subscriptions.remove(&key);
        Ok(state.destinations.remove(&key).map(|_| key))
    }

    /// ModifyInstance of a subscription: SubscriptionState (2 Enabled, 4 Disabled) and
    /// SubscriptionDuration may change; filters and destinations are not modifiable.
    pub fn modify(
        &self,
        path: &ObjectPath,
        instance: &Instance,
        property_list: Option<&[String]>,
        principal: &Principal,
    ) -> Result<(), CimError> {
        let not_found = || CimError::new(CimStatusCode::NotFound, format!("no instance {path}"));
        let key = Self::key_of(path).ok_or_else(not_found)?;
        let mut state = self.change();
        let Some(current) = state.subscriptions.get(&key).cloned() else {
            if state.filters.contains_key(&key) || state.destinations.contains_key(&key) {
                return Err(CimError::new(
                    CimStatusCode::NotSupported,
                    format!(
                        "{} instances cannot be modified: delete and create again",
                        path.class_name
                    ),
                ));
            }
            return Err(not_found());
        };
        if !principal.may_control(&current.owner) {
            return Err(CimError::new(
                CimStatusCode::AccessDenied,
                format!("user {} may not modify {path}, which belongs to {}; only its owner or an admin may", principal.name, current.owner),
            ));
        }
        let wanted = |name: &str| {
            property_list.is_none_or(|l| l.iter().any(|p| p.eq_ignore_ascii_case(name)))
        };
        let mut doc = current.clone();
        if wanted("SubscriptionState") {
            if let Some(s) = requested_state(instance)?.filter(|&s| s != doc.state) {
                doc.state = s;
                doc.state_changed = Timestamp::now();
            }
        }
        // without a PropertyList only the properties the instance carries change (a NULL
        // one clears)
        if wanted("SubscriptionDuration")
            && (property_list.is_some() || instance.property("SubscriptionDuration").is_some())
        {
            doc.duration_secs = u64_value(instance, "SubscriptionDuration")?;
        }
        if state.persistent(&doc.handler) {
            self.save(&key, &doc)?;
        }
        state.subscriptions.insert(key, doc);
        Ok(())
    }

    /// Removes subscriptions whose SubscriptionDuration has passed.
    fn expire(&self, state: &mut State, now: Timestamp) {
        if state.active.is_some() && state.next_expiry.is_none_or(|t| t > now) {
            return;
        }
        let expired: Vec<String> = state
            .subscriptions
            .iter()
            .filter(|(_, s)| s.expired(now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            tracing::info!(subscription = %key, "a subscription's SubscriptionDuration has passed; removed");
            state.subscriptions.remove(&key);
            state.active = None;
            let _ = self.erase(&key);
        }
    }

    /// Every filter, destination and subscription whose class ISA `class`, as instances.
    pub fn instances(&self, class: &str) -> Vec<InstanceWithPath> {
        let repo = repository();
        let now = Timestamp::now();
        let mut state = self.state();
        self.expire(&mut state, now);
        let mut out = Vec::new();
        if repo.is_subclass_of(INTEROP, FILTER_CLASS, class) {
            out.extend(state.filters.values().map(|f| filter_instance(&f.doc)));
        }
        if repo.is_subclass_of(INTEROP, DESTINATION_CLASS, class) {
            out.extend(state.destinations.values().map(destination_instance));
        }
        if repo.is_subclass_of(INTEROP, SUBSCRIPTION_CLASS, class) {
            out.extend(
                state
                    .subscriptions
                    .values()
                    .map(|s| subscription_instance(s, now)),
            );
        }
        out
    }

    /// The object `path` names, if it is one of ours.
    pub fn get(&self, path: &ObjectPath) -> Option<InstanceWithPath> {
        let key = Self::key_of(path)?;
        let now = Timestamp::now();
        let mut state = self.state();
        self.expire(&mut state, now);
        if let Some(f) = state.filters.get(&key) {
            return Some(filter_instance(&f.doc));
        }
        if let Some(d) = state.destinations.get(&key) {
            return Some(destination_instance(d));
        }
        state
            .subscriptions
            .get(&key)
            .map(|s| subscription_instance(s, now))
    }

    /// The enabled subscriptions, for the producer: called for every job event, so it is
    /// made once per change of the registry and shared.
    pub fn active(&self) -> Arc<[Active]> {
        let now = Timestamp::now();
        let mut state = self.state();
        self.expire(&mut state, now);
        if let Some(active) = &state.active {
            return active.clone();
        }
        let active: Arc<[Active]> = state
            .subscriptions
            .iter()
            .filter(|(_, s)| s.state == ENABLED)
            .filter_map(|(key, s)| {
                let filter = state.filters.get(&s.filter)?;
                let destination = state.destinations.get(&s.handler)?;
                Some(Active {
                    key: key.clone(),
                    filter_name: filter.doc.keys.name.clone(),
                    query: filter.query.clone(),
                    source_namespaces: filter.doc.source_namespaces.clone(),
                    target: Target {
                        key: s.handler.clone(),
                        name: destination.keys.name.clone(),
                        url: destination.url.clone(),
                    },
                })
            })
            .collect();
        state.next_expiry = state
            .subscriptions
            .values()
            .filter_map(|s| {
                let secs = i64::try_from(s.duration_secs?).unwrap_or(i64::MAX);
                s.started.checked_add(SignedDuration::from_secs(secs)).ok()
            })
            .min();
        state.active = Some(active.clone());
        active
    }

    /// Records what became of one indication and, when its tries ran out, applies its
    /// subscription's OnFatalErrorPolicy.
    pub fn record(&self, target: &Target, item: &Outgoing, outcome: &Outcome) {
        let (name, attempts, error) = match outcome {
            Outcome::Delivered { attempts } => ("delivered", *attempts, None),
            Outcome::GaveUp { attempts, error } => ("gave up", *attempts, Some(error.as_str())),
            Outcome::Dropped => ("dropped: queue full", 0, None),
        };
        {
            let db = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
            let result = db
                .execute(
                    "INSERT INTO outcomes (at, destination, subscription, indication_id, outcome, attempts, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        Timestamp::now().to_string(),
                        target.name,
                        item.subscription,
                        item.id,
                        name,
                        attempts,
                        error
                    ],
                )
                .and_then(|_| {
                    db.execute(
                        "DELETE FROM outcomes WHERE id <= (SELECT MAX(id) FROM outcomes) - ?1",
                        params![MAX_OUTCOMES],
                    )
                });
            if let Err(e) = result {
                tracing::warn!(error = %e, "a delivery outcome could not be recorded");
            }
        }
        let mut state = self.state();
        let Some(sub) = state.subscriptions.get_mut(&item.subscription) else {
            return;
        };
        match outcome {
            Outcome::Delivered { .. } => {
                sub.last_indication = Some((item.id.clone(), item.produced));
            }
            Outcome::GaveUp { error, .. } => {
                let policy = sub.on_fatal_error;
                tracing::warn!(destination = %target.name, url = %target.url, indication = %item.id, %error,
                    "indication could not be delivered; the subscription is {}", apply_policy_name(policy));
                match policy {
                    DISABLE => {
                        sub.state = DISABLED;
                        sub.state_changed = Timestamp::now();
                        let doc = sub.clone();
                        state.active = None;
                        if state.persistent(&doc.handler) {
                            let _ = self.save(&item.subscription, &doc);
                        }
                    }
                    REMOVE => {
                        state.subscriptions.remove(&item.subscription);
                        state.active = None;
                        let _ = self.erase(&item.subscription);
                    }
                    _ => {}
                }
            }
            Outcome::Dropped => {}
        }
    }

    /// Recent delivery outcomes, newest first: (time, destination, indication, outcome,
    /// attempts, error).
    #[allow(clippy::type_complexity)]
    pub fn outcomes(
        &self,
        limit: usize,
    ) -> rusqlite::Result<Vec<(String, String, String, String, u32, Option<String>)>> {
        let db = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut statement = db.prepare(
            "SELECT at, destination, indication_id, outcome, attempts, error FROM outcomes
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = statement.query_map(params![limit as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        rows.collect()
    }

    /// Keeps what the delivery queues had not sent at shutdown, for [`Registry::take_outbox`]
    /// after the restart. Only destinations that outlive the service keep theirs.
    pub fn keep_outbox(&self, left: &[(Target, Vec<Outgoing>)]) -> rusqlite::Result<usize> {
        let kept_targets: Vec<&(Target, Vec<Outgoing>)> = {
            let state = self.state();
            left.iter()
                .filter(|(target, _)| state.persistent(&target.key))
                .collect()
        };
        let mut db = self.db();
        let tx = db.transaction()?;
        let mut kept = 0;
        for (target, items) in kept_targets {
            for item in items {
                let body = cim::xml::write_export_request(
                    &cim::xml::ExportRequest::export_indication(&item.id, item.indication.clone()),
                );
                tx.execute(
                    "INSERT INTO outbox (destination, subscription, indication_id, produced, body)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        target.key,
                        item.subscription,
                        item.id,
                        item.produced.to_string(),
                        body
                    ],
                )?;
                kept += 1;
            }
        }
        tx.commit()?;
        Ok(kept)
    }

    /// Takes the indications kept at the last shutdown, in order, with their targets (those
    /// whose destination no longer exists are dropped).
    pub fn take_outbox(&self) -> anyhow::Result<Vec<(Target, Outgoing)>> {
        let rows: Vec<(String, String, String, String, String)> = {
            let db = self.db();
            let mut statement = db.prepare(
                "SELECT destination, subscription, indication_id, produced, body FROM outbox ORDER BY id",
            )?;
            let rows = statement.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let state = self.state();
        let mut out = Vec::new();
        for (destination, subscription, id, produced, body) in rows {
            let Some(d) = state.destinations.get(&destination) else {
                continue;
            };
            let message = cim::xml::read_message(body.as_bytes(), &cim::xml::Limits::DEFAULT);
            let (Ok(cim::xml::Message::ExportRequest(request)), Ok(produced)) =
                (message, produced.parse::<Timestamp>())
            else {
                tracing::warn!(indication = %id, "a kept indication cannot be read back; dropped");
                continue;
            };
            let Some(indication) = request.indication().cloned() else {
                continue;
            };
            out.push((
                Target {
                    key: destination.clone(),
                    name: d.keys.name.clone(),
                    url: d.url.clone(),
                },
                Outgoing {
                    subscription,
                    id,
                    produced,
                    indication,
                },
            ));
        }
        drop(state);
        // queued again by the caller; kept again at the next shutdown if still undelivered
        self.db().execute("DELETE FROM outbox", [])?;
        Ok(out)
    }
}

/// Whether the stored row exists (for tests of persistence).
#[cfg(test)]
fn stored(db: &Connection, key: &str) -> bool {
    use rusqlite::OptionalExtension;
    db.query_row("SELECT 1 FROM objects WHERE key = ?1", params![key], |_| {
        Ok(())
    })
    .optional()
    .ok()
    .flatten()
    .is_some()
}

fn render(
    namespace: &str,
    class: &str,
    path: ObjectPath,
    values: Vec<(String, CimValue)>,
) -> InstanceWithPath {
    let instance = crate::wbem::objects::fixed(namespace, class, values);
    InstanceWithPath::new(path, instance)
}

fn filter_instance(doc: &FilterDoc) -> InstanceWithPath {
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

fn destination_instance(doc: &DestinationDoc) -> InstanceWithPath {
    let mut values = doc.keys.values();
    values.push(("Destination".into(), doc.url.as_str().into()));
    values.push((
        "PersistenceType".into(),
        CimValue::UInt16(doc.persistence_type),
    ));
    values.push(("Protocol".into(), CimValue::UInt16(2)));
    render(INTEROP, DESTINATION_CLASS, doc.keys.path(), values)
}

fn subscription_instance(doc: &SubscriptionDoc, now: Timestamp) -> InstanceWithPath {
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

/// The namespace a filter's SourceNamespaces entry names, compared canonically.
pub fn watches(source_namespaces: Option<&[String]>, namespace: &str) -> bool {
    source_namespaces.is_none_or(|list| {
        list.iter()
            .any(|n| canonical_namespace(n) == canonical_namespace(namespace))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use cim::xml::Property;

    fn user(name: &str, role: Role) -> Principal {
        Principal {
            name: name.into(),
            role,
            os_user: name.into(),
        }
    }

    fn filter(name: &str, query: &str) -> Instance {
        Instance::new(FILTER_CLASS)
            .with_property(Property::new("Name", name))
            .with_property(Property::new("Query", query))
            .with_property(Property::new("QueryLanguage", "WQL"))
    }

    fn destination(name: &str, url: &str, persistence: u16) -> Instance {
        Instance::new(DESTINATION_CLASS)
            .with_property(Property::new("Name", name))
            .with_property(Property::new("Destination", url))
            .with_property(Property::new(
                "PersistenceType",
                CimValue::UInt16(persistence),
            ))
    }

    fn subscription(filter: &ObjectPath, handler: &ObjectPath) -> Instance {
        Instance::new(SUBSCRIPTION_CLASS)
            .with_property(Property::new("Filter", CimValue::Reference(filter.clone())))
            .with_property(Property::new(
                "Handler",
                CimValue::Reference(handler.clone()),
            ))
    }

    const JOBS: &str =
        "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob";

    #[test]
    fn objects_are_checked_owned_and_survive_a_reopen_unless_transient() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("indications.db");
        let alice = user("alice", Role::User);
        let bob = user("bob", Role::User);
        let registry = Registry::open(&db, "node1").unwrap();
        let f = registry
            .create("interop", &filter("f1", JOBS), &alice)
            .unwrap();
        assert_eq!(f.key("SystemName"), Some(&KeyValue::from("node1")));
        let d = registry
            .create(
                "interop",
                &destination("d1", "http://127.0.0.1:5990", 2),
                &alice,
            )
            .unwrap();
        let t = registry
            .create("interop", &destination("t1", "127.0.0.1:5991", 3), &alice)
            .unwrap();
        let s = registry
            .create("interop", &subscription(&f, &d), &alice)
            .unwrap();
        registry
            .create("interop", &subscription(&f, &t), &alice)
            .unwrap();

        let err = registry
            .create("interop", &filter("f1", JOBS), &alice)
            .unwrap_err();
        assert_eq!(err.code, CimStatusCode::AlreadyExists as u32);
        let err = registry
            .create("interop", &filter("bad", "SELECT * FROM"), &alice)
            .unwrap_err();
        assert_eq!(err.code, CimStatusCode::InvalidQuery as u32);
        let err = registry
            .create(
                "interop",
                &filter("notind", "SELECT * FROM CIM_ConcreteJob"),
                &alice,
            )
            .unwrap_err();
        assert_eq!(err.code, CimStatusCode::InvalidQuery as u32);
        let missing = Keys {
            namespace: "interop".into(),
            system_creation_class_name: "CIM_ComputerSystem".into(),
            system_name: "node1".into(),
            creation_class_name: FILTER_CLASS.into(),
            name: "nope".into(),
        }
        .path();
        let err = registry
            .create("interop", &subscription(&missing, &d), &alice)
            .unwrap_err();
        assert_eq!(err.code, CimStatusCode::InvalidParameter as u32);
        let mut elsewhere = f.clone();
        elsewhere.namespace = Some("x y".into());
        let err = registry
            .create("interop", &subscription(&elsewhere, &d), &alice)
            .unwrap_err();
        assert_eq!(err.code, CimStatusCode::InvalidParameter as u32, "{err:?}");
        for bad in ["ftp://x/", "mailto:listener@example.com", "http://"] {
            let err = registry
                .create("interop", &destination("bad", bad, 2), &alice)
                .unwrap_err();
            assert_eq!(err.code, CimStatusCode::InvalidParameter as u32, "{bad}");
        }
        assert_eq!(
            check_destination("localhost:5990").unwrap(),
            "http://localhost:5990"
        );

        let err = registry.delete(&f, &alice).unwrap_err();
        assert_eq!(err.code, CimStatusCode::Failed as u32, "in use: {err:?}");
        let err = registry.delete(&s, &bob).unwrap_err();
        assert_eq!(err.code, CimStatusCode::AccessDenied as u32);
        assert_eq!(registry.active().len(), 2);
        assert!(stored(&registry.db(), &filter_key("f1")));
        assert!(!stored(&registry.db(), &destination_key("t1")), "transient");
        drop(registry);

        let registry = Registry::open(&db, "node1").unwrap();
        assert_eq!(registry.instances(FILTER_CLASS).len(), 1);
        assert_eq!(registry.instances("CIM_ListenerDestination").len(), 1);
        let subs = registry.instances(SUBSCRIPTION_CLASS);
        assert_eq!(
            subs.len(),
            1,
            "only the permanent destination's subscription"
        );
        assert_eq!(subs[0].path, s, "references come back as they were written");
        let active = registry.active();
        assert_eq!(active[0].target.url, "http://127.0.0.1:5990");
        assert_eq!(active[0].filter_name, "f1");
    }

    #[test]
    fn a_subscription_can_be_disabled_and_the_fatal_policy_applies() {
        let dir = tempfile::tempdir().unwrap();
        let alice = user("alice", Role::User);
        let registry = Registry::open(&dir.path().join("i.db"), "n").unwrap();
        let f = registry
            .create("interop", &filter("f", JOBS), &alice)
            .unwrap();
        let d = registry
            .create(
                "interop",
                &destination("d", "http://127.0.0.1:1", 2),
                &alice,
            )
            .unwrap();
        let mut sub = subscription(&f, &d);
        sub.set_property(Property::new(
            "OnFatalErrorPolicy",
            CimValue::UInt16(REMOVE),
        ));
        let s = registry.create("interop", &sub, &alice).unwrap();
        let disabled = Instance::new(SUBSCRIPTION_CLASS).with_property(Property::new(
            "SubscriptionState",
            CimValue::UInt16(DISABLED),
        ));
        registry.modify(&s, &disabled, None, &alice).unwrap();
        assert!(registry.active().is_empty());
        let enabled = Instance::new(SUBSCRIPTION_CLASS).with_property(Property::new(
            "SubscriptionState",
            CimValue::UInt16(ENABLED),
        ));
        registry.modify(&s, &enabled, None, &alice).unwrap();
        let active = registry.active();
        assert_eq!(active.len(), 1);
        assert!(
            Arc::ptr_eq(&active, &registry.active()),
            "made once per change, not per call"
        );
        let item = Outgoing {
            subscription: active[0].key.clone(),
            id: "x".into(),
            produced: Timestamp::now(),
            indication: Instance::new("CIM_InstCreation"),
        };
        let gave_up = Outcome::GaveUp {
            attempts: 3,
            error: "refused".into(),
        };
        registry.record(&active[0].target, &item, &gave_up);
        assert!(registry.instances(SUBSCRIPTION_CLASS).is_empty(), "Remove");
        assert_eq!(registry.outcomes(10).unwrap()[0].3, "gave up");
    }
}
