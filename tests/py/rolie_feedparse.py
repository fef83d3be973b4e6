"""Parse one Atom document with feedparser (an independent Atom reader) and
print what the Rust tests check, as JSON. Used by tests/rolie_support."""
import json
import sys

import feedparser

d = feedparser.parse(sys.argv[1])
print(json.dumps({
    "bozo": int(d.bozo),
    "bozo_exception": str(d.get("bozo_exception", "")),
    "version": d.version,
    "feed": {
        "id": d.feed.get("id"),
        "title": d.feed.get("title"),
        "updated": d.feed.get("updated"),
        "links": [{"rel": l.get("rel"), "href": l.get("href")} for l in d.feed.get("links", [])],
        "tags": [{"scheme": t.get("scheme"), "term": t.get("term")} for t in d.feed.get("tags", [])],
    },
    "entries": [{
        "id": e.get("id"),
        "title": e.get("title"),
        "summary": e.get("summary"),
        "updated": e.get("updated"),
        "author": e.get("author"),
        "links": [{"rel": l.get("rel"), "href": l.get("href"), "type": l.get("type")} for l in e.get("links", [])],
        "tags": [{"scheme": t.get("scheme"), "term": t.get("term")} for t in e.get("tags", [])],
        "content": [{"type": c.get("type"), "src": c.get("src")} for c in e.get("content", [])],
    } for e in d.entries],
}))
