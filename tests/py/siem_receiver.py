#!/usr/bin/env python3
"""An HTTP receiver for gridlink's HTTP sinks (tests/siem_sinks.rs).

Speaks three dialects on one port:
  POST /json                      a JSON array of events (any 4xx refuses all)
  POST /services/collector/event  Splunk HEC: concatenated event objects;
                                  "Authorization: Splunk TOKEN"; an event whose
                                  item id contains "bad" is refused with HEC's
                                  {"text":..,"code":6,"invalid-event-number":N},
                                  the events before it are indexed (as HEC does)
  POST /_bulk                     Elasticsearch bulk NDJSON; per-item answers:
                                  400 mapper_parsing_exception for "bad" ids,
                                  429 the first time an id containing "busy" is seen
Every accepted event is appended to --log as {"ep":..,"id":..,"kind":..}.
The first --fail-first requests of each endpoint are answered 503.
Prints "listening PORT" once ready.
"""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTS = {}
SEEN_BUSY = set()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--fail-first", type=int, default=0)
    args = ap.parse_args()
    log = open(args.log, "a", encoding="utf-8")

    def record(ep, ev, extra=None):
        line = {"ep": ep, "id": ev.get("item_id"), "kind": ev.get("kind")}
        if extra:
            line.update(extra)
        log.write(json.dumps(line) + "\n")

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8")
            ep = self.path.split("?")[0]
            with LOCK:
                COUNTS[ep] = COUNTS.get(ep, 0) + 1
                if COUNTS[ep] <= args.fail_first:
                    return self.answer(503, {"text": "Server is busy", "code": 9})
                try:
                    if ep == "/json":
                        return self.json_array(body)
                    if ep == "/services/collector/event":
                        return self.hec(body)
                    if ep == "/_bulk":
                        return self.bulk(body)
                finally:
                    log.flush()
            self.answer(404, {"error": "no such endpoint"})

        def json_array(self, body):
            events = json.loads(body)
            if any("bad" in (e.get("item_id") or "") for e in events):
                return self.answer(400, {"error": "refused: bad event"})
            for e in events:
                record("json", e)
            self.answer(200, {"accepted": len(events)})

        def hec(self, body):
            if self.headers.get("Authorization") != "Splunk " + args.token:
                return self.answer(401, {"text": "Invalid authorization", "code": 3})
            dec = json.JSONDecoder()
            i, k = 0, 0
            events = []
            while i < len(body):
                while i < len(body) and body[i].isspace():
                    i += 1
                if i >= len(body):
                    break
                obj, i = dec.raw_decode(body, i)
                events.append(obj)
            for k, obj in enumerate(events):
                ev = obj.get("event", {})
                if "bad" in (ev.get("item_id") or ""):
                    return self.answer(400, {"text": "Invalid data format", "code": 6,
                                             "invalid-event-number": k})
                record("hec", ev, {"sourcetype": obj.get("sourcetype")})
            self.answer(200, {"text": "Success", "code": 0})

        def bulk(self, body):
            lines = [l for l in body.split("\n") if l.strip()]
            items, errors, i = [], False, 0
            while i < len(lines):
                action = json.loads(lines[i])
                (op, meta), = action.items()
                i += 1
                _id = meta.get("_id")
                if op == "delete":
                    items.append({"delete": {"_id": _id, "status": 200}})
                    record("bulk", {"item_id": _id, "kind": "delete"})
                    continue
                doc = json.loads(lines[i])
                i += 1
                iid = doc.get("item_id") or ""
                if "bad" in iid:
                    errors = True
                    items.append({op: {"_id": _id, "status": 400, "error": {
                        "type": "mapper_parsing_exception", "reason": "failed to parse"}}})
                elif "busy" in iid and iid not in SEEN_BUSY:
                    SEEN_BUSY.add(iid)
                    errors = True
                    items.append({op: {"_id": _id, "status": 429, "error": {
                        "type": "es_rejected_execution_exception", "reason": "queue full"}}})
                else:
                    record("bulk", doc, {"_id": _id})
                    items.append({op: {"_id": _id, "status": 201}})
            self.answer(200, {"took": 1, "errors": errors, "items": items})

    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), H)
    print("listening", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
