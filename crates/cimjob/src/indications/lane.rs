//! A destination's lane: one task per listener destination with an enabled subscription,
//! reading the change record from the destination's own position and delivering, in order,
//! every indication its subscriptions select. A slow or dead listener holds up only its own
//! lane, which falls behind in the record and never skips; its position is saved as it goes,
//! so a restart resumes where it stopped.

use std::sync::Arc;

use cimjob_engine::EngineHandle;
use tokio::sync::watch;

use super::delivery::{Exporter, Target};
use super::produce::Producer;
use super::registry::{Active, Registry};
use crate::consumer::Consumer;
use crate::retry::RetryPolicy;

/// What the lanes share.
pub struct Lanes {
    /// Where the changes come from.
    pub engine: EngineHandle,
    /// The subscriptions, and where outcomes are recorded.
    pub registry: Arc<Registry>,
    /// Makes the indications.
    pub producer: Producer,
    /// POSTs them.
    pub client: reqwest::Client,
    /// How often and how long to retry.
    pub policy: RetryPolicy,
    /// This run of the service, in SequenceContext.
    pub boot: String,
    /// This node's name, under which its transient destinations' positions are kept.
    pub node: String,
    /// Where deliveries are counted.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Why a lane is told to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneEnd {
    /// Not told: deliver.
    Running,
    /// The service stops: keep the position for the restart.
    Stop,
    /// The destination has no enabled subscription any more: forget the position.
    Retire,
}

/// The consumer name a destination's position is kept under.
pub fn consumer_name(target: &Target, node: &str) -> String {
    if target.transient {
        format!("{}{}", transient_consumers(node), target.key)
    } else {
        format!("{PERMANENT_CONSUMERS}{}", target.key)
    }
}

/// How the consumer names of permanent destinations begin: one position each in a cluster,
/// whichever node delivers.
pub const PERMANENT_CONSUMERS: &str = "indications:";

/// How the consumer names of `node`'s transient destinations begin: they live on that node
/// only, and two nodes may each have one of the same name.
pub fn transient_consumers(node: &str) -> String {
    format!("indications@{node}:")
}

/// Runs `target`'s lane until told to end.
pub async fn run(lanes: Arc<Lanes>, target: Target, mut end: watch::Receiver<LaneEnd>) {
    let mut consumer = Consumer::resume(&lanes.engine, &consumer_name(&target, &lanes.node)).await;
    let mut exporter = Exporter::new(
        lanes.client.clone(),
        lanes.policy,
        &lanes.boot,
        target.clone(),
    );
    'changes: loop {
        let event = tokio::select! {
            biased;
            _ = end.changed() => break,
            event = consumer.next() => match event {
                Some(event) => event,
                None => break,
            },
        };
        let owner = event
            .current
            .as_ref()
            .or(event.previous.as_ref())
            .map(|j| j.owner.as_str());
        // this destination's subscriptions whose owner may see the job
        let subscriptions: Vec<Active> = lanes
            .registry
            .active()
            .iter()
            .filter(|a| a.target.key == target.key)
            .filter(|a| a.sees_only.as_deref().is_none_or(|o| Some(o) == owner))
            .cloned()
            .collect();
        for item in lanes.producer.indications(&event, &subscriptions) {
            let outcome = tokio::select! {
                biased;
                // not counted as dealt with: delivered again after the restart
                _ = end.changed() => break 'changes,
                outcome = exporter.deliver(&item) => outcome,
            };
            lanes.registry.record(&target, &item, &outcome);
            lanes.metrics.delivered(match outcome {
                super::delivery::Outcome::Delivered { .. } => "delivered",
                super::delivery::Outcome::GaveUp { .. } => "gave_up",
            });
        }
        consumer.reached(event.sequence).await;
    }
    let retired = *end.borrow() == LaneEnd::Retire;
    if retired {
        consumer.forget().await;
    } else {
        consumer.save().await;
    }
}
