"""Daily health snapshots: one row per tenant, account and UTC day (upserted), so trends can
be drawn and the accounts list is read without rescoring every account.

Lives in the same database as the engagement log (``assistant.storage.database``), with its own
migrations (component ``health``). It also remembers, per tenant, up to which event (the
log's arrival sequence) the last full recompute of the day saw, and with which plays
configuration, so that a later list only rescores the accounts that received events since
(or every account, once the configuration changed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from assistant.health.scoring import AccountHealth
from assistant.storage.database import Database

__all__ = ["HealthSnapshots", "Snapshot"]

_MIGRATIONS = (
    """
    CREATE TABLE IF NOT EXISTS health_snapshots (
        tenant TEXT NOT NULL,
        account_id TEXT NOT NULL,
        day TEXT NOT NULL,
        name TEXT NOT NULL,
        score INTEGER NOT NULL,
        band TEXT NOT NULL,
        segment TEXT NOT NULL,
        maturity TEXT NOT NULL,
        renewal_date TEXT,
        components TEXT NOT NULL,
        signals TEXT NOT NULL,
        computed_ms {BIGINT} NOT NULL,
        PRIMARY KEY (tenant, account_id, day)
    );
    CREATE INDEX IF NOT EXISTS health_snapshots_by_day ON health_snapshots (tenant, day);
    CREATE TABLE IF NOT EXISTS health_recomputes (
        tenant TEXT PRIMARY KEY,
        day TEXT NOT NULL,
        event_seq {BIGINT} NOT NULL,
        computed_ms {BIGINT} NOT NULL
    )
    """,
    """
    ALTER TABLE health_snapshots ADD COLUMN plays TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE health_recomputes ADD COLUMN config TEXT NOT NULL DEFAULT ''
    """,
)
_SNAPSHOT_COLUMNS = (
    "account_id, day, name, score, band, segment, maturity, renewal_date, components, signals, "
    "plays"
)


@dataclass(frozen=True)
class Snapshot:
    account_id: str
    day: str
    name: str
    score: int
    band: str
    segment: str
    maturity: str
    renewal_date: str | None
    components: dict[str, Any]
    signals: list[dict[str, Any]]
    plays: list[dict[str, Any]]


class HealthSnapshots:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("health", _MIGRATIONS)

    def upsert(self, tenant: str, day: date, healths: Sequence[AccountHealth]) -> int:
        """Write (or overwrite) the day's snapshot of each account, in one transaction."""
        now_ms = int(time.time() * 1000)
        rows = [
            (
                tenant, h.account_id, day.isoformat(), h.name, h.score, h.band, h.segment,
                h.maturity, h.renewal_date.isoformat() if h.renewal_date else None,
                h.components_json(), json.dumps([s.as_dict() for s in h.signals]),
                json.dumps([p.as_dict() for p in h.plays]), now_ms,
            )
            for h in healths
        ]
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO health_snapshots (tenant, account_id, day, name, score, band, "
                "segment, maturity, renewal_date, components, signals, plays, computed_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant, account_id, day) DO UPDATE SET name = excluded.name, "
                "score = excluded.score, band = excluded.band, segment = excluded.segment, "
                "maturity = excluded.maturity, renewal_date = excluded.renewal_date, "
                "components = excluded.components, signals = excluded.signals, "
                "plays = excluded.plays, computed_ms = excluded.computed_ms",
                rows,
            )
        return len(rows)

    def day(
        self, tenant: str, day: date, band: str | None = None, details: bool = True
    ) -> list[Snapshot]:
        """The day's snapshots (of one band), riskiest first; without ``details`` the
        components are left out (an accounts list does not show them)."""
        columns = _SNAPSHOT_COLUMNS if details else _SNAPSHOT_COLUMNS.replace(
            "components", "'{}'"
        )
        where, params = "tenant = ? AND day = ?", [tenant, day.isoformat()]
        if band is not None:
            where += " AND band = ?"
            params.append(band)
        rows = self.db.fetchall(
            f"SELECT {columns} FROM health_snapshots WHERE {where} "
            "ORDER BY score, COALESCE(renewal_date, '9999-12-31'), account_id",
            params,
        )
        return [_snapshot(r) for r in rows]

    def trend(self, tenant: str, account_id: str, since: date) -> list[tuple[str, int]]:
        """(day, score) from ``since`` on, oldest first."""
        rows = self.db.fetchall(
            "SELECT day, score FROM health_snapshots WHERE tenant = ? AND account_id = ? "
            "AND day >= ? ORDER BY day",
            (tenant, account_id, since.isoformat()),
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    # -- what the last recompute saw -------------------------------------------------------

    def last_recompute(self, tenant: str) -> tuple[str, int, str] | None:
        """(day, last event sequence seen, plays configuration used) of the tenant's latest
        full recompute."""
        row = self.db.fetchone(
            "SELECT day, event_seq, config FROM health_recomputes WHERE tenant = ?", (tenant,)
        )
        return None if row is None else (str(row[0]), int(row[1]), str(row[2]))

    def record_recompute(self, tenant: str, day: date, event_seq: int, config: str) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO health_recomputes (tenant, day, event_seq, config, computed_ms) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant) DO UPDATE SET day = excluded.day, "
                "event_seq = excluded.event_seq, config = excluded.config, "
                "computed_ms = excluded.computed_ms",
                (tenant, day.isoformat(), event_seq, config, int(time.time() * 1000)),
            )

    def event_seq(self) -> int:
        """The engagement log's latest arrival sequence (any tenant)."""
        row = self.db.fetchone("SELECT MAX(seq) FROM events")
        return int(row[0]) if row and row[0] is not None else 0

    def accounts_changed_since(self, tenant: str, event_seq: int) -> tuple[set[str], int]:
        """Accounts of ``tenant`` with events that arrived after ``event_seq``, and the latest
        sequence now. Reads the log's ``seq`` (its primary key, so a range scan of only the
        new events, whatever their tenant).

        On PostgreSQL a transaction that took a lower sequence may commit after this read;
        such an account is caught by its own health page (always scored live) or by the
        next day's recompute.
        """
        latest = self.event_seq()
        # Only the sequence in the WHERE clause: with the tenant there too, SQLite's planner
        # prefers the (tenant, account_id, ts) index and reads the tenant's whole log.
        rows = self.db.fetchall(
            "SELECT DISTINCT tenant, account_id FROM events WHERE seq > ? AND seq <= ?",
            (event_seq, latest),
        )
        return {str(r[1]) for r in rows if r[0] == tenant}, latest


def _snapshot(r: tuple[Any, ...]) -> Snapshot:
    return Snapshot(
        account_id=str(r[0]), day=str(r[1]), name=str(r[2]), score=int(r[3]), band=str(r[4]),
        segment=str(r[5]), maturity=str(r[6]), renewal_date=r[7],
        components=json.loads(r[8]), signals=json.loads(r[9]), plays=json.loads(r[10]),
    )
