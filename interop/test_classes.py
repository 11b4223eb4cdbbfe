"""Classes in root/cimv2: GetClass, EnumerateClasses, EnumerateClassNames (DSP0200 §5.3.2),
with LocalOnly, IncludeQualifiers, IncludeClassOrigin, PropertyList and DeepInheritance."""

import pytest

from harness import (
    CIM_ERR_INVALID_CLASS, CIM_ERR_INVALID_NAMESPACE, CIM_ERR_NOT_FOUND, JOB_CLASS,
    SERVICE_CLASS, cim_error, names,
)

CHAIN = [
    ("CIMJOB_ConcreteJob", "CIM_ConcreteJob"),
    ("CIM_ConcreteJob", "CIM_Job"),
    ("CIM_Job", "CIM_LogicalElement"),
    ("CIM_LogicalElement", "CIM_ManagedSystemElement"),
    ("CIM_ManagedSystemElement", "CIM_ManagedElement"),
    ("CIM_ManagedElement", None),
]


def full_class(conn, name=JOB_CLASS, **kw):
    return conn.GetClass(name, LocalOnly=False, IncludeQualifiers=True, IncludeClassOrigin=True, **kw)


def qualifier(element, name):
    q = element.qualifiers.get(name)
    assert q is not None, f"{element.name} has no {name} qualifier; it has {list(element.qualifiers)}"
    return q.value


# --- the class chain ----------------------------------------------------------------------

@pytest.mark.parametrize("classname,superclass", CHAIN)
def test_getclass_returns_the_superclass_of_each_class_in_the_job_chain(conn, classname, superclass):
    cls = conn.GetClass(classname)
    assert cls.classname == classname
    assert cls.superclass == superclass


def test_cim_job_is_abstract_and_concrete_job_is_not(conn):
    assert qualifier(conn.GetClass("CIM_Job", IncludeQualifiers=True), "Abstract") is True
    concrete = conn.GetClass("CIM_ConcreteJob", IncludeQualifiers=True)
    assert concrete.qualifiers.get("Abstract") is None or concrete.qualifiers["Abstract"].value is False


# --- qualifiers ---------------------------------------------------------------------------

def test_instanceid_has_the_key_qualifier(conn):
    assert qualifier(full_class(conn).properties["InstanceID"], "Key") is True


def test_name_has_the_required_qualifier(conn):
    assert qualifier(full_class(conn).properties["Name"], "Required") is True


def test_priority_has_the_write_qualifier(conn):
    assert qualifier(full_class(conn).properties["Priority"], "Write") is True


def test_caption_has_maxlen_64(conn):
    assert qualifier(full_class(conn).properties["Caption"], "MaxLen") == 64


def test_jobstate_valuemap_and_values_are_aligned_and_include_query_pending(conn):
    prop = full_class(conn).properties["JobState"]
    valuemap, values = qualifier(prop, "ValueMap"), qualifier(prop, "Values")
    assert len(valuemap) == len(values)
    mapping = dict(zip(valuemap, values))
    assert mapping["7"] == "Completed"
    assert mapping["12"] == "Query Pending"
    assert mapping["10"] == "Exception"


def test_scheduledstarttime_is_deprecated(conn):
    deprecated = qualifier(full_class(conn).properties["ScheduledStartTime"], "Deprecated")
    assert deprecated, "Deprecated names what replaces ScheduledStartTime"


def test_includequalifiers_false_returns_no_property_qualifiers(conn):
    cls = conn.GetClass(JOB_CLASS, LocalOnly=False, IncludeQualifiers=False)
    with_qualifiers = [p.name for p in cls.properties.values() if p.qualifiers]
    assert not with_qualifiers
    assert not cls.qualifiers


def test_our_own_properties_carry_description_qualifiers(conn):
    """README (WBEM): everything only our class has is documented in its MOF Description."""
    cls = full_class(conn)
    for name in ("CommandLine", "ExitStatus", "RunCount", "NextRunTime"):
        assert qualifier(cls.properties[name], "Description"), name
    assert qualifier(cls.methods["AnswerQuery"], "Description")


# --- LocalOnly / IncludeClassOrigin / PropertyList -----------------------------------------

@pytest.mark.parametrize("prop,origin", [
    ("Caption", "CIM_ManagedElement"),
    ("OperationalStatus", "CIM_ManagedSystemElement"),
    ("Priority", "CIM_Job"),
    ("JobState", "CIM_ConcreteJob"),
    ("CommandLine", "CIMJOB_ConcreteJob"),
])
def test_localonly_false_includes_inherited_properties_with_their_class_origin(conn, prop, origin):
    cls = conn.GetClass(JOB_CLASS, LocalOnly=False, IncludeClassOrigin=True)
    p = cls.properties[prop]
    assert p.class_origin == origin
    assert p.propagated is (origin != JOB_CLASS)


def test_localonly_true_returns_only_the_class_own_properties(conn):
    cls = conn.GetClass(JOB_CLASS, LocalOnly=True)
    props = names(cls.properties)
    assert {"commandline", "exitstatus", "runcount"} <= props
    assert not props & {"caption", "jobstate", "priority", "operationalstatus"}
    assert "answerquery" in names(cls.methods)


def test_includeclassorigin_false_omits_class_origin(conn):
    cls = conn.GetClass(JOB_CLASS, LocalOnly=False, IncludeClassOrigin=False)
    assert cls.properties, "the class has properties"
    assert all(p.class_origin is None for p in cls.properties.values())


def test_propertylist_restricts_the_returned_properties(conn):
    cls = conn.GetClass(JOB_CLASS, LocalOnly=False, PropertyList=["Name", "JobState"])
    assert names(cls.properties) == {"name", "jobstate"}
    assert "requeststatechange" in names(cls.methods), "PropertyList does not filter methods"


def test_empty_propertylist_returns_no_properties(conn):
    cls = conn.GetClass(JOB_CLASS, LocalOnly=False, PropertyList=[])
    assert not cls.properties


# --- methods ------------------------------------------------------------------------------

def test_requeststatechange_declares_requestedstate_and_timeoutperiod(conn):
    m = full_class(conn).methods["RequestStateChange"]
    assert m.return_type == "uint32"
    assert m.parameters["RequestedState"].type == "uint16"
    assert m.parameters["TimeoutPeriod"].type == "datetime"
    assert qualifier(m.parameters["RequestedState"], "In") is True
    valuemap = qualifier(m, "ValueMap")
    assert {"0", "4096", "4097"} <= set(valuemap)


def test_killjob_declares_deleteonkill(conn):
    m = full_class(conn).methods["KillJob"]
    assert m.return_type == "uint32"
    assert m.parameters["DeleteOnKill"].type == "boolean"


def test_geterror_declares_an_out_embedded_cim_error(conn):
    p = full_class(conn).methods["GetError"].parameters["Error"]
    assert p.type == "string" and not p.is_array
    assert qualifier(p, "Out") is True
    assert qualifier(p, "EmbeddedInstance") == "CIM_Error"


def test_geterrors_declares_an_out_array_of_embedded_cim_errors(conn):
    p = full_class(conn).methods["GetErrors"].parameters["Errors"]
    assert p.type == "string" and p.is_array
    assert qualifier(p, "Out") is True
    assert qualifier(p, "EmbeddedInstance") == "CIM_Error"


def test_answerquery_declares_an_answer_string(conn):
    m = full_class(conn).methods["AnswerQuery"]
    assert m.return_type == "uint32"
    p = m.parameters["Answer"]
    assert p.type == "string" and not p.is_array
    assert qualifier(p, "In") is True
    assert m.class_origin == JOB_CLASS


def test_job_service_is_a_cim_service_with_submitjob(conn):
    cls = full_class(conn, SERVICE_CLASS)
    assert cls.superclass == "CIM_Service"
    m = cls.methods["SubmitJob"]
    assert m.return_type == "uint32"
    assert "4096" in qualifier(m, "ValueMap")
    job = m.parameters["Job"]
    assert job.type == "reference"
    assert job.reference_class in ("CIM_ConcreteJob", JOB_CLASS)
    assert qualifier(job, "Out") is True
    assert m.parameters["CommandLine"].type == "string" and m.parameters["CommandLine"].is_array
    assert m.parameters["Name"].type == "string"
    template = m.parameters["Template"]
    assert template.type == "string"
    assert qualifier(template, "EmbeddedInstance") in (JOB_CLASS, "CIM_ConcreteJob")


# --- the other classes of the job model ---------------------------------------------------

def test_cim_error_exists_with_its_properties(conn):
    cls = full_class(conn, "CIM_Error")
    assert cls.superclass is None
    assert {"messageid", "owningentity", "message", "perceivedseverity", "probablecause",
            "errortype", "cimstatuscode"} <= names(cls.properties)
    assert qualifier(cls.properties["MessageID"], "Required") is True
    assert cls.properties["CIMStatusCode"].type == "uint32"


def test_cim_jobcapabilities_exists(conn):
    cls = full_class(conn, "CIM_JobCapabilities")
    props = names(cls.properties)
    assert {"requestedstatessupported", "timebeforeremovalmin", "timebeforeremovalmax",
            "deletejobsupported"} <= props
    assert cls.properties["RequestedStatesSupported"].is_array


@pytest.mark.parametrize("assoc,refs", [
    ("CIM_OwningJobElement", {"OwningElement": "CIM_ManagedElement", "OwnedElement": "CIM_Job"}),
    ("CIM_ElementCapabilities", {"ManagedElement": "CIM_ManagedElement", "Capabilities": "CIM_Capabilities"}),
])
def test_association_class_exists_with_its_references(conn, assoc, refs):
    cls = full_class(conn, assoc)
    assert qualifier(cls, "Association") is True
    for name, refclass in refs.items():
        p = cls.properties[name]
        assert p.type == "reference"
        assert p.reference_class == refclass
        assert qualifier(p, "Key") is True


# --- EnumerateClassNames / EnumerateClasses -----------------------------------------------

def test_enumerateclassnames_deep_from_cim_job_includes_our_subclass(conn):
    got = names(conn.EnumerateClassNames(ClassName="CIM_Job", DeepInheritance=True))
    assert {"cim_concretejob", "cimjob_concretejob"} <= got
    assert "cim_job" not in got, "the class itself is not among its subclasses"


def test_enumerateclassnames_shallow_from_cim_job_returns_direct_subclasses_only(conn):
    got = names(conn.EnumerateClassNames(ClassName="CIM_Job", DeepInheritance=False))
    assert "cim_concretejob" in got
    assert "cimjob_concretejob" not in got


def test_enumerateclassnames_without_a_class_shallow_returns_the_roots(conn):
    got = names(conn.EnumerateClassNames(DeepInheritance=False))
    assert {"cim_managedelement", "cim_error"} <= got
    assert not got & {"cim_job", "cim_concretejob", "cimjob_concretejob"}


def test_enumerateclassnames_without_a_class_deep_returns_every_class(conn):
    got = names(conn.EnumerateClassNames(DeepInheritance=True))
    assert {"cim_managedelement", "cim_job", "cim_concretejob", "cimjob_concretejob",
            "cimjob_jobservice", "cim_error", "cim_jobcapabilities", "cim_owningjobelement",
            "cim_elementcapabilities"} <= got


def test_enumerateclasses_deep_returns_full_subclasses(conn):
    classes = conn.EnumerateClasses(ClassName="CIM_ConcreteJob", DeepInheritance=True,
                                    LocalOnly=False, IncludeQualifiers=True, IncludeClassOrigin=True)
    by_name = {c.classname.lower(): c for c in classes}
    ours = by_name["cimjob_concretejob"]
    assert ours.superclass == "CIM_ConcreteJob"
    assert ours.properties["Caption"].class_origin == "CIM_ManagedElement"
    assert qualifier(ours.properties["InstanceID"], "Key") is True


def test_enumerateclasses_localonly_omits_inherited_properties(conn):
    classes = conn.EnumerateClasses(ClassName="CIM_ConcreteJob", DeepInheritance=True, LocalOnly=True)
    ours = {c.classname.lower(): c for c in classes}["cimjob_concretejob"]
    assert "commandline" in names(ours.properties)
    assert "caption" not in names(ours.properties)


# --- errors -------------------------------------------------------------------------------

def test_getclass_of_an_unknown_class_is_not_found(conn):
    """DSP0200 GetClass: CIM_ERR_NOT_FOUND (6) when the class does not exist."""
    with cim_error(CIM_ERR_NOT_FOUND, "CIMJOB_NoSuchClass"):
        conn.GetClass("CIMJOB_NoSuchClass")


def test_enumerateclassnames_of_an_unknown_class_is_invalid_class(conn):
    """DSP0200 EnumerateClassNames: CIM_ERR_INVALID_CLASS (5) when ClassName does not exist."""
    with cim_error(CIM_ERR_INVALID_CLASS, "CIMJOB_NoSuchClass"):
        conn.EnumerateClassNames(ClassName="CIMJOB_NoSuchClass")


def test_enumerateinstances_of_an_unknown_class_is_invalid_class(conn):
    """DSP0200 EnumerateInstances: CIM_ERR_INVALID_CLASS (5) when ClassName does not exist."""
    with cim_error(CIM_ERR_INVALID_CLASS, "CIMJOB_NoSuchClass"):
        conn.EnumerateInstances("CIMJOB_NoSuchClass")


@pytest.mark.parametrize("op", ["GetClass", "EnumerateClassNames", "EnumerateClasses"])
def test_class_operations_in_an_unknown_namespace_are_invalid_namespace(conn, op):
    with cim_error(CIM_ERR_INVALID_NAMESPACE, "root/nosuch"):
        if op == "GetClass":
            conn.GetClass(JOB_CLASS, namespace="root/nosuch")
        elif op == "EnumerateClassNames":
            conn.EnumerateClassNames(namespace="root/nosuch")
        else:
            conn.EnumerateClasses(namespace="root/nosuch")
