//! How the SQLite store keeps a change's two documents: the job before and the job after,
//! one after the other, compressed together (LZ4). The two differ in a few fields, so the
//! second costs almost nothing: a change takes about the room of one compressed document
//! instead of two whole ones, which is most of what each commit writes.

/// The two documents as one compressed value.
///
/// ```
/// # use cimjob_store::change_docs::{decode, encode};
/// let before = r#"{"name":"backup","situation":"Running"}"#;
/// let after = r#"{"name":"backup","situation":"Completed"}"#;
/// let kept = encode(Some(before), Some(after));
/// assert_eq!(decode(&kept).unwrap(), (Some(before.to_string()), Some(after.to_string())));
/// assert_eq!(decode(&encode(None, Some(after))).unwrap(), (None, Some(after.to_string())));
/// ```
pub fn encode(previous: Option<&str>, current: Option<&str>) -> Vec<u8> {
    let (p, c) = (previous.unwrap_or(""), current.unwrap_or(""));
    let mut plain = Vec::with_capacity(9 + p.len() + c.len());
    plain.push(u8::from(previous.is_some()) | (u8::from(current.is_some()) << 1));
    plain.extend_from_slice(&(p.len() as u64).to_le_bytes());
    plain.extend_from_slice(p.as_bytes());
    plain.extend_from_slice(c.as_bytes());
    lz4_flex::compress_prepend_size(&plain)
}

/// The two documents back; the error says why a stored value does not read.
pub fn decode(kept: &[u8]) -> Result<(Option<String>, Option<String>), String> {
    let plain = lz4_flex::decompress_size_prepended(kept).map_err(|e| e.to_string())?;
    let (&flags, rest) = plain.split_first().ok_or("empty")?;
    let (length, rest) = rest.split_at_checked(8).ok_or("truncated")?;
    let length = u64::from_le_bytes(length.try_into().expect("8 bytes")) as usize;
    let (p, c) = rest.split_at_checked(length).ok_or("truncated")?;
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string());
    let previous = if flags & 1 != 0 { Some(text(p)?) } else { None };
    let current = if flags & 2 != 0 { Some(text(c)?) } else { None };
    Ok((previous, current))
}
