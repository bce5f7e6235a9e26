"""Benchmark: warm ``POST /v1/search`` (or ``/v1/chat``) latency against a real server.

Ingests the corpus into a temporary data directory, starts ``learnloop serve`` on a free
loopback port, warms it up, then sends the question set's questions sequentially and
reports p50 / p95 / p99 client-side latency in milliseconds. With ``--endpoint chat`` it
times ``POST /v1/chat`` and, separately, the first event of ``POST /v1/chat/stream``.

    python evals/bench_search.py [--corpus DIR] [--questions FILE] [--requests 300]
                                 [--endpoint search|chat]
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


def _report(what: str, latencies: list[float], questions: int) -> None:
    print(f"{len(latencies)} sequential warm {what} over {questions} questions")
    print(
        f"p50 {statistics.median(latencies):.1f} ms  p95 {_percentile(latencies, 0.95):.1f} ms"
        f"  p99 {_percentile(latencies, 0.99):.1f} ms  max {max(latencies):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--questions", type=Path, default=ROOT / "evals/questions/plausible.jsonl")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--endpoint", choices=("search", "chat"), default="search")
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
            [sys.executable, "-m", "assistant.cli", "serve", "--dev", "--port", str(port)],
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
            path = f"/v1/{args.endpoint}"
            key = "query" if args.endpoint == "search" else "question"
            for question in questions[:20]:  # warm-up: first-use paths, caches
                client.post(path, json={key: question, "kb": "bench"})
            latencies = []
            for i in range(args.requests):
                question = questions[i % len(questions)]
                started = time.perf_counter()
                response = client.post(path, json={key: question, "kb": "bench"})
                latencies.append(1000 * (time.perf_counter() - started))
                response.raise_for_status()
            _report(f"POST {path}", latencies, len(questions))
            if args.endpoint == "chat":
                firsts = []
                for i in range(min(args.requests, 100)):
                    body = {"question": questions[i % len(questions)], "kb": "bench"}
                    started = time.perf_counter()
                    with client.stream("POST", "/v1/chat/stream", json=body) as stream:
                        lines = stream.iter_lines()
                        next(lines)
                        firsts.append(1000 * (time.perf_counter() - started))
                        for _ in lines:  # drain: the turn is stored when the stream ends
                            pass
                _report("first event of POST /v1/chat/stream", firsts, len(questions))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
