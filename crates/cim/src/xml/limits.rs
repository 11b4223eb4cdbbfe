//! Bounds on what the CIM-XML reader accepts ([`Limits`]).

/// Bounds on a CIM-XML body, checked while reading so that a hostile or
/// broken client cannot make the reader use unbounded memory or time.
///
/// Why these four: the body size bounds everything else; depth bounds
/// recursion (embedded instances are parsed recursively and count towards
/// the same depth); the element count bounds the objects built; attribute
/// length bounds each single allocation made before any element is
/// complete. Embedded objects share the element budget and the depth of
/// the body they are in.
///
/// ```
/// use cim::xml::Limits;
///
/// let strict = Limits { max_body_bytes: 64 * 1024, ..Limits::DEFAULT };
/// assert_eq!(strict.max_depth, 64);
/// assert_eq!(Limits::default(), Limits::DEFAULT);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Largest body, in bytes (default 16 MiB).
    pub max_body_bytes: usize,
    /// Deepest element nesting; the root element is depth 1 (default 64).
    pub max_depth: usize,
    /// Most elements in one body, embedded objects included (default 1,000,000).
    pub max_elements: usize,
    /// Longest attribute value, in bytes as written (default 64 KiB).
    pub max_attribute_len: usize,
    /// Most attributes on one element (default 32; CIM-XML uses at most 8).
    pub max_attributes: usize,
}

impl Limits {
    /// The defaults: 16 MiB, depth 64, 1,000,000 elements, 64 KiB
    /// attributes, 32 attributes per element.
    pub const DEFAULT: Limits = Limits {
        max_body_bytes: 16 * 1024 * 1024,
        max_depth: 64,
        max_elements: 1_000_000,
        max_attribute_len: 64 * 1024,
        max_attributes: 32,
    };
}

impl Default for Limits {
    /// [`Limits::DEFAULT`].
    fn default() -> Limits {
        Limits::DEFAULT
    }
}
