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
from assistant.models.logistic import LogisticModel

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
    """Multinomial logistic regression (``LogisticModel``) over standardized ``Evidence``; a
    question is answered when P(answer) reaches ``threshold``."""

    def __init__(
        self, model: LogisticModel, threshold: float, provenance: dict[str, object] | None = None
    ) -> None:
        if model.labels != CLASSES or len(model.means) != len(FEATURES):
            raise ValueError(f"a reader needs {CLASSES} over {len(FEATURES)} features")
        self.model = model
        self.threshold = threshold
        self.provenance = provenance or {}

    @classmethod
    def load(cls, path: Path = READER_FILE) -> Reader:
        data = json.loads(path.read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES) or list(data["classes"]) != list(CLASSES):
            raise ValueError(f"{path} was trained on other features; rerun evals.reader_training")
        # The file keeps a row per class, the bias first.
        rows = np.array(data["weights"], dtype=np.float64)
        if rows.shape != (len(CLASSES), len(FEATURES) + 1):
            raise ValueError(f"reader weights have shape {rows.shape}")
        model = LogisticModel.of(
            CLASSES,
            np.array(data["mean"], dtype=np.float64),
            np.array(data["scale"], dtype=np.float64),
            rows[:, 1:].T.copy(),
            rows[:, 0].copy(),
        )
        return cls(model, float(data["threshold"]), data.get("provenance"))

    def save(self, path: Path) -> None:
        mean, scale, weights, bias = self.model.parameters
        rows = np.hstack([bias[:, None], weights.T])
        data = {
            "features": list(FEATURES),
            "classes": list(CLASSES),
            "mean": [round(float(v), 6) for v in mean],
            "scale": [round(float(v), 6) for v in scale],
            "weights": [[round(float(v), 6) for v in row] for row in rows],
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
        return self.model.probabilities(x)

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
    ) -> Reader:
        """Fit the regression with an L2 penalty; each class counts as much as the others in
        total (weights rebalanced), on top of ``sample_weight``."""
        model = LogisticModel(CLASSES, l2, steps=1000).fit(
            np.asarray(x, dtype=np.float64), labels, balanced=True, sample_weight=sample_weight
        )
        return cls(model, threshold)


@lru_cache(maxsize=1)
def default_reader() -> Reader:
    """The shipped reader (loaded once per process)."""
    return Reader.load()
