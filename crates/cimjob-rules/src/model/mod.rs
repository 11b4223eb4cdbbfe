//! The job as the standard defines it: CIM_ConcreteJob with our CIMJOB_ConcreteJob extensions.
//!
//! - [`value_maps`]: the ValueMap/Values of every mapped property, as enums.
//! - [`job`]: the [`Job`] struct the engine keeps and stores.
//! - [`properties`]: the one table of properties: declaration, reader, writer.
//!
//! [`apply`] is the only way a client's values reach a job, at creation and at modification,
//! so every write path checks the same qualifiers.

pub mod errors;
pub mod job;
pub mod properties;
pub mod value_maps;

pub use job::Job;

use cim::{CimValue, DeclErrorKind};
use properties::{property, SetError, View};

/// Which write path a set of values arrives through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// A new job (SubmitJob, CreateInstance, `cimjob submit`): creation-time properties allowed.
    Create,
    /// ModifyInstance / PATCH: only the properties the class marks Write.
    Modify,
}

/// A client's value that cannot be applied, naming the property.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{message}")]
pub struct PropertyError {
    /// The property as the client named it.
    pub property: String,
    /// What kind of refusal, for the protocol's status code.
    pub kind: PropertyErrorKind,
    /// Human-readable, names the property and the value.
    pub message: String,
}

/// The kinds of refusal a front end maps to its own status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PropertyErrorKind {
    /// No such property in CIMJOB_ConcreteJob.
    NoSuchProperty,
    /// The property is read-only (or fixed after creation).
    ReadOnly,
    /// The value has the wrong CIM type.
    TypeMismatch,
    /// The value breaks a qualifier or a rule of the property.
    InvalidValue,
    /// A Required property is missing.
    Missing,
}

impl PropertyError {
    fn new(property: &str, kind: PropertyErrorKind, message: impl Into<String>) -> Self {
        PropertyError {
            property: property.to_string(),
            kind,
            message: message.into(),
        }
    }

    /// The CIM status code for this refusal (DSP0200): read-only → 1 CIM_ERR_FAILED (our
    /// reading of ModifyInstance, README "Our reading of the standard"), bad value → 4, no such property → 12, wrong type → 13.
    pub fn cim_status(&self) -> u16 {
        match self.kind {
            PropertyErrorKind::ReadOnly => 1,
            PropertyErrorKind::InvalidValue | PropertyErrorKind::Missing => 4,
            PropertyErrorKind::NoSuchProperty => 12,
            PropertyErrorKind::TypeMismatch => 13,
        }
    }
}

/// Applies client values to a copy of `job` and returns it with the names of the properties
/// whose value changed. Nothing is applied unless every value is acceptable.
///
/// A property that may not be written is refused only if the value would change it, so a
/// client that sends back a whole instance it read can still change one writable property.
pub fn apply(
    job: &Job,
    values: &[(String, Option<CimValue>)],
    mode: WriteMode,
    view: &View,
) -> Result<(Job, Vec<&'static str>), PropertyError> {
    let mut next = job.clone();
    let mut changed = Vec::new();
    for (name, value) in values {
        let Some(prop) = property(name) else {
            return Err(PropertyError::new(
                name,
                PropertyErrorKind::NoSuchProperty,
                format!("CIMJOB_ConcreteJob has no property {name:?}"),
            ));
        };
        let pname = prop.decl.name;
        let before = (prop.get)(&next, view);
        let allowed = match mode {
            WriteMode::Create => prop.on_create,
            WriteMode::Modify => prop.is_writable(),
        };
        if !allowed {
            if before.as_ref() == value.as_ref() {
                continue;
            }
            let why = if prop.on_create {
                "can only be set when the job is created"
            } else {
                "is read-only"
            };
            return Err(PropertyError::new(
                pname,
                PropertyErrorKind::ReadOnly,
                format!("property {pname} {why}"),
            ));
        }
        prop.decl.check(value.as_ref()).map_err(|e| {
            let kind = match e.kind() {
                DeclErrorKind::TypeMismatch { .. } => PropertyErrorKind::TypeMismatch,
                DeclErrorKind::RequiredMissing => PropertyErrorKind::Missing,
                _ => PropertyErrorKind::InvalidValue,
            };
            PropertyError::new(pname, kind, e.to_string())
        })?;
        let set = prop.set.expect("allowed properties have a setter");
        set(&mut next, value.as_ref()).map_err(|SetError(m)| {
            PropertyError::new(
                pname,
                PropertyErrorKind::InvalidValue,
                format!("property {pname}: {m}"),
            )
        })?;
        if (prop.get)(&next, view) != before && !changed.contains(&pname) {
            changed.push(pname);
        }
    }
    if mode == WriteMode::Create {
        for required in ["Name", "CommandLine"] {
            let missing = match required {
                "Name" => next.name.trim().is_empty(),
                _ => next.command_line.is_empty(),
            };
            if missing {
                return Err(PropertyError::new(
                    required,
                    PropertyErrorKind::Missing,
                    format!("property {required} is required to create a job"),
                ));
            }
        }
    }
    Ok((next, changed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cim::{CimArray, CimDateTime, CimType};
    use jiff::Timestamp;

    fn view() -> View {
        View {
            now: Timestamp::UNIX_EPOCH,
            offset_minutes: 0,
        }
    }

    fn s(v: &str) -> Option<CimValue> {
        Some(CimValue::String(v.into()))
    }

    fn argv(items: &[&str]) -> Option<CimValue> {
        let items = items
            .iter()
            .map(|i| CimValue::String(i.to_string()))
            .collect();
        Some(CimValue::Array(
            CimArray::new(CimType::String, items).unwrap(),
        ))
    }

    fn new_job() -> Job {
        Job::new(1, "alice", Timestamp::UNIX_EPOCH)
    }

    fn create(values: Vec<(&str, Option<CimValue>)>) -> Result<Job, PropertyError> {
        let values: Vec<_> = values
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect();
        apply(&new_job(), &values, WriteMode::Create, &view()).map(|(j, _)| j)
    }

    #[test]
    fn create_needs_name_and_command_line() {
        let e = create(vec![("Name", s("x"))]).unwrap_err();
        assert_eq!(
            (e.property.as_str(), e.kind),
            ("CommandLine", PropertyErrorKind::Missing)
        );
        let e = create(vec![("CommandLine", argv(&["true"]))]).unwrap_err();
        assert_eq!(
            (e.property.as_str(), e.kind),
            ("Name", PropertyErrorKind::Missing)
        );
        let j = create(vec![("name", s("x")), ("CommandLine", argv(&["true"]))]).unwrap();
        assert_eq!(j.name, "x");
        assert_eq!(j.command_line, ["true"]);
    }

    /// Extra values for a creation, the property the refusal names, its kind, its CIM status.
    type RefusalCase<'a> = (
        Vec<(&'a str, Option<CimValue>)>,
        &'a str,
        PropertyErrorKind,
        u16,
    );

    /// One row per refusal: the values, the property named, the kind, the CIM status.
    #[test]
    fn refusals_name_the_property() {
        let base = || vec![("Name", s("x")), ("CommandLine", argv(&["true"]))];
        let cases: Vec<RefusalCase> = vec![
            (
                vec![("Bogus", s("1"))],
                "Bogus",
                PropertyErrorKind::NoSuchProperty,
                12,
            ),
            (
                vec![("JobState", Some(CimValue::UInt16(7)))],
                "JobState",
                PropertyErrorKind::ReadOnly,
                1,
            ),
            (
                vec![("Priority", s("high"))],
                "Priority",
                PropertyErrorKind::TypeMismatch,
                13,
            ),
            (
                vec![("Caption", s(&"c".repeat(65)))],
                "Caption",
                PropertyErrorKind::InvalidValue,
                4,
            ),
            (
                vec![("RecoveryAction", Some(CimValue::UInt16(6)))],
                "RecoveryAction",
                PropertyErrorKind::InvalidValue,
                4,
            ),
            (
                vec![("RunMonth", Some(CimValue::UInt8(12)))],
                "RunMonth",
                PropertyErrorKind::InvalidValue,
                4,
            ),
            (
                vec![("RunDay", Some(CimValue::SInt8(-32)))],
                "RunDay",
                PropertyErrorKind::InvalidValue,
                4,
            ),
            (
                vec![("TimeZone", s("Mars/Olympus_Mons"))],
                "TimeZone",
                PropertyErrorKind::InvalidValue,
                4,
            ),
            (
                vec![("WorkingDirectory", s("relative/dir"))],
                "WorkingDirectory",
                PropertyErrorKind::InvalidValue,
                4,
            ),
            (
                vec![("Environment", argv(&["NOEQUALS"]))],
                "Environment",
                PropertyErrorKind::InvalidValue,
                4,
            ),
            (
                vec![("CommandLine", argv(&[]))],
                "CommandLine",
                PropertyErrorKind::InvalidValue,
                4,
            ),
            (
                vec![(
                    "TimeBeforeRemoval",
                    Some(CimValue::DateTime(
                        CimDateTime::parse("20260101000000.000000+000").unwrap(),
                    )),
                )],
                "TimeBeforeRemoval",
                PropertyErrorKind::InvalidValue,
                4,
            ),
            (
                vec![("TimeBeforeRemoval", None)],
                "TimeBeforeRemoval",
                PropertyErrorKind::Missing,
                4,
            ),
            (
                vec![("RecoveryJob", s("job seven"))],
                "RecoveryJob",
                PropertyErrorKind::InvalidValue,
                4,
            ),
        ];
        for (extra, prop, kind, status) in cases {
            let mut values = base();
            values.extend(extra);
            let e = create(values).unwrap_err();
            assert_eq!(
                (e.property.as_str(), e.kind, e.cim_status()),
                (prop, kind, status),
                "{}",
                e.message
            );
            assert!(e.message.contains(prop), "{}", e.message);
        }
    }

    #[test]
    fn modify_changes_only_write_properties_and_reports_changes() {
        let job = create(vec![("Name", s("x")), ("CommandLine", argv(&["true"]))]).unwrap();
        let values = vec![
            ("Priority".to_string(), Some(CimValue::UInt32(5))),
            ("Name".to_string(), s("x")), // unchanged read-only value: ignored
            ("Notify".to_string(), s("bob")),
        ];
        let (next, changed) = apply(&job, &values, WriteMode::Modify, &view()).unwrap();
        assert_eq!(next.priority, 5);
        assert_eq!(changed, ["Priority", "Notify"]);
        let values = vec![
            ("Priority".to_string(), Some(CimValue::UInt32(6))),
            ("Name".to_string(), s("y")),
        ];
        let e = apply(&job, &values, WriteMode::Modify, &view()).unwrap_err();
        assert_eq!(
            (e.property.as_str(), e.kind),
            ("Name", PropertyErrorKind::ReadOnly)
        );
        assert!(e.message.contains("only be set when the job is created"));
    }
}
