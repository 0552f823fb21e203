//! HTTP/1 as nginx speaks it, on the client side of the proxy: requests
//! read and refused by nginx's grammar and rules (so nothing nginx refuses
//! reaches an upstream), bodies held to its limits, answers written with its
//! status lines and connection handling. hyper is not in this path: it
//! repairs what nginx refuses, and framing is the proxy's to get right.

mod body;
mod chunked;
mod conn;
mod parse;
mod request;
mod sink;
mod tick;
mod upgrade;
mod write;

pub use body::{BodyError, RequestBody};
pub use chunked::{Decoder as ChunkedDecoder, Step as ChunkedStep, size_line as chunk_size_line};
pub use conn::{ClientBody, DISCARD_LIMIT, Incoming, Limits, Refused, Request, serve};
pub use parse::{HeadParser, MAX_HEAD, MAX_LINE, Refusal};
pub use request::{Framing, Head, atoof, check as check_head, server_name};
pub use sink::Sink;
pub use upgrade::{OnUpgrade, ReadIo, Upgraded};
pub use write::Reason;
