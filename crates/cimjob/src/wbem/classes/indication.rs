//! Indications and subscriptions to them: `CIM_Indication` →
//! `CIM_InstIndication` → `CIM_InstCreation`, `CIM_InstModification`,
//! `CIM_InstDeletion`, `CIM_InstMethodCall`; and `CIM_IndicationFilter`,
//! `CIM_ListenerDestination` → `CIM_ListenerDestinationCIMXML`,
//! `CIM_AbstractIndicationSubscription` → `CIM_IndicationSubscription`,
//! which clients create in the interop namespace.

use cim::{CimType as T, ClassDecl, PropertyDecl};

use super::core::ME;
use super::Prop;

const INDICATION: &str = "CIM_Indication";
const INST_INDICATION: &str = "CIM_InstIndication";
const INST_MODIFICATION: &str = "CIM_InstModification";
const INST_METHOD_CALL: &str = "CIM_InstMethodCall";
const FILTER: &str = "CIM_IndicationFilter";
const DESTINATION: &str = "CIM_ListenerDestination";
const DESTINATION_CIMXML: &str = "CIM_ListenerDestinationCIMXML";
const ABSTRACT_SUBSCRIPTION: &str = "CIM_AbstractIndicationSubscription";
const SUBSCRIPTION: &str = "CIM_IndicationSubscription";

/// The X.733 perceived severity map of `CIM_Indication` (and `CIM_Error`).
pub(super) const SEVERITY_VALUE_MAP: &[&str] = &["0", "1", "2", "3", "4", "5", "6", "7", ".."];
pub(super) const SEVERITY_VALUES: &[&str] = &[
    "Unknown",
    "Other",
    "Information",
    "Degraded/Warning",
    "Minor",
    "Major",
    "Critical",
    "Fatal/NonRecoverable",
    "DMTF Reserved",
];

static INDICATION_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(INDICATION, "IndicationIdentifier", T::String, "Identifies the indication, for correlation, as <OrgID>:<LocalID>.").build(),
    Prop::new(INDICATION, "CorrelatedIndications", T::String, "The IndicationIdentifiers of the indications this one is related to.").array().build(),
    Prop::new(INDICATION, "IndicationTime", T::DateTime, "When the indication was created; NULL if unknown.").build(),
    Prop::new(INDICATION, "PerceivedSeverity", T::UInt16, "The severity of the indication from the notifier's point of view (ITU X.733).")
        .map(SEVERITY_VALUE_MAP, SEVERITY_VALUES)
        .build(),
    Prop::new(INDICATION, "OtherSeverity", T::String, "The severity when PerceivedSeverity is Other (1).").build(),
    Prop::new(INDICATION, "IndicationFilterName", T::String, "The Name of the CIM_IndicationFilter that selected the indication; set by the sender.").build(),
    Prop::new(INDICATION, "SequenceContext", T::String, "With SequenceNumber, identifies the indication in its delivery sequence to one listener; NULL if not supported.").build(),
    Prop::new(INDICATION, "SequenceNumber", T::SInt64, "The indication's number within SequenceContext, from 0, so a listener can spot duplicates, gaps and reordering.").build(),
];

static INST_INDICATION_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(INST_INDICATION, "SourceInstance", T::String, "A copy of the instance the indication is about, with the properties the filter's query selects.")
        .required()
        .embedded_object()
        .build(),
    Prop::new(INST_INDICATION, "SourceInstanceModelPath", T::String, "The model path of SourceInstance: <NamespacePath>:<ClassName>.<Key>=\"<Value>\",…").build(),
    Prop::new(INST_INDICATION, "SourceInstanceHost", T::String, "The host name or IP address of SourceInstance.").build(),
];

static INST_MODIFICATION_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(
        INST_MODIFICATION,
        "PreviousInstance",
        T::String,
        "A copy of the instance before the change, with the properties the filter's query selects.",
    )
    .embedded_object()
    .build(),
    Prop::new(
        INST_MODIFICATION,
        "ChangedPropertyNames",
        T::String,
        "The names of the properties whose values changed.",
    )
    .array()
    .build(),
];

static INST_METHOD_CALL_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(INST_METHOD_CALL, "MethodName", T::String, "The name of the method invoked.").required().build(),
    Prop::new(INST_METHOD_CALL, "MethodParameters", T::String, "The method's input (PreCall) or output parameters, as an embedded __MethodParameters instance.")
        .embedded_object()
        .build(),
    Prop::new(INST_METHOD_CALL, "ReturnValue", T::String, "The method's return value as a string; NULL before the call.").build(),
    Prop::new(INST_METHOD_CALL, "PreCall", T::Boolean, "TRUE if sent before the method runs, FALSE when it has completed.").required().build(),
];

static FILTER_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(FILTER, "SystemCreationClassName", T::String, "The CreationClassName of the system the filter is defined in.").key().max_len(256).build(),
    Prop::new(FILTER, "SystemName", T::String, "The Name of the system the filter is defined in.").key().max_len(256).build(),
    Prop::new(FILTER, "CreationClassName", T::String, "The class used to create the instance; with the other keys it identifies the instance.").key().max_len(256).build(),
    Prop::new(FILTER, "Name", T::String, "The name of the filter.").key().build(),
    Prop::new(FILTER, "SourceNamespace", T::String, "Deprecated: the namespace the indications originate in; use SourceNamespaces.")
        .deprecated(&["CIM_IndicationFilter.SourceNamespaces"])
        .build(),
    Prop::new(FILTER, "SourceNamespaces", T::String, "The namespaces the indications originate in; NULL means the filter's own namespace.")
        .array()
        .indexed()
        .build(),
    Prop::new(FILTER, "Query", T::String, "The query that selects the indications and the properties they carry, e.g. SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob.")
        .required()
        .build(),
    Prop::new(FILTER, "QueryLanguage", T::String, "The language of Query: WQL or DMTF:CQL.").required().build(),
    Prop::new(FILTER, "IndividualSubscriptionSupported", T::Boolean, "Whether clients may subscribe to this filter directly.")
        .default("true")
        .build(),
    Prop::new(FILTER, "TemplateVariable", T::String, "Application-specific values for a DMTF:CQLT query template.").array().build(),
];

static DESTINATION_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(DESTINATION, "SystemCreationClassName", T::String, "The CreationClassName of the system the destination is defined in (the sender).").key().max_len(256).build(),
    Prop::new(DESTINATION, "SystemName", T::String, "The Name of the system the destination is defined in (the sender).").key().max_len(256).build(),
    Prop::new(DESTINATION, "CreationClassName", T::String, "The class used to create the instance; with the other keys it identifies the instance.").key().max_len(256).build(),
    Prop::new(DESTINATION, "Name", T::String, "The name of the listener destination.").key().max_len(256).build(),
    Prop::new(DESTINATION, "PersistenceType", T::UInt16, "Permanent (2, the default when NULL): failing to deliver is an error; Transient (3): the subscription may go when the listener does.")
        .map(&["1", "2", "3"], &["Other", "Permanent", "Transient"])
        .build(),
    Prop::new(DESTINATION, "OtherPersistenceType", T::String, "The persistence type when PersistenceType is Other (1).").build(),
    Prop::new(DESTINATION, "Destination", T::String, "The URI export messages are delivered to; its scheme must suit Protocol.").build(),
    Prop::new(DESTINATION, "OtherProtocol", T::String, "The protocol when Protocol is Other (1).").build(),
    Prop::new(DESTINATION, "Protocol", T::UInt16, "The encoding and protocol used to deliver indications; CIM-XML (2) if not given.")
        .map(&["1", "2", "3", "4", "5", "6", ".."], &["Other", "CIM-XML", "SM CLP", "WS-Management", "WSDM", "SMTP", "DMTF Reserved"])
        .default("2")
        .build(),
];

static DESTINATION_CIMXML_PROPERTIES: &[PropertyDecl] = &[Prop::new(
    DESTINATION_CIMXML,
    "Destination",
    T::String,
    "The URL CIM-XML export messages are POSTed to, e.g. https://host:5990/; http: if no scheme is given.",
)
.required()
.build()];

static ABSTRACT_SUBSCRIPTION_PROPERTIES: &[PropertyDecl] = &[
    Prop::reference(ABSTRACT_SUBSCRIPTION, "Filter", ME, "The filter that selects the indications of this subscription.").key().build(),
    Prop::reference(ABSTRACT_SUBSCRIPTION, "Handler", DESTINATION, "Where the indications of this subscription are delivered.").key().build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "OnFatalErrorPolicy", T::UInt16, "What happens when indications can no longer be delivered: Ignore (2, also when NULL), Disable (3) or Remove (4) the subscription.")
        .map(&["1", "2", "3", "4"], &["Other", "Ignore", "Disable", "Remove"])
        .build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "OtherOnFatalErrorPolicy", T::String, "The policy when OnFatalErrorPolicy is Other (1).").build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "FailureTriggerTimeInterval", T::UInt64, "The least delay, in seconds, before OnFatalErrorPolicy applies.")
        .units("Seconds")
        .build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "SubscriptionState", T::UInt16, "The processing state of the subscription; a client disables or enables it here.")
        .write()
        .map(&["0", "1", "2", "3", "4"], &["Unknown", "Other", "Enabled", "Enabled Degraded", "Disabled"])
        .build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "OtherSubscriptionState", T::String, "The state when SubscriptionState is Other (1).").build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "TimeOfLastStateChange", T::DateTime, "When SubscriptionState last changed.").build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "SubscriptionDuration", T::UInt64, "How long, in seconds, the subscription lasts; NULL = no expiry.")
        .write()
        .units("Seconds")
        .build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "SubscriptionStartTime", T::DateTime, "When the subscription started.").build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "SubscriptionTimeRemaining", T::UInt64, "How many seconds of SubscriptionDuration remain.")
        .units("Seconds")
        .build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "RepeatNotificationPolicy", T::UInt16, "How indications that report the same event again are handled.")
        .map(&["0", "1", "2", "3", "4"], &["Unknown", "Other", "None", "Suppress", "Delay"])
        .build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "OtherRepeatNotificationPolicy", T::String, "The policy when RepeatNotificationPolicy is Other (1).").build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "RepeatNotificationInterval", T::UInt64, "The interval, in seconds, of the repeat notification policy.")
        .units("Seconds")
        .build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "RepeatNotificationGap", T::UInt64, "The gap, in seconds, of the repeat notification policy.")
        .units("Seconds")
        .build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "RepeatNotificationCount", T::UInt16, "The count of the repeat notification policy.").build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "SubscriptionInfo", T::String, "Identification the client or protocol keeps with the subscription.")
        .write()
        .build(),
    // Added by CIM 2.45 (per the spec digest); the types are from memory.
    Prop::new(ABSTRACT_SUBSCRIPTION, "AlertOnStateChange", T::Boolean, "Whether a change of SubscriptionState is itself reported by an indication.")
        .default("false")
        .build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "LastIndicationIdentifier", T::String, "The IndicationIdentifier of the last indication delivered.").build(),
    Prop::new(ABSTRACT_SUBSCRIPTION, "LastIndicationProductionDateTime", T::DateTime, "When the last indication delivered was produced.").build(),
];

static SUBSCRIPTION_PROPERTIES: &[PropertyDecl] = &[
    Prop::reference(
        SUBSCRIPTION,
        "Filter",
        FILTER,
        "The filter that selects the indications of this subscription.",
    )
    .key()
    .build(),
    Prop::reference(
        SUBSCRIPTION,
        "Handler",
        DESTINATION,
        "Where the indications of this subscription are delivered.",
    )
    .key()
    .build(),
];

pub(super) static CLASSES: &[ClassDecl] = &[
    ClassDecl {
        version: Some("2.24.0"),
        is_abstract: true,
        is_indication: true,
        properties: INDICATION_PROPERTIES,
        ..ClassDecl::new(INDICATION, None, "The root of all notifications about changes to schema, objects and data, and about events. Receive them by subscribing (CIM_IndicationSubscription).")
    },
    ClassDecl {
        version: Some("2.29.0"),
        is_abstract: true,
        is_indication: true,
        properties: INST_INDICATION_PROPERTIES,
        ..ClassDecl::new(INST_INDICATION, Some(INDICATION), "A notification about an instance: created, modified, deleted, or one of its methods called.")
    },
    ClassDecl {
        is_indication: true,
        ..ClassDecl::new("CIM_InstCreation", Some(INST_INDICATION), "Notifies that an instance was created, e.g. a job submitted.")
    },
    ClassDecl {
        version: Some("2.45.0"),
        is_indication: true,
        properties: INST_MODIFICATION_PROPERTIES,
        ..ClassDecl::new(INST_MODIFICATION, Some(INST_INDICATION), "Notifies that an instance was modified, e.g. a job changed state; PreviousInstance holds the values before.")
    },
    ClassDecl {
        is_indication: true,
        ..ClassDecl::new("CIM_InstDeletion", Some(INST_INDICATION), "Notifies that an instance was deleted; SourceInstance holds its last values.")
    },
    ClassDecl {
        version: Some("2.38.0"),
        is_indication: true,
        properties: INST_METHOD_CALL_PROPERTIES,
        ..ClassDecl::new(INST_METHOD_CALL, Some(INST_INDICATION), "Notifies that a method of an instance was invoked, before (PreCall) or after it ran.")
    },
    ClassDecl {
        version: Some("2.31.1"),
        properties: FILTER_PROPERTIES,
        ..ClassDecl::new(FILTER, Some(ME), "Which indications to produce and what they carry, as a query; used by CIM_IndicationSubscription.")
    },
    ClassDecl {
        version: Some("2.39.0"),
        is_abstract: true,
        properties: DESTINATION_PROPERTIES,
        ..ClassDecl::new(DESTINATION, Some(ME), "A CIM listener: where export messages, e.g. indications, are delivered.")
    },
    ClassDecl {
        version: Some("2.22.0"),
        properties: DESTINATION_CIMXML_PROPERTIES,
        ..ClassDecl::new(DESTINATION_CIMXML, Some(DESTINATION), "A CIM listener that receives export messages over CIM-XML.")
    },
    ClassDecl {
        version: Some("2.45.0"),
        is_abstract: true,
        is_association: true,
        properties: ABSTRACT_SUBSCRIPTION_PROPERTIES,
        ..ClassDecl::new(ABSTRACT_SUBSCRIPTION, None, "A flow of indications: those its Filter selects, delivered to its Handler.")
    },
    ClassDecl {
        version: Some("2.16.0"),
        is_association: true,
        properties: SUBSCRIPTION_PROPERTIES,
        ..ClassDecl::new(SUBSCRIPTION, Some(ABSTRACT_SUBSCRIPTION), "Subscribes a listener (Handler) to the indications a CIM_IndicationFilter selects.")
    },
];
