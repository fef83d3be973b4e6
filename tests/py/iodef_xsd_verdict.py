#!/usr/bin/env python3
"""XSD oracle for gridlink's IODEF agreement tests.

Usage: iodef_xsd_verdict.py SCHEMA_DIR FILE...
Prints one JSON object per line: {"file": ..., "valid": bool, "reason": str}.
Validates against the errata-corrected IODEF v2 XSD (fixtures copy) with every import mapped to a local
copy (xmldsig, xml.xsd, RFC 7495 enum, a stub for RFC 7203 SCI). Never touches the network.
"""
import json
import os
import sys

try:
    import xmlschema
except ImportError:
    sys.stderr.write("python module 'xmlschema' is missing: pip install -r tests/requirements.txt\n")
    sys.exit(3)


def load(schema_dir, main="iodef-2.0.milewg-errata-corrected.xsd"):
    locs = [
        ("http://www.w3.org/2000/09/xmldsig#", os.path.join(schema_dir, "xmldsig-core-schema.xsd")),
        ("urn:ietf:params:xml:ns:iodef-enum-1.0", os.path.join(schema_dir, "rfc7495-sec5-iodef-enum-1.0.xsd")),
        ("urn:ietf:params:xml:ns:iodef-sci-1.0", os.path.join(schema_dir, "iodef-sci-1.0-stub.xsd")),
        ("http://www.w3.org/XML/1998/namespace", os.path.join(schema_dir, "xml.xsd")),
    ]
    return xmlschema.XMLSchema(os.path.join(schema_dir, main), locations=locs, allow="local",
                               defuse="always")


def main():
    schema = load(os.path.abspath(sys.argv[1]))
    for f in sys.argv[2:]:
        try:
            errs = list(schema.iter_errors(f))
            reasons = ["%s: %s" % (getattr(e, "path", ""), e.reason) for e in errs]
            out = {"file": f, "valid": not errs, "reason": reasons[0] if reasons else "", "errors": reasons}
        except Exception as e:  # not well-formed, etc.
            out = {"file": f, "valid": False, "reason": "error: %s" % e}
        print(json.dumps(out))


if __name__ == "__main__":
    main()
