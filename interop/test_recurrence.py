"""Recurrence beyond CIM_Job's calendar, through WBEM with pywbem: our extension properties
RepeatInterval, CalendarExpression and OverlapPolicy.

Checked here: GetClass declares the three with descriptions (and OverlapPolicy's ValueMap);
a CalendarExpression job waits for the next time it names, in its TimeZone; a RepeatInterval
job runs on its grid and ends after JobRunTimes; setting two ways to recur (at CreateInstance,
through SubmitJob's Template, or by ModifyInstance) is CIM_ERR_INVALID_PARAMETER naming both,
and changes nothing; a bad expression is refused naming the property. Every wait is bounded.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import pywbem
from pywbem import CIMDateTime, Uint16, Uint32

from harness import CIM_ERR_INVALID_PARAMETER, COMPLETED, JOB_CLASS, NEW, service_path, until


def test_the_class_declares_the_recurrence_extensions(conn):
    """GetClass: RepeatInterval is a datetime, CalendarExpression a string, OverlapPolicy a
    uint16 whose ValueMap names Skip, Queue and Replace; each says what it means."""
    cls = conn.GetClass(JOB_CLASS, IncludeQualifiers=True, LocalOnly=False)
    assert cls.properties["RepeatInterval"].type == "datetime"
    assert cls.properties["CalendarExpression"].type == "string"
    overlap = cls.properties["OverlapPolicy"]
    assert overlap.type == "uint16"
    named = dict(zip(overlap.qualifiers["ValueMap"].value, overlap.qualifiers["Values"].value))
    assert named == {"2": "Skip", "3": "Queue", "4": "Replace"}, named
    for name in ("RepeatInterval", "CalendarExpression", "OverlapPolicy"):
        description = cls.properties[name].qualifiers["Description"].value
        assert len(description) > 40, f"{name}: {description!r}"
    assert "OnCalendar" in cls.properties["CalendarExpression"].qualifiers["Description"].value


def test_a_calendar_expression_job_waits_for_the_next_time_it_names_in_its_zone(conn, jobs):
    """CalendarExpression "Mon,Thu 02:00" in America/New_York: the job is New, and its
    NextRunTime is a Monday or Thursday at 02:00 New York time, within the coming week."""
    path = conn.CreateInstance(pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": jobs.name("twice-weekly"),
        "CommandLine": ["true"],
        "CalendarExpression": "Mon,Thu 02:00",
        "TimeZone": "America/New_York",
        "JobRunTimes": Uint32(0),
        "OverlapPolicy": Uint16(3),
    }))
    jobs.track(path)
    inst = conn.GetInstance(path)
    assert inst["JobState"] == NEW
    assert inst["CalendarExpression"] == "Mon,Thu 02:00"
    assert inst["OverlapPolicy"] == 3
    local = inst["NextRunTime"].datetime.astimezone(ZoneInfo("America/New_York"))
    assert local.strftime("%a %H:%M:%S") in ("Mon 02:00:00", "Thu 02:00:00"), local
    assert local - datetime.now(timezone.utc) < timedelta(days=7)


def test_a_repeat_interval_job_runs_on_its_grid_then_completes(conn, jobs):
    """RepeatInterval 1 s, JobRunTimes 3: three runs, then Completed with NextRunTime NULL."""
    path = conn.CreateInstance(pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": jobs.name("every-second"),
        "CommandLine": ["true"],
        "RepeatInterval": CIMDateTime(timedelta(seconds=1)),
        "JobRunTimes": Uint32(3),
    }))
    jobs.track(path)
    done = until(lambda: conn.GetInstance(path), lambda i: i["JobState"] == COMPLETED,
                 lambda i: f"never Completed: JobState={i['JobState']} RunCount={i['RunCount']}", 15, 0.2)
    assert done["RunCount"] == 3
    assert done["NextRunTime"] is None
    assert done["RepeatInterval"].timedelta == timedelta(seconds=1)


def invalid_parameter(call) -> str:
    with pytest.raises(pywbem.CIMError) as info:
        call()
    assert info.value.status_code == CIM_ERR_INVALID_PARAMETER, (
        f"{info.value.status_code} ({info.value.status_code_name}): {info.value.status_description!r}")
    return info.value.status_description or ""


def test_two_ways_to_recur_are_refused_naming_both_and_change_nothing(conn, jobs):
    """RepeatInterval with RunStartInterval at CreateInstance, CalendarExpression with
    RepeatInterval through SubmitJob's Template, and a ModifyInstance that adds a
    CalendarExpression to a daily job: each is CIM_ERR_INVALID_PARAMETER naming both
    properties; no job is stored, and the daily job keeps its schedule."""
    before = len(conn.EnumerateInstanceNames(JOB_CLASS))
    said = invalid_parameter(lambda: conn.CreateInstance(pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": jobs.name("both"), "CommandLine": ["true"],
        "RepeatInterval": CIMDateTime(timedelta(minutes=15)),
        "RunStartInterval": CIMDateTime(timedelta(hours=2)),
    })))
    assert "RepeatInterval" in said and "RunStartInterval" in said, said
    template = pywbem.CIMInstance(JOB_CLASS, properties={
        "CalendarExpression": "hourly", "RepeatInterval": CIMDateTime(timedelta(minutes=5))})
    said = invalid_parameter(lambda: conn.InvokeMethod(
        "SubmitJob", service_path(conn), Name=jobs.name("both"), CommandLine=["true"], Template=template))
    assert "RepeatInterval" in said and "CalendarExpression" in said, said
    said = invalid_parameter(lambda: conn.CreateInstance(pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": jobs.name("bad"), "CommandLine": ["true"], "CalendarExpression": "Mon 25:00"})))
    assert "CalendarExpression" in said and "hour 25" in said, said
    assert len(conn.EnumerateInstanceNames(JOB_CLASS)) == before, "nothing was stored"

    path = conn.CreateInstance(pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": jobs.name("daily"), "CommandLine": ["true"],
        "RunStartInterval": CIMDateTime(timedelta(hours=3)), "JobRunTimes": Uint32(0),
    }))
    jobs.track(path)
    inst = conn.GetInstance(path)
    planned = inst["NextRunTime"]
    inst["CalendarExpression"] = "hourly"
    said = invalid_parameter(lambda: conn.ModifyInstance(inst, PropertyList=["CalendarExpression"]))
    assert "CalendarExpression" in said and "RunStartInterval" in said, said
    kept = conn.GetInstance(path)
    assert kept["CalendarExpression"] is None
    assert kept["NextRunTime"] == planned
