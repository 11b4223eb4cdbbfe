//! Splits query text into tokens, each with the position it starts at.

use super::{Position, QueryError, QueryLanguage};

/// What a token is. Keywords are identifiers; the parser recognises them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A name or keyword, as written.
    Ident(String),
    /// A number as written (`12`, `0x1F`, `1.5e-3`); the parser checks it
    /// so that the error points at the literal.
    Number(String),
    /// A string literal's value, quotes removed and doubled quotes undone.
    Str(String),
    /// `=`
    Eq,
    /// `<>`
    LtGt,
    /// `!=`
    BangEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `*`
    Star,
    /// `.`
    Dot,
    /// `::`
    ColonColon,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `/`
    Slash,
    /// `||`
    Concat,
    /// End of the text.
    Eof,
}

/// A token and where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Position,
}

/// The reserved words: they cannot be property or class names.
const KEYWORDS: [&str; 14] = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IS", "NULL", "ISA", "LIKE", "TRUE", "FALSE",
    "ANY", "EVERY",
];

/// Whether `word` is a reserved word (any case).
pub(crate) fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

impl Token {
    /// How the token reads in an error message: `'JobState'`, `keyword
    /// FROM`, `string 'abc'`, `end of query`.
    pub(crate) fn describe(&self) -> String {
        match &self.tok {
            Tok::Ident(s) if is_keyword(s) => format!("keyword {}", s.to_ascii_uppercase()),
            Tok::Ident(s) | Tok::Number(s) => format!("'{s}'"),
            Tok::Str(s) => {
                let shown: String = s.chars().take(40).collect();
                let more = if shown.len() < s.len() { "..." } else { "" };
                format!("string '{shown}{more}'")
            }
            Tok::Eof => "end of query".to_owned(),
            other => format!("'{}'", punct_text(other)),
        }
    }
}

/// The text of a punctuation token.
pub(crate) fn punct_text(tok: &Tok) -> &'static str {
    match tok {
        Tok::Eq => "=",
        Tok::LtGt => "<>",
        Tok::BangEq => "!=",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::Comma => ",",
        Tok::Star => "*",
        Tok::Dot => ".",
        Tok::ColonColon => "::",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::Plus => "+",
        Tok::Minus => "-",
        Tok::Slash => "/",
        Tok::Concat => "||",
        Tok::Ident(_) | Tok::Number(_) | Tok::Str(_) | Tok::Eof => "",
    }
}

fn invalid(message: String, position: Position) -> QueryError {
    QueryError::Invalid { message, position }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits `text` into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(text: &str, language: QueryLanguage) -> Result<Vec<Token>, QueryError> {
    // Every character with its position, plus the position after the end.
    let mut chars = Vec::new();
    let (mut line, mut column) = (1, 1);
    for c in text.chars() {
        chars.push((c, Position { line, column }));
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    let end = Position { line, column };
    let at = |i: usize| chars.get(i).map(|&(c, _)| c);

    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some((c, pos)) = chars.get(i).copied() {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = if is_ident_start(c) {
            while at(i).is_some_and(is_ident_continue) {
                i += 1;
            }
            Tok::Ident(chars[start..i].iter().map(|&(c, _)| c).collect())
        } else if c.is_ascii_digit() || (c == '.' && at(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            // Greedy: letters and dots stay in the token, so `12abc` and
            // `1.2.3` are one bad number rather than a confusing sequence.
            let hex = c == '0' && matches!(at(i + 1), Some('x' | 'X'));
            while let Some(d) = at(i) {
                let exponent_sign = !hex
                    && matches!(d, '+' | '-')
                    && matches!(at(i.wrapping_sub(1)), Some('e' | 'E'))
                    && i > start;
                if is_ident_continue(d) || d == '.' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            Tok::Number(chars[start..i].iter().map(|&(c, _)| c).collect())
        } else if c == '\'' || c == '"' {
            if c == '"' && language == QueryLanguage::Cql {
                return Err(invalid(
                    "double quotes do not delimit strings in DMTF:CQL; use single quotes".into(),
                    pos,
                ));
            }
            let mut value = String::new();
            i += 1;
            loop {
                match at(i) {
                    None => {
                        return Err(invalid(
                            format!("string starting here has no closing {c}"),
                            pos,
                        ))
                    }
                    Some(q) if q == c => {
                        if at(i + 1) == Some(c) {
                            value.push(c);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(other) => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
            Tok::Str(value)
        } else {
            let next = at(i + 1);
            let (tok, len) = match (c, next) {
                ('=', Some('=')) => {
                    return Err(invalid(
                        "unknown operator '=='; use '=' to compare".into(),
                        pos,
                    ))
                }
                ('=', _) => (Tok::Eq, 1),
                ('<', Some('>')) => (Tok::LtGt, 2),
                ('<', Some('=')) => (Tok::Le, 2),
                ('<', _) => (Tok::Lt, 1),
                ('>', Some('=')) => (Tok::Ge, 2),
                ('>', _) => (Tok::Gt, 1),
                ('!', Some('=')) => (Tok::BangEq, 2),
                ('!', _) => {
                    return Err(invalid(
                        "unknown operator '!'; use NOT, or '<>' for not equal".into(),
                        pos,
                    ))
                }
                ('(', _) => (Tok::LParen, 1),
                (')', _) => (Tok::RParen, 1),
                (',', _) => (Tok::Comma, 1),
                ('*', _) => (Tok::Star, 1),
                ('.', _) => (Tok::Dot, 1),
                (':', Some(':')) => (Tok::ColonColon, 2),
                (':', _) => {
                    return Err(invalid(
                        "unexpected ':'; a class scope is written 'Class::Property'".into(),
                        pos,
                    ))
                }
                ('[', _) => (Tok::LBracket, 1),
                (']', _) => (Tok::RBracket, 1),
                ('+', _) => (Tok::Plus, 1),
                ('-', _) => (Tok::Minus, 1),
                ('/', _) => (Tok::Slash, 1),
                ('|', Some('|')) => (Tok::Concat, 2),
                _ => {
                    return Err(invalid(
                        format!("unexpected character '{}'", c.escape_debug()),
                        pos,
                    ))
                }
            };
            i += len;
            tok
        };
        tokens.push(Token { tok, pos });
    }
    tokens.push(Token {
        tok: Tok::Eof,
        pos: end,
    });
    Ok(tokens)
}
