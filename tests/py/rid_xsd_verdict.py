#!/usr/bin/env python3
"""XSD oracle for gridlink's RID agreement test.

Usage: rid_xsd_verdict.py RID_SCHEMA_DIR IODEF_SCHEMA_DIR FILE...
Prints one JSON object per line: {"file": ..., "valid": bool, "reason": str}.
Validates against the RFC 6545 §8 schema. Its two imports are wrapped across lines in the RFC (and would
point at the network anyway), so they are mapped to local copies: IODEF v1 = RFC 5070 §8, xmldsig = the
W3C schema of tests/fixtures/iodef/schemas. The IODEF v2 schema (errata-corrected, with its imports) is
loaded too, so that an IODEF v2 document inside XMLDocument's lax wildcard is validated as well.
Never touches the network; instance schemaLocation hints are ignored.
"""
import json
import os
import sys

try:
    import xmlschema
except ImportError:
    sys.stderr.write("python module 'xmlschema' is missing: pip install -r tests/requirements.txt\n")
    sys.exit(3)


def load(rid_dir, iodef_dir):
    locs = [
        ("urn:ietf:params:xml:ns:iodef-1.0", os.path.join(rid_dir, "rfc5070-iodef-1.0.xsd")),
        ("http://www.w3.org/2000/09/xmldsig#", os.path.join(iodef_dir, "xmldsig-core-schema.xsd")),
        ("urn:ietf:params:xml:ns:iodef-enum-1.0", os.path.join(iodef_dir, "rfc7495-sec5-iodef-enum-1.0.xsd")),
        ("urn:ietf:params:xml:ns:iodef-sci-1.0", os.path.join(iodef_dir, "iodef-sci-1.0-stub.xsd")),
        ("http://www.w3.org/XML/1998/namespace", os.path.join(iodef_dir, "xml.xsd")),
    ]
    schema = xmlschema.XMLSchema(os.path.join(rid_dir, "rfc6545-rid-1.0.xsd"), locations=locs,
                                 allow="local", defuse="always", build=False)
    schema.import_schema("urn:ietf:params:xml:ns:iodef-2.0",
                         os.path.join(iodef_dir, "iodef-2.0.milewg-errata-corrected.xsd"))
    schema.build()
    return schema


def main():
    schema = load(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
    for f in sys.argv[3:]:
        try:
            errs = list(schema.iter_errors(f, use_location_hints=False))
            reasons = ["%s: %s" % (getattr(e, "path", ""), e.reason) for e in errs]
            out = {"file": f, "valid": not errs, "reason": reasons[0] if reasons else "", "errors": reasons}
        except Exception as e:  # not well-formed, etc.
            out = {"file": f, "valid": False, "reason": "error: %s" % e}
        print(json.dumps(out))


if __name__ == "__main__":
    main()
