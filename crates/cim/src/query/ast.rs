//! The parsed form of a WHERE clause, and its canonical printing.

use std::fmt;

/// A WHERE condition.
///
/// Why public: providers may look inside (e.g. to push `JobState = 4` down
/// to a store index), and tests compare parsed trees. Every variant prints
/// in the canonical query syntax, parenthesised only where needed.
///
/// Truth rules (three-valued; "unknown" never matches):
///
/// - comparisons are unknown when either side is NULL, the types do not
///   compare (see the module docs), or a path leads nowhere;
/// - `IS [NOT] NULL` is never unknown except for a path that leads nowhere;
/// - `ISA` is unknown when the path does not reach an embedded object;
/// - `LIKE` is unknown for NULL and for non-strings;
/// - `ANY` is true if some element passes, false if none passes and none
///   is unknown (an empty array gives false), unknown otherwise; `EVERY` is
///   false if some element fails, true if all pass (an empty array gives
///   true), unknown otherwise. A NULL array makes both unknown.
///
/// ```
/// use cim::query::{self, CompareOp, Expr, Literal, Operand, PropertyPath};
///
/// let q = query::parse("WQL", "SELECT * FROM CIM_Job WHERE JobState = 4")?;
/// assert_eq!(q.where_clause, Some(Expr::Compare {
///     left: Operand::Property(PropertyPath::new("JobState")),
///     op: CompareOp::Eq,
///     right: Operand::Literal(Literal::Integer(4)),
/// }));
/// # Ok::<(), cim::QueryError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `a AND b AND ...`: false if any is false, else unknown if any is
    /// unknown, else true. The parser always gives two or more; an empty
    /// list is true.
    And(Vec<Expr>),
    /// `a OR b OR ...`: true if any is true, else unknown if any is
    /// unknown, else false. The parser always gives two or more; an empty
    /// list is false.
    Or(Vec<Expr>),
    /// `NOT a`: unknown stays unknown.
    Not(Box<Expr>),
    /// `left op right`.
    Compare {
        /// Left-hand side.
        left: Operand,
        /// The operator.
        op: CompareOp,
        /// Right-hand side.
        right: Operand,
    },
    /// `operand IS NULL` / `operand IS NOT NULL`. An embedded object that
    /// is present is not NULL.
    IsNull {
        /// What is tested.
        operand: Operand,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `target ISA Class`: whether the embedded object (or the object
    /// itself) is an instance of `class` or a subclass.
    Isa {
        /// What is tested.
        target: IsaTarget,
        /// The class name, as written.
        class: String,
    },
    /// `operand [NOT] LIKE 'pattern'`, case-sensitive, matching the whole
    /// string.
    ///
    /// WQL patterns: `%` any run of characters, `_` one character,
    /// `[abc]`, `[a-z]`, `[^abc]` one character of (or not of) a set; put
    /// `%`, `_` or `[` in a set to match it literally (`[%]`).
    ///
    /// CQL patterns (the DSP0202 regular-expression subset): `.` one
    /// character, `x*` zero or more of the preceding character, `.` or
    /// set, the same sets as WQL, and `\` to take the next character
    /// literally. Anything else matches itself.
    ///
    /// Microsoft's WQL ignores case in LIKE; this one does not, like every
    /// other string comparison here (write `[Bb]ackup%`).
    Like {
        /// What is tested; must be a string or char16 to match.
        operand: Operand,
        /// The pattern, unescaped (as the string literal's value).
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// `ANY path[*] test` / `EVERY path[*] test` over the elements of an
    /// array property (CQL).
    Quantified {
        /// ANY or EVERY.
        quantifier: Quantifier,
        /// The array property; its last step carries [`ArrayIndex::All`].
        path: PropertyPath,
        /// What each element must satisfy.
        test: ElementTest,
    },
}

/// `ANY` or `EVERY`, before an array path.
///
/// ```
/// use cim::query::{self, Expr, Quantifier};
///
/// let q = query::parse("DMTF:CQL", "SELECT * FROM CIM_Job WHERE EVERY OperationalStatus[*] <> 6")?;
/// assert!(matches!(q.where_clause, Some(Expr::Quantified { quantifier: Quantifier::Every, .. })));
/// # Ok::<(), cim::QueryError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// At least one element passes.
    Any,
    /// Every element passes.
    Every,
}

/// The per-element condition of [`Expr::Quantified`].
///
/// ```
/// use cim::query::{self, CompareOp, ElementTest, Expr, Literal, Operand};
///
/// let q = query::parse("DMTF:CQL", "SELECT * FROM CIM_Job WHERE ANY OperationalStatus[*] = 17")?;
/// let Some(Expr::Quantified { test, .. }) = q.where_clause else { unreachable!() };
/// assert_eq!(test, ElementTest::Compare { op: CompareOp::Eq, operand: Operand::Literal(Literal::Integer(17)) });
/// # Ok::<(), cim::QueryError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ElementTest {
    /// `element op operand`.
    Compare {
        /// The operator.
        op: CompareOp,
        /// The right-hand side.
        operand: Operand,
    },
    /// `element [NOT] LIKE 'pattern'` (see [`Expr::Like`]).
    Like {
        /// The pattern, unescaped.
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
    },
}

/// What an `ISA` tests.
///
/// ```
/// use cim::query::{self, Expr, IsaTarget, PropertyPath};
///
/// let q = query::parse("WQL", "SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA CIM_Job")?;
/// let Some(Expr::Isa { target, class }) = q.where_clause else { unreachable!() };
/// assert_eq!(target, IsaTarget::Embedded(PropertyPath::new("SourceInstance")));
/// assert_eq!(class, "CIM_Job");
/// # Ok::<(), cim::QueryError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IsaTarget {
    /// The object being tested, named by the FROM class (CQL's
    /// `FROM CIM_Job WHERE CIM_Job ISA CIM_ConcreteJob`); the name is kept
    /// as written, for printing.
    Object(String),
    /// The embedded object at the end of a path (`SourceInstance`).
    Embedded(PropertyPath),
}

/// One side of a comparison.
///
/// ```
/// use cim::query::{Literal, Operand, PropertyPath};
///
/// assert_eq!(Operand::Property(PropertyPath::new("Name")).to_string(), "Name");
/// assert_eq!(Operand::Literal(Literal::String("it's".into())).to_string(), "'it''s'");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A property's value.
    Property(PropertyPath),
    /// A constant.
    Literal(Literal),
}

/// A constant in a query.
///
/// Why untyped integers: the literal `4` must compare with a uint8, a
/// sint64 or a uint64 above `i64::MAX` alike, so it stays a wide number
/// until it meets a property.
///
/// ```
/// use cim::query::Literal;
///
/// assert_eq!(Literal::Integer(-3).to_string(), "-3");
/// assert_eq!(Literal::Real(1.5).to_string(), "1.5");
/// assert_eq!(Literal::Boolean(true).to_string(), "TRUE");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// An integer: decimal, `0x` hex, or negative.
    Integer(i128),
    /// A real (always finite when parsed).
    Real(f64),
    /// A string (also compared with char16, datetime and reference
    /// properties, read as their text form).
    String(String),
    /// `TRUE` or `FALSE`.
    Boolean(bool),
    /// `NULL`: every comparison with it is unknown; use `IS NULL`.
    Null,
}

/// A comparison operator. `!=` parses as [`CompareOp::Ne`] and prints as
/// `<>`.
///
/// ```
/// assert_eq!(cim::query::CompareOp::Ne.to_string(), "<>");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>` or `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    /// The operator as printed.
    ///
    /// ```
    /// assert_eq!(cim::query::CompareOp::Le.symbol(), "<=");
    /// ```
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// A property reached from the object being tested, possibly through
/// embedded objects: `JobState`, `CIM_ConcreteJob::JobState`,
/// `SourceInstance.CIM_ConcreteJob::OperationalStatus[*]`.
///
/// Why steps: each `.` moves into an embedded object (an indication's
/// `SourceInstance`), and each step may name the class it expects there.
///
/// ```
/// let q = cim::query::parse("DMTF:CQL", "SELECT * FROM CIM_InstModification \
///     WHERE SourceInstance.CIM_ConcreteJob::JobState = 7")?;
/// let Some(cim::query::Expr::Compare { left, .. }) = &q.where_clause else { unreachable!() };
/// assert_eq!(left.to_string(), "SourceInstance.CIM_ConcreteJob::JobState");
/// # Ok::<(), cim::QueryError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyPath {
    /// The steps, outermost first; never empty when parsed. All but the
    /// last name embedded-object properties.
    pub steps: Vec<PathStep>,
}

impl PropertyPath {
    /// A one-step path to a plain property, for building queries and
    /// expectations.
    ///
    /// ```
    /// assert_eq!(cim::query::PropertyPath::new("Name").to_string(), "Name");
    /// ```
    pub fn new(name: &str) -> PropertyPath {
        PropertyPath {
            steps: vec![PathStep {
                scope: None,
                name: name.to_owned(),
                index: None,
            }],
        }
    }
}

/// One step of a [`PropertyPath`]: `[Class::]Name[index]`.
///
/// `Class::` (CQL's scope) requires the object at this step to be an
/// instance of `Class` or a subclass; if it is not, the path leads nowhere
/// and predicates on it are unknown (so the SMI-S job filters do not match
/// non-job instances). An index is only allowed on the last step.
///
/// ```
/// use cim::query::{ArrayIndex, PathStep};
///
/// let step = PathStep { scope: Some("CIM_Job".into()), name: "Status".into(), index: Some(ArrayIndex::At(0)) };
/// assert_eq!(step.to_string(), "CIM_Job::Status[0]");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathStep {
    /// The class before `::`, as written.
    pub scope: Option<String>,
    /// The property name, as written.
    pub name: String,
    /// `[n]` or `[*]` after the name.
    pub index: Option<ArrayIndex>,
}

/// An array subscript.
///
/// ```
/// assert_eq!(cim::query::ArrayIndex::At(3).to_string(), "[3]");
/// assert_eq!(cim::query::ArrayIndex::All.to_string(), "[*]");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArrayIndex {
    /// `[n]`, zero-based. An index past the end reads as NULL.
    At(usize),
    /// `[*]`, every element; only after ANY or EVERY.
    All,
}

// ---------------------------------------------------------------------------
// Printing

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl fmt::Display for ArrayIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArrayIndex::At(n) => write!(f, "[{n}]"),
            ArrayIndex::All => f.write_str("[*]"),
        }
    }
}

impl fmt::Display for PathStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scope) = &self.scope {
            write!(f, "{scope}::")?;
        }
        f.write_str(&self.name)?;
        if let Some(index) = &self.index {
            write!(f, "{index}")?;
        }
        Ok(())
    }
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

/// Whether `step` is a plain name (no scope, no index) equal to `class`:
/// how CQL's `Class.Property` prefix and `Class ISA ...` are recognised.
pub(crate) fn names_class(step: &PathStep, class: &str) -> bool {
    step.scope.is_none() && step.index.is_none() && step.name.eq_ignore_ascii_case(class)
}

/// Writes `path`; inside a query (`from` is the FROM class), puts the
/// `Class.` prefix back where a re-parse would otherwise strip the path's
/// first step (or, for ISA, read it as the object itself).
fn write_path(
    f: &mut fmt::Formatter<'_>,
    path: &PropertyPath,
    from: Option<&str>,
    isa: bool,
) -> fmt::Result {
    if let (Some(class), Some(first)) = (from, path.steps.first()) {
        if (isa || path.steps.len() > 1) && names_class(first, class) {
            write!(f, "{class}.")?;
        }
    }
    write!(f, "{path}")
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Operand, from: Option<&str>) -> fmt::Result {
    match operand {
        Operand::Property(path) => write_path(f, path, from, false),
        Operand::Literal(l) => write!(f, "{l}"),
    }
}

/// Writes `s` as a single-quoted literal, doubling quotes.
pub(crate) fn write_string_literal(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for part in s.split_inclusive('\'') {
        f.write_str(part)?;
        if part.ends_with('\'') {
            f.write_str("'")?;
        }
    }
    f.write_str("'")
}

impl fmt::Display for Literal {
    /// Query syntax: decimal integers, shortest round-trip reals,
    /// single-quoted strings with `''`, `TRUE`, `FALSE`, `NULL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Integer(v) => write!(f, "{v}"),
            // Debug is the shortest form that reads back to the same bits
            // ("1.0", "1e-7"); non-finite values cannot come from a parse.
            Literal::Real(v) => write!(f, "{v:?}"),
            Literal::String(s) => write_string_literal(f, s),
            Literal::Boolean(true) => f.write_str("TRUE"),
            Literal::Boolean(false) => f.write_str("FALSE"),
            Literal::Null => f.write_str("NULL"),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Property(p) => write!(f, "{p}"),
            Operand::Literal(l) => write!(f, "{l}"),
        }
    }
}

impl fmt::Display for IsaTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IsaTarget::Object(class) => f.write_str(class),
            IsaTarget::Embedded(path) => write!(f, "{path}"),
        }
    }
}

/// Binding strength, loosest first; a child that binds more loosely than
/// its place requires is parenthesised.
const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_NOT: u8 = 3;
const PREC_PREDICATE: u8 = 4;

impl Expr {
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(items) if items.len() > 1 => PREC_OR,
            Expr::And(items) if items.len() > 1 => PREC_AND,
            // One item prints as that item; none as a constant comparison.
            Expr::Or(items) | Expr::And(items) => {
                items.first().map_or(PREC_PREDICATE, Expr::precedence)
            }
            Expr::Not(_) => PREC_NOT,
            _ => PREC_PREDICATE,
        }
    }

    /// Writes the expression, in parentheses if it binds more loosely than
    /// `min` (so nested AND/OR lists keep their shape when re-parsed).
    ///
    /// `from` is the FROM class when printing inside a [`Query`](super::Query).
    pub(crate) fn write(
        &self,
        f: &mut fmt::Formatter<'_>,
        min: u8,
        from: Option<&str>,
    ) -> fmt::Result {
        if self.precedence() < min {
            f.write_str("(")?;
            self.write(f, 0, from)?;
            return f.write_str(")");
        }
        match self {
            Expr::Or(items) | Expr::And(items) => {
                let (word, own, empty) = match self {
                    Expr::Or(_) => (" OR ", PREC_OR, "TRUE = FALSE"),
                    _ => (" AND ", PREC_AND, "TRUE = TRUE"),
                };
                if items.is_empty() {
                    return f.write_str(empty);
                }
                if items.len() == 1 {
                    return items[0].write(f, min, from);
                }
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(word)?;
                    }
                    // A nested list of the same kind needs parentheses to
                    // stay nested.
                    item.write(f, own + 1, from)?;
                }
                Ok(())
            }
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                inner.write(f, PREC_NOT, from)
            }
            Expr::Compare { left, op, right } => {
                write_operand(f, left, from)?;
                write!(f, " {op} ")?;
                write_operand(f, right, from)
            }
            Expr::IsNull { operand, negated } => {
                write_operand(f, operand, from)?;
                write!(f, " IS {}NULL", if *negated { "NOT " } else { "" })
            }
            Expr::Isa { target, class } => {
                match target {
                    IsaTarget::Object(name) => f.write_str(name)?,
                    IsaTarget::Embedded(path) => write_path(f, path, from, true)?,
                }
                write!(f, " ISA {class}")
            }
            Expr::Like {
                operand,
                pattern,
                negated,
            } => {
                write_operand(f, operand, from)?;
                write!(f, " {}LIKE ", if *negated { "NOT " } else { "" })?;
                write_string_literal(f, pattern)
            }
            Expr::Quantified {
                quantifier,
                path,
                test,
            } => {
                let word = match quantifier {
                    Quantifier::Any => "ANY",
                    Quantifier::Every => "EVERY",
                };
                write!(f, "{word} ")?;
                write_path(f, path, from, false)?;
                match test {
                    ElementTest::Compare { op, operand } => {
                        write!(f, " {op} ")?;
                        write_operand(f, operand, from)
                    }
                    ElementTest::Like { pattern, negated } => {
                        write!(f, " {}LIKE ", if *negated { "NOT " } else { "" })?;
                        write_string_literal(f, pattern)
                    }
                }
            }
        }
    }
}

impl fmt::Display for Expr {
    /// The condition in canonical query syntax.
    ///
    /// ```
    /// let q = cim::query::parse("WQL", "SELECT * FROM C WHERE (a = 1 OR b = 2) AND NOT (c = 3 AND d = 4)")?;
    /// assert_eq!(q.where_clause.unwrap().to_string(), "(a = 1 OR b = 2) AND NOT (c = 3 AND d = 4)");
    /// # Ok::<(), cim::QueryError>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0, None)
    }
}
