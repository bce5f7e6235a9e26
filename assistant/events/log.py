"""The engagement log: append-only events per tenant, idempotent by the client's event id.

A batch is one transaction: when ``append`` returns, every event in it is stored (or was
already, under the same id) — that is what a client's retry can rely on. Events are never
updated or deleted; aggregations read them back as ``EventRow`` in time order.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from assistant.errors import ErrorCode, LearnloopError
from assistant.events.model import Event, EventRow
from assistant.storage.database import Database, Transaction

__all__ = ["HOST", "Appended", "EventLog", "user_sender"]

_MIGRATIONS = (
    """
    CREATE TABLE IF NOT EXISTS events (
        seq {SERIAL_PK},
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        account_id TEXT NOT NULL,
        user_id TEXT,
        subject TEXT,
        ts_ms {BIGINT} NOT NULL,
        properties TEXT NOT NULL,
        received_ms {BIGINT} NOT NULL,
        UNIQUE (tenant, id)
    );
    CREATE INDEX IF NOT EXISTS events_by_account ON events (tenant, account_id, ts_ms);
    CREATE INDEX IF NOT EXISTS events_by_user ON events (tenant, user_id, ts_ms)
    """,
    # 2: event ids are unique per sender: an end user's id must not suppress the host's
    # event that happens to use it. Rows sent before are the host's ('').
    """
    CREATE TABLE events_v2 (
        seq {SERIAL_PK},
        tenant TEXT NOT NULL,
        sender TEXT NOT NULL,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        account_id TEXT NOT NULL,
        user_id TEXT,
        subject TEXT,
        ts_ms {BIGINT} NOT NULL,
        properties TEXT NOT NULL,
        received_ms {BIGINT} NOT NULL,
        UNIQUE (tenant, sender, id)
    );
    INSERT INTO events_v2 (tenant, sender, id, type, account_id, user_id, subject, ts_ms,
        properties, received_ms)
        SELECT tenant, '', id, type, account_id, user_id, subject, ts_ms, properties,
        received_ms FROM events ORDER BY seq;
    DROP TABLE events;
    ALTER TABLE events_v2 RENAME TO events;
    CREATE INDEX events_by_account ON events (tenant, account_id, ts_ms);
    CREATE INDEX events_by_user ON events (tenant, user_id, ts_ms)
    """,
)
# Who sent an event, for its id's uniqueness: the host (API keys, the server itself, imports)
# or one end user (their token).
HOST = ""
_COLUMNS = "account_id, user_id, type, subject, ts_ms, properties"
_LOOKUP_CHUNK = 500  # ids per SELECT … IN (…): far below SQLite's and PostgreSQL's limits


class Appended(NamedTuple):
    """What ``EventLog.append`` did with a batch."""

    accepted: int
    # Events whose id this sender already used for the same event (a retry), stored or
    # earlier in the batch: nothing is stored twice.
    duplicates: int
    # Positions in the batch of events whose id this sender already used for a *different*
    # event: not stored, because an id is an idempotency key, not a name to overwrite.
    conflicts: list[int]
    # Positions of the events that were new to the log: stored by this batch (or, if a
    # concurrent batch raced it to the same id, by that one).
    new: tuple[int, ...] = ()


def user_sender(user_id: str) -> str:
    """The sender an end user's own events are stored under."""
    return f"user:{user_id}"


class EventLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("events", _MIGRATIONS)
        self._appended: Counter[str] = Counter()  # batches that stored something, per tenant

    def append(self, tenant: str, events: Sequence[Event], sender: str = HOST) -> Appended:
        """Store a batch atomically. An id this sender already used (stored, or earlier in
        the batch) is a duplicate when the event is the same and a conflict when it is not.
        ``sender``: ``HOST``, or ``user_sender(user_id)`` for an end user's own client, so
        the ids a user picks never collide with the host's."""
        received = int(time.time() * 1000)
        with self.db.transaction() as tx:
            # What each id already names: the stored event, else its first in this batch.
            named = self._stored_payloads(tx, tenant, sender, list({e.id: None for e in events}))
            new: list[Event] = []
            new_positions: list[int] = []
            duplicates, conflicts = 0, []
            for position, event in enumerate(events):
                payload = _payload(event)
                if event.id not in named:
                    named[event.id] = payload
                    new.append(event)
                    new_positions.append(position)
                elif named[event.id] == payload:
                    duplicates += 1
                else:
                    conflicts.append(position)
            accepted = tx.executemany(
                "INSERT INTO events (tenant, sender, id, type, account_id, user_id, subject, "
                "ts_ms, properties, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant, sender, id) DO NOTHING",
                [
                    (tenant, sender, e.id, e.type, e.account_id, e.user_id, e.subject, e.ts_ms,
                     json.dumps(e.properties, ensure_ascii=False, separators=(",", ":")),
                     received)
                    for e in new
                ],
            )
        # A concurrent batch may have stored one of the same ids between the lookup and the
        # insert (PostgreSQL): counted as a duplicate, the way a retry is.
        duplicates += len(new) - accepted
        if accepted:
            self._appended[tenant] += 1
        return Appended(accepted, duplicates, conflicts, tuple(new_positions))

    def appended(self, tenant: str) -> int:
        """How many batches this process stored for ``tenant``: a cache of something derived
        from the tenant's events is stale once it moves (other processes: see their TTL)."""
        return self._appended[tenant]

    @staticmethod
    def _stored_payloads(
        tx: Transaction, tenant: str, sender: str, ids: list[str]
    ) -> dict[str, tuple[Any, ...]]:
        stored: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            rows = tx.fetchall(
                "SELECT id, type, account_id, user_id, ts_ms, properties FROM events "
                f"WHERE tenant = ? AND sender = ? AND id IN ({', '.join('?' for _ in chunk)})",
                [tenant, sender, *chunk],
            )
            for event_id, kind, account_id, user_id, ts_ms, properties in rows:
                stored[event_id] = (kind, account_id, user_id, int(ts_ms), json.loads(properties))
        return stored

    def rows(
        self,
        tenant: str,
        account_id: str | None = None,
        user_id: str | None = None,
        since_ms: int | None = None,
        types: Sequence[str] | None = None,
        ordered: bool = True,
    ) -> Iterator[EventRow]:
        """Events in time order (then arrival order), streamed. ``ordered=False`` skips the
        sort (storage order) for aggregations that need no order, such as health."""
        where, params = ["tenant = ?"], [tenant]
        for column, value in (("account_id", account_id), ("user_id", user_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since_ms is not None:
            where.append("ts_ms >= ?")
            params.append(since_ms)  # type: ignore[arg-type]
        if types:
            where.append(f"type IN ({', '.join('?' for _ in types)})")
            params.extend(types)
        statement = f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)}"
        if ordered:
            statement += " ORDER BY ts_ms, seq"
        for row in self.db.stream(statement, params):
            yield EventRow(*row)

    def account_events(
        self,
        tenant: str,
        account_id: str,
        limit: int = 50,
        cursor: str | None = None,
        types: Sequence[str] | None = None,
    ) -> tuple[int, list[dict[str, Any]], str | None]:
        """(total, a page of events newest first, the cursor of the next page or None)."""
        where, params = "tenant = ? AND account_id = ?", [tenant, account_id]
        if types:
            where += f" AND type IN ({', '.join('?' for _ in types)})"
            params += list(types)
        total_row = self.db.fetchone(f"SELECT COUNT(*) FROM events WHERE {where}", params)
        total = int(total_row[0]) if total_row else 0
        if cursor is not None:
            ts_ms, seq = _decode_cursor(cursor)
            where += " AND (ts_ms < ? OR (ts_ms = ? AND seq < ?))"
            params += [ts_ms, ts_ms, seq]  # type: ignore[list-item]
        rows = self.db.fetchall(
            f"SELECT seq, id, type, account_id, user_id, ts_ms, properties FROM events "
            f"WHERE {where} ORDER BY ts_ms DESC, seq DESC LIMIT ?",
            [*params, limit + 1],
        )
        page = rows[:limit]
        events = [
            {
                "id": r[1],
                "type": r[2],
                "account_id": r[3],
                "user_id": r[4],
                "ts": _iso(int(r[5])),
                "properties": json.loads(r[6]),
            }
            for r in page
        ]
        more = len(rows) > limit
        next_cursor = _encode_cursor(int(page[-1][5]), int(page[-1][0])) if more else None
        return total, events, next_cursor

    def accounts(self, tenant: str) -> list[str]:
        rows = self.db.fetchall(
            "SELECT DISTINCT account_id FROM events WHERE tenant = ? ORDER BY account_id",
            (tenant,),
        )
        return [r[0] for r in rows]

    def joined_account(self, tenant: str, user_id: str) -> str | None:
        """The account of the user's latest ``account_updated`` sent with their user id (a
        Segment ``group`` call: "this user belongs to that account"), or None."""
        row = self.db.fetchone(
            "SELECT account_id FROM events WHERE tenant = ? AND user_id = ? "
            "AND type = 'account_updated' ORDER BY ts_ms DESC, seq DESC LIMIT 1",
            (tenant, user_id),
        )
        return str(row[0]) if row else None

    def has_account(self, tenant: str, account_id: str) -> bool:
        row = self.db.fetchone(
            "SELECT 1 FROM events WHERE tenant = ? AND account_id = ? LIMIT 1",
            (tenant, account_id),
        )
        return row is not None

    def known_ids(self, tenant: str, ids: Sequence[str], sender: str = HOST) -> set[str]:
        """Which of ``ids`` this sender already used."""
        known: set[str] = set()
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = list(ids[start:start + _LOOKUP_CHUNK])
            rows = self.db.fetchall(
                f"SELECT id FROM events WHERE tenant = ? AND sender = ? AND id IN "
                f"({', '.join('?' for _ in chunk)})",
                (tenant, sender, *chunk),
            )
            known.update(r[0] for r in rows)
        return known

    def done_by(self, tenant: str, user_id: str) -> set[tuple[str, str | None]]:
        """Every (type, subject) a user has in the log, once each: what they ever did."""
        rows = self.db.fetchall(
            "SELECT DISTINCT type, subject FROM events WHERE tenant = ? AND user_id = ?",
            (tenant, user_id),
        )
        return {(r[0], r[1]) for r in rows}

    def count(self, tenant: str | None = None) -> int:
        if tenant is None:
            row = self.db.fetchone("SELECT COUNT(*) FROM events")
        else:
            row = self.db.fetchone("SELECT COUNT(*) FROM events WHERE tenant = ?", (tenant,))
        return int(row[0]) if row else 0


def _payload(event: Event) -> tuple[Any, ...]:
    """What makes two events with one id the same event (the subject follows from these)."""
    return (event.type, event.account_id, event.user_id, event.ts_ms, event.properties)


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _encode_cursor(ts_ms: int, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{ts_ms}.{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        ts_ms, seq = base64.urlsafe_b64decode(padded.encode()).decode().split(".")
        return int(ts_ms), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise LearnloopError(
            ErrorCode.invalid_input, f"cursor {cursor!r} is not one this API returned"
        ) from None
