"""Benchmark: engagement-event ingest over HTTP (``POST /v1/events``) into SQLite (or the
database ``--database-url`` names), against a real server.

Sends ``--batches`` batches of ``--batch`` realistic events (logins, feature use, article
views, questions and answers over 200 accounts) from one client, one batch at a time,
after a warm-up, and reports events per second and per-batch latency.

    python evals/bench_events.py [--batches 200] [--batch 500] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta

from evals.serving import report_latencies, scratch_env, serving

_TYPES = [
    ("login", lambda r: {}),
    ("feature_used", lambda r: {"feature": r.choice(["tasks.create", "reports.schedule",
                                                      "tasks.bulk_edit", "tags.apply"])}),
    ("article_viewed", lambda r: {"article_id": f"articles/how-to/a{r.randrange(40)}.md"}),
    ("question_asked", lambda r: {"question": "how do I schedule a weekly report?"}),
    ("answer_given", lambda r: {"answered": r.random() > 0.2, "confidence": r.random()}),
]


def make_batch(rng: random.Random, first: int, size: int, start: datetime) -> bytes:
    events = []
    for i in range(first, first + size):
        kind, props = rng.choice(_TYPES)
        events.append({
            "id": f"bench-{i}",
            "type": kind,
            "account_id": f"acct-{rng.randrange(200)}",
            "user_id": f"user-{rng.randrange(2000)}",
            "ts": (start + timedelta(seconds=i)).isoformat(),
            "properties": props(rng),
        })
    return json.dumps({"events": events}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(days=60)
    bodies = [make_batch(rng, b * args.batch, args.batch, start) for b in range(args.batches + 5)]
    settings = {"database_url": args.database_url} if args.database_url else {}
    with scratch_env(**settings) as env, serving(env) as client:
        headers = {"content-type": "application/json"}
        for body in bodies[:5]:  # warm-up: first-use paths, the table's first pages
            client.post("/v1/events", content=body, headers=headers).raise_for_status()
        latencies = []
        began = time.perf_counter()
        for body in bodies[5:]:
            started = time.perf_counter()
            response = client.post("/v1/events", content=body, headers=headers)
            latencies.append(1000 * (time.perf_counter() - started))
            response.raise_for_status()
            assert response.json()["accepted"] == args.batch, response.text
        elapsed = time.perf_counter() - began
    total = args.batches * args.batch
    print(f"{total} events in {args.batches} batches of {args.batch}: {elapsed:.2f} s, "
          f"{total / elapsed:,.0f} events/s (one client, sequential)")
    report_latencies("POST /v1/events", latencies)


if __name__ == "__main__":
    main()
