"""Parses Prometheus text exposition on stdin with the reference parser
(prometheus_client) and prints its samples as JSON: a list of
[name, labels, value]. Exits non-zero when the text does not parse."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
json.dump(out, sys.stdout)
