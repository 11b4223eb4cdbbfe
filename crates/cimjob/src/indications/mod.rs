//! Indications: clients subscribe once and are told of every change to jobs, instead of
//! polling (DMTF's indication model, the SMI-S job filters).
//!
//! - [`registry`]: filters, listener destinations and subscriptions (CreateInstance and
//!   friends in the interop namespace), durable and owned.
//! - [`delivery`]: one ordered queue per listener, ExportIndication POSTs, retries.
//! - this module: turns each durable engine event into a CIM_InstCreation,
//!   CIM_InstModification or CIM_InstDeletion (and SubmitJob calls into CIM_InstMethodCall),
//!   tests it against every enabled subscription's query with the same evaluator ExecQuery
//!   uses, and queues a copy for each subscription that selects it.
//!
//! Indications are produced from the engine's event stream, which carries only changes that
//! are already durable, so a listener never hears of a change a crash could undo; and none
//! are invented for the time the service was down.

pub mod delivery;
pub mod registry;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cim::xml::{Instance, Property};
use cim::{CimArray, CimDateTime, CimType, CimValue};
use cimjob_engine::EngineHandle;
use cimjob_rules::events::{Event, EventKind};
use cimjob_rules::model::properties::View;
use jiff::Timestamp;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::notify::Notifier;
use crate::wbem::classes::fixed;
use crate::wbem::classes::CIMV2;
use crate::wbem::jobs::{job_instance, job_path};
use crate::wbem::query::{InstanceSubject, Selected};
use delivery::{Deliveries, Outgoing};
use registry::{watches, Registry};

/// The indication service: the registry, the delivery queues and the task that turns engine
/// events into indications.
pub struct Indications {
    registry: Arc<Registry>,
    /// The service's zone, whose UTC offset the indications' times carry.
    zone: jiff::tz::TimeZone,
    deliveries: Arc<Deliveries>,
    host: String,
    boot: String,
    produced: AtomicU64,
    events: std::sync::Mutex<Option<JoinHandle<()>>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Indications {
    /// Starts producing indications from `engine`'s events, and first re-queues what the
    /// last shutdown left undelivered. `notifier`, if any, hears of every job that ends.
    pub fn start(
        registry: Arc<Registry>,
        deliveries: Arc<Deliveries>,
        engine: &EngineHandle,
        notifier: Option<Arc<Notifier>>,
        host: &str,
    ) -> anyhow::Result<Arc<Indications>> {
        for (target, item) in registry.take_outbox()? {
            deliveries.send(&target, item);
        }
        let indications = Arc::new(Indications {
            registry,
            zone: engine.zone().clone(),
            deliveries,
            host: host.to_string(),
            boot: format!("{}", Timestamp::now().as_millisecond()),
            produced: AtomicU64::new(0),
            events: std::sync::Mutex::new(None),
            stop: tokio::sync::watch::channel(false).0,
        });
        let mut events = engine.subscribe();
        let mut stop = indications.stop.subscribe();
        let producer = indications.clone();
        let handle = move |event: &Event| {
            producer.job_event(event);
            if let Some(n) = &notifier {
                n.job_event(event);
            }
        };
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    received = events.recv() => match received {
                        Ok(event) => handle(&event),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "indications fell behind the engine; some changes were not announced");
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    _ = stop.wait_for(|s| *s) => {
                        // the engine has stopped: what it announced last is still told
                        while let Ok(event) = events.try_recv() {
                            handle(&event);
                        }
                        break;
                    }
                }
            }
        });
        *indications.events.lock().expect("not poisoned") = Some(task);
        Ok(indications)
    }

    /// The subscriptions.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The delivery queues.
    pub fn deliveries(&self) -> &Arc<Deliveries> {
        &self.deliveries
    }

    /// Once the engine has stopped: produces what its last events call for, stops the
    /// queues and keeps what they had not delivered.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let task = self.events.lock().expect("not poisoned").take();
        if let Some(task) = task {
            let _ = task.await;
        }
        let left = self.deliveries.shutdown().await;
        match self.registry.keep_outbox(&left) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                kept = n,
                "undelivered indications kept for delivery after the restart"
            ),
            Err(e) => tracing::warn!(error = %e, "undelivered indications could not be kept"),
        }
    }

    /// The indication for one job event.
    fn job_event(&self, event: &Event) {
        let active = self.registry.active();
        if active.is_empty() {
            return;
        }
        let view = View::at(event.at, &self.zone);
        let current = event.current.as_ref().map(|j| job_instance(j, &view));
        let previous = event.previous.as_ref().map(|j| job_instance(j, &view));
        let offset = view.offset_minutes;
        let (class, source) = match (event.kind, current, previous) {
            (EventKind::Created, Some(current), _) => ("CIM_InstCreation", current),
            (EventKind::Deleted, _, Some(previous)) => ("CIM_InstDeletion", previous),
            (_, Some(current), previous) => {
                let mut indication =
                    self.indication("CIM_InstModification", event.at, offset, event.job);
                if let Some(previous) = previous {
                    indication.set_property(changed_property_names(&previous, &current));
                    indication
                        .set_property(Property::embedded_instance("PreviousInstance", previous));
                }
                indication.set_property(Property::embedded_instance("SourceInstance", current));
                self.offer(&active, indication);
                return;
            }
            _ => return,
        };
        let mut indication = self.indication(class, event.at, offset, event.job);
        indication.set_property(Property::embedded_instance("SourceInstance", source));
        self.offer(&active, indication);
    }

    /// A CIM_InstMethodCall (after the call) for a method of the instance `source` gives, e.g.
    /// SubmitJob on the job service; `source` is called only if some subscription is active.
    pub fn method_called(
        &self,
        source: impl FnOnce() -> Option<Instance>,
        method: &str,
        out_parameters: Vec<(String, CimValue)>,
        return_value: &str,
    ) {
        let active = self.registry.active();
        if active.is_empty() {
            return;
        }
        let Some(source) = source() else { return };
        let mut parameters = Instance::new("__MethodParameters");
        for (name, value) in out_parameters {
            parameters.set_property(Property::new(&name, value));
        }
        let mut indication = fixed(
            CIMV2,
            "CIM_InstMethodCall",
            vec![
                ("MethodName".into(), method.into()),
                ("ReturnValue".into(), return_value.into()),
                ("PreCall".into(), CimValue::Boolean(false)),
            ],
        );
        let now = Timestamp::now();
        self.stamp(
            &mut indication,
            now,
            View::at(now, &self.zone).offset_minutes,
            None,
        );
        indication.set_property(Property::embedded_instance("SourceInstance", source));
        indication.set_property(Property::embedded_instance("MethodParameters", parameters));
        self.offer(&active, indication);
    }

    /// An indication of `class` about job `job`, with the properties every one carries.
    fn indication(&self, class: &str, at: Timestamp, offset: i16, job: u64) -> Instance {
        let mut indication = fixed(CIMV2, class, Vec::new());
        self.stamp(&mut indication, at, offset, Some(job));
        indication
    }

    /// IndicationTime (`at`, shown at UTC offset `offset` minutes) and the source's host and
    /// model path.
    fn stamp(&self, indication: &mut Instance, at: Timestamp, offset: i16, job: Option<u64>) {
        if let Ok(t) = CimDateTime::from_timestamp(at, offset) {
            indication.set_property(Property::new("IndicationTime", CimValue::DateTime(t)));
        }
        indication.set_property(Property::new("SourceInstanceHost", self.host.as_str()));
        if let Some(job) = job {
            let path = job_path(job).with_host(&self.host);
            indication.set_property(Property::new(
                "SourceInstanceModelPath",
                path.to_string().as_str(),
            ));
        }
    }

    /// Queues a copy of `indication` (every one is in root/cimv2) for each subscription whose
    /// filter selects it.
    fn offer(&self, active: &[registry::Active], indication: Instance) {
        let subject = InstanceSubject::new(CIMV2, &indication);
        for subscription in active {
            if !watches(subscription.source_namespaces.as_deref(), CIMV2) {
                continue;
            }
            let accepted = subscription.query.accepts(&subject);
            match accepted {
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
            self.deliveries.send(
                &subscription.target,
                Outgoing {
                    subscription: subscription.key.clone(),
                    id,
                    produced: Timestamp::now(),
                    indication: copy,
                },
            );
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

/// `GET /api/v1/deliveries?limit=N`: the latest delivery outcomes, newest first (at most
/// 1,000 per request), so an operator can see why a listener hears nothing.
pub fn router(indications: Arc<Indications>) -> axum::Router {
    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    use axum::Json;

    #[derive(serde::Deserialize)]
    struct Limit {
        limit: Option<usize>,
    }

    async fn outcomes(
        State(indications): State<Arc<Indications>>,
        Query(q): Query<Limit>,
    ) -> Result<Json<serde_json::Value>, (StatusCode, String)> {
        let limit = q.limit.unwrap_or(100).min(1_000);
        let registry = indications.registry.clone();
        let rows = tokio::task::spawn_blocking(move || registry.outcomes(limit))
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let list: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|o| {
                serde_json::json!({
                    "at": o.at, "destination": o.destination, "indication": o.indication_id,
                    "outcome": o.outcome, "attempts": o.attempts, "error": o.error,
                })
            })
            .collect();
        Ok(Json(serde_json::Value::Array(list)))
    }

    axum::Router::new()
        .route("/api/v1/deliveries", axum::routing::get(outcomes))
        .with_state(indications)
}
