"""Solved tickets like the one an agent is answering: the copilot's one way to read tickets.

Tickets are agent-only knowledge (``TicketBase``: stored apart from the knowledge base, under
its own root and Chroma collection). This is the only reader of that collection, and it
checks the caller's role itself, so that no route, present or future, can hand tickets to an
end user by calling it: ``admin`` and ``agent`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.access.registry import Caller, Role
from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge.base import Knowledge
from assistant.knowledge.retrieval import Retriever
from assistant.knowledge.trust import ContactDomains, untrusted_sentences, without_untrusted

__all__ = ["TICKET_ROLES", "SimilarTicket", "similar_tickets"]

TICKET_ROLES: tuple[Role, ...] = ("admin", "agent")
MAX_K = 20
_SNIPPET_CHARS = 320


@dataclass(frozen=True)
class SimilarTicket:
    ticket_id: str
    subject: str
    resolution: str  # a snippet of the redacted resolution
    score: float
    url: str | None = None

    @property
    def citation(self) -> str:
        return f"ticket #{self.ticket_id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "subject": self.subject,
            "resolution": self.resolution,
            "score": round(self.score, 6),
            "citation": self.citation,
            "url": self.url,
        }


def similar_tickets(
    knowledge: Knowledge, caller: Caller, kb: str, text: str, k: int = 3
) -> list[SimilarTicket]:
    """The ``k`` solved tickets of ``caller``'s tenant closest to ``text`` (a ticket's subject
    and body), by the hybrid retrieval articles use. None when the knowledge base has no
    tickets ingested; a role other than admin or agent is refused."""
    caller.require(*TICKET_ROLES)
    if not 1 <= k <= MAX_K:
        raise LearnloopError(ErrorCode.invalid_input, f"k must be between 1 and {MAX_K}")
    try:
        base = knowledge.tickets(kb, tenant=caller.tenant)
    except LearnloopError as exc:
        if exc.code is ErrorCode.kb_not_found:
            return []
        raise
    hits = Retriever.of(knowledge, base).search(text, k=k)
    allowed = base.catalog.contact_domains
    found: list[SimilarTicket] = []
    for hit in hits:
        row = base.catalog.document(hit.article_id)
        if row is None:  # removed since the search's snapshot
            continue
        resolution = str(row.extra.get("resolution", ""))
        # What retrieval never serves (a planted instruction, a payment to a scammer) is not
        # served here either: a ticket is written by anyone who can e-mail support.
        domains = ContactDomains.of(row.url, allowed)
        resolution = without_untrusted(resolution, untrusted_sentences(resolution, domains))
        found.append(
            SimilarTicket(
                ticket_id=str(row.extra.get("ticket_id", hit.article_id.removeprefix("ticket/"))),
                subject=row.title,
                resolution=_snippet(resolution),
                score=hit.score,
                url=row.url,
            )
        )
    return found


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= _SNIPPET_CHARS:
        return flat
    return flat[:_SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
