//! The CIM classes cimjob serves, and the class repository that answers
//! `GetClass`/`EnumerateClasses` and gives every value check its
//! declaration.
//!
//! Why one repository: a class's properties, qualifiers and methods are
//! stated once, here (and, for the job, once in
//! `cimjob_rules::model::properties`, from which the job class chain is
//! built), so what a client reads with `GetClass` is exactly what the server
//! enforces.
//!
//! Code map, one file per area:
//! - `core`: the job chain `CIM_ManagedElement` → `CIM_ManagedSystemElement`
//!   → `CIM_LogicalElement` → `CIM_Job` → `CIM_ConcreteJob` →
//!   `CIMJOB_ConcreteJob`, built from the model's property table.
//! - `service`: `CIM_EnabledLogicalElement`, `CIM_Service`,
//!   `CIMJOB_JobService` (SubmitJob), `CIM_Capabilities`,
//!   `CIM_JobCapabilities`, and the associations `CIM_OwningJobElement`,
//!   `CIM_ElementCapabilities`.
//! - `interop`: `CIM_WBEMService`, `CIM_ObjectManager`, `CIM_Namespace`,
//!   `CIM_NamespaceInManager`, `CIM_RegisteredSpecification`,
//!   `CIM_RegisteredProfile`, `CIM_ElementConformsToProfile`.
//! - `indication`: `CIM_Indication` and its `CIM_Inst*` subclasses, and the
//!   subscription classes `CIM_IndicationFilter`, `CIM_ListenerDestination`
//!   (`…CIMXML`), `CIM_AbstractIndicationSubscription`,
//!   `CIM_IndicationSubscription`.
//! - `error`: `CIM_Error`.
//!
//! Which classes each namespace holds ([`CIMV2_CLASSES`],
//! [`INTEROP_CLASSES`]):
//! - `root/cimv2`, the implementation namespace: the job chain, the job
//!   service and its capabilities, their associations, `CIM_Error`, and the
//!   indication classes (indications about jobs originate here, so a
//!   filter's `FROM CIM_InstModification WHERE SourceInstance ISA
//!   CIM_ConcreteJob` resolves in its source namespace).
//! - `interop` (also answered as `root/interop`): what pywbem's `WBEMServer` and
//!   subscription manager look for (`CIM_ObjectManager`, `CIM_Namespace`,
//!   `CIM_RegisteredProfile`, `CIM_ElementConformsToProfile`, the filter,
//!   destination and subscription classes), the superclasses they need,
//!   `CIM_Error` and the indication classes. **Not** the job classes: jobs
//!   live only in `root/cimv2`, and an interop class that points at them
//!   (`CIM_ElementConformsToProfile.ManagedElement`) does so through a
//!   `CIM_ManagedElement` reference, which may cross namespaces.
//!
//! What must stay true (the tests check it): every superclass, reference
//! class and embedded-instance class a class names exists in the same
//! namespace; a superclass comes before its subclasses; overrides keep the
//! type; `CIMJOB_ConcreteJob`'s properties are exactly the model table's.

#![allow(dead_code)] // The WBEM server wires these in next.

mod core;
mod error;
mod indication;
mod interop;
mod service;
pub(crate) mod statistics;
pub(crate) mod system;

use std::collections::HashMap;
use std::sync::OnceLock;

use cim::class_decl::{resolve_methods, resolve_properties};
use cim::xml::{Instance, Property};
use cim::{CimType, CimValue, ClassDecl, MethodDecl, PropertyDecl};

/// The implementation namespace: jobs, the job service, their classes.
pub const CIMV2: &str = "root/cimv2";
/// The interop namespace: the object manager, namespaces, profiles,
/// indication subscriptions.
pub const INTEROP: &str = "interop";

/// The classes of `root/cimv2`, superclasses first.
pub const CIMV2_CLASSES: &[&str] = &[
    "CIM_ManagedElement",
    "CIM_ManagedSystemElement",
    "CIM_LogicalElement",
    "CIM_Job",
    "CIM_ConcreteJob",
    "CIMJOB_ConcreteJob",
    "CIM_EnabledLogicalElement",
    "CIM_Service",
    "CIMJOB_JobService",
    // the machine that scopes the job service, and what says so
    "CIM_System",
    "CIM_ComputerSystem",
    "CIM_HostedService",
    "CIM_Capabilities",
    "CIM_JobCapabilities",
    "CIM_OwningJobElement",
    "CIM_ElementCapabilities",
    // each run of a job (the schema's processing statistics of recurring jobs)
    "CIM_StatisticalData",
    "CIM_JobProcessingStatistics",
    "CIM_ElementStatisticalData",
    // the job service's conformance to Job Control is visible from here too (DSP1033 allows
    // the implementation namespace, the interop namespace, or both)
    "CIM_RegisteredSpecification",
    "CIM_RegisteredProfile",
    "CIM_ElementConformsToProfile",
    "CIM_Error",
    "CIM_Indication",
    "CIM_InstIndication",
    "CIM_InstCreation",
    "CIM_InstModification",
    "CIM_InstDeletion",
    "CIM_InstMethodCall",
];

/// The classes of `interop`, superclasses first.
pub const INTEROP_CLASSES: &[&str] = &[
    "CIM_ManagedElement",
    "CIM_ManagedSystemElement",
    "CIM_LogicalElement",
    "CIM_EnabledLogicalElement",
    "CIM_Service",
    "CIM_WBEMService",
    "CIM_ObjectManager",
    "CIM_Namespace",
    "CIM_NamespaceInManager",
    "CIM_RegisteredSpecification",
    "CIM_RegisteredProfile",
    "CIM_ElementConformsToProfile",
    "CIM_IndicationFilter",
    "CIM_ListenerDestination",
    "CIM_ListenerDestinationCIMXML",
    "CIM_AbstractIndicationSubscription",
    "CIM_IndicationSubscription",
    "CIM_Error",
    "CIM_Indication",
    "CIM_InstIndication",
    "CIM_InstCreation",
    "CIM_InstModification",
    "CIM_InstDeletion",
    "CIM_InstMethodCall",
];

/// The namespace a client's name refers to: names compare
/// case-insensitively (DSP0200), and `root/interop` is another name of
/// `interop`, the Interop namespace's name (DSP1033's first choice, the one pywbem probes
/// first and the one CIM_Namespace lists, so a client that lists namespaces sees it
/// once). `None` for a namespace
/// we do not serve.
pub fn canonical_namespace(namespace: &str) -> Option<&'static str> {
    if namespace.eq_ignore_ascii_case(CIMV2) {
        Some(CIMV2)
    } else if namespace.eq_ignore_ascii_case(INTEROP)
        || namespace.eq_ignore_ascii_case("root/interop")
    {
        Some(INTEROP)
    } else {
        None
    }
}

/// The class repository: every class we serve, per namespace. Built once
/// (see [`repository`]); all lookups take any spelling of a namespace that
/// [`canonical_namespace`] accepts and compare class names
/// case-insensitively.
pub struct Repository {
    names: Vec<&'static str>,
    namespaces: Vec<Namespace>,
}

/// One namespace's classes, in [`CIMV2_CLASSES`]/[`INTEROP_CLASSES`] order.
struct Namespace {
    name: &'static str,
    classes: Vec<&'static ClassDecl>,
    by_name: HashMap<String, usize>,
}

/// The repository, built on first use.
pub fn repository() -> &'static Repository {
    static REPOSITORY: OnceLock<Repository> = OnceLock::new();
    REPOSITORY.get_or_init(Repository::build)
}

/// An instance built from `(property, value)` pairs, each typed by the class's declaration.
/// Panics in debug builds on a property the class does not declare: the fixed objects and
/// the class declarations must agree.
pub fn fixed(namespace: &str, class: &str, values: Vec<(String, CimValue)>) -> Instance {
    let repo = repository();
    let mut instance = Instance::new(class);
    for (name, value) in values {
        match repo.property(namespace, class, &name) {
            Some(decl) => instance
                .properties
                .push(Property::from_decl(decl, Some(value))),
            None => debug_assert!(false, "{class} declares no property {name}"),
        }
    }
    instance
}

/// Every class declaration, from every area, once.
fn declarations() -> Vec<&'static ClassDecl> {
    core::classes()
        .iter()
        .chain(service::CLASSES)
        .chain(system::CLASSES)
        .chain(statistics::CLASSES)
        .chain(interop::CLASSES)
        .chain(indication::CLASSES)
        .chain(error::CLASSES)
        .collect()
}

impl Repository {
    /// Puts each namespace's classes together from the area modules.
    /// Panics if a namespace list names a class no module declares: that is
    /// a programming error, caught by the tests.
    fn build() -> Repository {
        let all = declarations();
        let find = |name: &str| {
            all.iter()
                .copied()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("no declaration of class {name}"))
        };
        let namespaces: Vec<Namespace> = [(CIMV2, CIMV2_CLASSES), (INTEROP, INTEROP_CLASSES)]
            .into_iter()
            .map(|(name, list)| {
                let classes: Vec<&'static ClassDecl> = list.iter().map(|n| find(n)).collect();
                let by_name = classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name.to_ascii_lowercase(), i))
                    .collect();
                Namespace {
                    name,
                    classes,
                    by_name,
                }
            })
            .collect();
        Repository {
            names: namespaces.iter().map(|n| n.name).collect(),
            namespaces,
        }
    }

    fn namespace(&self, namespace: &str) -> Option<&Namespace> {
        let name = canonical_namespace(namespace)?;
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// The namespaces we serve, canonical names: `root/cimv2`,
    /// `interop`.
    pub fn namespaces(&self) -> &[&'static str] {
        &self.names
    }

    /// The class with this name in this namespace (any case), or `None`
    /// (answer `CIM_ERR_INVALID_NAMESPACE` / `CIM_ERR_NOT_FOUND`).
    pub fn class(&self, namespace: &str, name: &str) -> Option<&ClassDecl> {
        let ns = self.namespace(namespace)?;
        let i = ns.by_name.get(&name.to_ascii_lowercase())?;
        Some(ns.classes[*i])
    }

    /// The class, then its superclass, … up to the root; empty if the class
    /// is unknown.
    pub fn superclass_chain(&self, namespace: &str, name: &str) -> Vec<&ClassDecl> {
        let mut chain = Vec::new();
        let mut next = self.class(namespace, name);
        while let Some(class) = next {
            if chain.iter().any(|c: &&ClassDecl| c.name == class.name) {
                break; // a cycle; Repository::defects reports it
            }
            chain.push(class);
            next = class.superclass.and_then(|s| self.class(namespace, s));
        }
        chain
    }

    /// Every property of the class, inherited ones included:
    /// `(declaration, class origin, propagated)`, root class first. Rules
    /// (see `cim::class_decl`): the most derived declaration applies; the
    /// origin is the class that first declared the name (DSP0004
    /// CLASSORIGIN), so `CIMJOB_ConcreteJob.InstanceID` has origin
    /// `CIM_ManagedElement`; a property is propagated unless the class
    /// itself defines or overrides it. Empty for an unknown class.
    pub fn all_properties(
        &self,
        namespace: &str,
        name: &str,
    ) -> Vec<(&PropertyDecl, &'static str, bool)> {
        resolve_properties(&self.superclass_chain(namespace, name))
    }

    /// Every method of the class, inherited ones included; the same rules
    /// as [`Repository::all_properties`].
    pub fn all_methods(
        &self,
        namespace: &str,
        name: &str,
    ) -> Vec<(&MethodDecl, &'static str, bool)> {
        resolve_methods(&self.superclass_chain(namespace, name))
    }

    /// The declaration of one property of the class (inherited or local,
    /// the most derived one), for checking a value.
    pub fn property(&self, namespace: &str, class: &str, property: &str) -> Option<&PropertyDecl> {
        self.all_properties(namespace, class)
            .into_iter()
            .find(|(p, _, _)| p.name.eq_ignore_ascii_case(property))
            .map(|(p, _, _)| p)
    }

    /// The declaration of one method of the class (inherited or local),
    /// for InvokeMethod.
    pub fn method(&self, namespace: &str, class: &str, method: &str) -> Option<&MethodDecl> {
        self.all_methods(namespace, class)
            .into_iter()
            .find(|(m, _, _)| m.name.eq_ignore_ascii_case(method))
            .map(|(m, _, _)| m)
    }

    /// The subclasses of `name` (direct ones, or all descendants if `deep`),
    /// or for `None` the root classes (all classes if `deep`), as
    /// EnumerateClasses wants them. Superclasses come before their
    /// subclasses. Empty for an unknown namespace or class.
    pub fn subclasses(&self, namespace: &str, name: Option<&str>, deep: bool) -> Vec<&ClassDecl> {
        let Some(ns) = self.namespace(namespace) else {
            return Vec::new();
        };
        let parent = match name {
            Some(name) => match self.class(namespace, name) {
                Some(c) => Some(c.name),
                None => return Vec::new(),
            },
            None => None,
        };
        ns.classes
            .iter()
            .copied()
            .filter(|c| match (parent, deep) {
                (None, true) => true,
                (None, false) => c.superclass.is_none(),
                (Some(p), false) => c.superclass.is_some_and(|s| s.eq_ignore_ascii_case(p)),
                (Some(p), true) => {
                    !c.name.eq_ignore_ascii_case(p) && self.is_subclass_of(namespace, c.name, p)
                }
            })
            .collect()
    }

    /// Whether `class` is `ancestor` or one of its subclasses (CQL `ISA`);
    /// false if either is unknown in the namespace.
    pub fn is_subclass_of(&self, namespace: &str, class: &str, ancestor: &str) -> bool {
        self.class(namespace, ancestor).is_some()
            && self
                .superclass_chain(namespace, class)
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(ancestor))
    }

    /// Inconsistencies across classes, for the tests (empty when sound):
    /// each class's own [`ClassDecl::defects`], a superclass missing or not
    /// before its subclass, a name twice in one namespace, an override that
    /// changes the type or array-ness, drops Key, or widens a reference,
    /// a reference or embedded-instance class that does not exist in the
    /// namespace, an association/indication subclass of a class that is
    /// not one, a concrete class (not an indication or exception) without
    /// a key.
    pub fn defects(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ns in &self.namespaces {
            let n = ns.name;
            for (i, class) in ns.classes.iter().enumerate() {
                let c = class.name;
                out.extend(class.defects().into_iter().map(|d| format!("{n}: {d}")));
                let earlier = &ns.classes[..i];
                if earlier.iter().any(|e| e.name.eq_ignore_ascii_case(c)) {
                    out.push(format!("{n}: class {c} is listed twice"));
                }
                if let Some(s) = class.superclass {
                    if !earlier.iter().any(|e| e.name == s) {
                        out.push(format!(
                            "{n}: superclass {s} of {c} is missing or listed after it"
                        ));
                    }
                    if let Some(sup) = self.class(n, s) {
                        if sup.is_association && !class.is_association {
                            out.push(format!(
                                "{n}: {c} subclasses association {s} but is not one"
                            ));
                        }
                        if sup.is_indication && !class.is_indication {
                            out.push(format!("{n}: {c} subclasses indication {s} but is not one"));
                        }
                    }
                }
                out.extend(self.override_defects(n, class));
                out.extend(self.named_class_defects(n, class));
                let has_key = self
                    .all_properties(n, c)
                    .iter()
                    .any(|(p, _, _)| p.qualifiers.key);
                if !class.is_abstract && !class.is_indication && !class.is_exception && !has_key {
                    out.push(format!("{n}: concrete class {c} has no key"));
                }
            }
        }
        out
    }

    /// Overrides must keep the overridden property's type and array-ness,
    /// keep Key, and may only narrow a reference to a subclass.
    fn override_defects(&self, n: &str, class: &ClassDecl) -> Vec<String> {
        let mut out = Vec::new();
        let Some(sup) = class.superclass else {
            return out;
        };
        let inherited = self.all_properties(n, sup);
        for p in class.properties {
            let Some((base, origin, _)) = inherited
                .iter()
                .find(|(b, _, _)| b.name.eq_ignore_ascii_case(p.name))
            else {
                continue;
            };
            let what = format!(
                "{n}: {}.{} overrides {origin}.{}",
                class.name, p.name, base.name
            );
            if p.name != base.name {
                out.push(format!("{what} with a different spelling"));
            }
            if p.value_type() != base.value_type() {
                out.push(format!(
                    "{what} but changes its type {} to {}",
                    base.value_type(),
                    p.value_type()
                ));
            }
            if base.qualifiers.key && !p.qualifiers.key {
                out.push(format!("{what} but drops Key"));
            }
            if let (Some(narrow), Some(wide)) = (p.reference_class, base.reference_class) {
                if !self.is_subclass_of(n, narrow, wide) {
                    out.push(format!("{what} but points to {narrow}, not a {wide}"));
                }
            }
        }
        out
    }

    /// Every class named by a reference or an EmbeddedInstance qualifier
    /// must exist in the namespace.
    fn named_class_defects(&self, n: &str, class: &ClassDecl) -> Vec<String> {
        let c = class.name;
        let mut named: Vec<(String, &'static str)> = Vec::new();
        for p in class.properties {
            named.extend(
                p.reference_class
                    .map(|r| (format!("property {}", p.name), r)),
            );
            named.extend(
                p.qualifiers
                    .embedded_instance
                    .map(|r| (format!("property {}", p.name), r)),
            );
        }
        for m in class.methods {
            for p in m.parameters {
                let what = format!("parameter {}.{}", m.name, p.name);
                named.extend(p.reference_class.map(|r| (what.clone(), r)));
                named.extend(p.embedded_instance.map(|r| (what.clone(), r)));
            }
        }
        named
            .into_iter()
            .filter(|(_, r)| self.class(n, r).is_none())
            .map(|(what, r)| {
                format!("{n}: {c} {what} names class {r}, which is not in the namespace")
            })
            .collect()
    }
}

/// Builds a [`PropertyDecl`] in a `const` context, MOF-like:
/// `Prop::new(CLASS, "Name", CimType::String, "…").key().max_len(256).build()`.
#[derive(Clone, Copy)]
struct Prop(PropertyDecl);

impl Prop {
    /// A scalar property with no qualifiers but its description.
    const fn new(
        class: &'static str,
        name: &'static str,
        ty: CimType,
        description: &'static str,
    ) -> Prop {
        Prop(PropertyDecl {
            name,
            ty,
            is_array: false,
            class_origin: class,
            qualifiers: cim::Qualifiers::NONE,
            description,
            default: None,
            reference_class: None,
        })
    }

    /// A reference property: `<to> REF <name>`.
    const fn reference(
        class: &'static str,
        name: &'static str,
        to: &'static str,
        description: &'static str,
    ) -> Prop {
        let mut p = Prop::new(class, name, CimType::Reference, description);
        p.0.reference_class = Some(to);
        p
    }

    const fn key(mut self) -> Prop {
        self.0.qualifiers.key = true;
        self
    }

    const fn required(mut self) -> Prop {
        self.0.qualifiers.required = true;
        self
    }

    const fn write(mut self) -> Prop {
        self.0.qualifiers.write = true;
        self
    }

    const fn array(mut self) -> Prop {
        self.0.is_array = true;
        self
    }

    /// `ArrayType("Indexed")`.
    const fn indexed(mut self) -> Prop {
        self.0.qualifiers.array_type_indexed = true;
        self
    }

    const fn max_len(mut self, n: u32) -> Prop {
        self.0.qualifiers.max_len = Some(n);
        self
    }

    /// `ValueMap` and `Values`.
    const fn map(
        mut self,
        value_map: &'static [&'static str],
        values: &'static [&'static str],
    ) -> Prop {
        self.0.qualifiers.value_map = value_map;
        self.0.qualifiers.values = values;
        self
    }

    /// The default, in CIM-XML `VALUE` text form.
    const fn default(mut self, text: &'static str) -> Prop {
        self.0.default = Some(text);
        self
    }

    /// `Deprecated { … }`.
    const fn deprecated(mut self, by: &'static [&'static str]) -> Prop {
        self.0.qualifiers.deprecated = by;
        self
    }

    const fn units(mut self, units: &'static str) -> Prop {
        self.0.qualifiers.units = Some(units);
        self
    }

    const fn interval(mut self) -> Prop {
        self.0.qualifiers.interval = true;
        self
    }

    const fn embedded_object(mut self) -> Prop {
        self.0.qualifiers.embedded_object = true;
        self
    }

    const fn build(self) -> PropertyDecl {
        self.0
    }
}

/// The version of the classes we define ourselves (`CIMJOB_*`): the
/// service's version.
const OUR_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests;
