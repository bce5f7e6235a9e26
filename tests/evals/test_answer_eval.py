"""Answer metrics on a hand-built example (the answerer is a plain function here)."""

from __future__ import annotations

import pytest

from assistant.answering.answers import Answer, Citation, Handoff
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
    assert report["by_kind"]["out-of-scope"] == {
        "questions": 1, "declined": 1.0, "first_citation_in_gold": 0.0}


def test_same_domain_unanswerable_questions_are_reported_apart_from_out_of_scope():
    questions = [Question("g1", "q1", "en", False, [], kind="unanswerable"),
                 Question("g2", "q2", "en", False, [], kind="unanswerable"),
                 Question("o1", "q3", "en", False, [], kind="out-of-scope")]
    answers = {"q1": DECLINED, "q2": cited("x.md"), "q3": cited("x.md")}
    report = run_answer_eval(answers.__getitem__, questions)
    assert report["unanswerable_declined"] == 0.5
    assert report["out_of_scope_declined"] == 0.0
    assert report["by_kind"]["unanswerable"]["declined"] == 0.5


def test_a_near_miss_answered_with_its_source_but_not_answered_counts_as_not_stated():
    partial = Answer("I couldn't find that price", [Citation(1, "x.md", "x", None, "")], 0.5,
                     False, Handoff(True, "the price asked is not in the quoted passages"))
    questions = [Question("n1", "q1", "en", False, [], kind="near-miss"),
                 Question("n2", "q2", "en", False, [], kind="near-miss")]
    report = run_answer_eval({"q1": partial, "q2": DECLINED}.__getitem__, questions)
    assert report["near_miss_declined"] == 1.0
    assert report["near_miss_not_stated"] == 0.5
    assert report["rows"][0]["reason"] == "the price asked is not in the quoted passages"


def test_answer_words_quoted_counts_the_reference_words_in_the_quotes_only():
    reference = "Open Settings, then Export and choose CSV."  # open setting export choos csv
    quoting = Answer(
        "Open **Settings** and select **Export**. [1]\n\nSources:\n[1] Export CSV — https://x",
        [Citation(1, "x.md", "Export CSV", "https://x", "")], 0.9, True, Handoff(False),
    )
    questions = [
        Question("w1", "q1", "en", True, ["x.md"], answer=reference),
        Question("w2", "q2", "en", True, ["x.md"]),  # no reference: not counted
        Question("w3", "q3", "en", True, ["y.md"], answer=reference),  # wrong article
    ]
    report = run_answer_eval({"q1": quoting, "q2": quoting, "q3": quoting}.__getitem__, questions)
    # open, setting, export of the five reference terms; "CSV" in the sources list is no quote
    assert report["rows"][0]["answer_words_quoted"] == pytest.approx(3 / 5)
    assert report["rows"][1]["answer_words_quoted"] is None
    assert report["rows"][2]["answer_words_quoted"] is None
    assert report["answer_words_quoted"] == pytest.approx(0.6)
    assert report["answers_with_half_the_words"] == 1.0
    assert report["mean_words_quoted"] == pytest.approx(5.0)  # markers and sources not counted
