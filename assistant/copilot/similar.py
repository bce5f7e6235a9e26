"""The seam for solved tickets similar to the one at hand (agent-only knowledge).

The ticket ingest plugs its search in through the composition root
(``assistant.services``); until then the copilot uses ``no_similar_tickets``.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["SimilarTickets", "no_similar_tickets"]


class SimilarTickets(Protocol):
    def __call__(self, tenant: str, kb: str, text: str, k: int) -> list[dict[str, Any]]:
        """Up to ``k`` solved tickets of the tenant's ``kb`` like ``text``, best first, each
        with its own citation ("ticket #123")."""
        ...


def no_similar_tickets(tenant: str, kb: str, text: str, k: int) -> list[dict[str, Any]]:
    return []
