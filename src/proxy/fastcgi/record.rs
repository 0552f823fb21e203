//! FastCGI records (version 1, one request per connection, id 1), written
//! as nginx writes them: BEGIN_REQUEST for the responder role, the
//! parameters in one PARAMS record, the body in STDIN records of 32 KiB,
//! each padded to 8 bytes.

use bytes::{Buf, BytesMut};

pub(super) const BEGIN_REQUEST: u8 = 1;
pub(super) const END_REQUEST: u8 = 3;
pub(super) const PARAMS: u8 = 4;
pub(super) const STDIN: u8 = 5;
pub(super) const STDOUT: u8 = 6;
pub(super) const STDERR: u8 = 7;

/// nginx's largest PARAMS record: one record, its length in 16 bits.
pub(super) const MAX_PARAMS: usize = 65535;

/// The body goes in records of this size, as nginx's.
pub(super) const STDIN_PART: usize = 32 * 1024;

/// A record's 8-byte header; `len` at most 65535.
pub(super) fn header(out: &mut Vec<u8>, kind: u8, len: usize, padding: usize) {
    out.extend_from_slice(&[1, kind, 0, 1]);
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    out.push(u8::try_from(padding).unwrap_or(0));
    out.push(0);
}

/// Padding that brings `len` to a multiple of 8.
pub(super) fn padding(len: usize) -> usize {
    (8 - len % 8) % 8
}

/// BEGIN_REQUEST for the responder role, the connection closed after it.
pub(super) fn begin(out: &mut Vec<u8>) {
    header(out, BEGIN_REQUEST, 8, 0);
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
}

/// A name-value pair's lengths: one byte up to 127, else four with the top bit set.
fn length(out: &mut Vec<u8>, n: usize) {
    if n > 127 {
        let n = u32::try_from(n).unwrap_or(u32::MAX) | 0x8000_0000;
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(u8::try_from(n).unwrap_or(0));
    }
}

/// One parameter, to be put in a PARAMS record.
pub(super) fn pair(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    length(out, name.len());
    length(out, value.len());
    out.extend_from_slice(name);
    out.extend_from_slice(value);
}

/// A record read from the FastCGI server.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Record {
    pub(super) kind: u8,
    pub(super) content: BytesMut,
}

/// Takes one whole record off the front of `buf`; `None` until one is
/// whole. A version other than 1 is an error, worded as nginx words it.
pub(super) fn take(buf: &mut BytesMut) -> Result<Option<Record>, &'static str> {
    if buf.len() < 8 {
        return Ok(None);
    }
    if buf[0] != 1 {
        return Err("unsupported FastCGI protocol version");
    }
    let kind = buf[1];
    if !(END_REQUEST..=STDERR).contains(&kind) || kind == PARAMS || kind == STDIN {
        return Err("invalid FastCGI record type");
    }
    let len = usize::from(u16::from_be_bytes([buf[4], buf[5]]));
    let pad = usize::from(buf[6]);
    if buf.len() < 8 + len + pad {
        return Ok(None);
    }
    buf.advance(8);
    let content = buf.split_to(len);
    buf.advance(pad);
    Ok(Some(Record { kind, content }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_use_four_bytes_past_127() {
        let mut out = Vec::new();
        pair(&mut out, b"A", &[b'x'; 200]);
        assert_eq!(&out[..5], &[1, 0x80, 0, 0, 200]);
        assert_eq!(out.len(), 5 + 1 + 200);
    }

    #[test]
    fn records_are_taken_whole_with_their_padding() {
        let mut wire = Vec::new();
        header(&mut wire, STDOUT, 3, 5);
        wire.extend_from_slice(b"abc\0\0\0\0\0");
        header(&mut wire, END_REQUEST, 8, 0);
        wire.extend_from_slice(&[0; 8]);
        let mut buf = BytesMut::from(&wire[..10]);
        assert_eq!(take(&mut buf), Ok(None));
        buf.extend_from_slice(&wire[10..]);
        let r = take(&mut buf).unwrap().unwrap();
        assert_eq!((r.kind, &r.content[..]), (STDOUT, &b"abc"[..]));
        assert_eq!(take(&mut buf).unwrap().unwrap().kind, END_REQUEST);
        assert!(buf.is_empty());
        let mut bad = BytesMut::from(&[2u8, 6, 0, 1, 0, 0, 0, 0][..]);
        assert!(take(&mut bad).is_err());
    }
}
