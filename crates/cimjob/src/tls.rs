//! HTTPS: the service's second listener (127.0.0.1:5989 by default) serving the same Router
//! as the plain one, over TLS (rustls with the ring provider).
//!
//! The certificate is the one configured (`--tls-cert`/`--tls-key`, PEM), or a self-signed one
//! made on first start (rcgen) and kept in `<data-dir>/tls/` (`cert.pem`, `key.pem` mode 0600)
//! for later starts. The SHA-256 fingerprint of the certificate served is logged at start and
//! written to `<data-dir>/tls/fingerprint`, so a client can pin or check it.
//!
//! Each TLS handshake runs in its own task, bounded in time ([`HANDSHAKE_TIMEOUT`]) and in
//! number ([`MAX_HANDSHAKES`]): a slow, broken or plain-HTTP client costs one task and never
//! stalls the accept loop or the other clients. Only connections whose handshake succeeded
//! reach axum, through [`HttpsListener`] (an [`axum::serve::Listener`] whose address is the
//! client's `SocketAddr`, so `ConnectInfo<SocketAddr>` works as on the plain listener).
//!
//! This module also holds the rule for the plain listener: HTTP stays on loopback unless
//! `--allow-remote-http` says otherwise (see [`prepare`]).

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::{Listener, ListenerExt, TapIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The file in the data dir holding the address HTTPS is actually served on (like
/// `cimjob.addr` for HTTP), so tests can use port 0.
pub const HTTPS_ADDRESS_FILE: &str = "cimjob-https.addr";
/// The default HTTPS address: the WBEM HTTPS port on loopback.
pub const DEFAULT_HTTPS_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5989);
/// How long a client may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many TLS handshakes may be in progress at once; connections beyond are closed at once.
pub const MAX_HANDSHAKES: usize = 256;

/// The directory under the data dir holding the generated certificate and the fingerprint.
pub const TLS_DIR: &str = "tls";

/// The certificate the service of `data_dir` serves when it made its own: what a CLI on the
/// same machine trusts for HTTPS.
pub fn own_certificate(data_dir: &Path) -> PathBuf {
    data_dir.join(TLS_DIR).join(CERT_FILE)
}
const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";
const FINGERPRINT_FILE: &str = "fingerprint";

/// The TLS options of `cimjob serve`.
#[derive(clap::Args, Debug)]
pub struct TlsArgs {
    /// The address to serve HTTPS on, or `off` (the chosen address is written to <data-dir>/cimjob-https.addr) [default: the next port after --listen's, on its address: 127.0.0.1:5989 beside 127.0.0.1:5988; port 0 beside port 0]
    #[arg(long, value_name = "ADDR|off")]
    https_listen: Option<HttpsListen>,
    /// The certificate (chain) to serve HTTPS with, PEM; with --tls-key [default: a self-signed one made on first start in <data-dir>/tls/]
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM (PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP (--listen) on an address other than loopback, although credentials then cross the network in clear text
    #[arg(long)]
    allow_remote_http: bool,
}

/// `--https-listen`: an address, or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpsListen {
    /// No HTTPS listener.
    Off,
    /// HTTPS on this address.
    At(SocketAddr),
}

impl FromStr for HttpsListen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(HttpsListen::Off);
        }
        text.parse().map(HttpsListen::At).map_err(|_| {
            format!("{text:?} is not an address: write e.g. 127.0.0.1:5989, [::]:5989, or off")
        })
    }
}

/// HTTPS, ready to bind: the address and the TLS configuration with its certificate.
pub struct Https {
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    fingerprint: String,
}

/// Where HTTPS listens when only `--listen` is given: beside it, as 5989 is beside 5988, so a
/// second service on other ports does not fight the first for 5989; a free port beside a
/// free port (tests, several instances).
pub fn https_beside(http_listen: SocketAddr) -> SocketAddr {
    let port = match http_listen.port() {
        0 | u16::MAX => 0,
        port => port + 1,
    };
    SocketAddr::new(http_listen.ip(), port)
}

/// Everything that may refuse to start, done before the service starts: refuses plain HTTP
/// on a non-loopback `http_listen` unless `--allow-remote-http` (then warns), and loads or
/// makes the certificate. `None` with `--https-listen off`.
pub fn prepare(
    args: &TlsArgs,
    http_listen: SocketAddr,
    data_dir: &Path,
) -> anyhow::Result<Option<Https>> {
    check_plain_http(http_listen, args.allow_remote_http)?;
    let addr = match args.https_listen {
        Some(HttpsListen::Off) => {
            anyhow::ensure!(
                args.tls_cert.is_none(),
                "--tls-cert/--tls-key have no use with --https-listen off"
            );
            tracing::info!("HTTPS is off (--https-listen off)");
            return Ok(None);
        }
        Some(HttpsListen::At(addr)) => addr,
        None => https_beside(http_listen),
    };
    let tls_dir = data_dir.join(TLS_DIR);
    let (chain, key, origin) = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let (chain, key_der) = load_pem(cert, key)?;
            (chain, key_der, format!("configured: {}", cert.display()))
        }
        (None, None) => self_signed(&tls_dir)?,
        _ => anyhow::bail!("--tls-cert and --tls-key go together: give both or neither"),
    };
    let fingerprint = fingerprint(&chain[0]);
    let acceptor =
        acceptor(chain, key).with_context(|| format!("cannot use the certificate ({origin})"))?;
    create_private_dir(&tls_dir)?;
    let fingerprint_path = tls_dir.join(FINGERPRINT_FILE);
    fs::write(&fingerprint_path, format!("{fingerprint}\n"))
        .with_context(|| format!("cannot write {}", fingerprint_path.display()))?;
    tracing::info!("HTTPS certificate ({origin}), SHA-256 fingerprint {fingerprint}");
    Ok(Some(Https {
        addr,
        acceptor,
        fingerprint,
    }))
}

/// Plain HTTP stays on loopback unless `allow_remote` (then it only warns).
fn check_plain_http(listen: SocketAddr, allow_remote: bool) -> anyhow::Result<()> {
    if listen.ip().to_canonical().is_loopback() {
        return Ok(());
    }
    anyhow::ensure!(
        allow_remote,
        "refusing to serve plain HTTP on {listen}: it is not a loopback address, so user names and \
         passwords would cross the network in clear text; serve remote clients over HTTPS \
         (--https-listen) and keep --listen on loopback, or pass --allow-remote-http to accept the risk"
    );
    tracing::warn!(
        address = %listen,
        "serving plain HTTP on {listen}, which is not a loopback address (--allow-remote-http): \
         credentials sent to it cross the network in clear text; prefer HTTPS"
    );
    Ok(())
}

impl Https {
    /// Binds the HTTPS listener, writes its address to `<data-dir>/cimjob-https.addr`, and
    /// starts accepting (handshakes run in the background; axum gets the finished ones).
    pub async fn bind(self, data_dir: &Path) -> anyhow::Result<HttpsListener> {
        let tcp = TcpListener::bind(self.addr)
            .await
            .with_context(|| format!("cannot listen (HTTPS) on {}", self.addr))?;
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let accept_loop = tokio::spawn(accept_loop(tcp, self.acceptor, tx));
        std::fs::write(data_dir.join(HTTPS_ADDRESS_FILE), local.to_string())?;
        tracing::info!(address = %local, fingerprint = %self.fingerprint, "cimjob is serving https://{local}/");
        let listener = TlsListener {
            rx,
            local,
            accept_loop: accept_loop.abort_handle(),
        };
        Ok(listener.tap_io(keep_stream as fn(&mut TlsStream<TcpStream>)))
    }
}

/// Removes `<data-dir>/cimjob-https.addr` (at shutdown).
pub fn remove_address_file(data_dir: &Path) {
    let _ = fs::remove_file(data_dir.join(HTTPS_ADDRESS_FILE));
}

/// The HTTPS listener to give `axum::serve`. The (no-op) `tap_io` wrapper is what makes axum's
/// `ConnectInfo<SocketAddr>` available for a listener of another crate.
pub type HttpsListener = TapIo<TlsListener, fn(&mut TlsStream<TcpStream>)>;

fn keep_stream(_: &mut TlsStream<TcpStream>) {}

/// Connections whose TLS handshake succeeded, with their client's address.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accept_loop: tokio::task::AbortHandle,
}

impl Drop for TlsListener {
    /// axum drops its listener when the shutdown signal comes: stop accepting, close the port.
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // the accept loop is gone (it ends only when aborted): nothing more will come
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Accepts TCP connections and hands each to its own handshake task; never ends on its own.
async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                accept_error(e).await;
                continue;
            }
        };
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            tracing::warn!(client = %peer, "{MAX_HANDSHAKES} TLS handshakes in progress; closing this connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
            drop(permit);
            match handshake {
                Ok(Ok(tls)) => {
                    // fails only when the service is stopping: the connection is dropped
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(client = %peer, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(
                    client = %peer,
                    "TLS handshake not done in {}s; closing the connection",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
            }
        });
    }
}

/// As axum does for its own listener: a client that went away is nothing; anything else (e.g.
/// out of file descriptors) is logged and waited out.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("HTTPS accept error: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

fn acceptor(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> anyhow::Result<TlsAcceptor> {
    // an explicit provider: no dependence on which rustls crypto features the build unifies
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // axum serves HTTP/1.1 (no http2 feature)
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The SHA-256 fingerprint of a DER certificate, `AA:BB:…` (as `openssl x509 -fingerprint
/// -sha256` prints it).
pub fn fingerprint(cert: &[u8]) -> String {
    let digest = Sha256::digest(cert);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

fn load_pem(
    cert: &Path,
    key: &Path,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the TLS certificate {}", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
        cert.display()
    );
    let key_der = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "cannot read the TLS private key {} (expected PEM: PKCS#8, PKCS#1 or SEC1)",
            key.display()
        )
    })?;
    Ok((chain, key_der))
}

/// The generated certificate in `dir`, made (and stored) if there is none yet.
fn self_signed(
    dir: &Path,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String)> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => {
            if let Ok(meta) = fs::metadata(&key_path) {
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(
                        "{} is readable by others than its owner (mode {:o}); chmod 600 it",
                        key_path.display(),
                        meta.permissions().mode() & 0o777
                    );
                }
            }
            let (chain, key) = load_pem(&cert_path, &key_path)?;
            return Ok((chain, key, format!("self-signed: {}", cert_path.display())));
        }
        (false, false) => {}
        (has_cert, _) => {
            let (missing, present) = if has_cert {
                (&key_path, &cert_path)
            } else {
                (&cert_path, &key_path)
            };
            tracing::warn!(
                "{} is missing (but {} is there): making a new self-signed certificate",
                missing.display(),
                present.display()
            );
        }
    }
    let (cert_pem, key_pem) = make_self_signed()?;
    create_private_dir(dir)?;
    write_file(&key_path, key_pem.as_bytes(), 0o600)?;
    write_file(&cert_path, cert_pem.as_bytes(), 0o644)?;
    tracing::info!(
        "made a self-signed certificate for HTTPS: {} (key {})",
        cert_path.display(),
        key_path.display()
    );
    let (chain, key) = load_pem(&cert_path, &key_path)?;
    Ok((
        chain,
        key,
        format!("self-signed, new: {}", cert_path.display()),
    ))
}

/// A self-signed server certificate (ECDSA P-256) for localhost, 127.0.0.1, ::1 and the host
/// name, valid from yesterday for 10 years; returns (certificate PEM, key PEM).
fn make_self_signed() -> anyhow::Result<(String, String)> {
    let host = host_name();
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Some(h) = &host {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(h)) {
            names.push(h.clone());
        }
    }
    let mut params = rcgen::CertificateParams::new(names)
        .context("cannot make the certificate's subject alternative names")?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        rcgen::DnType::CommonName,
        format!("cimjob on {}", host.as_deref().unwrap_or("localhost")),
    );
    dn.push(rcgen::DnType::OrganizationName, "cimjob (self-signed)");
    params.distinguished_name = dn;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let start = today.yesterday().unwrap_or(today);
    params.not_before = rcgen::date_time_ymd(
        start.year().into(),
        start.month().unsigned_abs(),
        start.day().unsigned_abs(),
    );
    params.not_after = rcgen::date_time_ymd(
        i32::from(today.year()) + 10,
        today.month().unsigned_abs(),
        today.day().unsigned_abs().min(28),
    );
    // an end-entity certificate (rustls refuses a CA one as a server's), with the key
    // identifiers OpenSSL's strict verification (Python 3.13+, urllib3) asks for
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let key = rcgen::KeyPair::generate().context("cannot make a key pair")?;
    let cert = params
        .self_signed(&key)
        .context("cannot make the self-signed certificate")?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// This machine's host name, when it can be a DNS name in a certificate.
fn host_name() -> Option<String> {
    let name = nix::unistd::gethostname().ok()?.into_string().ok()?;
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    valid.then_some(name)
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes `path` whole or not at all (a temporary file renamed), with `mode`.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
        fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_listens_beside_the_http_port_unless_told() {
        let at = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert_eq!(https_beside(at("127.0.0.1:5988")), DEFAULT_HTTPS_LISTEN);
        assert_eq!(https_beside(at("127.0.0.1:7000")), at("127.0.0.1:7001"));
        assert_eq!(https_beside(at("[::1]:8080")), at("[::1]:8081"));
        assert_eq!(https_beside(at("127.0.0.1:0")), at("127.0.0.1:0"));
        assert_eq!(https_beside(at("127.0.0.1:65535")), at("127.0.0.1:0"));
    }

    #[test]
    fn https_listen_parses_addresses_and_off() {
        assert_eq!("off".parse::<HttpsListen>(), Ok(HttpsListen::Off));
        assert_eq!(
            "127.0.0.1:0".parse::<HttpsListen>(),
            Ok(HttpsListen::At("127.0.0.1:0".parse().unwrap()))
        );
        assert_eq!(
            "[::]:5989".parse::<HttpsListen>(),
            Ok(HttpsListen::At("[::]:5989".parse().unwrap()))
        );
        assert!("5989".parse::<HttpsListen>().is_err());
    }

    #[test]
    fn plain_http_stays_on_loopback_unless_allowed() {
        for ok in [
            "127.0.0.1:5988",
            "127.1.2.3:0",
            "[::1]:5988",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(check_plain_http(ok.parse().unwrap(), false).is_ok(), "{ok}");
        }
        for remote in ["0.0.0.0:5988", "192.0.2.1:5988", "[::]:5988"] {
            let err = check_plain_http(remote.parse().unwrap(), false).unwrap_err();
            assert!(err.to_string().contains(remote), "{err}");
            assert!(check_plain_http(remote.parse().unwrap(), true).is_ok());
        }
    }

    #[test]
    fn fingerprint_is_colon_separated_upper_hex() {
        let fp = fingerprint(b"abc");
        assert_eq!(
            fp,
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn a_generated_certificate_is_made_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join(TLS_DIR);
        let (first, _, origin) = self_signed(&tls).unwrap();
        assert!(origin.contains("new"), "{origin}");
        let mode = fs::metadata(tls.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, _, origin) = self_signed(&tls).unwrap();
        assert!(!origin.contains("new"), "{origin}");
        assert_eq!(first, again);
    }
}
