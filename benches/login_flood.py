#!/usr/bin/env python3
"""The reference server under a wrong-password flood: its memory, and what a logged-in visitor
sees meanwhile.

Usage: python3 benches/login_flood.py [--connections 64] [--seconds 20]
                                      [--binary target/release/session-lab]

It starts `session-lab serve`, logs alice in once, then for --seconds runs --connections
threads that post wrong passwords as fast as the server answers (each from its own loopback
address, 127.0.x.y, so the per-address throttle does not simply turn them away), while one
more process GETs / as the logged-in alice every 10 ms. It prints the server's peak and final
resident memory (VmRSS), the answers the flood got, and the latency of the logged-in GETs
(median, p99, max). Not part of CI: it takes the seconds it is given.

The visitor runs in a process of its own: sharing the flood's interpreter, its timings would
include waits for Python's global lock. With --flood-niceness N the flooding threads run at
that `nice` value, which approximates a flood that comes from another machine: on these two
cores the generator otherwise takes most of the CPU the server would have.
"""

import argparse
import multiprocessing
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def request(port, head, body=b"", source="127.0.0.1"):
    with socket.socket() as connection:
        connection.bind((source, 0))
        connection.settimeout(30)
        connection.connect(("127.0.0.1", port))
        connection.sendall(head.encode() + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def form_post(port, path, form, cookie, source="127.0.0.1"):
    body = form.encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nCookie: {cookie}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return request(port, head, body, source)


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def visit(port, sid, stop, results):
    """GETs / as alice every 10 ms until `stop`; sends back the latencies of the answers."""
    head = (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: sid={sid}\r\n"
            "Connection: close\r\n\r\n")
    latencies = []
    while time.monotonic() < stop:
        begun = time.monotonic()
        answer = request(port, head)
        if b"Logged in as alice" in answer:
            latencies.append(time.monotonic() - begun)
        time.sleep(0.01)
    results.send(latencies)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--binary", default=str(ROOT / "target/release/session-lab"))
    parser.add_argument("--flood-niceness", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        server = subprocess.Popen(
            [args.binary, "serve", "--port", "0", "--state", f"{work}/sessions.json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = int(re.search(r":(\d+)", server.stdout.readline()).group(1))
        # Any token will do when the cookie and the field carry the same one.
        login = form_post(port, "/login", "username=alice&password=wonderland&csrf=t", "csrf=t")
        sid = re.search(rb"sid=([^;]+)", login).group(1).decode()
        stop = time.monotonic() + args.seconds
        answers, lock = {}, threading.Lock()

        def flood(index):
            sent = 0
            while time.monotonic() < stop:
                source = f"127.0.{index % 250 + 1}.{sent % 250 + 1}"
                try:
                    answer = form_post(port, "/login", "username=alice&password=wrong&csrf=t",
                                       "csrf=t", source)
                    status = answer.split(b"\r\n", 1)[0].decode(errors="replace")
                except OSError as error:
                    status = type(error).__name__
                with lock:
                    answers[status] = answers.get(status, 0) + 1
                sent += 1

        received, sent = multiprocessing.Pipe(duplex=False)
        visitor = multiprocessing.Process(target=visit, args=(port, sid, stop, sent))
        visitor.start()
        if args.flood_niceness:
            os.nice(args.flood_niceness)
        threads = [threading.Thread(target=flood, args=(i,)) for i in range(args.connections)]
        for thread in threads:
            thread.start()
        peak = 0
        while time.monotonic() < stop:
            peak = max(peak, rss_kib(server.pid))
            time.sleep(0.2)
        for thread in threads:
            thread.join()
        latencies = received.recv()
        visitor.join()
        time.sleep(2)
        after = rss_kib(server.pid)
        server.terminate()
        server.wait()
    latencies.sort()
    ms = lambda seconds: f"{seconds * 1000:.1f} ms"
    print(f"{args.connections} connections posting wrong passwords for {args.seconds} s"
          f" (flood at nice {args.flood_niceness})")
    print(f"server memory (VmRSS): peak {peak / 1024:.0f} MiB, 2 s after {after / 1024:.0f} MiB")
    print("answers to the flood:", ", ".join(f"{n} × {s}" for s, n in sorted(answers.items())))
    if latencies:
        print(f"logged-in GET / during the flood ({len(latencies)}): median "
              f"{ms(latencies[len(latencies) // 2])}, p99 {ms(latencies[int(len(latencies) * 0.99)])},"
              f" max {ms(latencies[-1])}")


if __name__ == "__main__":
    main()
