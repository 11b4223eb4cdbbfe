"""Scheduling through WBEM: the CIM_Job calendar properties (ScheduledStartTime, RunMonth,
RunDay, RunDayOfWeek, RunStartInterval, LocalOrUtcTime, UntilTime, JobRunTimes) and our
extensions (TimeZone, MissedRunPolicy, NextRunTime, RunCount, SkippedRuns).

Checked here: a bad scheduling value is refused with CIM_ERR_INVALID_PARAMETER naming the
property (CreateInstance and SubmitJob's Template alike) and stores no job; a daily job waits
with NextRunTime set, is re-planned by ModifyInstance and by RequestStateChange; UntilTime ends
an unlimited series; after a restart, MissedRunPolicy decides whether a missed run is skipped
or run once. Every wait is bounded; services started here are stopped here.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import pywbem
from pywbem import CIMDateTime, Sint8, Uint8, Uint16, Uint32

from harness import (
    CIM_ERR_INVALID_PARAMETER, COMPLETED, CREDENTIALS, JOB_CLASS, NAMESPACE, NEW, SUSPENDED,
    TERMINATED, Service, running_service, service_path, until,
)

UTC = 2  # LocalOrUtcTime: UTC


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def time_of_day(at: datetime) -> timedelta:
    """The time of day of `at` (UTC) in whole seconds, as a RunStartInterval value."""
    return timedelta(hours=at.hour, minutes=at.minute, seconds=at.second)


def as_datetime(value: CIMDateTime) -> datetime:
    assert isinstance(value, CIMDateTime) and not value.is_interval, f"not a point in time: {value!r}"
    return value.datetime


def missed_run_policy_values(conn) -> dict[str, int]:
    """MissedRunPolicy's ValueMap/Values from the class: {lower-cased value name: number}."""
    cls = conn.GetClass(JOB_CLASS, IncludeQualifiers=True, LocalOnly=False)
    prop = cls.properties["MissedRunPolicy"]
    value_map = list(prop.qualifiers["ValueMap"].value)
    values = list(prop.qualifiers["Values"].value)
    return {v.lower(): int(n) for n, v in zip(value_map, values)}


def policy(values: dict[str, int], word: str) -> int:
    found = [n for name, n in values.items() if word in name]
    assert len(found) == 1, f"no single MissedRunPolicy value named like {word!r}: {values}"
    return found[0]


def wait_instance(conn, path, done, what: str, timeout: float):
    """Polls GetInstance until done(instance); bounded."""
    return until(lambda: conn.GetInstance(path), done,
                 lambda inst: f"{path.keybindings['InstanceID']} never became {what} in {timeout}s; "
                              f"last: JobState={inst['JobState']} RunCount={inst['RunCount']} "
                              f"SkippedRuns={inst['SkippedRuns']} NextRunTime={inst['NextRunTime']}",
                 timeout, 0.1)


def request_state(conn, path, state: int) -> int:
    rv, _ = conn.InvokeMethod("RequestStateChange", path, RequestedState=Uint16(state))
    return rv


def job_count(conn) -> int:
    return len(conn.EnumerateInstanceNames(JOB_CLASS))


# --- 1. validation ------------------------------------------------------------------------

BAD_VALUES = [
    pytest.param("RunMonth", {"RunMonth": Uint8(12)}, id="RunMonth-12"),
    pytest.param("RunDay", {"RunDay": Sint8(32)}, id="RunDay-32"),
    pytest.param("RunDayOfWeek", {"RunDayOfWeek": Sint8(8)}, id="RunDayOfWeek-8"),
    pytest.param("RunDay", {"RunDay": Sint8(0), "RunDayOfWeek": Sint8(0)}, id="RunDay-0-RunDayOfWeek-0"),
    pytest.param("RunStartInterval", {"RunStartInterval": CIMDateTime(timedelta(hours=24))},
                 id="RunStartInterval-24h"),
    pytest.param("LocalOrUtcTime", {"LocalOrUtcTime": Uint16(3)}, id="LocalOrUtcTime-3"),
    pytest.param("TimeZone", {"TimeZone": "Mars/Olympus"}, id="TimeZone-Mars"),
    pytest.param("UntilTime", {"UntilTime": CIMDateTime(datetime(2001, 6, 1, tzinfo=timezone.utc))},
                 id="UntilTime-2001"),
]


@pytest.mark.parametrize("via", ["CreateInstance", "SubmitJob"])
@pytest.mark.parametrize("prop, bad", BAD_VALUES)
def test_a_bad_scheduling_value_is_invalid_parameter_naming_it_and_stores_no_job(conn, jobs, via, prop, bad):
    """A scheduling value out of its domain (or a combination with no day at all, or a
    RunStartInterval of a full day, or an unknown zone, or an UntilTime long past) is refused
    with CIM_ERR_INVALID_PARAMETER whose description names the property, through
    CreateInstance and through SubmitJob's Template alike; no job is stored."""
    before = job_count(conn)
    name = jobs.name("bad")
    with pytest.raises(pywbem.CIMError) as info:
        if via == "CreateInstance":
            path = conn.CreateInstance(pywbem.CIMInstance(
                JOB_CLASS, properties={"Name": name, "CommandLine": ["true"], **bad}))
            jobs.track(path)
        else:
            template = pywbem.CIMInstance(JOB_CLASS, properties=dict(bad))
            rv, out = conn.InvokeMethod("SubmitJob", service_path(conn), Name=name,
                                        CommandLine=["true"], Template=template)
            if out.get("Job") is not None:
                jobs.track(out["Job"])
            pytest.fail(f"SubmitJob with {bad} returned {rv} (Job={out.get('Job')}), not a CIMError")
    err = info.value
    assert err.status_code == CIM_ERR_INVALID_PARAMETER, (
        f"expected CIM_ERR_INVALID_PARAMETER (4), got {err.status_code} ({err.status_code_name}): "
        f"{err.status_description!r}")
    assert prop.lower() in (err.status_description or "").lower(), (
        f"the error description {err.status_description!r} does not name {prop}")
    assert job_count(conn) == before, "a refused job must not be stored"


# --- 2. a daily job waiting, modified, suspended, started, terminated ---------------------

def test_a_daily_job_waits_with_nextruntime_and_is_replanned_by_modify_and_state_changes(conn, jobs):
    """A daily job (RunStartInterval two hours ahead, UTC) waits in JobState New with
    NextRunTime at that time and RunCount 0, showing its TimeZone and MissedRunPolicy;
    ModifyInstance of RunStartInterval moves NextRunTime by the same amount; Suspend makes it
    Suspended with NextRunTime NULL; Start re-plans it (NextRunTime set again); Terminate ends
    it (Terminated, NextRunTime NULL)."""
    skip = policy(missed_run_policy_values(conn), "skip")
    due = (utc_now() + timedelta(hours=2)).replace(microsecond=0)
    path = conn.CreateInstance(pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": jobs.name("daily"),
        "CommandLine": ["true"],
        "RunStartInterval": CIMDateTime(time_of_day(due)),
        "LocalOrUtcTime": Uint16(UTC),
        "TimeZone": "UTC",
        "MissedRunPolicy": Uint16(skip),
    }))
    jobs.track(path)

    inst = conn.GetInstance(path)
    assert inst["JobState"] == NEW, "a job waiting for its first occurrence is New"
    assert inst["RunCount"] == 0
    assert inst["TimeZone"] == "UTC"
    assert inst["MissedRunPolicy"] == skip
    assert inst["NextRunTime"] is not None, "a waiting job shows its next run"
    assert as_datetime(inst["NextRunTime"]) == due

    # ModifyInstance of RunStartInterval: NextRunTime moves by as much
    shift = timedelta(minutes=10)
    inst["RunStartInterval"] = CIMDateTime(time_of_day(due + shift))
    conn.ModifyInstance(inst, PropertyList=["RunStartInterval"])
    moved = conn.GetInstance(path)
    assert moved["RunStartInterval"].timedelta == time_of_day(due + shift)
    assert as_datetime(moved["NextRunTime"]) - due == shift
    assert moved["JobState"] == NEW

    # Suspend: held, no next run
    assert request_state(conn, path, 3) == 0
    suspended = conn.GetInstance(path)
    assert suspended["JobState"] == SUSPENDED
    assert suspended["NextRunTime"] is None

    # Start: re-planned from now (the same occurrence, it has not come yet)
    assert request_state(conn, path, 2) == 0
    started = conn.GetInstance(path)
    assert started["JobState"] != SUSPENDED
    assert started["NextRunTime"] is not None, "Start re-plans the next run"
    assert as_datetime(started["NextRunTime"]) == due + shift
    assert started["RunCount"] == 0

    # Terminate: the series ends
    rv = request_state(conn, path, 4)
    assert rv in (0, 4096)
    ended = wait_instance(conn, path, lambda i: i["JobState"] == TERMINATED, "Terminated", 10)
    assert ended["NextRunTime"] is None
    assert ended["RunCount"] == 0


# --- 3. UntilTime ends an unlimited series ------------------------------------------------

def test_untiltime_ends_an_unlimited_series(conn, jobs):
    """JobRunTimes 0 (no limit) with UntilTime 3 s after submission: the runs follow one
    another (RunCount reaches 2 or more) and the series ends Completed, with NextRunTime
    NULL, within a few seconds of UntilTime."""
    path = conn.CreateInstance(pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": jobs.name("until"),
        "CommandLine": ["true"],
        "JobRunTimes": Uint32(0),
        "UntilTime": CIMDateTime(timedelta(seconds=3)),
    }))
    jobs.track(path)
    done = wait_instance(conn, path, lambda i: i["JobState"] == COMPLETED, "Completed", 8)
    assert done["RunCount"] >= 2, f"an unlimited series runs more than once before UntilTime: {done['RunCount']}"
    assert done["NextRunTime"] is None


# --- 4. MissedRunPolicy at restart ----------------------------------------------------------

def connect(svc: Service) -> pywbem.WBEMConnection:
    return pywbem.WBEMConnection(svc.url, creds=CREDENTIALS, default_namespace=NAMESPACE,
                                 no_verification=True, timeout=30)


def test_missed_run_policy_at_restart_skips_or_runs_once(tmp_path):
    """Two daily one-run calendar jobs due 3 s ahead; the service stops at once and comes back
    2 s after the due time on the same data dir. MissedRunPolicy Skip counts the missed run
    (SkippedRuns 1, RunCount 0) and does not run it; Run Once runs it at start-up (RunCount 1,
    Completed). (Skip applies to calendar jobs: see the README.)"""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    tag = uuid.uuid4().hex[:6]
    with running_service(data_dir, []) as svc:
        conn = connect(svc)
        try:
            values = missed_run_policy_values(conn)
            skip, run_once = policy(values, "skip"), policy(values, "once")
            due = (utc_now() + timedelta(seconds=4)).replace(microsecond=0)
            paths = {}
            for label, value in (("skip", skip), ("once", run_once)):
                paths[label] = conn.CreateInstance(pywbem.CIMInstance(JOB_CLASS, properties={
                    "Name": f"missed-{label}-{tag}",
                    "CommandLine": ["true"],
                    "RunStartInterval": CIMDateTime(time_of_day(due)),
                    "LocalOrUtcTime": Uint16(UTC),
                    "JobRunTimes": Uint32(1),
                    "MissedRunPolicy": Uint16(value),
                }))
            for label, path in paths.items():
                inst = conn.GetInstance(path)
                assert inst["JobState"] == NEW, f"{label}: waits for its occurrence"
                assert as_datetime(inst["NextRunTime"]) == due, f"{label}: due at {due}"
        finally:
            conn.close()

    # the service is down over the due time
    pause = (due + timedelta(seconds=2) - utc_now()).total_seconds()
    assert pause > 0, "the service took too long to stop: the due time passed while it was up"
    time.sleep(pause)

    with running_service(data_dir, []) as svc:
        conn = connect(svc)
        try:
            once = wait_instance(conn, paths["once"], lambda i: i["JobState"] == COMPLETED,
                                 "Completed", 10)
            assert once["RunCount"] == 1
            assert once["SkippedRuns"] in (0, None)

            skipped = wait_instance(conn, paths["skip"], lambda i: i["SkippedRuns"] == 1,
                                    "SkippedRuns 1", 5)
            time.sleep(0.5)  # had it been run, it would have started by now
            skipped = conn.GetInstance(paths["skip"])
            assert skipped["SkippedRuns"] == 1
            assert skipped["RunCount"] == 0, "a skipped run does not run"
            assert skipped["JobState"] not in (COMPLETED, TERMINATED)
            nxt = skipped["NextRunTime"]
            assert nxt is not None and as_datetime(nxt) > utc_now(), "the next occurrence comes"
            assert request_state(conn, paths["skip"], 4) in (0, 4096)
            wait_instance(conn, paths["skip"], lambda i: i["JobState"] == TERMINATED, "Terminated", 10)
        finally:
            conn.close()
