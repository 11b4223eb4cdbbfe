//! A schema of its own in the real PostgreSQL server for each test, so tests run side by side
//! on one database and leave nothing behind; and, for a test that must stop and start the
//! server itself, a [`PrivateServer`] of its own.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;

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
        TestSchema::new_on(&test_database_url(), label)
    }

    /// A fresh schema for the test `label` in the database at `base`.
    pub fn new_on(base: &str, label: &str) -> TestSchema {
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
        TestSchema::named_on(base, &name)
    }

    /// The schema `name` (PostgreSQL keeps its first 63 bytes), emptied first if a run that
    /// died left it behind.
    pub fn named(name: &str) -> TestSchema {
        TestSchema::named_on(&test_database_url(), name)
    }

    fn named_on(base: &str, name: &str) -> TestSchema {
        let schema = TestSchema {
            base: base.to_owned(),
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

/// A PostgreSQL server of the test's own (initdb into a temporary dir, trust auth, a loopback
/// port of its own), which the test may stop and start while the shared server stays up for
/// every other test. Stopped, immediately, when dropped.
#[derive(Debug)]
pub struct PrivateServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// The newest PostgreSQL server binaries on this machine (Debian keeps them per version).
fn server_binaries() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no PostgreSQL server binaries in /usr/lib/postgresql")?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

impl PrivateServer {
    /// Creates the cluster and starts the server (as the `postgres` account when the tests
    /// run as root: the server refuses to run as root).
    pub fn start() -> anyhow::Result<PrivateServer> {
        let bin = server_binaries()?;
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let server = PrivateServer { dir, bin, port };
        if nix::unistd::geteuid().is_root() {
            let done = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.dir.path())
                .status()?;
            anyhow::ensure!(done.success(), "cannot give the server's dir to postgres");
        }
        server.run(
            "initdb",
            &["--auth=trust", "--username=postgres", "--no-sync", "-D"],
        )?;
        server.start_again()?;
        Ok(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server's programs with `args` and the data dir after them.
    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let mut command = if nix::unistd::geteuid().is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(program));
            c
        } else {
            Command::new(self.bin.join(program))
        };
        let out = command
            .args(args)
            .arg(self.data())
            .stdin(Stdio::null())
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }

    /// Starts the server (after [`stop`](Self::stop)) and waits until it accepts connections.
    pub fn start_again(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let log = log.to_str().context("the log's path")?;
        self.run(
            "pg_ctl",
            &["start", "-w", "-t", "60", "-l", log, "-o", &options, "-D"],
        )
    }

    /// Stops the server the way `systemctl restart` does (fast: sessions are ended, what
    /// committed is kept).
    pub fn stop(&self) -> anyhow::Result<()> {
        self.run("pg_ctl", &["stop", "-w", "-t", "60", "-m", "fast", "-D"])
    }

    /// Stops the server the way a crash does (immediate: no checkpoint, sessions cut; the next
    /// start recovers from the WAL, keeping what committed).
    pub fn crash(&self) -> anyhow::Result<()> {
        self.run(
            "pg_ctl",
            &["stop", "-w", "-t", "60", "-m", "immediate", "-D"],
        )
    }

    /// The URL of the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fresh schema on this server.
    pub fn schema(&self, label: &str) -> TestSchema {
        TestSchema::new_on(&self.url(), label)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["stop", "-w", "-t", "30", "-m", "immediate", "-D"],
        );
    }
}
