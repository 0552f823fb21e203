//! Bytes carried in a `String` without loss. URIs are bytes to nginx: a
//! decoded `%ff` is the byte 0xFF, sent on as `%FF`, and a raw 0xFF in a
//! request target goes upstream as it came. The proxy keeps URIs in
//! strings (variables, regexes and logs work on text), so each byte that is
//! not part of valid UTF-8 stands for itself as a character of a private
//! range (U+F780 + byte - 0x80), mapped back wherever bytes leave: upstream
//! requests, file names, logs. A valid character that falls in that range
//! is itself carried as its bytes, so the mapping is one to one.

use std::borrow::Cow;

const BASE: u32 = 0xF700;

fn is_carried(c: char) -> bool {
    (0xF780..=0xF7FF).contains(&(c as u32))
}

/// The byte a carried character stands for, if it is one.
#[expect(clippy::cast_possible_truncation, reason = "carried characters are BASE..BASE+256")]
pub fn carried_byte(c: char) -> Option<u8> {
    is_carried(c).then(|| (c as u32 - BASE) as u8)
}

/// Text for bytes: valid UTF-8 as it is, every other byte carried.
pub fn from_bytes(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        // Every carried character's UTF-8 starts with 0xEF: most text has none.
        Ok(s) if !b.contains(&0xEF) || !s.chars().any(is_carried) => Cow::Borrowed(s),
        _ => Cow::Owned(decode(b)),
    }
}

fn decode(mut b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 8);
    let carry = |out: &mut String, bytes: &[u8]| {
        for &x in bytes {
            out.push(char::from_u32(BASE + u32::from(x)).expect("in the private use area"));
        }
    };
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                push_valid(&mut out, s, &carry);
                return out;
            }
            Err(e) => {
                let (good, rest) = b.split_at(e.valid_up_to());
                push_valid(&mut out, std::str::from_utf8(good).unwrap_or_default(), &carry);
                let bad = e.error_len().unwrap_or(rest.len());
                carry(&mut out, &rest[..bad]);
                b = &rest[bad..];
            }
        }
    }
}

fn push_valid(out: &mut String, s: &str, carry: &dyn Fn(&mut String, &[u8])) {
    for c in s.chars() {
        if is_carried(c) {
            let mut buf = [0u8; 4];
            carry(out, c.encode_utf8(&mut buf).as_bytes());
        } else {
            out.push(c);
        }
    }
}

/// The bytes text stands for.
pub fn to_bytes(s: &str) -> Cow<'_, [u8]> {
    // ASCII (nearly every header value, a word at a time) carries nothing;
    // every carried character's UTF-8 starts with 0xEF.
    if s.is_ascii() || !s.as_bytes().contains(&0xEF) || !s.chars().any(is_carried) {
        return Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match carried_byte(c) {
            Some(b) => out.push(b),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_string_comes_back_as_it_was() {
        let samples: [&[u8]; 7] = [
            b"/plain",
            b"/\xff",
            b"/caf\xc3\xa9",
            b"/\xc3",
            b"\xef\x9e\x80 carried char",
            b"\xf4\x90\x80\x80",
            b"",
        ];
        for b in samples {
            assert_eq!(to_bytes(&from_bytes(b)).as_ref(), b, "{b:?}");
        }
        // Every pair of bytes.
        for x in 0..=255u8 {
            for y in 0..=255u8 {
                let b = [b'/', x, y];
                assert_eq!(to_bytes(&from_bytes(&b)).as_ref(), &b);
            }
        }
        assert!(matches!(from_bytes(b"/ok/\xc3\xa9"), Cow::Borrowed(_)), "valid text is lent");
    }
}
