//! A node's lease on a shared PostgreSQL schema: who may write, on the database's clock.
//!
//! Each node has a row in `nodes`: its name, its **incarnation** (raised by every start of
//! the node, so a frozen process of an earlier start is told apart from the live one), and
//! `lease_until`, set by the database as `now() + lease` at each renewal. Nodes serve side by
//! side, each holding the jobs its core holds (see `postgres::claims`); joining, and every
//! node's periodic rescue, fences each lapsed node (`fenced_by`) and takes over its jobs,
//! under an advisory lock so two nodes cannot both take one node's jobs.
//!
//! **Fencing.** Every write transaction of the store first reads its own row `FOR KEY SHARE`
//! with the lease still running and the incarnation its own ([`FENCE`]): a node whose lease
//! lapsed, or that another node has fenced, commits nothing. The row lock orders a takeover
//! after any write in flight.
//!
//! **Trust.** A node must stop before its lease can lapse, not after: the renewer notes the
//! instant *before* it sends each renewal, and trusts itself until that instant plus
//! [`TRUST_SHARE`] of the lease (the database's deadline is later, since its `now()` comes
//! after the send). The [`Standing`] it publishes is what the service (and, through it, the
//! supervisors that hold the runs) acts on: once trust ends the node starts nothing and
//! kills what it runs.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_postgres::Client;

use crate::StoreError;

/// The lease a node takes unless told otherwise: with renewals every fifth of it, a node that
/// was `kill -9`'d is taken over at most this long after its last renewal.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

/// The shortest lease a node may ask for: below this the renewals' round trips and the
/// scheduler's jitter are a large part of it.
pub const MIN_LEASE: Duration = Duration::from_secs(1);

/// How much of the lease a node trusts itself for after a renewal is sent: the rest is the
/// margin for the two clocks' rates and for acting on the end of trust.
pub const TRUST_SHARE: f64 = 0.8;

/// The first key of the advisory lock under which a node joins (the second is the schema's
/// name, hashed): "cjln".
pub(crate) const JOIN_LOCK: i32 = 0x636a_6c6e;

/// Who a node is in the cluster and how long its lease lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The node's name, unique in the cluster (the host name by default).
    pub node: String,
    /// How long a renewal keeps the node's lease.
    pub lease: Duration,
}

impl Membership {
    /// A node called `node` with a lease of `lease`.
    pub fn new(node: impl Into<String>, lease: Duration) -> Membership {
        Membership {
            node: node.into(),
            lease,
        }
    }

    /// How often the lease is renewed: five renewals per lease, so four can fail (a restart
    /// of the server, a lost connection) before trust ends.
    pub fn renew_every(&self) -> Duration {
        self.lease / 5
    }

    fn lease_ms(&self) -> f64 {
        self.lease.as_secs_f64() * 1000.0
    }
}

/// Where a node stands: trusted until an instant of this machine's monotonic clock, or no
/// longer, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// The lease was renewed: the node may act until `until`.
    Trusted {
        /// The end of trust unless renewed again.
        until: Instant,
        /// This start of the node.
        incarnation: i64,
    },
    /// The node may no longer act, for good: its lease lapsed or another node fenced it.
    Lost(String),
}

/// Joins the cluster as `membership.node`, under the join lock, beside the nodes whose lease
/// runs. Fences every node whose lease lapsed and takes over their jobs
/// ([`take_lapsed`](crate::postgres::claims::take_lapsed): the joining node's start loads
/// their jobs in play), and returns this start's incarnation.
pub(crate) async fn join(
    client: &Client,
    schema: Option<&str>,
    membership: &Membership,
    pool: &str,
    location: &str,
) -> Result<i64, StoreError> {
    let fail = |step: &'static str| move |e| crate::postgres::pg_error(location, step, e);
    client
        .batch_execute("BEGIN")
        .await
        .map_err(fail("begin joining"))?;
    let outcome = async {
        client
            .execute(
                "SELECT pg_advisory_xact_lock($1, hashtext(coalesce($2::text, current_schema())))",
                &[&JOIN_LOCK, &schema],
            )
            .await
            .map_err(fail("take the join lock"))?;
        crate::postgres::claims::take_lapsed(client, &membership.node, pool, true)
            .await
            .map_err(fail("take over the jobs of lapsed nodes"))?;
        let row = client
            .query_one(
                "INSERT INTO nodes (node, incarnation, lease_until, joined_at)
                 VALUES ($1, 1, now() + $2 * interval '1 millisecond', now())
                 ON CONFLICT (node) DO UPDATE
                 SET incarnation = nodes.incarnation + 1, lease_until = EXCLUDED.lease_until,
                     fenced_by = NULL, joined_at = now()
                 RETURNING incarnation",
                &[&membership.node, &membership.lease_ms()],
            )
            .await
            .map_err(fail("take the node's lease"))?;
        Ok(row.get::<_, i64>(0))
    }
    .await;
    match outcome {
        Ok(incarnation) => {
            client
                .batch_execute("COMMIT")
                .await
                .map_err(fail("commit joining"))?;
            Ok(incarnation)
        }
        Err(error) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(error)
        }
    }
}

/// The statement every write transaction starts with: one row while this incarnation's lease
/// runs and nobody fenced it, none otherwise. `FOR KEY SHARE` makes a takeover (which locks
/// the row `FOR UPDATE`) wait for the write, while a renewal (a plain UPDATE) never waits for
/// one: a write slowed by other nodes' cannot cost the node its lease.
pub(crate) const FENCE: &str = "SELECT 1 FROM nodes
     WHERE node = $1 AND incarnation = $2 AND fenced_by IS NULL AND lease_until > now()
     FOR KEY SHARE";

/// Renews the lease if this incarnation still holds it; the new deadline, or none.
const RENEW: &str = "UPDATE nodes SET lease_until = now() + $3 * interval '1 millisecond'
     WHERE node = $1 AND incarnation = $2 AND fenced_by IS NULL AND lease_until > now()
     RETURNING lease_until";

/// What became of a lease that could not be renewed, in words.
const WHY_LOST: &str = "SELECT CASE
       WHEN incarnation <> $2 THEN format('node %s started again (incarnation %s)', node, incarnation)
       WHEN fenced_by IS NOT NULL THEN format('node %s took over', fenced_by)
       ELSE format('it lapsed at %s', lease_until) END
     FROM nodes WHERE node = $1";

/// The result of one renewal.
pub(crate) enum Renewal {
    /// Renewed.
    Renewed,
    /// The lease is gone: why.
    Gone(String),
}

/// Renews `incarnation`'s lease once.
pub(crate) async fn renew(
    client: &Client,
    membership: &Membership,
    incarnation: i64,
) -> Result<Renewal, tokio_postgres::Error> {
    let renewed = client
        .query_opt(
            RENEW,
            &[&membership.node, &incarnation, &membership.lease_ms()],
        )
        .await?;
    if renewed.is_some() {
        return Ok(Renewal::Renewed);
    }
    let why = client
        .query_opt(WHY_LOST, &[&membership.node, &incarnation])
        .await?
        .map_or_else(|| "its row is gone".to_owned(), |row| row.get(0));
    Ok(Renewal::Gone(why))
}

/// The node's standing as it changes: published by the renewer, read by the writer (which
/// commits nothing once trust ended) and by whoever acts on the node's runs.
#[derive(Clone, Debug)]
pub struct Tenure {
    /// This node.
    pub membership: Membership,
    /// This start of it.
    pub incarnation: i64,
    standing: watch::Sender<Standing>,
}

impl Tenure {
    pub(crate) fn new(membership: Membership, incarnation: i64, sent: Instant) -> Tenure {
        let until = trusted_until(&membership, sent);
        let (standing, _) = watch::channel(Standing::Trusted { until, incarnation });
        Tenure {
            membership,
            incarnation,
            standing,
        }
    }

    /// Where the node stands now: `Lost` once trust ended, even if the renewer has not yet
    /// said so.
    pub fn standing(&self) -> Standing {
        match &*self.standing.borrow() {
            Standing::Trusted { until, .. } if Instant::now() >= *until => {
                Standing::Lost("the lease could not be renewed before trust in it ended".into())
            }
            standing => standing.clone(),
        }
    }

    /// Every change of standing, from now on.
    pub fn watch(&self) -> watch::Receiver<Standing> {
        self.standing.subscribe()
    }

    /// A renewal sent at `sent` succeeded.
    pub(crate) fn renewed(&self, sent: Instant) {
        let until = trusted_until(&self.membership, sent);
        let incarnation = self.incarnation;
        self.standing.send_if_modified(|standing| match standing {
            Standing::Trusted { .. } => {
                *standing = Standing::Trusted { until, incarnation };
                true
            }
            Standing::Lost(_) => false,
        });
    }

    /// The lease is gone for good.
    pub(crate) fn lost(&self, why: String) {
        self.standing.send_if_modified(|standing| match standing {
            Standing::Lost(_) => false,
            _ => {
                tracing::error!(node = %self.membership.node, why, "this node lost its lease");
                *standing = Standing::Lost(why);
                true
            }
        });
    }
}

/// The end of trust after a renewal sent at `sent`.
fn trusted_until(membership: &Membership, sent: Instant) -> Instant {
    sent + membership.lease.mul_f64(TRUST_SHARE)
}
