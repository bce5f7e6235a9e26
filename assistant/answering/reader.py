"""Does the help center answer this question? A small learned judgement over what was found.

The extractive answerer (and the LLM answerer's sufficiency check) must tell three cases
apart after retrieval: the passages answer the question; the question is about this
product but the help center lacks the answer (a *gap*: decline, offer a person, log it as a
content gap); or the question is about something else entirely (*elsewhere*: another
product, a chore for a chatbot). No single similarity cutoff does that on help centers it
was not fitted on (evals/RESULTS.md has the history), so the decision is a multinomial
logistic regression over a few measurements that mean the same on any help center:

- ``similarity``: the best answer unit's dense similarity to the question;
- ``margin``: how far that unit stands above the best unit of any other article;
- ``multilingual``: the multilingual model's similarity of the question to that passage;
- ``elsewhere``: the question's likeness to requests about somewhere else (off_topic.py);
- ``passage_coverage`` / ``article_coverage``: the share of the question's terms, weighted
  by rarity, that the passage / its whole article contain (a gap usually hinges on a word
  the article never uses: "whiteboard", "SAML");
- ``known_terms``: the share of the question's terms the knowledge base uses at all;
- ``terms``: how many terms the question has (log); ``cross_language``: 1 when the question
  is in another language than the passage (every measure above is then noisier);
- ``pair``: the pair judge's best logit over the first few passages (pair_judge.py), a
  cross-encoder that reads question and passage together.

It is trained by ``python -m evals.reader_training`` (after the pair judge, whose scores
are one of its features) on the development question sets as asked of their knowledge bases,
the same questions asked with their gold articles taken out (synthetic gaps), other
products' questions and the off-topic examples; test sets are never used. The weights ship
in ``assistant/data/reader.json`` with the command that made them; evals/RESULTS.md has the
leave-one-knowledge-base-out figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.bundled import DATA_DIR

__all__ = ["CLASSES", "FEATURES", "READER_FILE", "Evidence", "Reader", "Verdict", "default_reader"]

READER_FILE = DATA_DIR / "reader.json"
CLASSES = ("answer", "gap", "elsewhere")
FEATURES = (
    "similarity",
    "margin",
    "multilingual",
    "elsewhere",
    "passage_coverage",
    "article_coverage",
    "known_terms",
    "terms",
    "cross_language",
    "pair",
)


@dataclass(frozen=True)
class Evidence:
    """The measurements the reader judges one question by (see the module docstring)."""

    similarity: float
    margin: float
    multilingual: float
    elsewhere: float
    passage_coverage: float
    article_coverage: float
    known_terms: float
    terms: int
    cross_language: bool
    pair: float

    def vector(self) -> np.ndarray:
        return np.array(
            [
                self.similarity,
                self.margin,
                self.multilingual,
                self.elsewhere,
                self.passage_coverage,
                self.article_coverage,
                self.known_terms,
                math.log1p(self.terms),
                float(self.cross_language),
                self.pair,
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    probabilities: dict[str, float]  # per class in CLASSES

    @property
    def likely(self) -> str:
        """The most probable reason not to answer ("gap" or "elsewhere")."""
        p = self.probabilities
        return "elsewhere" if p["elsewhere"] > p["gap"] else "gap"


class Reader:
    """Multinomial logistic regression over standardized ``Evidence``; a question is answered
    when P(answer) reaches ``threshold``."""

    def __init__(
        self,
        mean: np.ndarray,
        scale: np.ndarray,
        weights: np.ndarray,
        threshold: float,
        provenance: dict[str, object] | None = None,
    ) -> None:
        if weights.shape != (len(CLASSES), len(FEATURES) + 1):
            raise ValueError(f"reader weights have shape {weights.shape}")
        self.mean = mean
        self.scale = scale
        self.weights = weights
        self.threshold = threshold
        self.provenance = provenance or {}

    @classmethod
    def load(cls, path: Path = READER_FILE) -> Reader:
        data = json.loads(path.read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES) or list(data["classes"]) != list(CLASSES):
            raise ValueError(f"{path} was trained on other features; rerun evals.reader_training")
        return cls(
            np.array(data["mean"], dtype=np.float64),
            np.array(data["scale"], dtype=np.float64),
            np.array(data["weights"], dtype=np.float64),
            float(data["threshold"]),
            data.get("provenance"),
        )

    def save(self, path: Path) -> None:
        data = {
            "features": list(FEATURES),
            "classes": list(CLASSES),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [[round(float(v), 6) for v in row] for row in self.weights],
            "threshold": round(self.threshold, 4),
            "provenance": self.provenance,
        }
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    def probabilities(self, evidence: Sequence[Evidence] | np.ndarray) -> np.ndarray:
        """Rows of P(class) in ``CLASSES`` order, one per question."""
        x = (
            evidence
            if isinstance(evidence, np.ndarray)
            else np.stack([e.vector() for e in evidence])
        )
        return _softmax(_design(x, self.mean, self.scale) @ self.weights.T)

    def judge(self, evidence: Evidence) -> Verdict:
        p = self.probabilities([evidence])[0]
        return Verdict(
            bool(p[0] >= self.threshold), {c: float(v) for c, v in zip(CLASSES, p, strict=True)}
        )

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        labels: Sequence[str],
        sample_weight: np.ndarray | None = None,
        l2: float = 1e-2,
        threshold: float = 0.5,
        steps: int = 3000,
    ) -> Reader:
        """Fit by full-batch gradient descent on the weighted cross-entropy plus an L2
        penalty (the problem is convex and small: thousands of rows, ten features). Each
        class counts as much as the others in total (weights rebalanced) unless
        ``sample_weight`` says otherwise."""
        y = np.array([CLASSES.index(label) for label in labels])
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        for c in range(len(CLASSES)):
            mass = w[y == c].sum()
            if mass > 0:
                w = np.where(y == c, w * len(y) / (len(CLASSES) * mass), w)
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0
        design = _design(x, mean, scale)
        onehot = np.eye(len(CLASSES))[y]
        weights = np.zeros((len(CLASSES), design.shape[1]))
        rate = 0.5
        for _ in range(steps):
            p = _softmax(design @ weights.T)
            grad = ((p - onehot) * w[:, None]).T @ design / w.sum()
            grad[:, 1:] += l2 * weights[:, 1:]
            weights -= rate * grad
        return cls(mean, scale, weights, threshold)


@lru_cache(maxsize=1)
def default_reader() -> Reader:
    """The shipped reader (loaded once per process)."""
    return Reader.load()


def _design(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    standardized = (x - mean) / scale
    return np.hstack([np.ones((len(x), 1)), standardized])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))
