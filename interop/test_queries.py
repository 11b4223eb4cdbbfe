"""ExecQuery with WQL and DMTF:CQL (DSP0202): conditions, ISA, IS NULL, property lists, and the
errors for an unsupported language (14) and a malformed query (15)."""

import pytest

from harness import (
    CIM_ERR_INVALID_QUERY, CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, COMPLETED, EXCEPTION,
    JOB_CLASS, SERVICE_CLASS, SUSPENDED, cim_error, names,
)


@pytest.fixture
def three(jobs):
    """Three jobs of this test: `ok` Completed (Notify set), `bad` Exception, `held` Suspended."""
    ok = jobs.submit(["true"], name=jobs.name("ok"), Notify="operator")
    bad = jobs.submit(["sh", "-c", "exit 3"], name=jobs.name("bad"))
    held = jobs.submit(["true"], name=jobs.name("held"), hold=True)
    jobs.wait_state(ok, COMPLETED)
    jobs.wait_state(bad, EXCEPTION)
    return ok, bad, held


def query_names(conn, language, query):
    return {i["Name"] for i in conn.ExecQuery(language, query)}


def any_of(*jobs):
    return "(" + " OR ".join(f"Name = '{j.name}'" for j in jobs) + ")"


def test_wql_where_jobstate_7_returns_only_completed_jobs(conn, three):
    ok, bad, held = three
    found = conn.ExecQuery("WQL", "SELECT * FROM CIM_ConcreteJob WHERE JobState = 7")
    assert found and all(i["JobState"] == COMPLETED for i in found)
    got = {i["Name"] for i in found}
    assert ok.name in got
    assert not {bad.name, held.name} & got


def test_wql_returns_instances_of_our_subclass_with_all_properties(conn, three):
    ok, _, _ = three
    (inst,) = conn.ExecQuery("WQL", f"SELECT * FROM CIM_ConcreteJob WHERE Name = '{ok.name}'")
    assert inst.classname == JOB_CLASS
    assert inst["InstanceID"] == ok.instance_id
    assert list(inst["CommandLine"]) == ["true"]


def test_wql_select_list_returns_only_those_properties(conn, three):
    ok, _, _ = three
    found = conn.ExecQuery("WQL", f"SELECT Name, JobState FROM CIM_ConcreteJob WHERE Name = '{ok.name}'")
    assert len(found) == 1
    assert names(found[0].properties) == {"name", "jobstate"}
    assert found[0]["JobState"] == COMPLETED


def test_wql_and_with_a_numeric_comparison(conn, three):
    ok, bad, held = three
    got = query_names(conn, "WQL", f"SELECT * FROM CIM_ConcreteJob WHERE {any_of(ok, bad, held)} "
                                   "AND JobState <> 7")
    assert got == {bad.name, held.name}


def test_cql_and_or_not(conn, three):
    ok, bad, held = three
    got = query_names(conn, "DMTF:CQL",
                      f"SELECT * FROM CIM_ConcreteJob WHERE {any_of(ok, bad, held)} AND NOT JobState = 10")
    assert got == {ok.name, held.name}
    got = query_names(conn, "DMTF:CQL",
                      f"SELECT * FROM CIM_ConcreteJob WHERE {any_of(ok, bad, held)} "
                      "AND (JobState = 10 OR JobState = 5)")
    assert got == {bad.name, held.name}


def test_cql_is_null_and_is_not_null(conn, three):
    ok, bad, held = three
    base = f"SELECT * FROM CIM_ConcreteJob WHERE {any_of(ok, bad, held)}"
    assert query_names(conn, "DMTF:CQL", f"{base} AND Notify IS NULL") == {bad.name, held.name}
    assert query_names(conn, "DMTF:CQL", f"{base} AND Notify IS NOT NULL") == {ok.name}


def test_cql_isa_selects_by_class_from_cim_managedelement(conn, three):
    """DSP0202 ISA on the class path of the FROM class (written without a class alias: whether
    aliases are required is left open here)."""
    ok, bad, held = three
    found = conn.ExecQuery("DMTF:CQL",
                           "SELECT * FROM CIM_ManagedElement WHERE CIM_ManagedElement ISA CIM_ConcreteJob")
    assert found and all(i.classname == JOB_CLASS for i in found)
    assert {ok.name, bad.name, held.name} <= {i["Name"] for i in found}
    services = conn.ExecQuery("DMTF:CQL",
                              "SELECT * FROM CIM_ManagedElement WHERE CIM_ManagedElement ISA CIM_Service")
    assert [i.classname for i in services] == [SERVICE_CLASS]


def test_cql_string_comparison_and_suspended_state(conn, three):
    _, _, held = three
    found = conn.ExecQuery("DMTF:CQL", f"SELECT * FROM CIM_ConcreteJob WHERE Name = '{held.name}'")
    assert [i["JobState"] for i in found] == [SUSPENDED]


def test_unsupported_query_language_is_error_14(conn):
    with cim_error(CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, "XPath"):
        conn.ExecQuery("XPath", "/CIM_ConcreteJob")


@pytest.mark.parametrize("language,query", [
    ("WQL", "SELECT FROM WHERE"),
    ("WQL", "SELECT * FROM CIM_ConcreteJob WHERE JobState ="),
    ("DMTF:CQL", "SELECT * FROM CIM_ConcreteJob WHERE (JobState = 7"),
    ("DMTF:CQL", "DELETE FROM CIM_ConcreteJob"),
])
def test_malformed_query_is_error_15(conn, language, query):
    with cim_error(CIM_ERR_INVALID_QUERY):
        conn.ExecQuery(language, query)
