"""Benchmark: ``POST /v1/chat`` throughput and latency at 1, 2 and 4 workers.

Ingests the corpus once against a real Chroma server (``chroma run``), then for each worker
count starts ``learnloop serve --workers N`` on that data and sends a bounded loopback load:
``--concurrency`` clients, ``--requests`` questions in all, each a text the server has not
seen in this run (a repeated question would measure the query-vector cache). Reports
requests per second and client-side p50 / p95. The embedded store (one process, Chroma on
local disk) is measured the same way as the baseline. The load generator runs on the same
machine: its CPU is the service's CPU too, so compare rows, not absolute numbers.

    python -m evals.bench_workers [--corpus DIR] [--workers 1,2,4] [--requests 300]
                                  [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from evals.bench_search import DEFAULT_CORPUS, ROOT, unseen
from evals.serving import chroma_server, learnloop, percentile, scratch_env, serving


def load(client: httpx.Client, questions: list[str], offset: int, requests: int,
         concurrency: int) -> tuple[float, list[float]]:
    """(requests per second, latencies in ms) of ``requests`` chats from ``concurrency``
    clients at once."""

    def one(i: int) -> float:
        started = time.perf_counter()
        response = client.post("/v1/chat", json={"question": unseen(questions, offset + i),
                                                 "kb": "bench"})
        response.raise_for_status()
        return 1000 * (time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(requests)))
    return requests / (time.perf_counter() - started), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--questions", type=Path, default=ROOT / "evals/questions/plausible.jsonl")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    questions = [json.loads(line)["question"]
                 for line in args.questions.read_text().splitlines() if line.strip()]
    counts = [int(n) for n in args.workers.split(",")]
    print(f"{os.cpu_count()} CPUs; {args.requests} chats per row from {args.concurrency} "
          "concurrent clients")
    print("| mode | workers | requests/s | p50 ms | p95 ms |\n|---|---|---|---|---|")
    offset = 0

    def row(mode: str, workers: int, env: dict[str, str]) -> None:
        nonlocal offset
        with serving(env, workers=workers) as client:
            load(client, questions, 10_000 + offset, 8 * workers, args.concurrency)  # warm-up
            rate, latencies = load(client, questions, offset, args.requests, args.concurrency)
        offset += args.requests
        print(f"| {mode} | {workers} | {rate:.1f} | {statistics.median(latencies):.0f} | "
              f"{percentile(latencies, 0.95):.0f} |", flush=True)

    with scratch_env() as env:
        learnloop(env, "ingest", str(args.corpus), "--kb", "bench", "--json")
        row("embedded Chroma", 1, env)
    with scratch_env() as env, chroma_server(
        Path(env["LEARNLOOP_DATA_DIR"]) / "chroma-server"
    ) as url:
        env["LEARNLOOP_CHROMA_URL"] = url
        learnloop(env, "ingest", str(args.corpus), "--kb", "bench", "--json")
        for workers in counts:
            row("Chroma server", workers, env)


if __name__ == "__main__":
    main()
