//! The job service and its capabilities: `CIM_EnabledLogicalElement`,
//! `CIM_Service`, `CIMJOB_JobService` (with SubmitJob), `CIM_Capabilities`,
//! `CIM_JobCapabilities`, and the associations `CIM_OwningJobElement` and
//! `CIM_ElementCapabilities`.
//!
//! Only the methods we serve are declared (SubmitJob); the DMTF
//! `CIM_Service.StartService/StopService` and
//! `CIM_EnabledLogicalElement.RequestStateChange` are left out so GetClass
//! lists nothing InvokeMethod would refuse. The association cardinalities
//! (`Max(1)`, `Min(1)`) have no place in `cim::Qualifiers` and are stated in
//! the descriptions.

use cim::{CimType, ClassDecl, MethodDecl, ParameterDecl, PropertyDecl};
use cimjob_rules::model::value_maps::RequestedState;

use super::core::{CJ, JOB, LE, ME};
use super::{Prop, OUR_VERSION};

pub(super) const ELE: &str = "CIM_EnabledLogicalElement";
pub(super) const SERVICE: &str = "CIM_Service";
const JOB_SERVICE: &str = "CIMJOB_JobService";
const CAPABILITIES: &str = "CIM_Capabilities";
const JOB_CAPABILITIES: &str = "CIM_JobCapabilities";
const OWNING_JOB_ELEMENT: &str = "CIM_OwningJobElement";
const ELEMENT_CAPABILITIES: &str = "CIM_ElementCapabilities";

use CimType as T;

static ENABLED_LOGICAL_ELEMENT: &[PropertyDecl] = &[
    Prop::new(ELE, "EnabledState", T::UInt16, "The enabled and disabled states of the element, and the transitions between them.")
        .map(
            &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11..32767", "32768..65535"],
            &["Unknown", "Other", "Enabled", "Disabled", "Shutting Down", "Not Applicable", "Enabled but Offline", "In Test", "Deferred", "Quiesce", "Starting", "DMTF Reserved", "Vendor Reserved"],
        )
        .default("5")
        .build(),
    Prop::new(ELE, "OtherEnabledState", T::String, "The state when EnabledState is Other (1); NULL otherwise.").build(),
    Prop::new(ELE, "RequestedState", T::UInt16, "The last state requested for the element; EnabledState is the actual one.")
        .map(
            &["0", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "..", "32768..65535"],
            &["Unknown", "Enabled", "Disabled", "Shut Down", "No Change", "Offline", "Test", "Deferred", "Quiesce", "Reboot", "Reset", "Not Applicable", "DMTF Reserved", "Vendor Reserved"],
        )
        .default("12")
        .build(),
    Prop::new(ELE, "EnabledDefault", T::UInt16, "The administrator's default or startup EnabledState.")
        .write()
        .map(
            &["2", "3", "5", "6", "7", "9", "..", "32768..65535"],
            &["Enabled", "Disabled", "Not Applicable", "Enabled but Offline", "No Default", "Quiesce", "DMTF Reserved", "Vendor Reserved"],
        )
        .default("2")
        .build(),
    Prop::new(ELE, "TimeOfLastStateChange", T::DateTime, "When EnabledState last changed; a zero interval if it never has.").build(),
    Prop::new(ELE, "AvailableRequestedStates", T::UInt16, "The states a RequestStateChange may ask for now; NULL if unknown.")
        .array()
        .map(
            &["2", "3", "4", "6", "7", "8", "9", "10", "11", ".."],
            &["Enabled", "Disabled", "Shut Down", "Offline", "Test", "Defer", "Quiesce", "Reboot", "Reset", "DMTF Reserved"],
        )
        .build(),
    Prop::new(ELE, "TransitioningToState", T::UInt16, "The state the element is moving to; No Change (5) when none, Not Applicable (12) when not reported.")
        .map(
            &["0", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", ".."],
            &["Unknown", "Enabled", "Disabled", "Shut Down", "No Change", "Offline", "Test", "Defer", "Quiesce", "Reboot", "Reset", "Not Applicable", "DMTF Reserved"],
        )
        .default("12")
        .build(),
];

static SERVICE_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(
        SERVICE,
        "SystemCreationClassName",
        T::String,
        "The CreationClassName of the scoping system.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        SERVICE,
        "SystemName",
        T::String,
        "The Name of the scoping system.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        SERVICE,
        "CreationClassName",
        T::String,
        "The class used to create the instance; with the other keys it identifies the instance.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        SERVICE,
        "Name",
        T::String,
        "Uniquely identifies the service and says what it manages.",
    )
    .key()
    .max_len(256)
    .build(),
    Prop::new(
        SERVICE,
        "PrimaryOwnerName",
        T::String,
        "The name of the service's primary owner, its first support contact.",
    )
    .write()
    .max_len(64)
    .build(),
    Prop::new(
        SERVICE,
        "PrimaryOwnerContact",
        T::String,
        "How to reach the primary owner (phone, e-mail, …).",
    )
    .write()
    .max_len(256)
    .build(),
    Prop::new(
        SERVICE,
        "StartMode",
        T::String,
        "Deprecated: whether the service starts automatically or on request; use EnabledDefault.",
    )
    .max_len(10)
    .map(&["Automatic", "Manual"], &["Automatic", "Manual"])
    .deprecated(&["CIM_Service.EnabledDefault"])
    .build(),
    Prop::new(
        SERVICE,
        "Started",
        T::Boolean,
        "Whether the service has been started.",
    )
    .build(),
];

static SUBMIT_JOB: &[MethodDecl] = &[MethodDecl {
    name: "SubmitJob",
    return_type: T::UInt32,
    description: "Submits a command as a new CIMJOB_ConcreteJob. Returns 4096 with the new job in Job (the DMTF way of returning a job); Name and CommandLine, or a Template carrying them, are needed.",
    value_map: &["0", "4", "5", "4096"],
    values: &["Job Completed with No Error", "Failed", "Invalid Parameter", "Method Parameters Checked - Job Started"],
    deprecated: &[],
    parameters: &[
        ParameterDecl::input("Name", T::String, "The job's Name; overrides the Template's."),
        ParameterDecl {
            is_array: true,
            ..ParameterDecl::input("CommandLine", T::String, "The command to run, argv style; overrides the Template's.")
        },
        ParameterDecl {
            embedded_instance: Some("CIMJOB_ConcreteJob"),
            ..ParameterDecl::input(
                "Template",
                T::String,
                "A CIMJOB_ConcreteJob instance whose settable properties (schedule, Priority, Environment, …) the job starts with.",
            )
        },
        ParameterDecl {
            reference_class: Some(CJ),
            ..ParameterDecl::output("Job", T::Reference, "The job created, when the return value is 4096.")
        },
    ],
}];

static CAPABILITIES_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(CAPABILITIES, "InstanceID", T::String, "Opaquely and uniquely identifies the capabilities within the namespace, as <OrgID>:<LocalID>.").key().build(),
    Prop::new(CAPABILITIES, "ElementName", T::String, "The user-friendly name of these capabilities.").required().build(),
];

static JOB_CAPABILITIES_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(
        JOB_CAPABILITIES,
        "DeleteJobSupported",
        T::Boolean,
        "Whether a client may delete a finished job; if not, DeleteOnCompletion must be TRUE.",
    )
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "RequestedStatesSupported",
        T::UInt16,
        "The RequestedState values RequestStateChange accepts.",
    )
    .array()
    .map(RequestedState::VALUE_MAP, RequestedState::VALUES)
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "InteractiveTimeoutMax",
        T::DateTime,
        "The longest a job may wait for interactive input.",
    )
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "DefaultValuesSupported",
        T::Boolean,
        "Whether default input values may be supplied for interactive jobs.",
    )
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "ClientRetriesMax",
        T::UInt32,
        "The most times a client may retry a job.",
    )
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "CleanupInterval",
        T::DateTime,
        "How long after TimeBeforeRemoval a job that no client deleted may be removed.",
    )
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "SilentModeSupported",
        T::Boolean,
        "Whether jobs can run without interaction.",
    )
    .build(),
    // The MOF gives this string property a numeric-looking ValueMap.
    Prop::new(
        JOB_CAPABILITIES,
        "Characteristics",
        T::String,
        "Characteristics of the jobs, e.g. Is Exclusive, Is Interactive.",
    )
    .array()
    .map(
        &["0", "1", "2", "3"],
        &["none", "other", "Is Exclusive", "Is Interactive"],
    )
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "OtherCharacteristicsDescriptions",
        T::String,
        "Describes each Characteristics entry that is other (1).",
    )
    .array()
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "ApplicableMethods",
        T::String,
        "The methods that can return jobs.",
    )
    .array()
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "TimeBeforeRemovalMin",
        T::DateTime,
        "The shortest TimeBeforeRemoval a job may have.",
    )
    .build(),
    Prop::new(
        JOB_CAPABILITIES,
        "TimeBeforeRemovalMax",
        T::DateTime,
        "The longest TimeBeforeRemoval a job may have.",
    )
    .build(),
];

static OWNING_JOB_ELEMENT_PROPERTIES: &[PropertyDecl] = &[
    Prop::reference(
        OWNING_JOB_ELEMENT,
        "OwningElement",
        ME,
        "The element that created the job (at most one per job).",
    )
    .key()
    .build(),
    Prop::reference(
        OWNING_JOB_ELEMENT,
        "OwnedElement",
        JOB,
        "The job the element created.",
    )
    .key()
    .build(),
];

static ELEMENT_CAPABILITIES_PROPERTIES: &[PropertyDecl] = &[
    Prop::reference(
        ELEMENT_CAPABILITIES,
        "ManagedElement",
        ME,
        "The element (every Capabilities instance has at least one).",
    )
    .key()
    .build(),
    Prop::reference(
        ELEMENT_CAPABILITIES,
        "Capabilities",
        CAPABILITIES,
        "The capabilities of the element.",
    )
    .key()
    .build(),
    Prop::new(
        ELEMENT_CAPABILITIES,
        "Characteristics",
        T::UInt16,
        "Whether the capabilities are the element's Default (2) and/or Current (3) ones.",
    )
    .array()
    .map(
        &["2", "3", "..", "32768..65535"],
        &["Default", "Current", "DMTF Reserved", "Vendor Specific"],
    )
    .build(),
];

pub(super) static CLASSES: &[ClassDecl] = &[
    ClassDecl {
        version: Some("2.22.0"),
        is_abstract: true,
        properties: ENABLED_LOGICAL_ELEMENT,
        ..ClassDecl::new(ELE, Some(LE), "A logical element that can be enabled and disabled, e.g. a service.")
    },
    ClassDecl {
        version: Some("2.14.0"),
        is_abstract: true,
        properties: SERVICE_PROPERTIES,
        ..ClassDecl::new(SERVICE, Some(ELE), "Configures and manages the implementation of functionality, scoped by a system.")
    },
    ClassDecl {
        version: Some(OUR_VERSION),
        methods: SUBMIT_JOB,
        ..ClassDecl::new(JOB_SERVICE, Some(SERVICE), "The cimjob service: runs commands as CIMJOB_ConcreteJob jobs, which it owns (CIM_OwningJobElement).")
    },
    ClassDecl {
        version: Some("2.19.0"),
        is_abstract: true,
        properties: CAPABILITIES_PROPERTIES,
        ..ClassDecl::new(CAPABILITIES, Some(ME), "What an element can do or support, tied to it by CIM_ElementCapabilities.")
    },
    ClassDecl {
        version: Some("2.45.0"),
        properties: JOB_CAPABILITIES_PROPERTIES,
        ..ClassDecl::new(JOB_CAPABILITIES, Some(CAPABILITIES), "What the jobs of a service support: the state changes, deletion, the TimeBeforeRemoval range.")
    },
    ClassDecl {
        version: Some("2.7.0"),
        is_association: true,
        properties: OWNING_JOB_ELEMENT_PROPERTIES,
        ..ClassDecl::new(OWNING_JOB_ELEMENT, None, "Relates a job to the element that created it, a more specific owner than CIM_Job.Owner.")
    },
    ClassDecl {
        version: Some("2.24.0"),
        is_association: true,
        properties: ELEMENT_CAPABILITIES_PROPERTIES,
        ..ClassDecl::new(ELEMENT_CAPABILITIES, None, "Relates a managed element to its capabilities.")
    },
];
