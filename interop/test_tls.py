"""HTTPS (5989 by default; the session's service serves it on a free loopback port written to
`<data-dir>/cimjob-https.addr`): pywbem over TLS verifying the service's self-signed
certificate (`<data-dir>/tls/cert.pem`), whose SHA-256 fingerprint is in `<data-dir>/tls/fingerprint`."""

from __future__ import annotations

import hashlib
import socket
import ssl

import pytest
import pywbem

import harness
from harness import NAMESPACE


@pytest.fixture(autouse=True)
def _ca_certs_not_overridden(monkeypatch):
    """requests prefers $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE to the CA file pywbem sets on its
    session (ca_certs), psf/requests#3829 and #4726: without them, ca_certs is what verifies."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture(scope="session")
def https_url(service) -> str:
    """https://127.0.0.1:PORT, the session service's HTTPS listener."""
    addr = (service.data_dir / "cimjob-https.addr").read_text().strip()
    assert addr, "the service wrote no HTTPS address"
    return f"https://{addr}"


@pytest.fixture(scope="session")
def ca_cert(service) -> str:
    """The certificate the service made on its first start (self-signed: its own CA)."""
    path = service.data_dir / "tls" / "cert.pem"
    assert path.is_file(), f"no generated certificate at {path}"
    return str(path)


@pytest.fixture
def creds(request):
    """The suite's credentials: a `credentials` fixture if the harness has one, else
    harness.CREDENTIALS, else none (a service that does not authenticate)."""
    try:
        return request.getfixturevalue("credentials")
    except pytest.FixtureLookupError:
        return getattr(harness, "CREDENTIALS", None)


def https_conn(https_url, creds, **kwargs) -> pywbem.WBEMConnection:
    return pywbem.WBEMConnection(https_url, creds=creds, default_namespace=NAMESPACE, timeout=30,
                                 **kwargs)


def colon_hex(der: bytes) -> str:
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def test_pywbem_enumerates_class_names_over_https_verifying_the_certificate(https_url, ca_cert, creds):
    conn = https_conn(https_url, creds, ca_certs=ca_cert)
    try:
        names = conn.EnumerateClassNames(DeepInheritance=True)
    finally:
        conn.close()
    assert "cimjob_concretejob" in {n.lower() for n in names}, names


def test_https_and_http_give_the_same_answer(https_url, ca_cert, creds, conn):
    tls = https_conn(https_url, creds, ca_certs=ca_cert)
    try:
        over_https = sorted(tls.EnumerateClassNames(DeepInheritance=True))
    finally:
        tls.close()
    assert over_https == sorted(conn.EnumerateClassNames(DeepInheritance=True))


def test_pywbem_refuses_the_certificate_without_the_ca(https_url, creds, tmp_path):
    # the system's CAs (pywbem's default) do not vouch for a self-signed certificate
    conn = https_conn(https_url, creds)
    try:
        with pytest.raises(pywbem.ConnectionError, match="(?i)certificate|ssl"):
            conn.EnumerateClassNames()
    finally:
        conn.close()


def test_the_fingerprint_file_is_the_served_certificate(https_url, ca_cert, service):
    host, port = https_url.removeprefix("https://").rsplit(":", 1)
    # OpenSSL's strict checks, as Python 3.13+ and urllib3 turn them on by default
    ctx = ssl.create_default_context(cafile=ca_cert)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    fingerprint = (service.data_dir / "tls" / "fingerprint").read_text().strip()
    assert colon_hex(der) == fingerprint
    assert fingerprint in service.log(tail=10**7), "the fingerprint is not in the service's log"
