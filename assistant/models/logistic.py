"""Multinomial logistic regression in plain numpy, the one every learned judgement fits.

The request-kind model (request_kind.py) and the planted-text judge (planted_text.py) fit one
on embedded examples when they load; a few thousand rows of a few hundred features fit in
well under a second on two cores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BilingualClassifier", "LogisticModel"]


class LogisticModel:
    """Multinomial logistic regression with an L2 penalty, fitted by accelerated gradient
    descent on standardized features (plain numpy; the examples fit in well under a second).
    """

    def __init__(self, labels: Sequence[str], l2: float, steps: int = 300) -> None:
        self.labels = tuple(labels)
        self.l2 = l2
        self.steps = steps
        self._mean: np.ndarray | None = None
        self._scale: np.ndarray | None = None
        self._weights: np.ndarray | None = None
        self._bias: np.ndarray | None = None

    def fit(
        self,
        vectors: np.ndarray,
        row_labels: Sequence[str],
        balanced: bool = False,
        sample_weight: np.ndarray | None = None,
    ) -> LogisticModel:
        """Fit on rows of ``vectors``, each weighing ``sample_weight`` (1 by default).
        ``balanced``: then each label weighs as much in total as any other, however many
        rows it has (the probabilities assume equal priors)."""
        index = {label: i for i, label in enumerate(self.labels)}
        y = np.array([index[k] for k in row_labels])
        x = vectors.astype(np.float32)
        self._mean = x.mean(axis=0)
        self._scale = x.std(axis=0) + 1e-6
        n = len(x)
        design = np.hstack([(x - self._mean) / self._scale, np.ones((n, 1), dtype=np.float32)])
        target = np.zeros((n, len(self.labels)), dtype=np.float32)
        target[np.arange(n), y] = 1.0
        row_weight = (
            np.ones(n, dtype=np.float32)
            if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float32)
        )
        if balanced:
            mass = np.bincount(y, weights=row_weight, minlength=len(self.labels))
            share = row_weight.sum() / (len(self.labels) * np.maximum(mass, 1e-12))
            row_weight = row_weight * share[y]
        row_weight = row_weight * (n / row_weight.sum())  # mean 1: l2 means the same either way
        # The loss's gradient is Lipschitz with constant at most ||X||^2 / (2n) + l2 (the
        # softmax Hessian is bounded by 1/2): one over that is a step that never overshoots.
        weighted = design * np.sqrt(row_weight)[:, None]
        step = 1.0 / (_top_eigenvalue(weighted.T @ weighted) / (2 * n) + self.l2)
        params: np.ndarray = np.zeros((design.shape[1], len(self.labels)), dtype=np.float32)
        previous = params
        penalty = np.full((design.shape[1], 1), self.l2, dtype=np.float32)
        penalty[-1] = 0.0  # the bias is not penalised
        for t in range(1, self.steps + 1):
            look = params + (t - 1) / (t + 2) * (params - previous)  # Nesterov
            residual = (_softmax(design @ look) - target) * row_weight[:, None]
            grad = design.T @ residual / n + penalty * look
            previous, params = params, look - step * grad
        self._weights, self._bias = params[:-1], params[-1]
        return self

    @property
    def means(self) -> np.ndarray:
        """Each feature's mean over the rows it was fitted on."""
        if self._mean is None:
            raise RuntimeError("fit the model first")
        return self._mean

    def to_dict(self) -> dict[str, Any]:
        """The fitted parameters, for a JSON file a model ships in."""
        if self._weights is None or self._bias is None:
            raise RuntimeError("fit the model first")
        assert self._mean is not None and self._scale is not None
        return {
            "labels": list(self.labels),
            "l2": self.l2,
            "mean": _rounded(self._mean),
            "scale": _rounded(self._scale),
            "weights": [_rounded(row) for row in self._weights],
            "bias": _rounded(self._bias),
        }

    @classmethod
    def of(
        cls,
        labels: Sequence[str],
        mean: np.ndarray,
        scale: np.ndarray,
        weights: np.ndarray,
        bias: np.ndarray,
        l2: float = 0.0,
    ) -> LogisticModel:
        """A fitted model from its parameters (``weights``: a column per label), in their
        own precision."""
        model = cls(labels, l2)
        model._mean, model._scale, model._weights, model._bias = mean, scale, weights, bias
        if weights.shape != (len(mean), len(model.labels)) or bias.shape != (len(model.labels),):
            raise ValueError(f"weights of shape {weights.shape} do not fit the labels")
        return model

    @property
    def parameters(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(mean, scale, weights with a column per label, bias)."""
        if self._weights is None or self._bias is None:
            raise RuntimeError("fit the model first")
        assert self._mean is not None and self._scale is not None
        return self._mean, self._scale, self._weights, self._bias

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogisticModel:
        model = cls(data["labels"], float(data["l2"]))
        model._mean = np.array(data["mean"], dtype=np.float32)
        model._scale = np.array(data["scale"], dtype=np.float32)
        model._weights = np.array(data["weights"], dtype=np.float32)
        model._bias = np.array(data["bias"], dtype=np.float32)
        if model._weights.shape != (len(model._mean), len(model.labels)):
            raise ValueError(f"weights of shape {model._weights.shape} do not fit the labels")
        return model

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """Rows of class probabilities, columns in ``labels`` order."""
        if self._weights is None or self._bias is None:
            raise RuntimeError("fit the model first")
        assert self._mean is not None and self._scale is not None
        x = (np.atleast_2d(vectors).astype(self._mean.dtype) - self._mean) / self._scale
        return _softmax(x @ self._weights + self._bias)


class BilingualClassifier:
    """Two regressions: on ``multilingual`` vectors (USE) for text in any language, and on
    ``multilingual`` and ``dense`` (MiniLM) side by side for the rows marked ``english``
    (when dense vectors are given): MiniLM reads English phrasing more finely, but only
    English."""

    def __init__(self, labels: Sequence[str], l2: float) -> None:
        self.everywhere = LogisticModel(labels, l2)
        self.english: LogisticModel | None = None

    def fit(
        self, multilingual: np.ndarray, row_labels: Sequence[str], dense: np.ndarray | None = None
    ) -> BilingualClassifier:
        self.everywhere.fit(multilingual, row_labels)
        if dense is not None:
            self.english = LogisticModel(self.everywhere.labels, self.everywhere.l2).fit(
                np.hstack([multilingual, dense]), row_labels
            )
        return self

    def probabilities(
        self,
        multilingual: np.ndarray,
        dense: np.ndarray | None = None,
        english: np.ndarray | None = None,
    ) -> np.ndarray:
        """Rows of probabilities, columns in ``labels`` order ."""
        multilingual = np.atleast_2d(multilingual)
        out = self.everywhere.probabilities(multilingual)
        if self.english is not None and dense is not None and english is not None:
            rows = np.asarray(english, dtype=bool)
            if rows.any():
                both = np.hstack([multilingual[rows], np.atleast_2d(dense)[rows]])
                out[rows] = self.english.probabilities(both)
        return out


def _top_eigenvalue(gram: np.ndarray, iterations: int = 50) -> float:
    """The largest eigenvalue of a symmetric positive semi-definite matrix (power iteration;
    an SVD of the data costs ten times more on this machine)."""
    vector = np.ones(len(gram), dtype=gram.dtype) / np.sqrt(len(gram))
    value = 0.0
    for _ in range(iterations):
        product = gram @ vector
        value = float(np.linalg.norm(product))
        vector = product / max(value, 1e-12)
    return value


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]
