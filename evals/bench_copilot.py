"""Benchmark: ``POST /v1/copilot/draft`` latency with the demo data loaded.

Ingests the sample knowledge base (``knowledge/``) into a scratch data directory, runs
``learnloop demo seed`` on it (24 accounts, ~150 users, 120 days of events and questions),
starts a real ``learnloop serve --dev`` and sends ``--requests`` draft requests one after
the other: each a question of ``evals/questions/sample.jsonl`` phrased as a ticket (a
greeting, some background, the question, a sign-off) from a random demo user of their own
account, so every request reads a real customer's history, learning, health and tips.
Each ask also goes through ``POST /v1/chat`` (the answerer alone), alternately before and
after the draft: reports p50 / p95 / p99 of both on texts new to the server and on texts the
other endpoint just answered (target for the draft: p95 ≤ 150 ms), and how many drafts
abstained.
Not a test: figures go to evals/RESULTS.md with this command.

    python -m evals.bench_copilot [--requests 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from assistant.copilot.tickets import Ticket, customer_ask
from assistant.storage.database import open_database
from evals.bench_search import ROOT
from evals.serving import learnloop, report_latencies, scratch_env, serving

QUESTIONS = ROOT / "evals" / "questions" / "sample.jsonl"
_BACKGROUND = ("We moved over from Trello last month.", "I'm the admin of our workspace.",
               "Hope you're well.", "")


def tickets(rng: random.Random, count: int) -> list[dict[str, str]]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    return [
        {"subject": "Question", "body": f"Hi team,\n\n{rng.choice(_BACKGROUND)} "
                                        f"{rng.choice(questions)}\n\nThanks,\nSam"}
        for _ in range(count)
    ]


def demo_customers(data: Path) -> list[tuple[str, str]]:
    """(user id, account id) of every demo user, from the seeded engagement log."""
    db = open_database(None, data, "learnloop.sqlite")
    try:
        rows = db.fetchall("SELECT DISTINCT user_id, account_id FROM events "
                           "WHERE tenant = 'default' AND user_id IS NOT NULL ORDER BY 1, 2")
    finally:
        db.close()
    return [(str(user), str(account)) for user, account in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with scratch_env() as env:
        data = Path(env["LEARNLOOP_DATA_DIR"])
        learnloop(env, "ingest", str(ROOT / "knowledge"), "--kb", "sample",
                  "--base-url", "https://help.tasklane.example/")
        learnloop(env, "demo", "seed", "--kb", "sample")
        customers = demo_customers(data)
        print(f"{len(customers)} demo users")
        with serving(env) as client:
            cold: dict[str, list[float]] = {"draft": [], "chat": []}
            warm: dict[str, list[float]] = {"draft": [], "chat": []}
            abstained = 0
            for n, ticket in enumerate(tickets(rng, args.requests + 10)):
                user, account = rng.choice(customers)
                # Each text once (the server keeps query vectors for reuse): the ask is new
                # to whichever endpoint goes first, alternately the draft and the chat.
                ticket["body"] = ticket["body"].replace("\n\nThanks", f" ({n})\n\nThanks")
                ask = customer_ask(Ticket(ticket["subject"], ticket["body"])) or "help"
                calls: dict[str, tuple[str, dict[str, Any]]] = {
                    "draft": ("/v1/copilot/draft", {"kb": "sample", "ticket": ticket,
                                                    "user_id": user, "account_id": account}),
                    "chat": ("/v1/chat", {"kb": "sample", "question": ask}),
                }
                order = ("draft", "chat") if n % 2 == 0 else ("chat", "draft")
                for position, name in enumerate(order):
                    started = time.perf_counter()
                    response = client.post(calls[name][0], json=calls[name][1])
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    if n < 10:
                        continue  # warm-up: first uses of each cache
                    (cold if position == 0 else warm)[name].append(elapsed)
                    if name == "draft":
                        abstained += response.json()["abstained"]
    for name, path in (("draft", "POST /v1/copilot/draft"), ("chat", "POST /v1/chat")):
        report_latencies(f"{path}, a new text", cold[name])
        report_latencies(f"{path}, a text the other endpoint just answered", warm[name])
    print(f"abstained: {abstained} of {args.requests}")


if __name__ == "__main__":
    main()
