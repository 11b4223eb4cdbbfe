//! CIM object paths ([`ObjectPath`]) in the untyped WBEM URI form of
//! DSP0207, e.g. `//host/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1"`.
//!
//! Paths print in the "standard" form pywbem also writes: an optional
//! `//host`, then `/namespace:`, then the class name and key bindings. The
//! parser also accepts a leading scheme (`http://`, `https://`, ...), which
//! it drops, and the older form without the leading `/`
//! (`root/cimv2:CIM_Foo.Name="x"`).

use std::fmt;
use std::str::FromStr;

/// Why a string is not a WBEM URI. Every variant quotes the input.
///
/// ```
/// use cim::{ObjectPath, PathError};
///
/// let err = ObjectPath::parse("/root/cimv2:CIM_Job.Name=\"x").unwrap_err();
/// assert!(matches!(err, PathError::UnterminatedString { .. }));
/// assert_eq!(
///     err.to_string(),
///     r#"invalid WBEM URI "/root/cimv2:CIM_Job.Name=\"x": the quoted value of key Name has no closing '"'"#,
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The string is empty.
    #[error("invalid WBEM URI {uri:?}: it is empty")]
    Empty {
        /// The rejected string.
        uri: String,
    },
    /// `//host` is empty or not followed by `/`.
    #[error(
        "invalid WBEM URI {uri:?}: {host:?} is not a valid host (expected //host/namespace:Class)"
    )]
    InvalidHost {
        /// The rejected string.
        uri: String,
        /// The host part found.
        host: String,
    },
    /// The namespace has an empty or badly formed segment.
    #[error(
        "invalid WBEM URI {uri:?}: namespace {namespace:?} is not valid (segments of letters, digits, '_' or '-', separated by '/')"
    )]
    InvalidNamespace {
        /// The rejected string.
        uri: String,
        /// The namespace part found.
        namespace: String,
    },
    /// A namespace was given (leading `/`) but no `:` introduces the class.
    #[error("invalid WBEM URI {uri:?}: missing ':' between the namespace and the class name")]
    MissingColon {
        /// The rejected string.
        uri: String,
    },
    /// The class name is missing or not a CIM identifier.
    #[error(
        "invalid WBEM URI {uri:?}: class name {name:?} is not a CIM identifier (a letter or '_', then letters, digits or '_')"
    )]
    InvalidClassName {
        /// The rejected string.
        uri: String,
        /// The class name found.
        name: String,
    },
    /// A key name is missing or not a CIM identifier.
    #[error(
        "invalid WBEM URI {uri:?}: key name {name:?} is not a CIM identifier (a letter or '_', then letters, digits or '_')"
    )]
    InvalidKeyName {
        /// The rejected string.
        uri: String,
        /// The key name found.
        name: String,
    },
    /// A key binding has no `=value`.
    #[error("invalid WBEM URI {uri:?}: key {key} has no '=value'")]
    MissingKeyValue {
        /// The rejected string.
        uri: String,
        /// The key name.
        key: String,
    },
    /// A quoted key value is not closed.
    #[error("invalid WBEM URI {uri:?}: the quoted value of key {key} has no closing '\"'")]
    UnterminatedString {
        /// The rejected string.
        uri: String,
        /// The key name.
        key: String,
    },
    /// A backslash in a quoted value is followed by something other than
    /// `"` or `\`.
    #[error("invalid WBEM URI {uri:?}: in the value of key {key}, '\\{found}' is not an escape (only \\\" and \\\\ are)")]
    InvalidEscape {
        /// The rejected string.
        uri: String,
        /// The key name.
        key: String,
        /// The character after the backslash.
        found: char,
    },
    /// An unquoted key value that is neither an integer nor a boolean.
    #[error(
        "invalid WBEM URI {uri:?}: value {value:?} of key {key} is not an integer, TRUE, FALSE or a double-quoted string"
    )]
    InvalidKeyValue {
        /// The rejected string.
        uri: String,
        /// The key name.
        key: String,
        /// The value text found.
        value: String,
    },
    /// Something other than `,` or the end follows a key value.
    #[error("invalid WBEM URI {uri:?}: unexpected {found:?} after the value of key {key} (expected ',' or the end)")]
    TrailingCharacters {
        /// The rejected string.
        uri: String,
        /// The key name.
        key: String,
        /// What follows.
        found: String,
    },
    /// The same key (ignoring case) is bound twice.
    #[error("invalid WBEM URI {uri:?}: key {key} is bound more than once")]
    DuplicateKey {
        /// The rejected string.
        uri: String,
        /// The key name.
        key: String,
    },
}

/// The value of one key binding.
///
/// Why only four kinds: these are what the untyped WBEM URI form can tell
/// apart (quoted string, integer, `TRUE`/`FALSE`, quoted path). Datetime and
/// char16 keys travel as strings.
///
/// ```
/// use cim::KeyValue;
///
/// assert_eq!(KeyValue::from("CIMJOB:1").to_string(), r#""CIMJOB:1""#);
/// assert_eq!(KeyValue::from(42u32).to_string(), "42");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyValue {
    /// A string key, written double-quoted with `\"` and `\\` escaped.
    String(String),
    /// An integer key of any CIM integer type.
    Integer(i128),
    /// A boolean key, written `TRUE` or `FALSE`.
    Boolean(bool),
    /// A reference key (associations), written as the quoted WBEM URI of
    /// the referenced instance.
    Reference(Box<ObjectPath>),
}

impl KeyValue {
    /// The text of a string key.
    ///
    /// ```
    /// assert_eq!(cim::KeyValue::from("x").as_str(), Some("x"));
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            KeyValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Writes `s` double-quoted, escaping `"` and `\`.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for KeyValue {
    /// Writes the value as it appears after `Key=` in a WBEM URI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyValue::String(s) => write_quoted(f, s),
            KeyValue::Integer(i) => write!(f, "{i}"),
            KeyValue::Boolean(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            KeyValue::Reference(p) => write_quoted(f, &p.to_string()),
        }
    }
}

impl From<&str> for KeyValue {
    /// A string key.
    fn from(s: &str) -> KeyValue {
        KeyValue::String(s.to_owned())
    }
}

impl From<String> for KeyValue {
    /// A string key.
    fn from(s: String) -> KeyValue {
        KeyValue::String(s)
    }
}

impl From<bool> for KeyValue {
    /// A boolean key.
    fn from(b: bool) -> KeyValue {
        KeyValue::Boolean(b)
    }
}

impl From<ObjectPath> for KeyValue {
    /// A reference key.
    fn from(p: ObjectPath) -> KeyValue {
        KeyValue::Reference(Box::new(p))
    }
}

macro_rules! key_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for KeyValue {
            /// An integer key.
            fn from(v: $t) -> KeyValue {
                KeyValue::Integer(v.into())
            }
        }
    )*};
}

key_from_int!(u8, i8, u16, i16, u32, i32, u64, i64, i128);

/// The path of a CIM instance or class: optional host and namespace, the
/// class name, and the key bindings that identify the instance.
///
/// Why public fields: a path is plain data; builders and the parser are
/// conveniences. Key names compare case-insensitively ([`ObjectPath::key`]);
/// key order is kept as given and matters for equality.
///
/// `ObjectPath::parse(&p.to_string()) == Ok(p)` holds for every path with a
/// non-empty host (if any), a valid namespace, valid identifiers for the
/// class and key names, and distinct key names, with one exception inherent
/// in the untyped URI form: a string key whose text is itself a WBEM URI of
/// an instance (starting with `/`, with keys) reads back as a reference.
///
/// ```
/// use cim::{KeyValue, ObjectPath};
///
/// let p = ObjectPath::new(Some("root/cimv2"), "CIMJOB_ConcreteJob")
///     .with_key("InstanceID", KeyValue::from("CIMJOB:1"));
/// assert_eq!(p.to_string(), r#"/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#);
/// assert_eq!(ObjectPath::parse(&p.to_string())?, p);
/// assert_eq!(p.key("instanceid"), Some(&KeyValue::from("CIMJOB:1")));
/// # Ok::<(), cim::PathError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectPath {
    /// The WBEM server, e.g. `"server.example.com:5989"`; `None` for a
    /// local path.
    pub host: Option<String>,
    /// The namespace without leading or trailing `/`, e.g. `"root/cimv2"`.
    pub namespace: Option<String>,
    /// The class name, e.g. `"CIMJOB_ConcreteJob"`.
    pub class_name: String,
    /// The key bindings, in order. Empty for a class path or a singleton.
    pub keys: Vec<(String, KeyValue)>,
}

impl ObjectPath {
    /// A local path (no host, no keys yet) to `class_name` in `namespace`.
    /// Leading and trailing `/` of the namespace are dropped, and an empty
    /// namespace is the same as none.
    ///
    /// ```
    /// let p = cim::ObjectPath::new(Some("/root/cimv2/"), "CIM_Job");
    /// assert_eq!(p.namespace.as_deref(), Some("root/cimv2"));
    /// ```
    pub fn new(namespace: Option<&str>, class_name: &str) -> Self {
        let namespace = namespace
            .map(|ns| ns.trim_matches('/'))
            .filter(|ns| !ns.is_empty())
            .map(str::to_owned);
        ObjectPath {
            host: None,
            namespace,
            class_name: class_name.to_owned(),
            keys: Vec::new(),
        }
    }

    /// Returns the path with `host` set.
    ///
    /// ```
    /// let p = cim::ObjectPath::new(Some("root/cimv2"), "CIM_Job").with_host("srv:5989");
    /// assert_eq!(p.to_string(), "//srv:5989/root/cimv2:CIM_Job");
    /// ```
    pub fn with_host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// Returns the path with key `name` bound to `v`. A key of the same
    /// name (ignoring case) is replaced in place; otherwise the key is
    /// appended.
    ///
    /// ```
    /// use cim::ObjectPath;
    ///
    /// let p = ObjectPath::new(None, "CIM_Job").with_key("Id", 1u32.into()).with_key("ID", 2u32.into());
    /// assert_eq!(p.keys.len(), 1);
    /// assert_eq!(p.to_string(), "/:CIM_Job.ID=2");
    /// ```
    pub fn with_key(mut self, name: &str, v: KeyValue) -> Self {
        match self
            .keys
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(slot) => *slot = (name.to_owned(), v),
            None => self.keys.push((name.to_owned(), v)),
        }
        self
    }

    /// The value bound to key `name`, compared ignoring ASCII case as CIM
    /// names are.
    ///
    /// ```
    /// use cim::{KeyValue, ObjectPath};
    ///
    /// let p = ObjectPath::new(None, "CIM_Job").with_key("InstanceID", "a".into());
    /// assert_eq!(p.key("INSTANCEID"), Some(&KeyValue::from("a")));
    /// assert_eq!(p.key("Name"), None);
    /// ```
    pub fn key(&self, name: &str) -> Option<&KeyValue> {
        self.keys
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Parses an untyped WBEM URI (DSP0207).
    ///
    /// Accepted shapes: `[scheme:]//host/namespace:Class[.keys]`,
    /// `/namespace:Class[.keys]`, `/:Class[.keys]`,
    /// `namespace:Class[.keys]` and `Class[.keys]`. Keys are
    /// `Name=value` separated by `,`; a value is a double-quoted string
    /// (`\"` and `\\` escaped), an integer (decimal or `0x` hex), or
    /// `TRUE`/`FALSE` (any case). A quoted value that is itself a WBEM URI
    /// starting with `/` and having keys is read as a reference.
    ///
    /// ```
    /// use cim::{KeyValue, ObjectPath};
    ///
    /// let p = ObjectPath::parse(r#"https://srv:5989/root/cimv2:CIM_Foo.Name="a\"b",Id=7,On=true"#)?;
    /// assert_eq!(p.host.as_deref(), Some("srv:5989"));
    /// assert_eq!(p.key("name"), Some(&KeyValue::from("a\"b")));
    /// assert_eq!(p.key("Id"), Some(&KeyValue::Integer(7)));
    /// assert_eq!(p.key("On"), Some(&KeyValue::Boolean(true)));
    /// # Ok::<(), cim::PathError>(())
    /// ```
    pub fn parse(uri: &str) -> Result<ObjectPath, PathError> {
        Parser { uri }.parse()
    }
}

/// Whether `s` is a CIM identifier: a letter or `_`, then letters, digits
/// or `_` (letters may be non-ASCII, as DSP0004 allows).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn is_namespace(ns: &str) -> bool {
    ns.split('/').all(|seg| {
        !seg.is_empty()
            && seg
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    })
}

struct Parser<'a> {
    uri: &'a str,
}

impl Parser<'_> {
    fn uri(&self) -> String {
        self.uri.to_owned()
    }

    fn parse(&self) -> Result<ObjectPath, PathError> {
        let mut rest = self.uri;
        if rest.is_empty() {
            return Err(PathError::Empty { uri: self.uri() });
        }

        // Optional scheme, only meaningful before "//".
        if let Some(idx) = rest.find("://") {
            let scheme = &rest[..idx];
            let mut chars = scheme.chars();
            if matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            {
                rest = &rest[idx + 1..];
            }
        }

        let mut host = None;
        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find('/');
            let h = &after[..end.unwrap_or(after.len())];
            if end.is_none() || h.is_empty() {
                return Err(PathError::InvalidHost {
                    uri: self.uri(),
                    host: h.to_owned(),
                });
            }
            host = Some(h.to_owned());
            rest = &after[h.len()..];
        }

        // The namespace ends at the first ':' that precedes any '.', '=' or
        // '"' (key values may contain ':').
        let model_start = rest.find(['.', '=', '"']).unwrap_or(rest.len());
        let colon = rest[..model_start].find(':');
        let (namespace, model) = match colon {
            Some(c) => {
                let ns = rest[..c].strip_prefix('/').unwrap_or(&rest[..c]);
                let ns = ns.trim_end_matches('/');
                if !ns.is_empty() && !is_namespace(ns) {
                    return Err(PathError::InvalidNamespace {
                        uri: self.uri(),
                        namespace: ns.to_owned(),
                    });
                }
                ((!ns.is_empty()).then(|| ns.to_owned()), &rest[c + 1..])
            }
            None if rest.starts_with('/') || host.is_some() => {
                return Err(PathError::MissingColon { uri: self.uri() });
            }
            None => (None, rest),
        };

        let (class_name, bindings) = match model.find('.') {
            Some(dot) => (&model[..dot], Some(&model[dot + 1..])),
            None => (model, None),
        };
        if !is_identifier(class_name) {
            return Err(PathError::InvalidClassName {
                uri: self.uri(),
                name: class_name.to_owned(),
            });
        }

        let mut path = ObjectPath {
            host,
            namespace,
            class_name: class_name.to_owned(),
            keys: Vec::new(),
        };
        if let Some(bindings) = bindings {
            self.parse_bindings(bindings, &mut path.keys)?;
        }
        Ok(path)
    }

    fn parse_bindings(
        &self,
        mut s: &str,
        keys: &mut Vec<(String, KeyValue)>,
    ) -> Result<(), PathError> {
        loop {
            let eq = s.find('=');
            let name_end = eq.unwrap_or(s.len()).min(s.find(',').unwrap_or(s.len()));
            let name = &s[..name_end];
            if !is_identifier(name) {
                return Err(PathError::InvalidKeyName {
                    uri: self.uri(),
                    name: name.to_owned(),
                });
            }
            let Some(eq) = eq.filter(|&e| e == name_end) else {
                return Err(PathError::MissingKeyValue {
                    uri: self.uri(),
                    key: name.to_owned(),
                });
            };
            if keys.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
                return Err(PathError::DuplicateKey {
                    uri: self.uri(),
                    key: name.to_owned(),
                });
            }
            let (value, after) = self.parse_value(name, &s[eq + 1..])?;
            keys.push((name.to_owned(), value));
            if after.is_empty() {
                return Ok(());
            }
            match after.strip_prefix(',') {
                Some(next) => s = next,
                None => {
                    return Err(PathError::TrailingCharacters {
                        uri: self.uri(),
                        key: name.to_owned(),
                        found: after.to_owned(),
                    })
                }
            }
        }
    }

    /// Parses one key value at the start of `s`; returns it and the rest.
    fn parse_value<'s>(&self, key: &str, s: &'s str) -> Result<(KeyValue, &'s str), PathError> {
        if let Some(body) = s.strip_prefix('"') {
            let mut text = String::new();
            let mut chars = body.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        let rest = &body[i + 1..];
                        return Ok((quoted_value(text), rest));
                    }
                    '\\' => match chars.next() {
                        Some((_, e @ ('"' | '\\'))) => text.push(e),
                        Some((_, found)) => {
                            return Err(PathError::InvalidEscape {
                                uri: self.uri(),
                                key: key.to_owned(),
                                found,
                            })
                        }
                        None => break,
                    },
                    c => text.push(c),
                }
            }
            return Err(PathError::UnterminatedString {
                uri: self.uri(),
                key: key.to_owned(),
            });
        }
        let end = s.find(',').unwrap_or(s.len());
        let token = &s[..end];
        if token.is_empty() {
            return Err(PathError::MissingKeyValue {
                uri: self.uri(),
                key: key.to_owned(),
            });
        }
        let value = if token.eq_ignore_ascii_case("true") {
            KeyValue::Boolean(true)
        } else if token.eq_ignore_ascii_case("false") {
            KeyValue::Boolean(false)
        } else if let Some(i) = crate::integer::parse_integer(token).flatten() {
            KeyValue::Integer(i)
        } else {
            return Err(PathError::InvalidKeyValue {
                uri: self.uri(),
                key: key.to_owned(),
                value: token.to_owned(),
            });
        };
        Ok((value, &s[end..]))
    }
}

/// A quoted key value is a reference if it is an instance path starting
/// with `/`; otherwise a string.
fn quoted_value(text: String) -> KeyValue {
    if text.starts_with('/') {
        if let Ok(p) = ObjectPath::parse(&text) {
            if !p.keys.is_empty() {
                return KeyValue::Reference(Box::new(p));
            }
        }
    }
    KeyValue::String(text)
}

impl fmt::Display for ObjectPath {
    /// Writes the standard untyped WBEM URI: `//host` if any, then
    /// `/namespace:` (just `/:` without a namespace), the class name and
    /// `.Key=value,...` if there are keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(host) = &self.host {
            write!(f, "//{host}")?;
        }
        f.write_str("/")?;
        if let Some(ns) = &self.namespace {
            f.write_str(ns.trim_matches('/'))?;
        }
        write!(f, ":{}", self.class_name)?;
        for (i, (name, value)) in self.keys.iter().enumerate() {
            f.write_str(if i == 0 { "." } else { "," })?;
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

impl FromStr for ObjectPath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<ObjectPath, PathError> {
        ObjectPath::parse(s)
    }
}
