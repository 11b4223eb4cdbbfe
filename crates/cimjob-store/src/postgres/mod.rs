//! The PostgreSQL backend: the job store in a database that several nodes can share, and
//! beside it the indication service's state ([`PostgresSubscriptions`]) and the service's
//! users ([`PostgresUsers`]).
//!
//! # Shape
//! - A **dedicated thread** owns a current-thread tokio runtime and every connection.
//!   Callers talk to it through channels only, so the blocking calls ([`PostgresStore::open`],
//!   the reads, [`Store::close`]) work from any thread, a tokio worker included: they wait on
//!   a `std` channel, never inside an async runtime.
//! - One **writer** task owns the write connection. [`Store::commit`] queues the batch and
//!   returns at once. The writer takes the first waiting batch and every batch already queued
//!   behind it (up to [`MAX_GROUP`]) and runs them in one transaction: BEGIN, the lease's
//!   fence and every batch's statements go as one pipeline (sent together, answered in order),
//!   then COMMIT — two round trips a group; then it resolves the tickets in submission order
//!   (group commit). If a batch fails, the transaction is rolled back and the group applied
//!   again batch by batch, each inside a `SAVEPOINT`, so the failing batch fails alone and its
//!   neighbours commit (a batch that prunes the record always goes that way).
//! - If the connection is lost before `COMMIT` was sent, nothing committed and the group is
//!   tried again on a new connection; if it is lost during `COMMIT`, the outcome is unknown
//!   and those tickets resolve with [`StoreError::Unconfirmed`]. The writer reconnects with
//!   backoff for up to [`RECONNECT_FOR`] before failing a group with
//!   [`StoreError::Database`]; the next group tries again.
//! - **Claims** ([`claims`]) run on the writer's connection in order with the batches; calls
//!   between nodes and the LISTEN connection are [`calls`]'.
//! - **Reads** use a second connection on the same thread, one request at a time; a read
//!   whose connection was lost reconnects and is asked once more. Every batch whose ticket
//!   resolved is visible to them (the commit came first).
//! - Migrations run at open, in one transaction holding `pg_advisory_xact_lock`, so nodes
//!   opening the same database at once do not race.
//! - **Leases** ([`lease`]): the store joins the schema as a node at open, beside the nodes
//!   serving it, renews the lease on a connection (and thread) of its own, and fences every write transaction by it: once the lease is lost every batch
//!   fails with [`StoreError::Fenced`] and nothing more is written. The write session commits
//!   with `synchronous_commit = on` whatever the server's default.
//!
//! # The address
//! A `postgres://` (or `postgresql://`) URL, as [`tokio_postgres::Config`] reads it, plus one
//! parameter of ours: `search_path=NAME` puts the store in schema `NAME` (created if absent;
//! a plain identifier, `[A-Za-z_][A-Za-z0-9_]*`). Without it the server's default search path
//! applies. Connections show `application_name` [`APPLICATION_NAME`] unless the URL names
//! another. Error messages name the URL without its password.

use std::future::Future;
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, NoTls, Row, Statement};

mod calls;
pub(crate) mod claims;
mod documents;
mod subscriptions;

pub use documents::PostgresUsers;
pub use subscriptions::PostgresSubscriptions;

use crate::lease::{self, Membership, Standing, Tenure, MIN_LEASE};
use crate::migrations::{self, POSTGRES_MIGRATIONS};
use crate::sql::{self, Op};
use crate::writer::{self, Counters, Pending};
use crate::{
    database_error, lock, to_stored_integer, Batch, ChangeRecord, Claim, Claimed, CommitCompletion,
    CommitCounts, CommitTicket, JobRecord, Loaded, Notices, RunRecord, Store, StoreError,
    MAX_GROUP,
};
use claims::ClaimRequest;

/// What waits for the writer: a batch to commit, or a claim to make in order with them.
enum Queued {
    Batch(Pending),
    Claim(ClaimRequest),
}

impl writer::Queue for mpsc::UnboundedSender<Queued> {
    fn push(&self, pending: Pending) -> Result<(), CommitCompletion> {
        self.send(Queued::Batch(pending))
            .map_err(|refused| match refused.0 {
                Queued::Batch(pending) => pending.done,
                Queued::Claim(_) => unreachable!("a batch was sent"),
            })
    }
}

/// The `application_name` the store's connections show in `pg_stat_activity` (unless the URL
/// names another), so an operator or a test can tell them apart.
pub const APPLICATION_NAME: &str = "cimjob-store";

/// How long the writer keeps trying to get a lost connection back before it fails the batches
/// it holds; the next batches try again.
pub const RECONNECT_FOR: Duration = Duration::from_secs(30);

/// How long a read waits for a lost connection to come back before failing.
const READ_PATIENCE: Duration = Duration::from_secs(5);

/// How long one attempt to connect may take (unless the URL says `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long sent data may stay unacknowledged before the connection counts as lost.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a schema's setup waits for another node's setup (or any lock it needs).
const SETUP_LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '60s'";

/// The first pause between attempts to reconnect; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// The longest pause between attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How many times a group whose connection was lost before its `COMMIT` is tried.
const GROUP_TRIES: usize = 3;

/// The first key of the advisory lock held while a schema is set up (the second is the
/// schema's name, hashed): "cjms".
const SETUP_LOCK: i32 = 0x636a_6d73;

// ---------------------------------------------------------------------------------------------
// The address

/// Where a PostgreSQL store lives: the connection settings, our schema, and the location that
/// messages name.
struct Address {
    config: tokio_postgres::Config,
    schema: Option<String>,
    location: String,
}

impl Address {
    /// Reads a `postgres://` URL and our `search_path` parameter (see the [module](self) docs).
    fn parse(url: &str) -> Result<Address, StoreError> {
        let location = without_password(url);
        let bad = |problem: String| StoreError::BadLocation {
            location: location.clone(),
            problem,
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad("expected a postgres:// or postgresql:// URL".into()));
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut schema = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("search_path", name) => schema = Some(name.to_owned()),
                _ => kept.push(pair),
            }
        }
        if let Some(name) = schema.as_deref().filter(|name| !is_identifier(name)) {
            return Err(bad(format!(
                "search_path {name:?} is not a plain SQL identifier (letters, digits and _, \
                 not starting with a digit)"
            )));
        }
        let url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| bad(format!("not a usable PostgreSQL URL: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name(APPLICATION_NAME);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            // a half-open connection fails a write within this, not after TCP's 15 minutes
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        let mut address = Address {
            config,
            schema,
            location,
        };
        if let Some(name) = address.schema.clone() {
            // Quoted, as CREATE SCHEMA quotes it: an unquoted name would be folded to lower case.
            address.set(&format!("search_path={}", quoted(&name)));
        }
        Ok(address)
    }

    /// Sets a server parameter for every session of the store.
    fn set(&mut self, setting: &str) {
        let ours = format!("-c {setting}");
        let options = match self.config.get_options() {
            Some(theirs) => format!("{theirs} {ours}"),
            None => ours,
        };
        self.config.options(options);
    }
}

/// Whether `name` is `[A-Za-z_][A-Za-z0-9_]*`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `name` as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The URL as messages show it: without a password, whether in the user info or a parameter.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(a PostgreSQL address that is not a URL)".into();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            format!("{user}@{hosts}")
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !pair.starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

// ---------------------------------------------------------------------------------------------
// Connections

/// A PostgreSQL error as the store reports it, boxed inside [`StoreError::Database`]: its
/// message says what the server said (severity, message, SQLSTATE, detail) or why the
/// connection failed, which the client library's own message leaves out.
#[derive(Debug)]
pub struct PostgresError(tokio_postgres::Error);

impl PostgresError {
    /// The server's SQLSTATE, when the server refused the step (e.g. a foreign key violation).
    pub fn code(&self) -> Option<&SqlState> {
        self.0.code()
    }

    /// The client library's error, for whatever else it tells.
    pub fn get_ref(&self) -> &tokio_postgres::Error {
        &self.0
    }
}

impl std::fmt::Display for PostgresError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(db) = self.0.as_db_error() {
            write!(
                f,
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            )?;
            if let Some(detail) = db.detail() {
                write!(f, "; {detail}")?;
            }
            return Ok(());
        }
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(&self.0);
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl std::error::Error for PostgresError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A [`StoreError::Database`] for a PostgreSQL error at `step`.
pub(crate) fn pg_error(
    location: &str,
    step: impl Into<String>,
    error: tokio_postgres::Error,
) -> StoreError {
    database_error(location, step, PostgresError(error))
}

/// One open connection, the task that drives it, and the statements prepared on it.
struct Live<S> {
    client: Client,
    statements: S,
    driver: tokio::task::JoinHandle<()>,
}

/// The statements a kind of connection prepares as soon as it is open.
trait Prepare: Sized {
    async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error>;
}

/// Opens a connection and starts the task that drives it, on the current runtime.
async fn connect(address: &Address) -> Result<(Client, tokio::task::JoinHandle<()>), StoreError> {
    // connect_timeout bounds the TCP connect only: the start-up exchange is bounded here
    let patience = address
        .config
        .get_connect_timeout()
        .copied()
        .unwrap_or(CONNECT_TIMEOUT);
    let (client, connection) = tokio::time::timeout(patience, address.config.connect(NoTls))
        .await
        .map_err(|_| StoreError::Io {
            location: address.location.clone(),
            step: "connect".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the server did not complete the start-up within {patience:?}"),
            ),
        })?
        .map_err(|e| pg_error(&address.location, "connect", e))?;
    let location = address.location.clone();
    let driver = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(location, %error, "PostgreSQL connection ended");
        }
    });
    Ok((client, driver))
}

impl<S: Prepare> Live<S> {
    /// Prepares `S`'s statements on a connection just opened.
    async fn prepared(
        client: Client,
        driver: tokio::task::JoinHandle<()>,
        address: &Address,
    ) -> Result<Live<S>, StoreError> {
        let location = address.location.as_str();
        match S::prepare(&client).await {
            Ok(statements) => Ok(Live {
                client,
                statements,
                driver,
            }),
            Err(e) => Err(pg_error(location, "prepare the statements", e)),
        }
    }

    /// Closes the connection politely (the server sees a goodbye, not a dropped socket), its
    /// locks let go first.
    async fn close(self) {
        // the locks go now, not when the server notices the connection gone, so a store opened
        // right after this one closed finds the schema free
        let unlock = self.client.batch_execute("SELECT pg_advisory_unlock_all()");
        let _ = tokio::time::timeout(Duration::from_secs(1), unlock).await;
        drop(self.client);
        let _ = tokio::time::timeout(Duration::from_secs(1), self.driver).await;
    }
}

/// A connection made again after it was lost.
struct Link<S> {
    address: Arc<Address>,
    live: Option<Arc<Live<S>>>,
}

/// Why a step on a connection failed: the connection went away (the step may be tried again
/// on a new one), or the database refused the step.
enum Failure {
    Lost(StoreError),
    Refused(StoreError),
}

impl<S: Prepare> Link<S> {
    fn new(address: Arc<Address>, live: Live<S>) -> Link<S> {
        Link {
            address,
            live: Some(Arc::new(live)),
        }
    }

    /// The open connection, or a new one if it was lost: tried again with backoff for up to
    /// `patience`.
    async fn live(&mut self, patience: Duration) -> Result<Arc<Live<S>>, StoreError> {
        if let Some(live) = self.live.as_ref().filter(|live| !live.client.is_closed()) {
            return Ok(Arc::clone(live));
        }
        self.live = None;
        let location = self.address.location.as_str();
        let deadline = Instant::now() + patience;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let attempt = match connect(&self.address).await {
                Ok((client, driver)) => Live::prepared(client, driver, &self.address).await,
                Err(error) => Err(error),
            };
            match attempt {
                Ok(live) => {
                    tracing::info!(location, "connected to PostgreSQL again");
                    let live = Arc::new(live);
                    self.live = Some(Arc::clone(&live));
                    return Ok(live);
                }
                Err(error) if Instant::now() + backoff > deadline => return Err(error),
                Err(error) => {
                    tracing::warn!(location, %error, ?backoff, "cannot reach PostgreSQL yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Forgets the connection: the next step opens a new one.
    fn lost(&mut self) {
        self.live = None;
    }

    /// Runs `step` (which must be safe to repeat), on a new connection once more if the
    /// connection was lost under it.
    async fn retrying<T, F, Fut>(&mut self, step: F) -> Result<T, StoreError>
    where
        F: Fn(Arc<Live<S>>) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut again = false;
        loop {
            let live = self.live(READ_PATIENCE).await?;
            match step(live).await {
                Ok(value) => return Ok(value),
                Err(Failure::Refused(error)) => return Err(error),
                Err(Failure::Lost(error)) if again => return Err(error),
                Err(Failure::Lost(error)) => {
                    tracing::info!(location = %self.address.location, %error, "PostgreSQL connection lost; reconnecting");
                    self.lost();
                    again = true;
                }
            }
        }
    }

    async fn close(&mut self) {
        if let Some(live) = self.live.take().and_then(Arc::into_inner) {
            live.close().await;
        }
    }
}

/// Whether an error means the connection is gone (closed, reset, or the server ended the
/// session: class 08 connection exceptions, class 57P operator interventions).
fn connection_lost(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        let code = code.code();
        return code.starts_with("08") || code.starts_with("57P");
    }
    std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>())
}

/// The [`Failure`] for `error` at `step` on `client`.
fn failure(
    client: &Client,
    location: &str,
    step: impl Into<String>,
    error: tokio_postgres::Error,
) -> Failure {
    let lost = connection_lost(&error) || client.is_closed();
    let error = pg_error(location, step, error);
    if lost {
        Failure::Lost(error)
    } else {
        Failure::Refused(error)
    }
}

/// A column of a row, refusing a value of another type than ours.
fn column<'a, T: FromSql<'a>>(
    row: &'a Row,
    index: usize,
    location: &str,
    step: &str,
) -> Result<T, StoreError> {
    row.try_get(index).map_err(|e| pg_error(location, step, e))
}

/// Polls every future in the order given, each time, until all are done. tokio-postgres sends
/// a request when its future is first polled, so the requests leave in this order and the
/// server answers them in it: one round trip for all of them (pipelining).
async fn in_order<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|output| output.expect("every future finished"))
        .collect()
}

/// Starts the thread that owns a current-thread runtime, runs `open` on it and waits for its
/// outcome; once it succeeded, the thread goes on with `serve` of what it opened, to its end.
fn start_thread<T, O, OFut, S, SFut>(
    name: &str,
    location: &str,
    open: O,
    serve: S,
) -> Result<thread::JoinHandle<()>, StoreError>
where
    O: FnOnce() -> OFut + Send + 'static,
    OFut: Future<Output = Result<T, StoreError>>,
    S: FnOnce(T) -> SFut + Send + 'static,
    SFut: Future<Output = ()>,
{
    let (started, outcome) = std_mpsc::sync_channel(1);
    let thread_location = location.to_owned();
    let handle = thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(async move {
                    match open().await {
                        Ok(opened) => {
                            let _ = started.send(Ok(()));
                            serve(opened).await;
                        }
                        Err(error) => {
                            let _ = started.send(Err(error));
                        }
                    }
                }),
                Err(source) => {
                    let _ = started.send(Err(StoreError::Io {
                        location: thread_location,
                        step: "start the PostgreSQL runtime".into(),
                        source,
                    }));
                }
            }
        })
        .map_err(|source| StoreError::Io {
            location: location.to_owned(),
            step: "start the PostgreSQL thread".into(),
            source,
        })?;
    match outcome.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(error)) => {
            let _ = handle.join();
            Err(error)
        }
        Err(_) => {
            let _ = handle.join();
            Err(gone(location))
        }
    }
}

/// The error of a call whose answer never came: the store's thread stopped (it panicked).
fn gone(location: &str) -> StoreError {
    database_error(
        location,
        "reach the PostgreSQL thread",
        "the thread that owns the connections has stopped",
    )
}

/// Where a blocking call waits for its answer (a `std` channel: no async runtime involved).
type Reply<T> = std_mpsc::SyncSender<Result<T, StoreError>>;

/// Sends a request built around a reply channel and blocks until the answer.
fn ask<R, T>(
    requests: Option<&mpsc::UnboundedSender<R>>,
    location: &str,
    request: impl FnOnce(Reply<T>) -> R,
) -> Result<T, StoreError> {
    let (reply, answer) = std_mpsc::sync_channel(1);
    let sent = requests.is_some_and(|requests| requests.send(request(reply)).is_ok());
    if !sent {
        return Err(gone(location));
    }
    answer.recv().unwrap_or_else(|_| Err(gone(location)))
}

/// Opens a transaction holding the setup lock of `address`'s schema, and creates the schema
/// if absent: what every setup of a schema starts with, so that nodes setting up at once
/// take turns. The caller ends the transaction.
async fn begin_setup(client: &Client, address: &Address) -> Result<(), tokio_postgres::Error> {
    client.batch_execute("BEGIN").await?;
    client.batch_execute(SETUP_LOCK_TIMEOUT).await?;
    let schema = address.schema.as_deref();
    client
        .execute(
            "SELECT pg_advisory_xact_lock($1::integer, hashtext($2::text))",
            &[&SETUP_LOCK, &schema.unwrap_or("")],
        )
        .await?;
    if let Some(schema) = schema {
        // Only when absent: CREATE SCHEMA IF NOT EXISTS would still need the right to create.
        let exists = client
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
            .await?
            .is_some();
        if !exists {
            client
                .batch_execute(&format!("CREATE SCHEMA {}", quoted(schema)))
                .await?;
        }
    }
    Ok(())
}

/// Ends the setup transaction: commits what `outcome` says succeeded, or rolls it back.
async fn end_setup<T>(
    client: &Client,
    location: &str,
    outcome: Result<T, StoreError>,
) -> Result<T, StoreError> {
    match outcome {
        Ok(value) => {
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| pg_error(location, "commit the schema setup", e))?;
            Ok(value)
        }
        Err(error) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(error)
        }
    }
}

/// Brings the schema up to the newest of [`POSTGRES_MIGRATIONS`], all in one transaction
/// under the setup lock, or refuses a database from a newer build.
async fn migrate(client: &Client, address: &Address) -> Result<(), StoreError> {
    let location = address.location.as_str();
    let fail = |step: &str| {
        let step = step.to_owned();
        move |e: tokio_postgres::Error| pg_error(location, step, e)
    };
    let outcome = async {
        begin_setup(client, address)
            .await
            .map_err(fail("lock the schema for migration"))?;
        client
            .batch_execute(migrations::CREATE_SCHEMA_MIGRATIONS)
            .await
            .map_err(fail("create schema_migrations"))?;
        let applied = client
            .query(migrations::SELECT_APPLIED, &[])
            .await
            .map_err(fail("read schema_migrations"))?
            .iter()
            .map(|row| column::<i32>(row, 0, location, "read schema_migrations").map(i64::from))
            .collect::<Result<Vec<i64>, _>>()?;
        for migration in migrations::pending(POSTGRES_MIGRATIONS, &applied, location)? {
            let version = migration.version;
            let step =
                |what: &str| format!("migration {version} ({}): {what}", migration.description);
            for (i, statement) in migration.statements.iter().enumerate() {
                client
                    .batch_execute(statement)
                    .await
                    .map_err(|e| pg_error(location, step(&format!("statement {}", i + 1)), e))?;
            }
            let recorded = i32::try_from(version).expect("migration versions are small");
            client
                .execute(
                    migrations::RECORD_APPLIED,
                    &[
                        &recorded,
                        &migration.description,
                        &jiff::Timestamp::now().as_microsecond(),
                    ],
                )
                .await
                .map_err(|e| pg_error(location, step("record"), e))?;
            tracing::info!(
                location,
                version,
                description = migration.description,
                "applied schema migration"
            );
        }
        Ok(())
    }
    .await;
    end_setup(client, location, outcome).await
}

// ---------------------------------------------------------------------------------------------
// The job store

/// A job store in a PostgreSQL database; see the [module](self) docs.
///
/// ```no_run
/// use std::sync::Arc;
/// use cimjob_store::{lease::{Membership, DEFAULT_LEASE}, postgres::PostgresStore, Batch, Store};
/// # async fn demo() -> Result<(), cimjob_store::StoreError> {
/// let url = "postgres://cimjob@db.example/cimjob?search_path=jobs";
/// let node = Membership::new("node-a", DEFAULT_LEASE);
/// let store: Arc<dyn Store> = Arc::new(PostgresStore::open(url, &node)?);
/// let loaded = store.load()?;
/// store
///     .commit(Batch { last_local_id: Some(loaded.last_local_id + 1), ..Batch::default() })
///     .await?; // durable from here on
/// store.close();
/// # Ok(()) }
/// ```
pub struct PostgresStore {
    location: String,
    /// `None` once closed; dropping the sender is what tells the writer to finish.
    queue: Mutex<Option<mpsc::UnboundedSender<Queued>>>,
    /// Disconnects when the writer has finished; held while waiting, so every `close`
    /// returns only after the flush.
    writer_done: Mutex<Option<std_mpsc::Receiver<()>>>,
    /// The reads; dropped (ending the thread) only when the store is.
    reads: Option<mpsc::UnboundedSender<Read>>,
    thread: Option<thread::JoinHandle<()>>,
    counters: Arc<Counters>,
    tenure: Arc<Tenure>,
    notices: Notices,
}

impl PostgresStore {
    /// Connects to the database at `url` (see the [module](self) docs), creates the schema
    /// named by `search_path` if absent, brings the store's tables up to date, and starts the
    /// connections' thread. Blocking; callable from any thread, a tokio worker included.
    ///
    /// Refuses a database whose schema is newer than this build knows
    /// ([`StoreError::SchemaTooNew`]) and an address it cannot use
    /// ([`StoreError::BadLocation`]).
    pub fn open(url: &str, membership: &Membership) -> Result<PostgresStore, StoreError> {
        if membership.lease < MIN_LEASE {
            return Err(StoreError::BadLocation {
                location: without_password(url),
                problem: format!(
                    "a lease of {:?} is shorter than {MIN_LEASE:?}",
                    membership.lease
                ),
            });
        }
        let mut address = Address::parse(url)?;
        // a node frozen inside a transaction must not hold its locks (its lease row's among
        // them, which a takeover updates) past its lease: the server ends such a session
        let idle = membership.lease.mul_f64(1.0 - lease::TRUST_SHARE);
        address.set(&format!(
            "idle_in_transaction_session_timeout={}",
            idle.as_millis().max(100)
        ));
        let address = Arc::new(address);
        let membership = membership.clone();
        let location = address.location.clone();
        let counters = Arc::new(Counters::default());
        let (queue, queued) = mpsc::unbounded_channel();
        let (reads, asked) = mpsc::unbounded_channel();
        let (finished, writer_done) = std_mpsc::channel();
        let writer_counters = Arc::clone(&counters);
        let opening = Arc::clone(&address);
        let (tenure_out, tenure_in) = std_mpsc::sync_channel(1);
        let (raisers, notices) = calls::notices();
        let thread = start_thread(
            "cimjob-store-postgres",
            &location,
            move || async move {
                let address = opening;
                let (client, driver) = connect(&address).await?;
                migrate(&client, &address).await?;
                let sent = std::time::Instant::now();
                let schema = address.schema.as_deref();
                let pool = calls::channel(schema);
                let incarnation =
                    lease::join(&client, schema, &membership, &pool, &address.location).await?;
                let tenure = Arc::new(Tenure::new(membership, incarnation, sent));
                let write = Live::<WriteStatements>::prepared(client, driver, &address).await?;
                let (client, driver) = connect(&address).await?;
                let read = Live::<ReadStatements>::prepared(client, driver, &address).await?;
                let _ = tenure_out.send(Arc::clone(&tenure));
                Ok((write, read, tenure))
            },
            move |(write, read, tenure)| async move {
                let (stop_renewing, stopped) = tokio::sync::oneshot::channel();
                let writer = Writer {
                    location: address.location.clone(),
                    link: Link::new(Arc::clone(&address), write),
                    counters: writer_counters,
                    tenure: Arc::clone(&tenure),
                    pool: calls::channel(address.schema.as_deref()),
                    schema: address.schema.clone(),
                    unseen: Default::default(),
                };
                let reader = Reader {
                    location: address.location.clone(),
                    link: Link::new(Arc::clone(&address), read),
                    node: tenure.membership.node.clone(),
                    schema: address.schema.clone(),
                    incarnation: tenure.incarnation,
                };
                let node = tenure.membership.node.clone();
                // a thread of its own, connecting on its own runtime: a busy writer (a long
                // group to plan, a claim) never holds up a renewal, so load never costs a
                // node its lease
                let renewer = Renewer {
                    link: Link {
                        address: Arc::clone(&address),
                        live: None,
                    },
                    tenure,
                };
                let renewing = thread::Builder::new()
                    .name("cimjob-store-lease".into())
                    .spawn(move || {
                        match tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            Ok(runtime) => runtime.block_on(renewer.run(stopped)),
                            Err(error) => {
                                // never renewed: trust ends and the node stops, as it must
                                tracing::error!(%error, "cannot start the lease's runtime");
                            }
                        }
                    });
                let (stop_listening, listening) = tokio::sync::oneshot::channel();
                let writing = async move {
                    writer.run(queued, finished).await;
                    let _ = stop_renewing.send(());
                    let _ = stop_listening.send(());
                };
                let listener = calls::listen(Arc::clone(&address), node, raisers, listening);
                tokio::join!(writing, reader.run(asked), listener);
                if let Ok(renewing) = renewing {
                    // told to stop with the writer: it ends within one renewal
                    let _ = renewing.join();
                }
            },
        )?;
        let tenure = tenure_in.recv().map_err(|_| gone(&location))?;
        Ok(PostgresStore {
            location,
            queue: Mutex::new(Some(queue)),
            writer_done: Mutex::new(Some(writer_done)),
            reads: Some(reads),
            thread: Some(thread),
            counters,
            tenure,
            notices,
        })
    }

    /// This node's lease: its incarnation and where it stands, for whoever must stop acting
    /// once it is lost.
    pub fn tenure(&self) -> &Tenure {
        &self.tenure
    }

    /// The database's URL without its password, for log lines and diagnostics.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// What the writer has done so far.
    pub fn counts(&self) -> CommitCounts {
        self.counters.counts()
    }

    fn read<T>(&self, request: impl FnOnce(Reply<T>) -> Read) -> Result<T, StoreError> {
        ask(self.reads.as_ref(), &self.location, request)
    }

    /// Asks the writer for a claim, after the batches queued before it.
    fn claim_in_order<T>(
        &self,
        request: impl FnOnce(Reply<T>) -> ClaimRequest,
    ) -> Result<T, StoreError> {
        let queue = lock(&self.queue).clone();
        ask(queue.as_ref(), &self.location, |reply| {
            Queued::Claim(request(reply))
        })
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl Store for PostgresStore {
    fn load(&self) -> Result<Loaded, StoreError> {
        self.read(Read::Load)
    }

    fn shared(&self) -> bool {
        true
    }

    fn claim(&self, claim: Claim) -> Result<Claimed, StoreError> {
        self.claim_in_order(|reply| ClaimRequest::Claim(claim, reply))
    }

    fn reserve_local_ids(
        &self,
        count: u64,
    ) -> Result<Option<std::ops::RangeInclusive<u64>>, StoreError> {
        let count = count.max(1);
        self.claim_in_order(|reply| ClaimRequest::LocalIds(count, reply))
            .map(Some)
    }

    fn rescue(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.claim_in_order(ClaimRequest::Rescue)
    }

    fn send_call(&self, node: &str, local_id: u64, request: &str) -> Result<u64, StoreError> {
        let local_id = to_stored_integer(local_id, "local_id", &self.location)?;
        let call = Call::Send {
            node: node.to_owned(),
            local_id,
            request: request.to_owned(),
        };
        self.read(|reply| Read::Call(call, CallReply::Number(reply)))
    }

    fn answer_of(&self, id: u64) -> Result<Option<String>, StoreError> {
        let id = to_stored_integer(id, "call", &self.location)?;
        self.read(|reply| Read::Call(Call::AnswerOf(id), CallReply::Answer(reply)))
    }

    fn withdraw_call(&self, id: u64) -> Result<(), StoreError> {
        let id = to_stored_integer(id, "call", &self.location)?;
        self.read(|reply| Read::Call(Call::Withdraw(id), CallReply::Done(reply)))
    }

    fn take_calls(&self) -> Result<Vec<(u64, u64, String)>, StoreError> {
        self.read(|reply| Read::Call(Call::Take, CallReply::Calls(reply)))
    }

    fn answer_call(&self, id: u64, answer: &str) -> Result<(), StoreError> {
        let id = to_stored_integer(id, "call", &self.location)?;
        let call = Call::Answer {
            id,
            answer: answer.to_owned(),
        };
        self.read(|reply| Read::Call(call, CallReply::Done(reply)))
    }

    fn hold_role(&self, role: &str) -> Result<bool, StoreError> {
        let call = Call::HoldRole(role.to_owned());
        self.read(|reply| Read::Call(call, CallReply::Held(reply)))
    }

    fn notices(&self) -> Option<Notices> {
        Some(self.notices.clone())
    }

    fn jobs(&self, local_ids: &[u64]) -> Result<Vec<JobRecord>, StoreError> {
        let keys = local_ids
            .iter()
            .map(|&id| to_stored_integer(id, "local_id", &self.location))
            .collect::<Result<Vec<i64>, _>>()?;
        self.read(|reply| Read::Jobs { keys, reply })
    }

    fn jobs_after(&self, after: u64, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        let after = to_stored_integer(after, "local_id", &self.location)?;
        let keys = vec![after, sql::limit_of(limit)];
        self.read(|reply| Read::Page {
            page: Page::ByLocalId,
            keys,
            reply,
        })
    }

    fn ready_after(
        &self,
        after: Option<(u32, u64)>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let (priority, id) = sql::ready_after_keys(after, &self.location)?;
        let keys = vec![priority, id, sql::limit_of(limit)];
        self.read(|reply| Read::Page {
            page: Page::Ready,
            keys,
            reply,
        })
    }

    fn waking(
        &self,
        after: Option<(jiff::Timestamp, u64)>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let (at, id) = sql::waking_keys(after, &self.location)?;
        let keys = vec![at, id, sql::limit_of(limit)];
        self.read(|reply| Read::Page {
            page: Page::Waking,
            keys,
            reply,
        })
    }

    fn commit(&self, batch: Batch) -> CommitTicket {
        writer::enqueue(&self.queue, batch, &self.location)
    }

    fn runs(&self, local_id: u64) -> Result<Vec<RunRecord>, StoreError> {
        let key = to_stored_integer(local_id, "local_id", &self.location)?;
        self.read(|reply| Read::Runs {
            local_id,
            key,
            reply,
        })
    }

    fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        let after = to_stored_integer(after, "change seq", &self.location)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|reply| Read::Changes {
            after,
            limit,
            reply,
        })
    }

    fn position(&self, consumer: &str) -> Result<Option<u64>, StoreError> {
        self.read(|reply| Read::Position {
            consumer: consumer.to_owned(),
            reply,
        })
    }

    fn positions(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.read(Read::Positions)
    }

    fn census(&self) -> Result<crate::Census, StoreError> {
        self.read(Read::Census)
    }

    fn close(&self) {
        // Dropping the only sender lets the writer drain the queue and then stop.
        drop(lock(&self.queue).take());
        let mut writer_done = lock(&self.writer_done);
        if let Some(finished) = writer_done.take() {
            // Disconnected (never a value) once the writer has resolved every ticket.
            let _ = finished.recv();
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.close();
        drop(self.reads.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!(
                    location = %self.location,
                    "the job store's PostgreSQL thread panicked; unacknowledged batches may be lost"
                );
            }
        }
    }
}

/// The writer's statements, prepared on each new write connection.
struct WriteStatements {
    begin: Statement,
    commit: Statement,
    rollback: Statement,
    savepoint: Statement,
    release: Statement,
    rollback_to: Statement,
    upsert_held_job: Statement,
    upsert_run: Statement,
    delete_runs: Statement,
    delete_job: Statement,
    append_changes: Statement,
    give_back: Statement,
    claim_ready: Statement,
    claim_waking: Statement,
    claim_job: Statement,
    holder_of: Statement,
    reserve_local_ids: Statement,
    set_position: Statement,
    forget_position: Statement,
    select_last_change: Statement,
    select_lowest_position: Statement,
    prune_changes: Statement,
    raise_last_local_id: Statement,
    fence: Statement,
}

impl Prepare for WriteStatements {
    async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        // a ticket resolves Ok only once the commit is on disk, whatever the server's default;
        // and a transaction this connection left open when its client side was lost (a claim
        // waits for its rows before COMMIT) is ended by the server, never holding its rows
        client
            .batch_execute(
                "SET synchronous_commit = on; SET idle_in_transaction_session_timeout = '10s'",
            )
            .await?;
        Ok(WriteStatements {
            begin: client.prepare("BEGIN").await?,
            commit: client.prepare("COMMIT").await?,
            rollback: client.prepare("ROLLBACK").await?,
            savepoint: client.prepare("SAVEPOINT batch").await?,
            release: client.prepare("RELEASE SAVEPOINT batch").await?,
            rollback_to: client.prepare("ROLLBACK TO SAVEPOINT batch").await?,
            upsert_held_job: client.prepare(claims::UPSERT_HELD_JOB).await?,
            upsert_run: client.prepare(sql::UPSERT_RUN).await?,
            delete_runs: client.prepare(sql::DELETE_RUNS).await?,
            delete_job: client.prepare(sql::DELETE_JOB).await?,
            append_changes: client.prepare(claims::APPEND_CHANGES).await?,
            give_back: client.prepare(claims::RELEASE).await?,
            claim_ready: client.prepare(claims::CLAIM_READY).await?,
            claim_waking: client.prepare(claims::CLAIM_WAKING).await?,
            claim_job: client.prepare(claims::CLAIM_JOB).await?,
            holder_of: client.prepare(claims::HOLDER_OF).await?,
            reserve_local_ids: client.prepare(claims::RESERVE_LOCAL_IDS).await?,
            set_position: client.prepare(sql::SET_POSITION).await?,
            forget_position: client.prepare(sql::FORGET_POSITION).await?,
            select_last_change: client.prepare(sql::SELECT_LAST_CHANGE).await?,
            select_lowest_position: client.prepare(sql::SELECT_LOWEST_POSITION).await?,
            prune_changes: client.prepare(sql::PRUNE_CHANGES).await?,
            raise_last_local_id: client.prepare(sql::RAISE_LAST_LOCAL_ID).await?,
            fence: client.prepare(lease::FENCE).await?,
        })
    }
}

/// One statement of a pipeline, with what it is for (the step a failure names).
struct Request<'a> {
    /// Which of the batch's operations, or `None` for the savepoint around them (and the
    /// changes appended together).
    op: Option<usize>,
    statement: &'a Statement,
    params: Vec<&'a (dyn ToSql + Sync)>,
}

/// Who writes, as the write statements name it: this node, and the channel on which the
/// other nodes hear of jobs it gives back.
struct Writing<'a> {
    node: &'a String,
    pool: &'a String,
}

/// The changes of a group (or batch), as [`claims::APPEND_CHANGES`]'s arrays.
#[derive(Default)]
struct ChangeArrays<'a> {
    at_us: Vec<i64>,
    job: Vec<i64>,
    kind: Vec<i32>,
    docs: Vec<&'a [u8]>,
}

impl<'a> ChangeArrays<'a> {
    fn of(ops: &'a [Op<'_>]) -> ChangeArrays<'a> {
        let mut arrays = ChangeArrays::default();
        for op in ops {
            if let Op::RecordChange(change) = op {
                arrays.at_us.push(change.at_us);
                arrays.job.push(change.job);
                arrays.kind.push(change.kind);
                arrays.docs.push(&change.docs);
            }
        }
        arrays
    }

    /// The one statement appending them, last, if there are any.
    fn request(&'a self, s: &'a WriteStatements) -> Option<Request<'a>> {
        (!self.job.is_empty()).then(|| Request {
            op: None,
            statement: &s.append_changes,
            params: vec![&self.at_us, &self.job, &self.kind, &self.docs],
        })
    }
}

/// The statements that carry out `op` (but [`Op::Prune`], which reads before it writes, and
/// the changes, which [`ChangeArrays`] appends together).
fn requests_of<'a>(
    statements: &'a WriteStatements,
    writing: &Writing<'a>,
    index: usize,
    op: &'a Op<'_>,
    requests: &mut Vec<Request<'a>>,
) {
    let s = statements;
    let mut push = |statement: &'a Statement, params: Vec<&'a (dyn ToSql + Sync)>| {
        requests.push(Request {
            op: Some(index),
            statement,
            params,
        });
    };
    match op {
        Op::UpsertJob { row, updated_at } => push(
            &s.upsert_held_job,
            vec![
                &row.local_id,
                &row.job_state,
                &row.priority,
                &row.owner,
                &row.document,
                &row.settled,
                &row.ready,
                &row.wake_us,
                updated_at,
                writing.node,
            ],
        ),
        Op::UpsertRun(run) => push(
            &s.upsert_run,
            vec![
                &run.local_id,
                &run.run_number,
                &run.started_at_us,
                &run.ended_at_us,
                &run.exit_status,
                &run.signal,
                &run.error_code,
                &run.error_description,
                &run.final_state,
            ],
        ),
        Op::DeleteJob { local_id } => {
            push(&s.delete_runs, vec![local_id]);
            push(&s.delete_job, vec![local_id]);
        }
        // numbered by the database, together, last (see `ChangeArrays`)
        Op::RecordChange(_) | Op::RaiseLastChange(_) => {}
        Op::Release(ids) => push(&s.give_back, vec![ids, writing.node, writing.pool]),
        Op::SetPosition { consumer, seq } => push(&s.set_position, vec![consumer, seq]),
        Op::ForgetPosition { consumer } => push(&s.forget_position, vec![consumer]),
        Op::RaiseLastLocalId(mark) => push(&s.raise_last_local_id, vec![mark]),
        Op::Prune => {}
    }
}

/// How one try of a group ended.
enum GroupOutcome {
    /// Committed; each batch's own outcome (one that failed was rolled back to its savepoint).
    Committed(Vec<Result<(), StoreError>>),
    /// The connection was lost before `COMMIT` was sent: nothing committed.
    LostBefore(StoreError),
    /// The connection was lost during `COMMIT`: the batches that applied may or may not be
    /// durable; those that failed did not apply either way.
    LostInCommit(Vec<Result<(), StoreError>>),
    /// The transaction failed as a whole (not because of one batch): nothing committed.
    Failed(StoreError),
    /// This node's lease is gone (why): nothing committed, nor will anything again.
    Fenced(String),
}

/// Why a group did not commit as a whole.
enum GroupError {
    /// The database refused the transaction itself, not one batch of it: each batch may still
    /// commit alone.
    Refused(StoreError),
    /// The database could not be reached within [`RECONNECT_FOR`], or kept losing the
    /// connection before `COMMIT`: nothing committed.
    Unreachable(StoreError),
    /// This node's lease is gone (why): nothing committed.
    Fenced(String),
}

/// The writer task's state: the only connection that writes.
struct Writer {
    location: String,
    link: Link<WriteStatements>,
    counters: Arc<Counters>,
    /// The lease every transaction is fenced by.
    tenure: Arc<Tenure>,
    /// The channel on which the other nodes hear of ready jobs given back.
    pool: String,
    /// The schema, whose join lock a rescue takes.
    schema: Option<String>,
    /// What claims and rescues took while their COMMIT went unanswered, to settle.
    unseen: std::sync::Mutex<claims::Unseen>,
}

impl Writer {
    fn writing(&self) -> Writing<'_> {
        Writing {
            node: &self.tenure.membership.node,
            pool: &self.pool,
        }
    }

    /// Carries out a claim once the batches before it committed: on a lost connection once
    /// more on a new one (what a claim took unseen is settled first: see [`claims::Unseen`]).
    async fn claim(&mut self, request: ClaimRequest) {
        if let Standing::Lost(why) = self.tenure.standing() {
            return request.fail(self.fenced(why));
        }
        let (tenure, pool) = (Arc::clone(&self.tenure), self.pool.clone());
        let (schema, location) = (self.schema.clone(), self.location.clone());
        let (request, unseen) = (&request, &self.unseen);
        let outcome = self
            .link
            .retrying(|live| {
                let (tenure, pool, schema, location) = (&tenure, &pool, &schema, &location);
                async move {
                    let schema = schema.as_deref();
                    claims::serve(&live, tenure, pool, schema, request, unseen, location).await
                }
            })
            .await;
        if let Err(error) = outcome {
            tracing::warn!(location = %self.location, %error, "a claim failed");
            request.fail(error);
        }
    }

    /// The error of every batch once this node's lease is gone.
    fn fenced(&self, why: String) -> StoreError {
        StoreError::Fenced {
            location: self.location.clone(),
            node: self.tenure.membership.node.clone(),
            why,
        }
    }

    async fn run(
        mut self,
        mut queue: mpsc::UnboundedReceiver<Queued>,
        finished: std_mpsc::Sender<()>,
    ) {
        // `recv` ends only once the sender is gone and the queue is empty: that is the flush.
        while let Some(first) = queue.recv().await {
            let mut group = Vec::with_capacity(16);
            let mut claim = None;
            match first {
                Queued::Batch(pending) => group.push(pending),
                Queued::Claim(request) => claim = Some(request),
            }
            // a claim ends the group: it sees every batch before it, none after
            while claim.is_none() && group.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(Queued::Batch(next)) => group.push(next),
                    Ok(Queued::Claim(request)) => claim = Some(request),
                    Err(_) => break,
                }
            }
            if !group.is_empty() {
                self.commit_group(group).await;
            }
            if let Some(request) = claim {
                self.claim(request).await;
            }
        }
        self.link.close().await;
        tracing::debug!(location = %self.location, "job store writer stopped");
        drop(finished);
    }

    /// Commits the group and resolves every ticket in order, each failing batch alone; if the
    /// transaction fails as a whole, tries again one batch per transaction.
    async fn commit_group(&mut self, group: Vec<Pending>) {
        let error = match self.commit_together(&group).await {
            Ok(outcomes) => return self.resolve(group, outcomes),
            Err(GroupError::Unreachable(error)) => return self.fail_all(group, error),
            Err(GroupError::Fenced(why)) => return self.fence_all(group, &why),
            Err(GroupError::Refused(error)) if group.len() == 1 => {
                return self.resolve(group, vec![Err(error)]);
            }
            Err(GroupError::Refused(error)) => error,
        };
        tracing::warn!(
            location = %self.location,
            batches = group.len(),
            %error,
            "grouped commit failed; retrying one batch per transaction"
        );
        let mut group = group.into_iter();
        while let Some(pending) = group.next() {
            match self.commit_together(std::slice::from_ref(&pending)).await {
                Ok(outcomes) => self.resolve(vec![pending], outcomes),
                Err(GroupError::Refused(error)) => self.resolve(vec![pending], vec![Err(error)]),
                Err(GroupError::Unreachable(error)) => {
                    // Waiting again for each batch would only delay the same answer.
                    return self.fail_all(std::iter::once(pending).chain(group).collect(), error);
                }
                Err(GroupError::Fenced(why)) => {
                    return self.fence_all(std::iter::once(pending).chain(group).collect(), &why);
                }
            }
        }
    }

    /// Fails every batch of the group with `error` (the database cannot be reached).
    fn fail_all(&self, group: Vec<Pending>, error: StoreError) {
        let outcomes = group
            .iter()
            .map(|_| {
                Err(database_error(
                    &self.location,
                    "commit",
                    format!("nothing was committed: {error}"),
                ))
            })
            .collect();
        self.resolve(group, outcomes);
    }

    /// Fails every batch of the group: this node may write no more.
    fn fence_all(&self, group: Vec<Pending>, why: &str) {
        let outcomes = group
            .iter()
            .map(|_| Err(self.fenced(why.to_owned())))
            .collect();
        self.resolve(group, outcomes);
    }

    /// Resolves the tickets in submission order.
    fn resolve(&self, group: Vec<Pending>, outcomes: Vec<Result<(), StoreError>>) {
        for (pending, outcome) in group.into_iter().zip(outcomes) {
            match &outcome {
                Ok(()) => self.counters.committed(1),
                Err(error) => {
                    tracing::warn!(location = %self.location, %error, "job store batch failed");
                    self.counters.failed();
                }
            }
            pending.done.complete(outcome);
        }
    }

    /// The outcome of each batch of the group, committed in one transaction (reconnecting and
    /// trying again if the connection was lost before `COMMIT`), or why the transaction as a
    /// whole failed.
    async fn commit_together(
        &mut self,
        group: &[Pending],
    ) -> Result<Vec<Result<(), StoreError>>, GroupError> {
        if group.iter().all(|pending| pending.batch.is_empty()) {
            return Ok(group.iter().map(|_| Ok(())).collect());
        }
        let mut tries = 0;
        loop {
            tries += 1;
            let live = self
                .link
                .live(RECONNECT_FOR)
                .await
                .map_err(GroupError::Unreachable)?;
            match self.try_group(&live, group).await {
                GroupOutcome::Committed(outcomes) => {
                    self.counters.transaction();
                    tracing::trace!(location = %self.location, batches = group.len(), "group committed");
                    return Ok(outcomes);
                }
                GroupOutcome::LostInCommit(outcomes) => {
                    tracing::warn!(
                        location = %self.location,
                        batches = group.len(),
                        "PostgreSQL connection lost during COMMIT; the group's outcome is unknown"
                    );
                    self.link.lost();
                    let unknown =
                        |outcome: Result<(), StoreError>| outcome.and(Err(StoreError::Unconfirmed));
                    return Ok(outcomes.into_iter().map(unknown).collect());
                }
                GroupOutcome::LostBefore(error) => {
                    self.link.lost();
                    if tries >= GROUP_TRIES {
                        return Err(GroupError::Unreachable(error));
                    }
                    tracing::info!(
                        location = %self.location,
                        %error,
                        "PostgreSQL connection lost before COMMIT; trying the group again"
                    );
                }
                GroupOutcome::Failed(error) => return Err(GroupError::Refused(error)),
                GroupOutcome::Fenced(why) => return Err(GroupError::Fenced(why)),
            }
        }
    }

    /// One transaction for the group, each batch in its own savepoint.
    async fn try_group(&self, live: &Live<WriteStatements>, group: &[Pending]) -> GroupOutcome {
        if let Standing::Lost(why) = self.tenure.standing() {
            return GroupOutcome::Fenced(why);
        }
        let now = jiff::Timestamp::now().as_microsecond();
        if let Some(outcome) = self.try_group_at_once(live, group, now).await {
            return outcome;
        }
        self.try_group_by_batch(live, group, now).await
    }

    /// The common case in one round trip before `COMMIT`: BEGIN, the fence and every batch's
    /// statements in one pipeline, no savepoints. `None` (everything rolled back) when a batch
    /// failed or cannot go this way (a prune reads before it writes; a batch that cannot be
    /// planned), so that [`try_group_by_batch`](Self::try_group_by_batch) fails it alone.
    async fn try_group_at_once(
        &self,
        live: &Live<WriteStatements>,
        group: &[Pending],
        now: i64,
    ) -> Option<GroupOutcome> {
        let location = self.location.as_str();
        let (client, s) = (&live.client, &live.statements);
        let mut ops = Vec::new();
        for pending in group {
            ops.extend(sql::plan(&pending.batch, now, location).ok()?);
        }
        if ops.iter().any(|op| matches!(op, Op::Prune)) {
            return None;
        }
        let writing = self.writing();
        let changes = ChangeArrays::of(&ops);
        let mut requests = Vec::new();
        for (index, op) in ops.iter().enumerate() {
            requests_of(s, &writing, index, op, &mut requests);
        }
        requests.extend(changes.request(s));
        let node = &self.tenure.membership.node;
        let incarnation = &self.tenure.incarnation;
        let token: [&(dyn ToSql + Sync); 2] = [node, incarnation];
        type Sent<'a> =
            std::pin::Pin<Box<dyn Future<Output = Result<bool, tokio_postgres::Error>> + 'a>>;
        let mut sent: Vec<Sent<'_>> = vec![
            Box::pin(async { client.query_opt(&s.begin, &[]).await.map(|_| true) }),
            Box::pin(async {
                client
                    .query_opt(&s.fence, &token)
                    .await
                    .map(|row| row.is_some())
            }),
        ];
        for request in &requests {
            sent.push(Box::pin(async move {
                client
                    .execute(request.statement, &request.params)
                    .await
                    .map(|_| true)
            }));
        }
        let answers = in_order(sent).await;
        let mut refused = None;
        for (i, answer) in answers.into_iter().enumerate() {
            let step = || match i {
                0 => "begin".to_owned(),
                1 => "check the lease".to_owned(),
                i => requests[i - 2]
                    .op
                    .map_or_else(|| "append the changes".to_owned(), |op| ops[op].step()),
            };
            match answer {
                Ok(true) => {}
                Ok(false) => return Some(self.refuse_fenced(live).await),
                Err(e) => match failure(client, location, step(), e) {
                    Failure::Lost(error) => return Some(GroupOutcome::LostBefore(error)),
                    Failure::Refused(error) if i == 0 => return Some(GroupOutcome::Failed(error)),
                    Failure::Refused(error) => {
                        refused.get_or_insert(error);
                    }
                },
            }
        }
        if let Some(error) = refused {
            tracing::debug!(location, %error, "a batch of the group failed; applying them one by one");
            return match client.execute(&s.rollback, &[]).await {
                Ok(_) => None,
                Err(e) => match failure(client, location, "roll back", e) {
                    Failure::Lost(error) => Some(GroupOutcome::LostBefore(error)),
                    Failure::Refused(error) => Some(GroupOutcome::Failed(error)),
                },
            };
        }
        Some(commit(live, location, group.iter().map(|_| Ok(())).collect()).await)
    }

    /// The fence found this node's lease gone: nothing of the group is written, nor anything
    /// again.
    async fn refuse_fenced(&self, live: &Live<WriteStatements>) -> GroupOutcome {
        let _ = live.client.execute(&live.statements.rollback, &[]).await;
        let why = "its lease lapsed or another node took over".to_owned();
        self.tenure.lost(why.clone());
        GroupOutcome::Fenced(why)
    }

    /// A group batch by batch, each in a savepoint, so a batch that fails fails alone and its
    /// neighbours commit.
    async fn try_group_by_batch(
        &self,
        live: &Live<WriteStatements>,
        group: &[Pending],
        now: i64,
    ) -> GroupOutcome {
        let location = self.location.as_str();
        let (client, s) = (&live.client, &live.statements);
        let node = &self.tenure.membership.node;
        let incarnation = &self.tenure.incarnation;
        let token: [&(dyn ToSql + Sync); 2] = [node, incarnation];
        let opening = [
            client.query_opt(&s.begin, &[]),
            client.query_opt(&s.fence, &token),
        ];
        let [begun, fence] = <[_; 2]>::try_from(in_order(opening.into()).await)
            .unwrap_or_else(|_| unreachable!("two requests, two answers"));
        let answer = begun.and(fence);
        match answer {
            Ok(Some(_)) => {}
            Ok(None) => return self.refuse_fenced(live).await,
            Err(e) => {
                return match failure(client, location, "begin", e) {
                    Failure::Lost(error) => GroupOutcome::LostBefore(error),
                    Failure::Refused(error) => GroupOutcome::Failed(error),
                }
            }
        }
        let mut outcomes = Vec::with_capacity(group.len());
        for pending in group {
            let ops = match sql::plan(&pending.batch, now, location) {
                Ok(ops) => ops,
                Err(error) => {
                    outcomes.push(Err(error));
                    continue;
                }
            };
            if ops.is_empty() {
                outcomes.push(Ok(()));
                continue;
            }
            match apply_batch(live, &self.writing(), &ops, location).await {
                Ok(()) => outcomes.push(Ok(())),
                Err(Failure::Lost(error)) => return GroupOutcome::LostBefore(error),
                Err(Failure::Refused(error)) => {
                    let undo = [&s.rollback_to, &s.release].map(|st| client.execute(st, &[]));
                    let undone = in_order(undo.into())
                        .await
                        .into_iter()
                        .find_map(Result::err);
                    match undone.map(|e| failure(client, location, "roll back a failed batch", e)) {
                        None => outcomes.push(Err(error)),
                        Some(Failure::Lost(error)) => return GroupOutcome::LostBefore(error),
                        Some(Failure::Refused(undo_error)) => {
                            let _ = client.execute(&s.rollback, &[]).await;
                            return GroupOutcome::Failed(undo_error);
                        }
                    }
                }
            }
        }
        commit(live, location, outcomes).await
    }
}

/// Commits the writer's transaction, whose batches had `outcomes`.
async fn commit(
    live: &Live<WriteStatements>,
    location: &str,
    outcomes: Vec<Result<(), StoreError>>,
) -> GroupOutcome {
    match live.client.execute(&live.statements.commit, &[]).await {
        Ok(_) => GroupOutcome::Committed(outcomes),
        Err(e) => match failure(&live.client, location, "commit", e) {
            Failure::Lost(_) => GroupOutcome::LostInCommit(outcomes),
            Failure::Refused(error) => GroupOutcome::Failed(error),
        },
    }
}

/// Applies one batch inside the writer's transaction, in its own savepoint, its statements
/// pipelined (a prune waits for what came before it, since it reads the record first).
async fn apply_batch(
    live: &Live<WriteStatements>,
    writing: &Writing<'_>,
    ops: &[Op<'_>],
    location: &str,
) -> Result<(), Failure> {
    let s = &live.statements;
    let around = |statement| Request {
        op: None,
        statement,
        params: Vec::new(),
    };
    let changes = ChangeArrays::of(ops);
    let mut requests = vec![around(&s.savepoint)];
    let mut pruning = None;
    for (index, op) in ops.iter().enumerate() {
        match op {
            Op::Prune => pruning = Some(op.step()),
            op => requests_of(s, writing, index, op, &mut requests),
        }
    }
    // the changes last (after the LocalID mark: every transaction locks the two marks in
    // that order, so two nodes' never deadlock), and the prune reads the record they leave
    requests.extend(changes.request(s));
    pipeline(live, requests, ops, location).await?;
    if let Some(step) = pruning {
        prune(live, &step, location).await?;
    }
    pipeline(live, vec![around(&s.release)], ops, location).await
}

/// Sends the requests as one pipeline and waits for every answer. The first failure in order
/// is the one that counts (those after it fail only because the transaction is aborted),
/// unless the connection was lost.
async fn pipeline(
    live: &Live<WriteStatements>,
    requests: Vec<Request<'_>>,
    ops: &[Op<'_>],
    location: &str,
) -> Result<(), Failure> {
    let client = &live.client;
    let sent = requests
        .iter()
        .map(|request| client.execute(request.statement, &request.params));
    let answers = in_order(sent.collect()).await;
    let mut first = None;
    for (request, answer) in requests.iter().zip(answers) {
        let step = || match request.op {
            Some(index) => ops[index].step(),
            None => "the batch's savepoint or changes".into(),
        };
        if let Err(error) = answer {
            let failed = failure(client, location, step(), error);
            match failed {
                Failure::Lost(_) => return Err(failed),
                Failure::Refused(_) => {
                    first.get_or_insert(failed);
                }
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// Forgets the changes no consumer needs any more (see [`sql::prune_through`]), as the record
/// and the positions stand at this point of the transaction.
async fn prune(live: &Live<WriteStatements>, step: &str, location: &str) -> Result<(), Failure> {
    let (client, s) = (&live.client, &live.statements);
    let reads =
        [&s.select_last_change, &s.select_lowest_position].map(|st| client.query_one(st, &[]));
    let mut rows = Vec::with_capacity(2);
    for answer in in_order(reads.into()).await {
        rows.push(answer.map_err(|e| failure(client, location, step, e))?);
    }
    let last: i64 = column(&rows[0], 0, location, step).map_err(Failure::Refused)?;
    let lowest: Option<i64> = column(&rows[1], 0, location, step).map_err(Failure::Refused)?;
    if let Some(through) = sql::prune_through(last, lowest) {
        client
            .execute(&s.prune_changes, &[&through])
            .await
            .map_err(|e| failure(client, location, step, e))?;
    }
    Ok(())
}

/// A call between nodes, as the reader carries it out (see [`calls`]).
enum Call {
    Send {
        node: String,
        local_id: i64,
        request: String,
    },
    AnswerOf(i64),
    Withdraw(i64),
    Take,
    Answer {
        id: i64,
        answer: String,
    },
    HoldRole(String),
}

/// Where a [`Call`]'s outcome goes.
enum CallReply {
    Number(Reply<u64>),
    Answer(Reply<Option<String>>),
    Done(Reply<()>),
    Calls(Reply<Vec<(u64, u64, String)>>),
    Held(Reply<bool>),
}

/// A read, with where its answer goes.
enum Read {
    Call(Call, CallReply),
    Load(Reply<Loaded>),
    Runs {
        local_id: u64,
        key: i64,
        reply: Reply<Vec<RunRecord>>,
    },
    Changes {
        after: i64,
        limit: i64,
        reply: Reply<Vec<ChangeRecord>>,
    },
    Position {
        consumer: String,
        reply: Reply<Option<u64>>,
    },
    Positions(Reply<Vec<(String, u64)>>),
    Census(Reply<crate::Census>),
    Jobs {
        keys: Vec<i64>,
        reply: Reply<Vec<JobRecord>>,
    },
    Page {
        page: Page,
        /// The statement's parameters, in order: where the page starts, then its limit.
        keys: Vec<i64>,
        reply: Reply<Vec<JobRecord>>,
    },
}

/// Which ordered page of jobs a [`Read::Page`] reads.
#[derive(Clone, Copy)]
enum Page {
    /// [`sql::SELECT_JOBS_AFTER`].
    ByLocalId,
    /// [`sql::SELECT_READY_AFTER`].
    Ready,
    /// [`sql::SELECT_WAKING`].
    Waking,
}

impl Page {
    fn statement(self, s: &ReadStatements) -> &Statement {
        match self {
            Page::ByLocalId => &s.select_jobs_after,
            Page::Ready => &s.select_ready_after,
            Page::Waking => &s.select_waking,
        }
    }

    fn step(self) -> &'static str {
        match self {
            Page::ByLocalId => "read a page of jobs",
            Page::Ready => "read the next ready jobs",
            Page::Waking => "read the jobs whose time comes",
        }
    }
}

/// Every job in play this node `$1` holds (the join made it the holder of those it takes
/// over), ordered by LocalID: a starting node's jobs.
const SELECT_HELD_IN_PLAY: &str = "SELECT local_id, job_state, priority, owner, document, \
     settled, ready, wake_us FROM jobs \
     WHERE holder = $1 AND settled = 0 AND ready = 0 AND wake_us IS NULL ORDER BY local_id";

/// The reads' statements, prepared on each new read connection.
struct ReadStatements {
    begin_snapshot: Statement,
    end_snapshot: Statement,
    select_jobs_in_play: Statement,
    select_ready_after: Statement,
    select_waking: Statement,
    select_highest_local_id: Statement,
    select_jobs_among: Statement,
    select_jobs_after: Statement,
    select_last_local_id: Statement,
    select_last_change: Statement,
    select_runs: Statement,
    select_changes: Statement,
    select_position: Statement,
    select_positions: Statement,
    select_census: Statement,
}

impl Prepare for ReadStatements {
    async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        Ok(ReadStatements {
            begin_snapshot: client
                .prepare("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?,
            end_snapshot: client.prepare("COMMIT").await?,
            select_jobs_in_play: client.prepare(SELECT_HELD_IN_PLAY).await?,
            select_ready_after: client.prepare(sql::SELECT_READY_AFTER).await?,
            select_waking: client.prepare(sql::SELECT_WAKING).await?,
            select_highest_local_id: client.prepare(sql::SELECT_HIGHEST_LOCAL_ID).await?,
            select_jobs_among: client.prepare(sql::SELECT_JOBS_AMONG).await?,
            select_jobs_after: client.prepare(sql::SELECT_JOBS_AFTER).await?,
            select_last_local_id: client.prepare(sql::SELECT_LAST_LOCAL_ID).await?,
            select_last_change: client.prepare(sql::SELECT_LAST_CHANGE).await?,
            select_runs: client.prepare(sql::SELECT_RUNS).await?,
            select_changes: client.prepare(sql::SELECT_CHANGES).await?,
            select_position: client.prepare(sql::SELECT_POSITION).await?,
            select_positions: client.prepare(sql::SELECT_POSITIONS).await?,
            select_census: client.prepare(sql::SELECT_CENSUS).await?,
        })
    }
}

/// A connection that needs no prepared statements (the renewer's: it runs two, seldom).
struct NoStatements;

impl Prepare for NoStatements {
    async fn prepare(_client: &Client) -> Result<Self, tokio_postgres::Error> {
        Ok(NoStatements)
    }
}

/// The renewer task's state: its own connection, so a renewal never waits behind a group.
struct Renewer {
    link: Link<NoStatements>,
    tenure: Arc<Tenure>,
}

impl Renewer {
    /// Renews the lease every [`Membership::renew_every`] (a failed renewal is tried again
    /// sooner) until the store closes or the lease is lost: lost when the database says it is
    /// gone, or when trust ended with no renewal through.
    async fn run(mut self, mut stop: tokio::sync::oneshot::Receiver<()>) {
        let every = self.tenure.membership.renew_every();
        let mut wait = every;
        loop {
            tokio::select! {
                _ = &mut stop => break,
                () = tokio::time::sleep(wait) => {}
            }
            if let Standing::Lost(why) = self.tenure.standing() {
                self.tenure.lost(why);
                break;
            }
            let sent = std::time::Instant::now();
            let tenure = &self.tenure;
            let location = Arc::clone(&self.link.address);
            let location = location.location.as_str();
            let outcome = self
                .link
                .retrying(|live| async move {
                    lease::renew(&live.client, &tenure.membership, tenure.incarnation)
                        .await
                        .map_err(|e| failure(&live.client, location, "renew the lease", e))
                })
                .await;
            match outcome {
                Ok(lease::Renewal::Renewed) => {
                    self.tenure.renewed(sent);
                    wait = every;
                }
                Ok(lease::Renewal::Gone(why)) => {
                    self.tenure.lost(why);
                    break;
                }
                Err(error) => {
                    tracing::warn!(location, %error, "cannot renew this node's lease yet");
                    wait = (every / 4).max(Duration::from_millis(100));
                }
            }
        }
        self.link.close().await;
    }
}

/// The reader task's state: the connection that reads.
struct Reader {
    location: String,
    link: Link<ReadStatements>,
    /// This node: a start loads the jobs it holds.
    node: String,
    /// The schema, whose channel the calls are told on.
    schema: Option<String>,
    /// This start of the node, which a role is held by.
    incarnation: i64,
}

impl Reader {
    async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Read>) {
        while let Some(request) = requests.recv().await {
            self.serve(request).await;
        }
        self.link.close().await;
    }

    async fn serve(&mut self, request: Read) {
        let location: &str = &self.location.clone();
        // The caller may have stopped waiting; nothing is lost by not telling it.
        match request {
            Read::Call(call, reply) => {
                let (node, channel) = (&self.node.clone(), &calls::channel(self.schema.as_deref()));
                let call = &call;
                let link = &mut self.link;
                match reply {
                    CallReply::Number(reply) => {
                        let sent = link
                            .retrying(|live| async move {
                                let Call::Send {
                                    node,
                                    local_id,
                                    request,
                                } = call
                                else {
                                    unreachable!("a call that sends")
                                };
                                calls::send(&live, channel, node, *local_id, request, location)
                                    .await
                            })
                            .await;
                        let _ = reply.send(sent);
                    }
                    CallReply::Answer(reply) => {
                        let Call::AnswerOf(id) = call else {
                            unreachable!("a read of an answer")
                        };
                        let answer = link
                            .retrying(
                                |live| async move { calls::answer_of(&live, *id, location).await },
                            )
                            .await;
                        let _ = reply.send(answer);
                    }
                    CallReply::Held(reply) => {
                        let Call::HoldRole(role) = call else {
                            unreachable!("a role's call")
                        };
                        let incarnation = self.incarnation;
                        let held = link
                            .retrying(|live| async move {
                                calls::hold_role(&live, role, node, incarnation, location).await
                            })
                            .await;
                        let _ = reply.send(held);
                    }
                    CallReply::Calls(reply) => {
                        let taken = link
                            .retrying(
                                |live| async move { calls::take(&live, node, location).await },
                            )
                            .await;
                        let _ = reply.send(taken);
                    }
                    CallReply::Done(reply) => {
                        let done = link
                            .retrying(|live| async move {
                                match call {
                                    Call::Withdraw(id) => {
                                        calls::withdraw(&live, *id, location).await
                                    }
                                    Call::Answer { id, answer } => {
                                        calls::answer(&live, channel, *id, answer, location).await
                                    }
                                    _ => unreachable!("a call with no answer"),
                                }
                            })
                            .await;
                        let _ = reply.send(done);
                    }
                }
            }
            Read::Load(reply) => {
                let node = &self.node.clone();
                let loaded = self.link.retrying(|live| load(live, node, location)).await;
                let _ = reply.send(loaded);
            }
            Read::Runs {
                local_id,
                key,
                reply,
            } => {
                let answer = self
                    .link
                    .retrying(|live| runs(live, local_id, key, location))
                    .await;
                let _ = reply.send(answer);
            }
            Read::Changes {
                after,
                limit,
                reply,
            } => {
                let answer = self
                    .link
                    .retrying(|live| changes(live, after, limit, location))
                    .await;
                let _ = reply.send(answer);
            }
            Read::Position { consumer, reply } => {
                let answer = self
                    .link
                    .retrying(|live| position(live, &consumer, location))
                    .await;
                let _ = reply.send(answer);
            }
            Read::Positions(reply) => {
                let _ = reply.send(self.link.retrying(|live| positions(live, location)).await);
            }
            Read::Census(reply) => {
                let _ = reply.send(self.link.retrying(|live| census(live, location)).await);
            }
            Read::Jobs { keys, reply } => {
                let answer = self
                    .link
                    .retrying(|live| {
                        let keys = &keys;
                        async move {
                            let step = "read jobs by LocalID";
                            read_jobs(&live, |s| &s.select_jobs_among, &[keys], location, step)
                                .await
                        }
                    })
                    .await;
                let _ = reply.send(answer);
            }
            Read::Page { page, keys, reply } => {
                let answer = self
                    .link
                    .retrying(|live| {
                        let params: Vec<&(dyn ToSql + Sync)> =
                            keys.iter().map(|k| k as &(dyn ToSql + Sync)).collect();
                        async move {
                            let step = page.step();
                            read_jobs(&live, move |s| page.statement(s), &params, location, step)
                                .await
                        }
                    })
                    .await;
                let _ = reply.send(answer);
            }
        }
    }
}

/// A job row of a `SELECT_*JOB*` statement of [`sql`].
fn stored_job(row: &Row, location: &str, step: &str) -> Result<sql::StoredJob, StoreError> {
    Ok(sql::StoredJob {
        local_id: column(row, 0, location, step)?,
        job_state: column::<i32>(row, 1, location, step)?.into(),
        priority: column(row, 2, location, step)?,
        owner: column(row, 3, location, step)?,
        document: column(row, 4, location, step)?,
        settled: column::<i32>(row, 5, location, step)?.into(),
        ready: column::<i32>(row, 6, location, step)?.into(),
        wake_us: column(row, 7, location, step)?,
    })
}

/// The jobs one of the reads' job statements finds, as records.
async fn read_jobs(
    live: &Live<ReadStatements>,
    statement: impl Fn(&ReadStatements) -> &Statement,
    params: &[&(dyn ToSql + Sync)],
    location: &str,
    step: &str,
) -> Result<Vec<JobRecord>, Failure> {
    let rows = live
        .client
        .query(statement(&live.statements), params)
        .await
        .map_err(|e| failure(&live.client, location, step, e))?;
    rows.iter()
        .map(|row| stored_job(row, location, step)?.into_record(location))
        .collect::<Result<_, _>>()
        .map_err(Failure::Refused)
}

/// The jobs in play and the marks, from one snapshot.
async fn load(
    live: Arc<Live<ReadStatements>>,
    node: &String,
    location: &str,
) -> Result<Loaded, Failure> {
    let (client, s) = (&live.client, &live.statements);
    let step = "read jobs";
    let fail = |e| failure(client, location, step, e);
    client
        .execute(&s.begin_snapshot, &[])
        .await
        .map_err(|e| failure(client, location, "begin read transaction", e))?;
    let reads = async {
        let jobs = client
            .query(&s.select_jobs_in_play, &[node])
            .await
            .map_err(fail)?;
        let highest = client
            .query_one(&s.select_highest_local_id, &[])
            .await
            .map_err(fail)?;
        let mark = client
            .query_opt(&s.select_last_local_id, &[])
            .await
            .map_err(fail)?;
        let last_change = client
            .query_opt(&s.select_last_change, &[])
            .await
            .map_err(fail)?;
        Ok((jobs, highest, mark, last_change))
    }
    .await;
    // Ends the snapshot whatever happened (COMMIT of a failed transaction rolls it back).
    let ended = client.execute(&s.end_snapshot, &[]).await;
    let (jobs, highest, mark, last_change) = reads?;
    ended.map_err(|e| failure(client, location, "end read transaction", e))?;

    let jobs = jobs
        .iter()
        .map(|row| stored_job(row, location, step))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Refused)?;
    let highest_local_id = column(&highest, 0, location, step).map_err(Failure::Refused)?;
    let value = |row: Option<Row>, what: &str| -> Result<Option<i64>, Failure> {
        row.map(|row| column(&row, 0, location, what))
            .transpose()
            .map_err(Failure::Refused)
    };
    let mark = value(mark, "read last_local_id")?;
    let last_change = value(last_change, "read last_change")?;
    let stored = sql::Stored {
        jobs,
        highest_local_id,
        recorded_mark: mark,
        last_change,
    };
    sql::loaded(stored, location).map_err(Failure::Refused)
}

/// One job's runs, ordered by run number.
async fn runs(
    live: Arc<Live<ReadStatements>>,
    local_id: u64,
    key: i64,
    location: &str,
) -> Result<Vec<RunRecord>, Failure> {
    let step = format!("read runs of job {local_id}");
    let rows = live
        .client
        .query(&live.statements.select_runs, &[&key])
        .await
        .map_err(|e| failure(&live.client, location, step.as_str(), e))?;
    let run = |row: &Row| -> Result<RunRecord, StoreError> {
        let widened = |index| -> Result<Option<i64>, StoreError> {
            Ok(column::<Option<i32>>(row, index, location, &step)?.map(i64::from))
        };
        sql::StoredRun {
            run_number: column(row, 0, location, &step)?,
            started_at_us: column(row, 1, location, &step)?,
            ended_at_us: column(row, 2, location, &step)?,
            exit_status: column(row, 3, location, &step)?,
            signal: column(row, 4, location, &step)?,
            error_code: column::<i32>(row, 5, location, &step)?.into(),
            error_description: column(row, 6, location, &step)?,
            final_state: widened(7)?,
        }
        .into_record(local_id, location)
    };
    rows.iter()
        .map(run)
        .collect::<Result<_, _>>()
        .map_err(Failure::Refused)
}

/// The changes after `after`, in order, at most `limit`.
async fn changes(
    live: Arc<Live<ReadStatements>>,
    after: i64,
    limit: i64,
    location: &str,
) -> Result<Vec<ChangeRecord>, Failure> {
    let step = "read changes";
    let rows = live
        .client
        .query(&live.statements.select_changes, &[&after, &limit])
        .await
        .map_err(|e| failure(&live.client, location, step, e))?;
    let change = |row: &Row| -> Result<ChangeRecord, StoreError> {
        sql::StoredChange {
            seq: column(row, 0, location, step)?,
            at_us: column(row, 1, location, step)?,
            job: column(row, 2, location, step)?,
            kind: column::<i32>(row, 3, location, step)?.into(),
            docs: column(row, 4, location, step)?,
        }
        .into_record(location)
    };
    rows.iter()
        .map(change)
        .collect::<Result<_, _>>()
        .map_err(Failure::Refused)
}

/// The position `consumer` recorded, if any.
async fn position(
    live: Arc<Live<ReadStatements>>,
    consumer: &str,
    location: &str,
) -> Result<Option<u64>, Failure> {
    let step = format!("read the position of {consumer}");
    let row = live
        .client
        .query_opt(&live.statements.select_position, &[&consumer])
        .await
        .map_err(|e| failure(&live.client, location, step.as_str(), e))?;
    row.map(|row| {
        let seq = column(&row, 0, location, &step)?;
        sql::position(consumer, seq, location)
    })
    .transpose()
    .map_err(Failure::Refused)
}

/// How many jobs are in each JobState, and how many are ready.
async fn census(live: Arc<Live<ReadStatements>>, location: &str) -> Result<crate::Census, Failure> {
    let step = "count the jobs by state";
    let rows = live
        .client
        .query(&live.statements.select_census, &[])
        .await
        .map_err(|e| failure(&live.client, location, step, e))?;
    let triple = |row: &Row| -> Result<(i64, i64, i64), StoreError> {
        Ok((
            i64::from(column::<i32>(row, 0, location, step)?),
            column(row, 1, location, step)?,
            column(row, 2, location, step)?,
        ))
    };
    let rows = rows
        .iter()
        .map(triple)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Refused)?;
    sql::census(rows, location).map_err(Failure::Refused)
}

/// Every consumer's position, ordered by consumer.
async fn positions(
    live: Arc<Live<ReadStatements>>,
    location: &str,
) -> Result<Vec<(String, u64)>, Failure> {
    let step = "read the positions";
    let rows = live
        .client
        .query(&live.statements.select_positions, &[])
        .await
        .map_err(|e| failure(&live.client, location, step, e))?;
    let pair = |row: &Row| -> Result<(String, i64), StoreError> {
        Ok((
            column(row, 0, location, step)?,
            column(row, 1, location, step)?,
        ))
    };
    rows.iter()
        .map(pair)
        .collect::<Result<Vec<_>, _>>()
        .and_then(|rows| sql::positions(rows, location))
        .map_err(Failure::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_location_never_shows_a_password() {
        assert_eq!(
            without_password("postgres://cimjob:s3cret@db:5432/jobs?search_path=a"),
            "postgres://cimjob@db:5432/jobs?search_path=a"
        );
        assert_eq!(
            without_password("postgresql://u@h/d?password=x&sslmode=disable"),
            "postgresql://u@h/d?sslmode=disable"
        );
        assert_eq!(
            without_password("postgres://h1,h2/d?password=x"),
            "postgres://h1,h2/d"
        );
        assert!(!without_password("host=h password=x").contains('x'));
    }

    #[test]
    fn search_path_is_ours_and_must_be_an_identifier() {
        let address =
            Address::parse("postgres://u:pw@h/d?search_path=Jobs_1&application_name=x").unwrap();
        assert_eq!(address.schema.as_deref(), Some("Jobs_1"));
        assert_eq!(
            address.config.get_options(),
            Some("-c search_path=\"Jobs_1\"")
        );
        assert_eq!(address.config.get_application_name(), Some("x"));
        assert_eq!(
            address.location,
            "postgres://u@h/d?search_path=Jobs_1&application_name=x"
        );

        let plain = Address::parse("postgres://u@h/d").unwrap();
        assert_eq!(plain.schema, None);
        assert_eq!(plain.config.get_options(), None);
        assert_eq!(plain.config.get_application_name(), Some(APPLICATION_NAME));

        for bad in ["1jobs", "jobs;drop", "", "a-b", "x\"y"] {
            let url = format!("postgres://u:pw@h/d?search_path={bad}");
            let error = Address::parse(&url).err().expect(bad);
            let message = error.to_string();
            assert!(matches!(error, StoreError::BadLocation { .. }), "{message}");
            assert!(message.contains(&format!("{bad:?}")), "{message}");
            assert!(!message.contains("pw"), "{message}");
        }
        assert!(matches!(
            Address::parse("host=h dbname=d"),
            Err(StoreError::BadLocation { .. })
        ));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quoted("jobs"), "\"jobs\"");
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
        assert!(is_identifier("_a9") && !is_identifier("9a") && !is_identifier("é"));
    }
}
