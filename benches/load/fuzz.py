#!/usr/bin/env python3
"""Every server function fed malformed and random input; no 5xx, no panic.

    python3 benches/load/fuzz.py --base http://127.0.0.1:3400 --requests 100000 --clients 8

Needs a running server with the demo data (its database is changed only by
what the random requests manage to do as the demo patient and doctor). It
reads every `#[server(prefix = "/api", endpoint = ...)]` in src/api/*.rs with
its parameter names, then sends --requests requests spread over all of them,
each as anonymous, the demo patient or the demo doctor, by GET or POST, with
a random mix of: the right field names with wrong values (huge strings,
unicode, control characters, negative, overflowing and fractional numbers,
malformed UUIDs and dates, nested `a[b]` keys, repeated keys), missing fields,
unknown fields, bodies that are not form encoding at all, and wrong content
types. It fails (exit 1) on any 5xx answer, on a connection the server
dropped, and if /healthz or /readyz stop answering 200 at the end. It prints
the answers by status and the slowest endpoint.
"""

import argparse
import collections
import http.client
import os
import random
import re
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEMO_PASSWORD = "telehealth-demo-2026"
# Signing out would end the sessions every other request uses: these go anonymously.
SESSION_ENDING = {"sign_out", "sign_out_everywhere"}

SERVER_FN = re.compile(
    r'#\[server\(prefix = "/api", endpoint = "(\w+)"(?P<get>[^\]]*GetUrl)?[^\]]*\)\]\s*'
    r"pub async fn \w+\((?P<params>[^)]*)\)", re.S)

NASTY = [
    "", " ", "\x00", "\u202e\u0645\u0631\u062d\u0628\u0627", "💊🩺" * 50, "Robert'); DROP TABLE users;--",
    "<script>alert(1)</script>", "../../etc/passwd", "%00", "null", "true", "[]", "{}", "NaN", "Infinity",
    "-1", "0", "-0", "1e309", "-9223372036854775809", "9223372036854775808", "18446744073709551616",
    "3.14159", "-0.0001", "1,5", "0x1F", "00000000-0000-0000-0000-000000000000",
    "not-a-uuid", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "2026-02-30", "2026-13-01T25:61:00Z",
    "9999-12-31T23:59:59Z", "0000-01-01", "-292278994-08-17T07:12:55Z", "Mars/Olympus_Mons", "UTC",
    "Europe/London", "video", "chat", "admin", "system", "a" * 70_000, "é" * 5_000, "\r\n\r\nX-Injected: 1",
]


def endpoints():
    found = []
    api = os.path.join(ROOT, "src", "api")
    for name in sorted(os.listdir(api)):
        if not name.endswith(".rs"):
            continue
        with open(os.path.join(api, name)) as f:
            text = f.read()
        for m in SERVER_FN.finditer(text):
            params = [p.split(":")[0].strip() for p in re.split(r",(?![^<]*>)", m.group("params")) if ":" in p]
            found.append((m.group(1), bool(m.group("get")), params))
    return found


def value(rng):
    kind = rng.random()
    if kind < 0.5:
        return rng.choice(NASTY)
    if kind < 0.7:
        return str(rng.randint(-2**70, 2**70))
    if kind < 0.85:
        return "".join(chr(rng.randint(1, 0x10FFFF)) for _ in range(rng.randint(1, 40))).encode(
            "utf-8", "surrogatepass").decode("utf-8", "replace")
    return str(rng.random() * 10 ** rng.randint(-5, 30))


def body_for(rng, params):
    pairs = []
    for p in params:
        r = rng.random()
        if r < 0.15:
            continue  # missing
        key = p if r < 0.85 else f"{p}[{rng.choice(['0', 'x', ''])}]"
        pairs.append((key, value(rng)))
        if rng.random() < 0.05:
            pairs.append((key, value(rng)))  # repeated
    if rng.random() < 0.2:
        pairs.append((rng.choice(["extra", "role", "is_verified", "user_id", ""]), value(rng)))
    return urllib.parse.urlencode(pairs, encoding="utf-8", errors="replace")


class Worker(threading.Thread):
    def __init__(self, args, targets, sessions, count, seed, results):
        super().__init__(daemon=True)
        self.args, self.targets, self.sessions, self.count = args, targets, sessions, count
        self.rng = random.Random(seed)
        self.results = results
        url = urllib.parse.urlparse(args.base)
        self.host, self.port = url.hostname, url.port or 80
        self.conn = None

    def send(self, method, path, body, headers):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                res = self.conn.getresponse()
                res.read()
                if res.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return res.status
            except (http.client.HTTPException, OSError) as e:
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    return f"dropped: {type(e).__name__}"
        return "dropped"

    def run(self):
        rng = self.rng
        for _ in range(self.count):
            endpoint, is_get, params = rng.choice(self.targets)
            who = rng.choice(list(self.sessions))
            if endpoint in SESSION_ENDING:
                who = "anonymous"
            headers = {"Accept": rng.choice(["application/json", "*/*", "text/html"])}
            if self.sessions[who]:
                headers["Cookie"] = self.sessions[who]
            body = body_for(rng, params)
            shape = rng.random()
            if shape < 0.05:
                body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2000)))
            elif shape < 0.08:
                body = '{"' + "\":{\"".join(params) + '": [1, "x", null]}'
            method = ("GET" if is_get else "POST") if rng.random() < 0.9 else rng.choice(["GET", "POST", "PUT"])
            path = f"/api/{endpoint}"
            if method == "GET":
                raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
                # What a browser would send: anything outside a query string's characters escaped.
                path += "?" + urllib.parse.quote_from_bytes(raw, safe="=&%+[]")
                body = None
            else:
                headers["Content-Type"] = rng.choice(["application/x-www-form-urlencoded"] * 8 + [
                    "application/json", "text/plain", "multipart/form-data; boundary=x"])
            t0 = time.perf_counter()
            status = self.send(method, path, body, headers)
            elapsed = time.perf_counter() - t0
            shown = body if isinstance(body, str) else repr(body)
            self.results.append((endpoint, who, method, status, elapsed, f"{path[:200]} {(shown or '')[:300]}"))


def sign_in(base, email):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
    conn.request("POST", "/api/sign_in", body=urllib.parse.urlencode({"email": email, "password": DEMO_PASSWORD}),
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    res = conn.getresponse()
    res.read()
    assert res.status == 200, (email, res.status)
    cookies = [h.split(";", 1)[0] for k, h in res.getheaders() if k.lower() == "set-cookie"]
    return "; ".join(cookies)


def healthy(base):
    url = urllib.parse.urlparse(base)
    for path in ("/healthz", "/readyz"):
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
        conn.request("GET", path)
        if conn.getresponse().status != 200:
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:3400")
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()

    targets = endpoints()
    assert len(targets) > 50, f"found only {len(targets)} server functions"
    sessions = {"anonymous": "", "patient": sign_in(args.base, "patient1@example.com"),
                "doctor": sign_in(args.base, "dr.amara.okafor@example.com")}
    results = []
    per = args.requests // args.clients
    workers = [Worker(args, targets, sessions, per, args.seed + i, results) for i in range(args.clients)]
    t0 = time.time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    secs = time.time() - t0

    by_status = collections.Counter(str(r[3]) for r in results)
    bad = [r for r in results if not isinstance(r[3], int) or r[3] >= 500]
    slowest = collections.defaultdict(float)
    for r in results:
        slowest[r[0]] = max(slowest[r[0]], r[4])
    worst = max(slowest.items(), key=lambda kv: kv[1])
    print(f"{len(results)} requests to {len(targets)} server functions in {secs:.1f} s "
          f"({len(results) / secs:.0f} req/s, {args.clients} clients)")
    print("answers by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items())))
    print(f"slowest answer: {worst[0]} in {worst[1] * 1000:.0f} ms")
    ok = healthy(args.base)
    print(f"server healthy afterwards (/healthz and /readyz 200): {ok}")
    for r in bad[:20]:
        print(f"FAIL {r[3]} {r[2]} {r[5]} as {r[1]}")
    if bad or not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
