//! The job class chain: `CIM_ManagedElement` → `CIM_ManagedSystemElement` →
//! `CIM_LogicalElement` → `CIM_Job` → `CIM_ConcreteJob` →
//! `CIMJOB_ConcreteJob`, with the job methods.
//!
//! The properties are not written here: they come from the one table of
//! `CIMJOB_ConcreteJob`'s properties (`cimjob_rules::model::properties`),
//! each placed in the class its `class_origin` names, so validation, the
//! JSON API and GetClass cannot disagree. Three adjustments, all derived:
//!
//! - **Overrides.** The table holds the *overriding* definitions of
//!   `InstanceID` (Key, in `CIM_ConcreteJob`) and `Name` (Required, in
//!   `CIM_ConcreteJob`). The base definitions in `CIM_ManagedElement` and
//!   `CIM_ManagedSystemElement` are derived from them by clearing Key and
//!   Required; the table's rows stay the `CIM_ConcreteJob` overrides.
//! - **Descriptions of shared classes.** `CIM_ManagedElement` and
//!   `CIM_ManagedSystemElement` are also the roots of the service, the
//!   object manager, capabilities…, so their properties get the generic
//!   DMTF descriptions ([`GENERIC_DESCRIPTIONS`]) instead of the table's
//!   job-specific ones. Type and qualifiers stay the table's.
//! - `CIM_LogicalElement` declares no properties.

use std::sync::OnceLock;

use cim::{CimType, ClassDecl, MethodDecl, ParameterDecl, PropertyDecl};
use cimjob_rules::model::properties::{properties, CLASS_NAME};
use cimjob_rules::model::value_maps::{
    AnswerReturn, KillJobReturn, RequestedState, StateChangeReturn,
};

use super::OUR_VERSION;

pub(super) const ME: &str = "CIM_ManagedElement";
pub(super) const MSE: &str = "CIM_ManagedSystemElement";
pub(super) const LE: &str = "CIM_LogicalElement";
pub(super) const JOB: &str = "CIM_Job";
pub(super) const CJ: &str = "CIM_ConcreteJob";

/// The properties the table overrides in `CIM_ConcreteJob`, and the class
/// that first declares each.
const OVERRIDDEN: &[(&str, &str)] = &[("InstanceID", ME), ("Name", MSE)];

/// DMTF descriptions (shortened) of the properties of `CIM_ManagedElement`
/// and `CIM_ManagedSystemElement`, which the table describes for jobs only.
pub(super) const GENERIC_DESCRIPTIONS: &[(&str, &str)] = &[
    ("InstanceID", "Opaquely and uniquely identifies an instance within its namespace, preferably as <OrgID>:<LocalID>; subclasses may make it the Key."),
    ("Caption", "A short textual description (one-line string) of the object."),
    ("Description", "A textual description of the object."),
    ("ElementName", "A user-friendly name for the object, in addition to its key properties."),
    ("Generation", "Changes whenever the instance changes, so a client can tell whether it changed between two reads; NULL if not supported."),
    ("InstallDate", "When the object was installed; NULL does not mean it is not installed."),
    ("Name", "The label by which the object is known; subclasses may make it a Key."),
    ("OperationalStatus", "The element's current statuses, the primary one first."),
    ("StatusDescriptions", "Describes each OperationalStatus element, index for index."),
    ("Status", "Deprecated: the current status as a string; use OperationalStatus."),
    ("HealthState", "The element's current health, from OK (5) to Non-recoverable error (30)."),
    ("CommunicationStatus", "Whether the instrumentation can communicate with the element."),
    ("DetailedStatus", "Detail that complements PrimaryStatus."),
    ("OperatingStatus", "The element's current operating condition, e.g. Starting, Stopped, In Service."),
    ("PrimaryStatus", "A high-level status: OK, Degraded or Error."),
];

/// The local properties of each class of the chain, derived from the model
/// table once; `static` so the class declarations can borrow them.
struct ChainProperties {
    managed_element: Vec<PropertyDecl>,
    managed_system_element: Vec<PropertyDecl>,
    job: Vec<PropertyDecl>,
    concrete_job: Vec<PropertyDecl>,
    cimjob_concrete_job: Vec<PropertyDecl>,
}

fn generic(d: PropertyDecl) -> PropertyDecl {
    let description = GENERIC_DESCRIPTIONS
        .iter()
        .find(|(name, _)| *name == d.name)
        .map(|(_, text)| *text)
        .unwrap_or_else(|| panic!("no generic description for {}.{}", d.class_origin, d.name));
    PropertyDecl { description, ..d }
}

fn chain_properties() -> &'static ChainProperties {
    static CELL: OnceLock<ChainProperties> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut chain = ChainProperties {
            managed_element: Vec::new(),
            managed_system_element: Vec::new(),
            job: Vec::new(),
            concrete_job: Vec::new(),
            cimjob_concrete_job: Vec::new(),
        };
        for row in properties() {
            let d = row.decl;
            match d.class_origin {
                ME => chain.managed_element.push(generic(d)),
                MSE => chain.managed_system_element.push(generic(d)),
                JOB => chain.job.push(d),
                CJ => {
                    if let Some((_, base)) = OVERRIDDEN.iter().find(|(name, _)| *name == d.name) {
                        let mut q = d.qualifiers;
                        q.key = false;
                        q.required = false;
                        let base_decl = generic(PropertyDecl {
                            class_origin: base,
                            qualifiers: q,
                            ..d
                        });
                        match *base {
                            ME => chain.managed_element.push(base_decl),
                            _ => chain.managed_system_element.push(base_decl),
                        }
                    }
                    chain.concrete_job.push(d);
                }
                CLASS_NAME => chain.cimjob_concrete_job.push(d),
                other => panic!(
                    "model table property {} has class_origin {other}, outside the job chain",
                    d.name
                ),
            }
        }
        chain
    })
}

/// The six classes of the job chain, root first.
pub(super) fn classes() -> &'static [ClassDecl] {
    static CELL: OnceLock<[ClassDecl; 6]> = OnceLock::new();
    CELL.get_or_init(|| {
        let p = chain_properties();
        [
            ClassDecl {
                version: Some("2.45.0"),
                is_abstract: true,
                properties: &p.managed_element,
                ..ClassDecl::new(
                    ME,
                    None,
                    "The root of the CIM hierarchy: anything that can be managed.",
                )
            },
            ClassDecl {
                version: Some("2.28.0"),
                is_abstract: true,
                properties: &p.managed_system_element,
                ..ClassDecl::new(
                    MSE,
                    Some(ME),
                    "A managed element that is a system component, logical or physical, with operational and health status.",
                )
            },
            ClassDecl {
                version: Some("2.6.0"),
                is_abstract: true,
                ..ClassDecl::new(
                    LE,
                    Some(MSE),
                    "A managed system element that is logical, such as a file, a process, a service or a job.",
                )
            },
            ClassDecl {
                version: Some("2.45.0"),
                is_abstract: true,
                properties: &p.job,
                methods: JOB_METHODS,
                ..ClassDecl::new(
                    JOB,
                    Some(LE),
                    "A unit of work that runs asynchronously, possibly on a schedule and more than once.",
                )
            },
            ClassDecl {
                version: Some("2.38.0"),
                properties: &p.concrete_job,
                methods: CONCRETE_JOB_METHODS,
                ..ClassDecl::new(
                    CJ,
                    Some(JOB),
                    "A job that can be named, identified by InstanceID, and controlled through RequestStateChange.",
                )
            },
            ClassDecl {
                version: Some(OUR_VERSION),
                properties: &p.cimjob_concrete_job,
                methods: CIMJOB_CONCRETE_JOB_METHODS,
                ..ClassDecl::new(
                    CLASS_NAME,
                    Some(CJ),
                    "A cimjob job: a command (CommandLine) run as its own process group, at once or on a schedule; it may ask a question (Query Pending) answered with AnswerQuery.",
                )
            },
        ]
    })
}

/// The return map of GetError and GetErrors (the MOF gives both the same).
const GET_ERRORS_VALUE_MAP: &[&str] = &["0", "1", "2", "3", "4", "5", "6", "..", "32768..65535"];
const GET_ERRORS_VALUES: &[&str] = &[
    "Success",
    "Not Supported",
    "Unspecified Error",
    "Timeout",
    "Failed",
    "Invalid Parameter",
    "Access Denied",
    "DMTF Reserved",
    "Vendor Specific",
];

static JOB_METHODS: &[MethodDecl] = &[MethodDecl {
    name: "KillJob",
    return_type: CimType::UInt32,
    description: "Deprecated: kills the job and its processes at once; use RequestStateChange with Kill (5) or Terminate (4).",
    value_map: KillJobReturn::VALUE_MAP,
    values: KillJobReturn::VALUES,
    deprecated: &["CIM_ConcreteJob.RequestStateChange()"],
    parameters: &[ParameterDecl::input(
        "DeleteOnKill",
        CimType::Boolean,
        "Delete the job once it is killed; takes precedence over DeleteOnCompletion.",
    )],
}];

static CONCRETE_JOB_METHODS: &[MethodDecl] = &[
    MethodDecl {
        name: "RequestStateChange",
        return_type: CimType::UInt32,
        description: "Asks the job to change state: Start, Suspend, Terminate, Kill or Service. Any return other than 0 is an error; 4097 means the job's current state does not allow the change.",
        value_map: StateChangeReturn::VALUE_MAP,
        values: StateChangeReturn::VALUES,
        deprecated: &[],
        parameters: &[
            ParameterDecl {
                value_map: RequestedState::VALUE_MAP,
                values: RequestedState::VALUES,
                ..ParameterDecl::input(
                    "RequestedState",
                    CimType::UInt16,
                    "The state to change to: Start (2), Suspend (3), Terminate (4), Kill (5), Service (6).",
                )
            },
            ParameterDecl {
                interval: true,
                ..ParameterDecl::input(
                    "TimeoutPeriod",
                    CimType::DateTime,
                    "How long the change may take, as an interval; NULL or zero means no requirement (Terminate: SIGKILL after it).",
                )
            },
        ],
    },
    MethodDecl {
        name: "GetError",
        return_type: CimType::UInt32,
        description: "Deprecated: the error of a failed or terminated job, as one CIM_Error; use GetErrors.",
        value_map: GET_ERRORS_VALUE_MAP,
        values: GET_ERRORS_VALUES,
        deprecated: &["CIM_ConcreteJob.GetErrors()"],
        parameters: &[ParameterDecl {
            embedded_instance: Some("CIM_Error"),
            ..ParameterDecl::output(
                "Error",
                CimType::String,
                "The job's error, NULL while it runs or once it completed without error.",
            )
        }],
    },
    MethodDecl {
        name: "GetErrors",
        return_type: CimType::UInt32,
        description: "The errors of a failed or terminated job, as CIM_Error instances.",
        value_map: GET_ERRORS_VALUE_MAP,
        values: GET_ERRORS_VALUES,
        deprecated: &[],
        parameters: &[ParameterDecl {
            is_array: true,
            embedded_instance: Some("CIM_Error"),
            ..ParameterDecl::output(
                "Errors",
                CimType::String,
                "The job's errors; empty while it runs or once it completed without error.",
            )
        }],
    },
];

static CIMJOB_CONCRETE_JOB_METHODS: &[MethodDecl] = &[MethodDecl {
    name: "AnswerQuery",
    return_type: CimType::UInt32,
    description: "Answers the question of a job in Query Pending (12): the answer is written back to the work, and the job runs on.",
    value_map: AnswerReturn::VALUE_MAP,
    values: AnswerReturn::VALUES,
    deprecated: &[],
    parameters: &[ParameterDecl {
        required: true,
        ..ParameterDecl::input(
            "Answer",
            CimType::String,
            "The answer, one line of text, to the question in JobStatus.",
        )
    }],
}];
