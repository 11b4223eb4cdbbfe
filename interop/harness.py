"""The interop suite's harness: starts the real `cimjob` binary, drives it through its CLI and
JSON API (to set up and to wait), and small helpers for CIM-XML assertions.

Mirrors crates/cimjob/tests/common/mod.rs: a temporary data dir, `--listen 127.0.0.1:0`, the
real address read from `<data-dir>/cimjob.addr`, SIGTERM and a bounded wait at the end. Every
wait here is bounded and every process started is reaped.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import subprocess
import time
import base64
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import pywbem

# The service authenticates every request (HTTP Basic): the suite is its admin.
ADMIN_USER = "admin"
ADMIN_PASSWORD = "interop-admin-password"
CREDENTIALS = (ADMIN_USER, ADMIN_PASSWORD)


def basic_authorization(user: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
    """The Authorization header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "root/cimv2"
INTEROP_NAMESPACE = "interop"
JOB_CLASS = "CIMJOB_ConcreteJob"
SERVICE_CLASS = "CIMJOB_JobService"

# JobState values (CIM_ConcreteJob.JobState ValueMap)
NEW, STARTING, RUNNING, SUSPENDED, SHUTTING_DOWN = 2, 3, 4, 5, 6
COMPLETED, TERMINATED, KILLED, EXCEPTION, SERVICE, QUERY_PENDING = 7, 8, 9, 10, 11, 12
FINAL_STATES = frozenset({COMPLETED, TERMINATED, KILLED, EXCEPTION})

# CIM status codes (DSP0200 / DSP0201 ERROR CODE)
CIM_ERR_FAILED = 1
CIM_ERR_INVALID_NAMESPACE = 3
CIM_ERR_INVALID_PARAMETER = 4
CIM_ERR_INVALID_CLASS = 5
CIM_ERR_NOT_FOUND = 6
CIM_ERR_NOT_SUPPORTED = 7
CIM_ERR_TYPE_MISMATCH = 13
CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED = 14
CIM_ERR_INVALID_QUERY = 15
CIM_ERR_METHOD_NOT_FOUND = 17
CIM_ERR_INVALID_ENUMERATION_CONTEXT = 21
CIM_ERR_INVALID_OPERATION_TIMEOUT = 22

START_TIMEOUT = 20.0  # seconds for the service to write its address
STOP_TIMEOUT = 20.0  # seconds for the service to exit after SIGTERM
WAIT_TIMEOUT = 30.0  # default bound for waiting on a job


def until(fetch, done, failure, timeout: float, interval: float = 0.05):
    """Calls fetch() until done(value), bounded by `timeout`; returns that value, or fails the
    test with the message failure(last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(failure(value))
        time.sleep(interval)


class ClusterSchema:
    """With CIMJOB_TEST_STORE=postgres, a schema of the session's own in the real PostgreSQL
    server ($CIMJOB_TEST_DATABASE_URL, else the local one) for a two-node cluster; dropped
    with all it holds at the end."""

    def __init__(self, tag: str = ""):
        self.base = os.environ.get("CIMJOB_TEST_DATABASE_URL",
                                   "postgres://postgres@127.0.0.1:5432/test")
        self.name = f"cimjob_interop_{os.getpid()}{tag}"
        self.drop()

    def url(self) -> str:
        joiner = "&" if "?" in self.base else "?"
        return f"{self.base}{joiner}search_path={self.name}"

    def drop(self) -> None:
        subprocess.run(["psql", self.base, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'],
                       check=True, capture_output=True, timeout=60)


def on_postgres() -> bool:
    """Whether the suite's service is a node of a cluster on PostgreSQL."""
    return os.environ.get("CIMJOB_TEST_STORE") == "postgres"


@contextlib.contextmanager
def cluster_service(data_dirs: tuple[Path, Path], flags: list[str], started: list | None = None,
                    tag: str = ""):
    """Node a of a two-node cluster on a schema of the session's own (one per `tag`), with node
    b serving beside it: b claims and runs jobs submitted through a, so every call a client
    sends to a about a job b holds crosses nodes; both stopped at the end, where each must exit
    0."""
    schema = ClusterSchema(tag)
    shared = ["--database-url", schema.url()]
    other = Service(cimjob_bin(), data_dirs[1], [*flags, *shared, "--node", "interop-b"])
    try:
        with running_service(data_dirs[0], [*flags, *shared, "--node", "interop-a"],
                             started) as svc:
            other.start()
            try:
                yield svc
            finally:
                code = other.stop()
                other.end_supervisors()
                assert code == 0, f"node b did not stop cleanly (exit {code}); log:\n{other.log()}"
    finally:
        schema.drop()


@contextlib.contextmanager
def running_service(data_dir: Path, flags: list[str], started: list | None = None):
    """A `cimjob serve` on `data_dir` with `flags` (recorded in `started`, if given); stopped at
    the end, where it must exit 0."""
    svc = Service(cimjob_bin(), data_dir, flags)
    if started is not None:
        started.append(svc)
    svc.start()
    try:
        yield svc
    finally:
        code = svc.stop()
        svc.end_supervisors()
    assert code == 0, f"cimjob serve did not stop cleanly (exit {code}); log:\n{svc.log()}"


def cimjob_bin() -> Path:
    """The binary under test: $CIMJOB_BIN (relative paths are taken from the repository
    root), else target/debug/cimjob."""
    text = os.environ.get("CIMJOB_BIN") or "target/debug/cimjob"
    path = Path(text)
    if not path.is_absolute():
        path = REPO / path
    return path


def become_subreaper() -> None:
    """Makes this process the reaper of what the services leave behind (their supervisors
    outlive them, and this machine's init reaps nothing), so no test leaves a zombie."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap(pid: int, timeout: float) -> None:
    """Waits (bounded) for `pid` to exit and reaps it if it is our child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return
        except ChildProcessError:
            if not Path(f"/proc/{pid}").exists():
                return
        time.sleep(0.02)
    raise RuntimeError(f"process {pid} did not exit within {timeout}s")


become_subreaper()


class Service:
    """One `cimjob serve` on a temporary data dir and a free loopback port."""

    def __init__(self, binary: Path, data_dir: Path, extra: list[str]):
        self.binary = binary
        self.data_dir = data_dir
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.log_path = data_dir / "service.log"

    def users_at(self) -> list[str]:
        """The arguments that point `cimjob user` at this service's users: its data dir, and
        its database when it has one."""
        at = ["--data-dir", str(self.data_dir)]
        if "--database-url" in self.extra:
            i = self.extra.index("--database-url")
            at += self.extra[i:i + 2]
        return at

    def start(self) -> None:
        """Starts the service and waits until it serves (it has written its address)."""
        if not self.binary.is_file():
            pytest.exit(
                f"the cimjob binary {self.binary} does not exist: build it (cargo build -p cimjob) "
                "or set CIMJOB_BIN",
                returncode=2,
            )
        addr_file = self.data_dir / "cimjob.addr"
        with contextlib.suppress(FileNotFoundError):
            addr_file.unlink()
        env = dict(os.environ, CIMJOB_ADMIN_PASSWORD=ADMIN_PASSWORD)
        env.setdefault("CIMJOB_LOG", "info")
        env.setdefault("NO_COLOR", "1")  # a plain-text log file
        env.pop("CIMJOB_URL", None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.binary), "serve", "--data-dir", str(self.data_dir),
                 "--listen", "127.0.0.1:0", *self.extra],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with contextlib.suppress(FileNotFoundError):
                addr = addr_file.read_text().strip()
                if addr:
                    self.url = f"http://{addr}"
                    return
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise RuntimeError(f"cimjob serve exited early ({code}); log:\n{self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"cimjob serve wrote no address in {START_TIMEOUT}s; log:\n{self.log()}")
            time.sleep(0.02)

    def supervisors(self) -> list[int]:
        """The pids of the supervisors holding this data dir's runs (they outlive the service)."""
        folder = self.data_dir / "supervisors"
        return [int(p.stem) for p in folder.glob("*.sock") if p.stem.isdigit()]

    def end_supervisors(self, timeout: float = 20) -> None:
        """SIGTERM every supervisor (it kills the runs it holds and exits) and reap it: once
        its service has gone it is this process's child (see become_subreaper)."""
        for pid in self.supervisors():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            reap(pid, timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM, then wait (bounded); SIGKILL if it does not stop. Returns the exit code
        (None if it had to be killed)."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        if proc.poll() is not None:
            return proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            return None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def log(self, tail: int = 8000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""

    # --- the service's own front ends (used to set up and to wait) ----------------------

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        env = dict(os.environ, CIMJOB_URL=self.url, CIMJOB_USER=ADMIN_USER, CIMJOB_PASSWORD=ADMIN_PASSWORD)
        return subprocess.run(
            [str(self.binary), *args], env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout,
        )

    def http(self, method: str, path: str, body=None, timeout: float = 30) -> tuple[int, object]:
        """One JSON request to the service; returns (status, decoded body or text)."""
        data = None
        headers = {"Accept": "application/json", "Authorization": basic_authorization()}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


def instance_id(job) -> str:
    """`CIMJOB:<n>` from an int LocalID, an InstanceID, a Job, or an instance path."""
    if isinstance(job, Job):
        return job.instance_id
    if isinstance(job, pywbem.CIMInstanceName):
        return job.keybindings["InstanceID"]
    if isinstance(job, int):
        return f"CIMJOB:{job}"
    return str(job)


def local_id(job) -> int:
    return int(instance_id(job).split(":", 1)[1])


def job_path(job, namespace: str = NAMESPACE) -> pywbem.CIMInstanceName:
    """The instance path of a job: CIMJOB_ConcreteJob.InstanceID="CIMJOB:<n>"."""
    return pywbem.CIMInstanceName(JOB_CLASS, keybindings={"InstanceID": instance_id(job)},
                                  namespace=namespace)


class Job:
    """A job this test created."""

    def __init__(self, iid: str, name: str | None):
        self.instance_id = iid
        self.name = name

    @property
    def local_id(self) -> int:
        return local_id(self.instance_id)

    @property
    def path(self) -> pywbem.CIMInstanceName:
        return job_path(self.instance_id)

    def __repr__(self):
        return f"Job({self.instance_id}, {self.name!r})"


class Jobs:
    """Creates jobs for one test (JSON API or CLI), waits on them (bounded) and, at the end of
    the test, kills those still running so that no test holds one of the service's slots or
    leaves a process behind."""

    def __init__(self, service: Service, name_prefix: str):
        self.service = service
        self.prefix = name_prefix
        self.created: list[str] = []
        self._n = 0

    def name(self, tag: str = "") -> str:
        """A Name unique to this test (safe inside a WQL/CQL string literal)."""
        self._n += 1
        return f"{self.prefix}-{tag or 'job'}{self._n}"

    def track(self, job) -> Job:
        iid = instance_id(job)
        if iid not in self.created:
            self.created.append(iid)
        return job if isinstance(job, Job) else Job(iid, None)

    def submit(self, command: list[str], name: str | None = None, hold: bool = False,
               **properties) -> Job:
        """Submits through the JSON API (POST /api/v1/jobs)."""
        name = name or self.name()
        props = {"Name": name, "CommandLine": list(command), **properties}
        status, body = self.service.http("POST", "/api/v1/jobs", {"properties": props, "hold": hold})
        assert status == 201, f"POST /api/v1/jobs {props}: {status} {body}"
        return self.track(Job(body["InstanceID"], name))

    def submit_cli(self, command: list[str], *options: str, name: str | None = None) -> Job:
        """Submits through the CLI: `cimjob submit --name NAME OPTIONS -- COMMAND`."""
        name = name or self.name()
        out = self.service.cli("submit", "--name", name, *options, "--", *command)
        assert out.returncode == 0, f"cimjob submit failed ({out.returncode}): {out.stderr}{out.stdout}"
        iid = out.stdout.split()[0]
        assert re.fullmatch(r"CIMJOB:\d+", iid), f"unexpected submit output {out.stdout!r}"
        return self.track(Job(iid, name))

    def get(self, job) -> dict:
        status, body = self.service.http("GET", f"/api/v1/jobs/{local_id(job)}")
        assert status == 200, f"GET job {instance_id(job)}: {status} {body}"
        return body

    def exists(self, job) -> bool:
        status, _ = self.service.http("GET", f"/api/v1/jobs/{local_id(job)}")
        return status == 200

    def wait(self, job, done, what: str, timeout: float = WAIT_TIMEOUT) -> dict:
        """Polls the job (JSON API) until done(job_json); bounded."""
        return until(lambda: self.get(job), done,
                     lambda body: f"job {instance_id(job)} never became {what} in {timeout}s; last: "
                                  f"{json.dumps(body, indent=1)}\nservice log tail:\n"
                                  f"{self.service.log(3000)}",
                     timeout)

    def wait_state(self, job, *states: int, timeout: float = WAIT_TIMEOUT) -> dict:
        """Waits until JobState is one of `states`."""
        return self.wait(job, lambda j: j.get("JobState") in states, f"JobState in {states}", timeout)

    def wait_final(self, job, timeout: float = WAIT_TIMEOUT) -> dict:
        return self.wait_state(job, *FINAL_STATES, timeout=timeout)

    def wait_gone(self, job, timeout: float = WAIT_TIMEOUT) -> None:
        until(lambda: self.exists(job), lambda exists: not exists,
              lambda _: f"job {instance_id(job)} still exists after {timeout}s", timeout)

    def cleanup(self) -> None:
        """Kills (KillJob, DeleteOnKill false) every job of this test not yet final."""
        pending = []
        for iid in self.created:
            status, body = self.service.http("GET", f"/api/v1/jobs/{local_id(iid)}")
            if status != 200 or not isinstance(body, dict) or body.get("JobState") in FINAL_STATES:
                continue
            self.service.http("POST", f"/api/v1/jobs/{local_id(iid)}/killjob", {"DeleteOnKill": False})
            pending.append(iid)
        deadline = time.monotonic() + 15
        for iid in pending:
            while time.monotonic() < deadline:
                status, body = self.service.http("GET", f"/api/v1/jobs/{local_id(iid)}")
                if status != 200 or body.get("JobState") in FINAL_STATES:
                    break
                time.sleep(0.05)


# --- assertions ---------------------------------------------------------------------------

@contextlib.contextmanager
def cim_error(codes, *fragments: str):
    """Expects a pywbem.CIMError whose status code is `codes` (an int or a tuple of allowed
    ints) and whose description contains every fragment (case-insensitive)."""
    allowed = (codes,) if isinstance(codes, int) else tuple(codes)
    with pytest.raises(pywbem.CIMError) as info:
        yield info
    err = info.value
    assert err.status_code in allowed, (
        f"expected CIM status {allowed}, got {err.status_code} ({err.status_code_name}): "
        f"{err.status_description!r}")
    description = (err.status_description or "").lower()
    for fragment in fragments:
        assert fragment.lower() in description, (
            f"the error description {err.status_description!r} does not name {fragment!r}")


def names(props) -> set[str]:
    """Lower-cased names of a property/method dict (CIM names are case-insensitive)."""
    return {n.lower() for n in props}


def same_path(a: pywbem.CIMInstanceName, b: pywbem.CIMInstanceName) -> bool:
    """Same instance: class name (case-insensitive) and keys; host and namespace ignored."""
    return a.classname.lower() == b.classname.lower() and dict(
        (k.lower(), v) for k, v in a.keybindings.items()) == dict(
        (k.lower(), v) for k, v in b.keybindings.items())


def service_path(conn: pywbem.WBEMConnection) -> pywbem.CIMInstanceName:
    """The one CIMJOB_JobService instance path in root/cimv2."""
    paths = conn.EnumerateInstanceNames(SERVICE_CLASS, namespace=NAMESPACE)
    assert len(paths) == 1, f"expected exactly one {SERVICE_CLASS}, got {paths}"
    return paths[0]


def crate_version() -> str:
    """The cimjob crate's version, as in its Cargo.toml (or the workspace's)."""
    for toml in (REPO / "crates/cimjob/Cargo.toml", REPO / "Cargo.toml"):
        m = re.search(r'^version\s*=\s*"([^"]+)"', toml.read_text(), re.M)
        if m:
            return m.group(1)
    raise AssertionError("no version in Cargo.toml")


# --- raw CIM-XML (for what pywbem cannot send, e.g. EnumerationCount) ---------------------

def namespace_xml(namespace: str) -> str:
    return "<LOCALNAMESPACEPATH>" + "".join(
        f'<NAMESPACE NAME="{part}"/>' for part in namespace.split("/")) + "</LOCALNAMESPACEPATH>"


def raw_post(url: str, body: bytes, headers: dict, timeout: float = 30) -> tuple[int, dict, bytes]:
    """POSTs to /cimom; returns (HTTP status, headers, body)."""
    headers = {"Authorization": basic_authorization(), **headers}
    req = urllib.request.Request(url + "/cimom", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def raw_imethodcall(url: str, method: str, namespace: str, iparams_xml: str,
                    message_id: str = "1001") -> tuple[int, dict, ET.Element | None]:
    """Sends one intrinsic CIM-XML request, built by hand; returns (HTTP status, headers,
    the parsed CIM element or None)."""
    body = (
        '<?xml version="1.0" encoding="utf-8" ?>\n'
        '<CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="{message_id}" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
        f'<IMETHODCALL NAME="{method}">{namespace_xml(namespace)}{iparams_xml}</IMETHODCALL>'
        "</SIMPLEREQ></MESSAGE></CIM>"
    ).encode()
    headers = {
        "Content-Type": 'application/xml; charset="utf-8"',
        "CIMOperation": "MethodCall",
        "CIMMethod": method,
        "CIMObject": namespace.replace("/", "%2F"),
        "CIMProtocolVersion": "1.0",
    }
    status, resp_headers, raw = raw_post(url, body, headers)
    root = None
    if raw.strip():
        with contextlib.suppress(ET.ParseError):
            root = ET.fromstring(raw)
    return status, resp_headers, root


def header(headers: dict, name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None
