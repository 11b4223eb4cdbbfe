//! HTTPS: the real binary with `--https-listen 127.0.0.1:0`, checked with a rustls client
//! (reqwest). The assertions are about TLS (handshake, certificate, an HTTP response coming
//! back), not about the HTTP status, so they hold whether or not a route asks for credentials.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{serve_refused, Service, BIN};
use sha2::Digest;

const HTTPS: &[&str] = &["--https-listen", "127.0.0.1:0"];

fn https_addr(svc: &Service) -> String {
    let path = svc.data_dir().join("cimjob-https.addr");
    let addr = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; log:\n{}", path.display(), svc.log()));
    addr.trim().to_string()
}

fn generated_cert(svc: &Service) -> PathBuf {
    svc.data_dir().join("tls/cert.pem")
}

fn fingerprint_file(svc: &Service) -> String {
    std::fs::read_to_string(svc.data_dir().join("tls/fingerprint"))
        .unwrap()
        .trim()
        .to_string()
}

fn fingerprint(der: &[u8]) -> String {
    let digest = sha2::Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// What came back over TLS: the HTTP status and version, and the server's certificate (DER).
#[derive(Debug)]
struct Reply {
    status: u16,
    version: reqwest::Version,
    peer_cert: Vec<u8>,
}

/// One GET over https trusting exactly `roots` (PEM files; none = trust nothing).
fn https_get(url: &str, roots: &[&Path]) -> Result<Reply, reqwest::Error> {
    get_as(url, roots, None)
}

/// One GET (http or https; over https trusting exactly `roots`) with these credentials or none.
fn get_as(
    url: &str,
    roots: &[&Path],
    credentials: Option<(&str, &str)>,
) -> Result<Reply, reqwest::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .tls_info(true)
            .timeout(Duration::from_secs(10));
        for root in roots {
            let pem = std::fs::read(root).unwrap();
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
        }
        let mut request = builder.build().unwrap().get(url);
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        let resp = request.send().await?;
        let peer_cert = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        assert!(
            url.starts_with("http:") || !peer_cert.is_empty(),
            "no peer certificate over https"
        );
        Ok(Reply {
            status: resp.status().as_u16(),
            version: resp.version(),
            peer_cert,
        })
    })
}

/// The certificate's DER (the first one in a PEM file).
fn der(pem_file: &Path) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_file(pem_file)
        .unwrap()
        .to_vec()
}

#[test]
fn https_serves_the_generated_certificate_to_a_client_that_trusts_it() {
    let svc = Service::start(HTTPS);
    let addr = https_addr(&svc);
    let cert = generated_cert(&svc);
    let reply = https_get(&format!("https://{addr}/"), &[&cert])
        .unwrap_or_else(|e| panic!("https GET /: {e:?}; log:\n{}", svc.log()));
    assert!((100..600).contains(&reply.status), "{reply:?}");
    assert_eq!(reply.version, reqwest::Version::HTTP_11);
    assert_eq!(reply.peer_cert, der(&cert));
    assert_eq!(fingerprint_file(&svc), fingerprint(&reply.peer_cert));
    assert!(
        svc.log().contains(&fingerprint(&reply.peer_cert)),
        "the fingerprint is not in the log:\n{}",
        svc.log()
    );
    // the name localhost is in the certificate too
    let port = addr.rsplit(':').next().unwrap();
    https_get(&format!("https://localhost:{port}/"), &[&cert])
        .unwrap_or_else(|e| panic!("https://localhost:{port}/: {e:?}"));

    // the key is private to the service's user
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(svc.data_dir().join("tls/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "key.pem mode {mode:o}");
}

#[test]
fn https_serves_the_same_routes_as_http() {
    let svc = Service::start(HTTPS);
    let cert = generated_cert(&svc);
    let https = format!("https://{}", https_addr(&svc));
    let admin = Some(("admin", common::ADMIN_PASSWORD));
    for credentials in [None, admin] {
        for path in ["/", "/api/v1/jobs", "/no/such/route"] {
            let http = get_as(&format!("{}{path}", svc.url), &[], credentials)
                .unwrap_or_else(|e| panic!("http GET {path}: {e:?}"));
            let reply = get_as(&format!("{https}{path}"), &[&cert], credentials)
                .unwrap_or_else(|e| panic!("https GET {path}: {e:?}"));
            assert_eq!(
                reply.status, http.status,
                "GET {path} over https vs http, credentials {credentials:?}"
            );
        }
    }
}

#[test]
fn a_client_that_does_not_trust_the_certificate_is_refused() {
    let svc = Service::start(HTTPS);
    let url = format!("https://{}/", https_addr(&svc));
    let err = https_get(&url, &[]).expect_err("a client trusting nothing must fail the handshake");
    assert!(err.is_connect(), "{err:?}");
    let text = format!("{err:?}");
    assert!(
        text.contains("UnknownIssuer") || text.contains("certificate"),
        "not a certificate error: {text}"
    );
    // another certificate as the root is no better
    let other = tempfile::tempdir().unwrap();
    let (cert, _) = write_cert_pair(other.path());
    https_get(&url, &[&cert]).expect_err("a client trusting another certificate must fail");
}

#[test]
fn the_generated_certificate_is_reused_across_restarts() {
    let mut svc = Service::start(HTTPS);
    let first = fingerprint_file(&svc);
    let first_pem = std::fs::read(generated_cert(&svc)).unwrap();
    let first_key = std::fs::read(svc.data_dir().join("tls/key.pem")).unwrap();
    svc.stop();
    svc.restart();
    assert_eq!(fingerprint_file(&svc), first);
    assert_eq!(std::fs::read(generated_cert(&svc)).unwrap(), first_pem);
    assert_eq!(
        std::fs::read(svc.data_dir().join("tls/key.pem")).unwrap(),
        first_key
    );
    let reply = https_get(
        &format!("https://{}/", https_addr(&svc)),
        &[&generated_cert(&svc)],
    )
    .unwrap_or_else(|e| panic!("https after restart: {e:?}"));
    assert_eq!(fingerprint(&reply.peer_cert), first);
}

/// A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files in `dir`.
fn write_cert_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = dir.join("configured-cert.pem");
    let key = dir.join("configured-key.pem");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

#[test]
fn a_configured_certificate_and_key_are_served() {
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = write_cert_pair(files.path());
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let svc = Service::start(&[HTTPS[0], HTTPS[1], "--tls-cert", cert_s, "--tls-key", key_s]);
    let reply = https_get(&format!("https://{}/", https_addr(&svc)), &[&cert])
        .unwrap_or_else(|e| panic!("https GET /: {e:?}; log:\n{}", svc.log()));
    assert_eq!(reply.peer_cert, der(&cert));
    assert_eq!(fingerprint(&reply.peer_cert), fingerprint(&der(&cert)));
    assert_eq!(fingerprint_file(&svc), fingerprint(&der(&cert)));
    assert!(
        !generated_cert(&svc).exists(),
        "a certificate was generated although one is configured"
    );
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let files = tempfile::tempdir().unwrap();
    let a = files.path().join("a");
    let b = files.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let (cert, _) = write_cert_pair(&a);
    let (_, other_key) = write_cert_pair(&b);
    let stderr = serve_refused(&[
        "--listen",
        "127.0.0.1:0",
        "--https-listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        other_key.to_str().unwrap(),
    ]);
    assert!(stderr.contains(cert.to_str().unwrap()), "{stderr}");
}

#[test]
fn plain_http_on_a_remote_address_is_refused_unless_allowed() {
    let stderr = serve_refused(&["--listen", "0.0.0.0:0", "--https-listen", "127.0.0.1:0"]);
    assert!(
        stderr.contains("0.0.0.0:0"),
        "the error does not name the address: {stderr}"
    );
    assert!(stderr.contains("--allow-remote-http"), "{stderr}");
}

#[test]
fn plain_http_on_a_remote_address_starts_with_a_warning_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--listen", "0.0.0.0:0", "--https-listen", "127.0.0.1:0"])
        .arg("--allow-remote-http")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("cimjob.addr").exists() {
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "did not start with --allow-remote-http:\n{}",
                std::fs::read_to_string(&log).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("WARN") && text.contains("clear text"),
        "no warning:\n{text}"
    );
}

#[test]
fn a_broken_or_slow_handshake_does_not_stop_the_next_client() {
    let svc = Service::start(HTTPS);
    let addr = https_addr(&svc);
    let cert = generated_cert(&svc);

    // a client that connects and says nothing (holds its handshake open)
    let _silent = TcpStream::connect(&addr).unwrap();

    // plain HTTP to the TLS port: the server gives up on it (closes) without waiting
    let mut plain = TcpStream::connect(&addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let mut junk = Vec::new();
    match plain.read_to_end(&mut junk) {
        Ok(_) => {}
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the server kept a failed handshake open: {e}"
        ),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        !String::from_utf8_lossy(&junk).contains("cimjob"),
        "plain HTTP was answered on the TLS port"
    );

    // a few at once, then a good client: served at once (well before the silent one times out)
    for _ in 0..5 {
        let mut s = TcpStream::connect(&addr).unwrap();
        let _ = s.write_all(b"\x16\x03\x01\x00\x05hello");
    }
    let started = Instant::now();
    let reply = https_get(&format!("https://{addr}/"), &[&cert])
        .unwrap_or_else(|e| panic!("https after a broken handshake: {e:?}; log:\n{}", svc.log()));
    assert!((100..600).contains(&reply.status));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the good client waited {:?}",
        started.elapsed()
    );
}

#[test]
fn sigterm_stops_https_too() {
    let mut svc = Service::start(HTTPS);
    let addr = https_addr(&svc);
    svc.stop();
    assert!(
        TcpStream::connect(&addr).is_err(),
        "the HTTPS port still accepts after SIGTERM"
    );
    assert!(!svc.data_dir().join("cimjob-https.addr").exists());
}

#[test]
fn https_listen_off_serves_no_https() {
    let svc = Service::start(&["--https-listen", "off"]);
    assert!(!svc.data_dir().join("cimjob-https.addr").exists());
    assert!(!generated_cert(&svc).exists());
    let (status, _) = svc.get("/");
    assert!((100..600).contains(&status));
}

#[test]
fn the_cli_speaks_https_trusting_the_local_services_certificate_or_a_ca_file() {
    let svc = Service::start(HTTPS);
    let url = format!("https://{}", https_addr(&svc));
    let cli = |args: &[&str], data_dir: &Path| {
        std::process::Command::new(common::BIN)
            .args(args)
            .env("CIMJOB_URL", &url)
            .env("CIMJOB_DATA_DIR", data_dir)
            .env("CIMJOB_USER", "admin")
            .env("CIMJOB_PASSWORD", common::ADMIN_PASSWORD)
            .env_remove("CIMJOB_CA")
            .output()
            .unwrap()
    };
    // on the service's machine: its own certificate, found in its data dir
    let id = common::submitted_id(&String::from_utf8_lossy(
        &cli(&["submit", "--", "true"], svc.data_dir()).stdout,
    ));
    let elsewhere = tempfile::tempdir().unwrap();
    // elsewhere, the certificate is not known: refused, unless --ca names it
    let refused = cli(&["show", &id.to_string()], elsewhere.path());
    assert!(!refused.status.success());
    let cert = generated_cert(&svc);
    let shown = cli(
        &["show", &id.to_string(), "--ca", cert.to_str().unwrap()],
        elsewhere.path(),
    );
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(String::from_utf8_lossy(&shown.stdout).contains(&format!("CIMJOB:{id}")));
    // a --ca that cannot be read is named
    let missing = cli(&["list", "--ca", "/nonexistent/ca.pem"], elsewhere.path());
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/ca.pem"));
}
