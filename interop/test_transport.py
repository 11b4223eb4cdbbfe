"""CIM-XML over HTTP at /cimom (DSP0200 §5, DSP0201), by hand-built requests: the response
headers and envelope, the request forms real clients send, and the HTTP-level error for a body
that is not XML."""

import pytest

from harness import header, namespace_xml, raw_imethodcall, raw_post

ENUM_CLASS_NAMES = '<IPARAMVALUE NAME="DeepInheritance"><VALUE>FALSE</VALUE></IPARAMVALUE>'


def request(method, namespace, iparams, message_id="4711", prefix=""):
    body = (
        f'{prefix}<?xml version="1.0" encoding="utf-8" ?>\n'
        '<CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="{message_id}" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
        f'<IMETHODCALL NAME="{method}">{namespace_xml(namespace)}{iparams}</IMETHODCALL>'
        "</SIMPLEREQ></MESSAGE></CIM>").encode()
    headers = {"Content-Type": 'application/xml; charset="utf-8"', "CIMOperation": "MethodCall",
               "CIMMethod": method, "CIMObject": namespace.replace("/", "%2F"),
               "CIMProtocolVersion": "1.0"}
    return body, headers


def test_response_has_the_cim_headers_and_echoes_the_message_id(url):
    status, headers, root = raw_imethodcall(url, "EnumerateClassNames", "root/cimv2", ENUM_CLASS_NAMES,
                                            message_id="98765")
    assert status == 200
    assert header(headers, "CIMOperation") == "MethodResponse"
    assert "xml" in (header(headers, "Content-Type") or "")
    assert root is not None and root.tag == "CIM"
    message = root.find("MESSAGE")
    assert message.get("ID") == "98765"
    response = message.find("SIMPLERSP/IMETHODRESPONSE")
    assert response.get("NAME") == "EnumerateClassNames"
    got = {c.get("NAME") for c in response.findall("IRETURNVALUE/CLASSNAME")}
    assert "CIM_ManagedElement" in got


def test_a_body_with_a_newline_before_the_xml_declaration_is_accepted(url):
    """sblim-wbemcli sends its requests this way."""
    body, headers = request("EnumerateClassNames", "root/cimv2", ENUM_CLASS_NAMES, prefix="\n")
    status, _, raw = raw_post(url, body, headers)
    assert status == 200
    assert b"<ERROR" not in raw and b"CIM_ManagedElement" in raw


def test_cim_error_is_an_error_element_in_a_200_response(url):
    """DSP0200: a CIM error travels as ERROR inside IMETHODRESPONSE, with HTTP 200."""
    status, _, root = raw_imethodcall(url, "GetClass", "root/cimv2",
                                      '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIMJOB_NoSuchClass"/></IPARAMVALUE>')
    assert status == 200
    error = root.find("MESSAGE/SIMPLERSP/IMETHODRESPONSE/ERROR")
    assert error is not None and error.get("CODE") == "6"
    assert "CIMJOB_NoSuchClass" in error.get("DESCRIPTION", "")


@pytest.mark.parametrize("damage", ["truncated", "not-xml"])
def test_not_well_formed_xml_is_http_400_with_a_cimerror_header(url, damage):
    """DSP0200: a request that is not well-formed XML gets 400 and CIMError:
    request-not-well-formed. The bodies are valid CIM-XML up to where they stop being XML."""
    body, headers = request("EnumerateClassNames", "root/cimv2", ENUM_CLASS_NAMES)
    body = body[:-1] if damage == "truncated" else b"this is not XML"
    status, resp_headers, _ = raw_post(url, body, headers)
    assert status == 400
    assert header(resp_headers, "CIMError") == "request-not-well-formed"
