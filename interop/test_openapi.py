"""The JSON API's OpenAPI document against the live service: schemathesis (from PyPI) sends
what the document allows and what it does not to every operation of a service of the test's
own (it submits, modifies, deletes and bulk-kills at random), with every default check, and
must report no failure. interop/schemathesis.toml names the operations and checks it scopes,
each with its reason."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

from harness import basic_authorization, cluster_service, on_postgres, running_service

HERE = Path(__file__).resolve().parent
SCHEMATHESIS = HERE / ".venv" / "bin" / "schemathesis"
# the routes of crates/cimjob/src/api/mod.rs, each of which the document must declare
ROUTES = {
    "/api/v1/jobs": {"get", "post"},
    "/api/v1/jobs/{id}": {"get", "patch", "delete"},
    "/api/v1/jobs/{id}/runs": {"get"},
    "/api/v1/jobs/{id}/runs/{run}/log": {"get"},
    "/api/v1/jobs/{id}/events": {"get"},
    "/api/v1/events": {"get"},
    "/api/v1/jobs/{id}/requeststatechange": {"post"},
    "/api/v1/jobs/{id}/killjob": {"post"},
    "/api/v1/jobs/{id}/answerquery": {"post"},
    "/api/v1/jobs/bulk": {"post"},
    "/api/v1/jobs/{id}/runnow": {"post"},
}


@pytest.fixture(scope="module")
def own_service(tmp_path_factory):
    """A service for schemathesis alone (what it does to jobs would disturb other tests)."""
    flags = ["--max-running", "4"]
    if on_postgres():
        dirs = (tmp_path_factory.mktemp("openapi-a"), tmp_path_factory.mktemp("openapi-b"))
        with cluster_service(dirs, flags, tag="_openapi") as svc:
            yield svc
        return
    with running_service(tmp_path_factory.mktemp("openapi"), flags) as svc:
        yield svc


def get(url: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": basic_authorization()})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def test_the_document_is_openapi_3_1_and_declares_every_route(own_service):
    status, headers, body = get(own_service.url + "/api/v1/openapi.json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    document = json.loads(body)
    assert document["openapi"] == "3.1.0"
    declared = {path: set(item) & {"get", "post", "patch", "delete", "put"}
                for path, item in document["paths"].items()}
    assert declared == ROUTES
    assert document["components"]["securitySchemes"]["basic"] == {"type": "http", "scheme": "basic"}
    job = document["components"]["schemas"]["Job"]
    assert job["properties"]["JobState"]["type"] == ["integer", "null"]
    assert job["additionalProperties"] is False


def test_the_docs_page_and_its_assets_come_from_the_service(own_service):
    status, _, page = get(own_service.url + "/api/v1/docs/")
    assert status == 200 and b"swagger-ui" in page
    assert b"http://" not in page and b"https://" not in page, "nothing from another host"
    status, headers, bundle = get(own_service.url + "/api/v1/docs/swagger-ui-bundle.js")
    assert status == 200 and len(bundle) > 100_000
    status, _, config = get(own_service.url + "/api/v1/docs/swagger-initializer.js")
    assert status == 200 and b"/api/v1/openapi.json" in config


def test_schemathesis_finds_no_failure(own_service, tmp_path):
    report = tmp_path / "junit.xml"
    command = [
        str(SCHEMATHESIS), "--config-file", str(HERE / "schemathesis.toml"), "run",
        own_service.url + "/api/v1/openapi.json",
        # the credentials as a header the caller always sends (not --auth: schemathesis then
        # counts a case it meant to send without them as sent without them)
        "-H", f"Authorization: {basic_authorization()}",
        "--max-examples", "60", "--seed", "20261207", "--generation-allow-x00", "false",
        "--request-timeout", "20", "--report", "junit", "--report-junit-path", str(report),
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    summary = out.stdout[-6000:]
    assert out.returncode == 0, f"schemathesis exit {out.returncode}:\n{summary}\n{out.stderr[-2000:]}"
    assert "Tested: 12" in out.stdout, f"not every operation was tested:\n{summary}"
