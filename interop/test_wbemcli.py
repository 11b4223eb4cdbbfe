"""Debian's sblim-wbemcli (a C client with its own XML parser) against the service.

Object paths are one argument, `http://127.0.0.1:PORT/root/cimv2:CLASS[.KEY="VALUE"]` (in a
shell: single-quoted so the double quotes reach wbemcli); method calls are
`wbemcli cm PATH 'Method.Param=value'`. Plain http needs neither -noverify nor credentials.

What wbemcli needs of a server, seen on the wire: its request body starts with a newline
before `<?xml`; `cm` first does GetClass (IncludeQualifiers true) to learn parameter types and
then sends PARAMVALUEs without PARAMTYPE; its parser rejects empty elements written as
`<X/>` (e.g. `<PROPERTY .../>`, `<VALUE/>`, `<PARAMETER .../>`, `<IRETURNVALUE/>` of an empty
result): they must be `<X></X>` (it does accept `<NAMESPACE .../>`, `<CLASSNAME .../>` and an
`<ERROR .../>`); and it cannot parse an ERROR that carries embedded CIM_Error INSTANCEs."""

import re
import shutil
import subprocess

import pytest

import pywbem

from harness import (ADMIN_PASSWORD, ADMIN_USER, COMPLETED, CREDENTIALS, JOB_CLASS, NAMESPACE, RUNNING,
                     SERVICE_CLASS, SUSPENDED)

WBEMCLI = shutil.which("wbemcli") or "/usr/bin/wbemcli"


@pytest.fixture
def wbemcli(url):
    # wbemcli takes the credentials in the URL, and prints paths without them
    base = url.removeprefix("http://")
    url = f"http://{ADMIN_USER}:{ADMIN_PASSWORD}@{base}"

    def run(*args, expect_rc=0):
        cmd = [WBEMCLI, *args]
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert out.returncode == expect_rc, (
            f"{cmd} exited {out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}")
        return out.stdout, out.stderr

    run.base = base
    run.url = url
    run.cls = lambda classname, ns="root/cimv2": f"{url}/{ns}:{classname}"
    run.inst = lambda job: f'{url}/root/cimv2:CIMJOB_ConcreteJob.InstanceID="{job.instance_id}"'
    return run


def test_ei_lists_the_jobs_with_their_paths(wbemcli, jobs):
    job = jobs.submit(["true"])
    jobs.wait_final(job)
    out, _ = wbemcli("ei", wbemcli.cls("CIMJOB_ConcreteJob"))
    line = next((l for l in out.splitlines() if f'InstanceID="{job.instance_id}"' in l.split(" ", 1)[0]), None)
    assert line, out[-2000:]
    assert line.startswith(f'{wbemcli.base}/root/cimv2:CIMJOB_ConcreteJob.InstanceID="{job.instance_id}" ')
    assert f'Name="{job.name}"' in line
    assert "JobState=7" in line


def test_ei_of_cim_concretejob_is_polymorphic(wbemcli, jobs):
    job = jobs.submit(["true"])
    out, _ = wbemcli("ei", wbemcli.cls("CIM_ConcreteJob"))
    assert f':CIMJOB_ConcreteJob.InstanceID="{job.instance_id}"' in out


def test_gi_shows_one_job(wbemcli, jobs):
    job = jobs.submit(["true"])
    jobs.wait_state(job, COMPLETED)
    out, _ = wbemcli("gi", wbemcli.inst(job))
    assert out.startswith(f'{wbemcli.base}/root/cimv2:CIMJOB_ConcreteJob.InstanceID="{job.instance_id}" ')
    assert f'Name="{job.name}"' in out
    assert "JobState=7" in out
    assert 'CommandLine="true"' in out


def test_gi_with_nl_prints_a_property_per_line(wbemcli, jobs):
    job = jobs.submit(["true"])
    out, _ = wbemcli("-nl", "gi", wbemcli.inst(job))
    lines = out.splitlines()
    assert f'-Name="{job.name}"' in lines
    assert f'-InstanceID="{job.instance_id}"' in lines


def test_ein_lists_instance_paths(wbemcli, jobs):
    job = jobs.submit(["true"])
    out, _ = wbemcli("ein", wbemcli.cls("CIMJOB_ConcreteJob"))
    assert f'{wbemcli.base}/root/cimv2:CIMJOB_ConcreteJob.InstanceID="{job.instance_id}"' in out.splitlines()


def test_cm_requeststatechange_suspends_a_running_job(wbemcli, jobs):
    job = jobs.submit(["sleep", "30"])
    jobs.wait_state(job, RUNNING)
    out, _ = wbemcli("cm", wbemcli.inst(job), "RequestStateChange.RequestedState=3")
    assert re.search(r"RequestStateChange: 0\s*$", out), out
    assert jobs.get(job)["JobState"] == SUSPENDED
    out, _ = wbemcli("cm", wbemcli.inst(job), "RequestStateChange.RequestedState=2")
    assert re.search(r"RequestStateChange: 0\s*$", out), out
    assert jobs.get(job)["JobState"] == RUNNING


def test_ain_from_a_job_gives_its_service(wbemcli, jobs):
    job = jobs.submit(["true"])
    out, _ = wbemcli("ain", "-ac", "CIM_OwningJobElement", wbemcli.inst(job))
    assert f":{SERVICE_CLASS}." in out


def test_gc_shows_the_class(wbemcli):
    out, _ = wbemcli("gc", wbemcli.cls("CIMJOB_ConcreteJob"))
    assert "CIMJOB_ConcreteJob" in out
    assert "CommandLine" in out


def test_gi_of_a_missing_job_reports_not_found(wbemcli):
    missing = f'{wbemcli.url}/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:987654321"'
    _, err = wbemcli("gi", missing, expect_rc=16)
    assert "(6) CIM_ERR_NOT_FOUND" in err


def test_ain_with_no_associated_object_prints_nothing(wbemcli, jobs):
    """An empty result (a job has no capabilities) must parse too."""
    job = jobs.submit(["true"])
    out, _ = wbemcli("ain", "-ac", "CIM_ElementCapabilities", wbemcli.inst(job))
    assert out.strip() == ""


def test_cm_submitjob_returns_4096_and_the_job_reference(wbemcli, url, jobs):
    conn = pywbem.WBEMConnection(url, creds=CREDENTIALS, default_namespace=NAMESPACE, no_verification=True, timeout=30)
    try:
        (svc,) = conn.EnumerateInstanceNames(SERVICE_CLASS)
    finally:
        conn.close()
    keys = ",".join(f'{k}="{v}"' for k, v in svc.keybindings.items())
    name = jobs.name("wbemcli")
    out, _ = wbemcli("cm", f"{wbemcli.url}/root/cimv2:{SERVICE_CLASS}.{keys}",
                     f'SubmitJob.Name="{name}",CommandLine="true"')
    m = re.search(r'SubmitJob: 4096, Job \(reference\): [^ ]*' + JOB_CLASS + r'\.InstanceID="(CIMJOB:\d+)"', out)
    assert m, out
    job = jobs.track(m.group(1))
    assert jobs.wait_state(job, COMPLETED)["Name"] == name
