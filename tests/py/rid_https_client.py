#!/usr/bin/env python3
"""An independent RID over HTTPS (RFC 6546) client for gridlink's tests: Python `requests` with a client
certificate, every answer that carries a body validated against the RFC 6545 schema with xmlschema.

Usage: rid_https_client.py URL CERT KEY CA RID_SCHEMA_DIR IODEF_SCHEMA_DIR < requests.jsonl
Each input line: {"name", "method" (POST), "path" ("/"), "content_type" ("text/xml"), "body" | "body_file",
"repeat_body" (int, to make a large body), "chunked" (true: Transfer-Encoding: chunked), "cert" (true: present the client certificate)}.
Each output line: {"name", "status", "content_type", "token", "body", "xsd_valid", "xsd_reason", "msg_type",
"authorization"} or {"name", "error"} when the connection failed (e.g. TLS refused it).
"""
import json
import os
import sys

try:
    import requests
    import xmlschema  # noqa: F401 (rid_xsd_verdict imports it too)
except ImportError as e:
    sys.stderr.write("python module missing (%s): pip install -r tests/requirements.txt\n" % e)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rid_xsd_verdict import load  # noqa: E402

NS = "{urn:ietf:params:xml:ns:iodef-rid-2.0}"


def main():
    url, cert, key, ca, rid_dir, iodef_dir = sys.argv[1:7]
    schema = load(os.path.abspath(rid_dir), os.path.abspath(iodef_dir))
    for line in sys.stdin:
        if not line.strip():
            continue
        r = json.loads(line)
        body = r.get("body")
        if "body_file" in r:
            body = open(r["body_file"], "rb").read()
        if isinstance(body, str):
            body = body.encode()
        body = (body or b"") * r.get("repeat_body", 1)
        out = {"name": r["name"]}
        if r.get("chunked"):
            # A generator body: requests sends it with Transfer-Encoding: chunked.
            body = iter([body[:len(body) // 2], body[len(body) // 2:]])
        try:
            # A connection per request: after a refusal (413 before the body was read) the server
            # closes the connection, and a pooled one would fail the next request.
            with requests.Session() as s:
                resp = s.request(r.get("method", "POST"), url.rstrip("/") + r.get("path", "/"), data=body,
                                 headers={"Content-Type": r.get("content_type", "text/xml")},
                                 cert=(cert, key) if r.get("cert", True) else None, verify=ca, timeout=60,
                                 allow_redirects=False)
        except requests.exceptions.RequestException as e:
            out["error"] = "%s: %s" % (type(e).__name__, e)
            print(json.dumps(out), flush=True)
            continue
        out.update(status=resp.status_code, content_type=resp.headers.get("Content-Type", ""),
                   token=resp.headers.get("RID-Callback-Token"), body=resp.text)
        if resp.status_code == 200 and resp.content.strip():
            errs = list(schema.iter_errors(resp.content.decode("utf-8"), use_location_hints=False))
            out["xsd_valid"] = not errs
            out["xsd_reason"] = str(errs[0].reason) if errs else ""
            data = schema.to_dict(resp.content.decode("utf-8"), validation="skip")
            policy = data.get("iodef-rid:RIDPolicy") or data.get("RIDPolicy") or {}
            out["msg_type"] = policy.get("@MsgType")
            status = data.get("iodef-rid:RequestStatus") or data.get("RequestStatus") or {}
            out["authorization"] = status.get("@AuthorizationStatus")
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
