//! The CIM_Error a job reports through GetErrors/GetError (spec §2): what went wrong in its
//! last run, in the standard's terms.
//!
//! One row per ErrorCode of ours says which MessageID, PerceivedSeverity, ProbableCause and
//! ErrorType the error carries, so WBEM clients can filter and act on them without parsing
//! ErrorDescription.
//!
//! ```
//! use cimjob_rules::model::errors::job_errors;
//! use cimjob_rules::model::Job;
//! let job = Job::new(1, "alice", jiff::Timestamp::UNIX_EPOCH);
//! assert!(job_errors(&job).is_empty(), "a job without an error reports none");
//! ```

use crate::model::value_maps::JobErrorCode;
use crate::model::Job;
use crate::record::RunRecord;
use crate::state::Situation;

/// Who defines our messages (CIM_Error.OwningEntity).
pub const OWNING_ENTITY: &str = "CIMJOB";

/// The CIM_Error properties of one job error, as plain values (the WBEM layer turns them
/// into an embedded CIM_Error instance).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobError {
    /// MessageID: `CIMJOB<ErrorCode, four digits>`.
    pub message_id: String,
    /// Message: the job's ErrorDescription.
    pub message: String,
    /// MessageArguments: the values the message is about (exit status, signal).
    pub message_arguments: Vec<String>,
    /// PerceivedSeverity (CIM_Error map: 2 Information, 3 Degraded/Warning, 5 Major …).
    pub perceived_severity: u16,
    /// ProbableCause (CIM_Error map).
    pub probable_cause: u16,
    /// ProbableCauseDescription.
    pub probable_cause_description: &'static str,
    /// ErrorType (CIM_Error map: 1 Other, 4 Software Error …).
    pub error_type: u16,
    /// OtherErrorType, when ErrorType is Other.
    pub other_error_type: Option<&'static str>,
    /// CIMStatusCode: CIM_ERR_FAILED (1) for every job failure.
    pub cim_status_code: u32,
    /// ErrorSource: the job's InstanceID.
    pub error_source: String,
}

/// (PerceivedSeverity, ProbableCause, its description, ErrorType, OtherErrorType) per code.
fn classification(code: JobErrorCode) -> (u16, u16, &'static str, u16, Option<&'static str>) {
    match code {
        JobErrorCode::NoError => (2, 0, "Unknown", 0, None),
        JobErrorCode::NonZeroExit => (5, 48, "Software Program Abnormally Terminated", 4, None),
        JobErrorCode::EndedBySignal => (5, 48, "Software Program Abnormally Terminated", 4, None),
        JobErrorCode::StartFailed => (5, 108, "Software Environment Problem", 4, None),
        JobErrorCode::ProcessLost => (5, 128, "Out of Service", 9, None),
        JobErrorCode::NodeLost => (5, 128, "Out of Service", 9, None),
        JobErrorCode::TerminatedByRequest => (2, 1, "Other", 1, Some("Terminated by request")),
        JobErrorCode::KilledByRequest => (3, 1, "Other", 1, Some("Killed by request")),
    }
}

/// The errors of a job's last run: one for a job that failed (Exception) or was terminated
/// or killed by a client, none while it runs or after it completed without error (spec §2).
pub fn job_errors(job: &Job) -> Vec<JobError> {
    let reports = matches!(
        job.situation,
        Situation::Failed | Situation::Terminated | Situation::Killed
    ) || (job.error_code != JobErrorCode::NoError && !job.situation.is_final());
    if !reports || job.error_code == JobErrorCode::NoError {
        return Vec::new();
    }
    vec![error_of(
        job,
        job.error_code,
        job.error_description.as_deref(),
        job.exit_status,
        job.signal,
    )]
}

/// The errors of every run of a job that failed, oldest first, as its run history has them:
/// a recurring job whose third night failed still reports it after the fourth succeeded (a
/// failure is never hidden by the runs after it). A job with no recorded run reports as
/// [`job_errors`] says.
///
/// ```
/// use cimjob_rules::model::errors::series_errors;
/// use cimjob_rules::model::Job;
/// use cimjob_rules::record::RunRecord;
/// let job = Job::new(1, "alice", jiff::Timestamp::UNIX_EPOCH);
/// let failed = RunRecord {
///     local_id: 1, run_number: 1, started_at: jiff::Timestamp::UNIX_EPOCH,
///     ended_at: Some(jiff::Timestamp::UNIX_EPOCH), exit_status: Some(3), signal: None,
///     error_code: 1, error_description: Some("the command exited with status 3".into()),
///     final_state: Some(10),
/// };
/// assert_eq!(series_errors(&job, &[failed])[0].message_id, "CIMJOB0001");
/// ```
pub fn series_errors(job: &Job, runs: &[RunRecord]) -> Vec<JobError> {
    if runs.is_empty() {
        return job_errors(job);
    }
    runs.iter()
        .filter(|r| r.ended_at.is_some() && r.error_code != 0)
        .filter_map(|r| {
            let code = JobErrorCode::from_number(r.error_code)?;
            Some(error_of(
                job,
                code,
                r.error_description.as_deref(),
                r.exit_status,
                r.signal,
            ))
        })
        .collect()
}

/// One error of `job`, in the standard's terms.
fn error_of(
    job: &Job,
    code: JobErrorCode,
    description: Option<&str>,
    exit_status: Option<i32>,
    signal: Option<i32>,
) -> JobError {
    let (severity, cause, cause_text, error_type, other) = classification(code);
    let arguments = exit_status
        .into_iter()
        .chain(signal)
        .map(|n| n.to_string())
        .collect();
    JobError {
        message_id: format!("{OWNING_ENTITY}{:04}", code.number()),
        message: description.map_or_else(|| code.name().to_string(), str::to_string),
        message_arguments: arguments,
        perceived_severity: severity,
        probable_cause: cause,
        probable_cause_description: cause_text,
        error_type,
        other_error_type: other,
        cim_status_code: 1,
        error_source: job.instance_id(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn job(situation: Situation, code: JobErrorCode) -> Job {
        let mut j = Job::new(3, "alice", Timestamp::UNIX_EPOCH);
        j.situation = situation;
        j.error_code = code;
        j.error_description = Some("the command exited with status 3".into());
        j.exit_status = Some(3);
        j
    }

    #[test]
    fn a_failed_job_reports_one_error_with_its_classification() {
        let errors = job_errors(&job(Situation::Failed, JobErrorCode::NonZeroExit));
        assert_eq!(errors.len(), 1);
        let e = &errors[0];
        assert_eq!(e.message_id, "CIMJOB0001");
        assert_eq!(e.message, "the command exited with status 3");
        assert_eq!(
            (
                e.perceived_severity,
                e.probable_cause,
                e.error_type,
                e.cim_status_code
            ),
            (5, 48, 4, 1)
        );
        assert_eq!(e.message_arguments, ["3"]);
        assert_eq!(e.error_source, "CIMJOB:3");
    }

    #[test]
    fn terminated_and_killed_jobs_report_and_completed_ones_do_not() {
        assert_eq!(
            job_errors(&job(
                Situation::Terminated,
                JobErrorCode::TerminatedByRequest
            ))[0]
                .error_type,
            1
        );
        assert_eq!(
            job_errors(&job(Situation::Killed, JobErrorCode::KilledByRequest))[0].message_id,
            "CIMJOB0006"
        );
        assert!(job_errors(&job(Situation::Completed, JobErrorCode::NoError)).is_empty());
        assert!(job_errors(&job(Situation::Running, JobErrorCode::NoError)).is_empty());
    }

    #[test]
    fn every_code_has_a_classification_in_the_cim_error_maps() {
        for code in JobErrorCode::ALL {
            let (severity, cause, _, error_type, _) = classification(*code);
            assert!(
                severity <= 7 && cause <= 130 && error_type <= 10,
                "{code:?}"
            );
        }
    }
}
