//! A node of a cluster on one PostgreSQL database: standing by while another node's lease
//! runs, and acting on this node's own lease once it serves.
//!
//! The lease itself (joining, renewing, fencing every write) is the store's
//! (`cimjob_store::lease`); this module is what the service does about it: it waits to join,
//! passes the node's trust on to the supervisors that hold its runs (so they kill the runs
//! when trust ends, even if this process is frozen or dead), and says when the lease is lost
//! so the service stops.

use std::future::Future;
use std::time::Instant;

use anyhow::Context;
use cimjob_store::lease::{Membership, Standing, Tenure};
use cimjob_store::postgres::PostgresStore;
use cimjob_store::StoreError;
use tokio::sync::oneshot;

/// Joins the cluster at `url` as `membership.node`, standing by (asking again every renewal
/// period) while another node serves; `None` if `stop` came first.
pub async fn join_standing_by(
    url: &str,
    membership: &Membership,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<Option<PostgresStore>> {
    tokio::pin!(stop);
    let mut standing_by = false;
    // bounded by `stop`: a standby waits for as long as the serving node lives
    loop {
        let (url, attempt) = (url.to_owned(), membership.clone());
        let joined = tokio::task::spawn_blocking(move || PostgresStore::open(&url, &attempt))
            .await
            .context("the attempt to join the cluster panicked")?;
        match joined {
            Ok(store) => {
                if standing_by {
                    tracing::info!(node = %membership.node, "the serving node's lease lapsed: this node takes over");
                }
                return Ok(Some(store));
            }
            Err(StoreError::Taken { holder, .. }) => {
                if !standing_by {
                    tracing::info!(node = %membership.node, "standing by: {holder} serves this database");
                    eprintln!("cimjob: standing by: {holder} serves this database");
                    standing_by = true;
                }
            }
            Err(error) => return Err(error).context("cannot open the job store"),
        }
        tokio::select! {
            () = &mut stop => return Ok(None),
            () = tokio::time::sleep(membership.renew_every()) => {}
        }
    }
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
