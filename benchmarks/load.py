"""Load on the running app's /ask API: p50/p95 latency and throughput at 1, 8 and 32 concurrent clients.

    python -m benchmarks.load [--index index] [--seconds 10] [--clients 1 8 32] [--out benchmarks/results]

Starts `app.py` on a free loopback port with the given index, drives it with gradio_client from
threads (one Client per thread), and writes load.json and load.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["من قاد الجانب الأمريكي في الاجتماع؟", "ماذا قال نتنياهو عن رفح؟", "متى سيعقد الاجتماع الثاني؟"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("the app did not start")


def run_level(url: str, clients: int, seconds: float) -> dict[str, float]:
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    ready = threading.Barrier(clients + 1)
    stop_at: list[float] = []

    def worker(i: int) -> None:
        client = Client(url, verbose=False)
        ready.wait()
        n = i
        while time.time() < stop_at[0]:
            started = time.perf_counter()
            try:
                client.predict(QUESTIONS[n % len(QUESTIONS)], 5, "", "", api_name="/ask")
                latencies.append((time.perf_counter() - started) * 1000)
            except Exception as exc:  # reported as a count
                errors.append(repr(exc))
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at.append(time.time() + seconds)
    ready.wait()
    began = time.time()
    for thread in threads:
        thread.join()
    elapsed = time.time() - began
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "throughput_rps": round(len(latencies) / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", default="index")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--index", args.index, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        rows = [run_level(f"http://127.0.0.1:{port}/", n, args.seconds) for n in args.clients]
    finally:
        server.terminate()
        server.wait(timeout=10)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(rows, indent=2))
    table = ["| clients | requests | errors | p50 ms | p95 ms | requests/s |", "| --- | --- | --- | --- | --- | --- |"]
    table += [
        f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['p50_ms']} | {r['p95_ms']} | {r['throughput_rps']} |"
        for r in rows
    ]
    (out / "load.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
