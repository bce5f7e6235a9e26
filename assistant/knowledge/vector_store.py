"""Dense vectors in Chroma: one collection per knowledge base, embedded or on a server.

``PersistentClient`` under the data directory by default; ``HttpClient`` when a Chroma URL is
configured (several API workers need a server: embedded Chroma is not process-safe for
concurrent writers). Vectors always come from our own embedder; Chroma never embeds, and
retrieval reads the vectors back to rank them exactly (retrieval.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

__all__ = ["VectorStore", "chroma_client"]


def chroma_client(path: Path, url: str | None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "localhost",
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=settings,
        )
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


class VectorStore:
    def __init__(self, client: Any, collection: str, embedder: str) -> None:
        self._client = client
        self.name = collection
        self._collection = client.get_or_create_collection(
            name=collection,
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": embedder},
        )
        stored = (self._collection.metadata or {}).get("embedder")
        self.embedder = str(stored) if stored else embedder

    def reset(self, embedder: str) -> None:
        """Drop every vector (used when the embedder changes: old vectors are incomparable)."""
        self._client.delete_collection(self.name)
        self._collection = self._client.get_or_create_collection(
            name=self.name,
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": embedder},
        )
        self.embedder = embedder

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset, page = 0, 5000
        while True:
            got = self._collection.get(include=[], limit=page, offset=offset)
            out.update(got["ids"])
            if len(got["ids"]) < page:
                return out
            offset += page

    def existing(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        return set(self._collection.get(ids=list(ids), include=[])["ids"])

    def upsert(
        self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]]
    ) -> None:
        for start in range(0, len(ids), 1000):
            end = start + 1000
            self._collection.upsert(
                ids=list(ids[start:end]),
                embeddings=vectors[start:end],
                metadatas=list(metadatas[start:end]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), 1000):
            self._collection.delete(ids=list(ids[start : start + 1000]))

    def count(self) -> int:
        return int(self._collection.count())

    def vectors(self, ids: Sequence[str], dim: int) -> np.ndarray:
        """The stored vectors of ``ids``, a row each in that order (zeros for an id with no
        vector: an interrupted write)."""
        out = np.zeros((len(ids), dim), dtype=np.float32)
        row = {cid: i for i, cid in enumerate(ids)}
        for start in range(0, len(ids), 5000):
            got = self._collection.get(ids=list(ids[start : start + 5000]), include=["embeddings"])
            for cid, vector in zip(got["ids"], got["embeddings"], strict=True):
                out[row[cid]] = vector
        return out
