"""Benchmark: ``GET /v1/tips/next`` with ``--tips`` tips and ``--events`` events in the log.

Builds a knowledge base of ``--tips`` tips from the sample's fifteen real tips: each copy
teaches its own feature and fires on its own product event (``<event>.<n>``), with the
sample's triggers (counts in windows, consecutive-day streaks), levels, audiences and
priorities varied, so the engine evaluates every tip on every call. Writes ``--events``
events for ``--users`` users over 60 days into a real SQLite log (logins, feature use that
fires tips, article views, tips shown, clicked and dismissed), then starts a real
``learnloop serve --dev`` and asks for the next tip of random users, each request a new
session (so it records, as a real call does), and reports client-side latency.

    python evals/bench_tips.py [--tips 1000] [--events 1000000] [--users 10000]
                               [--requests 300]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from assistant.events.model import Event
from assistant.services import Services
from assistant.settings import Settings
from evals.serving import learnloop, report_latencies, scratch_env, serving

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_TIPS = ROOT / "knowledge" / "tips"
_FRONT = re.compile(r"^---\n(.*?)\n---\n(.*)$", re.S)


def write_tips(folder: Path, count: int, seed: int = 3) -> list[tuple[str, str]]:
    """``count`` tip files under ``folder``; returns each tip's (trigger event, feature)."""
    rng = random.Random(seed)
    sources = []
    for path in sorted(SAMPLE_TIPS.glob("*.md")):
        match = _FRONT.match(path.read_text())
        assert match, path
        sources.append((path.stem, yaml.safe_load(match.group(1)), match.group(2)))
    fired: list[tuple[str, str]] = []
    for n in range(count):
        stem, meta, body = sources[n % len(sources)]
        meta = dict(meta)
        event = str(meta["trigger"]).split()[0]
        variant = f"{event}.{n}"
        meta["trigger"] = str(meta["trigger"]).replace(event, variant, 1)
        meta["feature"] = f"{meta['feature']}.{n}"
        meta["title"] = f"{meta['title']} ({n})"
        meta["priority"] = rng.choices(["low", "normal", "high"], [1, 8, 1])[0]
        meta["level"] = rng.choice(["beginner", "intermediate", "advanced"])
        meta.pop("adoption", None)
        (folder / f"{stem}-{n}.md").write_text(f"---\n{yaml.safe_dump(meta)}---\n{body}")
        fired.append((variant, meta["feature"]))
    return fired


def generate(fired: list[tuple[str, str]], users: int, total: int, now: datetime,
             seed: int = 5) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    tip_ids = [f"tip-{i}" for i in range(len(fired))]
    per_user = total // users
    for u in range(users):
        account = f"acct-{u // 8:04d}"
        user = f"user-{u:05d}"
        joined = now - timedelta(days=rng.randint(1, 400))
        events.append(Event(f"e{u}-0", "user_updated", account, user, now - timedelta(days=60),
                            {"role": rng.choice(["member", "manager", "admin"]),
                             "created_at": joined.isoformat()}))
        # Each user repeats a few behaviours that fire tips, in bursts on a few days.
        habits = rng.sample(fired, 6)
        bursts = [now - timedelta(days=rng.uniform(0, 20)) for _ in habits]
        for k in range(1, per_user):
            at = now - timedelta(days=rng.uniform(0, 60))
            roll = rng.random()
            if roll < 0.35:
                h = rng.randrange(len(habits))
                at = min(now, bursts[h] + timedelta(days=rng.choice([0, 1, 2]),
                                                   minutes=rng.uniform(0, 120)))
                kind, props = "feature_used", {"feature": habits[h][0]}
            elif roll < 0.55:
                kind, props = "feature_used", {"feature": rng.choice(habits)[1]}
            elif roll < 0.80:
                kind, props = "login", {}
            elif roll < 0.92:
                kind, props = "article_viewed", {"article_id": f"articles/a{rng.randint(1, 300)}"}
            else:
                kind = rng.choice(["tip_shown", "tip_clicked", "tip_dismissed"])
                props = {"tip_id": rng.choice(tip_ids)}
            events.append(Event(f"e{u}-{k}", kind, account, user, at, props))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tips", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with scratch_env() as env, tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        fired = write_tips(Path(folder), args.tips)
        learnloop(env, "ingest", folder, "--kb", "tips")
        print(f"{args.tips} tips ingested in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        services = Services(Settings(data_dir=Path(env["LEARNLOOP_DATA_DIR"]), database_url=None))
        events = generate(fired, args.users, args.events, now)
        stored = 0
        for start in range(0, len(events), 20_000):
            stored += services.event_log.append("default", events[start:start + 20_000])[0]
        services.close()
        print(f"{stored} events for {args.users} users stored in "
              f"{time.perf_counter() - started:.1f} s")
        del events

        rng = random.Random(13)
        with serving(env) as client:
            def ask(i: int) -> tuple[float, dict]:
                user = rng.randrange(args.users)
                params = {"user_id": f"user-{user:05d}", "account_id": f"acct-{user // 8:04d}",
                          "session_id": f"bench-{i}", "kb": "tips"}
                began = time.perf_counter()
                response = client.get("/v1/tips/next", params=params)
                elapsed = 1000 * (time.perf_counter() - began)
                response.raise_for_status()
                return elapsed, response.json()

            for i in range(20):  # warm-up: the tip library is read on first use
                ask(-1 - i)
            results = [ask(i) for i in range(args.requests)]
            report_latencies(f"sequential warm GET /v1/tips/next ({args.tips} tips, "
                             f"{stored} events)", [ms for ms, _ in results])
            shown = sum(body["tip"] is not None for _, body in results)
            eligible = sum(len(body["eligible"]) for _, body in results) / len(results)
            print(f"tips shown in {shown} of {len(results)} requests; "
                  f"{eligible:.1f} eligible tips per user on average")


if __name__ == "__main__":
    main()
