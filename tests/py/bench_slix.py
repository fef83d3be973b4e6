"""The slixmpp peer of gridlink-bench: the same publisher/subscriber roles,
arguments and result file as `gridlink-bench worker gl-pub|gl-sub`.

  bench_slix.py pub --port N --ca CA --user U --node NODE --payloads F --window W --rate R --out OUT
  bench_slix.py sub --port N --ca CA --user PREFIX --node NODE --payloads F --out OUT

pub: publishes every item of F (JSON lines {"n","id","xml"}) with W publishes
in flight (W coroutines, each waiting for the broker's answer before its next
publish, as gridlink's window does), optionally paced at R per second. The
payload elements are built before the clock starts (as gridlink prepares its
payloads first).
sub: subscribes PREFIX0's bare JID, prints READY, records each notification.
Both write {"cpu_s": CPU seconds of the measured phase, "times": [[n, t], ...]}
with t = time.time() (publish written / notification received).
"""
import argparse
import asyncio
import json
import logging
import re
import resource
import ssl
import sys
import time
import xml.etree.ElementTree as ET

from slixmpp import ClientXMPP

MARK = re.compile(r"benchitem-(\d+)")


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["pub", "sub"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-port", type=int)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--node", required=True)
    ap.add_argument("--payloads", required=True)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--out", required=True)
    ap.add_argument("--service", default="pubsub.localhost")
    return ap.parse_args()


class Peer(ClientXMPP):
    def __init__(self, a, items):
        user = a.user if a.mode == "pub" else f"{a.user}0"
        super().__init__(f"{user}@localhost", f"{user}-pw")
        self.a = a
        self.items = items
        self.register_plugin("xep_0060")
        self.ssl_context = ssl.create_default_context(cafile=a.ca)
        self.enable_plaintext = False
        self.done = asyncio.get_event_loop().create_future()
        self.times = []
        self.cpu0 = 0.0
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("pubsub_publish", self.on_item)
        self.add_event_handler("failed_auth", lambda _: self.fail("authentication failed"))

    def fail(self, msg):
        if not self.done.done():
            self.done.set_exception(RuntimeError(msg))

    async def start(self, _):
        try:
            self.send_presence()
            if self.a.mode == "pub":
                await self.publish_all()
                self.done.set_result(self.cpu_used)
            else:
                await self.plugin["xep_0060"].subscribe(
                    self.a.service, self.a.node, bare=True, timeout=30
                )
                self.cpu0 = cpu()
                print("READY", flush=True)
        except Exception as e:  # noqa: BLE001 - report anything as a failure
            self.fail(f"{type(e).__name__}: {e}")

    async def publish_all(self):
        elems = [(it["n"], it["id"], ET.fromstring(it["xml"])) for it in self.items]
        pubsub = self.plugin["xep_0060"]
        nxt = 0
        t0 = time.monotonic()
        self.cpu0 = cpu()

        async def lane():
            nonlocal nxt
            while nxt < len(elems):
                i = nxt
                nxt += 1
                if self.a.rate > 0:
                    delay = t0 + i / self.a.rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                n, item_id, el = elems[i]
                t = time.time()
                await pubsub.publish(self.a.service, self.a.node, id=item_id, payload=el, timeout=120)
                self.times.append((n, t))

        await asyncio.gather(*(lane() for _ in range(max(1, self.a.window))))
        self.cpu_used = cpu() - self.cpu0

    def on_item(self, msg):
        t = time.time()
        m = MARK.search(msg["pubsub_event"]["items"]["item"]["id"])
        if m:
            self.times.append((int(m.group(1)), t))
        if len(self.times) >= len(self.items) and not self.done.done():
            self.done.set_result(cpu() - self.cpu0)


async def main():
    logging.basicConfig(level=logging.ERROR)
    a = parse_args()
    with open(a.payloads, encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    peer = Peer(a, items)
    peer.connect("127.0.0.1", a.port)
    try:
        cpu_s = await asyncio.wait_for(peer.done, a.timeout)
    except asyncio.TimeoutError:
        print(f"bench_slix: timed out after {a.timeout}s ({len(peer.times)} items)", file=sys.stderr)
        sys.exit(2)
    except RuntimeError as e:
        print(f"bench_slix: {e}", file=sys.stderr)
        sys.exit(1)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"cpu_s": cpu_s, "times": peer.times}, f)
    peer.disconnect()
    await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main())
