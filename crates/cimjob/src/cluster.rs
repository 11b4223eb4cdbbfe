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
