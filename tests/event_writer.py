"""A separate writer process for the engagement-log tests: appends events in batches and
prints ``ack <last index>`` after each batch is stored, so a test can kill it mid-stream and
check that every acknowledged event survived. Each batch is sent twice (a client retry)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.events.log import EventLog
from assistant.events.model import Event
from assistant.storage.database import open_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--tenant", default="default")
    parser.add_argument("--writer", type=int, required=True)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    log = EventLog(open_database(args.url, Path(".")))
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for first in range(0, args.events, args.batch):
        batch = [
            Event(
                id=f"w{args.writer}-{i}",
                type="feature_used",
                account_id=f"acct-{i % 7}",
                user_id=f"user-{args.writer}",
                ts=start + timedelta(seconds=i),
                properties={"feature": "reports.schedule", "n": i},
            )
            for i in range(first, min(first + args.batch, args.events))
        ]
        log.append(args.tenant, batch)
        log.append(args.tenant, batch)  # the retry: must store nothing twice
        print(f"ack {batch[-1].id}", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
