"""The copilot's quality figures from its drafts and the agents' feedback (pure).

Per knowledge base and per cited article, over a window of days:

- ``drafts``, ``abstentions`` and ``abstention_rate`` (abstentions / drafts);
- ``feedback`` (drafts an agent accepted, edited or rejected) and, over those,
  ``acceptance_rate``, ``edit_rate`` and ``rejection_rate``: a draft nobody rated is
  unknown, not a rejection;
- ``mean_edit_distance``: over edited drafts, the Levenshtein distance between the draft and
  what the agent sent, divided by the longer text's length (0 = unchanged, 1 = rewritten).

A draft counts once for each article it cites.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assistant.copilot.store import DraftRecord, FeedbackRecord

__all__ = ["levenshtein", "normalised_edit_distance", "quality_report"]


def levenshtein(a: str, b: str) -> int:
    """Insertions, deletions and substitutions (one character each) turning ``a`` into ``b``."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def normalised_edit_distance(draft: str, final: str) -> float:
    longest = max(len(draft), len(final))
    return levenshtein(draft, final) / longest if longest else 0.0


@dataclass
class _Tally:
    drafts: int = 0
    abstentions: int = 0
    actions: dict[str, int] = field(
        default_factory=lambda: {"accepted": 0, "edited": 0, "rejected": 0})
    distances: list[float] = field(default_factory=list)

    def add(self, draft: DraftRecord, feedback: FeedbackRecord | None) -> None:
        self.drafts += 1
        self.abstentions += draft.abstained
        if feedback is None:
            return
        self.actions[feedback.action] += 1
        if feedback.action == "edited" and feedback.edit_distance is not None:
            self.distances.append(feedback.edit_distance)

    def as_dict(self) -> dict[str, Any]:
        rated = sum(self.actions.values())

        def rate(count: int, total: int) -> float | None:
            return round(count / total, 4) if total else None

        return {
            "drafts": self.drafts,
            "abstentions": self.abstentions,
            "abstention_rate": rate(self.abstentions, self.drafts),
            "feedback": rated,
            **self.actions,
            "acceptance_rate": rate(self.actions["accepted"], rated),
            "edit_rate": rate(self.actions["edited"], rated),
            "rejection_rate": rate(self.actions["rejected"], rated),
            "mean_edit_distance": (
                round(sum(self.distances) / len(self.distances), 4) if self.distances else None
            ),
        }


def quality_report(
    rows: Iterable[tuple[DraftRecord, FeedbackRecord | None]],
) -> dict[str, Any]:
    """``{"totals", "by_kb", "by_article"}`` over the drafts (each with its feedback)."""
    totals = _Tally()
    by_kb: dict[str, _Tally] = {}
    by_article: dict[tuple[str, str], _Tally] = {}
    titles: dict[tuple[str, str], str] = {}
    for draft, feedback in rows:
        totals.add(draft, feedback)
        by_kb.setdefault(draft.kb, _Tally()).add(draft, feedback)
        cited = dict.fromkeys(str(c.get("article_id")) for c in draft.citations)
        for citation in draft.citations:
            titles.setdefault((draft.kb, str(citation.get("article_id"))),
                              str(citation.get("title") or ""))
        for article in cited:
            by_article.setdefault((draft.kb, article), _Tally()).add(draft, feedback)
    return {
        "totals": totals.as_dict(),
        "by_kb": [{"kb": kb, **tally.as_dict()} for kb, tally in sorted(by_kb.items())],
        "by_article": [
            {"kb": kb, "article_id": article, "title": titles[(kb, article)], **tally.as_dict()}
            for (kb, article), tally in sorted(
                by_article.items(), key=lambda item: (-item[1].drafts, item[0]))
        ],
    }
