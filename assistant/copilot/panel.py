"""The customer panel beside a draft: what this user asked, could not get answered and read,
from the engagement log — always read for one user *within* one account of the caller's
tenant, so a ticket can never pull another customer's history into view."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assistant.events.model import EventRow

__all__ = ["History", "read_history"]

PANEL_ITEMS = 5  # the newest questions and articles shown; an agent skims, not audits
_READ = ("article_viewed", "citation_clicked")


@dataclass
class History:
    """One user's questions and reading, newest first."""

    recent_questions: list[dict[str, Any]] = field(default_factory=list)
    unanswered_questions: list[dict[str, Any]] = field(default_factory=list)
    articles_read: list[dict[str, Any]] = field(default_factory=list)
    # Articles already explained to them: read, or cited by an answer they were given.
    read_ids: set[str] = field(default_factory=set)
    answered_with: dict[str, str] = field(default_factory=dict)  # article id -> question


def read_history(
    rows: Iterable[EventRow], title_of: Callable[[str], str | None]
) -> History:
    """The history in ``rows`` (one user's events, time order); ``title_of`` names an
    article of the knowledge base (None: not one of its articles)."""
    asked: list[dict[str, Any]] = []
    declined: list[dict[str, Any]] = []
    read: dict[str, dict[str, Any]] = {}
    answered_with: dict[str, str] = {}
    for row in rows:
        when = _iso(row.ts_ms)
        if row.type == "question_asked":
            question = str(row.props().get("question") or "").strip()
            if question:
                asked.append({"question": question, "ts": when})
        elif row.type == "answer_given":
            props = row.props()
            question = str(props.get("question") or "").strip()
            if props.get("answered") is False and question:
                declined.append({"question": question, "ts": when})
            elif props.get("answered") is True and question:
                for article in props.get("cited") or []:
                    answered_with[str(article)] = question
        elif row.type in _READ and row.subject:
            read.pop(row.subject, None)  # re-read: moves to the newest
            read[row.subject] = {"article_id": row.subject,
                                 "title": title_of(row.subject) or row.subject, "ts": when}
    return History(
        recent_questions=asked[::-1][:PANEL_ITEMS],
        unanswered_questions=declined[::-1][:PANEL_ITEMS],
        articles_read=list(read.values())[::-1][:PANEL_ITEMS],
        read_ids=set(read),
        answered_with=answered_with,
    )


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
