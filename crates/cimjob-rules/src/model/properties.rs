//! The one table of CIMJOB_ConcreteJob properties.
//!
//! Each row holds the property's CIM declaration (type, qualifiers, value map, origin class),
//! how to read it from a [`Job`], and — for the properties a client may set — how to write
//! it. Validation, the JSON API, the CLI's names, GetClass and CIM-XML all read
//! this table, so a property is defined exactly once.

use cim::{CimArray, CimDateTime, CimType, CimValue, PropertyDecl, Qualifiers};
use jiff::{SignedDuration, Timestamp};

use super::job::{instance_id, parse_instance_id, Job};
use super::value_maps::{
    CommunicationStatus, DetailedStatus, HealthState, JobErrorCode, JobState, LocalOrUtcTime,
    MissedRunPolicy, OperatingStatus, OperationalStatus, OverlapPolicy, PrimaryStatus,
    RecoveryAction, RunDayOfWeek, RunMonth,
};

/// How a property reads the job: the current time (for ElapsedTime) and the UTC offset that
/// timestamps are shown in.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// Now, for values that grow while the job runs.
    pub now: Timestamp,
    /// Minutes east of UTC for every timestamp returned.
    pub offset_minutes: i16,
}

impl View {
    /// A view at `now` with timestamps shown at `zone`'s UTC offset at that moment (the
    /// service passes its own zone: these rules never read the system's).
    ///
    /// ```
    /// use cimjob_rules::model::properties::View;
    /// let now = "2026-07-01T12:00:00Z".parse().unwrap();
    /// let zone = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    /// assert_eq!(View::at(now, &zone).offset_minutes, 120);
    /// ```
    pub fn at(now: Timestamp, zone: &jiff::tz::TimeZone) -> View {
        let offset = zone.to_offset(now).seconds() / 60;
        View {
            now,
            offset_minutes: offset as i16,
        }
    }
}

/// The most arguments a CommandLine (and entries an Environment) may hold: far more than
/// any command needs, and far below what would let one submission fill the service's memory.
pub const MAX_ENTRIES: usize = 4_096;

/// The most bytes a CommandLine's arguments (and an Environment's entries) may hold together:
/// half of Linux's usual limit on what `exec` takes (ARG_MAX, 2 MiB), so the rest still fits.
pub const MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// Refuses `entries` of `property` beyond [`MAX_ENTRIES`] or [`MAX_ENTRY_BYTES`].
fn within_limits(property: &str, what: &str, entries: &[String]) -> Result<(), SetError> {
    if entries.len() > MAX_ENTRIES {
        return Err(SetError(format!(
            "{property} holds {} {what}; at most {MAX_ENTRIES} are accepted",
            entries.len()
        )));
    }
    let bytes: usize = entries.iter().map(String::len).sum();
    if bytes > MAX_ENTRY_BYTES {
        return Err(SetError(format!(
            "{property} holds {bytes} bytes; at most {MAX_ENTRY_BYTES} are accepted"
        )));
    }
    Ok(())
}

/// Reads one property of a job.
pub type Getter = fn(&Job, &View) -> Option<CimValue>;
/// Writes one property of a job from an already type- and range-checked value; the error
/// says what the value means that the qualifiers cannot check.
pub type Setter = fn(&mut Job, Option<&CimValue>) -> Result<(), SetError>;

/// Why a setter refused a value that passed the qualifier checks: the text says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetError(pub String);

/// One property: its declaration and how the job reads and writes it.
pub struct JobProperty {
    /// Type, qualifiers, value map, class origin, description.
    pub decl: PropertyDecl,
    /// May be given when the job is created (Write properties always may).
    pub on_create: bool,
    /// Reads the value.
    pub get: Getter,
    /// Writes the value (present iff the property is writable at create or modify time).
    pub set: Option<Setter>,
}

impl JobProperty {
    /// Whether ModifyInstance may change it (the MOF's Write qualifier).
    pub fn is_writable(&self) -> bool {
        self.decl.qualifiers.write
    }
}

const ME: &str = "CIM_ManagedElement";
const MSE: &str = "CIM_ManagedSystemElement";
const JOB: &str = "CIM_Job";
const CJ: &str = "CIM_ConcreteJob";
/// Our subclass of CIM_ConcreteJob, which adds what the work is.
pub const CLASS_NAME: &str = "CIMJOB_ConcreteJob";

const Q: Qualifiers = Qualifiers::NONE;
const W: Qualifiers = Qualifiers {
    write: true,
    ..Qualifiers::NONE
};

const fn decl(
    name: &'static str,
    ty: CimType,
    origin: &'static str,
    qualifiers: Qualifiers,
    description: &'static str,
) -> PropertyDecl {
    PropertyDecl {
        name,
        ty,
        is_array: false,
        class_origin: origin,
        qualifiers,
        description,
        default: None,
        reference_class: None,
    }
}

const fn array(mut d: PropertyDecl) -> PropertyDecl {
    d.is_array = true;
    d
}

const fn with_default(mut d: PropertyDecl, default: &'static str) -> PropertyDecl {
    d.default = Some(default);
    d
}

const fn mapped(
    vm: &'static [&'static str],
    v: &'static [&'static str],
    mut q: Qualifiers,
) -> Qualifiers {
    q.value_map = vm;
    q.values = v;
    q
}

const fn interval(mut q: Qualifiers) -> Qualifiers {
    q.interval = true;
    q
}

fn read_only(name: &'static str, d: PropertyDecl, get: Getter) -> JobProperty {
    debug_assert!(!d.qualifiers.write, "{name} is declared Write");
    JobProperty {
        decl: d,
        on_create: false,
        get,
        set: None,
    }
}

fn create_only(d: PropertyDecl, get: Getter, set: Setter) -> JobProperty {
    JobProperty {
        decl: d,
        on_create: true,
        get,
        set: Some(set),
    }
}

fn writable(d: PropertyDecl, get: Getter, set: Setter) -> JobProperty {
    JobProperty {
        decl: d,
        on_create: true,
        get,
        set: Some(set),
    }
}

fn string(s: &Option<String>) -> Option<CimValue> {
    s.as_ref().map(|s| CimValue::String(s.clone()))
}

fn strings(items: &[String]) -> Option<CimValue> {
    let values = items.iter().map(|s| CimValue::String(s.clone())).collect();
    Some(CimValue::Array(
        CimArray::new(CimType::String, values).expect("strings are strings"),
    ))
}

fn u16s(items: impl Iterator<Item = u16>) -> Option<CimValue> {
    let values = items.map(CimValue::UInt16).collect();
    Some(CimValue::Array(
        CimArray::new(CimType::UInt16, values).expect("uint16 elements"),
    ))
}

fn timestamp(view: &View, t: Option<Timestamp>) -> Option<CimValue> {
    t.and_then(|t| CimDateTime::from_timestamp(t, view.offset_minutes).ok())
        .map(CimValue::DateTime)
}

/// JobOutParameters (CIM_ConcreteJob): NULL unless the job is Completed; for a job a method
/// made (SubmitJob), what the method would have answered had it waited: its OUT parameter
/// `Job` (this job) and `__ReturnValue` 0, Completed with No Error.
fn out_parameters(j: &Job) -> Option<CimValue> {
    if j.job_in_parameters.is_none() || j.situation != crate::state::Situation::Completed {
        return None;
    }
    let this = cim::ObjectPath::new(None, CLASS_NAME)
        .with_key("InstanceID", cim::KeyValue::String(instance_id(j.local_id)));
    let mut out = cim::xml::Instance::new("__JobOutParameters");
    out.set_property(cim::xml::Property::new("Job", CimValue::Reference(this)));
    out.set_property(cim::xml::Property::new(
        "__ReturnValue",
        CimValue::UInt32(0),
    ));
    Some(CimValue::String(cim::xml::write_instance(&out)))
}

fn duration(d: SignedDuration) -> Option<CimValue> {
    CimDateTime::from_duration(d).ok().map(CimValue::DateTime)
}

fn text_of(v: Option<&CimValue>) -> Option<String> {
    v.and_then(|v| v.as_str()).map(str::to_string)
}

fn texts_of(v: Option<&CimValue>) -> Vec<String> {
    v.and_then(|v| v.as_array())
        .map(|a| {
            a.items()
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn datetime(v: Option<&CimValue>) -> Option<CimDateTime> {
    v.and_then(|v| v.as_datetime()).copied()
}

fn small<T: TryFrom<i64>>(v: Option<&CimValue>) -> Option<T> {
    v.and_then(|v| v.as_i64()).and_then(|n| T::try_from(n).ok())
}

/// Every property of CIMJOB_ConcreteJob, inherited ones first, in MOF order.
pub fn properties() -> &'static [JobProperty] {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<JobProperty>> = OnceLock::new();
    TABLE.get_or_init(build_table)
}

/// The property with this name, ignoring case as CIM does.
pub fn property(name: &str) -> Option<&'static JobProperty> {
    properties()
        .iter()
        .find(|p| p.decl.name.eq_ignore_ascii_case(name))
}

/// Every property's current value, in table order; `None` is CIM NULL.
pub fn instance(job: &Job, view: &View) -> Vec<(&'static str, Option<CimValue>)> {
    properties()
        .iter()
        .map(|p| (p.decl.name, (p.get)(job, view)))
        .collect()
}

fn build_table() -> Vec<JobProperty> {
    use CimType as T;
    vec![
        read_only(
            "InstanceID",
            decl("InstanceID", T::String, CJ, Qualifiers { key: true, ..Q },
                "Opaquely and uniquely identifies the job: CIMJOB:<LocalID>; LocalIDs are never reused."),
            |j, _| Some(CimValue::String(instance_id(j.local_id))),
        ),
        create_only(
            decl("Caption", T::String, ME, Qualifiers { max_len: Some(64), ..Q },
                "A short textual description (one-line string) of the job."),
            |j, _| string(&j.caption),
            |j, v| { j.caption = text_of(v); Ok(()) },
        ),
        create_only(
            decl("Description", T::String, ME, Q, "A textual description of the job."),
            |j, _| string(&j.description),
            |j, v| { j.description = text_of(v); Ok(()) },
        ),
        create_only(
            decl("ElementName", T::String, ME, Q, "A user-friendly name for the job."),
            |j, _| string(&j.element_name),
            |j, v| { j.element_name = text_of(v); Ok(()) },
        ),
        read_only(
            "Generation",
            decl("Generation", T::UInt64, ME, Q,
                "Increases every time the job changes, so a client can tell whether it changed between two reads."),
            |j, _| Some(CimValue::UInt64(j.generation)),
        ),
        read_only(
            "InstallDate",
            decl("InstallDate", T::DateTime, MSE, Q, "Not used for jobs: always NULL."),
            |_, _| None,
        ),
        create_only(
            decl("Name", T::String, CJ, Qualifiers { required: true, max_len: Some(1024), ..Q },
                "The user-friendly name of the job; need not be unique."),
            |j, _| Some(CimValue::String(j.name.clone())),
            |j, v| {
                let name = text_of(v).unwrap_or_default();
                if name.trim().is_empty() {
                    return Err(SetError("Name must not be empty".into()));
                }
                j.name = name;
                Ok(())
            },
        ),
        read_only(
            "OperationalStatus",
            array(decl("OperationalStatus", T::UInt16, MSE,
                mapped(OperationalStatus::VALUE_MAP, OperationalStatus::VALUES, Qualifiers { array_type_indexed: true, ..Q }),
                "The job's current statuses, primary first; follows JobState (the cimjob README's state table).")),
            |j, _| u16s(j.situation.status().operational_status.iter().map(|s| s.number())),
        ),
        read_only(
            "StatusDescriptions",
            array(decl("StatusDescriptions", T::String, MSE, Qualifiers { array_type_indexed: true, ..Q },
                "Describes each OperationalStatus element, index for index.")),
            |j, _| {
                let names: Vec<String> = j.situation.status().operational_status.iter().map(|s| s.name().to_string()).collect();
                strings(&names)
            },
        ),
        read_only(
            "Status",
            decl("Status", T::String, MSE,
                Qualifiers { max_len: Some(10), deprecated: &["CIM_ManagedSystemElement.OperationalStatus"], ..Q },
                "Deprecated primary status string, kept consistent with OperationalStatus."),
            |j, _| Some(CimValue::String(j.situation.status().status.to_string())),
        ),
        read_only(
            "HealthState",
            decl("HealthState", T::UInt16, MSE, mapped(HealthState::VALUE_MAP, HealthState::VALUES, Q),
                "The job's health: OK unless it failed."),
            |j, _| Some(CimValue::UInt16(j.situation.status().health_state.number())),
        ),
        read_only(
            "CommunicationStatus",
            decl("CommunicationStatus", T::UInt16, MSE, mapped(CommunicationStatus::VALUE_MAP, CommunicationStatus::VALUES, Q),
                "Whether the service can reach the job's work."),
            |j, _| Some(CimValue::UInt16(j.situation.status().communication_status.number())),
        ),
        read_only(
            "DetailedStatus",
            decl("DetailedStatus", T::UInt16, MSE, mapped(DetailedStatus::VALUE_MAP, DetailedStatus::VALUES, Q),
                "Detail that complements PrimaryStatus."),
            |j, _| Some(CimValue::UInt16(j.situation.status().detailed_status.number())),
        ),
        read_only(
            "OperatingStatus",
            decl("OperatingStatus", T::UInt16, MSE, mapped(OperatingStatus::VALUE_MAP, OperatingStatus::VALUES, Q),
                "The job's operating condition, following JobState."),
            |j, _| Some(CimValue::UInt16(j.situation.status().operating_status.number())),
        ),
        read_only(
            "PrimaryStatus",
            decl("PrimaryStatus", T::UInt16, MSE, mapped(PrimaryStatus::VALUE_MAP, PrimaryStatus::VALUES, Q),
                "OK, or Error once the job failed."),
            |j, _| Some(CimValue::UInt16(j.situation.status().primary_status.number())),
        ),
        read_only(
            "JobStatus",
            decl("JobStatus", T::String, JOB, Q,
                "Free-form status: the work's last progress text, the pending question, or when a re-run is due."),
            |j, _| j.job_status().map(|s| CimValue::String(s.to_string())),
        ),
        read_only(
            "TimeSubmitted",
            decl("TimeSubmitted", T::DateTime, JOB, Q, "When the job was submitted."),
            |j, v| timestamp(v, Some(j.time_submitted)),
        ),
        writable(
            decl("ScheduledStartTime", T::DateTime, JOB,
                Qualifiers { write: true, deprecated: &["CIM_Job.RunMonth", "CIM_Job.RunDay", "CIM_Job.RunDayOfWeek", "CIM_Job.RunStartInterval"], ..Q },
                "Deprecated: the earliest start, an absolute time or an interval from submission; all zeros = at once."),
            |j, _| j.scheduled_start_time.map(CimValue::DateTime),
            |j, v| { j.scheduled_start_time = datetime(v); Ok(()) },
        ),
        read_only(
            "StartTime",
            decl("StartTime", T::DateTime, JOB, Q, "When the last run actually started."),
            |j, v| timestamp(v, j.start_time),
        ),
        read_only(
            "ElapsedTime",
            decl("ElapsedTime", T::DateTime, JOB, interval(Q),
                "How long the last run has been executing, or took in all once it ended."),
            |j, v| {
                let start = j.start_time?;
                let end = j.end_time.unwrap_or(v.now);
                duration(end.duration_since(start).max(SignedDuration::ZERO))
            },
        ),
        writable(
            with_default(decl("JobRunTimes", T::UInt32, JOB, W,
                "How many times the job runs; 1 = once, 0 = until UntilTime or a Terminate. Without a calendar rule the runs follow one another."), "1"),
            |j, _| Some(CimValue::UInt32(j.job_run_times)),
            |j, v| { j.job_run_times = small(v).unwrap_or(1); Ok(()) },
        ),
        writable(
            decl("RunMonth", T::UInt8, JOB, mapped(RunMonth::VALUE_MAP, RunMonth::VALUES, W),
                "The month in which the job runs (0 = January); NULL = every month."),
            |j, _| j.run_month.map(CimValue::UInt8),
            |j, v| { j.run_month = small(v); Ok(()) },
        ),
        writable(
            decl("RunDay", T::SInt8, JOB, Qualifiers { min_value: Some(-31), max_value: Some(31), ..W },
                "The day of the month: positive from its start, negative from its end (-1 = last day)."),
            |j, _| j.run_day.map(CimValue::SInt8),
            |j, v| { j.run_day = small(v); Ok(()) },
        ),
        writable(
            decl("RunDayOfWeek", T::SInt8, JOB, mapped(RunDayOfWeek::VALUE_MAP, RunDayOfWeek::VALUES, W),
                "The weekday, on or after (positive) or on or before (negative) RunDay; without RunDay the first or last such weekday of the month."),
            |j, _| j.run_day_of_week.map(CimValue::SInt8),
            |j, v| { j.run_day_of_week = small(v); Ok(()) },
        ),
        writable(
            decl("RunStartInterval", T::DateTime, JOB, interval(W),
                "The time after midnight at which the job runs; NULL = midnight."),
            |j, _| j.run_start_interval.map(CimValue::DateTime),
            |j, v| { j.run_start_interval = datetime(v); Ok(()) },
        ),
        writable(
            decl("LocalOrUtcTime", T::UInt16, JOB, mapped(LocalOrUtcTime::VALUE_MAP, LocalOrUtcTime::VALUES, W),
                "Whether RunStartInterval and UntilTime are local (the job's TimeZone, else the service's) or UTC."),
            |j, _| j.local_or_utc_time.map(|l| CimValue::UInt16(l.number())),
            |j, v| { j.local_or_utc_time = small(v).and_then(LocalOrUtcTime::from_number); Ok(()) },
        ),
        writable(
            decl("UntilTime", T::DateTime, JOB, W,
                "No run starts after this time; an absolute time, an interval from submission, or a for-ever value."),
            |j, _| j.until_time.map(CimValue::DateTime),
            |j, v| { j.until_time = datetime(v); Ok(()) },
        ),
        writable(
            decl("Notify", T::String, JOB, W, "The user to notify when the job ends."),
            |j, _| string(&j.notify),
            |j, v| { j.notify = text_of(v); Ok(()) },
        ),
        read_only(
            "Owner",
            decl("Owner", T::String, JOB, Q, "The user who submitted the job."),
            |j, _| Some(CimValue::String(j.owner.clone())),
        ),
        writable(
            decl("Priority", T::UInt32, JOB, W,
                "Lower numbers run first; equal priorities run in submission order. Default 65535."),
            |j, _| Some(CimValue::UInt32(j.priority)),
            |j, v| { j.priority = v.and_then(|v| v.as_u64()).map_or(super::job::DEFAULT_PRIORITY, |p| p as u32); Ok(()) },
        ),
        read_only(
            "PercentComplete",
            decl("PercentComplete", T::UInt16, JOB,
                Qualifiers { min_value: Some(0), max_value: Some(101), units: Some("Percent"), ..Q },
                "How far the current or last run is, as the work reports it; 100 once it completed OK."),
            |j, _| j.percent_complete.map(CimValue::UInt16),
        ),
        writable(
            decl("DeleteOnCompletion", T::Boolean, JOB, W,
                "Delete the job automatically once TimeBeforeRemoval has passed after it ended."),
            |j, _| Some(CimValue::Boolean(j.delete_on_completion)),
            |j, v| { j.delete_on_completion = v.and_then(|v| v.as_bool()).unwrap_or(false); Ok(()) },
        ),
        read_only(
            "ErrorCode",
            decl("ErrorCode", T::UInt16, JOB,
                mapped(JobErrorCode::VALUE_MAP, JobErrorCode::VALUES, Q),
                "Why the last run failed (our table; 0 when it completed without error)."),
            |j, _| Some(CimValue::UInt16(j.error_code.number())),
        ),
        read_only(
            "ErrorDescription",
            decl("ErrorDescription", T::String, JOB, Q, "What went wrong in the last run, in words."),
            |j, _| string(&j.error_description),
        ),
        create_only(
            decl("RecoveryAction", T::UInt16, JOB, mapped(RecoveryAction::VALUE_MAP, RecoveryAction::VALUES, Q),
                "What happens when the work fails: Re-run Job, Run Recovery Job, Continue With Next Job, Do Not Continue, Other."),
            |j, _| Some(CimValue::UInt16(j.recovery_action.number())),
            |j, v| {
                j.recovery_action = v.and_then(|v| v.as_u64())
                    .and_then(|n| RecoveryAction::from_number(n as u16))
                    .unwrap_or(RecoveryAction::Unknown);
                Ok(())
            },
        ),
        create_only(
            decl("OtherRecoveryAction", T::String, JOB, Q, "The recovery action when RecoveryAction is Other (1)."),
            |j, _| string(&j.other_recovery_action),
            |j, v| { j.other_recovery_action = text_of(v); Ok(()) },
        ),
        read_only(
            "JobState",
            decl("JobState", T::UInt16, CJ, mapped(JobState::VALUE_MAP, JobState::VALUES, Q),
                "The job's state: New, Starting, Running, Suspended, Shutting Down, Completed, Terminated, Killed, Exception, Service, Query Pending."),
            |j, _| Some(CimValue::UInt16(j.situation.status().job_state.number())),
        ),
        read_only(
            "TimeOfLastStateChange",
            decl("TimeOfLastStateChange", T::DateTime, CJ, Q,
                "When JobState last changed: a job that has not changed state since it was submitted became New then."),
            // a moment, in every state: the zero interval the standard allows for "never
            // changed" is a duration where clients read a time (a submission set the state)
            |j, v| timestamp(v, Some(j.time_of_last_state_change.unwrap_or(j.time_submitted))),
        ),
        writable(
            with_default(decl("TimeBeforeRemoval", T::DateTime, CJ, interval(Qualifiers { required: true, ..W }),
                "How long a finished job is kept at least; then it is deleted if DeleteOnCompletion."),
                "00000000000500.000000:000"),
            |j, _| duration(j.time_before_removal),
            |j, v| {
                let d = v.and_then(|v| v.as_datetime()).map(|d| d.to_duration());
                match d {
                    Some(Ok(d)) => { j.time_before_removal = d; Ok(()) }
                    Some(Err(e)) => Err(SetError(format!("TimeBeforeRemoval: {e}"))),
                    None => Err(SetError("TimeBeforeRemoval is Required and cannot be NULL".into())),
                }
            },
        ),
        read_only(
            "JobInParameters",
            decl("JobInParameters", T::String, CJ, Qualifiers { embedded_object: true, ..Q },
                "The input parameters of the method that created the job (NULL for jobs submitted directly)."),
            |j, _| string(&j.job_in_parameters),
        ),
        read_only(
            "JobOutParameters",
            decl("JobOutParameters", T::String, CJ, Qualifiers { embedded_object: true, ..Q },
                "The output parameters of the method that created the job, once Completed: an embedded __JobOutParameters with the method's Job reference and __ReturnValue 0 (NULL otherwise, and for jobs submitted directly)."),
            |j, _| out_parameters(j),
        ),
        create_only(
            array(decl("CommandLine", T::String, CLASS_NAME, Q,
                "The work: argv of the command run as the job's own process group; argv[0] is looked up in PATH. Required at creation.")),
            |j, _| strings(&j.command_line),
            |j, v| {
                let argv = texts_of(v);
                within_limits("CommandLine", "arguments", &argv)?;
                if argv.first().is_none_or(|a| a.is_empty()) {
                    return Err(SetError("CommandLine must name a command (argv[0] is empty)".into()));
                }
                j.command_line = argv;
                Ok(())
            },
        ),
        create_only(
            decl("WorkingDirectory", T::String, CLASS_NAME, Q,
                "The absolute directory the work runs in; the service's own when NULL."),
            |j, _| string(&j.working_directory),
            |j, v| {
                let dir = text_of(v);
                if let Some(d) = &dir {
                    if !d.starts_with('/') {
                        return Err(SetError(format!("WorkingDirectory {d:?} is not an absolute path")));
                    }
                }
                j.working_directory = dir;
                Ok(())
            },
        ),
        create_only(
            array(decl("Environment", T::String, CLASS_NAME, Q,
                "NAME=value entries added to the work's environment.")),
            |j, _| strings(&j.environment),
            |j, v| {
                let entries = texts_of(v);
                within_limits("Environment", "entries", &entries)?;
                for e in &entries {
                    match e.split_once('=') {
                        Some((name, _)) if !name.is_empty() => {}
                        _ => return Err(SetError(format!("Environment entry {e:?} is not NAME=value"))),
                    }
                }
                j.environment = entries;
                Ok(())
            },
        ),
create_only(
            decl("RunAsUser", T::String, CLASS_NAME, Q,
                "The OS account the work runs as: its owner's when the service runs as root, else the service's. May be given at creation only as that account."),
            |j, _| string(&j.run_as_user),
            |j, v| { j.run_as_user = text_of(v); Ok(()) },
        ),
        read_only(
            "ExitStatus",
            decl("ExitStatus", T::SInt32, CLASS_NAME, Q, "The exit status of the last run's main process, if it exited."),
            |j, _| j.exit_status.map(CimValue::SInt32),
        ),
        read_only(
            "Signal",
            decl("Signal", T::SInt32, CLASS_NAME, Q, "The signal number that ended the last run's main process, if one did."),
            |j, _| j.signal.map(CimValue::SInt32),
        ),
        read_only(
            "OutputPath",
            decl("OutputPath", T::String, CLASS_NAME, Q, "The file holding stdout and stderr of the current or last run."),
            |j, _| string(&j.output_path),
        ),
        read_only(
            "RunCount",
            decl("RunCount", T::UInt32, CLASS_NAME, Q, "How many times the job has been started, re-runs included."),
            |j, _| Some(CimValue::UInt32(j.run_count)),
        ),
        read_only(
            "NextRunTime",
            decl("NextRunTime", T::DateTime, CLASS_NAME, Q, "When the job next runs, if it waits for a time (its schedule, or a re-run after backoff)."),
            |j, v| timestamp(v, j.next_start()),
        ),
        read_only(
            "SkippedRuns",
            decl("SkippedRuns", T::UInt32, CLASS_NAME, Q,
                "Scheduled runs skipped because the previous run was still going, or missed while the service was down under MissedRunPolicy Skip."),
            |j, _| Some(CimValue::UInt32(j.skipped_runs)),
        ),
        writable(
            decl("TimeZone", T::String, CLASS_NAME, W,
                "The IANA zone that local schedule times are read in; the service's zone when NULL."),
            |j, _| string(&j.time_zone),
            |j, v| {
                let zone = text_of(v);
                if let Some(name) = &zone {
                    jiff::tz::TimeZone::get(name)
                        .map_err(|_| SetError(format!("TimeZone {name:?} is not an IANA time zone (e.g. Europe/Berlin)")))?;
                }
                j.time_zone = zone;
                Ok(())
            },
        ),
        writable(
            decl("MissedRunPolicy", T::UInt16, CLASS_NAME, mapped(MissedRunPolicy::VALUE_MAP, MissedRunPolicy::VALUES, W),
                "What a restart does with runs missed while the service was down: Run Once (default) or Skip."),
            |j, _| j.missed_run_policy.map(|m| CimValue::UInt16(m.number())),
            |j, v| { j.missed_run_policy = small(v).and_then(MissedRunPolicy::from_number); Ok(()) },
        ),
        writable(
            decl("RepeatInterval", T::DateTime, CLASS_NAME, interval(W),
                "The job recurs this often (at least one second), from ScheduledStartTime, else from its submission, within JobRunTimes and UntilTime. One way to recur per job: not with CalendarExpression or RunMonth, RunDay, RunDayOfWeek, RunStartInterval."),
            |j, _| j.repeat_interval.map(CimValue::DateTime),
            |j, v| { j.repeat_interval = datetime(v); Ok(()) },
        ),
        writable(
            decl("CalendarExpression", T::String, CLASS_NAME, W,
                "When the job recurs, in systemd's OnCalendar syntax (Mon,Thu 02:00; Mon..Fri 18:30; *:0/15; hourly), read in the job's TimeZone (UTC when LocalOrUtcTime is 2), within JobRunTimes and UntilTime. One way to recur per job: not with RepeatInterval or RunMonth, RunDay, RunDayOfWeek, RunStartInterval."),
            |j, _| string(&j.calendar_expression),
            |j, v| { j.calendar_expression = text_of(v); Ok(()) },
        ),
        writable(
            decl("OverlapPolicy", T::UInt16, CLASS_NAME, mapped(OverlapPolicy::VALUE_MAP, OverlapPolicy::VALUES, W),
                "What an occurrence does that comes while the previous run still goes: Skip it (the default; counted in SkippedRuns), Queue it (one at most; it starts when the run ends), or Replace the run (SIGTERM, SIGKILL after the default TimeoutPeriod, then the new run starts; a suspended run is replaced too)."),
            |j, _| j.overlap_policy.map(|m| CimValue::UInt16(m.number())),
            |j, v| { j.overlap_policy = small(v).and_then(OverlapPolicy::from_number); Ok(()) },
        ),
        create_only(
            decl("RecoveryJob", T::String, CLASS_NAME, Q,
                "The InstanceID of the job Run Recovery Job starts when this one fails; it must already exist."),
            |j, _| j.recovery_job.map(|id| CimValue::String(instance_id(id))),
            |j, v| {
                j.recovery_job = match text_of(v) {
                    None => None,
                    Some(text) => Some(parse_instance_id(&text).ok_or_else(|| {
                        SetError(format!("RecoveryJob {text:?} is not an InstanceID like CIMJOB:12"))
                    })?),
                };
                Ok(())
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_property_is_present_once() {
        let seed = [
            "Caption",
            "Description",
            "ElementName",
            "InstallDate",
            "OperationalStatus",
            "StatusDescriptions",
            "Status",
            "HealthState",
            "JobStatus",
            "TimeSubmitted",
            "ScheduledStartTime",
            "StartTime",
            "ElapsedTime",
            "JobRunTimes",
            "RunMonth",
            "RunDay",
            "RunDayOfWeek",
            "RunStartInterval",
            "LocalOrUtcTime",
            "UntilTime",
            "Notify",
            "Owner",
            "Priority",
            "PercentComplete",
            "DeleteOnCompletion",
            "ErrorCode",
            "ErrorDescription",
            "RecoveryAction",
            "OtherRecoveryAction",
            "InstanceID",
            "Name",
            "JobState",
            "TimeOfLastStateChange",
            "TimeBeforeRemoval",
        ];
        assert_eq!(seed.len(), 34);
        let later = [
            "Generation",
            "CommunicationStatus",
            "DetailedStatus",
            "OperatingStatus",
            "PrimaryStatus",
            "JobInParameters",
            "JobOutParameters",
        ];
        let ours = [
            "CommandLine",
            "WorkingDirectory",
            "Environment",
            "RunAsUser",
            "ExitStatus",
            "Signal",
            "OutputPath",
            "RunCount",
            "NextRunTime",
            "SkippedRuns",
            "TimeZone",
            "MissedRunPolicy",
            "RepeatInterval",
            "CalendarExpression",
            "OverlapPolicy",
            "RecoveryJob",
        ];
        for name in seed.iter().chain(&later).chain(&ours) {
            let n = properties().iter().filter(|p| p.decl.name == *name).count();
            assert_eq!(n, 1, "{name}");
        }
        assert_eq!(properties().len(), seed.len() + later.len() + ours.len());
    }

    #[test]
    fn write_qualifier_matches_the_class_page() {
        let writable: Vec<_> = properties()
            .iter()
            .filter(|p| p.is_writable())
            .map(|p| p.decl.name)
            .collect();
        assert_eq!(
            writable,
            [
                "ScheduledStartTime",
                "JobRunTimes",
                "RunMonth",
                "RunDay",
                "RunDayOfWeek",
                "RunStartInterval",
                "LocalOrUtcTime",
                "UntilTime",
                "Notify",
                "Priority",
                "DeleteOnCompletion",
                "TimeBeforeRemoval",
                "TimeZone",
                "MissedRunPolicy",
                "RepeatInterval",
                "CalendarExpression",
                "OverlapPolicy",
            ]
        );
        for p in properties() {
            assert_eq!(
                p.set.is_some(),
                p.on_create || p.is_writable(),
                "{}",
                p.decl.name
            );
            if p.is_writable() {
                assert!(p.on_create, "{}", p.decl.name);
            }
        }
    }

    #[test]
    fn defaults_are_the_class_defaults() {
        let j = Job::new(1, "alice", Timestamp::UNIX_EPOCH);
        let view = View {
            now: Timestamp::UNIX_EPOCH,
            offset_minutes: 0,
        };
        let get = |n: &str| (property(n).unwrap().get)(&j, &view);
        assert_eq!(get("JobRunTimes"), Some(CimValue::UInt32(1)));
        assert_eq!(
            get("TimeBeforeRemoval").unwrap().to_string(),
            "00000000000500.000000:000"
        );
        assert_eq!(
            get("TimeOfLastStateChange").unwrap().to_string(),
            "19700101000000.000000+000",
            "a job that never changed state became New when it was submitted"
        );
        assert_eq!(get("JobState"), Some(CimValue::UInt16(2)));
        assert_eq!(get("InstanceID"), Some(CimValue::String("CIMJOB:1".into())));
        assert_eq!(property("jobstate").unwrap().decl.name, "JobState");
    }
}
