"""Benchmark: health recompute for a whole tenant, and one account's health over HTTP.

Ingests the sample knowledge base (so signals use real article, tip and path facts), writes
``--accounts`` synthetic accounts with ``--events`` events in all into a real SQLite
engagement log through ``EventLog.append`` (four cohorts over 120 days: power, casual,
declining, dormant), then times:

1. ``HealthService.recompute`` in this process: one pass over the log, scoring, and the
   day's snapshots written (three runs; the first also reads the knowledge facts);
2. ``learnloop health recompute`` as a fresh process (imports and start-up included);
3. ``GET /v1/accounts/{id}/health`` against a real ``learnloop serve --dev``: sequential,
   warm, random accounts; and ``GET /v1/accounts?band=red`` once the day is scored.

    python evals/bench_health.py [--accounts 1000] [--events 1000000] [--requests 300]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.events.model import Event
from assistant.health.service import facts_from_documents
from assistant.services import Services
from assistant.settings import Settings
from evals.serving import learnloop, report_latencies, scratch_env, serving
from ingest.loaders import discover, load_file

ROOT = Path(__file__).resolve().parents[1]
DAY = timedelta(days=1)
# cohort -> (share of accounts, relative event volume, days since the last event,
#            share of the last 30 days' volume kept (a declining account loses most))
COHORTS = {
    "power": (0.25, 2.0, 0, 1.0),
    "casual": (0.25, 1.0, 0, 1.0),
    "declining": (0.25, 0.6, 2, 0.25),
    "dormant": (0.25, 0.4, 40, 1.0),
}
# type -> weight in the mix
MIX = {
    "login": 28, "feature_used": 34, "article_viewed": 8, "citation_clicked": 2,
    "question_asked": 5, "answer_given": 5, "answer_feedback": 1, "tip_shown": 4,
    "tip_clicked": 1, "tip_adopted": 0.5, "path_step_completed": 2, "support_ticket": 1.5,
    "nps_response": 0.3,
}
QUESTIONS = [
    "how do I bulk edit due dates", "why is slack not posting", "schedule a weekly report",
    "export tasks to excel", "set up recurring tasks", "add a custom field",
    "how do webhooks work", "sync with google calendar", "how do I invite a guest",
]


def sample_facts() -> tuple[list[str], list[str], list[str], list[str]]:
    """Features, article ids, tip ids and path step refs of the sample knowledge base."""
    root = ROOT / "knowledge"
    files, _ = discover(root)
    facts = facts_from_documents(d for f in files for d in load_file(f, root, None).documents)
    articles = [r.id for r in facts.resources.values() if r.kind != "tip"]
    tips = [r.id for r in facts.resources.values() if r.kind == "tip"]
    refs = [s.ref for p in facts.paths for s in p.steps]
    return sorted(facts.features), articles, tips, refs


def generate(accounts: int, total: int, now: datetime, seed: int = 7) -> list[list[Event]]:
    """Events per account, the whole log ``total`` events long."""
    rng = random.Random(seed)
    features, articles, tips, refs = sample_facts()
    types, weights = list(MIX), list(MIX.values())
    plan = []
    for a in range(accounts):
        cohort = rng.choices(list(COHORTS), [c[0] for c in COHORTS.values()])[0]
        plan.append((f"acct-{a:04d}", cohort, COHORTS[cohort][1] * rng.uniform(0.5, 1.5)))
    scale = total / sum(volume for _, _, volume in plan)
    out: list[list[Event]] = []
    serial = 0
    for account_id, cohort, volume in plan:
        _, _, quiet_days, recent_share = COHORTS[cohort]
        count = max(10, round(volume * scale))
        users = [f"{account_id}-u{u}" for u in range(rng.randint(3, 25))]
        used = rng.sample(features, rng.randint(2, 12))
        created = now - timedelta(days=rng.randint(20, 400))
        events = [Event(f"e{serial}", "account_updated", account_id, None, now - 120 * DAY, {
            "name": f"Account {account_id[-4:]}", "plan": rng.choice(["team", "business"]),
            "seats": len(users) + rng.randint(0, 10),
            "created_at": created.date().isoformat(),
            "renewal_date": (now + timedelta(days=rng.randint(-30, 330))).date().isoformat(),
        })]
        serial += 1
        kinds = rng.choices(types, weights, k=count - 1)
        for kind in kinds:
            age = rng.uniform(quiet_days, 120)
            if age < 30 and rng.random() > recent_share:
                age = rng.uniform(30, 120)
            user = rng.choice(users)
            props: dict[str, object]
            if kind == "feature_used":
                props = {"feature": rng.choice(used)}
            elif kind in ("article_viewed", "citation_clicked"):
                props = {"article_id": rng.choice(articles)}
            elif kind.startswith("tip_"):
                props = {"tip_id": rng.choice(tips)}
            elif kind == "path_step_completed":
                props = {"path_id": "end-user-onboarding", "ref": rng.choice(refs)}
            elif kind == "question_asked":
                props = {"question": rng.choice(QUESTIONS)}
            elif kind == "answer_given":
                props = {"answered": rng.random() > 0.2, "confidence": round(rng.random(), 2)}
            elif kind == "answer_feedback":
                props = {"message_id": f"m{serial}", "helpful": rng.random() > 0.3}
            elif kind == "support_ticket":
                props = {"ticket_id": f"T{serial}", "subject": rng.choice(QUESTIONS)}
            elif kind == "nps_response":
                props = {"score": rng.randint(0, 10)}
            else:
                props = {}
            events.append(Event(f"e{serial}", kind, account_id, user, now - age * DAY, props))
            serial += 1
        out.append(events)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with scratch_env() as env:
        data_dir = Path(env["LEARNLOOP_DATA_DIR"])
        started = time.perf_counter()
        learnloop(env, "ingest", str(ROOT / "knowledge"), "--kb", "sample")
        print(f"sample knowledge ingested in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        per_account = generate(args.accounts, args.events, now)
        services = Services(Settings(data_dir=data_dir, database_url=None))
        log = services.event_log
        stored = 0
        batch: list[Event] = []
        for events in per_account:
            batch.extend(events)
            if len(batch) >= 20_000:
                stored += log.append("default", batch)[0]
                batch = []
        stored += log.append("default", batch)[0]
        del per_account, batch
        size = (data_dir / "learnloop.sqlite").stat().st_size / 1e6
        print(f"{stored} events for {args.accounts} accounts generated and stored in "
              f"{time.perf_counter() - started:.1f} s ({size:.0f} MB)")

        service = services.health
        print(f"load average before timing: {os.getloadavg()[0]:.1f} (2 cores: CPU time is "
              "shown beside wall time, as other processes may share the machine)")
        for run in range(1, 4):
            started, cpu = time.perf_counter(), time.process_time()
            healths = service.recompute("default", datetime.now(UTC))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            bands = {b: sum(h.band == b for h in healths) for b in ("red", "yellow", "green")}
            segments = {s: sum(h.segment == s for h in healths)
                        for s in ("power", "casual", "at_risk", "dormant")}
            print(f"recompute run {run}: {len(healths)} accounts in {elapsed:.2f} s "
                  f"(CPU {cpu:.2f} s)  "
                  f"bands {bands}  segments {segments}")

        started = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-m", "assistant.cli.main", "health", "recompute"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        print(f"`learnloop health recompute` (fresh process): "
              f"{time.perf_counter() - started:.2f} s (CPU {cpu:.2f} s)")

        rng = random.Random(11)
        ids = [f"acct-{a:04d}" for a in range(args.accounts)]
        with serving(env) as client:
            for account_id in ids[:20]:  # warm-up
                client.get(f"/v1/accounts/{account_id}/health").raise_for_status()
            latencies = []
            for _ in range(args.requests):
                account_id = rng.choice(ids)
                started = time.perf_counter()
                response = client.get(f"/v1/accounts/{account_id}/health")
                latencies.append(1000 * (time.perf_counter() - started))
                response.raise_for_status()
            events_per_account = args.events // args.accounts
            report_latencies(
                f"sequential warm GET /v1/accounts/{{id}}/health "
                f"(~{events_per_account} events per account on average)", latencies)
            lists = []
            for _ in range(20):
                started = time.perf_counter()
                client.get("/v1/accounts", params={"band": "red"}).raise_for_status()
                lists.append(1000 * (time.perf_counter() - started))
            report_latencies("GET /v1/accounts?band=red (day already scored)", lists)


if __name__ == "__main__":
    main()
