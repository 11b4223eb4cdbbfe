"""Pull operations (DSP0200 1.3+): Open*/Pull*/CloseEnumeration/EnumerationCount over ~300
jobs, enumeration-context errors, and pywbem's Iter* helpers on a pull-only connection.

The 300 jobs (`true`, through the JSON API) are made once for this module and only read."""

import time
import uuid
from xml.sax.saxutils import escape

import pytest
import pywbem

from harness import (
    CIM_ERR_INVALID_CLASS, CIM_ERR_INVALID_ENUMERATION_CONTEXT, CIM_ERR_NOT_SUPPORTED,
    CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
    COMPLETED, FINAL_STATES, JOB_CLASS, NAMESPACE, Jobs, cim_error, names, raw_imethodcall,
    service_path, until,
)

COUNT = 300
CHUNK = 7
OWNING = "CIM_OwningJobElement"
CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED = 25


@pytest.fixture(scope="module")
def many(service):
    """The InstanceIDs of 300 completed jobs made for this module."""
    made = Jobs(service, f"pull-{uuid.uuid4().hex[:6]}")
    ids = {made.submit(["true"]).instance_id for _ in range(COUNT)}
    def finished() -> set[str]:
        status, body = service.http("GET", "/api/v1/jobs")
        assert status == 200, body
        return {j["InstanceID"] for j in body["jobs"] if j["JobState"] in FINAL_STATES}

    until(finished, lambda done: ids <= done,
          lambda done: f"{len(ids - done)} of the {COUNT} jobs never finished", 180, 0.2)
    try:
        yield ids
    finally:
        made.cleanup()


def drain(first, pull, attr, max_count=CHUNK, limit=1000):
    """Everything an open returned plus every pull until EndOfSequence (bounded)."""
    result = first
    items = list(getattr(result, attr))
    rounds = 0
    while not result.eos:
        rounds += 1
        assert rounds <= limit, f"no EndOfSequence after {limit} pulls"
        assert result.context is not None, "an open enumeration has a context"
        result = pull(result.context, max_count)
        batch = getattr(result, attr)
        assert len(batch) <= max_count, f"a pull returned {len(batch)} > MaxObjectCount {max_count}"
        items.extend(batch)
    return items


def job_ids_now(conn):
    return [p.keybindings["InstanceID"] for p in conn.EnumerateInstanceNames("CIM_ConcreteJob")]


def exactly_once(ids):
    dups = {i for i in ids if ids.count(i) > 1}
    assert not dups, f"returned more than once: {sorted(dups)[:10]}"
    return set(ids)


# --- enumerate ----------------------------------------------------------------------------

def test_open_enumerate_instances_then_pull_with_path_collects_all_exactly_once(conn, many):
    before = set(job_ids_now(conn))
    first = conn.OpenEnumerateInstances("CIM_ConcreteJob", MaxObjectCount=CHUNK)
    assert len(first.instances) <= CHUNK
    assert not first.eos
    items = drain(first, conn.PullInstancesWithPath, "instances")
    assert all(i.classname == JOB_CLASS and i.path is not None for i in items)
    got = exactly_once([i.path.keybindings["InstanceID"] for i in items])
    assert many <= got
    assert got == before


def test_open_with_maxobjectcount_0_returns_nothing_and_the_pulls_go_on(conn, many):
    first = conn.OpenEnumerateInstances("CIM_ConcreteJob", MaxObjectCount=0)
    assert first.instances == []
    assert not first.eos
    items = drain(first, conn.PullInstancesWithPath, "instances", max_count=50)
    assert many <= exactly_once([i["InstanceID"] for i in items])


def test_open_enumerate_instance_paths_then_pull_instance_paths(conn, many):
    first = conn.OpenEnumerateInstancePaths("CIM_ConcreteJob", MaxObjectCount=CHUNK)
    paths = drain(first, conn.PullInstancePaths, "paths")
    assert all(p.classname == JOB_CLASS for p in paths)
    assert many <= exactly_once([p.keybindings["InstanceID"] for p in paths])


def test_open_enumerate_instances_honours_propertylist(conn, many):
    first = conn.OpenEnumerateInstances("CIM_ConcreteJob", PropertyList=["Name"], MaxObjectCount=100)
    items = drain(first, conn.PullInstancesWithPath, "instances", max_count=100)
    assert all(names(i.properties) == {"name"} for i in items)
    assert many <= exactly_once([i.path.keybindings["InstanceID"] for i in items])


def test_open_enumerate_instances_of_an_unknown_class_is_invalid_class(conn):
    with cim_error(CIM_ERR_INVALID_CLASS):
        conn.OpenEnumerateInstances("CIMJOB_NoSuchClass", MaxObjectCount=CHUNK)


def test_open_enumerate_instances_with_an_fql_filter_returns_only_what_matches(conn, many):
    """DSP0200's filter language for the pull operations, DSP0212 DMTF:FQL."""
    first = conn.OpenEnumerateInstances("CIM_ConcreteJob", FilterQueryLanguage="DMTF:FQL",
                                        FilterQuery="JobState = 7", MaxObjectCount=CHUNK)
    items = drain(first, conn.PullInstancesWithPath, "instances")
    assert items and all(i["JobState"] == COMPLETED for i in items)
    assert many <= exactly_once([i.path.keybindings["InstanceID"] for i in items])


# --- query --------------------------------------------------------------------------------

def test_open_query_instances_with_a_filter_query_then_pull_instances(conn, many):
    first = conn.OpenQueryInstances("DMTF:CQL", "SELECT * FROM CIM_ConcreteJob WHERE JobState = 7",
                                    MaxObjectCount=CHUNK)
    items = drain(first, conn.PullInstances, "instances")
    assert items and all(i["JobState"] == COMPLETED for i in items)
    assert many <= exactly_once([i["InstanceID"] for i in items])


def test_open_query_instances_with_wql(conn, many):
    first = conn.OpenQueryInstances("WQL", "SELECT InstanceID FROM CIM_ConcreteJob WHERE JobState = 7",
                                    MaxObjectCount=50)
    items = drain(first, conn.PullInstances, "instances", max_count=50)
    assert many <= exactly_once([i["InstanceID"] for i in items])


# --- associations -------------------------------------------------------------------------

def test_open_associator_instances_from_the_service_then_pull(conn, many):
    first = conn.OpenAssociatorInstances(service_path(conn), AssocClass=OWNING, MaxObjectCount=CHUNK)
    items = drain(first, conn.PullInstancesWithPath, "instances")
    assert all(i.classname == JOB_CLASS for i in items)
    assert many <= exactly_once([i.path.keybindings["InstanceID"] for i in items])


def test_open_associator_instance_paths_from_the_service_then_pull(conn, many):
    first = conn.OpenAssociatorInstancePaths(service_path(conn), AssocClass=OWNING,
                                             ResultRole="OwnedElement", MaxObjectCount=CHUNK)
    paths = drain(first, conn.PullInstancePaths, "paths")
    assert many <= exactly_once([p.keybindings["InstanceID"] for p in paths])


def test_open_reference_instances_from_the_service_then_pull(conn, many):
    first = conn.OpenReferenceInstances(service_path(conn), ResultClass=OWNING, MaxObjectCount=CHUNK)
    items = drain(first, conn.PullInstancesWithPath, "instances")
    assert all(i.classname == OWNING for i in items)
    assert many <= exactly_once([i["OwnedElement"].keybindings["InstanceID"] for i in items])


def test_open_reference_instance_paths_from_the_service_then_pull(conn, many):
    first = conn.OpenReferenceInstancePaths(service_path(conn), ResultClass=OWNING,
                                            Role="OwningElement", MaxObjectCount=CHUNK)
    paths = drain(first, conn.PullInstancePaths, "paths")
    assert all(p.classname == OWNING for p in paths)
    assert many <= exactly_once([p.keybindings["OwnedElement"].keybindings["InstanceID"] for p in paths])


# --- contexts -----------------------------------------------------------------------------

def test_close_enumeration_ends_the_context(conn, many):
    first = conn.OpenEnumerateInstances("CIM_ConcreteJob", MaxObjectCount=1)
    assert not first.eos
    conn.CloseEnumeration(first.context)
    with cim_error(CIM_ERR_INVALID_ENUMERATION_CONTEXT):
        conn.PullInstancesWithPath(first.context, CHUNK)


def test_a_context_is_closed_after_end_of_sequence(conn, many):
    result = conn.OpenEnumerateInstancePaths("CIM_ConcreteJob", MaxObjectCount=CHUNK)
    last_context = None
    for _ in range(1000):
        if result.eos:
            break
        last_context = result.context
        result = conn.PullInstancePaths(last_context, 200)
    assert result.eos and last_context is not None
    with cim_error(CIM_ERR_INVALID_ENUMERATION_CONTEXT):
        conn.PullInstancePaths(last_context, CHUNK)


def test_pull_with_an_unknown_context_is_invalid_enumeration_context(conn):
    with cim_error(CIM_ERR_INVALID_ENUMERATION_CONTEXT):
        conn.PullInstancesWithPath(("no-such-context-" + uuid.uuid4().hex, NAMESPACE), CHUNK)


def test_pull_after_the_operation_timeout_is_invalid_enumeration_context(conn, many):
    """OperationTimeout (seconds) bounds the time between two requests of a sequence; once it
    has passed the context is gone (DSP0200). Assumption: the server accepts 1 s rather than
    refusing it with CIM_ERR_INVALID_OPERATION_TIMEOUT (22)."""
    first = conn.OpenEnumerateInstances("CIM_ConcreteJob", MaxObjectCount=1, OperationTimeout=1)
    assert not first.eos
    time.sleep(3)
    with cim_error(CIM_ERR_INVALID_ENUMERATION_CONTEXT):
        conn.PullInstancesWithPath(first.context, CHUNK)


def test_enumeration_count_is_a_count_null_or_not_supported(url, conn, many):
    """DSP0200 EnumerationCount is optional: CIM_ERR_NOT_SUPPORTED (7), or a uint64 estimate of
    what is left, or NULL when the server cannot tell. pywbem has no call for it: raw CIM-XML.
    Whatever it answers, the enumeration goes on and collects everything."""
    first = conn.OpenEnumerateInstances("CIM_ConcreteJob", MaxObjectCount=5)
    assert not first.eos
    context, namespace = first.context
    status, _, root = raw_imethodcall(
        url, "EnumerationCount", namespace,
        f'<IPARAMVALUE NAME="EnumerationContext"><VALUE>{escape(context)}</VALUE></IPARAMVALUE>')
    assert status == 200 and root is not None
    error = root.find(".//ERROR")
    if error is not None:
        assert int(error.get("CODE")) == CIM_ERR_NOT_SUPPORTED, error.attrib
        conn.CloseEnumeration(first.context)
        return
    ret = root.find(".//IMETHODRESPONSE/IRETURNVALUE")
    value = ret.find("VALUE") if ret is not None else None
    if value is not None:
        assert int(value.text) >= 0
    items = drain(first, conn.PullInstancesWithPath, "instances")
    assert many <= exactly_once([i.path.keybindings["InstanceID"] for i in items])


# --- pywbem's Iter* helpers on a pull-only connection -------------------------------------

def test_iter_enumerate_instances_uses_pull_and_collects_all(pull_conn, many):
    items = list(pull_conn.IterEnumerateInstances("CIM_ConcreteJob", MaxObjectCount=CHUNK))
    assert many <= exactly_once([i.path.keybindings["InstanceID"] for i in items])


def test_iter_enumerate_instance_paths(pull_conn, many):
    paths = list(pull_conn.IterEnumerateInstancePaths("CIM_ConcreteJob", MaxObjectCount=CHUNK))
    assert many <= exactly_once([p.keybindings["InstanceID"] for p in paths])


def test_iter_query_instances(pull_conn, many):
    result = pull_conn.IterQueryInstances("DMTF:CQL", "SELECT * FROM CIM_ConcreteJob WHERE JobState = 7",
                                          MaxObjectCount=CHUNK)
    items = list(result.generator)
    assert many <= exactly_once([i["InstanceID"] for i in items])


def test_iter_associator_and_reference_instances(pull_conn, many):
    svc = service_path(pull_conn)
    jobs_ = list(pull_conn.IterAssociatorInstances(svc, AssocClass=OWNING, MaxObjectCount=CHUNK))
    assert many <= exactly_once([i["InstanceID"] for i in jobs_])
    refs = list(pull_conn.IterReferenceInstancePaths(svc, ResultClass=OWNING, MaxObjectCount=CHUNK))
    assert many <= exactly_once([r.keybindings["OwnedElement"].keybindings["InstanceID"] for r in refs])
