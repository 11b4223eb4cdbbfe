"""Fixtures of the interop suite: one `cimjob serve` for the whole session (data dir in a
temporary directory, --listen 127.0.0.1:0 --max-running 4), a pywbem connection per test, and
a per-test job helper that cleans up after itself."""

from __future__ import annotations

import re
import uuid

import pytest
import pywbem

from harness import (CREDENTIALS, NAMESPACE, Jobs, Service, cluster_service, on_postgres,
                     running_service)

_started: list[Service] = []


def pytest_terminal_summary(terminalreporter):
    """Where the service's log is, and the panics it records (one line each, deduplicated)."""
    for svc in _started:
        if not svc.log_path.exists():
            continue
        terminalreporter.section("cimjob serve")
        terminalreporter.write_line(f"service log: {svc.log_path}")
        try:
            lines = svc.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            continue
        panics = {}
        for i, line in enumerate(lines):
            if "panicked at" in line:
                where = line.split("panicked at", 1)[1].strip().rstrip(":")
                what = lines[i + 1].strip() if i + 1 < len(lines) else ""
                panics[(where, what)] = panics.get((where, what), 0) + 1
        for (where, what), n in sorted(panics.items(), key=lambda kv: -kv[1])[:15]:
            terminalreporter.write_line(f"PANIC x{n} at {where}: {what}", red=True)


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    """The running service (see harness.Service). Stopped with SIGTERM at the end of the
    session; a service that does not exit 0 within the bound fails the session. With
    CIMJOB_TEST_STORE=postgres it is node a of a two-node cluster on the real PostgreSQL
    server, node b serving beside it."""
    flags = ["--max-running", "4"]
    if on_postgres():
        dirs = (tmp_path_factory.mktemp("cimjob-data"), tmp_path_factory.mktemp("cimjob-node-b"))
        with cluster_service(dirs, flags, _started) as svc:
            yield svc
        return
    with running_service(tmp_path_factory.mktemp("cimjob-data"), flags, _started) as svc:
        yield svc


@pytest.fixture(scope="session")
def url(service) -> str:
    """The service's base URL, http://127.0.0.1:PORT (the WBEM endpoint is URL/cimom)."""
    return service.url


@pytest.fixture(autouse=True)
def _service_stays_up(request):
    """Every test ends with the service still running (a crash is reported with its log)."""
    yield
    if "service" in request.fixturenames:
        svc = request.getfixturevalue("service")
        assert svc.alive(), f"cimjob serve died during this test; log:\n{svc.log()}"


@pytest.fixture
def conn(url):
    """A pywbem connection as a real client makes it: root/cimv2, the admin's credentials."""
    c = pywbem.WBEMConnection(url, creds=CREDENTIALS, default_namespace=NAMESPACE, no_verification=True, timeout=30)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def pull_conn(url):
    """A connection whose Iter* operations must use the pull operations."""
    c = pywbem.WBEMConnection(url, creds=CREDENTIALS, default_namespace=NAMESPACE, no_verification=True,
                              timeout=30, use_pull_operations=True)
    try:
        yield c
    finally:
        c.close()


def _prefix(request) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", request.node.name)[:40]
    return f"{base}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def jobs(service, request):
    """Creates and waits on this test's jobs; kills the ones still running at the end."""
    j = Jobs(service, _prefix(request))
    try:
        yield j
    finally:
        j.cleanup()
