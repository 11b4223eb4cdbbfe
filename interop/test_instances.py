"""Instances in root/cimv2: GetInstance, EnumerateInstances (polymorphic from CIM_ConcreteJob),
EnumerateInstanceNames, CreateInstance, ModifyInstance, DeleteInstance."""

import os
import pwd
import re
import subprocess
import time
import uuid

import pywbem

from harness import (
    CIM_ERR_FAILED, CIM_ERR_INVALID_PARAMETER, CIM_ERR_NOT_FOUND, CIM_ERR_TYPE_MISMATCH,
    COMPLETED, JOB_CLASS, NAMESPACE, RUNNING, cim_error, cimjob_bin, job_path, names,
)


def by_id(instances):
    return {i["InstanceID"]: i for i in instances}


# --- GetInstance --------------------------------------------------------------------------

def test_getinstance_returns_the_job_with_its_properties(conn, jobs):
    job = jobs.submit(["true"])
    jobs.wait_final(job)
    inst = conn.GetInstance(job.path)
    assert inst.classname == JOB_CLASS
    assert inst["InstanceID"] == job.instance_id
    assert inst["Name"] == job.name
    assert inst["JobState"] == COMPLETED
    assert list(inst["OperationalStatus"]) == [17, 2]
    assert list(inst["CommandLine"]) == ["true"]
    assert inst.properties["JobState"].type == "uint16"
    assert inst.properties["Priority"].type == "uint32"
    assert isinstance(inst["TimeSubmitted"], pywbem.CIMDateTime)
    assert inst["TimeSubmitted"].is_interval is False
    assert inst["TimeBeforeRemoval"].is_interval is True
    assert inst.path is not None and inst.path.keybindings["InstanceID"] == job.instance_id


def test_getinstance_returns_null_properties_as_null(conn, jobs):
    job = jobs.submit(["true"])
    jobs.wait_final(job)
    inst = conn.GetInstance(job.path)
    assert "Notify" in inst.properties, "every property of the class is returned, NULL ones too"
    assert inst["Notify"] is None


def test_getinstance_propertylist_returns_only_those_properties(conn, jobs):
    job = jobs.submit(["true"])
    inst = conn.GetInstance(job.path, PropertyList=["Name", "JobState"])
    assert names(inst.properties) == {"name", "jobstate"}


def test_getinstance_includeclassorigin_names_the_defining_class(conn, jobs):
    job = jobs.submit(["true"])
    inst = conn.GetInstance(job.path, IncludeClassOrigin=True)
    assert inst.properties["Priority"].class_origin == "CIM_Job"
    assert inst.properties["CommandLine"].class_origin == JOB_CLASS


def test_getinstance_of_a_missing_job_is_not_found(conn):
    with cim_error(CIM_ERR_NOT_FOUND, "CIMJOB:987654321"):
        conn.GetInstance(job_path("CIMJOB:987654321"))


# --- EnumerateInstances / EnumerateInstanceNames -----------------------------------------

def test_enumerateinstances_of_cim_concretejob_returns_our_subclass_instances(conn, jobs):
    job = jobs.submit(["true"])
    found = by_id(conn.EnumerateInstances("CIM_ConcreteJob"))
    assert job.instance_id in found
    inst = found[job.instance_id]
    assert inst.classname == JOB_CLASS
    assert inst.path.classname == JOB_CLASS
    assert inst.path.namespace == NAMESPACE
    assert list(inst["CommandLine"]) == ["true"], "DeepInheritance defaults to true"


def test_enumerateinstances_of_cim_job_is_polymorphic_too(conn, jobs):
    job = jobs.submit(["true"])
    assert job.instance_id in by_id(conn.EnumerateInstances("CIM_Job"))


def test_enumerateinstances_deepinheritance_false_omits_subclass_properties(conn, jobs):
    """DSP0200: with DeepInheritance false, no properties added by subclasses of ClassName;
    the instances keep their own class name."""
    job = jobs.submit(["true"])
    inst = by_id(conn.EnumerateInstances("CIM_ConcreteJob", DeepInheritance=False))[job.instance_id]
    assert inst.classname == JOB_CLASS
    props = names(inst.properties)
    assert {"jobstate", "name", "priority", "caption"} <= props
    assert not props & {"commandline", "exitstatus", "runcount"}


def test_enumerateinstances_propertylist_returns_only_those_properties(conn, jobs):
    job = jobs.submit(["true"])
    found = conn.EnumerateInstances("CIM_ConcreteJob", PropertyList=["Name", "JobState"])
    mine = [i for i in found if i["Name"] == job.name]
    assert len(mine) == 1
    assert all(names(i.properties) == {"name", "jobstate"} for i in found)
    assert mine[0].path.keybindings["InstanceID"] == job.instance_id, "the path still has the key"


def test_enumerateinstances_read_a_page_at_a_time_while_sent_shows_every_job_once(conn, jobs):
    """The answer is read from the store 1,000 jobs at a time while it is sent: more jobs
    than three pages come back whole, each once, in LocalID order, equal to the names."""
    mine = {jobs.submit(["true"], hold=True).instance_id for _ in range(2100)}
    found = conn.EnumerateInstances("CIM_ConcreteJob", PropertyList=["InstanceID", "Name"])
    ids = [i["InstanceID"] for i in found]
    assert len(ids) == len(set(ids)), "no job twice"
    assert mine <= set(ids)
    local = [int(i.split(":")[1]) for i in ids]
    assert local == sorted(local), "in LocalID order across pages"
    names = {p.keybindings["InstanceID"] for p in conn.EnumerateInstanceNames("CIM_ConcreteJob")}
    assert names == set(ids)


def test_enumerateinstancenames_gives_the_instanceid_key(conn, jobs):
    job = jobs.submit(["true"])
    paths = conn.EnumerateInstanceNames("CIM_ConcreteJob")
    mine = [p for p in paths if p.keybindings.get("InstanceID") == job.instance_id]
    assert len(mine) == 1
    path = mine[0]
    assert path.classname == JOB_CLASS
    assert list(path.keybindings) == ["InstanceID"]
    assert all(re.fullmatch(r"CIMJOB:\d+", p.keybindings["InstanceID"]) for p in paths)


def test_enumerateinstancenames_of_our_class_matches_cim_concretejob(conn, jobs):
    jobs.submit(["true"])
    ours = {p.keybindings["InstanceID"] for p in conn.EnumerateInstanceNames(JOB_CLASS)}
    base = {p.keybindings["InstanceID"] for p in conn.EnumerateInstanceNames("CIM_ConcreteJob")}
    assert ours == base


# --- CreateInstance -----------------------------------------------------------------------

def test_createinstance_submits_a_job_that_runs_and_completes(conn, jobs, tmp_path):
    marker = tmp_path / "ran"
    name = jobs.name("created")
    new = pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": name,
        "CommandLine": ["sh", "-c", f"echo ran > {marker}"],
    })
    path = conn.CreateInstance(new)
    jobs.track(path)
    assert path.classname == JOB_CLASS
    assert re.fullmatch(r"CIMJOB:\d+", path.keybindings["InstanceID"])
    jobs.wait_final(path)
    inst = conn.GetInstance(path)
    assert inst["Name"] == name
    assert inst["JobState"] == COMPLETED
    assert marker.read_text().strip() == "ran"


def test_createinstance_takes_writable_properties_at_creation(conn, jobs):
    new = pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": jobs.name(),
        "CommandLine": ["true"],
        "Priority": pywbem.Uint32(42),
        "DeleteOnCompletion": False,
    })
    path = conn.CreateInstance(new)
    jobs.track(path)
    inst = conn.GetInstance(path)
    assert inst["Priority"] == 42


def test_createinstance_without_commandline_is_invalid_parameter(conn, jobs):
    new = pywbem.CIMInstance(JOB_CLASS, properties={"Name": jobs.name()})
    with cim_error(CIM_ERR_INVALID_PARAMETER, "CommandLine"):
        conn.CreateInstance(new)


def test_createinstance_without_name_is_invalid_parameter(conn):
    """Name is Required in CIM_ConcreteJob."""
    new = pywbem.CIMInstance(JOB_CLASS, properties={"CommandLine": ["true"]})
    with cim_error(CIM_ERR_INVALID_PARAMETER, "Name"):
        conn.CreateInstance(new)


# --- ModifyInstance -----------------------------------------------------------------------

def held_job(conn, jobs):
    """A job held before its first start (Suspended, Dormant): nothing about it changes by
    itself while the test modifies it."""
    job = jobs.submit(["true"], hold=True)
    return job, conn.GetInstance(job.path)


def test_modifyinstance_changes_priority(conn, jobs):
    job, inst = held_job(conn, jobs)
    inst["Priority"] = pywbem.Uint32(7)
    conn.ModifyInstance(inst, PropertyList=["Priority"])
    assert conn.GetInstance(job.path)["Priority"] == 7
    assert jobs.get(job)["Priority"] == 7


def test_modifyinstance_of_the_whole_instance_with_one_change_is_accepted(conn, jobs):
    """A generic client sends back everything GetInstance gave it, with one value changed and
    no PropertyList: the unchanged read-only values are not a modification."""
    job, inst = held_job(conn, jobs)
    inst["Priority"] = pywbem.Uint32(11)
    conn.ModifyInstance(inst)
    assert conn.GetInstance(job.path)["Priority"] == 11


def test_modifyinstance_of_a_read_only_property_fails_naming_it_and_changes_nothing(conn, jobs):
    job, inst = held_job(conn, jobs)
    before = conn.GetInstance(job.path)
    inst["Priority"] = pywbem.Uint32(3)
    inst["Owner"] = "mallory"
    with cim_error(CIM_ERR_FAILED, "Owner"):
        conn.ModifyInstance(inst, PropertyList=["Priority", "Owner"])
    after = conn.GetInstance(job.path)
    assert after["Owner"] == before["Owner"]
    assert after["Priority"] == before["Priority"], "nothing is changed when one property is refused"


def test_modifyinstance_honours_propertylist(conn, jobs):
    job, inst = held_job(conn, jobs)
    inst["Priority"] = pywbem.Uint32(9)
    inst["Notify"] = "operator"
    inst["Owner"] = "mallory"  # read-only, but not in the PropertyList: ignored
    conn.ModifyInstance(inst, PropertyList=["Priority"])
    after = conn.GetInstance(job.path)
    assert after["Priority"] == 9
    assert after["Notify"] is None
    assert after["Owner"] != "mallory"


def test_modifyinstance_with_a_value_of_the_wrong_type_is_refused(conn, jobs):
    job, inst = held_job(conn, jobs)
    before = inst["Priority"]
    inst["Priority"] = "high"  # a string for a uint32
    with cim_error((CIM_ERR_TYPE_MISMATCH, CIM_ERR_INVALID_PARAMETER), "Priority"):
        conn.ModifyInstance(inst, PropertyList=["Priority"])
    assert conn.GetInstance(job.path)["Priority"] == before


def test_modifyinstance_of_a_missing_job_is_not_found(conn):
    inst = pywbem.CIMInstance(JOB_CLASS, properties={"Priority": pywbem.Uint32(1)},
                              path=job_path("CIMJOB:987654321"))
    with cim_error(CIM_ERR_NOT_FOUND):
        conn.ModifyInstance(inst, PropertyList=["Priority"])


# --- DeleteInstance -----------------------------------------------------------------------

def test_deleteinstance_of_a_finished_job_removes_it(conn, jobs):
    job = jobs.submit(["true"])
    jobs.wait_final(job)
    conn.DeleteInstance(job.path)
    assert not jobs.exists(job)
    with cim_error(CIM_ERR_NOT_FOUND):
        conn.GetInstance(job.path)


def test_deleteinstance_of_a_running_job_fails_and_keeps_it(conn, jobs):
    job = jobs.submit(["sleep", "30"])
    jobs.wait_state(job, RUNNING)
    with cim_error(CIM_ERR_FAILED):
        conn.DeleteInstance(job.path)
    assert conn.GetInstance(job.path)["JobState"] == RUNNING


def test_deleteinstance_of_a_missing_job_is_not_found(conn):
    with cim_error(CIM_ERR_NOT_FOUND):
        conn.DeleteInstance(job_path("CIMJOB:987654321"))


# --- Privacy between users ----------------------------------------------------------------

def test_a_user_sees_only_their_own_jobs(service, conn, jobs):
    """Issue 14: a user of role "user" enumerates, gets and queries only their own jobs (never
    another's command or Environment); GetInstance of another's job is CIM_ERR_NOT_FOUND, as
    for a job that does not exist. The admin sees both."""
    user, password = f"private{uuid.uuid4().hex[:8]}", "private-user-password"
    added = subprocess.run(
        [str(cimjob_bin()), "user", "add", user, "--role", "user",
         "--os-user", pwd.getpwuid(os.getuid()).pw_name, *service.users_at()],
        input=password + "\n", capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    admins = jobs.submit(["true"], name=jobs.name("admins"))
    jobs.wait_state(admins, COMPLETED)
    mine = pywbem.WBEMConnection(service.url, creds=(user, password),
                                 default_namespace=NAMESPACE, timeout=30)
    deadline = time.monotonic() + 15
    while True:
        try:
            mine.EnumerateInstanceNames(JOB_CLASS)
            break
        except pywbem.AuthError:
            assert time.monotonic() < deadline, "the new user was never accepted"
            time.sleep(0.1)
    try:
        path = mine.CreateInstance(pywbem.CIMInstance(JOB_CLASS, properties={
            "Name": jobs.name("theirs"),
            "CommandLine": pywbem.CIMProperty("CommandLine", ["true"], type="string"),
            "Environment": pywbem.CIMProperty("Environment", ["SECRET=theirs"], type="string")}))
        theirs = mine.GetInstance(path)
        assert theirs["Owner"] == user
        seen = {i["InstanceID"] for i in mine.EnumerateInstances("CIM_ConcreteJob")}
        assert theirs["InstanceID"] in seen
        assert admins.instance_id not in seen, "another user's job is not listed"
        with cim_error(CIM_ERR_NOT_FOUND):
            mine.GetInstance(job_path(admins))
        queried = mine.ExecQuery("DMTF:CQL", f"SELECT * FROM {JOB_CLASS}")
        assert admins.instance_id not in {i["InstanceID"] for i in queried}
        everyone = {i["InstanceID"] for i in conn.EnumerateInstances(JOB_CLASS)}
        assert {admins.instance_id, theirs["InstanceID"]} <= everyone, "the admin sees every job"
        # nor the runs of another's job: enumerated, got, queried or reached from it
        admins_run = f"{admins.instance_id}:run:1"
        runs = {i["InstanceID"] for i in mine.EnumerateInstances("CIM_JobProcessingStatistics")}
        assert admins_run not in runs
        queried = mine.ExecQuery("WQL", "SELECT InstanceID FROM CIM_JobProcessingStatistics")
        assert admins_run not in {i["InstanceID"] for i in queried}
        run_path = pywbem.CIMInstanceName("CIM_JobProcessingStatistics", namespace=NAMESPACE,
                                          keybindings={"InstanceID": admins_run})
        assert conn.GetInstance(run_path)["InstanceID"] == admins_run, "the admin gets it"
        with cim_error(CIM_ERR_NOT_FOUND):
            mine.GetInstance(run_path)
        with cim_error(CIM_ERR_NOT_FOUND):
            mine.AssociatorNames(job_path(admins), AssocClass="CIM_ElementStatisticalData")
    finally:
        mine.close()
