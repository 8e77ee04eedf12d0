#!/usr/bin/env python3
"""Booking throughput against the database's own write limit, in one run.

    python3 benches/load/booking.py --base http://127.0.0.1:3400 \
        --db postgres://postgres@127.0.0.1:55432/telehealth_load --clients 16 --seconds 15

Needs a running server with the demo data, on a database of its own (the
script changes it), and wrk, psql and pgbench on PATH. It

1. makes --patients patients (copies of one signed-up account, email
   confirmed) and signs each in;
2. opens every listed doctor's calendar around the clock for the run: every
   day 00:00-24:00 UTC in 15-minute slots, no buffer, 60 days ahead, so the
   run cannot run out of free times (the slot engine still works them out on
   every request, with all the doctor's bookings around the time as busy);
3. writes one booking per free time (a patient only ever books one doctor,
   so a patient's times never overlap), shuffled;
4. fires them with wrk (--clients connections, kept alive) for --seconds and
   reports requests per second and p50/p95/p99, then checks in the database
   that every 2xx made exactly one consultation with its payment and audit row;
5. runs `pgbench -b tpcb-like` at the same concurrency on a scratch database
   of the same cluster and prints the ratio (the goal is at least 0.5).
"""

import argparse
import datetime
import http.client
import os
import random
import re
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

PASSWORD = "violet kettle harbour sings"
HERE = os.path.dirname(os.path.abspath(__file__))


def psql(db, sql):
    out = subprocess.run(["psql", db, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
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
            headers["Cookie"] = self.cookie_header()
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        data = res.read()
        for header, value in res.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return res.status, data

    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def cpu_seconds(pids):
    """User + system CPU time of these processes so far (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def listener_pid(base):
    """The process listening on the base URL's port, if this user can see it."""
    port = urllib.parse.urlparse(base).port or 80
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    m = re.search(r"pid=(\d+)", out)
    return m and m.group(1)


def in_parallel(items, clients, work):
    chunks = [items[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=lambda c=c: [work(x) for x in c]) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def prepare_bookings(base, db, n_patients, clients):
    """Makes `n_patients` signed-in patients (copies of one signed-up account,
    emails confirmed), opens every listed doctor's calendar around the clock
    (15-minute slots, 60 days) and returns (run, patients, bookings): one
    booking per free time, "<cookie>\t<form body>", shuffled. The run's
    patients' emails are load.<run>.<i>@example.com."""
    # One real account, then copies of it (same password hash), emails confirmed.
    run = uuid.uuid4().hex[:8]
    first = Client(base)
    email0 = f"load.{run}.0@example.com"
    status, body = first.request("POST", "/api/sign_up", {
        "email": email0, "password": PASSWORD, "first_name": "Load", "last_name": "Tester",
        "timezone": "UTC", "role": "patient"})
    assert status == 200, (status, body)
    psql(db, f"""
        INSERT INTO users (email, password_hash, role, is_email_verified)
        SELECT 'load.{run}.' || g || '@example.com', u.password_hash, 'patient', true
        FROM users u, generate_series(1, {n_patients - 1}) g WHERE u.email = '{email0}';
        UPDATE users SET is_email_verified = true WHERE email = '{email0}';
        INSERT INTO profiles (user_id, first_name, last_name, timezone)
        SELECT id, 'Load', 'Tester', 'UTC' FROM users WHERE email LIKE 'load.{run}.%' AND id NOT IN
            (SELECT user_id FROM profiles);""")
    patients = [Client(base) for _ in range(n_patients)]
    emails = [f"load.{run}.{i}@example.com" for i in range(n_patients)]

    def sign_in(i):
        s, b = patients[i].request("POST", "/api/sign_in", {"email": emails[i], "password": PASSWORD})
        assert s == 200, (s, b)

    t0 = time.time()
    in_parallel(list(range(n_patients)), min(clients, 4), sign_in)
    print(f"signed in {n_patients} patients in {time.time() - t0:.1f} s")

    # Every listed doctor open around the clock for 60 days, 15-minute slots.
    doctors = psql(db, """
        UPDATE doctors SET slot_minutes = 15, buffer_minutes = 0, min_notice_minutes = 60,
                           booking_horizon_days = 60
        WHERE is_verified AND is_available RETURNING id""").split()
    psql(db, f"""
        DELETE FROM doctor_time_off;
        UPDATE availability_slots SET deleted_at = now() WHERE deleted_at IS NULL;
        INSERT INTO availability_slots (doctor_id, day_of_week, start_time, end_time, timezone, is_recurring)
        SELECT d, g, '00:00', '24:00', 'UTC', true
        FROM unnest(ARRAY['{"','".join(doctors)}']::uuid[]) d, generate_series(0, 6) g;""")
    # A serving database has statistics; a fresh one gets them now.
    psql(db, "ANALYZE")
    now = datetime.datetime.now(datetime.timezone.utc)
    begin = (now + datetime.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    times = [begin + datetime.timedelta(minutes=15 * k) for k in range(int(59 * 24 * 4))]
    per_doctor = max(1, n_patients // len(doctors))
    bookings = []
    for d, doctor in enumerate(doctors):
        for k, t in enumerate(times):
            patient = patients[(d * per_doctor + k % per_doctor) % n_patients]
            body = urllib.parse.urlencode({
                "doctor_id": doctor, "starts_at": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "consultation_type": "video",
                "symptoms": "Load test.", "booking_key": str(uuid.uuid4())})
            bookings.append(f"{patient.cookie_header()}\t{body}")
    random.shuffle(bookings)
    return run, patients, bookings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:3400")
    ap.add_argument("--db", required=True, help="the app's database (changed by the run: use one of its own)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--patients", type=int, default=256)
    ap.add_argument("--pgbench-seconds", type=int, default=15)
    ap.add_argument("--server-pid", help="the server's process id (found from the port otherwise)")
    args = ap.parse_args()

    run, patients, bookings = prepare_bookings(args.base, args.db, args.patients, args.clients)
    fixtures = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False)
    fixtures.write("\n".join(bookings) + "\n")
    fixtures.close()
    print(f"{len(bookings)} free times prepared")

    threads = min(2, args.clients)
    # Warm up (connections, caches, plans), then give the planner statistics
    # of a table with bookings in it, as a serving database has.
    warm = bookings[-2000:]
    del bookings[-2000:]
    with open(fixtures.name + ".warm", "w") as f:
        f.write("\n".join(warm) + "\n")
    subprocess.run(["wrk", "-t", str(threads), "-c", str(args.clients), "-d", "3s", "-s",
                    os.path.join(HERE, "booking.lua"), args.base, "--", fixtures.name + ".warm", str(threads)],
                   check=True, capture_output=True)
    os.unlink(fixtures.name + ".warm")
    psql(args.db, "ANALYZE")

    def stored():
        return int(psql(args.db, f"""
            SELECT count(*) FROM consultations c JOIN users u ON u.id = c.patient_id
            JOIN payments p ON p.consultation_id = c.id
            JOIN audit_logs a ON a.resource_id = c.id AND a.action = 'consultation.booked'
            WHERE u.email LIKE 'load.{run}.%'"""))

    warmed = stored()
    # Where the CPU goes: the server's process and the database's backends
    # serving it (both stay up for the whole run: the server keeps its pool).
    server_pid = args.server_pid or listener_pid(args.base)
    backends = psql(args.db, "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()").split()
    cpu0 = (cpu_seconds([server_pid] if server_pid else []), cpu_seconds(backends))
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(args.clients), "-d", f"{args.seconds}s",
                          "--latency", "-s", os.path.join(HERE, "booking.lua"), args.base, "--",
                          fixtures.name, str(threads)], check=True, capture_output=True, text=True).stdout
    cpu1 = (cpu_seconds([server_pid] if server_pid else []), cpu_seconds(backends))
    os.unlink(fixtures.name)
    m = re.search(r"WRK requests=(\d+) seconds=([0-9.]+) non2xx=(\d+) errors=(\d+) p50=(\d+) p95=(\d+) p99=(\d+)",
                  out)
    assert m, out
    if os.getenv("WRK_DEBUG"):
        print(out)
    requests, seconds, non2xx, errors = int(m[1]), float(m[2]), int(m[3]), int(m[4])
    p50, p95, p99 = (int(m[i]) / 1000 for i in (5, 6, 7))
    assert requests < len(bookings), "the run used up its free times: prepare more or run shorter"
    booked = stored() - warmed
    rps = requests / seconds
    print(f"booking: {requests} requests, {args.clients} clients, {seconds:.1f} s: {rps:.1f} req/s; "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; non-2xx {non2xx}, socket errors {errors}; "
          f"{booked} consultations with payment and audit row")
    if server_pid:
        print(f"CPU per booking: server {(cpu1[0] - cpu0[0]) / requests * 1000:.2f} ms, "
              f"database {(cpu1[1] - cpu0[1]) / requests * 1000:.2f} ms (2 cores shared with wrk)")
    # Requests still in flight when wrk stops are stored but not counted.
    answered = requests - non2xx
    assert answered <= booked <= answered + args.clients, f"{answered} bookings answered 2xx but {booked} stored"

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

    # What limits booking: its one write statement alone, straight from pgbench
    # (plus the two look-ups that pick a doctor and a patient).
    out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(args.clients), "-j", "2",
                          "-T", str(args.pgbench_seconds), "-f", os.path.join(HERE, "booking_write.sql"), args.db],
                         check=True, capture_output=True, text=True).stdout
    write_tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    print(f"the booking's write statement alone: {write_tps:.1f} tps at {args.clients} clients "
          f"({write_tps / tps:.2f} of tpcb-like)")
    print(f"ratio booking/pgbench: {rps / tps:.2f} (goal >= 0.5)")


if __name__ == "__main__":
    main()
