//! The indication service's state in the job store's database: the registry's objects (a
//! document table, see [`documents`](super::documents)) and the record of delivery outcomes.

use super::documents::{
    create_table, serve_document, set_up, DocumentRequest, DocumentStatements, DocumentTable,
    Worker,
};
use super::*;
use crate::subscriptions::{DeliveryOutcome, SubscriptionStore, MAX_OUTCOMES};

/// The registry's objects: filters, destinations, subscriptions.
struct IndicationObjects;

impl DocumentTable for IndicationObjects {
    const NAME: &'static str = "indication_objects";
}

/// The outcomes' table, created if absent (prefixed, so it sits beside the job store's).
const CREATE_OUTCOMES_TABLE: &str = "CREATE TABLE IF NOT EXISTS indication_outcomes (
        id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at            TEXT   NOT NULL,
        destination   TEXT   NOT NULL,
        subscription  TEXT   NOT NULL,
        indication_id TEXT   NOT NULL,
        outcome       TEXT   NOT NULL,
        attempts      BIGINT NOT NULL,
        error         TEXT
    )";

/// [`SubscriptionStore`] in the job store's PostgreSQL database (tables `indication_objects`
/// and `indication_outcomes`), on its own thread like [`PostgresStore`]. Objects commit
/// durably; outcomes go through a second connection with `synchronous_commit=off` (a record,
/// not a promise: the newest may be lost in a crash of the server, never corrupted).
///
/// A call whose connection was lost reconnects and is made once more; for
/// [`record_outcome`](SubscriptionStore::record_outcome) that may record an outcome twice.
pub struct PostgresSubscriptions {
    worker: Worker<SubscriptionRequest>,
}

/// A call of [`SubscriptionStore`], with where its answer goes.
enum SubscriptionRequest {
    Objects(DocumentRequest),
    Record {
        outcome: DeliveryOutcome,
        reply: Reply<()>,
    },
    Outcomes {
        limit: i64,
        reply: Reply<Vec<DeliveryOutcome>>,
    },
}

/// The outcomes' statements, on a connection that does not wait for the disk at commit.
struct OutcomeStatements {
    record: Statement,
    forget_old: Statement,
    newest: Statement,
}

impl Prepare for OutcomeStatements {
    async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        client.batch_execute("SET synchronous_commit = off").await?;
        Ok(OutcomeStatements {
            record: client
                .prepare(
                    "INSERT INTO indication_outcomes
                         (at, destination, subscription, indication_id, outcome, attempts, error)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .await?,
            forget_old: client
                .prepare(
                    "DELETE FROM indication_outcomes
                     WHERE id <= (SELECT MAX(id) FROM indication_outcomes) - $1",
                )
                .await?,
            newest: client
                .prepare(
                    "SELECT at, destination, subscription, indication_id, outcome, attempts, error
                     FROM indication_outcomes ORDER BY id DESC LIMIT $1",
                )
                .await?,
        })
    }
}

impl PostgresSubscriptions {
    /// Connects to the database at `url` (as [`PostgresStore::open`] reads it), creating the
    /// schema and the tables if absent. Blocking; callable from any thread.
    pub fn open(url: &str) -> Result<PostgresSubscriptions, StoreError> {
        let address = Arc::new(Address::parse(url)?);
        let location = address.location.clone();
        let (requests, asked) = mpsc::unbounded_channel();
        let opening = Arc::clone(&address);
        let thread = start_thread(
            "cimjob-subscriptions-postgres",
            &location,
            move || async move {
                let address = opening;
                let creates = [
                    create_table::<IndicationObjects>(),
                    CREATE_OUTCOMES_TABLE.to_owned(),
                ];
                let (client, driver) = set_up(&address, &creates).await?;
                let objects = Live::prepared(client, driver, &address).await?;
                let (client, driver) = connect(&address).await?;
                let outcomes =
                    Live::<OutcomeStatements>::prepared(client, driver, &address).await?;
                Ok((objects, outcomes))
            },
            move |(objects, outcomes)| async move {
                let keeper = SubscriptionKeeper {
                    location: address.location.clone(),
                    objects: Link::new(Arc::clone(&address), objects),
                    outcomes: Link::new(Arc::clone(&address), outcomes),
                };
                keeper.run(asked).await;
            },
        )?;
        Ok(PostgresSubscriptions {
            worker: Worker::new(location, requests, thread),
        })
    }

    fn objects_ask<T>(
        &self,
        request: impl FnOnce(Reply<T>) -> DocumentRequest,
    ) -> Result<T, StoreError> {
        self.worker
            .ask(|reply| SubscriptionRequest::Objects(request(reply)))
    }
}

impl std::fmt::Debug for PostgresSubscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSubscriptions")
            .field("location", &self.worker.location)
            .finish_non_exhaustive()
    }
}

impl SubscriptionStore for PostgresSubscriptions {
    fn objects(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.objects_ask(DocumentRequest::All)
    }

    fn save(&self, key: &str, document: &str) -> Result<(), StoreError> {
        self.objects_ask(|reply| DocumentRequest::Save {
            key: key.to_owned(),
            document: document.to_owned(),
            reply,
        })
    }

    fn erase(&self, key: &str) -> Result<(), StoreError> {
        self.objects_ask(|reply| DocumentRequest::Erase {
            key: key.to_owned(),
            reply,
        })
        .map(drop)
    }

    fn record_outcome(&self, outcome: &DeliveryOutcome) -> Result<(), StoreError> {
        self.worker.ask(|reply| SubscriptionRequest::Record {
            outcome: outcome.clone(),
            reply,
        })
    }

    fn outcomes(&self, limit: usize) -> Result<Vec<DeliveryOutcome>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.worker
            .ask(|reply| SubscriptionRequest::Outcomes { limit, reply })
    }
}

/// The subscriptions task's state: its two connections.
struct SubscriptionKeeper {
    location: String,
    objects: Link<DocumentStatements<IndicationObjects>>,
    outcomes: Link<OutcomeStatements>,
}

impl SubscriptionKeeper {
    async fn run(mut self, mut requests: mpsc::UnboundedReceiver<SubscriptionRequest>) {
        while let Some(request) = requests.recv().await {
            self.serve(request).await;
        }
        self.objects.close().await;
        self.outcomes.close().await;
    }

    async fn serve(&mut self, request: SubscriptionRequest) {
        let location: &str = &self.location.clone();
        // The caller may have stopped waiting; nothing is lost by not telling it.
        match request {
            SubscriptionRequest::Objects(request) => {
                serve_document(&mut self.objects, location, request).await;
            }
            SubscriptionRequest::Record { outcome, reply } => {
                let outcome = &outcome;
                let answer = self
                    .outcomes
                    .retrying(|live| async move { record(&live, outcome, location).await })
                    .await;
                let _ = reply.send(answer);
            }
            SubscriptionRequest::Outcomes { limit, reply } => {
                let answer = self
                    .outcomes
                    .retrying(|live| async move { newest(&live, limit, location).await })
                    .await;
                let _ = reply.send(answer);
            }
        }
    }
}

/// Records one outcome and forgets all but the newest [`MAX_OUTCOMES`], in one round trip.
async fn record(
    live: &Live<OutcomeStatements>,
    o: &DeliveryOutcome,
    location: &str,
) -> Result<(), Failure> {
    let (client, s) = (&live.client, &live.statements);
    let attempts = i64::from(o.attempts);
    let record: [&(dyn ToSql + Sync); 7] = [
        &o.at,
        &o.destination,
        &o.subscription,
        &o.indication_id,
        &o.outcome,
        &attempts,
        &o.error,
    ];
    let steps = [
        client.execute(&s.record, &record),
        client.execute(&s.forget_old, &[&MAX_OUTCOMES]),
    ];
    match in_order(steps.into())
        .await
        .into_iter()
        .find_map(Result::err)
    {
        Some(e) => Err(failure(client, location, "record a delivery outcome", e)),
        None => Ok(()),
    }
}

/// The newest `limit` outcomes, newest first.
async fn newest(
    live: &Live<OutcomeStatements>,
    limit: i64,
    location: &str,
) -> Result<Vec<DeliveryOutcome>, Failure> {
    let step = "read the delivery outcomes";
    let rows = live
        .client
        .query(&live.statements.newest, &[&limit])
        .await
        .map_err(|e| failure(&live.client, location, step, e))?;
    let outcome = |row: &Row| -> Result<DeliveryOutcome, StoreError> {
        let attempts: i64 = column(row, 5, location, step)?;
        Ok(DeliveryOutcome {
            at: column(row, 0, location, step)?,
            destination: column(row, 1, location, step)?,
            subscription: column(row, 2, location, step)?,
            indication_id: column(row, 3, location, step)?,
            outcome: column(row, 4, location, step)?,
            attempts: crate::from_stored_integer(
                attempts,
                || "attempts of a delivery outcome".into(),
                location,
            )?,
            error: column(row, 6, location, step)?,
        })
    };
    rows.iter()
        .map(outcome)
        .collect::<Result<_, _>>()
        .map_err(Failure::Refused)
}
