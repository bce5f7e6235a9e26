"""The copilot's quality figures on hand-computed examples."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.copilot.metrics import levenshtein, normalised_edit_distance, quality_report
from assistant.copilot.store import DraftRecord, FeedbackRecord


@pytest.mark.parametrize(("a", "b", "distance"), [
    ("kitten", "sitting", 3), ("", "abc", 3), ("flaw", "lawn", 2), ("same", "same", 0),
])
def test_levenshtein(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance == levenshtein(b, a)


def test_normalised_edit_distance_divides_by_the_longer_text() -> None:
    assert normalised_edit_distance("kitten", "sitting") == 3 / 7
    assert normalised_edit_distance("", "") == 0.0
    assert normalised_edit_distance("abcd", "") == 1.0


def _draft(n: int, kb: str, cites: list[str], abstained: bool = False) -> DraftRecord:
    citations: list[dict[str, Any]] = [
        {"n": i + 1, "article_id": a, "title": a.upper()} for i, a in enumerate(cites)]
    return DraftRecord(f"d{n}", "t", kb, "acct", "user", f"q{n}", f"draft {n}", citations,
                       abstained, 0.9, n)


def _said(n: int, action: str, distance: float | None = None) -> FeedbackRecord:
    return FeedbackRecord(f"d{n}", action, None, None, distance, n)  # type: ignore[arg-type]


def test_rates_and_edit_distance_per_kb_and_per_article() -> None:
    rows = [
        (_draft(1, "help", ["a", "b"]), _said(1, "accepted")),
        (_draft(2, "help", ["a"]), _said(2, "edited", 3 / 7)),
        (_draft(3, "help", ["b"]), _said(3, "edited", 0.25)),
        (_draft(4, "help", ["a"]), _said(4, "rejected")),
        (_draft(5, "help", [], abstained=True), _said(5, "rejected")),
        (_draft(6, "help", ["a"]), None),  # not rated: in drafts, not in the rates
        (_draft(7, "other", ["c"]), _said(7, "accepted")),
    ]
    report = quality_report(rows)
    assert [row["kb"] for row in report["by_kb"]] == ["help", "other"]
    assert report["by_kb"][0] == {
        "kb": "help", "drafts": 6, "abstentions": 1, "abstention_rate": round(1 / 6, 4),
        "feedback": 5, "accepted": 1, "edited": 2, "rejected": 2,
        "acceptance_rate": 0.2, "edit_rate": 0.4, "rejection_rate": 0.4,
        "mean_edit_distance": round((3 / 7 + 0.25) / 2, 4),
    }
    assert report["totals"]["drafts"] == 7
    assert report["totals"]["acceptance_rate"] == round(2 / 6, 4)
    article = {row["article_id"]: row for row in report["by_article"]}
    # a: drafts 1, 2, 4, 6 — one accepted, one edited (3/7), one rejected, one unrated.
    assert article["a"]["drafts"] == 4 and article["a"]["feedback"] == 3
    assert article["a"]["acceptance_rate"] == round(1 / 3, 4)
    assert article["a"]["mean_edit_distance"] == round(3 / 7, 4)
    assert article["a"]["title"] == "A"
    # b: drafts 1 and 3 — accepted, edited (0.25).
    assert (article["b"]["edit_rate"], article["b"]["mean_edit_distance"]) == (0.5, 0.25)
    assert [row["article_id"] for row in report["by_article"]] == ["a", "b", "c"]


def test_no_drafts_no_rates() -> None:
    report = quality_report([])
    assert report["totals"]["drafts"] == 0
    assert report["totals"]["acceptance_rate"] is None
    assert report["by_kb"] == report["by_article"] == []
