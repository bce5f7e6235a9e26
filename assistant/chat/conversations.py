"""Conversations: sessions and their turns, stored in the database (SQLite by default,
PostgreSQL by URL), so a follow-up can be resolved against what was asked before and any
worker can continue it."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from assistant.access.registry import DEFAULT_TENANT, Caller
from assistant.answering.answers import Answer
from assistant.storage.database import Database

__all__ = ["ConversationStore", "resolve_follow_up"]

# Migrations in order (component "conversations"); portable SQL for both dialects.
_MIGRATIONS = (
    """
    CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY, kb TEXT NOT NULL, created_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS messages (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL, payload TEXT,
        created_at TEXT NOT NULL, UNIQUE (session_id, seq)
    );
    """,
    # Sessions belong to a tenant and, when an end user started them, to that user.
    """
    ALTER TABLE sessions ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
    ALTER TABLE sessions ADD COLUMN user_id TEXT;
    ALTER TABLE sessions ADD COLUMN account_id TEXT;
    CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (tenant, user_id);
    """,
)
_FOLLOW_UP_START = re.compile(
    r"^\s*(and|also|what about|how about|same for|y|¿y|también|tambien|y en|y si)\b", re.I
)


def resolve_follow_up(question: str, previous_questions: list[str]) -> str:
    """The text to search for: a short or "and …?" follow-up carries the last question along.

    "and on mobile?" after "how do I turn off notifications" searches for both, so the
    answer is about notifications on mobile rather than about the mobile app in general.
    """
    if not previous_questions:
        return question
    words = re.findall(r"\w+", question)
    if len(words) <= 4 or _FOLLOW_UP_START.match(question):
        return f"{previous_questions[-1]} {question}"
    return question


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate("conversations", _MIGRATIONS, adopt_user_version=True)

    def create_session(
        self,
        kb: str,
        tenant: str = DEFAULT_TENANT,
        user_id: str | None = None,
        account_id: str | None = None,
    ) -> str:
        session_id = uuid.uuid4().hex
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO sessions (id, kb, created_at, tenant, user_id, account_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, kb, _now(), tenant, user_id, account_id),
            )
        return session_id

    def session(self, session_id: str, caller: Caller | None = None) -> dict[str, Any] | None:
        """The session with its messages, or None when it does not exist *for this caller*:
        another tenant's session, or another end user's, is reported exactly like a missing
        one, so ids cannot be probed."""
        row = self._db.fetchone(
            "SELECT id, kb, created_at, tenant, user_id, account_id FROM sessions WHERE id=?",
            (session_id,),
        )
        if row is None or (caller is not None and not _visible(row[3], row[4], caller)):
            return None
        messages = [
            {
                "message_id": m[0],
                "role": m[1],
                "text": m[2],
                "answer": json.loads(m[3]) if m[3] else None,
                "created_at": m[4],
            }
            for m in self._db.fetchall(
                "SELECT id, role, text, payload, created_at FROM messages "
                "WHERE session_id=? ORDER BY seq",
                (session_id,),
            )
        ]
        return {
            "session_id": row[0],
            "kb": row[1],
            "created_at": row[2],
            "user_id": row[4],
            "account_id": row[5],
            "messages": messages,
        }

    def sessions(
        self, caller: Caller, user_id: str | None = None, kb: str | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        """The sessions with at least one turn that ``caller`` may see, latest activity first:
        an end user's own (so a second device picks the conversation up), or for staff the
        tenant's, of one user when ``user_id`` is given."""
        if caller.is_end_user:
            user_id = caller.user_id
            if user_id is None:
                return []
        where, params = ["s.tenant=?"], [caller.tenant]
        if user_id is not None:
            where.append("s.user_id=?")
            params.append(user_id)
        if kb is not None:
            where.append("s.kb=?")
            params.append(kb)
        rows = self._db.fetchall(
            "SELECT s.id, s.kb, s.created_at, s.user_id, s.account_id, COUNT(m.id), "
            "MAX(m.created_at) FROM sessions s JOIN messages m ON m.session_id = s.id "
            f"WHERE {' AND '.join(where)} "
            "GROUP BY s.id, s.kb, s.created_at, s.user_id, s.account_id "
            "ORDER BY MAX(m.created_at) DESC, s.id LIMIT ?",
            (*params, limit),
        )
        return [
            {
                "session_id": r[0], "kb": r[1], "created_at": r[2], "user_id": r[3],
                "account_id": r[4], "messages": int(r[5]), "last_message_at": r[6],
            }
            for r in rows
        ]

    def questions(self, session_id: str, limit: int = 5) -> list[str]:
        rows = self._db.fetchall(
            "SELECT text FROM messages WHERE session_id=? AND role='user' ORDER BY seq DESC "
            "LIMIT ?",
            (session_id, limit),
        )
        return [r[0] for r in reversed(rows)]

    def add_turn(self, session_id: str, question: str, answer: Answer) -> str:
        """Store the question and its answer together; returns the answer's message id."""
        message_id = uuid.uuid4().hex
        payload = json.dumps(
            answer.as_dict() | {"message_id": message_id, "session_id": session_id}
        )
        with self._db.transaction() as tx:
            if self._db.dialect == "postgresql":  # SQLite's BEGIN IMMEDIATE already serializes
                tx.execute("SELECT id FROM sessions WHERE id=? FOR UPDATE", (session_id,))
            found = tx.fetchone(
                "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE session_id=?", (session_id,)
            )
            seq = int(found[0]) if found else 0
            now = _now()
            tx.executemany(
                "INSERT INTO messages (id, session_id, seq, role, text, payload, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (uuid.uuid4().hex, session_id, seq + 1, "user", question, None, now),
                    (message_id, session_id, seq + 2, "assistant", answer.answer, payload, now),
                ],
            )
        return message_id

    def count_messages(self) -> int:
        row = self._db.fetchone("SELECT COUNT(*) FROM messages")
        return int(row[0]) if row else 0


def _visible(tenant: str, user_id: str | None, caller: Caller) -> bool:
    if tenant != caller.tenant:
        return False
    # Staff keys (agent, csm, admin) see the tenant's conversations; an end user only theirs.
    return not caller.is_end_user or user_id == caller.user_id


def _now() -> str:
    return datetime.now(UTC).isoformat()
