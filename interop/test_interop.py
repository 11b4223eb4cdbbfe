"""The Interop namespace (`interop`, also answered as `root/interop`): CIM_ObjectManager, CIM_Namespace,
CIM_NamespaceInManager, CIM_RegisteredProfile, CIM_ElementConformsToProfile (DSP1033 Profile
Registration), and pywbem's WBEMServer, which discovers a server through them."""

import warnings

import pytest
import pywbem

from harness import NAMESPACE, SERVICE_CLASS, crate_version, same_path, service_path

INTEROP_NAMESPACES = ["interop", "root/interop"]
DMTF = 2


def only(items, what):
    assert len(items) == 1, f"expected exactly one {what}, got {len(items)}: {items}"
    return items[0]


def profiles(conn, ns, name):
    return [p for p in conn.EnumerateInstances("CIM_RegisteredProfile", namespace=ns)
            if p["RegisteredName"] == name]


@pytest.fixture
def wbem_server(conn):
    server = pywbem.WBEMServer(conn)
    with warnings.catch_warnings():
        # the namespace pywbem finds first is the one CIM_Namespace lists: it has nothing
        # to tolerate
        warnings.simplefilter("error", pywbem.ToleratedServerIssueWarning)
        server.namespaces  # noqa: B018 - discovers interop_ns, namespaces
    return server


# --- the instances ------------------------------------------------------------------------

@pytest.mark.parametrize("ns", INTEROP_NAMESPACES)
def test_exactly_one_object_manager_named_cimjob(conn, ns):
    om = only(conn.EnumerateInstances("CIM_ObjectManager", namespace=ns), "CIM_ObjectManager")
    assert om.classname == "CIM_ObjectManager"
    assert "cimjob" in om["ElementName"].lower()
    assert om["Name"]
    assert om["CreationClassName"] == "CIM_ObjectManager"


@pytest.mark.parametrize("ns", INTEROP_NAMESPACES)
def test_cim_namespace_instances_name_both_namespaces(conn, ns):
    found = conn.EnumerateInstances("CIM_Namespace", namespace=ns)
    assert {i["Name"].lower() for i in found} == {"root/cimv2", "interop"}
    om = only(conn.EnumerateInstances("CIM_ObjectManager", namespace=ns), "CIM_ObjectManager")
    for inst in found:
        assert inst["ObjectManagerCreationClassName"] == "CIM_ObjectManager"
        assert inst["ObjectManagerName"] == om["Name"]
        assert inst["CreationClassName"] == inst.classname
        assert inst["SystemName"] == om["SystemName"]


def test_namespace_in_manager_links_the_object_manager_to_its_namespaces(conn):
    om = only(conn.EnumerateInstanceNames("CIM_ObjectManager", namespace="interop"), "CIM_ObjectManager")
    paths = conn.AssociatorNames(om, AssocClass="CIM_NamespaceInManager")
    assert {p.keybindings["Name"].lower() for p in paths} == {"root/cimv2", "interop"}
    refs = conn.References(om, ResultClass="CIM_NamespaceInManager")
    assert refs and all(same_path(r["Antecedent"], om) for r in refs)


@pytest.mark.parametrize("ns", INTEROP_NAMESPACES)
def test_job_control_profile_is_registered(conn, ns):
    p = only(profiles(conn, ns, "Job Control"), "Job Control profile")
    assert p["RegisteredVersion"] == "1.0.0"
    assert p["RegisteredOrganization"] == DMTF


def test_profile_registration_profile_is_registered(conn):
    p = only(profiles(conn, "interop", "Profile Registration"), "Profile Registration profile")
    assert p["RegisteredOrganization"] == DMTF
    assert p["RegisteredVersion"]


def test_both_interop_names_show_the_same_profiles(conn):
    ids = [sorted(p["InstanceID"] for p in conn.EnumerateInstances("CIM_RegisteredProfile", namespace=ns))
           for ns in INTEROP_NAMESPACES]
    assert ids[0] == ids[1]


def test_job_control_conforming_element_is_the_job_service(conn):
    profile = only(profiles(conn, "interop", "Job Control"), "Job Control profile")
    paths = conn.AssociatorNames(profile.path, AssocClass="CIM_ElementConformsToProfile",
                                 ResultRole="ManagedElement")
    svc = service_path(conn)
    mine = [p for p in paths if same_path(p, svc)]
    assert len(mine) == 1, paths
    assert mine[0].namespace == NAMESPACE, "a reference across namespaces carries its namespace"


def test_the_job_service_conforms_to_job_control_seen_from_root_cimv2(conn):
    """Our choice, not a DSP1033 must (it allows the association in the implementation
    namespace, the interop namespace or both): both, so a client can start from the service."""
    paths = conn.AssociatorNames(service_path(conn), AssocClass="CIM_ElementConformsToProfile",
                                 ResultRole="ConformantStandard")
    assert len(paths) == 1, paths
    assert paths[0].namespace in INTEROP_NAMESPACES
    assert conn.GetInstance(paths[0])["RegisteredName"] == "Job Control"


# --- pywbem.WBEMServer --------------------------------------------------------------------

def test_wbemserver_finds_the_interop_namespace(wbem_server):
    assert wbem_server.interop_ns in INTEROP_NAMESPACES


def test_wbemserver_lists_the_namespaces(wbem_server):
    assert sorted(n.lower() for n in wbem_server.namespaces) == ["interop", "root/cimv2"], \
        "each namespace once"


def test_wbemserver_brand_is_cimjob(wbem_server):
    assert "cimjob" in wbem_server.brand.lower()
    assert wbem_server.cimom_inst.classname == "CIM_ObjectManager"


def test_wbemserver_version_is_the_crate_version(wbem_server):
    """pywbem reads the version of an unknown brand from CIM_ObjectManager.Description, as the
    word after 'version' ('... version 0.1.0')."""
    assert wbem_server.version == crate_version()


def test_wbemserver_profiles_include_job_control(wbem_server):
    registered = {(p["RegisteredOrganization"], p["RegisteredName"]) for p in wbem_server.profiles}
    assert {(DMTF, "Job Control"), (DMTF, "Profile Registration")} <= registered


def test_wbemserver_selects_the_job_control_profile_by_org_and_name(wbem_server):
    """get_selected_profiles maps 'DMTF' through the ValueMap of
    CIM_RegisteredProfile.RegisteredOrganization (GetClass in the interop namespace)."""
    selected = wbem_server.get_selected_profiles(registered_org="DMTF", registered_name="Job Control")
    assert only(selected, "Job Control profile")["RegisteredVersion"] == "1.0.0"


def test_wbemserver_central_instances_of_job_control_are_the_job_service(conn, wbem_server):
    profile = only(wbem_server.get_selected_profiles(registered_org="DMTF", registered_name="Job Control"),
                   "Job Control profile")
    central = wbem_server.get_central_instances(profile.path)
    assert [p.classname for p in central] == [SERVICE_CLASS]
    assert same_path(central[0], service_path(conn))
