"""Benchmark: content gaps over a tenant with many declined questions.

Writes ``--questions`` declined ``answer_given`` events (distinct questions composed from
verbs, objects and details, in English and Spanish, spread over 30 days and 200 accounts)
into a real SQLite engagement log, then times the content-gaps report the dashboard asks
for — ``GET /v1/insights/content-gaps`` as the service computes it — three times in a row
(the first is cold), and once more after one new declined question arrives.

    python -m evals.bench_content_gaps [--questions 6000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.events.model import Event
from assistant.services import Services
from assistant.settings import Settings

VERBS = ["how do I", "can I", "is there a way to", "why can't I", "where do I",
         "help me", "cómo puedo", "no puedo", "dónde se puede"]
OBJECTS = [
    "export invoices", "merge two projects", "import tasks from jira", "set a gantt baseline",
    "sync with outlook", "bulk delete comments", "add a second owner", "print a board",
    "change the fiscal year", "hide archived tags", "connect salesforce", "get a hipaa baa",
    "use single sign-on with okta", "restore a deleted workspace", "set working hours",
    "translate the interface", "share a dashboard publicly", "lock a column",
    "track time offline", "undo a bulk move", "pay with paypal", "get an invoice in euros",
    "copy automations between projects", "see who viewed a task", "embed a form in wordpress",
    "limit guest access", "rename a status", "change the start of the week", "add emoji",
    "export to pdf", "assign a task to two people", "set a budget per project",
]
DETAILS = ["", " on mobile", " for my whole team", " without admin rights", " in bulk",
           " from the api", " on the free plan", " every monday", " after the trial"]


def gap_events(count: int, now: datetime, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    events = []
    for i in range(count):
        question = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(DETAILS)}"
        if rng.random() < 0.3:
            question += f" ({rng.randint(1, 999)})"  # mostly distinct texts, as customers type
        ts = now - timedelta(minutes=rng.randint(1, 30 * 24 * 60))
        events.append(Event(
            f"bench-{i}", "answer_given", f"acct-{rng.randint(1, 200):03d}", f"u{i % 900}", ts,
            {"answered": False, "confidence": 0.1, "question": question,
             "message_id": f"m{i}"},
        ))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=6000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        services = Services(Settings(data_dir=Path(scratch), database_url=None))
        services.knowledge.warm_up()
        log = services.event_log
        now = datetime.now(UTC)
        events = gap_events(args.questions, now)
        for start in range(0, len(events), 1000):
            log.append("default", events[start : start + 1000])
        service = services.content_gaps
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            report = service.report("default", days=30, limit=20)
            timings.append(time.perf_counter() - started)
        late = replace(gap_events(1, now, seed=99)[0], id="bench-late",
                       ts=now - timedelta(seconds=1))
        log.append("default", [late])
        started = time.perf_counter()
        after = service.report("default", days=30, limit=20)
        one_more = time.perf_counter() - started
        print(f"{args.questions} gap questions, {len(report['topics'])} topics shown "
              f"(largest: {report['topics'][0]['count']} questions)")
        print("report, three calls: " + ", ".join(f"{t:.2f} s" for t in timings))
        print(f"after one new declined question: {one_more:.2f} s "
              f"({after['questions']} questions)")


if __name__ == "__main__":
    main()
