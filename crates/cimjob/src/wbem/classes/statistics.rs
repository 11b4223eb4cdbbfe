//! A job's runs as the DMTF schema has them: `CIM_JobProcessingStatistics` (a
//! `CIM_StatisticalData`), one instance per run, tied to its job by
//! `CIM_ElementStatisticalData`. CIM_Job's StartTime, ElapsedTime, ErrorCode and
//! ErrorDescription describe the last run only; CIM_Job's own descriptions name this class as
//! where "the processing information for recurring Jobs" is kept.
//!
//! Only the properties a run fills are declared (the DMTF classes have more, all optional).

use cim::{CimType as T, ClassDecl, PropertyDecl};

use super::core::ME;
use super::Prop;

const STATISTICAL_DATA: &str = "CIM_StatisticalData";
/// One run of a job.
pub(crate) const JOB_PROCESSING_STATISTICS: &str = "CIM_JobProcessingStatistics";
/// From a job to the statistics of each of its runs.
pub(crate) const ELEMENT_STATISTICAL_DATA: &str = "CIM_ElementStatisticalData";

static STATISTICAL_DATA_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(
        STATISTICAL_DATA,
        "InstanceID",
        T::String,
        "Opaquely and uniquely identifies the statistics: here CIMJOB:<job's LocalID>:run:<run number>.",
    )
    .key()
    .build(),
    Prop::new(
        STATISTICAL_DATA,
        "ElementName",
        T::String,
        "A user-friendly name: the job's InstanceID and the run's number.",
    )
    .required()
    .build(),
    Prop::new(
        STATISTICAL_DATA,
        "StartStatisticTime",
        T::DateTime,
        "When the measured period began: the run's start.",
    )
    .build(),
    Prop::new(
        STATISTICAL_DATA,
        "StatisticTime",
        T::DateTime,
        "When the statistics were last updated: the run's end, or now while it goes on.",
    )
    .build(),
];

static JOB_PROCESSING_STATISTICS_PROPERTIES: &[PropertyDecl] = &[
    Prop::new(
        JOB_PROCESSING_STATISTICS,
        "StartTime",
        T::DateTime,
        "When the run started.",
    )
    .build(),
    Prop::new(
        JOB_PROCESSING_STATISTICS,
        "ElapsedTime",
        T::DateTime,
        "How long the run ran: to its end, or to now while it goes on.",
    )
    .interval()
    .build(),
    Prop::new(
        JOB_PROCESSING_STATISTICS,
        "ErrorCode",
        T::UInt16,
        "The job's ErrorCode for this run (0: no error).",
    )
    .build(),
    Prop::new(
        JOB_PROCESSING_STATISTICS,
        "ErrorDescription",
        T::String,
        "The job's ErrorDescription for this run.",
    )
    .build(),
];

static ELEMENT_STATISTICAL_DATA_PROPERTIES: &[PropertyDecl] = &[
    Prop::reference(
        ELEMENT_STATISTICAL_DATA,
        "ManagedElement",
        ME,
        "The element the statistics are of: the job.",
    )
    .key()
    .build(),
    Prop::reference(
        ELEMENT_STATISTICAL_DATA,
        "Stats",
        STATISTICAL_DATA,
        "The statistics of one of its runs.",
    )
    .key()
    .build(),
];

pub(super) static CLASSES: &[ClassDecl] = &[
    ClassDecl {
        version: Some("2.19.0"),
        is_abstract: true,
        properties: STATISTICAL_DATA_PROPERTIES,
        ..ClassDecl::new(STATISTICAL_DATA, Some(ME), "Statistics of a managed element over a period.")
    },
    ClassDecl {
        version: Some("2.19.0"),
        properties: JOB_PROCESSING_STATISTICS_PROPERTIES,
        ..ClassDecl::new(JOB_PROCESSING_STATISTICS, Some(STATISTICAL_DATA), "The processing of one run of a job: when it started, how long it ran, how it ended (the job's ErrorCode for it).")
    },
    ClassDecl {
        version: Some("2.7.0"),
        is_association: true,
        properties: ELEMENT_STATISTICAL_DATA_PROPERTIES,
        ..ClassDecl::new(ELEMENT_STATISTICAL_DATA, None, "Relates a managed element (a job) to its statistics (each run's).")
    },
];

/// The InstanceID of run `run` of job `local_id`.
pub(crate) fn run_instance_id(local_id: u64, run: u32) -> String {
    format!(
        "{}:run:{run}",
        cimjob_rules::model::job::instance_id(local_id)
    )
}

/// The job and run an InstanceID of [`run_instance_id`]'s form names.
pub(crate) fn parse_run_instance_id(text: &str) -> Option<(u64, u32)> {
    let (job, run) = text.rsplit_once(":run:")?;
    Some((
        cimjob_rules::model::job::parse_instance_id(job)?,
        run.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_instance_id_names_its_job_and_run_and_nothing_else_parses() {
        assert_eq!(run_instance_id(7, 3), "CIMJOB:7:run:3");
        assert_eq!(parse_run_instance_id("CIMJOB:7:run:3"), Some((7, 3)));
        assert_eq!(parse_run_instance_id("CIMJOB:7"), None);
        assert_eq!(parse_run_instance_id("CIMJOB:capabilities"), None);
        assert_eq!(parse_run_instance_id("CIMJOB:7:run:x"), None);
        assert_eq!(parse_run_instance_id("OTHER:7:run:3"), None);
    }
}
