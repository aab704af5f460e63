#!/usr/bin/env python3
"""How long a class in every language takes in one `grade-class` with no command, next to the
same class graded a language at a time, as before each submission could say how it starts.

Usage: python3 benches/mixed_class.py [--students 60] [--jobs 24] [--sandbox auto]
                                      [--binary target/release/session-lab]

It makes a class of N correct solutions, the fixtures of tests/fixtures/submissions taken in
turn (Python's http.server, Flask, Node's http, Express with its node_modules, Go from source,
Java, Ruby's WEBrick, PHP with a Procfile), and grades stages 1-4:

- mixed: one `grade-class CLASS` with no command (each starts as its Procfile says or its files
  show);
- per language: a class folder per language and one `grade-class FOLDER -- COMMAND` for each,
  one after the other, as an instructor had to; the figure is the sum.

Each run starts from an empty results folder. It prints both wall times and how many students
scored 30/30 in each (all of them, or the figures mean nothing). Not part of CI: it takes
minutes. Needs the runtimes .ci/run installs.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests/fixtures/submissions"

# fixture, the command an instructor gives for it, a Procfile it needs (PHP names its router).
LANGUAGES = [
    ("threaded", ["python3", "server.py", "{port}"], None),
    ("flask", ["python3", "app.py", "{port}"], None),
    ("node", ["node", "server.js", "{port}"], None),
    ("express", ["node", "server.js", "{port}"], None),
    ("go", ["sh", "-c", 'go build -o server . && exec ./server "$PORT"'], None),
    ("java", ["java", "Server.java", "{port}"], None),
    ("ruby-webrick", ["ruby", "server.rb", "{port}"], None),
    ("php", ["php", "-S", "127.0.0.1:{port}", "index.php"], "web: php -S 127.0.0.1:$PORT index.php\n"),
]


def make_student(folder: Path, fixture: str, procfile):
    shutil.copytree(FIXTURES / fixture, folder, symlinks=True)
    if procfile:
        (folder / "Procfile").write_text(procfile)


def grade_class(binary, class_folder, out, jobs, sandbox, command):
    args = [str(binary), "grade-class", str(class_folder), "--out", str(out),
            "--stage", "4", "--jobs", str(jobs), "--sandbox", sandbox]
    if command:
        args += ["--command-from", "instructor", "--", *command]
    begun = time.monotonic()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    took = time.monotonic() - begun
    passed = sum(
        1 for report in out.glob("*.json")
        if json.loads(report.read_text()).get("score") == 30
    )
    return took, passed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--binary", default=str(ROOT / "target/release/session-lab"))
    args = parser.parse_args()
    if not (FIXTURES / "express/node_modules").exists():
        sys.exit("run `npm ci --prefix tests/fixtures/submissions/express` first (.ci/run does)")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        mixed = scratch / "mixed"
        mixed.mkdir()
        by_language = {}
        for index in range(args.students):
            fixture, command, procfile = LANGUAGES[index % len(LANGUAGES)]
            name = f"s{index:03d}-{fixture}"
            make_student(mixed / name, fixture, procfile)
            folder = by_language.setdefault(fixture, (scratch / f"only-{fixture}", command))[0]
            folder.mkdir(exist_ok=True)
            make_student(folder / name, fixture, None)
        took, passed = grade_class(args.binary, mixed, scratch / "out-mixed", args.jobs, args.sandbox, None)
        print(f"mixed, one run, no command: {took:.1f} s, {passed}/{args.students} scored 30/30")
        total, total_passed = 0.0, 0
        for fixture, (folder, command) in by_language.items():
            took, passed = grade_class(args.binary, folder, scratch / f"out-{fixture}", args.jobs, args.sandbox, command)
            total += took
            total_passed += passed
            print(f"  {fixture}: {took:.1f} s, {passed} scored 30/30")
        print(f"per language, {len(by_language)} runs: {total:.1f} s, {total_passed}/{args.students} scored 30/30")


if __name__ == "__main__":
    main()
