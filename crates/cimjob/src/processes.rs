//! The engine's [`Processes`] on this machine: the runner's process groups.
//!
//! The engine names only the trait, so its shell can be tested against a recording double;
//! this is the one place the service wires it to real processes.

use std::path::PathBuf;
use std::time::SystemTime;

use cimjob_engine::{Processes, Reports};
use cimjob_runner::{
    kill_orphan, remove_logs, ProcessIdentity, RunKey, Runner, WorkSignal, WorkSpec,
};

/// The runner, as the engine drives it.
pub struct LocalProcesses {
    runner: Runner,
}

impl LocalProcesses {
    /// A runner and the channel its runs report on, for [`cimjob_engine::start`].
    pub fn start() -> (Box<dyn Processes>, Reports) {
        let (events, reports) = tokio::sync::mpsc::unbounded_channel();
        let processes = LocalProcesses {
            runner: Runner::new(events),
        };
        (Box::new(processes), reports)
    }
}

impl Processes for LocalProcesses {
    fn start(&mut self, key: RunKey, spec: WorkSpec, not_before: Option<SystemTime>) {
        self.runner.start(key, spec, not_before);
    }

    fn signal(&mut self, key: RunKey, signal: WorkSignal) -> Result<(), String> {
        self.runner.signal(key, signal).map_err(|e| e.to_string())
    }

    fn answer(&mut self, key: RunKey, text: &str) -> Result<(), String> {
        self.runner.answer(key, text).map_err(|e| e.to_string())
    }

    fn kill_orphan(&mut self, identity: ProcessIdentity) -> bool {
        kill_orphan(identity)
    }

    fn remove_logs(&mut self, paths: Vec<PathBuf>) {
        // a job that ran every minute for a year has half a million logs: off the engine
        drop(tokio::task::spawn_blocking(move || remove_logs(&paths)));
    }

    fn stop(&mut self) {
        self.runner.stop();
    }
}
