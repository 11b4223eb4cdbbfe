"""Associations in root/cimv2: a job and its CIMJOB_JobService through CIM_OwningJobElement, and
the service and its CIM_JobCapabilities through CIM_ElementCapabilities, both ways, with
Associators, AssociatorNames, References and ReferenceNames.

Assumption (README, WBEM "Namespaces"): every job, however it was submitted (JSON API, CLI,
CreateInstance, SubmitJob), is owned by the one CIMJOB_JobService."""

import pytest
from pywbem import CIMDateTime, CIMInstanceName

from harness import JOB_CLASS, SERVICE_CLASS, names, same_path, service_path

OWNING = "CIM_OwningJobElement"
CAPS = "CIM_ElementCapabilities"
CAPS_CLASSES = ("CIM_JobCapabilities", "CIMJOB_JobCapabilities")


@pytest.fixture
def job(jobs):
    j = jobs.submit(["true"])
    jobs.wait_final(j)
    return j


@pytest.fixture
def svc(conn):
    return service_path(conn)


@pytest.fixture
def caps(conn, svc):
    paths = conn.AssociatorNames(svc, AssocClass=CAPS)
    assert len(paths) == 1, paths
    return paths[0]


# --- job -> service -----------------------------------------------------------------------

def test_associatornames_from_a_job_gives_its_job_service(conn, job, svc):
    paths = conn.AssociatorNames(job.path, AssocClass=OWNING)
    assert len(paths) == 1
    assert same_path(paths[0], svc)
    assert paths[0].classname == SERVICE_CLASS


def test_associatornames_with_roles_and_result_class(conn, job, svc):
    paths = conn.AssociatorNames(job.path, AssocClass=OWNING, ResultClass="CIM_Service",
                                 Role="OwnedElement", ResultRole="OwningElement")
    assert [same_path(p, svc) for p in paths] == [True]


def test_associatornames_with_the_wrong_role_is_empty(conn, job):
    assert conn.AssociatorNames(job.path, AssocClass=OWNING, Role="OwningElement") == []
    assert conn.AssociatorNames(job.path, AssocClass=OWNING, ResultClass="CIM_JobCapabilities") == []


def test_associators_from_a_job_gives_the_service_instance(conn, job, svc):
    found = conn.Associators(job.path, AssocClass=OWNING)
    assert len(found) == 1
    inst = found[0]
    assert inst.classname == SERVICE_CLASS
    assert same_path(inst.path, svc)
    assert inst["Name"], "the service has its Name key"


def test_associators_honours_propertylist(conn, job):
    (inst,) = conn.Associators(job.path, AssocClass=OWNING, PropertyList=["ElementName"])
    assert names(inst.properties) <= {"elementname"}


def test_referencenames_from_a_job_gives_the_owning_job_element(conn, job, svc):
    refs = conn.ReferenceNames(job.path, ResultClass=OWNING)
    assert len(refs) == 1
    ref = refs[0]
    assert ref.classname == OWNING
    owning, owned = ref.keybindings["OwningElement"], ref.keybindings["OwnedElement"]
    assert isinstance(owning, CIMInstanceName) and isinstance(owned, CIMInstanceName)
    assert same_path(owning, svc)
    assert same_path(owned, job.path)


def test_references_from_a_job_gives_the_association_instance(conn, job, svc):
    found = conn.References(job.path, ResultClass=OWNING, Role="OwnedElement")
    assert len(found) == 1
    inst = found[0]
    assert inst.classname == OWNING
    assert same_path(inst["OwningElement"], svc)
    assert same_path(inst["OwnedElement"], job.path)


# --- service -> jobs ----------------------------------------------------------------------

def test_associatornames_from_the_service_include_every_job(conn, jobs, job, svc):
    created = jobs.submit_cli(["true"])
    paths = conn.AssociatorNames(svc, AssocClass=OWNING, ResultRole="OwnedElement")
    ids = {p.keybindings["InstanceID"] for p in paths}
    assert {job.instance_id, created.instance_id} <= ids
    assert all(p.classname == JOB_CLASS for p in paths)


def test_associators_from_the_service_give_job_instances(conn, job, svc):
    found = conn.Associators(svc, AssocClass=OWNING, ResultClass="CIM_ConcreteJob")
    mine = [i for i in found if i["InstanceID"] == job.instance_id]
    assert len(mine) == 1
    assert mine[0].classname == JOB_CLASS


def test_referencenames_from_the_service_include_the_job(conn, job, svc):
    refs = conn.ReferenceNames(svc, ResultClass=OWNING, Role="OwningElement")
    assert any(same_path(r.keybindings["OwnedElement"], job.path) for r in refs)


# --- service <-> capabilities -------------------------------------------------------------

def test_the_service_has_one_job_capabilities(conn, caps):
    assert caps.classname in CAPS_CLASSES
    assert len(conn.EnumerateInstanceNames("CIM_JobCapabilities")) == 1


def test_capabilities_lead_back_to_the_service(conn, caps, svc):
    paths = conn.AssociatorNames(caps, AssocClass=CAPS)
    assert [same_path(p, svc) for p in paths] == [True]


def test_element_capabilities_references_from_the_service(conn, caps, svc):
    found = conn.References(svc, ResultClass=CAPS)
    assert len(found) == 1
    assert same_path(found[0]["ManagedElement"], svc)
    assert same_path(found[0]["Capabilities"], caps)
    names_ = conn.ReferenceNames(caps, ResultClass=CAPS, Role="Capabilities")
    assert len(names_) == 1


def test_capabilities_advertise_requested_states_and_removal_range(conn, svc, caps):
    (inst,) = conn.Associators(svc, AssocClass=CAPS)
    assert same_path(inst.path, caps)
    assert conn.GetInstance(caps)["InstanceID"] == inst["InstanceID"]
    assert {2, 3, 4, 5} <= set(inst["RequestedStatesSupported"])
    low, high = inst["TimeBeforeRemovalMin"], inst["TimeBeforeRemovalMax"]
    assert isinstance(low, CIMDateTime) and low.is_interval
    assert isinstance(high, CIMDateTime) and high.is_interval
    assert low.timedelta <= high.timedelta
    assert inst["DeleteJobSupported"] is True, "DeleteInstance of a finished job works"


def test_a_job_has_no_capabilities(conn, job):
    assert conn.AssociatorNames(job.path, AssocClass=CAPS) == []
