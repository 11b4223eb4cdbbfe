//! The job side of cimjob: everything that knows what a `CIM_ConcreteJob` is and does.
//!
//! - [`model`]: the job's properties, their qualifiers and value maps, typed, in one table.
//! - [`schedule`]: the calendar rule of CIM_Job and its next run (pure).
//! - [`plan`]: when a job runs: its schedule, ScheduledStartTime, UntilTime, JobRunTimes (pure).
//! - [`state`]: the JobState machine and the status that goes with each situation (pure).
//! - [`core`]: the engine's rules as a sans-IO state machine: inputs and the time go in,
//!   store batches, process actions and events come out.
//! - [`engine`]: the thin async shell that feeds [`core`] from clients, the runner, timers
//!   and the store.
//! - [`store`]: the source of truth (SQLite now, PostgreSQL later) behind one trait.
//! - [`runner`]: runs a job's command as its own process group.
//! - [`events`]: what changed, announced after it is durable.

pub mod core;
pub mod engine;
pub mod events;
pub mod model;
pub mod plan;
pub mod runner;
pub mod schedule;
pub mod state;
pub mod store;
