"""Copilot drafts and the agents' feedback on them (SQLite or PostgreSQL).

A draft is stored when it is made, so that feedback can name it and the insights can count
it; a draft takes at most one feedback (a second is a conflict: the first verdict is what
the agent did with the draft, and rates must not count one draft twice).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from assistant.errors import ErrorCode, LearnloopError
from assistant.storage.database import Database, is_unique_violation

__all__ = ["ACTIONS", "Action", "CopilotDrafts", "DraftRecord", "FeedbackRecord"]

Action = Literal["accepted", "edited", "rejected"]
ACTIONS: tuple[Action, ...] = ("accepted", "edited", "rejected")

_MIGRATIONS = (
    """
    CREATE TABLE IF NOT EXISTS copilot_drafts (
        draft_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        kb TEXT NOT NULL,
        account_id TEXT,
        user_id TEXT,
        question TEXT NOT NULL,
        draft TEXT NOT NULL,
        citations TEXT NOT NULL,
        abstained INTEGER NOT NULL,
        confidence REAL NOT NULL,
        created_ms {BIGINT} NOT NULL
    );
    CREATE INDEX IF NOT EXISTS copilot_drafts_by_time ON copilot_drafts (tenant, created_ms);
    CREATE TABLE IF NOT EXISTS copilot_feedback (
        draft_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        action TEXT NOT NULL,
        final_text TEXT,
        reason TEXT,
        edit_distance REAL,
        created_ms {BIGINT} NOT NULL
    )
    """,
)


@dataclass(frozen=True)
class DraftRecord:
    draft_id: str
    tenant: str
    kb: str
    account_id: str | None
    user_id: str | None
    question: str
    draft: str
    citations: list[dict[str, Any]]
    abstained: bool
    confidence: float
    created_ms: int


@dataclass(frozen=True)
class FeedbackRecord:
    draft_id: str
    action: Action
    final_text: str | None
    reason: str | None
    edit_distance: float | None
    created_ms: int


class CopilotDrafts:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("copilot", _MIGRATIONS)
        self._changes: Counter[str] = Counter()  # feedback stored by this process, per tenant

    def add(
        self, tenant: str, kb: str, account_id: str | None, user_id: str | None, question: str,
        draft: str, citations: list[dict[str, Any]], abstained: bool, confidence: float,
        created_ms: int,
    ) -> DraftRecord:
        record = DraftRecord(
            f"dr_{uuid.uuid4().hex}", tenant, kb, account_id, user_id, question, draft,
            citations, abstained, confidence, created_ms,
        )
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO copilot_drafts (draft_id, tenant, kb, account_id, user_id, "
                "question, draft, citations, abstained, confidence, created_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.draft_id, tenant, kb, account_id, user_id, question, draft,
                 json.dumps(citations, ensure_ascii=False), int(abstained), confidence,
                 created_ms),
            )
        return record

    def get(self, tenant: str, draft_id: str) -> DraftRecord | None:
        """The tenant's draft of that id; another tenant's is as absent as a missing one."""
        row = self.db.fetchone(
            f"SELECT {_DRAFT_COLUMNS} FROM copilot_drafts WHERE tenant = ? AND draft_id = ?",
            (tenant, draft_id),
        )
        return _draft(row) if row else None

    def add_feedback(
        self, tenant: str, draft_id: str, action: Action, final_text: str | None,
        reason: str | None, edit_distance: float | None, created_ms: int,
    ) -> FeedbackRecord:
        try:
            with self.db.transaction() as tx:
                tx.execute(
                    "INSERT INTO copilot_feedback (draft_id, tenant, action, final_text, "
                    "reason, edit_distance, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (draft_id, tenant, action, final_text, reason, edit_distance, created_ms),
                )
        except Exception as exc:
            if is_unique_violation(exc):
                raise LearnloopError(
                    ErrorCode.conflict, f"draft '{draft_id}' already has feedback"
                ) from None
            raise
        self._changes[tenant] += 1
        return FeedbackRecord(draft_id, action, final_text, reason, edit_distance, created_ms)

    def changes(self, tenant: str) -> int:
        """How much feedback this process stored for ``tenant`` (a cache key for reports)."""
        return self._changes[tenant]

    def since(
        self, tenant: str, since_ms: int, kb: str | None = None
    ) -> list[tuple[DraftRecord, FeedbackRecord | None]]:
        """The tenant's drafts made since ``since_ms`` (of one knowledge base), oldest first,
        each with its feedback if it has any."""
        where, params = "d.tenant = ? AND d.created_ms >= ?", [tenant, since_ms]
        if kb is not None:
            where += " AND d.kb = ?"
            params.append(kb)
        rows = self.db.fetchall(
            f"SELECT {_DRAFT_COLUMNS_D}, f.action, f.final_text, f.reason, f.edit_distance, "
            f"f.created_ms FROM copilot_drafts d LEFT JOIN copilot_feedback f "
            f"ON f.draft_id = d.draft_id AND f.tenant = d.tenant WHERE {where} "
            f"ORDER BY d.created_ms, d.draft_id",
            params,
        )
        return [_with_feedback(row) for row in rows]

    def feedback_since(
        self, tenant: str, since_ms: int, account_id: str | None = None
    ) -> list[tuple[DraftRecord, FeedbackRecord]]:
        """Drafts whose feedback was given since ``since_ms`` (of one account), oldest first."""
        where, params = "f.tenant = ? AND f.created_ms >= ?", [tenant, since_ms]
        if account_id is not None:
            where += " AND d.account_id = ?"
            params.append(account_id)
        rows = self.db.fetchall(
            f"SELECT {_DRAFT_COLUMNS_D}, f.action, f.final_text, f.reason, f.edit_distance, "
            f"f.created_ms FROM copilot_feedback f JOIN copilot_drafts d "
            f"ON d.draft_id = f.draft_id AND d.tenant = f.tenant WHERE {where} "
            f"ORDER BY f.created_ms, d.created_ms, d.draft_id",
            params,
        )
        found = [_with_feedback(row) for row in rows]
        return [(draft, feedback) for draft, feedback in found if feedback is not None]


_DRAFT_FIELDS = ("draft_id", "tenant", "kb", "account_id", "user_id", "question", "draft",
                 "citations", "abstained", "confidence", "created_ms")
_DRAFT_COLUMNS = ", ".join(_DRAFT_FIELDS)
_DRAFT_COLUMNS_D = ", ".join(f"d.{name}" for name in _DRAFT_FIELDS)


def _draft(row: tuple[Any, ...]) -> DraftRecord:
    (draft_id, tenant, kb, account_id, user_id, question, draft, citations, abstained,
     confidence, created_ms) = row
    return DraftRecord(draft_id, tenant, kb, account_id, user_id, question, draft,
                       json.loads(citations), bool(abstained), float(confidence),
                       int(created_ms))


def _with_feedback(row: tuple[Any, ...]) -> tuple[DraftRecord, FeedbackRecord | None]:
    """A draft's columns followed by its feedback's (all NULL when it has none)."""
    width = len(_DRAFT_FIELDS)
    draft = _draft(row[:width])
    action, final_text, reason, distance, created = row[width:]
    if action is None:
        return draft, None
    return draft, FeedbackRecord(draft.draft_id, action, final_text, reason,
                                 None if distance is None else float(distance), int(created))
