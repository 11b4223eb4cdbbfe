//! The store's schema as ordered lists of versioned migrations, one list per backend.
//!
//! The SQL is not portable as a whole: SQLite keeps the change record's `seq` as its 64-bit
//! rowid (`INTEGER PRIMARY KEY`) and its documents as a `BLOB`, where PostgreSQL needs
//! `BIGINT PRIMARY KEY` and `BYTEA`. So each backend has its own list ([`SQLITE_MIGRATIONS`],
//! [`POSTGRES_MIGRATIONS`]), numbered alike so that a version names the same schema in both,
//! and sharing what is plain SQL to both (PostgreSQL's version 1 is SQLite's). What the
//! backends share in code is [`pending`]: which migrations a database still needs, and the
//! refusal of a database recorded by a newer build. Each backend records what it applied in
//! the same `schema_migrations` table ([`CREATE_SCHEMA_MIGRATIONS`]), one statement per string
//! (PostgreSQL's extended protocol runs one statement at a time).
//!
//! Conventions: integers that may exceed 2^31 are `BIGINT`; times are `BIGINT` microseconds
//! since the Unix epoch, in columns ending `_us` (or `updated_at`/`applied_at`).
//!
//! Never edit a migration that has shipped; add a new one with the next version, to each list.

use crate::StoreError;

/// One step of the schema's history.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Position in the history, from 1, without gaps.
    pub(crate) version: i64,
    /// Recorded next to the version, so a DBA reading `schema_migrations` sees what each did.
    pub(crate) description: &'static str,
    /// The statements, run in order inside the migration's transaction.
    pub(crate) statements: &'static [&'static str],
}

/// Creates the bookkeeping table; safe to run on every open.
pub(crate) const CREATE_SCHEMA_MIGRATIONS: &str = "\
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER NOT NULL PRIMARY KEY,
    description TEXT    NOT NULL,
    applied_at  BIGINT  NOT NULL
)";

/// The versions a database has recorded.
pub(crate) const SELECT_APPLIED: &str = "SELECT version FROM schema_migrations ORDER BY version";

/// Records one applied migration: its version, description and time (microseconds).
pub(crate) const RECORD_APPLIED: &str =
    "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)";

/// The highest version in `list`: what this build knows, and beyond which a database is refused.
pub(crate) fn latest(list: &[Migration]) -> i64 {
    list.last().map_or(0, |migration| migration.version)
}

/// The migrations of `list` that a database which recorded the versions `applied` still
/// needs, in version order; or [`StoreError::SchemaTooNew`] when it recorded a version beyond
/// the list, since this build could damage what a newer one wrote.
pub(crate) fn pending<'a>(
    list: &'a [Migration],
    applied: &[i64],
    location: &str,
) -> Result<Vec<&'a Migration>, StoreError> {
    let known = latest(list);
    if let Some(&found) = applied.iter().max() {
        if found > known {
            return Err(StoreError::SchemaTooNew {
                location: location.to_owned(),
                found,
                known,
            });
        }
    }
    Ok(list
        .iter()
        .filter(|migration| !applied.contains(&migration.version))
        .collect())
}

/// Every SQLite migration, in version order.
pub(crate) const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "jobs, their run history, and the LocalID high-water mark",
        statements: &[
            // One row per job: the opaque document plus the columns queries need.
            "CREATE TABLE jobs (
            local_id   BIGINT  NOT NULL PRIMARY KEY CHECK (local_id >= 0),
            job_state  INTEGER NOT NULL CHECK (job_state BETWEEN 0 AND 65535),
            priority   BIGINT  NOT NULL CHECK (priority BETWEEN 0 AND 4294967295),
            owner      TEXT    NOT NULL,
            document   TEXT    NOT NULL CHECK (document <> ''),
            updated_at BIGINT  NOT NULL
        )",
            // Finding runnable (or formerly running) jobs in the order they should run.
            "CREATE INDEX jobs_by_state ON jobs (job_state, priority, local_id)",
            // Listing one user's jobs.
            "CREATE INDEX jobs_by_owner ON jobs (owner, local_id)",
            // One row per run; deleting a job deletes its runs.
            "CREATE TABLE job_runs (
            local_id          BIGINT  NOT NULL REFERENCES jobs (local_id) ON DELETE CASCADE,
            run_number        BIGINT  NOT NULL CHECK (run_number BETWEEN 0 AND 4294967295),
            started_at_us     BIGINT  NOT NULL,
            ended_at_us       BIGINT,
            exit_status       INTEGER,
            signal            INTEGER,
            error_code        INTEGER NOT NULL CHECK (error_code BETWEEN 0 AND 65535),
            error_description TEXT,
            final_state       INTEGER CHECK (final_state BETWEEN 0 AND 65535),
            PRIMARY KEY (local_id, run_number)
        )",
            // Store-wide values; `last_local_id` is the LocalID high-water mark.
            "CREATE TABLE meta (
            key   TEXT   NOT NULL PRIMARY KEY,
            value BIGINT NOT NULL
        )",
            "INSERT INTO meta (key, value) VALUES ('last_local_id', 0)",
        ],
    },
    Migration {
        version: 2,
        description: "drop the indexes no query used: every state change rewrote their entries",
        statements: &[
            "DROP INDEX IF EXISTS jobs_by_state",
            "DROP INDEX IF EXISTS jobs_by_owner",
        ],
    },
    Migration {
        version: 3,
        description: "the change record that consumers read from their own positions",
        statements: &[
            // One row per change of a job, both documents kept (compressed together, see
            // `change_docs`): a consumer needs the job before and after (a PreviousInstance)
            // whatever was pruned before it. `seq` is SQLite's 64-bit rowid (INTEGER
            // PRIMARY KEY): appending costs no second index.
            "CREATE TABLE changes (
            seq   INTEGER NOT NULL PRIMARY KEY CHECK (seq > 0),
            at_us BIGINT  NOT NULL,
            job   BIGINT  NOT NULL,
            kind  INTEGER NOT NULL,
            docs  BLOB    NOT NULL
        )",
            CREATE_POSITIONS,
            START_LAST_CHANGE,
        ],
    },
    Migration {
        version: 4,
        description: SETTLED_DESCRIPTION,
        statements: SETTLED_STATEMENTS,
    },
    Migration {
        version: 5,
        description: AT_REST_DESCRIPTION,
        statements: AT_REST_STATEMENTS,
    },
];

/// Where each consumer of the change record is: the last change it has dealt with (version 3
/// of both lists).
const CREATE_POSITIONS: &str = "CREATE TABLE positions (
            consumer TEXT   NOT NULL PRIMARY KEY,
            seq      BIGINT NOT NULL
        )";

/// Settled jobs told apart (both lists): a starting node reads only the jobs the rules may
/// still move and the removal times of the others, each through a partial index that holds
/// only those rows. Rows written before it count as not settled; the engine writes them again.
const SETTLED_DESCRIPTION: &str =
    "settled jobs told apart, so a starting node reads only the jobs still in play";

/// [`SETTLED_DESCRIPTION`]'s statements.
const SETTLED_STATEMENTS: &[&str] = &[
    "ALTER TABLE jobs ADD COLUMN settled INTEGER NOT NULL DEFAULT 0 CHECK (settled IN (0, 1))",
    "ALTER TABLE jobs ADD COLUMN removal_due_us BIGINT",
    "CREATE INDEX jobs_unsettled ON jobs (local_id) WHERE settled = 0",
    "CREATE INDEX jobs_removals ON jobs (local_id) WHERE removal_due_us IS NOT NULL",
];

/// Jobs at rest told apart (both lists): the ready queue and the wake times live in the
/// store, each behind a partial index in the order it is read, so a node holds only the head
/// of the queue and the jobs whose time is near, and a start reads only the jobs in play. A
/// settled job's removal time becomes its wake time. Rows written before it count as in
/// play; the engine writes them again.
const AT_REST_DESCRIPTION: &str =
    "the ready queue and the wake times in the store, so a node holds only the jobs in play";

/// [`AT_REST_DESCRIPTION`]'s statements.
const AT_REST_STATEMENTS: &[&str] = &[
    "ALTER TABLE jobs ADD COLUMN ready INTEGER NOT NULL DEFAULT 0 CHECK (ready IN (0, 1))",
    "ALTER TABLE jobs ADD COLUMN wake_us BIGINT",
    "UPDATE jobs SET wake_us = removal_due_us WHERE settled = 1",
    "DROP INDEX jobs_unsettled",
    "DROP INDEX jobs_removals",
    "ALTER TABLE jobs DROP COLUMN removal_due_us",
    "CREATE INDEX jobs_in_play ON jobs (local_id) WHERE settled = 0 AND ready = 0 AND wake_us IS NULL",
    "CREATE INDEX jobs_ready ON jobs (priority, local_id) WHERE ready = 1",
    "CREATE INDEX jobs_waking ON jobs (wake_us, local_id) WHERE wake_us IS NOT NULL",
];

/// The change record's numbering starts at 0 (version 3 of both lists).
const START_LAST_CHANGE: &str = "INSERT INTO meta (key, value) VALUES ('last_change', 0)";

/// Every PostgreSQL migration, in version order: versions 1 to 3 are [`SQLITE_MIGRATIONS`]'
/// (4, the nodes' leases, only a shared database needs; SQLite's 4 is PostgreSQL's 5).
pub(crate) const POSTGRES_MIGRATIONS: &[Migration] = &[
    // Plain SQL that PostgreSQL accepts as it is: the very statements SQLite ran.
    Migration {
        version: 1,
        description: SQLITE_MIGRATIONS[0].description,
        statements: SQLITE_MIGRATIONS[0].statements,
    },
    Migration {
        version: 2,
        description: "drop the index no query used; keep jobs_by_state, through which the nodes \
                      of a cluster claim runnable jobs in order",
        statements: &[
            // SQLite's single node never searches by state, so it dropped jobs_by_state too.
            // Nodes sharing PostgreSQL will claim the next runnable jobs (`FOR UPDATE SKIP
            // LOCKED`, ordered by priority and LocalID): that query needs it.
            "DROP INDEX IF EXISTS jobs_by_owner",
        ],
    },
    Migration {
        version: 3,
        description: SQLITE_MIGRATIONS[2].description,
        statements: &[
            // One row per change of a job, both documents kept (compressed together, see
            // `change_docs`): a consumer needs the job before and after (a PreviousInstance)
            // whatever was pruned before it.
            "CREATE TABLE changes (
            seq   BIGINT  NOT NULL PRIMARY KEY CHECK (seq > 0),
            at_us BIGINT  NOT NULL,
            job   BIGINT  NOT NULL,
            kind  INTEGER NOT NULL,
            docs  BYTEA   NOT NULL
        )",
            CREATE_POSITIONS,
            START_LAST_CHANGE,
        ],
    },
    Migration {
        version: 4,
        description: "nodes: each node's lease and incarnation (PostgreSQL only)",
        statements: &[
            // One row per node that ever served the schema; see `lease`.
            "CREATE TABLE nodes (
            node        TEXT        NOT NULL PRIMARY KEY,
            incarnation BIGINT      NOT NULL CHECK (incarnation > 0),
            lease_until TIMESTAMPTZ NOT NULL,
            fenced_by   TEXT,
            joined_at   TIMESTAMPTZ NOT NULL
        )",
        ],
    },
    Migration {
        version: 5,
        description: SETTLED_DESCRIPTION,
        statements: SETTLED_STATEMENTS,
    },
    Migration {
        version: 6,
        description: AT_REST_DESCRIPTION,
        statements: AT_REST_STATEMENTS,
    },
    Migration {
        version: 7,
        description: "drop jobs_by_state: the nodes claim ready jobs through jobs_ready",
        statements: &["DROP INDEX IF EXISTS jobs_by_state"],
    },
    Migration {
        version: 8,
        description: "several nodes serve at once: each job's holder, the claims' indexes, and \
                      the requests one node sends the holder of a job (PostgreSQL only)",
        statements: &[
            // The node whose core holds the job (NULL: at rest, for any node to claim); the
            // jobs in play of a schema one node served are taken by the next to join.
            "ALTER TABLE jobs ADD COLUMN holder TEXT",
            // A claim of ready jobs, in (Priority, LocalID) order, skips the held ones for
            // free: only the claimable are in the index.
            "CREATE INDEX jobs_claimable ON jobs (priority, local_id) \
             WHERE ready = 1 AND holder IS NULL",
            "CREATE INDEX jobs_claimable_waking ON jobs (wake_us, local_id) \
             WHERE wake_us IS NOT NULL AND holder IS NULL",
            // A start's load and a rescue read one node's jobs.
            "CREATE INDEX jobs_held ON jobs (holder, local_id) WHERE holder IS NOT NULL",
            // A call about a job another node holds, for that node to carry out and answer.
            "CREATE TABLE job_requests (
            id       BIGSERIAL   PRIMARY KEY,
            node     TEXT        NOT NULL,
            local_id BIGINT      NOT NULL,
            request  TEXT        NOT NULL,
            taken    BOOLEAN     NOT NULL DEFAULT false,
            answer   TEXT,
            asked_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
            "CREATE INDEX job_requests_open ON job_requests (node, id) WHERE NOT taken",
            // Who does what one node of the cluster must do (delivering the indications):
            // the role is a node's while its lease (of that incarnation) runs.
            "CREATE TABLE roles (
            role        TEXT   NOT NULL PRIMARY KEY,
            node        TEXT   NOT NULL,
            incarnation BIGINT NOT NULL
        )",
            // How a statement refuses a write (a job another node holds) with a message.
            "CREATE FUNCTION cimjob_refuse(message TEXT) RETURNS INTEGER LANGUAGE plpgsql \
             AS $$ BEGIN RAISE EXCEPTION USING MESSAGE = message, ERRCODE = 'P0001'; END $$",
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_without_gaps_and_postgresql_has_every_sqlite_version() {
        for list in [SQLITE_MIGRATIONS, POSTGRES_MIGRATIONS] {
            for (i, migration) in list.iter().enumerate() {
                assert_eq!(migration.version, i as i64 + 1, "{}", migration.description);
            }
        }
        // PostgreSQL has versions of its own after SQLite's (what only shared databases
        // need, such as the nodes' leases)
        assert!(latest(SQLITE_MIGRATIONS) <= latest(POSTGRES_MIGRATIONS));
    }

    /// FNV-1a over every version, description and statement.
    fn fingerprint(list: &[Migration]) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for &byte in bytes.iter().chain(&[0]) {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for migration in list {
            feed(migration.version.to_string().as_bytes());
            feed(migration.description.as_bytes());
            for statement in migration.statements {
                feed(statement.as_bytes());
            }
        }
        hash
    }

    #[test]
    fn shipped_sqlite_migrations_are_never_edited() {
        // Databases in the field ran exactly this SQL. Adding a migration changes the value:
        // pin the new one; changing this value for an edited migration is the bug.
        assert_eq!(
            fingerprint(SQLITE_MIGRATIONS),
            0xbfb6_31f5_335d_7b64,
            "a shipped SQLite migration was edited"
        );
    }

    #[test]
    fn pending_skips_what_is_applied_and_refuses_a_newer_database() {
        let versions = |list: Vec<&Migration>| list.iter().map(|m| m.version).collect::<Vec<_>>();
        let all = pending(SQLITE_MIGRATIONS, &[], "db").unwrap();
        assert_eq!(versions(all), vec![1, 2, 3, 4, 5]);
        let rest = pending(POSTGRES_MIGRATIONS, &[1, 3], "db").unwrap();
        assert_eq!(versions(rest), vec![2, 4, 5, 6, 7, 8]);
        assert!(pending(SQLITE_MIGRATIONS, &[1, 2, 3, 4, 5], "db")
            .unwrap()
            .is_empty());
        let refused = pending(POSTGRES_MIGRATIONS, &[1, 2, 3, 4, 5, 6, 7, 8, 9], "db").unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::SchemaTooNew {
                    found: 9,
                    known: 8,
                    ..
                }
            ),
            "{refused:?}"
        );
    }
}
