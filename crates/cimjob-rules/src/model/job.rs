//! The job: every CIM_ConcreteJob property that is stored (derived ones live in
//! [`crate::state`]), our CIMJOB extensions, and the engine's own bookkeeping.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use cim::CimDateTime;

use crate::model::value_maps::{
    JobErrorCode, LocalOrUtcTime, MissedRunPolicy, OverlapPolicy, RecoveryAction,
};
use crate::run::ProcessIdentity;
use crate::state::Situation;

/// The OrgID of every InstanceID we hand out (`CIMJOB:<LocalID>`).
pub const ORG_ID: &str = "CIMJOB";

/// The retention the class gives by default: five minutes.
pub const DEFAULT_TIME_BEFORE_REMOVAL: SignedDuration = SignedDuration::from_secs(300);

/// The priority of a job that names none: CIM_JobQueue.DefaultJobPriority.
pub const DEFAULT_PRIORITY: u32 = 65535;

/// One CIMJOB_ConcreteJob. Front ends read it through the property table (`model::properties`); only the
/// engine changes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The LocalID part of InstanceID; also the submission order.
    pub local_id: u64,
    /// Name (Required).
    pub name: String,
    /// Caption (MaxLen 64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// ElementName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element_name: Option<String>,
    /// Owner: who submitted it.
    pub owner: String,
    /// Notify: the user told when it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// Priority: lower runs first.
    pub priority: u32,
    /// DeleteOnCompletion.
    pub delete_on_completion: bool,
    /// TimeBeforeRemoval.
    pub time_before_removal: SignedDuration,
    /// RecoveryAction.
    pub recovery_action: RecoveryAction,
    /// OtherRecoveryAction (when RecoveryAction is Other).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_recovery_action: Option<String>,
    /// CIMJOB extension RecoveryJob: the LocalID of the job Run Recovery Job starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_job: Option<u64>,
    /// JobRunTimes: how many runs in all; 0 = unlimited.
    pub job_run_times: u32,
    /// ScheduledStartTime (deprecated): the earliest start, absolute or from submission.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_start_time: Option<CimDateTime>,
    /// RunMonth (0 = January).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_month: Option<u8>,
    /// RunDay.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_day: Option<i8>,
    /// RunDayOfWeek.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_day_of_week: Option<i8>,
    /// RunStartInterval: the time after midnight.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_start_interval: Option<CimDateTime>,
    /// LocalOrUtcTime.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_or_utc_time: Option<LocalOrUtcTime>,
    /// UntilTime: absolute or from submission; no runs after it.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_time: Option<CimDateTime>,
    /// CIMJOB extension TimeZone: the IANA zone local times are read in.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// CIMJOB extension MissedRunPolicy: what a restart does with a run it missed.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed_run_policy: Option<MissedRunPolicy>,
    /// CIMJOB extension RepeatInterval: the job recurs this often (a CIM interval).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<CimDateTime>,
    /// CIMJOB extension CalendarExpression: when the job recurs, in systemd's OnCalendar
    /// syntax.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar_expression: Option<String>,
    /// CIMJOB extension OverlapPolicy: what an occurrence does that comes while the previous
    /// run still goes (NULL = Skip).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap_policy: Option<OverlapPolicy>,

    /// CommandLine: argv of the work.
    pub command_line: Vec<String>,
    /// WorkingDirectory of the work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Environment entries `NAME=value` added for the work.
    pub environment: Vec<String>,
    /// RunAsUser: the OS account the work runs as (the service's own until security lands).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<String>,

    /// Where the job is; JobState and the status properties derive from it.
    pub situation: Situation,
    /// Generation: increases on every change.
    pub generation: u64,
    /// TimeSubmitted.
    pub time_submitted: Timestamp,
    /// TimeOfLastStateChange; `None` = never changed (reported as a zero interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_of_last_state_change: Option<Timestamp>,
    /// StartTime of the last run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// When the last run ended (ElapsedTime = end - start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// PercentComplete of the current or last run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_complete: Option<u16>,
    /// The text of the last progress line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_text: Option<String>,
    /// The question the work asked, while Query Pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// A note the engine keeps in JobStatus (e.g. when a re-run is due).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_note: Option<String>,
    /// ErrorCode of the last run.
    pub error_code: JobErrorCode,
    /// ErrorDescription of the last run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// ExitStatus of the last run's main process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// Signal that ended the last run's main process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// OutputPath: log file of the current or last run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_path: Option<String>,
    /// RunCount: runs started so far (re-runs included).
    pub run_count: u32,
    /// NextRunTime: when the next run is due, if it is waiting for a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run_time: Option<Timestamp>,
    /// Scheduled occurrences started so far (re-runs of one occurrence count once): what
    /// JobRunTimes limits.
    #[serde(default)]
    pub occurrences: u32,
    /// CIMJOB extension SkippedRuns: occurrences skipped because the previous run was still
    /// going, or missed while the service was down under MissedRunPolicy Skip.
    #[serde(default)]
    pub skipped_runs: u32,
    /// The next start is a re-run of the last occurrence, not a new one.
    #[serde(default)]
    pub retrying: bool,
    /// An occurrence that came while the previous run was going, held back under
    /// OverlapPolicy Queue or Replace: it starts as soon as that run ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_run: Option<QueuedRun>,
    /// When a re-run after backoff is due (Re-run Job).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    /// It waits only for a free slot (queued or between runs, nothing else due). The store
    /// keeps such jobs in (Priority, LocalID) order, so a node reads the next ones to start
    /// instead of holding every queued job in memory.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ready: bool,
    /// JobInParameters (embedded `__JobInParameters` instance), when a method created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_in_parameters: Option<String>,
    /// JobOutParameters (embedded `__JobOutParameters` instance), once Completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_out_parameters: Option<String>,

    /// The live process group, so a restarted service can end an orphan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessIdentity>,
    /// The node the current run was started on: its process identity means something only
    /// there, and a node that takes over from a lost one knows which runs were lost with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// A Terminate or Kill in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<Shutdown>,
    /// A request received while the process was starting, applied once it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deferred_request: Option<DeferredRequest>,
    /// How many re-runs Re-run Job has made since the last success.
    pub reruns: u32,
    /// When the job ended (reached a final situation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// When retention deletes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removal_due: Option<Timestamp>,
    /// KillJob(DeleteOnKill = true) was asked.
    pub delete_on_kill: bool,
}

/// An occurrence waiting for the run before it to end (OverlapPolicy Queue or Replace).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedRun {
    /// When the occurrence was due.
    pub due: Timestamp,
    /// Under Replace, when SIGKILL follows the SIGTERM sent to the run it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_at: Option<Timestamp>,
}

/// A Terminate or Kill that is waiting for the process group to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    /// Terminated or Killed, once the processes are gone.
    pub goal: ShutdownGoal,
    /// When SIGKILL follows SIGTERM (Terminate only).
    pub kill_at: Option<Timestamp>,
}

/// Which final state a shutdown ends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShutdownGoal {
    /// A Terminate request.
    Terminate,
    /// A Kill request.
    Kill,
}

/// A RequestStateChange that arrived while the process was being started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferredRequest {
    /// The RequestedState value.
    pub requested: u16,
    /// The TimeoutPeriod, if one was given.
    pub timeout: Option<SignedDuration>,
}

impl Job {
    /// A job with the class defaults, before the submitted properties are applied.
    pub fn new(local_id: u64, owner: &str, now: Timestamp) -> Job {
        Job {
            local_id,
            name: String::new(),
            caption: None,
            description: None,
            element_name: None,
            owner: owner.to_string(),
            notify: None,
            priority: DEFAULT_PRIORITY,
            delete_on_completion: false,
            time_before_removal: DEFAULT_TIME_BEFORE_REMOVAL,
            recovery_action: RecoveryAction::Unknown,
            other_recovery_action: None,
            recovery_job: None,
            job_run_times: 1,
            scheduled_start_time: None,
            run_month: None,
            run_day: None,
            run_day_of_week: None,
            run_start_interval: None,
            local_or_utc_time: None,
            until_time: None,
            time_zone: None,
            missed_run_policy: None,
            repeat_interval: None,
            calendar_expression: None,
            overlap_policy: None,
            command_line: Vec::new(),
            working_directory: None,
            environment: Vec::new(),
            run_as_user: None,
            situation: Situation::Queued,
            generation: 1,
            time_submitted: now,
            time_of_last_state_change: None,
            start_time: None,
            end_time: None,
            percent_complete: None,
            progress_text: None,
            query: None,
            status_note: None,
            error_code: JobErrorCode::NoError,
            error_description: None,
            exit_status: None,
            signal: None,
            output_path: None,
            run_count: 0,
            next_run_time: None,
            occurrences: 0,
            skipped_runs: 0,
            retrying: false,
            queued_run: None,
            retry_at: None,
            ready: false,
            job_in_parameters: None,
            job_out_parameters: None,
            process: None,
            node: None,
            shutdown: None,
            deferred_request: None,
            reruns: 0,
            finished_at: None,
            removal_due: None,
            delete_on_kill: false,
        }
    }

    /// Whether the job waits for a time (ScheduledStartTime, or a way to recur) rather than
    /// only for a free slot: how lists tell a scheduled New job from a queued one.
    pub fn is_scheduled(&self) -> bool {
        self.scheduled_start_time.is_some()
            || self.run_start_interval.is_some()
            || self.run_month.is_some()
            || self.run_day.is_some()
            || self.run_day_of_week.is_some()
            || self.repeat_interval.is_some()
            || self.calendar_expression.is_some()
    }

    /// NextRunTime: the earlier of the next scheduled occurrence and a pending re-run.
    pub fn next_start(&self) -> Option<Timestamp> {
        match (self.next_run_time, self.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `CIMJOB:<LocalID>`.
    pub fn instance_id(&self) -> String {
        instance_id(self.local_id)
    }

    /// JobStatus: the question while Query Pending, else the engine's note, else the last
    /// progress text.
    pub fn job_status(&self) -> Option<&str> {
        if self.situation == Situation::QueryPending {
            if let Some(q) = &self.query {
                return Some(q);
            }
        }
        self.status_note
            .as_deref()
            .or(self.progress_text.as_deref())
    }
}

/// Formats a LocalID as an InstanceID.
pub fn instance_id(local_id: u64) -> String {
    format!("{ORG_ID}:{local_id}")
}

/// Reads a LocalID back from an InstanceID (`CIMJOB:12`) or a bare number (`12`), which is
/// what CLI users type.
pub fn parse_instance_id(text: &str) -> Option<u64> {
    let local = match text.split_once(':') {
        Some((org, local)) if org.eq_ignore_ascii_case(ORG_ID) => local,
        Some(_) => return None,
        None => text,
    };
    local.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_round_trip() {
        assert_eq!(instance_id(7), "CIMJOB:7");
        assert_eq!(parse_instance_id("CIMJOB:7"), Some(7));
        assert_eq!(parse_instance_id("cimjob:7"), Some(7));
        assert_eq!(parse_instance_id("7"), Some(7));
        assert_eq!(parse_instance_id("OTHER:7"), None);
        assert_eq!(parse_instance_id("CIMJOB:x"), None);
    }
}
