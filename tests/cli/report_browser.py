#!/usr/bin/env python3
"""Loads a local HTML page in headless Chromium through the DevTools protocol
(--remote-debugging-pipe: JSON messages ending in NUL on fds 3 and 4) and
reports what a reader would meet: uncaught exceptions, console errors, log
entries of level error (failed loads among them), any request for something
other than the page itself, the DOM's content, and a screenshot, decoded here
(PNG: zlib + scanline filters, standard library only) to tell whether it is
blank.

  report_browser.py PAGE [--png OUT] [--expect-in-dom CSS=MIN ...]
                         [--expect-text TEXT ...] [--expect-errors]

Exit 0 when the expectations hold: by default, no error and a page that is not
blank with the expected elements; with --expect-errors, at least one error
(to prove that the check can fail). Exit 1 otherwise, 2 when the browser
could not be driven."""

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

TIMEOUT_S = 60


class Browser:
    def __init__(self, chromium, profile):
        to_r, to_w = os.pipe()  # we write commands, chromium reads fd 3
        from_r, from_w = os.pipe()  # chromium writes fd 4, we read
        # move the child's ends out of the way of 3 and 4 before dup2
        child_r = fcntl.fcntl(to_r, fcntl.F_DUPFD, 100)
        child_w = fcntl.fcntl(from_w, fcntl.F_DUPFD, 100)
        os.close(to_r)
        os.close(from_w)

        def setup():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        args = [
            chromium, "--headless=new", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--mute-audio", "--hide-scrollbars",
            "--remote-debugging-pipe", "--user-data-dir=" + profile,
            "--window-size=1200,2000", "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        self.log = open(os.path.join(profile, "chromium.log"), "w+")
        # close_fds=False: 3 and 4 made by setup() must survive; every other
        # descriptor of ours is close-on-exec (os.pipe, open)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, preexec_fn=setup, close_fds=False)
        os.close(child_r)
        os.close(child_w)
        self.wfd, self.rfd = to_w, from_r
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + TIMEOUT_S

    def _read_message(self, until):
        while b"\0" not in self.buf:
            left = until - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.rfd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.wfd, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message(self.deadline)
            if m is None:
                raise RuntimeError("no answer to " + method + " in time")
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(method + ": " + json.dumps(m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, seconds):
        """Collects events for up to `seconds`; True once `method` came."""
        until = min(self.deadline, time.monotonic() + seconds)
        if any(e["method"] == method for e in self.events):
            return True
        while True:
            m = self._read_message(until)
            if m is None:
                return False
            if "method" in m:
                self.events.append(m)
                if m["method"] == method:
                    return True

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.wfd)
        os.close(self.rfd)
        self.log.close()


def load(chromium, page):
    """Returns (errors, requests, dom, png bytes)."""
    url = "file://" + os.path.abspath(page)
    profile = tempfile.mkdtemp(prefix="report_browser.")
    b = None
    try:
        b = Browser(chromium, profile)
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sess = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.call(domain + ".enable", session=sess)
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": 1200, "height": 2000, "deviceScaleFactor": 1, "mobile": False},
               session=sess)
        b.events.clear()
        b.call("Page.navigate", {"url": url}, session=sess)
        if not b.wait_event("Page.loadEventFired", TIMEOUT_S / 2):
            raise RuntimeError("the page did not finish loading")
        b.wait_event("never", 0.5)  # late console messages
        dom = b.call("Runtime.evaluate", {
            "expression": "JSON.stringify({title: document.title,"
                          " text: document.body ? document.body.innerText : '',"
                          " html: document.documentElement.outerHTML})",
            "returnByValue": True}, session=sess)["result"]["value"]
        shot = b.call("Page.captureScreenshot", {"format": "png"}, session=sess)
        png = base64.b64decode(shot["data"])
        events = [e for e in b.events if e.get("sessionId") == sess]
    finally:
        if b:
            b.close()
        shutil.rmtree(profile, ignore_errors=True)

    errors, requests = [], []
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            errors.append("exception: " + d.get("exception", {}).get("description", d.get("text", "?")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append("console.%s: %s" % (p["type"], " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            errors.append("log: " + p["entry"].get("text", "?"))
        elif m == "Network.loadingFailed":
            errors.append("load failed: %s" % p.get("errorText", "?"))
        elif m == "Network.requestWillBeSent":
            requests.append(p.get("request", {}).get("url", "?"))
    foreign = [r for r in requests if r != url and not r.startswith("data:")]
    for r in foreign:
        errors.append("request for something else than the page: " + r)
    return errors, requests, json.loads(dom), png


def png_pixels(png):
    """Decodes an 8-bit RGB or RGBA PNG: (width, height, rows of bytes, channels)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind = png[pos + 4:pos + 8]
        data = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG: depth %d colour type %d interlace %d" % (depth, ctype, interlace))
    ch = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * ch
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        # PNG spec §9.2: the five scanline filters
        if f == 1:
            for i in range(ch, stride):
                line[i] = (line[i] + line[i - ch]) & 0xFF
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif f == 3:
            for i in range(stride):
                left = line[i - ch] if i >= ch else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif f == 4:
            for i in range(stride):
                a = line[i - ch] if i >= ch else 0
                b, c = prev[i], prev[i - ch] if i >= ch else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        elif f != 0:
            raise ValueError("bad filter %d" % f)
        rows.append(bytes(line))
        prev = line
    return width, height, rows, ch


def ink(png):
    """Share of non-white pixels, and the number of distinct colours."""
    w, h, rows, ch = png_pixels(png)
    nonwhite, colours = 0, set()
    for row in rows:
        for x in range(0, w * ch, ch):
            px = row[x:x + 3]
            if px != b"\xff\xff\xff":
                nonwhite += 1
                if len(colours) < 100000:
                    colours.add(px)
    return w, h, nonwhite / float(w * h), len(colours)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--png")
    ap.add_argument("--expect-in-dom", action="append", default=[],
                    help="TEXT=MIN: the page's HTML (after parsing) holds TEXT at least MIN times")
    ap.add_argument("--expect-text", action="append", default=[])
    ap.add_argument("--expect-errors", action="store_true")
    a = ap.parse_args()
    try:
        errors, requests, dom, png = load(a.chromium, a.page)
    except Exception as e:  # the browser could not be driven
        print("report_browser: %s" % e, file=sys.stderr)
        return 2
    if a.png:
        with open(a.png, "wb") as f:
            f.write(png)
    w, h, share, colours = ink(png)
    print("report_browser: %s: %d errors, %d requests, screenshot %dx%d, %.1f%% non-white, %d colours"
          % (a.page, len(errors), len(requests), w, h, share * 100, colours))
    for e in errors:
        print("  " + e)
    ok = True
    if a.expect_errors:
        if not errors:
            print("report_browser: FAIL: the page's error was not detected", file=sys.stderr)
            ok = False
        return 0 if ok else 1
    if errors:
        print("report_browser: FAIL: the page has errors", file=sys.stderr)
        ok = False
    if share < 0.01 or colours < 5:
        print("report_browser: FAIL: the screenshot looks blank", file=sys.stderr)
        ok = False
    for spec in a.expect_in_dom:
        text, _, n = spec.rpartition("=")
        found = dom["html"].count(text)
        if found < int(n):
            print("report_browser: FAIL: %r %d times in the DOM, expected at least %s" % (text, found, n),
                  file=sys.stderr)
            ok = False
    for t in a.expect_text:
        if t not in dom["text"] and t != dom["title"]:
            print("report_browser: FAIL: text %r not on the page" % t, file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
