//! The JobState machine and the status that goes with each situation. Pure: no I/O, no clock.
//!
//! JobState alone does not say everything a client needs (a job held before its first start
//! and a job stopped mid-run are both Suspended), so the engine tracks a finer [`Situation`]
//! and derives JobState, OperationalStatus, StatusDescriptions, Status, HealthState,
//! PrimaryStatus, OperatingStatus, DetailedStatus and CommunicationStatus from the one
//! table in [`Situation::status`] (the README's state table).
//!
//! ```
//! use cimjob_rules::state::{Situation, request_state_change, Transition};
//! use cimjob_rules::model::value_maps::{JobState, StateChangeReturn};
//! let d = request_state_change(Situation::Running, 3);
//! assert_eq!(d.code, StateChangeReturn::CompletedWithNoError);
//! assert_eq!(d.transition, Some(Transition::StopProcess));
//! assert_eq!(Situation::Suspended.status().job_state, JobState::Suspended);
//! ```

use serde::{Deserialize, Serialize};

use crate::model::value_maps::{
    CommunicationStatus, DetailedStatus, HealthState, JobState, OperatingStatus, OperationalStatus,
    PrimaryStatus, RequestedState, StateChangeReturn,
};

/// Where a job is, finely enough to derive every status property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Situation {
    /// Submitted, waiting for a free slot (or for its time).
    Queued,
    /// Suspended before its first start: will not start until Start.
    Held,
    /// Chosen to run; its process is being started.
    Starting,
    /// Its process is running.
    Running,
    /// A recurring job between two runs.
    BetweenRuns,
    /// Its process group is stopped (SIGSTOP).
    Suspended,
    /// Asked to terminate or be killed; waiting for its processes to end.
    ShuttingDown,
    /// Finished OK.
    Completed,
    /// Finished with an error.
    Failed,
    /// Ended by a Terminate request.
    Terminated,
    /// Ended by a Kill request.
    Killed,
    /// In the vendor-specific Service state (process group stopped for inspection).
    InService,
    /// The work asked a question and waits for an answer.
    QueryPending,
}

/// Every status property that follows from a [`Situation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// CIM_ConcreteJob.JobState.
    pub job_state: JobState,
    /// CIM_ManagedSystemElement.OperationalStatus (primary status first).
    pub operational_status: &'static [OperationalStatus],
    /// The deprecated Status string (one of the MOF's allowed strings).
    pub status: &'static str,
    /// HealthState.
    pub health_state: HealthState,
    /// PrimaryStatus.
    pub primary_status: PrimaryStatus,
    /// OperatingStatus.
    pub operating_status: OperatingStatus,
    /// DetailedStatus.
    pub detailed_status: DetailedStatus,
    /// CommunicationStatus.
    pub communication_status: CommunicationStatus,
}

impl Situation {
    /// The one table: the README's state table, extended to every status property.
    pub const fn status(self) -> Status {
        use OperationalStatus as O;
        let (job_state, operational_status, status, operating_status): (
            JobState,
            &'static [OperationalStatus],
            &'static str,
            OperatingStatus,
        ) = match self {
            Situation::Queued => (JobState::New, &[O::Dormant], "OK", OperatingStatus::Dormant),
            Situation::Held => (
                JobState::Suspended,
                &[O::Dormant],
                "Stopped",
                OperatingStatus::Dormant,
            ),
            Situation::Starting => (
                JobState::Starting,
                &[O::Starting],
                "Starting",
                OperatingStatus::Starting,
            ),
            Situation::Running => (
                JobState::Running,
                &[O::Ok],
                "OK",
                OperatingStatus::InService,
            ),
            Situation::BetweenRuns => (
                JobState::Running,
                &[O::Dormant],
                "OK",
                OperatingStatus::Dormant,
            ),
            Situation::Suspended => (
                JobState::Suspended,
                &[O::Stopped],
                "Stopped",
                OperatingStatus::Stopped,
            ),
            Situation::ShuttingDown => (
                JobState::ShuttingDown,
                &[O::Stopping],
                "Stopping",
                OperatingStatus::ShuttingDown,
            ),
            Situation::Completed => (
                JobState::Completed,
                &[O::Completed, O::Ok],
                "OK",
                OperatingStatus::Completed,
            ),
            Situation::Failed => (
                JobState::Exception,
                &[O::Completed, O::Error],
                "Error",
                OperatingStatus::Completed,
            ),
            Situation::Terminated => (
                JobState::Terminated,
                &[O::Stopped],
                "Stopped",
                OperatingStatus::Stopped,
            ),
            Situation::Killed => (
                JobState::Killed,
                &[O::Aborted],
                "Stopped",
                OperatingStatus::Aborted,
            ),
            Situation::InService => (
                JobState::Service,
                &[O::InService],
                "Service",
                OperatingStatus::Servicing,
            ),
            Situation::QueryPending => (
                JobState::QueryPending,
                &[O::Ok],
                "OK",
                OperatingStatus::InService,
            ),
        };
        let failed = matches!(self, Situation::Failed);
        Status {
            job_state,
            operational_status,
            status,
            health_state: if failed {
                HealthState::MajorFailure
            } else {
                HealthState::Ok
            },
            primary_status: if failed {
                PrimaryStatus::Error
            } else {
                PrimaryStatus::Ok
            },
            operating_status,
            detailed_status: DetailedStatus::NoAdditionalInformation,
            communication_status: CommunicationStatus::CommunicationOk,
        }
    }

    /// A run is under way: started or starting, and not yet ended (it may be stopped, asking
    /// a question, or shutting down).
    pub const fn run_under_way(self) -> bool {
        matches!(
            self,
            Situation::Starting
                | Situation::Running
                | Situation::Suspended
                | Situation::QueryPending
                | Situation::InService
                | Situation::ShuttingDown
        )
    }

    /// Completed, Exception, Terminated or Killed: nothing more will happen to the job but
    /// its retention.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Situation::Completed | Situation::Failed | Situation::Terminated | Situation::Killed
        )
    }
}

/// What the engine must do to carry out an accepted request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transition {
    /// Queued → Held: the job will not start until Start.
    Hold,
    /// Held (or Service without a process) → Queued.
    Release,
    /// Stop the process group (SIGSTOP) and take the given situation.
    StopProcess,
    /// Continue the process group (SIGCONT) → Running.
    ContinueProcess,
    /// Stop the group for inspection → Service (SIGSTOP; already stopped if Suspended).
    EnterService,
    /// Keep the stopped group stopped but call it Suspended again.
    ServiceToSuspended,
    /// No process: becomes Terminated at once.
    TerminateNow,
    /// No process: becomes Killed at once.
    KillNow,
    /// SIGTERM (+SIGCONT) to the group, SIGKILL after the timeout; → Shutting Down → Terminated.
    TerminateProcess,
    /// SIGKILL to the group; → Shutting Down → Killed.
    KillProcess,
    /// The process is being started: remember the request and apply it once it has started.
    Defer,
}

/// The answer to one RequestStateChange: its return code and what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The method's return value.
    pub code: StateChangeReturn,
    /// What to do; `None` when nothing changes.
    pub transition: Option<Transition>,
}

impl Decision {
    const fn done(t: Transition) -> Decision {
        Decision {
            code: StateChangeReturn::CompletedWithNoError,
            transition: Some(t),
        }
    }
    const fn started(t: Transition) -> Decision {
        Decision {
            code: StateChangeReturn::TransitionStarted,
            transition: Some(t),
        }
    }
    const fn invalid() -> Decision {
        Decision {
            code: StateChangeReturn::InvalidStateTransition,
            transition: None,
        }
    }
    const fn nothing_to_do() -> Decision {
        Decision {
            code: StateChangeReturn::CompletedWithNoError,
            transition: None,
        }
    }
}

/// Decides a RequestStateChange(RequestedState) for a job in `current`.
///
/// Return codes follow spec §2/§3d: 0 when the change is complete on return, 4096 when it
/// has started and ends when the processes do (Terminate/Kill of live work, or any request
/// while the process is still being started), 4097 for a change the state does not allow
/// (every request on a finished job; Start of running work), 5 for a RequestedState value
/// the map does not define. TimeoutPeriod is supported, so 4098 is never returned.
pub fn request_state_change(current: Situation, requested: u16) -> Decision {
    use RequestedState as R;
    use Situation as S;
    use Transition as T;
    let Some(request) = RequestedState::from_number(requested) else {
        return Decision {
            code: StateChangeReturn::InvalidParameter,
            transition: None,
        };
    };
    match (current, request) {
        (S::Completed | S::Failed | S::Terminated | S::Killed, _) => Decision::invalid(),

        (S::Queued, R::Start) => Decision::nothing_to_do(),
        (S::Queued | S::BetweenRuns, R::Suspend) => Decision::done(T::Hold),
        (S::Queued | S::Held | S::BetweenRuns, R::Terminate) => Decision::done(T::TerminateNow),
        (S::Queued | S::Held | S::BetweenRuns, R::Kill) => Decision::done(T::KillNow),
        (S::Queued | S::BetweenRuns, R::Service) => Decision::invalid(),
        (S::BetweenRuns, R::Start) => Decision::invalid(),

        (S::Held, R::Start) => Decision::done(T::Release),
        (S::Held, R::Suspend) => Decision::invalid(),
        (S::Held, R::Service) => Decision::done(T::EnterService),

        (S::Starting, R::Start) => Decision::invalid(),
        (S::Starting, _) => Decision::started(T::Defer),

        (S::Running, R::Start) => Decision::invalid(),
        (S::Running, R::Suspend) => Decision::done(T::StopProcess),
        (S::Running, R::Service) => Decision::done(T::EnterService),

        (S::Suspended, R::Start) => Decision::done(T::ContinueProcess),
        (S::Suspended, R::Suspend) => Decision::invalid(),
        (S::Suspended, R::Service) => Decision::done(T::EnterService),

        (S::InService, R::Start) => Decision::done(T::ContinueProcess),
        (S::InService, R::Suspend) => Decision::done(T::ServiceToSuspended),
        (S::InService, R::Service) => Decision::invalid(),

        (S::QueryPending, R::Start | R::Suspend | R::Service) => Decision::invalid(),

        (S::ShuttingDown, R::Kill) => Decision::started(T::KillProcess),
        (S::ShuttingDown, _) => Decision::invalid(),

        (S::Running | S::Suspended | S::InService | S::QueryPending, R::Terminate) => {
            Decision::started(T::TerminateProcess)
        }
        (S::Running | S::Suspended | S::InService | S::QueryPending, R::Kill) => {
            Decision::started(T::KillProcess)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StateChangeReturn as C;
    use Transition as T;

    const ALL: [Situation; 13] = [
        Situation::Queued,
        Situation::Held,
        Situation::Starting,
        Situation::Running,
        Situation::BetweenRuns,
        Situation::Suspended,
        Situation::ShuttingDown,
        Situation::Completed,
        Situation::Failed,
        Situation::Terminated,
        Situation::Killed,
        Situation::InService,
        Situation::QueryPending,
    ];

    /// One row per (situation, request): the return code and the transition.
    #[test]
    fn every_situation_and_request() {
        use Situation as S;
        let start = 2;
        let suspend = 3;
        let terminate = 4;
        let kill = 5;
        let service = 6;
        let table: &[(Situation, u16, StateChangeReturn, Option<Transition>)] = &[
            (S::Queued, start, C::CompletedWithNoError, None),
            (S::Queued, suspend, C::CompletedWithNoError, Some(T::Hold)),
            (
                S::Queued,
                terminate,
                C::CompletedWithNoError,
                Some(T::TerminateNow),
            ),
            (S::Queued, kill, C::CompletedWithNoError, Some(T::KillNow)),
            (S::Queued, service, C::InvalidStateTransition, None),
            (S::Held, start, C::CompletedWithNoError, Some(T::Release)),
            (S::Held, suspend, C::InvalidStateTransition, None),
            (
                S::Held,
                terminate,
                C::CompletedWithNoError,
                Some(T::TerminateNow),
            ),
            (S::Held, kill, C::CompletedWithNoError, Some(T::KillNow)),
            (
                S::Held,
                service,
                C::CompletedWithNoError,
                Some(T::EnterService),
            ),
            (S::Starting, start, C::InvalidStateTransition, None),
            (S::Starting, suspend, C::TransitionStarted, Some(T::Defer)),
            (S::Starting, terminate, C::TransitionStarted, Some(T::Defer)),
            (S::Starting, kill, C::TransitionStarted, Some(T::Defer)),
            (S::Starting, service, C::TransitionStarted, Some(T::Defer)),
            (S::Running, start, C::InvalidStateTransition, None),
            (
                S::Running,
                suspend,
                C::CompletedWithNoError,
                Some(T::StopProcess),
            ),
            (
                S::Running,
                terminate,
                C::TransitionStarted,
                Some(T::TerminateProcess),
            ),
            (S::Running, kill, C::TransitionStarted, Some(T::KillProcess)),
            (
                S::Running,
                service,
                C::CompletedWithNoError,
                Some(T::EnterService),
            ),
            (S::BetweenRuns, start, C::InvalidStateTransition, None),
            (
                S::BetweenRuns,
                suspend,
                C::CompletedWithNoError,
                Some(T::Hold),
            ),
            (
                S::BetweenRuns,
                terminate,
                C::CompletedWithNoError,
                Some(T::TerminateNow),
            ),
            (
                S::BetweenRuns,
                kill,
                C::CompletedWithNoError,
                Some(T::KillNow),
            ),
            (S::BetweenRuns, service, C::InvalidStateTransition, None),
            (
                S::Suspended,
                start,
                C::CompletedWithNoError,
                Some(T::ContinueProcess),
            ),
            (S::Suspended, suspend, C::InvalidStateTransition, None),
            (
                S::Suspended,
                terminate,
                C::TransitionStarted,
                Some(T::TerminateProcess),
            ),
            (
                S::Suspended,
                kill,
                C::TransitionStarted,
                Some(T::KillProcess),
            ),
            (
                S::Suspended,
                service,
                C::CompletedWithNoError,
                Some(T::EnterService),
            ),
            (S::ShuttingDown, start, C::InvalidStateTransition, None),
            (S::ShuttingDown, suspend, C::InvalidStateTransition, None),
            (S::ShuttingDown, terminate, C::InvalidStateTransition, None),
            (
                S::ShuttingDown,
                kill,
                C::TransitionStarted,
                Some(T::KillProcess),
            ),
            (S::ShuttingDown, service, C::InvalidStateTransition, None),
            (
                S::InService,
                start,
                C::CompletedWithNoError,
                Some(T::ContinueProcess),
            ),
            (
                S::InService,
                suspend,
                C::CompletedWithNoError,
                Some(T::ServiceToSuspended),
            ),
            (
                S::InService,
                terminate,
                C::TransitionStarted,
                Some(T::TerminateProcess),
            ),
            (
                S::InService,
                kill,
                C::TransitionStarted,
                Some(T::KillProcess),
            ),
            (S::InService, service, C::InvalidStateTransition, None),
            (S::QueryPending, start, C::InvalidStateTransition, None),
            (S::QueryPending, suspend, C::InvalidStateTransition, None),
            (
                S::QueryPending,
                terminate,
                C::TransitionStarted,
                Some(T::TerminateProcess),
            ),
            (
                S::QueryPending,
                kill,
                C::TransitionStarted,
                Some(T::KillProcess),
            ),
            (S::QueryPending, service, C::InvalidStateTransition, None),
        ];
        for final_state in [S::Completed, S::Failed, S::Terminated, S::Killed] {
            for r in 2..=6 {
                let d = request_state_change(final_state, r);
                assert_eq!(d.code, C::InvalidStateTransition, "{final_state:?} {r}");
                assert_eq!(d.transition, None);
            }
        }
        for (s, r, code, t) in table {
            let d = request_state_change(*s, *r);
            assert_eq!((d.code, d.transition), (*code, *t), "{s:?} request {r}");
        }
        // the table covers every non-final situation with every request
        assert_eq!(table.len(), 9 * 5);
    }

    #[test]
    fn undefined_requested_states_are_invalid_parameters_and_never_4098() {
        for s in ALL {
            for r in [0u16, 1, 7, 100, 32767, 32768, 65535] {
                let d = request_state_change(s, r);
                assert_eq!(d.code, C::InvalidParameter, "{s:?} {r}");
                assert_eq!(d.transition, None);
            }
            for r in 0..=u16::MAX {
                assert_ne!(request_state_change(s, r).code, C::TimeoutNotSupported);
            }
        }
    }

    #[test]
    fn status_table_matches_design() {
        use JobState as J;
        use OperationalStatus as O;
        use Situation as S;
        let rows: &[(Situation, JobState, &[OperationalStatus])] = &[
            (S::Queued, J::New, &[O::Dormant]),
            (S::Held, J::Suspended, &[O::Dormant]),
            (S::Starting, J::Starting, &[O::Starting]),
            (S::Running, J::Running, &[O::Ok]),
            (S::BetweenRuns, J::Running, &[O::Dormant]),
            (S::Suspended, J::Suspended, &[O::Stopped]),
            (S::ShuttingDown, J::ShuttingDown, &[O::Stopping]),
            (S::Completed, J::Completed, &[O::Completed, O::Ok]),
            (S::Failed, J::Exception, &[O::Completed, O::Error]),
            (S::Terminated, J::Terminated, &[O::Stopped]),
            (S::Killed, J::Killed, &[O::Aborted]),
            (S::InService, J::Service, &[O::InService]),
            (S::QueryPending, J::QueryPending, &[O::Ok]),
        ];
        assert_eq!(rows.len(), ALL.len());
        for (s, j, o) in rows {
            let st = s.status();
            assert_eq!(st.job_state, *j, "{s:?}");
            assert_eq!(st.operational_status, *o, "{s:?}");
            assert!(st.status.len() <= 10, "Status MaxLen(10) for {s:?}");
        }
        assert_eq!(S::Failed.status().primary_status, PrimaryStatus::Error);
        assert_eq!(S::Completed.status().health_state, HealthState::Ok);
    }

    #[test]
    fn finality() {
        let finals: Vec<_> = ALL.iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals.len(), 4);
    }
}
