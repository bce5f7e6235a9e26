"""Labelled example files and their cached vectors, for the models fitted when they load.

An example file is JSON lines (``#`` lines are comments). Embedding a thousand examples takes
seconds, fitting on them well under one: the vectors are cached under the model cache, keyed
by a hash of the texts in order and the embedder, so editing a comment or a label reuses them
and editing, adding or removing an example does not.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.models.embeddings import Embedder

__all__ = ["NEIGHBOURS", "cached_vectors", "nearest_mean", "read_jsonl"]

# How many nearest examples a likeness averages: one example alone is swayed by a shared
# brand name or phrase.
NEIGHBOURS = 3


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each example line of ``path``; an error names the line."""
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: an example is a JSON object")
        rows.append((number, row))
    if not rows:
        raise ValueError(f"{path} holds no examples")
    return rows


def cached_vectors(
    embedder: Embedder, texts: Sequence[str], name: str, cache_dir: Path | None
) -> np.ndarray:
    """``embedder``'s vectors of ``texts``, read from ``cache_dir`` when they were computed
    for these texts (else computed and written there as ``{name}-…``, replacing the stale
    file). No ``cache_dir``: computed every time."""
    if cache_dir is None:
        return embedder.embed_documents(list(texts))
    key = json.dumps([embedder.name, embedder.dim, list(texts)], ensure_ascii=False)
    digest = hashlib.sha256(key.encode()).hexdigest()
    cached = cache_dir / f"{name}-{embedder.name}-{digest[:16]}.npy"
    if cached.exists():
        vectors = np.load(cached)
        if vectors.shape == (len(texts), embedder.dim):
            return vectors
    vectors = embedder.embed_documents(list(texts))
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        np.save(handle, vectors)
    tmp.replace(cached)  # atomic: a concurrent reader sees the old file or the whole new one
    for stale in cache_dir.glob(f"{name}-{embedder.name}-*.npy"):
        if stale != cached:
            stale.unlink(missing_ok=True)
    return vectors


def nearest_mean(scores: np.ndarray, neighbours: int = NEIGHBOURS) -> float:
    """The mean of the ``neighbours`` highest ``scores`` (a question's likeness to a set of
    examples, from its similarity to each)."""
    count = min(neighbours, len(scores))
    return float(np.partition(scores, -count)[-count:].mean()) if count else 0.0
