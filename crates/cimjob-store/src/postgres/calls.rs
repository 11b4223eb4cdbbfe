//! Calls between the nodes of a shared schema, and what wakes a node to look again.
//!
//! A call about a job another node holds (a Terminate for a run there) is a row of
//! `job_requests` addressed to that node; `pg_notify` tells it at once, and it looks for
//! requests on a poll of its own too, so a lost notification (a killed LISTEN connection)
//! only delays the call. The answer goes in the same row, and the asker hears of it the same
//! two ways.
//!
//! One **listener** connection per node LISTENs on the schema's channel and raises a
//! [`Notices`] counter for each notification it hears (ready jobs given back; a call for this
//! node, or an answer); when the connection is lost it raises both, since notifications may
//! have been missed, and connects again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, Client};

use super::{column, failure, quoted, Address, Failure, Live, ReadStatements};
use crate::{Notices, StoreError};

/// The schema's channel (notifications are the database's: one channel per schema).
pub(super) fn channel(schema: Option<&str>) -> String {
    format!("cimjob:{}", schema.unwrap_or("public"))
}

/// The payload that tells ready jobs were given back.
pub(super) const POOL: &str = "pool";

/// The payload that tells `node` a call came for it.
fn call_for(node: &str) -> String {
    format!("call:{node}")
}

/// The payload that tells an answer came.
const ANSWER: &str = "answer";

/// The raising ends of [`Notices`].
pub(super) struct Raisers {
    pool: watch::Sender<u64>,
    calls: watch::Sender<u64>,
}

/// A fresh pair of counters.
pub(super) fn notices() -> (Raisers, Notices) {
    let (pool, pool_in) = watch::channel(0);
    let (calls, calls_in) = watch::channel(0);
    (
        Raisers { pool, calls },
        Notices {
            pool: pool_in,
            calls: calls_in,
        },
    )
}

impl Raisers {
    fn raise(counter: &watch::Sender<u64>) {
        counter.send_modify(|n| *n += 1);
    }

    /// Both: notifications may have been missed.
    fn raise_all(&self) {
        Raisers::raise(&self.pool);
        Raisers::raise(&self.calls);
    }
}

/// LISTENs on the schema's channel for `node` until `stop`, connecting again (with backoff)
/// whenever the connection is lost.
pub(super) async fn listen(
    address: Arc<Address>,
    node: String,
    raisers: Raisers,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let channel = channel(address.schema.as_deref());
    let mine = call_for(&node);
    let mut backoff = Duration::from_millis(50);
    // bounded by `stop`: the listener lives as long as the store
    loop {
        let connected = tokio::select! {
            _ = &mut stop => return,
            connected = address.config.connect(tokio_postgres::NoTls) => connected,
        };
        match connected {
            Ok((client, mut connection)) => {
                let (quit, quitting) = tokio::sync::oneshot::channel::<()>();
                let listening = listen_on(client, &channel, quitting);
                let pump = async {
                    loop {
                        let message = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
                        match message {
                            Some(Ok(AsyncMessage::Notification(n))) => match n.payload() {
                                POOL => Raisers::raise(&raisers.pool),
                                ANSWER => Raisers::raise(&raisers.calls),
                                payload if payload == mine => Raisers::raise(&raisers.calls),
                                _ => {}
                            },
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => return,
                        }
                    }
                };
                // heard from again: whatever came while it was away is looked at now
                raisers.raise_all();
                backoff = Duration::from_millis(50);
                tokio::select! {
                    _ = &mut stop => { drop(quit); return; }
                    () = pump => {}
                    () = listening => {}
                }
                drop(quit);
                tracing::info!(location = %address.location, "the LISTEN connection was lost; listening again");
                raisers.raise_all();
            }
            Err(error) => {
                tracing::warn!(location = %address.location, %error, "cannot LISTEN yet");
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Sends LISTEN on `client`, then keeps the client (so the connection stays open) until
/// `quit`; returns at once if LISTEN fails.
async fn listen_on(client: Client, channel: &str, quit: tokio::sync::oneshot::Receiver<()>) {
    if let Err(error) = client
        .batch_execute(&format!("LISTEN {}", quoted(channel)))
        .await
    {
        tracing::warn!(%error, "LISTEN failed");
        return;
    }
    let _ = quit.await;
}

/// Asks `node` to carry out `request` about job `local_id`; the request's number.
pub(super) async fn send(
    live: &Live<ReadStatements>,
    channel: &str,
    node: &str,
    local_id: i64,
    request: &str,
    location: &str,
) -> Result<u64, Failure> {
    let client = &live.client;
    let step = format!("send a call about job {local_id} to node {node}");
    let row = client
        .query_one(
            "WITH sent AS (INSERT INTO job_requests (node, local_id, request) \
             VALUES ($1, $2, $3) RETURNING id) \
             SELECT id, pg_notify($4, $5) IS NULL FROM sent",
            &[&node, &local_id, &request, &channel, &call_for(node)],
        )
        .await
        .map_err(|e| failure(client, location, &step, e))?;
    let id: i64 = column(&row, 0, location, &step).map_err(Failure::Refused)?;
    Ok(id as u64)
}

/// The answer to call `id`, if it came (the call is then forgotten).
pub(super) async fn answer_of(
    live: &Live<ReadStatements>,
    id: i64,
    location: &str,
) -> Result<Option<String>, Failure> {
    let client = &live.client;
    let step = format!("read the answer to call {id}");
    let row = client
        .query_opt(
            "DELETE FROM job_requests WHERE id = $1 AND answer IS NOT NULL RETURNING answer",
            &[&id],
        )
        .await
        .map_err(|e| failure(client, location, &step, e))?;
    row.map(|row| column(&row, 0, location, &step))
        .transpose()
        .map_err(Failure::Refused)
}

/// Forgets call `id` unanswered (its asker gave up).
pub(super) async fn withdraw(
    live: &Live<ReadStatements>,
    id: i64,
    location: &str,
) -> Result<(), Failure> {
    let client = &live.client;
    client
        .execute("DELETE FROM job_requests WHERE id = $1", &[&id])
        .await
        .map_err(|e| failure(client, location, "withdraw a call", e))?;
    Ok(())
}

/// The calls for `node` not yet taken, oldest first, as (number, job, request); each is
/// taken once.
pub(super) async fn take(
    live: &Live<ReadStatements>,
    node: &str,
    location: &str,
) -> Result<Vec<(u64, u64, String)>, Failure> {
    let client = &live.client;
    let step = "take the calls for this node";
    let rows = client
        .query(
            "UPDATE job_requests SET taken = true WHERE id IN (SELECT id FROM job_requests \
             WHERE node = $1 AND NOT taken ORDER BY id FOR UPDATE SKIP LOCKED) \
             RETURNING id, local_id, request",
            &[&node],
        )
        .await
        .map_err(|e| failure(client, location, step, e))?;
    let mut calls = rows
        .iter()
        .map(|row| {
            let id: i64 = column(row, 0, location, step)?;
            let local_id: i64 = column(row, 1, location, step)?;
            let request: String = column(row, 2, location, step)?;
            Ok((id as u64, local_id as u64, request))
        })
        .collect::<Result<Vec<_>, StoreError>>()
        .map_err(Failure::Refused)?;
    calls.sort_by_key(|call| call.0);
    Ok(calls)
}

/// Answers call `id` and tells its asker.
pub(super) async fn answer(
    live: &Live<ReadStatements>,
    channel: &str,
    id: i64,
    answer: &str,
    location: &str,
) -> Result<(), Failure> {
    let client = &live.client;
    client
        .execute(
            "WITH answered AS (UPDATE job_requests SET answer = $2 WHERE id = $1 RETURNING id) \
             SELECT pg_notify($3, $4) FROM answered",
            &[&id, &answer, &channel, &ANSWER],
        )
        .await
        .map_err(|e| failure(client, location, "answer a call", e))?;
    Ok(())
}

/// Whether this node (`node`, `incarnation`) holds `role`, taking it if free or its holder's
/// lease (of the incarnation that took it) lapsed.
pub(super) async fn hold_role(
    live: &Live<ReadStatements>,
    role: &str,
    node: &str,
    incarnation: i64,
    location: &str,
) -> Result<bool, Failure> {
    let client = &live.client;
    let held = client
        .query_opt(
            "INSERT INTO roles (role, node, incarnation) VALUES ($1, $2, $3) \
             ON CONFLICT (role) DO UPDATE SET node = excluded.node, \
             incarnation = excluded.incarnation \
             WHERE (roles.node = excluded.node AND roles.incarnation = excluded.incarnation) \
             OR NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node = roles.node \
               AND n.incarnation = roles.incarnation AND n.fenced_by IS NULL \
               AND n.lease_until > now()) \
             RETURNING node",
            &[&role, &node, &incarnation],
        )
        .await
        .map_err(|e| failure(client, location, format!("take the role {role}"), e))?;
    Ok(held.is_some())
}
