#!/usr/bin/env python3
"""Soak test of the grader's verdicts: grades each correct fixture submission many times and
counts the wrong verdicts (any check that does not pass). Not part of CI: it takes minutes.

A grader that fails a correct solution once in a few hundred runs is not trusted; this is how
that is measured. Gradings run --jobs at a time, as an instructor's CI would, so the machine is
busy the way it is in real use.

With --overload N, `stress --cpu N` runs beside the gradings the whole time (Debian's
`stress`), so that the grader's time limits are proved under a machine loaded far past its
cores: a limit that decides a verdict must hold there too (src/patience.rs).

Usage: python3 benches/soak.py [--runs 300] [--jobs 2] [--stage 4] [--overload N] [--fixture NAME …]
The fixtures are the correct servers (stages 1 to --stage) and the correct stage-5 cookie
clients (`client-NAME`, graded alone with --only 5), in every language tests/integration/languages.rs
proves.
Needs: cargo (builds the release binary), python3 with flask, requests and aiohttp, node (and
`npm ci` in tests/fixtures/submissions/express), curl, java, go, ruby with webrick, php; stress
for --overload.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SESSION_LAB = os.path.join(ROOT, "target", "release", "session-lab")
SUBMISSIONS = os.path.join(ROOT, "tests", "fixtures", "submissions")
CLIENTS = os.path.join(ROOT, "tests", "fixtures", "clients")

# Each correct fixture and the command that starts it, as tests/integration/grader.rs grades them.
FIXTURES = {
    "threaded": ["python3", "server.py", "{port}"],
    "keep-alive": ["python3", "server.py"],
    "flask": ["python3", "app.py", "{port}"],
    "node": ["node", "server.js", "{port}"],
    # The other languages, as tests/integration/languages.rs grades them.
    "java": ["java", "Server.java", "{port}"],
    "go": ["go", "run", ".", "{port}"],
    "ruby-webrick": ["ruby", "server.rb", "{port}"],
    "php": ["php", "-S", "127.0.0.1:{port}", "index.php"],
    "express": ["node", "server.js", "{port}"],
    "aiohttp": ["python3", "server.py", "{port}"],
    # Cookie clients, as tests/integration/grade_client.rs grades them.
    "client-requests": "python3 client.py {url}",
    "client-urllib": "python3 client.py {url}",
    "client-curl": "./client.sh {url}",
    "client-handmade": "python3 client.py {url}",
    "client-node-fetch": "node client.js {url}",
    "client-node-http": "node client.js {url}",
    "client-go-cookiejar": "go run . {url}",
    "client-touching-columns": "python3 client.py {url}",
}


def grade(fixture, stage):
    """One grading; returns (fixture, the ids of the checks that did not pass, seconds, notes)."""
    if fixture.startswith("client-"):
        what = ["--only", "5", "--client", FIXTURES[fixture],
                "--dir", os.path.join(CLIENTS, fixture.removeprefix("client-"))]
    else:
        what = ["--stage", str(stage), "--dir", os.path.join(SUBMISSIONS, fixture), "--",
                *FIXTURES[fixture]]
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        begun = time.monotonic()
        subprocess.run(
            [SESSION_LAB, "grade", "--format", "json", "--output", report.name, *what],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=300)
        took = time.monotonic() - begun
        with open(report.name) as f:
            checks = json.load(f)["checks"]
    wrong = [c["id"] + ": " + (c["message"] or "") for c in checks if c["status"] != "passed"]
    notes = [c["id"] + ": " + c["note"] for c in checks if c.get("note")]
    return fixture, wrong, took, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="gradings of each fixture")
    parser.add_argument("--jobs", type=int, default=2, help="gradings at once")
    parser.add_argument("--stage", type=int, default=4)
    parser.add_argument("--overload", type=int, default=0, metavar="N",
                        help="run `stress --cpu N` beside the gradings")
    parser.add_argument("--fixture", action="append", choices=sorted(FIXTURES),
                        help="only these fixtures (repeatable); all by default")
    args = parser.parse_args()
    fixtures = args.fixture or list(FIXTURES)

    subprocess.run(["cargo", "build", "--release", "--all-features", "--quiet"],
                   cwd=ROOT, check=True)
    jobs = [fixture for _ in range(args.runs) for fixture in fixtures]
    stress = None
    if args.overload:
        stress = subprocess.Popen(["stress", "--cpu", str(args.overload)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    loads = []
    wrong = collections.Counter()
    notes = collections.Counter()
    seconds = collections.defaultdict(list)
    begun = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for done, (fixture, failures, took, noted) in enumerate(
                pool.map(lambda f: grade(f, args.stage), jobs), 1):
            seconds[fixture].append(took)
            loads.append(os.getloadavg()[0])
            if failures:
                wrong[fixture] += 1
                print(f"WRONG verdict for correct fixture {fixture}:", *failures, sep="\n  ",
                      flush=True)
            notes[fixture] += bool(noted)
            for note in noted:
                print(f"note for {fixture}: {note}", flush=True)
            if done % 50 == 0:
                print(f"{done}/{len(jobs)} gradings, {sum(wrong.values())} wrong", flush=True)

    if stress:
        stress.terminate()
        stress.wait()
    loads.sort()
    print(f"\n{len(jobs)} gradings (servers: stages 1-{args.stage}; clients: stage 5) in"
          f" {time.monotonic() - begun:.0f} s, {args.jobs} at a time"
          + (f", beside stress --cpu {args.overload}" if args.overload else "")
          + f"; load average (1 min) median {loads[len(loads) // 2]:.1f}, max {loads[-1]:.1f}"
          f" on {os.cpu_count()} cores")
    for fixture in fixtures:
        times = sorted(seconds[fixture])
        print(f"  {fixture:<18} {args.runs} gradings: {wrong[fixture]} wrong verdicts,"
              f" {notes[fixture]} with a note; median {times[len(times) // 2]:.2f} s,"
              f" max {times[-1]:.2f} s")
    total = sum(wrong.values())
    print(f"wrong verdicts: {total}")
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
