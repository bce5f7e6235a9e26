"""Conversations: sessions and their turns, stored in SQLite (not only in memory), so a
follow-up can be resolved against what was asked before and any worker can continue it."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.answers import Answer

__all__ = ["ConversationStore", "resolve_follow_up"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, kb TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL, payload TEXT,
    created_at TEXT NOT NULL, UNIQUE (session_id, seq)
);
"""
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
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def create_session(self, kb: str) -> str:
        session_id = uuid.uuid4().hex
        with self._lock:
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (session_id, kb, _now()))
        return session_id

    def session(self, session_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT id, kb, created_at FROM sessions WHERE id=?", (session_id,)
        ).fetchone()
        if row is None:
            return None
        messages = [
            {
                "message_id": m[0],
                "role": m[1],
                "text": m[2],
                "answer": json.loads(m[3]) if m[3] else None,
                "created_at": m[4],
            }
            for m in self._db.execute(
                "SELECT id, role, text, payload, created_at FROM messages "
                "WHERE session_id=? ORDER BY seq",
                (session_id,),
            )
        ]
        return {"session_id": row[0], "kb": row[1], "created_at": row[2], "messages": messages}

    def questions(self, session_id: str, limit: int = 5) -> list[str]:
        rows = self._db.execute(
            "SELECT text FROM messages WHERE session_id=? AND role='user' ORDER BY seq DESC "
            "LIMIT ?",
            (session_id, limit),
        ).fetchall()
        return [r[0] for r in reversed(rows)]

    def add_turn(self, session_id: str, question: str, answer: Answer) -> str:
        """Store the question and its answer together; returns the answer's message id."""
        message_id = uuid.uuid4().hex
        payload = json.dumps(
            answer.as_dict() | {"message_id": message_id, "session_id": session_id}
        )
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._db.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE session_id=?",
                    (session_id,),
                ).fetchone()[0]
                now = _now()
                self._db.execute(
                    "INSERT INTO messages VALUES (?,?,?,?,?,?,?)",
                    (uuid.uuid4().hex, session_id, seq + 1, "user", question, None, now),
                )
                self._db.execute(
                    "INSERT INTO messages VALUES (?,?,?,?,?,?,?)",
                    (message_id, session_id, seq + 2, "assistant", answer.answer, payload, now),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return message_id

    def count_messages(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def _now() -> str:
    return datetime.now(UTC).isoformat()
