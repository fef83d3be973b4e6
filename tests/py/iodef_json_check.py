#!/usr/bin/env python3
"""JSON Schema oracle for gridlink's RFC 8727 tests.

Usage: iodef_json_check.py SCHEMA.json FILE...
Prints one JSON object per line: {"file": ..., "errors": [messages]}.
Uses Draft4Validator with format checking and WITHOUT meta-schema validation: the RFC 8727 Appendix B
schema contains "required": [] which draft-04's meta-schema rejects (see tests/fixtures/iodef/README.md).
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    sys.stderr.write("python module 'jsonschema' is missing: pip install -r tests/requirements.txt\n")
    sys.exit(3)


def main():
    with open(sys.argv[1]) as fh:
        schema = json.load(fh)
    v = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    for f in sys.argv[2:]:
        with open(f) as fh:
            inst = json.load(fh)
        errs = ["%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message[:300]) for e in v.iter_errors(inst)]
        print(json.dumps({"file": f, "errors": errs}))


if __name__ == "__main__":
    main()
