//! A node of a cluster on one PostgreSQL database, serving beside the others and acting on
//! its own lease.
//!
//! The lease itself (joining, renewing, fencing every write) is the store's
//! (`cimjob_store::lease`); this module is what the service does about it: it joins,
//! passes the node's trust on to the supervisors that hold its runs (so they kill the runs
//! when trust ends, even if this process is frozen or dead), and says when the lease is lost
//! so the service stops.

use std::time::Instant;

use anyhow::Context;
use cimjob_store::lease::{Membership, Standing, Tenure};
use cimjob_store::postgres::PostgresStore;
use tokio::sync::oneshot;

/// Joins the cluster at `url` as `membership.node`, beside the nodes serving it (taking
/// over the jobs of any whose lease lapsed).
pub async fn join(url: &str, membership: &Membership) -> anyhow::Result<PostgresStore> {
    let (url, attempt) = (url.to_owned(), membership.clone());
    tokio::task::spawn_blocking(move || PostgresStore::open(&url, &attempt))
        .await
        .context("the attempt to join the cluster panicked")?
        .context("cannot open the job store")
}

/// Follows the node's standing: each renewal's trust goes on to the supervisors; once the
/// lease is lost, they are told trust ended now (they kill every run) and the returned
/// receiver hears why, so the service stops.
pub fn follow_lease(tenure: Tenure, trust: cimjob_supervisor::Trust) -> oneshot::Receiver<String> {
    let (lost, told) = oneshot::channel();
    let mut changes = tenure.watch();
    tokio::spawn(async move {
        // bounded: it ends when the lease is lost or the store (the sender) is gone
        loop {
            changes.borrow_and_update();
            // `standing` also sees trust that ended with no word from the renewer (stuck on
            // the network)
            match tenure.standing() {
                Standing::Trusted { until, .. } => {
                    trust.grant(until);
                    tokio::select! {
                        changed = changes.changed() => if changed.is_err() { return },
                        () = tokio::time::sleep_until(until.into()) => {}
                    }
                }
                Standing::Lost(why) => {
                    trust.grant(Instant::now());
                    let _ = lost.send(why);
                    return;
                }
            }
        }
    });
    told
}

/// The role of the node that delivers the indications and the Notify notices: one node of a
/// cluster does, so each is sent once.
pub const DELIVERY: &str = "delivery";

/// How often a node that does not deliver asks again whether it may (its holder's lease may
/// have lapsed), and how often the indication registry is read again for what other nodes
/// changed in it.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Becomes true once this node holds [`DELIVERY`] (at once for a store one node serves);
/// the task asks every [`LOOK_AGAIN`] until it does, and ends then (or when aborted: the
/// gate's sender goes with it, which its waiters take as the end).
pub fn delivery_role(
    store: std::sync::Arc<dyn cimjob_store::Store>,
) -> (
    tokio::sync::watch::Receiver<bool>,
    tokio::task::JoinHandle<()>,
) {
    let (held, holding) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        // bounded: it ends once the role is held, or is aborted when the service stops
        loop {
            let store = store.clone();
            let asked = tokio::task::spawn_blocking(move || store.hold_role(DELIVERY)).await;
            match asked {
                Ok(Ok(true)) => {
                    tracing::info!("this node delivers the indications and notices");
                    let _ = held.send(true);
                    // the waiters keep the gate open as long as the service lives
                    held.closed().await;
                    return;
                }
                Ok(Ok(false)) => {}
                Ok(Err(error)) => tracing::warn!(%error, "cannot ask for the delivery role yet"),
                Err(error) => tracing::warn!(%error, "the ask for the delivery role panicked"),
            }
            tokio::time::sleep(LOOK_AGAIN).await;
        }
    });
    (holding, task)
}

/// Reads the indication registry again every [`LOOK_AGAIN`], so what another node of the
/// cluster changed in it (a new subscription) shows here; until aborted.
pub fn follow_registry(
    registry: std::sync::Arc<crate::indications::registry::Registry>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // bounded: aborted when the service stops
        loop {
            tokio::time::sleep(LOOK_AGAIN).await;
            let registry = registry.clone();
            match tokio::task::spawn_blocking(move || registry.reload()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "cannot read the subscriptions again yet"),
                Err(error) => tracing::warn!(%error, "reading the subscriptions again panicked"),
            }
        }
    })
}
