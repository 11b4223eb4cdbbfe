"""CIM status codes as DSP0200 assigns them, each with a description that names the problem."""

import pytest
import pywbem
from pywbem import Uint8, Uint32

from harness import (
    CIM_ERR_FAILED, CIM_ERR_INVALID_CLASS, CIM_ERR_INVALID_NAMESPACE, CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_METHOD_NOT_FOUND, CIM_ERR_NOT_FOUND, CIM_ERR_NOT_SUPPORTED, CIM_ERR_TYPE_MISMATCH,
    JOB_CLASS, cim_error, job_path,
)


@pytest.fixture
def held(conn, jobs):
    """A held job and its instance as GetInstance gives it."""
    job = jobs.submit(["true"], hold=True)
    return job, conn.GetInstance(job.path)


def test_unknown_namespace_is_invalid_namespace(conn, jobs):
    job = jobs.submit(["true"])
    with cim_error(CIM_ERR_INVALID_NAMESPACE, "root/nosuch"):
        conn.GetInstance(job_path(job, namespace="root/nosuch"))
    with cim_error(CIM_ERR_INVALID_NAMESPACE, "root/nosuch"):
        conn.EnumerateInstances("CIM_ConcreteJob", namespace="root/nosuch")


def test_unknown_class_is_invalid_class(conn):
    with cim_error(CIM_ERR_INVALID_CLASS, "CIMJOB_NoSuchClass"):
        conn.EnumerateInstanceNames("CIMJOB_NoSuchClass")
    with cim_error(CIM_ERR_INVALID_CLASS, "CIMJOB_NoSuchClass"):
        conn.GetInstance(pywbem.CIMInstanceName("CIMJOB_NoSuchClass", {"InstanceID": "CIMJOB:1"}))


def test_unknown_instance_is_not_found(conn):
    with cim_error(CIM_ERR_NOT_FOUND, "CIMJOB:987654321"):
        conn.GetInstance(job_path("CIMJOB:987654321"))


def test_out_of_range_value_map_value_is_invalid_parameter(conn, held):
    job, inst = held
    inst["RunMonth"] = Uint8(12)  # ValueMap 0..11
    with cim_error(CIM_ERR_INVALID_PARAMETER, "RunMonth"):
        conn.ModifyInstance(inst, PropertyList=["RunMonth"])
    assert conn.GetInstance(job.path)["RunMonth"] is None


def test_value_longer_than_maxlen_is_invalid_parameter(conn, jobs):
    new = pywbem.CIMInstance(JOB_CLASS, properties={
        "Name": jobs.name(), "CommandLine": ["true"], "Caption": "x" * 65})
    with cim_error(CIM_ERR_INVALID_PARAMETER, "Caption"):
        conn.CreateInstance(new)


def test_value_of_another_type_is_type_mismatch(conn, held):
    job, inst = held
    inst["Priority"] = "high"
    with cim_error(CIM_ERR_TYPE_MISMATCH, "Priority"):
        conn.ModifyInstance(inst, PropertyList=["Priority"])


def test_array_for_a_scalar_is_type_mismatch(conn, held):
    _, inst = held
    inst["Priority"] = pywbem.CIMProperty("Priority", [Uint32(1), Uint32(2)], type="uint32", is_array=True)
    with cim_error(CIM_ERR_TYPE_MISMATCH, "Priority"):
        conn.ModifyInstance(inst, PropertyList=["Priority"])


def test_read_only_property_is_failed_naming_it(conn, held):
    _, inst = held
    inst["JobState"] = pywbem.Uint16(7)
    with cim_error(CIM_ERR_FAILED, "JobState"):
        conn.ModifyInstance(inst, PropertyList=["JobState"])


def test_unknown_property_is_refused_naming_it(conn, held):
    """DSP0200 ModifyInstance: a property the class does not have is CIM_ERR_INVALID_PARAMETER
    (some servers answer CIM_ERR_NO_SUCH_PROPERTY, 12)."""
    _, inst = held
    inst["NoSuchProperty"] = "x"
    with cim_error((CIM_ERR_INVALID_PARAMETER, 12), "NoSuchProperty"):
        conn.ModifyInstance(inst, PropertyList=["NoSuchProperty"])


def test_createclass_is_not_supported(conn):
    with cim_error(CIM_ERR_NOT_SUPPORTED, "CreateClass"):
        conn.CreateClass(pywbem.CIMClass("CIMJOB_New", superclass="CIM_ManagedElement"))


def test_deletequalifier_is_not_supported(conn):
    with cim_error(CIM_ERR_NOT_SUPPORTED, "DeleteQualifier"):
        conn.DeleteQualifier("Description")


@pytest.mark.parametrize("op", ["DeleteClass", "ModifyClass", "SetQualifier"])
def test_other_schema_changes_are_not_supported(conn, op):
    with cim_error(CIM_ERR_NOT_SUPPORTED, op):
        if op == "DeleteClass":
            conn.DeleteClass(JOB_CLASS)
        elif op == "ModifyClass":
            conn.ModifyClass(pywbem.CIMClass(JOB_CLASS, superclass="CIM_ConcreteJob"))
        else:
            conn.SetQualifier(pywbem.CIMQualifierDeclaration("CIMJOB_Q", "boolean", value=True))


def test_unknown_method_is_method_not_found(conn, jobs):
    job = jobs.submit(["true"])
    with cim_error(CIM_ERR_METHOD_NOT_FOUND, "Frobnicate"):
        conn.InvokeMethod("Frobnicate", job.path)
