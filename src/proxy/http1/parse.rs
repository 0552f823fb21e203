//! The request head, read as nginx 1.22 reads it: the request line and the
//! header lines by the same grammar as its parser (what it refuses, with
//! the status it answers, and what it lets through: several spaces between
//! the parts, a bare LF, `HTTP/1.2`, control bytes in a header value).
//!
//! The parser is incremental: [`HeadParser::advance`] takes the bytes read
//! so far, goes on from where it stopped and records where each part lies,
//! so a head that arrives a byte at a time costs one pass.

use std::ops::Range;

/// Why a head is refused: the status nginx answers, and its words for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub why: &'static str,
    /// The request line was HTTP/0.9's: the answer has no head.
    pub http09: bool,
}

impl Refusal {
    pub const fn new(status: u16, why: &'static str) -> Refusal {
        Refusal { status, why, http09: false }
    }
}

const INVALID_REQUEST: Refusal = Refusal::new(400, "client sent invalid request");
const INVALID_METHOD: Refusal = Refusal::new(400, "client sent invalid method");
const INVALID_VERSION: Refusal = Refusal::new(505, "client sent invalid version");
const INVALID_HEADER: Refusal = Refusal::new(400, "client sent invalid header line");
/// nginx's 494, answered as 400 "Request Header Or Cookie Too Large".
pub(super) const HEADER_TOO_LARGE: Refusal = Refusal::new(494, "client sent too long header line");
pub(super) const URI_TOO_LARGE: Refusal = Refusal::new(414, "client sent too long URI");

/// nginx's `large_client_header_buffers 4 8k`: the request line and each
/// header line must fit in 8 KiB, the head in four such buffers.
pub const MAX_LINE: usize = 8 * 1024;
pub const MAX_HEAD: usize = 32 * 1024;

/// Bytes nginx reads as ordinary in a URI: everything above space but
/// `#`, `%`, `+`, `.`, `/`, `?` and DEL, and every byte from 0x80.
const USUAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b: u8 = 0x21;
    loop {
        t[b as usize] = !matches!(b, b'#' | b'%' | b'+' | b'.' | b'/' | b'?' | 0x7f);
        if b == u8::MAX {
            break;
        }
        b += 1;
    }
    t
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Start,
    Method,
    SpacesBeforeUri,
    Schema,
    SchemaSlash,
    SchemaSlashSlash,
    HostStart,
    Host,
    HostIpLiteral,
    /// Right after an IP literal's `]`.
    HostEnd,
    Port,
    AfterSlashInUri,
    CheckUri,
    Uri,
    Http09,
    H,
    Ht,
    Htt,
    Http,
    FirstMajor,
    Major,
    FirstMinor,
    Minor,
    SpacesAfterDigit,
    LineAlmostDone,
    // Header lines.
    HStart,
    HName,
    HSpaceBeforeValue,
    HValue,
    HSpaceAfterValue,
    HAlmostDone,
    HHeadAlmostDone,
}

/// One header line as written: where its name and value lie in the head.
/// Lines whose name nginx calls invalid (`_`, `@`, ...) are not kept: it
/// ignores them (`ignore_invalid_headers on`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader {
    pub name: Range<usize>,
    pub value: Range<usize>,
}

/// What the head holds, as positions in the bytes it was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The length of the head, its final empty line included (and the empty
    /// lines nginx skips before a request).
    pub len: usize,
    /// Where the request line starts (after skipped empty lines).
    pub start: usize,
    pub method: Range<usize>,
    /// The request target as sent, from its path on (nginx's unparsed URI);
    /// for an absolute-form target, the part after the authority.
    pub uri: Range<usize>,
    /// An absolute-form target's host, without its port.
    pub host: Option<Range<usize>>,
    /// The absolute-form target had no path (`http://host?a`): the URI is `/`.
    pub empty_path: bool,
    /// `HTTP/1.1` as written, empty for HTTP/0.9.
    pub protocol: Range<usize>,
    pub major: u16,
    pub minor: u16,
    pub headers: Vec<RawHeader>,
}

impl Parsed {
    /// nginx's `http_version`: 1001 for HTTP/1.1, 9 for HTTP/0.9.
    pub fn version(&self) -> u32 {
        u32::from(self.major) * 1000 + u32::from(self.minor)
    }
}

/// Reads one request head across as many reads as it takes.
#[derive(Debug)]
pub struct HeadParser {
    st: St,
    /// The next byte to look at.
    at: usize,
    /// Where the line being read began (for the line length limits).
    line: usize,
    out: Parsed,
    name: Range<usize>,
    value: Range<usize>,
    /// The current header line's name has a byte nginx does not take.
    invalid: bool,
    /// The request line held `#`, or `%`, or `.` / `//` segments: nginx
    /// decodes such a URI, and may refuse it then.
    pub complex: bool,
    args_start: Option<usize>,
    method_is_get: bool,
    /// The method's bytes so far are a prefix of `GET`.
    get_so_far: bool,
    http09: bool,
}

impl Default for HeadParser {
    fn default() -> Self {
        HeadParser {
            st: St::Start,
            at: 0,
            line: 0,
            out: Parsed::default(),
            name: 0..0,
            value: 0..0,
            invalid: false,
            complex: false,
            args_start: None,
            method_is_get: false,
            get_so_far: true,
            http09: false,
        }
    }
}

impl HeadParser {
    /// A parser that lists the head's headers in `headers` (emptied first):
    /// a connection hands the list of its last head back, so a steady
    /// stream of requests does not allocate one a request.
    pub fn with_headers(mut headers: Vec<RawHeader>) -> HeadParser {
        headers.clear();
        HeadParser { out: Parsed { headers, ..Parsed::default() }, ..HeadParser::default() }
    }

    /// Whether no byte of a request has been seen (empty lines aside).
    pub fn idle(&self) -> bool {
        self.st == St::Start
    }

    /// Parses on through `buf` (all the bytes read so far, the same ones as
    /// before plus more). `Ok(None)` asks for more bytes.
    pub fn advance(&mut self, buf: &[u8]) -> Result<Option<Parsed>, Refusal> {
        while self.at < buf.len() {
            if self.skip_usual(buf) {
                continue;
            }
            self.skip_run(buf);
            let Some(&ch) = buf.get(self.at) else { break };
            let p = self.at;
            self.at += 1;
            if self.line_state() {
                // Empty lines before a request count too: they are no free ride.
                if p - self.out.start >= MAX_LINE || (self.st == St::Start && p >= MAX_LINE) {
                    return Err(URI_TOO_LARGE);
                }
                if matches!(self.st, St::Start | St::Method)
                    && ch != b' '
                    && ch != b'\r'
                    && ch != b'\n'
                {
                    let at = p - if self.st == St::Start { p } else { self.out.method.start };
                    self.get_so_far &= at < 3 && b"GET"[at] == ch;
                }
                if self.request_line(ch, p)? {
                    if self.http09 {
                        self.out.len = self.at;
                        return Ok(Some(std::mem::take(&mut self.out)));
                    }
                    self.st = St::HStart;
                    self.line = self.at;
                }
            } else {
                if p - self.line >= MAX_LINE {
                    return Err(HEADER_TOO_LARGE);
                }
                if p >= MAX_HEAD + self.out.start {
                    return Err(HEADER_TOO_LARGE);
                }
                if self.header_line(ch, p)? {
                    self.out.len = self.at;
                    return Ok(Some(std::mem::take(&mut self.out)));
                }
            }
        }
        Ok(None)
    }

    /// Steps over the request line's usual words whole, `GET ` and
    /// `HTTP/1.1` with its line end, where they lie in the buffer already
    /// and within the line limit: the byte-by-byte states would end where
    /// this puts them, at some 40 instructions a byte. True when it stepped.
    fn skip_usual(&mut self, buf: &[u8]) -> bool {
        let rest = &buf[self.at..];
        match self.st {
            St::Start if self.at + 4 < MAX_LINE && rest.starts_with(b"GET ") => {
                self.out.start = self.at;
                self.out.method = self.at..self.at + 3;
                self.method_is_get = true;
                self.at += 4;
                self.st = St::SpacesBeforeUri;
                true
            }
            St::Http09
                if self.at + 10 <= self.out.start + MAX_LINE
                    && rest.len() >= 10
                    && rest.starts_with(b"HTTP/1.")
                    && matches!(rest[7], b'0' | b'1')
                    && rest[8..10] == *b"\r\n" =>
            {
                let o = &mut self.out;
                o.protocol = self.at..self.at + 8;
                (o.major, o.minor) = (1, u16::from(rest[7] - b'0'));
                self.at += 10;
                self.st = St::HStart;
                self.line = self.at;
                true
            }
            St::HStart => self.skip_header_line(buf),
            _ => false,
        }
    }

    /// Takes a whole usual header line at once, `Name: value` and CRLF,
    /// where all of it is in the buffer and within the limits: byte by byte
    /// (some 60 instructions a step, six steps a line) the states would
    /// keep the same name and value and come back to the line's start.
    /// Anything else (an unusual name, a bare LF or NUL, a line cut by the
    /// read) is left to them.
    fn skip_header_line(&mut self, buf: &[u8]) -> bool {
        let from = self.at;
        // Checked at a line's first byte against the line before, as byte by byte.
        if from - self.line >= MAX_LINE {
            return false;
        }
        let rest = &buf[from..];
        let name = rest.iter().position(|&c| !name_byte(c)).unwrap_or(rest.len());
        if name == 0 || rest.get(name) != Some(&b':') {
            return false;
        }
        let mut v = name + 1;
        while rest.get(v) == Some(&b' ') {
            v += 1;
        }
        let Some(n) =
            rest.get(v..).and_then(|r| r.iter().position(|&c| matches!(c, b'\r' | b'\n' | 0)))
        else {
            return false;
        };
        let cr = v + n;
        if rest[cr] != b'\r' || rest.get(cr + 1) != Some(&b'\n') {
            return false;
        }
        let lf = from + cr + 1;
        if lf - from >= MAX_LINE || lf >= MAX_HEAD + self.out.start {
            return false;
        }
        // Spaces before the line end are not the value's, as in HSpaceAfterValue.
        let end = v + rest[v..cr].iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
        self.line = from;
        self.invalid = false;
        self.name = from..from + name;
        self.value = from + v..from + end;
        self.keep();
        self.at = lf + 1;
        true
    }

    /// Steps over a run of bytes that move nothing but the end of the token
    /// they are in (most of a header value, a name, a plain path), up to
    /// the limits, so the state machine sees only the bytes that matter.
    /// The same outcome as byte by byte, however the reads split the head.
    fn skip_run(&mut self, buf: &[u8]) {
        let from = self.at;
        let (end, plain): (usize, fn(u8) -> bool) = match self.st {
            St::HValue => (self.header_end(buf), |c| !matches!(c, b' ' | b'\r' | b'\n' | 0)),
            St::HName => (self.header_end(buf), name_byte),
            St::CheckUri | St::Uri => {
                (buf.len().min(self.out.start + MAX_LINE), |c| USUAL[c as usize])
            }
            _ => return,
        };
        let Some(run) = buf.get(from..end) else { return };
        let n = run.iter().position(|&c| !plain(c)).unwrap_or(run.len());
        self.at += n;
        if n > 0 && self.st == St::HValue {
            self.value.end = self.at;
        }
    }

    /// Where a header line's bytes stop being within the limits.
    fn header_end(&self, buf: &[u8]) -> usize {
        buf.len().min(self.line + MAX_LINE).min(MAX_HEAD + self.out.start)
    }

    fn line_state(&self) -> bool {
        !matches!(
            self.st,
            St::HStart
                | St::HName
                | St::HSpaceBeforeValue
                | St::HValue
                | St::HSpaceAfterValue
                | St::HAlmostDone
                | St::HHeadAlmostDone
        )
    }

    /// One byte of the request line; true when the line has ended.
    fn request_line(&mut self, ch: u8, p: usize) -> Result<bool, Refusal> {
        let o = &mut self.out;
        match self.st {
            St::Start => {
                if ch == b'\r' || ch == b'\n' {
                    return Ok(false);
                }
                o.start = p;
                if !(ch.is_ascii_uppercase() || ch == b'_' || ch == b'-') {
                    return Err(INVALID_METHOD);
                }
                o.method.start = p;
                self.st = St::Method;
            }
            St::Method => {
                if ch == b' ' {
                    o.method.end = p;
                    self.method_is_get = p - o.method.start == 3 && self.get_so_far;
                    self.st = St::SpacesBeforeUri;
                } else if !(ch.is_ascii_uppercase() || ch == b'_' || ch == b'-') {
                    return Err(INVALID_METHOD);
                }
            }
            St::SpacesBeforeUri
            | St::Schema
            | St::SchemaSlash
            | St::SchemaSlashSlash
            | St::HostStart
            | St::Host
            | St::HostIpLiteral
            | St::HostEnd
            | St::Port => return self.authority(ch, p),
            St::AfterSlashInUri | St::CheckUri | St::Uri => return self.uri_byte(ch, p),
            St::Http09
            | St::H
            | St::Ht
            | St::Htt
            | St::Http
            | St::FirstMajor
            | St::Major
            | St::FirstMinor
            | St::Minor
            | St::SpacesAfterDigit
            | St::LineAlmostDone => return self.version(ch, p),
            _ => unreachable!("header states are not the request line's"),
        }
        Ok(false)
    }

    /// The start of the target: an absolute form's scheme and host, or the first `/`.
    #[inline]
    fn authority(&mut self, ch: u8, p: usize) -> Result<bool, Refusal> {
        let o = &mut self.out;
        match self.st {
            St::SpacesBeforeUri => match ch {
                b'/' => {
                    o.uri.start = p;
                    self.st = St::AfterSlashInUri;
                }
                c if c.is_ascii_alphabetic() => self.st = St::Schema,
                b' ' => {}
                _ => return Err(INVALID_REQUEST),
            },
            St::Schema => match ch {
                c if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.') => {}
                b':' => self.st = St::SchemaSlash,
                _ => return Err(INVALID_REQUEST),
            },
            St::SchemaSlash | St::SchemaSlashSlash => {
                if ch != b'/' {
                    return Err(INVALID_REQUEST);
                }
                self.st =
                    if self.st == St::SchemaSlash { St::SchemaSlashSlash } else { St::HostStart };
            }
            St::HostStart | St::Host => {
                if self.st == St::HostStart {
                    o.host = Some(p..p);
                    if ch == b'[' {
                        self.st = St::HostIpLiteral;
                        return Ok(false);
                    }
                    self.st = St::Host;
                }
                if ch.is_ascii_alphanumeric() || ch == b'.' || ch == b'-' {
                    return Ok(false);
                }
                return self.host_end(ch, p);
            }
            St::HostIpLiteral => match ch {
                c if c.is_ascii_alphanumeric() => {}
                b':' | b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')'
                | b'*' | b'+' | b',' | b';' | b'=' => {}
                b']' => {
                    if let Some(h) = &mut o.host {
                        h.end = p + 1;
                    }
                    self.st = St::HostEnd;
                }
                _ => return Err(INVALID_REQUEST),
            },
            St::HostEnd => return self.after_host(ch, p),
            St::Port => match ch {
                c if c.is_ascii_digit() => {}
                b':' => return Err(INVALID_REQUEST),
                _ => return self.after_host(ch, p),
            },
            _ => unreachable!("only the target's start states come here"),
        }
        Ok(false)
    }

    /// The protocol version after the target, up to the end of the line.
    #[inline]
    fn version(&mut self, ch: u8, p: usize) -> Result<bool, Refusal> {
        let o = &mut self.out;
        match self.st {
            St::Http09 => match ch {
                b' ' => {}
                b'\r' => {
                    o.minor = 9;
                    self.st = St::LineAlmostDone;
                }
                b'\n' => {
                    o.minor = 9;
                    return self.line_done();
                }
                b'H' => {
                    o.protocol.start = p;
                    self.st = St::H;
                }
                _ => return Err(INVALID_REQUEST),
            },
            St::H | St::Ht | St::Htt | St::Http => {
                let (want, next) = match self.st {
                    St::H => (b'T', St::Ht),
                    St::Ht => (b'T', St::Htt),
                    St::Htt => (b'P', St::Http),
                    _ => (b'/', St::FirstMajor),
                };
                if ch != want {
                    return Err(INVALID_REQUEST);
                }
                self.st = next;
            }
            St::FirstMajor => {
                if !(b'1'..=b'9').contains(&ch) {
                    return Err(INVALID_REQUEST);
                }
                o.major = u16::from(ch - b'0');
                if o.major > 1 {
                    return Err(INVALID_VERSION);
                }
                self.st = St::Major;
            }
            St::Major => {
                if ch == b'.' {
                    self.st = St::FirstMinor;
                } else if ch.is_ascii_digit() {
                    o.major = o.major * 10 + u16::from(ch - b'0');
                    if o.major > 1 {
                        return Err(INVALID_VERSION);
                    }
                } else {
                    return Err(INVALID_REQUEST);
                }
            }
            St::FirstMinor => {
                if !ch.is_ascii_digit() {
                    return Err(INVALID_REQUEST);
                }
                o.minor = u16::from(ch - b'0');
                self.st = St::Minor;
            }
            St::Minor => match ch {
                b'\r' => {
                    o.protocol.end = p;
                    self.st = St::LineAlmostDone;
                }
                b'\n' => {
                    o.protocol.end = p;
                    return self.line_done();
                }
                b' ' => {
                    o.protocol.end = p;
                    self.st = St::SpacesAfterDigit;
                }
                c if c.is_ascii_digit() => {
                    if o.minor > 99 {
                        return Err(INVALID_REQUEST);
                    }
                    o.minor = o.minor * 10 + u16::from(c - b'0');
                }
                _ => return Err(INVALID_REQUEST),
            },
            St::SpacesAfterDigit => match ch {
                b' ' => {}
                b'\r' => self.st = St::LineAlmostDone,
                b'\n' => return self.line_done(),
                _ => return Err(INVALID_REQUEST),
            },
            St::LineAlmostDone => {
                if ch != b'\n' {
                    return Err(INVALID_REQUEST);
                }
                return self.line_done();
            }
            _ => unreachable!("only the version's states come here"),
        }
        Ok(false)
    }

    /// A host name ends at the first byte a name does not have.
    fn host_end(&mut self, ch: u8, p: usize) -> Result<bool, Refusal> {
        if let Some(h) = &mut self.out.host {
            h.end = p;
        }
        self.after_host(ch, p)
    }

    /// After a host or its port: the path, the query, or the end of the
    /// target; after a host, a port may come.
    fn after_host(&mut self, ch: u8, p: usize) -> Result<bool, Refusal> {
        let o = &mut self.out;
        match ch {
            b':' => self.st = St::Port,
            b'/' => {
                o.uri.start = p;
                self.st = St::AfterSlashInUri;
            }
            b'?' => {
                o.uri.start = p;
                o.empty_path = true;
                self.args_start = Some(p + 1);
                self.st = St::Uri;
            }
            b' ' => {
                o.uri = p..p;
                o.empty_path = true;
                self.st = St::Http09;
            }
            _ => return Err(INVALID_REQUEST),
        }
        Ok(false)
    }

    fn uri_byte(&mut self, ch: u8, p: usize) -> Result<bool, Refusal> {
        let o = &mut self.out;
        let end = |o: &mut Parsed| o.uri.end = p;
        match self.st {
            St::AfterSlashInUri | St::CheckUri if USUAL[ch as usize] => self.st = St::CheckUri,
            St::Uri if USUAL[ch as usize] => {}
            _ => match ch {
                b' ' => {
                    end(o);
                    self.st = St::Http09;
                }
                b'\r' => {
                    end(o);
                    o.minor = 9;
                    self.st = St::LineAlmostDone;
                }
                b'\n' => {
                    end(o);
                    o.minor = 9;
                    return self.line_done();
                }
                b'#' => {
                    self.complex = true;
                    self.st = St::Uri;
                }
                _ if self.st == St::Uri => {
                    if ch < 0x20 || ch == 0x7f {
                        return Err(INVALID_REQUEST);
                    }
                }
                b'.' if self.st == St::CheckUri => {}
                b'.' | b'/' => {
                    // In AfterSlashInUri: `/.` or `//` needs the full parse.
                    if self.st == St::AfterSlashInUri {
                        self.complex = true;
                        self.st = St::Uri;
                    } else {
                        self.st = St::AfterSlashInUri;
                    }
                }
                b'%' => {
                    self.complex = true;
                    self.st = St::Uri;
                }
                b'?' => {
                    self.args_start = Some(p + 1);
                    self.st = St::Uri;
                }
                b'+' => {}
                _ => {
                    if ch < 0x20 || ch == 0x7f {
                        return Err(INVALID_REQUEST);
                    }
                    self.st = St::CheckUri;
                }
            },
        }
        Ok(false)
    }

    /// The request line has ended. HTTP/0.9 knows only GET and has no
    /// headers: its head ends here, and what follows is not read.
    fn line_done(&mut self) -> Result<bool, Refusal> {
        if self.out.version() == 9 {
            self.http09 = true;
            if self.method_is_get {
                return Ok(true);
            }
            return Err(Refusal {
                status: 400,
                why: "client sent invalid method in HTTP/0.9 request",
                http09: true,
            });
        }
        Ok(true)
    }

    /// One byte of the header lines; true when the head has ended.
    fn header_line(&mut self, ch: u8, p: usize) -> Result<bool, Refusal> {
        match self.st {
            St::HStart => {
                self.line = p;
                self.invalid = false;
                match ch {
                    b'\r' => self.st = St::HHeadAlmostDone,
                    b'\n' => return Ok(true),
                    c if name_byte(c) => {
                        self.name = p..p;
                        self.st = St::HName;
                    }
                    b'_' => {
                        self.name = p..p;
                        self.invalid = true;
                        self.st = St::HName;
                    }
                    c if c <= 0x20 || c == 0x7f || c == b':' => return Err(INVALID_HEADER),
                    _ => {
                        self.name = p..p;
                        self.invalid = true;
                        self.st = St::HName;
                    }
                }
            }
            St::HName => match ch {
                c if name_byte(c) => {}
                b':' => {
                    self.name.end = p;
                    self.st = St::HSpaceBeforeValue;
                }
                b'\r' => {
                    self.name.end = p;
                    self.value = p..p;
                    self.st = St::HAlmostDone;
                }
                b'\n' => {
                    self.name.end = p;
                    self.value = p..p;
                    self.keep();
                    self.st = St::HStart;
                }
                c if c <= 0x20 || c == 0x7f => return Err(INVALID_HEADER),
                // `_` too: nginx ignores such names (underscores_in_headers off).
                _ => self.invalid = true,
            },
            St::HSpaceBeforeValue => match ch {
                b' ' => {}
                b'\r' => {
                    self.value = p..p;
                    self.st = St::HAlmostDone;
                }
                b'\n' => {
                    self.value = p..p;
                    self.keep();
                    self.st = St::HStart;
                }
                0 => return Err(INVALID_HEADER),
                _ => {
                    self.value = p..p + 1;
                    self.st = St::HValue;
                }
            },
            St::HValue | St::HSpaceAfterValue => match ch {
                b' ' => self.st = St::HSpaceAfterValue,
                b'\r' => self.st = St::HAlmostDone,
                b'\n' => {
                    self.keep();
                    self.st = St::HStart;
                }
                0 => return Err(INVALID_HEADER),
                _ => {
                    self.value.end = p + 1;
                    self.st = St::HValue;
                }
            },
            St::HAlmostDone => match ch {
                b'\n' => {
                    self.keep();
                    self.st = St::HStart;
                }
                b'\r' => {}
                _ => return Err(INVALID_HEADER),
            },
            St::HHeadAlmostDone => {
                if ch != b'\n' {
                    return Err(INVALID_HEADER);
                }
                return Ok(true);
            }
            _ => unreachable!("request line states are not the headers'"),
        }
        Ok(false)
    }

    fn keep(&mut self) {
        if !self.invalid {
            self.out.headers.push(RawHeader { name: self.name.clone(), value: self.value.clone() });
        }
    }
}

/// A byte nginx takes in a header name: letters, digits and `-` (its
/// lowercase table); `_` only with underscores_in_headers.
fn name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}
