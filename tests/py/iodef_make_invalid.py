#!/usr/bin/env python3
"""Writes tests/fixtures/iodef/invalid/*.xml: variants of two valid fixtures, each breaking ONE rule.

Usage: python3 tests/py/iodef_make_invalid.py   (from the repository root; rewrites the folder)
The first comment of each file names the rule. Variants whose name starts with "rfc-" break an RFC 7970
text rule that the XSD cannot express (the XSD oracle calls them valid; gridlink does not).
"""
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "iodef")
MIN = open(os.path.join(ROOT, "valid", "rfc7970-sec7.1-minimal.xml")).read()
RICH = open(os.path.join(ROOT, "valid", "gridlink-rich.xml")).read()

ID = '<IncidentID name="csirt.example.com">492382</IncidentID>'
GT = '<GenerationTime>2015-07-18T09:00:00-05:00</GenerationTime>'
EMAIL = '<Email>\n        <EmailTo>contact@csirt.example.com</EmailTo>\n      </Email>'

# name: (base, old, new, rule)
V = {
    "missing-incidentid": (MIN, ID, "", "Incident requires IncidentID"),
    "missing-generationtime": (MIN, GT, "", "Incident requires GenerationTime"),
    "missing-contact": (MIN, '<Contact type="organization" role="creator">\n      ' + EMAIL + '\n    </Contact>', "", "Incident requires Contact"),
    "missing-purpose": (MIN, ' purpose="reporting"', "", "Incident@purpose is required"),
    "bad-purpose": (MIN, 'purpose="reporting"', 'purpose="attack"', "purpose enumeration"),
    "order-generationtime-first": (MIN, ID + "\n    " + GT, GT + "\n    " + ID, "element order"),
    "two-incidentids": (MIN, ID, ID + ID, "IncidentID maxOccurs=1"),
    "bad-datetime-month": (MIN, "2015-07-18T09", "2015-13-18T09", "DATETIME month"),
    "bad-datetime-date-only": (MIN, "2015-07-18T09:00:00-05:00", "2015-07-18", "DATETIME needs a time"),
    "bad-datetime-tz": (MIN, "09:00:00-05:00", "09:00:00-05", "DATETIME timezone"),
    "bad-version": (MIN, 'version="2.00"', 'version="3.00"', "version fixed 2.00"),
    "unknown-element": (MIN, GT, GT + "<Foo/>", "unknown element"),
    "unknown-attribute": (MIN, 'restriction="private"', 'restriction="private" foo="bar"', "unknown attribute"),
    "contact-missing-role": (MIN, ' role="creator"', "", "Contact@role required"),
    "contact-bad-type": (MIN, 'type="organization"', 'type="robot"', "Contact@type enumeration"),
    "email-missing-emailto": (MIN, "<EmailTo>contact@csirt.example.com</EmailTo>", "", "Email requires EmailTo"),
    "text-between-elements": (MIN, ID, "stray text" + ID, "element-only content"),
    "bad-restriction": (MIN, 'restriction="private"', 'restriction="secret"', "restriction enumeration"),
    "element-in-simple-content": (MIN, "492382</IncidentID>", "492382<b/></IncidentID>", "IncidentID has simple content"),
    "no-incident": (MIN, MIN[MIN.index("  <Incident"):MIN.index("</IODEF-Document>")], "", "IODEF-Document requires Incident"),
    "bad-lang": (MIN, 'xml:lang="en"', 'xml:lang="en_US!"', "xml:lang is a language tag"),
    "bad-timezone": (RICH, "<Timezone>-05:00</Timezone>", "<Timezone>+15:00</Timezone>", "TIMEZONE pattern"),
    "two-timezones": (RICH, "<Timezone>-05:00</Timezone>", "<Timezone>-05:00</Timezone><Timezone>Z</Timezone>", "Timezone maxOccurs=1"),
    "bad-portlist": (RICH, "<Portlist>25,465,587-588</Portlist>", "<Portlist>25,465,587-</Portlist>", "PORTLIST pattern"),
    "bad-port": (RICH, "<Port>443</Port>", "<Port>https</Port>", "Port is INTEGER"),
    "duplicate-id": (RICH, 'observable-id="ref-1"', 'observable-id="addr-1"', "xs:ID unique"),
    "bad-id-syntax": (RICH, 'observable-id="ev-1"', 'observable-id="1ev"', "xs:ID is an NCName"),
    "dangling-idref": (RICH, '<ObservableReference uid-ref="addr-1"/>\n          <Confidence', '<ObservableReference uid-ref="nowhere"/>\n          <Confidence', "IDREF must resolve"),
    "assessment-without-impact": (RICH, '<TimeImpact metric="elapsed" duration="hour">3.5</TimeImpact>', "", "placeholder"),
    "confidence-not-real": (RICH, '<Confidence rating="high">1</Confidence>', '<Confidence rating="high">high</Confidence>', "Confidence content is REAL"),
    "counter-missing-unit": (RICH, '<Counter type="count" unit="host">', '<Counter type="count">', "Counter@unit required"),
    "indicatorid-missing-version": (RICH, '<IndicatorID name="csirt.example.com" version="1">ind-2', '<IndicatorID name="csirt.example.com">ind-2', "IndicatorID@version required"),
    "additionaldata-missing-dtype": (RICH, '<AdditionalData dtype="integer" name="count">', '<AdditionalData name="count">', "ExtensionType@dtype required"),
    "bad-address-category": (RICH, 'category="ipv4-addr" observable-id="addr-1"', 'category="ipv4" observable-id="addr-1"', "Address@category enumeration"),
    "indicatorreference-both": (RICH, '<IndicatorReference uid-ref="ind-1"/>', '<IndicatorReference uid-ref="ind-1" euid-ref="x"/>', "xs:key uidrefKey: one of uid-ref/euid-ref"),
    "indicatorreference-neither": (RICH, '<IndicatorReference uid-ref="ind-1"/>', '<IndicatorReference version="1"/>', "xs:key uidrefKey: one of uid-ref/euid-ref"),
    "monetary-negative": (RICH, '<MonetaryImpact currency="EUR">1200</MonetaryImpact>', '<MonetaryImpact currency="EUR">-5</MonetaryImpact>', "PositiveFloatType"),
    "timeimpact-zero": (RICH, '<TimeImpact metric="elapsed" duration="hour">3.5</TimeImpact>', '<TimeImpact metric="elapsed" duration="hour">0</TimeImpact>', "PositiveFloatType minExclusive 0"),
    "empty-node": (RICH, '<Node>\n            <Address category="ipv4-addr" observable-id="addr-1">192.0.2.10</Address>\n            <Location>Somewhere</Location>\n          </Node>', '<Node/>', "Node needs DomainData or Address"),
    "historyitem-missing-datetime": (RICH, "<DateTime>2026-11-21T08:00:00Z</DateTime>", "", "HistoryItem requires DateTime"),
    "indicator-two-observables": (RICH, '<ObservableReference uid-ref="addr-1"/>\n      </Indicator>', '<ObservableReference uid-ref="addr-1"/><ObservableReference uid-ref="addr-1"/>\n      </Indicator>', "Indicator: exactly one of Observable/ObservableReference/..."),
    "referencename-bad-specindex": (RICH, 'specIndex="1"', 'specIndex="one"', "enum:ReferenceName@specIndex is xs:integer"),
    "referencename-missing-id": (RICH, "<enum:ID>CVE-2026-0001</enum:ID>", "", "enum:ReferenceName requires enum:ID"),
    "wrong-namespace-child": (MIN, GT, GT.replace("<GenerationTime>", '<GenerationTime xmlns="urn:example:other">'), "GenerationTime must be in the IODEF namespace"),
    "bad-severity": (RICH, 'severity="high" completion="succeeded"', 'severity="critical" completion="succeeded"', "severity enumeration"),
    "ext-value-enum-with-ext": (RICH, 'action="block-host"', 'action="ext-value" ext-action="quarantine" bogus="1"', "unknown attribute next to ext-value"),
    # RFC 7970 text rules the XSD cannot express (deliberate differences: XSD says valid).
    "rfc-ext-without-ext-value": (MIN, 'purpose="reporting"', 'purpose="reporting" ext-purpose="x"', "RFC 7970 §5.1.1: ext-purpose only with purpose=ext-value"),
    "rfc-ext-value-without-ext": (MIN, 'purpose="reporting"', 'purpose="ext-value"', "RFC 7970 §5.1.1: purpose=ext-value needs ext-purpose"),
    "rfc-empty-contact": (MIN, EMAIL, "", "RFC 7970 §3.9: Contact needs at least one child"),
    "rfc-missing-version": (MIN, ' version="2.00"', "", "RFC 7970 §3.1: version is required"),
    "rfc-private-enum-id-alone": (MIN, 'version="2.00"', 'version="2.00" private-enum-id="7"', "RFC 7970 §3.1: private-enum-id needs private-enum-name"),
    "rfc-businessimpact-without-type": (RICH, ' type="ext-value" ext-type="reputation-loss"/>', "/>", "RFC 7970 §3.12.2: BusinessImpact needs type"),
    "rfc-registryhandle-without-registry": (RICH, '<RegistryHandle registry="ripe">', "<RegistryHandle>", "RFC 7970 §3.9.1: RegistryHandle needs registry"),
    "rfc-domaindata-without-status": (RICH, ' system-status="spoofed" domain-status="assignedAndActive"', "", "RFC 7970 §3.19: DomainData@system-status and @domain-status are required"),
    "rfc-empty-observable": (RICH, '<Observable>\n          <Address category="e-mail">bad@evil.example</Address>\n        </Observable>', "<Observable/>", "RFC 7970 §3.29.3: Observable has exactly one child"),
    "rfc-detectionpattern-application-only": (RICH, "\n        <DetectionConfiguration>alert tcp any any -&gt; any 80</DetectionConfiguration>", "", "RFC 7970 §3.10.1: DetectionPattern needs Description or DetectionConfiguration"),
    "rfc-sci-unknown-attribute": (RICH, 'ContentID="CAPEC-98"/>', 'ContentID="CAPEC-98" ext-StecID="x"/>', "RFC 7203 §4.4: SCI attributes are SpecID, ext-SpecID, ContentID"),
    "rfc-sci-unregistered-specid": (RICH, 'SpecID="private" ext-SpecID="urn:example:capec"', 'SpecID="urn:example:capec"', "RFC 7203 §4.4: SpecID from the IANA SCI table or private"),
    "rfc-sci-without-specid": (RICH, ' SpecID="private" ext-SpecID="urn:example:capec"', "", "RFC 7203 §4.4: SpecID is required"),
    "rfc-empty-threatactor": (RICH, "<Campaign>\n        <CampaignID>C-9</CampaignID>\n      </Campaign>", "<Campaign/>", "RFC 7970 §3.8: Campaign needs a child"),
}


def main():
    out = os.path.join(ROOT, "invalid")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".xml"):
            os.remove(os.path.join(out, f))
    for name, (base, old, new, rule) in sorted(V.items()):
        if name == "assessment-without-impact":
            start = base.index("<SystemImpact")
            end = base.index("<Counter")
            doc = base[:start] + base[end:]
        else:
            if base.count(old) < 1:
                raise SystemExit("%s: pattern not found: %r" % (name, old))
            doc = base.replace(old, new, 1)
        src = "rfc7970-sec7.1-minimal.xml" if base is MIN else "gridlink-rich.xml"
        comment = "<!-- gridlink invalid variant of valid/%s: breaks %s -->" % (src, rule.replace("--", "-"))
        lines = doc.split("\n", 1)
        doc = lines[0] + "\n" + comment + "\n" + lines[1]
        with open(os.path.join(out, name + ".xml"), "w") as fh:
            fh.write(doc)
    print(len(V), "variants")


main()
