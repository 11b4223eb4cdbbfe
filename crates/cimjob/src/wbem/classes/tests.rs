//! The repository, checked against the model table and the MOF rules.

use cim::{CimStatusCode, CimType, CimValue, DeclErrorKind, PropertyDecl};
use cimjob_rules::model::properties::{properties, CLASS_NAME};
use cimjob_rules::model::value_maps::{RequestedState, StateChangeReturn};

use super::*;

fn repo() -> &'static Repository {
    repository()
}

fn names(classes: &[&ClassDecl]) -> Vec<&'static str> {
    classes.iter().map(|c| c.name).collect()
}

/// Every class of every namespace, with its namespace.
fn every_class() -> Vec<(&'static str, &'static ClassDecl)> {
    let r = repo();
    r.namespaces()
        .iter()
        .flat_map(|ns| {
            r.subclasses(ns, None, true)
                .into_iter()
                .map(move |c| (*ns, c))
        })
        .collect()
}

#[test]
fn the_repository_has_no_defects() {
    let defects = repo().defects();
    assert!(defects.is_empty(), "{defects:#?}");
}

#[test]
fn every_superclass_exists_in_the_namespace_and_there_are_no_cycles() {
    let r = repo();
    for (ns, class) in every_class() {
        if let Some(s) = class.superclass {
            assert!(r.class(ns, s).is_some(), "{ns}: {} → {s}", class.name);
        }
        let chain = r.superclass_chain(ns, class.name);
        assert_eq!(chain[0].name, class.name);
        assert!(
            chain.last().unwrap().superclass.is_none(),
            "{ns}: {} does not reach a root",
            class.name
        );
        for pair in chain.windows(2) {
            assert_eq!(pair[0].superclass, Some(pair[1].name));
        }
    }
}

#[test]
fn every_declaration_is_served_in_some_namespace() {
    let served: Vec<&str> = CIMV2_CLASSES
        .iter()
        .chain(INTEROP_CLASSES)
        .copied()
        .collect();
    for decl in declarations() {
        assert!(
            served.contains(&decl.name),
            "{} is declared but not served",
            decl.name
        );
    }
    let mut unique = declarations().iter().map(|c| c.name).collect::<Vec<_>>();
    let n = unique.len();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), n, "a class is declared twice");
}

#[test]
fn every_key_is_a_non_array_that_refuses_null() {
    for (ns, class) in every_class() {
        for (p, _, _) in repo().all_properties(ns, class.name) {
            if p.qualifiers.key {
                assert!(!p.is_array, "{ns}: {}.{}", class.name, p.name);
                let err = p.check(None).unwrap_err();
                assert_eq!(
                    err.kind(),
                    &DeclErrorKind::RequiredMissing,
                    "{}.{}",
                    class.name,
                    p.name
                );
            }
        }
    }
}

#[test]
fn overrides_resolve_to_one_property_per_name() {
    for (ns, class) in every_class() {
        let all = repo().all_properties(ns, class.name);
        let mut seen: Vec<String> = all
            .iter()
            .map(|(p, _, _)| p.name.to_ascii_lowercase())
            .collect();
        let n = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), n, "{ns}: {} lists a property twice", class.name);
        let methods = repo().all_methods(ns, class.name);
        let mut m: Vec<&str> = methods.iter().map(|(m, _, _)| m.name).collect();
        let n = m.len();
        m.dedup();
        assert_eq!(m.len(), n);
    }
}

#[test]
fn cimjob_concrete_job_has_exactly_the_model_tables_properties() {
    let all = repo().all_properties(CIMV2, CLASS_NAME);
    let ours: Vec<&str> = all.iter().map(|(p, _, _)| p.name).collect();
    let table: Vec<&str> = properties().iter().map(|p| p.decl.name).collect();
    assert_eq!(ours, table);
    for ((decl, _, _), row) in all.iter().zip(properties()) {
        match row.decl.class_origin {
            // Shared root classes carry the generic DMTF descriptions.
            "CIM_ManagedElement" | "CIM_ManagedSystemElement" => {
                assert_eq!(
                    PropertyDecl {
                        description: row.decl.description,
                        ..**decl
                    },
                    row.decl
                );
            }
            _ => assert_eq!(**decl, row.decl, "{}", row.decl.name),
        }
    }
}

#[test]
fn generic_descriptions_cover_exactly_the_shared_properties() {
    let shared: Vec<&str> = properties()
        .iter()
        .filter(|p| {
            matches!(
                p.decl.class_origin,
                "CIM_ManagedElement" | "CIM_ManagedSystemElement"
            ) || ["InstanceID", "Name"].contains(&p.decl.name)
        })
        .map(|p| p.decl.name)
        .collect();
    let described: Vec<&str> = core::GENERIC_DESCRIPTIONS.iter().map(|(n, _)| *n).collect();
    assert_eq!(shared, described);
}

#[test]
fn class_origin_is_where_a_property_was_first_declared() {
    let all = repo().all_properties(CIMV2, "cimjob_concretejob");
    let find = |name: &str| *all.iter().find(|(p, _, _)| p.name == name).unwrap();
    let (id, origin, propagated) = find("InstanceID");
    assert!(id.qualifiers.key, "the CIM_ConcreteJob override applies");
    assert_eq!((origin, propagated), ("CIM_ManagedElement", true));
    let (name, origin, _) = find("Name");
    assert!(name.qualifiers.required);
    assert_eq!(origin, "CIM_ManagedSystemElement");
    assert_eq!(find("JobState").1, "CIM_ConcreteJob");
    assert_eq!(find("CommandLine").1, CLASS_NAME);
    assert!(!find("CommandLine").2);

    let cj = repo().all_properties(CIMV2, "CIM_ConcreteJob");
    let (id, origin, propagated) = *cj.iter().find(|(p, _, _)| p.name == "InstanceID").unwrap();
    assert!(id.qualifiers.key);
    assert_eq!(
        (origin, propagated),
        ("CIM_ManagedElement", false),
        "an override is local"
    );

    let me = repo().all_properties(CIMV2, "CIM_ManagedElement");
    let (id, _, _) = *me.iter().find(|(p, _, _)| p.name == "InstanceID").unwrap();
    assert!(
        !id.qualifiers.key && !id.qualifiers.required,
        "the base definition is not a key"
    );
    let mse = repo().all_properties(CIMV2, "CIM_ManagedSystemElement");
    let (name, _, _) = *mse.iter().find(|(p, _, _)| p.name == "Name").unwrap();
    assert!(!name.qualifiers.required);
    assert_eq!(name.qualifiers.max_len, Some(1024));
}

#[test]
fn request_state_change_takes_a_requested_state_and_an_interval() {
    let m = repo()
        .method(CIMV2, CLASS_NAME, "requeststatechange")
        .unwrap();
    assert_eq!(m.return_type, CimType::UInt32);
    assert_eq!(m.value_map, StateChangeReturn::VALUE_MAP);
    assert_eq!(m.values, StateChangeReturn::VALUES);
    assert_eq!(
        m.return_value_name(&CimValue::UInt32(4097)),
        Some("Invalid State Transition")
    );
    let [state, timeout] = m.parameters else {
        panic!("two parameters: {:?}", m.parameters)
    };
    assert_eq!(
        (state.name, state.ty, state.is_in, state.is_out),
        ("RequestedState", CimType::UInt16, true, false)
    );
    assert_eq!(state.value_map, RequestedState::VALUE_MAP);
    assert_eq!(
        (timeout.name, timeout.ty, timeout.interval),
        ("TimeoutPeriod", CimType::DateTime, true)
    );
    let (_, origin, propagated) = *repo()
        .all_methods(CIMV2, CLASS_NAME)
        .iter()
        .find(|(m, _, _)| m.name == "RequestStateChange")
        .unwrap();
    assert_eq!((origin, propagated), ("CIM_ConcreteJob", true));
}

#[test]
fn parameter_checks_refuse_what_the_mof_forbids() {
    let m = repo()
        .method(CIMV2, "CIM_ConcreteJob", "RequestStateChange")
        .unwrap();
    let state = m.parameter("RequestedState").unwrap();
    let err = state.check(Some(&CimValue::UInt16(1))).unwrap_err();
    assert_eq!(err.kind(), &DeclErrorKind::NotInValueMap);
    assert_eq!(err.status_code(), CimStatusCode::InvalidParameter);
    assert!(
        err.to_string()
            .starts_with("parameter RequestedState: value 1"),
        "{err}"
    );
    assert!(state.check(Some(&CimValue::UInt16(5))).is_ok());
    assert!(
        state.check(Some(&CimValue::UInt32(5))).is_err(),
        "uint32 is not uint16"
    );

    let timeout = m.parameter("TimeoutPeriod").unwrap();
    let stamp = CimValue::parse(CimType::DateTime, "20250101120000.000000+060").unwrap();
    assert_eq!(
        timeout.check(Some(&stamp)).unwrap_err().kind(),
        &DeclErrorKind::NotAnInterval
    );
    let ten_seconds = CimValue::parse(CimType::DateTime, "00000000000010.000000:000").unwrap();
    assert!(timeout.check(Some(&ten_seconds)).is_ok());
    assert!(timeout.check(None).is_ok(), "NULL: no time requirement");

    let answer = repo().method(CIMV2, CLASS_NAME, "AnswerQuery").unwrap();
    let p = answer.parameter("Answer").unwrap();
    assert_eq!(
        p.check(None).unwrap_err().kind(),
        &DeclErrorKind::RequiredMissing
    );
}

#[test]
fn submit_job_returns_the_job_as_an_out_reference() {
    let m = repo()
        .method(CIMV2, "CIMJOB_JobService", "SubmitJob")
        .unwrap();
    assert_eq!(m.return_type, CimType::UInt32);
    assert_eq!(
        m.return_value_name(&CimValue::UInt32(4096)),
        Some("Method Parameters Checked - Job Started")
    );
    assert_eq!(
        m.return_value_name(&CimValue::UInt32(0)),
        Some("Job Completed with No Error")
    );
    let job = m.parameter("Job").unwrap();
    assert_eq!(
        (job.ty, job.is_in, job.is_out),
        (CimType::Reference, false, true)
    );
    assert_eq!(job.reference_class, Some("CIM_ConcreteJob"));
    let argv = m.parameter("CommandLine").unwrap();
    assert!(argv.is_array && argv.is_in && argv.ty == CimType::String);
    assert_eq!(
        m.parameter("Template").unwrap().embedded_instance,
        Some(CLASS_NAME)
    );
}

#[test]
fn the_job_methods_are_where_the_mof_puts_them() {
    let r = repo();
    let methods = r.all_methods(CIMV2, CLASS_NAME);
    let placed: Vec<(&str, &str)> = methods.iter().map(|(m, o, _)| (m.name, *o)).collect();
    assert_eq!(
        placed,
        [
            ("KillJob", "CIM_Job"),
            ("RequestStateChange", "CIM_ConcreteJob"),
            ("GetError", "CIM_ConcreteJob"),
            ("GetErrors", "CIM_ConcreteJob"),
            ("AnswerQuery", CLASS_NAME),
        ]
    );
    let kill = r.method(CIMV2, "CIM_Job", "KillJob").unwrap();
    assert!(!kill.deprecated.is_empty());
    assert!(kill
        .return_value_name(&CimValue::UInt32(5))
        .is_some_and(|n| n == "DMTF Reserved"));
    let errors = r.method(CIMV2, "CIM_ConcreteJob", "GetErrors").unwrap();
    let p = errors.parameters[0];
    assert!(p.is_array && p.is_out && !p.is_in);
    assert_eq!(p.embedded_instance, Some("CIM_Error"));
    assert!(!r
        .method(CIMV2, "CIM_ConcreteJob", "GetError")
        .unwrap()
        .deprecated
        .is_empty());
    assert!(
        r.method(CIMV2, "CIM_ConcreteJob", "AnswerQuery").is_none(),
        "ours only"
    );
}

#[test]
fn isa_follows_the_superclass_chain() {
    let r = repo();
    assert!(r.is_subclass_of(CIMV2, CLASS_NAME, "CIM_Job"));
    assert!(r.is_subclass_of(CIMV2, "cimjob_concretejob", "cim_managedelement"));
    assert!(r.is_subclass_of(CIMV2, CLASS_NAME, CLASS_NAME), "reflexive");
    assert!(!r.is_subclass_of(CIMV2, CLASS_NAME, "CIM_Service"));
    assert!(!r.is_subclass_of(CIMV2, "CIM_Job", CLASS_NAME));
    assert!(!r.is_subclass_of(CIMV2, "CIM_NoSuchClass", "CIM_NoSuchClass"));
    assert!(r.is_subclass_of(INTEROP, "CIM_ObjectManager", "CIM_Service"));
    assert!(r.is_subclass_of(
        INTEROP,
        "CIM_IndicationSubscription",
        "CIM_AbstractIndicationSubscription"
    ));
    assert!(r.is_subclass_of(CIMV2, "CIM_InstModification", "CIM_Indication"));
    assert_eq!(
        names(&r.superclass_chain(CIMV2, CLASS_NAME)),
        [
            CLASS_NAME,
            "CIM_ConcreteJob",
            "CIM_Job",
            "CIM_LogicalElement",
            "CIM_ManagedSystemElement",
            "CIM_ManagedElement"
        ]
    );
}

#[test]
fn subclasses_shallow_and_deep() {
    let r = repo();
    assert_eq!(
        names(&r.subclasses(CIMV2, Some("CIM_Job"), false)),
        ["CIM_ConcreteJob"]
    );
    assert_eq!(
        names(&r.subclasses(CIMV2, Some("cim_job"), true)),
        ["CIM_ConcreteJob", CLASS_NAME]
    );
    assert_eq!(
        names(&r.subclasses(CIMV2, Some(CLASS_NAME), true)),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(&r.subclasses(CIMV2, Some("CIM_ManagedElement"), false)),
        [
            "CIM_ManagedSystemElement",
            "CIM_Capabilities",
            "CIM_StatisticalData",
            "CIM_RegisteredSpecification"
        ]
    );
    assert_eq!(
        names(&r.subclasses(CIMV2, Some("CIM_InstIndication"), false)),
        [
            "CIM_InstCreation",
            "CIM_InstModification",
            "CIM_InstDeletion",
            "CIM_InstMethodCall"
        ]
    );
    assert_eq!(
        names(&r.subclasses(CIMV2, None, false)),
        [
            "CIM_ManagedElement",
            "CIM_HostedService",
            "CIM_OwningJobElement",
            "CIM_ElementCapabilities",
            "CIM_ElementStatisticalData",
            "CIM_ElementConformsToProfile",
            "CIM_Error",
            "CIM_Indication"
        ]
    );
    assert_eq!(r.subclasses(CIMV2, None, true).len(), CIMV2_CLASSES.len());
    assert!(r
        .subclasses(CIMV2, Some("CIM_NoSuchClass"), true)
        .is_empty());
    assert!(r.subclasses("root/nowhere", None, true).is_empty());
    let deep = r.subclasses(INTEROP, Some("CIM_ManagedElement"), true);
    assert!(names(&deep).contains(&"CIM_ObjectManager"));
    assert!(
        !names(&deep).contains(&"CIM_ManagedElement"),
        "not the class itself"
    );
}

#[test]
fn namespaces_and_the_interop_alias() {
    let r = repo();
    assert_eq!(r.namespaces(), ["root/cimv2", "interop"]);
    assert_eq!(canonical_namespace("interop"), Some(INTEROP));
    assert_eq!(canonical_namespace("ROOT/Interop"), Some(INTEROP));
    assert_eq!(canonical_namespace("root/CIMV2"), Some(CIMV2));
    assert_eq!(canonical_namespace("root/PG_InterOp"), None);
    let via_alias = r.class("interop", "cim_objectmanager").unwrap();
    assert!(std::ptr::eq(
        via_alias,
        r.class(INTEROP, "CIM_ObjectManager").unwrap()
    ));
    for wanted in [
        "CIM_ObjectManager",
        "CIM_Namespace",
        "CIM_RegisteredProfile",
        "CIM_IndicationFilter",
        "CIM_ListenerDestinationCIMXML",
        "CIM_IndicationSubscription",
    ] {
        assert!(
            r.class("interop", wanted).is_some(),
            "{wanted} (pywbem looks for it)"
        );
    }
    assert!(
        r.class(INTEROP, CLASS_NAME).is_none(),
        "jobs live in root/cimv2 only"
    );
    assert!(r.class(CIMV2, "CIM_ObjectManager").is_none());
    assert!(r.class("root/nowhere", "CIM_ManagedElement").is_none());
}

#[test]
fn shared_classes_are_one_declaration() {
    let r = repo();
    for name in [
        "CIM_ManagedElement",
        "CIM_Service",
        "CIM_Error",
        "CIM_InstModification",
    ] {
        assert!(
            std::ptr::eq(
                r.class(CIMV2, name).unwrap(),
                r.class(INTEROP, name).unwrap()
            ),
            "{name}"
        );
    }
}

#[test]
fn every_value_map_has_as_many_values() {
    for (ns, class) in every_class() {
        for p in class.properties {
            let q = p.qualifiers;
            assert!(
                q.value_map.is_empty() || q.value_map.len() == q.values.len(),
                "{ns}: {}.{}",
                class.name,
                p.name
            );
        }
        for m in class.methods {
            assert_eq!(
                m.value_map.len(),
                m.values.len(),
                "{}.{}",
                class.name,
                m.name
            );
            for p in m.parameters {
                assert!(
                    p.value_map.is_empty() || p.value_map.len() == p.values.len(),
                    "{}.{}({})",
                    class.name,
                    m.name,
                    p.name
                );
            }
        }
    }
}

#[test]
fn every_property_and_method_is_free_of_defects() {
    for (ns, class) in every_class() {
        for p in class.properties {
            assert_eq!(
                p.defects(),
                Vec::<String>::new(),
                "{ns}: {}.{}",
                class.name,
                p.name
            );
            assert_eq!(
                p.class_origin, class.name,
                "{}.{} sits where it says",
                class.name, p.name
            );
        }
        for m in class.methods {
            assert_eq!(
                m.defects(),
                Vec::<String>::new(),
                "{}.{}",
                class.name,
                m.name
            );
        }
        assert_eq!(class.defects(), Vec::<String>::new(), "{}", class.name);
    }
}

#[test]
fn defaults_parse_and_pass_their_checks() {
    let r = repo();
    let subscription = r
        .property(INTEROP, "CIM_ListenerDestinationCIMXML", "Protocol")
        .unwrap();
    assert_eq!(subscription.default_value(), Some(CimValue::UInt16(2)));
    let filter = r
        .property(
            INTEROP,
            "CIM_IndicationFilter",
            "IndividualSubscriptionSupported",
        )
        .unwrap();
    assert_eq!(filter.default_value(), Some(CimValue::Boolean(true)));
    let tbr = r.property(CIMV2, CLASS_NAME, "TimeBeforeRemoval").unwrap();
    assert!(tbr.qualifiers.required && tbr.qualifiers.write && tbr.qualifiers.interval);
}

#[test]
fn cim_error_status_codes_are_the_cim_crates() {
    let codes = repo()
        .property(CIMV2, "CIM_Error", "CIMStatusCode")
        .unwrap();
    for s in CimStatusCode::ALL {
        let v = CimValue::UInt32(u32::from(s.code()));
        assert_eq!(codes.value_name(&v), Some(s.name()), "{s}");
    }
    assert_eq!(
        codes.qualifiers.value_map.len(),
        CimStatusCode::ALL.len() + 1,
        "plus DMTF Reserved"
    );
    let class = repo().class(CIMV2, "CIM_Error").unwrap();
    assert!(class.is_indication && class.is_exception && class.superclass.is_none());
    assert!(
        repo()
            .property(CIMV2, "CIM_Error", "MessageID")
            .unwrap()
            .qualifiers
            .required
    );
}

#[test]
fn the_interop_classes_have_their_keys_and_references() {
    let r = repo();
    let keys = |ns: &str, class: &str| -> Vec<&'static str> {
        r.all_properties(ns, class)
            .iter()
            .filter(|(p, _, _)| p.qualifiers.key)
            .map(|(p, _, _)| p.name)
            .collect()
    };
    assert_eq!(
        keys(INTEROP, "CIM_ObjectManager"),
        // Name keeps the place of its first declaration, in CIM_ManagedSystemElement.
        [
            "Name",
            "SystemCreationClassName",
            "SystemName",
            "CreationClassName"
        ]
    );
    assert_eq!(
        keys(CIMV2, "CIMJOB_JobService"),
        [
            "Name",
            "SystemCreationClassName",
            "SystemName",
            "CreationClassName"
        ]
    );
    assert_eq!(
        keys(INTEROP, "CIM_Namespace"),
        [
            "SystemCreationClassName",
            "SystemName",
            "ObjectManagerCreationClassName",
            "ObjectManagerName",
            "CreationClassName",
            "Name"
        ]
    );
    assert_eq!(keys(INTEROP, "CIM_RegisteredProfile"), ["InstanceID"]);
    assert_eq!(keys(CIMV2, "CIM_JobCapabilities"), ["InstanceID"]);
    assert_eq!(keys(CIMV2, CLASS_NAME), ["InstanceID"]);
    assert_eq!(
        keys(INTEROP, "CIM_IndicationSubscription"),
        ["Filter", "Handler"]
    );
    let filter = r
        .property(INTEROP, "CIM_IndicationSubscription", "Filter")
        .unwrap();
    assert_eq!(
        filter.reference_class,
        Some("CIM_IndicationFilter"),
        "narrowed from CIM_ManagedElement"
    );
    let owner = r
        .property(CIMV2, "CIM_OwningJobElement", "OwnedElement")
        .unwrap();
    assert_eq!(
        (owner.ty, owner.reference_class),
        (CimType::Reference, Some("CIM_Job"))
    );
    let class_info = r.property(INTEROP, "CIM_Namespace", "ClassInfo").unwrap();
    assert!(class_info.qualifiers.required && !class_info.qualifiers.deprecated.is_empty());
    let destination = r
        .property(INTEROP, "CIM_ListenerDestinationCIMXML", "Destination")
        .unwrap();
    assert!(destination.qualifiers.required);
    let state = r
        .property(INTEROP, "CIM_IndicationSubscription", "SubscriptionState")
        .unwrap();
    assert!(state.qualifiers.write);
    assert!(r.class(INTEROP, "CIM_Indication").unwrap().is_abstract);
}
