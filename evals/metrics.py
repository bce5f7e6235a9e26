"""Ranking metrics over article ids. Pure functions; ``gold`` is the set of correct articles."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

__all__ = ["hit_at", "ndcg_at", "reciprocal_rank_at"]


def hit_at(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """1.0 when any gold article is in the first ``k`` results."""
    return 1.0 if any(a in gold for a in ranked[:k]) else 0.0


def reciprocal_rank_at(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """1 / rank of the first gold article within ``k``, else 0."""
    for rank, article in enumerate(ranked[:k], start=1):
        if article in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k: DCG of the ranking over DCG of the ideal ranking."""
    if not gold:
        return 0.0
    dcg = sum(
        1.0 / math.log2(rank + 1)
        for rank, article in enumerate(ranked[:k], start=1)
        if article in gold
    )
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal
