"""Indications (DSP1054) with real clients: subscriptions made with pywbem's
WBEMSubscriptionManager, by CreateInstance in the interop namespace and with `pywbemcli
subscription ...`; indications received by pywbem's WBEMListener (in this process) and by the
`pywbemlistener` command; and what the service does around them: ordered delivery with
SequenceNumber, retries until a late listener comes up, OnFatalErrorPolicy when tries run out,
subscriptions and undelivered indications kept across a restart, the CIM errors of bad
subscriptions, and Notify (a command and a webhook told when a job ends).

The filters are those of SMI-S / the DMTF Job Control profile: job creation, JobState change,
PercentComplete change, and "completed OK" (`ANY OperationalStatus[*] = 17 AND ... = 2`, CQL).

Listeners bind 127.0.0.1 on a free port. Tests that need their own flags or a restart run their
own `cimjob serve` on their own data dir (tmp_path) and stop it in `finally`, expecting exit 0.
Every wait is bounded; every listener, service and process started here is stopped and reaped.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pwd
import selectors
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import pywbem
from pywbem import CIMInstance, Uint16, Uint64

from harness import (
    CIM_ERR_FAILED, CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND, COMPLETED, CREDENTIALS,
    EXCEPTION, JOB_CLASS, NAMESPACE, NEW, RUNNING, SERVICE_CLASS, STARTING, Jobs, Service,
    cim_error, cimjob_bin, instance_id, reap, running_service, same_path, service_path, until,
)

CIM_ERR_ACCESS_DENIED = 2
CIM_ERR_ALREADY_EXISTS = 11

INTEROP = "interop"
FILTER_CLASS = "CIM_IndicationFilter"
DESTINATION_CLASS = "CIM_ListenerDestinationCIMXML"
SUBSCRIPTION_CLASS = "CIM_IndicationSubscription"
PERMANENT, TRANSIENT = 2, 3  # CIM_ListenerDestination.PersistenceType
ENABLED, DISABLED = 2, 4  # CIM_IndicationSubscription.SubscriptionState
IGNORE, DISABLE, REMOVE = 2, 3, 4  # CIM_IndicationSubscription.OnFatalErrorPolicy

PYWBEMCLI = Path(sys.executable).with_name("pywbemcli")
PYWBEMLISTENER = Path(sys.executable).with_name("pywbemlistener")

RECEIVE_TIMEOUT = 20.0  # seconds for an indication to reach a listener that is up

# The SMI-S / DMTF Job Control filters (query, query language).
_MODIFIED_JOB = "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob AND "
JOB_CREATED = ("SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA CIM_ConcreteJob", "WQL")
JOB_STATE_CHANGED = (_MODIFIED_JOB + "SourceInstance.CIM_ConcreteJob::JobState <> "
                     "PreviousInstance.CIM_ConcreteJob::JobState", "DMTF:CQL")
JOB_PROGRESSED = (_MODIFIED_JOB + "SourceInstance.CIM_ConcreteJob::PercentComplete <> "
                  "PreviousInstance.CIM_ConcreteJob::PercentComplete", "DMTF:CQL")
JOB_COMPLETED_OK = (_MODIFIED_JOB + "ANY SourceInstance.CIM_ConcreteJob::OperationalStatus[*] = 17 "
                    "AND ANY SourceInstance.CIM_ConcreteJob::OperationalStatus[*] = 2", "DMTF:CQL")
JOB_DELETED = ("SELECT * FROM CIM_InstDeletion WHERE SourceInstance ISA CIM_ConcreteJob", "WQL")
SUBMITJOB_CALLED = ("SELECT * FROM CIM_InstMethodCall WHERE MethodName = 'SubmitJob'", "WQL")

# A job that reports progress on fd 3 and completes.
PROGRESSING = ["sh", "-c", "echo progress 50 >&3; sleep 0.2; echo progress 100 >&3"]


# --- helpers ------------------------------------------------------------------------------

def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(tag: str) -> str:
    return f"{tag}{uuid.uuid4().hex[:8]}"


class Listener:
    """pywbem's WBEMListener on 127.0.0.1:port, keeping what it receives in arrival order;
    https (its certificate and key from PEM files) when certfile and keyfile are given."""

    def __init__(self, port: int | None = None, certfile: Path | None = None,
                 keyfile: Path | None = None):
        self.port = port or free_port()
        self._tls = (str(certfile), str(keyfile)) if certfile else None
        self.url = f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"
        self._got: list[CIMInstance] = []
        self._lock = threading.Lock()
        self._listener: pywbem.WBEMListener | None = None

    def _callback(self, indication, host):
        with self._lock:
            self._got.append(indication)

    def start(self) -> "Listener":
        if self._tls:
            listener = pywbem.WBEMListener("127.0.0.1", https_port=self.port,
                                           certfile=self._tls[0], keyfile=self._tls[1])
        else:
            listener = pywbem.WBEMListener("127.0.0.1", http_port=self.port)
        listener.add_callback(self._callback)
        listener.start()
        self._listener = listener
        return self

    def stop(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def received(self) -> list[CIMInstance]:
        with self._lock:
            return list(self._got)

    def wait_for(self, done, what: str, timeout: float = RECEIVE_TIMEOUT,
                 svc: Service | None = None) -> list[CIMInstance]:
        """Polls what arrived until done(list) (bounded); returns the list."""
        log = (lambda: f"\nservice log tail:\n{svc.log(4000)}") if svc else (lambda: "")
        return until(self.received, done,
                     lambda got: f"the listener never got {what} in {timeout}s; it got:\n"
                                 f"{describe(got)}{log()}",
                     timeout)


def source(ind: CIMInstance) -> CIMInstance:
    return ind["SourceInstance"]


def is_about(ind: CIMInstance, job) -> bool:
    si = ind.get("SourceInstance")
    return isinstance(si, CIMInstance) and si.get("InstanceID") == instance_id(job)


def about(got, job, filter_name: str | None = None) -> list[CIMInstance]:
    """The indications about `job` (by SourceInstance.InstanceID), optionally only those the
    filter named `filter_name` selected, in arrival order."""
    return [i for i in got if is_about(i, job)
            and (filter_name is None or i.get("IndicationFilterName") == filter_name)]


def describe(got) -> str:
    lines = []
    for i in got:
        si = i.get("SourceInstance")
        si_text = (f"{si.get('InstanceID')} JobState={si.get('JobState')} "
                   f"PercentComplete={si.get('PercentComplete')}"
                   if isinstance(si, CIMInstance) else repr(si))
        lines.append(f"  #{i.get('SequenceNumber')} {i.classname} filter={i.get('IndicationFilterName')} "
                     f"{si_text} changed={list(i.get('ChangedPropertyNames') or [])}")
    return "\n".join(lines) or "  (nothing)"


def assert_in_delivery_order(got) -> None:
    """What one destination delivered arrives in order: SequenceNumber 0, 1, 2, ... in one
    SequenceContext."""
    numbers = [int(i["SequenceNumber"]) for i in got]
    assert numbers == list(range(len(got))), f"SequenceNumbers in arrival order: {numbers}"
    contexts = {i["SequenceContext"] for i in got}
    assert len(contexts) == 1 and contexts != {None} and "" not in contexts, contexts


def job_states(indications) -> list[int]:
    return [int(source(i)["JobState"]) for i in indications]


def connect(svc: Service, creds=CREDENTIALS) -> pywbem.WBEMConnection:
    return pywbem.WBEMConnection(svc.url, creds=creds, default_namespace=NAMESPACE,
                                 no_verification=True, timeout=30)


@contextlib.contextmanager
def own_service(tmp_path: Path, *flags: str, data_dir: Path | None = None):
    """A `cimjob serve` of this test's own (its flags, its data dir); stopped at the end, where
    it must exit 0."""
    data_dir = data_dir or tmp_path / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    with running_service(data_dir, list(flags)) as svc:
        yield svc


@contextlib.contextmanager
def own_jobs(svc: Service, tag: str):
    j = Jobs(svc, unique(tag))
    try:
        yield j
    finally:
        if svc.alive():
            j.cleanup()


@contextlib.contextmanager
def smis_subscriptions(conn: pywbem.WBEMConnection, listener_url: str, filters: dict):
    """Owned (transient) subscriptions made with pywbem's WBEMSubscriptionManager: one
    destination (the listener), one filter per entry of `filters` ({id: (query, language)}),
    each subscribed to it. Yields {id: (filter Name, subscription path)}; everything is
    removed at the end (remove_server)."""
    sm = pywbem.WBEMSubscriptionManager(unique("interop"))
    sid = sm.add_server(pywbem.WBEMServer(conn))
    try:
        dest = sm.add_destination(sid, listener_url, owned=True, destination_id="listener")
        made = {}
        for fid, (query, language) in filters.items():
            flt = sm.add_filter(sid, [NAMESPACE], query, query_language=language, owned=True,
                                filter_id=fid)
            subs = sm.add_subscriptions(sid, flt.path, [dest.path], owned=True)
            assert len(subs) == 1, subs
            made[fid] = (flt["Name"], subs[0].path)
        yield made
    finally:
        sm.remove_server(sid)


def filter_instance(name: str, query: str, language: str = "WQL") -> CIMInstance:
    return CIMInstance(FILTER_CLASS, properties={
        "Name": name, "Query": query, "QueryLanguage": language, "SourceNamespaces": [NAMESPACE]})


def destination_instance(name: str, url: str, persistence: int = PERMANENT) -> CIMInstance:
    return CIMInstance(DESTINATION_CLASS, properties={
        "Name": name, "Destination": url, "PersistenceType": Uint16(persistence)})


def subscription_instance(filter_path, handler_path, policy: int | None = None) -> CIMInstance:
    props = {"Filter": filter_path, "Handler": handler_path}
    if policy is not None:
        props["OnFatalErrorPolicy"] = Uint16(policy)
    return CIMInstance(SUBSCRIPTION_CLASS, properties=props)


def subscribe(conn, dest_name: str, url: str, filters: dict, persistence: int = PERMANENT,
              policy: int | None = None, namespace: str = INTEROP) -> dict:
    """By CreateInstance: one destination and, per entry of `filters` ({filter Name: (query,
    language)}), a filter and a subscription of it to the destination. Returns {"destination":
    path, filter Name: (filter path, subscription path)}."""
    dest = conn.CreateInstance(destination_instance(dest_name, url, persistence), namespace=namespace)
    made = {"destination": dest}
    for name, (query, language) in filters.items():
        flt = conn.CreateInstance(filter_instance(name, query, language), namespace=namespace)
        sub = conn.CreateInstance(subscription_instance(flt, dest, policy), namespace=namespace)
        made[name] = (flt, sub)
    return made


def deliveries(svc: Service, limit: int = 100) -> list[dict]:
    status, body = svc.http("GET", f"/api/v1/deliveries?limit={limit}")
    assert status == 200 and isinstance(body, list), f"GET /api/v1/deliveries: {status} {body}"
    return body


def poll(check, what: str, svc: Service, timeout: float = 15.0):
    """Calls check() until it returns something true (bounded); returns that."""
    return until(check, bool,
                 lambda last: f"{what}: not so after {timeout}s (last: {last!r});\n"
                              f"service log tail:\n{svc.log(4000)}",
                 timeout)


def barrier(jobs: Jobs, listener: Listener, creation_filter: str, svc: Service) -> None:
    """Submits a job and waits until the listener has its creation: the destination delivers
    in order, so everything produced before that job was created has arrived."""
    mark = jobs.submit(["true"], name=jobs.name("barrier"))
    listener.wait_for(lambda got: about(got, mark, creation_filter),
                      f"the creation of the barrier job {mark.instance_id}", svc=svc)


# --- delivery to pywbem's WBEMListener (the session's service) ----------------------------

def test_smis_job_filters_deliver_creation_every_state_and_progress_change_in_order(
        service, conn, jobs):
    """The SMI-S job filters, subscribed with WBEMSubscriptionManager to a WBEMListener: a job
    that reports progress 50 and 100 and completes is announced, in delivery order, by its
    creation (JobState New), every JobState change New -> Starting -> Running -> Completed,
    both PercentComplete changes and a completion; each indication names the filter that
    selected it and satisfies that filter; SourceInstance / PreviousInstance are embedded
    CIMJOB_ConcreteJob instances of the job, before and after the change."""
    with Listener() as listener, smis_subscriptions(conn, listener.url, {
            "created": JOB_CREATED, "state": JOB_STATE_CHANGED,
            "progress": JOB_PROGRESSED, "completed": JOB_COMPLETED_OK}) as subs:
        names = {fid: name for fid, (name, _) in subs.items()}
        job = jobs.submit(PROGRESSING, name=jobs.name("progress"))
        assert jobs.wait_final(job)["JobState"] == COMPLETED
        barrier(jobs, listener, names["created"], service)
        got = listener.received()

    assert_in_delivery_order(got)
    mine = about(got, job)
    assert mine, f"nothing about {job.instance_id}:\n{describe(got)}"
    assert {i["IndicationFilterName"] for i in mine} <= set(names.values()), describe(mine)

    created = about(got, job, names["created"])
    states = about(got, job, names["state"])
    progress = about(got, job, names["progress"])
    completed = about(got, job, names["completed"])

    # creation, then every JobState change in order, ending in Completed
    assert [i.classname for i in created] == ["CIM_InstCreation"], describe(mine)
    assert job_states(created + states) == [NEW, STARTING, RUNNING, COMPLETED], describe(mine)
    for ind in states:
        assert ind.classname == "CIM_InstModification"
        assert ind["PreviousInstance"]["JobState"] != source(ind)["JobState"]
        assert "JobState" in list(ind["ChangedPropertyNames"]), describe([ind])
    assert [int(i["PreviousInstance"]["JobState"]) for i in states] == [NEW, STARTING, RUNNING]

    # both progress reports, each a change from the value before
    assert [(i["PreviousInstance"]["PercentComplete"], source(i)["PercentComplete"])
            for i in progress] == [(0, 50), (50, 100)], describe(mine)
    for ind in progress:
        assert "PercentComplete" in list(ind["ChangedPropertyNames"]), describe([ind])

    # the completion: selected when the job became Completed with OperationalStatus OK
    assert completed, f"no completion indication:\n{describe(mine)}"
    first = completed[0]
    assert int(source(first)["JobState"]) == COMPLETED
    assert int(first["PreviousInstance"]["JobState"]) == RUNNING
    for ind in completed:
        assert int(source(ind)["JobState"]) == COMPLETED
        assert {17, 2} <= {int(v) for v in source(ind)["OperationalStatus"]}, describe([ind])

    # the job's history arrives in the order it happened (Generation only grows)
    generations = [int(source(i)["Generation"]) for i in mine]
    assert generations == sorted(generations), describe(mine)
    assert mine.index(created[0]) == 0 and mine.index(states[-1]) > mine.index(progress[-1])

    # every indication: the properties DSP1054 asks for, embedded instances of our class
    identifiers = [i["IndicationIdentifier"] for i in got]
    assert len(set(identifiers)) == len(identifiers) and all(identifiers), identifiers
    for ind in mine:
        assert isinstance(ind["IndicationTime"], pywbem.CIMDateTime)
        assert not ind["IndicationTime"].is_interval
        for role in ("SourceInstance", "PreviousInstance"):
            if role == "PreviousInstance" and ind.classname == "CIM_InstCreation":
                assert ind.get(role) is None
                continue
            prop = ind.properties[role]
            assert prop.embedded_object in ("instance", "object"), (role, prop.embedded_object)
            assert isinstance(prop.value, CIMInstance)
            assert prop.value.classname == JOB_CLASS
            assert prop.value["InstanceID"] == job.instance_id
            assert prop.value["Name"] == job.name


def test_completed_ok_filter_selects_one_indication_per_completed_job_and_none_for_a_failed_one(
        service, conn, jobs):
    """The SMI-S "job completed OK" filter (CQL, ANY OperationalStatus[*] = 17 AND = 2) tells a
    client once that a job completed: exactly one indication for a job that completes, with
    the transition Running -> Completed; none for a job that fails (exit 3: Exception,
    OperationalStatus Completed + Error)."""
    with Listener() as listener, smis_subscriptions(conn, listener.url, {
            "created": JOB_CREATED, "completed": JOB_COMPLETED_OK}) as subs:
        names = {fid: name for fid, (name, _) in subs.items()}
        ok = jobs.submit(["true"], name=jobs.name("ok"))
        assert jobs.wait_final(ok)["JobState"] == COMPLETED
        bad = jobs.submit(["sh", "-c", "exit 3"], name=jobs.name("bad"))
        assert jobs.wait_final(bad)["JobState"] == EXCEPTION
        barrier(jobs, listener, names["created"], service)
        got = listener.received()

    assert_in_delivery_order(got)
    assert about(got, bad, names["created"]), "the failing job's creation was delivered"
    assert about(got, bad, names["completed"]) == [], (
        f"a failed job selected by the completed-OK filter:\n{describe(about(got, bad))}")
    completions = about(got, ok, names["completed"])
    assert len(completions) == 1, (
        f"expected exactly one completed-OK indication for {ok.instance_id}, got "
        f"{len(completions)}:\n{describe(completions)}")
    assert int(completions[0]["PreviousInstance"]["JobState"]) == RUNNING
    assert int(source(completions[0])["JobState"]) == COMPLETED


def test_submitjob_call_and_job_deletion_are_indicated(service, conn, jobs):
    """SubmitJob on the job service gives a CIM_InstMethodCall (MethodName SubmitJob, PreCall
    false, ReturnValue "4096", SourceInstance the CIMJOB_JobService, the new job's reference
    in MethodParameters); DeleteInstance of the finished job gives a CIM_InstDeletion whose
    SourceInstance is the job as it was."""
    with Listener() as listener, smis_subscriptions(conn, listener.url, {
            "called": SUBMITJOB_CALLED, "deleted": JOB_DELETED}) as subs:
        names = {fid: name for fid, (name, _) in subs.items()}
        rv, out = conn.InvokeMethod("SubmitJob", service_path(conn), Name=jobs.name("called"),
                                    CommandLine=["true"])
        assert rv == 4096
        job = jobs.track(out["Job"])
        jobs.wait_state(job, COMPLETED)
        conn.DeleteInstance(job.path)

        def called(got):
            return [i for i in got if i.get("IndicationFilterName") == names["called"]
                    and isinstance(i.get("MethodParameters"), CIMInstance)
                    and same_path(i["MethodParameters"]["Job"], job.path)]

        got = listener.wait_for(lambda g: called(g) and about(g, job, names["deleted"]),
                                "the SubmitJob call and the job's deletion", svc=service)

    assert_in_delivery_order(got)
    call = called(got)
    assert len(call) == 1, describe(got)
    call = call[0]
    assert call.classname == "CIM_InstMethodCall"
    assert call["MethodName"] == "SubmitJob"
    assert call["PreCall"] is False
    assert str(call["ReturnValue"]) == "4096"
    assert call.properties["SourceInstance"].embedded_object in ("instance", "object")
    assert isinstance(source(call), CIMInstance) and source(call).classname == SERVICE_CLASS

    deleted = about(got, job, names["deleted"])
    assert [i.classname for i in deleted] == ["CIM_InstDeletion"], describe(got)
    assert source(deleted[0]).classname == JOB_CLASS
    assert int(source(deleted[0])["JobState"]) == COMPLETED
    assert got.index(call) < got.index(deleted[0])


def test_a_disabled_subscription_delivers_nothing_until_enabled_again(service, conn, jobs):
    """ModifyInstance of a subscription's SubscriptionState: 4 (Disabled) stops its
    indications (the job created meanwhile is not announced, while another subscription to the
    same listener goes on), 2 (Enabled) starts them again."""
    with Listener() as listener, smis_subscriptions(conn, listener.url, {
            "created": JOB_CREATED, "state": JOB_STATE_CHANGED}) as subs:
        names = {fid: name for fid, (name, _) in subs.items()}
        sub_path = subs["created"][1]
        assert int(conn.GetInstance(sub_path)["SubscriptionState"]) == ENABLED

        def set_state(state):
            conn.ModifyInstance(CIMInstance(SUBSCRIPTION_CLASS, path=sub_path.copy(), properties={
                "SubscriptionState": Uint16(state)}), PropertyList=["SubscriptionState"])
            assert int(conn.GetInstance(sub_path)["SubscriptionState"]) == state

        set_state(DISABLED)
        quiet = jobs.submit(["true"], name=jobs.name("quiet"))
        jobs.wait_final(quiet)
        # the other subscription delivers the job's end; its creation came before, in order
        listener.wait_for(lambda g: COMPLETED in job_states(about(g, quiet, names["state"])),
                          "the JobState changes of the job made while disabled", svc=service)
        assert about(listener.received(), quiet, names["created"]) == [], (
            describe(listener.received()))

        set_state(ENABLED)
        heard = jobs.submit(["true"], name=jobs.name("heard"))
        listener.wait_for(lambda g: about(g, heard, names["created"]),
                          "the creation of the job made after re-enabling", svc=service)
        assert_in_delivery_order(listener.received())


def _delete_all(conn, paths) -> None:
    """Deletes what a test created in interop, last made first; what is gone already is fine."""
    for path in reversed(paths):
        try:
            conn.DeleteInstance(path)
        except pywbem.CIMError as e:
            if e.status_code != CIM_ERR_NOT_FOUND:
                raise


def test_a_subscription_is_removed_when_its_subscriptionduration_has_passed(service, conn, jobs):
    """CreateInstance of a subscription with SubscriptionDuration 2 (seconds): GetInstance shows
    SubscriptionDuration 2 and SubscriptionTimeRemaining <= 2; once the 2 s have passed it is
    gone (GetInstance is CIM_ERR_NOT_FOUND, EnumerateInstanceNames omits it) and a new job's
    creation is not delivered for it, while a subscription without a duration, and one whose
    duration ModifyInstance (PropertyList ["SubscriptionDuration"]) raised from 2 to 600, deliver
    that job's indications to the same listener."""
    made = []
    with Listener() as listener:
        try:
            timed, extended, lasting = unique("timed"), unique("extended"), unique("lasting")
            dest = conn.CreateInstance(destination_instance(unique("duration"), listener.url),
                                       namespace=INTEROP)
            made.append(dest)
            subs = {}
            for name, query, duration in ((timed, JOB_CREATED, 2), (extended, JOB_CREATED, 2),
                                          (lasting, JOB_STATE_CHANGED, None)):
                flt = conn.CreateInstance(filter_instance(name, *query), namespace=INTEROP)
                made.append(flt)
                sub = subscription_instance(flt, dest)
                if duration is not None:
                    sub["SubscriptionDuration"] = Uint64(duration)
                subs[name] = conn.CreateInstance(sub, namespace=INTEROP)
                made.append(subs[name])
            created_at = time.monotonic()

            inst = conn.GetInstance(subs[timed])
            assert inst["SubscriptionDuration"] == 2, inst.tomof()
            remaining = inst["SubscriptionTimeRemaining"]
            assert remaining is not None and 0 <= remaining <= 2, inst.tomof()
            assert conn.GetInstance(subs[lasting]).get("SubscriptionDuration") is None

            conn.ModifyInstance(CIMInstance(SUBSCRIPTION_CLASS, path=subs[extended].copy(),
                                            properties={"SubscriptionDuration": Uint64(600)}),
                                PropertyList=["SubscriptionDuration"])
            inst = conn.GetInstance(subs[extended])
            assert inst["SubscriptionDuration"] == 600, inst.tomof()
            assert 590 <= inst["SubscriptionTimeRemaining"] <= 600, inst.tomof()

            def gone():
                try:
                    conn.GetInstance(subs[timed])
                    return False
                except pywbem.CIMError as e:
                    if e.status_code != CIM_ERR_NOT_FOUND:
                        raise
                    return True

            poll(gone, "the subscription with SubscriptionDuration 2 is removed", service,
                 timeout=8.0)
            gone_after = time.monotonic() - created_at
            assert gone_after >= 1.5, f"removed {gone_after:.2f}s after it was made, before 2s"
            left = conn.EnumerateInstanceNames(SUBSCRIPTION_CLASS, namespace=INTEROP)
            assert not any(same_path(p, subs[timed]) for p in left), left
            assert any(same_path(p, subs[extended]) for p in left), left
            assert conn.GetInstance(subs[extended])["SubscriptionDuration"] == 600

            job = jobs.submit(["true"], name=jobs.name("afterexpiry"))
            # one destination delivers in order: the creation comes before the state changes
            got = listener.wait_for(
                lambda g: about(g, job, extended) and COMPLETED in job_states(about(g, job, lasting)),
                "the new job's creation (extended subscription) and completion (lasting one)",
                svc=service)
        finally:
            _delete_all(conn, made)

    assert about(got, job, timed) == [], (
        f"the expired subscription still delivered:\n{describe(about(got, job))}")
    assert [i.classname for i in about(got, job, extended)] == ["CIM_InstCreation"], describe(got)
    assert job_states(about(got, job, lasting)) == [STARTING, RUNNING, COMPLETED], describe(got)
    assert_in_delivery_order(got)


def test_pywbemlistener_command_receives_the_indications_of_a_job(service, conn, jobs, tmp_path):
    """`pywbemlistener run NAME --scheme http --bind-addr 127.0.0.1 --port P --indi-file F`
    (pywbemtools' listener, in the foreground) receives the creation and JobState changes of a
    job and appends them to its file, in order."""
    port = free_port()
    indi_file = tmp_path / "indications.txt"
    fmt = ("{i.classname}|{i[IndicationFilterName]}|{i[SequenceNumber]}|"
           "{i[SourceInstance][InstanceID]}|{i[SourceInstance][JobState]}")
    cmd = [str(PYWBEMLISTENER), "run", unique("cimjob"), "--port", str(port), "--scheme", "http",
           "--bind-addr", "127.0.0.1", "--indi-file", str(indi_file), "--indi-format", fmt]
    output = tmp_path / "pywbemlistener.out"
    with open(output, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, (
                f"pywbemlistener exited {proc.returncode}: {output.read_text(errors='replace')}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            assert time.monotonic() < deadline, "pywbemlistener did not listen within 20s"
            time.sleep(0.05)

        with smis_subscriptions(conn, f"http://127.0.0.1:{port}", {
                "created": JOB_CREATED, "state": JOB_STATE_CHANGED}) as subs:
            names = {fid: name for fid, (name, _) in subs.items()}
            job = jobs.submit(["true"], name=jobs.name("cli"))
            jobs.wait_final(job)

            def lines():
                text = indi_file.read_text() if indi_file.exists() else ""
                return [ln.split("|") for ln in text.splitlines() if ln.strip()]

            def ours():
                return [ln for ln in lines() if len(ln) == 5 and ln[3] == job.instance_id]

            poll(lambda: len(ours()) >= 4, "pywbemlistener wrote 4 indications of the job", service)
            got = lines()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    assert [int(ln[2]) for ln in got] == list(range(len(got))), got
    mine = [ln for ln in got if ln[3] == job.instance_id]
    assert [(ln[0], ln[1], int(ln[4])) for ln in mine] == [
        ("CIM_InstCreation", names["created"], NEW),
        ("CIM_InstModification", names["state"], STARTING),
        ("CIM_InstModification", names["state"], RUNNING),
        ("CIM_InstModification", names["state"], COMPLETED),
    ], got


# --- retries, OnFatalErrorPolicy, restarts (services of their own) -------------------------

def test_a_listener_that_comes_up_late_still_gets_everything_in_order(tmp_path):
    """With the listener down while a job runs, the service keeps retrying (here every
    200-500 ms, 30 tries); the listener started later receives the job's creation and every
    JobState change, in order, and the delivery log says the first one took several tries."""
    flags = ["--delivery-backoff", "200ms", "--delivery-backoff-max", "500ms",
             "--delivery-attempts", "30"]
    listener = Listener()
    with own_service(tmp_path, *flags) as svc, own_jobs(svc, "late") as jobs:
        conn = connect(svc)
        dest_name = unique("late")
        subscribe(conn, dest_name, listener.url, {
            unique("created"): JOB_CREATED, unique("state"): JOB_STATE_CHANGED})
        job = jobs.submit(["true"])
        jobs.wait_final(job)
        time.sleep(1.0)  # several tries fail meanwhile
        assert [d for d in deliveries(svc) if d["outcome"] == "delivered"] == []
        try:
            listener.start()
            got = listener.wait_for(lambda g: COMPLETED in job_states(about(g, job)),
                                    "the job's indications after coming up", svc=svc)
        finally:
            listener.stop()
        assert_in_delivery_order(got)
        assert job_states(about(got, job)) == [NEW, STARTING, RUNNING, COMPLETED], describe(got)
        outcomes = [d for d in deliveries(svc) if d["destination"] == dest_name]
        assert outcomes and all(d["outcome"] == "delivered" for d in outcomes), outcomes
        first = outcomes[-1]  # newest first
        assert first["attempts"] >= 2, outcomes


def test_when_tries_run_out_onfatalerrorpolicy_disables_removes_or_ignores(tmp_path):
    """No listener, 2 tries 100 ms apart: after a job's creation each subscription gives up;
    OnFatalErrorPolicy 3 (Disable) leaves it with SubscriptionState 4, 4 (Remove) deletes it,
    2 (Ignore) leaves it enabled; GET /api/v1/deliveries shows "gave up" after 2 tries for each
    destination. The disabled one then tries no more."""
    flags = ["--delivery-attempts", "2", "--delivery-backoff", "100ms"]
    with own_service(tmp_path, *flags) as svc, own_jobs(svc, "fatal") as jobs:
        conn = connect(svc)
        made = {}
        for policy in (DISABLE, REMOVE, IGNORE):
            dest = unique(f"policy{policy}-")
            flt = unique(f"created{policy}-")
            made[policy] = (dest, subscribe(conn, dest, f"http://127.0.0.1:{free_port()}",
                                            {flt: JOB_CREATED}, policy=policy)[flt][1])
        for policy, (_, sub) in made.items():
            inst = conn.GetInstance(sub)
            assert int(inst["OnFatalErrorPolicy"]) == policy
            assert int(inst["SubscriptionState"]) == ENABLED

        jobs.submit(["true"])

        def gave_up(policy, n=1):
            dest = made[policy][0]
            rows = [d for d in deliveries(svc) if d["destination"] == dest]
            return rows if len([r for r in rows if r["outcome"] == "gave up"]) >= n else None

        def state(policy):
            try:
                return int(conn.GetInstance(made[policy][1])["SubscriptionState"])
            except pywbem.CIMError as e:
                return f"CIMError {e.status_code}"

        poll(lambda: state(DISABLE) == DISABLED, "the Disable subscription is disabled", svc)
        poll(lambda: state(REMOVE) == f"CIMError {CIM_ERR_NOT_FOUND}",
             "the Remove subscription is deleted", svc)
        remaining = conn.EnumerateInstanceNames(SUBSCRIPTION_CLASS, namespace=INTEROP)
        assert not any(same_path(p, made[REMOVE][1]) for p in remaining), remaining
        poll(lambda: gave_up(IGNORE), "the Ignore subscription gave up", svc)
        assert state(IGNORE) == ENABLED

        for policy in (DISABLE, REMOVE, IGNORE):
            rows = gave_up(policy)
            assert rows, f"no 'gave up' outcome for policy {policy}: {deliveries(svc)}"
            row = [r for r in rows if r["outcome"] == "gave up"][0]
            assert row["attempts"] == 2, row
            assert row["error"], row

        # a second job: the enabled (Ignore) subscription tries again, the disabled one does not
        jobs.submit(["true"])
        poll(lambda: gave_up(IGNORE, 2), "the Ignore subscription gave up a second time", svc)
        time.sleep(0.3)
        assert len([d for d in deliveries(svc) if d["destination"] == made[DISABLE][0]]) == 1
        assert state(DISABLE) == DISABLED


def test_permanent_subscriptions_survive_a_restart_and_transient_ones_do_not(tmp_path):
    """A permanent destination (PersistenceType 2) with its filter and subscription, made by
    CreateInstance in root/interop, is there after the service restarts on the same data dir
    (seen in interop, properties unchanged) and delivers a new job's indications; a transient
    destination (3) and its subscription are gone."""
    data = tmp_path / "data"
    listener = Listener()
    perm_dest, perm_filter = unique("perm"), unique("permfilter")
    temp_dest, temp_filter = unique("temp"), unique("tempfilter")
    with own_service(tmp_path, data_dir=data) as svc:
        conn = connect(svc)
        permanent = subscribe(conn, perm_dest, listener.url, {perm_filter: JOB_CREATED},
                              policy=DISABLE, namespace="root/interop")
        subscribe(conn, temp_dest, f"http://127.0.0.1:{free_port()}",
                  {temp_filter: JOB_STATE_CHANGED}, persistence=TRANSIENT, namespace="root/interop")
        before = {c: conn.EnumerateInstances(c, namespace=INTEROP)
                  for c in (FILTER_CLASS, DESTINATION_CLASS, SUBSCRIPTION_CLASS)}
        assert len(before[SUBSCRIPTION_CLASS]) == 2

    with own_service(tmp_path, data_dir=data) as svc, own_jobs(svc, "restart") as jobs:
        conn = connect(svc)
        dests = {d["Name"]: d for d in conn.EnumerateInstances(DESTINATION_CLASS, namespace=INTEROP)}
        filters = {f["Name"]: f for f in conn.EnumerateInstances(FILTER_CLASS, namespace=INTEROP)}
        subs = conn.EnumerateInstances(SUBSCRIPTION_CLASS, namespace=INTEROP)
        assert set(dests) == {perm_dest}, sorted(dests)
        assert dests[perm_dest]["Destination"] == listener.url
        assert int(dests[perm_dest]["PersistenceType"]) == PERMANENT
        assert perm_filter in filters, sorted(filters)
        assert filters[perm_filter]["Query"] == JOB_CREATED[0]
        assert filters[perm_filter]["QueryLanguage"] == JOB_CREATED[1]
        assert len(subs) == 1, [str(s.path) for s in subs]
        assert same_path(subs[0]["Filter"], permanent[perm_filter][0])
        assert same_path(subs[0]["Handler"], permanent["destination"])
        assert int(subs[0]["OnFatalErrorPolicy"]) == DISABLE
        assert int(subs[0]["SubscriptionState"]) == ENABLED
        assert not any(s["Handler"]["Name"] == temp_dest for s in subs)

        with listener:
            job = jobs.submit(["true"])
            got = listener.wait_for(lambda g: about(g, job), "the new job's creation", svc=svc)
        assert [(i.classname, i["IndicationFilterName"]) for i in about(got, job)] == [
            ("CIM_InstCreation", perm_filter)]
        assert_in_delivery_order(got)


def test_indications_undelivered_at_shutdown_are_delivered_after_the_restart(tmp_path):
    """The listener is down and the next try is 30 s away when the service stops; restarted on
    the same data dir with the listener up, it delivers what it kept: the job's creation and
    its JobState changes from before the restart, in order."""
    data = tmp_path / "data"
    listener = Listener()
    created, state = unique("created"), unique("state")
    with own_service(tmp_path, "--delivery-backoff", "30s", data_dir=data) as svc, \
            own_jobs(svc, "kept") as jobs:
        conn = connect(svc)
        subscribe(conn, unique("kept"), listener.url, {created: JOB_CREATED, state: JOB_STATE_CHANGED})
        job = jobs.submit(["true"])
        jobs.wait_final(job)
        time.sleep(0.5)  # the indications are produced and queued; the first try has failed
        assert deliveries(svc) == []

    with listener:
        with own_service(tmp_path, data_dir=data) as svc:
            got = listener.wait_for(lambda g: COMPLETED in job_states(about(g, job)),
                                    "the kept indications", svc=svc)
            time.sleep(0.3)
            got = listener.received()
    assert_in_delivery_order(got)
    mine = about(got, job)
    assert [(i.classname, i["IndicationFilterName"], int(source(i)["JobState"])) for i in mine] == [
        ("CIM_InstCreation", created, NEW),
        ("CIM_InstModification", state, STARTING),
        ("CIM_InstModification", state, RUNNING),
        ("CIM_InstModification", state, COMPLETED),
    ], describe(got)
    assert len(got) == len(mine), describe(got)


class SilentListener:
    """A TCP server on 127.0.0.1 that accepts connections and reads what comes but never
    answers: a listener that hangs. Keeps the connections open until stopped; counts those the
    peer closed."""

    def __init__(self):
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._closed_by_peer = 0
        self._data = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._server, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.1):
                    sock = key.fileobj
                    if sock is self._server:
                        conn, _ = self._server.accept()
                        conn.setblocking(False)
                        sel.register(conn, selectors.EVENT_READ)
                        with self._lock:
                            self._open.append(conn)
                        continue
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    with self._lock:
                        if data:
                            if len(self._data) < 1 << 20:
                                self._data += data
                        else:
                            sel.unregister(sock)
                            self._open.remove(sock)
                            self._closed_by_peer += 1
                            sock.close()
        finally:
            sel.close()

    def start(self) -> "SilentListener":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._lock:
            for sock in self._open:
                sock.close()
            self._open.clear()
        self._server.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def state(self) -> tuple[int, int, bytes]:
        """(connections held open, connections the peer closed, bytes received)."""
        with self._lock:
            return len(self._open), self._closed_by_peer, bytes(self._data)


def test_a_listener_that_never_answers_delays_neither_another_listener_nor_wbem_requests(tmp_path):
    """One filter pair (job creation, JobState change) subscribed to two destinations: a
    listener that accepts the connection and never answers, and pywbem's WBEMListener. While
    the silent one holds the service's POST of the job's creation (its request timeout is
    15 s), the WBEMListener receives the job's creation and every JobState change up to
    Completed within 10 s, and GetInstance / EnumerateInstances on the service answer within
    2 s each; the service still stops cleanly with that delivery in flight."""
    flags = ["--delivery-attempts", "3", "--delivery-backoff", "200ms",
             "--delivery-backoff-max", "1s"]
    with SilentListener() as silent, Listener() as good, \
            own_service(tmp_path, *flags) as svc, own_jobs(svc, "silent") as jobs:
        conn = connect(svc)
        created, state = unique("created"), unique("state")
        filters = [conn.CreateInstance(filter_instance(created, *JOB_CREATED), namespace=INTEROP),
                   conn.CreateInstance(filter_instance(state, *JOB_STATE_CHANGED), namespace=INTEROP)]
        silent_dest, good_dest = unique("silent"), unique("good")
        for name, url in ((silent_dest, silent.url), (good_dest, good.url)):
            dest = conn.CreateInstance(destination_instance(name, url), namespace=INTEROP)
            for flt in filters:
                conn.CreateInstance(subscription_instance(flt, dest), namespace=INTEROP)

        job = jobs.submit(["true"])
        started = time.monotonic()
        got = good.wait_for(lambda g: COMPLETED in job_states(about(g, job)),
                            "the job's creation and completion despite the silent listener",
                            timeout=10.0, svc=svc)
        delivered_in = time.monotonic() - started
        held = poll(lambda: silent.state()[0] >= 1 and b"ExportIndication" in silent.state()[2]
                    and silent.state(), "the silent listener holds the service's POST", svc,
                    timeout=10.0)

        t = time.monotonic()
        inst = conn.GetInstance(job.path)
        get_took = time.monotonic() - t
        t = time.monotonic()
        subs = conn.EnumerateInstances(SUBSCRIPTION_CLASS, namespace=INTEROP)
        enum_took = time.monotonic() - t
        still = silent.state()
        rows = deliveries(svc)

    assert job_states(about(got, job)) == [NEW, STARTING, RUNNING, COMPLETED], describe(got)
    assert_in_delivery_order(got)
    assert delivered_in < 10.0, delivered_in
    assert inst["InstanceID"] == job.instance_id
    assert len(subs) == 4, [str(s.path) for s in subs]
    assert get_took < 2.0, f"GetInstance took {get_took:.2f}s while a listener hung"
    assert enum_took < 2.0, f"EnumerateInstances took {enum_took:.2f}s while a listener hung"
    # the silent listener still held its connection when the WBEM requests were answered
    assert held[1] == 0 and still[0] >= 1 and still[1] == 0, (held[:2], still[:2])
    good_rows = [d for d in rows if d["destination"] == good_dest]
    assert len(good_rows) == 4 and all(d["outcome"] == "delivered" for d in good_rows), rows
    assert [d for d in rows if d["destination"] == silent_dest] == [], rows


def tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """With openssl: a CA, and a certificate it signed for 127.0.0.1 (subjectAltName
    IP:127.0.0.1, serverAuth) with its key. Returns (ca.pem, cert.pem, key.pem)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "cert.pem", directory / "key.pem", directory / "cert.csr"
    ext = directory / "cert.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\n")
    for cmd in (
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
         "-out", ca, "-days", "2", "-subj", "/CN=cimjob interop listener CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ):
        out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        assert out.returncode == 0, f"{' '.join(map(str, cmd))}: {out.stderr}"
    return ca, cert, key


@pytest.mark.filterwarnings("ignore:ssl.PROTOCOL_TLS is deprecated:DeprecationWarning")
def test_an_https_listener_gets_indications_when_its_ca_is_given_and_none_otherwise(tmp_path):
    """pywbem's WBEMListener over https (a certificate for 127.0.0.1 signed by a test CA): a
    service started with `--listener-ca CA.pem` delivers a job's creation and JobState changes
    to https://127.0.0.1:P; a service without it does not (the certificate is not trusted):
    GET /api/v1/deliveries records "gave up" for each of its job's indications, and the
    listener receives none of them."""
    ca, cert, key = tls_files(tmp_path / "tls")
    created, state = unique("created"), unique("state")
    with Listener(certfile=cert, keyfile=key) as listener:
        assert listener.url.startswith("https://127.0.0.1:")
        trusted = unique("trusted")
        with own_service(tmp_path, "--listener-ca", str(ca),
                         data_dir=tmp_path / "trusting") as svc, own_jobs(svc, "https") as jobs:
            conn = connect(svc)
            subscribe(conn, trusted, listener.url, {created: JOB_CREATED, state: JOB_STATE_CHANGED})
            job = jobs.submit(["true"])
            got = listener.wait_for(lambda g: COMPLETED in job_states(about(g, job)),
                                    "the job's indications over https", svc=svc)
            trusted_rows = [d for d in deliveries(svc) if d["destination"] == trusted]

        heard = len(listener.received())
        untrusted = unique("untrusted")
        created2, state2 = unique("created"), unique("state")
        with own_service(tmp_path, "--delivery-attempts", "1",
                         data_dir=tmp_path / "untrusting") as svc, own_jobs(svc, "nohttps") as jobs:
            conn = connect(svc)
            subscribe(conn, untrusted, listener.url,
                      {created2: JOB_CREATED, state2: JOB_STATE_CHANGED}, policy=IGNORE)
            refused = jobs.submit(["true"])
            jobs.wait_final(refused)
            rows = poll(lambda: len([d for d in deliveries(svc) if d["destination"] == untrusted
                                     and d["outcome"] != "delivered"]) >= 4
                        and [d for d in deliveries(svc) if d["destination"] == untrusted],
                        "four failed deliveries to the untrusted https listener", svc)
            time.sleep(0.3)
            after = listener.received()[heard:]  # (its job is CIMJOB:1 too: a new data dir)

    assert job_states(about(got, job)) == [NEW, STARTING, RUNNING, COMPLETED], describe(got)
    assert_in_delivery_order(got)
    assert len(trusted_rows) == 4 and all(d["outcome"] == "delivered" for d in trusted_rows), (
        trusted_rows)
    assert len(rows) == 4 and all(d["outcome"] == "gave up" for d in rows), rows
    assert all("certificate" in (d["error"] or "").lower() for d in rows), rows
    assert after == [], f"the listener got indications from the untrusting service:\n{describe(after)}"


def test_a_restart_invents_nothing_for_the_downtime_and_starts_a_new_sequence(tmp_path):
    """A permanent subscription (job creation, JobState change) to a listener that stays up
    while the service restarts: after the first job's four indications have arrived and the
    service has stopped (exit 0) and started again on the same data dir, the listener gets
    nothing for 2 s (nothing re-sent, nothing made up for the downtime); then a new job's
    creation arrives with SequenceNumber 0 in a SequenceContext other than the first run's."""
    data = tmp_path / "data"
    created, state = unique("created"), unique("state")
    with Listener() as listener:
        with own_service(tmp_path, data_dir=data) as svc, own_jobs(svc, "before") as jobs:
            conn = connect(svc)
            subscribe(conn, unique("downtime"), listener.url,
                      {created: JOB_CREATED, state: JOB_STATE_CHANGED})
            job = jobs.submit(["true"])
            listener.wait_for(lambda g: COMPLETED in job_states(about(g, job)),
                              "the first job's indications", svc=svc)
            time.sleep(0.3)  # room for anything more
            before = listener.received()
        time.sleep(1.0)
        with own_service(tmp_path, data_dir=data) as svc, own_jobs(svc, "after") as jobs:
            time.sleep(2.0)
            during = listener.received()[len(before):]
            later = jobs.submit(["true"])
            listener.wait_for(lambda g: about(g[len(before):], later, created),
                              "the new job's creation after the restart", svc=svc)
            after = listener.received()[len(before):]
            log = svc.log(4000)

    assert job_states(about(before, job)) == [NEW, STARTING, RUNNING, COMPLETED], describe(before)
    assert len(before) == 4, describe(before)
    assert_in_delivery_order(before)
    assert during == [], (f"the listener got these after the restart, before any new job:\n"
                          f"{describe(during)}\nservice log tail:\n{log}")
    assert later.instance_id != job.instance_id
    first = after[0]
    assert is_about(first, later) and first.classname == "CIM_InstCreation", describe(after)
    assert first["IndicationFilterName"] == created, describe(after)
    assert int(first["SequenceNumber"]) == 0, describe(after)
    assert first["SequenceContext"] and first["SequenceContext"] != before[0]["SequenceContext"], (
        first["SequenceContext"], before[0]["SequenceContext"])
    assert_in_delivery_order(after)



def test_what_a_restart_finds_is_indicated_a_run_that_ended_meanwhile_and_one_that_was_lost(tmp_path):
    """Restart recovery's own changes are indicated like any other. The service is killed
    (SIGKILL) while a job runs; the job ends while it is down; restarted, the listener hears
    that job become Completed. Then the service and its supervisor are killed while another
    job runs (as a machine restart would): restarted, the listener hears that job end in
    Exception, ErrorCode 4. Per job: every JobState change, in order, once (a change
    delivered in the last 0.2 s before a crash may come again: the test kills later)."""
    state = unique("state")
    pid_file = tmp_path / "lost.pid"
    with Listener() as listener, own_service(tmp_path) as svc:
        jobs = Jobs(svc, unique("recovery"))
        subscribe(connect(svc), unique("recovery"), listener.url, {state: JOB_STATE_CHANGED})
        ended = jobs.submit(["sh", "-c", "sleep 1.5"])
        listener.wait_for(lambda g: RUNNING in job_states(about(g, ended)),
                          "the first job running", svc=svc)
        time.sleep(0.5)  # a delivered change's position is saved within 0.2 s
        svc.kill()
        time.sleep(2.5)  # the job ends while no service is there to hear it
        svc.start()
        assert jobs.wait_final(ended)["JobState"] == COMPLETED
        listener.wait_for(lambda g: COMPLETED in job_states(about(g, ended)),
                          "the first job's completion, found at the restart", svc=svc)

        lost = jobs.submit(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 120"])
        listener.wait_for(lambda g: RUNNING in job_states(about(g, lost)),
                          "the second job running", svc=svc)
        supervisors = svc.supervisors()
        assert supervisors, "no supervisor holds the running job"
        time.sleep(0.5)
        svc.kill()
        for pid in supervisors:
            os.kill(pid, signal.SIGKILL)
            reap(pid, 10)
        svc.start()
        assert jobs.wait_final(lost)["JobState"] == EXCEPTION
        reap(int(pid_file.read_text()), 10)  # the orphan the restart killed is ours to reap
        listener.wait_for(lambda g: EXCEPTION in job_states(about(g, lost)),
                          "the second job's end, found at the restart", svc=svc)
        time.sleep(0.3)  # room for anything more
        got = listener.received()

    assert job_states(about(got, ended)) == [STARTING, RUNNING, COMPLETED], describe(got)
    assert job_states(about(got, lost)) == [STARTING, RUNNING, EXCEPTION], describe(got)
    assert int(source(about(got, lost)[-1])["ErrorCode"]) == 4, describe(got)

# --- pywbemcli subscription ---------------------------------------------------------------

@pytest.fixture
def cli(url, tmp_path):
    """Runs pywbemcli against the session's service (as test_pywbemcli.py does); returns the
    CompletedProcess, asserting the exit code unless expect_rc is None."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWBEMCLI_")}
    env["PYWBEMCLI_CONNECTIONS_FILE"] = str(tmp_path / "connections.yaml")
    env["PYWBEMTOOLS_TERMWIDTH"] = "250"

    def run(*args, expect_rc=0):
        cmd = [str(PYWBEMCLI), "-s", url, "-u", CREDENTIALS[0], "-p", CREDENTIALS[1],
               "--no-verify", *args]
        out = subprocess.run(cmd, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=120)
        if expect_rc is not None:
            assert out.returncode == expect_rc, (
                f"{' '.join(cmd)} exited {out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}")
        return out

    return run


def interop_names(conn, cls) -> set[str]:
    return {p.keybindings["Name"] for p in conn.EnumerateInstanceNames(cls, namespace=INTEROP)}


OWNED_DEST = "pywbemdestination:defaultpywbemcliSubMgr:{}"
OWNED_FILTER = "pywbemfilter:defaultpywbemcliSubMgr:{}"


def test_pywbemcli_subscription_add_list_and_remove(service, conn, jobs, cli):
    """`pywbemcli subscription add-destination / add-filter / add-subscription` (owned and
    --permanent) make working subscriptions (a job's creation reaches the listener), `list`,
    `list-subscriptions`, `list-destinations` and `list-filters` show them, and `remove-server`
    and `remove-subscription --remove-associated-instances` remove them all."""
    dest, flt = unique("dest"), unique("filter")
    pdest, pflt = unique("pdest"), unique("pfilter")
    owned_dest, owned_filter = OWNED_DEST.format(dest), OWNED_FILTER.format(flt)
    with Listener() as listener:
        try:
            out = cli("subscription", "add-destination", dest, "-l", listener.url).stdout
            assert f"Added owned destination: Name={owned_dest}" in out, out
            out = cli("subscription", "add-filter", flt, "-q", JOB_CREATED[0]).stdout
            assert f"Added owned filter: Name={owned_filter}" in out, out
            out = cli("subscription", "add-subscription", dest, flt).stdout
            assert "Added owned subscription" in out and owned_filter in out, out

            out = cli("subscription", "add-destination", pdest, "-l", listener.url,
                      "--permanent").stdout
            assert f"Added permanent destination: Name={pdest}" in out, out
            out = cli("subscription", "add-filter", pflt, "-q", JOB_STATE_CHANGED[0],
                      "--query-language", JOB_STATE_CHANGED[1], "--permanent").stdout
            assert f"Added permanent filter: Name={pflt}" in out, out
            out = cli("subscription", "add-subscription", pdest, pflt, "--permanent").stdout
            assert "Added permanent subscription" in out, out

            # what the server holds
            dests = {d["Name"]: d for d in conn.EnumerateInstances(DESTINATION_CLASS, namespace=INTEROP)}
            assert int(dests[owned_dest]["PersistenceType"]) == TRANSIENT
            assert int(dests[pdest]["PersistenceType"]) == PERMANENT
            assert dests[pdest]["Destination"] == listener.url

            out = cli("-o", "text", "subscription", "list").stdout
            for cls in (SUBSCRIPTION_CLASS, FILTER_CLASS, DESTINATION_CLASS):
                line = [ln for ln in out.splitlines() if ln.startswith(cls + ":")]
                assert line, out
                owned, permanent, _ = (int(x) for x in line[0].split(":", 1)[1].split(","))
                assert owned == 1 and permanent >= 1, out
            out = cli("subscription", "list-subscriptions").stdout
            assert f"{dest}(owned)" in out and f"{flt}(owned)" in out, out
            assert f"{pdest}(permanent)" in out and f"{pflt}(permanent)" in out, out
            assert listener.url in out, out
            out = cli("subscription", "list-destinations").stdout
            assert dest in out and pdest in out and listener.url in out, out
            out = cli("subscription", "list-filters").stdout
            assert flt in out and pflt in out and "DMTF:CQL" in out, out

            job = jobs.submit(["true"])
            got = listener.wait_for(
                lambda g: about(g, job, owned_filter)
                and COMPLETED in job_states(about(g, job, pflt)),
                "the job's creation (owned) and completion (permanent)", svc=service)
            assert [i.classname for i in about(got, job, owned_filter)] == ["CIM_InstCreation"]
            assert job_states(about(got, job, pflt)) == [STARTING, RUNNING, COMPLETED]
        finally:
            out_server = cli("subscription", "remove-server", expect_rc=None)
            out_perm = cli("subscription", "remove-subscription", pdest, pflt,
                           "--remove-associated-instances", expect_rc=None)

    assert out_server.returncode == 0, out_server.stderr
    assert "destinations=1, filters=1, subscriptions=1" in out_server.stdout, out_server.stdout
    assert out_perm.returncode == 0, out_perm.stderr
    assert "Removed 1 subscription(s)" in out_perm.stdout, out_perm.stdout
    assert not {owned_dest, pdest} & interop_names(conn, DESTINATION_CLASS)
    assert not {owned_filter, pflt} & interop_names(conn, FILTER_CLASS)
    left = conn.EnumerateInstanceNames(SUBSCRIPTION_CLASS, namespace=INTEROP)
    assert not [p for p in left if p["Filter"]["Name"] in (owned_filter, pflt)], left


def test_referencenames_of_a_filter_in_use_gives_its_subscription(conn, cli):
    """ReferenceNames (ResultClass CIM_IndicationSubscription) of a filter that a
    subscription uses returns that subscription's path, in the interop namespace; pywbem's
    remove_filter and `pywbemcli subscription remove-filter` rely on it to refuse to remove a
    filter in use (CIM_ERR_FAILED "referenced by subscriptions")."""
    name = unique("refd")
    flt = conn.CreateInstance(filter_instance(name, *JOB_CREATED), namespace=INTEROP)
    try:
        dest = conn.CreateInstance(destination_instance(
            unique("refd"), f"http://127.0.0.1:{free_port()}"), namespace=INTEROP)
        try:
            sub = conn.CreateInstance(subscription_instance(flt, dest), namespace=INTEROP)
            try:
                out = cli("subscription", "remove-filter", name, "--permanent", expect_rc=None)
                refs = conn.ReferenceNames(flt, ResultClass=SUBSCRIPTION_CLASS)
                assert len(refs) == 1, refs
                assert refs[0].classname.lower() == SUBSCRIPTION_CLASS.lower()
                assert refs[0].namespace in ("interop", "root/interop"), refs[0]
                assert same_path(refs[0], sub), (refs[0], sub)
                assert out.returncode != 0, out.stdout
                assert "referenced by subscriptions" in out.stdout + out.stderr, out
                assert name in interop_names(conn, FILTER_CLASS)
            finally:
                conn.DeleteInstance(sub)
        finally:
            conn.DeleteInstance(dest)
    finally:
        conn.DeleteInstance(flt)


# --- errors -------------------------------------------------------------------------------

def test_filter_with_a_bad_query_or_query_language_is_refused(conn):
    """CreateInstance of CIM_IndicationFilter: a query that does not parse, selects from a
    class that is not an indication class (CIM_ConcreteJob), or is in an unknown QueryLanguage
    is CIM_ERR_INVALID_PARAMETER (4: DSP0200 lists no query status for CreateInstance, and
    pywbemtools expects 4), naming why; none is created."""
    bad = {
        unique("unparsable"): ("SELEC * FROM CIM_InstCreation", "WQL", "query"),
        unique("notindication"): ("SELECT * FROM CIM_ConcreteJob", "WQL", "indication class"),
        unique("cqlgarbage"): ("SELECT * FROM CIM_InstCreation WHERE ANY", "DMTF:CQL", "query"),
        unique("language"): ("SELECT * FROM CIM_InstCreation", "SQL", "SQL"),
    }
    for name, (query, language, why) in bad.items():
        with cim_error(CIM_ERR_INVALID_PARAMETER, "Query", why):
            conn.CreateInstance(filter_instance(name, query, language), namespace=INTEROP)
    assert not set(bad) & interop_names(conn, FILTER_CLASS)


def test_bad_references_and_destinations_are_invalid_parameters(conn):
    """A subscription whose Filter or Handler does not exist, and a destination whose URL is not
    http(s), are CIM_ERR_INVALID_PARAMETER (4)."""
    flt = conn.CreateInstance(filter_instance(unique("real"), *JOB_CREATED), namespace=INTEROP)
    dest = conn.CreateInstance(destination_instance(
        unique("real"), f"http://127.0.0.1:{free_port()}"), namespace=INTEROP)
    try:
        ghost_filter = flt.copy()
        ghost_filter.keybindings["Name"] = unique("nosuchfilter")
        ghost_dest = dest.copy()
        ghost_dest.keybindings["Name"] = unique("nosuchdest")
        with cim_error(CIM_ERR_INVALID_PARAMETER, "Filter"):
            conn.CreateInstance(subscription_instance(ghost_filter, dest), namespace=INTEROP)
        with cim_error(CIM_ERR_INVALID_PARAMETER, "Handler"):
            conn.CreateInstance(subscription_instance(flt, ghost_dest), namespace=INTEROP)
        for url in ("ftp://127.0.0.1:21/x", "file:///tmp/x", "http://", "ws://127.0.0.1:5990"):
            with cim_error(CIM_ERR_INVALID_PARAMETER, "Destination"):
                conn.CreateInstance(destination_instance(unique("badurl"), url), namespace=INTEROP)
        subs = conn.EnumerateInstanceNames(SUBSCRIPTION_CLASS, namespace=INTEROP)
        assert not [p for p in subs if same_path(p["Filter"], flt) or same_path(p["Handler"], dest)]
    finally:
        conn.DeleteInstance(dest)
        conn.DeleteInstance(flt)


def test_a_destination_url_of_another_scheme_written_without_slashes_is_refused(conn):
    """A Destination whose scheme is not http(s) is CIM_ERR_INVALID_PARAMETER also when the
    URL has no "//" (mailto:, as RFC 3986 allows): it is not an http URL without a scheme."""
    name = unique("mailto")
    try:
        with cim_error(CIM_ERR_INVALID_PARAMETER, "Destination"):
            conn.CreateInstance(destination_instance(name, "mailto:listener@example.com"),
                                namespace=INTEROP)
    finally:
        for path in conn.EnumerateInstanceNames(DESTINATION_CLASS, namespace=INTEROP):
            if path["Name"] == name:
                conn.DeleteInstance(path)


def test_duplicates_are_already_exists_and_in_use_objects_cannot_be_deleted(conn):
    """A second filter or destination with the same Name, or a second subscription of the same
    filter to the same destination, is CIM_ERR_ALREADY_EXISTS (11); deleting a filter or a
    destination a subscription uses is CIM_ERR_FAILED (1) and leaves it; once the subscription
    is deleted they can be."""
    fname, dname = unique("dup"), unique("dup")
    flt = conn.CreateInstance(filter_instance(fname, *JOB_CREATED), namespace=INTEROP)
    dest = conn.CreateInstance(destination_instance(dname, f"http://127.0.0.1:{free_port()}"),
                               namespace=INTEROP)
    sub = conn.CreateInstance(subscription_instance(flt, dest), namespace=INTEROP)
    try:
        with cim_error(CIM_ERR_ALREADY_EXISTS):
            conn.CreateInstance(filter_instance(fname, *JOB_STATE_CHANGED), namespace=INTEROP)
        with cim_error(CIM_ERR_ALREADY_EXISTS):
            conn.CreateInstance(destination_instance(dname, f"http://127.0.0.1:{free_port()}"),
                                namespace=INTEROP)
        with cim_error(CIM_ERR_ALREADY_EXISTS):
            conn.CreateInstance(subscription_instance(flt, dest), namespace=INTEROP)
        with cim_error(CIM_ERR_FAILED):
            conn.DeleteInstance(flt)
        with cim_error(CIM_ERR_FAILED):
            conn.DeleteInstance(dest)
        assert conn.GetInstance(flt)["Query"] == JOB_CREATED[0]
        assert conn.GetInstance(dest)["Name"] == dname
    finally:
        conn.DeleteInstance(sub)
        conn.DeleteInstance(flt)
        conn.DeleteInstance(dest)
    with cim_error(CIM_ERR_NOT_FOUND):
        conn.GetInstance(flt)


def test_a_user_may_not_delete_or_modify_the_admins_subscriptions(service, conn):
    """A user of role "user" (added with `cimjob user add`) sees the subscriptions but deleting
    or modifying the admin's is CIM_ERR_ACCESS_DENIED (2), and they stay; the user's own filter
    it may delete."""
    user, password = unique("sub"), "indications-user-password"
    os_user = pwd.getpwuid(os.getuid()).pw_name
    added = subprocess.run(
        [str(cimjob_bin()), "user", "add", user, "--role", "user", "--os-user", os_user,
         *service.users_at()],
        input=password + "\n", capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    made = subscribe(conn, unique("admins"), f"http://127.0.0.1:{free_port()}",
                     {unique("admins"): JOB_CREATED})
    (flt, sub), = [v for k, v in made.items() if k != "destination"]
    other = connect(service, (user, password))
    try:
        poll(lambda: _authenticates(other), f"the new user {user} is accepted", service)
        assert any(same_path(p, sub) for p in
                   other.EnumerateInstanceNames(SUBSCRIPTION_CLASS, namespace=INTEROP))
        with cim_error(CIM_ERR_ACCESS_DENIED):
            other.DeleteInstance(sub)
        with cim_error(CIM_ERR_ACCESS_DENIED):
            other.DeleteInstance(made["destination"])
        with cim_error(CIM_ERR_ACCESS_DENIED):
            other.ModifyInstance(CIMInstance(SUBSCRIPTION_CLASS, path=sub.copy(), properties={
                "SubscriptionState": Uint16(DISABLED)}), PropertyList=["SubscriptionState"])
        assert int(conn.GetInstance(sub)["SubscriptionState"]) == ENABLED
        own = other.CreateInstance(filter_instance(unique("users"), *JOB_CREATED), namespace=INTEROP)
        other.DeleteInstance(own)
        with cim_error(CIM_ERR_NOT_FOUND):
            conn.GetInstance(own)
    finally:
        other.close()
        conn.DeleteInstance(sub)
        conn.DeleteInstance(flt)
        conn.DeleteInstance(made["destination"])


def _authenticates(c: pywbem.WBEMConnection) -> bool:
    try:
        c.EnumerateInstanceNames(FILTER_CLASS, namespace=INTEROP)
        return True
    except pywbem.AuthError:
        return False


# --- Notify -------------------------------------------------------------------------------

class _Webhook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((self.headers.get("Content-Type"), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_notify_runs_the_command_and_posts_the_webhook_when_a_notify_job_ends(tmp_path):
    """`--notify-command` and `--notify-webhook`: a job with Notify "alice" (JSON API) that
    completes gives the command, on stdin, {"event": "completed", "user": "alice", "job": {...
    its InstanceID ...}} with CIMJOB_NOTIFY_USER / CIMJOB_JOB_ID / CIMJOB_NOTIFY_EVENT set, and
    the webhook the same JSON; one with Notify "bob" (SubmitJob with a Template) that exits 3
    gives "failed"; a job without Notify gives nothing."""
    out_dir = tmp_path / "notices"
    out_dir.mkdir()
    d = shlex.quote(str(out_dir))
    command = (f'f={d}/"$CIMJOB_JOB_ID"; cat > "$f.tmp" && '
               'printf "%s\\n%s\\n%s\\n" "$CIMJOB_NOTIFY_USER" "$CIMJOB_JOB_ID" "$CIMJOB_NOTIFY_EVENT" '
               '> "$f.env" && mv "$f.tmp" "$f.json"')
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    hook.received = []
    hook_thread = threading.Thread(target=hook.serve_forever, daemon=True)
    hook_thread.start()
    try:
        webhook = f"http://127.0.0.1:{hook.server_address[1]}/notify"
        with own_service(tmp_path, "--notify-command", command, "--notify-webhook", webhook) as svc, \
                own_jobs(svc, "notify") as jobs:
            silent = jobs.submit(["true"])
            jobs.wait_final(silent)
            ok = jobs.submit(["true"], Notify="alice")
            assert jobs.wait_final(ok)["JobState"] == COMPLETED
            conn = connect(svc)
            template = CIMInstance(JOB_CLASS, properties={"Notify": "bob"})
            rv, out = conn.InvokeMethod("SubmitJob", service_path(conn), Name=jobs.name("bob"),
                                        CommandLine=["sh", "-c", "exit 3"], Template=template)
            assert rv == 4096
            bad = jobs.track(out["Job"])
            assert jobs.wait_final(bad)["JobState"] == EXCEPTION

            def notice(job):
                path = out_dir / f"{job.instance_id}.json"
                return path.exists() and json.loads(path.read_text())

            def posted():
                return {json.loads(b)["job"]["InstanceID"]: (ct, json.loads(b))
                        for ct, b in list(hook.received)}

            got = {job.instance_id: poll(lambda: notice(job), f"the notice of {job}", svc)
                   for job in (ok, bad)}
            hooked = poll(lambda: len(posted()) >= 2 and posted(), "two webhook POSTs", svc)
            time.sleep(0.3)  # room for a wrong notice about the silent job
            files = sorted(p.name for p in out_dir.iterdir())
            hooked = posted()
    finally:
        hook.shutdown()
        hook.server_close()
        hook_thread.join(timeout=10)

    for job, user, event in ((ok, "alice", "completed"), (bad, "bob", "failed")):
        n = got[job.instance_id]
        assert n["event"] == event and n["user"] == user, n
        assert n["job"]["InstanceID"] == job.instance_id, n
        assert n["job"]["JobState"] == (COMPLETED if event == "completed" else EXCEPTION), n
        env = (out_dir / f"{job.instance_id}.env").read_text().splitlines()
        assert env == [user, job.instance_id, event], env
        content_type, body = hooked[job.instance_id]
        assert content_type and content_type.startswith("application/json"), content_type
        assert body == n, (body, n)
    assert files == sorted(f"{j.instance_id}.{ext}" for j in (ok, bad) for ext in ("env", "json"))
    assert silent.instance_id not in hooked
