//! The interop classes a WBEM client uses to discover the server:
//! `CIM_WBEMService`, `CIM_ObjectManager`, `CIM_Namespace`,
//! `CIM_NamespaceInManager`, `CIM_RegisteredSpecification`,
//! `CIM_RegisteredProfile`, `CIM_ElementConformsToProfile`.
//!
//! `CIM_ObjectManager`, `CIM_Namespace` and `CIM_NamespaceInManager` are
//! deprecated since CIM 2.39 (in favour of `CIM_WBEMServer`…) but are what
//! pywbem's `WBEMServer` looks for, so we serve them, marked deprecated as
//! the MOF does. `CIM_NamespaceInManager` is declared without its DMTF
//! superclasses (`CIM_HostedDependency` → `CIM_Dependency`). The
//! `CIM_RegisteredProfile` methods (GetCentralInstances, …) are left out.

use cim::{CimType as T, ClassDecl, PropertyDecl};

use super::core::ME;
use super::service::SERVICE;
use super::Prop;

const WBEM_SERVICE: &str = "CIM_WBEMService";
const OBJECT_MANAGER: &str = "CIM_ObjectManager";
const NAMESPACE: &str = "CIM_Namespace";
const NAMESPACE_IN_MANAGER: &str = "CIM_NamespaceInManager";
const REGISTERED_SPECIFICATION: &str = "CIM_RegisteredSpecification";
const REGISTERED_PROFILE: &str = "CIM_RegisteredProfile";
const ELEMENT_CONFORMS_TO_PROFILE: &str = "CIM_ElementConformsToProfile";

static OBJECT_MANAGER_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(
        OBJECT_MANAGER,
        "GatherStatisticalData",
        T::Boolean,
        "Whether the server gathers statistics (CIM_CIMOMStatisticalData).",
    )
    .write()
    .default("true")
    .deprecated(&["No value"])
    .build(),
    Prop::new(
        OBJECT_MANAGER,
        "Name",
        T::String,
        "Globally uniquely identifies the CIM server, as <Vendor ID>:<Unique ID>.",
    )
    .key()
    .max_len(256)
    .deprecated(&["CIM_WBEMServer.Name"])
    .build(),
    Prop::new(
        OBJECT_MANAGER,
        "ElementName",
        T::String,
        "The CIM server's name for people, e.g. \"ACME CIM Server\".",
    )
    .deprecated(&["CIM_WBEMServer.ElementName"])
    .build(),
    Prop::new(
        OBJECT_MANAGER,
        "Description",
        T::String,
        "A description of the CIM server for people, e.g. its product and version.",
    )
    .deprecated(&["CIM_WBEMServer.Description"])
    .build(),
];

static NAMESPACE_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(
        NAMESPACE,
        "SystemCreationClassName",
        T::String,
        "The scoping system's CreationClassName.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        NAMESPACE,
        "SystemName",
        T::String,
        "The scoping system's Name.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        NAMESPACE,
        "ObjectManagerCreationClassName",
        T::String,
        "The scoping object manager's CreationClassName.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        NAMESPACE,
        "ObjectManagerName",
        T::String,
        "The scoping object manager's Name.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        NAMESPACE,
        "CreationClassName",
        T::String,
        "The class used to create the instance; with the other keys it identifies the instance.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        NAMESPACE,
        "Name",
        T::String,
        "The namespace's name within the object manager, e.g. root/cimv2.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        NAMESPACE,
        "ClassInfo",
        T::UInt16,
        "Deprecated: the schema of the namespace's classes, e.g. CIM 2.8.",
    )
    .required()
    .write()
    .map(
        &[
            "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "200", "201", "202",
        ],
        &[
            "Unknown",
            "Other",
            "CIM 1.0",
            "CIM 2.0",
            "CIM 2.1",
            "CIM 2.2",
            "CIM 2.3",
            "CIM 2.4",
            "CIM 2.5",
            "CIM 2.6",
            "CIM 2.7",
            "CIM 2.8",
            "DMI Recast",
            "SNMP Recast",
            "CMIP Recast",
        ],
    )
    .deprecated(&["CIM_Namespace.ClassType"])
    .build(),
    Prop::new(
        NAMESPACE,
        "DescriptionOfClassInfo",
        T::String,
        "Deprecated: more detail on the namespace's class hierarchy than ClassInfo.",
    )
    .write()
    .deprecated(&["CIM_Namespace.DescriptionOfClassType"])
    .build(),
    Prop::new(
        NAMESPACE,
        "ClassType",
        T::UInt16,
        "Deprecated: the schema of the namespace's objects, e.g. CIM or an SNMP recast.",
    )
    .write()
    .map(
        &["0", "1", "2", "200", "201", "202"],
        &[
            "Unknown",
            "Other",
            "CIM",
            "DMI Recast",
            "SNMP Recast",
            "CMIP Recast",
        ],
    )
    .deprecated(&["CIM_SchemaInformationStructure.Name"])
    .build(),
    Prop::new(
        NAMESPACE,
        "ClassTypeVersion",
        T::String,
        "Deprecated: the version of the namespace's objects, as M.N.U.",
    )
    .write()
    .deprecated(&["CIM_SchemaInformationStructure.Version"])
    .build(),
    Prop::new(
        NAMESPACE,
        "DescriptionOfClassType",
        T::String,
        "Deprecated: more detail on the namespace's objects than ClassType.",
    )
    .write()
    .deprecated(&["CIM_SchemaInformationStructure.Description"])
    .build(),
];

static NAMESPACE_IN_MANAGER_PROPERTIES: &[PropertyDecl] = &[
    Prop::reference(
        NAMESPACE_IN_MANAGER,
        "Antecedent",
        OBJECT_MANAGER,
        "The object manager holding the namespace (exactly one).",
    )
    .key()
    .build(),
    Prop::reference(
        NAMESPACE_IN_MANAGER,
        "Dependent",
        NAMESPACE,
        "The namespace in the object manager.",
    )
    .key()
    .build(),
];

/// The `CIM_RegisteredSpecification.RegisteredOrganization` map.
const ORGANIZATION_VALUE_MAP: &[&str] = &[
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17",
    "18", "19", "20", "21", "..",
];
const ORGANIZATION_VALUES: &[&str] = &[
    "Other",
    "DMTF",
    "CompTIA",
    "Consortium for Service Innovation",
    "FAST",
    "GGF",
    "INTAP",
    "itSMF",
    "NAC",
    "Northwest Energy Efficiency Alliance",
    "SNIA",
    "TM Forum",
    "The Open Group",
    "ANSI",
    "IEEE",
    "IETF",
    "INCITS",
    "ISO",
    "W3C",
    "OGF",
    "The Green Grid",
    "DMTF Reserved",
];

static REGISTERED_SPECIFICATION_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(REGISTERED_SPECIFICATION, "InstanceID", T::String, "Opaquely and uniquely identifies the specification within the namespace, as <OrgID>:<LocalID>.").key().build(),
    Prop::new(REGISTERED_SPECIFICATION, "SpecificationType", T::UInt16, "The type of specification.")
        .map(&["1", "2", "3", "4", ".."], &["Other", "Profile", "Initiative Wrapper", "Mapping", "DMTF Reserved"])
        .build(),
    Prop::new(REGISTERED_SPECIFICATION, "OtherSpecificationType", T::String, "The specification type when SpecificationType is Other (1).").max_len(256).build(),
    Prop::new(REGISTERED_SPECIFICATION, "RegisteredOrganization", T::UInt16, "The organization that defines the specification, e.g. DMTF (2).")
        .required()
        .map(ORGANIZATION_VALUE_MAP, ORGANIZATION_VALUES)
        .build(),
    Prop::new(REGISTERED_SPECIFICATION, "OtherRegisteredOrganization", T::String, "The organization when RegisteredOrganization is Other (1).").max_len(256).build(),
    Prop::new(REGISTERED_SPECIFICATION, "RegisteredName", T::String, "The specification's name, e.g. Job Control; with the organization and version it identifies the specification.")
        .required()
        .max_len(256)
        .build(),
    Prop::new(REGISTERED_SPECIFICATION, "RegisteredVersion", T::String, "The specification's version, as M.N.U, e.g. 1.0.0.").required().build(),
    Prop::new(REGISTERED_SPECIFICATION, "AdvertiseTypes", T::UInt16, "How the specification is advertised on the network; Not Advertised (2) must be the only entry.")
        .required()
        .array()
        .indexed()
        .map(&["1", "2", "3", "4"], &["Other", "Not Advertised", "SLP", "WS-Identify"])
        .build(),
    Prop::new(REGISTERED_SPECIFICATION, "AdvertiseTypeDescriptions", T::String, "Describes each AdvertiseTypes entry that is Other (1), index for index.")
        .array()
        .indexed()
        .build(),
];

static REGISTERED_PROFILE_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(
        REGISTERED_PROFILE,
        "InstanceID",
        T::String,
        "Opaquely and uniquely identifies the profile within the namespace, as <OrgID>:<LocalID>.",
    )
    .key()
    .build(),
    Prop::new(
        REGISTERED_PROFILE,
        "SpecificationType",
        T::UInt16,
        "Profile (2), if set.",
    )
    .map(&["2"], &["Profile"])
    .build(),
    Prop::new(
        REGISTERED_PROFILE,
        "ImplementedFeatures",
        T::String,
        "The profile-defined names of the features implemented; NULL if the profile defines none.",
    )
    .array()
    .build(),
];

static ELEMENT_CONFORMS_TO_PROFILE_PROPERTIES: &[PropertyDecl] = &[
    Prop::reference(
        ELEMENT_CONFORMS_TO_PROFILE,
        "ConformantStandard",
        REGISTERED_PROFILE,
        "The profile the element conforms to.",
    )
    .key()
    .build(),
    Prop::reference(
        ELEMENT_CONFORMS_TO_PROFILE,
        "ManagedElement",
        ME,
        "The element that conforms to the profile, e.g. the profile's central instance.",
    )
    .key()
    .build(),
];

pub(super) static CLASSES: &[ClassDecl] = &[
    ClassDecl::new(WBEM_SERVICE, Some(SERVICE), "A service that provides WBEM operations; the base of CIM_ObjectManager."),
    ClassDecl {
        version: Some("2.39.0"),
        deprecated: &["CIM_WBEMServer"],
        properties: OBJECT_MANAGER_PROPERTIES,
        ..ClassDecl::new(OBJECT_MANAGER, Some(WBEM_SERVICE), "The CIM server itself, as a service; its Name and ElementName identify the product.")
    },
    ClassDecl {
        version: Some("2.39.0"),
        deprecated: &["CIM_SchemaInformationStructure"],
        properties: NAMESPACE_PROPERTIES,
        ..ClassDecl::new(NAMESPACE, Some(ME), "A namespace: a domain in which instances are unique per their keys, named within its object manager.")
    },
    ClassDecl {
        version: Some("2.39.0"),
        is_association: true,
        deprecated: &["CIM_HostedDependency"],
        properties: NAMESPACE_IN_MANAGER_PROPERTIES,
        ..ClassDecl::new(NAMESPACE_IN_MANAGER, None, "Relates the object manager to the namespaces it hosts.")
    },
    ClassDecl {
        version: Some("2.39.0"),
        properties: REGISTERED_SPECIFICATION_PROPERTIES,
        ..ClassDecl::new(REGISTERED_SPECIFICATION, Some(ME), "A named, versioned specification that the server implements and advertises.")
    },
    ClassDecl {
        version: Some("2.39.0"),
        properties: REGISTERED_PROFILE_PROPERTIES,
        ..ClassDecl::new(REGISTERED_PROFILE, Some(REGISTERED_SPECIFICATION), "A management profile the server implements, e.g. DMTF Job Control 1.0.0.")
    },
    ClassDecl {
        version: Some("2.8.0"),
        is_association: true,
        properties: ELEMENT_CONFORMS_TO_PROFILE_PROPERTIES,
        ..ClassDecl::new(ELEMENT_CONFORMS_TO_PROFILE, None, "Relates a registered profile to an element that conforms to it.")
    },
];
