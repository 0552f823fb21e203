//! TLS on `listen ... ssl` with rustls: the certificates each server names
//! (loaded when the configuration is, as nginx loads them, so a missing
//! file fails `-t`), the server chosen by the client's SNI before the
//! handshake goes on, and ALPN offering `h2` where the listen says `http2`.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::crypto::ring::sign::any_supported_type;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{CipherSuite, ProtocolVersion, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::conf::ConfError;
use super::config::{Config, Server};
use super::http::TlsInfo;

/// How connections on a configured port are spoken to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortMode {
    pub ssl: bool,
    pub http2: bool,
}

/// Each TLS server's rustls configurations (without and with `h2` offered),
/// keyed by the server's address in the configuration it was loaded with.
#[derive(Default)]
pub struct Tls {
    ports: super::FastMap<u16, PortMode>,
    servers: Vec<(usize, [Arc<ServerConfig>; 2])>,
}

fn key(s: &Arc<Server>) -> usize {
    Arc::as_ptr(s) as usize
}

impl Tls {
    /// Loads every certificate the configuration names for a TLS server;
    /// `host_path` maps a path as written to where it is on this host.
    pub fn load(
        config: &Config,
        host_path: &dyn Fn(&str) -> std::path::PathBuf,
    ) -> Result<Tls, ConfError> {
        let mut tls = Tls::default();
        for s in &config.http.servers {
            for l in &s.listens {
                let m = tls.ports.entry(l.port).or_default();
                m.ssl |= l.ssl || s.conf.tls.ssl_on;
                m.http2 |= l.http2 || s.conf.tls.http2;
            }
        }
        for s in &config.http.servers {
            let ssl = s.listens.iter().any(|l| tls.port(l.port).ssl);
            if !ssl {
                continue;
            }
            let t = &s.conf.tls;
            if t.certificates.is_empty() {
                let Some(l) = s.listens.iter().find(|l| tls.port(l.port).ssl) else { continue };
                return Err(ConfError::invalid(
                    l.at.clone(),
                    "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive",
                ));
            }
            let mut keys = Vec::new();
            for (i, (cert, cert_at)) in t.certificates.iter().enumerate() {
                let Some((key_path, key_at)) = t.keys.get(i) else {
                    return Err(ConfError::invalid(
                        cert_at.clone(),
                        format!("no \"ssl_certificate_key\" is defined for certificate \"{cert}\""),
                    ));
                };
                let read = |p: &str, what: &str, at: &crate::diag::Location| {
                    let host = host_path(p);
                    std::fs::read(&host).map_err(|e| {
                        ConfError::invalid(at.clone(), format!("cannot load {what} \"{p}\": {e}"))
                    })
                };
                let chain: Vec<CertificateDer<'static>> =
                    CertificateDer::pem_slice_iter(&read(cert, "certificate", cert_at)?)
                        .collect::<Result<_, _>>()
                        .map_err(|e| bad(cert_at, "certificate", cert, &e))?;
                if chain.is_empty() {
                    return Err(bad(cert_at, "certificate", cert, &"no PEM certificate in it"));
                }
                let der =
                    PrivateKeyDer::from_pem_slice(&read(key_path, "certificate key", key_at)?)
                        .map_err(|e| bad(key_at, "certificate key", key_path, &e))?;
                let signer = any_supported_type(&der)
                    .map_err(|e| bad(key_at, "certificate key", key_path, &e))?;
                let ck = CertifiedKey::new(chain, signer);
                ck.keys_match().map_err(|e| bad(key_at, "certificate key", key_path, &e))?;
                keys.push(Arc::new(ck));
            }
            let versions = versions(&t.protocols);
            let make = |alpn: &[&[u8]]| -> Result<Arc<ServerConfig>, ConfError> {
                // The provider named, not the process default: no panic if
                // another crate's features ever bring a second one in.
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let mut c = ServerConfig::builder_with_provider(provider)
                    .with_protocol_versions(&versions)
                    .map_err(|e| ConfError::invalid(t.certificates[0].1.clone(), e.to_string()))?
                    .with_no_client_auth()
                    .with_cert_resolver(Arc::new(Keys(keys.clone())));
                c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
                Ok(Arc::new(c))
            };
            tls.servers.push((key(s), [make(&[b"http/1.1"])?, make(&[b"h2", b"http/1.1"])?]));
        }
        Ok(tls)
    }

    /// How the configuration speaks on `port`.
    pub fn port(&self, port: u16) -> PortMode {
        self.ports.get(&port).copied().unwrap_or_default()
    }

    fn config_for(&self, s: &Arc<Server>, h2: bool) -> Option<Arc<ServerConfig>> {
        self.servers.iter().find(|(k, _)| *k == key(s)).map(|(_, c)| c[usize::from(h2)].clone())
    }

    /// The TLS handshake, on the configuration of the server the client's
    /// SNI names (the port's default without one); `None` when it fails.
    pub async fn accept(
        &self,
        config: &Config,
        stream: TcpStream,
        local: SocketAddr,
        h2: bool,
    ) -> Option<(TlsStream<TcpStream>, TlsInfo)> {
        let start =
            tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream)
                .await
                .ok()?;
        let hello = start.client_hello();
        let sni = hello.server_name().map(Box::<str>::from);
        let offered_suites = hello.cipher_suites().iter().map(|s| u16::from(*s)).collect();
        let offered_groups =
            hello.named_groups().unwrap_or_default().iter().map(|g| u16::from(*g)).collect();
        let server = super::routes::select_server(config, local, sni.as_deref().unwrap_or(""))?;
        let cfg = self.config_for(server, h2)?;
        let stream = start.into_stream(cfg).await.ok()?;
        let conn = stream.get_ref().1;
        let info = TlsInfo {
            protocol: match conn.protocol_version() {
                Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
                _ => "TLSv1.2",
            },
            cipher: conn.negotiated_cipher_suite().map_or("", |s| openssl_name(s.suite())),
            server_name: sni,
            h2: conn.alpn_protocol() == Some(b"h2"),
            offered_suites,
            offered_groups,
            group: conn.negotiated_key_exchange_group().map(|g| u16::from(g.name())),
            session_id: session_id(),
        };
        Some((stream, info))
    }
}

/// 64 hex digits, unique per connection across the process's life.
fn session_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Apart from request ids, which hash two words.
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    super::vars::unique_hex(&[SERIAL.fetch_add(1, Ordering::Relaxed)], 4)
}

fn bad(at: &crate::diag::Location, what: &str, path: &str, e: &dyn std::fmt::Display) -> ConfError {
    ConfError::invalid(at.clone(), format!("cannot load {what} \"{path}\": {e}"))
}

/// The versions of `ssl_protocols` rustls speaks: 1.2 and 1.3 (nginx's
/// older defaults, TLSv1 and TLSv1.1, have no rustls equivalent). Without
/// the directive both are spoken, as by the nginx images projects run
/// (1.23.4 and later); Debian's 1.22 leaves TLSv1.3 out by default.
fn versions(protocols: &[String]) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let has = |p: &str| protocols.is_empty() || protocols.iter().any(|x| x == p);
    let mut v = Vec::new();
    if has("TLSv1.3") {
        v.push(&rustls::version::TLS13);
    }
    if has("TLSv1.2") {
        v.push(&rustls::version::TLS12);
    }
    v
}

/// A server's certificates (nginx allows an RSA and an ECDSA one side by
/// side): the first whose key signs with a scheme the client offers.
#[derive(Debug)]
struct Keys(Vec<Arc<CertifiedKey>>);

impl ResolvesServerCert for Keys {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let offered = hello.signature_schemes();
        self.0
            .iter()
            .find(|k| k.key.choose_scheme(offered).is_some())
            .or_else(|| self.0.first())
            .cloned()
    }
}

/// OpenSSL's names for the suites rustls negotiates, as `$ssl_cipher` prints them.
fn openssl_name(s: CipherSuite) -> &'static str {
    match s {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            "ECDHE-ECDSA-CHACHA20-POLY1305"
        }
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        _ => "",
    }
}
