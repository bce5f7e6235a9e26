"""Knowledge bases on disk and the heavy collaborators they share (embedders, Chroma client).

Layout under ``LEARNLOOP_DATA_DIR``::

    kbs/<name>/catalog.sqlite   documents, chunks, gist vectors (source of truth)
    kbs/<name>/lexical/         BM25 index built from the catalog
    kbs/<name>/.write.lock      one writer at a time
    chroma/                     embedded Chroma; collection ``kb-<name>`` per knowledge base
    models/                     ONNX exports of the bundled model
"""

from __future__ import annotations

import re
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from assistant.catalog import Catalog
from assistant.embeddings import Embedder, UseEmbedder, make_embedder
from assistant.errors import ErrorCode, LearnloopError
from assistant.settings import Settings
from assistant.vector_store import VectorStore, chroma_client

if TYPE_CHECKING:
    from assistant.retrieval import Retriever

__all__ = ["Knowledge", "KnowledgeBase", "validate_kb_name"]

_KB_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,58}[a-z0-9])?$")


def validate_kb_name(name: str) -> str:
    if not isinstance(name, str) or not _KB_NAME.match(name):
        raise LearnloopError(
            ErrorCode.invalid_input,
            f"knowledge base name {name!r} is not valid: use 1-60 lowercase letters, digits, '-' "
            "or '_', starting and ending with a letter or digit",
        )
    return name


class KnowledgeBase:
    def __init__(self, knowledge: Knowledge, name: str) -> None:
        self.name = name
        self.dir = knowledge.settings.kb_root / name
        self.catalog = Catalog(self.dir / "catalog.sqlite")
        self._knowledge = knowledge

    @property
    def lexical_dir(self) -> Path:
        return self.dir / "lexical"

    @cached_property
    def store(self) -> VectorStore:
        return VectorStore(
            self._knowledge.chroma, f"kb-{self.name}", self._knowledge.settings.embedder
        )

    def write_lock(self, timeout: float = 600) -> FileLock:
        lock = FileLock(str(self.dir / ".write.lock"), timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise LearnloopError(
                ErrorCode.locked,
                f"knowledge base '{self.name}' is being written by another process",
            ) from None
        return lock


class Knowledge:
    """Builds the expensive parts once (model, stores) and hands out knowledge bases."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._kbs: dict[str, KnowledgeBase] = {}
        self._retrievers: dict[str, Retriever] = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the models now rather than on the first question."""
        self.embedder.embed_query("warm up")
        if self.gist_embedder is not None:
            self.gist_embedder.embed_query("warm up")

    def retriever(self, kb: KnowledgeBase) -> Retriever:
        from assistant.retrieval import Retriever

        with self._lock:
            if kb.name not in self._retrievers:
                self._retrievers[kb.name] = Retriever(self, kb)
            return self._retrievers[kb.name]

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(self.settings.embedder, self.settings.model_cache)

    @cached_property
    def gist_embedder(self) -> Embedder | None:
        return UseEmbedder() if self.settings.multilingual else None

    @cached_property
    def chroma(self) -> Any:
        return chroma_client(self.settings.data_dir / "chroma", self.settings.chroma_url)

    def reopen_vectors(self) -> None:
        """Drop the embedded Chroma client so the next use opens a fresh one.

        Embedded Chroma serves queries from an index held in process memory and does not see
        vectors another process (``learnloop ingest``) wrote since; a new client reads them.
        A Chroma server has no such staleness.
        """
        if self.settings.chroma_url or "chroma" not in self.__dict__:
            return
        from chromadb.api.client import SharedSystemClient

        with self._lock:
            client = self.__dict__.pop("chroma", None)
            identifier = str(getattr(client, "_identifier", ""))
            # Forget the cached system for this path only; old client objects that are still
            # answering a query resolve the same identifier to the new system.
            SharedSystemClient._identifier_to_system.pop(identifier, None)
            SharedSystemClient._identifier_to_refcount.pop(identifier, None)
            for kb in self._kbs.values():
                kb.__dict__.pop("store", None)

    def names(self) -> list[str]:
        root = self.settings.kb_root
        if not root.exists():
            return []
        return sorted(p.name for p in root.iterdir() if (p / "catalog.sqlite").exists())

    def exists(self, name: str) -> bool:
        validate_kb_name(name)
        return (self.settings.kb_root / name / "catalog.sqlite").exists()

    def get(self, name: str, create: bool = False) -> KnowledgeBase:
        validate_kb_name(name)
        with self._lock:
            kb = self._kbs.get(name)
            if kb is not None:
                return kb
            if not create and not self.exists(name):
                known = ", ".join(self.names()) or "none yet; run `learnloop ingest PATH --kb NAME`"
                raise LearnloopError(
                    ErrorCode.kb_not_found,
                    f"knowledge base '{name}' does not exist (known: {known})",
                )
            kb = KnowledgeBase(self, name)
            self._kbs[name] = kb
            return kb
