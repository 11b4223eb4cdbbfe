//! Where the indication service keeps what must outlive it: the filters, listener
//! destinations and subscriptions clients created (as opaque documents under a key), and a
//! bounded record of delivery outcomes. (What is still to be delivered needs no keeping: each
//! destination reads the job store's change record from its own position.)
//!
//! [`SubscriptionStore`] is the contract; [`SqliteSubscriptions`] keeps it in one SQLite file
//! (`indications.db`), [`PostgresSubscriptions`](crate::postgres::PostgresSubscriptions) in
//! the job store's PostgreSQL database. Like the job store it interprets nothing: the
//! registry owns the meaning of a document.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection};

use crate::StoreError;

/// How many delivery outcomes are kept; older ones are forgotten.
pub const MAX_OUTCOMES: i64 = 10_000;

/// What became of one indication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// When (RFC 3339).
    pub at: String,
    /// The destination's Name.
    pub destination: String,
    /// The subscription's registry key.
    pub subscription: String,
    /// The indication's IndicationIdentifier.
    pub indication_id: String,
    /// `delivered`, `gave up`, `dropped: queue full`.
    pub outcome: String,
    /// How many tries it took.
    pub attempts: u32,
    /// The last error, if it was not delivered.
    pub error: Option<String>,
}

/// The indication service's durable state; see the [module](self) docs. Every call is
/// blocking and durable when it returns (outcomes excepted: they are a record, not a
/// promise, and need not cost a disk flush each).
pub trait SubscriptionStore: Send + Sync {
    /// Every stored object as `(key, document)`, ordered by key.
    fn objects(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// Inserts or replaces one object.
    fn save(&self, key: &str, document: &str) -> Result<(), StoreError>;
    /// Deletes one object (nothing if absent).
    fn erase(&self, key: &str) -> Result<(), StoreError>;
    /// Records one outcome, forgetting all but the newest [`MAX_OUTCOMES`].
    fn record_outcome(&self, outcome: &DeliveryOutcome) -> Result<(), StoreError>;
    /// The newest `limit` outcomes, newest first.
    fn outcomes(&self, limit: usize) -> Result<Vec<DeliveryOutcome>, StoreError>;
}

/// [`SubscriptionStore`] in one SQLite file, WAL, `synchronous=FULL` for objects; outcomes go
/// through a second connection with `synchronous=NORMAL`.
pub struct SqliteSubscriptions {
    location: PathBuf,
    db: Mutex<Connection>,
    outcomes: Mutex<Connection>,
}

fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqliteSubscriptions {
    /// Opens (or creates) the database at `path`.
    ///
    /// ```
    /// use cimjob_store::subscriptions::{SqliteSubscriptions, SubscriptionStore};
    /// let dir = tempfile::tempdir()?;
    /// let store = SqliteSubscriptions::open(&dir.path().join("indications.db"))?;
    /// store.save("filter:jobs", r#"{"query":"SELECT * FROM CIM_InstModification"}"#)?;
    /// assert_eq!(store.objects()?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: &Path) -> Result<SqliteSubscriptions, StoreError> {
        let location = path.to_path_buf();
        let fail = |step: &str| {
            let location = location.display().to_string();
            let step = step.to_string();
            move |e: rusqlite::Error| StoreError::Database {
                location,
                step,
                source: Box::new(e),
            }
        };
        let db = Connection::open(path).map_err(fail("open"))?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail("set WAL mode"))?;
        db.pragma_update(None, "synchronous", "FULL")
            .map_err(fail("set synchronous=FULL"))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
             DROP TABLE IF EXISTS outbox;
             CREATE TABLE IF NOT EXISTS outcomes (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
                 destination TEXT NOT NULL, subscription TEXT NOT NULL,
                 indication_id TEXT NOT NULL, outcome TEXT NOT NULL,
                 attempts INTEGER NOT NULL, error TEXT);",
        )
        .map_err(fail("create the tables"))?;
        db.busy_timeout(Duration::from_secs(5))
            .map_err(fail("set the busy timeout"))?;
        let outcomes = Connection::open(path).map_err(fail("open"))?;
        outcomes
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail("set synchronous=NORMAL"))?;
        outcomes
            .busy_timeout(Duration::from_secs(5))
            .map_err(fail("set the busy timeout"))?;
        Ok(SqliteSubscriptions {
            location,
            db: Mutex::new(db),
            outcomes: Mutex::new(outcomes),
        })
    }

    fn failed(&self, step: &str, e: rusqlite::Error) -> StoreError {
        StoreError::Database {
            location: self.location.display().to_string(),
            step: step.to_string(),
            source: Box::new(e),
        }
    }
}

impl SubscriptionStore for SqliteSubscriptions {
    fn objects(&self) -> Result<Vec<(String, String)>, StoreError> {
        let db = lock(&self.db);
        let read = || -> rusqlite::Result<Vec<(String, String)>> {
            let mut rows = db.prepare("SELECT key, doc FROM objects ORDER BY key")?;
            let rows = rows.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        };
        read().map_err(|e| self.failed("read the objects", e))
    }

    fn save(&self, key: &str, document: &str) -> Result<(), StoreError> {
        lock(&self.db)
            .execute(
                "INSERT INTO objects (key, doc) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET doc = excluded.doc",
                params![key, document],
            )
            .map_err(|e| self.failed(&format!("save {key}"), e))?;
        Ok(())
    }

    fn erase(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.db)
            .execute("DELETE FROM objects WHERE key = ?1", params![key])
            .map_err(|e| self.failed(&format!("delete {key}"), e))?;
        Ok(())
    }

    fn record_outcome(&self, o: &DeliveryOutcome) -> Result<(), StoreError> {
        let db = lock(&self.outcomes);
        db.execute(
            "INSERT INTO outcomes (at, destination, subscription, indication_id, outcome, attempts, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![o.at, o.destination, o.subscription, o.indication_id, o.outcome, o.attempts, o.error],
        )
        .and_then(|_| {
            db.execute(
                "DELETE FROM outcomes WHERE id <= (SELECT MAX(id) FROM outcomes) - ?1",
                params![MAX_OUTCOMES],
            )
        })
        .map_err(|e| self.failed("record a delivery outcome", e))?;
        Ok(())
    }

    fn outcomes(&self, limit: usize) -> Result<Vec<DeliveryOutcome>, StoreError> {
        let db = lock(&self.outcomes);
        let read = || -> rusqlite::Result<Vec<DeliveryOutcome>> {
            let mut statement = db.prepare(
                "SELECT at, destination, subscription, indication_id, outcome, attempts, error
                 FROM outcomes ORDER BY id DESC LIMIT ?1",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = statement.query_map(params![limit], |r| {
                Ok(DeliveryOutcome {
                    at: r.get(0)?,
                    destination: r.get(1)?,
                    subscription: r.get(2)?,
                    indication_id: r.get(3)?,
                    outcome: r.get(4)?,
                    attempts: r.get(5)?,
                    error: r.get(6)?,
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| self.failed("read the delivery outcomes", e))
    }
}
