//! What a supervisor leaves when it exits with events no service has acknowledged (the runs
//! ended while the service was down): one file per run, `exits/<job>-<run>.json`, written
//! durably, read and deleted by the next service once what they say is durable in its store.

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use cimjob_rules::run::{RunKey, RunnerEvent};
use serde::{Deserialize, Serialize};

/// The folder, under the supervisors' folder, that holds the records.
pub const EXITS: &str = "exits";

/// The events of one run that no service acknowledged, in order (its last is how it ended).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// Which run.
    pub key: RunKey,
    /// What it did, not yet told.
    pub events: Vec<RunnerEvent>,
}

impl ExitRecord {
    /// Writes the record into `dir` (created if missing), durably: to a temporary file,
    /// flushed, renamed into place, and the folder flushed.
    pub fn write(&self, dir: &Path) -> io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let name = format!("{}-{}.json", self.key.job, self.key.run);
        let path = dir.join(&name);
        let temporary = dir.join(format!(".{name}.tmp"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(&serde_json::to_vec(self).map_err(io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(path)
    }

    /// Every record in `dir`, with its file, in no particular order; unreadable files are
    /// logged and skipped (they are left for an operator to look at).
    pub fn read_all(dir: &Path) -> Vec<(PathBuf, ExitRecord)> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut records = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
            {
                Ok(record) => records.push((path, record)),
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "an exit record cannot be read; left alone")
                }
            }
        }
        records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cimjob_rules::run::ExitOutcome;

    #[test]
    fn a_record_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let record = ExitRecord {
            key: RunKey { job: 7, run: 2 },
            events: vec![
                RunnerEvent::Progress {
                    percent: 80,
                    text: Some("almost".into()),
                },
                RunnerEvent::Exited(ExitOutcome::Exited(3)),
            ],
        };
        let path = record.write(dir.path()).unwrap();
        assert_eq!(path, dir.path().join("7-2.json"));
        assert_eq!(ExitRecord::read_all(dir.path()), vec![(path, record)]);
    }
}
