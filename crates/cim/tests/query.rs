//! The WQL / DMTF:CQL subset: the SMI-S job filters of DSP1103 (spec
//! §3e), WQL basics, three-valued logic, typed comparisons, errors with
//! positions, language names, and printing that re-parses to the same
//! query.

use cim::query::{self, Expr, Position, QueryError, QueryLanguage, Selection, Subject};
use cim::{CimArray, CimDateTime, CimStatusCode, CimType, CimValue, KeyValue, ObjectPath, Query};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// A test object: class, ancestry, properties, embedded objects.

#[derive(Clone, Debug, Default)]
struct Obj {
    class: String,
    /// Superclasses, nearest first.
    ancestry: Vec<String>,
    props: Vec<(String, Option<CimValue>)>,
    embedded: Vec<(String, Obj)>,
}

impl Obj {
    fn new(class: &str, ancestry: &[&str]) -> Obj {
        Obj {
            class: class.into(),
            ancestry: ancestry.iter().map(|s| s.to_string()).collect(),
            ..Obj::default()
        }
    }

    fn with(mut self, name: &str, value: impl Into<CimValue>) -> Obj {
        self.props.push((name.into(), Some(value.into())));
        self
    }

    fn null(mut self, name: &str) -> Obj {
        self.props.push((name.into(), None));
        self
    }

    fn embed(mut self, name: &str, object: Obj) -> Obj {
        self.embedded.push((name.into(), object));
        self
    }
}

impl Subject for Obj {
    fn class_name(&self) -> &str {
        &self.class
    }

    fn property(&self, name: &str) -> Option<Option<CimValue>> {
        self.props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    fn is_a(&self, class: &str) -> bool {
        self.class.eq_ignore_ascii_case(class)
            || self.ancestry.iter().any(|c| c.eq_ignore_ascii_case(class))
    }

    fn embedded(&self, name: &str) -> Option<&dyn Subject> {
        self.embedded
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, o)| o as &dyn Subject)
    }
}

const JOB_ANCESTRY: [&str; 4] = [
    "CIM_Job",
    "CIM_LogicalElement",
    "CIM_ManagedSystemElement",
    "CIM_ManagedElement",
];

fn u16_array(items: &[u16]) -> CimValue {
    CimValue::Array(
        CimArray::new(
            CimType::UInt16,
            items.iter().map(|&v| CimValue::UInt16(v)).collect(),
        )
        .unwrap(),
    )
}

fn dt(s: &str) -> CimValue {
    CimValue::DateTime(CimDateTime::parse(s).unwrap())
}

/// A CIM_ConcreteJob with the properties the filters look at.
fn job(state: u16, percent: u16, status: &[u16]) -> Obj {
    Obj::new("CIM_ConcreteJob", &JOB_ANCESTRY)
        .with("InstanceID", "CIMJOB:1")
        .with("Name", "backup-home")
        .with("JobState", state)
        .with("PercentComplete", percent)
        .with("OperationalStatus", u16_array(status))
}

/// Something that is not a job but has job-like property names.
fn not_a_job(state: u16, percent: u16, status: &[u16]) -> Obj {
    Obj::new("CIM_Error", &[])
        .with("JobState", state)
        .with("PercentComplete", percent)
        .with("OperationalStatus", u16_array(status))
}

fn indication(class: &str) -> Obj {
    Obj::new(class, &["CIM_InstIndication", "CIM_Indication"])
}

fn creation(source: Obj) -> Obj {
    indication("CIM_InstCreation").embed("SourceInstance", source)
}

fn deletion(source: Obj) -> Obj {
    indication("CIM_InstDeletion").embed("SourceInstance", source)
}

fn modification(source: Obj, previous: Obj) -> Obj {
    indication("CIM_InstModification")
        .embed("SourceInstance", source)
        .embed("PreviousInstance", previous)
}

// ---------------------------------------------------------------------------
// §3e: the standard job filter queries, exactly as the spec writes them.

const JOB_CREATED: &str = "SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA CIM_ConcreteJob";
const PERCENT_CHANGED: &str = "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob
  AND SourceInstance.CIM_ConcreteJob::PercentComplete <> PreviousInstance.CIM_ConcreteJob::PercentComplete";
const STATE_CHANGED: &str =
    "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob
  AND SourceInstance.CIM_ConcreteJob::JobState <> PreviousInstance.CIM_ConcreteJob::JobState";
const COMPLETED_OK: &str =
    "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob
  AND ANY SourceInstance.CIM_ConcreteJob::OperationalStatus[*] = 17
  AND ANY SourceInstance.CIM_ConcreteJob::OperationalStatus[*] = 2";
const COMPLETED_WITH_ERROR: &str =
    "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob
  AND ANY SourceInstance.CIM_ConcreteJob::OperationalStatus[*] = 17
  AND ANY SourceInstance.CIM_ConcreteJob::OperationalStatus[*] = 6";
const JOB_DELETED: &str = "SELECT * FROM CIM_InstDeletion WHERE SourceInstance ISA CIM_ConcreteJob";
/// OpenLMI's simplified variants, for servers without CQL ANY.
const OPENLMI_SUCCEEDED: &str =
    "SELECT * FROM CIM_InstModification WHERE SourceInstance.CIM_ConcreteJob::JobState = 7";
const OPENLMI_FAILED: &str =
    "SELECT * FROM CIM_InstModification WHERE SourceInstance.CIM_ConcreteJob::JobState = 10";

const ALL_JOB_FILTERS: [&str; 8] = [
    JOB_CREATED,
    PERCENT_CHANGED,
    STATE_CHANGED,
    COMPLETED_OK,
    COMPLETED_WITH_ERROR,
    JOB_DELETED,
    OPENLMI_SUCCEEDED,
    OPENLMI_FAILED,
];

#[test]
fn every_job_filter_parses_in_cql_and_wql_and_round_trips() {
    for text in ALL_JOB_FILTERS {
        for language in ["DMTF:CQL", "WQL", "CIM:CQL"] {
            let q =
                query::parse(language, text).unwrap_or_else(|e| panic!("{language} {text:?}: {e}"));
            assert_eq!(q.select, Selection::All, "{text}");
            assert!(q.where_clause.is_some(), "{text}");
            let printed = q.to_string();
            assert_eq!(query::parse(language, &printed).unwrap(), q, "{printed}");
        }
    }
    let q = query::parse("DMTF:CQL", STATE_CHANGED).unwrap();
    assert_eq!(q.from_class, "CIM_InstModification");
    assert_eq!(
        q.to_string(),
        "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob \
         AND SourceInstance.CIM_ConcreteJob::JobState <> PreviousInstance.CIM_ConcreteJob::JobState"
    );
    let q = query::parse("DMTF:CQL", COMPLETED_OK).unwrap();
    let Some(Expr::And(items)) = &q.where_clause else {
        panic!("{q:?}")
    };
    assert_eq!(items.len(), 3, "one flat AND of three predicates");
}

#[test]
fn job_filters_match_exactly_the_events_they_name() {
    let running = job(4, 40, &[2, 8]); // Running, OK + Dormant-ish
    let rows: Vec<(&str, &str, Obj, bool)> = vec![
        // 1. Job created
        (
            "job created: a job",
            JOB_CREATED,
            creation(job(2, 0, &[2])),
            true,
        ),
        (
            "job created: not a job",
            JOB_CREATED,
            creation(not_a_job(2, 0, &[2])),
            false,
        ),
        (
            "job created: no SourceInstance",
            JOB_CREATED,
            indication("CIM_InstCreation"),
            false,
        ),
        // 2. Percent changed
        (
            "percent: 40 -> 50",
            PERCENT_CHANGED,
            modification(job(4, 50, &[2]), job(4, 40, &[2])),
            true,
        ),
        (
            "percent: unchanged while state changes",
            PERCENT_CHANGED,
            modification(job(7, 40, &[2, 17]), running.clone()),
            false,
        ),
        (
            "percent: not a job",
            PERCENT_CHANGED,
            modification(not_a_job(4, 50, &[2]), not_a_job(4, 40, &[2])),
            false,
        ),
        (
            "percent: previous is NULL",
            PERCENT_CHANGED,
            indication("CIM_InstModification").embed("SourceInstance", job(4, 50, &[2])),
            false,
        ),
        // 3. State changed
        (
            "state: Running -> Completed",
            STATE_CHANGED,
            modification(job(7, 100, &[2, 17]), running.clone()),
            true,
        ),
        (
            "state: Running -> Running (percent moved)",
            STATE_CHANGED,
            modification(job(4, 50, &[2]), job(4, 40, &[2])),
            false,
        ),
        (
            "state: not a job",
            STATE_CHANGED,
            modification(not_a_job(7, 0, &[2]), not_a_job(4, 0, &[2])),
            false,
        ),
        // 4. Completed OK
        (
            "completed OK: 17 and 2",
            COMPLETED_OK,
            modification(job(7, 100, &[17, 2]), running.clone()),
            true,
        ),
        (
            "completed OK: 17 and 6 is an error",
            COMPLETED_OK,
            modification(job(10, 100, &[17, 6]), running.clone()),
            false,
        ),
        (
            "completed OK: 2 without 17 is not complete",
            COMPLETED_OK,
            modification(job(4, 50, &[2]), running.clone()),
            false,
        ),
        (
            "completed OK: empty status",
            COMPLETED_OK,
            modification(job(4, 50, &[]), running.clone()),
            false,
        ),
        // 5. Completed with error
        (
            "completed with error: 17 and 6",
            COMPLETED_WITH_ERROR,
            modification(job(10, 100, &[6, 17]), running.clone()),
            true,
        ),
        (
            "completed with error: 17 and 2 is success",
            COMPLETED_WITH_ERROR,
            modification(job(7, 100, &[17, 2]), running.clone()),
            false,
        ),
        // 6. Job deleted
        (
            "job deleted: a job",
            JOB_DELETED,
            deletion(job(7, 100, &[17, 2])),
            true,
        ),
        (
            "job deleted: not a job",
            JOB_DELETED,
            deletion(not_a_job(7, 0, &[])),
            false,
        ),
        // OpenLMI variants
        (
            "OpenLMI succeeded: JobState 7",
            OPENLMI_SUCCEEDED,
            modification(job(7, 100, &[17, 2]), running.clone()),
            true,
        ),
        (
            "OpenLMI succeeded: JobState 10",
            OPENLMI_SUCCEEDED,
            modification(job(10, 100, &[17, 6]), running.clone()),
            false,
        ),
        (
            "OpenLMI succeeded: a non-job with JobState 7 fails the scope",
            OPENLMI_SUCCEEDED,
            modification(not_a_job(7, 0, &[]), not_a_job(4, 0, &[])),
            false,
        ),
        (
            "OpenLMI failed: JobState 10",
            OPENLMI_FAILED,
            modification(job(10, 100, &[17, 6]), running.clone()),
            true,
        ),
    ];
    for (rule, text, event, expected) in rows {
        for language in ["DMTF:CQL", "WQL"] {
            let q = query::parse(language, text).unwrap();
            assert!(q.class_matches(&event), "{rule}: FROM {}", q.from_class);
            assert_eq!(q.matches(&event).unwrap(), expected, "{rule} ({language})");
            assert_eq!(q.accepts(&event).unwrap(), expected, "{rule} ({language})");
        }
    }
}

#[test]
fn job_filters_check_the_indication_class() {
    let job_event = job(7, 100, &[17, 2]);
    let rows = [
        (JOB_CREATED, creation(job_event.clone()), true),
        (JOB_CREATED, deletion(job_event.clone()), false),
        (JOB_DELETED, creation(job_event.clone()), false),
        (STATE_CHANGED, creation(job_event.clone()), false),
        (JOB_DELETED, deletion(job_event.clone()), true),
    ];
    for (text, event, expected) in rows {
        let q = query::parse("DMTF:CQL", text).unwrap();
        assert_eq!(
            q.class_matches(&event),
            expected,
            "{text} vs {}",
            event.class
        );
        if !expected {
            assert!(!q.accepts(&event).unwrap());
        }
    }
}

// ---------------------------------------------------------------------------
// WQL basics

fn sample_job() -> Obj {
    sample_job_owned_by("alice")
}

fn sample_job_owned_by(owner: &str) -> Obj {
    job(4, 40, &[2])
        .with("Priority", 50u32)
        .with("Owner", owner)
        .null("ErrorDescription")
        .with("DeleteOnCompletion", true)
        .with("ElapsedTime", dt("00000000001000.000000:000"))
        .with("StartTime", dt("20260314150926.000000+060"))
}

#[test]
fn wql_basics() {
    let alice = sample_job();
    let bob = sample_job_owned_by("bob");
    let rows: &[(&str, &Obj, bool)] = &[
        ("SELECT * FROM CIM_ConcreteJob WHERE JobState = 4", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE JobState = 7", &alice, false),
        ("select * from cim_concretejob where jobstate = 4", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE JobState != 7", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE JobState <> 4", &alice, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE JobState >= 4 AND JobState <= 4", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE JobState > 4 OR JobState < 4", &alice, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE 4 = JobState", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE Name LIKE 'back%'", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE Name LIKE 'Back%'", &alice, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE Name NOT LIKE 'back%'", &alice, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE Name LIKE 'backup-____'", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE Priority < 100 AND NOT (Owner = 'bob')", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE Priority < 100 AND NOT (Owner = 'bob')", &bob, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE ErrorDescription IS NULL", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE ErrorDescription IS NOT NULL", &alice, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE Name IS NOT NULL", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE Name IS NULL", &alice, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE DeleteOnCompletion = TRUE", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE DeleteOnCompletion = false", &alice, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE (JobState = 7 OR JobState = 4) AND Owner = 'alice'", &alice, true),
        // AND binds tighter than OR.
        ("SELECT * FROM CIM_ConcreteJob WHERE JobState = 7 OR JobState = 4 AND Owner = 'bob'", &alice, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE JobState = 4 OR JobState = 7 AND Owner = 'bob'", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE NOT NOT JobState = 4", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE CIM_ConcreteJob ISA CIM_Job", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE CIM_ConcreteJob ISA CIM_Error", &alice, false),
        ("SELECT * FROM CIM_Job WHERE CIM_Job ISA 'CIM_ConcreteJob'", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE CIM_ConcreteJob.JobState = 4", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE CIM_Job::JobState = 4", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE CIM_Error::JobState = 4", &alice, false),
        ("SELECT * FROM CIM_ConcreteJob WHERE OperationalStatus[0] = 2", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE OperationalStatus[1] IS NULL", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob WHERE OperationalStatus = OperationalStatus", &alice, true),
        ("SELECT * FROM CIM_ConcreteJob", &alice, true),
    ];
    for &(text, subject, expected) in rows {
        let q = query::parse("WQL", text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(q.matches(subject).unwrap(), expected, "{text}");
    }
}

/// (query, selection, (property, selected?) checks)
type SelectRow = (&'static str, Selection, &'static [(&'static str, bool)]);

#[test]
fn select_lists_project_properties() {
    let rows: [SelectRow; 5] = [
        (
            "SELECT * FROM CIM_ConcreteJob",
            Selection::All,
            &[("Name", true), ("anything", true)],
        ),
        (
            "SELECT Name, JobState FROM CIM_ConcreteJob WHERE JobState = 4",
            Selection::Properties(vec!["Name".into(), "JobState".into()]),
            &[("Name", true), ("JOBSTATE", true), ("Owner", false)],
        ),
        (
            "SELECT CIM_ConcreteJob.Name FROM CIM_ConcreteJob",
            Selection::Properties(vec!["Name".into()]),
            &[("name", true), ("JobState", false)],
        ),
        (
            "SELECT CIM_ConcreteJob.* FROM CIM_ConcreteJob",
            Selection::All,
            &[("Owner", true)],
        ),
        (
            "SELECT Distinct, Name FROM CIM_ConcreteJob",
            Selection::Properties(vec!["Distinct".into(), "Name".into()]),
            &[("distinct", true)],
        ),
    ];
    for (text, selection, checks) in rows {
        let q = query::parse("WQL", text).unwrap();
        assert_eq!(q.select, selection, "{text}");
        for (name, selected) in checks {
            assert_eq!(q.selects(name), *selected, "{text}: {name}");
        }
    }
}

// ---------------------------------------------------------------------------
// Three-valued logic: a condition is true, false or unknown. Unknown shows as
// "neither the condition nor its negation matches".

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Truth {
    True,
    False,
    Unknown,
}
use Truth::{False as F, True as T, Unknown as U};

fn truth(language: &str, from: &str, condition: &str, subject: &Obj) -> Truth {
    let text = format!("SELECT * FROM {from} WHERE {condition}");
    let q = query::parse(language, &text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let negated = query::parse(
        language,
        &format!("SELECT * FROM {from} WHERE NOT ({condition})"),
    )
    .unwrap();
    match (
        q.matches(subject).unwrap(),
        negated.matches(subject).unwrap(),
    ) {
        (true, false) => T,
        (false, true) => F,
        (false, false) => U,
        (true, true) => panic!("{condition}: both it and its negation match"),
    }
}

fn check_truth_table(language: &str, subject: &Obj, rows: &[(&str, Truth)]) {
    for (condition, expected) in rows {
        assert_eq!(
            truth(language, "CIM_ConcreteJob", condition, subject),
            *expected,
            "{condition}"
        );
    }
}

#[test]
fn three_valued_logic_with_null_and_missing_properties() {
    check_truth_table(
        "WQL",
        &sample_job(),
        &[
            ("ErrorDescription = 'x'", U),
            ("ErrorDescription <> 'x'", U),
            ("ErrorDescription < 'x'", U),
            ("ErrorDescription = ErrorDescription", U),
            ("ErrorDescription LIKE '%'", U),
            ("ErrorDescription IS NULL", T),
            ("ErrorDescription IS NOT NULL", F),
            ("ErrorDescription = 'x' AND JobState = 4", U),
            ("ErrorDescription = 'x' AND JobState = 5", F),
            ("ErrorDescription = 'x' OR JobState = 4", T),
            ("ErrorDescription = 'x' OR JobState = 5", U),
            ("NOT (ErrorDescription = 'x') OR JobState = 4", T),
            ("JobState = NULL", U),
            ("JobState <> NULL", U),
            ("NULL = NULL", U),
            ("NULL IS NULL", T),
            ("'x' IS NOT NULL", T),
            // A property the object does not have leads nowhere.
            ("NoSuchProperty = 1", U),
            ("NoSuchProperty IS NULL", U),
            ("NoSuchProperty IS NOT NULL", U),
            // No embedded object here.
            ("SourceInstance ISA CIM_Job", U),
            ("SourceInstance.JobState = 4", U),
            // An index past the end reads as NULL.
            ("OperationalStatus[5] = 2", U),
            ("OperationalStatus[5] IS NULL", T),
            // Index on a non-array leads nowhere.
            ("JobState[0] = 4", U),
            // Scope the object is not.
            ("CIM_Error::JobState = 4", U),
        ],
    );
}

#[test]
fn type_mismatches_are_unknown_not_errors() {
    check_truth_table(
        "WQL",
        &sample_job(),
        &[
            ("JobState = '4'", U),
            ("Name = 4", U),
            ("DeleteOnCompletion = 1", U),
            ("DeleteOnCompletion < TRUE", U),
            ("JobState = TRUE", U),
            ("JobState LIKE '4'", U),
            ("OperationalStatus = 2", U),
            ("OperationalStatus < OperationalStatus", U),
            ("StartTime = 4", U),
            ("StartTime = ElapsedTime", U),
            ("StartTime < 'yesterday'", U),
            ("ElapsedTime > '20260314150926.000000+060'", U),
        ],
    );
}

#[test]
fn embedded_objects_in_three_valued_logic() {
    let event = modification(job(7, 100, &[17, 2]), job(4, 40, &[2]));
    let rows = [
        ("SourceInstance IS NOT NULL", T),
        ("SourceInstance IS NULL", F),
        ("SourceInstance ISA CIM_ManagedElement", T),
        ("SourceInstance ISA CIM_Error", F),
        ("PreviousInstance.JobState = 4", T),
        ("SourceInstance.CIM_Error::JobState = 7", U),
        ("SourceInstance.NoSuch.JobState = 7", U),
        ("SourceInstance = 4", U),
        (
            "SourceInstance.OperationalStatus <> PreviousInstance.OperationalStatus",
            T,
        ),
        (
            "SourceInstance.OperationalStatus = PreviousInstance.OperationalStatus",
            F,
        ),
        ("ANY SourceInstance.OperationalStatus[*] = 17", T),
        ("EVERY SourceInstance.OperationalStatus[*] = 17", F),
        ("EVERY SourceInstance.OperationalStatus[*] >= 2", T),
        ("ANY PreviousInstance.OperationalStatus[*] = 17", F),
    ];
    for (condition, expected) in rows {
        assert_eq!(
            truth("DMTF:CQL", "CIM_InstModification", condition, &event),
            expected,
            "{condition}"
        );
    }
}

#[test]
fn any_and_every_over_arrays() {
    let subject = Obj::new("CIM_ConcreteJob", &JOB_ANCESTRY)
        .with("Empty", u16_array(&[]))
        .null("Missing")
        .with("Status", u16_array(&[2, 17]))
        .with("JobState", 4u16)
        .with(
            "Names",
            CimValue::Array(
                CimArray::new(CimType::String, vec!["alpha".into(), "beta".into()]).unwrap(),
            ),
        );
    check_truth_table(
        "DMTF:CQL",
        &subject,
        &[
            ("ANY Status[*] = 17", T),
            ("ANY Status[*] = 6", F),
            ("EVERY Status[*] = 17", F),
            ("EVERY Status[*] > 1", T),
            ("ANY Status[*] <> 2", T),
            ("ANY Status[*] = JobState", F),
            ("ANY Status[*] < JobState", T),
            // Empty: no element passes, and every element passes.
            ("ANY Empty[*] = 1", F),
            ("EVERY Empty[*] = 1", T),
            // NULL array: unknown either way.
            ("ANY Missing[*] = 1", U),
            ("EVERY Missing[*] = 1", U),
            // Not an array.
            ("ANY JobState[*] = 4", U),
            // Element comparisons that are unknown.
            ("ANY Status[*] = 'x'", U),
            ("EVERY Status[*] = NULL", U),
            ("ANY Status[*] = NULL", U),
            // LIKE on elements.
            ("ANY Names[*] LIKE 'b.*'", T),
            ("EVERY Names[*] LIKE '.*a'", T),
            ("ANY Names[*] NOT LIKE 'alpha'", T),
            ("EVERY Names[*] LIKE 'a.*'", F),
            ("Names[1] = 'beta'", T),
        ],
    );
}

// ---------------------------------------------------------------------------
// Typed comparisons

#[test]
fn datetimes_compare_chronologically() {
    let subject = Obj::new("CIM_ConcreteJob", &JOB_ANCESTRY)
        // 14:09:26 UTC
        .with("StartTime", dt("20260314150926.000000+060"))
        .with("TimeOfLastStateChange", dt("20260314141000.000000+000"))
        .with("ElapsedTime", dt("00000000001000.000000:000"))
        .with(
            "UntilTime",
            CimValue::DateTime(CimDateTime::forever_timestamp()),
        )
        .with(
            "Forever",
            CimValue::DateTime(CimDateTime::forever_interval()),
        )
        .with(
            "TimeSubmitted",
            CimValue::DateTime(CimDateTime::zero_timestamp()),
        )
        .with("Imprecise", dt("20260314******.******+000"));
    check_truth_table(
        "WQL",
        &subject,
        &[
            ("StartTime < '20260314150000.000000+000'", T),
            ("StartTime > '20260314140000.000000+000'", T),
            // Same instant, other offset.
            ("StartTime = '20260314140926.000000+000'", T),
            ("StartTime = '20260314090926.000000-300'", T),
            ("StartTime <> '20260314140926.000001+000'", T),
            ("StartTime < TimeOfLastStateChange", T),
            ("TimeOfLastStateChange >= StartTime", T),
            ("ElapsedTime > '00000000000500.000000:000'", T),
            ("ElapsedTime = '00000000001000.000000:000'", T),
            ("ElapsedTime < '00000001000000.000000:000'", T),
            ("UntilTime > '99991231000000.000000+000'", T),
            ("UntilTime = '99999999999999.999999+000'", T),
            ("Forever > '99999999000000.000000:000'", T),
            // "time unknown" and asterisks do not compare.
            ("TimeSubmitted < StartTime", U),
            ("TimeSubmitted = '00000000000000.000000+000'", U),
            ("Imprecise = '20260314000000.000000+000'", U),
            ("StartTime > '2026**********.******+000'", U),
            // Timestamp against interval, or not a datetime.
            ("StartTime > ElapsedTime", U),
            ("ElapsedTime = '20260314150926.000000+060'", U),
            ("StartTime = 'tomorrow'", U),
        ],
    );
}

#[test]
fn integers_of_every_width_compare_numerically() {
    let subject = Obj::new("CIM_Thing", &[])
        .with("U64Max", u64::MAX)
        .with("S64Min", i64::MIN)
        .with("S8Min", i8::MIN)
        .with("U8", 200u8)
        .with("U16", 4u16)
        .with("U32", 4u32)
        .with("R32", 0.5f32)
        .with("R64", 2.5f64)
        .with("Nan", f64::NAN);
    let rows: &[(&str, Truth)] = &[
        ("U64Max = 18446744073709551615", T),
        ("U64Max = 0xFFFFFFFFFFFFFFFF", T),
        ("U64Max > 9223372036854775807", T),
        ("U64Max > -1", T),
        ("U64Max < 18446744073709551616", T),
        ("S64Min = -9223372036854775808", T),
        ("S64Min < U64Max", T),
        ("S8Min = -0x80", T),
        ("S8Min < -127", T),
        ("U8 = 200", T),
        ("U8 = 0xC8", T),
        ("U8 = +200", T),
        ("U16 = U32", T),
        ("U16 < U8", T),
        // Integers and reals compare exactly.
        ("U8 = 200.0", T),
        ("U8 > 199.5", T),
        ("U8 < 200.5", T),
        ("U8 = 2e2", T),
        ("U64Max < 1.8446744073709552e19", T),
        ("U64Max > 1.8446744073709550e19", T),
        ("R64 > 2", T),
        ("R64 < 3", T),
        ("R64 = 2.5", T),
        ("R32 = 0.5", T),
        ("R32 < R64", T),
        ("R64 >= -1e300", T),
        ("Nan = 1", U),
        ("Nan = Nan", U),
        ("Nan < 1.5", U),
    ];
    for (condition, expected) in rows {
        assert_eq!(
            truth("WQL", "CIM_Thing", condition, &subject),
            *expected,
            "{condition}"
        );
    }
}

#[test]
fn strings_compare_case_sensitively_with_escapes() {
    let subject = Obj::new("CIM_Thing", &[])
        .with("Quote", "it's")
        .with("Said", "say \"hi\"")
        .with("Name", "backup")
        .with("Empty", "")
        .with("Accent", "é")
        .with("Initial", CimValue::Char16('x'))
        .with("Percent", "100%")
        .with(
            "Ref",
            ObjectPath::new(Some("root/cimv2"), "CIM_ConcreteJob")
                .with_key("InstanceID", KeyValue::from("CIMJOB:1")),
        );
    let wql: &[(&str, Truth)] = &[
        ("Quote = 'it''s'", T),
        ("Said = \"say \"\"hi\"\"\"", T),
        ("Said = 'say \"hi\"'", T),
        ("Name = 'backup'", T),
        ("Name = 'Backup'", F),
        ("Name = 'backup '", F),
        ("Name > 'Backup'", T),
        ("Name < 'c'", T),
        ("'B' < 'a'", T),
        ("Empty = ''", T),
        ("Accent = 'é'", T),
        ("Accent > 'z'", T),
        ("Initial = 'x'", T),
        ("Initial = 'xx'", F),
        ("Initial < 'y'", T),
        ("Percent LIKE '100[%]'", T),
        ("Percent LIKE '10_%'", T),
        ("Quote LIKE 'it''_'", T),
        (
            "Ref = '/root/cimv2:CIM_ConcreteJob.InstanceID=\"CIMJOB:1\"'",
            T,
        ),
        ("Ref = 'cim_concretejob.instanceid=\"CIMJOB:1\"'", T),
        ("Ref = 'CIM_ConcreteJob.InstanceID=\"CIMJOB:2\"'", F),
        ("Ref = 'not a path'", U),
        ("Ref < 'CIM_ConcreteJob.InstanceID=\"CIMJOB:1\"'", U),
        ("Ref = Ref", T),
    ];
    for (condition, expected) in wql {
        assert_eq!(
            truth("WQL", "CIM_Thing", condition, &subject),
            *expected,
            "WQL {condition}"
        );
    }
    let cql: &[(&str, Truth)] = &[
        ("Quote = 'it''s'", T),
        ("Name LIKE 'back.*'", T),
        ("Name LIKE 'back%'", F),
        ("Percent LIKE '100%'", T),
        ("Percent LIKE '1.*\\%'", T),
        ("Name LIKE 'b[a-c]ckup'", T),
    ];
    for (condition, expected) in cql {
        assert_eq!(
            truth("DMTF:CQL", "CIM_Thing", condition, &subject),
            *expected,
            "CQL {condition}"
        );
    }
}

// ---------------------------------------------------------------------------
// Errors

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Invalid,
    Unsupported,
}

/// (rule, language, query, kind, line, column, message start)
type ErrorRow = (
    &'static str,
    &'static str,
    &'static str,
    Kind,
    usize,
    usize,
    &'static str,
);

#[test]
fn invalid_queries_name_what_was_expected_and_where() {
    use Kind::{Invalid, Unsupported};
    let rows: &[ErrorRow] = &[
        ("empty", "WQL", "", Invalid, 1, 1, "expected SELECT at the start of the query, found end of query"),
        ("not a select", "WQL", "DELETE FROM CIM_Job", Invalid, 1, 1, "expected SELECT at the start of the query, found 'DELETE'"),
        ("SELECT FROM", "WQL", "SELECT FROM CIM_Job", Invalid, 1, 8, "expected '*' or a property name after SELECT, found keyword FROM"),
        ("missing FROM", "WQL", "SELECT * CIM_Job", Invalid, 1, 10, "expected FROM after the select list, found 'CIM_Job'"),
        ("missing class", "WQL", "SELECT * FROM", Invalid, 1, 14, "expected a class name after FROM, found end of query"),
        ("keyword as class", "WQL", "SELECT * FROM WHERE", Invalid, 1, 15, "expected a class name after FROM, found keyword WHERE"),
        ("dangling comma", "WQL", "SELECT Name, FROM CIM_Job", Invalid, 1, 14, "expected '*' or a property name after ',', found keyword FROM"),
        ("missing comma", "WQL", "SELECT Name JobState FROM CIM_Job", Invalid, 1, 13, "expected ',' or FROM after the select list, found 'JobState'"),
        ("star and names", "WQL", "SELECT *, Name FROM CIM_Job", Invalid, 1, 9, "'*' already selects every property"),
        ("empty WHERE", "WQL", "SELECT * FROM CIM_Job WHERE", Invalid, 1, 28, "expected a condition, found end of query"),
        ("dangling AND", "WQL", "SELECT * FROM CIM_Job WHERE JobState = 4 AND", Invalid, 1, 45, "expected a condition, found end of query"),
        ("dangling NOT", "WQL", "SELECT * FROM CIM_Job WHERE NOT", Invalid, 1, 32, "expected a condition, found end of query"),
        ("unbalanced (", "WQL", "SELECT * FROM CIM_Job WHERE (JobState = 4", Invalid, 1, 42, "expected AND, OR or ')' to close the '(' at column 29, found end of query"),
        ("unbalanced )", "WQL", "SELECT * FROM CIM_Job WHERE JobState = 4)", Invalid, 1, 41, "unbalanced ')': there is no '(' for it to close"),
        ("empty parentheses", "WQL", "SELECT * FROM CIM_Job WHERE ()", Invalid, 1, 30, "expected a condition, found ')'"),
        ("trailing garbage", "WQL", "SELECT * FROM CIM_Job WHERE JobState = 4 garbage", Invalid, 1, 42, "expected AND, OR or the end of the query, found 'garbage'"),
        ("string after the condition", "WQL", "SELECT * FROM CIM_Job WHERE JobState = 4 'x'", Invalid, 1, 42, "expected AND, OR or the end of the query, found string 'x'"),
        ("garbage after FROM", "WQL", "SELECT * FROM CIM_Job.Name", Invalid, 1, 22, "expected WHERE or the end of the query after the class name, found '.'"),
        ("bad character", "WQL", "SELECT * FROM CIM_Job; DROP", Invalid, 1, 22, "unexpected character ';'"),
        ("missing right side", "WQL", "SELECT * FROM CIM_Job WHERE JobState =", Invalid, 1, 39, "expected a property name or literal after '=', found end of query"),
        ("keyword on the right", "WQL", "SELECT * FROM CIM_Job WHERE JobState <> AND", Invalid, 1, 41, "expected a property name or literal after '<>', found keyword AND"),
        ("missing operator", "WQL", "SELECT * FROM CIM_Job WHERE JobState 4", Invalid, 1, 38, "expected a comparison operator (=, <>, <, <=, >, >=), IS, ISA or LIKE after 'JobState', found '4'"),
        ("unknown operator ==", "WQL", "SELECT * FROM CIM_Job WHERE JobState == 4", Invalid, 1, 38, "unknown operator '=='; use '='"),
        ("unknown operator ~", "WQL", "SELECT * FROM CIM_Job WHERE JobState ~ 4", Invalid, 1, 38, "unexpected character '~'"),
        ("unknown operator =>", "WQL", "SELECT * FROM CIM_Job WHERE JobState => 4", Invalid, 1, 39, "expected a property name or literal after '=', found '>'"),
        ("unknown operator !", "WQL", "SELECT * FROM CIM_Job WHERE ! JobState = 4", Invalid, 1, 29, "unknown operator '!'"),
        ("single colon", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE CIM_Job:JobState = 4", Invalid, 1, 36, "unexpected ':'"),
        ("bad number", "WQL", "SELECT * FROM CIM_Job WHERE JobState = 12abc", Invalid, 1, 40, "invalid number '12abc'"),
        ("bad hex", "WQL", "SELECT * FROM CIM_Job WHERE JobState = 0xZZ", Invalid, 1, 40, "invalid number '0xZZ'"),
        ("bare 0x", "WQL", "SELECT * FROM CIM_Job WHERE JobState = 0x", Invalid, 1, 40, "invalid number '0x'"),
        ("two dots", "WQL", "SELECT * FROM CIM_Job WHERE JobState = 1.2.3", Invalid, 1, 40, "invalid number '1.2.3'"),
        ("huge integer", "WQL", "SELECT * FROM CIM_Job WHERE JobState = 1000000000000000000000000000000000000000", Invalid, 1, 40, "integer literal 1000000000000000000000000000000000000000 is out of range"),
        ("huge real", "WQL", "SELECT * FROM CIM_Job WHERE JobState = -1e999", Invalid, 1, 40, "real literal -1e999 is out of range for real64"),
        ("minus without number", "WQL", "SELECT * FROM CIM_Job WHERE JobState = -JobState", Invalid, 1, 41, "expected a number after '-', found 'JobState'"),
        ("unterminated string", "WQL", "SELECT * FROM CIM_Job WHERE Name = 'backup", Invalid, 1, 36, "string starting here has no closing '"),
        ("double quotes in CQL", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE Name = \"backup\"", Invalid, 1, 36, "double quotes do not delimit strings in DMTF:CQL"),
        ("IS without NULL", "WQL", "SELECT * FROM CIM_Job WHERE Name IS 'x'", Invalid, 1, 37, "expected NULL or NOT NULL after IS, found string 'x'"),
        ("IS NOT without NULL", "WQL", "SELECT * FROM CIM_Job WHERE Name IS NOT 4", Invalid, 1, 41, "expected NULL after IS NOT, found '4'"),
        ("NOT without LIKE", "WQL", "SELECT * FROM CIM_Job WHERE Name NOT = 'x'", Invalid, 1, 38, "expected LIKE after 'Name NOT', found '='"),
        ("LIKE without pattern", "WQL", "SELECT * FROM CIM_Job WHERE Name LIKE Owner", Invalid, 1, 39, "expected a quoted pattern after LIKE, found 'Owner'"),
        ("bad WQL pattern", "WQL", "SELECT * FROM CIM_Job WHERE Name LIKE 'x['", Invalid, 1, 39, "invalid LIKE pattern: '[' at character 2 has no closing ']'"),
        ("bad CQL pattern", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE Name LIKE '*x'", Invalid, 1, 39, "invalid LIKE pattern: '*' at character 1 repeats nothing"),
        ("ISA on a literal", "WQL", "SELECT * FROM CIM_Job WHERE 'x' ISA CIM_Job", Invalid, 1, 33, "ISA needs an embedded object"),
        ("ISA without class", "WQL", "SELECT * FROM CIM_Job WHERE SourceInstance ISA", Invalid, 1, 47, "expected a class name after ISA, found end of query"),
        ("ISA bad string class", "WQL", "SELECT * FROM CIM_Job WHERE SourceInstance ISA 'not a class'", Invalid, 1, 48, "'not a class' is not a class name"),
        ("ISA string class in CQL", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE SourceInstance ISA 'CIM_Job'", Invalid, 1, 48, "expected a class name after ISA, found string 'CIM_Job'"),
        ("[*] without ANY", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE OperationalStatus[*] = 2", Invalid, 1, 46, "'[*]' is only allowed after ANY or EVERY"),
        ("ANY without [*]", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE ANY OperationalStatus = 2", Invalid, 1, 51, "expected '[*]' after the array property 'OperationalStatus', found '='"),
        ("negative index", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE Status[-1] = 2", Invalid, 1, 36, "expected an array index (a non-negative decimal integer) or '*' after '[', found '-'"),
        ("unclosed index", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE Status[1 = 2", Invalid, 1, 38, "expected ']' to close the array index, found '='"),
        ("scope without name", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE CIM_Job:: = 2", Invalid, 1, 39, "expected a property name after 'CIM_Job::', found '='"),
        ("dot without name", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE SourceInstance. = 2", Invalid, 1, 45, "expected a property name after 'SourceInstance.', found '='"),
        ("multi-line position", "WQL", "SELECT *\n  FROM CIM_Job\n  WHERE JobState =", Invalid, 3, 19, "expected a property name or literal after '=', found end of query"),
        ("columns count characters", "WQL", "SELECT * FROM CIM_Job WHERE Name = 'été' AND ~", Invalid, 1, 46, "unexpected character '~'"),
        // Valid CQL we do not do.
        ("JOIN", "DMTF:CQL", "SELECT * FROM CIM_Job JOIN CIM_Error ON CIM_Job.Name = CIM_Error.Name", Unsupported, 1, 23, "joins are not supported"),
        ("two classes", "DMTF:CQL", "SELECT * FROM CIM_Job, CIM_Error", Unsupported, 1, 22, "joins are not supported"),
        ("alias with AS", "DMTF:CQL", "SELECT * FROM CIM_Job AS J", Unsupported, 1, 23, "class aliases are not supported; refer to the class as CIM_Job"),
        ("alias without AS", "DMTF:CQL", "SELECT J.Name FROM CIM_Job J WHERE J.JobState = 4", Unsupported, 1, 28, "class aliases are not supported"),
        ("ORDER BY", "WQL", "SELECT * FROM CIM_Job ORDER BY Name", Unsupported, 1, 23, "ORDER BY is not supported"),
        ("ORDER BY after WHERE", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE JobState = 4 ORDER BY Name", Unsupported, 1, 42, "ORDER BY is not supported"),
        ("GROUP BY", "WQL", "SELECT * FROM CIM_Job GROUP BY Owner", Unsupported, 1, 23, "GROUP BY and HAVING are not supported"),
        ("DISTINCT", "DMTF:CQL", "SELECT DISTINCT Owner FROM CIM_Job", Unsupported, 1, 8, "SELECT DISTINCT is not supported"),
        ("aggregate", "DMTF:CQL", "SELECT COUNT(*) FROM CIM_Job", Unsupported, 1, 8, "functions and aggregates such as COUNT() are not supported"),
        ("function in WHERE", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE UPPER(Name) = 'X'", Unsupported, 1, 29, "functions such as UPPER() are not supported"),
        ("arithmetic", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE PercentComplete + 10 > 50", Unsupported, 1, 45, "arithmetic and string concatenation ('+') are not supported"),
        ("arithmetic on the right", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE PercentComplete > 10 * 5", Unsupported, 1, 50, "arithmetic and string concatenation ('*') are not supported"),
        ("concatenation", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE Name || 'x' = 'ax'", Unsupported, 1, 34, "arithmetic and string concatenation ('||') are not supported"),
        ("IN list", "WQL", "SELECT * FROM CIM_Job WHERE JobState IN (2, 4)", Unsupported, 1, 38, "IN (...) is not supported"),
        ("NOT BETWEEN", "WQL", "SELECT * FROM CIM_Job WHERE JobState NOT BETWEEN 2 AND 4", Unsupported, 1, 42, "BETWEEN is not supported"),
        ("ANY ... SATISFIES", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE ANY s IN OperationalStatus SATISFIES (s = 2)", Unsupported, 1, 29, "ANY ... IN ... SATISFIES is not supported"),
        ("LIKE ESCAPE", "WQL", "SELECT * FROM CIM_Job WHERE Name LIKE 'x!%' ESCAPE '!'", Unsupported, 1, 45, "LIKE ... ESCAPE is not supported"),
        ("select from another class", "DMTF:CQL", "SELECT CIM_Error.Message FROM CIM_Job", Unsupported, 1, 8, "'CIM_Error.' in the select list"),
        ("index in the middle of a path", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE Items[0].Name = 'x'", Unsupported, 1, 37, "properties of array elements are not supported"),
        ("ISA on an element", "DMTF:CQL", "SELECT * FROM CIM_Job WHERE Items[0] ISA CIM_Job", Unsupported, 1, 38, "ISA on an array element is not supported"),
    ];
    for &(rule, language, text, kind, line, column, message) in rows {
        let err = query::parse(language, text).expect_err(rule);
        let (got_kind, got_message, position) = match &err {
            QueryError::Invalid { message, position } => (Kind::Invalid, message, position),
            QueryError::FeatureNotSupported { message, position } => {
                (Kind::Unsupported, message, position)
            }
            other => panic!("{rule}: {other:?}"),
        };
        assert_eq!(got_kind, kind, "{rule}: {err}");
        assert_eq!(*position, Position { line, column }, "{rule}: {err}");
        assert!(got_message.starts_with(message), "{rule}: {got_message:?}");
        assert_eq!(err.position(), Some(*position), "{rule}");
        assert_eq!(err.status_code(), CimStatusCode::InvalidQuery, "{rule}");
        assert!(
            err.to_string().ends_with(&format!(" at {position}")),
            "{rule}: {err}"
        );
    }
}

#[test]
fn error_messages_read_whole() {
    let rows = [
        (
            "SELECT * FROM CIM_Job WHERE JobState =",
            "expected a property name or literal after '=', found end of query at column 39",
        ),
        (
            "SELECT *\n  FROM CIM_Job\n  WHERE JobState =",
            "expected a property name or literal after '=', found end of query at line 3, column 19",
        ),
        (
            "SELECT * FROM CIM_Job ORDER BY Name",
            "ORDER BY is not supported: results come in no particular order at column 23",
        ),
    ];
    for (text, message) in rows {
        assert_eq!(query::parse("WQL", text).unwrap_err().to_string(), message);
    }
}

#[test]
fn nesting_is_bounded() {
    let nested = |n: usize| {
        format!(
            "SELECT * FROM C WHERE {}X = 1{}",
            "(".repeat(n),
            ")".repeat(n)
        )
    };
    assert!(query::parse("WQL", &nested(query::MAX_NESTING)).is_ok());
    let err = query::parse("WQL", &nested(query::MAX_NESTING + 1)).unwrap_err();
    assert!(err.to_string().contains("nests more than 100"), "{err}");
    let nots = format!(
        "SELECT * FROM C WHERE {}X = 1",
        "NOT ".repeat(query::MAX_NESTING + 1)
    );
    assert!(query::parse("WQL", &nots).is_err());
    // Long flat chains are not nesting.
    let chain = (0..5000)
        .map(|i| format!("X = {i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let q = query::parse("WQL", &format!("SELECT * FROM C WHERE {chain}")).unwrap();
    let subject = Obj::new("C", &[]).with("X", 4999u32);
    assert!(q.matches(&subject).unwrap());
    assert_eq!(query::parse("WQL", &q.to_string()).unwrap(), q);
}

#[test]
fn hand_built_queries_parse_would_refuse_are_evaluation_errors() {
    use cim::query::{ArrayIndex, CompareOp, Literal, Operand, PathStep, PropertyPath};
    let star_path = PropertyPath {
        steps: vec![PathStep {
            scope: None,
            name: "OperationalStatus".into(),
            index: Some(ArrayIndex::All),
        }],
    };
    let rows = [
        Expr::Compare {
            left: Operand::Property(star_path),
            op: CompareOp::Eq,
            right: Operand::Literal(Literal::Integer(2)),
        },
        Expr::Like {
            operand: Operand::Property(PropertyPath::new("Name")),
            pattern: "[oops".into(),
            negated: false,
        },
        Expr::IsNull {
            operand: Operand::Property(PropertyPath { steps: vec![] }),
            negated: false,
        },
    ];
    for expr in rows {
        let q = Query {
            language: QueryLanguage::Wql,
            select: Selection::All,
            from_class: "CIM_ConcreteJob".into(),
            where_clause: Some(expr.clone()),
        };
        let err = q.matches(&sample_job()).unwrap_err();
        assert!(
            matches!(err, QueryError::InvalidExpression { .. }),
            "{expr}: {err}"
        );
        assert_eq!(err.status_code(), CimStatusCode::InvalidQuery);
        assert_eq!(err.position(), None);
    }
    // Degenerate lists evaluate as the identities of AND and OR.
    let q = |expr| Query {
        language: QueryLanguage::Wql,
        select: Selection::All,
        from_class: "CIM_ConcreteJob".into(),
        where_clause: Some(expr),
    };
    assert!(q(Expr::And(vec![])).matches(&sample_job()).unwrap());
    assert!(!q(Expr::Or(vec![])).matches(&sample_job()).unwrap());
}

// ---------------------------------------------------------------------------
// Language names

#[test]
fn query_language_names() {
    let rows: &[(&str, Option<QueryLanguage>)] = &[
        ("WQL", Some(QueryLanguage::Wql)),
        ("wql", Some(QueryLanguage::Wql)),
        ("Wql", Some(QueryLanguage::Wql)),
        ("DMTF:CQL", Some(QueryLanguage::Cql)),
        ("dmtf:cql", Some(QueryLanguage::Cql)),
        ("CIM:CQL", Some(QueryLanguage::Cql)),
        ("CQL", Some(QueryLanguage::Cql)),
        ("SQL", None),
        ("", None),
        (" WQL", None),
        ("DMTF:WQL", None),
        ("CQL2", None),
    ];
    for &(name, expected) in rows {
        assert_eq!(QueryLanguage::from_name(name), expected, "{name:?}");
        let result = query::parse(name, "SELECT * FROM CIM_Job");
        match expected {
            Some(language) => assert_eq!(result.unwrap().language, language, "{name:?}"),
            None => {
                let err = result.unwrap_err();
                assert_eq!(
                    err,
                    QueryError::LanguageNotSupported {
                        language: name.into()
                    }
                );
                assert_eq!(err.status_code().code(), 14, "{name:?}");
                assert_eq!(
                    err.to_string(),
                    format!(
                        "query language {name:?} is not supported: use \"WQL\" or \"DMTF:CQL\""
                    )
                );
            }
        }
    }
    assert_eq!(QueryLanguage::Wql.to_string(), "WQL");
    assert_eq!(QueryLanguage::Cql.to_string(), "DMTF:CQL");
    assert_eq!(
        "cim:cql".parse::<QueryLanguage>().unwrap(),
        QueryLanguage::Cql
    );
}

// ---------------------------------------------------------------------------
// Printing

#[test]
fn display_gives_the_canonical_form() {
    let rows = [
        ("WQL", "select * from CIM_Job", "SELECT * FROM CIM_Job"),
        (
            "WQL",
            "SELECT  Name ,JobState\nFROM CIM_Job",
            "SELECT Name, JobState FROM CIM_Job",
        ),
        (
            "WQL",
            "SELECT CIM_Job.* FROM CIM_Job",
            "SELECT * FROM CIM_Job",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a != 0x1F",
            "SELECT * FROM C WHERE a <> 31",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a = -0x10",
            "SELECT * FROM C WHERE a = -16",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a = - 5",
            "SELECT * FROM C WHERE a = -5",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a = 1.50",
            "SELECT * FROM C WHERE a = 1.5",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a = 2E3",
            "SELECT * FROM C WHERE a = 2000.0",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a = .5",
            "SELECT * FROM C WHERE a = 0.5",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a = \"it's\"",
            "SELECT * FROM C WHERE a = 'it''s'",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a = true or b is not null",
            "SELECT * FROM C WHERE a = TRUE OR b IS NOT NULL",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE ((a = 1))",
            "SELECT * FROM C WHERE a = 1",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE (a = 1 AND b = 2) AND c = 3",
            "SELECT * FROM C WHERE (a = 1 AND b = 2) AND c = 3",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a = 1 AND b = 2 OR c = 3",
            "SELECT * FROM C WHERE a = 1 AND b = 2 OR c = 3",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE a = 1 AND (b = 2 OR c = 3)",
            "SELECT * FROM C WHERE a = 1 AND (b = 2 OR c = 3)",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE NOT (a = 1 OR b = 2)",
            "SELECT * FROM C WHERE NOT (a = 1 OR b = 2)",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE NOT a = 1 AND b = 2",
            "SELECT * FROM C WHERE NOT a = 1 AND b = 2",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE n not like 'x%'",
            "SELECT * FROM C WHERE n NOT LIKE 'x%'",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE c isa 'CIM_Job'",
            "SELECT * FROM C WHERE c ISA CIM_Job",
        ),
        (
            "WQL",
            "SELECT * FROM C WHERE C ISA D",
            "SELECT * FROM C WHERE C ISA D",
        ),
        (
            "DMTF:CQL",
            "SELECT * FROM C WHERE C.x = 1",
            "SELECT * FROM C WHERE x = 1",
        ),
        (
            "DMTF:CQL",
            "SELECT * FROM C WHERE C.C.x = 1",
            "SELECT * FROM C WHERE C.C.x = 1",
        ),
        (
            "DMTF:CQL",
            "SELECT * FROM C WHERE C.C ISA D",
            "SELECT * FROM C WHERE C.C ISA D",
        ),
        (
            "DMTF:CQL",
            "SELECT * FROM C WHERE any s.D::x[*] = 1",
            "SELECT * FROM C WHERE ANY s.D::x[*] = 1",
        ),
        (
            "DMTF:CQL",
            "SELECT * FROM C WHERE every x[*] not like 'a.*'",
            "SELECT * FROM C WHERE EVERY x[*] NOT LIKE 'a.*'",
        ),
        (
            "DMTF:CQL",
            "SELECT * FROM C WHERE x[007] = 1",
            "SELECT * FROM C WHERE x[7] = 1",
        ),
    ];
    for (language, text, canonical) in rows {
        let q = query::parse(language, text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(q.to_string(), canonical, "{text}");
        assert_eq!(query::parse(language, canonical).unwrap(), q, "{canonical}");
    }
}

// ---------------------------------------------------------------------------
// Properties

const KEYWORDS: [&str; 14] = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IS", "NULL", "ISA", "LIKE", "TRUE", "FALSE",
    "ANY", "EVERY",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("C".to_owned()),
        Just("SourceInstance".to_owned()),
        "[A-Za-z_][A-Za-z0-9_]{0,6}",
        "[a-zé][a-zé0-9]{0,3}",
    ]
    .prop_filter("not a keyword", |s| {
        !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))
    })
}

fn step() -> impl Strategy<Value = String> {
    (proptest::option::of(name()), name()).prop_map(|(scope, name)| match scope {
        Some(scope) => format!("{scope}::{name}"),
        None => name,
    })
}

fn path() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(step(), 1..4),
        proptest::option::of(0usize..20),
    )
        .prop_map(|(steps, index)| {
            let mut p = steps.join(".");
            if let Some(i) = index {
                p.push_str(&format!("[{i}]"));
            }
            p
        })
}

fn string_literal(wql: bool) -> impl Strategy<Value = String> {
    ("[a-z'\" %_é\\\\]{0,8}", any::<bool>()).prop_map(move |(s, double)| {
        if wql && double {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            format!("'{}'", s.replace('\'', "''"))
        }
    })
}

fn literal(wql: bool) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| format!("0x{v:X}")),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| format!("{v:?}")),
        string_literal(wql),
        Just("TRUE".to_owned()),
        Just("false".to_owned()),
        Just("NULL".to_owned()),
    ]
}

fn operand(wql: bool) -> impl Strategy<Value = String> {
    prop_oneof![path(), literal(wql)]
}

fn predicate(wql: bool) -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just("="),
        Just("<>"),
        Just("!="),
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">=")
    ];
    let pattern = if wql {
        "[a-z%_]{0,6}"
    } else {
        "([a-z.]\\*?){0,4}"
    };
    prop_oneof![
        (operand(wql), op.clone(), operand(wql)).prop_map(|(l, o, r)| format!("{l} {o} {r}")),
        (operand(wql), any::<bool>())
            .prop_map(|(o, n)| format!("{o} IS {}NULL", if n { "NOT " } else { "" })),
        (prop_oneof![path(), Just("C".to_owned())], name())
            .prop_filter("no index before ISA", |(p, _)| !p.ends_with(']'))
            .prop_map(|(p, c)| format!("{p} ISA {c}")),
        (operand(wql), any::<bool>(), pattern)
            .prop_map(|(o, n, p)| format!("{o} {}LIKE '{p}'", if n { "NOT " } else { "" })),
        (
            prop_oneof![Just("ANY"), Just("EVERY")],
            proptest::collection::vec(step(), 1..3),
            op,
            operand(wql)
        )
            .prop_map(|(q, steps, o, r)| format!("{q} {}[*] {o} {r}", steps.join("."))),
    ]
}

fn condition(wql: bool) -> impl Strategy<Value = String> {
    predicate(wql).prop_recursive(4, 24, 4, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(|v| v.join(" AND ")),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(|v| v.join(" OR ")),
            inner.clone().prop_map(|c| format!("NOT {c}")),
            inner.prop_map(|c| format!("({c})")),
        ]
    })
}

fn valid_query() -> impl Strategy<Value = (&'static str, String)> {
    any::<bool>().prop_flat_map(|wql| {
        let language = if wql { "WQL" } else { "DMTF:CQL" };
        let select = prop_oneof![
            Just("*".to_owned()),
            proptest::collection::vec(name(), 1..4).prop_map(|v| v.join(", ")),
        ];
        (select, proptest::option::of(condition(wql))).prop_map(move |(select, condition)| {
            let mut text = format!("SELECT {select} FROM C");
            if let Some(c) = condition {
                text.push_str(" WHERE ");
                text.push_str(&c);
            }
            (language, text)
        })
    })
}

/// Fragments that put the parser in interesting states when shuffled.
const SOUP: [&str; 40] = [
    "SELECT", "*", "FROM", "C", "WHERE", "AND", "OR", "NOT", "(", ")", "=", "<>", "<", ">=", "ANY",
    "EVERY", "[*]", "[", "]", "[2]", "'x'", "''", "\"", "1", "-", "+", "0x1F", "1.5e", "1e3",
    "ISA", "IS", "NULL", "LIKE", "'%['", ".", "::", "Prop", ",", "é", "\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(language in prop_oneof![Just("WQL"), Just("DMTF:CQL")], text in "\\PC{0,120}") {
        let _ = query::parse(language, &text);
    }

    #[test]
    fn parse_never_panics_on_token_soup_and_what_parses_round_trips(
        language in prop_oneof![Just("WQL"), Just("DMTF:CQL")],
        tokens in proptest::collection::vec(proptest::sample::select(&SOUP[..]), 0..10),
        glue in prop_oneof![Just(" "), Just("")],
        prefix in prop_oneof![Just(""), Just("SELECT * FROM C WHERE ")],
    ) {
        let text = format!("{prefix}{}", tokens.join(glue));
        if let Ok(q) = query::parse(language, &text) {
            let printed = q.to_string();
            prop_assert_eq!(query::parse(language, &printed).unwrap(), q, "{} -> {}", text, printed);
        }
    }

    #[test]
    fn valid_queries_print_and_reparse_to_an_equal_query((language, text) in valid_query()) {
        let q = query::parse(language, &text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let printed = q.to_string();
        let again = query::parse(language, &printed)
            .map_err(|e| TestCaseError::fail(format!("{text} -> {printed}: {e}")))?;
        prop_assert_eq!(&again, &q, "{} -> {}", text, printed);
        prop_assert_eq!(again.to_string(), printed);
        // Evaluation never panics either (everything resolves to nowhere).
        let _ = q.matches(&Obj::new("C", &[]));
    }

    #[test]
    fn valid_queries_with_a_character_changed_never_panic(
        (language, text) in valid_query(),
        at in any::<proptest::sample::Index>(),
        replacement in "\\PC",
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        let i = at.index(chars.len());
        chars.splice(i..i + 1, replacement.chars());
        let mutated: String = chars.into_iter().collect();
        if let Ok(q) = query::parse(language, &mutated) {
            prop_assert_eq!(query::parse(language, &q.to_string()).unwrap(), q);
        }
    }
}
