//! The lexical form of DSP0004 integer literals (decimal, or `0x` hexadecimal, with an
//! optional sign), shared by typed values and by object-path keys, which both read them.

/// Parses an integer literal. `None`: not a literal; `Some(None)`: a
/// literal too large for `i128`.
pub(crate) fn parse_integer(text: &str) -> Option<Option<i128>> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = match rest.get(..2) {
        Some("0x" | "0X") => (16, &rest[2..]),
        _ => (10, rest),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let Ok(magnitude) = u128::from_str_radix(digits, radix) else {
        return Some(None);
    };
    Some(if negative {
        0i128.checked_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).ok()
    })
}
