//! The WQL / DMTF:CQL subset used by `ExecQuery`, the pull operations'
//! `FilterQuery` and indication filters: parse a query, then test objects
//! against it.
//!
//! Why one module for both languages: the queries WBEM clients actually
//! send (the SMI-S / DSP1103 job filters above all) are the same
//! `SELECT * FROM Class WHERE ...` shape in either language, and the
//! evaluator must give the same answer whichever name the client used.
//!
//! What is here:
//!
//! - [`parse`] turns a `QueryLanguage` name and a query string into a
//!   [`Query`], or a [`QueryError`] that names what was expected and where.
//! - [`Query::matches`] evaluates the WHERE clause against anything that
//!   implements [`Subject`] (an instance, or an indication with embedded
//!   `SourceInstance` / `PreviousInstance`), with SQL's three-valued logic.
//! - `Display` for [`Query`] prints a canonical form that parses back to an
//!   equal `Query`.
//!
//! What must stay true: pure functions, no I/O; parsing never panics and
//! nests at most [`MAX_NESTING`] levels deep, so hostile input cannot
//! overflow the stack.
//!
//! # The subset
//!
//! ```text
//! query     := SELECT ( * | item {, item} ) FROM Class [ WHERE condition ]
//! item      := Property | Class.Property | Class.*
//! condition := condition OR condition | condition AND condition
//!            | NOT condition | ( condition ) | predicate
//! predicate := operand op operand                  op: = <> != < <= > >=
//!            | operand IS [NOT] NULL
//!            | path ISA Class                       (WQL also: ISA 'Class')
//!            | operand [NOT] LIKE 'pattern'
//!            | (ANY | EVERY) path[*] ( op operand | [NOT] LIKE 'pattern' )
//! operand   := path | literal
//! path      := step {. step}      step := [Class::]Property[ [n] ]
//! literal   := integer (12, -3, 0x1F) | real (1.5, 2e-3) | 'string'
//!            | TRUE | FALSE | NULL                  (WQL also: "string")
//! ```
//!
//! Keywords and names are case-insensitive; string values are not.
//!
//! # Decisions
//!
//! - **Languages.** `WQL` and `DMTF:CQL`, any case. `CIM:CQL` (OpenPegasus's
//!   name, also used by OpenLMI) and bare `CQL` (accepted by SFCB) are taken
//!   as DMTF:CQL. Anything else is `CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED`.
//! - **One grammar for both.** CQL's path syntax (`Class::Prop`, `Prop[3]`,
//!   `ANY`/`EVERY`) is accepted in WQL too, because clients send the SMI-S
//!   job filters under either name and the syntax means nothing else in
//!   WQL. The languages differ only where they disagree: double-quoted
//!   strings are WQL only, and LIKE patterns follow each language (see
//!   [`Expr::Like`]).
//! - **Unsupported CQL** (joins, aliases, ORDER BY, GROUP BY, DISTINCT,
//!   functions and aggregates, arithmetic, `IN`, `BETWEEN`,
//!   `ANY ... SATISFIES`) is [`QueryError::FeatureNotSupported`], reported
//!   as `CIM_ERR_INVALID_QUERY` (15): DSP0200 lists 15 for ExecQuery, and
//!   `CIM_ERR_QUERY_FEATURE_NOT_SUPPORTED` (29) exists only in CIM_Error, so
//!   clients such as pywbem do not know it. The message still says "not
//!   supported", and a caller may map the variant to 29 itself.
//! - **Three-valued logic.** A predicate is true, false or unknown;
//!   `NOT unknown` is unknown, `false AND unknown` is false, `true OR
//!   unknown` is true, and only a true WHERE clause matches. Unknown comes
//!   from NULL, from a type mismatch (`JobState = 'x'`: not an error, just
//!   no match, as in SQL), from a path that leads nowhere (no such property,
//!   no embedded object, or a `Class::` scope the object is not), and from
//!   datetimes with asterisks. See [`Expr`] for each predicate's rules.
//! - **Comparisons are typed.** Integers of any width compare numerically
//!   with each other, with integer literals and with reals (exactly, no
//!   rounding: a uint64 above `i64::MAX` is still ordered correctly).
//!   Strings and char16 compare case-sensitively by code point, as in
//!   OpenPegasus's WQL and CQL evaluators (DSP0202 makes string equality
//!   exact). Datetimes compare chronologically, timestamps with timestamps
//!   (across UTC offsets) and intervals with intervals; a string literal
//!   compared with a datetime is read as a CIM datetime. Booleans and
//!   references support only `=` and `<>`. Whole arrays support `=` and
//!   `<>` (same length, equal elements in order).
//!
//! # Example
//!
//! ```
//! use cim::query::{self, Subject};
//! use cim::CimValue;
//!
//! struct Job { state: u16 }
//! impl Subject for Job {
//!     fn class_name(&self) -> &str { "CIM_ConcreteJob" }
//!     fn property(&self, name: &str) -> Option<Option<CimValue>> {
//!         name.eq_ignore_ascii_case("JobState").then(|| Some(CimValue::UInt16(self.state)))
//!     }
//!     fn is_a(&self, class: &str) -> bool {
//!         ["CIM_ConcreteJob", "CIM_Job", "CIM_ManagedElement"]
//!             .iter().any(|c| c.eq_ignore_ascii_case(class))
//!     }
//!     fn embedded(&self, _name: &str) -> Option<&dyn Subject> { None }
//! }
//!
//! let q = query::parse("WQL", "select * from CIM_Job where JobState = 7 or JobState = 10")?;
//! assert!(q.class_matches(&Job { state: 7 }));
//! assert!(q.matches(&Job { state: 7 })?);
//! assert!(!q.matches(&Job { state: 4 })?);
//! assert_eq!(q.to_string(), "SELECT * FROM CIM_Job WHERE JobState = 7 OR JobState = 10");
//! # Ok::<(), cim::QueryError>(())
//! ```

mod ast;
mod eval;
mod lexer;
mod parser;
mod pattern;

use std::fmt;
use std::str::FromStr;

use crate::status::CimStatusCode;
use crate::value::CimValue;

pub use ast::{
    ArrayIndex, CompareOp, ElementTest, Expr, IsaTarget, Literal, Operand, PathStep, PropertyPath,
    Quantifier,
};

/// How deep parentheses and `NOT`s may nest in a WHERE clause. Deeper
/// queries are refused as invalid, so that parsing, printing and evaluating
/// (all recursive) cannot overflow the stack on hostile input.
///
/// ```
/// let deep = format!("SELECT * FROM C WHERE {}X = 1{}", "(".repeat(101), ")".repeat(101));
/// assert!(cim::query::parse("WQL", &deep).is_err());
/// ```
pub const MAX_NESTING: usize = 100;

/// A query language a client names in `QueryLanguage` /
/// `FilterQueryLanguage`.
///
/// Why an enum: the two languages share a grammar here but differ in string
/// quoting and LIKE patterns, and the canonical name must be echoed back
/// exactly (`"DMTF:CQL"`, not whatever spelling the client sent).
///
/// ```
/// use cim::query::QueryLanguage;
///
/// assert_eq!(QueryLanguage::from_name("wql"), Some(QueryLanguage::Wql));
/// assert_eq!(QueryLanguage::from_name("CIM:CQL"), Some(QueryLanguage::Cql));
/// assert_eq!(QueryLanguage::Cql.name(), "DMTF:CQL");
/// assert_eq!(QueryLanguage::from_name("SQL"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueryLanguage {
    /// `WQL`, the WBEM Query Language (SQL-like; `LIKE` uses `%` and `_`).
    Wql,
    /// `DMTF:CQL`, the CIM Query Language of DSP0202.
    Cql,
}

impl QueryLanguage {
    /// The language with this name, ignoring ASCII case: `WQL`, `DMTF:CQL`,
    /// and the older spellings `CIM:CQL` (OpenPegasus, OpenLMI) and `CQL`
    /// (SFCB) for DMTF:CQL. `None` for anything else.
    ///
    /// ```
    /// use cim::query::QueryLanguage;
    ///
    /// assert_eq!(QueryLanguage::from_name("dmtf:cql"), Some(QueryLanguage::Cql));
    /// assert_eq!(QueryLanguage::from_name("CQL"), Some(QueryLanguage::Cql));
    /// assert_eq!(QueryLanguage::from_name("WQL2"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<QueryLanguage> {
        if name.eq_ignore_ascii_case("WQL") {
            Some(QueryLanguage::Wql)
        } else if ["DMTF:CQL", "CIM:CQL", "CQL"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
        {
            Some(QueryLanguage::Cql)
        } else {
            None
        }
    }

    /// The canonical name: `"WQL"` or `"DMTF:CQL"`.
    ///
    /// ```
    /// assert_eq!(cim::query::QueryLanguage::Wql.name(), "WQL");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            QueryLanguage::Wql => "WQL",
            QueryLanguage::Cql => "DMTF:CQL",
        }
    }
}

impl fmt::Display for QueryLanguage {
    /// Writes [`QueryLanguage::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for QueryLanguage {
    type Err = QueryError;

    /// [`QueryLanguage::from_name`], with the error a server sends back.
    ///
    /// ```
    /// use cim::query::QueryLanguage;
    ///
    /// let err = "SQL".parse::<QueryLanguage>().unwrap_err();
    /// assert_eq!(err.status_code().code(), 14);
    /// ```
    fn from_str(s: &str) -> Result<QueryLanguage, QueryError> {
        QueryLanguage::from_name(s).ok_or_else(|| QueryError::LanguageNotSupported {
            language: s.to_owned(),
        })
    }
}

/// Where in the query text something is: 1-based line and column, counted
/// in characters.
///
/// Displays as `column 31` on the first line and `line 2, column 5` after,
/// because most queries are one line and a bare column reads best there.
///
/// ```
/// use cim::query::Position;
///
/// assert_eq!(Position { line: 1, column: 31 }.to_string(), "column 31");
/// assert_eq!(Position { line: 2, column: 5 }.to_string(), "line 2, column 5");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters (not bytes).
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 1 {
            write!(f, "line {}, column {}", self.line, self.column)
        } else {
            write!(f, "column {}", self.column)
        }
    }
}

/// Why a query was refused. Each variant maps to the CIM status to answer
/// with ([`QueryError::status_code`]); messages say what was expected, what
/// was found, and where.
///
/// ```
/// use cim::query::{self, QueryError};
///
/// let err = query::parse("WQL", "SELECT * FROM CIM_Job WHERE JobState =").unwrap_err();
/// assert!(matches!(err, QueryError::Invalid { .. }));
/// assert_eq!(
///     err.to_string(),
///     "expected a property name or literal after '=', found end of query at column 39",
/// );
/// assert_eq!(err.status_code().code(), 15);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The query language is neither WQL nor DMTF:CQL
    /// (`CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED`, 14).
    #[error("query language {language:?} is not supported: use \"WQL\" or \"DMTF:CQL\"")]
    LanguageNotSupported {
        /// The name the client sent.
        language: String,
    },
    /// The text is not a query in the language (`CIM_ERR_INVALID_QUERY`,
    /// 15).
    #[error("{message} at {position}")]
    Invalid {
        /// What was expected and what was found.
        message: String,
        /// Where the offending token starts.
        position: Position,
    },
    /// Valid CQL that this implementation does not do: joins, ORDER BY,
    /// functions, ... Reported as `CIM_ERR_INVALID_QUERY` (15); see the
    /// module documentation for why not 29.
    #[error("{message} at {position}")]
    FeatureNotSupported {
        /// Which feature, and what to do instead.
        message: String,
        /// Where the feature's first token starts.
        position: Position,
    },
    /// A [`Query`] built by hand (its fields are public) holds something
    /// [`parse`] would have refused, such as `[*]` outside ANY/EVERY or a
    /// malformed LIKE pattern. Found while evaluating, so there is no
    /// position (`CIM_ERR_INVALID_QUERY`, 15).
    #[error("invalid query expression: {message}")]
    InvalidExpression {
        /// What is wrong with the expression.
        message: String,
    },
}

impl QueryError {
    /// The CIM status to answer with: `CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED`
    /// for an unknown language, `CIM_ERR_INVALID_QUERY` for everything else.
    /// `.code()` gives the number.
    ///
    /// ```
    /// use cim::{query, CimStatusCode};
    ///
    /// let err = query::parse("SQL", "SELECT * FROM CIM_Job").unwrap_err();
    /// assert_eq!(err.status_code(), CimStatusCode::QueryLanguageNotSupported);
    /// assert_eq!(err.status_code().code(), 14);
    /// ```
    pub fn status_code(&self) -> CimStatusCode {
        match self {
            QueryError::LanguageNotSupported { .. } => CimStatusCode::QueryLanguageNotSupported,
            QueryError::Invalid { .. }
            | QueryError::FeatureNotSupported { .. }
            | QueryError::InvalidExpression { .. } => CimStatusCode::InvalidQuery,
        }
    }

    /// Where in the text the problem is, for the variants that know.
    ///
    /// ```
    /// let err = cim::query::parse("WQL", "SELECT FROM CIM_Job").unwrap_err();
    /// assert_eq!(err.position().map(|p| p.column), Some(8));
    /// ```
    pub fn position(&self) -> Option<Position> {
        match self {
            QueryError::Invalid { position, .. }
            | QueryError::FeatureNotSupported { position, .. } => Some(*position),
            QueryError::LanguageNotSupported { .. } | QueryError::InvalidExpression { .. } => None,
        }
    }
}

/// What a query returns of each object: every property, or the listed
/// ones.
///
/// ```
/// let q = cim::query::parse("WQL", "SELECT Name, JobState FROM CIM_Job")?;
/// assert_eq!(
///     q.select,
///     cim::query::Selection::Properties(vec!["Name".into(), "JobState".into()]),
/// );
/// # Ok::<(), cim::QueryError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// `SELECT *` (or `SELECT Class.*`).
    All,
    /// `SELECT p1, p2`: the property names as written (class qualifiers
    /// removed), in order.
    Properties(Vec<String>),
}

/// A parsed query: what to return, from which class, and the condition.
///
/// Why plain public fields: a provider inspects the FROM class (to pick
/// which instances to enumerate) and the selection (to project results),
/// and tests build expectations directly. Printing gives a canonical form
/// that parses back to an equal `Query`.
///
/// ```
/// use cim::query::{self, Selection};
///
/// let q = query::parse("DMTF:CQL", "SELECT * FROM CIM_InstModification \
///     WHERE SourceInstance ISA CIM_ConcreteJob")?;
/// assert_eq!(q.from_class, "CIM_InstModification");
/// assert_eq!(q.select, Selection::All);
/// assert_eq!(query::parse("DMTF:CQL", &q.to_string())?, q);
/// # Ok::<(), cim::QueryError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The language the query was written in.
    pub language: QueryLanguage,
    /// The select list.
    pub select: Selection,
    /// The class after FROM, as written.
    pub from_class: String,
    /// The WHERE condition, if any.
    pub where_clause: Option<Expr>,
}

/// Parses `text` as a query in the language named `language` (`"WQL"`,
/// `"DMTF:CQL"`, ...; see [`QueryLanguage::from_name`]).
///
/// Why the language is a string: it arrives as the `QueryLanguage`
/// parameter or property, and an unknown name has its own CIM status.
///
/// ```
/// use cim::query;
///
/// let q = query::parse("WQL", "SELECT * FROM CIM_ConcreteJob WHERE Name LIKE 'back%'")?;
/// assert_eq!(q.from_class, "CIM_ConcreteJob");
///
/// let err = query::parse("WQL", "SELECT * FROM CIM_Job ORDER BY Name").unwrap_err();
/// assert_eq!(err.to_string(), "ORDER BY is not supported: results come in no particular order at column 23");
/// # Ok::<(), cim::QueryError>(())
/// ```
pub fn parse(language: &str, text: &str) -> Result<Query, QueryError> {
    let language: QueryLanguage = language.parse()?;
    parser::parse(language, text)
}

/// What the evaluator needs from the object being tested: its class and
/// ancestry, its property values, and its embedded objects.
///
/// Why a trait: instances live in different shapes (a job, a decoded
/// CIM-XML instance, an indication being built), and converting each to
/// one representation just to test a filter would copy every property.
///
/// Names arrive as written in the query; implementations should match them
/// ignoring ASCII case, as CIM names are case-insensitive.
///
/// ```
/// use cim::query::{self, Subject};
/// use cim::CimValue;
///
/// /// An indication carrying its job as `SourceInstance`.
/// struct Creation { job: Job }
/// struct Job;
///
/// impl Subject for Creation {
///     fn class_name(&self) -> &str { "CIM_InstCreation" }
///     fn property(&self, _name: &str) -> Option<Option<CimValue>> { None }
///     fn is_a(&self, class: &str) -> bool {
///         ["CIM_InstCreation", "CIM_InstIndication", "CIM_Indication"]
///             .iter().any(|c| c.eq_ignore_ascii_case(class))
///     }
///     fn embedded(&self, name: &str) -> Option<&dyn Subject> {
///         name.eq_ignore_ascii_case("SourceInstance").then_some(&self.job as &dyn Subject)
///     }
/// }
/// impl Subject for Job {
///     fn class_name(&self) -> &str { "CIM_ConcreteJob" }
///     fn property(&self, _name: &str) -> Option<Option<CimValue>> { None }
///     fn is_a(&self, class: &str) -> bool {
///         ["CIM_ConcreteJob", "CIM_Job"].iter().any(|c| c.eq_ignore_ascii_case(class))
///     }
///     fn embedded(&self, _name: &str) -> Option<&dyn Subject> { None }
/// }
///
/// let q = query::parse("WQL",
///     "SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA CIM_ConcreteJob")?;
/// assert!(q.accepts(&Creation { job: Job })?);
/// # Ok::<(), cim::QueryError>(())
/// ```
pub trait Subject {
    /// The object's own class name.
    fn class_name(&self) -> &str;

    /// The value of property `name`: `None` if the object has no such
    /// property, `Some(None)` if it has it and the value is NULL.
    /// Embedded-object properties are reached through
    /// [`Subject::embedded`] instead; returning `None` for them is fine.
    fn property(&self, name: &str) -> Option<Option<CimValue>>;

    /// Whether this object's class is `class` or a subclass of it
    /// (ignoring ASCII case).
    fn is_a(&self, class: &str) -> bool;

    /// The embedded instance held by property `name` (an indication's
    /// `SourceInstance` or `PreviousInstance`), or `None` if the property
    /// is missing, NULL, or not an embedded object.
    fn embedded(&self, name: &str) -> Option<&dyn Subject>;
}

impl Query {
    /// [`parse`] as an associated function, for callers that imported only
    /// the type.
    ///
    /// ```
    /// let q = cim::Query::parse("DMTF:CQL", "SELECT * FROM CIM_Job")?;
    /// assert!(q.where_clause.is_none());
    /// # Ok::<(), cim::QueryError>(())
    /// ```
    pub fn parse(language: &str, text: &str) -> Result<Query, QueryError> {
        parse(language, text)
    }

    /// Whether the WHERE clause is true for `subject` (a query without one
    /// matches everything). Unknown, as from NULLs or type mismatches, is
    /// not a match. The FROM class is not checked here: see
    /// [`Query::class_matches`] and [`Query::accepts`].
    ///
    /// Errors only for hand-built queries that [`parse`] would have
    /// refused ([`QueryError::InvalidExpression`]).
    ///
    /// ```
    /// # use cim::query::{self, Subject};
    /// # use cim::CimValue;
    /// # struct Job(Option<String>);
    /// # impl Subject for Job {
    /// #     fn class_name(&self) -> &str { "CIM_Job" }
    /// #     fn property(&self, n: &str) -> Option<Option<CimValue>> {
    /// #         n.eq_ignore_ascii_case("Owner").then(|| self.0.as_deref().map(CimValue::from))
    /// #     }
    /// #     fn is_a(&self, c: &str) -> bool { c.eq_ignore_ascii_case("CIM_Job") }
    /// #     fn embedded(&self, _: &str) -> Option<&dyn Subject> { None }
    /// # }
    /// let q = query::parse("WQL", "SELECT * FROM CIM_Job WHERE NOT (Owner = 'bob')")?;
    /// assert!(q.matches(&Job(Some("alice".into())))?);
    /// assert!(!q.matches(&Job(Some("bob".into())))?);
    /// // Owner is NULL: `Owner = 'bob'` is unknown, and so is its negation.
    /// assert!(!q.matches(&Job(None))?);
    /// # Ok::<(), cim::QueryError>(())
    /// ```
    pub fn matches(&self, subject: &dyn Subject) -> Result<bool, QueryError> {
        match &self.where_clause {
            None => Ok(true),
            Some(expr) => eval::is_true(self.language, expr, subject),
        }
    }

    /// Whether the query selects property `name` (ignoring ASCII case), for
    /// projecting results: always true for `SELECT *`.
    ///
    /// ```
    /// let q = cim::query::parse("WQL", "SELECT Name, JobState FROM CIM_Job")?;
    /// assert!(q.selects("jobstate"));
    /// assert!(!q.selects("Owner"));
    /// # Ok::<(), cim::QueryError>(())
    /// ```
    pub fn selects(&self, name: &str) -> bool {
        match &self.select {
            Selection::All => true,
            Selection::Properties(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
        }
    }

    /// Whether `subject` is an instance of the FROM class or a subclass
    /// (FROM has ISA semantics in both languages).
    ///
    /// ```
    /// # use cim::query::{self, Subject};
    /// # use cim::CimValue;
    /// # struct Job;
    /// # impl Subject for Job {
    /// #     fn class_name(&self) -> &str { "CIM_ConcreteJob" }
    /// #     fn property(&self, _: &str) -> Option<Option<CimValue>> { None }
    /// #     fn is_a(&self, c: &str) -> bool {
    /// #         ["CIM_ConcreteJob", "CIM_Job"].iter().any(|x| x.eq_ignore_ascii_case(c))
    /// #     }
    /// #     fn embedded(&self, _: &str) -> Option<&dyn Subject> { None }
    /// # }
    /// assert!(query::parse("WQL", "SELECT * FROM CIM_Job")?.class_matches(&Job));
    /// assert!(!query::parse("WQL", "SELECT * FROM CIM_Error")?.class_matches(&Job));
    /// # Ok::<(), cim::QueryError>(())
    /// ```
    pub fn class_matches(&self, subject: &dyn Subject) -> bool {
        eval::is_a(subject, &self.from_class)
    }

    /// [`Query::class_matches`] and [`Query::matches`] together: whether
    /// `subject` belongs in the query's result. What a filter usually
    /// wants; forgetting the FROM check is an easy mistake.
    ///
    /// ```
    /// # use cim::query::{self, Subject};
    /// # use cim::CimValue;
    /// # struct Job;
    /// # impl Subject for Job {
    /// #     fn class_name(&self) -> &str { "CIM_ConcreteJob" }
    /// #     fn property(&self, _: &str) -> Option<Option<CimValue>> { None }
    /// #     fn is_a(&self, c: &str) -> bool { c.eq_ignore_ascii_case("CIM_ConcreteJob") }
    /// #     fn embedded(&self, _: &str) -> Option<&dyn Subject> { None }
    /// # }
    /// assert!(query::parse("WQL", "SELECT * FROM CIM_ConcreteJob")?.accepts(&Job)?);
    /// assert!(!query::parse("WQL", "SELECT * FROM CIM_Error")?.accepts(&Job)?);
    /// # Ok::<(), cim::QueryError>(())
    /// ```
    pub fn accepts(&self, subject: &dyn Subject) -> Result<bool, QueryError> {
        Ok(self.class_matches(subject) && self.matches(subject)?)
    }
}

impl fmt::Display for Query {
    /// The canonical form: upper-case keywords, single spaces, single-quoted
    /// strings, decimal integers, parentheses only where needed. It parses
    /// back (in the same language) to an equal `Query`.
    ///
    /// ```
    /// let q = cim::query::parse("WQL", "select name from CIM_Job where ((a = 0x10) and not b is null)")?;
    /// assert_eq!(q.to_string(), "SELECT name FROM CIM_Job WHERE a = 16 AND NOT b IS NULL");
    /// # Ok::<(), cim::QueryError>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        match &self.select {
            Selection::All => f.write_str("*")?,
            Selection::Properties(names) => {
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(name)?;
                }
            }
        }
        write!(f, " FROM {}", self.from_class)?;
        if let Some(expr) = &self.where_clause {
            f.write_str(" WHERE ")?;
            expr.write(f, 0, Some(&self.from_class))?;
        }
        Ok(())
    }
}
