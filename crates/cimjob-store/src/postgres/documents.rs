//! Named documents in a table of their own (`key`, `doc`), on a thread that owns the
//! connection: what the indication registry and the service's users keep in the shared
//! database. One piece of code serves both tables, so they behave alike when the connection
//! is lost (reconnect, ask once more).

use std::marker::PhantomData;

use super::*;

/// A table of documents: its name, which is also what its thread and errors are called.
pub(super) trait DocumentTable: Send + 'static {
    /// The table's name (a plain identifier).
    const NAME: &'static str;
}

/// The `CREATE TABLE` of a document table, run under the schema's setup lock.
pub(super) fn create_table<T: DocumentTable>() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (
            key TEXT NOT NULL PRIMARY KEY,
            doc TEXT NOT NULL
        )",
        T::NAME
    )
}

/// A key as the table keeps it. PostgreSQL's TEXT cannot hold NUL, which keys may (the
/// registry joins a subscription's filter and handler with one), so NUL becomes `\x01\x01`
/// and `\x01` becomes `\x01\x02`: reversible, and the stored keys sort as the keys do.
fn stored_key(key: &str) -> String {
    let mut stored = String::with_capacity(key.len());
    for c in key.chars() {
        match c {
            '\0' => stored.push_str("\u{1}\u{1}"),
            '\u{1}' => stored.push_str("\u{1}\u{2}"),
            c => stored.push(c),
        }
    }
    stored
}

/// The key [`stored_key`] stored.
fn key_of(stored: &str) -> String {
    let mut key = String::with_capacity(stored.len());
    let mut chars = stored.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\u{1}') {
            (_, true) => key.push(if chars.next() == Some('\u{1}') {
                '\0'
            } else {
                '\u{1}'
            }),
            (c, false) => key.push(c),
        }
    }
    key
}

/// The statements of a document table.
pub(super) struct DocumentStatements<T> {
    all: Statement,
    save: Statement,
    add: Statement,
    erase: Statement,
    table: PhantomData<T>,
}

impl<T: DocumentTable> Prepare for DocumentStatements<T> {
    async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        let table = T::NAME;
        Ok(DocumentStatements {
            // Byte order, as SQLite keeps it, whatever the database's collation.
            all: client
                .prepare(&format!(
                    "SELECT key, doc FROM {table} ORDER BY key COLLATE \"C\""
                ))
                .await?,
            save: client
                .prepare(&format!(
                    "INSERT INTO {table} (key, doc) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET doc = excluded.doc"
                ))
                .await?,
            add: client
                .prepare(&format!(
                    "INSERT INTO {table} (key, doc) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
                ))
                .await?,
            erase: client
                .prepare(&format!("DELETE FROM {table} WHERE key = $1"))
                .await?,
            table: PhantomData,
        })
    }
}

/// A call on a document table, with where its answer goes.
pub(super) enum DocumentRequest {
    /// Every document as `(key, document)`, ordered by key.
    All(Reply<Vec<(String, String)>>),
    /// Inserts or replaces one document.
    Save {
        key: String,
        document: String,
        reply: Reply<()>,
    },
    /// Inserts a document under a new key; false (and nothing changed) if the key exists.
    Add {
        key: String,
        document: String,
        reply: Reply<bool>,
    },
    /// Deletes one document; false if there was none.
    Erase { key: String, reply: Reply<bool> },
}

/// Answers one [`DocumentRequest`] on `link`. The caller may have stopped waiting; nothing
/// is lost by not telling it.
///
/// An `Add` or `Erase` whose connection was lost after the server did it is asked again on a
/// new connection and then answers false: the table is right, the answer says "was there".
pub(super) async fn serve_document<T: DocumentTable>(
    link: &mut Link<DocumentStatements<T>>,
    location: &str,
    request: DocumentRequest,
) {
    match request {
        DocumentRequest::All(reply) => {
            let answer = link
                .retrying(|live| async move {
                    let step = "read the documents";
                    let rows = live
                        .client
                        .query(&live.statements.all, &[])
                        .await
                        .map_err(|e| failure(&live.client, location, step, e))?;
                    rows.iter()
                        .map(|row| {
                            let key: &str = column(row, 0, location, step)?;
                            Ok((key_of(key), column(row, 1, location, step)?))
                        })
                        .collect::<Result<_, _>>()
                        .map_err(Failure::Refused)
                })
                .await;
            let _ = reply.send(answer);
        }
        DocumentRequest::Save {
            key,
            document,
            reply,
        } => {
            let key = stored_key(&key);
            let answer = change(link, location, |s| &s.save, &[&key, &document], "save").await;
            let _ = reply.send(answer.map(drop));
        }
        DocumentRequest::Add {
            key,
            document,
            reply,
        } => {
            let key = stored_key(&key);
            let answer = change(link, location, |s| &s.add, &[&key, &document], "add").await;
            let _ = reply.send(answer.map(|rows| rows == 1));
        }
        DocumentRequest::Erase { key, reply } => {
            let key = stored_key(&key);
            let answer = change(link, location, |s| &s.erase, &[&key], "delete").await;
            let _ = reply.send(answer.map(|rows| rows == 1));
        }
    }
}

/// Runs one changing statement of a document table (the first parameter is the key): how
/// many rows it changed.
async fn change<T: DocumentTable>(
    link: &mut Link<DocumentStatements<T>>,
    location: &str,
    statement: fn(&DocumentStatements<T>) -> &Statement,
    parameters: &[&(dyn ToSql + Sync)],
    verb: &str,
) -> Result<u64, StoreError> {
    let step = format!("{verb} {:?} in {}", parameters[0], T::NAME);
    let step = step.as_str();
    link.retrying(|live| async move {
        live.client
            .execute(statement(&live.statements), parameters)
            .await
            .map_err(|e| failure(&live.client, location, step, e))
    })
    .await
}

/// The thread of a PostgreSQL helper and the channel its requests go down: dropping it
/// closes the channel and waits for the thread to finish.
pub(super) struct Worker<R> {
    pub(super) location: String,
    requests: Option<mpsc::UnboundedSender<R>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl<R> Worker<R> {
    pub(super) fn new(
        location: String,
        requests: mpsc::UnboundedSender<R>,
        thread: thread::JoinHandle<()>,
    ) -> Worker<R> {
        Worker {
            location,
            requests: Some(requests),
            thread: Some(thread),
        }
    }

    /// Sends a request and blocks until its answer.
    pub(super) fn ask<T>(&self, request: impl FnOnce(Reply<T>) -> R) -> Result<T, StoreError> {
        ask(self.requests.as_ref(), &self.location, request)
    }
}

impl<R> Drop for Worker<R> {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connects for a helper's set-up: creates the schema and runs `creates` in one transaction
/// under the schema's setup lock, and returns the connection, ready for its statements.
pub(super) async fn set_up(
    address: &Address,
    creates: &[String],
) -> Result<(Client, tokio::task::JoinHandle<()>), StoreError> {
    let location = address.location.as_str();
    let (client, driver) = connect(address).await?;
    let created = async {
        begin_setup(&client, address).await?;
        for statement in creates {
            client.batch_execute(statement).await?;
        }
        Ok::<(), tokio_postgres::Error>(())
    }
    .await
    .map_err(|e| pg_error(location, "create the tables", e));
    end_setup(&client, location, created).await?;
    Ok((client, driver))
}

// ---------------------------------------------------------------------------------------------
// The service's users

/// The table of the service's users (one document per user, keyed by its name).
pub(super) struct UserTable;

impl DocumentTable for UserTable {
    const NAME: &'static str = "users";
}

/// The service's users in the job store's PostgreSQL database (table `users`), so every node
/// of a cluster checks the same names and password hashes, and a node that takes over knows
/// them. Like the job store it interprets nothing: each user is an opaque document under its
/// name. Every call is blocking and durable when it returns.
pub struct PostgresUsers {
    worker: Worker<DocumentRequest>,
}

impl PostgresUsers {
    /// Connects to the database at `url` (as [`PostgresStore::open`] reads it), creating the
    /// schema and the table if absent. Blocking; callable from any thread.
    pub fn open(url: &str) -> Result<PostgresUsers, StoreError> {
        let address = Arc::new(Address::parse(url)?);
        let location = address.location.clone();
        let (requests, mut asked) = mpsc::unbounded_channel();
        let opening = Arc::clone(&address);
        let thread = start_thread(
            "cimjob-users-postgres",
            &location,
            move || async move {
                let (client, driver) = set_up(&opening, &[create_table::<UserTable>()]).await?;
                Live::<DocumentStatements<UserTable>>::prepared(client, driver, &opening).await
            },
            move |live| async move {
                let mut link = Link::new(Arc::clone(&address), live);
                while let Some(request) = asked.recv().await {
                    serve_document(&mut link, &address.location, request).await;
                }
                link.close().await;
            },
        )?;
        Ok(PostgresUsers {
            worker: Worker::new(location, requests, thread),
        })
    }

    /// Every user as `(name, document)`, ordered by name.
    pub fn all(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.worker.ask(DocumentRequest::All)
    }

    /// Replaces the document of a user (or inserts it).
    pub fn save(&self, name: &str, document: &str) -> Result<(), StoreError> {
        self.worker.ask(|reply| DocumentRequest::Save {
            key: name.to_owned(),
            document: document.to_owned(),
            reply,
        })
    }

    /// Inserts a new user; false, changing nothing, if the name is taken (by another node's
    /// or another command's insert too: the database decides).
    pub fn add(&self, name: &str, document: &str) -> Result<bool, StoreError> {
        self.worker.ask(|reply| DocumentRequest::Add {
            key: name.to_owned(),
            document: document.to_owned(),
            reply,
        })
    }

    /// Deletes a user; false if there was none.
    pub fn erase(&self, name: &str) -> Result<bool, StoreError> {
        self.worker.ask(|reply| DocumentRequest::Erase {
            key: name.to_owned(),
            reply,
        })
    }
}

impl std::fmt::Debug for PostgresUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresUsers")
            .field("location", &self.worker.location)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_hold_no_nul_come_back_whole_and_sort_as_the_keys_do() {
        let mut keys: Vec<&str> = vec![
            "a",
            "a\0b",
            "a\u{1}b",
            "a\u{1}",
            "a\0",
            "a b",
            "\0\u{1}\0",
            "é",
        ];
        keys.sort();
        let mut stored: Vec<String> = keys.iter().map(|k| stored_key(k)).collect();
        assert!(stored.iter().all(|k| !k.contains('\0')));
        let back: Vec<String> = stored.iter().map(|k| key_of(k)).collect();
        assert_eq!(back, keys);
        stored.sort();
        let back: Vec<String> = stored.iter().map(|k| key_of(k)).collect();
        assert_eq!(back, keys, "the stored keys sort as the keys do");
    }
}
