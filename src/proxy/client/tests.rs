use super::head::MAX_HEAD;
use super::pool::{POOL, PoolKey};
use super::*;
use hyper::body::Frame;

use http_body_util::BodyExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::AsyncReadExt;

#[test]
fn chunk_sizes() {
    let body = |size: &str| {
        let data = "x".repeat(
            usize::from_str_radix(size.split(';').next().unwrap(), 16).map_or(0, |n| n.min(64)),
        );
        let answer = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\n{data}\r\n0\r\n\r\n"
        );
        decode_answer(answer.as_bytes(), &[]).map(|(_, b)| b.len())
    };
    assert_eq!(body("1a"), Ok(26));
    assert_eq!(body("1A;ext=1"), Ok(26));
    assert_eq!(body("0"), Ok(0));
    assert!(body("").is_err());
    assert!(body("zz").is_err());
    assert!(body("ffffffffffffffff").is_err(), "too long to be a size");
}

/// What the scripted upstream does after reading a request head.
enum Step {
    /// Writes these pieces, pausing between them so they arrive apart.
    Answer(Vec<&'static [u8]>),
    /// Writes the pieces, then closes the connection.
    AnswerAndClose(Vec<&'static [u8]>),
    /// Closes the connection (after the request was read).
    Close,
}

/// An upstream that answers the requests of each connection in turn
/// from one shared script; returns its address and how many connections it took.
async fn upstream(script: Vec<Step>) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut steps = script.into_iter();
        'conns: while let Ok((mut s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            loop {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if s.read(&mut byte).await.unwrap_or(0) == 0 {
                        continue 'conns;
                    }
                    head.push(byte[0]);
                }
                let (pieces, close) = match steps.next() {
                    Some(Step::Answer(pieces)) => (pieces, false),
                    Some(Step::AnswerAndClose(pieces)) => (pieces, true),
                    Some(Step::Close) | None => continue 'conns,
                };
                for p in pieces {
                    s.write_all(p).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if close {
                    continue 'conns;
                }
            }
        }
    });
    (addr, accepted)
}

fn get(head: &'static [u8]) -> Exchange<'static> {
    Exchange {
        head,
        body: None,
        chunked: false,
        head_request: false,
        upgrade: false,
        connect_timeout: Duration::from_secs(2),
        send_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        gone: Box::pin(futures::future::pending()),
        keepalive: Keepalive::default(),
        idempotent: true,
        traffic: None,
    }
}

#[tokio::test]
async fn traffic_counts_every_byte_each_way_and_where_the_body_began() {
    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const BODY: &[u8] = b"5\r\nhello\r\n0\r\n\r\n";
    let (addr, _) = upstream(vec![Step::Answer(vec![HEAD, b"5\r\nhel", b"lo\r\n0\r\n\r\n"])]).await;
    let traffic = Arc::new(Traffic::default());
    let ex = Exchange { traffic: Some(traffic.clone()), ..get(GET) };
    let a = exchange(addr, ex, &|_| true).await.unwrap();
    let AnswerBody::Stream(body) = a.body else { panic!("not a stream") };
    assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
    assert_eq!(traffic.sent(), GET.len() as u64);
    assert_eq!(traffic.received(), (HEAD.len() + BODY.len()) as u64);
    assert_eq!(traffic.body(), BODY.len() as u64, "the body with its chunk framing");
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: u\r\n\r\n";

async fn fetch(
    addr: SocketAddr,
) -> Result<(StatusCode, HeaderMap, Result<Bytes, String>), Failure> {
    let a = exchange(addr, get(GET), &|_| true).await?;
    let AnswerBody::Stream(body) = a.body else { panic!("not a stream") };
    let body = body.collect().await.map(|c| c.to_bytes()).map_err(|e| e.to_string());
    Ok((a.status, a.headers, body))
}

#[tokio::test]
async fn request_bodies_without_a_length_go_chunked_whole_even_when_writes_are_partial() {
    use futures::StreamExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Read slowly so the socket fills and writev takes only part of a chunk.
    let got = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut all = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while !all.ends_with(b"0\r\n\r\n") {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the last chunk");
            all.extend_from_slice(&buf[..n]);
        }
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await.unwrap();
        all
    });
    let big = Bytes::from(vec![b'x'; 4 << 20]);
    let frames = vec![
        Bytes::from_static(b"hello"),
        big.clone(),
        Bytes::new(),
        Bytes::from_static(b" world"),
    ];
    let stream = futures::stream::iter(frames).map(|b| Ok::<_, BoxError>(Frame::data(b)));
    let mut ex = get(b"POST / HTTP/1.1\r\nHost: u\r\nTransfer-Encoding: chunked\r\n\r\n");
    ex.body = Some(BodyExt::boxed(http_body_util::StreamBody::new(stream)));
    ex.chunked = true;
    let answer = exchange(addr, ex, &|_| true).await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    let all = got.await.unwrap();
    let body = &all[all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    let mut want = b"5\r\nhello\r\n".to_vec();
    want.extend_from_slice(format!("{:x}\r\n", big.len()).as_bytes());
    want.extend_from_slice(&big);
    want.extend_from_slice(b"\r\n6\r\n world\r\n0\r\n\r\n");
    assert!(body == want.as_slice(), "{} bytes, not the {} sent framed", body.len(), want.len());
}

#[tokio::test]
async fn answers_framed_by_chunks_length_or_close_and_connections_reused() {
    let (addr, accepted) = upstream(vec![
        Step::Answer(vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            b"lo\r\n6;x=y\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
        ]),
        Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Le", b"ngth: 4\r\n\r\nab", b"cd"]),
        Step::Answer(vec![b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"]),
        Step::AnswerAndClose(vec![b"HTTP/1.0 200 OK\r\n\r\nuntil ", b"the end"]),
        Step::Close,
        Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]),
    ])
    .await;
    let (_, h, body) = fetch(addr).await.unwrap();
    assert_eq!(body.unwrap(), "hello world");
    assert!(h.get("transfer-encoding").is_none(), "framing is the client side's to choose");
    assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "abcd");
    assert_eq!(fetch(addr).await.unwrap().0, StatusCode::NO_CONTENT);
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "three answers on one kept-alive connection");
    // Ended by the close: whole, and the connection is not kept.
    assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "until the end");
    // The script closes the next connection at once, unanswered: a
    // fresh connection that fails is the upstream's failure, not staleness.
    assert!(matches!(fetch(addr).await, Err(Failure::PrematureClose)));
    assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "ok");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "the close-delimited answer's connection was not reused"
    );
}

/// Serves every connection at once, answering each request it reads
/// with `ok`; counts the connections.
async fn ok_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = s.read(&mut buf).await {
                    seen.extend_from_slice(&buf[..n]);
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .await
                            .unwrap();
                    }
                }
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn keepalive_counts_idle_connections_for_the_whole_upstream_block() {
    let ((a, to_a), (b, to_b)) = (ok_server().await, ok_server().await);
    let ask = |addr, keepalive| {
        let mut ex = get(GET);
        ex.keepalive = keepalive;
        async move {
            let AnswerBody::Stream(body) = exchange(addr, ex, &|_| true).await.unwrap().body else {
                panic!("not a stream")
            };
            assert_eq!(body.collect().await.unwrap().to_bytes(), "ok");
        }
    };
    let limits = Keepalive { idle: 1, pool: Some(u64::MAX - 7), ..Keepalive::default() };
    // keepalive 1 over two servers: b's idle connection pushes a's out,
    // so going back to a opens a new one, and b's then goes.
    for addr in [a, b, a] {
        ask(addr, limits).await;
    }
    assert_eq!((to_a.load(Ordering::SeqCst), to_b.load(Ordering::SeqCst)), (2, 1));
    let pooled = POOL.with(|p| {
        p.borrow()[&PoolKey::Block(u64::MAX - 7)].iter().map(|(to, _)| *to).collect::<Vec<_>>()
    });
    assert_eq!(pooled, [a]);
    // With room for both, each server's connection is found again.
    let roomy = Keepalive { idle: 2, pool: Some(u64::MAX - 8), ..Keepalive::default() };
    for addr in [a, b, a, b] {
        ask(addr, roomy).await;
    }
    assert_eq!((to_a.load(Ordering::SeqCst), to_b.load(Ordering::SeqCst)), (3, 2));
}

#[tokio::test]
async fn keepalive_limits_the_idle_connections_and_the_requests_on_one() {
    let (addr, accepted) = ok_server().await;
    let limits = Keepalive { idle: 2, requests: 3, ..Keepalive::default() };
    let ask = || {
        let mut ex = get(GET);
        ex.keepalive = limits;
        exchange(addr, ex, &|_| true)
    };
    // keepalive_requests 3: seven one after another take three connections.
    for _ in 0..7 {
        let AnswerBody::Stream(body) = ask().await.unwrap().body else { panic!("not a stream") };
        assert_eq!(body.collect().await.unwrap().to_bytes(), "ok");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    // keepalive 2: four at once open three more (one is idle already);
    // once they are done, two stay idle and the least recently used go.
    let answers = futures::future::join_all((0..4).map(|_| ask())).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 6);
    for a in answers {
        let AnswerBody::Stream(body) = a.unwrap().body else { panic!("not a stream") };
        body.collect().await.unwrap();
    }
    assert_eq!(POOL.with(|p| p.borrow()[&PoolKey::Addr(addr)].len()), 2);
}

#[tokio::test]
async fn a_kept_alive_connection_closed_by_the_upstream_is_replaced_not_failed() {
    let (addr, accepted) = upstream(vec![
        Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"]),
        // The upstream drops the idle connection as the next request arrives.
        Step::Close,
        Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"]),
    ])
    .await;
    assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "a");
    assert_eq!(fetch(addr).await.unwrap().2.unwrap(), "b");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn informational_answers_skipped_hop_by_hop_headers_dropped() {
    let (addr, _) = upstream(vec![Step::Answer(vec![
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nX-Kept: 2\r\nX-Kept: 3\r\nContent-Length: 2\r\n\r\nok",
    ])])
    .await;
    let (status, h, body) = fetch(addr).await.unwrap();
    assert_eq!((status, body.unwrap()), (StatusCode::OK, Bytes::from("ok")));
    let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["x-kept", "content-length"]);
    assert_eq!(h.get_all("x-kept").iter().count(), 2);
}

#[tokio::test]
async fn cut_and_malformed_answers_are_errors_never_ends() {
    let (addr, _) = upstream(vec![
        Step::AnswerAndClose(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"]),
        Step::AnswerAndClose(vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"]),
        Step::Answer(vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnothex\r\n"]),
        Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"]),
        Step::Answer(vec![b"HTTP/1.1 2x0 OK\r\n\r\n"]),
        Step::Answer(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]),
    ])
    .await;
    assert!(fetch(addr).await.unwrap().2.is_err(), "a body cut short by the close");
    assert!(fetch(addr).await.unwrap().2.is_err(), "a chunked body without its last chunk");
    assert!(fetch(addr).await.unwrap().2.is_err(), "a chunk size that is not hex");
    assert!(matches!(fetch(addr).await, Err(Failure::Invalid(_))), "two different lengths");
    assert!(matches!(fetch(addr).await, Err(Failure::Invalid(_))), "a broken status line");
    // Passed on, its Content-Length cut the chunked body short for the client.
    assert!(matches!(fetch(addr).await, Err(Failure::Invalid(_))), "both a length and chunks");
}

#[tokio::test]
async fn heads_over_the_limit_and_silent_upstreams_fail_as_nginx_says() {
    let big: &'static [u8] = Box::leak(
        format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n", "a".repeat(MAX_HEAD))
            .into_bytes()
            .into_boxed_slice(),
    );
    let (addr, _) = upstream(vec![Step::Answer(vec![big])]).await;
    assert!(matches!(fetch(addr).await, Err(Failure::TooBig)));
    // Refused whole as in pieces: the limit does not depend on how reads fall.
    let whole = decode_answer(big, &[]);
    assert_eq!(whole, decode_answer(big, &[16 * 1024, 32 * 1024, 48 * 1024, 64 * 1024]));
    assert!(whole.is_err());
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let mut ex = get(GET);
    ex.read_timeout = Duration::from_millis(100);
    let f = exchange(silent_addr, ex, &|_| true).await.err().unwrap();
    assert_eq!((f.status(), f.kind()), (504, FailureKind::Timeout));
    assert!(
        f.describe(&silent_addr)
            .contains("timed out (110: Connection timed out) while reading response header")
    );
    // Its address went away meanwhile: failed then, not at the read timeout.
    let mut ex = get(GET);
    ex.gone = Box::pin(tokio::time::sleep(Duration::from_millis(100)));
    let started = Instant::now();
    let f = exchange(silent_addr, ex, &|_| true).await.err().unwrap();
    assert!(
        matches!(f, Failure::Gone) && started.elapsed() < Duration::from_secs(1),
        "{f:?} after {:?}",
        started.elapsed()
    );
    assert_eq!((f.status(), f.kind()), (502, FailureKind::Error));
    drop(silent);
    let f = exchange(silent_addr, get(GET), &|_| true).await.err().unwrap();
    assert_eq!(f.status(), 502);
    assert_eq!(
        f.describe(&silent_addr),
        format!(
            "connect() to {silent_addr} failed (111: Connection refused) while connecting to upstream"
        )
    );
}
