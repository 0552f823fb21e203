//! `$tcpinfo_rtt`, `$tcpinfo_rttvar`, `$tcpinfo_snd_cwnd` and
//! `$tcpinfo_rcv_space`: the kernel's view of a client connection, read
//! with `getsockopt(TCP_INFO)` when a variable asks, as nginx reads it.
//! No crate wraps this option safely, so this module holds `unsafe` code
//! (the crate's other is the allocator, `src/alloc.rs`).
#![allow(unsafe_code)]

use std::os::fd::RawFd;

/// The four fields nginx exposes, as it prints them (`%uD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TcpInfo {
    pub(super) rtt: u32,
    pub(super) rttvar: u32,
    pub(super) snd_cwnd: u32,
    pub(super) rcv_space: u32,
}

/// Reads TCP_INFO of the socket `fd`; `None` where the kernel refuses
/// (not a TCP socket, or closed), which nginx reports as an empty value.
pub(super) fn read(fd: RawFd) -> Option<TcpInfo> {
    let mut info = std::mem::MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::tcp_info>()).ok()?;
    // SAFETY: `info` is a writable, zero-initialised `tcp_info` and `len`
    // is its size, so the kernel writes at most `len` bytes into it; an
    // invalid or reused `fd` only makes the call fail or describe another
    // socket, never touches memory beyond `info`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: zeroed memory is a valid `tcp_info` (plain integers), and
    // the kernel filled what it knows of it.
    let info = unsafe { info.assume_init() };
    Some(TcpInfo {
        rtt: info.tcpi_rtt,
        rttvar: info.tcpi_rttvar,
        snd_cwnd: info.tcpi_snd_cwnd,
        rcv_space: info.tcpi_rcv_space,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_connected_socket_has_its_figures_and_a_file_has_none() {
        use std::os::fd::AsRawFd;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let info = super::read(client.as_raw_fd()).expect("a TCP socket has TCP_INFO");
        assert!(info.snd_cwnd > 0, "{info:?}");
        assert!(info.rcv_space > 0, "{info:?}");
        let file = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(super::read(file.as_raw_fd()), None);
    }
}
