"""Conformance, round two: what real clients and peers' test suites found (issue 17), each
checked with pywbem as those suites do."""

from __future__ import annotations

import pywbem
import pytest
from pywbem import Uint16

from harness import (
    CIM_ERR_INVALID_QUERY, CIM_ERR_NOT_FOUND, CIM_ERR_NOT_SUPPORTED,
    CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, COMPLETED, EXCEPTION, JOB_CLASS, KILLED, NEW,
    NAMESPACE, QUERY_PENDING, RUNNING, SHUTTING_DOWN, SUSPENDED, TERMINATED, cim_error,
    same_path, service_path,
)

# the datetime properties of a job that hold a duration; every other one holds a moment
INTERVALS = {"ElapsedTime", "RunStartInterval", "TimeBeforeRemoval"}


def datetime_forms(conn, job) -> dict[str, str]:
    """Each datetime property of the job as GetInstance returns it: 'interval', 'timestamp'
    or 'null'."""
    inst = conn.GetInstance(job.path)
    forms = {}
    for name, prop in inst.properties.items():
        if prop.type != "datetime":
            continue
        value = prop.value
        forms[name] = "null" if value is None else ("interval" if value.is_interval else "timestamp")
    return forms


def assert_forms(conn, job, state_name: str) -> None:
    forms = datetime_forms(conn, job)
    assert forms, "a job has datetime properties"
    wrong = {name: form for name, form in forms.items()
             if form != "null" and (form == "interval") != (name in INTERVALS)}
    assert not wrong, f"{state_name}: datetime properties of the wrong form: {wrong}"
    assert forms["TimeOfLastStateChange"] == "timestamp", f"{state_name}: {forms}"
    assert forms["TimeSubmitted"] == "timestamp", f"{state_name}: {forms}"
    assert forms["TimeBeforeRemoval"] == "interval", f"{state_name}: {forms}"


def test_every_datetime_property_has_the_form_its_meaning_needs_in_every_state(conn, jobs, tmp_path):
    blockers = [jobs.submit(["sleep", "30"]) for _ in range(4)]
    for b in blockers:
        jobs.wait_state(b, RUNNING)
    queued = jobs.submit(["sleep", "20"])  # every slot is taken: it waits in New
    assert jobs.get(queued)["JobState"] == NEW
    assert_forms(conn, queued, "queued")
    held = jobs.submit(["true"], hold=True)
    assert_forms(conn, held, "held (Suspended)")
    scheduled = jobs.submit(["true"], ScheduledStartTime="20991231235959.000000+000")
    assert_forms(conn, scheduled, "scheduled")
    assert_forms(conn, blockers[0], "running")
    conn.InvokeMethod("RequestStateChange", blockers[0].path, RequestedState=Uint16(3))
    jobs.wait_state(blockers[0], SUSPENDED)
    assert_forms(conn, blockers[0], "suspended")
    conn.InvokeMethod("KillJob", blockers[1].path, DeleteOnKill=False)
    jobs.wait_state(blockers[1], KILLED)
    assert_forms(conn, blockers[1], "killed")
    # a Terminate the work takes its time over: Shutting Down, then Terminated
    stubborn = tmp_path / "trapped"
    slow = jobs.submit(["sh", "-c", f"trap 'sleep 1; exit 0' TERM; touch {stubborn}; "
                                    "i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done"])
    for b in blockers[2:]:
        conn.InvokeMethod("KillJob", b.path, DeleteOnKill=False)
    jobs.wait(slow, lambda j: j["JobState"] == RUNNING and stubborn.exists(), "running, trapped")
    conn.InvokeMethod("RequestStateChange", slow.path, RequestedState=Uint16(4),
                      TimeoutPeriod=pywbem.CIMDateTime("00000000000010.000000:000"))
    jobs.wait_state(slow, SHUTTING_DOWN, TERMINATED)
    assert_forms(conn, slow, "shutting down")
    jobs.wait_state(slow, TERMINATED)
    assert_forms(conn, slow, "terminated")
    done = jobs.submit(["true"])
    jobs.wait_state(done, COMPLETED)
    assert_forms(conn, done, "completed")
    failed = jobs.submit(["false"])
    jobs.wait_state(failed, EXCEPTION)
    assert_forms(conn, failed, "exception")
    asking = jobs.submit(["sh", "-c", 'echo "query ok?" >&3; read a <&3'])
    jobs.wait_state(asking, QUERY_PENDING)
    assert_forms(conn, asking, "query pending")
    conn.InvokeMethod("KillJob", asking.path, DeleteOnKill=False)
    conn.InvokeMethod("KillJob", queued.path, DeleteOnKill=False)


def test_open_query_instances_returns_the_query_result_class_when_asked(conn, pull_conn, jobs):
    job = jobs.submit(["true"])
    jobs.wait_state(job, COMPLETED)
    query = f"SELECT InstanceID, JobState FROM {JOB_CLASS} WHERE Name = '{job.name}'"
    result = conn.OpenQueryInstances("DMTF:CQL", query, ReturnQueryResultClass=True,
                                     MaxObjectCount=pywbem.Uint32(100))
    assert isinstance(result.query_result_class, pywbem.CIMClass)
    assert set(result.query_result_class.properties) == {"InstanceID", "JobState"}
    rows = list(result.instances)
    assert [r["JobState"] for r in rows] == [COMPLETED]
    # pywbem's iterator asks for it the same way (it uses OpenQueryInstances only when told to)
    it = pull_conn.IterQueryInstances("DMTF:CQL", f"SELECT * FROM {JOB_CLASS} WHERE Name = '{job.name}'",
                                 ReturnQueryResultClass=True)
    assert "CommandLine" in it.query_result_class.properties
    assert [r["InstanceID"] for r in it.generator] == [job.instance_id]
    plain = conn.OpenQueryInstances("DMTF:CQL", query)
    assert plain.query_result_class is None


def test_the_qualifier_declarations_our_classes_use_are_served(conn):
    declared = {q.name: q for q in conn.EnumerateQualifiers()}
    for name in ("Key", "Required", "Write", "ValueMap", "Values", "Description", "Association",
                 "Abstract", "In", "Out", "EmbeddedInstance", "Deprecated"):
        assert name in declared, f"{name} is not declared: {sorted(declared)}"
    key = conn.GetQualifier("Key")
    assert key.type == "boolean" and key.overridable is False and key.value is False
    assert set(k for k, v in key.scopes.items() if v) >= {"PROPERTY", "REFERENCE"}
    assert conn.GetQualifier("association").name == "Association", "names match ignoring case"
    assert declared["ValueMap"].is_array
    # every qualifier a class carries is declared
    for cls in conn.EnumerateClasses(DeepInheritance=True, IncludeQualifiers=True):
        used = set(cls.qualifiers) | {q for p in cls.properties.values() for q in p.qualifiers}
        assert used <= set(declared), f"{cls.classname}: undeclared {used - set(declared)}"
    with cim_error(CIM_ERR_NOT_FOUND):
        conn.GetQualifier("NoSuchQualifier")
    with cim_error(CIM_ERR_NOT_SUPPORTED):
        conn.SetQualifier(pywbem.CIMQualifierDeclaration("Mine", "string", scopes={"CLASS": True}))
    with cim_error(CIM_ERR_NOT_SUPPORTED):
        conn.DeleteQualifier("Key")
    with cim_error(CIM_ERR_NOT_FOUND):
        conn.DeleteQualifier("NoSuchQualifier")


def test_pull_operations_filter_with_dmtf_fql_and_refuse_what_they_cannot_read(conn, pull_conn, jobs):
    ok = jobs.submit(["true"])
    bad = jobs.submit(["false"])
    jobs.wait_state(ok, COMPLETED)
    jobs.wait_state(bad, EXCEPTION)
    mine = f"(Name = '{ok.name}' OR Name = '{bad.name}')"
    found = pull_conn.IterEnumerateInstances(JOB_CLASS, FilterQueryLanguage="DMTF:FQL",
                                             FilterQuery=f"{mine} AND JobState <> 7")
    assert [i["Name"] for i in found] == [bad.name]
    found = pull_conn.IterEnumerateInstancePaths(JOB_CLASS, FilterQueryLanguage="DMTF:FQL",
                                                 FilterQuery=f"{mine} AND ErrorCode = 0 AND ErrorDescription IS NULL")
    assert [p.keybindings["InstanceID"] for p in found] == [ok.instance_id]
    # what the filter names is read, not guessed at
    with cim_error(CIM_ERR_INVALID_QUERY, "FQL"):
        conn.OpenEnumerateInstances(JOB_CLASS, FilterQueryLanguage="DMTF:FQL",
                                    FilterQuery="JobState = = 7", MaxObjectCount=pywbem.Uint32(10))
    with cim_error(CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED):
        conn.OpenEnumerateInstances(JOB_CLASS, FilterQueryLanguage="XPath",
                                    FilterQuery="//job", MaxObjectCount=pywbem.Uint32(10))


def test_the_job_services_scoping_system_is_served_and_hosts_it(conn):
    """The service's keys name its scoping system (SystemCreationClassName, SystemName): that
    CIM_ComputerSystem is an instance the server serves, CIM_HostedService ties the two, and
    pywbem finds the service as the Job Control profile's central instance by either
    methodology (the profile's CIM_ElementConformsToProfile, or the scoping class)."""
    service = service_path(conn)
    keys = service.keybindings
    system = pywbem.CIMInstanceName(
        keys["SystemCreationClassName"], namespace=NAMESPACE,
        keybindings={"CreationClassName": keys["SystemCreationClassName"], "Name": keys["SystemName"]})
    assert conn.GetInstance(system)["Name"] == keys["SystemName"]
    (host,) = conn.AssociatorNames(service, AssocClass="CIM_HostedService", ResultRole="Antecedent")
    assert same_path(host, system)
    (hosted,) = conn.AssociatorNames(system, AssocClass="CIM_HostedService", ResultRole="Dependent")
    assert same_path(hosted, service)
    server = pywbem.WBEMServer(conn)
    (profile,) = server.get_selected_profiles("DMTF", "Job Control")
    for central in (server.get_central_instances(profile.path),
                    server.get_central_instances(profile.path, "CIMJOB_JobService",
                                                 "CIM_ComputerSystem", ["CIM_HostedService"])):
        assert [p.classname for p in central] == ["CIMJOB_JobService"], central
        assert same_path(central[0], service)


def test_every_run_of_a_job_is_a_cim_job_processing_statistics_reachable_from_the_job(conn, pull_conn, jobs):
    """CIM_Job: StartTime, ElapsedTime, ErrorCode and ErrorDescription "are also present in the
    JobProcessingStatistics class ... necessary to capture the processing information for
    recurring Jobs": each run is one, tied to its job by CIM_ElementStatisticalData."""
    job = jobs.submit_cli(["sh", "-c", '[ "$CIMJOB_RUN" != 2 ] || exit 3'], "--times", "3")
    jobs.wait_state(job, COMPLETED)
    mine = f"{job.instance_id}:run:"
    runs = {r["InstanceID"]: r for r in conn.EnumerateInstances("CIM_JobProcessingStatistics")
            if r["InstanceID"].startswith(mine)}
    assert sorted(runs) == [f"{mine}{n}" for n in (1, 2, 3)]
    codes = [runs[f"{mine}{n}"]["ErrorCode"] for n in (1, 2, 3)]
    assert codes[0] == codes[2] == 0 and codes[1] != 0, codes
    for r in runs.values():
        assert r["StartTime"].is_interval is False and r["ElapsedTime"].is_interval is True
    failed = runs[f"{mine}2"]
    assert failed["ErrorDescription"], "the failed run says why"
    assert conn.GetInstance(failed.path)["InstanceID"] == failed["InstanceID"]
    query = "SELECT InstanceID FROM CIM_JobProcessingStatistics WHERE ErrorCode <> 0"
    found = [r["InstanceID"] for r in conn.ExecQuery("DMTF:CQL", query)]
    assert [i for i in found if i.startswith(mine)] == [failed["InstanceID"]]
    reached = conn.Associators(job.path, AssocClass="CIM_ElementStatisticalData",
                               ResultClass="CIM_JobProcessingStatistics")
    assert sorted(r["InstanceID"] for r in reached) == sorted(runs)
    (link,) = conn.ReferenceNames(failed.path, ResultClass="CIM_ElementStatisticalData")
    assert link.keybindings["ManagedElement"].keybindings["InstanceID"] == job.instance_id
    pulled = pull_conn.IterEnumerateInstances("CIM_JobProcessingStatistics", MaxObjectCount=2)
    assert set(runs) <= {r["InstanceID"] for r in pulled}
