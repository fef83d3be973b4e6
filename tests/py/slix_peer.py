"""An independent XMPP-Grid peer for interop tests, built on slixmpp.

  slix_peer.py publish   --jid J --password P --port N --ca CA --node NODE FILE...
  slix_peer.py subscribe --jid J --password P --port N --ca CA --node NODE --count N
  slix_peer.py publish-raw --jid J --password P --port N --ca CA --node NODE [--item-id ID] FILE

publish: publishes each file's root element (comments and the XML declaration
dropped, as XMPP requires) as one item, prints one JSON line
{"id": ..., "sent": <the XML as slixmpp serialised it>} per file.
subscribe: subscribes the bare JID, prints "READY" once subscribed, then one
JSON line {"id": ..., "xml": ...} per received item, and exits after --count.
publish-raw: writes a publish request whose item payload is FILE's bytes,
verbatim (malformed, DTDs, non-UTF-8, any size: what a hostile client can put
on the wire), and prints one JSON line: {"outcome": "published"} when the
broker accepted it, {"outcome": "error", "condition": ...} when it answered
with an error, {"outcome": "disconnected", "stream_error": ...} when it closed
the stream instead.
Exits non-zero with a message on any failure; never waits forever.
"""
import argparse
import asyncio
import json
import ssl
import sys
import xml.etree.ElementTree as ET

from slixmpp import ClientXMPP
from slixmpp.xmlstream import ET as SET, tostring
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["publish", "subscribe", "publish-raw"])
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--node", required=True)
    ap.add_argument("--service", default="pubsub.localhost")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--item-id", default="hostile")
    ap.add_argument("files", nargs="*")
    return ap.parse_intermixed_args()


class Peer(ClientXMPP):
    def __init__(self, a):
        super().__init__(a.jid, a.password)
        self.a = a
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0060")
        self.ssl_context = ssl.create_default_context(cafile=a.ca)
        self.enable_plaintext = False
        self.done = asyncio.get_event_loop().create_future()
        self.received = 0
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("pubsub_publish", self.on_item)
        self.add_event_handler("failed_auth", lambda _: self.fail("authentication failed"))
        self.stream_error = None
        self.raw_sent = False
        self.add_event_handler("stream_error", self.on_stream_error)
        self.add_event_handler("disconnected", self.on_disconnected)
        self.register_handler(Callback("raw-reply", MatchXPath("{jabber:client}iq"), self.on_iq))

    def outcome(self, **fields):
        if not self.done.done():
            print(json.dumps(fields), flush=True)
            self.done.set_result(True)

    def on_stream_error(self, err):
        self.stream_error = err["condition"] or str(err)

    def on_disconnected(self, _):
        if self.raw_sent:
            self.outcome(outcome="disconnected", stream_error=self.stream_error)

    def on_iq(self, iq):
        if not self.raw_sent or iq["id"] != "gridlink-raw":
            return
        if iq["type"] == "result":
            self.outcome(outcome="published")
        elif iq["type"] == "error":
            self.outcome(outcome="error", condition=iq["error"]["condition"])

    def fail(self, msg):
        if not self.done.done():
            self.done.set_exception(RuntimeError(msg))

    async def start(self, _):
        try:
            self.send_presence()
            if self.a.mode == "publish":
                for f in self.a.files:
                    root = ET.parse(f).getroot()
                    payload = SET.fromstring(ET.tostring(root, encoding="unicode"))
                    res = await self.plugin["xep_0060"].publish(
                        self.a.service, self.a.node, payload=payload, timeout=10
                    )
                    item_id = res["pubsub"]["publish"]["item"]["id"]
                    # What slixmpp really sent: its serialiser drops
                    # namespaced attributes such as xsi:schemaLocation.
                    print(json.dumps({"id": item_id, "sent": tostring(payload)}), flush=True)
                self.done.set_result(True)
            elif self.a.mode == "publish-raw":
                with open(self.a.files[0], "rb") as f:
                    data = f.read()
                head = (
                    f"<iq type='set' id='gridlink-raw' to='{self.a.service}'>"
                    f"<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                    f"<publish node='{self.a.node}'><item id='{self.a.item_id}'>"
                ).encode()
                self.raw_sent = True
                self.send_raw(head + data + b"</item></publish></pubsub></iq>")
            else:
                await self.plugin["xep_0060"].subscribe(
                    self.a.service, self.a.node, bare=True, timeout=10
                )
                print("READY", flush=True)
        except Exception as e:  # noqa: BLE001 - report anything as a failure
            self.fail(f"{type(e).__name__}: {e}")

    def on_item(self, msg):
        item = msg["pubsub_event"]["items"]["item"]
        payload = item.xml.find("*")
        print(json.dumps({"id": item["id"], "xml": ET.tostring(payload, encoding="unicode")}), flush=True)
        self.received += 1
        if self.received >= self.a.count and not self.done.done():
            self.done.set_result(True)


async def main():
    a = parse_args()
    peer = Peer(a)
    peer.connect("127.0.0.1", a.port)
    try:
        await asyncio.wait_for(peer.done, a.timeout)
    except asyncio.TimeoutError:
        print(f"slix_peer: timed out after {a.timeout}s", file=sys.stderr)
        sys.exit(2)
    except RuntimeError as e:
        print(f"slix_peer: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        peer.disconnect()
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main())
