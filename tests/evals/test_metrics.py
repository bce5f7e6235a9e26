"""Ranking metrics on hand-computed examples."""

from __future__ import annotations

import math

import pytest

from evals.metrics import hit_at, ndcg_at, reciprocal_rank_at

RANKED = ["a.md", "b.md", "c.md", "d.md"]


@pytest.mark.parametrize(("gold", "k", "expected"), [
    ({"a.md"}, 1, 1.0),
    ({"b.md"}, 1, 0.0),
    ({"b.md"}, 3, 1.0),
    ({"z.md"}, 10, 0.0),
    ({"d.md", "z.md"}, 4, 1.0),
])
def test_hit_at(gold, k, expected):
    assert hit_at(RANKED, gold, k) == expected


@pytest.mark.parametrize(("gold", "k", "expected"), [
    ({"a.md"}, 10, 1.0),
    ({"c.md"}, 10, 1 / 3),
    ({"c.md", "b.md"}, 10, 1 / 2),  # the first gold counts
    ({"d.md"}, 3, 0.0),  # past the cut-off
    ({"z.md"}, 10, 0.0),
])
def test_reciprocal_rank_at(gold, k, expected):
    assert reciprocal_rank_at(RANKED, gold, k) == pytest.approx(expected)


def test_ndcg_perfect_ranking_is_one():
    assert ndcg_at(RANKED, {"a.md", "b.md"}, 10) == pytest.approx(1.0)


def test_ndcg_two_gold_at_ranks_one_and_three():
    expected = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg_at(RANKED, {"a.md", "c.md"}, 10) == pytest.approx(expected)


def test_ndcg_single_gold_at_rank_two():
    assert ndcg_at(RANKED, {"b.md"}, 10) == pytest.approx(1 / math.log2(3))


def test_ndcg_gold_missing_from_ranking_lowers_the_ideal_not_the_gain():
    # two gold, only one retrieved (rank 1): 1 / (1 + 1/log2(3))
    assert ndcg_at(RANKED, {"a.md", "z.md"}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ndcg_respects_cutoff_and_empty_gold():
    assert ndcg_at(RANKED, {"d.md"}, 3) == 0.0
    assert ndcg_at(RANKED, set(), 10) == 0.0
