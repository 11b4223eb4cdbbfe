//! One durable change as the indications it is: CIM_InstCreation, CIM_InstModification (with
//! PreviousInstance and ChangedPropertyNames) or CIM_InstDeletion — and, for a job a SubmitJob
//! call made, CIM_InstMethodCall after its creation — each tested against a subscription's
//! filter with the same evaluator ExecQuery uses, and copied for each that selects it.

use std::sync::atomic::{AtomicU64, Ordering};

use cim::xml::{Instance, Property};
use cim::{CimArray, CimDateTime, CimType, CimValue};
use cimjob_rules::events::{Event, EventKind};
use cimjob_rules::model::properties::View;
use jiff::Timestamp;

use super::delivery::Outgoing;
use super::registry::{watches, Active};
use crate::wbem::classes::{fixed, CIMV2};
use crate::wbem::jobs::{job_instance, job_path};
use crate::wbem::objects::{fixed_instances, same_object, Identity};
use crate::wbem::query::{InstanceSubject, Selected};

/// Makes indications; one per service, shared by every destination's lane.
pub struct Producer {
    identity: Identity,
    zone: jiff::tz::TimeZone,
    /// This run of the service, in IndicationIdentifiers.
    boot: String,
    produced: AtomicU64,
}

impl Producer {
    /// A producer for the service on `identity`'s host, showing times in `zone`.
    pub fn new(identity: Identity, zone: jiff::tz::TimeZone) -> Producer {
        Producer {
            identity,
            zone,
            boot: format!("{}", Timestamp::now().as_millisecond()),
            produced: AtomicU64::new(0),
        }
    }

    /// The indications `event` is, for those of `subscriptions` that select them, in order.
    pub fn indications(&self, event: &Event, subscriptions: &[Active]) -> Vec<Outgoing> {
        if subscriptions.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for indication in self.of_event(event) {
            self.offer(subscriptions, &indication, &mut out);
        }
        out
    }

    fn of_event(&self, event: &Event) -> Vec<Instance> {
        let view = View::at(event.at, &self.zone);
        let current = event.current.as_ref().map(|j| job_instance(j, &view));
        let previous = event.previous.as_ref().map(|j| job_instance(j, &view));
        let offset = view.offset_minutes;
        let mut made = Vec::new();
        match (event.kind, current, previous) {
            (EventKind::Created, Some(current), _) => {
                let mut creation =
                    self.indication("CIM_InstCreation", event.at, offset, Some(event.job));
                creation.set_property(Property::embedded_instance("SourceInstance", current));
                made.push(creation);
                let by_method = event
                    .current
                    .as_ref()
                    .and_then(|j| j.job_in_parameters.clone());
                if let Some(call) = by_method.and_then(|p| self.submit_job_call(event, offset, &p))
                {
                    made.push(call);
                }
            }
            (EventKind::Deleted, _, Some(previous)) => {
                let mut deletion =
                    self.indication("CIM_InstDeletion", event.at, offset, Some(event.job));
                deletion.set_property(Property::embedded_instance("SourceInstance", previous));
                made.push(deletion);
            }
            (_, Some(current), previous) => {
                let mut modification =
                    self.indication("CIM_InstModification", event.at, offset, Some(event.job));
                if let Some(previous) = previous {
                    modification.set_property(changed_property_names(&previous, &current));
                    modification
                        .set_property(Property::embedded_instance("PreviousInstance", previous));
                }
                modification.set_property(Property::embedded_instance("SourceInstance", current));
                made.push(modification);
            }
            _ => {}
        }
        made
    }

    /// The CIM_InstMethodCall (after the call) of the SubmitJob that made the job: the job
    /// service as SourceInstance, the call's parameters and the Job it returned.
    fn submit_job_call(&self, event: &Event, offset: i16, in_parameters: &str) -> Option<Instance> {
        let service = self.identity.service_path();
        let source = fixed_instances(&self.identity, CIMV2)
            .into_iter()
            .find(|f| same_object(&f.path, &service))?
            .instance;
        let mut parameters = cim::xml::read_instance(in_parameters, &cim::xml::Limits::DEFAULT)
            .unwrap_or_else(|_| Instance::new("__MethodParameters"));
        parameters.class_name = "__MethodParameters".into();
        parameters.set_property(Property::new(
            "Job",
            CimValue::Reference(job_path(event.job)),
        ));
        let mut call = fixed(
            CIMV2,
            "CIM_InstMethodCall",
            vec![
                ("MethodName".into(), "SubmitJob".into()),
                ("ReturnValue".into(), "4096".into()),
                ("PreCall".into(), CimValue::Boolean(false)),
            ],
        );
        self.stamp(&mut call, event.at, offset, None);
        call.set_property(Property::embedded_instance("SourceInstance", source));
        call.set_property(Property::embedded_instance("MethodParameters", parameters));
        Some(call)
    }

    /// An indication of `class` about job `job`, with the properties every one carries.
    fn indication(&self, class: &str, at: Timestamp, offset: i16, job: Option<u64>) -> Instance {
        let mut indication = fixed(CIMV2, class, Vec::new());
        self.stamp(&mut indication, at, offset, job);
        indication
    }

    /// IndicationTime (`at`, shown at UTC offset `offset` minutes) and the source's host and
    /// model path.
    fn stamp(&self, indication: &mut Instance, at: Timestamp, offset: i16, job: Option<u64>) {
        if let Ok(t) = CimDateTime::from_timestamp(at, offset) {
            indication.set_property(Property::new("IndicationTime", CimValue::DateTime(t)));
        }
        let host = self.identity.host.as_str();
        indication.set_property(Property::new("SourceInstanceHost", host));
        if let Some(job) = job {
            let path = job_path(job).with_host(host);
            indication.set_property(Property::new(
                "SourceInstanceModelPath",
                path.to_string().as_str(),
            ));
        }
    }

    /// A copy of `indication` (every one is in root/cimv2) for each subscription whose filter
    /// selects it.
    fn offer(&self, subscriptions: &[Active], indication: &Instance, out: &mut Vec<Outgoing>) {
        let subject = InstanceSubject::new(CIMV2, indication);
        for subscription in subscriptions {
            if !watches(subscription.source_namespaces.as_deref(), CIMV2) {
                continue;
            }
            match subscription.query.accepts(&subject) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::debug!(filter = %subscription.filter_name, error = %e, "a filter could not be evaluated on an indication");
                    continue;
                }
            }
            let mut copy = Selected::of(&subscription.query).apply(indication.clone());
            let n = self.produced.fetch_add(1, Ordering::Relaxed);
            let id = format!("CIMJOB:{}-{n}", self.boot);
            copy.set_property(Property::new("IndicationIdentifier", id.as_str()));
            copy.set_property(Property::new(
                "IndicationFilterName",
                subscription.filter_name.as_str(),
            ));
            out.push(Outgoing {
                subscription: subscription.key.clone(),
                id,
                produced: Timestamp::now(),
                indication: copy,
            });
        }
    }
}

/// ChangedPropertyNames: the properties whose values differ between the two instances.
fn changed_property_names(previous: &Instance, current: &Instance) -> Property {
    let names: Vec<CimValue> = current
        .properties
        .iter()
        .filter(|p| previous.property(&p.name).map(|q| &q.value) != Some(&p.value))
        .map(|p| CimValue::String(p.name.clone()))
        .collect();
    Property::new(
        "ChangedPropertyNames",
        CimValue::Array(CimArray::new(CimType::String, names).expect("strings")),
    )
}
