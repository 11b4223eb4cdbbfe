"""pywbemcli (pywbemtools) against the service, as an operator would run it:
`pywbemcli -s URL --no-verify [-d NAMESPACE] COMMAND ...`.

pywbemtools 1.x renamed the old `server namespaces|profiles|interop` commands: they are
`namespace list`, `profile list` and `namespace interop` now (`server brand` and `server info`
remain); these tests use the current names."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import ADMIN_PASSWORD, ADMIN_USER, RUNNING, SUSPENDED, crate_version

PYWBEMCLI = Path(sys.executable).with_name("pywbemcli")


@pytest.fixture
def cli(url, tmp_path):
    """Runs pywbemcli against the service; asserts exit 0; returns stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWBEMCLI_")}
    env["PYWBEMCLI_CONNECTIONS_FILE"] = str(tmp_path / "connections.yaml")
    env["PYWBEMTOOLS_TERMWIDTH"] = "200"

    def run(*args, expect_rc=0):
        """expect_rc=None: no check, returns the CompletedProcess."""
        cmd = [str(PYWBEMCLI), "-s", url, "-u", ADMIN_USER, "-p", ADMIN_PASSWORD, "--no-verify", *args]
        out = subprocess.run(cmd, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=120)
        if expect_rc is None:
            return out
        assert out.returncode == expect_rc, (
            f"{' '.join(cmd)} exited {out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}")
        return out.stdout

    return run


def test_pywbemcli_is_the_pinned_version():
    out = subprocess.run([str(PYWBEMCLI), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    pinned = (Path(__file__).parent / "requirements.txt").read_text()
    version = re.search(r"^pywbemtools==(\S+)", pinned, re.M).group(1)
    assert version in out.stdout


def test_class_get_shows_the_class_in_mof(cli):
    out = cli("class", "get", "CIMJOB_ConcreteJob")
    assert re.search(r"class CIMJOB_ConcreteJob\s*:\s*CIM_ConcreteJob", out), out
    assert "CommandLine" in out and "AnswerQuery(" in out


def test_class_tree_shows_our_class_under_cim_job(cli):
    out = cli("class", "tree", "CIM_Job")
    assert "CIM_ConcreteJob" in out and "CIMJOB_ConcreteJob" in out


def test_instance_enumerate_lists_the_jobs(cli, jobs):
    job = jobs.submit(["true"])
    out = cli("instance", "enumerate", "CIM_ConcreteJob")
    assert "instance of CIMJOB_ConcreteJob" in out
    assert f'Name = "{job.name}";' in out


def test_instance_enumerate_with_pull_operations(cli, jobs):
    job = jobs.submit(["true"])
    out = cli("--use-pull", "yes", "--pull-max-cnt", "3", "instance", "enumerate", "CIM_ConcreteJob")
    assert f'Name = "{job.name}";' in out


def test_instance_get_by_its_path(cli, jobs):
    job = jobs.submit(["true"])
    jobs.wait_final(job)
    out = cli("instance", "get", f'CIMJOB_ConcreteJob.InstanceID="{job.instance_id}"')
    assert f'InstanceID = "{job.instance_id}";' in out
    assert "JobState = 7;" in out


def test_instance_count_counts_our_class(cli, jobs):
    """`instance count` counts per class, not including subclasses: so our class by name."""
    jobs.submit(["true"])
    out = cli("-o", "plain", "instance", "count", "CIMJOB_*")
    m = re.search(r"root/cimv2\s+CIMJOB_ConcreteJob\s+(\d+)", out)
    assert m and int(m.group(1)) >= 1, out


def test_instance_query(cli, jobs):
    job = jobs.submit(["true"])
    query = f"SELECT * FROM CIM_ConcreteJob WHERE Name = '{job.name}'"
    out = cli("instance", "query", query, expect_rc=None)
    if out.returncode != 0 and "'IterQueryInstancesReturn' object is not iterable" in out.stderr:
        # pywbemtools 1.4.1 does list(IterQueryInstances(...)) but pywbem 1.9.1's
        # IterQueryInstancesReturn is not iterable: a client bug, whatever the server answers
        pytest.xfail("pywbemcli 1.4.1 `instance query` is broken with pywbem 1.9.1 (client TypeError)")
    assert out.returncode == 0, out.stderr
    assert f'Name = "{job.name}";' in out.stdout


def test_instance_invokemethod_requeststatechange_suspends(cli, jobs):
    job = jobs.submit(["sleep", "30"])
    jobs.wait_state(job, RUNNING)
    out = cli("instance", "invokemethod", f'CIMJOB_ConcreteJob.InstanceID="{job.instance_id}"',
              "RequestStateChange", "-p", "RequestedState=3")
    assert "ReturnValue=0" in out
    assert jobs.get(job)["JobState"] == SUSPENDED


def test_server_brand(cli):
    assert "cimjob" in cli("server", "brand").lower()


def test_server_info_shows_brand_version_and_interop_namespace(cli):
    out = cli("-o", "plain", "server", "info")
    assert "cimjob" in out.lower()
    assert crate_version() in out
    assert "interop" in out


def test_namespace_list(cli):
    out = cli("-o", "plain", "namespace", "list")
    assert "root/cimv2" in out and "interop" in out and "root/interop" not in out, "each once"


def test_namespace_interop(cli):
    out = cli("namespace", "interop")
    assert out.strip() in ("interop", "root/interop"), out


def test_profile_list(cli):
    out = cli("-o", "plain", "profile", "list")
    assert re.search(r"DMTF\s+Job Control\s+1\.0\.0", out), out
    assert "Profile Registration" in out


def test_profile_centralinsts_of_job_control(cli):
    out = cli("-o", "plain", "profile", "centralinsts", "--organization", "DMTF", "--profile", "Job Control")
    assert "CIMJOB_JobService" in out



def test_instance_count_counts_each_namespace_once_and_pywbem_tolerates_nothing(cli):
    done = cli("-o", "plain", "instance", "count", expect_rc=None)
    assert done.returncode == 0, done.stderr
    assert "ToleratedServerIssueWarning" not in done.stderr, done.stderr
    managers = [line for line in done.stdout.splitlines() if "CIM_ObjectManager" in line]
    assert len(managers) == 1, done.stdout
    assert managers[0].split()[0] == "interop"


def test_qualifier_get_and_enumerate(cli):
    out = cli("-o", "plain", "qualifier", "get", "Key")
    assert re.search(r"Key\s+boolean\s+False", out), out
    out = cli("-o", "plain", "qualifier", "enumerate")
    for name in ("Association", "Description", "Experimental", "Key", "ValueMap", "Write"):
        assert re.search(rf"^{name}\s", out, re.M), out


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "pywbemcli 1.4.1 reads scopes['any'] of the qualifier declaration it filters by "
    "(pywbemtools/pywbemcli/_common_cmd_functions.py:426), a key pywbem makes only from MOF: "
    "DSP0201's SCOPE element has no ANY attribute, so no CIM-XML server can give it "
    "(pywbem refuses unknown attributes); it fails with KeyError: 'any'"))
def test_class_enumerate_filters_by_the_association_qualifier(cli):
    out = cli("-o", "plain", "class", "enumerate", "--association", "--names-only", expect_rc=None)
    assert out.returncode == 0 and "CIM_ElementCapabilities" in out.stdout, out.stderr[-400:]
