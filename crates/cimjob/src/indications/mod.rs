//! Indications: clients subscribe once and are told of every change to jobs, instead of
//! polling (DMTF's indication model, the SMI-S job filters).
//!
//! - [`registry`]: filters, listener destinations and subscriptions (CreateInstance and
//!   friends in the interop namespace), durable and owned.
//! - [`produce`]: a durable change as the indications it is, for the subscriptions that
//!   select them.
//! - [`lane`]: one task per destination, reading the change record from its own position.
//! - [`delivery`]: ExportIndication POSTs, numbered, retried.
//! - this module: the lanes' keeper, which starts and ends them as subscriptions come and go.
//!
//! Indications are made from the durable change record, so a listener never hears of a change
//! a crash could undo, hears of every change (restart recovery's too) in order, and one that
//! is slow or down falls behind without holding up the others or losing anything: after a
//! restart its lane resumes where it stopped.

pub mod delivery;
pub mod lane;
pub mod produce;
pub mod registry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use cimjob_engine::EngineHandle;
use jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::retry::RetryPolicy;
use crate::wbem::objects::Identity;
use delivery::Target;
use lane::{consumer_name, transient_consumers, LaneEnd, Lanes, PERMANENT_CONSUMERS};
use registry::Registry;

/// The indication service: the registry, and the lanes that deliver to its destinations.
pub struct Indications {
    registry: Arc<Registry>,
    stop: watch::Sender<bool>,
    keeper: Mutex<Option<JoinHandle<()>>>,
}

impl Indications {
    /// Starts a lane for every destination with an enabled subscription, and keeps starting
    /// and ending them as subscriptions change: for the permanent destinations once
    /// `delivering` is true (the node of a cluster that delivers: one does, so each
    /// indication is sent once), for this node's transient ones (which only it holds) at
    /// once. Deliveries POST with `client` and retry per `policy`, counted in `metrics`;
    /// `node` names this node.
    pub fn start(
        registry: Arc<Registry>,
        engine: &EngineHandle,
        (client, policy): (reqwest::Client, RetryPolicy),
        (identity, node): (Identity, String),
        delivering: watch::Receiver<bool>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Arc<Indications> {
        let lanes = Arc::new(Lanes {
            engine: engine.clone(),
            registry: registry.clone(),
            producer: produce::Producer::new(identity, engine.zone().clone()),
            client,
            policy,
            boot: format!("cimjob:{}", Timestamp::now().as_millisecond()),
            node,
            metrics,
        });
        let (stop, stopped) = watch::channel(false);
        let keeper = tokio::spawn(keep_lanes(lanes, stopped, delivering));
        Arc::new(Indications {
            registry,
            stop,
            keeper: Mutex::new(Some(keeper)),
        })
    }

    /// The subscriptions.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Stops the lanes, each keeping its position for the restart (an indication being
    /// delivered is delivered again then).
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let keeper = self
            .keeper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(keeper) = keeper {
            let _ = keeper.await;
        }
    }
}

/// One running lane: how to tell it to end, its task, and its destination.
type Lane = (watch::Sender<LaneEnd>, JoinHandle<()>, Target);

/// Runs a lane per destination that has an enabled subscription (a permanent one only while
/// this node delivers), ends those that have none any more (forgetting their positions) and
/// stops those this node no longer delivers to (keeping them), and forgets the positions of
/// destinations that are gone: this node's transient ones of an earlier run at the first
/// pass, permanent ones at the first pass that delivers.
async fn keep_lanes(
    lanes: Arc<Lanes>,
    mut stopped: watch::Receiver<bool>,
    mut delivering: watch::Receiver<bool>,
) {
    let mut changed = lanes.registry.watch();
    let mut running: HashMap<String, Lane> = HashMap::new();
    let mut forgotten = (false, false);
    loop {
        let delivers = *delivering.borrow_and_update();
        let active: HashMap<String, Target> = lanes
            .registry
            .active()
            .iter()
            .map(|a| (a.target.key.clone(), a.target.clone()))
            .collect();
        running.retain(|key, (end, _, _)| {
            let (keep, end_as) = match active.get(key) {
                None => (false, LaneEnd::Retire),
                Some(target) => (delivers || target.transient, LaneEnd::Stop),
            };
            if !keep {
                let _ = end.send(end_as);
            }
            keep
        });
        for (key, target) in active {
            if delivers || target.transient {
                running.entry(key).or_insert_with(|| {
                    let (end, told) = watch::channel(LaneEnd::Running);
                    let task = tokio::spawn(lane::run(lanes.clone(), target.clone(), told));
                    (end, task, target)
                });
            }
        }
        if !forgotten.0 {
            forgotten.0 = true;
            let own = transient_consumers(&lanes.node);
            forget_gone_positions(&lanes, &running, &own).await;
        }
        if delivers && !forgotten.1 {
            forgotten.1 = true;
            forget_gone_positions(&lanes, &running, PERMANENT_CONSUMERS).await;
        }
        let expiry = lanes.registry.next_expiry();
        tokio::select! {
            _ = changed.changed() => {}
            told = delivering.changed() => if told.is_err() { break },
            _ = stopped.wait_for(|s| *s) => break,
            () = until(expiry) => {}
        }
    }
    for (_, (end, task, _)) in running {
        let _ = end.send(LaneEnd::Stop);
        let _ = task.await;
    }
}

/// Forgets the saved positions, among the consumers named with `prefix`, of destinations no
/// lane runs for.
async fn forget_gone_positions(lanes: &Lanes, running: &HashMap<String, Lane>, prefix: &str) {
    let Ok(positions) = lanes.engine.positions().await else {
        return;
    };
    let kept: Vec<String> = running
        .values()
        .map(|(_, _, target)| consumer_name(target, &lanes.node))
        .collect();
    for (consumer, _) in positions {
        if consumer.starts_with(prefix) && !kept.contains(&consumer) {
            let _ = lanes.engine.save_position(&consumer, None).await;
        }
    }
}

/// Resolves at `at` (a subscription's end), or never.
async fn until(at: Option<Timestamp>) {
    match at {
        Some(at) => {
            let wait = at
                .duration_since(Timestamp::now())
                .max(jiff::SignedDuration::ZERO);
            tokio::time::sleep(wait.unsigned_abs()).await
        }
        None => std::future::pending().await,
    }
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
