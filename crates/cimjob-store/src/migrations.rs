//! The store's schema as an ordered list of versioned migrations.
//!
//! Every backend applies the same list: each migration in its own transaction, recorded in
//! `schema_migrations`, skipping those already recorded, and refusing a database whose recorded
//! version is newer than [`LATEST_VERSION`]. So the SQL here must stay portable between SQLite
//! and PostgreSQL: plain tables, `INTEGER`/`BIGINT`/`TEXT`, standard constraints, one
//! statement per string (PostgreSQL's extended protocol runs one statement at a time).
//!
//! Conventions: integers that may exceed 2^31 are `BIGINT`; times are `BIGINT` microseconds
//! since the Unix epoch, in columns ending `_us` (or `updated_at`/`applied_at`).
//!
//! Never edit a migration that has shipped; add a new one with the next version.

/// One step of the schema's history.
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

/// The highest version this build knows; a database beyond it is refused.
pub(crate) const LATEST_VERSION: i64 = 3;

/// Every migration, in version order.
pub(crate) const MIGRATIONS: &[Migration] = &[
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
            // Where each consumer is: the last change it has dealt with.
            "CREATE TABLE positions (
            consumer TEXT   NOT NULL PRIMARY KEY,
            seq      BIGINT NOT NULL
        )",
            "INSERT INTO meta (key, value) VALUES ('last_change', 0)",
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_without_gaps() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i as i64 + 1, "{}", migration.description);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(LATEST_VERSION));
    }
}
