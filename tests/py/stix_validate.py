#!/usr/bin/env python3
"""Validates STIX 2.1 bundles with the OASIS stix2-validator at its strictest
(--strict --strict-types --strict-properties --enforce-refs: every SHOULD an error).

Usage: stix_validate.py BUNDLE.json...  Prints one JSON object: {file: {"errors": [...],
"warnings": [...]}} and exits 1 if any file has an error or a warning (strict mode turns the
validator's SHOULDs into errors; warnings are counted as failures too).
"""
import json
import sys

from stix2validator import ValidationOptions, validate_file

opts = ValidationOptions(
    version="2.1",
    strict=True,
    strict_types=True,
    strict_properties=True,
    enforce_refs=True,
    # Not interop=True: that profile (the STIX interoperability test rules, not the STIX
    # specification) asks marking-definitions for `modified` and `created_by_ref`, which the
    # OASIS TLP 2.0 objects do not have and STIX 2.1 §7.2.1 does not define.
)

report = {}
bad = False
for path in sys.argv[1:]:
    results = validate_file(path, opts)
    errors, warnings = [], []
    for r in results.object_results:
        errors += [f"{r.object_id}: {e}" for e in r.errors]
        warnings += [f"{r.object_id}: {w}" for w in r.warnings]
    errors += [str(e) for e in (results.fatal and [results.fatal] or [])]
    report[path] = {"errors": errors, "warnings": warnings}
    bad = bad or bool(errors or warnings) or not results.is_valid
print(json.dumps(report, indent=1))
sys.exit(1 if bad else 0)
