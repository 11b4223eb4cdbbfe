//! A schema of its own in the real PostgreSQL server for each test, so tests run side by side
//! on one database and leave nothing behind.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The database tests use unless `$CIMJOB_TEST_DATABASE_URL` names another: the local server
/// that `scripts/ensure-postgres` makes sure of (trust auth, database `test`).
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The database URL the tests run against.
pub fn test_database_url() -> String {
    std::env::var("CIMJOB_TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string())
}

/// One test's schema: [`TestSchema::url`] points a store (or a `cimjob serve
/// --database-url`) at it; the store creates it, and dropping this removes it with all it
/// holds.
#[derive(Debug)]
pub struct TestSchema {
    base: String,
    name: String,
}

impl TestSchema {
    /// A fresh schema name for the test `label`, unique across the processes and the calls
    /// of one run (pid and a counter).
    pub fn new(label: &str) -> TestSchema {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(30)
            .collect();
        let name = format!(
            "cimjob_t_{}_{}_{label}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        TestSchema::named(&name)
    }

    /// The schema `name` (PostgreSQL keeps its first 63 bytes), emptied first if a run that
    /// died left it behind.
    pub fn named(name: &str) -> TestSchema {
        let schema = TestSchema {
            base: test_database_url(),
            name: name.chars().take(63).collect(),
        };
        schema.drop_schema();
        schema
    }

    fn drop_schema(&self) {
        let quoted = format!("\"{}\"", self.name.replace('"', "\"\""));
        if let Err(e) = self.psql(&format!("DROP SCHEMA IF EXISTS {quoted} CASCADE")) {
            eprintln!("could not drop the test schema {}: {e:#}", self.name);
        }
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database URL with `search_path` set to this schema.
    pub fn url(&self) -> String {
        let joiner = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{joiner}search_path={}", self.base, self.name)
    }

    /// Runs one SQL statement on the test database with `psql`, failing with what the server
    /// said; for what a test must do outside cimjob (kill a connection, count rows).
    pub fn psql(&self, sql: &str) -> anyhow::Result<String> {
        let out = Command::new("psql")
            .arg(&self.base)
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGOPTIONS", format!("-c search_path=\"{}\"", self.name))
            .stdin(Stdio::null())
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "psql {sql:?} on {}: {}",
            self.base,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        self.drop_schema();
    }
}
