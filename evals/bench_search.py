"""Benchmark: warm ``POST /v1/search`` (or ``/v1/chat``) latency against a real server.

Ingests the corpus into a temporary data directory, starts ``learnloop serve`` on a free
loopback port, warms it up, then sends the question set's questions sequentially and
reports p50 / p95 / p99 client-side latency in milliseconds. With ``--endpoint chat`` it
times ``POST /v1/chat`` and, separately, the first event of ``POST /v1/chat/stream``.

Each request carries a text the server has not seen in this run: the service keeps recent
query vectors, so a repeated question would measure that cache, not the work. Questions are
sent as they are first, then with a numbered variation once the set is used up; the
warm-up uses other texts.

    python evals/bench_search.py [--corpus DIR] [--questions FILE] [--requests 300]
                                 [--endpoint search|chat]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from evals.serving import learnloop, report_latencies, scratch_env, serving

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "plausible-docs" / "docs"


def unseen(questions: list[str], i: int) -> str:
    """The i-th request's text: the set in order, then variations ("… (2)") of it."""
    lap, index = divmod(i, len(questions))
    return questions[index] if lap == 0 else f"{questions[index]} ({lap + 1})"


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
    with scratch_env() as env:
        learnloop(env, "ingest", str(args.corpus), "--kb", "bench", "--json")
        with serving(env) as client:
            path = f"/v1/{args.endpoint}"
            key = "query" if args.endpoint == "search" else "question"
            for question in questions[:20]:  # warm-up: first-use paths, not these texts
                client.post(path, json={key: f"warm-up: {question}", "kb": "bench"})
            latencies = []
            for i in range(args.requests):
                question = unseen(questions, i)
                started = time.perf_counter()
                response = client.post(path, json={key: question, "kb": "bench"})
                latencies.append(1000 * (time.perf_counter() - started))
                response.raise_for_status()
            report_latencies(f"sequential warm POST {path}", latencies)
            if args.endpoint == "chat":
                firsts = []
                for i in range(min(args.requests, 100)):
                    body = {"question": unseen(questions, args.requests + i), "kb": "bench"}
                    started = time.perf_counter()
                    with client.stream("POST", "/v1/chat/stream", json=body) as stream:
                        lines = stream.iter_lines()
                        next(lines)
                        firsts.append(1000 * (time.perf_counter() - started))
                        for _ in lines:  # drain: the turn is stored when the stream ends
                            pass
                report_latencies("first event of POST /v1/chat/stream", firsts)


if __name__ == "__main__":
    main()
