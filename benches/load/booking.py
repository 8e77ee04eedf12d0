#!/usr/bin/env python3
"""Booking throughput against the database's own write limit, in one run.

    python3 benches/load/booking.py --base http://127.0.0.1:3300 \
        --db postgres://postgres@127.0.0.1:55432/telehealth_e2e --clients 16 --bookings 800

Needs a running server with the demo data (bash .ci/start, or the server
.ci/run starts) and psql/pgbench on PATH. It makes one patient per booking
(copies of one signed-up account, email confirmed), signs them in, collects
free times of every listed doctor, then books them from --clients threads at
once and reports requests per second and p50/p95/p99. Then it runs
`pgbench -b tpcb-like` at the same concurrency on a scratch database of the
same cluster and prints the ratio (the goal is at least 0.5).
"""

import argparse
import http.client
import json
import random
import re
import statistics
import subprocess
import threading
import time
import urllib.parse
import uuid

PASSWORD = "violet kettle harbour sings"


def psql(db, sql):
    out = subprocess.run(["psql", db, "-qAtX", "-c", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Client:
    def __init__(self, base):
        url = urllib.parse.urlparse(base)
        self.host, self.port = url.hostname, url.port or 80
        self.cookies = {}

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(body)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        data = res.read()
        for header, value in res.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return res.status, data


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def in_parallel(items, clients, work):
    chunks = [items[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=lambda c=c: [work(x) for x in c]) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:3300")
    ap.add_argument("--db", required=True, help="the app's database (for fixtures)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--bookings", type=int, default=800)
    ap.add_argument("--pgbench-seconds", type=int, default=20)
    args = ap.parse_args()

    # One real account, then copies of it (same password hash), emails confirmed.
    run = uuid.uuid4().hex[:8]
    first = Client(args.base)
    email0 = f"load.{run}.0@example.com"
    status, body = first.request("POST", "/api/sign_up", {
        "email": email0, "password": PASSWORD, "first_name": "Load", "last_name": "Tester",
        "timezone": "UTC", "role": "patient"})
    assert status == 200, (status, body)
    psql(args.db, f"""
        INSERT INTO users (email, password_hash, role, is_email_verified)
        SELECT 'load.{run}.' || g || '@example.com', u.password_hash, 'patient', true
        FROM users u, generate_series(1, {args.bookings - 1}) g WHERE u.email = '{email0}';
        UPDATE users SET is_email_verified = true WHERE email = '{email0}';
        INSERT INTO profiles (user_id, first_name, last_name, timezone)
        SELECT id, 'Load', 'Tester', 'UTC' FROM users WHERE email LIKE 'load.{run}.%' AND id NOT IN
            (SELECT user_id FROM profiles);""")
    patients = [Client(args.base) for _ in range(args.bookings)]
    emails = [f"load.{run}.{i}@example.com" for i in range(args.bookings)]

    def sign_in(i):
        s, b = patients[i].request("POST", "/api/sign_in", {"email": emails[i], "password": PASSWORD})
        assert s == 200, (s, b)

    t0 = time.time()
    in_parallel(list(range(args.bookings)), args.clients, sign_in)
    print(f"signed in {args.bookings} patients in {time.time() - t0:.1f} s")

    # Free times of every listed doctor (two weeks), shuffled.
    doctors, page = [], 1
    while True:
        s, b = first.request("GET", f"/api/search_doctors?page={page}&tz=UTC")
        result = json.loads(b)
        doctors += [d["id"] for d in result["doctors"]]
        if page >= result["pages"]:
            break
        page += 1
    slots = []
    for d in doctors:
        s, b = first.request("GET", f"/api/doctor_details?id={d}&tz=UTC")
        for day in json.loads(b)["days"]:
            slots += [(d, slot["starts_at"]) for slot in day["slots"]]
    random.shuffle(slots)
    assert len(slots) >= args.bookings, f"only {len(slots)} free times for {args.bookings} bookings"
    print(f"{len(doctors)} doctors, {len(slots)} free times")

    latencies, statuses, lock = [], {}, threading.Lock()

    def book(i):
        doctor, start = slots[i]
        t = time.perf_counter()
        s, b = patients[i].request("POST", "/api/book_consultation", {
            "doctor_id": doctor, "starts_at": start, "consultation_type": "video",
            "symptoms": "Load test.", "booking_key": str(uuid.uuid4())})
        elapsed = time.perf_counter() - t
        with lock:
            latencies.append(elapsed)
            statuses[s] = statuses.get(s, 0) + 1

    t0 = time.time()
    in_parallel(list(range(args.bookings)), args.clients, book)
    wall = time.time() - t0
    rps = args.bookings / wall
    ms = lambda x: f"{x * 1000:.1f} ms"
    print(f"booking: {args.bookings} requests, {args.clients} clients, {wall:.1f} s: {rps:.1f} req/s; "
          f"p50 {ms(percentile(latencies, 50))}, p95 {ms(percentile(latencies, 95))}, "
          f"p99 {ms(percentile(latencies, 99))}; statuses {statuses}")

    # The database's own write limit, same cluster, same concurrency.
    admin = re.sub(r"/[^/]*$", "/postgres", args.db)
    scratch = re.sub(r"/[^/]*$", "/bench_pgbench", args.db)
    psql(admin, "DROP DATABASE IF EXISTS bench_pgbench")
    psql(admin, "CREATE DATABASE bench_pgbench")
    subprocess.run(["pgbench", "-q", "-i", "-s", "10", scratch], check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-b", "tpcb-like", "-c", str(args.clients), "-j", "2",
                          "-T", str(args.pgbench_seconds), scratch], check=True, capture_output=True, text=True).stdout
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    psql(admin, "DROP DATABASE IF EXISTS bench_pgbench")
    print(f"pgbench tpcb-like: {tps:.1f} tps at {args.clients} clients")
    print(f"ratio booking/pgbench: {rps / tps:.2f} (goal >= 0.5)")


if __name__ == "__main__":
    main()
