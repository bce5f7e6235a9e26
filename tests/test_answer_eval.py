"""Answer metrics on a hand-built example (the answerer is a plain function here)."""

from __future__ import annotations

import pytest

from assistant.answers import Answer, Citation, Handoff
from assistant.scope import Relevance
from evals.answer_eval import Observation, fit_relevance, relevance_figures, run_answer_eval
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


def test_a_near_miss_answered_with_its_source_but_not_answered_counts_as_not_stated():
    partial = Answer("I couldn't find that price", [Citation(1, "x.md", "x", None, "")], 0.5,
                     False, Handoff(True, "the price asked is not in the quoted passages"))
    questions = [Question("n1", "q1", "en", False, [], kind="near-miss"),
                 Question("n2", "q2", "en", False, [], kind="near-miss")]
    report = run_answer_eval({"q1": partial, "q2": DECLINED}.__getitem__, questions)
    assert report["near_miss_declined"] == 1.0
    assert report["near_miss_not_stated"] == 0.5
    assert report["rows"][0]["reason"] == "the price asked is not in the quoted passages"


def observation(set_name: str, similarity: float, answerable: bool = True,
                kind: str = "how-to", refused: bool = False,
                elsewhere: float = 0.0) -> Observation:
    return Observation(set_name, f"{set_name}-{similarity}-{elsewhere}", answerable, kind,
                       similarity, refused, elsewhere)


def test_the_fitted_threshold_declines_most_out_of_scope_within_the_wrong_decline_budget():
    answerable = [observation("a", 0.30 + 0.01 * i) for i in range(50)]  # 0.30 .. 0.79
    outside = [observation("a", s, answerable=False, kind="out-of-scope")
               for s in (0.10, 0.25, 0.31, 0.60)]
    near = [observation("a", 0.20, answerable=False, kind="near-miss")]  # not fitted on
    refused = [observation("a", 0.0, answerable=False, kind="out-of-scope", refused=True)]
    # 6% of 50 answerable questions is 3: a threshold of 0.32 declines 0.30 and 0.31; 0.34
    # would decline four.
    relevance = fit_relevance(answerable + outside + near + refused)
    assert relevance.threshold == 0.32
    figures = relevance_figures(relevance, answerable + outside + near + refused)
    assert figures["wrong_decline_rate"] == pytest.approx(2 / 50)
    assert figures["out_of_scope_declined"] == pytest.approx(4 / 5)  # the refusal counts
    assert figures["near_miss_declined"] == 1.0


def test_of_equally_good_rules_the_highest_threshold_without_an_off_topic_line_is_kept():
    answerable = [observation("a", 0.50 + 0.01 * i) for i in range(10)]
    outside = [observation("a", 0.25, answerable=False, kind="out-of-scope")]
    relevance = fit_relevance(answerable + outside)
    assert relevance.threshold == 0.40  # the highest tried
    assert not relevance.off_topic(0.25, 0.0) and not relevance.off_topic(0.5, 0.9)


def test_the_off_topic_line_declines_what_similarity_alone_cannot():
    # Out-of-scope questions whose passages score like answerable ones, but which resemble
    # the off-topic examples far more.
    answerable = [observation("a", 0.40 + 0.01 * i, elsewhere=0.25) for i in range(20)]
    outside = [observation("a", s, answerable=False, kind="out-of-scope", elsewhere=0.55)
               for s in (0.45, 0.50)]
    pool = answerable + outside
    assert relevance_figures(Relevance(0.46, 0.0, 9.0), pool)["wrong_decline_rate"] > 0.08
    relevance = fit_relevance(pool)
    figures = relevance_figures(relevance, pool)
    assert figures["out_of_scope_declined"] == 1.0
    assert figures["wrong_decline_rate"] == 0.0


def test_a_wrong_decline_with_a_close_passage_costs_more_than_one_with_a_middling_passage():
    others = [observation("a", 0.60, elsewhere=0.20) for _ in range(23)]
    weak = observation("a", 0.30, elsewhere=0.55)
    strong = observation("a", 0.80, elsewhere=0.70)
    outside = observation("a", 0.50, answerable=False, kind="out-of-scope", elsewhere=0.60)
    # No line declines the out-of-scope question alone: one answerable question goes with
    # it. A flat line declines the strong one; the fit keeps it and gives up the weak one.
    flat = Relevance(0.20, 0.0, 0.56)
    assert flat.off_topic(outside.similarity, outside.elsewhere)
    assert flat.off_topic(strong.similarity, strong.elsewhere)
    assert not flat.off_topic(weak.similarity, weak.elsewhere)
    relevance = fit_relevance([*others, weak, strong, outside])
    assert not relevance.in_scope(outside.similarity, outside.elsewhere)
    assert relevance.in_scope(strong.similarity, strong.elsewhere)
    assert not relevance.in_scope(weak.similarity, weak.elsewhere)
