"""Benchmark: warm ``POST /v1/search`` latency against a real server.

Ingests the corpus into a temporary data directory, starts ``learnloop serve`` on a free
loopback port, warms it up, then sends the question set's questions sequentially and
reports p50 / p95 / p99 client-side latency in milliseconds.

    python evals/bench_search.py [--corpus DIR] [--questions FILE] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "plausible-docs" / "docs"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--questions", type=Path, default=ROOT / "evals/questions/plausible.jsonl")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    questions = [
        json.loads(line)["question"]
        for line in args.questions.read_text().splitlines()
        if line.strip()
    ]
    data = Path(tempfile.mkdtemp(prefix="learnloop-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env["LEARNLOOP_DATA_DIR"] = str(data)
    port = _free_port()
    server = None
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "assistant.cli",
                "ingest",
                str(args.corpus),
                "--kb",
                "bench",
                "--json",
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            for question in questions[:20]:  # warm-up: first-use paths, caches
                client.post("/v1/search", json={"query": question, "kb": "bench"})
            latencies = []
            for i in range(args.requests):
                question = questions[i % len(questions)]
                started = time.perf_counter()
                response = client.post("/v1/search", json={"query": question, "kb": "bench"})
                latencies.append(1000 * (time.perf_counter() - started))
                response.raise_for_status()
        print(f"{args.requests} sequential warm POST /v1/search over {len(questions)} questions")
        print(
            f"p50 {statistics.median(latencies):.1f} ms  p95 {_percentile(latencies, 0.95):.1f} ms"
            f"  p99 {_percentile(latencies, 0.99):.1f} ms  max {max(latencies):.1f} ms"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
