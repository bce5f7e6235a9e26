"""Knowledge bases on disk and the heavy collaborators they share (embedders, Chroma client).

Layout under ``LEARNLOOP_DATA_DIR``::

    kbs/<name>/catalog.sqlite   documents, chunks, gist vectors (source of truth)
    kbs/<name>/lexical/         BM25 index built from the catalog
    kbs/<name>/.write.lock      one writer at a time
    tenants/<tenant>/kbs/<name> the same, for every tenant but the default one
    tickets/<name>/             solved support tickets for knowledge base <name>: the same
                                layout, agent-only (``TicketBase``)
    tenants/<tenant>/tickets/<name>
    chroma/                     embedded Chroma; collection ``kb-<name>`` per knowledge base
                                (``kb.<tenant>.<name>`` for other tenants: '.' is in no name),
                                ``tickets-<name>`` (``tickets.<tenant>.<name>``) for tickets
    models/                     ONNX exports of the bundled model

The default tenant keeps the plain layout, so a single-company install has no tenant in its
paths; every other tenant's knowledge lives apart under its own folder and collection names.

Solved tickets live apart from the knowledge bases, never under ``kbs/``: ``Knowledge.get``
and ``Knowledge.names``, through which every end-user path reaches knowledge, cannot open or
list them. The one reader is ``assistant.knowledge.similar_tickets``, for staff roles.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from filelock import FileLock, Timeout

from assistant.access.registry import DEFAULT_TENANT
from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge.catalog import Catalog
from assistant.knowledge.off_topic import OffTopicExamples
from assistant.knowledge.vector_store import VectorStore, chroma_client
from assistant.language import load_detector
from assistant.models.embeddings import Embedder, UseEmbedder, make_embedder
from assistant.models.planted_text import PlantedText
from assistant.models.request_kind import RequestKinds
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.models.pair_judge import Judge

__all__ = ["Knowledge", "KnowledgeBase", "TicketBase", "validate_kb_name"]

T = TypeVar("T")

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
    collection = "kb"  # the Chroma collection's prefix

    def __init__(self, knowledge: Knowledge, name: str, tenant: str = DEFAULT_TENANT) -> None:
        self.name = name
        self.tenant = tenant
        self.dir = self._root(knowledge, tenant) / name
        self.catalog = Catalog(self.dir / "catalog.sqlite")
        self._knowledge = knowledge

    @staticmethod
    def _root(knowledge: Knowledge, tenant: str) -> Path:
        return knowledge.kb_root(tenant)

    @property
    def key(self) -> str:
        """Unique across tenants: the name for the default tenant, ``tenant.name`` otherwise."""
        return self.name if self.tenant == DEFAULT_TENANT else f"{self.tenant}.{self.name}"

    @property
    def lexical_dir(self) -> Path:
        return self.dir / "lexical"

    @cached_property
    def store(self) -> VectorStore:
        return VectorStore(
            self._knowledge.chroma,
            f"{self.collection}-{self.name}"
            if self.tenant == DEFAULT_TENANT
            else f"{self.collection}.{self.tenant}.{self.name}",
            self._knowledge.settings.embedder,
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


class TicketBase(KnowledgeBase):
    """The solved tickets ingested for a knowledge base: agent-only knowledge, stored under
    its own root and Chroma collection so no path that opens knowledge bases can reach it."""

    collection = "tickets"

    @staticmethod
    def _root(knowledge: Knowledge, tenant: str) -> Path:
        return knowledge.ticket_root(tenant)

    @property
    def key(self) -> str:
        # Apart from the knowledge base's own key: per-KB parts (its retriever) are not shared.
        return f"tickets:{super().key}"


# How long a replaced embedded Chroma client stays open for queries already running on it.
RETIRED_CHROMA_GRACE_S = 30.0


class Knowledge:
    """Builds the expensive parts once (model, stores) and hands out knowledge bases."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._kbs: dict[str, KnowledgeBase] = {}
        self._per_kb: dict[tuple[str, object], Any] = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the models now rather than on the first question."""
        self.embedder.embed_query("warm up")
        if self.gist_embedder is not None:
            self.gist_embedder.embed_query("warm up")
        _ = self.off_topic  # embeds the off-topic examples (about a second)
        _ = self.request_kinds  # trains the request-kind model (cached example vectors)
        self.pair_judge.score_pairs([("warm up", "warm up")])
        load_detector()

    def per_kb(self, kb: KnowledgeBase, build: Callable[[Knowledge, KnowledgeBase], T]) -> T:
        """The one ``build(self, kb)`` of this knowledge base, built on first use and kept
        (a retriever, say: it follows the knowledge base's generations by itself)."""
        key = (kb.key, build)
        with self._lock:
            if key not in self._per_kb:
                self._per_kb[key] = build(self, kb)
            return cast(T, self._per_kb[key])

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(
            self.settings.embedder, self.settings.model_cache, self.settings.model_threads
        )

    @cached_property
    def gist_embedder(self) -> Embedder | None:
        return UseEmbedder(self.settings.model_threads or 2) if self.settings.multilingual else None

    @cached_property
    def off_topic(self) -> OffTopicExamples | None:
        """The off-topic requests, embedded with both models. None without the multilingual
        one (``LEARNLOOP_MULTILINGUAL=false``): the decline rule was fitted on both."""
        if self.gist_embedder is None:
            return None
        return OffTopicExamples.load(self.embedder, self.gist_embedder)

    @cached_property
    def request_kinds(self) -> RequestKinds | None:
        """The request-kind model (request_kind.py): pass it to ``guardrails.decline_reason``.
        None without the multilingual embedder, which it needs to read Spanish."""
        if self.gist_embedder is None:
            return None
        return RequestKinds.load(
            self.gist_embedder, self.embedder, cache_dir=self.settings.model_cache
        )

    @cached_property
    def planted_text(self) -> PlantedText | None:
        """The planted-text judge (planted_text.py), used at ingest. It reads MiniLM's
        vectors: None with an embedder of another model (``LEARNLOOP_EMBEDDER``)."""
        judge = PlantedText.load()
        return judge if self.embedder.name.startswith("minilm") else None

    @cached_property
    def pair_judge(self) -> Judge:
        """The reader's cross-encoder (pair_judge.py), in onnxruntime; exported on first use."""
        from assistant.models.pair_judge import serving_judge

        return serving_judge(self.settings.model_cache, threads=self.settings.model_threads)

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
            system = SharedSystemClient._identifier_to_system.pop(identifier, None)
            SharedSystemClient._identifier_to_refcount.pop(identifier, None)
            for kb in self._kbs.values():
                kb.__dict__.pop("store", None)
        if system is not None:
            # The old system holds files, threads and SQLite connections until stopped; a
            # query already running on it (milliseconds) finishes first.
            timer = threading.Timer(RETIRED_CHROMA_GRACE_S, system.stop)
            timer.daemon = True
            timer.start()

    def kb_root(self, tenant: str = DEFAULT_TENANT) -> Path:
        if tenant == DEFAULT_TENANT:
            return self.settings.kb_root
        return self.settings.data_dir / "tenants" / tenant / "kbs"

    def ticket_root(self, tenant: str = DEFAULT_TENANT) -> Path:
        tenant_dir = self.settings.data_dir if tenant == DEFAULT_TENANT else (
            self.settings.data_dir / "tenants" / tenant
        )
        return tenant_dir / "tickets"

    def tickets(self, name: str, create: bool = False, tenant: str = DEFAULT_TENANT) -> TicketBase:
        """The solved tickets of the tenant's knowledge base ``name``. Only the copilot's
        ``similar_tickets`` (staff roles) and ``learnloop ingest --tickets`` open them."""
        validate_kb_name(name)
        key = f"tickets:{name}" if tenant == DEFAULT_TENANT else f"tickets:{tenant}.{name}"
        with self._lock:
            found = self._kbs.get(key)
            if found is not None:
                return cast(TicketBase, found)
            if not create and not (self.ticket_root(tenant) / name / "catalog.sqlite").exists():
                raise LearnloopError(
                    ErrorCode.kb_not_found,
                    f"no solved tickets for knowledge base '{name}'; ingest them with "
                    f"`learnloop ingest EXPORT --kb {name} --tickets`",
                )
            base = TicketBase(self, name, tenant)
            self._kbs[key] = base
            return base

    def names(self, tenant: str = DEFAULT_TENANT) -> list[str]:
        """The tenant's knowledge bases."""
        root = self.kb_root(tenant)
        if not root.exists():
            return []
        return sorted(p.name for p in root.iterdir() if (p / "catalog.sqlite").exists())

    def exists(self, name: str, tenant: str = DEFAULT_TENANT) -> bool:
        validate_kb_name(name)
        return (self.kb_root(tenant) / name / "catalog.sqlite").exists()

    def get(self, name: str, create: bool = False, tenant: str = DEFAULT_TENANT) -> KnowledgeBase:
        """The tenant's knowledge base ``name``; another tenant's of that name is never seen."""
        validate_kb_name(name)
        key = name if tenant == DEFAULT_TENANT else f"{tenant}.{name}"
        with self._lock:
            kb = self._kbs.get(key)
            if kb is not None:
                return kb
            if not create and not self.exists(name, tenant):
                known = ", ".join(self.names(tenant)) or (
                    "none yet; run `learnloop ingest PATH --kb NAME`"
                )
                raise LearnloopError(
                    ErrorCode.kb_not_found,
                    f"knowledge base '{name}' does not exist (known: {known})",
                )
            kb = KnowledgeBase(self, name, tenant)
            self._kbs[key] = kb
            return kb
