#!/usr/bin/env python3
"""The OASIS taxii2-client against gridlink's TAXII 2.1 server (issue 26).

read URL USER PASSWORD --alias TOPIC --per-page N --out FILE [--added-after T]
    Discovers the server, lists the API root's collections, pages every object of the
    collection whose alias is TOPIC with as_pages (limit + next), and again from
    --added-after if given; writes the objects as one bundle to FILE (for stix2-validator)
    and prints one JSON summary line.
add URL USER PASSWORD --alias TOPIC BUNDLE
    Adds the objects of BUNDLE (a JSON list or a bundle) to the collection and waits for
    the status to complete; prints the status as one JSON line.
"""
import argparse
import json
import sys

from taxii2client.v21 import Server, as_pages


def collection(server, alias):
    root = server.default or server.api_roots[0]
    for c in root.collections:
        if c._raw.get("alias") == alias:
            return root, c
    raise SystemExit(f"no collection {alias!r} in {[c.title for c in root.collections]}")


def read(a, server):
    root, col = collection(server, a.alias)
    summary = {
        "title": server.title,
        "api_roots": len(server.api_roots),
        "versions": root.versions,
        "collections": [
            {"id": c.id, "alias": c._raw.get("alias"), "can_read": c.can_read, "can_write": c.can_write}
            for c in root.collections
        ],
    }
    ids, pages, objects = [], 0, []
    for env in as_pages(col.get_objects, per_request=a.per_page):
        pages += 1
        for o in env.get("objects", []):
            ids.append(o["id"])
            objects.append(o)
    summary["pages"] = pages
    summary["ids"] = ids
    summary["types"] = sorted({o["type"] for o in objects})
    if a.added_after:
        after = []
        for env in as_pages(col.get_objects, per_request=a.per_page, added_after=a.added_after):
            after += [o["id"] for o in env.get("objects", [])]
        summary["after_ids"] = after
    summary["manifest"] = len(col.get_manifest().get("objects", []))
    first = objects[0]["id"] if objects else None
    if first:
        summary["by_id"] = [o["id"] for o in col.get_object(first).get("objects", [])]
        summary["versions_of_first"] = col.object_versions(first).get("versions", [])
    # Unique ids: shared objects (identities, markings) repeat across items.
    unique = {}
    for o in objects:
        unique[(o["id"], o.get("modified", o.get("created")))] = o
    with open(a.out, "w") as f:
        json.dump({"type": "bundle", "id": "bundle--0b5e4d4c-4a7e-4b0a-9d21-3f1b6f0a9c11",
                   "objects": list(unique.values())}, f)
    print(json.dumps(summary))


def add(a, server):
    _, col = collection(server, a.alias)
    with open(a.bundle) as f:
        data = json.load(f)
    objects = data["objects"] if isinstance(data, dict) else data
    status = col.add_objects({"objects": objects}, wait_for_completion=True, poll_interval=0.5, timeout=60)
    print(json.dumps(status._raw))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["read", "add"])
    p.add_argument("url")
    p.add_argument("user")
    p.add_argument("password")
    p.add_argument("--alias", default="incidents")
    p.add_argument("--per-page", type=int, default=7)
    p.add_argument("--out")
    p.add_argument("--added-after")
    p.add_argument("bundle", nargs="?")
    a = p.parse_args()
    server = Server(a.url, user=a.user, password=a.password)
    (read if a.mode == "read" else add)(a, server)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a clear line for the Rust test's assertion message
        print(f"taxii_client: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
