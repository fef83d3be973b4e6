"""The analyst's web pages in a real browser (issue 27), driven by tests/web.rs.

Headless Debian chromium through chromedriver (selenium), no sandbox, no
background networking. The Rust test has published the documents below to
the grid; this script browses the pages, checks what they show, saves a
screenshot of each, and for the live view asks the test (a line
`PUBLISH <n>` on stdout, answered by a line on stdin) to publish a new
incident while the page is open. Any failed check raises: exit code 1 with
the reason on stderr.

Every page load also checks: no console error (the browser log at SEVERE),
and the XSS canaries untouched — the hostile document's payloads set
`window.__xss` or the title if they ever run, and an `alert` replaced
before any page script sets `window.__xss` too.
"""

import argparse
import json
import os
import sys
import time
import urllib.parse

import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CANARY = """
window.alert = window.confirm = window.prompt = function () { window.__xss = 'dialog'; };
"""


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--window-size=1280,900",
    ]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    d = webdriver.Chrome(service=service, options=opts)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CANARY})
    d.set_page_load_timeout(15)
    return d


class Check:
    def __init__(self, base, out):
        self.base = base.rstrip("/")
        self.out = out
        self.d = browser()
        self.shots = []

    def url(self, path):
        return self.base + path

    def load(self, path, shot=None):
        self.d.get(self.url(path))
        WebDriverWait(self.d, 10).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
        self.clean(path)
        if shot:
            self.shot(shot)

    def shot(self, name):
        path = os.path.join(self.out, name + ".png")
        self.d.save_screenshot(path)
        self.shots.append(path)

    def clean(self, where):
        """No console errors, no script of a document ran."""
        errors = [e for e in self.d.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, f"{where}: console errors {errors}"
        xss = self.d.execute_script("return window.__xss")
        assert xss is None, f"{where}: a payload ran (window.__xss = {xss!r})"
        title = self.d.title
        # The payloads set the title to exactly 'pwned'; the page's own
        # title may quote them as text.
        assert title != "pwned" and title.endswith(" · gridlink"), f"{where}: title {title!r}"

    def text(self, css="body"):
        return self.d.find_element(By.CSS_SELECTOR, css).text

    def incident_ids(self):
        return sorted(a.text for a in self.d.find_elements(By.CSS_SELECTOR, "#incidents a.incident"))

    def topic(self, **query):
        q = urllib.parse.urlencode(query)
        self.load(f"/web/topics/incidents?{q}" if q else "/web/topics/incidents")
        return self.incident_ids()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--expect", required=True, help="JSON: the published incidents")
    a = ap.parse_args()
    expect = json.loads(a.expect)
    c = Check(a.base, a.out)
    try:
        run(c, expect)
    finally:
        c.d.quit()
    print(json.dumps({"screenshots": c.shots}), flush=True)
    print("DONE", flush=True)


def run(c, expect):
    ids = sorted(expect["ids"])
    xss_id = expect["xss_id"]

    # The index: topics, counts, sparkline, health.
    c.load("/", "index")
    row = c.d.find_element(By.CSS_SELECTOR, "#topics tbody tr")
    cells = row.find_elements(By.TAG_NAME, "td")
    assert cells[0].text == "incidents", cells[0].text
    assert cells[1].text == str(len(ids)), f"items {cells[1].text} != {len(ids)}"
    spark = row.find_element(By.CSS_SELECTOR, "svg.spark")
    title = spark.find_element(By.TAG_NAME, "title").get_attribute("textContent")
    assert title.startswith(f"{len(ids)} arrivals"), title
    health = c.text("#health")
    assert "XMPP session ok online" in health, health
    assert "publish outbox" in health and "grid follow" in health, health

    # The topic page: everything, newest first; then filters and search.
    assert c.topic() == ids, c.incident_ids()
    c.shot("topic")
    assert c.topic(purpose="watch") == [expect["watch"]]
    assert c.topic(restriction="green") == [expect["green"]]
    assert c.topic(purpose="mitigation", restriction="amber") == []
    assert "No incidents match" in c.text("#none")
    assert c.topic(q=expect["address"]) == [expect["green"]], "by address"
    assert c.topic(q=expect["domain"], **{"in": "value"}) == [expect["watch"]], "by domain"
    assert c.topic(q=expect["hash"], **{"in": "value"}) == [expect["hash_id"]], "by hash"
    assert c.topic(q=expect["hash_id"], **{"in": "id"}) == [expect["hash_id"]], "by IncidentID"
    assert c.topic(q="sinkhole", **{"in": "text"}) == [expect["green"]], "by text"
    assert c.topic(q="sinkhole", **{"in": "id"}) == [], "text is not an IncidentID"
    assert c.topic(since="2000-01-01T00:00") == ids, "since long ago"
    assert c.topic(since="2999-01-01T00:00") == [], "since the future"
    assert c.topic(until="2000-01-01T00:00") == [], "until long ago"
    # The same search through the form, as an analyst types it.
    c.load("/web/topics/incidents")
    box = c.d.find_element(By.ID, "q")
    box.send_keys(expect["domain"])
    c.d.find_element(By.ID, "apply").click()
    WebDriverWait(c.d, 10).until(lambda d: "q=" in d.current_url)
    c.clean("search form")
    assert c.incident_ids() == [expect["watch"]], c.incident_ids()
    c.shot("search")

    # An incident page, reached by its link; its machine-readable forms.
    c.load("/web/topics/incidents")
    c.d.find_element(By.LINK_TEXT, expect["green"]).click()
    WebDriverWait(c.d, 10).until(lambda d: "/items/" in d.current_url)
    c.clean("incident page")
    assert c.text("#incident-id") == expect["green"]
    body = c.text()
    for want in ["mitigation", "green", expect["address"], "sinkhole", "Indicators", "Contacts", "Systems"]:
        assert want in body, f"incident page lacks {want!r}"
    c.shot("incident")
    for link, media in [("xml", "xml"), ("json", "json"), ("entry", "atom")]:
        href = c.d.find_element(By.ID, link).get_attribute("href")
        r = requests.get(href, timeout=10)
        assert r.status_code == 200 and media in r.headers["content-type"], (link, r.status_code, r.headers)

    # The hostile incident: every payload shown as text, none run.
    c.load("/web/topics/incidents")
    c.d.find_element(By.PARTIAL_LINK_TEXT, "XSS-1").click()
    WebDriverWait(c.d, 10).until(lambda d: "/items/" in d.current_url)
    time.sleep(0.3)  # give an event handler or a delayed load its chance
    c.clean("hostile incident page")
    assert c.text("#incident-id") == xss_id, c.text("#incident-id")
    body = c.text()
    for p in expect["payloads"]:
        assert p in body, f"payload not shown as text: {p!r}"
    scripts = c.d.find_elements(By.TAG_NAME, "script")
    assert scripts == [], "a script element on the incident page"
    hrefs = [a.get_attribute("href") or "" for a in c.d.find_elements(By.TAG_NAME, "a")]
    assert not [h for h in hrefs if not h.startswith(c.base)], f"foreign links {hrefs}"
    handlers = c.d.execute_script(
        "return Array.from(document.querySelectorAll('*')).flatMap(e => "
        "Array.from(e.attributes).filter(a => a.name.startsWith('on')).map(a => a.name))"
    )
    assert handlers == [], f"event-handler attributes {handlers}"
    # Hovering and focusing everything gives an injected handler every chance.
    c.d.execute_script(
        "document.querySelectorAll('*').forEach(e => { e.dispatchEvent(new MouseEvent('mouseover')); "
        "if (e.focus) e.focus(); });"
    )
    c.clean("hostile incident page after hover")
    c.shot("incident-hostile")

    # The live view: a new incident published to the grid appears within 2 s.
    c.load("/web/live")
    WebDriverWait(c.d, 10).until(lambda d: d.find_element(By.ID, "live-state").text == "connected")
    before = len(c.d.find_elements(By.CSS_SELECTOR, "#live-rows tr"))
    live_id = expect["live_id"]
    start = time.monotonic()
    print("PUBLISH 1", flush=True)
    answer = sys.stdin.readline().strip()
    assert answer == "published", answer
    published = time.monotonic()
    WebDriverWait(c.d, 10, poll_frequency=0.05).until(
        lambda d: live_id in d.find_element(By.ID, "live-rows").text
    )
    seen = time.monotonic()
    print(json.dumps({"live_publish_s": round(published - start, 3), "live_seen_after_publish_s": round(seen - published, 3)}), flush=True)
    assert seen - published <= 2.0, f"live row after {seen - published:.2f} s"
    rows = c.d.find_elements(By.CSS_SELECTOR, "#live-rows tr")
    assert len(rows) == before + 1, f"{len(rows)} rows, was {before}"
    assert live_id in rows[0].text, rows[0].text
    # Its description is a payload too: text, not markup.
    assert expect["payloads"][0] in rows[0].text, rows[0].text
    time.sleep(0.3)
    c.clean("live view")
    c.shot("live")
    # A small one, as README shows it (docs/web-live.png).
    c.d.set_window_size(1100, 560)
    c.shot("live-small")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"web_browser.py: check failed: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
