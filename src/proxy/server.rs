//! Accepting connections and serving them with hyper: worker threads as
//! `worker_processes` says, a connection limit from `worker_connections`
//! (new connections wait for a free slot), the header read timeout, graceful
//! shutdown on SIGTERM or Ctrl-C, and configuration reload on SIGHUP.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use super::conf::{ConfError, Resolver};
use super::config::{self, Listen, LocConf};
use super::handler;
use super::http1::{self, Limits};
use super::log::{LineFn, Logs, Sink};
use super::request::{PathMap, Runtime};
use super::send_timeout::{Io, SendTimeout};

/// The host addresses a `listen` directive opens.
pub type ListenFn = Arc<dyn Fn(&Listen) -> Vec<SocketAddr> + Send + Sync>;
use super::upstream::{HostResolver, Upstreams};

/// How long a stopping proxy lets requests in flight finish.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// How a configuration is turned into a running proxy on this host.
#[derive(Clone)]
pub struct Setup {
    pub conf_path: PathBuf,
    /// Where relative includes resolve (nginx's conf prefix).
    pub conf_prefix: PathBuf,
    /// Where relative roots and log paths resolve (nginx's prefix).
    pub prefix: PathBuf,
    pub includes: Arc<dyn Resolver + Send + Sync>,
    pub paths: Arc<dyn PathMap>,
    pub hosts: Arc<dyn HostResolver>,
    /// The host addresses a `listen` opens; none means it is not opened.
    pub listen: ListenFn,
    /// Where log lines go: `None` writes the files the configuration names.
    pub log_lines: Option<LineFn>,
}

impl Setup {
    /// A configuration served on this host as `nginx -c FILE [-p PREFIX]`
    /// would: paths, listen addresses and upstream names as written.
    pub fn standalone(conf: &std::path::Path, prefix: Option<&std::path::Path>) -> Setup {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let conf_path = cwd.join(conf);
        let conf_prefix = conf_path.parent().map(PathBuf::from).unwrap_or_else(|| cwd.clone());
        let prefix = prefix.map(|p| cwd.join(p)).unwrap_or_else(|| conf_prefix.clone());
        Setup {
            conf_path,
            conf_prefix,
            prefix,
            includes: Arc::new(super::conf::AsWritten),
            paths: Arc::new(super::request::Identity),
            hosts: Arc::new(super::upstream::Dns::default()),
            listen: Arc::new(|l| {
                vec![SocketAddr::new(
                    l.addr.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                    l.port,
                )]
            }),
            log_lines: None,
        }
    }
}

fn all_confs(c: &config::Config) -> Vec<Arc<LocConf>> {
    fn walk(l: &[Arc<config::Location>], out: &mut Vec<Arc<LocConf>>) {
        for x in l {
            out.push(x.conf.clone());
            walk(&x.children, out);
        }
    }
    let mut out = Vec::new();
    for s in &c.http.servers {
        out.push(s.conf.clone());
        walk(&s.locations, &mut out);
        walk(&s.named.values().cloned().collect::<Vec<_>>(), &mut out);
    }
    out
}

/// Loads and checks a configuration (what `-t` reports on).
pub fn load(setup: &Setup) -> Result<Runtime, ConfError> {
    let config = config::load(&setup.conf_path, &setup.conf_prefix, setup.includes.as_ref())?;
    let sink = match &setup.log_lines {
        Some(f) => Sink::Lines(f.clone()),
        None => {
            let prefix = setup.prefix.clone();
            let paths = setup.paths.clone();
            Sink::Files {
                map: Box::new(move |p: &str| super::request::map_written(&prefix, &*paths, p)),
            }
        }
    };
    let error_path = config
        .error_log
        .as_ref()
        .filter(|p| p.as_str() != "stderr" && !p.starts_with("syslog:"))
        .and_then(|p| {
            super::request::map_written(
                &setup.prefix,
                &*setup.paths,
                p.split_whitespace().next().unwrap_or(p),
            )
        });
    let logs = Arc::new(Logs::new(sink, error_path));
    let confs = all_confs(&config);
    let whole = crate::diag::Location {
        file: setup.conf_path.display().to_string().into(),
        line: 0,
        col: 0,
    };
    logs.check(&config.http, &confs).map_err(|e| ConfError::invalid(whole, e))?;
    let upstreams = Upstreams::new(&config.http, setup.hosts.clone());
    // A cache's folder, where it is on this host: entries are also written there.
    for zone in config.http.cache_zones.values() {
        let written = zone.path().display().to_string();
        zone.set_dir(super::request::map_written(&setup.prefix, &*setup.paths, &written));
    }
    let mut host_dirs = super::FastMap::default();
    let mut host_dirs_by_text = super::FastMap::default();
    for c in &confs {
        for t in std::iter::once(&c.root).chain(&c.alias) {
            if let Some(lit) = t.literal() {
                let dir = host_dirs
                    .entry(lit.to_string())
                    .or_insert_with(|| {
                        super::request::map_written(&setup.prefix, &*setup.paths, lit)
                            .map(Arc::from)
                    })
                    .clone();
                host_dirs_by_text.insert(super::request::TextAt::of(lit), dir);
            }
        }
    }
    // Certificates are found as nginx finds them: relative to the configuration's folder.
    let host_path = |p: &str| {
        super::request::map_written(&setup.conf_prefix, &*setup.paths, p)
            .unwrap_or_else(|| p.into())
    };
    let tls = super::tls::Tls::load(&config, &host_path)?;
    Ok(Runtime {
        tls,
        host_dirs,
        host_dirs_by_text,
        config,
        prefix: setup.prefix.clone(),
        paths: setup.paths.clone(),
        upstreams,
        logs,
        cache: Default::default(),
        server_header: hyper::header::HeaderValue::from_static(concat!(
            "rcompose/",
            env!("CARGO_PKG_VERSION")
        )),
    })
}

/// The addresses the configuration listens on, through `setup.listen`.
pub fn listen_addrs(rt: &Runtime, setup: &Setup) -> BTreeSet<SocketAddr> {
    listen_table(rt, setup).into_keys().collect()
}

/// Host address -> the port its `listen` directive names (they differ when
/// ports are published, as 1000 -> 80 in a compose file).
fn listen_table(rt: &Runtime, setup: &Setup) -> std::collections::BTreeMap<SocketAddr, u16> {
    rt.config
        .http
        .servers
        .iter()
        .flat_map(|s| s.listens.iter())
        .flat_map(|l| (setup.listen)(l).into_iter().map(move |a| (a, l.port)))
        .collect()
}

fn bind(addr: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    if addr.is_ipv6() {
        // As nginx: [::]:80 and 0.0.0.0:80 are separate sockets.
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Each worker's listeners on the addresses of `table`, one socket per
/// worker and address (`SO_REUSEPORT`). A first bind without it finds the
/// port taken by anyone else, as nginx's bind would, instead of sharing it
/// with another proxy that asked for `SO_REUSEPORT` too.
fn bind_all(
    table: &std::collections::BTreeMap<SocketAddr, u16>,
    workers: usize,
) -> Result<Vec<Listeners>, String> {
    let mut all: Vec<Listeners> = (0..workers).map(|_| Vec::new()).collect();
    for (a, conf_port) in table {
        let failed = |e: std::io::Error| format!("bind() to {a} failed ({e})");
        let first = bind(*a, false).map_err(failed)?;
        if workers == 1 {
            all[0].push((first, *conf_port));
            continue;
        }
        let at = first.local_addr().map_err(failed)?;
        drop(first);
        for mine in &mut all {
            mine.push((bind(at, true).map_err(failed)?, *conf_port));
        }
    }
    Ok(all)
}

/// One worker's listening sockets, each with the port its `listen` names.
type Listeners = Vec<(std::net::TcpListener, u16)>;

/// Where the workers are in their life: serving, finishing the requests in
/// flight, or stopping now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Serving,
    Draining,
    Abort,
}

/// A running proxy: its addresses, and a handle to stop or reload it.
pub struct Running {
    pub addrs: Vec<SocketAddr>,
    stop: watch::Sender<Phase>,
    current: Arc<RwLock<Arc<Runtime>>>,
    setup: Setup,
    done: Vec<tokio::sync::oneshot::Receiver<()>>,
    /// Connections open on each worker.
    open: Vec<Arc<std::sync::atomic::AtomicUsize>>,
    draining: CancellationToken,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to `deadline`).
    pub async fn shutdown(mut self, deadline: Duration) {
        let _ = self.stop.send(Phase::Draining);
        self.draining.cancel();
        let done = futures::future::join_all(std::mem::take(&mut self.done));
        tokio::pin!(done);
        if tokio::time::timeout(deadline + Duration::from_secs(1), done.as_mut()).await.is_err() {
            let _ = self.stop.send(Phase::Abort);
            let _ = tokio::time::timeout(Duration::from_secs(1), done).await;
        }
    }

    /// How many connections each worker has open now.
    pub fn open_per_worker(&self) -> Vec<usize> {
        self.open.iter().map(|n| n.load(std::sync::atomic::Ordering::Relaxed)).collect()
    }

    /// Loads the configuration again; on error the old one stays.
    pub fn reload(&self) -> Result<(), String> {
        let rt = load(&self.setup).map_err(|e| e.to_string())?;
        let new: BTreeSet<SocketAddr> = listen_addrs(&rt, &self.setup);
        let old: BTreeSet<SocketAddr> = self.addrs.iter().copied().collect();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rt);
        if new != old {
            return Err("the configuration was reloaded, but its listen addresses changed; restart the proxy to apply them".into());
        }
        Ok(())
    }
}

impl Drop for Running {
    /// A proxy nobody shut down stops with its owner, as its tasks would
    /// have with the owner's runtime.
    fn drop(&mut self) {
        let _ = self.stop.send(Phase::Abort);
    }
}

/// Waits until the phase is one `f` accepts (or the proxy is gone).
async fn phase(rx: &mut watch::Receiver<Phase>, f: fn(Phase) -> bool) {
    let _ = rx.wait_for(|p| f(*p)).await;
}

/// What every worker shares.
struct Shared {
    current: Arc<RwLock<Arc<Runtime>>>,
    /// worker_connections * workers: a connection takes a slot for its life.
    slots: Arc<Semaphore>,
    limit: usize,
    header_timeout: Duration,
    /// Cancelled when the proxy stops: idle connections close, busy ones after their request.
    draining: CancellationToken,
}

/// Binds the listeners and starts `worker_processes` workers, each a thread
/// with its own single-threaded runtime, as nginx's worker processes are: a
/// connection lives on the worker it was given, so no request hops between
/// threads. Each worker accepts on sockets of its own (`SO_REUSEPORT`), so
/// the kernel spreads connections over them: sharing one socket, the worker
/// that woke first took a whole burst of connections, and an acceptor
/// thread handing them out cost a cross-thread wake a connection (measured:
/// 19-20k new connections a second against 27-28k on 2 workers).
pub fn start(setup: Setup, rt: Runtime) -> Result<Running, String> {
    let table = listen_table(&rt, &setup);
    let workers = rt.config.workers.max(1);
    let listeners = bind_all(&table, workers)?;
    let bound: Vec<SocketAddr> =
        listeners[0].iter().filter_map(|(l, _)| l.local_addr().ok()).collect();
    let limit = (rt.config.worker_connections * workers).max(1);
    let current = Arc::new(RwLock::new(Arc::new(rt)));
    let shared = Arc::new(Shared {
        current: current.clone(),
        slots: Arc::new(Semaphore::new(limit)),
        limit,
        header_timeout: current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .config
            .http
            .client_header_timeout,
        draining: CancellationToken::new(),
    });
    let draining = shared.draining.clone();
    let (stop, stop_rx) = watch::channel(Phase::Serving);
    let mut done = Vec::new();
    let mut spawn =
        |name: String, task: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .on_thread_park(super::log::flush_thread)
                .build()
                .map_err(|e| format!("cannot start {name} ({e})"))?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    super::log::batch_this_thread();
                    runtime.block_on(task);
                    // Dropping the runtime ends whatever an abort left behind.
                    drop(runtime);
                    super::log::flush_thread();
                    let _ = tx.send(());
                })
                .map_err(|e| format!("cannot start {name} ({e})"))?;
            done.push(rx);
            Ok::<_, String>(())
        };
    let open: Vec<Arc<std::sync::atomic::AtomicUsize>> =
        (0..workers).map(|_| Arc::default()).collect();
    for (n, (mine, open)) in listeners.into_iter().zip(&open).enumerate() {
        let task = worker(mine, open.clone(), shared.clone(), stop_rx.clone());
        spawn(format!("proxy-worker-{n}"), Box::pin(task))?;
    }
    Ok(Running { addrs: bound, stop, current, setup, done, open, draining })
}

/// One worker: serves connections until told to stop, then waits for all
/// connections (of every worker) to finish, unless told to abort.
async fn worker(
    listeners: Listeners,
    open: Arc<std::sync::atomic::AtomicUsize>,
    shared: Arc<Shared>,
    mut stop_rx: watch::Receiver<Phase>,
) {
    let mut tasks = Vec::new();
    for (listener, conf_port) in listeners {
        let Ok(listener) = TcpListener::from_std(listener) else { continue };
        // A listener on one address is every connection's local address:
        // only a wildcard one needs getsockname(2) per connection, as in nginx.
        let bound = listener.local_addr().ok().map(|a| a.ip()).filter(|ip| !ip.is_unspecified());
        let (shared, stop_rx, open) = (shared.clone(), stop_rx.clone(), open.clone());
        tasks.push(tokio::spawn(accept(
            listener,
            shared.clone(),
            stop_rx.clone(),
            move |stream, remote, permit| {
                open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(serve(
                    stream,
                    remote,
                    (bound, conf_port),
                    shared.clone(),
                    shared.draining.clone(),
                    permit,
                    Open(open.clone()),
                ));
            },
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    tokio::select! {
        // Every slot back means every connection has finished.
        _ = shared.slots.acquire_many(u32::try_from(shared.limit).unwrap_or(u32::MAX)) => {}
        _ = phase(&mut stop_rx, |p| p == Phase::Abort) => {}
    }
}

async fn accept(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop_rx: watch::Receiver<Phase>,
    mut take: impl FnMut(tokio::net::TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit),
) {
    // One wait for the stop, kept across connections: a new one per
    // accept cost a borrow of the phase and a waiter joining its list.
    let stopping = phase(&mut stop_rx, |p| p != Phase::Serving);
    tokio::pin!(stopping);
    loop {
        // Back-pressure: accept only when a connection slot is free. Most
        // of the time one is, and taking it needs no wait.
        let permit = match shared.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::Closed) => return,
            Err(tokio::sync::TryAcquireError::NoPermits) => tokio::select! {
                p = shared.slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
                () = &mut stopping => return,
            },
        };
        let (stream, remote) = tokio::select! {
            biased;
            () = &mut stopping => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
            },
        };
        take(stream, remote, permit);
    }
}

/// Gives a worker's open-connection count back when its connection ends.
/// Counted on taking the connection, so that the count is right before its task runs.
struct Open(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One client connection, from its first byte to its close: TLS first on
/// a `listen ... ssl` port, then HTTP/2 where ALPN (or, without TLS, the
/// client's preface) chose it, else HTTP/1.
///
/// Not an async fn: the setup runs at once and the connection's future is
/// boxed in the shape its port needs, so what a spawn copies into its task
/// is a pointer, not the largest of every protocol's detection state.
fn serve(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    (bound, conf_port): (Option<std::net::IpAddr>, u16),
    shared: Arc<Shared>,
    draining: CancellationToken,
    permit: tokio::sync::OwnedSemaphorePermit,
    open: Open,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    // Routing and $server_port see the port the configuration listens on.
    let ip = bound.unwrap_or_else(|| stream.local_addr().map_or(remote.ip(), |a| a.ip()));
    let local = SocketAddr::new(ip, conf_port);
    let rt = shared.current.read().unwrap_or_else(|e| e.into_inner()).clone();
    let (limits, nodelay, send_limit) = limits_of(&rt, conf_port, shared.header_timeout);
    // $connection: a serial number per connection, as nginx's.
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let _ = stream.set_nodelay(nodelay);
    let peers = super::request::Peers {
        tls: None,
        plain_on_tls: false,
        remote,
        remote_text: super::vars::IpText::new(&remote),
        local,
        connection: serial,
        requests: 0,
        accepted: std::time::Instant::now(),
        fd: Some(std::os::fd::AsRawFd::as_raw_fd(&stream)),
        pipelined: false,
    };
    let mode = rt.tls.port(conf_port);
    if mode.ssl || mode.http2 {
        let conn = Conn { limits, send_limit, peers, shared, draining };
        return super::pinned::boxed(move || async move {
            let _held = (permit, open);
            detect(stream, rt, mode, conn).await;
        });
    }
    let (read, write) = stream.into_split();
    super::pinned::boxed(move || async move {
        let _held = (permit, open);
        http1_conn(read, write, limits, send_limit, peers, &shared, draining).await;
    })
}

/// What a connection is served with, whichever protocol it speaks.
struct Conn {
    limits: Limits,
    send_limit: Duration,
    peers: super::request::Peers,
    shared: Arc<Shared>,
    draining: CancellationToken,
}

/// A port with TLS or HTTP/2: which protocol the client speaks is read off
/// its first bytes (or its TLS handshake's ALPN) before it is served.
async fn detect(
    stream: tokio::net::TcpStream,
    rt: Arc<Runtime>,
    mode: super::tls::PortMode,
    conn: Conn,
) {
    let Conn { limits, send_limit, mut peers, shared, draining } = conn;
    let local = peers.local;
    let wait = limits.header_timeout;
    let mut first = [0u8; 24];
    if mode.ssl {
        // A TLS record starts with 22 (a handshake); anything else is plain HTTP.
        match tokio::time::timeout(wait, stream.peek(&mut first[..1])).await {
            Ok(Ok(1)) => {}
            _ => return,
        }
        if first[0] == 22 {
            // Boxed, as HTTP/2 below: most connections never take them.
            let accepted = Box::pin(rt.tls.accept(&rt.config, stream, local, mode.http2));
            let Ok(Some((tls, info))) = tokio::time::timeout(wait, accepted).await else {
                return;
            };
            let h2 = info.h2;
            peers.tls = Some(Arc::new(info));
            if h2 {
                let h2 = super::h2::serve(tls, peers, shared.current.clone(), draining);
                return Box::pin(h2).await;
            }
            let (read, write) = tokio::io::split(tls);
            let conn = http1_conn(read, write, limits, send_limit, peers, &shared, draining);
            return Box::pin(conn).await;
        }
        peers.plain_on_tls = true;
    } else if mode.http2 && super::h2::starts_with_preface(&stream, &mut first, wait).await {
        return Box::pin(super::h2::serve(stream, peers, shared.current.clone(), draining)).await;
    }
    let (read, write) = stream.into_split();
    Box::pin(http1_conn(read, write, limits, send_limit, peers, &shared, draining)).await;
}

/// keepalive_timeout and keepalive_requests, tcp_nodelay and send_timeout
/// of the server this port belongs to.
fn limits_of(rt: &Runtime, conf_port: u16, header_timeout: Duration) -> (Limits, bool, Duration) {
    let conf = rt
        .config
        .http
        .servers
        .iter()
        .find(|s| s.listens.iter().any(|l| l.port == conf_port))
        .map(|s| s.conf.clone());
    let (keepalive_timeout, keepalive_requests, nodelay, send) = conf
        .map(|c| (c.keepalive_timeout, c.keepalive_requests, c.tcp_nodelay, c.send_timeout))
        .unwrap_or((Duration::from_secs(75), 1000, true, Duration::from_secs(60)));
    (Limits { header_timeout, keepalive_timeout, keepalive_requests }, nodelay, send)
}

/// An HTTP/1 connection over any byte stream (TCP, or TLS over it).
async fn http1_conn<R, W>(
    read: R,
    write: W,
    limits: Limits,
    send_limit: Duration,
    peers: super::request::Peers,
    shared: &Shared,
    draining: CancellationToken,
) where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: http1::Sink + 'static,
{
    let send_timeout = SendTimeout::new(send_limit);
    let write = Io::new(write, send_timeout.clone());
    let current = shared.current.clone();
    let sending = send_timeout.clone();
    let remote = peers.remote;
    http1::serve(read, write, limits, draining, move |incoming| {
        let rt = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let sending = sending.clone();
        let mut peers = peers.clone();
        // Boxed once: moved by pointer through the connection's waits, where
        // the handler's state would be copied at each step.
        super::pinned::boxed(move || async move {
            match incoming {
                http1::Incoming::Request(req) => {
                    peers.requests = req.number;
                    peers.pipelined = req.pipelined;
                    let (resp, limit) = handler::handle(rt, req, peers).await;
                    if let Some(l) = limit {
                        sending.set(l);
                    }
                    resp
                }
                http1::Incoming::Refused(r) => {
                    peers.requests = r.number;
                    handler::refused(rt, r, peers)
                }
            }
        })
    })
    .await;
    if send_timeout.fired() {
        let rt = shared.current.read().unwrap_or_else(|e| e.into_inner()).clone();
        rt.logs.error(&format!("client timed out (110: Connection timed out) while sending response to client, client: {}", remote.ip()));
    }
}

/// Serves until SIGTERM or Ctrl-C (graceful, then exit 0); SIGHUP reloads.
pub async fn run_until_signal(running: Running, deadline: Duration) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::hangup()))
    else {
        let _ = tokio::signal::ctrl_c().await;
        running.shutdown(deadline).await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = hup.recv() => match running.reload() {
                Ok(()) => eprintln!("rcompose proxy: configuration reloaded"),
                Err(e) => eprintln!("rcompose proxy: reload: {e}"),
            },
        }
    }
    running.shutdown(deadline).await;
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    #[test]
    fn connections_are_spread_over_the_workers() {
        let d = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let conf = d.path().join("nginx.conf");
        std::fs::write(
            &conf,
            format!("worker_processes 3;\nevents {{ worker_connections 64; }}\nhttp {{ access_log off;\n server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\"; }} }}\n}}\n"),
        )
        .unwrap();
        let setup = super::Setup::standalone(&conf, None);
        let running = super::start(setup.clone(), super::load(&setup).unwrap()).unwrap();
        // Opened one after another, as a load generator opens them: a race for
        // one listening socket gave most of them to one worker.
        let conns: Vec<std::net::TcpStream> = (0..60)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
                let mut buf = [0u8; 512];
                let n = s.read(&mut buf).unwrap();
                assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
                s
            })
            .collect();
        // The kernel's hash of each connection picks the worker: 20 each on
        // average, and fewer than 5 is over four standard deviations off.
        let open = running.open_per_worker();
        assert!(open.iter().sum::<usize>() == 60 && open.iter().all(|n| *n >= 5), "{open:?}");
        drop(conns);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while running.open_per_worker() != [0, 0, 0] {
            assert!(
                std::time::Instant::now() < deadline,
                "still counted open: {:?}",
                running.open_per_worker()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
