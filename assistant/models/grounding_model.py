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
from assistant.models.logistic import LogisticModel

__all__ = [
    "FEATURES", "GROUNDING_FILE", "SUPPORT_LABELS", "SupportModel", "default_support_model"
]

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


SUPPORT_LABELS = ("unsupported", "supported")


class SupportModel:
    """Logistic regression (``LogisticModel``, two labels) over standardized measurements;
    see the module docstring."""

    def __init__(
        self, model: LogisticModel, threshold: float, provenance: dict[str, object] | None = None
    ) -> None:
        if model.labels != SUPPORT_LABELS or len(model.means) != len(FEATURES):
            raise ValueError(f"a support model reads {len(FEATURES)} features, {SUPPORT_LABELS}")
        self.model = model
        self.threshold = threshold
        self.provenance = provenance or {}

    @classmethod
    def load(cls, path: Path = GROUNDING_FILE) -> SupportModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path} has other features; rerun python -m evals.grounding_eval fit")
        # The file keeps one logistic (sigmoid) weight vector, the bias first: as two labels,
        # "unsupported" scores 0 and "supported" scores the vector (the same probabilities).
        weights = np.array(data["weights"], dtype=np.float64)
        if weights.shape != (len(FEATURES) + 1,):
            raise ValueError(f"grounding weights have shape {weights.shape}")
        model = LogisticModel.of(
            SUPPORT_LABELS,
            np.array(data["mean"], dtype=np.float64),
            np.array(data["scale"], dtype=np.float64),
            np.stack([np.zeros(len(FEATURES)), weights[1:]], axis=1),
            np.array([0.0, weights[0]]),
        )
        return cls(model, float(data["threshold"]), data.get("provenance"))

    def save(self, path: Path) -> None:
        mean, scale, weights, bias = self.model.parameters
        vector = np.concatenate([[bias[1] - bias[0]], weights[:, 1] - weights[:, 0]])
        data = {
            "features": list(FEATURES),
            "mean": [round(float(v), 6) for v in mean],
            "scale": [round(float(v), 6) for v in scale],
            "weights": [round(float(v), 6) for v in vector],
            "threshold": round(self.threshold, 6),
            "provenance": self.provenance,
        }
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(supported) for each row of measurements (``FEATURES`` order)."""
        return self.model.probabilities(np.atleast_2d(x))[:, 1]

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
    ) -> SupportModel:
        """Fit with an L2 penalty; supported and unsupported rows weigh the same in total on
        top of ``sample_weight``. The threshold is left at 0.5 (evals/grounding_eval.py
        chooses it)."""
        labels = [SUPPORT_LABELS[int(bool(s))] for s in supported]
        model = LogisticModel(SUPPORT_LABELS, l2, steps=1000).fit(
            np.asarray(x, dtype=np.float64), labels, balanced=True, sample_weight=sample_weight
        )
        return cls(model, 0.5)


@lru_cache(maxsize=1)
def default_support_model() -> SupportModel:
    """The shipped model (loaded once per process)."""
    return SupportModel.load()
