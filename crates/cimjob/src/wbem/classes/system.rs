//! The system that scopes the job service: `CIM_System`, `CIM_ComputerSystem` (the machine
//! the service runs on, whose keys the service's SystemCreationClassName and SystemName
//! name), and `CIM_HostedService` from it to the service — so the service's scoping system is
//! an instance a client can get, and DSP1033's scoping-class methodology finds the service
//! from it.
//!
//! `CIM_HostedService` is declared without its DMTF superclasses (`CIM_HostedDependency` →
//! `CIM_Dependency`), as `CIM_NamespaceInManager` is; only the properties we fill are
//! declared (the DMTF classes have many more, all optional).

use cim::{CimType as T, ClassDecl, PropertyDecl};

use super::service::{ELE, SERVICE};
use super::Prop;

/// The abstract system class.
pub(super) const SYSTEM: &str = "CIM_System";
/// The machine.
pub(crate) const COMPUTER_SYSTEM: &str = "CIM_ComputerSystem";
/// From the machine to the job service.
pub(crate) const HOSTED_SERVICE: &str = "CIM_HostedService";

static SYSTEM_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(
        SYSTEM,
        "CreationClassName",
        T::String,
        "The class used to create the instance; with Name it identifies the system.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        SYSTEM,
        "Name",
        T::String,
        "The system's name: here its host name.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        SYSTEM,
        "NameFormat",
        T::String,
        "How Name was made (here 'Other': the host name the machine reports).",
    )
    .max_len(64)
    .build(),
    Prop::new(
        SYSTEM,
        "PrimaryOwnerName",
        T::String,
        "The name of the system's primary owner.",
    )
    .write()
    .max_len(64)
    .build(),
    Prop::new(
        SYSTEM,
        "PrimaryOwnerContact",
        T::String,
        "How to reach the primary owner.",
    )
    .write()
    .max_len(256)
    .build(),
];

static HOSTED_SERVICE_PROPERTIES: &[PropertyDecl] = &[
    Prop::reference(
        HOSTED_SERVICE,
        "Antecedent",
        SYSTEM,
        "The hosting system (exactly one per service).",
    )
    .key()
    .build(),
    Prop::reference(
        HOSTED_SERVICE,
        "Dependent",
        SERVICE,
        "The service hosted on the system.",
    )
    .key()
    .build(),
];

pub(super) static CLASSES: &[ClassDecl] = &[
    ClassDecl {
        version: Some("2.23.0"),
        is_abstract: true,
        properties: SYSTEM_PROPERTIES,
        ..ClassDecl::new(SYSTEM, Some(ELE), "A logical element that aggregates an enumerable set of managed system elements and operates as a functional whole; it scopes services.")
    },
    ClassDecl {
        version: Some("2.36.0"),
        ..ClassDecl::new(COMPUTER_SYSTEM, Some(SYSTEM), "A system that provides computing capabilities: here the machine the cimjob service runs on.")
    },
    ClassDecl {
        version: Some("2.10.0"),
        is_association: true,
        properties: HOSTED_SERVICE_PROPERTIES,
        ..ClassDecl::new(HOSTED_SERVICE, None, "Relates a service to the system that hosts it (and scopes its keys).")
    },
];
