//! LIKE patterns: WQL's `%` / `_` / `[set]`, and CQL's regular-expression
//! subset (`.`, `*`, `[set]`, `\`). Both compile to one small automaton,
//! matched in time proportional to pattern length times text length (no
//! backtracking blow-up on patterns like `%a%a%a%b`).

use super::QueryLanguage;

/// One position of a compiled pattern.
#[derive(Clone, Debug)]
enum Atom {
    /// This character.
    Char(char),
    /// Any one character.
    Any,
    /// One character in (or, negated, not in) the inclusive ranges.
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Atom {
    fn accepts(&self, c: char) -> bool {
        match self {
            Atom::Char(x) => *x == c,
            Atom::Any => true,
            Atom::Set { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) != *negated
            }
        }
    }
}

/// A compiled LIKE pattern: atoms, each matched once or (starred) any
/// number of times.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    steps: Vec<(Atom, bool)>,
}

/// Compiles `pattern` in `language`'s syntax. The error says what is wrong,
/// with a 1-based character position inside the pattern.
pub(crate) fn compile(language: QueryLanguage, pattern: &str) -> Result<Pattern, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut steps: Vec<(Atom, bool)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match (language, c) {
            (_, '[') => {
                let (atom, next) = compile_set(&chars, i)?;
                steps.push((atom, false));
                i = next;
                continue;
            }
            (QueryLanguage::Wql, '%') => steps.push((Atom::Any, true)),
            (QueryLanguage::Wql, '_') => steps.push((Atom::Any, false)),
            (QueryLanguage::Cql, '.') => steps.push((Atom::Any, false)),
            (QueryLanguage::Cql, '*') => match steps.last_mut() {
                Some((_, starred @ false)) => *starred = true,
                _ => {
                    return Err(format!(
                        "'*' at character {} repeats nothing; put a character, '.' or a set before it, or write '\\*' for a literal '*'",
                        i + 1
                    ))
                }
            },
            (QueryLanguage::Cql, '\\') => match chars.get(i + 1) {
                Some(&next) => {
                    steps.push((Atom::Char(next), false));
                    i += 1;
                }
                None => return Err("the pattern ends with '\\', which escapes nothing".into()),
            },
            _ => steps.push((Atom::Char(c), false)),
        }
        i += 1;
    }
    Ok(Pattern { steps })
}

/// Compiles the set starting at `chars[start] == '['`; returns it and the
/// index after its `]`. A `]` right after `[` or `[^` is a member, so
/// `[]]` matches `]`.
fn compile_set(chars: &[char], start: usize) -> Result<(Atom, usize), String> {
    let mut i = start + 1;
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let first = i;
    let mut ranges = Vec::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(format!("'[' at character {} has no closing ']'", start + 1));
        };
        if c == ']' && i > first {
            return Ok((Atom::Set { negated, ranges }, i + 1));
        }
        match (chars.get(i + 1), chars.get(i + 2)) {
            (Some('-'), Some(&hi)) if hi != ']' => {
                if hi < c {
                    return Err(format!(
                        "range '{c}-{hi}' at character {} is backwards",
                        i + 1
                    ));
                }
                ranges.push((c, hi));
                i += 3;
            }
            _ => {
                ranges.push((c, c));
                i += 1;
            }
        }
    }
}

impl Pattern {
    /// Whether the whole of `text` matches.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let n = self.steps.len();
        // live[k]: some way of matching the text so far ends before step k.
        let mut live = vec![false; n + 1];
        live[0] = true;
        self.skip_starred(&mut live);
        for c in text.chars() {
            let mut next = vec![false; n + 1];
            for (k, (atom, starred)) in self.steps.iter().enumerate() {
                if live[k] && atom.accepts(c) {
                    next[if *starred { k } else { k + 1 }] = true;
                }
            }
            self.skip_starred(&mut next);
            if !next.contains(&true) {
                return false;
            }
            live = next;
        }
        live[n]
    }

    /// A starred step may match nothing, so being before it is also being
    /// after it.
    fn skip_starred(&self, live: &mut [bool]) {
        for (k, (_, starred)) in self.steps.iter().enumerate() {
            if *starred && live[k] {
                live[k + 1] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(language: QueryLanguage, pattern: &str, text: &str) -> bool {
        compile(language, pattern).unwrap().matches(text)
    }

    #[test]
    fn wql_patterns() {
        use QueryLanguage::Wql;
        let rows = [
            ("back%", "backup", true),
            ("back%", "back", true),
            ("back%", "Backup", false),
            ("%up", "backup", true),
            ("b_ck%", "buckets", true),
            ("b_ck", "bck", false),
            (
                "%a%a%a%b",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac",
                false,
            ),
            ("[bB]ack%", "Backup", true),
            ("[^b]ack", "back", false),
            ("[^b]ack", "hack", true),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("100[%]", "100%", true),
            ("100[%]", "1000", false),
            ("[]]", "]", true),
            ("a.b", "a.b", true),
            ("a.b", "axb", false),
            ("", "", true),
            ("", "x", false),
            ("%", "", true),
            ("é_", "éa", true),
        ];
        for (pattern, text, expected) in rows {
            assert_eq!(
                like(Wql, pattern, text),
                expected,
                "{pattern:?} LIKE {text:?}"
            );
        }
    }

    #[test]
    fn cql_patterns() {
        use QueryLanguage::Cql;
        let rows = [
            ("back.*", "backup", true),
            ("back.*", "back", true),
            ("ba*ck", "bck", true),
            ("ba*ck", "baaack", true),
            ("b.ck", "buck", true),
            ("b.ck", "bck", false),
            ("[bB]ack.*", "Backup", true),
            ("100%", "100%", true),
            ("a\\.b", "a.b", true),
            ("a\\.b", "axb", false),
            ("a\\*", "a*", true),
            ("[0-9]*", "2026", true),
            ("[0-9]*", "20x6", false),
        ];
        for (pattern, text, expected) in rows {
            assert_eq!(
                like(Cql, pattern, text),
                expected,
                "{pattern:?} LIKE {text:?}"
            );
        }
    }

    #[test]
    fn bad_patterns() {
        let rows = [
            (
                QueryLanguage::Wql,
                "[abc",
                "'[' at character 1 has no closing ']'",
            ),
            (
                QueryLanguage::Wql,
                "x[z-a]",
                "range 'z-a' at character 3 is backwards",
            ),
            (
                QueryLanguage::Cql,
                "*x",
                "'*' at character 1 repeats nothing",
            ),
            (
                QueryLanguage::Cql,
                "x**",
                "'*' at character 3 repeats nothing",
            ),
            (QueryLanguage::Cql, "x\\", "the pattern ends with '\\'"),
        ];
        for (language, pattern, message) in rows {
            let err = compile(language, pattern).unwrap_err();
            assert!(err.starts_with(message), "{pattern:?}: {err}");
        }
    }
}
