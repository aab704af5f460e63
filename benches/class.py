#!/usr/bin/env python3
"""How fast `session-lab grade-class` grades a class, next to the best `xargs -P` loop.

Usage: python3 benches/class.py [--students 200] [--jobs 8,16] [--xargs 4,8,16 (or "" for none)]
                                [--sandbox bwrap] [--binary target/release/session-lab]

It makes a class of N students: a third correct (the plain Python solution), a third that
crash at start, a third that never exit on SIGTERM (so each costs the 5 s stop deadline);
every other correct one is handed in as a zip. It grades the class (stages 1-4) with
`grade-class --jobs J` for each J asked, and with `xargs -P P` running one `grade` per student
(the zips unpacked beforehand, not timed) for each P, and prints per run the wall time, the
CPU seconds of everything the run started (grader and submissions, counted by a cgroup of its
own when this runs as root, else by getrusage, which misses what a sandbox's init reaps), and
the wall time over the CPU floor (CPU seconds / cores). Not part of CI: it takes minutes.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "tests/fixtures/submissions/threaded/server.py"
CGROUP_V1 = Path("/sys/fs/cgroup/cpuacct")
CGROUP_V2 = Path("/sys/fs/cgroup")


def make_class(folder: Path, students: int, as_folders: Path):
    """The class (folders and zips) and the same students as folders only, for xargs."""
    folder.mkdir(parents=True)
    for index in range(students):
        name = f"s{index:04d}"
        student = as_folders / name
        student.mkdir(parents=True)
        kind = index % 3
        if kind == 0:
            shutil.copy(CORRECT, student / "server.py")
        elif kind == 1:
            (student / "server.py").write_text("import sys\nsys.exit(3)\n")
        else:
            shutil.copy(CORRECT, student / "real.py")
            (student / "server.py").write_text(
                "import runpy, sys\n"
                "sys.argv = ['real.py', sys.argv[1], '--mistake', 'never-exits-on-sigterm']\n"
                "runpy.run_path('real.py', run_name='__main__')\n"
            )
        if kind == 0 and index % 2 == 0:
            with zipfile.ZipFile(folder / f"{name}.zip", "w") as archive:
                for file in student.iterdir():
                    archive.write(file, f"{name}/{file.name}")
        else:
            shutil.copytree(student, folder / name)


class CpuMeter:
    """CPU seconds of a command and everything it starts."""

    def __init__(self):
        self.cgroup = None
        for base, usage in ((CGROUP_V1, "cpuacct.usage"), (CGROUP_V2, "cpu.stat")):
            if (base / "cgroup.procs").exists() and os.access(base, os.W_OK):
                path = base / f"session-lab-bench-{os.getpid()}"
                try:
                    path.mkdir()
                except OSError:
                    continue
                self.cgroup, self.usage = path, usage
                break
        self.how = "a cgroup of its own" if self.cgroup else "getrusage (undercounts sandboxes)"

    def enter(self):
        if self.cgroup:
            (self.cgroup / "cgroup.procs").write_text(str(os.getpid()))

    def read(self):
        if not self.cgroup:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            return usage.ru_utime + usage.ru_stime
        text = (self.cgroup / self.usage).read_text()
        if self.usage == "cpuacct.usage":
            return int(text) / 1e9
        fields = dict(line.split() for line in text.splitlines())
        return int(fields["usage_usec"]) / 1e6

    def close(self):
        if self.cgroup:
            self.cgroup.rmdir()


def measure(meter: CpuMeter, command, **kwargs):
    before = meter.read()
    begun = time.monotonic()
    subprocess.run(command, check=False, preexec_fn=meter.enter, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **kwargs)
    return time.monotonic() - begun, meter.read() - before


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--jobs", default="8,16")
    parser.add_argument("--xargs", default="4,8,16")
    parser.add_argument("--sandbox", default="bwrap")
    parser.add_argument("--binary", default=str(ROOT / "target/release/session-lab"))
    args = parser.parse_args()
    if not Path(args.binary).exists():
        sys.exit(f"{args.binary} is missing: cargo build --release --all-features")
    cores = os.cpu_count() or 1
    meter = CpuMeter()
    print(f"{args.students} students (a third correct, a third crash at start, a third never "
          f"exit on SIGTERM), stages 1-4, --sandbox {args.sandbox}, {cores} cores; "
          f"CPU counted by {meter.how}")
    print(f"{'run':<28}{'wall s':>9}{'CPU s':>9}{'CPU floor s':>13}{'wall/floor':>12}")
    results = []
    with tempfile.TemporaryDirectory(prefix="session-lab-bench-") as work:
        work = Path(work)
        make_class(work / "class", args.students, work / "folders")
        grading = ["--stage", "4", "--sandbox", args.sandbox, "--", "python3", "server.py", "{port}"]
        runs = [(f"grade-class --jobs {jobs}",
                 [args.binary, "grade-class", str(work / "class"), "--out", str(work / f"out-{jobs}"),
                  "--jobs", jobs, *grading]) for jobs in args.jobs.split(",")]
        for jobs in filter(None, args.xargs.split(",")):
            out = work / f"xargs-{jobs}"
            out.mkdir()
            script = (f"ls {work / 'folders'} | xargs -P {jobs} -I@ {args.binary} grade --dir "
                      f"{work / 'folders'}/@ --format json --output {out}/@.json "
                      + " ".join(f"'{word}'" for word in grading))
            runs.append((f"xargs -P {jobs} grade", ["sh", "-c", script]))
        for name, command in runs:
            wall, cpu = measure(meter, command)
            floor = cpu / cores
            results.append((name, wall))
            print(f"{name:<28}{wall:>9.1f}{cpu:>9.1f}{floor:>13.1f}{wall / floor:>12.2f}", flush=True)
        out = work / f"out-{args.jobs.split(',')[0]}"
        graded = len([p for p in out.glob("*.json")])
        print(f"reports written by the first grade-class run: {graded} of {args.students}")
    meter.close()
    for kind in ("grade-class", "xargs"):
        timed = [(wall, name) for name, wall in results if name.startswith(kind)]
        if timed:
            wall, name = min(timed)
            print(f"best {kind}: {name} {wall:.1f} s")


if __name__ == "__main__":
    main()
