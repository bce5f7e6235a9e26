"""Answer metrics on a hand-built example (the answerer is a plain function here)."""

from __future__ import annotations

import pytest

from assistant.answers import Answer, Citation, Handoff
from evals.answer_eval import run_answer_eval
from evals.retrieval_eval import Question


def cited(*articles: str) -> Answer:
    citations = [Citation(i + 1, a, a, None, "") for i, a in enumerate(articles)]
    return Answer("text", citations, 0.8, True, Handoff(False))


DECLINED = Answer("no", [], 0.1, False, Handoff(True, "low confidence"))

QUESTIONS = [
    Question("a", "q1", "en", True, ["x.md"]),             # first citation right
    Question("b", "q2", "en", True, ["y.md"]),             # second citation right only
    Question("c", "q3", "es", True, ["z.md"]),             # wrongly declined
    Question("d", "q4", "en", False, [], kind="out-of-scope"),  # declined: right
    Question("e", "q5", "en", False, [], kind="near-miss"),     # answered: wrong
]
ANSWERS = {"q1": cited("x.md"), "q2": cited("w.md", "y.md"), "q3": DECLINED, "q4": DECLINED,
           "q5": cited("x.md")}


def test_hand_computed_metrics():
    report = run_answer_eval(ANSWERS.__getitem__, QUESTIONS)
    assert report["first_citation_in_gold"] == pytest.approx(1 / 3)
    assert report["any_citation_in_gold"] == pytest.approx(2 / 3)
    assert report["first_in_gold_when_answered"] == pytest.approx(1 / 2)
    assert report["wrong_decline_rate"] == pytest.approx(1 / 3)
    assert report["decline_precision"] == pytest.approx(1 / 2)   # q3 and q4 declined
    assert report["decline_recall"] == pytest.approx(1 / 2)      # q4 of q4, q5
    assert report["out_of_scope_declined"] == 1.0
    assert report["near_miss_declined"] == 0.0
    assert report["by_lang"]["es"]["wrong_decline_rate"] == 1.0
