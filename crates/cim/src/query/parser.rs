//! Recursive-descent parser from tokens to a [`Query`].

use super::ast::{
    names_class, ArrayIndex, CompareOp, ElementTest, Expr, IsaTarget, Literal, Operand, PathStep,
    PropertyPath, Quantifier,
};
use super::lexer::{is_keyword, punct_text, tokenize, Tok, Token};
use super::{pattern, Position, Query, QueryError, QueryLanguage, Selection, MAX_NESTING};
use crate::integer::parse_integer;

/// Parses `text` as a query in `language`.
pub(crate) fn parse(language: QueryLanguage, text: &str) -> Result<Query, QueryError> {
    let tokens = tokenize(text, language)?;
    Parser {
        tokens,
        i: 0,
        language,
        from_class: String::new(),
        depth: 0,
    }
    .query()
}

/// Words that start a clause we recognise but do not support, after FROM
/// or after the WHERE condition.
const JOIN_WORDS: [&str; 7] = ["JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL"];

/// One entry of the select list before the FROM class is known.
struct SelectItem {
    qualifier: Option<(String, Position)>,
    /// `None` for `Class.*`.
    name: Option<String>,
}

struct Parser {
    tokens: Vec<Token>,
    i: usize,
    language: QueryLanguage,
    from_class: String,
    /// Current nesting of parentheses and NOTs.
    depth: usize,
}

fn invalid(message: impl Into<String>, position: Position) -> QueryError {
    QueryError::Invalid {
        message: message.into(),
        position,
    }
}

fn unsupported(message: impl Into<String>, position: Position) -> QueryError {
    QueryError::FeatureNotSupported {
        message: message.into(),
        position,
    }
}

fn compare_op(tok: &Tok) -> Option<CompareOp> {
    Some(match tok {
        Tok::Eq => CompareOp::Eq,
        Tok::LtGt | Tok::BangEq => CompareOp::Ne,
        Tok::Lt => CompareOp::Lt,
        Tok::Le => CompareOp::Le,
        Tok::Gt => CompareOp::Gt,
        Tok::Ge => CompareOp::Ge,
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> &Token {
        // The lexer always ends with Eof, and `bump` never moves past it.
        &self.tokens[self.i]
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.i + ahead).min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.i].clone();
        if t.tok != Tok::Eof {
            self.i += 1;
        }
        t
    }

    fn pos(&self) -> Position {
        self.peek().pos
    }

    /// Whether the next token is the word `kw` (any case).
    fn at_word(&self, kw: &str) -> bool {
        self.peek_word(0, kw)
    }

    fn peek_word(&self, ahead: usize, kw: &str) -> bool {
        matches!(&self.peek_at(ahead).tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn at_any_word(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.at_word(w))
    }

    /// "expected {what}, found {next token}" at the next token.
    fn expected(&self, what: &str) -> QueryError {
        invalid(
            format!("expected {what}, found {}", self.peek().describe()),
            self.pos(),
        )
    }

    /// A class or property name (not a keyword); `what` says which, and
    /// after what, for the error.
    fn name(&mut self, what: &str) -> Result<String, QueryError> {
        match &self.peek().tok {
            Tok::Ident(s) if !is_keyword(s) => {
                let s = s.clone();
                self.bump();
                Ok(s)
            }
            _ => Err(self.expected(what)),
        }
    }

    // -----------------------------------------------------------------------
    // SELECT ... FROM ... WHERE ...

    fn query(mut self) -> Result<Query, QueryError> {
        if !self.at_word("SELECT") {
            return Err(self.expected("SELECT at the start of the query"));
        }
        self.bump();
        let items = self.select_list()?;
        if !self.at_word("FROM") {
            return Err(self.expected("FROM after the select list"));
        }
        self.bump();
        self.from_class = self.name("a class name after FROM")?;
        // Aliases first: `SELECT J.Name FROM CIM_Job J` is about the alias.
        self.after_from()?;
        let select = self.resolve_select(items)?;
        let where_clause = if self.at_word("WHERE") {
            self.bump();
            let expr = self.or_expr()?;
            self.after_where()?;
            Some(expr)
        } else {
            None
        };
        Ok(Query {
            language: self.language,
            select,
            from_class: self.from_class,
            where_clause,
        })
    }

    /// `*` or `item {, item}`; `None` for `*`.
    fn select_list(&mut self) -> Result<Option<Vec<SelectItem>>, QueryError> {
        if self.at_word("DISTINCT")
            && !matches!(self.peek_at(1).tok, Tok::Comma)
            && !self.peek_word(1, "FROM")
        {
            return Err(unsupported(
                "SELECT DISTINCT is not supported: each object is returned once anyway",
                self.pos(),
            ));
        }
        if self.peek().tok == Tok::Star {
            self.bump();
            if self.peek().tok == Tok::Comma {
                return Err(invalid(
                    "'*' already selects every property; it cannot be combined with names",
                    self.pos(),
                ));
            }
            return Ok(None);
        }
        let mut items = Vec::new();
        let mut after = "SELECT".to_owned();
        loop {
            let pos = self.pos();
            let first = self.name(&format!("'*' or a property name after {after}"))?;
            if self.peek().tok == Tok::LParen {
                return Err(unsupported(
                    format!(
                        "functions and aggregates such as {}() are not supported in the select list",
                        first.to_ascii_uppercase()
                    ),
                    pos,
                ));
            }
            let item = if self.peek().tok == Tok::Dot {
                self.bump();
                let name = if self.peek().tok == Tok::Star {
                    self.bump();
                    None
                } else {
                    Some(self.name(&format!("a property name or '*' after '{first}.'"))?)
                };
                SelectItem {
                    qualifier: Some((first, pos)),
                    name,
                }
            } else {
                SelectItem {
                    qualifier: None,
                    name: Some(first),
                }
            };
            items.push(item);
            if self.peek().tok != Tok::Comma {
                break;
            }
            self.bump();
            after = "','".to_owned();
        }
        if !self.at_word("FROM") {
            return Err(self.expected("',' or FROM after the select list"));
        }
        Ok(Some(items))
    }

    /// Checks select-list qualifiers against the FROM class and drops them.
    fn resolve_select(&self, items: Option<Vec<SelectItem>>) -> Result<Selection, QueryError> {
        let Some(items) = items else {
            return Ok(Selection::All);
        };
        let mut names = Vec::new();
        let mut all = false;
        for item in items {
            if let Some((qualifier, pos)) = &item.qualifier {
                if !qualifier.eq_ignore_ascii_case(&self.from_class) {
                    return Err(unsupported(
                        format!(
                            "'{qualifier}.' in the select list: only properties of the FROM class {} can be selected",
                            self.from_class
                        ),
                        *pos,
                    ));
                }
            }
            match item.name {
                Some(name) => names.push(name),
                None => all = true,
            }
        }
        Ok(if all {
            Selection::All
        } else {
            Selection::Properties(names)
        })
    }

    /// What may follow `FROM Class`: WHERE or the end. Joins, aliases and
    /// ordering get their own messages.
    fn after_from(&mut self) -> Result<(), QueryError> {
        let pos = self.pos();
        if self.peek().tok == Tok::Comma || self.at_any_word(&JOIN_WORDS) {
            return Err(unsupported(
                "joins are not supported: a query names exactly one class after FROM",
                pos,
            ));
        }
        if self.at_word("AS") {
            return Err(unsupported(
                format!(
                    "class aliases are not supported; refer to the class as {}",
                    self.from_class
                ),
                pos,
            ));
        }
        if matches!(&self.peek().tok, Tok::Ident(s) if !is_keyword(s))
            && !self.at_any_word(&["ORDER", "GROUP", "HAVING"])
            && (self.peek_word(1, "WHERE") || self.peek_at(1).tok == Tok::Eof)
        {
            return Err(unsupported(
                format!(
                    "class aliases are not supported; refer to the class as {}",
                    self.from_class
                ),
                pos,
            ));
        }
        self.unsupported_clause()?;
        if self.at_word("WHERE") || self.peek().tok == Tok::Eof {
            Ok(())
        } else {
            Err(self.expected("WHERE or the end of the query after the class name"))
        }
    }

    /// After the WHERE condition: only the end of the text.
    fn after_where(&mut self) -> Result<(), QueryError> {
        self.unsupported_clause()?;
        match self.peek().tok {
            Tok::Eof => Ok(()),
            Tok::RParen => Err(invalid(
                "unbalanced ')': there is no '(' for it to close",
                self.pos(),
            )),
            _ => Err(self.expected("AND, OR or the end of the query")),
        }
    }

    fn unsupported_clause(&self) -> Result<(), QueryError> {
        let pos = self.pos();
        if self.at_word("ORDER") && self.peek_word(1, "BY") {
            return Err(unsupported(
                "ORDER BY is not supported: results come in no particular order",
                pos,
            ));
        }
        if self.at_word("GROUP") && self.peek_word(1, "BY") || self.at_word("HAVING") {
            return Err(unsupported(
                "GROUP BY and HAVING are not supported: a query returns objects, not groups",
                pos,
            ));
        }
        Ok(())
    }

    // -----------------------------------------------------------------------
    // Conditions

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut items = vec![self.and_expr()?];
        while self.at_word("OR") {
            self.bump();
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut items = vec![self.not_expr()?];
        while self.at_word("AND") {
            self.bump();
            items.push(self.not_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn nest(&mut self, pos: Position) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(invalid(
                format!("the condition nests more than {MAX_NESTING} parentheses or NOTs deep"),
                pos,
            ));
        }
        Ok(())
    }

    fn not_expr(&mut self) -> Result<Expr, QueryError> {
        if self.at_word("NOT") {
            let pos = self.bump().pos;
            self.nest(pos)?;
            let inner = self.not_expr()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        if self.peek().tok == Tok::LParen {
            let open = self.bump().pos;
            self.nest(open)?;
            let inner = self.or_expr()?;
            self.depth -= 1;
            if self.peek().tok != Tok::RParen {
                return Err(self.expected(&format!("AND, OR or ')' to close the '(' at {open}")));
            }
            self.bump();
            return Ok(inner);
        }
        if self.at_word("ANY") || self.at_word("EVERY") {
            return self.quantified();
        }
        if matches!(self.peek().tok, Tok::Eof | Tok::RParen)
            || matches!(&self.peek().tok, Tok::Ident(s) if is_keyword(s) && !["TRUE", "FALSE", "NULL"].iter().any(|k| k.eq_ignore_ascii_case(s)))
        {
            return Err(self.expected("a condition"));
        }
        self.predicate()
    }

    /// `ANY path[*] test` / `EVERY path[*] test`.
    fn quantified(&mut self) -> Result<Expr, QueryError> {
        let word_pos = self.pos();
        let quantifier = if self.at_word("ANY") {
            Quantifier::Any
        } else {
            Quantifier::Every
        };
        self.bump();
        let word = match quantifier {
            Quantifier::Any => "ANY",
            Quantifier::Every => "EVERY",
        };
        let path = self.path(&format!("an array property after {word}"), true)?;
        let path = self.strip_from_class(path);
        if path.steps.last().and_then(|s| s.index) != Some(ArrayIndex::All) {
            if self.at_word("IN") {
                return Err(unsupported(
                    format!("{word} ... IN ... SATISFIES is not supported; write {word} Property[*] = value"),
                    word_pos,
                ));
            }
            return Err(self.expected(&format!("'[*]' after the array property '{path}'")));
        }
        let test = if let Some(op) = compare_op(&self.peek().tok) {
            let op_tok = self.bump();
            let operand = self.operand(&format!(
                "a property name or literal after '{}'",
                punct_text(&op_tok.tok)
            ))?;
            self.no_arithmetic()?;
            ElementTest::Compare {
                op,
                operand: self.strip_operand(operand),
            }
        } else {
            let negated = self.at_word("NOT");
            if negated {
                self.bump();
            }
            if !self.at_word("LIKE") {
                return Err(self.expected(&format!("a comparison operator or LIKE after '{path}'")));
            }
            self.bump();
            let pattern = self.like_pattern()?;
            ElementTest::Like { pattern, negated }
        };
        Ok(Expr::Quantified {
            quantifier,
            path,
            test,
        })
    }

    fn predicate(&mut self) -> Result<Expr, QueryError> {
        let left = self.operand("a condition")?;
        if let Some(op) = compare_op(&self.peek().tok) {
            let op_tok = self.bump();
            let right = self.operand(&format!(
                "a property name or literal after '{}'",
                punct_text(&op_tok.tok)
            ))?;
            self.no_arithmetic()?;
            return Ok(Expr::Compare {
                left: self.strip_operand(left),
                op,
                right: self.strip_operand(right),
            });
        }
        let pos = self.pos();
        if self.at_word("IS") {
            self.bump();
            let negated = self.at_word("NOT");
            if negated {
                self.bump();
            }
            if !self.at_word("NULL") {
                return Err(self.expected(if negated {
                    "NULL after IS NOT"
                } else {
                    "NULL or NOT NULL after IS"
                }));
            }
            self.bump();
            return Ok(Expr::IsNull {
                operand: self.strip_operand(left),
                negated,
            });
        }
        if self.at_word("ISA") {
            self.bump();
            let target = match left {
                Operand::Property(path) => self.isa_target(path, pos)?,
                Operand::Literal(_) => {
                    return Err(invalid(
                        "ISA needs an embedded object (such as SourceInstance) or the FROM class on its left, not a literal",
                        pos,
                    ))
                }
            };
            let class = match &self.peek().tok {
                Tok::Str(s) if self.language == QueryLanguage::Wql => {
                    let s = s.clone();
                    let valid = s
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_alphabetic() || c == '_')
                        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
                        && !is_keyword(&s);
                    if !valid {
                        return Err(invalid(format!("'{s}' is not a class name"), self.pos()));
                    }
                    self.bump();
                    s
                }
                _ => self.name("a class name after ISA")?,
            };
            return Ok(Expr::Isa { target, class });
        }
        let negated = self.at_word("NOT");
        if negated {
            self.bump();
        }
        if self.at_word("LIKE") {
            self.bump();
            let pattern = self.like_pattern()?;
            return Ok(Expr::Like {
                operand: self.strip_operand(left),
                pattern,
                negated,
            });
        }
        if self.at_word("IN") || self.at_word("BETWEEN") {
            return Err(unsupported(
                format!(
                    "{} is not supported; combine comparisons with OR / AND",
                    if self.at_word("IN") {
                        "IN (...)"
                    } else {
                        "BETWEEN"
                    }
                ),
                self.pos(),
            ));
        }
        if negated {
            return Err(self.expected(&format!("LIKE after '{left} NOT'")));
        }
        self.no_arithmetic()?;
        Err(self.expected(&format!(
            "a comparison operator (=, <>, <, <=, >, >=), IS, ISA or LIKE after '{left}'"
        )))
    }

    /// Arithmetic and concatenation are CQL we do not evaluate.
    fn no_arithmetic(&self) -> Result<(), QueryError> {
        if matches!(
            self.peek().tok,
            Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash | Tok::Concat
        ) {
            return Err(unsupported(
                format!(
                    "arithmetic and string concatenation ('{}') are not supported; compare a property with a literal or another property",
                    punct_text(&self.peek().tok)
                ),
                self.pos(),
            ));
        }
        Ok(())
    }

    /// The left side of ISA: the FROM class itself, or an embedded object.
    fn isa_target(&self, path: PropertyPath, pos: Position) -> Result<IsaTarget, QueryError> {
        if let [step] = path.steps.as_slice() {
            if names_class(step, &self.from_class) {
                return Ok(IsaTarget::Object(step.name.clone()));
            }
        }
        let path = self.strip_from_class(path);
        if path.steps.iter().any(|s| s.index.is_some()) {
            return Err(unsupported(
                "ISA on an array element is not supported; ISA tests an embedded object such as SourceInstance",
                pos,
            ));
        }
        Ok(IsaTarget::Embedded(path))
    }

    /// The string literal after LIKE, checked as a pattern.
    fn like_pattern(&mut self) -> Result<String, QueryError> {
        let Tok::Str(pattern) = &self.peek().tok else {
            return Err(self.expected("a quoted pattern after LIKE"));
        };
        let pattern = pattern.clone();
        let pos = self.pos();
        if let Err(why) = pattern::compile(self.language, &pattern) {
            return Err(invalid(format!("invalid LIKE pattern: {why}"), pos));
        }
        self.bump();
        if self.at_word("ESCAPE") {
            return Err(unsupported(
                match self.language {
                    QueryLanguage::Wql => {
                        "LIKE ... ESCAPE is not supported; put the character in a set, as in '[%]'"
                    }
                    QueryLanguage::Cql => "LIKE ... ESCAPE is not supported; escape with '\\'",
                },
                self.pos(),
            ));
        }
        Ok(pattern)
    }

    // -----------------------------------------------------------------------
    // Operands

    /// A literal or a property path; `what` names the expectation for the
    /// error (e.g. "a property name or literal after '='").
    fn operand(&mut self, what: &str) -> Result<Operand, QueryError> {
        let pos = self.pos();
        let literal = match &self.peek().tok {
            Tok::Number(_) | Tok::Minus | Tok::Plus => Some(self.number()?),
            Tok::Str(s) => {
                let s = s.clone();
                self.bump();
                Some(Literal::String(s))
            }
            Tok::Ident(s) if s.eq_ignore_ascii_case("TRUE") => {
                self.bump();
                Some(Literal::Boolean(true))
            }
            Tok::Ident(s) if s.eq_ignore_ascii_case("FALSE") => {
                self.bump();
                Some(Literal::Boolean(false))
            }
            Tok::Ident(s) if s.eq_ignore_ascii_case("NULL") => {
                self.bump();
                Some(Literal::Null)
            }
            Tok::Ident(s) if !is_keyword(s) => None,
            _ => return Err(self.expected(what)),
        };
        if let Some(literal) = literal {
            return Ok(Operand::Literal(literal));
        }
        if self.peek_at(1).tok == Tok::LParen {
            let Tok::Ident(name) = &self.peek().tok else {
                unreachable!("checked above")
            };
            return Err(unsupported(
                format!(
                    "functions such as {}() are not supported; compare the property itself",
                    name.to_ascii_uppercase()
                ),
                pos,
            ));
        }
        Ok(Operand::Property(self.path(what, false)?))
    }

    /// CQL's `Class.Property`, where Class is the FROM class, means just
    /// `Property`: drops that first step (once) from a path of two or more.
    fn strip_from_class(&self, mut path: PropertyPath) -> PropertyPath {
        if path.steps.len() > 1 && names_class(&path.steps[0], &self.from_class) {
            path.steps.remove(0);
        }
        path
    }

    fn strip_operand(&self, operand: Operand) -> Operand {
        match operand {
            Operand::Property(path) => Operand::Property(self.strip_from_class(path)),
            literal => literal,
        }
    }

    /// A signed number literal.
    fn number(&mut self) -> Result<Literal, QueryError> {
        let pos = self.pos();
        let sign = match self.peek().tok {
            Tok::Minus => {
                self.bump();
                "-"
            }
            Tok::Plus => {
                self.bump();
                ""
            }
            _ => "",
        };
        let Tok::Number(raw) = &self.peek().tok else {
            return Err(self.expected(&format!(
                "a number after '{}'",
                if sign.is_empty() { "+" } else { "-" }
            )));
        };
        let raw = raw.clone();
        let num_pos = self.pos();
        let text = format!("{sign}{raw}");
        let literal = if raw.bytes().all(|b| b.is_ascii_digit())
            || (raw.len() > 2 && raw.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x")))
        {
            match parse_integer(&text) {
                Some(Some(v)) => Literal::Integer(v),
                Some(None) => {
                    return Err(invalid(
                        format!("integer literal {text} is out of range (at most 39 digits)"),
                        pos,
                    ))
                }
                None => return Err(invalid(format!("invalid number '{raw}'"), num_pos)),
            }
        } else {
            let ok_chars = raw
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
            match text.parse::<f64>() {
                Ok(v) if ok_chars && v.is_finite() => Literal::Real(v),
                Ok(_) if ok_chars => {
                    return Err(invalid(
                        format!("real literal {text} is out of range for real64"),
                        pos,
                    ))
                }
                _ => return Err(invalid(format!("invalid number '{raw}'"), num_pos)),
            }
        };
        self.bump();
        Ok(literal)
    }

    /// `step {. step}` with `step := [Class::]Name[ [n] | [*] ]`. `[*]` is
    /// only allowed (on the last step) when `all_allowed`.
    fn path(&mut self, what: &str, all_allowed: bool) -> Result<PropertyPath, QueryError> {
        let mut steps = Vec::new();
        let mut what = what.to_owned();
        loop {
            let mut name = self.name(&what)?;
            let mut scope = None;
            if self.peek().tok == Tok::ColonColon {
                self.bump();
                scope = Some(name);
                name = self.name(&format!(
                    "a property name after '{}::'",
                    scope.as_deref().unwrap_or_default()
                ))?;
            }
            let mut index = None;
            if self.peek().tok == Tok::LBracket {
                let open = self.bump().pos;
                index =
                    Some(match &self.peek().tok {
                        Tok::Star if all_allowed => ArrayIndex::All,
                        Tok::Star => return Err(invalid(
                            "'[*]' is only allowed after ANY or EVERY, as in ANY Property[*] = 2",
                            open,
                        )),
                        Tok::Number(raw) if raw.bytes().all(|b| b.is_ascii_digit()) => {
                            let raw = raw.clone();
                            ArrayIndex::At(raw.parse().map_err(|_| {
                                invalid(format!("array index {raw} is too large"), self.pos())
                            })?)
                        }
                        _ => {
                            return Err(self.expected(
                                "an array index (a non-negative decimal integer) or '*' after '['",
                            ))
                        }
                    });
                self.bump();
                if self.peek().tok != Tok::RBracket {
                    return Err(self.expected("']' to close the array index"));
                }
                self.bump();
            }
            steps.push(PathStep { scope, name, index });
            if self.peek().tok != Tok::Dot {
                break;
            }
            if index.is_some() {
                return Err(unsupported(
                    "properties of array elements are not supported; an index may only end a path",
                    self.pos(),
                ));
            }
            self.bump();
            what = format!(
                "a property name after '{}.'",
                PropertyPath {
                    steps: steps.clone()
                }
            );
        }
        Ok(PropertyPath { steps })
    }
}
