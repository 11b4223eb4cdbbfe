//! The subscriptions: CIM_IndicationFilter, CIM_ListenerDestinationCIMXML and
//! CIM_IndicationSubscription instances, as clients create them with the intrinsic operations
//! in the interop namespace.
//!
//! Each is checked when created (a query that does not parse, a destination that is not an
//! http(s) URL and a subscription whose Filter or Handler does not exist are refused with the
//! CIM status code that says so), belongs to the user who created it (only that user or an
//! admin may modify or delete it), and is kept through a [`SubscriptionStore`] (SQLite's `<data-dir>/indications.db`
//! today), so it survives a restart. Transient destinations (PersistenceType 3, what pywbem's "owned" destinations
//! are) and their subscriptions live only as long as the service: that is what Transient
//! means. The same database keeps the indications still queued at shutdown (the outbox) and
//! a bounded record of delivery outcomes.
//!
//! References are answered exactly as the client wrote them (namespace as named, no host):
//! pywbem finds its subscriptions again by comparing those paths.
//!
//! By concern:
//! - [`records`]: the plain data kept for each object.
//! - [`read`]: reading and checking what a client wrote in an instance.
//! - [`render`]: the objects as CIM instances again.
//! - this module: the rules (ownership, references that must exist, limits, expiry, the
//!   fatal-error policy) and the state shared with the producer of indications.

mod read;
mod records;
mod render;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cim::query::Query;
use cim::xml::{CimError, Instance, InstanceWithPath};
use cim::{CimStatusCode, KeyValue, ObjectPath};
use cimjob_store::subscriptions::{DeliveryOutcome, SubscriptionStore};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::auth::Principal;
use crate::indications::delivery::{Outcome, Outgoing, Target};
use crate::wbem::classes::{canonical_namespace, repository, INTEROP};
use crate::wbem::query::parse_indication_filter;
use read::{
    check_destination, checked_reference, invalid, name_of, reference_value, requested_state,
    string_value, strings_value, u16_value, u64_value,
};
use records::{
    destination_key, filter_key, subscription_key, DestinationDoc, FilterDoc, Keys,
    SubscriptionDoc, DISABLE, DISABLED, ENABLED, IGNORE, PERMANENT, REMOVE, TRANSIENT,
};
use render::{destination_instance, filter_instance, subscription_instance};

/// The filter class.
pub const FILTER_CLASS: &str = "CIM_IndicationFilter";

/// The destination class we deliver to.
pub const DESTINATION_CLASS: &str = "CIM_ListenerDestinationCIMXML";

/// The subscription class.
pub const SUBSCRIPTION_CLASS: &str = "CIM_IndicationSubscription";

/// At most this many filters, destinations and subscriptions each, so the registry (and the
/// work done per job event) stays bounded.
pub const MAX_OBJECTS: usize = 1_000;

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
    /// The objects `store` keeps. A stored filter whose query is no longer accepted is
    /// skipped (and said in the log).
    fn load(store: &dyn SubscriptionStore) -> anyhow::Result<State> {
        let mut state = State::default();
        for (key, doc) in store.objects()? {
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
        Ok(state)
    }

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
    /// The one owner whose jobs it hears of (a user's subscription); `None`: every job.
    pub sees_only: Option<String>,
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
    store: Arc<dyn SubscriptionStore>,
    host: String,
    /// Raised at every change of what [`Registry::active`] answers.
    version: tokio::sync::watch::Sender<u64>,
}

fn failed(what: &str, e: impl std::fmt::Display) -> CimError {
    CimError::new(
        CimStatusCode::Failed,
        format!("the subscription store could not {what}: {e}"),
    )
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

fn apply_policy_name(policy: u16) -> &'static str {
    match policy {
        DISABLE => "disabled",
        REMOVE => "removed",
        _ => "kept (Ignore)",
    }
}

impl Registry {
    /// Loads the registry from `store`. `host` is the SystemName given to objects created
    /// without one. A stored filter whose query is no longer accepted is skipped (and said
    /// in the log).
    pub fn open(store: Arc<dyn SubscriptionStore>, host: &str) -> anyhow::Result<Registry> {
        let state = State::load(&*store)?;
        Ok(Registry {
            state: Mutex::new(state),
            store,
            host: host.to_string(),
            version: tokio::sync::watch::channel(0).0,
        })
    }

    /// Reads the objects again from the store, which other nodes of a cluster write too:
    /// what changed there shows here (and the lanes follow). What only this node holds (its
    /// transient destinations and their subscriptions, never stored) stays, and a change made
    /// here while the store was read is not undone: that reload is skipped, the next one
    /// reads it. Nothing changes if the store cannot be read.
    pub fn reload(&self) -> anyhow::Result<()> {
        // a change holds the lock from its version's bump through its save: none is midway
        let before = {
            let _quiet = self.state();
            *self.version.borrow()
        };
        let mut fresh = State::load(&*self.store)?;
        let mut state = self.state();
        if *self.version.borrow() != before {
            return Ok(());
        }
        // a stored destination of the same name wins over this node's transient one (whose
        // subscriptions then go): a user's indications never go to another's listener
        for (key, destination) in &state.destinations {
            if destination.persistence_type != PERMANENT {
                if fresh.destinations.contains_key(key) {
                    tracing::warn!(destination = %key, "a transient destination gives way to a permanent one of the same name made on another node");
                    continue;
                }
                fresh.destinations.insert(key.clone(), destination.clone());
            }
        }
        for (key, subscription) in &state.subscriptions {
            let kept_handler = fresh
                .destinations
                .get(&subscription.handler)
                .is_some_and(|d| d.persistence_type != PERMANENT);
            // a transient subscription stays while its filter does
            if kept_handler && fresh.filters.contains_key(&subscription.filter) {
                fresh
                    .subscriptions
                    .insert(key.clone(), subscription.clone());
            }
        }
        // what was last delivered is this node's to know: the store does not keep it
        for (key, subscription) in fresh.subscriptions.iter_mut() {
            if let Some(here) = state.subscriptions.get(key) {
                subscription.last_indication = here.last_indication.clone();
            }
        }
        let same = state.filters.keys().eq(fresh.filters.keys())
            && state.destinations == fresh.destinations
            && state.subscriptions == fresh.subscriptions;
        if !same {
            *state = fresh;
            drop(state);
            self.version.send_modify(|v| *v += 1);
        }
        Ok(())
    }

    /// Resolves each time the enabled subscriptions may have changed (created, deleted,
    /// modified, expired, disabled or removed by their fatal-error policy).
    pub fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// When the next SubscriptionDuration runs out, if one will.
    pub fn next_expiry(&self) -> Option<Timestamp> {
        self.active();
        self.state().next_expiry
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, for a change: what `active` answered is made again.
    fn change(&self) -> MutexGuard<'_, State> {
        let mut state = self.state();
        state.active = None;
        self.version.send_modify(|v| *v += 1);
        state
    }

    fn save(&self, key: &str, doc: &impl Serialize) -> Result<(), CimError> {
        let doc = serde_json::to_string(doc).map_err(|e| failed("encode", e))?;
        self.store.save(key, &doc).map_err(|e| failed("save", e))
    }

    fn erase(&self, key: &str) -> Result<(), CimError> {
        self.store.erase(key).map_err(|e| failed("delete", e))
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
        // DSP0200 lists no query status for CreateInstance: a filter whose query or language
        // is refused is an invalid parameter (what pywbemtools' tests expect), and says why
        let parsed = parse_indication_filter(&language, &query).map_err(|e| {
            invalid(format!(
                "the filter's Query/QueryLanguage cannot be used: {}",
                e.description.as_deref().unwrap_or("refused")
            ))
        })?;
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
            owner_sees_all: owner.sees_only().is_none(),
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
            self.version.send_modify(|v| *v += 1);
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
                    sees_only: (!s.owner_sees_all).then(|| s.owner.clone()),
                    filter_name: filter.doc.keys.name.clone(),
                    query: filter.query.clone(),
                    source_namespaces: filter.doc.source_namespaces.clone(),
                    target: Target {
                        key: s.handler.clone(),
                        name: destination.keys.name.clone(),
                        url: destination.url.clone(),
                        transient: destination.persistence_type != PERMANENT,
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
        };
        let record = DeliveryOutcome {
            at: Timestamp::now().to_string(),
            destination: target.name.clone(),
            subscription: item.subscription.clone(),
            indication_id: item.id.clone(),
            outcome: name.to_string(),
            attempts,
            error: error.map(str::to_string),
        };
        if let Err(e) = self.store.record_outcome(&record) {
            tracing::warn!(error = %e, "a delivery outcome could not be recorded");
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
                        self.version.send_modify(|v| *v += 1);
                        if state.persistent(&doc.handler) {
                            let _ = self.save(&item.subscription, &doc);
                        }
                    }
                    REMOVE => {
                        state.subscriptions.remove(&item.subscription);
                        state.active = None;
                        self.version.send_modify(|v| *v += 1);
                        let _ = self.erase(&item.subscription);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Recent delivery outcomes, newest first.
    pub fn outcomes(&self, limit: usize) -> anyhow::Result<Vec<DeliveryOutcome>> {
        Ok(self.store.outcomes(limit)?)
    }
}

/// The namespace a filter's SourceNamespaces entry names, compared canonically.
pub fn watches(source_namespaces: Option<&[String]>, namespace: &str) -> bool {
    source_namespaces.is_none_or(|list| {
        list.iter()
            .any(|n| canonical_namespace(n) == canonical_namespace(namespace))
    })
}
