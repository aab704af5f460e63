#!/usr/bin/env python3
"""Soak test of the grader's verdicts: grades each correct fixture submission many times and
counts the wrong verdicts (any check that does not pass). Not part of CI: it takes minutes.

A grader that fails a correct solution once in a few hundred runs is not trusted; this is how
that is measured. Gradings run --jobs at a time, as an instructor's CI would, so the machine is
busy the way it is in real use.

Usage: python3 benches/soak.py [--runs 300] [--jobs 2] [--stage 4] [--fixture NAME …]
The fixtures are the correct servers (stages 1 to --stage) and the correct stage-5 cookie
clients (`client-NAME`, graded alone with --only 5).
Needs: cargo (builds the release binary), python3 with flask and requests, node, curl.
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

# Each correct fixture and the command that starts it, as tests/grader.rs grades them.
FIXTURES = {
    "threaded": ["python3", "server.py", "{port}"],
    "keep-alive": ["python3", "server.py"],
    "flask": ["python3", "app.py", "{port}"],
    "node": ["node", "server.js", "{port}"],
    # Cookie clients, as tests/grade_client.rs grades them.
    "client-requests": "python3 client.py {url}",
    "client-urllib": "python3 client.py {url}",
    "client-curl": "./client.sh {url}",
    "client-handmade": "python3 client.py {url}",
    "client-node-fetch": "node client.js {url}",
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
    parser.add_argument("--fixture", action="append", choices=sorted(FIXTURES),
                        help="only these fixtures (repeatable); all by default")
    args = parser.parse_args()
    fixtures = args.fixture or list(FIXTURES)

    subprocess.run(["cargo", "build", "--release", "--all-features", "--quiet"],
                   cwd=ROOT, check=True)
    jobs = [fixture for _ in range(args.runs) for fixture in fixtures]
    wrong = collections.Counter()
    notes = collections.Counter()
    seconds = collections.defaultdict(list)
    begun = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for done, (fixture, failures, took, noted) in enumerate(
                pool.map(lambda f: grade(f, args.stage), jobs), 1):
            seconds[fixture].append(took)
            if failures:
                wrong[fixture] += 1
                print(f"WRONG verdict for correct fixture {fixture}:", *failures, sep="\n  ",
                      flush=True)
            notes[fixture] += bool(noted)
            for note in noted:
                print(f"note for {fixture}: {note}", flush=True)
            if done % 50 == 0:
                print(f"{done}/{len(jobs)} gradings, {sum(wrong.values())} wrong", flush=True)

    print(f"\n{len(jobs)} gradings (servers: stages 1-{args.stage}; clients: stage 5) in"
          f" {time.monotonic() - begun:.0f} s, {args.jobs} at a time")
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
