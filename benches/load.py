#!/usr/bin/env python3
"""Load benchmark: the reference server against the practical limit of its stack.

Starts, side by side on loopback, a bare hyper hello-world (benches/hello_hyper.rs), the
reference server (all stages) with its state in memory (and the JSON file), the reference with
its state in Redis (`--store`, a redis-server started here with AOF everysec, on the same
cores), and a correct Python solution of the exercise (a grader fixture), then loads each in
turn with wrk: the same connections and duration for all, after a warm-up. Prints requests/s,
p50 and p99 latency, errors, and each target's ratio to bare hyper; checks that each
reference's hit count grew by exactly the requests it was sent.

With --sessions N it then measures persistence at scale: the reference restores a state of N
sessions, its memory per session, and its latency and bytes written while the 1 s flushes
record only hits (anonymous traffic) and while they rewrite every session (a login a second).

Targets are loaded in turn, round after round (--rounds), and the median of the rounds is
reported with the range of each ratio: one run on a shared 2-core machine varies too much.

Usage: python3 benches/load.py [--rounds 3] [--connections 32] [--duration 10] [--warmup 2] [--sessions 1000000]
Needs: cargo, wrk (installed with apt-get when missing and run as root), redis-server.
"""
import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT = os.path.join(ROOT, "benches", "wrk", "report.lua")
SESSION_LAB = os.path.join(ROOT, "target", "release", "session-lab")
HELLO = os.path.join(ROOT, "target", "release", "examples", "hello_hyper")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"a server exited ({process.returncode}) before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    sys.exit(f"nothing listened on port {port} within {timeout} s")


class Servers:
    """Servers started by this run; all stopped (and their state removed) at the end."""

    def __init__(self):
        self.processes = []
        self.scratch = tempfile.mkdtemp(prefix="session-lab-load-")

    def start(self, name, command, cwd=None):
        port = free_port()
        directory = cwd or os.path.join(self.scratch, name)
        os.makedirs(directory, exist_ok=True)
        args = [arg.replace("{port}", str(port)) for arg in command]
        process = subprocess.Popen(args, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        began = time.monotonic()
        wait_for_port(port, process)
        return port, process, time.monotonic() - began

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)


def log_in(port, cookie_name):
    """Logs alice in and returns the session cookie as `name=value`."""
    # The reference refuses a login form without its CSRF token, which must equal the csrf
    # cookie: any value will do when the request carries both.
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/login",
        data=b"username=alice&password=wonderland&csrf=load",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "csrf=load",
        },
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        response = opener.open(request)
    except urllib.error.HTTPError as redirect:
        response = redirect
    for header in response.headers.get_all("Set-Cookie") or []:
        pair = header.split(";")[0]
        if pair.startswith(cookie_name + "="):
            return pair
    sys.exit(f"logging in on port {port} set no {cookie_name} cookie")


def hits(port, cookie):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Cookie": cookie})
    page = urllib.request.urlopen(request).read().decode()
    return int(re.search(r"Hits:\D*(\d+)", page).group(1))


def wrk(port, path, cookie, connections, seconds):
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", REPORT]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def load(port, path, cookie, args):
    warmup = wrk(port, path, cookie, args.connections, args.warmup)
    result = wrk(port, path, cookie, args.connections, args.duration)
    result["warmup_sent"] = warmup["sent"]
    result["warmup_answered"] = warmup["answered"]
    return result


def ms(microseconds):
    return f"{microseconds / 1000:.2f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each target is loaded, interleaved")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds of measured load per target")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each measurement")
    parser.add_argument("--sessions", type=int, default=0, help="also measure persistence with this many sessions")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        if os.geteuid() != 0:
            sys.exit("wrk is missing: apt-get install wrk")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--all-features", "--bin", "session-lab", "--example", "hello_hyper"],
        cwd=ROOT, check=True,
    )

    cores = os.cpu_count()
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"# {time.strftime('%Y-%m-%d')}, {cores} cores ({model}); wrk -t1 -c{args.connections}, "
          f"{args.warmup} s warm-up then {args.duration} s per target, {args.rounds} rounds, medians")

    servers = Servers()
    try:
        hello, _, _ = servers.start("hello", [HELLO, "{port}"])
        reference, _, _ = servers.start("reference", [SESSION_LAB, "serve", "--port", "{port}"])
        redis, _, _ = servers.start("redis", [
            "redis-server", "--bind", "127.0.0.1", "--port", "{port}", "--dir", ".",
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""])
        on_redis, _, _ = servers.start(
            "on-redis", [SESSION_LAB, "serve", "--port", "{port}", "--store", f"redis://127.0.0.1:{redis}/0"])
        python_dir = os.path.join(servers.scratch, "python")
        shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "submissions", "threaded"), python_dir)
        python, _, _ = servers.start("python", ["python3", "server.py", "{port}"], cwd=python_dir)
        sid = log_in(reference, "sid")
        redis_sid = log_in(on_redis, "sid")
        python_session = log_in(python, "session")

        targets = [
            ("bare hyper hello-world", hello, "/", None),
            ("reference GET / (logged in)", reference, "/", sid),
            ("reference on Redis GET / (logged in)", on_redis, "/", redis_sid),
            ("reference GET /cookies", reference, "/cookies", None),
            ("reference GET /login (anonymous)", reference, "/login", None),
            ("python solution GET / (logged in)", python, "/", python_session),
        ]
        counted = {reference: sid, on_redis: redis_sid}
        before = {port: hits(port, cookie) for port, cookie in counted.items()}
        rounds = [[load(port, path, cookie, args) for _, port, path, cookie in targets] for _ in range(args.rounds)]
        after = {port: hits(port, cookie) for port, cookie in counted.items()}

        median = lambda values: sorted(values)[len(values) // 2]
        rate = lambda r: r["answered"] / r["seconds"]
        print(f"\n| target | requests/s | p50 | p99 | errors | ratio to bare hyper (range) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for index, (name, *_) in enumerate(targets):
            runs = [round_[index] for round_ in rounds]
            ratios = [rate(round_[index]) / rate(round_[0]) for round_ in rounds]
            errors = sum(r["socket_errors"] + r["status_errors"] for r in runs)
            print(f"| {name} | {median([rate(r) for r in runs]):,.0f} | {ms(median([r['p50_us'] for r in runs]))} "
                  f"| {ms(median([r['p99_us'] for r in runs]))} | {errors} "
                  f"| {median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |")

        on_memory = [name for name, *_ in targets].index("reference GET / (logged in)")
        on_redis_row = [name for name, *_ in targets].index("reference on Redis GET / (logged in)")
        ratios = [rate(round_[on_redis_row]) / rate(round_[on_memory]) for round_ in rounds]
        print(f"\nreference on Redis / in memory, logged-in GET /: {median(ratios):.2f} "
              f"({min(ratios):.2f}–{max(ratios):.2f})")

        # Every request a reference was sent is a hit; only answers wrk read count as served.
        for port, name in [(reference, "reference"), (on_redis, "reference on Redis")]:
            runs = [r for round_ in rounds for (_, target, *_), r in zip(targets, round_) if target == port]
            sent = sum(r["sent"] + r["warmup_sent"] for r in runs)
            answered = sum(r["answered"] + r["warmup_answered"] for r in runs)
            grew = after[port] - before[port] - 1  # the final read is a hit too
            verdict = "exact" if answered <= grew <= sent else "MISMATCH"
            print(f"\n{name}: hit count grew by {grew:,}; wrk sent {sent:,} requests and read {answered:,} "
                  f"answers (the rest were cut off by the clock): {verdict}")
        if args.sessions:
            persistence_at_scale(servers, args)
    finally:
        servers.stop_all()


def persistence_at_scale(servers, args):
    """Restore time, memory per session, state file size, and latency during flushes."""
    directory = os.path.join(servers.scratch, "million")
    os.makedirs(directory)
    state = os.path.join(directory, "sessions.json")
    now = int(time.time())
    # Ids as the server makes them: 24 random bytes, base64url.
    ids = base64.urlsafe_b64encode(os.urandom(24 * args.sessions)).decode()
    with open(state, "w") as f:
        f.write('{"version":1,"hits":0,"sessions":[')
        f.write(",".join(
            f'{{"id":"{ids[32 * i:32 * i + 32]}","user":"alice","last_seen":{now}}}' for i in range(args.sessions)))
        f.write("]}")
    size = os.path.getsize(state)

    _, empty, _ = servers.start("empty", [SESSION_LAB, "serve", "--port", "{port}"])
    port, full, restore = servers.start(
        # Every session is alice's here: lift her cap, or the first login would end all but 100.
        "million", [SESSION_LAB, "serve", "--port", "{port}", "--state", state, "--flush-interval", "1",
                    "--max-sessions-per-user", str(2 * args.sessions)])
    rss = lambda process: int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{process.pid}/status").read()).group(1)) * 1024
    per_session = (rss(full) - rss(empty)) / args.sessions
    written = lambda: int(re.search(r"^write_bytes:\s+(\d+)", open(f"/proc/{full.pid}/io").read(), re.M).group(1))
    print(f"\n{args.sessions:,} sessions: state file {size / 1e6:.1f} MB ({size / args.sessions:.0f} B/session); "
          f"start with restore {restore:.2f} s; memory {per_session:.0f} B/session (RSS difference)")
    # Anonymous requests change only the hit count: each flush records the count alone.
    before = written()
    r = load(port, "/login", None, args)
    print(f"GET /login, flushes of hits only: {r['answered'] / r['seconds']:,.0f} requests/s, "
          f"p50 {ms(r['p50_us'])}, p99 {ms(r['p99_us'])}, errors {r['socket_errors'] + r['status_errors']}, "
          f"written {(written() - before) / r['seconds'] / 1e3:,.1f} kB/s")
    # A login every second changes the sessions: each flush rewrites them all.
    stop = threading.Event()
    def log_in_every_second():
        while not stop.wait(1):
            log_in(port, "sid")
    logins = threading.Thread(target=log_in_every_second)
    logins.start()
    before = written()
    try:
        r = load(port, "/login", None, args)
    finally:
        stop.set()
        logins.join()
    print(f"GET /login, a login a second (flushes rewrite every session): {r['answered'] / r['seconds']:,.0f} requests/s, "
          f"p50 {ms(r['p50_us'])}, p99 {ms(r['p99_us'])}, errors {r['socket_errors'] + r['status_errors']}, "
          f"written {(written() - before) / r['seconds'] / 1e6:,.1f} MB/s")

if __name__ == "__main__":
    main()
