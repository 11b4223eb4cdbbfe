//! Protocol-level CIM (DMTF Common Information Model) building blocks, for
//! any Rust WBEM provider or client.
//!
//! What is here, one concern per module:
//!
//! - [`datetime`]: [`CimDateTime`], the DSP0004 25-character datetime
//!   (timestamps, intervals, asterisks, the all-zero and "for ever"
//!   sentinels), with exact round trips and conversions to and from
//!   [`jiff`].
//! - [`value`]: [`CimType`] and typed [`CimValue`]s with range checks and the
//!   CIM-XML `VALUE` text form.
//! - [`path`]: [`ObjectPath`], instance paths in the DSP0207 WBEM URI form.
//! - [`decl`]: [`PropertyDecl`] and [`Qualifiers`], `static` property tables
//!   and the checks a value must pass against them (Required, MaxLen,
//!   MinValue/MaxValue, ValueMap, SubType("interval")).
//! - [`class_decl`]: [`ClassDecl`], [`MethodDecl`], [`ParameterDecl`]: whole
//!   classes with their methods, the same checks for method parameters, and
//!   DSP0004 inheritance (class origin, propagated, overrides).
//! - [`query`]: [`Query`], the WQL / DMTF:CQL subset of ExecQuery, pull
//!   FilterQuery and indication filters: parse, then test objects through
//!   the [`Subject`] trait with three-valued logic.
//! - [`status`]: [`CimStatusCode`], the DSP0200 `CIM_ERR_*` codes, which the
//!   errors above map to.
//! - [`xml`]: CIM-XML (DSP0201/DSP0200): instances, classes and the
//!   messages of CIM operations and indication delivery, read within
//!   limits and written exactly, plus the HTTP header rules.
//!
//! What must stay true: no job logic, no I/O, no async runtime. Errors name
//! the bad value and the rule, so a provider can pass them on to a client
//! as they are.
//!
//! ```
//! use cim::{CimDateTime, CimType, CimValue, KeyValue, ObjectPath};
//!
//! let removal = CimDateTime::parse("00000000000500.000000:000")?;
//! assert_eq!(removal.to_duration()?, jiff::SignedDuration::from_mins(5));
//!
//! let state = CimValue::parse(CimType::UInt16, "4")?;
//! assert_eq!(state.as_u64(), Some(4));
//!
//! let job = ObjectPath::new(Some("root/cimv2"), "CIMJOB_ConcreteJob")
//!     .with_key("InstanceID", KeyValue::from("CIMJOB:1"));
//! assert_eq!(job.to_string(), r#"/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The `serde` feature (on by default) makes [`CimDateTime`] serialize as
//! its 25-character string, and [`CimValue`] as its CIM type with its CIM-XML text.

#![warn(missing_docs)]

pub mod class_decl;
pub mod datetime;
pub mod decl;
mod integer;
pub mod path;
pub mod query;
pub mod status;
pub mod value;
pub mod xml;

pub use class_decl::{ClassDecl, MethodDecl, ParameterDecl, ParameterError};
pub use datetime::{CimDateTime, CimInterval, CimTimestamp, DateTimeError};
pub use decl::{DeclError, DeclErrorKind, PropertyDecl, Qualifiers};
pub use path::{KeyValue, ObjectPath, PathError};
pub use query::{Query, QueryError, QueryLanguage, Subject};
pub use status::CimStatusCode;
pub use value::{CimArray, CimType, CimValue, ValueError, ValueType};
