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
    /// Its place in the durable change record: one more per change, across restarts.
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

impl EventKind {
    /// Every kind, with the number the change record keeps it as.
    const NUMBERS: [(EventKind, u8); 5] = [
        (EventKind::Created, 1),
        (EventKind::StateChanged, 2),
        (EventKind::Progress, 3),
        (EventKind::Modified, 4),
        (EventKind::Deleted, 5),
    ];

    /// The number the change record keeps this kind as.
    ///
    /// ```
    /// use cimjob_rules::events::EventKind;
    /// assert_eq!(EventKind::from_number(EventKind::Deleted.number()), Some(EventKind::Deleted));
    /// ```
    pub fn number(self) -> u8 {
        Self::NUMBERS
            .iter()
            .find(|(k, _)| *k == self)
            .map_or(0, |(_, n)| *n)
    }

    /// The kind the change record's number stands for.
    pub fn from_number(number: u8) -> Option<EventKind> {
        Self::NUMBERS
            .iter()
            .find(|(_, n)| *n == number)
            .map(|(k, _)| *k)
    }
}
