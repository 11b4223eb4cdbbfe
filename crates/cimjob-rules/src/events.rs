//! What changed, announced to watchers only after it is durable.
//!
//! Every change the engine makes to a job produces one [`Event`] holding the job before and
//! after, which is what CIM indications (InstCreation, InstModification with
//! PreviousInstance, InstDeletion), the dashboard and `cimjob watch` all need.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use crate::model::Job;

/// One change to one job.
#[derive(Clone, Debug)]
pub struct Event {
    /// Increases by one per event for the life of the service (the SequenceNumber of
    /// indications).
    pub sequence: u64,
    /// When the engine made the change.
    pub at: Timestamp,
    /// The job's LocalID.
    pub job: u64,
    /// What kind of change.
    pub kind: EventKind,
    /// The job before the change (`None` for a creation).
    pub previous: Option<Arc<Job>>,
    /// The job after the change (`None` for a deletion).
    pub current: Option<Arc<Job>>,
}

/// The kind of change, coarse enough to filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EventKind {
    /// The job was submitted.
    Created,
    /// JobState (or the situation behind it) changed.
    StateChanged,
    /// PercentComplete or the progress text changed.
    Progress,
    /// Any other property changed (a modification, a re-run plan).
    Modified,
    /// The job was deleted.
    Deleted,
}
