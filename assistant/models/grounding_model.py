"""Does a passage support an answer sentence? A small learned judgement over measurements.

The grounding guard (grounding.py) measures each answer sentence against the passage it
cites — how close in meaning, how many of its words the passage uses, whether its numbers sit
where the matching statement is, whether it negates what the statement affirms or the other
way round, whether a passage it did *not* cite fits it better — and this logistic regression
turns those measurements into
P(supported). An answer is served when its least supported sentence reaches ``threshold``.

``python -m evals.grounding_eval fit`` trains it on the sentences of evals/grounding/dev.jsonl
and of perturbations generated from that set's faithful answers, never on the test set: every
sentence of a faithful answer is supported; the unfaithful sentence of an unfaithful answer
(the one a perturbation changed or added; in a hand-written answer, the one a first fit finds
least supported) is not. The weights ship in ``assistant/data/grounding.json`` with the
command and the cross-validation figures of the run that made them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.bundled import DATA_DIR

__all__ = ["FEATURES", "GROUNDING_FILE", "SupportModel", "default_support_model"]

GROUNDING_FILE = DATA_DIR / "grounding.json"
FEATURES = (
    "similarity",  # best cosine to a statement or window of the cited passage
    "similarity_multilingual",  # the same when the multilingual model (USE) measured, else 0
    "multilingual",  # 1 when USE measured (a pair that is not English-English)
    "cross_language",  # 1 when the sentence and the passage are in different languages
    "overlap",  # share of the sentence's content words (stemmed) the cited passages use
    "overlap_cross_language",  # the same across languages (labels and cognates); 0 within one
    "unmatched_words",  # log(1 + content words the cited passages lack); 0 across languages
    "competitor_similarity",  # how much better an uncited passage fits (0 if none does)
    "competitor_overlap",  # the same for word overlap
    "numbers_elsewhere",  # share of the sentence's numbers absent from its best-matching windows
    "negation_added",  # the sentence negates what its statement affirms (alignment strength)
    "negation_dropped",  # it affirms what its statement negates (alignment strength)
    "words",  # log(1 + content words of the sentence)
)


class SupportModel:
    """Logistic regression over standardized measurements; see the module docstring."""

    def __init__(
        self,
        mean: np.ndarray,
        scale: np.ndarray,
        weights: np.ndarray,
        threshold: float,
        provenance: dict[str, object] | None = None,
    ) -> None:
        if weights.shape != (len(FEATURES) + 1,):
            raise ValueError(f"grounding weights have shape {weights.shape}")
        self.mean = mean
        self.scale = scale
        self.weights = weights
        self.threshold = threshold
        self.provenance = provenance or {}

    @classmethod
    def load(cls, path: Path = GROUNDING_FILE) -> SupportModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path} has other features; rerun python -m evals.grounding_eval fit")
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
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "threshold": round(self.threshold, 6),
            "provenance": self.provenance,
        }
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(supported) for each row of measurements (``FEATURES`` order)."""
        return _sigmoid(_design(np.atleast_2d(x), self.mean, self.scale) @ self.weights)

    def weakest(self, x: np.ndarray) -> float:
        """P(supported) of the least supported row (1 for no rows)."""
        return float(np.min(self.probabilities(x))) if len(x) else 1.0

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        supported: Sequence[bool] | np.ndarray,
        sample_weight: np.ndarray | None = None,
        l2: float = 1e-2,
        steps: int = 3000,
        rate: float = 0.5,
    ) -> SupportModel:
        """Fit by full-batch gradient descent on the weighted cross-entropy plus an L2 penalty
        (convex and small: hundreds of rows, a dozen features). Supported and unsupported rows
        weigh the same in total unless ``sample_weight`` says otherwise. The threshold is left
        at 0.5 (evals/grounding_eval.py chooses it)."""
        y = np.asarray(supported, dtype=np.float64)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        for label in (0.0, 1.0):
            mass = w[y == label].sum()
            if mass > 0:
                w = np.where(y == label, w * len(y) / (2 * mass), w)
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0
        design = _design(x, mean, scale)
        weights = np.zeros(design.shape[1])
        for _ in range(steps):
            p = _sigmoid(design @ weights)
            grad = design.T @ ((p - y) * w) / w.sum()
            grad[1:] += l2 * weights[1:]
            weights -= rate * grad
        return cls(mean, scale, weights, 0.5)


@lru_cache(maxsize=1)
def default_support_model() -> SupportModel:
    """The shipped model (loaded once per process)."""
    return SupportModel.load()


def _design(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.hstack([np.ones((len(x), 1)), (x - mean) / scale])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))
