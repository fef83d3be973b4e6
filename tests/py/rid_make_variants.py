#!/usr/bin/env python3
"""Writes tests/fixtures/rid/{invalid,valid}/*.xml: variants of the RFC 6545 §7 examples, each changing ONE
thing, for the RID agreement test (tests/rid_messages.rs).

Usage: python3 tests/py/rid_make_variants.py   (from the repository root; rewrites both folders)
The first comment of each file names the rule. invalid/: the schema refuses them (gridlink and Python
xmlschema must agree). valid/: the schema accepts them; those named "rfc-*" break an RFC 6545 text rule
the schema cannot express (xmlschema says valid, gridlink reports an error).
"""
import glob
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
EX = os.path.join(ROOT, "rid", "examples")


def ex(name):
    return open(glob.glob(os.path.join(EX, "rfc6545-sec%s-*.xml" % name))[0]).read()


QUERY, REPORT, RESULT, DENIED = ex("7.4.1"), ex("7.3.1"), ex("7.1.3"), ex("7.2.2")
NODE = '<iodef:Node>\n      <iodef:Address category="ipv4-addr">192.0.2.3</iodef:Address>\n    </iodef:Node>'
V2 = open(os.path.join(ROOT, "iodef", "valid", "rfc7970-sec7.1-minimal.xml")).read()
V2 = V2[V2.index("<IODEF-Document"):]
V2_REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<RID lang="en" xmlns="urn:ietf:params:xml:ns:iodef-rid-2.0"
     xmlns:iodef="urn:ietf:params:xml:ns:iodef-1.0">
  <RIDPolicy MsgType="Report" MsgDestination="RIDSystem">
    <PolicyRegion region="PeerToPeer"/>
    <iodef:Node><iodef:Address category="ipv4-addr">192.0.2.130</iodef:Address></iodef:Node>
    <TrafficType type="Attack"/>
    <iodef:IncidentID name="csirt.example.com">492382</iodef:IncidentID>
    <ReportSchema Version="ext-value" ext-Version="2.0" XMLSchemaID="ext-value"
                  ext-XMLSchemaID="urn:ietf:params:xml:ns:iodef-2.0">
      <XMLDocument dtype="xml" meaning="xml">
%s
      </XMLDocument>
    </ReportSchema>
  </RIDPolicy>
</RID>
""" % V2

# name: (base, old, new, rule)
INVALID = {
    "root-no-lang": (QUERY, 'RID lang="en"', "RID", "RID@lang is required"),
    "root-bad-lang": (QUERY, 'lang="en"', 'lang="en_US"', "RID@lang is an xs:language"),
    "policy-no-msgtype": (QUERY, 'MsgType="Query"', "", "RIDPolicy@MsgType is required"),
    "policy-bad-msgtype": (QUERY, 'MsgType="Query"', 'MsgType="Request"', "MsgType enumeration (no Request on the wire)"),
    "policy-bad-destination": (QUERY, 'MsgDestination="RIDSystem"', 'MsgDestination="Nowhere"', "MsgDestination enumeration"),
    "policy-no-region": (QUERY, '<iodef-rid:PolicyRegion region="PeerToPeer"/>', "", "PolicyRegion minOccurs=1"),
    "region-bad": (QUERY, 'region="PeerToPeer"', 'region="Global"', "region enumeration"),
    "policy-no-node": (QUERY, NODE, "", "RIDPolicy needs exactly one Node"),
    "policy-two-nodes": (QUERY, NODE, NODE + NODE, "Node maxOccurs=1"),
    "policy-no-traffictype": (QUERY, '<iodef-rid:TrafficType type="Attack"/>', "", "TrafficType minOccurs=1"),
    "traffic-bad": (QUERY, 'type="Attack"', 'type="Spam"', "TrafficType@type enumeration"),
    "order-traffic-before-node": (QUERY, NODE + '\n    <iodef-rid:TrafficType type="Attack"/>',
                                  '<iodef-rid:TrafficType type="Attack"/>\n    ' + NODE, "RIDPolicy sequence order"),
    "incidentid-no-name": (QUERY, '<iodef:IncidentID name="CERT-FOR-OUR-DOMAIN">', "<iodef:IncidentID>", "IncidentID@name is required"),
    "incidentid-bad-restriction": (QUERY, '<iodef:IncidentID name="CERT-FOR-OUR-DOMAIN">',
                                   '<iodef:IncidentID name="CERT-FOR-OUR-DOMAIN" restriction="secret">', "restriction-type enumeration"),
    "policy-unknown-attribute": (QUERY, 'MsgType="Query"', 'MsgType="Query" priority="high"', "no such attribute"),
    "policy-unknown-element": (QUERY, "</iodef-rid:RIDPolicy>", "<iodef-rid:Priority/></iodef-rid:RIDPolicy>", "no such element"),
    "policyregion-with-text": (QUERY, '<iodef-rid:PolicyRegion region="PeerToPeer"/>',
                               '<iodef-rid:PolicyRegion region="PeerToPeer">peers</iodef-rid:PolicyRegion>', "PolicyRegion is empty"),
    "status-bad": (DENIED, 'AuthorizationStatus="Denied"', 'AuthorizationStatus="Maybe"', "AuthorizationStatus enumeration"),
    "status-no-authorization": (DENIED, 'AuthorizationStatus="Denied"', "", "AuthorizationStatus is required"),
    "justification-bad": (DENIED, 'Justification="Authentication"', 'Justification="Busy"', "Justification enumeration"),
    "status-before-policy": (DENIED, "", "", "RID sequence order: RIDPolicy, RequestStatus, IncidentSource"),
    "address-bad-category": (QUERY, 'category="ipv4-addr"', 'category="ipv5-addr"', "Address@category enumeration"),
    "node-unknown-child": (QUERY, "</iodef:Address>", "</iodef:Address><iodef:Port>80</iodef:Port>", "Node content model"),
    "node-counter-not-double": (QUERY, "</iodef:Address>", '</iodef:Address><iodef:Counter type="packet">many</iodef:Counter>', "Counter is an xs:double"),
    "node-counter-no-type": (QUERY, "</iodef:Address>", "</iodef:Address><iodef:Counter>3</iodef:Counter>", "Counter@type is required"),
    "node-datetime-bad": (QUERY, "</iodef:Address>", "</iodef:Address><iodef:DateTime>2004-02-30 10:00</iodef:DateTime>", "DateTime is an xs:dateTime"),
    "node-role-order": (QUERY, "<iodef:Address", '<iodef:NodeRole category="www"/><iodef:Address', "Node: NodeRole after the addresses"),
    "sourcefound-not-boolean": (RESULT, "<iodef-rid:SourceFound>true<", "<iodef-rid:SourceFound>yes<", "SourceFound is an xs:boolean"),
    "incidentsource-no-sourcefound": (RESULT, "<iodef-rid:SourceFound>true</iodef-rid:SourceFound>", "", "SourceFound is required"),
    "reportschema-no-xmldocument": (REPORT, [("<iodef-rid:XMLDocument ", "<iodef-rid:Signature "), ("</iodef-rid:XMLDocument>", "</iodef-rid:Signature>")], None, "XMLDocument minOccurs=1"),
    "xmldocument-no-dtype": (REPORT, '<iodef-rid:XMLDocument dtype="xml" meaning="xml">', '<iodef-rid:XMLDocument meaning="xml">', "ExtensionType@dtype is required"),
    "xmldocument-bad-dtype": (REPORT, 'XMLDocument dtype="xml"', 'XMLDocument dtype="html"', "dtype enumeration"),
    "reportschema-bad-version": (REPORT, "<iodef-rid:ReportSchema>", '<iodef-rid:ReportSchema Version="2.0">', "Version enumeration"),
    "reportschema-bad-schemaid": (REPORT, "<iodef-rid:ReportSchema>", '<iodef-rid:ReportSchema XMLSchemaID="urn:example:other">', "XMLSchemaID enumeration"),
    "enclosed-v1-no-contact": (REPORT, REPORT[REPORT.index('    <iodef:Contact role="creator"'):REPORT.index("    <iodef:EventData>")], "", "enclosed IODEF v1: Incident requires Contact (lax wildcard, v1 declarations loaded)"),
    "enclosed-v2-no-contact": (V2_REPORT, '<Contact type="organization" role="creator">\n      <Email>\n        <EmailTo>contact@csirt.example.com</EmailTo>\n      </Email>\n    </Contact>', "", "enclosed IODEF v2: Incident requires Contact (lax wildcard, v2 declarations loaded)"),
    "wrong-namespace": (QUERY, "iodef-rid-2.0", "iodef-rid-1.0", "RID 1.0 namespace is not RID 2.0"),
}

VALID = {
    "report-iodef-v2": (V2_REPORT, "", "", "an IODEF v2 document in XMLDocument (ext-value Version and XMLSchemaID)"),
    "query-ext-region": (QUERY, 'region="PeerToPeer"', 'region="ext-value" ext-region="Sector"', "ext-value with its ext- attribute"),
    "report-schema-v1-attrs": (REPORT, "<iodef-rid:ReportSchema>", '<iodef-rid:ReportSchema Version="1.0" XMLSchemaID="urn:ietf:params:xml:ns:iodef-1.0">', "Version and XMLSchemaID of IODEF 1.0"),
    "rfc-ack-without-requeststatus": (DENIED, '<iodef-rid:RequestStatus AuthorizationStatus="Denied"\n                           Justification="Authentication"/>', "", "§6.2: an Acknowledgement carries RequestStatus"),
    "rfc-query-with-requeststatus": (QUERY, "</iodef-rid:RIDPolicy>", '</iodef-rid:RIDPolicy>\n  <iodef-rid:RequestStatus AuthorizationStatus="Approved"/>', "§5: RequestStatus only in Acknowledgements"),
    "rfc-ext-without-ext-value": (QUERY, 'MsgType="Query"', 'MsgType="Query" ext-MsgType="Lookup"', "§5: ext-MsgType only with MsgType=ext-value"),
    "rfc-ext-value-without-ext": (QUERY, 'region="PeerToPeer"', 'region="ext-value"', "§5: region=ext-value needs ext-region"),
    "rfc-nodename-a-label": (QUERY, '<iodef:Address category="ipv4-addr">192.0.2.3</iodef:Address>',
                             '<iodef:NodeName>rid.xn--bcher-kva.example</iodef:NodeName><iodef:Address category="ipv4-addr">192.0.2.3</iodef:Address>', "§11: NodeName holds U-labels, never A-labels"),
    "rfc-ridsystem-without-address": (QUERY, '<iodef:Address category="ipv4-addr">192.0.2.3</iodef:Address>',
                                      "<iodef:NodeName>rid.example.net</iodef:NodeName>", "§5.1: MsgDestination=RIDSystem needs Node/Address"),
    "rfc-result-without-incidentsource": (RESULT, RESULT[RESULT.index("  <iodef-rid:IncidentSource>"):RESULT.index("</iodef-rid:RID>")], "", "§6.3: a Result carries IncidentSource"),
    "rfc-report-with-incidentsource": (QUERY, "</iodef-rid:RIDPolicy>", "</iodef-rid:RIDPolicy>\n  <iodef-rid:IncidentSource><iodef-rid:SourceFound>false</iodef-rid:SourceFound></iodef-rid:IncidentSource>", "§5: IncidentSource only in Results"),
    "rfc-query-without-incidentid": (QUERY, QUERY[QUERY.index("    <iodef:IncidentID"):QUERY.index("  </iodef-rid:RIDPolicy>")], "", "§6.5: a Query by IncidentID needs the IncidentID"),
    "rfc-no-ridpolicy": (DENIED, DENIED[DENIED.index("  <iodef-rid:RIDPolicy"):DENIED.index("  <iodef-rid:RequestStatus")], "", "§5: every message type uses RIDPolicy"),
    "rfc-traffic-other-unexplained": (QUERY, 'type="Attack"', 'type="Other"', "§5.1: TrafficType Other must be explained in IODEF Expectation or History"),
    "rfc-incidentsource-node-without-address": (RESULT, '<iodef:Address category="ipv4-addr">192.0.2.37</iodef:Address>', "<iodef:NodeName>bot.example.org</iodef:NodeName>", "§5.3: IncidentSource Node holds the IP in Address"),
}


def write(folder, table):
    d = os.path.join(ROOT, "rid", folder)
    os.makedirs(d, exist_ok=True)
    for f in glob.glob(os.path.join(d, "*.xml")):
        os.remove(f)
    for name, (base, old, new, rule) in table.items():
        if name == "status-before-policy":
            a, b = base.index("  <iodef-rid:RIDPolicy"), base.index("  <iodef-rid:RequestStatus")
            e = base.index("</iodef-rid:RID>")
            doc = base[:a] + base[b:e] + base[a:b] + base[e:]
        elif isinstance(old, list):
            doc = base
            for o, n in old:
                assert o in doc, (name, o)
                doc = doc.replace(o, n)
        else:
            assert old == "" or old in base, (name, old)
            doc = base.replace(old, new, 1) if old else base
            assert doc != base or folder == "valid", name
        head = ""
        if doc.startswith("<?xml"):
            i = doc.index("?>") + 2
            head, doc = doc[:i] + "\n", doc[i:].lstrip("\n")
        with open(os.path.join(d, name + ".xml"), "w") as f:
            f.write(head + "<!-- %s -->\n" % rule + doc)


write("invalid", INVALID)
write("valid", VALID)
