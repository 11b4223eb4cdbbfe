//! The registry's rules, against a real SQLite file.

use super::*;
use crate::auth::Role;
use cim::xml::Property;
use cim::CimValue;
use cimjob_store::subscriptions::SqliteSubscriptions;

fn open(path: &std::path::Path, host: &str) -> Registry {
    let store = SqliteSubscriptions::open(path).expect("the subscriptions database opens");
    Registry::open(Arc::new(store), host).expect("the registry loads")
}

/// Whether the object with `key` is in the registry's store (not only in its memory).
fn stored(registry: &Registry, key: &str) -> bool {
    registry
        .store
        .objects()
        .expect("readable")
        .iter()
        .any(|(k, _)| k == key)
}

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

const JOBS: &str = "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob";

#[test]
fn objects_are_checked_owned_and_survive_a_reopen_unless_transient() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("indications.db");
    let alice = user("alice", Role::User);
    let bob = user("bob", Role::User);
    let registry = open(&db, "node1");
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
    assert_eq!(err.code, CimStatusCode::InvalidParameter as u32);
    let err = registry
        .create(
            "interop",
            &filter("notind", "SELECT * FROM CIM_ConcreteJob"),
            &alice,
        )
        .unwrap_err();
    assert_eq!(err.code, CimStatusCode::InvalidParameter as u32);
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
    assert!(stored(&registry, &filter_key("f1")));
    assert!(!stored(&registry, &destination_key("t1")), "transient");
    drop(registry);

    let registry = open(&db, "node1");
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
    let registry = open(&dir.path().join("i.db"), "n");
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
    assert_eq!(registry.outcomes(10).unwrap()[0].outcome, "gave up");
}

#[test]
fn a_reload_shows_what_another_node_stored_and_keeps_what_only_this_node_holds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("indications.db");
    let admin = user("admin", Role::Admin);
    // two nodes on one store
    let here = open(&db, "node1");
    let there = open(&db, "node2");
    let f = here.create("interop", &filter("f1", JOBS), &admin).unwrap();
    let transient = here
        .create("interop", &destination("t1", "127.0.0.1:5991", 3), &admin)
        .unwrap();
    let s = here
        .create("interop", &subscription(&f, &transient), &admin)
        .unwrap();
    let permanent = there
        .create(
            "interop",
            &destination("d2", "http://127.0.0.1:5990", 2),
            &admin,
        )
        .unwrap();
    here.reload().unwrap();
    // the other node's permanent destination shows here; this node's transient objects,
    // which the store never held, are still here
    for path in [&permanent, &transient, &s] {
        assert!(here.get(path).is_some(), "{path} after the reload");
    }
    assert_eq!(
        here.active().len(),
        1,
        "the transient subscription still delivers"
    );
    // a permanent destination another node stores under the same name wins: this node's
    // transient one, and its subscription, give way (no indication goes to the wrong listener)
    let same_name = there
        .create(
            "interop",
            &destination("t1", "http://127.0.0.1:5992", 2),
            &admin,
        )
        .unwrap();
    here.reload().unwrap();
    assert!(here.get(&same_name).is_some());
    assert!(here.get(&s).is_none(), "the transient subscription is gone");
    assert!(here.active().is_empty());
    // and what this node deletes, a reload does not bring back
    here.delete(&permanent, &admin).unwrap();
    there.reload().unwrap();
    here.reload().unwrap();
    assert!(here.get(&permanent).is_none());
    assert!(there.get(&permanent).is_none());
}
