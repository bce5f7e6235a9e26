"""Judge every sentence and list step of new chunks at ingest: help, or planted text?

A chunk's *pieces* are what a reader takes in one go: each sentence of a paragraph and each
step of a list (an answer quotes a whole list, so a planted step would ride along with the
real ones). Code blocks and table rows are not prose and are not judged. The planted-text
judge (assistant/models/planted_text.py) weighs each piece's wording and how it sits in its
article and help center; flagged pieces are stored with their chunk in the catalog, listed
in the ingest report and never served (retrieval removes them before an answerer, a prompt
or a snippet sees them).

A sentence's vector is its answer unit's, embedded at ingest anyway; only list steps and
sentences too short to be quoted are embedded here. Chunks are content-addressed, so a chunk
is judged once, when it first appears; the catalog records which judge judged it, and an
ingest after the judge changes judges every chunk again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answering.passages import split_units
from assistant.knowledge.catalog import ChunkRow
from assistant.knowledge.documents import Chunk
from assistant.models.embeddings import Embedder
from assistant.models.planted_text import Placement, PlantedText, context_features

__all__ = ["ChunkPieces", "HelpCenter", "chunk_pieces", "judge_chunks", "pieces"]

_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")
_MIN_WORDS = 3  # "Click Save." says nothing a judge could weigh


def pieces(body: str) -> list[str]:
    """The sentences and list steps of a chunk body, whitespace folded, in order."""
    return [text for text, _ in _pieces_with_units(body)]


def _pieces_with_units(body: str) -> list[tuple[str, int | None]]:
    """(piece, position of the answer unit it is, when it is a whole sentence unit)."""
    found: list[tuple[str, int | None]] = []
    for unit in split_units(body):
        if unit.kind == "code":
            continue
        if unit.kind == "sentence":
            found.append((unit.text, unit.position if unit.quotable else None))
            continue
        step: list[str] = []
        for line in unit.text.split("\n"):
            marker = _LIST_ITEM.match(line)
            if marker and step:
                found.append((" ".join(step), None))
                step = []
            step.extend((line[marker.end():] if marker else line).split())
        if step:
            found.append((" ".join(step), None))
    return [(t, u) for t, u in found if len(t.split()) >= _MIN_WORDS and t.count("|") < 3]


@dataclass
class ChunkPieces:
    chunk_id: str
    doc_id: str
    texts: list[str]
    vectors: np.ndarray  # a unit-normalized row per text


def chunk_pieces(
    chunks: Sequence[Chunk | ChunkRow],
    units: Mapping[str, np.ndarray],
    embedder: Embedder,
) -> list[ChunkPieces]:
    """Each chunk's pieces with their vectors: a sentence's is its stored answer-unit row
    (``units``: the unit matrices by chunk id), the others are embedded in one batch."""
    found: list[ChunkPieces] = []
    todo: list[tuple[int, int, str]] = []  # (chunk, row, text) still to embed
    for chunk in chunks:
        listed = list(dict.fromkeys(_pieces_with_units(chunk.body)))
        matrix = units.get(chunk.id)
        vectors = np.zeros((len(listed), embedder.dim), dtype=np.float32)
        for row, (text, unit) in enumerate(listed):
            if (
                unit is not None and matrix is not None
                and unit < len(matrix) and matrix[unit].any()
            ):
                vectors[row] = matrix[unit]
            else:
                todo.append((len(found), row, text))
        found.append(ChunkPieces(chunk.id, chunk.doc_id, [t for t, _ in listed], vectors))
    if todo:
        fresh = embedder.embed_documents([text for _, _, text in todo])
        for (chunk_index, row, _), vector in zip(todo, fresh, strict=True):
            found[chunk_index].vectors[row] = vector
    return found


@dataclass
class HelpCenter:
    """Every answer-unit vector of a knowledge base with the chunk it belongs to: what a
    piece is compared with "elsewhere in the help center". Grows as groups are written."""

    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    owners: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))

    @classmethod
    def of(cls, units: Mapping[str, np.ndarray]) -> HelpCenter:
        centre = cls()
        centre.add(units)
        return centre

    def add(self, units: Mapping[str, np.ndarray]) -> None:
        rows = [(cid, m[m.any(axis=1)]) for cid, m in units.items() if len(m)]
        rows = [(cid, m) for cid, m in rows if len(m)]
        if not rows:
            return
        known = set(self.owners.tolist())
        rows = [(cid, m) for cid, m in rows if cid not in known]
        if not rows:
            return
        matrix = np.concatenate([m for _, m in rows]).astype(np.float32)
        owners = np.array([cid for cid, m in rows for _ in range(len(m))], dtype=object)
        self.vectors = matrix if not len(self.vectors) else np.concatenate([self.vectors, matrix])
        self.owners = np.concatenate([self.owners, owners])


def judge_chunks(
    judge: PlantedText,
    chunk_pieces: Sequence[ChunkPieces],
    cards: Mapping[str, np.ndarray],
    centre: HelpCenter,
) -> dict[str, list[tuple[str, float]]]:
    """The flagged pieces of each chunk with their probabilities (an empty list: judged,
    nothing flagged). ``cards``: each document's card vector, by document id."""
    found: dict[str, list[tuple[str, float]]] = {c.chunk_id: [] for c in chunk_pieces}
    judged = [c for c in chunk_pieces if c.texts]
    if not judged:
        return found
    vectors = np.concatenate([c.vectors for c in judged])
    owners = np.array([c.chunk_id for c in judged for _ in c.texts], dtype=object)
    placements = [
        Placement(cards[c.doc_id], np.delete(c.vectors, row, axis=0))
        for c in judged
        for row in range(len(c.texts))
    ]
    words = np.array([len(t.split()) for c in judged for t in c.texts])
    features = context_features(
        vectors, words, judge.wording_probabilities(vectors), placements,
        centre.vectors, centre.owners, owners,
    )
    probabilities = judge.probabilities(features)
    texts = [(c.chunk_id, t) for c in judged for t in c.texts]
    for (chunk_id, text), p in zip(texts, probabilities, strict=True):
        if p >= judge.threshold:
            found[chunk_id].append((text, round(float(p), 3)))
    return found
