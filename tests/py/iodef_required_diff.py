#!/usr/bin/env python3
"""Members RFC 8727's JSON schema requires that the errata-corrected IODEF
XSD leaves optional (issue 21 item 2).

For every JSON schema definition (a class) with a `required` list, the class
of the same name in the XSD (global element or named complexType) is read:
required attributes (`use="required"`) and the effective minOccurs of each
child element (the product over its enclosing particles; an alternative of a
choice of several is optional). Prints one line per difference:

    CLASS  MEMBER  json=required  xsd=optional|absent

and `minItems` differences for arrays (`json minItems=N xsd minOccurs=M`).
Usage: tests/py/iodef_required_diff.py [JSON_SCHEMA XSD]
"""
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

XS = "{http://www.w3.org/2001/XMLSchema}"
HERE = Path(__file__).resolve().parent.parent / "fixtures" / "iodef" / "schemas"


def local(q):
    return q.split(":")[-1] if q else q


def members(ct, types):
    """(attrs: {name: required}, children: {name: min}) of a complexType."""
    attrs, kids = {}, {}

    def walk(node, factor):
        for c in node:
            tag = c.tag.replace(XS, "")
            mn = int(c.get("minOccurs", "1"))
            if tag == "attribute":
                name = c.get("name") or local(c.get("ref"))
                attrs[name] = c.get("use") == "required"
            elif tag == "element":
                name = c.get("name") or local(c.get("ref"))
                kids[name] = min(kids.get(name, 99), factor * mn)
            elif tag == "sequence":
                walk(c, factor * mn)
            elif tag == "choice":
                alts = [x for x in c if x.tag.replace(XS, "") in ("element", "sequence", "choice")]
                walk(c, factor * mn if len(alts) <= 1 else 0)
            elif tag in ("complexContent", "simpleContent", "all"):
                walk(c, factor)
            elif tag in ("extension", "restriction"):
                base = local(c.get("base"))
                if base in types:
                    a, k = members(types[base], types)
                    attrs.update(a)
                    kids.update(k)
                walk(c, factor)

    walk(ct, 1)
    return attrs, kids


def main(argv):
    js = Path(argv[1]) if len(argv) > 2 else HERE / "rfc8727-appB-iodef-json-schema.unwrapped.json"
    xsd = Path(argv[2]) if len(argv) > 2 else HERE / "iodef-2.0.milewg-errata-corrected.xsd"
    schema = json.loads(js.read_text())
    root = ET.parse(xsd).getroot()
    types = {t.get("name"): t for t in root.findall(XS + "complexType")}
    elements = {}
    for e in root.findall(XS + "element"):
        ct = e.find(XS + "complexType")
        if ct is None and e.get("type") and local(e.get("type")) in types:
            ct = types[local(e.get("type"))]
        if ct is not None:
            elements[e.get("name")] = ct
    defs = dict(schema["definitions"])
    defs["IODEF-Document"] = schema
    found = 0
    for cls, d in sorted(defs.items()):
        if d.get("type") != "object":
            continue
        ct = elements.get(cls, types.get(cls))
        if ct is None:
            print(f"{cls}\t-\tno XSD class of this name")
            continue
        attrs, kids = members(ct, types)
        for m in d.get("required", []):
            if m in attrs:
                if not attrs[m]:
                    print(f"{cls}\t{m}\tjson=required\txsd=optional attribute")
                    found += 1
            elif m in kids:
                if kids[m] == 0:
                    print(f"{cls}\t{m}\tjson=required\txsd=minOccurs 0")
                    found += 1
            else:
                print(f"{cls}\t{m}\tjson=required\txsd=absent")
                found += 1
        for m, p in d.get("properties", {}).items():
            if p.get("type") == "array" and m in kids:
                json_min = p.get("minItems", 0) if m in d.get("required", []) else 0
                if json_min > kids[m]:
                    print(f"{cls}\t{m}\tjson minItems={json_min}\txsd minOccurs={kids[m]}")
                    found += 1
    print(f"# {found} differences", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
