#!/usr/bin/env python3
"""The read paths against their anchors, at one concurrency, in one run.

    cargo bench --features ssr --bench http_anchor --no-run   # builds the bare axum anchor
    python3 benches/load/read_paths.py --base http://127.0.0.1:3400 \
        --db postgres://postgres@127.0.0.1:55432/telehealth_load --clients 16 --seconds 15

Needs a running (release) server with the demo data, wrk, psql and pgbench on
PATH. For each line it reports requests per second and p50/p95/p99:

- anchor: a bare axum handler (no middleware, no database): the HTTP ceiling;
- search page: `/doctors?…` rendered on the server, rotating over every
  specialty, language, sort, consultation type and a few name searches, each
  in one of six viewer timezones (each result shows its next free times);
- slot list: `/api/doctor_details?id=…` (a doctor's 14 days of bookable
  times, worked out by the slot engine on every request), every listed doctor;
- pgbench -S: PostgreSQL's read limit (primary-key selects);
- pgbench tpcb-like: its write limit;

then the goals' ratios: search page / pgbench -S (goal >= 0.3).
"""

import argparse
import glob
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "America/Los_Angeles"]


def psql(db, sql):
    out = subprocess.run(["psql", db, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def wrk(base, paths, clients, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as f:
        f.write("\n".join(paths) + "\n")
    try:
        out = subprocess.run(["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--latency",
                              "-s", os.path.join(HERE, "paths.lua"), base, "--", f.name],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    m = re.search(r"WRK requests=(\d+) seconds=([0-9.]+) non2xx=(\d+) errors=(\d+) p50=(\d+) p95=(\d+) p99=(\d+)",
                  out)
    assert m, out
    requests, secs = int(m[1]), float(m[2])
    return {"rps": requests / secs, "requests": requests, "non2xx": int(m[3]), "errors": int(m[4]),
            "p50": int(m[5]) / 1000, "p95": int(m[6]) / 1000, "p99": int(m[7]) / 1000}


def pgbench(db, args, clients, seconds):
    out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-P", "100",
                          "--log", "--log-prefix", os.path.join(tempfile.gettempdir(), "th_pgbench"), *args, db],
                         check=True, capture_output=True, text=True, cwd=tempfile.gettempdir()).stdout
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    # Per-transaction latencies from the logs (microseconds, third column).
    lat = []
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "th_pgbench*")):
        with open(path) as f:
            lat.extend(int(line.split()[2]) for line in f if line.strip())
        os.unlink(path)
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000 if lat else float("nan")
    return {"rps": tps, "requests": len(lat), "non2xx": 0, "errors": 0, "p50": pct(0.50), "p95": pct(0.95),
            "p99": pct(0.99)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:3400")
    ap.add_argument("--db", required=True, help="the app's database (read only)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--anchor", help="the http_anchor binary (found in the target directory otherwise)")
    ap.add_argument("--anchor-addr", default="127.0.0.1:3499")
    args = ap.parse_args()

    specialties = psql(args.db, "SELECT DISTINCT specialization FROM doctors WHERE is_verified").split("\n")
    languages = ["en", "de", "hi", "es", "fr"]
    names = ["Smith", "Okafor", "Schmidt", "Patel", "Nguyen"]
    searches = [f"specialization={urllib.parse.quote(s)}" for s in specialties]
    searches += [f"language={lang}" for lang in languages] + [f"name={n}" for n in names]
    searches += ["sort=rating", "sort=fee_low", "sort=fee_high", "consultation_type=audio", ""]
    search_paths = [f"/doctors?{q}&tz={urllib.parse.quote(z)}".replace("?&", "?")
                    for q in searches for z in ZONES]
    doctors = psql(args.db, "SELECT id FROM doctors WHERE is_verified AND is_available").split()
    slot_paths = [f"/api/doctor_details?id={d}&tz={urllib.parse.quote(z)}" for d in doctors for z in ZONES]

    # Every path answers before anything is measured (and warms the server).
    for path in search_paths[:: len(ZONES)] + slot_paths[:: len(ZONES)]:
        with urllib.request.urlopen(args.base + path) as res:
            assert res.status == 200, path

    anchor = args.anchor or next(iter(sorted(
        (p for p in glob.glob(os.path.expanduser(os.environ.get("CARGO_TARGET_DIR", "~/.cache/telehealth/target"))
                               + "/release/deps/http_anchor-*") if os.access(p, os.X_OK) and "." not in
         os.path.basename(p)), key=os.path.getmtime, reverse=True)), None)
    assert anchor, "build the anchor first: cargo bench --features ssr --bench http_anchor --no-run"
    server = subprocess.Popen([anchor, args.anchor_addr], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    results = {}
    try:
        results["anchor: bare axum handler"] = wrk(f"http://{args.anchor_addr}", ["/"], args.clients, args.seconds)
    finally:
        server.terminate()
        server.wait()
    results["search page (server-rendered)"] = wrk(args.base, search_paths, args.clients, args.seconds)
    results["slot list (/api/doctor_details)"] = wrk(args.base, slot_paths, args.clients, args.seconds)

    admin = re.sub(r"/[^/]*$", "/postgres", args.db)
    scratch = re.sub(r"/[^/]*$", "/bench_pgbench", args.db)
    psql(admin, "DROP DATABASE IF EXISTS bench_pgbench")
    psql(admin, "CREATE DATABASE bench_pgbench")
    try:
        subprocess.run(["pgbench", "-q", "-i", "-s", "10", scratch], check=True, capture_output=True)
        results["anchor: pgbench -S"] = pgbench(scratch, ["-S"], args.clients, args.seconds)
        results["anchor: pgbench tpcb-like"] = pgbench(scratch, ["-b", "tpcb-like"], args.clients, args.seconds)
    finally:
        psql(admin, "DROP DATABASE IF EXISTS bench_pgbench")

    print(f"{args.clients} clients, {args.seconds} s each, {os.cpu_count()} cores shared by client, server and database")
    print(f"{'':34} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  non-2xx")
    for name, r in results.items():
        print(f"{name:34} {r['rps']:9.1f} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f}  {r['non2xx'] + r['errors']}")
    read_limit = results["anchor: pgbench -S"]["rps"]
    for name in ("search page (server-rendered)", "slot list (/api/doctor_details)"):
        print(f"{name} / pgbench -S: {results[name]['rps'] / read_limit:.3f}"
              + (" (goal >= 0.3)" if name.startswith("search") else ""))
    print(f"search page / bare axum: {results['search page (server-rendered)']['rps'] / results['anchor: bare axum handler']['rps']:.3f}")


if __name__ == "__main__":
    main()
