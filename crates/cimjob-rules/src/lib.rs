//! The rules of cimjob, pure: everything that knows what a `CIM_ConcreteJob` is and how it
//! moves, and nothing that touches a process, a file, a socket or the clock.
//!
//! - [`model`]: the job's properties, their qualifiers and value maps, typed, in one table.
//! - [`state`]: the JobState machine and the status that goes with each situation.
//! - [`schedule`]: the calendar rule of CIM_Job and its next run.
//! - [`plan`]: when a job runs: its schedule, ScheduledStartTime, UntilTime, JobRunTimes.
//! - [`core`]: the engine's rules as a sans-IO value: inputs and the time go in, store
//!   batches, process actions and events come out.
//! - [`run`], [`record`], [`events`]: the plain data the rules hand to the runner, the store
//!   and the announcers.
//!
//! What must stay true: no dependency on an async runtime, a database, an HTTP stack or an
//! OS-interface crate (`tests/purity.rs` checks the dependency tree), no reading of the
//! clock or the system's time zone (both are parameters), no logging (what an operator
//! should hear of comes out as [`core::Note`]s). So every rule is a fast deterministic test.
//!
//! ```
//! use cimjob_rules::core::{Core, CoreConfig};
//! use cimjob_rules::model::value_maps::JobState;
//!
//! let now: jiff::Timestamp = "2026-12-01T02:00:00Z".parse()?;
//! let config = CoreConfig::new("/var/lib/cimjob/logs".into(), "alice", jiff::tz::TimeZone::UTC, 2);
//! let (mut core, start) = Core::recover(config, Vec::new(), 0, 0, now, &Default::default());
//! // it asks what the store holds at rest (the ready queue, what wakes soon): here, nothing
//! for read in start.reads {
//!     assert!(core.read_back(read, Ok(Vec::new()), now).reads.is_empty());
//! }
//! let argv = cim::CimArray::new(cim::CimType::String, vec!["/bin/true".into()])?;
//! let values = vec![
//!     ("Name".to_string(), Some("backup".into())),
//!     ("CommandLine".to_string(), Some(cim::CimValue::Array(argv))),
//! ];
//! let (id, step) = core.submit(&values, "alice", false, now)?;
//! // the job starts at once: its Starting state is in the batch, its spawn waits for the commit
//! assert_eq!(core.job(id).unwrap().situation.status().job_state, JobState::Starting);
//! assert!(!step.batch.is_empty() && !step.after_commit.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod core;
pub mod events;
pub mod model;
pub mod plan;
pub mod record;
pub mod run;
pub mod schedule;
pub mod state;
