//! Reading files a user names (compose files, env files, nginx includes):
//! regular files only, and no more than a limit. A device (`/dev/zero`)
//! would be read until memory runs out and a FIFO would block for ever;
//! docker compose and nginx refuse neither, and hang or fill memory.

use std::io::Read;
use std::path::Path;

/// Compose files: a 10 MB file with 100,000 variables loads; this is far above.
pub const COMPOSE_LIMIT: u64 = 64 << 20;
/// `.env` and `env_file` files.
pub const ENV_LIMIT: u64 = 16 << 20;
/// nginx configuration files: nginx takes any size; this holds a 100 MB
/// comment-only file with room to spare.
pub const NGINX_LIMIT: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("it is larger than {} MiB", .0 >> 20)]
    TooBig(u64),
    #[error("it is not UTF-8 text")]
    NotText,
}

impl ReadError {
    /// The file does not exist (an optional file may be missing).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

fn kind(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a named pipe"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// The bytes of a regular file of at most `limit` bytes. Opened without
/// blocking, so a FIFO put in the file's place after the check cannot hang
/// the open; the type is checked on what was opened.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(kind(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(ReadError::TooBig(limit));
    }
    let mut out = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // Held to the limit even if the file grows while it is read.
    file.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(ReadError::TooBig(limit));
    }
    Ok(out)
}

/// The text of a regular UTF-8 file of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bytes(path, limit)?).map_err(|_| ReadError::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a");
        std::fs::write(&f, "0123456789").unwrap();
        assert_eq!(read_text(&f, 10).unwrap(), "0123456789");
        assert!(matches!(read_text(&f, 9), Err(ReadError::TooBig(9))));
        assert!(matches!(
            read_text(Path::new("/dev/zero"), 10),
            Err(ReadError::NotRegular("a device"))
        ));
        assert!(matches!(read_text(d.path(), 10), Err(ReadError::NotRegular("a directory"))));
        let fifo = d.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600))
            .unwrap();
        assert!(matches!(read_text(&fifo, 10), Err(ReadError::NotRegular("a named pipe"))));
        assert!(read_text(&d.path().join("missing"), 10).unwrap_err().is_not_found());
        std::fs::write(&f, b"\xff\xfe").unwrap();
        assert!(matches!(read_text(&f, 10), Err(ReadError::NotText)));
    }
}
