//! Evaluates a WHERE condition against a [`Subject`], with SQL's
//! three-valued logic and typed comparisons.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::ast::{ArrayIndex, CompareOp, ElementTest, Expr, IsaTarget, Literal, Operand};
use super::ast::{PathStep, PropertyPath, Quantifier};
use super::pattern::{self, Pattern};
use super::{QueryError, QueryLanguage, Subject};
use crate::datetime::CimDateTime;
use crate::path::ObjectPath;
use crate::value::CimValue;

/// Whether `expr` is true (not false, not unknown) for `subject`.
pub(crate) fn is_true(
    language: QueryLanguage,
    expr: &Expr,
    subject: &dyn Subject,
) -> Result<bool, QueryError> {
    Ok(Evaluator { language }.eval(expr, subject)? == Truth::True)
}

/// Whether `subject` is a `class` (its own class, or `is_a`).
pub(crate) fn is_a(subject: &dyn Subject, class: &str) -> bool {
    subject.class_name().eq_ignore_ascii_case(class) || subject.is_a(class)
}

/// SQL's three truth values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn from_bool(b: bool) -> Truth {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

fn bad(message: impl Into<String>) -> QueryError {
    QueryError::InvalidExpression {
        message: message.into(),
    }
}

/// What an operand gives for one subject.
enum Resolved<'q> {
    /// The path leads nowhere: no such property, no embedded object on the
    /// way, or a `Class::` scope the object is not.
    Nowhere,
    /// The path ends at an embedded object that is present.
    Object,
    /// A NULL value (or an index past the end of an array).
    Null,
    /// A property's value.
    Value(CimValue),
    /// A literal from the query.
    Literal(&'q Literal),
}

impl Resolved<'_> {
    /// The comparable form, `None` when any comparison is unknown.
    fn norm(&self) -> Option<Norm<'_>> {
        match self {
            Resolved::Nowhere | Resolved::Object | Resolved::Null => None,
            Resolved::Value(v) => Some(Norm::of_value(v)),
            Resolved::Literal(l) => Norm::of_literal(l),
        }
    }
}

/// A value reduced to what comparisons care about.
enum Norm<'a> {
    Int(i128),
    Real(f64),
    /// String or char16 text; `true` for a string literal, which may also
    /// be read as a datetime or a reference.
    Text(Cow<'a, str>, bool),
    Bool(bool),
    DateTime(&'a CimDateTime),
    Ref(&'a ObjectPath),
    Array(&'a [CimValue]),
}

impl<'a> Norm<'a> {
    fn of_value(v: &'a CimValue) -> Norm<'a> {
        if let Some(i) = v.as_i128() {
            return Norm::Int(i);
        }
        match v {
            CimValue::Real32(x) => Norm::Real(f64::from(*x)),
            CimValue::Real64(x) => Norm::Real(*x),
            CimValue::String(s) => Norm::Text(Cow::Borrowed(s), false),
            CimValue::Char16(c) => Norm::Text(Cow::Owned(c.to_string()), false),
            CimValue::Boolean(b) => Norm::Bool(*b),
            CimValue::DateTime(d) => Norm::DateTime(d),
            CimValue::Reference(p) => Norm::Ref(p),
            CimValue::Array(a) => Norm::Array(a.items()),
            // Integers were handled above.
            _ => unreachable!("as_i128 covers every integer variant"),
        }
    }

    fn of_literal(l: &'a Literal) -> Option<Norm<'a>> {
        Some(match l {
            Literal::Integer(i) => Norm::Int(*i),
            Literal::Real(x) => Norm::Real(*x),
            Literal::String(s) => Norm::Text(Cow::Borrowed(s), true),
            Literal::Boolean(b) => Norm::Bool(*b),
            Literal::Null => return None,
        })
    }
}

/// The outcome of comparing two values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    /// Ordered: every operator applies.
    Order(Ordering),
    /// Only equality is defined (booleans, references, arrays).
    Equal(bool),
    /// The values do not compare (type mismatch, NaN, imprecise datetime).
    Unknown,
}

impl Cmp {
    fn reverse(self) -> Cmp {
        match self {
            Cmp::Order(o) => Cmp::Order(o.reverse()),
            other => other,
        }
    }

    fn is_equal(self) -> Option<bool> {
        match self {
            Cmp::Order(o) => Some(o == Ordering::Equal),
            Cmp::Equal(eq) => Some(eq),
            Cmp::Unknown => None,
        }
    }

    fn apply(self, op: CompareOp) -> Truth {
        match (self, op) {
            (Cmp::Order(o), _) => Truth::from_bool(match op {
                CompareOp::Eq => o == Ordering::Equal,
                CompareOp::Ne => o != Ordering::Equal,
                CompareOp::Lt => o == Ordering::Less,
                CompareOp::Le => o != Ordering::Greater,
                CompareOp::Gt => o == Ordering::Greater,
                CompareOp::Ge => o != Ordering::Less,
            }),
            (Cmp::Equal(eq), CompareOp::Eq) => Truth::from_bool(eq),
            (Cmp::Equal(eq), CompareOp::Ne) => Truth::from_bool(!eq),
            (Cmp::Equal(_), _) | (Cmp::Unknown, _) => Truth::Unknown,
        }
    }
}

fn compare(a: Option<Norm<'_>>, op: CompareOp, b: Option<Norm<'_>>) -> Truth {
    match (a, b) {
        (Some(a), Some(b)) => compare_values(&a, &b).apply(op),
        _ => Truth::Unknown,
    }
}

fn compare_values(a: &Norm<'_>, b: &Norm<'_>) -> Cmp {
    match (a, b) {
        (Norm::Int(x), Norm::Int(y)) => Cmp::Order(x.cmp(y)),
        (Norm::Int(x), Norm::Real(y)) => compare_int_real(*x, *y),
        (Norm::Real(x), Norm::Int(y)) => compare_int_real(*y, *x).reverse(),
        (Norm::Real(x), Norm::Real(y)) => x.partial_cmp(y).map_or(Cmp::Unknown, Cmp::Order),
        // Case-sensitive, by code point (UTF-8 byte order is code point
        // order).
        (Norm::Text(x, _), Norm::Text(y, _)) => Cmp::Order(x.as_ref().cmp(y.as_ref())),
        (Norm::Bool(x), Norm::Bool(y)) => Cmp::Equal(x == y),
        (Norm::DateTime(x), Norm::DateTime(y)) => compare_datetimes(x, y),
        (Norm::DateTime(x), Norm::Text(t, true)) => {
            CimDateTime::parse(t).map_or(Cmp::Unknown, |y| compare_datetimes(x, &y))
        }
        (Norm::Text(_, true), Norm::DateTime(_)) => compare_values(b, a).reverse(),
        (Norm::Ref(x), Norm::Ref(y)) => Cmp::Equal(references_equal(x, y)),
        (Norm::Ref(x), Norm::Text(t, true)) => {
            ObjectPath::parse(t).map_or(Cmp::Unknown, |y| Cmp::Equal(references_equal(x, &y)))
        }
        (Norm::Text(_, true), Norm::Ref(_)) => compare_values(b, a),
        (Norm::Array(x), Norm::Array(y)) => compare_arrays(x, y),
        _ => Cmp::Unknown,
    }
}

/// Compares an integer with a real exactly (no rounding of either).
fn compare_int_real(i: i128, f: f64) -> Cmp {
    if f.is_nan() {
        return Cmp::Unknown;
    }
    // 2^127: every i128 is below it, and at or above -2^127.
    let limit = 2f64.powi(127);
    if f >= limit {
        return Cmp::Order(Ordering::Less);
    }
    if f < -limit {
        return Cmp::Order(Ordering::Greater);
    }
    let floor = f.floor();
    // In range and integral, so the conversion is exact.
    let whole = floor as i128;
    Cmp::Order(match i.cmp(&whole) {
        Ordering::Equal if f == floor => Ordering::Equal,
        // i == floor(f) < f
        Ordering::Equal => Ordering::Less,
        other => other,
    })
}

/// Same length and equal elements in order; only `=` and `<>` apply.
fn compare_arrays(x: &[CimValue], y: &[CimValue]) -> Cmp {
    if x.len() != y.len() {
        return Cmp::Equal(false);
    }
    let mut unknown = false;
    for (a, b) in x.iter().zip(y) {
        match compare_values(&Norm::of_value(a), &Norm::of_value(b)).is_equal() {
            Some(true) => {}
            Some(false) => return Cmp::Equal(false),
            None => unknown = true,
        }
    }
    if unknown {
        Cmp::Unknown
    } else {
        Cmp::Equal(true)
    }
}

/// References are equal when they name the same instance: class,
/// namespace, host and key names ignore ASCII case, keys may come in any
/// order, and a path without a host or namespace is relative, so it
/// matches any.
fn references_equal(x: &ObjectPath, y: &ObjectPath) -> bool {
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => true,
    };
    same(&x.host, &y.host)
        && same(&x.namespace, &y.namespace)
        && x.class_name.eq_ignore_ascii_case(&y.class_name)
        && x.keys.len() == y.keys.len()
        && x.keys.iter().all(|(name, value)| {
            y.keys
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value)
        })
}

/// A datetime's place in time (timestamps) or its length (intervals), in
/// microseconds; the "for ever" sentinels sort after everything.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Moment {
    Finite(i128),
    Forever,
}

/// Timestamps with timestamps, intervals with intervals; unknown for a mix,
/// for asterisked (imprecise) values and for the all-zero timestamp ("time
/// unknown").
fn compare_datetimes(x: &CimDateTime, y: &CimDateTime) -> Cmp {
    if x.is_interval() != y.is_interval() {
        return Cmp::Unknown;
    }
    match (moment(x), moment(y)) {
        (Some(a), Some(b)) => Cmp::Order(a.cmp(&b)),
        _ => Cmp::Unknown,
    }
}

fn moment(d: &CimDateTime) -> Option<Moment> {
    if d.is_forever() {
        return Some(Moment::Forever);
    }
    if d.significant_digits() != 20 {
        return None;
    }
    let micros = match d {
        CimDateTime::Timestamp(ts) => {
            if d.is_zero() {
                return None;
            }
            let days = days_from_civil(
                i64::from(ts.year()?),
                i64::from(ts.month()?),
                i64::from(ts.day()?),
            );
            let seconds = days * 86_400
                + i64::from(ts.hour()?) * 3600
                + i64::from(ts.minute()?) * 60
                + i64::from(ts.second()?)
                - i64::from(ts.offset_minutes()) * 60;
            i128::from(seconds) * 1_000_000 + i128::from(ts.microsecond()?)
        }
        CimDateTime::Interval(iv) => {
            let seconds = i64::from(iv.days()?) * 86_400
                + i64::from(iv.hours()?) * 3600
                + i64::from(iv.minutes()?) * 60
                + i64::from(iv.seconds()?);
            i128::from(seconds) * 1_000_000 + i128::from(iv.microseconds()?)
        }
    };
    Some(Moment::Finite(micros))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn scope_allows(subject: &dyn Subject, step: &PathStep) -> bool {
    match &step.scope {
        Some(class) => is_a(subject, class),
        None => true,
    }
}

struct Evaluator {
    language: QueryLanguage,
}

impl Evaluator {
    fn eval(&self, expr: &Expr, s: &dyn Subject) -> Result<Truth, QueryError> {
        Ok(match expr {
            Expr::And(items) => {
                let mut acc = Truth::True;
                for item in items {
                    match self.eval(item, s)? {
                        Truth::False => return Ok(Truth::False),
                        Truth::Unknown => acc = Truth::Unknown,
                        Truth::True => {}
                    }
                }
                acc
            }
            Expr::Or(items) => {
                let mut acc = Truth::False;
                for item in items {
                    match self.eval(item, s)? {
                        Truth::True => return Ok(Truth::True),
                        Truth::Unknown => acc = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                acc
            }
            Expr::Not(inner) => self.eval(inner, s)?.not(),
            Expr::Compare { left, op, right } => {
                let l = self.operand(left, s)?;
                let r = self.operand(right, s)?;
                compare(l.norm(), *op, r.norm())
            }
            Expr::IsNull { operand, negated } => match self.operand(operand, s)? {
                Resolved::Nowhere => Truth::Unknown,
                Resolved::Null | Resolved::Literal(Literal::Null) => Truth::from_bool(!negated),
                Resolved::Object | Resolved::Value(_) | Resolved::Literal(_) => {
                    Truth::from_bool(*negated)
                }
            },
            Expr::Isa { target, class } => match target {
                IsaTarget::Object(_) => Truth::from_bool(is_a(s, class)),
                IsaTarget::Embedded(path) => match self.embedded_at(path, s)? {
                    Some(object) => Truth::from_bool(is_a(object, class)),
                    None => Truth::Unknown,
                },
            },
            Expr::Like {
                operand,
                pattern,
                negated,
            } => {
                let pattern = self.compile(pattern)?;
                like(self.operand(operand, s)?.norm(), &pattern, *negated)
            }
            Expr::Quantified {
                quantifier,
                path,
                test,
            } => self.quantified(*quantifier, path, test, s)?,
        })
    }

    fn compile(&self, pattern: &str) -> Result<Pattern, QueryError> {
        pattern::compile(self.language, pattern)
            .map_err(|why| bad(format!("invalid LIKE pattern '{pattern}': {why}")))
    }

    fn quantified(
        &self,
        quantifier: Quantifier,
        path: &PropertyPath,
        test: &ElementTest,
        s: &dyn Subject,
    ) -> Result<Truth, QueryError> {
        let array = match self.resolve(path, s, true)? {
            Resolved::Value(CimValue::Array(a)) => a,
            _ => return Ok(Truth::Unknown),
        };
        let compiled;
        let other;
        let check: Box<dyn Fn(&CimValue) -> Truth> = match test {
            ElementTest::Compare { op, operand } => {
                other = self.operand(operand, s)?;
                let op = *op;
                let other = &other;
                Box::new(move |e| compare(Some(Norm::of_value(e)), op, other.norm()))
            }
            ElementTest::Like { pattern, negated } => {
                compiled = self.compile(pattern)?;
                let compiled = &compiled;
                let negated = *negated;
                Box::new(move |e| like(Some(Norm::of_value(e)), compiled, negated))
            }
        };
        let (decisive, otherwise) = match quantifier {
            Quantifier::Any => (Truth::True, Truth::False),
            Quantifier::Every => (Truth::False, Truth::True),
        };
        let mut acc = otherwise;
        for element in array.items() {
            match check(element) {
                t if t == decisive => return Ok(decisive),
                Truth::Unknown => acc = Truth::Unknown,
                _ => {}
            }
        }
        Ok(acc)
    }

    fn operand<'q>(
        &self,
        operand: &'q Operand,
        s: &dyn Subject,
    ) -> Result<Resolved<'q>, QueryError> {
        match operand {
            Operand::Literal(l) => Ok(Resolved::Literal(l)),
            Operand::Property(path) => self.resolve(path, s, false),
        }
    }

    /// Follows `path` from `s`. With `quantified`, the last step must be
    /// `[*]` and the whole array is returned.
    fn resolve<'q>(
        &self,
        path: &PropertyPath,
        s: &dyn Subject,
        quantified: bool,
    ) -> Result<Resolved<'q>, QueryError> {
        let Some((last, init)) = path.steps.split_last() else {
            return Err(bad("a property path has no steps"));
        };
        let Some(object) = self.walk(init, s)? else {
            return Ok(Resolved::Nowhere);
        };
        if !scope_allows(object, last) {
            return Ok(Resolved::Nowhere);
        }
        let value = match object.property(&last.name) {
            Some(value) => value,
            None if last.index.is_none() && object.embedded(&last.name).is_some() => {
                return Ok(Resolved::Object)
            }
            None => return Ok(Resolved::Nowhere),
        };
        let whole = |v: Option<CimValue>| v.map_or(Resolved::Null, Resolved::Value);
        match (last.index, quantified) {
            (None, false) | (Some(ArrayIndex::All), true) => Ok(whole(value)),
            (Some(ArrayIndex::All), false) => Err(bad(format!(
                "'{path}': '[*]' is only allowed after ANY or EVERY"
            ))),
            (_, true) => Err(bad(format!(
                "'{path}': ANY and EVERY need a path ending in '[*]'"
            ))),
            (Some(ArrayIndex::At(n)), false) => Ok(match value {
                None => Resolved::Null,
                Some(CimValue::Array(a)) => a
                    .into_items()
                    .into_iter()
                    .nth(n)
                    .map_or(Resolved::Null, Resolved::Value),
                Some(_) => Resolved::Nowhere,
            }),
        }
    }

    /// Moves through the embedded objects named by `steps`; `None` if one
    /// is missing or not of its scope class.
    fn walk<'s>(
        &self,
        steps: &[PathStep],
        s: &'s dyn Subject,
    ) -> Result<Option<&'s dyn Subject>, QueryError> {
        let mut object = s;
        for step in steps {
            if step.index.is_some() {
                return Err(bad(format!(
                    "'{step}': an index may only be on the last step of a path"
                )));
            }
            if !scope_allows(object, step) {
                return Ok(None);
            }
            match object.embedded(&step.name) {
                Some(next) => object = next,
                None => return Ok(None),
            }
        }
        Ok(Some(object))
    }

    /// The embedded object at the end of `path`, for ISA.
    fn embedded_at<'s>(
        &self,
        path: &PropertyPath,
        s: &'s dyn Subject,
    ) -> Result<Option<&'s dyn Subject>, QueryError> {
        if path.steps.is_empty() {
            return Err(bad("a property path has no steps"));
        }
        self.walk(&path.steps, s)
    }
}

fn like(value: Option<Norm<'_>>, pattern: &Pattern, negated: bool) -> Truth {
    match value {
        Some(Norm::Text(text, _)) => Truth::from_bool(pattern.matches(&text) != negated),
        _ => Truth::Unknown,
    }
}
