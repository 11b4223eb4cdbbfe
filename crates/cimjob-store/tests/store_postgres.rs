//! The PostgreSQL job store against a real server: the store conformance suite
//! (`conformance/`, the same tests as SQLite), then what only PostgreSQL has: nodes opening
//! one schema at once, the server's own refusals, connections killed under the store, the
//! address's `search_path`, and the subscription tables beside the jobs.
//!
//! The server is `CIMJOB_TEST_DATABASE_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`. Each test works in a schema of its own, dropped
//! at its end. A server that cannot be reached fails every test here, saying so.

use std::collections::BTreeSet;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use cimjob_harness::postgres::TestSchema;
use cimjob_store::lease::{Membership, Standing, DEFAULT_LEASE};
use cimjob_store::postgres::{
    PostgresError, PostgresStore, PostgresSubscriptions, PostgresUsers, APPLICATION_NAME,
};
use cimjob_store::subscriptions::{DeliveryOutcome, SubscriptionStore, MAX_OUTCOMES};
use cimjob_store::{
    Batch, Claim, Claimed, CommitCounts, CommitTicket, JobRecord, Store, StoreError,
};

#[macro_use]
mod conformance;

use conformance::{block_on, commit_all, commit_ok, job, run, upsert, Backend, Counted};

/// The node the tests' stores join as, unless a test names others.
const NODE: &str = "test-node";

/// A node called `name` with the default lease.
fn node(name: &str) -> Membership {
    Membership::new(name, DEFAULT_LEASE)
}

/// The server's URL, without a schema.
fn server_url() -> String {
    cimjob_harness::postgres::test_database_url()
}

/// `url` with one more query parameter.
fn with_parameter(url: &str, key: &str, value: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{key}={value}")
}

/// A plain connection for looking inside the database, outside the store, on its own runtime.
struct Admin {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Admin {
    /// Connects, with `schema` first on the search path; fails the test, saying why, if the
    /// server cannot be reached.
    fn connect(schema: Option<&str>) -> Admin {
        let url = server_url();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut config: tokio_postgres::Config = url.parse().unwrap_or_else(|e| {
            panic!("CIMJOB_TEST_DATABASE_URL {url:?} is not a PostgreSQL URL: {e}")
        });
        config.application_name("cimjob-store-tests");
        config.connect_timeout(Duration::from_secs(10));
        if let Some(schema) = schema {
            config.options(format!("-c search_path=\"{schema}\""));
        }
        let (client, connection) = runtime
            .block_on(config.connect(tokio_postgres::NoTls))
            .unwrap_or_else(|e| {
                let cause =
                    std::error::Error::source(&e).map_or(String::new(), |c| format!(": {c}"));
                panic!(
                    "the PostgreSQL store tests need a PostgreSQL server, and none answers at \
                     {url} ({e}{cause}): start one, or point CIMJOB_TEST_DATABASE_URL at one"
                )
            });
        runtime.spawn(connection);
        Admin { runtime, client }
    }

    fn execute(&self, sql: &str) {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn count(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> i64 {
        let row = self
            .runtime
            .block_on(self.client.query_one(sql, params))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        row.get(0)
    }

    /// Ends every session that shows `application_name`; how many it ended.
    fn kill(&self, application_name: &str) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM (
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = $1 AND pid <> pg_backend_pid()
             ) AS ended",
            &[&application_name],
        )
    }

    /// How many sessions show `application_name`.
    fn sessions(&self, application_name: &str) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&application_name],
        )
    }
}

/// A schema of the test's own, on the test server; dropped, with everything in it, on drop.
struct Postgres {
    schema: TestSchema,
}

impl Postgres {
    fn named(schema: String) -> Postgres {
        Postgres {
            schema: TestSchema::named(&schema),
        }
    }

    /// The store's URL: the server's, with this schema as `search_path`.
    fn url(&self) -> String {
        self.schema.url()
    }

    fn admin(&self) -> Admin {
        Admin::connect(Some(self.schema.name()))
    }
}

/// A transaction holding an exclusive lock on `jobs`, from another connection.
struct TableLock(Admin);

impl Drop for TableLock {
    fn drop(&mut self) {
        self.0.execute("COMMIT");
    }
}

impl Backend for Postgres {
    const LATEST_VERSION: i64 = 8;
    type Store = PostgresStore;
    type Hold = TableLock;

    fn fresh(name: &str) -> Postgres {
        Postgres {
            schema: TestSchema::new(name),
        }
    }

    fn open(&self) -> Result<PostgresStore, StoreError> {
        PostgresStore::open(&self.url(), &node(NODE))
    }

    fn location(&self) -> String {
        self.url()
    }

    fn count(&self, sql: &str) -> i64 {
        self.admin().count(sql, &[])
    }

    fn execute(&self, sql: &str) {
        self.admin().execute(sql);
    }

    fn hold_writes(&self) -> TableLock {
        let admin = self.admin();
        admin.execute("BEGIN; LOCK TABLE jobs IN EXCLUSIVE MODE");
        TableLock(admin)
    }
}

impl Counted for PostgresStore {
    fn counts(&self) -> CommitCounts {
        PostgresStore::counts(self)
    }
}

conformance_tests!(Postgres);

// ---------------------------------------------------------------------------------------------
// Several nodes, one schema

/// A ready job (Priority `local_id % 7`), as a node queues it.
fn ready(local_id: u64) -> JobRecord {
    JobRecord {
        ready: true,
        ..job(local_id, 2, "{}")
    }
}

/// The LocalIDs of a claim that found jobs here.
fn claimed_here(claimed: Claimed) -> Vec<u64> {
    match claimed {
        Claimed::Here(jobs) => jobs.iter().map(|j| j.local_id).collect(),
        Claimed::Elsewhere(node) => panic!("held by {node}"),
    }
}

#[test]
fn nodes_joining_one_fresh_schema_at_once_all_serve_and_claim_different_jobs_in_order() {
    let db = Postgres::fresh("opening_at_once");
    let url = db.url();
    let nodes = 4;
    let barrier = Arc::new(Barrier::new(nodes));
    let openings: Vec<_> = (0..nodes)
        .map(|i| {
            let (url, barrier) = (url.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                PostgresStore::open(&url, &node(&format!("node-{i}"))).unwrap()
            })
        })
        .collect();
    let stores: Vec<PostgresStore> = openings.into_iter().map(|o| o.join().unwrap()).collect();
    // the migrations did not race (one lock), and every node serves
    assert_eq!(db.count("SELECT COUNT(*) FROM schema_migrations"), 8);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM nodes WHERE fenced_by IS NULL AND lease_until > now()"),
        4
    );
    // The index through which nodes claim ready jobs in order; not the unused ones.
    let index = |name: &str| {
        db.count(&format!(
            "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename = 'jobs' AND indexname = '{name}'"
        ))
    };
    assert_eq!(
        (
            index("jobs_claimable"),
            index("jobs_by_state"),
            index("jobs_by_owner")
        ),
        (1, 0, 0)
    );
    // node-0 queues ten ready jobs and gives them back: any node may claim them
    let ids: Vec<u64> = (1..=10).collect();
    commit_ok(
        &stores[0],
        vec![Batch {
            upserts: ids.iter().map(|&id| ready(id)).collect(),
            released: ids.clone(),
            ..Batch::default()
        }],
    );
    // the nodes claim at once, three each at most: no job twice, every job once
    let barrier = Arc::new(Barrier::new(nodes));
    let stores = Arc::new(stores);
    let claims: Vec<_> = (0..nodes)
        .map(|i| {
            let (stores, barrier) = (Arc::clone(&stores), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let claim = Claim::Ready {
                    after: None,
                    limit: 3,
                };
                claimed_here(stores[i].claim(claim).unwrap())
            })
        })
        .collect();
    let mut all: Vec<u64> = Vec::new();
    for (i, claim) in claims.into_iter().enumerate() {
        let got = claim.join().unwrap();
        assert!(got.len() <= 3, "{got:?}");
        // each node's claim is in (Priority, LocalID) order
        let mut sorted = got.clone();
        sorted.sort_by_key(|&id| (id % 7, id));
        assert_eq!(got, sorted);
        let holder = db.count(&format!(
            "SELECT COUNT(*) FROM jobs WHERE holder = 'node-{i}'"
        ));
        assert_eq!(holder, got.len() as i64);
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, ids);
    // a job another node holds is not claimed: it says where the job is
    let holder = (0..nodes)
        .find(|i| {
            db.count(&format!(
                "SELECT COUNT(*) FROM jobs WHERE local_id = 1 AND holder = 'node-{i}'"
            )) == 1
        })
        .expect("job 1 is held");
    let other = &stores[(holder + 1) % nodes];
    let asked = other.claim(Claim::Job { local_id: 1 }).unwrap();
    assert_eq!(asked, Claimed::Elsewhere(format!("node-{holder}")));
    // nor written: the row stays its holder's, and the batch fails alone
    let refusal = block_on(other.commit(upsert(vec![job(1, 4, "{}")])));
    let refusal = refusal.expect_err("a node wrote a job another node holds");
    assert!(
        refusal
            .to_string()
            .contains("job 1 is held by another node"),
        "{refusal}"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM jobs WHERE local_id = 1 AND job_state = 2"),
        1
    );
    // blocks of LocalIDs never overlap, nor reach below the stored jobs
    let blocks: Vec<_> = stores
        .iter()
        .map(|store| store.reserve_local_ids(5).unwrap().unwrap())
        .collect();
    for (i, block) in blocks.iter().enumerate() {
        assert!(
            *block.start() > 10 && block.end() - block.start() == 4,
            "{block:?}"
        );
        for other in &blocks[i + 1..] {
            assert!(block.end() < other.start() || other.end() < block.start());
        }
    }
    // the same node started again (its lease still runs) serves at once, as a new
    // incarnation, holding none of what it claimed: that goes back for any node to claim
    let stores = Arc::into_inner(stores).unwrap();
    drop(stores);
    let next = PostgresStore::open(&url, &node(&format!("node-{holder}"))).unwrap();
    assert_eq!(next.tenure().incarnation, 2);
    assert_eq!(
        db.count(&format!(
            "SELECT COUNT(*) FROM jobs WHERE holder = 'node-{holder}'"
        )),
        0
    );
}

/// A store on `db` whose sessions show a name of this test's own, so that killing them ends no
/// other test's sessions; and that name.
fn open_under_own_name(db: &Postgres, label: &str) -> (PostgresStore, String) {
    let application_name = format!("cimjob-store-{label}-{}", std::process::id());
    let store = PostgresStore::open(
        &with_parameter(&db.url(), "application_name", &application_name),
        &node(NODE),
    )
    .unwrap();
    (store, application_name)
}

/// Ends the store's three sessions (the writer's, the reader's and the renewer's) and waits
/// until they are gone.
fn end_sessions(admin: &Admin, application_name: &str) {
    assert_eq!(
        admin.kill(application_name),
        3,
        "the writer's, the reader's and the renewer's sessions"
    );
    wait_until_gone(admin, application_name);
}

/// Waits (at most a minute) until `store`'s node no longer trusts its lease; why.
fn lost_within_a_minute(store: &PostgresStore) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Standing::Lost(why) = store.tenure().standing() {
            return why;
        }
        assert!(Instant::now() < deadline, "the node still trusts its lease");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_node_whose_lease_lapsed_writes_nothing_once_another_node_took_over() {
    let db = Postgres::fresh("fenced");
    let first = PostgresStore::open(&db.url(), &node("a")).unwrap();
    commit_ok(&first, vec![upsert(vec![job(1, 2, "{}")])]);
    // while a's lease runs, b serves beside it and rescues nothing
    let second = PostgresStore::open(&db.url(), &node("b")).unwrap();
    assert!(second.rescue().unwrap().is_empty());
    assert!(second.load().unwrap().jobs.is_empty());
    // a's lease lapses as the database's clock sees it (as if a froze): b takes over its job
    // in play
    db.execute("UPDATE nodes SET lease_until = now() - interval '1 second' WHERE node = 'a'");
    let rescued: Vec<u64> = second
        .rescue()
        .unwrap()
        .iter()
        .map(|j| j.local_id)
        .collect();
    assert_eq!(rescued, vec![1]);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM nodes WHERE node = 'a' AND fenced_by = 'b'"),
        1
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM jobs WHERE holder = 'b'"), 1);
    // a writes nothing: its transaction finds its lease gone, and so does every later one
    for id in [2, 3] {
        let outcome = block_on(first.commit(upsert(vec![job(id, 2, "{}")])));
        let refusal = outcome.unwrap_err().to_string();
        assert!(refusal.contains("node a is fenced"), "{refusal}");
    }
    assert!(lost_within_a_minute(&first).contains("lease"));
    commit_ok(
        &second,
        vec![upsert(vec![job(1, 4, "{}"), job(4, 2, "{}")])],
    );
}

#[test]
fn a_live_node_keeps_its_lease_by_renewing_it_and_no_other_node_takes_its_jobs() {
    let db = Postgres::fresh("renewed");
    let short = Membership::new("a", Duration::from_secs(1));
    let first = PostgresStore::open(&db.url(), &short).unwrap();
    // three leases long: renewed all along, so b is still refused and a still writes
    std::thread::sleep(Duration::from_secs(3));
    assert!(matches!(
        first.tenure().standing(),
        Standing::Trusted { .. }
    ));
    commit_ok(&first, vec![upsert(vec![job(1, 2, "{}")])]);
    let second = PostgresStore::open(&db.url(), &node("b")).unwrap();
    assert!(second.rescue().unwrap().is_empty());
    std::thread::sleep(Duration::from_secs(2));
    assert!(second.rescue().unwrap().is_empty());
    commit_ok(&first, vec![upsert(vec![job(1, 3, "{}")])]);
}

#[test]
fn a_node_that_cannot_reach_the_database_stops_trusting_itself_before_its_lease_lapses() {
    let db = Postgres::fresh("distrust");
    let proxy = Proxy::start();
    let lease = Duration::from_secs(2);
    let first = PostgresStore::open(&proxy.url(&db), &Membership::new("a", lease)).unwrap();
    proxy.cut();
    let cut_at = Instant::now();
    let why = lost_within_a_minute(&first);
    let distrusted_after = cut_at.elapsed();
    assert!(why.contains("could not be renewed"), "{why}");
    // it gave up on itself before its lease (renewed at most a fifth of it before the cut)
    // could lapse on the database's clock
    assert!(
        distrusted_after < lease,
        "trust ended {distrusted_after:?} after the cut, with a lease of {lease:?}"
    );
    proxy.restore();
    let outcome = block_on(first.commit(upsert(vec![job(1, 2, "{}")])));
    assert!(
        matches!(outcome, Err(StoreError::Fenced { .. })),
        "{outcome:?}"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM jobs"), 0);
}

// ---------------------------------------------------------------------------------------------
// The server's refusals

#[test]
fn a_run_for_a_missing_job_fails_alone_with_the_servers_reason() {
    let db = Postgres::fresh("missing_job");
    let store = db.open().unwrap();
    let bad = Batch {
        upserts: vec![job(2, 2, "{}")],
        runs: vec![run(999, 1)],
        ..Batch::default()
    };
    let outcomes = commit_all(
        &store,
        vec![
            upsert(vec![job(1, 2, "{}")]),
            bad,
            upsert(vec![job(3, 2, "{}")]),
        ],
    );
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
    let error = outcomes[1].as_ref().unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&db.url()), "{message}");
    assert!(message.contains("write run 1 of job 999"), "{message}");
    // The server's own words, not only the client library's "db error".
    assert!(
        message.contains("foreign key") && message.contains("23503"),
        "{message}"
    );
    let StoreError::Database { source, .. } = error else {
        panic!("{error:?}")
    };
    let code = source
        .downcast_ref::<PostgresError>()
        .and_then(PostgresError::code);
    assert_eq!(
        code,
        Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
    );

    let ids: Vec<u64> = store
        .load()
        .unwrap()
        .jobs
        .iter()
        .map(|j| j.local_id)
        .collect();
    assert_eq!(
        ids,
        vec![1, 3],
        "the failed batch left nothing, its job included"
    );
    assert_eq!(store.counts().batches_failed, 1);
}

// ---------------------------------------------------------------------------------------------
// Lost connections

/// Waits, at most 10 s, until no session shows `application_name`.
fn wait_until_gone(admin: &Admin, application_name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin.sessions(application_name) > 0 {
        assert!(
            Instant::now() < deadline,
            "the sessions of {application_name} outlived pg_terminate_backend"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Awaits every ticket, each for at most a minute: none may hang.
fn outcomes_within_a_minute(tickets: Vec<CommitTicket>) -> Vec<Result<(), StoreError>> {
    block_on(async {
        let mut outcomes = Vec::with_capacity(tickets.len());
        for (i, ticket) in tickets.into_iter().enumerate() {
            let outcome = tokio::time::timeout(Duration::from_secs(60), ticket)
                .await
                .unwrap_or_else(|_| panic!("ticket {i} did not resolve within a minute"));
            outcomes.push(outcome);
        }
        outcomes
    })
}

#[test]
fn after_its_connections_are_killed_the_store_reconnects_and_no_ticket_hangs() {
    let db = Postgres::fresh("killed");
    let (store, application_name) = open_under_own_name(&db, "killed");
    commit_ok(&store, vec![upsert(vec![job(1, 2, "{}")])]);
    let admin = Admin::connect(None);

    // Killed while idle: the next commit and the next read reconnect.
    end_sessions(&admin, &application_name);
    let outcomes = outcomes_within_a_minute(vec![store.commit(upsert(vec![job(2, 2, "{}")]))]);
    assert!(outcomes[0].is_ok(), "{outcomes:?}");
    assert_eq!(store.load().unwrap().jobs.len(), 2);

    // Killed with batches in flight: each resolves, durable or unconfirmed, never lost
    // silently; and the store goes on.
    let ids: Vec<u64> = (3..=2002).collect();
    let tickets: Vec<CommitTicket> = ids
        .iter()
        .map(|&id| {
            store.commit(Batch {
                upserts: vec![job(id, 2, "{}")],
                runs: vec![run(id, 1)],
                last_local_id: Some(id),
                ..Batch::default()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    let killed = admin.kill(&application_name);
    let outcomes = outcomes_within_a_minute(tickets);
    let unconfirmed = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(StoreError::Unconfirmed)))
        .count();
    for (id, outcome) in ids.iter().zip(&outcomes) {
        assert!(
            matches!(outcome, Ok(()) | Err(StoreError::Unconfirmed)),
            "job {id}: {outcome:?}"
        );
    }
    eprintln!("killed {killed} sessions in flight; {unconfirmed} batches unconfirmed");

    let last = outcomes_within_a_minute(vec![store.commit(upsert(vec![job(3000, 2, "{}")]))]);
    assert!(last[0].is_ok(), "{last:?}");
    let loaded = store.load().unwrap();
    let stored: BTreeSet<u64> = loaded.jobs.iter().map(|j| j.local_id).collect();
    for (id, outcome) in ids.iter().zip(&outcomes) {
        if outcome.is_ok() {
            assert!(
                stored.contains(id),
                "job {id} was acknowledged but is not stored"
            );
        }
    }
    assert!(stored.contains(&1) && stored.contains(&2) && stored.contains(&3000));
    assert!(stored.iter().all(|id| *id <= 2002 || *id == 3000));
    assert_eq!(loaded.last_local_id, 3000);
}

/// A TCP proxy on loopback in front of the test server, whose link can be cut (every
/// connection through it dropped, new ones refused at once) and restored: an outage. Armed
/// ([`Proxy::lose_next_commit`]), it lets the next simple-query `COMMIT` reach the server and
/// then drops that connection before the answer comes back: a COMMIT whose outcome the
/// client cannot know.
struct Proxy {
    port: u16,
    open: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    lose_commit: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

/// A simple-query `COMMIT` message of the PostgreSQL protocol, as a client sends it.
const COMMIT_MESSAGE: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";

/// Copies `from` to `to` until either ends; `lose` armed, a chunk from the client holding a
/// COMMIT marks this link `doomed` (before it goes on to the server), and the server's next
/// answer on a doomed link is dropped with the link.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    from_client: bool,
    lose: &AtomicBool,
    doomed: &AtomicBool,
) {
    use std::io::{Read, Write};
    let mut buffer = vec![0u8; 64 * 1024];
    // bounded by the link's life
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buffer[..n];
        if from_client {
            if chunk
                .windows(COMMIT_MESSAGE.len())
                .any(|w| w == COMMIT_MESSAGE)
                && lose.swap(false, Ordering::SeqCst)
            {
                doomed.store(true, Ordering::SeqCst);
            }
        } else if doomed.load(Ordering::SeqCst) {
            let _ = from.shutdown(Shutdown::Both);
            break;
        }
        if to.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

impl Proxy {
    fn start() -> Proxy {
        let config: tokio_postgres::Config = server_url().parse().unwrap();
        let upstream = match (config.get_hosts().first(), config.get_ports().first()) {
            (Some(tokio_postgres::config::Host::Tcp(host)), port) => {
                format!("{host}:{}", port.copied().unwrap_or(5432))
            }
            _ => panic!("the proxy test needs a TCP address in CIMJOB_TEST_DATABASE_URL"),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, stop, lose_commit) = (
            Arc::new(AtomicBool::new(true)),
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let links = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (open, stop, links) = (Arc::clone(&open), Arc::clone(&stop), Arc::clone(&links));
            let lose = Arc::clone(&lose_commit);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let client = match listener.accept() {
                        Ok((client, _)) => client,
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                    };
                    if !open.load(Ordering::Relaxed) {
                        continue; // dropped: the connection is refused
                    }
                    client.set_nonblocking(false).unwrap();
                    let server = TcpStream::connect(&upstream).unwrap();
                    let mut kept = links.lock().unwrap();
                    kept.push(client.try_clone().unwrap());
                    kept.push(server.try_clone().unwrap());
                    let doomed = Arc::new(AtomicBool::new(false));
                    for (from, to, from_client) in [
                        (
                            client.try_clone().unwrap(),
                            server.try_clone().unwrap(),
                            true,
                        ),
                        (server, client, false),
                    ] {
                        let (lose, doomed) = (Arc::clone(&lose), Arc::clone(&doomed));
                        std::thread::spawn(move || pump(from, to, from_client, &lose, &doomed));
                    }
                }
            })
        };
        Proxy {
            port,
            open,
            stop,
            lose_commit,
            links,
            acceptor: Some(acceptor),
        }
    }

    /// The store's URL through the proxy.
    fn url(&self, db: &Postgres) -> String {
        let config: tokio_postgres::Config = server_url().parse().unwrap();
        let user = config.get_user().unwrap_or("postgres");
        let dbname = config.get_dbname().unwrap_or(user);
        format!(
            "postgres://{user}@127.0.0.1:{}/{dbname}?search_path={}",
            self.port,
            db.schema.name()
        )
    }

    fn cut(&self) {
        self.open.store(false, Ordering::Relaxed);
        for link in self.links.lock().unwrap().drain(..) {
            let _ = link.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::Relaxed);
    }

    /// Arms the proxy: the next simple-query COMMIT through it reaches the server, and its
    /// answer is lost with its connection.
    fn lose_next_commit(&self) {
        self.lose_commit.store(true, Ordering::SeqCst);
    }

    /// Whether the armed COMMIT came and went.
    fn commit_lost(&self) -> bool {
        !self.lose_commit.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

#[test]
fn batches_committed_during_a_short_outage_commit_once_the_server_is_back() {
    let db = Postgres::fresh("outage");
    let proxy = Proxy::start();
    let store = PostgresStore::open(&proxy.url(&db), &node(NODE)).unwrap();
    commit_ok(&store, vec![upsert(vec![job(1, 2, "{}")])]);

    proxy.cut();
    std::thread::sleep(Duration::from_millis(100));
    let tickets: Vec<CommitTicket> = (2..=51)
        .map(|id| store.commit(upsert(vec![job(id, 2, "{}")])))
        .collect();
    // Longer than the first few pauses between attempts, far shorter than RECONNECT_FOR.
    std::thread::sleep(Duration::from_millis(1500));
    proxy.restore();

    for (i, outcome) in outcomes_within_a_minute(tickets).into_iter().enumerate() {
        outcome.unwrap_or_else(|e| panic!("batch {i} failed after the outage: {e}"));
    }
    // The reads reconnect too.
    assert_eq!(store.load().unwrap().jobs.len(), 51);
}

#[test]
fn a_claim_whose_commit_goes_unanswered_leaves_no_job_held_that_the_node_does_not_know() {
    let db = Postgres::fresh("claim_unseen");
    let proxy = Proxy::start();
    let store = PostgresStore::open(&proxy.url(&db), &node("a")).unwrap();
    let ids: Vec<u64> = (1..=6).collect();
    commit_ok(
        &store,
        vec![Batch {
            upserts: ids.iter().map(|&id| ready(id)).collect(),
            released: ids.clone(),
            ..Batch::default()
        }],
    );
    let first_three = |ids: &[u64]| {
        let mut sorted = ids.to_vec();
        sorted.sort_by_key(|&id| (id % 7, id));
        sorted[..3].to_vec()
    };
    // the claim's COMMIT reaches the server, its answer never comes back: the store tries on
    // a new connection, and what it gets is all this node holds
    proxy.lose_next_commit();
    let claimed = claimed_here(
        store
            .claim(Claim::Ready {
                after: None,
                limit: 3,
            })
            .unwrap(),
    );
    assert!(
        proxy.commit_lost(),
        "the claim's COMMIT went through the proxy"
    );
    assert_eq!(claimed, first_three(&ids), "the first three, in order");
    let held = db.count("SELECT COUNT(*) FROM jobs WHERE holder = 'a'");
    assert_eq!(held, 3, "held by a: only what its claim answered");
    // the same for a claim of one job
    proxy.lose_next_commit();
    let one = claimed_here(store.claim(Claim::Job { local_id: 6 }).unwrap());
    assert!(proxy.commit_lost());
    assert_eq!(one, vec![6]);
    assert_eq!(db.count("SELECT COUNT(*) FROM jobs WHERE holder = 'a'"), 4);
}

#[test]
fn a_rescue_whose_commit_goes_unanswered_still_hands_over_the_lapsed_nodes_jobs() {
    let db = Postgres::fresh("rescue_unseen");
    let lost = PostgresStore::open(&db.url(), &node("lost")).unwrap();
    // two jobs in play on the node that is lost, one at rest
    commit_ok(
        &lost,
        vec![upsert(vec![job(1, 4, "{}"), job(2, 4, "{}"), ready(3)])],
    );
    let proxy = Proxy::start();
    let store = PostgresStore::open(&proxy.url(&db), &node("a")).unwrap();
    db.execute("UPDATE nodes SET lease_until = now() - interval '1 second' WHERE node = 'lost'");
    proxy.lose_next_commit();
    let mut rescued: Vec<u64> = store.rescue().unwrap().iter().map(|j| j.local_id).collect();
    assert!(
        proxy.commit_lost(),
        "the rescue's COMMIT went through the proxy"
    );
    rescued.sort_unstable();
    assert_eq!(
        rescued,
        vec![1, 2],
        "the jobs in play, handed to this node's core"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM jobs WHERE holder = 'a'"), 2);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM jobs WHERE holder IS NULL"),
        1
    );
    assert!(store.rescue().unwrap().is_empty(), "handed over once");
}

// ---------------------------------------------------------------------------------------------
// The address

#[test]
fn a_search_path_that_is_not_an_identifier_is_refused_naming_it() {
    let url = with_parameter(&server_url(), "search_path", "jobs;drop");
    let error = PostgresStore::open(&url, &node(NODE)).unwrap_err();
    assert!(matches!(error, StoreError::BadLocation { .. }), "{error:?}");
    assert!(error.to_string().contains("\"jobs;drop\""), "{error}");
    let error = PostgresSubscriptions::open(&url).unwrap_err();
    assert!(matches!(error, StoreError::BadLocation { .. }), "{error:?}");
}

#[test]
fn a_server_that_does_not_answer_fails_open_naming_it() {
    let started = Instant::now();
    let error =
        PostgresStore::open("postgres://postgres:hush@127.0.0.1:1/test", &node(NODE)).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Database { .. }), "{error:?}");
    assert!(
        message.contains("postgres://postgres@127.0.0.1:1/test"),
        "{message}"
    );
    assert!(message.contains("connect"), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(!message.contains("hush"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn a_mixed_case_schema_is_created_as_written_and_the_store_works_in_it() {
    let db = Postgres::named(format!("CimjobTest_{}_Mixed", std::process::id()));
    let store = db.open().unwrap();
    commit_ok(&store, vec![upsert(vec![job(1, 2, "{}")])]);
    let admin = Admin::connect(None);
    let in_schema = format!("SELECT COUNT(*) FROM \"{}\".jobs", db.schema.name());
    assert_eq!(admin.count(&in_schema, &[]), 1);
}

#[test]
fn the_location_hides_the_password_and_sessions_show_the_application_name() {
    let db = Postgres::fresh("location");
    // The test server trusts its clients, so the password is never asked for.
    let url = db.url().replacen("postgres@", "postgres:not-shown@", 1);
    let store = PostgresStore::open(&url, &node(NODE)).unwrap();
    assert!(
        !store.location().contains("not-shown"),
        "{}",
        store.location()
    );
    assert!(
        store.location().contains(db.schema.name()),
        "{}",
        store.location()
    );
    assert!(
        Admin::connect(None).sessions(APPLICATION_NAME) >= 2,
        "the store's sessions show application_name {APPLICATION_NAME}"
    );
}

// ---------------------------------------------------------------------------------------------
// The indication service's state

fn outcome(n: usize) -> DeliveryOutcome {
    DeliveryOutcome {
        at: format!("2026-01-01T00:00:{:02}Z", n % 60),
        destination: "listener".into(),
        subscription: "sub:1".into(),
        indication_id: n.to_string(),
        outcome: if n.is_multiple_of(2) {
            "delivered"
        } else {
            "gave up"
        }
        .into(),
        attempts: u32::MAX - n as u32,
        error: (n % 2 == 1).then(|| format!("refused {n}")),
    }
}

#[test]
fn subscription_objects_are_kept_beside_the_jobs_replaced_and_erased() {
    let db = Postgres::fresh("subscription_objects");
    let jobs = db.open().unwrap();
    let store = PostgresSubscriptions::open(&db.url()).unwrap();
    store.save("filter:b", r#"{"q":1}"#).unwrap();
    store.save("Filter:a", r#"{"q":2}"#).unwrap();
    store.save("filter:b", r#"{"q":3}"#).unwrap();
    store.save("dest:x", "{}").unwrap();
    store.erase("dest:x").unwrap();
    store.erase("never-saved").unwrap();
    // a subscription's key joins its filter and handler with a NUL, which TEXT cannot hold
    store.save("subscription:f\0h", "{}").unwrap();
    store.save("subscription:f\0g", "{}").unwrap();
    store.erase("subscription:f\0g").unwrap();
    let expected = vec![
        ("Filter:a".to_owned(), r#"{"q":2}"#.to_owned()),
        ("filter:b".to_owned(), r#"{"q":3}"#.to_owned()),
        ("subscription:f\0h".to_owned(), "{}".to_owned()),
    ];
    assert_eq!(store.objects().unwrap(), expected);
    drop(store);
    let reopened = PostgresSubscriptions::open(&db.url()).unwrap();
    assert_eq!(reopened.objects().unwrap(), expected);
    // The job store in the same schema is untouched by them.
    commit_ok(&jobs, vec![upsert(vec![job(1, 2, "{}")])]);
    assert_eq!(jobs.load().unwrap().jobs.len(), 1);
}

#[test]
fn users_are_one_table_that_every_node_shares_and_a_taken_name_is_refused() {
    let db = Postgres::fresh("users");
    let one = PostgresUsers::open(&db.url()).unwrap();
    let other = PostgresUsers::open(&db.url()).unwrap();
    assert_eq!(one.all().unwrap(), vec![]);
    assert!(one.add("alice", r#"{"v":1}"#).unwrap());
    assert!(
        !other.add("alice", r#"{"v":2}"#).unwrap(),
        "the name is taken: a second add changes nothing"
    );
    assert!(other.add("Bob", "{}").unwrap());
    one.save("alice", r#"{"v":3}"#).unwrap();
    assert!(other.erase("Bob").unwrap());
    assert!(!one.erase("Bob").unwrap(), "already gone");
    one.save("carol", "{}").unwrap();
    let expected = vec![
        ("alice".to_owned(), r#"{"v":3}"#.to_owned()),
        ("carol".to_owned(), "{}".to_owned()),
    ];
    assert_eq!(other.all().unwrap(), expected);
    drop((one, other));
    assert_eq!(
        PostgresUsers::open(&db.url()).unwrap().all().unwrap(),
        expected
    );
    // the indication registry's table is another
    let registry = PostgresSubscriptions::open(&db.url()).unwrap();
    assert_eq!(registry.objects().unwrap(), vec![]);
}

#[test]
fn delivery_outcomes_come_back_newest_first_and_only_the_newest_are_kept() {
    let db = Postgres::fresh("subscription_outcomes");
    let store = PostgresSubscriptions::open(&db.url()).unwrap();
    assert_eq!(store.outcomes(10).unwrap(), vec![]);
    let total = MAX_OUTCOMES as usize + 5;
    for n in 0..total {
        store.record_outcome(&outcome(n)).unwrap();
    }
    assert_eq!(
        store.outcomes(3).unwrap(),
        vec![outcome(total - 1), outcome(total - 2), outcome(total - 3)]
    );
    let kept = store.outcomes(usize::MAX).unwrap();
    assert_eq!(kept.len(), MAX_OUTCOMES as usize);
    assert_eq!(kept.last(), Some(&outcome(5)));
}
