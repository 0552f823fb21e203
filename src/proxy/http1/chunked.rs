//! The chunked transfer coding, decoded by nginx's grammar: hex sizes (a
//! size that would pass 2^63 is refused, not wrapped), extensions after
//! `;`, space or tab, lines ended by CRLF or a bare LF, trailers read and
//! dropped. A decoder over bytes as they arrive, with no I/O of its own.

/// Writes a chunk's size line (`1a\r\n`) into `out`, cleared first: the
/// encoding both the answers to clients and the bodies sent upstream use.
pub fn size_line(len: usize, out: &mut Vec<u8>) {
    out.clear();
    let _ = std::io::Write::write_fmt(out, format_args!("{len:x}\r\n"));
}

/// What the decoder found in the bytes given to it.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// `n` bytes of data start at the front of what is left.
    Data(usize),
    /// A chunk of this size was announced: checked against a body limit
    /// before its data is read.
    Size(u64),
    /// More bytes are needed.
    More,
    /// The last chunk and the trailers have been read.
    End,
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum St {
    #[default]
    Start,
    Size,
    Extension,
    ExtensionAlmostDone,
    Data,
    AfterData,
    AfterDataAlmostDone,
    LastExtension,
    LastExtensionAlmostDone,
    Trailer,
    TrailerAlmostDone,
    TrailerHeader,
    TrailerHeaderAlmostDone,
    Done,
}

/// The decoder's place in a chunked body.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    st: St,
    /// The size being read, then the data left of the chunk.
    size: u64,
    /// Bytes of a size line, extension or trailer so far (bounded).
    line: usize,
}

/// The longest size line, extension or trailer line taken.
const MAX_LINE: usize = 4096;

impl Decoder {
    pub fn done(&self) -> bool {
        self.st == St::Done
    }

    /// Bytes of the current chunk's data not yet read (0 between chunks):
    /// how much a reader may usefully ask for.
    pub fn data_left(&self) -> u64 {
        if self.st == St::Data { self.size } else { 0 }
    }

    /// Decodes from the front of `buf`: returns how many bytes were used
    /// (framing only; data is reported as [`Step::Data`] and left for the
    /// caller to take) and what was found.
    pub fn step(&mut self, buf: &[u8]) -> (usize, Step) {
        let mut i = 0;
        while i < buf.len() {
            if self.st == St::Data {
                if self.size == 0 {
                    self.st = St::AfterData;
                    continue;
                }
                let n = (buf.len() - i).min(usize::try_from(self.size).unwrap_or(usize::MAX));
                self.size -= n as u64;
                return (i, Step::Data(n));
            }
            if self.st == St::Done {
                return (i, Step::End);
            }
            let ch = buf[i];
            i += 1;
            if let Some(step) = self.framing(ch) {
                return (i, step);
            }
        }
        if self.st == St::Done {
            return (i, Step::End);
        }
        (i, Step::More)
    }

    /// One byte of framing (a size line, an extension, the line after a
    /// chunk's data, trailers): what it completes, if anything.
    fn framing(&mut self, ch: u8) -> Option<Step> {
        self.line += 1;
        if self.line > MAX_LINE {
            return Some(Step::Invalid);
        }
        let hex = match ch {
            b'0'..=b'9' => Some(ch - b'0'),
            b'a'..=b'f' => Some(ch - b'a' + 10),
            b'A'..=b'F' => Some(ch - b'A' + 10),
            _ => None,
        };
        match self.st {
            St::Start => match hex {
                Some(d) => {
                    self.size = u64::from(d);
                    self.st = St::Size;
                }
                None => return Some(Step::Invalid),
            },
            St::Size => {
                // As nginx: a size past NGX_MAX_OFF_T_VALUE / 16 is refused
                // at the next byte, whatever it is.
                if self.size > (i64::MAX as u64) / 16 {
                    return Some(Step::Invalid);
                }
                if let Some(d) = hex {
                    self.size = self.size * 16 + u64::from(d);
                    return None;
                }
                let last = self.size == 0;
                self.st = match (ch, last) {
                    (b'\r', false) => St::ExtensionAlmostDone,
                    (b'\n', false) => St::Data,
                    (b';' | b' ' | b'\t', false) => St::Extension,
                    (b'\r', true) => St::LastExtensionAlmostDone,
                    (b'\n', true) => St::Trailer,
                    (b';' | b' ' | b'\t', true) => St::LastExtension,
                    _ => return Some(Step::Invalid),
                };
                if self.st == St::Data {
                    self.line = 0;
                }
                if !last {
                    return Some(Step::Size(self.size));
                }
            }
            St::Extension => match ch {
                b'\r' => self.st = St::ExtensionAlmostDone,
                b'\n' => {
                    self.st = St::Data;
                    self.line = 0;
                }
                _ => {}
            },
            St::ExtensionAlmostDone => {
                if ch != b'\n' {
                    return Some(Step::Invalid);
                }
                self.st = St::Data;
                self.line = 0;
            }
            St::AfterData => match ch {
                b'\r' => self.st = St::AfterDataAlmostDone,
                b'\n' => self.restart(),
                _ => return Some(Step::Invalid),
            },
            St::AfterDataAlmostDone => {
                if ch != b'\n' {
                    return Some(Step::Invalid);
                }
                self.restart();
            }
            St::LastExtension => match ch {
                b'\r' => self.st = St::LastExtensionAlmostDone,
                b'\n' => self.trailer(),
                _ => {}
            },
            St::LastExtensionAlmostDone => {
                if ch != b'\n' {
                    return Some(Step::Invalid);
                }
                self.trailer();
            }
            St::Trailer => match ch {
                b'\r' => self.st = St::TrailerAlmostDone,
                b'\n' => {
                    self.st = St::Done;
                    return Some(Step::End);
                }
                _ => self.st = St::TrailerHeader,
            },
            St::TrailerAlmostDone => {
                if ch != b'\n' {
                    return Some(Step::Invalid);
                }
                self.st = St::Done;
                return Some(Step::End);
            }
            St::TrailerHeader => match ch {
                b'\r' => self.st = St::TrailerHeaderAlmostDone,
                b'\n' => self.trailer(),
                _ => {}
            },
            St::TrailerHeaderAlmostDone => {
                if ch != b'\n' {
                    return Some(Step::Invalid);
                }
                self.trailer();
            }
            St::Data | St::Done => unreachable!("the caller handles data and the end"),
        }
        None
    }

    fn restart(&mut self) {
        self.st = St::Start;
        self.line = 0;
    }

    fn trailer(&mut self) {
        self.st = St::Trailer;
        self.line = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` split at every position: the data, or None if refused.
    fn decode(input: &[u8]) -> Option<Vec<u8>> {
        let whole = run(&[input]);
        for cut in 1..input.len() {
            assert_eq!(
                run(&[&input[..cut], &input[cut..]]),
                whole,
                "cut at {cut} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
        whole
    }

    fn run(pieces: &[&[u8]]) -> Option<Vec<u8>> {
        let mut d = Decoder::default();
        let mut pending: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        for piece in pieces {
            pending.extend_from_slice(piece);
            loop {
                let (used, step) = d.step(&pending);
                pending.drain(..used);
                match step {
                    Step::Data(n) => {
                        out.extend(pending.drain(..n));
                    }
                    Step::Size(_) => {}
                    Step::More => break,
                    Step::End => return Some(out),
                    Step::Invalid => return None,
                }
            }
        }
        None
    }

    #[test]
    fn bodies_nginx_takes() {
        assert_eq!(decode(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").unwrap(), b"hello world");
        assert_eq!(decode(b"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n").unwrap(), b"hello");
        assert_eq!(decode(b"5\nhello\n0\n\n").unwrap(), b"hello");
        assert_eq!(decode(b"A\r\n0123456789\r\n0 ; last\r\n\r\n").unwrap(), b"0123456789");
        assert_eq!(decode(b"0005\r\nhello\r\n0\r\n\r\n").unwrap(), b"hello");
    }

    #[test]
    fn bodies_nginx_refuses() {
        for bad in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"ffffffffffffffff\r\nhello\r\n0\r\n\r\n",
            b"8000000000000000\r\n",
            b"5\rhello\r\n0\r\n\r\n",
            b"\r\n5\r\nhello\r\n0\r\n\r\n",
        ] {
            assert_eq!(decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn sizes_are_told_before_their_data() {
        let mut d = Decoder::default();
        assert_eq!(d.step(b"40000000\r\nhel"), (9, Step::Size(0x4000_0000)));
        // The largest size nginx takes, and the next.
        let mut d = Decoder::default();
        assert_eq!(d.step(b"7ffffffffffffff\r\n").1, Step::Size(0x07ff_ffff_ffff_ffff));
        let mut d = Decoder::default();
        assert_eq!(d.step(b"800000000000000\r\n").1, Step::Invalid);
    }
}
